"""leadnb.experiments.readout: every number against statsmodels, scipy, lifelines or a hand example.

The external reference numbers (DOMAIN.md's statsmodels figures, the normal quantile) come from
``tests/reference.py`` with their provenance; ``tests/test_reference.py`` recomputes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    power_proportions_2indep,
    proportions_ztest,
)

from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.experiments import comparisons, design, outcomes
from leadnb.experiments import log as exp_log
from leadnb.experiments import readout as abtest
from leadnb.experiments.log import LOG_COLUMNS
from leadnb.experiments.registration import Registration, registration_fingerprint
from tests import reference as ref

AS_OF = pd.Timestamp("2026-06-30")
# DOMAIN.md's z-test arms as make_data's arm -> (n, conversions): 120/1000 vs 150/1000, whose
# pooled two-sided z-test p is ref.Z_TEST_P
(_X0, _N0), (_X1, _N1) = ref.Z_TEST_COUNTS
Z_ARMS = {"monthly": (_N0, _X0), "weekly": (_N1, _X1)}


def reg(**over: Any) -> Registration:
    d = {
        "id": "exp-a",
        "hypothesis": "weekly beats monthly",
        "variable": "cadence",
        "control": "monthly",
        "variants": ["weekly"],
        "primary_metric": {"stage": "sql", "window_days": 30},
        "target_effect": 0.02,
        "planned_n_per_arm": 1000,
        "start": "2026-01-01",
        "end": "2026-03-31",
        "decision_rule": "ship if p < 0.05",
    }
    d.update(over)
    return Registration.from_dict(d)


def make_data(
    arms: dict[str, tuple[int, int]],
    *,
    assigned: str = "2026-02-01",
    days_to_sql: int = 10,
    prefix: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignments + wide stage dates: arm -> (n, conversions), converters reach sql after N days."""
    asg, wide = [], []
    for arm, (n, x) in arms.items():
        ids = [f"{prefix}{arm}-{i}" for i in range(n)]
        at = pd.Timestamp(assigned)
        sql = [at + pd.Timedelta(days=days_to_sql) if i < x else pd.NaT for i in range(n)]
        asg.append(
            pd.DataFrame(
                {"lead_id": ids, "experiment_id": "exp-a", "variant": arm, "assigned_at": at}
            )
        )
        wide.append(
            pd.DataFrame({"lead_id": ids, "created_at": at - pd.Timedelta(days=5), "sql_at": sql})
        )
    a = pd.concat(asg, ignore_index=True)
    w = pd.concat(wide, ignore_index=True)
    for df, cols in ((a, ["assigned_at"]), (w, ["created_at", "sql_at"])):
        for c in cols:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
    w["lost_at"] = pd.Series(pd.NaT, index=w.index).astype("datetime64[us]")
    return a, w


# ---------------------------------------------------------------------------- reference numbers


def test_z_test_p_equals_domain_reference_and_statsmodels_proportions_ztest() -> None:
    # DOMAIN.md: 120/1000 vs 150/1000, pooled two-sided z-test p = 0.049640
    (x0, n0), (x1, n1) = ref.Z_TEST_COUNTS
    p = comparisons.z_test_p(x0, n0, x1, n1)
    assert round(p, 6) == ref.Z_TEST_P
    assert p == pytest.approx(proportions_ztest([x1, x0], [n1, n0])[1], rel=1e-12)


def test_holm_equals_domain_reference_and_statsmodels_multipletests() -> None:
    p = list(ref.HOLM_P)
    adj = comparisons.holm(p)
    assert tuple(adj < ref.HOLM_ALPHA) == ref.HOLM_REJECT  # rejects the first and last only
    np.testing.assert_allclose(adj, ref.HOLM_ADJUSTED)
    np.testing.assert_allclose(adj, multipletests(p, method="holm")[1])
    assert np.isnan(comparisons.holm([0.01, np.nan])[1])


def test_srm_p_equals_domain_reference_and_scipy_chisquare() -> None:
    # DOMAIN.md: 5000 vs 5200 at 50/50 -> p = 0.047670, not an SRM at 0.001
    a, b = ref.SRM_COUNTS
    p = comparisons.srm_p_value({"a": a, "b": b}, {"a": 0.5, "b": 0.5})
    assert round(p, 6) == ref.SRM_P
    assert p == pytest.approx(stats.chisquare(list(ref.SRM_COUNTS)).pvalue)
    assert comparisons.SRM_THRESHOLD == ref.SRM_THRESHOLD
    assert p > comparisons.SRM_THRESHOLD
    # an arm with no leads counts as 0; unequal allocation uses the planned shares
    assert comparisons.srm_p_value({"a": 10}, {"a": 0.5, "b": 0.5}) < 0.01
    assert comparisons.srm_p_value({"a": 250, "b": 750}, {"a": 0.25, "b": 0.75}) == pytest.approx(
        1.0
    )


# ---------------------------------------------------------------------------- comparisons


