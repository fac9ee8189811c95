"""Tests for leadnb.scoring.calibration against independent oracles (scipy, statsmodels, hand formulas),
and on the real bank-marketing campaign data with field rules (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.scoring.calibration import (
    BAND_COLUMNS,
    DECISION_COLUMNS,
    DECISIONS,
    RULE_LIFT_COLUMNS,
    THRESHOLD_COLUMNS,
    WEIGHT_COLUMNS,
    auc_with_ci,
    brier,
    compare_decisions,
    converted_by,
    creation_times,
    decided_rows,
    decision_outcomes,
    decisions,
    lead_values,
    leads_known,
    recommend_threshold,
    require_population,
    rule_lift,
    score_bands,
    scores_at_decision,
    scores_at_decision_and_now,
    scores_at_moments,
    suggested_weights,
    threshold_sweep,
)
from leadnb.scoring.engine import score
from leadnb.scoring.rules import ScoringConfig

BANK = Path(__file__).resolve().parents[2] / "shared" / "data" / "bank" / "bank-full.csv"


def synthetic(n: int = 2000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 60, n).astype(float)
    p = 1 / (1 + np.exp(-(-3 + 0.05 * s)))
    return s, (rng.random(n) < p).astype(float)


# ------------------------------------------------------------------ bands


def test_score_bands_quantiles_counts_and_intervals():
    s, y = synthetic()
    b = score_bands(s, y, n_bands=5)
    assert b["n"].sum() == len(s) and b["conversions"].sum() == y.sum()
    assert list(b["band"]) == list(range(1, len(b) + 1))
    assert (b["score_max"].to_numpy()[:-1] < b["score_min"].to_numpy()[1:]).all()  # ties unsplit
    assert 4 <= len(b) <= 5
    for r in b.itertuples():
        inb = (s >= r.score_min) & (s <= r.score_max)
        assert inb.sum() == r.n and y[inb].sum() == r.conversions
        lo, hi = proportion_confint(r.conversions, r.n, method="wilson")
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
        assert r.lift == pytest.approx((r.conversions / r.n) / y.mean())


def test_score_bands_heavy_ties_and_fixed_edges():
    s = np.array([0, 0, 0, 0, 0, 0, 5, 5, 10, 20], dtype=float)
    y = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1, 1], dtype=float)
    b = score_bands(s, y, n_bands=10)
    assert b["n"].sum() == 10
    assert b.iloc[0]["score_min"] == 0 and b.iloc[0]["n"] == 6  # the zeros stay together
    f = score_bands(s, y, edges=[0, 5, 10, 20])
    assert f["n"].tolist() == [6, 2, 2]  # [0,5) [5,10) [10,20]
    assert f["conversions"].tolist() == [1, 1, 2]
    g = score_bands(s, y, edges=[1, 10])
    assert g["n"].tolist() == [3]  # [1,10]: 5, 5, 10 (closed last bin); 0s and 20 left out
    assert (g.iloc[0]["score_min"], g.iloc[0]["score_max"]) == (5, 10)


def test_inputs_are_checked():
    with pytest.raises(DataError, match="0/1"):
        score_bands([1, 2], [0, 2])
    with pytest.raises(DataError, match="lengths"):
        auc_with_ci([1, 2, 3], [0, 1])


# ------------------------------------------------------------------ AUC


def delong_pairwise(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """O(n1 n0) DeLong from the pairwise kernel (oracle)."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    return psi.mean(), np.sqrt(var)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.booleans()), min_size=4, max_size=60).filter(
        lambda r: 2 <= sum(b for _, b in r) <= len(r) - 2
    )
)
def test_auc_equals_mann_whitney_and_delong_pairwise(rows):
    s = np.array([float(a) for a, _ in rows])
    y = np.array([float(b) for _, b in rows])
    res = auc_with_ci(s, y)
    u = stats.mannwhitneyu(s[y == 1], s[y == 0], alternative="two-sided").statistic
    assert res.auc == pytest.approx(u / (res.n_pos * res.n_neg))
    auc, se = delong_pairwise(s, y)
    assert res.auc == pytest.approx(auc) and res.se == pytest.approx(se, abs=1e-12)
    assert res.n == len(s) and res.n_pos + res.n_neg == len(s)
    assert 0 <= res.auc_ci_low <= res.auc <= res.auc_ci_high <= 1


def auc_mid_ranks(s: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> tuple[float, ...]:
    """The AUC and DeLong interval as computed before the one-sort placements (three
    ``rankdata`` calls): the reference the fast path must equal to the last bit."""
    pos, neg = s[y == 1], s[y == 0]
    n1, n0 = len(pos), len(neg)
    r_all = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (r_all[:n1] - stats.rankdata(pos)) / n0
    v01 = 1.0 - (r_all[n1:] - stats.rankdata(neg)) / n1
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / n1 if n1 > 1 else 0.0) + (v01.var(ddof=1) / n0 if n0 > 1 else 0.0)
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    return auc, float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se)), se


score_st = st.one_of(
    st.integers(-3, 3).map(float),  # heavy ties
    st.sampled_from([0.0, -0.0, 0.5, 1e-9, 2.5]),  # -0.0 ties with 0.0
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(score_st, st.booleans()), min_size=2, max_size=80))
def test_auc_one_sort_equals_the_mid_rank_formulation_exactly(rows):
    s = np.array([a for a, _ in rows])
    y = np.array([float(b) for _, b in rows])
    res = auc_with_ci(s, y)
    if y.sum() in (0, len(y)):
        assert np.isnan(res.auc) and res.n_pos + res.n_neg == len(y)
        return
    assert (res.auc, res.auc_ci_low, res.auc_ci_high, res.se) == auc_mid_ranks(s, y)


def test_auc_one_sort_at_scale_equals_the_mid_rank_formulation():
    rng = np.random.default_rng(11)
    n = 200_000
    y = (rng.random(n) < 0.05).astype(float)
    for s in (np.round(rng.gamma(2, 5, n) + 3 * y, 1), rng.normal(size=n) + 0.3 * y):
        res = auc_with_ci(s, y)
        assert (res.auc, res.auc_ci_low, res.auc_ci_high, res.se) == auc_mid_ranks(s, y)


