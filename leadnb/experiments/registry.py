"""Pre-registered experiments: the registration files, assignment checks, and the experiment log.

Design: a registration is written *before* an experiment starts (the article's rules: one variable
at a time, a control group, the target value defined up front) and is the only source of the
primary metric, the target effect, alpha, power and the planned n. This module parses it strictly
into a frozen :class:`Registration` (every mistake names the file and the experiment id), prepares
an experiment's assignments against it (every problem row is either an error or a line of an
explicit exclusion table with counts, never silently dropped), names the experiments found in the
data without a registration (:func:`unregistered`), and keeps the cumulative experiment log (one CSV
with one row per experiment, analysis date and registration fingerprint and variant, so past tests
and their decisions stay visible; see :func:`append_log`).
The statistics live in :mod:`leadnb.experiments.readout`; sample size and duration in :mod:`leadnb.experiments.design`.

Registration keys (one YAML mapping per file in the registry folder, or inline under
``experiments.registrations``)::

    id: nurture-cadence-2026q1          # required
    hypothesis: "..."                   # required
    variable: email cadence             # required: the single variable changed
    control: monthly_newsletter         # required
    variants: [weekly_digest]           # required: the other arms
    allocation: {monthly_newsletter: 0.5, weekly_digest: 0.5}   # default equal shares
    primary_metric: {stage: sql, window_days: 30}   # or {outcome: outcome} (a 0/1 column)
    guardrail_metrics: [{stage: lost, window_days: 30, worse_if: higher}]
    target_effect: 0.03                 # required: absolute difference the test is sized for
    alpha: 0.05
    power: 0.8
    planned_n_per_arm: 3000             # the control arm's planned n (others scale by share)
    start: "2026-01-05"                 # required: first assignment date
    end: "2026-03-29"                   # last assignment date
    decision_rule: "..."
    # optional: baseline_rate (control rate used for the design), correction (holm|bonferroni),
    # owner, notes
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from leadnb import asof
from leadnb.data.params import check_keys, expect_type, parse_date, read_yaml
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.report.safe import FORMULA_PREFIXES

REGISTRATION_KEYS = (
    "id",
    "hypothesis",
    "variable",
    "control",
    "variants",
    "allocation",
    "primary_metric",
    "guardrail_metrics",
    "target_effect",
    "alpha",
    "power",
    "planned_n_per_arm",
    "start",
    "end",
    "decision_rule",
    "baseline_rate",
    "correction",
    "owner",
    "notes",
)
REQUIRED_KEYS = (
    "id",
    "hypothesis",
    "variable",
    "control",
    "variants",
    "primary_metric",
    "target_effect",
    "start",
)
METRIC_KEYS = ("stage", "window_days", "outcome", "worse_if")
SECTION_KEYS = ("registry", "registrations", "log")
EXCLUSION_COLUMNS = ["experiment_id", "metric", "reason", "variant", "rows", "leads"]
LOG_COLUMNS = [
    "experiment_id",
    "run",
    "as_of",
    "registration",
    "metric",
    "control",
    "variant",
    "n_control",
    "n",
    "rate_control",
    "rate",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "p_value",
    "p_adjusted",
    "prob_beat_control",
    "srm_p_value",
    "n_immature",
    "interim",
    "verdict",
    "hypothesis",
    "decision_rule",
]
#: One log row per (experiment, analysis date, registration fingerprint) and variant: re-running
#: an analysis date replaces its rows; a changed registration gets rows of its own.
LOG_KEY = ("experiment_id", "as_of", "registration")
LOG_TEXT = (
    "experiment_id",
    "run",
    "as_of",
    "registration",
    "metric",
    "control",
    "variant",
    "verdict",
    "hypothesis",
    "decision_rule",
)
LOG_INTS = ("n_control", "n", "n_immature")
LOG_BOOLS = ("interim",)


@dataclass(frozen=True)
class Metric:
    """An experiment outcome: a stage reached within ``window_days`` of assignment, or a column.

    ``worse_if`` is only used for guardrails: which direction of change is harmful.
    """

    stage: str | None = None
    window_days: int | None = None
    outcome: str | None = None
    worse_if: Literal["lower", "higher"] = "lower"

    @property
    def name(self) -> str:
        """Short machine name, e.g. ``sql_30d`` or ``outcome``."""
        if self.outcome is not None:
            return self.outcome
        return f"{self.stage}_{self.window_days}d"

    @property
    def label(self) -> str:
        """Plain-language name, e.g. ``reached sql within 30 days``."""
        if self.outcome is not None:
            return f"{self.outcome} (precomputed 0/1)"
        return f"reached {self.stage} within {self.window_days} days"

    def same_as(self, other: Metric) -> bool:
        """True when both define the same outcome (``worse_if`` is ignored)."""
        return (self.stage, self.window_days, self.outcome) == (
            other.stage,
            other.window_days,
            other.outcome,
        )

    @classmethod
    def parse(cls, d: Any, where: str, *, file: str | None = None) -> Metric:
        """Parse ``{stage, window_days}``, ``{outcome}`` or the short text ``"sql@30"``."""
        if isinstance(d, str):
            if "@" in d:
                stage, _, days = d.partition("@")
                d = {"stage": stage.strip(), "window_days": days.strip()}
                try:
                    d["window_days"] = int(d["window_days"])
                except ValueError:
                    pass
            else:
                d = {"outcome": d.strip()}
        d = check_keys(d, METRIC_KEYS, where, file=file)
        worse_if = d.get("worse_if", "lower")
        if worse_if not in ("lower", "higher"):
            raise ParamsError(
                f"{where}.worse_if must be 'lower' or 'higher', got {worse_if!r}",
                file=file,
                fix="lower: a drop is harmful (e.g. reached mql); higher: a rise is (e.g. lost)",
            )
        if "outcome" in d:
            if "stage" in d or "window_days" in d:
                raise ParamsError(
                    f"{where} has both 'outcome' and 'stage'/'window_days'",
                    file=file,
                    fix="use either {stage: sql, window_days: 30} or {outcome: outcome}",
                )
            out = expect_type(d["outcome"], str, f"{where}.outcome", file=file)
            return cls(outcome=out, worse_if=worse_if)
        if "stage" not in d or "window_days" not in d:
            raise ParamsError(
                f"{where} needs 'stage' and 'window_days' (or 'outcome')",
                file=file,
                fix="e.g. {stage: sql, window_days: 30}: reached SQL within 30 days of assignment",
            )
        stage = expect_type(d["stage"], str, f"{where}.stage", file=file)
        days = expect_type(d["window_days"], int, f"{where}.window_days", file=file)
        if days <= 0:
            raise ParamsError(
                f"{where}.window_days must be a positive number of days, got {days}",
                file=file,
                fix="e.g. window_days: 30",
            )
        return cls(stage=stage, window_days=days, worse_if=worse_if)


@dataclass(frozen=True)
class Registration:
    """One pre-registered experiment (see the module docstring for the keys)."""

    id: str
    hypothesis: str
    variable: str
    control: str
    variants: tuple[str, ...]
    allocation: dict[str, float]
    primary_metric: Metric
    target_effect: float
    start: pd.Timestamp
    guardrail_metrics: tuple[Metric, ...] = ()
    alpha: float = 0.05
    power: float = 0.8
    planned_n_per_arm: int | None = None
    end: pd.Timestamp | None = None
    decision_rule: str = ""
    baseline_rate: float | None = None
    correction: Literal["holm", "bonferroni"] = "holm"
    owner: str = ""
    notes: str = ""
    file: str | None = None

    @property
    def arms(self) -> tuple[str, ...]:
        """Control first, then the variants."""
        return (self.control, *self.variants)

    def planned_n(self) -> dict[str, int] | None:
        """Planned n per arm: ``planned_n_per_arm`` is the control's; others scale by share."""
        if self.planned_n_per_arm is None:
            return None
        c = self.allocation[self.control]
        return {
            a: math.ceil(self.planned_n_per_arm * s / c - 1e-9) for a, s in self.allocation.items()
        }

    @classmethod
    def from_dict(
        cls, d: Any, *, file: str | None = None, index: int | None = None
    ) -> Registration:
        """Parse and check one registration mapping; errors name ``file`` and the experiment id."""
        rid = d.get("id") if isinstance(d, Mapping) else None
        label = (
            f"experiment {rid!r}"
            if isinstance(rid, str) and rid
            else (f"registration #{index + 1}" if index is not None else "registration")
        )
        d = check_keys(d, REGISTRATION_KEYS, label, file=file, required=REQUIRED_KEYS)

        def err(msg: str, fix: str) -> ParamsError:
            return ParamsError(f"{label}: {msg}", file=file, fix=fix)

        def text(key: str, default: str | None = None) -> str:
            v = d.get(key, default)
            if key in REQUIRED_KEYS and (not isinstance(v, str) or not v.strip()):
                raise err(f"{key} must be a non-empty text", f"write {key}: <text>")
            return str(expect_type(v, str, f"{label}.{key}", file=file)).strip()

        rid = text("id")
        variable = d.get("variable")
        if isinstance(variable, list):
            raise err(
                f"variable lists {len(variable)} things ({', '.join(map(str, variable))}); "
                "change one variable at a time",
                "split it into one experiment per variable, each against the control",
            )
        control = text("control")
        variants = d.get("variants")
        if isinstance(variants, str):
            variants = [variants]
        expect_type(variants, list, f"{label}.variants", file=file)
        if not variants:
            raise err(
                "variants is empty", "list at least one variant, e.g. variants: [weekly_digest]"
            )
        variants = [str(expect_type(v, str, f"{label}.variants[]", file=file)) for v in variants]
        if control in variants:
            raise err(
                f"the control {control!r} is also listed as a variant", "remove it from variants"
            )
        if len(set(variants)) != len(variants):
            raise err("variants has duplicates", "list each variant once")
        arms = [control, *variants]
        alloc_raw = d.get("allocation")
        if alloc_raw is None:
            allocation = {a: 1.0 / len(arms) for a in arms}
        else:
            alloc_raw = check_keys(alloc_raw, arms, f"{label}.allocation", file=file, required=arms)
            allocation = {}
            for a in arms:
                s = expect_type(alloc_raw[a], (int, float), f"{label}.allocation[{a!r}]", file=file)
                if not s > 0:
                    raise err(
                        f"allocation of {a!r} must be positive, got {s}", "use shares like 0.5"
                    )
                allocation[a] = float(s)
            total = sum(allocation.values())
            if abs(total - 1.0) > 1e-3:
                raise err(
                    f"allocation shares add up to {total:g}, not 1",
                    "give each arm its share of leads, e.g. {control: 0.5, variant: 0.5}",
                )
        primary = Metric.parse(d["primary_metric"], f"{label}.primary_metric", file=file)
        guard_raw = d.get("guardrail_metrics") or []
        expect_type(guard_raw, list, f"{label}.guardrail_metrics", file=file)
        guards = tuple(
            Metric.parse(g, f"{label}.guardrail_metrics[{i}]", file=file)
            for i, g in enumerate(guard_raw)
        )
        effect = float(
            expect_type(d["target_effect"], (int, float), f"{label}.target_effect", file=file)
        )
        if effect == 0 or abs(effect) >= 1:
            raise err(
                f"target_effect must be an absolute difference between -1 and 1, not 0; got {effect}",
                "e.g. target_effect: 0.03 for +3 percentage points",
            )
        alpha = float(expect_type(d.get("alpha", 0.05), (int, float), f"{label}.alpha", file=file))
        power = float(expect_type(d.get("power", 0.8), (int, float), f"{label}.power", file=file))
        if not 0 < alpha < 1:
            raise err(f"alpha must be between 0 and 1, got {alpha}", "e.g. alpha: 0.05")
        if not alpha < power < 1:
            raise err(f"power must be between alpha and 1, got {power}", "e.g. power: 0.8")
        planned = d.get("planned_n_per_arm")
        if planned is not None:
            expect_type(planned, int, f"{label}.planned_n_per_arm", file=file)
            if planned <= 0:
                raise err(f"planned_n_per_arm must be positive, got {planned}", "e.g. 3000")
        start = parse_date(d["start"], f"{label}.start", file=file)
        end = d.get("end")
        end = None if end in (None, "") else parse_date(end, f"{label}.end", file=file)
        if end is not None and end < start:
            raise err(f"end {end:%Y-%m-%d} is before start {start:%Y-%m-%d}", "swap the dates")
        baseline = d.get("baseline_rate")
        if baseline is not None:
            baseline = float(
                expect_type(baseline, (int, float), f"{label}.baseline_rate", file=file)
            )
            if not 0 < baseline < 1:
                raise err(f"baseline_rate must be between 0 and 1, got {baseline}", "e.g. 0.08")
        correction = d.get("correction", "holm")
        if correction not in ("holm", "bonferroni"):
            raise err(f"correction must be holm or bonferroni, got {correction!r}", "use holm")
        return cls(
            id=rid,
            hypothesis=text("hypothesis"),
            variable=text("variable"),
            control=control,
            variants=tuple(variants),
            allocation=allocation,
            primary_metric=primary,
            guardrail_metrics=guards,
            target_effect=effect,
            alpha=alpha,
            power=power,
            planned_n_per_arm=planned,
            start=start,
            end=end,
            decision_rule=text("decision_rule", ""),
            baseline_rate=baseline,
            correction=correction,
            owner=text("owner", ""),
            notes=text("notes", ""),
            file=file,
        )


