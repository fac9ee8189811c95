"""Charts for the scoring-calibration notebook. Each takes a computed table, returns a Figure.

Titles state the finding and are written from the numbers in the table (nothing is computed
here beyond picking rows to name), every number through :func:`leadnb.results.format_value`.
Rates are drawn on percent axes, value labels sit past the end of their error bars, and colours
come from :mod:`leadnb.report.plots` (colour-blind safe). No theme is set here
(:func:`leadnb.report.plots.set_theme` does that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from leadnb.report.plots import (
    BLUE,
    GREY,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    display_name,
    figure_kwargs,
    label_ends,
    percent_axis,
    place_beside,
    plain_log_axis,
    set_finding,
)
from leadnb.results import Kind, format_value
from leadnb.scoring import segments

SEGMENT_COLORS: Mapping[str, str] = {
    "asked_for_sales": ORANGE,
    "converted_fast": PURPLE,
    "high_intent": ORANGE,
    "engaged_nurture": BLUE,
    "competitor": VERMILLION,
    "other": GREY,
}
SEGMENT_LABELS: Mapping[str, str] = segments.SEGMENT_LABELS
"""The segments' reader names: the ones the report's tables use (one list)."""
OUTCOME_DEFINED: Mapping[str, str] = {
    "high_intent": "partly",  # older summaries: converted fast, or asked for sales
    "converted_fast": "fully",  # reached the outcome stage within fast_days, without asking
}
"""Segments whose definition uses the outcome itself, and how much ("partly": one of the ways
in is converting fast). Any segment whose name contains ``fast`` counts as fully defined so;
a summary's ``defined_by_outcome`` column says it too. Such a segment is drawn hollow."""


def _pct(x: float) -> str:
    return format_value(x, Kind.RATE)


def _seg_label(segment: object) -> str:
    return SEGMENT_LABELS.get(str(segment), display_name(segment))


