"""Simulations of :mod:`leadnb.experiments.sequential` at scale: the figures behind issue 18's claims.

Design. Every experiment is drawn as binomial counts per arm and per look (the sum of independent
leads), vectorised over replications with NumPy and processed in blocks of :data:`BLOCK`
replications so memory stays flat. One function per property, each returning its figures with
their Monte Carlo standard errors:

* :func:`aa_sim`: A/A experiments (no true difference) read at every look: the share in which
  the confidence sequence ever excludes 0, against stopping at the first fixed-horizon
  z-test with p < 0.05 and against the single pre-planned z-test at the last look.
* :func:`coverage_sim`: experiments with a true difference: the share in which the sequence
  holds it at every look at once.
* :func:`power_sim`: experiments at the sequential n (:func:`sequential_sample_size`) and at the
  fixed-horizon n, with the target effect true: power at the last look, at any look, and the
  average number of leads per arm when the plan stops (the first look whose interval excludes
  0, or the end).

``tests/test_sequential.py`` runs small seeded versions of the same checks; ``python -m
benchmarks.sequential_sim`` runs these larger ones (200,000 replications; ``--quick`` for
20,000) and prints every figure, including the settings where the asymptotic sequence is
tested hardest: 20 new leads a week, a 2% rate, 52 weekly looks.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np

from leadnb.experiments.design import sample_size
from leadnb.experiments.sequential import confidence_sequence, sequential_sample_size

Z95 = 1.959963984540054
BLOCK = 25_000
"""Replications simulated at once."""


def mc_error(p: float, reps: int) -> float:
    """The Monte Carlo standard error of a share ``p`` over ``reps`` replications."""
    return float(np.sqrt(p * (1 - p) / reps))


def _blocks(reps: int) -> Iterator[int]:
    done = 0
    while done < reps:
        size = min(BLOCK, reps - done)
        done += size
        yield size


def _weekly(
    rng: np.random.Generator,
    reps: int,
    p_c: float,
    p_v: float,
    *,
    per_week: int,
    looks: int,
    share_c: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative counts at each look: ``per_week`` leads a week, each to the control with
    probability ``share_c``."""
    n_c_week = rng.binomial(per_week, share_c, size=(reps, looks))
    n_v_week = per_week - n_c_week
    x_c = np.cumsum(rng.binomial(n_c_week, p_c), axis=1)
    x_v = np.cumsum(rng.binomial(n_v_week, p_v), axis=1)
    return x_c, np.cumsum(n_c_week, axis=1), x_v, np.cumsum(n_v_week, axis=1)


def _z_rejects(x_c, n_c, x_v, n_v) -> np.ndarray:
    """The pooled two-proportion z-test at 5% at every look (no variation: no rejection)."""
    pbar = (x_c + x_v) / (n_c + n_v)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x_v / n_v - x_c / n_c) / np.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_v))
    return np.abs(np.nan_to_num(z)) > Z95


def aa_sim(
    rate: float,
    *,
    per_week: int,
    looks: int = 12,
    share_c: float = 0.5,
    reps: int = 200_000,
    seed: int = 0,
) -> dict[str, float]:
    """False-positive rates of A/A experiments read at every look.

    Returns
    -------
    dict
        ``sequence`` (the confidence sequence ever excludes 0), ``naive`` (the z-test ever has
        p < 0.05), ``last_look`` (the z-test at the last look only), ``mc`` (the Monte Carlo
        error of a 5% rate), ``reps``.
    """
    rng = np.random.default_rng(seed)
    hits = np.zeros(3)
    for size in _blocks(reps):
        x_c, n_c, x_v, n_v = _weekly(
            rng, size, rate, rate, per_week=per_week, looks=looks, share_c=share_c
        )
        b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=per_week * looks)
        z = _z_rejects(x_c, n_c, x_v, n_v)
        hits += [
            ((b.low > 0) | (b.high < 0)).any(axis=1).sum(),
            z.any(axis=1).sum(),
            z[:, -1].sum(),
        ]
    seq, naive, last = hits / reps
    return {"sequence": seq, "naive": naive, "last_look": last, "mc": mc_error(0.05, reps),
            "reps": reps}  # fmt: skip


def coverage_sim(
    p_c: float,
    p_v: float,
    *,
    per_week: int,
    looks: int = 12,
    share_c: float = 0.5,
    reps: int = 200_000,
    seed: int = 0,
) -> dict[str, float]:
    """Share of experiments in which the sequence holds ``p_v - p_c`` at every look at once.

    Returns
    -------
    dict
        ``coverage``, ``mc`` (its Monte Carlo error at 95%), ``reps``.
    """
    rng = np.random.default_rng(seed)
    covered = 0
    d = p_v - p_c
    for size in _blocks(reps):
        x_c, n_c, x_v, n_v = _weekly(
            rng, size, p_c, p_v, per_week=per_week, looks=looks, share_c=share_c
        )
        b = confidence_sequence(x_c, n_c, x_v, n_v, n_planned=per_week * looks)
        covered += int(((b.low <= d) & (b.high >= d)).all(axis=1).sum())
    return {"coverage": covered / reps, "mc": mc_error(0.95, reps), "reps": reps}


