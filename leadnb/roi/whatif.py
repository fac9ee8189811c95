"""The article's worked example as a calculator: before and after nurturing, from planning numbers.

Design. Parameters only, no data: :class:`~leadnb.roi.params.ScenarioInputs` holds the numbers a
planner knows (new leads a month, SQLs from new and from existing leads, the nurture lift on
existing leads, the lead-generation budget, opportunities from new and old leads...).
:func:`scenario_table` turns them into a *before* and an *after* row; :func:`scenario_summary`
into a metric-by-metric table of changes; :func:`sensitivity_grid` evaluates the same formulas
over a grid of lift x budget (one vectorised call). The defaults are the article's numbers, so
``ScenarioInputs()`` reproduces its table exactly: 120 -> 180 SQLs a month (+50%), cost per SQL
750 -> 500 (-33.3%), opportunities 300 -> 400 (+33.3%), old leads' share of opportunities
1/3 -> 1/2.

**Cost per SQL** is, as in the article, the *lead-generation* budget divided by SQLs (headline
``cost_per_sql``): nurturing turns leads already paid for into SQLs, so the lead-generation cost
per SQL falls. Nurturing is not free, so the table also shows ``cost_per_sql_loaded`` =
(lead generation + nurture cost) / SQLs, the fully-loaded variant. Cost per opportunity and CPA
are always fully loaded (all marketing spend).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadnb.errors import ParamsError
from leadnb.results import Column, Kind, format_value
from leadnb.roi.params import ScenarioInputs


def safe_div(a: Any, b: Any) -> Any:
    """``a / b`` with NaN where ``b`` is 0 (scalars and arrays, broadcast).

    Returns
    -------
    float or numpy.ndarray
        The quotient; a 0-d result comes back as a NumPy scalar.

    Examples
    --------
    >>> safe_div([1.0, 2.0], [2.0, 0.0]).tolist()
    [0.5, nan]
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out[()] if out.ndim == 0 else out


def _scenario_after(
    inputs: ScenarioInputs, lift: Any, budget: Any, nurture_cost: Any
) -> dict[str, Any]:
    """The 'after' figures for arrays of lift, lead-gen budget and nurture cost (broadcast)."""
    lift = np.asarray(lift, dtype=float)
    budget = np.asarray(budget, dtype=float)
    nurture_cost = np.asarray(nurture_cost, dtype=float)
    sql_old = inputs.sql_from_existing * lift
    sql_total = inputs.sql_from_new + sql_old
    # old leads' opportunities grow with the lift in the scenario's proportion:
    # opp_lift(lift) passes through (1, 1) and (nurture_lift, scenario's opportunity lift)
    base_opp_lift = safe_div(inputs.opportunities_old_after_value, inputs.opportunities_old)
    if inputs.nurture_lift != 1 and not np.isnan(base_opp_lift):
        opp_lift = 1 + (base_opp_lift - 1) * (lift - 1) / (inputs.nurture_lift - 1)
    else:
        opp_lift = lift
    opp_old = inputs.opportunities_old * opp_lift
    opps = inputs.opportunities_new + opp_old
    out = {
        "sql_old": sql_old,
        "sql_total": sql_total,
        "cost_per_sql": safe_div(budget, sql_total),
        "cost_per_sql_loaded": safe_div(budget + nurture_cost, sql_total),
        "opportunities_old": opp_old,
        "opportunities": opps,
        "roi": _roi(inputs, opps, nurture_cost),
    }
    return out


def _roi(inputs: ScenarioInputs, opps_after: Any, nurture_cost: Any) -> Any:
    """(incremental won value a month - nurture cost a month) / nurture cost; NaN when unknown."""
    if inputs.win_rate is None or inputs.deal_value is None:
        return np.full(np.broadcast(opps_after, nurture_cost).shape, np.nan)[()]
    opps_before = inputs.opportunities_new + inputs.opportunities_old
    gain = (np.asarray(opps_after) - opps_before) / inputs.opportunity_months
    value = gain * inputs.win_rate * inputs.deal_value
    return safe_div(value - nurture_cost, nurture_cost)


