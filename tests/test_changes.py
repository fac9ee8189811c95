"""What changed since the previous run (leadnb.run.changes, leadnb.report.changes).

Run folders are written by hand in ``tmp_path`` with the shape ``leadnb run`` gives them
(``manifest.json``; per notebook ``metrics.json`` and ``metric_kinds.json``), with numbers like
the demo run's. Test statistics are checked against hand formulas and scipy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leadnb.report.changes import TITLE_WIDTH, plot_trend, render_changes
from leadnb.results import Metrics
from leadnb.run.changes import (
    CHANGE_COLUMNS,
    TREND_COLUMNS,
    compare_metrics,
    load_metrics,
    previous_run,
    trend,
    what_changed,
)

matplotlib.use("Agg")

Z975 = stats.norm.ppf(0.975)

# ---------------------------------------------------------------------------------------------
# Run folders shaped like the demo run's (values and kinds as the notebooks write them)

DEMO: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "scoring_calibration": (
        {
            "auc": 0.5805,
            "auc_ci_low": 0.5595,
            "auc_ci_high": 0.6015,
            "brier": 0.03994,
            "conversion_rate": 0.0505,
            "conversions": 1010,
            "n_leads": 20000,
            "recommended_threshold": 17.79,
            "recommended_weekly_workload": 58.76,
            "high_intent_mean_score": 34.78,
            "competitor_mean_score": 61.36,
            "high_quality_leads": 1784,
            "outcome_stage": "sql",
            "headline": [
                "auc",
                "brier",
                "conversion_rate",
                "recommended_threshold",
                "recommended_weekly_workload",
                "high_intent_mean_score",
                "competitor_mean_score",
                "high_quality_leads",
            ],
        },
        {
            "auc": "ratio",
            "auc_ci_low": "ratio",
            "auc_ci_high": "ratio",
            "brier": "ratio",
            "conversion_rate": "rate",
            "conversions": "count",
            "n_leads": "count",
            "recommended_threshold": "score",
            "recommended_weekly_workload": "count",
            "high_intent_mean_score": "score",
            "competitor_mean_score": "score",
            "high_quality_leads": "count",
            "outcome_stage": "text",
        },
    ),
    "cohort_conversion": (
        {
            "n_leads": 20000,
            "lead_to_mql_rate": 0.2025,
            "lead_to_mql_ci_low": 0.1970,
            "lead_to_mql_ci_high": 0.2081,
            "mql_to_sql_rate": 0.2494,
            "mql_to_sql_ci_low": 0.2363,
            "mql_to_sql_ci_high": 0.2629,
            "lvr_pct": -28.57,
            "lvr_ci_low": -53.62,
            "lvr_ci_high": 9.10,
            "lead_to_sql_p90": 0.02646,
            "as_of": "2026-06-30",
            "headline": [
                "n_leads",
                "lead_to_mql_rate",
                "mql_to_sql_rate",
                "lvr_pct",
                "lead_to_sql_p90",
            ],
        },
        {
            "n_leads": "count",
            "lead_to_mql_rate": "rate",
            "lead_to_mql_ci_low": "rate",
            "lead_to_mql_ci_high": "rate",
            "mql_to_sql_rate": "rate",
            "mql_to_sql_ci_low": "rate",
            "mql_to_sql_ci_high": "rate",
            "lvr_pct": "percent",
            "lvr_ci_low": "percent",
            "lvr_ci_high": "percent",
            "lead_to_sql_p90": "rate",
            "as_of": "date",
        },
    ),
    "nurture_roi": (
        {
            "roi": 3.128,
            "roi_ci_low": 1.893,
            "roi_ci_high": 4.135,
            "holdout_cost_per_incremental_sql": 83.33,
            "scenario_sql_total_before": 120.0,
            "scenario_sql_total_after": 180.0,
            "headline": [
                "roi",
                "holdout_cost_per_incremental_sql",
                "scenario_sql_total_before",
                "scenario_sql_total_after",
            ],
        },
        {
            "roi": "rate",
            "roi_ci_low": "rate",
            "roi_ci_high": "rate",
            "holdout_cost_per_incremental_sql": "money",
            "scenario_sql_total_before": "count",
            "scenario_sql_total_after": "count",
        },
    ),
    "ab_testing": (
        {
            "experiment_id": "nurture-cadence-2026q1",
            "control_rate": 0.0744,
            "variant_rate": 0.1224,
            "diff": 0.048,
            "diff_ci_low": 0.0316,
            "diff_ci_high": 0.0645,
            "p_value": 1.2e-08,
            "n_control": 2500,
            "n_variant": 2500,
            "experiments": {"nurture-cadence-2026q1": {"diff": 0.048}},
            "headline": [
                "experiment_id",
                "control_rate",
                "variant_rate",
                "diff",
                "p_value",
                "n_control",
                "n_variant",
            ],
        },
        {
            "experiment_id": "text",
            "control_rate": "rate",
            "variant_rate": "rate",
            "diff": "points",
            "diff_ci_low": "points",
            "diff_ci_high": "points",
            "p_value": "p_value",
            "n_control": "count",
            "n_variant": "count",
        },
    ),
}
NOTEBOOKS = list(DEMO)


def write_run(
    out: Path,
    as_of: str,
    *,
    name: str = "demo",
    statuses: dict[str, str] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    started: str | None = None,
    stamp: str = "20261201-000000",
) -> dict[str, Any]:
    """A published run folder: manifest.json and each notebook's metrics files."""
    statuses = statuses or dict.fromkeys(NOTEBOOKS, "success")
    run_id = f"{stamp}-{name}-{as_of}"
    run_dir = out / run_id
    run_dir.mkdir(parents=True)
    entries = []
    for nb, status in statuses.items():
        folder = run_dir / nb
        folder.mkdir()
        entries.append({"name": nb, "status": status, "folder": nb})
        if status != "success":
            continue
        metrics, kinds = DEMO[nb]
        metrics = {**metrics, **(values or {}).get(nb, {})}
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "metric_kinds.json").write_text(json.dumps(kinds))
    manifest = {
        "run_id": run_id,
        "name": name,
        "as_of": as_of,
        "status": "success" if all(s == "success" for s in statuses.values()) else "failed",
        "started_at": started or f"{as_of}T08:00:00",
        "params": {"run": {"name": name, "as_of": as_of}},
        "notebooks": entries,
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def metrics(values: dict[str, Any], kinds: dict[str, str]) -> Metrics:
    return Metrics(values, kinds)


# ---------------------------------------------------------------------------------------------
# The tests against their oracles


def test_rate_with_its_n_is_a_pooled_two_proportion_z_test_by_hand() -> None:
    kinds = {"conversion_rate": "rate", "n_leads": "count"}
    before = metrics({"conversion_rate": 0.05, "n_leads": 2000}, kinds)
    after = metrics({"conversion_rate": 0.062, "n_leads": 2500}, kinds)
    f = compare_metrics(after, before, notebook="scoring_calibration", keys=["conversion_rate"])
    x1, n1, x2, n2 = 100, 2000, 155, 2500
    p = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    row = f.iloc[0]
    assert row["test"] == "two-proportion z test"
    assert row["statistic"] == pytest.approx(z, rel=1e-9)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert row["change"] == pytest.approx(0.012)


@pytest.mark.parametrize(("then", "now"), [(0, 7), (7, 0)])
def test_a_count_from_or_to_zero_is_tested_without_a_warning(then: int, now: int) -> None:
    # statsmodels divides by the zero count for a ratio the comparison does not use; the run's
    # log must not show its RuntimeWarning, and the score test is z = (b - a) / sqrt(a + b)
    import warnings

    before = metrics({"high_quality_leads": then}, {"high_quality_leads": "count"})
    after = metrics({"high_quality_leads": now}, {"high_quality_leads": "count"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = compare_metrics(after, before, notebook="scoring_calibration").iloc[0]
    assert row["test"] == "Poisson comparison"
    assert row["statistic"] == pytest.approx((now - then) / math.sqrt(now + then), rel=1e-9)


def test_count_is_a_poisson_score_test_close_to_the_exact_conditional_binomial() -> None:
    before = metrics({"high_quality_leads": 1784}, {"high_quality_leads": "count"})
    after = metrics({"high_quality_leads": 1850}, {"high_quality_leads": "count"})
    row = compare_metrics(after, before, notebook="scoring_calibration").iloc[0]
    z = (1850 - 1784) / math.sqrt(1850 + 1784)  # score test, equal exposure
    assert row["test"] == "Poisson comparison"
    assert row["statistic"] == pytest.approx(z, rel=1e-9)
    exact = stats.binomtest(1850, 1850 + 1784, 0.5).pvalue
    assert row["p_value"] == pytest.approx(exact, abs=0.01)
    assert not row["beyond_noise"]


def test_number_with_an_interval_and_no_n_is_a_z_test_from_the_two_standard_errors() -> None:
    kinds = {"auc": "ratio", "auc_ci_low": "ratio", "auc_ci_high": "ratio"}
    before = metrics({"auc": 0.58, "auc_ci_low": 0.56, "auc_ci_high": 0.60}, kinds)
    after = metrics({"auc": 0.63, "auc_ci_low": 0.60, "auc_ci_high": 0.66}, kinds)
    row = compare_metrics(after, before, notebook="scoring_calibration").iloc[0]
    se1, se2 = 0.04 / (2 * Z975), 0.06 / (2 * Z975)
    z = 0.05 / math.sqrt(se1**2 + se2**2)
    assert row["test"] == "z test from the two intervals"
    assert row["statistic"] == pytest.approx(z, rel=1e-6)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-6)
    # the percent-unit interval spelling of the cohort report: lvr_pct with lvr_ci_low
    kinds = {"lvr_pct": "percent", "lvr_ci_low": "percent", "lvr_ci_high": "percent"}
    b = metrics({"lvr_pct": -28.6, "lvr_ci_low": -53.6, "lvr_ci_high": 9.1}, kinds)
    a = metrics({"lvr_pct": 10.0, "lvr_ci_low": -20.0, "lvr_ci_high": 40.0}, kinds)
    assert compare_metrics(a, b, notebook="cohort_conversion").iloc[0]["test"].startswith("z test")


def test_other_kinds_are_not_tested_and_say_so() -> None:
    kinds = {"brier": "ratio", "cost": "money", "p_value": "p_value", "workload": "count"}
    before = metrics({"brier": 0.040, "cost": 80.0, "p_value": 0.2, "workload": 58.76}, kinds)
    after = metrics({"brier": 0.045, "cost": 95.0, "p_value": 0.01, "workload": 61.2}, kinds)
    f = compare_metrics(after, before, notebook="x")
    assert f["test"].tolist() == [
        "not tested: no measure of noise",
        "not tested: no measure of noise",
        "not tested: no measure of noise",
        "not tested: a modelled count, not a tally",
    ]
    assert f["beyond_noise"].isna().all() and f["p_value"].isna().all()
    assert f["sentence"][0] == (
        "Brier rose from 0.040 to 0.045 (+0.005); not tested: no measure of noise."
    )


def test_the_declared_kind_chooses_the_test_not_the_key_name() -> None:
    # a key that reads like a rate but is declared a count gets the Poisson comparison
    before = metrics({"conversion_rate": 900, "n_leads": 1000}, {"conversion_rate": "count"})
    after = metrics({"conversion_rate": 1000, "n_leads": 1000}, {"conversion_rate": "count"})
    row = compare_metrics(after, before, notebook="scoring_calibration").iloc[0]
    assert row["test"] == "Poisson comparison"
    # a number without a declared kind is not tested
    row = compare_metrics(
        metrics({"auc": 0.9}, {}), metrics({"auc": 0.5}, {}), notebook="scoring_calibration"
    ).iloc[0]
    assert row["test"] == "not tested: no declared kind" and row["kind"] == ""


def test_holm_adjustment_by_hand_decides_beyond_noise() -> None:
    kinds = {"a": "ratio", "a_ci_low": "ratio", "a_ci_high": "ratio"}
    kinds |= {"b": "ratio", "b_ci_low": "ratio", "b_ci_high": "ratio"}
    se = 0.01 / Z975  # intervals of half-width 0.01: standard error se in each run
    before = metrics(
        {
            "a": 0.5,
            "a_ci_low": 0.49,
            "a_ci_high": 0.51,
            "b": 0.5,
            "b_ci_low": 0.49,
            "b_ci_high": 0.51,
        },
        kinds,
    )
    # a moves by z = 2.2 (p = 0.028), b by z = 2.0 (p = 0.046)
    da, db = 2.2 * se * math.sqrt(2), 2.0 * se * math.sqrt(2)
    after = metrics(
        {
            "a": 0.5 + da,
            "a_ci_low": 0.49 + da,
            "a_ci_high": 0.51 + da,
            "b": 0.5 + db,
            "b_ci_low": 0.49 + db,
            "b_ci_high": 0.51 + db,
        },
        kinds,
    )
    raw = compare_metrics(after, before, notebook="x", adjust=None)
    p_a, p_b = 2 * stats.norm.sf(2.2), 2 * stats.norm.sf(2.0)
    assert raw["p_value"].tolist() == pytest.approx([p_a, p_b])
    assert raw["beyond_noise"].tolist() == [True, True]
    holm = compare_metrics(after, before, notebook="x")
    # Holm: smallest p times 2, the next times 1, kept monotone
    assert holm["p_adjusted"].tolist() == pytest.approx([2 * p_a, max(2 * p_a, p_b)])
    assert holm["beyond_noise"].tolist() == [False, False]
    assert "within noise" in holm["sentence"][0]


def test_another_experiment_on_the_card_is_not_compared_with_the_last() -> None:
    vals, kinds = DEMO["ab_testing"]
    before = Metrics({k: v for k, v in vals.items() if k != "experiments"}, kinds)
    after = Metrics(
        {**dict(before), "experiment_id": "subject-lines-2026q3", "control_rate": 0.20}, kinds
    )
    f = compare_metrics(after, before, notebook="ab_testing")
    assert "experiment_id" not in f["key"].tolist()  # text is never a row
    assert f["test"].str.startswith("not tested: Experiment ID changed").all()
    assert f["beyond_noise"].isna().all()


def test_frame_columns_and_rows_only_for_numbers_in_both_runs() -> None:
    kinds = {"x": "count", "y": "count", "z": "count", "t": "text"}
    before = Metrics({"x": 5, "y": None, "t": "a"}, {"x": "count", "y": "count", "t": "text"})
    after = Metrics({"x": 7, "y": 3, "z": 4, "t": "a", "headline": ["x", "y", "z", "t"]}, kinds)
    f = compare_metrics(after, before, notebook="x")
    assert list(f.columns) == CHANGE_COLUMNS
    assert f["key"].tolist() == ["x"]


# ---------------------------------------------------------------------------------------------
# Finding the previous run


def test_empty_or_missing_out_has_no_previous_run(tmp_path: Path) -> None:
    current = {"name": "demo", "as_of": "2026-06-30", "run_id": "r"}
    assert previous_run(tmp_path, current) is None
    assert previous_run(tmp_path / "nowhere", current) is None
    assert what_changed(tmp_path / "run", current | {"notebooks": []}, out_dir=tmp_path).empty


def test_previous_run_skips_failed_runs_other_names_and_same_or_later_dates(
    tmp_path: Path,
) -> None:
    good = write_run(tmp_path, "2026-06-16")
    write_run(tmp_path, "2026-06-23", statuses={**dict.fromkeys(NOTEBOOKS, "failed")})
    write_run(tmp_path, "2026-06-29", name="other")
    write_run(tmp_path, "2026-06-30", stamp="20261130-000000")  # same analysis date
    write_run(tmp_path, "2026-07-07")  # a later date (a backfill runs after it)
    (tmp_path / ".tmp-20261201-000000-demo-2026-06-28").mkdir()  # a run being written
    current = write_run(tmp_path, "2026-06-30", stamp="20261201-090000")
    prev = previous_run(tmp_path, current)
    assert prev is not None
    assert (prev.run_id, prev.as_of) == (good["run_id"], "2026-06-16")
    assert prev.run_dir == tmp_path / good["run_id"]
    assert prev.notebooks == tuple(NOTEBOOKS)


def test_previous_run_is_decided_per_notebook_for_partial_runs(tmp_path: Path) -> None:
    full = write_run(tmp_path, "2026-06-16")
    half = write_run(
        tmp_path,
        "2026-06-23",
        statuses={"scoring_calibration": "failed", "cohort_conversion": "success"},
    )
    subset = write_run(tmp_path, "2026-06-24", statuses={"ab_testing": "success"})
    current = write_run(tmp_path, "2026-06-30", stamp="20261201-090000")
    assert previous_run(tmp_path, current, notebook="cohort_conversion").run_id == half["run_id"]
    assert previous_run(tmp_path, current, notebook="scoring_calibration").run_id == full["run_id"]
    assert previous_run(tmp_path, current, notebook="nurture_roi").run_id == full["run_id"]
    assert previous_run(tmp_path, current, notebook="ab_testing").run_id == subset["run_id"]
    # the run as a whole: a successful subset run counts, a failed run does not
    assert previous_run(tmp_path, current).run_id == subset["run_id"]
    changed = what_changed(tmp_path / current["run_id"], current)
    since = changed.groupby("notebook")["since"].first().to_dict()
    assert since == {
        "ab_testing": "2026-06-24",
        "cohort_conversion": "2026-06-23",
        "nurture_roi": "2026-06-16",
        "scoring_calibration": "2026-06-16",
    }


def test_of_two_runs_on_the_same_earlier_date_the_last_started_is_previous(tmp_path: Path) -> None:
    write_run(tmp_path, "2026-06-23", started="2026-06-23T08:00:00")
    rerun = write_run(tmp_path, "2026-06-23", started="2026-06-24T09:00:00", stamp="20261201-1")
    current = write_run(tmp_path, "2026-06-30", stamp="20261201-090000")
    assert previous_run(tmp_path, current).run_id == rerun["run_id"]


# ---------------------------------------------------------------------------------------------
# A planted change between two runs: flagged, and only that one


def _noisy_week(rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """A week later: every number moves a little (well within noise), nothing planted."""
    wiggle = lambda v, s: float(v + rng.uniform(-s, s))  # noqa: E731
    auc = wiggle(0.5805, 0.004)
    mql = wiggle(0.2025, 0.002)
    return {
        "scoring_calibration": {
            "auc": auc,
            "auc_ci_low": auc - 0.021,
            "auc_ci_high": auc + 0.021,
            "brier": wiggle(0.0399, 0.001),
            "conversion_rate": wiggle(0.0505, 0.0008),
            "n_leads": 20300,
            "recommended_threshold": wiggle(17.8, 1.0),
            "recommended_weekly_workload": wiggle(58.8, 3.0),
            "high_quality_leads": 1784 + int(rng.integers(-30, 30)),
        },
        "cohort_conversion": {
            "n_leads": 20300,
            "lead_to_mql_rate": mql,
            "lead_to_mql_ci_low": mql - 0.0055,
            "lead_to_mql_ci_high": mql + 0.0055,
            "lvr_pct": wiggle(-28.6, 10.0),
            "lead_to_sql_p90": wiggle(0.0265, 0.002),
        },
        "nurture_roi": {"roi": wiggle(3.128, 0.2), "holdout_cost_per_incremental_sql": 90.0},
        "ab_testing": {"n_control": 2530, "n_variant": 2528, "p_value": 3e-09},
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planted_change_is_flagged_and_only_that_one(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    write_run(tmp_path, "2026-06-23")
    week = _noisy_week(rng)
    # planted: the variant arm's conversion rate falls from 12.2% to 8.0% (n 2,528)
    week["ab_testing"]["variant_rate"] = 0.080
    current = write_run(tmp_path, "2026-06-30", values=week, stamp="20261201-090000")
    f = what_changed(tmp_path / current["run_id"], current)
    assert set(f["notebook"]) == set(NOTEBOOKS)
    flagged = f.loc[f["beyond_noise"].fillna(False).astype(bool), ["notebook", "key"]]
    assert flagged.to_records(index=False).tolist() == [("ab_testing", "variant_rate")]
    row = f.set_index("key").loc["variant_rate"]
    assert (
        row["sentence"]
        == "Variant rate fell from 12.2% to 8.0% (-4.2 pts): beyond noise (p < 0.001)."
    )
    # the others moved and were tested, and called within noise
    tested = f[f["p_value"].notna() & (f["key"] != "variant_rate")]
    assert len(tested) >= 6 and (tested["change"] != 0).any()
    assert tested["sentence"].str.contains("within noise").all()
    assert (
        f.set_index("key")
        .loc["scenario_sql_total_before", "test"]
        .startswith("not tested: a what-if")
    )
    html = render_changes(f)
    assert "What changed since 2026-06-23" in html
    assert "1 of " in html and "Variant rate" in html


def test_without_the_planted_change_nothing_is_flagged(tmp_path: Path) -> None:
    write_run(tmp_path, "2026-06-23")
    current = write_run(
        tmp_path,
        "2026-06-30",
        values=_noisy_week(np.random.default_rng(5)),
        stamp="20261201-090000",
    )
    f = what_changed(tmp_path / current["run_id"], current)
    assert not f["beyond_noise"].fillna(False).any()
    assert "None of the" in render_changes(f)


# ---------------------------------------------------------------------------------------------
# Rendering


def test_hostile_key_label_notebook_and_date_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    f = pd.DataFrame(
        {
            "notebook": [evil, "nb"],
            "key": [evil, "n"],
            "label": [f"<img src=x onerror=alert(1)>{evil}", "Leads"],
            "kind": ["rate", "count"],
            "before": [0.1, 100.0],
            "after": [0.2, 110.0],
            "change": [0.1, 10.0],
            "test": [f"not tested: {evil}", "Poisson comparison"],
            "beyond_noise": pd.array([pd.NA, False], dtype="boolean"),
            "sentence": [evil, ""],
            "since": ["<b>2026</b>", "<b>2026</b>"],
        }
    )
    html = render_changes(f)
    assert "<script" not in html and "<img" not in html and "<b>2026" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    assert "&lt;b&gt;2026&lt;/b&gt;" in html
    assert "<th>Report</th>" in html  # two notebooks: a report column


def test_render_formats_each_change_from_its_kind() -> None:
    f = pd.DataFrame(
        {
            "notebook": ["nb"] * 3,
            "key": ["lvr_pct", "roi", "n_leads"],
            "label": ["LVR", "ROI", "Leads"],
            "kind": ["percent", "multiplier", "count"],
            "before": [-28.57, 3.128, 20000.0],
            "after": [-20.0, 3.5, 20300.0],
            "change": [8.57, 0.372, 300.0],
            "test": ["z test from the two intervals", "not tested: no measure of noise", "x"],
            "beyond_noise": pd.array([True, pd.NA, False], dtype="boolean"),
            "sentence": [""] * 3,
            "since": ["2026-06-23"] * 3,
        }
    )
    html = render_changes(f)
    for cell in (
        "<td>-28.6%</td><td>-20.0%</td><td>+8.6 pts</td><td><strong>beyond noise</strong>",
        "<td>3.13×</td><td>3.50×</td><td>+0.37×</td>",
        "<td>20,000</td><td>20,300</td><td>+300</td><td>within noise</td>",
        ">not tested<",
    ):
        assert cell in html
    assert "1 of 3 headline numbers moved beyond noise: LVR." in html
    assert "<th>Report</th>" not in html


def test_render_of_nothing_to_compare() -> None:
    html = render_changes(
        what_changed(Path("/nonexistent/run"), {"name": "demo", "as_of": "2026-06-30"})
    )
    assert "no earlier successful run" in html


# ---------------------------------------------------------------------------------------------
# Trend


def test_trend_has_every_successful_run_once_per_date(tmp_path: Path) -> None:
    write_run(tmp_path, "2026-06-09", values={"scoring_calibration": {"conversion_rate": 0.040}})
    write_run(
        tmp_path,
        "2026-06-16",
        values={"scoring_calibration": {"conversion_rate": 0.045}},
        started="2026-06-16T08:00:00",
    )
    write_run(  # a re-run of the same date, started later: it wins
        tmp_path,
        "2026-06-16",
        values={"scoring_calibration": {"conversion_rate": 0.046}},
        started="2026-06-17T08:00:00",
        stamp="20261201-1",
    )
    write_run(tmp_path, "2026-06-23", statuses={"scoring_calibration": "failed"})
    write_run(tmp_path, "2026-06-23", name="other", stamp="20261201-2")
    write_run(tmp_path, "2026-06-30", values={"scoring_calibration": {"conversion_rate": 0.050}})
    t = trend(tmp_path, "demo")
    assert list(t.columns) == TREND_COLUMNS
    rate = t[(t["notebook"] == "scoring_calibration") & (t["key"] == "conversion_rate")]
    assert rate["value"].tolist() == [0.040, 0.046, 0.050]
    assert rate["as_of"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-06-09",
        "2026-06-16",
        "2026-06-30",
    ]
    auc = t[t["key"] == "auc"].iloc[0]
    assert (auc["ci_low"], auc["ci_high"]) == (0.5595, 0.6015)
    assert "experiment_id" not in set(t["key"])  # text is not a trend
    assert t[t["key"] == "lvr_pct"]["ci_low"].iloc[0] == -53.62
    assert trend(tmp_path / "nowhere", "demo").empty


def test_plot_trend_states_the_finding_with_the_kind_formatting(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    for day, v in (("09", 3.0), ("16", 3.128), ("30", 2.5)):
        write_run(tmp_path, f"2026-06-{day}", values={"nurture_roi": {"roi": v}})
    t = trend(tmp_path, "demo")
    fig = plot_trend(t, "roi")
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "ROI: 250.0% on 2026-06-30, down from 300.0% on 2026-06-09"
    fig.canvas.draw()
    assert all(lbl.get_text().endswith("%") for lbl in ax.get_yticklabels() if lbl.get_text())
    assert len(ax.collections) == 1  # the interval band
    plt.close(fig)
    twice = pd.concat([t, t.assign(notebook="elsewhere")], ignore_index=True)
    with pytest.raises(ValueError, match="several notebooks"):
        plot_trend(twice, "n_leads")
    fig = plot_trend(twice, "n_leads", notebook="cohort_conversion")
    assert fig.axes[0].get_title(loc="left") == "Leads: steady at 20,000 since 2026-06-09"
    plt.close(fig)
    with pytest.raises(ValueError, match="not in the trend"):
        plot_trend(t, "nope")


def test_trend_charts_say_the_number_in_the_notebooks_words(tmp_path: Path) -> None:
    """A chart's title names the number as the report's card does (the notebook's declared
    label, the latest run's), not the key: "Leads reaching SQL within 90 days", never "Lead to
    SQL p90" over a percentage. A "$" in the words is drawn as written."""
    import matplotlib.pyplot as plt

    old = {"labels": {"lead_to_sql_p90": "Older words"}, "lead_to_sql_p90": 0.02}
    new = {"labels": {"lead_to_sql_p90": "Leads reaching SQL within 90 days ($)"},
           "lead_to_sql_p90": 0.027}  # fmt: skip
    write_run(tmp_path, "2026-06-23", values={"cohort_conversion": old})
    write_run(tmp_path, "2026-06-30", values={"cohort_conversion": new})
    t = trend(tmp_path, "demo")
    rows = t[t["key"] == "lead_to_sql_p90"]
    assert rows["label"].tolist() == ["Older words", "Leads reaching SQL within 90 days ($)"]
    assert t.loc[t["key"] == "n_leads", "label"].iloc[0] == "Leads"  # none declared: the key
    fig = plot_trend(t, "lead_to_sql_p90")
    title = fig.axes[0].get_title(loc="left")
    said = " ".join(title.split())  # wrapped at whole words
    assert said.startswith(r"Leads reaching SQL within 90 days (\$): 2.7% on 2026-06-30, up from")
    fig.canvas.draw()  # no mathtext error
    plt.close(fig)
    long = t.assign(label="Change in new SQLs on the period before (LVR), by the team's definition")
    fig = plot_trend(long, "lead_to_sql_p90")
    lines = fig.axes[0].get_title(loc="left").split("\n")
    assert len(lines) == 2 and max(map(len, lines)) <= TITLE_WIDTH  # on the chart, not past it
    assert "2026-06-30" in " ".join(lines)  # dates are never split at their hyphens
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    box = fig.axes[0]._left_title.get_window_extent(renderer)  # the left-aligned title
    assert box.x1 <= fig.bbox.x1
    plt.close(fig)


def test_a_change_below_the_precision_shown_reads_steady() -> None:
    kinds = {"conversion_rate": "rate", "n_leads": "count"}
    before = metrics({"conversion_rate": 0.0500, "n_leads": 20000}, kinds)
    after = metrics({"conversion_rate": 0.05002, "n_leads": 20000}, kinds)
    row = compare_metrics(after, before, notebook="scoring_calibration").iloc[0]
    assert row["sentence"] == "Conversion rate is steady at 5.0% (≈ 0): within noise (p = 1.000)."


def test_each_report_is_one_family_so_report_and_card_agree(tmp_path: Path) -> None:
    write_run(tmp_path, "2026-06-23")
    week = _noisy_week(np.random.default_rng(3))
    current = write_run(tmp_path, "2026-06-30", values=week, stamp="20261201-090000")
    run_dir = tmp_path / current["run_id"]
    by_notebook = what_changed(run_dir, current)
    prev = previous_run(tmp_path, current, notebook="cohort_conversion")
    alone = compare_metrics(
        load_metrics(run_dir, "cohort_conversion"),
        load_metrics(prev.run_dir, "cohort_conversion"),
        notebook="cohort_conversion",
    )
    mine = by_notebook[by_notebook["notebook"] == "cohort_conversion"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        mine.drop(columns=["since", "previous_run_id"]),
        alone.drop(columns=["since", "previous_run_id"]),
    )
    whole = what_changed(run_dir, current, family="run")
    tested = whole["p_value"].notna()
    assert (whole.loc[tested, "p_adjusted"] >= by_notebook.loc[tested, "p_adjusted"]).all()
    with pytest.raises(ValueError, match="family"):
        what_changed(run_dir, current, family="week")


def test_trend_can_include_the_run_still_being_written(tmp_path: Path) -> None:
    write_run(tmp_path, "2026-06-23")
    current = write_run(tmp_path, "2026-06-30", values={"nurture_roi": {"roi": 2.0}})
    tmp_dir = tmp_path / f".tmp-{current['run_id']}"
    (tmp_path / current["run_id"]).rename(tmp_dir)
    assert trend(tmp_path, "demo")["as_of"].nunique() == 1
    t = trend(tmp_path, "demo", current=(current, tmp_dir))
    assert t[t["key"] == "roi"]["value"].tolist() == [3.128, 2.0]


def test_a_run_will_have_trends_when_another_date_of_its_name_was_published(
    tmp_path: Path,
) -> None:
    """The runner imports the trends' chart libraries while the notebooks run only then."""
    from leadnb.run.changes import run_dates
    from leadnb.run.publish import will_have_trends

    assert not will_have_trends(tmp_path / "nowhere", "demo", "2026-06-30")
    write_run(tmp_path, "2026-06-30")
    write_run(tmp_path, "2026-06-23", name="other", stamp="20261201-2")
    assert run_dates(tmp_path, "demo") == {pd.Timestamp("2026-06-30")}
    assert not will_have_trends(tmp_path, "demo", "2026-06-30")  # a re-run of the same date
    assert not will_have_trends(tmp_path, "other", "2026-06-23")
    assert will_have_trends(tmp_path, "demo", pd.Timestamp("2026-07-07"))  # the next week
    assert will_have_trends(tmp_path, "other", "2026-06-30")


def test_a_first_run_compares_nothing_and_never_imports_statsmodels(tmp_path: Path) -> None:
    """The runner of a first run (nothing earlier to compare with) does not pay statsmodels'
    import (1.5 s of its CPU, beside the notebooks): :func:`what_changed` of a run without an
    earlier one is an empty frame, made without it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from leadnb.run import changes\n"
        f"frame = changes.what_changed({str(tmp_path)!r}, "
        "{'name': 'demo', 'as_of': '2026-06-30', 'notebooks': {}}, "
        f"out_dir={str(tmp_path)!r})\n"
        "assert frame.empty, frame\n"
        "print(sorted(m for m in sys.modules if m.startswith('statsmodels')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
