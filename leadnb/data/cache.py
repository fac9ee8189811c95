"""One load per run: the tables a run validated once, handed to its notebooks.

``leadnb run`` loads and validates every configured table once
(:func:`leadnb.data.validation.validate_params_file`, in :func:`leadnb.run.plan.plan_run`). The
runner then writes the cleaned tables into the run's temporary folder, ``<run>/.tables/``, as
Arrow IPC files (uncompressed; per table one file of one record batch, and, when the table's
text came in pieces, a second file for those columns: see :func:`_parts`), beside ``key.json``: the params file, the
analysis date, each input's fingerprint and the tables' own data notes. Each notebook's
:func:`leadnb.report.notebook.start` memory-maps the tables it needs from there instead of
parsing and validating the exports again; the folder is removed before the run is published.

A notebook opened by an analyst in JupyterLab has no such folder and loads on its own from the
params file. A key that does not match (another params file, another analysis date, an input
file changed since the run read it) is never used: :func:`read_tables` returns ``None`` and the
notebook loads from the sources.

Arrow keeps every canonical dtype exactly (pandas' string dtype, ``datetime64[us]``, nullable
integers, categories): :func:`read_tables` returns frames equal to the ones written, dtypes
included (tested). The events table's text columns
(:data:`~leadnb.data.loading.DICTIONARY_COLUMNS`: ``lead_id``, ``event_type``, ``value``) are
categoricals from the loader on (sorted categories) and are stored as Arrow dictionaries: at a
million leads 20 million cells of a million, a dozen and a few hundred distinct values, 700 MB
as text in every process that maps them, 60 MB as codes; the scoring engine matches them to its
rules by category and the lead ids to the leads by their million categories, not the twenty
million rows. A frame given to :func:`write_tables` with those columns as text (one not made by
the loader) has them encoded here, so every notebook reads the same dtypes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from leadnb.arrays import dictionary_categorical, dictionary_column
from leadnb.data.loading import DICTIONARY_COLUMNS
from leadnb.errors import Issue

FOLDER = ".tables"
"""The folder of a run's tables, inside the run's temporary folder (never published)."""
KEY_FILE = "key.json"
QUALITY_FILE = "stage_quality.arrow"  # the stage history's checks (read_stage_quality)
VERSION = 4  # 2: DICTIONARY_COLUMNS stored as dictionaries; 3: one-chunk columns apart;
# 4: events.lead_id a dictionary too

__all__ = [
    "DICTIONARY_COLUMNS",
    "FOLDER",
    "cache_key",
    "dictionary_column",
    "folder_for",
    "read_rule_issues",
    "read_tables",
    "rules_fingerprint",
    "funnel_fingerprint",
    "read_stage_quality",
    "write_tables",
]


def _stat(path: str | os.PathLike[str]) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [int(st.st_size), int(st.st_mtime_ns)]


def cache_key(
    params_path: str | Path, as_of: str, sources: Iterable[str | os.PathLike[str] | None]
) -> dict[str, Any]:
    """What the cached tables were made from: the params file (path and size/mtime), the
    analysis date, and the size and modification time of every input file (``None`` entries,
    SQL sources, are skipped: the run queried them once and its notebooks use that answer).

    >>> cache_key("no/such/params.yaml", "2026-06-30", [None])["as_of"]
    '2026-06-30'
    """
    params = Path(params_path).resolve()
    files = sorted({str(Path(s).resolve()) for s in sources if s})
    return {
        "version": VERSION,
        "params": [str(params), _stat(params)],
        "as_of": str(as_of)[:10],
        "files": [[f, _stat(f)] for f in files],
    }


def folder_for(out_dir: str | Path) -> Path:
    """The tables folder a notebook writing into ``out_dir`` (``<run>/<notebook>``) reads."""
    return Path(out_dir).resolve().parent / FOLDER


def _jsonable_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, bool | int | str) or (isinstance(v, float) and math.isfinite(v)):
            out[str(k)] = v
    return out


def _issue_record(issue: Issue) -> dict[str, Any]:
    rows = issue.rows
    if isinstance(rows, pd.DataFrame):
        rows = {
            "index": [str(i) for i in rows.index],
            "columns": [str(c) for c in rows.columns],
            "data": [[None if pd.isna(v) else str(v) for v in r] for r in rows.itertuples(False)],
        }
    elif rows is not None:
        rows = str(rows)
    return {
        "message": issue.message,
        "level": issue.level,
        "file": issue.file,
        "table": issue.table,
        "column": issue.column,
        "rows": rows,
        "count": issue.count,
        "fix": issue.fix,
    }


def _nan_as_values(df: pd.DataFrame, table: pa.Table) -> pa.Table:
    """``table`` with ``df``'s NumPy float columns stored as they are, NaN as a value, not as a
    null (Arrow's default from pandas): read back, a column without nulls is a view of the
    file; with nulls pandas must copy it to put the NaN back."""
    for i, col in enumerate(table.column_names):
        if col in df.columns and isinstance(df[col].dtype, np.dtype) and df[col].dtype.kind == "f":
            if table.column(i).null_count:
                table = table.set_column(i, col, pa.array(df[col].to_numpy(), from_pandas=False))
    return table


def _parts(table: pa.Table) -> dict[str, list[str]]:
    """The table's columns by file: one-chunk columns in ``<name>.arrow`` (one record batch, so
    each is read back as one piece: a view of the mapped file), the others (text read in pieces
    from Parquet row groups, zero-copy in pandas either way) in ``<name>.chunked.arrow``.

    Written in one file, the text's pieces would cut every column into as many record
    batches, and pandas would concatenate each fixed-width column into a copy when reading it
    (at 20 million events, the timestamps and durations: 330 MB more in every notebook that
    maps them, beside the file pages the copy read); combining the text into one piece instead
    costs the runner a copy of it."""
    whole = [c for c in table.column_names if table.column(c).num_chunks <= 1]
    pieces = [c for c in table.column_names if table.column(c).num_chunks > 1]
    parts = {"": whole, ".chunked": pieces} if whole else {"": pieces}
    return {k: v for k, v in parts.items() if v or k == ""}


def _joined(parts: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """The parts of one table side by side, in its column order, on the index the part that
    stored it restored (the others have a default one); no column is copied."""
    index = next((p.index for p in parts if not isinstance(p.index, pd.RangeIndex)), None)
    if index is not None:
        parts = [p if p.index is index else p.set_axis(index, axis=0) for p in parts]
    return pd.concat(parts, axis=1)[list(columns)]


def _frame(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas(split_blocks=True)``, its text dictionary columns made categoricals
    here: pyarrow converts a dictionary's values and checks them again for every column (0.5 s
    for the events' 900,000 lead ids at a million leads, in every notebook), while pandas takes
    the mapped values as they are and checks them once (0.1 s). The same frame, dtypes
    included (tested); a column this does not know how to take is left to pyarrow."""
    mine = [f.name for f in table.schema if _plain_text_dictionary(table.column(f.name))]
    if not mine:
        return table.to_pandas(split_blocks=True)
    df = table.drop_columns(mine).to_pandas(split_blocks=True)
    # built from the columns, not by DataFrame.insert: insert copies what it is given (the
    # events' 20 million codes of each text column, read from the mapped file: 80 MB of fresh
    # memory and 0.1-0.3 s per notebook), the constructor with copy=False keeps them mapped
    columns = {
        name: (
            pd.Series(
                dictionary_categorical(table.column(name).chunk(0)),
                index=df.index,
                name=name,
                copy=False,
            )
            if name in mine
            else df[name]
        )
        for name in table.column_names
        if name in mine or name in df.columns  # a stored index is df's index already
    }
    return pd.DataFrame(columns, index=df.index, copy=False)


