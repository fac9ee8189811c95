"""Loading the input tables: leadnb's loader against DuckDB and plain pandas reading the same files.

Design. One dataset (``.bench/data-<N>-s<S>``, written by ``leadnb sample``; reused, never
rewritten when its ``params.yaml`` exists), read in two forms:

* ``sample``: the files as ``leadnb sample`` writes them (CSV tables, events as Parquet);
* ``parquet``: every table as Parquet, a copy written once into ``.bench/load-<N>-s<S>/parquet``
  (read from the CSVs by Arrow with its own type inference, as an export tool would type them);
* ``csv`` (with ``--events-csv``): every table as CSV, events too (a copy in ``.bench``).

For each form, three readers of the same files, timed one after the other in a rotating order
(``--repeats`` times, the median printed):

* leadnb: :func:`leadnb.data.loading.load_tables` of every configured table into the canonical
  columns and dtypes, with every check the loader makes (the params file parsed beforehand);
* DuckDB: ``duckdb.read_csv`` / ``read_parquet`` with its type inference, to an Arrow table and
  then to pandas (``.to_arrow_table().to_pandas()``: the fast route from DuckDB to pandas); with
  ``--duckdb-df`` also its ``.df()`` (many times slower here: it builds the text columns itself);
* pandas: ``pd.read_csv`` / ``pd.read_parquet`` with default settings;
* with ``--before REV``, the loader of an older commit (``before``), for a before/after figure.

The ratio printed is leadnb's median wall time over DuckDB's (to pandas through Arrow); the
target is at most 1.5. On a shared machine wall times swing with the other processes, so the best
round and the median CPU time (user + system, all threads: DuckDB's and Arrow's threads count
too) are printed as well.

Before any timing, every table leadnb loads is compared with what the loader's precise pandas
path (its fast paths switched off) returns for the same file, and with ``--before`` with what
that commit's loader returns: values, dtypes and attrs must be equal, or the script exits with
status 1. With ``--memory``, each reader then reads every form once more in a fresh process,
and its peak resident memory above the imports (``VmHWM``) is printed. Results are also
written to ``.bench/load-<N>.json``.

Run: ``.venv/bin/python -m benchmarks.load [--leads N] [--repeats R] [--forms sample,parquet]
[--events-csv] [--duckdb-df] [--before REV] [--memory]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from leadnb.data import loading
from leadnb.data.params import load_params

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5  # leadnb load_tables / DuckDB read of the same files, at most
WAIT_SECONDS = 1800  # how long to wait for a dataset another process is still writing


# --------------------------------------------------------------------------------------------
# Data


def data_dir(leads: int, seed: int) -> Path:
    """The dataset folder of ``leadnb sample --leads N --seed S`` (the one benchmarks.run uses)."""
    return ROOT / ".bench" / f"data-{leads}-s{seed}"


def ensure_sample(leads: int, seed: int) -> Path:
    """The dataset's params file: waits while another process writes it; writes it if absent."""
    folder = data_dir(leads, seed)
    params = folder / "params.yaml"
    if folder.exists() and not params.exists():
        print(f"waiting for {params} (another process is writing the dataset)", flush=True)
        deadline = time.monotonic() + WAIT_SECONDS
        while not params.exists():
            if time.monotonic() > deadline:
                sys.exit(f"{params} did not appear within {WAIT_SECONDS} s")
            time.sleep(10)
    if not params.exists():
        cmd = [sys.executable, "-m", "leadnb", "sample", "--out", str(folder)]
        subprocess.run([*cmd, "--leads", str(leads), "--seed", str(seed)], check=True)
    return params


def _sources(params_file: Path) -> dict[str, Path]:
    """``table -> file`` of every configured table (absolute paths)."""
    params = load_params(params_file)
    return {t: Path(src.path) for t, src in params.data.items() if src.path is not None}


