"""Plot functions: each takes a computed table and returns a matplotlib ``Figure``.

Design. Compute lives in the analysis modules; nothing here computes a statistic. What every
chart shares lives in this module, so the four chart modules read the same way:

* Colours a colour-blind reader tells apart: the Okabe-Ito palette for categories (no green is
  used at all, so no chart pairs a red with a green), a single-hue map (:data:`SEQUENTIAL`) for
  magnitudes and a blue-orange map (:data:`DIVERGING`) only around a meaningful zero.
* Twice the pixels: :func:`set_theme` saves PNGs at twice the display dpi (and switches the
  inline backend to retina) so charts stay crisp on high-DPI screens at the same displayed size;
  figures use constrained layout and are saved at their own size, so a saved PNG is exactly
  twice the figure's size in inches times the display dpi.
* Readable words: tick labels at least 10 pt, titles 13 pt; :func:`set_finding` sets a title that
  states the finding (wrapped to the figure's width when drawn) and can add a note under the chart;
  :func:`display_name` turns machine names (``sql``, ``closed_won``) into a reader's words.
* Numbers from :func:`leadnb.results.format_value` with their kind; rate axes in percent
  (:func:`percent_axis`); value labels beside the end of a bar *and* its error bar
  (:func:`label_ends`), never on top of it.

The one theme for every chart is set by :func:`set_theme`, called once by
:func:`leadnb.report.notebook.start`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib
import matplotlib.axis
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.text import Annotation
from matplotlib.ticker import PercentFormatter

from leadnb.funnel.stages import STAGE_ACRONYMS

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Their bluish green is left out so no chart can pair a green with the vermillion.
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
PURPLE = "#CC79A7"
VERMILLION = "#D55E00"
YELLOW = "#F0E442"
GREY = "#999999"
BLACK = "#000000"
PALETTE = [BLUE, ORANGE, SKY_BLUE, PURPLE, VERMILLION, BLACK, GREY]
"""Category colours, in the order a chart takes them (the last one, grey, for "the rest")."""

SEQUENTIAL = "Blues"
"""Colour map for magnitudes (one hue, light to dark)."""

DIVERGING = LinearSegmentedColormap.from_list("leadnb_orange_blue", [VERMILLION, "#F7F7F7", BLUE])
"""Colour map around a meaningful zero: below it orange-red, above it blue (never red-green)."""

DISPLAY_DPI = 100
"""The dpi a figure is shown at; PNGs are saved at twice that."""

TITLE_SIZE = 13
TICK_SIZE = 10.5
LABEL_SIZE = 11.5
NOTE_SIZE = 10.5

ACRONYMS = STAGE_ACRONYMS | {"lvr", "roi", "sdr", "icp"}
"""Words a reader knows as acronyms, shown in capitals: the funnel's stage acronyms
(:data:`leadnb.funnel.stages.STAGE_ACRONYMS`) and a few report words."""


def display_name(name: object) -> str:
    """A machine name as a reader's words: ``_`` as spaces, acronyms in capitals, a capital
    first letter (the funnel's stage names: ``sql`` -> ``SQL``, ``closed_won`` -> ``Closed won``).

    Examples
    --------
    >>> [display_name(s) for s in ("lead", "mql", "closed_won", "sql_30d", "Asked for a demo")]
    ['Lead', 'MQL', 'Closed won', 'SQL 30d', 'Asked for a demo']
    >>> display_name("reached sql within 30 days")  # words too, not only machine names
    'Reached SQL within 30 days'
    >>> from leadnb.funnel.stages import stage_name
    >>> all(display_name(s) == stage_name(s) for s in ("lead", "mql", "sql", "closed_won"))
    True
    """
    words = [w.upper() if w.lower() in ACRONYMS else w for w in str(name).split("_") if w]
    words = [
        " ".join(x.upper() if x.lower() in ACRONYMS else x for x in w.split(" ")) for w in words
    ]
    text = " ".join(words) or str(name)
    return text[:1].upper() + text[1:]


def plain(text: object) -> str:
    """User text for a chart (a label from the data or a notebook): ``$`` escaped, so
    matplotlib draws it as written (never mathtext).

    >>> plain("a$b$")
    'a\\\\$b\\\\$'
    """
    return str(text).replace("$", r"\$")


def unplain(text: str) -> str:
    """A chart's text as a reader sees it (alt text): :func:`plain`'s ``\\$`` back to ``$``.

    >>> unplain(plain("a$b$"))
    'a$b$'
    """
    return text.replace("\\$", "$")


def plain_log_axis(axis: matplotlib.axis.Axis) -> None:
    """Label a log-scaled axis with plain numbers (0.5, 1, 2) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.10g}"))
    axis.set_minor_formatter(NullFormatter())


