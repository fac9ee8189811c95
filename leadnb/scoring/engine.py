"""Lead scoring: points from the parsed rules, computed for every lead at once.

Design. :func:`score` turns leads + events into one row per lead: ``lead_id``, ``score``, one
column per category and one ``rule:<name>`` column per rule, so anyone can see why a lead has 73
points. The rules come parsed from :mod:`leadnb.scoring.rules` (whose docstring states what each
rule kind means). It is vectorised and never copies the events frame: every event's ``lead_id``
is mapped onto a lead position (lead ids stored as a categorical, as loaded: each category looked
up once and read by code where a rule needs it; other text: one Arrow hash lookup,
:func:`index_positions`; either in a second thread) while the event types and rule values become
one-byte codes; then the rules run over
pieces of a quarter of a million events (see :func:`_event_points`), each rule a mask over the
piece and one ``np.add.at`` (or ``np.maximum.at``, for ``once``) by lead, straight into the
output frame's memory, event types shared between two threads. There is no Python loop over
leads or events, and no temporary as long as the events table but the lead positions and the
codes (``make bench`` compares it with DuckDB SQL and plain pandas).

The rules themselves (parsing, :class:`~leadnb.scoring.rules.ScoringConfig`, validation) live in
:mod:`leadnb.scoring.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.arrays import (
    NAT_US,
    TextCodes,
    category_positions,
    index_positions,
    text_codes,
    to_us,
)
from leadnb.data.columns import require_columns, require_unique
from leadnb.scoring.rules import (
    _FALSE_TOKENS,
    _TRUE_TOKENS,
    EventCondition,
    FieldCondition,
    Rule,
    ScoringConfig,
)

_US_PER_DAY = 86_400_000_000


# --------------------------------------------------------------------------------------------
# Scoring


def _small_int(k: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer type holding codes -1 .. k-1."""
    return np.int8 if k < 127 else np.int16 if k < 32_767 else np.int32


@dataclass(frozen=True)
class _Positions:
    """Each event's lead position (-1: no such lead), read a piece at a time (:meth:`at`).

    Events whose lead ids are a categorical (as the loader and a run's shared tables give them)
    keep their category codes and one position per category (``lookup``): a position is read
    as ``lookup[code]`` for the events a rule picked, so no array of 20 million positions is
    made (0.15 s and 80 MB of fresh memory per scoring pass at a million leads, eight passes in
    the scoring notebook). Other lead ids are looked up whole (``lookup`` None: the codes are
    the positions)."""

    codes: np.ndarray
    lookup: np.ndarray | None = None

    def at(self, piece: slice, local: np.ndarray) -> np.ndarray:
        """The positions of the events ``local`` (indices within ``piece``)."""
        picked = self.codes[piece][local]
        return picked if self.lookup is None else self.lookup[picked]


@dataclass
class _EventCodes:
    """What every scoring of the same events shares: each event's lead position and one-byte
    type (and value) code, computed once by :func:`_event_codes` and reused by
    :func:`_event_points` for every set of cutoffs (one per moment, see :func:`score_moments`)."""

    rules: Sequence[Rule]
    by_type: dict[int, list[Rule]]
    wanted: dict[str, np.ndarray]
    type_code: np.ndarray
    value_code: np.ndarray | None
    pos: _Positions
    ts: np.ndarray
    duration: np.ndarray | None
    pieces: list[tuple[int, int]]
    counts: np.ndarray


