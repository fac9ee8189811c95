"""The cumulative experiment log: one CSV kept across runs, so past tests and decisions stay visible.

Design. Every published run adds its readouts to one log next to the run folders (one row per
experiment, analysis date, registration fingerprint and variant; :data:`LOG_KEY`). Re-running a
date replaces its rows (:func:`merged_log`), a registration edited after the start gets rows of
its own, and concurrent runs never lose a row (:func:`append_log` locks, writes a temporary file
and moves it over the log). The notebook never writes the log itself: it saves its own rows
(:func:`log_table`) as ``experiment_log_rows.csv`` and the runner appends them when it publishes
the run, so a run that is never published writes no row.

Each column's kind is declared once (:data:`LOG_SCHEMA`, :class:`~leadnb.results.Kind`); the
column list, the text columns and the dtypes read back all follow from it.

The log is a CSV for people: text cells a spreadsheet would read as a formula get a leading
``'`` (:func:`leadnb.safe.neutralise_csv_cells`, the one rule). To read the file back
exactly, a cell that *already* starts with quotes before a formula character gets one more
(:func:`csv_cells`); reading strips one quote before quotes-then-formula-character
(:func:`read_log`), so ``"=x"``, ``"'=x"`` and ``"''=x"`` all come back as written.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadnb.experiments.registration import ExperimentsConfig, registration_fingerprint
from leadnb.results import Column, Kind
from leadnb.safe import FORMULA_PREFIXES, neutralise_csv_cells

if TYPE_CHECKING:
    from leadnb.experiments.readout import Readout

__all__ = [
    "LOG_COLUMNS",
    "LOG_DISPLAY",
    "LOG_KEY",
    "LOG_SCHEMA",
    "append_log",
    "csv_cells",
    "log_path",
    "log_rows",
    "log_table",
    "merged_log",
    "read_log",
    "read_log_rows",
    "run_label",
]

LOG_SCHEMA: dict[str, Kind] = {
    "experiment_id": Kind.TEXT,
    "run": Kind.TEXT,
    "as_of": Kind.DATE,
    "registration": Kind.TEXT,
    "metric": Kind.TEXT,
    "control": Kind.TEXT,
    "variant": Kind.TEXT,
    "n_control": Kind.COUNT,
    "n": Kind.COUNT,
    "rate_control": Kind.RATE,
    "rate": Kind.RATE,
    "diff": Kind.POINTS,
    "diff_ci_low": Kind.POINTS,
    "diff_ci_high": Kind.POINTS,
    "p_value": Kind.P_VALUE,
    "p_adjusted": Kind.P_VALUE,
    "prob_beat_control": Kind.RATE,
    "srm_p_value": Kind.P_VALUE,
    "n_immature": Kind.COUNT,
    "interim": Kind.FLAG,
    "verdict": Kind.TEXT,
    "hypothesis": Kind.TEXT,
    "decision_rule": Kind.TEXT,
}
"""The log's columns, in order, each with its kind: text and dates are read back as text,
counts as nullable integers, flags as nullable booleans, every other number as a float."""
LOG_COLUMNS = list(LOG_SCHEMA)
_LOG_LABELS = {
    "experiment_id": "Experiment",
    "run": "Run",
    "as_of": "Analysis date",
    "registration": "Registration version",
    "metric": "Metric",
    "control": "Control group",
    "variant": "Variant",
    "n_control": "Leads in control",
    "n": "Leads in variant",
    "rate_control": "Control rate",
    "rate": "Variant rate",
    "diff": "Difference",
    "diff_ci_low": "CI low",
    "diff_ci_high": "CI high",
    "p_value": "p-value",
    "p_adjusted": "p-value (adjusted)",
    "prob_beat_control": "Chance variant is better",
    "srm_p_value": "Sample ratio p-value",
    "n_immature": "Leads still in window",
    "interim": "Interim look",
    "verdict": "Verdict",
    "hypothesis": "Hypothesis",
    "decision_rule": "Decision rule",
}
LOG_DISPLAY: dict[str, Column] = {c: Column(_LOG_LABELS[c], k) for c, k in LOG_SCHEMA.items()}
"""How a report shows the log: a label for each of :data:`LOG_COLUMNS`, with the kind
:data:`LOG_SCHEMA` declares (the CSV keeps the machine names)."""
#: One log row per (experiment, analysis date, registration fingerprint) and variant: re-running
#: an analysis date replaces its rows; a changed registration gets rows of its own.
LOG_KEY = ("experiment_id", "as_of", "registration")
LOG_TEXT = tuple(c for c, k in LOG_SCHEMA.items() if k in (Kind.TEXT, Kind.DATE))
LOG_INTS = tuple(c for c, k in LOG_SCHEMA.items() if k is Kind.COUNT)
LOG_BOOLS = tuple(c for c, k in LOG_SCHEMA.items() if k is Kind.FLAG)


def log_path(config: ExperimentsConfig | None, out_dir: str | Path | None) -> Path | None:
    """Where the cumulative log lives: ``config.log`` if set, else ``<OUT>/experiment_log.csv``.

    Parameters
    ----------
    config
        The params file's ``experiments`` section (its ``log``), or None.
    out_dir
        The notebook's folder ``OUT/<run_id>/ab_testing``; the default log sits in ``OUT``,
        next to the run folders, and survives from run to run.

    Returns
    -------
    pathlib.Path or None
        The log file; None when neither is known (an interactive session without an output
        folder: nothing is written).

    Examples
    --------
    >>> log_path(None, "/srv/out/20260630-101010-demo-2026-06-30/ab_testing").as_posix()
    '/srv/out/experiment_log.csv'
    >>> log_path(ExperimentsConfig(), "") is None
    True
    """
    if config is not None and config.log is not None:
        return config.log
    if not out_dir:
        return None
    return Path(out_dir).resolve().parent.parent / "experiment_log.csv"


def run_label(out_dir: str | Path | None) -> str:
    """The run id a readout is logged under: the run folder's name (``OUT/<run_id>/<notebook>``).

    ``leadnb run`` writes into ``OUT/.tmp-<run_id>/`` and renames it when done, so the
    ``.tmp-`` prefix is dropped.

    Parameters
    ----------
    out_dir
        The notebook's output folder, or empty/None in an interactive session.

    Returns
    -------
    str
        The run id, or ``"interactive"`` without an output folder.

    Examples
    --------
    >>> run_label("/srv/out/.tmp-20260630-101010-demo/ab_testing"), run_label("")
    ('20260630-101010-demo', 'interactive')
    """
    if not out_dir:
        return "interactive"
    name = Path(out_dir).resolve().parent.name
    return name.removeprefix(".tmp-")


def _empty_log() -> pd.DataFrame:
    return _coerce_log(pd.DataFrame(index=pd.RangeIndex(0)))


_BOOL_WORDS = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False}


def _to_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    words = s.astype("str").str.strip().str.lower()
    return words.map(_BOOL_WORDS).astype("boolean")


def _coerce_column(name: str, col: pd.Series) -> pd.Series:
    if name in LOG_TEXT:
        return col.astype("str")
    if name in LOG_INTS:
        return pd.to_numeric(col, errors="coerce").round().astype("Int64")
    if name in LOG_BOOLS:
        return _to_bool(col)
    return pd.to_numeric(col, errors="coerce").astype("float64")


def _coerce_log(rows: pd.DataFrame) -> pd.DataFrame:
    """Log rows with every :data:`LOG_COLUMNS` column (first, in order) and one dtype each.

    Text columns (:data:`LOG_TEXT`) are text, counts nullable integers, ``interim`` a nullable
    boolean, every other log column a float. Extra columns are kept after the log's own.
    """
    if _is_coerced(rows):
        return rows.reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    index = rows.index
    cols: dict[str, pd.Series] = {}
    for c in LOG_COLUMNS:
        raw = rows[c] if c in rows.columns else pd.Series(pd.NA, index=index, dtype="object")
        cols[c] = _coerce_column(c, raw)
    for c in rows.columns:
        if c not in cols:
            cols[c] = rows[c]
    return pd.DataFrame(cols, index=index)


_LOG_DTYPES: list[Any] = []


def _is_coerced(df: pd.DataFrame) -> bool:
    """True when ``df`` already has the log's columns first, with the log's dtypes."""
    if not _LOG_DTYPES:
        _LOG_DTYPES.extend(
            _coerce_column(c, pd.Series([], dtype="object")).dtype for c in LOG_COLUMNS
        )
    head = list(df.columns[: len(LOG_COLUMNS)])
    return head == LOG_COLUMNS and list(df.dtypes.iloc[: len(LOG_COLUMNS)]) == _LOG_DTYPES


_QUOTES_THEN_FORMULA = "'+[" + re.escape("".join(FORMULA_PREFIXES)) + "]"
"""A cell starting with one or more quotes, then a formula character: gets (and loses) a quote."""


def _text_columns(df: pd.DataFrame) -> list[str]:
    """The log's text columns and any extra text column (not the log's numeric ones)."""
    numeric = set(LOG_COLUMNS) - set(LOG_TEXT)
    return [
        c
        for c in df.columns
        if c not in numeric and (pd.api.types.is_string_dtype(df[c].dtype) or df[c].dtype == object)
    ]


def _requote(df: pd.DataFrame, change: Any) -> pd.DataFrame:
    """``df`` with ``change`` applied to text cells matching :data:`_QUOTES_THEN_FORMULA`."""
    out = df.copy()
    for c in _text_columns(out):
        col = out[c].astype("str")
        hit = col.str.match(_QUOTES_THEN_FORMULA).fillna(False).astype(bool)
        if hit.any():
            out[c] = col.where(~hit, change(col))
    return out


def csv_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Log rows as they are written to a CSV for people; :func:`read_log` is the exact inverse.

    Text cells a spreadsheet would read as a formula get a leading ``'``
    (:func:`leadnb.safe.neutralise_csv_cells`); a cell that already starts with quotes
    before a formula character gets one more, so reading back can strip exactly one.

    Parameters
    ----------
    df
        Log rows (any columns); numbers are left as they are.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with the same columns, text cells quoted.

    Examples
    --------
    >>> rows = pd.DataFrame({"verdict": ["=1+1", "'=1+1", "'quoted", "ok"], "n": [-1, 2, 3, 4]})
    >>> csv_cells(rows)["verdict"].tolist()
    ["'=1+1", "''=1+1", "'quoted", 'ok']
    >>> _unquote(csv_cells(rows))["verdict"].tolist() == rows["verdict"].tolist()
    True
    """
    return neutralise_csv_cells(_requote(df, lambda col: "'" + col))


