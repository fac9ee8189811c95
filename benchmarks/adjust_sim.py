"""Simulations of :mod:`leadnb.experiments.adjust`: regression adjustment and account units.

Design. Two data-generating processes with a known truth, and one function per property that
replays an experiment ``reps`` times and returns the figures with their Monte Carlo errors:

* :func:`adjustment_sim`: leads with two pre-assignment covariates (a uniform score and a 0/1
  firmographic, 10% of scores missing) whose conversion probability is linear in them, so the
  true average effect is known exactly (``0.03 + 0.05 * 0.3 = 0.045``); with
  ``predictive=False`` the covariates are noise and the effect is 0.05. Each replication runs
  :func:`~leadnb.experiments.adjust.adjusted_results` (imputation, Lin's model, HC2).
* :func:`cluster_sim`: accounts of ``1 + Poisson(mean_size - 1)`` leads randomised as wholes;
  each account's conversion probability is Beta-distributed with the arm's mean and the
  intra-class correlation ``icc`` (beta-binomial: the ICC of the 0/1 outcomes is exactly
  ``icc``). It measures the coverage of the cluster-robust interval of the true difference, the
  coverage of the naive lead-level (HC2) interval on the first ``naive_reps`` replications, and
  the ICC recovered by :func:`~leadnb.experiments.adjust.icc_anova`.

``tests/test_adjust.py`` calls both with small, seeded settings; ``python -m benchmarks.adjust_sim``
runs the larger versions and prints every figure (``--quick`` for the test-sized ones).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from leadnb.experiments.adjust import adjusted_results, icc_anova, lin_estimate

Z95 = 1.959963984540054


def _mc_prop(p: float, reps: int) -> float:
    """Monte Carlo standard error of a proportion (a coverage) over ``reps`` replications."""
    return float(np.sqrt(p * (1 - p) / reps))


def _sd_ratio_mc(a: np.ndarray, b: np.ndarray, *, seed: int = 0, boot: int = 400) -> float:
    """Bootstrap (over replications) standard error of ``sd(a) / sd(b)``, pairs kept together."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(boot, len(a)))
    return float(np.std(a[idx].std(axis=1, ddof=1) / b[idx].std(axis=1, ddof=1), ddof=1))


# --------------------------------------------------------------------------------------------
# Regression adjustment

TRUE_EFFECT_PREDICTIVE = 0.03 + 0.05 * 0.3
"""The true average effect of :func:`adjustment_data` with predictive covariates."""
TRUE_EFFECT_NOISE = 0.05
"""The true effect of :func:`adjustment_data` with covariates that do not predict."""


