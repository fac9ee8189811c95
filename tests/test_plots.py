"""leadnb.report.plots: charts a person reads.

Every chart is built from a small table made here and inspected through its artists: colours
(no red-green pair, colour maps included), text sizes, words in titles and axis labels, value
labels clear of error bars (window extents from the renderer), percent axes, units, and the PNG's
pixel size (twice the figure's size at the display dpi).
"""

from __future__ import annotations

import colorsys
import io
import re
import struct
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import Colormap, to_rgb
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import Bbox

from leadnb.report.plots import (
    DIVERGING,
    PALETTE,
    SEQUENTIAL,
    display_name,
    label_ends,
    plain_log_axis,
    set_theme,
)
from leadnb.report.plots import experiments as ep
from leadnb.report.plots import funnel as fp
from leadnb.report.plots import roi as rp
from leadnb.report.plots import scoring as sp

# --------------------------------------------------------------------------------------------
# What "red-green" means here, precisely


def _hue_class(rgb: tuple[float, float, float]) -> str | None:
    """ "red" or "green" for a clearly coloured colour of that hue, else None.

    A colour counts when it is saturated (HSV saturation >= 0.35) and not dark (value >= 0.25);
    red is a hue within 30 degrees of 0 (vermillion included), green a hue from 75 to 165 degrees
    (yellow-green to blue-green). Greys, whites, blacks, blues, oranges and purples are neither.
    """
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    if s < 0.35 or v < 0.25:
        return None
    deg = h * 360
    if deg < 30 or deg >= 330:
        return "red"
    if 75 <= deg <= 165:
        return "green"
    return None


def red_green(colors: list[tuple[float, float, float]]) -> bool:
    """True when ``colors`` hold both a red and a green (:func:`_hue_class`)."""
    classes = {_hue_class(c) for c in colors}
    return {"red", "green"} <= classes


def _cmap_colors(cmap: Colormap) -> list[tuple[float, float, float]]:
    return [tuple(cmap(x)[:3]) for x in np.linspace(0, 1, 64)]


def test_red_green_definition_catches_red_green_maps_and_passes_safe_ones() -> None:
    cm = matplotlib.colormaps
    assert red_green(_cmap_colors(cm["RdYlGn"])) and red_green(_cmap_colors(cm["RdYlGn_r"]))
    assert red_green([to_rgb("red"), to_rgb("green")])
    assert red_green([to_rgb("#c00000"), to_rgb("#548235")])  # the old palette's pair
    for name in ("viridis", "cividis", "Blues", SEQUENTIAL):
        assert not red_green(_cmap_colors(cm[name])), name
    assert not red_green(_cmap_colors(DIVERGING))
    assert not red_green([to_rgb(c) for c in PALETTE])


def figure_colors(fig: Figure) -> list[tuple[float, float, float]]:
    """Every colour a figure draws with: lines, markers, patches, collections, texts, and the
    colour maps of anything colour-mapped (sampled)."""
    out: list[tuple[float, float, float]] = []

    def add(c: object) -> None:
        arr = np.atleast_2d(np.asarray(matplotlib.colors.to_rgba_array(c)))
        out.extend(tuple(float(v) for v in row[:3]) for row in arr if row[3] > 0)

    for a in fig.findobj():
        if isinstance(a, matplotlib.lines.Line2D):
            add(a.get_color())
            add(a.get_markerfacecolor())
            add(a.get_markeredgecolor())
        elif isinstance(a, matplotlib.patches.Patch):
            add(a.get_facecolor())
            add(a.get_edgecolor())
        elif isinstance(a, Text) and a.get_text():
            add(a.get_color())
        if isinstance(a, matplotlib.collections.Collection):
            if a.get_array() is not None:
                out.extend(_cmap_colors(a.get_cmap()))
            else:
                add(a.get_facecolor())
                add(a.get_edgecolor())
        if isinstance(a, matplotlib.image.AxesImage):
            out.extend(_cmap_colors(a.get_cmap()))
    return out


# --------------------------------------------------------------------------------------------
# Every chart, from small tables


def _bands() -> pd.DataFrame:
    return pd.DataFrame(
        {"band": [1, 2, 3], "score_min": [0.0, 10.0, 20.0], "score_max": [9.0, 19.0, 40.0],
         "n": [400, 300, 120], "conversions": [8, 9, 10], "rate": [0.02, 0.03, 0.083],
         "ci_low": [0.010, 0.016, 0.046], "ci_high": [0.039, 0.056, 0.146]}
    )  # fmt: skip


def _sweep() -> pd.DataFrame:
    t = np.arange(0.0, 41.0, 5.0)
    above = np.linspace(800, 10, len(t)).round()
    prec = np.linspace(0.03, 0.2, len(t))
    return pd.DataFrame(
        {"threshold": t, "leads_above": above, "precision": prec,
         "precision_ci_low": prec * 0.7, "precision_ci_high": prec * 1.3,
         "recall": np.linspace(1, 0.1, len(t)), "weekly_workload": above / 10}
    )  # fmt: skip


