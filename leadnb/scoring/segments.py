"""High score is not high intent: segment leads, and build the high-quality list SDRs revisit.

Design. :func:`segment_leads` assigns each lead to exactly one segment, by these rules, in this
order (the first that applies wins):

1. ``competitor``: a competitor tag (in ``leads.tags``, ``;``-separated, or a ``tag_added`` event
   with that value at or before ``as_of``), an e-mail domain in ``competitor_domains`` (the domain
   or any subdomain of it), or a company in ``competitor_companies`` (what the team knows: the
   "operator impression"). Case is ignored.
2. ``asked_for_sales``: asked for sales within ``fast_days`` of creation and *before* reaching
   the outcome stage (``sales_signals``: by default a ``contact_sales`` form, or a
   ``pricing_request`` / ``demo_request`` tag) - whatever the score. The signal is seen before
   the outcome, so this segment's conversion rate is a finding, not a definition: it says how
   often asking for sales turns into an SQL. An ask after the lead converted (a tag a rep added
   on the sales call) does not count: it is not a signal anyone had before the outcome.
3. ``converted_fast``: reached the outcome stage (default ``sql``) within ``fast_days`` of
   creation without asking for sales first. **Defined by the outcome**: its conversion rate is
   100% by construction (:data:`DEFINED_BY_OUTCOME`); the segment shows who these leads are
   (their score), not how likely they are to convert.
4. ``engaged_nurture``: at least ``engaged_min_events`` events by ``as_of`` (high activity) and
   none of the above. Whether they convert later (nurtured) is deliberately *not* part of the
   rule, so the segment's conversion rate says how many active leads nurturing turned into SQLs
   instead of being zero by construction; the SDR list drops the converted ones separately.
5. ``other``: everyone else (few events, not fast; slow converters who were never very active).

Segments 2 and 3 together are what used to be one "high intent" segment, whose 28% conversion
rate on the demo was partly true by definition.

:func:`segment_summary` gives n, mean score, conversions and rate with a Wilson interval per
segment, and a ``defined_by_outcome`` flag. :func:`high_quality_leads` is the list SDRs work
from: ICP first (target industries or an ABM account list), competitors and already-converted
leads out, a score and interaction floor, and each lead's last touch and next follow-up on a
fixed cadence. :func:`rank_for_capacity` ranks that list for a team that can call
``capacity_per_week`` leads a week (:data:`LIST_ORDER`) and queues the rest week by week.
The list never carries names, e-mails or phone numbers (the table is written next to the HTML
report).
All steps are vectorised and lean at a million leads: the events are never copied or grouped by
lead_id as text; each call maps every event to its lead once (one Arrow hash, kept by
:mod:`leadnb.arrays` for the next call on the same columns) and counts by lead position a piece
at a time (:func:`_lead_events`); categorical event types and values (the run's tables cache)
are read from their codes; text tests (case, tags, e-mail domains) run once per distinct value
(:func:`_distinct_mask`), e-mail domains only for the e-mails an Arrow pass leaves possible
(:func:`_may_end_with`). :func:`lead_activity` reads the events once for both
:func:`segment_leads` and :func:`high_quality_leads` (their ``activity=``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadnb import arrays, asof
from leadnb.arrays import (
    NAT_US,
    TextCodes,
    in_set,
    index_positions,
    text_codes,
    to_us,
)
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.intervals import wilson
from leadnb.results import Column, Kind

SEGMENTS = ("asked_for_sales", "converted_fast", "engaged_nurture", "competitor", "other")
DEFINED_BY_OUTCOME: frozenset[str] = frozenset({"converted_fast"})
"""Segments whose membership uses the outcome itself: their conversion rate is true by
definition (100%), so a report must say so next to it."""
DEFAULT_SALES_SIGNALS: Mapping[str, tuple[str, ...]] = {
    "form_submit": ("contact_sales",),
    "tag_added": ("pricing_request", "demo_request"),
}
_US_PER_DAY = 86_400_000_000
PII_COLUMNS = ("name", "email", "phone", "first_name", "last_name", "mobile")
SEGMENT_LABELS: Mapping[str, str] = {
    "asked_for_sales": "Asked for sales",
    "converted_fast": "Converted fast (defined by the outcome)",
    "engaged_nurture": "Engaged (nurture)",
    "competitor": "Competitors and peers",
    "other": "Everyone else",
}
"""Each segment's name for a reader (the tables and CSVs keep the machine names)."""


def segment_label(segment: str) -> str:
    """The reader's name of a segment (:data:`SEGMENT_LABELS`; another name as it is).

    >>> segment_label("engaged_nurture"), segment_label("partner")
    ('Engaged (nurture)', 'partner')
    """
    return SEGMENT_LABELS.get(str(segment), str(segment))


