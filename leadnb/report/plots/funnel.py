"""Charts for the funnel and cohort views. Each takes a computed table and returns a Figure.

Nothing here computes a statistic: rates, intervals and curves come from
:mod:`leadnb.funnel.stages`, :mod:`leadnb.funnel.cohorts`, :mod:`leadnb.funnel.survival`,
:mod:`leadnb.funnel.velocity` and :mod:`leadnb.funnel.value_map`. Default titles state the finding
read off the table (numbers through :func:`leadnb.results.format_value`, stages by their display
names: MQL, SQL); pass ``title`` to override. Shares are drawn on percent axes, the age chart in
conversions per 1,000 lead-months (the unit the report's text uses). No theme is set here and
``plt.show()`` is never called.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leadnb.report.plots import (
    BLACK,
    BLUE,
    GREY,
    ORANGE,
    PALETTE,
    PURPLE,
    SEQUENTIAL,
    Percent,
    display_name,
    figure_kwargs,
    label_ends,
    percent_axis,
    plain_log_axis,
    set_finding,
)
from leadnb.results import Kind, format_value

PER = 1000
"""The age chart's rates are per this many lead-months (the unit the report's text uses)."""


def _pct(x: float) -> str:
    return format_value(x, Kind.RATE)


def _errors(v: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    err = np.vstack([v - low, high - v])
    return np.clip(np.nan_to_num(err, nan=0.0, posinf=0.0, neginf=0.0), 0, None)


def plot_stage_conversion(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Horizontal bars of each conversion rate with its 95% interval and n.

    Parameters
    ----------
    table
        :func:`leadnb.funnel.stages.stage_conversion` (``from_stage``, ``to_stage``, ``n_from``,
        ``rate``, ``ci_low``, ``ci_high``).
    title
        Default: the lead to MQL and MQL to SQL rates, in words.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per step, labelled with its rate just past the end of its error bar.

    Examples
    --------
    >>> table = pd.DataFrame({"from_stage": ["lead", "mql"], "to_stage": ["mql", "sql"],
    ...                       "n_from": [400, 100], "rate": [0.25, 0.3],
    ...                       "ci_low": [0.21, 0.22], "ci_high": [0.29, 0.4]})
    >>> fig = plot_stage_conversion(table)
    >>> fig.axes[0].get_title()
    '25.0% of leads become MQLs; 30.0% of MQLs become SQLs'
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['Lead → MQL\\n(n = 400)', 'MQL → SQL\\n(n = 100)']
    >>> plt.close(fig)
    """
    t = table.reset_index(drop=True)
    labels = [
        f"{display_name(a)} → {display_name(b)}\n(n = {format_value(n, Kind.COUNT)})"
        for a, b, n in zip(t["from_stage"], t["to_stage"], t["n_from"], strict=True)
    ]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(t) + 1.8), **figure_kwargs())
    y = np.arange(len(t))[::-1]
    rate = t["rate"].to_numpy(float)
    high = t["ci_high"].to_numpy(float)
    ax.barh(y, rate, color=BLUE, alpha=0.85, height=0.65)
    ax.errorbar(rate, y, xerr=_errors(rate, t["ci_low"].to_numpy(float), high), fmt="none",
                ecolor="black", capsize=3)  # fmt: skip
    label_ends(ax, y, np.fmax(rate, high), [_pct(r) for r in rate], horizontal=True)
    ax.set_yticks(y, labels)
    ax.set_xlim(left=0)
    ax.set_xlabel("Conversion rate (95% Wilson interval)")
    percent_axis(ax.xaxis)
    if title is None:
        lm = t[(t["from_stage"] == "lead") & (t["to_stage"] == "mql")]
        ms = t[(t["from_stage"] == "mql") & (t["to_stage"] == "sql")]
        parts = []
        if len(lm):
            parts.append(f"{_pct(lm['rate'].iloc[0])} of leads become MQLs")
        if len(ms):
            parts.append(f"{_pct(ms['rate'].iloc[0])} of MQLs become SQLs")
        title = "; ".join(parts) or "Stage conversion rates"
    set_finding(ax, title, loc="center")
    return fig