def power_sim(
    baseline: float,
    effect: float,
    *,
    looks: int = 12,
    reps: int = 200_000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Power and average stopping n with the effect true, at the sequential and the fixed n.

    Each plan enrols its n per arm in ``looks`` equal steps (1:1) and reads the confidence
    sequence tuned at its own end at every step.

    Returns
    -------
    dict
        ``{"sequential": ..., "fixed": ...}``, each with ``n_per_arm``, ``last_look`` (power
        at the end), ``any_look`` (stopped by the end), ``mean_stop_n`` (leads per arm when the
        plan stops), ``mc`` (the Monte Carlo error of an 80% power).
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, n_arm in (
        ("sequential", sequential_sample_size(baseline, effect).n_control),
        ("fixed", sample_size(baseline, effect).n_control),
    ):
        edges = np.round(np.linspace(0, n_arm, looks + 1)).astype(int)
        steps = np.diff(edges)
        last = anytime = stop_n = 0.0
        for size in _blocks(reps):
            n = np.broadcast_to(edges[1:], (size, looks))
            x_c = np.cumsum(rng.binomial(steps, baseline, size=(size, looks)), axis=1)
            x_v = np.cumsum(rng.binomial(steps, baseline + effect, size=(size, looks)), axis=1)
            b = confidence_sequence(x_c, n, x_v, n, n_planned=2 * n_arm)
            rejects = (b.low > 0) | (b.high < 0)
            stopped = rejects.any(axis=1)
            last += rejects[:, -1].sum()
            anytime += stopped.sum()
            stop_n += np.where(stopped, edges[1:][rejects.argmax(axis=1)], n_arm).sum()
        out[name] = {
            "n_per_arm": n_arm,
            "last_look": last / reps,
            "any_look": anytime / reps,
            "mean_stop_n": stop_n / reps,
            "mc": mc_error(0.8, reps),
        }
    return out


AA_SETTINGS = [
    # rate, new leads a week, looks, control share
    (0.10, 120, 12, 0.5),
    (0.03, 200, 12, 0.5),
    (0.30, 60, 12, 0.5),
    (0.10, 120, 12, 1 / 3),
    (0.02, 20, 12, 0.5),
    (0.05, 20, 52, 0.5),
    (0.10, 1000, 52, 0.5),
]
COVERAGE_SETTINGS = [
    # control rate, variant rate, new leads a week, looks
    (0.10, 0.15, 150, 12),
    (0.03, 0.06, 150, 12),
    (0.20, 0.12, 150, 12),
    (0.02, 0.05, 20, 12),
    (0.10, 0.12, 1000, 52),
]
POWER_SETTINGS = [(0.10, 0.05), (0.08, 0.025), (0.30, -0.06)]


def main(argv: list[str] | None = None) -> None:
    """Print every figure (``--quick``: 20,000 replications instead of 200,000)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 replications")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    reps = 20_000 if args.quick else 200_000
    t0 = time.perf_counter()
    print(f"A/A false-positive rate, alpha 0.05, {reps:,} experiments per row")
    print(f"{'rate':>6} {'leads/wk':>8} {'looks':>5} {'ctrl':>5} {'sequence':>9} {'naive':>7} "
          f"{'last look':>9} {'MC err':>7}")  # fmt: skip
    for i, (rate, per_week, looks, share) in enumerate(AA_SETTINGS):
        r = aa_sim(rate, per_week=per_week, looks=looks, share_c=share, reps=reps,
                   seed=args.seed + i)  # fmt: skip
        print(f"{rate:>6.0%} {per_week:>8} {looks:>5} {share:>5.2f} {r['sequence']:>9.4f} "
              f"{r['naive']:>7.4f} {r['last_look']:>9.4f} {r['mc']:>7.4f}")  # fmt: skip
    print(f"\nCoverage of the true difference at every look at once, {reps:,} experiments")
    print(f"{'control':>7} {'variant':>7} {'leads/wk':>8} {'looks':>5} {'coverage':>9} "
          f"{'MC err':>7}")  # fmt: skip
    for i, (p_c, p_v, per_week, looks) in enumerate(COVERAGE_SETTINGS):
        r = coverage_sim(p_c, p_v, per_week=per_week, looks=looks, reps=reps,
                         seed=args.seed + 100 + i)  # fmt: skip
        print(f"{p_c:>7.0%} {p_v:>7.0%} {per_week:>8} {looks:>5} {r['coverage']:>9.4f} "
              f"{r['mc']:>7.4f}")  # fmt: skip
    print(f"\nPower with the target effect true, 12 equal looks, {reps:,} experiments")
    print(f"{'base':>5} {'effect':>7} {'plan':>10} {'n/arm':>6} {'last look':>9} "
          f"{'any look':>8} {'mean stop n':>11} {'MC err':>7}")  # fmt: skip
    for i, (base, eff) in enumerate(POWER_SETTINGS):
        for plan, r in power_sim(base, eff, reps=reps, seed=args.seed + 200 + i).items():
            print(f"{base:>5.0%} {eff:>+7.1%} {plan:>10} {r['n_per_arm']:>6} "
                  f"{r['last_look']:>9.4f} {r['any_look']:>8.4f} {r['mean_stop_n']:>11.1f} "
                  f"{r['mc']:>7.4f}")  # fmt: skip
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
