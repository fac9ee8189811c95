"""leadnb.run.warm: workers whose kernel is started and warmed before their notebook arrives.

Real kernels on small notebooks written here: the notebook says whether a module the warm-up
imports was already imported when its first cell ran, and which execution count that cell got.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from leadnb.parallel import PROCESSES_ENV, available_cores
from leadnb.run import execute, kernels, warm
from leadnb.run.execute import NotebookTask

MARKER = "colorsys"  # a standard module neither ipykernel nor IPython imports on start


@pytest.fixture(autouse=True)
def _no_thread_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels' thread settings come from the run, not from the test's environment."""
    for var in (*kernels.THREAD_VARS, PROCESSES_ENV):
        monkeypatch.delenv(var, raising=False)


def _notebook(folder: Path, name: str = "probe") -> Path:
    cells = [
        nbformat.v4.new_code_cell("out_dir = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import sys, json, os\n"
            f"print(json.dumps({{'warm': {MARKER!r} in sys.modules, 'cwd': os.getcwd(), "
            "'names': sorted(n for n in dir() if n.startswith('_leadnb')), "
            "'threads': os.environ.get('OPENBLAS_NUM_THREADS')}))"
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _task(folder: Path, run_dir: Path, name: str = "probe") -> NotebookTask:
    choice = kernels.resolve_kernel(kernels.KERNEL_NAME)
    return NotebookTask(
        name=name,
        input_path=folder / f"{name}.ipynb",
        run_dir=run_dir,
        parameters={"out_dir": str(run_dir / name)},
        cwd=folder,
        kernel_name=choice.name,
        own_kernel=choice.own_interpreter,
    )


def _printed(run_dir: Path, name: str = "probe") -> tuple[dict, int]:
    nb = nbformat.read(run_dir / name / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "json.dumps" in c.source)
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1]), cell.execution_count


def _spec(folder: Path, **kw) -> warm.WarmSpec:
    choice = kernels.resolve_kernel(kernels.KERNEL_NAME)
    return warm.WarmSpec(choice.name, str(folder), choice.own_interpreter, preload=(MARKER,), **kw)


def _wait_for(path: Path, proc, timeout: float = 120.0) -> None:
    """Wait until a worker's result file exists (a reused worker does not exit after it)."""
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the worker exited with {proc.returncode} and no result"
        assert time.monotonic() < end, "no result in time"
        time.sleep(0.05)


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path, list[NotebookTask]]:
    """Two probe notebooks in a folder, and their tasks into a run folder."""
    folder, run_dir = tmp_path / "nbs", tmp_path / "run"
    folder.mkdir()
    run_dir.mkdir()
    _notebook(folder, "one")
    _notebook(folder, "two")
    return folder, run_dir, [_task(folder, run_dir, "one"), _task(folder, run_dir, "two")]


@pytest.mark.slow
def test_a_warm_worker_runs_its_notebook_in_the_warmed_kernel(two) -> None:
    folder, run_dir, tasks = two
    with warm.WarmPool(_spec(folder), jobs=2, expected=2) as pool:
        pool.warm()  # what the runner does once the tables are read
        results = execute.execute_all(tasks, jobs=2, warm=pool)
    assert [r.status for r in results.values()] == ["success", "success"], results
    for name in ("one", "two"):
        printed, count = _printed(run_dir, name)
        # the module was imported before the first cell; the kernel runs in the notebooks'
        # folder; the warm-up left no name and did not move the execution count
        assert printed == {"warm": True, "cwd": str(folder), "names": [], "threads": "1"}
        assert count == 3  # parameters 1, injected parameters 2: as in a cold kernel


@pytest.mark.slow
def test_a_cold_worker_has_not_imported_the_marker(two) -> None:
    """The contrast that makes the test above mean something."""
    folder, run_dir, tasks = two
    results = execute.execute_all(tasks, jobs=2)
    assert [r.status for r in results.values()] == ["success", "success"]
    assert _printed(run_dir, "one") == (
        {"warm": False, "cwd": str(folder), "names": [], "threads": "1"},
        3,
    )


@pytest.mark.slow
def test_a_worker_warmed_for_another_folder_starts_the_tasks_own_kernel(tmp_path: Path) -> None:
    folder, other, run_dir = tmp_path / "nbs", tmp_path / "elsewhere", tmp_path / "run"
    for d in (folder, other, run_dir):
        d.mkdir()
    _notebook(folder)
    with warm.WarmPool(_spec(other), jobs=2, expected=2) as pool:
        pool.warm()
        proc = pool.take(execute.task_to_json(_task(folder, run_dir)), run_dir / "r.json")
        _wait_for(run_dir / "r.json", proc)
        pool.done(proc)  # it waits for the next task, until the pool closes
    assert proc.wait(timeout=30) == 0
    result = json.loads((run_dir / "r.json").read_text())
    assert result["status"] == "success"
    assert _printed(run_dir)[0] == {"warm": False, "cwd": str(folder), "names": [], "threads": "1"}


