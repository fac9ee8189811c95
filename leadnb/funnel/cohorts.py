"""Creation-cohort conversion matrix: cumulative conversion by months since creation.

Design: a CRM's "conversions this month" mixes leads of every age. Here each lead belongs to the
cohort of its creation period (month by default) and is followed for ``k`` months from its *own*
creation date: cell ``(cohort, k)`` is the share of the cohort's leads that reached the stage
within ``k`` calendar months of creation (``<stage>_at <= created_at + k months``; a stage dated
before creation counts as reached). Rates are cumulative, so they never fall with age.

A cell is shown only when every lead of the cohort has been observed for the full ``k`` months
by ``as_of`` (last day of the cohort period + ``k`` months <= ``as_of``); cells a cohort cannot
have reached yet are ``NaN`` (``converted`` and ``rate``), never zero. When no cell is observable
yet (no lead created by ``as_of``, or the oldest cohort younger than one month plus its own
length) :class:`~leadnb.errors.NotEnoughData` says when the first one will be. The default ages
stop where the data stops (past the latest date in the frame every older age repeats the last
one), so an analysis date long after the data does not build an enormous table.

No loop over ages or leads: each lead's cohort is a pandas period ordinal computed from integer
microseconds (a month per calendar day, looked up); each lead that reached the stage gets the
first age that counts it (``k`` is the months from creation's month to the stage's, or one more
when the day of the month clips past it, as ``pd.DateOffset`` does); one ``bincount`` over
(cohort, first age) and a cumulative sum give every cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadnb.arrays import NAT_US
from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.funnel.stages import WIDE, WIDE_FIX
from leadnb.intervals import wilson
from leadnb.results import Column, Kind

FREQS = {"M": "M", "Q": "Q", "W": "W"}
COHORT_COLUMNS = {
    "cohort": Column("Cohort", Kind.TEXT, "creation period"),
    "age_months": Column("Months since creation", Kind.COUNT),
    "n": Column("Leads", Kind.COUNT, "leads created in the cohort"),
    "converted": Column("Converted", Kind.COUNT, "reached the stage within that many months"),
    "rate": Column("Conversion rate", Kind.RATE, "blank: not observable yet"),
    "ci_low": Column("95% CI low", Kind.RATE),
    "ci_high": Column("95% CI high", Kind.RATE),
}
"""How a report shows the :func:`cohort_matrix` table."""


def cohort_labels(created_at: pd.Series, *, freq: str = "M") -> pd.Series:
    """The creation-period label of each lead: ``"2025-01"`` for months, ``"2025Q1"``, or a week.

    Examples
    --------
    >>> created = pd.Series(pd.to_datetime(["2025-01-10", "2025-04-02"]))
    >>> cohort_labels(created).tolist(), cohort_labels(created, freq="Q").tolist()
    (['2025-01', '2025-04'], ['2025Q1', '2025Q2'])
    """
    if freq not in FREQS:
        raise DataError(f"unknown cohort frequency {freq!r}", fix=f"use one of {', '.join(FREQS)}")
    return created_at.dt.to_period(FREQS[freq]).astype("str")


def cohort_matrix(
    wide: pd.DataFrame,
    stage: str,
    as_of: pd.Timestamp,
    *,
    freq: str = "M",
    max_age: int | None = None,
) -> pd.DataFrame:
    """Cumulative conversion to ``stage`` by creation cohort and months since creation.

    Parameters
    ----------
    wide
        The stage-date frame (:func:`leadnb.funnel.stages.stage_dates`): ``created_at`` and
        ``<stage>_at``.
    stage
        The stage a lead converts to.
    as_of
        The analysis date; leads created after it are left out, stages after it do not count.
    freq
        Cohort length: ``M`` month, ``Q`` quarter, ``W`` week.
    max_age
        Oldest age in months; default the oldest cohort's observable age, at most the months from
        its start to the latest date in ``wide`` plus one (older ages would repeat the last one).

    Returns
    -------
    pandas.DataFrame
        One row per cohort and age: ``cohort`` (period label), ``age_months`` (1..``max_age``),
        ``n`` (leads created in the cohort), ``converted`` (reached ``stage`` within that many
        calendar months of their own creation; cumulative), ``rate``, ``ci_low``, ``ci_high``
        (95% Wilson). ``converted``, ``rate`` and the interval are ``NaN`` where the cohort has not
        been observed for the full age by ``as_of``: unknown, never zero.

    Raises
    ------
    NotEnoughData
        No cell is observable by ``as_of``; the message says when the first one will be.

    Examples
    --------
    >>> wide = pd.DataFrame({
    ...     "created_at": pd.to_datetime(["2025-01-10", "2025-01-20", "2025-02-15"]),
    ...     "sql_at": pd.to_datetime(["2025-01-15", "2025-03-25", None])})
    >>> cohort_matrix(wide, "sql", pd.Timestamp("2025-04-30"))[["cohort", "age_months", "n", "converted"]]
        cohort  age_months  n  converted
    0  2025-01           1  2        1.0
    1  2025-01           2  2        1.0
    2  2025-01           3  2        2.0
    3  2025-02           1  1        0.0
    4  2025-02           2  1        0.0
    5  2025-02           3  1        NaN
    """
    require_columns(wide, ["created_at", f"{stage}_at"], table=WIDE, fix=WIDE_FIX)
    as_of = pd.Timestamp(as_of).normalize()
    end = day_end(as_of)
    created, at = _known_leads(wide["created_at"], wide[f"{stage}_at"], end)
    if freq not in FREQS:
        raise DataError(f"unknown cohort frequency {freq!r}", fix=f"use one of {', '.join(FREQS)}")
    cols = ["cohort", "age_months", "n", "converted", "rate", "ci_low", "ci_high"]
    if created.size == 0:
        raise NotEnoughData(
            f"no lead was created by the analysis date {as_of:%Y-%m-%d}",
            "it appears in the first run after the first lead's creation date",
        )
    ordinal = _period_ordinals(created, freq)
    cohorts, n = _cohorts(ordinal, freq)
    labels = cohorts.astype("str")
    cohort_end = cohorts.end_time.normalize()
    first_mature = cohort_end.min() + pd.DateOffset(months=1)
    if first_mature > as_of:
        raise NotEnoughData(
            f"no creation cohort has been followed for a full month yet (the first, "
            f"{labels[0]}, completes its first month on {first_mature:%Y-%m-%d})",
            f"it appears in the run of {first_mature:%Y-%m-%d} or later",
        )
    end_us = _micros(end)
    reached = (at != NAT_US) & (at < end_us)
    if max_age is None:
        oldest = cohort_end.min()
        months = (as_of.year - oldest.year) * 12 + (as_of.month - oldest.month)
        # past the latest date in the data every older age repeats the last one
        start = pd.Timestamp(cohorts[0].start_time)
        latest_us = max(created.max(), at[reached].max()) if reached.any() else created.max()
        latest = pd.Timestamp(int(latest_us), unit="us")
        span = (latest.year - start.year) * 12 + (latest.month - start.month) + 1
        max_age = max(min(int(months), int(span)), 1)
    ages = np.arange(1, max_age + 1)
    # only leads that reached the stage by as_of can count: each one's first age that counts
    # it, then cumulative counts over ages (one pass, no loop over ages)
    first_age = np.minimum(_months_to_reach(created[reached], at[reached]), max_age + 1)
    width = max_age + 2  # ages 0 (never: an age counts from 1) .. max_age + 1 (later)
    codes = np.searchsorted(cohorts.asi8, ordinal[reached])
    per_age = np.bincount(codes * width + first_age, minlength=len(labels) * width)
    conv = np.cumsum(per_age.reshape(len(labels), width), axis=1)[:, 1 : max_age + 1]
    # a cell is observable once its cohort's last day plus k months is by as_of
    ends = np.repeat(_micros(cohort_end), max_age)
    mature = (_add_months(ends, np.tile(ages, len(labels))) <= _micros(as_of)).reshape(conv.shape)
    order = np.argsort(np.asarray(labels, dtype=object), kind="stable")  # as text
    converted = np.where(mature, conv.astype(float), np.nan)[order].ravel()
    out = pd.DataFrame(
        {
            "cohort": pd.array(
                np.repeat(np.asarray(labels, dtype=object)[order], max_age), dtype="str"
            ),
            "age_months": np.tile(ages, len(labels)).astype("int64"),
            "n": np.repeat(n[order], max_age).astype("int64"),
            "converted": converted,
        }
    )
    out["rate"] = out["converted"] / out["n"].where(out["n"] > 0)
    lo, hi = wilson(out["converted"].fillna(0), out["n"])
    observable = ~np.isnan(converted)
    out["ci_low"] = np.where(observable, lo, np.nan)
    out["ci_high"] = np.where(observable, hi, np.nan)
    return out[cols]


_DAY_US = 86_400_000_000


def _micros(ts: pd.Timestamp | pd.DatetimeIndex) -> np.ndarray | int:
    """Naive timestamps as int64 microseconds."""
    if isinstance(ts, pd.DatetimeIndex):
        return ts.as_unit("us").asi8
    return int(pd.Timestamp(ts).as_unit("us").to_datetime64().astype("int64"))


def _known_leads(
    created_at: pd.Series, stage_at: pd.Series, end: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Creation and stage dates (int64 microseconds, NaT as :data:`NAT_US`) of the leads created
    before ``end``; datetime64[us] columns (what :func:`stage_dates` builds) are read in place."""
    if created_at.dtype == "datetime64[us]" and stage_at.dtype == "datetime64[us]":
        created = created_at.to_numpy().view("int64")
        keep = (created != NAT_US) & (created < _micros(end))
        return created[keep], stage_at.to_numpy().view("int64")[keep]
    keep = (created_at.notna() & (created_at < end)).to_numpy()
    return (
        created_at[keep].astype("datetime64[us]").to_numpy().view("int64"),
        stage_at[keep].astype("datetime64[us]").to_numpy().view("int64"),
    )


