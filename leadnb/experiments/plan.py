"""The analysis plan a registration declares, carried out on one metric of one experiment.

Design. The registration decides and the readout obeys (issue 18): :func:`carry_out` takes the
per-lead outcomes of a metric (:func:`leadnb.experiments.outcomes.metric_outcomes`) and the
registration's ``analysis``, ``unit``, ``covariates`` and ``segments``, and returns a
:class:`PlanResult` whose per-arm ``columns`` the readout writes into ``ab_results``
(:data:`PLAN_COLUMNS`), with the segment breakdown, the contamination count, the account-level
sample ratio check and, for a sequential plan, the history of its weekly looks. The statistics
live elsewhere: confidence sequences in :mod:`leadnb.experiments.sequential`, Lin's regression
adjustment, cluster-robust errors, segments and contamination in
:mod:`leadnb.experiments.adjust`. This module only chooses and combines them:

* **fixed, lead** (no covariates): nothing changes: the interval is Newcombe's, the p-value the
  z-test's (or Fisher's) of :func:`~leadnb.experiments.comparisons.compare_arms`.
* **fixed, account**: the difference, its interval and p-value are the cluster-robust ones
  (OLS of the outcome on the arm, errors clustered by account, t with G - 1 degrees of freedom);
  ``n_units`` counts accounts and the sample ratio is tested on accounts.
* **sequential**: the interval is a look of the asymptotic confidence sequence,
  ``estimate ± c(n) · se`` with ``c(n)`` tuned at the planned n
  (:func:`~leadnb.experiments.sequential.critical_value`) and the always-valid p-value; ``se``
  is the smoothed binomial one for leads (as :func:`~leadnb.experiments.sequential.sequential_table`),
  the cluster-robust one for accounts (the smoothed one when an arm has no conversion yet).
  The looks are weekly from the registered start (``start + 7k`` days) and the analysis date;
  a look counts only leads whose window had closed by then. The first look whose interval
  excludes 0 recommends stopping; every later run says the test *stopped* at that week instead
  of recommending again, so a schedule of weekly runs gives at most one recommendation.
* **covariates**: Lin's estimator (HC2, or cluster-robust for accounts) gives ``diff_adj`` with
  its interval and the variance reduction; when declared, the adjusted difference is the
  registered analysis, so the verdict and the stop rule rest on it (its interval is a look of
  the confidence sequence under a sequential plan). A covariate is a column of the assignments,
  of the leads table, or ``events_before_<N>d`` (the lead's events in the N days before its
  assignment, from the events table). Stage dates and the outcome are refused as measured after
  assignment (:func:`~leadnb.experiments.adjust.check_pre_assignment`).
* **segments**: :func:`~leadnb.experiments.adjust.segment_breakdown` on the counted leads, with
  Benjamini-Hochberg q-values within the declared family; the verdict never uses them.

Maturity stays first-class: every count here is of leads whose window has closed by the look.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leadnb import arrays, asof
from leadnb.data.columns import require_columns
from leadnb.errors import NotEnoughData, ParamsError
from leadnb.experiments import adjust
from leadnb.experiments.design import adjusted_alpha
from leadnb.experiments.sequential import (
    CI_METHOD,
    always_valid_p,
    critical_value,
    mixing_rho,
    planned_total,
    smoothed_se,
)
from leadnb.results import Column, Kind

if TYPE_CHECKING:
    from leadnb.experiments.adjust import Adjusted, Contamination
    from leadnb.experiments.registration import Registration

__all__ = [
    "DERIVED_COVARIATE",
    "HISTORY_COLUMNS",
    "HISTORY_DISPLAY",
    "PLAN_COLUMNS",
    "SEGMENT_DISPLAY",
    "PlanResult",
    "account_design",
    "account_design_text",
    "carry_out",
    "ci_method",
    "counts_events",
    "events_before",
    "first_stop",
    "look_dates",
    "plan_frame",
    "sequential_history",
    "stop_sentence",
]

_NAN = float("nan")

DERIVED_COVARIATE = re.compile(r"^(log_)?events_before_(\d+)d$")
"""A covariate computed from the events table: ``events_before_90d`` is the number of the lead's
events in the 90 days before its assignment (:func:`events_before`), ``log_events_before_90d``
its ``log(1 + count)`` (activity counts are heavy-tailed; a regression adjustment is linear)."""

PLAN_COLUMNS = [
    "analysis",
    "ci_method",
    "always_valid",
    "diff_adj",
    "diff_adj_ci_low",
    "diff_adj_ci_high",
    "variance_reduction",
    "unit",
    "n_units",
    "stop_recommended",
]
"""The ``ab_results`` columns the plan adds (CONTRACT.md: analysis, ci_method, diff_adj and its
interval, variance_reduction, unit, n_units; and always_valid, stop_recommended)."""

SEGMENT_DISPLAY: dict[str, Column] = {
    "experiment_id": Column("Experiment", Kind.TEXT),
    "segment": Column("Segment", Kind.TEXT, "declared in the registration"),
    "value": Column("Value", Kind.TEXT),
    "variant": Column("Group", Kind.TEXT),
    "n": Column("Leads", Kind.COUNT, "leads whose window has closed"),
    "conversions": Column("Conversions", Kind.COUNT),
    "rate": Column("Conversion rate", Kind.RATE),
    "diff": Column("Difference", Kind.POINTS, "variant rate minus control rate in the segment"),
    "diff_ci_low": Column("Difference, CI low", Kind.POINTS, "Newcombe, leads as independent"),
    "diff_ci_high": Column("Difference, CI high", Kind.POINTS, "Newcombe, leads as independent"),
    "p_value": Column("p-value", Kind.P_VALUE, "z-test or Fisher's exact"),
    "q_value": Column("q-value", Kind.P_VALUE, "Benjamini-Hochberg within the declared family"),
}
"""How a report shows ``ab_segments`` rows (the CSV keeps the machine names)."""

HISTORY_DISPLAY: dict[str, Column] = {
    "look": Column("Analysis date", Kind.DATE),
    "week": Column("Week", Kind.COUNT, "weeks since the registered start"),
    "variant": Column("Variant", Kind.TEXT),
    "n": Column("Leads counted", Kind.COUNT, "both arms, windows closed by the look"),
    "estimate": Column("Difference", Kind.POINTS, "the registered estimate"),
    "ci_low": Column("Always-valid CI, low", Kind.POINTS),
    "ci_high": Column("Always-valid CI, high", Kind.POINTS),
    "p_value": Column("Always-valid p-value", Kind.P_VALUE),
    "excludes_zero": Column("Excludes 0", Kind.FLAG),
}
"""How a report shows :func:`sequential_history` rows."""

HISTORY_COLUMNS = [
    "look",
    "week",
    "variant",
    "n",
    "estimate",
    "se",
    "critical_value",
    "ci_low",
    "ci_high",
    "p_value",
    "excludes_zero",
]
"""Columns of :func:`sequential_history`: one row per look and variant."""


# --------------------------------------------------------------------------------------------
# The columns a plan needs, joined onto the per-lead outcomes


def counts_events(reg: Registration) -> bool:
    """Whether ``reg`` declares a covariate counted from the events (``events_before_<N>d``).

    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": {"outcome": "y"},
    ...     "target_effect": 0.05, "start": "2026-01-01", "end": "2026-03-31",
    ...     "covariates": ["log_events_before_30d"]})
    >>> counts_events(reg)
    True
    """
    return any(DERIVED_COVARIATE.match(name) for name in reg.covariates)


def events_before(
    events: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    days: int,
    lead: str = "lead_id",
    ts: str = "ts",
    assigned_at: str = "assigned_at",
) -> np.ndarray:
    """For each row of ``frame``: the lead's events in the ``days`` days before ``assigned_at``.

    An event counts when ``assigned_at - days <= ts < assigned_at``: strictly before the
    assignment, so the count is known when the lead is assigned (a pre-assignment covariate).
    Lead ids are compared as text; a missing one matches nothing. One hash lookup of the
    events' lead ids (per category for a categorical) in the frame's, no join, when each lead
    has one row in ``frame``.

    Parameters
    ----------
    events
        The events table (``lead``, ``ts``).
    frame
        One row per assignment (``lead``, ``assigned_at``).
    days
        The look-back window.
    lead, ts, assigned_at
        Column names.

    Returns
    -------
    numpy.ndarray
        Float counts, one per row of ``frame`` (NaN where ``assigned_at`` is missing).

    Examples
    --------
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "a", "b"],
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-02-20", "2026-03-02", "2026-02-27"])})
    >>> f = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...     "assigned_at": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-03-01"])})
    >>> events_before(ev, f, days=30).tolist()
    [1.0, 1.0, 0.0]
    """
    require_columns(events, [lead, ts], table="events")
    require_columns(frame, [lead, assigned_at], table="the experiment's assignments")
    if days <= 0:
        raise ParamsError(f"events_before needs a positive window, got {days}", fix="e.g. 90")
    at = pd.to_datetime(frame[assigned_at])
    keys = frame[lead].astype(str)
    if keys.is_unique:  # one assignment per lead (as a readout has): each event finds its row
        row = arrays.index_positions(events[lead], pd.Index(keys))
        found = row >= 0
        row = row[found]
        t = pd.to_datetime(events[ts]).to_numpy()[found]
        start = at.to_numpy()[row]
    else:  # the experiment's events first (a million-lead events table is never copied as text)
        ev = events.loc[arrays.in_set(events[lead], keys), [lead, ts]]
        rows = pd.DataFrame({"row": np.arange(len(frame)), lead: keys.to_numpy()})
        m = rows.merge(ev.assign(**{lead: ev[lead].astype(str)}), on=lead, how="inner")
        row = m["row"].to_numpy(int)
        t = pd.to_datetime(m[ts]).to_numpy()
        start = at.to_numpy()[row]
    hit = (t < start) & (t >= start - np.timedelta64(days, "D"))
    out = np.bincount(row[hit], minlength=len(frame)).astype(float)
    out[at.isna().to_numpy()] = np.nan
    return out


def _unknown(reg: Registration, what: str, name: str, where: str) -> ParamsError:
    return ParamsError(
        f"experiment {reg.id!r}: {what} {name!r} is not a column of {where}",
        file=reg.file,
        column=name,
        fix=f"declare a {what} measured before assignment that the data has (a column of the "
        "assignments or leads table, or events_before_<N>d), or remove it from the registration",
    )


def plan_frame(
    outcomes: pd.DataFrame,
    reg: Registration,
    *,
    leads: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    wide: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The per-lead outcomes with every column the registration's plan names.

    Covariates and segments come from the outcomes themselves (columns of the assignments),
    then the leads table, then the stage dates (which :func:`carry_out` refuses as measured
    after assignment), then ``events_before_<N>d`` (:func:`events_before`); ``account_id``
    from the leads table for an account unit, and for a lead unit when the leads have it (the
    contamination count).

    Parameters
    ----------
    outcomes
        Per-lead outcomes of one metric.
    reg
        The registration.
    leads, events, wide
        The leads table, the events table and the wide stage dates (any may be None).

    Returns
    -------
    frame : pandas.DataFrame
        ``outcomes`` with the columns added.
    stage_columns : tuple of str
        The declared names found among the stage dates (measured after assignment).

    Raises
    ------
    ParamsError
        A declared name is nowhere in the data (naming the file, the experiment and the name).
    NotEnoughData
        ``events_before_<N>d`` is declared and the run has no events table (the readout is
        skipped with that sentence).
    """
    frame = outcomes
    names = [*reg.covariates, *reg.segments]
    from_leads = [
        c
        for c in names
        if c not in frame.columns and leads is not None and c in leads.columns and c != "lead_id"
    ]
    want_account = "account_id" not in frame.columns and (
        leads is not None and "account_id" in leads.columns
    )
    if want_account:
        from_leads.append("account_id")
    if from_leads:
        frame = adjust.with_lead_columns(frame, leads, from_leads)
    stage_cols = []
    for kind, group in (("covariate", reg.covariates), ("segment", reg.segments)):
        for name in group:
            if name in frame.columns:
                continue
            if wide is not None and name in wide.columns and name != "lead_id":
                from leadnb.experiments.outcomes import lookup_first

                frame = frame.assign(
                    **{name: lookup_first(wide["lead_id"], wide[name], frame["lead_id"]).to_numpy()}
                )
                stage_cols.append(name)
                continue
            m = DERIVED_COVARIATE.match(name)
            if m and kind == "covariate":
                if events is None:  # a missing table: this readout is skipped, saying why
                    raise NotEnoughData(
                        f"experiment {reg.id} declares the covariate {name}, which counts events "
                        "before assignment, and the run has no events table",
                        "configure data.events in the params file to read it out as registered",
                    )
                k = events_before(events, frame, days=int(m[2]))
                frame = frame.assign(**{name: np.log1p(k) if m[1] else k})
                continue
            where = "the assignments" + (" or the leads table" if leads is not None else "")
            raise _unknown(reg, kind, name, where)
    if reg.unit == "account" and "account_id" not in frame.columns:
        raise ParamsError(
            f"experiment {reg.id!r} is randomised by account (unit: account), and the data has "
            "no account_id for its leads",
            file=reg.file,
            column="account_id",
            fix="add account_id to the leads (or the assignments) table, or register unit: lead",
        )
    return frame, tuple(stage_cols)


