"""What each notebook needs before it runs: parameter ranges, files, columns and the analysis date.

Design: declarative tables read off each notebook's ``parameters`` cell, checked by small
functions that return :class:`~leadnb.errors.Issue` values (never raise for a user's mistake):

* :data:`PARAM_RULES` - per notebook, per parameter, the values that parameter may take
  (``n_bands`` at least 2, ``decision`` one of three names, a share in (0, 1], ...), and
  :data:`CROSS_RULES` for the pairs that constrain each other (``design_baseline +
  design_mde < 1``). Names and types are the notebook's own declaration, checked by
  :func:`leadnb.data.notebook_parameters.check_notebook_parameters`; this module checks the values.
* :data:`FILE_PARAMS` - parameters that name a file, relative to the params file ("" = none).
* :data:`REQUIRED_COLUMNS` - what a notebook cannot run without (kept minimal: a missing column
  usually makes a section say "Not computed"); :data:`OPTIONAL_INPUTS` - the tables and columns
  whose absence skips a section, reported as warnings naming those sections.
* :func:`check_as_of` - the analysis date within the data: from the first lead's creation to
  :data:`AS_OF_MARGIN_DAYS` after the last date of any loaded table.

:func:`leadnb.data.validation.validate_params_file` runs all of them; ``leadnb validate`` and
``leadnb run`` share that one function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from leadnb.errors import Issue, LeadnbError

AS_OF_MARGIN_DAYS = 366  # an analysis date may be this many days after the last date in the data

# the values the notebooks accept (kept here so checking needs no scipy/lifelines import;
# tests/test_checks.py asserts they equal leadnb.scoring.calibration.DECISIONS and leadnb.funnel.cohorts.FREQS)
DECISIONS = ("at_mql", "at_created_plus_days", "as_of")
COHORT_FREQS = ("M", "Q", "W")
COST_BASES = ("lead_generation", "fully_loaded")
ON_PROBLEM = ("exclude", "error")


@dataclass(frozen=True)
class Context:
    """What a rule may look at: the parsed params and the notebook's effective values (its
    declared defaults overlaid with the params file's section)."""

    params: Any
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """The values one parameter may take: ``ok(value, ctx)`` and the requirement in words.

    ``need`` may be a function of the context (e.g. the funnel's stages); ``example`` is a
    value that passes, for the fix.
    """

    ok: Callable[[Any, Context], bool]
    need: str | Callable[[Context], str]
    example: str | Callable[[Context], str] = ""

    def describe(self, ctx: Context) -> str:
        """The requirement in words, e.g. ``"a number >= 2"``."""
        return self.need(ctx) if callable(self.need) else self.need

    def sample(self, ctx: Context) -> str:
        """A value that passes, as written in the params file ("" when there is none)."""
        return self.example(ctx) if callable(self.example) else self.example


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v


def at_least(low: float, example: str = "") -> Rule:
    """A rule: a number (not a bool, not NaN) of at least ``low``; ``example`` passes.

    Examples
    --------
    >>> rule = at_least(2, "10")
    >>> ctx = Context(params=None, values={})
    >>> rule.ok(1, ctx), rule.ok(2, ctx), rule.ok(True, ctx), rule.describe(ctx)
    (False, True, False, 'a number >= 2')
    """
    return Rule(lambda v, c: _number(v) and v >= low, f"a number >= {low:g}", example)


def between(low: float, high: float, *, closed_high: bool = False, example: str = "") -> Rule:
    """A rule: a number in ``(low, high)``, or ``(low, high]`` with ``closed_high``.

    Examples
    --------
    >>> ctx = Context(params=None, values={})
    >>> share = between(0, 1, closed_high=True, example="1.0")
    >>> share.ok(1, ctx), share.ok(0, ctx), share.describe(ctx)
    (True, False, 'a number in (0, 1]')
    """
    top = "]" if closed_high else ")"
    return Rule(
        lambda v, c: _number(v) and low < v and (v <= high if closed_high else v < high),
        f"a number in ({low:g}, {high:g}{top}",
        example,
    )


