"""Tests of leadnb.roi (params, whatif, monthly, effect, tables) and leadnb.experiments.holdout:
the article's worked example figure by figure, cost per SQL and ROI on a hand-built dataset
(expected values worked out by hand below), the bootstrap, the holdout, and invariants of the
calculator (hypothesis).

The article's figures come from ``tests/reference.py`` (``ARTICLE_*``, with their provenance);
``tests/test_reference.py`` checks that they add up.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.experiments.holdout import holdout_incremental
from leadnb.experiments.registration import HoldoutConfig
from leadnb.results import Kind
from leadnb.roi.effect import (
    RoiResult,
    experiment_censoring,
    nurture_effect,
    nurture_roi,
    old_lead_table,
    sql_value,
)
from leadnb.roi.monthly import (
    CONVERSION_COLUMNS,
    PERIOD_COLUMNS,
    conversion_before_after,
    conversion_shown,
    monthly_roi,
    period_shown,
    period_summary,
)
from leadnb.roi.params import RoiConfig, ScenarioInputs
from leadnb.roi.tables import roi_headline, roi_metrics, roi_table
from leadnb.roi.whatif import (
    ARTICLE_FIGURES,
    SCENARIO_COLUMNS,
    matches_article,
    scenario_summary,
    scenario_table,
    sensitivity_grid,
    summary_shown,
)
from tests import reference as ref

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
WORKED = REPO / "params" / "roi_worked_example.yaml"


def ts(s: str | None) -> pd.Timestamp:
    return pd.Timestamp(s) if s else pd.NaT


def frame(rows: list[dict]) -> pd.DataFrame:
    """A wide stage-date frame (as leadnb.funnel.stages.stage_dates returns) from a few dict rows."""
    cols = ["created_at", "lead_at", "mql_at", "sql_at", "opportunity_at", "customer_at", "lost_at"]
    df = pd.DataFrame(
        {
            "lead_id": pd.Series([r["lead_id"] for r in rows], dtype="str"),
            **{c: [ts(r.get(c)) for r in rows] for c in cols if c != "lead_at"},
        }
    )
    df["lead_at"] = df["created_at"]
    for c in cols:
        df[c] = df[c].astype("datetime64[us]")
    return df[["lead_id", *cols]]


# --------------------------------------------------------------------------------------------
# The worked example


@pytest.fixture
def worked() -> pd.DataFrame:
    from leadnb.data.params import load_params

    params = load_params(WORKED)
    assert "leads" not in params.data  # a calculator-only params file
    return scenario_table(params.roi.scenario)


def test_worked_example_matches_the_article_figure_by_figure(worked: pd.DataFrame) -> None:
    b, a = worked.iloc[0], worked.iloc[1]
    assert (b["scenario"], a["scenario"]) == ("before", "after")
    # 800 new leads, 10,000 existing; 80 + 40 SQLs before
    assert (b["sql_new"], b["sql_old"], b["sql_total"]) == (
        ref.ARTICLE_SQL_NEW,
        ref.ARTICLE_SQL_OLD_BEFORE,
        ref.ARTICLE_SQL_TOTAL_BEFORE,
    )
    # after: existing leads' SQLs x2.5 (40 -> 100): 180 SQLs, +50%, same budget
    assert (a["sql_new"], a["sql_old"], a["sql_total"]) == (
        ref.ARTICLE_SQL_NEW,
        ref.ARTICLE_SQL_OLD_AFTER,
        ref.ARTICLE_SQL_TOTAL_AFTER,
    )
    assert a["sql_total_change"] == ref.ARTICLE_SQL_CHANGE
    assert b["spend"] == a["spend"] == ref.ARTICLE_LEAD_GEN_BUDGET
    # cost per SQL 750 -> 500 (-33.3%)
    assert b["cost_per_sql"] == ref.ARTICLE_COST_PER_SQL_BEFORE
    assert a["cost_per_sql"] == ref.ARTICLE_COST_PER_SQL_AFTER
    assert a["cost_per_sql_change"] == ref.ARTICLE_COST_PER_SQL_CHANGE
    # opportunities 300 (200 + 100) -> 400 (200 + 200), +33.3%
    assert (b["opportunities_new"], b["opportunities_old"], b["opportunities"]) == (
        ref.ARTICLE_OPPORTUNITIES_NEW,
        ref.ARTICLE_OPPORTUNITIES_OLD_BEFORE,
        ref.ARTICLE_OPPORTUNITIES_BEFORE,
    )
    assert (a["opportunities_new"], a["opportunities_old"], a["opportunities"]) == (
        ref.ARTICLE_OPPORTUNITIES_NEW,
        ref.ARTICLE_OPPORTUNITIES_OLD_AFTER,
        ref.ARTICLE_OPPORTUNITIES_AFTER,
    )
    assert a["opportunities_change"] == ref.ARTICLE_OPPORTUNITIES_CHANGE
    # old leads' share of opportunities one third -> one half
    assert b["share_old"] == ref.ARTICLE_SHARE_OLD_BEFORE
    assert a["share_old"] == ref.ARTICLE_SHARE_OLD_AFTER


def test_worked_example_summary_matches_the_article_percentages(worked: pd.DataFrame) -> None:
    s = scenario_summary(worked).set_index("metric")
    # the article's +50%, -33% and +33%, to the summary's 1 decimal: 50.0, -33.3, 33.3
    assert s.loc["sql_total", "change_pct"].round(1) == round(100 * ref.ARTICLE_SQL_CHANGE, 1)
    assert s.loc["cost_per_sql", "change_pct"].round(1) == round(
        100 * ref.ARTICLE_COST_PER_SQL_CHANGE, 1
    )
    assert s.loc["opportunities", "change_pct"].round(1) == round(
        100 * ref.ARTICLE_OPPORTUNITIES_CHANGE, 1
    )
    # 120 -> 180 SQLs (+60); 750 -> 500 per SQL (-250)
    assert (
        s.loc["sql_total", "change"] == ref.ARTICLE_SQL_TOTAL_AFTER - ref.ARTICLE_SQL_TOTAL_BEFORE
    )
    assert s.loc["cost_per_sql", "change"] == (
        ref.ARTICLE_COST_PER_SQL_AFTER - ref.ARTICLE_COST_PER_SQL_BEFORE
    )


def test_worked_example_summary_shown_to_a_reader(worked: pd.DataFrame) -> None:
    # each row formatted from its own kind: counts, money, a share in % and its change in points
    s = summary_shown(scenario_summary(worked)).set_index("label")
    sql_before, sql_after = ref.ARTICLE_SQL_TOTAL_BEFORE, ref.ARTICLE_SQL_TOTAL_AFTER
    assert s.loc["SQLs a month"].tolist() == [
        f"{sql_before:,.0f}",
        f"{sql_after:,.0f}",
        f"{sql_after - sql_before:,.0f}",
        f"{100 * ref.ARTICLE_SQL_CHANGE:+.1f}%",
    ]
    cps_before, cps_after = ref.ARTICLE_COST_PER_SQL_BEFORE, ref.ARTICLE_COST_PER_SQL_AFTER
    assert s.loc["Cost per SQL (lead-generation budget)"].tolist() == [
        f"{cps_before:,.0f}",
        f"{cps_after:,.0f}",
        f"{cps_after - cps_before:,.0f}",
        f"{100 * ref.ARTICLE_COST_PER_SQL_CHANGE:+.1f}%",
    ]
    share_before, share_after = ref.ARTICLE_SHARE_OLD_BEFORE, ref.ARTICLE_SHARE_OLD_AFTER
    assert s.loc["Old leads' share of opportunities"].tolist() == [
        f"{100 * share_before:.1f}%",
        f"{100 * share_after:.1f}%",
        f"{100 * (share_after - share_before):+.1f} pts",
        f"{100 * (share_after / share_before - 1):+.1f}%",
    ]
    assert s.loc["Lead-generation budget a month", "before"] == f"{ref.ARTICLE_LEAD_GEN_BUDGET:,}"
    # nothing a reader sees is a raw float, a boolean or NaN
    cells = s.to_numpy().ravel().tolist()
    assert all(isinstance(c, str) for c in cells)
    noise = re.compile(r"\d\.\d{3,}|^(True|False|nan|None)$")  # float noise, reprs
    assert not [c for c in cells if noise.search(c)]


def test_every_shown_column_is_declared(hand, hand_costs, hand_config, worked) -> None:
    table = scenario_table(ScenarioInputs(nurture_cost=5000.0, win_rate=0.2, deal_value=9000.0))
    assert set(table.columns) <= set(SCENARIO_COLUMNS)
    assert set(worked.columns) <= set(SCENARIO_COLUMNS)
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    assert set(period_summary(m).columns) <= set(PERIOD_COLUMNS)
    c = conversion_before_after(hand, hand_config, AS_OF)
    assert set(c.columns) == set(CONVERSION_COLUMNS)
    # labels are words for a reader, not machine names
    for declared in (SCENARIO_COLUMNS, PERIOD_COLUMNS, CONVERSION_COLUMNS):
        assert not [col.label for col in declared.values() if "_" in col.label]


def test_period_and_conversion_tables_shown_to_a_reader(hand, hand_costs, hand_config) -> None:
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    shown = period_shown(period_summary(m), ["months", "sql_total", "cost_per_sql", "cpa"])
    rows = shown.set_index("measure")
    # by hand: 2 months each side; 1 SQL a month before, 1.5 after; 2,000 / 2 SQLs before,
    # 2,000 / 3 after; one customer before (2,000 of spend), none after
    assert rows.loc["Complete months"].tolist() == ["2", "2"]
    assert rows.loc["SQLs a month"].tolist() == [f"{1.0:,.0f}", f"{1.5:.1f}"]
    assert rows.loc["Cost per SQL"].tolist() == [f"{1000:,}", f"{2000 / 3:,.0f}"]
    assert rows.loc["Cost per customer (CPA)"].tolist() == [f"{2000:,}", "–"]
    c = conversion_shown(conversion_before_after(hand, hand_config, AS_OF))
    assert set(c["from_stage"]) <= {"Lead", "MQL"} and "SQL" in set(c["to_stage"])
    assert set(c["period"]) == {"Before", "After"}


def test_defaults_and_package_figures_are_the_article(worked: pd.DataFrame) -> None:
    # the calculator's defaults are the article's inputs ...
    d = ScenarioInputs()
    assert (d.new_leads_per_month, d.existing_leads, d.sql_from_new, d.sql_from_existing) == (
        ref.ARTICLE_NEW_LEADS_PER_MONTH,
        ref.ARTICLE_EXISTING_LEADS,
        ref.ARTICLE_SQL_NEW,
        ref.ARTICLE_SQL_OLD_BEFORE,
    )
    assert (d.nurture_lift, d.lead_gen_budget) == (
        ref.ARTICLE_NURTURE_LIFT,
        ref.ARTICLE_LEAD_GEN_BUDGET,
    )
    assert (d.opportunities_new, d.opportunities_old, d.opportunities_old_after_value) == (
        ref.ARTICLE_OPPORTUNITIES_NEW,
        ref.ARTICLE_OPPORTUNITIES_OLD_BEFORE,
        ref.ARTICLE_OPPORTUNITIES_OLD_AFTER,
    )
    # ... and the figures matches_article checks against are the article's outputs
    assert ARTICLE_FIGURES == {
        "sql_total": (ref.ARTICLE_SQL_TOTAL_BEFORE, ref.ARTICLE_SQL_TOTAL_AFTER),
        "cost_per_sql": (ref.ARTICLE_COST_PER_SQL_BEFORE, ref.ARTICLE_COST_PER_SQL_AFTER),
        "opportunities": (ref.ARTICLE_OPPORTUNITIES_BEFORE, ref.ARTICLE_OPPORTUNITIES_AFTER),
        "share_old": (ref.ARTICLE_SHARE_OLD_BEFORE, ref.ARTICLE_SHARE_OLD_AFTER),
    }
    assert matches_article(worked)
    assert not matches_article(scenario_table(ScenarioInputs(nurture_lift=2.4)))
    cols = ["sql_total", "cost_per_sql", "opportunities", "share_old"]
    pd.testing.assert_frame_equal(scenario_table(ScenarioInputs())[cols], worked[cols])


def test_fully_loaded_and_roi_by_hand(worked: pd.DataFrame) -> None:
    # the worked example file adds an (illustrative) nurture cost of 10,000 a month,
    # win rate 0.2 and deal value 24,000
    a = worked.iloc[1]
    assert a["cost_per_sql_loaded"] == pytest.approx(
        (ref.ARTICLE_LEAD_GEN_BUDGET + 10_000) / ref.ARTICLE_SQL_TOTAL_AFTER
    )
    # no nurture cost before nurturing: the article's 750
    assert worked.iloc[0]["cost_per_sql_loaded"] == ref.ARTICLE_COST_PER_SQL_BEFORE
    # 100 more opportunities a year -> 100/12 a month x 0.2 x 24,000 = 40,000; ROI = 30,000/10,000
    assert a["roi"] == pytest.approx(3.0)
    assert np.isnan(worked.iloc[0]["roi"])


# --------------------------------------------------------------------------------------------
# Configuration


def test_config_defaults_and_strict_keys(tmp_path: Path) -> None:
    cfg = RoiConfig.from_dict({}, tmp_path)
    assert cfg.nurture_start is None and cfg.win_rate is None and cfg.holdout is None
    assert cfg.scenario == ScenarioInputs()
    with pytest.raises(ParamsError, match="unknown key"):
        RoiConfig.from_dict({"nurture_strat": "2025-10-01"}, tmp_path)
    with pytest.raises(ParamsError, match="unknown key"):
        RoiConfig.from_dict({"scenario": {"lift": 2}}, tmp_path)
    with pytest.raises(ParamsError, match="between 0 and 1"):
        RoiConfig.from_dict({"win_rate": 25}, tmp_path)
    with pytest.raises(ParamsError, match="must be int or float"):
        RoiConfig.from_dict({"scenario": {"nurture_lift": "2.5x"}}, tmp_path)
    with pytest.raises(ParamsError, match="YYYY-MM-DD"):
        RoiConfig.from_dict({"nurture_start": "Oct 2025"}, tmp_path)
    with pytest.raises(ParamsError, match="control_variant"):
        RoiConfig.from_dict({"holdout": {"experiment_id": "x"}}, tmp_path)


def test_scenario_inherits_deal_value_and_win_rate(tmp_path: Path) -> None:
    cfg = RoiConfig.from_dict(
        {"nurture_start": "2025-10-01", "deal_value": 24000, "win_rate": 0.25}, tmp_path
    )
    assert cfg.nurture_start == pd.Timestamp("2025-10-01")
    assert cfg.scenario.deal_value == 24000 and cfg.scenario.win_rate == 0.25
    own = RoiConfig.from_dict({"deal_value": 24000, "scenario": {"deal_value": 5000}}, tmp_path)
    assert own.scenario.deal_value == 5000


# --------------------------------------------------------------------------------------------
# Sensitivity


def test_sensitivity_grid_matches_the_scenario_at_its_point() -> None:
    inputs = ScenarioInputs(nurture_cost=10_000, win_rate=0.2, deal_value=24_000)
    lift, budget = ref.ARTICLE_NURTURE_LIFT, ref.ARTICLE_LEAD_GEN_BUDGET
    grid = sensitivity_grid(inputs, [1.0, lift, 4.0], [45_000, budget])
    assert len(grid) == 6
    at = grid.loc[(grid["nurture_lift"] == lift) & (grid["lead_gen_budget"] == budget)].iloc[0]
    after = scenario_table(inputs).iloc[1]
    for col in ("sql_total", "cost_per_sql", "cost_per_sql_loaded", "opportunities", "roi"):
        assert at[col] == pytest.approx(after[col])
    # lift 1 = no nurturing: the 'before' figures, and ROI -100% when nurture costs money
    one = grid.loc[(grid["nurture_lift"] == 1.0) & (grid["lead_gen_budget"] == budget)].iloc[0]
    assert one["cost_per_sql"] == ref.ARTICLE_COST_PER_SQL_BEFORE
    assert one["opportunities"] == ref.ARTICLE_OPPORTUNITIES_BEFORE and one["roi"] == -1
    costs = sensitivity_grid(inputs, [lift], [5_000, 20_000], budget="nurture_cost")
    # value 40,000 a month: (40,000 - 5,000) / 5,000 = 7; (40,000 - 20,000) / 20,000 = 1
    assert costs["roi"].tolist() == pytest.approx([7.0, 1.0])
    assert (costs["cost_per_sql"] == ref.ARTICLE_COST_PER_SQL_AFTER).all()
    with pytest.raises(ParamsError):
        sensitivity_grid(inputs, [1], [1], budget="budget")


@settings(max_examples=50, deadline=None)
@given(
    base=st.floats(0.5, 5),
    step=st.floats(0.01, 3),
    budget=st.floats(1_000, 1e6),
    sql_new=st.floats(0, 500),
    sql_old=st.floats(1, 500),
)
def test_cost_per_sql_falls_as_lift_rises(
    base: float, step: float, budget: float, sql_new: float, sql_old: float
) -> None:
    inputs = ScenarioInputs(sql_from_new=sql_new, sql_from_existing=sql_old)
    grid = sensitivity_grid(inputs, [base, base + step], [budget])
    low, high = grid["cost_per_sql"].tolist()
    assert high < low


# --------------------------------------------------------------------------------------------
# From data: a hand-built dataset, January to April 2025, nurture from 1 March
#
# lead created     SQL          age  class opportunity  customer
# A    2025-01-01  2025-01-10     9  new   2025-01-20   2025-02-15
# B    2025-01-01  2025-02-20    50  old
# C    2025-01-01  -
# D    2025-02-01  2025-03-15    42  old   2025-03-20
# E    2025-03-01  2025-03-05     4  new
# F    2025-01-01  2025-04-10    99  old   2025-04-12
#
# Old-lead exposure (from creation + 30 days until SQL or the end of April), in days:
# B 1/31-2/20: Jan 1, Feb 19. C from 1/31: Jan 1, Feb 28, Mar 31, Apr 30. D 3/3-3/15: Mar 12.
# F 1/31-4/10: Jan 1, Feb 28, Mar 31, Apr 9. A and E qualify before turning old.

AS_OF = pd.Timestamp("2025-04-30")
EXPOSURE = [Fraction(3, 31), Fraction(19, 28) + 2, Fraction(12, 31) + 2, Fraction(9, 30) + 1]


@pytest.fixture
def hand() -> pd.DataFrame:
    return frame(
        [
            {
                "lead_id": "A",
                "created_at": "2025-01-01",
                "sql_at": "2025-01-10",
                "opportunity_at": "2025-01-20",
                "customer_at": "2025-02-15",
            },
            {"lead_id": "B", "created_at": "2025-01-01", "sql_at": "2025-02-20"},
            {"lead_id": "C", "created_at": "2025-01-01"},
            {
                "lead_id": "D",
                "created_at": "2025-02-01",
                "sql_at": "2025-03-15",
                "opportunity_at": "2025-03-20",
            },
            {"lead_id": "E", "created_at": "2025-03-01", "sql_at": "2025-03-05"},
            {
                "lead_id": "F",
                "created_at": "2025-01-01",
                "sql_at": "2025-04-10",
                "opportunity_at": "2025-04-12",
            },
            # created after as_of: ignored
            {"lead_id": "G", "created_at": "2025-05-03", "sql_at": "2025-05-04"},
        ]
    )


@pytest.fixture
def hand_costs() -> pd.DataFrame:
    rows = [
        ("2025-01-01", 1000.0, "lead_generation"),
        ("2025-02-01", 600.0, "lead_generation"),
        ("2025-02-15", 400.0, "lead_generation"),  # two rows in one month are summed
        ("2025-03-01", 1000.0, "lead_generation"),
        ("2025-03-01", 200.0, "nurture"),
        ("2025-03-01", 50.0, "events"),
        ("2025-04-01", 1000.0, "lead_generation"),
        ("2025-04-01", 200.0, "nurture"),
        ("2025-05-01", 9999.0, "lead_generation"),  # after as_of: ignored
    ]
    df = pd.DataFrame(rows, columns=["period_start", "amount", "program"])
    df["period_start"] = pd.to_datetime(df["period_start"]).astype("datetime64[us]")
    df["program"] = df["program"].astype("str")
    return df


@pytest.fixture
def hand_config(tmp_path: Path) -> RoiConfig:
    return RoiConfig.from_dict(
        {
            "nurture_start": "2025-03-01",
            "deal_value": 1000,
            "win_rate": 0.5,
            "conversion_window_days": 30,
            "bootstrap_samples": 200,
            "seed": 3,
            "age_bands": [],  # one band: old leads compared as one group
        },
        tmp_path,
    )


def test_monthly_counts_and_costs_by_hand(hand, hand_costs, hand_config) -> None:
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    assert m["month"].dt.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert m["period"].tolist() == ["before", "before", "after", "after"]
    assert m["sql_new"].tolist() == [1, 0, 1, 0]
    assert m["sql_old"].tolist() == [0, 1, 1, 1]
    assert m["old_exposure"].tolist() == pytest.approx([float(x) for x in EXPOSURE])
    assert m["spend"].tolist() == [1000, 1000, 1000, 1000]
    assert m["spend_nurture"].tolist() == [0, 0, 200, 200]
    assert m["spend_total"].tolist() == [1000, 1000, 1250, 1200]
    assert m["cost_per_sql"].tolist() == [1000, 1000, 500, 1000]
    assert m["cost_per_sql_loaded"].tolist() == [1000, 1000, 625, 1200]
    assert m["opportunities_new"].tolist() == [1, 0, 0, 0]
    assert m["opportunities_old"].tolist() == [0, 0, 1, 1]
    assert m["customers"].tolist() == [0, 1, 0, 0]
    np.testing.assert_array_equal(m["cost_per_opportunity"], [1000, np.nan, 1250, 1200])
    np.testing.assert_array_equal(m["cpa"], [np.nan, 1000, np.nan, np.nan])
    np.testing.assert_array_equal(m["share_old"], [0, np.nan, 1, 1])

    p = period_summary(m).set_index("period")
    assert p.loc["before", "months"] == 2 and p.loc["after", "months"] == 2
    assert p.loc["before", "cost_per_sql"] == 1000  # 2,000 / 2 SQLs
    assert p.loc["after", "cost_per_sql"] == pytest.approx(2000 / 3)
    assert p.loc["after", "cost_per_sql_loaded"] == pytest.approx(2450 / 3)
    assert p.loc["after", "sql_total"] == 1.5  # monthly average
    assert p.loc["before", "cpa"] == 2000  # 2,000 spend, 1 customer


def test_nurture_effect_and_roi_by_hand(hand, hand_costs, hand_config) -> None:
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    old = old_lead_table(hand, hand_config, AS_OF)
    # one age band: the old-lead table is the monthly exposure and old SQLs
    assert old["exposure"].tolist() == pytest.approx(m["old_exposure"].tolist())
    assert old["sql_old"].tolist() == m["sql_old"].tolist()
    e = nurture_effect(old)
    exp_before, exp_after = EXPOSURE[0] + EXPOSURE[1], EXPOSURE[2] + EXPOSURE[3]
    rate_before, rate_after = 1 / exp_before, 2 / exp_after
    lift = rate_after / rate_before
    assert e.rate_before == pytest.approx(float(rate_before))
    assert e.lift == pytest.approx(float(lift)) and e.crude_lift == pytest.approx(float(lift))
    incremental = 2 - rate_before * exp_after  # = 2 x (1 - 1/lift)
    assert e.incremental_sqls == pytest.approx(float(incremental))
    assert e.naive_incremental_sqls == pytest.approx((1 - 0.5) * 2)
    # Wald interval of a two-group Poisson rate ratio: se(log) = sqrt(1/1 + 1/2), times the
    # Pearson dispersion (floored at 1) of the fitted monthly counts
    fitted = [float(x) for x in (EXPOSURE[0] * rate_before, EXPOSURE[1] * rate_before)]
    fitted += [float(x) for x in (EXPOSURE[2] * rate_after, EXPOSURE[3] * rate_after)]
    observed = [0, 1, 1, 1]
    pearson = sum((o - f) ** 2 / f for o, f in zip(observed, fitted, strict=True)) / (4 - 2)
    se = np.sqrt(1 / 1 + 1 / 2) * np.sqrt(max(1.0, pearson))
    assert e.dispersion == pytest.approx(max(1.0, pearson))
    assert e.lift_ci_low == pytest.approx(float(lift) * np.exp(-1.959963984540054 * se), rel=1e-4)
    assert e.lift_ci_high == pytest.approx(float(lift) * np.exp(1.959963984540054 * se), rel=1e-4)

    # SQLs matured by 31 March (window 30 days): A, B, D, E; with an opportunity: A, D
    v = sql_value(hand, hand_config, AS_OF)
    assert (v.n_sql, v.n_sql_to_opportunity) == (4, 2)
    assert v.value_per_sql == 0.5 * 0.5 * 1000
    r = nurture_roi(e, m, v, hand_config)
    assert r.nurture_cost == 400
    assert r.incremental_value == pytest.approx(float(incremental) * 250)
    assert r.roi == pytest.approx((float(incremental) * 250 - 400) / 400)
    assert r.cost_per_incremental_sql == pytest.approx(400 / float(incremental))


def test_experiment_censoring(hand, hand_config) -> None:
    # F (old, qualifies 10 April) joins an experiment on 1 April: its April exposure and its SQL
    # leave the comparison; B's assignment after its SQL changes nothing
    asg = pd.DataFrame(
        {
            "lead_id": pd.Series(["F", "B", "F"], dtype="str"),
            "assigned_at": pd.to_datetime(["2025-04-01", "2025-03-01", "2025-04-20"]),
        }
    )
    censor = experiment_censoring(asg)
    assert censor["F"] == pd.Timestamp("2025-04-01")
    old = old_lead_table(hand, hand_config, AS_OF, censor_at=censor)
    expected = [*EXPOSURE[:3], Fraction(1)]  # April: only C, all month
    assert old["exposure"].tolist() == pytest.approx([float(x) for x in expected])
    assert old["sql_old"].tolist() == [0, 1, 1, 0]
    assert experiment_censoring(None) is None


def test_measured_win_rate(hand, hand_config) -> None:
    from dataclasses import replace

    cfg = replace(hand_config, win_rate=None)
    v = sql_value(hand, cfg, AS_OF)
    # opportunities matured by 31 March: A (won), D (not yet)
    assert (v.n_opportunity, v.n_won, v.win_rate_given) == (2, 1, False)
    assert (v.win_rate_ci_low, v.win_rate_ci_high) == pytest.approx(
        proportion_confint(1, 2, method="wilson")
    )


def test_data_errors(hand, hand_costs, hand_config) -> None:
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    with pytest.raises(NotEnoughData, match="nurture spend"):
        nurture_roi(
            nurture_effect(old_lead_table(hand, hand_config, AS_OF)),
            m.assign(spend_nurture=0.0),
            sql_value(hand, hand_config, AS_OF),
            hand_config,
        )
    old = old_lead_table(hand, hand_config, AS_OF)
    with pytest.raises(NotEnoughData, match="needs 2 complete months with old leads"):
        nurture_effect(old.loc[old["month"] > "2025-01-01"])
    with pytest.raises(DataError, match="sql_at"):
        monthly_roi(hand.drop(columns="sql_at"), hand_costs, hand_config, AS_OF)
    from dataclasses import replace

    with pytest.raises(ParamsError, match="deal_value"):
        sql_value(hand, replace(hand_config, deal_value=None), AS_OF)
    # no costs table: counts still there, spend unknown
    nocost = monthly_roi(hand, None, hand_config, AS_OF)
    assert nocost["sql_total"].tolist() == [1, 1, 2, 1] and nocost["spend"].isna().all()


def test_roi_table_and_metrics(hand, hand_costs, hand_config) -> None:
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    t = roi_table(scenario_table(ScenarioInputs()), period_summary(m), m)
    contract = [
        "sql_new",
        "sql_old",
        "sql_total",
        "spend",
        "cost_per_sql",
        "opportunities",
        "share_old",
    ]
    assert set(contract) <= set(t.columns)
    assert t["kind"].tolist() == ["scenario"] * 2 + ["period"] * 2 + ["month"] * 4
    assert t["label"].tolist()[:4] == ["before", "after", "before", "after"]
    assert t["label"].iloc[-1] == "2025-04"
    effect = nurture_effect(old_lead_table(hand, hand_config, AS_OF))
    metrics = roi_metrics(scenario_table(ScenarioInputs()), period_summary(m), effect)
    assert metrics["scenario_cost_per_sql_before"] == ref.ARTICLE_COST_PER_SQL_BEFORE
    assert metrics["scenario_cost_per_sql_change_pct"] == pytest.approx(
        100 * ref.ARTICLE_COST_PER_SQL_CHANGE
    )
    assert metrics["after_cost_per_sql"] == pytest.approx(2000 / 3)
    assert (
        metrics["incremental_sqls_ci_low"]
        < metrics["incremental_sqls"]
        < metrics["incremental_sqls_ci_high"]
    )
    # the card's extra SQLs a month: the incremental SQLs and their interval over the months
    for end in ("", "_ci_low", "_ci_high"):
        assert metrics[f"incremental_sqls_per_month{end}"] == pytest.approx(
            metrics[f"incremental_sqls{end}"] / effect.months_after
        )
    # every number declares its kind, and the card shows it as the report prints it
    assert set(metrics.kinds) == set(metrics)
    assert metrics.kinds["nurture_lift"] == Kind.MULTIPLIER
    assert metrics.formatted("after_share_old") == f"{metrics['after_share_old']:.1%}"
    roi = roi_metrics(roi=RoiResult(**{**dict.fromkeys(RoiResult.kinds(), 0.0), "roi": 3.128}))
    assert roi.formatted("roi").startswith("312.8% [")  # the notebook prints f"{roi:.0%}": 313%


def test_roi_headline_keys_are_metrics_with_labels(hand, hand_costs, hand_config) -> None:
    m = monthly_roi(hand, hand_costs, hand_config, AS_OF)
    effect = nurture_effect(old_lead_table(hand, hand_config, AS_OF))
    roi = RoiResult(**{**dict.fromkeys(RoiResult.kinds(), 0.0), "roi": 3.128})
    sd, asg = holdout_case(late=False)
    holdout = holdout_incremental(sd, asg, HOLDOUT, pd.Timestamp("2026-03-01"))
    full = roi_metrics(scenario_table(ScenarioInputs()), period_summary(m), effect, roi, holdout)
    for basis in ("lead_generation", "fully_loaded"):
        for interim in (False, True):
            keys, labels = roi_headline(basis, holdout_interim=interim)
            # every key is a number a full run writes, each with a plain label, none twice
            assert [k for k in keys if k not in full] == []
            assert len(set(keys)) == len(keys) and set(labels) == set(keys)
            assert all(labels[k] and labels[k] != k for k in keys)
            # the card: does nurture pay, how many extra SQLs, then the randomised cost per SQL
            assert keys[:2] == ["roi", "incremental_sqls_per_month"]
            third = "nurture_lift" if interim else "holdout_cost_per_incremental_sql"
            assert keys[2] == third
            assert ("interim" in labels["holdout_diff"]) is interim
    keys, _ = roi_headline("fully_loaded")
    assert "after_cost_per_sql_loaded" in keys and "after_cost_per_sql" not in keys
    # a young run has only the what-if scenario: its card shows the scenario's cost per SQL
    young = roi_metrics(scenario_table(ScenarioInputs()))
    keys, labels = roi_headline()
    shown = [k for k in keys if k in young][:3]
    assert shown[:2] == ["scenario_cost_per_sql_before", "scenario_cost_per_sql_after"]
    assert all(labels[k].startswith("What-if:") for k in shown)
    with pytest.raises(ValueError, match="cost_basis"):
        roi_headline("loaded")


# --------------------------------------------------------------------------------------------
# From data: a simulated funnel with a known nurture lift


def simulate(
    lift: float = 2.5,
    per_month: int = 150,
    seed: int = 1,
    r0: float = 0.0005,
    decay_days: float = np.inf,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads over 18 months; 10% qualify while new; an old lead qualifies at daily hazard
    ``r0 * exp(-(age - 30) / decay_days)``, multiplied by ``lift`` from 2025-10-01 (drawn on a daily
    grid by inverting the cumulative hazard); 40% of SQLs become opportunities, 25% of those win."""
    rng = np.random.default_rng(seed)
    t0, days = pd.Timestamp("2025-01-01"), 545
    n = per_month * 18
    created = np.sort(rng.uniform(0, days, n))
    start = (pd.Timestamp("2025-10-01") - t0).days
    grid = np.arange(days + 1)
    age = grid[None, :] - created[:, None]
    hazard = np.where(age >= 30, r0 * np.exp(-(age - 30) / decay_days), 0.0)
    cum = np.cumsum(hazard * np.where(grid >= start, lift, 1.0), axis=1)
    hit = cum >= rng.exponential(1, n)[:, None]
    t_old = np.where(hit.any(axis=1), hit.argmax(axis=1) + rng.random(n), np.nan)
    sql = np.where(rng.random(n) < 0.1, created + rng.uniform(0, 29, n), t_old)
    opp = np.where(rng.random(n) < 0.4, sql + 14, np.nan)
    won = np.where(rng.random(n) < 0.25, opp + 45, np.nan)

    def day(x: np.ndarray) -> pd.Series:
        return (t0 + pd.to_timedelta(x, unit="D")).astype("datetime64[us]")

    sd = pd.DataFrame({"lead_id": pd.Series([f"L{i}" for i in range(n)], dtype="str")})
    sd["created_at"] = day(created)
    sd["lead_at"] = sd["created_at"]
    sd["mql_at"] = day(np.minimum(created + 3, sql))
    sd["sql_at"], sd["opportunity_at"], sd["customer_at"] = day(sql), day(opp), day(won)
    sd["lost_at"] = pd.Series(pd.NaT, index=sd.index, dtype="datetime64[us]")
    months = pd.date_range(t0, periods=18, freq="MS")
    costs = pd.DataFrame(
        {
            "period_start": list(months) + list(months[9:]),
            "amount": [20_000.0] * 18 + [3_000.0] * 9,
            "program": ["lead_generation"] * 18 + ["nurture"] * 9,
        }
    )
    costs["period_start"] = costs["period_start"].astype("datetime64[us]")
    return sd, costs