def _lift() -> pd.DataFrame:
    return pd.DataFrame(
        {"rule": ["asked for pricing", "student", "content read", "phone filled"],
         "points": [20.0, 5.0, 5.0, 2.0], "n_with": [200, 150, 900, 12],
         "lift": [4.0, 0.4, 1.1, 2.0], "ci_low": [3.0, 0.2, 0.8, 0.5],
         "ci_high": [5.2, 0.8, 1.5, 8.0], "too_rare": [False, False, False, True]}
    )  # fmt: skip


def _segments() -> pd.DataFrame:
    return pd.DataFrame(
        {"segment": ["high_intent", "engaged_nurture", "competitor", "other"],
         "n": [1314, 3059, 762, 14865], "mean_score": [34.8, 46.3, 61.4, 13.9],
         "rate": [0.278, 0.074, 0.0, 0.028], "ci_low": [0.254, 0.065, 0.0, 0.026],
         "ci_high": [0.303, 0.084, 0.005, 0.031]}
    )  # fmt: skip


def _segment_bands() -> pd.DataFrame:
    rows = []
    for seg, base in (("high_intent", 0.25), ("other", 0.01), ("competitor", 0.0)):
        for lo in (0.0, 10.0, 20.0):
            rows.append((seg, lo, lo + 10, 100, base * 100 + lo / 10, base + lo / 1000))
    return pd.DataFrame(
        rows, columns=["segment", "score_min", "score_max", "n", "conversions", "rate"]
    )


def _stage_conversion() -> pd.DataFrame:
    return pd.DataFrame(
        {"from_stage": ["lead", "mql", "sql"], "to_stage": ["mql", "sql", "opportunity"],
         "n_from": [20000, 4000, 900], "rate": [0.2, 0.225, 0.5],
         "ci_low": [0.194, 0.212, 0.467], "ci_high": [0.206, 0.238, 0.533]}
    )  # fmt: skip


def _cohorts() -> pd.DataFrame:
    cohorts = [f"2025-{m:02d}" for m in range(1, 7)]
    rows = []
    for i, c in enumerate(cohorts):
        for age in range(1, 7):
            rate = 0.01 * age if age <= 6 - i else np.nan  # younger cohorts are not mature yet
            rows.append((c, age, 100, rate * 100 if rate == rate else np.nan, rate))
    return pd.DataFrame(rows, columns=["cohort", "age_months", "n", "converted", "rate"])


def _km() -> pd.DataFrame:
    days = np.arange(0, 121, 10)
    conv = 1 - np.exp(-days / 400)
    return pd.DataFrame(
        {"from_stage": "lead", "to_stage": "sql", "days": days, "converted": conv,
         "ci_low": conv * 0.9, "ci_high": conv * 1.1, "cif": conv * 0.8}
    )  # fmt: skip


def _lvr() -> pd.DataFrame:
    n = 8
    q = np.array([10, 15, 18, 20, 30, 28, 35, 12])
    lvr = np.r_[np.nan, (q[1:] / q[:-1] - 1) * 100]
    return pd.DataFrame(
        {"period": [f"2025-{m:02d}" for m in range(1, n + 1)],
         "complete": [True] * (n - 1) + [False], "qualified": q, "lvr_pct": lvr,
         "ci_low": lvr - 40, "ci_high": lvr + 60,
         "lvr_trailing3_pct": pd.Series(lvr).rolling(3).mean(),
         "after_change": [False] * 4 + [True] * 4}
    )  # fmt: skip


def _new_vs_old() -> pd.DataFrame:
    n = 8
    new = np.full(n, 20)
    old = np.array([2, 3, 2, 4, 15, 18, 20, 22])
    share = old / (new + old)
    return pd.DataFrame(
        {"stage": "sql", "period": [f"2025-{m:02d}" for m in range(1, n + 1)],
         "period_start": pd.date_range("2025-01-01", periods=n, freq="MS"),
         "conversions": new + old, "from_new": new, "from_old": old, "share_old": share,
         "ci_low": share * 0.7, "ci_high": np.minimum(share * 1.3, 1)}
    )  # fmt: skip


def _age_hazard() -> pd.DataFrame:
    rows = []
    for era, old_rate in (("before", 0.0011), ("after", 0.0057)):
        for bucket, rate in (("0-29", 0.0171), ("30-89", old_rate), ("90+", old_rate * 0.8)):
            rows.append((bucket, era, rate, rate * 0.85, rate * 1.17))
    return pd.DataFrame(rows, columns=["bucket", "era", "rate", "ci_low", "ci_high"])


