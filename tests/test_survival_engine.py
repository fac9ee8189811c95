"""The vectorised Kaplan-Meier and Aalen-Johansen of leadnb.funnel.survival against lifelines.

The engine replaced lifelines' fitters in the hot path (per-fit overhead dominated at a million
leads); the published numbers must stay lifelines' to the last bit, so every comparison here is
exact equality (``==`` on floats, NaN == NaN), on hand cases and on hypothesis-drawn data with
many ties, same-day events, competing events and durations of 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times

from leadnb.funnel.survival import (
    _KM,
    JITTER,
    SHIFT,
    _aalen_johansen,
    _first_at_or_below,
    cumulative_incidence_at,
    survival_curves,
    survival_data,
    time_to_stage,
)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _check_km(durations: np.ndarray, events: np.ndarray) -> None:
    ours = _KM.fit(durations, events)
    km = KaplanMeierFitter().fit(durations, events)
    _same(ours.times, km.survival_function_.index.to_numpy())
    _same(ours.survival, km.survival_function_.iloc[:, 0].to_numpy())
    _same(ours.at_risk, km.event_table["at_risk"].to_numpy())
    lo, hi = ours.band()
    _same(lo, km.confidence_interval_.iloc[:, 0].to_numpy())
    _same(hi, km.confidence_interval_.iloc[:, 1].to_numpy())
    assert _first_at_or_below(ours.times, ours.survival) == km.median_survival_time_
    ci = median_survival_times(km.confidence_interval_).to_numpy().ravel()
    assert [_first_at_or_below(ours.times, b) for b in (lo, hi)] == list(ci)
    at = [0.0, 0.5, 1.0, 3.0, 30.0, 1e6]
    _same(ours.survival_at(at), km.survival_function_at_times(at).to_numpy())
    grid = np.arange(0.0, float(np.floor(durations.max())) + 1)
    kg = KaplanMeierFitter().fit(durations, events, timeline=grid)
    s, s_lo, s_hi = ours.at(grid)
    _same(s, kg.survival_function_.iloc[:, 0].to_numpy())
    _same(s_lo, kg.confidence_interval_survival_function_.iloc[:, 0].to_numpy())
    _same(s_hi, kg.confidence_interval_survival_function_.iloc[:, 1].to_numpy())


def _lifelines_aj(durations: np.ndarray, events: np.ndarray, seed: int) -> AalenJohansenFitter:
    state = np.random.get_state()  # noqa: NPY002 (lifelines seeds the global RNG)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aj = AalenJohansenFitter(jitter_level=JITTER, seed=seed, calculate_variance=False)
            aj.fit(pd.Series(durations), pd.Series(events), event_of_interest=1)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return aj


def _check_aj(durations: np.ndarray, events: np.ndarray, seed: int = 0) -> None:
    aj = _lifelines_aj(durations, events, seed)
    times, cif = _aalen_johansen(durations, events, seed)
    _same(times, aj.cumulative_density_.index.to_numpy())
    _same(cif, aj.cumulative_density_.iloc[:, 0].to_numpy())


def test_km_hand_cases_equal_lifelines() -> None:
    _check_km(np.array([10.0, 20.0, 100.0, 100.0]), np.array([1, 1, 0, 0]))
    _check_km(np.array([0.0, 0.0, 5.0, 5.0, 5.0, 9.5]), np.array([1, 0, 1, 1, 0, 1]))
    _check_km(np.array([3.0, 3.0]), np.array([1, 1]))  # everyone converts: S falls to 0
    _check_km(np.array([7.25]), np.array([0]))  # one censored lead: S stays 1


def test_aj_hand_cases_equal_lifelines() -> None:
    # ties of different types at day 5 and 9: lifelines jitters them, so must we
    d = np.array([1.0, 5.0, 5.0, 5.0, 9.0, 9.0, 12.0, 20.0]) + SHIFT
    e = np.array([1, 1, 2, 0, 2, 1, 1, 0])
    _check_aj(d, e)
    _check_aj(d, e, seed=7)
    _check_aj(np.array([2.0, 4.0, 4.0]) + SHIFT, np.array([1, 1, 0]))  # ties of one type only
    # a time shared only by pairs of one type each: no tie to lifelines (hypothesis found it)
    _check_aj(np.array([0.25, 0.25, 0.25, 0.25]) + SHIFT, np.array([1, 1, 2, 2]))
    _check_aj(np.array([3.0, 3.0, 3.0, 3.0, 3.0]) + SHIFT, np.array([1, 1, 2, 2, 2]), seed=2)
    _check_aj(np.array([3.0, 3.0, 3.0, 5.0]) + SHIFT, np.array([1, 1, 2, 1]))  # a lone 2: a tie


durations = st.lists(
    st.tuples(st.integers(0, 60), st.sampled_from([0.0, 0.25, 0.5]), st.sampled_from([0, 1, 1, 2])),
    min_size=1,
    max_size=300,
)


@settings(max_examples=120, deadline=None)
@given(durations)
def test_km_equals_lifelines_property(rows: list[tuple[int, float, int]]) -> None:
    d = np.array([a + b for a, b, _ in rows])
    e = np.array([int(k > 0) for *_, k in rows])
    _check_km(d, e)


@settings(max_examples=120, deadline=None)
@given(durations, st.integers(0, 3))
def test_aj_equals_lifelines_property(rows: list[tuple[int, float, int]], seed: int) -> None:
    d = np.array([a + b for a, b, _ in rows]) + SHIFT
    e = np.array([k for *_, k in rows])
    _check_aj(d, e, seed)


def _table_with_lifelines(w: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, float]:
    """The time_to_stage row as the module computed it with lifelines' fitters (before 2026-12)."""
    d = survival_data(w, "lead", "sql", as_of)
    km = KaplanMeierFitter().fit(d["duration"], d["event"])
    ci = np.sort(median_survival_times(km.confidence_interval_).to_numpy().ravel().astype(float))
    fin = lambda v: v if np.isfinite(v) else np.nan  # noqa: E731
    out = {
        "median_days": fin(float(km.median_survival_time_)),
        "median_ci_low": fin(ci[0]),
        "median_ci_high": fin(ci[1]),
    }
    surv = np.asarray(km.survival_function_at_times([30, 60, 90]), dtype=float)
    reach = float(d["duration"].max())
    cif = cumulative_incidence_at(
        _lifelines_aj((d["cr_duration"] + SHIFT).to_numpy(), d["cr_event"].to_numpy(), 0),
        [30, 60, 90],
    )
    for i, h in enumerate((30, 60, 90)):
        out[f"p{h}"] = 1 - surv[i] if h <= reach else np.nan
        out[f"cif{h}"] = cif[i] if h <= float(d["cr_duration"].max()) else np.nan
    return out