def _plain_text_dictionary(column: pa.ChunkedArray) -> bool:
    """A one-chunk, unordered dictionary column of text with at least one value (what
    :func:`write_tables` stores for :data:`DICTIONARY_COLUMNS`)."""
    kind = column.type
    return (
        pa.types.is_dictionary(kind)
        and not kind.ordered
        and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type))
        and column.num_chunks == 1
        and len(column.chunk(0).dictionary) > 0
    )


def _encoded(name: str, table: pa.Table) -> pa.Table:
    """``table`` with its :data:`DICTIONARY_COLUMNS` dictionary-encoded, the columns at once in
    threads (Arrow's kernels release the GIL: at 20 million events the two columns take about
    half a second each)."""
    cols = [
        c
        for c in DICTIONARY_COLUMNS.get(name, ())
        if c in table.column_names
        and (
            pa.types.is_string(table.schema.field(c).type)
            or pa.types.is_large_string(table.schema.field(c).type)
        )
    ]
    if len(cols) > 1 and table.num_rows >= 1_000_000:
        with ThreadPoolExecutor(max_workers=len(cols)) as pool:
            encoded = list(pool.map(dictionary_column, [table.column(c) for c in cols]))
    else:
        encoded = [dictionary_column(table.column(c)) for c in cols]
    for col, enc in zip(cols, encoded, strict=True):
        table = table.set_column(table.schema.get_field_index(col), col, enc)
    return table


