"""leadnb.run.execute: one notebook (retries, failures, failure page), the worker protocol and
the scheduling of several; the notebook itself is a fake ``execute`` (no kernel)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import pytest

from leadnb.masking import Secret
from leadnb.run import execute
from leadnb.run.execute import (
    DEFAULT_FIX,
    NotebookResult,
    NotebookTask,
    error_fix,
    execute_task,
    short_error,
    task_from_json,
    task_to_json,
)


def fake_task(tmp_path: Path, name: str = "nb", **kw) -> NotebookTask:
    return NotebookTask(
        name=name,
        input_path=tmp_path / f"{name}.ipynb",
        run_dir=tmp_path,
        parameters={},
        cwd=tmp_path,
        **kw,
    )


def test_task_json_roundtrip(tmp_path: Path) -> None:
    task = NotebookTask(
        name="ok",
        input_path=tmp_path / "ok.ipynb",
        run_dir=tmp_path / ".tmp-x",
        parameters={"as_of": "2026-06-30", "interactive": False, "n": [1, 2]},
        cwd=tmp_path,
        secrets=(Secret("v4lue", "***"),),
        final_run_dir=tmp_path / "x",
    )
    assert task_from_json(task_to_json(task)) == task


def test_short_error_and_fix_of_a_notebook_error() -> None:
    from papermill.exceptions import PapermillExecutionError

    exc = PapermillExecutionError(
        cell_index=1,
        exec_count=1,
        source="x",
        ename="DataError",
        evalue="\x1b[31mERROR: table costs is missing\x1b[0m\n  fix: add a costs table",
        traceback=["Traceback", "DataError: table costs is missing"],
    )
    assert short_error(exc) == "DataError: ERROR: table costs is missing"
    assert error_fix(exc, "nurture_roi") == "add a costs table"
    assert error_fix(ValueError("no fix line"), "nurture_roi") == DEFAULT_FIX.format(
        nb="nurture_roi"
    )


def test_success_renders_html_and_lists_tables(tmp_path: Path) -> None:
    def run(task: NotebookTask, output: Path) -> None:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A title")])
        nbformat.write(nb, output)
        (task.out_dir / "b.csv").write_text("x\n1\n")
        (task.out_dir / "a.csv").write_text("x\n1\n")

    res = execute_task(fake_task(tmp_path), run)
    assert res.status == "success" and res.attempts == 1 and res.error is None
    assert res.tables == ["a.csv", "b.csv"] and res.title == "A title"
    page = (tmp_path / "nb" / "nb.html").read_text()
    # the notebook is linked for analysts (relative), never as a bare "Notebook" link
    assert '<a href="nb.ipynb">Notebook for analysts (.ipynb, opens in JupyterLab)</a>' in page
    assert 'href="../index.html"' in page


def test_dead_kernel_is_retried_once(tmp_path: Path) -> None:
    from nbclient.exceptions import DeadKernelError

    calls: list[int] = []

    def run(task: NotebookTask, output: Path) -> None:
        calls.append(1)
        if len(calls) == 1:
            (task.out_dir / "half.csv").write_text("x\n")
            raise DeadKernelError("Kernel died")
        (task.out_dir / "done.csv").write_text("x\n")

    res = execute_task(fake_task(tmp_path), run)
    assert res.status == "success" and res.attempts == 2 and res.error is None
    assert res.tables == ["done.csv"]  # the first attempt's files are gone


def test_dead_kernel_twice_fails(tmp_path: Path) -> None:
    from nbclient.exceptions import DeadKernelError

    def run(task: NotebookTask, output: Path) -> None:
        raise DeadKernelError("Kernel died")

    res = execute_task(fake_task(tmp_path), run)
    assert res.status == "failed" and res.attempts == 2
    assert "kernel died" in res.error and "2 attempts" in res.error


def test_notebook_error_is_not_retried(tmp_path: Path) -> None:
    calls: list[int] = []

    def run(task: NotebookTask, output: Path) -> None:
        calls.append(1)
        raise ValueError("bad input")

    res = execute_task(fake_task(tmp_path), run)
    assert res.status == "failed" and res.attempts == 1 and calls == [1]
    assert res.error == "ValueError: bad input"


def test_default_fix_when_the_error_has_none(tmp_path: Path) -> None:
    run_dir = tmp_path / ".tmp-r"
    run_dir.mkdir()
    task = NotebookTask("nb", tmp_path / "nb.ipynb", run_dir, {}, tmp_path)

    def run(task: NotebookTask, output: Path) -> None:
        raise ValueError("bad input\nsecond line")

    res = execute_task(task, run)
    assert res.error == "ValueError: bad input"
    assert res.fix == DEFAULT_FIX.format(nb="nb") and "nb.ipynb" in res.fix
    assert "Traceback" in res.detail and "second line" in res.detail
    page = (run_dir / "nb" / "nb.html").read_text()
    assert 'href="../run.log"' in page and "bad input" in page


def test_a_failure_is_masked_and_a_binary_secret_removed(tmp_path: Path) -> None:
    secret = Secret("Zq7tok3n-value", "[secret $X]")

    def run(task: NotebookTask, output: Path) -> None:
        (task.out_dir / "leak.csv").write_text(f"url\n{secret.value}\n")
        (task.out_dir / "blob.bin").write_bytes(b"\x00" + secret.value.encode())
        raise ValueError(f"cannot open {secret.value}")

    res = execute_task(fake_task(tmp_path, secrets=(secret,)), run)
    assert res.status == "failed" and res.removed == ["blob.bin"]
    assert secret.value not in res.error + res.detail and "[secret $X]" in res.error
    assert (tmp_path / "nb" / "leak.csv").read_text() == "url\n[secret $X]\n"
    assert secret.value not in (tmp_path / "nb" / "nb.html").read_text()


def test_execute_task_never_deletes_outside_its_run_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    run_dir = tmp_path / "out" / ".tmp-r"
    run_dir.mkdir(parents=True)
    task = NotebookTask("../../outside", tmp_path / "x.ipynb", run_dir, {}, tmp_path)
    res = execute_task(task, lambda t, o: None)
    assert res.status == "failed" and (outside / "keep.txt").exists()


def test_fail_fast_skips_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def one(task: NotebookTask) -> NotebookResult:
        ran.append(task.name)
        return NotebookResult(task.name, "failed" if task.name == "a" else "success")

    monkeypatch.setattr(execute, "execute_task", one)
    tasks = [fake_task(tmp_path, n) for n in ("a", "b", "c")]
    with contextlib.redirect_stderr(io.StringIO()):
        res = execute.execute_all(tasks, fail_fast=True)
        assert [r.status for r in res.values()] == ["failed", "skipped", "skipped"]
        assert ran == ["a"]
        res = execute.execute_all(tasks, fail_fast=False)
    assert [r.status for r in res.values()] == ["failed", "success", "success"]


def test_progress_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def one(task: NotebookTask) -> NotebookResult:
        return NotebookResult(task.name, "success", seconds=1.25, attempts=2)

    monkeypatch.setattr(execute, "execute_task", one)
    lines: list[str] = []
    execute.execute_all([fake_task(tmp_path, "a")], progress=lines.append)
    assert lines == ["[start] a", "[1/1] ok     a (1.2 s, 2 attempts)"]


def test_a_worker_that_dies_is_a_failed_notebook(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    res = execute._collect_worker(fake_task(tmp_path), proc, tmp_path / ".nb.result.json")
    assert res.status == "failed" and "exited with code 3" in res.error


def test_skip_slow_optional_imports_only_before_jsonschema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "rfc3987_syntax", raising=False)
    monkeypatch.delitem(sys.modules, "jsonschema", raising=False)
    execute.skip_slow_optional_imports()
    assert sys.modules["rfc3987_syntax"] is None
    monkeypatch.delitem(sys.modules, "rfc3987_syntax")
    monkeypatch.setitem(sys.modules, "jsonschema", object())
    execute.skip_slow_optional_imports()  # too late: jsonschema already chose
    assert "rfc3987_syntax" not in sys.modules


def test_a_worker_never_imports_pandas(tmp_path: Path) -> None:
    """A run's worker process (``python -m leadnb.run.runner``) executes a notebook through
    Papermill and renders its page; it never handles data, so pandas (0.4 s of import in each
    worker) stays out: its modules import it only where a frame is handled; and pyarrow with
    NumPy (Papermill's optional hdfs:// handler, 0.25 s) is kept out by the worker. Checked in
    a fresh interpreter: the worker's imports, then a page rendered and its numbers
    formatted."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from leadnb.run import execute, runner, warm\n"
        "execute.skip_slow_optional_imports()\n"
        "execute.skip_data_libraries_in_worker()\n"
        "import nbformat, papermill\n"
        "from nbconvert import HTMLExporter\n"
        "from leadnb.report import pages\n"
        "from leadnb.results import Kind, format_value\n"
        "from leadnb.errors import DataError\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell('# T\\n\\nx'),\n"
        "    nbformat.v4.new_code_cell('1', outputs=[nbformat.v4.new_output('stream',\n"
        "        name='stdout', text='<b>a</b>')])])\n"
        "page = pages.render_notebook_html(nb, title='t')\n"
        "assert '&lt;b&gt;a&lt;/b&gt;' in page\n"
        "assert format_value(0.25, Kind.RATE) == '25.0%' and format_value(None, Kind.RATE) == '–'\n"
        "assert 'a,b' in str(DataError('x', rows=['a,b']))\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow') if sys.modules.get(m)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
