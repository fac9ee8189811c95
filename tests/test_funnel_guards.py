"""The funnel modules check the columns they are given with the one guard,
:func:`leadnb.data.columns.require_columns`: one wording, the table, every missing column and
how to fix it, never a ``KeyError`` from inside pandas."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from leadnb.errors import DataError
from leadnb.funnel import cohorts, survival, value_map
from leadnb.funnel import stages as funnel

AS_OF = pd.Timestamp("2025-06-30")
CREATED = pd.Series(pd.to_datetime(["2025-01-05", "2025-02-10"]), dtype="datetime64[us]")
WIDE = pd.DataFrame({"lead_id": ["a", "b"], "created_at": CREATED, "lead_at": CREATED})
LEADS = pd.DataFrame({"lead_id": ["a", "b"], "created_at": CREATED})
HISTORY = pd.DataFrame(
    {"lead_id": ["a"], "stage": ["mql"], "entered_at": pd.to_datetime(["2025-01-06"])}
)
ORDERS = pd.DataFrame({"account_id": ["x"], "order_date": pd.to_datetime(["2025-03-01"])})

CASES: list[tuple[str, Callable[[], object], str, list[str], str]] = [
    # (name, call, table, missing columns, words of the fix)
    (
        "stage_dates: leads",
        lambda: funnel.stage_dates(LEADS.drop(columns="created_at"), HISTORY),
        "leads",
        ["created_at"],
        "data.leads.columns",
    ),
    (
        "stage_dates: history",
        lambda: funnel.stage_dates(LEADS, HISTORY.drop(columns=["stage", "entered_at"])),
        "stages",
        ["stage", "entered_at"],
        "data.stages.columns",
    ),
    (
        "stage_dates: keep",
        lambda: funnel.stage_dates(LEADS, HISTORY, keep=["source"]),
        "leads",
        ["source"],
        "drop it from keep",
    ),
    (
        "stage_quality",
        lambda: funnel.stage_quality(LEADS.drop(columns="lead_id"), HISTORY),
        "leads",
        ["lead_id"],
        "data.leads.columns",
    ),
    (
        "stage_conversion: stage",
        lambda: funnel.stage_conversion(WIDE, as_of=AS_OF, pairs=[("lead", "mql")]),
        "the stage-date frame",
        ["mql_at"],
        "stage_dates",
    ),
    (
        "stage_conversion: by",
        lambda: funnel.stage_conversion(WIDE, as_of=AS_OF, pairs=[("lead", "lead")], by="source"),
        "the stage-date frame",
        ["source"],
        "keep=['source']",
    ),
    (
        "age_at",
        lambda: funnel.age_at(WIDE, "sql"),
        "the stage-date frame",
        ["sql_at"],
        "stage_dates",
    ),
    (
        "cohort_matrix",
        lambda: cohorts.cohort_matrix(WIDE.drop(columns="created_at"), "sql", AS_OF),
        "the stage-date frame",
        ["created_at", "sql_at"],
        "stage_dates",
    ),
    (
        "time_to_stage",
        lambda: survival.time_to_stage(WIDE, "lead", "sql", AS_OF),
        "the stage-date frame",
        ["sql_at"],
        "stage_dates",
    ),
    (
        "time_to_stage: by",
        lambda: survival.time_to_stage(WIDE, "lead", "lead", AS_OF, by="source"),
        "the stage-date frame",
        ["source"],
        "keep=['source']",
    ),
    (
        "value_window",
        lambda: value_map.value_window(ORDERS, AS_OF),
        "orders",
        ["amount"],
        "data.orders.columns",
    ),
    (
        "value_groups",
        lambda: value_map.value_groups(ORDERS.drop(columns="order_date").assign(amount=1.0)),
        "orders",
        ["order_date"],
        "data.orders.columns",
    ),
]


@pytest.mark.parametrize(
    ("call", "table", "missing", "fix"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_missing_columns_one_guard_one_wording(
    call: Callable[[], object], table: str, missing: list[str], fix: str
) -> None:
    with pytest.raises(DataError) as exc:
        call()
    issue = exc.value.issues[0]
    assert issue.message.startswith(f"{table} has no column(s) {', '.join(missing)} (its columns:")
    assert issue.table == table and issue.column == missing[0]
    assert fix in issue.fix