def _issue(rec: Mapping[str, Any]) -> Issue:
    rows = rec.get("rows")
    if isinstance(rows, dict):
        rows = pd.DataFrame(rows["data"], index=rows["index"], columns=rows["columns"])
    return Issue(
        rec["message"],
        level=rec.get("level", "warning"),
        file=rec.get("file"),
        table=rec.get("table"),
        column=rec.get("column"),
        rows=rows,
        count=rec.get("count"),
        fix=rec.get("fix"),
    )


def write_tables(
    folder: str | Path,
    tables: Mapping[str, pd.DataFrame],
    key: Mapping[str, Any],
    issues: Sequence[Issue] = (),
    *,
    rules: tuple[str, Sequence[Issue]] | None = None,
    quality: tuple[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``tables`` (cleaned, canonical) to ``folder`` as Arrow IPC files, with ``key`` and
    the tables' own data notes (``issues``, warnings only) in ``key.json``.

    Parameters
    ----------
    folder
        Created if needed; ``<run tmp>/.tables`` (:data:`FOLDER`).
    tables
        Table name -> frame, as :func:`leadnb.data.validation.clean_tables` returns them.
    key
        :func:`cache_key` of the inputs they came from.
    issues
        :attr:`leadnb.errors.Report.table_issues`; only warnings are kept (a run with errors
        never gets this far).
    rules
        ``(rules_fingerprint(config), issues)``: what the scoring rules' check found on these
        tables (:attr:`leadnb.errors.Report.rule_issues`), for :func:`read_rule_issues`.
    quality
        ``(funnel_fingerprint(config), frame)``: the stage history's checks on these tables
        (:attr:`leadnb.errors.Report.stage_quality`), for :func:`read_stage_quality`.

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Any] = {}
    for name, df in tables.items():
        table = _encoded(name, _nan_as_values(df, pa.Table.from_pandas(df, preserve_index=None)))
        files = []
        for part, cols in _parts(table).items():
            path = folder / f"{name}{part}.arrow"
            piece = table.select(cols)
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, piece.schema) as out:
                out.write_table(piece)
            files.append(path.name)
        written[name] = {
            "rows": int(len(df)),
            "attrs": _jsonable_attrs(df.attrs),
            "columns": [str(c) for c in df.columns],
            "files": files,
        }
    meta = {
        "key": dict(key),
        "tables": written,
        "issues": [_issue_record(i) for i in issues if i.level == "warning"],
    }
    if rules is not None:
        meta["rules"] = {"fingerprint": rules[0], "issues": [_issue_record(i) for i in rules[1]]}
    if quality is not None:
        table = pa.Table.from_pandas(quality[1], preserve_index=False)
        path = folder / QUALITY_FILE
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table)
        meta["stage_quality"] = {"fingerprint": quality[0], "file": QUALITY_FILE}
    # key.json last: a folder without it (a write cut short) is never read
    (folder / KEY_FILE).write_text(json.dumps(meta, default=str), encoding="utf-8")
    return folder


