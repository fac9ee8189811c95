"""Tests of leadnb.report.answers: the wording rules at their thresholds, each builder on the
demo run's numbers (typed in from the baseline run's metrics.json, the sentences written out by
hand) and on degenerate runs, hypothesis properties, and escaping in the HTML."""

from __future__ import annotations

import decimal
import inspect
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.report import answers as ans
from leadnb.report.answers import (
    Answer,
    ab_answer,
    ab_verdict,
    auc_strength,
    change_words,
    cohort_answer,
    holdout_agreement,
    roi_answer,
    roi_verdict,
    scoring_answer,
    side,
    srm_broken,
)
from leadnb.results import Kind, Metrics, format_value

# --------------------------------------------------------------------------------------------
# Demo metrics: the baseline run 20261130-213821-demo-2026-06-30, values typed in

SCORING_VALUES = {
    "auc": 0.5805158374462082,
    "auc_ci_high": 0.6015302888775884,
    "auc_ci_low": 0.5595013860148279,
    "brier": 0.03993648522054769,
    "brier_reference": 0.03999306227080716,
    "calibration_conversions": 816,
    "calibration_n": 19552,
    "competitor_conversion_rate": 0.0,
    "competitor_mean_score": 61.361662804886876,
    "conversion_rate": 0.0505,
    "conversions": 1010,
    "decision": "at_created_plus_days",
    "high_intent_conversion_rate": 0.2777777777777778,
    "high_intent_mean_score": 34.783483584882106,
    "high_quality_leads": 1784,
    "n_leads": 20000,
    "outcome_stage": "sql",
    "recommended_precision": 0.06460176991150443,
    "recommended_recall": 0.35784313725490197,
    "recommended_threshold": 17.789512948257233,
    "recommended_weekly_workload": 58.75685891739001,
}
SCORING_KINDS = {
    "auc": Kind.RATIO,
    "auc_ci_high": Kind.RATIO,
    "auc_ci_low": Kind.RATIO,
    "brier": Kind.RATIO,
    "brier_reference": Kind.RATIO,
    "calibration_conversions": Kind.COUNT,
    "calibration_n": Kind.COUNT,
    "competitor_conversion_rate": Kind.RATE,
    "competitor_mean_score": Kind.SCORE,
    "conversion_rate": Kind.RATE,
    "conversions": Kind.COUNT,
    "decision": Kind.TEXT,
    "high_intent_conversion_rate": Kind.RATE,
    "high_intent_mean_score": Kind.SCORE,
    "high_quality_leads": Kind.COUNT,
    "n_leads": Kind.COUNT,
    "outcome_stage": Kind.TEXT,
    "recommended_precision": Kind.RATE,
    "recommended_recall": Kind.RATE,
    "recommended_threshold": Kind.SCORE,
    "recommended_weekly_workload": Kind.COUNT,
}

COHORT_VALUES = {
    "as_of": "2026-06-30",
    "lead_to_mql_ci_high": 0.20812632157954208,
    "lead_to_mql_ci_low": 0.19698793987384017,
    "lead_to_mql_rate": 0.2025,
    "lead_to_sql_cif90": 0.02646280892521558,
    "lead_to_sql_median_days": None,
    "lead_to_sql_p30": 0.016451698436171225,
    "lead_to_sql_p60": 0.02169117409927457,
    "lead_to_sql_p90": 0.026464514122866212,
    "lead_to_sql_rate": 0.0505,
    "lvr_ci_high": 9.103465455900706,
    "lvr_ci_low": -53.6193908687074,
    "lvr_pct": -28.57142857142857,
    "lvr_period": "2026-06",
    "mql_to_customer_ci_high": 0.05097117878141358,
    "mql_to_customer_ci_low": 0.03828772847885152,
    "mql_to_customer_rate": 0.04419753086419753,
    "mql_to_opportunity_ci_high": 0.14542503660640005,
    "mql_to_opportunity_ci_low": 0.12440333974527511,
    "mql_to_opportunity_rate": 0.1345679012345679,
    "mql_to_sql_ci_high": 0.2629408773442081,
    "mql_to_sql_ci_low": 0.23629952941048807,
    "mql_to_sql_rate": 0.24938271604938272,
    "n_leads": 20000,
    "qualified_stage": "sql",
    "share_old_opportunity_after": 0.8159645232815964,
    "share_old_opportunity_before": 0.3404255319148936,
    "share_old_sql_after": 0.7831325301204819,
    "share_old_sql_before": 0.19444444444444445,
    "value_group_A": 3771,
}
COHORT_KINDS = {
    k: (
        Kind.TEXT
        if k in ("qualified_stage", "lvr_period")
        else Kind.DATE
        if k == "as_of"
        else Kind.PERCENT
        if k.startswith("lvr_")
        else Kind.DAYS
        if k.endswith("median_days")
        else Kind.COUNT
        if k in ("n_leads", "value_group_A")
        else Kind.RATE
    )
    for k in COHORT_VALUES
}

ROI_VALUES = {
    "after_cost_per_sql": 1012.8165903614458,
    "after_cost_per_sql_loaded": 1142.9856506024096,
    "after_cpa": 6324.5206,
    "after_share_old": 0.8159645232815964,
    "after_sql_old": 72.22222222222223,
    "after_sql_total": 92.22222222222223,
    "before_cost_per_sql": 4360.931277777778,
    "before_cost_per_sql_loaded": 4360.931277777778,
    "before_cpa": 27067.849310344827,
    "before_share_old": 0.3404255319148936,
    "before_sql_old": 3.888888888888889,
    "before_sql_total": 20.0,
    "cost_basis": "lead_generation",
    "cost_per_incremental_sql_before_after": 1185.4055140487967,
    "holdout_cost_per_incremental_sql": 83.33333333333333,
    "holdout_diff": 0.048,
    "holdout_diff_ci_high": 0.0645354359186733,
    "holdout_diff_ci_low": 0.03155181280114755,
    "holdout_interim": False,
    "incremental_sqls": 91.14207646207436,
    "incremental_sqls_per_month": 10.126897384674928,
    "incremental_value": 445973.10080809146,
    "nurture_cost": 108040.31999999999,
    "nurture_lift": 2.6316767736665327,
    "nurture_lift_ci_high": 3.829937909528105,
    "nurture_lift_ci_low": 1.808311989556307,
    "roi": 3.12783950295678,
    "roi_ci_high": 4.134535840475596,
    "roi_ci_low": 1.8932796194279293,
    "scenario_cost_per_sql_after": 500.0,
    "scenario_cost_per_sql_before": 750.0,
    "scenario_cost_per_sql_change_pct": -33.33333333333333,
    "scenario_sql_total_after": 180.0,
    "scenario_sql_total_before": 120.0,
}
_ROI_KIND_BY_END = {
    "cost_per_sql": Kind.MONEY,
    "cost_per_sql_loaded": Kind.MONEY,
    "cpa": Kind.MONEY,
    "share_old": Kind.RATE,
    "sql_old": Kind.COUNT,
    "sql_total": Kind.COUNT,
}
ROI_KINDS = {
    **{
        k: _ROI_KIND_BY_END[k.split("_", 1)[1]]
        for k in ROI_VALUES
        if k.startswith(("before_", "after_"))
    },
    "cost_basis": Kind.TEXT,
    "cost_per_incremental_sql_before_after": Kind.MONEY,
    "holdout_cost_per_incremental_sql": Kind.MONEY,
    "holdout_diff": Kind.POINTS,
    "holdout_diff_ci_high": Kind.POINTS,
    "holdout_diff_ci_low": Kind.POINTS,
    "holdout_interim": Kind.FLAG,
    "incremental_sqls": Kind.COUNT,
    "incremental_sqls_per_month": Kind.COUNT,
    "incremental_value": Kind.MONEY,
    "nurture_cost": Kind.MONEY,
    "nurture_lift": Kind.MULTIPLIER,
    "nurture_lift_ci_high": Kind.MULTIPLIER,
    "nurture_lift_ci_low": Kind.MULTIPLIER,
    "roi": Kind.RATE,
    "roi_ci_high": Kind.RATE,
    "roi_ci_low": Kind.RATE,
    "scenario_cost_per_sql_after": Kind.MONEY,
    "scenario_cost_per_sql_before": Kind.MONEY,
    "scenario_cost_per_sql_change_pct": Kind.PERCENT,
    "scenario_sql_total_after": Kind.COUNT,
    "scenario_sql_total_before": Kind.COUNT,
}