#: how each column of :func:`scenario_table` is shown to a reader (label and kind)
SCENARIO_COLUMNS: dict[str, Column] = {
    "scenario": Column("Scenario", Kind.TEXT),
    "new_leads": Column("New leads a month", Kind.COUNT),
    "existing_leads": Column("Leads in the database", Kind.COUNT),
    "sql_new": Column("New-lead SQLs a month", Kind.COUNT),
    "sql_old": Column("Old-lead SQLs a month", Kind.COUNT),
    "sql_total": Column("SQLs a month", Kind.COUNT),
    "sql_rate_new": Column("New leads becoming SQLs", Kind.RATE),
    "sql_rate_old": Column("Old leads becoming SQLs", Kind.RATE),
    "nurture_lift": Column("Nurture lift on old leads", Kind.MULTIPLIER),
    "spend": Column("Lead-generation budget a month", Kind.MONEY),
    "nurture_cost": Column("Nurture cost a month", Kind.MONEY),
    "spend_total": Column("Total spend a month", Kind.MONEY),
    "cost_per_sql": Column("Cost per SQL", Kind.MONEY, "lead-generation budget / SQLs"),
    "cost_per_sql_loaded": Column(
        "Cost per SQL, fully loaded", Kind.MONEY, "(lead generation + nurture cost) / SQLs"
    ),
    "opportunities_new": Column("Opportunities from new leads", Kind.COUNT),
    "opportunities_old": Column("Opportunities from old leads", Kind.COUNT),
    "opportunities": Column("Opportunities", Kind.COUNT),
    "share_old": Column("Old leads' share of opportunities", Kind.RATE),
    "sql_share_old": Column("Old leads' share of SQLs", Kind.RATE),
    "cost_per_opportunity": Column("Cost per opportunity", Kind.MONEY, "fully loaded"),
    "sql_total_change": Column("Change in SQLs", Kind.CHANGE),
    "cost_per_sql_change": Column("Change in cost per SQL", Kind.CHANGE),
    "opportunities_change": Column("Change in opportunities", Kind.CHANGE),
    "pipeline_value": Column("Pipeline value", Kind.MONEY, "opportunities x deal value"),
    "won_value": Column("Expected won value", Kind.MONEY, "pipeline value x win rate"),
    "roi": Column("Nurture ROI", Kind.RATE, "(extra won value - nurture cost) / nurture cost"),
}


def scenario_table(inputs: ScenarioInputs) -> pd.DataFrame:
    """Before and after rows of the calculator (per month; opportunities per
    ``opportunity_months``).

    Parameters
    ----------
    inputs
        The planning numbers (``roi.scenario``); the defaults are the article's.

    Returns
    -------
    pandas.DataFrame
        Two rows (scenario "before", "after"): scenario, new_leads, existing_leads, sql_new,
        sql_old, sql_total, sql_rate_new, sql_rate_old, nurture_lift, spend (lead generation),
        nurture_cost, spend_total, cost_per_sql (lead generation only, the article's),
        cost_per_sql_loaded (with nurture), opportunities_new, opportunities_old, opportunities,
        share_old (old leads' share of opportunities), sql_share_old, cost_per_opportunity (fully
        loaded, spend over the opportunity period), the change columns sql_total_change,
        cost_per_sql_change, opportunities_change (relative to before, as fractions), and, with win
        rate and deal value, pipeline_value (opportunities x deal value), won_value (x win rate)
        and roi (after row only).

    Examples
    --------
    >>> t = scenario_table(ScenarioInputs())
    >>> t[["sql_total", "cost_per_sql", "opportunities", "share_old"]].round(4).to_numpy().tolist()
    [[120.0, 750.0, 300.0, 0.3333], [180.0, 500.0, 400.0, 0.5]]
    """
    i = inputs
    after = _scenario_after(i, i.nurture_lift, i.lead_gen_budget, i.nurture_cost)
    opp_old_before = i.opportunities_old
    rows = {
        "scenario": ["before", "after"],
        "new_leads": [i.new_leads_per_month] * 2,
        "existing_leads": [i.existing_leads] * 2,
        "sql_new": [i.sql_from_new] * 2,
        "sql_old": [i.sql_from_existing, float(after["sql_old"])],
        "nurture_lift": [1.0, i.nurture_lift],
        "spend": [i.lead_gen_budget] * 2,
        "nurture_cost": [0.0, i.nurture_cost],
        "opportunities_new": [i.opportunities_new] * 2,
        "opportunities_old": [opp_old_before, i.opportunities_old_after_value],
    }
    t = pd.DataFrame(rows)
    t["sql_total"] = t["sql_new"] + t["sql_old"]
    t["sql_rate_new"] = safe_div(t["sql_new"], t["new_leads"])
    t["sql_rate_old"] = safe_div(t["sql_old"], t["existing_leads"])
    t["spend_total"] = t["spend"] + t["nurture_cost"]
    t["cost_per_sql"] = safe_div(t["spend"], t["sql_total"])
    t["cost_per_sql_loaded"] = safe_div(t["spend_total"], t["sql_total"])
    t["opportunities"] = t["opportunities_new"] + t["opportunities_old"]
    t["share_old"] = safe_div(t["opportunities_old"], t["opportunities"])
    t["sql_share_old"] = safe_div(t["sql_old"], t["sql_total"])
    t["cost_per_opportunity"] = safe_div(
        t["spend_total"] * i.opportunity_months, t["opportunities"]
    )
    for col in ("sql_total", "cost_per_sql", "opportunities"):
        base = t[col].iloc[0]
        t[f"{col}_change"] = safe_div(t[col] - base, base)
    if i.win_rate is not None and i.deal_value is not None:
        t["pipeline_value"] = t["opportunities"] * i.deal_value
        t["won_value"] = t["pipeline_value"] * i.win_rate
        roi = _roi(i, t["opportunities"].iloc[1], i.nurture_cost)
        t["roi"] = [np.nan, float(roi)]
    order = [
        "scenario",
        "new_leads",
        "existing_leads",
        "sql_new",
        "sql_old",
        "sql_total",
        "sql_rate_new",
        "sql_rate_old",
        "nurture_lift",
        "spend",
        "nurture_cost",
        "spend_total",
        "cost_per_sql",
        "cost_per_sql_loaded",
        "opportunities_new",
        "opportunities_old",
        "opportunities",
        "share_old",
        "sql_share_old",
        "cost_per_opportunity",
    ]
    return t[order + [c for c in t.columns if c not in order]]


