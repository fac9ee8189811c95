"""tests/reference.py: every stored reference number recomputed from its source.

A reference number is only as good as its copy: each test here recomputes one group from the
source named in ``tests/reference.py`` (plain arithmetic for the article, statsmodels and scipy
for DOMAIN.md's figures), so a typo in the module fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    proportion_confint,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from tests import reference as ref


def test_article_worked_example_adds_up() -> None:
    before = ref.ARTICLE_SQL_NEW + ref.ARTICLE_SQL_OLD_BEFORE
    old_after = ref.ARTICLE_SQL_OLD_BEFORE * ref.ARTICLE_NURTURE_LIFT
    after = ref.ARTICLE_SQL_NEW + old_after
    assert (before, old_after, after) == (
        ref.ARTICLE_SQL_TOTAL_BEFORE,
        ref.ARTICLE_SQL_OLD_AFTER,
        ref.ARTICLE_SQL_TOTAL_AFTER,
    )
    assert after / before - 1 == ref.ARTICLE_SQL_CHANGE
    cps_before, cps_after = (
        ref.ARTICLE_LEAD_GEN_BUDGET / before,
        ref.ARTICLE_LEAD_GEN_BUDGET / after,
    )
    assert (cps_before, cps_after) == (
        ref.ARTICLE_COST_PER_SQL_BEFORE,
        ref.ARTICLE_COST_PER_SQL_AFTER,
    )
    assert cps_after / cps_before - 1 == pytest.approx(ref.ARTICLE_COST_PER_SQL_CHANGE, abs=1e-15)
    opp_before = ref.ARTICLE_OPPORTUNITIES_NEW + ref.ARTICLE_OPPORTUNITIES_OLD_BEFORE
    opp_after = ref.ARTICLE_OPPORTUNITIES_NEW + ref.ARTICLE_OPPORTUNITIES_OLD_AFTER
    assert (opp_before, opp_after) == (
        ref.ARTICLE_OPPORTUNITIES_BEFORE,
        ref.ARTICLE_OPPORTUNITIES_AFTER,
    )
    assert opp_after / opp_before - 1 == pytest.approx(ref.ARTICLE_OPPORTUNITIES_CHANGE)
    assert ref.ARTICLE_OPPORTUNITIES_OLD_BEFORE / opp_before == ref.ARTICLE_SHARE_OLD_BEFORE
    assert ref.ARTICLE_OPPORTUNITIES_OLD_AFTER / opp_after == ref.ARTICLE_SHARE_OLD_AFTER
    # the new leads' SQL rate (80 / 800 = 10%) is above the 4-5% lead -> SQL benchmark
    assert ref.ARTICLE_SQL_NEW / ref.ARTICLE_NEW_LEADS_PER_MONTH == 0.1
    assert ref.ARTICLE_LEAD_TO_SQL_GOOD == (0.04, 0.05)
    lo, hi = ref.ARTICLE_LEAD_TO_SQL_GOOD
    assert ref.ARTICLE_LEAD_TO_SQL_GOOD_TEXT == f"about {lo * 100:.0f}-{hi:.0%}"


def test_sample_size_equals_statsmodels_samplesize_proportions_2indep_onetail() -> None:
    raw = samplesize_proportions_2indep_onetail(
        ref.SAMPLE_SIZE_DIFF,
        ref.SAMPLE_SIZE_BASELINE,
        ref.SAMPLE_SIZE_POWER,
        alpha=ref.SAMPLE_SIZE_ALPHA,
        alternative="two-sided",
    )
    assert (ref.SAMPLE_SIZE_ALPHA, ref.SAMPLE_SIZE_POWER) == (0.05, 0.8)
    assert round(raw, 2) == ref.SAMPLE_SIZE_RAW
    assert int(np.ceil(raw)) == ref.SAMPLE_SIZE_PER_ARM
    assert 2 * int(np.ceil(raw)) == ref.SAMPLE_SIZE_TOTAL


def test_z_test_p_equals_statsmodels_proportions_ztest() -> None:
    (x0, n0), (x1, n1) = ref.Z_TEST_COUNTS
    assert round(proportions_ztest([x1, x0], [n1, n0])[1], 6) == ref.Z_TEST_P


def test_holm_equals_statsmodels_multipletests() -> None:
    assert ref.HOLM_ALPHA == 0.05
    reject, adjusted, *_ = multipletests(list(ref.HOLM_P), alpha=ref.HOLM_ALPHA, method="holm")
    assert tuple(bool(r) for r in reject) == ref.HOLM_REJECT
    np.testing.assert_allclose(adjusted, ref.HOLM_ADJUSTED, rtol=1e-12)


def test_srm_p_equals_scipy_chisquare() -> None:
    p = stats.chisquare(list(ref.SRM_COUNTS)).pvalue
    assert round(p, 6) == ref.SRM_P and p > ref.SRM_THRESHOLD


def test_z_975_equals_scipy_norm_ppf() -> None:
    assert stats.norm.ppf(0.975) == ref.Z_975


def test_wilson_table_equals_statsmodels_proportion_confint() -> None:
    for (k, n), (lo, hi) in ref.WILSON_STATSMODELS.items():
        slo, shi = proportion_confint(k, n, method="wilson")
        assert (slo, shi) == pytest.approx((lo, hi), rel=1e-12, abs=1e-15)


def test_newcombe_1998_table_1_agrees_with_statsmodels_to_4_decimals() -> None:
    for (k, n), interval in ref.WILSON_NEWCOMBE_1998.items():
        lo, hi = proportion_confint(k, n, method="wilson")
        assert (round(lo, 4), round(hi, 4)) == interval
