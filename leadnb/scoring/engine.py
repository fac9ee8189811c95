"""Lead scoring: points from rules in YAML, computed for every lead at once.

Design. A rules file (or an inline list in the params ``scoring`` section) is parsed by
:meth:`ScoringConfig.from_dict` into frozen, typed :class:`Rule` values; every mistake is a
:class:`~leadnb.errors.ParamsError` that names the rule (index and name) and the key. Problems that
depend on the data (a field the leads table lacks, an event type that never occurs) are found by
:func:`validate_rules`, which returns :class:`~leadnb.errors.Issue` values for the validator.

:func:`score` turns leads + events into one row per lead: ``lead_id``, ``score``, one column per
category and one ``rule:<name>`` column per rule, so anyone can see why a lead has 73 points.
It is vectorised and never copies the events frame: every event's ``lead_id`` is mapped onto a
lead position by one Arrow hash lookup (:func:`index_positions`; the costliest step, run in a
second thread) while the event types and rule values become one-byte codes; then the rules run
over pieces of a quarter of a million events (see :func:`_event_points`), each rule a mask over
the piece and one ``np.add.at`` (or ``np.maximum.at``, for ``once``) by lead, straight into the
output frame's memory, event types shared between two threads. There is no Python loop over
leads or events, and no temporary as long as the events table but the lead positions and the
codes. At a million leads and 20 million events this takes about two seconds on two cores
(``make bench`` compares it with DuckDB SQL and plain pandas).

Rule semantics (the README repeats them for users):

* An **event rule** (``when: {event_type, value?, min_duration_s?}``) adds ``points`` for every
  matching event at or before the lead's decision time ``cutoff = min(at, as_of)`` (``at`` is
  optional; without it ``cutoff = as_of``). ``as_of`` is a whole day, as in
  :mod:`leadnb.funnel.stages`: events at any hour of that day count, later ones never do.
* ``window_days``: only events with ``cutoff - ts <= window_days`` count.
* ``half_life_days``: each event's points are multiplied by ``0.5 ** (age_days / half_life)``,
  with age measured from the cutoff (the decision time), not from the clock.
* ``once: true``: the rule counts at most one event (the most recent one, so with decay it gets the
  largest weight).
* ``cap``: the rule's contribution is clipped to ``[-cap, cap]`` (a bound on its size, whatever the
  sign of ``points``).
* A **field rule** (``when: {field, <op>}``) adds ``points`` once when the lead's field satisfies
  the op: ``present`` (true/false), ``equals``, ``in``, ``contains`` (text ops are
  case-insensitive and ignore surrounding spaces), ``gte``, ``lte``, ``between`` (inclusive,
  numbers or dates). Missing values (NA, blank, and the params file's placeholders, which the
  loader has already read as NA) never satisfy an op except ``present: false``. A YAML boolean
  compared with a text column matches yes/true/y/1 (or no/false/n/0), because YAML reads ``no``
  as ``false``. Field rules use the lead's current profile (there is no field history), so
  ``window_days``/``half_life_days``/``once``/``cap`` are errors on them.
* A **category cap** (``categories: {content: {cap: 40}}``) clips the category total from above
  (negative totals are kept). The total ``score`` is the sum of the (capped) category columns; the
  ``rule:<name>`` columns show each rule before the category cap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.arrays import NAT_US, TextCodes, index_positions, text_codes, to_us
from leadnb.data.params import check_keys, expect_type, read_yaml
from leadnb.errors import DataError, Issue, ParamsError

FAMILIES = ("tags", "content", "behaviour", "profile")
FIELD_OPS = ("present", "equals", "in", "contains", "gte", "lte", "between")
EVENT_WHEN_KEYS = ("event_type", "value", "min_duration_s")
RULE_KEYS = (
    "name",
    "category",
    "when",
    "points",
    "once",
    "cap",
    "window_days",
    "half_life_days",
    "description",
)
CATEGORY_KEYS = ("cap", "description")
RULE_PREFIX = "rule:"
_TRUE_TOKENS = ("yes", "true", "y", "1", "t")
_FALSE_TOKENS = ("no", "false", "n", "0", "f")
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class EventCondition:
    """Matches events of one type, optionally with given values and a minimum duration."""

    event_type: str
    values: tuple[str, ...] | None = None
    min_duration_s: float | None = None


@dataclass(frozen=True)
class FieldCondition:
    """Matches leads whose ``field`` satisfies ``op`` (one of :data:`FIELD_OPS`) with ``arg``."""

    field: str
    op: str
    arg: Any


@dataclass(frozen=True)
class Rule:
    """One scoring rule. ``when`` is an :class:`EventCondition` or a :class:`FieldCondition`."""

    name: str
    category: str
    when: EventCondition | FieldCondition
    points: float
    once: bool = False
    cap: float | None = None
    window_days: float | None = None
    half_life_days: float | None = None
    description: str = ""

    @property
    def column(self) -> str:
        """The name of this rule's column in the :func:`score` output."""
        return RULE_PREFIX + self.name

    @property
    def is_event(self) -> bool:
        return isinstance(self.when, EventCondition)


