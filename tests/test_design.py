"""leadnb.experiments.design: sample size, power, MDE and calendar time, checked against statsmodels.

DOMAIN.md's reference case (10% -> 12%: 3841 per arm) comes from ``tests/reference.py`` with its
provenance; ``tests/test_reference.py`` recomputes it with statsmodels.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    samplesize_proportions_2indep_onetail,
)

from leadnb.errors import ParamsError
from leadnb.experiments import design
from tests import reference as ref

# DOMAIN.md's sample-size case: baseline 10%, +2 points, alpha 0.05 two-sided, power 0.8, 1:1
BASE, DIFF = ref.SAMPLE_SIZE_BASELINE, ref.SAMPLE_SIZE_DIFF
ALPHA, POWER = ref.SAMPLE_SIZE_ALPHA, ref.SAMPLE_SIZE_POWER


def test_sample_size_equals_domain_reference_3841_and_statsmodels() -> None:
    # DOMAIN.md: 10% -> 12%, alpha 0.05 two-sided, power 0.8, 1:1 -> 3840.85 -> 3841 per arm
    raw = design.sample_size_raw(BASE, DIFF, alpha=ALPHA, power=POWER)
    assert raw == pytest.approx(ref.SAMPLE_SIZE_RAW, abs=0.005)
    sm = samplesize_proportions_2indep_onetail(DIFF, BASE, POWER, alpha=ALPHA)
    assert raw == pytest.approx(sm, rel=1e-12)
    # the package's defaults are the reference's alpha and power
    assert design.sample_size(BASE, DIFF) == design.SampleSize(
        n_control=ref.SAMPLE_SIZE_PER_ARM,
        n_variant=ref.SAMPLE_SIZE_PER_ARM,
        n_total=ref.SAMPLE_SIZE_TOTAL,
    )


@settings(max_examples=50, deadline=None)
@given(
    baseline=st.floats(0.02, 0.6),
    effect=st.floats(0.005, 0.2),
    ratio=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
    power=st.sampled_from([0.7, 0.8, 0.9]),
)
def test_sample_size_equals_statsmodels(
    baseline: float, effect: float, ratio: float, alpha: float, power: float
) -> None:
    # statsmodels: nobs1 is the arm with prop2 + diff (our variant), ratio = nobs2 / nobs1
    ours = design.sample_size_raw(baseline, effect, alpha=alpha, power=power, ratio=ratio)
    sm = samplesize_proportions_2indep_onetail(
        effect, baseline, power, ratio=1 / ratio, alpha=alpha
    )
    assert ours == pytest.approx(sm, rel=1e-9)
    # the power at that n is the target, and statsmodels' power (with the far tail) agrees
    assert design.power(baseline, effect, ours, alpha=alpha, ratio=ratio) == pytest.approx(power)
    sm_power = power_proportions_2indep(
        effect, baseline, ours, ratio=1 / ratio, alpha=alpha, return_results=False
    )
    assert sm_power == pytest.approx(power, abs=2e-3)


def test_unequal_allocation_equals_statsmodels_rounded_up() -> None:
    # 2 variant leads for every control lead is ratio 2; statsmodels ratio = n_control / n_variant
    ss = design.sample_size(0.08, 0.04, ratio=2.0)
    sm = samplesize_proportions_2indep_onetail(0.04, 0.08, 0.8, ratio=0.5)
    assert ss.n_variant == math.ceil(sm)
    assert ss.n_control == math.ceil(sm * 0.5)
    assert ss.n_total == ss.n_control + ss.n_variant


def test_k_arms_holm_and_bonferroni_equal_statsmodels_at_alpha_over_comparisons() -> None:
    sm = samplesize_proportions_2indep_onetail(DIFF, BASE, POWER, alpha=ALPHA / 2)
    for corr in ("holm", "bonferroni"):
        ss = design.sample_size(BASE, DIFF, k_arms=3, correction=corr)
        assert ss.n_variant == math.ceil(sm)
        assert ss.n_total == 3 * math.ceil(sm)
    none = design.sample_size(BASE, DIFF, k_arms=3, correction="none")
    assert none.n_variant == ref.SAMPLE_SIZE_PER_ARM
    assert design.adjusted_alpha(0.05, 5, "holm") == pytest.approx(0.0125)
    with pytest.raises(ParamsError):
        design.adjusted_alpha(0.05, 1)


def test_mde_at_the_reference_n_has_statsmodels_power_0_8() -> None:
    # the inverse of the reference case: 3841 per arm at 10% detects +2 points with power 0.8
    m = design.mde(BASE, ref.SAMPLE_SIZE_PER_ARM)
    assert m == pytest.approx(DIFF, abs=1e-4)
    sm_power = power_proportions_2indep(m, BASE, ref.SAMPLE_SIZE_PER_ARM, return_results=False)
    assert sm_power == pytest.approx(POWER, abs=2e-3)
    curve = design.mde_curve(0.08, [500, 1000, 2000, 4000])
    assert np.all(np.diff(curve["mde"]) < 0)  # more leads, smaller detectable effect
    assert curve["mde_relative"].iloc[0] == pytest.approx(curve["mde"].iloc[0] / 0.08)
    # with 3 arms the MDE is larger (stricter alpha)
    assert design.mde(BASE, ref.SAMPLE_SIZE_PER_ARM, k_arms=3) > m
    # too few leads: no effect up to rate 1 is detectable
    assert math.isnan(design.mde(0.5, 2, power_target=0.99))


def test_days_needed_is_enrolment_plus_window() -> None:
    # 6,000 leads at 700 a week = 100 a day -> 60 days of enrolment, + a 30-day window
    assert design.days_needed(6000, 700, 30) == 90
    assert design.days_needed(6000, 700, 30, eligible_share=0.5) == 150
    assert design.days_needed(6001, 700, 0) == 61
    assert math.isnan(design.days_needed(100, 0, 30))


def test_weekly_inflow_counts_the_weeks_before_as_of() -> None:
    as_of = pd.Timestamp("2026-06-30")
    created = pd.Series(
        pd.to_datetime(["2026-06-30", "2026-06-01", "2026-04-07", "2026-04-08", "2026-07-01"])
    )
    # 12 weeks back from 2026-06-30 is 2026-04-07 (excluded); 2026-07-01 is after as_of
    assert design.weekly_inflow(created, as_of, weeks=12) == pytest.approx(3 / 12)


def test_design_row_with_allocation_equals_the_reference_and_statsmodels() -> None:
    row = design.design_row(
        "e",
        BASE,
        DIFF,
        allocation={"c": 0.5, "v": 0.5},
        control="c",
        inflow_per_week=700,
        window_days=30,
    )
    assert row.n_per_arm == ref.SAMPLE_SIZE_PER_ARM
    assert row.n_total == ref.SAMPLE_SIZE_TOTAL
    # 700 a week is 100 a day, then the 30-day window
    assert row.days_needed == math.ceil(ref.SAMPLE_SIZE_TOTAL / 100) + 30
    # 2:1 for the variant: the control is the smaller arm
    row2 = design.design_row("e", BASE, DIFF, allocation={"c": 1 / 3, "v": 2 / 3}, control="c")
    sm = samplesize_proportions_2indep_onetail(DIFF, BASE, POWER, ratio=0.5)
    assert row2.n_variant == math.ceil(sm)
    assert row2.n_by_arm["v"] >= row2.n_variant
    assert row2.n_by_arm["c"] >= row2.n_per_arm


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"baseline": 0.0, "effect": 0.02}, "baseline"),
        ({"baseline": 0.95, "effect": 0.1}, r"baseline \+ effect"),
        ({"baseline": 0.1, "effect": 0.0}, "must not be 0"),
    ],
)
def test_bad_inputs_raise(kw: dict, msg: str) -> None:
    with pytest.raises(ParamsError, match=msg):
        design.sample_size_raw(**kw)
    with pytest.raises(ParamsError, match="power"):
        design.sample_size_raw(0.1, 0.02, power=0.01)


def test_calculator_lines_and_their_degenerate_forms() -> None:
    # the inflow is a count: whole leads from 100 a week, one decimal below
    assert design.inflow_text(294.75, 12) == "New leads a week (last 12 weeks): 295"
    assert design.inflow_text(1234.5, 12) == "New leads a week (last 12 weeks): 1,234"
    assert design.inflow_text(42.25, 8) == "New leads a week (last 8 weeks): 42.2"
    assert "no created_at" in design.inflow_text(float("nan"), 12)
    row = design.design_row("c", 0.08, 0.02, inflow_per_week=294.75, window_days=30)
    n_total = int(row.n_total)
    enrol = math.ceil(n_total / (294.75 / 7) - 1e-9)
    assert design.calendar_text(row) == (
        f"Calendar time: {enrol + 30:,} days ({enrol:,} days to enrol + 30 days for the outcome)"
    )
    # the target line: rates as percents, the lift in points, alpha as a p-value threshold,
    # power as a percent, leads with separators (statsmodels' n, DOMAIN.md's reference case)
    ref_row = design.design_row("c", BASE, DIFF, alpha=ALPHA, power_target=POWER)
    n = ref.SAMPLE_SIZE_PER_ARM
    assert design.target_text(ref_row) == (
        f"To detect a change from {BASE * 100:.1f}% to {(BASE + DIFF) * 100:.1f}% "
        f"(+{DIFF * 100:.1f} pts; significance level {ALPHA:.3f}, power {POWER * 100:.1f}%): "
        f"{n:,} leads per group, {ref.SAMPLE_SIZE_TOTAL:,} in all"
    )
    no_dates = design.design_row("c", 0.08, 0.02, window_days=30)
    assert design.calendar_text(no_dates) == (
        "Calendar time: not computed (no lead creation dates to measure the inflow); it needs "
        "the weekly inflow of new leads"
    )
    none_new = design.design_row("c", 0.08, 0.02, inflow_per_week=0.0, window_days=30)
    assert "no new leads in the weeks before the analysis date" in design.calendar_text(none_new)