SIM_AS_OF = pd.Timestamp("2026-06-30")


@pytest.fixture(scope="module")
def sim() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate()


def sim_config(**kw) -> RoiConfig:
    d = {"nurture_start": "2025-10-01", "deal_value": 24000, "bootstrap_samples": 400, "seed": 11}
    return RoiConfig.from_dict({**d, **kw}, Path("."))


def test_exposure_matches_a_brute_force_oracle(sim) -> None:
    sd, costs = sim
    m = monthly_roi(sd, costs, sim_config(), SIM_AS_OF)
    start = sd["created_at"] + pd.Timedelta(days=30)
    stop = sd["sql_at"].fillna(pd.Timestamp("2026-07-01"))
    expected = []
    for month in m["month"]:  # loop over months (the oracle), each a vectorised overlap
        end = month + pd.offsets.MonthBegin(1)
        lo = start.where(start > month, month)
        hi = stop.where(stop < end, end)
        days = ((hi - lo) / pd.Timedelta(days=1)).clip(lower=0).sum()
        expected.append(days / (end - month).days)
    assert m["old_exposure"].tolist() == pytest.approx(expected)


def test_band_exposure_matches_a_brute_force_oracle(sim) -> None:
    sd, _ = sim
    old = old_lead_table(sd, sim_config(age_bands=[90]), SIM_AS_OF)
    stop = sd["sql_at"].fillna(pd.Timestamp("2026-07-01"))
    for (lo_age, hi_age), band in old.groupby(["age_from", "age_to"]):
        start = sd["created_at"] + pd.Timedelta(days=lo_age)
        if np.isfinite(hi_age):
            end_age = sd["created_at"] + pd.Timedelta(days=hi_age)
        else:
            end_age = pd.Series(pd.Timestamp("2100-01-01"), index=sd.index)
        stop_b = stop.where(stop < end_age, end_age)
        for month, exposure in zip(band["month"], band["exposure"], strict=True):
            end = month + pd.offsets.MonthBegin(1)
            lo = start.where(start > month, month)
            hi = stop_b.where(stop_b < end, end)
            days = ((hi - lo) / pd.Timedelta(days=1)).clip(lower=0).sum()
            assert exposure == pytest.approx(days / (end - month).days)
    age = (sd["sql_at"] - sd["created_at"]) / pd.Timedelta(days=1)
    assert old.loc[old["age_from"] == 90, "sql_old"].sum() == (age >= 90).sum()
    assert old.loc[old["age_from"] == 30, "sql_old"].sum() == ((age >= 30) & (age < 90)).sum()