AB_RECORD = {
    "control": "monthly_newsletter",
    "control_rate": 0.0744,
    "diff": 0.048,
    "diff_ci_high": 0.0645354359186733,
    "diff_ci_low": 0.03155181280114755,
    "experiment_id": "nurture-cadence-2026q1",
    "interim": False,
    "metric": "sql_30d",
    "n_control": 2500,
    "n_immature": 0,
    "n_variant": 2500,
    "p_adjusted": 1.215077073023317e-08,
    "p_value": 1.215077073023317e-08,
    "prob_beat_control": 0.9999999945934019,
    "rel_lift": 0.6451612903225807,
    "srm_p_value": 1.0,
    "variant": "weekly_digest",
    "variant_rate": 0.1224,
    "verdict": "weekly_digest beat monthly_newsletter on reached sql within 30 days: 12.2% vs "
    "7.4% (+4.8 pts, 95% CI +3.2 pts to +6.5 pts, p < 0.001; registered target +2.5 pts reached).",
}
AB_KINDS = {
    "n_experiments": Kind.COUNT,
    "n_interim": Kind.COUNT,
    "n_significant": Kind.COUNT,
    "experiment_id": Kind.TEXT,
    "metric": Kind.TEXT,
    "control": Kind.TEXT,
    "variant": Kind.TEXT,
    "n_control": Kind.COUNT,
    "n_variant": Kind.COUNT,
    "control_rate": Kind.RATE,
    "variant_rate": Kind.RATE,
    "diff": Kind.POINTS,
    "diff_ci_low": Kind.POINTS,
    "diff_ci_high": Kind.POINTS,
    "rel_lift": Kind.RATE,
    "p_value": Kind.P_VALUE,
    "p_adjusted": Kind.P_VALUE,
    "prob_beat_control": Kind.RATE,
    "srm_p_value": Kind.P_VALUE,
    "n_immature": Kind.COUNT,
    "interim": Kind.FLAG,
    "verdict": Kind.TEXT,
    "weekly_inflow": Kind.COUNT,
}


def scoring_metrics(**changes: object) -> Metrics:
    values = {**SCORING_VALUES, **changes}
    return Metrics(values, {k: v for k, v in SCORING_KINDS.items() if k in values})


def cohort_metrics(**changes: object) -> Metrics:
    values = {**COHORT_VALUES, **changes}
    return Metrics(values, {k: v for k, v in COHORT_KINDS.items() if k in values})


def roi_metrics(drop: tuple[str, ...] = (), **changes: object) -> Metrics:
    values = {k: v for k, v in {**ROI_VALUES, **changes}.items() if k not in drop}
    return Metrics(values, {k: v for k, v in ROI_KINDS.items() if k in values})


def ab_metrics(*records: dict, **flat: object) -> Metrics:
    recs = records or (AB_RECORD,)
    head = recs[-1]
    n_sig = sum(
        ab_verdict(r["diff_ci_low"], r["diff_ci_high"], p_adjusted=r["p_adjusted"]) == "beat"
        for r in recs
    )
    values = {
        "n_experiments": len(recs),
        "n_interim": sum(bool(r["interim"]) for r in recs),
        "n_significant": n_sig,
        **head,
        "experiments": {r["experiment_id"]: dict(r) for r in recs},
        "weekly_inflow": 290.8333333333333,
        **flat,
    }
    return Metrics(values, {k: v for k, v in AB_KINDS.items() if k in values})


# --------------------------------------------------------------------------------------------
# Wording rules at and around their thresholds


@pytest.mark.parametrize(
    ("low", "high", "null", "expected"),
    [
        (0.001, 0.1, 0.0, "above"),
        (0.0, 0.1, 0.0, "contains"),  # touching the no-effect value is not an effect
        (-0.1, 0.0, 0.0, "contains"),
        (-0.1, -1e-9, 0.0, "below"),
        (1.0001, 2.0, 1.0, "above"),
        (0.5, 0.9, 0.5, "contains"),
        (float("nan"), 0.1, 0.0, "unknown"),
        (None, None, 0.0, "unknown"),
    ],
)
def test_side_at_the_no_effect_value(low, high, null, expected):
    assert side(low, high, null=null) == expected


@pytest.mark.parametrize(
    ("auc", "low", "high", "expected"),
    [
        (0.5805, 0.5595, 0.6015, "barely"),  # the demo: the "barely predicts"
        (0.55, 0.50, 0.60, "none"),  # interval touches the coin toss
        (0.55, 0.5001, 0.60, "barely"),
        (0.6999, 0.65, 0.75, "barely"),  # just below Hosmer & Lemeshow's 0.7
        (0.70, 0.65, 0.75, "acceptably"),  # at 0.7
        (0.7999, 0.75, 0.85, "acceptably"),
        (0.80, 0.75, 0.85, "well"),  # at 0.8
        (0.8999, 0.85, 0.95, "well"),
        (0.90, 0.85, 0.95, "very well"),  # at 0.9
        (0.75, 0.45, 0.99, "none"),  # a high estimate with a wide interval: not detectable
        (0.40, 0.30, 0.49, "reversed"),
        (None, None, None, "unknown"),
        (0.72, None, None, "acceptably"),  # no interval: the band of the estimate
    ],
)
def test_auc_strength_at_hosmer_lemeshow_bands(auc, low, high, expected):
    assert auc_strength(auc, low, high) == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (-53.6, 9.1, "no detectable change"),  # the demo's LVR
        (-53.6, 0.0, "no detectable change"),
        (-53.6, -0.01, "clearly fell"),
        (0.01, 9.1, "clearly rose"),
        (None, 9.1, "no interval was computed, so no conclusion"),
    ],
)
def test_change_words_around_zero(low, high, expected):
    assert change_words(low, high) == expected


@pytest.mark.parametrize(
    ("p", "broken"),
    [
        (0.0009999, True),
        (0.001, False),
        (0.0011, False),
        (1.0, False),
        (None, False),
        (float("nan"), False),
    ],
)
def test_srm_broken_below_kohavi_threshold(p, broken):
    assert srm_broken(p) is broken


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"diff_low": 0.0316, "diff_high": 0.0645, "p_adjusted": 1.2e-8}, "beat"),
        ({"diff_low": 0.0, "diff_high": 0.0645, "p_adjusted": 0.05}, "none"),
        ({"diff_low": 0.001, "diff_high": 0.0645, "p_adjusted": 0.0499}, "beat"),
        ({"diff_low": 0.001, "diff_high": 0.0645, "p_adjusted": 0.05}, "unconfirmed"),
        ({"diff_low": -0.06, "diff_high": -0.01, "p_adjusted": 0.001}, "worse"),
        ({"diff_low": 0.03, "diff_high": 0.06, "p_adjusted": 1e-8, "interim": True}, "interim"),
        ({"diff_low": 0.03, "diff_high": 0.06, "srm_p_value": 0.0009, "interim": True}, "broken"),
        ({"diff_low": 0.03, "diff_high": 0.06, "srm_p_value": 0.001}, "beat"),
        ({"diff_low": None, "diff_high": None}, "unknown"),
    ],
)
def test_ab_verdict_order_and_thresholds(kwargs, expected):
    low, high = kwargs.pop("diff_low"), kwargs.pop("diff_high")
    assert ab_verdict(low, high, **kwargs) == expected


def test_ab_verdict_uses_the_registered_alpha():
    assert ab_verdict(0.01, 0.05, p_adjusted=0.03, alpha=0.01) == "unconfirmed"
    assert ab_verdict(0.01, 0.05, p_adjusted=0.009, alpha=0.01) == "beat"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (1.89, 4.13, "pays"),
        (0.0, 4.13, "uncertain"),
        (-0.4, 1.2, "uncertain"),
        (-0.9, -0.01, "loses"),
    ],
)
def test_roi_verdict_around_break_even(low, high, expected):
    assert roi_verdict(low, high) == expected


@pytest.mark.parametrize(
    ("lift", "diff", "expected"),
    [
        ((1.81, 3.83), (0.032, 0.065), "confirms"),  # the demo
        ((1.81, 3.83), (0.0, 0.065), "not_confirmed"),
        ((1.81, 3.83), (-0.05, -0.01), "contradicts"),
        ((1.0, 3.83), (0.032, 0.065), "holdout_only"),
        ((0.5, 0.9), (-0.05, -0.01), "confirms"),
        ((0.9, 1.2), (-0.01, 0.02), "neither"),
        ((None, None), (0.01, 0.02), "unknown"),
    ],
)
def test_holdout_agreement(lift, diff, expected):
    assert holdout_agreement(*lift, *diff) == expected


# --------------------------------------------------------------------------------------------
# Builders on the demo's numbers: the sentences written out by hand


