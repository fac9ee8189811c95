"""leadnb.experiments.registration, .assignments and .log: registrations, assignment checks, the log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.experiments.assignments import (
    prepare_assignments,
    unregistered,
    unregistered_sentence,
)
from leadnb.experiments.log import (
    LOG_COLUMNS,
    LOG_KEY,
    append_log,
    log_path,
    merged_log,
    read_log,
    read_log_rows,
    run_label,
)
from leadnb.experiments.registration import (
    ExperimentsConfig,
    Metric,
    Registration,
    describe,
    load_registration,
    registration_fingerprint,
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
    with pytest.raises(NotEnoughData, match="no assigned_at column") as info:
        prepare_assignments(_asg().drop(columns="assigned_at"), reg, pd.Timestamp("2026-06-30"))
    assert info.value.sentence().endswith("primary_metric: {outcome: outcome}.")
    # a windowed guardrail needs the dates too, even with an outcome-column primary metric
    reg_g = Registration.from_dict(reg_dict(primary_metric={"outcome": "outcome"}))
    with pytest.raises(NotEnoughData, match="reached lost within 30 days from assignment"):
        prepare_assignments(_asg().drop(columns="assigned_at"), reg_g, pd.Timestamp("2026-06-30"))
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


def _rows(run: str, as_of: str, diff: float, registration: str = "fp1", **kw: Any) -> pd.DataFrame:
    d = {
        "experiment_id": ["exp-a"],
        "run": [run],
        "as_of": [as_of],
        "registration": [registration],
        "variant": ["weekly"],
        "n": [100],
        "diff": [diff],
        "interim": [False],
    }
    d.update({k: [v] for k, v in kw.items()})
    return pd.DataFrame(d)


def test_append_log_is_idempotent_on_experiment_as_of_registration(tmp_path: Path) -> None:
    assert LOG_KEY == ("experiment_id", "as_of", "registration")
    path = tmp_path / "out" / "experiment_log.csv"
    log = append_log(path, _rows("r1", "2026-06-30", 0.01))
    assert len(log) == 1 and list(log.columns[: len(LOG_COLUMNS)]) == LOG_COLUMNS
    log = append_log(path, _rows("r2", "2026-06-30", 0.02))  # same date re-run: replaced
    assert len(log) == 1 and log["diff"].iloc[0] == 0.02 and log["run"].iloc[0] == "r2"
    log = append_log(path, _rows("r3", "2026-06-30", 0.03, registration="fp2"))  # edited reg
    log = append_log(path, _rows("r4", "2026-07-31", 0.04))  # new date: appended
    assert list(log["diff"]) == [0.02, 0.03, 0.04]
    back = read_log(path)
    assert back["diff"].tolist() == [0.02, 0.03, 0.04]
    assert back["registration"].tolist() == ["fp1", "fp2", "fp1"]
    assert back["n"].dtype == "Int64" and back["interim"].dtype == "boolean"
    assert len(append_log(None, _rows("r9", "2026-06-30", 0.5))) == 1
    assert list(read_log(tmp_path / "none.csv").columns) == LOG_COLUMNS
    assert not list(path.parent.glob("*.tmp"))  # the temporary file was moved over the log
    assert (path.parent / "experiment_log.csv.lock").exists()


def test_log_text_round_trips_and_is_quoted_against_formulas(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    hostile = [
        '=HYPERLINK("http://evil.example")',
        "'quoted",
        "-1 pts",
        "@x",
        "0123e45",
        "'=already quoted",  # the edge case: must not lose its quote on read-back
        "''@twice",
        "'",
    ]
    for i, text in enumerate(hostile):
        append_log(
            path, _rows("r", f"2026-06-{10 + i}", 0.01, verdict=text, registration="0123e45")
        )
    raw = pd.read_csv(path, dtype="str", keep_default_na=False)["verdict"].tolist()
    assert raw == [
        '\'=HYPERLINK("http://evil.example")',
        "'quoted",  # harmless: written as it is
        "'-1 pts",
        "'@x",
        "0123e45",
        "''=already quoted",
        "'" + "''@twice",
        "'",
    ]
    back = read_log(path)
    assert back["verdict"].tolist() == hostile  # numbers-looking text stays text
    assert back["registration"].tolist() == ["0123e45"] * len(hostile)
    # re-appending the same key still replaces after the round trip
    again = append_log(path, _rows("r", "2026-06-10", 0.9, registration="0123e45"))
    assert len(again) == len(hostile)


def test_run_csv_written_by_the_notebook_reads_back_exactly(tmp_path: Path) -> None:
    """The notebook saves its rows with csv_cells (ctx.save_table(..., raw=True)); the runner
    reads them back with read_log_rows: every text cell, quoted or not, comes back as it was."""
    from leadnb.experiments.log import csv_cells
    from leadnb.safe import neutralise_csv_cells

    texts = ["=1+1", "'=1+1", "''=1+1", "'-x", "'plain", "plain", "@", "'"]
    rows = pd.concat(
        [_rows("r", "2026-06-30", 0.0, variant=f"v{i}", verdict=t) for i, t in enumerate(texts)],
        ignore_index=True,
    ).assign(experiment_id="=exp")
    csv = tmp_path / "experiment_log_rows.csv"
    csv_cells(rows).to_csv(csv, index=False)
    back = read_log_rows(csv)
    assert back["verdict"].tolist() == texts
    assert back["experiment_id"].tolist() == ["=exp"] * len(texts)
    # the safe rule alone is not enough: "'=1+1" and "=1+1" would be written alike
    plain = neutralise_csv_cells(rows)["verdict"].tolist()
    assert plain[0] == plain[1] == "'=1+1"
    assert csv_cells(rows)["verdict"].tolist()[:3] == ["'=1+1", "''=1+1", "'" + "''=1+1"]


def test_merged_log_is_pure_with_append_logs_rule(tmp_path: Path) -> None:
    old = pd.concat([_rows("r1", "2026-06-01", 0.1), _rows("r1", "2026-06-02", 0.2)])
    new = pd.concat(
        [_rows("r2", "2026-06-02", 0.3), _rows("r2", "2026-06-02", 0.3, variant="daily")]
    )
    got = merged_log(old, new)
    assert got[["as_of", "variant", "diff"]].values.tolist() == [
        ["2026-06-01", "weekly", 0.1],
        ["2026-06-02", "weekly", 0.3],
        ["2026-06-02", "daily", 0.3],
    ]
    assert list(tmp_path.iterdir()) == []
    path = tmp_path / "log.csv"
    append_log(path, old)
    pd.testing.assert_frame_equal(append_log(path, new), got)
    assert len(merged_log(read_log(None), new.iloc[:0])) == 0


def test_read_log_rows_strips_one_formula_quote_and_sets_dtypes(tmp_path: Path) -> None:
    csv = tmp_path / "experiment_log_rows.csv"
    csv.write_text(
        "experiment_id,run,as_of,registration,variant,n,n_control,diff,p_value,interim,verdict\n"
        "'=exp,run-1,2026-06-30,00001234,'-weekly,120,118,-0.02,0.5,True,'@x won\n"
        "'plain',run-1,2026-06-30,1e5,''-x,7,,0.01,,False,''\n"
    )
    rows = read_log_rows(csv)
    assert list(rows.columns[: len(LOG_COLUMNS)]) == LOG_COLUMNS
    assert rows["experiment_id"].tolist() == ["=exp", "'plain'"]
    assert rows["variant"].tolist() == ["-weekly", "'-x"]
    assert rows["verdict"].tolist() == ["@x won", "''"]
    assert rows["registration"].tolist() == ["00001234", "1e5"]
    assert rows["as_of"].tolist() == ["2026-06-30"] * 2
    assert rows["n"].tolist() == [120, 7] and rows["n"].dtype == "Int64"
    assert rows["n_control"].isna().tolist() == [False, True]
    assert rows["diff"].tolist() == [-0.02, 0.01] and rows["diff"].dtype == "float64"
    assert rows["interim"].tolist() == [True, False]


_WRITER = """
import sys
import pandas as pd
from leadnb.experiments.log import append_log
path, worker = sys.argv[1], int(sys.argv[2])
for i in range(40):
    append_log(path, pd.DataFrame({"experiment_id": [f"exp-{worker}"], "run": ["r"],
        "as_of": [f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}"], "registration": ["fp"],
        "variant": ["v"], "diff": [worker + i / 100]}))
