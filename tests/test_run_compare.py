"""The before/after comparison of run folders finds every changed number and ignores run ids."""

from __future__ import annotations

from pathlib import Path

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
