"""The experiment outcomes' join (leadnb.experiments.outcomes) against the pandas merge it replaced.

``outcomes_from_stages`` used ``wide.drop_duplicates("lead_id")`` and a left merge; at a million
leads that cost a second per metric, so it now looks the keys up with Arrow
(:func:`lookup_first`, after :func:`rows_of_leads` narrowed the frame once per readout). The
properties here hold the new join to the old one on drawn keys with duplicates, misses and
missing ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.experiments.outcomes import lookup_first, outcomes_from_stages, rows_of_leads

ids = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", "f"]))


def _merge_reference(wanted: pd.Series, wide: pd.DataFrame) -> pd.Series:
    """The join as the module did it before: first row per lead, left merge."""
    dates = wide[["lead_id", "sql_at"]].drop_duplicates("lead_id")
    out = pd.DataFrame({"lead_id": wanted}).merge(dates, on="lead_id", how="left")
    return out["sql_at"]


def _frames(keys: list[str | None], wanted: list[str | None], days: list[int]):
    wide = pd.DataFrame(
        {
            "lead_id": pd.Series(keys, dtype="str"),
            "sql_at": (pd.Timestamp("2026-01-01") + pd.to_timedelta(days, unit="D")).astype(
                "datetime64[us]"
            ),
        }
    )
    return wide, pd.Series(wanted, dtype="str")


@settings(max_examples=200, deadline=None)
@given(st.lists(ids, max_size=30), st.lists(ids, min_size=1, max_size=30), st.data())
def test_lookup_first_equals_the_merge(keys, wanted, data) -> None:
    days = data.draw(st.lists(st.integers(0, 90), min_size=len(keys), max_size=len(keys)))
    wide, want = _frames(keys, wanted, days)
    got = lookup_first(wide["lead_id"], wide["sql_at"], want)
    expect = _merge_reference(want, wide)
    pd.testing.assert_series_equal(
        got.reset_index(drop=True), expect.reset_index(drop=True), check_names=False
    )
    narrowed = rows_of_leads(wide, want)
    again = lookup_first(narrowed["lead_id"], narrowed["sql_at"], want)
    pd.testing.assert_series_equal(again, got)


def test_outcomes_keep_the_assignments_order_and_a_fresh_index() -> None:
    wide, _ = _frames(["c", "a", "b", "a"], ["a"], [5, 10, 40, 1])
    asg = pd.DataFrame(
        {
            "lead_id": pd.array(["a", "z", "c", "a"], dtype="str"),
            "variant": ["v", "v", "w", "w"],
            "assigned_at": pd.to_datetime(["2026-01-01"] * 4).astype("datetime64[us]"),
        },
        index=[7, 3, 9, 1],
    )
    out = outcomes_from_stages(asg, wide, "sql", 30, pd.Timestamp("2026-06-30"))
    assert list(out.index) == [0, 1, 2, 3] and list(out["lead_id"]) == ["a", "z", "c", "a"]
    # a: first row of a in wide (day 10); z: not in wide; c: day 5
    np.testing.assert_array_equal(out["days"].to_numpy(), [10.0, np.nan, 5.0, 10.0])