def _period_ordinals(created: np.ndarray, freq: str) -> np.ndarray:
    """Each lead's creation period as a pandas period ordinal: months or quarters since 1970,
    or Monday weeks (``W``: 1970-01-01, a Thursday, is in the week of ordinal 1)."""
    days = np.floor_divide(created, _DAY_US)
    if freq == "W":
        return (days + 3) // 7 + 1
    low, high = int(days.min()), int(days.max())
    if high - low <= 4 * len(days) + 1024:  # a month per calendar day, looked up
        table = np.arange(low, high + 1).astype("datetime64[D]").astype("datetime64[M]")
        months = table.astype("int64")[days - low]
    else:  # dates centuries apart: convert each
        months = created.view("datetime64[us]").astype("datetime64[M]").astype("int64")
    return months // 3 if freq == "Q" else months


def _cohorts(ordinal: np.ndarray, freq: str) -> tuple[pd.PeriodIndex, np.ndarray]:
    """The cohorts (periods holding at least one lead, ascending) and their sizes."""
    low = int(ordinal.min())
    span = int(ordinal.max()) - low + 1
    if span <= 4 * len(ordinal) + 1024:  # a count per period between the first and the last
        counts = np.bincount(ordinal - low, minlength=span)
        present = np.flatnonzero(counts)
        uniques, n = present + low, counts[present]
    else:  # periods centuries apart: sort instead
        uniques, n = np.unique(ordinal, return_counts=True)
    return pd.PeriodIndex.from_ordinals(uniques, freq=FREQS[freq]), n


