"""The benchmark's three implementations agree, and `make bench --quick` prints its report.

No timing is asserted here: speed is what the benchmark prints, not what tests check. What is
checked is that leadnb, the DuckDB SQL and the pandas baseline compute the same numbers (on
hand-made edge cases with hand-computed answers, and on the quick sample), so the comparison the
benchmark prints is a comparison of equals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import baseline, duck  # benchmarks/ lives at the root (pytest pythonpath)
from benchmarks import run as bench
from leadnb.data.params import load_params
from leadnb.funnel import stages as funnel
from leadnb.scoring import engine as scoring
from leadnb.scoring import rules

AS_OF = pd.Timestamp("2026-01-31")


@pytest.fixture(scope="module")
def con():
    c = duck.connect(threads=1)
    yield c
    c.close()


def _rules() -> rules.ScoringConfig:
    return rules.ScoringConfig.from_dict(
        {
            "categories": {"content": {"cap": 6}},
            "rules": [
                {"name": "reads", "category": "content", "points": 2, "cap": 5,
                 "window_days": 10, "when": {"event_type": "content_read"}},
                {"name": "long read", "category": "content", "points": 4, "half_life_days": 5,
                 "when": {"event_type": "content_read", "min_duration_s": 100}},
                {"name": "pricing", "category": "tags", "points": 10, "once": True,
                 "when": {"event_type": "tag_added", "value": ["pricing_request"]}},
                {"name": "left group", "category": "behaviour", "points": -3, "cap": 4,
                 "when": {"event_type": "group_leave"}},
                {"name": "phone", "category": "profile", "points": 5,
                 "when": {"field": "phone", "present": True}},
                {"name": "icp", "category": "profile", "points": 2,
                 "when": {"field": "industry", "in": ["Software"]}},
            ],
        },
        Path("."),
    )  # fmt: skip


def _edge_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "phone": ["  ", "123", None],
            "industry": [" software ", None, "retail"],
        }
    ).astype("str")
    rows = [
        ("a", "2026-01-30 10:00", "content_read", None, 200.0),  # 14 hours old: both rules
        ("a", "2026-01-10 10:00", "content_read", None, 50.0),  # outside the 10-day window
        ("a", "2026-01-31 18:00", "content_read", None, None),  # later on the as_of day: age 0
        ("a", "2026-02-01 09:00", "content_read", None, 500.0),  # after as_of: never counts
        ("a", "2026-01-01 09:00", "tag_added", "pricing_request", None),
        ("a", "2026-01-20 09:00", "tag_added", "pricing_request", None),  # once: counted once
        ("a", "2026-01-05 09:00", "group_leave", None, None),
        ("a", "2026-01-06 09:00", "group_leave", None, None),  # -6, capped at -4
        ("b", None, "content_read", None, 300.0),  # no timestamp: ignored
        ("b", "2026-01-02 09:00", "tag_added", None, None),  # no value: no points
        ("zz", "2026-01-02 09:00", "tag_added", "pricing_request", None),  # unknown lead
    ]
    events = pd.DataFrame(rows, columns=["lead_id", "ts", "event_type", "value", "duration_s"])
    events = events.astype({"lead_id": "str", "event_type": "str", "value": "str"})
    events["ts"] = pd.to_datetime(events["ts"]).astype("datetime64[us]")
    return leads, events


def test_scoring_three_ways_on_edge_cases_match_hand_computed_points(con) -> None:
    leads, events = _edge_tables()
    cfg = _rules()
    ours = scoring.score(leads, events, cfg, AS_OF)
    sql = duck.score(con, leads, events, cfg, AS_OF)
    plain = baseline.score(leads, events, cfg, AS_OF)
    # hand-computed: lead a reads twice within 10 days (4 points), one long read 14 hours
    # before as_of (4 * 0.5 ** (14 / 24 / 5)), content capped at 6; pricing once 10; left twice
    # -6 capped at -4; blank phone is missing; " software " is in the ICP list.
    long_read = 4 * 0.5 ** (14 / 24 / 5)
    expected = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "score": [6 + 10 - 4 + 2, 5.0, 0.0],
            "rule:reads": [4.0, 0, 0],
            "rule:long read": [long_read, 0, 0],
            "content": [6.0, 0, 0],
            "rule:pricing": [10.0, 0, 0],
            "rule:left group": [-4.0, 0, 0],
            "rule:phone": [0.0, 5, 0],
            "rule:icp": [2.0, 0, 0],
        }
    )
    for got in (ours, sql, plain):
        got = got.set_index("lead_id").loc[["a", "b", "c"]]
        for col in expected.columns[1:]:
            np.testing.assert_allclose(got[col].to_numpy(float), expected[col], err_msg=col)
    assert bench.compare_scores(ours, sql, "sql") < 1e-12
    assert bench.compare_scores(ours, plain, "pandas") < 1e-12


def test_compare_scores_detects_a_difference() -> None:
    leads, events = _edge_tables()
    ours = scoring.score(leads, events, _rules(), AS_OF)
    other = ours.copy()
    other.loc[1, "rule:phone"] = 4.0
    with pytest.raises(bench.Mismatch, match="rule:phone"):
        bench.compare_scores(ours, other, "changed")


def test_stage_dates_three_ways_on_messy_history(con) -> None:
    cfg = funnel.FunnelConfig.from_dict({"aliases": {"Sales Qualified": "sql", "Won": "customer"}})
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "created_at": pd.to_datetime(["2025-01-10", "2025-01-20", "2025-02-03"]),
        }
    ).astype({"lead_id": "str", "created_at": "datetime64[us]"})
    stages = pd.DataFrame(
        [
            ("a", " mql ", "2025-01-15"),
            ("a", "MQL", "2025-01-12"),  # re-entry: the first date counts
            ("a", "sales qualified", "2025-03-01"),
            ("b", "Won", "2025-02-20"),  # skipped stages: implied at the won date
            ("b", "Lost", "2025-02-01"),
            ("b", "Nurturing", "2025-01-25"),  # unknown stage: ignored
            ("zz", "mql", "2025-01-25"),  # unknown lead: ignored
            ("c", "mql", None),  # no date: ignored
        ],
        columns=["lead_id", "stage", "entered_at"],
    ).astype({"lead_id": "str", "stage": "str"})
    stages["entered_at"] = pd.to_datetime(stages["entered_at"]).astype("datetime64[us]")
    ours = funnel.stage_dates(leads, stages, cfg)
    sql_wide, _ = duck.stage_dates_and_cohorts(con, leads, stages, cfg, "sql", AS_OF, 2)
    plain = baseline.stage_dates(leads, stages, cfg)
    assert ours.loc[0, "mql_at"] == pd.Timestamp("2025-01-12")
    assert ours.loc[0, "sql_at"] == pd.Timestamp("2025-03-01")
    assert (
        ours.loc[1, ["mql_at", "sql_at", "opportunity_at", "customer_at"]]
        .eq(pd.Timestamp("2025-02-20"))
        .all()
    )
    assert ours.loc[1, "lost_at"] == pd.Timestamp("2025-02-01")
    assert ours.loc[2, ["mql_at", "lost_at"]].isna().all()
    bench.compare_wide(ours, sql_wide, "sql")
    bench.compare_wide(ours, plain, "pandas")


def test_quick_benchmark_runs_agrees_and_prints_report(tmp_path, capsys) -> None:
    assert bench.main(["--quick", "--data-root", str(tmp_path), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "leadnb benchmark: 2,000 leads",
        "DuckDB threads: 1",
        "1. Scoring, demo rules (15 rules)",
        "leadnb score()",
        "DuckDB SQL to pandas",
        "DuckDB, query alone",
        "pandas merge/groupby",
        "agree: yes (score, categories and 15 rule columns",
        "ratio leadnb / DuckDB",
        "peak extra memory of one leadnb score() call",
        "2. Per-lead stage dates + cohort matrix",
        "3. Full demo run: not run",
        "Targets (from issue 8)",
        "stage dates + cohort matrix < 3 s at 1M leads",
    ):
        assert expected in out, expected
    assert sum(line.startswith(("  PASS", "  MISS", "  ----")) for line in out.splitlines()) == 5
    saved = json.loads((tmp_path / "results-2000.json").read_text())
    assert saved["data"]["leads"] == 2000 and saved["stages"]["cells"] > 0


# --------------------------------------------------------------------------------------------
# benchmarks.scaling: the scaling table (the full run at growing sizes)


def test_tree_sampler_sees_a_child_process_memory() -> None:
    """The sampler finds a grandchild and its peak: a process that fills 300 MB and frees it."""
    import subprocess
    import sys

    from benchmarks import scaling

    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        '\'import time; b = bytearray(300_000_000); b[::4096] = b"x" * len(b[::4096]); '
        "del b; time.sleep(0.5)'])"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    with scaling.TreeSampler(proc.pid, interval=0.05) as sampler:
        proc.wait()
    peaks = sampler.peaks()
    assert peaks[0].role.startswith("other") and peaks[0].peak_rss >= 300_000_000
    assert {p.role for p in peaks} >= {"runner"}  # the root process
    assert sampler.polls > 0


def test_kernels_are_matched_to_the_notebooks_that_finished_after_them() -> None:
    """Measured in a demo run: the scoring kernel (last seen 5.78 s) ended just after the A/B
    notebook's line (5.77 s) and before its own (6.02 s); the A/B kernel ended at 5.46 s. The
    closest pair (scoring kernel, A/B line) named the scoring kernel "ab_testing"."""
    from benchmarks import scaling

    seen = {"scoring": 5.78, "cohort": -0.32, "nurture": 2.07, "ab": 5.46}
    kernels = []
    for pid, (_, t) in enumerate(seen.items(), start=10):
        k = scaling.ProcessPeak(pid, 1, [])
        k.last_seen = t
        kernels.append(k)
    finished = {"cohort_conversion": 0.0, "nurture_roi": 2.31, "ab_testing": 5.77,
                "scoring_calibration": 6.02}  # fmt: skip
    got = scaling.match_workers(kernels, finished)
    assert got == {10: "scoring_calibration", 11: "cohort_conversion", 12: "nurture_roi",
                   13: "ab_testing"}  # fmt: skip
    spare = scaling.ProcessPeak(20, 1, [])  # alive after every line: ran nothing
    spare.last_seen = 7.0
    assert 20 not in scaling.match_workers([*kernels, spare], finished)
    assert scaling.match_workers([], finished) == {} == scaling.match_workers(kernels, {})


def _row(leads: int, events: int, run: float, peak: int, read: float) -> Any:
    from benchmarks import scaling

    return scaling.Row(leads=leads, events=events, input_bytes=leads * 500, run_seconds=run,
                       peak_rss=peak, peak_role="kernel roi", duckdb_seconds=read,
                       folder="x")  # fmt: skip


def test_cpu_by_role_groups_workers_and_others() -> None:
    from benchmarks import scaling

    procs = [
        {"role": "runner", "cpu_seconds": 9.0},
        {"role": "worker roi", "cpu_seconds": 2.0},
        {"role": "worker (no notebook)", "cpu_seconds": 1.5},
        {"role": "kernel roi", "cpu_seconds": 4.0},
        {"role": "kernel ab_testing", "cpu_seconds": 4.5},
        {"role": "zygote", "cpu_seconds": 2.5},
        {"role": "other sh", "cpu_seconds": 0.1},
        {"role": "other git", "cpu_seconds": 0.2},
    ]
    got = scaling.cpu_by_role(procs)
    assert got[0] == ("runner", 9.0) and dict(got)["workers"] == 3.5
    assert dict(got)["other"] == pytest.approx(0.3) and dict(got)["kernel ab_testing"] == 4.5
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert sum(s for _, s in got) == pytest.approx(sum(p["cpu_seconds"] for p in procs))


def test_scaling_table_cells_and_growth() -> None:
    from benchmarks import scaling

    small, big = (
        _row(20_000, 400_000, 20.0, 400_000_000, 0.1),
        _row(1_000_000, 20_000_000, 40.0, 2_000_000_000, 2.0),
    )
    cells = scaling.table_rows([small, big])
    big.cpu_user, big.cpu_system = 60.0, 12.5
    assert cells[1] == ("1,000,000", "20,000,000", "500", "40.0", "", "0.0", "2,000",
                        "kernel roi", "2.00", "20.0", "40.0")  # fmt: skip
    assert scaling.table_rows([big])[0][5] == "72.5"  # CPU s: user + system
    assert cells[0][9:] == ("200.0", "1,000.0")  # run / read, seconds per million leads
    big.runs = [41.5, 40.0, 38.2]
    assert scaling.table_rows([big])[0][4] == "38.2-41.5"  # the repeats' range
    line = scaling.growth([small, big])
    assert (
        "50x the leads" in line and "run time 2.0x" in line and "memory of one process 5.0x" in line
    )
    assert scaling.growth([small]) is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 100), st.floats(0.1, 5), st.integers(1, 10**10)),
                min_size=1, max_size=6))  # fmt: skip
def test_repeated_runs_give_the_median_run_and_the_largest_peak(runs) -> None:
    from benchmarks import scaling

    rows = [_row(1_000, 10, run, peak, read) for run, read, peak in runs]
    for i, r in enumerate(rows):
        r.cpu_user = float(i)  # which run the row is
    got = scaling.repeated(rows)
    times = sorted(run for run, _, _ in runs)
    assert got.run_seconds == times[(len(runs) - 1) // 2]  # the median (the lower of two)
    assert rows[int(got.cpu_user)].run_seconds == got.run_seconds  # that run's own CPU seconds
    assert got.duckdb_seconds == sorted(read for _, read, _ in runs)[(len(runs) - 1) // 2]
    assert got.peak_rss == max(peak for _, _, peak in runs)
    assert got.runs == [run for run, _, _ in runs] and got.reads == [read for _, read, _ in runs]
    assert got.peaks == [peak for _, _, peak in runs]


@pytest.mark.slow
def test_scaling_benchmark_at_a_tiny_size(tmp_path, capsys) -> None:
    """One size, 2,000 leads: the whole run, its process tree and DuckDB's read, all consistent."""
    import pyarrow.parquet as pq

    from benchmarks import scaling

    assert scaling.main(["--sizes", "2000", "--data-root", str(tmp_path), "--threads", "1",
                         "--repeat", "2"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "scaling-2000.json").read_text())
    (row,) = saved["rows"]
    folder = tmp_path / "data-2000-s42"
    files = scaling.input_files(folder / "params.yaml")
    assert row["leads"] == 2000
    assert row["events"] == pq.ParquetFile(folder / "events.parquet").metadata.num_rows > 0
    assert row["input_bytes"] == sum(p.stat().st_size for p in files.values())
    assert row["tables"]["stages"] == len(pd.read_csv(folder / "stages.csv"))
    assert row["run_seconds"] > 0 and row["duckdb_seconds"] > 0
    # two runs: the row is the faster's (the median of two, by position), its read the faster
    assert len(row["runs"]) == len(row["reads"]) == 2
    assert row["run_seconds"] == min(row["runs"]) and row["duckdb_seconds"] == min(row["reads"])
    assert "run s: the median of 2 runs back to back" in out
    assert row["ratio"] == pytest.approx(row["run_seconds"] / row["duckdb_seconds"])
    assert row["seconds_per_million"] == pytest.approx(row["run_seconds"] / 0.002)
    roles = {p["role"] for p in row["processes"]}
    notebooks = ("scoring_calibration", "cohort_conversion", "nurture_roi", "ab_testing")
    # the runner, workers and kernels are all seen; which notebook a worker ran is matched from
    # the runner's finish lines and poll times, which at 2,000 leads (runs of a fraction of a
    # second, workers started ahead of their notebook) can leave one unnamed: names are checked
    # where given, never required; a worker of the pool runs several notebooks, one after the
    # other, and is named after all of them
    assert "runner" in roles
    workers = {r for r in roles if r.startswith("worker")}
    kernels = {r for r in roles if r.startswith("kernel")}
    ran = {n for w in workers - {"worker (no notebook)"} for n in w[7:].split(", ")}
    assert ran <= set(notebooks)
    # a kernel not matched to its own notebook is named after its worker's (all of them, when
    # the worker ran several: seen in CI at 2,000 leads, where a notebook takes under a second)
    kernel_of = {n for k in kernels - {"kernel"} for n in k[7:].split(", ")}
    assert kernel_of <= set(notebooks)
    assert workers and kernels and any(w != "worker (no notebook)" for w in workers)
    # the processes are the median run's; the peak is the largest of both runs'
    assert max(p["peak_rss"] for p in row["processes"]) in row["peaks"]
    assert row["peak_rss"] == max(row["peaks"]) > 50e6
    assert row["peak_role"].split(" ")[0] in ("runner", "worker", "kernel", "zygote")
    assert row["cpu_user"] > 0 and row["polls"] > 0
    # every process's CPU seconds; together (polled, so a little less) about the run's own
    by_role = dict(scaling.cpu_by_role(row["processes"]))
    assert by_role["runner"] > 0 and by_role["workers"] > 0
    assert sum(by_role.values()) <= (row["cpu_user"] + row["cpu_system"]) * 1.05
    assert "CPU seconds by process at 2,000 leads: " in out
    header = next(line for line in out.splitlines() if line.startswith("leads"))
    assert "run / read" in header and "s per M leads" in header
    assert any(
        line.startswith("2,000") and f"{row['events']:,}" in line for line in out.splitlines()
    )