def test_compare_arms_intervals_equal_statsmodels_confint_proportions_2indep() -> None:
    r = comparisons.compare_arms(120, 1000, 150, 1000)
    lo, hi = confint_proportions_2indep(150, 1000, 120, 1000, method="newcomb", compare="diff")
    assert r.diff == pytest.approx(0.03)
    assert (r.diff_ci_low, r.diff_ci_high) == pytest.approx((lo, hi))
    lo, hi = confint_proportions_2indep(150, 1000, 120, 1000, method="log", compare="ratio")
    assert r.rel_lift == pytest.approx(0.25)
    assert (r.rel_lift_ci_low, r.rel_lift_ci_high) == pytest.approx((lo - 1, hi - 1))
    # hand check of the log (Katz) interval for the ratio
    se = np.sqrt(1 / 150 - 1 / 1000 + 1 / 120 - 1 / 1000)
    assert r.rel_lift_ci_low == pytest.approx(1.25 * np.exp(-ref.Z_975 * se) - 1, rel=1e-5)
    assert r.test == "z"
    assert r.p_value == pytest.approx(ref.Z_TEST_P, abs=1e-6)


def test_fisher_p_equals_scipy_fisher_exact_when_expected_counts_are_small() -> None:
    assert comparisons.needs_exact(3, 40, 9, 40)
    assert not comparisons.needs_exact(120, 1000, 150, 1000)
    r = comparisons.compare_arms(3, 40, 9, 40)
    assert r.test == "fisher"
    assert r.p_value == pytest.approx(stats.fisher_exact([[9, 31], [3, 37]]).pvalue)
    # zero conversions in the variant: the ratio interval falls back to log-adjusted
    r0 = comparisons.compare_arms(5, 40, 0, 40)
    lo, _ = confint_proportions_2indep(0, 40, 5, 40, method="log-adjusted", compare="ratio")
    assert r0.rel_lift_ci_low == pytest.approx(lo - 1)
    assert np.isnan(comparisons.compare_arms(0, 0, 1, 10).diff)


def test_prob_beat_control_against_monte_carlo_and_integration() -> None:
    x_c, n_c, x_v, n_v = 120, 1000, 150, 1000
    exact = comparisons.prob_beat_control(x_c, n_c, x_v, n_v)
    draws = 400_000
    mc = comparisons.prob_beat_control_mc(x_c, n_c, x_v, n_v, draws=draws, seed=20260630)
    se = np.sqrt(exact * (1 - exact) / draws)
    assert abs(exact - mc) < 4 * se
    # independent: integrate pdf_v(t) * cdf_c(t) over [0, 1]
    bc, bv = stats.beta(x_c + 1, n_c - x_c + 1), stats.beta(x_v + 1, n_v - x_v + 1)
    quad, _ = integrate.quad(
        lambda t: bv.pdf(t) * bc.cdf(t), 0, 0.4, points=[0.12, 0.15], limit=200
    )
    assert exact == pytest.approx(quad, abs=1e-8)


@settings(max_examples=50, deadline=None)
@given(
    n_c=st.integers(1, 300),
    n_v=st.integers(1, 300),
    fc=st.floats(0, 1),
    fv=st.floats(0, 1),
)
def test_prob_beat_control_is_a_probability_and_symmetric(
    n_c: int, n_v: int, fc: float, fv: float
) -> None:
    x_c, x_v = round(fc * n_c), round(fv * n_v)
    p = comparisons.prob_beat_control(x_c, n_c, x_v, n_v)
    q = comparisons.prob_beat_control(x_v, n_v, x_c, n_c)
    assert 0 <= p <= 1
    assert p + q == pytest.approx(1.0, abs=1e-9)


# ---------------------------------------------------------------------------- outcomes


def test_outcomes_from_stages_hand_example() -> None:
    a = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d", "e"],
            "variant": "monthly",
            "assigned_at": pd.to_datetime(
                ["2026-05-01", "2026-05-01", "2026-05-01", "2026-06-20", "2026-06-20"]
            ).astype("datetime64[us]"),
        }
    )
    w = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d", "e"],
            "sql_at": pd.to_datetime(
                ["2026-05-11", "2026-06-15", "2026-04-01", "2026-06-25", "2026-07-05"]
            ).astype("datetime64[us]"),
        }
    )
    out = outcomes.outcomes_from_stages(a, w, "sql", 30, AS_OF).set_index("lead_id")
    # a: sql after 10 days -> 1; b: after 45 days -> 0; c: before assignment -> prior
    # d: converted after 5 days but window open -> immature; e: sql after as_of -> not reached yet,
    # censored at the end of the as_of day (11 days after assignment: leadnb.asof.day_end)
    assert out["converted"].tolist()[:2] == [1.0, 0.0]
    assert out["prior"].tolist() == [False, False, True, False, False]
    assert out["mature"].tolist() == [True, True, True, False, False]
    assert np.isnan(out.loc["d", "converted"]) and np.isnan(out.loc["e", "converted"])
    assert out["event"].tolist() == [True, False, False, True, False]
    assert out["duration"].tolist() == [10.0, 30.0, 30.0, 5.0, 11.0]
    with pytest.raises(ParamsError, match="not a funnel stage"):
        outcomes.outcomes_from_stages(a, w, "opportunity", 30, AS_OF)