@dataclass(frozen=True)
class ScoringConfig:
    """The parsed ``scoring`` section: rules and categories (name -> cap or ``None``)."""

    rules: tuple[Rule, ...] = ()
    categories: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(FAMILIES))
    file: str | None = None

    @property
    def rule_columns(self) -> list[str]:
        return [r.column for r in self.rules]

    def rule(self, name: str) -> Rule:
        """The rule called ``name`` (KeyError if there is none)."""
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    @classmethod
    def from_dict(cls, d: Any, base_dir: Path) -> ScoringConfig:
        """Parse the params ``scoring`` section.

        ``rules`` is a path (relative to ``base_dir``) to a rules YAML file with ``categories`` and
        ``rules``, or an inline list of rules; ``categories`` here add to (and override) the ones in
        the rules file. ``from_dict({}, base_dir)`` gives no rules and the four families uncapped.
        """
        d = check_keys(d, ("rules", "categories"), "scoring")
        file: str | None = None
        file_categories: Any = None
        rules_raw: Any = d.get("rules") or []
        if isinstance(rules_raw, str):
            path = Path(rules_raw)
            path = path if path.is_absolute() else (Path(base_dir) / path).resolve()
            file = str(path)
            file_categories, rules_raw = _read_rules_file(path)
        elif not isinstance(rules_raw, list):
            raise ParamsError(
                f"scoring.rules must be a path to a rules file or a list of rules, got "
                f"{type(rules_raw).__name__}",
                fix="write scoring.rules: scoring_rules.yaml, or a list of '- name: ...' rules",
            )
        categories: dict[str, float | None] = dict.fromkeys(FAMILIES)
        categories.update(_parse_categories(file_categories, "categories", file))
        categories.update(_parse_categories(d.get("categories"), "scoring.categories", None))
        rules = tuple(
            _parse_rule(raw, i, categories, file) for i, raw in enumerate(rules_raw or [])
        )
        seen: dict[str, int] = {}
        for i, r in enumerate(rules):
            if r.name in seen:
                raise ParamsError(
                    f"rules[{i}] '{r.name}': key name: the name is already used by rules[{seen[r.name]}]",
                    file=file,
                    fix="give every rule a distinct name (it becomes a column of the scores table)",
                )
            seen[r.name] = i
        return cls(rules=rules, categories=categories, file=file)


def _read_rules_file(path: Path) -> tuple[Any, Any]:
    raw = read_yaml(
        path,
        "the scoring rules file",
        missing_fix="check scoring.rules in the params file (a path relative to the params file)",
    )
    if isinstance(raw, list):
        return None, raw
    raw = check_keys(raw, ("categories", "rules"), "the rules file (top level)", file=str(path))
    rules = raw.get("rules") or []
    if not isinstance(rules, list):
        raise ParamsError(
            "rules in the rules file must be a list of rules",
            file=str(path),
            fix="write each rule as an item starting with '- name: ...'",
        )
    return raw.get("categories"), rules


