"""Per-lead outcomes of an experiment, aware of outcomes that mature slowly, and their per-arm counts.

Design. A lead whose window (assigned_at + window_days) has not closed by ``as_of`` is
*immature*. It is excluded from the fixed-window rate (counting it as a failure biases every
rate down and shrinks the difference; dropping it silently hides it) and counted in
``n_immature``. All leads, immature ones included, enter a per-arm Kaplan-Meier curve of time
from assignment to the stage, censored at as_of and at the window (lifelines). Whether a lead
reached the stage in its window (and whether it was already there before assignment) comes from
:func:`leadnb.funnel.stages.reached_within`; maturity is stricter than that helper's ``mature``
(which also counts an early converter of an open window as final): only a closed window counts,
so early converters cannot inflate the rate of an interim look.

Outcomes come from the stage dates (:func:`outcomes_from_stages`) or from a precomputed 0/1
column of the assignments (:func:`outcomes_from_column`); :func:`metric_outcomes` picks the one a
registered metric asks for. :func:`arm_counts` turns them into per-arm counts and Wilson rates
(:func:`leadnb.intervals.wilson`), :func:`km_curves` into time-to-stage curves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.experiments.registration import Metric
from leadnb.funnel.stages import reached_within
from leadnb.intervals import wilson
from leadnb.results import Kind, Result, value

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "KM_COLUMNS",
    "KmShare",
    "arm_counts",
    "km_at",
    "km_curves",
    "first_positions",
    "lookup_first",
    "take_first",
    "metric_outcomes",
    "outcomes_from_column",
    "outcomes_from_stages",
    "rows_of_leads",
]

KM_COLUMNS = ["variant", "day", "at_risk", "converted", "ci_low", "ci_high"]
"""Columns of :func:`km_curves`."""


def outcomes_from_stages(
    assignments: pd.DataFrame,
    wide: pd.DataFrame,
    stage: str,
    window_days: int,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Per assignment: whether the lead reached ``stage`` within ``window_days`` of assigned_at.

    Parameters
    ----------
    assignments
        The experiment's analysable rows (lead_id, variant, assigned_at, ...).
    wide
        The wide stage-date frame (lead_id, ``<stage>_at``; from
        :func:`leadnb.funnel.stages.stage_dates`).
    stage
        The stage the metric counts (``sql`` for "reached sql within 30 days").
    window_days
        The window after assignment.
    as_of
        The analysis date: stage dates after the end of that day count as not reached.

    Returns
    -------
    pandas.DataFrame
        The assignments' columns plus ``days`` (assignment to stage, NaN if not reached),
        ``prior`` (reached before assignment), ``mature`` (window closed by the end of as_of),
        ``converted`` (0/1 for mature leads, NaN for immature ones), and the survival inputs
        ``event`` (reached within the window by as_of) and ``duration`` (days, capped at the
        window and at the end of as_of).

    Raises
    ------
    ParamsError
        ``stage`` is not a column of the stage dates (not a funnel stage).

    Examples
    --------
    >>> asg = pd.DataFrame({"lead_id": ["a", "b", "c"], "variant": "v",
    ...                     "assigned_at": pd.to_datetime(["2026-05-01", "2026-05-01", "2026-06-25"])})
    >>> wide = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...                      "sql_at": pd.to_datetime(["2026-05-11", None, "2026-06-27"])})
    >>> outcomes_from_stages(asg, wide, "sql", 30, pd.Timestamp("2026-06-30"))[
    ...     ["lead_id", "days", "prior", "mature", "converted", "event", "duration"]]
      lead_id  days  prior  mature  converted  event  duration
    0       a  10.0  False    True        1.0   True      10.0
    1       b   NaN  False    True        0.0  False      30.0
    2       c   2.0  False   False        NaN   True       2.0
    """
    require_columns(assignments, ["lead_id", "assigned_at"], table="assignments")
    require_columns(wide, ["lead_id"], table="the stage-date frame")
    col = f"{stage}_at"
    if col not in wide.columns:
        have = [c[:-3] for c in wide.columns if c.endswith("_at") and c != "created_at"]
        raise ParamsError(
            f"metric stage {stage!r} is not a funnel stage (no {col} in the stage dates)",
            fix=f"use one of: {', '.join(have)}",
        )
    as_of = pd.Timestamp(as_of)
    df = assignments.reset_index(drop=True)  # as a left merge numbers the rows
    df[col] = lookup_first(wide["lead_id"], wide[col], df["lead_id"])
    # reached / prior from the funnel helper; maturity is stricter here (see module docstring):
    # a lead is mature only when its whole window has closed, converted or not, so that early
    # converters of an open window do not bias the fixed-window rate upwards.
    rw = reached_within(df, stage, df["assigned_at"], window_days, as_of)
    day = pd.Timedelta(days=1)
    reached = asof.upto(df[col], as_of)
    days = ((reached - df["assigned_at"]) / day).astype(float)
    elapsed = ((asof.day_end(as_of) - df["assigned_at"]) / day).astype(float)
    hit = rw["reached"].to_numpy(bool)
    df["days"] = days
    df["prior"] = rw["prior"].to_numpy(bool)
    df["mature"] = (elapsed > window_days).fillna(False).astype(bool)
    df["converted"] = np.where(df["mature"], hit.astype(float), np.nan)
    df["event"] = hit
    df["duration"] = np.where(
        hit, days.clip(lower=0), np.minimum(elapsed.fillna(0), window_days)
    ).astype(float)
    return df.drop(columns=[col])


