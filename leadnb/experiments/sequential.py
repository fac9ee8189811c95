"""Always-valid readouts for an experiment looked at every week: asymptotic confidence sequences.

Design. A fixed-horizon interval is valid at one look chosen in advance. A scheduled weekly run
looks every week, and stopping at the first look with p < 0.05 makes the false-positive rate
several times alpha (about 20% over 12 weekly looks). A *confidence sequence* is a sequence of
intervals that contains the true difference at every look at once with probability
``1 - alpha``, so a reader may look as often as they like and stop at any look. This module
builds the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas
("Time-uniform central limit theory and asymptotic confidence sequences", arXiv:2103.06476,
2021; Annals of Statistics 2024) for a difference of two proportions, the one GrowthBook's
gbstats uses for its sequential tests. With ``n`` the leads of both arms at a look and ``se``
the standard error of the difference::

    diff ± c(n) · se,    c(n)² = (nρ² + 1) / (nρ²) · (2 log(1/α) + log(nρ² + 1))

(the paper's Robbins normal-mixture boundary with an estimated variance, written in standard
errors). The mixing parameter ρ is chosen so that the sequence is tightest at the planned n
``n*`` (the paper's approximate minimiser of the width at ``n*``)::

    ρ² = (2 log(1/α) + log(2 log(1/α) + 1)) / n*

At ``n = n*`` the interval spans ``c* = 3.035`` standard errors each side for α = 0.05, against
1.96 for the fixed-horizon interval, and ``c*`` does not depend on ``n*``: that is the price of
looking at will, and :func:`sequential_sample_size` turns it into leads.

The always-valid p-value is the reciprocal of the mixture e-value at the look,
``p = min(1, sqrt(nρ² + 1) · exp(-nρ² z² / (2 (nρ² + 1))))`` with ``z = diff / se``; it is at
most α exactly when the interval excludes 0, so the p-value and the interval never disagree.
Stopping is recommended at the first look whose interval excludes 0.

Two choices differ from gbstats, both for the small counts of B2B experiments: the variance of
each arm is estimated from ``(x + 1) / (n + 2)`` (one conversion and one non-conversion added,
as in Agresti and Caffo's interval), which is consistent, so the asymptotic guarantee is
unchanged, and keeps the interval from collapsing to a point while an arm has no conversion
yet; and with three or more arms each comparison is read at ``alpha / (arms - 1)``
(:func:`leadnb.experiments.design.adjusted_alpha`, Bonferroni, valid at any stopping time). The
difference itself is the plain difference of the observed rates.

What the simulations show (``benchmarks/sequential_sim.py``, 200,000 experiments a row, 12
weekly looks unless said): A/A false positives at most 1.1% against 20.6% to 21.0% for
stopping at the first fixed-horizon p < 0.05 (0.0% against 7.9% at a 2% rate with 20 leads a
week; 1.4% against 32% over 52 looks): the sequence guards against continuous monitoring, so
a dozen looks use about a fifth of alpha. Coverage of a
true difference at every look at once 98.7% to 99.9%. At the sequential n the power at the
last look is 80.0% as sized, 84% by stopping at any look, and a plan with the effect true
stops on average at 64% of its n (about 1.2 times the fixed-horizon n).

Functions on arrays (:func:`confidence_sequence`, :func:`critical_value`,
:func:`always_valid_p`) serve the simulations; :func:`sequential_compare`,
:func:`sequential_look` and :func:`sequential_table` give the readout of one look as the rest
of the package shows results; :func:`sequential_cost` gives the design section's sample-size
cost of sequential testing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from leadnb.data.columns import require_columns
from leadnb.errors import ParamsError
from leadnb.experiments.design import (
    Correction,
    SampleSize,
    _check_design,
    _check_rate,
    _sds,
    adjusted_alpha,
    sample_size,
)
from leadnb.results import Kind, Result, format_value, value

if TYPE_CHECKING:
    from leadnb.experiments.registration import Registration

__all__ = [
    "CI_METHOD",
    "SEQUENTIAL_COLUMNS",
    "Bounds",
    "SequentialCost",
    "SequentialLook",
    "always_valid_p",
    "confidence_sequence",
    "cost_text",
    "critical_value",
    "critical_value_at_plan",
    "mixing_rho",
    "planned_total",
    "sequential_compare",
    "sequential_cost",
    "sequential_design",
    "sequential_look",
    "sequential_power",
    "sequential_sample_size",
    "sequential_table",
    "smoothed_se",
]

CI_METHOD = "asymptotic confidence sequence"
"""The ``ci_method`` of a sequential readout (``ab_results.csv``)."""

SEQUENTIAL_COLUMNS = [
    "experiment_id",
    "variant",
    "is_control",
    "n",
    "conversions",
    "analysis",
    "ci_method",
    "always_valid",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "p_value",
    "critical_value",
    "alpha",
    "n_planned",
    "stop_recommended",
]
"""The columns of :func:`sequential_table`, one row per arm."""

_NAN = float("nan")


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ParamsError(f"alpha must be between 0 and 1, got {alpha!r}", fix="use e.g. 0.05")


def mixing_rho(n_planned: float, alpha: float = 0.05) -> float:
    """The mixing parameter ρ that makes the confidence sequence tightest at ``n_planned`` leads.

    Parameters
    ----------
    n_planned
        Leads of both compared arms at which the interval should be narrowest (the plan's end).
    alpha
        The two-sided level of the sequence.

    Returns
    -------
    float
        ``sqrt((2 log(1/α) + log(2 log(1/α) + 1)) / n_planned)`` (Waudby-Smith et al.'s
        approximate minimiser; gbstats' ``sequential_rho``).

    Examples
    --------
    >>> round(mixing_rho(5000), 6), round(mixing_rho(5000) ** 2 * 5000, 4)
    (0.03984, 7.9362)
    """
    _check_alpha(alpha)
    if not n_planned > 0:
        raise ParamsError(
            f"the planned n must be positive, got {n_planned!r}",
            fix="register planned_n_per_arm, the n per arm of the sequential plan",
        )
    two_log = -2.0 * math.log(alpha)
    return math.sqrt((two_log + math.log(two_log + 1.0)) / n_planned)


def critical_value(n: np.ndarray | float, *, rho: float, alpha: float = 0.05) -> np.ndarray:
    """Standard errors the confidence sequence spans each side of the difference, at ``n`` leads.

    Parameters
    ----------
    n
        Leads of both compared arms at the look (an array for many looks).
    rho
        The mixing parameter (:func:`mixing_rho`).
    alpha
        The two-sided level.

    Returns
    -------
    numpy.ndarray
        ``c(n) = sqrt((nρ² + 1) / (nρ²) · (2 log(1/α) + log(nρ² + 1)))``; NaN where ``n`` is not
        positive. It is at least :func:`critical_value_at_plan`, reached at the planned n.

    Examples
    --------
    >>> rho = mixing_rho(2000)
    >>> critical_value([200, 2000, 20000], rho=rho).round(3).tolist()
    [3.855, 3.035, 3.242]
    """
    _check_alpha(alpha)
    n = np.asarray(n, dtype=float)
    v = n * rho**2
    with np.errstate(divide="ignore", invalid="ignore"):
        c2 = (v + 1.0) / v * (-2.0 * math.log(alpha) + np.log1p(v))
    return np.where(n > 0, np.sqrt(c2), np.nan)


def critical_value_at_plan(alpha: float = 0.05) -> float:
    """The confidence sequence's critical value at its planned n (the same for every planned n).

    Parameters
    ----------
    alpha
        The two-sided level.

    Returns
    -------
    float
        ``c*``, with ``L = 2 log(1/α) + log(2 log(1/α) + 1)``:
        ``sqrt((L + 1) / L · (2 log(1/α) + log(L + 1)))``.

    Examples
    --------
    >>> round(critical_value_at_plan(0.05), 4), round(critical_value_at_plan(0.01), 4)
    (3.0352, 3.5716)
    """
    _check_alpha(alpha)
    two_log = -2.0 * math.log(alpha)
    big_l = two_log + math.log(two_log + 1.0)
    return math.sqrt((big_l + 1.0) / big_l * (two_log + math.log(big_l + 1.0)))


def always_valid_p(z: np.ndarray | float, n: np.ndarray | float, *, rho: float) -> np.ndarray:
    """The always-valid p-value of the look: the reciprocal of the normal-mixture e-value.

    Parameters
    ----------
    z
        The difference over its standard error at the look.
    n
        Leads of both compared arms at the look.
    rho
        The mixing parameter (:func:`mixing_rho`).

    Returns
    -------
    numpy.ndarray
        ``min(1, sqrt(nρ² + 1) · exp(-nρ² z² / (2 (nρ² + 1))))``: at most α exactly when
        ``|z| >= critical_value(n, rho=rho, alpha=α)``. NaN where ``z`` is NaN or ``n`` is not
        positive.

    Examples
    --------
    >>> rho = mixing_rho(2000)
    >>> c = float(critical_value(2000, rho=rho))
    >>> round(float(always_valid_p(c, 2000, rho=rho)), 6)  # on the boundary: exactly alpha
    0.05
    >>> float(always_valid_p(0.0, 2000, rho=rho))
    1.0
    """
    z = np.asarray(z, dtype=float)
    n = np.asarray(n, dtype=float)
    v = n * rho**2
    with np.errstate(invalid="ignore", over="ignore"):
        log_p = 0.5 * np.log1p(v) - v * z**2 / (2.0 * (v + 1.0))
        p = np.exp(np.minimum(log_p, 0.0))
    return np.where(n > 0, p, np.nan)


def smoothed_se(
    x_c: np.ndarray | float,
    n_c: np.ndarray | float,
    x_v: np.ndarray | float,
    n_v: np.ndarray | float,
) -> np.ndarray:
    """Standard error of the difference of two rates, each arm's variance from ``(x+1)/(n+2)``.

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm (arrays for many looks).
    x_v, n_v
        Conversions and leads of the variant arm.

    Returns
    -------
    numpy.ndarray
        ``sqrt(q_c (1 - q_c) / n_c + q_v (1 - q_v) / n_v)``, ``q = (x + 1) / (n + 2)``: never 0
        while both arms have a lead (the plain estimate is 0 while no lead of either arm has
        converted); NaN when an arm has none.

    Examples
    --------
    >>> round(float(smoothed_se(120, 1000, 150, 1000)), 5)
    0.0153
    >>> float(smoothed_se(0, 20, 0, 20)) > 0, bool(np.isnan(smoothed_se(0, 0, 1, 5)))
    (True, True)
    """
    x_c, n_c, x_v, n_v = (np.asarray(a, dtype=float) for a in (x_c, n_c, x_v, n_v))
    q_c = (x_c + 1.0) / (n_c + 2.0)
    q_v = (x_v + 1.0) / (n_v + 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = q_c * (1.0 - q_c) / n_c + q_v * (1.0 - q_v) / n_v
    return np.where((n_c > 0) & (n_v > 0), np.sqrt(var), np.nan)


class Bounds(NamedTuple):
    """The confidence sequence at one or many looks (:func:`confidence_sequence`)."""

    diff: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    critical_value: np.ndarray


def confidence_sequence(
    x_c: np.ndarray | float,
    n_c: np.ndarray | float,
    x_v: np.ndarray | float,
    n_v: np.ndarray | float,
    *,
    n_planned: float,
    alpha: float = 0.05,
) -> Bounds:
    """The confidence sequence for ``rate_v - rate_c`` and its always-valid p-value, vectorised.

    Parameters
    ----------
    x_c, n_c
        Cumulative conversions and leads of the control arm at each look (any shape).
    x_v, n_v
        The same for the variant arm.
    n_planned
        Leads of both arms at the plan's end: where the sequence is tightest.
    alpha
        The two-sided level: the intervals hold the true difference at every look at once
        with probability ``1 - alpha`` (asymptotically).

    Returns
    -------
    Bounds
        ``diff`` (observed rate difference), ``low``, ``high``, ``p_value`` (always valid) and
        ``critical_value`` (standard errors each side), each shaped like the inputs; NaN where
        an arm has no lead.

    Examples
    --------
    >>> b = confidence_sequence(120, 1000, 150, 1000, n_planned=2000)
    >>> round(float(b.diff), 3), round(float(b.low), 4), round(float(b.high), 4)
    (0.03, -0.0164, 0.0764)
    >>> round(float(b.p_value), 4), round(float(b.critical_value), 3)
    (0.5425, 3.035)
    """
    rho = mixing_rho(n_planned, alpha)
    x_c, n_c, x_v, n_v = (np.asarray(a, dtype=float) for a in (x_c, n_c, x_v, n_v))
    ok = (n_c > 0) & (n_v > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(ok, x_v / n_v - x_c / n_c, np.nan)
    se = smoothed_se(x_c, n_c, x_v, n_v)
    n = np.where(ok, n_c + n_v, np.nan)
    c = critical_value(n, rho=rho, alpha=alpha)
    half = c * se
    p = always_valid_p(diff / se, n, rho=rho)
    return Bounds(diff=diff, low=diff - half, high=diff + half, p_value=p, critical_value=c)


@dataclasses.dataclass(frozen=True)
class SequentialLook(Result):
    """A variant against the control at one look of a sequential plan (:func:`sequential_compare`).

    The interval is a look of the confidence sequence: it holds the true difference at every
    look at once with probability ``1 - alpha``, so stopping here is allowed whenever it
    excludes 0 (``stop_recommended``). NaN numbers (and no recommendation) when an arm has no
    lead.
    """

    n_control: int = value(Kind.COUNT, "leads counted in the control arm", default=0)
    n_variant: int = value(Kind.COUNT, "leads counted in the variant arm", default=0)
    diff: float = value(Kind.POINTS, "variant rate minus control rate", default=_NAN)
    diff_ci_low: float = value(Kind.POINTS, "confidence sequence at this look, low", default=_NAN)
    diff_ci_high: float = value(Kind.POINTS, "confidence sequence at this look, high", default=_NAN)
    p_value: float = value(Kind.P_VALUE, "always valid, two-sided", default=_NAN)
    critical_value: float = value(
        Kind.RATIO, "standard errors each side (1.96 at a fixed horizon)", default=_NAN
    )
    alpha: float = value(Kind.P_VALUE, "two-sided level of the sequence", default=0.05)
    n_planned: int = value(Kind.COUNT, "leads of both arms the sequence is tuned for", default=0)
    ci_method: str = value(Kind.TEXT, "how the interval is computed", default=CI_METHOD)
    always_valid: bool = value(Kind.FLAG, "valid however often the report looks", default=True)
    stop_recommended: bool = value(
        Kind.FLAG, "the interval excludes 0: the test may stop now", default=False
    )


def sequential_compare(
    x_c: int,
    n_c: int,
    x_v: int,
    n_v: int,
    *,
    n_planned: float,
    alpha: float = 0.05,
) -> SequentialLook:
    """Variant against control at one look of a sequential plan, on counts.

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm at the look (cumulative).
    x_v, n_v
        Conversions and leads of the variant arm.
    n_planned
        Leads of both arms at the plan's end (the sequence is tightest there).
    alpha
        The two-sided level of the sequence for this comparison.

    Returns
    -------
    SequentialLook
        The interval, the always-valid p-value, ``ci_method`` ("asymptotic confidence
        sequence"), ``always_valid`` True and ``stop_recommended`` (the interval excludes 0).

    Examples
    --------
    >>> look = sequential_compare(120, 1000, 150, 1000, n_planned=2000)
    >>> look.interval("diff"), look.shown("p_value"), look.stop_recommended
    ('-1.6 pts to +7.6 pts', '0.542', False)
    >>> sequential_compare(100, 1000, 180, 1000, n_planned=2000).stop_recommended
    True
    >>> sequential_compare(0, 0, 3, 40, n_planned=2000).shown("diff")
    '–'
    """
    for name, x, n in (("control", x_c, n_c), ("variant", x_v, n_v)):
        if n < 0 or not 0 <= x <= max(n, 0):
            raise ParamsError(
                f"the {name} arm has {x} conversions of {n} leads",
                fix="conversions must be between 0 and the arm's leads",
            )
    b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=n_planned, alpha=alpha)
    low, high = float(b.low), float(b.high)
    return SequentialLook(
        n_control=int(n_c),
        n_variant=int(n_v),
        diff=float(b.diff),
        diff_ci_low=low,
        diff_ci_high=high,
        p_value=float(b.p_value),
        critical_value=float(b.critical_value),
        alpha=float(alpha),
        n_planned=int(math.ceil(n_planned)),
        stop_recommended=bool(low > 0 or high < 0),
    )


def planned_total(reg: Registration, variant: str) -> int:
    """Leads of the control and ``variant`` at the plan's end: where the sequence is tuned.

    Parameters
    ----------
    reg
        The registration: ``planned_n_per_arm`` (the control's, others scaled by their share),
        or, without it, ``baseline_rate`` from which the sequential n is sized
        (:func:`sequential_sample_size` at the registered target, alpha, power and allocation).
    variant
        The variant compared with the control.

    Returns
    -------
    int
        The planned leads of the two arms together.

    Raises
    ------
    ParamsError
        The variant is not registered, or the registration has neither ``planned_n_per_arm``
        nor ``baseline_rate``.

    Examples
    --------
    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.025, "start": "2026-01-01", "planned_n_per_arm": 2500})
    >>> planned_total(reg, "b")
    5000
    """
    if variant not in reg.variants:
        raise ParamsError(
            f"experiment {reg.id!r}: {variant!r} is not a registered variant",
            file=reg.file,
            fix=f"registered variants: {', '.join(reg.variants)}",
        )
    planned = reg.planned_n()
    if planned is not None:
        return planned[reg.control] + planned[variant]
    if reg.baseline_rate is None:
        raise ParamsError(
            f"experiment {reg.id!r}: the sequential analysis needs planned_n_per_arm or "
            "baseline_rate to tune its confidence sequence",
            file=reg.file,
            fix="add planned_n_per_arm: the n per arm of the sequential plan",
        )
    ss = sequential_sample_size(
        reg.baseline_rate,
        reg.target_effect,
        alpha=reg.alpha,
        power=reg.power,
        ratio=reg.allocation[variant] / reg.allocation[reg.control],
        k_arms=len(reg.arms),
        correction=reg.correction,
    )
    return ss.n_control + ss.n_variant


def sequential_look(
    x_c: int, n_c: int, x_v: int, n_v: int, reg: Registration, *, variant: str | None = None
) -> SequentialLook:
    """One variant against the control at one look, as the registration plans it.

    Parameters
    ----------
    x_c, n_c
        Conversions and leads counted in the control arm at the look.
    x_v, n_v
        The same for the variant.
    reg
        The registration: the level (``alpha``, split over the variants as in
        :func:`leadnb.experiments.design.adjusted_alpha`) and the planned n
        (:func:`planned_total`).
    variant
        The variant compared; the first registered variant when not given.

    Returns
    -------
    SequentialLook

    Examples
    --------
    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.025, "start": "2026-01-01", "planned_n_per_arm": 1000,
    ...     "analysis": "sequential"})
    >>> sequential_look(120, 1000, 150, 1000, reg).interval("diff")
    '-1.6 pts to +7.6 pts'
    """
    variant = reg.variants[0] if variant is None else variant
    alpha = adjusted_alpha(reg.alpha, len(reg.arms), reg.correction)
    return sequential_compare(
        x_c, n_c, x_v, n_v, n_planned=planned_total(reg, variant), alpha=alpha
    )


def sequential_table(counts: pd.DataFrame, reg: Registration) -> pd.DataFrame:
    """The sequential readout of one look: a row per arm, control first.

    Parameters
    ----------
    counts
        One row per arm with ``variant``, ``n`` (leads counted) and ``conversions``, e.g.
        :func:`leadnb.experiments.outcomes.arm_counts`; a registered arm missing here has no
        lead.
    reg
        The registration.

    Returns
    -------
    pandas.DataFrame
        :data:`SEQUENTIAL_COLUMNS`: ``analysis`` ("sequential"), ``ci_method`` and
        ``always_valid`` on every row; the comparison with the control (``diff`` and its
        interval, ``p_value``, ``critical_value``, ``alpha``, ``n_planned``,
        ``stop_recommended``) on each variant's row, NaN (and False) on the control's.

    Examples
    --------
    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.025, "start": "2026-01-01", "planned_n_per_arm": 1000,
    ...     "analysis": "sequential"})
    >>> counts = pd.DataFrame({"variant": ["a", "b"], "n": [1000, 1000],
    ...                        "conversions": [100, 180]})
    >>> t = sequential_table(counts, reg)
    >>> t[["variant", "diff", "stop_recommended"]].round(4).to_dict("records")
    [{'variant': 'a', 'diff': nan, 'stop_recommended': False}, {'variant': 'b', 'diff': 0.08, 'stop_recommended': True}]
    """
    require_columns(counts, ["variant", "n", "conversions"], table="the arm counts")
    by_arm = counts.set_index("variant")
    n = by_arm["n"].reindex(list(reg.arms), fill_value=0).astype("int64")
    x = by_arm["conversions"].reindex(list(reg.arms), fill_value=0).astype("int64")
    rows = []
    for arm in reg.arms:
        row: dict[str, object] = {
            "experiment_id": reg.id,
            "variant": arm,
            "is_control": arm == reg.control,
            "n": int(n[arm]),
            "conversions": int(x[arm]),
            "analysis": "sequential",
            "ci_method": CI_METHOD,
            "always_valid": True,
        }
        if arm == reg.control:
            row.update(
                diff=_NAN,
                diff_ci_low=_NAN,
                diff_ci_high=_NAN,
                p_value=_NAN,
                critical_value=_NAN,
                alpha=_NAN,
                n_planned=_NAN,
                stop_recommended=False,
            )
        else:
            look = sequential_look(
                int(x[reg.control]),
                int(n[reg.control]),
                int(x[arm]),
                int(n[arm]),
                reg,
                variant=arm,
            )
            row.update({k: getattr(look, k) for k in SEQUENTIAL_COLUMNS if hasattr(look, k)})
        rows.append(row)
    return pd.DataFrame(rows, columns=SEQUENTIAL_COLUMNS)


def sequential_power(
    baseline: float,
    effect: float,
    n_variant: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    n_planned: float | None = None,
) -> float:
    """Chance the confidence sequence excludes 0 at the plan's last look (normal approximation).

    A lower bound on the chance of stopping at some look by then: a sequence that excludes 0
    at the last look has stopped at the last look at the latest, whatever the looks before.

    Parameters
    ----------
    baseline, effect
        The control rate and the true absolute difference.
    n_variant
        Leads in the variant arm at the last look (the control has ``n_variant / ratio``).
    alpha
        The level of the sequence.
    ratio
        n_variant / n_control.
    n_planned
        Leads of both arms the sequence is tuned for; by default the last look's.

    Returns
    -------
    float
        ``Φ(|effect| / se - c(n))`` with ``se`` from the true rates (the far tail ignored, as
        in :func:`leadnb.experiments.design.power`).

    Examples
    --------
    >>> round(sequential_power(0.10, 0.02, sequential_sample_size(0.10, 0.02).n_variant), 3)
    0.8
    """
    _check_rate(baseline, "baseline")
    _check_rate(baseline + effect, "baseline + effect")
    if not n_variant > 0:
        return _NAN
    n_total = n_variant * (1.0 + 1.0 / ratio)
    rho = mixing_rho(n_total if n_planned is None else n_planned, alpha)
    c = float(critical_value(n_total, rho=rho, alpha=alpha))
    _, sd1 = _sds(baseline, baseline + effect, 1.0 / ratio)
    se = sd1 / math.sqrt(n_variant)
    return float(stats.norm.cdf(abs(effect) / se - c))


def sequential_sample_size(
    baseline: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    k_arms: int = 2,
    correction: Correction = "holm",
) -> SampleSize:
    """Leads per arm a sequential plan needs for ``power`` at its end, the sequence tuned there.

    With ρ tuned at the plan's end the interval there spans ``c*`` standard errors
    (:func:`critical_value_at_plan`, 3.035 at alpha 0.05) instead of ``z`` = 1.960, so the
    closed form is the fixed-horizon one with ``c*`` for ``z``:
    ``n_v = ((c* + z_power) · sd1 / effect)²``, ``sd1² = p_v (1 - p_v) + p_c (1 - p_c) n_v/n_c``.
    The power is the chance of excluding 0 at the last look (:func:`sequential_power`): a
    plan that looks every week stops earlier, never later, so this n is enough whatever the
    looks.

    Parameters
    ----------
    baseline
        The control rate.
    effect
        The absolute difference to detect (either sign).
    alpha, power
        The family-wise two-sided level and the power at the plan's end.
    ratio
        n_variant / n_control.
    k_arms, correction
        Each comparison with the control is read at :func:`adjusted_alpha`.

    Returns
    -------
    SampleSize
        ``n_control``, ``n_variant``, ``n_total``, rounded up.

    Examples
    --------
    >>> sequential_sample_size(0.10, 0.02)
    SampleSize(n_control=7350, n_variant=7350, n_total=14700)
    """
    _check_rate(baseline, "baseline")
    _check_rate(baseline + effect, "baseline + effect")
    if effect == 0:
        raise ParamsError("the effect to detect must not be 0", fix="set a target effect")
    a = adjusted_alpha(alpha, k_arms, correction)
    _check_design(a, power, ratio)
    _, sd1 = _sds(baseline, baseline + effect, 1.0 / ratio)
    c = critical_value_at_plan(a)
    n_v = ((c + float(stats.norm.ppf(power))) * sd1 / effect) ** 2
    n_variant = math.ceil(n_v - 1e-9)
    n_control = math.ceil(n_v / ratio - 1e-9)
    return SampleSize(
        n_control=n_control, n_variant=n_variant, n_total=n_control + (k_arms - 1) * n_variant
    )


@dataclasses.dataclass(frozen=True)
class SequentialCost(Result):
    """The sample-size cost of a sequential plan against the fixed-horizon test
    (:func:`sequential_cost`), for the same target, level and power."""

    n_per_arm_fixed: int = value(Kind.COUNT, "control leads, fixed-horizon test")
    n_per_arm_sequential: int = value(Kind.COUNT, "control leads, sequential plan")
    n_total_fixed: int = value(Kind.COUNT, "leads in all arms, fixed-horizon test")
    n_total_sequential: int = value(Kind.COUNT, "leads in all arms, sequential plan")
    inflation: float = value(Kind.MULTIPLIER, "sequential leads over fixed-horizon leads")
    critical_fixed: float = value(Kind.RATIO, "standard errors each side, fixed horizon")
    critical_sequential: float = value(Kind.RATIO, "standard errors each side at the plan's end")


def sequential_cost(
    baseline: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    k_arms: int = 2,
    correction: Correction = "holm",
) -> SequentialCost:
    """The n per arm a sequential plan needs for the registered power, against the fixed n.

    Parameters
    ----------
    baseline, effect, alpha, power, ratio, k_arms, correction
        As in :func:`leadnb.experiments.design.sample_size` (the fixed-horizon n) and
        :func:`sequential_sample_size` (the sequential n).

    Returns
    -------
    SequentialCost

    Examples
    --------
    >>> c = sequential_cost(0.08, 0.025)
    >>> c.n_per_arm_fixed, c.n_per_arm_sequential, c.shown("inflation")
    (2108, 4030, '1.91×')
    """
    fixed = sample_size(
        baseline,
        effect,
        alpha=alpha,
        power=power,
        ratio=ratio,
        k_arms=k_arms,
        correction=correction,
    )
    seq = sequential_sample_size(
        baseline,
        effect,
        alpha=alpha,
        power=power,
        ratio=ratio,
        k_arms=k_arms,
        correction=correction,
    )
    a = adjusted_alpha(alpha, k_arms, correction)
    return SequentialCost(
        n_per_arm_fixed=fixed.n_control,
        n_per_arm_sequential=seq.n_control,
        n_total_fixed=fixed.n_total,
        n_total_sequential=seq.n_total,
        inflation=seq.n_total / fixed.n_total,
        critical_fixed=float(stats.norm.isf(a / 2)),
        critical_sequential=critical_value_at_plan(a),
    )


def sequential_design(
    reg: Registration, *, baselines: Mapping[str, float] | None = None
) -> SequentialCost | None:
    """:func:`sequential_cost` at a registration's target, level, power and allocation.

    Parameters
    ----------
    reg
        The registration (its first variant's share against the control's sets the ratio).
    baselines
        Experiment id -> control rate, used when the registration has no ``baseline_rate``.

    Returns
    -------
    SequentialCost or None
        None when there is no usable baseline rate (as :func:`design_table` leaves its row
        empty).

    Examples
    --------
    >>> from leadnb.experiments.registration import Registration
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": "sql@30",
    ...     "target_effect": 0.025, "start": "2026-01-01", "baseline_rate": 0.08})
    >>> sequential_design(reg).n_per_arm_sequential
    4030
    """
    base = reg.baseline_rate if reg.baseline_rate is not None else (baselines or {}).get(reg.id)
    if base is None or not (0 < base < 1) or not (0 < base + reg.target_effect < 1):
        return None
    v = reg.variants[0]
    return sequential_cost(
        float(base),
        reg.target_effect,
        alpha=reg.alpha,
        power=reg.power,
        ratio=reg.allocation[v] / reg.allocation[reg.control],
        k_arms=len(reg.arms),
        correction=reg.correction,
    )


def cost_text(cost: SequentialCost, power: float) -> str:
    """The design section's sentence on what looking every week costs.

    Parameters
    ----------
    cost
        :func:`sequential_cost`.
    power
        The power it was sized for.

    Returns
    -------
    str
        One sentence, every number formatted from its kind.

    Examples
    --------
    >>> cost_text(sequential_cost(0.08, 0.025), 0.8)  # doctest: +NORMALIZE_WHITESPACE
    'A sequential plan, valid at every weekly look and free to stop early, needs 4,030 leads
     per group for 80.0% power by its end, 1.91× the 2,108 of a single read at the end: its
     interval spans 3.035 standard errors each side at the planned n instead of 1.960.'
    """
    return (
        "A sequential plan, valid at every weekly look and free to stop early, needs "
        f"{cost.shown('n_per_arm_sequential')} leads per group for "
        f"{format_value(power, Kind.RATE)} power by its end, {cost.shown('inflation')} the "
        f"{cost.shown('n_per_arm_fixed')} of a single read at the end: its interval spans "
        f"{cost.shown('critical_sequential')} standard errors each side at the planned n instead "
        f"of {cost.shown('critical_fixed')}."
    )
