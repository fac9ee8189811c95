"""The readout of one pre-registered experiment: its ``ab_results`` rows, caveats and verdict.

Design. :func:`readout` is the one orchestrating function: it checks the assignments against the
registration (:mod:`leadnb.experiments.assignments`), turns them into per-lead outcomes for the
primary metric and every guardrail (:mod:`leadnb.experiments.outcomes`), compares each variant
with the control (:mod:`leadnb.experiments.comparisons`), and says in one plain sentence per
variant what was found, with every caveat a reader needs before acting on it (interim look,
sample ratio mismatch, underpowered, open windows, excluded rows, small counts, a guardrail that
got worse). Its result is a frozen :class:`Readout` (:class:`leadnb.results.Result`).
:func:`headline_metrics` gives the numbers for ``metrics.json`` with their kinds;
:data:`HEADLINE` and :func:`card_labels` say which of them the run index card shows, in plain
words.

What a report shows: :data:`RESULT_DISPLAY` declares a label and a kind for each ``ab_results``
column (the CSV keeps the machine names), :func:`results_for_readers` and
:func:`exclusions_for_readers` give the rows with metrics and stages by their display names
(``reached SQL within 30 days``). The verdict formats its numbers from their kinds too (rates,
points, ``p < 0.001``, counts with separators), except the power in the "underpowered" caveat,
which stays in whole percents ("72% power"), as ``metrics.json`` has always stored it.

The statistics on counts live in :mod:`leadnb.experiments.comparisons` (import them from there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadnb.errors import NotEnoughData, ParamsError
from leadnb.experiments import design
from leadnb.experiments.assignments import EXCLUSION_COLUMNS, prepare_assignments
from leadnb.experiments.comparisons import (
    SRM_THRESHOLD,
    compare_arms,
    holm,
    logrank_p,
    srm_p_value,
)
from leadnb.experiments.outcomes import (
    arm_counts,
    km_at,
    km_curves,
    metric_outcomes,
    rows_of_leads,
)
from leadnb.experiments.plan import (
    PLAN_COLUMNS,
    PlanResult,
    carry_out,
    counts_events,
    stop_sentence,
)
from leadnb.experiments.registration import Metric, Registration, stage_display
from leadnb.experiments.sequential import planned_total, sequential_power
from leadnb.results import Column, Kind, Metrics, Result, format_value, value

__all__ = [
    "HEADLINE",
    "HEADLINE_KINDS",
    "RESULT_COLUMNS",
    "READER_COLUMNS",
    "RESULT_DISPLAY",
    "Readout",
    "analyze_metric",
    "card_labels",
    "exclusions_for_readers",
    "headline_metrics",
    "is_interim",
    "metric_display_names",
    "no_leads",
    "plan_lines",
    "readout",
    "results_for_readers",
    "verdict_sentence",
]

RESULT_COLUMNS = [
    "experiment_id",
    "metric",
    "variant",
    "is_control",
    "n",
    "conversions",
    "rate",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_lift",
    "rel_lift_ci_low",
    "rel_lift_ci_high",
    "p_value",
    "p_adjusted",
    "prob_beat_control",
    "srm_p_value",
    "verdict",
    # extra columns (after the contract's)
    "role",
    "metric_label",
    "rate_ci_low",
    "rate_ci_high",
    "test",
    "n_enrolled",
    "n_immature",
    "km_rate",
    "km_ci_low",
    "km_ci_high",
    "logrank_p",
    "interim",
    "as_of",
    *PLAN_COLUMNS,  # the registration's analysis plan (issue 18)
]

_CI = "at the registered 1 - alpha level (95% for alpha 0.05)"
RESULT_DISPLAY: dict[str, Column] = {
    "experiment_id": Column("Experiment", Kind.TEXT),
    "metric": Column("Metric", Kind.TEXT, "primary metric or guardrail"),
    "variant": Column("Group", Kind.TEXT),
    "is_control": Column("Control", Kind.FLAG),
    "n": Column("Leads", Kind.COUNT, "leads whose outcome is known (window closed)"),
    "conversions": Column("Conversions", Kind.COUNT),
    "rate": Column("Conversion rate", Kind.RATE),
    "rate_ci_low": Column("Rate, CI low", Kind.RATE, _CI),
    "rate_ci_high": Column("Rate, CI high", Kind.RATE, _CI),
    "diff": Column("Difference", Kind.POINTS, "variant rate minus control rate"),
    "diff_ci_low": Column("Difference, CI low", Kind.POINTS, _CI),
    "diff_ci_high": Column("Difference, CI high", Kind.POINTS, _CI),
    "rel_lift": Column("Relative lift", Kind.CHANGE, "variant rate / control rate - 1"),
    "rel_lift_ci_low": Column("Relative lift, CI low", Kind.CHANGE, _CI),
    "rel_lift_ci_high": Column("Relative lift, CI high", Kind.CHANGE, _CI),
    "p_value": Column("p-value", Kind.P_VALUE, "two-sided, z-test or Fisher's exact"),
    "p_adjusted": Column("p-value (adjusted)", Kind.P_VALUE, "Holm with three or more groups"),
    "prob_beat_control": Column(
        "Chance better than control", Kind.RATE, "P(variant rate > control rate), Beta(1, 1)"
    ),
    "srm_p_value": Column("Sample ratio p-value", Kind.P_VALUE, "groups' sizes against the plan"),
    "verdict": Column("Verdict", Kind.TEXT),
    "n_enrolled": Column("Leads enrolled", Kind.COUNT),
    "n_immature": Column("Leads still in window", Kind.COUNT, "not counted in the rate yet"),
    "km_rate": Column("Converted by window end (KM)", Kind.RATE, "Kaplan-Meier, every lead"),
    "km_ci_low": Column("KM, CI low", Kind.RATE, _CI),
    "km_ci_high": Column("KM, CI high", Kind.RATE, _CI),
    "logrank_p": Column("Log-rank p-value", Kind.P_VALUE, "whole time-to-conversion curves"),
    "interim": Column("Interim look", Kind.FLAG),
    "as_of": Column("Analysis date", Kind.DATE),
    "analysis": Column("Analysis plan", Kind.TEXT, "fixed horizon or sequential (registered)"),
    "ci_method": Column("Interval", Kind.TEXT, "how the difference's interval is computed"),
    "always_valid": Column("Valid at every look", Kind.FLAG, "sequential plans"),
    "diff_adj": Column(
        "Adjusted difference", Kind.POINTS, "regression-adjusted for the registered covariates"
    ),
    "diff_adj_ci_low": Column("Adjusted difference, CI low", Kind.POINTS, _CI),
    "diff_adj_ci_high": Column("Adjusted difference, CI high", Kind.POINTS, _CI),
    "variance_reduction": Column(
        "Variance reduction", Kind.RATE, "variance of the difference the covariates removed"
    ),
    "unit": Column("Randomised by", Kind.TEXT, "lead or account"),
    "n_units": Column("Units", Kind.COUNT, "leads, or accounts, counted"),
    "stop_recommended": Column(
        "May stop now", Kind.FLAG, "sequential plans: first look excluding 0"
    ),
}
"""How a report shows ``ab_results`` rows: a label and a kind for each column a reader sees
(the CSV keeps the machine names; :func:`results_for_readers` gives the rows)."""


def analyze_metric(
    outcomes: pd.DataFrame,
    reg: Registration,
    metric: Metric,
    *,
    role: Literal["primary", "guardrail"] = "primary",
) -> pd.DataFrame:
    """``ab_results`` rows (one per arm, control first) for one metric of one experiment.

    Parameters
    ----------
    outcomes
        Per-lead outcomes of the metric (:func:`leadnb.experiments.outcomes.metric_outcomes`).
    reg
        The registration: arms, allocation, alpha.
    metric
        The metric the outcomes measure.
    role
        ``"primary"`` or ``"guardrail"`` (the ``role`` column).

    Returns
    -------
    pandas.DataFrame
        :data:`RESULT_COLUMNS`: the arm counts of :func:`~leadnb.experiments.outcomes.arm_counts`,
        the :class:`~leadnb.experiments.comparisons.Comparison` of each variant with the control
        (NaN on the control's row), ``p_adjusted`` (Holm with three or more arms, else
        ``p_value``), ``srm_p_value`` on enrolled leads, and for stage metrics the Kaplan-Meier
        share converted at the window (``km_rate``, ``km_ci_low``, ``km_ci_high``) and the
        log-rank p-value. ``verdict`` is empty here (:func:`readout` fills it), ``interim`` and
        ``as_of`` NaN.
    """
    return _analyze_metric(outcomes, reg, metric, role=role)[0]


def _analyze_metric(
    outcomes: pd.DataFrame,
    reg: Registration,
    metric: Metric,
    *,
    role: Literal["primary", "guardrail"] = "primary",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`analyze_metric` and the Kaplan-Meier curves it used (empty without durations)."""
    arms = list(reg.arms)
    counts = arm_counts(outcomes, arms, alpha=reg.alpha)
    ctrl = counts.iloc[0]
    rows = []
    for _, arm in counts.iterrows():
        is_c = arm["variant"] == reg.control
        cmp = (
            compare_arms(
                int(ctrl["conversions"]),
                int(ctrl["n"]),
                int(arm["conversions"]),
                int(arm["n"]),
                alpha=reg.alpha,
            ).as_dict()
            if not is_c
            else {}
        )
        rows.append({**arm.to_dict(), **cmp, "is_control": bool(is_c)})
    res = pd.DataFrame(rows)
    var = ~res["is_control"]
    res["p_adjusted"] = np.nan
    if var.sum() >= 2:
        res.loc[var, "p_adjusted"] = holm(res.loc[var, "p_value"].to_numpy(), alpha=reg.alpha)
    else:
        res.loc[var, "p_adjusted"] = res.loc[var, "p_value"]
    enrolled = dict(zip(counts["variant"], counts["n_enrolled"], strict=True))
    res["srm_p_value"] = srm_p_value(enrolled, reg.allocation)
    curves = pd.DataFrame()
    if "event" in outcomes.columns and metric.window_days is not None:
        curves = km_curves(outcomes.loc[~outcomes["prior"]], arms, alpha=reg.alpha)
        km = [km_at(curves, a, float(metric.window_days)) for a in res["variant"]]
        res["km_rate"] = [k.converted for k in km]
        res["km_ci_low"] = [k.converted_ci_low for k in km]
        res["km_ci_high"] = [k.converted_ci_high for k in km]
        res["logrank_p"] = [
            np.nan if c else logrank_p(outcomes.loc[~outcomes["prior"]], reg.control, a)
            for a, c in zip(res["variant"], res["is_control"], strict=True)
        ]
    res["experiment_id"] = reg.id
    res["metric"] = metric.name
    res["metric_label"] = metric.label
    res["role"] = role
    res["verdict"] = ""
    for c in RESULT_COLUMNS:
        if c not in res.columns:
            res[c] = np.nan
    return res, curves