def _value_groups() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 60
    g = pd.DataFrame(
        {"orders": rng.integers(0, 5, n), "aov": rng.uniform(50, 500, n),
         "frequency": rng.uniform(0.1, 2, n), "group": rng.choice(list("ABCDE"), n)}
    )  # fmt: skip
    g.loc[g["orders"] == 0, ["aov", "frequency"]] = np.nan
    g.loc[g["orders"] == 0, "group"] = "A"
    g.attrs.update({"value_cut": 200.0, "frequency_cut": 1.0})
    return g


def _monthly() -> pd.DataFrame:
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    after = months >= pd.Timestamp("2025-07-01")
    return pd.DataFrame(
        {"month": months, "period": np.where(after, "after", "before"),
         "sql_new": np.full(12, 80.0), "sql_old": np.where(after, 100.0, 40.0),
         "old_exposure": np.full(12, 10_000.0), "old_sql_rate": np.where(after, 0.01, 0.004)}
    )  # fmt: skip


def _conversion() -> pd.DataFrame:
    rows = []
    for a, b in (("lead", "mql"), ("mql", "sql")):
        for period, rate in (("before", 0.1), ("after", 0.15)):
            rows.append((a, b, period, rate, rate - 0.02, rate + 0.02))
    return pd.DataFrame(
        rows, columns=["from_stage", "to_stage", "period", "rate", "ci_low", "ci_high"]
    )


def _primary() -> pd.DataFrame:
    return pd.DataFrame(
        {"experiment_id": "nurture-cadence", "metric": "sql_30d",
         "metric_label": "reached sql within 30 days",
         "variant": ["monthly_newsletter", "weekly_digest"], "is_control": [True, False],
         "n": [2500, 2500], "rate": [0.0744, 0.1224], "rate_ci_low": [0.065, 0.110],
         "rate_ci_high": [0.085, 0.136], "diff": [np.nan, 0.048],
         "diff_ci_low": [np.nan, 0.032], "diff_ci_high": [np.nan, 0.065],
         "p_adjusted": [np.nan, 1e-8], "role": "primary"}
    )  # fmt: skip


def _results() -> pd.DataFrame:
    guard = _primary().assign(
        metric="unsubscribed_30d", metric_label="unsubscribed within 30 days", role="guardrail",
        diff=[np.nan, 0.004], diff_ci_low=[np.nan, -0.003], diff_ci_high=[np.nan, 0.011],
    )  # fmt: skip
    return pd.concat([_primary(), guard], ignore_index=True)


def _curves() -> pd.DataFrame:
    day = np.arange(0, 31)
    parts = []
    for arm, k in (("monthly_newsletter", 0.0025), ("weekly_digest", 0.0043)):
        conv = 1 - np.exp(-k * day)
        parts.append(
            pd.DataFrame({"variant": arm, "day": day, "converted": conv,
                          "ci_low": conv * 0.9, "ci_high": conv * 1.1})
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def build_figures() -> Iterator[tuple[str, Figure]]:
    """Every public chart, drawn from the small tables above (after the project theme)."""
    from leadnb.roi.params import ScenarioInputs
    from leadnb.roi.whatif import scenario_table, sensitivity_grid

    set_theme()
    inputs = ScenarioInputs(nurture_cost=10_000, win_rate=0.2, deal_value=24_000)
    grid = sensitivity_grid(inputs, [1, 2.5, 4], [45_000, 90_000, 135_000])
    mde = pd.DataFrame({"n_per_arm": np.arange(500, 5001, 500)})
    mde["mde"] = 2.8 * np.sqrt(2 * 0.07 * 0.93 / mde["n_per_arm"])
    yield "score_bands", sp.plot_score_bands(_bands(), 0.035)
    yield "threshold_sweep", sp.plot_threshold_sweep(_sweep(), 60, 20.0)
    yield "rule_lift", sp.plot_rule_lift(_lift())
    yield "segments", sp.plot_score_vs_conversion_by_segment(_segments(), fast_days=30)
    yield "segment_bands", sp.plot_segment_bands(_segment_bands())
    yield "stage_conversion", fp.plot_stage_conversion(_stage_conversion())
    yield "cohort_heatmap", fp.plot_cohort_heatmap(_cohorts(), "sql")
    yield "time_to_stage", fp.plot_time_to_stage(_km())
    yield "lvr", fp.plot_lvr(_lvr(), change=pd.Timestamp("2025-05-01"))
    yield "new_vs_old", fp.plot_new_vs_old(_new_vs_old(), nurture_start=pd.Timestamp("2025-05-01"))
    yield "age_hazard", fp.plot_age_hazard(_age_hazard(), stage="sql")
    yield "value_map", fp.plot_value_map(_value_groups())
    yield "scenario", rp.plot_scenario(scenario_table(inputs), currency="EUR")
    yield "monthly", rp.plot_monthly(_monthly(), pd.Timestamp("2025-07-01"))
    yield "conversion", rp.plot_conversion(_conversion())
    yield "sensitivity_cost", rp.plot_sensitivity(grid)
    yield "sensitivity_roi", rp.plot_sensitivity(grid, "roi")
    yield "rates", ep.plot_rates(_primary())
    yield "diff", ep.plot_diff(_results(), target_effect=0.025)
    yield "km", ep.plot_km(_curves(), window_days=30, metric_label="reached SQL")
    yield "mde", ep.plot_mde_curve(mde, baseline=0.07, target_effect=0.025, n_per_arm=2000)


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Figure]]:
    figs = dict(build_figures())
    for fig in figs.values():
        fig.canvas.draw()  # lays out (constrained) and wraps titles
    yield figs
    plt.close("all")


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]


