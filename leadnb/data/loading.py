"""Loaders: turn a user's CSV, TSV, Parquet, Excel file or SQL query into a canonical table.

Design: reading and canonicalising are two steps. A reader (one per source kind) returns the raw
frame exactly as the source holds it; :func:`canonicalize` then applies the params file's
``columns:`` map, reads ``placeholders:`` (and blank cells) as missing, and converts every known
column to its kind from :data:`TABLE_SCHEMAS`:

* ``id`` columns become strings (dtype ``"str"``); a numeric ID never gains a ``.0``;
* ``date`` columns become naive ``datetime64[us]``, parsed explicitly with the source's
  ``date_format`` (default ISO 8601) or ``dayfirst``; time-zone aware values are converted to UTC;
* ``number`` columns become ``float64``; ``str`` columns become ``"str"``.

Speed without a second set of rules: a UTF-8 CSV is read by Arrow's multi-threaded reader into
the frame pandas would read (text columns, blank cells missing), and ISO 8601 date text is parsed
by Arrow's cast; whenever Arrow cannot do exactly what pandas does (a ragged row, an open quote, a
stray carriage return, an unreadable or non-ISO date...), that file or column goes through pandas,
whose results and messages (file, table, column, offending rows, fix) are the reference.
Parquet is read by Arrow into the frame ``pd.read_parquet`` returns, text kept as Arrow's
buffers. Text cells are checked for missing markers and surrounding spaces by reading their
Arrow offsets and first and last bytes with NumPy; only the few cells that could be a marker are
looked up, and markers become missing through a new validity bitmap, the text itself not copied.

Any other column is kept as read (field rules may use it). Stage names are mapped through
``funnel.aliases`` merged with the source's ``stage_map`` (case and surrounding spaces ignored).

Problems are :class:`~leadnb.errors.Issue` values. Without a ``report`` the loader raises one
:class:`~leadnb.errors.DataError` listing every bad value of the table and sends warnings (e.g. a
``;``-separated file) through :mod:`warnings`; with a ``report`` (what ``leadnb validate`` does)
it records them there, reads bad values as missing and carries on, so one run lists everything.
Nothing here writes a file. Every conversion is vectorised.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import mmap
import os
import re
import threading
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from leadnb.data.params import TABLES, Params, TableSource
from leadnb.errors import DataError, Issue, LeadnbError, ParamsError, Report
from leadnb.masking import mask_url, masked_url, split_url, url_secrets

# --------------------------------------------------------------------------------------------
# The data contract (CONTRACT.md section 2)


@dataclass(frozen=True)
class TableSchema:
    """Required and optional canonical columns of one input table, and each column's kind.

    ``kind`` is one of ``"id"``, ``"date"``, ``"number"``, ``"str"``. ``one_of`` lists groups of
    columns of which at least one must be present (orders: ``account_id`` or ``lead_id``).
    ``wide_dates``: any other column named ``<something>_at`` is a date (per-stage dates on leads).
    """

    table: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    kinds: Mapping[str, str]
    one_of: tuple[tuple[str, ...], ...] = ()
    wide_dates: bool = False
    description: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column this table knows, required first."""
        return self.required + tuple(c for g in self.one_of for c in g) + self.optional

    def kind(self, column: str) -> str | None:
        """The kind of ``column``, or ``None`` for a column outside the contract."""
        if column in self.kinds:
            return self.kinds[column]
        if self.wide_dates and column.endswith("_at"):
            return "date"
        return None


TABLE_SCHEMAS: dict[str, TableSchema] = {
    "leads": TableSchema(
        "leads",
        required=("lead_id",),
        optional=(
            "created_at",
            "account_id",
            "name",
            "email",
            "phone",
            "company",
            "title",
            "industry",
            "country",
            "source",
            "tags",
            "converted",
        ),
        kinds={
            "lead_id": "id",
            "created_at": "date",
            "account_id": "id",
            **{
                c: "str"
                for c in (
                    "name",
                    "email",
                    "phone",
                    "company",
                    "title",
                    "industry",
                    "country",
                    "source",
                    "tags",
                )
            },
            "converted": "number",
        },
        wide_dates=True,
        description="one row per lead; per-stage dates may come as <stage>_at columns",
    ),
    "events": TableSchema(
        "events",
        required=("lead_id", "ts", "event_type"),
        optional=("value", "duration_s"),
        kinds={
            "lead_id": "id",
            "ts": "date",
            "event_type": "str",
            "value": "str",
            "duration_s": "number",
        },
        description="one row per behaviour: tag, content read, group join/leave, link, form, event",
    ),
    "stages": TableSchema(
        "stages",
        required=("lead_id", "stage", "entered_at"),
        optional=(),
        kinds={"lead_id": "id", "stage": "str", "entered_at": "date"},
        description="long form stage history: one row per lead and stage reached",
    ),
    "costs": TableSchema(
        "costs",
        required=("period_start", "amount"),
        optional=("program", "channel"),
        kinds={"period_start": "date", "amount": "number", "program": "str", "channel": "str"},
        description="spend per period, e.g. monthly, split by program (lead_generation, nurture)",
    ),
    "assignments": TableSchema(
        "assignments",
        required=("lead_id", "experiment_id", "variant"),
        optional=("assigned_at", "outcome"),
        kinds={
            "lead_id": "id",
            "experiment_id": "id",
            "variant": "str",
            "assigned_at": "date",
            "outcome": "number",
        },
        description="which variant of which experiment each lead was assigned to",
    ),
    "orders": TableSchema(
        "orders",
        required=("order_date", "amount"),
        optional=(),
        kinds={"account_id": "id", "lead_id": "id", "order_date": "date", "amount": "number"},
        one_of=(("account_id", "lead_id"),),
        description="orders of customers, by account and/or lead",
    ),
}

# Cell values read as missing in every text column, on top of the source's ``placeholders``
# (pandas' usual missing markers; compared after stripping surrounding spaces).
MISSING_TOKENS = ("", "NA", "N/A", "n/a", "#N/A", "NULL", "null", "NaN", "nan", "None", "<NA>")

