"""Showing what changed since the previous run: an HTML fragment and a trend chart.

Design. Both take frames computed by :mod:`leadnb.run.changes` and compute nothing:
:func:`render_changes` turns :func:`~leadnb.run.changes.what_changed` (or one notebook's
:func:`~leadnb.run.changes.compare_metrics`) into a short escaped HTML fragment for the top of a
report or an index card; :func:`plot_trend` draws one headline number of
:func:`~leadnb.run.changes.trend` over analysis dates. Every number is formatted with
:func:`leadnb.results.format_value` from its declared kind, and every text that comes from data
(keys, labels, notebook names, dates) is escaped.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd

from leadnb.results import Kind, format_change, format_value
from leadnb.safe import escape

__all__ = ["TREND_COLOURS", "plot_trend", "render_changes"]

#: Okabe-Ito colours (safe for the common colour-vision deficiencies): line, interval band.
TREND_COLOURS = {"line": "#0072B2", "band": "#56B4E9", "last": "#D55E00"}
TITLE_WIDTH = 70  # characters of a trend chart's title line (about 620 px at 12 pt on its 700 px)


def _kind(value: Any) -> Kind | None:
    try:
        return Kind(value) if value else None
    except ValueError:
        return None


def _noise_cell(beyond: Any) -> str:
    if pd.isna(beyond):
        return '<span class="muted">not tested</span>'
    if beyond:
        return "<strong>beyond noise</strong>"
    return "within noise"


def render_changes(frame: pd.DataFrame, *, since: str | None = None) -> str:
    """An HTML fragment "What changed since <date>": each headline number before and after, the
    change, and whether it is beyond noise.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`leadnb.run.changes.what_changed` or its ``compare_metrics``
        (columns ``notebook``, ``key``, ``label``, ``kind``, ``before``, ``after``, ``change``,
        ``test``, ``beyond_noise``, ``sentence``, ``since``).
    since : str, optional
        The previous run's analysis date (default: the frame's ``since``; several dates are
        listed when notebooks were compared with different runs).

    Returns
    -------
    str
        ``<section class="changes" id="changes">`` with a heading, one sentence saying how many
        numbers moved beyond noise (and which), and a table (number, before, after, change,
        noise; a report column when the frame holds several notebooks). An empty frame gives a
        one-line section saying there is no earlier run to compare with. Every text is escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"notebook": ["nb"], "key": ["conversion_rate"],
    ...     "label": ["Conversion rate"], "kind": ["rate"], "before": [0.05], "after": [0.09],
    ...     "change": [0.04], "test": ["two-proportion z test"],
    ...     "beyond_noise": pd.array([True], dtype="boolean"), "sentence": ["..."],
    ...     "since": ["2026-06-23"]})
    >>> html = render_changes(f)
    >>> "What changed since 2026-06-23" in html, "<td>+4.0 pts</td>" in html
    (True, True)
    """
    if since is None and "since" in frame and len(frame):
        dates = sorted({str(d) for d in frame["since"] if isinstance(d, str) and d})
        since = ", ".join(dates) if dates else None
    heading = f"What changed since {escape(since)}" if since else "What changed"
    if frame.empty:
        return (
            '<section class="changes" id="changes"><h2>What changed</h2>'
            "<p>Nothing to compare with yet: there is no earlier successful run of these "
            "parameters.</p></section>"
        )
    several = frame["notebook"].nunique() > 1
    labels = frame["label"] if "label" in frame else frame["key"]
    beyond = frame["beyond_noise"].fillna(False).astype(bool)
    moved = [escape(x) for x in labels[beyond.to_numpy()]]
    if moved:
        lead = (
            f"{len(moved)} of {len(frame)} headline numbers moved beyond noise: "
            f"{', '.join(moved)}. The others moved within noise or could not be tested."
        )
    else:
        lead = f"None of the {len(frame)} headline numbers moved beyond noise."
    head = "<th>Report</th>" if several else ""
    rows = []
    for r, label in zip(frame.itertuples(index=False), labels, strict=True):
        kind = _kind(r.kind)
        report_cell = f"<td>{escape(r.notebook)}</td>" if several else ""
        title = f' title="{escape(r.test)}"' if str(r.test).startswith("not tested") else ""
        rows.append(
            f'<tr>{report_cell}<th scope="row">{escape(label)}</th>'
            f"<td>{escape(format_value(r.before, kind))}</td>"
            f"<td>{escape(format_value(r.after, kind))}</td>"
            f"<td>{escape(format_change(r.change, kind))}</td>"
            f"<td{title}>{_noise_cell(r.beyond_noise)}</td></tr>"
        )
    return (
        f'<section class="changes" id="changes"><h2>{heading}</h2><p>{lead}</p>'
        '<div class="table-scroll"><table class="changes">'
        f"<thead><tr>{head}<th>Number</th><th>Before</th><th>Now</th><th>Change</th>"
        "<th>Beyond noise?</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="note">Beyond noise: a larger change than sampling noise alone would make '
        "(two-proportion test for rates, Poisson for counts, intervals otherwise; adjusted for "
        "the number of comparisons).</p></section>"
    )


def plot_trend(frame: pd.DataFrame, key: str, *, notebook: str | None = None) -> Any:
    """One headline number over analysis dates, with its interval when it has one.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`leadnb.run.changes.trend` (``as_of``, ``notebook``, ``key``, ``kind``,
        ``value``, ``ci_low``, ``ci_high``; ``label``, optional: the number's words in the title,
        the latest run's, else words made from ``key``).
    key : str
        The headline number to draw.
    notebook : str, optional
        The notebook it belongs to; needed only when two notebooks write the same key.

    Returns
    -------
    matplotlib.figure.Figure
        A line with a marker per run (Okabe-Ito blue, the latest run in vermilion), a band for
        the interval, the y axis formatted from the number's declared kind, and a title that
        states the latest value and the change since the first run ("steady" when the two are
        the same at the precision shown). Not shown (no
        ``plt.show``).

    Raises
    ------
    ValueError
        When ``key`` is not in ``frame``, or is in several notebooks and ``notebook`` is not
        given.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"as_of": pd.to_datetime(["2026-06-23", "2026-06-30"]),
    ...     "notebook": "nb", "key": "conversion_rate", "kind": "rate",
    ...     "value": [0.05, 0.06], "ci_low": float("nan"), "ci_high": float("nan")})
    >>> fig = plot_trend(t, "conversion_rate")
    >>> fig.axes[0].get_title(loc="left")
    'Conversion rate: 6.0% on 2026-06-30, up from 5.0% on 2026-06-23'
    >>> fig2 = plot_trend(t.assign(label="Leads that converted"), "conversion_rate")
    >>> fig2.axes[0].get_title(loc="left")
    'Leads that converted: 6.0% on 2026-06-30, up from 5.0% on 2026-06-23'
    >>> import matplotlib.pyplot as plt; plt.close(fig); plt.close(fig2)
    """
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import FuncFormatter

    from leadnb.report.pages import metric_label
    from leadnb.report.plots import plain

    rows = frame[frame["key"] == key]
    if notebook is not None:
        rows = rows[rows["notebook"] == notebook]
    if rows.empty:
        raise ValueError(
            f"{key!r} is not in the trend frame" + (f" of {notebook!r}" if notebook else "")
        )
    if rows["notebook"].nunique() > 1:
        raise ValueError(
            f"{key!r} is written by several notebooks ({sorted(rows['notebook'].unique())}): "
            "pass notebook="
        )
    rows = rows.sort_values("as_of")
    kind = _kind(rows["kind"].iloc[0])
    dates = pd.to_datetime(rows["as_of"])
    fig, ax = plt.subplots(figsize=(7.0, 3.6), dpi=100)
    has_ci = rows["ci_low"].notna() & rows["ci_high"].notna()
    if has_ci.any():
        ax.fill_between(
            dates[has_ci],
            rows.loc[has_ci, "ci_low"],
            rows.loc[has_ci, "ci_high"],
            color=TREND_COLOURS["band"],
            alpha=0.3,
            linewidth=0,
            label="95% interval",
        )
    ax.plot(dates, rows["value"], color=TREND_COLOURS["line"], marker="o", linewidth=2)
    ax.plot(
        dates.iloc[-1:], rows["value"].iloc[-1:], "o", color=TREND_COLOURS["last"], markersize=9
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_value(v, kind)))
    locator = AutoDateLocator(minticks=2, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.tick_params(labelsize=11)
    ax.set_xlabel("Analysis date", fontsize=11)
    declared = rows["label"].iloc[-1] if "label" in rows else None  # the latest run's words
    label = plain(declared) if isinstance(declared, str) and declared else metric_label(key)
    last, first = rows["value"].iloc[-1], rows["value"].iloc[0]
    title = f"{label}: {format_value(last, kind)} on {dates.iloc[-1]:%Y-%m-%d}"
    if len(rows) > 1 and format_value(last, kind) == format_value(first, kind):
        title = f"{label}: steady at {format_value(last, kind)} since {dates.iloc[0]:%Y-%m-%d}"
    elif len(rows) > 1:
        way = "up" if last > first else "down"
        title += f", {way} from {format_value(first, kind)} on {dates.iloc[0]:%Y-%m-%d}"
    else:
        title += " (one run so far)"
    # a long label (the notebook's words) would run off the chart: wrapped at whole words
    ax.set_title(textwrap.fill(title, TITLE_WIDTH, break_on_hyphens=False), fontsize=12, loc="left")
    if has_ci.any():
        ax.legend(loc="best", fontsize=10, frameon=False)
    fig.tight_layout()
    return fig