def _words(fig: Figure) -> list[str]:
    """Titles (every location, figure title), axis labels, the note and colour-bar labels."""
    out = [fig.get_suptitle(), fig.get_supxlabel()]
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")]
        out += [ax.get_xlabel(), ax.get_ylabel()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return [w for w in out if w]


# --------------------------------------------------------------------------------------------
# Colours


def test_no_chart_draws_red_with_green(figures: dict[str, Figure]) -> None:
    for name, fig in figures.items():
        colors = figure_colors(fig)
        assert colors, name
        assert not red_green(colors), name


def test_sensitivity_heatmaps_single_hue_for_costs_blue_orange_around_zero_for_roi(
    figures: dict[str, Figure],
) -> None:
    cost = figures["sensitivity_cost"].axes[0].collections[0]
    assert cost.get_cmap().name == SEQUENTIAL
    roi = figures["sensitivity_roi"].axes[0].collections[0]
    assert "RdYlGn" not in roi.get_cmap().name
    lo, hi = roi.norm.vmin, roi.norm.vmax
    assert lo == pytest.approx(-hi)  # centred on break-even (0%)


def test_the_old_red_green_heatmap_would_have_failed() -> None:
    import seaborn as sns

    fig, ax = plt.subplots()
    sns.heatmap(pd.DataFrame([[1.0, 2.0], [3.0, 4.0]]), cmap="RdYlGn", ax=ax)
    assert red_green(figure_colors(fig))
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Text: sizes, words, fit


def test_every_text_is_at_least_10_points(figures: dict[str, Figure]) -> None:
    for name, fig in figures.items():
        for ax in fig.axes:
            ticks = ax.get_xticklabels() + ax.get_yticklabels()
            assert all(t.get_fontsize() >= 10 for t in ticks if t.get_text()), name
        small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 10]
        assert not small, (name, small)


def test_titles_are_about_13_points_and_fit_in_the_figure(figures: dict[str, Figure]) -> None:
    for name, fig in figures.items():
        renderer = fig.canvas.get_renderer()
        titles = [fig._suptitle] if fig._suptitle is not None else []
        titles += [
            t
            for ax in fig.axes
            for t in (ax.title, ax._left_title, ax._right_title)
            if t.get_text()
        ]
        assert titles, f"{name} has no title"
        for t in titles:
            assert 12.5 <= t.get_fontsize() <= 14, name
            box = t.get_window_extent(renderer)
            assert box.x0 >= -1 and box.x1 <= fig.bbox.x1 + 1, (name, t.get_text())
            assert box.y1 <= fig.bbox.y1 + 1, (name, t.get_text())


SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
LOWER_STAGE = re.compile(r"\b(mql|sql|sal|sqo|lead_)s?\b")


def test_titles_and_axis_labels_are_words(figures: dict[str, Figure]) -> None:
    for name, fig in figures.items():
        for w in _words(fig):
            assert "->" not in w, (name, w)
            assert not SNAKE.search(w), (name, w)
            assert not LOWER_STAGE.search(w), (name, w)
        for ax in fig.axes:  # axis labels start with a capital letter
            for label in (ax.get_xlabel(), ax.get_ylabel()):
                assert not label or not label[0].islower(), (name, label)


def test_word_checks_catch_machine_names() -> None:
    assert SNAKE.search("cost_per_sql by budget") and SNAKE.search("sql_30d +3.0 pts")
    assert LOWER_STAGE.search("share reached sql") and not LOWER_STAGE.search("Reached SQL")
    assert not SNAKE.search("Reached SQL within 30 days")


def test_stage_names_are_display_names(figures: dict[str, Figure]) -> None:
    assert display_name("closed_won") == "Closed won" and display_name("mql") == "MQL"
    labels = [t.get_text() for t in figures["stage_conversion"].axes[0].get_yticklabels()]
    assert labels[0].startswith("Lead → MQL") and labels[1].startswith("MQL → SQL")
    conv = [t.get_text() for t in figures["conversion"].axes[0].get_yticklabels()]
    assert conv == ["Lead to MQL", "MQL to SQL"]


