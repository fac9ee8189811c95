"""Charts for the funnel and cohort views. Each takes a computed table and returns a Figure.

Nothing here computes a statistic: rates, intervals and curves come from
:mod:`leadnb.funnel.stages`, :mod:`leadnb.funnel.cohorts`, :mod:`leadnb.funnel.survival`, :mod:`leadnb.funnel.velocity` and
:mod:`leadnb.funnel.value_map`. Default titles state the finding read off the table; pass ``title`` to
override. No theme is set here and ``plt.show()`` is never called.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leadnb.report.plots import PALETTE, plain_log_axis


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


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

    Examples
    --------
    >>> table = pd.DataFrame({"from_stage": ["lead", "mql"], "to_stage": ["mql", "sql"],
    ...                       "n_from": [400, 100], "rate": [0.25, 0.3],
    ...                       "ci_low": [0.21, 0.22], "ci_high": [0.29, 0.4]})
    >>> fig = plot_stage_conversion(table)
    >>> fig.axes[0].get_title()
    '25.0% of leads become MQLs; 30.0% of MQLs become SQLs'
    >>> plt.close(fig)
    """
    t = table.reset_index(drop=True)
    labels = [
        f"{a} → {b}  (n={n:,})"
        for a, b, n in zip(t["from_stage"], t["to_stage"], t["n_from"], strict=True)
    ]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(t) + 1.5))
    y = np.arange(len(t))[::-1]
    rate = t["rate"].to_numpy(float)
    err = np.vstack([rate - t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float) - rate])
    ax.barh(y, rate, color=PALETTE[0], alpha=0.85)
    ax.errorbar(
        rate, y, xerr=np.clip(np.nan_to_num(err), 0, None), fmt="none", ecolor="black", capsize=3
    )
    for yi, r in zip(y, rate, strict=True):
        ax.text(r, yi, f"  {_pct(r)}", va="center", ha="left", fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xlabel("conversion rate (95% Wilson interval)")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    if title is None:
        lm = t[(t["from_stage"] == "lead") & (t["to_stage"] == "mql")]
        ms = t[(t["from_stage"] == "mql") & (t["to_stage"] == "sql")]
        parts = []
        if len(lm):
            parts.append(f"{_pct(lm['rate'].iloc[0])} of leads become MQLs")
        if len(ms):
            parts.append(f"{_pct(ms['rate'].iloc[0])} of MQLs become SQLs")
        title = "; ".join(parts) or "Stage conversion rates"
    ax.set_title(title)
    fig.tight_layout()
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
        The stage the matrix follows, for the labels.
    value
        The column drawn (a share).
    title
        Default: what the cells are.

    Returns
    -------
    matplotlib.figure.Figure
        ``NaN`` cells (not observable yet) are masked: blank, never drawn as 0.

    Examples
    --------
    >>> m = pd.DataFrame({"cohort": ["2025-01", "2025-01", "2025-02", "2025-02"],
    ...                   "age_months": [1, 2, 1, 2], "rate": [0.1, 0.2, 0.15, None]})
    >>> fig = plot_cohort_heatmap(m, "sql")
    >>> int(fig.axes[0].collections[0].get_array().mask.sum())  # the unobserved cell
    1
    >>> plt.close(fig)
    """
    import seaborn as sns

    piv = matrix.pivot(index="cohort", columns="age_months", values=value).sort_index()
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * piv.shape[1] + 2), max(3, 0.35 * len(piv) + 1.5)))
    sns.heatmap(
        piv,
        mask=piv.isna(),
        annot=piv.shape[1] <= 18,
        fmt=".0%",
        cmap="Blues",
        cbar_kws={"label": f"share reached {stage}"},
        annot_kws={"fontsize": 7},
        ax=ax,
    )
    ax.set_facecolor("white")
    ax.set_xlabel("months since creation (blank: not observable yet)")
    ax.set_ylabel("creation cohort")
    if title is None:
        col = 3 if 3 in piv.columns else piv.columns[0]
        v = piv[col].dropna()
        if len(v):
            title = (
                f"Within {col} months, {_pct(v.min())}–{_pct(v.max())} of each cohort reached "
                f"{stage} (latest mature cohort {v.index[-1]}: {_pct(v.iloc[-1])})"
            )
        else:
            title = f"Cumulative conversion to {stage} by creation cohort"
    ax.set_title(title)
    fig.tight_layout()
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
    """
    fig, ax = plt.subplots()
    groups = [(None, curves)] if by is None else list(curves.groupby(by, sort=True))
    for i, (key, g) in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        name = "all leads" if key is None else str(key)
        ax.step(g["days"], g["converted"], where="post", color=color, label=f"{name}: converted")
        if "ci_low" in g:
            ax.fill_between(
                g["days"], g["ci_low"], g["ci_high"], step="post", color=color, alpha=0.15
            )
        if "cif" in g and by is None:
            ax.step(
                g["days"],
                g["cif"],
                where="post",
                color=color,
                linestyle="--",
                label=f"{name}: converted before being lost",
            )
    a, b = curves["from_stage"].iloc[0], curves["to_stage"].iloc[0]
    ax.set_xlabel(f"days since {a}")
    ax.set_ylabel(f"share reached {b}")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    for d in (30, 60, 90):
        ax.axvline(d, color="grey", linewidth=0.6, linestyle=":")
    ax.legend(fontsize=8, loc="upper left")
    if title is None:
        g = curves if by is None else curves.groupby("days", as_index=False)["converted"].mean()
        at90 = g.loc[g["days"] == 90, "converted"]
        title = (
            f"{_pct(at90.iloc[0])} reach {b} within 90 days of {a} (censoring-aware)"
            if len(at90) and by is None
            else f"Time from {a} to {b} (Kaplan-Meier, censored at the analysis date)"
        )
    ax.set_title(title)
    fig.tight_layout()
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
        Incomplete periods are hatched.
    """
    t = table.reset_index(drop=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), height_ratios=(1, 1.3))
    x = np.arange(len(t))
    colors = [PALETTE[0] if c else "white" for c in t["complete"]]
    ax1.bar(x, t["qualified"], color=colors, edgecolor=PALETTE[0], hatch=None)
    for xi, c in zip(x, t["complete"], strict=True):
        if not c:
            ax1.bar(xi, t["qualified"].iloc[xi], color="white", edgecolor=PALETTE[0], hatch="//")
    ax1.set_ylabel("qualified leads")
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.fill_between(
        x, t["ci_low"], t["ci_high"], color=PALETTE[0], alpha=0.15, label="95% interval"
    )
    ax2.plot(x, t["lvr_pct"], marker="o", color=PALETTE[0], label="LVR")
    ax2.plot(x, t["lvr_trailing3_pct"], color=PALETTE[1], label="trailing 3 periods")
    ax2.set_ylabel("LVR, % vs previous period")
    ax2.set_xticks(x, t["period"], rotation=60, ha="right", fontsize=8)
    if change is not None and "after_change" in t and t["after_change"].any():
        i = int(np.flatnonzero(t["after_change"].to_numpy())[0])
        for ax in (ax1, ax2):
            ax.axvline(i - 0.5, color=PALETTE[3], linestyle="--", linewidth=1.5)
        ax1.text(
            i - 0.45,
            ax1.get_ylim()[1] * 0.95,
            "qualification rule changed",
            fontsize=8,
            color=PALETTE[3],
            va="top",
        )
    ax2.legend(fontsize=8, loc="upper left")
    if title is None:
        done = t[t["complete"] & t["lvr_pct"].notna()]
        if len(done):
            r = done.iloc[-1]
            title = (
                f"Qualified leads {r['period']}: {int(r['qualified'])}, LVR {r['lvr_pct']:+.0f}% "
                f"(95% interval {r['ci_low']:+.0f}% to {r['ci_high']:+.0f}%)"
            )
        else:
            title = "Lead Velocity Rate"
    ax1.set_title(title)
    fig.tight_layout()
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
        Stacked bars (new, old) and the share from old leads with its interval.
    """
    t = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(t))
    ax.bar(x, t["from_new"], color=PALETTE[6], label="from new leads")
    ax.bar(
        x, t["from_old"], bottom=t["from_new"], color=PALETTE[0], label="from old (nurtured) leads"
    )
    ax.set_ylabel("conversions")
    ax.set_xticks(x, t["period"], rotation=60, ha="right", fontsize=8)
    ax2 = ax.twinx()
    ax2.plot(x, t["share_old"], color=PALETTE[1], marker="o", label="share from old leads")
    ax2.fill_between(x, t["ci_low"], t["ci_high"], color=PALETTE[1], alpha=0.15)
    ax2.set_ylim(0, 1)
    ax2.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax2.set_ylabel("share from old leads")
    ax2.grid(False)
    if nurture_start is not None:
        after = np.flatnonzero(
            t["period_start"].to_numpy() >= np.datetime64(pd.Timestamp(nurture_start))
        )
        if len(after):
            ax.axvline(after[0] - 0.5, color=PALETTE[2], linestyle="--", linewidth=1.5)
            ax.text(
                after[0] - 0.4,
                ax.get_ylim()[1] * 0.97,
                "nurture starts",
                color=PALETTE[2],
                fontsize=8,
                va="top",
            )
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    if title is None:
        stage = t["stage"].iloc[0] if "stage" in t else "the stage"
        if nurture_start is not None:
            after_mask = t["period_start"] >= pd.Timestamp(nurture_start)
            b, a = t[~after_mask], t[after_mask]
            sb = b["from_old"].sum() / max(b["conversions"].sum(), 1)
            sa = a["from_old"].sum() / max(a["conversions"].sum(), 1)
            title = f"Old leads' share of {stage} conversions: {_pct(sb)} before nurture, {_pct(sa)} after"
        else:
            title = f"Conversions to {stage} from new and old leads"
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_age_hazard(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Conversions per lead-month at risk by lead age, side by side per era when there is one.

    Parameters
    ----------
    table
        :func:`leadnb.funnel.velocity.age_hazard` (``bucket``, [``era``], ``rate``, ``ci_low``,
        ``ci_high``).
    title
        Default: what the bars are.

    Returns
    -------
    matplotlib.figure.Figure
        Bars with exact Poisson intervals.
    """
    t = table.reset_index(drop=True)
    eras = list(dict.fromkeys(t["era"])) if "era" in t else [None]
    buckets = list(dict.fromkeys(t["bucket"]))
    fig, ax = plt.subplots()
    width = 0.8 / len(eras)
    for i, era in enumerate(eras):
        g = t if era is None else t[t["era"] == era]
        g = g.set_index("bucket").reindex(buckets)
        x = np.arange(len(buckets)) + (i - (len(eras) - 1) / 2) * width
        r = g["rate"].to_numpy(float)
        err = np.vstack([r - g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float) - r])
        ax.bar(
            x,
            r,
            width=width,
            color=PALETTE[i % len(PALETTE)],
            label="all" if era is None else f"{era}",
        )
        ax.errorbar(
            x, r, yerr=np.clip(np.nan_to_num(err), 0, None), fmt="none", ecolor="black", capsize=2
        )
    ax.set_xticks(np.arange(len(buckets)), buckets)
    ax.set_xlabel("lead age, days")
    ax.set_ylabel("conversions per lead-month at risk")
    ax.legend(fontsize=8)
    ax.set_title(title or "Conversion rate by lead age (per lead-month at risk)")
    fig.tight_layout()
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

    Examples
    --------
    >>> groups = pd.DataFrame({"orders": [0, 2, 1], "aov": [None, 200.0, 50.0],
    ...                        "frequency": [None, 2.0, 1.0], "group": ["A", "E", "B"]})
    >>> fig = plot_value_map(groups)
    >>> fig.axes[0].get_title()
    '1 accounts are high-value and frequent (E); 1 have no order yet (A)'
    >>> plt.close(fig)
    """
    g = groups[groups["orders"] > 0]
    fig, ax = plt.subplots()
    for i, (grp, sub) in enumerate(g.groupby("group", sort=True)):
        ax.scatter(
            sub["frequency"],
            sub["aov"],
            s=10,
            alpha=0.6,
            label=grp,
            color=PALETTE[(i + 1) % len(PALETTE)],
        )
    vc, fc = groups.attrs.get("value_cut"), groups.attrs.get("frequency_cut")
    if vc is not None:
        ax.axhline(vc, color="grey", linestyle="--", linewidth=1)
    if fc is not None:
        ax.axvline(fc, color="grey", linestyle="--", linewidth=1)
    if len(g) and (g["aov"] > 0).all():
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xlabel("orders per month")
    ax.set_ylabel("average order value")
    if len(g):
        ax.legend(title="group", fontsize=8)
    if title is None:
        n_a = int((groups["group"] == "A").sum())
        n_e = int((groups["group"] == "E").sum())
        title = f"{n_e:,} accounts are high-value and frequent (E); {n_a:,} have no order yet (A)"
    ax.set_title(title)
    fig.tight_layout()
    return fig


__all__ = [
    "plot_age_hazard",
    "plot_cohort_heatmap",
    "plot_lvr",
    "plot_new_vs_old",
    "plot_stage_conversion",
    "plot_time_to_stage",
    "plot_value_map",
]
