"""``make bench`` scaling table: the whole run and its peak memory as the data grows.

Design. For each size (20,000, 200,000 and 1,000,000 leads; 5,000,000 with ``--large``), on the
sample ``leadnb sample --leads N --seed S`` in ``.bench/data-<N>-s<S>`` (reused when present,
see :func:`benchmarks.run.ensure_data`):

1. the input files the params file names (its ``data`` section) are read once, untimed, so the
   page cache is warm for both measurements;
2. one DuckDB read of the same files, timed: every table ``read_csv`` / ``read_parquet`` into a
   DuckDB table (DuckDB's own type inference, every core), the yardstick "how long does it take
   just to read this data";
3. the full run, ``leadnb run <sample>/params.yaml --jobs 2`` (four notebooks and their HTML)
   into a temporary folder, timed from start to exit, while a thread polls the whole process
   tree (psutil, every 0.1 s): each process's resident set (RSS) and, on Linux, its high-water
   mark (``VmHWM``), so a peak between two polls is not missed. Processes are named by their
   role: ``runner`` (the ``leadnb run`` process), ``worker <notebook>`` (the process that runs
   one notebook and renders its HTML), ``kernel <notebook>`` (its Jupyter kernel).

Steps 2 and 3 are repeated (``--repeat``, 3 by default) and the median run is shown, with the
range of the runs beside it: on the shared virtual machines measured here the same run's time
drifts by a fifth to a third within minutes (the CPU seconds of the same work drift with it),
so one run is a sample of the machine as much as of the code.

The table prints, per size: leads, events, input MB on disk, run seconds, the range of the
repeats' run seconds, the run's CPU seconds
(user + system of every process: the benchmark's children's times), the peak RSS of the largest
process and its role, DuckDB's read seconds, the ratio run / read, and run seconds per million
leads; under it, the largest size's CPU seconds by kind of process (runner, workers, zygote,
each notebook's kernel: each process's own times at the last poll that saw it), and how much the
time and the memory grew against the data. On 2 cores a run cannot take less than half of its
CPU seconds, and their split says where the time goes; they drift with the machine's speed as
much as the wall time does (a before/after comparison needs back-to-back runs). Sizes run one
after the other, never two at once. Results are also written to ``.bench/scaling-<sizes>.json``
with the machine, the date and the commit.

Run: ``.venv/bin/python -m benchmarks.scaling [--sizes 20000,200000,1000000] [--large]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from benchmarks.run import ROOT, ensure_data, machine
from leadnb.run.zygote import kernel_owner

SIZES = (20_000, 200_000, 1_000_000)
LARGE = 5_000_000
REPEAT = 3
"""Runs of each size (``--repeat``): the table shows the median run, the range beside it."""
POLL_SECONDS = 0.1
# `leadnb sample` builds every table in memory: measured 245 MB at 20,000 leads, 759 MB at
# 200,000 and 11.9 GB at 5,000,000 (about 2.4 KB a lead). A sample is not started when less
# than this estimate is available, so a large size never pushes a shared machine into its
# out-of-memory killer.
SAMPLE_BYTES_PER_LEAD = 2_400
SAMPLE_BYTES_FIXED = 250e6
_WORKER_RESULT = re.compile(r"\.([^/\\]+)\.result\.json$")
_DONE = re.compile(r"^\[\d+/\d+\] \S+\s+(\S+) \(")  # the runner's "[2/4] ok     roi (9.1 s)"


# --------------------------------------------------------------------------------------------
# Memory of a process tree


@dataclass
class ProcessPeak:
    """One process of the run: its role, its command and the largest resident set seen."""

    pid: int
    ppid: int
    cmdline: list[str]
    peak_rss: int = 0
    name: str = ""  # the process name: a kernel forked by the run's zygote is "kernel:<worker>"
    role: str = ""
    last_seen: float = 0.0  # time.perf_counter() of the last poll that found it alive
    cpu_seconds: float = 0.0  # its user + system CPU time at the last poll that found it alive


def _hwm_bytes(pid: int) -> int:
    """The process's resident high-water mark (``VmHWM`` in /proc), 0 where not available."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def is_worker(proc: ProcessPeak) -> bool:
    """A notebook worker: ``python -m leadnb.run.runner <result file> <runner pid>``."""
    return "leadnb.run.runner" in proc.cmdline


