"""leadnb.experiments.sequential: the confidence sequence, its p-value, the readout and the cost.

The oracles: the confidence sequence's half-width as gbstats writes it (Waudby-Smith et al.
2021, eq. 9 of arXiv:2103.06476v7: ``sqrt(s2) * sqrt(2 (n ρ² + 1) / (n ρ)² * log(sqrt(n ρ² + 1)
/ α))`` with ``s2 = se² n``) and its p-value as the reciprocal of the normal-mixture e-value
(eq. 155), both written out here apart from the module; statsmodels' Newcombe interval (the
fixed-horizon interval of :func:`leadnb.experiments.comparisons.compare_arms`); a numerical
solve of the power equation; and simulations, seeded, each with its Monte Carlo error. The
simulations draw each arm's weekly leads and conversions as binomial counts (the sum of
independent leads), so 20,000 experiments of 12 weekly looks take a fraction of a second;
``benchmarks/sequential_sim.py`` runs larger ones and prints the figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import confint_proportions_2indep

from leadnb.errors import ParamsError
from leadnb.experiments.comparisons import compare_arms
from leadnb.experiments.design import sample_size
from leadnb.experiments.registration import Registration
from leadnb.experiments.sequential import (
    CI_METHOD,
    SEQUENTIAL_COLUMNS,
    always_valid_p,
    confidence_sequence,
    cost_text,
    critical_value,
    critical_value_at_plan,
    mixing_rho,
    planned_total,
    sequential_compare,
    sequential_cost,
    sequential_design,
    sequential_look,
    sequential_power,
    sequential_sample_size,
    sequential_table,
    smoothed_se,
)

LOOKS = 12
Z95 = float(stats.norm.isf(0.025))


def mc_error(p: float, reps: int) -> float:
    """The Monte Carlo standard error of a share ``p`` estimated from ``reps`` experiments."""
    return math.sqrt(p * (1 - p) / reps)


def weekly_experiments(
    rng: np.random.Generator,
    reps: int,
    p_c: float,
    p_v: float,
    *,
    per_week: int,
    share_c: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative counts at 12 weekly looks of ``reps`` experiments: ``per_week`` new leads a
    week, each randomised to the control with probability ``share_c``."""
    n_c_week = rng.binomial(per_week, share_c, size=(reps, LOOKS))
    n_v_week = per_week - n_c_week
    x_c = np.cumsum(rng.binomial(n_c_week, p_c), axis=1)
    x_v = np.cumsum(rng.binomial(n_v_week, p_v), axis=1)
    return x_c, np.cumsum(n_c_week, axis=1), x_v, np.cumsum(n_v_week, axis=1)


def naive_z_rejects(x_c, n_c, x_v, n_v) -> np.ndarray:
    """The fixed-horizon pooled z-test at alpha 0.05 applied at every look (written apart from
    statsmodels' ``proportions_ztest``, vectorised); no variation counts as no rejection."""
    pbar = (x_c + x_v) / (n_c + n_v)
    se0 = np.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_v))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x_v / n_v - x_c / n_c) / se0
    return np.abs(np.nan_to_num(z)) > Z95


def reg(**over) -> Registration:
    d = {
        "id": "seq-a",
        "hypothesis": "weekly beats monthly",
        "variable": "cadence",
        "control": "monthly",
        "variants": ["weekly"],
        "primary_metric": {"stage": "sql", "window_days": 30},
        "target_effect": 0.025,
        "planned_n_per_arm": 1000,
        "start": "2026-01-05",
        "analysis": "sequential",
    }
    d.update(over)
    return Registration.from_dict({k: v for k, v in d.items() if v is not None})


# --- the formulas against the paper's form as gbstats writes it ---


def gbstats_halfwidth(se: np.ndarray, n: np.ndarray, n_planned: float, alpha: float):
    """Waudby-Smith et al. eq. 9 in gbstats' spelling, with gbstats' ``sequential_rho``."""
    rho = np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / n_planned)
    s2 = se**2 * n
    return np.sqrt(s2) * np.sqrt(
        2 * (n * rho**2 + 1) * np.log(np.sqrt(n * rho**2 + 1) / alpha) / (n * rho) ** 2
    )


