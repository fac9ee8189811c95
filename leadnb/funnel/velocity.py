"""Qualified-lead flow over time: Lead Velocity Rate, new versus old leads, and the age hazard.

Design, from the wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`):

* :func:`lvr`: qualified leads per period (``funnel.qualified_stage`` dated in the period) and
  exactly the article's formula ``(this - last) / last * 100``. Periods are calendar months,
  quarters, or ``N``-day cycles (``"28D"``) anchored so the last cycle ends on ``as_of``.
  **Incomplete periods are kept and flagged** (``complete`` False: the period containing
  ``as_of`` when ``as_of`` is not its last day, and a first period that starts before the first
  lead was created); an LVR that involves one is ``NaN``. The 95% interval treats the two counts
  as independent Poisson counts over equal exposure: conditional on their sum ``m``, this
  period's count is Binomial(``m``, ``p``) with ``p = r / (1 + r)``, ``r`` the ratio of the two
  rates; the exact (Clopper-Pearson, statsmodels ``proportion_confint(method="beta")``) interval
  for ``p`` maps to ``r`` and then to ``(r - 1) * 100``. (statsmodels'
  ``confint_poisson_2indep`` does not implement the exact conditional method.) The trailing
  variant applies the same formula to three-period rolling sums (``NaN`` until three complete
  periods exist). ``funnel.qualification_change`` flags ``after_change`` periods and the first
  period whose LVR compares across the change (``crosses_change``): a break, not growth.
* :func:`new_vs_old`: each conversion classified by the lead's age at conversion
  (younger than ``funnel.new_lead_days`` is new, otherwise old/nurtured), per calendar period of
  the conversion, with the share from old leads and its Wilson interval.
* :func:`age_hazard`: conversions per lead-month at risk by age bucket (optionally before and
  after a date such as the nurture start). A lead is at risk from creation until it converts or
  ``as_of``; exposure is split exactly across buckets and calendar eras, so growth in lead inflow
  (more young leads) does not distort the old-lead rate. Exact Poisson intervals (statsmodels
  ``confint_poisson(method="exact-c")``).

Every computation is vectorised over leads; loops run over periods' labels, buckets and eras.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.funnel import exposure
from leadnb.funnel.exposure import DAYS_PER_MONTH
from leadnb.funnel.stages import FunnelConfig, age_at
from leadnb.intervals import wilson
from leadnb.results import Column, Kind, format_value

MAX_PERIODS = 1200  # a per-period table longer than this means an analysis date far off the data
DEFAULT_BUCKETS = (0, 30, 60, 90, 180, 365, np.inf)

PER_LEAD_MONTHS = 1000
"""The age hazard is read per this many lead-months at risk (:func:`hazard_per_1000`)."""

LVR_COLUMNS = {
    "period": Column("Period", Kind.TEXT),
    "period_start": Column("Starts", Kind.DATE),
    "period_end": Column("Ends", Kind.DATE),
    "complete": Column("Complete", Kind.FLAG, "the period lies wholly inside the data"),
    "qualified": Column("Qualified leads", Kind.COUNT),
    "lvr_pct": Column("LVR", Kind.PERCENT, "growth on the period before"),
    "ci_low": Column("95% CI low", Kind.PERCENT),
    "ci_high": Column("95% CI high", Kind.PERCENT),
    "lvr_trailing3_pct": Column("LVR, three-period totals", Kind.PERCENT),
    "after_change": Column("After rule change", Kind.FLAG),
    "crosses_change": Column("Compares across rule change", Kind.FLAG),
}
"""How a report shows the :func:`lvr` table."""

NEW_VS_OLD_COLUMNS = {
    "stage": Column("Stage", Kind.TEXT),
    "era": Column("Nurture programme", Kind.TEXT, "before or after its start"),
    "period": Column("Period", Kind.TEXT),
    "period_start": Column("Starts", Kind.DATE),
    "conversions": Column("Conversions", Kind.COUNT),
    "from_new": Column("From new leads", Kind.COUNT),
    "from_old": Column("From old leads", Kind.COUNT),
    "share_old": Column("Old leads' share", Kind.RATE),
    "ci_low": Column("95% CI low", Kind.RATE),
    "ci_high": Column("95% CI high", Kind.RATE),
}
"""How a report shows the :func:`new_vs_old` and :func:`share_old_by_era` tables (stage names
through :func:`leadnb.funnel.stages.with_stage_names`)."""

AGE_HAZARD_COLUMNS = {
    "bucket": Column("Lead age (days)", Kind.TEXT),
    "age_from": Column("From age", Kind.DAYS),
    "age_to": Column("To age", Kind.DAYS),
    "era": Column("Nurture programme", Kind.TEXT, "before or after its start"),
    "lead_months": Column("Lead-months at risk", Kind.COUNT),
    "conversions": Column("Conversions", Kind.COUNT),
    "per_1000": Column(
        "Conversions per 1,000 lead-months", Kind.COUNT, "leads at risk for a month each"
    ),
    "per_1000_ci_low": Column("95% CI low", Kind.COUNT),
    "per_1000_ci_high": Column("95% CI high", Kind.COUNT),
}
"""How a report shows the age hazard: the :func:`hazard_per_1000` table."""


def _col(wide: pd.DataFrame, stage: str) -> pd.Series:
    name = f"{stage}_at"
    require_columns(
        wide,
        ["created_at", name],
        table="the stage-date frame",
        fix="build it with leadnb.funnel.stages.stage_dates and use a stage from funnel.stages",
    )
    return wide[name].astype("datetime64[us]")


def assign_periods(dates: pd.Series, period: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """The period of each date.

    Parameters
    ----------
    dates
        Datetimes.
    period
        ``"month"``, ``"quarter"`` or ``"<N>D"`` (``N``-day cycles, the last ending on ``as_of``).
    as_of
        The analysis date (anchors the cycles).

    Returns
    -------
    pandas.DataFrame
        One row per date (same order): period (label: ``2025-01``, ``2025Q1``, or the cycle's
        first day), period_start, period_end (last day).

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2025-01-15", "2025-03-02"]))
    >>> assign_periods(d, "month", pd.Timestamp("2025-03-31"))["period"].tolist()
    ['2025-01', '2025-03']
    >>> assign_periods(d, "28D", pd.Timestamp("2025-03-31"))["period_end"].dt.strftime("%m-%d").tolist()
    ['02-03', '03-03']
    """
    as_of = pd.Timestamp(as_of).normalize()
    d = dates.astype("datetime64[us]").dt.normalize()
    if period in ("month", "quarter"):
        p = d.dt.to_period("M" if period == "month" else "Q")
        start = p.dt.start_time.astype("datetime64[us]")
        end = p.dt.end_time.dt.normalize().astype("datetime64[us]")
        return pd.DataFrame({"period": p.astype("str"), "period_start": start, "period_end": end})
    n = _cycle_days(period)
    k = np.floor(((as_of - d) / pd.Timedelta(days=1)) / n)
    end = as_of - pd.to_timedelta(k * n, unit="D")
    start = end - pd.Timedelta(days=n - 1)
    return pd.DataFrame(
        {
            "period": start.dt.strftime("%Y-%m-%d").astype("str"),
            "period_start": start.astype("datetime64[us]"),
            "period_end": end.astype("datetime64[us]"),
        }
    )


def _period_frame(first: pd.Timestamp, as_of: pd.Timestamp, period: str) -> pd.DataFrame:
    """Every period from the one containing ``first`` to the one containing ``as_of``.

    Built from the periods themselves (not from every day), and refused with
    :class:`NotEnoughData` beyond :data:`MAX_PERIODS` periods: that many only arise when the
    analysis date lies far after (or the data far before) everything else.
    """
    first, as_of = pd.Timestamp(first).normalize(), pd.Timestamp(as_of).normalize()
    if period in ("month", "quarter"):
        f = "M" if period == "month" else "Q"
        count = as_of.to_period(f).ordinal - first.to_period(f).ordinal + 1
        _check_count(count, first, as_of, period)
        starts = pd.Series(pd.period_range(first.to_period(f), as_of.to_period(f), freq=f))
        days = starts.dt.start_time
    else:
        n = _cycle_days(period)
        k_max = int(((as_of - first) / pd.Timedelta(days=1)) // n)
        _check_count(k_max + 1, first, as_of, period)
        days = pd.Series(as_of - pd.to_timedelta(np.arange(k_max, -1, -1) * n, unit="D"))
    table = assign_periods(days, period, as_of).drop_duplicates("period")
    return table.sort_values("period_start", ignore_index=True)


def _cycle_days(period: str) -> int:
    m = re.fullmatch(r"([1-9][0-9]*)D", period)
    if not m:
        raise DataError(
            f"unknown period {period!r}",
            fix='use month, quarter, or an N-day cycle such as "28D"',
        )
    return int(m.group(1))


def _check_count(count: int, first: pd.Timestamp, as_of: pd.Timestamp, period: str) -> None:
    if count > MAX_PERIODS:
        raise NotEnoughData(
            f"from the first date in the data ({first:%Y-%m-%d}) to the analysis date "
            f"({as_of:%Y-%m-%d}) there are {format_value(count, Kind.COUNT)} periods of {period}, "
            f"more than the {format_value(MAX_PERIODS, Kind.COUNT)} a report table can show",
            "it appears with an analysis date within the data's range",
        )


def _second_complete_end(data_start: pd.Timestamp, period: str) -> pd.Timestamp:
    """The last day of the second period that lies wholly after ``data_start``."""
    if period in ("month", "quarter"):
        p = data_start.to_period("M" if period == "month" else "Q")
        if p.start_time < data_start:
            p += 1
        return (p + 1).end_time.normalize()
    return data_start + pd.Timedelta(days=2 * _cycle_days(period) - 1)


def lvr_interval(this: np.ndarray, last: np.ndarray, alpha: float = 0.05) -> tuple:
    """Exact conditional interval for ``(this / last - 1) * 100`` (see the module
    docstring).

    Parameters
    ----------
    this, last
        Qualified counts of this and the last period.
    alpha
        1 - the coverage.

    Returns
    -------
    tuple of numpy.ndarray
        (low, high) in percent; NaN where ``last`` is 0.

    Examples
    --------
    >>> lo, hi = lvr_interval([120], [100])
    >>> round(float(lo[0]), 1), round(float(hi[0]), 1)
    (-8.7, 58.1)
    """
    this = np.asarray(this, dtype=float)
    last = np.asarray(last, dtype=float)
    m = this + last
    safe = np.where(m > 0, m, 1.0)
    lo_p, hi_p = proportion_confint(this, safe, alpha=alpha, method="beta")
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(lo_p < 1, lo_p / (1 - lo_p), np.inf)
        hi = np.where(hi_p < 1, hi_p / (1 - hi_p), np.inf)
    bad = (m <= 0) | (last <= 0)
    return np.where(bad, np.nan, (lo - 1) * 100), np.where(bad, np.nan, (hi - 1) * 100)


def _growth(this: pd.Series, last: pd.Series) -> pd.Series:
    return ((this - last) / last.where(last > 0)) * 100


def lvr(
    wide: pd.DataFrame, config: FunnelConfig | None = None, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Lead Velocity Rate per ``config.lvr_period`` of ``config.qualified_stage``.

    Parameters
    ----------
    wide
        The wide stage-date frame (``created_at``, ``<qualified_stage>_at``).
    config
        ``funnel``: qualified stage, LVR period, qualification change date.
    as_of
        The analysis date (required).

    Returns
    -------
    pandas.DataFrame
        One row per period from the first date to ``as_of``: period, period_start, period_end,
        complete, qualified, lvr_pct, ci_low, ci_high, lvr_trailing3_pct, after_change,
        crosses_change.

    Raises
    ------
    NotEnoughData
        When fewer than two periods are complete by ``as_of`` (no LVR can be computed), saying
        when they will be.

    Examples
    --------
    >>> sql = pd.to_datetime(["2025-01-05", "2025-02-03", "2025-02-20", "2025-03-10"])
    >>> wide = pd.DataFrame({"created_at": pd.Timestamp("2025-01-01"), "sql_at": sql})
    >>> out = lvr(wide, FunnelConfig(), pd.Timestamp("2025-03-31"))
    >>> out[["period", "qualified", "lvr_pct"]].to_numpy().tolist()
    [['2025-01', 1, nan], ['2025-02', 2, 100.0], ['2025-03', 1, -50.0]]
    """
    config = config or FunnelConfig()
    if as_of is None:
        raise DataError("lvr needs as_of", fix="pass as_of=pd.Timestamp('YYYY-MM-DD')")
    as_of = pd.Timestamp(as_of)
    q = _col(wide, config.qualified_stage)
    q = q[q.notna() & (q < day_end(as_of))]
    created = wide["created_at"].dropna()
    created = created[created < day_end(as_of)]
    if created.empty and q.empty:
        first = as_of
    else:
        first = min(x for x in (created.min(), q.min()) if pd.notna(x))
    periods = _period_frame(pd.Timestamp(first), as_of, config.lvr_period)
    counts = assign_periods(q, config.lvr_period, as_of)["period"].value_counts()
    out = periods.copy()
    out["qualified"] = out["period"].map(counts).fillna(0).astype(int)
    data_start = pd.Timestamp(created.min()).normalize() if len(created) else as_of.normalize()
    out["complete"] = (out["period_end"] <= as_of.normalize()) & (out["period_start"] >= data_start)
    if int(out["complete"].sum()) < 2:
        ready = _second_complete_end(data_start, config.lvr_period)
        raise NotEnoughData(
            f"the Lead Velocity Rate compares two complete periods ({config.lvr_period}) in a row "
            f"and {int(out['complete'].sum())} are complete by {as_of:%Y-%m-%d} (the first lead "
            f"was created on {data_start:%Y-%m-%d})",
            f"it appears in the run of {max(ready, as_of.normalize()):%Y-%m-%d} or later",
        )
    last = out["qualified"].shift()
    both = out["complete"] & out["complete"].shift(fill_value=False)
    out["lvr_pct"] = _growth(out["qualified"].astype(float), last).where(both)
    lo, hi = lvr_interval(out["qualified"], last.fillna(0))
    out["ci_low"] = np.where(both & out["lvr_pct"].notna(), lo, np.nan)
    out["ci_high"] = np.where(both & out["lvr_pct"].notna(), hi, np.nan)
    roll = out["qualified"].astype(float).where(out["complete"]).rolling(3).sum()
    out["lvr_trailing3_pct"] = _growth(roll, roll.shift())
    change = config.qualification_change
    if change is None:
        out["after_change"] = False
    else:
        out["after_change"] = out["period_start"] >= pd.Timestamp(change)
    out["crosses_change"] = out["after_change"] & ~out["after_change"].shift(fill_value=False)
    if change is not None and pd.Timestamp(change) <= out["period_start"].min():
        out["crosses_change"] = False
    cols = [
        "period",
        "period_start",
        "period_end",
        "complete",
        "qualified",
        "lvr_pct",
        "ci_low",
        "ci_high",
        "lvr_trailing3_pct",
        "after_change",
        "crosses_change",
    ]
    return out[cols]


