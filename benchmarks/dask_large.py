"""``make bench-large``: scoring and stage dates on Dask at 5,000,000 leads, checked by DuckDB.

Design. The data that does not fit one process is never loaded into one pandas frame:

1. the sample ``leadnb sample --leads N --seed S`` (``.bench/data-<N>-s<S>``, reused when
   present) has its CSV tables (leads, stages) converted once to Parquet by DuckDB, streaming
   (``COPY (SELECT * FROM read_csv(..., all_varchar = true)) TO ... (FORMAT parquet)``: the raw
   text, as the export holds it), into ``.bench/dask-<N>-s<S>/``; the events are Parquet already
   and are read where they are;
2. on a ``LocalCluster`` of ``--workers`` worker processes with ``--memory-limit`` each,
   :func:`leadnb.data.distributed.read_table` reads every table with ``dd.read_parquet``, each
   partition made canonical by the loader's own ``canonicalize``;
   :func:`leadnb.data.distributed.score` and :func:`~leadnb.data.distributed.stage_dates`
   hash-partition the tables on ``lead_id`` (a shuffle between the workers) and run the
   one-machine pandas functions partition by partition; the results are written to Parquet
   (``scores/``, ``stage_dates/``) by the workers;
3. after the cluster is closed, DuckDB computes the same from the same Parquet files: the
   placeholders and missing tokens the loader reads as missing are nulled in SQL views, then
   :func:`benchmarks.duck.scoring_sql` and the stage-date SQL of
   :func:`benchmarks.duck.stage_cohort_sql`;
4. DuckDB joins the two results on ``lead_id``: every lead present once on both sides, every
   score, category and rule column equal (within 1e-9, relative to the value's size: sums in a
   different order), every stage date identical. A difference exits with status 1.

Printed: wall seconds of each step, and the peak memory of each process (the driver, which also
runs the scheduler; each worker; each nanny), polled every 0.1 s with psutil plus the processes'
``VmHWM``. Results are also written to ``.bench/dask-large-<N>.json``.

Run: ``.venv/bin/python -m benchmarks.dask_large [--leads 5000000] [--memory-limit 3GB]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import yaml

from benchmarks import duck
from benchmarks.run import ROOT
from benchmarks.scaling import TreeSampler, sample_bytes, stamp
from leadnb.data.loading import MISSING_TOKENS, TABLE_SCHEMAS
from leadnb.data.params import Params, load_params
from leadnb.scoring.rules import FieldCondition

LEADS = 5_000_000
TABLES = ("leads", "events", "stages")
READ_BLOCKSIZE = "32MiB"  # Parquet read in pieces of about a row group (262,144 to 1M rows)
EVENTS_PER_PARTITION = 1_500_000  # the shuffle's partition size: a few hundred MB per task
TOLERANCE = 1e-9  # relative (to max(1, |value|)) difference allowed between two sums


class Mismatch(AssertionError):
    """Dask's result and DuckDB's differ."""


def reset_peak() -> None:
    """Restart this process's resident high-water mark (``VmHWM``), where Linux allows it, so a
    step's peak is not an earlier step's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# Data


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _duck(memory_limit: str | None = None, temp: Path | None = None) -> Any:
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
    if temp is not None:
        con.execute(f"SET temp_directory = {_literal(str(temp))}")
    return con


def to_parquet(csv: Path, out: Path, *, memory_limit: str = "2GB") -> float:
    """``csv`` copied to ``out`` as Parquet by DuckDB, streaming, every column as text (the
    file's own values); written under a temporary name, then renamed. Returns the seconds."""
    tmp = out.with_name(out.name + ".part")
    con = _duck(memory_limit, out.parent / ".duckdb-tmp")
    t0 = time.perf_counter()
    try:
        con.execute(
            f"COPY (SELECT * FROM read_csv({_literal(str(csv))}, all_varchar = true, "
            f"header = true)) TO {_literal(str(tmp))} (FORMAT parquet, ROW_GROUP_SIZE 262144)"
        )
    finally:
        con.close()
    tmp.replace(out)
    return time.perf_counter() - t0


