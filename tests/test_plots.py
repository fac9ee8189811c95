"""leadnb.plots: the shared theme and axis helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from leadnb.plots import PALETTE, plain_log_axis, set_theme


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