DICTIONARY_COLUMNS: dict[str, tuple[str, ...]] = {"events": ("lead_id", "event_type", "value")}
"""Text columns loaded as pandas categoricals (categories sorted), by table: the events' lead
ids, types and values are twenty million cells of a million, a dozen and a few hundred distinct
values at a million leads (1.3 GB as text, 0.5 GB as codes). A Parquet file's text columns are
read as dictionaries straight from its dictionary pages (lead ids, nearly distinct within a row
group, as text first); any other source's are encoded after cleaning."""
_READ_AS_TEXT = ("lead_id",)  # among DICTIONARY_COLUMNS: read as text, then encoded (see above)

CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")


UNREADABLE_ATTR = "leadnb_unreadable"  # DataFrame.attrs key: column -> positions read as missing


LOAD_THREADS = 2
"""Tables :func:`load_tables` reads at once."""


_QUIET = threading.Lock()
"""Held around each ``warnings.catch_warnings`` of the loader: the warning filters are one
global list, and two tables read at once (:func:`load_tables`) that entered and left such a
block out of order would leave one's filter behind for good."""


class LeadnbWarning(UserWarning):
    """A problem the loader handled (e.g. it detected a ``;`` separator) but you should know."""


@dataclass
class _Found:
    """Issues found while loading one table."""

    source: TableSource
    issues: list[Issue] = field(default_factory=list)

    def add(self, message: str, level: str = "error", **kw: Any) -> None:
        kw.setdefault("file", self.source.label)
        kw.setdefault("table", self.source.table)
        self.issues.append(Issue(message, level=level, **kw))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Public entry points


def load_table(
    source: TableSource,
    *,
    funnel_aliases: Mapping[str, str] | None = None,
    funnel_stages: Iterable[str] | None = None,
    report: Report | None = None,
) -> pd.DataFrame:
    """Load one configured table and return it in canonical form.

    ``funnel_aliases`` (``funnel.aliases``) and the source's ``stage_map`` (which wins) map the
    ``stages`` table's stage names; names equal to one of ``funnel_stages`` apart from case are
    normalised to it. Raises :class:`DataError` (bad file or values) or :class:`ParamsError`
    (SQL URL variable missing). With ``report``, value-level problems are recorded there instead
    and the bad values read as missing; a table that cannot be read at all still raises.
    """
    df, found = _load(source, funnel_aliases, funnel_stages)
    _emit(found, report)
    return df


def _load(
    source: TableSource,
    funnel_aliases: Mapping[str, str] | None,
    funnel_stages: Iterable[str] | None,
) -> tuple[pd.DataFrame, _Found]:
    """:func:`load_table` before its issues are reported: the table and what was found."""
    found = _Found(source)
    raw = _read(source, found)
    df = canonicalize(
        raw,
        source,
        funnel_aliases=funnel_aliases,
        funnel_stages=funnel_stages,
        _found=found,
    )
    return df, found


def load_tables(
    params: Params,
    tables: Iterable[str] | None = None,
    *,
    report: Report | None = None,
) -> dict[str, pd.DataFrame]:
    """Load the configured tables among ``tables`` (default: every configured one).

    Tables not configured in the params file are left out. With ``report``, a table that cannot
    be loaded is recorded as an error and left out; otherwise the first failure raises.

    The tables are read in two threads (Arrow reads and converts without holding the GIL, and
    one table's pandas steps fill the time another waits for its file), and their issues are
    reported in table order once all are read, as one table after the other would: at a
    million leads (six tables, 2 cores; alternated four times in one process) 4.58 -> 4.22 s
    median, with the same CPU time. Without ``report``, the first table (in order) that fails
    raises, after the others were read.
    """
    wanted = list(TABLES if tables is None else tables)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise ParamsError(
            f"unknown table name(s): {', '.join(unknown)}",
            fix=f"tables are: {', '.join(TABLES)}",
        )
    aliases, stages = _funnel_names(params)
    configured = [t for t in wanted if t in params.data]

    def read(t: str) -> tuple[pd.DataFrame, _Found] | LeadnbError:
        try:
            return _load(params.data[t], aliases, stages)
        except LeadnbError as err:
            return err

    if len(configured) > 1:
        with ThreadPoolExecutor(max_workers=LOAD_THREADS, thread_name_prefix="leadnb-load") as ex:
            loaded = list(ex.map(read, configured))
    else:
        loaded = [read(t) for t in configured]
    out: dict[str, pd.DataFrame] = {}
    for t, result in zip(configured, loaded, strict=True):
        if isinstance(result, LeadnbError):
            if report is None:
                raise result
            report.issues.extend(result.issues)
            continue
        df, found = result
        _emit(found, report)
        out[t] = df
    return out


def _funnel_names(params: Params) -> tuple[dict[str, str], list[str]]:
    try:
        funnel = params.funnel
    except (KeyError, AttributeError):
        return {}, []
    return funnel_names(funnel)


def funnel_names(funnel: Any) -> tuple[dict[str, str], list[str]]:
    """``(aliases, stage names incl. the lost stage)`` from a FunnelConfig, a dict or ``None``."""
    if funnel is None:
        return {}, []

    def get(name: str, default: Any) -> Any:
        if isinstance(funnel, Mapping):
            return funnel.get(name, default)
        return getattr(funnel, name, default)

    aliases = {str(k): str(v) for k, v in (get("aliases", None) or {}).items()}
    stages = [str(s) for s in (get("stages", None) or ())]
    lost = get("lost_stage", None)
    if lost:
        stages.append(str(lost))
    return aliases, stages


def row_labels(source: TableSource | None, index: pd.Index) -> pd.Index:
    """How messages number rows: the line in the file (header is line 1) for CSV and Excel,
    else the 0-based row position of the query result or Parquet file."""
    path = source.path if source is not None else None
    if path is not None and path.suffix.lower() in CSV_SUFFIXES + EXCEL_SUFFIXES + (".xls",):
        return pd.Index(np.asarray(index) + 2, name="line")
    return pd.Index(np.asarray(index), name="row")


# --------------------------------------------------------------------------------------------
# Readers: source -> raw DataFrame


