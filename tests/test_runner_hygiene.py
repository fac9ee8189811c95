"""``leadnb run`` against hostile names and a hostile machine (issues 13 and 14).

Names that become paths, URL passwords in every message and file, stale temporary folders, a
full disk, ``OUT/latest`` only for the complete report set, the failure page and run log, the
experiment log written only when a run is published, bad ``--out`` values, and workers that die
with a killed runner.

Most tests run :func:`leadnb.run.runner.run` for real with ``execute_all`` replaced by a fake that
writes what a notebook would (no Jupyter kernel); one test starts real kernels and kills the
runner with SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
import yaml
from test_masking import PASSWORD, forms_of
from test_runner import FIXTURES, SECRET_VAR, make_project, run_cli, secret_url

from leadnb.data import params as config
from leadnb.experiments import log as experiments
from leadnb.run import execute, hygiene, publish
from leadnb.run.execute import NotebookResult, NotebookTask

LEAK_VAR = "LEADNB_TEST_LEAK_URL"


def _cli_with_unreachable_db(tmp_path: Path, url: str) -> tuple[int, str, str, Path]:
    params = make_project(tmp_path / "p")
    raw = yaml.safe_load(params.read_text())
    raw["data"]["costs"]["url_env"] = LEAK_VAR
    params.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(LEAK_VAR, url)
        code, stdout, stderr = run_cli(
            ["run", str(params), "--notebooks", "ok", "--out", str(out)]
            + ["--notebook-dir", str(params.parent / "nbs")]
        )
    return code, stdout, stderr, out


@pytest.mark.parametrize("encode", [False, True], ids=["unencoded", "percent-encoded"])
def test_unreachable_database_leaks_no_password(tmp_path: Path, encode: bool) -> None:
    """A SQL source on a closed port of 127.0.0.1: the load fails (exit 2), and no form of the
    password reaches stdout, stderr or any file."""
    pw = urllib.parse.quote(PASSWORD, safe="") if encode else PASSWORD
    code, stdout, stderr, out = _cli_with_unreachable_db(
        tmp_path, f"postgresql+psycopg://analyst:{pw}@127.0.0.1:9/crm"
    )
    assert code == 2, stderr
    assert "Traceback" not in stderr and "costs" in stderr
    written = [p.read_bytes() for p in out.rglob("*") if p.is_file()] if out.exists() else []
    for form in forms_of(PASSWORD):
        assert form not in stdout + stderr, (form, stderr)
        assert all(form.encode() not in data for data in written)


# --------------------------------------------------------------------------------------------
# names that become paths


def test_traversal_name_touches_nothing_outside(tmp_path: Path) -> None:
    params = make_project(tmp_path / "p")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    nbformat.write(nbformat.read(FIXTURES / "ok.ipynb", as_version=4), victim / "x.ipynb")
    out = tmp_path / "deep" / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_VAR, secret_url(tmp_path / "p"))
        for name in ("../../victim", "../victim/x", str(victim / "x"), "..", "ok;x"):
            code, _, stderr = run_cli(
                ["run", str(params), "--notebooks", name, "--out", str(out)]
                + ["--notebook-dir", str(params.parent / "nbs")]
            )
            assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
            assert "not a plain name" in stderr
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt", "x.ipynb"]
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# whole runs with a fake executor (no kernel)


def fake_executor(
    fail: Sequence[str] = (), extra: Callable[[NotebookTask], None] | None = None
) -> Callable[..., dict[str, NotebookResult]]:
    """``execute_all`` that runs the real :func:`leadnb.run.execute.execute_task` with a fake
    notebook: it writes the executed notebook, a CSV and metrics; a name in ``fail`` raises the
    way a failing cell does (a LeadnbError message with its fix line)."""

    def notebook(task: NotebookTask, output: Path) -> None:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {task.name}")])
        nbformat.write(nb, output)
        with open(task.out_dir / "table.csv", "w") as fh:  # as a kernel writes: not Path
            fh.write("a\n1\n")
        with open(task.out_dir / "metrics.json", "w") as fh:
            json.dump({"n_leads": 3}, fh)
        if extra is not None:
            extra(task)
        if task.name in fail:
            from papermill.exceptions import PapermillExecutionError

            raise PapermillExecutionError(
                cell_index=1,
                exec_count=1,
                source="x",
                ename="DataError",
                evalue=(
                    f"ERROR: table costs could not be read from {os.environ.get(LEAK_VAR, '')}\n"
                    "  fix: add a costs table to the params file"
                ),
                traceback=[
                    "\x1b[31mTraceback (most recent call last)\x1b[0m",
                    f'  File "cell", line 3, in load({os.environ.get(LEAK_VAR, "")})',
                    "DataError: table costs could not be read",
                ],
            )

    def execute_all(tasks, *, jobs=1, fail_fast=False, progress=None, on_result=None):
        say = progress or hygiene.say
        results = {}
        for t in tasks:
            say(f"[start] {t.name}")
            results[t.name] = execute.execute_task(t, notebook)
            if on_result is not None:
                on_result(results[t.name])
        return results

    return execute_all


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    params = make_project(tmp_path / "p")
    monkeypatch.setenv(SECRET_VAR, secret_url(tmp_path / "p"))
    monkeypatch.setenv(LEAK_VAR, f"postgresql://analyst:{PASSWORD}@127.0.0.1:9/crm")
    return params


def fake_run(
    params: Path,
    out: Path,
    notebooks: str | None = None,
    *,
    fail: Sequence[str] = (),
    as_of: str | None = None,
    extra: Callable[[NotebookTask], None] | None = None,
) -> tuple[int, str, str]:
    argv = ["run", str(params), "--out", str(out), "--notebook-dir", str(params.parent / "nbs")]
    if notebooks:
        argv += ["--notebooks", notebooks]
    if as_of:
        argv += ["--as-of", as_of]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(execute, "execute_all", fake_executor(fail, extra))
        return run_cli(argv)


def published(out: Path) -> list[Path]:
    return sorted(
        p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.is_symlink()
    )


def test_latest_moves_only_for_a_complete_successful_run(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, stderr = fake_run(project, out, "ab_testing")
    assert code == 0 and not (out / "latest").exists()
    assert "latest not moved" in stderr
    code, _, _ = fake_run(project, out)  # all four
    assert code == 0
    full = publish.latest_run_id(out)
    assert full is not None and json.loads((out / full / "manifest.json").read_text())["options"][
        "notebooks"
    ] == list(config.NOTEBOOKS)
    code, _, _ = fake_run(project, out, "ab_testing,nurture_roi")  # a later subset
    assert code == 0 and publish.latest_run_id(out) == full
    code, _, _ = fake_run(project, out, fail=["cohort_conversion"])  # all four, one fails
    assert code == 1 and publish.latest_run_id(out) == full
    code, _, stderr = fake_run(project, out, as_of="2026-03-31")  # a complete backfill
    assert code == 0 and publish.latest_run_id(out) == full
    assert f"latest not moved: it shows {full}, of a later analysis date" in stderr
    assert len(published(out)) == 5
    index = (out / "index.html").read_text()
    assert all(d.name in index for d in published(out))


def test_failed_notebook_gets_a_failure_page_and_the_run_log(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = fake_run(project, out, "ok,nurture_roi", fail=["nurture_roi"])
    assert code == 1
    (run_dir,) = published(out)
    m = json.loads((run_dir / "manifest.json").read_text())
    entry = {n["name"]: n for n in m["notebooks"]}
    bad = entry["nurture_roi"]
    assert bad["status"] == "failed" and bad["log"] == "run.log"
    assert bad["fix"] == "add a costs table to the params file"  # the error's own fix line
    assert bad["error"].startswith("DataError: ERROR: table costs could not be read")
    assert "\n" not in bad["error"] and "fix" not in entry["ok"] and m["log"] == "run.log"
    page = (run_dir / "nurture_roi" / "nurture_roi.html").read_text()
    assert "add a costs table to the params file" in page and 'href="../run.log"' in page
    assert 'href="nurture_roi.ipynb"' in page and "Traceback" not in page
    log = (run_dir / "run.log").read_text()
    assert "[start] ok" in log and "[start] nurture_roi" in log
    assert "=== nurture_roi failed" in log and "Traceback (most recent call last)" in log
    assert "\x1b[" not in log and "FAILED: nurture_roi" in log
    everything = (
        stdout
        + stderr
        + "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    )
    for form in forms_of(PASSWORD):
        assert form not in everything, form
    assert f"[secret ${LEAK_VAR}]" in log


def test_long_run_name_is_truncated(project: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load(project.read_text())
    raw["run"]["name"] = "quarterly report for the board: " * 6  # 198 characters (200 allowed)
    project.write_text(yaml.safe_dump(raw))
    code, _, stderr = fake_run(project, tmp_path / "out", "ok")
    assert code == 0, stderr
    (run_dir,) = published(tmp_path / "out")
    assert len(run_dir.name) <= len("20260101-000000--2026-06-30") + publish.RUN_NAME_MAX
    assert run_dir.name.endswith("-2026-06-30")


def test_experiment_log_written_only_when_published(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rows(task: NotebookTask) -> None:
        if task.name == "ab_testing":
            (task.out_dir / "experiment_log_rows.csv").write_text(
                "experiment_id,run,as_of,registration,metric\n"
                f"exp-1,{experiments.run_label(task.out_dir)},2026-06-30,abc123,sql\n"
            )

    out = tmp_path / "out"
    code, _, _ = fake_run(project, out, "ab_testing", extra=rows)
    assert code == 0
    log = (out / "experiment_log.csv").read_text()
    assert "exp-1" in log and "2026-06-30" in log and ".tmp-" not in log
    # a run that is not published (disk full at the manifest) adds nothing
    before = (out / "experiment_log.csv").read_text()
    real = publish.write_json
    monkeypatch.setattr(publish, "write_json", _enospc)
    code, _, stderr = fake_run(project, out, "ab_testing", as_of="2026-07-31", extra=rows)
    monkeypatch.setattr(publish, "write_json", real)
    assert code == 1 and (out / "experiment_log.csv").read_text() == before


def test_experiment_log_failure_is_said_and_exit_1(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rows(task: NotebookTask) -> None:
        (task.out_dir / "experiment_log_rows.csv").write_text("experiment_id,as_of\nexp-1,x\n")

    def broken_append(*args: Any, **kwargs: Any) -> None:
        raise ValueError("the log is locked by a spreadsheet")

    monkeypatch.setattr(experiments, "append_log", broken_append)
    out = tmp_path / "out"
    code, _, stderr = fake_run(project, out, extra=rows)
    assert code == 1 and "the experiment log was not updated" in stderr
    (run_dir,) = published(out)
    assert publish.latest_run_id(out) == run_dir.name  # the run itself is complete
    assert run_dir.name in (out / "index.html").read_text()
    assert "experiment log was not updated" in (run_dir / "run.log").read_text()


def _enospc(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "manifest.json")


@pytest.mark.parametrize("where", ["manifest", "csv"])
def test_disk_full_keeps_the_previous_run_and_latest(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    out = tmp_path / "out"
    assert fake_run(project, out)[0] == 0
    before = sorted(p.name for p in out.iterdir())
    latest = publish.latest_run_id(out)
    index = (out / "index.html").read_text()
    if where == "manifest":
        monkeypatch.setattr(publish, "write_json", _enospc)
    else:  # the runner rewrites a CSV that holds a secret (scrubbing): the disk is full
        real = Path.write_text

        def write_text(self: Path, *args: Any, **kwargs: Any) -> int:
            if self.suffix == ".csv":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)

    def leak(task: NotebookTask) -> None:
        with (task.out_dir / "leak.csv").open("w") as fh:
            fh.write(f"url\n{os.environ[SECRET_VAR]}\n")

    code, stdout, stderr = fake_run(project, out, extra=leak, as_of="2026-07-31")
    monkeypatch.undo()
    assert code == 1
    lines = [ln for ln in stderr.splitlines() if ln.startswith("ERROR")]
    assert len(lines) == 1 and "No space left on device" in lines[0], stderr
    assert "Traceback" not in stderr and "not published" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == before  # no .tmp- folder left
    assert publish.latest_run_id(out) == latest
    assert (out / "index.html").read_text() == index


def test_interrupted_run_removes_its_temporary_folder(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert fake_run(project, out)[0] == 0
    before = sorted(p.name for p in out.iterdir())

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(execute, "execute_all", interrupted)
        code, _, stderr = run_cli(
            ["run", str(project), "--out", str(out)]
            + ["--notebook-dir", str(project.parent / "nbs")]
        )
    assert code == 130 and "interrupted" in stderr
    assert sorted(p.name for p in out.iterdir()) == before


def test_stale_temporary_folders_are_removed(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_start = psutil.Process(dead.pid).create_time() if psutil.pid_exists(dead.pid) else 1.0
    dead.wait()
    stale = out / ".tmp-killed-run"
    (stale / "ok").mkdir(parents=True)
    (stale / ".owner").write_text(f"{dead.pid} {dead_start}\n")
    legacy = out / ".tmp-older-version"  # no owner file: from a leadnb before owners
    legacy.mkdir()
    reused = out / ".tmp-pid-reused"  # the pid is alive but it is another process
    reused.mkdir()
    (reused / ".owner").write_text(f"{os.getpid()} 12345.0\n")
    live = out / ".tmp-running"
    live.mkdir()
    (live / ".owner").write_text(
        f"{os.getpid()} {psutil.Process().create_time()}\n"
    )  # this process: alive
    code, _, stderr = fake_run(project, out, "ok")
    assert code == 0
    assert sorted(p.name for p in out.glob(".tmp-*")) == [".tmp-running"]
    (line,) = [ln for ln in stderr.splitlines() if "temporary folder" in ln]
    assert "removed 3" in line and ".tmp-killed-run" in line


# --------------------------------------------------------------------------------------------
# bad command-line values


def test_out_under_a_file_exits_2_in_one_line(project: Path, tmp_path: Path) -> None:
    (tmp_path / "somefile").write_text("x")
    for out in (tmp_path / "somefile" / "sub", tmp_path / "somefile"):
        code, _, stderr = fake_run(project, out, "ok")
        assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
        assert "Traceback" not in stderr and "somefile" in stderr


def test_over_long_out_name_exits_2_in_one_line(project: Path, tmp_path: Path) -> None:
    code, _, stderr = fake_run(project, tmp_path / ("o" * 300), "ok")
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "File name too long" in stderr


def test_unwritable_out_exits_2_in_one_line(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "readonly"
    out.mkdir()
    real = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.parent == out:  # as for a folder without write permission (tests run as root)
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    code, _, stderr = fake_run(project, out, "ok")
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "Permission denied" in stderr and not list(out.glob(".tmp-*"))


# --------------------------------------------------------------------------------------------
# process hygiene (real kernels)


@pytest.mark.slow
def test_killed_runner_leaves_no_process(tmp_path: Path) -> None:
    params = make_project(tmp_path / "p")
    nbs = params.parent / "nbs"
    for name in ("sleeps", "sleeps_too"):
        nbformat.write(
            nbformat.read(FIXTURES / "sleeps.ipynb", as_version=4), nbs / f"{name}.ipynb"
        )
    out = tmp_path / "out"
    env = {**os.environ, SECRET_VAR: secret_url(tmp_path / "p")}
    cmd = [sys.executable, "-m", "leadnb", "run", str(params), "--notebooks", "sleeps,sleeps_too"]
    cmd += ["--jobs", "2", "--out", str(out), "--notebook-dir", str(nbs)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        pids: list[Path] = []
        while len(pids) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            pids = list(out.glob(".tmp-*/sleeps*/kernel.pid"))
        assert len(pids) == 2, proc.stderr.read().decode() if proc.poll() is not None else ""
        family = psutil.Process(proc.pid).children(recursive=True)
        kernels = {int(p.read_text()) for p in pids}
        assert kernels <= {p.pid for p in family} and len(family) >= 4  # 2 workers, 2 kernels
        # the kernels' zygote (leadnb.run.zygote FOLDER ...; its kernels are forks of it)
        forks = {
            c[c.index("leadnb.run.zygote") + 1]
            for p in family
            if "leadnb.run.zygote" in (c := p.cmdline())
        }
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(family, timeout=30)
        assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        # which removed its folder as it ended
        assert len(forks) == 1 and not Path(forks.pop()).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    # the next run removes the killed run's temporary folder, saying so
    (stale,) = out.glob(".tmp-*")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_VAR, secret_url(tmp_path / "p"))
        code, _, stderr = fake_run(params, out, "ok")
    assert code == 0 and "removed 1 temporary folder(s)" in stderr and stale.name in stderr
    assert not list(out.glob(".tmp-*"))


@pytest.mark.slow
@pytest.mark.parametrize("then", [(), ("SIGINT", "SIGTERM", "SIGINT")], ids=["once", "again"])
def test_a_terminals_ctrl_c_ends_the_run_its_workers_and_kernels(
    demo_data: Path, tmp_path: Path, then: tuple[str, ...]
) -> None:
    """Ctrl-C in a terminal sends SIGINT to the foreground process group: the runner's, which
    its workers share (they leave it to the runner, which ends them and their kernels); the
    zygote and the kernels have sessions of their own. Nothing is published. Ctrl-C pressed
    again, or a SIGTERM, while the run ends changes nothing of that (exit 130 included)."""
    out = tmp_path / "out"
    params = demo_data.parent.parent / "params" / "demo.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadnb", "run", str(params), "--jobs", "2"] + ["--out", str(out)],
        start_new_session=True,  # a group of its own, as a shell gives a foreground job
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runner = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    seen: list[psutil.Process] = []
    while time.monotonic() < deadline and proc.poll() is None:
        seen = runner.children(recursive=True)
        if any(p.name().startswith("kernel:") for p in seen if p.is_running()):
            break
        time.sleep(0.05)
    assert any(p.name().startswith("kernel:") for p in seen), "no kernel started"
    workers = [p for p in seen if "--warm" in " ".join(p.cmdline())]
    assert len(workers) == 2 and all(os.getpgid(w.pid) == proc.pid for w in workers)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does
    for name in then:  # an impatient user, a scheduler's timeout
        time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, getattr(signal, name))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in stderr, stderr
    gone, alive = psutil.wait_procs(seen, timeout=15)
    assert not alive, [p.cmdline() for p in alive]
    assert not list(out.glob("*/manifest.json")) and not list(out.glob(".tmp-*"))