def describe(reg: Registration) -> str:
    """The registration in a few plain-text lines for a reader (hypothesis, arms, metric, target).

    Plain text, not Markdown: the hypothesis, names and decision rule are user text and are shown
    as they are written (a notebook prints them; nothing in them is rendered).
    """
    dates = f"from {reg.start:%Y-%m-%d}" + (
        f" to {reg.end:%Y-%m-%d}" if reg.end is not None else ""
    )
    alloc = ", ".join(f"{a} {s:.0%}" for a, s in reg.allocation.items())
    guards = "; ".join(g.label for g in reg.guardrail_metrics) or "none"
    lines = [
        f"Hypothesis: {reg.hypothesis}",
        f"  One variable changed: {reg.variable}",
        f"  Groups: {alloc} (control: {reg.control})",
        f"  Primary metric: {reg.primary_metric.label}"
        + ("" if reg.primary_metric.outcome else " of assignment"),
        f"  Target: {reg.target_effect * 100:+.1f} percentage points; alpha {reg.alpha:g}, "
        f"power {reg.power:.0%}"
        + (
            f", {reg.planned_n_per_arm:,} leads planned for the control group"
            if reg.planned_n_per_arm
            else ""
        ),
        f"  Guardrails: {guards}",
        f"  Enrolment: {dates}",
    ]
    if reg.decision_rule:
        lines.append(f"  Decision rule: {reg.decision_rule}")
    return "\n".join(lines)