# --------------------------------------------------------------------------------------------
# Value labels clear of error bars


def _errorbar_boxes(ax: matplotlib.axes.Axes) -> list[Bbox]:
    """Display-space boxes of every error-bar segment and cap in ``ax``."""
    boxes = []
    for cont in ax.containers:
        if not isinstance(cont, ErrorbarContainer):
            continue
        _, caps, bars = cont.lines
        for coll in bars:
            for seg in coll.get_segments():
                if len(seg) and np.isfinite(seg).all():
                    pts = ax.transData.transform(seg)
                    boxes.append(Bbox.from_extents(*pts.min(0), *pts.max(0)).padded(0.5))
        for cap in caps:  # one Line2D holds every cap of one side: a box per cap marker
            half = cap.get_markersize() / 2 * ax.figure.dpi / 72 + cap.get_markeredgewidth()
            for x, y in ax.transData.transform(cap.get_xydata()):
                if np.isfinite(x) and np.isfinite(y):
                    boxes.append(Bbox.from_extents(x - half, y - half, x + half, y + half))
    return boxes


def _overlaps(fig: Figure) -> list[str]:
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        bars = _errorbar_boxes(ax)
        for t in ax.texts:
            if isinstance(t, Annotation) and t.get_text():
                box = t.get_window_extent(renderer)
                bad += [t.get_text() for b in bars if box.overlaps(b)]
    return bad


def test_value_labels_do_not_touch_error_bars(figures: dict[str, Figure]) -> None:
    labelled = {"score_bands", "stage_conversion", "rates", "segments"}
    for name, fig in figures.items():
        if name in labelled:
            n_labels = sum(isinstance(t, Annotation) for ax in fig.axes for t in ax.texts)
            assert n_labels >= 2, name
        assert not _overlaps(fig), name


def test_segment_labels_sit_clear_of_each_other_and_of_the_bubbles(
    figures: dict[str, Figure],
) -> None:
    fig = figures["segments"]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 4
    for i, a in enumerate(boxes):
        assert all(not a.overlaps(b) for b in boxes[i + 1 :])
        inside = ax.get_window_extent(renderer)
        assert inside.x0 <= a.x0 and a.x1 <= inside.x1 and inside.y0 <= a.y0 and a.y1 <= inside.y1
    bubbles = [c for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    for t, bubble in zip(ax.texts, bubbles, strict=True):
        centre = ax.transData.transform(bubble.get_offsets()[0])
        radius = np.sqrt(bubble.get_sizes()[0] / np.pi) * fig.dpi / 72
        box = t.get_window_extent(renderer)
        nearest = np.clip(centre, [box.x0, box.y0], [box.x1, box.y1])
        assert np.hypot(*(nearest - centre)) >= radius  # the label does not cover its bubble


def test_overlap_check_catches_a_label_on_its_error_bar() -> None:
    fig, ax = plt.subplots()
    ax.barh([0, 1], [0.2, 0.4])
    ax.errorbar([0.2, 0.4], [0, 1], xerr=[[0.05, 0.05], [0.05, 0.05]], fmt="none", capsize=3)
    ax.annotate("20%", (0.2, 0), ha="center", va="center")  # the old placement: on the bar end
    fig.canvas.draw()
    assert set(_overlaps(fig)) == {"20%"}
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.barh([0, 1], [0.2, 0.4])
    ax.errorbar([0.2, 0.4], [0, 1], xerr=[[0.05, 0.05], [0.05, 0.05]], fmt="none", capsize=3)
    label_ends(ax, [0, 1], [0.25, 0.45], ["20%", "40%"], horizontal=True)
    fig.canvas.draw()
    assert _overlaps(fig) == []
    renderer = fig.canvas.get_renderer()
    for t in ax.texts:  # inside the axes: the value axis made room
        assert t.get_window_extent(renderer).x1 <= ax.get_window_extent(renderer).x1
    plt.close(fig)


def test_value_labels_read_the_rates(figures: dict[str, Figure]) -> None:
    labels = [t.get_text() for t in figures["score_bands"].axes[0].texts]
    assert labels == ["2.0%", "3.0%", "8.3%"]
    labels = [t.get_text() for t in figures["rates"].axes[0].texts]
    assert labels == ["7.4%", "12.2%"]


# --------------------------------------------------------------------------------------------
# Units: percents where the text says percent, per 1,000 lead-months for the age chart


def _is_percent(axis: matplotlib.axis.Axis) -> bool:
    labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
    return isinstance(axis.get_major_formatter(), PercentFormatter) and all(
        lab.endswith("%") for lab in labels
    )


def test_rate_axes_are_percent(figures: dict[str, Figure]) -> None:
    f = figures
    axes = [
        f["score_bands"].axes[0].yaxis,
        f["threshold_sweep"].axes[0].yaxis,
        f["segments"].axes[0].yaxis,
        f["segment_bands"].axes[0].yaxis,
        f["stage_conversion"].axes[0].xaxis,
        f["time_to_stage"].axes[0].yaxis,
        f["lvr"].axes[1].yaxis,
        f["new_vs_old"].axes[1].yaxis,
        f["conversion"].axes[0].xaxis,
        f["rates"].axes[0].xaxis,
        f["km"].axes[0].yaxis,
    ]
    for axis in axes:
        assert _is_percent(axis), axis.axes.get_title()
    assert not _is_percent(f["age_hazard"].axes[0].yaxis)  # the check can fail


def test_cohort_heatmap_scale_is_percent_like_its_cells(figures: dict[str, Figure]) -> None:
    ax = figures["cohort_heatmap"].axes[0]
    mesh = ax.collections[0]
    bar = mesh.colorbar
    assert isinstance(bar.formatter, PercentFormatter)
    ticks = [t.get_text() for t in bar.ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks)
    cells = [t.get_text() for t in ax.texts]
    assert "6%" in cells and all(c.endswith("%") for c in cells)
    assert mesh.get_cmap().name == SEQUENTIAL
    # 6 cohorts x 6 ages, the 15 not yet observable masked (blank)
    assert int(np.ma.getmaskarray(mesh.get_array()).sum()) == 15


def test_age_chart_is_per_1000_lead_months(figures: dict[str, Figure]) -> None:
    ax = figures["age_hazard"].axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches if p.get_height() > 0)
    expected = sorted(round(r * 1000, 6) for r in _age_hazard()["rate"])
    assert heights == pytest.approx(expected)
    assert "per 1,000 lead-months" in ax.get_ylabel() and ax.get_ylabel().startswith("SQLs")
    # the finding: 0.0171 and 0.0057 x 0.8 per lead-month = 17.1 and 4.56 per 1,000 (after)
    assert ax.get_title() == (
        "Older leads convert less: 17.1 SQLs per 1,000 lead-months at 0-29 days old vs 4.56 at "
        "90+ days (after nurture start)"
    )