ARTICLE_FIGURES = {
    "sql_total": (120.0, 180.0),
    "cost_per_sql": (750.0, 500.0),
    "opportunities": (300.0, 400.0),
    "share_old": (1 / 3, 0.5),
}


def matches_article(table: pd.DataFrame) -> bool:
    """Whether a :func:`scenario_table` reproduces the article's four headline figures.

    SQLs 120 -> 180, cost per SQL 750 -> 500, opportunities 300 -> 400, old share 1/3 -> 1/2
    (:data:`ARTICLE_FIGURES`).

    Returns
    -------
    bool

    Examples
    --------
    >>> matches_article(scenario_table(ScenarioInputs()))
    True
    >>> matches_article(scenario_table(ScenarioInputs(nurture_lift=2.0)))
    False
    """
    t = table.set_index("scenario")
    return all(
        math.isclose(float(t.loc["before", c]), b) and math.isclose(float(t.loc["after", c]), a)
        for c, (b, a) in ARTICLE_FIGURES.items()
    )


SUMMARY_METRICS = (
    ("sql_new", "SQLs a month from new leads (< 30 days)"),
    ("sql_old", "SQLs a month from existing (old) leads"),
    ("sql_total", "SQLs a month"),
    ("spend", "Lead-generation budget a month"),
    ("cost_per_sql", "Cost per SQL (lead-generation budget)"),
    ("cost_per_sql_loaded", "Cost per SQL, fully loaded (with nurture cost)"),
    ("opportunities_new", "Opportunities from new leads"),
    ("opportunities_old", "Opportunities from old leads"),
    ("opportunities", "Opportunities"),
    ("share_old", "Old leads' share of opportunities"),
)


