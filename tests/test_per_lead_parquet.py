"""Per-lead tables as Parquet (CONTRACT, run folder): written by
:func:`leadnb.report.notebook.save_parquet` with values and dtypes kept, listed with the CSVs
among a notebook's tables (:func:`leadnb.run.execute.execute_task`)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pyarrow.parquet as pq
import pytest

from leadnb.report import notebook as nb
from leadnb.run.execute import NotebookTask, execute_task


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    pd.DataFrame({"lead_id": ["L1", "L2"], "created_at": ["2026-01-01", "2026-01-02"]}).to_csv(
        tmp_path / "leads.csv", index=False
    )
    path = tmp_path / "params.yaml"
    path.write_text("run: {as_of: 2026-06-30}\ndata:\n  leads: leads.csv\n")
    return path


def per_lead() -> pd.DataFrame:
    """A scores-like table: string ids (one a formula, one missing), numbers, a date."""
    return pd.DataFrame(
        {
            "lead_id": ["=HYPERLINK(1)", "L0000002", "-2+3", None],
            "score": [13.0, -4.5, 0.1, 7.0],
            "rule:decision maker": [0.0, 5.0, 0.0, 0.0],
            "segment": ["other", "hot", "@SUM(1)", "cold"],
            "next_follow_up": pd.to_datetime(["2026-07-01", None, "2026-07-08", "2026-07-02"]),
        },
        index=[10, 11, 12, 13],
    )


def test_parquet_keeps_values_and_dtypes_without_index(params_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    ctx = nb.start("x", params_path=params_file, out_dir=str(out))
    df = per_lead()
    assert nb.save_parquet(ctx, df, "scores.parquet") is df
    path = out / "scores.parquet"
    assert pq.read_schema(path).names == list(df.columns)  # no index column
    back = pd.read_parquet(path)
    expected = df.reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_exact=True)
    assert (
        str(back["lead_id"].dtype) == "str"
        and str(back["next_follow_up"].dtype) == "datetime64[us]"
    )
    # the raw values: neutralising formulas is for CSVs a spreadsheet opens, not for Parquet
    assert back["lead_id"].iloc[0] == "=HYPERLINK(1)" and back["segment"].iloc[2] == "@SUM(1)"
    assert pq.read_metadata(path).row_group(0).column(1).compression == "SNAPPY"


def test_same_table_same_bytes(params_file: Path, tmp_path: Path) -> None:
    a = nb.start("x", params_path=params_file, out_dir=str(tmp_path / "a"))
    b = nb.start("x", params_path=params_file, out_dir=str(tmp_path / "b"))
    nb.save_parquet(a, per_lead(), "scores.parquet")
    nb.save_parquet(b, per_lead().copy(), "scores.parquet")
    assert (tmp_path / "a" / "scores.parquet").read_bytes() == (
        tmp_path / "b" / "scores.parquet"
    ).read_bytes()


def test_without_run_folder_nothing_is_written(params_file: Path, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    ctx = nb.start("x", params_path=params_file)
    df = per_lead()
    assert nb.save_parquet(ctx, df, "scores.parquet") is df
    assert sorted(tmp_path.rglob("*")) == before


def test_name_must_be_parquet_and_stays_in_the_folder(params_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    ctx = nb.start("x", params_path=params_file, out_dir=str(out))
    with pytest.raises(ValueError, match="scores.csv"):
        nb.save_parquet(ctx, per_lead(), "scores.csv")
    nb.save_parquet(ctx, per_lead(), "../../scores.parquet")
    written = [p for p in tmp_path.rglob("*.parquet")]
    assert len(written) == 1 and written[0].parent == out


def test_parquet_tables_are_listed_with_the_csvs(tmp_path: Path) -> None:
    def run(task: NotebookTask, output: Path) -> None:
        nbformat.write(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T")]), output
        )
        per_lead().to_parquet(task.out_dir / "scores.parquet", index=False)
        (task.out_dir / "segments.csv").write_text("segment,n\nhot,1\n")
        (task.out_dir / "metrics.json").write_text("{}\n")
        (task.out_dir / "figures").mkdir()
        (task.out_dir / "figures" / "chart.png").write_bytes(b"\x89PNG")

    task = NotebookTask(
        name="nb", input_path=tmp_path / "nb.ipynb", run_dir=tmp_path, parameters={}, cwd=tmp_path
    )
    res = execute_task(task, run)
    assert res.status == "success"
    assert res.tables == ["scores.parquet", "segments.csv"]