@pytest.mark.slow
def _processes_notebook(folder: Path, name: str) -> None:
    cells = [
        nbformat.v4.new_code_cell("out_dir = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            f"import json, os\nprint(json.dumps(os.environ.get({PROCESSES_ENV!r})))"
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / f"{name}.ipynb")


def _processes_seen(run_dir: Path, name: str) -> str | None:
    nb = nbformat.read(run_dir / name / f"{name}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text)


@pytest.mark.slow
def test_notebooks_side_by_side_share_the_cores_and_one_alone_forks_on_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``jobs`` notebooks at once, each kernel's fork_map gets the cores divided by
    ``jobs``; a notebook run alone gets no limit; a limit the user set wins."""
    folder, run_dir = tmp_path / "nbs", tmp_path / "run"
    folder.mkdir()
    run_dir.mkdir()
    for name in ("a", "b"):
        _processes_notebook(folder, name)
    tasks = [_task(folder, run_dir, "a"), _task(folder, run_dir, "b")]
    results = execute.execute_all(tasks, jobs=2)  # a worker per notebook (no pool)
    assert [r.status for r in results.values()] == ["success", "success"], results
    share = str(max(1, available_cores() // 2))
    assert [_processes_seen(run_dir, n) for n in ("a", "b")] == [share, share]
    with warm.WarmPool(_spec(folder), jobs=2, expected=2) as pool:
        results = execute.execute_all(tasks, jobs=2, warm=pool)
    assert [_processes_seen(run_dir, n) for n in ("a", "b")] == [share, share]
    execute.execute_all(tasks[:1], jobs=1)
    assert _processes_seen(run_dir, "a") is None
    monkeypatch.setenv(PROCESSES_ENV, "3")
    execute.execute_all(tasks, jobs=2)
    assert [_processes_seen(run_dir, n) for n in ("a", "b")] == ["3", "3"]


def test_a_run_in_this_process_gives_its_kernel_one_thread_and_restores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    folder, run_dir = tmp_path / "nbs", tmp_path / "run"
    folder.mkdir()
    run_dir.mkdir()
    _notebook(folder)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    results = execute.execute_all([_task(folder, run_dir)], jobs=1)
    assert results["probe"].status == "success"
    assert _printed(run_dir)[0]["threads"] == "1"
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # restored after the run
    # a value the user set wins
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    execute.execute_all([_task(folder, run_dir)], jobs=1)
    assert _printed(run_dir)[0]["threads"] == "3"


@pytest.mark.slow
def test_a_worker_given_its_task_before_the_word_to_warm_runs_it_cold(two) -> None:
    """Workers wait for the runner's word (sent once the tables are read, when the kernels'
    imports no longer slow the read down); a task that comes first runs in a kernel of its own."""
    folder, run_dir, tasks = two
    with warm.WarmPool(_spec(folder), jobs=2, expected=2) as pool:
        results = execute.execute_all(tasks, jobs=2, warm=pool)
    assert [r.status for r in results.values()] == ["success", "success"], results
    for name in ("one", "two"):
        assert _printed(run_dir, name) == (
            {"warm": False, "cwd": str(folder), "names": [], "threads": "1"},
            3,
        )


def test_closing_the_pool_ends_the_workers_nobody_took(tmp_path: Path) -> None:
    with warm.WarmPool(_spec(tmp_path), jobs=2, expected=4) as pool:
        workers = [psutil.Process(p.pid) for p in pool.ready]
        assert len(workers) == 2  # as many as run at once, not one per notebook
    assert all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in workers)
    me = psutil.Process()
    assert not [c for c in me.children(recursive=True) if "ipykernel" in " ".join(c.cmdline())]


@pytest.fixture
def fake_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    """Workers the pool starts are fakes that write their stdin to ``stdin<k>`` (k from 1);
    the list holds them in the order started."""
    started: list = []

    class Fake:
        pid = 0  # what a started zygote records

        def __init__(self) -> None:
            started.append(self)
            self.stdin = open(tmp_path / f"stdin{len(started)}", "w")

        def poll(self) -> None:
            return None

        def wait(self, timeout: float | None = None) -> int:
            return 0

        def terminate(self) -> None:
            pass

    monkeypatch.setattr(warm.subprocess, "Popen", lambda *a, **k: Fake())
    return started


def test_the_pool_starts_one_worker_per_notebook_at_most(tmp_path: Path, fake_workers) -> None:
    started = fake_workers
    pool = warm.WarmPool(_spec(tmp_path), jobs=2, expected=3)
    pool.fill()
    assert len(started) == 2
    pool.warm()
    pool.warm()  # said once
    for i in range(3):
        pool.take("{}", tmp_path / f"r{i}.json")
    assert len(started) == 3 and pool.ready == []  # three notebooks, three workers
    for i in (1, 2, 3):  # the first two told when warm() was called, the third when started
        text = (tmp_path / f"stdin{i}").read_text()
        word, task = text.split("\n", 1)
        assert word == warm.WARM_NOW
        assert json.loads(task) == {"result": str(tmp_path / f"r{i - 1}.json"), "task": {}}
    pool.close()


def test_preload_code_imports_without_leaving_names() -> None:
    ns: dict = {}
    exec(warm.preload_code([MARKER, "no_such_module_anywhere"]), ns)
    assert MARKER in sys.modules
    assert not [k for k in ns if not k.startswith("__")]


@pytest.mark.slow
def test_a_pool_with_a_zygote_runs_its_notebooks_in_forked_kernels(two) -> None:
    """With the kernel's command the pool forks the kernels from one zygote, started when the
    workers are told to warm; the notebooks see the same kernel as a warmed one (module
    imported, their folder, one thread), and closing the pool ends it and its kernels."""
    folder, run_dir, tasks = two
    argv = kernels.resolve_kernel(kernels.KERNEL_NAME).argv
    with warm.WarmPool(_spec(folder), jobs=2, expected=2, kernel_argv=argv) as pool:
        assert pool.forks is not None and pool.forks.proc is None
        zygote_folder = pool.forks.folder
        pool.warm()
        assert pool.forks.proc is not None
        zygote_pid = pool.forks.proc.pid
        kernels_seen = {
            p.pid: p.name()
            for p in psutil.Process(zygote_pid).children()
            if p.name().startswith("kernel:")
        }
        results = execute.execute_all(tasks, jobs=2, warm=pool)
    assert [r.status for r in results.values()] == ["success", "success"], results
    for name in ("one", "two"):
        printed, count = _printed(run_dir, name)
        assert printed == {"warm": True, "cwd": str(folder), "names": [], "threads": "1"}
        assert count == 3
    assert not zygote_folder.exists()  # closed with the pool
    assert all(not psutil.pid_exists(pid) for pid in kernels_seen)


@pytest.mark.slow
def test_a_pool_reuses_its_workers_and_gives_every_notebook_a_fresh_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three notebooks, two at a time: two workers in all (the first one done runs the third),
    and each notebook in a kernel of its own (execution count 3, as in a fresh kernel: a kernel
    used twice would count on), forked from the zygote, so the reused worker's kernel has the
    imports too."""
    folder, run_dir = tmp_path / "nbs", tmp_path / "run"
    folder.mkdir()
    run_dir.mkdir()
    names = ("one", "two", "three")
    for name in names:
        _notebook(folder, name)
    tasks = [_task(folder, run_dir, name) for name in names]
    spawned: list[int] = []
    real_spawn = warm.WarmPool._spawn

    def counting(self):
        proc = real_spawn(self)
        spawned.append(proc.pid)
        return proc

    monkeypatch.setattr(warm.WarmPool, "_spawn", counting)
    argv = kernels.resolve_kernel(kernels.KERNEL_NAME).argv
    with warm.WarmPool(_spec(folder), jobs=2, expected=3, kernel_argv=argv) as pool:
        pool.warm()
        results = execute.execute_all(tasks, jobs=2, warm=pool)
        assert pool.ready == [] and pool.busy == []  # none left waiting: told to end
    assert [r.status for r in results.values()] == ["success"] * 3, results
    assert len(spawned) == 2
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(names)  # no marks, no results
    for name in names:  # each report rendered (in a thread beside the worker's next notebook)
        assert results[name].title and (run_dir / name / f"{name}.html").is_file()
    for name in names:
        assert _printed(run_dir, name) == (
            {"warm": True, "cwd": str(folder), "names": [], "threads": "1"},
            3,
        )
    assert all(not psutil.pid_exists(pid) for pid in spawned)


def test_a_worker_that_died_while_waiting_is_replaced(tmp_path: Path, fake_workers) -> None:
    """A waiting worker whose stdin is gone (it died) does not lose the task: a new worker
    gets it."""
    started = fake_workers
    pool = warm.WarmPool(_spec(tmp_path), jobs=1, expected=2)
    pool.fill()
    assert len(started) == 1
    started[0].stdin.close()  # what writing to a dead worker's pipe raises, as ValueError
    proc = pool.take("{}", tmp_path / "r0.json")
    assert proc is started[1] and pool.busy == [proc]
    task = json.loads((tmp_path / "stdin2").read_text())
    assert task == {"result": str(tmp_path / "r0.json"), "task": {}}
    pool.close()


def test_workers_done_together_wait_only_for_the_notebooks_left(
    tmp_path: Path, fake_workers
) -> None:
    """Two workers that finish in the same poll with one notebook left: one waits for it, the
    other is told to end (it would otherwise wait idle, its kernel warm, until the pool
    closes)."""
    started = fake_workers
    pool = warm.WarmPool(_spec(tmp_path), jobs=2, expected=3)
    pool.fill()
    first = pool.take("{}", tmp_path / "r0.json")
    second = pool.take("{}", tmp_path / "r1.json")
    assert pool.busy == [first, second] and pool.ready == []
    pool.done(first)
    pool.done(second)
    assert pool.ready == [first] and pool.retired == [second]
    assert (tmp_path / "stdin2").read_text().endswith("null\n")
    assert pool.take("{}", tmp_path / "r2.json") is first
    pool.done(first)
    assert pool.ready == [] and pool.busy == [] and pool.retired == [second, first]
    assert len(started) == 2
    pool.close()


def test_a_run_starts_the_zygote_first_and_its_workers_warm_as_they_start(
    tmp_path: Path, fake_workers
) -> None:
    """The zygote (the longest wait) is started before the workers, which are told to warm as
    they start, all before the runner reads the tables."""
    from leadnb.run import runner, zygote

    folder = tmp_path / "nbs"
    folder.mkdir()
    argv = [sys.executable, "-m", zygote.LAUNCHER, "-f", "{connection_file}"]
    choice = kernels.KernelChoice(name="python3", own_interpreter=True, argv=tuple(argv))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(kernels, "resolve_kernel", lambda name: choice)
        pool = runner._warm_pool(["a", "b"], 2, folder, "python3")
    with pool:
        assert len(fake_workers) == 3
        assert pool.forks is not None and pool.forks.proc is fake_workers[0]
        for k in (2, 3):  # the two workers
            fake_workers[k - 1].stdin.flush()
            assert (tmp_path / f"stdin{k}").read_text() == warm.WARM_NOW + "\n"


class _Pool:
    """A pool of one fake worker for :func:`execute.execute_all`: ``take`` runs ``script``'s
    step for the task (the test's stand-in for what the worker writes), and the calls are
    recorded."""

    def __init__(self, script: dict) -> None:
        self.script = script
        self.calls: list[str] = []

    def take(self, task_json: str, result_path: Path) -> object:
        name = json.loads(task_json)["name"]
        self.calls.append(f"take {name}")
        self.script[name](result_path)
        return _Proc

    def done(self, proc: object) -> None:
        self.calls.append("done")


class _Proc:
    @staticmethod
    def poll() -> None:
        return None


def _result(path: Path, name: str) -> None:
    execute.write_result(path, execute.NotebookResult(name, "success", seconds=1.0))


def test_a_worker_takes_its_next_notebook_while_the_last_report_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two at a time, three notebooks: once the first has executed (its mark is there, its
    report still rendering, no result yet), the runner gives that worker the third while the
    second still runs; the first result, when it comes, does not free the worker a second
    time, and the marks are removed. Without the handover the runner would wait for ever: the
    first result comes only with the third notebook."""
    import threading

    monkeypatch.setattr(execute, "POLL_SECONDS", 0.001)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    tasks = [_task(tmp_path, run_dir, name) for name in ("a", "b", "c")]

    def finish_all(path: Path) -> None:
        for name in ("a", "b", "c"):
            _result(run_dir / f".{name}.result.json", name)

    pool = _Pool({"a": execute.mark_executed, "b": lambda path: None, "c": finish_all})
    done: dict = {}
    runner = threading.Thread(
        target=lambda: done.update(execute.execute_all(tasks, jobs=2, warm=pool)), daemon=True
    )
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), f"the runner waited for a result: {pool.calls}"
    assert pool.calls == ["take a", "take b", "done", "take c", "done", "done"]
    assert [r.status for r in done.values()] == ["success"] * 3
    assert not list(run_dir.iterdir())  # results read, marks removed


def test_a_report_that_cannot_be_written_still_gives_a_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread that renders a report beside the next notebook always leaves a result (a
    failure when rendering raised), or the runner would wait for it."""
    task = _task(tmp_path, tmp_path / "run", "probe")

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(execute, "finish_task", full)
    path = tmp_path / ".probe.result.json"
    warm._finish(task, execute.Executed("success", 2.5, 1), path)
    result = json.loads(path.read_text())
    assert result["status"] == "failed" and "No space left on device" in result["error"]
    assert result["seconds"] == 2.5 and result["attempts"] == 1
