"""Tests for leadnb.funnel.cohorts: hand example, immature cells NaN, monotone cumulative rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.funnel.cohorts import (
    COHORT_COLUMNS,
    FREQS,
    _add_months,
    _period_ordinals,
    cohort_labels,
    cohort_matrix,
    cohort_pivot,
)
from leadnb.funnel.stages import WIDE, WIDE_FIX
from leadnb.intervals import wilson


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


# --------------------------------------------------------------------------- vectorised vs per-age


def _cohort_matrix_per_age(wide, stage, as_of, *, freq="M", max_age=None) -> pd.DataFrame:
    """cohort_matrix as it was before the one-pass counts (commit a81e3f8): a calendar offset
    (pandas DateOffset) and a count per age, cohorts from pandas periods."""
    require_columns(wide, ["created_at", f"{stage}_at"], table=WIDE, fix=WIDE_FIX)
    at = wide[f"{stage}_at"]
    as_of = pd.Timestamp(as_of).normalize()
    end = day_end(as_of)
    keep = wide["created_at"].notna() & (wide["created_at"] < end)
    created = wide.loc[keep, "created_at"].astype("datetime64[us]")
    at = at[keep].astype("datetime64[us]")
    if freq not in FREQS:
        raise DataError(f"unknown cohort frequency {freq!r}", fix=f"use one of {', '.join(FREQS)}")
    cols = ["cohort", "age_months", "n", "converted", "rate", "ci_low", "ci_high"]
    if created.empty:
        raise NotEnoughData(
            f"no lead was created by the analysis date {as_of:%Y-%m-%d}",
            "it appears in the first run after the first lead's creation date",
        )
    codes, cohorts = pd.factorize(created.dt.to_period(FREQS[freq]), sort=True)
    cohort_end = pd.Series(
        [p.end_time.normalize() for p in cohorts], index=cohorts.astype("str").to_numpy()
    )
    first_mature = cohort_end.min() + pd.DateOffset(months=1)
    if first_mature > as_of:
        raise NotEnoughData(
            f"no creation cohort has been followed for a full month yet (the first, "
            f"{cohort_end.index[0]}, completes its first month on {first_mature:%Y-%m-%d})",
            f"it appears in the run of {first_mature:%Y-%m-%d} or later",
        )
    n = pd.Series(np.bincount(codes, minlength=len(cohort_end)), index=cohort_end.index)
    if max_age is None:
        oldest = cohort_end.min()
        months = (as_of.year - oldest.year) * 12 + (as_of.month - oldest.month)
        # past the latest date in the data every older age repeats the last one
        start = pd.Timestamp(cohorts[0].start_time)
        latest = max(created.max(), at[at < end].max() if (at < end).any() else created.max())
        span = (latest.year - start.year) * 12 + (latest.month - start.month) + 1
        max_age = max(min(int(months), int(span)), 1)
    # only leads that reached the stage by as_of can count: calendar offsets for those alone
    reached = (at.notna() & (at < end)).to_numpy()
    r_created, r_at, r_codes = created[reached], at[reached], codes[reached]
    frames = []
    for k in range(1, max_age + 1):
        offset = pd.DateOffset(months=k)
        hit = (r_at <= r_created + offset).to_numpy()
        conv = np.bincount(r_codes[hit], minlength=len(cohort_end))
        mature = (cohort_end + offset) <= as_of
        frames.append(
            pd.DataFrame(
                {
                    "cohort": cohort_end.index,
                    "age_months": k,
                    "n": n.to_numpy(),
                    "converted": np.where(mature.to_numpy(), conv.astype(float), np.nan),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["cohort"] = out["cohort"].astype("str")
    out = out.sort_values(["cohort", "age_months"], ignore_index=True)
    out["rate"] = out["converted"] / out["n"].where(out["n"] > 0)
    lo, hi = wilson(out["converted"].fillna(0), out["n"])
    mature = out["converted"].notna().to_numpy()
    out["ci_low"] = np.where(mature, lo, np.nan)
    out["ci_high"] = np.where(mature, hi, np.nan)
    return out[cols]


DAY_US = 86_400_000_000


def _outcome(fn, *args, **kwargs) -> pd.DataFrame | str:
    try:
        return fn(*args, **kwargs)
    except NotEnoughData as e:
        return f"NotEnoughData: {e}"


@settings(max_examples=120, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(-40, 500),  # creation day after the base date
            st.integers(0, 24 * 60 - 1),  # minute of the day
            st.one_of(st.none(), st.integers(-40, 400)),  # stage day after creation
            st.integers(-720, 720),  # stage minutes from that day's creation time
        ),
        min_size=1,
        max_size=50,
    ),
    base=st.sampled_from(["2025-01-31", "2024-02-29", "1969-11-30", "2025-06-15"]),
    as_of_day=st.integers(0, 900),
    freq=st.sampled_from(["M", "Q", "W"]),
    max_age=st.one_of(st.none(), st.integers(1, 15)),
    unit=st.sampled_from(["us", "ns"]),
)
def test_one_pass_counts_equal_the_per_age_algorithm(
    rows, base, as_of_day, freq, max_age, unit
) -> None:
    """The vectorised matrix (period ordinals, each lead's first counting age, cumulative
    counts) is exactly the per-age DateOffset matrix: every cell, dtype and message."""
    t0 = pd.Timestamp(base)
    created = [t0 + pd.Timedelta(days=c, minutes=m) for c, m, _, _ in rows]
    stage = [
        None if d is None else t0 + pd.Timedelta(days=c + d, minutes=m + dm) for c, m, d, dm in rows
    ]
    w = pd.DataFrame(
        {
            "created_at": pd.Series(created, dtype=f"datetime64[{unit}]"),
            "sql_at": pd.Series(stage, dtype=f"datetime64[{unit}]"),
        }
    )
    w.loc[::7, "created_at"] = pd.NaT  # leads without a creation date are left out
    as_of = t0 + pd.Timedelta(days=as_of_day, hours=15)
    got = _outcome(cohort_matrix, w, "sql", as_of, freq=freq, max_age=max_age)
    expected = _outcome(_cohort_matrix_per_age, w, "sql", as_of, freq=freq, max_age=max_age)
    if isinstance(expected, str):
        assert got == expected
    else:
        pd.testing.assert_frame_equal(got, expected)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-3_000_000_000_000_000, 4_000_000_000_000_000), min_size=1, max_size=30),
    st.integers(0, 40),
)
def test_add_months_is_date_offset(micros, months) -> None:
    """Calendar months added the pandas way (day clipped to the month's length, time kept),
    from 1874 to 2096."""
    us = np.asarray(micros, dtype="int64")
    expected = pd.Series(us.view("datetime64[us]")) + pd.DateOffset(months=months)
    got = _add_months(us, months)
    assert got.tolist() == expected.astype("datetime64[us]").to_numpy().view("int64").tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.integers(-3_000_000_000_000_000, 4_000_000_000_000_000),
    st.lists(st.integers(-1500 * DAY_US, 1500 * DAY_US), min_size=1, max_size=30),
    st.sampled_from(["M", "Q", "W"]),
)
def test_period_ordinals_are_pandas_periods(base, offsets, freq) -> None:
    """Pandas' period of each date, from the day table (dates within years of each other)
    and from the per-date conversion (dates centuries apart)."""
    us = base + np.asarray(offsets, dtype="int64")
    expected = pd.Series(us.view("datetime64[us]")).dt.to_period(freq)
    ordinals = _period_ordinals(us, freq)
    got = pd.PeriodIndex.from_ordinals(ordinals, freq=FREQS[freq])
    assert list(got) == list(expected)
    # far-apart dates take the other branch: the same periods
    wide_apart = np.append(us, np.int64(200_000_000_000_000_000))  # year 8307
    assert list(_period_ordinals(wide_apart, freq)[:-1]) == list(ordinals)


def test_stage_at_midnight_after_as_of_is_not_known() -> None:
    """A stage dated at the midnight that ends as_of is not known by as_of: it does not
    stretch the default ages (one microsecond earlier it does)."""
    as_of = pd.Timestamp("2025-03-31 08:00")
    late = frame(["2025-01-10 00:00:00"], ["2025-04-01 00:00:00.000000"])
    assert cohort_matrix(late, "sql", as_of)["age_months"].tolist() == [1]
    known = frame(["2025-01-10 00:00:00"], ["2025-03-31 23:59:59.999999"])
    m = cohort_matrix(known, "sql", as_of)
    assert m["age_months"].tolist() == [1, 2] and m["converted"].tolist() == [0.0, 0.0]
    for w in (late, known):
        pd.testing.assert_frame_equal(
            cohort_matrix(w, "sql", as_of), _cohort_matrix_per_age(w, "sql", as_of)
        )