def _canonical(v: Any) -> Any:
    """A registration's content as plain JSON values (dates as YYYY-MM-DD; no file path)."""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {
            f.name: _canonical(getattr(v, f.name))
            for f in dataclasses.fields(v)
            if f.name != "file"
        }
    if isinstance(v, Mapping):
        return {str(k): _canonical(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_canonical(x) for x in v]
    return v


def registration_fingerprint(reg: Registration) -> str:
    """Short sha256 (12 hex digits) of the registration's canonical content.

    Every field counts (hypothesis, arms, allocation, metrics, target, alpha, power, dates,
    decision rule, owner, notes) except where the file lives, so moving a registration file
    keeps its fingerprint and editing it after the start gives its readouts a new one (the log
    keeps both). Dates count by day, allocations by their float value.
    """
    text = json.dumps(_canonical(reg), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_registration(path: str | Path) -> Registration:
    """Read one registration YAML file."""
    path = Path(path)
    raw = read_yaml(path, "the registration file")
    if isinstance(raw, list):
        raise ParamsError(
            "a registration file holds one experiment (a mapping), not a list",
            file=str(path),
            fix="write one YAML file per experiment",
        )
    return Registration.from_dict(raw, file=str(path))


@dataclass(frozen=True)
class ExperimentsConfig:
    """The ``experiments`` section: where registrations are, and where the cumulative log is.

    ``registry`` is a folder of ``*.yaml``/``*.yml`` registration files (relative to the params
    file); ``registrations`` an inline list; both may be used, ids must be unique. ``log`` is the
    cumulative experiment log CSV; when unset, :func:`log_path` puts it next to the run folders.
    """

    registry: Path | None = None
    registrations: tuple[Registration, ...] = ()
    log: Path | None = None
    file: str | None = field(default=None, compare=False)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.registrations]

    def get(self, experiment_id: str) -> Registration:
        """The registration with this id; :class:`ParamsError` listing the known ids otherwise."""
        for r in self.registrations:
            if r.id == experiment_id:
                return r
        raise ParamsError(
            f"no registration for experiment {experiment_id!r}",
            file=str(self.registry) if self.registry else self.file,
            fix=f"registered experiments: {', '.join(self.ids) or 'none'}; add a YAML file to the "
            "registry folder before analysing an experiment",
        )

    @classmethod
    def from_dict(cls, d: Any, base_dir: Path, *, file: str | None = None) -> ExperimentsConfig:
        d = check_keys(d, SECTION_KEYS, "experiments", file=file)
        regs: list[Registration] = []
        registry = None
        if d.get("registry") not in (None, ""):
            reg_s = expect_type(d["registry"], str, "experiments.registry", file=file)
            registry = Path(reg_s) if Path(reg_s).is_absolute() else (base_dir / reg_s).resolve()
            if not registry.is_dir():
                raise ParamsError(
                    f"experiments.registry folder not found: {registry}",
                    file=file,
                    fix="create the folder with one YAML file per experiment, or remove the key",
                )
            files = sorted([*registry.glob("*.yaml"), *registry.glob("*.yml")])
            regs.extend(load_registration(f) for f in files)
        inline = d.get("registrations") or []
        expect_type(inline, list, "experiments.registrations", file=file)
        regs.extend(Registration.from_dict(r, file=file, index=i) for i, r in enumerate(inline))
        seen: dict[str, str | None] = {}
        for r in regs:
            if r.id in seen:
                raise ParamsError(
                    f"experiment {r.id!r} is registered twice ({seen[r.id]} and {r.file})",
                    file=r.file,
                    fix="give every experiment a unique id",
                )
            seen[r.id] = r.file
        log = None
        if d.get("log") not in (None, ""):
            log_s = expect_type(d["log"], str, "experiments.log", file=file)
            log = Path(log_s) if Path(log_s).is_absolute() else (base_dir / log_s).resolve()
        return cls(registry=registry, registrations=tuple(regs), log=log, file=file)


# --------------------------------------------------------------------------------------------
# Assignments of one experiment, checked against its registration


def prepare_assignments(
    assignments: pd.DataFrame,
    reg: Registration,
    as_of: pd.Timestamp,
    *,
    on_problem: Literal["exclude", "error"] = "exclude",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``reg``'s experiment that can be analysed, and an exclusion table.

    An experiment whose metrics need a window but whose assignments have no ``assigned_at`` column
    raises :class:`~leadnb.errors.NotEnoughData` (one sentence with the fix).

    Each problem row gets the first reason that applies: a variant not in the registration; no
    ``assigned_at`` when the metric needs a window; assigned after ``as_of``; assigned outside the
    registered start..end dates; a lead in more than one variant (all its rows); a repeated row for
    the same lead and variant (the earliest is kept). Returns ``(clean, exclusions)`` where
    ``exclusions`` has columns experiment_id, metric ("all"), reason, variant, rows, leads.
    With ``on_problem="error"`` any problem raises :class:`DataError` instead.
    """
    as_of = pd.Timestamp(as_of)
    need = ["lead_id", "experiment_id", "variant"]
    missing = [c for c in need if c not in assignments.columns]
    if missing:
        raise DataError(
            f"assignments table lacks column(s) {', '.join(missing)}",
            table="assignments",
            fix="map your columns onto lead_id, experiment_id, variant in data.assignments.columns",
        )
    df = assignments.loc[assignments["experiment_id"] == reg.id].copy()
    windowed = [m for m in (reg.primary_metric, *reg.guardrail_metrics) if m.outcome is None]
    if windowed and "assigned_at" not in df.columns:
        raise NotEnoughData(
            f"experiment {reg.id} measures {windowed[0].label} from assignment, but the "
            "assignments table has no assigned_at column",
            "add assigned_at (the date each lead entered the experiment) to the assignments, or "
            "register a precomputed 0/1 outcome: primary_metric: {outcome: outcome}",
            table="assignments",
            column="assigned_at",
        )
    has_date = "assigned_at" in df.columns
    reason = pd.Series(pd.NA, index=df.index, dtype="object")

    def mark(mask: pd.Series, why: str) -> None:
        reason.loc[mask & reason.isna()] = why

    mark(~df["variant"].isin(reg.arms), "variant not in the registration")
    if has_date:
        at = df["assigned_at"]
        if reg.primary_metric.outcome is None or any(
            g.outcome is None for g in reg.guardrail_metrics
        ):
            mark(at.isna(), "no assigned_at")
        mark(~asof.known(at, as_of) & at.notna(), "assigned after as_of")
        outside = at < reg.start
        if reg.end is not None:
            outside |= ~asof.known(at, reg.end) & at.notna()
        mark(outside, "assigned outside the registered start..end dates")
    ok = reason.isna()
    per_lead = df.loc[ok].groupby("lead_id", sort=False)["variant"].nunique()
    multi = df["lead_id"].isin(per_lead.index[per_lead > 1])
    mark(multi, "lead in more than one variant")
    ok = reason.isna()
    order = df.sort_values("assigned_at", kind="stable") if has_date else df
    dup_idx = order.loc[ok.reindex(order.index)].duplicated(["lead_id", "variant"], keep="first")
    mark(
        pd.Series(df.index.isin(dup_idx.index[dup_idx]), index=df.index), "repeated assignment row"
    )

    bad = reason.notna()
    excl = (
        df.loc[bad, ["lead_id", "variant"]]
        .assign(reason=reason[bad].astype(str))
        .groupby(["reason", "variant"], sort=True)
        .agg(rows=("lead_id", "size"), leads=("lead_id", "nunique"))
        .reset_index()
    )
    excl.insert(0, "metric", "all")
    excl.insert(0, "experiment_id", reg.id)
    excl = excl[EXCLUSION_COLUMNS]
    if bad.any() and on_problem == "error":
        raise DataError(
            f"experiment {reg.id!r}: {int(bad.sum())} assignment row(s) cannot be analysed ("
            + "; ".join(f"{r}: {n}" for r, n in excl.groupby("reason")["rows"].sum().items())
            + ")",
            table="assignments",
            rows=df.loc[bad].assign(reason=reason[bad]).head(5),
            count=int(bad.sum()),
            fix="fix the assignments (or the registration), or analyse with on_problem='exclude' "
            "to drop them with an exclusion table",
        )
    clean = df.loc[~bad].reset_index(drop=True)
    return clean, excl


def unregistered(
    assignments: pd.DataFrame | None,
    registered: Iterable[str],
    as_of: pd.Timestamp | str | None = None,
) -> list[str]:
    """Experiment ids present in the assignments table without a registration, sorted.

    With ``as_of`` and an ``assigned_at`` column, only experiments with a row assigned by the
    analysis date (or undated) count: an experiment that starts later is not in the data yet.
    Missing ids are ignored. An empty list when there is no assignments table.
    """
    if assignments is None or "experiment_id" not in assignments.columns:
        return []
    ids = assignments["experiment_id"]
    if as_of is not None and "assigned_at" in assignments.columns:
        at = assignments["assigned_at"]
        ids = ids.loc[(asof.known(at, as_of) | at.isna()).to_numpy()]
    found = {str(x) for x in ids.dropna().unique()}
    return sorted(found - {str(r) for r in registered})


def unregistered_sentence(ids: Iterable[str]) -> str:
    """The line a report prints for :func:`unregistered` ids (empty text when there are none)."""
    ids = list(ids)
    if not ids:
        return ""
    return (
        f"Experiment(s) in the data without a registration: {', '.join(ids)} "
        "(add params/experiments/<id>.yaml to read them out)"
    )


# --------------------------------------------------------------------------------------------
# The cumulative experiment log


def log_path(config: ExperimentsConfig | None, out_dir: str | Path | None) -> Path | None:
    """Where the cumulative log lives: ``config.log`` if set, else ``<OUT>/experiment_log.csv``.

    ``out_dir`` is the notebook's folder ``OUT/<run_id>/ab_testing``, so the default log sits in
    ``OUT`` next to the run folders and survives from run to run. ``None`` when neither is known
    (an interactive session without an output folder: nothing is written).
    """
    if config is not None and config.log is not None:
        return config.log
    if not out_dir:
        return None
    return Path(out_dir).resolve().parent.parent / "experiment_log.csv"


def run_label(out_dir: str | Path | None) -> str:
    """The run id a readout is logged under: the run folder's name (``OUT/<run_id>/<notebook>``).

    ``leadnb run`` writes into ``OUT/.tmp-<run_id>/`` and renames it when done, so the
    ``.tmp-`` prefix is dropped. Without an output folder the label is ``"interactive"``.
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


# the formula characters of leadnb.report.safe (one list), plus the quote itself so that stripping one
# leading quote is the exact inverse of adding it
_RISKY = "[" + re.escape("".join(FORMULA_PREFIXES)) + "']"
_QUOTED = "'" + _RISKY  # a neutralising quote before a formula character (or a quote)


def _text_columns(df: pd.DataFrame) -> list[str]:
    """The log's text columns and any extra text column (not the log's numeric ones)."""
    numeric = set(LOG_COLUMNS) - set(LOG_TEXT)
    return [
        c
        for c in df.columns
        if c not in numeric and (pd.api.types.is_string_dtype(df[c].dtype) or df[c].dtype == object)
    ]


def _strip_quote(df: pd.DataFrame) -> pd.DataFrame:
    """Undo CSV formula neutralising: one leading ``'`` before = + - @ tab CR or ``'``."""
    out = df.copy()
    for c in _text_columns(out):
        col = out[c].astype("str")
        quoted = col.str.match(_QUOTED).fillna(False).astype(bool)
        if quoted.any():
            out[c] = col.where(~quoted, col.str.slice(1))
    return out


def _neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells starting with = + - @ tab CR or ``'`` (numbers stay numbers).

    Quoting a leading ``'`` too makes :func:`_strip_quote` the exact inverse.
    """
    out = df.copy()
    for c in _text_columns(out):
        col = out[c].astype("str")
        risky = col.str.match(_RISKY).fillna(False).astype(bool)
        if risky.any():
            out[c] = col.where(~risky, "'" + col)
    return out


def _read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""])


def read_log(path: str | Path | None) -> pd.DataFrame:
    """The cumulative log (empty with :data:`LOG_COLUMNS` when the file does not exist yet).

    Columns come back with the dtypes of :func:`append_log`'s rows (ids and dates as text, counts
    as integers, ``interim`` as a boolean), and text cells as they were before the formula
    quoting the file is written with.
    """
    if path is None or not Path(path).exists():
        return _empty_log()
    return _coerce_log(_strip_quote(_read_csv_text(Path(path))))


def read_log_rows(csv_path: str | Path) -> pd.DataFrame:
    """A run's own log rows (``ab_testing/experiment_log_rows.csv``) read back for :func:`append_log`.

    That CSV is written for people, so text cells that started with = + - @ may carry a leading
    single quote (formula neutralising): one leading ``'`` before such a character (or before
    another ``'``) is removed. The dtypes are the log's (see :func:`read_log`).
    """
    return _coerce_log(_strip_quote(_read_csv_text(Path(csv_path))))


def _key_index(df: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(df[list(LOG_KEY)].astype("str").fillna(""))


def merged_log(log: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The log with ``rows`` added: rows of ``log`` whose key (:data:`LOG_KEY`) is in ``rows`` are
    replaced by ``rows``, so the same analysis date of the same registration is never duplicated.

    Pure: nothing is read or written. ``rows`` come after the log's kept rows; within ``rows`` the
    last row of a repeated (key, variant) wins.
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

    Idempotent on :data:`LOG_KEY` (experiment, analysis date, registration fingerprint): rows with
    a key already in the log replace the old ones (:func:`merged_log`), so re-running a date never
    duplicates it. Safe under concurrency: the read-merge-write holds an exclusive ``fcntl.flock``
    on ``<path>.lock``, and the file is written to a temporary file in the same folder and moved
    over the log with ``os.replace`` (readers never see half a file). Text cells that a
    spreadsheet would read as a formula are written with a leading ``'`` (:func:`read_log` removes
    it). With ``path=None`` nothing is written and the rows alone are returned.

    The notebook does not call this: it saves its rows as ``experiment_log_rows.csv`` and the
    runner appends them (:func:`read_log_rows`) when it publishes the run, so a run that is never
    published writes no log row.
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
                _neutralise(log).to_csv(fh, index=False)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return log


__all__ = [
    "EXCLUSION_COLUMNS",
    "LOG_COLUMNS",
    "LOG_KEY",
    "ExperimentsConfig",
    "Metric",
    "Registration",
    "append_log",
    "describe",
    "load_registration",
    "log_path",
    "merged_log",
    "prepare_assignments",
    "read_log",
    "read_log_rows",
    "registration_fingerprint",
    "run_label",
    "unregistered",
    "unregistered_sentence",
]
