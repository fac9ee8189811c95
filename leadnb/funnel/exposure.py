"""Time at risk: lead-days by lead age and calendar interval, the one exposure engine.

Design. A rate per lead-month needs the time each lead spent *at risk* (created, old enough, not
yet converted, not censored), split by the lead's age and by the calendar interval it fell in (a
Lexis table). Two analyses need it: the age hazard of the cohort report
(:func:`leadnb.funnel.velocity.age_hazard`, intervals = before/after a split date) and the
nurture effect of the ROI report (:func:`leadnb.roi.effect.old_lead_table` and
:func:`leadnb.roi.monthly.monthly_roi`, intervals = calendar months). Both call
:func:`at_risk_days`, which never builds a lead x interval matrix: the overlap of many intervals
``[s, e)`` with each calendar interval comes from sorted cumulative sums (:func:`overlap_days`),
O(n log n) in the number of leads. With only a few calendar intervals (the age hazard's one or
two eras) :func:`at_risk_days_exact` gives the same lead-days per lead in whole microseconds,
exact to the last digit, in O(n x cells); the two agree to 1e-9 relative (tested), and which one
an analysis uses is part of its recorded numbers, so neither is switched silently.

Lead-days become lead-months in one of two declared ways (:func:`lead_months`):

* ``month="average"``: days / :data:`DAYS_PER_MONTH` (365.25 / 12). A hazard over eras of any
  length is a rate per 30.44 lead-days (the age hazard).
* ``month="calendar"``: each calendar month's days / that month's length: a lead at risk through
  the whole of February counts one lead-month, as in every other monthly figure of the ROI
  report (SQLs *a month*), so the monthly rate is SQLs per lead at risk that month.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 365.25 / 12

__all__ = [
    "DAYS_PER_MONTH",
    "at_risk_days",
    "at_risk_days_exact",
    "lead_months",
    "overlap_days",
    "to_days",
]


def to_days(ts: Any) -> np.ndarray:
    """Datetimes as float days since 1970-01-01 (NaT -> NaN), whatever the datetime unit.

    >>> to_days(pd.to_datetime(["1970-01-02 12:00", None])).tolist()
    [1.5, nan]
    """
    s = pd.Series(ts)
    return ((s - pd.Timestamp(0)) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)


def overlap_days(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Total overlap of the intervals ``[starts[i], ends[i])`` with each ``[edges[k], edges[k+1])``.

    Parameters
    ----------
    starts, ends
        Interval bounds in days (:func:`to_days`); an interval with ``end <= start`` (or a NaN
        bound) adds nothing.
    edges
        Increasing interval edges in days.

    Returns
    -------
    numpy.ndarray
        ``len(edges) - 1`` sums of overlap, in days. Computed as
        ``F(x) = sum_{s<x}(x - s) - sum_{e<x}(x - e)`` (the total overlap with ``(-inf, x)``)
        from sorted cumulative sums, so no lead x interval matrix is built.

    Examples
    --------
    >>> overlap_days(np.array([0.0, 5.0]), np.array([10.0, 30.0]), np.array([0.0, 10.0, 20.0]))
    array([15., 10.])
    """
    keep = ends > starts
    s = np.sort(starts[keep])
    e = np.sort(ends[keep])
    cs = np.concatenate([[0.0], np.cumsum(s)])
    ce = np.concatenate([[0.0], np.cumsum(e)])
    ks = np.searchsorted(s, edges, side="left")
    ke = np.searchsorted(e, edges, side="left")
    f = (edges * ks - cs[ks]) - (edges * ke - ce[ke])
    return np.diff(f)


def at_risk_days(
    created: np.ndarray, stop: np.ndarray, ages: Sequence[float], edges: np.ndarray
) -> np.ndarray:
    """Lead-days at risk by lead-age band and calendar interval (a Lexis table of exposure).

    Parameters
    ----------
    created
        Each lead's creation, in days (:func:`to_days`).
    stop
        When each lead leaves the risk set (converts, is censored, or follow-up ends), in days.
    ages
        Increasing age edges in days; the last may be ``inf``. A lead is in band
        ``[ages[j], ages[j+1])`` from ``created + ages[j]`` to ``created + ages[j+1]``.
    edges
        Increasing calendar edges in days (:func:`to_days` of month starts, or of era bounds).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(ages) - 1, len(edges) - 1)``: lead-days at risk in each age band (row) and
        calendar interval (column).

    Examples
    --------
    One lead created on day 0 and at risk until day 50, bands 0-30 and 30+, intervals of 20 days:

    >>> at_risk_days(np.array([0.0]), np.array([50.0]), [0, 30, np.inf],
    ...              np.array([0.0, 20.0, 40.0, 60.0])).tolist()
    [[20.0, 10.0, 0.0], [0.0, 10.0, 10.0]]
    """
    created = np.asarray(created, dtype=float)
    stop = np.asarray(stop, dtype=float)
    edges = np.asarray(edges, dtype=float)
    ages = [float(a) for a in ages]
    return np.vstack(
        [
            overlap_days(created + lo, np.minimum(created + hi, stop), edges)
            for lo, hi in zip(ages[:-1], ages[1:], strict=True)  # a few age bands
        ]
    )


