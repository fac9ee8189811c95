"""Tests of leadnb.funnel.exposure, the one exposure engine, against a brute-force oracle (a
loop over leads, bands and intervals, each a plain overlap of two day intervals), and of its two
callers agreeing with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.funnel.exposure import (
    DAYS_PER_MONTH,
    at_risk_days,
    at_risk_days_exact,
    lead_months,
    overlap_days,
    to_days,
)


def brute_force(created, stop, ages, edges) -> np.ndarray:
    out = np.zeros((len(ages) - 1, len(edges) - 1))
    for c, s in zip(created, stop, strict=True):
        for j, (a, b) in enumerate(zip(ages[:-1], ages[1:], strict=True)):
            lo, hi = c + a, min(c + b, s)
            for k, (e0, e1) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
                out[j, k] += max(0.0, min(hi, e1) - max(lo, e0))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 200, allow_nan=False), st.floats(0, 250, allow_nan=False)),
        min_size=0,
        max_size=30,
    ),
    st.lists(st.floats(1, 120, allow_nan=False), min_size=1, max_size=4, unique=True),
)
def test_at_risk_days_matches_a_brute_force_oracle(leads, cuts) -> None:
    created = np.array([c for c, _ in leads], dtype=float)
    stop = np.array([c + d for c, d in leads], dtype=float)
    ages = [0.0, *sorted(cuts), np.inf]
    edges = np.array([-10.0, 30.0, 31.0, 90.0, 200.0, 500.0])
    got = at_risk_days(created, stop, ages, edges)
    assert got.shape == (len(ages) - 1, len(edges) - 1)
    assert got == pytest.approx(brute_force(created, stop, ages, edges), abs=1e-9)


def test_empty_or_reversed_intervals_add_nothing() -> None:
    assert overlap_days(np.array([5.0, np.nan]), np.array([1.0, 9.0]), np.array([0.0, 10.0])) == (
        pytest.approx([0.0])
    )
    assert at_risk_days(np.array([]), np.array([]), [0, np.inf], np.array([0.0, 1.0])).tolist() == [
        [0.0]
    ]


def test_lead_months_declares_its_month() -> None:
    edges = to_days(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]))
    days = np.array([[31.0, 28.0]])
    assert lead_months(days, edges, month="calendar").tolist() == [[1.0, 1.0]]
    assert lead_months(days, edges, month="average") == pytest.approx(days / DAYS_PER_MONTH)
    with pytest.raises(ValueError, match="average' or 'calendar"):
        lead_months(days, edges, month="weeks")  # type: ignore[arg-type]


def test_age_hazard_exposure_is_the_engine_s() -> None:
    """The cohort report's age hazard and a direct engine call give the same lead-months."""
    from leadnb.funnel.velocity import age_hazard

    created = pd.to_datetime(["2025-01-01 10:00", "2025-01-20 00:00", "2025-02-10 06:30"])
    sql = pd.to_datetime(["2025-03-01", None, "2025-02-11"])
    wide = pd.DataFrame({"lead_id": ["a", "b", "c"], "created_at": created, "sql_at": sql})
    as_of, split = pd.Timestamp("2025-04-30"), pd.Timestamp("2025-02-01")
    h = age_hazard(wide, "sql", as_of, (0, 30, np.inf), split=split)
    end = as_of + pd.Timedelta(days=1)
    stop = to_days(pd.Series(sql).fillna(end))
    edges = to_days(pd.Series([created.min(), split, end]))
    expect = brute_force(to_days(pd.Series(created)), stop, [0, 30, np.inf], edges)
    got = h.pivot(index="age_from", columns="era", values="lead_months")[["before", "after"]]
    assert got.to_numpy() * DAYS_PER_MONTH == pytest.approx(expect)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 400 * 86_400), st.integers(0, 300 * 86_400)),
        min_size=0,
        max_size=30,
    ),
    st.integers(1, 399 * 86_400),
)
def test_exact_engine_equals_the_cumulative_sum_engine(leads, split_s) -> None:
    """The two evaluations of one definition: per lead in microseconds, and by sorted sums."""
    t0 = pd.Timestamp("2025-01-01")
    created = pd.Series([t0 + pd.Timedelta(seconds=c) for c, _ in leads], dtype="datetime64[us]")
    stop = pd.Series([t0 + pd.Timedelta(seconds=c + d) for c, d in leads], dtype="datetime64[us]")
    edges = [t0, t0 + pd.Timedelta(seconds=split_s), t0 + pd.Timedelta(days=400)]
    ages = [0.0, 30.0, 90.0, np.inf]
    exact = at_risk_days_exact(created, stop, ages, edges)
    fast = at_risk_days(to_days(created), to_days(stop), ages, to_days(pd.Series(edges)))
    assert exact == pytest.approx(fast, rel=1e-9, abs=1e-6)
    assert exact == pytest.approx(
        brute_force(to_days(created), to_days(stop), ages, to_days(pd.Series(edges))),
        rel=1e-9,
        abs=1e-6,
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 400 * 86_400_000_000)),
            st.one_of(st.none(), st.integers(0, 400 * 86_400_000_000)),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([(0.0, 30.0, np.inf), (0.0, 30.0, 60.0, 90.0), (10.0, 45.5, np.inf)]),
    st.lists(st.integers(-20, 420), min_size=2, max_size=4, unique=True),
)
def test_exact_days_equal_the_datetime_arithmetic(rows, ages, edge_days) -> None:
    """at_risk_days_exact on int64 microseconds equals the datetime Series arithmetic it replaced
    (NaT included: a comparison with it is False), to the last bit."""
    from leadnb.funnel.exposure import _at_risk_days_datetimes

    base = pd.Timestamp("2025-01-01")
    created = pd.Series(
        [None if a is None else base + pd.Timedelta(microseconds=a) for a, _ in rows],
        dtype="datetime64[us]",
    )
    stop = pd.Series(
        [None if b is None else base + pd.Timedelta(microseconds=b) for _, b in rows],
        dtype="datetime64[us]",
    )
    bounds = [base + pd.Timedelta(days=d) for d in sorted(edge_days)]
    got = at_risk_days_exact(created, stop, list(ages), bounds)
    expect = _at_risk_days_datetimes(created, stop, list(ages), bounds)
    np.testing.assert_array_equal(got, expect)
