"""The before/after comparison of run folders finds every changed number and ignores run ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.run_compare import compare_runs, main, masked


def _run(root: Path, run_id: str, roi: str, started: str) -> Path:
    run = root / run_id
    (run / "nurture_roi").mkdir(parents=True)
    (run / "nurture_roi" / "roi.csv").write_text(f"month,roi\n2026-01,{roi}\n", encoding="utf-8")
    (run / "nurture_roi" / "metrics.json").write_text(
        f'{{"run_id": "{run_id}", "written_at": "{started}", "roi": {roi}}}\n', encoding="utf-8"
    )
    (run / "index.html").write_text(f"<p>{started}</p>", encoding="utf-8")
    return run


def test_same_numbers_with_other_run_id_and_time_are_equal(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "20261130-101500-demo-2026-06-30", "3.128", "2026-11-30T10:15:00")
    b = _run(tmp_path / "b", "20261201-080000-2-demo-2026-06-30", "3.128", "2026-12-01 08:00:00")
    assert compare_runs(a, b) == []
    assert main([str(a), str(b)]) == 0


def test_one_changed_digit_is_reported_with_its_line(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "20261130-101500-demo-2026-06-30", "3.128", "2026-11-30T10:15:00")
    b = _run(tmp_path / "b", "20261130-101500-demo-2026-06-30", "3.129", "2026-11-30T10:15:00")
    problems = compare_runs(a, b)
    assert [p.splitlines()[0] for p in problems] == [
        "nurture_roi/metrics.json differs:",
        "nurture_roi/roi.csv differs:",
    ]
    assert "line 2" in problems[1] and "3.129" in problems[1]
    assert main([str(a), str(b)]) == 1


def test_missing_and_extra_tables_are_reported(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    b = _run(tmp_path / "b", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    (a / "nurture_roi" / "roi.csv").unlink()
    (b / "nurture_roi" / "extra.csv").write_text("x\n", encoding="utf-8")
    assert compare_runs(a, b) == [
        f"only in {b}: nurture_roi/extra.csv",
        f"only in {b}: nurture_roi/roi.csv",
    ]


def test_data_dates_are_not_masked() -> None:
    assert masked(b"2026-06-30,0.1") == b"2026-06-30,0.1"
    assert masked(b"2026-06-30T12:00:00") == b"<TIMESTAMP>"


def _scores(run: Path, ids: list[str], scores: list[float], *, fmt: str = "parquet", **kw) -> Path:
    """A per-lead table in ``run``: ``scores.parquet`` (``kw`` go to ``to_parquet``) or the
    ``scores.csv`` an older run wrote."""
    df = pd.DataFrame({"lead_id": pd.Series(ids, dtype="str"), "score": scores})
    path = run / "scoring_calibration" / f"scores.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False, **kw)
    return path


def test_parquet_is_compared_by_value_not_bytes(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    b = _run(tmp_path / "b", "20261201-080000-demo-2026-06-30", "1", "2026-12-01T08:00:00")
    pa = _scores(a, ["L1", "007", "=1+1"], [13.0, 0.1 + 0.2, -4.5])
    pb = _scores(b, ["L1", "007", "=1+1"], [13.0, 0.1 + 0.2, -4.5], compression="zstd")
    assert pa.read_bytes() != pb.read_bytes()
    assert compare_runs(a, b) == []
    _scores(b, ["L1", "007", "=1+1"], [13.0, 0.3, -4.5])  # 0.30000000000000004 before
    (problem,) = compare_runs(a, b)
    assert problem.startswith("scoring_calibration/scores.parquet differs by value:")
    assert 'column name="score"' in problem
    assert main([str(a), str(b)]) == 1


def test_parquet_dtypes_count(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    b = _run(tmp_path / "b", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    _scores(a, ["1", "2"], [1.0, 2.0])
    path = _scores(b, ["1", "2"], [1.0, 2.0])
    pd.DataFrame({"lead_id": [1, 2], "score": [1.0, 2.0]}).to_parquet(path, index=False)
    (problem,) = compare_runs(a, b)
    assert "lead_id" in problem and "dtype" in problem


def test_a_table_moved_from_csv_to_parquet_is_compared_by_value(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    b = _run(tmp_path / "b", "20261130-101500-demo-2026-06-30", "1", "2026-11-30T10:15:00")
    ids, scores = ["L1", "007", "L3"], [13.0, 0.1 + 0.2, -4.5]
    _scores(a, ids, scores, fmt="csv")
    _scores(b, ids, scores)
    assert compare_runs(a, b) == []  # "007" stays a string, 0.30000000000000004 exact
    assert compare_runs(b, a) == []
    _scores(b, ids, [13.0, 0.1 + 0.2, -4.0])
    (problem,) = compare_runs(a, b)
    assert problem.startswith(
        "scoring_calibration/scores.csv -> scoring_calibration/scores.parquet differs by value:"
    )
    # a CSV neutralises a formula cell ('=1+1); the Parquet file keeps the raw value
    _scores(a, ["'=1+1"], [1.0], fmt="csv")
    _scores(b, ["=1+1"], [1.0])
    (problem,) = compare_runs(a, b)
    assert "lead_id" in problem