def plot_cohort_heatmap(
    matrix: pd.DataFrame, stage: str, *, value: str = "rate", title: str | None = None
) -> Figure:
    """Cohort (rows) by months since creation (columns); immature cells are left blank.

    Parameters
    ----------
    matrix
        :func:`leadnb.funnel.cohorts.cohort_matrix` (``cohort``, ``age_months`` and ``value``).
    stage
        The stage the matrix follows, for the labels (shown by its display name).
    value
        The column drawn (a share).
    title
        Default: the range of the cohorts' share at 3 months and the latest mature cohort's.

    Returns
    -------
    matplotlib.figure.Figure
        ``NaN`` cells (not observable yet) are masked: blank, never drawn as 0. Cells and the
        colour bar are in percent, on a single-hue scale.

    Examples
    --------
    >>> m = pd.DataFrame({"cohort": ["2025-01", "2025-01", "2025-02", "2025-02"],
    ...                   "age_months": [1, 2, 1, 2], "rate": [0.1, 0.2, 0.15, None]})
    >>> fig = plot_cohort_heatmap(m, "sql")
    >>> int(fig.axes[0].collections[0].get_array().mask.sum())  # the unobserved cell
    1
    >>> fig.axes[0].collections[0].colorbar.ax.yaxis.get_major_formatter()(0.1, 0).endswith('%')
    True
    >>> plt.close(fig)
    """
    import seaborn as sns

    name = display_name(stage)
    piv = matrix.pivot(index="cohort", columns="age_months", values=value).sort_index()
    fig, ax = plt.subplots(
        figsize=(max(7, 0.6 * piv.shape[1] + 2.5), max(3.5, 0.36 * len(piv) + 2)),
        **figure_kwargs(),
    )
    if title is None:
        col = 3 if 3 in piv.columns else (piv.columns[0] if len(piv.columns) else None)
        v = piv[col].dropna() if col is not None else pd.Series(dtype=float)
        if len(v):
            title = (
                f"Within {col} months, {_pct(v.min())} to {_pct(v.max())} of each cohort reached "
                f"{name} (latest mature cohort, {v.index[-1]}: {_pct(v.iloc[-1])})"
            )
        else:
            title = f"Cumulative conversion to {name} by creation cohort"
    # the title first: seaborn draws once to check its tick labels, and the layout it
    # computes then must leave the title its room
    set_finding(ax, title, loc="center")
    sns.heatmap(
        piv,
        mask=piv.isna(),
        annot=piv.shape[1] <= 18,
        fmt=".0%",
        cmap=SEQUENTIAL,
        vmin=0,
        cbar_kws={"label": f"Share reached {name}", "format": Percent(xmax=1)},
        annot_kws={"fontsize": 10},
        ax=ax,
    )
    ax.set_facecolor("white")
    ax.set_xlabel("Months since creation (blank: not observable yet)")
    ax.set_ylabel("Creation cohort")
    ax.tick_params(axis="y", rotation=0)
    return fig