def new_vs_old(
    wide: pd.DataFrame,
    config: FunnelConfig | None = None,
    as_of: pd.Timestamp | None = None,
    stage: str | None = None,
    *,
    period: str = "month",
) -> pd.DataFrame:
    """Conversions to ``stage`` per period of the conversion date, split by the lead's
    age at conversion (younger than ``funnel.new_lead_days`` is new).

    Parameters
    ----------
    wide
        The wide stage-date frame.
    config
        ``funnel`` (qualified stage, new-lead age).
    as_of
        The analysis date (required).
    stage
        The stage (default the qualified stage).
    period
        ``"month"``, ``"quarter"`` or ``"<N>D"``.

    Returns
    -------
    pandas.DataFrame
        Every period from the first lead's creation to ``as_of``: stage, period, period_start,
        conversions, from_new, from_old, share_old, ci_low, ci_high (95% Wilson for share_old;
        NaN in a period without conversions).

    Examples
    --------
    >>> wide = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01", "2025-01-01"]),
    ...     "sql_at": pd.to_datetime(["2025-01-05", "2025-02-20"])})
    >>> t = new_vs_old(wide, FunnelConfig(), pd.Timestamp("2025-02-28"))
    >>> t[["period", "conversions", "from_new", "from_old"]].to_numpy().tolist()
    [['2025-01', 1, 1, 0], ['2025-02', 1, 0, 1]]
    """
    config = config or FunnelConfig()
    if as_of is None:
        raise DataError("new_vs_old needs as_of", fix="pass as_of=pd.Timestamp('YYYY-MM-DD')")
    as_of = pd.Timestamp(as_of)
    stage = stage or config.qualified_stage
    at = _col(wide, stage)
    # new/old as funnel.stages.classify_new_old says, read off the age (no million-row labels)
    age = age_at(wide, stage)
    keep = at.notna() & (at < day_end(as_of)) & age.notna()
    per = assign_periods(at[keep], period, as_of)
    d = pd.DataFrame(
        {
            "period": per["period"].to_numpy(),
            "old": (age[keep] >= config.new_lead_days).to_numpy(int),
        }
    )
    g = d.groupby("period")["old"].agg(["size", "sum"])
    created = wide["created_at"].dropna()
    first = min([x for x in (created.min(), at[keep].min()) if pd.notna(x)] or [as_of])
    out = _period_frame(pd.Timestamp(first), as_of, period)[["period", "period_start"]]
    out.insert(0, "stage", stage)
    out["conversions"] = out["period"].map(g["size"]).fillna(0).astype(int)
    out["from_old"] = out["period"].map(g["sum"]).fillna(0).astype(int)
    out["from_new"] = out["conversions"] - out["from_old"]
    out["share_old"] = out["from_old"] / out["conversions"].where(out["conversions"] > 0)
    out["ci_low"], out["ci_high"] = wilson(out["from_old"], out["conversions"])
    return out[
        [
            "stage",
            "period",
            "period_start",
            "conversions",
            "from_new",
            "from_old",
            "share_old",
            "ci_low",
            "ci_high",
        ]
    ]


