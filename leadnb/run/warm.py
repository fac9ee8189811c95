"""Warm workers: the kernel is started and the libraries imported while the run does other work.

Each notebook of a run with ``--jobs 2`` or more executes in its own worker process
(:func:`leadnb.run.execute.execute_all`). Before this module, a worker was started when its
notebook's turn came, and then paid, one after the other: Python and Papermill's imports, the
kernel start, and the kernel's imports of pandas, matplotlib, SciPy, statsmodels, lifelines and
leadnb (about 4 s a notebook on 2 cores), while the run's validation had already finished.

A :class:`WarmPool` starts the zygote and the workers first: ``leadnb run`` opens it before it
loads and checks the tables (:func:`leadnb.run.plan.plan_run`) and tells it to warm at once
(:meth:`WarmPool.warm`), so the zygote imports :data:`PRELOAD` and the workers start their
kernels while the runner reads and validates (a kernel forked from the zygote has them; one
started without it imports them in :func:`warm_kernel`, silently: nothing reaches the notebook,
the execution count does not move). Until 2026-12-05 the pool warmed after the read: two kernels
importing beside the read had made it take 9.8 s instead of 5.6 s at a million leads. With one
zygote importing, in a session of its own (see "Scheduling"), warming from the start measured
41.3-44.7 s against 42.3-47.3 s after the read at a million leads (alternated four times), the
same at 200,000 leads, and forked a demo run's first kernels about a second sooner.

A worker waits for its task on stdin (one line: the task and the result file's path). A worker
whose kernel did not start or warm up, or that was given its task before the word to warm, still
runs its notebook, with a kernel of its own started as before.

Workers are reused: the pool starts no more of them than run at once (``jobs``), and a worker
that has written its result waits for the next task, which it runs in a new kernel (forked
from the run's zygote when there is one, :mod:`leadnb.run.zygote`: already imported). Every
notebook still gets a fresh kernel; what a reused worker keeps is only its own start (Python,
Papermill, nbconvert, and the report templates compiled by its first page): about 2.2 CPU
seconds a worker, measured, which a run on two cores paid twice more with one worker per
notebook. The pool starts a new worker only when every worker it has is busy and notebooks are
waiting (a worker that died is not given another task).

Scheduling. The workers stay in the runner's session and process group, and leave a terminal's
Ctrl-C to the runner, which ends them (:func:`leadnb.run.execute.leave_interrupts_to_runner`);
the zygote and each kernel have a session of their own. Linux's autogroup scheduling (on by
default in most distributions) shares the cores between sessions first: while a run starts, the
zygote's imports, the longest wait of a small run, get a core to themselves and the runner and
its workers share the other (a demo run forked its first kernels at 3.1 s instead of 3.6 s with
each worker in a session of its own); the notebooks' kernels share the cores as before. Without
autogroup it changes nothing.

Pipelining. A worker renders a notebook's report while it runs its next notebook: once the
notebook has executed successfully, the worker starts scrubbing and rendering it in a thread
and leaves a mark beside its result file (:func:`leadnb.run.execute.mark_executed`); the
runner then gives that worker its next notebook, and reads the first notebook's result when
it appears. A worker renders one report at a time; a notebook that failed gets its failure
page before the worker says it is free, so ``--fail-fast`` still stops the notebooks after it.
The next kernel starts and the next notebook's first cells run while the report renders
(about 0.2-0.3 s a report, and 0.2 s for a kernel's start, each notebook after a worker's
first used to wait for).

Warming changes no result: the notebook's cells run in the same order in a fresh kernel whose
modules are already imported (a module's import runs once per process either way).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from leadnb.run.kernels import KERNEL_ARGS

WARM_FLAG = "--warm"
WARM_NOW = "warm"  # the line on a worker's stdin that starts its kernel (before the task)
PRELOAD: tuple[str, ...] = (
    "numpy",
    "pandas",
    "matplotlib.pyplot",
    "seaborn",  # the chart theme (leadnb.report.plots.set_theme), in every notebook
    "pandas.io.formats.style",  # every notebook's tables (leadnb.report.notebook.styled)
    "scipy.stats",
    "statsmodels.stats.proportion",  # Wilson intervals (leadnb.intervals), in every notebook
    "statsmodels.discrete.discrete_model",  # Logit: calibration curve and suggested weights
    "leadnb.report.notebook",
    "leadnb.report.answers",
    "leadnb.report.plots",
    "leadnb.report.plots.scoring",
    "leadnb.report.plots.funnel",
    "leadnb.report.plots.roi",
    "leadnb.report.plots.experiments",
    "leadnb.scoring.calibration",
    "leadnb.scoring.segments",
    "leadnb.funnel.cohorts",
    "leadnb.funnel.survival",
    "leadnb.funnel.velocity",
    "leadnb.roi",
    "leadnb.experiments.readout",
    "leadnb.data.distributed",
)
"""What the four notebooks import (modules that are missing are skipped)."""
WARM_TIMEOUT = 120.0  # seconds for the kernel to start and import: then the worker goes cold

__all__ = [
    "PRELOAD",
    "WARM_FLAG",
    "WARM_NOW",
    "WarmPool",
    "WarmSpec",
    "preload_code",
    "warm_kernel",
]


@dataclass(frozen=True)
class WarmSpec:
    """What a warm worker needs before its task: the kernel, and where it runs."""

    kernel_name: str
    cwd: str
    own_kernel: bool = False
    preload: tuple[str, ...] = PRELOAD


def preload_code(modules: Sequence[str]) -> str:
    """The silent cell a warm kernel runs: import each module, leave no name behind.

    >>> ns = {}
    >>> exec(preload_code(["json", "no_such_module_here"]), ns)
    >>> sorted(k for k in ns if not k.startswith("__"))
    []
    """
    return (
        "def _leadnb_preload(names):\n"
        "    import importlib\n"
        "    for n in names:\n"
        "        try:\n"
        "            importlib.import_module(n)\n"
        "        except Exception:\n"
        "            pass\n"
        f"_leadnb_preload({list(modules)!r})\n"
        "del _leadnb_preload\n"
    )


async def _start_and_preload(spec: WarmSpec) -> Any:
    from leadnb.run.kernel_manager import manager_class

    km = manager_class(spec.own_kernel)(kernel_name=spec.kernel_name)
    await km.start_kernel(extra_arguments=list(KERNEL_ARGS), cwd=spec.cwd)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=WARM_TIMEOUT)
        if spec.preload:
            msg_id = kc.execute(
                preload_code(spec.preload), silent=True, store_history=False, allow_stdin=False
            )
            while True:
                reply = await kc.get_shell_msg(timeout=WARM_TIMEOUT)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    break
    except BaseException:
        kc.stop_channels()
        with contextlib.suppress(Exception):
            await km.shutdown_kernel(now=True)
        raise
    kc.stop_channels()
    return km


def warm_kernel(spec: WarmSpec) -> Any | None:
    """Start ``spec``'s kernel in ``spec.cwd`` and import :attr:`WarmSpec.preload` in it.

    Returns
    -------
    jupyter_client.manager.AsyncKernelManager or None
        The manager of the running, warmed kernel (the caller shuts it down), or ``None`` when
        it could not be started or warmed (the notebook then starts its own kernel).
    """
    from jupyter_core.utils import run_sync

    try:
        return run_sync(_start_and_preload)(spec)
    except Exception:
        return None


def shutdown(km: Any | None) -> None:
    """Shut a warm kernel down (quietly: it may have died or been shut down already)."""
    if km is None:
        return
    from jupyter_core.utils import run_sync

    with contextlib.suppress(Exception):
        run_sync(km.shutdown_kernel)(now=False)


class WarmPool:
    """Worker processes started ahead of their notebooks (see the module docstring).

    Parameters
    ----------
    spec
        The kernel and working directory every worker warms up.
    jobs
        How many workers run notebooks at once: the pool keeps that many warm.
    expected
        How many notebooks the run will hand out: no more workers than that are started.
    kernel_argv
        The kernel's command (its kernelspec's ``argv``): when it is a Python
        ``-m ipykernel_launcher``, the workers' kernels are forked from one process that has
        imported :data:`PRELOAD` (:mod:`leadnb.run.zygote`, started with :meth:`warm`) instead
        of each importing it. Empty: every kernel starts on its own.

    Use as a context manager; workers never taken are stopped when it closes, and the zygote
    after them.
    """

    def __init__(
        self, spec: WarmSpec, *, jobs: int, expected: int, kernel_argv: Sequence[str] = ()
    ) -> None:

        from leadnb.run import zygote
        from leadnb.run.kernels import worker_env

        self.spec = spec
        self.jobs = max(1, jobs)
        self.left = max(0, expected)
        self.ready: list[subprocess.Popen] = []  # waiting for a task: warming, or reused
        self.busy: list[subprocess.Popen] = []  # given a task, its result not read yet
        self.retired: list[subprocess.Popen] = []  # told there is nothing more to do
        self.warming = False
        parts = zygote.launcher_args(kernel_argv)
        self.forks = (
            None
            if parts is None
            else zygote.KernelForks(
                parts[0],
                spec.preload,
                env=worker_env(self.jobs),
                cwd=spec.cwd,
            )
        )

    def __enter__(self) -> WarmPool:
        self.fill()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self) -> subprocess.Popen:
        import os

        from leadnb.run import zygote
        from leadnb.run.execute import _has_fileno
        from leadnb.run.kernels import worker_env

        argv = [sys.executable, "-m", "leadnb.run.runner", WARM_FLAG]
        env = worker_env(self.jobs)  # its kernel: one BLAS thread, its forks their share
        if self.forks is not None:  # its kernels are forked from the run's zygote
            env[zygote.FORKS_ENV] = str(self.forks.folder)
        proc = subprocess.Popen(
            [*argv, json.dumps(asdict(self.spec)), str(os.getpid())],
            env=env,
            stdin=subprocess.PIPE,  # in the runner's session and group: see "Scheduling" above
            stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL,
            text=True,
        )
        if self.warming:
            self._tell_to_warm(proc)
        return proc

    @staticmethod
    def _tell_to_warm(proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError, ValueError):  # a worker that died runs nothing
            assert proc.stdin is not None
            proc.stdin.write(WARM_NOW + "\n")
            proc.stdin.flush()

    def warm(self) -> None:
        """Tell the waiting workers, and every worker started from now on, to start their
        kernels and import (the runner calls it when it makes the pool, before it reads the
        tables)."""
        if self.warming:
            return
        self.warming = True
        if self.forks is not None:  # it imports once; the kernels wait for it, then fork
            self.forks.start()
        for proc in self.ready:
            self._tell_to_warm(proc)

    def fill(self) -> None:
        """Start workers until :attr:`jobs` exist, busy or waiting (no more than the notebooks
        not given out yet need)."""
        while len(self.ready) + len(self.busy) < self.jobs and len(self.ready) < self.left:
            self.ready.append(self._spawn())

    def take(self, task_json: str, result_path: Path) -> subprocess.Popen:
        """A waiting worker (the longest waiting first) given its notebook (``task_json``;
        result to ``result_path``); a new worker when none is waiting."""
        self.left -= 1
        line = json.dumps({"result": str(result_path), "task": json.loads(task_json)}) + "\n"
        proc = self.ready.pop(0) if self.ready else self._spawn()
        try:
            _send(proc, line)
        except (OSError, ValueError):  # it died while it waited: a new worker runs the task
            proc = self._spawn()
            _send(proc, line)
        self.busy.append(proc)
        self.fill()
        return proc

    def done(self, proc: subprocess.Popen) -> None:
        """``proc`` is done with its notebook (its result read, or its executed mark seen
        while its report renders: see "Pipelining"): it waits for the next notebook, or,
        when the notebooks left to give out all have a waiting worker already (two workers
        can finish in the same poll), is told to end (after that report). A worker that
        exited is dropped."""
        if proc in self.busy:
            self.busy.remove(proc)
        if proc.poll() is not None:
            return
        if self.left > len(self.ready):
            self.ready.append(proc)
        else:
            self._retire(proc)

    def _retire(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError, ValueError):  # a worker that died reads nothing
            assert proc.stdin is not None
            proc.stdin.write("null\n")
            proc.stdin.close()
        self.retired.append(proc)

    def close(self) -> None:
        """Stop the workers waiting for a task (they shut their kernels down, then exit) and
        wait for those told to end."""
        for proc in self.ready:
            self._retire(proc)
        self.ready = []
        for proc in self.retired:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.retired = []
        if self.forks is not None:  # after the workers: their kernels came from it
            self.forks.close()


def _send(proc: subprocess.Popen, line: str) -> None:
    """Write ``line`` to a worker's stdin now (it waits for it)."""
    assert proc.stdin is not None
    proc.stdin.write(line)
    proc.stdin.flush()


