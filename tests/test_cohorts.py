"""Tests for leadnb.funnel.cohorts: hand example, immature cells NaN, monotone cumulative rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from leadnb.errors import DataError, NotEnoughData
from leadnb.funnel.cohorts import COHORT_COLUMNS, cohort_labels, cohort_matrix, cohort_pivot


def frame(created: list[str], sql: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "created_at": pd.to_datetime(pd.Series(created)).astype("datetime64[us]"),
            "sql_at": pd.to_datetime(pd.Series(sql)).astype("datetime64[us]"),
        }
    )


def matrix_or_none(w: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """``cohort_matrix`` or, when it says nothing is observable, None after checking that
    independently: no lead created by as_of, or the oldest month's first month not yet over."""
    try:
        return cohort_matrix(w, "sql", as_of)
    except NotEnoughData:
        created = w.created_at[w.created_at < as_of.normalize() + pd.Timedelta(days=1)]
        if len(created):
            month_end = created.min().to_period("M").end_time.normalize()
            assert month_end + pd.DateOffset(months=1) > as_of
        return None


def test_hand_example() -> None:
    w = frame(
        ["2025-01-10", "2025-01-20", "2025-01-31", "2025-02-15", "2025-02-16", "2025-04-01"],
        ["2025-01-15", "2025-03-25", None, "2025-03-14", None, "2025-04-02"],
    )
    as_of = pd.Timestamp("2025-04-30")
    m = cohort_matrix(w, "sql", as_of)
    p = cohort_pivot(m)
    assert list(p.index) == ["2025-01", "2025-02", "2025-04"]
    assert list(p.columns) == [1, 2, 3]  # oldest cohort observable for 3 months
    jan = m[m.cohort == "2025-01"].set_index("age_months")
    # lead 1 converts within 1 month; lead 2 on 2025-03-25 > 2025-03-20 (2 months) -> month 3
    assert jan.loc[1, "converted"] == 1 and jan.loc[2, "converted"] == 1
    assert jan.loc[3, "converted"] == 2 and jan.loc[1, "n"] == 3
    assert jan.loc[3, "rate"] == pytest.approx(2 / 3)
    lo, hi = proportion_confint(2, 3, method="wilson")
    assert (jan.loc[3, "ci_low"], jan.loc[3, "ci_high"]) == pytest.approx((lo, hi))
    feb = m[m.cohort == "2025-02"].set_index("age_months")
    # Feb cohort ends 2025-02-28: age 1 mature (03-28 <= 04-30), age 2 (04-28) mature, 3 not
    assert feb.loc[1, "converted"] == 1 and feb.loc[2, "converted"] == 1
    assert np.isnan(feb.loc[3, "converted"]) and np.isnan(feb.loc[3, "rate"])
    apr = m[m.cohort == "2025-04"]
    assert apr["rate"].isna().all() and (apr["n"] == 1).all()  # immature: NaN, not zero
    assert "2025-03" not in set(m.cohort)  # no leads created in March
    assert list(m.columns) == [
        "cohort",
        "age_months",
        "n",
        "converted",
        "rate",
        "ci_low",
        "ci_high",
    ]
    # leads created after as_of are not in any cohort; a stage after as_of is not counted
    w2 = pd.concat([w, frame(["2025-06-01"], ["2025-06-02"])], ignore_index=True)
    pd.testing.assert_frame_equal(cohort_matrix(w2, "sql", as_of), m)
    q = cohort_matrix(w, "sql", as_of, freq="Q", max_age=2)
    assert set(q.cohort) == {"2025Q1", "2025Q2"} and q.age_months.max() == 2