# --------------------------------------------------------------------------------------------
# benchmarks.dask_large: the Dask path checked against DuckDB


@pytest.mark.slow
def test_dask_large_at_a_tiny_size_agrees_with_duckdb(tmp_path, capsys) -> None:
    """2,000 leads through the whole script: Parquet copies, a two-worker cluster, DuckDB's check;
    then one planted difference in Dask's scores is found by the same check."""
    import duckdb

    from benchmarks import dask_large

    args = ["--leads", "2000", "--data-root", str(tmp_path), "--memory-limit", "1GB"]
    assert dask_large.main(args) == 0
    out = capsys.readouterr().out
    assert "agree: yes: scores of all 2,000 leads" in out and "stage dates of all 2,000" in out
    saved = json.loads((tmp_path / "dask-large-2000.json").read_text())
    assert saved["duckdb"]["scores"]["sql_rows"] == saved["data"]["leads"] == 2000
    assert {p["role"] for p in saved["dask"]["processes"]} >= {"dask worker 1", "dask worker 2"}
    work = tmp_path / "dask-2000-s42"
    assert (work / "leads.parquet").is_file() and (work / "stages.parquet").is_file()

    scores = work / "scores"
    first = sorted(scores.glob("*.parquet"))[0]
    frame = pd.read_parquet(first)
    frame.loc[0, "score"] += 0.5
    frame.to_parquet(first, index=False)
    params = load_params(work / "params.yaml")
    con = duckdb.connect()
    dask_large._views(con, params)
    con.execute(
        "CREATE TEMP TABLE sql_scores AS "
        + duck.scoring_sql(params.scoring, params.as_of(), pd.Series(saved_dtypes(params)))
    )
    wide_sql, _ = duck.stage_cohort_sql(params.funnel, "sql", params.as_of(), 1)
    con.execute(wide_sql)
    with pytest.raises(dask_large.Mismatch, match="column 'score' differs for 1 lead"):
        dask_large.compare(con, work)