def test_scoring_answer_on_the_demo():
    a = scoring_answer(scoring_metrics())
    assert a.findings == (
        "The score barely predicts who reaches SQL: a lead that converted outscored one that did "
        "not 58.1% of the time (likely between 56.0% and 60.2%; 50.0% would be a coin toss), "
        "judged on 19,552 leads of which 816 converted.",
        "1,010 of 20,000 leads (5.1%) have reached SQL by the analysis date.",
        "Sending leads that score 17.8 or more to sales means about 59 leads a week; 6.5% of "
        "them convert and they hold 35.8% of all conversions.",
        "Competitors score 61.4 on average, above the threshold, yet none of them convert.",
    )
    assert a.actions == (
        "Take competitors off the sales list: they score high but do not buy.",
        "Do not rank leads by this score alone: revise the rules with the lowest lift (rule "
        "table below) and check the score again in the next run.",
        "Work the 1,784 high-quality leads in score order, as many a week as the team can call.",
    )


def test_scoring_answer_names_capacity_when_the_metrics_have_it():
    m = scoring_metrics() | Metrics({"capacity_per_week": 60}, {"capacity_per_week": Kind.COUNT})
    assert (
        "Call the top 60 of the 1,784 high-quality leads this week (the team's capacity); queue "
        "the rest by follow-up date."
    ) in scoring_answer(m).actions


def test_scoring_answer_workload_against_capacity():
    cap = Metrics({"capacity_per_week": 50}, {"capacity_per_week": Kind.COUNT})
    a = scoring_answer(scoring_metrics() | cap)
    assert "about 59 leads a week (more than the team's 50 a week); 6.5% of" in a.findings[2]
    a = scoring_answer(scoring_metrics(recommended_weekly_workload=50.0) | cap)
    assert "about 50 leads a week (within the team's 50 a week); 6.5% of" in a.findings[2]


def test_scoring_answer_coin_toss_interval_says_not_detectable():
    a = scoring_answer(scoring_metrics(auc=0.52, auc_ci_low=0.49, auc_ci_high=0.55))
    assert a.first_sentence.startswith("The score does not detectably predict who reaches SQL:")
    assert "(likely between 49.0% and 55.0%; 50.0% would be a coin toss)" in a.first_sentence
    assert "barely" not in a.first_sentence and "clearly" not in " ".join(a.findings)


def test_scoring_answer_without_conversions():
    a = scoring_answer(
        scoring_metrics(
            conversions=0, conversion_rate=0.0, auc=None, auc_ci_low=None, auc_ci_high=None
        )
    )
    assert a.findings == (
        "No lead has reached SQL yet (20,000 leads), so the score cannot be checked against "
        "outcomes.",
    )
    assert a.actions == (
        "Wait for leads to reach SQL before trusting the score; the next runs will test it.",
    )


def test_scoring_answer_with_too_few_conversions_does_not_judge_the_score():
    # the run of 2025-02-15: AUC 0.94 on 4 conversions is no evidence of a good score
    m = scoring_metrics(
        auc=0.941, auc_ci_low=0.879, auc_ci_high=1.0, calibration_conversions=4, calibration_n=1286
    )
    a = scoring_answer(m)
    assert a.first_sentence == (
        "Too few leads have reached SQL yet to judge the score: a lead that converted outscored "
        "one that did not 94.1% of the time (likely between 87.9% and 100.0%; 50.0% would be a "
        "coin toss), judged on 1,286 leads of which 4 converted."
    )
    assert "Do not rely on the score yet: wait until more leads have reached SQL." in a.actions
    assert auc_strength(0.941, 0.879, 1.0, conversions=ans.MIN_CONVERSIONS) == "very well"


def test_scoring_answer_competitors_only_when_they_convert_below_average():
    a = scoring_answer(scoring_metrics(competitor_conversion_rate=0.09))
    assert not any("Competitors" in s for s in a.findings)
    assert not any("competitors" in s for s in a.actions)


def test_scoring_answer_says_the_threshold_was_not_computed():
    a = scoring_answer(
        scoring_metrics(recommended_threshold=None, recommended_weekly_workload=None)
    )
    assert a.findings[2] == (
        "The recommended threshold for sending leads to sales was not computed in this run; the "
        "notes at the end of the report ('How this was computed') say why."
    )


def test_scoring_answer_when_auc_was_not_computed():
    m = Metrics(
        {
            "n_leads": 300,
            "conversions": 12,
            "conversion_rate": 0.04,
            "outcome_stage": "opportunity",
        },
        {"n_leads": Kind.COUNT, "conversions": Kind.COUNT, "conversion_rate": Kind.RATE},
    )
    a = scoring_answer(m)
    assert a.findings == (
        "How well the score predicts who reaches Opportunity was not computed in this run (too "
        "few leads with a known outcome); the notes at the end of the report ('How this was "
        "computed') say why.",
        "12 of 300 leads (4.0%) have reached Opportunity by the analysis date.",
    )


def test_scoring_answer_strong_score():
    a = scoring_answer(
        scoring_metrics(auc=0.83, auc_ci_low=0.80, auc_ci_high=0.86, competitor_mean_score=5.0)
    )
    assert a.first_sentence.startswith("The score predicts who reaches SQL well: ")
    assert a.actions[0] == "Use the score to order follow-ups: the highest-scoring leads first."
    assert not any("Competitors" in s for s in a.findings)


def test_cohort_answer_on_the_demo():
    a = cohort_answer(cohort_metrics())
    assert a.findings == (
        "Of 20,000 leads, 20.2% became MQL (likely between 19.7% and 20.8%); of MQLs, 24.9% "
        "reached SQL (likely between 23.6% and 26.3%), 13.5% reached Opportunity (likely "
        "between 12.4% and 14.5%) and 4.4% became customers (likely between 3.8% and 5.1%).",
        "Within 90 days of creation 2.6% of leads reach SQL (30 days: 1.6%); fewer than half of "
        "leads ever reach SQL, so there is no median time.",
        "New SQLs in 2026-06 changed by -28.6% on the period before (likely between -53.6% and "
        "9.1%): no detectable change.",
        "Since the nurture start 78.3% of SQLs came from old leads, against 19.4% before.",
    )
    assert a.actions == (
        "No action on pipeline growth yet: the change in new SQLs is within noise; look again "
        "in the next run.",
        "Keep nurturing old leads: they now bring 78.3% of SQLs.",
    )


def test_cohort_answer_says_the_n_when_the_metrics_have_it():
    extra = Metrics(
        {"mql_to_sql_n_from": 4050, "lvr_qualified": 60},
        {"mql_to_sql_n_from": Kind.COUNT, "lvr_qualified": Kind.COUNT},
    )
    a = cohort_answer(cohort_metrics() | extra)
    assert "(likely between 19.7% and 20.8%); of 4,050 MQLs, 24.9% reached SQL" in a.findings[0]
    assert a.findings[2].endswith("9.1%): no detectable change, 60 this period.")


def test_cohort_answer_lvr_clear_fall_and_median():
    a = cohort_answer(
        cohort_metrics(
            lvr_pct=-40.0,
            lvr_ci_low=-60.0,
            lvr_ci_high=-10.0,
            lead_to_sql_median_days=45.0,
            share_old_sql_after=0.2,
        )
    )
    assert (
        "New SQLs in 2026-06 changed by -40.0% on the period before (likely between -60.0% and "
        "-10.0%): clearly fell." in a.findings
    )
    assert "half of all leads get there within 45 days" in a.findings[1]
    assert a.actions[0].startswith("The SQL pipeline is shrinking")
    assert a.actions[1] == (
        "Nurture old leads more: they bring 20.0% of SQLs, where companies good at nurturing get "
        "about half."
    )


def test_cohort_answer_early_run_says_what_was_not_computed():
    keep = (
        "n_leads",
        "qualified_stage",
        "as_of",
        "lead_to_mql_rate",
        "lead_to_mql_ci_low",
        "lead_to_mql_ci_high",
    )
    values = {k: COHORT_VALUES[k] for k in keep}
    a = cohort_answer(Metrics(values, {k: COHORT_KINDS[k] for k in keep}))
    assert a.findings == (
        "Of 20,000 leads, 20.2% became MQL (likely between 19.7% and 20.8%).",
        "Not computed in this run: how soon leads reach SQL, the change in new SQLs from one "
        "period to the next and the share of SQLs from old leads (too little history by the "
        "analysis date; the notes at the end of the report ('How this was computed') say why).",
    )