def _event_codes(events: pd.DataFrame, lead_index: pd.Index, rules: Sequence[Rule]) -> _EventCodes:
    """Pass 1 of :func:`_event_points`: every event's lead position (one Arrow hash of 20
    million strings against a million leads, the costliest step, in a second thread) while this
    thread turns each event type into a one-byte code (-1 for types no rule names) and, for the
    types that have value rules, each value into a code too."""
    conds = [r.when for r in rules if isinstance(r.when, EventCondition)]
    type_cats = pd.Index(sorted({c.event_type for c in conds}), dtype="str")
    value_cats = pd.Index(sorted({v for c in conds for v in c.values or ()}), dtype="str")
    has_values = "value" in events.columns
    has_duration = "duration_s" in events.columns
    by_type: dict[int, list[Rule]] = {}
    for r in rules:
        assert isinstance(r.when, EventCondition)
        if (r.when.values is not None and not has_values) or (
            r.when.min_duration_s is not None and not has_duration
        ):
            continue  # the column the rule needs is absent: it never fires
        by_type.setdefault(int(type_cats.get_loc(r.when.event_type)), []).append(r)
    # a value is stored as its position in value_cats + 1 (0: any other value, or none), so a
    # rule's values are a lookup table: wanted[code] is True for the values the rule names
    wanted: dict[str, np.ndarray] = {}
    is_value_type = np.zeros(len(type_cats) + 1, dtype=bool)  # by type code + 1
    for i, rs in by_type.items():
        for r in rs:
            if r.when.values is not None:
                wanted[r.name] = np.zeros(len(value_cats) + 1, dtype=bool)
                wanted[r.name][value_cats.get_indexer(list(r.when.values)) + 1] = True
                is_value_type[i + 1] = True
    n_events = len(events)
    type_code = np.empty(n_events, dtype=_small_int(len(type_cats)))
    value_code = np.empty(n_events, dtype=_small_int(len(value_cats) + 1)) if wanted else None
    values = TextCodes(events["value"], value_cats) if wanted else None
    counts = np.zeros(len(type_cats) + 1, dtype="int64")  # events per type code + 1

    def fill_values(pieces: Sequence[tuple[int, int]]) -> None:
        assert value_code is not None and values is not None
        for start, stop in pieces:
            local = np.flatnonzero(is_value_type[type_code[start:stop] + 1])
            value_code[start + local] = values.at(start, local) + 1

    lead_ids = events["lead_id"]
    coded = isinstance(lead_ids.dtype, pd.CategoricalDtype)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pos_job = pool.submit(
            category_positions if coded else index_positions, lead_ids, lead_index
        )
        pieces: list[tuple[int, int]] = []  # (start, stop) of each piece of events
        for start, codes in TextCodes(events["event_type"], type_cats).pieces():
            type_code[start : start + len(codes)] = codes
            counts += np.bincount(codes + 1, minlength=len(counts))
            pieces.append((start, start + len(codes)))
        if value_code is not None:  # half of the values here, half once the positions are done
            half = len(pieces) // 2
            values_job = pool.submit(fill_values, pieces[half:])
            fill_values(pieces[:half])
            values_job.result()
        found = pos_job.result()
    pos = _Positions(lead_ids.cat.codes.to_numpy(), found) if coded else _Positions(found)
    duration = None
    if any(r.when.min_duration_s is not None for rs in by_type.values() for r in rs):
        dur = events["duration_s"]
        if not pd.api.types.is_numeric_dtype(dur):
            dur = pd.to_numeric(dur, errors="coerce")
        duration = dur.to_numpy(dtype="float64", na_value=np.nan)  # float64: a view, no copy
    return _EventCodes(
        rules=rules, by_type=by_type, wanted=wanted, type_code=type_code, value_code=value_code,
        pos=pos, ts=to_us(events["ts"]), duration=duration, pieces=pieces, counts=counts,
    )  # fmt: skip