def one_of(values: Sequence[str] | Callable[[Context], Sequence[str]]) -> Rule:
    """A rule: one of the names ``values`` (or ``values(ctx)``, e.g. the funnel's stages).

    Examples
    --------
    >>> ctx = Context(params=None, values={})
    >>> rule = one_of(("M", "Q", "W"))
    >>> rule.ok("Q", ctx), rule.ok("m", ctx), rule.describe(ctx), rule.sample(ctx)
    (True, False, 'one of M, Q, W', 'M')
    """

    def allowed(c: Context) -> list[str]:
        return list(values(c) if callable(values) else values)

    return Rule(
        lambda v, c: isinstance(v, str) and v in allowed(c),
        lambda c: f"one of {', '.join(allowed(c)) or '(none configured)'}",
        lambda c: (allowed(c) or [""])[0],
    )


def _later_stages(c: Context) -> list[str]:
    stages = list(getattr(c.params.funnel, "stages", None) or ())
    return stages[1:]


def _texts(v: Any, c: Context) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v)


TEXT_LIST = Rule(_texts, "a list of non-empty names", "[a, b]")


def _increasing(v: Any, c: Context) -> bool:
    return (
        isinstance(v, list)
        and len(v) > 0
        and all(_number(x) for x in v)
        and v[0] >= 0
        and all(a < b for a, b in zip(v, v[1:], strict=False))
    )


def _date_or_empty(v: Any, c: Context) -> bool:
    if v in ("", None) or isinstance(v, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(v).strip())
    except ValueError:
        return False
    return True


def _registered(v: Any, c: Context) -> bool:
    ids = set(c.params.experiments.ids) if c.params is not None else set()
    return isinstance(v, list) and all(isinstance(x, str) and x in ids for x in v)


def _registered_need(c: Context) -> str:
    ids = c.params.experiments.ids if c.params is not None else []
    return (
        f"a list of registered experiment ids ({', '.join(ids) or 'none registered'}); [] for all"
    )


def _metric_ok(v: Any, c: Context) -> bool:
    return metric_problem(v, c) is None


def metric_problem(v: Any, c: Context) -> str | None:
    """Why ``ab_testing.primary_metric`` cannot be used, or ``None`` when it can.

    It cannot when it is not a metric (``"sql@30"``), or not the registered primary metric of
    an experiment read out (``experiment_ids`` in ``c.values``, all registered when empty):
    changing the primary metric after the start is not allowed.

    Parameters
    ----------
    v : object
        The parameter's value; ``""`` or ``None`` means the registered metric.
    c : Context
        The parsed params (their registrations) and the notebook's values.

    Returns
    -------
    str or None
        The reason in one sentence.
    """
    if v in ("", None):
        return None
    from leadnb.experiments.registration import Metric

    try:
        asked = Metric.parse(v, "ab_testing.primary_metric")
    except LeadnbError as err:
        return err.issues[0].message
    regs = list(c.params.experiments.registrations) if c.params is not None else []
    wanted = c.values.get("experiment_ids") or []
    if wanted:
        regs = [r for r in regs if r.id in wanted]
    other = [r for r in regs if not asked.same_as(r.primary_metric)]
    if other:
        r = other[0]
        return (
            f"experiment {r.id} registered the primary metric '{r.primary_metric.label}', not "
            f"'{asked.label}'"
        )
    return None


