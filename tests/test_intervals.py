"""leadnb.intervals: the Wilson interval every rate table carries, against its oracles.

Oracles: statsmodels ``proportion_confint(method="wilson")``, the closed formula written out
below, and the published examples of Newcombe (1998); the numbers are in ``tests/reference.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from leadnb.intervals import wilson
from tests import reference as ref


def wilson_by_hand(k: float, n: float, z: float = ref.Z_975) -> tuple[float, float]:
    """The Wilson score interval, written from its formula (centre +- half width)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


CASES = sorted(ref.WILSON_STATSMODELS)


def test_wilson_equals_statsmodels_proportion_confint_stored() -> None:
    k, n = np.array([c[0] for c in CASES]), np.array([c[1] for c in CASES])
    lo, hi = wilson(k, n)
    want = np.array([ref.WILSON_STATSMODELS[c] for c in CASES])
    np.testing.assert_allclose(lo, want[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hi, want[:, 1], rtol=1e-12, atol=1e-15)


def test_wilson_equals_statsmodels_proportion_confint_live() -> None:
    k, n = np.array([0, 3, 17, 40, 999, 1]), np.array([10, 25, 60, 40, 1000, 3])
    for alpha in (0.05, 0.1, 0.01):
        lo, hi = wilson(k, n, alpha=alpha)
        slo, shi = proportion_confint(k, n, alpha=alpha, method="wilson")
        np.testing.assert_allclose(lo, slo, atol=1e-15)
        np.testing.assert_allclose(hi, shi, atol=1e-15)


def test_wilson_equals_formula_by_hand() -> None:
    for k, n in CASES:
        lo, hi = wilson(k, n)
        np.testing.assert_allclose((lo, hi), wilson_by_hand(k, n), atol=1e-12)


@pytest.mark.parametrize(("kn", "interval"), sorted(ref.WILSON_NEWCOMBE_1998.items()))
def test_wilson_equals_newcombe_1998_table_1(kn: tuple[int, int], interval) -> None:
    lo, hi = wilson(*kn)
    assert (round(float(lo), 4), round(float(hi), 4)) == interval


def test_wilson_at_zero_and_all_is_exactly_0_and_1() -> None:
    """statsmodels can leave rounding residue (1.7e-18) at the ends; the tables show exact 0/1."""
    lo, hi = wilson([0, 7], [7, 7])
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert 0 < hi[0] < 1 and 0 < lo[1] < 1


def test_wilson_no_denominator_has_no_interval() -> None:
    lo, hi = wilson([0, 2], [0, 4])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert 0 < lo[1] < 0.5 < hi[1] < 1


def test_wilson_alpha_widens_interval() -> None:
    lo95, hi95 = wilson(30, 100)
    lo99, hi99 = wilson(30, 100, alpha=0.01)
    assert lo99 < lo95 < 0.3 < hi95 < hi99


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_rate_within_unit_interval(kn) -> None:
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= float(lo) <= k / n <= float(hi) <= 1.0
