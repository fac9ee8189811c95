"""Scoring rules: the ``scoring`` section of the params file, parsed and checked.

Design. A rules file (or an inline list in the params ``scoring`` section) is parsed by
:meth:`ScoringConfig.from_dict` into frozen, typed :class:`Rule` values; every mistake is a
:class:`~leadnb.errors.ParamsError` that names the rule (index and name) and the key. Problems that
depend on the data (a field the leads table lacks, an event type that never occurs) are found by
:func:`validate_rules`, which returns :class:`~leadnb.errors.Issue` values for the validator.
:mod:`leadnb.scoring.engine` turns the parsed rules into points; this module never looks at
events.

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadnb.arrays import TextCodes
from leadnb.data.params import check_keys, expect_type, read_yaml
from leadnb.errors import Issue, ParamsError
from leadnb.results import Column, Kind, format_value

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

        ``rules`` is a path (relative to ``base_dir``) to a rules YAML file with ``categories``
        and ``rules``, or an inline list of rules; ``categories`` here add to (and override) the
        ones in the rules file. ``from_dict({}, base_dir)`` gives no rules and the four families
        uncapped.

        Parameters
        ----------
        d
            The ``scoring`` section as read from YAML.
        base_dir
            The folder a relative rules-file path is relative to (the params file's).

        Returns
        -------
        ScoringConfig
            The rules (in file order), the categories with their caps, and the rules file.

        Raises
        ------
        ParamsError
            Naming the rule (index and name) and the key of every mistake.

        Examples
        --------
        >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
        ...     "when": {"event_type": "content_read"}, "points": 1}],
        ...     "categories": {"content": {"cap": 40}}}, Path("."))
        >>> cfg.rule_columns, cfg.categories["content"], cfg.rule("reads").points
        (['rule:reads'], 40.0, 1.0)
        >>> try:
        ...     ScoringConfig.from_dict({"rules": [{"name": "x", "category": "content",
        ...         "when": {"event_type": "a"}, "points": "ten"}]}, Path("."))
        ... except ParamsError as e:
        ...     print(e.issues[0].message)
        rules[0] 'x': key points must be int or float, got 'ten' (str)
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
    """Problems with the rules that depend on the data.

    A field rule on a column the leads table lacks is an error naming the rule. An event rule
    whose ``event_type`` never occurs (or whose values never occur with it) is a warning listing
    what the data does have, so a typo shows up before the scores are all zero.

    Parameters
    ----------
    config
        The parsed scoring rules.
    leads
        The leads table.
    events
        The events table, or None.

    Returns
    -------
    list of Issue
        Errors (unknown fields) and warnings (event types or values that never occur, no events
        table); empty when every rule can fire.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "Content_Read"}, "points": 1}]}, Path("."))
    >>> ev = pd.DataFrame({"lead_id": ["a"], "event_type": ["content_read"]})
    >>> [i.message for i in validate_rules(cfg, pd.DataFrame({"lead_id": ["a"]}), ev)]
    ["rules[0] 'reads': event_type 'Content_Read' never occurs in the events table; the types that occur are: content_read"]
    """
    issues: list[Issue] = []
    types: list[str] = []
    if events is not None and "event_type" in events:
        types = sorted(map(str, _distinct(events["event_type"])))
    valued = {r.when.event_type for r in config.rules if isinstance(r.when, EventCondition)
              and r.when.values is not None}  # fmt: skip
    seen_by_type: dict[str, set[str]] = {}
    if events is not None and "value" in events and valued & set(types):
        seen_by_type = _values_by_type(events, sorted(valued & set(types)))
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
            seen_values = seen_by_type[r.when.event_type]
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


def _distinct(s: pd.Series) -> list[Any]:
    """The distinct non-missing values of ``s`` (Arrow text: one hash pass, no Python string
    per row)."""
    if isinstance(s.dtype, pd.CategoricalDtype):  # a run's cached events: count the codes
        seen = np.bincount(s.cat.codes.to_numpy() + 1, minlength=len(s.cat.categories) + 1)
        return list(s.cat.categories[seen[1:] > 0])
    arr = _arrow_text(s)
    if arr is None:
        return list(pd.unique(s.dropna()))
    return [v for v in pc.unique(arr).to_pylist() if v is not None]


def _values_by_type(events: pd.DataFrame, types: list[str]) -> dict[str, set[str]]:
    """For each of ``types``: the distinct values (as text) its events carry.

    The types are coded once (one small lookup per event, a piece at a time) and only the
    chosen events' values are read, not a filtered copy of the events per rule.
    """
    out: dict[str, list[Any]] = {t: [] for t in types}
    type_set = pd.Index(types, dtype="str")
    value = events["value"]
    if isinstance(value.dtype, pd.CategoricalDtype):
        return _values_by_type_codes(events["event_type"], value, type_set)
    arrow = _arrow_text(value)
    for start, codes in TextCodes(events["event_type"], type_set).pieces():
        piece = None if arrow is None else arrow.slice(start, len(codes))  # a view
        for i, t in enumerate(types):
            local = np.flatnonzero(codes == i)
            if not len(local):
                continue
            if piece is None:
                out[t].extend(pd.unique(value.iloc[start + local].dropna()))
            else:
                picked = pc.unique(piece.take(pa.array(local)))
                out[t].extend(v for v in picked.to_pylist() if v is not None)
    return {t: set(map(str, pd.unique(pd.Series(v, dtype=object)))) for t, v in out.items()}


def _values_by_type_codes(
    event_type: pd.Series, value: pd.Series, type_set: pd.Index
) -> dict[str, set[str]]:
    """:func:`_values_by_type` for categorical values (a run's cached events): each event's
    (type, value) pair as one integer, counted; the pairs that occur name the values."""
    if isinstance(event_type.dtype, pd.CategoricalDtype):  # the type of each category, -1 last
        lut = np.append(type_set.get_indexer(event_type.cat.categories.astype("str")), -1)
        t_codes = lut.astype("int32")[event_type.cat.codes.to_numpy()]  # code -1 reads the -1
    else:
        t_codes = TextCodes(event_type, type_set).all()  # -1: a type not asked for
    n_values = len(value.cat.categories) + 1  # code + 1: 0 is a missing value
    other = len(type_set) * n_values  # one more bucket: events of the other types
    pairs = t_codes.astype("int32" if other < 2**31 else "int64") * n_values
    pairs += value.cat.codes.to_numpy() + 1
    pairs[t_codes < 0] = other
    seen = np.bincount(pairs, minlength=other + 1)[:other].reshape(len(type_set), -1)
    names = value.cat.categories.astype("str")
    return {str(t): set(names[np.flatnonzero(seen[i, 1:])]) for i, t in enumerate(type_set)}


def _arrow_text(s: pd.Series) -> pa.ChunkedArray | None:
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s)
        return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return None


RULE_COLUMNS: dict[str, Column] = {
    "rule": Column("Rule", Kind.TEXT, "the rule's name in the rules file"),
    "category": Column("Category", Kind.TEXT, "tags, content, behaviour or profile"),
    "condition": Column("Fires when", Kind.TEXT, "what triggers the rule, in words"),
    "points": Column("Points", Kind.SCORE, "points the rule adds each time it fires"),
    "once": Column("Counted once", Kind.FLAG, "the behaviour counts a single time"),
    "cap": Column("Rule cap", Kind.SCORE, "most points this rule can add"),
    "window_days": Column("Window", Kind.DAYS, "only events this recent count"),
    "half_life_days": Column("Half-life", Kind.DAYS, "an event this old counts half"),
    "category_cap": Column("Category cap", Kind.SCORE, "most points the whole category can add"),
}
"""How :func:`rules_table` is shown to a reader: label and kind of each column."""


def _shown_arg(v: Any) -> str:
    """A rule's argument for a reader: dates as dates, numbers without float noise."""
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    if isinstance(v, float) and v.is_integer():
        return format_value(v, Kind.COUNT)
    return format_value(v, None) if isinstance(v, int | float) else str(v)


def condition_text(when: EventCondition | FieldCondition) -> str:
    """What triggers a rule, in words (no Python values: lists joined, numbers formatted).

    Parameters
    ----------
    when
        The rule's condition.

    Returns
    -------
    str
        A phrase for the rules table.

    Examples
    --------
    >>> condition_text(FieldCondition("industry", "in", ("software", "saas")))
    'industry is software or saas'
    >>> condition_text(FieldCondition("employees", "between", (1000.0, 5000.0)))
    'employees between 1,000 and 5,000'
    >>> condition_text(EventCondition("content_read", ("guide",), 180.0))
    'content_read = guide, at least 180 seconds'
    """
    if isinstance(when, EventCondition):
        text = when.event_type
        if when.values:
            text += " = " + " | ".join(when.values)
        if when.min_duration_s is not None:
            text += f", at least {_shown_arg(when.min_duration_s)} seconds"
        return text
    f, op, arg = when.field, when.op, when.arg
    if op == "present":
        return f"{f} is {'filled' if arg else 'empty'}"
    if op == "in":
        values = [_shown_arg(v) for v in arg]
        listed = ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else values[0]
        return f"{f} is {listed}"
    if op == "between":
        return f"{f} between {_shown_arg(arg[0])} and {_shown_arg(arg[1])}"
    words = {"equals": "is", "contains": "contains", "gte": "at least", "lte": "at most"}
    return f"{f} {words.get(op, op)} {_shown_arg(arg)}"


def rules_table(config: ScoringConfig) -> pd.DataFrame:
    """The configured rules as a readable table (shown with :data:`RULE_COLUMNS`).

    Parameters
    ----------
    config
        The parsed scoring rules.

    Returns
    -------
    pandas.DataFrame
        One row per rule: ``rule``, ``category``, ``condition`` (in words,
        :func:`condition_text`), ``points``, ``once``, ``cap``, ``window_days``,
        ``half_life_days``, ``category_cap`` (the cap of the rule's category, NaN for none; the
        same columns when there is no rule).

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"categories": {"content": {"cap": 40}},
    ...     "rules": [{"name": "long read", "category": "content",
    ...     "when": {"event_type": "content_read", "min_duration_s": 120}, "points": 3,
    ...     "half_life_days": 30}]}, Path("."))
    >>> t = rules_table(cfg)
    >>> t.loc[0, "condition"], t.loc[0, ["half_life_days", "category_cap"]].tolist()
    ('content_read, at least 120 seconds', [30.0, 40.0])
    """
    rows = [
        {
            "rule": r.name,
            "category": r.category,
            "condition": condition_text(r.when),
            "points": r.points,
            "once": r.once,
            "cap": r.cap,
            "window_days": r.window_days,
            "half_life_days": r.half_life_days,
            "category_cap": config.categories.get(r.category),
        }
        for r in config.rules
    ]
    out = pd.DataFrame(rows, columns=list(RULE_COLUMNS))  # the same columns when no rule
    return out.astype({"category_cap": "float64"})


__all__ = [
    "FAMILIES",
    "FIELD_OPS",
    "RULE_COLUMNS",
    "RULE_PREFIX",
    "EventCondition",
    "FieldCondition",
    "Rule",
    "ScoringConfig",
    "condition_text",
    "rules_table",
    "validate_rules",
]