class Percent(PercentFormatter):
    """Percent tick labels with as few decimals as the ticks need: ``0%, 10%, 20%`` and
    ``0%, 2.5%, 5%`` (matplotlib's own choice gives ``10.0%`` on a 0-12% axis)."""

    _row_decimals: int | None = None  # while a row of tick labels is formatted

    def format_ticks(self, values: Any) -> list[str]:
        """A row of tick labels, their decimals worked out once (per label, asking the locator
        for the ticks again each time, it was a tenth of a chart's drawing)."""
        ticks = np.asarray(values, dtype="float64")
        self._row_decimals = self._decimals(ticks[np.isfinite(ticks)])
        try:
            return super().format_ticks(values)
        finally:
            self._row_decimals = None

    def _decimals(self, values: np.ndarray) -> int:
        pct = values * 100.0 / self.xmax
        return next((d for d in range(4) if np.allclose(pct, np.round(pct, d), atol=1e-9)), 3)

    def format_pct(self, x: float, display_range: float) -> str:
        """``x`` as a percent with the decimals the axis's ticks need (0 to 3)."""
        decimals = self._row_decimals
        if decimals is None:
            ticks = np.asarray(self.axis.get_majorticklocs() if self.axis is not None else [x])
            decimals = self._decimals(np.append(ticks[np.isfinite(ticks)], x))
        return f"{self.convert_to_pct(x):,.{decimals}f}{self.symbol}"


def percent_axis(axis: matplotlib.axis.Axis, *, xmax: float = 1.0) -> None:
    """Show an axis of shares (``xmax=1``) or of percent units (``xmax=100``) as percents.

    The number of decimals follows the ticks (``10%`` on a 0-50% axis, ``2.5%`` where the
    ticks are 2.5 points apart).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_ylim(0, 0.12)
    >>> percent_axis(ax.yaxis)
    >>> fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['0%', '2%', '4%']
    >>> plt.close(fig)
    """
    axis.set_major_formatter(Percent(xmax=xmax, decimals=None))


def set_finding(
    ax: Axes, title: str, *, loc: str = "left", note: str | None = None, fig_title: bool = False
) -> None:
    """Give the chart its finding as a title and an optional note under the chart (what a reader
    must know to read it right). Both wrap to the figure's width when drawn (``get_title()``
    keeps the sentence on one line).

    ``fig_title=True`` puts the title over the whole figure (charts of several panels).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(layout="constrained")
    >>> set_finding(ax, "Older leads convert less", note="Rates per 1,000 lead-months.")
    >>> ax.get_title(loc="left"), fig.get_supxlabel()
    ('Older leads convert less', 'Note: Rates per 1,000 lead-months.')
    >>> plt.close(fig)
    """
    fig = ax.figure
    text = title
    if fig_title:
        x, ha = (0.01, "left") if loc == "left" else (0.5, "center")
        fig.suptitle(text, x=x, ha=ha, fontsize=TITLE_SIZE, fontweight="bold", wrap=True)
    else:
        ax.set_title(text, loc=loc, fontsize=TITLE_SIZE, fontweight="bold", wrap=True)
    if note:
        body = note if note.startswith("Note") else f"Note: {note}"
        fig.supxlabel(
            body,
            x=0.01,
            ha="left",
            fontsize=NOTE_SIZE,
            fontstyle="italic",
            color="#333333",
            wrap=True,
        )