def _parse_categories(raw: Any, where: str, file: str | None) -> dict[str, float | None]:
    raw = check_keys(raw, list(raw) if isinstance(raw, Mapping) else [], where, file=file)
    out: dict[str, float | None] = {}
    for name, spec in raw.items():
        w = f"{where}.{name}"
        if spec is None:
            out[str(name)] = None
            continue
        spec = check_keys(spec, CATEGORY_KEYS, w, file=file)
        cap = spec.get("cap")
        if cap is not None:
            expect_type(cap, (int, float), f"{w}.cap", file=file)
            if cap < 0:
                raise ParamsError(
                    f"{w}.cap must be >= 0, got {cap}", file=file, fix="use a positive cap"
                )
            cap = float(cap)
        out[str(name)] = cap
    return out


def _num(v: Any, where: str, file: str | None, *, positive: bool = False) -> float:
    expect_type(v, (int, float), where, file=file)
    if positive and not v > 0:
        raise ParamsError(f"{where} must be > 0, got {v}", file=file, fix="use a positive number")
    return float(v)


def _parse_rule(raw: Any, i: int, categories: Mapping[str, Any], file: str | None) -> Rule:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    where = f"rules[{i}]" + (f" '{name}'" if isinstance(name, str) else "")
    d = check_keys(
        raw, RULE_KEYS, where, file=file, required=("name", "category", "when", "points")
    )
    expect_type(d["name"], str, f"{where}: key name", file=file)
    if not d["name"].strip():
        raise ParamsError(f"{where}: key name is empty", file=file, fix="name the rule")
    category = expect_type(d["category"], str, f"{where}: key category", file=file)
    if category not in categories:
        raise ParamsError(
            f"{where}: key category: unknown category {category!r}",
            file=file,
            fix=f"use one of {', '.join(categories)}, or declare it under categories: "
            f"{{{category}: {{cap: null}}}}",
        )
    points = _num(d["points"], f"{where}: key points", file)
    once = expect_type(d.get("once", False), bool, f"{where}: key once", file=file)
    cap = d.get("cap")
    cap = None if cap is None else _num(cap, f"{where}: key cap", file, positive=True)
    window = d.get("window_days")
    window = (
        None if window is None else _num(window, f"{where}: key window_days", file, positive=True)
    )
    half = d.get("half_life_days")
    half = None if half is None else _num(half, f"{where}: key half_life_days", file, positive=True)
    when_raw = d["when"]
    if isinstance(when_raw, Mapping) and "field" in when_raw:
        when: EventCondition | FieldCondition = _parse_field_when(when_raw, where, file)
        for key, val in (("once", d.get("once")), ("cap", cap), ("window_days", window),
                         ("half_life_days", half)):  # fmt: skip
            if val not in (None, False):
                raise ParamsError(
                    f"{where}: key {key} applies only to event rules, not to a field rule",
                    file=file,
                    fix=f"remove {key} from this rule (a field rule adds its points once)",
                )
    else:
        when = _parse_event_when(when_raw, where, file)
    desc = d.get("description") or ""
    expect_type(desc, str, f"{where}: key description", file=file)
    return Rule(
        name=d["name"].strip(),
        category=category,
        when=when,
        points=points,
        once=bool(once),
        cap=cap,
        window_days=window,
        half_life_days=half,
        description=desc,
    )


def _parse_event_when(raw: Any, where: str, file: str | None) -> EventCondition:
    w = f"{where}: key when"
    d = check_keys(raw, EVENT_WHEN_KEYS, w, file=file, required=("event_type",))
    et = expect_type(d["event_type"], str, f"{w}.event_type", file=file)
    values = d.get("value")
    if values is not None:
        if isinstance(values, str | int | float) and not isinstance(values, bool):
            values = [values]
        expect_type(values, list, f"{w}.value", file=file)
        if not values:
            raise ParamsError(
                f"{w}.value is an empty list", file=file, fix="list values or drop it"
            )
        for v in values:
            expect_type(v, (str, int, float), f"{w}.value", file=file)
        values = tuple(str(v) for v in values)
    md = d.get("min_duration_s")
    md = None if md is None else _num(md, f"{w}.min_duration_s", file)
    return EventCondition(event_type=et, values=values, min_duration_s=md)


