"""Charts for A/B test readouts and designs: each takes computed tables, returns a Figure.

Nothing here computes a statistic: rates and intervals come from :mod:`leadnb.experiments.readout`,
curves from :mod:`leadnb.experiments.outcomes`, the MDE curve from :mod:`leadnb.experiments.design`.
Titles state the finding (built from the table's own numbers).

Degenerate numbers never crash a chart: error bars are drawn from intervals clipped to the
point (an interval that is NaN, inverted or off by a rounding error draws no bar on that side),
and arms without a rate are labelled but not plotted. User text (experiment ids, variant names,
metric names) is drawn as plain text: ``$`` is escaped so matplotlib never parses it as math.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leadnb.report.plots import PALETTE


def _pts(x: float) -> str:
    return f"{x * 100:+.1f} pts"


def plain(text: object) -> str:
    """User text for a chart: ``$`` escaped, so matplotlib draws it as written (never mathtext)."""
    return str(text).replace("$", r"\$")


def error_bars(
    value: np.ndarray | pd.Series, low: np.ndarray | pd.Series, high: np.ndarray | pd.Series
) -> np.ndarray:
    """``xerr`` for :meth:`~matplotlib.axes.Axes.errorbar`: shape (2, n), never negative or NaN.

    A side whose bound is missing, or lies on the wrong side of the value (an inverted interval,
    or a Wilson bound of 100% a rounding error below a rate of 100%), gets a zero-length bar.
    """
    v = np.asarray(value, dtype=float)
    below = v - np.asarray(low, dtype=float)
    above = np.asarray(high, dtype=float) - v
    err = np.vstack([below, above])
    return np.clip(np.nan_to_num(err, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def rates_title(primary: pd.DataFrame, alpha: float = 0.05) -> str:
    """The finding of a primary-metric readout in a few words (for chart titles)."""
    ctrl = primary.loc[primary["is_control"]].iloc[0]
    var = primary.loc[~primary["is_control"]]
    if "n_enrolled" in primary.columns:
        empty = [
            plain(a)
            for a, n in zip(primary["variant"], primary["n_enrolled"], strict=True)
            if n == 0
        ]
        if empty:
            return f"No comparison: {' and '.join(empty)} {'has' if len(empty) == 1 else 'have'} no leads"
    if var.empty or not (var["n"] > 0).all() or ctrl["n"] == 0:
        return f"{plain(ctrl['experiment_id'])}: no lead's window has closed yet"
    best = var.loc[var["diff"].astype(float).fillna(-np.inf).idxmax()]
    c = plain(ctrl["variant"])
    if best["p_adjusted"] < alpha and best["diff"] > 0:
        return (
            f"{plain(best['variant'])} converts {best['rate']:.1%} vs {ctrl['rate']:.1%} "
            f"for {c} ({_pts(best['diff'])})"
        )
    if (var["p_adjusted"] < alpha).any():
        worst = var.loc[var["diff"].astype(float).fillna(np.inf).idxmin()]
        return f"{plain(worst['variant'])} converts less than {c} ({_pts(worst['diff'])})"
    return f"No detectable difference from {c} yet ({_pts(best['diff'])} at best)"


def plot_rates(primary: pd.DataFrame, *, alpha: float = 0.05) -> Figure:
    """Rate per arm with its Wilson interval and n (one experiment's primary-metric rows)."""
    df = primary.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.7 * len(df)))
    y = np.arange(len(df))[::-1]
    colors = [PALETTE[6] if c else PALETTE[0] for c in df["is_control"]]
    err = error_bars(df["rate"], df["rate_ci_low"], df["rate_ci_high"])
    for i, (yi, r, col) in enumerate(zip(y, df["rate"].astype(float), colors, strict=True)):
        if not math.isnan(r):
            ax.errorbar(r, yi, xerr=err[:, i : i + 1], fmt="o", color=col, capsize=4, ms=7)
    labels = [
        f"{plain(v)}{' (control)' if c else ''}\nn = {int(n):,}"
        for v, c, n in zip(df["variant"], df["is_control"], df["n"], strict=True)
    ]
    ax.set_yticks(y, labels)
    for yi, r in zip(y, df["rate"].astype(float), strict=True):
        if not math.isnan(r):
            ax.annotate(f"{r:.1%}", (r, yi), textcoords="offset points", xytext=(0, 8), ha="center")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    label = str(df["metric_label"].iloc[0]) if "metric_label" in df else str(df["metric"].iloc[0])
    ax.set_xlabel(f"share {plain(label)} (95% interval)")
    ax.set_ylim(-0.7, len(df) - 0.3)
    if df["rate"].isna().all():
        ax.set_xlim(0, 1)
    ax.set_title(rates_title(df, alpha))
    fig.tight_layout()
    return fig