def test_immature_leads_would_flip_the_verdict_if_counted_as_failures() -> None:
    # 1,000 mature leads per arm: 120 vs 150 SQLs (p = 0.0496). 1,000 more per arm were assigned
    # 9 days before the end of the as_of day; none has converted yet (they convert after 15 days).
    a1, w1 = make_data(Z_ARMS, assigned="2026-03-01")
    a2, w2 = make_data(
        {"monthly": (1000, 100), "weekly": (1000, 130)},
        assigned="2026-03-23",
        days_to_sql=15,
        prefix="new-",
    )
    asg, wide = pd.concat([a1, a2], ignore_index=True), pd.concat([w1, w2], ignore_index=True)
    as_of = pd.Timestamp("2026-03-31")
    ro = abtest.readout(reg(), asg, wide, as_of)
    p = ro.primary.set_index("variant")
    assert p.loc["weekly", "n"] == 1000 and p.loc["weekly", "n_immature"] == 1000
    assert p.loc["weekly", "p_value"] == pytest.approx(ref.Z_TEST_P, abs=1e-6)
    assert ro.verdict.startswith("weekly beat monthly")
    assert "1,000 leads" not in ro.verdict and "2,000 leads whose 30-day window" in ro.verdict
    # the naive readout (immature leads counted as failures) is no longer significant
    naive = proportions_ztest([150, 120], [2000, 2000])[1]
    assert naive > 0.05
    # the Kaplan-Meier curve uses all 4,000 leads (the new ones censored at day 9); it equals the
    # share converted by day 10 among the mature leads
    curves = ro.curves
    assert curves.groupby("variant")["at_risk"].max().to_dict() == {
        "monthly": 2000.0,
        "weekly": 2000.0,
    }
    assert outcomes.km_at(curves, "weekly", 10).converted == pytest.approx(0.15)
    assert p.loc["weekly", "km_rate"] == pytest.approx(0.15)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # lifelines vs pandas 4 deprecation
def test_km_equals_fixed_window_rate_when_all_mature_and_logrank_matches_lifelines() -> None:
    from lifelines.statistics import logrank_test

    asg, wide = make_data({"monthly": (400, 40), "weekly": (400, 70)})
    ro = abtest.readout(reg(planned_n_per_arm=400, target_effect=0.1), asg, wide, AS_OF)
    p = ro.primary.set_index("variant")
    assert p["km_rate"].to_numpy() == pytest.approx(p["rate"].to_numpy())
    out = outcomes.outcomes_from_stages(asg, wide, "sql", 30, AS_OF)
    v, c = out[out["variant"] == "weekly"], out[out["variant"] == "monthly"]
    lr = logrank_test(c["duration"], v["duration"], c["event"], v["event"])
    assert p.loc["weekly", "logrank_p"] == pytest.approx(lr.p_value)
    # with all leads mature the readout is final and has no caveats
    assert not ro.interim
    assert "caveats" not in ro.verdict
    assert p.loc["weekly", "p_value"] == pytest.approx(proportions_ztest([70, 40], [400, 400])[1])


def test_outcome_column_path_without_stages() -> None:
    rows = []
    for arm, n, x, unknown in (("monthly", 500, 40, 20), ("weekly", 500, 65, 25)):
        y = [1.0] * x + [0.0] * (n - x - unknown) + [np.nan] * unknown
        rows.append(
            pd.DataFrame({"lead_id": [f"{arm}{i}" for i in range(n)], "variant": arm, "outcome": y})
        )
    asg = pd.concat(rows, ignore_index=True).assign(experiment_id="exp-a")
    r = reg(primary_metric={"outcome": "outcome"}, planned_n_per_arm=None)
    ro = abtest.readout(r, asg, None, AS_OF)
    p = ro.primary.set_index("variant")
    assert p.loc["monthly", "n"] == 480 and p.loc["weekly", "n"] == 475
    assert p["n_immature"].tolist() == [20, 25]
    assert "45 leads whose outcome is not known yet are not counted" in ro.verdict
    assert p.loc["weekly", "p_value"] == pytest.approx(proportions_ztest([65, 40], [475, 480])[1])
    assert ro.curves.empty and np.isnan(p.loc["weekly", "km_rate"])
    bad = asg.assign(outcome=asg["outcome"].fillna(2.0))
    with pytest.raises(DataError, match="other than 0, 1"):
        abtest.readout(r, bad, None, AS_OF)
    with pytest.raises(NotEnoughData, match="outcome column outcome is not in the assignments"):
        abtest.readout(r, asg.drop(columns="outcome"), None, AS_OF)
    # a stage metric without any stage dates: one sentence, not a failure
    with pytest.raises(NotEnoughData, match="needs stage dates") as info:
        abtest.readout(reg(), asg.assign(assigned_at=pd.Timestamp("2026-02-01")), None, AS_OF)
    assert "add data.stages" in info.value.sentence()


