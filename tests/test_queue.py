"""Tests for leadnb.scoring.queue against independent recomputations: a plain-Python bootstrap
(same seed, one draw at a time), hand examples, scikit-learn's own logistic decision function,
scikit-survival's ``cumulative_dynamic_auc``, the calibration module's AUC and threshold sweep,
and the segments module's follow-up cadence."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from leadnb import safe
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.scoring import queue
from leadnb.scoring.calibration import auc_with_ci, threshold_sweep
from leadnb.scoring.queue import (
    CAPTURE_CURVE_COLUMNS,
    QUEUE_COLUMNS,
    TD_AUC_COLUMNS,
    capacity_capture,
    capacity_leads,
    capture_curve,
    contributions,
    lead_queue,
    lead_reasons,
    log_odds,
    next_follow_up,
    population_weeks,
    reason_phrase,
    time_dependent_auc,
)

CONTRACT_QUEUE = [
    "lead_id", "account_id", "p_convert", "rank", "this_week", "next_follow_up", "reason_1",
    "reason_2", "reason_3",
]  # fmt: skip


def tiny(n: int = 14, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small population: outcome, a model probability (distinct) and points (many ties)."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, 4, n).astype(float) * 5
    p = rng.random(n)
    y = (rng.random(n) < 0.2 + 0.5 * p).astype(float)
    return y, p, pts


# ------------------------------------------------------------------ capacity


def test_capacity_leads_is_the_threshold_sweeps_arithmetic():
    # threshold_sweep calls a threshold within capacity when leads_above / weeks <= capacity
    rng = np.random.default_rng(0)
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 200, 300), unit="D")
    w = population_weeks(created)
    sw = threshold_sweep(np.arange(300.0), np.zeros(300), created, capacity_per_week=3)
    recovered = (sw["leads_above"] / sw["weekly_workload"]).to_numpy()
    assert np.allclose(recovered, w)
    for cap, weeks in [(60, 26.0), (3, w), (0.5, 3.0), (7, 1.0), (2.2, 10.0), (60, 7 / 7)]:
        k = capacity_leads(cap, weeks)
        fits = [m for m in range(0, 2000) if m / weeks <= cap]
        assert k == max(fits), (cap, weeks)
    assert population_weeks(pd.to_datetime(["2026-01-01", "2026-01-03"])) == 1.0  # at least one
    with pytest.raises(NotEnoughData):
        population_weeks(pd.Series([pd.NaT, pd.NaT]))
    with pytest.raises(ParamsError):
        capacity_leads(-1, 3)


def test_capture_hand_example_both_tie_rules():
    y = [1, 1, 0, 0, 1, 0, 0, 0]
    p = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.05, 0.01]
    pts = [5, 5, 1, 1, 1, 1, 0, 0]
    share = capacity_capture(y, p, pts, capacity_per_week=1, weeks=3, n_boot=0)
    # points: two 5s (both converted), then four leads tied at 1 (one converted) for one place
    assert (share.capacity, share.capture_model, share.capture_points) == (3, 2.0, 2.25)
    assert share.conversions == 3.0 and share.n == 8
    assert math.isnan(share.capture_diff_ci_low)
    order = capacity_capture(y, p, pts, capacity_per_week=1, weeks=3, n_boot=0, ties="order")
    assert order.capture_points == 2.0  # the first tied row (row 2, not converted) takes it
    # the share rule is the mean over every order of the tied group
    rows = [2, 3, 4, 5]
    mean_over_orders = np.mean([2 + y[r] for r in rows])
    assert share.capture_points == mean_over_orders
    m = share.contract_metrics()
    assert set(m) == {"capture_model", "capture_points", "capture_diff", "capture_diff_ci_low",
                      "capture_diff_ci_high", "capacity_per_week"}  # fmt: skip
    assert m["capture_points"] == 2.25 and m.kinds["capture_points"] == "count"


def _brute_capture(y: list[float], s: list[float], rows: list[int], k: int, ties: str) -> float:
    """Conversions among the top k of the resample ``rows`` (lead numbers), one lead at a time."""
    if ties == "order":
        ranked = sorted(range(len(rows)), key=lambda j: (-s[rows[j]], rows[j]))
        return float(sum(y[rows[j]] for j in ranked[:k]))
    got, left = 0.0, k
    for value in sorted({s[r] for r in rows}, reverse=True):
        group = [r for r in rows if s[r] == value]
        if left <= 0:
            break
        if len(group) <= left:
            got += sum(y[r] for r in group)
            left -= len(group)
        else:
            got += left * sum(y[r] for r in group) / len(group)
            left = 0
    return got


@pytest.mark.parametrize("ties", ["share", "order"])
@pytest.mark.parametrize("cells", [None, 60])  # 60: the draws come in many pieces of 4
def test_paired_bootstrap_against_brute_force(ties, cells, monkeypatch):
    if cells is not None:
        monkeypatch.setattr(queue, "_DRAW_CELLS", cells)
    y, p, pts = tiny()
    n, n_boot, seed = len(y), 60, 11
    yl, pl, sl = y.tolist(), p.tolist(), pts.tolist()
    ks = [0, 1, 4, 7, n]
    rng = np.random.default_rng(seed)
    model = np.empty((n_boot, len(ks)))
    points = np.empty((n_boot, len(ks)))
    for b in range(n_boot):
        rows = rng.integers(0, n, size=n).tolist()
        for i, k in enumerate(ks):
            model[b, i] = _brute_capture(yl, pl, rows, k, ties)
            points[b, i] = _brute_capture(yl, sl, rows, k, ties)
    rk = [queue._ranking(p), queue._ranking(pts)]
    bm, bp = queue._boot_captures(y, rk, ks, ties=ties, n_boot=n_boot, seed=seed)
    assert np.allclose(bm, model) and np.allclose(bp, points)
    # the public interval is the percentile interval of those paired differences
    r = capacity_capture(y, p, pts, capacity_per_week=7, weeks=1.0, ties=ties, n_boot=n_boot,
                         seed=seed)  # fmt: skip
    lo, hi = np.quantile(model[:, 3] - points[:, 3], [0.025, 0.975])
    assert (r.capture_diff_ci_low, r.capture_diff_ci_high) == pytest.approx((lo, hi))
    assert r.capture_model == _brute_capture(yl, pl, list(range(n)), 7, ties)
    assert r.capture_points == _brute_capture(yl, sl, list(range(n)), 7, ties)


def test_capture_curve_rows_equal_capacity_capture():
    y, p, pts = tiny(60, seed=5)
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(60) * 2, unit="D")
    curve = capture_curve(y, p, pts, created_at=created, n_boot=100, seed=4)
    assert list(curve.columns) == list(CAPTURE_CURVE_COLUMNS)
    assert len(curve) == 20 and curve["capacity"].is_monotonic_increasing
    assert curve["capacity"].iloc[-1] == 60  # the whole inflow: every lead is sent
    assert curve["capture_model"].iloc[-1] == y.sum() == curve["capture_points"].iloc[-1]
    assert curve["capture_diff_ci_low"].iloc[-1] == 0 == curve["capture_diff_ci_high"].iloc[-1]
    row = curve.iloc[6]
    one = capacity_capture(y, p, pts, capacity_per_week=row["capacity_per_week"],
                           created_at=created, n_boot=100, seed=4)  # fmt: skip
    assert one.capacity == row["capacity"]
    assert one.capture_diff_ci_low == pytest.approx(row["capture_diff_ci_low"])
    assert one.capture_diff_ci_high == pytest.approx(row["capture_diff_ci_high"])
    assert (curve["recall_model"] * y.sum()).to_numpy() == pytest.approx(curve["capture_model"])


def test_capture_a_better_ranking_wins_with_an_interval_above_zero():
    rng = np.random.default_rng(8)
    n = 2000
    p = rng.random(n)
    y = (rng.random(n) < p**3).astype(float)
    noisy_points = np.round(p * 4 + rng.normal(0, 2, n))  # coarse and noisy: many ties
    r = capacity_capture(y, p, noisy_points, capacity_per_week=20, weeks=10, n_boot=400, seed=1)
    assert r.capacity == 200
    assert r.capture_diff == r.capture_model - r.capture_points > 0
    assert 0 < r.capture_diff_ci_low < r.capture_diff < r.capture_diff_ci_high
    # same ranking twice: no difference, and no width
    same = capacity_capture(y, p, p, capacity_per_week=20, weeks=10, n_boot=50, seed=1)
    assert same.capture_diff == same.capture_diff_ci_low == same.capture_diff_ci_high == 0


def test_capture_sentence_says_the_verdict():
    base = dict(capacity_per_week=60, weeks=26.0, capacity=1560, n=9000, conversions=800,
                capture_model=300.0, capture_points=290.0, n_boot=2000)  # fmt: skip
    better = queue.CaptureResult(**base, capture_diff=10.0, capture_diff_ci_low=2.0,
                                 capture_diff_ci_high=18.0)  # fmt: skip
    assert better.sentence().endswith(": 10 more with the model (95% CI 2 to 18).")
    worse = queue.CaptureResult(**base, capture_diff=-10.0, capture_diff_ci_low=-18.0,
                                capture_diff_ci_high=-2.0)  # fmt: skip
    assert worse.sentence().endswith(": 10 fewer with the model (95% CI -18 to -2).")
    unclear = queue.CaptureResult(**base, capture_diff=10.0, capture_diff_ci_low=-3.0,
                                  capture_diff_ci_high=23.0)  # fmt: skip
    assert unclear.sentence().endswith(": no clear difference (10, 95% CI -3 to 23).")
    y, p, pts = tiny(30, seed=2)
    everyone = capacity_capture(y, p, pts, capacity_per_week=60, weeks=4, n_boot=20)
    assert everyone.capture_diff == 0 and "can work every one of the 30 leads" in (
        everyone.sentence()
    )


def test_capture_checks_its_inputs():
    with pytest.raises(DataError):
        capacity_capture([1, 0], [0.5], [1, 2], capacity_per_week=1, weeks=1)
    with pytest.raises(DataError):
        capacity_capture([1, 2], [0.5, 0.1], [1, 2], capacity_per_week=1, weeks=1)
    with pytest.raises(DataError):
        capacity_capture([1, 0], [0.5, np.nan], [1, 2], capacity_per_week=1, weeks=1)
    with pytest.raises(NotEnoughData):
        capacity_capture([1, 0], [0.5, 0.1], [1, 2], capacity_per_week=1)
    with pytest.raises(ParamsError):
        capacity_capture([1, 0], [0.5, 0.1], [1, 2], capacity_per_week=1, weeks=1, ties="x")


# ------------------------------------------------------------------ reasons


def _sklearn_model(mean, scale, coef, intercept):
    """A fitted-looking scikit-learn pipeline (scaler + logistic) with the given parameters, so
    its own decision_function is the oracle of the log-odds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler()
    sc.mean_, sc.scale_, sc.var_ = np.asarray(mean), np.asarray(scale), np.asarray(scale) ** 2
    sc.n_features_in_, sc.n_samples_seen_ = len(mean), 10
    lr = LogisticRegression()
    lr.coef_, lr.intercept_ = np.asarray([coef]), np.asarray([intercept])
    lr.classes_, lr.n_features_in_ = np.array([0, 1]), len(mean)
    return make_pipeline(sc, lr)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 30),
    p=st.integers(1, 8),
)
def test_contributions_add_up_to_the_log_odds(data, n, p):
    """For every lead i: sum_j coef_j (x_ij - mean_j) / scale_j = log_odds_i - intercept, the
    log-odds being scikit-learn's decision_function and the intercept the log-odds of a lead
    at the means (whose contributions are all zero)."""
    finite = st.floats(-50, 50, allow_nan=False)
    x = data.draw(hnp.arrays("float64", (n, p), elements=finite))
    mean = data.draw(hnp.arrays("float64", p, elements=finite))
    scale = data.draw(hnp.arrays("float64", p, elements=st.floats(0.01, 20)))
    coef = data.draw(hnp.arrays("float64", p, elements=st.floats(-5, 5)))
    intercept = data.draw(st.floats(-5, 5))
    cols = [f"f{j}" for j in range(p)]
    X = pd.DataFrame(x, columns=cols)
    c = contributions(X, mean=mean, scale=scale, coef=coef)
    oracle = _sklearn_model(mean, scale, coef, intercept).decision_function(X.to_numpy())
    assert np.allclose(c.sum(axis=1).to_numpy(), oracle - intercept, atol=1e-9, rtol=1e-9)
    lo = log_odds(X, mean=mean, scale=scale, coef=coef, intercept=intercept)
    assert np.allclose(lo.to_numpy(), oracle, atol=1e-9, rtol=1e-9)
    at_mean = contributions(pd.DataFrame([mean], columns=cols), mean=mean, scale=scale, coef=coef)
    assert (at_mean.to_numpy() == 0).all()
    # the reasons carry the largest contributions by absolute value, largest first
    r = lead_reasons(X, mean=mean, scale=scale, coef=coef, min_abs=0.0)
    k = min(3, p)
    top = -np.sort(-np.abs(c.to_numpy()), axis=1)[:, :k]
    got = np.abs(r[[f"contribution_{j + 1}" for j in range(k)]].to_numpy())
    assert np.allclose(np.nan_to_num(got), top)  # NaN: a zero contribution, no reason
    assert (np.isnan(got) == (top == 0)).all()
    signs = np.sign(r[[f"contribution_{j + 1}" for j in range(k)]].to_numpy())
    said = r[[f"reason_{j + 1}" for j in range(k)]].to_numpy()
    for s_, t_ in zip(signs.ravel(), said.ravel(), strict=True):
        assert t_.endswith("(+)") if s_ > 0 else t_.endswith("(-)") if s_ < 0 else t_ == ""