def parquet_params(sample: Path, folder: Path) -> tuple[Params, dict[str, float]]:
    """A params file in ``folder`` like the sample's, its leads, events and stages read from
    Parquet (CSV tables converted once by :func:`to_parquet`), and the conversion seconds."""
    raw = yaml.safe_load((sample / "params.yaml").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    data = {}
    for table in TABLES:
        entry = dict(raw["data"][table])
        src = (sample / entry["source"]).resolve()
        if src.suffix.lower() == ".csv":
            dest = folder / f"{table}.parquet"
            if not dest.is_file():
                seconds[table] = to_parquet(src, dest)
            src = dest
        entry["source"] = str(src)
        data[table] = entry
    raw["data"] = data
    raw["scoring"]["rules"] = str((sample / raw["scoring"]["rules"]).resolve())
    for section in raw.values():  # other files the sections name, made absolute
        if isinstance(section, dict):
            for key, value in section.items():
                if key.endswith("_file") and isinstance(value, str):
                    section[key] = str((sample / value).resolve())
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_params(path), seconds


# --------------------------------------------------------------------------------------------
# Dask


def _rule_fields(params: Params) -> list[str]:
    return sorted(
        {r.when.field for r in params.scoring.rules if isinstance(r.when, FieldCondition)}
    )


def dask_step(
    params: Params, out: Path, *, workers: int, memory_limit: str, npartitions: int
) -> dict[str, Any]:
    """Read, score and date on a LocalCluster; results written to ``out``. Returns seconds,
    partition counts, the leads' column dtypes (for the SQL) and every process's peak memory."""
    import logging

    from distributed import Client, LocalCluster

    from leadnb.data import distributed as scale

    # the scheduler (in this process) logs every shuffle's start and end as a warning
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    as_of = params.as_of()
    fields = _rule_fields(params)
    for name in ("scores", "stage_dates"):
        shutil.rmtree(out / name, ignore_errors=True)
    reset_peak()
    with TreeSampler(os.getpid()) as sampler:
        t0 = time.perf_counter()
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit,
                dashboard_address=None,
                local_directory=str(out / ".dask-worker-space"),
            ) as cluster,
            Client(cluster) as client,
        ):
            started = time.perf_counter() - t0
            worker_pids = client.run(os.getpid)
            leads = scale.read_table(params, "leads", blocksize=READ_BLOCKSIZE)
            events = scale.read_table(params, "events", blocksize=READ_BLOCKSIZE)
            stages = scale.read_table(params, "stages", blocksize=READ_BLOCKSIZE)
            parts = {"leads": leads.npartitions, "events": events.npartitions,
                     "stages": stages.npartitions}  # fmt: skip
            dtypes = leads._meta.dtypes
            t1 = time.perf_counter()
            scores = scale.score(
                leads[["lead_id", *fields]], events, params.scoring, as_of, npartitions=npartitions
            )
            scores.to_parquet(out / "scores", write_index=False)
            score_seconds = time.perf_counter() - t1
            t2 = time.perf_counter()
            dates = scale.stage_dates(
                leads[["lead_id", "created_at"]], stages, params.funnel, npartitions=npartitions
            )
            dates.to_parquet(out / "stage_dates", write_index=False)
            dates_seconds = time.perf_counter() - t2
        wall = time.perf_counter() - t0
    peaks = sampler.peaks()
    names = {pid: f"dask worker {i + 1}" for i, pid in enumerate(sorted(worker_pids.values()))}
    names[os.getpid()] = "driver (client, scheduler, nannies)"
    procs = [
        {"role": names.get(p.pid, p.role), "pid": p.pid, "peak_rss": p.peak_rss} for p in peaks
    ]
    return {
        "cluster_start": started,
        "score_seconds": score_seconds,
        "stage_dates_seconds": dates_seconds,
        "wall": wall,
        "partitions_read": parts,
        "npartitions": npartitions,
        "lead_dtypes": dtypes,
        "processes": procs,
        "polls": sampler.polls,
    }


