"""``python -m leadnb.run.goldens``: keep only golden cells' text outputs; the nbval sanitize file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from leadnb.run import goldens

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "notebooks" / "sanitize.cfg"


def executed() -> nbformat.NotebookNode:
    golden = new_code_cell('# NBVAL_CHECK_OUTPUT\nprint(f"AUC {auc:.3f}")\nauc', execution_count=4)
    golden.outputs = [
        new_output("stream", name="stdout", text="AUC 0.712\n"),
        new_output("stream", name="stderr", text="a warning\n"),
        new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        new_output(
            "execute_result",
            data={"text/plain": "0.712", "text/html": "<b>0.712</b>"},
            execution_count=4,
        ),
    ]
    golden.metadata.execution = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    tagged = new_code_cell("print(n)", execution_count=5)
    tagged.metadata.tags = ["nbval-check-output"]
    tagged.outputs = [new_output("stream", name="stdout", text="3\n")]
    other = new_code_cell("plot()", execution_count=6)
    other.outputs = [new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    comment_later = new_code_cell("x = 1\n# NBVAL_CHECK_OUTPUT\nprint(x)", execution_count=7)
    comment_later.outputs = [new_output("stream", name="stdout", text="1\n")]
    nb = new_notebook(cells=[new_markdown_cell("# T"), golden, tagged, other, comment_later])
    nb.metadata.papermill = {"parameters": {}}
    nb.metadata.widgets = {"state": {}}
    return nb


def test_is_golden() -> None:
    cells = executed().cells
    assert [goldens.is_golden(c) for c in cells] == [False, True, True, False, False]


def test_strip_notebook_keeps_only_golden_text() -> None:
    nb = goldens.strip_notebook(executed())
    golden, tagged, other, later = nb.cells[1:]
    assert [o.output_type for o in golden.outputs] == ["stream", "execute_result"]
    assert golden.outputs[0].text == "AUC 0.712\n"
    assert dict(golden.outputs[1].data) == {"text/plain": "0.712"}
    assert golden.execution_count == 1 and golden.outputs[1].execution_count == 1
    assert tagged.execution_count == 2
    assert "execution" not in golden.metadata
    assert tagged.outputs[0].text == "3\n"
    assert other.outputs == [] and later.outputs == []
    assert other.execution_count is None and later.execution_count is None
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata
    nbformat.validate(nb)


@pytest.mark.slow
def test_refresh_executes_with_default_parameters(tmp_path: Path) -> None:
    path = tmp_path / "ok.ipynb"
    shutil.copy(FIXTURES / "ok.ipynb", path)
    assert goldens.main([str(tmp_path)]) == 0
    nb = nbformat.read(path, as_version=4)
    outputs = {i: c.outputs for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs}
    golden_index = next(i for i, c in enumerate(nb.cells) if goldens.is_golden(c))
    assert list(outputs) == [golden_index]  # the table and the chart outputs are gone
    assert outputs[golden_index][0].text == "rows 3, greeting hello\n"  # defaults
    assert "image/png" not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["ok.ipynb"]  # no temp file, no outputs


@pytest.mark.slow
def test_failing_notebook_is_left_unchanged(tmp_path: Path, capsys) -> None:
    path = tmp_path / "broken.ipynb"
    shutil.copy(FIXTURES / "broken.ipynb", path)
    before = path.read_bytes()
    assert goldens.main([str(path)]) == 1
    assert path.read_bytes() == before
    assert "fixture failure: the broken notebook" in capsys.readouterr().err


def test_not_a_notebook_exits_2(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("")
    assert goldens.main([str(tmp_path / "x.txt")]) == 2


def sanitize(text: str) -> str:
    """Apply notebooks/sanitize.cfg the way nbval reads it (regex/replace line pairs)."""
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE.read_text(), flags=re.M)
    assert len(pairs) >= 5
    for regex, replace in pairs:
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("finished 2026-11-22T08:07:01.123+00:00", "finished TIMESTAMP"),
        ("finished 2026-11-22 08:07", "finished TIMESTAMP"),
        ("run 20261122-080701-demo-2026-06-30 done", "run RUN-ID done"),
        ("<Figure at 0x7f3a2b1c9d90>", "<Figure at 0xADDRESS>"),
        ("wrote /work/main/outputs/x/scores.csv", "wrote PATH"),
        ("saved to '/tmp/run/a.csv'", "saved to 'PATH'"),
        ("in ~/leadnb/outputs/ today", "in PATH today"),
        ("(/home/ana/params.yaml)", "(PATH)"),
        ("wrote outputs/20261122-080701-demo/scoring_calibration/scores.csv", "wrote PATH"),
        ("see outputs/20261122-080701-demo/", "see PATH"),
        ("/srv/out/20261122-080701-demo/ab_testing", "PATH"),
        ("wrote C:\\Users\\ana\\scores.csv", "wrote PATH"),
        # not volatile: analysis dates, numbers and slashed lists stay as they are
        ("as of 2026-06-30: AUC 0.712, rate 4.5% (n=20,000), 3/4 of leads", None),
        ("median not reached; within 30/60/90 days 12.2%", None),
        ("Moved A -> B/C/D/E (became customers): 131; moved B/C/D -> E: 6", None),
        ("rate 12/345, mql/sql/opportunity, 2026/06/30, and/or", None),
        ("data/demo/leads.csv and ../params/demo.yaml", None),  # relative paths do not vary
    ],
)
def test_sanitize_file(text: str, expected: str | None) -> None:
    assert sanitize(text) == (text if expected is None else expected)


def test_sanitize_file_leaves_every_golden_line_but_volatile_ones() -> None:
    """The stored golden outputs of the four notebooks hold no timestamp, run id or path, so
    the sanitizer must leave every one of their lines as it is (a rule that rewrites analysis
    text hides a change in it)."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if not goldens.is_golden(cell):
                continue
            for out in cell.outputs:
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                for line in text.splitlines():
                    assert sanitize(line) == line, f"{path.name} cell {i}: {line!r}"