def test_cohort_answer_with_nothing_computed():
    m = Metrics(
        {"n_leads": 0, "as_of": "2025-01-31", "qualified_stage": "sql"},
        {"n_leads": Kind.COUNT, "as_of": Kind.DATE, "qualified_stage": Kind.TEXT},
    )
    a = cohort_answer(m)
    assert a.findings == (
        "No funnel conversion was computed in this run (0 leads, or no stage history); the notes "
        "at the end of the report ('How this was computed') say why.",
    )
    assert a.actions == ("Nothing to decide from this run; the sections below show what is known.",)


def test_roi_answer_on_the_demo():
    a = roi_answer(roi_metrics())
    assert a.findings == (
        "Since nurturing started, old leads reached SQL 2.63× as often as before at the same lead "
        "age (likely between 1.81× and 3.83×): clearly more often, about 91 extra SQLs (10 a "
        "month).",
        "Nurture pays for itself: counting each extra SQL at its expected won value, the return "
        "on its cost of 108,040 was 312.8% (likely between 189.3% and 413.5%); this is a "
        "before/after estimate that season and lead mix can bias.",
        "A randomised holdout confirms it: nurtured leads differ by +4.8 pts on the SQL rate "
        "(likely between +3.2 pts and +6.5 pts), at 83.33 per extra SQL.",
        "Lead-generation cost per SQL went from 4,361 before nurturing to 1,013 after.",
    )
    assert a.actions == ("Keep the nurture programme: it returns more than it costs.",)


def test_roi_answer_interval_crossing_zero_and_no_holdout():
    a = roi_answer(
        roi_metrics(
            drop=(
                "holdout_diff",
                "holdout_diff_ci_low",
                "holdout_diff_ci_high",
                "holdout_cost_per_incremental_sql",
                "holdout_interim",
            ),
            roi=0.4,
            roi_ci_low=-0.2,
            roi_ci_high=1.1,
        )
    )
    assert a.findings[1].startswith("Nurture may not pay for itself:")
    assert "(likely between -20.0% and 110.0%, so possibly a loss)" in a.findings[1]
    assert not any("holdout" in s for s in a.findings)
    assert a.actions == (
        "Run a randomised holdout (leads kept out of nurture) to check the before/after estimate, "
        "which season and lead mix can bias.",
        "Do not expand nurture spend yet: the return could still be a loss; look again when more "
        "months are in.",
    )


def test_roi_answer_holdout_disagrees():
    a = roi_answer(
        roi_metrics(holdout_diff=0.005, holdout_diff_ci_low=-0.01, holdout_diff_ci_high=0.02)
    )
    assert a.findings[2] == (
        "A randomised holdout does not confirm the before/after estimate: nurtured leads differ by "
        "+0.5 pts on the SQL rate (likely between -1.0 pts and +2.0 pts), no detectable change."
    )
    assert a.actions[0].startswith("Trust the randomised holdout over the before/after estimate")
    assert "Keep the nurture programme" not in " ".join(a.actions)


def test_roi_answer_holdout_n_when_the_metrics_have_it():
    n = Metrics(
        {"holdout_n_treatment": 2500, "holdout_n_control": 2480},
        {"holdout_n_treatment": Kind.COUNT, "holdout_n_control": Kind.COUNT},
    )
    a = roi_answer(roi_metrics() | n)
    assert a.findings[2] == (
        "A randomised holdout confirms it: nurtured leads differ by +4.8 pts on the SQL rate "
        "(likely between +3.2 pts and +6.5 pts), over 2,500 nurtured and 2,480 held-out leads, "
        "at 83.33 per extra SQL."
    )


def test_roi_answer_holdout_contradicts():
    a = roi_answer(
        roi_metrics(holdout_diff=-0.02, holdout_diff_ci_low=-0.035, holdout_diff_ci_high=-0.005)
    )
    assert a.findings[2] == (
        "A randomised holdout contradicts the before/after estimate: nurtured leads differ by "
        "-2.0 pts on the SQL rate (likely between -3.5 pts and -0.5 pts), clearly less."
    )
    assert "Keep the nurture programme: it returns more than it costs." not in a.actions


def test_roi_answer_holdout_interim():
    a = roi_answer(roi_metrics(holdout_interim=True))
    assert a.findings[2] == (
        "The randomised holdout is interim (do not decide yet): so far +4.8 pts on the SQL rate "
        "(likely between +3.2 pts and +6.5 pts)."
    )
    assert a.actions[0] == "Wait for the holdout to finish before changing nurture spend."


def test_roi_answer_lift_interval_crossing_one_never_says_more_often():
    a = roi_answer(roi_metrics(nurture_lift=1.1, nurture_lift_ci_low=0.8, nurture_lift_ci_high=1.5))
    assert a.first_sentence == (
        "Since nurturing started, old leads reached SQL 1.10× as often as before at the same lead "
        "age (likely between 0.80× and 1.50×): no detectable change."
    )


def test_roi_answer_without_data_says_the_scenario_is_not_measured():
    keep = {k for k in ROI_VALUES if k.startswith("scenario_")}
    a = roi_answer(roi_metrics(drop=tuple(k for k in ROI_VALUES if k not in keep)))
    assert a.findings == (
        "Nurtured leads were not compared before and after the nurture start in this run (it "
        "needs complete months on both sides); the notes at the end of the report ('How this "
        "was computed') say why.",
        "Only the what-if scenario from the params (not measured) is shown: cost per SQL 750 "
        "without nurturing, 500 with it (-33.3%).",
    )


def test_roi_answer_money_carries_the_run_currency():
    from leadnb.results import display_currency

    with display_currency("EUR"):
        text = roi_answer(roi_metrics()).findings[3]
    assert "went from €4,361 before nurturing to €1,013 after." in text


SPLIT_FAIR = (
    "Leads were split between the arms as planned (sample-ratio check p = 1.000), so the "
    "comparison is fair."
)


def test_ab_answer_on_the_demo():
    a = ab_answer(ab_metrics())
    assert a.findings == (
        "In nurture-cadence-2026q1, weekly_digest clearly beat monthly_newsletter on sql_30d: "
        "12.2% vs 7.4% (+4.8 pts, likely between +3.2 pts and +6.5 pts), with 2,500 leads on "
        "weekly_digest and 2,500 on monthly_newsletter.",
        # rel_lift 0.6452 (12.24% / 7.44% - 1), declared as a rate in this fixture
        "Relative to monthly_newsletter's rate, that is 64.5%.",
        "Leads were split between the arms as planned (sample-ratio check p = 1.000), so the "
        "comparison is fair.",
    )
    assert a.actions == ("Roll out weekly_digest in place of monthly_newsletter.",)


def test_ab_answer_uses_the_metric_label_when_given():
    a = ab_answer(ab_metrics({**AB_RECORD, "metric_label": "reaching SQL within 30 days"}))
    assert " on reaching SQL within 30 days: " in a.first_sentence


def test_ab_answer_interim():
    a = ab_answer(ab_metrics({**AB_RECORD, "interim": True}))
    assert a.first_sentence == (
        "In nurture-cadence-2026q1, which is still running, weekly_digest is ahead of "
        "monthly_newsletter so far on sql_30d: 12.2% vs 7.4% (+4.8 pts, likely between +3.2 pts "
        "and +6.5 pts), with 2,500 leads on weekly_digest and 2,500 on monthly_newsletter; do not "
        "decide yet: it is an interim look, before its registered end or planned number of leads."
    )
    assert "beat" not in a.first_sentence
    assert a.actions == (
        "Do not decide on nurture-cadence-2026q1 yet: wait for its registered end.",
    )


def test_ab_answer_broken_split():
    a = ab_answer(ab_metrics({**AB_RECORD, "srm_p_value": 2e-6, "n_variant": 2300}))
    assert a.first_sentence.startswith(
        "In nurture-cadence-2026q1 the split between weekly_digest and monthly_newsletter is "
        "broken (sample-ratio check p < 0.001): do not trust this result on sql_30d:"
    )
    assert "beat" not in a.first_sentence
    assert a.actions[0].startswith("Fix how leads are assigned in nurture-cadence-2026q1")