def label_ends(
    ax: Axes,
    positions: Sequence[float] | np.ndarray,
    ends: Sequence[float] | np.ndarray,
    texts: Iterable[str],
    *,
    horizontal: bool,
    pad_points: float = 5.0,
    room: float = 1.22,
) -> list[Annotation]:
    """Write ``texts`` just past the end of each bar or interval, clear of its error bar.

    ``ends`` are where each bar *or* its error bar ends (``max(rate, ci_high)``); a label starts
    ``pad_points`` beyond it (to the right of horizontal bars, above vertical ones) and the value
    axis is stretched to ``room`` times the largest end so labels stay inside the chart. Missing
    ends get no label.

    Returns
    -------
    list of matplotlib.text.Annotation
        The labels drawn, in the order of ``texts`` (missing ends left out).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.barh([0, 1], [0.2, 0.4])
    >>> [a.get_text() for a in label_ends(ax, [0, 1], [0.25, 0.45], ["20%", "40%"],
    ...                                   horizontal=True)]
    ['20%', '40%']
    >>> bool(ax.get_xlim()[1] >= 0.45 * 1.22)
    True
    >>> plt.close(fig)
    """
    out = []
    end = np.asarray(ends, dtype=float)
    for p, e, t in zip(positions, end, texts, strict=True):
        if not np.isfinite(e):
            continue
        xy, off = ((e, p), (pad_points, 0)) if horizontal else ((p, e), (0, pad_points))
        out.append(
            ax.annotate(
                t,
                xy,
                xytext=off,
                textcoords="offset points",
                ha="left" if horizontal else "center",
                va="center" if horizontal else "bottom",
                fontsize=TICK_SIZE,
            )
        )
    finite = end[np.isfinite(end)]
    if len(finite) and finite.max() > 0:
        get, put = (ax.get_xlim, ax.set_xlim) if horizontal else (ax.get_ylim, ax.set_ylim)
        low, high = get()
        put(low, max(high, float(finite.max()) * room))
    return out


def _boxes_to_avoid(ax: Axes) -> list[Any]:
    """Display-space boxes of ``ax``'s error bars (each segment and each cap)."""
    from matplotlib.container import ErrorbarContainer
    from matplotlib.transforms import Bbox

    boxes = []
    for cont in ax.containers:
        if not isinstance(cont, ErrorbarContainer):
            continue
        _, caps, cols = cont.lines
        for col in cols:
            for seg in col.get_segments():
                if len(seg) and np.isfinite(seg).all():
                    pts = ax.transData.transform(seg)
                    boxes.append(Bbox.from_extents(*pts.min(0), *pts.max(0)).padded(2))
        for cap in caps:
            half = cap.get_markersize() / 2 * ax.figure.dpi / 72 + 2
            for x, y in ax.transData.transform(cap.get_xydata()):
                if np.isfinite(x) and np.isfinite(y):
                    boxes.append(Bbox.from_extents(x - half, y - half, x + half, y + half))
    return boxes