def _read(source: TableSource, found: _Found) -> pd.DataFrame:
    if source.sql is not None:
        return _read_sql(source)
    path = source.path
    where = f"data.{source.table}.source"
    if path is None:
        raise ParamsError(f"data.{source.table} has neither a file nor a SQL query", fix=where)
    if not path.exists():
        raise DataError(
            f"the {source.table} file does not exist: {path}",
            file=str(path),
            table=source.table,
            fix=f"check {where}; a relative path is relative to the params file's folder",
        )
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(source, found)
    if suffix in PARQUET_SUFFIXES:
        try:
            return _plain_index(_read_parquet(path, _dictionary_sources(source, path)))
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(
                f"cannot read the {source.table} file as Parquet: {exc}",
                file=str(path),
                table=source.table,
                fix="check that the file is a Parquet file (written by pandas, Spark, DuckDB...)",
            ) from None
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(source)
    if suffix == ".xls":
        raise DataError(
            "old-style .xls Excel files are not supported",
            file=str(path),
            table=source.table,
            fix="open it in Excel or LibreOffice and save it as .xlsx (or CSV UTF-8)",
        )
    raise DataError(
        f"unsupported file type {suffix or '(no suffix)'!r} for the {source.table} table",
        file=str(path),
        table=source.table,
        fix="use a .csv, .tsv, .txt, .parquet or .xlsx file, or a SQL query (sql: + url_env:)",
    )


def _dictionary_sources(source: TableSource, path: Path) -> list[str]:
    """The text columns of a Parquet file that become :data:`DICTIONARY_COLUMNS` under the
    source's column map, except those read as text first (:data:`_READ_AS_TEXT`)."""
    import pyarrow.parquet as pq

    wanted = set(DICTIONARY_COLUMNS.get(source.table, ())) - set(_READ_AS_TEXT)
    if not wanted:
        return []
    mapping = {str(k).strip(): v for k, v in source.columns.items()}
    out = []
    for f in pq.read_schema(path):
        name = str(f.name).strip()
        target = mapping.get(name, name)
        if target in wanted and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)):
            out.append(f.name)
    return out


def _read_parquet(path: Path, dictionary: Iterable[str] = ()) -> pd.DataFrame:
    """``pd.read_parquet(path)``: the same frame, built with less memory traffic, the text
    columns named in ``dictionary`` as categoricals (sorted categories; see
    :data:`DICTIONARY_COLUMNS`).

    Text columns stay Arrow-backed ``str`` (no Python objects) and every column is read, since
    columns outside the contract are kept as read. Arrow releases each column once pandas has
    it (``self_destruct``), pandas keeps one block per column instead of copying same-typed
    columns into one (``split_blocks``), and a local file is read row group by row group rather
    than buffered whole first (``pre_buffer=False``: that buffering pays on object stores).
    On the 20.6-million-row events file of ``benchmarks.load`` (1.3 GB as a frame) the system
    time spent on fresh memory fell from 0.71 to 0.24 s (median of 8 reads in one process) and
    a fresh process's peak resident memory from 2.27 to 1.95-2.1 GB; not by half, as the text
    columns, most of the frame, are Arrow's buffers either way (shared, not copied).
    """
    import pyarrow.parquet as pq

    from leadnb.arrays import dictionary_column

    dictionary = list(dictionary)
    if not dictionary:
        return pd.read_parquet(
            path,
            pre_buffer=False,
            to_pandas_kwargs={"split_blocks": True, "self_destruct": True},
        )
    # what pd.read_parquet does (pandas 3 with pyarrow 19 or later maps no types), with each
    # dictionary column's per-row-group dictionaries made one sorted dictionary first
    table = pq.read_table(
        path, pre_buffer=False, use_pandas_metadata=True, read_dictionary=dictionary
    )
    for name in dictionary:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, dictionary_column(table.column(i)))
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _plain_index(df: pd.DataFrame) -> pd.DataFrame:
    """A frame read with a stored index (pandas ``set_index(...).to_parquet``) with that index
    turned back into columns (named levels not already columns) and a plain 0..n-1 index, so a
    duplicated or non-default index never reaches canonicalisation."""
    if isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1:
        return df
    names = [n for n in df.index.names if n is not None and n not in df.columns]
    if names:
        drop = [n for n in df.index.names if n not in names]
        out = df.reset_index(level=drop, drop=True) if drop else df
        return out.reset_index()
    return df.reset_index(drop=True)


def _sniff_sep(path: Path, encoding: str, default: str) -> str | None:
    """The separator the header row really uses when ``default`` leaves it one column."""
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        header = fh.readline()
    if not header.strip():
        return None
    if len(next(csv.reader([header], delimiter=default), [])) > 1:
        return None
    for cand in (";", "\t", ",", "|"):
        if cand != default and cand in header:
            if len(next(csv.reader([header], delimiter=cand), [])) > 1:
                return cand
    return None


def _describe_sep(sep: str) -> str:
    return {"\t": "tab", ";": "';'", ",": "','", "|": "'|'"}.get(sep, repr(sep))


