"""leadnb.experiments.plan wired into the readout: the registration decides, the readout obeys.

Oracles: statsmodels OLS written out by hand (cluster-robust and HC2 errors, Lin's design with
interactions), the confidence sequence's boundary written from its formula (Waudby-Smith et al.
2021, not leadnb's functions), scipy's chi-square for the sample ratio on accounts, plain pandas
for counts and for the events before assignment. The demo's account-level experiment
(``sdr-call-accounts-2026q1``: sequential, by account, one covariate, one segment family) is read
at every weekly analysis date of its life: at most one look recommends stopping, and every later
look says the test stopped at that week.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from leadnb.errors import NotEnoughData, ParamsError
from leadnb.experiments import plan as analysis_plan
from leadnb.experiments import readout as abtest
from leadnb.experiments.registration import Registration

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "params" / "demo.yaml"
DEMO = REPO / "data" / "demo"
ACCOUNT_EXP = "sdr-call-accounts-2026q1"
AS_OF = pd.Timestamp("2026-06-30")


def _boundary(n: float, n_planned: float, alpha: float = 0.05) -> float:
    """c(n) of the normal-mixture confidence sequence, from the paper's formula."""
    two_log = 2 * math.log(1 / alpha)
    rho2 = (two_log + math.log(two_log + 1)) / n_planned
    v = n * rho2
    return math.sqrt((v + 1) / v * (two_log + math.log(v + 1)))


def _p_always_valid(z: float, n: float, n_planned: float, alpha: float = 0.05) -> float:
    two_log = 2 * math.log(1 / alpha)
    v = n * (two_log + math.log(two_log + 1)) / n_planned
    return min(1.0, math.sqrt(v + 1) * math.exp(-v * z**2 / (2 * (v + 1))))


def _reg(**kw: Any) -> Registration:
    base = {
        "id": "e",
        "hypothesis": "h",
        "variable": "v",
        "control": "c",
        "variants": ["v"],
        "primary_metric": {"outcome": "outcome"},
        "target_effect": 0.1,
        "start": "2026-01-05",
        "planned_n_per_arm": 200,
    }
    return Registration.from_dict({**base, **kw})