def diff_title(variants: pd.DataFrame) -> str:
    """Finding of a difference chart: the primary metric's move and how many guardrails moved."""
    if variants.empty:
        return "No variant to compare"
    clear = (variants["diff_ci_low"] > 0) | (variants["diff_ci_high"] < 0)
    role = variants["role"] if "role" in variants else pd.Series("primary", index=variants.index)
    prim = variants.loc[role == "primary"]
    guard = clear[role == "guardrail"]
    parts = []
    if len(prim):
        best = prim.loc[prim["diff"].astype(float).fillna(-np.inf).idxmax()]
        if math.isnan(float(best["diff"])):
            parts.append(f"{plain(best['metric'])}: no comparison yet")
        else:
            sure = "interval excludes 0" if clear[best.name] else "interval includes 0"
            parts.append(
                f"{plain(best['metric'])} {_pts(best['diff'])} for {plain(best['variant'])} ({sure})"
            )
    if len(guard):
        parts.append(
            f"{int(guard.sum())} of {len(guard)} guardrail comparisons moved beyond chance"
        )
    return "; ".join(parts)


def plot_diff(results: pd.DataFrame, *, target_effect: float | None = None) -> Figure:
    """Difference vs control (points) with intervals, per variant and metric; target as a line."""
    df = results.loc[~results["is_control"]].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.6 * len(df)))
    y = np.arange(len(df))[::-1]
    d = df["diff"].to_numpy(float)
    shown = ~np.isnan(d)
    if shown.any():
        ax.errorbar(
            d[shown],
            y[shown],
            xerr=error_bars(d, df["diff_ci_low"], df["diff_ci_high"])[:, shown],
            fmt="o",
            color=PALETTE[0],
            capsize=4,
        )
    ax.axvline(0, color="0.3", lw=1)
    ax.set_ylim(-0.6, len(df) - 0.4)
    if target_effect is not None:
        ax.axvline(target_effect, color=PALETTE[1], ls="--", lw=1, label="registered target")
        ax.legend(loc="lower right")
    ax.set_yticks(
        y, [f"{plain(v)}: {plain(m)}" for v, m in zip(df["variant"], df["metric"], strict=True)]
    )
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v * 100:+.0f} pts"))
    ax.set_xlabel("difference vs control (percentage points, 95% interval)")
    ax.set_title(diff_title(df))
    fig.tight_layout()
    return fig


def plot_km(curves: pd.DataFrame, *, window_days: int, metric_label: str = "") -> Figure:
    """Kaplan-Meier share converted by day since assignment, per arm, with interval bands."""
    fig, ax = plt.subplots()
    finals = {}
    for i, (arm, c) in enumerate(curves.groupby("variant", sort=False)):
        col = PALETTE[i % len(PALETTE)]
        ax.step(c["day"], c["converted"], where="post", color=col, label=plain(arm))
        ax.fill_between(c["day"], c["ci_low"], c["ci_high"], step="post", color=col, alpha=0.15)
        upto = c.loc[c["day"] <= window_days, "converted"]
        finals[arm] = float(upto.iloc[-1]) if len(upto) else float("nan")
    ax.axvline(window_days, color="0.4", ls=":", lw=1)
    ax.set_xlabel("days since assignment")
    ax.set_ylabel(f"share {plain(metric_label or 'converted')}")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    if finals:
        ax.legend(title="arm")
        text = " vs ".join(f"{plain(a)} {v:.1%}" for a, v in finals.items())
        ax.set_title(f"By day {window_days}, all leads counted: {text}")
    fig.tight_layout()
    return fig


def plot_mde_curve(
    curve: pd.DataFrame,
    *,
    baseline: float,
    target_effect: float | None = None,
    n_per_arm: float | None = None,
) -> Figure:
    """Minimum detectable effect (absolute, points) against leads per arm."""
    fig, ax = plt.subplots()
    ax.plot(curve["n_per_arm"], curve["mde"] * 100, color=PALETTE[0])
    ax.set_xlabel("leads per arm")
    ax.set_ylabel("smallest detectable lift (pts)")
    title = f"Over a baseline of {baseline:.0%}, more leads detect smaller lifts"
    if target_effect is not None:
        ax.axhline(target_effect * 100, color=PALETTE[1], ls="--", lw=1)
    if n_per_arm is not None and target_effect is not None:
        ax.axvline(n_per_arm, color=PALETTE[1], ls=":", lw=1)
        title = (
            f"{n_per_arm:,.0f} leads per arm detect {_pts(target_effect)} "
            f"over a baseline of {baseline:.0%}"
        )
    ax.set_title(title)
    fig.tight_layout()
    return fig


__all__ = [
    "diff_title",
    "error_bars",
    "plain",
    "plot_diff",
    "plot_km",
    "plot_mde_curve",
    "plot_rates",
    "rates_title",
]