def share_old_by_era(table: pd.DataFrame, split: pd.Timestamp) -> pd.DataFrame:
    """Totals of a :func:`new_vs_old` table before and after ``split`` (e.g. the nurture
    start); periods are assigned by their start date.

    Returns
    -------
    pandas.DataFrame
        stage, era (before/after), conversions, from_old, share_old, ci_low, ci_high (Wilson).

    Examples
    --------
    >>> t = pd.DataFrame({"stage": "sql", "period_start": pd.to_datetime(["2025-01-01",
    ...     "2025-02-01", "2025-03-01"]), "conversions": [4, 6, 10], "from_old": [1, 2, 8]})
    >>> share_old_by_era(t, pd.Timestamp("2025-03-01"))[["era", "conversions", "share_old"]].to_numpy().tolist()
    [['before', 10, 0.3], ['after', 10, 0.8]]
    """
    era = np.where(table["period_start"] >= pd.Timestamp(split), "after", "before")
    g = (
        table.assign(era=era)
        .groupby(["stage", "era"], sort=False)[["conversions", "from_old"]]
        .sum()
        .reset_index()
    )
    g["share_old"] = g["from_old"] / g["conversions"].where(g["conversions"] > 0)
    g["ci_low"], g["ci_high"] = wilson(g["from_old"], g["conversions"])
    return g


