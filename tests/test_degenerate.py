"""Degenerate but real data: every notebook completes and says what it could not compute (issue 13).

Each shape is built in code from a small sample: nobody converts, everybody converts, an
experiment with one arm, a nurture programme three weeks old, leads without ``created_at``, no
stage history, no costs, no events, a Parquet leads file with a non-unique stored index. All four
notebooks run on each shape (one warm kernel per notebook, ``tests/warm_kernel.py``) and must
finish; where a section cannot be computed, the report says so in one sentence naming the section
(``Not computed (<section>): ...``), and the sentences expected for each shape are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from leadnb.data.demo import write_sample
from leadnb.data.params import NOTEBOOKS
from tests.warm_kernel import output_text, warm

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-06-30"
EXPERIMENT = "nurture-cadence-2026q1"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("degenerate") / "sample"
    write_sample(out, n_leads=1000, seed=5)
    return out


def _params(base: Path) -> dict[str, Any]:
    raw = yaml.safe_load((base / "params.yaml").read_text(encoding="utf-8"))
    for entry in raw["data"].values():
        entry["source"] = str(base / entry["source"])
    raw["scoring"]["rules"] = str(base / raw["scoring"]["rules"])
    nb = raw.setdefault("scoring_calibration", {})
    if "abm_accounts_file" in nb:
        nb["abm_accounts_file"] = str(base / nb["abm_accounts_file"])
    return raw


def no_conversions(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    stages = pd.read_csv(base / "stages.csv")
    stages = stages[stages["stage"].isin(["Lead", "Closed Lost"])]
    stages.to_csv(folder / "stages.csv", index=False)
    raw["data"]["stages"]["source"] = str(folder / "stages.csv")


def all_converted(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    stages = pd.read_csv(base / "stages.csv")
    leads = pd.read_csv(base / "leads.csv", usecols=["lead_id", "created_at"])
    stages = stages[stages["stage"] != "Closed Lost"]
    created = pd.to_datetime(leads["created_at"])
    extra = []
    for stage, days in (("Marketing Qualified", 1), ("Sales Qualified", 2)):
        have = set(stages.loc[stages["stage"] == stage, "lead_id"])
        miss = ~leads["lead_id"].isin(have)
        when = (created[miss] + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d %H:%M:%S")
        extra.append(
            pd.DataFrame(
                {"lead_id": leads.loc[miss, "lead_id"], "stage": stage, "entered_at": when}
            )
        )
    pd.concat([stages, *extra], ignore_index=True).to_csv(folder / "stages.csv", index=False)
    raw["data"]["stages"]["source"] = str(folder / "stages.csv")


def one_arm(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    asg = pd.read_csv(base / "assignments.csv")
    asg = asg[asg["variant"] == "monthly_newsletter"]
    asg.to_csv(folder / "assignments.csv", index=False)
    raw["data"]["assignments"]["source"] = str(folder / "assignments.csv")


def young_programme(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    raw["roi"]["nurture_start"] = "2026-06-09"


def no_created_at(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    leads = pd.read_csv(base / "leads.csv").drop(columns=["created_at"])
    leads.to_csv(folder / "leads.csv", index=False)
    raw["data"]["leads"]["source"] = str(folder / "leads.csv")


def no_stages(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    del raw["data"]["stages"]


def no_costs(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    del raw["data"]["costs"]


def no_events(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    del raw["data"]["events"]


def parquet_duplicate_index(base: Path, folder: Path, raw: dict[str, Any]) -> None:
    leads = pd.read_csv(base / "leads.csv", dtype=str)
    leads.index = [i // 2 for i in range(len(leads))]  # a stored index with repeats
    leads.to_parquet(folder / "leads.parquet")
    raw["data"]["leads"]["source"] = str(folder / "leads.parquet")


SHAPES: dict[str, Callable[[Path, Path, dict[str, Any]], None]] = {
    "no_conversions": no_conversions,
    "all_converted": all_converted,
    "one_arm": one_arm,
    "young_programme": young_programme,
    "no_created_at": no_created_at,
    "no_stages": no_stages,
    "no_costs": no_costs,
    "no_events": no_events,
    "parquet_duplicate_index": parquet_duplicate_index,
}

# (shape, notebook) -> a pattern the report must print: the section it skipped and why
EXPECTED = {
    ("no_conversions", "scoring_calibration"): r"Not computed \(.+\): .*(convert|conversion)",
    ("all_converted", "scoring_calibration"): r"Not computed \(.+\): .*(convert|conversion)",
    ("one_arm", "ab_testing"): r"weekly_digest",
    ("young_programme", "nurture_roi"): r"Not computed \(.+\): .*month",
    ("no_created_at", "scoring_calibration"): r"Not computed \(.+\): .*created_at",
    ("no_created_at", "cohort_conversion"): r"created_at",
    ("no_costs", "nurture_roi"): r"costs",
    # the account experiment registers a covariate counted from the events table
    ("no_events", "ab_testing"): r"Not computed \(Readout of sdr-call-accounts-2026q1\): .*events",
}


@pytest.fixture(scope="module")
def shapes(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made = {}
    for name, build in SHAPES.items():
        folder = tmp_path_factory.mktemp(name)
        raw = _params(base)
        build(base, folder, raw)
        path = folder / "params.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        made[name] = path
    return made


def test_each_shape_differs_from_the_sample(shapes: dict[str, Path], base: Path) -> None:
    original = (base / "params.yaml").read_text(encoding="utf-8")
    for name, path in shapes.items():
        text = path.read_text(encoding="utf-8")
        assert text != original, name


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_completes_on_every_shape(
    notebook: str, shapes: dict[str, Path], tmp_path: Path
) -> None:
    with warm(REPO / "notebooks" / f"{notebook}.ipynb") as nb:
        for name, params in shapes.items():
            out = tmp_path / name
            executed = nb.run(
                {
                    "params_path": str(params),
                    "as_of": AS_OF,
                    "out_dir": str(out),
                    "interactive": False,
                }
            )
            assert (out / "metrics.json").is_file(), (notebook, name)
            text = output_text(executed)
            for line in re.findall(r"^Not computed .*$", text, flags=re.M):
                assert re.fullmatch(r"Not computed \([^)]+\): [A-Z].+\.", line), (name, line)
            pattern = EXPECTED.get((name, notebook))
            if pattern:
                assert re.search(pattern, text), (notebook, name, text[-3000:])