def test_three_arms_use_holm() -> None:
    asg, wide = make_data({"monthly": (800, 80), "weekly": (800, 110), "daily": (800, 95)})
    r = reg(variants=["weekly", "daily"], planned_n_per_arm=800)
    ro = abtest.readout(r, asg, wide, AS_OF)
    p = ro.primary.set_index("variant")
    raw = [p.loc["weekly", "p_value"], p.loc["daily", "p_value"]]
    np.testing.assert_allclose(
        [p.loc["weekly", "p_adjusted"], p.loc["daily", "p_adjusted"]],
        multipletests(raw, method="holm")[1],
    )
    # one sentence per variant, each with the shared caveat; the numbers from statsmodels
    z = [proportions_ztest([x, 80], [800, 800])[1] for x in (110, 95)]
    p_w, p_d = multipletests(z, method="holm")[1]
    lo_w, hi_w = confint_proportions_2indep(110, 800, 80, 800, method="newcomb")
    lo_d, hi_d = confint_proportions_2indep(95, 800, 80, 800, method="newcomb")
    # power at n = 800 for +2 pts over the observed 10%, planned at alpha / 2 (two comparisons)
    pw = power_proportions_2indep(0.02, 0.10, 800, alpha=0.025, return_results=False)

    def pts(x: float) -> str:
        return f"{x * 100:+.1f} pts"

    caveat = (
        f"caveats: underpowered ({pw:.0%} power for the +2.0 pts target at this n, 80% planned)."
    )
    assert ro.verdict == (
        "weekly beat monthly on reached sql within 30 days: 13.8% vs 10.0% (+3.8 pts, "
        f"95% CI {pts(lo_w)} to {pts(hi_w)}, p = {p_w:.3f}; registered target +2.0 pts reached); "
        f"{caveat} No detectable difference between daily and monthly on reached sql within "
        f"30 days: 11.9% vs 10.0% (+1.9 pts, 95% CI {pts(lo_d)} to {pts(hi_d)}, p = {p_d:.3f}); "
        f"{caveat}"
    )


def test_interim_srm_underpowered_and_guardrail_caveats() -> None:
    asg, wide = make_data({"monthly": (300, 30), "weekly": (500, 60)})
    lost = wide["lead_id"].str.startswith("weekly") & (wide.index % 5 == 0)
    wide.loc[lost, "lost_at"] = pd.Timestamp("2026-02-05")
    r = reg(
        end="2026-12-31",
        guardrail_metrics=[{"stage": "lost", "window_days": 30, "worse_if": "higher"}],
    )
    ro = abtest.readout(r, asg, wide, AS_OF)
    assert ro.interim
    for words in (
        "interim look",
        "repeated looks",
        "sample ratio mismatch",
        "underpowered",
        "guardrail",
    ):
        assert words in ro.verdict
    g = ro.results[ro.results["role"] == "guardrail"].set_index("variant")
    assert g.loc["weekly", "rate"] == pytest.approx(0.2)
    assert ro.results["interim"].all()
    assert list(ro.results.columns[:18]) == abtest.RESULT_COLUMNS[:18]


def test_a_different_primary_metric_is_refused() -> None:
    asg, wide = make_data({"monthly": (100, 10), "weekly": (100, 12)})
    with pytest.raises(ParamsError, match="registered the primary metric"):
        abtest.readout(reg(), asg, wide, AS_OF, metric={"stage": "sql", "window_days": 60})
    with pytest.raises(ParamsError, match="not allowed"):
        abtest.readout(reg(), asg, wide, AS_OF, metric="mql@30")
    ro = abtest.readout(reg(), asg, wide, AS_OF, metric="sql@30")  # restating it is fine
    assert len(ro.primary) == 2


def test_prior_converters_and_bad_rows_are_in_the_exclusion_table() -> None:
    asg, wide = make_data({"monthly": (100, 10), "weekly": (100, 12)})
    wide.loc[wide["lead_id"] == "weekly-50", "sql_at"] = pd.Timestamp("2026-01-15")
    extra = pd.DataFrame(
        {
            "lead_id": ["monthly-1"],
            "experiment_id": "exp-a",
            "variant": "weekly",
            "assigned_at": asg["assigned_at"][:1],
        }
    )
    ro = abtest.readout(reg(), pd.concat([asg, extra], ignore_index=True), wide, AS_OF)
    ex = ro.exclusions.set_index("reason")
    assert ex.loc["reached sql before assignment", "rows"] == 1
    assert ex.loc["lead in more than one variant", "rows"].sum() == 2
    p = ro.primary.set_index("variant")
    assert p.loc["weekly", "n"] == 99 and p.loc["monthly", "n"] == 99
    assert "2 assignment rows excluded" in ro.verdict


