"""leadnb.intervals: the Wilson interval every rate table carries."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from leadnb.intervals import wilson


def wilson_by_hand(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_wilson_equals_statsmodels_and_formula():
    k, n = np.array([0, 3, 17, 40]), np.array([10, 25, 60, 40])
    lo, hi = wilson(k, n)
    slo, shi = proportion_confint(k, n, method="wilson")
    np.testing.assert_allclose(lo, slo)
    np.testing.assert_allclose(hi, shi)
    for i in range(4):
        np.testing.assert_allclose((lo[i], hi[i]), wilson_by_hand(k[i], n[i]), atol=1e-12)


def test_wilson_no_denominator_has_no_interval():
    lo, hi = wilson([0, 2], [0, 4])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert 0 < lo[1] < 0.5 < hi[1] < 1


def test_wilson_alpha_widens_interval():
    lo95, hi95 = wilson(30, 100)
    lo99, hi99 = wilson(30, 100, alpha=0.01)
    assert lo99 < lo95 < 0.3 < hi95 < hi99


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_rate_within_unit_interval(kn):
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= float(lo) <= k / n <= float(hi) <= 1.0