def test_errors() -> None:
    w = frame(["2025-01-10"], [None])
    with pytest.raises(DataError):
        cohort_matrix(w, "customer", pd.Timestamp("2025-06-01"))
    with pytest.raises(DataError):
        cohort_matrix(w, "sql", pd.Timestamp("2025-06-01"), freq="Y")
    assert cohort_labels(w["created_at"]).tolist() == ["2025-01"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.one_of(st.none(), st.integers(-5, 300))),
        min_size=1,
        max_size=60,
    ),
    st.integers(100, 500),
)
def test_cumulative_rates_monotone_and_nan_suffix(rows, as_of_day) -> None:
    t0 = pd.Timestamp("2025-01-01")
    created = [t0 + pd.Timedelta(days=c) for c, _ in rows]
    sql = [None if d is None else t0 + pd.Timedelta(days=c + d) for c, d in rows]
    w = pd.DataFrame(
        {
            "created_at": pd.Series(created, dtype="datetime64[us]"),
            "sql_at": pd.Series(sql, dtype="datetime64[us]"),
        }
    )
    as_of = t0 + pd.Timedelta(days=as_of_day)
    m = matrix_or_none(w, as_of)
    if m is None:
        return
    assert m["n"].groupby(m["cohort"]).first().sum() == (w.created_at <= as_of).sum()
    for _, g in m.groupby("cohort"):
        r = g.sort_values("age_months")["rate"].to_numpy()
        seen = r[~np.isnan(r)]
        assert (np.diff(seen) >= -1e-12).all()
        # NaN cells are a suffix: once immature, older ages are immature too
        nan = np.isnan(r)
        assert not (nan[:-1] & ~nan[1:]).any()
        assert ((seen >= 0) & (seen <= 1)).all()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),
            st.one_of(st.none(), st.integers(-5, 300)),
            st.integers(0, 23),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(100, 500),
)
def test_converted_counts_match_a_per_lead_reference(rows, as_of_day) -> None:
    """Each mature cell counts the leads of the cohort whose stage date is by creation + k
    calendar months (DateOffset: Jan 31 + 1 month is Feb 28) and by the end of as_of."""
    t0 = pd.Timestamp("2025-01-31")  # month ends exercise the calendar clipping
    created = [t0 + pd.Timedelta(days=c, hours=h) for c, _, h in rows]
    sql = [None if d is None else t0 + pd.Timedelta(days=c + d) for c, d, _ in rows]
    w = pd.DataFrame(
        {
            "created_at": pd.Series(created, dtype="datetime64[us]"),
            "sql_at": pd.Series(sql, dtype="datetime64[us]"),
        }
    )
    as_of = t0 + pd.Timedelta(days=as_of_day)
    end = as_of.normalize() + pd.Timedelta(days=1)
    m = matrix_or_none(w, as_of)
    for cell in [] if m is None else m.dropna(subset=["converted"]).itertuples():
        k = pd.DateOffset(months=cell.age_months)
        expected = sum(
            1
            for c, s in zip(created, sql, strict=True)
            if c < end and f"{c:%Y-%m}" == cell.cohort and s is not None and s <= c + k and s < end
        )
        assert cell.converted == expected


def test_nothing_observable_says_when() -> None:
    w = frame(["2025-01-10", "2025-01-20"], [None, "2025-01-25"])
    with pytest.raises(NotEnoughData, match="No lead was created by the analysis date 2025-01-09"):
        cohort_matrix(w, "sql", pd.Timestamp("2025-01-09"))
    # January's cohort completes its first month on 2025-02-28
    with pytest.raises(NotEnoughData, match="it appears in the run of 2025-02-28 or later"):
        cohort_matrix(w, "sql", pd.Timestamp("2025-02-27"))
    assert cohort_matrix(w, "sql", pd.Timestamp("2025-02-28")).converted.tolist() == [1.0]
    # weeks and quarters: the first age is still one calendar month after the period's end
    with pytest.raises(NotEnoughData, match="2025-02-12"):  # week of Jan 6-12, + 1 month
        cohort_matrix(w, "sql", pd.Timestamp("2025-02-11"), freq="W")
    with pytest.raises(NotEnoughData, match="2025Q1"):
        cohort_matrix(w, "sql", pd.Timestamp("2025-04-29"), freq="Q")
    assert len(cohort_matrix(w, "sql", pd.Timestamp("2025-04-30"), freq="Q")) == 1


def test_default_ages_stop_where_the_data_stops() -> None:
    """An analysis date two years (or centuries) after the last date: the default ages are
    bounded by the data (older ages would repeat the last one) and the cells equal those of
    an explicit longer table."""
    w = frame(["2025-01-10", "2025-02-20", "2025-03-05"], ["2025-03-25", None, "2025-04-02"])
    far = pd.Timestamp("2027-06-30")
    m = cohort_matrix(w, "sql", far)
    # oldest cohort starts 2025-01-01; latest date 2025-04-02: months 0..3 -> ages 1..4
    assert m.age_months.max() == 4
    full = cohort_matrix(w, "sql", far, max_age=20)
    assert full.age_months.max() == 20
    last = full[full.age_months >= 4].groupby("cohort")["converted"].nunique()
    assert (last == 1).all()  # every age from the bound on repeats the bounded table's last
    merged = m.merge(full, on=["cohort", "age_months"], suffixes=("", "_full"))
    assert (merged.converted == merged.converted_full).all()
    assert cohort_matrix(w, "sql", pd.Timestamp("9999-12-31")).age_months.max() == 4
    # within the data's range the bound never cuts the observable ages
    within = cohort_matrix(w, "sql", pd.Timestamp("2025-04-30"))
    assert within.age_months.max() == 3


def _declared_for_a_reader(frame: pd.DataFrame, columns: dict) -> None:
    """Every column of ``frame`` is declared, under a label in words (no code names)."""
    assert [c for c in frame.columns if c not in columns] == []
    for name, col in columns.items():
        assert "_" not in col.label and col.label[:1] == col.label[:1].upper(), (name, col.label)


def test_cohort_matrix_declared_for_a_reader() -> None:
    w = frame(["2025-01-10", "2025-01-20", "2025-02-15"], ["2025-01-15", "2025-03-25", None])
    m = cohort_matrix(w, "sql", pd.Timestamp("2025-04-30"))
    _declared_for_a_reader(m, COHORT_COLUMNS)
    assert COHORT_COLUMNS["rate"].shown(0.5) == "50.0%"
    assert COHORT_COLUMNS["rate"].shown(m["rate"].iloc[-1]) == "–"  # not observable: a dash