def rows_of_leads(wide: pd.DataFrame, lead_ids: pd.Series) -> pd.DataFrame:
    """The rows of ``wide`` whose ``lead_id`` is one of ``lead_ids``, in ``wide``'s order.

    An experiment's few hundred thousand leads looked up once in a million-lead table (the
    stage dates, the leads, the events: one Arrow ``is_in``, per category for a categorical
    key), so that each metric's joins read the experiment's rows only. Every row of a matching
    lead is kept, so the first row per lead (what the joins read) is the same as in ``wide``;
    a missing id keeps the rows with a missing id, as the joins match them.

    Examples
    --------
    >>> w = pd.DataFrame({"lead_id": ["a", "b", "c", "a"], "x": [1, 2, 3, 4]})
    >>> rows_of_leads(w, pd.Series(["a", "c"]))["x"].tolist()
    [1, 3, 4]
    >>> rows_of_leads(w.astype({"lead_id": "category"}), pd.Series(["b"]))["x"].tolist()
    [2]
    """
    from leadnb.arrays import in_set

    keys = wide["lead_id"]
    keep = in_set(keys, lead_ids)
    if lead_ids.isna().any():
        keep |= keys.isna().to_numpy(dtype=bool)
    return wide.loc[keep]


def _arrow(x: pd.Series) -> pa.Array:
    import pyarrow as pa

    a = pa.array(x, from_pandas=True)
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def lookup_first(keys: pd.Series, values: pd.Series, wanted: pd.Series) -> pd.Series:
    """For each of ``wanted``, the value at the first row of ``keys`` equal to it (missing:
    NaN/NaT), in ``wanted``'s order: ``wanted`` left-merged on the first row per key.

    One hash lookup of the wanted keys in ``keys`` (Arrow ``index_in``), no merge of the whole
    stage-date frame: a million leads took a second per metric through ``drop_duplicates`` and
    ``merge``. A missing key matches a missing key, as in a pandas merge. Several columns of
    the same rows: :func:`first_positions` once, then :func:`take_first` per column.

    Examples
    --------
    >>> k = pd.Series(["a", "b", "a"])
    >>> lookup_first(k, pd.Series([1.0, 2.0, 3.0]), pd.Series(["a", "c", "b"])).tolist()
    [1.0, nan, 2.0]
    """
    return take_first(values, first_positions(keys, wanted), wanted.index)