def ipf_lift(old: pd.DataFrame) -> float:
    """Oracle: the Poisson band model fitted by iterative proportional fitting (no GLM)."""
    t = old.loc[old["period"].isin(["before", "after"])]
    t = t.loc[t.groupby("month")["exposure"].transform("sum") > 0]
    after = t["period"] == "after"
    sums = t.assign(after=after).groupby(["after", "age_from"])[["sql_old", "exposure"]].sum()
    nb, eb = sums.loc[False, "sql_old"], sums.loc[False, "exposure"]
    na, ea = sums.loc[True, "sql_old"], sums.loc[True, "exposure"]
    nb, eb = nb.reindex(na.index, fill_value=0), eb.reindex(na.index, fill_value=0)
    nb, eb, na, ea = (x.to_numpy(float) for x in (nb, eb, na, ea))
    theta = 1.0
    for _ in range(100_000):
        lam = (nb + na) / (eb + theta * ea)
        theta, old = na.sum() / (ea * lam).sum(), theta
        if abs(theta - old) < 1e-13 * theta:
            break
    return float(theta)


def test_same_age_lift_recovers_the_truth_where_the_crude_fails() -> None:
    # the hazard fades with age (90 days) and the database ages: the crude ratio is biased down
    sd, costs = simulate(r0=0.003, decay_days=90, per_month=100, seed=5)
    cfg = sim_config()
    old = old_lead_table(sd, cfg, SIM_AS_OF)
    e = nurture_effect(old)
    assert e.lift == pytest.approx(ipf_lift(old), rel=1e-6)
    assert e.lift_ci_low < 2.5 < e.lift_ci_high
    assert e.crude_lift < 1.8
    # the naive count difference overstates: the old-lead base grows over time
    assert e.naive_incremental_sqls > e.incremental_sqls > 0
    m = monthly_roi(sd, costs, cfg, SIM_AS_OF)
    v = sql_value(sd, cfg, SIM_AS_OF)
    r1 = nurture_roi(e, m, v, cfg)
    assert r1 == nurture_roi(e, m, v, cfg)  # same seed, same interval
    assert r1.nurture_cost == 27_000
    assert r1.roi_ci_low < r1.roi < r1.roi_ci_high
    assert r1.incremental_sqls_ci_low < r1.incremental_sqls < r1.incremental_sqls_ci_high
    assert (
        r1.cost_per_incremental_sql_ci_low
        < r1.cost_per_incremental_sql
        < r1.cost_per_incremental_sql_ci_high
    )
    r3 = nurture_roi(e, m, v, sim_config(seed=12))
    assert r3.roi == r1.roi and (r3.roi_ci_low, r3.roi_ci_high) != (r1.roi_ci_low, r1.roi_ci_high)