# --------------------------------------------------------------------------------------------
# The readout of one experiment


@dataclasses.dataclass(frozen=True)
class Readout(Result):
    """Everything the notebook shows for one experiment (:func:`readout`).

    The tables are fields beside the declared numbers; ``to_frame()`` and the Jupyter view show
    the numbers (analysis date, interim, verdict, power at the observed n).
    """

    registration: Registration = dataclasses.field(compare=False)
    as_of: pd.Timestamp = value(Kind.DATE, "analysis date")
    #: ``ab_results`` rows (:data:`RESULT_COLUMNS`): primary metric first, then guardrails
    results: pd.DataFrame = dataclasses.field(compare=False, repr=False)
    #: rows set aside, and why (:data:`~leadnb.experiments.assignments.EXCLUSION_COLUMNS`)
    exclusions: pd.DataFrame = dataclasses.field(compare=False, repr=False)
    #: Kaplan-Meier curves of the primary metric (empty for an outcome column)
    curves: pd.DataFrame = dataclasses.field(compare=False, repr=False)
    interim: bool = value(Kind.FLAG, "a look before the registered end or planned n")
    verdict: str = value(Kind.TEXT, "one sentence per variant, with its caveats")
    caveats: tuple[str, ...] = ()
    power_at_n: float = value(
        Kind.RATE, "power for the registered target at the observed n", default=float("nan")
    )
    analysis: str = value(
        Kind.TEXT, "the registered analysis plan: fixed or sequential", default="fixed"
    )
    always_valid: bool = value(
        Kind.FLAG, "intervals valid however often the report looks", default=False
    )
    stop_recommended: bool = value(
        Kind.FLAG, "sequential: this look is the first whose interval excludes 0", default=False
    )
    #: what the registration's plan added to the primary metric (None for a readout built
    #: without one)
    plan: PlanResult | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def segments(self) -> pd.DataFrame:
        """The declared segments' breakdown (:func:`leadnb.experiments.adjust.segment_breakdown`;
        empty without declared segments)."""
        return pd.DataFrame() if self.plan is None else self.plan.segments

    @property
    def primary(self) -> pd.DataFrame:
        """The primary metric's rows of :attr:`results` (index reset)."""
        return self.results.loc[self.results["role"] == "primary"].reset_index(drop=True)

    @property
    def verdict_for_readers(self) -> str:
        """:attr:`verdict` with every metric named as a report names it ("reached SQL within 30
        days", :attr:`Metric.display_label`); the stored verdict (``ab_results``, the log,
        ``metrics.json``) keeps its canonical names ("reached sql within 30 days")."""
        text = self.verdict
        reg = self.registration
        for m in (reg.primary_metric, *reg.guardrail_metrics):
            text = text.replace(m.label, m.display_label)
        return text