def _synthetic(seed: int = 3, n_acc: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignments (outcome column) and leads (account_id, size, industry) for accounts of 1-5
    leads randomised whole; the outcome depends on the arm, the size and the account."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, n_acc)
    acc = np.repeat(np.arange(n_acc), sizes)
    arm = np.where(rng.random(n_acc) < 0.5, "c", "v")[acc]
    size = rng.normal(0, 1, len(acc))
    u = rng.normal(0, 0.8, n_acc)[acc]
    p = 1 / (1 + np.exp(-(-1.5 + 0.8 * (arm == "v") + 1.0 * size + u)))
    y = (rng.random(len(acc)) < p).astype(float)
    ids = [f"L{i:04d}" for i in range(len(acc))]
    asg = pd.DataFrame(
        {
            "lead_id": ids,
            "experiment_id": "e",
            "variant": arm,
            "assigned_at": pd.Timestamp("2026-01-10"),
            "outcome": y,
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "account_id": [f"A{a:03d}" for a in acc],
            "size": size,
            "industry": np.where(rng.random(n_acc) < 0.5, "software", "retail")[acc],
        }
    )
    return asg, leads


# ------------------------------------------------------------------------------ fixed, lead


def test_fixed_lead_plan_keeps_todays_numbers_and_labels_them() -> None:
    asg, leads = _synthetic()
    reg = _reg()
    ro = abtest.readout(reg, asg, None, AS_OF, leads=leads)
    base = abtest.readout(reg, asg, None, AS_OF)  # no leads table: the same primary numbers
    p, q = ro.primary, base.primary
    for c in ("n", "conversions", "diff", "diff_ci_low", "diff_ci_high", "p_value", "verdict"):
        pd.testing.assert_series_equal(p[c], q[c])
    v = p.iloc[1]
    x = asg.groupby("variant")["outcome"].agg(["size", "sum"])
    lo, hi = confint_proportions_2indep(
        x.loc["v", "sum"], x.loc["v", "size"], x.loc["c", "sum"], x.loc["c", "size"], "newcomb"
    )
    assert (v["diff_ci_low"], v["diff_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert (v["analysis"], v["ci_method"], v["unit"]) == ("fixed", "Newcombe", "lead")
    assert not v["always_valid"] and not v["stop_recommended"]
    assert math.isnan(v["diff_adj"]) and math.isnan(v["variance_reduction"])
    assert p["n_units"].tolist() == p["n"].tolist()
    # leads of one account in both arms? here accounts are randomised whole: none
    assert ro.plan.contamination.n_accounts_mixed == 0
    assert list(ro.results.columns) == abtest.RESULT_COLUMNS


# ----------------------------------------------------------------------------- fixed, account


def test_fixed_account_plan_is_cluster_robust_ols() -> None:
    asg, leads = _synthetic()
    reg = _reg(unit="account")
    ro = abtest.readout(reg, asg, None, AS_OF, leads=leads)
    v = ro.primary.iloc[1]
    df = asg.merge(leads, on="lead_id")
    t = (df["variant"] == "v").to_numpy(float)
    groups = pd.factorize(df["account_id"])[0]
    fit = sm.OLS(df["outcome"].to_numpy(), sm.add_constant(t)).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    lo, hi = fit.conf_int(0.05)[1]
    assert v["diff"] == pytest.approx(fit.params[1], abs=1e-12)
    assert (v["diff_ci_low"], v["diff_ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    g = df["account_id"].nunique()
    assert v["p_value"] == pytest.approx(2 * stats.t.sf(abs(fit.tvalues[1]), g - 1), rel=1e-9)
    assert v["ci_method"] == "cluster-robust t (by account)"
    accounts = df.groupby("variant")["account_id"].nunique()
    assert ro.primary["n_units"].tolist() == [accounts["c"], accounts["v"]]
    srm = stats.chisquare(accounts.to_numpy(), accounts.sum() / 2 * np.ones(2)).pvalue
    assert v["srm_p_value"] == pytest.approx(srm, rel=1e-12)
    assert math.isnan(v["prob_beat_control"]) and math.isnan(v["rel_lift_ci_low"])


def test_covariates_give_lin_adjusted_difference_and_the_verdict_uses_it() -> None:
    asg, leads = _synthetic()
    reg = _reg(covariates=["size"])
    ro = abtest.readout(reg, asg, None, AS_OF, leads=leads)
    v = ro.primary.iloc[1]
    df = asg.merge(leads, on="lead_id")
    t = (df["variant"] == "v").to_numpy(float)
    xc = df["size"].to_numpy() - df["size"].mean()
    X = np.column_stack([np.ones(len(df)), t, xc, t * xc])
    fit = sm.OLS(df["outcome"].to_numpy(), X).fit(cov_type="HC2")
    plain = sm.OLS(df["outcome"].to_numpy(), X[:, :2]).fit(cov_type="HC2")
    lo, hi = fit.conf_int(0.05)[1]
    assert v["diff_adj"] == pytest.approx(fit.params[1], abs=1e-12)
    assert (v["diff_adj_ci_low"], v["diff_adj_ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert v["variance_reduction"] == pytest.approx(1 - fit.bse[1] ** 2 / plain.bse[1] ** 2)
    assert v["variance_reduction"] > 0.02  # size predicts the outcome (3.7% on this seed)
    assert v["p_adjusted"] == pytest.approx(fit.pvalues[1], rel=1e-9)  # the registered estimate
    assert "adjusted for size" in v["verdict"]
    assert f"{fit.params[1] * 100:+.1f} pts, adjusted for size, 95% CI" in v["verdict"]


# -------------------------------------------------------------------------------- sequential


def test_sequential_lead_plan_interval_is_the_confidence_sequence_by_hand() -> None:
    asg, leads = _synthetic()
    reg = _reg(analysis="sequential")
    ro = abtest.readout(reg, asg, None, AS_OF, leads=leads)
    v = ro.primary.iloc[1]
    x = asg.groupby("variant")["outcome"].agg(["size", "sum"])
    (n_c, x_c), (n_v, x_v) = x.loc["c"], x.loc["v"]
    q_c, q_v = (x_c + 1) / (n_c + 2), (x_v + 1) / (n_v + 2)
    se = math.sqrt(q_c * (1 - q_c) / n_c + q_v * (1 - q_v) / n_v)
    diff = x_v / n_v - x_c / n_c
    c = _boundary(n_c + n_v, 400)
    assert v["diff"] == pytest.approx(diff, abs=1e-12)
    assert (v["diff_ci_low"], v["diff_ci_high"]) == pytest.approx(
        (diff - c * se, diff + c * se), rel=1e-9
    )
    assert v["p_value"] == pytest.approx(_p_always_valid(diff / se, n_c + n_v, 400), rel=1e-9)
    assert v["ci_method"] == "asymptotic confidence sequence" and v["always_valid"]
    excludes = diff - c * se > 0 or diff + c * se < 0
    assert bool(v["stop_recommended"]) == excludes == ro.stop_recommended
    assert ro.stop_recommended == ("may stop now" in ro.verdict)


# --------------------------------------------------------------------------------- refusals


def test_post_assignment_covariate_refused_naming_file_experiment_and_column(
    tmp_path: Path,
) -> None:
    asg, leads = _synthetic()
    leads = leads.assign(
        last_touch=1.0, last_touch_at=pd.Timestamp("2026-02-01")
    )  # recorded after the assignment of 2026-01-10
    path = tmp_path / "e.yaml"  # the registration's file, named in the error
    reg = dataclasses.replace(_reg(covariates=["last_touch"]), file=str(path))
    with pytest.raises(ParamsError) as err:
        abtest.readout(reg, asg, None, AS_OF, leads=leads)
    text = str(err.value)
    assert "experiment 'e'" in text and "'last_touch'" in text and str(path) in text
    assert "measured after assignment" in text
    seg = dataclasses.replace(_reg(segments=["last_touch_at"]), file=str(path))
    with pytest.raises(ParamsError, match="segment 'last_touch_at' is measured after"):
        abtest.readout(seg, asg, None, AS_OF, leads=leads)
    unknown = dataclasses.replace(_reg(covariates=["nowhere"]), file=str(path))
    with pytest.raises(ParamsError, match="covariate 'nowhere' is not a column"):
        abtest.readout(unknown, asg, None, AS_OF, leads=leads)


def test_stage_dates_are_refused_as_covariates(demo: dict[str, Any]) -> None:
    reg = dataclasses.replace(demo["regs"][ACCOUNT_EXP], covariates=("mql_at",))
    with pytest.raises(ParamsError, match="covariate 'mql_at' is measured after assignment"):
        abtest.readout(reg, demo["asg"], demo["wide"], AS_OF, leads=demo["leads"])


# ------------------------------------------------------------------------------- degenerate


def test_degenerate_shapes_give_readouts_not_crashes() -> None:
    asg, leads = _synthetic()
    # one arm only
    one = abtest.readout(_reg(unit="account", analysis="sequential"),
                         asg.loc[asg["variant"] == "c"], None, AS_OF, leads=leads)  # fmt: skip
    assert "No readout for v vs c: the arm v has no leads" in one.verdict
    assert not one.stop_recommended and one.plan.history["excludes_zero"].sum() == 0
    # no conversions anywhere: an interval (smoothed error), no stop, no crash
    none = abtest.readout(_reg(unit="account", analysis="sequential", covariates=["size"]),
                          asg.assign(outcome=0.0), None, AS_OF, leads=leads)  # fmt: skip
    v = none.primary.iloc[1]
    assert v["diff"] == 0 and v["diff_ci_low"] < 0 < v["diff_ci_high"]
    assert not none.stop_recommended and "No detectable difference" in none.verdict
    # three accounts: cluster-robust with 2 degrees of freedom, still a readout
    three = asg.merge(leads, on="lead_id")
    keep = three["account_id"].isin(three["account_id"].drop_duplicates().iloc[:3])
    small = abtest.readout(_reg(unit="account"), asg.loc[keep.to_numpy()], None, AS_OF,
                           leads=leads)  # fmt: skip
    assert small.primary["n_units"].sum() == 3
    assert small.verdict.endswith(".")
    # one lead per arm (statsmodels cannot fit a robust error on two rows): a readout that
    # says the adjusted and cluster-robust estimates were not computed
    tiny = asg.groupby("variant").head(1)
    for kw in ({"unit": "account"}, {"unit": "account", "analysis": "sequential"},
               {"covariates": ["size"]}):  # fmt: skip
        ro = abtest.readout(_reg(**kw), tiny, None, AS_OF, leads=leads)
        assert ro.primary["n"].tolist() == [1, 1] and ro.verdict.endswith(".")
        assert any("too few leads" in n for n in ro.plan.notes)


def test_young_sequential_experiment_has_no_matured_window(demo: dict[str, Any]) -> None:
    reg = demo["regs"][ACCOUNT_EXP]
    ro = abtest.readout(
        reg,
        demo["asg"],
        demo["wide"],
        pd.Timestamp("2026-02-20"),
        leads=demo["leads"],
        events=demo["events"],
    )
    assert (ro.primary["n"] == 0).all() and ro.primary["n_immature"].sum() > 0
    assert "No readout yet for sdr_call vs email_only" in ro.verdict
    assert not ro.stop_recommended and ro.plan.stopped_at is None
    assert ro.plan.history["n"].eq(0).all()


# ------------------------------------------------------------------------------------ demo


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    from leadnb.funnel import stages as funnel
    from leadnb.report import notebook as nb

    if not (DEMO / "assignments.csv").exists():
        pytest.fail("demo data missing: run `leadnb sample --out data/demo`", pytrace=False)
    ctx = nb.start(
        "ab_testing", params_path=PARAMS, tables=("leads", "stages", "assignments", "events")
    )
    wide = funnel.stage_dates(ctx.tables["leads"], ctx.tables["stages"], ctx.params.funnel)
    regs = {r.id: r for r in ctx.params.experiments.registrations}
    return {
        "ctx": ctx,
        "regs": regs,
        "asg": ctx.tables["assignments"],
        "leads": ctx.tables["leads"],
        "events": ctx.tables["events"],
        "wide": wide,
    }


def _oracle_frame(demo: dict[str, Any]) -> pd.DataFrame:
    """The account experiment's leads with plain pandas: arm, account, industry, whether the
    lead reached SQL within 30 days of assignment, and log(1 + events in the 90 days before)."""
    ctx = demo["ctx"]
    asg = demo["asg"].loc[demo["asg"]["experiment_id"] == ACCOUNT_EXP].copy()
    st = ctx.tables["stages"]
    first_sql = st.loc[st["stage"] == "sql"].groupby("lead_id")["entered_at"].min()
    days = (asg["lead_id"].map(first_sql) - asg["assigned_at"]).dt.total_seconds() / 86400
    asg["y"] = ((days >= 0) & (days <= 30)).astype(float)
    asg = asg.loc[~(days < 0)]  # reached SQL before assignment: set aside
    ev = demo["events"][["lead_id", "ts"]].merge(asg[["lead_id", "assigned_at"]], on="lead_id")
    ev = ev.loc[
        (ev["ts"] < ev["assigned_at"]) & (ev["ts"] >= ev["assigned_at"] - pd.Timedelta(days=90))
    ]
    asg["x"] = np.log1p(asg["lead_id"].map(ev.groupby("lead_id").size()).fillna(0.0))
    leads = demo["leads"].set_index("lead_id")
    asg["account"] = asg["lead_id"].map(leads["account_id"])
    asg["industry"] = asg["lead_id"].map(leads["industry"])
    return asg.reset_index(drop=True)


def _lin_cluster(df: pd.DataFrame) -> Any:
    t = (df["variant"] == "sdr_call").to_numpy(float)
    xc = df["x"].to_numpy() - df["x"].mean()
    X = np.column_stack([np.ones(len(df)), t, xc, t * xc])
    groups = pd.factorize(df["account"])[0]
    fit = lambda M: sm.OLS(df["y"].to_numpy(), M).fit(  # noqa: E731
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    return fit(X), fit(X[:, :2])


def _oracle_first_stop(reg: Registration, df: pd.DataFrame) -> pd.Timestamp | None:
    """The first weekly look (start + 7k days) whose sequence interval for the adjusted
    difference excludes 0, recomputed with statsmodels and the boundary's formula."""
    for look in analysis_plan.look_dates(reg, AS_OF):
        sub = df.loc[df["assigned_at"] + pd.Timedelta(days=30) < look + pd.Timedelta(days=1)]
        if sub["variant"].nunique() < 2:
            continue
        adj, _ = _lin_cluster(sub)
        if abs(adj.params[1]) > _boundary(len(sub), 2 * reg.planned_n_per_arm) * adj.bse[1]:
            return look
    return None


def test_account_experiment_numbers_against_statsmodels(demo: dict[str, Any]) -> None:
    """Every number the notebook prints for the account experiment, recomputed: counts and
    accounts with pandas, the adjusted and unadjusted difference and their standard errors with
    statsmodels' cluster-robust OLS, the interval's multiplier from the boundary's formula, the
    variance reduction, the sample ratio on accounts and the segments' BH q-values."""
    reg = demo["regs"][ACCOUNT_EXP]
    ro = abtest.readout(reg, demo["asg"], demo["wide"], AS_OF, leads=demo["leads"],
                        events=demo["events"])  # fmt: skip
    df = _oracle_frame(demo)
    p = ro.primary.set_index("variant")
    counts = df.groupby("variant")["y"].agg(["size", "sum"])
    assert p.loc[["email_only", "sdr_call"], "n"].tolist() == counts["size"].tolist()
    assert p.loc[["email_only", "sdr_call"], "conversions"].tolist() == counts["sum"].tolist()
    accounts = df.groupby("variant")["account"].nunique()
    assert p["n_units"].tolist() == [accounts["email_only"], accounts["sdr_call"]]
    assert p.loc["sdr_call", "srm_p_value"] == pytest.approx(
        stats.chisquare(accounts.to_numpy()).pvalue
    )
    adj, plain = _lin_cluster(df)
    n = len(df)
    c = _boundary(n, 2 * reg.planned_n_per_arm)
    v = p.loc["sdr_call"]
    assert v["diff_adj"] == pytest.approx(adj.params[1], abs=1e-12)
    assert v["diff_adj_ci_low"] == pytest.approx(adj.params[1] - c * adj.bse[1], rel=1e-9)
    assert v["diff_adj_ci_high"] == pytest.approx(adj.params[1] + c * adj.bse[1], rel=1e-9)
    assert v["diff"] == pytest.approx(plain.params[1], abs=1e-12)
    assert v["diff_ci_low"] == pytest.approx(plain.params[1] - c * plain.bse[1], rel=1e-9)
    assert v["variance_reduction"] == pytest.approx(1 - adj.bse[1] ** 2 / plain.bse[1] ** 2)
    assert v["variance_reduction"] > 0.05  # the registered covariate predicts the outcome
    assert v["p_adjusted"] == pytest.approx(
        _p_always_valid(adj.params[1] / adj.bse[1], n, 2 * reg.planned_n_per_arm), rel=1e-9
    )
    # the declared segment family: BH over every value's comparison
    seg = ro.segments.dropna(subset=["p_value"])
    assert seg["q_value"].to_numpy() == pytest.approx(
        multipletests(seg["p_value"].to_numpy(), method="fdr_bh")[1]
    )
    # the segment with a different true effect (software) stands out: the smallest q-value
    assert seg.loc[seg["q_value"].idxmin(), "value"] == "software"
    # the verdict rests on the experiment, never on a segment
    assert "software" not in ro.verdict and "industry" not in ro.verdict
    # the notebook's golden lines for this experiment hold these numbers, written here with
    # plain Python formatting
    from tests.test_ab_notebook import _golden_text

    text = _golden_text()
    for arm in ("email_only", "sdr_call"):
        n_a, x_a = int(counts.loc[arm, "size"]), int(counts.loc[arm, "sum"])
        assert (
            f"  {arm}: {n_a:,} leads, {x_a:,} conversions, rate {x_a / n_a * 100:.1f}%, 0 still "
            "in their window" in text
        )
    pts = lambda x: f"{x * 100:+.1f} pts"  # noqa: E731
    lo, hi = adj.params[1] - c * adj.bse[1], adj.params[1] + c * adj.bse[1]
    plo, phi = plain.params[1] - c * plain.bse[1], plain.params[1] + c * plain.bse[1]
    vr = 1 - adj.bse[1] ** 2 / plain.bse[1] ** 2
    assert (
        f"  Adjusted for log_events_before_90d: sdr_call {pts(adj.params[1])} ({pts(lo)} to "
        f"{pts(hi)}) against {pts(plain.params[1])} unadjusted ({pts(plo)} to {pts(phi)}); "
        f"variance reduction {vr * 100:.1f}%"
    ) in text
    assert (
        f"  Randomised by account: accounts counted email_only {accounts['email_only']}, "
        f"sdr_call {accounts['sdr_call']}; sample ratio check on accounts p = "
        f"{stats.chisquare(accounts.to_numpy()).pvalue:.3f}"
    ) in text
    first = _oracle_first_stop(reg, df)
    week = (first - reg.start).days // 7
    assert f"the sequential test stopped at week {week} ({first:%Y-%m-%d})" in text
    q = seg.loc[seg["q_value"].idxmin()]
    assert (
        f"smallest q-value {q['q_value']:.3f} (industry = software, sdr_call {pts(q['diff'])})"
    ) in text


def test_weekly_runs_across_the_experiment_life_recommend_stopping_at_most_once(
    demo: dict[str, Any],
) -> None:
    """The readout at every weekly analysis date (start + 7k days, to the data's as_of):
    one recommendation to stop, at the first look whose interval excludes 0 (recomputed here
    with statsmodels and the boundary's formula), and "stopped at week k" at every later date."""
    reg = demo["regs"][ACCOUNT_EXP]
    df = _oracle_frame(demo)
    dates = analysis_plan.look_dates(reg, AS_OF)
    first = _oracle_first_stop(reg, df)
    assert first is not None  # the demo's effect is large enough to stop early
    recommended, stopped_weeks = [], set()
    for look in dates:
        try:
            ro = abtest.readout(reg, demo["asg"], demo["wide"], look, leads=demo["leads"],
                                events=demo["events"])  # fmt: skip
        except NotEnoughData as exc:  # before the first assignment
            assert "has no leads" in str(exc)
            continue
        if ro.stop_recommended:
            recommended.append(look)
            assert "may stop now" in ro.verdict
        if look > first:
            assert ro.plan.stopped_at == first and not ro.stop_recommended
            assert f"stopped at week {ro.plan.stopped_week} ({first:%Y-%m-%d})" in ro.verdict
            stopped_weeks.add(ro.plan.stopped_week)
        lo, hi = ro.primary.iloc[1][["diff_ci_low", "diff_ci_high"]]
        assert np.isnan(lo) or lo <= hi  # valid intervals at every look
    assert recommended == [first]
    assert stopped_weeks == {(first - reg.start).days // 7}


def test_scheduled_run_at_the_stop_and_after(tmp_path: Path) -> None:
    """Real ``leadnb run --notebooks ab_testing --as-of`` runs: the metrics say stop at the
    first stopping look, and "stopped" a week later."""
    import json

    from leadnb.run import runner

    as_of, out = "2026-05-11", {}  # week 14: the first look whose interval excludes 0
    for day in (as_of, "2026-05-18"):
        res = runner.run(PARAMS, notebooks=["ab_testing"], out=tmp_path / day, as_of=day)
        assert res.exit_code == 0
        m = json.loads((res.run_dir / "ab_testing" / "metrics.json").read_text())
        out[day] = m["experiments"][ACCOUNT_EXP]
        seg = pd.read_csv(res.run_dir / "ab_testing" / "ab_segments.csv")
        assert list(seg.columns) == [
            "experiment_id", "segment", "value", "variant", "n", "diff", "diff_ci_low",
            "diff_ci_high", "p_value", "q_value",
        ]  # fmt: skip
        results = pd.read_csv(res.run_dir / "ab_testing" / "ab_results.csv")
        for c in ("analysis", "ci_method", "diff_adj", "diff_adj_ci_low", "diff_adj_ci_high",
                  "variance_reduction", "unit", "n_units"):  # fmt: skip
            assert c in results.columns
    first, later = out[as_of], out["2026-05-18"]
    assert (first["analysis"], first["always_valid"], first["stop_recommended"]) == (
        "sequential",
        True,
        True,
    )
    assert "stopped_at" not in first
    assert later["stop_recommended"] is False and later["stopped_at"] == as_of
    assert later["stopped_week"] == 14


def test_sequence_chart_states_the_stop_and_marks_it() -> None:
    """The chart takes the computed looks (no statistic of its own): title from the first look
    that excluded 0, a vertical mark there."""
    import matplotlib.pyplot as plt

    from leadnb.report.plots import experiments as ab_plots

    h = pd.DataFrame(
        {
            "look": pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16"]),
            "week": [4, 5, 6],
            "variant": "b",
            "n": [0, 100, 200],
            "estimate": [np.nan, 0.05, 0.06],
            "ci_low": [np.nan, -0.01, 0.01],
            "ci_high": [np.nan, 0.11, 0.11],
            "excludes_zero": [False, False, True],
        }
    )
    fig = ab_plots.plot_sequence(h, target_effect=0.04)
    ax = fig.axes[0]
    title = " ".join(t.get_text() for t in [ax.title, *fig.texts])
    assert "first excluded 0 at week 6 (2026-03-16)" in title
    marks = [ln for ln in ax.get_lines() if len(set(ln.get_xdata())) == 1]
    assert marks  # the stop is marked
    plt.close(fig)


def test_a_look_reads_the_same_in_every_later_run() -> None:
    """The history a later run recomputes holds, at each look, exactly what the run on that
    date read, even with a covariate that has missing values (imputed from that look's leads):
    the stop rule's "at most one recommendation" rests on it."""
    asg, leads = _synthetic(seed=5, n_acc=120)
    rng = np.random.default_rng(1)
    asg["assigned_at"] = pd.Timestamp("2026-01-05") + pd.to_timedelta(
        rng.integers(0, 56, len(asg)), unit="D"
    )
    leads.loc[rng.random(len(leads)) < 0.2, "size"] = np.nan
    reg = _reg(analysis="sequential", covariates=["size"], unit="account")
    later = abtest.readout(reg, asg, None, pd.Timestamp("2026-03-09"), leads=leads)
    h = later.plan.history.set_index("look")
    for look in h.index[:-1]:
        if look < asg["assigned_at"].min():
            continue
        then = abtest.readout(reg, asg, None, look, leads=leads).plan.history.iloc[-1]
        row = h.loc[look]
        assert then["n"] == row["n"]
        assert then[["estimate", "ci_low", "ci_high", "p_value"]].to_numpy(float) == (
            pytest.approx(
                row[["estimate", "ci_low", "ci_high", "p_value"]].to_numpy(float), nan_ok=True
            )
        )


def _events_before_reference(events: pd.DataFrame, frame: pd.DataFrame, days: int) -> np.ndarray:
    """Plain pandas: every (assignment row, event of its lead) pair, counted in the window."""
    rows = frame.assign(row=np.arange(len(frame)), lead_id=frame["lead_id"].astype(str))
    m = rows.merge(events.assign(lead_id=events["lead_id"].astype(str)), on="lead_id")
    hit = (m["ts"] < m["assigned_at"]) & (m["ts"] >= m["assigned_at"] - pd.Timedelta(days=days))
    out = np.bincount(m.loc[hit, "row"], minlength=len(frame)).astype(float)
    out[frame["assigned_at"].isna().to_numpy()] = np.nan
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 40)), max_size=40),
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.none() | st.integers(0, 40)), max_size=8),
    st.integers(1, 20),
    st.booleans(),
)
def test_events_before_counts_each_assignment_window_as_a_join_does(
    events: list, assigned: list, days: int, categorical: bool
) -> None:
    """Unique leads (the hash lookup) and repeated ones (the join) against a plain merge, on
    event lead ids as text or as the loader's categorical, with events on both window edges."""
    day0 = pd.Timestamp("2026-01-01")
    ev = pd.DataFrame(
        {
            "lead_id": pd.Series([e[0] for e in events], dtype="str"),
            "ts": (day0 + pd.to_timedelta([e[1] for e in events], unit="D")).astype(
                "datetime64[us]"
            ),
        }
    )
    if categorical:
        ev["lead_id"] = ev["lead_id"].astype("category")
    frame = pd.DataFrame(
        {
            "lead_id": pd.Series([a[0] for a in assigned], dtype="str"),
            "assigned_at": pd.Series(
                [pd.NaT if a[1] is None else day0 + pd.Timedelta(days=a[1]) for a in assigned],
                dtype="datetime64[us]",
            ),
        }
    )
    got = analysis_plan.events_before(ev, frame, days=days)
    np.testing.assert_array_equal(got, _events_before_reference(ev, frame, days))


# ------------------------------------------------------------------------ account codes


def test_account_codes_are_numbered_in_the_accounts_text_order() -> None:
    """A plan's accounts are integer codes in the text's sorted order (a lead without an
    account is an account of its own, ``lead:<id>``): counting them sorts no strings, and the
    cluster-robust fit sums them in the order it did from the text."""
    asg, leads = _synthetic(seed=5)
    frame = asg.merge(leads, on="lead_id").rename(columns={"outcome": "converted"})
    frame["account_id"] = frame["account_id"].astype("str")
    frame.loc[[0, 7, 8], "account_id"] = np.nan
    d, _ = analysis_plan._data(frame, _reg(unit="account"), [])
    text = np.where(
        frame["account_id"].isna(), "lead:" + frame["lead_id"], frame["account_id"]
    ).astype(str)
    assert d.groups is not None and d.groups.dtype == np.int64
    assert (np.unique(text)[d.groups] == text).all()
    assert analysis_plan._accounts(d.groups) == len(np.unique(text))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=80))
def test_accounts_counts_the_distinct_codes(codes: list[int]) -> None:
    arr = np.asarray(codes, dtype="int64")
    assert analysis_plan._accounts(arr) == len(np.unique(arr))
