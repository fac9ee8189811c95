"""Tests for leadnb.funnel.survival against lifelines AND statsmodels (two independent oracles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from scipy.stats import norm
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight

from leadnb.errors import DataError
from leadnb.funnel.survival import (
    TIME_TO_STAGE_COLUMNS,
    survival_curves,
    survival_data,
    time_to_stage,
    time_to_stage_table,
)

AS_OF = pd.Timestamp("2026-06-30")


def synthetic(n: int = 600, seed: int = 5, p_sql: float = 0.7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 390, n), unit="D")
    sql = created + pd.to_timedelta(
        np.where(rng.random(n) < p_sql, rng.integers(0, 150, n), np.nan), unit="D"
    )
    lost = created + pd.to_timedelta(
        np.where(rng.random(n) < 0.3, rng.integers(0, 150, n), np.nan), unit="D"
    )
    mql = created + pd.to_timedelta(rng.integers(0, 5, n), unit="D")
    return pd.DataFrame(
        {
            "created_at": created.astype("datetime64[us]"),
            "lead_at": created.astype("datetime64[us]"),
            "mql_at": pd.Series(mql).astype("datetime64[us]"),
            "sql_at": pd.Series(sql).astype("datetime64[us]"),
            "lost_at": pd.Series(lost).astype("datetime64[us]"),
            "source": rng.choice(["web", "event"], n),
        }
    )


def sm_step(times: np.ndarray, values: np.ndarray, t: float, at0: float) -> float:
    i = np.searchsorted(times, t, side="right") - 1
    return at0 if i < 0 else float(values[i])


def test_km_equals_lifelines_and_statsmodels() -> None:
    w = synthetic()
    d = survival_data(w, "lead", "sql", AS_OF)
    assert len(d) == (w.created_at <= AS_OF).sum()
    row = time_to_stage(w, "lead", "sql", AS_OF).iloc[0]
    assert row.n == len(d) and row.events == d.event.sum()
    # oracle 1: lifelines fitted directly
    km = KaplanMeierFitter().fit(d.duration, d.event)
    assert row.median_days == pytest.approx(km.median_survival_time_)
    # oracle 2: statsmodels (independent engine)
    sf = SurvfuncRight(d.duration.to_numpy(), d.event.to_numpy())
    assert row.median_days == pytest.approx(sf.quantile(0.5))
    for h in (30, 60, 90):
        s = sm_step(sf.surv_times, sf.surv_prob, h, 1.0)
        assert row[f"p{h}"] == pytest.approx(1 - s, abs=1e-12)
    # median interval: log(-log) Greenwood band computed by hand from statsmodels' Greenwood SE
    S, se = sf.surv_prob, sf.surv_prob_se
    with np.errstate(divide="ignore", invalid="ignore"):
        th, se_th = np.log(-np.log(S)), (se / S) / np.abs(np.log(S))
    z = norm.ppf(0.975)
    s_lo, s_hi = np.exp(-np.exp(th + z * se_th)), np.exp(-np.exp(th - z * se_th))
    assert row.median_ci_low == pytest.approx(sf.surv_times[np.argmax(s_lo <= 0.5)])
    assert row.median_ci_high == pytest.approx(sf.surv_times[np.argmax(s_hi <= 0.5)])
    # curve table equals statsmodels at every whole day
    cv = survival_curves(w, "lead", "sql", AS_OF, max_days=120)
    expect = [1 - sm_step(sf.surv_times, sf.surv_prob, t, 1.0) for t in cv.days]
    np.testing.assert_allclose(cv.converted, expect, atol=1e-12)
    assert (cv.ci_low <= cv.converted + 1e-12).all() and (cv.converted <= cv.ci_high + 1e-12).all()
    assert cv.at_risk.iloc[0] == len(d) and cv.at_risk.is_monotonic_decreasing


def test_cumulative_incidence_equals_statsmodels() -> None:
    w = synthetic(seed=9)
    d = survival_data(w, "lead", "sql", AS_OF)
    assert set(d.cr_event) == {0, 1, 2}
    row = time_to_stage(w, "lead", "sql", AS_OF).iloc[0]
    ci = CumIncidenceRight(d.cr_duration.to_numpy(), d.cr_event.to_numpy())
    for h in (30, 60, 90):
        exp = sm_step(ci.times, ci.cinc[0], h, 0.0)
        # lifelines jitters tied times of different event types: tiny, bounded differences
        assert row[f"cif{h}"] == pytest.approx(exp, abs=2e-3)
        assert row[f"cif{h}"] <= row[f"p{h}"] + 1e-9
    cv = survival_curves(w, "lead", "sql", AS_OF, max_days=100)
    expect = [sm_step(ci.times, ci.cinc[0], t, 0.0) for t in cv.days]
    np.testing.assert_allclose(cv.cif, expect, atol=2e-3)
    # same-day conversions (duration 0) are counted on day 0
    assert cv.cif.iloc[0] == pytest.approx((d.cr_event.eq(1) & d.cr_duration.eq(0)).mean())


def test_hand_example_censoring_not_converters_only() -> None:
    created = pd.to_datetime(["2026-01-01"] * 4).astype("datetime64[us]")
    w = pd.DataFrame(
        {
            "created_at": created,
            "lead_at": created,
            "sql_at": pd.to_datetime(["2026-01-11", "2026-01-21", None, None]).astype(
                "datetime64[us]"
            ),
            "lost_at": pd.to_datetime([None, None, "2026-01-16", None]).astype("datetime64[us]"),
        }
    )
    as_of = pd.Timestamp("2026-04-11")  # 100 days of follow-up
    row = time_to_stage(w, "lead", "sql", as_of).iloc[0]
    # S(10) = 3/4, S(20) = 2/4 -> median 20 (the converters-only mean would be 15)
    assert row.median_days == 20 and row.events == 2 and row.lost == 1
    assert row.p30 == pytest.approx(0.5) and np.isnan(row.median_ci_high)
    # competing risks: lost at day 15 ends follow-up; CIF(30) = 1/4 + (2/4 * 1/2) = 0.5
    assert row.cif30 == pytest.approx(0.5, abs=1e-9)
    # not reached -> NaN median, never a converters-only number; horizon beyond follow-up -> NaN
    short = time_to_stage(w.iloc[[0, 2, 3]], "lead", "sql", pd.Timestamp("2026-02-15")).iloc[0]
    assert np.isnan(short.median_days) and short.p30 == pytest.approx(1 / 3)
    assert np.isnan(short.p60) and np.isnan(short.cif90)


def test_before_start_clipped_and_counted_and_rng_restored() -> None:
    created = pd.to_datetime(["2026-01-10", "2026-01-10", "2026-01-10"]).astype("datetime64[us]")
    w = pd.DataFrame(
        {
            "created_at": created,
            "lead_at": created,
            "mql_at": pd.to_datetime(["2026-01-15", "2026-01-20", None]).astype("datetime64[us]"),
            "sql_at": pd.to_datetime(["2026-01-12", "2026-01-25", None]).astype("datetime64[us]"),
        }
    )
    d = survival_data(w, "mql", "sql", AS_OF, lost_stage=None)
    assert list(d.duration) == [0.0, 5.0] and d.before_start.sum() == 1
    row = time_to_stage(w, "mql", "sql", AS_OF).iloc[0]
    assert row.before_start == 1 and row.n == 2
    np.random.seed(123)  # noqa: NPY002
    a = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    time_to_stage(synthetic(200), "lead", "sql", AS_OF, seed=1)
    assert np.random.random() == a  # noqa: NPY002 (lifelines seeding undone)


def test_by_group_and_errors() -> None:
    w = synthetic(400)
    t = time_to_stage_table(w, [("lead", "sql"), ("mql", "sql")], AS_OF, by="source")
    assert list(t.columns[:3]) == ["from_stage", "to_stage", "source"]
    assert len(t) == 4
    web = w[w.source == "web"]
    d = survival_data(web, "lead", "sql", AS_OF)
    sf = SurvfuncRight(d.duration.to_numpy(), d.event.to_numpy())
    got = t[(t.source == "web") & (t.from_stage == "lead")].iloc[0]
    assert got.median_days == pytest.approx(sf.quantile(0.5)) and got.n == len(d)
    cv = survival_curves(w, "lead", "sql", AS_OF, by="source", max_days=30)
    assert set(cv.source) == {"web", "event"}
    with pytest.raises(DataError):
        time_to_stage(w, "lead", "customer", AS_OF)
    with pytest.raises(DataError):
        time_to_stage(w, "lead", "sql", AS_OF, by="nope")


def test_curves_without_any_lead_at_the_start_stage_say_so() -> None:
    from leadnb.errors import NotEnoughData
    from leadnb.funnel.survival import survival_curves, time_to_stage

    w = pd.DataFrame(
        {
            "created_at": pd.Series(pd.to_datetime(["2025-01-05"]), dtype="datetime64[us]"),
            "mql_at": pd.Series([pd.NaT], dtype="datetime64[us]"),
            "sql_at": pd.Series([pd.NaT], dtype="datetime64[us]"),
        }
    )
    w["lead_at"] = w["created_at"]
    with pytest.raises(NotEnoughData, match="No lead has reached mql by 2025-02-01"):
        survival_curves(w, "mql", "sql", pd.Timestamp("2025-02-01"))
    # one subject, no event: a flat curve of zeros, and the table row has no median
    c = survival_curves(w, "lead", "sql", pd.Timestamp("2025-02-01"))
    assert c.days.max() == 28 and (c.converted == 0).all() and (c.cif == 0).all()
    row = time_to_stage(w, "lead", "sql", pd.Timestamp("2025-02-01")).iloc[0]
    assert row.n == 1 and row.events == 0 and np.isnan(row.median_days) and np.isnan(row.p30)


def _declared_for_a_reader(frame: pd.DataFrame, columns: dict) -> None:
    """Every column of ``frame`` is declared, under a label in words (no code names)."""
    assert [c for c in frame.columns if c not in columns] == []
    for name, col in columns.items():
        assert "_" not in col.label and col.label[:1] == col.label[:1].upper(), (name, col.label)


def test_time_to_stage_declared_for_a_reader() -> None:
    w = synthetic(n=200)
    w["source"] = np.where(np.arange(len(w)) % 2 == 0, "web", "events")
    for by in (None, "source"):
        t = time_to_stage(w, "lead", "sql", AS_OF, by=by)
        _declared_for_a_reader(t, TIME_TO_STAGE_COLUMNS)
    kinds = {k: c.kind.value for k, c in TIME_TO_STAGE_COLUMNS.items()}
    assert kinds["median_days"] == "days" and kinds["p90"] == "rate" and kinds["n"] == "count"
    assert TIME_TO_STAGE_COLUMNS["p90"].label == "Within 90 days"