def role_of(
    proc: ProcessPeak,
    procs: dict[int, ProcessPeak],
    root: int,
    notebooks: dict[int, str] | None = None,
    kernels: dict[int, str] | None = None,
) -> str:
    """``runner``, ``worker <notebook>``, ``kernel <notebook>`` or ``other <program>``.

    A worker's notebook is ``notebooks[pid]`` (see :func:`match_workers`), else read from its
    result file ``<run>/.<notebook>.result.json`` when its command names it; a kernel belongs to
    the notebook of its nearest worker ancestor.

    >>> w = ProcessPeak(2, 1, ["python", "-m", "leadnb.run.runner", "/r/.roi.result.json", "1"])
    >>> k = ProcessPeak(3, 2, ["python", "-m", "ipykernel_launcher", "-f", "k.json"])
    >>> procs = {1: ProcessPeak(1, 0, ["leadnb", "run"]), 2: w, 3: k}
    >>> [role_of(p, procs, root=1) for p in procs.values()]
    ['runner', 'worker roi', 'kernel roi']
    >>> role_of(k, procs, root=1, notebooks={2: "ab_testing"})
    'kernel ab_testing'
    >>> z = ProcessPeak(4, 1, ["python", "-m", "leadnb.run.zygote"], name="kernel:2")
    >>> role_of(z, {**procs, 4: z}, root=1)
    'kernel roi'
    >>> role_of(z, {**procs, 4: z}, root=1, kernels={4: "nurture_roi"})  # a reused worker's
    'kernel nurture_roi'
    >>> role_of(ProcessPeak(5, 1, ["python", "-m", "leadnb.run.zygote"]), procs, root=1)
    'zygote'
    >>> role_of(ProcessPeak(6, 1, ["leadnb", "run"]), procs, root=1)  # forked for its checks
    'runner'
    """
    notebooks = notebooks or {}
    if proc.pid == root:
        return "runner"
    main = procs.get(root)
    if proc.ppid == root and main is not None and proc.cmdline == main.cmdline:
        return "runner"  # a fork of the runner (the analysis checks beside the validation)
    if kernels and proc.pid in kernels:  # each notebook has a kernel of its own
        return f"kernel {kernels[proc.pid]}"
    cmd = proc.cmdline
    if is_worker(proc):
        if proc.pid in notebooks:
            return f"worker {notebooks[proc.pid]}"
        match = next((m for a in cmd if (m := _WORKER_RESULT.search(a))), None)
        return f"worker {match.group(1)}" if match else "worker (no notebook)"
    owner = kernel_owner(proc.name)  # forked by the zygote: the worker that asked for it
    if owner is not None and owner in procs:
        return "kernel " + role_of(procs[owner], procs, root, notebooks).removeprefix("worker ")
    if owner is None and "leadnb.run.zygote" in cmd:
        return "zygote"
    if any("ipykernel" in a for a in cmd):
        seen: set[int] = set()
        parent = procs.get(proc.ppid)
        while parent is not None and parent.pid not in seen:
            seen.add(parent.pid)
            if parent.pid != root and is_worker(parent):
                worker = role_of(parent, procs, root, notebooks)
                return "kernel " + worker.removeprefix("worker ").strip()
            parent = procs.get(parent.ppid)
        return "kernel"
    name = Path(cmd[0]).name if cmd else "?"
    return f"other {name}"


