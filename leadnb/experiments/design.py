"""Experiment design: sample size, minimum detectable effect and calendar duration.

Design: small pure functions on plain numbers, one formula each, so the notebook's calculator
and the design table call the same code.

The formula (the normal approximation for comparing two independent proportions, as in Fleiss,
Levin and Paik, *Statistical Methods for Rates and Proportions*, 3rd ed., eq. 4.14, without the
continuity correction) sizes the variant arm as::

    n_v = ((z_{1-a} * sd0 + z_{power} * sd1) / d) ** 2
    sd0 = sqrt(pbar * (1 - pbar) * (1 + 1/r))        # pooled proportion under H0
    sd1 = sqrt(p_v * (1 - p_v) + p_c * (1 - p_c) / r) # unpooled under H1
    pbar = (p_v + r * p_c) / (1 + r),   r = n_c / n_v,   d = p_v - p_c

with ``a = alpha / 2`` for a two-sided test (the far tail is ignored, which is negligible when the
effect is not tiny). This is exactly statsmodels'
``samplesize_proportions_2indep_onetail`` (10% -> 12%, alpha 0.05 two-sided, power 0.80, 1:1 gives
3840.85, i.e. 3841 per arm); the tests check it against statsmodels.

With ``k`` arms (one control and ``k - 1`` variants, each compared with control) the
per-comparison alpha is ``alpha / (k - 1)`` for Bonferroni; for Holm the same alpha is used for
planning, because Holm's first (strictest) step is Bonferroni's threshold, so the n guarantees the
power for every comparison (Holm can only reject more). The minimum detectable effect for a given
n is the ``d`` at which the power equals the target, solved with :func:`scipy.optimize.brentq`.

Calendar duration: a fixed-window outcome (e.g. "reached SQL within 30 days") cannot be read
before the window of the last enrolled lead has closed, so
``days_needed = ceil(total_n / daily_inflow) + window_days``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from leadnb import asof
from leadnb.errors import ParamsError
from leadnb.results import Column, Kind, Result, format_value, value

if TYPE_CHECKING:
    from leadnb.experiments.registration import Registration

Alternative = Literal["two-sided", "larger", "smaller"]
Correction = Literal["holm", "bonferroni", "none"]

DESIGN_COLUMNS = [
    "experiment_id",
    "baseline_rate",
    "mde",
    "alpha",
    "power",
    "n_per_arm",
    "days_needed",
]


def _meaning(name: str) -> str:
    """The one-line meaning :class:`DesignRow` declares for field ``name``."""
    return next(f.metadata["meaning"] for f in dataclasses.fields(DesignRow) if f.name == name)


@dataclasses.dataclass(frozen=True)
class SampleSize(Result):
    """Leads needed per arm (:func:`sample_size`), each n rounded up."""

    n_control: int = value(Kind.COUNT, "leads in the control arm")
    n_variant: int = value(Kind.COUNT, "leads in each variant arm")
    n_total: int = value(Kind.COUNT, "leads in all arms")


@dataclasses.dataclass(frozen=True)
class DesignRow(Result):
    """One experiment's design (:func:`design_row`): a row of ``design.csv``."""

    experiment_id: str = value(Kind.TEXT, "the experiment (or 'calculator')")
    baseline_rate: float = value(Kind.RATE, "control conversion rate the test is sized for")
    mde: float = value(Kind.POINTS, "absolute difference to detect")
    alpha: float = value(Kind.P_VALUE, "two-sided significance level")
    power: float = value(Kind.RATE, "chance of detecting the mde if it is real")
    n_per_arm: int = value(Kind.COUNT, "leads in the control arm")
    n_variant: int = value(Kind.COUNT, "leads in each variant arm")
    n_total: int = value(Kind.COUNT, "leads in all arms")
    inflow_per_week: float = value(Kind.COUNT, "new leads a week entering the test")
    window_days: int = value(Kind.DAYS, "days the outcome needs after assignment")
    days_needed: float = value(Kind.DAYS, "calendar days: enrolment plus the window")
    n_by_arm: dict[str, int] = dataclasses.field(default_factory=dict)