def saved_dtypes(params) -> dict:
    """The canonical dtypes of the leads the scoring SQL needs (text or not), from the loader."""
    from leadnb.data import loading

    return loading.load_table(params.data["leads"]).dtypes.to_dict()


def test_the_memory_guard_extrapolates_through_the_last_two_sizes() -> None:
    """A million-lead run is not refused because the libraries' fixed memory at 20,000 leads
    was multiplied by fifty: two sizes give a straight line, one size scales only what a
    process holds beyond an empty one."""
    from benchmarks.scaling import PROCESS_BYTES_FIXED, Row, run_bytes

    def row(leads: int, peaks: list[float]) -> Row:
        procs = [{"peak_rss": p} for p in peaks]
        return Row(leads=leads, events=0, input_bytes=0, run_seconds=1.0, peak_rss=0,
                   peak_role="", duckdb_seconds=1.0, folder="", processes=procs)  # fmt: skip

    small = row(20_000, [600e6, 350e6, 330e6, 100e6])  # the smallest peak is not counted
    big = row(200_000, [900e6, 600e6, 400e6, 100e6])
    assert run_bytes([small, big], 1_000_000) == 1.9e9 + (1.9e9 - 1.28e9) / 180_000 * 800_000
    fixed = 3 * PROCESS_BYTES_FIXED
    assert run_bytes([small], 1_000_000) == fixed + (1.28e9 - fixed) * 50
    assert run_bytes([small], 1_000_000) < 1.28e9 * 50


def test_the_tree_sampler_sees_a_forked_kernel_name_itself_after_its_first_look() -> None:
    """A kernel forked by the zygote has the zygote's command line and names itself
    ``kernel:<worker>`` first thing; a look before that must not label it the zygote for good
    (seen at a million leads: the cohort kernel's 9.8 CPU seconds counted as the zygote's)."""
    import subprocess
    import sys
    import time

    import psutil

    from benchmarks.scaling import TreeSampler

    code = (
        "import ctypes, sys, time\n"
        "sys.stdin.readline()\n"
        "ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b'kernel:4242'), 0, 0, 0)\n"
        "print('named', flush=True)\n"
        "time.sleep(60)\n"
    )
    if not sys.platform.startswith("linux"):
        pytest.skip("process names are set with prctl (Linux)")
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        sampler = TreeSampler(child.pid)
        root = psutil.Process(child.pid)
        sampler.poll(root)  # before it named itself
        assert [p.name for p in sampler.procs.values()] != ["kernel:4242"]
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "named"
        time.sleep(0.05)
        sampler.poll(root)
        assert [p.name for p in sampler.procs.values()] == ["kernel:4242"]
    finally:
        child.kill()
        child.wait()
