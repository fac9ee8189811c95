"""Plot functions: each takes a computed table and returns a matplotlib ``Figure`` or ``Axes``.

Compute lives in the analysis modules; nothing here computes a statistic. The one seaborn theme
for every chart is set by :func:`set_theme`, called once by :func:`leadnb.report.notebook.start`.
"""

from __future__ import annotations

import matplotlib
import matplotlib.axis

PALETTE = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a6a6a6"]


def plain_log_axis(axis: matplotlib.axis.Axis) -> None:
    """Label a log-scaled axis with plain numbers (0.5, 1, 2) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.10g}"))
    axis.set_minor_formatter(NullFormatter())


def set_theme() -> None:
    """Apply the project's single chart theme (seaborn whitegrid, readable sizes)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    matplotlib.rcParams.update(
        {
            "figure.figsize": (8.0, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 110,
            "savefig.bbox": "tight",
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
        }
    )