def gbstats_p(diff: np.ndarray, se: np.ndarray, n: np.ndarray, n_planned: float, alpha: float):
    """gbstats' ``SequentialTwoSidedTTest.p_value`` (eq. 155): one over the mixture e-value."""
    rho = np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / n_planned)
    st2 = diff**2 * n / se**2  # gbstats: (point_estimate - test_value)^2 n / standard_error^2
    tr2p1 = n * rho**2 + 1
    evalue = np.exp(rho**2 * st2 / (2 * tr2p1)) / np.sqrt(tr2p1)
    return np.minimum(1 / evalue, 1)


def test_interval_and_p_value_equal_the_papers_form_as_gbstats_writes_it() -> None:
    rng = np.random.default_rng(1)
    n_c = rng.integers(20, 5000, size=400)
    n_v = rng.integers(20, 5000, size=400)
    x_c = rng.binomial(n_c, 0.12)
    x_v = rng.binomial(n_v, 0.14)
    for alpha, n_planned in ((0.05, 3000), (0.01, 800), (0.10, 20000)):
        b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=n_planned, alpha=alpha)
        se = smoothed_se(x_c, n_c, x_v, n_v)
        n = n_c + n_v
        half = gbstats_halfwidth(se, n, n_planned, alpha)
        np.testing.assert_allclose(b.high - b.diff, half, rtol=1e-12)
        np.testing.assert_allclose(b.diff - b.low, half, rtol=1e-12)
        np.testing.assert_allclose(b.diff, x_v / n_v - x_c / n_c, rtol=1e-12)
        np.testing.assert_allclose(b.p_value, gbstats_p(b.diff, se, n, n_planned, alpha))
        # the interval excludes 0 exactly when the always-valid p-value is at most alpha
        excludes = (b.low > 0) | (b.high < 0)
        assert ((b.p_value <= alpha) == excludes).all()


def test_smoothed_se_adds_one_conversion_and_one_non_conversion() -> None:
    q_c, q_v = 13 / 102, 1 / 42
    want = math.sqrt(q_c * (1 - q_c) / 100 + q_v * (1 - q_v) / 40)
    assert float(smoothed_se(12, 100, 0, 40)) == pytest.approx(want, rel=1e-12)
    # the plain (Wald) estimate is 0 here; the interval keeps a width
    b = confidence_sequence(0, 30, 0, 30, n_planned=2000)
    assert float(b.diff) == 0 and float(b.high) > 0.05 and float(b.p_value) == 1.0


def test_the_sequence_is_tightest_at_the_planned_n() -> None:
    for alpha in (0.05, 0.01):
        n_planned = 2400
        rho = mixing_rho(n_planned, alpha)
        grid = np.arange(100, 40001)
        c = critical_value(grid, rho=rho, alpha=alpha)
        best = grid[np.argmin(c)]
        # the paper's rho is an approximate minimiser: the narrowest n is within 5% of the plan,
        # and there the critical value is within 0.05% of the smallest
        assert abs(best / n_planned - 1) < 0.05
        assert float(critical_value(n_planned, rho=rho, alpha=alpha)) / c.min() - 1 < 5e-4
        assert float(critical_value(n_planned, rho=rho, alpha=alpha)) == pytest.approx(
            critical_value_at_plan(alpha), rel=1e-12
        )
        # and at the planned n no other rho gives a narrower interval (to 0.05%)
        res = optimize.minimize_scalar(
            lambda r, n=n_planned, a=alpha: float(critical_value(n, rho=r, alpha=a)),
            bounds=(1e-4, 1.0),
            method="bounded",
        )
        assert critical_value_at_plan(alpha) / res.fun - 1 < 5e-4


def test_always_valid_p_edges() -> None:
    rho = mixing_rho(1000)
    assert float(always_valid_p(0.0, 500, rho=rho)) == 1.0
    assert float(always_valid_p(40.0, 500, rho=rho)) < 1e-250  # far out: no overflow
    assert np.isnan(always_valid_p(2.0, 0, rho=rho))
    with pytest.raises(ParamsError, match="planned n must be positive"):
        mixing_rho(0)


# --- simulations: 12 weekly looks ---