def test_conversion_before_after_like_with_like(sim) -> None:
    sd, _ = sim
    cfg = sim_config(conversion_window_days=60)
    c = conversion_before_after(sd, cfg, SIM_AS_OF).set_index(["from_stage", "to_stage", "period"])
    assert len(c) == 8
    # oracle: explicit cohorts and windows
    w = pd.Timedelta(days=60)
    cohorts = {
        "before": sd["created_at"] < pd.Timestamp("2025-10-01") - w,
        "after": (sd["created_at"] >= pd.Timestamp("2025-10-01"))
        & (sd["created_at"] < SIM_AS_OF - w),
    }
    for period, mask in cohorts.items():
        co = sd.loc[mask]
        dead = co["created_at"] + w
        mql = co["mql_at"] <= dead
        sql = co["sql_at"] <= dead
        row = c.loc[("mql", "sql", period)]
        assert (row["n_from"], row["n_to"]) == (mql.sum(), (mql & sql).sum())
        lo, hi = proportion_confint(row["n_to"], row["n_from"], method="wilson")
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
        assert c.loc[("lead", "mql", period), "n_from"] == len(co)
    # nurturing lifts MQL -> SQL within 60 days (old-lead SQLs between day 30 and 60)
    assert c.loc[("mql", "sql", "after"), "rate"] > c.loc[("mql", "sql", "before"), "rate"]