def _event_points(
    codes: _EventCodes,
    cutoff_us: np.ndarray,
    ref_us: np.ndarray,
    out: Mapping[str, np.ndarray],
) -> None:
    """Add every event rule's points into ``out[rule.column]`` (one float per lead, zeros).

    Two passes over the events, so that no temporary is as long as the events table but the
    lead positions and a one-byte code per event:

    1. codes (:func:`_event_codes`, computed once for any number of moments).
    2. rules, a piece of at most :data:`~leadnb.arrays.PIECE_ROWS` events at a time: each rule's events
       are picked from the piece by code, checked against the lead's cutoff, weighted by window
       and decay, and added to their leads with ``np.add.at`` (or ``np.maximum.at`` for
       ``once``). The piece's temporaries fit in the CPU cache and their memory is reused from
       piece to piece, so the work touches little fresh memory (on VMs, where first touches of
       memory are slow, that is most of the difference).

    Each lead's points are summed in event order, exactly as one ``np.bincount`` would.
    """
    by_type, wanted, type_code, value_code = (
        codes.by_type, codes.wanted, codes.type_code, codes.value_code,
    )  # fmt: skip
    pos, ts, duration = codes.pos, codes.ts, codes.duration

    def score_types(type_ids: Sequence[int]) -> None:
        for start, stop in codes.pieces:
            piece = slice(start, stop)
            piece_codes = type_code[piece]
            for i in type_ids:
                local = np.flatnonzero(piece_codes == i)
                if not len(local):
                    continue
                p, when = pos.at(piece, local), ts[piece][local]
                limit = cutoff_us[np.maximum(p, 0)] if cutoff_us.ndim else cutoff_us
                ok = (p >= 0) & (when != NAT_US) & (when <= limit)
                if not ok.all():
                    local, p, when = local[ok], p[ok], when[ok]
                val = None if value_code is None else value_code[piece][local]
                dur = None if duration is None else duration[piece][local]
                for r in by_type[i]:
                    _add_rule(r, p, when, val, dur, wanted.get(r.name), ref_us, out[r.column])

    # two threads, each with whole event types (so each lead's points are still summed in event
    # order, and no two threads write the same column); NumPy releases the GIL in its loops
    halves = _split_by_weight({i: int(codes.counts[i + 1]) for i in by_type}, 2)
    if halves:
        with ThreadPoolExecutor(max_workers=len(halves)) as pool:
            for job in [pool.submit(score_types, h) for h in halves]:
                job.result()
    for r in codes.rules:
        out[r.column] *= r.points


def _split_by_weight(weights: Mapping[int, int], parts: int) -> list[list[int]]:
    """Keys dealt into at most ``parts`` non-empty groups of similar total weight (largest first,
    each to the lightest group)."""
    groups: list[list[int]] = [[] for _ in range(parts)]
    totals = [0] * parts
    for key in sorted(weights, key=lambda k: -weights[k]):
        g = totals.index(min(totals))
        groups[g].append(key)
        totals[g] += weights[key]
    return [g for g in groups if g]


def _add_rule(
    rule: Rule,
    pos: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray | None,
    duration: np.ndarray | None,
    wanted: np.ndarray | None,
    ref_us: np.ndarray,
    out: np.ndarray,
) -> None:
    """Add one piece's matching events of ``rule`` to ``out`` (counts or weights; the caller
    multiplies by the points once at the end)."""
    cond = rule.when
    assert isinstance(cond, EventCondition)
    keep = None
    if wanted is not None and value is not None:
        keep = wanted[value]
    if cond.min_duration_s is not None and duration is not None:
        long_enough = duration >= cond.min_duration_s  # NaN duration never passes
        keep = long_enough if keep is None else keep & long_enough
    if keep is not None:
        pos, ts = pos[keep], ts[keep]
    weight = None  # each event counts 1 unless its points decay
    if rule.window_days is not None or rule.half_life_days is not None:
        # an event later on the as_of day is "now": age 0, never a weight above 1
        age_us = (ref_us[pos] if ref_us.ndim else ref_us) - ts
        age_days = np.maximum(age_us, 0, out=age_us) / _US_PER_DAY
        if rule.window_days is not None:
            within = age_days <= rule.window_days
            pos, age_days = pos[within], age_days[within]
        if rule.half_life_days is not None:
            weight = np.power(0.5, age_days / rule.half_life_days)
    if rule.once:
        if weight is None:
            out[pos] = 1.0
        else:
            np.maximum.at(out, pos, weight)
    else:
        np.add.at(out, pos, 1.0 if weight is None else weight)