def _unquote(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`csv_cells`: one leading ``'`` off cells of quotes then a formula character."""
    return _requote(df, lambda col: col.str.slice(1))


def _read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""])


def read_log(path: str | Path | None) -> pd.DataFrame:
    """The cumulative log as it was written by :func:`append_log`.

    Parameters
    ----------
    path
        The log file (:func:`log_path`); None or a missing file gives an empty log.

    Returns
    -------
    pandas.DataFrame
        experiment_id, run, as_of, registration, metric, control, variant, n_control,
        n, rate_control, rate, diff, diff_ci_low, diff_ci_high, p_value, p_adjusted,
        prob_beat_control, srm_p_value, n_immature, interim, verdict, hypothesis,
        decision_rule (:data:`LOG_COLUMNS`), then any extra column. Text and dates as text, counts as
        nullable integers, ``interim`` as a nullable boolean, other numbers as floats; text
        cells exactly as before the formula quoting (:func:`csv_cells`).

    Examples
    --------
    >>> list(read_log(None).columns) == LOG_COLUMNS
    True
    """
    if path is None or not Path(path).exists():
        return _empty_log()
    return _coerce_log(_unquote(_read_csv_text(Path(path))))


def read_log_rows(csv_path: str | Path) -> pd.DataFrame:
    """A run's own log rows (``ab_testing/experiment_log_rows.csv``) read back for :func:`append_log`.

    The notebook writes that CSV with :func:`csv_cells` (a CSV for people: formula-like text
    quoted); this is the exact inverse.

    Parameters
    ----------
    csv_path
        The run's ``experiment_log_rows.csv`` (or its ``experiment_log.csv``).

    Returns
    -------
    pandas.DataFrame
        The columns and dtypes of :func:`read_log`.
    """
    return _coerce_log(_unquote(_read_csv_text(Path(csv_path))))