# --------------------------------------------------------------------------------------------
# DuckDB reference and check


def _missing_list(placeholders: Sequence[str]) -> str:
    tokens = sorted(set(MISSING_TOKENS) | {str(p).strip() for p in placeholders})
    return ", ".join(_literal(t) for t in tokens)


def _text(col: str, missing: str) -> str:
    """A text column as the loader reads it from Parquet: missing tokens and placeholders
    become NULL (Parquet text is not stripped)."""
    q = f'"{col}"'
    return f"CASE WHEN {q} IN ({missing}) THEN NULL ELSE {q} END AS {q}"


def _views(con: Any, params: Params) -> None:
    """``leads``, ``events``, ``stages`` as canonical SQL views over the same Parquet files."""
    for table in TABLES:
        source = params.data[table]
        schema = TABLE_SCHEMAS[table]
        missing = _missing_list(source.placeholders)
        path = _literal(str(source.path))
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
        cols = []
        for col, typ, *_ in described:
            kind = schema.kind(col)
            q = f'"{col}"'
            text = typ == "VARCHAR"
            if kind == "date" and text:
                cols.append(f"CAST(CASE WHEN trim({q}) IN ({missing}) THEN NULL ELSE trim({q}) "
                            f"END AS TIMESTAMP) AS {q}")  # fmt: skip
            elif kind == "number" and text:
                cols.append(f"CAST(CASE WHEN trim({q}) IN ({missing}) THEN NULL ELSE trim({q}) "
                            f"END AS DOUBLE) AS {q}")  # fmt: skip
            elif text:
                cols.append(_text(col, missing))
            else:
                cols.append(q)
        con.execute(
            f"CREATE OR REPLACE VIEW {table} AS SELECT {', '.join(cols)} FROM read_parquet({path})"
        )


def duckdb_step(
    params: Params, out: Path, lead_dtypes: Any, *, memory_limit: str
) -> dict[str, Any]:
    """DuckDB's scores and stage dates from the same Parquet files, compared with Dask's."""
    import pandas as pd

    as_of = params.as_of()
    con = _duck(memory_limit, out / ".duckdb-tmp")
    try:
        _views(con, params)
        reset_peak()
        with TreeSampler(os.getpid()) as sampler:
            t0 = time.perf_counter()
            con.execute(
                "CREATE TEMP TABLE sql_scores AS "
                + duck.scoring_sql(params.scoring, as_of, pd.Series(lead_dtypes))
            )
            score_seconds = time.perf_counter() - t0
            t1 = time.perf_counter()
            wide_sql, _ = duck.stage_cohort_sql(params.funnel, "sql", as_of, 1)
            con.execute(wide_sql)
            dates_seconds = time.perf_counter() - t1
            t2 = time.perf_counter()
            check = compare(con, out)
            check_seconds = time.perf_counter() - t2
        peak = max((p.peak_rss for p in sampler.peaks()), default=0)
    finally:
        con.close()
    return {
        "score_seconds": score_seconds,
        "stage_dates_seconds": dates_seconds,
        "check_seconds": check_seconds,
        "peak_rss": peak,
        **check,
    }