def _errors(rate: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar lengths (2 x n), never negative or NaN (a bound a hair past its rate)."""
    err = np.vstack([rate - low, high - rate])
    return np.clip(np.nan_to_num(err, nan=0.0, posinf=0.0, neginf=0.0), 0, None)


def _ends(rate: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Where a bar or its error bar ends: the larger of the two (the rate when there is no bound)."""
    return np.fmax(rate, high)


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
        One bar per band, each labelled with its rate above its error bar; the title compares the
        top and bottom bands.

    Examples
    --------
    >>> from leadnb.scoring.calibration import score_bands
    >>> fig = plot_score_bands(score_bands([1, 2, 3, 4], [0, 0, 1, 1], edges=[0, 2.5, 5]), 0.5)
    >>> fig.axes[0].get_title(loc="left")
    'Top score band converts at 100.0% vs 0.0% in the bottom band; best band: 3–4 points'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(**figure_kwargs())
    x = np.arange(len(bands))
    rate = bands["rate"].to_numpy(dtype=float)
    high = bands["ci_high"].to_numpy(dtype=float)
    ax.bar(x, rate, color=BLUE, alpha=0.85, width=0.7)
    ax.errorbar(x, rate, yerr=_errors(rate, bands["ci_low"].to_numpy(dtype=float), high),
                fmt="none", ecolor="black", capsize=3, lw=1)  # fmt: skip
    label_ends(ax, x, _ends(rate, high), [_pct(r) for r in rate], horizontal=False)
    if overall_rate is not None and not pd.isna(overall_rate):
        ax.axhline(overall_rate, color=ORANGE, ls="--", lw=1.5,
                   label=f"All leads: {_pct(overall_rate)}")  # fmt: skip
        ax.legend(loc="upper left")
    labels = [
        f"{format_value(a, Kind.SCORE)}–{format_value(b, Kind.SCORE)}\n"
        f"n = {format_value(n, Kind.COUNT)}"
        for a, b, n in zip(bands["score_min"], bands["score_max"], bands["n"], strict=True)
    ]
    ax.set_xticks(x, labels)
    ax.set_xlabel("Score band (points) and leads in it")
    ax.set_ylabel("Converted (95% interval)")
    ax.set_ylim(bottom=0)
    percent_axis(ax.yaxis)
    if len(bands):
        top, bottom = bands.iloc[-1], bands.iloc[0]
        best = bands.loc[bands["rate"].idxmax()] if bands["rate"].notna().any() else top
        title = (
            f"Top score band converts at {_pct(top['rate'])} vs {_pct(bottom['rate'])} in the "
            f"bottom band; best band: {format_value(best['score_min'], Kind.SCORE)}–"
            f"{format_value(best['score_max'], Kind.SCORE)} points"
        )
    else:
        title = "No scored leads to calibrate"
    set_finding(ax, title)
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
        axis (percent), leads per week on the right one.

    Examples
    --------
    >>> from leadnb.scoring.calibration import threshold_sweep
    >>> sw = threshold_sweep([1, 2, 3, 4], [0, 0, 1, 1], capacity_per_week=1, weeks=2)
    >>> fig = plot_threshold_sweep(sw, 1, 3.0)
    >>> fig.axes[0].get_title(loc="left")
    'A threshold of 3 points fits 1 leads/week and keeps 100.0% of conversions; 100.0% of the leads above it convert'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(**figure_kwargs())
    s = sweep.sort_values("threshold")
    ax.plot(s["threshold"], s["precision"], color=BLUE, lw=2,
            label="Precision: share of leads above that convert")  # fmt: skip
    enough = s["leads_above"] >= 30  # intervals over a handful of leads would fill the chart
    ax.fill_between(s["threshold"].where(enough), s["precision_ci_low"].where(enough),
                    s["precision_ci_high"].where(enough), color=BLUE, alpha=0.15,
                    lw=0)  # fmt: skip
    ax.plot(s["threshold"], s["recall"], color=ORANGE, lw=2,
            label="Recall: share of all conversions kept")  # fmt: skip
    ax.set_ylim(0, 1.02)
    percent_axis(ax.yaxis)
    ax.set_xlabel("MQL threshold (leads scoring at least this go to sales), points")
    ax.set_ylabel("Share of leads")
    ax2 = ax.twinx()
    ax2.plot(s["threshold"], s["weekly_workload"], color=PURPLE, ls="--", lw=1.5,
             label="Leads per week above the threshold")  # fmt: skip
    cap = format_value(capacity_per_week, Kind.COUNT)
    ax2.axhline(capacity_per_week, color=PURPLE, lw=1.5, ls=":",
                label=f"SDR capacity: {cap} a week")  # fmt: skip
    ax2.set_ylabel("Leads per week above the threshold")
    ax2.set_ylim(bottom=0)
    ax2.grid(False)
    if recommended is not None:
        ax.axvline(recommended, color="black", lw=1)
        row = s.loc[s["threshold"] == recommended]
        thr = format_value(recommended, Kind.SCORE)
        if len(row):
            r = row.iloc[0]
            title = (
                f"A threshold of {thr} points fits {cap} leads/week and keeps "
                f"{_pct(r['recall'])} of conversions; {_pct(r['precision'])} of the leads above "
                "it convert"
            )
        else:
            title = f"Recommended threshold: {thr} points"
    else:
        title = "Precision, recall and SDR workload by threshold"
    set_finding(ax, title)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncols=2, frameon=False)
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
        One row per rule on a log axis, coloured (and shaped) by whether the configured points
        agree with the data; the title names the best and worst rule.

    Examples
    --------
    >>> lift = pd.DataFrame({"rule": ["a", "b"], "points": [5.0, 5.0], "n_with": [40, 50],
    ...     "lift": [2.0, 0.5], "ci_low": [1.5, 0.3], "ci_high": [2.6, 0.8],
    ...     "too_rare": [False, False]})
    >>> fig = plot_rule_lift(lift)
    >>> fig.axes[0].get_title(loc="left")
    "'a' predicts conversion best (2.00×); 'b' worst (0.50×)"
    >>> plt.close(fig)
    """
    d = lift.sort_values("lift", na_position="first").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, max(4.0, 0.42 * len(d) + 2.6)), **figure_kwargs())
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
    styles = {  # colour and marker: told apart by shape too, not by colour alone
        "agree": (BLUE, "o", "Points agree with the data"),
        "contradict": (VERMILLION, "X", "Points contradict the data"),
        "unclear": (SKY_BLUE, "D", "No clear difference"),
        "rare": (GREY, "s", "Too rare to judge"),
    }
    kind = np.where(
        rare, "rare", np.where(~sure, "unclear", np.where(agrees, "agree", "contradict"))
    )
    for i in range(len(d)):  # one line per rule (tens of rules at most)
        c, m, _ = styles[kind[i]]
        if np.isfinite(lo[i]) and np.isfinite(hi[i]):
            ax.plot([lo[i], hi[i]], [y[i], y[i]], color=c, lw=2)
        ax.plot([shown[i]], [y[i]], marker=m, color=c, ms=8, ls="none")
    fig.legend(
        handles=[Line2D([], [], color=c, marker=m, ls="none", ms=8, label=t)
                 for c, m, t in styles.values()],
        loc="outside lower center", ncols=2, frameon=False,
    )  # fmt: skip
    ax.axvline(1, color="black", lw=1)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    labels = [
        f"{r} ({format_value(p, Kind.SCORE)} pts, n = {format_value(n, Kind.COUNT)})"
        f"{' – too rare' if t else ''}"
        for r, p, n, t in zip(d["rule"], d["points"], d["n_with"], rare, strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, max(len(d) - 0.3, 0.3))
    ax.set_xlabel("Conversion rate with the rule ÷ without it\n(log scale, 95% interval)")
    judged = d.loc[~rare & d["lift"].notna()]
    if len(judged):
        best = judged.loc[judged["lift"].idxmax()]
        worst = judged.loc[judged["lift"].idxmin()]
        title = (
            f"'{best['rule']}' predicts conversion best "
            f"({format_value(best['lift'], Kind.MULTIPLIER)}); "
            f"'{worst['rule']}' worst ({format_value(worst['lift'], Kind.MULTIPLIER)})"
        )
    else:
        title = "Every rule fires too rarely to judge"
    set_finding(ax, title)
    return fig


def _fully_by_outcome(segment: object, flagged: object = False) -> bool:
    """Whether a segment is defined by converting fast (its rate is 100% by definition): its
    summary's ``defined_by_outcome`` flag, :data:`OUTCOME_DEFINED`, or ``fast`` in its name."""
    s = str(segment)
    return bool(flagged is True) or OUTCOME_DEFINED.get(s, "fully" if "fast" in s else None) == (
        "fully"
    )