"""


def test_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "experiment_log.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(w)], env=env)
        for w in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    log = read_log(path)
    assert len(log) == 160
    assert not log.duplicated(list(LOG_KEY)).any()
    want = sorted(w + i / 100 for w in range(4) for i in range(40))
    assert sorted(log["diff"]) == pytest.approx(want)
    assert not list(tmp_path.glob("*.tmp"))


def test_append_log_without_fcntl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl raises ImportError
    path = tmp_path / "log.csv"
    append_log(path, _rows("r1", "2026-06-30", 0.1))
    assert read_log(path)["diff"].tolist() == [0.1]


def test_registration_fingerprint() -> None:
    reg = Registration.from_dict(reg_dict())
    fp = registration_fingerprint(reg)
    assert re.fullmatch(r"[0-9a-f]{12}", fp)
    assert registration_fingerprint(Registration.from_dict(reg_dict())) == fp
    assert registration_fingerprint(replace(reg, file="/elsewhere/exp-a.yaml")) == fp
    for over in (
        {"target_effect": 0.03},
        {"decision_rule": "ship if p < 0.01"},
        {"end": "2026-03-30"},
        {"primary_metric": {"stage": "sql", "window_days": 31}},
    ):
        assert registration_fingerprint(Registration.from_dict(reg_dict(**over))) != fp


def test_unregistered_experiments_are_named_with_the_fix() -> None:
    asg = _asg()  # exp-a (registered) and exp-b (not)
    assert unregistered(asg, ["exp-a"]) == ["exp-b"]
    assert unregistered(asg, ["exp-a", "exp-b"]) == []
    extra = pd.DataFrame(
        {"lead_id": ["Z1", "Z2"], "experiment_id": ["exp-c", None], "variant": "x"}
    ).assign(assigned_at=pd.Timestamp("2026-08-01"))
    both = pd.concat([asg, extra], ignore_index=True)
    assert unregistered(both, ["exp-a"]) == ["exp-b", "exp-c"]
    # an experiment that starts after the analysis date is not in the data yet
    assert unregistered(both, ["exp-a"], pd.Timestamp("2026-06-30")) == ["exp-b"]
    assert unregistered(None, []) == []
    assert unregistered_sentence(["exp-b", "exp-c"]) == (
        "Experiment(s) in the data without a registration: exp-b, exp-c "
        "(add params/experiments/<id>.yaml to read them out)"
    )
    assert unregistered_sentence([]) == ""


def test_log_path_default_is_next_to_the_run_folders(tmp_path: Path) -> None:
    out_dir = tmp_path / "outputs" / "20260630-demo" / "ab_testing"
    assert log_path(None, out_dir) == (tmp_path / "outputs" / "experiment_log.csv").resolve()
    assert log_path(ExperimentsConfig(), "") is None
    cfg = ExperimentsConfig(log=tmp_path / "x.csv")
    assert log_path(cfg, out_dir) == tmp_path / "x.csv"


def test_describe_and_run_label(tmp_path: Path) -> None:
    d = reg_dict(planned_n_per_arm=12500)
    text = describe(Registration.from_dict(d))
    assert "One variable changed: cadence" in text
    assert "*" not in text and "#" not in text  # plain text, not Markdown
    assert text.splitlines()[0] == "Hypothesis: weekly beats monthly"
    assert "Decision rule: ship if p < 0.05" in text
    # every number from its kind: shares as percents, the target in points, alpha as a p-value
    # threshold, counts with separators; stages by their display names
    share = {a: f"{s * 100:.1f}%" for a, s in d["allocation"].items()}
    assert (
        f"Groups: monthly {share['monthly']}, weekly {share['weekly']} (control: monthly)" in text
    )
    assert (
        f"Target: {d['target_effect'] * 100:+.1f} pts; significance level {d['alpha']:.3f}, "
        f"power {d['power'] * 100:.1f}%, {d['planned_n_per_arm']:,} leads planned for the control "
        "group"
    ) in text
    assert "Primary metric: reached SQL within 30 days of assignment" in text
    assert "Guardrails: reached lost within 30 days" in text
    assert "12,500" in text and "50%," not in text and "0.5" not in text
    assert run_label("") == "interactive"
    assert (
        run_label(tmp_path / ".tmp-20260630-101010-demo" / "ab_testing") == "20260630-101010-demo"
    )
    assert run_label(tmp_path / "20260630-101010-demo" / "ab_testing") == "20260630-101010-demo"


# --- the analysis plan of a registration (issue 18): analysis, covariates, unit, segments ---


def test_analysis_plan_defaults_keep_todays_analysis() -> None:
    reg = Registration.from_dict(reg_dict())
    assert (reg.analysis, reg.covariates, reg.unit, reg.segments) == ("fixed", (), "lead", ())
    assert "Analysis plan" not in describe(reg)


def test_analysis_plan_keys_parse() -> None:
    reg = Registration.from_dict(
        reg_dict(
            analysis="sequential",
            unit="account",
            covariates=[" score_at_assignment ", "activity_before"],
            segments="source",  # one name may be written without a list, like variants
        )
    )
    assert reg.analysis == "sequential" and reg.unit == "account"
    assert reg.covariates == ("score_at_assignment", "activity_before")
    assert reg.segments == ("source",)
    assert (
        "Analysis plan: sequential (always-valid, may stop early); randomised by account; "
        "adjusted for score_at_assignment, activity_before; segments source"
    ) in describe(reg)
    sized = reg_dict(analysis="sequential", baseline_rate=0.08)
    del sized["planned_n_per_arm"]  # the baseline is enough: the sequential n is sized from it
    assert Registration.from_dict(sized).planned_n_per_arm is None
    empty = Registration.from_dict(reg_dict(covariates=None, segments=[]))
    assert (empty.covariates, empty.segments) == ((), ())


@pytest.mark.parametrize(
    ("over", "msg"),
    [
        ({"analysis": "bayesian"}, "analysis must be fixed or sequential, got 'bayesian'"),
        ({"analysis": True}, "analysis must be fixed or sequential"),
        (
            {"analysis": "sequential", "planned_n_per_arm": None},
            "analysis: sequential needs planned_n_per_arm",
        ),
        ({"unit": "household"}, "unit must be lead or account, got 'household'"),
        ({"unit": ["account"]}, "unit must be lead or account"),
        ({"covariates": {"score": 1}}, r"covariates must be list"),
        ({"covariates": ["score", 3]}, r"covariates\[1\] must be str"),
        ({"covariates": ["score", "  "]}, r"covariates\[1\] is empty"),
        ({"covariates": ["score", "activity", "score"]}, "covariates lists 'score' twice"),
        ({"segments": ["source", "source"]}, "segments lists 'source' twice"),
        ({"segments": [None]}, r"segments\[0\] must be str"),
        (
            {"primary_metric": {"outcome": "won"}, "covariates": ["score", "won"]},
            "covariates lists 'won', the primary metric's outcome",
        ),
    ],
)
def test_analysis_plan_errors_name_file_and_id(tmp_path: Path, over: dict, msg: str) -> None:
    f = tmp_path / "exp-a.yaml"
    f.write_text(yaml.safe_dump(reg_dict(**over)))
    with pytest.raises(ParamsError, match=msg) as info:
        load_registration(f)
    text = str(info.value)
    assert str(f) in text
    assert "exp-a" in text


def test_analysis_plan_in_inline_registrations(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="unit must be lead or account") as info:
        ExperimentsConfig.from_dict(
            {"registrations": [reg_dict(unit="team")]}, tmp_path, file="p.yaml"
        )
    assert "experiment 'exp-a'" in str(info.value) and "p.yaml" in str(info.value)


def test_fingerprint_unchanged_by_the_analysis_plan_defaults() -> None:
    # c0d196dd92fe is reg_dict()'s fingerprint computed by registration.py before the plan keys
    # existed (commit b64f288): the log keeps matching readouts of registrations written then
    reg = Registration.from_dict(reg_dict())
    assert registration_fingerprint(reg) == "c0d196dd92fe"
    spelled = reg_dict(analysis="fixed", unit="lead", covariates=[], segments=[])
    assert registration_fingerprint(Registration.from_dict(spelled)) == "c0d196dd92fe"
    for over in (
        {"analysis": "sequential"},
        {"unit": "account"},
        {"covariates": ["score"]},
        {"segments": ["source"]},
    ):
        assert registration_fingerprint(Registration.from_dict(reg_dict(**over))) != (
            "c0d196dd92fe"
        )