def _columns(con: Any, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def compare(con: Any, out: Path) -> dict[str, Any]:
    """Join Dask's Parquet results with DuckDB's tables ``sql_scores`` and ``wide`` on lead_id.

    Returns the counts compared and, per column, how many leads differ (all must be 0; raises
    :class:`Mismatch` otherwise) and the largest absolute difference of the scores.
    """
    scores = f"read_parquet({_literal(str(out / 'scores' / '*.parquet'))})"
    dates = f"read_parquet({_literal(str(out / 'stage_dates' / '*.parquet'))})"
    result: dict[str, Any] = {}
    problems = []
    for name, dask_rel, sql_rel in (
        ("scores", scores, "sql_scores"),
        ("stage_dates", dates, "wide"),
    ):
        dask_cols = _columns(con, dask_rel)
        sql_cols = _columns(con, sql_rel)
        if sorted(dask_cols) != sorted(sql_cols):
            raise Mismatch(f"{name}: columns differ: {dask_cols} vs {sql_cols}")
        n_dask, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT lead_id) FROM {dask_rel}"
        ).fetchone()
        n_sql = con.execute(f"SELECT count(*) FROM {sql_rel}").fetchone()[0]
        cols = [c for c in sql_cols if c != "lead_id"]
        if name == "scores":
            tests = [
                f'count(*) FILTER (WHERE NOT (abs(d."{c}" - s."{c}") '
                f'<= {TOLERANCE} * greatest(1.0, abs(s."{c}"))))'
                for c in cols
            ]
            worst = ", ".join(f'max(abs(d."{c}" - s."{c}"))' for c in cols)
        else:
            tests = [f'count(*) FILTER (WHERE d."{c}" IS DISTINCT FROM s."{c}")' for c in cols]
            worst = "0"
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE d.lead_id IS NULL OR s.lead_id IS NULL), "
            f"{', '.join(tests)}, greatest({worst}) "
            f"FROM {dask_rel} d FULL OUTER JOIN {sql_rel} s ON d.lead_id = s.lead_id"
        ).fetchone()
        unmatched, differ, max_diff = row[0], dict(zip(cols, row[1:-1], strict=True)), row[-1]
        result[name] = {
            "dask_rows": int(n_dask),
            "sql_rows": int(n_sql),
            "unmatched_leads": int(unmatched),
            "columns": len(cols),
            "differing": {c: int(v) for c, v in differ.items() if v},
            "max_abs_diff": float(max_diff or 0.0),
        }
        if n_dask != distinct:
            problems.append(f"{name}: {n_dask - distinct} lead(s) more than once in Dask's result")
        if n_dask != n_sql or unmatched:
            problems.append(f"{name}: {n_dask:,} rows vs {n_sql:,}, {unmatched:,} unmatched")
        for col, count in result[name]["differing"].items():
            problems.append(f"{name}: column {col!r} differs for {count:,} lead(s)")
    if problems:
        raise Mismatch("; ".join(problems))
    return result