def test_contributions_align_series_by_name():
    X = pd.DataFrame({"a": [1.0, 3.0], "b": [0.0, 1.0]})
    by_name = contributions(
        X, mean=pd.Series({"b": 0.5, "a": 2.0}), scale=pd.Series({"a": 1.0, "b": 0.5}),
        coef=pd.Series({"b": 2.0, "a": -1.0}),
    )  # fmt: skip
    assert by_name.to_numpy().tolist() == [[1.0, -2.0], [-1.0, 2.0]]
    with pytest.raises(DataError):
        contributions(X, mean=pd.Series({"a": 1.0}), scale=[1, 1], coef=[1, 1])
    with pytest.raises(DataError):
        contributions(X, mean=[0, 0], scale=[1, 0], coef=[1, 1])
    with pytest.raises(DataError):
        contributions(X.assign(a=[1.0, np.nan]), mean=[0, 0], scale=[1, 1], coef=[1, 1])


def test_reasons_in_words():
    X = pd.DataFrame(
        {
            "events_demo_request_30d": [1.0, 0.0, 0.0],
            "days_since_last_touch": [2.0, 60.0, 20.0],
            "abm_account": [0.0, 1.0, 0.0],
            "rule:contact sales form": [0.0, 0.0, 1.0],
            "events_email_open_7d": [0.0, 3.0, 0.0],
        }
    )
    mean = [0.05, 20.0, 0.1, 0.1, 1.0]
    scale = [0.2, 15.0, 0.3, 0.3, 1.5]
    coef = [1.5, -0.9, 0.4, 0.6, 0.05]
    r = lead_reasons(X, mean=mean, scale=scale, coef=coef)
    assert r.loc[0, "reason_1"] == "asked for a demo in the last 30 days (+)"
    assert r.loc[1, "reason_1"] == "no activity for 60 days (-)"
    assert r.loc[1, "reason_2"] == "ABM account (+)"
    assert r.loc[2, "reason_1"] == "contact sales form (+)"
    assert 'no "contact sales form" yet (-)' in r.loc[0].tolist()
    # lead 1: days -0.9 * 40 / 15 = -2.4, ABM 0.4 * 0.9 / 0.3 = 1.2, no demo 1.5 * -0.05 / 0.2
    # = -0.375, the rule -0.2, e-mails +0.067: three reasons, largest first
    assert r.loc[1, "reason_3"] == "no demo request in 30 days (-)"
    assert r.loc[1, "contribution_3"] == pytest.approx(-0.375)
    assert reason_phrase("events_email_open_7d", 3) == "3 e-mails opened in 7 days"
    assert reason_phrase("events_email_open_7d", 1) == "1 e-mail opened in 7 days"
    # a lead at the means has no reason at all
    at_mean = lead_reasons(pd.DataFrame([mean], columns=X.columns), mean=mean, scale=scale,
                           coef=coef)  # fmt: skip
    assert at_mean.loc[0, ["reason_1", "reason_2", "reason_3"]].tolist() == ["", "", ""]
    assert at_mean[["contribution_1", "contribution_2"]].isna().all(axis=None)
    assert reason_phrase("days_since_last_touch", 0) == "active today"
    assert reason_phrase("days_since_last_touch_missing", 1) == "never active"
    assert reason_phrase("industry=other", 1) == "industry is a rare value (pooled)"
    assert reason_phrase("employees", 250) == "employees: 250"
    assert reason_phrase("employees", 250, labels={"employees": "head count"}) == "head count: 250"
    # the names leadnb.scoring.model.features_at_decision gives
    assert reason_phrase("never_touched", 1) == "never active"
    assert reason_phrase("days_since_created", 40.0) == "created 40 days ago"
    assert reason_phrase("created_at_missing", 1) == "no creation date"
    assert reason_phrase("employees_missing", 1) == "no employees on record"
    assert reason_phrase("industry=missing", 1) == "no industry given"
    assert reason_phrase("source=web_na", 1) == 'source is "web_na"'  # a level, not a flag
    assert reason_phrase("points:content", 12) == "12 points for content"
    assert reason_phrase("icp_industry", 0) == "outside the target profile"
    assert reason_phrase("rule:opened pricing page", 1) == "opened pricing page"
    assert reason_phrase("events_webinar_ping_90d", 2) == "2 webinar ping events in 90 days"