# --------------------------------------------------------------------------------------------
# Findings in the titles and the note on the "high intent" segment


def test_titles_state_findings_from_the_numbers(figures: dict[str, Figure]) -> None:
    f = figures
    assert f["score_bands"].axes[0].get_title(loc="left") == (
        "Top score band converts at 8.3% vs 2.0% in the bottom band; best band: 20–40 points"
    )
    # the article's scenario: 80 new + 2.5 x 40 old SQLs = 180; 90,000 / 180 = 500 per SQL
    assert f["scenario"].get_suptitle() == (
        "Nurturing turns 120 into 180 SQLs a month (+50.0%) at the same budget: cost per SQL "
        "falls from 750 to 500"
    )
    assert (
        f["sensitivity_cost"]
        .axes[0]
        .get_title()
        .startswith("Cost per SQL falls from 750 to 375 as the lift goes from 1.00× to 4.00×")
    )
    assert f["rates"].axes[0].get_title() == (
        "weekly digest converts 12.2% vs 7.4% for monthly newsletter (+4.8 pts)"
    )
    assert f["diff"].axes[0].get_title() == (
        "Reached SQL within 30 days: weekly digest +4.8 pts vs monthly newsletter, clearly "
        "better; 0 of 1 guardrails moved beyond chance"
    )
    assert f["stage_conversion"].axes[0].get_title() == (
        "20.0% of leads become MQLs; 22.5% of MQLs become SQLs"
    )
    assert f["new_vs_old"].axes[0].get_title() == (
        "Old leads' share of SQLs: 12.1% before nurture, 48.4% after"
    )  # before: 11 of 91 conversions from old leads; after: 75 of 155
    assert f["monthly"].get_suptitle() == (
        "Old leads' SQL rate went from 0.4 to 1 per 100 lead-months (2.50×) after nurturing started"
    )


def test_high_intent_chart_says_the_segment_is_partly_defined_by_converting_fast(
    figures: dict[str, Figure],
) -> None:
    fig = figures["segments"]
    title = fig.axes[0].get_title(loc="left")
    assert title.startswith("A high score is not high intent: competitors average 61.4 points")
    note = fig.get_supxlabel()
    assert "“High intent” is partly defined by converting fast" in note
    assert "reached SQL within 30 days of creation" in note and "asked for sales" in note
    renderer = fig.canvas.get_renderer()  # drawn inside the figure, under the chart
    box = fig._supxlabel.get_window_extent(renderer)
    assert box.x1 <= fig.bbox.x1 + 1 and box.y0 >= -1
    assert box.y1 <= fig.axes[0].get_window_extent(renderer).y0
    # without a segment defined by the outcome there is no note
    plain_fig = sp.plot_score_vs_conversion_by_segment(_segments().iloc[1:])
    assert plain_fig.get_supxlabel() == ""
    plt.close(plain_fig)