def test_auc_ci_width_and_degenerate():
    s, y = synthetic(4000)
    r = auc_with_ci(s, y)
    z = stats.norm.ppf(0.975)
    assert r.auc_ci_high - r.auc == pytest.approx(z * r.se)
    assert r.auc > 0.6 and r.method == "delong"
    assert np.isnan(auc_with_ci([1, 2], [1, 1]).auc)


# ------------------------------------------------------------------ Brier


def test_brier_against_statsmodels_glm():
    s, y = synthetic()
    b = brier(s, y)
    glm = sm.GLM(y, sm.add_constant(s), family=sm.families.Binomial()).fit()
    p = glm.predict()
    assert b.brier == pytest.approx(np.mean((p - y) ** 2), rel=1e-6)
    assert b.slope == pytest.approx(glm.params[1], rel=1e-5)
    assert b.brier_reference == pytest.approx(y.mean() * (1 - y.mean()))
    assert b.brier < b.brier_reference and 0 < b.skill < 1
    assert b.slope_ci_low < b.slope < b.slope_ci_high and b.n == len(s)


def test_brier_equals_the_plain_statsmodels_logit_to_the_last_bit():
    """No perfect-prediction check per step and min/max instead of np.unique change no number."""
    rng = np.random.default_rng(9)
    for s, y in (synthetic(), synthetic(50_000, seed=2)):
        b = brier(s, y)
        ref = sm.Logit(y, sm.add_constant(s, has_constant="add")).fit(disp=0, maxiter=200)
        ci = np.asarray(ref.conf_int(0.05))
        assert b.brier == float(np.mean((ref.predict() - y) ** 2))
        assert (b.intercept, b.slope) == (float(ref.params[0]), float(ref.params[1]))
        assert (b.slope_ci_low, b.slope_ci_high) == (float(ci[1, 0]), float(ci[1, 1]))
    y = (rng.random(40) < 0.3).astype(float)
    for s in (np.zeros(40), np.where(rng.random(40) < 0.5, 0.0, -0.0)):  # one distinct score
        assert (brier(s, y).skill, np.isnan(brier(s, y).slope)) == (0.0, True)
    assert np.isnan(brier(np.arange(40.0), np.zeros(40)).slope)  # one class


# ------------------------------------------------------------------ thresholds


def test_threshold_sweep_against_brute_force():
    s, y = synthetic(500)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(500) % 71, unit="D")
    sw = threshold_sweep(s, y, created, capacity_per_week=20)
    weeks = 70 / 7
    assert sw["threshold"].is_monotonic_decreasing
    for r in sw.sample(15, random_state=0).itertuples():
        above = s >= r.threshold
        assert r.leads_above == above.sum()
        assert r.conversions_captured == y[above].sum()
        assert r.precision == pytest.approx(y[above].mean())
        assert r.recall == pytest.approx(y[above].sum() / y.sum())
        assert r.weekly_workload == pytest.approx(above.sum() / weeks)
        assert r.within_capacity == (above.sum() / weeks <= 20)
    with pytest.raises(NotEnoughData, match="(?i)creation dates.*created_at"):
        threshold_sweep(s, y, capacity_per_week=1)
    with pytest.raises(NotEnoughData, match="creation dates"):
        threshold_sweep(s, y, pd.Series(pd.NaT, index=range(500)), capacity_per_week=1)
    with pytest.raises(ParamsError, match="weeks"):
        threshold_sweep(s, y, weeks=0, capacity_per_week=1)
    thin = threshold_sweep(s, y, weeks=4, capacity_per_week=5, max_thresholds=10)
    assert len(thin) <= 10


def test_recommend_threshold_hand_example():
    s = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype=float)
    y = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 1], dtype=float)
    sw = threshold_sweep(s, y, weeks=1, capacity_per_week=4)
    rec = recommend_threshold(sw, 4)
    assert rec.threshold == 7 and rec.leads_above == 4 and rec.within_capacity
    assert rec.precision == pytest.approx(3 / 4) and rec.recall == pytest.approx(3 / 5)
    over = recommend_threshold(sw, 0.5)
    assert over.threshold == 10 and not over.within_capacity


# ------------------------------------------------------------------ rules


def rule_frame(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, ScoringConfig]:
    rng = np.random.default_rng(seed)
    n = 3000
    good = rng.random(n) < 0.3
    noise = rng.random(n) < 0.5
    comp = rng.random(n) < 0.05
    rare = rng.random(n) < 0.004
    p = 0.05 + 0.15 * good
    y = ((rng.random(n) < p) & ~comp).astype(float)
    cfg = ScoringConfig.from_dict(
        {
            "rules": [
                {"name": n_, "category": c, "points": pts, "when": {"event_type": n_}}
                for n_, c, pts in [
                    ("good", "tags", 10),
                    ("noise", "content", 5),
                    ("competitor", "tags", 8),
                    ("rare", "behaviour", 3),
                ]
            ]  # fmt: skip
        },
        Path("."),
    )
    df = pd.DataFrame(
        {
            "lead_id": [str(i) for i in range(n)],
            "rule:good": 10.0 * good,
            "rule:noise": 5.0 * noise,
            "rule:competitor": 8.0 * comp,
            "rule:rare": 3.0 * rare,
        }
    )
    df["tags"] = df["rule:good"] + df["rule:competitor"]
    df["content"] = df["rule:noise"]
    df["behaviour"] = df["rule:rare"]
    df["profile"] = 0.0
    return df, y, cfg


def test_rule_lift_against_statsmodels():
    df, y, cfg = rule_frame()
    lift = rule_lift(df, y, cfg, min_n=30).set_index("rule")
    for name in ("good", "noise"):
        hit = df[f"rule:{name}"].to_numpy() != 0
        c1, n1, c0, n0 = y[hit].sum(), hit.sum(), y[~hit].sum(), (~hit).sum()
        r = lift.loc[name]
        assert (r.n_with, r.n_without) == (n1, n0)
        assert r.rate_with == pytest.approx(c1 / n1) and r.rate_without == pytest.approx(c0 / n0)
        assert r.lift == pytest.approx((c1 / n1) / (c0 / n0))
        lo, hi = confint_proportions_2indep(c1, n1, c0, n0, compare="ratio", method="score")
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
        dlo, dhi = confint_proportions_2indep(c1, n1, c0, n0, compare="diff", method="newcomb")
        assert (r.diff_ci_low, r.diff_ci_high) == pytest.approx((dlo, dhi))
    assert lift.loc["good", "ci_low"] > 1  # the predictive rule is clearly above 1
    assert lift.loc["noise", "ci_low"] < 1 < lift.loc["noise", "ci_high"]
    comp = lift.loc["competitor"]
    assert comp.rate_with == 0 and comp.lift == 0 and comp.ci_high < 1
    assert comp.ci_low == pytest.approx(0, abs=1e-9)
    assert bool(lift.loc["rare", "too_rare"]) and not bool(lift.loc["good", "too_rare"])


