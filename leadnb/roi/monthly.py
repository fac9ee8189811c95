"""Monthly accounting from data: SQLs, opportunities and spend per calendar month, before and after.

Design. From the wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`), the costs
table, :class:`~leadnb.roi.params.RoiConfig` and ``as_of``:

* :func:`monthly_roi` counts, per complete calendar month, SQLs from new and old leads (age at
  SQL below ``new_lead_days`` is new), opportunities and customers by the same split, spend by
  programme, and the exposure of old leads: the lead-months during which a lead was old (past
  ``new_lead_days``) and not yet an SQL. These are *period* counts (events in the month they
  happened), so they are not biased by immature cohorts. :func:`period_summary` averages them
  over the months before and after the nurture start.
* :func:`conversion_before_after` gives *cohort* conversion rates, which immature cohorts do
  bias, so it counts conversion within ``conversion_window_days`` of creation and only for
  cohorts whose whole window lies before the nurture start (before) or between the start and
  ``as_of`` (after).
* :func:`comparison_date` and :func:`comparison_missing` say from which run date a before/after
  comparison has the complete months it needs, and why it is missing until then.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.asof import date_text
from leadnb.data.columns import require_columns
from leadnb.errors import NotEnoughData, ParamsError
from leadnb.funnel import exposure
from leadnb.funnel.stages import ARTICLE_PAIRS, age_at, with_stage_names
from leadnb.intervals import wilson
from leadnb.results import Column, Kind
from leadnb.roi.params import RoiConfig
from leadnb.roi.whatif import safe_div

MIN_MONTHS = 2  # complete months with old leads needed on each side of the nurture start


def _col(stage: str) -> str:
    return f"{stage}_at"


STAGE_FIX = "build it with leadnb.funnel.stages.stage_dates"


def clip_as_of(stage_dates: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Leads created by ``as_of``, with every stage date after ``as_of`` treated as not reached.

    The analysis cut of :mod:`leadnb.asof` applied to a stage-date frame: rows whose
    ``created_at`` is known on ``as_of``, and every other ``*_at`` column through
    :func:`leadnb.asof.upto`.

    Returns
    -------
    pandas.DataFrame
        ``stage_dates``' rows and columns, later dates made NaT.

    Examples
    --------
    >>> sd = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-05", "2025-02-01"]),
    ...                    "sql_at": pd.to_datetime(["2025-01-31 23:59", "2025-02-02 00:00"])})
    >>> clip_as_of(sd, "2025-01-31")["sql_at"].tolist()
    [Timestamp('2025-01-31 23:59:00')]
    """
    known = asof.known(stage_dates["created_at"], as_of)
    # a new frame either way (copy-on-write: the caller's columns are never written); the rows
    # are taken only when some lead is created after as_of (a backfill), not copied every time
    sd = stage_dates.copy(deep=False) if known.all() else stage_dates.loc[known]
    for c in sd.columns:
        if c.endswith("_at") and c != "created_at":
            sd[c] = asof.upto(sd[c], as_of)
    return sd