def test_ab_answer_no_difference():
    rec = {
        **AB_RECORD,
        "variant_rate": 0.08,
        "diff": 0.0056,
        "diff_ci_low": -0.009,
        "diff_ci_high": 0.02,
        "p_adjusted": 0.45,
        "p_value": 0.45,
    }
    a = ab_answer(ab_metrics(rec))
    assert a.first_sentence.startswith(
        "No detectable difference between weekly_digest and monthly_newsletter in "
        "nurture-cadence-2026q1 on sql_30d: 8.0% vs 7.4% (+0.6 pts, likely between -0.9 pts and "
        "+2.0 pts)"
    )
    assert a.actions == (
        "Keep monthly_newsletter: weekly_digest made no detectable difference at this sample size.",
    )


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (
            0.001,
            0.02,
            "In nurture-cadence-2026q1, weekly_digest looked better than monthly_newsletter, "
            "but not beyond chance once the other variants are counted (no detectable difference) on",
        ),
        (
            -0.02,
            -0.001,
            "In nurture-cadence-2026q1, weekly_digest looked worse than monthly_newsletter, "
            "but not beyond chance once the other variants are counted (no detectable difference) on",
        ),
    ],
)
def test_ab_answer_win_that_does_not_survive_multiplicity(low, high, expected):
    rec = {**AB_RECORD, "diff_ci_low": low, "diff_ci_high": high, "p_adjusted": 0.12}
    a = ab_answer(ab_metrics(rec))
    assert a.first_sentence.startswith(expected)
    assert "beat" not in a.first_sentence and "clearly" not in a.first_sentence
    assert a.actions == ("Keep monthly_newsletter; test weekly_digest again before acting on it.",)


def test_ab_answer_clearly_worse():
    rec = {
        **AB_RECORD,
        "variant_rate": 0.05,
        "diff": -0.0244,
        "diff_ci_low": -0.038,
        "diff_ci_high": -0.011,
        "p_adjusted": 0.0004,
    }
    a = ab_answer(ab_metrics(rec))
    assert a.first_sentence.startswith(
        "In nurture-cadence-2026q1, weekly_digest did clearly worse than monthly_newsletter on "
        "sql_30d: 5.0% vs 7.4% (-2.4 pts, likely between -3.8 pts and -1.1 pts)"
    )
    assert a.actions == ("Stop weekly_digest; keep monthly_newsletter.",)


def test_ab_answer_several_experiments():
    other = {
        **AB_RECORD,
        "experiment_id": "subject-lines",
        "control": "plain",
        "variant": "emoji",
        "interim": True,
    }
    broken = {
        **AB_RECORD,
        "experiment_id": "cta",
        "control": "demo",
        "variant": "trial",
        "srm_p_value": 1e-9,
    }
    a = ab_answer(ab_metrics(other, broken, AB_RECORD))
    assert a.first_sentence == (
        "3 experiments were read (1 still interim); each is below, the headline experiment first."
    )
    assert a.findings[1].startswith(  # the headline
        "In nurture-cadence-2026q1, weekly_digest clearly beat monthly_newsletter"
    )
    assert a.findings[2].startswith("In subject-lines, which is still running, emoji is ahead")
    assert a.findings[3].startswith("In cta the split between trial and demo is broken")
    assert a.actions[0].startswith("Fix how leads are assigned in cta")
    assert len(a.actions) == ans.MAX_ACTIONS


def test_ab_answer_many_experiments_stay_within_five_sentences():
    recs = [{**AB_RECORD, "experiment_id": f"exp-{i}"} for i in range(7)]
    a = ab_answer(ab_metrics(*recs))
    assert len(a.findings) == ans.MAX_FINDINGS
    assert a.findings[-1] == "The other experiments are in the table below."


def test_ab_answer_without_experiments():
    m = Metrics(
        {"n_experiments": 0, "n_interim": 0, "n_significant": 0, "experiments": {}},
        {"n_experiments": Kind.COUNT, "n_interim": Kind.COUNT, "n_significant": Kind.COUNT},
    )
    a = ab_answer(m)
    assert a.findings == ("No experiment has a readout in this run.",)


def test_ab_answer_arm_without_outcomes():
    rec = {
        **AB_RECORD,
        "n_variant": 0,
        "variant_rate": float("nan"),
        "diff": float("nan"),
        "diff_ci_low": float("nan"),
        "diff_ci_high": float("nan"),
        "verdict": "No readout yet for weekly_digest vs monthly_newsletter: no lead's 30-day "
        "window has closed yet.",
    }
    a = ab_answer(ab_metrics(rec))
    assert a.first_sentence == (
        "In nurture-cadence-2026q1 there is no comparison of weekly_digest with "
        "monthly_newsletter yet (an arm has no lead with a known outcome; the readout below says "
        "why)."
    )


# --------------------------------------------------------------------------------------------
# Edge cases a head of sales must not be misled by (issue 16, honest answers)

# The run of 2026-03-31: enrolment has ended, but 1,819 leads' 30-day windows are still open
# (typed in from that run's metrics.json "experiments" record)
AB_RECORD_MARCH = {
    "alpha": 0.05,
    "power": 0.8,
    "power_at_n": 0.72,
    "control": "monthly_newsletter",
    "control_rate": 0.0717005076142132,
    "diff": 0.04854871356958741,
    "diff_ci_high": 0.06905563544390672,
    "diff_ci_low": 0.028153404831845454,
    "experiment_id": "nurture-cadence-2026q1",
    "interim": False,
    "metric": "sql_30d",
    "metric_label": "reaching SQL within 30 days",
    "n_control": 1576,
    "n_immature": 1819,
    "n_variant": 1605,
    "p_adjusted": 3.4344208609109797e-06,
    "p_value": 3.4344208609109797e-06,
    "prob_beat_control": 0.9999984213412181,
    "rel_lift": 0.6771041821740686,
    "srm_p_value": 1.0,
    "variant": "weekly_digest",
    "variant_rate": 0.12024922118380062,
    "verdict": "weekly_digest beat monthly_newsletter on reached sql within 30 days: 12.0% vs "
    "7.2% (+4.9 pts, 95% CI +2.8 pts to +6.9 pts, p < 0.001; registered target +2.5 pts "
    "reached); caveats: underpowered (72% power for the +2.5 pts target at this n, 80% "
    "planned); 1,819 leads whose 30-day window is still open are not counted.",
}


def test_ab_answer_with_open_windows_does_not_decide():
    a = ab_answer(ab_metrics(AB_RECORD_MARCH, alpha=0.05))
    assert a.findings == (
        "In nurture-cadence-2026q1, weekly_digest is ahead of monthly_newsletter so far on "
        "reaching SQL within 30 days: 12.0% vs 7.2% (+4.9 pts, likely between +2.8 pts and "
        "+6.9 pts), with 1,605 leads on weekly_digest and 1,576 on monthly_newsletter; do not "
        "decide yet: 1,819 leads' windows are still open.",
        SPLIT_FAIR,
    )
    assert a.actions == (
        "Do not decide on nurture-cadence-2026q1 yet: wait until its leads' outcome windows "
        "have closed (the registered decision date).",
    )
    text = " ".join(a.findings + a.actions)
    assert "clearly" not in text and "beat" not in text and "Roll out" not in text


def test_ab_answer_open_windows_with_no_difference_so_far():
    rec = {**AB_RECORD_MARCH, "diff_ci_low": -0.01, "diff_ci_high": 0.03, "diff": 0.01}
    a = ab_answer(ab_metrics(rec))
    assert a.first_sentence.startswith(
        "In nurture-cadence-2026q1, weekly_digest and monthly_newsletter are not detectably "
        "different so far on reaching SQL within 30 days: "
    )
    assert a.first_sentence.endswith("do not decide yet: 1,819 leads' windows are still open.")
    assert ab_verdict(-0.01, 0.03, n_immature=1819) == "immature"
    assert ab_verdict(-0.01, 0.03, n_immature=0) == "none"


def test_ab_answer_interim_says_open_windows_too():
    a = ab_answer(ab_metrics({**AB_RECORD_MARCH, "interim": True}))
    assert a.first_sentence.endswith(
        "do not decide yet: it is an interim look, before its registered end or planned number "
        "of leads, and 1,819 leads' windows are still open."
    )
    rec = {**AB_RECORD, "interim": True}
    assert ab_answer(ab_metrics(rec)).actions == (
        "Do not decide on nurture-cadence-2026q1 yet: wait for its registered end.",
    )


def test_ab_answer_underpowered_win_is_not_rolled_out():
    rec = {**AB_RECORD_MARCH, "n_immature": 0}
    a = ab_answer(ab_metrics(rec))
    assert a.findings == (
        "In nurture-cadence-2026q1, weekly_digest is ahead of monthly_newsletter on reaching SQL "
        "within 30 days: 12.0% vs 7.2% (+4.9 pts, likely between +2.8 pts and +6.9 pts), with "
        "1,605 leads on weekly_digest and 1,576 on monthly_newsletter; do not decide yet: the "
        "test has less power than registered at this number of leads, so the difference may be "
        "overstated.",
        SPLIT_FAIR,
    )
    assert a.actions == (
        "Do not switch to weekly_digest on the numbers of nurture-cadence-2026q1 alone: extend "
        "or repeat it until it reaches its registered power.",
    )
    # with the registered power reached, the same numbers are a clear win; the answer reads the
    # power numbers, not the readout's sentence
    plain = {**rec, "power_at_n": 0.93}
    assert ab_answer(ab_metrics(plain)).first_sentence.startswith(
        "In nurture-cadence-2026q1, weekly_digest clearly beat monthly_newsletter"
    )