def _outcome_note(segments: list[str], fast_days: int | None, outcome_stage: str) -> str | None:
    """What a reader must know about segments defined by the outcome itself, or None."""
    within = f"within {fast_days} days of creation" if fast_days else "soon after creation"
    stage = display_name(outcome_stage)
    notes = []
    for s in segments:
        how = OUTCOME_DEFINED.get(s, "fully" if "fast" in s else None)
        if how == "partly":
            notes.append(
                f"“{_seg_label(s)}” is partly defined by converting fast: it holds leads that "
                f"asked for sales {within} (a signal seen before the outcome) and leads that "
                f"reached {stage} {within}, so part of its rate is true by definition."
            )
        elif how == "fully":
            notes.append(
                f"“{_seg_label(s)}” is defined by reaching {stage} fast, so its rate is "
                "high by definition."
            )
    return " ".join(notes) or None


def plot_score_vs_conversion_by_segment(
    summary: pd.DataFrame, *, fast_days: int | None = None, outcome_stage: str = "sql"
) -> Figure:
    """THE chart for a head of sales: mean score (x) vs conversion rate (y) per segment.

    Parameters
    ----------
    summary
        :func:`leadnb.scoring.segments.segment_summary` output (``segment``, ``n``,
        ``mean_score``, ``rate``, ``ci_low``, ``ci_high``).
    fast_days
        The segmentation's ``fast_days``, named in the note under the chart (the "high intent"
        segment is partly defined by converting within that many days).
    outcome_stage
        The outcome stage of the segmentation, named in that note.

    Returns
    -------
    matplotlib.figure.Figure
        One bubble per segment (area ~ leads, bars = 95% interval), labelled beside its bubble;
        the title contrasts competitors with high-intent leads and a note under the chart says
        which segment is defined by the outcome.

    Examples
    --------
    >>> summary = pd.DataFrame({"segment": ["competitor", "high_intent"], "n": [10, 20],
    ...     "mean_score": [60.0, 30.0], "rate": [0.0, 0.3], "ci_low": [0.0, 0.15],
    ...     "ci_high": [0.28, 0.5]})
    >>> fig = plot_score_vs_conversion_by_segment(summary, fast_days=30)
    >>> fig.axes[0].get_title(loc="left")[:60]
    'A high score is not high intent: competitors average 60 poin'
    >>> fig.get_supxlabel()[:60]
    'Note: “High intent” is partly defined by converting fast: it'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(figsize=(8, 5.2), **figure_kwargs())
    n_max = max(float(summary["n"].max()), 1.0) if len(summary) else 1.0
    defined = [
        _fully_by_outcome(seg, flag)
        for seg, flag in zip(
            summary["segment"],
            summary["defined_by_outcome"]
            if "defined_by_outcome" in summary
            else [False] * len(summary),
            strict=True,
        )
    ]
    # the scale is set by the segments a reader compares; a segment converting by definition
    # (100%) sits on the top edge, hollow, instead of squashing the others into the bottom
    compared = summary.loc[[not d for d in defined]]
    top = None
    if len(compared) and any(defined):
        ends = compared["ci_high"].fillna(compared["rate"]).astype(float)
        top = max(float(ends.max()) * 1.3, 0.05)
    labels, radii = [], []
    for (_, r), by_outcome in zip(summary.iterrows(), defined, strict=True):  # a few segments
        c = SEGMENT_COLORS.get(r["segment"], SKY_BLUE)
        y = float(r["rate"])
        off_scale = top is not None and by_outcome and y > top
        if off_scale:
            y = top
        else:
            up = max(r["ci_high"] - r["rate"], 0.0) if pd.notna(r["ci_high"]) else 0.0
            down = max(r["rate"] - r["ci_low"], 0.0) if pd.notna(r["ci_low"]) else 0.0
            ax.errorbar(r["mean_score"], y, yerr=[[down], [up]], fmt="none", ecolor=c,
                        capsize=4, lw=1.5)  # fmt: skip
        area = 80 + 1500 * r["n"] / n_max  # points²
        ax.scatter(r["mean_score"], y, s=area, facecolors="none" if by_outcome else c,
                   edgecolors=c if by_outcome else "black", alpha=0.75,
                   linewidths=2 if by_outcome else 0.5, clip_on=False)  # fmt: skip
        radii.append(float(np.sqrt(area / np.pi)))
        where = " (by definition; above this scale)" if off_scale else ""
        labels.append(
            ax.annotate(
                f"{_seg_label(r['segment'])}\n{format_value(r['n'], Kind.COUNT)} leads, "
                f"{_pct(r['rate'])} convert{where}",
                (r["mean_score"], y),
                textcoords="offset points",
                xytext=(radii[-1] + 6, 0),
                va="center",
                ha="left",
                annotation_clip=False,
            )  # fmt: skip
        )
        labels[-1].set_in_layout(False)
    ax.set_xlabel("Average score (points)")
    ax.set_ylabel("Converted (95% interval)")
    percent_axis(ax.yaxis)
    ax.margins(x=0.35, y=0.25)
    ax.set_ylim(bottom=0)
    if top is not None:
        ax.set_ylim(0, top)
    if len(summary):  # a bubble at a rate of 0 shows whole, and room for labels below it
        lo, hi = ax.get_ylim()
        ticks = [t for t in ax.get_yticks() if 0 <= t <= hi]
        ax.set_ylim(-0.12 * hi, hi)
        ax.set_yticks(ticks)  # no negative rates on the axis
    seg = summary.set_index("segment")
    intent = next((s for s in ("asked_for_sales", "high_intent") if s in seg.index), None)
    if "competitor" in seg.index and intent is not None:
        c, h = seg.loc["competitor"], seg.loc[intent]
        who = "leads that asked for sales" if intent == "asked_for_sales" else "high-intent leads"
        title = (
            f"A high score is not high intent: competitors average "
            f"{format_value(c['mean_score'], Kind.SCORE)} points and convert {_pct(c['rate'])}; "
            f"{who} average {format_value(h['mean_score'], Kind.SCORE)} and convert "
            f"{_pct(h['rate'])}"
        )
    elif len(seg) and seg["mean_score"].notna().any():
        top = seg["mean_score"].idxmax()
        title = (
            f"The highest-scoring segment ({_seg_label(top)}) converts {_pct(seg.loc[top, 'rate'])}"
        )
    else:
        title = "No segments"
    note = _outcome_note([str(s) for s in seg.index], fast_days, outcome_stage)
    set_finding(ax, title, note=note)
    place_beside(ax, labels, radii)
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
        One line per segment over the band midpoints (percent axis); the title names the segment
        that converts most and its rate in its lowest band. Segments defined by the outcome
        (converting fast: 100% in every band by definition) are left out, and a note says so.

    Examples
    --------
    >>> table = pd.DataFrame({"segment": ["high_intent", "other"], "band": [0, 0],
    ...     "score_min": [0.0, 0.0], "score_max": [10.0, 10.0], "n": [20, 80],
    ...     "conversions": [6.0, 2.0], "rate": [0.3, 0.025]})
    >>> fig = plot_segment_bands(table)
    >>> fig.axes[0].get_title(loc="left")
    'High intent convert most: 30.0% of 20 leads, from 30.0% to 30.0% across score bands'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(**figure_kwargs())
    markers = iter("osD^vP*")
    left_out = [str(g) for g in table["segment"].unique() if _fully_by_outcome(g)]
    table = table.loc[~table["segment"].astype(str).isin(left_out)]
    for seg, d in table.groupby("segment", sort=False):
        mid = (d["score_min"] + d["score_max"]) / 2
        ax.plot(mid, d["rate"], marker=next(markers, "o"), lw=2,
                color=SEGMENT_COLORS.get(seg, SKY_BLUE), label=_seg_label(seg))  # fmt: skip
    ax.set_xlabel("Score band (midpoint, points)")
    ax.set_ylabel("Converted")
    ax.set_ylim(bottom=0)
    percent_axis(ax.yaxis)
    if ax.get_legend_handles_labels()[0]:  # no segment drawn: no empty legend
        ax.legend()
    if len(table):
        tot = table.groupby("segment")[["conversions", "n"]].sum()
        best = (tot["conversions"] / tot["n"]).idxmax()
        rates = table.loc[table["segment"] == best, "rate"]
        title = (
            f"{_seg_label(best)} convert most: "
            f"{_pct(tot.loc[best, 'conversions'] / tot.loc[best, 'n'])} of "
            f"{format_value(tot.loc[best, 'n'], Kind.COUNT)} leads, from {_pct(rates.min())} to "
            f"{_pct(rates.max())} across score bands"
        )
    else:
        title = "No leads to show"
    note = None
    if left_out:
        names = ", ".join(f"“{_seg_label(g)}”" for g in left_out)
        note = f"{names} is left out: it converts 100% in every band, by definition."
    set_finding(ax, title, note=note)
    return fig


__all__ = [
    "plot_rule_lift",
    "plot_score_bands",
    "plot_score_vs_conversion_by_segment",
    "plot_segment_bands",
    "plot_threshold_sweep",
]


def plot_reliability(table: pd.DataFrame, *, slope: float | None = None,
                     intercept: float | None = None) -> Figure:  # fmt: skip
    """A reliability diagram: observed conversion (with its Wilson interval) against the mean
    predicted probability of each bin, and the diagonal a calibrated model follows.

    Parameters
    ----------
    table
        :func:`leadnb.scoring.model.reliability_table` output.
    slope, intercept
        The calibration slope and intercept, named in the title when given.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from leadnb.scoring.model import reliability_table
    >>> t = reliability_table([0.1, 0.2, 0.3, 0.5, 0.6, 0.9], [0, 0, 1, 0, 1, 1], n_bins=2)
    >>> fig = plot_reliability(t, slope=0.95, intercept=0.02)
    >>> fig.axes[0].get_title(loc="left")
    '2 of 2 bins hold their predicted rate within the 95% interval (slope 0.950, intercept 0.020; 1 and 0 are calibrated)'
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(**figure_kwargs())
    t = table.sort_values("mean_predicted")
    x, rate = t["mean_predicted"].to_numpy(float), t["rate"].to_numpy(float)
    lo, hi = t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float)
    top = float(max(np.nanmax(hi), np.nanmax(x))) * 1.1 if len(t) else 1.0
    ax.plot([0, top], [0, top], color=GREY, ls="--", lw=1, label="Calibrated: observed = predicted")
    ax.errorbar(x, rate, yerr=_errors(rate, lo, hi), fmt="o", color=BLUE, capsize=3,
                label="Observed conversion per bin, 95% Wilson interval")  # fmt: skip
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_xlabel("Predicted probability (mean of the bin)")
    ax.set_ylabel("Observed conversion")
    inside = int(((x >= lo) & (x <= hi)).sum())
    title = f"{inside} of {len(t)} bins hold their predicted rate within the 95% interval"
    if slope is not None and intercept is not None:
        title += (
            f" (slope {format_value(slope, Kind.RATIO)}, intercept "
            f"{format_value(intercept, Kind.RATIO)}; 1 and 0 are calibrated)"
        )
    set_finding(ax, title)
    fig.legend(loc="outside lower center", ncols=1, frameon=False)
    return fig