@pytest.mark.parametrize(
    ("rate", "per_week", "share_c"),
    [(0.10, 120, 0.5), (0.03, 200, 0.5), (0.10, 120, 1 / 3)],
)
def test_aa_false_positive_rate_at_12_weekly_looks(
    rate: float, per_week: int, share_c: float
) -> None:
    """A/A experiments read every week for 12 weeks: the confidence sequence's chance of ever
    excluding 0 stays at or below 5% (plus 3 Monte Carlo standard errors: 0.46 points at 20,000
    experiments), while stopping at the first fixed-horizon p < 0.05 is well above (about 20%)."""
    reps = 20_000
    rng = np.random.default_rng(20261201)
    x_c, n_c, x_v, n_v = weekly_experiments(
        rng, reps, rate, rate, per_week=per_week, share_c=share_c
    )
    planned = per_week * LOOKS  # both arms at the end of week 12
    b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=planned)
    seq = float(((b.low > 0) | (b.high < 0)).any(axis=1).mean())
    naive = float(naive_z_rejects(x_c, n_c, x_v, n_v).any(axis=1).mean())
    once = float(naive_z_rejects(x_c, n_c, x_v, n_v)[:, -1].mean())
    mc = mc_error(0.05, reps)
    print(
        f"\nA/A, rate {rate:.0%}, {per_week} leads a week, control share {share_c:.2f}, "
        f"{reps:,} experiments x {LOOKS} looks (MC error at 5%: {mc:.4f}): "
        f"confidence sequence {seq:.4f}, naive repeated z-test {naive:.4f}, "
        f"z-test at week 12 only {once:.4f}"
    )
    assert seq <= 0.05 + 3 * mc
    assert naive >= 0.12  # at 20% the MC error is 0.003: far above 5% and above 12%
    # the single pre-planned read is the fixed-horizon test's own 5% (3 MC errors)
    assert abs(once - 0.05) <= 3 * mc + 0.005  # + 0.005: the z-test's own approximation
    # the always-valid p-value decides the same looks as the interval
    assert float((b.p_value <= 0.05).any(axis=1).mean()) == seq


@pytest.mark.parametrize(("p_c", "p_v"), [(0.10, 0.15), (0.03, 0.06), (0.20, 0.12)])
def test_coverage_over_all_looks_at_a_nonzero_difference(p_c: float, p_v: float) -> None:
    """The sequence holds the true difference at all 12 looks at once in at least 95% of the
    experiments (minus 3 Monte Carlo standard errors: 0.46 points at 20,000)."""
    reps = 20_000
    rng = np.random.default_rng(18)
    x_c, n_c, x_v, n_v = weekly_experiments(rng, reps, p_c, p_v, per_week=150)
    b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=150 * LOOKS)
    d = p_v - p_c
    covered = float(((b.low <= d) & (b.high >= d)).all(axis=1).mean())
    mc = mc_error(0.95, reps)
    print(f"\ncoverage over {LOOKS} looks, {p_c:.0%} vs {p_v:.0%}: {covered:.4f} (MC {mc:.4f})")
    assert covered >= 0.95 - 3 * mc


def test_one_look_is_wider_than_the_fixed_horizon_interval() -> None:
    """At any single look the sequence is wider than the fixed-horizon interval at the same
    counts: at least c* / 1.96 = 1.55 times the same-variance normal interval, and wider than
    the Newcombe interval the fixed analysis reports (statsmodels), on every look of 2,000
    simulated experiments, rates 3% to 20% (the first look has 60 leads an arm)."""
    rng = np.random.default_rng(5)
    for p_c, p_v in ((0.03, 0.05), (0.10, 0.10), (0.20, 0.15)):
        x_c, n_c, x_v, n_v = weekly_experiments(rng, 2_000, p_c, p_v, per_week=120)
        b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=120 * LOOKS)
        se = smoothed_se(x_c, n_c, x_v, n_v)
        widest = (b.high - b.low) / (2 * Z95 * se)  # over the same-variance normal interval
        assert (widest >= critical_value_at_plan(0.05) / Z95 * (1 - 1e-12)).all()
        lo, hi = confint_proportions_2indep(
            x_v.ravel(), n_v.ravel(), x_c.ravel(), n_c.ravel(), method="newcomb", compare="diff"
        )
        ratio = (b.high - b.low).ravel() / (hi - lo)
        assert (ratio > 1).all(), ratio.min()
    assert critical_value_at_plan(0.05) / Z95 == pytest.approx(1.5486, abs=1e-4)
    # and the package's fixed-horizon comparison agrees with statsmodels' Newcombe interval
    c = compare_arms(10, 120, 18, 120)
    look = sequential_compare(10, 120, 18, 120, n_planned=1440)
    assert look.diff_ci_high - look.diff_ci_low > c.diff_ci_high - c.diff_ci_low


