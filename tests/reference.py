"""Reference numbers from outside leadnb, each with where it came from and how to recompute it.

The statsmodels way (``statsmodels/stats/tests/results/``): a number that a test compares
leadnb against and that leadnb did not produce lives here, once, with its provenance. Tests
import it (``from tests import reference as ref`` or ``import reference as ref``) and are
named after the oracle (``test_wilson_equals_newcombe_1998_table_1``). ``tests/test_reference.py``
recomputes every number below from its source, so a typo here fails there, not silently in
the test that uses it.

Sources
-------
ARTICLE
    The worked example of the nurture article (seed 001), as restated in the project brief
    ``shared/DOMAIN.md`` section 2, "Worked example (the product must reproduce it exactly)".
    Recompute: plain arithmetic from the inputs (800 new leads, 80 + 40 SQLs, lift 2.5, budget
    90,000, opportunities 200 + 100).
STATSMODELS
    ``shared/DOMAIN.md`` section 3, "Reference numbers (computed with statsmodels 0.15)".
    Recompute: the statsmodels / scipy call named next to each constant (statsmodels 0.15.0 and
    scipy 1.17.1 in this project's venv give the values to the digits stored).
NEWCOMBE_1998
    R. G. Newcombe, "Two-sided confidence intervals for the single proportion: comparison of
    seven methods", Statistics in Medicine 17 (1998) 857-872, Table I, method 3 (the Wilson score
    interval without continuity correction), printed to 4 decimals. Recompute:
    ``statsmodels.stats.proportion.proportion_confint(k, n, method="wilson")`` rounded to 4
    decimals (equal for all four examples).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# ARTICLE: the nurture article's worked example (DOMAIN.md section 2)

ARTICLE_NEW_LEADS_PER_MONTH = 800
ARTICLE_EXISTING_LEADS = 10_000  # leads in the base at the start of the month
ARTICLE_NEW_LEAD_AGE_DAYS = 30  # leads younger than this are "new/fast"; older ones are "old"
ARTICLE_SQL_NEW = 80  # SQLs a month from new leads, before and after nurturing
ARTICLE_SQL_OLD_BEFORE = 40  # SQLs a month from existing leads, before nurturing
ARTICLE_SQL_TOTAL_BEFORE = 120  # 80 + 40
ARTICLE_NURTURE_LIFT = 2.5  # existing leads' SQLs grow 2.5x with nurturing
ARTICLE_SQL_OLD_AFTER = 100  # 40 x 2.5
ARTICLE_SQL_TOTAL_AFTER = 180  # 80 + 100
ARTICLE_SQL_CHANGE = 0.5  # +50% SQLs, no more lead-generation spend
ARTICLE_LEAD_GEN_BUDGET = 90_000  # a month
ARTICLE_COST_PER_SQL_BEFORE = 750  # 90,000 / 120
ARTICLE_COST_PER_SQL_AFTER = 500  # 90,000 / 180
ARTICLE_COST_PER_SQL_CHANGE = -1 / 3  # -33%
ARTICLE_OPPORTUNITIES_NEW = 200  # from leads < 30 days old, before and after
ARTICLE_OPPORTUNITIES_OLD_BEFORE = 100
ARTICLE_OPPORTUNITIES_OLD_AFTER = 200
ARTICLE_OPPORTUNITIES_BEFORE = 300
ARTICLE_OPPORTUNITIES_AFTER = 400
ARTICLE_OPPORTUNITIES_CHANGE = 1 / 3  # +33%
ARTICLE_SHARE_OLD_BEFORE = 1 / 3  # old leads' share of opportunities
ARTICLE_SHARE_OLD_AFTER = 1 / 2
ARTICLE_LEAD_TO_SQL_GOOD = (0.04, 0.05)  # "good nurturers reach about 4-5%" lead -> SQL
ARTICLE_LEAD_TO_SQL_GOOD_TEXT = "about 4-5%"  # as the article (and the cohort notebook) words it

# --------------------------------------------------------------------------------------------
# STATSMODELS: DOMAIN.md section 3

# 10% -> 12% (diff 0.02), alpha 0.05 two-sided, power 0.80, 1:1, pooled variance under H0 and
# unpooled under H1: samplesize_proportions_2indep_onetail(0.02, 0.10, 0.8) = 3840.847...
SAMPLE_SIZE_BASELINE = 0.10
SAMPLE_SIZE_DIFF = 0.02
SAMPLE_SIZE_ALPHA = 0.05  # two-sided
SAMPLE_SIZE_POWER = 0.80
SAMPLE_SIZE_RAW = 3840.85  # DOMAIN.md prints 2 decimals
SAMPLE_SIZE_PER_ARM = 3841  # ceil(SAMPLE_SIZE_RAW)
SAMPLE_SIZE_TOTAL = 7682  # two arms of 3841

# 120/1000 (control) vs 150/1000: pooled two-sided z-test,
# proportions_ztest([150, 120], [1000, 1000])[1]
Z_TEST_COUNTS = ((120, 1000), (150, 1000))  # (conversions, n) of control, variant
Z_TEST_P = 0.049640  # 6 decimals

# Holm at alpha 0.05: multipletests(HOLM_P, method="holm") -> rejects the first and last only
HOLM_P = (0.01, 0.04, 0.03, 0.005)
HOLM_ALPHA = 0.05
HOLM_REJECT = (True, False, False, True)
HOLM_ADJUSTED = (0.03, 0.06, 0.06, 0.02)  # multipletests(...)[1]; by hand: 0.005x4, 0.01x3, ...

# sample ratio mismatch: 5000 vs 5200 planned 50/50, scipy.stats.chisquare([5000, 5200]).pvalue;
# not an SRM at the usual 0.001 threshold (DOMAIN.md section 3, "SRM checks (threshold 0.001)")
SRM_COUNTS = (5000, 5200)
SRM_P = 0.047670  # 6 decimals
SRM_THRESHOLD = 0.001

# the two-sided 95% normal quantile: scipy.stats.norm.ppf(0.975)
Z_975 = 1.959963984540054

# Wilson intervals (statsmodels proportion_confint(k, n, method="wilson")), full precision: the
# cases cover 0 conversions, a small n, an interior rate and every lead converted
WILSON_STATSMODELS = {
    # (k, n): (low, high)
    (0, 10): (0.0, 0.27753279986288926),
    (3, 25): (0.04166817150440355, 0.2995579392092733),
    (17, 60): (0.18506828428432712, 0.40767285164391187),
    (40, 40): (0.9123783988027134, 1.0),
}

# --------------------------------------------------------------------------------------------
# NEWCOMBE_1998: Table I, Wilson score interval (method 3), 4 decimals

WILSON_NEWCOMBE_1998 = {
    # (k, n): (low, high)
    (81, 263): (0.2553, 0.3662),
    (15, 148): (0.0624, 0.1605),
    (0, 20): (0.0000, 0.1611),
    (1, 29): (0.0061, 0.1718),
}