def _parse_field_when(raw: Mapping[str, Any], where: str, file: str | None) -> FieldCondition:
    w = f"{where}: key when"
    d = check_keys(raw, ("field", *FIELD_OPS), w, file=file)
    fld = expect_type(d["field"], str, f"{w}.field", file=file)
    ops = [k for k in d if k != "field"]
    if len(ops) != 1:
        raise ParamsError(
            f"{w}: a field rule needs exactly one op, got {', '.join(ops) or 'none'}",
            file=file,
            fix=f"add one of {', '.join(FIELD_OPS)}, e.g. when: {{field: {fld}, present: true}}",
        )
    op = ops[0]
    arg = d[op]
    key = f"{w}.{op}"
    scalar = (str, int, float, bool)
    if op == "present":
        expect_type(arg, bool, key, file=file)
    elif op in ("equals", "contains"):
        expect_type(arg, scalar, key, file=file)
    elif op == "in":
        expect_type(arg, list, key, file=file)
        if not arg:
            raise ParamsError(f"{key} is an empty list", file=file, fix="list at least one value")
        for v in arg:
            expect_type(v, scalar, key, file=file)
        arg = tuple(arg)
    elif op in ("gte", "lte"):
        arg = _bound(arg, key, file)
    else:  # between
        if not isinstance(arg, list) or len(arg) != 2:
            raise ParamsError(
                f"{key} must be a list [low, high], got {arg!r}",
                file=file,
                fix=f"write {op}: [1000, 5000]",
            )
        arg = (_bound(arg[0], key, file), _bound(arg[1], key, file))
    return FieldCondition(field=fld, op=op, arg=arg)


def _bound(v: Any, key: str, file: str | None) -> float | pd.Timestamp:
    if isinstance(v, bool):
        expect_type(v, (int, float), key, file=file)
    if isinstance(v, int | float):
        return float(v)
    try:
        return pd.Timestamp(v)
    except (ValueError, TypeError):
        raise ParamsError(
            f"{key} must be a number or a date YYYY-MM-DD, got {v!r}",
            file=file,
            fix=f'write {key} as e.g. 1000 or "2025-01-01"',
        ) from None


# --------------------------------------------------------------------------------------------
# Data-dependent checks


def validate_rules(
    config: ScoringConfig, leads: pd.DataFrame, events: pd.DataFrame | None
) -> list[Issue]:
    """Problems that depend on the data: unknown fields (errors), unseen event types (warnings).

    A field rule on a column the leads table lacks is an error naming the rule. An event rule whose
    ``event_type`` never occurs (or whose values never occur with it) is a warning listing what the
    data does have, so a typo shows up before the scores are all zero.
    """
    issues: list[Issue] = []
    types: list[str] = []
    if events is not None and "event_type" in events:
        types = sorted(map(str, pd.unique(events["event_type"].dropna())))
    for i, r in enumerate(config.rules):
        where = f"rules[{i}] '{r.name}'"
        if isinstance(r.when, FieldCondition):
            if r.when.field not in leads.columns:
                issues.append(
                    Issue(
                        f"{where}: field {r.when.field!r} is not a column of the leads table",
                        level="error",
                        file=config.file,
                        table="leads",
                        column=r.when.field,
                        fix="use one of: " + ", ".join(map(str, leads.columns)),
                    )
                )
            continue
        if events is None:
            issues.append(
                Issue(
                    f"{where}: there is no events table, so this event rule scores 0 for everyone",
                    level="warning",
                    file=config.file,
                    table="events",
                    fix="configure data.events in the params file",
                )
            )
            continue
        if r.when.event_type not in types:
            issues.append(
                Issue(
                    f"{where}: event_type {r.when.event_type!r} never occurs in the events table; "
                    f"the types that occur are: {', '.join(types) or '(none)'}",
                    level="warning",
                    file=config.file,
                    table="events",
                    column="event_type",
                    fix="correct the event_type (spelling and case matter)",
                )
            )
        elif r.when.values is not None and "value" in events:
            seen = events.loc[events["event_type"] == r.when.event_type, "value"].dropna()
            seen_values = set(map(str, pd.unique(seen)))
            absent = [v for v in r.when.values if v not in seen_values]
            if absent:
                shown = sorted(seen_values)[:20]
                issues.append(
                    Issue(
                        f"{where}: value(s) {', '.join(absent)} never occur with event_type "
                        f"{r.when.event_type!r}; values that occur include: {', '.join(shown)}",
                        level="warning",
                        file=config.file,
                        table="events",
                        column="value",
                        fix="correct the value (spelling and case matter)",
                    )
                )
    return issues