def field_mask(leads: pd.DataFrame, cond: FieldCondition) -> np.ndarray:
    """Which leads satisfy a field condition (missing values never do).

    A text field is factorised once: its few thousand distinct values are stripped, case-folded
    and tested, and the answers spread back to the million leads by code.

    Parameters
    ----------
    leads
        The leads table, with the condition's field.
    cond
        The condition (:class:`~leadnb.scoring.rules.FieldCondition`).

    Returns
    -------
    numpy.ndarray
        Boolean, one per lead.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "industry": [" Software", "retail", None]})
    >>> field_mask(leads, FieldCondition("industry", "in", ("software", "banking"))).tolist()
    [True, False, False]
    """
    s = leads[cond.field]
    op, arg = cond.op, cond.arg
    is_text = not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s))
    if is_text:
        codes, distinct = text_codes(s)
        distinct = distinct.str.strip()

        def per_lead(hit: pd.Series) -> np.ndarray:
            """A per-distinct-value answer as a per-lead one (missing: False)."""
            return np.append(hit.fillna(False).to_numpy(dtype=bool), False)[codes]

        present = per_lead(distinct != "")
    else:
        present = s.notna().to_numpy()
    if op == "present":
        return present if arg else ~present

    def text_in(vals: Sequence[Any]) -> np.ndarray:
        tokens: set[str] = set()
        for v in vals:
            if isinstance(v, bool) and is_text:
                tokens.update(_TRUE_TOKENS if v else _FALSE_TOKENS)
            else:
                tokens.add(str(v).strip().casefold())
        return per_lead(distinct.str.casefold().isin(tokens))

    if op in ("equals", "in"):
        vals = list(arg) if op == "in" else [arg]
        if pd.api.types.is_bool_dtype(s):
            out = s.isin(vals).fillna(False).to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(s):
            nums = [float(v) for v in vals if isinstance(v, int | float)]
            out = s.isin(nums).fillna(False).to_numpy(dtype=bool)
        else:
            out = text_in(vals)
        return out & present
    if op == "contains":
        needle = str(arg).strip().casefold()
        return per_lead(distinct.str.casefold().str.contains(needle, regex=False)) & present
    lo, hi = {"gte": (arg, None), "lte": (None, arg), "between": arg}[op]
    if isinstance(lo, pd.Timestamp) or isinstance(hi, pd.Timestamp):
        vals = pd.to_datetime(s, errors="coerce")
        lo = None if lo is None else pd.Timestamp(lo)
        hi = None if hi is None else pd.Timestamp(hi)
    else:
        vals = pd.to_numeric(s, errors="coerce")
    out = vals.notna().to_numpy()
    if lo is not None:
        out = out & (vals >= lo).fillna(False).to_numpy(dtype=bool)
    if hi is not None:
        out = out & (vals <= hi).fillna(False).to_numpy(dtype=bool)
    return out