def with_segment_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its ``segment`` column in the reader's names, for showing it.

    >>> with_segment_labels(pd.DataFrame({"segment": ["competitor"], "n": [3]}))
                     segment  n
    0  Competitors and peers  3
    """
    return table.assign(segment=table["segment"].map(segment_label))


def _norm(values: Iterable[Any]) -> set[str]:
    return {str(v).strip().casefold() for v in values if str(v).strip()}


@dataclass
class _LeadEvents:
    """Per lead (a row of ``ids``, or of ``ids[among]``), what :func:`_lead_events` found among
    the events known by ``as_of`` (:func:`leadnb.asof.known`) whose lead is in ``ids``."""

    n: np.ndarray  # events per lead (int64)
    last_us: np.ndarray | None  # the latest event's time (int64 us; NAT_US for none)
    by_type: dict[str, np.ndarray]  # events of that type per lead (int64)
    rows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # of that type: (row, lead, ts)


ACTIVITY_COUNT_TYPES = ("event_signup", "event_attended")
"""The event types :func:`lead_activity` counts per lead (the SDR list's columns)."""


@dataclass(frozen=True)
class LeadActivity:
    """Each lead's events known by ``as_of``, found in one pass over the events table
    (:func:`lead_activity`), for :func:`segment_leads` and :func:`high_quality_leads` to share
    instead of each reading the events again.

    Arrays are in the order of ``lead_ids`` (the leads table's rows).
    """

    lead_ids: pd.Index
    as_of: pd.Timestamp
    events: np.ndarray  # events per lead (int64)
    last_us: np.ndarray  # the latest event's time (int64 us; NAT_US for none)
    by_type: Mapping[str, np.ndarray]  # :data:`ACTIVITY_COUNT_TYPES` per lead (int64)
    rows: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # (event row, lead row, ts)

    def to_frame(self) -> pd.DataFrame:
        """One row per lead: ``events``, ``last_event`` and the counted types, by lead_id.

        >>> leads = pd.DataFrame({"lead_id": ["a", "b"]})
        >>> ev = pd.DataFrame({"lead_id": ["a", "a"], "event_type": ["event_signup", "x"],
        ...     "ts": pd.to_datetime(["2026-06-01", "2026-06-03"])})
        >>> lead_activity(leads, ev, as_of=pd.Timestamp("2026-06-30")).to_frame().reset_index()
          lead_id  events last_event  event_signup  event_attended
        0       a       2 2026-06-03             1               0
        1       b       0        NaT             0               0
        """
        return pd.DataFrame(
            {
                "events": self.events,
                "last_event": self.last_us.view("datetime64[us]"),
                **{t: self.by_type[t] for t in ACTIVITY_COUNT_TYPES},
            },
            index=self.lead_ids.rename("lead_id"),
        )

    def _check(self, ids: pd.Index, as_of: pd.Timestamp, row_types: Iterable[str] = ()) -> None:
        missing = [t for t in row_types if t not in self.rows]
        if self.as_of != as_of or not self.lead_ids.equals(ids) or missing:
            raise ParamsError(
                "activity was found for other leads, another analysis date or other event types"
                + (f" (missing {', '.join(missing)})" if missing else ""),
                fix="pass lead_activity(leads, events, as_of=as_of) of the same leads and date",
            )


def lead_activity(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    sales_signals: Mapping[str, Sequence[str]] = DEFAULT_SALES_SIGNALS,
) -> LeadActivity:
    """Each lead's events known by ``as_of``, in one pass: what :func:`segment_leads` and
    :func:`high_quality_leads` both read from the events (pass it to both as ``activity=``).

    Parameters
    ----------
    leads
        The leads table (``lead_id``).
    events
        The events table (``lead_id``, ``ts``, ``event_type``; ``value`` for the asks).
    as_of
        The analysis date; later events do not count.
    sales_signals
        The event types whose rows :func:`segment_leads` reads (with ``tag_added``); the default
        is theirs.

    Returns
    -------
    LeadActivity
        Events per lead, the latest one, :data:`ACTIVITY_COUNT_TYPES` per lead, and the rows of
        ``tag_added`` and the sales-signal types.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "b", "b"], "event_type": ["x", "event_signup", "x"],
    ...     "ts": pd.to_datetime(["2026-06-01", "2026-06-03", "2026-07-09"])})
    >>> act = lead_activity(leads, ev, as_of=pd.Timestamp("2026-06-30"))
    >>> act.events.tolist(), act.by_type["event_signup"].tolist()
    ([1, 1], [0, 1])
    """
    require_columns(leads, ["lead_id"], table="leads")
    as_of = pd.Timestamp(as_of)
    ids = pd.Index(leads["lead_id"].astype("str"))
    row_types = list(dict.fromkeys([*(str(t) for t in sales_signals), "tag_added"]))
    found = _lead_events(
        events, ids, as_of, last=True, count_types=ACTIVITY_COUNT_TYPES, row_types=row_types
    )
    assert found.last_us is not None
    return LeadActivity(
        lead_ids=ids, as_of=as_of, events=found.n, last_us=found.last_us,
        by_type=found.by_type, rows=found.rows,
    )  # fmt: skip


def _unique_ids(ids: pd.Index) -> tuple[pd.Index, np.ndarray | None]:
    """``ids`` without repeats, and each row's place in it (None when there are no repeats)."""
    if ids.is_unique:
        return ids, None
    uniq = ids.drop_duplicates()
    return uniq, uniq.get_indexer(ids)


def _type_pieces(col: pd.Series, names: Sequence[str]) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, codes)``: each event's type as its place in ``names`` (-1 for another or a
    missing type), in the pieces of :meth:`leadnb.arrays.TextCodes.pieces`.

    A categorical column (the run's tables cache stores event types dictionary-encoded) is read
    from its codes through a table over its categories, without touching text; other text is
    matched by :class:`~leadnb.arrays.TextCodes`.
    """
    names_index = pd.Index(list(names), dtype="str")
    if not isinstance(col.dtype, pd.CategoricalDtype):
        yield from TextCodes(col, names_index).pieces()
        return
    cats = pd.Index(col.cat.categories.astype("str"))
    lut = np.append(names_index.get_indexer(cats), -1).astype(
        "int8" if len(names) < 127 else "int64"
    )
    codes = col.cat.codes.to_numpy()  # -1 (missing) reads the table's last entry, -1
    step = arrays.PIECE_ROWS
    for start in range(0, len(codes), step):
        yield start, lut[codes[start : start + step]]


def _lead_events(
    events: pd.DataFrame,
    ids: pd.Index,
    as_of: pd.Timestamp,
    *,
    last: bool = False,
    count_types: Sequence[str] = (),
    row_types: Sequence[str] = (),
    among: np.ndarray | None = None,
) -> _LeadEvents:
    """Count each lead's events by ``as_of`` (and its latest event, the events of
    ``count_types``, and the rows of ``row_types``) in one pass over the events; with ``among``
    (rows of ``ids``, ascending), for those leads only, in their order.

    Every event's lead_id becomes its lead's row by one Arrow hash lookup against all of ``ids``
    (the one array as long as the events table, four bytes an event; kept by
    :mod:`leadnb.arrays` for the next call on the same columns, so the scores, the segments and
    the list share it); then the events are read a piece of :data:`~leadnb.arrays.PIECE_ROWS`
    rows at a time, each event's type a small code (:func:`_type_pieces`), and the piece is
    counted with ``np.bincount``. The frame is never copied or filtered, and no lead_id is
    grouped as text.
    """
    require_columns(events, ["lead_id", "ts", "event_type"], table="events")
    uniq, back = _unique_ids(ids)
    m = len(uniq)
    slot = None
    if among is not None:  # count into one slot per listed lead: slot[position], -1 elsewhere
        wanted = among if back is None else back[among]
        taken, back = np.unique(wanted, return_inverse=True)
        if np.array_equal(taken, wanted):
            back = None  # listed leads ascending and distinct: slot i is among[i]
        slot = np.full(m + 1, -1, dtype="int64")  # position -1 (no lead) reads the last entry
        slot[taken] = np.arange(len(taken))
        m = len(taken)
    types = list(dict.fromkeys([*count_types, *row_types]))
    type_of = {t: i for i, t in enumerate(types)}
    end = to_us([asof.day_end(as_of)])[0]
    ts = to_us(events["ts"])
    n = _Counts(m)
    last_us = np.full(m, NAT_US, dtype="int64") if last else None
    tally = {t: _Counts(m) for t in count_types}
    found: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {t: [] for t in row_types}
    positions = index_positions(events["lead_id"], uniq)
    type_pieces = _type_pieces(events["event_type"], types) if types else None
    step = arrays.PIECE_ROWS  # read when called, as the type pieces are: the pieces align
    for start in range(0, len(positions), step):
        lead = positions[start : start + step]
        when = ts[start : start + len(lead)]
        if slot is not None:
            lead = slot[lead]
        ok = np.flatnonzero((lead >= 0) & (when != NAT_US) & (when < end))
        lead, when = lead[ok], when[ok]
        n.add(lead)
        if last_us is not None:
            np.maximum.at(last_us, lead, when)
        if type_pieces is None:
            continue
        type_start, code = next(type_pieces)
        assert type_start == start
        code = code[ok]
        for t in count_types:
            tally[t].add(lead[code == type_of[t]])
        for t in row_types:
            pick = np.flatnonzero(code == type_of[t])
            found[t].append((start + ok[pick], lead[pick].astype("int64"), when[pick]))
    counted, counts = n.total(), {t: c.total() for t, c in tally.items()}
    rows = {
        t: tuple(np.concatenate([f[k] for f in parts]) if parts else np.empty(0, dtype="int64")
                 for k in range(3))
        for t, parts in found.items()
    }  # fmt: skip
    if back is not None:  # repeated lead ids: each row gets its lead's numbers
        counted, counts = counted[back], {t: c[back] for t, c in counts.items()}
        last_us = None if last_us is None else last_us[back]
        rows = {t: _spread(r, back, m) for t, r in rows.items()}
    return _LeadEvents(n=counted, last_us=last_us, by_type=counts, rows=rows)  # type: ignore[arg-type]


class _Counts:
    """``np.bincount`` over pieces of values in ``range(m)``, summed: the pieces are held until
    they outnumber the bins, then counted together, so the ``m`` bins are allocated and added
    once per ``m`` values at most, not once a piece (80 pieces of a million bins is 640 MB of
    zeros written)."""

    def __init__(self, m: int) -> None:
        self.m, self.sum = m, np.zeros(m, dtype="int64")
        self.held: list[np.ndarray] = []
        self.size = 0

    def add(self, values: np.ndarray) -> None:
        self.held.append(values)
        self.size += len(values)
        if self.size >= self.m:
            self._flush()

    def _flush(self) -> None:
        if self.held:
            self.sum += np.bincount(np.concatenate(self.held), minlength=self.m)
            self.held, self.size = [], 0

    def total(self) -> np.ndarray:
        self._flush()
        return self.sum


def _spread(
    rows: tuple[np.ndarray, np.ndarray, np.ndarray], back: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event rows of the ``m`` distinct leads as rows of every lead row with that id (``back``:
    each lead row's distinct lead), the lead rows of one event in ascending order (rare: the
    validator flags repeated lead ids)."""
    row, lead, when = rows
    k = np.bincount(back, minlength=m)  # lead rows per distinct lead
    order = np.argsort(back, kind="stable")  # lead rows grouped by distinct lead, ascending
    first = np.cumsum(k) - k
    reps = k[lead]
    total = int(reps.sum())
    within = np.arange(total, dtype="int64") - np.repeat(np.cumsum(reps) - reps, reps)
    flat = order[np.repeat(first[lead], reps) + within]
    return np.repeat(row, reps), flat.astype("int64"), np.repeat(when, reps)


