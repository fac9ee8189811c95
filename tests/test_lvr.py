"""Tests for leadnb.funnel.velocity: LVR hand example and intervals, new vs old, age hazard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2
from statsmodels.stats.proportion import proportion_confint

from leadnb.errors import DataError, NotEnoughData
from leadnb.funnel.stages import FunnelConfig
from leadnb.funnel.velocity import (
    AGE_HAZARD_COLUMNS,
    DAYS_PER_MONTH,
    LVR_COLUMNS,
    NEW_VS_OLD_COLUMNS,
    age_hazard,
    assign_periods,
    bucket_labels,
    hazard_per_1000,
    lvr,
    new_vs_old,
    share_old_by_era,
)
from leadnb.results import Kind


def counts_frame(counts: dict[str, int], created: str = "2025-01-01") -> pd.DataFrame:
    """One lead per qualified date: ``counts`` maps a month (YYYY-MM) to its SQL count."""
    sql = []
    for month, k in counts.items():
        sql += [pd.Timestamp(f"{month}-10")] * k
    n = len(sql)
    return pd.DataFrame(
        {
            "created_at": pd.Series([pd.Timestamp(created)] * n, dtype="datetime64[us]"),
            "sql_at": pd.Series(sql, dtype="datetime64[us]"),
        }
    )


def test_lvr_hand_example() -> None:
    w = counts_frame({"2025-01": 10, "2025-02": 12, "2025-03": 9, "2025-05": 5})
    out = lvr(w, FunnelConfig(), pd.Timestamp("2025-05-31"))
    assert list(out.period) == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    assert list(out.qualified) == [10, 12, 9, 0, 5]
    assert out.complete.all()
    np.testing.assert_allclose(out.lvr_pct, [np.nan, 20.0, -25.0, -100.0, np.nan])
    # trailing three: sums 31, 21, 14 -> (21-31)/31, (14-21)/21
    np.testing.assert_allclose(
        out.lvr_trailing3_pct, [np.nan, np.nan, np.nan, -1000 / 31, -700 / 21]
    )
    # exact conditional interval, oracle scipy binomtest (Clopper-Pearson)
    ci = binomtest(12, 22).proportion_ci(confidence_level=0.95, method="exact")
    r_lo, r_hi = ci.low / (1 - ci.low), ci.high / (1 - ci.high)
    row = out.iloc[1]
    assert (row.ci_low, row.ci_high) == pytest.approx(((r_lo - 1) * 100, (r_hi - 1) * 100))
    assert row.ci_low < row.lvr_pct < row.ci_high
    assert out.iloc[3].ci_low == pytest.approx(-100.0)  # zero this period
    assert not out.after_change.any() and not out.crosses_change.any()


def test_lvr_incomplete_period_flagged_and_change_break() -> None:
    w = counts_frame({"2025-01": 10, "2025-02": 12, "2025-03": 9, "2025-04": 4})
    out = lvr(
        w,
        FunnelConfig(qualification_change=pd.Timestamp("2025-02-15")),
        pd.Timestamp("2025-04-20"),
    )
    last = out.iloc[-1]
    assert not last.complete and last.qualified == 4 and np.isnan(last.lvr_pct)
    assert np.isnan(last.ci_low) and np.isnan(last.lvr_trailing3_pct)
    assert list(out.after_change) == [False, False, True, True]
    assert list(out.crosses_change) == [False, False, True, False]
    with pytest.raises(DataError):
        lvr(w, FunnelConfig())


def test_lvr_quarter_and_day_cycles() -> None:
    rng = np.random.default_rng(2)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, 400), unit="D")
    sql = created + pd.to_timedelta(rng.integers(0, 60, 400), unit="D")
    w = pd.DataFrame(
        {"created_at": created.astype("datetime64[us]"), "sql_at": sql.astype("datetime64[us]")}
    )
    as_of = pd.Timestamp("2025-12-31")
    total = int((w.sql_at <= as_of).sum())
    q = lvr(w, FunnelConfig(lvr_period="quarter"), as_of)
    assert list(q.period) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"] and q.qualified.sum() == total
    assert q.lvr_pct.iloc[2] == pytest.approx(
        (q.qualified.iloc[2] - q.qualified.iloc[1]) / q.qualified.iloc[1] * 100
    )
    c = lvr(w, FunnelConfig(lvr_period="28D"), as_of)
    assert c.qualified.sum() == total and c.period_end.iloc[-1] == as_of
    assert ((c.period_end - c.period_start).dt.days == 27).all() and c.complete.iloc[-1]
    assert not c.complete.iloc[0]  # first cycle starts before the first lead
    p = assign_periods(pd.Series(pd.to_datetime(["2025-12-04", "2025-12-03"])), "28D", as_of)
    assert list(p.period) == ["2025-12-04", "2025-11-06"]


def test_new_vs_old_hand_example() -> None:
    created = pd.Series(pd.to_datetime(["2025-01-01"] * 5), dtype="datetime64[us]")
    ages = [10, 29.5, 30, 45, None]
    sql = [created[0] + pd.Timedelta(days=a) if a is not None else pd.NaT for a in ages]
    w = pd.DataFrame({"created_at": created, "sql_at": pd.Series(sql, dtype="datetime64[us]")})
    out = new_vs_old(w, FunnelConfig(), pd.Timestamp("2025-03-31")).set_index("period")
    # Jan: ages 10, 29.5, 30 (days 11, 30.5, 31 Jan) -> new, new, old; Feb: 45 -> old
    assert out.loc["2025-01", ["conversions", "from_new", "from_old"]].tolist() == [3, 2, 1]
    assert out.loc["2025-02", ["conversions", "from_new", "from_old"]].tolist() == [1, 0, 1]
    assert out.loc["2025-03", "conversions"] == 0 and np.isnan(out.loc["2025-03", "share_old"])
    lo, hi = proportion_confint(1, 3, method="wilson")
    assert (out.loc["2025-01", "ci_low"], out.loc["2025-01", "ci_high"]) == pytest.approx((lo, hi))
    era = share_old_by_era(out.reset_index(), pd.Timestamp("2025-02-01")).set_index("era")
    assert era.loc["before", "share_old"] == pytest.approx(1 / 3)
    assert era.loc["after", "share_old"] == pytest.approx(1.0)
    w14 = new_vs_old(w, FunnelConfig(new_lead_days=14), pd.Timestamp("2025-03-31"))
    assert w14.from_old.sum() == 3


def test_age_hazard_hand_example() -> None:
    created = pd.Series(pd.to_datetime(["2025-01-01", "2025-01-01"]), dtype="datetime64[us]")
    w = pd.DataFrame(
        {
            "created_at": created,
            "sql_at": pd.Series([created[0] + pd.Timedelta(days=45), pd.NaT]),
        }
    )
    as_of = created[0] + pd.Timedelta(days=99)  # a whole day: follow-up ends at day 100
    h = age_hazard(w, "sql", as_of, (0, 30, 60, 90, np.inf))
    assert list(h.bucket) == ["0-29", "30-59", "60-89", "90+"]
    np.testing.assert_allclose(h.lead_months * DAYS_PER_MONTH, [60, 45, 30, 10])
    assert list(h.conversions) == [0, 1, 0, 0]
    k, e = 1, 45 / DAYS_PER_MONTH
    assert h.rate.iloc[1] == pytest.approx(k / e)
    assert h.ci_low.iloc[1] == pytest.approx(chi2.ppf(0.025, 2 * k) / 2 / e)
    assert h.ci_high.iloc[1] == pytest.approx(chi2.ppf(0.975, 2 * k + 2) / 2 / e)
    split = age_hazard(
        w, "sql", as_of, (0, 30, 60, 90, np.inf), split=created[0] + pd.Timedelta(days=30)
    )
    # calendar split at day 30: lead ages 0-29 all before, everything older after
    before = split[split.era == "before"]
    np.testing.assert_allclose(before.lead_months * DAYS_PER_MONTH, [60, 0, 0, 0])
    assert bucket_labels([0, 30, np.inf]) == ["0-29", "30+"]
    with pytest.raises(DataError):
        age_hazard(w, "sql", as_of, (0, 30, 30))


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.one_of(st.none(), st.integers(0, 200))),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 400),
)
def test_age_hazard_exposure_conserved(rows, split_day) -> None:
    t0 = pd.Timestamp("2025-01-01")
    created = pd.Series([t0 + pd.Timedelta(days=c) for c, _ in rows], dtype="datetime64[us]")
    sql = pd.Series(
        [pd.NaT if d is None else t0 + pd.Timedelta(days=c + d) for c, d in rows],
        dtype="datetime64[us]",
    )
    w = pd.DataFrame({"created_at": created, "sql_at": sql})
    as_of = t0 + pd.Timedelta(days=350)
    h = age_hazard(w, "sql", as_of)
    end = as_of + pd.Timedelta(days=1)  # as_of is a whole day
    exit_at = sql.where(sql < end, end)
    follow = ((exit_at - created) / pd.Timedelta(days=1)).clip(lower=0)
    keep = created <= as_of
    assert h.lead_months.sum() * DAYS_PER_MONTH == pytest.approx(follow[keep].sum())
    assert h.conversions.sum() == (keep & (sql < end)).sum()
    s = age_hazard(w, "sql", as_of, split=t0 + pd.Timedelta(days=split_day))
    assert s.lead_months.sum() == pytest.approx(h.lead_months.sum())
    assert s.conversions.sum() == h.conversions.sum()


def test_lvr_needs_two_complete_periods_and_says_when() -> None:
    from leadnb.errors import NotEnoughData

    w = counts_frame({"2025-01": 3, "2025-02": 2}, created="2025-01-15")
    # January starts before the first lead: February is the first complete month, March the second
    with pytest.raises(NotEnoughData, match="1 are complete by 2025-03-30.*run of 2025-03-31"):
        lvr(w, FunnelConfig(), pd.Timestamp("2025-03-30"))
    assert lvr(w, FunnelConfig(), pd.Timestamp("2025-03-31")).lvr_pct.notna().sum() == 1
    with pytest.raises(NotEnoughData, match="run of 2025-02-11"):  # 15 Jan + 2 x 14 days - 1
        lvr(w, FunnelConfig(lvr_period="14D"), pd.Timestamp("2025-02-10"))
    assert lvr(w, FunnelConfig(lvr_period="14D"), pd.Timestamp("2025-02-11")).complete.sum() == 2


def test_period_tables_bounded_far_after_the_data() -> None:
    """Two years after the data: one row per period (built from periods, not days); an
    absurd date (9999-12-31) is refused in one sentence instead of building 95,700 rows."""
    from leadnb.errors import NotEnoughData

    w = counts_frame({"2025-01": 10, "2025-02": 12})
    far = pd.Timestamp("2027-02-28")
    out = lvr(w, FunnelConfig(), far)
    assert len(out) == 26 and out.qualified.sum() == 22 and out.period.is_unique
    days = pd.Series(pd.date_range("2025-01-01", far, freq="D"))  # the old, per-day reference
    ref = assign_periods(days, "28D", far).drop_duplicates("period")
    c = lvr(w, FunnelConfig(lvr_period="28D"), far)
    assert c.period.tolist() == ref.sort_values("period_start").period.tolist()
    for fn in (lambda a: lvr(w, FunnelConfig(), a), lambda a: new_vs_old(w, FunnelConfig(), a)):
        with pytest.raises(NotEnoughData, match="95,700 periods"):
            fn(pd.Timestamp("9999-12-31"))


def _declared_for_a_reader(frame: pd.DataFrame, columns: dict) -> None:
    """Every column of ``frame`` is declared, under a label in words (no code names)."""
    assert [c for c in frame.columns if c not in columns] == []
    for name, col in columns.items():
        assert "_" not in col.label and col.label[:1] == col.label[:1].upper(), (name, col.label)


def test_tables_declared_for_a_reader() -> None:
    """LVR, new versus old (and by era) and the age hazard per 1,000 lead-months: every column
    declared; the hazard per 1,000 is the rate per lead-month times 1,000, its interval too."""
    created = pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-10"] * 3)
    sql = pd.to_datetime(["2025-01-05", "2025-02-20", None, "2025-03-15", "2025-04-02", None])
    wide = pd.DataFrame({"created_at": created, "sql_at": sql})
    as_of = pd.Timestamp("2025-04-30")
    _declared_for_a_reader(lvr(wide, FunnelConfig(), as_of), LVR_COLUMNS)
    nvo = new_vs_old(wide, FunnelConfig(), as_of)
    _declared_for_a_reader(nvo, NEW_VS_OLD_COLUMNS)
    _declared_for_a_reader(share_old_by_era(nvo, pd.Timestamp("2025-03-01")), NEW_VS_OLD_COLUMNS)
    h = age_hazard(wide, "sql", as_of, (0, 30, np.inf), split=pd.Timestamp("2025-03-01"))
    per = hazard_per_1000(h)
    _declared_for_a_reader(per, AGE_HAZARD_COLUMNS)
    for a, b in (
        ("rate", "per_1000"),
        ("ci_low", "per_1000_ci_low"),
        ("ci_high", "per_1000_ci_high"),
    ):
        np.testing.assert_allclose(per[b], 1000 * h[a])
    assert h.columns.tolist()[-3:] == ["rate", "ci_low", "ci_high"]  # the CSV's frame unchanged
    assert AGE_HAZARD_COLUMNS["per_1000"].kind is Kind.COUNT
    assert AGE_HAZARD_COLUMNS["per_1000"].shown(1.0712) == "1.1"
    assert LVR_COLUMNS["lvr_pct"].kind is Kind.PERCENT  # lvr_pct is already in percent


def test_too_many_periods_sentence_has_separators() -> None:
    wide = pd.DataFrame(
        {"created_at": pd.to_datetime(["1900-01-01"]), "sql_at": pd.to_datetime(["1900-02-01"])}
    )
    with pytest.raises(NotEnoughData) as e:
        lvr(wide, FunnelConfig(), pd.Timestamp("2026-06-30"))
    assert "there are 1,518 periods of month, more than the 1,200 a report table" in str(e.value)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(-5, 90), st.floats(-5, 90, allow_nan=False)),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([0, 1, 30, 45.5]),
)
def test_new_old_read_off_the_age_as_classify_new_old(ages, new_lead_days) -> None:
    """velocity.new_vs_old and roi.monthly split new/old by ``age < N`` / ``age >= N``: the same
    leads that funnel.stages.classify_new_old labels new/old (missing age: neither)."""
    from leadnb.funnel.stages import age_at, classify_new_old

    created = pd.Timestamp("2026-01-01")
    at = [None if a is None else created + pd.Timedelta(days=a) for a in ages]
    wide = pd.DataFrame(
        {
            "created_at": pd.Series([created] * len(ages), dtype="datetime64[us]"),
            "sql_at": pd.Series(at, dtype="datetime64[us]"),
        }
    )
    label = classify_new_old(wide, "sql", new_lead_days)
    age = age_at(wide, "sql")
    assert ((label == "new") == (age < new_lead_days)).all()
    assert ((label == "old") == (age >= new_lead_days)).all()