# --- the sample-size cost of sequential testing ---


def power_gap(n_v: float, base: float, eff: float, alpha: float, power: float, ratio: float):
    """Chance that the sequence tuned at the last look excludes 0 there, minus ``power``."""
    p_v = base + eff
    var1 = p_v * (1 - p_v) + base * (1 - base) * ratio  # n_v * Var(diff)
    n_total = n_v * (1 + 1 / ratio)
    c = float(critical_value(n_total, rho=mixing_rho(n_total, alpha), alpha=alpha))
    return stats.norm.cdf(abs(eff) / math.sqrt(var1 / n_v) - c) - power


def test_sequential_sample_size_solves_the_power_equation() -> None:
    """The closed form equals a numerical solve of 'the sequence, tuned at n, excludes 0 at n
    with the registered power' written with the interval's own critical value."""
    for base, eff, alpha, power, ratio in (
        (0.10, 0.02, 0.05, 0.8, 1.0),
        (0.08, 0.025, 0.05, 0.9, 1.0),
        (0.30, -0.05, 0.01, 0.8, 2.0),
    ):
        n_v = optimize.brentq(power_gap, 10, 1e7, args=(base, eff, alpha, power, ratio), xtol=1e-6)
        ss = sequential_sample_size(base, eff, alpha=alpha, power=power, ratio=ratio)
        assert ss.n_variant == math.ceil(n_v)
        assert sequential_power(base, eff, ss.n_variant, alpha=alpha, ratio=ratio) >= power
    # three arms: each comparison at alpha / 2, as the fixed-horizon design plans it
    assert sequential_sample_size(0.1, 0.02, k_arms=3).n_control == (
        sequential_sample_size(0.1, 0.02, alpha=0.025).n_control
    )


def test_sequential_sample_size_gives_the_power_by_simulation() -> None:
    """4,000 experiments at the sequential n with 12 equal looks: the sequence excludes 0 at
    the last look in 80% of them (3 MC errors: 1.9 points) and at some look at least as
    often; at the fixed-horizon n the same sequence has far less power, which is the cost."""
    reps = 4_000
    rng = np.random.default_rng(42)
    base, eff = 0.10, 0.05
    mc = mc_error(0.8, reps)
    found = {}
    for name, n_arm in (
        ("sequential", sequential_sample_size(base, eff).n_control),
        ("fixed", sample_size(base, eff).n_control),
    ):
        edges = np.round(np.linspace(0, n_arm, LOOKS + 1)).astype(int)
        n = np.broadcast_to(edges[1:], (reps, LOOKS))
        x_c = np.cumsum(rng.binomial(np.diff(edges), base, size=(reps, LOOKS)), axis=1)
        x_v = np.cumsum(rng.binomial(np.diff(edges), base + eff, size=(reps, LOOKS)), axis=1)
        b = confidence_sequence(x_c, n, x_v, n, n_planned=2 * n_arm)
        rejects = (b.low > 0) | (b.high < 0)
        found[name] = (n_arm, rejects[:, -1].mean(), rejects.any(axis=1).mean())
    print(f"\nsequential n, {base:.0%} -> {base + eff:.0%} (n, last look, any look): {found}")
    n_seq, last, anytime = found["sequential"]
    assert abs(last - 0.8) <= 3 * mc
    assert anytime >= last
    assert found["fixed"][1] < 0.6
    assert n_seq > found["fixed"][0]