def _wide(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 390, n), unit="D")
    sql = created + pd.to_timedelta(
        np.where(rng.random(n) < 0.6, rng.integers(0, 150, n), np.nan), unit="D"
    )
    lost = created + pd.to_timedelta(
        np.where(rng.random(n) < 0.3, rng.integers(0, 150, n), np.nan), unit="D"
    )
    return pd.DataFrame(
        {
            "created_at": pd.Series(created).astype("datetime64[us]"),
            "sql_at": pd.Series(sql).astype("datetime64[us]"),
            "lost_at": pd.Series(lost).astype("datetime64[us]"),
        }
    )


def test_time_to_stage_and_curves_equal_lifelines_fits() -> None:
    as_of = pd.Timestamp("2026-06-30")
    w = _wide(3000, 11)  # whole days: many ties of conversions and losses on the same day
    row = time_to_stage(w, "lead", "sql", as_of).iloc[0]
    expect = _table_with_lifelines(w, as_of)
    for k, v in expect.items():
        assert row[k] == v or (np.isnan(row[k]) and np.isnan(v)), k
    d = survival_data(w, "lead", "sql", as_of)
    grid = np.arange(0, 181, dtype=float)
    km = KaplanMeierFitter().fit(d["duration"], d["event"], timeline=grid)
    cv = survival_curves(w, "lead", "sql", as_of, max_days=180)
    _same(cv["converted"], 1 - km.survival_function_.iloc[:, 0].to_numpy())
    band = km.confidence_interval_survival_function_.to_numpy()
    _same(cv["ci_low"], 1 - band[:, 1])
    _same(cv["ci_high"], 1 - band[:, 0])
    _same(cv["at_risk"], [(d["duration"] >= t).sum() for t in grid])
    aj = _lifelines_aj((d["cr_duration"] + SHIFT).to_numpy(), d["cr_event"].to_numpy(), 0)
    _same(cv["cif"], cumulative_incidence_at(aj, grid))