@pytest.mark.parametrize(
    "level",
    [
        "<script>alert(1)</script>",
        '=HYPERLINK("http://evil.example","x")',
        "+1\t-2\r\n@SUM(A1)",
        "<img src=x onerror=alert(1)>" * 5,
    ],
)
def test_hostile_category_values_come_out_inert(level, tmp_path):
    X = pd.DataFrame({f"industry={level}": [1.0, 0.0], "score": [10.0, 0.0]})
    r = lead_reasons(X, mean=[0.5, 5.0], scale=[0.5, 5.0], coef=[2.0, 0.1])
    texts = r["reason_1"].tolist()
    for t in texts:
        assert t.startswith("industry is ")  # data text is never at the start of a reason
        assert not t.startswith(safe.FORMULA_PREFIXES)
        assert not any(ch in t for ch in "\t\r\n")
        assert len(t) < 80
        assert "<" not in safe.escape(t)  # the HTML report escapes it (leadnb.safe)
    q = lead_queue(["a", "b"], [0.7, 0.2], capacity_per_week=1, as_of="2026-06-30", reasons=r)
    # the CSV writer's rule changes nothing (no cell starts a formula), and the text comes back
    assert safe.neutralise_csv_cells(q)[["reason_1"]].equals(q[["reason_1"]])
    back = pd.read_csv(io.StringIO(safe.neutralise_csv_cells(q).to_csv(index=False)))
    assert back["reason_1"].tolist() == q["reason_1"].tolist()
    assert len(back) == 2

    # the queue as the notebook writes and shows it: Parquet keeps the values as they are
    # (for programs), the report's table escapes every cell, and the CSV rule quotes data ids
    from leadnb.report import notebook as nb

    q = lead_queue([level, "b"], [0.7, 0.2], capacity_per_week=1, as_of="2026-06-30",
                   account_id=[level, "acct"], reasons=r)  # fmt: skip

    class _Ctx:
        out_dir = tmp_path

    nb.save_parquet(_Ctx(), q, "lead_queue.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "lead_queue.parquet"), q)
    html = nb.styled(q, columns=queue.QUEUE_COLUMNS).to_html()
    assert "<script" not in html and "<img" not in html
    csv = safe.neutralise_csv_cells(q)
    assert not csv["lead_id"].str.startswith(safe.FORMULA_PREFIXES).any()
    assert not csv["account_id"].str.startswith(safe.FORMULA_PREFIXES).any()


def test_capacity_on_a_drawn_sample_scales_the_capacity():
    y, p, s = tiny(40, seed=5)
    half = capacity_capture(y, p, s, capacity_per_week=4, weeks=2, n_boot=50, sample_share=0.5)
    same = capacity_capture(y, p, s, capacity_per_week=2, weeks=2, n_boot=50)
    assert half.capacity == same.capacity == 4
    assert (half.capture_model, half.capture_points) == (same.capture_model, same.capture_points)
    assert half.capture_diff_ci_low == same.capture_diff_ci_low
    assert half.capacity_per_week == 4 and "seeded 50.0% sample" in half.sentence()
    c = capture_curve(y, p, s, capacities_per_week=[4], weeks=2, n_boot=0, sample_share=0.5)
    assert c.loc[0, "capacity"] == 4 and c.loc[0, "capacity_per_week"] == 4
    with pytest.raises(ParamsError):
        capacity_capture(y, p, s, capacity_per_week=4, weeks=2, sample_share=0)


# ------------------------------------------------------------------ the queue


def test_queue_columns_rank_ties_and_capacity():
    ids = ["d", "a", "c", "b", "e"]
    p = [0.1, 0.4, 0.4, 0.9, 0.05]
    reasons = pd.DataFrame({"reason_1": ["r-d", "r-a", "r-c", "r-b", "r-e"],
                            "reason_2": [""] * 5, "reason_3": [""] * 5},
                           index=[10, 11, 12, 13, 14])  # fmt: skip
    q = lead_queue(ids, p, capacity_per_week=3, as_of="2026-06-30",
                   account_id=["x", "y", None, "y", "z"], reasons=reasons)  # fmt: skip
    assert list(q.columns) == CONTRACT_QUEUE == list(QUEUE_COLUMNS)
    assert q["lead_id"].tolist() == ["b", "a", "c", "d", "e"]  # equal p: by lead id
    assert q["rank"].tolist() == [1, 2, 3, 4, 5]
    assert q["this_week"].tolist() == [True, True, True, False, False]
    assert q["reason_1"].tolist() == ["r-b", "r-a", "r-c", "r-d", "r-e"]  # by position
    assert q["account_id"].isna().tolist() == [False, False, True, False, False]
    assert (q["next_follow_up"] == pd.Timestamp("2026-06-30")).all()  # no last touch: due now
    assert not set(q.columns) & {"name", "email", "phone", "company", "title"}
    # the order of the rows given does not matter
    perm = [4, 2, 0, 3, 1]
    q2 = lead_queue([ids[i] for i in perm], [p[i] for i in perm], capacity_per_week=3,
                    as_of="2026-06-30")  # fmt: skip
    assert q2["lead_id"].tolist() == q["lead_id"].tolist()
    small = lead_queue(["a"], [0.3], capacity_per_week=5, as_of="2026-06-30")
    assert small["this_week"].tolist() == [True]
    with pytest.raises(DataError):
        lead_queue(["a", "a"], [0.3, 0.2], capacity_per_week=1, as_of="2026-06-30")
    with pytest.raises(DataError):
        lead_queue(["a", "b"], [0.3, 1.2], capacity_per_week=1, as_of="2026-06-30")
    with pytest.raises(ParamsError):
        lead_queue(["a"], [0.3], capacity_per_week=0, as_of="2026-06-30")


def test_next_follow_up_is_the_high_quality_lists_cadence():
    from leadnb.scoring.segments import high_quality_leads

    rng = np.random.default_rng(2)
    n = 40
    ids = [f"L{i}" for i in range(n)]
    leads = pd.DataFrame(
        {"lead_id": ids, "created_at": pd.Timestamp("2026-01-01")
         + pd.to_timedelta(rng.integers(0, 150, n), unit="D")}
    )  # fmt: skip
    ev = pd.DataFrame(
        {
            "lead_id": rng.choice(ids, 200),
            "ts": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 120 * 24, 200),
                                                                unit="h"),
            "event_type": "content_read",
        }
    )  # fmt: skip
    scores = pd.DataFrame({"lead_id": ids, "score": 1.0})
    seg = pd.Series("engaged_nurture", index=ids)
    as_of = pd.Timestamp("2026-06-30")
    hq = high_quality_leads(leads, ev, scores, seg, as_of=as_of, follow_up_days=10)
    assert len(hq) > 10
    ours = next_follow_up(hq["last_touch"], as_of=as_of, follow_up_days=10)
    assert ours.tolist() == hq["next_follow_up"].tolist()
    assert str(ours.dtype) == "datetime64[us]"