# --------------------------------------------------------------------------------------------
# Holdout


def test_holdout_incremental_by_hand() -> None:
    n = 10
    ids = [f"c{i}" for i in range(n)] + [f"t{i}" for i in range(n)]
    assigned = pd.Timestamp("2026-01-10")
    # control: 1 of 10 qualifies within 30 days; treatment: 4 of 10; plus one treated lead that
    # qualifies on day 40 (outside the window), one already qualified before assignment,
    # and one assigned too late to have a complete window
    sql = [assigned + pd.Timedelta(days=5)] + [pd.NaT] * 9
    sql += [assigned + pd.Timedelta(days=d) for d in (1, 10, 20, 30)] + [
        assigned + pd.Timedelta(days=40)
    ]
    sql += [pd.NaT] * 5
    ids += ["early", "late"]
    sql += [assigned - pd.Timedelta(days=3), pd.NaT]
    sd = pd.DataFrame(
        {"lead_id": pd.Series(ids, dtype="str"), "sql_at": pd.Series(sql, dtype="datetime64[us]")}
    )
    sd["created_at"] = pd.Timestamp("2025-06-01")
    asg = pd.DataFrame(
        {
            "lead_id": pd.Series(ids, dtype="str"),
            "experiment_id": "nurture-holdout",
            "variant": ["holdout"] * n + ["nurture"] * n + ["nurture", "nurture"],
            "assigned_at": [assigned] * (2 * n + 1) + [pd.Timestamp("2026-06-20")],
        }
    )
    asg["assigned_at"] = asg["assigned_at"].astype("datetime64[us]")
    cfg = HoldoutConfig("nurture-holdout", "holdout", window_days=30, cost_per_treated_lead=3.0)
    h = holdout_incremental(sd, asg, cfg, pd.Timestamp("2026-06-30"))
    assert h.treatment_variant == "nurture"
    assert (h.n_control, h.sql_control, h.n_treatment, h.sql_treatment) == (10, 1, 10, 4)
    assert h.excluded_already_qualified == 1 and h.excluded_immature == 1
    assert h.diff == pytest.approx(0.3)
    assert h.incremental_sqls == pytest.approx(3.0)
    assert h.cost_per_incremental_sql == pytest.approx(3.0 / 0.3)
    lo, hi = confint_proportions_2indep(4, 10, 1, 10, compare="diff")
    assert (h.diff_ci_low, h.diff_ci_high) == pytest.approx((lo, hi))
    assert h.cost_per_incremental_sql_ci_low == pytest.approx(3.0 / hi)
    assert h.cost_per_incremental_sql_ci_high == (np.inf if lo <= 0 else pytest.approx(3.0 / lo))
    with pytest.raises(DataError, match="not in experiment"):
        holdout_incremental(
            sd, asg, HoldoutConfig("nurture-holdout", "control"), pd.Timestamp("2026-06-30")
        )
    with pytest.raises(NotEnoughData) as absent:
        holdout_incremental(sd, asg, HoldoutConfig("other", "holdout"), pd.Timestamp("2026-06-30"))
    assert absent.value.sentence().startswith(
        "Experiment 'other' (roi.holdout.experiment_id) has no rows in the assignments table "
        "(it holds nurture-holdout)"
    )


