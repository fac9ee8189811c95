"""The scoring report's headline numbers: what ``metrics.json`` and the run index card show.

Design. The notebook computes its results (:class:`~leadnb.scoring.calibration.AucResult`,
:class:`~leadnb.scoring.calibration.BrierResult`,
:class:`~leadnb.scoring.calibration.ThresholdChoice`, the segment summary, the SDR list) and
hands them to :func:`headline_metrics`, which picks the headline numbers and declares each one's
:class:`~leadnb.results.Kind` once: the kinds of result fields come from the result classes'
own declarations, the others are declared here. A section that was not computed (too little
data on an early analysis date) is passed as ``None`` and its numbers are ``None`` (``null`` in
``metrics.json``), so the file always has the same keys.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadnb.results import Kind, Metrics
from leadnb.scoring.calibration import AucResult, BrierResult, ThresholdChoice

__all__ = ["HEADLINE", "headline_metrics"]

#: The keys the run index card shows, in this order.
HEADLINE = (
    "auc",
    "brier",
    "conversion_rate",
    "recommended_threshold",
    "recommended_weekly_workload",
    "high_intent_mean_score",
    "competitor_mean_score",
    "high_quality_leads",
)


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
        :func:`~leadnb.scoring.segments.high_quality_leads` (one row per listed lead), or
        ``None``.

    Returns
    -------
    Metrics
        ``n_leads``, ``conversions``, ``conversion_rate``, ``outcome_stage``, ``decision``,
        ``calibration_n``, ``calibration_conversions``, ``auc``, ``auc_ci_low``,
        ``auc_ci_high``, ``brier``, ``brier_reference``, ``recommended_threshold``,
        ``recommended_weekly_workload``, ``recommended_precision``, ``recommended_recall``,
        ``competitor_mean_score``, ``competitor_conversion_rate``, ``high_intent_mean_score``,
        ``high_intent_conversion_rate``, ``high_quality_leads`` (``None`` where not computed),
        and ``headline`` (the keys of :data:`HEADLINE`, the card's choice; it has no kind).

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
        "high_intent_mean_score": seg("high_intent", "mean_score"),
        "high_intent_conversion_rate": seg("high_intent", "rate"),
        "high_quality_leads": None if high_quality is None else len(high_quality),
        "headline": list(HEADLINE),
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
        "high_intent_mean_score": Kind.SCORE,
        "high_intent_conversion_rate": Kind.RATE,
        "high_quality_leads": Kind.COUNT,
    }
    return Metrics(values, kinds)