# notebook -> parameter -> the values it may take (read off each notebook's parameters cell;
# parameters not listed take any value of their declared type)
PARAM_RULES: dict[str, dict[str, Rule]] = {
    "scoring_calibration": {
        "outcome_stage": one_of(_later_stages),
        "decision": one_of(DECISIONS),
        "decision_days": at_least(0, "7"),
        "n_bands": at_least(2, "10"),
        "sdr_capacity_per_week": at_least(1, "60"),
        "target_industries": TEXT_LIST,
        "competitor_domains": TEXT_LIST,
        "competitor_companies": TEXT_LIST,
        "fast_days": at_least(0, "30"),
        "engaged_min_events": at_least(1, "25"),
        "follow_up_days": at_least(1, "14"),
        "horizon_days": at_least(1, "90"),
        "landmark_days": Rule(
            _increasing,
            "a non-empty list of ages in days, from 0 or more, strictly increasing",
            "[7, 30, 90, 180, 365]",
        ),
        "landmark_max_leads": at_least(0, "20000"),
        "model_profile_fields": TEXT_LIST,
        "feature_windows": Rule(
            _increasing, "a non-empty list of days, strictly increasing", "[30]"
        ),
        "model_exclude_features": TEXT_LIST,
        "queue_chunk_leads": at_least(1, "100000"),
    },
    "cohort_conversion": {
        "cohort_stage": one_of(_later_stages),
        "cohort_freq": one_of(COHORT_FREQS),
        "max_age_months": at_least(0, "12"),
        "survival_max_days": at_least(1, "180"),
        "hazard_buckets": Rule(
            _increasing,
            "a non-empty list of day counts, from 0 or more, strictly increasing",
            "[0, 30, 60, 90, 180, 365]",
        ),
        "value_split": Rule(_date_or_empty, 'a date YYYY-MM-DD, or "" for the default', '""'),
        "value_cut": at_least(0, "0.0"),
        "frequency_cut": at_least(0, "0.0"),
    },
    "nurture_roi": {
        "cost_basis": one_of(COST_BASES),
    },
    "ab_testing": {
        "experiment_ids": Rule(_registered, _registered_need, "[]"),
        "primary_metric": Rule(
            _metric_ok,
            'the registered primary metric of each experiment read out (e.g. "sql@30"), or "" '
            "for the registered one",
            '""',
        ),
        "on_problem": one_of(ON_PROBLEM),
        "inflow_weeks": at_least(1, "12"),
        "eligible_share": between(0, 1, closed_high=True, example="1.0"),
        "design_baseline": between(0, 1, example="0.08"),
        "design_mde": between(0, 1, example="0.02"),
        "design_power": between(0, 1, example="0.8"),
        "design_alpha": between(0, 1, example="0.05"),
        "design_window_days": at_least(0, "30"),
    },
}


@dataclass(frozen=True)
class CrossRule:
    """A requirement on several parameters of one notebook together."""

    names: tuple[str, ...]
    ok: Callable[..., bool]
    need: str
    fix: str


CROSS_RULES: dict[str, list[CrossRule]] = {
    "ab_testing": [
        CrossRule(
            ("design_baseline", "design_mde"),
            lambda b, m: b + m < 1,
            "design_baseline + design_mde must be below 1 (the treated rate is a proportion)",
            "lower design_mde (an absolute lift, e.g. 0.02 for 2 percentage points)",
        ),
        CrossRule(
            ("design_alpha", "design_power"),
            lambda a, p: p > a,
            "design_power must be above design_alpha",
            "use e.g. design_alpha: 0.05 and design_power: 0.8",
        ),
    ],
}

# notebook -> parameter naming a file (relative to the params file; "" = none) -> its columns
FILE_PARAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "scoring_calibration": {"abm_accounts_file": ("account_id",)},
}

# notebook -> table -> columns it cannot run without (a missing table or any other column makes
# a section say "Not computed" instead)
REQUIRED_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "scoring_calibration": {"leads": ("lead_id",)},
    "cohort_conversion": {"leads": ("lead_id",)},
    "nurture_roi": {},  # runs the planning calculator alone without any data
    "ab_testing": {"leads": ("lead_id",)},
}