# --------------------------------------------------------------------------------------------
# Plots: each returns a Figure whose title states the finding


def test_plots_state_the_finding(sim) -> None:
    from leadnb.report.plots import roi as plots

    inputs = ScenarioInputs(nurture_cost=10_000, win_rate=0.2, deal_value=24_000)
    fig = plots.plot_scenario(scenario_table(inputs))
    title = fig._suptitle.get_text()
    assert f"{ref.ARTICLE_SQL_TOTAL_BEFORE} into {ref.ARTICLE_SQL_TOTAL_AFTER}" in title
    # "750 -> 500" or "from 750 to 500" (the chart titles are being reworded in report/plots)
    cps = f"{ref.ARTICLE_COST_PER_SQL_BEFORE} (->|to) {ref.ARTICLE_COST_PER_SQL_AFTER}"
    assert re.search(cps, title)
    lift, budget = ref.ARTICLE_NURTURE_LIFT, ref.ARTICLE_LEAD_GEN_BUDGET
    grid = sensitivity_grid(inputs, [1, lift, 4], [45_000, budget, 135_000])
    ax = plots.plot_sensitivity(grid).axes[0]
    # at lift 4 the article's budget buys 80 + 4 x 40 = 240 SQLs: 90,000 / 240 = 375
    assert ax.get_title().startswith(
        f"Cost per SQL falls from {ref.ARTICLE_COST_PER_SQL_BEFORE} to 375"
    )
    sd, costs = sim
    cfg = sim_config()
    m = monthly_roi(sd, costs, cfg, SIM_AS_OF)
    assert (
        "after nurturing started" in plots.plot_monthly(m, cfg.nurture_start)._suptitle.get_text()
    )
    old = old_lead_table(sd, cfg, SIM_AS_OF)
    fig = plots.plot_monthly(m, cfg.nurture_start, lift=2.46, old_table=old)
    assert re.search(r"(2\.5x|2\.46×) as often", fig._suptitle.get_text())  # lift 2.46
    rates = old.groupby("month")[["sql_old", "exposure"]].sum()
    expected = (rates["sql_old"] / rates["exposure"] * 100).to_numpy()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), expected)  # the lift's rates
    conv = conversion_before_after(sd, cfg, SIM_AS_OF)
    assert "before vs" in plots.plot_conversion(conv).axes[0].get_title()
    import matplotlib.pyplot as plt

    plt.close("all")


# --------------------------------------------------------------------------------------------
# Not enough data: one sentence, and the run date from which the section appears. Every date
# below is worked out by hand from the hand-built dataset (leads from 2025-01-01 00:00, nurture
# from 2025-03-01, new_lead_days 30: the first lead turns old on 2025-01-31).


def not_enough(call, *args, **kw) -> str:
    with pytest.raises(NotEnoughData) as err:
        call(*args, **kw)
    return err.value.sentence()


def effect_at(hand: pd.DataFrame, cfg: RoiConfig, as_of: str, **kw) -> str:
    return not_enough(lambda: nurture_effect(old_lead_table(hand, cfg, pd.Timestamp(as_of), **kw)))


