"""leadnb.report.plots: the shared theme and axis helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from leadnb.report.plots import PALETTE, plain_log_axis, set_theme


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
    assert matplotlib.rcParams["savefig.bbox"] == "tight"


# --------------------------------------------------------------------------------------------
# ROI charts on degenerate numbers


def test_roi_interval_errors_never_negative() -> None:
    import numpy as np

    from leadnb.report.plots.roi import interval_errors

    # a rate of 100% whose upper bound came out a hair below it, a missing rate, an inverted
    # interval: lengths are clipped at 0 and missing ones are 0
    err = interval_errors([1.0, np.nan, 0.5], [0.8, np.nan, 0.6], [1.0 - 1e-12, np.nan, 0.4])
    assert err.tolist() == [[pytest.approx(0.2), 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_roi_conversion_chart_with_every_lead_converted() -> None:
    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint

    from leadnb.report.plots.roi import plot_conversion

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
    fig = plot_conversion(conv)  # matplotlib refused negative xerr here before
    assert fig.axes[0].get_title() == ""  # no period pair to compare: no claim in the title
    plt.close(fig)


def test_scoring_charts_draw_degenerate_tables() -> None:
    # NaN or inverted intervals, undefined recall, no bands: each chart draws and says so
    import numpy as np
    import pandas as pd

    from leadnb.report.plots import scoring as sp

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
    assert "n/a of conversions" in titles[3] and titles[4] == "No leads to show"