def first_positions(keys: pd.Series, wanted: pd.Series) -> np.ndarray:
    """For each of ``wanted``, the position of the first row of ``keys`` equal to it, -1 where
    none is (a missing key matches a missing key).

    >>> first_positions(pd.Series(["a", "b", "a"]), pd.Series(["a", "c", "b", None])).tolist()
    [0, -1, 1, -1]
    """
    import pyarrow.compute as pc

    k, w = _arrow(keys), _arrow(wanted)
    if w.type != k.type:
        w = w.cast(k.type)
    return pc.index_in(w, value_set=k, skip_nulls=False).fill_null(-1).to_numpy()


def take_first(values: pd.Series, pos: np.ndarray, index: pd.Index) -> pd.Series:
    """``values`` at :func:`first_positions`' ``pos`` (missing where -1), indexed by ``index``.

    >>> take_first(pd.Series([1.0, 2.0]), np.array([1, -1]), pd.Index([7, 8])).tolist()
    [2.0, nan]
    """
    if not len(values):
        return values.iloc[:0].reindex(pd.RangeIndex(len(pos))).set_axis(index)
    out = values.iloc[np.maximum(pos, 0)].where(pos >= 0)
    return out.set_axis(index)


def outcomes_from_column(assignments: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per assignment: a precomputed 0/1 outcome ``column``; empty means not known yet.

    Parameters
    ----------
    assignments
        The experiment's analysable rows, with the outcome column.
    column
        The registered outcome column (``primary_metric: {outcome: outcome}``).

    Returns
    -------
    pandas.DataFrame
        The assignments' columns plus ``converted`` (the outcome as 0.0/1.0, NaN when not known),
        ``mature`` (the outcome is known) and ``prior`` (always False).

    Raises
    ------
    NotEnoughData
        The column is not in the assignments (one sentence with the fix).
    DataError
        The column holds values other than 0, 1 or empty.

    Examples
    --------
    >>> asg = pd.DataFrame({"lead_id": ["a", "b", "c"], "variant": "v", "outcome": [1, 0, None]})
    >>> outcomes_from_column(asg, "outcome")[["converted", "mature", "prior"]]
       converted  mature  prior
    0        1.0    True  False
    1        0.0    True  False
    2        NaN   False  False
    """
    if column not in assignments.columns:
        raise NotEnoughData(
            f"the registered outcome column {column} is not in the assignments table",
            f"add a 0/1 {column} column to the assignments, or register a stage metric",
            table="assignments",
            column=column,
        )
    df = assignments.copy()
    y = pd.to_numeric(df[column], errors="coerce").astype(float)
    bad = y.notna() & ~y.isin([0.0, 1.0])
    if bad.any():
        raise DataError(
            f"outcome column {column!r} has values other than 0, 1 or empty",
            table="assignments",
            column=column,
            rows=df.loc[bad].head(5),
            count=int(bad.sum()),
            fix="code the outcome as 1 (converted), 0 (not converted) or empty (not known yet)",
        )
    df["converted"] = y
    df["mature"] = y.notna()
    df["prior"] = False
    return df


def metric_outcomes(
    assignments: pd.DataFrame, metric: Metric, wide: pd.DataFrame | None, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Per-lead outcomes for a registered metric: from the stage dates or from the outcome column.

    Parameters
    ----------
    assignments
        The experiment's analysable rows.
    metric
        The registered metric: a stage within a window, or an outcome column.
    wide
        The wide stage-date frame, or None when the data has no stage dates.
    as_of
        The analysis date.

    Returns
    -------
    pandas.DataFrame
        :func:`outcomes_from_stages` or :func:`outcomes_from_column` (their columns).

    Raises
    ------
    NotEnoughData
        A stage metric and no stage dates (``wide is None``).

    Examples
    --------
    >>> asg = pd.DataFrame({"lead_id": ["a", "b"], "variant": "v", "outcome": [1, 0]})
    >>> metric_outcomes(asg, Metric(outcome="outcome"), None, pd.Timestamp("2026-06-30"))[
    ...     "converted"].tolist()
    [1.0, 0.0]
    """
    if metric.outcome is not None:
        return outcomes_from_column(assignments, metric.outcome)
    if wide is None:
        raise NotEnoughData(
            f"the metric '{metric.label}' needs stage dates (a stages table or stage date "
            "columns, and the leads' created_at), and the data has none",
            "add data.stages (and leads.created_at) to the params file, or register a 0/1 "
            "outcome column on the assignments as primary_metric: {outcome: outcome}",
        )
    return outcomes_from_stages(
        assignments, wide, metric.stage or "", metric.window_days or 0, as_of
    )


# --------------------------------------------------------------------------------------------
# Per arm: counts and rates, and Kaplan-Meier curves


def arm_counts(outcomes: pd.DataFrame, arms: Sequence[str], *, alpha: float = 0.05) -> pd.DataFrame:
    """Per arm: how many leads were enrolled, set aside and counted, and the rate with its interval.

    Parameters
    ----------
    outcomes
        Per-lead outcomes (:func:`metric_outcomes`): variant, prior, mature, converted.
    arms
        The arms in the order wanted (control first); an arm without a lead gets zeros.
    alpha
        The rate interval is a ``1 - alpha`` Wilson interval (:func:`leadnb.intervals.wilson`).

    Returns
    -------
    pandas.DataFrame
        One row per arm: variant, n_enrolled, n_prior (reached the stage before assignment),
        n_immature (window still open), n (mature leads counted), conversions, rate,
        rate_ci_low, rate_ci_high (NaN where n is 0).

    Examples
    --------
    >>> out = pd.DataFrame({"variant": ["a", "a", "a", "b"], "prior": [False, False, True, False],
    ...                     "mature": [True, True, True, False], "converted": [1.0, 0.0, 1.0, None]})
    >>> arm_counts(out, ["a", "b", "c"])[["variant", "n_enrolled", "n_prior", "n_immature", "n",
    ...                                   "conversions", "rate"]]
      variant  n_enrolled  n_prior  n_immature  n  conversions  rate
    0       a           3        1           0  2            1   0.5
    1       b           1        0           1  0            0   NaN
    2       c           0        0           0  0            0   NaN
    """
    require_columns(
        outcomes, ["variant", "prior", "mature", "converted"], table="the per-lead outcomes"
    )
    g = outcomes.groupby("variant", sort=False)
    base = pd.DataFrame(index=pd.Index(list(arms), name="variant"))
    eligible = outcomes.loc[~outcomes["prior"]]
    mature = eligible.loc[eligible["mature"]]
    base["n_enrolled"] = g.size().reindex(base.index, fill_value=0)
    base["n_prior"] = (
        outcomes.loc[outcomes["prior"]].groupby("variant").size().reindex(base.index, fill_value=0)
    )
    base["n_immature"] = (
        eligible.loc[~eligible["mature"]]
        .groupby("variant")
        .size()
        .reindex(base.index, fill_value=0)
    )
    base["n"] = mature.groupby("variant").size().reindex(base.index, fill_value=0)
    base["conversions"] = (
        mature.groupby("variant")["converted"].sum().reindex(base.index, fill_value=0).round()
    )
    base = base.astype(int)
    n = base["n"].to_numpy()
    x = base["conversions"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        base["rate"] = np.where(n > 0, x / np.maximum(n, 1), np.nan)
    base["rate_ci_low"], base["rate_ci_high"] = wilson(x, n, alpha=alpha)
    return base.reset_index()


def km_curves(outcomes: pd.DataFrame, arms: Sequence[str], *, alpha: float = 0.05) -> pd.DataFrame:
    """Per arm, the Kaplan-Meier share converted by each day since assignment (lifelines).

    Every lead counts, immature ones included: each is followed for as long as it has been seen
    (``duration``) and is censored there unless it converted (``event``).

    Parameters
    ----------
    outcomes
        Per-lead outcomes from :func:`outcomes_from_stages`: variant, duration, event.
    arms
        The arms to draw; an arm without leads has no rows.
    alpha
        The band is a ``1 - alpha`` interval.

    Returns
    -------
    pandas.DataFrame
        :data:`KM_COLUMNS`: variant, day, at_risk, converted (1 - S(day)), ci_low, ci_high
        (lifelines' exponential Greenwood interval, flipped).

    Examples
    --------
    >>> out = pd.DataFrame({"variant": "a", "duration": [2.0, 5.0, 30.0, 30.0],
    ...                     "event": [True, True, False, False]})
    >>> km_curves(out, ["a", "b"])[["variant", "day", "at_risk", "converted"]]
      variant   day  at_risk  converted
    0       a   0.0      4.0       0.00
    1       a   2.0      4.0       0.25
    2       a   5.0      3.0       0.50
    3       a  30.0      2.0       0.50
    """
    from lifelines import KaplanMeierFitter

    require_columns(outcomes, ["variant", "duration", "event"], table="the per-lead outcomes")
    frames = []
    for arm in arms:
        d = outcomes.loc[outcomes["variant"] == arm]
        if d.empty:
            continue
        kmf = KaplanMeierFitter(alpha=alpha)
        kmf.fit(d["duration"].to_numpy(), d["event"].to_numpy(), label=str(arm))
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        frames.append(
            pd.DataFrame(
                {
                    "variant": arm,
                    "day": sf.index.to_numpy(dtype=float),
                    "at_risk": kmf.event_table["at_risk"].reindex(sf.index).to_numpy(dtype=float),
                    "converted": 1.0 - sf.to_numpy(),
                    "ci_low": 1.0 - ci.iloc[:, 1].to_numpy(),
                    "ci_high": 1.0 - ci.iloc[:, 0].to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=KM_COLUMNS)
    return pd.concat(frames, ignore_index=True)


@dataclasses.dataclass(frozen=True)
class KmShare(Result):
    """The Kaplan-Meier share of an arm converted by a day since assignment (:func:`km_at`)."""

    day: float = value(Kind.DAYS, "days since assignment")
    converted: float = value(Kind.RATE, "share converted by that day (1 - S)")
    converted_ci_low: float = value(Kind.RATE, "Greenwood interval, low")
    converted_ci_high: float = value(Kind.RATE, "Greenwood interval, high")


def km_at(curves: pd.DataFrame, arm: str, day: float) -> KmShare:
    """The Kaplan-Meier share of ``arm`` converted by ``day`` (the curve is a step function).

    Parameters
    ----------
    curves
        :func:`km_curves` output.
    arm
        The variant.
    day
        Days since assignment.

    Returns
    -------
    KmShare
        ``converted`` with ``converted_ci_low``/``converted_ci_high``; NaN when the arm has no
        curve.

    Examples
    --------
    >>> out = pd.DataFrame({"variant": "a", "duration": [2.0, 5.0, 30.0, 30.0],
    ...                     "event": [True, True, False, False]})
    >>> round(km_at(km_curves(out, ["a"]), "a", 3).converted, 6)
    0.25
    >>> km_at(km_curves(out, ["a"]), "b", 3).converted
    nan
    """
    c = curves.loc[(curves["variant"] == arm) & (curves["day"] <= day)]
    if c.empty:
        nan = float("nan")
        return KmShare(float(day), nan, nan, nan)
    last = c.iloc[-1]
    return KmShare(
        float(day), float(last["converted"]), float(last["ci_low"]), float(last["ci_high"])
    )