def test_too_few_months_after_the_start_names_the_first_run_date(hand, hand_config) -> None:
    # March is the only complete month after the start on 31 March and on 29 April; April is
    # complete on its last day, 30 April, the first run with 2 months after the start
    expected = (
        "The before/after comparison needs 2 complete months after the nurture start (2025-03-01) "
        "and has 1 (2025-03); it appears in the run of 2025-04-30 or later."
    )
    assert effect_at(hand, hand_config, "2025-03-31") == expected
    assert effect_at(hand, hand_config, "2025-04-29") == expected
    assert nurture_effect(old_lead_table(hand, hand_config, pd.Timestamp("2025-04-30"))).lift > 0
    # on 1 March the start's own month is not complete: none after yet
    assert effect_at(hand, hand_config, "2025-03-01").startswith(
        "The before/after comparison needs 2 complete months after the nurture start "
        "(2025-03-01) and has 0; it appears in the run of 2025-04-30 or later"
    )
    # a mid-month start leaves its month out: March 15 -> April and May -> 31 May
    from dataclasses import replace

    mid = replace(hand_config, nurture_start=pd.Timestamp("2025-03-15"))
    assert effect_at(hand, mid, "2025-04-30").endswith(
        "has 1 (2025-04); it appears in the run of 2025-05-31 or later."
    )


def test_analysis_date_before_the_start(hand, hand_config) -> None:
    assert effect_at(hand, hand_config, "2025-02-20") == (
        "The analysis date 2025-02-20 is before the nurture start (2025-03-01): the before/after "
        "comparison needs 2 complete months after the start and has none; it appears in the run "
        "of 2025-04-30 or later."
    )


def test_young_data_no_old_lead_yet(hand, hand_config) -> None:
    from dataclasses import replace

    # new_lead_days 60: the first lead turns old on 2 March; on 28 February no lead is old.
    # With the start on 1 June, the before side has March..May: the comparison needs June and
    # July after it, complete on 31 July.
    june = replace(hand_config, nurture_start=pd.Timestamp("2025-06-01"))
    assert effect_at(hand, june, "2025-02-28", new_lead_days=60) == (
        "No lead is old yet on 2025-02-28 (a lead is old 60 days after it is created; the first "
        "lead turns old on 2025-03-02), so there is no before/after comparison; it appears in the "
        "run of 2025-07-31 or later."
    )
    # with the start on 1 March, no complete month before it can hold an old lead: never
    assert effect_at(hand, hand_config, "2025-02-28", new_lead_days=60).endswith(
        "it cannot appear with this start date: the first lead turned old on 2025-03-02, so "
        "roi.nurture_start must be 2025-05-01 or later (or load earlier history)."
    )


def test_no_complete_month_yet(hand, hand_costs, hand_config) -> None:
    expected = (
        "No calendar month is complete on 2025-01-15 (the first lead was created on 2025-01-01); "
        "the monthly figures appear in the run of 2025-01-31 or later."
    )
    as_of = pd.Timestamp("2025-01-15")
    assert not_enough(monthly_roi, hand, hand_costs, hand_config, as_of) == expected
    assert not_enough(old_lead_table, hand, hand_config, as_of) == expected
    assert len(monthly_roi(hand, hand_costs, hand_config, pd.Timestamp("2025-01-31"))) == 1
    before_any = not_enough(monthly_roi, hand, hand_costs, hand_config, pd.Timestamp("2024-12-31"))
    assert before_any.startswith("No lead was created by the analysis date 2024-12-31")
    assert before_any.endswith("appear in the run of 2025-01-31 or later.")


def test_comparison_date_and_the_never_case() -> None:
    from leadnb.roi.monthly import comparison_date, comparison_missing, run_date_for

    assert run_date_for(pd.Timestamp("2024-02-01")) == pd.Timestamp("2024-02-29")
    first = pd.Timestamp("2025-01-01 10:00")  # old from 31 January: January has an old lead
    assert comparison_date(first, pd.Timestamp("2025-03-01")) == pd.Timestamp("2025-04-30")
    assert comparison_date(first, pd.Timestamp("2025-02-28")) is None  # only January before
    assert comparison_date(first, pd.Timestamp("2025-03-02")) == pd.Timestamp("2025-05-31")
    # before months missing although the start is late enough: leads qualified while new
    s = comparison_missing(
        0,
        2,
        nurture_start=pd.Timestamp("2025-03-01"),
        as_of=pd.Timestamp("2025-04-30"),
        new_lead_days=30,
        first_created=first,
    ).sentence()
    assert s.endswith(
        "has 0: leads qualified before they turned old; it cannot appear with this "
        "start date and stage history."
    )


def test_no_old_lead_sqls(hand, hand_config) -> None:
    old = old_lead_table(hand, hand_config, AS_OF)
    s = not_enough(nurture_effect, old.assign(sql_old=[0.0, 0.0, 1.0, 1.0]))
    assert s.startswith(
        "Old leads had no SQLs in the 2 complete months before the nurture start (2025-03-01)"
    )
    s = not_enough(nurture_effect, old.assign(sql_old=[0.0, 1.0, 0.0, 0.0]))
    assert s.startswith(
        "Old leads have no SQLs in the 2 complete months after the nurture start (2025-03-01)"
    )


def test_conversion_rates_wait_for_a_closed_window(hand, hand_config) -> None:
    # window 30 days; E (created 1 March) is the first lead since the start; its window closes
    # on 31 March, so it counts from the run of 1 April (created_at < as_of - 30 days)
    s = not_enough(conversion_before_after, hand, hand_config, pd.Timestamp("2025-03-31"))
    assert s == (
        "No lead created since the nurture start (2025-03-01) has had its 30-day window close by "
        "2025-03-31; the conversion rates appear in the run of 2025-04-01 or later."
    )
    c = conversion_before_after(hand, hand_config, pd.Timestamp("2025-04-01"))
    assert c.loc[c["period"] == "after", "n_from"].max() == 1
    from dataclasses import replace

    s = not_enough(
        conversion_before_after, hand, replace(hand_config, conversion_window_days=90), AS_OF
    )
    assert s.startswith(
        "No lead was created at least 90 days (roi.conversion_window_days) before the nurture "
        "start (2025-03-01)"
    )
    assert "cannot appear with this start date" in s


def test_sql_value_waits_for_matured_opportunities(hand, hand_config) -> None:
    from dataclasses import replace

    # A: SQL 10 January, opportunity 20 January; with a 30-day window the SQL is judged from
    # the run of 9 February (SQL on or before as_of - 30 days)
    s = not_enough(sql_value, hand, hand_config, pd.Timestamp("2025-02-05"))
    assert s.startswith("No SQL reached by 2025-01-06 (old enough to judge")
    assert s.endswith("it appears in the run of 2025-02-09 or later.")
    assert sql_value(hand, hand_config, pd.Timestamp("2025-02-09")).n_sql == 1
    # the measured win rate waits for A's opportunity (20 January) to be 30 days old
    measured = replace(hand_config, win_rate=None)
    s = not_enough(sql_value, hand, measured, pd.Timestamp("2025-02-18"))
    assert s.endswith(
        "it appears in the run of 2025-02-19 or later, or set roi.win_rate in the params file."
    )
    assert sql_value(hand, measured, pd.Timestamp("2025-02-19")).n_opportunity == 1


def test_roi_without_nurture_spend_or_costs(hand, hand_costs, hand_config) -> None:
    e = nurture_effect(old_lead_table(hand, hand_config, AS_OF))
    v = sql_value(hand, hand_config, AS_OF)
    no_nurture = hand_costs.loc[hand_costs["program"] != "nurture"]
    m = monthly_roi(hand, no_nurture, hand_config, AS_OF)
    assert not_enough(nurture_roi, e, m, v, hand_config).startswith(
        "The ROI needs the nurture spend of the 2 complete months after the start, and the costs "
        "table has none with program 'nurture'"
    )
    m = monthly_roi(hand, None, hand_config, AS_OF)
    assert not_enough(nurture_roi, e, m, v, hand_config).startswith(
        "The ROI needs the nurture spend after the start, and no costs table is loaded"
    )


# --------------------------------------------------------------------------------------------
# Holdout: not enough data, and the interim label