# --------------------------------------------------------------------------------------------
# Scoring


def _small_int(k: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer type holding codes -1 .. k-1."""
    return np.int8 if k < 127 else np.int16 if k < 32_767 else np.int32


def _event_points(
    events: pd.DataFrame,
    lead_index: pd.Index,
    cutoff_us: np.ndarray,
    ref_us: np.ndarray,
    rules: Sequence[Rule],
    out: Mapping[str, np.ndarray],
) -> None:
    """Add every event rule's points into ``out[rule.column]`` (one float per lead, zeros).

    Two passes over the events, so that no temporary is as long as the events table but the
    lead positions and a one-byte code per event:

    1. codes: every event's lead_id becomes a lead position (one Arrow hash of 20 million
       strings against a million leads, the costliest step, in a second thread) while this
       thread turns each event type into a one-byte code (-1 for types no rule names) and, for
       the types that have value rules, each value into a code too.
    2. rules, a piece of at most :data:`~leadnb.arrays.PIECE_ROWS` events at a time: each rule's events
       are picked from the piece by code, checked against the lead's cutoff, weighted by window
       and decay, and added to their leads with ``np.add.at`` (or ``np.maximum.at`` for
       ``once``). The piece's temporaries fit in the CPU cache and their memory is reused from
       piece to piece, so the work touches little fresh memory (on VMs, where first touches of
       memory are slow, that is most of the difference).

    Each lead's points are summed in event order, exactly as one ``np.bincount`` would.
    """
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

    with ThreadPoolExecutor(max_workers=1) as pool:
        pos_job = pool.submit(index_positions, events["lead_id"], lead_index)
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
        pos = pos_job.result()
    ts = to_us(events["ts"])
    duration = None
    if any(r.when.min_duration_s is not None for rs in by_type.values() for r in rs):
        dur = events["duration_s"]
        if not pd.api.types.is_numeric_dtype(dur):
            dur = pd.to_numeric(dur, errors="coerce")
        duration = dur.to_numpy(dtype="float64", na_value=np.nan)  # float64: a view, no copy

    def score_types(type_ids: Sequence[int]) -> None:
        for start, stop in pieces:
            piece = slice(start, stop)
            codes = type_code[piece]
            for i in type_ids:
                local = np.flatnonzero(codes == i)
                if not len(local):
                    continue
                p, when = pos[piece][local], ts[piece][local]
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
    halves = _split_by_weight({i: int(counts[i + 1]) for i in by_type}, 2)
    if halves:
        with ThreadPoolExecutor(max_workers=len(halves)) as pool:
            for job in [pool.submit(score_types, h) for h in halves]:
                job.result()
    for r in rules:
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
    """Boolean array: which leads satisfy a field condition (missing values never do).

    A text field is factorised once: its few thousand distinct values are stripped, case-folded
    and tested, and the answers spread back to the million leads by code.
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
    if at.index.equals(leads.index) and len(at) == n:
        aligned = at
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
    """Score every lead: ``lead_id, score, <category>..., rule:<name>...`` (one row per lead).

    Only events at or before ``min(at, as_of)`` count (``as_of`` is a whole day; ``at``: optional
    per-lead decision times,
    indexed by ``lead_id`` or aligned with ``leads``; a missing time means ``as_of``). Window and
    decay are measured from that decision time. See the module docstring for every rule kind.

    Example:
        >>> import pandas as pd
        >>> from pathlib import Path
        >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
        ...     "when": {"event_type": "content_read"}, "points": 3, "cap": 5}]}, Path("."))
        >>> leads = pd.DataFrame({"lead_id": ["a", "b"]})
        >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event_type": ["content_read"] * 3,
        ...     "ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-02-01"])})
        >>> score(leads, ev, cfg, pd.Timestamp("2026-01-31"))[["lead_id", "score"]]
          lead_id  score
        0       a    5.0
        1       b    0.0
    """
    if "lead_id" not in leads.columns:
        raise DataError("the leads table has no lead_id column", table="leads", column="lead_id")
    ids = pd.Index(leads["lead_id"].astype("str"))
    n = len(ids)
    cutoff_us, ref_us = _cutoffs(leads, as_of, at)
    names = ["score", *config.categories, *config.rule_columns]
    # the output's float columns as one block, filled in place: building the frame copies nothing
    block = np.zeros((len(names), n))
    column = dict(zip(names, block, strict=True))
    event_rules = [r for r in config.rules if r.is_event]
    if event_rules and events is not None and len(events):
        missing = [c for c in ("lead_id", "ts", "event_type") if c not in events.columns]
        if missing:
            raise DataError(
                f"the events table lacks column(s) {', '.join(missing)}",
                table="events",
                column=missing[0],
                fix="map them in data.events.columns",
            )
        if not ids.is_unique:
            dup = ids[ids.duplicated()].unique()
            raise DataError(
                f"the leads table has {len(dup)} duplicated lead_id value(s), so events cannot "
                "be matched to one lead",
                table="leads",
                column="lead_id",
                rows=pd.Series(dup[:5], name="lead_id"),
                count=len(dup),
                fix="make lead_id unique in the leads table (leadnb validate lists them)",
            )
        if n:
            _event_points(events, ids, cutoff_us, ref_us, event_rules, column)
    for r in config.rules:
        vals = column[r.column]
        if isinstance(r.when, FieldCondition):
            if r.when.field not in leads.columns:
                raise DataError(
                    f"scoring rule '{r.name}': field {r.when.field!r} is not a column of leads",
                    table="leads",
                    column=r.when.field,
                    fix="correct the rule's field or add the column (validate_rules lists these)",
                )
            np.multiply(field_mask(leads, r.when), r.points, out=vals)
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
    out.insert(0, "lead_id", pd.array(ids, dtype="str"))
    return out


