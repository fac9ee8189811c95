"""Charts for the scoring-calibration notebook. Each takes a computed table, returns a Figure.

Titles state the finding and are written from the numbers in the table (nothing is computed
here beyond picking rows to name). No theme is set (``leadnb.report.plots.set_theme`` does that).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leadnb.report.plots import PALETTE, plain_log_axis

SEGMENT_COLORS: Mapping[str, str] = {
    "high_intent": PALETTE[2],
    "engaged_nurture": PALETTE[0],
    "competitor": PALETTE[1],
    "other": PALETTE[6],
}
SEGMENT_LABELS: Mapping[str, str] = {
    "high_intent": "High intent",
    "engaged_nurture": "Engaged (many interactions)",
    "competitor": "Competitors / peers",
    "other": "Everyone else",
}


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def plot_score_bands(bands: pd.DataFrame, overall_rate: float | None = None) -> Figure:
    """Conversion rate by score band, with Wilson intervals and the overall rate.

    Parameters
    ----------
    bands
        :func:`leadnb.scoring.calibration.score_bands` output (``score_min``, ``score_max``, ``n``,
        ``rate``, ``ci_low``, ``ci_high``).
    overall_rate
        The conversion rate of all leads (a dashed line), or None.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per band; the title compares the top and bottom bands.

    Examples
    --------
    >>> from leadnb.scoring.calibration import score_bands
    >>> fig = plot_score_bands(score_bands([1, 2, 3, 4], [0, 0, 1, 1], edges=[0, 2.5, 5]), 0.5)
    >>> fig.axes[0].get_title(loc="left")
    'Top score band converts at 100.0% vs 0.0% in the bottom band; best band: 3–4 points'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots()
    x = np.arange(len(bands))
    rate = bands["rate"].to_numpy()
    err = np.vstack([rate - bands["ci_low"].to_numpy(), bands["ci_high"].to_numpy() - rate])
    err = np.clip(np.nan_to_num(err), 0, None)  # rounding can put a bound a hair past the rate
    ax.bar(x, rate, color=PALETTE[0], alpha=0.85)
    ax.errorbar(x, rate, yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    if overall_rate is not None:
        ax.axhline(
            overall_rate, color=PALETTE[1], ls="--", lw=1, label=f"all leads {_pct(overall_rate)}"
        )
        ax.legend(loc="upper left")
    labels = [f"{a:.0f}–{b:.0f}\nn={n:,}" for a, b, n in
              zip(bands["score_min"], bands["score_max"], bands["n"], strict=True)]  # fmt: skip
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlabel("score band (points) and leads in it")
    ax.set_ylabel("converted")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    if len(bands):
        top, bottom = bands.iloc[-1], bands.iloc[0]
        best = bands.loc[bands["rate"].idxmax()]
        title = (
            f"Top score band converts at {_pct(top['rate'])} vs {_pct(bottom['rate'])} in the "
            f"bottom band; best band: {best['score_min']:.0f}–{best['score_max']:.0f} points"
        )
    else:
        title = "No scored leads to calibrate"
    ax.set_title(title, loc="left", wrap=True)
    return fig


def plot_threshold_sweep(
    sweep: pd.DataFrame, capacity_per_week: float, recommended: float | None = None
) -> Figure:
    """Precision and recall by threshold, with weekly workload against SDR capacity.

    Parameters
    ----------
    sweep
        :func:`leadnb.scoring.calibration.threshold_sweep` output.
    capacity_per_week
        Leads per week the SDR team can work (a dotted line).
    recommended
        The recommended threshold (a vertical line, named in the title), or None.

    Returns
    -------
    matplotlib.figure.Figure
        Precision (with its interval where at least 30 leads are above) and recall on the left
        axis, leads per week on the right one.

    Examples
    --------
    >>> from leadnb.scoring.calibration import threshold_sweep
    >>> sw = threshold_sweep([1, 2, 3, 4], [0, 0, 1, 1], capacity_per_week=1, weeks=2)
    >>> fig = plot_threshold_sweep(sw, 1, 3.0)
    >>> fig.axes[0].get_title(loc="left")
    'A threshold of 3.0 fits 1 leads/week and keeps 100.0% of conversions at 100.0% precision'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots()
    s = sweep.sort_values("threshold")
    ax.plot(
        s["threshold"], s["precision"], color=PALETTE[0], label="precision (share that convert)"
    )
    enough = s["leads_above"] >= 30  # intervals over a handful of leads would fill the chart
    ax.fill_between(s["threshold"].where(enough), s["precision_ci_low"].where(enough),
                    s["precision_ci_high"].where(enough), color=PALETTE[0], alpha=0.15,
                    lw=0)  # fmt: skip
    ax.plot(
        s["threshold"], s["recall"], color=PALETTE[2], label="recall (share of conversions kept)"
    )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("MQL threshold (score >= threshold goes to sales)")
    ax.set_ylabel("share")
    ax2 = ax.twinx()
    ax2.plot(
        s["threshold"], s["weekly_workload"], color=PALETTE[1], ls="--", label="leads per week"
    )
    ax2.axhline(capacity_per_week, color=PALETTE[1], lw=1, ls=":",
                label=f"SDR capacity {capacity_per_week:g}/week")  # fmt: skip
    ax2.set_ylabel("leads per week above the threshold")
    ax2.grid(False)
    if recommended is not None:
        ax.axvline(recommended, color="black", lw=1)
        row = s.loc[s["threshold"] == recommended]
        if len(row):
            r = row.iloc[0]
            title = (
                f"A threshold of {recommended:.1f} fits {capacity_per_week:g} leads/week and keeps "
                f"{_pct(r['recall'])} of conversions at {_pct(r['precision'])} precision"
            )
        else:
            title = f"Recommended threshold {recommended:g}"
    else:
        title = "Precision, recall and SDR workload by threshold"
    ax.set_title(title, loc="left", wrap=True)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right", fontsize=8)
    return fig


def plot_rule_lift(lift: pd.DataFrame) -> Figure:
    """Forest plot: conversion-rate ratio (with / without the rule) and its interval, per rule.

    Parameters
    ----------
    lift
        :func:`leadnb.scoring.calibration.rule_lift` output (``rule``, ``points``, ``n_with``,
        ``lift``, ``ci_low``, ``ci_high``, ``too_rare``).

    Returns
    -------
    matplotlib.figure.Figure
        One row per rule on a log axis, coloured by whether the configured points agree with the
        data; the title names the best and worst rule.

    Examples
    --------
    >>> lift = pd.DataFrame({"rule": ["a", "b"], "points": [5.0, 5.0], "n_with": [40, 50],
    ...     "lift": [2.0, 0.5], "ci_low": [1.5, 0.3], "ci_high": [2.6, 0.8],
    ...     "too_rare": [False, False]})
    >>> fig = plot_rule_lift(lift)
    >>> fig.axes[0].get_title(loc="left")
    "'a' predicts conversion best (2.0x); 'b' worst (0.50x)"
    >>> plt.close(fig)
    """
    d = lift.sort_values("lift", na_position="first").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.4 * len(d) + 1.2)))
    y = np.arange(len(d))
    rare = d["too_rare"].to_numpy(dtype=bool)
    val = d["lift"].to_numpy(dtype=float)
    floor = 0.05  # a ratio of 0 (no conversions with the rule) drawn at the left edge
    shown = np.where(val > 0, val, floor)
    lo = np.clip(d["ci_low"].to_numpy(dtype=float), floor, None)
    hi = d["ci_high"].to_numpy(dtype=float)
    pts = d["points"].to_numpy(dtype=float)
    sure = (lo > 1) | (hi < 1)  # the interval excludes "no difference"
    agrees = np.sign(pts) == np.sign(np.log(shown))
    for i in range(len(d)):  # one line per rule (tens of rules at most)
        if rare[i]:
            c = PALETTE[6]
        elif not sure[i]:
            c = PALETTE[5]
        else:
            c = PALETTE[2] if agrees[i] else PALETTE[1]
        if np.isfinite(lo[i]) and np.isfinite(hi[i]):
            ax.plot([lo[i], hi[i]], [y[i], y[i]], color=c, lw=2)
        ax.plot([shown[i]], [y[i]], "o", color=c)
    from matplotlib.lines import Line2D

    ax.legend(
        handles=[
            Line2D([], [], color=PALETTE[2], marker="o", label="points agree with the data"),
            Line2D([], [], color=PALETTE[1], marker="o", label="points contradict the data"),
            Line2D([], [], color=PALETTE[5], marker="o", label="no clear difference"),
            Line2D([], [], color=PALETTE[6], marker="o", label="too rare to judge"),
        ],
        fontsize=7,
        loc="lower right",
    )
    ax.axvline(1, color="black", lw=1)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    labels = [f"{r} ({p:+g} pts, n={n:,}){' – too rare' if t else ''}" for r, p, n, t in
              zip(d["rule"], d["points"], d["n_with"], rare, strict=True)]  # fmt: skip
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("conversion rate with the rule / without it (log scale, 95% interval)")
    judged = d.loc[~rare & d["lift"].notna()]
    if len(judged):
        best = judged.loc[judged["lift"].idxmax()]
        worst = judged.loc[judged["lift"].idxmin()]
        title = (
            f"'{best['rule']}' predicts conversion best ({best['lift']:.1f}x); "
            f"'{worst['rule']}' worst ({worst['lift']:.2f}x)"
        )
    else:
        title = "Every rule fires too rarely to judge"
    ax.set_title(title, loc="left", wrap=True)
    return fig


def plot_score_vs_conversion_by_segment(summary: pd.DataFrame) -> Figure:
    """THE chart for a head of sales: mean score (x) vs conversion rate (y) per segment.

    Parameters
    ----------
    summary
        :func:`leadnb.scoring.segments.segment_summary` output (``segment``, ``n``,
        ``mean_score``, ``rate``, ``ci_low``, ``ci_high``).

    Returns
    -------
    matplotlib.figure.Figure
        One bubble per segment (area ~ leads, bars = 95% interval); the title contrasts
        competitors with high-intent leads.

    Examples
    --------
    >>> summary = pd.DataFrame({"segment": ["competitor", "high_intent"], "n": [10, 20],
    ...     "mean_score": [60.0, 30.0], "rate": [0.0, 0.3], "ci_low": [0.0, 0.15],
    ...     "ci_high": [0.28, 0.5]})
    >>> fig = plot_score_vs_conversion_by_segment(summary)
    >>> fig.axes[0].get_title(loc="left")[:60]
    'A high score is not high intent: competitors average 60 poin'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots()
    n_max = max(float(summary["n"].max()), 1.0) if len(summary) else 1.0
    for _, r in summary.iterrows():  # one point per segment (four)
        c = SEGMENT_COLORS.get(r["segment"], PALETTE[5])
        ax.errorbar(
            r["mean_score"], r["rate"],
            yerr=[[max(r["rate"] - r["ci_low"], 0.0)], [max(r["ci_high"] - r["rate"], 0.0)]],
            fmt="none", ecolor=c, capsize=4, lw=1.5,
        )  # fmt: skip
        ax.scatter(r["mean_score"], r["rate"], s=80 + 1500 * r["n"] / n_max, color=c, alpha=0.7,
                   edgecolor="black", lw=0.5)  # fmt: skip
        ax.annotate(
            f"{SEGMENT_LABELS.get(r['segment'], r['segment'])}\n{r['n']:,} leads, "
            f"{_pct(r['rate'])} convert",
            (r["mean_score"], r["rate"]), textcoords="offset points", xytext=(12, 6), fontsize=8,
        )  # fmt: skip
    ax.set_xlabel("average score (points)")
    ax.set_ylabel("converted (95% interval)")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_ylim(bottom=0)
    ax.margins(x=0.25, y=0.2)
    seg = summary.set_index("segment")
    if {"competitor", "high_intent"} <= set(seg.index):
        c, h = seg.loc["competitor"], seg.loc["high_intent"]
        title = (
            f"A high score is not high intent: competitors average {c['mean_score']:.0f} points "
            f"and convert {_pct(c['rate'])}; high-intent leads average {h['mean_score']:.0f} and "
            f"convert {_pct(h['rate'])}"
        )
    elif len(seg):
        top = seg["mean_score"].idxmax()
        title = (
            f"The highest-scoring segment ({SEGMENT_LABELS.get(top, top)}) converts "
            f"{_pct(seg.loc[top, 'rate'])}"
        )
    else:
        title = "No segments"
    ax.set_title(title, loc="left", wrap=True)
    return fig


def plot_segment_bands(table: pd.DataFrame) -> Figure:
    """Conversion by score band within each segment.

    Parameters
    ----------
    table
        :func:`leadnb.scoring.segments.segment_bands` output (``segment``, ``score_min``,
        ``score_max``, ``n``, ``conversions``, ``rate``).

    Returns
    -------
    matplotlib.figure.Figure
        One line per segment over the band midpoints; the title names the segment that converts
        most and its rate in its lowest band.

    Examples
    --------
    >>> table = pd.DataFrame({"segment": ["high_intent", "other"], "band": [0, 0],
    ...     "score_min": [0.0, 0.0], "score_max": [10.0, 10.0], "n": [20, 80],
    ...     "conversions": [6.0, 2.0], "rate": [0.3, 0.025]})
    >>> fig = plot_segment_bands(table)
    >>> fig.axes[0].get_title(loc="left")
    'High intent convert most: 30.0% even at 0–10 points (n=20)'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots()
    for seg, d in table.groupby("segment", sort=False):
        mid = (d["score_min"] + d["score_max"]) / 2
        ax.plot(mid, d["rate"], marker="o", color=SEGMENT_COLORS.get(seg, PALETTE[5]),
                label=SEGMENT_LABELS.get(seg, seg))  # fmt: skip
    ax.set_xlabel("score band (midpoint, points)")
    ax.set_ylabel("converted")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    if ax.get_legend_handles_labels()[0]:  # no segment drawn: no empty legend
        ax.legend(fontsize=8)
    if len(table):
        tot = table.groupby("segment")[["conversions", "n"]].sum()
        best = (tot["conversions"] / tot["n"]).idxmax()
        low = table.loc[table["segment"] == best].iloc[0]
        title = (
            f"{SEGMENT_LABELS.get(best, best)} convert most: {_pct(low['rate'])} even at "
            f"{low['score_min']:.0f}–{low['score_max']:.0f} points (n={low['n']:,})"
        )
    else:
        title = "No leads to show"
    ax.set_title(title, loc="left", wrap=True)
    return fig


__all__ = [
    "plot_rule_lift",
    "plot_score_bands",
    "plot_score_vs_conversion_by_segment",
    "plot_segment_bands",
    "plot_threshold_sweep",
]
