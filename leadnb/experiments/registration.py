"""Pre-registration: what an experiment promised before it started, parsed strictly.

Design. A registration is written *before* an experiment starts (the article's rules: one
variable at a time, a control group, the target value defined up front) and is the only source
of the primary metric, the target effect, alpha, power and the planned n. This module parses it
into a frozen :class:`Registration` (every mistake names the file and the experiment id),
describes it for a reader (:func:`describe`), fingerprints its content so a registration edited
after the start shows up in the experiment log (:func:`registration_fingerprint`), and reads the
params file's ``experiments`` section (:class:`ExperimentsConfig`). Which assignment rows can be
analysed lives in :mod:`leadnb.experiments.assignments`; the statistics in
:mod:`leadnb.experiments.comparisons` and :mod:`leadnb.experiments.readout`; sample size and
duration in :mod:`leadnb.experiments.design`; the cumulative log in :mod:`leadnb.experiments.log`.

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

    # the analysis plan, declared before the start (issue 18); each key is optional:
    analysis: fixed                     # fixed (default) | sequential
    covariates: [score_at_assignment]   # measured before assignment, for regression adjustment
    unit: lead                          # lead (default) | account: the randomisation unit
    segments: [source, industry]        # breakdowns declared up front (one BH family)

``analysis: fixed`` is the fixed-horizon test: an interim look is labelled and no decision is
taken before the planned end. ``analysis: sequential`` reads every look with an always-valid
confidence sequence and p-value (:mod:`leadnb.experiments.sequential`), tuned from the planned
n, so the scheduled run may look every week and the report may recommend stopping early; it
needs ``planned_n_per_arm`` (or ``baseline_rate``, from which the sequential n is sized).
``covariates`` and ``segments`` are column names; whether they exist in the data and were
measured before assignment is checked where the data is read (:mod:`leadnb.experiments.adjust`);
here each must be a non-empty name, listed once, and none may be the primary outcome column.
``unit: account`` randomises whole accounts (cluster-robust analysis). A registration that
leaves these four keys at their defaults keeps the fingerprint it had before they existed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from leadnb.data.params import check_keys, expect_type, parse_date, read_yaml
from leadnb.errors import ParamsError
from leadnb.results import Kind, format_value

__all__ = [
    "ANALYSES",
    "REGISTRATION_KEYS",
    "HoldoutConfig",
    "REQUIRED_KEYS",
    "ExperimentsConfig",
    "Metric",
    "UNITS",
    "Registration",
    "describe",
    "plan_text",
    "stage_display",
    "load_registration",
    "registration_fingerprint",
]


@dataclass(frozen=True)
class HoldoutConfig:
    """The params file's ``roi.holdout``: a randomised nurture experiment in the assignments table: the control arm gets no (or the
    cheaper) nurture, the treatment arm the programme; the outcome is reaching the qualified stage
    within ``window_days`` of assignment. ``cost_per_treated_lead`` is the extra cost of treating
    one lead (the nurture cost per nurtured lead)."""

    experiment_id: str
    control_variant: str
    treatment_variant: str | None = None
    window_days: int = 30
    cost_per_treated_lead: float | None = None

    @classmethod
    def from_dict(cls, d: Any, where: str = "roi.holdout") -> HoldoutConfig:
        """Parse the ``roi.holdout`` section (``experiment_id`` and ``control_variant`` required).

        Examples
        --------
        >>> HoldoutConfig.from_dict({"experiment_id": "x", "control_variant": "c"}).window_days
        30
        """
        keys = [f.name for f in fields(cls)]
        d = check_keys(d, keys, where, required=("experiment_id", "control_variant"))
        expect_type(d["experiment_id"], str, f"{where}.experiment_id")
        expect_type(d["control_variant"], str, f"{where}.control_variant")
        if d.get("treatment_variant") is not None:
            expect_type(d["treatment_variant"], str, f"{where}.treatment_variant")
        window = expect_type(d.get("window_days", 30), int, f"{where}.window_days")
        cost = d.get("cost_per_treated_lead")
        if cost is not None:
            expect_type(cost, (int, float), f"{where}.cost_per_treated_lead")
        return cls(
            experiment_id=d["experiment_id"],
            control_variant=d["control_variant"],
            treatment_variant=d.get("treatment_variant"),
            window_days=_positive_days(window, f"{where}.window_days"),
            cost_per_treated_lead=None if cost is None else float(cost),
        )


def _positive_days(v: int, where: str) -> int:
    if v <= 0:
        raise ParamsError(
            f"{where} must be a positive whole number, got {v}", fix=f"set {where}: 30"
        )
    return v


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
    "analysis",
    "covariates",
    "unit",
    "segments",
)
ANALYSES = ("fixed", "sequential")
"""The analysis plans a registration may declare (``analysis:``); the first is the default."""
UNITS = ("lead", "account")
"""The randomisation units a registration may declare (``unit:``); the first is the default."""
_PLAN_DEFAULTS: dict[str, Any] = {
    "analysis": "fixed",
    "covariates": (),
    "unit": "lead",
    "segments": (),
}
"""Keys added after registrations were first fingerprinted, with their defaults: a field at its
default is left out of the fingerprint, so existing registrations keep theirs."""
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


def stage_display(stage: str) -> str:
    """A funnel stage by its display name, inside a sentence: the funnel's name for it
    (:func:`leadnb.funnel.stages.stage_name`: acronyms in capitals, ``_`` as a space), without
    the capital first letter of a name that is not an acronym.

    Parameters
    ----------
    stage
        The canonical stage name (``funnel.stages``).

    Returns
    -------
    str
        ``MQL``, ``SQL``; ``opportunity``, ``closed won``.

    Examples
    --------
    >>> stage_display("sql"), stage_display("opportunity"), stage_display("closed_won")
    ('SQL', 'opportunity', 'closed won')
    """
    from leadnb.funnel.stages import STAGE_ACRONYMS, stage_name  # the params layer loads this

    name = stage_name(stage)
    return name if str(stage) in STAGE_ACRONYMS else name[:1].lower() + name[1:]


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
        """Plain-language name, e.g. ``reached sql within 30 days`` (stored in ``ab_results``
        and in the verdicts, so it keeps the canonical stage name)."""
        if self.outcome is not None:
            return f"{self.outcome} (precomputed 0/1)"
        return f"reached {self.stage} within {self.window_days} days"

    @property
    def display_label(self) -> str:
        """The name a report shows: the stage's display name (:func:`stage_display`).

        >>> Metric(stage="sql", window_days=30).display_label
        'reached SQL within 30 days'
        >>> Metric(outcome="won").display_label
        'won (a 0/1 outcome column)'
        """
        if self.outcome is not None:
            return f"{self.outcome} (a 0/1 outcome column)"
        days = format_value(self.window_days, Kind.DAYS)
        return f"reached {stage_display(str(self.stage))} within {days}"

    @property
    def sentence_label(self) -> str:
        """The metric inside a sentence, after "on" ("beat control on ..."): what the answer of
        the A/B report and the run index card say (``metrics.json`` ``metric_label``).

        >>> Metric(stage="sql", window_days=30).sentence_label
        'reaching SQL within 30 days'
        >>> Metric(stage="closed_won", window_days=90).sentence_label
        'reaching closed won within 90 days'
        >>> Metric(outcome="won").sentence_label
        'won (a 0/1 outcome column)'
        """
        if self.outcome is not None:
            return self.display_label
        days = format_value(self.window_days, Kind.DAYS)
        return f"reaching {stage_display(str(self.stage))} within {days}"

    def same_as(self, other: Metric) -> bool:
        """True when both define the same outcome (``worse_if`` is ignored)."""
        return (self.stage, self.window_days, self.outcome) == (
            other.stage,
            other.window_days,
            other.outcome,
        )

    @classmethod
    def parse(cls, d: Any, where: str, *, file: str | None = None) -> Metric:
        """Parse a metric from the registration or the notebook's ``primary_metric`` parameter.

        Parameters
        ----------
        d
            ``{stage, window_days[, worse_if]}``, ``{outcome[, worse_if]}``, or the short text
            ``"sql@30"`` (a stage and days) or ``"outcome"`` (a column).
        where
            Where it was found, for error messages (``"experiment 'x'.primary_metric"``).
        file
            The file it came from, for error messages.

        Returns
        -------
        Metric

        Raises
        ------
        ParamsError
            An unknown key, both forms at once, a missing or non-positive window, or a
            ``worse_if`` other than lower/higher.

        Examples
        --------
        >>> Metric.parse("sql@30", "metric").name, Metric.parse({"outcome": "won"}, "m").label
        ('sql_30d', 'won (precomputed 0/1)')
        """
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
    analysis: Literal["fixed", "sequential"] = "fixed"
    covariates: tuple[str, ...] = ()
    unit: Literal["lead", "account"] = "lead"
    segments: tuple[str, ...] = ()
    file: str | None = None

    @property
    def arms(self) -> tuple[str, ...]:
        """Control first, then the variants."""
        return (self.control, *self.variants)

    def planned_n(self) -> dict[str, int] | None:
        """Planned n per arm: ``planned_n_per_arm`` is the control's, others scale by share.

        Returns
        -------
        dict of str to int, or None
            Arm -> planned leads (rounded up); None when no ``planned_n_per_arm`` is registered.

        Examples
        --------
        >>> Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v", "control": "a",
        ...     "variants": ["b"], "allocation": {"a": 0.25, "b": 0.75}, "planned_n_per_arm": 100,
        ...     "primary_metric": "sql@30", "target_effect": 0.02, "start": "2026-01-01"}).planned_n()
        {'a': 100, 'b': 300}
        """
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
        """Parse and check one registration mapping (the keys of the module docstring).

        Parameters
        ----------
        d
            The mapping, as read from YAML.
        file
            The file it came from; every error names it.
        index
            Its position in an inline list, to name it when it has no id.

        Returns
        -------
        Registration

        Raises
        ------
        ParamsError
            Any mistake, naming the file and the experiment id, with the fix: a missing or
            unknown key, more than one variable, the control among the variants, shares that
            do not add up to 1, a target effect of 0, alpha or power out of range, an end
            before the start...

        Examples
        --------
        >>> r = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
        ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
        ...     "target_effect": 0.02, "start": "2026-01-01"})
        >>> r.arms, r.allocation, r.alpha, r.power
        (('a', 'b'), {'a': 0.5, 'b': 0.5}, 0.05, 0.8)
        """
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
        analysis = d.get("analysis", ANALYSES[0])
        if analysis not in ANALYSES:
            raise err(
                f"analysis must be fixed or sequential, got {analysis!r}",
                "fixed: one read at the planned end; sequential: always-valid intervals at "
                "every look, with an early stop allowed",
            )
        unit = d.get("unit", UNITS[0])
        if unit not in UNITS:
            raise err(
                f"unit must be lead or account, got {unit!r}",
                "lead: each lead randomised on its own; account: whole accounts randomised",
            )
        if analysis == "sequential" and planned is None and baseline is None:
            raise err(
                "analysis: sequential needs planned_n_per_arm (or baseline_rate to size it): "
                "the confidence sequence is tuned to be tightest at the planned n",
                "add planned_n_per_arm: the n per arm of the sequential plan (the design "
                "section shows it), or baseline_rate",
            )
        covariates = _names(d.get("covariates"), "covariates", label, file, err)
        segments = _names(d.get("segments"), "segments", label, file, err)
        if primary.outcome is not None and primary.outcome in covariates:
            raise err(
                f"covariates lists {primary.outcome!r}, the primary metric's outcome",
                "a covariate must be measured before assignment; remove the outcome from "
                "covariates",
            )
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
            analysis=analysis,
            covariates=covariates,
            unit=unit,
            segments=segments,
            file=file,
        )


def _names(
    raw: Any, key: str, label: str, file: str | None, err: Callable[[str, str], ParamsError]
) -> tuple[str, ...]:
    """The column names a registration lists under ``key`` (``covariates``, ``segments``).

    ``None`` or a missing key is no name; one text is one name; a list must hold non-empty
    texts, each once. Whether the columns exist is checked against the data elsewhere.
    """
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    expect_type(raw, list, f"{label}.{key}", file=file)
    names = []
    for i, v in enumerate(raw):
        expect_type(v, str, f"{label}.{key}[{i}]", file=file)
        if not v.strip():
            raise err(f"{key}[{i}] is empty", f"write a column name, e.g. {key}: [source]")
        names.append(v.strip())
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise err(f"{key} lists {', '.join(map(repr, twice))} twice", "list each name once")
    return tuple(names)


def describe(reg: Registration) -> str:
    """The registration in a few plain-text lines for a reader (hypothesis, arms, metric, target).

    Plain text, not Markdown: the hypothesis, names and decision rule are user text and are shown
    as they are written (a notebook prints them; nothing in them is rendered). Every number is
    formatted from its kind (:func:`leadnb.results.format_value`): shares as percentages, the
    target in points, the significance level as a p-value threshold, counts with separators.

    Parameters
    ----------
    reg
        The registration.

    Returns
    -------
    str
        Hypothesis, variable, groups, primary metric, target, guardrails, enrolment dates and
        the decision rule, one per line.

    Examples
    --------
    >>> print(describe(Registration.from_dict({"id": "e", "hypothesis": "weekly beats monthly",
    ...     "variable": "cadence", "control": "monthly", "variants": ["weekly"],
    ...     "primary_metric": "sql@30", "target_effect": 0.02, "start": "2026-01-05",
    ...     "planned_n_per_arm": 2500})))
    Hypothesis: weekly beats monthly
      One variable changed: cadence
      Groups: monthly 50.0%, weekly 50.0% (control: monthly)
      Primary metric: reached SQL within 30 days of assignment
      Target: +2.0 pts; significance level 0.050, power 80.0%, 2,500 leads planned for the control group
      Guardrails: none
      Enrolment: from 2026-01-05
    """
    dates = f"from {reg.start:%Y-%m-%d}" + (
        f" to {reg.end:%Y-%m-%d}" if reg.end is not None else ""
    )
    alloc = ", ".join(f"{a} {format_value(s, Kind.RATE)}" for a, s in reg.allocation.items())
    guards = "; ".join(g.display_label for g in reg.guardrail_metrics) or "none"
    lines = [
        f"Hypothesis: {reg.hypothesis}",
        f"  One variable changed: {reg.variable}",
        f"  Groups: {alloc} (control: {reg.control})",
        f"  Primary metric: {reg.primary_metric.display_label}"
        + ("" if reg.primary_metric.outcome else " of assignment"),
        f"  Target: {format_value(reg.target_effect, Kind.POINTS)}; significance level "
        f"{format_value(reg.alpha, Kind.P_VALUE)}, power {format_value(reg.power, Kind.RATE)}"
        + (
            f", {format_value(reg.planned_n_per_arm, Kind.COUNT)} leads planned for the control "
            "group"
            if reg.planned_n_per_arm
            else ""
        ),
        f"  Guardrails: {guards}",
        f"  Enrolment: {dates}",
    ]
    plan = plan_text(reg)
    if plan:
        lines.append(f"  Analysis plan: {plan}")
    if reg.decision_rule:
        lines.append(f"  Decision rule: {reg.decision_rule}")
    return "\n".join(lines)


def plan_text(reg: Registration) -> str:
    """The registration's declared analysis plan in one phrase; empty when it declares none.

    Parameters
    ----------
    reg
        The registration.

    Returns
    -------
    str
        The plan keys away from their defaults (``analysis``, ``unit``, ``covariates``,
        ``segments``), e.g. ``sequential (always-valid, may stop early); randomised by account``;
        ``""`` for a registration that keeps today's fixed-horizon, lead-level analysis.

    Examples
    --------
    >>> r = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.02, "start": "2026-01-01", "planned_n_per_arm": 900,
    ...     "analysis": "sequential",
    ...     "unit": "account", "covariates": ["score"], "segments": ["source", "industry"]})
    >>> plan_text(r)
    'sequential (always-valid, may stop early); randomised by account; adjusted for score; segments source, industry'
    >>> plan_text(dataclasses.replace(r, analysis="fixed", unit="lead", covariates=(), segments=()))
    ''
    """
    parts = []
    if reg.analysis == "sequential":
        parts.append("sequential (always-valid, may stop early)")
    if reg.unit == "account":
        parts.append("randomised by account")
    if reg.covariates:
        parts.append("adjusted for " + ", ".join(reg.covariates))
    if reg.segments:
        parts.append("segments " + ", ".join(reg.segments))
    return "; ".join(parts)


def _canonical(v: Any) -> Any:
    """A registration's content as plain JSON values (dates as YYYY-MM-DD; no file path)."""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        later = _PLAN_DEFAULTS if isinstance(v, Registration) else {}
        return {
            f.name: _canonical(getattr(v, f.name))
            for f in dataclasses.fields(v)
            if f.name != "file" and not (f.name in later and getattr(v, f.name) == later[f.name])
        }
    if isinstance(v, Mapping):
        return {str(k): _canonical(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_canonical(x) for x in v]
    return v


def registration_fingerprint(reg: Registration) -> str:
    """Short sha256 of the registration's canonical content: what the log keys readouts by.

    Every field counts (hypothesis, arms, allocation, metrics, target, alpha, power, dates,
    decision rule, owner, notes, and the analysis plan: analysis, covariates, unit, segments)
    except where the file lives, so moving a registration file keeps its fingerprint and editing
    it after the start gives its readouts a new one (the log keeps both). An analysis-plan key
    at its default is left out, so a registration written before those keys existed keeps its
    fingerprint. Dates count by day, allocations by their float value.

    Parameters
    ----------
    reg
        The registration.

    Returns
    -------
    str
        12 hexadecimal digits.

    Examples
    --------
    >>> import dataclasses
    >>> r = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.02, "start": "2026-01-01"})
    >>> fp = registration_fingerprint(r)
    >>> len(fp), fp == registration_fingerprint(dataclasses.replace(r, file="/moved.yaml"))
    (12, True)
    >>> fp == registration_fingerprint(dataclasses.replace(r, target_effect=0.03))
    False
    """
    text = json.dumps(_canonical(reg), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_registration(path: str | Path) -> Registration:
    """Read one registration YAML file.

    Parameters
    ----------
    path
        A YAML file holding one mapping (see the module docstring).

    Returns
    -------
    Registration

    Raises
    ------
    ParamsError
        The file is not one mapping, or the registration is wrong (:meth:`Registration.from_dict`).
    """
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
        """The registered experiment ids, in the order read."""
        return [r.id for r in self.registrations]

    def get(self, experiment_id: str) -> Registration:
        """The registration with this id.

        Parameters
        ----------
        experiment_id
            A registered id.

        Returns
        -------
        Registration

        Raises
        ------
        ParamsError
            No registration has that id (the message lists the known ids).
        """
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
        """Parse the params file's ``experiments`` section.

        Parameters
        ----------
        d
            The section: ``registry`` (a folder), ``registrations`` (an inline list), ``log``.
        base_dir
            The params file's folder: relative paths are relative to it.
        file
            The params file, for error messages.

        Returns
        -------
        ExperimentsConfig
            Every registration of the folder (``*.yaml``/``*.yml``, sorted) then the inline ones.

        Raises
        ------
        ParamsError
            An unknown key, a missing registry folder, a wrong registration, or an id registered
            twice.

        Examples
        --------
        >>> cfg = ExperimentsConfig.from_dict({"registrations": [{"id": "e", "hypothesis": "h",
        ...     "variable": "v", "control": "a", "variants": ["b"], "primary_metric": "sql@30",
        ...     "target_effect": 0.02, "start": "2026-01-01"}]}, Path("."))
        >>> cfg.ids, cfg.get("e").control, cfg.log
        (['e'], 'a', None)
        """
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