def rule_hits(scores: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """0/1 frame (one column per rule, named by rule) of whether each rule fired for each lead."""
    return pd.DataFrame(
        {r.name: (scores[r.column].to_numpy() != 0).astype("float64") for r in config.rules},
        index=scores.index,
    )


def rules_table(config: ScoringConfig) -> pd.DataFrame:
    """The configured rules as a readable table (rule, category, condition, points, options)."""
    rows = []
    for r in config.rules:
        if isinstance(r.when, FieldCondition):
            arg = r.when.arg
            cond = f"{r.when.field} {r.when.op} {list(arg) if isinstance(arg, tuple) else arg}"
        else:
            cond = r.when.event_type
            if r.when.values:
                cond += " = " + " | ".join(r.when.values)
            if r.when.min_duration_s is not None:
                cond += f", duration >= {r.when.min_duration_s:g}s"
        rows.append(
            {
                "rule": r.name,
                "category": r.category,
                "condition": cond,
                "points": r.points,
                "once": r.once,
                "cap": r.cap,
                "window_days": r.window_days,
                "half_life_days": r.half_life_days,
            }
        )
    cols = ["rule", "category", "condition", "points", "once", "cap", "window_days",
            "half_life_days"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)  # the same columns when no rule is configured


__all__ = [
    "FAMILIES",
    "FIELD_OPS",
    "EventCondition",
    "FieldCondition",
    "Rule",
    "ScoringConfig",
    "field_mask",
    "index_positions",
    "rule_hits",
    "rules_table",
    "score",
    "validate_rules",
]