_DESIGN_LABELS = {
    "experiment_id": "Experiment",
    "baseline_rate": "Control rate",
    "mde": "Lift to detect",
    "alpha": "Significance level",
    "power": "Power",
    "n_per_arm": "Leads in control",
    "days_needed": "Days needed",
    "n_variant": "Leads per variant",
    "n_total": "Leads in all",
    "inflow_per_week": "New leads a week",
    "window_days": "Outcome window",
}
DESIGN_DISPLAY: dict[str, Column] = {
    c: Column(label, DesignRow.kinds()[c], _meaning(c)) for c, label in _DESIGN_LABELS.items()
}
"""How a report shows ``design.csv`` (:func:`design_table`): each column's label, and its kind
as :class:`DesignRow` declares it (the CSV keeps the machine names)."""


def _check_rate(p: float, name: str) -> None:
    if not (0.0 < p < 1.0):
        raise ParamsError(
            f"{name} must be a proportion strictly between 0 and 1, got {p!r}",
            fix=f"write {name} as a share, e.g. 0.08 for 8%",
        )


def _check_design(alpha: float, power: float, ratio: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ParamsError(f"alpha must be between 0 and 1, got {alpha!r}", fix="use e.g. 0.05")
    if not (alpha < power < 1.0):
        raise ParamsError(f"power must be between alpha and 1, got {power!r}", fix="use e.g. 0.8")
    if not ratio > 0:
        raise ParamsError(f"ratio must be positive, got {ratio!r}", fix="use e.g. 1.0 for 1:1")


def adjusted_alpha(alpha: float, k_arms: int = 2, correction: Correction = "holm") -> float:
    """Per-comparison alpha for planning ``k_arms`` arms (``k_arms - 1`` comparisons with control).

    Parameters
    ----------
    alpha
        The family-wise significance level.
    k_arms
        Arms, control included.
    correction
        ``"holm"`` and ``"bonferroni"`` both plan at ``alpha / (k_arms - 1)`` (Holm's strictest
        step); ``"none"`` keeps ``alpha``.

    Returns
    -------
    float
        The alpha each comparison is planned at.

    Examples
    --------
    >>> adjusted_alpha(0.05), adjusted_alpha(0.05, 5), adjusted_alpha(0.05, 5, "none")
    (0.05, 0.0125, 0.05)
    """
    if k_arms < 2:
        raise ParamsError(f"an experiment needs at least 2 arms, got {k_arms}", fix="add a variant")
    if correction not in ("holm", "bonferroni", "none"):
        raise ParamsError(f"unknown correction {correction!r}", fix="use holm, bonferroni or none")
    m = k_arms - 1
    return alpha if correction == "none" or m == 1 else alpha / m


def _sds(p_c: float, p_v: float, r: float) -> tuple[float, float]:
    """Standard deviations (per sqrt(n_v)) of the difference under H0 (pooled) and H1."""
    pbar = (p_v + r * p_c) / (1.0 + r)
    sd0 = math.sqrt(pbar * (1.0 - pbar) * (1.0 + 1.0 / r))
    sd1 = math.sqrt(p_v * (1.0 - p_v) + p_c * (1.0 - p_c) / r)
    return sd0, sd1


def _crit(alpha: float, alternative: Alternative) -> float:
    if alternative not in ("two-sided", "larger", "smaller"):
        raise ParamsError(
            f"unknown alternative {alternative!r}", fix="use two-sided, larger or smaller"
        )
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def sample_size_raw(
    baseline: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Unrounded n of the variant arm (pooled-under-H0 / unpooled-under-H1 formula, see module).

    Parameters
    ----------
    baseline
        The control rate.
    effect
        The absolute difference to detect (variant minus control, either sign).
    alpha, power
        Significance level and power.
    ratio
        n_variant / n_control.
    alternative
        ``"two-sided"``, ``"larger"`` or ``"smaller"``.

    Returns
    -------
    float
        Leads in the variant arm, not rounded (statsmodels'
        ``samplesize_proportions_2indep_onetail``).

    Examples
    --------
    >>> round(sample_size_raw(0.10, 0.02), 2)  # the DOMAIN.md reference
    3840.85
    """
    _check_rate(baseline, "baseline")
    _check_rate(baseline + effect, "baseline + effect")
    _check_design(alpha, power, ratio)
    if effect == 0:
        raise ParamsError(
            "the effect to detect must not be 0", fix="set a target effect, e.g. 0.02"
        )
    sd0, sd1 = _sds(baseline, baseline + effect, 1.0 / ratio)
    z_a = _crit(alpha, alternative)
    z_b = float(stats.norm.ppf(power))
    return max(z_a * sd0 + z_b * sd1, 0.0) ** 2 / effect**2


def sample_size(
    baseline: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    k_arms: int = 2,
    correction: Correction = "holm",
    alternative: Alternative = "two-sided",
) -> SampleSize:
    """Leads needed per arm to detect ``effect`` (absolute) over ``baseline``.

    Parameters
    ----------
    baseline
        The control arm's conversion rate.
    effect
        The absolute difference to detect (variant minus control, either sign).
    alpha, power
        Two-sided significance level and the chance of detecting ``effect`` if it is real.
    ratio
        n_variant / n_control (1.0 for equal allocation).
    k_arms, correction
        With ``k_arms > 2`` the alpha is adjusted as in :func:`adjusted_alpha`.
    alternative
        ``"two-sided"``, ``"larger"`` or ``"smaller"``.

    Returns
    -------
    SampleSize
        ``n_control``, ``n_variant`` (every variant gets it) and ``n_total`` (all ``k_arms``
        arms), each rounded up.

    Examples
    --------
    >>> sample_size(0.10, 0.02)
    SampleSize(n_control=3841, n_variant=3841, n_total=7682)
    >>> sample_size(0.10, 0.02, k_arms=3).n_total  # two comparisons, each at alpha 0.025
    13956
    """
    a = adjusted_alpha(alpha, k_arms, correction)
    n_v = sample_size_raw(
        baseline, effect, alpha=a, power=power, ratio=ratio, alternative=alternative
    )
    n_variant = math.ceil(n_v - 1e-9)
    n_control = math.ceil(n_v / ratio - 1e-9)
    return SampleSize(
        n_control=n_control, n_variant=n_variant, n_total=n_control + (k_arms - 1) * n_variant
    )


def power(
    baseline: float,
    effect: float,
    n_variant: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Power of the pooled two-proportion z-test with ``n_variant`` leads in the variant arm.

    Same normal approximation as :func:`sample_size_raw` (far tail ignored).

    Parameters
    ----------
    baseline, effect
        Control rate and the absolute difference.
    n_variant
        Leads in the variant arm (the control has ``n_variant / ratio``).
    alpha, ratio, alternative
        As in :func:`sample_size_raw`.

    Returns
    -------
    float
        The power; NaN when ``n_variant`` is not positive.

    Examples
    --------
    >>> round(power(0.10, 0.02, sample_size_raw(0.10, 0.02, power=0.8)), 6)
    0.8
    """
    _check_rate(baseline, "baseline")
    _check_rate(baseline + effect, "baseline + effect")
    if n_variant <= 0:
        return float("nan")
    sd0, sd1 = _sds(baseline, baseline + effect, 1.0 / ratio)
    z_a = _crit(alpha, alternative)
    if alternative == "smaller":
        effect = -effect
    elif alternative == "two-sided":
        effect = abs(effect)
    return float(stats.norm.cdf((effect * math.sqrt(n_variant) - z_a * sd0) / sd1))


def mde(
    baseline: float,
    n_variant: float,
    *,
    alpha: float = 0.05,
    power_target: float = 0.8,
    ratio: float = 1.0,
    k_arms: int = 2,
    correction: Correction = "holm",
) -> float:
    """Smallest absolute increase over ``baseline`` detectable with ``n_variant`` leads per variant.

    Solves ``power(baseline, d, n_variant) = power_target`` for ``d > 0`` numerically (Brent's
    method).

    Parameters
    ----------
    baseline
        The control rate.
    n_variant
        Leads per variant arm.
    alpha, power_target, ratio, k_arms, correction
        As in :func:`sample_size`.

    Returns
    -------
    float
        The absolute difference; NaN when even the largest possible effect (rate 1) is not
        detectable.

    Examples
    --------
    >>> round(mde(0.10, 3841), 4)
    0.02
    """
    _check_rate(baseline, "baseline")
    a = adjusted_alpha(alpha, k_arms, correction)
    _check_design(a, power_target, ratio)
    hi = (1.0 - baseline) * (1 - 1e-9)
    lo = 1e-9

    def gap(d: float) -> float:
        return power(baseline, d, n_variant, alpha=a, ratio=ratio) - power_target

    if gap(hi) < 0:
        return float("nan")
    return float(optimize.brentq(gap, lo, hi, xtol=1e-10))


def weekly_inflow(created_at: pd.Series, as_of: pd.Timestamp, *, weeks: int = 12) -> float:
    """Average new leads per week over the ``weeks`` weeks up to the end of the ``as_of`` day.

    Parameters
    ----------
    created_at
        The leads' creation dates.
    as_of
        The analysis date (its whole day counts).
    weeks
        How many weeks back.

    Returns
    -------
    float
        Leads created in the window, divided by ``weeks``.

    Examples
    --------
    >>> created = pd.Series(pd.to_datetime(["2026-06-30 23:00", "2026-06-01 00:00", "2026-04-07 00:00"]))
    >>> weekly_inflow(created, pd.Timestamp("2026-06-30"), weeks=12) == 2 / 12
    True
    """
    if weeks <= 0:
        raise ParamsError(f"weeks must be positive, got {weeks}", fix="use e.g. 12")
    as_of = pd.Timestamp(as_of)
    end = asof.day_end(as_of)
    start = end - pd.Timedelta(weeks=weeks)
    ts = pd.to_datetime(created_at)
    n = int(((ts >= start) & (ts < end)).sum())
    return n / weeks


def days_needed(
    n_total: int,
    inflow_per_week: float,
    window_days: int,
    *,
    eligible_share: float = 1.0,
) -> float:
    """Calendar days until a fixed-window outcome can be read for ``n_total`` enrolled leads.

    ``ceil(n_total / (inflow_per_week * eligible_share / 7)) + window_days``: enrolment at the
    observed inflow, plus the conversion window of the last enrolled lead.

    Parameters
    ----------
    n_total
        Leads to enrol, all arms.
    inflow_per_week
        New leads a week.
    window_days
        Days the outcome needs after assignment.
    eligible_share
        The share of new leads that can enter the experiment.

    Returns
    -------
    float
        The days; NaN when the inflow is zero or not known.

    Examples
    --------
    >>> days_needed(6000, 700, 30), days_needed(6000, 700, 30, eligible_share=0.5)
    (90.0, 150.0)
    """
    daily = inflow_per_week * eligible_share / 7.0
    if not daily > 0:
        return float("nan")
    return float(math.ceil(n_total / daily - 1e-9) + int(window_days))


def design_row(
    experiment_id: str,
    baseline: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power_target: float = 0.8,
    allocation: Mapping[str, float] | None = None,
    control: str | None = None,
    inflow_per_week: float = float("nan"),
    window_days: int = 0,
    correction: Correction = "holm",
) -> DesignRow:
    """One row of ``design.csv``: the n per arm and the days needed for one experiment.

    Parameters
    ----------
    experiment_id
        The experiment (the notebook's calculator uses ``"calculator"``).
    baseline, effect
        Control rate and the absolute difference to detect.
    alpha, power_target
        Two-sided significance level and power.
    allocation, control
        Arm -> share and the control arm. The variant/control ratio is then the smallest variant
        share over the control share, and enrolment is fixed by the arm that needs most leads
        relative to its share. Without an allocation: two equal arms.
    inflow_per_week
        New leads a week entering the test (NaN when not known: ``days_needed`` is NaN).
    window_days
        Days the outcome needs after assignment, added to the enrolment time.
    correction
        Multiple-comparison correction for three or more arms (:func:`adjusted_alpha`).

    Returns
    -------
    DesignRow
        experiment_id, baseline_rate, mde, alpha, power, n_per_arm (the control arm's n),
        n_variant, n_total, inflow_per_week, window_days, days_needed (:func:`days_needed`),
        and n_by_arm (every arm's n, with an allocation).

    Examples
    --------
    >>> row = design_row("e", 0.10, 0.02, inflow_per_week=700, window_days=30)
    >>> row.n_per_arm, row.n_total, row.days_needed
    (3841, 7682, 107.0)
    """
    if allocation:
        arms = list(allocation)
        ctrl = control if control is not None else arms[0]
        shares = {a: float(s) for a, s in allocation.items()}
        variants = [a for a in arms if a != ctrl]
        ratio = min(shares[v] for v in variants) / shares[ctrl]
        k = len(arms)
    else:
        shares, ratio, k = {}, 1.0, 2
    ss = sample_size(
        baseline,
        effect,
        alpha=alpha,
        power=power_target,
        ratio=ratio,
        k_arms=k,
        correction=correction,
    )
    if shares:
        # enrolment is fixed by the arm that needs most leads relative to its share
        total = max(ss.n_control / shares[ctrl], ss.n_variant / (ratio * shares[ctrl]))
        n_by_arm = {a: math.ceil(total * s - 1e-9) for a, s in shares.items()}
        n_total = sum(n_by_arm.values())
    else:
        n_by_arm = {}
        n_total = ss.n_total
    return DesignRow(
        experiment_id=experiment_id,
        baseline_rate=baseline,
        mde=effect,
        alpha=alpha,
        power=power_target,
        n_per_arm=ss.n_control,
        n_variant=ss.n_variant,
        n_total=n_total,
        inflow_per_week=inflow_per_week,
        window_days=window_days,
        days_needed=days_needed(n_total, inflow_per_week, window_days),
        n_by_arm=n_by_arm,
    )


def inflow_text(inflow_per_week: float, weeks: int) -> str:
    """The inflow line of the notebook's calculator (the inflow formatted as a count).

    Parameters
    ----------
    inflow_per_week
        :func:`weekly_inflow`, NaN when the leads table has no ``created_at``.
    weeks
        The weeks it was measured over.

    Returns
    -------
    str
        The line; without an inflow, a sentence saying why instead of ``nan``.

    Examples
    --------
    >>> inflow_text(294.75, 12), inflow_text(42.25, 8)
    ('New leads a week (last 12 weeks): 295', 'New leads a week (last 8 weeks): 42.2')
    """
    if isinstance(inflow_per_week, int | float) and math.isfinite(inflow_per_week):
        return f"New leads a week (last {weeks} weeks): {format_value(inflow_per_week, Kind.COUNT)}"
    return (
        f"New leads a week (last {weeks} weeks): not known, the leads table has no created_at "
        "(map the lead creation date onto created_at to plan calendar time)"
    )


def target_text(row: DesignRow) -> str:
    """What a :func:`design_row` sizes the test for, and the leads it needs, in one line.

    Parameters
    ----------
    row
        The design (baseline_rate, mde, alpha, power, n_per_arm, n_total).

    Returns
    -------
    str
        Every number formatted from the kind :class:`DesignRow` declares for it.

    Examples
    --------
    >>> target_text(design_row("c", 0.10, 0.02))  # doctest: +NORMALIZE_WHITESPACE
    'To detect a change from 10.0% to 12.0% (+2.0 pts; significance level 0.050,
     power 80.0%): 3,841 leads per group, 7,682 in all'
    """
    to = format_value(row.baseline_rate + row.mde, Kind.RATE)
    return (
        f"To detect a change from {row.shown('baseline_rate')} to {to} ({row.shown('mde')}; "
        f"significance level "
        f"{row.shown('alpha')}, power {row.shown('power')}): {row.shown('n_per_arm')} leads per "
        f"group, {row.shown('n_total')} in all"
    )


def calendar_text(row: DesignRow) -> str:
    """The calendar line of a :func:`design_row`, or one sentence saying why there is none.

    Parameters
    ----------
    row
        The design (its days_needed, window_days and inflow_per_week).

    Returns
    -------
    str
        ``Calendar time: 183 days (153 days to enrol + 30 days for the outcome)``, or, without
        an inflow, ``Calendar time: not computed (...); it needs the weekly inflow of new
        leads``. The days are formatted as :data:`~leadnb.results.Kind.DAYS`.

    Examples
    --------
    >>> calendar_text(design_row("c", 0.08, 0.02, inflow_per_week=294.75, window_days=30))
    'Calendar time: 183 days (153 days to enrol + 30 days for the outcome)'
    >>> calendar_text(design_row("c", 0.08, 0.02, window_days=30))
    'Calendar time: not computed (no lead creation dates to measure the inflow); it needs the weekly inflow of new leads'
    """
    days = float(row.days_needed)
    window = int(row.window_days)
    if math.isfinite(days):
        enrol = format_value(days - window, Kind.DAYS)
        return (
            f"Calendar time: {row.shown('days_needed')} ({enrol} to enrol + "
            f"{row.shown('window_days')} for the outcome)"
        )
    inflow = float(row.inflow_per_week)
    why = (
        "no lead creation dates to measure the inflow"
        if math.isnan(inflow)
        else "no new leads in the weeks before the analysis date"
    )
    return f"Calendar time: not computed ({why}); it needs the weekly inflow of new leads"


def mde_curve(
    baseline: float,
    ns: Iterable[float],
    *,
    alpha: float = 0.05,
    power_target: float = 0.8,
    ratio: float = 1.0,
) -> pd.DataFrame:
    """The minimum detectable effect for each n per arm in ``ns`` (for a chart).

    Parameters
    ----------
    baseline
        The control rate.
    ns
        Leads per arm.
    alpha, power_target, ratio
        As in :func:`mde`.

    Returns
    -------
    pandas.DataFrame
        One row per n: n_per_arm, mde (absolute), mde_relative (mde / baseline).

    Examples
    --------
    >>> mde_curve(0.10, [3841]).round(3)
       n_per_arm   mde  mde_relative
    0     3841.0  0.02           0.2
    """
    ns = np.asarray(list(ns), dtype=float)
    m = [mde(baseline, n, alpha=alpha, power_target=power_target, ratio=ratio) for n in ns]
    out = pd.DataFrame({"n_per_arm": ns, "mde": np.asarray(m, dtype=float)})
    out["mde_relative"] = out["mde"] / baseline
    return out


def design_table(
    regs: Sequence[Registration],
    *,
    inflow_per_week: float,
    baselines: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """``design.csv``: per registered experiment, the n per arm and the calendar days needed.

    Parameters
    ----------
    regs
        The registrations.
    inflow_per_week
        New leads a week that can enter an experiment.
    baselines
        Experiment id -> control rate, used when a registration has no ``baseline_rate``
        (e.g. the observed control rate).

    Returns
    -------
    pandas.DataFrame
        One row per registration: experiment_id, baseline_rate, mde, alpha, power, n_per_arm,
        days_needed (:data:`DESIGN_COLUMNS`), then n_variant, n_total, inflow_per_week,
        window_days. A registration without a usable baseline has only experiment_id,
        baseline_rate and mde (the rest NaN). Outcome-column metrics have no window (0 days
        added).

    Examples
    --------
    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": {"stage": "sql", "window_days": 30},
    ...     "target_effect": 0.02, "start": "2026-01-01", "baseline_rate": 0.10})
    >>> design_table([reg], inflow_per_week=700)[["experiment_id", "n_per_arm", "days_needed"]]
      experiment_id  n_per_arm  days_needed
    0             e       3841        107.0
    """
    rows: list[dict[str, object]] = []
    for r in regs:
        base = r.baseline_rate if r.baseline_rate is not None else (baselines or {}).get(r.id)
        if base is None or not (0 < base < 1) or not (0 < base + r.target_effect < 1):
            rows.append({"experiment_id": r.id, "baseline_rate": base, "mde": r.target_effect})
            continue
        row = design_row(
            r.id,
            float(base),
            r.target_effect,
            alpha=r.alpha,
            power_target=r.power,
            allocation=r.allocation,
            control=r.control,
            inflow_per_week=inflow_per_week,
            window_days=r.primary_metric.window_days or 0,
            correction=r.correction,
        )
        rows.append(row.as_dict())
    df = pd.DataFrame(rows)
    for c in DESIGN_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    extra = [c for c in df.columns if c not in DESIGN_COLUMNS and c != "n_by_arm"]
    return df[DESIGN_COLUMNS + extra]


__all__ = [
    "DESIGN_COLUMNS",
    "DESIGN_DISPLAY",
    "DesignRow",
    "SampleSize",
    "adjusted_alpha",
    "calendar_text",
    "days_needed",
    "design_row",
    "design_table",
    "inflow_text",
    "mde",
    "mde_curve",
    "power",
    "sample_size",
    "sample_size_raw",
    "target_text",
    "weekly_inflow",
]