def test_ab_answer_underpowered_no_difference_says_what_may_be_missed():
    rec = {
        **AB_RECORD_MARCH,
        "n_immature": 0,
        "diff": 0.004,
        "diff_ci_low": -0.012,
        "diff_ci_high": 0.02,
        "p_adjusted": 0.6,
    }
    a = ab_answer(ab_metrics(rec))
    assert a.first_sentence.startswith("No detectable difference between weekly_digest and ")
    assert a.first_sentence.endswith(
        "; the test has less power than registered, so a difference of the registered size may "
        "have been missed."
    )


def test_ab_answer_uses_each_experiments_own_alpha():
    # p = 0.03 with an interval excluding 0: a win at 0.05, not at 0.01
    strict = {
        **AB_RECORD,
        "experiment_id": "strict",
        "alpha": 0.01,
        "diff_ci_low": 0.001,
        "diff_ci_high": 0.02,
        "p_adjusted": 0.03,
    }
    loose = {**strict, "experiment_id": "loose", "alpha": 0.05}
    a = ab_answer(ab_metrics(loose, strict, alpha=0.01))  # top level: the headline's (strict)
    assert a.findings[1].startswith("In strict, weekly_digest looked better than")
    assert a.findings[2].startswith("In loose, weekly_digest clearly beat monthly_newsletter")
    # a record without its own alpha falls back to the top level
    bare = {k: v for k, v in strict.items() if k != "alpha"}
    assert "looked better" in ab_answer(ab_metrics(bare, alpha=0.01)).first_sentence
    assert "clearly beat" in ab_answer(ab_metrics(bare, alpha=0.05)).first_sentence
    assert "clearly beat" in ab_answer(ab_metrics(bare)).first_sentence  # ALPHA = 0.05


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (
            1,
            "1 registered experiment has no readout yet: it has not started, or no lead is "
            "enrolled in it by the analysis date.",
        ),
        (
            2,
            "2 registered experiments have no readout yet: they have not started, or no lead is "
            "enrolled in them by the analysis date.",
        ),
    ],
)
def test_ab_answer_registered_but_not_started(n, expected):
    # the run of 2025-12-31: the experiment starts on 2026-01-05
    m = Metrics(
        {
            "n_experiments": 0,
            "n_interim": 0,
            "n_significant": 0,
            "n_registered": n,
            "experiments": {},
        },
        {k: Kind.COUNT for k in ("n_experiments", "n_interim", "n_significant", "n_registered")},
    )
    a = ab_answer(m)
    assert a.findings == (expected,)
    assert a.actions == (
        "Nothing to decide yet: the readout appears here once leads are enrolled and their "
        "outcome windows have closed.",
    )
    assert "Register the next experiment" not in " ".join(a.actions)
    none = Metrics({**m, "n_registered": 0}, m.kinds)
    assert ab_answer(none).actions[0].startswith("Register the next experiment")


def test_no_sentence_starts_with_a_lowercase_id():
    recs = [
        AB_RECORD,
        {**AB_RECORD, "experiment_id": "b-test", "interim": True},
        {**AB_RECORD, "experiment_id": "c-test", "srm_p_value": 1e-9},
        {**AB_RECORD, "experiment_id": "d-test", "n_variant": 0},
    ]
    for rec in recs:
        a = ab_answer(ab_metrics(rec))
        assert _starts_lowercase(a) == [], a
    a = ab_answer(ab_metrics({**AB_RECORD, "diff_ci_low": None, "diff_ci_high": None}))
    assert a.first_sentence.startswith(
        "In nurture-cadence-2026q1, weekly_digest was compared with monthly_newsletter without "
        "an interval"
    )
    assert _starts_lowercase(a) == []


def test_cohort_lvr_from_too_few_sqls_is_not_judged():
    # from 1 to 4 SQLs: +300.0% with an exact interval of -60.4% to 19,599.0%
    m = cohort_metrics(
        lvr_pct=300.0, lvr_ci_low=-60.41667167, lvr_ci_high=19598.98729893, lvr_period="2024-03"
    ) | Metrics({"lvr_qualified": 4}, {"lvr_qualified": Kind.COUNT})
    a = cohort_answer(m)
    assert a.findings[2] == (
        "Only 4 new SQLs in 2024-03: too few SQLs in the period to judge the change on the period "
        "before (that needs at least 10 in each period)."
    )
    text = " ".join(a.findings + a.actions)
    assert "300" not in text and "19,599" not in text and "clearly" not in text
    assert a.actions[0] == (
        "No action on pipeline growth yet: too few SQLs a period to measure a change; look "
        "again when more have come in."
    )
    assert _unexplained_numbers(a, m) == []


@pytest.mark.parametrize(
    ("this", "pct", "judged", "which"),
    [
        (10, 0.0, True, ""),  # 10 and 10: at the threshold
        (9, 0.0, False, "period"),
        (249, 44.76744186046512, True, ""),  # the run of 2026-03-31: 172 before
        (60, 600.0, False, "period before"),  # 60 after about 9 (60 / 7 = 8.6)
        (60, 500.0, True, ""),  # 60 after 10
    ],
)
def test_cohort_lvr_threshold_on_both_periods(this, pct, judged, which):
    m = cohort_metrics(lvr_pct=pct, lvr_ci_low=-50.0, lvr_ci_high=900.0) | Metrics(
        {"lvr_qualified": this}, {"lvr_qualified": Kind.COUNT}
    )
    sentence = cohort_answer(m).findings[2]
    assert ("changed by" in sentence) is judged
    if which == "period before":
        assert sentence == (
            "Too few SQLs in the period before to judge the change to 60 new SQLs in 2026-06 "
            "(that needs at least 10 in each period)."
        )
    if not judged:
        assert f"oo few SQLs in the {which} to judge the change" in sentence


def test_min_lvr_qualified_interval_against_statsmodels():
    # the threshold's reason, recomputed: the exact conditional interval of 10 against 10
    # (Clopper-Pearson on 10 of 20, as odds) spans -62.6% to +167.7%
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(10, 20, alpha=0.05, method="beta")
    assert round((lo / (1 - lo) - 1) * 100, 1) == -62.6
    assert round((hi / (1 - hi) - 1) * 100, 1) == 167.7
    assert ans.MIN_LVR_QUALIFIED == 10
    assert "from -62.6% to +167.7%" in inspect.getsource(ans)  # what its docstring says


@pytest.mark.parametrize(
    ("workload", "shown"),
    [(58.75685891739001, "59"), (58.5, "59"), (58.49, "58"), (60.0, "60"), (0.4, "0.4")],
)
def test_scoring_workload_is_said_as_a_whole_number(workload, shown):
    a = scoring_answer(scoring_metrics(recommended_weekly_workload=workload))
    assert f"means about {shown} leads a week;" in a.findings[2]


def test_missing_numbers_point_to_the_appendix():
    answers = [
        scoring_answer(scoring_metrics(recommended_threshold=None)),
        cohort_answer(Metrics({"n_leads": 0}, {"n_leads": Kind.COUNT})),
        roi_answer(roi_metrics(drop=tuple(ROI_VALUES))),
    ]
    for a in answers:
        text = " ".join(a.findings)
        assert "below say why" not in text
        assert "the notes at the end of the report ('How this was computed') say why" in text
    assert "How this was computed" in Answer((ans.NOTES_WHY,)).to_html().replace("&#x27;", "'")


def test_builders_registry():
    assert set(ans.BUILDERS) == {
        "scoring_calibration",
        "cohort_conversion",
        "nurture_roi",
        "ab_testing",
    }


# --------------------------------------------------------------------------------------------
# Rendering


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


HOSTILE = "<script>alert(1)</script>"


def test_to_html_escapes_hostile_experiment_and_variant_names():
    rec = {**AB_RECORD, "experiment_id": HOSTILE, "variant": f'"{HOSTILE}', "control": "a&b"}
    a = ab_answer(ab_metrics(rec))
    page = a.to_html()
    assert "<script>" not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    p = _Collect()
    p.feed(page)
    assert [t for t, _ in p.tags] == ["section", "h2", "p", "p", "p", "h3", "ul", "li"]
    assert p.tags[0][1] == {"id": "answer", "class": "answer"}
    assert not any("style" in attrs for _, attrs in p.tags)
    assert HOSTILE in "".join(p.text)  # shown as text, exactly as written