def plot_time_to_stage(
    curves: pd.DataFrame, *, by: str | None = None, title: str | None = None
) -> Figure:
    """Kaplan-Meier share converted (with band) and Aalen-Johansen cumulative incidence.

    Parameters
    ----------
    curves
        :func:`leadnb.funnel.survival.survival_curves` (``from_stage``, ``to_stage``, ``days``,
        ``converted``; ``ci_low``, ``ci_high`` and ``cif`` drawn when present).
    by
        The group column of ``curves``, one line per group (no incidence lines then).
    title
        Default: the share reaching the stage within 90 days, when the curve gets there.

    Returns
    -------
    matplotlib.figure.Figure
        Step curves on a percent axis, 30, 60 and 90 days marked.

    Examples
    --------
    >>> c = pd.DataFrame({"from_stage": "lead", "to_stage": "sql", "days": [0, 30, 90],
    ...                   "converted": [0.0, 0.02, 0.05]})
    >>> fig = plot_time_to_stage(c)
    >>> fig.axes[0].get_title(), fig.axes[0].get_ylabel()
    ('5.0% of leads reach SQL within 90 days (counting leads still open)', 'Share reached SQL')
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(**figure_kwargs())
    groups = [(None, curves)] if by is None else list(curves.groupby(by, sort=True))
    for i, (key, g) in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        name = "All leads" if key is None else display_name(key)
        ax.step(g["days"], g["converted"], where="post", color=color, lw=2,
                label=f"{name}: converted")  # fmt: skip
        if "ci_low" in g:
            ax.fill_between(g["days"], g["ci_low"], g["ci_high"], step="post", color=color,
                            alpha=0.15)  # fmt: skip
        if "cif" in g and by is None:
            ax.step(g["days"], g["cif"], where="post", color=ORANGE, linestyle="--", lw=2,
                    label=f"{name}: converted before being lost")  # fmt: skip
    a = display_name(curves["from_stage"].iloc[0]) if len(curves) else "start"
    b = display_name(curves["to_stage"].iloc[0]) if len(curves) else "the stage"
    ax.set_xlabel(f"Days since {a}" if a != "Lead" else "Days since the lead was created")
    ax.set_ylabel(f"Share reached {b}")
    ax.set_ylim(bottom=0)
    percent_axis(ax.yaxis)
    for d in (30, 60, 90):
        ax.axvline(d, color=GREY, linewidth=0.8, linestyle=":")
    ax.legend(loc="upper left")
    if title is None:
        g = curves if by is None else curves.groupby("days", as_index=False)["converted"].mean()
        at90 = g.loc[g["days"] == 90, "converted"]
        whom = "leads" if a == "Lead" else f"{a}s"
        title = (
            f"{_pct(at90.iloc[0])} of {whom} reach {b} within 90 days (counting leads still open)"
            if len(at90) and by is None
            else f"Time from {a} to {b} (Kaplan-Meier, leads still open counted until the "
            "analysis date)"
        )
    set_finding(ax, title, loc="center")
    return fig


def plot_lvr(
    table: pd.DataFrame,
    *,
    change: pd.Timestamp | None = None,
    title: str | None = None,
) -> Figure:
    """Qualified leads per period (bars) and LVR with its interval (line).

    Parameters
    ----------
    table
        :func:`leadnb.funnel.velocity.lvr` (``period``, ``complete``, ``qualified``, ``lvr_pct``,
        ``ci_low``, ``ci_high``, ``lvr_trailing3_pct``, ``crosses_change``).
    change
        The qualification rule change, drawn as a vertical break line.
    title
        Default: the latest complete period's LVR.

    Returns
    -------
    matplotlib.figure.Figure
        Incomplete periods are hatched; the LVR axis is in percent.

    Examples
    --------
    >>> t = pd.DataFrame({"period": ["2025-01", "2025-02"], "complete": [True, True],
    ...     "qualified": [10, 15], "lvr_pct": [None, 50.0], "ci_low": [None, -20.0],
    ...     "ci_high": [None, 180.0], "lvr_trailing3_pct": [None, None]})
    >>> fig = plot_lvr(t)
    >>> fig.axes[0].get_title()
    'Qualified leads in 2025-02: 15, LVR +50.0% vs the period before (95% interval -20.0% to +180.0%)'
    >>> plt.close(fig)
    """
    t = table.reset_index(drop=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(9, 6.5), height_ratios=(1, 1.3),
                                   **figure_kwargs())  # fmt: skip
    x = np.arange(len(t))
    complete = t["complete"].to_numpy(dtype=bool)
    q = t["qualified"].to_numpy(dtype=float)
    ax1.bar(x[complete], q[complete], color=BLUE, edgecolor=BLUE, label="Complete period")
    ax1.bar(x[~complete], q[~complete], color="white", edgecolor=BLUE, hatch="//",
            label="Period still running")  # fmt: skip
    ax1.set_ylabel("Qualified leads")
    if (~complete).any():
        ax1.legend(loc="upper left")
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.fill_between(x, t["ci_low"], t["ci_high"], color=BLUE, alpha=0.15, label="95% interval")
    ax2.plot(x, t["lvr_pct"], marker="o", color=BLUE, lw=2, label="LVR")
    ax2.plot(x, t["lvr_trailing3_pct"], color=ORANGE, lw=2, label="Average of 3 periods")
    ax2.set_ylabel("LVR: change vs the\nperiod before")
    percent_axis(ax2.yaxis, xmax=100)
    ax2.set_xticks(x, t["period"], rotation=60, ha="right")
    if change is not None and "after_change" in t and t["after_change"].any():
        i = int(np.flatnonzero(t["after_change"].to_numpy())[0])
        for ax in (ax1, ax2):
            ax.axvline(i - 0.5, color=PURPLE, linestyle="--", linewidth=1.5)
        ax1.text(i - 0.45, ax1.get_ylim()[1] * 0.95, "Qualification rule changed", color=PURPLE,
                 va="top")  # fmt: skip
    ax2.legend(loc="upper left")
    if title is None:
        done = t[t["complete"] & t["lvr_pct"].notna()]
        if len(done):
            r = done.iloc[-1]
            ch = lambda v: format_value(v / 100, Kind.CHANGE)  # noqa: E731
            title = (
                f"Qualified leads in {r['period']}: {format_value(r['qualified'], Kind.COUNT)}, "
                f"LVR {ch(r['lvr_pct'])} vs the period before (95% interval {ch(r['ci_low'])} to "
                f"{ch(r['ci_high'])})"
            )
        else:
            title = "Lead Velocity Rate"
    set_finding(ax1, title, loc="center")
    return fig


def plot_new_vs_old(
    table: pd.DataFrame,
    *,
    nurture_start: pd.Timestamp | None = None,
    title: str | None = None,
) -> Figure:
    """Conversions per period from new and old leads, and the share from old leads.

    Parameters
    ----------
    table
        :func:`leadnb.funnel.velocity.new_vs_old` for one stage (``period``, ``period_start``,
        ``conversions``, ``from_new``, ``from_old``, ``share_old``, ``ci_low``, ``ci_high``).
    nurture_start
        Marked on the chart; the default title compares the share before and after it.
    title
        Default: the old leads' share, before and after the nurture start.

    Returns
    -------
    matplotlib.figure.Figure
        Stacked bars (new, old) and the share from old leads with its interval (percent axis).

    Examples
    --------
    >>> t = pd.DataFrame({"stage": "sql", "period": ["2025-01", "2025-02"],
    ...     "period_start": pd.to_datetime(["2025-01-01", "2025-02-01"]), "conversions": [10, 10],
    ...     "from_new": [8, 4], "from_old": [2, 6], "share_old": [0.2, 0.6],
    ...     "ci_low": [0.05, 0.3], "ci_high": [0.5, 0.85]})
    >>> fig = plot_new_vs_old(t, nurture_start=pd.Timestamp("2025-02-01"))
    >>> fig.axes[0].get_title()
    "Old leads' share of SQLs: 20.0% before nurture, 60.0% after"
    >>> plt.close(fig)
    """
    t = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 4.8), **figure_kwargs())
    x = np.arange(len(t))
    ax.bar(x, t["from_new"], color=GREY, label="From new leads")
    ax.bar(x, t["from_old"], bottom=t["from_new"], color=BLUE, label="From old (nurtured) leads")
    ax.set_ylabel("Conversions")
    ax.set_xticks(x, t["period"], rotation=60, ha="right")
    ax2 = ax.twinx()
    ax2.plot(x, t["share_old"], color=ORANGE, marker="o", lw=2, label="Share from old leads")
    ax2.fill_between(x, t["ci_low"], t["ci_high"], color=ORANGE, alpha=0.2)
    ax2.set_ylim(0, 1)
    percent_axis(ax2.yaxis)
    ax2.set_ylabel("Share from old leads")
    ax2.grid(False)
    if nurture_start is not None:
        after = np.flatnonzero(
            t["period_start"].to_numpy() >= np.datetime64(pd.Timestamp(nurture_start))
        )
        if len(after):
            ax.axvline(after[0] - 0.5, color=BLACK, linestyle="--", linewidth=1.5)
            ax.text(after[0] - 0.4, ax.get_ylim()[1] * 0.97, "Nurture starts", color=BLACK,
                    va="top")  # fmt: skip
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", framealpha=0.9)
    if title is None:
        stage = f"{display_name(t['stage'].iloc[0])}s" if "stage" in t and len(t) else "conversions"
        if nurture_start is not None:
            after_mask = t["period_start"] >= pd.Timestamp(nurture_start)
            b, a = t[~after_mask], t[after_mask]
            sb = b["from_old"].sum() / max(b["conversions"].sum(), 1)
            sa = a["from_old"].sum() / max(a["conversions"].sum(), 1)
            title = f"Old leads' share of {stage}: {_pct(sb)} before nurture, {_pct(sa)} after"
        else:
            title = f"{stage[:1].upper() + stage[1:]} from new and old leads"
    set_finding(ax, title, loc="center")
    return fig


def _age_finding(t: pd.DataFrame, eras: list, what: str) -> str:
    """ "Older leads convert less: ..." from the youngest and oldest bucket of the latest era."""
    g = t if eras == [None] else t[t["era"] == eras[-1]]
    g = g.dropna(subset=["rate"])
    if len(g) < 2:
        return f"{what} per {PER:,} lead-months at risk, by lead age"
    young, old = g.iloc[0], g.iloc[-1]
    ry, ro = float(young["rate"]) * PER, float(old["rate"]) * PER
    era = "" if eras == [None] else f" ({eras[-1]} nurture start)" if str(eras[-1]) in (
        "before", "after") else f" ({eras[-1]})"  # fmt: skip
    verb = "Older leads convert less" if ro < ry else "Older leads convert as much or more"
    return (
        f"{verb}: {format_value(ry, None)} {what} per {PER:,} lead-months at "
        f"{young['bucket']} days old vs {format_value(ro, None)} at {old['bucket']} days{era}"
    )


def plot_age_hazard(
    table: pd.DataFrame, *, title: str | None = None, stage: str | None = None
) -> Figure:
    """Conversions per 1,000 lead-months at risk by lead age, side by side per era.

    Parameters
    ----------
    table
        :func:`leadnb.funnel.velocity.age_hazard` (``bucket``, [``era``], ``rate``, ``ci_low``,
        ``ci_high``; rates per lead-month, drawn per 1,000).
    title
        Default: the youngest against the oldest age band, in the latest era.
    stage
        The stage counted (``sql``), named on the axis and in the title.

    Returns
    -------
    matplotlib.figure.Figure
        Bars with exact Poisson intervals, one colour per era.

    Examples
    --------
    >>> t = pd.DataFrame({"bucket": ["0-29", "30+"], "rate": [0.0171, 0.0011],
    ...                   "ci_low": [0.0144, 0.0007], "ci_high": [0.0201, 0.0015]})
    >>> fig = plot_age_hazard(t, stage="sql")
    >>> fig.axes[0].get_title()
    'Older leads convert less: 17.1 SQLs per 1,000 lead-months at 0-29 days old vs 1.1 at 30+ days'
    >>> fig.axes[0].get_ylabel()
    'SQLs per 1,000 lead-months\\nat risk (95% interval)'
    >>> plt.close(fig)
    """
    t = table.reset_index(drop=True)
    eras = list(dict.fromkeys(t["era"])) if "era" in t else [None]
    buckets = list(dict.fromkeys(t["bucket"]))
    what = f"{display_name(stage)}s" if stage else "conversions"
    fig, ax = plt.subplots(**figure_kwargs())
    width = 0.8 / len(eras)
    colors = [GREY, BLUE] if len(eras) == 2 else PALETTE
    for i, era in enumerate(eras):
        g = t if era is None else t[t["era"] == era]
        g = g.set_index("bucket").reindex(buckets)
        x = np.arange(len(buckets)) + (i - (len(eras) - 1) / 2) * width
        r = g["rate"].to_numpy(float) * PER
        lo, hi = g["ci_low"].to_numpy(float) * PER, g["ci_high"].to_numpy(float) * PER
        name = "All leads" if era is None else (
            f"{str(era).capitalize()} nurture start" if str(era) in ("before", "after")
            else display_name(era))  # fmt: skip
        ax.bar(x, r, width=width, color=colors[i % len(colors)], label=name)
        ax.errorbar(x, r, yerr=_errors(r, lo, hi), fmt="none", ecolor="black", capsize=2)
    ax.set_xticks(np.arange(len(buckets)), buckets)
    ax.set_xlabel("Lead age (days since the lead was created)")
    ax.set_ylabel(f"{what[:1].upper() + what[1:]} per {PER:,} lead-months\nat risk (95% interval)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")  # older leads: the short bars, on the right
    set_finding(ax, title or _age_finding(t, eras, what), loc="center")
    return fig


def plot_value_map(groups: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Accounts with orders on order frequency by average order value, cut-offs drawn.

    Parameters
    ----------
    groups
        :func:`leadnb.funnel.value_map.value_groups` (``orders``, ``aov``, ``frequency``,
        ``group``; cut-offs in ``.attrs``).
    title
        Default: how many accounts are in groups E and A.

    Returns
    -------
    matplotlib.figure.Figure
        One colour and marker per group.

    Examples
    --------
    >>> groups = pd.DataFrame({"orders": [0, 2, 1], "aov": [None, 200.0, 50.0],
    ...                        "frequency": [None, 2.0, 1.0], "group": ["A", "E", "B"]})
    >>> fig = plot_value_map(groups)
    >>> fig.axes[0].get_title()
    '1 account is high-value and frequent (E); 1 has no order yet (A)'
    >>> plt.close(fig)
    """
    g = groups[groups["orders"] > 0]
    fig, ax = plt.subplots(**figure_kwargs())
    markers = "os^DvP*"
    for i, (grp, sub) in enumerate(g.groupby("group", sort=True)):
        ax.scatter(sub["frequency"], sub["aov"], s=14, alpha=0.7, label=grp,
                   color=PALETTE[i % len(PALETTE)], marker=markers[i % len(markers)])  # fmt: skip
    vc, fc = groups.attrs.get("value_cut"), groups.attrs.get("frequency_cut")
    if vc is not None:
        ax.axhline(vc, color=GREY, linestyle="--", linewidth=1)
    if fc is not None:
        ax.axvline(fc, color=GREY, linestyle="--", linewidth=1)
    if len(g) and (g["aov"] > 0).all():
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xlabel("Orders per month")
    ax.set_ylabel("Average order value")
    if len(g):
        ax.legend(title="Group")
    if title is None:
        n_a = int((groups["group"] == "A").sum())
        n_e = int((groups["group"] == "E").sum())
        title = (
            f"{format_value(n_e, Kind.COUNT)} {'account is' if n_e == 1 else 'accounts are'} "
            f"high-value and frequent (E); {format_value(n_a, Kind.COUNT)} "
            f"{'has' if n_a == 1 else 'have'} no order yet (A)"
        )
    set_finding(ax, title, loc="center")
    return fig


__all__ = [
    "PER",
    "plot_age_hazard",
    "plot_cohort_heatmap",
    "plot_lvr",
    "plot_new_vs_old",
    "plot_stage_conversion",
    "plot_time_to_stage",
    "plot_value_map",
]