def _month_edges(start: pd.Timestamp, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Month starts from ``start``'s month through the last month complete on ``as_of``,
    plus the closing edge."""
    first = start.to_period("M").to_timestamp()
    last_complete = asof.day_end(as_of).to_period("M").to_timestamp()
    return pd.date_range(first, last_complete, freq="MS")


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).to_period("M").to_timestamp()


def _first_month_from(start: pd.Timestamp) -> pd.Timestamp:
    """The first calendar month that begins on or after ``start`` (its first day)."""
    m = _month_start(start)
    return m if m == start else m + pd.offsets.MonthBegin(1)


def run_date_for(month_start: pd.Timestamp) -> pd.Timestamp:
    """The first analysis date on which the month beginning ``month_start`` is complete (its last
    day: the analysis day counts whole, see :mod:`leadnb.asof`).

    >>> run_date_for(pd.Timestamp("2025-11-01"))
    Timestamp('2025-11-30 00:00:00')
    """
    return _month_start(month_start) + pd.offsets.MonthBegin(1) - asof.ONE_DAY


def comparison_date(
    first_created: pd.Timestamp,
    nurture_start: pd.Timestamp,
    *,
    new_lead_days: int = 30,
    min_months: int = MIN_MONTHS,
) -> pd.Timestamp | None:
    """The first analysis date from which the before/after comparison of old leads can run.

    It needs ``min_months`` complete calendar months on each side of the nurture start: after,
    months that begin on or after the start (a mid-month start leaves its month out); before,
    months that end by the start and in which some lead is old (``new_lead_days`` after the first
    lead's creation). The date is the last day of the ``min_months``-th month after the start;
    ``None`` when the before side can never have ``min_months`` months with old leads (a start too
    soon after the first lead).

    >>> comparison_date(pd.Timestamp("2025-01-01 10:00"), pd.Timestamp("2025-10-01"))
    Timestamp('2025-11-30 00:00:00')
    >>> comparison_date(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-10-15"))
    Timestamp('2025-12-31 00:00:00')
    >>> comparison_date(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")) is None
    True
    """
    first_old = pd.Timestamp(first_created) + pd.Timedelta(days=new_lead_days)
    before_end = _month_start(first_old) + pd.offsets.MonthBegin(min_months)
    if before_end > pd.Timestamp(nurture_start):
        return None
    return run_date_for(_first_month_from(nurture_start) + pd.offsets.MonthBegin(min_months - 1))


def _complete_months(stage_dates: pd.DataFrame, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Month edges (see :func:`_month_edges`) from the first lead known on ``as_of``;
    :class:`NotEnoughData` when no calendar month is complete yet."""
    created = stage_dates["created_at"]
    if created.notna().sum() == 0:
        raise NotEnoughData(
            "the leads table has no lead with a creation date",
            "the monthly figures appear once leads with created_at are loaded",
        )
    first = created.min()
    if not asof.known(created, as_of).any():
        raise NotEnoughData(
            f"no lead was created by the analysis date {date_text(as_of)} (the first lead is dated "
            f"{date_text(first)})",
            f"the monthly figures appear in the run of {date_text(run_date_for(first))} or later",
        )
    edges = _month_edges(first, as_of)
    if len(edges) < 2:
        raise NotEnoughData(
            f"no calendar month is complete on {date_text(as_of)} (the first lead was created on "
            f"{date_text(first)})",
            f"the monthly figures appear in the run of {date_text(run_date_for(first))} or later",
        )
    return edges


def monthly_roi(
    stage_dates: pd.DataFrame,
    costs: pd.DataFrame | None,
    config: RoiConfig,
    as_of: pd.Timestamp,
    *,
    new_lead_days: int = 30,
    qualified_stage: str = "sql",
) -> pd.DataFrame:
    """One row per complete calendar month from the first lead's month to ``as_of``.

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`): ``created_at`` and
        ``<qualified_stage>_at``; ``opportunity_at`` and ``customer_at`` when present. Stage dates
        after ``as_of`` are ignored.
    costs
        The costs table (``period_start``, ``amount``, optional ``program``), or ``None``: costs
        without a ``program`` count as lead generation; without a table every spend is NaN.
    config
        The ``roi`` section: the nurture start and the programme names.
    as_of
        The analysis date.
    new_lead_days
        Younger than this at the stage is a *new* lead's conversion (``funnel.new_lead_days``).
    qualified_stage
        The SQL stage (``funnel.qualified_stage``).

    Returns
    -------
    pandas.DataFrame
        month, period ("before", "after", or "transition" for a month the start date falls
        inside), leads_created, sql_new, sql_old, sql_total, old_exposure (lead-months, calendar
        months, during which leads were old and not yet qualified: :mod:`leadnb.funnel.exposure`),
        old_sql_rate (old SQLs per old lead-month), opportunities_new, opportunities_old,
        opportunities, customers, spend_lead_gen, spend_nurture, spend_other, spend
        (= spend_lead_gen, the article's basis), spend_total, cost_per_sql (lead generation /
        SQLs), cost_per_sql_loaded (all spend / SQLs), cost_per_opportunity and cpa (all spend /
        opportunities, / customers), share_old (old leads' share of opportunities),
        sql_share_old.

    Raises
    ------
    NotEnoughData
        When no calendar month is complete yet (with the first run date that has one).

    Examples
    --------
    >>> from leadnb.roi.params import RoiConfig
    >>> sd = pd.DataFrame({
    ...     "lead_id": ["a", "b", "c"],
    ...     "created_at": pd.to_datetime(["2025-01-05", "2025-01-10", "2025-02-01"]),
    ...     "sql_at": pd.to_datetime(["2025-01-07", "2025-03-02", None]),
    ... })
    >>> cfg = RoiConfig(nurture_start=pd.Timestamp("2025-03-01"))
    >>> m = monthly_roi(sd, None, cfg, pd.Timestamp("2025-03-31"))
    >>> print(m[["month", "period", "sql_new", "sql_old"]].to_string(index=False))
         month period  sql_new  sql_old
    2025-01-01 before      1.0      0.0
    2025-02-01 before      0.0      0.0
    2025-03-01  after      0.0      1.0
    """
    require_columns(
        stage_dates, ["created_at", _col(qualified_stage)], table="stage dates", fix=STAGE_FIX
    )
    as_of = pd.Timestamp(as_of)
    edges = _complete_months(stage_dates, as_of)
    sd = clip_as_of(stage_dates, as_of)
    months = edges[:-1]
    out = pd.DataFrame({"month": months})
    start = config.nurture_start
    if start is None:
        out["period"] = "before"
    else:
        out["period"] = np.where(
            months >= start, "after", np.where(edges[1:] <= start, "before", "transition")
        )

    def per_month(ts: pd.Series) -> np.ndarray:
        m = ts.dt.to_period("M").dt.to_timestamp()
        return m.value_counts().reindex(months, fill_value=0).to_numpy(dtype=float)

    out["leads_created"] = per_month(sd["created_at"])
    q = _col(qualified_stage)
    # new/old as funnel.stages.classify_new_old says, read off the age (no million-row labels)
    age = age_at(sd, qualified_stage)
    out["sql_new"] = per_month(sd.loc[age < new_lead_days, q])
    out["sql_old"] = per_month(sd.loc[age >= new_lead_days, q])
    out["sql_total"] = out["sql_new"] + out["sql_old"]

    # exposure: from the day a lead turns old until it qualifies (or reaches a later stage) or the
    # last month ends; a lead marked lost stays at risk (nurturing works on exactly those leads)
    later = [c for c in (_col(s) for s in (qualified_stage, "opportunity", "customer")) if c in sd]
    stop = sd[later].min(axis=1) if later else pd.Series(pd.NaT, index=sd.index)
    edge_days = exposure.to_days(edges)
    until = exposure.to_days(stop)
    until = np.where(np.isnan(until), edge_days[-1], until)
    created = exposure.to_days(sd["created_at"])
    days = exposure.at_risk_days(created, until, [new_lead_days, np.inf], edge_days)
    out["old_exposure"] = exposure.lead_months(days, edge_days, month="calendar")[0]
    out["old_sql_rate"] = safe_div(out["sql_old"], out["old_exposure"])

    if "opportunity_at" in sd:
        o_age = age_at(sd, "opportunity")
        out["opportunities_new"] = per_month(sd.loc[o_age < new_lead_days, "opportunity_at"])
        out["opportunities_old"] = per_month(sd.loc[o_age >= new_lead_days, "opportunity_at"])
    else:
        out["opportunities_new"] = np.nan
        out["opportunities_old"] = np.nan
    out["opportunities"] = out["opportunities_new"] + out["opportunities_old"]
    out["customers"] = per_month(sd["customer_at"].dropna()) if "customer_at" in sd else np.nan

    spend = _monthly_spend(costs, config, months, as_of)
    out = pd.concat([out, spend], axis=1)
    out["spend"] = out["spend_lead_gen"]
    out["spend_total"] = out["spend_lead_gen"] + out["spend_nurture"] + out["spend_other"]
    out["cost_per_sql"] = safe_div(out["spend"], out["sql_total"])
    out["cost_per_sql_loaded"] = safe_div(out["spend_total"], out["sql_total"])
    out["cost_per_opportunity"] = safe_div(out["spend_total"], out["opportunities"])
    out["cpa"] = safe_div(out["spend_total"], out["customers"])
    out["share_old"] = safe_div(out["opportunities_old"], out["opportunities"])
    out["sql_share_old"] = safe_div(out["sql_old"], out["sql_total"])
    return out


def _monthly_spend(
    costs: pd.DataFrame | None, config: RoiConfig, months: pd.DatetimeIndex, as_of: pd.Timestamp
) -> pd.DataFrame:
    """spend_lead_gen, spend_nurture, spend_other per month (NaN for all when there are no costs)."""
    cols = ["spend_lead_gen", "spend_nurture", "spend_other"]
    if costs is None:
        return pd.DataFrame(np.nan, index=range(len(months)), columns=cols)
    require_columns(costs, ["period_start", "amount"], table="costs")
    c = costs.loc[costs["period_start"] <= as_of]
    month = c["period_start"].dt.to_period("M").dt.to_timestamp()
    if "program" in c:
        prog = c["program"].astype("str").fillna("")
        kind = np.where(
            prog == config.lead_gen_program,
            "spend_lead_gen",
            np.where(prog == config.nurture_program, "spend_nurture", "spend_other"),
        )
    else:
        kind = np.full(len(c), "spend_lead_gen")
    frame = pd.DataFrame(
        {"month": month.to_numpy(), "kind": kind, "amount": c["amount"].to_numpy()}
    )
    table = frame.pivot_table(index="month", columns="kind", values="amount", aggfunc="sum")
    table = table.reindex(index=months, columns=cols).fillna(0.0)
    return table.reset_index(drop=True).astype(float)


#: how each column of :func:`period_summary` is shown to a reader (label and kind)
PERIOD_COLUMNS: dict[str, Column] = {
    "period": Column("Period", Kind.TEXT),
    "months": Column("Complete months", Kind.COUNT),
    "first_month": Column("First month", Kind.DATE),
    "last_month": Column("Last month", Kind.DATE),
    "leads_created": Column("Leads created a month", Kind.COUNT),
    "sql_new": Column("New-lead SQLs a month", Kind.COUNT),
    "sql_old": Column("Old-lead SQLs a month", Kind.COUNT),
    "sql_total": Column("SQLs a month", Kind.COUNT),
    "old_exposure": Column("Old leads not yet qualified (lead-months a month)", Kind.COUNT),
    "opportunities_new": Column("Opportunities from new leads a month", Kind.COUNT),
    "opportunities_old": Column("Opportunities from old leads a month", Kind.COUNT),
    "opportunities": Column("Opportunities a month", Kind.COUNT),
    "customers": Column("Customers a month", Kind.COUNT),
    "spend_lead_gen": Column("Lead-generation spend a month", Kind.MONEY),
    "spend_nurture": Column("Nurture spend a month", Kind.MONEY),
    "spend_other": Column("Other spend a month", Kind.MONEY),
    "spend": Column("Lead-generation spend a month", Kind.MONEY),
    "spend_total": Column("Total spend a month", Kind.MONEY),
    "old_sql_rate": Column(
        "Old leads qualifying a month", Kind.RATE, "old-lead SQLs per old lead-month"
    ),
    "cost_per_sql": Column("Cost per SQL", Kind.MONEY, "lead-generation spend / SQLs"),
    "cost_per_sql_loaded": Column("Cost per SQL, fully loaded", Kind.MONEY, "all spend / SQLs"),
    "cost_per_opportunity": Column("Cost per opportunity", Kind.MONEY, "all spend"),
    "cpa": Column("Cost per customer (CPA)", Kind.MONEY, "all spend / customers"),
    "share_old": Column("Old leads' share of opportunities", Kind.RATE),
    "sql_share_old": Column("Old leads' share of SQLs", Kind.RATE),
}


def period_summary(monthly: pd.DataFrame) -> pd.DataFrame:
    """Before and after rows from :func:`monthly_roi` (transition months left out).

    Counts and spend are monthly averages; ratios are ratios of the period's sums (not means of
    monthly ratios).

    Parameters
    ----------
    monthly
        :func:`monthly_roi`.

    Returns
    -------
    pandas.DataFrame
        One row per period present (before, after): period, months, first_month, last_month,
        leads_created, sql_new, sql_old, sql_total, old_exposure, opportunities_new,
        opportunities_old, opportunities, customers, spend_lead_gen, spend_nurture, spend_other,
        spend, spend_total (monthly averages), old_sql_rate (old SQLs per old lead-month over the
        period), cost_per_sql, cost_per_sql_loaded, cost_per_opportunity, cpa, share_old,
        sql_share_old.

    Examples
    --------
    >>> monthly = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...     "period": ["before", "after"], "sql_total": [10.0, 20.0]})
    >>> for c in ("leads_created", "sql_new", "sql_old", "old_exposure", "opportunities_new",
    ...           "opportunities_old", "opportunities", "customers", "spend_lead_gen",
    ...           "spend_nurture", "spend_other", "spend_total"):
    ...     monthly[c] = 1.0
    >>> monthly["spend"] = [1000.0, 1000.0]
    >>> print(period_summary(monthly)[["period", "months", "sql_total", "cost_per_sql"]])
       period  months  sql_total  cost_per_sql
    0  before       1       10.0         100.0
    1   after       1       20.0          50.0
    """
    rows = []
    for period in ("before", "after"):
        m = monthly.loc[monthly["period"] == period]
        if m.empty:
            continue
        n = len(m)
        sums = m.drop(columns=["month", "period"]).sum(min_count=1)
        row: dict[str, Any] = {
            "period": period,
            "months": n,
            "first_month": m["month"].min(),
            "last_month": m["month"].max(),
        }
        for col in (
            "leads_created",
            "sql_new",
            "sql_old",
            "sql_total",
            "old_exposure",
            "opportunities_new",
            "opportunities_old",
            "opportunities",
            "customers",
            "spend_lead_gen",
            "spend_nurture",
            "spend_other",
            "spend",
            "spend_total",
        ):
            row[col] = sums[col] / n
        row["old_sql_rate"] = safe_div(sums["sql_old"], sums["old_exposure"])
        row["cost_per_sql"] = safe_div(sums["spend"], sums["sql_total"])
        row["cost_per_sql_loaded"] = safe_div(sums["spend_total"], sums["sql_total"])
        row["cost_per_opportunity"] = safe_div(sums["spend_total"], sums["opportunities"])
        row["cpa"] = safe_div(sums["spend_total"], sums["customers"])
        row["share_old"] = safe_div(sums["opportunities_old"], sums["opportunities"])
        row["sql_share_old"] = safe_div(sums["sql_old"], sums["sql_total"])
        rows.append(row)
    return pd.DataFrame(rows)


#: how each column of :func:`conversion_before_after` is shown to a reader
CONVERSION_COLUMNS: dict[str, Column] = {
    "from_stage": Column("From stage", Kind.TEXT),
    "to_stage": Column("To stage", Kind.TEXT),
    "period": Column("Period", Kind.TEXT),
    "cohort_start": Column("Leads created from", Kind.DATE),
    "cohort_end": Column("Leads created to", Kind.DATE),
    "n_from": Column("Leads at the from stage", Kind.COUNT),
    "n_to": Column("Of which converted", Kind.COUNT),
    "rate": Column("Conversion rate", Kind.RATE),
    "ci_low": Column("95% CI low", Kind.RATE),
    "ci_high": Column("95% CI high", Kind.RATE),
}


def conversion_before_after(
    stage_dates: pd.DataFrame,
    config: RoiConfig,
    as_of: pd.Timestamp,
    *,
    qualified_stage: str = "sql",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The four conversion rates (lead->mql, mql->sql, mql->opportunity, mql->customer,
    :data:`leadnb.funnel.stages.ARTICLE_PAIRS`) for lead cohorts created before vs after the nurture
    start, like with like.

    A lead counts as converted when it reached the stage within ``conversion_window_days`` of its
    creation. Only cohorts whose whole window is observed and on one side of the start are used:
    before = created at least ``conversion_window_days`` before the start; after = created on or
    after the start and at least the window before ``as_of``. The from-stage must also be reached
    within the window.

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`).
    config
        The ``roi`` section (``nurture_start``, ``conversion_window_days``).
    as_of
        The analysis date.
    qualified_stage
        The stage that plays "sql" in the pairs.
    alpha
        1 - the intervals' coverage.

    Returns
    -------
    pandas.DataFrame
        One row per pair and period: from_stage, to_stage, period, cohort_start, cohort_end,
        n_from, n_to, rate, ci_low, ci_high (Wilson, :func:`leadnb.intervals.wilson`).

    Raises
    ------
    ParamsError
        When ``roi.nurture_start`` is not set.
    NotEnoughData
        When one side has no cohort yet: no lead created at least the window before the start (it
        cannot appear with this start date), or no lead created since the start whose window has
        closed (the sentence names the first run date that has one).

    Examples
    --------
    >>> from leadnb.roi.params import RoiConfig
    >>> created = pd.to_datetime(["2025-01-01", "2025-01-02", "2025-03-01", "2025-03-02"])
    >>> sd = pd.DataFrame({"lead_id": list("abcd"), "created_at": created, "lead_at": created,
    ...     "mql_at": created + pd.Timedelta(days=1),
    ...     "sql_at": pd.to_datetime(["2025-01-10", None, "2025-03-05", "2025-03-06"])})
    >>> cfg = RoiConfig(nurture_start=pd.Timestamp("2025-03-01"), conversion_window_days=30)
    >>> t = conversion_before_after(sd, cfg, pd.Timestamp("2025-06-30"))
    >>> print(t[["from_stage", "to_stage", "period", "n_from", "n_to", "rate"]])
      from_stage to_stage  period  n_from  n_to  rate
    0       lead      mql  before       2     2   1.0
    1       lead      mql   after       2     2   1.0
    2        mql      sql  before       2     1   0.5
    3        mql      sql   after       2     2   1.0
    """
    if config.nurture_start is None:
        raise ParamsError(
            "roi.nurture_start is not set: there is no before/after split",
            fix='set roi.nurture_start: "YYYY-MM-DD" (the date the nurture programme started)',
        )
    as_of = pd.Timestamp(as_of)
    sd = clip_as_of(stage_dates, as_of)
    w = pd.Timedelta(days=config.conversion_window_days)
    days = config.conversion_window_days
    start = config.nurture_start
    first = stage_dates["created_at"].min()
    if pd.isna(first) or not first < start - w:
        shown = "" if pd.isna(first) else f" (the first lead was created on {date_text(first)})"
        raise NotEnoughData(
            f"no lead was created at least {days} days (roi.conversion_window_days) before the "
            f"nurture start ({date_text(start)}){shown}, so there are no before cohorts",
            "the conversion rates cannot appear with this start date (a shorter "
            "roi.conversion_window_days would allow them)",
        )
    since = sd.loc[sd["created_at"] >= start, "created_at"]
    if not (since < as_of - w).any():
        # the first after-cohort lead counts once as_of - window is past its creation
        c0 = since.min() if len(since) else start
        raise NotEnoughData(
            f"no lead created since the nurture start ({date_text(start)}) has had its {days}-day window "
            f"close by {date_text(as_of)}",
            f"the conversion rates appear in the run of {date_text((c0 + w).floor('D') + asof.ONE_DAY)} "
            "or later",
        )
    cohorts = {
        "before": (first.normalize(), start - w),
        "after": (start, as_of - w),
    }
    rows = []
    for frm, to in ARTICLE_PAIRS:
        to = qualified_stage if to == "sql" else to
        frm_col = "created_at" if frm == "lead" else _col(frm)
        if frm_col not in sd or _col(to) not in sd:
            continue
        for period, (lo, hi) in cohorts.items():
            c = sd.loc[(sd["created_at"] >= lo) & (sd["created_at"] < hi)]
            deadline = c["created_at"] + w
            reached_from = c[frm_col].notna() & (c[frm_col] <= deadline)
            reached_to = reached_from & c[_col(to)].notna() & (c[_col(to)] <= deadline)
            n_from, n_to = int(reached_from.sum()), int(reached_to.sum())
            low, high = wilson(n_to, n_from, alpha=alpha)
            rows.append(
                {
                    "from_stage": frm,
                    "to_stage": to,
                    "period": period,
                    "cohort_start": lo,
                    "cohort_end": hi - pd.Timedelta(days=1),
                    "n_from": n_from,
                    "n_to": n_to,
                    "rate": n_to / n_from if n_from else np.nan,
                    "ci_low": float(low),
                    "ci_high": float(high),
                }
            )
    return pd.DataFrame(rows)


def conversion_shown(conversion: pd.DataFrame) -> pd.DataFrame:
    """:func:`conversion_before_after` for a reader: stages by the funnel's display names
    (:func:`leadnb.funnel.stages.with_stage_names`), periods capitalised (the columns are
    labelled and formatted by :data:`CONVERSION_COLUMNS`).

    >>> t = pd.DataFrame({"from_stage": ["mql"], "to_stage": ["sql"], "period": ["after"]})
    >>> conversion_shown(t).to_dict("records")
    [{'from_stage': 'MQL', 'to_stage': 'SQL', 'period': 'After'}]
    """
    out = with_stage_names(conversion)
    out["period"] = out["period"].str.capitalize()
    return out


#: the columns of :func:`period_shown` (already formatted text, one kind per row)
PERIOD_SHOWN_COLUMNS: dict[str, Column] = {
    "measure": Column("Monthly average or ratio", Kind.TEXT),
    "before": Column("Before the nurture start", Kind.TEXT),
    "after": Column("After the nurture start", Kind.TEXT),
}


def period_shown(periods: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """:func:`period_summary` turned for a reader: one row per measure (its label from
    :data:`PERIOD_COLUMNS`), one column per period, each number formatted from its row's kind.

    Parameters
    ----------
    periods
        :func:`period_summary`.
    measures
        The columns of ``periods`` to show, in order (each declared in :data:`PERIOD_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        measure, then before and after (those present) as text; :data:`PERIOD_SHOWN_COLUMNS`
        labels them.

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["before", "after"], "months": [9, 8],
    ...     "cost_per_sql": [4361.2, 1013.4], "share_old": [0.25, 0.4]})
    >>> print(period_shown(p, ["months", "cost_per_sql", "share_old"]).to_string(index=False))
                              measure before after
                      Complete months      9     8
                         Cost per SQL  4,361 1,013
    Old leads' share of opportunities  25.0% 40.0%
    """
    p = periods.set_index("period")
    out = pd.DataFrame({"measure": [PERIOD_COLUMNS[m].label for m in measures]})
    for period in p.index:
        out[period] = [PERIOD_COLUMNS[m].shown(p.loc[period, m]) for m in measures]
    return out


def comparison_missing(
    months_before: int,
    months_after: int,
    *,
    nurture_start: pd.Timestamp | None = None,
    as_of: pd.Timestamp | None = None,
    new_lead_days: int | None = None,
    first_created: pd.Timestamp | None = None,
) -> NotEnoughData:
    """The :class:`NotEnoughData` of a before/after comparison with too few complete months
    (``months_before`` with old leads, ``months_after``): what is missing, and the run date from
    which it appears (:func:`comparison_date`), or why it cannot appear with this start date.

    >>> print(comparison_missing(9, 1, nurture_start=pd.Timestamp("2025-10-01"),
    ...     as_of=pd.Timestamp("2025-11-15"), new_lead_days=30,
    ...     first_created=pd.Timestamp("2025-01-01")).sentence())
    The before/after comparison needs 2 complete months after the nurture start (2025-10-01) and has 1 (2025-10); it appears in the run of 2025-11-30 or later.
    """
    need = MIN_MONTHS
    if nurture_start is None or as_of is None or first_created is None or pd.isna(first_created):
        return NotEnoughData(
            f"the before/after comparison needs {need} complete months with old leads on each "
            f"side of the nurture start and has {months_before} before, {months_after} after",
            "it appears once both sides have them",
        )
    days = 30 if new_lead_days is None else int(new_lead_days)
    start, as_of = pd.Timestamp(nurture_start), pd.Timestamp(as_of)
    first_old = pd.Timestamp(first_created) + pd.Timedelta(days=days)
    ready = comparison_date(first_created, start, new_lead_days=days, min_months=need)
    earliest_start = _month_start(first_old) + pd.offsets.MonthBegin(need)
    never = (
        f"it cannot appear with this start date: the first lead turned old on {date_text(first_old)}, "
        f"so roi.nurture_start must be {date_text(earliest_start)} or later (or load earlier history)"
    )
    when = never if ready is None else f"it appears in the run of {date_text(ready)} or later"
    if first_old >= asof.day_end(as_of):
        return NotEnoughData(
            f"no lead is old yet on {date_text(as_of)} (a lead is old {days} days after it is created; "
            f"the first lead turns old on {date_text(first_old)}), so there is no before/after comparison",
            when,
        )
    if as_of < start:
        return NotEnoughData(
            f"the analysis date {date_text(as_of)} is before the nurture start ({date_text(start)}): the "
            f"before/after comparison needs {need} complete months after the start and has none",
            when,
        )
    if months_after < need:
        first_after = _first_month_from(start)
        shown = "" if months_after == 0 else f" ({first_after:%Y-%m})"
        return NotEnoughData(
            f"the before/after comparison needs {need} complete months after the nurture start "
            f"({date_text(start)}) and has {months_after}{shown}",
            when,
        )
    if ready is None:
        return NotEnoughData(
            f"the before/after comparison needs {need} complete months with old leads before the "
            f"nurture start ({date_text(start)}) and has {months_before}",
            never,
        )
    return NotEnoughData(
        f"the before/after comparison needs {need} complete months with old leads (leads not yet "
        f"qualified {days} days or more after their creation) before the nurture start "
        f"({date_text(start)}) and has {months_before}: leads qualified before they turned old",
        "it cannot appear with this start date and stage history",
    )


__all__ = [
    "CONVERSION_COLUMNS",
    "MIN_MONTHS",
    "PERIOD_COLUMNS",
    "PERIOD_SHOWN_COLUMNS",
    "comparison_date",
    "comparison_missing",
    "conversion_before_after",
    "conversion_shown",
    "monthly_roi",
    "period_shown",
    "period_summary",
    "run_date_for",
]
