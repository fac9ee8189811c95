"""Tests for leadnb.data.params: the params file is checked strictly, with errors that say the fix."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from leadnb.data.params import (
    MAX_RUN_NAME,
    MAX_YAML_ALIASES,
    SECTIONS,
    TOP_LEVEL,
    Params,
    TableSource,
    _section_parser,
    check_keys,
    expanded_size,
    expect_type,
    load_params,
    params_from_dict,
    parse_date,
    read_yaml,
)
from leadnb.errors import ParamsError


def test_minimal_params_and_paths(tmp_path: Path, write_params) -> None:
    path = write_params(
        {
            "run": {"name": "crm", "as_of": "2026-06-30"},
            "data": {
                "leads": "exports/leads.csv",
                "events": {"source": "/abs/events.parquet", "placeholders": ["-", 0]},
            },
            "cohort_conversion": {"cohort_stage": "sql"},
        }
    )
    p = load_params(path)
    assert isinstance(p, Params) and p.path == path.resolve() and p.base_dir == tmp_path
    assert p.run.name == "crm" and p.as_of() == pd.Timestamp("2026-06-30")
    assert p.as_of("2026-01-31") == pd.Timestamp("2026-01-31")
    assert p.data["leads"].path == (tmp_path / "exports" / "leads.csv").resolve()
    assert p.data["events"].path == Path("/abs/events.parquet")
    assert p.data["events"].placeholders == ("-", "0")
    assert p.data["leads"].label == str(p.data["leads"].path)
    assert p.notebook("cohort_conversion") == {"cohort_stage": "sql"}
    assert p.notebook("ab_testing") == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("local", "local"),
        (" tcp://10.0.0.5:8786 ", "tcp://10.0.0.5:8786"),
    ],
)
def test_dask_scheduler(write_params, value, expected) -> None:
    run = {"name": "crm"} if value is None else {"dask_scheduler": value}
    assert load_params(write_params({"run": run})).run.dask_scheduler == expected


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("eur", "EUR"), (" USD ", "USD")])
def test_currency(write_params, value, expected) -> None:
    run = {"name": "crm"} if value is None else {"currency": value}
    assert load_params(write_params({"run": run})).run.currency == expected


def test_sql_source(write_params) -> None:
    p = load_params(
        write_params({"data": {"leads": {"sql": "select * from leads", "url_env": "CRM_DB_URL"}}})
    )
    src = p.data["leads"]
    assert src.path is None and src.sql == "select * from leads" and src.url_env == "CRM_DB_URL"
    assert src.label == "SQL query via $CRM_DB_URL"


def test_no_as_of_is_an_error_only_when_asked(write_params) -> None:
    p = load_params(write_params({"data": {"leads": "l.csv"}}))
    with pytest.raises(ParamsError, match="no analysis date") as err:
        p.as_of()
    assert "--as-of" in err.value.fix


@pytest.mark.parametrize(
    ("raw", "match", "fix"),
    [
        ({"runn": {}}, "unknown key(s) in the params file (top level): runn", "allowed keys"),
        ({"data": {"lead": "x.csv"}}, "unknown key(s) in data: lead", "leads"),
        ({"data": {"leads": {"source": "x.csv", "colums": {}}}}, "data.leads: colums", "columns"),
        ({"data": {"leads": {}}}, "exactly one of 'source'", "source"),
        ({"data": {"leads": {"source": "a.csv", "sql": "q"}}}, "exactly one of", "sql"),
        ({"data": {"leads": {"sql": "select 1"}}}, "needs data.leads.url_env", "export"),
        ({"data": {"leads": {"source": 3}}}, "data.leads.source must be str", "str"),
        ({"data": {"leads": {"source": "a.csv", "columns": ["a"]}}}, "must be a mapping", "key"),
        (
            {"data": {"leads": {"source": "a.csv", "columns": {"A": 1}}}},
            "data.leads.columns['A'] must be str",
            "str",
        ),
        (
            {"data": {"leads": {"source": "a.csv", "placeholders": "Select"}}},
            "must be list",
            "list",
        ),
        ({"data": {"leads": {"source": "a.csv", "dayfirst": "yes"}}}, "dayfirst must be bool", ""),
        ({"data": {"leads": {"source": "a.csv", "sheet": 1.5}}}, "sheet must be str or int", ""),
        ({"data": {"leads": {"source": "a.csv", "sep": ";;"}}}, "one character", ";"),
        (
            {"data": {"leads": {"source": "a.csv", "encoding": "klingon"}}},
            "unknown encoding",
            "cp1252",
        ),
        ({"data": {"leads": {"source": "a.csv", "date_format": 5}}}, "date_format must be str", ""),
        (
            {"data": {"stages": {"source": "a.csv", "stage_map": {"Won": 1}}}},
            "stage_map['Won'] must be str",
            "",
        ),
        ({"run": {"as_of": "30/06/2026"}}, "run.as_of must be a date written YYYY-MM-DD", "2026"),
        ({"run": {"name": 5}}, "run.name must be str", ""),
        ({"run": {"dask_scheduler": 8786}}, "run.dask_scheduler must be str", ""),
        ({"run": {"dask_scheduler": "10.0.0.5:8786"}}, "'local' or a scheduler address", "tcp://"),
        ({"run": {"currency": "€"}}, "run.currency must be a three-letter ISO 4217", "EUR"),
        ({"run": {"currency": 978}}, "run.currency must be str", ""),
        ({"ab_testing": ["x"]}, "ab_testing must be a mapping", ""),
    ],
)
def test_bad_params_name_the_key_and_the_fix(write_params, raw, match, fix) -> None:
    path = write_params(raw)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert match in str(err.value)
    assert err.value.file == str(path)
    assert fix in (err.value.fix or "")


def test_url_env_holding_a_url_is_refused_without_echoing_it(write_params) -> None:
    url = "postgresql://crm:hunter2@db.example/crm"
    path = write_params({"data": {"leads": {"sql": "select 1", "url_env": url}}})
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert "NAME of an environment variable" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("run:\n  name: x\n data: [\n")
    with pytest.raises(ParamsError, match=r"not valid YAML at line 3") as err:
        load_params(path)
    assert err.value.file == str(path.resolve())


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    path = tmp_path / "p.yaml"
    path.write_bytes("run:\n  name: Société\n".encode("cp1252"))
    with pytest.raises(ParamsError, match="not UTF-8"):
        load_params(path)


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("# nothing yet\n")
    p = load_params(path)
    assert p.data == {} and p.run.as_of is None and p.run.name == "leadnb"


def test_each_section_is_parsed_by_its_package() -> None:
    from leadnb.experiments import ExperimentsConfig
    from leadnb.funnel.stages import FunnelConfig
    from leadnb.roi import RoiConfig
    from leadnb.scoring import ScoringConfig

    expected = {
        "scoring": ScoringConfig,
        "funnel": FunnelConfig,
        "roi": RoiConfig,
        "experiments": ExperimentsConfig,
    }
    assert {name: _section_parser(name) for name in SECTIONS} == expected
    assert set(SECTIONS) <= set(TOP_LEVEL)
    p = params_from_dict({"funnel": {"new_lead_days": 45}, "roi": {"nurture_start": "2025-10-01"}})
    assert {name: type(p.sections[name]) for name in SECTIONS} == expected
    assert p.funnel.new_lead_days == 45
    assert p.roi.nurture_start == pd.Timestamp("2025-10-01")
    with pytest.raises(KeyError, match="no params section 'nurture_roi'"):
        _section_parser("nurture_roi")


def test_a_section_error_names_the_params_file(write_params) -> None:
    path = write_params({"funnel": {"new_lead_dayz": 45}})
    with pytest.raises(ParamsError, match="new_lead_dayz") as err:
        load_params(path)
    assert err.value.issues[0].file == str(path.resolve())


def test_importing_params_loads_no_analysis_package() -> None:
    """The section parsers are imported when a params file is parsed, not before (leadnb --help
    and the analysis packages' own imports of this module stay light and free of cycles)."""
    code = (
        "import sys, leadnb.data.params\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('leadnb'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "leadnb.data.params" in out
    assert not [m for m in out if m.split(".")[1:2] in (["scoring"], ["funnel"], ["roi"])]
    assert not [m for m in out if m.startswith("leadnb.experiments")]


def test_params_from_dict_without_path() -> None:
    p = params_from_dict({"data": {"leads": "l.csv"}})
    assert p.path is None and p.data["leads"].path == (Path.cwd() / "l.csv").resolve()


def test_helpers() -> None:
    assert check_keys(None, ["a"], "x") == {}
    with pytest.raises(ParamsError, match="missing key"):
        check_keys({"a": 1}, ["a", "b"], "x", required=["b"])
    assert expect_type(3, int, "n") == 3
    with pytest.raises(ParamsError, match="must be int"):
        expect_type(True, int, "n")  # a bool is not an int here
    assert expect_type(True, bool, "flag") is True
    assert parse_date("2026-06-30", "d") == pd.Timestamp("2026-06-30")
    assert parse_date(dt.date(2026, 6, 30), "d") == pd.Timestamp("2026-06-30")
    assert parse_date(pd.Timestamp("2026-06-30 13:45"), "d") == pd.Timestamp("2026-06-30")
    with pytest.raises(ParamsError):
        parse_date(20260630, "d")


def test_table_source_from_dict_shorthand(tmp_path: Path) -> None:
    src = TableSource.from_dict("costs", "costs.csv", tmp_path)
    assert src.table == "costs" and src.path == (tmp_path / "costs.csv").resolve()
    assert src.columns == {} and src.placeholders == () and src.dayfirst is False


# ------------------------------------------------------------------ run.name and YAML aliases


def test_run_name_longer_than_the_limit_is_refused(write_params) -> None:
    assert load_params(write_params({"run": {"name": "n" * MAX_RUN_NAME}})).run.name == (
        "n" * MAX_RUN_NAME
    )
    with pytest.raises(ParamsError, match=f"run.name is {MAX_RUN_NAME + 1} characters") as err:
        load_params(write_params({"run": {"name": "n" * (MAX_RUN_NAME + 1)}}))
    assert "shorten run.name" in err.value.fix


def laughs(levels: int = 9, width: int = 9, indent: str = "  ") -> str:
    """The billion-laughs bomb as YAML list items: level k is ``width`` aliases of level k-1."""
    lines = [f"{indent}- &l0 [{', '.join(['lol'] * width)}]"]
    for k in range(1, levels):
        lines.append(f"{indent}- &l{k} [{', '.join([f'*l{k - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_in_a_notebook_list_is_refused_by_validate(tmp_path: Path) -> None:
    from leadnb.data.validation import validate_params_file

    path = tmp_path / "p.yaml"
    path.write_text("run:\n  name: x\nscoring_calibration:\n  target_industries:\n" + laughs())
    report, params, tables = validate_params_file(path)
    (issue,) = report.errors
    assert params is None and tables == {}
    assert "anchors/aliases" in issue.message and "100,000 values" in issue.message
    assert issue.file == str(path.resolve()) and "&anchor" in issue.fix


def test_expanded_size_counts_aliases_without_expanding() -> None:
    import yaml

    node = yaml.compose("a: &x [1, 2, 3]\nb: [*x, *x]\n")
    # mapping 1 + keys a, b 2 + list x (4) + list b (1 + 4 + 4)
    assert expanded_size(node) == 1 + 2 + 4 + 9
    with pytest.raises(Exception, match="more than 10 values"):
        expanded_size(node, limit=10)
    big = yaml.compose("v:\n" + laughs(levels=6, width=9))
    with pytest.raises(Exception, match="100,000"):
        expanded_size(big)  # 9**6 = 531,441 laughs: refused without building them


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "a: &a [x]\nb: [" + ", ".join(["*a"] * (MAX_YAML_ALIASES + 1)) + "]\n",
            "more than 100 al",
        ),
        ("a: &a [1, *a]\n", "recursive alias"),
    ],
)
def test_too_many_or_recursive_aliases_are_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=match) as err:
        read_yaml(path, "the rules file")
    assert "the rules file uses YAML anchors/aliases too much" in str(err.value)


def test_ordinary_anchors_still_work(write_params, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "run: {name: x}\n"
        "scoring_calibration:\n"
        "  target_industries: &icp [software, manufacturing]\n"
        "  competitor_companies: *icp\n"
        "cohort_conversion:\n"
        "  hazard_buckets: &b [0, 30, 60]\n"
    )
    p = load_params(path)
    assert p.notebook("scoring_calibration")["competitor_companies"] == [
        "software",
        "manufacturing",
    ]
    assert read_yaml(path, "x")["cohort_conversion"]["hazard_buckets"] == [0, 30, 60]
    empty = tmp_path / "e.yaml"
    empty.write_text("")
    assert read_yaml(empty, "x") is None