def test_log_rows_and_design_table_with_the_statsmodels_sample_size() -> None:
    asg, wide = make_data(Z_ARMS)
    ro = abtest.readout(reg(), asg, wide, AS_OF)
    log = exp_log.log_rows(ro, "run-1")
    assert log.loc[0, "diff"] == pytest.approx(0.03)
    assert log.loc[0, "as_of"] == "2026-06-30" and log.loc[0, "run"] == "run-1"
    assert log.loc[0, "registration"] == registration_fingerprint(reg())
    assert list(exp_log.log_table([ro, ro], "run-1").columns) == LOG_COLUMNS
    assert list(exp_log.log_table([], "run-1").columns) == LOG_COLUMNS
    # DOMAIN.md's sample-size case: 10% -> 12% (reg's target_effect), 3841 per arm, 7682 in all;
    # 700 a week is 100 a day, then the 30-day window
    assert reg().target_effect == ref.SAMPLE_SIZE_DIFF
    base = ref.SAMPLE_SIZE_BASELINE
    d = design.design_table([reg(baseline_rate=base)], inflow_per_week=700)
    assert d.loc[0, "n_per_arm"] == ref.SAMPLE_SIZE_PER_ARM
    assert d.loc[0, "days_needed"] == np.ceil(ref.SAMPLE_SIZE_TOTAL / 100) + 30
    d2 = design.design_table([reg()], inflow_per_week=700, baselines={"exp-a": base})
    assert d2.loc[0, "n_per_arm"] == ref.SAMPLE_SIZE_PER_ARM
    assert np.isnan(design.design_table([reg()], inflow_per_week=700).loc[0, "n_per_arm"])


def test_headline_metrics_and_plots() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leadnb.report.plots import experiments as ab_plots

    asg, wide = make_data(Z_ARMS)
    ro = abtest.readout(reg(), asg, wide, AS_OF)
    m = abtest.headline_metrics([ro])
    assert m["n_experiments"] == 1 and m["n_significant"] == 1 and m["n_interim"] == 0
    # every scalar headline number declares its kind; only the per-experiment mapping has none
    scalars = {k for k, v in m.items() if not isinstance(v, dict)}
    assert set(m.kinds) == scalars and set(m) - scalars == {"experiments"}
    assert set(m["experiments"]["exp-a"]) <= set(abtest.HEADLINE_KINDS)
    # the answer reads the power numbers (not the verdict's words): the readout's power at this
    # n (itself checked against statsmodels below) and the registered power
    assert m["power"] == reg().power
    assert m["power_at_n"] == ro.power_at_n
    assert (m.formatted("control_rate"), m.formatted("diff"), m.formatted("p_value")) == (
        "12.0%",
        "+3.0 pts [+0.0 pts – +6.0 pts]",
        "0.050",
    )
    assert m["diff"] == pytest.approx(0.03) and m["variant"] == "weekly"
    assert m["experiments"]["exp-a"]["p_value"] == pytest.approx(ref.Z_TEST_P, abs=1e-6)
    fig = ab_plots.plot_rates(ro.primary)
    assert fig.axes[0].get_title() == "weekly converts 15.0% vs 12.0% for monthly (+3.0 pts)"
    fig2 = ab_plots.plot_km(ro.curves, window_days=30)
    assert "monthly 12.0% vs weekly 15.0%" in fig2.axes[0].get_title()
    fig3 = ab_plots.plot_diff(ro.results, target_effect=0.02)
    # the chart's wording belongs to leadnb.report.plots; the finding's numbers must be in it
    title3 = fig3.axes[0].get_title()
    assert "+3.0 pts" in title3 and "weekly" in title3, title3
    # a readout with no difference says so
    asg0, wide0 = make_data({"monthly": (500, 50), "weekly": (500, 52)})
    ro0 = abtest.readout(reg(), asg0, wide0, AS_OF)
    assert ab_plots.rates_title(ro0.primary).startswith("No detectable difference")
    assert ro0.verdict.startswith("No detectable difference between weekly and monthly")
    # a report shows the verdict with the metric's display name; the stored one is unchanged
    assert ro.verdict.startswith("weekly beat monthly on reached sql within 30 days: ")
    assert ro.verdict_for_readers == ro.verdict.replace(
        "reached sql within 30 days", "reached SQL within 30 days"
    )
    plt.close("all")


