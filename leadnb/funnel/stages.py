"""The funnel: stage definitions, per-lead stage dates, data quality and stage conversion rates.

Design: everything downstream (cohorts, time to stage, LVR, new versus old, A/B outcomes) works
from one *wide stage-date frame* built here by :func:`stage_dates`: one row per lead with
``lead_id``, ``created_at``, one ``<stage>_at`` column per funnel stage (``lead_at`` is
``created_at``) and ``lost_at``; ``NaT`` where the lead has not reached the stage.

Stage history may come in long form (the ``stages`` table: one row per lead and stage entry) or
in wide form (``<stage>_at`` columns on ``leads``). Wide input is melted to long form first, so
both go through the same code and give identical frames. Rules, applied in this order:

1. stage names are mapped through ``funnel.aliases`` (case and surrounding spaces ignored);
2. a lead's date for a stage is its **first** entry (re-entries and backward moves count once);
3. entries for unknown stages or unknown leads, and entries without a date, are ignored here
   and reported by :func:`stage_quality` (so is every entry dated before the lead's creation:
   it is kept as dated, never dropped silently);
4. skipped stages (``funnel.skipped_stages``): ``imply`` (default) means reaching a later stage
   implies every earlier one, dated at the later date; formally each stage's date becomes the
   earliest date of itself and every later stage (a reverse cumulative minimum), so stage dates
   never decrease along the funnel. ``strict`` keeps unreached stages ``NaT`` and keeps dates as
   recorded. The lost stage is outside the order and is never implied.

Speed at a million leads: stage names are mapped once per distinct name; lead ids are matched
as integers, not hashed as text: an id of at most 8 bytes (``L0012345``) is its bytes read as one
big-endian uint64, a longer one (up to 64 bytes: Salesforce ids, UUIDs) a hash of its 8-byte
words, checked word by word on every match; the lead keys are sorted once (skipped when they
already ascend) and each entry is one binary search. Other ids (longer, or with a NUL byte) go
through Arrow hash lookups. The dates are one int64 block handed to pandas without a copy.

Conversion rates (:func:`stage_conversion`) carry n and a Wilson interval
(:func:`leadnb.intervals.wilson`, the one Wilson path). Missing columns are refused by the one
guard, :func:`leadnb.data.columns.require_columns`; a report section that lacks data says so
through :class:`~leadnb.errors.NotEnoughData` (``require_*`` helpers below). The stage pairs the
article asks for live here once (:data:`ARTICLE_PAIRS`).

``as_of`` is a whole day everywhere in the funnel modules: a stage dated on the ``as_of`` day (at
any hour) is known by ``as_of``; follow-up runs to the end of that day (:func:`day_end`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadnb.arrays import (
    NAT_US,
    _arrow_text,
    in_set,
    index_positions,
    per_distinct,
    text_codes,
    to_us,
)
from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.data.params import check_keys, expect_type, parse_date
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.intervals import wilson
from leadnb.results import Column, Kind, Metrics

DEFAULT_STAGES = ("lead", "mql", "sql", "opportunity", "customer")
FUNNEL_KEYS = (
    "stages",
    "lost_stage",
    "aliases",
    "qualified_stage",
    "new_lead_days",
    "lvr_period",
    "skipped_stages",
    "qualification_change",
)
_PERIOD_RE = re.compile(r"^([1-9][0-9]*)D$")
_NOT_REACHED = np.iinfo(np.int64).max  # a missing stage date while taking minimums
STAGE_ACRONYMS = frozenset({"mql", "sql", "sal", "pql", "sqo", "mqa", "sao"})
"""Stage names a reader knows as acronyms: shown in capitals (``mql`` -> ``MQL``)."""


def stage_name(stage: str) -> str:
    """The funnel's display name of a stage, for reports: acronyms in capitals, other names
    as words with a capital first letter (``_`` read as a space).

    Examples
    --------
    >>> [stage_name(s) for s in ("lead", "mql", "sql", "opportunity", "closed_won")]
    ['Lead', 'MQL', 'SQL', 'Opportunity', 'Closed won']
    """
    words = [w.upper() if w in STAGE_ACRONYMS else w for w in str(stage).split("_") if w]
    text = " ".join(words) or str(stage)
    return text[:1].upper() + text[1:]


STAGE_COLUMNS = ("from_stage", "to_stage", "stage")
"""Columns of the funnel's tables that hold stage names."""


