"""``make bench``: leadnb against DuckDB SQL and plain pandas at a million leads, and the demo run.

Design. One process, one dataset, three implementations of the same work on the same in-memory
frames, so only the code differs:

1. data: ``leadnb sample --leads N --seed S`` into ``.bench/data-<N>-s<S>`` (reused when present),
   loaded through :mod:`leadnb.data.loading` exactly as the notebooks load it (canonical dtypes). Loading is
   timed and reported, but is not part of any comparison.
2. scoring with the demo rules (``params/scoring_rules.yaml``): :func:`leadnb.scoring.engine.score`,
   the SQL of :mod:`benchmarks.duck` and the pandas of :mod:`benchmarks.baseline`; every
   per-lead number (score, categories, rules) must agree.
3. per-lead stage dates plus the monthly cohort matrix (:func:`leadnb.funnel.stages.stage_dates`,
   :func:`leadnb.funnel.cohorts.cohort_matrix`) against the same two baselines; results must agree.
4. the whole ``leadnb run params/demo.yaml --jobs 2`` in a subprocess, into a temporary folder,
   with a breakdown of where the time goes (kernel start, notebook cells, HTML rendering).

Timings are medians over ``--repeats`` runs; each repeat runs the implementations one after the
other, so none of them always goes first. Peak memory of leadnb's scoring is measured on an
extra, untimed call. A mismatch between implementations exits with status 1. Results are also
written to ``.bench/results-<N>.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import baseline, duck
from leadnb.data import loading as io
from leadnb.data.params import load_params
from leadnb.funnel import cohorts
from leadnb.funnel import stages as funnel
from leadnb.scoring import engine as scoring
from leadnb.scoring import rules

ROOT = Path(__file__).resolve().parents[1]
FULL_LEADS = 1_000_000
QUICK_LEADS = 2_000
TARGETS = {
    "scoring_vs_duckdb": 1.0,  # leadnb time / DuckDB time, at most
    "pandas_vs_scoring": 5.0,  # pandas time / leadnb time, at least
    "memory_vs_events": 2.5,  # peak extra memory of score() / events frame, below
    "stage_cohort_seconds": 3.0,  # stage dates + cohort matrix at 1M leads, below
    "demo_run_seconds": 30.0,  # leadnb run params/demo.yaml on 2 cores, below
}


class Mismatch(AssertionError):
    """Two implementations gave different results."""


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Timed:
    """Seconds of each repeat of one implementation, and its last result."""

    name: str
    seconds: list[float] = field(default_factory=list)
    kernel: list[float] = field(default_factory=list)  # system (kernel) CPU seconds per repeat
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def race(impls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, Timed]:
    """Run each implementation ``repeats`` times, interleaved; keep every time and the last result."""
    out = {name: Timed(name) for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            out[name].result = None  # free the previous result before timing again
            gc.collect()
            sys0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
            t0 = time.perf_counter()
            out[name].result = fn()
            out[name].seconds.append(time.perf_counter() - t0)
            out[name].kernel.append(resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys0)
    return out


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory(fn: Callable[[], Any]) -> dict[str, float | None]:
    """Extra memory (bytes) while ``fn`` runs, measured two ways on one call.

    ``rss``: the resident-set high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``)
    minus the resident set before the call; sees every allocation (NumPy, Arrow, DuckDB) but can
    miss memory an allocator reuses from earlier. ``tracemalloc``: the peak of Python and NumPy
    allocations traced during the call (Arrow's own pool is not traced). ``None`` where the
    platform does not offer the measure.
    """
    gc.collect()
    rss = None
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
    except OSError:
        before = None
    tracemalloc.start()
    try:
        result = fn()
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if before is not None:
        hwm = _status_kb("VmHWM")
        rss = None if hwm is None else max(hwm - before, 0) * 1024.0
    del result
    return {"rss": rss, "tracemalloc": float(traced)}


# --------------------------------------------------------------------------------------------
# Data


def data_dir(root: Path, n_leads: int, seed: int) -> Path:
    return root / f"data-{n_leads}-s{seed}"


def ensure_data(root: Path, n_leads: int, seed: int) -> tuple[Path, float | None]:
    """The sample folder for this size and seed, written with ``leadnb sample`` when missing.

    Returns the folder and the seconds the sample took (``None`` when it was reused).
    """
    folder = data_dir(root, n_leads, seed)
    if (folder / "params.yaml").is_file():
        return folder, None
    root.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "leadnb", "sample", "--leads", str(n_leads), "--seed", str(seed),
           "--out", str(folder)]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return folder, time.perf_counter() - t0


def load(folder: Path) -> tuple[dict[str, pd.DataFrame], pd.Timestamp, float]:
    """leads, events, stages through leadnb's loader (as the notebooks do), with the seconds."""
    params = load_params(folder / "params.yaml")
    t0 = time.perf_counter()
    tables = io.load_tables(params, ["leads", "events", "stages"])
    return tables, params.as_of(), time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# Comparing


def compare_scores(reference: pd.DataFrame, other: pd.DataFrame, label: str) -> float:
    """Largest absolute difference over every numeric column; raises :class:`Mismatch`."""
    ref = reference.set_index("lead_id")
    oth = other.set_index("lead_id")
    if len(oth) != len(ref) or not oth.index.sort_values().equals(ref.index.sort_values()):
        raise Mismatch(f"{label}: a different set of leads ({len(oth)} rows vs {len(ref)})")
    oth = oth.loc[ref.index]
    worst = 0.0
    for col in ref.columns:
        a = ref[col].to_numpy(dtype=float)
        b = oth[col].to_numpy(dtype=float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-9):
            bad = int(np.flatnonzero(~np.isclose(a, b, rtol=1e-9, atol=1e-9))[0])
            raise Mismatch(
                f"{label}: column {col!r} differs, e.g. lead {ref.index[bad]}: {a[bad]} vs {b[bad]}"
            )
        worst = max(worst, float(np.max(np.abs(a - b), initial=0.0)))
    return worst


def compare_wide(reference: pd.DataFrame, other: pd.DataFrame, label: str) -> None:
    """Stage-date frames: the same leads and identical dates (NaT where not reached)."""
    ref = reference.set_index("lead_id")
    oth = other.set_index("lead_id")
    if len(oth) != len(ref):
        raise Mismatch(f"{label}: {len(oth)} rows vs {len(ref)}")
    oth = oth.reindex(ref.index)
    for col in ref.columns:
        a = ref[col].astype("datetime64[us]")
        b = oth[col].astype("datetime64[us]")
        same = (a == b) | (a.isna() & b.isna())
        if not same.all():
            bad = same.to_numpy().argmin()
            raise Mismatch(
                f"{label}: {col} differs, e.g. lead {ref.index[bad]}: {a.iloc[bad]} vs {b.iloc[bad]}"
            )


def compare_matrix(reference: pd.DataFrame, other: pd.DataFrame, label: str) -> None:
    """Cohort matrices: same cells, counts, rates and intervals (NaN where immature)."""
    key = ["cohort", "age_months"]
    ref = reference.assign(cohort=reference["cohort"].astype(str)).set_index(key).sort_index()
    oth = other.assign(cohort=other["cohort"].astype(str)).set_index(key).sort_index()
    if not ref.index.equals(oth.index):
        raise Mismatch(f"{label}: different cohort cells")
    for col in ("n", "converted", "rate", "ci_low", "ci_high"):
        a = ref[col].to_numpy(dtype=float)
        b = oth[col].to_numpy(dtype=float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            raise Mismatch(f"{label}: cohort matrix column {col} differs")


# --------------------------------------------------------------------------------------------
# The three comparisons


def demo_configs() -> tuple[rules.ScoringConfig, funnel.FunnelConfig, str, int]:
    """The demo rules, funnel and cohort settings (params/demo.yaml), independent of the data."""
    params = load_params(ROOT / "params" / "demo.yaml")
    section = params.notebook("cohort_conversion")
    return (
        params.scoring,
        params.funnel,
        str(section.get("cohort_stage", "sql")),
        int(section.get("max_age_months") or 12),
    )


def bench_scoring(
    tables: dict[str, pd.DataFrame],
    config: rules.ScoringConfig,
    as_of: pd.Timestamp,
    repeats: int,
    con: Any,
) -> dict[str, Any]:
    leads, events = tables["leads"], tables["events"]
    runs = race(
        {
            "leadnb": lambda: scoring.score(leads, events, config, as_of),
            "duckdb": lambda: duck.score(con, leads, events, config, as_of),
            "duckdb_query": lambda: duck.score(con, leads, events, config, as_of, to_pandas=False),
            "pandas": lambda: baseline.score(leads, events, config, as_of),
        },
        repeats,
    )
    if runs["duckdb_query"].result != len(leads):
        raise Mismatch(f"scoring: DuckDB's table has {runs['duckdb_query'].result} rows")
    ref = runs["leadnb"].result
    diff = max(
        compare_scores(ref, runs["duckdb"].result, "scoring: DuckDB vs leadnb"),
        compare_scores(ref, runs["pandas"].result, "scoring: pandas vs leadnb"),
    )
    for r in runs.values():
        r.result = None
    mem = peak_memory(lambda: scoring.score(leads, events, config, as_of))
    return {
        "seconds": {k: r.seconds for k, r in runs.items()},
        "median": {k: r.median for k, r in runs.items()},
        "kernel": {k: statistics.median(r.kernel) for k, r in runs.items()},
        "max_abs_diff": diff,
        "columns_compared": len(ref.columns) - 1,
        "memory": mem,
        "events_bytes": int(events.memory_usage(deep=True).sum()),
    }


def bench_stages(
    tables: dict[str, pd.DataFrame],
    config: funnel.FunnelConfig,
    stage: str,
    max_age: int,
    as_of: pd.Timestamp,
    repeats: int,
    con: Any,
) -> dict[str, Any]:
    leads, stages = tables["leads"], tables["stages"]

    def leadnb_way() -> tuple[pd.DataFrame, pd.DataFrame]:
        wide = funnel.stage_dates(leads, stages, config)
        return wide, cohorts.cohort_matrix(wide, stage, as_of, freq="M", max_age=max_age)

    def pandas_way() -> tuple[pd.DataFrame, pd.DataFrame]:
        wide = baseline.stage_dates(leads, stages, config)
        return wide, baseline.cohort_matrix(wide, stage, as_of, max_age)

    runs = race(
        {
            "leadnb": leadnb_way,
            "duckdb": lambda: duck.stage_dates_and_cohorts(
                con, leads, stages, config, stage, as_of, max_age
            ),
            "pandas": pandas_way,
        },
        repeats,
    )
    wide, matrix = runs["leadnb"].result
    for name in ("duckdb", "pandas"):
        other_wide, other_matrix = runs[name].result
        compare_wide(wide, other_wide, f"stage dates: {name} vs leadnb")
        compare_matrix(matrix, other_matrix, f"cohort matrix: {name} vs leadnb")
    return {
        "seconds": {k: r.seconds for k, r in runs.items()},
        "median": {k: r.median for k, r in runs.items()},
        "kernel": {k: statistics.median(r.kernel) for k, r in runs.items()},
        "cells": int(len(matrix)),
        "reached": int(wide[f"{stage}_at"].notna().sum()),
    }


def _kernel_start_seconds(kernel: str = "leadnb") -> float | None:
    """Seconds to start the notebook kernel as a run starts it (its arguments) and get its first
    reply (then shut it down)."""
    try:
        from jupyter_client.manager import start_new_kernel
    except ImportError:
        return None
    from leadnb.run.kernels import KERNEL_ARGS

    t0 = time.perf_counter()
    try:
        km, kc = start_new_kernel(
            kernel_name=kernel, stderr=subprocess.DEVNULL, extra_arguments=list(KERNEL_ARGS)
        )
    except Exception:
        return None
    try:
        kc.execute_interactive("pass", timeout=60)
        return time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


NOTEBOOK_MODULES = (
    "leadnb.report.notebook", "leadnb.report.answers", "leadnb.report.plots.scoring",
    "leadnb.report.plots.funnel", "leadnb.report.plots.roi", "leadnb.report.plots.experiments",
    "leadnb.scoring.calibration", "leadnb.scoring.segments", "leadnb.scoring.model",
    "leadnb.scoring.queue", "leadnb.funnel.cohorts", "leadnb.funnel.survival",
    "leadnb.funnel.value_map", "leadnb.funnel.velocity", "leadnb.roi.effect", "leadnb.roi.whatif",
    "leadnb.experiments.readout", "leadnb.experiments.sequential", "leadnb.experiments.adjust",
    "leadnb.data.distributed",
)  # fmt: skip
"""What the four notebooks import from leadnb (the import time a kernel pays)."""


def _import_seconds() -> float:
    """Seconds a fresh Python takes to import what the notebooks import (leadnb and friends)."""
    code = (
        "import time; t = time.perf_counter();"
        "import matplotlib.pyplot, seaborn, statsmodels.api, lifelines, ipywidgets;"
        + "".join(f"import {m};" for m in NOTEBOOK_MODULES)
        + "print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"importing the notebooks' modules failed:\n{done.stderr}") from None


def _cell_seconds(ipynb: Path) -> tuple[float, float]:
    """(all cells, the first cell after the parameters) seconds from Papermill's cell metadata.

    The first cell after the parameters is where each notebook imports and loads its tables.
    """
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    durations, first = [], None
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        seconds = float((c.get("metadata", {}).get("papermill") or {}).get("duration") or 0.0)
        durations.append(seconds)
        tags = c.get("metadata", {}).get("tags", [])
        if first is None and not {"parameters", "injected-parameters"} & set(tags):
            first = seconds
    return sum(durations), first or 0.0


_START = re.compile(r"^\[start\] (\S+)")
_DONE = re.compile(r"^\[\d+/\d+\] \S+\s+(\S+) \(")


def bench_demo_run(jobs: int = 2) -> dict[str, Any]:
    """Wall time of ``leadnb run params/demo.yaml --jobs N`` into a temporary folder, with a
    timeline read from the runner's progress lines (start-up and checks, each notebook's worker
    from start to finish, the index at the end)."""
    params = ROOT / "params" / "demo.yaml"
    if not (ROOT / "data" / "demo" / "leads.csv").is_file():
        return {"skipped": "data/demo is missing: run `make demo-data` first"}
    with tempfile.TemporaryDirectory(prefix="leadnb-bench-run-") as tmp:
        cmd = [sys.executable, "-m", "leadnb", "run", str(params), "--out", tmp,
               "--jobs", str(jobs)]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        assert proc.stdout is not None
        started: dict[str, float] = {}
        finished: dict[str, float] = {}
        first_start = None
        tail: list[str] = []
        for line in proc.stdout:
            now = time.perf_counter() - t0
            tail = [*tail[-4:], line.rstrip()]
            if m := _START.match(line):
                started[m.group(1)] = now
                first_start = now if first_start is None else first_start
            elif m := _DONE.match(line):
                finished[m.group(1)] = now
        code = proc.wait()
        wall = time.perf_counter() - t0
        if code != 0:
            return {"failed": tail, "wall": wall}
        manifest_path = next(Path(tmp).glob("*/manifest.json"))
        manifest = json.loads(manifest_path.read_text())
        notebooks = {}
        for entry in manifest["notebooks"]:
            name = entry["name"]
            cells, first = _cell_seconds(manifest_path.parent / entry["ipynb"])
            span = finished.get(name, np.nan) - started.get(name, np.nan)
            notebooks[name] = {"seconds": entry["seconds"], "cells": cells, "first_cell": first,
                               "span": span}  # fmt: skip
    return {
        "wall": wall,
        "jobs": jobs,
        "before_notebooks": first_start,
        "after_notebooks": wall - max(finished.values(), default=wall),
        "notebooks": notebooks,
        "kernel_start": _kernel_start_seconds(),
        "imports": _import_seconds(),
    }


# --------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    """CPU model, cores and RAM of this machine (from /proc where available)."""
    cpu = platform.processor() or platform.machine()
    ram = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    import duckdb
    import pyarrow

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_bytes": ram,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "pyarrow": pyarrow.__version__,
        "duckdb": duckdb.__version__,
    }


def _mb(n: float | None) -> str:
    return "n/a" if n is None else f"{n / 1e6:,.0f} MB"


def _spread(part: dict[str, Any], name: str) -> str:
    """Min and max over the repeats, and the median kernel (system) CPU time of a call."""
    seconds = part["seconds"][name]
    spread = f"min {min(seconds):.2f}, max {max(seconds):.2f}; " if len(seconds) > 1 else ""
    return f"  ({spread}kernel time {part['kernel'][name]:.2f} s)"


def targets(results: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """(target, held or None when not measured, measured value) for each target of the issue."""
    rows: list[tuple[str, bool | None, str]] = []
    sc = results["scoring"]["median"]
    ratio = sc["leadnb"] / sc["duckdb"]
    rows.append(("scoring time leadnb / DuckDB <= 1.0", ratio <= TARGETS["scoring_vs_duckdb"],
                 f"{ratio:.2f}"))  # fmt: skip
    speed = sc["pandas"] / sc["leadnb"]
    rows.append(("scoring >= 5x faster than pandas merge/groupby",
                 speed >= TARGETS["pandas_vs_scoring"], f"{speed:.1f}x"))  # fmt: skip
    mem = results["scoring"]["memory"]
    peak = max(v for v in (mem["rss"], mem["tracemalloc"]) if v is not None)
    rel = peak / results["scoring"]["events_bytes"]
    rows.append(("peak memory of scoring < 2.5x the events frame",
                 rel < TARGETS["memory_vs_events"], f"{rel:.2f}x"))  # fmt: skip
    st = results["stages"]["median"]["leadnb"]
    rows.append(("stage dates + cohort matrix < 3 s at 1M leads",
                 st < TARGETS["stage_cohort_seconds"], f"{st:.2f} s"))  # fmt: skip
    run = results.get("demo_run") or {}
    if "wall" in run and "failed" not in run:
        rows.append(("full demo run < 30 s on 2 cores", run["wall"] < TARGETS["demo_run_seconds"],
                     f"{run['wall']:.1f} s"))  # fmt: skip
    else:
        rows.append(("full demo run < 30 s on 2 cores", None, "not run"))
    return rows


def report(results: dict[str, Any]) -> str:
    """The printed report (plain text, one figure per line)."""
    m = results["machine"]
    d = results["data"]
    sc = results["scoring"]
    st = results["stages"]
    ram = f"{m['ram_bytes'] / 2**30:.1f} GiB RAM" if m["ram_bytes"] else "RAM unknown"
    made = "reused" if d["sample_seconds"] is None else f"written in {d['sample_seconds']:.1f} s"
    lines = [
        f"leadnb benchmark: {d['leads']:,} leads, {d['events']:,} events, "
        f"{d['stage_entries']:,} stage entries (seed {d['seed']})",
        f"machine: {m['cpu']}, {m['cores']} cores, {ram}; Python {m['python']}, "
        f"pandas {m['pandas']}, numpy {m['numpy']}, pyarrow {m['pyarrow']}, duckdb {m['duckdb']}",
        f"data: {d['folder']} ({made}); loaded through leadnb.data.loading in {d['load_seconds']:.1f} s "
        "(not part of the comparisons)",
        f"events frame in memory: {_mb(sc['events_bytes'])} (memory_usage(deep=True))",
        f"repeats: {results['repeats']} (median wall time shown, implementations interleaved; "
        "kernel time is system CPU time, mostly page faults on fresh memory); "
        f"DuckDB threads: {results['duckdb_threads']} (DuckDB's default: every core)",
        "",
        f"1. Scoring, demo rules ({sc['rules']} rules), as of {results['as_of']}",
        f"   leadnb score()          {sc['median']['leadnb']:7.2f} s{_spread(sc, 'leadnb')}",
        f"   DuckDB SQL to pandas    {sc['median']['duckdb']:7.2f} s{_spread(sc, 'duckdb')}",
        f"   DuckDB, query alone     {sc['median']['duckdb_query']:7.2f} s"
        f"{_spread(sc, 'duckdb_query')}  (result kept in DuckDB, not handed to pandas)",
        f"   pandas merge/groupby    {sc['median']['pandas']:7.2f} s{_spread(sc, 'pandas')}",
        f"   agree: yes (score, categories and {sc['columns_compared'] - 1 - len(sc['categories'])} "
        f"rule columns; max |difference| {sc['max_abs_diff']:.1e})",
        f"   ratio leadnb / DuckDB   {sc['median']['leadnb'] / sc['median']['duckdb']:7.2f}"
        f"  (against the query alone: "
        f"{sc['median']['leadnb'] / sc['median']['duckdb_query']:.2f})",
        f"   pandas / leadnb         {sc['median']['pandas'] / sc['median']['leadnb']:7.1f}x",
        f"   peak extra memory of one leadnb score() call: {_mb(sc['memory']['rss'])} "
        f"(RSS high-water mark minus RSS before, /proc/self/status VmHWM after clear_refs), "
        f"{_mb(sc['memory']['tracemalloc'])} (tracemalloc peak: Python + NumPy, not Arrow)",
        "",
        f"2. Per-lead stage dates + cohort matrix ({results['cohort_stage']}, monthly, "
        f"{st['cells']} cells; {st['reached']:,} leads reached {results['cohort_stage']})",
        f"   leadnb stage_dates + cohort_matrix {st['median']['leadnb']:6.2f} s"
        f"{_spread(st, 'leadnb')}",
        f"   DuckDB SQL                         {st['median']['duckdb']:6.2f} s"
        f"{_spread(st, 'duckdb')}",
        f"   pandas pivot/merge/groupby         {st['median']['pandas']:6.2f} s"
        f"{_spread(st, 'pandas')}",
        "   agree: yes (every stage date of every lead; every cohort cell's n, converted, rate, CI)",
        "",
    ]
    run = results.get("demo_run")
    if not run:
        lines.append("3. Full demo run: not run (pass --with-run)")
    elif "skipped" in run:
        lines.append(f"3. Full demo run: skipped ({run['skipped']})")
    elif "failed" in run:
        lines.append("3. Full demo run FAILED: " + " | ".join(run["failed"]))
    else:
        lines.append(
            f"3. Full demo run (`leadnb run params/demo.yaml --jobs {run['jobs']}`, 20,000 leads, "
            f"4 notebooks + HTML): {run['wall']:.1f} s wall"
        )
        lines.append(
            f"   before the first notebook starts (CLI start, loading and checking every table): "
            f"{run['before_notebooks']:.1f} s; after the last one (manifest, index): "
            f"{run['after_notebooks']:.1f} s"
        )
        for name, nb in run["notebooks"].items():
            lines.append(
                f"   {name:20s} worker {nb['span']:4.1f} s = executing {nb['seconds']:4.1f} s "
                f"(cells {nb['cells']:4.1f} s, of which imports + loading {nb['first_cell']:3.1f} s;"
                f" kernel start + Papermill {nb['seconds'] - nb['cells']:3.1f} s)"
                f" + HTML and worker start {nb['span'] - nb['seconds']:3.1f} s"
            )
        parts = []
        if run.get("kernel_start"):
            parts.append(f"one kernel start alone takes {run['kernel_start']:.1f} s")
        parts.append(f"importing the notebooks' libraries in a fresh Python {run['imports']:.1f} s")
        lines.append("   for scale: " + "; ".join(parts))
    lines += ["", "Targets (from issue 8)"]
    for name, held, value in targets(results):
        status = "----" if held is None else ("PASS" if held else "MISS")
        lines.append(f"  {status}  {name:52s} {value}")
    if d["leads"] != FULL_LEADS:
        lines.append(
            f"  (targets are defined at {FULL_LEADS:,} leads; this run has {d['leads']:,})"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help=f"smoke size: {QUICK_LEADS:,} leads, 1 repeat, no demo run")  # fmt: skip
    p.add_argument("--leads", type=int, default=None, help=f"leads ({FULL_LEADS:,})")
    p.add_argument("--seed", type=int, default=42, help="sample seed (42)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (3; quick: 1)")
    p.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    p.add_argument("--with-run", dest="with_run", action="store_true", default=None,
                   help="also time `leadnb run params/demo.yaml` (default unless --quick)")  # fmt: skip
    p.add_argument("--no-run", dest="with_run", action="store_false", help="skip the demo run")
    p.add_argument("--data-root", type=Path, default=ROOT / ".bench",
                   help="folder for sample data and results (.bench)")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every benchmark and return the results (raises :class:`Mismatch` on disagreement)."""
    n_leads = args.leads or (QUICK_LEADS if args.quick else FULL_LEADS)
    repeats = args.repeats or (1 if args.quick else 3)
    with_run = (not args.quick) if args.with_run is None else args.with_run
    folder, sample_seconds = ensure_data(args.data_root, n_leads, args.seed)
    tables, as_of, load_seconds = load(folder)
    score_cfg, funnel_cfg, stage, max_age = demo_configs()
    con = duck.connect(args.threads)
    results: dict[str, Any] = {
        "machine": machine(),
        "as_of": str(as_of.date()),
        "repeats": repeats,
        "duckdb_threads": duck.threads(con),
        "cohort_stage": stage,
        "data": {
            "folder": os.path.relpath(folder, Path.cwd()),
            "leads": len(tables["leads"]),
            "events": len(tables["events"]),
            "stage_entries": len(tables["stages"]),
            "seed": args.seed,
            "sample_seconds": sample_seconds,
            "load_seconds": load_seconds,
        },
    }
    results["scoring"] = bench_scoring(tables, score_cfg, as_of, repeats, con)
    results["scoring"]["rules"] = len(score_cfg.rules)
    results["scoring"]["categories"] = list(score_cfg.categories)
    results["stages"] = bench_stages(tables, funnel_cfg, stage, max_age, as_of, repeats, con)
    con.close()
    del tables
    gc.collect()
    if with_run:
        results["demo_run"] = bench_demo_run(jobs=2)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        results = run(args)
    except Mismatch as err:
        print(f"MISMATCH: {err}", file=sys.stderr)
        return 1
    print(report(results), flush=True)
    out = args.data_root / f"results-{results['data']['leads']}.json"
    out.write_text(json.dumps({**results, "targets": targets(results)}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