def match_workers(workers: Sequence[ProcessPeak], finished: dict[str, float]) -> dict[int, str]:
    """Which notebook each worker (or kernel) ran, from when it was last seen alive and when the
    runner printed each ``[k/n] ok <notebook>`` line.

    A process ends before its notebook's finish line (a kernel ends, its worker renders the
    report, then the runner prints the line; a worker exits, then the runner collects it), so
    a process can only have run a notebook whose line came after it was last seen; among the
    matchings that respect this, the one with the least total time between a process's end and
    its notebook's line (an optimal assignment, not a greedy one: when two notebooks end within
    a report's rendering of each other, the closest pair is often the wrong one). A process
    seen alive after every line (a worker started ahead of need, a pool's worker) stays
    unmatched.

    >>> a, b = ProcessPeak(2, 1, []), ProcessPeak(3, 1, [])
    >>> a.last_seen, b.last_seen = 10.0, 4.1
    >>> sorted(match_workers([a, b], {"roi": 4.2, "ab_testing": 10.05}).items())
    [(2, 'ab_testing'), (3, 'roi')]
    >>> a.last_seen, b.last_seen = 5.78, 5.46  # a's line is the later one, not the closer
    >>> sorted(match_workers([a, b], {"ab_testing": 5.77, "scoring": 6.02}).items())
    [(2, 'scoring'), (3, 'ab_testing')]
    """
    from scipy.optimize import linear_sum_assignment

    names = list(finished)
    if not workers or not names:
        return {}
    gap = np.array([[finished[n] - w.last_seen for n in names] for w in workers])
    invalid = gap <= 0
    cost = np.where(invalid, 1e9, gap)
    rows, cols = linear_sum_assignment(cost)
    return {workers[r].pid: names[c] for r, c in zip(rows, cols, strict=True) if not invalid[r, c]}


class TreeSampler:
    """Polls a process and all its descendants every ``interval`` seconds in a thread.

    Use as a context manager around the wait for the root process; :attr:`procs` then holds
    every process seen, keyed by (pid, start time), with its largest RSS or high-water mark.
    """

    def __init__(self, root: int, interval: float = POLL_SECONDS) -> None:
        self.root = root
        self.interval = interval
        self.procs: dict[tuple[int, float], ProcessPeak] = {}
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        try:
            root = psutil.Process(self.root)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            self.poll(root)
            self._stop.wait(self.interval)

    def poll(self, root: psutil.Process) -> None:
        """One look at the tree: every live process's RSS and high-water mark."""
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        self.polls += 1
        for p in tree:
            try:
                with p.oneshot():
                    key = (p.pid, p.create_time())
                    rss = p.memory_info().rss
                    times = p.cpu_times()
                    entry = self.procs.get(key)
                    if entry is None:
                        entry = ProcessPeak(p.pid, p.ppid(), p.cmdline(), name=p.name())
                        self.procs[key] = entry
                    elif kernel_owner(entry.name) is None:  # a fork names itself a moment later
                        entry.name = p.name()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            entry.peak_rss = max(entry.peak_rss, rss, _hwm_bytes(p.pid))
            entry.cpu_seconds = max(entry.cpu_seconds, times.user + times.system)
            entry.last_seen = time.perf_counter()

    def peaks(self, finished: dict[str, float] | None = None) -> list[ProcessPeak]:
        """Every process seen, with its role, largest first; ``finished`` (notebook: time of
        its finish line) names the workers (:func:`match_workers`)."""
        by_pid = {p.pid: p for p in self.procs.values()}
        workers = [p for p in by_pid.values() if is_worker(p) and p.pid != self.root]
        notebooks = match_workers(workers, finished or {})
        # a worker of a pool runs several notebooks, each in a kernel of its own (forked by
        # the zygote, named after the worker): the kernels are matched to the finish lines,
        # and a worker is named after the notebooks its kernels ran
        forked = [p for p in by_pid.values() if kernel_owner(p.name) is not None]
        kernels = match_workers(forked, finished or {})
        ran: dict[int, list[str]] = {}
        for k in sorted(forked, key=lambda p: p.last_seen):
            if k.pid in kernels:
                ran.setdefault(kernel_owner(k.name) or 0, []).append(kernels[k.pid])
        notebooks |= {pid: ", ".join(names) for pid, names in ran.items()}
        for p in self.procs.values():
            p.role = role_of(p, by_pid, self.root, notebooks, kernels)
        return sorted(self.procs.values(), key=lambda p: -p.peak_rss)


# --------------------------------------------------------------------------------------------
# One size