def _overlap_area(box: Any, others: Sequence[Any]) -> float:
    total = 0.0
    for o in others:
        w = min(box.x1, o.x1) - max(box.x0, o.x0)
        h = min(box.y1, o.y1) - max(box.y0, o.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


def place_beside(ax: Axes, labels: Sequence[Annotation], radii: Sequence[float]) -> None:
    """Move each label beside its point, ``radius`` + 6 points away (right, left, above, below,
    then the diagonals): the first spot inside the axes and clear of every error bar, every
    point (a circle of its radius, in points) and the labels placed before it; when no spot is
    clear, the one that covers least.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_xlim(0, 1)
    >>> a = ax.annotate("far right", (0.98, 0.5), xytext=(6, 0), textcoords="offset points")
    >>> place_beside(ax, [a], [0.0])
    >>> a.get_ha(), a.xyann
    ('right', (-6.0, 0.0))
    >>> plt.close(fig)
    """
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.draw_without_rendering()  # the layout the labels are measured in
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    avoid = _boxes_to_avoid(ax)
    px = fig.dpi / 72
    for label, r in zip(labels, radii, strict=True):
        x, y = ax.transData.transform(label.xy)
        avoid.append(Bbox.from_extents(x - r * px, y - r * px, x + r * px, y + r * px))
    for label, r in zip(labels, radii, strict=True):
        g = float(r) + 6.0
        d = g * 0.75
        spots = [
            ((g, 0.0), "left", "center"),
            ((-g, 0.0), "right", "center"),
            ((0.0, g), "center", "bottom"),
            ((0.0, -g), "center", "top"),
            ((d, d), "left", "bottom"),
            ((d, -d), "left", "top"),
            ((-d, d), "right", "bottom"),
            ((-d, -d), "right", "top"),
        ]
        best, best_cost = spots[0], np.inf
        x, y = ax.transData.transform(label.xy)
        own = Bbox.from_extents(x - r * px, y - r * px, x + r * px, y + r * px)
        others = [b for b in avoid if not np.allclose(b.extents, own.extents)]
        for spot in spots:
            label.xyann, ha, va = spot
            label.set_ha(ha)
            label.set_va(va)
            box = label.get_window_extent(renderer)
            outside = (
                max(inside.x0 - box.x0, 0) + max(box.x1 - inside.x1, 0)
                + max(inside.y0 - box.y0, 0) + max(box.y1 - inside.y1, 0)
            )  # fmt: skip
            cost = _overlap_area(box, others) + 1e3 * outside
            if cost < best_cost:
                best, best_cost = spot, cost
            if cost == 0:
                break
        label.xyann, ha, va = best
        label.set_ha(ha)
        label.set_va(va)
        avoid.append(label.get_window_extent(renderer))


def _retina_inline() -> None:
    """In a running IPython kernel, show inline charts at twice the pixels (retina PNG)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebook extra
        return
    if get_ipython() is None:
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover
        return
    set_matplotlib_formats("retina")


def set_theme() -> None:
    """Apply the project's single chart theme: seaborn whitegrid, Okabe-Ito colours, readable
    sizes, constrained layout, PNGs at twice the display dpi.

    Examples
    --------
    >>> set_theme()
    >>> matplotlib.rcParams["savefig.dpi"] == 2 * matplotlib.rcParams["figure.dpi"]
    True
    """
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    matplotlib.rcParams.update(
        {
            "figure.figsize": (8.0, 4.5),
            "figure.dpi": DISPLAY_DPI,
            "figure.constrained_layout.use": True,
            "savefig.dpi": 2 * DISPLAY_DPI,
            "savefig.bbox": "standard",  # the PNG is the figure: 2 x its size x display dpi
            "font.size": LABEL_SIZE,
            "axes.titlesize": TITLE_SIZE,
            "axes.titleweight": "bold",
            "axes.labelsize": LABEL_SIZE,
            "xtick.labelsize": TICK_SIZE,
            "ytick.labelsize": TICK_SIZE,
            "legend.fontsize": TICK_SIZE,
            "legend.title_fontsize": TICK_SIZE,
            "figure.titlesize": TITLE_SIZE,
            "figure.titleweight": "bold",
            "image.cmap": "cividis",
        }
    )
    _retina_inline()


def figure_kwargs() -> dict[str, Any]:
    """What every chart passes to :func:`matplotlib.pyplot.subplots`: constrained layout (titles,
    notes and colour bars get their room without ``bbox_inches="tight"`` changing the size)."""
    return {"layout": "constrained"}


__all__ = [
    "BLACK",
    "BLUE",
    "DIVERGING",
    "GREY",
    "ORANGE",
    "PALETTE",
    "PURPLE",
    "Percent",
    "SEQUENTIAL",
    "SKY_BLUE",
    "VERMILLION",
    "YELLOW",
    "display_name",
    "figure_kwargs",
    "label_ends",
    "percent_axis",
    "place_beside",
    "plain",
    "unplain",
    "plain_log_axis",
    "set_finding",
    "set_theme",
]
