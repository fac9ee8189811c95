"""leadnb.experiments.adjust: Lin's adjustment, account units and declared segments.

Oracles: statsmodels OLS fitted here on a design matrix written out by hand (and the per-arm
regressions' predictions at the covariate mean, with numpy's least squares); Welch's standard
error and the ANOVA mean squares computed by hand; scipy's chi-square for SRM; statsmodels'
``multipletests(method="fdr_bh")`` for the q-values. Properties by seeded simulation
(:mod:`benchmarks.adjust_sim`, whose larger versions ``python -m benchmarks.adjust_sim``
prints); every simulated bound states its Monte Carlo (MC) error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from benchmarks import adjust_sim
from leadnb.errors import DataError, ParamsError
from leadnb.experiments import adjust
from leadnb.experiments.comparisons import compare_arms
from leadnb.experiments.design import sample_size

# A hand example: 8 control and 8 variant leads, a score and a 0/1 firmographic.
HAND = pd.DataFrame(
    {
        "lead_id": [f"L{i}" for i in range(16)],
        "variant": ["c"] * 8 + ["v"] * 8,
        "converted": [0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1.0],
        "score": [10, 40, 20, 15, 35, 5, 45, 25, 30, 50, 10, 40, 45, 20, 35, 25.0],
        "enterprise": [0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1.0],
    }
)


def _lin_by_hand(df: pd.DataFrame, covs: list[str]) -> sm.regression.linear_model.RegressionModel:
    """OLS of converted on [1, t, Xc, t*Xc], the design written column by column."""
    t = (df["variant"] == "v").to_numpy(float)
    cols = {"const": np.ones(len(df)), "t": t}
    for c in covs:
        xc = df[c].to_numpy(float) - df[c].mean()
        cols[c] = xc
    for c in covs:
        cols[f"t:{c}"] = t * cols[c]
    return sm.OLS(df["converted"].to_numpy(float), pd.DataFrame(cols))


def test_adjusted_estimate_equals_statsmodels_ols_on_hand_example() -> None:
    res = adjust.adjusted_results(
        HAND, control="c", variants=["v"], experiment_id="e", covariates=["score", "enterprise"]
    )
    row = res.table.iloc[1]
    fit = _lin_by_hand(HAND, ["score", "enterprise"]).fit(cov_type="HC2")
    assert row["diff_adj"] == pytest.approx(fit.params["t"], abs=1e-12)
    assert row["se_adj"] == pytest.approx(fit.bse["t"], rel=1e-10)
    lo, hi = fit.conf_int(0.05).loc["t"]
    assert (row["diff_adj_ci_low"], row["diff_adj_ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
    assert row["p_value_adj"] == pytest.approx(fit.pvalues["t"], rel=1e-10)
    # independent of statsmodels: Lin's estimate is the difference of the two arms' own
    # regressions, each predicted at the pooled covariate mean
    xbar = HAND[["score", "enterprise"]].mean().to_numpy()
    pred = []
    for arm in ("v", "c"):
        d = HAND.loc[HAND["variant"] == arm]
        x = np.column_stack([np.ones(len(d)), d[["score", "enterprise"]].to_numpy()])
        beta = np.linalg.lstsq(x, d["converted"].to_numpy(), rcond=None)[0]
        pred.append(beta[0] + beta[1:] @ xbar)
    assert row["diff_adj"] == pytest.approx(pred[0] - pred[1], abs=1e-12)
    # unadjusted: the difference of rates, HC2 = Welch's sqrt(s1²/n1 + s0²/n0) (6/8 - 3/8)
    c, v = (HAND.loc[HAND["variant"] == a, "converted"] for a in ("c", "v"))
    assert row["diff_unadj"] == pytest.approx(0.375, abs=1e-12)
    welch = math.sqrt(v.var(ddof=1) / 8 + c.var(ddof=1) / 8)
    assert row["se_unadj"] == pytest.approx(welch, rel=1e-12)
    assert row["variance_reduction"] == pytest.approx(1 - fit.bse["t"] ** 2 / welch**2, rel=1e-10)
    assert (row["unit"], row["n_units"]) == ("lead", 8)
    assert res.table.iloc[0][["diff_adj", "variance_reduction"]].isna().all()
    assert list(res.table.columns) == adjust.ADJUST_COLUMNS


def test_hc3_and_cluster_errors_equal_statsmodels() -> None:
    df = HAND.assign(account_id=[f"A{i // 2}" for i in range(16)])
    fit3 = _lin_by_hand(df, ["score"]).fit(cov_type="HC3")
    r3 = adjust.adjusted_results(
        df, control="c", variants=["v"], experiment_id="e", covariates=["score"], cov_type="HC3"
    )
    assert r3.table.loc[1, "se_adj"] == pytest.approx(fit3.bse["t"], rel=1e-10)
    groups = pd.factorize(df["account_id"])[0]
    fitc = _lin_by_hand(df, ["score"]).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    rc = adjust.adjusted_results(
        df, control="c", variants=["v"], experiment_id="e", covariates=["score"], unit="account"
    )
    row = rc.table.iloc[1]
    assert row["se_adj"] == pytest.approx(fitc.bse["t"], rel=1e-10)
    assert (row["diff_adj_ci_low"], row["diff_adj_ci_high"]) == pytest.approx(
        tuple(fitc.conf_int(0.05).loc["t"]), rel=1e-10
    )
    assert (row["unit"], row["n_units"]) == ("account", 4)
    assert "cluster-robust (8 clusters)" in row["adj_method"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_groups_give_the_numbers_of_their_text(seed: int) -> None:
    """The plan hands lin_estimate integer account codes numbered in the accounts' text order:
    every number (the cluster sums run in the same order) and the clusters said are those of
    the text; codes in another order still count the same clusters."""
    rng = np.random.default_rng(seed)
    n = 300
    text = np.array([f"A{i:03d}" for i in rng.integers(0, 70, n)])
    text[rng.random(n) < 0.1] = "lead:x"  # a lead without an account is a cluster of its own
    y = (rng.random(n) < 0.3).astype(float)
    t = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(size=(n, 1))
    sorted_codes = pd.factorize(pd.Series(text), sort=True)[0].astype("int64")
    shuffled = rng.permutation(sorted_codes.max() + 1)[sorted_codes]
    by_text = adjust.lin_estimate(y, t, x, groups=text)
    by_codes = adjust.lin_estimate(y, t, x, groups=sorted_codes)
    assert by_codes == by_text  # equal floats, not approximately
    clusters = f"cluster-robust ({len(np.unique(text))} clusters)"
    assert clusters in by_text.method
    other = adjust.lin_estimate(y, t, x, groups=shuffled)
    assert clusters in other.method
    assert other.se == pytest.approx(by_text.se, rel=1e-9)


def test_missing_covariate_mean_imputed_with_indicator_and_said() -> None:
    df = HAND.copy()
    df.loc[[1, 3, 9, 12], "score"] = np.nan  # two per arm: the indicator stays in the model
    res = adjust.adjusted_results(
        df, control="c", variants=["v"], experiment_id="e", covariates=["score"]
    )
    mean = df["score"].mean()
    assert res.notes == (
        f"covariate 'score': 4 missing value(s) replaced by its mean ({mean:.4g}), with a "
        "missing indicator",
    )
    by_hand = df.assign(
        score=df["score"].fillna(mean), score_missing=df["score"].isna().astype(float)
    )
    fit = _lin_by_hand(by_hand, ["score", "score_missing"]).fit(cov_type="HC2")
    assert res.table.loc[1, "diff_adj"] == pytest.approx(fit.params["t"], abs=1e-12)
    assert res.table.loc[1, "se_adj"] == pytest.approx(fit.bse["t"], rel=1e-10)


def test_covariate_matrix_text_values_and_rare_pooling() -> None:
    f = pd.DataFrame({"industry": ["saas"] * 5 + ["retail"] * 3 + ["bank"] + [None]})
    m, notes = adjust.covariate_matrix(f, ["industry"], min_level=2)
    # bank (1 row) pooled as (other); saas, the most frequent, is the reference
    assert list(m.columns) == ["industry=(other)", "industry=retail"]
    assert m["industry=(other)"].tolist() == [0] * 8 + [1, 1]
    assert any("pooled as (other)" in n for n in notes)
    assert any("1 missing value(s) kept as (missing)" in n for n in notes)
    with pytest.raises(DataError, match="holds dates"):
        adjust.covariate_matrix(pd.DataFrame({"d": pd.to_datetime(["2026-01-01"])}), ["d"])


def test_adjustment_unbiased_and_sharper_when_covariates_predict() -> None:
    # 1,000 replications of 400 leads (benchmarks.adjust_sim.adjustment_data, true effect 0.045)
    sim = adjust_sim.adjustment_sim(1000, 400, predictive=True, seed=0)
    print(sim)
    # unbiased: the mean estimate within 4 MC errors (about 0.0013 each) of the truth, and the
    # paired shift from the (exactly unbiased) difference of rates within 4 of its much smaller
    # MC errors (about 0.0005)
    assert abs(sim.mean_diff_adj - sim.true_effect) < 4 * sim.mean_diff_adj_mc
    assert abs(sim.mean_adj_minus_unadj) < 4 * sim.mean_adj_minus_unadj_mc
    # sharper: the adjusted estimates spread less (sd ratio about 0.94; bootstrap MC error about
    # 0.012, bound 3 MC errors below 1) and their standard errors are smaller in every sense
    assert sim.sd_ratio < 1 - 3 * sim.sd_ratio_mc
    assert sim.se_ratio < 1 - 10 * sim.se_ratio_mc
    assert sim.mean_variance_reduction > 0.1
    # and the adjusted interval still covers: 95% within 3 MC errors (0.69 points each)
    assert abs(sim.coverage_adj - 0.95) < 3 * sim.coverage_mc


def test_adjustment_no_worse_when_covariates_do_not_predict() -> None:
    sim = adjust_sim.adjustment_sim(1000, 400, predictive=False, seed=2)
    print(sim)
    assert abs(sim.mean_diff_adj - sim.true_effect) < 4 * sim.mean_diff_adj_mc
    assert abs(sim.mean_adj_minus_unadj) < 4 * sim.mean_adj_minus_unadj_mc
    # no worse: the adjusted estimator's spread equals the unadjusted one's within 3 MC errors
    # (bootstrap MC error of the sd ratio about 0.003)
    assert sim.sd_ratio < 1 + 3 * sim.sd_ratio_mc
    # its reported standard error pays for 4 extra parameters at n = 400 (about +0.4%, MC error
    # 0.02%): a small-sample price, bounded at 1%
    assert sim.se_ratio < 1.01
    assert abs(sim.coverage_adj - 0.95) < 3 * sim.coverage_mc


def test_cluster_robust_interval_covers_95_percent_on_clustered_data() -> None:
    # 4,000 account-randomised experiments: 120 accounts of 1 + Poisson(4) leads, ICC 0.2
    # (beta-binomial), true difference 0.05. MC error of a 95% coverage: sqrt(0.95 * 0.05 /
    # 4000) = 0.34 points, so the +/- 1.5 points bound is 4.4 MC errors wide.
    sim = adjust_sim.cluster_sim(4000, 120, icc=0.2, naive_reps=300, seed=1)
    print(sim)
    assert sim.coverage_cluster_mc == pytest.approx(math.sqrt(0.95 * 0.05 / 4000))
    assert abs(sim.coverage_cluster - 0.95) <= 0.015
    # the lead-level (naive) interval ignores the design effect (about 2 here: 1 + (5.8 - 1) *
    # 0.2): its coverage (about 84%, MC error 2.1 points on 300 replications) is far below 95%
    assert sim.coverage_naive < 0.95 - 4 * sim.coverage_naive_mc
    # the ANOVA ICC recovers the true 0.2: within 4 MC errors (0.0011 each) plus 0.005 for the
    # estimator's small-sample bias at 60 accounts
    assert abs(sim.icc_mean - 0.2) < 4 * sim.icc_mean_mc + 0.005
    assert abs(sim.mean_diff - 0.05) < 4 * sim.mean_diff_mc


def test_icc_anova_hand_example() -> None:
    # groups a = (2, 4), b = (6, 8, 10): means 3 and 8, grand mean 6
    # SSB = 2 * 3² + 3 * 2² = 30, MSB = 30 / 1; SSW = 1 + 1 + 4 + 0 + 4 = 10, MSW = 10 / 3
    # m0 = (5 - (2² + 3²) / 5) / 1 = 2.4; ICC = (30 - 10/3) / (30 + 1.4 * 10/3) = 80 / 104
    assert adjust.icc_anova([2, 4, 6, 8, 10], ["a", "a", "b", "b", "b"]) == pytest.approx(80 / 104)
    # balanced pairs as alike as can be: MSB = 0, so ICC = -MSW / ((m - 1) MSW) = -1 / (m - 1)
    assert adjust.icc_anova([1, 0, 1, 0], ["a", "a", "b", "b"]) == pytest.approx(-1.0)
    # pairs that agree within and differ between: MSW = 0, ICC = 1
    assert adjust.icc_anova([1, 1, 0, 0], ["a", "a", "b", "b"]) == pytest.approx(1.0)
    assert math.isnan(adjust.icc_anova([1, 0], ["a", "b"]))  # one lead per group


def test_design_effect_and_clustered_sample_size() -> None:
    assert adjust.design_effect(6, 0.1) == pytest.approx(1.5)
    # Eldridge et al. (2006): 1 + ((cv² + 1) m - 1) ICC
    assert adjust.design_effect(6, 0.1, cv=0.6) == pytest.approx(1 + (1.36 * 6 - 1) * 0.1)
    base = sample_size(0.10, 0.02).n_variant  # 3841 (DOMAIN.md)
    s = adjust.clustered_sample_size(base, mean_size=6, icc=0.1)
    assert (s.n_leads_per_arm, s.n_accounts_per_arm, s.extra_leads_per_arm) == (
        math.ceil(3841 * 1.5),
        math.ceil(math.ceil(3841 * 1.5) / 6),
        math.ceil(3841 * 1.5) - 3841,
    )
    with pytest.raises(ParamsError, match="ICC"):
        adjust.design_effect(5, 1.2)


def test_srm_on_accounts_equals_chisquare_of_account_counts() -> None:
    f = pd.DataFrame(
        {
            "variant": ["a"] * 30 + ["b"] * 10,
            "account_id": [f"x{i // 2}" for i in range(30)] + [f"y{i}" for i in range(10)],
        }
    )
    # 15 accounts against 10 (the leads, 30 against 10, would say something else)
    want = stats.chisquare([15, 10], [12.5, 12.5]).pvalue
    assert adjust.srm_on_units(f, {"a": 0.5, "b": 0.5}) == pytest.approx(want, rel=1e-12)


def test_contamination_counts_accounts_in_two_arms() -> None:
    f = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(9)],
            "variant": ["a", "b", "a", "a", "a", "b", "b", "a", "b"],
            "account_id": ["p", "p", "q", "q", "r", "r", "r", None, "s"],
        }
    )
    c = adjust.contamination(f, n_examples=1)
    # accounts p, q, r, s; p (a, b) and r (a, b, b) are mixed: 5 leads of 9
    assert (c.n_accounts, c.n_accounts_mixed, c.n_leads_mixed) == (4, 2, 5)
    assert c.share_leads_mixed == pytest.approx(5 / 9)
    assert c.examples.to_dict("records") == [{"account_id": "r", "leads": 3, "arms": "a: 1, b: 2"}]
    assert c.sentence.startswith("2 of 4 accounts have leads in different arms (5 leads, 55.6%)")
    clean = adjust.contamination(f.loc[f["account_id"].isin(["q", "s"])])
    assert (clean.n_accounts_mixed, clean.sentence) == (0, "")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("categorical", [False, True])
def test_contamination_examples_equal_the_text_of_every_account(
    seed: int, categorical: bool
) -> None:
    # the oracle: every mixed account's arms joined, then the n most-led accounts kept (the
    # function joins only the accounts it lists); ties in leads broken by account
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    f = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "variant": rng.choice(["a", "b", "c"], n),
            "account_id": rng.choice([f"A{j:02d}" for j in range(int(rng.integers(1, 60)))], n),
        }
    )
    f.loc[rng.random(n) < 0.1, "account_id"] = None
    if categorical:
        f = f.astype({"variant": "category", "account_id": "category"})
    k = int(rng.integers(1, 8))
    got = adjust.contamination(f, n_examples=k).examples
    per = (
        f.dropna(subset=["account_id"])
        .groupby(["account_id", "variant"], observed=True)
        .size()
        .rename("k")
        .reset_index()
    )
    mixed = per.groupby("account_id", observed=True)["variant"].nunique()
    per = per.loc[per["account_id"].isin(mixed.index[mixed > 1])]
    rows = [
        {
            "account_id": str(acc),
            "leads": int(g["k"].sum()),
            "arms": ", ".join(f"{v}: {c}" for v, c in zip(g["variant"], g["k"], strict=True)),
        }
        for acc, g in per.groupby("account_id", observed=True)
    ]
    want = sorted(rows, key=lambda r: (-r["leads"], r["account_id"]))[:k]
    assert [{**r, "account_id": str(r["account_id"])} for r in got.to_dict("records")] == want


def test_with_lead_columns_equals_one_lookup_per_column() -> None:
    from leadnb.experiments.outcomes import lookup_first

    rng = np.random.default_rng(3)
    leads = pd.DataFrame(
        {
            "lead_id": rng.choice([f"L{i}" for i in range(50)], 80),  # repeated ids: first row
            "score": rng.normal(size=80),
            "tier": rng.choice(["a", "b", None], 80),
            "score_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90, 80), "D"),
        }
    )
    out = pd.DataFrame({"lead_id": rng.choice([f"L{i}" for i in range(60)], 40), "converted": 1.0})
    got = adjust.with_lead_columns(out, leads, ["score", "tier"])
    for c in ("score", "tier", "score_at"):
        want = lookup_first(leads["lead_id"], leads[c], out["lead_id"])
        pd.testing.assert_series_equal(got[c], want, check_names=False)


def _segment_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 900
    df = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "variant": rng.choice(["ctl", "v1", "v2"], n),
            "source": rng.choice(["web", "event", "partner"], n),
            "industry": rng.choice(["saas", "retail", None], n),
            "assigned_at": pd.Timestamp("2026-03-01"),
        }
    )
    p = 0.15 + 0.3 * ((df["variant"] == "v1") & (df["source"] == "web"))
    df["converted"] = (rng.random(n) < p).astype(float)
    df.loc[:9, "converted"] = np.nan  # windows still open: not counted
    return df


def test_segment_breakdown_counts_differences_and_bh_q_values() -> None:
    df = _segment_frame()
    seg = adjust.segment_breakdown(
        df,
        ["source", "industry"],
        experiment_id="e",
        control="ctl",
        variants=["v1", "v2"],
    )
    assert list(seg.columns) == adjust.SEGMENT_DETAIL_COLUMNS
    # 3 sources + 3 industries (one is "(missing)") -> 6 values x 3 arms
    assert len(seg) == 18
    assert set(seg.loc[seg["segment"] == "industry", "value"]) == {"saas", "retail", "(missing)"}
    known = df.loc[df["converted"].notna()]
    for _, r in seg.iterrows():
        col = known[r["segment"]].astype("string").fillna("(missing)")
        arm = known.loc[(col == r["value"]).to_numpy() & (known["variant"] == r["variant"])]
        assert r["n"] == len(arm) and r["conversions"] == arm["converted"].sum()
        assert r["rate"] == pytest.approx(arm["converted"].mean())
        if r["variant"] != "ctl":
            ctl = known.loc[(col == r["value"]).to_numpy() & (known["variant"] == "ctl")]
            cmp = compare_arms(
                int(ctl["converted"].sum()), len(ctl), int(arm["converted"].sum()), len(arm)
            )
            assert (r["diff"], r["diff_ci_low"], r["diff_ci_high"], r["p_value"]) == (
                pytest.approx(cmp.diff),
                pytest.approx(cmp.diff_ci_low),
                pytest.approx(cmp.diff_ci_high),
                pytest.approx(cmp.p_value),
            )
    # the family is every variant x value comparison: 12 p-values, one BH adjustment
    var = seg["variant"] != "ctl"
    want = multipletests(seg.loc[var, "p_value"].to_numpy(), method="fdr_bh")[1]
    np.testing.assert_array_equal(seg.loc[var, "q_value"].to_numpy(), want)
    assert seg.loc[~var, ["diff", "p_value", "q_value"]].isna().all().all()
    table = adjust.segments_table(seg)
    assert list(table.columns) == adjust.SEGMENT_COLUMNS
    # the planted effect (+30 points for v1 on web) has the smallest p-value, and survives BH
    best = table.loc[table["p_value"].idxmin()]
    assert (best["segment"], best["value"], best["variant"]) == ("source", "web", "v1")
    assert best["q_value"] < 0.05


def test_segment_with_too_many_values_is_refused() -> None:
    df = _segment_frame().assign(score=np.arange(900))
    with pytest.raises(ParamsError, match="segment 'score' has 890 values") as err:
        adjust.segment_breakdown(
            df, ["score"], experiment_id="e", control="ctl", variants=["v1", "v2"]
        )
    assert "banded" in err.value.fix


# --------------------------------------------------------------------------------------------
# Refusals: anything measured after assignment


def _dated() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d"],
            "variant": ["c", "v", "c", "v"],
            "converted": [0.0, 1.0, 1.0, 0.0],
            "assigned_at": pd.to_datetime(["2026-03-01"] * 4),
            "score": [10.0, 20.0, 30.0, 40.0],
            "score_at": pd.to_datetime(["2026-02-20", "2026-03-04", "2026-02-28", None]),
            "emails_opened": [1, 2, 3, 4],
            "mql_at": pd.to_datetime(["2026-02-01", "2026-03-09", None, None]),
        }
    )


def test_covariate_with_a_later_timestamp_is_refused_naming_it() -> None:
    with pytest.raises(ParamsError) as err:
        adjust.adjusted_results(
            _dated(),
            control="c",
            variants=["v"],
            experiment_id="nurture-q1",
            covariates=["score"],
            file="params/experiments/nurture-q1.yaml",
        )
    e = err.value
    msg = str(e)
    assert (
        "experiment 'nurture-q1': covariate 'score' is measured after assignment (score_at later "
        "than assigned_at on 1 of 4 rows)" in msg
    )
    assert e.file == "params/experiments/nurture-q1.yaml" and e.column == "score"
    assert "remove 'score' from the registration's covariates" in e.fix
    assert "snapshot at assigned_at" in e.fix
    assert e.rows["lead_id"].tolist() == ["b"]  # the offending row is shown


def test_post_assignment_fields_and_dates_are_refused() -> None:
    # on the caller's list
    with pytest.raises(ParamsError, match="covariate 'emails_opened' is measured after"):
        adjust.adjusted_results(
            _dated(),
            control="c",
            variants=["v"],
            experiment_id="e",
            covariates=["emails_opened"],
            post_assignment=["emails_opened"],
        )
    # an outcome column, always refused
    with pytest.raises(ParamsError, match="covariate 'converted' is measured after"):
        adjust.check_pre_assignment(_dated(), ["converted"], experiment_id="e")
    # a date column later than assignment, and a timestamp named by measured_at
    with pytest.raises(ParamsError, match="'mql_at' is measured after assignment"):
        adjust.check_pre_assignment(_dated(), ["mql_at"], experiment_id="e")
    with pytest.raises(ParamsError, match=r"\(mql_at later than assigned_at on 1 of 4 rows\)"):
        adjust.check_pre_assignment(
            _dated(), ["emails_opened"], experiment_id="e", measured_at={"emails_opened": "mql_at"}
        )
    # a pre-assignment covariate without a timestamp passes; an unknown one is a data error
    adjust.check_pre_assignment(_dated(), ["emails_opened"], experiment_id="e")
    with pytest.raises(DataError, match="no column"):
        adjust.check_pre_assignment(_dated(), ["revenue"], experiment_id="e")


def test_segment_measured_after_assignment_is_refused() -> None:
    df = _dated().assign(band=["low", "high", "low", "high"], band_at=_dated()["score_at"])
    with pytest.raises(ParamsError) as err:
        adjust.segment_breakdown(df, ["band"], experiment_id="e", control="c", variants=["v"])
    assert "experiment 'e': segment 'band' is measured after assignment" in str(err.value)
    assert "registration's segments" in err.value.fix


def test_with_lead_columns_brings_timestamps_so_the_check_sees_them() -> None:
    out = _dated()[["lead_id", "variant", "converted", "assigned_at"]]
    leads = _dated()[["lead_id", "score", "score_at"]].iloc[::-1]
    joined = adjust.with_lead_columns(out, leads, ["score"])
    assert joined["score"].tolist() == [10.0, 20.0, 30.0, 40.0]
    with pytest.raises(ParamsError, match="covariate 'score'"):
        adjust.check_pre_assignment(joined, ["score"], experiment_id="e")


def test_account_unit_counts_leads_without_account_as_their_own() -> None:
    df = HAND.assign(account_id=[f"A{i // 2}" if i % 5 else None for i in range(16)])
    res = adjust.adjusted_results(
        df, control="c", variants=["v"], experiment_id="e", unit="account"
    )
    assert res.notes == ("4 lead(s) without an account counted as their own account",)
    acc = df["account_id"].fillna("lead:" + df["lead_id"])
    want = [acc[df["variant"] == a].nunique() for a in ("c", "v")]
    assert res.table["n_units"].tolist() == want
    groups = pd.factorize(acc)[0]
    t = (df["variant"] == "v").to_numpy(float)
    fit = sm.OLS(df["converted"].to_numpy(), np.column_stack([np.ones(16), t])).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    assert res.table.loc[1, "se_unadj"] == pytest.approx(fit.bse[1], rel=1e-10)
    assert res.table.loc[1, ["diff_adj", "variance_reduction"]].isna().all()  # no covariates


def test_empty_arm_and_no_variation_give_nan_not_errors() -> None:
    f = pd.DataFrame(
        {"variant": ["c"] * 10 + ["v"] * 10, "converted": [0.0] * 20, "score": np.arange(20.0)}
    )
    res = adjust.adjusted_results(
        f, control="c", variants=["v", "w"], experiment_id="e", covariates=["score"]
    )
    v, w = res.table.iloc[1], res.table.iloc[2]
    # nobody converted: a zero difference with a zero-width interval, no variance to reduce
    assert (v["diff_adj"], v["se_unadj"]) == (0.0, 0.0) and math.isnan(v["variance_reduction"])
    # an arm without leads: every number missing, its n_units 0
    assert w["n_units"] == 0 and w[["diff_unadj", "diff_adj"]].isna().all()
    assert "<table" in res._repr_html_()
