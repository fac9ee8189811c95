"""Tests for leadnb.data.param_checks and the notebook checks of validate_params_file: every value a notebook
cannot use, every file it names, the columns it needs and the analysis date are found by
``leadnb validate`` before anything runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadnb.data import notebook_parameters as nbp
from leadnb.data import param_checks as checks
from leadnb.data import params as config
from leadnb.data.demo import DEMO_EXPERIMENT
from leadnb.data.validation import validate_params_file
from leadnb.errors import Issue
from leadnb.run.cli import main

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
STAGES = ["lead", "mql", "sql", "opportunity", "customer"]


def registration(exp_id: str, stage: str, days: int) -> dict:
    """The demo pre-registration with another id and primary metric."""
    primary = {"stage": stage, "window_days": days}
    return {**DEMO_EXPERIMENT, "id": exp_id, "primary_metric": primary}


# real parsed params (funnel stages, two registered experiments) that the rules read
PARAMS = config.params_from_dict(
    {
        "funnel": {"stages": STAGES, "lost_stage": "lost"},
        "experiments": {
            "registrations": [registration("exp-a", "sql", 30), registration("exp-b", "mql", 14)]
        },
    }
)


def problems(notebook: str, **values) -> list[Issue]:
    return checks.check_values(notebook, values, PARAMS, explicit=list(values))


# (notebook, parameter, refused values, accepted values)
CASES = [
    ("scoring_calibration", "outcome_stage", ["lead", "won", 3], ["mql", "customer"]),
    ("scoring_calibration", "decision", ["bogus", "", "AT_MQL"], list(checks.DECISIONS)),
    ("scoring_calibration", "decision_days", [-1, float("nan")], [0, 7]),
    ("scoring_calibration", "n_bands", [0, 1, -5], [2, 10]),
    ("scoring_calibration", "sdr_capacity_per_week", [0, -1], [1, 60]),
    ("scoring_calibration", "follow_up_days", [0], [1, 14]),
    ("scoring_calibration", "fast_days", [-1], [0, 30]),
    ("scoring_calibration", "engaged_min_events", [0], [1, 25]),
    ("scoring_calibration", "target_industries", [[""], [1], "software"], [[], ["software"]]),
    ("scoring_calibration", "competitor_domains", [[" "], [None]], [["rival.example"]]),
    ("scoring_calibration", "competitor_companies", [[3]], [[], ["Rival Inc"]]),
    ("scoring_calibration", "horizon_days", [0, -30], [1, 90]),
    ("scoring_calibration", "landmark_days", [[], [30, 7], [-1, 7]], [[7], [7, 30, 90, 180, 365]]),
    ("scoring_calibration", "landmark_max_leads", [-1], [0, 20000]),
    ("scoring_calibration", "model_profile_fields", [[""], [3]], [[], ["industry", "source"]]),
    ("scoring_calibration", "feature_windows", [[], [90, 30]], [[30], [7, 30, 90]]),
    ("scoring_calibration", "model_exclude_features", [[" "]], [[], ["points:", "never_touched"]]),
    ("scoring_calibration", "queue_chunk_leads", [0], [1, 200000]),
    ("cohort_conversion", "cohort_stage", ["lead", "nope"], ["sql", "opportunity"]),
    ("cohort_conversion", "cohort_freq", ["Y", "m", ""], ["M", "Q", "W"]),
    ("cohort_conversion", "max_age_months", [-1], [0, 12]),
    ("cohort_conversion", "survival_max_days", [0], [1, 180]),
    (
        "cohort_conversion",
        "hazard_buckets",
        [[], [0, 30, 30], [30, 0], [-1, 30], ["a", 30]],
        [[0], [0, 30, 60, 90, 180, 365], [7, 14.5]],
    ),
    ("cohort_conversion", "value_split", ["soon", "2025-13-01"], ["", "2025-10-01"]),
    ("cohort_conversion", "value_cut", [-0.5], [0.0, 100]),
    ("cohort_conversion", "frequency_cut", [-1], [0.0, 0.5]),
    ("nurture_roi", "cost_basis", ["cheap", ""], ["lead_generation", "fully_loaded"]),
    ("ab_testing", "experiment_ids", [["nope"], ["exp-a", "x"]], [[], ["exp-a", "exp-b"]]),
    ("ab_testing", "on_problem", ["ignore"], ["exclude", "error"]),
    ("ab_testing", "inflow_weeks", [0], [1, 12]),
    ("ab_testing", "eligible_share", [0, 1.01, -0.2], [1, 1.0, 0.25]),
    ("ab_testing", "design_baseline", [0, 1, 1.5], [0.08]),
    ("ab_testing", "design_mde", [0, -0.02, 1], [0.02]),
    ("ab_testing", "design_power", [0, 1], [0.8]),
    ("ab_testing", "design_alpha", [0, 1, 1.2], [0.05]),
    ("ab_testing", "design_window_days", [-1], [0, 30]),
]


@pytest.mark.parametrize(("notebook", "name", "bad", "good"), CASES)
def test_rule_refuses_and_accepts(notebook: str, name: str, bad: list, good: list) -> None:
    for value in bad:
        (issue,) = problems(notebook, **{name: value})
        assert issue.level == "error"
        assert issue.message.startswith(f"{notebook}.{name} must be ")
        assert repr(value) in issue.message and f"{name}:" in issue.fix
    for value in good:
        assert problems(notebook, **{name: value}) == [], value


def test_every_rule_is_tested_and_names_a_declared_parameter() -> None:
    tested = {(nb, name) for nb, name, _, _ in CASES}
    for nb, rules in checks.PARAM_RULES.items():
        declared = nbp.declared_parameters(NB_DIR / f"{nb}.ipynb")
        for name in rules:
            assert name in declared, f"{nb}.{name} is not declared by the notebook"
            assert (nb, name) in tested or name == "primary_metric", (nb, name)


def test_every_numeric_or_choice_parameter_has_a_rule() -> None:
    """Read each notebook's parameters cell: a number or a parameter documented as a choice
    ("one of", "or") has a range rule, and every default passes its rules."""
    for nb in config.NOTEBOOKS:
        declared = nbp.declared_parameters(NB_DIR / f"{nb}.ipynb")
        own = {k: v for k, v in declared.items() if k not in nbp.STANDARD_PARAMETERS}
        for name, info in own.items():
            if info.get("inferred_type_name") in ("int", "float"):
                assert name in checks.PARAM_RULES[nb], f"{nb}.{name} has no range rule"
        defaults = checks.effective_values(own, {})
        assert checks.check_values(nb, defaults, PARAMS) == [], nb


def test_choice_lists_match_the_modules() -> None:
    from leadnb.funnel import cohorts
    from leadnb.scoring import calibration

    assert tuple(checks.DECISIONS) == tuple(calibration.DECISIONS)
    assert tuple(checks.COHORT_FREQS) == tuple(cohorts.FREQS)


def test_primary_metric_must_restate_each_read_experiment() -> None:
    assert problems("ab_testing", primary_metric="") == []
    assert problems("ab_testing", primary_metric="sql@30", experiment_ids=["exp-a"]) == []
    (issue,) = problems("ab_testing", primary_metric="sql@30")  # exp-b registered mql@14
    assert "exp-b" in issue.message and "reached mql within 14 days" in issue.message
    (issue,) = problems("ab_testing", primary_metric="sql@30", experiment_ids=["exp-b"])
    assert "exp-b" in issue.message
    (issue,) = problems("ab_testing", primary_metric="sql@soon", experiment_ids=["exp-a"])
    assert "window_days must be int" in issue.message


def test_cross_rules() -> None:
    ok = dict(design_baseline=0.08, design_mde=0.02, design_alpha=0.05, design_power=0.8)
    assert problems("ab_testing", **ok) == []
    (issue,) = problems("ab_testing", **{**ok, "design_baseline": 0.9, "design_mde": 0.1})
    assert "design_baseline + design_mde must be below 1" in issue.message
    (issue,) = problems("ab_testing", **{**ok, "design_alpha": 0.5, "design_power": 0.4})
    assert "design_power must be above design_alpha" in issue.message
    # a value already refused on its own is not reported again in a pair
    issues = problems("ab_testing", **{**ok, "design_baseline": 1.5})
    assert [i.message.split(" must")[0] for i in issues] == ["ab_testing.design_baseline"]


def test_default_values_are_named_as_defaults() -> None:
    issues = checks.check_values("scoring_calibration", {"n_bands": 1}, PARAMS)
    assert "(the notebook's default)" in issues[0].message


# ------------------------------------------------------------------ files the notebooks name


def test_abm_file_must_exist_and_have_account_id(tmp_path: Path) -> None:
    nb = "scoring_calibration"
    explicit = ["abm_accounts_file"]

    def check(value: str) -> list[Issue]:
        return checks.check_files(nb, {"abm_accounts_file": value}, tmp_path, explicit=explicit)

    assert check("") == []
    (issue,) = check("abm.csv")
    assert issue.level == "error" and str(tmp_path / "abm.csv") in issue.message
    assert 'abm_accounts_file: ""' in issue.fix and issue.column == "account_id"
    (tmp_path / "abm.csv").write_text("company,domain\nAcme,acme.example\n")
    (issue,) = check("abm.csv")
    assert "account_id" in issue.message
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "abm.csv").write_text("account_id,name\nA1,Acme\n")
    assert check("sub/abm.csv") == []  # relative to the params file's folder
    # the notebook's own default pointing nowhere: a warning naming it as the default
    (issue,) = checks.check_files(nb, {"abm_accounts_file": "x.csv"}, tmp_path)
    assert issue.level == "warning" and "the notebook's default" in issue.message


# ------------------------------------------------------------------ columns


def leads_frame(n: int = 5, **extra) -> pd.DataFrame:
    return pd.DataFrame({"lead_id": [f"L{i}" for i in range(n)], **extra})


def test_missing_created_at_warns_naming_the_sections() -> None:
    tables = {"leads": leads_frame(converted=[0, 1, 0, 0, 1])}
    issues = checks.check_inputs("scoring_calibration", tables, PARAMS)
    (warn,) = issues
    assert warn.level == "warning" and warn.column == "created_at"
    assert "threshold sweep" in warn.message and "Not computed" in warn.message
    created = pd.Series(pd.date_range("2025-01-01", periods=5), dtype="datetime64[us]")
    tables = {"leads": leads_frame(created_at=created, converted=[0, 1, 0, 0, 1])}
    assert checks.check_inputs("scoring_calibration", tables, PARAMS) == []


def test_all_blank_created_at_counts_as_missing() -> None:
    blank = pd.Series([pd.NaT] * 5, dtype="datetime64[us]")
    tables = {"leads": leads_frame(created_at=blank), "stages": pd.DataFrame()}
    issues = checks.check_inputs("cohort_conversion", tables, PARAMS)
    assert [i.column for i in issues] == ["created_at"] and "cohorts" in issues[0].message


def test_no_stage_history_warns() -> None:
    created = pd.Series(pd.date_range("2025-01-01", periods=5), dtype="datetime64[us]")
    issues = checks.check_inputs(
        "cohort_conversion", {"leads": leads_frame(created_at=created)}, PARAMS
    )
    (warn,) = issues
    assert "no stage history" in warn.message and "data.stages" in warn.fix
    wide = leads_frame(created_at=created, sql_at=created)
    assert checks.check_inputs("cohort_conversion", {"leads": wide}, PARAMS) == []


def test_required_columns_and_tables() -> None:
    issues = checks.check_inputs("ab_testing", {"leads": pd.DataFrame({"id": [1]})}, PARAMS)
    assert any(i.level == "error" and i.column == "lead_id" for i in issues)
    issues = checks.check_inputs("scoring_calibration", {}, PARAMS)
    assert [(i.level, i.table) for i in issues] == [("error", "leads")]
    assert checks.check_inputs("nurture_roi", {}, PARAMS) == []  # the calculator runs alone


# ------------------------------------------------------------------ the analysis date


def dated_tables() -> dict[str, pd.DataFrame]:
    created = pd.Series(
        pd.to_datetime(["2025-01-01 09:00", "2025-03-01 00:00"]), dtype="datetime64[us]"
    )
    ts = pd.Series(pd.to_datetime(["2025-02-01 00:00", "2026-06-29 18:00"]), dtype="datetime64[us]")
    return {
        "leads": leads_frame(2, created_at=created),
        "events": pd.DataFrame({"lead_id": ["L0", "L1"], "ts": ts}),
    }


@pytest.mark.parametrize(
    ("as_of", "ok"),
    [
        ("2025-01-01", True),  # the first lead's creation day
        ("2024-12-31", False),
        ("0001-01-01", False),
        ("2027-06-30", True),  # 366 days after the last date (2026-06-29)
        ("2027-07-01", False),
        ("9999-12-31", False),
        ("2026-03-15", True),
    ],
)
def test_as_of_within_the_data_and_the_margin(as_of: str, ok: bool) -> None:
    issues = checks.check_as_of(pd.Timestamp(as_of), dated_tables(), file="p.yaml")
    assert (issues == []) is ok
    if not ok:
        (issue,) = issues
        assert as_of in issue.message and "2025-01-01" in issue.message
        assert "2026-06-29" in issue.message
        assert issue.fix.startswith("pass --as-of between 2025-01-01 and 2027-06-30")


def test_data_range_reads_every_date_column() -> None:
    first, last, where = checks.data_range(dated_tables())
    assert (first, last, where) == (
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2026-06-29"),
        "events.ts",
    )
    assert checks.data_range({"leads": leads_frame(2)}) == (None, None, None)
    assert checks.check_as_of(pd.Timestamp("0001-01-01"), {"leads": leads_frame(2)}) == []


# ------------------------------------------------------------------ through leadnb validate


def small_dataset(folder: Path, n: int = 60) -> None:
    rng = np.random.default_rng(5)
    ids = [f"L{i:03d}" for i in range(n)]
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    pd.DataFrame({"lead_id": ids, "created_at": created}).to_csv(
        folder / "leads.csv", index=False, date_format="%Y-%m-%d"
    )
    pd.DataFrame(
        {"lead_id": ids, "stage": "sql", "entered_at": created + pd.Timedelta(days=20)}
    ).to_csv(folder / "stages.csv", index=False, date_format="%Y-%m-%d")


def base_params(**sections) -> dict:
    return {
        "run": {"as_of": "2025-12-31"},
        "data": {"leads": "leads.csv", "stages": "stages.csv"},
        "funnel": {"stages": STAGES, "lost_stage": "lost"},
        **sections,
    }


def test_validate_reports_every_bad_notebook_value(tmp_path: Path, write_params, capsys) -> None:
    small_dataset(tmp_path)
    path = write_params(
        base_params(
            scoring_calibration={
                "n_bands": 0,
                "decision": "bogus",
                "n_band": 3,
                "follow_up_days": "weekly",
                "abm_accounts_file": "missing.csv",
            },
            cohort_conversion={"hazard_buckets": [0, 60, 30]},
            ab_testing={"design_baseline": 0.95, "design_mde": 0.1},
        )
    )
    report, params, _ = validate_params_file(path)
    assert params is not None
    text = "\n".join(i.message for i in report.errors)
    assert "scoring_calibration.n_bands must be a number >= 2, got 0" in text
    assert "scoring_calibration.decision must be one of at_mql" in text
    assert "unknown parameter(s) for notebook scoring_calibration: n_band" in text
    assert "did you mean n_bands?" in text
    assert "scoring_calibration.follow_up_days must be int" in text
    assert "abm_accounts_file: ABM account list not found" in text
    assert "cohort_conversion.hazard_buckets" in text
    assert "design_baseline + design_mde" in text
    assert len(report.errors) == 7
    assert all(i.file for i in report.errors) and all(i.fix for i in report.errors)

    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "FAILED: 7 error(s)" in out.out


def test_validate_checks_only_the_requested_notebooks(tmp_path: Path, write_params) -> None:
    small_dataset(tmp_path)
    path = write_params(base_params(nurture_roi={"cost_basis": "cheap"}))
    report, _, _ = validate_params_file(path, notebooks=["scoring_calibration"])
    assert report.ok
    report, _, _ = validate_params_file(path, notebooks=["nurture_roi"], notebook_dir=NB_DIR)
    (issue,) = report.errors
    assert issue.message.startswith("nurture_roi.cost_basis must be one of")
    report, _, _ = validate_params_file(path, notebooks=["../../victim", "nope"])
    assert [i.message.split(" not found")[0] for i in report.errors] == [
        "notebook '../../victim'",
        "notebook 'nope'",
    ]
    assert "scoring_calibration" in report.errors[0].fix


def test_validate_refuses_an_as_of_outside_the_data(tmp_path: Path, write_params) -> None:
    small_dataset(tmp_path)
    path = write_params(base_params())
    for as_of in ("0001-01-01", "9999-12-31"):
        report, params, _ = validate_params_file(path, as_of=as_of)
        msgs = [i.message for i in report.errors]
        assert len(msgs) == 1 and msgs[0].startswith(f"the analysis date {as_of} is"), msgs
        assert report.errors[0].fix.startswith("pass --as-of between 2025-01-")
    assert validate_params_file(path, as_of="2025-06-30")[0].ok


def test_validate_warns_about_missing_created_at(tmp_path: Path, write_params) -> None:
    pd.DataFrame({"lead_id": ["a", "b"], "converted": [0, 1]}).to_csv(
        tmp_path / "leads.csv", index=False
    )
    path = write_params({"run": {"as_of": "2026-06-30"}, "data": {"leads": "leads.csv"}})
    report, _, _ = validate_params_file(path)
    assert report.ok
    created = [w for w in report.warnings if w.column == "created_at"]
    assert len(created) == 4  # one per notebook, each naming its sections
    assert any("threshold sweep" in w.message for w in created)


def test_demo_params_validate_clean(capsys) -> None:
    assert main(["validate", str(ROOT / "params" / "demo.yaml")]) == 0
    assert "OK: no errors" in capsys.readouterr().out


def test_sample_params_validate_clean(tmp_path: Path, capsys) -> None:
    from leadnb.data.demo import write_sample

    write_sample(tmp_path / "s", n_leads=300)
    assert main(["validate", str(tmp_path / "s" / "params.yaml")]) == 0
    out = capsys.readouterr().out
    assert "OK: no errors" in out