READER_COLUMNS = [
    "metric",
    "variant",
    "n",
    "conversions",
    "rate",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_lift",
    "p_value",
    "p_adjusted",
    "prob_beat_control",
    "n_immature",
]
"""The ``ab_results`` columns a report's readout table shows (:func:`results_for_readers`)."""


def _prior_reason(stage: str) -> str:
    """The exclusion reason of leads that reached ``stage`` before assignment (as stored)."""
    return f"reached {stage} before assignment"


def metric_display_names(reg: Registration) -> dict[str, str]:
    """Metric machine name -> the name a report shows (the stage's display name).

    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "guardrail_metrics": ["mql@14"], "target_effect": 0.05, "start": "2026-01-01"})
    >>> metric_display_names(reg)
    {'sql_30d': 'reached SQL within 30 days', 'mql_14d': 'reached MQL within 14 days'}
    """
    return {m.name: m.display_label for m in (reg.primary_metric, *reg.guardrail_metrics)}


def results_for_readers(ro: Readout) -> pd.DataFrame:
    """The readout's ``ab_results`` rows as a report shows them (with :data:`RESULT_DISPLAY`).

    Parameters
    ----------
    ro
        One experiment's readout.

    Returns
    -------
    pandas.DataFrame
        :data:`READER_COLUMNS`, one row per metric and group (primary metric first); ``metric``
        holds the metric's role and display name (``Primary: reached SQL within 30
        days``), the numbers are those of :attr:`Readout.results`.

    Examples
    --------
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": {"outcome": "won"},
    ...     "target_effect": 0.05, "start": "2026-01-01"})
    >>> asg = pd.DataFrame({"lead_id": [str(i) for i in range(40)], "experiment_id": "e",
    ...     "variant": ["a", "b"] * 20, "won": [1] * 10 + [0] * 30})
    >>> shown = results_for_readers(readout(reg, asg, None, pd.Timestamp("2026-04-30")))
    >>> shown["metric"].tolist(), shown["n"].tolist()
    (['Primary: won (a 0/1 outcome column)', 'Primary: won (a 0/1 outcome column)'], [20, 20])
    """
    names = metric_display_names(ro.registration)
    out = ro.results[READER_COLUMNS].copy()
    shown = ro.results["metric"].map(lambda m: names.get(m, m))
    out["metric"] = ro.results["role"].astype("str").str.capitalize() + ": " + shown
    return out.reset_index(drop=True)


def exclusions_for_readers(ro: Readout) -> pd.DataFrame:
    """The readout's exclusion table as a report shows it (with
    :data:`~leadnb.experiments.assignments.EXCLUSION_DISPLAY`).

    Parameters
    ----------
    ro
        One experiment's readout.

    Returns
    -------
    pandas.DataFrame
        metric, reason, variant, rows, leads: one row per reason and group; ``metric`` is the
        metric's display name, or ``every metric`` for rows set aside from the whole experiment,
        and stages in ``reason`` are display names (``reached MQL before assignment``).
    """
    reg = ro.registration
    names = {"all": "every metric", **metric_display_names(reg)}
    stages = {m.stage for m in (reg.primary_metric, *reg.guardrail_metrics) if m.stage}
    reasons = {_prior_reason(s): _prior_reason(stage_display(s)) for s in stages}
    out = ro.exclusions[["metric", "reason", "variant", "rows", "leads"]].copy()
    out["metric"] = out["metric"].astype("str").map(lambda m: names.get(m, m))
    out["reason"] = out["reason"].astype("str").map(lambda r: reasons.get(r, r))
    return out.reset_index(drop=True)


def is_interim(reg: Registration, counts: pd.DataFrame, as_of: pd.Timestamp) -> tuple[bool, str]:
    """Whether a readout on ``as_of`` is an interim look, and why.

    Parameters
    ----------
    reg
        The registration (its end date and planned n).
    counts
        One row per arm: variant, n_enrolled.
    as_of
        The analysis date.

    Returns
    -------
    interim : bool
        True while enrolment is open (``as_of`` before the registered end) or an arm has fewer
        enrolled leads than planned.
    why : str
        The reasons, ``"; "``-separated (empty when final).

    Examples
    --------
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "weekly beats monthly",
    ...     "variable": "cadence", "control": "monthly", "variants": ["weekly"],
    ...     "primary_metric": {"outcome": "outcome"}, "target_effect": 0.05,
    ...     "start": "2026-01-01", "end": "2026-03-31"})
    >>> counts = pd.DataFrame({"variant": ["monthly", "weekly"], "n_enrolled": [500, 480]})
    >>> is_interim(reg, counts, pd.Timestamp("2026-03-15"))
    (True, 'enrolment runs to 2026-03-31')
    >>> is_interim(reg, counts, pd.Timestamp("2026-04-30"))
    (False, '')
    """
    why = []
    if reg.end is not None and as_of < reg.end:
        why.append(f"enrolment runs to {reg.end:%Y-%m-%d}")
    planned = reg.planned_n()
    if planned:
        short = [
            f"{a} {format_value(int(n), Kind.COUNT)} of {format_value(planned[a], Kind.COUNT)}"
            for a, n in zip(counts["variant"], counts["n_enrolled"], strict=True)
            if n < planned[a]
        ]
        if short:
            why.append("below planned n (" + ", ".join(short) + ")")
    return bool(why), "; ".join(why)


def _pts(x: float) -> str:
    return format_value(x, Kind.POINTS)


