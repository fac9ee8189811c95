"""The nurture holdout: incremental SQLs and cost per incremental SQL from a randomised experiment.

Design. Some leads are randomly kept out of the nurture programme (or given the cheaper track);
the difference in SQL rates between the arms is caused by the programme, whatever the season or
the lead mix, so this is the preferred measure of the nurture ROI notebook (the before/after
comparison of :mod:`leadnb.roi.effect` is a plausibility check). The experiment is named in
the params file's ``roi.holdout`` (:class:`~leadnb.experiments.registration.HoldoutConfig`);
when it is also registered in the ``experiments`` section, the A/B readout's rule decides whether a look is
interim (:func:`holdout_interim`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.asof import date_text
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.experiments.assignments import prepare_assignments
from leadnb.experiments.comparisons import compare_arms
from leadnb.experiments.outcomes import outcomes_from_stages
from leadnb.experiments.readout import is_interim
from leadnb.experiments.registration import HoldoutConfig
from leadnb.results import Kind, Result, format_value, value

FINAL = "randomised holdout: preferred measure"
INTERIM = "randomised holdout, interim: not a final result"


@dataclass(frozen=True)
class HoldoutResult(Result):
    """Randomised nurture comparison: the preferred measure of incremental SQLs.

    Outcome: reached the qualified stage within ``window_days`` of assignment; only assignments
    known on ``as_of`` whose window ended by then, and leads not already qualified when assigned.
    ``diff`` is the treatment minus control rate with a Newcombe interval (statsmodels
    ``confint_proportions_2indep``); cost per incremental SQL = cost per treated lead / diff, its
    interval the same transformation of the diff interval (upper end infinite when the diff
    interval reaches 0).

    ``interim`` (with ``interim_reason``) follows the A/B readout's rule when the experiment is
    registered (enrolment still open, or an arm below its planned n: see
    :func:`holdout_interim`); without a registration, while any assignment's window is still open
    or assignment goes on after ``as_of``. An interim result is not a final one.
    """

    experiment_id: str = value(Kind.TEXT, "the experiment (roi.holdout.experiment_id)")
    control_variant: str = value(Kind.TEXT, "the no-nurture (or cheaper) arm")
    treatment_variant: str = value(Kind.TEXT, "the nurtured arm")
    n_control: int = value(Kind.COUNT, "control leads with a closed window")
    sql_control: int = value(Kind.COUNT, "of which qualified within the window")
    rate_control: float = value(Kind.RATE, "control SQL rate")
    n_treatment: int = value(Kind.COUNT, "treated leads with a closed window")
    sql_treatment: int = value(Kind.COUNT, "of which qualified within the window")
    rate_treatment: float = value(Kind.RATE, "treatment SQL rate")
    diff: float = value(Kind.POINTS, "treatment rate minus control rate")
    diff_ci_low: float = value(Kind.POINTS, "Newcombe interval, low")
    diff_ci_high: float = value(Kind.POINTS, "Newcombe interval, high")
    incremental_sqls: float = value(Kind.COUNT, "diff x treated leads")
    cost_per_treated_lead: float | None = value(Kind.MONEY, "extra cost of treating one lead")
    cost_per_incremental_sql: float = value(Kind.MONEY, "cost per treated lead / diff")
    cost_per_incremental_sql_ci_low: float = value(Kind.MONEY, "from the diff's interval, low")
    cost_per_incremental_sql_ci_high: float = value(Kind.MONEY, "from the diff's interval, high")
    excluded_already_qualified: int = value(Kind.COUNT, "leads qualified before assignment")
    excluded_immature: int = value(Kind.COUNT, "assignments whose window is still open")
    interim: bool = value(Kind.FLAG, "an interim look, not a final result", default=False)
    interim_reason: str = value(Kind.TEXT, "why the look is interim", default="")
    label: str = value(Kind.TEXT, "what kind of estimate this is", default=FINAL)


def _closed_from(window_end: pd.Timestamp) -> pd.Timestamp:
    """The first analysis date by whose end a window ending at ``window_end`` has closed
    (``window_end < asof.day_end(as_of)``)."""
    return (pd.Timestamp(window_end) - asof.ONE_DAY).floor("D") + asof.ONE_DAY


def holdout_interim(
    assignments: pd.DataFrame,
    holdout: HoldoutConfig,
    as_of: pd.Timestamp,
    registration: Any = None,
) -> tuple[bool, str]:
    """Whether a holdout readout on ``as_of`` is interim, and why.

    With the experiment's :class:`~leadnb.experiments.registration.Registration`, the A/B
    readout's own rule (:func:`leadnb.experiments.readout.is_interim`): interim while enrolment is
    open (``as_of`` before the registered ``end``) or an arm has fewer enrolled leads than planned,
    the arms counted as the A/B readout counts them
    (:func:`leadnb.experiments.assignments.prepare_assignments`). Without one: interim while any
    assignment known on ``as_of`` has a window still open at the end of that day, or the table
    holds assignments dated after ``as_of`` (assignment still going on).

    Parameters
    ----------
    assignments
        The assignments table (``experiment_id``, ``variant``, ``assigned_at``).
    holdout
        ``roi.holdout``.
    as_of
        The analysis date.
    registration
        The experiment's registration, or ``None``.

    Returns
    -------
    tuple of (bool, str)
        Interim or not, and the reason (``""`` when final).

    Examples
    --------
    >>> from leadnb.experiments.registration import HoldoutConfig
    >>> a = pd.DataFrame({"lead_id": ["a", "b"], "experiment_id": "x", "variant": ["c", "t"],
    ...     "assigned_at": pd.to_datetime(["2025-01-01", "2025-03-20"])})
    >>> holdout_interim(a, HoldoutConfig("x", "c", window_days=30), pd.Timestamp("2025-03-31"))
    (True, "1 assignment's 30-day window is still open (the last closes on 2025-04-19)")
    """
    as_of = pd.Timestamp(as_of)
    if registration is not None:
        clean, _ = prepare_assignments(assignments, registration, as_of)
        n = clean.groupby("variant").size().reindex(list(registration.arms), fill_value=0)
        counts = pd.DataFrame({"variant": n.index, "n_enrolled": n.to_numpy()})
        # the A/B readout's rule, not a copy of it
        return is_interim(registration, counts, as_of)
    x = assignments.loc[assignments["experiment_id"] == holdout.experiment_id]
    at = x["assigned_at"]
    known = asof.known(at, as_of)
    ends = at[known] + pd.Timedelta(days=holdout.window_days)
    open_ = ends >= asof.day_end(as_of)
    why = []
    n_open = int(open_.sum())
    if n_open:
        windows = (
            "assignment's {}-day window is" if n_open == 1 else "assignments' {}-day windows are"
        )
        why.append(
            f"{format_value(n_open, Kind.COUNT)} {windows.format(holdout.window_days)} still open "
            f"(the last closes on {date_text(_closed_from(ends.max()))})"
        )
    later = int((at.notna() & ~known).sum())
    if later:
        why.append(
            f"assignment goes on after {date_text(as_of)} "
            f"({format_value(later, Kind.COUNT)} later assignment{'' if later == 1 else 's'})"
        )
    return bool(why), "; ".join(why)


def holdout_incremental(
    stage_dates: pd.DataFrame,
    assignments: pd.DataFrame,
    holdout: HoldoutConfig,
    as_of: pd.Timestamp,
    *,
    qualified_stage: str = "sql",
    alpha: float = 0.05,
    registration: Any = None,
) -> HoldoutResult:
    """Incremental SQLs and cost per incremental SQL from a randomised nurture holdout.

    The outcome and the comparison are the A/B report's own:
    :func:`leadnb.experiments.outcomes.outcomes_from_stages` (reached the qualified stage within
    ``window_days`` of assignment; mature once the window has closed; leads already qualified
    when assigned are left out) and :func:`leadnb.experiments.comparisons.compare_arms` (the
    difference with its Newcombe interval). Cost per incremental SQL = cost per treated lead /
    diff; its interval is the same transformation of the diff interval (upper end infinite when
    the diff interval reaches 0).

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (``lead_id``, ``<qualified_stage>_at``).
    assignments
        The assignments table (``lead_id``, ``experiment_id``, ``variant``, ``assigned_at``).
    holdout
        ``roi.holdout``: experiment, arms, window, cost per treated lead.
    as_of
        The analysis date.
    qualified_stage
        The SQL stage.
    alpha
        1 - the intervals' coverage.
    registration
        The experiment's :class:`~leadnb.experiments.registration.Registration`, if any: it
        sets the interim rule (:func:`holdout_interim`).

    Returns
    -------
    HoldoutResult
        Counts and rates per arm, the diff with its interval, incremental SQLs, cost per
        incremental SQL with its interval, what was left out, and whether the look is interim.

    Raises
    ------
    NotEnoughData
        When the experiment has no rows in the assignments table, has only one arm, or has no
        closed window in an arm yet (the sentence names the first run date with one).
    DataError
        When a configured variant is not among two or more variants present.

    Examples
    --------
    >>> from leadnb.experiments.registration import HoldoutConfig
    >>> a = pd.DataFrame({"lead_id": list("abcdef"), "experiment_id": "x",
    ...     "variant": ["c", "c", "c", "t", "t", "t"],
    ...     "assigned_at": pd.Timestamp("2025-01-01")})
    >>> sd = pd.DataFrame({"lead_id": list("abcdef"),
    ...     "sql_at": pd.to_datetime([None, None, "2025-01-05", "2025-01-03", "2025-01-20", None])})
    >>> h = holdout_incremental(sd, a, HoldoutConfig("x", "c", cost_per_treated_lead=2.0),
    ...                         pd.Timestamp("2025-03-31"))
    >>> h.treatment_variant, h.rate_control, h.rate_treatment, round(h.cost_per_incremental_sql, 2)
    ('t', 0.3333333333333333, 0.6666666666666666, 6.0)
    """
    require_columns(
        assignments, ["lead_id", "experiment_id", "variant", "assigned_at"], table="assignments"
    )
    as_of = pd.Timestamp(as_of)
    eid = holdout.experiment_id
    w = pd.Timedelta(days=holdout.window_days)
    every = assignments.loc[assignments["experiment_id"] == eid]
    if every.empty:
        ids = assignments["experiment_id"].dropna().drop_duplicates().astype(str).head(5)
        listed = f" (it holds {', '.join(ids)})" if len(ids) else " (it is empty)"
        raise NotEnoughData(
            f"experiment {eid!r} (roi.holdout.experiment_id) has no rows in the assignments "
            f"table{listed}",
            "the holdout result appears once its assignments are loaded, or set "
            "roi.holdout.experiment_id to the experiment that holds leads out of nurturing",
        )

    def ready(rows: pd.DataFrame) -> str:
        """'it appears in the run of D or later', D the first date every arm has a closed window."""
        firsts = (rows["assigned_at"] + w).groupby(rows["variant"]).min().dropna()
        if len(firsts) < 2:
            return "it appears once both arms have assignments"
        return f"it appears in the run of {date_text(_closed_from(firsts.max()))} or later"

    x = every.loc[asof.known(every["assigned_at"], as_of)]
    all_variants = every["variant"].dropna().drop_duplicates().tolist()
    variants = x["variant"].dropna().drop_duplicates().tolist()
    treat = holdout.treatment_variant
    if treat is None:
        others = [v for v in all_variants if v != holdout.control_variant]
        treat = others[0] if len(others) == 1 else None
    arms = {"control_variant": holdout.control_variant, "treatment_variant": treat}
    absent = {k: v for k, v in arms.items() if v is None or v not in all_variants}
    if absent and len(all_variants) >= 2:
        key, v = next(iter(absent.items()))
        raise DataError(
            f"variant {v!r} (roi.holdout.{key}) is not in experiment {eid!r}",
            table="assignments",
            column="variant",
            rows=pd.DataFrame({"variant": all_variants}),
            fix=f"set roi.holdout.{key} to one of: {', '.join(map(str, all_variants))}",
        )
    if absent:
        raise NotEnoughData(
            f"experiment {eid!r} has one arm only ({', '.join(map(str, all_variants))}): the "
            f"holdout compares {holdout.control_variant!r} with a treated arm",
            "it appears once both arms have assignments",
        )
    if x.empty or len(set(variants) & {holdout.control_variant, treat}) < 2:
        first = every["assigned_at"].min()
        dated = (
            "no assignment has an assigned_at date"
            if pd.isna(first)
            else f"its first assignment is dated {date_text(first)}"
        )
        raise NotEnoughData(
            f"experiment {eid!r} has not assigned leads to both arms by {date_text(as_of)} ({dated})",
            ready(every.loc[every["variant"].isin([holdout.control_variant, treat])]),
        )
    # the A/B outcome: reached the stage within the window of assignment, known by as_of
    x = outcomes_from_stages(x, stage_dates, qualified_stage, holdout.window_days, as_of)
    mature, already = x["mature"], x["prior"]
    keep = mature & ~already
    y = x.loc[keep]
    hit = y["converted"] == 1
    arm = y["variant"]
    n_c = int((arm == holdout.control_variant).sum())
    n_t = int((arm == treat).sum())
    k_c = int(hit[arm == holdout.control_variant].sum())
    k_t = int(hit[arm == treat].sum())
    if n_c == 0 or n_t == 0:
        empty = holdout.control_variant if n_c == 0 else treat
        in_arm = x["variant"] == empty
        if not (in_arm & ~already).any():
            raise NotEnoughData(
                f"every lead of arm {empty!r} of experiment {eid!r} assigned by {date_text(as_of)} had "
                f"already reached {qualified_stage} when assigned, so the arm has no outcome",
                "the holdout result appears once the experiment assigns leads not yet qualified",
            )
        eligible = every.loc[every["variant"].isin([holdout.control_variant, treat])]
        eligible = eligible.loc[~eligible["lead_id"].isin(x.loc[already, "lead_id"])]
        raise NotEnoughData(
            f"no {holdout.window_days}-day window of arm {empty!r} of experiment {eid!r} has "
            f"closed by {date_text(as_of)}",
            f"the holdout result needs one in each arm; {ready(eligible)}",
        )
    ab = compare_arms(k_c, n_c, k_t, n_t, alpha=alpha)  # the A/B comparison, control first
    diff, low, high = ab.diff, ab.diff_ci_low, ab.diff_ci_high
    cost = holdout.cost_per_treated_lead
    if cost is None:
        cpi, cpi_ci = np.nan, (np.nan, np.nan)
    else:
        cpi = cost / diff if diff > 0 else math.inf
        cpi_ci = (
            cost / high if high > 0 else math.inf,
            cost / low if low > 0 else math.inf,
        )
    interim, why = holdout_interim(assignments, holdout, as_of, registration)
    return HoldoutResult(
        experiment_id=eid,
        control_variant=holdout.control_variant,
        treatment_variant=str(treat),
        n_control=n_c,
        sql_control=k_c,
        rate_control=k_c / n_c,
        n_treatment=n_t,
        sql_treatment=k_t,
        rate_treatment=k_t / n_t,
        diff=diff,
        diff_ci_low=float(low),
        diff_ci_high=float(high),
        incremental_sqls=diff * n_t,
        cost_per_treated_lead=cost,
        cost_per_incremental_sql=float(cpi),
        cost_per_incremental_sql_ci_low=float(cpi_ci[0]),
        cost_per_incremental_sql_ci_high=float(cpi_ci[1]),
        excluded_already_qualified=int((mature & already).sum()),
        excluded_immature=int((~mature).sum()),
        interim=interim,
        interim_reason=why,
        label=INTERIM if interim else FINAL,
    )


def holdout_registration(experiments: Any, holdout: HoldoutConfig | None) -> Any:
    """The registration of the holdout's experiment in the ``experiments`` section.

    Parameters
    ----------
    experiments
        The parsed ``experiments`` section
        (:class:`~leadnb.experiments.registration.ExperimentsConfig`; anything with
        ``registrations``).
    holdout
        ``roi.holdout``, or ``None``.

    Returns
    -------
    Registration or None
        The registration whose ``id`` is the holdout's experiment; ``None`` when there is no
        holdout or it is not registered.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from leadnb.experiments.registration import HoldoutConfig
    >>> regs = SimpleNamespace(registrations=[SimpleNamespace(id="x"), SimpleNamespace(id="y")])
    >>> holdout_registration(regs, HoldoutConfig("y", "c")).id
    'y'
    >>> holdout_registration(regs, None) is None
    True
    """
    if holdout is None:
        return None
    regs = getattr(experiments, "registrations", ()) or ()
    return next((r for r in regs if r.id == holdout.experiment_id), None)


__all__ = ["HoldoutResult", "holdout_incremental", "holdout_interim", "holdout_registration"]