def with_stage_names(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` for a reader: stage names (:data:`STAGE_COLUMNS`) as display names
    (:func:`stage_name`); the CSVs keep the canonical names.

    Examples
    --------
    >>> with_stage_names(pd.DataFrame({"from_stage": ["lead"], "to_stage": ["sql"], "n": [3]}))
      from_stage to_stage  n
    0       Lead      SQL  3
    """
    out = df.copy()
    for c in STAGE_COLUMNS:
        if c in out.columns:
            out[c] = out[c].map(stage_name).astype("str")
    return out


@dataclass(frozen=True)
class FunnelConfig:
    """The ``funnel`` section of the params file.

    Attributes
    ----------
    stages
        Ordered stages; the first is the entry stage (dated at ``created_at``).
    lost_stage
        The terminal drop-out stage, outside the order.
    aliases
        Source stage name -> canonical stage (case and surrounding spaces ignored).
    qualified_stage
        The stage LVR counts (an SQL for ROI).
    new_lead_days
        Younger than this at conversion is a new lead; older is old (nurtured).
    lvr_period
        ``month``, ``quarter`` or ``"<N>D"``.
    skipped_stages
        ``imply`` (reaching a later stage implies the earlier ones) or ``strict``.
    qualification_change
        The date the qualification rule changed (a break in LVR), or None.

    Examples
    --------
    >>> cfg = FunnelConfig.from_dict({"stages": ["lead", "mql", "sql"], "qualified_stage": "mql"})
    >>> cfg.date_columns
    ['lead_at', 'mql_at', 'sql_at', 'lost_at']
    """

    stages: tuple[str, ...] = DEFAULT_STAGES
    lost_stage: str = "lost"
    aliases: Mapping[str, str] = field(default_factory=dict)
    qualified_stage: str = "sql"
    new_lead_days: int = 30
    lvr_period: str = "month"
    skipped_stages: str = "imply"
    qualification_change: pd.Timestamp | None = None

    @property
    def all_stages(self) -> tuple[str, ...]:
        """The ordered stages followed by the lost stage."""
        return (*self.stages, self.lost_stage)

    @property
    def date_columns(self) -> list[str]:
        """``<stage>_at`` for every stage and the lost stage, in order."""
        return [f"{s}_at" for s in self.all_stages]

    @classmethod
    def from_dict(cls, d: Any, base_dir: Path | None = None) -> FunnelConfig:
        """Parse and check the ``funnel`` section; every key is optional (defaults above).

        Parameters
        ----------
        d
            The section as read from YAML (None reads as empty).
        base_dir
            The params file's folder (unused: the section names no files).

        Returns
        -------
        FunnelConfig

        Raises
        ------
        ParamsError
            An unknown key, or a value that is not valid; the fix says what to write.

        Examples
        --------
        >>> FunnelConfig.from_dict({"new_lead_days": 14}).new_lead_days
        14
        >>> try:
        ...     FunnelConfig.from_dict({"qualified_stage": "lead"})
        ... except ParamsError as e:
        ...     print(e.issues[0].fix)
        choose one of: mql, sql, opportunity, customer
        """
        d = check_keys(d, FUNNEL_KEYS, "funnel")
        stages = d.get("stages", list(DEFAULT_STAGES))
        expect_type(stages, list, "funnel.stages")
        for i, s in enumerate(stages):
            expect_type(s, str, f"funnel.stages[{i}]")
            if not re.fullmatch(r"[a-z][a-z0-9_]*", s):
                raise ParamsError(
                    f"funnel.stages[{i}] {s!r} is not a valid stage name",
                    fix="use lower-case names of letters, digits and _ (they become <stage>_at columns)",
                )
        if len(stages) < 2 or len(set(stages)) != len(stages):
            raise ParamsError(
                f"funnel.stages needs at least two distinct stages, got {stages!r}",
                fix="list the stages in order, e.g. [lead, mql, sql, opportunity, customer]",
            )
        lost = expect_type(d.get("lost_stage", "lost"), str, "funnel.lost_stage")
        if lost in stages:
            raise ParamsError(
                f"funnel.lost_stage {lost!r} is also one of funnel.stages",
                fix="the lost stage is terminal and outside the ordered stages; remove it from funnel.stages",
            )
        aliases = d.get("aliases") or {}
        if not isinstance(aliases, Mapping):
            raise ParamsError(
                "funnel.aliases must be a mapping of source stage name -> canonical stage",
                fix='write e.g. aliases: {"Sales Qualified": sql}',
            )
        known = (*stages, lost)
        bad = {k: v for k, v in aliases.items() if v not in known}
        if bad:
            raise ParamsError(
                f"funnel.aliases map onto unknown stage(s): {bad!r}",
                fix=f"map each source name onto one of: {', '.join(known)}",
            )
        qualified = expect_type(d.get("qualified_stage", "sql"), str, "funnel.qualified_stage")
        if qualified not in stages[1:]:
            raise ParamsError(
                f"funnel.qualified_stage {qualified!r} is not one of the stages after the first",
                fix=f"choose one of: {', '.join(stages[1:])}",
            )
        new_days = expect_type(d.get("new_lead_days", 30), int, "funnel.new_lead_days")
        if new_days <= 0:
            raise ParamsError(
                f"funnel.new_lead_days must be positive, got {new_days}",
                fix="set funnel.new_lead_days: 30",
            )
        period = expect_type(d.get("lvr_period", "month"), str, "funnel.lvr_period")
        if period not in ("month", "quarter") and not _PERIOD_RE.match(period):
            raise ParamsError(
                f"funnel.lvr_period must be month, quarter or an N-day cycle like 28D, got {period!r}",
                fix='set funnel.lvr_period: month (or quarter, or "28D")',
            )
        skipped = expect_type(d.get("skipped_stages", "imply"), str, "funnel.skipped_stages")
        if skipped not in ("imply", "strict"):
            raise ParamsError(
                f"funnel.skipped_stages must be imply or strict, got {skipped!r}",
                fix="set funnel.skipped_stages: imply (reaching a later stage implies earlier ones)",
            )
        change = d.get("qualification_change")
        change_ts = (
            None if change in (None, "") else parse_date(change, "funnel.qualification_change")
        )
        return cls(
            stages=tuple(stages),
            lost_stage=lost,
            aliases={str(k): str(v) for k, v in aliases.items()},
            qualified_stage=qualified,
            new_lead_days=new_days,
            lvr_period=period,
            skipped_stages=skipped,
            qualification_change=change_ts,
        )


# --------------------------------------------------------------------------------------------
# Stage history -> long entries


def _canonical_names(config: FunnelConfig) -> Callable[[pd.Series], pd.Series]:
    """Distinct stage names -> canonical names (aliases, case and surrounding spaces ignored;
    an unknown name is kept as written)."""
    lookup = {s.casefold(): s for s in config.all_stages}
    lookup.update({str(k).strip().casefold(): v for k, v in config.aliases.items()})
    return lambda text: text.str.strip().str.casefold().map(lookup).fillna(text).astype("str")


def _map_names(stage: pd.Series, config: FunnelConfig) -> pd.Series:
    """Map stage names through the aliases and the canonical names (case/spaces ignored).

    A history has millions of rows but a handful of names: only the distinct names are mapped.
    """
    return per_distinct(stage, _canonical_names(config))


def _stage_codes(stage: pd.Series, names: Sequence[str], config: FunnelConfig) -> np.ndarray:
    """Each entry's position in ``names`` after :func:`_map_names` (-1: another or no name),
    without building the mapped text: the distinct names are mapped and looked up once."""
    codes, distinct = text_codes(stage)
    found = index_positions(_canonical_names(config)(distinct), pd.Index(names, dtype="str"))
    lookup = np.append(found, -1)  # code -1 (a missing name) reads the last slot
    return lookup[codes]


_ID_BYTES = 64  # ids longer than this are matched by Arrow hash lookups


def _chunk_offsets(chunk: pa.Array) -> np.ndarray | None:
    """Where each value of an Arrow string chunk starts and ends in its data buffer (n + 1)."""
    large = pa.types.is_large_string(chunk.type)
    if not (large or pa.types.is_string(chunk.type)):
        return None
    if not len(chunk):
        return np.zeros(1, dtype=np.int64)
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if large else np.int32)
    return offsets[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64, copy=False)


def _fill_words(out: np.ndarray, chunk: pa.Array, offsets: np.ndarray) -> bool:
    """Write one chunk's values into ``out`` (rows of uint64 words, zeroed); False when a value
    holds a NUL byte (it would read as padding)."""
    n, size = out.shape[0], out.shape[1] * 8
    lengths = np.diff(offsets)
    width = int(lengths.max(initial=0))
    if not width:
        return True
    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    if not data.all():
        return False
    if width == size and bool((lengths == width).all()):  # the bytes are the words already
        out[:] = data.view(">u8").reshape(out.shape)
        return True
    padded = np.zeros((n, size), dtype=np.uint8)
    if bool((lengths == width).all()):
        padded[:, :width] = data.reshape(n, width)
    else:
        starts = offsets[:-1] - offsets[0]
        for j in range(width):  # a loop over byte positions (at most 64), not over rows
            has = lengths > j
            padded[has, j] = data[starts[has] + j]
    out[:] = padded.view(">u8")
    return True


def _text_words(values: pd.Series, *, missing_ok: bool = False) -> np.ndarray | None:
    """Each text value's UTF-8 bytes, zero-padded to whole 8-byte words, as a row of uint64
    (big-endian: with one word, key order is the texts' byte order). Equal rows are equal texts.

    None when the column is not Arrow text, has a value longer than 64 bytes or holding a NUL
    byte, or (unless ``missing_ok``: the caller masks them) a missing value.

    >>> _text_words(pd.Series(["b", "ab", "a"], dtype="str"))[:, 0].argsort().tolist()
    [2, 1, 0]
    >>> _text_words(pd.Series(["L0000001", "Lead-0000001"], dtype="str")).shape
    (2, 2)
    """
    arr = _arrow_text(values)
    if arr is None or (arr.null_count and not missing_ok):
        return None
    offsets = [_chunk_offsets(chunk) for chunk in arr.chunks]
    if any(o is None for o in offsets):
        return None
    width = max((int(np.diff(o).max(initial=0)) for o in offsets), default=0)
    if width > _ID_BYTES:
        return None
    out = np.zeros((len(arr), max(1, -(-width // 8))), dtype=np.uint64)
    start = 0
    for chunk, o in zip(arr.chunks, offsets, strict=True):
        if not _fill_words(out[start : start + len(chunk)], chunk, o):
            return None
        start += len(chunk)
    return out


def _hash_words(words: np.ndarray) -> np.ndarray:
    """One uint64 per row of words (multiply and xor-shift per word; every step is one-to-one,
    so two rows that differ in a single word never collide). Equal hashes are checked."""
    h = np.full(len(words), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for j in range(words.shape[1]):  # a loop over words (at most 8), not over rows
        h ^= words[:, j]
        h *= np.uint64(0xBF58476D1CE4E5B9)  # wraps: arithmetic modulo 2**64
        h ^= h >> np.uint64(31)
    return h


def _search_sorted(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``np.searchsorted(keys, queries)``, the queries taken in ascending order: each search then
    starts where the last one ended, in cache (random queries into a million keys miss it)."""
    if len(queries) < 2 or bool((queries[1:] >= queries[:-1]).all()):
        return np.searchsorted(keys, queries)
    order = np.argsort(queries)
    at = np.empty(len(queries), dtype=np.intp)
    at[order] = np.searchsorted(keys, queries[order])
    return at


def _match_keys(
    lead_words: np.ndarray, entry_words: np.ndarray
) -> tuple[np.ndarray, int, np.ndarray | None] | None:
    """:func:`_lead_positions` on word rows: one uint64 key per id (the word itself, or a hash
    of the words), the lead keys sorted (skipped when they already ascend), one binary search
    per entry; with hashed keys the words of every match are compared. None when two lead ids
    share a hash (the caller then hashes the text with Arrow)."""
    exact = lead_words.shape[1] == 1
    lead = lead_words[:, 0] if exact else _hash_words(lead_words)
    entry = entry_words[:, 0] if exact else _hash_words(entry_words)
    order = None
    if len(lead) > 1 and not bool((lead[1:] > lead[:-1]).all()):
        order = np.argsort(lead)
        lead = lead[order]
    distinct = np.ones(len(lead), dtype=bool)
    distinct[1:] = lead[1:] != lead[:-1]
    row, first_row = None, order  # first_row: a lead row of each distinct key (None: itself)
    if not distinct.all():  # duplicated ids: positions are among the distinct ids
        repeat = np.flatnonzero(~distinct)
        if not exact and not (lead_words[order[repeat - 1]] == lead_words[order[repeat]]).all():
            return None
        row = np.empty(len(lead), dtype=np.intp)
        row[order] = np.cumsum(distinct) - 1
        first_row = order[distinct]
        lead, order = lead[distinct], None
    if not len(lead):
        return np.full(len(entry), -1, dtype=np.intp), 0, row
    at = np.minimum(_search_sorted(lead, entry), len(lead) - 1)
    hit = lead[at] == entry
    if not exact:  # an equal hash is a match only when the words are equal
        found = np.flatnonzero(hit)
        lead_row = at[found] if first_row is None else first_row[at[found]]
        hit[found] = (lead_words[lead_row] == entry_words[found]).all(axis=1)
    pos = at if order is None else order[at]
    return np.where(hit, pos, -1), len(lead), row


def _widen(words: np.ndarray, n_words: int) -> np.ndarray:
    """Rows of words padded with zero words to ``n_words`` (zero bytes pad every text)."""
    if words.shape[1] == n_words:
        return words
    return np.pad(words, ((0, 0), (0, n_words - words.shape[1])))


def _lead_positions(
    ids: pd.Series, entry_ids: pd.Series, use: np.ndarray
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Match the entries ``entry_ids[use]`` to the leads' ids (compared as text).

    Returns each used entry's position among the distinct lead ids (-1: not a lead), the number
    of distinct ids, and each lead row's position among them (None when the ids are distinct:
    position = row).
    """
    lead_words = _text_words(ids)
    entry_words = None if lead_words is None else _text_words(entry_ids, missing_ok=True)
    if lead_words is not None and entry_words is not None:
        words = max(lead_words.shape[1], entry_words.shape[1])  # zero words pad the shorter
        matched = _match_keys(_widen(lead_words, words), _widen(entry_words[use], words))
        if matched is not None:
            pos, n_keys, row = matched
            if entry_ids.hasnans:  # a missing id is no lead's (its words are meaningless)
                pos[entry_ids.isna().to_numpy()[use]] = -1
            return pos, n_keys, row
    keys, row = pd.Index(ids), None  # any other text: Arrow hash lookups
    if not keys.is_unique:
        keys = keys.unique()
        row = index_positions(ids, keys)
    return index_positions(entry_ids[use], keys), len(keys), row


def _wide_columns(leads: pd.DataFrame, config: FunnelConfig) -> list[str]:
    """The ``<stage>_at`` columns on leads (the entry stage's ``lead_at`` is ignored)."""
    return [c for c in config.date_columns[1:] if c in leads.columns]


def stage_entries(
    leads: pd.DataFrame, stages: pd.DataFrame | None, config: FunnelConfig
) -> pd.DataFrame:
    """All stage entries in long form, stage names mapped, dates as recorded.

    Parameters
    ----------
    leads
        The leads table; its ``<stage>_at`` columns are used when ``stages`` is None.
    stages
        The long stage history (``lead_id, stage, entered_at``), or None.
    config
        The funnel: stage names, aliases.

    Returns
    -------
    pandas.DataFrame
        One row per entry: ``lead_id`` (str), ``stage`` (mapped through the aliases; unknown names
        kept as written), ``entered_at`` (datetime). Entries without a date are kept from
        ``stages`` and dropped from wide columns (an empty cell is no entry).

    Raises
    ------
    DataError
        ``stages`` lacks a column, or there is neither ``stages`` nor a ``<stage>_at`` column.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a"], "mql_at": pd.to_datetime(["2025-01-05"])})
    >>> stage_entries(leads, None, FunnelConfig())
      lead_id stage entered_at
    0       a   mql 2025-01-05
    """
    if stages is not None:
        require_columns(stages, ("lead_id", "stage", "entered_at"), table="stages")
        out = stages[["lead_id", "stage", "entered_at"]].copy()
        out["stage"] = _map_names(out["stage"], config)
        out["lead_id"] = out["lead_id"].astype("str")
        out["entered_at"] = pd.to_datetime(out["entered_at"])
        return out.reset_index(drop=True)
    cols = _wide_columns(leads, config)
    if not cols:
        raise DataError(
            "no stage history: there is no stages table and leads has no <stage>_at columns",
            table="leads",
            fix="configure data.stages (lead_id, stage, entered_at) or add per-stage date "
            f"columns to leads: {', '.join(config.date_columns[1:])}",
        )
    long = leads[["lead_id", *cols]].melt(
        id_vars="lead_id", var_name="stage", value_name="entered_at"
    )
    long = long[long["entered_at"].notna()]
    long["stage"] = long["stage"].str.removesuffix("_at").astype("str")
    long["lead_id"] = long["lead_id"].astype("str")
    long["entered_at"] = pd.to_datetime(long["entered_at"])
    return long.reset_index(drop=True)


def stage_dates(
    leads: pd.DataFrame,
    stages: pd.DataFrame | None = None,
    config: FunnelConfig | None = None,
    *,
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """The wide stage-date frame: one row per lead, the first date it entered each stage.

    Parameters
    ----------
    leads
        The leads table (``lead_id``, ``created_at``).
    stages
        The long stage history (``lead_id, stage, entered_at``); when None, the ``<stage>_at``
        columns on ``leads`` are used (the same information gives the same frame).
    config
        The funnel (default :class:`FunnelConfig`); ``skipped_stages`` decides whether reaching a
        later stage implies the earlier ones (module docstring).
    keep
        Columns of ``leads`` (e.g. ``source``) to append at the end.

    Returns
    -------
    pandas.DataFrame
        Rows in the order of ``leads``; columns ``lead_id``, ``created_at``, ``lead_at`` (equal to
        ``created_at``), one ``<stage>_at`` per later stage, ``<lost_stage>_at``, then ``keep``.
        Dates are ``datetime64[us]``, ``NaT`` where the stage was not reached.

    Raises
    ------
    DataError
        A required column is missing, or there is no stage history at all.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...                       "created_at": pd.to_datetime(["2025-01-01", "2025-01-10"])})
    >>> history = pd.DataFrame({"lead_id": ["a", "a", "b"],
    ...                         "stage": ["Sales Qualified", "mql", "mql"],
    ...                         "entered_at": pd.to_datetime(["2025-01-20", "2025-01-05", "2025-01-12"])})
    >>> wide = stage_dates(leads, history, FunnelConfig(aliases={"Sales Qualified": "sql"}))
    >>> wide[["lead_id", "mql_at", "sql_at", "customer_at"]]
      lead_id     mql_at     sql_at customer_at
    0       a 2025-01-05 2025-01-20         NaT
    1       b 2025-01-12        NaT         NaT
    """
    config = config or FunnelConfig()
    require_columns(leads, ("lead_id", "created_at"), table="leads")
    require_columns(
        leads, keep, table="leads", fix="map the column in data.leads.columns or drop it from keep"
    )
    later = config.all_stages[1:]
    ids = leads["lead_id"].astype("str")
    if stages is not None:
        require_columns(stages, ("lead_id", "stage", "entered_at"), table="stages")
        entry_ids = stages["lead_id"].astype("str")
        code = _stage_codes(stages["stage"], later, config)
        when = to_us(stages["entered_at"])
    else:
        entries = stage_entries(leads, None, config)
        entry_ids = entries["lead_id"]
        code = index_positions(entries["stage"], pd.Index(later, dtype="str"))
        when = to_us(entries["entered_at"])
    ok = (code >= 0) & (when != NAT_US)
    # each entry's distinct lead (-1: unknown lead); with duplicated ids, every copy of an id
    # gets the same dates (row: each lead row's distinct lead)
    pos, n_keys, row = _lead_positions(ids, entry_ids, ok)
    known_entry = pos >= 0
    # every date column of the result in one int64 block (created_at, lead_at, then one row per
    # later stage), handed to pandas without a copy
    created = pd.Series(pd.to_datetime(leads["created_at"]).to_numpy()).astype("datetime64[us]")
    block = np.empty((2 + len(later), len(ids)), dtype="int64")
    block[0] = created.to_numpy().view("int64")
    block[1] = block[0]
    first = block[2:] if row is None else np.empty((len(later), n_keys), dtype="int64")
    # first entry per (stage, lead): a minimum over int64 microseconds shifted down by one, so
    # that the fill (the largest int64, "not reached") becomes NaT when shifted back (it wraps)
    first.fill(_NOT_REACHED)
    np.minimum.at(
        first.reshape(-1),  # a view: the rows are contiguous
        code[ok][known_entry].astype(np.intp) * n_keys + pos[known_entry],
        when[ok][known_entry] - 1,
    )
    if config.skipped_stages == "imply":
        # each funnel stage's date becomes the earliest of itself and every later stage
        funnel_rows = len(config.stages) - 1  # the lost stage (last row) is never implied
        for i in range(funnel_rows - 2, -1, -1):  # row by row: contiguous, in place
            np.minimum(first[i], first[i + 1], out=first[i])
    if row is not None:
        np.take(first, row, axis=1, out=block[2:])
    np.add(block[2:], 1, out=block[2:])  # back to microseconds; not reached -> NaT
    out = pd.DataFrame(
        block.view("datetime64[us]").T,
        columns=["created_at", "lead_at", *(f"{stage}_at" for stage in later)],
        copy=False,
    )
    # .array: the text stays Arrow (to_numpy would make a Python string per lead)
    out.insert(0, "lead_id", ids.array)
    for c in keep:
        out[c] = leads[c].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# What a report section needs (NotEnoughData: the section says so in one sentence)

NO_HISTORY = "the stage history is missing (see the stage history note at the top)"


def require_stage_history(
    leads: pd.DataFrame, stages: pd.DataFrame | None, config: FunnelConfig | None = None
) -> None:
    """Raise :class:`NotEnoughData` when there is nothing to build stage dates from.

    That is: ``leads`` has no ``created_at`` values, or there is neither a ``stages`` table nor
    a ``<stage>_at`` column on ``leads``. A configured but empty stage history is not missing
    (every lead is then simply at the entry stage).

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a"], "created_at": pd.to_datetime(["2025-01-01"])})
    >>> try:
    ...     require_stage_history(leads, None)
    ... except NotEnoughData as e:
    ...     print(e.what)
    there is no stage history (no stages table and no mql_at, sql_at, opportunity_at, customer_at columns on leads)
    """
    config = config or FunnelConfig()
    if "created_at" not in leads.columns or not leads["created_at"].notna().any():
        raise NotEnoughData(
            "the leads table has no created_at dates, so no lead can be followed through the funnel",
            "it appears when data.leads.columns maps the lead creation date onto created_at",
        )
    if stages is None and not _wide_columns(leads, config):
        raise NotEnoughData(
            "there is no stage history (no stages table and no "
            f"{', '.join(config.date_columns[1:-1])} columns on leads)",
            "it appears when data.stages (lead_id, stage, entered_at) is configured or leads "
            "carries those columns",
        )


def require_reached(wide: pd.DataFrame | None, stage: str, as_of: Any) -> pd.DataFrame:
    """``wide`` when at least one lead reached ``stage`` by the ``as_of`` day, else :class:`NotEnoughData`.

    ``stage`` ``"lead"`` means created. ``wide`` None (no stage history) also raises.

    Examples
    --------
    >>> wide = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01"]), "sql_at": [pd.NaT]})
    >>> require_reached(wide, "lead", pd.Timestamp("2025-01-01")) is wide
    True
    >>> try:
    ...     require_reached(wide, "sql", pd.Timestamp("2025-03-01"))
    ... except NotEnoughData as e:
    ...     print(e.what)
    no lead has reached sql by 2025-03-01
    """
    if wide is None:
        raise NotEnoughData(NO_HISTORY, "it appears once the stage history is configured")
    day = pd.Timestamp(as_of)
    ts = wide["created_at"] if stage == "lead" else _col(wide, stage)
    if not bool((ts < day_end(day)).any()):
        if stage == "lead":
            raise NotEnoughData(
                f"no lead was created by the analysis date {day:%Y-%m-%d}",
                "it appears in the first run after the first lead's creation date",
            )
        raise NotEnoughData(
            f"no lead has reached {stage} by {day:%Y-%m-%d}",
            f"it appears in the first run after a lead reaches {stage}",
        )
    return wide


def require_column(df: pd.DataFrame, column: str, *, table: str = "leads") -> None:
    """:class:`NotEnoughData` when ``df`` has no ``column`` or only missing values in it.

    Unlike :func:`leadnb.data.columns.require_columns` (a frame without a column a function needs
    is an error), this is for optional columns: a report section without them says so and the
    report goes on.

    Examples
    --------
    >>> try:
    ...     require_column(pd.DataFrame({"lead_id": ["a"]}), "source")
    ... except NotEnoughData as e:
    ...     print(e.what)
    the leads table has no source column
    """
    if column not in df.columns or not df[column].notna().any():
        raise NotEnoughData(
            f"the {table} table has no {column} column"
            + (" values" if column in df.columns else ""),
            f"it appears when data.{table}.columns maps a column onto {column}",
        )


# --------------------------------------------------------------------------------------------
# Data quality


def _examples(ids: pd.Series, n: int = 3) -> str:
    return ", ".join(ids.astype("str").drop_duplicates().head(n))


CHECK_NAMES = {
    "re_entry": "Re-entered a stage",
    "backward_move": "Moved back a stage",
    "before_creation": "Stage dated before creation",
    "unknown_stage": "Unknown stage name",
    "unknown_lead": "Unknown lead",
    "missing_date": "Entry without a date",
    "skipped_stage": "Skipped a stage",
}
"""The :func:`stage_quality` checks in words, for a reader (the CSV keeps the codes)."""

QUALITY_COLUMNS = {
    "check": Column("Check", Kind.TEXT),
    "count": Column("Entries", Kind.COUNT, "stage entries affected"),
    "leads": Column("Leads", Kind.COUNT, "distinct leads affected"),
    "example_lead_ids": Column("Example leads", Kind.TEXT, "up to three lead ids"),
    "meaning": Column("What it means", Kind.TEXT),
}
"""How a report shows the :func:`stage_quality` table."""


_MEANING_WORDS = {
    "check created_at": "check the lead's creation date",
    "lead_id not in leads": "lead not in the leads table",
}


def readable_checks(quality: pd.DataFrame) -> pd.DataFrame:
    """A copy of a :func:`stage_quality` table for a reader: each check named in words
    (:data:`CHECK_NAMES`) and no column names in the meanings (the CSV keeps both as they are).

    >>> q = readable_checks(pd.DataFrame({"check": ["unknown_lead"], "count": [2],
    ...                                   "meaning": ["lead_id not in leads; ignored"]}))
    >>> q.to_dict("records")
    [{'check': 'Unknown lead', 'count': 2, 'meaning': 'lead not in the leads table; ignored'}]
    """
    out = quality.copy()
    out["check"] = out["check"].map(lambda c: CHECK_NAMES.get(c, c)).astype("str")
    if "meaning" in out.columns:
        for code, words in _MEANING_WORDS.items():
            out["meaning"] = out["meaning"].str.replace(code, words, regex=False)
    return out


def stage_quality(
    leads: pd.DataFrame,
    stages: pd.DataFrame | None = None,
    config: FunnelConfig | None = None,
) -> pd.DataFrame:
    """Data-quality table of the stage history: one row per check, always every check.

    Parameters
    ----------
    leads
        The leads table (``lead_id``, ``created_at``).
    stages
        The long stage history, or None for the ``<stage>_at`` columns on ``leads``.
    config
        The funnel (default :class:`FunnelConfig`).

    Returns
    -------
    pandas.DataFrame
        Columns ``check``, ``count`` (entries affected), ``leads`` (distinct leads),
        ``example_lead_ids`` (up to three, comma-separated) and ``meaning``. Checks, in this
        order: ``re_entry`` (a lead entered the same stage again; counted once),
        ``backward_move`` (an entry into an earlier stage than the previous entry),
        ``before_creation`` (dated before the lead's ``created_at``; kept as dated),
        ``unknown_stage`` (neither a funnel stage nor an alias; ignored), ``unknown_lead``
        (lead_id not in leads; ignored), ``missing_date`` (no entry date; ignored) and
        ``skipped_stage`` (a lead reached a stage without an earlier one; implied or kept
        missing per ``funnel.skipped_stages``).

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...                       "created_at": pd.to_datetime(["2025-01-01", "2025-01-10"])})
    >>> history = pd.DataFrame({"lead_id": ["a", "a", "b"], "stage": ["mql", "mql", "sql"],
    ...                         "entered_at": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-01-12"])})
    >>> q = stage_quality(leads, history)
    >>> q.loc[q["count"] > 0, ["check", "count", "leads", "example_lead_ids"]]
               check  count  leads example_lead_ids
    0       re_entry      1      1                a
    6  skipped_stage      1      1                b
    """
    config = config or FunnelConfig()
    require_columns(leads, ("lead_id", "created_at"), table="leads")
    e = stage_entries(leads, stages, config)
    ids = leads["lead_id"].astype("str")
    if not ids.is_unique:  # a lead listed twice: the reference path (validation refuses it)
        return _stage_quality_reference(leads, e, ids, config)
    found = _stage_findings(leads, e, ids, config)
    lead_id = e["lead_id"]
    known_stage, known_lead, dated = found["known_stage"], found["known_lead"], found["dated"]
    rows = [
        (
            "re_entry",
            lead_id.iloc[found["re_entry"]],
            "entered the same stage again; first entry used",
        ),
        (
            "backward_move",
            lead_id.iloc[found["backward_move"]],
            "moved to an earlier stage; counted once",
        ),
        (
            "before_creation",
            lead_id.iloc[found["before_creation"]],
            "stage dated before the lead was created; kept as dated, check created_at",
        ),
        ("unknown_stage", lead_id[~known_stage], "stage name not in funnel; ignored"),
        ("unknown_lead", lead_id[~known_lead], "lead_id not in leads; ignored"),
        ("missing_date", lead_id[~dated], "entry without a date; ignored"),
        (
            "skipped_stage",
            found["skipped_ids"],
            "reached a stage without an earlier one; "
            + ("earlier ones implied" if config.skipped_stages == "imply" else "kept missing"),
        ),
    ]
    return _quality_table(rows, e, known_stage)


def _stage_findings(
    leads: pd.DataFrame, e: pd.DataFrame, ids: pd.Series, config: FunnelConfig
) -> dict[str, Any]:
    """The rows behind each check of :func:`stage_quality`, on integer codes: the entry's lead
    as its position among ``leads`` (unique ids), its stage as a code, dates as int64
    microseconds. Row numbers of ``e`` come in the order the pandas formulation
    (:func:`_stage_quality_reference`) lists them: entries in table order, backward moves in
    (lead id, date) order."""
    pos = index_positions(e["lead_id"], pd.Index(ids))
    known_lead = pos >= 0
    stage_codes, names = pd.factorize(e["stage"].to_numpy(dtype=object), use_na_sentinel=True)
    names = list(names)
    funnel_names = set(config.all_stages)
    # one more slot for the code -1 (a missing stage name): never a known stage
    known_name = np.array([x in funnel_names for x in names] + [False], dtype=bool)
    known_stage = known_name[stage_codes]
    entered = to_us(e["entered_at"])
    dated = entered != NAT_US
    okr = np.flatnonzero(known_lead & known_stage & dated)
    k = max(len(names), 1)
    key = pos[okr].astype("int64") * k + stage_codes[okr]
    re_entry = okr[pd.Series(key).duplicated(keep="first").to_numpy()]
    created = to_us(leads["created_at"])[pos[okr]]
    before = okr[(created != NAT_US) & (entered[okr] < created)]
    # funnel stages only (not the lost stage), ordered by lead id (as text) then date, stably
    rank_of = np.array([config.stages.index(x) if x in config.stages else -1 for x in names])
    rank = rank_of[stage_codes[okr]] if len(okr) else np.zeros(0, dtype="int64")
    fun = okr[rank >= 0]
    frank = rank[rank >= 0]
    text_order = _text_rank(ids)
    lead_key = text_order[pos[fun]]
    order = np.lexsort((entered[fun], lead_key))
    fun, frank, lead_key = fun[order], frank[order], lead_key[order]
    same = np.r_[False, lead_key[1:] == lead_key[:-1]]
    prev = np.r_[-1, frank[:-1]]
    backward_move = fun[same & (frank < prev)]
    # a stage missing while some later stage is reached (the entry stage, rank 0, aside)
    first = np.r_[True, ~same[1:]] if len(fun) else np.zeros(0, dtype=bool)
    lead_row = np.cumsum(first) - 1
    n_stages = len(config.stages)
    skipped_ids = pd.Series([], dtype="str")
    if len(fun) and n_stages > 1:
        full = np.zeros((int(lead_row[-1]) + 1, n_stages), dtype=bool)
        full[lead_row, frank] = True
        full = full[:, 1:]
        later_strict = np.zeros_like(full)
        later_strict[:, :-1] = np.logical_or.accumulate(full[:, ::-1], axis=1)[:, ::-1][:, 1:]
        skipped = (~full & later_strict).any(axis=1)
        firsts = fun[first]
        skipped_ids = pd.Series(
            ids.to_numpy(dtype=object)[pos[firsts[skipped]]], dtype="str"
        ).reset_index(drop=True)
    return {
        "known_lead": known_lead,
        "known_stage": known_stage,
        "dated": dated,
        "re_entry": re_entry,
        "backward_move": backward_move,
        "before_creation": before,
        "skipped_ids": skipped_ids,
    }


def _text_rank(ids: pd.Series) -> np.ndarray:
    """Each id's rank in text order (unique ids): the order ``sort_values`` gives text."""
    arr = _arrow_text(ids)
    if arr is not None:
        order = np.asarray(pc.sort_indices(arr), dtype="int64")
    else:
        order = np.argsort(ids.to_numpy(dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype="int64")
    rank[order] = np.arange(len(ids))
    return rank


def _quality_table(
    rows: list[tuple[str, pd.Series, str]], e: pd.DataFrame, known_stage: Any
) -> pd.DataFrame:
    unknown_names = (
        e.loc[~np.asarray(known_stage, dtype=bool), "stage"].drop_duplicates().head(5).tolist()
    )
    table = pd.DataFrame(
        {
            "check": [r[0] for r in rows],
            "count": [len(r[1]) for r in rows],
            "leads": [r[1].nunique() for r in rows],
            "example_lead_ids": [_examples(r[1]) for r in rows],
            "meaning": [r[2] for r in rows],
        }
    )
    if unknown_names:
        table.loc[table["check"] == "unknown_stage", "meaning"] += (
            f" (e.g. {', '.join(map(repr, unknown_names))}: add them to funnel.aliases)"
        )
    return table


def _stage_quality_reference(
    leads: pd.DataFrame, e: pd.DataFrame, ids: pd.Series, config: FunnelConfig
) -> pd.DataFrame:
    """:func:`stage_quality` in plain pandas (by lead id text): the path for leads whose ids
    repeat, and the reference the integer path is tested against."""
    created = pd.Series(pd.to_datetime(leads["created_at"]).to_numpy(), index=ids.to_numpy())
    known_lead = in_set(e["lead_id"], ids)
    known_stage = e["stage"].isin(config.all_stages).to_numpy(dtype=bool)
    dated = e["entered_at"].notna().to_numpy()
    ok = e[known_lead & known_stage & dated].copy()
    rank = {s: i for i, s in enumerate(config.stages)}
    ok["rank"] = ok["stage"].map(rank)  # lost -> NaN
    dup = ok.duplicated(["lead_id", "stage"], keep="first")
    fun = ok[ok["rank"].notna()].sort_values(["lead_id", "entered_at"], kind="stable")
    prev_rank = fun.groupby("lead_id")["rank"].shift()
    back = fun[fun["rank"] < prev_rank]
    before = ok[ok["entered_at"] < ok["lead_id"].map(created)]
    reached = fun.drop_duplicates(["lead_id", "stage"]).pivot_table(
        index="lead_id", columns="rank", values="entered_at", aggfunc="size", fill_value=0
    )
    skipped_ids = pd.Series([], dtype="str")
    if len(reached):
        full = reached.reindex(columns=range(1, len(config.stages)), fill_value=0) > 0
        # a stage missing while some later stage is reached
        later_any = full.iloc[:, ::-1].cummax(axis=1).iloc[:, ::-1]
        later_strict = later_any.shift(-1, axis=1, fill_value=False)
        skipped = (~full & later_strict).any(axis=1)
        skipped_ids = pd.Series(full.index[skipped.to_numpy()], dtype="str")
    rows = [
        ("re_entry", ok.loc[dup, "lead_id"], "entered the same stage again; first entry used"),
        ("backward_move", back["lead_id"], "moved to an earlier stage; counted once"),
        (
            "before_creation",
            before["lead_id"],
            "stage dated before the lead was created; kept as dated, check created_at",
        ),
        ("unknown_stage", e.loc[~known_stage, "lead_id"], "stage name not in funnel; ignored"),
        ("unknown_lead", e.loc[~known_lead, "lead_id"], "lead_id not in leads; ignored"),
        ("missing_date", e.loc[~dated, "lead_id"], "entry without a date; ignored"),
        (
            "skipped_stage",
            skipped_ids,
            "reached a stage without an earlier one; "
            + ("earlier ones implied" if config.skipped_stages == "imply" else "kept missing"),
        ),
    ]
    return _quality_table(rows, e, known_stage)


# --------------------------------------------------------------------------------------------
# Helpers used by other modules


WIDE = "the stage-date frame"  # how the column guard names the frame stage_dates builds
WIDE_FIX = "build it with leadnb.funnel.stages.stage_dates and pick a stage from funnel.stages"


def _col(wide: pd.DataFrame, stage: str) -> pd.Series:
    name = f"{stage}_at"
    require_columns(wide, [name], table=WIDE, fix=WIDE_FIX)
    return wide[name]


def reached_within(
    wide: pd.DataFrame,
    stage: str,
    start: pd.Series,
    window_days: float,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Did each lead reach ``stage`` within ``window_days`` of ``start``, and is that known yet?

    Parameters
    ----------
    wide
        The stage-date frame (:func:`stage_dates`).
    stage
        The stage to reach.
    start
        Each lead's start (e.g. ``assigned_at``), aligned with ``wide`` by position.
    window_days
        Length of the window.
    as_of
        The analysis date (the whole day counts).

    Returns
    -------
    pandas.DataFrame
        ``wide``'s index; columns ``reached`` (``start <= <stage>_at <= start + window``, dated
        by the end of the ``as_of`` day), ``mature`` (the outcome is final: reached, or the whole
        window ended by the end of the ``as_of`` day) and ``prior`` (already at the stage before
        ``start``; callers usually exclude these leads). A missing ``start`` gives False everywhere.

    Examples
    --------
    >>> wide = pd.DataFrame({"sql_at": pd.to_datetime(["2026-01-20", None, "2025-12-01"])})
    >>> start = pd.Series(pd.to_datetime(["2026-01-05"] * 3))
    >>> reached_within(wide, "sql", start, 30, pd.Timestamp("2026-03-15"))
       reached  mature  prior
    0     True    True  False
    1    False    True  False
    2    False    True   True
    """
    at = _col(wide, stage).to_numpy()
    st = pd.to_datetime(pd.Series(start)).to_numpy()
    at = pd.to_datetime(pd.Series(at)).astype("datetime64[us]")
    st = pd.Series(st).astype("datetime64[us]")
    window = pd.Timedelta(days=window_days)
    end = day_end(as_of)
    reached = (at >= st) & (at <= st + window) & (at < end)
    prior = at < st
    mature = reached | (st + window < end)
    out = pd.DataFrame(
        {
            "reached": reached.fillna(False).to_numpy(bool),
            "mature": mature.fillna(False).to_numpy(bool) & st.notna().to_numpy(),
            "prior": prior.fillna(False).to_numpy(bool),
        },
        index=wide.index,
    )
    return out


def age_at(wide: pd.DataFrame, stage: str) -> pd.Series:
    """Days from ``created_at`` to ``<stage>_at`` (NaN where not reached).

    >>> wide = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01", "2026-01-01"]),
    ...                      "sql_at": pd.to_datetime(["2026-01-31 12:00", None])})
    >>> age_at(wide, "sql").tolist()
    [30.5, nan]
    """
    return (_col(wide, stage) - wide["created_at"]) / pd.Timedelta(days=1)


def classify_new_old(wide: pd.DataFrame, stage: str, new_lead_days: float = 30) -> pd.Series:
    """``"new"`` when the lead was younger than ``new_lead_days`` when it reached ``stage``.

    ``"old"`` otherwise; missing when it has not reached it (or has no ``created_at``). A stage
    dated before creation (negative age) counts as new.

    >>> wide = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01"] * 3),
    ...                      "sql_at": pd.to_datetime(["2026-01-30", "2026-01-31", None])})
    >>> classify_new_old(wide, "sql", 30).tolist()
    ['new', 'old', nan]
    """
    age = age_at(wide, stage)
    lab = np.where(age < new_lead_days, "new", "old")
    return pd.Series(lab, index=wide.index, dtype="str").where(age.notna())


# --------------------------------------------------------------------------------------------
# Conversion rates

ARTICLE_PAIRS = (("lead", "mql"), ("mql", "sql"), ("mql", "opportunity"), ("mql", "customer"))

BY_COLUMNS = {
    "source": Column("Lead source", Kind.TEXT),
    "created_quarter": Column("Created in", Kind.TEXT, "the leads' creation quarter"),
}
"""The breakdowns the cohort report uses (``by=``), as a reader sees them."""

CONVERSION_COLUMNS = {
    "from_stage": Column("From stage", Kind.TEXT),
    "to_stage": Column("To stage", Kind.TEXT),
    **BY_COLUMNS,
    "n_from": Column("Leads at stage", Kind.COUNT, "leads that reached the from-stage"),
    "n_to": Column("Reached next", Kind.COUNT, "of those, leads that reached the to-stage"),
    "rate": Column("Conversion rate", Kind.RATE, "to date"),
    "ci_low": Column("95% CI low", Kind.RATE),
    "ci_high": Column("95% CI high", Kind.RATE),
}
"""How a report shows the :func:`stage_conversion` table (stage names through
:func:`with_stage_names`)."""


def conversion_pairs(config: FunnelConfig) -> list[tuple[str, str]]:
    """The article's four rates (those whose stages exist) followed by every adjacent step.

    >>> conversion_pairs(FunnelConfig(stages=("lead", "mql", "sql", "won")))
    [('lead', 'mql'), ('mql', 'sql'), ('sql', 'won')]
    """
    pairs = [p for p in ARTICLE_PAIRS if p[0] in config.stages and p[1] in config.stages]
    adjacent = list(zip(config.stages[:-1], config.stages[1:], strict=True))
    return pairs + [p for p in adjacent if p not in pairs]


def stage_conversion(
    wide: pd.DataFrame,
    config: FunnelConfig | None = None,
    *,
    by: str | None = None,
    as_of: pd.Timestamp,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Share of the leads that reached ``from_stage`` that also reached ``to_stage``, to date.

    Both stages count when dated by the end of the ``as_of`` day. The rates are to-date: leads
    still in progress count as not converted (a floor); :mod:`leadnb.funnel.cohorts` and
    :mod:`leadnb.funnel.survival` give the censoring-aware views.

    Parameters
    ----------
    wide
        The stage-date frame (:func:`stage_dates`).
    config
        The funnel (default :class:`FunnelConfig`); it gives the default pairs.
    by
        A column of ``wide`` to break the rates down by (e.g. ``source``, a creation period).
    as_of
        The analysis date.
    pairs
        ``(from_stage, to_stage)`` pairs; default :func:`conversion_pairs`.

    Returns
    -------
    pandas.DataFrame
        One row per pair (and ``by`` group): ``from_stage``, ``to_stage``, [``by``], ``n_from``,
        ``n_to``, ``rate`` (``NaN`` when ``n_from`` is 0), ``ci_low``, ``ci_high`` (95% Wilson,
        :func:`leadnb.intervals.wilson`).

    Examples
    --------
    >>> wide = pd.DataFrame({"lead_at": pd.to_datetime(["2025-01-01"] * 4),
    ...                      "mql_at": pd.to_datetime(["2025-01-02", "2025-01-03", None, "2025-03-01"])})
    >>> stage_conversion(wide, as_of=pd.Timestamp("2025-01-31"), pairs=[("lead", "mql")]).round(3)
      from_stage to_stage  n_from  n_to  rate  ci_low  ci_high
    0       lead      mql       4     2   0.5    0.15     0.85
    """
    config = config or FunnelConfig()
    end = day_end(as_of)
    pairs = list(pairs) if pairs is not None else conversion_pairs(config)
    if by is not None:
        require_columns(
            wide, [by], table=WIDE, fix=f"build it with stage_dates(..., keep=[{by!r}])"
        )
    frames = []
    if by is not None:  # one code per group, counted per pair (no per-pair frame of every lead)
        codes, groups = pd.factorize(wide[by].to_numpy(), sort=True, use_na_sentinel=False)
        groups = pd.Index(groups).infer_objects()  # an all-missing column: float NaN, as groupby
    for a, b in pairs:
        ra = (_col(wide, a) < end).to_numpy(dtype=bool)
        rb = ra & (_col(wide, b) < end).to_numpy(dtype=bool)
        if by is not None:
            g = pd.DataFrame(
                {
                    by: groups,
                    "n_from": np.bincount(codes[ra], minlength=len(groups)),
                    "n_to": np.bincount(codes[rb], minlength=len(groups)),
                }
            )
        else:
            g = pd.DataFrame({"n_from": [int(ra.sum())], "n_to": [int(rb.sum())]})
        g.insert(0, "from_stage", a)
        g.insert(1, "to_stage", b)
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["n_from"] = out["n_from"].astype(int)
    out["n_to"] = out["n_to"].astype(int)
    out["rate"] = np.where(
        out["n_from"] > 0, out["n_to"] / out["n_from"].where(out["n_from"] > 0), np.nan
    )
    out["ci_low"], out["ci_high"] = wilson(out["n_to"], out["n_from"])
    cols = [
        "from_stage",
        "to_stage",
        *([by] if by else []),
        "n_from",
        "n_to",
        "rate",
        "ci_low",
        "ci_high",
    ]
    return out[cols]


def row_metrics(
    row: Mapping[str, Any], columns: Mapping[str, Column], *, interval: str | None = None
) -> Metrics:
    """One row of a funnel table as :class:`~leadnb.results.Metrics`, for a report sentence.

    The funnel's tables spell a value's 95% interval ``ci_low``/``ci_high`` (the CSV contract);
    with ``interval="rate"`` those become ``rate_ci_low``/``rate_ci_high``, so
    ``.shown("rate")`` and ``.interval("rate")`` format the value and its interval with the
    same decimals.

    Examples
    --------
    >>> m = row_metrics({"rate": 0.015, "ci_low": 0.0086, "ci_high": 0.024, "n_from": 400},
    ...                 CONVERSION_COLUMNS, interval="rate")
    >>> m.shown("rate"), m.interval("rate"), m.shown("n_from")
    ('1.5%', '0.9% to 2.4%', '400')
    """
    m = Metrics.of_row(row, columns)
    if interval is None:
        return m
    values, kinds = dict(m), dict(m.kinds)
    for end in ("low", "high"):
        values[f"{interval}_ci_{end}"] = values.pop(f"ci_{end}")
        kinds[f"{interval}_ci_{end}"] = kinds.pop(f"ci_{end}")
    return Metrics(values, kinds)


def known_leads(leads: pd.DataFrame, as_of: Any) -> int:
    """How many leads exist by the end of the analysis day: the report's ``n_leads``.

    A lead counts when it was created by the end of the ``as_of`` day
    (:func:`leadnb.asof.day_end`), exactly the leads :func:`stage_conversion` starts its
    ``lead`` rows from (their ``n_from``), so "of N leads, X% became MQL" holds. A lead created
    after the analysis date does not exist yet, and one without a creation date cannot be placed
    in the funnel. Without a ``created_at`` column nothing tells leads apart from the analysis
    date, so every row counts.

    Parameters
    ----------
    leads
        The leads table or the wide stage-date frame (:func:`stage_dates`): ``created_at``.
    as_of
        The analysis date (a whole day).

    Returns
    -------
    int
        The number of leads known by ``as_of``.

    Examples
    --------
    >>> leads = pd.DataFrame({"created_at": pd.to_datetime(
    ...     ["2026-03-01 09:00", "2026-03-31 23:59", "2026-04-01 00:00", None])})
    >>> known_leads(leads, "2026-03-31"), known_leads(leads, "2026-04-01")
    (2, 3)
    >>> known_leads(pd.DataFrame({"lead_id": ["a", "b"]}), "2026-03-31")
    2
    """
    if "created_at" not in leads.columns:
        return len(leads)
    created = pd.to_datetime(leads["created_at"])
    return int((created < day_end(as_of)).sum())


# --------------------------------------------------------------------------------------------
# Headline numbers of the cohort report

_TIME_KEYS = {
    "median_days": Kind.DAYS,
    "p30": Kind.RATE,
    "p60": Kind.RATE,
    "p90": Kind.RATE,
    "cif90": Kind.RATE,
}


def headline_metrics(
    *,
    n_leads: int,
    as_of: pd.Timestamp,
    qualified_stage: str,
    conversion: pd.DataFrame | None = None,
    lead_to_qualified_rate: float | None = None,
    time_to_stage: pd.DataFrame | None = None,
    lvr: pd.DataFrame | None = None,
    share_old: pd.DataFrame | None = None,
    value_summary: pd.DataFrame | None = None,
) -> Metrics:
    """The cohort report's headline numbers, each with its kind, for ``metrics.json``.

    Every table is optional: a report section that could not be computed (``None``) adds no key.

    Parameters
    ----------
    n_leads
        Leads known by the end of the ``as_of`` day (:func:`known_leads`): the ``n_from`` of
        the ``lead`` rows of ``conversion`` (checked when ``conversion`` has them).
    as_of
        The analysis date.
    qualified_stage
        ``funnel.qualified_stage``; it names the time-to-stage and share-old keys.
    conversion
        :func:`stage_conversion` table; its :data:`ARTICLE_PAIRS` rows give
        ``<a>_to_<b>_rate``, ``<a>_to_<b>_ci_low`` and ``<a>_to_<b>_ci_high``; its MQL to SQL
        row gives ``mql_to_sql_n_from`` (the MQLs behind every rate from MQL).
    lead_to_qualified_rate
        To-date lead to qualified-stage rate: ``lead_to_<qualified>_rate``.
    time_to_stage
        :func:`leadnb.funnel.survival.time_to_stage_table`; its lead to qualified-stage row
        gives ``lead_to_<qualified>_median_days``, ``_p30``, ``_p60``, ``_p90`` and ``_cif90``.
    lvr
        :func:`leadnb.funnel.velocity.lvr` table; the latest complete period with an LVR gives
        ``lvr_period``, ``lvr_pct``, ``lvr_ci_low`` and ``lvr_ci_high`` (percent), and
        ``lvr_qualified`` (the qualified leads of that period).
    share_old
        :func:`leadnb.funnel.velocity.share_old_by_era` rows (``stage, era, share_old``):
        ``share_old_<stage>_<era>``.
    value_summary
        :func:`leadnb.funnel.value_map.value_summary` (``group, n``): ``value_group_<group>``.

    Returns
    -------
    Metrics
        The numbers with their kinds (rates as ``rate``, LVR in ``percent``, counts, days),
        plus ``headline``: the keys the run index card shows, in order (:func:`headline_keys`:
        the three a head of sales reads on the card first), and ``labels``: each headline
        key's label in words (:func:`headline_labels`).

    Raises
    ------
    ValueError
        ``n_leads`` differs from the leads the ``lead`` rows of ``conversion`` start from (a
        count of every row of the table, leads created after ``as_of`` included, would).

    Examples
    --------
    >>> conv = pd.DataFrame({"from_stage": ["lead"], "to_stage": ["mql"], "n_from": [200],
    ...                      "n_to": [50], "rate": [0.25], "ci_low": [0.19], "ci_high": [0.31]})
    >>> m = headline_metrics(n_leads=200, as_of=pd.Timestamp("2026-06-30"),
    ...                      qualified_stage="sql", conversion=conv)
    >>> m.formatted("lead_to_mql_rate"), m.kinds["n_leads"]
    ('25.0%', <Kind.COUNT: 'count'>)
    >>> m["headline"][:3]
    ['mql_to_sql_rate', 'lead_to_sql_p90', 'lvr_pct']
    >>> m["labels"]["lead_to_sql_p90"]
    'Leads reaching SQL within 90 days'
    """
    q = qualified_stage
    if conversion is not None:
        lead_rows = conversion.loc[conversion["from_stage"] == "lead", "n_from"]
        if len(lead_rows) and not (lead_rows == n_leads).all():
            raise ValueError(
                f"n_leads is {n_leads:,} but the conversion table starts from "
                f"{int(lead_rows.iloc[0]):,} leads known by {pd.Timestamp(as_of):%Y-%m-%d}: "
                "pass known_leads(wide, as_of)"
            )
    values: dict[str, Any] = {"n_leads": n_leads, "as_of": f"{pd.Timestamp(as_of):%Y-%m-%d}"}
    kinds: dict[str, Kind] = {"n_leads": Kind.COUNT, "as_of": Kind.DATE}
    values["qualified_stage"], kinds["qualified_stage"] = q, Kind.TEXT

    def put(key: str, v: Any, kind: Kind) -> None:
        values[key], kinds[key] = v, kind

    if conversion is not None:
        for a, b in ARTICLE_PAIRS:
            row = conversion[(conversion["from_stage"] == a) & (conversion["to_stage"] == b)]
            if len(row):
                for col, key in (("rate", "rate"), ("ci_low", "ci_low"), ("ci_high", "ci_high")):
                    put(f"{a}_to_{b}_{key}", row[col].iloc[0], Kind.RATE)
                if (a, b) == ("mql", "sql"):
                    put("mql_to_sql_n_from", int(row["n_from"].iloc[0]), Kind.COUNT)
    if lead_to_qualified_rate is not None:
        put(f"lead_to_{q}_rate", lead_to_qualified_rate, Kind.RATE)
    if time_to_stage is not None:
        tq = time_to_stage[
            (time_to_stage["from_stage"] == "lead") & (time_to_stage["to_stage"] == q)
        ]
        if len(tq):
            for k, kind in _TIME_KEYS.items():
                put(f"lead_to_{q}_{k}", tq[k].iloc[0], kind)
    if lvr is not None:
        done = lvr[lvr["complete"] & lvr["lvr_pct"].notna()]
        if len(done):
            put("lvr_period", done["period"].iloc[-1], Kind.TEXT)
            for col, key in (
                ("lvr_pct", "lvr_pct"),
                ("ci_low", "lvr_ci_low"),
                ("ci_high", "lvr_ci_high"),
            ):
                put(key, done[col].iloc[-1], Kind.PERCENT)
            put("lvr_qualified", int(done["qualified"].iloc[-1]), Kind.COUNT)
    if share_old is not None:
        for stage, era, share in zip(
            share_old["stage"], share_old["era"], share_old["share_old"], strict=True
        ):
            put(f"share_old_{stage}_{era}", share, Kind.RATE)
    if value_summary is not None:
        for group, n in zip(value_summary["group"], value_summary["n"], strict=True):
            put(f"value_group_{group}", n, Kind.COUNT)
    values["headline"] = headline_keys(q)
    values["labels"] = headline_labels(q)
    return Metrics(values, kinds)


def headline_keys(qualified_stage: str) -> list[str]:
    """The cohort report's headline keys, in the order the run index card shows them.

    The card shows the first three: the MQL to SQL rate (how well sales takes up marketing's
    leads), the share of leads reaching the qualified stage within 90 days (how soon a lead
    pays), and the change in new qualified leads on the period before (whether the pipeline
    grows). The answer's first sentence already gives the lead count and the funnel.

    >>> headline_keys("sql")
    ['mql_to_sql_rate', 'lead_to_sql_p90', 'lvr_pct', 'n_leads', 'lead_to_mql_rate', \
'mql_to_opportunity_rate', 'mql_to_customer_rate', 'share_old_sql_after']
    """
    q = qualified_stage
    first = ["mql_to_sql_rate", f"lead_to_{q}_p90", "lvr_pct"]
    rest = ["n_leads", *(f"{a}_to_{b}_rate" for a, b in ARTICLE_PAIRS), f"share_old_{q}_after"]
    return list(dict.fromkeys(first + rest))


def headline_labels(qualified_stage: str) -> dict[str, str]:
    """Each of :func:`headline_keys` in words, for the run index card (``metrics.json``
    ``labels``); stage names are the funnel's display names (:func:`stage_name`).

    >>> headline_labels("sql")["lvr_pct"]
    'Change in new SQLs on the period before (LVR)'
    """
    q = stage_name(qualified_stage)
    labels = {
        "n_leads": "Leads created by the analysis date",
        "lead_to_mql_rate": "Leads that became MQL",
        "mql_to_sql_rate": "MQLs that reached SQL",
        "mql_to_opportunity_rate": "MQLs that reached Opportunity",
        "mql_to_customer_rate": "MQLs that became customers",
        "lvr_pct": f"Change in new {q}s on the period before (LVR)",
        f"lead_to_{qualified_stage}_p90": f"Leads reaching {q} within 90 days",
        f"share_old_{qualified_stage}_after": f"{q}s from old leads since the nurture start",
    }
    return {k: labels[k] for k in headline_keys(qualified_stage)}


__all__ = [
    "ARTICLE_PAIRS",
    "BY_COLUMNS",
    "CHECK_NAMES",
    "CONVERSION_COLUMNS",
    "DEFAULT_STAGES",
    "QUALITY_COLUMNS",
    "STAGE_ACRONYMS",
    "STAGE_COLUMNS",
    "FunnelConfig",
    "age_at",
    "classify_new_old",
    "conversion_pairs",
    "day_end",
    "headline_keys",
    "headline_labels",
    "headline_metrics",
    "known_leads",
    "reached_within",
    "readable_checks",
    "require_column",
    "require_reached",
    "require_stage_history",
    "row_metrics",
    "stage_conversion",
    "stage_dates",
    "stage_entries",
    "stage_name",
    "stage_quality",
    "with_stage_names",
]