def test_suggested_weights_match_statsmodels_logit():
    df, y, cfg = rule_frame()
    w = suggested_weights(df, y, cfg, by="rule", min_n=30).set_index("term")
    assert "no finite weight" in w.loc["competitor", "note"]  # never converts: separated
    n_rare = int((df["rule:rare"] != 0).sum())
    assert w.loc["rare", "note"] == f"too rare to judge (fires for {n_rare} of {len(df):,} leads)"
    X = sm.add_constant(
        pd.DataFrame({"good": (df["rule:good"] != 0) * 1.0, "noise": (df["rule:noise"] != 0) * 1.0})
    )
    ref = sm.Logit(y, X).fit(disp=0)
    assert w.loc["good", "coef"] == pytest.approx(ref.params["good"], rel=1e-5)
    assert w.loc["noise", "p_value"] == pytest.approx(ref.pvalues["noise"], rel=1e-4)
    total = abs(w.loc["good", "suggested_points"]) + abs(w.loc["noise", "suggested_points"])
    assert total == pytest.approx(10 + 5)
    assert w.loc["good", "suggested_points"] > w.loc["noise", "suggested_points"]
    assert np.isnan(w.loc["rare", "coef"])
    c = suggested_weights(df, y, cfg, by="category").set_index("term")
    assert "no variation" in c.loc["profile", "note"]
    assert "too rare" in c.loc["behaviour", "note"]  # 12 leads with points, none convert
    ref = sm.Logit(y, sm.add_constant(df[["tags", "content"]])).fit(disp=0)
    assert c.loc["content", "coef"] == pytest.approx(ref.params["content"], rel=1e-4, abs=1e-6)


