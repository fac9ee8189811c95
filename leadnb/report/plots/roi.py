"""Charts of the nurture ROI notebook. Each takes a table computed by :mod:`leadnb.roi` and
returns a matplotlib Figure whose title states the finding (numbers through
:func:`leadnb.results.format_value`); nothing here computes a statistic beyond reading the table,
and no theme is set here (:func:`leadnb.report.plots.set_theme` does it). Rates are drawn on
percent axes, the heatmaps on a single-hue scale (costs) or a blue-orange one around break-even
(ROI), never red-green."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leadnb.report.plots import (
    BLACK,
    BLUE,
    DIVERGING,
    GREY,
    SEQUENTIAL,
    SKY_BLUE,
    display_name,
    figure_kwargs,
    label_ends,
    percent_axis,
    set_finding,
)
from leadnb.results import Kind, format_value

NEW, OLD = SKY_BLUE, BLUE
BUDGET_LABELS = {
    "lead_gen_budget": "Lead-generation budget a month",
    "nurture_cost": "Nurture cost a month",
}
VALUE_NAMES = {
    "cost_per_sql": "Cost per SQL",
    "cost_per_sql_loaded": "Fully loaded cost per SQL",
    "roi": "Nurture ROI",
}


def _money(x: float) -> str:
    return format_value(x, Kind.MONEY)


def _in(currency: str | None) -> str:
    return f" ({currency})" if currency else ""


def _top(values: Any, margin: float) -> float:
    """An upper y limit: the largest finite value times ``margin`` (1 when there is none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) * margin if len(v) and v.max() > 0 else 1.0


def plot_scenario(table: pd.DataFrame, *, currency: str | None = None) -> Figure:
    """SQLs a month from new and old leads, and cost per SQL, before vs after nurturing.

    Parameters
    ----------
    table
        :func:`leadnb.roi.whatif.scenario_table` (rows ``before`` and ``after``: ``sql_new``,
        ``sql_old``, ``sql_total``, ``cost_per_sql``, ``cost_per_sql_loaded``).
    currency
        Named on the cost axis (``EUR``), or None.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: stacked SQLs (total above each bar) and the two costs per SQL (each labelled).

    Examples
    --------
    >>> from leadnb.roi.params import ScenarioInputs
    >>> from leadnb.roi.whatif import scenario_table
    >>> fig = plot_scenario(scenario_table(ScenarioInputs()))
    >>> fig.get_suptitle()
    'Nurturing turns 120 into 180 SQLs a month (+50.0%) at the same budget: cost per SQL falls from 750 to 500'
    >>> plt.close(fig)
    """
    t = table.set_index("scenario").loc[["before", "after"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.6), **figure_kwargs())
    x = np.arange(2)
    ticks = ["Before nurturing", "After nurturing"]
    ax1.bar(x, t["sql_new"], color=NEW, label="New leads (< 30 days)", width=0.6)
    ax1.bar(x, t["sql_old"], bottom=t["sql_new"], color=OLD, label="Existing leads", width=0.6)
    label_ends(ax1, x, t["sql_total"].to_numpy(float),
               [format_value(v, Kind.COUNT) for v in t["sql_total"]], horizontal=False)  # fmt: skip
    ax1.set_xticks(x, ticks)
    ax1.set_ylabel("SQLs a month")
    ax1.legend(loc="upper left", frameon=False)
    ax1.set_ylim(0, _top(t["sql_total"], 1.3))
    w = 0.38
    for dx, col, color, label in (
        (-w / 2, "cost_per_sql", BLUE, "Lead-generation budget only"),
        (w / 2, "cost_per_sql_loaded", GREY, "Fully loaded (+ nurture)"),
    ):
        v = t[col].to_numpy(float)
        ax2.bar(x + dx, v, w, color=color, label=label)
        label_ends(ax2, x + dx, v, [_money(c) for c in v], horizontal=False)
    ax2.set_xticks(x, ticks)
    ax2.set_ylabel(f"Cost per SQL{_in(currency)}")
    ax2.legend(loc="upper right", frameon=False)
    ax2.set_ylim(0, _top(t[["cost_per_sql", "cost_per_sql_loaded"]].to_numpy(), 1.3))
    b, a = t.iloc[0], t.iloc[1]
    gain = (a["sql_total"] - b["sql_total"]) / b["sql_total"] if b["sql_total"] else np.nan
    verb = "falls" if a["cost_per_sql"] < b["cost_per_sql"] else "goes"
    set_finding(
        ax1,
        f"Nurturing turns {format_value(b['sql_total'], Kind.COUNT)} into "
        f"{format_value(a['sql_total'], Kind.COUNT)} SQLs a month "
        f"({format_value(gain, Kind.CHANGE)}) at the same budget: cost per SQL {verb} from "
        f"{_money(b['cost_per_sql'])} to {_money(a['cost_per_sql'])}",
        fig_title=True,
    )
    return fig