@dataclass(frozen=True)
class OptionalInput:
    """A table (``column=None``) or column whose absence makes sections say "Not computed"."""

    table: str
    column: str | None
    sections: str  # the sections of the notebook that will say "Not computed"


STAGE_HISTORY = "stage history"  # pseudo-column: the stages table or <stage>_at columns on leads

# the absences that cost a notebook most of its report (a missing table, or a column such as
# leads.source, is named by the notebook itself in one line where it matters)
OPTIONAL_INPUTS: dict[str, list[OptionalInput]] = {
    "scoring_calibration": [
        OptionalInput(
            "leads",
            "created_at",
            "the scoring threshold sweep, the scores at decision time and the weekly lead queue",
        ),
        OptionalInput(
            "leads",
            STAGE_HISTORY,
            "the calibration against a reached stage (the outcome is leads.converted instead)",
        ),
    ],
    "cohort_conversion": [
        OptionalInput(
            "leads",
            "created_at",
            "cohorts, time to stage, lead velocity (LVR) and new-vs-old conversions",
        ),
        OptionalInput("leads", STAGE_HISTORY, "stage conversion, cohorts and time to stage"),
    ],
    "nurture_roi": [
        OptionalInput("leads", "created_at", "the before/after comparison from the data"),
        OptionalInput("leads", STAGE_HISTORY, "the before/after comparison from the data"),
    ],
    "ab_testing": [
        OptionalInput(
            "leads", "created_at", "the lead inflow behind the design calculator's days needed"
        ),
        OptionalInput("leads", STAGE_HISTORY, "readouts of experiments measured by a stage"),
    ],
}


# --------------------------------------------------------------------------------------------
# Checks


def yaml_text(value: Any) -> str:
    """A parameter value as it is written in the params file (for fixes).

    Examples
    --------
    >>> yaml_text(""), yaml_text(None), yaml_text(True), yaml_text([0, 30, "sql"])
    ('""', 'null', 'true', '[0, 30, sql]')
    """
    if value == "" or value is None:
        return '""' if value == "" else "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    return str(value)


def effective_values(
    declared: Mapping[str, Mapping[str, Any]], section: Mapping[str, Any]
) -> dict[str, Any]:
    """The values a notebook will run with: its declared defaults overlaid with ``section``.

    Parameters
    ----------
    declared : mapping
        Parameter name -> its declaration read off the notebook's parameters cell (Papermill's
        inspection: ``default`` is the source text of the default).
    section : mapping
        The notebook's section of the params file.

    Returns
    -------
    dict
        Name -> value; a default that is not a Python literal is left out.

    Examples
    --------
    >>> declared = {"n_bands": {"default": "10"}, "as_of": {"default": "None"},
    ...             "today": {"default": "date.today()"}}
    >>> effective_values(declared, {"decision": "as_of"})
    {'n_bands': 10, 'as_of': None, 'decision': 'as_of'}
    """
    import ast

    values: dict[str, Any] = {}
    for name, info in declared.items():
        default = info.get("default")
        if default is None:
            continue
        try:
            values[name] = ast.literal_eval(str(default))
        except (ValueError, SyntaxError):
            continue
    values.update(section)
    return values


