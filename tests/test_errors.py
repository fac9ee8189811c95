"""leadnb.errors: what a user reads when something is wrong."""

from __future__ import annotations

import pandas as pd
import pytest

from leadnb.errors import DataError, Issue, LeadnbError, NotebookError, ParamsError, Report


def test_issue_renders_where_rows_and_fix() -> None:
    rows = pd.DataFrame({"lead_id": [f"L{i}" for i in range(8)], "amount": range(8)})
    text = Issue(
        "negative amounts",
        file="costs.csv",
        table="costs",
        column="amount",
        rows=rows,
        count=8,
        fix="correct them in the export",
    ).render()
    lines = text.splitlines()
    assert lines[0] == "ERROR: negative amounts"
    assert lines[1] == "  where: file costs.csv, table costs, column amount"
    assert "rows affected: 8" in text and "fix: correct them in the export" in text
    assert "L4" in text and "L5" not in text  # five rows shown, then a count of the rest
    assert "... and 3 more" in text


def test_errors_carry_exit_codes_and_every_issue() -> None:
    assert ParamsError("x").exit_code == DataError("x").exit_code == 2
    assert NotebookError("x").exit_code == 1
    err = DataError(issues=[Issue("first", table="leads"), Issue("second", table="events")])
    assert isinstance(err, LeadnbError) and err.table == "leads"
    assert "first" in str(err) and "second" in str(err)


def test_report_counts_and_raises_only_on_errors() -> None:
    report = Report()
    report.warn("3% of events dropped", table="events", count=30)
    assert report.ok
    report.raise_if_errors()  # warnings alone never raise
    report.error("duplicate lead_id", table="leads")
    assert not report.ok and len(report.errors) == len(report.warnings) == 1
    assert report.render().endswith("1 error(s), 1 warning(s)")
    with pytest.raises(DataError) as info:
        report.raise_if_errors()
    assert "duplicate lead_id" in str(info.value) and "dropped" not in str(info.value)