def run_warm_worker(argv: Sequence[str]) -> int:
    """A warm worker: ``python -m leadnb.run.runner --warm SPEC_JSON PARENT_PID``.

    Waits for the first line on stdin: :data:`WARM_NOW` warms a kernel (:func:`warm_kernel`)
    and the next line is the task; anything else is already the task. A task is one line,
    ``{"result": path, "task": task}``; ``null`` or the end of stdin: nothing more to do. The
    worker runs the first task in the warm kernel, if any (a retry after a dead kernel starts a
    fresh one), writes the result as JSON to ``path`` (complete when it appears: written
    beside it, then renamed), and waits for the next task, which gets a kernel of its own.
    """
    from leadnb.run import execute

    execute.become_worker(int(argv[1]) if len(argv) > 1 else None)
    fields = json.loads(argv[0])
    spec = WarmSpec(**{**fields, "preload": tuple(fields["preload"])})
    line = sys.stdin.readline()  # the word to warm, or already the task
    told = line.strip() == WARM_NOW
    # executing needs Papermill, rendering the report nbconvert: imported before the kernel
    # is asked for, while the zygote (or the kernel) imports on the other core; imported after
    # it, they delayed every notebook's first cell by their second of CPU
    import papermill  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401

    from leadnb.report import pages

    km = None
    if told:  # the first report's compiling (0.4 s) while the zygote still imports
        renderer = threading.Thread(target=pages.warm_up_renderer, name="leadnb-warm-render")
        renderer.start()
        km = warm_kernel(spec)
        renderer.join()

    finishing: threading.Thread | None = None  # the previous notebook's report, rendering
    pending = None if told else line
    while True:
        text = sys.stdin.readline() if pending is None else pending
        pending = None
        envelope = json.loads(text.strip() or "null")
        if envelope is None:
            if finishing is not None:
                finishing.join()
            shutdown(km)
            return 0
        task = execute.task_from_json(json.dumps(envelope["task"]))
        if (
            Path(task.cwd).resolve() != Path(spec.cwd).resolve()
            or task.kernel_name != spec.kernel_name
        ):
            shutdown(km)  # warmed for another kernel or folder: start the task's own
            km = None
        first, km = [km], None  # a later task starts a kernel of its own

        def run(t: execute.NotebookTask, output: Path, first: list = first) -> None:
            warm, first[0] = first[0], None  # the warm kernel serves the first attempt only
            try:
                execute.papermill_execute(t, output, km=warm)
            finally:
                shutdown(warm)

        executed = execute.run_task(task, run)
        if finishing is not None:  # one report at a time
            finishing.join()
            finishing = None
        result_path = Path(envelope["result"])
        if executed.status != "success":  # its failure page now: --fail-fast must see it first
            execute.write_result(result_path, execute.finish_task(task, executed))
            continue
        finishing = threading.Thread(
            target=_finish, args=(task, executed, result_path), name=f"leadnb-finish-{task.name}"
        )
        finishing.start()
        execute.mark_executed(result_path)  # the runner may give the next notebook now


def _finish(task: Any, executed: Any, result_path: Path) -> None:
    """Scrub and render an executed notebook and write its result, in a thread beside the
    worker's next notebook (see "Pipelining" above). A result is always written, or the
    worker ends (the runner then reports it): a runner never waits for a result that will not
    come."""
    import os

    from leadnb.run import execute

    try:
        try:
            result = execute.finish_task(task, executed)
        except Exception as exc:  # a disk that filled up while rendering
            result = execute.NotebookResult(
                task.name,
                "failed",
                seconds=round(executed.seconds, 2),
                attempts=executed.attempts,
                error=f"the report could not be written: {execute.short_error(exc)}",
            )
        execute.write_result(result_path, result)
    except BaseException:
        os._exit(1)