def check_values(
    notebook: str,
    values: Mapping[str, Any],
    params: Any,
    *,
    explicit: Sequence[str] = (),
    skip: Sequence[str] = (),
    defaults: Mapping[str, Any] | None = None,
    file: str | None = None,
) -> list[Issue]:
    """Errors for the parameter values of ``notebook`` outside its rules.

    Parameters
    ----------
    notebook : str
        The notebook's name (a key of :data:`PARAM_RULES` / :data:`CROSS_RULES`).
    values : mapping
        The notebook's effective values (:func:`effective_values`).
    params : Params
        The parsed params file (rules read the funnel's stages and the registrations).
    explicit : sequence of str
        Keys set in the params file; the others are named as the notebook's defaults.
    skip : sequence of str
        Keys already reported (e.g. of the wrong type): not checked again.
    defaults : mapping, optional
        The notebook's defaults, suggested in the fix when they pass.
    file : str, optional
        The params file, for the issues.

    Returns
    -------
    list of Issue
        One error per value outside :data:`PARAM_RULES`, then one per broken
        :data:`CROSS_RULES` pair whose values each passed; empty when all pass.

    Examples
    --------
    >>> (issue,) = check_values("scoring_calibration", {"n_bands": 1}, None,
    ...                         explicit=["n_bands"])
    >>> issue.message
    'scoring_calibration.n_bands must be a number >= 2, got 1'
    >>> issue.fix
    'set n_bands: 10 in the scoring_calibration: section of the params file'
    """
    ctx = Context(params=params, values=values)
    issues: list[Issue] = []
    bad: set[str] = set(skip)
    for name, rule in PARAM_RULES.get(notebook, {}).items():
        if name not in values or name in bad:
            continue
        value = values[name]
        try:
            ok = rule.ok(value, ctx)
        except (TypeError, ValueError):
            ok = False
        if ok:
            continue
        bad.add(name)
        origin = "" if name in explicit else " (the notebook's default)"
        reason = metric_problem(value, ctx) if name == "primary_metric" else None
        example = rule.sample(ctx)
        if defaults and name in defaults:
            try:
                if rule.ok(defaults[name], ctx):
                    example = yaml_text(defaults[name])
            except (TypeError, ValueError):
                pass
        issues.append(
            Issue(
                f"{notebook}.{name} must be {rule.describe(ctx)}, got {value!r}{origin}"
                + (f": {reason}" if reason else ""),
                file=file,
                fix=f"set {name}: {example} in the {notebook}: section of the params file"
                if example
                else f"change {name} in the {notebook}: section of the params file",
            )
        )
    for cross in CROSS_RULES.get(notebook, []):
        if any(n not in values or n in bad for n in cross.names):
            continue
        got = ", ".join(f"{n}={values[n]!r}" for n in cross.names)
        try:
            ok = cross.ok(*(values[n] for n in cross.names))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            issues.append(Issue(f"{notebook}: {cross.need}, got {got}", file=file, fix=cross.fix))
    return issues


def check_files(
    notebook: str,
    values: Mapping[str, Any],
    base_dir: Path,
    *,
    explicit: Sequence[str] = (),
    file: str | None = None,
) -> list[Issue]:
    """Issues for the files named by the notebook's parameters (:data:`FILE_PARAMS`).

    A file is read as the notebook reads it; a missing file, or one without its columns, is an
    error when the params file names it and a warning when it is the notebook's own default.

    Parameters
    ----------
    notebook : str
        The notebook's name.
    values : mapping
        The notebook's effective values; ``""`` means no file.
    base_dir : Path
        The params file's folder: paths are relative to it.
    explicit : sequence of str
        Keys set in the params file.
    file : str, optional
        The params file, for the issues.

    Returns
    -------
    list of Issue
        Empty when every named file can be read.
    """
    from leadnb.scoring import segments

    issues: list[Issue] = []
    for name, columns in FILE_PARAMS.get(notebook, {}).items():
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        origin = "" if name in explicit else f" (the notebook's default {value!r})"
        # a file the params file names is an error; the notebook's own default pointing nowhere
        # (it is relative to the params file) a warning, so params files that never mention it
        # still validate; the notebook then stops at that file
        level = "error" if name in explicit else "warning"
        fix = (
            f"set {name}: path/to/accounts.csv (a CSV with an {' and '.join(columns)} column, "
            f'relative to the params file) in the {notebook}: section, or {name}: "" for none'
        )
        try:
            segments.read_account_list(value, base_dir)
        except LeadnbError as err:
            issues.extend(
                Issue(
                    f"{notebook}.{name}{origin}: {issue.message}",
                    level=level,
                    file=issue.file or file,
                    column=", ".join(columns),
                    fix=fix,
                )
                for issue in err.issues
            )
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            issues.append(
                Issue(
                    f"{notebook}.{name}{origin}: cannot read {value} ({type(exc).__name__})",
                    level=level,
                    file=file,
                    column=", ".join(columns),
                    fix=fix,
                )
            )
    return issues


