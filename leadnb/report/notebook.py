"""The thin layer every notebook starts with: load, check, and write outputs.

A notebook calls :func:`start` once with its parameters; the returned :class:`NotebookContext`
holds the checked params, the analysis date and the loaded canonical tables, and knows where the
run folder for this notebook is. Writing is a no-op when ``out_dir`` is empty (analysts iterating
in JupyterLab, nbval), so the same notebook serves both. Nothing here computes a statistic.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadnb import safe
from leadnb.data.params import Params, load_params
from leadnb.errors import DataError, NotEnoughData, Report
from leadnb.results import Column, Kind, format_value, set_display_currency

SHOWN_ROWS = 12
"""Rows a report table shows; the rest is in the CSV it links (a reader scans about 12)."""
METRIC_KINDS_FILE = "metric_kinds.json"
"""Beside ``metrics.json``: each number's declared kind (:class:`leadnb.results.Kind`)."""


@dataclass
class NotebookContext:
    """What a notebook works with after :func:`start`."""

    name: str
    params: Params
    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame]
    out_dir: Path | None = None
    report: Report = field(default_factory=Report)
    #: where the run's validated tables were read from, and their key (None: loaded here)
    shared: tuple[Path, dict[str, Any]] | None = field(default=None, repr=False)

    def has(self, table: str) -> bool:
        """True when ``table`` is configured in the params file and was loaded."""
        return table in self.tables

    def missing(self, table: str, why: str) -> None:
        """Print the one-line notice for a section skipped because ``table`` is not configured."""
        print(
            f"Skipped: {why}. The params file has no `data.{table}` table "
            f"(add data.{table}.source to {self.params.path.name if self.params.path else 'the params file'})."
        )

    def rule_issues(self, config: Any, leads: pd.DataFrame, events: pd.DataFrame | None) -> list:
        """:func:`leadnb.scoring.rules.validate_rules` of ``config`` on these tables: inside
        ``leadnb run``, what the run found when it checked the same rules on the same tables
        (:func:`leadnb.data.cache.read_rule_issues`; at a million leads the check reads 20
        million events again); otherwise the check itself."""
        from leadnb.scoring.rules import validate_rules

        if self.shared is not None:
            from leadnb.data import cache

            found = cache.read_rule_issues(self.shared[0], self.shared[1], config)
            if found is not None:
                return found
        return validate_rules(config, leads, events)

    def stage_quality(
        self, leads: pd.DataFrame, stages: pd.DataFrame | None, config: Any
    ) -> pd.DataFrame:
        """:func:`leadnb.funnel.stages.stage_quality` of these tables: inside ``leadnb run``,
        the table the run's checks computed on the same tables and funnel
        (:func:`leadnb.data.cache.read_stage_quality`; at a million leads it reads every stage
        row again); otherwise the checks themselves. ``leads`` and ``stages`` must be the
        tables as loaded (``ctx.tables``), not a subset."""
        from leadnb.funnel.stages import stage_quality

        as_loaded = leads is self.tables.get("leads") and stages is self.tables.get("stages")
        if self.shared is not None and as_loaded:
            from leadnb.data import cache

            found = cache.read_stage_quality(self.shared[0], self.shared[1], config)
            if found is not None:
                return found
        return stage_quality(leads, stages, config)

    @property
    def scheduler(self) -> str | None:
        """The params file's ``run.dask_scheduler``: where per-lead work runs (None: here)."""
        return self.params.run.dask_scheduler

    @property
    def section(self) -> dict[str, Any]:
        """This notebook's own section of the params file."""
        return self.params.notebook(self.name)

    def save_table(
        self, df: pd.DataFrame, name: str, *, index: bool = False, raw: bool = False
    ) -> pd.DataFrame:
        """Write ``df`` as CSV to the run folder (when there is one) and return it unchanged.

        Every CSV a notebook writes is for people (opened in Excel): text cells that a
        spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab, CR)
        are written with a leading ``'`` (:func:`leadnb.safe.neutralise_csv_cells`); numbers are
        untouched. ``raw=True`` writes the values as they are, for files only programs read.
        ``name`` is made a plain file name in the run folder (:func:`leadnb.safe.file_name`).
        """
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            shown = df if raw else safe.neutralise_csv_cells(df, index=index)
            shown.to_csv(self.out_dir / safe.file_name(name), index=index)
        return df

    def show(
        self,
        df: pd.DataFrame,
        caption: str | None = None,
        *,
        columns: Mapping[str, Column] | None = None,
        csv: str | None = None,
        n: int = SHOWN_ROWS,
    ) -> None:
        """Display a table for a reader (:func:`show`), with a link to the CSV behind it.

        ``csv`` names the table's file in the run folder (as given to :meth:`save_table`);
        with a run folder the report links it, relative to the report ("all 48 rows (CSV)" when
        only the first ``n`` rows are shown), so the link works inside a zipped run folder.
        Without a run folder (analysts in JupyterLab) there is no file to link: a cut table
        says how many rows are left out.
        """
        from IPython.display import HTML, display

        display(styled(df, caption=caption, n=n, columns=columns))
        link = csv_link(len(df), n, csv if self.out_dir is not None else None)
        if link:
            display(HTML(link))

    def save_figure(self, fig: Any, name: str) -> Any:
        """Save a matplotlib figure as ``figures/<name>.png`` in the run folder; return it.

        ``name`` (often built from an experiment id) is made a plain file name first
        (:func:`leadnb.safe.file_name`: ``[A-Za-z0-9_.-]``, a hash when it had to change), so
        no name writes outside ``figures/``.

        With a run folder the figure is drawn once: the saved PNG is what the notebook shows
        (at the on-screen size the inline backend would give it), and the figure is closed so
        the ``plt.show()`` after it does not draw it a second time (drawing is a quarter of a
        second per chart). Without a run folder (analysts, nbval) the figure is left to
        ``plt.show()`` as usual.
        """
        if self.out_dir is None:
            return fig
        import matplotlib
        import matplotlib.pyplot as plt
        from IPython.display import Image, display

        figdir = self.out_dir / "figures"
        figdir.mkdir(parents=True, exist_ok=True)
        png = _png(fig)
        (figdir / safe.file_name(name, suffix=".png")).write_bytes(png)
        saved_dpi = matplotlib.rcParams["savefig.dpi"]
        scale = 1.0 if saved_dpi == "figure" else fig.dpi / float(saved_dpi)
        width = int.from_bytes(png[16:20], "big")  # PNG header: IHDR width
        shown = Image(data=png, format="png", width=round(width * scale))
        shown.metadata = {"alt": figure_text(fig, name)}  # the report's alt text
        display(shown)
        plt.close(fig)
        return fig

    def write_metrics(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``metrics`` into ``metrics.json`` in the run folder; return the merged dict.

        When ``metrics`` is a :class:`~leadnb.results.Metrics` (values with their declared
        kinds), the kinds are merged into ``metric_kinds.json`` beside it: the index cards and
        any downstream reader format each number from there (a rate as %, a multiple as ×).
        """
        clean = {k: _jsonable(v) for k, v in metrics.items()}
        if self.out_dir is None:
            return clean
        self.out_dir.mkdir(parents=True, exist_ok=True)
        merged = _merge_json(self.out_dir / "metrics.json", clean)
        kinds = getattr(metrics, "kinds", None)
        if kinds:
            _merge_json(self.out_dir / METRIC_KINDS_FILE, {k: str(v) for k, v in kinds.items()})
        return merged


def _merge_json(path: Path, values: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into the JSON object in ``path`` (written atomically); return it."""
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(values)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True))
    tmp.replace(path)
    return merged