def write_variant(params_file: Path, out: Path, suffix: str) -> Path:
    """A copy of the dataset with every table as ``suffix`` (``.parquet`` or ``.csv``) in ``out``,
    and a params file (the sample's, with the sources pointing at the copies). Files already
    written are reused."""
    out.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(params_file.read_text())
    for table, path in _sources(params_file).items():
        target = out / f"{table}{suffix}"
        if path.suffix == suffix:
            target = path
        elif not target.exists():
            tmp = target.with_name(target.name + ".tmp")
            if suffix == ".parquet":  # Arrow's own type inference, as an export tool would type it
                pq.write_table(pacsv.read_csv(path), tmp)
            else:
                pacsv.write_csv(pq.read_table(path), tmp)
            tmp.replace(target)
        raw["data"][table]["source"] = str(target)
    rules = raw.get("scoring", {}).get("rules")
    if isinstance(rules, str):
        raw["scoring"]["rules"] = str((params_file.parent / rules).resolve())
    target = out / "params.yaml"
    target.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


# --------------------------------------------------------------------------------------------
# Readers: each returns {table: DataFrame}


def read_leadnb(params: Any) -> dict[str, pd.DataFrame]:
    return loading.load_tables(params)


def loader_at(rev: str) -> Any:
    """``leadnb/data/loading.py`` as of git revision ``rev``, imported as a separate module (the
    rest of the package is the current one): the loader before a change, timed beside it."""
    import importlib.util
    import tempfile

    text = subprocess.run(
        ["git", "show", f"{rev}:leadnb/data/loading.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="leadnb-loading-")) / "loading_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("loading_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _duck(path: Path) -> Any:
    import duckdb

    if path.suffix == ".parquet":
        return duckdb.read_parquet(str(path))
    return duckdb.read_csv(str(path))


def _duck_arrow(rel: Any) -> pa.Table:
    if hasattr(rel, "to_arrow_table"):
        return rel.to_arrow_table()
    return rel.fetch_arrow_table()  # DuckDB < 1.4


def read_duckdb_arrow(files: dict[str, Path]) -> dict[str, pd.DataFrame]:
    return {t: _duck_arrow(_duck(p)).to_pandas() for t, p in files.items()}


def read_duckdb_df(files: dict[str, Path]) -> dict[str, pd.DataFrame]:
    return {t: _duck(p).df() for t, p in files.items()}


def read_pandas(files: dict[str, Path]) -> dict[str, pd.DataFrame]:
    return {
        t: pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
        for t, p in files.items()
    }


# --------------------------------------------------------------------------------------------
# Checks


@contextmanager
def precise_path_only():
    """The loader with its Arrow fast paths switched off: what it returned before them."""
    names = ("_read_csv_arrow", "_iso_datetimes_arrow", "_numbers_arrow")
    saved = {n: getattr(loading, n) for n in names}
    for n in names:
        setattr(loading, n, lambda *a, **k: None)
    try:
        yield
    finally:
        for n, fn in saved.items():
            setattr(loading, n, fn)


def check_same_as_precise(params_file: Path, before: Any = None) -> list[str]:
    """Tables where the loader's result differs from its precise pandas path's, or from the
    ``before`` loader's when given (empty: none)."""
    params = load_params(params_file)
    fast = read_leadnb(params)
    if before is not None:
        slow = before.load_tables(params)
    else:
        with precise_path_only():
            slow = read_leadnb(params)
    problems = []
    for t in sorted(set(fast) | set(slow)):
        a, b = fast.get(t), slow.get(t)
        if a is None or b is None:
            problems.append(f"{t}: loaded by one path only")
            continue
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as exc:
            problems.append(f"{t}: {str(exc).splitlines()[0]}")
            continue
        if not (a.equals(b) and a.attrs == b.attrs):
            problems.append(f"{t}: equal by assert_frame_equal but not by DataFrame.equals/attrs")
    return problems


# --------------------------------------------------------------------------------------------
# Timing


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """``(wall seconds, CPU seconds of this process: user + system, every thread)``."""
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    del result
    return seconds, cpu


def bench_variant(
    params_file: Path, repeats: int, duckdb_df: bool = False, before: Any = None
) -> dict[str, Any]:
    """Median, best and CPU seconds of each reader over ``repeats`` rounds, rotating which one
    goes first. ``before``: an older loader module (:func:`loader_at`), timed too."""
    files = _sources(params_file)
    params = load_params(params_file)  # parsed once: load_tables is what is timed
    readers: dict[str, Callable[[], Any]] = {
        "leadnb": lambda: read_leadnb(params),
        "duckdb": lambda: read_duckdb_arrow(files),
        "pandas": lambda: read_pandas(files),
    }
    if duckdb_df:
        readers["duckdb_df"] = lambda: read_duckdb_df(files)
    if before is not None:
        readers["before"] = lambda: before.load_tables(params)
    names = list(readers)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            w, c = timed(readers[name])
            wall[name].append(w)
            cpu[name].append(c)
    med = {n: statistics.median(v) for n, v in wall.items()}
    best = {n: min(v) for n, v in wall.items()}
    cpu_med = {n: statistics.median(v) for n, v in cpu.items()}
    return {
        "files": {t: f"{p.name} ({p.stat().st_size / 1e6:.0f} MB)" for t, p in files.items()},
        "seconds": med,
        "best_seconds": best,
        "cpu_seconds": cpu_med,
        "runs": wall,
        "cpu_runs": cpu,
        "ratio": {n: med["leadnb"] / med[n] for n in names if n != "leadnb"},
        "ratio_best": {n: best["leadnb"] / best[n] for n in names if n != "leadnb"},
        "ratio_cpu": {n: cpu_med["leadnb"] / cpu_med[n] for n in names if n != "leadnb"},
    }


def read_once(reader: str, params_file: str, before_rev: str = "") -> dict[str, int]:
    """Run one reader once on the dataset of ``params_file``; the tables' row counts (the body
    of the fresh process that :func:`peak_memory` starts)."""
    path = Path(params_file)
    files = _sources(path)
    fn: dict[str, Callable[[], dict[str, pd.DataFrame]]] = {
        "leadnb": lambda: read_leadnb(load_params(path)),
        "duckdb": lambda: read_duckdb_arrow(files),
        "pandas": lambda: read_pandas(files),
        "duckdb_df": lambda: read_duckdb_df(files),
        "before": lambda: loader_at(before_rev).load_tables(load_params(path)),
    }
    return {t: len(df) for t, df in fn[reader]().items()}


PEAK_SCRIPT = """
import json, sys
import duckdb, pyarrow.parquet  # every reader's modules imported first: not part of its peak
from benchmarks import load
base = load.high_water_mb()
load.read_once(*sys.argv[1:])
peak = load.high_water_mb()
print(json.dumps({"peak_mb": peak, "above_imports_mb": peak - base}))
"""


def high_water_mb() -> float:
    """This process's peak resident memory so far, MB (Linux ``VmHWM``: unlike ``ru_maxrss``,
    it does not start at the RSS of the parent that forked the process)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (peak memory is measured on Linux only)")


def peak_memory(params_file: Path, names: Sequence[str], before_rev: str = "") -> dict[str, float]:
    """Peak resident memory (MB, above the imports) of each reader reading the dataset once,
    each in a fresh process (Linux ``ru_maxrss``)."""
    out = {}
    for name in names:
        run = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT, name, str(params_file), before_rev],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        out[name] = json.loads(run.stdout.strip().splitlines()[-1])["above_imports_mb"]
    return out


def print_table(results: dict[str, dict[str, Any]], repeats: int) -> None:
    names = list(next(iter(results.values()))["seconds"])
    for key, ratio, title in (
        ("seconds", "ratio", f"median wall seconds over {repeats} rounds (rotating order)"),
        ("best_seconds", "ratio_best", "best round, wall seconds"),
        ("cpu_seconds", "ratio_cpu", "median CPU seconds (user + system, all threads)"),
    ):
        print(f"\n{title}")
        others = [n for n in names if n != "leadnb"]
        head = f"{'input':9s}" + "".join(f"{n:>11s}" for n in names)
        print(head + "".join(f"{'leadnb/' + n:>18s}" for n in others))
        for name, res in results.items():
            row = f"{name:9s}" + "".join(f"{res[key][n]:11.2f}" for n in names)
            print(row + "".join(f"{res[ratio][n]:18.2f}" for n in others))
    print(
        "\nduckdb: read_csv/read_parquet -> .to_arrow_table().to_pandas(); duckdb_df: -> .df(); "
        f"pandas: pd.read_csv/pd.read_parquet, defaults. Target: leadnb/duckdb <= {TARGET}."
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description=__doc__.split("\n")[0]
    )
    p.add_argument("--leads", type=int, default=1_000_000, help="dataset size (default 1000000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per reader (median)")
    p.add_argument("--events-csv", action="store_true", help="also time every table as CSV")
    p.add_argument("--duckdb-df", action="store_true", help="also time DuckDB's .df()")
    p.add_argument("--before", metavar="REV", help="also time the loader of git revision REV")
    p.add_argument("--no-check", action="store_true", help="skip the fast-vs-precise comparison")
    p.add_argument(
        "--memory",
        action="store_true",
        help="also measure each reader's peak resident memory, once, in a fresh process",
    )
    p.add_argument(
        "--forms",
        default="sample,parquet",
        help="comma-separated input forms to time: sample, parquet (default both); "
        "--events-csv adds csv",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sample = ensure_sample(args.leads, args.seed)
    copies = ROOT / ".bench" / f"load-{args.leads}-s{args.seed}"
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    unknown = sorted(set(forms) - {"sample", "parquet", "csv"})
    if unknown:
        sys.exit(f"unknown form(s) in --forms: {', '.join(unknown)}")
    variants = {}
    if "sample" in forms:
        variants["sample"] = sample
    if "parquet" in forms:
        variants["parquet"] = write_variant(sample, copies / "parquet", ".parquet")
    if args.events_csv or "csv" in forms:
        variants["csv"] = write_variant(sample, copies / "csv", ".csv")
    import duckdb

    print(
        f"leadnb load_tables at {args.leads:,} leads: python {platform.python_version()}, "
        f"pandas {pd.__version__}, pyarrow {pa.__version__}, duckdb {duckdb.__version__}, "
        f"{pa.cpu_count()} cores"
    )
    before = loader_at(args.before) if args.before else None
    failed = False
    if not args.no_check:
        for name, params_file in variants.items():
            against = [("the precise path", None)]
            if before is not None:
                against.append((f"the loader of {args.before}", before))
            for what, module in against:
                problems = check_same_as_precise(params_file, module)
                verdict = f"identical to {what}" if not problems else f"DIFFERENT from {what}"
                print(f"check {name}: every table {verdict}", flush=True)
                for line in problems:
                    print(f"  {line}")
                failed = failed or bool(problems)
    results = {}
    for name, params_file in variants.items():
        results[name] = bench_variant(params_file, args.repeats, args.duckdb_df, before)
        files = ", ".join(results[name]["files"].values())
        print(f"{name}: {files}", flush=True)
    print_table(results, args.repeats)
    if args.memory:
        print("\npeak resident memory above the imports, MB (each reader once, a fresh process)")
        names = list(next(iter(results.values()))["seconds"])
        print(f"{'input':9s}" + "".join(f"{n:>11s}" for n in names))
        for name, params_file in variants.items():
            peak = peak_memory(params_file, names, args.before or "")
            results[name]["peak_mb"] = peak
            print(f"{name:9s}" + "".join(f"{peak[n]:11.0f}" for n in names), flush=True)
    out = ROOT / ".bench" / f"load-{args.leads}.json"
    out.write_text(json.dumps({"leads": args.leads, "results": results}, indent=2))
    print(f"written {out.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