def scenario_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per metric of :func:`scenario_table`, before against after.

    Parameters
    ----------
    table
        :func:`scenario_table`.

    Returns
    -------
    pandas.DataFrame
        metric, label (for a reader), before, after, change (after - before), change_pct
        (percent change; NaN where before is 0), kind (the metric's :class:`~leadnb.results.Kind`,
        from :data:`SCENARIO_COLUMNS`). With win rate and deal value, a won_value row too.

    Examples
    --------
    >>> s = scenario_summary(scenario_table(ScenarioInputs())).set_index("metric")
    >>> s.loc["cost_per_sql", ["before", "after", "change_pct"]].round(1).tolist()
    [750.0, 500.0, -33.3]
    """
    before = table.set_index("scenario").loc["before"]
    after = table.set_index("scenario").loc["after"]
    metrics = list(SUMMARY_METRICS)
    if "roi" in table.columns:
        metrics.append(("won_value", "Expected won value (opportunities x win rate x deal value)"))
    out = pd.DataFrame(
        {
            "metric": [m for m, _ in metrics],
            "label": [lab for _, lab in metrics],
            "before": [float(before[m]) for m, _ in metrics],
            "after": [float(after[m]) for m, _ in metrics],
        }
    )
    out["change"] = out["after"] - out["before"]
    out["change_pct"] = safe_div(out["change"], out["before"]) * 100
    out["kind"] = [str(SCENARIO_COLUMNS[m].kind) for m, _ in metrics]
    return out


#: the columns of :func:`summary_shown` (already formatted text, one kind per row)
SUMMARY_COLUMNS: dict[str, Column] = {
    "label": Column("Measure", Kind.TEXT),
    "before": Column("Before nurturing", Kind.TEXT),
    "after": Column("After nurturing", Kind.TEXT),
    "change": Column("Change", Kind.TEXT),
    "change_pct": Column("Relative change", Kind.TEXT),
}


def summary_shown(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`scenario_summary` for a reader: each row's numbers formatted from its kind.

    Before, after and the change take the row's kind (a change of a rate in points), the
    relative change is signed (``"+50.0%"``).

    Parameters
    ----------
    summary
        :func:`scenario_summary`.

    Returns
    -------
    pandas.DataFrame
        label, before, after, change, change_pct as text (:data:`SUMMARY_COLUMNS` labels them).

    Examples
    --------
    >>> s = summary_shown(scenario_summary(scenario_table(ScenarioInputs())))
    >>> s.loc[4, ["before", "after", "change", "change_pct"]].tolist()
    ['750', '500', '-250', '-33.3%']
    >>> s.loc[9, ["before", "after", "change", "change_pct"]].tolist()
    ['33.3%', '50.0%', '+16.7 pts', '+50.0%']
    """
    rows = []
    for r in summary.itertuples(index=False):
        kind = Kind(r.kind)
        rows.append(
            {
                "label": r.label,
                "before": format_value(r.before, kind),
                "after": format_value(r.after, kind),
                "change": format_value(r.change, Kind.POINTS if kind is Kind.RATE else kind),
                "change_pct": format_value(r.change_pct / 100, Kind.CHANGE),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def sensitivity_grid(
    inputs: ScenarioInputs,
    lifts: Sequence[float],
    budgets: Sequence[float],
    budget: str = "lead_gen_budget",
) -> pd.DataFrame:
    """Cost per SQL and ROI after nurturing over a grid of nurture lift x budget.

    Old leads' opportunities follow the lift in the scenario's own proportion (the line through
    lift 1 -> 1x and the scenario's lift -> its opportunity lift). One vectorised evaluation of the
    calculator's formulas.

    Parameters
    ----------
    inputs
        The planning numbers.
    lifts
        Nurture lifts (first axis).
    budgets
        Values of the input named by ``budget`` (second axis).
    budget
        ``"lead_gen_budget"`` (cost per SQL moves) or ``"nurture_cost"`` (ROI and the
        fully-loaded cost per SQL move).

    Returns
    -------
    pandas.DataFrame
        One row per lift x budget: nurture_lift, <budget>, sql_total, cost_per_sql,
        cost_per_sql_loaded, opportunities, roi (NaN without win rate and deal value).

    Raises
    ------
    ParamsError
        When ``budget`` names another input.

    Examples
    --------
    >>> g = sensitivity_grid(ScenarioInputs(), [1.0, 2.5], [90_000.0])
    >>> g[["nurture_lift", "lead_gen_budget", "sql_total", "cost_per_sql"]].to_numpy().tolist()
    [[1.0, 90000.0, 120.0, 750.0], [2.5, 90000.0, 180.0, 500.0]]
    """
    if budget not in ("lead_gen_budget", "nurture_cost"):
        raise ParamsError(
            f"budget must be 'lead_gen_budget' or 'nurture_cost', got {budget!r}",
            fix="pass budget='lead_gen_budget' or budget='nurture_cost'",
        )
    lift, b = np.meshgrid(np.asarray(lifts, float), np.asarray(budgets, float), indexing="ij")
    lg = b if budget == "lead_gen_budget" else np.full_like(b, inputs.lead_gen_budget)
    nc = b if budget == "nurture_cost" else np.full_like(b, inputs.nurture_cost)
    after = _scenario_after(inputs, lift, lg, nc)
    roi = np.broadcast_to(np.asarray(after["roi"], float), lift.shape)
    return pd.DataFrame(
        {
            "nurture_lift": lift.ravel(),
            budget: b.ravel(),
            "sql_total": np.broadcast_to(after["sql_total"], lift.shape).ravel(),
            "cost_per_sql": np.broadcast_to(after["cost_per_sql"], lift.shape).ravel(),
            "cost_per_sql_loaded": np.broadcast_to(
                after["cost_per_sql_loaded"], lift.shape
            ).ravel(),
            "opportunities": np.broadcast_to(after["opportunities"], lift.shape).ravel(),
            "roi": roi.ravel(),
        }
    )


__all__ = [
    "ARTICLE_FIGURES",
    "SCENARIO_COLUMNS",
    "SUMMARY_COLUMNS",
    "matches_article",
    "safe_div",
    "scenario_summary",
    "scenario_table",
    "sensitivity_grid",
    "summary_shown",
]