# --------------------------------------------------------------------------------------------
# Report


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(results: dict[str, Any]) -> str:
    m, d, dk, db = results["machine"], results["data"], results["dask"], results["duckdb"]
    conv = results["conversion_seconds"]
    made = ", ".join(f"{t} {s:.1f} s" for t, s in conv.items()) or "reused"
    sc, sd = db["scores"], db["stage_dates"]
    load = "n/a" if results["load_average"] is None else f"{results['load_average']:.1f}"
    lines = [
        f"leadnb on Dask: {d['leads']:,} leads, {d['events']:,} events, "
        f"{d['stage_entries']:,} stage entries (seed {results['seed']})",
        f"{results['date']}, commit {results['commit']}; {m['cpu']}, {m['cores']} cores, "
        f"{m['ram_bytes'] / 2**30:.1f} GiB RAM; 1-minute load average at the start {load}",
        f"cluster: LocalCluster, {results['workers']} worker processes x 1 thread, memory limit "
        f"{results['memory_limit']} each; {dk['npartitions']} partitions by lead "
        f"({results['shuffle']} shuffle) "
        f"(read: {', '.join(f'{k} {v}' for k, v in dk['partitions_read'].items())})",
        f"CSV -> Parquet once with DuckDB (streaming): {made}",
        "",
        f"  cluster start                          {dk['cluster_start']:7.1f} s",
        f"  read + score + write scores/           {dk['score_seconds']:7.1f} s",
        f"  read + stage dates + write dates/      {dk['stage_dates_seconds']:7.1f} s",
        f"  Dask total (cluster up to down)        {dk['wall']:7.1f} s",
        f"  DuckDB scoring SQL, same Parquet       {db['score_seconds']:7.1f} s",
        f"  DuckDB stage-date SQL                  {db['stage_dates_seconds']:7.1f} s",
        f"  check (DuckDB join of both results)    {db['check_seconds']:7.1f} s",
        "",
        "peak memory per process (RSS, polled every 0.1 s, and VmHWM):",
        *(f"  {p['role']:36s} {_mb(p['peak_rss']):>10s}" for p in dk["processes"]),
        f"  {'DuckDB reference (driver)':36s} {_mb(db['peak_rss']):>10s}",
        "",
        f"agree: yes: scores of all {sc['dask_rows']:,} leads (score, categories and rules: "
        f"{sc['columns']} columns; max |difference| {sc['max_abs_diff']:.1e}); stage dates of "
        f"all {sd['dask_rows']:,} leads ({sd['columns']} columns, identical)",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def _bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.dask_large", description=__doc__.split("\n")[0]
    )
    p.add_argument("--leads", type=int, default=LEADS, help=f"leads ({LEADS:,})")
    p.add_argument("--seed", type=int, default=42, help="sample seed (42)")
    p.add_argument("--workers", type=int, default=2, help="Dask worker processes (2)")
    p.add_argument("--memory-limit", default="3GB", help="memory limit per worker (3GB)")
    p.add_argument("--npartitions", type=int, default=None,
                   help=f"partitions by lead (events / {EVENTS_PER_PARTITION:,})")  # fmt: skip
    p.add_argument("--shuffle", choices=("p2p", "tasks"), default="p2p",
                   help="how Dask moves rows to their lead's partition (p2p: through disk)")  # fmt: skip
    p.add_argument("--data-root", type=Path, default=ROOT / ".bench",
                   help="folder for sample data and results (.bench)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks.run import ensure_data

    args = build_parser().parse_args(argv)
    sample = args.data_root / f"data-{args.leads}-s{args.seed}"
    # workers at their limit, plus the driver and DuckDB (limited to one worker's limit)
    need = (args.workers + 1) * _bytes(args.memory_limit) + 1e9
    if not (sample / "params.yaml").is_file():
        need = max(need, sample_bytes(args.leads))
    have = psutil.virtual_memory().available
    if have < need:
        print(f"not run: {args.leads:,} leads need about {need / 1e9:.1f} GB of memory and "
              f"{have / 1e9:.1f} GB is available", file=sys.stderr)  # fmt: skip
        return 1
    sample, _ = ensure_data(args.data_root, args.leads, args.seed)
    work = args.data_root / f"dask-{args.leads}-s{args.seed}"
    params, conversion = parquet_params(sample, work)
    import pyarrow.parquet as pq

    counts = {t: pq.ParquetFile(params.data[t].path).metadata.num_rows for t in TABLES}
    npartitions = args.npartitions or max(2, math.ceil(counts["events"] / EVENTS_PER_PARTITION))
    results: dict[str, Any] = {
        **stamp(),
        "seed": args.seed,
        "workers": args.workers,
        "memory_limit": args.memory_limit,
        "conversion_seconds": conversion,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "data": {
            "leads": counts["leads"],
            "events": counts["events"],
            "stage_entries": counts["stages"],
            "folder": str(sample),
        },  # fmt: skip
    }
    import dask

    with dask.config.set({"dataframe.shuffle.method": args.shuffle}):
        results["dask"] = dask_step(
            params, work, workers=args.workers, memory_limit=args.memory_limit,
            npartitions=npartitions,
        )  # fmt: skip
    results["shuffle"] = args.shuffle
    dtypes = results["dask"].pop("lead_dtypes")
    try:
        results["duckdb"] = duckdb_step(params, work, dtypes, memory_limit=args.memory_limit)
    except Mismatch as err:
        print(f"MISMATCH: {err}", file=sys.stderr)
        return 1
    print(report(results), flush=True)
    out = args.data_root / f"dask-large-{args.leads}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