def _cutoffs(
    leads: pd.DataFrame, as_of: pd.Timestamp, at: pd.Series | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per lead: (last microsecond that counts, the moment ages are measured from).

    ``as_of`` is a whole day (as in :mod:`leadnb.funnel.stages`): events at any hour of that day count,
    and ages are measured from ``as_of`` itself. A decision time ``at`` before that is used as is.
    Without ``at`` every lead shares both moments: they are returned as 0-d arrays, which
    broadcast, so no per-event lookup of the lead's cutoff is needed.
    """
    as_of = pd.Timestamp(as_of)
    as_of_us = to_us([as_of])[0]
    last_us = to_us([asof.day_end(as_of)])[0] - 1
    n = len(leads)
    if at is None:
        return np.asarray(last_us, dtype="int64"), np.asarray(as_of_us, dtype="int64")
    if not isinstance(at, pd.Series):
        raise TypeError("at must be a pandas Series of decision times")
    if len(at) == n and (
        at.index.equals(leads.index) or at.index.equals(pd.Index(leads["lead_id"].astype("str")))
    ):
        aligned = at  # already in the order of the leads: no lookup of a million ids
    else:
        aligned = at.reindex(pd.Index(leads["lead_id"].astype("str")))
    vals = to_us(aligned)
    nat = np.iinfo(np.int64).min
    # no decision time, or one on/after as_of: scored as of as_of (the whole day)
    vals = np.where((vals == nat) | (vals >= as_of_us), last_us, vals)
    limit = np.minimum(vals, last_us)
    return limit, np.minimum(limit, as_of_us)


def score(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    *,
    at: pd.Series | None = None,
) -> pd.DataFrame:
    """Score every lead: points per rule, per category and in total (one row per lead).

    Only events at or before ``min(at, as_of)`` count (``as_of`` is a whole day, see
    :mod:`leadnb.asof`). Window and decay are measured from that decision time. See
    :mod:`leadnb.scoring.rules` for what every rule kind means.

    Parameters
    ----------
    leads
        The leads table (``lead_id`` unique when there are event rules; the columns field rules
        read).
    events
        The events table (``lead_id``, ``ts``, ``event_type``; ``value``, ``duration_s`` when
        rules use them), or None: event rules score 0.
    config
        The parsed scoring rules.
    as_of
        The analysis date.
    at
        Optional per-lead decision times, indexed by ``lead_id`` or aligned with ``leads``; a
        missing time (or one after ``as_of``) means ``as_of``.

    Returns
    -------
    pandas.DataFrame
        One row per lead, in the order of ``leads``: ``lead_id``, ``score`` (the sum of the
        capped category columns), one column per category (after its cap), one ``rule:<name>``
        column per rule (before the category cap).

    Raises
    ------
    DataError
        A column the rules need is missing, or ``lead_id`` is duplicated.

    Examples
    --------
    >>> import pandas as pd
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "content_read"}, "points": 3, "cap": 5}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event_type": ["content_read"] * 3,
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-02-01"])})
    >>> score(leads, ev, cfg, pd.Timestamp("2026-01-31"))[["lead_id", "score", "rule:reads"]]
      lead_id  score  rule:reads
    0       a    5.0         5.0
    1       b    0.0         0.0
    """
    return score_moments(leads, events, config, as_of, [at])[0]


def score_moments(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    ats: Sequence[pd.Series | None],
) -> list[pd.DataFrame]:
    """Score every lead at several moments: ``[score(leads, events, config, as_of, at=at) for at
    in ats]``, with the work the moments share done once.

    Matching 20 million events to their leads and coding their types is most of a scoring; here
    it is done once, and each moment only runs the rules over the coded events with its own
    cutoffs. Field rules are evaluated once too (they read the lead's current profile).

    Parameters
    ----------
    leads, events, config, as_of
        As in :func:`score`.
    ats
        One entry per moment: per-lead decision times (as ``at`` in :func:`score`), or None for
        the analysis date.

    Returns
    -------
    list of pandas.DataFrame
        One :func:`score` frame per moment, in the order of ``ats``.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "content_read"}, "points": 1}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event_type": ["content_read"] * 3,
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-01-20", "2026-01-02"])})
    >>> early = pd.Series(pd.to_datetime(["2026-01-10"]), index=["a"])
    >>> [s["score"].tolist() for s in score_moments(leads, ev, cfg, pd.Timestamp("2026-01-31"),
    ...                                              [None, early])]
    [[2.0, 1.0], [1.0, 1.0]]
    """
    return list(iter_moments(leads, events, config, as_of, ats))


def iter_moments(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    ats: Sequence[pd.Series | None],
) -> Iterator[pd.DataFrame]:
    """:func:`score_moments` one moment at a time: each frame is made when it is asked for, so a
    caller that reduces each moment (to an AUC, to the decided leads' rows) never holds more
    than one moment's million-row frame.

    Parameters
    ----------
    leads, events, config, as_of, ats
        As in :func:`score_moments`.

    Yields
    ------
    pandas.DataFrame
        One :func:`score` frame per moment, in the order of ``ats``.
    """
    require_columns(leads, ["lead_id"], table="leads")
    ids = pd.Index(leads["lead_id"].astype("str"))
    n = len(ids)
    cutoffs = [_cutoffs(leads, as_of, at) for at in ats]
    names = ["score", *config.categories, *config.rule_columns]
    event_rules = [r for r in config.rules if r.is_event]
    codes = None
    if event_rules and events is not None and len(events):
        require_columns(events, ["lead_id", "ts", "event_type"], table="events")
        require_unique(
            ids,
            "the leads table has {n} duplicated lead_id value(s), so events cannot be matched "
            "to one lead",
            table="leads",
            fix="make lead_id unique in the leads table (leadnb validate lists them)",
        )
        if n:
            codes = _event_codes(events, ids, event_rules)
    fields: dict[str, np.ndarray] = {}
    for r in config.rules:
        if isinstance(r.when, FieldCondition):
            require_columns(
                leads,
                [r.when.field],
                table="leads",
                fix=f"scoring rule '{r.name}' reads it: correct the rule's field or map the "
                "column in data.leads.columns (validate_rules lists these)",
            )
            fields[r.name] = field_mask(leads, r.when)
    lead_ids = pd.array(ids, dtype="str")
    for cutoff_us, ref_us in cutoffs:
        # no local keeps a moment's block once it is yielded: the caller's frame is its only
        # owner, so the next moment's block can reuse its memory
        yield _moment(config, codes, fields, cutoff_us, ref_us, names, lead_ids)


def _moment(
    config: ScoringConfig,
    codes: _EventCodes | None,
    fields: Mapping[str, np.ndarray],
    cutoff_us: np.ndarray,
    ref_us: np.ndarray,
    names: list[str],
    lead_ids: Any,
) -> pd.DataFrame:
    """One moment's :func:`score` frame."""
    # the output's float columns as one block, filled in place: building the frame copies
    # nothing
    block = np.zeros((len(names), len(lead_ids)))
    column = dict(zip(names, block, strict=True))
    if codes is not None:
        _event_points(codes, cutoff_us, ref_us, column)
    return _totals(config, fields, block, column, names, lead_ids)


def _totals(
    config: ScoringConfig,
    fields: Mapping[str, np.ndarray],
    block: np.ndarray,
    column: dict[str, np.ndarray],
    names: list[str],
    lead_ids: Any,
) -> pd.DataFrame:
    """Field rules' points, rule caps, category totals and caps, and the score, into ``block``;
    the frame :func:`score` returns."""
    for r in config.rules:
        vals = column[r.column]
        if r.name in fields:
            np.multiply(fields[r.name], r.points, out=vals)
        if r.cap is not None:
            np.clip(vals, -r.cap, r.cap, out=vals)
        vals += 0.0  # turns -0.0 into 0.0
    for cat, cap in config.categories.items():
        total = column[cat]
        for r in config.rules:
            if r.category == cat:
                total += column[r.column]
        if cap is not None:
            np.minimum(total, cap, out=total)
        column["score"] += total
    out = pd.DataFrame(block.T, columns=names, copy=False)
    out.insert(0, "lead_id", lead_ids)
    return out


def rule_hits(scores: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Whether each rule fired for each lead.

    Parameters
    ----------
    scores
        :func:`score` output.
    config
        The parsed scoring rules.

    Returns
    -------
    pandas.DataFrame
        One 0.0/1.0 column per rule, named by rule, with the index of ``scores``.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "student", "category": "profile",
    ...     "when": {"field": "title", "contains": "student"}, "points": -10}]}, Path("."))
    >>> sc = score(pd.DataFrame({"lead_id": ["a", "b"], "title": ["Student", "CTO"]}), None, cfg,
    ...            pd.Timestamp("2026-06-30"))
    >>> rule_hits(sc, cfg)["student"].tolist()
    [1.0, 0.0]
    """
    return pd.DataFrame(
        {r.name: (scores[r.column].to_numpy() != 0).astype("float64") for r in config.rules},
        index=scores.index,
    )


__all__ = ["field_mask", "iter_moments", "rule_hits", "score", "score_moments"]