def _key_index(df: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(df[list(LOG_KEY)].astype("str").fillna(""))


def merged_log(log: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The log with ``rows`` added, never duplicating an analysis date of a registration.

    Pure: nothing is read or written. Rows of ``log`` whose key (:data:`LOG_KEY`) is in ``rows``
    are replaced by ``rows``; ``rows`` come after the log's kept rows; within ``rows`` the last
    row of a repeated (key, variant) wins.

    Parameters
    ----------
    log
        The log so far (:func:`read_log`).
    rows
        New rows (:func:`log_table`).

    Returns
    -------
    pandas.DataFrame
        The merged log: the columns and dtypes of :func:`read_log`.

    Examples
    --------
    >>> old = pd.DataFrame({"experiment_id": ["e", "e"], "as_of": ["2026-05-31", "2026-06-30"],
    ...                     "registration": "fp", "variant": "v", "diff": [0.01, 0.02]})
    >>> new = old.iloc[1:].assign(diff=0.03)
    >>> merged_log(old, new)[["as_of", "diff"]]
            as_of  diff
    0  2026-05-31  0.01
    1  2026-06-30  0.03
    """
    old, new = _coerce_log(log), _coerce_log(rows)
    new = new.loc[~new.duplicated([*LOG_KEY, "variant"], keep="last")]
    if len(old) and len(new):
        old = old.loc[~_key_index(old).isin(_key_index(new))]
    frames = [f for f in (old, new) if len(f)]
    if len(frames) < 2:
        return (frames[0] if frames else new).reset_index(drop=True)
    both = pd.concat(frames, ignore_index=True)
    return (
        both if (both.dtypes[LOG_COLUMNS] == new.dtypes[LOG_COLUMNS]).all() else _coerce_log(both)
    )


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl.flock`` on ``<path>.lock`` (a no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def append_log(path: str | Path | None, readout_rows: pd.DataFrame) -> pd.DataFrame:
    """Add a run's readout rows to the cumulative log and return the whole log.

    Idempotent on :data:`LOG_KEY` (experiment, analysis date, registration fingerprint): rows
    with a key already in the log replace the old ones (:func:`merged_log`). Safe under
    concurrency: the read-merge-write holds an exclusive ``fcntl.flock`` on ``<path>.lock``, and
    the file is written to a temporary file in the same folder and moved over the log with
    ``os.replace`` (readers never see half a file). Text cells are written with
    :func:`csv_cells` (:func:`read_log` reads them back exactly).

    The notebook does not call this: it saves its rows as ``experiment_log_rows.csv`` and the
    runner appends them (:func:`read_log_rows`) when it publishes the run, so a run that is never
    published writes no log row.

    Parameters
    ----------
    path
        The log file (:func:`log_path`); None writes nothing.
    readout_rows
        The run's rows (:func:`log_table` or :func:`read_log_rows`).

    Returns
    -------
    pandas.DataFrame
        The whole log after the append (the columns and dtypes of :func:`read_log`); with
        ``path=None`` the rows alone.
    """
    if path is None:
        return merged_log(_empty_log(), readout_rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path):
        log = merged_log(read_log(path), readout_rows)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
                csv_cells(log).to_csv(fh, index=False)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return log


# --------------------------------------------------------------------------------------------
# A run's own rows


def log_rows(ro: Readout, run: str) -> pd.DataFrame:
    """The readout's rows for the cumulative experiment log: one per variant, primary metric.

    Parameters
    ----------
    ro
        One experiment's readout.
    run
        The run id (:func:`run_label`).

    Returns
    -------
    pandas.DataFrame
        experiment_id, run, as_of, registration, metric, control, variant, n_control,
        n, rate_control, rate, diff, diff_ci_low, diff_ci_high, p_value, p_adjusted,
        prob_beat_control, srm_p_value, n_immature, interim, verdict, hypothesis,
        decision_rule (:data:`LOG_COLUMNS`).
    """
    prim = ro.primary
    ctrl = prim.loc[prim["is_control"]].iloc[0]
    v = prim.loc[~prim["is_control"]].copy()
    reg = ro.registration
    out = pd.DataFrame(
        {
            "experiment_id": reg.id,
            "run": str(run),
            "as_of": ro.as_of.strftime("%Y-%m-%d"),
            "registration": registration_fingerprint(reg),
            "metric": reg.primary_metric.name,
            "control": reg.control,
            "variant": v["variant"].to_numpy(),
            "n_control": int(ctrl["n"]),
            "n": v["n"].to_numpy(),
            "rate_control": float(ctrl["rate"]),
            "rate": v["rate"].to_numpy(),
            "diff": v["diff"].to_numpy(),
            "diff_ci_low": v["diff_ci_low"].to_numpy(),
            "diff_ci_high": v["diff_ci_high"].to_numpy(),
            "p_value": v["p_value"].to_numpy(),
            "p_adjusted": v["p_adjusted"].to_numpy(),
            "prob_beat_control": v["prob_beat_control"].to_numpy(),
            "srm_p_value": v["srm_p_value"].to_numpy(),
            "n_immature": int(prim["n_immature"].sum()),
            "interim": ro.interim,
            "verdict": v["verdict"].to_numpy(),
            "hypothesis": reg.hypothesis,
            "decision_rule": reg.decision_rule,
        }
    )
    return out


def log_table(readouts: Sequence[Readout], run: str) -> pd.DataFrame:
    """This run's experiment-log rows: :func:`log_rows` of every readout.

    Parameters
    ----------
    readouts
        The run's readouts (any number).
    run
        The run id (:func:`run_label`).

    Returns
    -------
    pandas.DataFrame
        :data:`LOG_COLUMNS`, one row per experiment and variant (no row without readouts).

    Examples
    --------
    >>> list(log_table([], "interactive").columns) == LOG_COLUMNS
    True
    """
    frames = [log_rows(ro, run) for ro in readouts]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in LOG_COLUMNS})
    return pd.concat(frames, ignore_index=True)[LOG_COLUMNS]