def _has_stage_history(tables: Mapping[str, pd.DataFrame], params: Any) -> bool:
    if tables.get("stages") is not None:
        return True
    leads = tables.get("leads")
    if leads is None:
        return False
    stages = list(getattr(params.funnel, "stages", None) or ())[1:] if params is not None else []
    if any(f"{s}_at" in leads.columns for s in stages):
        return True
    return "converted" in leads.columns


def check_inputs(
    notebook: str,
    tables: Mapping[str, pd.DataFrame],
    params: Any,
    *,
    labels: Mapping[str, str | None] | None = None,
) -> list[Issue]:
    """Issues for the tables and columns ``notebook`` needs.

    Parameters
    ----------
    notebook : str
        The notebook's name.
    tables : mapping of str to DataFrame
        The loaded tables (canonical columns).
    params : Params
        The parsed params (the funnel's stages tell which ``<stage>_at`` columns count as a
        stage history).
    labels : mapping, optional
        Table -> how to name its source in an issue (a file path).

    Returns
    -------
    list of Issue
        Errors for the columns :data:`REQUIRED_COLUMNS` says the notebook cannot run without,
        then warnings for the absent :data:`OPTIONAL_INPUTS`, naming the sections that will say
        "Not computed".

    Examples
    --------
    >>> leads = pd.DataFrame({"id": [1]})
    >>> for issue in check_inputs("ab_testing", {"leads": leads}, None):
    ...     print(issue.level, issue.message.split(":")[0])
    error notebook ab_testing needs leads.lead_id
    warning no leads.created_at
    warning no stage history (no stages table, no <stage>_at columns, no converted)
    """
    labels = labels or {}
    issues: list[Issue] = []
    for table, columns in REQUIRED_COLUMNS.get(notebook, {}).items():
        df = tables.get(table)
        if df is None:
            issues.append(
                Issue(
                    f"notebook {notebook} needs the {table} table",
                    table=table,
                    fix=f"add data.{table}.source: path/to/{table}.csv to the params file",
                )
            )
            continue
        for col in columns:
            if col not in df.columns:
                issues.append(
                    Issue(
                        f"notebook {notebook} needs {table}.{col}",
                        file=labels.get(table),
                        table=table,
                        column=col,
                        fix=f'map your column onto it: data.{table}.columns: {{"<yours>": {col}}}',
                    )
                )
    for opt in OPTIONAL_INPUTS.get(notebook, []):
        df = tables.get(opt.table)
        if opt.column is None:
            if df is not None:
                continue
            what = f"no {opt.table} table"
            fix = f"add data.{opt.table} to the params file to compute them"
        elif df is None:
            continue  # the table itself is missing: reported by its own entry or as an error
        elif opt.column == STAGE_HISTORY:
            if _has_stage_history(tables, params):
                continue
            what = "no stage history (no stages table, no <stage>_at columns, no converted)"
            fix = "add data.stages (or map per-stage date columns such as sql_at on leads)"
        else:
            has = opt.column in df.columns and bool(df[opt.column].notna().any())
            if has:
                continue
            what = f"no {opt.table}.{opt.column}"
            fix = f"map the column onto {opt.column} in data.{opt.table}.columns to compute them"
        issues.append(
            Issue(
                f"{what}: in {notebook}, {opt.sections} will say Not computed",
                level="warning",
                file=labels.get(opt.table),
                table=opt.table,
                column=None if opt.column in (None, STAGE_HISTORY) else opt.column,
                fix=fix,
            )
        )
    return issues