@dataclass
class Row:
    """The measures of one size."""

    leads: int
    events: int
    input_bytes: int
    run_seconds: float
    peak_rss: int
    peak_role: str
    duckdb_seconds: float
    folder: str
    sample_seconds: float | None = None
    cpu_user: float = 0.0
    cpu_system: float = 0.0
    polls: int = 0
    load_average: float | None = None  # 1-minute load average of the machine as the run started
    load_average_end: float | None = None  # ... and as it ended (mostly the load during the run)
    processes: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    runs: list[float] = field(default_factory=list)  # every repeat's run seconds, in order
    reads: list[float] = field(default_factory=list)  # ... and its DuckDB read's
    peaks: list[int] = field(default_factory=list)  # ... and its largest process's peak RSS

    @property
    def ratio(self) -> float:
        """Run seconds over DuckDB's read seconds."""
        return self.run_seconds / self.duckdb_seconds

    @property
    def seconds_per_million(self) -> float:
        return self.run_seconds / (self.leads / 1e6)

    @property
    def cpu_seconds(self) -> float:
        """User + system CPU seconds of every process of the run."""
        return self.cpu_user + self.cpu_system


class RunFailed(RuntimeError):
    """The run exited with an error; the message ends with the last lines of its output."""


def input_files(params_path: Path) -> dict[str, Path]:
    """Every file table of the params file's ``data`` section, by table name."""
    from leadnb.data.params import load_params

    params = load_params(params_path)
    return {name: src.path for name, src in params.data.items() if src.path is not None}


def warm(files: dict[str, Path]) -> None:
    """Read every file once (into the page cache), so neither measurement pays the disk."""
    for path in files.values():
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_read(files: dict[str, Path], threads: int | None = None) -> tuple[float, dict[str, int]]:
    """Seconds of one DuckDB read of every file into a DuckDB table, and each table's rows.

    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = (tmp / "leads.csv").write_text("lead_id,created_at\\nL1,2026-01-01\\nL2,2026-01-02\\n")
    >>> duckdb_read({"leads": tmp / "leads.csv"})[1]
    {'leads': 2}
    """
    import duckdb

    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        t0 = time.perf_counter()
        for name, path in files.items():
            reader = "read_parquet" if path.suffix.lower() == ".parquet" else "read_csv"
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {reader}({_literal(str(path))})')
        seconds = time.perf_counter() - t0
        rows = {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in files}
    finally:
        con.close()
    return seconds, rows


def full_run(params_path: Path, jobs: int = 2) -> dict[str, Any]:
    """``leadnb run <params> --jobs N`` into a temporary folder: wall seconds, the CPU seconds
    of the whole tree, and every process's peak memory (:class:`TreeSampler`).

    Raises :class:`RunFailed` when the run exits with an error.
    """
    with tempfile.TemporaryDirectory(prefix="leadnb-scaling-") as tmp:
        log_path = Path(tmp) / "run.log"
        cmd = [sys.executable, "-m", "leadnb", "run", str(params_path), "--out",
               str(Path(tmp) / "out"), "--jobs", str(jobs)]  # fmt: skip
        before = os.times()
        finished: dict[str, float] = {}
        with open(log_path, "w", encoding="utf-8") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
            assert proc.stdout is not None
            with TreeSampler(proc.pid) as sampler:
                for line in proc.stdout:
                    if m := _DONE.match(line):
                        finished[m.group(1)] = time.perf_counter()
                    log.write(line)
                code = proc.wait()
            wall = time.perf_counter() - t0
        after = os.times()
        if code != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-8:]
            raise RunFailed(f"`{' '.join(cmd[2:])}` exited with {code}: " + " | ".join(tail))
    peaks = sampler.peaks(finished)
    return {
        "wall": wall,
        "cpu_user": after.children_user - before.children_user,
        "cpu_system": after.children_system - before.children_system,
        "polls": sampler.polls,
        "processes": [
            {"role": p.role, "pid": p.pid, "peak_rss": p.peak_rss, "cpu_seconds": p.cpu_seconds}
            for p in peaks
            if p.peak_rss
        ],
    }


def sample_bytes(n_leads: int) -> float:
    """Estimated peak memory of ``leadnb sample --leads n_leads`` (see SAMPLE_BYTES_PER_LEAD)."""
    return SAMPLE_BYTES_FIXED + SAMPLE_BYTES_PER_LEAD * n_leads


PROCESS_BYTES_FIXED = 300e6  # a Python process with the analysis libraries imported, no data