def test_headline_names_the_metric_in_words_the_registered_alpha_and_card_labels() -> None:
    from leadnb.report.answers import ab_answer

    big = {"monthly": (1000, 100), "weekly": (1000, 160)}
    ro = abtest.readout(reg(alpha=0.01, power=0.9), *make_data(big), AS_OF)
    m = abtest.headline_metrics([ro])
    assert (m["metric"], m["metric_label"], m["alpha"]) == (
        "sql_30d",
        "reaching SQL within 30 days",
        0.01,
    )
    assert (m.kinds["metric_label"], m.kinds["alpha"]) == ("text", "p_value")
    rec = m["experiments"]["exp-a"]
    assert (rec["metric_label"], rec["alpha"]) == ("reaching SQL within 30 days", 0.01)
    # the answer says the metric in words and reads the registered alpha
    first = ab_answer(m).first_sentence
    # (its power at this n is below the registered power: ahead, and not decided yet)
    assert first.startswith("In exp-a, weekly is ahead of monthly on reaching SQL within 30 days:")
    assert "do not decide yet" in first
    assert "sql_30d" not in first
    # the card: diff, variant rate, control rate first; a plain label for every key, naming arms
    labels = abtest.card_labels(m)
    assert abtest.HEADLINE[:3] == ("diff", "variant_rate", "control_rate")
    assert set(labels) == set(abtest.HEADLINE) <= set(m)
    assert labels["diff"] == "Difference, weekly vs control"
    assert labels["variant_rate"] == "Share reaching SQL within 30 days on weekly"
    assert labels["control_rate"] == "Share reaching SQL within 30 days on monthly (control)"
    assert all(label and "_" not in label for label in labels.values()), labels
    # an outcome-column metric and a run without readouts still get labels
    assert reg(primary_metric={"outcome": "won"}).primary_metric.sentence_label == (
        "won (a 0/1 outcome column)"
    )
    assert set(abtest.card_labels(abtest.headline_metrics([]))) == set(abtest.HEADLINE)


def test_no_closed_window_yet_still_reads_the_curves() -> None:
    # every lead assigned 10 days before as_of: no fixed-window rate yet, but the KM curve
    # already shows the conversions so far (10% vs 12% by day 10)
    asg, wide = make_data({"monthly": (100, 10), "weekly": (100, 12)}, assigned="2026-06-20")
    ro = abtest.readout(reg(end="2026-12-31"), asg, wide, AS_OF)
    p = ro.primary.set_index("variant")
    assert p["n"].tolist() == [0, 0] and p["n_immature"].tolist() == [100, 100]
    assert p["km_rate"].tolist() == pytest.approx([0.10, 0.12])
    assert ro.verdict.startswith(
        "No readout yet for weekly vs monthly: no lead's 30-day window has closed yet "
        "(the first closes on 2026-07-20)"
    )
    assert ro.interim and np.isnan(abtest.headline_metrics([ro])["diff"])
    # the first window closes 30 days after the first assignment: the readout then has leads
    later = abtest.readout(reg(end="2026-12-31"), asg, wide, pd.Timestamp("2026-07-20"))
    assert later.primary["n"].tolist() == [100, 100]
    before = abtest.readout(reg(end="2026-12-31"), asg, wide, pd.Timestamp("2026-07-19"))
    assert before.primary["n"].tolist() == [0, 0]


def test_no_analysable_assignment_says_why_in_one_sentence() -> None:
    asg, wide = make_data({"monthly": (50, 5), "weekly": (50, 6)}, assigned="2026-02-01")
    r = reg(start="2026-02-01")
    # before enrolment starts
    with pytest.raises(NotEnoughData) as info:
        abtest.readout(r, asg, wide, pd.Timestamp("2026-01-15"))
    assert info.value.sentence() == (
        "Experiment exp-a has no leads yet: enrolment starts on 2026-02-01, after the analysis "
        "date 2026-01-15; its first readout appears in the run of 2026-03-03 or later."
    )
    # a registration without any assignment rows
    with pytest.raises(NotEnoughData, match="no leads in the assignments table") as info:
        abtest.readout(r, asg.assign(experiment_id="other"), wide, AS_OF)
    assert "experiment_id exp-a" in info.value.sentence()
    # rows exist, but all after the analysis date (which is past the registered start)
    with pytest.raises(NotEnoughData, match="no leads assigned by the analysis date 2026-01-31"):
        abtest.readout(reg(start="2026-01-01"), asg, wide, pd.Timestamp("2026-01-31"))
    # every row set aside for a data problem: named with counts
    bad = asg.assign(variant="biweekly")
    with pytest.raises(NotEnoughData, match="None of the 100 assignment rows") as info:
        abtest.readout(r, bad, wide, AS_OF)
    assert "variant not in the registration: 100" in info.value.sentence()


def test_lead_reaching_the_stage_late_on_the_as_of_day_counts_with_a_duration() -> None:
    # regression (lifelines "NaNs were detected"): SQL at 23:00 on the analysis date counted as
    # reached but without a duration when A/B outcomes were cut at midnight of as_of
    asg, wide = make_data({"monthly": (40, 4), "weekly": (40, 6)}, assigned="2026-06-10")
    late = wide["lead_id"] == "weekly-39"
    wide.loc[late, "sql_at"] = pd.Timestamp("2026-06-30 23:00")
    out = outcomes.outcomes_from_stages(asg, wide, "sql", 30, AS_OF).set_index("lead_id")
    assert bool(out.loc["weekly-39", "event"])
    assert out.loc["weekly-39", "duration"] == pytest.approx(20 + 23 / 24)
    assert out["duration"].notna().all()
    ro = abtest.readout(reg(end="2026-12-31"), asg, wide, AS_OF)
    assert outcomes.km_at(ro.curves, "weekly", 30).converted == pytest.approx(7 / 40)
    # the next minute (the day after as_of) is not known yet
    wide.loc[late, "sql_at"] = pd.Timestamp("2026-07-01 00:00")
    out = outcomes.outcomes_from_stages(asg, wide, "sql", 30, AS_OF).set_index("lead_id")
    assert not bool(out.loc["weekly-39", "event"]) and out.loc["weekly-39", "duration"] == 21.0


