"""leadnb.experiments: registrations, assignment checks and the cumulative experiment log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from leadnb.errors import DataError, ParamsError
from leadnb.experiments import (
    LOG_COLUMNS,
    ExperimentsConfig,
    Metric,
    Registration,
    append_log,
    describe,
    load_registration,
    log_path,
    prepare_assignments,
    read_log,
    run_label,
)

REPO = Path(__file__).resolve().parents[1]


def reg_dict(**over: Any) -> dict[str, Any]:
    d = {
        "id": "exp-a",
        "hypothesis": "weekly beats monthly",
        "variable": "cadence",
        "control": "monthly",
        "variants": ["weekly"],
        "allocation": {"monthly": 0.5, "weekly": 0.5},
        "primary_metric": {"stage": "sql", "window_days": 30},
        "guardrail_metrics": [{"stage": "lost", "window_days": 30, "worse_if": "higher"}],
        "target_effect": 0.02,
        "alpha": 0.05,
        "power": 0.8,
        "planned_n_per_arm": 100,
        "start": "2026-01-05",
        "end": "2026-03-29",
        "decision_rule": "ship if p < 0.05",
    }
    d.update(over)
    return d


def test_demo_registration_file_parses() -> None:
    demo = yaml.safe_load((REPO / "params" / "demo.yaml").read_text())
    cfg = ExperimentsConfig.from_dict(demo["experiments"], REPO / "params")
    reg = cfg.get("nurture-cadence-2026q1")
    assert reg.control == "monthly_newsletter"
    assert reg.variants == ("weekly_digest",)
    assert reg.allocation == {"monthly_newsletter": 0.5, "weekly_digest": 0.5}
    assert reg.primary_metric == Metric(stage="sql", window_days=30)
    assert reg.start == pd.Timestamp("2026-01-05")
    assert reg.end == pd.Timestamp("2026-03-29")
    assert reg.file is not None and reg.file.endswith("nurture-cadence-2026q1.yaml")


def test_defaults_and_inline_registrations(tmp_path: Path) -> None:
    assert ExperimentsConfig.from_dict({}, tmp_path) == ExperimentsConfig()
    d = reg_dict()
    del d["allocation"], d["alpha"], d["power"], d["end"], d["planned_n_per_arm"]
    cfg = ExperimentsConfig.from_dict({"registrations": [d], "log": "logs/x.csv"}, tmp_path)
    reg = cfg.registrations[0]
    assert reg.allocation == {"monthly": 0.5, "weekly": 0.5}
    assert (reg.alpha, reg.power, reg.end, reg.planned_n()) == (0.05, 0.8, None, None)
    assert cfg.log == (tmp_path / "logs" / "x.csv").resolve()


def test_planned_n_scales_with_allocation() -> None:
    reg = Registration.from_dict(
        reg_dict(variants=["w", "d"], allocation={"monthly": 0.25, "w": 0.5, "d": 0.25})
    )
    assert reg.planned_n() == {"monthly": 100, "w": 200, "d": 100}
    assert reg.arms == ("monthly", "w", "d")


def test_metric_short_forms() -> None:
    assert Metric.parse("sql@30", "m") == Metric(stage="sql", window_days=30)
    assert Metric.parse("outcome", "m") == Metric(outcome="outcome")
    assert Metric(stage="sql", window_days=30).label == "reached sql within 30 days"
    assert Metric(stage="sql", window_days=30).name == "sql_30d"


@pytest.mark.parametrize(
    ("over", "msg"),
    [
        ({"colour": "red"}, "unknown key"),
        ({"variable": ["cadence", "subject line"]}, "one variable at a time"),
        ({"variants": ["monthly"]}, "also listed as a variant"),
        ({"variants": []}, "variants is empty"),
        ({"allocation": {"monthly": 0.5, "weekly": 0.6}}, "add up to 1.1"),
        ({"allocation": {"monthly": 1.0}}, "missing key"),
        ({"primary_metric": {"stage": "sql"}}, "needs 'stage' and 'window_days'"),
        ({"primary_metric": {"stage": "sql", "window_days": "30"}}, "window_days must be int"),
        ({"primary_metric": {"outcome": "y", "stage": "sql"}}, "both 'outcome'"),
        (
            {"guardrail_metrics": [{"stage": "lost", "window_days": 30, "worse_if": "up"}]},
            "worse_if",
        ),
        ({"target_effect": 0}, "target_effect"),
        ({"power": 0.01}, "power"),
        ({"end": "2025-12-01"}, "before start"),
        ({"start": "5 Jan 2026"}, "YYYY-MM-DD"),
        ({"planned_n_per_arm": -5}, "planned_n_per_arm"),
        ({"hypothesis": ""}, "hypothesis must be a non-empty text"),
    ],
)
def test_registration_errors_name_file_and_id(tmp_path: Path, over: dict, msg: str) -> None:
    f = tmp_path / "exp-a.yaml"
    f.write_text(yaml.safe_dump(reg_dict(**over)))
    with pytest.raises(ParamsError, match=msg) as info:
        load_registration(f)
    text = str(info.value)
    assert str(f) in text
    assert "exp-a" in text


def test_missing_required_key_names_the_registration(tmp_path: Path) -> None:
    d = reg_dict()
    del d["control"]
    with pytest.raises(ParamsError, match="missing key.*control") as info:
        ExperimentsConfig.from_dict({"registrations": [d]}, tmp_path, file="p.yaml")
    assert "experiment 'exp-a'" in str(info.value)
    assert "p.yaml" in str(info.value)


def test_registry_problems(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="registry folder not found"):
        ExperimentsConfig.from_dict({"registry": "nope"}, tmp_path)
    reg = tmp_path / "reg"
    reg.mkdir()
    (reg / "a.yaml").write_text(yaml.safe_dump(reg_dict()))
    with pytest.raises(ParamsError, match="registered twice"):
        ExperimentsConfig.from_dict({"registry": "reg", "registrations": [reg_dict()]}, tmp_path)
    (reg / "b.yml").write_text(yaml.safe_dump([reg_dict(id="b")]))
    with pytest.raises(ParamsError, match="one experiment") as info:
        ExperimentsConfig.from_dict({"registry": "reg"}, tmp_path)
    assert "b.yml" in str(info.value)
    (reg / "b.yml").write_text("id: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        ExperimentsConfig.from_dict({"registry": "reg"}, tmp_path)
    (reg / "b.yml").write_text(yaml.safe_dump(reg_dict(id="b")))
    cfg = ExperimentsConfig.from_dict({"registry": "reg"}, tmp_path)
    assert cfg.ids == ["exp-a", "b"]
    with pytest.raises(ParamsError, match="no registration for experiment 'zzz'"):
        cfg.get("zzz")


def _asg() -> pd.DataFrame:
    rows = [
        ("L1", "exp-a", "monthly", "2026-01-10"),
        ("L2", "exp-a", "weekly", "2026-01-10"),
        ("L3", "exp-a", "weekly", "2026-01-11"),
        ("L3", "exp-a", "monthly", "2026-01-12"),  # L3 in two variants
        ("L4", "exp-a", "biweekly", "2026-01-12"),  # not registered
        ("L5", "exp-a", "weekly", "2026-07-02"),  # after as_of
        ("L6", "exp-a", "monthly", "2025-12-01"),  # before start
        ("L7", "exp-a", "monthly", "2026-01-15"),
        ("L7", "exp-a", "monthly", "2026-01-20"),  # repeated row
        ("L8", "exp-b", "x", "2026-01-15"),  # another experiment: ignored
    ]
    df = pd.DataFrame(rows, columns=["lead_id", "experiment_id", "variant", "assigned_at"])
    df["assigned_at"] = pd.to_datetime(df["assigned_at"]).astype("datetime64[us]")
    return df


def test_prepare_assignments_exclusion_table() -> None:
    reg = Registration.from_dict(reg_dict())
    clean, excl = prepare_assignments(_asg(), reg, pd.Timestamp("2026-06-30"))
    assert sorted(clean["lead_id"]) == ["L1", "L2", "L7"]
    assert clean.loc[clean["lead_id"] == "L7", "assigned_at"].iloc[0] == pd.Timestamp("2026-01-15")
    got = {(r.reason, r.variant): (r.rows, r.leads) for r in excl.itertuples()}
    assert got == {
        ("lead in more than one variant", "weekly"): (1, 1),
        ("lead in more than one variant", "monthly"): (1, 1),
        ("variant not in the registration", "biweekly"): (1, 1),
        ("assigned after as_of", "weekly"): (1, 1),
        ("assigned outside the registered start..end dates", "monthly"): (1, 1),
        ("repeated assignment row", "monthly"): (1, 1),
    }
    assert set(excl["experiment_id"]) == {"exp-a"}
    # rows in = rows kept + rows excluded: nothing disappears silently
    assert len(clean) + excl["rows"].sum() == (_asg()["experiment_id"] == "exp-a").sum()


def test_prepare_assignments_error_mode_and_missing_dates() -> None:
    reg = Registration.from_dict(reg_dict())
    with pytest.raises(DataError, match="cannot be analysed") as info:
        prepare_assignments(_asg(), reg, pd.Timestamp("2026-06-30"), on_problem="error")
    assert "lead in more than one variant: 2" in str(info.value)
    with pytest.raises(DataError, match="no assigned_at column"):
        prepare_assignments(_asg().drop(columns="assigned_at"), reg, pd.Timestamp("2026-06-30"))
    # an outcome-column experiment does not need dates
    reg_o = Registration.from_dict(
        reg_dict(primary_metric={"outcome": "outcome"}, guardrail_metrics=[])
    )
    df = _asg().drop(columns="assigned_at").assign(outcome=1.0)
    clean, excl = prepare_assignments(df, reg_o, pd.Timestamp("2026-06-30"))
    assert set(excl["reason"]) == {
        "variant not in the registration",
        "lead in more than one variant",
        "repeated assignment row",
    }


def test_append_log_dedupes_by_experiment_as_of_run(tmp_path: Path) -> None:
    path = tmp_path / "out" / "experiment_log.csv"

    def rows(run: str, as_of: str, diff: float) -> pd.DataFrame:
        return pd.DataFrame(
            {"experiment_id": ["exp-a"], "run": [run], "as_of": [as_of], "diff": [diff]}
        )

    log = append_log(path, rows("r1", "2026-06-30", 0.01))
    assert len(log) == 1 and list(log.columns[: len(LOG_COLUMNS)]) == LOG_COLUMNS
    log = append_log(path, rows("r1", "2026-06-30", 0.02))  # same readout re-run: replaced
    assert len(log) == 1 and log["diff"].iloc[0] == 0.02
    log = append_log(path, rows("r2", "2026-06-30", 0.03))  # new run: appended
    log = append_log(path, rows("r2", "2026-07-31", 0.04))  # new date: appended
    assert list(log["diff"]) == [0.02, 0.03, 0.04]
    assert read_log(path)["diff"].tolist() == [0.02, 0.03, 0.04]
    assert len(append_log(None, rows("r9", "2026-06-30", 0.5))) == 1
    assert list(read_log(tmp_path / "none.csv").columns) == LOG_COLUMNS


def test_log_path_default_is_next_to_the_run_folders(tmp_path: Path) -> None:
    out_dir = tmp_path / "outputs" / "20260630-demo" / "ab_testing"
    assert log_path(None, out_dir) == (tmp_path / "outputs" / "experiment_log.csv").resolve()
    assert log_path(ExperimentsConfig(), "") is None
    cfg = ExperimentsConfig(log=tmp_path / "x.csv")
    assert log_path(cfg, out_dir) == tmp_path / "x.csv"


def test_describe_and_run_label(tmp_path: Path) -> None:
    reg = Registration.from_dict(reg_dict())
    text = describe(reg)
    assert "**One variable changed:** cadence" in text
    assert "monthly 50%, weekly 50% (control: monthly)" in text
    assert "+2.0 percentage points" in text and "reached lost within 30 days" in text
    assert run_label("") == "interactive"
    assert (
        run_label(tmp_path / ".tmp-20260630-101010-demo" / "ab_testing") == "20260630-101010-demo"
    )
    assert run_label(tmp_path / "20260630-101010-demo" / "ab_testing") == "20260630-101010-demo"
