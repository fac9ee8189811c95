"""Plot functions: each takes a computed table and returns a matplotlib ``Figure`` or ``Axes``.

Compute lives in the analysis modules; nothing here computes a statistic. The one seaborn theme
for every chart is set by :func:`set_theme`, called once by :func:`leadnb.nb.start`.
"""

from __future__ import annotations

import matplotlib

PALETTE = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a6a6a6"]


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