def _p(p: float) -> str:
    """``p < 0.001`` or ``p = 0.043``: a p-value in a sentence (:data:`Kind.P_VALUE`)."""
    shown = format_value(p, Kind.P_VALUE)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def verdict_sentence(
    reg: Registration,
    row: Mapping[str, Any],
    control_row: Mapping[str, Any],
    caveats: Sequence[str],
    *,
    first_readout: pd.Timestamp | None = None,
    estimate_note: str = "",
    always_valid: bool = False,
) -> str:
    """One plain-language sentence for a variant vs control on the primary metric, with caveats.

    Without a comparison it says why: an arm with no leads in the data (named), an arm whose
    leads all reached the stage before assignment, or no closed window yet (with
    ``first_readout``, the analysis date from which the first window has closed).

    Parameters
    ----------
    reg
        The registration (metric, target, alpha).
    row, control_row
        The variant's and the control's ``ab_results`` rows (n, rate, diff and its interval,
        p_adjusted; n_enrolled and n_immature when known).
    caveats
        What a reader must know before acting on it, each a short clause.
    first_readout
        The first analysis date with a closed window (said when none has closed yet).
    estimate_note
        What the difference is, when not the plain one (``adjusted for events_before_90d``):
        said after it.
    always_valid
        The interval is a look of a confidence sequence ("95% always-valid CI").

    Returns
    -------
    str
        One sentence ending in a full stop.

    Examples
    --------
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "weekly beats monthly",
    ...     "variable": "cadence", "control": "monthly", "variants": ["weekly"],
    ...     "primary_metric": {"outcome": "outcome"}, "target_effect": 0.05,
    ...     "start": "2026-01-01", "end": "2026-03-31"})
    >>> ctrl = {"variant": "monthly", "n": 1000, "rate": 0.12}
    >>> row = {"variant": "weekly", "n": 1000, "rate": 0.15, "diff": 0.03, "diff_ci_low": 0.0001,
    ...        "diff_ci_high": 0.06, "p_adjusted": 0.0496}
    >>> print(verdict_sentence(reg, row, ctrl, ["interim look"]))  # doctest: +NORMALIZE_WHITESPACE
    weekly beat monthly on outcome (precomputed 0/1): 15.0% vs 12.0% (+3.0 pts, 95% CI +0.0 pts
    to +6.0 pts, p = 0.050; registered target +5.0 pts not reached); caveats: interim look.
    """
    m = reg.primary_metric.label
    v, c = row["variant"], reg.control
    empty = [
        f"{a}{' (control)' if a == c else ''}"
        for a, r in ((c, control_row), (v, row))
        if int(r.get("n_enrolled", r["n"])) == 0
    ]
    all_prior = [
        a
        for a, r in ((c, control_row), (v, row))
        if r["n"] == 0 and r.get("n_immature", 0) == 0 and r.get("n_enrolled", 0) > 0
    ]
    if empty:
        head = (
            f"No readout for {v} vs {c}: the arm {empty[0]} has no leads"
            if len(empty) == 1
            else f"No readout for {v} vs {c}: the arms {' and '.join(empty)} have no leads"
        )
    elif all_prior:
        head = (
            f"No readout for {v} vs {c}: every lead of {' and '.join(all_prior)} had reached "
            f"{reg.primary_metric.stage} before assignment"
        )
    elif not (row["n"] > 0 and control_row["n"] > 0):
        w = reg.primary_metric.window_days
        known = f"no lead's {w}-day window has closed" if w else "no lead's outcome is known"
        head = f"No readout yet for {v} vs {c}: {known} yet"
        if first_readout is not None and not pd.isna(first_readout):
            head += f" (the first closes on {pd.Timestamp(first_readout):%Y-%m-%d})"
    else:
        kind = "always-valid CI" if always_valid else "CI"
        ci = f"95% {kind} {_pts(row['diff_ci_low'])} to {_pts(row['diff_ci_high'])}"
        if estimate_note:
            ci = f"{estimate_note}, {ci}"
        if reg.alpha != 0.05:
            ci = ci.replace("95%", f"{(1 - reg.alpha) * 100:g}%")
        p = row["p_adjusted"]
        ptxt = _p(p)
        rates = f"{format_value(row['rate'], Kind.RATE)} vs {format_value(control_row['rate'], Kind.RATE)}"
        target_met = (
            row["diff"] >= reg.target_effect
            if reg.target_effect > 0
            else row["diff"] <= reg.target_effect
        )
        target = f"registered target {_pts(reg.target_effect)} {'reached' if target_met else 'not reached'}"
        if p < reg.alpha and row["diff"] > 0:
            head = f"{v} beat {c} on {m}: {rates} ({_pts(row['diff'])}, {ci}, {ptxt}; {target})"
        elif p < reg.alpha:
            head = f"{v} did worse than {c} on {m}: {rates} ({_pts(row['diff'])}, {ci}, {ptxt})"
        else:
            head = (
                f"No detectable difference between {v} and {c} on {m}: {rates} "
                f"({_pts(row['diff'])}, {ci}, {ptxt})"
            )
    if caveats:
        return f"{head}; caveats: {'; '.join(caveats)}."
    return head + "."


def no_leads(
    reg: Registration, assignments: pd.DataFrame, exclusions: pd.DataFrame, as_of: pd.Timestamp
) -> NotEnoughData:
    """The one sentence for an experiment without a single analysable assignment row.

    Parameters
    ----------
    reg
        The registration.
    assignments
        The whole assignments table (every experiment).
    exclusions
        The exclusion table of :func:`~leadnb.experiments.assignments.prepare_assignments`.
    as_of
        The analysis date.

    Returns
    -------
    NotEnoughData
        To raise: it says which case it is (enrolment not started by ``as_of``, leads assigned
        only after ``as_of``, no row with the registered id, every row set aside for a data
        problem) and when or how the readout will appear.

    Examples
    --------
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "weekly beats monthly",
    ...     "variable": "cadence", "control": "monthly", "variants": ["weekly"],
    ...     "primary_metric": {"outcome": "outcome"}, "target_effect": 0.05,
    ...     "start": "2026-01-01", "end": "2026-03-31"})
    >>> asg = pd.DataFrame({"lead_id": ["1"], "experiment_id": "other", "variant": "weekly"})
    >>> err = no_leads(reg, asg, asg.iloc[:0].assign(reason="", rows=0), pd.Timestamp("2026-06-30"))
    >>> print(err.sentence())  # doctest: +NORMALIZE_WHITESPACE
    Experiment e has no leads in the assignments table; its readout appears once assignments
    with experiment_id e are in the data (check that the data's experiment ids match the
    registration id).
    """
    as_of = pd.Timestamp(as_of)
    rid = reg.id
    w = reg.primary_metric.window_days or 0
    mine = assignments.loc[assignments["experiment_id"] == rid]
    day = f"{as_of:%Y-%m-%d}"
    reasons = exclusions.groupby("reason", sort=True)["rows"].sum()
    later = not mine.empty and set(reasons.index) <= {"assigned after as_of"}
    first_at = mine["assigned_at"].min() if later and "assigned_at" in mine.columns else pd.NaT
    if as_of < reg.start and (mine.empty or later):
        first = (reg.start if pd.isna(first_at) else first_at.normalize()) + pd.Timedelta(days=w)
        return NotEnoughData(
            f"experiment {rid} has no leads yet: enrolment starts on {reg.start:%Y-%m-%d}, "
            f"after the analysis date {day}",
            f"its first readout appears in the run of {first:%Y-%m-%d} or later",
        )
    if mine.empty:
        return NotEnoughData(
            f"experiment {rid} has no leads in the assignments table",
            f"its readout appears once assignments with experiment_id {rid} are in the data "
            "(check that the data's experiment ids match the registration id)",
        )
    if later and not pd.isna(first_at):
        first = first_at.normalize() + pd.Timedelta(days=w)
        return NotEnoughData(
            f"experiment {rid} has no leads assigned by the analysis date {day} (the first was "
            f"assigned on {first_at:%Y-%m-%d})",
            f"its first readout appears in the run of {first:%Y-%m-%d} or later",
        )
    why = "; ".join(f"{r}: {format_value(int(n), Kind.COUNT)}" for r, n in reasons.items())
    return NotEnoughData(
        f"none of the {format_value(len(mine), Kind.COUNT)} assignment rows of experiment {rid} can be analysed ({why})",
        "fix the assignments or the registration (leadnb validate lists the rows)",
    )