@settings(max_examples=100, deadline=None)
@given(
    findings=st.lists(st.text(min_size=1), min_size=1, max_size=5),
    actions=st.lists(st.text(min_size=1), max_size=3),
)
def test_to_html_shows_any_text_as_text(findings, actions):
    page = Answer(tuple(findings), tuple(actions)).to_html()
    p = _Collect()
    p.feed(page)
    p.close()
    allowed = {"section", "h2", "h3", "p", "ul", "li"}
    assert {t for t, _ in p.tags} <= allowed
    assert [t for t, _ in p.tags].count("p") == len(findings)
    assert [t for t, _ in p.tags].count("li") == len(actions)
    text = "".join(p.text)
    assert all(s.replace("\r", "\n") in text.replace("\r", "\n") for s in (*findings, *actions))


def test_answer_shape():
    a = Answer(("One.", "Two."), ("Do.",))
    assert a.first_sentence == "One."
    assert a.as_dict() == {"answer": ["One.", "Two."], "actions": ["Do."]}
    assert a._repr_html_() == a.to_html()
    assert "What to do" not in Answer(("One.",)).to_html()
    with pytest.raises(ValueError, match="at least one finding"):
        Answer(())


# --------------------------------------------------------------------------------------------
# Properties

_NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?(?:%| pts|×| days)?")


def _declared(m: Metrics, key: str) -> Kind:
    return ans.SENTENCE_KINDS.get(key, m.kinds.get(key))


def _half_up(v: float) -> float:
    """A count as a sentence says it, computed with decimal's ROUND_HALF_UP (independent of
    answers._whole): whole from 1 on, unchanged below 1."""
    if abs(v) < 1:
        return v
    return float(decimal.Decimal(repr(float(v))).quantize(0, rounding=decimal.ROUND_HALF_UP))


def _shown(m: Metrics) -> tuple[list[str], set[str]]:
    """What a sentence may hold: the text values (ids, names, periods, verdicts) and each
    number key formatted from its (sentence) kind, for the flat keys and every experiment
    record, plus the fixed definition numbers."""
    records = [dict(m)] + list((m.get("experiments") or {}).values())
    texts = {str(eid) for eid in m.get("experiments") or {}}
    numbers = set(ans.FIXED_NUMBERS.values())
    for rec in records:
        for k, v in rec.items():
            kind = _declared(m, k)
            if kind in (Kind.TEXT, Kind.DATE):
                texts.add(str(v))
            elif kind is Kind.COUNT and isinstance(v, int | float) and v == v:
                numbers.add(format_value(_half_up(v), kind))  # a sentence says counts whole
            elif kind is not None:
                numbers.add(format_value(v, kind))
                base = k.removesuffix("_ci_low").removesuffix("_ci_high")
                group = [rec.get(x) for x in (base, f"{base}_ci_low", f"{base}_ci_high")]
                nums = [abs(x) for x in group if isinstance(x, int | float) and x == x]
                if nums:  # a value and its interval share their decimals
                    numbers.add(format_value(v, kind, like=max(nums)))
    return sorted(texts, key=len, reverse=True), numbers


def _unexplained_numbers(a: Answer, m: Metrics) -> list[str]:
    """Numbers in the answer that are not a key's value exactly as format_value shows it.

    Text values (which may hold digits, like an experiment id) are taken out first; every
    number left, with its unit, must equal a formatted value ("< 0.001" counts as 0.001)."""
    texts, numbers = _shown(m)
    allowed = {t for n in numbers for t in _NUMBER.findall(n)} | numbers
    left = []
    for s in (*a.findings, *a.actions):
        for t in texts:
            if t:
                s = s.replace(t, " ")
        left += [tok for tok in _NUMBER.findall(s) if tok not in allowed]
    return left


def test_demo_answers_hold_only_formatted_numbers():
    for build, m in (
        (scoring_answer, scoring_metrics()),
        (cohort_answer, cohort_metrics()),
        (roi_answer, roi_metrics()),
        (ab_answer, ab_metrics()),
    ):
        assert _unexplained_numbers(build(m), m) == []
        assert _starts_lowercase(build(m)) == []


def test_unexplained_numbers_catches_a_stray_number():
    m = scoring_metrics()
    assert _unexplained_numbers(Answer(("The score is 0.58 now.",)), m)


_unit = st.floats(0.0, 1.0, allow_nan=False)
_ordered3 = st.lists(
    st.floats(-5, 5, allow_nan=False, allow_infinity=False), min_size=3, max_size=3
).map(sorted)
_maybe_none = st.one_of(st.none(), st.just(float("nan")))


def _starts_lowercase(a: Answer) -> list[str]:
    """Sentences (findings and actions) whose first character is a lowercase letter."""
    return [s for s in (*a.findings, *a.actions) if s[:1].islower()]


@settings(max_examples=150, deadline=None)
@given(
    bounds=_ordered3,
    p=st.one_of(st.none(), _unit),
    interim=st.booleans(),
    srm=st.one_of(st.none(), _unit),
    rates=st.tuples(_unit, _unit),
    n=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
    immature=st.one_of(st.none(), st.integers(0, 3_000)),
    underpowered=st.booleans(),
    alpha=st.one_of(st.none(), st.sampled_from([0.01, 0.05, 0.1])),
)
def test_ab_interval_containing_zero_never_beats(
    bounds, p, interim, srm, rates, n, immature, underpowered, alpha
):
    low, diff, high = (b / 10 for b in bounds)
    rec = {
        **AB_RECORD,
        "diff_ci_low": low,
        "diff": diff,
        "diff_ci_high": high,
        "p_adjusted": p,
        "interim": interim,
        "srm_p_value": srm,
        "variant_rate": rates[0],
        "control_rate": rates[1],
        "n_variant": n[0],
        "n_control": n[1],
        "n_immature": immature,
        "power": 0.8,
        "power_at_n": 0.4 if underpowered else 0.9,
        "alpha": alpha,
    }
    m = ab_metrics(rec)
    a = ab_answer(m)
    text = " ".join(a.findings + a.actions).lower()
    undecided = interim or srm_broken(srm) or (immature or 0) > 0 or underpowered
    if low <= 0 <= high or undecided:
        assert "clearly" not in text and "beat" not in text and "roll out" not in text
    if (immature or 0) > 0 and not interim and not srm_broken(srm) and min(n) > 0:
        assert f"do not decide yet: {format_value(immature, Kind.COUNT)} leads' windows" in text
    if p is not None and alpha is not None and p >= alpha:
        assert "clearly beat" not in text
    assert _starts_lowercase(a) == []
    assert _unexplained_numbers(a, m) == []


@settings(max_examples=150, deadline=None)
@given(
    auc=st.tuples(_unit, _unit, _unit).map(sorted),
    conv=st.integers(0, 5000),
    n=st.integers(1, 50_000),
    threshold=st.floats(0, 100, allow_nan=False),
    comp=st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
    precision=st.one_of(st.none(), _unit),
    capacity=st.one_of(st.none(), st.integers(1, 500)),
)
def test_scoring_numbers_are_formatted_and_coin_toss_is_never_clearly(
    auc, conv, n, threshold, comp, precision, capacity
):
    low, mid, high = auc
    m = scoring_metrics(
        auc=mid,
        auc_ci_low=low,
        auc_ci_high=high,
        conversions=conv,
        n_leads=n,
        conversion_rate=conv / n,
        recommended_threshold=threshold,
        competitor_mean_score=comp,
        recommended_precision=precision,
    )
    if capacity is not None:
        m = m | Metrics({"capacity_per_week": capacity}, {"capacity_per_week": Kind.COUNT})
    a = scoring_answer(m)
    text = " ".join(a.findings + a.actions)
    assert 1 <= len(a.findings) <= ans.MAX_FINDINGS and len(a.actions) <= ans.MAX_ACTIONS
    if low <= 0.5 <= high and conv > 0:
        assert "does not detectably predict" in a.first_sentence
    assert "clearly" not in text
    assert _starts_lowercase(a) == []
    assert _unexplained_numbers(a, m) == []


