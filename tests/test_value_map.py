"""Tests for leadnb.funnel.value_map: hand-worked groups, cut-offs, movement, errors."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.errors import DataError
from leadnb.funnel.value_map import (
    DAYS_PER_MONTH,
    MOVEMENT_MATRIX_COLUMNS,
    VALUE_COLUMNS,
    VALUE_MOVEMENT_COLUMNS,
    VALUE_SUMMARY_COLUMNS,
    customer_values,
    movement_matrix,
    value_groups,
    value_movement,
    value_summary,
)


def orders_frame(rows: list[tuple[str | None, str | None, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": pd.Series([r[0] for r in rows], dtype="str"),
            "lead_id": pd.Series([r[1] for r in rows], dtype="str"),
            "order_date": pd.to_datetime(pd.Series([r[2] for r in rows])).astype("datetime64[us]"),
            "amount": [float(r[3]) for r in rows],
        }
    )


LEADS = pd.DataFrame(
    {
        "lead_id": pd.Series(["l1", "l2", "y"], dtype="str"),
        "account_id": pd.Series(["a", "e", None], dtype="str"),
    }
)


def test_groups_with_median_cuts() -> None:
    o = orders_frame(
        [
            ("a", None, "2025-02-01", 100),
            ("a", None, "2025-08-01", 300),
            ("b", None, "2025-03-01", 50),
            ("c", None, "2025-01-05", 10),
            ("c", None, "2025-04-05", 10),
            ("c", None, "2025-09-05", 10),
            ("d", None, "2025-10-01", 500),
            (None, "x", "2025-05-01", 80),
        ]
    )
    g = value_groups(
        o, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"), leads=LEADS
    ).set_index("key")
    months = 365 / DAYS_PER_MONTH
    assert g.loc["a", "aov"] == 200 and g.loc["c", "frequency"] == pytest.approx(3 / months)
    # medians over the five customers: aov 80 (x), frequency 1 order
    assert g.attrs["value_cut"] == 80 and g.attrs["frequency_cut"] == pytest.approx(1 / months)
    expect = {"a": "E", "b": "B", "c": "D", "d": "C", "lead:x": "B", "e": "A", "lead:y": "A"}
    assert g["group"].to_dict() == expect
    s = value_summary(g).set_index("group")
    assert s["n"].to_dict() == {"A": 2, "B": 2, "C": 1, "D": 1, "E": 1}
    assert s.loc["B", "revenue"] == 130 and s["share"].sum() == pytest.approx(1)
    assert s.loc["E", "label"] == "high value, frequent"
    cv = customer_values(o, pd.Timestamp("2025-06-01"), pd.Timestamp("2025-12-31"))
    assert set(cv.key) == {"a", "c", "d"}


def test_movement_between_two_windows() -> None:
    o = orders_frame(
        [
            ("a", None, "2025-02-01", 100),
            ("b", None, "2025-03-01", 50),
            ("c", None, "2025-01-05", 10),
            ("c", None, "2025-04-05", 10),
            (None, "x", "2025-05-01", 80),
            ("a", None, "2025-08-01", 300),
            ("c", None, "2025-09-05", 10),
            ("d", None, "2025-10-01", 500),
        ]
    )
    mv = value_movement(
        o,
        pd.Timestamp("2025-07-01"),
        pd.Timestamp("2025-12-31"),
        start=pd.Timestamp("2025-01-01"),
        leads=LEADS,
        value_cut=60,
        frequency_cut=0.25,
    )
    assert len(mv) == 25
    moved = {(r.from_group, r.to_group): r.n for r in mv.itertuples() if r.n}
    assert moved == {
        ("C", "C"): 1,  # a
        ("B", "A"): 1,  # b lapsed
        ("D", "B"): 1,  # c
        ("A", "C"): 1,  # d new customer
        ("C", "A"): 1,  # x
        ("A", "A"): 2,  # e, y
    }
    assert mv.set_index(["from_group", "to_group"]).loc[("A", "C"), "share_of_from"] == 1 / 3
    # default cut-offs come from the first window and are reused for the second
    mv2 = value_movement(o, pd.Timestamp("2025-07-01"), pd.Timestamp("2025-12-31"))
    first = value_groups(o, o.order_date.min(), pd.Timestamp("2025-07-01"), end_inclusive=False)
    assert mv2.attrs["value_cut"] == first.attrs["value_cut"] == 65  # median of 100, 50, 10, 80
    with pytest.raises(DataError):
        value_movement(o, pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31"))


def test_bad_orders_are_errors() -> None:
    o = orders_frame([(None, None, "2025-01-01", 10), ("a", None, "2025-01-02", 20)])
    with pytest.raises(DataError) as exc:
        value_groups(o)
    assert exc.value.issues[0].count == 1
    with pytest.raises(DataError):
        value_groups(o.drop(columns=["account_id", "lead_id"]))
    with pytest.raises(DataError):
        value_groups(o.drop(columns="amount"))


def test_value_window_says_what_is_missing() -> None:
    from leadnb.errors import NotEnoughData
    from leadnb.funnel.value_map import value_window

    o = orders_frame(
        [
            ("a", None, "2025-03-01 00:00:00.000000", 10),
            ("b", None, "2025-03-05 23:59:59.999999", 20),
        ]
        + [("c", None, "2025-03-06 00:00:00.000000", 30)]
    )
    with pytest.raises(NotEnoughData, match="no orders table"):
        value_window(None, pd.Timestamp("2025-03-05"))
    with pytest.raises(NotEnoughData, match="No order is dated on or before .* 2025-02-28"):
        value_window(o, pd.Timestamp("2025-02-28"))
    with pytest.raises(NotEnoughData, match="run of 2025-03-02 or later"):
        value_window(o, pd.Timestamp("2025-03-01"))
    known, split, end = value_window(o, pd.Timestamp("2025-03-05"))
    # the whole as_of day is known (23:59:59.999999), the next midnight is not
    assert known.account_id.tolist() == ["a", "b"] and end == pd.Timestamp("2025-03-05")
    assert split == pd.Timestamp("2025-03-03")  # middle of first order .. as_of
    assert value_window(o, pd.Timestamp("2025-03-05"), split=pd.Timestamp("2025-03-02"))[1] == (
        pd.Timestamp("2025-03-02")
    )
    # a split outside (first order, as_of] falls back to the middle
    assert value_window(o, pd.Timestamp("2025-03-05"), split=pd.Timestamp("2025-03-09"))[1] == split


def test_no_repeat_customers_still_map() -> None:
    o = orders_frame([(k, None, f"2025-0{i + 1}-10", 10 * (i + 1)) for i, k in enumerate("abcd")])
    g = value_groups(o, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-30"))
    assert (g.orders == 1).all() and set(g.group) <= {"B", "C"}  # nobody is frequent
    mv = value_movement(o, pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-30"))
    assert mv.n.sum() == 4


def test_inclusive_end_is_the_whole_day() -> None:
    o = orders_frame(
        [
            ("a", None, "2025-03-05 23:59:59.999999", 10),
            ("b", None, "2025-03-06 00:00:00.000000", 20),
        ]
    )
    v = customer_values(o, pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-05"))
    assert v["key"].tolist() == ["a"]


def _declared_for_a_reader(frame: pd.DataFrame, columns: dict) -> None:
    """Every column of ``frame`` is declared, under a label in words (no code names)."""
    assert [c for c in frame.columns if c not in columns] == []
    for name, col in columns.items():
        assert "_" not in col.label and col.label[:1] == col.label[:1].upper(), (name, col.label)


def test_value_tables_declared_for_a_reader() -> None:
    orders = pd.DataFrame(
        {
            "account_id": ["A", "B", "A", "C"],
            "amount": [100.0, 50.0, 300.0, 80.0],
            "order_date": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-03-01", "2025-03-10"]),
        }
    )
    groups = value_groups(orders, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-31"))
    _declared_for_a_reader(groups, VALUE_COLUMNS)
    _declared_for_a_reader(value_summary(groups), VALUE_SUMMARY_COLUMNS)
    moves = value_movement(orders, pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-31"))
    _declared_for_a_reader(moves, VALUE_MOVEMENT_COLUMNS)
    matrix = movement_matrix(moves)
    _declared_for_a_reader(matrix, MOVEMENT_MATRIX_COLUMNS)
    assert matrix.columns.tolist() == ["from_group", "A", "B", "C", "D", "E"]
    # the matrix holds the same counts as the long table
    long = matrix.melt(id_vars="from_group", var_name="to_group", value_name="n")
    pd.testing.assert_frame_equal(
        long.sort_values(["from_group", "to_group"], ignore_index=True),
        moves[["from_group", "to_group", "n"]]
        .sort_values(["from_group", "to_group"], ignore_index=True)
        .astype({"n": long["n"].dtype}),
        check_dtype=False,
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["A1", "A2", "A3"])),
            st.one_of(st.none(), st.sampled_from(["l1", "l2", "l3", "l4"])),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_lead_keys_are_the_distinct_account_keys(rows) -> None:
    """_lead_keys (distinct keys without a key per lead) equals account_key's distinct keys."""
    from leadnb.funnel.value_map import _lead_keys, account_key

    leads = pd.DataFrame(
        {
            "account_id": pd.array([a for a, _ in rows], dtype="str"),
            "lead_id": pd.array([b for _, b in rows], dtype="str"),
        }
    )
    expect = set(account_key(leads, "leads").dropna())
    got = _lead_keys(leads)
    assert got.is_unique and set(got) == expect