def holdout_case(*, late: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """10 control and 10 treated leads assigned on 10 January 2026 (control: 1 SQL within 30
    days; treated: 4), optionally with one more treated lead assigned on 20 June."""
    n = 10
    assigned = pd.Timestamp("2026-01-10")
    ids = [f"c{i}" for i in range(n)] + [f"t{i}" for i in range(n)]
    sql = [assigned + pd.Timedelta(days=5)] + [pd.NaT] * (n - 1)
    sql += [assigned + pd.Timedelta(days=d) for d in (1, 10, 20, 30)] + [pd.NaT] * (n - 4)
    variants = ["holdout"] * n + ["nurture"] * n
    dates = [assigned] * (2 * n)
    if late:
        ids, sql, variants = ids + ["late"], sql + [pd.NaT], variants + ["nurture"]
        dates = dates + [pd.Timestamp("2026-06-20")]
    sd = pd.DataFrame(
        {"lead_id": pd.Series(ids, dtype="str"), "sql_at": pd.Series(sql, dtype="datetime64[us]")}
    )
    sd["created_at"] = pd.Timestamp("2025-06-01")
    sd["created_at"] = sd["created_at"].astype("datetime64[us]")
    asg = pd.DataFrame(
        {
            "lead_id": pd.Series(ids, dtype="str"),
            "experiment_id": "nurture-holdout",
            "variant": pd.Series(variants, dtype="str"),
            "assigned_at": pd.Series(dates, dtype="datetime64[us]"),
        }
    )
    return sd, asg


HOLDOUT = HoldoutConfig("nurture-holdout", "holdout", window_days=30, cost_per_treated_lead=3.0)


def test_holdout_not_enough_data() -> None:
    sd, asg = holdout_case()
    # before the first assignment, and before the first window (10 Jan + 30 days) closes
    s = not_enough(holdout_incremental, sd, asg, HOLDOUT, pd.Timestamp("2026-01-05"))
    assert s == (
        "Experiment 'nurture-holdout' has not assigned leads to both arms by 2026-01-05 (its "
        "first assignment is dated 2026-01-10); it appears in the run of 2026-02-09 or later."
    )
    s = not_enough(holdout_incremental, sd, asg, HOLDOUT, pd.Timestamp("2026-02-08"))
    assert s == (
        "No 30-day window of arm 'holdout' of experiment 'nurture-holdout' has closed by "
        "2026-02-08; the holdout result needs one in each arm; it appears in the run of "
        "2026-02-09 or later."
    )
    assert holdout_incremental(sd, asg, HOLDOUT, pd.Timestamp("2026-02-09")).n_control == 10
    # one arm only
    one = asg.loc[asg["variant"] == "holdout"]
    s = not_enough(holdout_incremental, sd, one, HOLDOUT, pd.Timestamp("2026-06-30"))
    assert s.startswith("Experiment 'nurture-holdout' has one arm only (holdout)")


def registration(**kw):
    from leadnb.experiments.registration import Registration

    d = {
        "id": "nurture-holdout",
        "hypothesis": "nurturing old leads makes more of them qualify",
        "variable": "nurture e-mails",
        "control": "holdout",
        "variants": ["nurture"],
        "primary_metric": {"stage": "sql", "window_days": 30},
        "target_effect": 0.1,
        "start": "2026-01-10",
    }
    return Registration.from_dict({**d, **kw})


def test_holdout_interim_without_a_registration() -> None:
    sd, asg = holdout_case()
    # the late lead's window (20 June + 30 days) is open on 30 June: interim
    h = holdout_incremental(sd, asg, HOLDOUT, pd.Timestamp("2026-06-30"))
    assert h.interim and h.label.startswith("randomised holdout, interim")
    assert h.interim_reason == (
        "1 assignment's 30-day window is still open (the last closes on 2026-07-20)"
    )
    assert roi_metrics(holdout=h)["holdout_interim"] is True
    # on 1 March the late lead is not assigned yet: assignment goes on after the analysis date
    h = holdout_incremental(sd, asg, HOLDOUT, pd.Timestamp("2026-03-01"))
    assert (
        h.interim and h.interim_reason == "assignment goes on after 2026-03-01 (1 later assignment)"
    )
    # every window closed and nothing assigned later: final
    sd, asg = holdout_case(late=False)
    h = holdout_incremental(sd, asg, HOLDOUT, pd.Timestamp("2026-03-01"))
    assert (h.interim, h.interim_reason) == (False, "")
    assert h.label == "randomised holdout: preferred measure"
    assert roi_metrics(holdout=h)["holdout_interim"] is False


def test_holdout_metrics_say_how_many_leads() -> None:
    from leadnb.report.answers import roi_answer

    sd, asg = holdout_case()
    # on 30 June the late treated lead's window is open: 10 held out, 10 nurtured counted
    h = holdout_incremental(sd, asg, HOLDOUT, pd.Timestamp("2026-06-30"))
    m = roi_metrics(holdout=h)
    assert (m["holdout_n_treatment"], m["holdout_n_control"]) == (10, 10)
    assert m.kinds["holdout_n_treatment"] == m.kinds["holdout_n_control"] == Kind.COUNT
    # the cost per extra SQL with its interval (3.0 per treated lead over the diff's interval)
    lo, hi = (
        m["holdout_cost_per_incremental_sql_ci_low"],
        m["holdout_cost_per_incremental_sql_ci_high"],
    )
    assert lo == pytest.approx(3.0 / m["holdout_diff_ci_high"])
    # 10 leads an arm: the diff's interval reaches 0, so no upper end (metrics.json: null)
    assert m["holdout_diff_ci_low"] < 0 and hi == np.inf
    assert m["holdout_cost_per_incremental_sql"] == pytest.approx(10.0)
    assert lo < m["holdout_cost_per_incremental_sql"] < hi
    # the answer says the holdout's n (4 of 10 vs 1 of 10: +30 pts)
    text = " ".join(roi_answer(m).findings)
    assert "so far +30.0 pts on the SQL rate" in text
    assert "over 10 nurtured and 10 held-out leads" in text
    assert "per extra SQL" not in text  # no cost per extra SQL without a detectable difference


def test_holdout_interim_follows_the_ab_readout_with_a_registration() -> None:
    from leadnb.experiments.readout import readout

    sd, asg = holdout_case()
    cases = [
        # enrolment open until 31 July: interim, as the A/B readout says
        (registration(end="2026-07-31"), "enrolment runs to 2026-07-31"),
        # enrolment over, but the holdout arm has 10 of its planned 11
        (registration(end="2026-06-25", planned_n_per_arm=11), "below planned n (holdout 10 of 11"),
        # enrolment over and the planned n reached: final, although the late window is open
        (registration(end="2026-06-25", planned_n_per_arm=10), ""),
    ]
    as_of = pd.Timestamp("2026-06-30")
    for reg, why in cases:
        h = holdout_incremental(sd, asg, HOLDOUT, as_of, registration=reg)
        ab = readout(reg, asg, sd, as_of)
        assert h.interim == ab.interim == bool(why)
        assert h.interim_reason.startswith(why)
        if why:
            assert f"interim look ({h.interim_reason})" in ab.verdict


def test_clip_as_of_never_writes_the_callers_frame() -> None:
    """clip_as_of shares the caller's columns when every lead is known (no copy of a million
    rows), so it must still leave the caller's stage dates as they were."""
    from leadnb.roi.monthly import clip_as_of

    sd = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "created_at": pd.to_datetime(["2025-01-05", "2025-01-06"]).astype("datetime64[us]"),
            "sql_at": pd.to_datetime(["2025-01-20", "2025-03-01"]).astype("datetime64[us]"),
        }
    )
    before = sd.copy()
    out = clip_as_of(sd, pd.Timestamp("2025-01-31"))
    assert out["sql_at"].isna().tolist() == [False, True]
    pd.testing.assert_frame_equal(sd, before)
    out.loc[0, "created_at"] = pd.Timestamp("2000-01-01")
    pd.testing.assert_frame_equal(sd, before)
    # a backfill: the lead created after as_of is dropped, the caller keeps it
    late = clip_as_of(sd, pd.Timestamp("2025-01-05"))
    assert late["lead_id"].tolist() == ["a"] and len(sd) == 2