PNG_COMPRESS_LEVEL = 3
"""zlib level of the charts' PNGs. Encoding was a fifth of a chart's time at matplotlib's
level 6 with an alpha channel; an opaque chart saved as RGB at level 3 encodes in about 45% of
that time and is a few percent smaller (see :func:`encode_png`)."""


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes: :func:`encode_png` of the pixels ``savefig`` draws (at the
    ``savefig.dpi`` of :func:`leadnb.report.plots.set_theme`; matplotlib's own PNG when the
    pixels are not the whole figure, as with an rcParams ``savefig.bbox`` of "tight")."""
    import matplotlib

    saved = matplotlib.rcParams["savefig.dpi"]
    dpi = fig.dpi if saved == "figure" else float(saved)
    # the pixels savefig draws (bbox "standard"): the figure's inches times the dpi, truncated
    # as matplotlib's canvas does (FigureCanvasBase.get_width_height: within 1e-8, rounded up)
    size = (int(fig.bbox_inches.width * dpi + 1e-8), int(fig.bbox_inches.height * dpi + 1e-8))
    rgba = _saved(fig, "rgba")
    if len(rgba) != 4 * size[0] * size[1]:
        return _saved(fig, "png")
    return encode_png(rgba, size, dpi)


def _saved(fig: Any, fmt: str) -> bytes:
    """``fig.savefig`` into bytes. Text from data (a variant named ``$\\alert$``) that is
    not valid mathtext makes matplotlib fail to draw; then every text of the figure is drawn
    as written (no math) instead of failing the report."""
    import matplotlib
    import matplotlib.text

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt)
    except ValueError:  # mathtext parse errors are ValueErrors
        for text in fig.findobj(matplotlib.text.Text):
            text.set_parse_math(False)
        buf = io.BytesIO()
        with matplotlib.rc_context({"text.parse_math": False}):
            fig.savefig(buf, format=fmt)
    return buf.getvalue()


def encode_png(rgba: bytes, size: tuple[int, int], dpi: float) -> bytes:
    """RGBA pixels (``size`` = width, height; rows top first) as PNG bytes, at
    :data:`PNG_COMPRESS_LEVEL`: as RGB when every pixel is opaque (every chart of the reports:
    a quarter less to compress), else RGBA. ``dpi`` is recorded in the file, as matplotlib
    does.

    >>> import numpy as np
    >>> from PIL import Image
    >>> px = np.zeros((2, 3, 4), dtype=np.uint8); px[..., 0] = 200; px[..., 3] = 255
    >>> img = Image.open(io.BytesIO(encode_png(px.tobytes(), (3, 2), 200)))
    >>> img.mode, img.size, img.getpixel((2, 1)), round(img.info["dpi"][0])
    ('RGB', (3, 2), (200, 0, 0), 200)
    >>> px[0, 0, 3] = 128
    >>> Image.open(io.BytesIO(encode_png(px.tobytes(), (3, 2), 200))).mode
    'RGBA'
    """
    from PIL import Image

    width, height = size
    if len(rgba) != 4 * width * height:
        raise ValueError(f"{len(rgba)} bytes of RGBA are not {width} x {height} pixels")
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1)
    if np.frombuffer(rgba, dtype=np.uint8)[3::4].min(initial=255) == 255:
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(dpi, dpi))
    return out.getvalue()


def figure_text(fig: Any, name: str) -> str:
    """A short description of a chart for readers who cannot see it: its title and the titles
    of its panels, else its file name in words."""
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) is not None else []
    titles += [ax.get_title(loc) for ax in fig.axes for loc in ("left", "center", "right")]
    from leadnb.report.plots import unplain

    # chart code escapes "$" in user text so matplotlib never reads it as math; readers see "$"
    titles = [unplain(t.strip()) for t in titles if t and t.strip()]
    return "; ".join(dict.fromkeys(titles)) or name.replace("_", " ").replace("-", " ")


def _jsonable(v: Any) -> Any:
    """Turn numpy/pandas scalars into plain JSON values (NaN becomes null)."""
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.strftime("%Y-%m-%d")
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v


@contextlib.contextmanager
def section(title: str) -> Iterator[list[str]]:
    """Run one section of a report; when it lacks data, say so in one sentence and go on.

    Inside ``with nb.section("Before vs after the nurture start"):`` a
    :class:`~leadnb.errors.NotEnoughData` raised by a leadnb function (or by the notebook itself)
    ends the section with the line ``Not computed (<title>): <what is missing>; <when it will
    appear>.`` instead of failing the notebook. Any other error still fails it (exit 1). The
    yielded list collects the sentences of the sections skipped, so a later cell can tell
    whether the section ran (empty list: it did).
    """
    skipped: list[str] = []
    try:
        yield skipped
    except NotEnoughData as exc:
        line = f"Not computed ({title}): {exc.sentence()}"
        skipped.append(line)
        print(line)


def data_notes(report: Report) -> str:
    """The warnings of the data checks in a few lines for a reader of the report (one line each,
    naming the table and column); ``leadnb validate`` prints them in full with example rows."""
    lines = [f"Data notes ({len(report.warnings)}; `leadnb validate` lists the rows):"]
    for w in report.warnings:
        where = ".".join(x for x in (w.table, w.column) if x)
        lines.append(f"- {w.message}" + (f" [{where}]" if where else ""))
    return "\n".join(lines)


def start(
    name: str,
    *,
    params_path: str | Path,
    as_of: str = "",
    out_dir: str = "",
    tables: Iterable[str] = ("leads",),
) -> NotebookContext:
    """Load the params file and the tables a notebook needs, check them, set the chart theme.

    Tables that are requested but not configured are simply absent (``ctx.has(t)`` is False):
    the notebook prints ``ctx.missing(t, why)`` and skips that section. A configured table that
    fails validation raises :class:`DataError` with the report, before any analysis.

    Inside ``leadnb run`` the tables were loaded and validated once for the whole run: they are
    read from the run's tables folder (:mod:`leadnb.data.cache`, beside ``out_dir``) when its key
    matches this params file, analysis date and inputs; otherwise (an analyst's session, a
    changed input) they are loaded from the sources as here below.
    """
    from leadnb.report.plots import set_theme

    params = load_params(params_path)
    set_display_currency(params.run.currency)  # every amount shown in this kernel: run.currency
    when = params.as_of(as_of or None)
    wanted = [t for t in tables if t in params.data]
    loaded: dict[str, pd.DataFrame] = {}
    report = Report()
    shared = None
    if wanted:
        # leads are always needed to check the keys of every other table
        to_load = list(dict.fromkeys(["leads", *wanted])) if "leads" in params.data else wanted
        cached = _cached_tables(params, when, to_load, out_dir)
        if cached is not None:
            loaded, report.issues, shared = cached
        else:
            loaded, report = _load_and_check(params, when, to_load)
        loaded = {t: loaded[t] for t in wanted}
        if report.warnings:
            print(data_notes(report))
    set_theme()
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    return NotebookContext(
        name=name,
        params=params,
        as_of=when,
        tables=loaded,
        out_dir=Path(out_dir).resolve() if out_dir else None,
        report=report,
        shared=shared,
    )


def _cached_tables(
    params: Any, when: pd.Timestamp | None, names: list[str], out_dir: str | Path
) -> tuple[dict[str, pd.DataFrame], list[Any], tuple[Path, dict[str, Any]]] | None:
    """The run's tables validated once (:mod:`leadnb.data.cache`), their data notes and where
    they came from (folder and key), or ``None`` outside a run."""
    if not out_dir:
        return None
    from leadnb.data import cache

    key = cache.cache_key(
        params.path,
        when.strftime("%Y-%m-%d") if when is not None else "",
        [src.path for src in params.data.values()],
    )
    folder = cache.folder_for(out_dir)
    found = cache.read_tables(folder, names, key)
    return None if found is None else (*found, (folder, key))


def _load_and_check(
    params: Any, when: pd.Timestamp | None, names: list[str]
) -> tuple[dict[str, pd.DataFrame], Report]:
    """Load ``names`` from their sources, validate them, drop the rows validation drops."""
    from leadnb.data import loading as io
    from leadnb.data import validation as validate

    loaded = io.load_tables(params, names)
    report = validate.validate_tables(
        loaded, {t: params.data[t] for t in names}, funnel=params.funnel, as_of=when
    )
    if report.errors:
        raise DataError(issues=report.errors)
    return validate.clean_tables(loaded, report), report


def csv_link(rows: int, shown: int, csv: str | None) -> str:
    """The line under a table: how much of it is shown and where the rest is.

    >>> csv_link(48, 12, "score_bands.csv")
    '<p class="table-note">First 12 of 48 rows. <a href="score_bands.csv">All 48 rows (CSV)</a></p>'
    >>> csv_link(5, 12, "segments.csv")
    '<p class="table-note"><a href="segments.csv">This table as CSV</a></p>'
    >>> csv_link(48, 12, None)
    '<p class="table-note">First 12 of 48 rows.</p>'
    >>> csv_link(5, 12, None)
    ''
    """
    parts = []
    if rows > shown:
        parts.append(f"First {shown:,} of {rows:,} rows.")
    if csv:
        href = html.escape(safe.file_name(csv), quote=True)
        text = f"All {rows:,} rows (CSV)" if rows > shown else "This table as CSV"
        parts.append(f'<a href="{href}">{text}</a>')
    return f'<p class="table-note">{" ".join(parts)}</p>' if parts else ""


def show(
    df: pd.DataFrame,
    caption: str | None = None,
    n: int = 20,
    digits: int = 3,
    *,
    columns: Mapping[str, Column] | None = None,
) -> None:
    """Display a table for a reader: at most ``n`` rows, optional caption, numbers formatted.

    With ``columns`` (the :class:`~leadnb.results.Column` declarations of the module that built
    the table), each declared column is shown under its human label and formatted from its kind
    (:func:`leadnb.results.format_value`). Undeclared float columns holding only whole numbers
    show without decimals, other floats with ``digits`` decimals; dates and text as they are;
    missing values as a dash. Returns nothing, so a cell ending in ``show(...)`` does not display
    the table twice.
    """
    from IPython.display import display

    display(styled(df, caption=caption, n=n, digits=digits, columns=columns))
    if len(df) > n:
        print(f"({len(df) - n:,} more rows in the CSV)")


def styled(
    df: pd.DataFrame,
    caption: str | None = None,
    n: int = 20,
    digits: int = 3,
    *,
    columns: Mapping[str, Column] | None = None,
) -> Any:
    """The pandas Styler :func:`show` displays (first ``n`` rows of ``df``).

    Every value, column header and the caption are HTML-escaped: a company name such as
    ``<script>...</script>`` is shown as that text, never run (text from a CRM is data).

    >>> from leadnb.results import Column, Kind
    >>> df = pd.DataFrame({"share_old": [0.25], "sql_total": [300.0]})
    >>> cols = {"share_old": Column("Old leads' share", Kind.RATE)}
    >>> html = styled(df, columns=cols).to_html()
    >>> "Old leads&#x27; share" in html, "25.0%" in html, "share_old" in html
    (True, True, False)
    """
    shown = df.head(n)
    declared = {c: columns[c] for c in shown.columns if c in columns} if columns else {}
    labels = None
    if declared or (not shown.columns.is_unique and shown.columns.nlevels == 1):
        labels = [
            safe.escape(declared[c].label if c in declared else c) for c in shown.columns
        ]  # shown as they are, styled by position
        kinds_at = {i: declared[c].kind for i, c in enumerate(shown.columns) if c in declared}
        shown = shown.set_axis(range(shown.shape[1]), axis="columns")
    else:
        kinds_at = {}
    whole, decimal, other = [], [], []
    for i, c in enumerate(shown.columns):
        if i in kinds_at:
            continue
        col = shown.iloc[:, i]
        if pd.api.types.is_float_dtype(col.dtype):
            v = col.dropna().to_numpy()
            (whole if len(v) and np.all(np.isfinite(v) & (v == np.round(v))) else decimal).append(c)
        elif pd.api.types.is_object_dtype(col.dtype) or isinstance(col.dtype, pd.CategoricalDtype):
            other.append(c)  # may hold any object: shown as its escaped str()
    styler = shown.style.hide(axis="index")
    styler = styler.format(precision=digits, na_rep="–", thousands=",", escape="html")
    if whole:
        styler = styler.format("{:,.0f}", subset=whole, na_rep="–")
    if other:
        styler = styler.format(_escaped_text, subset=other, na_rep="–")
    for i, kind in kinds_at.items():
        styler = styler.format(_kind_formatter(kind), subset=[i])
    styler = styler.format_index(escape="html", axis="index")
    if labels is None:
        styler = styler.format_index(escape="html", axis="columns")
    else:
        styler = styler.relabel_index(labels, axis="columns")
    if shown.columns.names != [None] * shown.columns.nlevels:
        styler = styler.hide(axis="columns", names=True)
    if caption:
        styler = styler.set_caption(safe.escape(caption))
    return styler


def _kind_formatter(kind: Kind) -> Any:
    def fmt(v: Any) -> str:
        return safe.escape(format_value(v, kind))

    return fmt


def _escaped_text(value: Any) -> str:
    return safe.escape(value)


def save_parquet(ctx: NotebookContext, df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Write a per-lead table as Parquet to the run folder (when there is one); return ``df``.

    The per-lead tables (``scores``, ``lead_queue``: one row per lead, 111 MB of CSV at a
    million leads) are for programs, not for a spreadsheet (Excel stops at 1,048,576 rows), so
    they are written as ``<stem>.parquet`` with the same columns (CONTRACT, run folder): no
    index, dtypes kept (string ids stay strings, dates stay timestamps; Parquet has no
    seconds unit, so ``datetime64[s]`` comes back as ``[ms]``), Snappy compression (pyarrow's
    default, which every Parquet reader opens). Values are written as they are: the
    formula neutralising of :meth:`NotebookContext.save_table` is for CSVs a spreadsheet opens.
    The file holds no per-run metadata, so the same table always gives the same bytes.

    Read it back with ``pandas.read_parquet(path)`` or DuckDB
    (``SELECT * FROM 'scores.parquet'``). ``name`` must end in ``.parquet`` and is made a plain
    file name in the run folder (:func:`leadnb.safe.file_name`); without a run folder (analysts
    in JupyterLab) nothing is written.
    """
    if not str(name).endswith(".parquet"):
        raise ValueError(f"save_parquet writes a .parquet file, got {name!r}")
    if ctx.out_dir is not None:
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        df.to_parquet(
            ctx.out_dir / safe.file_name(name), engine="pyarrow", index=False, compression="snappy"
        )
    return df


__all__ = [
    "NotebookContext",
    "data_notes",
    "save_parquet",
    "section",
    "show",
    "start",
    "styled",
]