def _draw(fig: Any) -> None:
    import io

    import matplotlib.pyplot as plt

    fig.savefig(io.BytesIO(), format="png", dpi=20)
    plt.close(fig)


@pytest.mark.parametrize("missing", ["weekly", "monthly"])
def test_an_arm_without_leads_is_named_and_charts_still_draw(missing: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from leadnb.report.plots import experiments as ab_plots

    arms = {"monthly": (300, 30), "weekly": (300, 45)}
    del arms[missing]
    asg, wide = make_data(arms)
    r = reg(guardrail_metrics=[{"stage": "lost", "window_days": 30, "worse_if": "higher"}])
    ro = abtest.readout(r, asg, wide, AS_OF)
    arm = "monthly (control)" if missing == "monthly" else "weekly"
    assert ro.verdict.startswith(f"No readout for weekly vs monthly: the arm {arm} has no leads")
    assert "window" not in ro.verdict.split(";")[0]  # not blamed on immature windows
    assert ab_plots.rates_title(ro.primary) == f"No comparison: {missing} has no leads"
    _draw(ab_plots.plot_rates(ro.primary))
    _draw(ab_plots.plot_diff(ro.results, target_effect=0.02))
    _draw(ab_plots.plot_km(ro.curves, window_days=30))
    m = abtest.headline_metrics([ro])
    assert m["n_significant"] == 0 and np.isnan(m["diff"])
    assert len(exp_log.log_rows(ro, "r")) == 1


@pytest.mark.parametrize(
    ("arms", "words"),
    [
        # n = 37: the Wilson bound of 37/37 is a rounding error below 100% (and of 0/37 above
        # 0%), which gave matplotlib "'xerr' must not contain negative values"
        ({"monthly": (200, 20), "weekly": (37, 0)}, "weekly did worse than monthly"),
        ({"monthly": (37, 37), "weekly": (37, 37)}, "No detectable difference"),
        ({"monthly": (37, 0), "weekly": (37, 0)}, "No detectable difference"),
    ],
)
def test_zero_and_all_conversions_read_out_and_draw(arms: dict, words: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from leadnb.report.plots import experiments as ab_plots

    asg, wide = make_data(arms)
    ro = abtest.readout(reg(), asg, wide, AS_OF)
    assert words in ro.verdict
    p = ro.primary
    assert (
        (p["rate_ci_low"] <= p["rate"] + 1e-12) & (p["rate"] <= p["rate_ci_high"] + 1e-12)
    ).all()
    _draw(ab_plots.plot_rates(p))
    _draw(ab_plots.plot_diff(ro.results, target_effect=0.02))
    _draw(ab_plots.plot_km(ro.curves, window_days=30))


def test_error_bars_never_negative_or_missing() -> None:
    from leadnb.report.plots.experiments import error_bars

    # a Wilson upper bound a rounding error below a rate of 100%, an inverted and a NaN interval
    err = error_bars(
        [1.0, 0.5, np.nan, 0.2], [0.98, 0.6, np.nan, 0.1], [1.0 - 1e-16, 0.4, 0.3, 0.3]
    )
    assert err.shape == (2, 4)
    np.testing.assert_allclose(err, [[0.02, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 0.1]], atol=1e-12)


def test_chart_text_from_user_names_is_drawn_as_written() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from leadnb.report.plots import experiments as ab_plots

    v = "$\\frac{x$"  # a broken mathtext command: fails at draw time if parsed as math
    asg, wide = make_data({"monthly": (300, 30), v: (300, 60)})
    asg["experiment_id"] = "a$b$c"
    r = reg(id="a$b$c", variants=[v])
    ro = abtest.readout(r, asg, wide, AS_OF)
    fig = ab_plots.plot_rates(ro.primary)
    assert fig.axes[0].get_title().startswith(ab_plots.plain(v))
    _draw(fig)
    _draw(ab_plots.plot_diff(ro.results))
    _draw(ab_plots.plot_km(ro.curves, window_days=30, metric_label="a$b$"))
    assert ab_plots.plain("a$b$") == "a\\$b\\$"


def test_readout_and_comparison_are_frozen_results_with_declared_kinds() -> None:
    import dataclasses

    asg, wide = make_data({"monthly": (1000, 120), "weekly": (1000, 150)})
    ro = abtest.readout(reg(), asg, wide, AS_OF)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ro.verdict = "shipped"  # type: ignore[misc]
    frame = ro.to_frame()
    assert frame["name"].tolist() == [
        "as_of",
        "interim",
        "verdict",
        "power_at_n",
        "analysis",
        "always_valid",
        "stop_recommended",
    ]
    assert frame["kind"].tolist() == ["date", "flag", "text", "rate", "text", "flag", "flag"]
    pw = power_proportions_2indep(0.02, 0.12, 1000, return_results=False)
    assert ro.caveats == (
        f"underpowered ({pw:.0%} power for the +2.0 pts target at this n, 80% planned)",
    )
    assert ro.power_at_n == pytest.approx(pw, abs=1e-3)
    assert "weekly beat monthly" in ro._repr_html_()
    # the comparison: one row per number, the interval beside its value (never a tuple)
    cmp = comparisons.compare_arms(120, 1000, 150, 1000)
    rows = cmp.to_frame().set_index("name")
    lo, hi = confint_proportions_2indep(150, 1000, 120, 1000, method="newcomb")
    assert list(rows.index) == ["diff", "rel_lift", "p_value", "test", "prob_beat_control"]
    assert (rows.loc["diff", "ci_low"], rows.loc["diff", "ci_high"]) == pytest.approx((lo, hi))
    assert cmp.metrics().formatted("diff") == "+3.0 pts [+0.0 pts – +6.0 pts]"


def test_reports_show_every_column_with_a_label_and_the_kind_the_results_declare() -> None:
    from leadnb.experiments import assignments

    # the readout table: each declared column's kind is the one its result declares
    declared = {**comparisons.Comparison.kinds(), **abtest.HEADLINE_KINDS}
    for name, col in abtest.RESULT_DISPLAY.items():
        assert name in abtest.RESULT_COLUMNS, name
        if name in declared and name not in ("metric", "variant", "verdict", "interim"):
            assert col.kind == declared[name], name
        assert "_" not in col.label and col.label != name, col.label  # words, not names
    assert set(abtest.READER_COLUMNS) <= set(abtest.RESULT_DISPLAY)
    # rel_lift is a relative change ("+25.0%"), not a rate
    assert comparisons.Comparison.kinds()["rel_lift"] == "change"
    assert abtest.HEADLINE_KINDS["rel_lift"] == "change"
    # the log, the design table and the exclusions: every column a report may show
    assert list(exp_log.LOG_DISPLAY) == LOG_COLUMNS
    assert {k: c.kind for k, c in exp_log.LOG_DISPLAY.items()} == exp_log.LOG_SCHEMA
    table = design.design_table([reg(baseline_rate=0.1)], inflow_per_week=700)
    assert set(table.columns) == set(design.DESIGN_DISPLAY)
    kinds = design.DesignRow.kinds()
    assert all(c.kind == kinds[k] for k, c in design.DESIGN_DISPLAY.items())
    assert list(assignments.EXCLUSION_DISPLAY) == assignments.EXCLUSION_COLUMNS
    for cols in (exp_log.LOG_DISPLAY, design.DESIGN_DISPLAY, assignments.EXCLUSION_DISPLAY):
        assert all("_" not in c.label for c in cols.values())


def test_results_for_readers_name_metrics_and_stages_as_readers_know_them() -> None:
    asg, wide = make_data({"monthly": (400, 40), "weekly": (400, 60)})
    wide["mql_at"] = wide["created_at"]  # every lead reached MQL before its assignment
    r = reg(guardrail_metrics=[{"stage": "mql", "window_days": 30, "worse_if": "lower"}])
    ro = abtest.readout(r, asg, wide, AS_OF)
    shown = abtest.results_for_readers(ro)
    assert list(shown.columns) == abtest.READER_COLUMNS
    assert (
        shown["metric"].tolist()
        == ["Primary: reached SQL within 30 days"] * 2
        + ["Guardrail: reached MQL within 30 days"] * 2
    )
    # the numbers are the readout's own
    pd.testing.assert_frame_equal(
        shown.drop(columns="metric"),
        ro.results[abtest.READER_COLUMNS].drop(columns="metric").reset_index(drop=True),
    )
    # exclusions: the stored reason keeps the stage's machine name, the report its display name
    assert set(ro.exclusions["reason"]) == {"reached mql before assignment"}
    excl = abtest.exclusions_for_readers(ro)
    assert set(excl["reason"]) == {"reached MQL before assignment"}
    assert set(excl["metric"]) == {"reached MQL within 30 days"}
    assert excl["rows"].tolist() == [400, 400]


def test_caveats_write_counts_with_separators_and_p_values_by_their_kind() -> None:
    # 2,000 vs 1,200 enrolled against a planned 2,500 each: interim, sample ratio mismatch
    asg, wide = make_data({"monthly": (2000, 240), "weekly": (1200, 180)})
    ro = abtest.readout(reg(planned_n_per_arm=2500), asg, wide, AS_OF)
    srm = stats.chisquare([2000, 1200]).pvalue
    assert srm < 0.001
    assert "below planned n (monthly 2,000 of 2,500, weekly 1,200 of 2,500)" in ro.verdict
    assert "sample ratio mismatch (p < 0.001)" in ro.verdict
    # p-values in the verdict: "p < 0.001" below 0.001, else three decimals
    p = proportions_ztest([180, 240], [1200, 2000])[1]
    assert (f"p = {p:.3f}" if p >= 0.001 else "p < 0.001") in ro.verdict
