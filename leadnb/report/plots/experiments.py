"""Charts for A/B test readouts and designs: each takes computed tables, returns a Figure.

Nothing here computes a statistic: rates and intervals come from :mod:`leadnb.experiments.readout`,
curves from :mod:`leadnb.experiments.outcomes`, the MDE curve from :mod:`leadnb.experiments.design`.
Titles state the finding (built from the table's own numbers).

Degenerate numbers never crash a chart: error bars are drawn from intervals clipped to the
point (an interval that is NaN, inverted or off by a rounding error draws no bar on that side),
and arms without a rate are labelled but not plotted. User text (experiment ids, variant names,
metric names) is drawn as plain text: ``$`` is escaped so matplotlib never parses it as math;
``_`` in names reads as a space and metric names show stages by their display names (SQL).
Numbers go through :func:`leadnb.results.format_value`; rate axes are in percent and a rate's
label sits past the end of its interval, never on it.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from leadnb.report.plots import (
    BLUE,
    GREY,
    ORANGE,
    PALETTE,
    display_name,
    figure_kwargs,
    label_ends,
    percent_axis,
    plain,
    set_finding,
)
from leadnb.results import Kind, format_value


def _pts(x: float) -> str:
    return format_value(x, Kind.POINTS)


def _pct(x: float) -> str:
    return format_value(x, Kind.RATE)


def name(text: object) -> str:
    """A variant or experiment name for a chart: ``_`` read as a space, ``$`` escaped.

    >>> name("weekly_digest")
    'weekly digest'
    """
    return plain(str(text).replace("_", " "))


def metric_name(row: pd.Series) -> str:
    """A metric's reader name: ``metric`` when it is already words, else ``metric_label``; stage
    names in capitals (``reached sql within 30 days`` -> ``Reached SQL within 30 days``).

    >>> metric_name(pd.Series({"metric": "sql_30d", "metric_label": "reached sql within 30 days"}))
    'Reached SQL within 30 days'
    """
    m = str(row["metric"])
    if " " not in m and isinstance(row.get("metric_label"), str) and row["metric_label"]:
        m = row["metric_label"]
    return plain(display_name(m))


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
    """The finding of a primary-metric readout in a few words (for chart titles).

    Examples
    --------
    >>> p = pd.DataFrame({"experiment_id": "e", "variant": ["monthly", "weekly_digest"],
    ...     "is_control": [True, False], "n": [500, 500], "rate": [0.12, 0.15],
    ...     "diff": [np.nan, 0.03], "p_adjusted": [np.nan, 0.01]})
    >>> rates_title(p)
    'weekly digest converts 15.0% vs 12.0% for monthly (+3.0 pts)'
    """
    ctrl = primary.loc[primary["is_control"]].iloc[0]
    var = primary.loc[~primary["is_control"]]
    if "n_enrolled" in primary.columns:
        empty = [
            name(a)
            for a, n in zip(primary["variant"], primary["n_enrolled"], strict=True)
            if n == 0
        ]
        if empty:
            return f"No comparison: {' and '.join(empty)} {'has' if len(empty) == 1 else 'have'} no leads"
    if var.empty or not (var["n"] > 0).all() or ctrl["n"] == 0:
        return f"{name(ctrl['experiment_id'])}: no lead's window has closed yet"
    best = var.loc[var["diff"].astype(float).fillna(-np.inf).idxmax()]
    c = name(ctrl["variant"])
    if best["p_adjusted"] < alpha and best["diff"] > 0:
        return (
            f"{name(best['variant'])} converts {_pct(best['rate'])} vs {_pct(ctrl['rate'])} "
            f"for {c} ({_pts(best['diff'])})"
        )
    if (var["p_adjusted"] < alpha).any():
        worst = var.loc[var["diff"].astype(float).fillna(np.inf).idxmin()]
        return f"{name(worst['variant'])} converts less than {c} ({_pts(worst['diff'])})"
    return f"No detectable difference from {c} yet ({_pts(best['diff'])} at best)"


def plot_rates(primary: pd.DataFrame, *, alpha: float = 0.05) -> Figure:
    """Rate per arm with its Wilson interval and n (one experiment's primary-metric rows).

    Parameters
    ----------
    primary
        One experiment's primary-metric rows of :func:`leadnb.experiments.readout.readout`
        (``variant``, ``is_control``, ``n``, ``rate``, ``rate_ci_low``, ``rate_ci_high``,
        ``diff``, ``p_adjusted``; ``metric_label`` names the axis).
    alpha
        The registered significance level, for the title's finding.

    Returns
    -------
    matplotlib.figure.Figure
        One point per arm (control in grey) with its interval, its rate written just past the
        interval's end; percent axis.
    """
    df = primary.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.75 * len(df)), **figure_kwargs())
    y = np.arange(len(df))[::-1]
    colors = [GREY if c else BLUE for c in df["is_control"]]
    rate = df["rate"].to_numpy(dtype=float)
    high = df["rate_ci_high"].to_numpy(dtype=float)
    err = error_bars(rate, df["rate_ci_low"], high)
    for i, (yi, r, col) in enumerate(zip(y, rate, colors, strict=True)):
        if not math.isnan(r):
            ax.errorbar(r, yi, xerr=err[:, i : i + 1], fmt="o", color=col, capsize=4, ms=8)
    labels = [
        f"{name(v)}{' (control)' if c else ''}\nn = {format_value(n, Kind.COUNT)}"
        for v, c, n in zip(df["variant"], df["is_control"], df["n"], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_xlim(left=0)
    label_ends(ax, y, np.fmax(rate, high), [_pct(r) for r in rate], horizontal=True)
    percent_axis(ax.xaxis)
    label = metric_name(df.iloc[0]) if len(df) else "Converted"
    ax.set_xlabel(f"{label}: share of leads (95% interval)")
    ax.set_ylim(-0.7, len(df) - 0.3)
    if df["rate"].isna().all():
        ax.set_xlim(0, 1)
    set_finding(ax, rates_title(df, alpha), loc="center")
    return fig


def diff_title(variants: pd.DataFrame, *, control: str | None = None) -> str:
    """Finding of a difference chart: the primary metric's move and how many guardrails moved.

    Examples
    --------
    >>> v = pd.DataFrame({"variant": ["weekly"], "metric": ["sql_30d"],
    ...     "metric_label": ["reached sql within 30 days"], "diff": [0.03],
    ...     "diff_ci_low": [0.01], "diff_ci_high": [0.05]})
    >>> diff_title(v, control="monthly")
    'Reached SQL within 30 days: weekly +3.0 pts vs monthly, clearly better'
    """
    if variants.empty:
        return "No variant to compare"
    clear = (variants["diff_ci_low"] > 0) | (variants["diff_ci_high"] < 0)
    role = variants["role"] if "role" in variants else pd.Series("primary", index=variants.index)
    prim = variants.loc[role == "primary"]
    guard = clear[role == "guardrail"]
    vs = f"vs {name(control)}" if control is not None else "vs control"
    parts = []
    if len(prim):
        best = prim.loc[prim["diff"].astype(float).fillna(-np.inf).idxmax()]
        metric = metric_name(best)
        if math.isnan(float(best["diff"])):
            parts.append(f"{metric}: no comparison yet")
        else:
            if not clear[best.name]:
                sure = "no clear difference"
            elif best["diff"] > 0:
                sure = "clearly better"
            else:
                sure = "clearly worse"
            parts.append(f"{metric}: {name(best['variant'])} {_pts(best['diff'])} {vs}, {sure}")
    if len(guard):
        parts.append(
            f"{format_value(int(guard.sum()), Kind.COUNT)} of {format_value(len(guard), Kind.COUNT)}"
            " guardrails moved beyond chance"
        )
    return "; ".join(parts)


def plot_diff(results: pd.DataFrame, *, target_effect: float | None = None) -> Figure:
    """Difference vs control (points) with intervals, per variant and metric; target as a line.

    Parameters
    ----------
    results
        :func:`leadnb.experiments.readout.readout`'s results (``variant``, ``is_control``,
        ``metric``, ``diff``, ``diff_ci_low``, ``diff_ci_high``; ``role``, ``metric_label``).
    target_effect
        The registered target difference (a dashed line), or None.

    Returns
    -------
    matplotlib.figure.Figure
        One row per variant and metric, in percentage points around 0.
    """
    ctrl = results.loc[results["is_control"], "variant"]
    df = results.loc[~results["is_control"]].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 1.8 + 0.65 * len(df)), **figure_kwargs())
    y = np.arange(len(df))[::-1]
    d = df["diff"].to_numpy(float)
    shown = ~np.isnan(d)
    if shown.any():
        ax.errorbar(
            d[shown],
            y[shown],
            xerr=error_bars(d, df["diff_ci_low"], df["diff_ci_high"])[:, shown],
            fmt="o",
            color=BLUE,
            capsize=4,
            ms=7,
        )
    ax.axvline(0, color="0.3", lw=1)
    ax.set_ylim(-0.6, len(df) - 0.4)
    if target_effect is not None:
        ax.axvline(target_effect, color=ORANGE, ls="--", lw=1.5, label="Registered target")
        ax.legend(loc="lower right")
    ax.set_yticks(y, [f"{metric_name(r)}\n{name(v)}" for v, (_, r) in
                      zip(df["variant"], df.iterrows(), strict=True)])  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: format_value(v, Kind.POINTS)))
    ax.set_xlabel("Difference vs control (95% interval)")
    set_finding(ax, diff_title(df, control=ctrl.iloc[0] if len(ctrl) else None), loc="center")
    return fig


def plot_km(curves: pd.DataFrame, *, window_days: int, metric_label: str = "") -> Figure:
    """Kaplan-Meier share converted by day since assignment, per arm, with interval bands.

    Parameters
    ----------
    curves
        :func:`leadnb.experiments.outcomes.km_curves` (``variant``, ``day``, ``converted``,
        ``ci_low``, ``ci_high``).
    window_days
        The metric's window (a dotted line; the title reads the curves there).
    metric_label
        What "converted" means (``reached SQL``), for the axis.

    Returns
    -------
    matplotlib.figure.Figure
        One step curve per arm on a percent axis.
    """
    fig, ax = plt.subplots(**figure_kwargs())
    finals = {}
    for i, (arm, c) in enumerate(curves.groupby("variant", sort=False)):
        col = PALETTE[i % len(PALETTE)]
        ax.step(c["day"], c["converted"], where="post", color=col, lw=2, label=name(arm))
        ax.fill_between(c["day"], c["ci_low"], c["ci_high"], step="post", color=col, alpha=0.15)
        upto = c.loc[c["day"] <= window_days, "converted"]
        finals[arm] = float(upto.iloc[-1]) if len(upto) else float("nan")
    ax.axvline(window_days, color="0.4", ls=":", lw=1)
    ax.set_xlabel("Days since assignment")
    what = display_name(metric_label or "converted")
    if not what.split(" ")[0].isupper():  # "reached SQL", but "SQL within 30 days"
        what = what[:1].lower() + what[1:]
    ax.set_ylabel(f"Share {plain(what)}")
    ax.set_ylim(bottom=0)
    percent_axis(ax.yaxis)
    if finals:
        ax.legend(title="Arm")
        text = " vs ".join(f"{name(a)} {_pct(v)}" for a, v in finals.items())
        set_finding(ax, f"By day {window_days}, all leads counted: {text}", loc="center")
    return fig


def plot_mde_curve(
    curve: pd.DataFrame,
    *,
    baseline: float,
    target_effect: float | None = None,
    n_per_arm: float | None = None,
) -> Figure:
    """Minimum detectable effect (absolute, points) against leads per arm.

    Parameters
    ----------
    curve
        :func:`leadnb.experiments.design.mde_curve` (``n_per_arm``, ``mde``).
    baseline
        The control's expected rate, for the title.
    target_effect, n_per_arm
        The registered target and the planned leads per arm (lines), or None.

    Returns
    -------
    matplotlib.figure.Figure
        The curve in percentage points.
    """
    fig, ax = plt.subplots(**figure_kwargs())
    ax.plot(curve["n_per_arm"], curve["mde"] * 100, color=BLUE, lw=2)
    ax.set_xlabel("Leads per arm")
    ax.set_ylabel("Smallest detectable lift\n(percentage points)")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: format_value(v, Kind.COUNT)))
    title = f"Over a baseline of {_pct(baseline)}, more leads detect smaller lifts"
    if target_effect is not None:
        ax.axhline(target_effect * 100, color=ORANGE, ls="--", lw=1.5)
    if n_per_arm is not None and target_effect is not None:
        ax.axvline(n_per_arm, color=ORANGE, ls=":", lw=1.5)
        title = (
            f"{format_value(n_per_arm, Kind.COUNT)} leads per arm detect {_pts(target_effect)} "
            f"over a baseline of {_pct(baseline)}"
        )
    set_finding(ax, title, loc="center")
    return fig


__all__ = [
    "diff_title",
    "error_bars",
    "metric_name",
    "name",
    "plain",
    "plot_diff",
    "plot_km",
    "plot_mde_curve",
    "plot_rates",
    "rates_title",
]


def sequence_title(history: pd.DataFrame) -> str:
    """The finding of a sequential plan's looks, from :func:`leadnb.experiments.plan.sequential_history`.

    Examples
    --------
    >>> h = pd.DataFrame({"look": pd.to_datetime(["2026-03-02", "2026-03-09"]), "week": [4, 5],
    ...     "variant": "b", "ci_low": [-0.01, 0.004], "ci_high": [0.1, 0.09],
    ...     "excludes_zero": [False, True]})
    >>> sequence_title(h)
    'The always-valid interval first excluded 0 at week 5 (2026-03-09)'
    >>> sequence_title(h.iloc[:1])
    'The always-valid interval includes 0 at every look so far'
    """
    hit = history.loc[history["excludes_zero"].astype(bool)]
    if hit.empty:
        return "The always-valid interval includes 0 at every look so far"
    first = hit.sort_values("look", kind="stable").iloc[0]
    return (
        f"The always-valid interval first excluded 0 at week {int(first['week'])} "
        f"({pd.Timestamp(first['look']):%Y-%m-%d})"
    )


def plot_sequence(history: pd.DataFrame, *, target_effect: float | None = None) -> Figure:
    """Each weekly look of a sequential plan: the estimate and its always-valid interval.

    Parameters
    ----------
    history
        :func:`leadnb.experiments.plan.sequential_history` (``look``, ``variant``,
        ``estimate``, ``ci_low``, ``ci_high``, ``excludes_zero``, ``week``).
    target_effect
        The registered target (a dashed line).

    Returns
    -------
    matplotlib.figure.Figure
        One line and band per variant over the analysis dates; the first look that excluded
        0 is marked.
    """
    fig, ax = plt.subplots(**figure_kwargs())
    h = history.dropna(subset=["estimate"])
    for i, (arm, c) in enumerate(h.groupby("variant", sort=False)):
        col = PALETTE[(i + 1) % len(PALETTE)]
        ax.plot(c["look"], c["estimate"], color=col, lw=2, marker="o", ms=3, label=name(arm))
        ax.fill_between(c["look"], c["ci_low"], c["ci_high"], color=col, alpha=0.15)
    ax.axhline(0, color=GREY, lw=1)
    if target_effect is not None:
        ax.axhline(target_effect, color="0.4", ls="--", lw=1)
    hit = h.loc[h["excludes_zero"].astype(bool)]
    if len(hit):
        ax.axvline(hit["look"].min(), color=ORANGE, ls=":", lw=1.5)
    ax.set_xlabel("Analysis date (weekly look)")
    ax.set_ylabel("Difference from control (pts)")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v * 100:+.0f}")
    if len(h):
        ax.legend(title="Variant")
    fig.autofmt_xdate()
    set_finding(ax, sequence_title(history), loc="center")
    return fig