def data_range(
    tables: Mapping[str, pd.DataFrame],
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, str | None]:
    """The span of the data: where an analysis date makes sense.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The loaded tables; every datetime column counts.

    Returns
    -------
    first : Timestamp or None
        The first lead's creation day, else the earliest date of any table.
    last : Timestamp or None
        The day of the last date in any table.
    where_last : str or None
        ``table.column`` holding that last date. All three are ``None`` without dates.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a"], "created_at": pd.to_datetime(["2025-01-02 09:00"])})
    >>> events = pd.DataFrame({"ts": pd.to_datetime(["2025-01-01 00:00", "2026-06-29 18:00"])})
    >>> first, last, where = data_range({"leads": leads, "events": events})
    >>> str(first.date()), str(last.date()), where
    ('2025-01-02', '2026-06-29', 'events.ts')
    """
    first = last = None
    where = None
    earliest = None
    for table, df in tables.items():
        for col in df.columns:
            s = df[col]
            if not pd.api.types.is_datetime64_any_dtype(s.dtype):
                continue
            lo, hi = s.min(), s.max()
            if pd.isna(hi):
                continue
            if last is None or hi > last:
                last, where = hi, f"{table}.{col}"
            if earliest is None or lo < earliest:
                earliest = lo
            if table == "leads" and col == "created_at":
                first = lo
    first = first if first is not None else earliest
    if first is None or last is None:
        return None, None, None
    return pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize(), where


def check_as_of(
    as_of: pd.Timestamp | None,
    tables: Mapping[str, pd.DataFrame],
    *,
    file: str | None = None,
    margin_days: int = AS_OF_MARGIN_DAYS,
) -> list[Issue]:
    """An error when the analysis date is outside the data.

    Parameters
    ----------
    as_of : Timestamp or None
        The analysis date; ``None`` checks nothing.
    tables : mapping of str to DataFrame
        The loaded tables (:func:`data_range`).
    file : str, optional
        The params file, for the issue.
    margin_days : int, default :data:`AS_OF_MARGIN_DAYS`
        How long after the last date in the data an analysis date may be.

    Returns
    -------
    list of Issue
        Empty, or one error when ``as_of`` is before the first lead's creation day or more than
        ``margin_days`` after the last date; it names the range and the dates to pass.

    Examples
    --------
    >>> leads = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-01", "2025-06-30"])})
    >>> check_as_of(pd.Timestamp("2025-12-31"), {"leads": leads})
    []
    >>> (issue,) = check_as_of(pd.Timestamp("2024-12-31"), {"leads": leads})
    >>> issue.fix
    'pass --as-of between 2025-01-01 and 2026-07-01 (or set run.as_of in that range)'
    """
    if as_of is None:
        return []
    first, last, where = data_range(tables)
    if first is None or last is None:
        return []
    as_of = pd.Timestamp(as_of).normalize()

    def day(t: pd.Timestamp) -> str:
        return t.date().isoformat()  # strftime writes year 1 as "1"

    latest = last + pd.Timedelta(days=margin_days)
    if first <= as_of <= latest:
        return []
    side = (
        f"before the first lead was created ({day(first)})"
        if as_of < first
        else f"more than {margin_days} days after the last date in the data ({day(last)}, {where})"
    )
    return [
        Issue(
            f"the analysis date {day(as_of)} is {side}; the data runs from {day(first)} "
            f"to {day(last)}",
            file=file,
            fix=f"pass --as-of between {day(first)} and {day(latest)} (or set run.as_of "
            "in that range)",
        )
    ]


__all__ = [
    "AS_OF_MARGIN_DAYS",
    "CROSS_RULES",
    "FILE_PARAMS",
    "OPTIONAL_INPUTS",
    "PARAM_RULES",
    "REQUIRED_COLUMNS",
    "Context",
    "CrossRule",
    "OptionalInput",
    "Rule",
    "check_as_of",
    "check_files",
    "check_inputs",
    "check_values",
    "data_range",
    "effective_values",
]