def at_risk_days_exact(
    created: pd.Series, stop: pd.Series, ages: Sequence[float], edges: Sequence[Any]
) -> np.ndarray:
    """:func:`at_risk_days` computed lead by lead on the datetimes (exact, for few intervals).

    Parameters
    ----------
    created, stop
        Each lead's creation and the moment it leaves the risk set (datetime Series).
    ages
        Increasing age edges in days; the last may be ``inf``.
    edges
        Increasing calendar edges (timestamps): one column per ``[edges[k], edges[k+1])``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(ages) - 1, len(edges) - 1)``: lead-days at risk, each lead's overlap taken
        in whole microseconds before it is summed.

    Examples
    --------
    >>> c = pd.Series(pd.to_datetime(["1970-01-01"]))
    >>> s = pd.Series(pd.to_datetime(["1970-02-20"]))
    >>> at_risk_days_exact(c, s, [0, 30, np.inf],
    ...                    pd.to_datetime(["1970-01-01", "1970-01-21", "1970-02-10", "1970-03-02"])).tolist()
    [[20.0, 10.0, 0.0], [0.0, 10.0, 10.0]]
    """
    created = pd.Series(created).astype("datetime64[us]")
    stop = pd.Series(stop).astype("datetime64[us]")
    bounds = [pd.Timestamp(e) for e in edges]
    age_us = [_whole_us(pd.Timedelta(days=a)) for a in ages[:-1]]
    age_us += [_whole_us(pd.Timedelta(days=ages[-1])) if np.isfinite(ages[-1]) else 0]
    bound_us = [_whole_us(e) for e in bounds]
    if None in age_us or None in bound_us:  # not whole microseconds: the datetime path
        return _at_risk_days_datetimes(created, stop, ages, bounds)
    # the same arithmetic on the int64 microseconds under the datetimes (NaT: a comparison with
    # it is False, as in pandas), without a datetime Series per band and era
    c, c_nat = created.to_numpy().view(np.int64), created.isna().to_numpy()
    st, st_nat = stop.to_numpy().view(np.int64), stop.isna().to_numpy()
    out = np.zeros((len(ages) - 1, len(bounds) - 1))
    for j, b in enumerate(ages[1:]):  # a few age bands
        b0 = c + age_us[j]
        if np.isfinite(b):  # leaves the band at created + b, or earlier when it stops
            b1 = c + age_us[j + 1]
            earlier = ~c_nat & ~st_nat & (b1 < st)
            hi_age, hi_nat = np.where(earlier, b1, st), ~earlier & st_nat
        else:
            hi_age, hi_nat = st, st_nat
        for i, (e0, e1) in enumerate(zip(bound_us[:-1], bound_us[1:], strict=True)):  # eras
            lo = np.where(~c_nat & (b0 > e0), b0, e0)
            hi = np.where(~hi_nat & (hi_age < e1), hi_age, e1)
            out[j, i] = float(pd.Series((hi - lo) / _DAY_US).clip(lower=0).sum())
    return out


_DAY_US = float(pd.Timedelta(days=1) / pd.Timedelta(microseconds=1))


def _whole_us(x: pd.Timestamp | pd.Timedelta) -> int | None:
    """``x`` in whole microseconds (since the epoch for a timestamp), or None when it has a
    finer part (then the datetime arithmetic decides the unit)."""
    if pd.isna(x):
        return None
    ns = x.value if isinstance(x, pd.Timedelta) else x.as_unit("ns").value
    return None if ns % 1000 else ns // 1000


def _at_risk_days_datetimes(
    created: pd.Series, stop: pd.Series, ages: Sequence[float], bounds: list[pd.Timestamp]
) -> np.ndarray:
    day = pd.Timedelta(days=1)
    out = np.zeros((len(ages) - 1, len(bounds) - 1))
    for j, (a, b) in enumerate(zip(ages[:-1], ages[1:], strict=True)):  # a few age bands
        b0 = created + pd.Timedelta(days=a)
        if np.isfinite(b):  # leaves the band at created + b, or earlier when it stops
            b1 = created + pd.Timedelta(days=b)
            hi_age = b1.where(b1 < stop, stop)
        else:
            hi_age = stop
        for i, (e0, e1) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):  # a few eras
            lo = b0.where(b0 > e0, e0)
            hi = hi_age.where(hi_age < e1, e1)
            out[j, i] = float(((hi - lo) / day).clip(lower=0).sum())
    return out


def lead_months(
    days: np.ndarray, edges: np.ndarray, *, month: Literal["average", "calendar"]
) -> np.ndarray:
    """Lead-days of :func:`at_risk_days` as lead-months (see the module docstring).

    Parameters
    ----------
    days
        Lead-days, one column per calendar interval of ``edges``.
    edges
        The calendar edges (days) the columns were computed with.
    month
        ``"average"`` divides by :data:`DAYS_PER_MONTH`; ``"calendar"`` divides each column by
        the length of its own interval (a calendar month).

    Returns
    -------
    numpy.ndarray
        Lead-months, the shape of ``days``.

    Examples
    --------
    >>> feb = to_days(pd.to_datetime(["2025-02-01", "2025-03-01"]))
    >>> lead_months(np.array([[28.0]]), feb, month="calendar").tolist()
    [[1.0]]
    >>> round(float(lead_months(np.array([[28.0]]), feb, month="average")[0, 0]), 4)
    0.9199
    """
    if month == "average":
        return np.asarray(days, dtype=float) / DAYS_PER_MONTH
    if month == "calendar":
        return np.asarray(days, dtype=float) / np.diff(np.asarray(edges, dtype=float))
    raise ValueError(f"month must be 'average' or 'calendar', got {month!r}")
