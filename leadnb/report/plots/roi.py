"""Charts of the nurture ROI notebook. Each takes a table computed by :mod:`leadnb.roi` and
returns a matplotlib Figure whose title states the finding; nothing here computes a statistic
beyond reading the table, and no theme is set here (:func:`leadnb.report.plots.set_theme` does it)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leadnb.report.plots import PALETTE

NEW, OLD = PALETTE[0], PALETTE[1]


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _top(values: Any, margin: float) -> float:
    """An upper y limit: the largest finite value times ``margin`` (1 when there is none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) * margin if len(v) and v.max() > 0 else 1.0


def plot_scenario(table: pd.DataFrame) -> Figure:
    """SQLs a month from new and old leads, and cost per SQL, before vs after nurturing
    (from :func:`leadnb.roi.whatif.scenario_table`)."""
    t = table.set_index("scenario").loc[["before", "after"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    x = np.arange(2)
    ax1.bar(x, t["sql_new"], color=NEW, label="new leads (< 30 days)")
    ax1.bar(x, t["sql_old"], bottom=t["sql_new"], color=OLD, label="existing leads")
    for i, total in enumerate(t["sql_total"]):
        ax1.text(i, total, f"{total:,.0f}", ha="center", va="bottom")
    ax1.set_xticks(x, ["before nurturing", "after nurturing"])
    ax1.set_ylabel("SQLs a month")
    ax1.legend(loc="upper left", frameon=False)
    ax1.set_ylim(0, _top(t["sql_total"], 1.18))
    w = 0.38
    ax2.bar(x - w / 2, t["cost_per_sql"], w, color=NEW, label="lead-generation budget only")
    ax2.bar(
        x + w / 2, t["cost_per_sql_loaded"], w, color=PALETTE[6], label="fully loaded (+ nurture)"
    )
    for i in range(2):
        ax2.text(
            i - w / 2,
            t["cost_per_sql"].iloc[i],
            _money(t["cost_per_sql"].iloc[i]),
            ha="center",
            va="bottom",
        )
    ax2.set_xticks(x, ["before nurturing", "after nurturing"])
    ax2.set_ylabel("cost per SQL")
    ax2.legend(loc="upper right", frameon=False)
    ax2.set_ylim(0, _top(t[["cost_per_sql", "cost_per_sql_loaded"]].to_numpy(), 1.25))
    b, a = t.iloc[0], t.iloc[1]
    gain = (a["sql_total"] - b["sql_total"]) / b["sql_total"] * 100
    fig.suptitle(
        f"Nurturing turns {b['sql_total']:,.0f} into {a['sql_total']:,.0f} SQLs a month ({gain:+.0f}%) "
        f"at the same budget: cost per SQL {_money(b['cost_per_sql'])} -> {_money(a['cost_per_sql'])}",
        fontweight="bold",
    )
    fig.tight_layout()
    return fig


def plot_monthly(
    monthly: pd.DataFrame,
    nurture_start: pd.Timestamp | None = None,
    lift: float | None = None,
    old_table: pd.DataFrame | None = None,
) -> Figure:
    """Monthly SQLs from new and old leads (top) and old leads' SQL rate per 100 old lead-months
    (bottom, all ages together), with the nurture start marked (from
    :func:`leadnb.roi.monthly.monthly_roi`). ``old_table`` (:func:`leadnb.roi.effect.old_lead_table`) makes the
    bottom panel the rate the lift is measured on (leads in experiments left out); ``lift`` (of
    :func:`leadnb.roi.effect.nurture_effect`) goes in the title; without it the title states the rates."""
    m = monthly
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    width = pd.Timedelta(days=24)
    ax1.bar(m["month"], m["sql_new"], width=width, align="edge", color=NEW, label="new leads")
    ax1.bar(
        m["month"],
        m["sql_old"],
        width=width,
        bottom=m["sql_new"],
        align="edge",
        color=OLD,
        label="old leads",
    )
    ax1.set_ylabel("SQLs in the month")
    ax1.legend(loc="upper left", frameon=False)
    if old_table is not None:
        r = old_table.groupby("month")[["sql_old", "exposure"]].sum()
        r = r.loc[r["exposure"] > 0]
        ax2.plot(
            r.index + pd.Timedelta(days=12),
            r["sql_old"] / r["exposure"] * 100,
            marker="o",
            color=OLD,
        )
        ax2.set_ylabel("old leads' SQLs per 100\nold lead-months (all ages,\noutside experiments)")
    else:
        ax2.plot(m["month"] + pd.Timedelta(days=12), m["old_sql_rate"] * 100, marker="o", color=OLD)
        ax2.set_ylabel("old leads' SQLs per 100\nold lead-months")
    title = "Monthly SQLs by lead age"
    last = m["month"].max() + pd.offsets.MonthBegin(1) if len(m) else None
    if nurture_start is not None and last is not None and nurture_start <= last:
        for ax in (ax1, ax2):
            ax.axvline(nurture_start, color="black", linestyle="--", linewidth=1)
        ax1.text(nurture_start, ax1.get_ylim()[1] * 0.95, " nurture starts", va="top")
        before = m.loc[m["period"] == "before"]
        after = m.loc[m["period"] == "after"]
        if lift is not None:
            title = (
                f"Old leads reach SQL {lift:.1f}x as often since nurturing started "
                "(compared with leads of the same age before)"
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
                f"Old leads' SQL rate went from {rb:.2f} to {ra:.2f} per 100 lead-months "
                f"({ra / rb:.1f}x) after nurturing started"
            )
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def interval_errors(rate: Any, low: Any, high: Any) -> np.ndarray:
    """Error-bar lengths (2 x n: below, above) of ``rate`` within [``low``, ``high``], never
    negative and 0 where a bound or the rate is missing, so matplotlib always accepts them (an
    interval computed in floating point can end a hair inside its rate, e.g. a Wilson interval of
    a rate of 100%)."""
    r, lo, hi = (np.asarray(v, dtype=float) for v in (rate, low, high))
    err = np.vstack([r - lo, hi - r])
    return np.clip(np.nan_to_num(err, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def plot_conversion(conversion: pd.DataFrame) -> Figure:
    """The four conversion rates, before vs after, with their intervals
    (from :func:`leadnb.roi.monthly.conversion_before_after`)."""
    c = conversion.copy()
    c["pair"] = c["from_stage"].str.upper() + " -> " + c["to_stage"].str.upper()
    pairs = list(dict.fromkeys(c["pair"]))
    fig, ax = plt.subplots(figsize=(9, 4))
    y = np.arange(len(pairs))
    for k, (period, color) in enumerate((("before", PALETTE[6]), ("after", OLD))):
        d = c.loc[c["period"] == period].set_index("pair").reindex(pairs)
        yy = y + (k - 0.5) * 0.3
        err = interval_errors(d["rate"], d["ci_low"], d["ci_high"]) * 100
        ax.errorbar(d["rate"] * 100, yy, xerr=err, fmt="o", color=color, capsize=3, label=period)
    ax.set_yticks(y, pairs)
    ax.invert_yaxis()
    ax.set_xlabel("conversion within the window (%), with 95% interval")
    ax.legend(frameon=False)
    d = c.set_index(["pair", "period"])["rate"].dropna()
    moved = [p for p in pairs if (p, "after") in d and (p, "before") in d]
    if moved:
        best = max(moved, key=lambda p: d[(p, "after")] - d[(p, "before")])
        ax.set_title(
            f"{best}: {d[(best, 'before')]:.1%} before vs {d[(best, 'after')]:.1%} after nurture start"
        )
    return fig


def plot_sensitivity(
    grid: pd.DataFrame, value: str = "cost_per_sql", budget: str = "lead_gen_budget"
) -> Figure:
    """Heatmap of ``value`` (cost_per_sql, cost_per_sql_loaded or roi) over nurture lift x budget
    (from :func:`leadnb.roi.whatif.sensitivity_grid`)."""
    import seaborn as sns

    pivot = grid.pivot(index=budget, columns="nurture_lift", values=value).sort_index(
        ascending=False
    )
    fig, ax = plt.subplots(figsize=(9, 4.5))
    fmt = ".0%" if value == "roi" else ",.0f"
    cmap = "RdYlGn" if value == "roi" else "RdYlGn_r"
    sns.heatmap(
        pivot,
        annot=True,
        fmt=fmt,
        cmap=cmap,
        cbar=False,
        ax=ax,
        center=0 if value == "roi" else None,
    )
    ax.set_xlabel("nurture lift on old leads' SQLs (x)")
    ax.set_ylabel(budget.replace("_", " ") + " a month")
    ax.set_yticklabels([_money(float(t.get_text())) for t in ax.get_yticklabels()], rotation=0)
    lo_lift, hi_lift = pivot.columns.min(), pivot.columns.max()
    mid = pivot.index[len(pivot.index) // 2]
    a, b = pivot.loc[mid, lo_lift], pivot.loc[mid, hi_lift]
    name = {
        "cost_per_sql": "Cost per SQL",
        "cost_per_sql_loaded": "Fully-loaded cost per SQL",
        "roi": "Nurture ROI",
    }.get(value, value)
    verb = "rises" if b > a else "falls"
    shown = (lambda v: f"{v:.0%}") if value == "roi" else _money
    ax.set_title(
        f"{name} {verb} from {shown(a)} to {shown(b)} as the lift goes {lo_lift:g}x -> {hi_lift:g}x "
        f"(at {_money(mid)})"
    )
    return fig


__all__ = [
    "interval_errors",
    "plot_conversion",
    "plot_monthly",
    "plot_scenario",
    "plot_sensitivity",
]