def run_bytes(rows: Sequence[Row], n_leads: int, jobs: int = 2) -> float:
    """Memory a run at ``n_leads`` may need, from the sizes measured before it: the largest
    ``jobs + 1`` process peaks (the runner and the notebooks running at once) summed, and
    extrapolated in a straight line through the last two sizes; from one size, what each peak
    holds beyond an empty process (:data:`PROCESS_BYTES_FIXED`) scaled with the leads. Scaling
    whole peaks would count the libraries and the charts, the same at every size, 50 times
    from 20,000 leads to a million.

    >>> r = Row(leads=1_000, events=0, input_bytes=0, run_seconds=1, peak_rss=0, peak_role="",
    ...         duckdb_seconds=1, folder="", processes=[{"peak_rss": 400e6}] * 3)
    >>> round(run_bytes([r], 10_000) / 1e9, 2)  # 3 x (0.3 + 0.1 x 10)
    3.9
    """

    def top(row: Row) -> float:
        return sum(sorted((p["peak_rss"] for p in row.processes), reverse=True)[: jobs + 1])

    last = rows[-1]
    if len(rows) >= 2 and rows[-2].leads < last.leads:
        prev = rows[-2]
        slope = max(0.0, (top(last) - top(prev)) / (last.leads - prev.leads))
        return top(last) + slope * (n_leads - last.leads)
    fixed = PROCESS_BYTES_FIXED * min(jobs + 1, len(last.processes))
    return fixed + max(0.0, top(last) - fixed) * n_leads / last.leads