def _distinct_mask(s: pd.Series, test: Callable[[pd.Series], pd.Series | np.ndarray]) -> np.ndarray:
    """``test`` (text to booleans) applied once per distinct value of ``s`` as text and spread
    back to the rows (missing values: False).

    A profile column has a million rows but far fewer distinct values, and pandas' string
    methods (``casefold``, ``split``) run in Python per value. A categorical column (event
    values from the run's tables cache, the segments) is tested on its categories and read
    from its codes, without text per row.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        distinct = pd.Series(s.cat.categories.astype("str"), dtype="str")
    else:
        codes, distinct = text_codes(s)
    found = test(distinct)
    hit = found.fillna(False).to_numpy(dtype=bool) if isinstance(found, pd.Series) else found
    return np.append(np.asarray(hit, dtype=bool), False)[codes]


def _aligned(s: pd.Series, ids: pd.Index) -> pd.Series:
    """``s.reindex(ids)``, without looking a million ids up when ``s`` is in their order."""
    if len(s) == len(ids) and s.index.equals(ids) and ids.is_unique:
        return s.set_axis(ids)
    return s.reindex(ids)


def competitor_mask(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    competitor_domains: Sequence[str] = (),
    competitor_tags: Sequence[str] = ("competitor",),
    competitor_companies: Sequence[str] = (),
) -> pd.Series:
    """Which leads are competitors (or peers): by tag, e-mail domain or company name.

    A lead is a competitor when its ``tags`` (``;``-separated) or a ``tag_added`` event by
    ``as_of`` carry one of ``competitor_tags``, its e-mail domain is one of
    ``competitor_domains`` (or a subdomain of one), or its company is one of
    ``competitor_companies``. Case and surrounding spaces are ignored.

    Parameters
    ----------
    leads
        The leads table (``lead_id``; optional ``tags``, ``email``, ``company``).
    events
        The events table, or None.
    as_of
        The analysis date; later tag events do not count.
    competitor_domains, competitor_tags, competitor_companies
        What the team knows about competitors.

    Returns
    -------
    pandas.Series
        Boolean, indexed by ``lead_id``.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "tags": ["Competitor", None, ""],
    ...     "email": ["x@ok.example", "y@mail.rival.example", "z@ok.example"]})
    >>> competitor_mask(leads, None, as_of=pd.Timestamp("2026-06-30"),
    ...                 competitor_domains=["rival.example"]).tolist()
    [True, True, False]
    """
    require_columns(leads, ["lead_id"], table="leads")
    tag_rows = None
    if _norm(competitor_tags) and events is not None:
        ids = pd.Index(leads["lead_id"].astype("str"))
        tag_rows = _lead_events(events, ids, as_of, row_types=["tag_added"]).rows["tag_added"]
    return _competitor(
        leads, events, tag_rows, competitor_domains=competitor_domains,
        competitor_tags=competitor_tags, competitor_companies=competitor_companies,
    )  # fmt: skip


def _competitor(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    tag_rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    *,
    competitor_domains: Sequence[str],
    competitor_tags: Sequence[str],
    competitor_companies: Sequence[str],
) -> pd.Series:
    """:func:`competitor_mask`, given the ``tag_added`` events by as_of (``tag_rows``: event
    row, lead row, time; see :func:`_lead_events`). Each text test runs once per distinct
    value (:func:`_distinct_mask`)."""
    ids = leads["lead_id"].astype("str")
    hit = np.zeros(len(leads), dtype=bool)
    tags = _norm(competitor_tags)
    if tags and "tags" in leads.columns:

        def tagged_text(distinct: pd.Series) -> pd.Series:
            split = distinct.str.casefold().str.split(";")
            ex = split.explode().astype("str").str.strip()  # all-missing tags explode to floats
            has = ex.isin(tags).fillna(False).groupby(level=0).any()
            return has.reindex(pd.RangeIndex(len(distinct)), fill_value=False)

        hit |= _distinct_mask(leads["tags"], tagged_text)
    if tags and events is not None and tag_rows is not None and len(tag_rows[0]):
        row, lead = tag_rows[0], tag_rows[1]
        value = events["value"].iloc[row] if "value" in events.columns else None
        if value is not None:
            said = _distinct_mask(value, lambda d: d.str.casefold().isin(tags))
            hit[lead[said]] = True
    domains = _norm(competitor_domains)
    if domains and "email" in leads.columns:
        email = leads["email"].astype("str")

        def rival(distinct: pd.Series) -> pd.Series:
            dom = distinct.str.strip().str.casefold()
            match = dom.isin(domains)
            for d in domains:  # subdomains (mail.rivalcrm.example): loop over domains, not leads
                match = match | dom.str.endswith("." + d)
            return match

        has_at = email.str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
        rows = np.flatnonzero(has_at & _may_end_with(email, domains))
        hit[rows] |= _distinct_mask(_after_last_at(email.iloc[rows]), rival)
    companies = _norm(competitor_companies)
    if companies and "company" in leads.columns:
        hit |= _distinct_mask(
            leads["company"], lambda d: d.str.strip().str.casefold().isin(companies)
        )
    return pd.Series(hit, index=pd.Index(ids)).astype(bool)


_ASCII_SPACE = "".join(c for c in map(chr, range(128)) if c.isspace())  # what str.strip drops


def _may_end_with(text: pd.Series, words: Iterable[str]) -> np.ndarray:
    """False only where ``text``, right-stripped and casefolded, cannot end with one of
    ``words`` (casefolded): ASCII text that, stripped of ASCII whitespace and in lower case (its
    casefold), ends with none of them; a few Arrow passes. Non-ASCII text is always True (its
    casefold is not its lower case), and so is text without Arrow storage; missing text False.

    An e-mail whose stripped, casefolded domain is a competitor's or one of its subdomains ends
    so: the domain is the end of the e-mail.

    >>> _may_end_with(pd.Series(["a@RIVAL.example ", "b@rival.example.ok", "c@ſpy.example",
    ...                          None], dtype="str"), ["rival.example", "spy.example"]).tolist()
    [True, False, True, False]
    """
    arr = _arrow(text)
    if arr is None:
        return np.ones(len(text), dtype=bool)
    low = pc.ascii_lower(pc.ascii_rtrim(arr, characters=_ASCII_SPACE))
    may = pc.invert(pc.string_is_ascii(arr))
    for w in words:
        may = pc.or_(may, pc.ends_with(low, w))
    return np.asarray(may.fill_null(False), dtype=bool)


def _after_last_at(email: pd.Series) -> pd.Series:
    """The text after the last ``@`` of each e-mail (all of it when there is none), as
    ``email.str.rsplit("@", n=1).str[-1]``; with Arrow text, without a Python string per row
    (split once from the right; each list's last element read at its offset)."""
    arr = _arrow(email)
    if arr is None:
        return email.str.rsplit("@", n=1).str[-1]
    done = []
    for chunk in arr.chunks:
        parts = pc.split_pattern(chunk, "@", max_splits=1, reverse=True)  # ["a@b", "c"]
        ends = parts.offsets.to_numpy()[1:].astype("int64") - 1  # each list's last element
        valid = parts.is_valid().to_numpy(zero_copy_only=False)
        done.append(parts.values.take(pa.array(np.where(valid, ends, 0), mask=~valid)))
    out = pa.chunked_array(done, type=arr.type)
    return pd.Series(pd.array(out, dtype="str"), index=email.index)


def _arrow(s: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow strings behind a ``str`` column (no copy), or None for other storage."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s)
        return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return None


def _is_one_of(s: pd.Series, values: Iterable[Any]) -> np.ndarray:
    """Which of ``s`` equal one of ``values``, as text (:func:`leadnb.arrays.in_set`); a
    categorical by its categories."""
    wanted = pd.Series([str(v) for v in values], dtype="str")
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _distinct_mask(s, lambda d: d.isin(wanted))
    return in_set(s, wanted)


def segment_leads(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    scores: pd.DataFrame | None,
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    competitor_domains: Sequence[str] = (),
    competitor_tags: Sequence[str] = ("competitor",),
    competitor_companies: Sequence[str] = (),
    outcome_stage: str = "sql",
    fast_days: int = 30,
    engaged_min_events: int = 25,
    sales_signals: Mapping[str, Sequence[str]] = DEFAULT_SALES_SIGNALS,
    activity: LeadActivity | None = None,
) -> pd.Series:
    """One segment per lead, by the rules of the module docstring, in their order.

    ``scores`` is not used by the rules (a high score is deliberately not a criterion) and may be
    None; it is accepted so callers can pass the same frames to every function here. Without stage
    dates, ``leads.converted`` counts as converted, "fast" cannot be judged (no lead is
    ``converted_fast``) and an ask for sales counts whenever it came within ``fast_days`` (its
    order against the outcome is unknown).

    Parameters
    ----------
    leads, events, scores, stage_dates
        The leads and events tables, the scores (unused), the wide stage-date frame (or None).
    as_of
        The analysis date.
    competitor_domains, competitor_tags, competitor_companies
        See :func:`competitor_mask`.
    outcome_stage
        The stage that counts as converted.
    fast_days
        Asking for sales (before converting), or reaching ``outcome_stage``, within this many
        days of creation.
    engaged_min_events
        Events by ``as_of`` from which a lead is engaged.
    sales_signals
        ``event_type -> values`` that count as asking for sales.
    activity
        :func:`lead_activity` of the same leads, events and ``as_of``, to read the events once
        for this and :func:`high_quality_leads`; None reads them here.

    Returns
    -------
    pandas.Series
        ``segment``, categorical with :data:`SEGMENTS`, indexed by ``lead_id``.

    Raises
    ------
    ParamsError
        ``activity`` was found for other leads, another ``as_of`` or without the sales-signal
        event types.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c", "d"],
    ...     "tags": ["competitor", None, None, None],
    ...     "created_at": pd.to_datetime(["2026-06-01"] * 4)})
    >>> ev = pd.DataFrame({"lead_id": ["b"], "ts": pd.to_datetime(["2026-06-03"]),
    ...     "event_type": ["form_submit"], "value": ["contact_sales"]})
    >>> stages = pd.DataFrame({"lead_id": ["a", "b", "c", "d"],
    ...     "sql_at": pd.to_datetime([None, "2026-06-10", "2026-06-05", None])})
    >>> segment_leads(leads, ev, None, stages, as_of=pd.Timestamp("2026-06-30")).tolist()
    ['competitor', 'asked_for_sales', 'converted_fast', 'other']
    """
    del scores  # documented: the segment rules never look at the score
    require_columns(leads, ["lead_id"], table="leads")
    as_of = pd.Timestamp(as_of)
    ids = pd.Index(leads["lead_id"].astype("str"))
    tags_on = bool(_norm(competitor_tags))
    signal_types = [str(t) for t in sales_signals] if sales_signals else []
    row_types = list(dict.fromkeys([*signal_types, *(["tag_added"] if tags_on else [])]))
    if activity is not None and events is not None:
        activity._check(ids, as_of, row_types)
        ids = activity.lead_ids  # equal; pandas has hashed this one already (is_unique)
    created = pd.Series(
        pd.to_datetime(leads["created_at"]).to_numpy() if "created_at" in leads else pd.NaT,
        index=ids,
    )
    n_events = np.zeros(len(ids), dtype="int64")
    tag_rows = None
    signals: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if events is not None:
        if activity is not None:
            n_events, rows = activity.events, activity.rows
        else:
            found = _lead_events(events, ids, as_of, row_types=row_types)
            n_events, rows = found.n, found.rows
        tag_rows = rows.get("tag_added") if tags_on else None
        signals = {t: rows[t] for t in signal_types}
    comp = _competitor(
        leads, events, tag_rows, competitor_domains=competitor_domains,
        competitor_tags=competitor_tags, competitor_companies=competitor_companies,
    )  # fmt: skip
    reached, fast_conv = _converted_at(stage_dates, ids, created, as_of, outcome_stage, fast_days)
    asked = np.zeros(len(ids), dtype=bool)
    if signals and "value" in events.columns:  # type: ignore[union-attr]
        # the earliest ask per lead, among asks seen before the lead reached the outcome
        reached_us = to_us(reached)
        first = np.full(len(ids), np.iinfo(np.int64).max, dtype="int64")
        for et, values in sales_signals.items():
            row, lead, when = signals[str(et)]
            if not len(row):
                continue
            said = _is_one_of(events["value"].iloc[row], values)
            outcome_at = reached_us[lead]
            before = (outcome_at == NAT_US) | (when < outcome_at)  # NaT: not reached
            ok = said & before
            np.minimum.at(first, lead[ok], when[ok])
        created_us = to_us(created)
        seen = (first != np.iinfo(np.int64).max) & (created_us != NAT_US)
        within = first - np.where(seen, created_us, 0) <= fast_days * _US_PER_DAY
        asked = seen & within
    n_events = pd.Series(n_events, index=ids)
    asked = pd.Series(asked, index=ids)
    code = np.select(
        [
            comp.to_numpy(dtype=bool),
            asked.to_numpy(dtype=bool),
            fast_conv.to_numpy(dtype=bool),
            (n_events >= engaged_min_events).to_numpy(dtype=bool),
        ],
        [SEGMENTS.index(s) for s in
         ("competitor", "asked_for_sales", "converted_fast", "engaged_nurture")],
        default=SEGMENTS.index("other"),
    )  # fmt: skip
    seg = pd.Categorical.from_codes(code, categories=SEGMENTS)  # no text per lead
    return pd.Series(seg, index=ids, name="segment")


def _converted_at(
    stage_dates: pd.DataFrame | None,
    ids: pd.Index,
    created: pd.Series,
    as_of: pd.Timestamp,
    outcome_stage: str,
    fast_days: int,
) -> tuple[pd.Series, pd.Series]:
    """(when each lead reached the outcome, NaT when not by as_of or unknown; reached it within
    fast_days of creation), both indexed by lead_id."""
    col = f"{outcome_stage}_at"
    if stage_dates is not None and col in stage_dates.columns:
        reached = pd.Series(
            pd.to_datetime(stage_dates[col]).to_numpy(),
            index=pd.Index(stage_dates["lead_id"].astype("str")),
        )
        reached = _aligned(reached, ids)
        conv = asof.known(reached, as_of)
        reached = reached.where(conv)
        fast = conv & ((reached - created) <= pd.Timedelta(days=fast_days)).fillna(False)
        return reached, fast.astype(bool)
    never = pd.Series(pd.NaT, index=ids, dtype="datetime64[us]")
    return never, pd.Series(False, index=ids)


SUMMARY_COLUMNS: dict[str, Column] = {
    "segment": Column("Segment", Kind.TEXT),
    "n": Column("Leads", Kind.COUNT),
    "mean_score": Column("Mean score today", Kind.SCORE),
    "median_score": Column("Median score today", Kind.SCORE),
    "conversions": Column("Converted", Kind.COUNT),
    "rate": Column("Conversion rate", Kind.RATE),
    "ci_low": Column("95% CI low", Kind.RATE, "Wilson"),
    "ci_high": Column("95% CI high", Kind.RATE, "Wilson"),
    "share_of_conversions": Column("Share of all conversions", Kind.RATE),
    "defined_by_outcome": Column(
        "Defined by the outcome", Kind.FLAG, "membership uses the conversion itself: rate 100%"
    ),
}
"""How :func:`segment_summary` is shown to a reader: label and kind of each column."""


def segment_text(segments: pd.Series, lead_ids: Any) -> pd.array:
    """Each of ``lead_ids``' segment (:func:`segment_leads` output) as text, in their order;
    missing for a lead without one. For a per-lead table's ``segment`` column.

    >>> seg = pd.Series(pd.Categorical(["icp", "other"]), index=["L1", "L2"])
    >>> list(segment_text(seg, ["L2", "L3", "L1"]))
    ['other', nan, 'icp']
    """
    return arrays.as_text(segments.reindex(lead_ids)).array


def segment_summary(
    segments: pd.Series,
    scores: pd.Series,
    outcome: pd.Series,
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per segment: leads, score and conversion with a Wilson interval.

    The three Series are indexed by ``lead_id``; only leads present in all three count.

    Parameters
    ----------
    segments
        :func:`segment_leads` output.
    scores
        Each lead's score.
    outcome
        Each lead's 0/1 outcome.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per segment (in :data:`SEGMENTS` order): ``segment``, ``n``, ``mean_score``,
        ``median_score``, ``conversions``, ``rate``, ``ci_low``, ``ci_high`` (Wilson),
        ``share_of_conversions``, ``defined_by_outcome`` (True for a segment in
        :data:`DEFINED_BY_OUTCOME`: its rate is true by definition); shown with
        :data:`SUMMARY_COLUMNS`.

    Raises
    ------
    NotEnoughData
        No lead has a segment, a score and an outcome.

    Examples
    --------
    >>> ids = ["a", "b", "c", "d"]
    >>> seg = pd.Series(["competitor", "other", "other", "other"], index=ids)
    >>> out = segment_summary(seg, pd.Series([50.0, 5, 10, 15], index=ids),
    ...                       pd.Series([0.0, 1, 0, 1], index=ids))
    >>> out[["segment", "n", "mean_score", "conversions", "rate"]]
          segment  n  mean_score  conversions      rate
    0  competitor  1        50.0          0.0  0.000000
    1       other  3        10.0          2.0  0.666667
    """
    df = pd.concat(
        {
            "segment": arrays.as_text(segments),
            "score": scores.astype("float64"),
            "y": outcome.astype("float64"),
        },
        axis=1,
        join="inner",  # fmt: skip
    ).dropna()
    if df.empty:
        raise NotEnoughData("there are no leads with a score and an outcome to put in segments")
    g = df.groupby("segment", sort=False)
    out = g.agg(
        n=("y", "size"),
        mean_score=("score", "mean"),
        median_score=("score", "median"),
        conversions=("y", "sum"),
    )
    order = [s for s in SEGMENTS if s in out.index] + [s for s in out.index if s not in SEGMENTS]
    out = out.reindex(order).reset_index()
    out["n"] = out["n"].astype("int64")
    out["rate"] = out["conversions"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson(out["conversions"], out["n"], alpha)
    total = out["conversions"].sum()
    out["share_of_conversions"] = out["conversions"] / total if total > 0 else np.nan
    out["defined_by_outcome"] = out["segment"].isin(DEFINED_BY_OUTCOME).astype(bool)
    return out


SEGMENT_BAND_COLUMNS: dict[str, Column] = {
    "segment": Column("Segment", Kind.TEXT),
    "band": Column("Band", Kind.TEXT, "0 is the lowest-scoring band"),
    "score_min": Column("From score", Kind.SCORE),
    "score_max": Column("To score", Kind.SCORE),
    "n": Column("Leads", Kind.COUNT),
    "conversions": Column("Converted", Kind.COUNT),
    "rate": Column("Conversion rate", Kind.RATE),
    "ci_low": Column("95% CI low", Kind.RATE, "Wilson"),
    "ci_high": Column("95% CI high", Kind.RATE, "Wilson"),
}
"""How :func:`segment_bands` is shown to a reader: label and kind of each column."""


def segment_bands(
    segments: pd.Series,
    scores: pd.Series,
    outcome: pd.Series,
    edges: Sequence[float],
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Conversion by segment and score band (fixed ``edges``).

    Bins are ``[e_i, e_i+1)``, the last one closed; scores outside the edges are left out.

    Parameters
    ----------
    segments, scores, outcome
        Series indexed by ``lead_id`` (see :func:`segment_summary`).
    edges
        Band edges (:func:`score_edges`).
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per segment and band with leads: ``segment``, ``band`` (0-based), ``score_min``,
        ``score_max`` (the band's edges), ``n``, ``conversions``, ``rate``, ``ci_low``,
        ``ci_high`` (Wilson); shown with :data:`SEGMENT_BAND_COLUMNS`.

    Raises
    ------
    NotEnoughData
        No scores, or fewer than two distinct edges (every lead has the same score).

    Examples
    --------
    >>> ids = ["a", "b", "c"]
    >>> out = segment_bands(pd.Series(["other"] * 3, index=ids), pd.Series([1.0, 5, 9], index=ids),
    ...                     pd.Series([0.0, 0, 1], index=ids), [0, 5, 10])
    >>> out[["segment", "band", "score_min", "score_max", "n", "rate"]]
      segment  band  score_min  score_max  n  rate
    0   other     0        0.0        5.0  1   0.0
    1   other     1        5.0       10.0  2   0.5
    """
    if len(scores) == 0:
        raise NotEnoughData("there are no scored leads to put in score bands")
    if len(np.unique(np.asarray(edges, dtype="float64"))) < 2:
        raise NotEnoughData(
            "every lead has the same score, so there are no score bands to compare within segments",
            "it appears once leads earn different points",
        )
    df = pd.concat(
        {
            "segment": arrays.as_text(segments),
            "score": scores.astype("float64"),
            "y": outcome.astype("float64"),
        },
        axis=1,
        join="inner",  # fmt: skip
    ).dropna()
    e = np.asarray(sorted(edges), dtype="float64")
    b = np.searchsorted(e, df["score"].to_numpy(), side="right") - 1
    b = np.where(df["score"].to_numpy() == e[-1], len(e) - 2, b)
    df = df.assign(band=b).loc[(b >= 0) & (b <= len(e) - 2)]
    out = (
        df.groupby(["segment", "band"], sort=True)
        .agg(n=("y", "size"), conversions=("y", "sum"))
        .reset_index()
    )
    out["score_min"] = e[out["band"].to_numpy()]
    out["score_max"] = e[out["band"].to_numpy() + 1]
    out["rate"] = out["conversions"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson(out["conversions"], out["n"], alpha)
    return out[["segment", "band", "score_min", "score_max", "n", "conversions", "rate",
                "ci_low", "ci_high"]]  # fmt: skip


def score_edges(scores: pd.Series, *, n_bands: int = 5) -> np.ndarray:
    """Quantile edges of ``scores`` for :func:`segment_bands`.

    Parameters
    ----------
    scores
        The scores (non-numbers are dropped).
    n_bands
        Number of quantile bands; tied quantiles merge, so there can be fewer.

    Returns
    -------
    numpy.ndarray
        Distinct edges, lowest first (empty without scores).

    Examples
    --------
    >>> score_edges(pd.Series([0.0, 10.0, 20.0]), n_bands=2).tolist()
    [0.0, 10.0, 20.0]
    """
    s = pd.to_numeric(pd.Series(scores), errors="coerce").dropna().to_numpy(dtype="float64")
    if len(s) == 0:
        return np.array([], dtype="float64")
    return np.unique(np.quantile(s, np.linspace(0, 1, n_bands + 1)))


def profile_notes(
    leads: pd.DataFrame,
    *,
    competitor_domains: Sequence[str] = (),
    competitor_companies: Sequence[str] = (),
    target_industries: Sequence[str] = (),
    abm_accounts: Sequence[str] = (),
) -> list[str]:
    """One sentence per configured criterion the leads table cannot support.

    A criterion whose column is missing is left out; the segments and the list then run without
    it, and the report says so.

    Parameters
    ----------
    leads
        The leads table.
    competitor_domains, competitor_companies, target_industries, abm_accounts
        The configured criteria.

    Returns
    -------
    list of str
        The sentences (empty when every configured criterion can be checked).

    Examples
    --------
    >>> profile_notes(pd.DataFrame({"lead_id": ["a"]}), competitor_domains=["x.example"])
    ['Competitor e-mail domains are not checked: leads has no email column (map it in data.leads).']
    """
    notes = []
    checks = (
        (competitor_domains, "email", "Competitor e-mail domains are not checked"),
        (competitor_companies, "company", "Competitor company names are not checked"),
        (target_industries, "industry", "Target industries are not checked for the list"),
        (abm_accounts, "account_id", "The ABM account list is not checked for the list"),
    )
    for configured, column, what in checks:
        if len(configured) and column not in leads.columns:
            notes.append(f"{what}: leads has no {column} column (map it in data.leads).")
    return notes


def read_account_list(path: str | Path | None, base_dir: Path | None = None) -> list[str]:
    """Read an ABM account list: a CSV with an ``account_id`` column, or one id per line.

    Parameters
    ----------
    path
        The file; None or empty: no ABM list.
    base_dir
        The folder a relative ``path`` is relative to (the params file's).

    Returns
    -------
    list of str
        Distinct account ids, sorted (empty for no list).

    Raises
    ------
    ParamsError
        The file is missing, or has several columns and none is ``account_id``.

    Examples
    --------
    >>> read_account_list("")
    []
    """
    if path is None or str(path).strip() == "":
        return []
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = (base_dir / p).resolve()
    if not p.exists():
        raise ParamsError(
            f"ABM account list not found: {p}",
            file=str(p),
            fix="set scoring_calibration.abm_accounts_file to a CSV with an account_id column "
            '(relative to the params file), or to "" for no ABM list',
        )
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    if not lines:
        return []
    header = [h.strip().strip('"').casefold() for h in lines[0].replace(";", ",").split(",")]
    if "account_id" not in header and len(header) > 1:
        raise ParamsError(
            f"the ABM account list has several columns but none is account_id "
            f"(first line: {lines[0][:80]})",
            file=str(p),
            fix="name the column account_id, or write one account id per line",
        )
    if "account_id" in header:
        sep = next((c for c in (",", ";", "\t") if c in lines[0]), ",")
        df = pd.read_csv(p, dtype="str", sep=sep, encoding="utf-8-sig")
        df.columns = [str(c).strip().strip('"').casefold() for c in df.columns]
        if "account_id" not in df.columns:
            raise ParamsError(
                f"the ABM account list has no account_id column (columns: {', '.join(df.columns)})",
                file=str(p),
                fix="name the column account_id, or write one account id per line",
            )
        return sorted(set(df["account_id"].dropna().str.strip()))
    return sorted(set(lines))


def high_quality_leads(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    scores: pd.DataFrame,
    segments: pd.Series,
    *,
    as_of: pd.Timestamp,
    target_industries: Sequence[str] = (),
    abm_accounts: Sequence[str] = (),
    follow_up_days: int = 14,
    min_score: float = 0.0,
    min_interactions: int = 1,
    exclude: Sequence[str] = ("competitor",),
    converted: pd.Series | None = None,
    activity: LeadActivity | None = None,
) -> pd.DataFrame:
    """The high-quality list SDRs revisit on a cadence (no names, e-mails or phones).

    Keeps leads that match the ICP (industry in ``target_industries`` OR account in
    ``abm_accounts``; no filter when both are empty; a criterion whose column is missing is left
    out), are not in an ``exclude`` segment (competitors), are not already converted, have
    ``score >= min_score`` and at least ``min_interactions`` events by ``as_of``.

    Parameters
    ----------
    leads, events
        The leads and events tables.
    scores
        :func:`leadnb.scoring.engine.score` output (``lead_id``, ``score``).
    segments
        :func:`segment_leads` output.
    as_of
        The analysis date.
    target_industries, abm_accounts
        The ICP.
    follow_up_days
        The cadence: revisit every N days after the last touch.
    min_score, min_interactions
        Floors.
    exclude
        Segments left out.
    converted
        Boolean Series by ``lead_id`` (converted leads are left out), or None.
    activity
        :func:`lead_activity` of the same leads, events and ``as_of`` (as given to
        :func:`segment_leads`), so the events are not read again; None reads them here.

    Returns
    -------
    pandas.DataFrame
        One row per listed lead: ``lead_id``, ``account_id``, ``industry``, ``segment``,
        ``score``, ``interactions``, ``event_signups``, ``events_attended`` (past participation by
        as_of), ``last_touch`` (last event, else created_at), ``days_since_touch``,
        ``next_follow_up`` (the first date >= as_of on the cadence last_touch + k *
        follow_up_days, k >= 1), ``overdue_days`` (days since the previous cadence date that was
        missed, 0 when none). Sorted for SDRs: next follow-up first, then highest score, then
        most interactions.

    Raises
    ------
    NotEnoughData
        An ICP is configured and none of its columns exists.
    ParamsError
        ``follow_up_days`` is below 1, or ``activity`` was found for other leads or another
        ``as_of``.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"], "industry": ["software", "retail"],
    ...     "created_at": pd.to_datetime(["2026-05-01", "2026-05-01"])})
    >>> ev = pd.DataFrame({"lead_id": ["a", "b"], "ts": pd.to_datetime(["2026-06-20"] * 2),
    ...     "event_type": ["content_read"] * 2})
    >>> scores = pd.DataFrame({"lead_id": ["a", "b"], "score": [20.0, 30.0]})
    >>> seg = pd.Series(["engaged_nurture", "engaged_nurture"], index=["a", "b"])
    >>> hq = high_quality_leads(leads, ev, scores, seg, as_of=pd.Timestamp("2026-06-30"),
    ...                         target_industries=["Software"])
    >>> hq[["lead_id", "score", "last_touch", "next_follow_up", "overdue_days"]]
      lead_id  score last_touch next_follow_up  overdue_days
    0       a   20.0 2026-06-20     2026-07-04           0.0
    """
    if follow_up_days < 1:
        raise ParamsError(f"follow_up_days must be >= 1, got {follow_up_days}", fix="use e.g. 14")
    usable_inds = len(target_industries) > 0 and "industry" in leads.columns
    usable_accts = len(abm_accounts) > 0 and "account_id" in leads.columns
    if (len(target_industries) or len(abm_accounts)) and not (usable_inds or usable_accts):
        raise NotEnoughData(
            "the target profile (target industries or ABM accounts) cannot be matched: leads has "
            + ("no industry column" if len(target_industries) else "")
            + (" and " if len(target_industries) and len(abm_accounts) else "")
            + ("no account_id column" if len(abm_accounts) else ""),
            "map those columns in data.leads, or set target_industries: [] and "
            'abm_accounts_file: "" to list leads of any profile',
        )
    require_columns(leads, ["lead_id"], table="leads")
    require_columns(
        scores, ["lead_id", "score"], table="scores",
        fix="pass the frame leadnb.scoring.engine.score returns",
    )  # fmt: skip
    as_of = pd.Timestamp(as_of)
    ids = pd.Index(leads["lead_id"].astype("str"))
    if activity is not None and events is not None:
        activity._check(ids, as_of)
        ids = activity.lead_ids  # equal; pandas has hashed this one already (is_unique)
    sc = _aligned(scores.set_index(scores["lead_id"].astype("str"))["score"], ids)
    if sc.isna().all() and len(ids):
        raise DataError(
            "scores do not match any lead_id of leads", table="scores", column="lead_id"
        )
    # who can be listed, from the score, segment, outcome and profile (no event needed); the
    # text of the profile is read for the leads still in the running only
    keep = sc.to_numpy(dtype="float64") >= min_score
    seg = _aligned(segments, ids)
    keep &= ~_distinct_mask(seg, lambda d: d.isin(list(exclude)))
    if converted is not None:
        keep &= ~_aligned(converted, ids).fillna(False).astype(bool).to_numpy(dtype=bool)
    inds, accts = _norm(target_industries), {str(a).strip() for a in abm_accounts}
    if inds or accts:
        rows = np.flatnonzero(keep)
        icp = np.zeros(len(rows), dtype=bool)
        if "industry" in leads:
            icp |= _distinct_mask(
                leads["industry"].iloc[rows], lambda d: d.str.strip().str.casefold().isin(inds)
            )
        if "account_id" in leads:
            wanted = pd.Series(sorted(accts), dtype="str")
            icp |= _distinct_mask(
                leads["account_id"].iloc[rows], lambda d: in_set(d.str.strip(), wanted)
            )
        keep[rows] = icp
    # their events by as_of: one pass (or the segments' one), counted for the candidates only
    rows = np.flatnonzero(keep)
    if events is not None and activity is not None:
        n, last_us = activity.events[rows], activity.last_us[rows]
        signups = activity.by_type["event_signup"][rows]
        attended = activity.by_type["event_attended"][rows]
    elif events is not None:
        found = _lead_events(
            events, ids, as_of, last=True, count_types=ACTIVITY_COUNT_TYPES, among=rows
        )
        n, last_us = found.n, found.last_us
        signups, attended = found.by_type["event_signup"], found.by_type["event_attended"]
    else:
        n = signups = attended = np.zeros(len(rows), dtype="int64")
        last_us = np.full(len(rows), NAT_US, dtype="int64")
    assert last_us is not None
    listed = n >= min_interactions
    rows, n, last_us = rows[listed], n[listed], last_us[listed]
    signups, attended = signups[listed], attended[listed]
    created_us = (
        to_us(leads["created_at"].iloc[rows])
        if "created_at" in leads
        else np.full(len(rows), NAT_US, dtype="int64")
    )
    last_touch = np.where(last_us == NAT_US, created_us, last_us).view("datetime64[us]")
    rid = ids[rows]
    out = pd.DataFrame(
        {
            "lead_id": rid,
            "account_id": _listed_text(leads["account_id"], rows)
            if "account_id" in leads else pd.Series(pd.NA, index=rid, dtype="str"),
            "industry": _listed_text(leads["industry"], rows)
            if "industry" in leads else pd.Series(pd.NA, index=rid, dtype="str"),
            "segment": _listed_text(seg, rows),
            "score": sc.to_numpy(dtype="float64")[rows],
            "interactions": n.astype("int64"),
            "event_signups": signups.astype("int64"),
            "events_attended": attended.astype("int64"),
            "last_touch": last_touch,
        },
        index=rid.rename(None),
    )  # fmt: skip
    last_day = out["last_touch"].dt.normalize()
    step = pd.Timedelta(days=follow_up_days)
    days_since = (as_of.normalize() - last_day) / pd.Timedelta(days=1)
    k = np.maximum(1, np.ceil(days_since / follow_up_days)).fillna(1)
    out["days_since_touch"] = days_since
    out["next_follow_up"] = (last_day + k.astype("int64") * step).astype("datetime64[us]")
    missed = np.floor(days_since / follow_up_days).clip(lower=0)
    prev_due = last_day + missed.fillna(0).astype("int64") * step
    out["overdue_days"] = np.where(
        missed >= 1, (as_of.normalize() - prev_due) / pd.Timedelta(days=1), 0.0
    )
    out = out.sort_values(
        ["next_follow_up", "score", "interactions", "lead_id"],
        ascending=[True, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    leaked = [c for c in out.columns if c in PII_COLUMNS]
    assert not leaked, leaked
    return out


def _listed_text(s: pd.Series, rows: np.ndarray) -> Any:
    """The listed ``rows`` of ``s`` as text, typed as the column of every lead would be: ``str``
    (even with no row listed), or object when no lead has a value."""
    text = s.iloc[rows].astype("str")
    return text.array if s.notna().any() else text.to_numpy(dtype=object)


LIST_COUNT_COLUMNS: dict[str, Column] = {
    "segment": Column("Segment", Kind.TEXT),
    "leads": Column("Leads on the list", Kind.COUNT),
    "due_this_week": Column("Follow-ups due within 7 days", Kind.COUNT),
}
"""How :func:`segment_counts` is shown to a reader: label and kind of each column."""


def segment_counts(hq: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Counts for the HTML report, with no lead-level detail.

    Parameters
    ----------
    hq
        :func:`high_quality_leads` output.
    as_of
        The analysis date.

    Returns
    -------
    pandas.DataFrame
        One row per segment on the list: ``segment``, ``leads``, ``due_this_week`` (next
        follow-up before ``as_of`` + 7 days); shown with :data:`LIST_COUNT_COLUMNS`.

    Examples
    --------
    >>> hq = pd.DataFrame({"lead_id": ["a", "b"], "segment": ["asked_for_sales"] * 2,
    ...     "next_follow_up": pd.to_datetime(["2026-07-02", "2026-07-20"])})
    >>> segment_counts(hq, pd.Timestamp("2026-06-30"))
               segment  leads  due_this_week
    0  asked_for_sales      2              1
    """
    if hq.empty:
        return pd.DataFrame({"segment": [], "leads": [], "due_this_week": []})
    week_end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=7)
    g = hq.assign(due=hq["next_follow_up"] < week_end).groupby("segment", sort=False)
    return g.agg(leads=("lead_id", "size"), due_this_week=("due", "sum")).reset_index()


LIST_ORDER = ("due_week", "score", "next_follow_up", "lead_id")
"""The order of the ranked SDR list (:func:`rank_for_capacity`), most urgent first: the week
the follow-up falls due (this week first), then the highest score, then the earliest follow-up
date, then the lead id (so ties always rank the same way).

Asking for sales is deliberately not a priority key: on the demo, the listed leads that had
asked for sales but not converted by 2026-03-31 reached SQL in the next 90 days no more often
than the engaged ones (2 of 345, 0.6%, against 15 of 928, 1.6%): the ask predicts a *fast*
conversion, and a lead still on the list has already missed it."""

RANKED_LIST_COLUMNS: dict[str, Column] = {
    "rank": Column("Rank", Kind.COUNT, "1 is called first"),
    "lead_id": Column("Lead", Kind.TEXT),
    "segment": Column("Segment", Kind.TEXT),
    "score": Column("Score today", Kind.SCORE),
    "last_touch": Column("Last touch", Kind.DATE),
    "next_follow_up": Column("Follow-up due", Kind.DATE),
    "this_week": Column("Call this week", Kind.FLAG),
    "queue_week": Column("Call in week", Kind.COUNT, "0 is this week, 1 next week, ..."),
}
"""How the top of :func:`rank_for_capacity`'s list is shown to a reader (lead ids, no contact
details)."""


def rank_for_capacity(
    hq: pd.DataFrame, *, as_of: pd.Timestamp, capacity_per_week: int
) -> pd.DataFrame:
    """Rank the SDR list for a team that calls ``capacity_per_week`` leads a week; queue the rest.

    Leads are ranked by :data:`LIST_ORDER`. Week 0 is the seven days from ``as_of``; a lead is
    due in week ``floor((next_follow_up - as_of) / 7 days)``. The ranked list is then worked
    week by week: each week the team calls up to ``capacity_per_week`` leads, never a lead
    before its follow-up falls due (the cadence is kept), and leads it could not reach wait for
    the next week, ahead of the leads that fall due then. So ``this_week`` marks the first
    ``capacity_per_week`` leads of the ranking when at least that many are due this week, and
    every lead due this week otherwise.

    Parameters
    ----------
    hq
        :func:`high_quality_leads` output (``lead_id``, ``segment``, ``score``,
        ``next_follow_up``).
    as_of
        The analysis date (week 0 starts on it).
    capacity_per_week
        Leads a week the SDR team can call (the notebook's ``sdr_capacity_per_week``), >= 1.

    Returns
    -------
    pandas.DataFrame
        ``hq``'s rows and columns, sorted by rank, with ``rank`` first (1 = call first) and two
        columns added: ``this_week`` (bool: called this week) and ``queue_week`` (the week the
        lead is called: 0 this week, 1 next week, ...). Shown with :data:`RANKED_LIST_COLUMNS`.

    Raises
    ------
    ParamsError
        ``capacity_per_week`` is below 1.

    Examples
    --------
    Capacity 2; three leads due this week, one next week: the two highest-scoring due this week
    are called now; the third waits a week and is still called before the lead that falls due
    then, whatever its score.

    >>> hq = pd.DataFrame({"lead_id": ["a", "b", "c", "d"],
    ...     "segment": ["engaged_nurture", "asked_for_sales", "engaged_nurture", "engaged_nurture"],
    ...     "score": [40.0, 50.0, 30.0, 90.0],
    ...     "next_follow_up": pd.to_datetime(["2026-07-01", "2026-07-03", "2026-06-30",
    ...                                       "2026-07-08"])})
    >>> rank_for_capacity(hq, as_of=pd.Timestamp("2026-06-30"), capacity_per_week=2)
       rank lead_id          segment  score next_follow_up  this_week  queue_week
    0     1       b  asked_for_sales   50.0     2026-07-03       True           0
    1     2       a  engaged_nurture   40.0     2026-07-01       True           0
    2     3       c  engaged_nurture   30.0     2026-06-30      False           1
    3     4       d  engaged_nurture   90.0     2026-07-08      False           1
    """
    if capacity_per_week < 1:
        raise ParamsError(
            f"sdr_capacity_per_week must be >= 1, got {capacity_per_week}",
            fix="set scoring_calibration.sdr_capacity_per_week to the leads a week the team calls",
        )
    require_columns(
        hq, ["lead_id", "segment", "score", "next_follow_up"], table="high_quality_leads",
        fix="pass the frame leadnb.scoring.segments.high_quality_leads returns",
    )  # fmt: skip
    start = pd.Timestamp(as_of).normalize()
    days = (pd.to_datetime(hq["next_follow_up"]) - start) / pd.Timedelta(days=1)
    due_week = np.floor(days.to_numpy(dtype="float64")).clip(min=0) // 7
    due_week = np.nan_to_num(due_week, nan=0.0).astype("int64")  # no date: due now
    keys = pd.DataFrame(
        {
            "due_week": due_week,
            "score": pd.to_numeric(hq["score"], errors="coerce").to_numpy(dtype="float64"),
            "next_follow_up": pd.to_datetime(hq["next_follow_up"]).to_numpy(),
            "lead_id": hq["lead_id"].astype("str").to_numpy(),
        }
    )
    order = keys.sort_values(
        list(LIST_ORDER), ascending=[True, False, True, True], kind="stable",
        na_position="last",
    ).index.to_numpy()  # fmt: skip
    out = hq.iloc[order].reset_index(drop=True)
    week = _weeks_called(due_week[order], int(capacity_per_week))
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype="int64"))
    out["this_week"] = week == 0
    out["queue_week"] = week
    return out


def _weeks_called(due_week: np.ndarray, capacity: int) -> np.ndarray:
    """The week each lead is called, for leads in rank order (``due_week`` non-decreasing).

    Unit jobs released in weeks ``r`` (sorted), ``capacity`` a week, first come first served:
    lead ``i`` is called in week ``max over j <= i of r[j] + (i - j) // capacity``; the maximum
    is reached at the first lead of some due week, so one vectorised pass per distinct due week
    (a handful: follow-ups fall due within one cadence) gives it.

    >>> _weeks_called(np.array([0, 0, 0, 1, 1, 3]), 2).tolist()
    [0, 0, 1, 1, 2, 3]
    """
    i = np.arange(len(due_week), dtype="int64")
    week = np.zeros(len(due_week), dtype="int64")
    for w in np.unique(due_week):  # loop over due weeks, not leads
        j = int(np.searchsorted(due_week, w, side="left"))
        cand = np.where(i >= j, w + (i - j) // capacity, 0)
        week = np.maximum(week, cand)
    return week


__all__ = [
    "ACTIVITY_COUNT_TYPES",
    "DEFAULT_SALES_SIGNALS",
    "DEFINED_BY_OUTCOME",
    "LIST_ORDER",
    "RANKED_LIST_COLUMNS",
    "LIST_COUNT_COLUMNS",
    "SEGMENTS",
    "SEGMENT_BAND_COLUMNS",
    "SEGMENT_LABELS",
    "SUMMARY_COLUMNS",
    "LeadActivity",
    "competitor_mask",
    "high_quality_leads",
    "lead_activity",
    "profile_notes",
    "rank_for_capacity",
    "read_account_list",
    "score_edges",
    "segment_bands",
    "segment_counts",
    "segment_label",
    "segment_leads",
    "segment_summary",
    "segment_text",
    "with_segment_labels",
]