def readout(
    reg: Registration,
    assignments: pd.DataFrame,
    wide: pd.DataFrame | None,
    as_of: pd.Timestamp,
    *,
    metric: Metric | Mapping[str, Any] | str | None = None,
    on_problem: Literal["exclude", "error"] = "exclude",
    leads: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> Readout:
    """Analyse one registered experiment as of ``as_of``.

    A look before the end date or the planned n is labelled interim, with a warning about
    peeking. An arm without leads gives a readout whose verdict names that arm.

    Parameters
    ----------
    reg
        The registration: the only source of the metric, target, alpha and plan.
    assignments
        The assignments table (lead_id, experiment_id, variant, assigned_at; the outcome column
        for an outcome metric); other experiments' rows are ignored.
    wide
        The wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`), or ``None`` when
        the metrics use an outcome column.
    as_of
        The analysis date.
    metric
        Only a restatement of the registered primary metric (``"sql@30"``): a different one is
        refused, since choosing the metric after seeing the data is not allowed.
    on_problem
        What to do with assignment rows that cannot be analysed
        (:func:`~leadnb.experiments.assignments.prepare_assignments`).
    leads, events
        The leads and events tables, where the registration's covariates, segments and
        accounts are found (:func:`leadnb.experiments.plan.carry_out`); None when the run has
        none (a plan that needs them then says which).

    Returns
    -------
    Readout
        ``results`` (:data:`RESULT_COLUMNS`, primary metric then guardrails, verdicts filled),
        ``exclusions``, the primary metric's Kaplan-Meier ``curves``, ``interim``, ``verdict``
        (one sentence per variant), ``caveats`` and ``power_at_n``.

    Raises
    ------
    ParamsError
        ``metric`` differs from the registered primary metric.
    NotEnoughData
        No assignment row of the experiment can be analysed (one sentence: what is missing and
        when the readout will appear, see :func:`no_leads`), or a stage metric has no stage
        dates.

    Examples
    --------
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "weekly beats monthly",
    ...     "variable": "cadence", "control": "monthly", "variants": ["weekly"],
    ...     "primary_metric": {"outcome": "outcome"}, "target_effect": 0.05,
    ...     "start": "2026-01-01", "end": "2026-03-31"})
    >>> asg = pd.DataFrame({"lead_id": [str(i) for i in range(400)], "experiment_id": "e",
    ...     "variant": ["monthly", "weekly"] * 200, "outcome": [1] * 60 + [0] * 340})
    >>> ro = readout(reg, asg, None, pd.Timestamp("2026-04-30"))
    >>> ro.primary[["variant", "n", "conversions", "rate"]]
       variant    n  conversions  rate
    0  monthly  200           30  0.15
    1   weekly  200           30  0.15
    >>> ro.verdict  # doctest: +ELLIPSIS
    'No detectable difference between weekly and monthly on outcome (precomputed 0/1): 15.0% vs 15.0% (+0.0 pts, 95% CI ... underpowered (...).'
    """
    as_of = pd.Timestamp(as_of)
    if metric is not None:
        asked = metric if isinstance(metric, Metric) else Metric.parse(metric, "metric")
        if not asked.same_as(reg.primary_metric):
            raise ParamsError(
                f"experiment {reg.id!r} registered the primary metric "
                f"'{reg.primary_metric.label}', not '{asked.label}'; changing the primary metric "
                "after the start is not allowed",
                file=reg.file,
                fix="analyse the registered metric; to study another outcome, register it as a "
                "guardrail in a new experiment",
            )
    clean, excl = prepare_assignments(assignments, reg, as_of, on_problem=on_problem)
    if clean.empty:
        raise no_leads(reg, assignments, excl, as_of)
    tables, extra_excl = [], []
    curves = pd.DataFrame()
    plan: PlanResult | None = None
    # the experiment's leads looked up once, not per metric in every million-lead table
    if wide is not None and "lead_id" in wide.columns:
        wide = rows_of_leads(wide, clean["lead_id"])
    if leads is not None and "lead_id" in leads.columns:
        leads = rows_of_leads(leads, clean["lead_id"])
    if events is not None and "lead_id" in events.columns and counts_events(reg):
        events = rows_of_leads(events, clean["lead_id"])
    for role, met in [
        ("primary", reg.primary_metric),
        *[("guardrail", g) for g in reg.guardrail_metrics],
    ]:
        out = metric_outcomes(clean, met, wide, as_of)
        prior = out.loc[out["prior"]]
        if len(prior):
            e = prior.groupby("variant").agg(rows=("lead_id", "size"), leads=("lead_id", "nunique"))
            e = e.reset_index().assign(
                experiment_id=reg.id,
                metric=met.name,
                reason=_prior_reason(str(met.stage)),
            )
            extra_excl.append(e[EXCLUSION_COLUMNS])
        res, last_curves = _analyze_metric(out, reg, met, role=role)  # type: ignore[arg-type]
        met_plan = carry_out(
            out,
            dataclasses.replace(reg, primary_metric=met),
            as_of,
            primary=role == "primary",
            leads=leads,
            events=events,
            wide=wide,
        )
        res = _apply_plan(res, met_plan, reg)
        if role == "primary":
            curves = last_curves
            plan = met_plan
        tables.append(res)
    results = pd.concat(tables, ignore_index=True)
    exclusions = pd.concat([excl, *extra_excl], ignore_index=True) if extra_excl else excl
    assert plan is not None

    prim = results.loc[results["role"] == "primary"]
    ctrl = prim.loc[prim["is_control"]].iloc[0]
    interim, why = is_interim(reg, prim, as_of)
    if plan.stop_recommended or plan.stopped_at is not None:
        interim = False  # a sequential plan's decision is due at its first stop
    caveats: list[str] = []
    if interim and reg.analysis == "fixed":
        caveats.append(
            f"interim look ({why}): do not stop or ship on it, repeated looks inflate false "
            "positives"
        )
    srm = float(prim["srm_p_value"].iloc[0])
    if srm < SRM_THRESHOLD:
        on = " on accounts" if reg.unit == "account" else ""
        caveats.append(
            f"sample ratio mismatch{on} ({_p(srm)}): check the assignment before trusting it"
        )
    variants = prim.loc[~prim["is_control"]]
    pw = _power_at_n(reg, ctrl, variants, plan)
    if pw < reg.power:
        # whole percents, as metrics.json has always stored this sentence
        caveats.append(
            f"underpowered ({pw:.0%} power for the {_pts(reg.target_effect)} target at this n, "
            f"{reg.power:.0%} planned)"
        )
    n_imm = int(prim["n_immature"].sum())
    if n_imm:
        caveats.append(
            f"{format_value(n_imm, Kind.COUNT)} leads whose {reg.primary_metric.window_days}-day "
            "window is still open are not counted"
            if reg.primary_metric.window_days
            else f"{format_value(n_imm, Kind.COUNT)} leads whose outcome is not known yet are not "
            "counted"
        )
    n_excl = int(excl["rows"].sum())
    if n_excl:
        caveats.append(
            f"{format_value(n_excl, Kind.COUNT)} assignment rows excluded (see the exclusion table)"
        )
    if (prim["test"] == "fisher").any():
        caveats.append("small counts: Fisher's exact test used")
    guards = results.loc[(results["role"] == "guardrail") & ~results["is_control"]]
    for g in reg.guardrail_metrics:
        rows = guards.loc[guards["metric"] == g.name]
        worse = rows["diff"] > 0 if g.worse_if == "higher" else rows["diff"] < 0
        hit = rows.loc[worse & (rows["p_value"] < reg.alpha)]
        for _, r in hit.iterrows():
            caveats.append(
                f"guardrail '{g.label}' got worse for {r['variant']} ({_pts(r['diff'])})"
            )
    first = None
    w = reg.primary_metric.window_days
    if w and "assigned_at" in clean.columns and clean["assigned_at"].notna().any():
        first = clean["assigned_at"].min().normalize() + pd.Timedelta(days=w)
    decision = plan.decision.set_index("variant") if len(plan.decision) else None
    verdicts = {}
    for _, r in variants.iterrows():
        own = [c for c in caveats if not c.startswith("guardrail") or f"for {r['variant']} (" in c]
        row = r.to_dict()
        note = ""
        if reg.covariates and decision is not None and r["variant"] in decision.index:
            d = decision.loc[r["variant"]]
            if np.isfinite(d["estimate"]):
                row.update(diff=d["estimate"], diff_ci_low=d["ci_low"], diff_ci_high=d["ci_high"])
                note = f"adjusted for {', '.join(reg.covariates)}"
        text = verdict_sentence(
            reg, row, ctrl, own, first_readout=first, estimate_note=note,
            always_valid=reg.analysis == "sequential",
        )  # fmt: skip
        verdicts[r["variant"]] = text
    status = stop_sentence(plan)
    if status:  # every variant's verdict says where the sequential plan stands
        verdicts = {k: f"{t} {status[:1].upper()}{status[1:]}." for k, t in verdicts.items()}
    mask = (results["role"] == "primary") & ~results["is_control"]
    results.loc[mask, "verdict"] = results.loc[mask, "variant"].map(verdicts)
    results.loc[results["is_control"], "verdict"] = "control"
    results.loc[(results["role"] == "guardrail") & ~results["is_control"], "verdict"] = "guardrail"
    results["interim"] = interim
    results["as_of"] = as_of.strftime("%Y-%m-%d")
    results = results[RESULT_COLUMNS]
    verdict = " ".join(verdicts.values())
    return Readout(
        registration=reg,
        as_of=as_of,
        results=results,
        exclusions=exclusions.reset_index(drop=True),
        curves=curves,
        interim=interim,
        verdict=verdict,
        caveats=tuple(caveats),
        power_at_n=pw,
        analysis=reg.analysis,
        always_valid=plan.always_valid,
        stop_recommended=plan.stop_recommended,
        plan=plan,
    )


def _apply_plan(res: pd.DataFrame, plan: PlanResult, reg: Registration) -> pd.DataFrame:
    """One metric's ``ab_results`` rows with the plan's columns written in: the plan's interval
    and p-value where it has its own (sequential, account), NaN for the relative lift's
    interval then (a fixed-horizon, lead-level interval), p_adjusted from the registered
    decision's p-values (Holm with three or more arms; Bonferroni for a sequential plan, whose
    sequences are built at alpha split over the variants)."""
    res = res.copy()
    cols = plan.columns.set_index("variant").reindex(res["variant"])
    for c in ("analysis", "ci_method", "always_valid", "unit", "n_units", "stop_recommended"):
        res[c] = cols[c].to_numpy()
    for c in ("diff_adj", "diff_adj_ci_low", "diff_adj_ci_high", "variance_reduction"):
        res[c] = cols[c].to_numpy(float)
    own = np.isfinite(cols["diff"].to_numpy(float)) | (
        (reg.analysis == "sequential" or reg.unit == "account") & ~res["is_control"].to_numpy(bool)
    )
    for c in ("diff", "diff_ci_low", "diff_ci_high", "p_value"):
        res[c] = np.where(own, cols[c].to_numpy(float), res[c].to_numpy(float))
    if own.any():
        res.loc[own, ["rel_lift_ci_low", "rel_lift_ci_high"]] = np.nan
        res.loc[own, "test"] = plan.columns["ci_method"].iloc[0]
    if reg.unit == "account":
        res.loc[~res["is_control"], "prob_beat_control"] = np.nan  # assumes independent leads
        res["srm_p_value"] = plan.srm_p_value
    var = ~res["is_control"].to_numpy(bool)
    p = res["p_value"].to_numpy(float).copy()
    if len(plan.decision) and reg.covariates:
        dec = plan.decision.set_index("variant")["p_value"]
        p_dec = res["variant"].map(dec).to_numpy(float)
        p = np.where(np.isfinite(p_dec), p_dec, p)
    res["p_adjusted"] = np.nan
    k = int(var.sum())
    if reg.analysis == "sequential":
        res.loc[var, "p_adjusted"] = np.minimum(1.0, p[var] * max(k, 1))
    elif k >= 2:
        ok = var & np.isfinite(p)
        adj = np.full(len(res), np.nan)
        if ok.any():
            adj[ok] = holm(p[ok], alpha=reg.alpha)
        res["p_adjusted"] = adj
    else:
        res.loc[var, "p_adjusted"] = p[var]
    return res


def _power_at_n(
    reg: Registration, ctrl: Mapping[str, Any], variants: pd.DataFrame, plan: PlanResult
) -> float:
    """Power for the registered target at the observed n: the fixed-horizon test's, or the
    sequential plan's at its planned n; for account units the n is divided by the design
    effect estimated from the counted leads."""
    if not (ctrl["n"] > 0 and (variants["n"] > 0).all()):
        return float("nan")
    base = min(max(float(ctrl["rate"]), 1e-4), 1 - 1e-4)
    eff = reg.target_effect
    if not 0 < base + eff < 1:
        return float("nan")
    a = design.adjusted_alpha(reg.alpha, len(reg.arms), reg.correction)
    nv = float(variants["n"].min())
    ratio = nv / float(ctrl["n"])
    if reg.unit == "account" and np.isfinite(plan.icc) and np.isfinite(plan.mean_account_size):
        from leadnb.experiments.adjust import design_effect

        icc = min(max(plan.icc, 0.0), 0.99)
        nv = nv / design_effect(max(plan.mean_account_size, 1.0), icc)
    if reg.analysis == "sequential":
        v = str(variants.loc[variants["n"].idxmin(), "variant"])
        return sequential_power(
            base, eff, nv, alpha=a, ratio=ratio, n_planned=planned_total(reg, v)
        )
    return design.power(base, eff, nv, alpha=a, ratio=ratio)


def plan_lines(ro: Readout) -> list[str]:
    """What a report prints under a readout's per-arm lines: the Kaplan-Meier share converted
    by the window's end (every lead, immature ones included) beside the matured-window rates,
    then what the registration's plan added: the sequential status, the account unit, the
    adjusted difference, the contamination count and the declared segments.

    Parameters
    ----------
    ro
        One experiment's readout.

    Returns
    -------
    list of str
        Lines indented by two spaces, every number formatted from its kind; empty pieces left
        out (no Kaplan-Meier line for an outcome column, no plan lines for a fixed, lead-level
        plan without covariates or segments, no contamination line without a mixed account);
        then the plan's notes (imputed covariates, too few accounts...).
    """
    reg, plan, p = ro.registration, ro.plan, ro.primary
    out: list[str] = []
    w = reg.primary_metric.window_days
    if w and p["km_rate"].notna().any():
        parts = []
        for _, r in p.iterrows():
            lo, hi = (format_value(r[k], Kind.RATE) for k in ("km_ci_low", "km_ci_high"))
            parts.append(f"{r['variant']} {format_value(r['km_rate'], Kind.RATE)} ({lo} to {hi})")
        lr = p.loc[~p["is_control"], "logrank_p"]
        tail = f"; log-rank {_p(float(lr.iloc[0]))}" if len(lr) and np.isfinite(lr.iloc[0]) else ""
        out.append(
            f"  Kaplan-Meier share converted by day {w} (every lead, open windows followed as "
            f"far as seen): {', '.join(parts)}{tail}"
        )
    if plan is None:
        return out
    var = p.loc[~p["is_control"]]
    ctrl = p.loc[p["is_control"]].iloc[0]
    if reg.analysis == "sequential":
        out.append(
            f"  Sequential plan ({plan.columns['ci_method'].iloc[0]}): {stop_sentence(plan)}"
        )
    if reg.unit == "account":
        units = ", ".join(
            f"{r['variant']} {format_value(int(r['n_units']), Kind.COUNT)}" for _, r in p.iterrows()
        )
        icc = "" if not np.isfinite(plan.icc) else (
            f"; intra-class correlation {format_value(plan.icc, Kind.RATIO)}, "
            f"{plan.mean_account_size:.1f} leads per account"
        )  # fmt: skip
        out.append(
            f"  Randomised by account: accounts counted {units}; sample ratio check on accounts "
            f"{_p(float(ctrl['srm_p_value']))}{icc}"
        )
    if reg.covariates:
        for _, r in var.iterrows():
            row = Metrics.of_row(r, RESULT_DISPLAY)
            if not np.isfinite(r["diff_adj"]):
                out.append(
                    f"  Adjusted for {', '.join(reg.covariates)}: not estimable for "
                    f"{r['variant']} (too few leads)"
                )
                continue
            out.append(
                f"  Adjusted for {', '.join(reg.covariates)}: {r['variant']} "
                f"{row.shown('diff_adj')} ({row.interval('diff_adj')}) against "
                f"{row.shown('diff')} unadjusted ({row.interval('diff')}); variance "
                f"reduction {row.shown('variance_reduction')}"
            )
    if plan.contamination is not None and plan.contamination.sentence:
        out.append(f"  {plan.contamination.sentence[:1].upper()}{plan.contamination.sentence[1:]}")
    seg = plan.segments
    if len(seg):
        q = seg.dropna(subset=["q_value"])
        if len(q):
            best = q.loc[q["q_value"].idxmin()]
            lead = (
                f"smallest q-value {format_value(float(best['q_value']), Kind.P_VALUE)} "
                f"({best['segment']} = {best['value']}, {best['variant']} "
                f"{format_value(float(best['diff']), Kind.POINTS)})"
            )
        else:
            lead = "no comparison with a p-value"
        out.append(
            f"  Declared segments ({', '.join(reg.segments)}): {len(q)} comparisons, "
            f"Benjamini-Hochberg within the family, {lead}; the verdict does not rest on them"
        )
    out.extend(f"  Note: {n}" for n in plan.notes)
    return out


HEADLINE_KINDS: dict[str, Kind] = {
    "n_experiments": Kind.COUNT,
    "n_interim": Kind.COUNT,
    "n_significant": Kind.COUNT,
    "experiment_id": Kind.TEXT,
    "metric": Kind.TEXT,
    "metric_label": Kind.TEXT,
    "alpha": Kind.P_VALUE,
    "control": Kind.TEXT,
    "variant": Kind.TEXT,
    "n_control": Kind.COUNT,
    "n_variant": Kind.COUNT,
    "control_rate": Kind.RATE,
    "variant_rate": Kind.RATE,
    "diff": Kind.POINTS,
    "diff_ci_low": Kind.POINTS,
    "diff_ci_high": Kind.POINTS,
    "rel_lift": Kind.CHANGE,
    "p_value": Kind.P_VALUE,
    "p_adjusted": Kind.P_VALUE,
    "prob_beat_control": Kind.RATE,
    "srm_p_value": Kind.P_VALUE,
    "n_immature": Kind.COUNT,
    "interim": Kind.FLAG,
    "power_at_n": Kind.RATE,
    "power": Kind.RATE,
    "verdict": Kind.TEXT,
    "analysis": Kind.TEXT,
    "always_valid": Kind.FLAG,
    "stop_recommended": Kind.FLAG,
    "stopped_at": Kind.DATE,
    "stopped_week": Kind.COUNT,
    "ci_method": Kind.TEXT,
    "unit": Kind.TEXT,
    "n_units_control": Kind.COUNT,
    "n_units_variant": Kind.COUNT,
    "covariates": Kind.TEXT,
    "diff_adj": Kind.POINTS,
    "diff_adj_ci_low": Kind.POINTS,
    "diff_adj_ci_high": Kind.POINTS,
    "variance_reduction": Kind.RATE,
    "contaminated_accounts": Kind.COUNT,
    "contaminated_leads": Kind.COUNT,
}
"""The kind of every scalar :func:`headline_metrics` writes (the per-experiment records under
``experiments`` use the same keys)."""


def headline_metrics(readouts: Sequence[Readout]) -> Metrics:
    """Headline numbers for ``metrics.json``, each with its declared kind (:data:`HEADLINE_KINDS`).

    Parameters
    ----------
    readouts
        The run's readouts (:func:`readout`), any number.

    Returns
    -------
    leadnb.results.Metrics
        ``n_experiments``, ``n_interim``, ``n_significant`` (variants beating control at the
        registered alpha, Holm-adjusted); then the primary-metric numbers of the most recently
        started experiment's best variant (flat keys for the index card: experiment_id, metric,
        metric_label (the metric in words, :attr:`Metric.sentence_label`), alpha (the
        registered significance level), control, variant, n_control, n_variant, control_rate, variant_rate, diff, diff_ci_low,
        diff_ci_high, rel_lift, p_value, p_adjusted, prob_beat_control, srm_p_value,
        n_immature, interim, power_at_n (the power for the registered target at the observed n),
        power (the registered power), verdict); and ``experiments``: the same record for every
        experiment, keyed by experiment id (a mapping, without a kind of its own).

    Examples
    --------
    >>> m = headline_metrics([])
    >>> dict(m), m.formatted("n_experiments")
    ({'n_experiments': 0, 'n_interim': 0, 'n_significant': 0, 'experiments': {}}, '0')
    """
    out: dict[str, Any] = {"n_experiments": len(readouts), "n_interim": 0, "n_significant": 0}
    per: dict[str, Any] = {}
    latest = None
    for ro in readouts:
        reg = ro.registration
        prim = ro.primary
        ctrl = prim.loc[prim["is_control"]].iloc[0]
        var = prim.loc[~prim["is_control"]]
        out["n_interim"] += int(ro.interim)
        out["n_significant"] += int(((var["p_adjusted"] < reg.alpha) & (var["diff"] > 0)).sum())
        best = var.loc[var["diff"].fillna(-np.inf).idxmax()]
        rec = {
            "experiment_id": reg.id,
            "metric": reg.primary_metric.name,
            "metric_label": reg.primary_metric.sentence_label,
            "alpha": float(reg.alpha),
            "control": reg.control,
            "variant": best["variant"],
            "n_control": int(ctrl["n"]),
            "n_variant": int(best["n"]),
            "control_rate": float(ctrl["rate"]),
            "variant_rate": float(best["rate"]),
            "diff": float(best["diff"]),
            "diff_ci_low": float(best["diff_ci_low"]),
            "diff_ci_high": float(best["diff_ci_high"]),
            "rel_lift": float(best["rel_lift"]),
            "p_value": float(best["p_value"]),
            "p_adjusted": float(best["p_adjusted"]),
            "prob_beat_control": float(best["prob_beat_control"]),
            "srm_p_value": float(best["srm_p_value"]),
            "n_immature": int(prim["n_immature"].sum()),
            "interim": bool(ro.interim),
            "power_at_n": float(ro.power_at_n),
            "power": float(reg.power),
            "verdict": str(best["verdict"]),
            **_plan_record(ro, ctrl, best),
        }
        per[reg.id] = rec
        if latest is None or reg.start >= latest[0]:
            latest = (reg.start, rec)
    if latest is not None:
        out.update(latest[1])
    out["experiments"] = per
    return Metrics(out, {k: kind for k, kind in HEADLINE_KINDS.items() if k in out})


def _plan_record(ro: Readout, ctrl: pd.Series, best: pd.Series) -> dict[str, Any]:
    """The analysis plan's numbers of one experiment for ``metrics.json`` (:data:`HEADLINE_KINDS`):
    analysis, always_valid, stop_recommended, and when they apply the week and date the
    sequential test stopped at, the unit and units counted, the covariates and the adjusted
    difference with its interval and variance reduction, and the contamination count."""
    reg, plan = ro.registration, ro.plan
    rec: dict[str, Any] = {
        "analysis": reg.analysis,
        "always_valid": bool(ro.always_valid),
        "stop_recommended": bool(ro.stop_recommended),
        "ci_method": str(best.get("ci_method", "")),
        "unit": reg.unit,
        "n_units_control": int(ctrl.get("n_units", ctrl["n"])),
        "n_units_variant": int(best.get("n_units", best["n"])),
    }
    if plan is not None and plan.stopped_at is not None:
        rec["stopped_at"] = f"{plan.stopped_at:%Y-%m-%d}"
        rec["stopped_week"] = int(plan.stopped_week or 0)
    if reg.covariates:
        rec["covariates"] = ", ".join(reg.covariates)
        for k in ("diff_adj", "diff_adj_ci_low", "diff_adj_ci_high", "variance_reduction"):
            rec[k] = float(best[k])
    if plan is not None and plan.contamination is not None:
        rec["contaminated_accounts"] = int(plan.contamination.n_accounts_mixed)
        rec["contaminated_leads"] = int(plan.contamination.n_leads_mixed)
    return rec


HEADLINE: tuple[str, ...] = (
    "diff",
    "variant_rate",
    "control_rate",
    "n_variant",
    "n_control",
    "p_value",
    "srm_p_value",
    "experiment_id",
)
"""The keys of :func:`headline_metrics` the run index card shows, in this order (``metrics.json``
``headline``): the headline experiment's difference from control (with its interval), then the
variant's and the control's rate; the card shows the first three."""


def card_labels(m: Mapping[str, Any]) -> dict[str, str]:
    """A plain label for each key of :data:`HEADLINE` (``metrics.json`` ``labels``), naming the
    headline experiment's arms and metric; generic words when a run has no readout.

    Parameters
    ----------
    m
        The headline metrics (:func:`headline_metrics`).

    Returns
    -------
    dict
        Key -> label, for every key of :data:`HEADLINE`.

    Examples
    --------
    >>> labels = card_labels({"variant": "weekly_digest", "control": "monthly_newsletter",
    ...                       "metric_label": "reaching SQL within 30 days"})
    >>> labels["diff"], labels["control_rate"]
    ('Difference, weekly_digest vs control', 'Share reaching SQL within 30 days on monthly_newsletter (control)')
    >>> card_labels({})["variant_rate"]
    'Share reaching the primary metric on the variant'
    """
    v = m.get("variant") or "the variant"
    c = m.get("control") or "control"
    metric = m.get("metric_label") or "reaching the primary metric"
    ctrl = f"{c} (control)" if m.get("control") else "control"
    labels = {
        "diff": f"Difference, {v} vs control",
        "variant_rate": f"Share {metric} on {v}",
        "control_rate": f"Share {metric} on {ctrl}",
        "n_variant": f"Leads on {v}",
        "n_control": f"Leads on {ctrl}",
        "p_value": f"p-value, {v} vs control",
        "srm_p_value": "Sample ratio check p-value",
        "experiment_id": "Headline experiment",
    }
    return {k: labels[k] for k in HEADLINE}
