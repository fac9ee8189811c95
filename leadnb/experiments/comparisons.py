"""Variant against control on counts: differences with intervals, p-values, and the checks around them.

Design. Small pure functions on counts that delegate to statsmodels and scipy, one choice each
(and the library behind it):

* Difference in rates: Newcombe's hybrid score interval (Wilson intervals of each arm combined;
  statsmodels ``confint_proportions_2indep(method="newcomb")``), good coverage at small rates.
* Relative lift: ratio of rates with the log (Katz) interval, ``method="log"``; when an arm has
  zero conversions that interval does not exist and ``"log-adjusted"`` (add 0.5) is used instead.
* p-value: the pooled two-sided z-test (statsmodels ``proportions_ztest``). When any expected
  count of the 2x2 table is below :data:`MIN_EXPECTED` the normal approximation is poor and
  Fisher's exact test (scipy ``fisher_exact``) is used instead; ``test`` says which.
* Bayesian probability to beat control: Beta(1, 1) priors, computed *exactly* with the closed-form
  sum for P(B > A) of two Beta variables with integer parameters (E. Miller, "Formulas for
  Bayesian A/B testing", 2015), in log space; no Monte Carlo, so it is deterministic.
* Sample ratio mismatch: chi-square goodness of fit of the enrolled counts against the planned
  allocation (scipy ``chisquare``), flagged below :data:`SRM_THRESHOLD`.
* Three or more arms: Holm-adjusted p-values over the variant-vs-control comparisons
  (statsmodels ``multipletests(method="holm")``).
* Whole time-to-stage curves: the log-rank test (lifelines ``logrank_test``).

:func:`compare_arms` puts the first four together in one :class:`Comparison`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from leadnb.data.columns import require_columns
from leadnb.errors import ParamsError
from leadnb.results import Kind, Result, value

__all__ = [
    "MIN_EXPECTED",
    "SRM_THRESHOLD",
    "Comparison",
    "compare_arms",
    "fisher_p",
    "holm",
    "logrank_p",
    "needs_exact",
    "prob_beat_control",
    "prob_beat_control_mc",
    "srm_p_value",
    "z_test_p",
]

SRM_THRESHOLD = 0.001
"""A sample-ratio-mismatch p-value below this says the assignment is probably broken."""
MIN_EXPECTED = 10
"""Below this expected count in any cell of the 2x2 table, Fisher's exact test replaces the z-test."""

_NAN = float("nan")


def z_test_p(x_c: int, n_c: int, x_v: int, n_v: int) -> float:
    """Two-sided pooled z-test p-value for rate_v != rate_c (statsmodels ``proportions_ztest``).

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm.
    x_v, n_v
        Conversions and leads of the variant arm.

    Returns
    -------
    float
        The p-value; 1.0 when no lead or every lead converted (no variation), NaN when an arm
        has no lead.

    Examples
    --------
    >>> round(z_test_p(120, 1000, 150, 1000), 6)  # the DOMAIN.md reference
    0.04964
    >>> z_test_p(0, 50, 0, 50), z_test_p(0, 0, 3, 50)
    (1.0, nan)
    """
    if n_c == 0 or n_v == 0:
        return float("nan")
    if x_c + x_v in (0, n_c + n_v):
        return 1.0  # no variation at all: no evidence of a difference
    _, p = proportions_ztest([x_v, x_c], [n_v, n_c], alternative="two-sided")
    return float(p)


def fisher_p(x_c: int, n_c: int, x_v: int, n_v: int) -> float:
    """Two-sided Fisher exact test p-value of the 2x2 table (scipy ``fisher_exact``).

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm.
    x_v, n_v
        Conversions and leads of the variant arm.

    Returns
    -------
    float
        The p-value; NaN when an arm has no lead.

    Examples
    --------
    >>> round(fisher_p(3, 40, 9, 40), 4)
    0.1149
    """
    if n_c == 0 or n_v == 0:
        return float("nan")
    return float(stats.fisher_exact([[x_v, n_v - x_v], [x_c, n_c - x_c]]).pvalue)


def needs_exact(
    x_c: int, n_c: int, x_v: int, n_v: int, *, min_expected: float = MIN_EXPECTED
) -> bool:
    """Whether the z-test's normal approximation is too poor for these counts.

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm.
    x_v, n_v
        Conversions and leads of the variant arm.
    min_expected
        The smallest expected count (under the pooled rate) the z-test is trusted with.

    Returns
    -------
    bool
        True when any expected count of the 2x2 table is below ``min_expected``.

    Examples
    --------
    >>> needs_exact(3, 40, 9, 40), needs_exact(120, 1000, 150, 1000)
    (True, False)
    """
    n = n_c + n_v
    if n == 0:
        return False
    p = (x_c + x_v) / n
    expected = [n_c * p, n_c * (1 - p), n_v * p, n_v * (1 - p)]
    return min(expected) < min_expected