# --------------------------------------------------------------------------------------------
# Resolution


def _png_size(fig: Figure) -> tuple[int, int]:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # what leadnb.report.notebook.save_figure does
    return struct.unpack(">II", buf.getvalue()[16:24])


def test_saved_png_is_twice_the_displayed_size(figures: dict[str, Figure]) -> None:
    dpi = matplotlib.rcParams["figure.dpi"]
    assert matplotlib.rcParams["savefig.dpi"] == 2 * dpi
    for name in ("score_bands", "cohort_heatmap", "scenario", "rates"):
        fig = figures[name]
        w, h = fig.get_size_inches()
        assert _png_size(fig) == (round(2 * w * dpi), round(2 * h * dpi)), name
        # the notebook shows it at width x figure.dpi / savefig.dpi: the display size
        assert _png_size(fig)[0] * fig.dpi / matplotlib.rcParams["savefig.dpi"] == round(w * dpi)


def test_set_theme_switches_a_running_kernel_to_retina(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython
    import matplotlib_inline.backend_inline as inline

    asked: list[tuple[str, ...]] = []
    monkeypatch.setattr(inline, "set_matplotlib_formats", lambda *f, **kw: asked.append(f))
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    set_theme()  # no kernel (tests, scripts): nothing to switch
    assert asked == []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    set_theme()
    assert asked == [("retina",)]


# --------------------------------------------------------------------------------------------
# The shared theme and helpers


def test_plain_log_axis_labels_are_plain_numbers() -> None:
    fig, ax = plt.subplots()
    ax.plot([0.2, 4.0], [0, 1])
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    plt.close(fig)
    assert {"0.2", "0.5", "1", "2"} <= set(labels)
    assert not any("10^" in x or "$" in x for x in labels)


def test_set_theme_uses_the_palette() -> None:
    set_theme()
    from matplotlib.colors import to_hex

    colors = [to_hex(c["color"]) for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert colors[: len(PALETTE)] == [c.lower() for c in PALETTE]
    assert matplotlib.rcParams["savefig.bbox"] in (None, "standard")
    assert matplotlib.rcParams["xtick.labelsize"] >= 10
    assert matplotlib.rcParams["ytick.labelsize"] >= 10


# --------------------------------------------------------------------------------------------
# Charts on degenerate numbers


def test_roi_interval_errors_never_negative() -> None:
    # a rate of 100% whose upper bound came out a hair below it, a missing rate, an inverted
    # interval: lengths are clipped at 0 and missing ones are 0
    err = rp.interval_errors([1.0, np.nan, 0.5], [0.8, np.nan, 0.6], [1.0 - 1e-12, np.nan, 0.4])
    assert err.tolist() == [[pytest.approx(0.2), 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_roi_conversion_chart_with_every_lead_converted() -> None:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(7, 7, method="wilson")  # every lead converted
    rows = []
    for period, (n_from, n_to) in (("before", (7, 7)), ("after", (0, 0))):
        rate = n_to / n_from if n_from else float("nan")
        low, high = (lo, hi) if n_from else (float("nan"), float("nan"))
        rows.append(("mql", "sql", period, n_from, n_to, rate, low, min(high, rate - 1e-12)))
    conv = pd.DataFrame(
        rows,
        columns=["from_stage", "to_stage", "period", "n_from", "n_to", "rate", "ci_low", "ci_high"],
    )
    fig = rp.plot_conversion(conv)  # matplotlib refused negative xerr here before
    assert fig.axes[0].get_title() == ""  # no period pair to compare: no claim in the title
    plt.close(fig)


def test_scoring_charts_draw_degenerate_tables() -> None:
    # NaN or inverted intervals, undefined recall, no bands: each chart draws and says so
    nan = np.nan
    segments = pd.DataFrame(
        {"segment": ["competitor", "other"], "n": [3, 5], "mean_score": [10.0, 2.0],
         "rate": [0.5, 0.0], "ci_low": [0.6, nan], "ci_high": [0.4, nan], "conversions": [1, 0]}
    )  # fmt: skip
    bands = pd.DataFrame(
        {"band": [1], "score_min": [1.0], "score_max": [2.0], "n": [3], "rate": [0.5],
         "ci_low": [0.7], "ci_high": [nan]}
    )  # fmt: skip
    lift = pd.DataFrame(
        {"rule": ["a"], "points": [1.0], "n_with": [1], "lift": [nan], "ci_low": [nan],
         "ci_high": [nan], "too_rare": [False]}
    )  # fmt: skip
    sweep = pd.DataFrame(
        {"threshold": [1.0, 2.0], "leads_above": [2, 1], "precision": [nan, nan],
         "precision_ci_low": [nan, nan], "precision_ci_high": [nan, nan], "recall": [nan, nan],
         "weekly_workload": [2.0, 1.0]}
    )  # fmt: skip
    empty = pd.DataFrame(columns=["segment", "band", "score_min", "score_max", "n", "rate"])
    figs = [
        sp.plot_score_vs_conversion_by_segment(segments),
        sp.plot_score_bands(bands, nan),
        sp.plot_rule_lift(lift),
        sp.plot_threshold_sweep(sweep, 5, 1.0),
        sp.plot_segment_bands(empty),
    ]
    titles = [f.axes[0].get_title(loc="left") for f in figs]
    for fig in figs:
        fig.canvas.draw()  # the error bars are clipped, not rejected
        plt.close(fig)
    assert titles[2] == "Every rule fires too rarely to judge"
    assert "– of conversions" in titles[3] and titles[4] == "No leads to show"


def _with_converted_fast() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A summary and its score bands where "converted fast" converts 100% by definition and the
    segments a reader compares stay under 25%."""
    summary = pd.DataFrame(
        {
            "segment": ["asked_for_sales", "competitor", "converted_fast", "other"],
            "n": [1200, 760, 110, 14800],
            "mean_score": [35.5, 61.4, 27.0, 13.9],
            "rate": [0.211, 0.0, 1.0, 0.028],
            "ci_low": [0.189, 0.0, 0.967, 0.025],
            "ci_high": [0.235, 0.005, 1.0, 0.031],
            "defined_by_outcome": [False, False, True, False],
        }
    )
    bands = pd.DataFrame(
        {
            "segment": ["asked_for_sales"] * 2 + ["converted_fast"] * 2 + ["other"] * 2,
            "band": [0, 1] * 3,
            "score_min": [0.0, 20.0] * 3,
            "score_max": [20.0, 80.0] * 3,
            "n": [400, 800, 50, 60, 9000, 5800],
            "conversions": [60.0, 192.0, 50.0, 60.0, 225.0, 190.0],
        }
    )
    bands["rate"] = bands["conversions"] / bands["n"]
    return summary, bands


def test_a_segment_defined_by_the_outcome_does_not_set_the_scale() -> None:
    summary, _ = _with_converted_fast()
    fig = sp.plot_score_vs_conversion_by_segment(summary, fast_days=30)
    ax = fig.axes[0]
    # the scale fits the segments compared (asked for sales up to 23.5%), not the 100%
    assert 0.235 < ax.get_ylim()[1] < 0.5
    texts = [t.get_text() for t in ax.texts]
    fast = next(t for t in texts if t.startswith("Converted fast"))
    assert "100.0% convert (by definition; above this scale)" in fast
    assert "Asked for sales\n1,200 leads, 21.1% convert" in texts
    plt.close(fig)


def test_segment_bands_leave_out_the_segment_defined_by_the_outcome() -> None:
    _, bands = _with_converted_fast()
    fig = sp.plot_segment_bands(bands)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Asked for sales",
        "Everyone else",
    ]
    # asked for sales: 252 of 1,200 (21.0%), 15.0% in the lower band and 24.0% in the upper one
    assert ax.get_title(loc="left") == (
        "Asked for sales convert most: 21.0% of 1,200 leads, from 15.0% to 24.0% across score bands"
    )
    assert "is left out: it converts 100% in every band, by definition" in fig.get_supxlabel()
    plt.close(fig)


@pytest.mark.parametrize(
    ("low", "high", "xmax"), [(0, 0.12, 1.0), (0, 0.5, 1.0), (0.004, 0.031, 1.0), (0, 37.5, 100.0)]
)
def test_percent_labels_are_worked_out_once_per_row_and_read_as_before(low, high, xmax) -> None:
    """A drawn row of percent tick labels: the decimals come from the row itself (the locator is
    not asked again per label) and every label is the one formatting a single tick gives (the
    axis's ticks and that tick, as before)."""
    from leadnb.report.plots import Percent, percent_axis

    fig, ax = plt.subplots()
    ax.set_ylim(low, high)
    percent_axis(ax.yaxis, xmax=xmax)
    fig.canvas.draw()
    fmt = ax.yaxis.get_major_formatter()
    assert isinstance(fmt, Percent)
    ticks = ax.yaxis.get_majorticklocs()
    one_by_one = [fmt(v) for v in ticks]  # outside a row: asks the axis for its ticks
    asked = []
    real = ax.yaxis.get_majorticklocs
    ax.yaxis.get_majorticklocs = lambda: asked.append(1) or real()  # type: ignore[method-assign]
    row = fmt.format_ticks(ticks)
    assert row == one_by_one and not asked
    drawn = [t.get_text() for t in ax.get_yticklabels()]
    assert drawn == one_by_one[: len(drawn)]
    plt.close(fig)