def _encoding_error(path: Path, table: str, declared: str | None, found: _Found) -> str:
    """Record why the file is not in ``declared``/UTF-8; return the encoding to read it with."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess, what = "utf-16", "UTF-16 (Excel's 'Unicode Text')"
    else:
        guess, what = "cp1252", "cp1252 (Windows-1252, as Excel on Windows saves CSV)"
        try:
            raw.decode("cp1252")
        except UnicodeDecodeError:
            guess, what = "latin-1", "latin-1 (ISO-8859-1)"
    enc = declared or "utf-8"
    try:
        raw.decode(enc)
        pos, line_no = 0, 1
    except UnicodeDecodeError as exc:
        pos = exc.start
        line_no = raw.count(b"\n", 0, pos) + 1
    start = raw.rfind(b"\n", 0, pos) + 1
    end = raw.find(b"\n", pos)
    line = raw[start : end if end >= 0 else len(raw)].decode(guess, errors="replace").rstrip("\r")
    byte = raw[pos : pos + 1].hex() if pos < len(raw) else ""
    key = f"data.{table}.encoding"
    if declared:
        msg = f"the file is not valid {declared} (byte 0x{byte} on line {line_no}); it looks like {what}"
        fix = f"set {key}: {guess} in the params file, or re-save the file as UTF-8"
    else:
        msg = f"the file is not UTF-8 (byte 0x{byte} on line {line_no}); it looks like {what}"
        fix = (
            f"add {key}: {guess} to the params file, or re-save the file as UTF-8 "
            "(Excel: Save As > 'CSV UTF-8')"
        )
    found.add(
        msg, rows=pd.DataFrame({"text": [line]}, index=pd.Index([line_no], name="line")), fix=fix
    )
    return guess


def _read_csv(source: TableSource, found: _Found) -> pd.DataFrame:
    path = source.path
    assert path is not None
    table = source.table
    encoding = source.encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ParamsError(
            f"unknown encoding {encoding!r} in data.{table}.encoding",
            table=table,
            fix="use a Python codec name such as utf-8, cp1252, latin-1 or utf-16",
        ) from None
    sep = source.sep
    if sep is None:
        default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        sniffed = _sniff_sep(path, encoding, default)
        sep = sniffed or default
        if sniffed:
            found.add(
                f"the file is {_describe_sep(sniffed)}-separated, not {_describe_sep(default)}-"
                f"separated; read it with sep={sniffed!r}",
                level="warning",
                fix=f'set data.{table}.sep: "{sniffed.encode("unicode_escape").decode()}" '
                "in the params file to say so (and silence this warning)",
            )

    def read(enc: str) -> pd.DataFrame:
        df = _pandas_csv(path, sep, enc)
        if isinstance(df.index, pd.RangeIndex):
            return df
        # every data row has one value more than the header has names: pandas took the first
        # column as the index and shifted every column by one
        return _extra_field(df, path, table, sep, found, enc)

    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    if is_utf8:
        fast = _read_csv_arrow(path, sep)
        if fast is not None:
            return fast
    try:
        try:
            return read("utf-8-sig" if is_utf8 else encoding)
        except UnicodeDecodeError:
            # not in the declared encoding (or not UTF-8 when none is declared): an error that
            # says which encoding it looks like; read with that guess to find any other problem
            guess = _encoding_error(path, table, source.encoding, found)
            return read(guess)
    except pd.errors.EmptyDataError:
        raise DataError(
            "the file is empty (not even a header row)",
            file=str(path),
            table=table,
            fix="export the table again with its header row",
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"cannot parse the file as {_describe_sep(sep)}-separated text: {exc}".strip(),
            file=str(path),
            table=table,
            fix=f"check quoting on that line, or set data.{table}.sep to the real separator",
        ) from None


def _pandas_csv(path: Path, sep: str, enc: str, **kw: Any) -> pd.DataFrame:
    """pandas' reading of a CSV as text: every value a string, only empty cells missing."""
    return pd.read_csv(
        path,
        sep=sep,
        dtype="str",
        keep_default_na=False,
        na_values=[""],
        encoding=enc,
        skipinitialspace=False,
        **kw,
    )


def _extra_field(
    shifted: pd.DataFrame, path: Path, table: str, sep: str, found: _Found, enc: str
) -> pd.DataFrame:
    """A CSV whose data rows all have one value more than its header has names.

    When that value is empty on every row (each line ends with a separator, a common export
    quirk), it is dropped and a warning says so. Otherwise the columns cannot be told apart: a
    :class:`DataError` names the first rows and asks for the missing header name.
    """
    names = [str(c) for c in shifted.columns]
    if shifted.iloc[:, -1].isna().all():
        found.add(
            f"every data row ends with an extra {_describe_sep(sep)} (one more value than the "
            f"{len(names)} column names): the empty last value is ignored",
            level="warning",
            fix="export without a trailing separator to silence this warning",
        )
        with _QUIET, warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            return _pandas_csv(path, sep, enc, index_col=False)
    first = shifted.head(3)
    rows = pd.DataFrame(
        [[i, *r] for i, r in zip(first.index, first.itertuples(index=False), strict=True)],
        columns=["(extra first value)", *names],
        index=pd.Index([n + 2 for n in range(len(first))], name="line"),
    )
    raise DataError(
        f"every data row has {len(names) + 1} values but the header names {len(names)} columns "
        f"({', '.join(names)}): the values cannot be matched to their columns",
        file=str(path),
        table=table,
        rows=rows,
        count=len(shifted),
        fix="add the missing column name to the header row, or export the table again so each "
        "row has one value per column",
    )