def plot_monthly(
    monthly: pd.DataFrame,
    nurture_start: pd.Timestamp | None = None,
    lift: float | None = None,
    old_table: pd.DataFrame | None = None,
) -> Figure:
    """Monthly SQLs from new and old leads (top) and old leads' SQL rate per 100 old lead-months
    (bottom, all ages together), with the nurture start marked.

    Parameters
    ----------
    monthly
        :func:`leadnb.roi.monthly.monthly_roi` (``month``, ``period``, ``sql_new``, ``sql_old``,
        ``old_exposure``, ``old_sql_rate``).
    nurture_start
        Marked on both panels.
    lift
        :func:`leadnb.roi.effect.nurture_effect`'s lift, stated in the title; without it the
        title states the rates before and after.
    old_table
        :func:`leadnb.roi.effect.old_lead_table`: makes the bottom panel the rate the lift is
        measured on (leads in experiments left out).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the month axis; the finding as the figure's title.
    """
    m = monthly
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.8), sharex=True, **figure_kwargs())
    width = pd.Timedelta(days=24)
    ax1.bar(m["month"], m["sql_new"], width=width, align="edge", color=NEW, label="New leads")
    ax1.bar(m["month"], m["sql_old"], width=width, bottom=m["sql_new"], align="edge", color=OLD,
            label="Old leads")  # fmt: skip
    ax1.set_ylabel("SQLs in the month")
    ax1.legend(loc="upper left", frameon=False)
    if old_table is not None:
        r = old_table.groupby("month")[["sql_old", "exposure"]].sum()
        r = r.loc[r["exposure"] > 0]
        ax2.plot(r.index + pd.Timedelta(days=12), r["sql_old"] / r["exposure"] * 100, marker="o",
                 color=OLD, lw=2)  # fmt: skip
        ax2.set_ylabel("Old leads' SQLs per 100\nold lead-months (all ages,\noutside experiments)")
    else:
        ax2.plot(m["month"] + pd.Timedelta(days=12), m["old_sql_rate"] * 100, marker="o",
                 color=OLD, lw=2)  # fmt: skip
        ax2.set_ylabel("Old leads' SQLs per 100\nold lead-months")
    ax2.set_ylim(bottom=0)
    ax2.set_xlabel("Month")
    title = "Monthly SQLs from new and old leads"
    last = m["month"].max() + pd.offsets.MonthBegin(1) if len(m) else None
    if nurture_start is not None and last is not None and nurture_start <= last:
        for ax in (ax1, ax2):
            ax.axvline(nurture_start, color=BLACK, linestyle="--", linewidth=1)
        ax1.text(nurture_start, ax1.get_ylim()[1] * 0.95, " Nurture starts", va="top")
        before = m.loc[m["period"] == "before"]
        after = m.loc[m["period"] == "after"]
        if lift is not None:
            title = (
                f"Old leads reach SQL {format_value(lift, Kind.MULTIPLIER)} as often since "
                "nurturing started (compared with leads of the same age before)"
            )
        elif (
            len(before)
            and len(after)
            and before["old_exposure"].sum() > 0
            and after["old_exposure"].sum() > 0
            and before["sql_old"].sum() > 0
        ):
            rb = before["sql_old"].sum() / before["old_exposure"].sum() * 100
            ra = after["sql_old"].sum() / after["old_exposure"].sum() * 100
            title = (
                f"Old leads' SQL rate went from {format_value(rb, None)} to "
                f"{format_value(ra, None)} per 100 lead-months "
                f"({format_value(ra / rb, Kind.MULTIPLIER)}) after nurturing started"
            )
    set_finding(ax1, title, fig_title=True)
    return fig