# ------------------------------------------------------------------ time-dependent AUC


def censored(n: int, seed: int, *, censor: bool = True) -> tuple[np.ndarray, ...]:
    """Leads whose time to the outcome depends on a risk score; follow-up ends at random
    (young leads) when ``censor``."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    t_event = rng.exponential(60 * np.exp(-0.8 * risk))
    never = rng.random(n) < 0.4  # many leads never convert
    t_event = np.where(never, np.inf, t_event)
    follow = rng.uniform(10, 200, n) if censor else np.full(n, 150.0)
    time = np.round(np.minimum(t_event, follow))  # whole days: ties in time
    event = t_event <= follow
    return np.round(risk, 1), time, event  # rounded risk: ties in scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_td_auc_equals_scikit_survival(seed):
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.util import Surv

    risk, time, event = censored(400, seed)
    y = Surv.from_arrays(event=event, time=time)
    horizons = [30, 60, 90]
    oracle, _ = cumulative_dynamic_auc(y, y, risk, horizons)
    got = time_dependent_auc(risk, time, event, horizons=horizons, n_boot=0)
    assert list(got.columns) == list(TD_AUC_COLUMNS)
    assert np.allclose(got["auc"].to_numpy(), oracle, atol=1e-12)
    assert (got["censored"] > 0).all()  # the censoring-weighting is exercised
    assert (got["cases"] + got["controls"] + got["censored"] == 400).all()


def test_td_auc_without_censoring_is_the_ordinary_auc():
    risk, time, event = censored(500, 4, censor=False)  # followed 150 days, beyond each horizon
    got = time_dependent_auc(risk, time, event, n_boot=0)
    for t, a in zip(got["horizon_days"], got["auc"], strict=True):
        assert a == pytest.approx(auc_with_ci(risk, (event & (time <= t)).astype(float)).auc)
    assert (got["censored"] == 0).all()
    # every outcome observed (no censoring at all): the same
    allev = np.ones(len(time), dtype=bool)
    got2 = time_dependent_auc(risk, time, allev, horizons=[30], n_boot=0)
    assert got2["auc"].iloc[0] == pytest.approx(auc_with_ci(risk, (time <= 30).astype(float)).auc)


def test_td_auc_interval_and_edges():
    risk, time, event = censored(300, 5)
    a = time_dependent_auc(risk, time, event, n_boot=100, seed=3)
    b = time_dependent_auc(risk, time, event, n_boot=100, seed=3)
    assert a.equals(b)  # seeded
    assert (a["auc_ci_low"] <= a["auc"]).all() and (a["auc"] <= a["auc_ci_high"]).all()
    assert (a["auc"] > 0.6).all()  # the risk drives the time to the outcome
    none = time_dependent_auc(risk, time, event, horizons=[1000], n_boot=10)
    assert none[["auc", "auc_ci_low", "auc_ci_high"]].isna().all(axis=None)  # no control
    with pytest.raises(DataError):
        time_dependent_auc([0.1, 0.2], [-1, 3], [True, False])


def _td_auc_sorted(risk, time, event, horizons):
    """The time-dependent AUC as queue.py computed it before counting (each horizon's controls
    sorted, the censoring curve over the draw's own distinct times): the reference that
    queue._TdRanks must equal bit for bit."""
    u, inv = np.unique(time, return_inverse=True)
    total = np.bincount(inv, minlength=len(u)).astype("float64")
    d = np.bincount(inv, weights=event.astype("float64"), minlength=len(u))
    c = total - d
    at_risk = len(time) - np.concatenate([[0.0], np.cumsum(total)[:-1]])
    ratio = np.divide(c, at_risk - d, out=np.zeros(len(u)), where=c != 0)
    g = np.cumprod(1.0 - ratio)
    out = np.full(len(horizons), np.nan)
    for h, t in enumerate(horizons):
        case = event & (time <= t)
        control = time > t
        n0 = int(control.sum())
        if n0 == 0 or not case.any():
            continue
        w = 1.0 / g[inv[case]]
        ctrl = np.sort(risk[control])
        below = np.searchsorted(ctrl, risk[case], side="left")
        tied = np.searchsorted(ctrl, risk[case], side="right") - below
        out[h] = float(np.sum(w * (below + 0.5 * tied)) / (w.sum() * n0))
    return out


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 40),
    horizons=st.lists(st.sampled_from([0.0, 1.0, 2.5, 4.0, 9.0]), min_size=1, max_size=4),
)
def test_td_auc_draws_count_what_the_sorting_version_computes(data, n, horizons) -> None:
    """The estimate's and each bootstrap draw's AUCs (counts over the leads' distinct times and risks) are bit for
    bit those of the per-draw sorts: tied times and risks, -0.0, repeats, horizons with no case
    or no control."""
    risk = np.array(data.draw(st.lists(st.sampled_from([-0.0, 0.0, 0.2, 0.5, 0.9, 3.0]),
                                       min_size=n, max_size=n)))  # fmt: skip
    time = np.array(
        data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.5, 7.0]), min_size=n, max_size=n))
    )
    event = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))
    hs = np.asarray(horizons, dtype="float64")
    ranked = queue._TdRanks(risk, time, event)
    want = _td_auc_sorted(risk[rows], time[rows], event[rows], hs)
    np.testing.assert_array_equal(ranked.auc(rows, hs), want)
    every = np.arange(n)  # the point estimate: each lead once
    np.testing.assert_array_equal(ranked.auc(every, hs), _td_auc_sorted(risk, time, event, hs))


def test_reason_keys_packed_equal_the_multiindex_factorize():
    rng = np.random.default_rng(4)
    f = rng.integers(0, 7, 5_000)
    v = np.round(rng.choice([0.0, 1.0, 2.5, 30.0, 1e3, -4.25], 5_000), 2)
    s = rng.choice([-1, 1], 5_000)
    codes, distinct = queue._reason_keys(f, v, s, 7)
    want_codes, want = pd.factorize(pd.MultiIndex.from_arrays([f, v, s]))
    np.testing.assert_array_equal(codes, want_codes)
    assert distinct == list(want)
    big = np.full(3, 1e300)  # too large to pack: the MultiIndex path
    c2, d2 = queue._reason_keys(np.array([0, 1, 0]), big, np.array([1, 1, 1]), 2)
    assert c2.tolist() == [0, 1, 0] and d2 == [(0, 1e300, 1), (1, 1e300, 1)]


def _captured_by_hand(weight, y, score, k, ties):
    """Conversions among the top k copies of one resample, walking the ranking place by place
    (the definition :func:`queue._captured` computes with arrays)."""
    order = sorted(range(len(score)), key=lambda i: (-score[i], i))
    groups: list[list[int]] = []
    for i in order:
        if ties == "share" and groups and score[groups[-1][0]] == score[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    got, need = 0.0, float(k)
    for g in groups:
        copies = sum(weight[i] for i in g)
        conv = sum(weight[i] * y[i] for i in g)
        if need <= 0 or copies == 0:
            continue
        take = min(need, copies)
        got += take * conv / copies
        need -= take
    return got


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 12),
    rows=st.integers(1, 5),
    ties=st.sampled_from(["share", "order"]),
)
def test_captured_equals_a_walk_down_the_ranking(data, n: int, rows: int, ties: str) -> None:
    score = np.array(
        data.draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 0.9]), min_size=n, max_size=n))
    )
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    weight = np.array(
        data.draw(
            st.lists(
                st.lists(st.integers(0, 3), min_size=n, max_size=n), min_size=rows, max_size=rows
            )
        ),
        dtype="float64",
    )
    ks = sorted(set(data.draw(st.lists(st.integers(0, 3 * n + 2), min_size=1, max_size=6))))
    # the sums first run along the top 2 * max(ks) + PREFIX_SLACK places: a slack of 0 makes
    # that prefix shorter than the ranking whenever max(ks) < n / 2 (a row with too few copies
    # there takes every place)
    slack = data.draw(st.sampled_from([0, 1, 3, queue.PREFIX_SLACK]))
    real, queue.PREFIX_SLACK = queue.PREFIX_SLACK, slack
    try:
        got = queue._captured(weight, y, queue._ranking(score), ks, ties)
    finally:
        queue.PREFIX_SLACK = real
    for r in range(rows):
        for i, k in enumerate(ks):
            want = _captured_by_hand(weight[r], y, score, k, ties)
            assert got[r, i] == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("ties", ["share", "order"])
def test_captured_takes_every_place_when_the_top_holds_too_few_copies(ties, monkeypatch):
    """A resample that drew none of the 10 best leads: its 2nd copy lies past the top places
    summed first (2 * 2 + 0), so every place is summed for it; a row that drew them is read
    from the top places alone. Both equal the walk down the ranking."""
    monkeypatch.setattr(queue, "PREFIX_SLACK", 0)
    n = 20
    score = np.arange(n, 0, -1, dtype="float64") // 2  # pairs of tied scores
    y = np.tile([1.0, 0.0, 0.0, 1.0], n // 4)
    weight = np.ones((2, n))
    weight[1, :10] = 0.0
    got = queue._captured(weight, y, queue._ranking(score), [1, 2], ties)
    for r in range(2):
        for i, k in enumerate([1, 2]):
            assert got[r, i] == pytest.approx(_captured_by_hand(weight[r], y, score, k, ties))


def test_capacity_capture_sums_the_top_of_the_ranking_with_the_same_numbers(monkeypatch):
    """A bootstrap of 300 leads and a capacity of 12: the sums along the top places (and every
    place for the rows with too few copies there) give the table summing every place gives."""
    rng = np.random.default_rng(5)
    n = 300
    p = rng.random(n)
    y = (rng.random(n) < p * 0.4).astype(float)
    pts = np.round(p * 10 + rng.normal(0, 2, n))  # tied points
    kw = {"capacities": [4.0, 1.0], "weeks": 3.0, "n_boot": 200, "seed": 3, "alpha": 0.05}
    for ties in ("share", "order"):
        monkeypatch.setattr(queue, "PREFIX_SLACK", 10**9)  # every place
        whole = queue._capture_table(y, p, pts, ties=ties, **kw)
        for slack in (0, 2, 40):
            monkeypatch.setattr(queue, "PREFIX_SLACK", slack)
            got = queue._capture_table(y, p, pts, ties=ties, **kw)
            pd.testing.assert_frame_equal(got, whole, check_exact=True)
    calls = []
    real = queue._captured_along
    monkeypatch.setattr(queue, "PREFIX_SLACK", 0)
    monkeypatch.setattr(
        queue, "_captured_along", lambda w, *a: calls.append(len(a[1].order)) or real(w, *a)
    )
    capacity_capture(y, p, pts, capacity_per_week=4, weeks=3.0, n_boot=200, seed=3)
    assert calls and max(calls) < n  # the top places were enough for every draw


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6), st.integers(1, 400))
def test_reasons_pick_the_largest_contributions_first_of_equals_in_column_order(
    seed: int, p: int, n: int
) -> None:
    """The reasons are the contributions a stable sort by size puts first (equal sizes in
    column order), said by reason_phrase: contributions from small integers tie often."""
    rng = np.random.default_rng(seed)
    names = [f"rule:r{j}" for j in range(p)]
    X = pd.DataFrame(rng.integers(0, 3, size=(n, p)).astype(float), columns=names)
    mean, scale = np.zeros(p), np.ones(p)
    coef = rng.choice([-1.0, -0.5, 0.5, 1.0], size=p)
    got = lead_reasons(X, mean=mean, scale=scale, coef=coef)
    contrib = X.to_numpy() * coef
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")
    for j in range(3):
        want_c = np.full(n, np.nan)
        want_r = np.full(n, "", dtype=object)
        if j < p:
            f = order[:, j]
            c = contrib[np.arange(n), f]
            ok = np.abs(c) >= 0.05
            want_c[ok] = c[ok]
            want_r[ok] = [
                f"{queue.reason_phrase(names[k], X.iat[i, k])} ({'+' if c[i] > 0 else '-'})"
                for i, k in zip(np.flatnonzero(ok), f[ok], strict=True)
            ]
        np.testing.assert_array_equal(got[f"contribution_{j + 1}"].to_numpy(), want_c)
        assert got[f"reason_{j + 1}"].tolist() == want_r.tolist()
        assert got[f"reason_{j + 1}"].dtype == "str"