def logit_on_frame(y: np.ndarray, terms: dict[str, np.ndarray]):
    """The joint fit as suggested_weights made it before :func:`_fit_logit`: statsmodels on a
    DataFrame with an added constant, rank and perfect-prediction checks on."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = sm.add_constant(pd.DataFrame(terms), has_constant="add")
        return sm.Logit(y, X).fit(disp=0, maxiter=200)


def weights_world(seed: int = 8) -> tuple[pd.DataFrame, np.ndarray, ScoringConfig]:
    """Eight rules, one rare and one never converting, correlated hits, decayed category points."""
    rng = np.random.default_rng(seed)
    n = 6000
    names = [f"r{i}" for i in range(8)]
    base = rng.random(n)
    hits = {k: rng.random(n) < (0.1 + 0.05 * i) * (1 + (base > 0.7)) for i, k in enumerate(names)}
    hits["r6"] = rng.random(n) < 0.003  # too rare
    logit = -3 + 0.8 * hits["r0"] + 0.4 * hits["r1"] - 0.5 * hits["r2"] + 0.3 * hits["r4"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    hits["r7"] = hits["r7"] & (y == 0)  # never converts: no finite weight
    cats = ["tags", "content", "behaviour"]
    cfg = ScoringConfig.from_dict(
        {"rules": [{"name": k, "category": cats[i % 3], "points": 2 + i, "when": {"event_type": k}}
                   for i, k in enumerate(names)]},
        Path("."),
    )  # fmt: skip
    df = pd.DataFrame({"lead_id": [str(i) for i in range(n)]})
    for i, k in enumerate(names):
        df[f"rule:{k}"] = (2 + i) * hits[k] * rng.uniform(0.2, 1.0, n)  # decayed points
    for j, c in enumerate(cats):
        df[c] = df[[f"rule:{k}" for i, k in enumerate(names) if i % 3 == j]].sum(axis=1)
    for c in set(cfg.categories) - set(cats):
        df[c] = 0.0  # a category without rules here: no variation, left out
    return df, y, cfg


@pytest.mark.parametrize("world", [rule_frame, weights_world])
def test_suggested_weights_equal_the_fit_on_the_frame_to_the_last_bit(world):
    df, y, cfg = world()
    for by in ("rule", "category"):
        w = suggested_weights(df, y, cfg, by=by)
        fitted = w.loc[w["note"] == ""]
        assert len(fitted) >= 2
        col = {"rule": lambda t: (df[f"rule:{t}"] != 0).astype("float64").to_numpy(),
               "category": lambda t: df[t].to_numpy(dtype="float64")}[by]  # fmt: skip
        ref = logit_on_frame(y, {t: col(t) for t in fitted["term"]})
        names = fitted["term"].tolist()
        ci = ref.conf_int(0.05)
        np.testing.assert_array_equal(fitted["coef"], ref.params[names])
        np.testing.assert_array_equal(fitted["ci_low"], ci.loc[names, 0])
        np.testing.assert_array_equal(fitted["ci_high"], ci.loc[names, 1])
        np.testing.assert_array_equal(fitted["p_value"], ref.pvalues[names])
        np.testing.assert_array_equal(fitted["odds_ratio"], np.exp(ref.params[names]))


# ------------------------------------------------------------------ decision-time outcomes


def stage_frame() -> pd.DataFrame:
    d = pd.to_datetime
    return pd.DataFrame(
        {
            "lead_id": pd.Series(["a", "b", "c", "d", "e"], dtype="str"),
            "created_at": d(["2026-01-01", "2026-01-01", "2026-03-01", "2026-06-20", "2026-01-01"]),
            "mql_at": d(["2026-01-10", "2026-01-05", None, "2026-06-25", "2026-07-05"]),
            "sql_at": d(["2026-02-01", "2026-01-05", None, None, "2026-07-06"]),
        }
    ).astype(
        {"created_at": "datetime64[us]", "mql_at": "datetime64[us]", "sql_at": "datetime64[us]"}
    )


def test_decision_outcomes_at_mql_created_plus_and_as_of():
    as_of = pd.Timestamp("2026-06-30")
    sd = stage_frame()
    m = decision_outcomes(sd, as_of=as_of, decision="at_mql")
    assert m["lead_id"].tolist() == ["a", "b", "d"]  # c never MQL, e after as_of
    assert m["outcome"].tolist() == [1.0, 1.0, 0.0]
    assert m["decision_at"].tolist() == list(sd["mql_at"].iloc[[0, 1, 3]])
    h = decision_outcomes(sd, as_of=as_of, decision="at_mql", horizon_days=10)
    assert h["lead_id"].tolist() == ["a", "b"] and h["outcome"].tolist() == [0.0, 1.0]
    c = decision_outcomes(sd, as_of=as_of, decision="at_created_plus_days", days=14)
    assert c["lead_id"].tolist() == ["a", "c", "e"]  # b converted before day 14; d too young
    assert c["outcome"].tolist() == [1.0, 0.0, 0.0]
    a = decision_outcomes(sd, as_of=as_of, decision="as_of")
    assert a["outcome"].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ParamsError):
        decision_outcomes(sd, as_of=as_of, decision="at_sql")


def test_decision_outcomes_from_converted_column():
    leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "converted": [1.0, 0.0, np.nan]})
    o = decision_outcomes(None, as_of=pd.Timestamp("2026-01-01"), decision="as_of", leads=leads)
    assert o["lead_id"].tolist() == ["a", "b"] and o["outcome"].tolist() == [1.0, 0.0]
    with pytest.raises(ParamsError, match="needs stage dates"):
        decision_outcomes(None, as_of=pd.Timestamp("2026-01-01"), leads=leads)
    with pytest.raises(NotEnoughData, match="(?i)no outcome.*no converted column") as err:
        decision_outcomes(None, as_of=pd.Timestamp("2026-01-01"), leads=leads[["lead_id"]])
    assert "configure data.stages" in err.value.when


def test_scores_at_decision_and_compare_decisions():
    as_of = pd.Timestamp("2026-06-30")
    sd = stage_frame()
    leads = sd[["lead_id", "created_at"]]
    ts = pd.to_datetime(["2026-01-03", "2026-01-20", "2026-01-04", "2026-03-05", "2026-06-30T15:00:00",
                         "2026-06-22"], format="ISO8601").astype("datetime64[us]")  # fmt: skip
    events = pd.DataFrame(
        {
            "lead_id": pd.Series(["a", "a", "b", "c", "e", "d"], dtype="str"),
            "ts": ts,
            "event_type": pd.Series(["click"] * 6, dtype="str"),
        }  # fmt: skip
    )
    cfg = ScoringConfig.from_dict(
        {
            "rules": [
                {"name": "c", "category": "behaviour", "points": 1, "when": {"event_type": "click"}}
            ]
        },
        Path("."),  # fmt: skip
    )
    dec = decision_outcomes(sd, as_of=as_of, decision="at_mql")
    pop = scores_at_decision(leads, events, cfg, dec, as_of)
    # a: MQL 01-10 -> only the 01-03 click; b: MQL 01-05 -> its 01-04 click; d: 06-25 -> 06-22
    assert pop.set_index("lead_id")["score"].to_dict() == {"a": 1.0, "b": 1.0, "d": 1.0}
    now = decision_outcomes(sd, as_of=as_of, decision="as_of")
    pop_now = scores_at_decision(leads, events, cfg, now, as_of)
    plain = score(leads, events, cfg, as_of)
    assert pop_now["score"].tolist() == plain["score"].tolist() == [2.0, 1.0, 1.0, 1.0, 1.0]
    t = compare_decisions(leads, events, cfg, sd, as_of=as_of, days=14).set_index("decision")
    assert list(t.index) == ["as_of", "at_mql", "at_created_plus_14_days"]
    # the same moments in words, for the report's table and sentences
    assert t["moment"].tolist() == [
        "Scored on the analysis date",
        "Scored at MQL",
        "Scored 14 days after creation",
    ]
    assert list(t.reset_index().columns) == ["decision", *DECISION_COLUMNS]
    assert t.loc["as_of", "n"] == 5 and t.loc["as_of", "conversions"] == 2
    y = now["outcome"].to_numpy()
    u = stats.mannwhitneyu(pop_now["score"][y == 1], pop_now["score"][y == 0]).statistic
    assert t.loc["as_of", "auc"] == pytest.approx(u / (2 * 3))
    assert t.loc["at_mql", "n"] == 3


AS_OF = pd.Timestamp("2026-06-30")


def scored_world(seed: int = 4, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame, ScoringConfig,
                                                         pd.DataFrame]:  # fmt: skip
    """Leads (in shuffled id order, with a field rule's column), events of every rule kind
    (counted, capped, decayed, windowed, once, by value) and stage dates."""
    rng = np.random.default_rng(seed)
    ids = pd.Series([f"L{i:04d}" for i in rng.permutation(n)], dtype="str")
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 175 * 24, n), unit="h")
    mql = created + pd.to_timedelta(rng.integers(0, 40 * 24, n), unit="h")
    sql = mql + pd.to_timedelta(rng.integers(1, 60 * 24, n), unit="h")
    d = pd.DataFrame({"lead_id": ids, "created_at": created, "mql_at": mql, "sql_at": sql})
    d.loc[rng.random(n) < 0.4, "mql_at"] = pd.NaT
    d.loc[d["mql_at"].isna() | (rng.random(n) < 0.6), "sql_at"] = pd.NaT
    sd = d.astype({c: "datetime64[us]" for c in ("created_at", "mql_at", "sql_at")})
    leads = sd[["lead_id", "created_at"]].assign(
        industry=pd.Series(rng.choice(["software", "retail", None], n), dtype="str")
    )
    m = 8 * n
    at = sd["created_at"].to_numpy()[rng.integers(0, n, m)]
    ev = pd.DataFrame(
        {
            "lead_id": ids.to_numpy()[rng.integers(0, n, m)],
            "ts": pd.Series(at + pd.to_timedelta(rng.integers(0, 90 * 24, m), unit="h").to_numpy()),
            "event_type": rng.choice(["click", "read", "demo", "tag"], m),
            "value": rng.choice(["a", "b", "c"], m),
            "duration_s": rng.uniform(0, 120, m),
        }
    ).astype({"lead_id": "str", "event_type": "str", "value": "str", "ts": "datetime64[us]"})
    cfg = ScoringConfig.from_dict(
        {
            "rules": [
                {
                    "name": "click",
                    "category": "behaviour",
                    "points": 1,
                    "cap": 6,
                    "when": {"event_type": "click"},
                },
                {
                    "name": "read",
                    "category": "content",
                    "points": 3,
                    "half_life_days": 20,
                    "when": {"event_type": "read", "min_duration_s": 30},
                },
                {
                    "name": "recent click",
                    "category": "behaviour",
                    "points": 2,
                    "window_days": 14,
                    "when": {"event_type": "click"},
                },
                {
                    "name": "demo",
                    "category": "tags",
                    "points": 10,
                    "once": True,
                    "when": {"event_type": "demo"},
                },
                {
                    "name": "tag a",
                    "category": "tags",
                    "points": -4,
                    "when": {"event_type": "tag", "value": ["a"]},
                },
                {
                    "name": "software",
                    "category": "profile",
                    "points": 5,
                    "when": {"field": "industry", "equals": "software"},
                },
            ]  # fmt: skip
        },
        Path("."),
    )
    return leads, ev, cfg, sd


def merged_population(leads, events, cfg, dec) -> pd.DataFrame:
    """A population by the plain formulation: score every lead at its decision time, join."""
    at = dec.set_index("lead_id")["decision_at"]
    return dec.merge(score(leads, events, cfg, AS_OF, at=at), on="lead_id", how="inner")


def test_one_pass_gives_the_population_and_todays_scores_of_two_scorings():
    leads, events, cfg, sd = scored_world()
    now = score(leads, events, cfg, AS_OF)
    for decision in DECISIONS:
        dec = decision_outcomes(sd, as_of=AS_OF, decision=decision, days=7)
        pop, today = scores_at_decision_and_now(leads, events, cfg, dec, AS_OF)
        pd.testing.assert_frame_equal(
            pop, merged_population(leads, events, cfg, dec), check_exact=True
        )
        pd.testing.assert_frame_equal(pop, scores_at_decision(leads, events, cfg, dec, AS_OF),
                                      check_exact=True)  # fmt: skip
        pd.testing.assert_frame_equal(today, now, check_exact=True)
    pop, today = scores_at_decision_and_now(leads, events, cfg, None, AS_OF)
    assert pop is None
    pd.testing.assert_frame_equal(today, now, check_exact=True)
    # decisions of leads in another order, and of a lead that is not among the leads
    dec = decision_outcomes(sd, as_of=AS_OF, decision="at_mql").iloc[::-1]
    dec = pd.concat([dec, dec.iloc[:1].assign(lead_id="nobody")], ignore_index=True)
    pop, _ = scores_at_decision_and_now(leads, events, cfg, dec, AS_OF)
    assert "nobody" not in set(pop["lead_id"]) and len(pop) == len(dec) - 1
    pd.testing.assert_frame_equal(pop, merged_population(leads, events, cfg, dec), check_exact=True)


def test_a_population_is_the_same_whatever_the_decisions_index_says():
    """Decisions indexed by the leads' rows (calibration.decisions) are found by those rows; any
    other index (reset, shuffled with the rows, rows that only partly hold, a row of a lead
    that is not there, text) falls back to looking the ids up: the same population each time."""
    leads, events, cfg, sd = scored_world()
    rows = decisions(sd, as_of=AS_OF, decision="at_mql")
    want = merged_population(leads, events, cfg, rows.reset_index(drop=True))
    wrong = rows.copy()
    wrong.index = np.roll(rows.index.to_numpy(), 1)
    shuffled = rows.sample(frac=1.0, random_state=2)
    stranger = pd.concat([rows, rows.iloc[:1].assign(lead_id="nobody")])
    for dec in (rows, rows.reset_index(drop=True), wrong, shuffled, stranger,
                rows.set_axis(rows["lead_id"].to_numpy())):  # fmt: skip
        pop = scores_at_decision(leads, events, cfg, dec, AS_OF)
        expected = merged_population(leads, events, cfg, dec.reset_index(drop=True))
        pd.testing.assert_frame_equal(pop, expected, check_exact=True)
        if dec is rows or dec is wrong:
            pd.testing.assert_frame_equal(pop, want, check_exact=True)


def test_compare_decisions_takes_what_was_scored_and_gives_the_same_table():
    leads, events, cfg, sd = scored_world()
    kw = {"as_of": AS_OF, "days": 7}
    fresh = compare_decisions(leads, events, cfg, sd, **kw)
    dec = decision_outcomes(sd, as_of=AS_OF, decision="at_created_plus_days", days=7)
    pop, now = scores_at_decision_and_now(leads, events, cfg, dec, AS_OF)
    given = {"at_created_plus_days": pop, "at_mql": None}
    reused = compare_decisions(leads, events, cfg, sd, populations=given, scores_now=now, **kw)
    pd.testing.assert_frame_equal(reused, fresh, check_exact=True)
    # what is given is what is used: negated scores turn the AUC of their own moment around
    flipped = compare_decisions(
        leads, events, cfg, sd, populations={"at_created_plus_days": pop.assign(score=-pop["score"])},
        scores_now=now.assign(score=-now["score"]), **kw,
    ).set_index("decision")  # fmt: skip
    f = fresh.set_index("decision")
    for moment in ("as_of", "at_created_plus_7_days"):
        assert flipped.loc[moment, "auc"] == pytest.approx(1 - f.loc[moment, "auc"])
    assert flipped.loc["at_mql"].equals(f.loc["at_mql"])
    # a population of other decisions (14 days), or the scores of leads in another order, are
    # not taken for these moments (even negated, they change nothing)
    other = scores_at_decision(
        leads, events, cfg, decision_outcomes(sd, as_of=AS_OF, decision="at_created_plus_days",
                                              days=14), AS_OF,
    )  # fmt: skip
    reordered = now.assign(score=-now["score"]).iloc[::-1].reset_index(drop=True)
    ignored = compare_decisions(
        leads, events, cfg, sd, populations={"at_created_plus_days": other.assign(score=-1.0)},
        scores_now=reordered, **kw,
    )  # fmt: skip
    pd.testing.assert_frame_equal(ignored, fresh, check_exact=True)


@pytest.mark.parametrize("decision", ["at_created_plus_days", "at_mql", "as_of"])
def test_scores_at_moments_gives_compare_decisions_every_moment_in_one_pass(decision, monkeypatch):
    """One pass of the engine for the population, today and the comparison's other moments:
    the same population and scores as scores_at_decision_and_now, and compare_decisions, given
    them, scores nothing more and gives the table it computes alone."""
    import leadnb.scoring.calibration as calibration

    leads, events, cfg, sd = scored_world()
    kw = {"as_of": AS_OF, "days": 7}
    fresh = compare_decisions(leads, events, cfg, sd, **kw)
    dec = decision_outcomes(sd, as_of=AS_OF, decision=decision, days=7)
    pop, now = scores_at_decision_and_now(leads, events, cfg, dec, AS_OF)
    passes = []
    real = calibration.iter_moments
    monkeypatch.setattr(
        calibration, "iter_moments", lambda *a, **k: passes.append(len(a[4])) or real(*a, **k)
    )
    got = scores_at_moments(leads, events, cfg, dec, AS_OF, stage_dates=sd, decision=decision,
                            days=7)  # fmt: skip
    assert passes == [1 + len(got.moments) + 1]  # the population, the moments, today: one pass
    pd.testing.assert_frame_equal(got.population, pop, check_exact=True)
    pd.testing.assert_frame_equal(got.now, now, check_exact=True)
    assert set(got.moments) == {"at_mql", "at_created_plus_days"} - {decision}
    for name, moment in got.moments.items():
        alone = scores_at_decision(leads, events, cfg, decisions(sd, as_of=AS_OF, decision=name,
                                                                 days=7), AS_OF)  # fmt: skip
        expected = alone[["lead_id", "decision_at", "outcome", "score"]]
        pd.testing.assert_frame_equal(moment, expected, check_exact=True)
    passes.clear()
    reused = compare_decisions(
        leads, events, cfg, sd, populations={decision: got.population, **got.moments},
        scores_now=got.now, **kw,
    )  # fmt: skip
    pd.testing.assert_frame_equal(reused, fresh, check_exact=True)
    assert passes == []  # nothing scored again
    # the moments given are the ones used: negated, their AUCs turn around
    flipped = compare_decisions(
        leads, events, cfg, sd, scores_now=got.now,
        populations={k: v.assign(score=-v["score"]) for k, v in got.moments.items()}, **kw,
    ).set_index("decision")  # fmt: skip
    f = fresh.set_index("decision")
    for name in got.moments:
        label = "at_created_plus_7_days" if name == "at_created_plus_days" else name
        assert flipped.loc[label, "auc"] == pytest.approx(1 - f.loc[label, "auc"])


def test_scores_at_moments_without_a_population_or_stage_dates():
    leads, events, cfg, sd = scored_world(n=120)
    none = scores_at_moments(leads, events, cfg, None, AS_OF, stage_dates=sd, decision="at_mql")
    assert none.population is None and set(none.moments) == {"at_mql", "at_created_plus_days"}
    dec = decision_outcomes(sd, as_of=AS_OF, decision="at_mql")
    bare = scores_at_moments(leads, events, cfg, dec, AS_OF, stage_dates=None, decision="at_mql")
    pop, now = scores_at_decision_and_now(leads, events, cfg, dec, AS_OF)
    assert bare.moments == {}
    pd.testing.assert_frame_equal(bare.population, pop, check_exact=True)
    pd.testing.assert_frame_equal(bare.now, now, check_exact=True)


def test_decided_rows_are_the_index_of_decisions():
    _, _, _, sd = scored_world(n=300)
    sd = sd.copy()
    sd.loc[sd.index[:5], "created_at"] = pd.NaT  # undated leads are never decided 7 days on
    for decision in ("at_mql", "at_created_plus_days", "as_of"):
        for as_of in (AS_OF, pd.Timestamp("2026-03-01")):
            kw = {"as_of": as_of, "decision": decision, "days": 7}
            want = decisions(sd, **kw).index.to_numpy()
            np.testing.assert_array_equal(decided_rows(sd, **kw), want)
    with pytest.raises(NotEnoughData):
        decided_rows(None, as_of=AS_OF, decision="as_of")  # no outcome at all, as decisions says
    with pytest.raises(ParamsError):
        decided_rows(sd, as_of=AS_OF, decision="whenever")


def test_creation_times_equal_the_pandas_reindex():
    leads, _, _, _ = scored_world(n=50)
    leads.loc[leads.index[3], "created_at"] = pd.NaT
    wanted = pd.concat(
        [leads["lead_id"].sample(frac=1, random_state=2), pd.Series(["nobody", None], dtype="str")],
        ignore_index=True,
    )  # fmt: skip

    def reference(lds: pd.DataFrame, ids: pd.Series) -> pd.Series:
        return pd.Series(lds.set_index("lead_id")["created_at"].reindex(ids).to_numpy())

    got = creation_times(leads, wanted)
    assert isinstance(got, np.ndarray) and got.dtype == leads["created_at"].dtype
    assert pd.Series(got).equals(reference(leads, wanted))
    assert pd.isna(got[-2:]).all() and pd.isna(got[wanted.tolist().index(leads["lead_id"][3])])
    # numbers as lead ids match nothing given as text, as pandas says
    as_ints = leads.assign(lead_id=np.arange(len(leads)))
    assert pd.Series(creation_times(as_ints, wanted)).equals(reference(as_ints, wanted))
    twice = pd.concat([leads, leads.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate"):
        creation_times(twice, wanted)


@pytest.mark.parametrize("dtype", ["str", "category", "float64"])
def test_lead_values_equal_the_pandas_reindex(dtype: str) -> None:
    """Any column of the leads, e.g. the queue's accounts: text with missing values, a
    categorical, numbers; ids absent from the leads, missing ones, repeated ones."""
    rng = np.random.default_rng(4)
    n = 40
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series([f"L{i:03d}" for i in rng.permutation(n)], dtype="str"),
            "value": pd.Series(
                [None if i % 7 == 0 else f"A{i % 5}" for i in range(n)], dtype="str"
            ),
        }
    )
    if dtype == "float64":
        leads["value"] = pd.Series(np.where(np.arange(n) % 7 == 0, np.nan, np.arange(n) / 3))
    elif dtype == "category":
        leads["value"] = leads["value"].astype("category")
    wanted = pd.Series(
        [*leads["lead_id"].sample(frac=1, random_state=1), "nobody", None, "L001", "L001"],
        dtype="str",
    )
    got = lead_values(leads, "value", wanted)
    expected = leads.set_index("lead_id")["value"].reindex(wanted).to_numpy()
    assert isinstance(got, np.ndarray) and got.dtype == expected.dtype
    pd.testing.assert_series_equal(pd.Series(got), pd.Series(expected))
    assert pd.isna(got[n : n + 2]).all()


# ------------------------------------------------------------------ the real campaign data

BANK_RULES = [
    {"name": "previous success", "category": "profile", "points": 30,
     "when": {"field": "poutcome", "equals": "success"}},
    {"name": "no mortgage", "category": "profile", "points": 10,
     "when": {"field": "housing", "equals": "no"}},
    {"name": "balance 1000+", "category": "profile", "points": 5,
     "when": {"field": "balance", "gte": 1000}},
    {"name": "contacted before", "category": "profile", "points": 5,
     "when": {"field": "previous", "gte": 1}},
    {"name": "personal loan", "category": "profile", "points": -5,
     "when": {"field": "loan", "equals": "yes"}},
]  # fmt: skip


@pytest.mark.skipif(not BANK.exists(), reason="bank campaign data not available")
def test_bank_campaign_field_rules_predict_subscription():
    raw = pd.read_csv(BANK, sep=";")
    leads = raw.drop(columns=["duration"])  # duration is only known after the call: it leaks
    leads.insert(0, "lead_id", pd.Series([f"b{i}" for i in range(len(leads))], dtype="str"))
    cfg = ScoringConfig.from_dict({"rules": BANK_RULES}, Path("."))
    s = score(leads, None, cfg, pd.Timestamp("2014-01-01"))
    y = (raw["y"] == "yes").astype(float).to_numpy()
    # every field rule by hand
    expected = (
        30 * (raw["poutcome"] == "success")
        + 10 * (raw["housing"] == "no")
        + 5 * (raw["balance"] >= 1000)
        + 5 * (raw["previous"] >= 1)
        - 5 * (raw["loan"] == "yes")
    )
    np.testing.assert_array_equal(s["score"].to_numpy(), expected.to_numpy(dtype=float))
    res = auc_with_ci(s["score"], y)
    assert res.n == 45211 and res.n_pos == 5289
    u = stats.mannwhitneyu(s["score"][y == 1], s["score"][y == 0]).statistic
    assert res.auc == pytest.approx(u / (res.n_pos * res.n_neg))
    assert res.auc_ci_low > 0.6  # noticeably better than chance, with its interval
    bands = score_bands(s["score"], y, n_bands=5)
    assert bands["rate"].iloc[-1] > 3 * bands["rate"].iloc[0]
    lift = rule_lift(s, y, cfg).set_index("rule")
    assert lift.loc["previous success", "ci_low"] > 4
    assert lift.loc["personal loan", "ci_high"] < 1


# ------------------------------------------------------------------ too little data: one sentence


def test_require_population_names_what_is_missing_and_when():
    with pytest.raises(NotEnoughData) as err:
        require_population(
            [],
            decision="at_created_plus_days",
            days=7,
            first_created=pd.Timestamp("2025-01-01 10:00"),
        )
    assert err.value.sentence() == (
        "No lead is old enough to be scored 7 days after creation yet; "
        "it appears in the run of 2025-01-08 or later."
    )
    with pytest.raises(NotEnoughData, match="(?i)no lead has become MQL"):
        require_population([], decision="at_mql")
    with pytest.raises(
        NotEnoughData, match=r"(?i)no conversion to predict yet: 3 leads scored at MQL"
    ):
        require_population([0, 0, 0], decision="at_mql")
    with pytest.raises(
        NotEnoughData, match="(?i)1 lead scored on the analysis date, and it has not"
    ):
        require_population([0], decision="as_of")
    with pytest.raises(
        NotEnoughData, match="(?i)all 2 leads scored 30 days after creation reached sql"
    ):
        require_population([1, 1], decision="at_created_plus_days")
    require_population([1, 1], decision="as_of", both=False)  # a threshold needs only conversions
    require_population([0, 1], decision="as_of")


def test_empty_or_undecided_inputs_raise_not_enough_data():
    with pytest.raises(NotEnoughData, match="(?i)no scored leads to put in score bands"):
        score_bands([], [])
    with pytest.raises(NotEnoughData, match="(?i)no scored leads to set a threshold"):
        threshold_sweep([], [], weeks=1, capacity_per_week=5)
    empty = threshold_sweep([1.0], [1.0], weeks=1, capacity_per_week=5).iloc[0:0]
    with pytest.raises(NotEnoughData, match="(?i)sweep is empty"):
        recommend_threshold(empty, 5)
    _, _, cfg = rule_frame()
    with pytest.raises(NotEnoughData, match="(?i)no scoring rules"):
        rule_lift(
            pd.DataFrame({"lead_id": ["a"]}),
            [1.0],
            ScoringConfig.from_dict({"rules": []}, Path(".")),
        )
    sd = stage_frame().drop(columns=["created_at"])
    with pytest.raises(NotEnoughData, match="(?i)7 days after its creation needs.*created_at"):
        decision_outcomes(
            sd, as_of=pd.Timestamp("2026-06-30"), decision="at_created_plus_days", days=7
        )
    # compare_decisions leaves that moment out and keeps the others
    t = compare_decisions(
        pd.DataFrame({"lead_id": sd["lead_id"]}), None, cfg, sd.assign(created_at=pd.NaT),
        as_of=pd.Timestamp("2026-06-30"), days=14,
    )  # fmt: skip
    assert list(t["decision"]) == ["as_of", "at_mql"]


def test_small_samples_two_bands_and_perfect_separation_do_not_fail():
    s = np.array([0.0, 0.0, 5.0, 5.0, 9.0])
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    b = score_bands(s, y, n_bands=10)  # 3 distinct scores: at most 3 bands, ties kept
    assert b["n"].tolist() == [2, 2, 1] and b["rate"].tolist() == [0.0, 1.0, 1.0]
    two = score_bands(s, y, n_bands=2)
    assert two["n"].sum() == 5 and len(two) == 2
    assert auc_with_ci(s, y).auc == 1.0
    br = brier(s, y)  # perfectly separated: a finite Brier near 0, no exception
    assert 0 <= br.brier < 0.01 and br.brier_reference == pytest.approx(0.6 * 0.4)
    one = score_bands([3.0, 3.0], [0.0, 1.0], n_bands=10)
    assert one["n"].tolist() == [2]


def test_rule_lift_when_every_lead_with_the_rule_converts():
    # rate_with = 1: the score interval for the ratio has no real root (complex): NaN, no warning
    df, y, cfg = rule_frame()
    hit = df["rule:good"].to_numpy() != 0
    y = np.where(hit, 1.0, y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lift = rule_lift(df, y, cfg).set_index("rule")
    r = lift.loc["good"]
    assert r.rate_with == 1.0
    for v in (r.ci_low, r.ci_high, r.diff_ci_low, r.diff_ci_high, r.p_value):
        assert isinstance(v, float) and np.isfinite(v)  # real (never complex), not NaN here
    assert r.ci_low < r.lift < r.ci_high and r.diff_ci_low < r["diff"] < r.diff_ci_high
    assert r["diff"] == pytest.approx(1.0 - y[~hit].mean()) and r.p_value < 1e-6


def test_suggested_weights_rules_that_always_fire_together():
    rng = np.random.default_rng(5)
    n = 400
    both = rng.random(n) < 0.4
    y = (rng.random(n) < np.where(both, 0.3, 0.1)).astype(float)
    cfg = ScoringConfig.from_dict(
        {"rules": [{"name": k, "category": "tags", "points": 5, "when": {"event_type": k}}
                   for k in ("a", "b")]},
        Path("."),
    )  # fmt: skip
    df = pd.DataFrame(
        {"lead_id": [str(i) for i in range(n)], "rule:a": 5.0 * both, "rule:b": 5.0 * both}
    )
    w = suggested_weights(df, y, cfg, by="rule").set_index("term")  # singular design: no exception
    assert w["coef"].isna().all() and w["note"].str.contains("no joint fit").all()


def test_converted_by_and_leads_known_use_the_analysis_cut():
    sd = stage_frame()
    c = converted_by(sd, as_of=pd.Timestamp("2026-01-05"))
    assert c.to_dict() == {"a": 0.0, "b": 1.0, "c": 0.0, "d": 0.0, "e": 0.0}  # b at 01-05 counts
    leads = pd.DataFrame({"lead_id": ["a", "b", "c"], "converted": ["1", "0", None]})
    assert converted_by(None, leads, as_of="2026-01-01").to_dict() == {"a": 1.0, "b": 0.0}
    with pytest.raises(NotEnoughData, match="(?i)no outcome"):
        converted_by(None, leads[["lead_id"]], as_of="2026-01-01")
    known = leads_known(sd, pd.Timestamp("2026-03-01"))
    assert known["lead_id"].tolist() == ["a", "b", "c", "e"]  # d created 2026-06-20
    assert leads_known(leads, "2020-01-01") is leads  # no created_at: every lead


# ------------------------------------------------------------------ how the tables are shown


def _human(label: str) -> bool:
    """A label a head of sales reads: no snake_case, starts with a capital or a digit (or is
    the conventional "p-value")."""
    starts = label[:1].isupper() or label[:1].isdigit() or label == "p-value"
    return starts and "_" not in label


@pytest.mark.parametrize(
    ("declared", "kinds"),
    [
        (BAND_COLUMNS, {"rate": "rate", "ci_low": "rate", "n": "count", "lift": "multiplier"}),
        (DECISION_COLUMNS, {"auc": "ratio", "auc_ci_low": "ratio", "rate": "rate"}),
        (THRESHOLD_COLUMNS, {"threshold": "score", "precision": "rate", "within_capacity": "flag"}),
        (RULE_LIFT_COLUMNS, {"lift": "multiplier", "diff": "points", "p_value": "p_value"}),
        (WEIGHT_COLUMNS, {"odds_ratio": "multiplier", "p_value": "p_value", "coef": "ratio"}),
    ],
)
def test_every_shown_column_has_a_human_label_and_the_right_kind(declared, kinds):
    assert all(_human(c.label) for c in declared.values()), [c.label for c in declared.values()]
    assert {k: str(declared[k].kind) for k in kinds} == kinds


def test_the_declarations_cover_each_table_the_report_shows():
    s, y = synthetic()
    assert list(score_bands(s, y, n_bands=5).columns) == list(BAND_COLUMNS)
    sweep = threshold_sweep(s, y, capacity_per_week=10, weeks=4)
    assert list(sweep.columns) == list(THRESHOLD_COLUMNS)
    df, yy, cfg = rule_frame()
    assert list(rule_lift(df, yy, cfg).columns) == list(RULE_LIFT_COLUMNS)
    assert set(suggested_weights(df, yy, cfg).columns) == set(WEIGHT_COLUMNS)


def test_a_band_table_shows_labels_and_formats_from_kinds():
    from leadnb.report.notebook import styled

    b = score_bands([1, 2, 3, 4], [0, 0, 1, 1], edges=[0, 2.5, 5])
    html = styled(b, columns=BAND_COLUMNS).to_html()
    assert "Conversion rate" in html and "ci_low" not in html and "score_min" not in html
    # band 2: both leads converted, twice the overall 50%; Wilson low bound of 2 of 2, in percent
    lo, _ = proportion_confint(2, 2, method="wilson")
    assert ">100.0%<" in html and ">2.00×<" in html and f">{lo * 100:.1f}%<" in html


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1.5]),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_distinct_ranks_are_numpy_uniques_inverse(values):
    """The AUC's placements rank the scores by hashing: the same inverse as ``np.unique``
    (NaNs one value, last; -0.0 equal to 0.0)."""
    from leadnb.scoring.calibration import _distinct_ranks

    s = np.array(values, dtype="float64")
    want = np.unique(s, return_inverse=True)[1].reshape(-1)
    np.testing.assert_array_equal(_distinct_ranks(s), want)


def test_the_decision_type_names_the_decisions() -> None:
    """Every ``decision`` parameter's type lists exactly :data:`DECISIONS`, in order."""
    import typing

    from leadnb.scoring import calibration as cal_module

    assert typing.get_args(cal_module.Decision) == cal_module.DECISIONS