def test_sequential_cost_against_the_fixed_design() -> None:
    cost = sequential_cost(0.08, 0.025)
    fixed = sample_size(0.08, 0.025)
    seq = sequential_sample_size(0.08, 0.025)
    assert (cost.n_per_arm_fixed, cost.n_total_fixed) == (fixed.n_control, fixed.n_total)
    assert (cost.n_per_arm_sequential, cost.n_total_sequential) == (seq.n_control, seq.n_total)
    assert cost.inflation == pytest.approx(seq.n_total / fixed.n_total)
    assert 1.8 < cost.inflation < 2.0
    assert cost.critical_fixed == pytest.approx(Z95)
    assert cost.critical_sequential == pytest.approx(critical_value_at_plan(0.05))
    text = cost_text(cost, 0.8)
    assert f"{seq.n_control:,} leads per group" in text and f"{fixed.n_control:,}" in text
    r = reg(planned_n_per_arm=None, baseline_rate=0.08)
    assert sequential_design(r) == cost
    assert sequential_design(reg()) is None  # no baseline rate: no design row
    assert sequential_design(reg(), baselines={"seq-a": 0.08}) == cost


# --- the readout of one look, from the registration ---


def test_sequential_look_from_the_registration() -> None:
    r = reg()
    look = sequential_look(100, 900, 150, 900, r)
    same = sequential_compare(100, 900, 150, 900, n_planned=2000, alpha=0.05)
    assert look == same
    assert (look.ci_method, look.always_valid) == (CI_METHOD, True)
    assert look.stop_recommended == (look.diff_ci_low > 0)
    assert look.stop_recommended and look.p_value <= 0.05
    # three arms: each comparison at alpha / 2, the planned n scaled by the allocation
    r3 = reg(
        variants=["weekly", "daily"],
        allocation={"monthly": 0.25, "weekly": 0.5, "daily": 0.25},
        planned_n_per_arm=500,
    )
    assert planned_total(r3, "weekly") == 1500 and planned_total(r3, "daily") == 1000
    look3 = sequential_look(50, 500, 80, 1000, r3, variant="weekly")
    assert look3 == sequential_compare(50, 500, 80, 1000, n_planned=1500, alpha=0.025)
    # without planned_n_per_arm the sequential n is sized from the baseline rate
    rb = reg(planned_n_per_arm=None, baseline_rate=0.08)
    assert planned_total(rb, "weekly") == sequential_sample_size(0.08, 0.025).n_total
    with pytest.raises(ParamsError, match="'daily' is not a registered variant"):
        planned_total(r, "daily")


def test_sequential_compare_refuses_impossible_counts_and_handles_empty_arms() -> None:
    with pytest.raises(ParamsError, match="control arm has 12 conversions of 10 leads"):
        sequential_compare(12, 10, 1, 10, n_planned=100)
    empty = sequential_compare(0, 0, 3, 40, n_planned=100)
    assert math.isnan(empty.diff) and math.isnan(empty.p_value)
    assert not empty.stop_recommended and empty.n_variant == 40


def test_sequential_table_rows() -> None:
    r = reg(variants=["weekly", "daily"])
    counts = pd.DataFrame(
        {"variant": ["weekly", "monthly"], "n": [1000, 1000], "conversions": [190, 100]}
    )
    t = sequential_table(counts, r)
    assert list(t.columns) == SEQUENTIAL_COLUMNS
    assert t["variant"].tolist() == ["monthly", "weekly", "daily"]
    assert t["is_control"].tolist() == [True, False, False]
    assert (t["analysis"] == "sequential").all() and (t["ci_method"] == CI_METHOD).all()
    assert t["always_valid"].all()
    weekly = t.set_index("variant").loc["weekly"]
    look = sequential_look(100, 1000, 190, 1000, r, variant="weekly")
    assert weekly["diff_ci_low"] == look.diff_ci_low and weekly["p_value"] == look.p_value
    assert weekly["alpha"] == 0.025 and weekly["stop_recommended"] == look.stop_recommended
    daily = t.set_index("variant").loc["daily"]  # no lead yet
    assert daily["n"] == 0 and math.isnan(daily["diff"]) and not daily["stop_recommended"]
    control = t.set_index("variant").loc["monthly"]
    assert math.isnan(control["diff"]) and not control["stop_recommended"]