def interval_errors(rate: Any, low: Any, high: Any) -> np.ndarray:
    """Error-bar lengths (2 x n: below, above) of ``rate`` within [``low``, ``high``], never
    negative and 0 where a bound or the rate is missing, so matplotlib always accepts them (an
    interval computed in floating point can end a hair inside its rate, e.g. a Wilson interval of
    a rate of 100%).

    Returns
    -------
    numpy.ndarray
        Shape (2, n): lengths below and above each rate.

    Examples
    --------
    >>> interval_errors([0.5], [0.4], [0.7]).round(3).tolist()
    [[0.1], [0.2]]
    """
    r, lo, hi = (np.asarray(v, dtype=float) for v in (rate, low, high))
    err = np.vstack([r - lo, hi - r])
    return np.clip(np.nan_to_num(err, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def plot_conversion(conversion: pd.DataFrame) -> Figure:
    """The conversion rates, before vs after the nurture start, with their intervals.

    Parameters
    ----------
    conversion
        :func:`leadnb.roi.monthly.conversion_before_after` (``from_stage``, ``to_stage``,
        ``period``, ``rate``, ``ci_low``, ``ci_high``).

    Returns
    -------
    matplotlib.figure.Figure
        One row per step (MQL to SQL...), a point per period with its 95% interval, percent axis;
        the title names the step that moved most.
    """
    c = conversion.copy()
    c["pair"] = [f"{display_name(a)} to {display_name(b)}"
                 for a, b in zip(c["from_stage"], c["to_stage"], strict=True)]  # fmt: skip
    pairs = list(dict.fromkeys(c["pair"]))
    fig, ax = plt.subplots(figsize=(9, 2.4 + 0.8 * max(len(pairs), 1)), **figure_kwargs())
    y = np.arange(len(pairs))
    for k, (period, color, marker) in enumerate((("before", GREY, "s"), ("after", OLD, "o"))):
        d = c.loc[c["period"] == period].set_index("pair").reindex(pairs)
        yy = y + (k - 0.5) * 0.3
        err = interval_errors(d["rate"], d["ci_low"], d["ci_high"])
        ax.errorbar(d["rate"], yy, xerr=err, fmt=marker, color=color, capsize=3, ms=7,
                    label=f"{period.capitalize()} nurture start")  # fmt: skip
    ax.set_yticks(y, pairs)
    ax.set_ylim(len(pairs) - 0.4, -0.6)  # first step on top, both periods' points inside
    ax.set_xlim(left=0)
    percent_axis(ax.xaxis)
    ax.set_xlabel("Converted within the window (95% interval)")
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    d = c.set_index(["pair", "period"])["rate"].dropna()
    moved = [p for p in pairs if (p, "after") in d and (p, "before") in d]
    if moved:
        best = max(moved, key=lambda p: d[(p, "after")] - d[(p, "before")])
        set_finding(
            ax,
            f"{best}: {format_value(d[(best, 'before')], Kind.RATE)} before vs "
            f"{format_value(d[(best, 'after')], Kind.RATE)} after nurture start",
            loc="center",
        )
    return fig


def plot_sensitivity(
    grid: pd.DataFrame,
    value: str = "cost_per_sql",
    budget: str = "lead_gen_budget",
    *,
    currency: str | None = None,
) -> Figure:
    """Heatmap of ``value`` over nurture lift x budget.

    Parameters
    ----------
    grid
        :func:`leadnb.roi.whatif.sensitivity_grid`.
    value
        ``cost_per_sql``, ``cost_per_sql_loaded`` (single-hue scale) or ``roi`` (blue-orange
        around break-even, 0%).
    budget
        The budget column of ``grid`` (``lead_gen_budget`` or ``nurture_cost``).
    currency
        Named on the budget axis, or None.

    Returns
    -------
    matplotlib.figure.Figure
        Cells annotated (money, or ROI in percent); the title says how the middle budget's value
        moves from the lowest to the highest lift.

    Examples
    --------
    >>> from leadnb.roi.params import ScenarioInputs
    >>> from leadnb.roi.whatif import sensitivity_grid
    >>> grid = sensitivity_grid(ScenarioInputs(), [1, 2, 4], [45_000, 90_000, 135_000])
    >>> fig = plot_sensitivity(grid)
    >>> fig.axes[0].get_title()
    'Cost per SQL falls from 750 to 375 as the lift goes from 1.00× to 4.00× (at a lead-generation budget of 90,000 a month)'
    >>> plt.close(fig)
    """
    import seaborn as sns

    pivot = grid.pivot(index=budget, columns="nurture_lift", values=value).sort_index(
        ascending=False
    )
    fig, ax = plt.subplots(figsize=(9, 4.8), **figure_kwargs())
    roi = value == "roi"
    kw: dict[str, Any] = {"cmap": SEQUENTIAL}
    if roi:
        finite = pivot.to_numpy(dtype=float)
        finite = finite[np.isfinite(finite)]
        span = float(np.abs(finite).max()) if len(finite) else 1.0
        kw = {"cmap": DIVERGING, "center": 0.0, "vmin": -span, "vmax": span}
    lo_lift, hi_lift = pivot.columns.min(), pivot.columns.max()
    mid = pivot.index[len(pivot.index) // 2]
    a, b = pivot.loc[mid, lo_lift], pivot.loc[mid, hi_lift]
    name = VALUE_NAMES.get(value, display_name(value))
    verb = "rises" if b > a else "falls"

    def shown(v: float) -> str:
        return format_value(v, Kind.RATE if roi else Kind.MONEY)

    # the title first: seaborn draws once to check its tick labels, and the layout it
    # computes then must leave the title its room
    at = BUDGET_LABELS.get(budget, display_name(budget)).removesuffix(" a month").lower()
    set_finding(
        ax,
        f"{name} {verb} from {shown(a)} to {shown(b)} as the lift goes from "
        f"{format_value(lo_lift, Kind.MULTIPLIER)} to {format_value(hi_lift, Kind.MULTIPLIER)} "
        f"(at a {at} of {_money(mid)} a month)",
        loc="center",
    )
    sns.heatmap(pivot, annot=True, fmt=".0%" if roi else ",.0f", cbar=False, ax=ax,
                annot_kws={"fontsize": 10.5}, **kw)  # fmt: skip
    ax.set_xlabel("Nurture lift on old leads' SQLs (times as many)")
    ax.set_ylabel(BUDGET_LABELS.get(budget, f"{display_name(budget)} a month") + _in(currency))
    ax.set_xticklabels([format_value(v, Kind.MULTIPLIER) for v in pivot.columns])
    ax.set_yticklabels([_money(v) for v in pivot.index], rotation=0)
    return fig


__all__ = [
    "interval_errors",
    "plot_conversion",
    "plot_monthly",
    "plot_scenario",
    "plot_sensitivity",
]