@settings(max_examples=150, deadline=None)
@given(
    lvr=_ordered3,
    rates=st.tuples(_unit, _unit, _unit),
    median=st.one_of(st.none(), st.floats(0, 400, allow_nan=False)),
    drop=st.sets(st.sampled_from(sorted(COHORT_VALUES)), max_size=8),
    qualified=st.one_of(st.none(), st.integers(0, 300)),
)
def test_cohort_lvr_crossing_zero_never_clearly(lvr, rates, median, drop, qualified):
    low, mid, high = (x * 20 for x in lvr)
    values = {
        **COHORT_VALUES,
        "lvr_ci_low": low,
        "lvr_pct": mid,
        "lvr_ci_high": high,
        "mql_to_sql_rate": rates[0],
        "lead_to_sql_p90": rates[1],
        "share_old_sql_after": rates[2],
        "lead_to_sql_median_days": median,
    }
    values = {k: v for k, v in values.items() if k not in drop}
    kinds = {k: COHORT_KINDS[k] for k in values}
    if qualified is not None:
        values["lvr_qualified"], kinds["lvr_qualified"] = qualified, Kind.COUNT
    m = Metrics(values, kinds)
    a = cohort_answer(m)
    text = " ".join(a.findings + a.actions)
    if low <= 0 <= high and "lvr_pct" in values:
        assert "clearly" not in text
    if qualified is not None and qualified < ans.MIN_LVR_QUALIFIED and "lvr_pct" in values:
        assert "changed by" not in text and "clearly" not in text
        assert "too few SQLs in the period to judge the change" in text
    assert 1 <= len(a.findings) <= ans.MAX_FINDINGS
    assert _starts_lowercase(a) == []
    assert _unexplained_numbers(a, m) == []


@settings(max_examples=150, deadline=None)
@given(
    roi=_ordered3,
    lift=st.lists(st.floats(0.01, 5, allow_nan=False), min_size=3, max_size=3).map(sorted),
    diff=_ordered3,
    interim=st.booleans(),
    drop=st.sets(st.sampled_from(sorted(ROI_VALUES)), max_size=10),
)
def test_roi_intervals_crossing_no_effect_never_clearly(roi, lift, diff, interim, drop):
    changes = dict(zip(("roi_ci_low", "roi", "roi_ci_high"), roi, strict=True))
    changes |= dict(
        zip(("nurture_lift_ci_low", "nurture_lift", "nurture_lift_ci_high"), lift, strict=True)
    )
    changes |= dict(
        zip(
            ("holdout_diff_ci_low", "holdout_diff", "holdout_diff_ci_high"),
            (d / 10 for d in diff),
            strict=True,
        )
    )
    m = roi_metrics(drop=tuple(drop), holdout_interim=interim, **changes)
    a = roi_answer(m)
    text = " ".join(a.findings + a.actions)
    if roi[0] <= 0 <= roi[2] and "roi" not in drop:
        assert "pays for itself:" not in text and "Keep the nurture programme" not in text
    if lift[0] <= 1 <= lift[2] and "nurture_lift" not in drop:
        assert "clearly" not in a.first_sentence
    assert _starts_lowercase(a) == []
    assert 1 <= len(a.findings) <= ans.MAX_FINDINGS
    assert _unexplained_numbers(a, m) == []


def _scoring(**values: object) -> Metrics:
    kinds = {
        "conversions": "count",
        "n_leads": "count",
        "conversion_rate": "rate",
        "recommended_threshold": "score",
        "recommended_weekly_workload": "count",
        "recommended_precision": "rate",
        "recommended_recall": "rate",
        "capacity_per_week": "count",
        "high_quality_leads": "count",
        "due_this_week": "count",
    }
    base = {"conversions": 50, "n_leads": 1000, "conversion_rate": 0.05}
    base.update(values)
    return Metrics(base, {k: v for k, v in kinds.items() if k in base})


def test_scoring_actions_fit_the_team_capacity() -> None:
    over = scoring_answer(
        _scoring(capacity_per_week=60, high_quality_leads=1784, due_this_week=529)
    )
    assert (
        "529 follow-ups are due this week against a capacity of 60: call the 60 highest-scoring "
        "first and queue the rest by follow-up date."
    ) in over.actions
    fits = scoring_answer(_scoring(capacity_per_week=60, high_quality_leads=48, due_this_week=12))
    assert "Call all 48 high-quality leads this week: they fit the team's capacity of 60." in (
        fits.actions
    )


def test_a_threshold_that_keeps_every_lead_is_said_as_no_threshold() -> None:
    a = scoring_answer(
        _scoring(
            recommended_threshold=-1.0,
            recommended_weekly_workload=12.0,
            recommended_precision=0.05,
            recommended_recall=1.0,
            capacity_per_week=60,
        )
    )
    text = " ".join(a.findings)
    assert "no threshold is needed yet" in text and "-1" not in text and "100.0%" not in text


def test_ab_answer_with_a_broken_split_adds_no_fair_split_sentence():
    a = ab_answer(ab_metrics({**AB_RECORD, "srm_p_value": 0.0001}))
    assert not any("split between the arms as planned" in t for t in a.findings)
    assert not any(t.startswith("Relative to") for t in a.findings)  # no winner to size


MODEL_KINDS = {k: "count" for k in ("capture_model", "capture_points", "capture_diff_ci_low",
                                    "capture_diff_ci_high", "capacity_per_week")} | {
    k: "ratio" for k in ("calibration_slope", "calibration_intercept",
                         "calibration_slope_cross_fitted", "calibration_intercept_cross_fitted")
}  # fmt: skip


def _with_model(**v: float) -> Metrics:
    base = {"capture_model": 145.0, "capture_points": 142.7, "capture_diff_ci_low": -13.5,
            "capture_diff_ci_high": 18.6, "capacity_per_week": 60,
            "calibration_slope": 0.583, "calibration_intercept": 1.223,
            "calibration_slope_cross_fitted": 0.897, "calibration_intercept_cross_fitted": -0.003}  # fmt: skip
    return scoring_metrics() | Metrics(base | v, MODEL_KINDS)


def test_scoring_answer_says_whether_the_model_beats_the_points_and_how_calibrated():
    a = scoring_answer(_with_model())
    said = [f for f in a.findings if f.startswith("At the team's capacity of 60 leads a week")]
    assert said == [
        "At the team's capacity of 60 leads a week, the calibrated model's ranking reaches 145 "
        "conversions and the points' 143, so the model does not clearly beat the points "
        "(difference 2, 95% CI -14 to 19); its probabilities are well calibrated on the leads it "
        "learned from (out of fold: slope 0.897, intercept -0.003) and too low on average and too "
        "spread on the latest leads (slope 0.583, intercept 1.223)."
    ]
    assert a.first_sentence == scoring_answer(scoring_metrics()).first_sentence
    won = scoring_answer(_with_model(capture_model=170.0, capture_diff_ci_low=12.0,
                                     capture_diff_ci_high=42.0)).findings  # fmt: skip
    assert any(": the model beats the points by 27 (95% CI 12 to 42);" in f for f in won)
    lost = scoring_answer(_with_model(capture_model=120.0, capture_diff_ci_low=-40.0,
                                      capture_diff_ci_high=-5.0)).findings  # fmt: skip
    assert any(": the model falls short of the points by 23 (95% CI -40 to -5);" in f for f in lost)
    # without the model's numbers (section not computed) there is no model sentence
    none = {k: None for k in MODEL_KINDS} | {"capacity_per_week": 60}
    assert not any("calibrated model" in f for f in scoring_answer(
        scoring_metrics() | Metrics(none, MODEL_KINDS)).findings)  # fmt: skip
    assert len(a.findings) <= 5


def test_when_both_rankings_reach_the_same_conversions_in_every_resample_it_says_so():
    """A small programme whose leads the team can nearly all work: both rankings send the same
    converters in every bootstrap draw; "does not clearly beat (0, CI 0 to 0)" would read as a
    verdict on the model, not on the capacity."""
    same = scoring_answer(_with_model(capture_model=13.0, capture_points=13.0,
                                      capture_diff_ci_low=0.0, capture_diff_ci_high=0.0))  # fmt: skip
    (said,) = [f for f in same.findings if f.startswith("At the team's capacity")]
    assert said.startswith(
        "At the team's capacity of 60 leads a week, the calibrated model's ranking reaches 13 "
        "conversions and the points' 13: the same in every resample, so at this capacity the "
        "ranking does not change who is called"
    )
    assert "does not clearly beat" not in said
    # a difference of 0 with an interval around it is still "not clearly"
    near = scoring_answer(_with_model(capture_model=13.0, capture_points=13.0,
                                      capture_diff_ci_low=-2.0, capture_diff_ci_high=2.0))  # fmt: skip
    assert any("does not clearly beat the points (difference 0, 95% CI -2 to 2)" in f
               for f in near.findings)  # fmt: skip