def _meta(folder: str | Path, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """``folder``'s ``key.json`` when it was written for ``key``, else ``None``."""
    try:
        meta = json.loads((Path(folder) / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != json.loads(json.dumps(dict(key))):
        return None
    return meta


def rules_fingerprint(config: Any) -> str:
    """What the scoring rules' check depends on besides the tables: the parsed rules and the
    file they came from (a digest of their text form)."""
    text = repr((config.file, config.rules))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def funnel_fingerprint(config: Any) -> str:
    """What the stage history's checks depend on besides the tables: the funnel section (a
    digest of its text form)."""
    return hashlib.sha256(repr(config).encode("utf-8")).hexdigest()


def read_stage_quality(
    folder: str | Path, key: Mapping[str, Any], config: Any
) -> pd.DataFrame | None:
    """:func:`leadnb.funnel.stages.stage_quality` as the run's checks computed it on the
    tables in ``folder`` with the funnel ``config``, or ``None`` (other inputs or funnel, or
    not computed). The checks read every lead and stage row, so only a notebook that uses
    the tables as they are (not a subset of the leads) may take it."""
    meta = _meta(folder, key)
    found = None if meta is None else meta.get("stage_quality")
    if not isinstance(found, dict) or found.get("fingerprint") != funnel_fingerprint(config):
        return None
    try:
        with pa.memory_map(str(Path(folder) / found["file"]), "r") as source:
            return pa.ipc.open_file(source).read_all().to_pandas()
    except (OSError, KeyError, pa.ArrowInvalid):
        return None


def read_rule_issues(folder: str | Path, key: Mapping[str, Any], config: Any) -> list[Issue] | None:
    """What :func:`leadnb.scoring.rules.validate_rules` found when the run checked ``config``'s
    rules on the tables in ``folder``, or ``None`` (other inputs or rules, or not checked).

    The check reads only the leads' column names and the events, so a notebook that keeps
    fewer leads rows (those created by the analysis date) gets the same answer.
    """
    meta = _meta(folder, key)
    rules = None if meta is None else meta.get("rules")
    if not isinstance(rules, dict) or rules.get("fingerprint") != rules_fingerprint(config):
        return None
    return [_issue(r) for r in rules.get("issues", [])]


def read_tables(
    folder: str | Path, names: Sequence[str], key: Mapping[str, Any]
) -> tuple[dict[str, pd.DataFrame], list[Issue]] | None:
    """The cached tables among ``names`` and the data notes of those tables, or ``None`` when
    ``folder`` holds no tables, they were made from other inputs than ``key`` says, or one of
    ``names`` is missing from it.

    Parameters
    ----------
    folder
        :func:`folder_for` the notebook's output folder.
    names
        The tables the notebook needs (configured ones only).
    key
        :func:`cache_key` of the inputs the notebook would load.

    Returns
    -------
    tuple or None
        ``(tables, issues)``: each frame memory-mapped from its Arrow file and converted to
        pandas (equal to the one written, dtypes included but for :data:`DICTIONARY_COLUMNS`,
        which are categoricals, its ``attrs`` restored), and the
        warnings whose table is among ``names``, in the order validation found them.
    """
    folder = Path(folder)
    meta = _meta(folder, key)
    if meta is None:
        return None
    stored = meta.get("tables", {})
    if any(n not in stored for n in names):
        return None
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        parts = []
        for file in stored[name]["files"]:
            source = pa.memory_map(str(folder / file), "r")
            # split_blocks: each column its own block, so a one-chunk column without nulls
            # (timestamps, floats kept with their NaN values) is a view of the mapped file
            parts.append(_frame(pa.ipc.open_file(source).read_all()))
        df = parts[0] if len(parts) == 1 else _joined(parts, stored[name]["columns"])
        df.attrs.update(stored[name].get("attrs", {}))
        out[name] = df
    wanted = set(names)
    issues = [_issue(r) for r in meta.get("issues", []) if r.get("table") in wanted]
    return out, issues
