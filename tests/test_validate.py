"""Tests for leadnb.data.validation: each bad input gives an issue naming table, column, rows and fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.data import loading
from leadnb.data.params import TableSource
from leadnb.data.validation import (
    DropIssue,
    clean_tables,
    format_report,
    guess_stage,
    suggest_column,
    validate_params_file,
    validate_tables,
)

FUNNEL = {
    "stages": ["lead", "mql", "sql", "opportunity", "customer"],
    "lost_stage": "lost",
    "aliases": {},
}
AS_OF = pd.Timestamp("2026-06-30")
WEBINAR_RULE = {
    "name": "webinar",
    "category": "content",
    "points": 3,
    "when": {"event_type": "webinar"},
}
"""A scoring rule on an event type the fixture tables never have: a warning of the rules' check."""


def dt(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values), dtype="datetime64[us]")


def s(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def make_tables(n: int = 40, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Small clean canonical tables (what loading.load_table returns)."""
    rng = np.random.default_rng(seed)
    ids = [f"L{i:03d}" for i in range(n)]
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    leads = pd.DataFrame({"lead_id": s(ids), "created_at": dt(created)})
    ev_idx = rng.integers(0, n, 3 * n)
    events = pd.DataFrame(
        {
            "lead_id": s([ids[i] for i in ev_idx]),
            "ts": dt(created[ev_idx] + pd.Timedelta(days=3)),
            "event_type": s(["email_open"] * (3 * n)),
        }
    )
    stages = pd.DataFrame(
        {
            "lead_id": s(ids),
            "stage": s(["mql"] * n),
            "entered_at": dt(created + pd.Timedelta(days=10)),
        }
    )
    assignments = pd.DataFrame(
        {
            "lead_id": s(ids),
            "experiment_id": s(["exp1"] * n),
            "variant": s(np.where(np.arange(n) % 2 == 0, "control", "weekly")),
            "assigned_at": dt([pd.Timestamp("2026-01-05")] * n),
            "outcome": (np.arange(n) % 3 == 0).astype(float),
        }
    )
    costs = pd.DataFrame(
        {
            "period_start": dt(pd.date_range("2025-01-01", periods=6, freq="MS")),
            "amount": [1000.0, 1100, 900, 1000, 1200, 950],
            "program": s(["lead_generation"] * 6),
        }
    )
    return {
        "leads": leads,
        "events": events,
        "stages": stages,
        "assignments": assignments,
        "costs": costs,
    }


def sources(tables, tmp: Path = Path("/data")) -> dict[str, TableSource]:
    return {t: TableSource(t, path=tmp / f"{t}.csv") for t in tables}


def check(tables, **kw):
    return validate_tables(tables, sources(tables), funnel=FUNNEL, as_of=AS_OF, **kw)


def only(issues, level="error"):
    assert len(issues) == 1, [i.render() for i in issues]
    issue = issues[0]
    assert issue.level == level and issue.fix
    return issue


def test_clean_tables_pass() -> None:
    report = check(make_tables())
    assert report.ok and not report.warnings, report.render()


def test_missing_required_column_suggests_mapping() -> None:
    t = make_tables()
    t["events"] = t["events"].rename(columns={"event_type": "Activity Type"})
    issue = only(check(t).errors)
    assert issue.table == "events" and issue.column == "event_type"
    assert issue.file == "/data/events.csv"
    assert "lead_id, ts, Activity Type" in issue.message  # the columns that exist
    assert 'data.events.columns: {"Activity Type": event_type}' in issue.fix


def test_orders_need_account_or_lead_id() -> None:
    orders = pd.DataFrame({"order_date": dt(["2025-01-01"]), "amount": [5.0]})
    issue = only(check({"orders": orders}).errors)
    assert issue.column == "account_id or lead_id"


def test_duplicate_lead_id_lists_rows() -> None:
    t = make_tables()
    t["leads"].loc[[5, 9, 12], "lead_id"] = "L001"
    issue = only(check({"leads": t["leads"]}).errors)
    assert issue.table == "leads" and issue.column == "lead_id"
    assert issue.count == 4 and "1 lead_id value(s) appear more than once" in issue.message
    assert issue.rows["lead_id"].tolist() == ["L001"] * 4
    assert issue.rows.index.tolist() == [3, 7, 11, 14]  # file lines (header is line 1)
    assert issue.rows.index.name == "line"


def test_unparseable_dates_in_text_frames() -> None:
    t = {
        "leads": pd.DataFrame(
            {"lead_id": s(["a", "b", "c"]), "created_at": s(["2025-01-01", "31/12/2025", None])}
        )
    }
    issue = only(check(t).errors)
    assert issue.column == "created_at" and issue.count == 1
    assert issue.rows["created_at"].tolist() == ["31/12/2025"]
    assert issue.rows["lead_id"].tolist() == ["b"]
    assert "%d/%m/%Y" in issue.fix


def test_negative_costs() -> None:
    t = make_tables()
    t["costs"].loc[[2, 4], "amount"] = [-5.0, -100.0]
    issue = only(check(t).errors)
    assert (issue.table, issue.column, issue.count) == ("costs", "amount", 2)
    assert issue.rows["amount"].tolist() == [-5.0, -100.0]


def test_non_numeric_costs_in_text_frames() -> None:
    costs = pd.DataFrame(
        {"period_start": dt(["2025-01-01", "2025-02-01"]), "amount": s(["10", "ten"])}
    )
    issue = only(check({"costs": costs}).errors)
    assert issue.column == "amount" and issue.rows["amount"].tolist() == ["ten"]


def test_orphans_under_five_percent_warn_and_are_dropped() -> None:
    t = make_tables(n=40)
    n_ev = len(t["events"])  # 120 rows: 5 orphans = 4.2%
    t["events"].loc[[0, 7, 50, 51, 119], "lead_id"] = ["X1", "X2", "X3", "X3", "X4"]
    report = check(t)
    assert report.ok
    issue = only(report.warnings, "warning")
    assert isinstance(issue, DropIssue)
    assert issue.table == "events" and issue.column == "lead_id" and issue.count == 5
    assert f"5 of {n_ev} events rows (4.2%)" in issue.message and "dropped" in issue.message
    assert issue.rows["lead_id"].tolist() == ["X1", "X2", "X3", "X3", "X4"]
    cleaned = clean_tables(t, report)
    # oracle: rows whose lead_id is in the set of lead ids
    known = set(t["leads"]["lead_id"])
    expect = t["events"][[x in known for x in t["events"]["lead_id"]]].reset_index(drop=True)
    pd.testing.assert_frame_equal(cleaned["events"], expect)
    assert cleaned["events"].attrs["leadnb_dropped"] == 5
    assert len(t["events"]) == n_ev  # input untouched
    assert cleaned["leads"] is t["leads"]


def test_orphans_at_five_percent_or_more_are_an_error() -> None:
    t = make_tables(n=40)
    t["stages"].loc[[1, 2], "lead_id"] = ["nope1", "nope2"]  # 2 of 40 = 5%
    issue = only(check(t).errors)
    assert issue.table == "stages" and issue.count == 2 and "(5.0%)" in issue.message
    assert issue.rows["lead_id"].tolist() == ["nope1", "nope2"]


def test_stage_before_creation_warns_with_rows() -> None:
    t = make_tables()
    t["stages"].loc[3, "entered_at"] = t["leads"].loc[3, "created_at"] - pd.Timedelta(days=2)
    # same day but earlier hour is not flagged
    t["stages"].loc[4, "entered_at"] = t["leads"].loc[4, "created_at"] - pd.Timedelta(hours=0)
    issue = only(check(t).warnings, "warning")
    assert (issue.table, issue.column, issue.count) == ("stages", "entered_at", 1)
    assert issue.rows["lead_id"].tolist() == ["L003"]
    assert issue.rows["created_at"].iloc[0] == t["leads"].loc[3, "created_at"]


def test_wide_stage_date_before_creation_warns() -> None:
    t = make_tables()
    leads = t["leads"].assign(mql_at=t["leads"]["created_at"] + pd.Timedelta(days=1))
    leads.loc[7, "mql_at"] = leads.loc[7, "created_at"] - pd.Timedelta(days=30)
    issue = only(check({"leads": leads}).warnings, "warning")
    assert issue.column == "mql_at" and issue.rows["lead_id"].tolist() == ["L007"]


def test_lead_in_two_variants_is_an_error() -> None:
    t = make_tables()
    extra = t["assignments"].iloc[[0, 1]].assign(variant=["weekly", "control"])
    same = t["assignments"].iloc[[2]]  # a repeated identical row is not a switch
    other_exp = t["assignments"].iloc[[3]].assign(experiment_id="exp2", variant="x")
    t["assignments"] = pd.concat([t["assignments"], extra, same, other_exp], ignore_index=True)
    issue = only(check(t).errors)
    assert issue.table == "assignments" and issue.column == "variant"
    assert "2 lead(s) are in more than one variant" in issue.message and issue.count == 4
    assert sorted(issue.rows["lead_id"].unique()) == ["L000", "L001"]


def test_assignments_after_as_of_warn() -> None:
    t = make_tables()
    t["assignments"].loc[[5, 6], "assigned_at"] = pd.Timestamp("2026-07-02")
    issue = only(check(t).warnings, "warning")
    assert (issue.column, issue.count) == ("assigned_at", 2) and "2026-06-30" in issue.message


def test_outcome_must_be_binary() -> None:
    t = make_tables()
    t["assignments"].loc[4, "outcome"] = 2.0
    issue = only(check(t).errors)
    assert issue.column == "outcome" and issue.rows["outcome"].tolist() == [2.0]


@pytest.mark.parametrize("table", ["leads", "events", "costs"])
def test_empty_tables_are_errors(table: str) -> None:
    t = make_tables()
    t[table] = t[table].iloc[0:0]
    issue = only(check(t).errors)
    assert issue.table == table and issue.count == 0 and "empty" in issue.message


def test_unknown_stage_names_list_them_and_the_alias_fix() -> None:
    t = make_tables()
    t["stages"].loc[[0, 1, 2], "stage"] = ["Sales Qualified", "Sales Qualified", "Closed Won"]
    issue = only(check(t).errors)
    assert issue.table == "stages" and issue.column == "stage" and issue.count == 3
    assert '"Sales Qualified" (2)' in issue.message and '"Closed Won" (1)' in issue.message
    assert "funnel.aliases" in issue.fix and '"Sales Qualified": sql' in issue.fix
    # after aliases (as the loader applies them) the table is clean
    fixed = dict(t)
    fixed["stages"] = t["stages"].assign(
        stage=loading.map_stages(
            t["stages"]["stage"], {"sales qualified": "sql", "Closed Won": "customer"}
        )
    )
    assert check(fixed).ok
    lost = t["stages"].assign(stage=s(["lost"] * len(t["stages"])))
    assert check({**t, "stages": lost}).ok  # the lost stage is a known name


def test_required_values_missing() -> None:
    t = make_tables()
    t["events"].loc[[3], "ts"] = pd.NaT
    issue = only(check(t).errors)
    assert (issue.table, issue.column, issue.count) == ("events", "ts", 1)


def test_mapping_onto_unknown_canonical_name_warns() -> None:
    t = make_tables()
    src = sources(t)
    src["events"] = TableSource(
        "events", path=Path("/data/events.csv"), columns={"Type": "evnt_type"}
    )
    report = validate_tables(t, src, funnel=FUNNEL)
    issue = only(report.warnings, "warning")
    assert 'did you mean "event_type"' in issue.message


# ------------------------------------------------------------------ from a params file


def write_csvs(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False, date_format="%Y-%m-%d")


def params_for(tables) -> dict:
    return {
        "run": {"as_of": "2026-06-30"},
        "data": {t: f"{t}.csv" for t in tables},
        "funnel": FUNNEL,
    }


def test_validate_params_file_clean_and_writes_nothing(tmp_path: Path, write_params) -> None:
    t = make_tables()
    write_csvs(tmp_path, t)
    path = write_params(params_for(t))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    report, params, tables = validate_params_file(path)
    assert report.ok and not report.issues, report.render()
    assert params is not None and set(tables) == set(t)
    # the events' text columns are categoricals (leadnb.data.loading.DICTIONARY_COLUMNS)
    assert all(
        isinstance(tables["events"][c].dtype, pd.CategoricalDtype)
        for c in ("lead_id", "event_type")
    )
    as_text = tables["events"].astype({"lead_id": "str", "event_type": "str"})
    pd.testing.assert_frame_equal(as_text, t["events"])
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert format_report(report).endswith("OK: no errors, 0 warning(s).")


def test_validate_params_file_collects_every_issue(tmp_path: Path, write_params) -> None:
    t = make_tables()
    t["leads"].loc[4, "lead_id"] = "L003"  # duplicate
    write_csvs(tmp_path, t)
    (tmp_path / "costs.csv").write_text("period_start,amount\n2025-01-01,100\n2025-02-30,-3\n")
    t2 = t["stages"].astype({"entered_at": "str"})
    t2.loc[1, "entered_at"] = "soon"
    t2.to_csv(tmp_path / "stages.csv", index=False, sep=";")
    (tmp_path / "events.csv").write_bytes(
        "lead_id,ts,event_type\nL001,2025-03-01,lecture é\n".encode("latin-1")
    )
    path = write_params(params_for(t))
    report, params, tables = validate_params_file(path)
    msgs = [(i.level, i.table, i.column) for i in report.issues]
    assert ("error", "leads", "lead_id") in msgs  # duplicate
    assert ("error", "costs", "period_start") in msgs  # 2025-02-30
    assert ("error", "costs", "amount") in msgs  # negative
    assert ("error", "stages", "entered_at") in msgs  # "soon"
    assert ("warning", "stages", None) in msgs  # ';'-separated
    assert ("error", "events", None) in msgs  # not UTF-8
    bad_date = next(i for i in report.errors if i.table == "stages" and "not dates" in i.message)
    assert bad_date.rows["entered_at"].tolist() == ["soon"] and bad_date.rows.index.tolist() == [3]
    text = format_report(report)
    assert text.startswith("[1/") and "FAILED" in text and "nothing was written" in text
    assert str(tmp_path / "stages.csv") in text


def test_notebook_issues_come_before_the_tables_read_beside_them(
    tmp_path: Path, write_params
) -> None:
    """The tables are read in a thread while the notebooks' sections are checked; the report
    lists the sections' issues first, then the read's, as when one ran after the other."""
    t = make_tables()
    write_csvs(tmp_path, t)
    t["stages"].to_csv(tmp_path / "stages.csv", index=False, sep=";")  # a warning of the read
    (tmp_path / "events.csv").write_bytes(  # an error of the read
        "lead_id,ts,event_type\nL001,2025-03-01,lecture \u00e9\n".encode("latin-1")
    )
    path = write_params({**params_for(t), "scoring_calibration": {"n_bandz": 3}})
    report, _, _ = validate_params_file(path)
    where = [(i.table, "n_bandz" in i.message) for i in report.issues]
    section = where.index((None, True))
    read = [where.index(("events", False)), where.index(("stages", False))]
    assert section < min(read) and read == sorted(read)  # the read's own issues in table order


def test_params_errors_become_report_errors(tmp_path: Path, write_params) -> None:
    path = write_params({"data": {"leads": {"source": "leads.csv", "colums": {}}}})
    report, params, tables = validate_params_file(path)
    assert params is None and tables == {}
    issue = only(report.errors)
    assert "colums" in issue.message and issue.file == str(path)
    path = write_params({"data": {"leads": {"source": "leads.csv", "dayfirst": "yes"}}})
    issue = only(validate_params_file(path)[0].errors)
    assert "data.leads.dayfirst must be bool" in issue.message


def test_missing_leads_table_and_missing_file(tmp_path: Path, write_params) -> None:
    write_csvs(tmp_path, {"events": make_tables()["events"]})
    path = write_params({"data": {"events": "events.csv", "costs": "nope.csv"}})
    report, params, tables = validate_params_file(path)
    tables_named = {i.table for i in report.errors}
    assert tables_named == {"leads", "costs"}
    assert set(tables) == {"events"}


def test_sql_missing_variable_in_report(tmp_path: Path, write_params, monkeypatch) -> None:
    monkeypatch.delenv("LEADNB_TEST_NOPE", raising=False)
    write_csvs(tmp_path, {"leads": make_tables()["leads"]})
    path = write_params(
        {
            "data": {
                "leads": "leads.csv",
                "events": {"sql": "select 1", "url_env": "LEADNB_TEST_NOPE"},
            }
        }
    )
    report, _, tables = validate_params_file(path)
    issue = only(report.errors)
    assert "LEADNB_TEST_NOPE" in issue.message and issue.table == "events"
    assert set(tables) == {"leads"}


@pytest.mark.parametrize(
    ("name", "stage"),
    [
        ("Lead", "lead"),
        ("Marketing Qualified", "mql"),
        ("Marketing Qualified Lead", "mql"),
        ("Sales Qualified", "sql"),
        ("Opportunity", "opportunity"),
        ("Closed Won", "customer"),
        ("Closed Lost", "lost"),
        ("zzz", "<stage>"),
    ],
)
def test_guess_stage_for_suggested_aliases(name: str, stage: str) -> None:
    assert guess_stage(name, [*FUNNEL["stages"], "lost"]) == stage


def test_as_of_override_moves_the_assignment_check(tmp_path: Path, write_params) -> None:
    t = make_tables()
    write_csvs(tmp_path, t)
    path = write_params(params_for(t))
    assert validate_params_file(path)[0].ok
    report = validate_params_file(path, as_of="2026-01-01")[0]
    issue = only(report.warnings, "warning")
    assert issue.column == "assigned_at" and issue.count == len(t["assignments"])
    assert "2026-01-01" in issue.message


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 60), st.integers(0, 60), st.integers(0, 10**6))
def test_orphan_rule_and_cleaning(m: int, k: int, seed: int) -> None:
    """k orphan rows among m events: a warning (and dropped) below 5%, an error from 5%."""
    k = min(k, m)
    rng = np.random.default_rng(seed)
    leads = pd.DataFrame({"lead_id": s([f"L{i}" for i in range(5)])})
    ids = np.array([f"L{i}" for i in rng.integers(0, 5, m)], dtype=object)
    bad = rng.choice(m, k, replace=False)
    ids[bad] = [f"X{i}" for i in range(k)]
    events = pd.DataFrame(
        {"lead_id": s(ids), "ts": dt(["2025-01-01"] * m), "event_type": s(["e"] * m)}
    )
    tables = {"leads": leads, "events": events}
    report = validate_tables(tables, sources(tables))
    if k == 0:
        assert not report.issues
    elif k / m < 0.05:
        assert report.ok and only(report.warnings, "warning").count == k
    else:
        assert only(report.errors).count == k
    cleaned = clean_tables(tables, report)["events"]
    want = m - k if 0 < k / m < 0.05 else m
    assert len(cleaned) == want
    if report.ok:
        assert cleaned["lead_id"].str.startswith("L").all()


@pytest.mark.parametrize(
    ("target", "columns", "want"),
    [
        ("lead_id", ["Lead Created On", "Lead Number", "Company"], "Lead Number"),
        ("event_type", ["Contact", "When", "Activity Type"], "Activity Type"),
        ("ts", ["Contact", "When", "Activity Type"], "When"),
        ("amount", ["Month", "Spend (EUR)"], "Spend (EUR)"),
        ("lead_id", ["age", "education", "balance"], None),
        ("variant", ["Variannt"], "Variannt"),
    ],
)
def test_suggest_column(target: str, columns: list[str], want: str | None) -> None:
    assert suggest_column(target, columns) == want


def test_params_file_without_data_is_fine(tmp_path: Path, write_params) -> None:
    """A file that only holds inputs (params/roi_worked_example.yaml) validates clean."""
    path = write_params({"run": {"as_of": "2026-06-30"}})
    report, params, tables = validate_params_file(path)
    assert report.ok and not report.issues and params is not None and tables == {}


def test_scoring_rule_on_unknown_field_is_an_error_naming_the_rule(
    tmp_path: Path, write_params
) -> None:
    t = make_tables()
    write_csvs(tmp_path, t)
    raw = params_for(t)
    raw["scoring"] = {
        "rules": [
            {
                "name": "has_title",
                "category": "profile",
                "points": 5,
                "when": {"field": "job_titel", "present": True},
            },
            WEBINAR_RULE,
        ]
    }
    report, params, _ = validate_params_file(write_params(raw))
    err = only(report.errors)
    assert "has_title" in err.message and "job_titel" in err.message
    warn = next(i for i in report.warnings if "webinar" in i.message)
    assert "email_open" in warn.message  # lists the event types the data has


def test_stage_history_problems_are_counted_warnings(tmp_path: Path, write_params) -> None:
    t = make_tables()
    again = t["stages"].head(3).assign(entered_at=lambda d: d["entered_at"] + pd.Timedelta(days=5))
    t["stages"] = pd.concat([t["stages"], again], ignore_index=True)
    write_csvs(tmp_path, t)
    report, _, _ = validate_params_file(write_params(params_for(t)))
    assert report.ok
    warn = next(i for i in report.warnings if "re_entry" in i.message)
    assert warn.count == 3 and warn.table == "stages" and "L000" in warn.message


def test_clean_tables_keeps_only_the_categories_still_held() -> None:
    """Rows dropped for an unknown lead id take their categories with them: the events come
    out as though loaded without those rows (what the run's tables folder used to store)."""
    t = make_tables()
    events = pd.concat(
        [t["events"], t["events"].head(1).assign(lead_id="X9", event_type="stray")],
        ignore_index=True,
    )
    t["events"] = events.astype({"lead_id": "category", "event_type": "category"})
    report = validate_tables(t, {k: TableSource(k) for k in t})
    cleaned = clean_tables(t, report)["events"]
    assert cleaned.attrs["leadnb_dropped"] == 1
    assert "X9" not in cleaned["lead_id"].cat.categories
    assert list(cleaned["event_type"].cat.categories) == ["email_open"]


# ------------------------------------------------------------------ the analysis checks ahead


def _ahead_params(tmp_path: Path, write_params, t: dict[str, pd.DataFrame]) -> Path:
    """The fixture tables as CSV files with rules that warn (an event type never seen) and a
    stage history that warns (three re-entries): both analysis checks find something."""
    again = t["stages"].head(3).assign(entered_at=lambda d: d["entered_at"] + pd.Timedelta(days=5))
    t["stages"] = pd.concat([t["stages"], again], ignore_index=True)
    write_csvs(tmp_path, t)
    raw = params_for(t)
    raw["scoring"] = {"rules": [WEBINAR_RULE]}
    return write_params(raw)


def _analysis_pids(monkeypatch, tmp_path: Path, then=None) -> Path:
    """Wrap the analysis checks so each process that runs them appends its pid to a file
    (a forked child's list is not the test's); ``then(pid)`` runs first in each."""
    from leadnb.data import validation

    log = tmp_path / "analysis-pids.txt"
    real = validation._check_analysis_inputs

    def logged(report, params, tables):
        import os

        with log.open("a") as f:
            f.write(f"{os.getpid()}\n")
        if then is not None:
            then(os.getpid())
        return real(report, params, tables)

    monkeypatch.setattr(validation, "_check_analysis_inputs", logged)
    return log


def _pids(log: Path) -> list[int]:
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def _findings(result):
    report, _, tables = result
    quality = report.stage_quality
    return (
        [i.render() for i in report.issues],
        None if report.rule_issues is None else [i.render() for i in report.rule_issues],
        None if quality is None else quality.to_dict("list"),
        {t: df.astype(str).to_dict("list") for t, df in tables.items()},
    )


def test_analysis_checks_ahead_equal_the_sequence(tmp_path: Path, write_params, monkeypatch):
    """Past AHEAD_ROWS the rules' and the stage history's checks run in a forked child while
    the tables are validated: the report (issues in order, rule issues, stage quality) and the
    tables are the sequence's."""
    import os

    from leadnb.data import validation

    path = _ahead_params(tmp_path, write_params, make_tables())
    log = _analysis_pids(monkeypatch, tmp_path)
    monkeypatch.setattr(validation, "AHEAD_ROWS", 10**12)
    alone = validation.validate_params_file(path)
    assert _pids(log) == [os.getpid()]
    monkeypatch.setattr(validation, "AHEAD_ROWS", 0)
    log.unlink()
    ahead = validation.validate_params_file(path)
    assert len(_pids(log)) == 1 and _pids(log)[0] != os.getpid()  # the child ran them
    report = ahead[0]
    assert report.ok and report.rule_issues and report.stage_quality is not None
    assert any("re_entry" in i.message for i in report.warnings)
    assert any("webinar" in i.message for i in report.warnings)
    assert _findings(ahead) == _findings(alone)


def test_analysis_checks_run_again_on_cleaned_tables(tmp_path: Path, write_params, monkeypatch):
    """Rows dropped by the cleaning (an unknown lead id) change the frames the checks see: the
    child's findings are dropped and the caller checks the cleaned tables, as the sequence."""
    import os

    from leadnb.data import validation

    t = make_tables(n=60)
    stray = t["events"].head(2).assign(lead_id="X9")
    t["events"] = pd.concat([t["events"], stray], ignore_index=True)
    path = _ahead_params(tmp_path, write_params, t)
    monkeypatch.setattr(validation, "AHEAD_ROWS", 10**12)
    alone = validation.validate_params_file(path)
    log = _analysis_pids(monkeypatch, tmp_path)
    monkeypatch.setattr(validation, "AHEAD_ROWS", 0)
    ahead = validation.validate_params_file(path)
    pids = _pids(log)
    assert len(pids) == 2 and pids.count(os.getpid()) == 1  # the child's, then the caller's
    assert ahead[2]["events"].attrs["leadnb_dropped"] == 2
    assert _findings(ahead) == _findings(alone)


def test_analysis_checks_ahead_of_bad_tables_neither_fail_nor_warn(
    tmp_path: Path, write_params, monkeypatch
):
    """Tables with errors: the sequence never runs the analysis checks, so what the child's
    run raises or warns is dropped: the report has the errors and nothing of the checks."""
    import warnings

    from leadnb.data import validation

    def boom(pid):
        warnings.warn("a note of the analysis checks", UserWarning, stacklevel=1)
        raise RuntimeError("the analysis checks on bad tables")

    t = make_tables()
    t["leads"].loc[4, "lead_id"] = "L003"  # duplicate: an error
    path = _ahead_params(tmp_path, write_params, t)
    log = _analysis_pids(monkeypatch, tmp_path, then=boom)
    monkeypatch.setattr(validation, "AHEAD_ROWS", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report, _, _ = validation.validate_params_file(path)
    assert len(_pids(log)) == 1  # the child tried
    assert not report.ok and any(i.column == "lead_id" for i in report.errors)
    assert report.rule_issues is None and report.stage_quality is None
    assert not [w for w in caught if "analysis checks" in str(w.message)]


def test_analysis_checks_ahead_warn_and_raise_as_the_sequence(
    tmp_path: Path, write_params, monkeypatch
):
    """Clean tables: a warning of the child's checks is raised again in the caller (once), and
    an error of theirs is raised by the caller's own run of them, as without the child."""
    import warnings

    from leadnb.data import validation

    path = _ahead_params(tmp_path, write_params, make_tables())
    monkeypatch.setattr(validation, "AHEAD_ROWS", 0)
    _analysis_pids(
        monkeypatch,
        tmp_path,
        then=lambda pid: warnings.warn("a note of the analysis checks", UserWarning, stacklevel=1),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report, _, _ = validation.validate_params_file(path)
    assert report.ok and report.stage_quality is not None
    assert [str(w.message) for w in caught if "analysis checks" in str(w.message)] == [
        "a note of the analysis checks"
    ]

    def fail(pid):
        raise RuntimeError("the analysis checks failed")

    monkeypatch.undo()
    monkeypatch.setattr(validation, "AHEAD_ROWS", 0)
    log = _analysis_pids(monkeypatch, tmp_path, then=fail)
    log.unlink(missing_ok=True)
    with pytest.raises(RuntimeError, match="analysis checks failed"):
        validation.validate_params_file(path)
    assert len(_pids(log)) == 2  # the child's run, then the caller's, which raised


def test_analysis_checks_redone_when_the_child_dies(tmp_path: Path, write_params, monkeypatch):
    """A child killed mid-check (out of memory, a signal) leaves the checks to the caller; with
    one process allowed (LEADNB_PROCESSES=1) nothing is forked at all."""
    import os

    from leadnb.data import validation

    path = _ahead_params(tmp_path, write_params, make_tables())
    monkeypatch.setattr(validation, "AHEAD_ROWS", 10**12)
    alone = validation.validate_params_file(path)
    parent = os.getpid()
    log = _analysis_pids(monkeypatch, tmp_path, then=lambda pid: pid != parent and os._exit(9))
    monkeypatch.setattr(validation, "AHEAD_ROWS", 0)
    died = validation.validate_params_file(path)
    assert len(_pids(log)) == 2 and _pids(log)[1] == parent
    assert _findings(died) == _findings(alone)
    log.unlink()
    monkeypatch.setenv("LEADNB_PROCESSES", "1")
    one = validation.validate_params_file(path)
    assert _pids(log) == [parent]
    assert _findings(one) == _findings(alone)