# --------------------------------------------------------------------------------------------
# Weekly looks of a sequential plan


def look_dates(reg: Registration, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """The analysis dates of a weekly schedule up to ``as_of``: ``start + 7k`` days (k >= 1)
    and ``as_of`` itself.

    Examples
    --------
    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.02, "start": "2026-01-05"})
    >>> [f"{d:%m-%d}" for d in look_dates(reg, pd.Timestamp("2026-01-27"))]
    ['01-12', '01-19', '01-26', '01-27']
    """
    as_of = pd.Timestamp(as_of).normalize()
    start = reg.start.normalize()
    k = max((as_of - start).days // 7, 0)
    grid = [start + pd.Timedelta(days=7 * i) for i in range(1, k + 1)]
    if not grid or grid[-1] != as_of:
        grid.append(as_of)
    return pd.DatetimeIndex(grid)


def _week(reg: Registration, look: pd.Timestamp) -> int:
    """Week of the experiment at a look: whole weeks since the start, rounded up."""
    return max(math.ceil((pd.Timestamp(look).normalize() - reg.start.normalize()).days / 7), 0)


def _mature_at(frame: pd.DataFrame, window: int | None, look: pd.Timestamp) -> np.ndarray:
    """Which rows of the outcomes (computed at a later analysis date) had a closed window at the
    end of ``look`` (:func:`leadnb.asof.day_end`, as the readout's maturity): their 0/1 outcome
    is the same then as now. An outcome column has no window: a row counts once assigned."""
    known = frame["converted"].notna().to_numpy()
    if "assigned_at" not in frame.columns:
        return known
    elapsed = (asof.day_end(look) - frame["assigned_at"]) / pd.Timedelta(days=1)
    return (elapsed > (window or 0)).fillna(window is None).to_numpy(bool) & known


@dataclasses.dataclass(frozen=True)
class _Data:
    """The counted leads of one metric, as arrays (one row per lead)."""

    y: np.ndarray
    arm: np.ndarray
    x: np.ndarray | None  # covariate matrix (numeric), None without covariates
    groups: np.ndarray | None  # account per lead for an account unit (codes, see _data)
    rows: pd.DataFrame  # the counted rows of the plan frame


def _data(
    frame: pd.DataFrame, reg: Registration, cov: Sequence[str]
) -> tuple[_Data, tuple[str, ...]]:
    known = frame.loc[frame["converted"].notna() & frame["variant"].isin(list(reg.arms))]
    if "prior" in known.columns:
        known = known.loc[~known["prior"].astype(bool)]
    notes: tuple[str, ...] = ()
    x = None
    if cov:
        xm, notes = adjust.covariate_matrix(known, list(cov))
        x = xm.to_numpy() if xm.shape[1] else None
    groups = None
    if reg.unit == "account":
        acc = known["account_id"].astype("string")
        own = "lead:" + known["lead_id"].astype(str)
        text = acc.astype(object).where(acc.notna(), own).astype(str)
        # integer codes numbered in the accounts' text order: every count of distinct accounts
        # (np.unique, once per look of a sequential plan) sorts integers instead of strings,
        # and the cluster-robust fit (adjust.lin_estimate numbers its groups in sorted order)
        # sums the clusters in the same order as from the text, so its numbers are unchanged
        groups = pd.factorize(text, sort=True)[0].astype("int64")
    return (
        _Data(
            y=known["converted"].to_numpy(float),
            arm=known["variant"].astype(str).to_numpy(),
            x=x,
            groups=groups,
            rows=known,
        ),
        notes,
    )


def _estimate(d: _Data, sel: np.ndarray, reg: Registration, variant: str) -> tuple[float, float]:
    """The registered estimate of ``variant - control`` on the rows ``sel`` and its standard
    error: adjusted when covariates are declared, cluster-robust for accounts, else the plain
    difference with the smoothed binomial error."""
    c = sel & (d.arm == reg.control)
    v = sel & (d.arm == variant)
    n_c, n_v = int(c.sum()), int(v.sum())
    if n_c == 0 or n_v == 0:
        return _NAN, _NAN
    x_c, x_v = float(d.y[c].sum()), float(d.y[v].sum())
    plain = x_v / n_v - x_c / n_c
    smooth = float(smoothed_se(x_c, n_c, x_v, n_v))
    if d.x is None and d.groups is None:
        return plain, smooth
    pair = c | v
    if not _estimable(d, pair):  # too few leads or accounts for a robust standard error
        return plain, smooth * math.sqrt(_deff(d, pair))
    est = adjust.lin_estimate(
        d.y[pair],
        v[pair].astype(float),
        None if d.x is None else d.x[pair],
        groups=None if d.groups is None else d.groups[pair],
    )
    if d.x is not None and np.isfinite(est.diff_adj) and est.se_adj > 0:
        return float(est.diff_adj), float(est.se_adj)
    se = float(est.se)
    if not (np.isfinite(se) and se > 0):  # no conversion yet in an arm: the smoothed error
        se = smooth * math.sqrt(_deff(d, pair))
    return float(est.diff), se


def _estimable(d: _Data, pair: np.ndarray) -> bool:
    """OLS with robust errors needs more rows than its two coefficients and, clustered, two
    accounts at least (statsmodels divides by ``n - k`` and ``G - 1``)."""
    if int(pair.sum()) < 3:
        return False
    return d.groups is None or _accounts(d.groups[pair]) >= 2


def _accounts(codes: np.ndarray) -> int:
    """How many accounts among ``codes`` (the non-negative codes of :attr:`_Data.groups`):
    counted, not sorted, at every look of a sequential plan."""
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


def _deff(d: _Data, pair: np.ndarray) -> float:
    """Mean leads per account among ``pair`` (a conservative design effect with ICC 1)."""
    if d.groups is None:
        return 1.0
    g = d.groups[pair]
    return max(len(g) / max(_accounts(g), 1), 1.0)


def sequential_history(
    frame: pd.DataFrame,
    reg: Registration,
    as_of: pd.Timestamp,
    *,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Every weekly look of a sequential plan up to ``as_of``, recomputed from the outcomes.

    A lead counts at a look when its window had closed by the end of that day
    (:func:`_mature_at`); its outcome then is the one known now, and the covariates are made
    numeric from that look's leads, so a look reads the same in every later run as in the run
    on its own date (the stop rule's "at most once" rests on it). At each look and for each
    variant: the registered estimate (:func:`_estimate`), the confidence sequence
    ``estimate ± c(n) · se`` with ``n`` the counted leads of the two arms and ``c`` tuned at the
    planned n (:func:`~leadnb.experiments.sequential.planned_total`) at the registered alpha
    split over the variants, and the always-valid p-value.

    Parameters
    ----------
    frame
        The plan frame (:func:`plan_frame`) of the primary metric at ``as_of``.
    reg
        The registration (``analysis: sequential``).
    as_of
        The analysis date (the last look).
    covariates
        The covariates in use (the registration's).

    Returns
    -------
    pandas.DataFrame
        :data:`HISTORY_COLUMNS`, looks in date order (:func:`look_dates`); NaN numbers (and
        ``excludes_zero`` False) at a look without a counted lead in an arm.
    """
    window = reg.primary_metric.window_days
    alpha = adjusted_alpha(reg.alpha, len(reg.arms), reg.correction)
    rows = []
    for look in look_dates(reg, as_of):
        # the look as a run on that date reads it: its counted leads, its covariate matrix
        d, _ = _data(frame.loc[_mature_at(frame, window, look)], reg, covariates)
        sel = np.ones(len(d.y), dtype=bool)
        for v in reg.variants:
            rho = mixing_rho(planned_total(reg, v), alpha)
            n = int((sel & ((d.arm == v) | (d.arm == reg.control))).sum())
            est, se = _estimate(d, sel, reg, v)
            c = float(critical_value(n, rho=rho, alpha=alpha)) if n > 0 else _NAN
            p = float(always_valid_p(est / se, n, rho=rho)) if n > 0 and se > 0 else _NAN
            lo, hi = est - c * se, est + c * se
            rows.append(
                {
                    "look": look,
                    "week": _week(reg, look),
                    "variant": v,
                    "n": n,
                    "estimate": est,
                    "se": se,
                    "critical_value": c,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                    "excludes_zero": bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
                }
            )
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def first_stop(history: pd.DataFrame) -> pd.Series | None:
    """The first look (and variant) whose interval excluded 0, or None.

    Examples
    --------
    >>> h = pd.DataFrame({"look": pd.to_datetime(["2026-02-01", "2026-02-08", "2026-02-15"]),
    ...     "week": [4, 5, 6], "variant": "b", "excludes_zero": [False, True, True]})
    >>> first_stop(h)["week"]
    np.int64(5)
    """
    hit = history.loc[history["excludes_zero"].astype(bool)]
    if hit.empty:
        return None
    return hit.sort_values(["look"], kind="stable").iloc[0]


# --------------------------------------------------------------------------------------------
# The plan carried out


@dataclasses.dataclass(frozen=True)
class PlanResult:
    """What the registration's plan added to one metric's readout (:func:`carry_out`)."""

    #: one row per arm (control first): :data:`PLAN_COLUMNS` and the overridden comparison
    #: columns (diff, its interval, p_value, p_adjusted, srm_p_value; NaN where unchanged)
    columns: pd.DataFrame
    analysis: str = "fixed"
    unit: str = "lead"
    always_valid: bool = False
    #: this look is the first whose interval excludes 0 (sequential plans only)
    stop_recommended: bool = False
    #: an earlier look already excluded 0: when, at which week, for which variant
    stopped_at: pd.Timestamp | None = None
    stopped_week: int | None = None
    stop_variant: str | None = None
    #: the registered decision statistic per variant: estimate, low, high, p
    decision: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    adjusted: Adjusted | None = None
    segments: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    contamination: Contamination | None = None
    history: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    icc: float = _NAN
    mean_account_size: float = _NAN
    #: sample ratio check on accounts (account units; NaN for leads)
    srm_p_value: float = _NAN
    notes: tuple[str, ...] = ()

    @property
    def stop_text(self) -> str:
        """:func:`stop_sentence` of this result."""
        return stop_sentence(self)


def ci_method(analysis: str, unit: str) -> str:
    """The ``ci_method`` of an ``ab_results`` row.

    Examples
    --------
    >>> ci_method("fixed", "lead"), ci_method("sequential", "lead")
    ('Newcombe', 'asymptotic confidence sequence')
    >>> ci_method("sequential", "account")
    'asymptotic confidence sequence (cluster-robust by account)'
    """
    if analysis == "sequential":
        return CI_METHOD + (" (cluster-robust by account)" if unit == "account" else "")
    return "cluster-robust t (by account)" if unit == "account" else "Newcombe"


def carry_out(
    outcomes: pd.DataFrame,
    reg: Registration,
    as_of: pd.Timestamp,
    *,
    primary: bool = True,
    leads: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    wide: pd.DataFrame | None = None,
) -> PlanResult:
    """Carry out the registration's analysis plan on one metric's per-lead outcomes.

    Parameters
    ----------
    outcomes
        Per-lead outcomes of the metric (:func:`~leadnb.experiments.outcomes.metric_outcomes`),
        the experiment's analysable rows.
    reg
        The registration: analysis, unit, covariates, segments, alpha, planned n.
    as_of
        The analysis date.
    primary
        The registration's primary metric: covariates, segments, contamination and the stop
        rule apply to it only (a guardrail gets the plan's interval and unit).
    leads, events, wide
        The leads table, the events table, the wide stage dates (where declared columns are
        found; None when the run has none).

    Returns
    -------
    PlanResult

    Raises
    ------
    ParamsError
        A declared covariate or segment is measured after assignment (stage dates, outcomes, a
        timestamp later than ``assigned_at``) or is not in the data: the message names the
        registration file, the experiment and the column.
    """
    as_of = pd.Timestamp(as_of)
    cov = list(reg.covariates) if primary else []
    segs = list(reg.segments) if primary else []
    probe = dataclasses.replace(reg, covariates=tuple(cov), segments=tuple(segs))
    frame, stage_cols = plan_frame(outcomes, probe, leads=leads, events=events, wide=wide)
    post = [
        *stage_cols,
        *(c for c in (wide.columns if wide is not None else []) if c.endswith("_at")),
    ]
    for what, names in (("covariate", cov), ("segment", segs)):
        adjust.check_pre_assignment(
            frame,
            names,
            experiment_id=reg.id,
            what=what,  # type: ignore[arg-type]
            post_assignment=[p for p in post if p != "assigned_at"],
            file=reg.file,
        )
    arms = list(reg.arms)
    notes: list[str] = []
    adj = None
    d, _ = _data(frame, reg, cov)
    ok = all(_estimable(d, (d.arm == reg.control) | (d.arm == v)) for v in reg.variants)
    if (cov or reg.unit == "account") and not ok:
        notes.append(
            "too few leads (or accounts) counted for the adjusted or cluster-robust estimate: "
            "not computed at this look"
        )
    if (cov or reg.unit == "account") and ok:
        adj = adjust.adjusted_results(
            frame.loc[~frame["prior"].astype(bool)] if "prior" in frame.columns else frame,
            control=reg.control,
            variants=list(reg.variants),
            experiment_id=reg.id,
            covariates=cov,
            unit=reg.unit,
            alpha=reg.alpha,
            file=reg.file,
        )
        notes.extend(adj.notes)
    cols = pd.DataFrame({"variant": arms})
    cols["analysis"] = reg.analysis
    cols["ci_method"] = ci_method(reg.analysis, reg.unit)
    cols["always_valid"] = reg.analysis == "sequential"
    cols["unit"] = reg.unit
    if reg.unit == "account" and d.groups is not None:
        cols["n_units"] = [_accounts(d.groups[d.arm == a]) for a in arms]
    else:
        cols["n_units"] = [int((d.arm == a).sum()) for a in arms]
    for c in ("diff_adj", "diff_adj_ci_low", "diff_adj_ci_high", "variance_reduction"):
        cols[c] = _NAN
    for c in ("diff", "diff_ci_low", "diff_ci_high", "p_value"):
        cols[c] = _NAN  # NaN: the readout keeps its own
    cols["stop_recommended"] = False
    if adj is not None:
        t = adj.table.set_index("variant")
        for c in ("diff_adj", "diff_adj_ci_low", "diff_adj_ci_high", "variance_reduction"):
            cols[c] = t[c].reindex(arms).to_numpy(float)
        if reg.unit == "account" and reg.analysis == "fixed":
            cols["diff"] = t["diff_unadj"].reindex(arms).to_numpy(float)
            cols["diff_ci_low"] = t["diff_unadj_ci_low"].reindex(arms).to_numpy(float)
            cols["diff_ci_high"] = t["diff_unadj_ci_high"].reindex(arms).to_numpy(float)
            se = t["se_unadj"].reindex(arms).to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                from scipy import stats

                g = max(_accounts(d.groups) - 1, 1) if d.groups is not None else 1
                cols["p_value"] = 2 * stats.t.sf(np.abs(cols["diff"].to_numpy() / se), g)
    # the decision statistic: adjusted when declared, the plan's interval otherwise
    decision = []
    history = pd.DataFrame(columns=HISTORY_COLUMNS)
    stop_now, stopped = False, None
    if reg.analysis == "sequential":
        history = sequential_history(frame, reg, as_of, covariates=cov)
        now = history.loc[history["look"] == history["look"].max()].set_index("variant")
        for v in reg.variants:
            r = now.loc[v]
            decision.append((v, r["estimate"], r["ci_low"], r["ci_high"], r["p_value"]))
            i = arms.index(v)
            if cov and np.isfinite(r["estimate"]):  # the adjusted interval is the sequence's
                cols.loc[i, ["diff_adj_ci_low", "diff_adj_ci_high"]] = [r["ci_low"], r["ci_high"]]
                cols.loc[i, "diff_adj"] = r["estimate"]
                plain = _sequence_unadjusted(frame, reg, as_of, v)
                cols.loc[i, ["diff", "diff_ci_low", "diff_ci_high", "p_value"]] = plain
            else:
                cols.loc[i, ["diff", "diff_ci_low", "diff_ci_high", "p_value"]] = [
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["p_value"],
                ]
        if primary:
            first = first_stop(history)
            if first is not None:
                if pd.Timestamp(first["look"]) == history["look"].max():
                    stop_now = True
                    cols.loc[cols["variant"] == first["variant"], "stop_recommended"] = True
                else:
                    stopped = first
    else:
        for v in reg.variants:
            i = arms.index(v)
            if cov and np.isfinite(cols.loc[i, "diff_adj"]):
                t = adj.table.set_index("variant") if adj is not None else None
                p = float(t.loc[v, "p_value_adj"]) if t is not None else _NAN
                decision.append(
                    (v, cols.loc[i, "diff_adj"], cols.loc[i, "diff_adj_ci_low"],
                     cols.loc[i, "diff_adj_ci_high"], p)
                )  # fmt: skip
            elif np.isfinite(cols.loc[i, "diff"]):
                decision.append(
                    (v, cols.loc[i, "diff"], cols.loc[i, "diff_ci_low"],
                     cols.loc[i, "diff_ci_high"], cols.loc[i, "p_value"])
                )  # fmt: skip
    dec = pd.DataFrame(decision, columns=["variant", "estimate", "ci_low", "ci_high", "p_value"])
    seg = pd.DataFrame()
    if segs:
        seg = adjust.segment_breakdown(
            frame.loc[~frame["prior"].astype(bool)] if "prior" in frame.columns else frame,
            segs,
            experiment_id=reg.id,
            control=reg.control,
            variants=list(reg.variants),
            alpha=reg.alpha,
            post_assignment=[p for p in post if p != "assigned_at"],
            file=reg.file,
        )
        if reg.unit == "account":
            notes.append(
                "segment intervals count leads as independent (not clustered by account): read "
                "them as exploratory"
            )
    contam = None
    if primary and reg.unit == "lead" and "account_id" in frame.columns:
        contam = adjust.contamination(frame)
    srm = _NAN
    if reg.unit == "account":
        srm = adjust.srm_on_units(frame, reg.allocation)
    icc, m_size = _NAN, _NAN
    if reg.unit == "account" and d.groups is not None and len(d.y):
        icc = adjust.icc_anova(d.y, d.groups)
        m_size = len(d.groups) / _accounts(d.groups)
    return PlanResult(
        columns=cols,
        analysis=reg.analysis,
        unit=reg.unit,
        always_valid=reg.analysis == "sequential",
        stop_recommended=stop_now,
        stopped_at=None if stopped is None else pd.Timestamp(stopped["look"]),
        stopped_week=None if stopped is None else int(stopped["week"]),
        stop_variant=None if stopped is None else str(stopped["variant"]),
        decision=dec,
        adjusted=adj,
        segments=seg,
        contamination=contam,
        history=history,
        icc=icc,
        mean_account_size=m_size,
        srm_p_value=srm,
        notes=tuple(notes),
    )


def _sequence_unadjusted(
    frame: pd.DataFrame, reg: Registration, as_of: pd.Timestamp, variant: str
) -> list[float]:
    """The unadjusted look of the confidence sequence at ``as_of`` (diff, low, high, p)."""
    d, _ = _data(frame, reg, [])
    sel = _mature_at(d.rows, reg.primary_metric.window_days, as_of)
    alpha = adjusted_alpha(reg.alpha, len(reg.arms), reg.correction)
    rho = mixing_rho(planned_total(reg, variant), alpha)
    n = int((sel & ((d.arm == variant) | (d.arm == reg.control))).sum())
    est, se = _estimate(d, sel, reg, variant)
    if not n or not np.isfinite(se):
        return [_NAN] * 4
    c = float(critical_value(n, rho=rho, alpha=alpha))
    return [est, est - c * se, est + c * se, float(always_valid_p(est / se, n, rho=rho))]


def stop_sentence(plan: PlanResult) -> str:
    """The plan's stopping status in one clause; empty for a fixed-horizon plan.

    Examples
    --------
    >>> cols = pd.DataFrame({"variant": ["a"]})
    >>> stop_sentence(PlanResult(columns=cols, analysis="sequential", always_valid=True,
    ...     stopped_at=pd.Timestamp("2026-03-16"), stopped_week=10, stop_variant="b"))
    'the sequential test stopped at week 10 (2026-03-16), when the interval for b first excluded 0: the decision was due then, later looks are for information'
    >>> stop_sentence(PlanResult(columns=cols))
    ''
    """
    if plan.analysis != "sequential":
        return ""
    if plan.stopped_at is not None:
        return (
            f"the sequential test stopped at week {plan.stopped_week} "
            f"({plan.stopped_at:%Y-%m-%d}), when the interval for {plan.stop_variant} first "
            "excluded 0: the decision was due then, later looks are for information"
        )
    if plan.stop_recommended:
        return (
            "the sequential test may stop now: its always-valid interval excludes 0 for the "
            "first time"
        )
    return (
        "sequential plan: the interval is valid at every weekly look; keep going until it "
        "excludes 0 or the planned n is reached"
    )


def account_design(n_per_arm: float, plan: PlanResult) -> adjust.ClusteredSize | None:
    """The design effect of randomising accounts, from the ICC and account size the plan
    measured: the fixed-horizon n per arm inflated by ``1 + (m - 1) * ICC``
    (:func:`leadnb.experiments.adjust.clustered_sample_size`; a negative ICC counts as 0).

    Returns None for a lead unit, or without a usable n, ICC or account size.

    Examples
    --------
    >>> cols = pd.DataFrame({"variant": ["a"]})
    >>> s = account_design(2108, PlanResult(columns=cols, unit="account", icc=0.03,
    ...                                     mean_account_size=3.1))
    >>> round(s.design_effect, 3), s.n_leads_per_arm, s.n_accounts_per_arm
    (1.063, 2241, 723)
    """
    if plan.unit != "account" or not (n_per_arm and np.isfinite(n_per_arm)):
        return None
    if not (np.isfinite(plan.icc) and np.isfinite(plan.mean_account_size)):
        return None
    icc = min(max(float(plan.icc), 0.0), 0.99)
    return adjust.clustered_sample_size(
        int(n_per_arm), mean_size=max(float(plan.mean_account_size), 1.0), icc=icc
    )


def account_design_text(size: adjust.ClusteredSize, n_per_arm: int) -> str:
    """The design section's sentence on the cost of randomising accounts.

    Examples
    --------
    >>> s = adjust.clustered_sample_size(2108, mean_size=3.1, icc=0.03)
    >>> account_design_text(s, 2108)  # doctest: +NORMALIZE_WHITESPACE
    'Randomising accounts (3.1 leads each, intra-class correlation 0.030): design effect 1.06×,
     so 2,241 leads per group (723 accounts) instead of 2,108.'
    """
    return (
        f"Randomising accounts ({size.mean_size:.1f} leads each, intra-class correlation "
        f"{size.shown('icc')}): design effect {size.shown('design_effect')}, so "
        f"{size.shown('n_leads_per_arm')} leads per group ({size.shown('n_accounts_per_arm')} "
        f"accounts) instead of {n_per_arm:,}."
    )