def bucket_labels(buckets: Sequence[float]) -> list[str]:
    """Labels of age buckets in days (left-closed).

    Returns
    -------
    list of str

    Examples
    --------
    >>> bucket_labels([0, 30, 60, float("inf")])
    ['0-29', '30-59', '60+']
    """
    labels = []
    for a, b in zip(buckets[:-1], buckets[1:], strict=True):
        labels.append(f"{a:g}+" if np.isinf(b) else f"{a:g}-{b - 1:g}")
    return labels


def age_hazard(
    wide: pd.DataFrame,
    stage: str,
    as_of: pd.Timestamp,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    *,
    split: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Conversions to ``stage`` per lead-month at risk, by lead age in days.

    A lead is at risk from creation until it converts or the end of the ``as_of`` day; its time
    at risk is split exactly across age buckets and calendar eras by the one exposure engine
    (:func:`leadnb.funnel.exposure.at_risk_days_exact`), in average months
    (:data:`~leadnb.funnel.exposure.DAYS_PER_MONTH`), so growth in lead inflow (more young leads)
    does not distort the old-lead rate.

    Parameters
    ----------
    wide
        The wide stage-date frame (``created_at``, ``<stage>_at``).
    stage
        The stage whose conversions are counted.
    as_of
        The analysis date.
    buckets
        Increasing age edges in days (the last may be ``inf``).
    split
        A calendar date (e.g. the nurture start): every row is then given for the era before and
        after it.

    Returns
    -------
    pandas.DataFrame
        bucket, age_from, age_to, [era], lead_months, conversions, rate (per lead-month),
        ci_low, ci_high (exact Poisson, statsmodels ``confint_poisson(method="exact-c")``).

    Examples
    --------
    >>> wide = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01", "2025-01-01"]),
    ...     "sql_at": pd.to_datetime(["2025-01-11", None])})
    >>> h = age_hazard(wide, "sql", pd.Timestamp("2025-01-30"), (0, 30))
    >>> round(float(h["lead_months"].iloc[0]) * DAYS_PER_MONTH, 6), int(h["conversions"].iloc[0])
    (40.0, 1)
    """
    buckets = [float(b) for b in buckets]
    if len(buckets) < 2 or any(b <= a for a, b in zip(buckets[:-1], buckets[1:], strict=True)):
        raise DataError(
            f"age buckets must be increasing day edges, got {buckets!r}",
            fix="pass e.g. (0, 30, 60, 90, 180, 365, inf)",
        )
    as_of = day_end(as_of)  # follow-up runs to the end of the as_of day
    at = _col(wide, stage)
    created = wide["created_at"].astype("datetime64[us]")
    keep = created.notna() & (created < as_of)
    created, at = created[keep], at[keep]
    converted = at.notna() & (at < as_of)
    exit_at = at.where(converted, as_of)
    exit_at = exit_at.where(exit_at >= created, created)  # dated before creation: age 0
    lo_all = created.min() if len(created) else as_of
    eras: list[str | None]
    if split is None:
        eras, bounds = [None], [lo_all, as_of]
    else:  # an era outside the follow-up is empty: its lead-days are 0
        eras, bounds = ["before", "after"], [lo_all, pd.Timestamp(split), as_of]
    # time at risk by age bucket x era, from the one exposure engine (lead-days, exact: one or
    # two eras)
    at_risk = exposure.at_risk_days_exact(created, exit_at, buckets, bounds)
    rows = []
    labels = bucket_labels(buckets)
    c_at, x_at = created[converted], exit_at[converted]  # conversions: the converted leads only
    for i, (era, e0, e1) in enumerate(zip(eras, bounds[:-1], bounds[1:], strict=True)):
        for j, (lab, a, b) in enumerate(zip(labels, buckets[:-1], buckets[1:], strict=True)):
            b0 = c_at + pd.Timedelta(days=a)
            b1 = c_at + pd.Timedelta(days=b) if np.isfinite(b) else None
            in_bucket = x_at >= b0 if b1 is None else (x_at >= b0) & (x_at < b1)
            ev = in_bucket & (x_at >= e0)
            ev = ev & ((x_at < e1) if era == "before" else (x_at <= e1))
            rows.append(
                {
                    "bucket": lab,
                    "age_from": a,
                    "age_to": b,
                    "era": era,
                    "lead_months": float(at_risk[j, i]) / DAYS_PER_MONTH,
                    "conversions": int(ev.sum()),
                }
            )
    out = pd.DataFrame(rows)
    if split is None:
        out = out.drop(columns="era")
    exp = out["lead_months"].to_numpy()
    ok = exp > 0
    out["rate"] = np.where(ok, out["conversions"] / np.where(ok, exp, 1.0), np.nan)
    lo, hi = confint_poisson(
        out["conversions"].to_numpy(), np.where(ok, exp, 1.0), method="exact-c"
    )
    out["ci_low"] = np.where(ok, lo, np.nan)
    out["ci_high"] = np.where(ok, hi, np.nan)
    return out


def hazard_per_1000(hazard: pd.DataFrame) -> pd.DataFrame:
    """An :func:`age_hazard` table read per :data:`PER_LEAD_MONTHS` lead-months at risk.

    A rate per lead-month of 0.0011 is hard to read; "1.1 conversions per 1,000 lead-months"
    is not. The CSV keeps the rate per lead-month.

    Returns
    -------
    pandas.DataFrame
        The columns of ``hazard`` with ``rate``, ``ci_low`` and ``ci_high`` replaced by
        ``per_1000``, ``per_1000_ci_low`` and ``per_1000_ci_high`` (:data:`AGE_HAZARD_COLUMNS`).

    Examples
    --------
    >>> h = pd.DataFrame({"bucket": ["0-29"], "conversions": [3], "rate": [0.0011],
    ...                   "ci_low": [0.0002], "ci_high": [0.0032]})
    >>> hazard_per_1000(h).round(6).to_dict("records")
    [{'bucket': '0-29', 'conversions': 3, 'per_1000': 1.1, 'per_1000_ci_low': 0.2, 'per_1000_ci_high': 3.2}]
    """
    out = hazard.drop(columns=["rate", "ci_low", "ci_high"])
    out["per_1000"] = hazard["rate"] * PER_LEAD_MONTHS
    out["per_1000_ci_low"] = hazard["ci_low"] * PER_LEAD_MONTHS
    out["per_1000_ci_high"] = hazard["ci_high"] * PER_LEAD_MONTHS
    return out


__all__ = [
    "AGE_HAZARD_COLUMNS",
    "DEFAULT_BUCKETS",
    "LVR_COLUMNS",
    "NEW_VS_OLD_COLUMNS",
    "PER_LEAD_MONTHS",
    "age_hazard",
    "assign_periods",
    "bucket_labels",
    "hazard_per_1000",
    "lvr",
    "lvr_interval",
    "new_vs_old",
    "share_old_by_era",
]