def _add_months(us: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """``us`` (int64 microseconds) plus ``months`` calendar months, as ``pd.DateOffset``: the
    day of the month is kept, clipped to the target month's length (Jan 31 + 1 month is
    Feb 28), and the time of day is kept."""
    when = us.view("datetime64[us]")
    month = when.astype("datetime64[M]")
    day = when.astype("datetime64[D]")
    day_index = (day - month.astype("datetime64[D]")).astype("int64")  # 0 on the 1st
    time_of_day = us - day.astype("datetime64[us]").astype("int64")
    target = month + np.asarray(months, dtype="int64").astype("timedelta64[M]")
    target_start = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - target_start).astype(
        "int64"
    )
    day_us = (target_start + np.minimum(day_index, length - 1)).astype("datetime64[us]")
    return day_us.astype("int64") + time_of_day


def _months_to_reach(created: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The smallest ``k >= 1`` with ``at <= created + k months`` (:func:`_add_months`), per lead.

    ``created + k months`` is in the month ``k`` after creation's, so with ``d`` the months
    from creation's month to ``at``'s, ``k`` is ``d`` or ``d + 1``, and 1 when ``d < 1``.
    """
    month_gap = at.view("datetime64[us]").astype("datetime64[M]").astype("int64") - (
        created.view("datetime64[us]").astype("datetime64[M]").astype("int64")
    )
    late = at > _add_months(created, np.maximum(month_gap, 1))
    return np.where(month_gap >= 1, month_gap + late, 1)


def cohort_pivot(matrix: pd.DataFrame, *, value: str = "rate") -> pd.DataFrame:
    """Cohorts as rows, ``age_months`` as columns, ``value`` in the cells (NaN stays NaN).

    Examples
    --------
    >>> m = pd.DataFrame({"cohort": ["2025-01", "2025-01", "2025-02"], "age_months": [1, 2, 1],
    ...                   "rate": [0.1, 0.2, 0.15]})
    >>> cohort_pivot(m)  # doctest: +NORMALIZE_WHITESPACE
    age_months     1    2
    cohort
    2025-01     0.10  0.2
    2025-02     0.15  NaN
    """
    return matrix.pivot(index="cohort", columns="age_months", values=value).sort_index()


__all__ = ["COHORT_COLUMNS", "cohort_labels", "cohort_matrix", "cohort_pivot"]