def adjustment_data(rng: np.random.Generator, n: int, *, predictive: bool) -> pd.DataFrame:
    """One experiment of ``n`` leads, half in each arm (complete randomisation).

    ``score`` ~ U(-1, 1) (10% missing), ``enterprise`` ~ Bernoulli(0.3). Predictive:
    ``p = 0.12 + 0.06 * score + 0.35 * enterprise + t * (0.03 + 0.05 * enterprise)`` (in
    [0.06, 0.61]; true average effect 0.045). Noise: ``p = 0.2 + 0.05 * t``.
    """
    t = rng.permutation(np.arange(n) < n // 2).astype(float)
    score = rng.uniform(-1, 1, n)
    ent = (rng.random(n) < 0.3).astype(float)
    if predictive:
        p = 0.12 + 0.06 * score + 0.35 * ent + t * (0.03 + 0.05 * ent)
    else:
        p = 0.2 + 0.05 * t
    y = (rng.random(n) < p).astype(float)
    score = np.where(rng.random(n) < 0.1, np.nan, score)
    return pd.DataFrame(
        {
            "variant": np.where(t == 1, "v", "c"),
            "converted": y,
            "score": score,
            "enterprise": ent,
        }
    )


@dataclasses.dataclass(frozen=True)
class AdjustmentSim:
    """Figures of :func:`adjustment_sim`; ``*_mc`` are Monte Carlo standard errors."""

    reps: int
    n: int
    predictive: bool
    true_effect: float
    mean_diff: float
    mean_diff_mc: float
    mean_diff_adj: float
    mean_diff_adj_mc: float
    mean_adj_minus_unadj: float  # paired: what the adjustment adds to the unbiased difference
    mean_adj_minus_unadj_mc: float
    sd_diff: float
    sd_diff_adj: float
    sd_ratio: float  # sd(diff_adj) / sd(diff): the adjusted estimator's spread, relative
    sd_ratio_mc: float
    mean_se: float
    mean_se_adj: float
    se_ratio: float  # mean(se_adj / se), paired per replication
    se_ratio_mc: float
    mean_variance_reduction: float
    coverage: float
    coverage_adj: float
    coverage_mc: float  # at 95%: sqrt(0.95 * 0.05 / reps)
    seconds: float


def adjustment_sim(
    reps: int = 400, n: int = 400, *, predictive: bool = True, seed: int = 0
) -> AdjustmentSim:
    """Replay :func:`adjustment_data` ``reps`` times through ``adjusted_results``."""
    rng = np.random.default_rng(seed)
    truth = TRUE_EFFECT_PREDICTIVE if predictive else TRUE_EFFECT_NOISE
    cols = ["diff_unadj", "se_unadj", "diff_adj", "se_adj", "variance_reduction"]
    cols += ["diff_unadj_ci_low", "diff_unadj_ci_high", "diff_adj_ci_low", "diff_adj_ci_high"]
    out = np.empty((reps, len(cols)))
    t0 = time.perf_counter()
    for r in range(reps):
        f = adjustment_data(rng, n, predictive=predictive)
        res = adjusted_results(
            f, control="c", variants=["v"], experiment_id="sim", covariates=["score", "enterprise"]
        )
        out[r] = res.table.loc[1, cols].to_numpy(dtype=float)
    secs = time.perf_counter() - t0
    d, se, da, sa, vr, lo, hi, lo_a, hi_a = out.T
    ratio = sa / se
    return AdjustmentSim(
        reps=reps,
        n=n,
        predictive=predictive,
        true_effect=truth,
        mean_diff=float(d.mean()),
        mean_diff_mc=float(d.std(ddof=1) / np.sqrt(reps)),
        mean_diff_adj=float(da.mean()),
        mean_diff_adj_mc=float(da.std(ddof=1) / np.sqrt(reps)),
        mean_adj_minus_unadj=float((da - d).mean()),
        mean_adj_minus_unadj_mc=float((da - d).std(ddof=1) / np.sqrt(reps)),
        sd_diff=float(d.std(ddof=1)),
        sd_diff_adj=float(da.std(ddof=1)),
        sd_ratio=float(da.std(ddof=1) / d.std(ddof=1)),
        sd_ratio_mc=_sd_ratio_mc(da, d, seed=seed),
        mean_se=float(se.mean()),
        mean_se_adj=float(sa.mean()),
        se_ratio=float(ratio.mean()),
        se_ratio_mc=float(ratio.std(ddof=1) / np.sqrt(reps)),
        mean_variance_reduction=float(vr.mean()),
        coverage=float(((lo <= truth) & (truth <= hi)).mean()),
        coverage_adj=float(((lo_a <= truth) & (truth <= hi_a)).mean()),
        coverage_mc=_mc_prop(0.95, reps),
        seconds=secs,
    )


# --------------------------------------------------------------------------------------------
# Account units


def cluster_data(
    rng: np.random.Generator,
    n_accounts: int,
    *,
    mean_size: float = 5.0,
    icc: float = 0.2,
    base: float = 0.2,
    effect: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One account-randomised experiment: (y, treated, account) per lead.

    Half the accounts (complete randomisation) are treated; an account's probability is
    Beta(mu (1 - icc) / icc, (1 - mu) (1 - icc) / icc) with mu = ``base`` or ``base + effect``,
    so the outcome's intra-class correlation is ``icc`` in both arms and the true difference is
    ``effect``.
    """
    size = 1 + rng.poisson(mean_size - 1, n_accounts)
    treated_acc = rng.permutation(np.arange(n_accounts) < n_accounts // 2)
    mu = np.where(treated_acc, base + effect, base)
    s = (1 - icc) / icc
    p = rng.beta(mu * s, (1 - mu) * s)
    account = np.repeat(np.arange(n_accounts), size)
    y = (rng.random(len(account)) < p[account]).astype(float)
    return y, treated_acc[account].astype(float), account


@dataclasses.dataclass(frozen=True)
class ClusterSim:
    """Figures of :func:`cluster_sim`; ``*_mc`` are Monte Carlo standard errors."""

    reps: int
    n_accounts: int
    mean_size: float
    icc: float
    coverage_cluster: float
    coverage_cluster_mc: float  # sqrt(0.95 * 0.05 / reps)
    naive_reps: int
    coverage_naive: float
    coverage_naive_mc: float
    mean_diff: float
    mean_diff_mc: float
    icc_mean: float  # icc_anova on the control arm's leads
    icc_mean_mc: float
    seconds: float


def cluster_sim(
    reps: int = 2000,
    n_accounts: int = 120,
    *,
    mean_size: float = 5.0,
    icc: float = 0.2,
    effect: float = 0.05,
    naive_reps: int = 300,
    seed: int = 1,
) -> ClusterSim:
    """Coverage of the cluster-robust (and the naive) 95% interval of the true difference."""
    rng = np.random.default_rng(seed)
    hit = np.empty(reps, dtype=bool)
    hit_naive = np.empty(min(naive_reps, reps), dtype=bool)
    diffs = np.empty(reps)
    iccs = np.empty(reps)
    t0 = time.perf_counter()
    for r in range(reps):
        y, t, acc = cluster_data(rng, n_accounts, mean_size=mean_size, icc=icc, effect=effect)
        est = lin_estimate(y, t, groups=acc)
        hit[r] = est.diff_ci_low <= effect <= est.diff_ci_high
        diffs[r] = est.diff
        iccs[r] = icc_anova(y[t == 0], acc[t == 0])
        if r < len(hit_naive):
            naive = lin_estimate(y, t)
            hit_naive[r] = naive.diff_ci_low <= effect <= naive.diff_ci_high
    secs = time.perf_counter() - t0
    cov_naive = float(hit_naive.mean())
    return ClusterSim(
        reps=reps,
        n_accounts=n_accounts,
        mean_size=mean_size,
        icc=icc,
        coverage_cluster=float(hit.mean()),
        coverage_cluster_mc=_mc_prop(0.95, reps),
        naive_reps=len(hit_naive),
        coverage_naive=cov_naive,
        coverage_naive_mc=_mc_prop(cov_naive, len(hit_naive)),
        mean_diff=float(diffs.mean()),
        mean_diff_mc=float(diffs.std(ddof=1) / np.sqrt(reps)),
        icc_mean=float(iccs.mean()),
        icc_mean_mc=float(iccs.std(ddof=1) / np.sqrt(reps)),
        seconds=secs,
    )


def _show(sim: AdjustmentSim | ClusterSim) -> None:
    print(f"== {type(sim).__name__}")
    for k, v in dataclasses.asdict(sim).items():
        print(f"  {k:>24}: {v:.5g}" if isinstance(v, float) else f"  {k:>24}: {v}")


def main(argv: list[str] | None = None) -> None:
    """Print the figures of the larger simulations (``--quick``: the test-sized ones)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the sizes tests/test_adjust.py uses")
    quick = ap.parse_args(argv).quick
    a_reps, c_reps = (1000, 4000) if quick else (4000, 10000)
    _show(adjustment_sim(a_reps, 400, predictive=True, seed=0))
    _show(adjustment_sim(a_reps, 400, predictive=False, seed=2))
    _show(cluster_sim(c_reps, 120, naive_reps=300 if quick else 2000, seed=1))
    if not quick:
        _show(cluster_sim(c_reps, 40, naive_reps=2000, seed=3))  # few accounts: CR1 strains


if __name__ == "__main__":
    main()