def prob_beat_control(
    x_c: int, n_c: int, x_v: int, n_v: int, *, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Exact P(rate_v > rate_c) with independent Beta priors (default Beta(1, 1)) on each rate.

    With posteriors A ~ Beta(a_c, b_c) and B ~ Beta(a_v, b_v) and an integer ``a_v``,
    ``P(B > A) = sum_{i=0}^{a_v-1} B(a_c+i, b_c+b_v) / ((b_v+i) B(1+i, b_v) B(a_c, b_c))``
    (B the Beta function). Summed in log space; the shorter of this sum and its mirror
    ``1 - P(A > B)`` is used.

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm.
    x_v, n_v
        Conversions and leads of the variant arm.
    prior
        Beta prior (successes, failures) of each rate; the successes must be whole numbers.

    Returns
    -------
    float
        The probability, in [0, 1]; NaN when an arm has no lead.

    Examples
    --------
    >>> round(prob_beat_control(120, 1000, 150, 1000), 4)
    0.9751
    >>> round(prob_beat_control(10, 100, 10, 100), 4)  # same counts: a coin flip
    0.5
    """
    if n_c == 0 or n_v == 0:
        return float("nan")
    a0, b0 = prior
    a_c, b_c = x_c + a0, n_c - x_c + b0
    a_v, b_v = x_v + a0, n_v - x_v + b0
    if a_v != int(a_v) or a_c != int(a_c):
        raise ParamsError("the exact formula needs integer prior successes", fix="use prior (1, 1)")

    def p_b_beats_a(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
        i = np.arange(int(a_b), dtype=float)
        logs = (
            special.betaln(a_a + i, b_a + b_b)
            - np.log(b_b + i)
            - special.betaln(1 + i, b_b)
            - special.betaln(a_a, b_a)
        )
        return float(np.exp(special.logsumexp(logs)))

    if a_v <= a_c:
        p = p_b_beats_a(a_c, b_c, a_v, b_v)
    else:
        p = 1.0 - p_b_beats_a(a_v, b_v, a_c, b_c)
    return float(min(max(p, 0.0), 1.0))


def prob_beat_control_mc(
    x_c: int, n_c: int, x_v: int, n_v: int, *, draws: int = 200_000, seed: int = 0
) -> float:
    """Monte Carlo estimate of :func:`prob_beat_control` (Beta(1, 1) priors): a check of it.

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm.
    x_v, n_v
        Conversions and leads of the variant arm.
    draws, seed
        Number of posterior draws per arm, and the seed of the generator.

    Returns
    -------
    float
        The share of draws where the variant's rate is above the control's.

    Examples
    --------
    >>> abs(prob_beat_control_mc(120, 1000, 150, 1000, seed=1) - 0.9751) < 0.002
    True
    """
    rng = np.random.default_rng(seed)
    c = rng.beta(x_c + 1, n_c - x_c + 1, size=draws)
    v = rng.beta(x_v + 1, n_v - x_v + 1, size=draws)
    return float(np.mean(v > c))


def srm_p_value(counts: Mapping[str, int], allocation: Mapping[str, float]) -> float:
    """Chi-square goodness-of-fit p-value of arm counts against the planned allocation shares.

    Parameters
    ----------
    counts
        Arm -> leads enrolled; an arm missing here counts as 0.
    allocation
        Arm -> planned share (the registration's allocation).

    Returns
    -------
    float
        The p-value; NaN when no lead is enrolled or there is one arm. A value below
        :data:`SRM_THRESHOLD` (0.001) is a sample ratio mismatch: the assignment is probably
        broken.

    Examples
    --------
    >>> round(srm_p_value({"a": 5000, "b": 5200}, {"a": 0.5, "b": 0.5}), 6)  # DOMAIN.md
    0.04767
    >>> srm_p_value({"a": 250, "b": 750}, {"a": 0.25, "b": 0.75})
    1.0
    """
    arms = list(allocation)
    obs = np.array([float(counts.get(a, 0)) for a in arms])
    total = obs.sum()
    if total == 0 or len(arms) < 2:
        return float("nan")
    shares = np.array([float(allocation[a]) for a in arms])
    exp = total * shares / shares.sum()
    return float(stats.chisquare(obs, f_exp=exp).pvalue)


def holm(p_values: Sequence[float], *, alpha: float = 0.05) -> np.ndarray:
    """Holm step-down adjusted p-values (statsmodels ``multipletests``).

    Parameters
    ----------
    p_values
        Raw p-values, one per comparison with the control; NaN for a comparison not made.
    alpha
        The family-wise error rate (statsmodels needs it; the adjusted values do not depend on
        it).

    Returns
    -------
    numpy.ndarray
        The adjusted p-values, in the input's order; NaNs stay NaN and are not counted.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(4).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method="holm")[1]
    return out


@dataclasses.dataclass(frozen=True)
class Comparison(Result):
    """A variant against the control on one metric (:func:`compare_arms`).

    Intervals follow the one convention (``x``, ``x_ci_low``, ``x_ci_high``); every number is
    NaN (and ``test`` empty) when an arm has no lead.
    """

    diff: float = value(Kind.POINTS, "variant rate minus control rate", default=_NAN)
    diff_ci_low: float = value(Kind.POINTS, "Newcombe interval, low", default=_NAN)
    diff_ci_high: float = value(Kind.POINTS, "Newcombe interval, high", default=_NAN)
    rel_lift: float = value(Kind.CHANGE, "variant rate / control rate - 1", default=_NAN)
    rel_lift_ci_low: float = value(Kind.CHANGE, "log (Katz) interval, low", default=_NAN)
    rel_lift_ci_high: float = value(Kind.CHANGE, "log (Katz) interval, high", default=_NAN)
    p_value: float = value(Kind.P_VALUE, "two-sided, z-test or Fisher's exact", default=_NAN)
    test: str = value(Kind.TEXT, '"z" or "fisher": which test gave p_value', default="")
    prob_beat_control: float = value(
        Kind.RATE, "P(variant rate > control rate), Beta(1, 1) priors", default=_NAN
    )


def compare_arms(x_c: int, n_c: int, x_v: int, n_v: int, *, alpha: float = 0.05) -> Comparison:
    """Variant against control on counts: difference and relative lift with intervals, p, P(beat).

    Parameters
    ----------
    x_c, n_c
        Conversions and leads of the control arm.
    x_v, n_v
        Conversions and leads of the variant arm.
    alpha
        Two-sided significance level: the intervals are ``1 - alpha`` intervals.

    Returns
    -------
    Comparison
        ``diff`` (rate_v - rate_c) with the Newcombe interval, ``rel_lift`` (rate_v / rate_c - 1)
        with the log interval (NaN when the control has no conversion), ``p_value`` (pooled
        z-test, or Fisher's exact when an expected count is below :data:`MIN_EXPECTED`),
        ``test`` (``"z"`` or ``"fisher"``) and ``prob_beat_control`` (exact, Beta(1, 1)).
        Every number is NaN when an arm has no lead.

    Examples
    --------
    >>> c = compare_arms(120, 1000, 150, 1000)
    >>> round(c.diff, 4), round(c.diff_ci_low, 4), round(c.diff_ci_high, 4)
    (0.03, 0.0, 0.06)
    >>> round(c.rel_lift, 2), c.test, round(c.p_value, 6), round(c.prob_beat_control, 3)
    (0.25, 'z', 0.04964, 0.975)
    >>> compare_arms(0, 0, 1, 10).test
    ''
    """
    if n_c == 0 or n_v == 0:
        return Comparison()
    r_c, r_v = x_c / n_c, x_v / n_v
    lo, hi = confint_proportions_2indep(
        x_v, n_v, x_c, n_c, method="newcomb", compare="diff", alpha=alpha
    )
    lift = {}
    if x_c > 0:
        method = "log" if x_v > 0 else "log-adjusted"
        r_lo, r_hi = confint_proportions_2indep(
            x_v, n_v, x_c, n_c, method=method, compare="ratio", alpha=alpha
        )
        lift = dict(
            rel_lift=r_v / r_c - 1,
            rel_lift_ci_low=float(r_lo) - 1,
            rel_lift_ci_high=float(r_hi) - 1,
        )
    exact = needs_exact(x_c, n_c, x_v, n_v)
    return Comparison(
        diff=r_v - r_c,
        diff_ci_low=float(lo),
        diff_ci_high=float(hi),
        **lift,
        p_value=fisher_p(x_c, n_c, x_v, n_v) if exact else z_test_p(x_c, n_c, x_v, n_v),
        test="fisher" if exact else "z",
        prob_beat_control=prob_beat_control(x_c, n_c, x_v, n_v),
    )


def logrank_p(outcomes: pd.DataFrame, control: str, variant: str) -> float:
    """Log-rank test p-value of variant vs control time-to-stage curves (lifelines).

    Parameters
    ----------
    outcomes
        Per-lead outcomes with variant, duration and event
        (:func:`leadnb.experiments.outcomes.outcomes_from_stages`).
    control, variant
        The two arms compared.

    Returns
    -------
    float
        The p-value; NaN when an arm has no lead or nobody converted.

    Examples
    --------
    >>> out = pd.DataFrame({"variant": ["c"] * 4 + ["v"] * 4,
    ...                     "duration": [30.0, 30.0, 30.0, 12.0, 3.0, 4.0, 5.0, 30.0],
    ...                     "event": [False, False, False, True, True, True, True, False]})
    >>> round(logrank_p(out, "c", "v"), 4)
    0.1005
    """
    from lifelines.statistics import logrank_test

    require_columns(outcomes, ["variant", "duration", "event"], table="the per-lead outcomes")

    c = outcomes.loc[outcomes["variant"] == control]
    v = outcomes.loc[outcomes["variant"] == variant]
    if c.empty or v.empty or not (c["event"].any() or v["event"].any()):
        return float("nan")
    with warnings.catch_warnings():
        # lifelines 0.30 calls DataFrame.sum positionally (a pandas 4 deprecation, not ours)
        warnings.simplefilter("ignore", DeprecationWarning)
        res = logrank_test(
            v["duration"].to_numpy(),
            c["duration"].to_numpy(),
            event_observed_A=v["event"].to_numpy(),
            event_observed_B=c["event"].to_numpy(),
        )
    return float(res.p_value)