def measure(
    n_leads: int, *, seed: int, data_root: Path, jobs: int, threads: int | None = None
) -> Row:
    """Every measure of one size (see the module docstring), sample written when missing."""
    folder = data_root / f"data-{n_leads}-s{seed}"
    if not (folder / "params.yaml").is_file():
        need, have = sample_bytes(n_leads), psutil.virtual_memory().available
        if need > have:
            raise MemoryError(
                f"writing the {n_leads:,}-lead sample needs about {need / 1e9:.1f} GB and "
                f"{have / 1e9:.1f} GB is available"
            )
    folder, sample_seconds = ensure_data(data_root, n_leads, seed)
    params_path = folder / "params.yaml"
    files = input_files(params_path)
    warm(files)
    read_seconds, rows = duckdb_read(files, threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    run = full_run(params_path, jobs)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    top = run["processes"][0] if run["processes"] else {"role": "?", "peak_rss": 0}
    return Row(
        leads=rows["leads"],
        events=rows.get("events", 0),
        input_bytes=sum(p.stat().st_size for p in files.values()),
        run_seconds=run["wall"],
        peak_rss=int(top["peak_rss"]),
        peak_role=str(top["role"]),
        duckdb_seconds=read_seconds,
        folder=str(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder),
        sample_seconds=sample_seconds,
        cpu_user=run["cpu_user"],
        cpu_system=run["cpu_system"],
        polls=run["polls"],
        load_average=load,
        load_average_end=load_end,
        processes=run["processes"],
        tables=rows,
    )


# --------------------------------------------------------------------------------------------
# Report

HEADER = (
    "leads",
    "events",
    "input MB",
    "run s",
    "runs s",
    "CPU s",
    "peak RSS MB",
    "largest process",
    "DuckDB read s",
    "run / read",
    "s per M leads",
)


def repeated(rows: Sequence[Row]) -> Row:
    """One size measured several times, as one row: the median run (by its wall time; its CPU
    seconds and process split), the median DuckDB read, the largest peak of any repeat (memory
    is a limit, not a typical value) and every repeat's times and peak in ``runs``, ``reads``
    and ``peaks``.

    >>> def r(run, read, peak):
    ...     return Row(leads=10, events=0, input_bytes=1, run_seconds=run, peak_rss=peak,
    ...                peak_role=f"p{peak}", duckdb_seconds=read, folder="x")
    >>> m = repeated([r(30.0, 2.0, 5), r(27.0, 2.4, 9), r(28.0, 2.2, 7)])
    >>> m.run_seconds, m.duckdb_seconds, m.peak_rss, m.peak_role, m.runs, m.reads, m.peaks
    (28.0, 2.2, 9, 'p9', [30.0, 27.0, 28.0], [2.0, 2.4, 2.2], [5, 9, 7])
    """
    if not rows:
        raise ValueError("no runs to summarise")
    runs = [r.run_seconds for r in rows]
    reads = [r.duckdb_seconds for r in rows]
    median = sorted(rows, key=lambda r: r.run_seconds)[(len(rows) - 1) // 2]
    top = max(rows, key=lambda r: r.peak_rss)
    return replace(
        median,
        duckdb_seconds=sorted(reads)[(len(reads) - 1) // 2],
        peak_rss=top.peak_rss,
        peak_role=top.peak_role,
        runs=runs,
        reads=reads,
        peaks=[r.peak_rss for r in rows],
    )


def table_rows(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    """The printed cells of each row, in the order of :data:`HEADER`."""
    return [
        (
            f"{r.leads:,}",
            f"{r.events:,}",
            f"{r.input_bytes / 1e6:,.0f}",
            f"{r.run_seconds:.1f}",
            f"{min(r.runs):.1f}-{max(r.runs):.1f}" if len(r.runs) > 1 else "",
            f"{r.cpu_seconds:.1f}",
            f"{r.peak_rss / 1e6:,.0f}",
            r.peak_role,
            f"{r.duckdb_seconds:.2f}",
            f"{r.ratio:.1f}",
            f"{r.seconds_per_million:,.1f}",
        )
        for r in rows
    ]


def growth(rows: Sequence[Row]) -> str | None:
    """One line: from the smallest to the largest size, how much data, time and memory grew."""
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    return (
        f"from {a.leads:,} to {b.leads:,} leads ({b.leads / a.leads:,.0f}x the leads, "
        f"{b.input_bytes / a.input_bytes:,.0f}x the input bytes): run time "
        f"{b.run_seconds / a.run_seconds:,.1f}x, peak memory of one process "
        f"{b.peak_rss / a.peak_rss:,.1f}x, DuckDB's read {b.duckdb_seconds / a.duckdb_seconds:,.1f}x"
    )


def cpu_by_role(processes: Sequence[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """CPU seconds by kind of process: the runner, the workers together, the zygote, each
    notebook's kernel, anything else together; largest first. A process is credited with its
    CPU time at the last poll that saw it, so one that ends between two polls loses at most
    :data:`POLL_SECONDS` of it.

    >>> cpu_by_role([{"role": "runner", "cpu_seconds": 9.0},
    ...     {"role": "worker roi", "cpu_seconds": 2.0}, {"role": "worker ab", "cpu_seconds": 1.5},
    ...     {"role": "kernel roi", "cpu_seconds": 4.0}, {"role": "zygote", "cpu_seconds": 2.5}])
    [('runner', 9.0), ('kernel roi', 4.0), ('workers', 3.5), ('zygote', 2.5)]
    """
    totals: dict[str, float] = {}
    for p in processes:
        role = str(p.get("role", "?"))
        kind = (
            "workers"
            if role.startswith("worker")
            else "other"
            if role.startswith("other")
            else role
        )
        totals[kind] = totals.get(kind, 0.0) + float(p.get("cpu_seconds", 0.0))
    return sorted(totals.items(), key=lambda kv: -kv[1])


def report(results: dict[str, Any], rows: Sequence[Row]) -> str:
    m = results["machine"]
    ram = f"{m['ram_bytes'] / 2**30:.1f} GiB RAM" if m["ram_bytes"] else "RAM unknown"
    cells = [HEADER, *table_rows(rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    left = {HEADER.index("largest process")}

    def line(c: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i in left else v.rjust(w)
            for i, (v, w) in enumerate(zip(c, widths, strict=True))
        )

    out = [
        f"leadnb scaling: `leadnb run <sample>/params.yaml --jobs {results['jobs']}` "
        "(4 notebooks + HTML) against one DuckDB read of the same input files",
        f"{results['date']}, commit {results['commit']}; {m['cpu']}, {m['cores']} cores, {ram}; "
        f"Python {m['python']}, pandas {m['pandas']}, duckdb {m['duckdb']}",
        "peak RSS: largest resident set of any process of the run (runner, notebook workers, "
        f"kernels), polled every {POLL_SECONDS} s with psutil plus each process's VmHWM",
        "",
        line(HEADER),
        line(["-" * w for w in widths]),
        *(line(c) for c in cells[1:]),
    ]
    repeats = max((len(r.runs) for r in rows), default=1)
    if repeats > 1:
        out.append(
            f"run s: the median of {repeats} runs back to back, runs s: their range; CPU s and "
            "the split below are the median run's, DuckDB read s the median read, peak RSS the "
            "largest of any run"
        )
    out.append(
        "CPU s: user + system CPU seconds of every process of the run (on 2 cores the run "
        "cannot take less than half; they drift with the machine's speed as the wall time does)"
    )
    if rows and rows[-1].processes:
        big = rows[-1]
        parts = ", ".join(f"{role} {sec:.1f}" for role, sec in cpu_by_role(big.processes))
        out.append(f"CPU seconds by process at {big.leads:,} leads: {parts}")
    if g := growth(rows):
        out += ["", g]
    loads = [
        f"{r.leads:,}: {r.load_average:.1f} -> {r.load_average_end:.1f}"
        for r in rows
        if r.load_average is not None and r.load_average_end is not None
    ]
    if loads:
        out.append(
            f"machine load as each run started -> ended (1-minute load average, {m['cores']} "
            "cores; other jobs on the machine slow the run): " + ", ".join(loads)
        )
    for skipped in results.get("skipped", []):
        out.append(f"not measured: {skipped['leads']:,} leads ({skipped['reason']})")
    return "\n".join(out)


def stamp() -> dict[str, Any]:
    """When, on which commit and on which machine a benchmark ran (the head of its results)."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": machine(),
    }


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


# --------------------------------------------------------------------------------------------
# Entry point


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"sizes are whole numbers, e.g. 20000,200000: {err}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give at least one size of 1 lead or more")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.scaling", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sizes", type=_sizes, default=list(SIZES),
                   help="comma-separated lead counts (20000,200000,1000000)")  # fmt: skip
    p.add_argument("--large", action="store_true", help=f"also {LARGE:,} leads")
    p.add_argument("--seed", type=int, default=42, help="sample seed (42)")
    p.add_argument("--repeat", type=int, default=REPEAT,
                   help=f"runs of each size; the median is shown ({REPEAT})")  # fmt: skip
    p.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel (2)")
    p.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    p.add_argument("--data-root", type=Path, default=ROOT / ".bench",
                   help="folder for sample data and results (.bench)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = sorted(set(args.sizes) | ({LARGE} if args.large else set()))
    results: dict[str, Any] = {
        **stamp(),
        "jobs": args.jobs,
        "seed": args.seed,
        "skipped": [],
    }
    rows: list[Row] = []
    failed = False
    for n in sizes:
        print(f"[scaling] {n:,} leads ...", file=sys.stderr, flush=True)
        if rows and (need := run_bytes(rows, n, args.jobs)) > (
            have := psutil.virtual_memory().available
        ):
            results["skipped"].append({"leads": n, "reason": (
                f"the run would need about {need / 1e9:.1f} GB (its processes' peaks at "
                f"{rows[-1].leads:,} leads, extrapolated), {have / 1e9:.1f} GB is available")})  # fmt: skip
            continue
        try:
            rows.append(repeated([
                measure(n, seed=args.seed, data_root=args.data_root, jobs=args.jobs,
                        threads=args.threads)
                for _ in range(max(1, args.repeat))
            ]))  # fmt: skip
        except MemoryError as err:
            results["skipped"].append({"leads": n, "reason": str(err)})
        except RunFailed as err:
            results["skipped"].append({"leads": n, "reason": f"the run failed: {err}"})
            failed = True
    print(report(results, rows), flush=True)
    results["rows"] = [
        {**asdict(r), "ratio": r.ratio, "seconds_per_million": r.seconds_per_million} for r in rows
    ]
    args.data_root.mkdir(parents=True, exist_ok=True)
    out = args.data_root / f"scaling-{'-'.join(str(n) for n in sizes)}.json"
    out.write_text(json.dumps(results, indent=2))
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    raise SystemExit(main())