def plot_capture_curve(curve: pd.DataFrame, capacity_per_week: float, *, at: Any = None) -> Figure:
    """Conversions captured by the model's and by the points' ranking over a range of weekly
    capacities, with the paired bootstrap interval of the difference.

    Parameters
    ----------
    curve
        :func:`leadnb.scoring.queue.capture_curve` output.
    capacity_per_week
        The team's capacity (a vertical line, named in the title).
    at
        The comparison at the team's capacity
        (:class:`~leadnb.scoring.queue.CaptureResult`: ``capture_diff``,
        ``capture_diff_ci_low``, ``capture_diff_ci_high``), so the title says the report's
        numbers; None: the curve's row nearest the capacity.

    Returns
    -------
    matplotlib.figure.Figure
        Top: conversions captured by each ranking; below: the difference with its interval.

    Examples
    --------
    >>> c = pd.DataFrame({"capacity_per_week": [10.0, 60.0], "capacity": [20, 120],
    ...     "capture_model": [5.0, 20.0], "capture_points": [4.0, 18.0], "capture_diff": [1.0, 2.0],
    ...     "capture_diff_ci_low": [-1.0, -3.0], "capture_diff_ci_high": [3.0, 7.0]})
    >>> fig = plot_capture_curve(c, 60)
    >>> fig.axes[0].get_title(loc="left")
    'At 60 leads a week the model captures 2 more conversions than the points (95% CI -3 to 7): no clear difference'
    >>> from types import SimpleNamespace
    >>> at = SimpleNamespace(capture_diff=8.0, capture_diff_ci_low=2.0, capture_diff_ci_high=14.0)
    >>> plot_capture_curve(c, 60, at=at).axes[0].get_title(loc="left")
    'At 60 leads a week the model captures 8 more conversions than the points (95% CI 2 to 14): the model captures more'
    >>> plt.close("all")
    """
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7, 7), sharex=True, **figure_kwargs())
    c = curve.sort_values("capacity_per_week")
    cap = c["capacity_per_week"].to_numpy(float)
    ax.plot(cap, c["capture_model"], color=BLUE, lw=2, label="Model's ranking")
    ax.plot(cap, c["capture_points"], color=ORANGE, lw=2, ls="--", label="Points' ranking")
    ax.set_ylabel("Conversions among the leads sent")
    ax.set_ylim(bottom=0)
    ax2.fill_between(cap, c["capture_diff_ci_low"], c["capture_diff_ci_high"], color=BLUE,
                     alpha=0.2, lw=0, label="95% paired bootstrap interval")  # fmt: skip
    ax2.plot(cap, c["capture_diff"], color=BLUE, lw=2, label="Model minus points")
    ax2.axhline(0, color=GREY, lw=1)
    ax2.set_xlabel("Leads a week the team works")
    ax2.set_ylabel("Extra conversions with the model")
    for a in (ax, ax2):
        a.axvline(capacity_per_week, color="black", lw=1, ls=":")
    if at is None:
        near = c.iloc[int(np.argmin(np.abs(cap - capacity_per_week)))]
        d, lo, hi = near["capture_diff"], near["capture_diff_ci_low"], near["capture_diff_ci_high"]
        week = near["capacity_per_week"]
    else:
        d, lo, hi = at.capture_diff, at.capture_diff_ci_low, at.capture_diff_ci_high
        week = capacity_per_week
    count = lambda v: format_value(v, Kind.COUNT, like=max(abs(v), 100))  # noqa: E731
    verdict = (
        "the model captures more" if lo > 0 else "the points capture more" if hi < 0
        else "no clear difference"
    )  # fmt: skip
    diff = f"{count(d)} more" if d >= 0 else f"{count(-d)} fewer"
    title = (
        f"At {format_value(week, Kind.COUNT)} leads a week the model "
        f"captures {diff} conversions than the points (95% CI {count(lo)} to {count(hi)}): "
        f"{verdict}"
    )
    set_finding(ax, title, fig_title=False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncols=2, frameon=False)
    return fig
