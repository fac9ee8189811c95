"""The scoring report's headline numbers: what ``metrics.json`` and the run index card show.

Design. The notebook computes its results (:class:`~leadnb.scoring.calibration.AucResult`,
:class:`~leadnb.scoring.calibration.BrierResult`,
:class:`~leadnb.scoring.calibration.ThresholdChoice`, the segment summary, the SDR list) and
hands them to :func:`headline_metrics`, which picks the headline numbers and declares each one's
:class:`~leadnb.results.Kind` once: the kinds of result fields come from the result classes'
own declarations, the others are declared here. A section that was not computed (too little
data on an early analysis date) is passed as ``None`` and its numbers are ``None`` (``null`` in
``metrics.json``), so the file always has the same keys.

The card is read by a head of sales: :data:`HEADLINE` puts first the three numbers they act on
(is the score any good, from how many points a lead goes to sales, how many follow-ups are due
this week against the team's capacity), and :func:`headline_labels` names every headline number
in plain words (``metrics.json`` ``"labels"``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadnb.funnel.stages import stage_name
from leadnb.results import Kind, Metrics, format_value
from leadnb.scoring.calibration import AucResult, BrierResult, ThresholdChoice

__all__ = ["HEADLINE", "headline_labels", "headline_metrics"]

#: The keys the run index card shows, in this order: the card shows the first three (how well
#: the score ranks leads, the points that send a lead to sales, the follow-ups due this week
#: against capacity).
HEADLINE = (
    "auc",
    "recommended_threshold",
    "due_this_week",
    "recommended_weekly_workload",
    "conversion_rate",
    "high_quality_leads",
    "asked_for_sales_mean_score",
    "competitor_mean_score",
    "brier",
)


def headline_labels(*, stage: str, capacity_per_week: int | float | None) -> dict[str, str]:
    """Plain labels for every key of :data:`HEADLINE` (``metrics.json`` ``"labels"``).

    Parameters
    ----------
    stage
        The outcome stage's display name (``"SQL"``).
    capacity_per_week
        The SDR team's capacity, said with the follow-ups due (None: not said).

    Examples
    --------
    >>> labels = headline_labels(stage="SQL", capacity_per_week=1200)
    >>> labels["due_this_week"], labels["conversion_rate"]
    ('Follow-ups due this week (team capacity 1,200)', 'Leads that reached SQL')
    >>> set(labels) == set(HEADLINE)
    True
    """
    due = "Follow-ups due this week"
    if capacity_per_week is not None:
        due += f" (team capacity {format_value(capacity_per_week, Kind.COUNT)})"
    return {
        "auc": "Score's ranking power (AUC; 0.5 is a coin toss)",
        "recommended_threshold": "Points that send a lead to sales",
        "due_this_week": due,
        "recommended_weekly_workload": "Leads a week at that threshold",
        "conversion_rate": f"Leads that reached {stage}",
        "high_quality_leads": "Leads on the SDR call list",
        "asked_for_sales_mean_score": "Average score of leads that asked for sales",
        "competitor_mean_score": "Average score of competitors",
        "brier": "Brier score (lower is better)",
    }


def _int(v: float | None) -> int | None:
    return None if v is None else int(v)


def _field(result: Any, name: str) -> Any:
    return None if result is None else getattr(result, name)


def headline_metrics(
    *,
    n_leads: int,
    converted: pd.Series | None,
    outcome_stage: str,
    decision: str,
    population: pd.DataFrame | None,
    auc: AucResult | None,
    brier: BrierResult | None,
    threshold: ThresholdChoice | None,
    segments: pd.DataFrame | None,
    high_quality: pd.DataFrame | None,
    list_counts: pd.DataFrame | None = None,
    capacity_per_week: int | float | None = None,
) -> Metrics:
    """The headline numbers of the scoring report, each with its declared kind.

    Parameters
    ----------
    n_leads
        Leads known on the analysis date.
    converted
        Each lead's outcome by the analysis date, 0/1
        (:func:`~leadnb.scoring.calibration.converted_by`), or ``None`` when there is no outcome.
    outcome_stage, decision
        The stage that counts as converted and when leads are scored (shown as text).
    population
        The calibration population (:func:`~leadnb.scoring.calibration.scores_at_decision`,
        with an ``outcome`` column), or ``None``.
    auc, brier, threshold
        The results of those sections, or ``None`` when a section was not computed.
    segments
        :func:`~leadnb.scoring.segments.segment_summary` (``segment``, ``mean_score``, ``rate``,
        ...), or ``None``.
    high_quality
        :func:`~leadnb.scoring.segments.high_quality_leads` (one row per listed lead), ranked
        by :func:`~leadnb.scoring.segments.rank_for_capacity` (its ``this_week`` column), or
        ``None``.
    list_counts
        :func:`~leadnb.scoring.segments.segment_counts` of that list (``due_this_week`` per
        segment), or ``None``.
    capacity_per_week
        Leads a week the SDR team can work (the notebook's ``sdr_capacity_per_week``).

    Returns
    -------
    Metrics
        ``n_leads``, ``conversions``, ``conversion_rate``, ``outcome_stage``, ``decision``,
        ``calibration_n``, ``calibration_conversions``, ``auc``, ``auc_ci_low``,
        ``auc_ci_high``, ``brier``, ``brier_reference``, ``recommended_threshold``,
        ``recommended_weekly_workload``, ``recommended_precision``, ``recommended_recall``,
        ``competitor_mean_score``, ``competitor_conversion_rate``,
        ``asked_for_sales_mean_score``, ``asked_for_sales_conversion_rate`` (leads that asked
        for sales before converting: a rate that is a finding), ``converted_fast_n`` (leads in
        the segment defined by converting fast: no rate, it is 100% by definition),
        ``high_quality_leads``, ``due_this_week`` (follow-ups on the list due within 7 days),
        ``this_week`` (leads on the ranked list marked to call this week, at most the
        capacity), ``capacity_per_week`` (``None`` where not computed),
        ``headline`` (the keys of :data:`HEADLINE`, the card's choice) and ``labels``
        (:func:`headline_labels`); these two have no kind.

    Examples
    --------
    >>> m = headline_metrics(
    ...     n_leads=4, converted=pd.Series([1.0, 0.0, 0.0, 1.0]), outcome_stage="sql",
    ...     decision="as_of", population=None, auc=AucResult(0.75, 0.5, 1.0, 0.1, 4, 2, 2),
    ...     brier=None, threshold=None, segments=None, high_quality=None)
    >>> m["conversions"], m["conversion_rate"], m["brier"]
    (2, 0.5, None)
    >>> m.formatted("conversion_rate"), m.formatted("auc")
    ('50.0%', '0.750 [0.500 – 1.000]')
    >>> m["due_this_week"], m["capacity_per_week"], m["labels"]["auc"]
    (None, None, "Score's ranking power (AUC; 0.5 is a coin toss)")
    """
    seg_rows = segments.set_index("segment") if segments is not None else pd.DataFrame()

    def seg(name: str, col: str) -> float | None:
        return float(seg_rows.loc[name, col]) if name in seg_rows.index else None

    has_outcome = converted is not None and len(converted) > 0
    values: dict[str, Any] = {
        "n_leads": n_leads,
        "conversions": None if converted is None else int(converted.sum()),
        "conversion_rate": float(converted.mean()) if has_outcome else None,  # type: ignore[union-attr]
        "outcome_stage": outcome_stage,
        "decision": decision,
        "calibration_n": None if population is None else len(population),
        "calibration_conversions": (
            None if population is None else int(population["outcome"].sum())
        ),
        "auc": _field(auc, "auc"),
        "auc_ci_low": _field(auc, "auc_ci_low"),
        "auc_ci_high": _field(auc, "auc_ci_high"),
        "brier": _field(brier, "brier"),
        "brier_reference": _field(brier, "brier_reference"),
        "recommended_threshold": _field(threshold, "threshold"),
        "recommended_weekly_workload": _field(threshold, "weekly_workload"),
        "recommended_precision": _field(threshold, "precision"),
        "recommended_recall": _field(threshold, "recall"),
        "competitor_mean_score": seg("competitor", "mean_score"),
        "competitor_conversion_rate": seg("competitor", "rate"),
        "asked_for_sales_mean_score": seg("asked_for_sales", "mean_score"),
        "asked_for_sales_conversion_rate": seg("asked_for_sales", "rate"),
        "converted_fast_n": _int(seg("converted_fast", "n")),
        "high_quality_leads": None if high_quality is None else len(high_quality),
        "due_this_week": (None if list_counts is None else int(list_counts["due_this_week"].sum())),
        "this_week": (
            int(high_quality["this_week"].sum())
            if high_quality is not None and "this_week" in high_quality
            else None
        ),
        "capacity_per_week": capacity_per_week,
        "headline": list(HEADLINE),
        "labels": headline_labels(
            stage=stage_name(outcome_stage), capacity_per_week=capacity_per_week
        ),
    }
    a, b, t = AucResult.kinds(), BrierResult.kinds(), ThresholdChoice.kinds()
    kinds: dict[str, Kind] = {
        "n_leads": Kind.COUNT,
        "conversions": Kind.COUNT,
        "conversion_rate": Kind.RATE,
        "outcome_stage": Kind.TEXT,
        "decision": Kind.TEXT,
        "calibration_n": Kind.COUNT,
        "calibration_conversions": Kind.COUNT,
        "auc": a["auc"],
        "auc_ci_low": a["auc_ci_low"],
        "auc_ci_high": a["auc_ci_high"],
        "brier": b["brier"],
        "brier_reference": b["brier_reference"],
        "recommended_threshold": t["threshold"],
        "recommended_weekly_workload": t["weekly_workload"],
        "recommended_precision": t["precision"],
        "recommended_recall": t["recall"],
        "competitor_mean_score": Kind.SCORE,
        "competitor_conversion_rate": Kind.RATE,
        "asked_for_sales_mean_score": Kind.SCORE,
        "asked_for_sales_conversion_rate": Kind.RATE,
        "converted_fast_n": Kind.COUNT,
        "high_quality_leads": Kind.COUNT,
        "due_this_week": Kind.COUNT,
        "this_week": Kind.COUNT,
        "capacity_per_week": Kind.COUNT,
    }
    return Metrics(values, kinds)