def _csv_header(path: Path, sep: str) -> list[str] | None:
    """The header row's names as Python's csv module reads them, or ``None`` when they are not
    plain (unreadable as UTF-8, a single column, a blank or repeated name: pandas renames those)."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            names = next(csv.reader(fh, delimiter=sep))
    except (UnicodeDecodeError, csv.Error, StopIteration, OSError):
        return None
    if len(names) < 2 or any(not n for n in names) or len(set(names)) != len(names):
        return None  # one column: pandas skips lines of spaces, Arrow reads them as values
    return names


def _read_csv_arrow(path: Path, sep: str) -> pd.DataFrame | None:
    """The fast path of :func:`_read_csv`: a UTF-8 file read by Arrow's multi-threaded CSV reader,
    every column as text (``"str"``, Arrow-backed, no copy), blank cells missing: the frame
    ``pd.read_csv(path, sep=sep, dtype="str", keep_default_na=False, na_values=[""])`` returns.

    Returns ``None`` whenever Arrow cannot read the file exactly that way (a multi-character
    separator, an unusual header, a ragged row, bytes that are not UTF-8, no data rows...): the
    caller then reads it with pandas, whose errors the messages quote.
    """
    if len(sep) != 1 or sep in '"\r\n':
        return None
    names = _csv_header(path, sep)
    if names is None or _has_bare_cr(path):
        return None
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, OSError, ValueError):
        return None
    if (
        table.num_rows == 0
        or table.column_names != names
        or any(t != pa.large_string() for t in table.schema.types)
        or not _ends_outside_quotes(path, sep, table.column(len(names) - 1)[-1].as_py())
    ):
        return None
    return table.to_pandas()


def _has_bare_cr(path: Path) -> bool:
    """Whether the file has a carriage return not followed by a line feed (old Mac line ends, or
    a stray one): pandas' tokenizer and Arrow's split such lines differently."""
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm.find(b"\r") < 0:
            return False
        buf = np.frombuffer(mm, dtype=np.uint8)
        at = np.flatnonzero(buf == 13)
        bare = at[-1] == len(buf) - 1 or bool((buf[at[at < len(buf) - 1] + 1] != 10).any())
        del buf  # the mmap closes only once no array refers to it
        return bare


def _ends_outside_quotes(path: Path, sep: str, last: str | None) -> bool:
    """Whether the file ends after a complete last field (pandas stops at a quote left open at
    the end of the file; Arrow takes the rest of the file as the field's value).

    ``last`` is the value Arrow read for the last column of the last row. Left open, the file
    ends with ``sep + '"' + value`` (quotes doubled); closed, its text without the final line
    breaks ends with ``sep + value`` or ``sep + '"' + value + '"'``.
    """
    value = ("" if last is None else last).replace('"', '""').encode("utf-8")
    delim = sep.encode("utf-8")
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - len(value) - 4096))
        tail = fh.read()
    text = tail.rstrip(b"\r\n")
    if len(text) < len(value) + 3 and len(tail) < size:
        return False  # thousands of blank lines at the end: let pandas read it
    return text.endswith(delim + value) or text.endswith(delim + b'"' + value + b'"')


def _read_excel(source: TableSource) -> pd.DataFrame:
    path = source.path
    assert path is not None
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several unrelated types on a bad file
        raise DataError(
            f"cannot open the {source.table} file as an Excel workbook: {exc}",
            file=str(path),
            table=source.table,
            fix="check that it is an .xlsx file (save it from Excel as 'Excel Workbook')",
        ) from None
    with book:
        sheet = source.sheet if source.sheet is not None else 0
        names = book.sheet_names
        if (
            isinstance(sheet, str)
            and sheet not in names
            or isinstance(sheet, int)
            and not (0 <= sheet < len(names))
        ):
            raise DataError(
                f"the workbook has no sheet {sheet!r}; its sheets are: {', '.join(names)}",
                file=str(path),
                table=source.table,
                fix=f"set data.{source.table}.sheet to one of: {', '.join(names)} (or its 0-based index)",
            )
        return pd.read_excel(book, sheet_name=sheet)


def _check_url_shape(var: str, url: str, source: TableSource) -> None:
    """Refuse a URL whose credentials hold an unencoded ``@``: every parser would cut the
    password at its first ``@`` and send the rest to the network as a host name."""
    parts = split_url(url)
    if parts is None or "@" not in parts[1]:
        return
    raise ParamsError(
        f"${var} holds a database URL whose user name or password contains an unencoded '@' "
        f"({masked_url(url)})",
        file=source.label,
        table=source.table,
        fix="percent-encode special characters of the password in the URL ('@' as %40, ':' as "
        "%3A, '/' as %2F), e.g. with python -c \"import urllib.parse, getpass; "
        "print(urllib.parse.quote(getpass.getpass(), safe=''))\"",
    )


def _read_sql(source: TableSource) -> pd.DataFrame:
    import sqlalchemy as sa

    var = source.url_env or ""
    table = source.table
    label = source.label
    url = os.environ.get(var, "")
    if not url.strip():
        raise ParamsError(
            f"the environment variable {var} is not set; data.{table}.url_env names it as the "
            "database URL",
            file=label,
            table=table,
            fix=f"export {var}=postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME before running "
            "(keep the URL out of the params file)",
        )
    _check_url_shape(var, url, source)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError) as exc:
        lines = str(exc).strip().splitlines()
        raise ParamsError(
            f"${var} does not hold a usable SQLAlchemy database URL ({masked_url(url)}): "
            f"{mask_url(lines[0] if lines else type(exc).__name__, url)}",
            file=label,
            table=table,
            fix=f"set {var} to a URL like postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME or "
            "sqlite:///path/to/file.db (the port a number, special characters of the password "
            "percent-encoded); for PostgreSQL install the extra: pip install leadnb[postgres]",
        ) from None
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(source.sql, conn)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError, ValueError, ImportError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, sa.exc.SQLAlchemyError) else exc
        detail = str(getattr(cause, "orig", None) or cause).strip().splitlines()
        reason = mask_url(" ".join(detail[:3]), url)
        raise DataError(
            f"the SQL query for the {table} table failed: {reason}",
            file=label,
            table=table,
            fix=f"check data.{table}.sql, and that ${var} points at the right database "
            f"({masked_url(url)})",
        ) from None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# Canonical form


def _is_text(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.StringDtype):
        return True
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def clean_text(s: pd.Series, placeholders: Iterable[str] = (), *, strip: bool = True) -> pd.Series:
    """Strip spaces; blank cells, :data:`MISSING_TOKENS` and ``placeholders`` become missing.

    ``strip=False`` skips stripping (typed sources such as Parquet, where it costs time for
    nothing); blank and placeholder values still become missing.
    """
    stripped = s.astype("str")
    if strip and _may_need_strip(stripped):
        stripped = stripped.str.strip()
    missing = set(MISSING_TOKENS) | {str(p).strip() for p in placeholders}
    hit = _isin_short(stripped, list(missing))
    if not hit.any():
        return stripped  # no copy when nothing is missing
    if _arrow_text(stripped):
        return _null_where(stripped, hit.to_numpy())
    return stripped.mask(hit)


def _may_need_strip(s: pd.Series) -> bool:
    """Whether stripping could change a value of ``s``: for Arrow-backed text, whether some value
    starts or ends with a byte that is not printable ASCII (a space, a control character, or part
    of a non-ASCII character, which may be Unicode white space); any other series: True."""
    if not _arrow_text(s):
        return True
    for chunk in s.array.__arrow_array__().chunks:
        if len(chunk) == 0:
            continue
        offsets, data = _offsets(chunk)
        lo, hi = int(offsets[0]), int(offsets[-1])
        if hi == lo:
            continue  # only empty cells
        # Cells are contiguous in [lo, hi): an offset below hi is where the next non-empty cell
        # starts, one above lo where the previous one ends, so clipping each offset into the
        # range reads exactly the first and last bytes of the non-empty cells, without a mask.
        heads = data[np.minimum(offsets[:-1], hi - 1)]
        tails = data[np.maximum(offsets[1:], lo + 1) - 1]
        for edge in (heads, tails):
            # printable ASCII is 0x21..0x7E: below it, or from 0x7F on, wraps to >= 0x5E
            if ((edge - np.uint8(0x21)) >= np.uint8(0x5E)).any():
                return True
    return False


def _isin_short(s: pd.Series, values: list[str]) -> pd.Series:
    """``s.isin(values)``, looked up only for the cells that could be one of ``values``.

    For Arrow-backed text, each chunk's offsets and bytes are read with NumPy: a present cell
    can equal a value only when it is no longer (in UTF-8 bytes) than the longest of ``values``
    and, when not empty, starts with the first byte of one of them. Arrow's hash lookup then
    runs on those few cells alone: in an ID, event-type or free-text column of millions of rows
    that is none or a handful. Temporaries are one chunk long, not one column long.
    """
    arr = s.array.__arrow_array__() if _arrow_text(s) else None
    if len(s) == 0 or arr is None or not values:
        return s.isin(values)
    encoded = [v.encode("utf-8") for v in values]
    longest = max(len(v) for v in encoded)
    first_bytes = np.zeros(256, dtype=bool)
    first_bytes[[v[0] for v in encoded if v]] = True
    value_set = pa.array(values, pa.large_string())
    hit = np.zeros(len(s), dtype=bool)
    start = 0
    for chunk in arr.chunks:
        near = _could_be_token(chunk, longest, first_bytes, b"" in encoded)
        if len(near):
            found = pc.is_in(chunk.take(pa.array(near)), value_set=value_set)
            hit[start + near[found.to_numpy(zero_copy_only=False)]] = True
        start += len(chunk)
    return pd.Series(hit, index=s.index, name=s.name, copy=False)


def _arrow_text(s: pd.Series) -> bool:
    """Whether ``s`` is text held by Arrow as ``string`` or ``large_string`` chunks."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return False
    return s.array.__arrow_array__().type in (pa.string(), pa.large_string())


def _offsets(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)`` of a ``string``/``large_string`` chunk as NumPy views (no copy):
    cell ``i`` is ``data[offsets[i]:offsets[i + 1]]``."""
    _, offsets_buf, data_buf = chunk.buffers()
    offset_type = np.int64 if chunk.type == pa.large_string() else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    return offsets, data


def _valid(chunk: pa.Array, positions: np.ndarray) -> np.ndarray:
    """Whether the cells of ``chunk`` at ``positions`` are present (read from its validity bits)."""
    validity = chunk.buffers()[0]
    if chunk.null_count == 0 or validity is None:
        return np.ones(len(positions), dtype=bool)
    bits = np.frombuffer(validity, dtype=np.uint8)
    at = positions + chunk.offset
    return ((bits[at >> 3] >> (at & 7)) & 1).astype(bool)


def _could_be_token(
    chunk: pa.Array, longest: int, first_bytes: np.ndarray, empty: bool
) -> np.ndarray:
    """Positions in ``chunk`` of the present cells that could equal a token: at most
    ``longest`` bytes and, when not empty, starting with a byte marked in ``first_bytes``
    (empty cells count when ``empty``)."""
    if len(chunk) == 0:
        return np.zeros(0, dtype=np.int64)
    offsets, data = _offsets(chunk)
    lengths = np.diff(offsets)
    near = np.flatnonzero(lengths <= longest)
    if len(near) == 0:
        return near
    near = near[_valid(chunk, near)]
    filled = lengths[near] > 0
    keep = np.full(len(near), empty)
    keep[filled] = first_bytes[data[offsets[near[filled]]]]
    return near[keep]


def _null_where(s: pd.Series, hit: np.ndarray) -> pd.Series:
    """``s.mask(hit)`` for Arrow-backed text without copying the text: each chunk with a hit
    gets a new validity bitmap over its own offsets and bytes."""
    arr = s.array.__arrow_array__()
    chunks = []
    start = 0
    for chunk in arr.chunks:
        n = len(chunk)
        here = hit[start : start + n]
        start += n
        if not here.any():
            chunks.append(chunk)
            continue
        keep = np.zeros(chunk.offset + n, dtype=bool)
        keep[chunk.offset :] = ~here
        if chunk.null_count:
            keep[chunk.offset :] &= chunk.is_valid().to_numpy(zero_copy_only=False)
        bits = pa.py_buffer(np.packbits(keep, bitorder="little"))
        _, offsets_buf, data_buf = chunk.buffers()
        chunks.append(
            pa.Array.from_buffers(chunk.type, n, [bits, offsets_buf, data_buf], offset=chunk.offset)
        )
    out = pa.chunked_array(chunks, type=arr.type)
    return pd.Series(out, index=s.index, name=s.name, dtype=s.dtype, copy=False)


def to_id(s: pd.Series) -> pd.Series:
    """IDs as strings: integral numbers lose their ``.0`` (also when written ``123.0`` as text)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("str")
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = vals[~np.isnan(vals)]
        if np.all(np.mod(finite, 1) == 0):
            return s.astype("Int64").astype("str")
        return s.astype("str")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("str")
    out = s.astype("str")
    first = out.first_valid_index()
    pattern = r"[+-]?\d+\.0+"
    if (
        first is not None
        and re.fullmatch(pattern, out[first])
        and out.dropna().str.fullmatch(pattern).all()
    ):
        out = out.str.replace(r"\.0+$", "", regex=True)
    return out


def date_fix(source: TableSource | None, sample: Iterable[Any]) -> str:
    """The fix for unreadable dates: a ``date_format`` guessed from a few bad values."""
    table = source.table if source is not None else "<table>"
    values = [str(v) for v in sample]
    guess = None
    matches = [
        m
        for v in values
        if (m := re.fullmatch(r"\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{2,4})(.*)", v)) is not None
    ]
    if matches:
        m = matches[0]
        sepc = m.group(2)
        year = "%Y" if len(m.group(4)) == 4 else "%y"
        time = " %H:%M" if m.group(5).strip() else ""
        # month first only when some second number cannot be a month and no first one
        month_first = any(int(x.group(3)) > 12 for x in matches) and not any(
            int(x.group(1)) > 12 for x in matches
        )
        order = ("%m", "%d") if month_first else ("%d", "%m")
        guess = f"{order[0]}{sepc}{order[1]}{sepc}{year}{time}"
    if values and all(re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}([ T].*)?", v) for v in values):
        return (
            "those are written like ISO dates but are not real calendar dates or times "
            "(e.g. 2025-02-30): correct them in the source"
        )
    base = f"set data.{table}.date_format to the format the file uses"
    if guess:
        return f'{base}, e.g. date_format: "{guess}" (or dayfirst: true); or fix those cells'
    return f'{base} (e.g. "%d/%m/%Y"), or fix those cells; the default is ISO 8601 (2026-06-30)'


def _iso_datetimes_arrow(s: pd.Series) -> pd.Series | None:
    """Arrow-backed text parsed by Arrow's ISO 8601 cast into ``datetime64[us]``, or ``None``
    when any value is outside that cast's grammar (a zone suffix, ``2025-1-5``, ``2025-02-30``...).

    Arrow reads a subset of what ``pd.to_datetime(format="ISO8601")`` reads (``YYYY-MM-DD``, then
    ``[ T]hh[:mm[:ss[.ffffff]]]``), into the same values, ten times faster; for anything else,
    and to find the unreadable values, :func:`parse_datetimes` goes on with pandas.
    """
    if len(s) == 0 or not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return None
    try:
        ts = pc.cast(s.array.__arrow_array__(), pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(ts.to_numpy(), index=s.index, name=s.name, copy=False)


def parse_datetimes(
    s: pd.Series, *, date_format: str | None = None, dayfirst: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Parse ``s`` into naive ``datetime64[us]``; return ``(parsed, bad)``.

    ``bad`` is True where a value is present but cannot be read as a date with ``date_format``
    (default ISO 8601; with ``dayfirst`` and no format, the format is inferred day-first).
    Aware values are converted to UTC before the zone is dropped.
    """
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]"), pd.Series(
            False, index=s.index
        )
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.astype("datetime64[us]"), pd.Series(False, index=s.index)
    present = s.notna()
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]"), present
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("datetime", "date"):
        vals = pd.to_datetime(s, errors="coerce", utc=True)
    else:
        fmt = date_format if date_format else (None if dayfirst else "ISO8601")
        fast = _iso_datetimes_arrow(s) if fmt == "ISO8601" else None
        if fast is not None:
            return fast, present & fast.isna()
        with _QUIET, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format" noise
            vals = pd.to_datetime(s, format=fmt, dayfirst=dayfirst, errors="coerce", utc=True)
    parsed = vals.dt.tz_localize(None).astype("datetime64[us]")
    return parsed, present & parsed.isna()


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse ``s`` into ``float64``; return ``(parsed, bad)`` (present but not a number)."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64"), pd.Series(False, index=s.index)
    present = s.notna()
    fast = _numbers_arrow(s)
    if fast is not None:
        return fast, present & fast.isna()
    text = s.astype("str").str.strip() if _is_text(s) else s
    parsed = pd.to_numeric(text, errors="coerce").astype("float64")
    return parsed, present & parsed.isna()


def _numbers_arrow(s: pd.Series) -> pd.Series | None:
    """Arrow-backed text cast by Arrow into ``float64``, or ``None`` when any value is outside
    that cast (spaces, ``1,5``, ``€12``...) or reads as NaN or as a negative zero (pandas reads
    ``-0`` as 0.0 but ``-0.0`` as -0.0): :func:`parse_numbers` then goes on with pandas.

    Both round decimal text to the nearest double, so the values are the same.
    """
    if len(s) == 0 or not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return None
    try:
        parsed = pc.cast(s.array.__arrow_array__(), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = parsed.to_numpy()  # missing cells: NaN
    if pc.any(pc.is_nan(parsed)).as_py() or bool((np.signbit(values) & (values == 0)).any()):
        return None
    return pd.Series(values, index=s.index, name=s.name, copy=False)


def _bad_rows(
    df: pd.DataFrame, column: str, raw: pd.Series, bad: pd.Series, source: TableSource | None
) -> pd.DataFrame:
    cols = {}
    if "lead_id" in df.columns and column != "lead_id":
        cols["lead_id"] = df.loc[bad, "lead_id"]
    cols[column] = raw[bad]
    rows = pd.DataFrame(cols)
    rows.index = row_labels(source, rows.index)
    return rows


def canonicalize(
    df: pd.DataFrame,
    source: TableSource,
    *,
    funnel_aliases: Mapping[str, str] | None = None,
    funnel_stages: Iterable[str] | None = None,
    report: Report | None = None,
    _found: _Found | None = None,
) -> pd.DataFrame:
    """Apply ``source``'s column map and placeholders and convert columns to their kinds.

    Works on a raw frame from any reader (or one you built yourself). Problems are raised or put
    in ``report`` exactly as :func:`load_table` does.
    """
    found = _found if _found is not None else _Found(source)
    table = source.table
    schema = TABLE_SCHEMAS[table]
    df = df.set_axis([str(c).strip() for c in df.columns], axis=1)  # a new frame, data shared
    # text from files people edit (CSV, Excel) and from SQL is stripped; Parquet is left as is
    strip = source.path is None or source.path.suffix.lower() not in PARQUET_SUFFIXES
    mapping = {str(k).strip(): v for k, v in source.columns.items()}
    unmatched = [k for k in mapping if k not in df.columns]
    for k in unmatched:
        close = difflib.get_close_matches(k, list(df.columns), n=1, cutoff=0.6)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        found.add(
            f'data.{table}.columns maps "{k}" -> {mapping[k]}, but the table has no column "{k}"'
            f"{hint}; its columns are: {', '.join(map(str, df.columns))}",
            column=mapping[k],
            fix=f"write the source column name exactly as in the file's header in data.{table}.columns",
        )
    df = df.rename(columns={k: v for k, v in mapping.items() if k in df.columns})
    origin = {v: f' (source column "{k}")' for k, v in mapping.items() if k != v}
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        found.add(
            f"after applying data.{table}.columns the table has the column(s) {', '.join(dup)} "
            "more than once; the first is used",
            column=dup[0],
            fix=f"map only one source column onto each canonical name in data.{table}.columns",
        )
        df = df.loc[:, ~df.columns.duplicated()]
    placeholders = source.placeholders
    out: dict[str, pd.Series] = {}
    unreadable: dict[str, np.ndarray] = {}
    missing = list(set(MISSING_TOKENS) | {str(p).strip() for p in placeholders})
    as_codes = DICTIONARY_COLUMNS.get(table, ())
    for col in df.columns:
        s = df[col]
        kind = schema.kind(col)
        if col in as_codes and kind in ("id", "str"):
            # cleaned as any text column is, the distinct values only when read as categories
            out[col] = _dictionary_text(s, kind, placeholders, strip)
            continue
        text = _is_text(s)
        if text:
            s = clean_text(s, placeholders, strip=strip)
        elif s.dtype == object:  # mixed cells (Excel: numbers and text): placeholders still count
            s = s.mask(s.isin(missing))
        if kind == "id" or kind == "str":
            if not text:  # numbers as text without ".0", then the same cleaning as text
                s = clean_text(to_id(s), placeholders, strip=strip)
            elif kind == "id":
                s = to_id(s)
            else:
                s = s.astype("str")
        elif kind == "date":
            parsed, bad = parse_datetimes(
                s, date_format=source.date_format, dayfirst=source.dayfirst
            )
            if bad.any():
                found.add(
                    f"{int(bad.sum())} value(s) in {col}{origin.get(col, '')} are not dates in "
                    f"the expected format "
                    f"({source.date_format or ('day-first' if source.dayfirst else 'ISO 8601')})",
                    column=col,
                    rows=_bad_rows(df, col, s, bad, source),
                    count=int(bad.sum()),
                    fix=date_fix(source, s[bad].head(50)),
                )
            s = parsed
            if bad.any():
                unreadable[col] = np.flatnonzero(bad.to_numpy())
        elif kind == "number":
            parsed, bad = parse_numbers(s)
            if bad.any():
                found.add(
                    f"{int(bad.sum())} value(s) in {col}{origin.get(col, '')} are not numbers",
                    column=col,
                    rows=_bad_rows(df, col, s, bad, source),
                    count=int(bad.sum()),
                    fix=f"write plain numbers in {col} (no currency symbols, units or thousands "
                    "separators; '.' as decimal point)",
                )
            s = parsed
            if bad.any():
                unreadable[col] = np.flatnonzero(bad.to_numpy())
        out[col] = s
    # copy=False: columns kept as read share their buffers (copy-on-write keeps that safe)
    result = pd.DataFrame(out, index=pd.RangeIndex(len(df)), copy=False)
    if unreadable:
        # row positions already reported as unreadable: validation does not report them twice
        result.attrs[UNREADABLE_ATTR] = unreadable
    if table == "stages" and "stage" in result.columns:
        result["stage"] = map_stages(
            result["stage"], {**dict(funnel_aliases or {}), **source.stage_map}, funnel_stages
        )
    if _found is None:
        _emit(found, report)
    return result


def _text_kind(s: pd.Series, kind: str, placeholders: Iterable[str], strip: bool) -> pd.Series:
    """An ``id`` or ``str`` column's canonical text: cleaned (:func:`clean_text`), IDs without a
    numeric ``.0`` (:func:`to_id`), non-text cells as text."""
    if not _is_text(s):
        return clean_text(to_id(s), placeholders, strip=strip)
    s = clean_text(s, placeholders, strip=strip)
    return to_id(s) if kind == "id" else s.astype("str")


def _dictionary_text(
    s: pd.Series, kind: str, placeholders: Iterable[str], strip: bool
) -> pd.Series:
    """A :data:`DICTIONARY_COLUMNS` column: its canonical text (:func:`_text_kind`) as a
    categorical with sorted categories. A categorical (a Parquet file's dictionary column) has
    only its categories cleaned; categories that become missing or equal are mapped through
    their codes."""
    from leadnb.arrays import as_categorical

    if not isinstance(s.dtype, pd.CategoricalDtype):
        return as_categorical(_text_kind(s, kind, placeholders, strip))
    cats = pd.Series(s.cat.categories)
    cleaned = _text_kind(cats, kind, placeholders, strip)
    if cleaned.isna().any() or not cleaned.is_unique or not cleaned.equals(cats.astype("str")):
        lookup = as_categorical(cleaned)  # old category -> new code (-1 when missing)
        codes = np.append(lookup.cat.codes.to_numpy().astype("int64"), -1)[s.cat.codes.to_numpy()]
        s = pd.Series(
            pd.Categorical.from_codes(codes, dtype=lookup.dtype), index=s.index, name=s.name
        )
    return as_categorical(s)


def map_stages(
    stage: pd.Series, aliases: Mapping[str, str], funnel_stages: Iterable[str] | None = None
) -> pd.Series:
    """Map stage names through ``aliases`` (case and surrounding spaces ignored); names equal to
    a funnel stage apart from case become that stage; anything else is kept as written."""
    lookup = {str(s).strip().casefold(): str(s) for s in (funnel_stages or ())}
    lookup.update({str(k).strip().casefold(): str(v) for k, v in aliases.items()})
    if not lookup:
        return stage
    # a stage column holds a handful of names: map each distinct one, then spread by position
    codes, names = pd.factorize(stage)
    uniq = pd.Series(names)
    mapped = uniq.str.strip().str.casefold().map(lookup).fillna(uniq).astype("str")
    return pd.Series(mapped.array.take(codes, allow_fill=True), index=stage.index, name=stage.name)


def _emit(found: _Found, report: Report | None) -> None:
    """Hand the issues found to ``report``, or raise errors and warn about warnings."""
    if report is not None:
        report.issues.extend(found.issues)
        return
    for issue in found.issues:
        if issue.level == "warning":
            warnings.warn(issue.render(), LeadnbWarning, stacklevel=3)
    errors = [i for i in found.issues if i.level == "error"]
    if errors:
        raise DataError(issues=errors)


__all__ = [
    "MISSING_TOKENS",
    "TABLE_SCHEMAS",
    "LeadnbWarning",
    "TableSchema",
    "canonicalize",
    "clean_text",
    "date_fix",
    "funnel_names",
    "load_table",
    "load_tables",
    "map_stages",
    "mask_url",
    "masked_url",
    "split_url",
    "url_secrets",
    "parse_datetimes",
    "parse_numbers",
    "row_labels",
    "to_id",
]
