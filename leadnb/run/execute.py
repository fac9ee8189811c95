"""Executing notebooks: one :class:`NotebookTask` in, one :class:`NotebookResult` out.

Design. :func:`execute_task` runs one notebook with Papermill (:mod:`leadnb.run.engine`) on the
chosen kernel with the notebooks folder as working directory, retries a dead kernel once from a
clean folder, scrubs the notebook's folder of secrets and renders its HTML without code (a
failed notebook: a short failure page instead; its traceback goes to the run log). It never
raises for a failed notebook.

:func:`execute_all` runs the tasks one after the other in this process, or with ``jobs > 1``
each in its own worker process (``python -m leadnb.run.runner``, the task sent through a pipe
as JSON, the result written to a file), so every process starts its own kernel and nothing is
shared between kernel start-ups (no port or connection-file races, no re-import of the caller's
``__main__`` as multiprocessing's spawn does). Workers die with the runner (Linux parent-death
signal, own process group) and take their kernel with them.

Importing this module imports neither Papermill nor nbformat (the command line imports it to
call :func:`skip_slow_optional_imports` first).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadnb.data.notebook_parameters import NOTEBOOK_NAME
from leadnb.masking import Secret, mask_text
from leadnb.parallel import keep_freed_memory
from leadnb.run.hygiene import remove_tree, say, scrub_folder
from leadnb.run.kernels import KERNEL_NAME

if TYPE_CHECKING:
    from leadnb.run.warm import WarmPool

RUN_LOG = "run.log"  # in the run folder; a failure page links to it
TABLE_SUFFIXES = (".csv", ".parquet")  # a notebook's tables: CSV, per-lead ones Parquet
DEFAULT_FIX = (
    "open the executed notebook {nb}.ipynb (for analysts) to see the failing cell; "
    "run `leadnb validate PARAMS` to check the data"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PATH_FIELDS = ("input_path", "run_dir", "cwd", "final_run_dir")
POLL_SECONDS = 0.02  # how often the runner looks for its workers' results (a few stat calls)


def skip_slow_optional_imports() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in leadnb's own processes.

    When that optional package is installed, ``import nbformat`` (through jsonschema) compiles
    about forty Lark grammars in every process; nbformat never validates the ``iri`` format it
    is for, and jsonschema skips the format when the import fails. Called by the command line
    and the worker processes before anything imports jsonschema, not on import of this module.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def skip_data_libraries_in_worker() -> None:
    """Keep Papermill from importing pyarrow (and with it NumPy) in a worker process.

    Papermill's I/O module imports ``pyarrow.fs`` for its ``hdfs://`` handler, if it can:
    0.25 s of import (pyarrow, NumPy) in each worker, which reads and writes local notebooks
    only and never handles data (nor imports pandas). A worker makes that import fail, as
    Papermill expects when pyarrow is missing (its ``hdfs://`` handler would say so). Called by
    the worker processes only (:func:`worker_main`, :func:`leadnb.run.warm.run_warm_worker`),
    before anything imports pyarrow; the runner and the kernels read tables with it.
    """
    if "pyarrow" not in sys.modules:
        sys.modules["pyarrow"] = None  # type: ignore[assignment]


@dataclass(frozen=True)
class NotebookTask:
    """Everything one worker needs to execute and render one notebook (JSON-able).

    The notebook's outputs go to ``run_dir / name`` (:attr:`out_dir`); paths under ``run_dir``
    (the temporary run folder) are rewritten to ``final_run_dir`` in its text files.
    """

    name: str
    input_path: Path
    run_dir: Path
    parameters: dict[str, Any]
    cwd: Path
    kernel_name: str = KERNEL_NAME
    secrets: tuple[Secret, ...] = ()
    final_run_dir: Path | None = None
    max_attempts: int = 2
    own_kernel: bool = False  # the named kernel is missing: run one on sys.executable

    @property
    def out_dir(self) -> Path:
        """The notebook's output folder, ``run_dir / name``."""
        return self.run_dir / self.name


@dataclass
class NotebookResult:
    """How one notebook went: ``status`` is success, failed or skipped."""

    name: str
    status: str
    seconds: float = 0.0
    attempts: int = 0
    error: str | None = None
    title: str | None = None
    tables: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    fix: str | None = None  # failed: what to do about it (one line)
    detail: str | None = None  # failed: the full error (traceback), for run.log only


# --------------------------------------------------------------------------------------------
# Errors in one line


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in _ANSI.sub("", text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def short_error(exc: BaseException) -> str:
    """One line: ``ExceptionName: first line of its message`` (a notebook cell's error too).

    Examples
    --------
    >>> short_error(ValueError("bad input\\nsecond line"))
    'ValueError: bad input'
    """
    ename = getattr(exc, "ename", None)
    if ename:
        evalue = _first_line(str(getattr(exc, "evalue", "") or ""))
        return f"{ename}: {evalue}" if evalue else str(ename)
    return f"{type(exc).__name__}: {_first_line(str(exc))}".strip()


def error_fix(exc: BaseException, name: str) -> str:
    """The ``fix:`` line of a :class:`~leadnb.errors.LeadnbError` message (as a notebook's
    error shows it), else :data:`DEFAULT_FIX` for notebook ``name``.

    Examples
    --------
    >>> error_fix(ValueError("ERROR: no costs\\n  fix: add a costs table"), "nurture_roi")
    'add a costs table'
    """
    text = str(getattr(exc, "evalue", "") or "") or str(exc)
    m = re.search(r"^\s*fix: (.+)$", _ANSI.sub("", text), re.M)
    return m.group(1).strip() if m else DEFAULT_FIX.format(nb=name)


def error_detail(exc: BaseException) -> str:
    """The full error, for the run log: a notebook cell's traceback (colour codes removed),
    else Python's traceback of ``exc``."""
    tb = getattr(exc, "traceback", None)
    if isinstance(tb, list) and tb:
        return _ANSI.sub("", "\n".join(str(t) for t in tb))
    return "".join(traceback.format_exception(exc)).rstrip()


# --------------------------------------------------------------------------------------------
# One notebook


def papermill_execute(task: NotebookTask, output: Path, *, km: Any = None) -> None:
    """Execute ``task``'s notebook into ``output`` with leadnb's Papermill engine.

    The default ``execute`` of :func:`execute_task`: :func:`leadnb.run.engine.execute_notebook`
    with the task's parameters, kernel and working directory; ``km``, a kernel already started
    (and warmed, :mod:`leadnb.run.warm`) in that directory, is used instead of starting one.
    Raises what Papermill raises.
    """
    from leadnb.run import engine

    engine.execute_notebook(
        task.input_path,
        output,
        parameters=task.parameters,
        kernel_name=task.kernel_name,
        cwd=task.cwd,
        own_kernel=task.own_kernel,
        km=km,
    )


def execute_task(
    task: NotebookTask, execute: Callable[[NotebookTask, Path], None] | None = None
) -> NotebookResult:
    """Execute, scrub and render one notebook into ``task.out_dir``; never raises for a failure.

    Parameters
    ----------
    task : NotebookTask
        What to run.
    execute : callable, optional
        ``execute(task, output_ipynb)``; default :func:`papermill_execute` (injectable for
        tests). A dead kernel (nbclient's ``DeadKernelError``) is retried from a clean folder
        until ``task.max_attempts``; any other exception is final.

    Returns
    -------
    NotebookResult
        ``tables`` lists the tables written (CSV; Parquet for per-lead tables), ``removed``
        the binary files deleted for holding a secret. A failed notebook's HTML is a short
        failure page (the reason in one line, the fix, links to the run log and the executed
        notebook); its full error is in ``detail`` (for the run log). Every text is masked.
    """
    return finish_task(task, run_task(task, execute))


@dataclass
class Executed:
    """A notebook executed by :func:`run_task`, not yet scrubbed or rendered
    (:func:`finish_task`)."""

    status: str
    seconds: float
    attempts: int
    error: str | None = None
    fix: str | None = None
    detail: str | None = None


def run_task(
    task: NotebookTask, execute: Callable[[NotebookTask, Path], None] | None = None
) -> Executed:
    """The first half of :func:`execute_task`: execute the notebook (retrying a dead kernel)."""
    from nbclient.exceptions import DeadKernelError

    if not NOTEBOOK_NAME.fullmatch(task.name):
        return Executed("failed", 0.0, 0, error="not a plain notebook name")
    run = execute or papermill_execute
    out_dir = task.out_dir
    output = out_dir / f"{task.name}.ipynb"
    t0 = time.perf_counter()
    status, error, attempts = "success", None, 0
    fix = detail = None
    while attempts < task.max_attempts:
        attempts += 1
        if out_dir.exists():
            remove_tree(out_dir, task.run_dir)
        out_dir.mkdir(parents=True)
        try:
            run(task, output)
            status, error, fix, detail = "success", None, None, None
            break
        except DeadKernelError as exc:
            status, error = "failed", f"the kernel died ({short_error(exc)})"
            fix = (
                "the kernel ran out of memory or crashed: run the notebook again, or with "
                "fewer rows; the run log has the details"
            )
            detail = error_detail(exc)
            if attempts < task.max_attempts:
                say(f"[retry] {task.name}: the kernel died; running it again")
                continue
            error += f" on each of {attempts} attempts"
        except Exception as exc:  # a notebook error, a timeout, a missing kernel
            status, error = "failed", short_error(exc)
            fix, detail = error_fix(exc, task.name), error_detail(exc)
        break
    seconds = time.perf_counter() - t0
    return Executed(status, seconds, attempts, error, fix, detail)


def finish_task(task: NotebookTask, executed: Executed) -> NotebookResult:
    """The second half of :func:`execute_task`: scrub the notebook's folder, render its report
    (or its failure page) and list what it wrote."""
    if executed.attempts == 0:  # nothing ran (not a plain notebook name): nothing to scrub
        return NotebookResult(task.name, "failed", error=executed.error)
    status, error, fix, detail = executed.status, executed.error, executed.fix, executed.detail
    out_dir = task.out_dir
    output = out_dir / f"{task.name}.ipynb"
    replacements = []
    if task.final_run_dir is not None:
        replacements.append((str(task.run_dir), str(task.final_run_dir)))
    removed = scrub_folder(out_dir, task.secrets, replacements)
    title = None
    if status == "success" and output.exists():
        try:
            title = _render_html(task, output)
        except Exception as exc:
            status = "failed"
            error = f"HTML rendering failed: {short_error(exc)}"
            fix, detail = DEFAULT_FIX.format(nb=task.name), error_detail(exc)
    if status != "success":
        error = mask_text(error or "failed", task.secrets)
        fix = mask_text(fix or DEFAULT_FIX.format(nb=task.name), task.secrets)
        title = _write_failure_page(task, output, error, fix)
    removed += scrub_folder(out_dir, task.secrets)
    tables = sorted(p.name for p in out_dir.glob("*") if p.suffix in TABLE_SUFFIXES)
    return NotebookResult(
        name=task.name,
        status=status,
        seconds=round(executed.seconds, 2),
        attempts=executed.attempts,
        error=error,
        title=title,
        tables=tables,
        removed=removed,
        fix=fix,
        detail=mask_text(detail, task.secrets) if detail else None,
    )


def _write_failure_page(task: NotebookTask, ipynb: Path, reason: str, fix: str) -> str:
    """``<nb>/<nb>.html`` for a failed notebook: what failed, why, the fix, where the log is.
    Returns the report's title."""
    from leadnb.report import pages as report

    title = report.metric_label(task.name)
    if ipynb.exists():
        with contextlib.suppress(Exception):
            import nbformat

            title = report.notebook_title(nbformat.read(ipynb, as_version=4), title)
    html = report.render_failure_page(
        notebook=task.name,
        title=title,
        reason=reason,
        fix=fix,
        log_href=f"../{RUN_LOG}",
        ipynb_href=f"{task.name}.ipynb",
    )
    task.out_dir.mkdir(parents=True, exist_ok=True)
    (task.out_dir / f"{task.name}.html").write_text(mask_text(html, task.secrets), encoding="utf-8")
    return title


def report_bar(name: str) -> str:
    """The links at the top of a report ``<name>/<name>.html``: back to the run's index, and
    the executed notebook for analysts (relative links).

    >>> report_bar("ab_testing")  # doctest: +NORMALIZE_WHITESPACE
    '<a href="../index.html">&larr; All reports of this run</a> <a href="ab_testing.ipynb">Notebook
    for analysts (.ipynb, opens in JupyterLab)</a>'
    """
    from urllib.parse import quote

    from leadnb import safe
    from leadnb.report.pages import NOTEBOOK_LINK_LABEL

    href = safe.escape(quote(f"{name}.ipynb"))
    return (
        '<a href="../index.html">&larr; All reports of this run</a> '
        f'<a href="{href}">{NOTEBOOK_LINK_LABEL}</a>'
    )


def render_report(
    name: str,
    ipynb: Path,
    html_path: Path,
    *,
    secrets: Sequence[Secret] = (),
    changes_html: str = "",
) -> str:
    """Render the executed notebook ``ipynb`` to the report ``html_path`` (code hidden, secrets
    masked); ``changes_html`` is the trusted "what changed" fragment shown after the answer.

    Returns
    -------
    str
        The report's title (its first heading, else a label made from ``name``).
    """
    import nbformat

    from leadnb.report import pages as report

    nb = nbformat.read(ipynb, as_version=4)
    title = report.notebook_title(nb, report.metric_label(name))
    html = report.render_notebook_html(
        nb, title=title, bar_html=report_bar(name), changes_html=changes_html
    )
    html_path.write_text(mask_text(html, secrets), encoding="utf-8")
    return title


def _render_html(task: NotebookTask, ipynb: Path) -> str:
    """``<nb>/<nb>.html`` of an executed notebook, code hidden. Returns the report's title."""
    return render_report(task.name, ipynb, task.out_dir / f"{task.name}.html", secrets=task.secrets)


# --------------------------------------------------------------------------------------------
# Worker processes


def task_to_json(task: NotebookTask) -> str:
    """Serialise a task for a worker process (sent through a pipe, never written to disk).

    Parameters
    ----------
    task : NotebookTask
        The task; paths become strings, secrets ``{"value", "mask"}`` objects.

    Returns
    -------
    str
        JSON text; :func:`task_from_json` reads it back.

    Examples
    --------
    >>> task = NotebookTask("ok", Path("nbs/ok.ipynb"), Path("out/.tmp-r"), {"n": 1}, Path("nbs"))
    >>> task_from_json(task_to_json(task)) == task
    True
    """
    d = asdict(task)
    for key in _PATH_FIELDS:
        d[key] = None if d[key] is None else str(d[key])
    return json.dumps(d)


def task_from_json(text: str) -> NotebookTask:
    """The inverse of :func:`task_to_json`: a :class:`NotebookTask` from its JSON text."""
    d = json.loads(text)
    for key in _PATH_FIELDS:
        d[key] = None if d[key] is None else Path(d[key])
    d["secrets"] = tuple(Secret(**s) for s in d["secrets"])
    return NotebookTask(**d)


def _descendants() -> list[Any]:
    import psutil

    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def end_descendants(timeout: float = 3.0) -> None:
    """SIGTERM every process this one started, SIGKILL what is left after ``timeout`` seconds.

    Kernels included: jupyter_client starts them in their own session, so a process-group
    signal would miss them.
    """
    import psutil

    procs = _descendants()
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


def _on_sigterm(signum: int, frame: Any) -> None:
    # a second SIGTERM (a runner's death can bring two) must not interrupt this one: the
    # handler would run again inside it, half-way through importing psutil, and fail
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        end_descendants()
    finally:
        os._exit(128 + signum)


def die_with_parent(parent_pid: int | None) -> None:
    """Make this worker end (with its kernel) when the runner ends, however it ends.

    On Linux the kernel sends SIGTERM when the parent dies (``prctl(PR_SET_PDEATHSIG)``);
    SIGTERM ends this process's children first. Exits at once when the parent is already gone.

    Parameters
    ----------
    parent_pid : int or None
        The runner's pid, as it passed it on the worker's command line.
    """
    import psutil  # noqa: F401  (imported now, not in the middle of ending: see _on_sigterm)

    signal.signal(signal.SIGTERM, _on_sigterm)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if parent_pid and os.getppid() != parent_pid:
        os._exit(128 + int(signal.SIGTERM))


def leave_interrupts_to_runner() -> None:
    """Let a terminal's Ctrl-C pass this worker by: the runner gets it too and ends the workers
    (SIGTERM, :func:`die_with_parent`) and their kernels. Workers share the runner's process
    group (see "Scheduling" in :mod:`leadnb.run.warm`), so the terminal's SIGINT reaches them.
    A handler that does nothing, not ``SIG_IGN``: an ignored signal stays ignored in the
    programs a worker starts (a kernel started the usual way), a handler does not."""
    signal.signal(signal.SIGINT, _no_interrupt)


def _no_interrupt(signum: int, frame: Any) -> None:
    """The worker's SIGINT handler: nothing to do (the runner ends the run)."""


def become_worker(parent_pid: int | None) -> None:
    """What every worker process does first, warm or not: end with the runner
    (:func:`die_with_parent`), keep the memory it frees
    (:func:`leadnb.parallel.keep_freed_memory`), leave Ctrl-C to the runner, and skip the
    imports a worker never needs."""
    die_with_parent(parent_pid)
    keep_freed_memory()
    leave_interrupts_to_runner()
    skip_slow_optional_imports()
    skip_data_libraries_in_worker()


def worker_main(argv: Sequence[str]) -> int:
    """A worker process: ``python -m leadnb.run.runner RESULT.json [PARENT_PID]``.

    Reads a task (:func:`task_to_json`) from stdin, runs :func:`execute_task` and writes the
    result as JSON to ``RESULT.json``. Returns the exit code (0; a failed notebook is a result).
    """
    from leadnb.run import warm

    if argv and argv[0] == warm.WARM_FLAG:
        return warm.run_warm_worker(argv[1:])
    become_worker(int(argv[1]) if len(argv) > 1 else None)
    task = task_from_json(sys.stdin.read())
    result = execute_task(task)
    write_result(Path(argv[0]), result)
    return 0


def executed_mark(result_path: Path) -> Path:
    """The file a pool worker leaves beside a notebook's result file once the notebook has
    executed (its report still rendering): ``.<name>.executed`` for ``.<name>.result.json``.

    >>> executed_mark(Path("run/.ab_testing.result.json")).name
    '.ab_testing.executed'
    """
    return result_path.with_name(result_path.name.removesuffix(".result.json") + ".executed")


def mark_executed(result_path: Path) -> None:
    """Leave :func:`executed_mark` for the runner: this worker may take its next notebook."""
    executed_mark(result_path).touch()


def write_result(path: Path, result: NotebookResult) -> None:
    """Write ``result`` as JSON to ``path``, complete when it appears (written beside it, then
    renamed): the runner reads a reused worker's result as soon as the file exists."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(asdict(result)), encoding="utf-8")
    os.replace(tmp, path)


def _finish_line(result: NotebookResult, done: int, total: int) -> str:
    mark = "ok" if result.status == "success" else result.status.upper()
    tail = f": {result.error}" if result.error else ""
    tries = f", {result.attempts} attempts" if result.attempts > 1 else ""
    return f"[{done}/{total}] {mark:6} {result.name} ({result.seconds:.1f} s{tries}){tail}"


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _start_worker(task: NotebookTask, result_path: Path, jobs: int) -> subprocess.Popen:
    from leadnb.run.kernels import worker_env

    proc = subprocess.Popen(
        [sys.executable, "-m", "leadnb.run.runner", str(result_path), str(os.getpid())],
        env=worker_env(jobs),  # its kernel: one BLAS thread, its forks its share of the cores
        stdin=subprocess.PIPE,  # the runner's session and group: "Scheduling" in leadnb.run.warm
        stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(task_to_json(task))
    proc.stdin.close()
    return proc


def _finished(
    task: NotebookTask, proc: subprocess.Popen, result_path: Path, *, reused: bool
) -> bool:
    """Whether ``proc`` is done with ``task``: it exited, or (a worker of a pool, which waits
    for its next task) its result file is there."""
    return proc.poll() is not None or (reused and result_path.exists())


def _collect_worker(
    task: NotebookTask, proc: subprocess.Popen, result_path: Path
) -> NotebookResult:
    executed_mark(result_path).unlink(missing_ok=True)  # never published with the run
    try:
        data = json.loads(result_path.read_text(encoding="utf-8"))
        result_path.unlink()
        return NotebookResult(**data)
    except (OSError, ValueError, TypeError):
        return NotebookResult(
            task.name, "failed", error=f"the worker process exited with code {proc.returncode}"
        )


def execute_all(
    tasks: Sequence[NotebookTask],
    *,
    jobs: int = 1,
    fail_fast: bool = False,
    progress: Callable[[str], None] | None = None,
    warm: WarmPool | None = None,
    on_result: Callable[[NotebookResult], None] | None = None,
) -> dict[str, NotebookResult]:
    """Run the tasks; return their results by name, in task order.

    Parameters
    ----------
    tasks : sequence of NotebookTask
        One per notebook.
    jobs : int, default 1
        1: one after the other in this process. Above 1: in worker processes
        (``python -m leadnb.run.runner``), at most ``jobs`` at a time; without ``warm`` each
        notebook gets a worker of its own, with ``warm`` the pool's workers are reused. Every
        notebook gets a kernel of its own.
    fail_fast : bool, default False
        The first failure stops notebooks that have not started (they are ``skipped``);
        running ones finish.
    progress : callable, optional
        Receives each progress line (default: stderr).
    warm : WarmPool, optional
        With ``jobs`` above 1: workers started ahead, their kernels warm
        (:mod:`leadnb.run.warm`); each task goes to the next waiting one, and a worker that
        has written its result waits for the next task (each task still gets a fresh kernel).
    on_result : callable, optional
        Called with each result as it comes in (after its progress line), while the other
        notebooks run; an exception from it is the caller's to avoid.

    Returns
    -------
    dict of str to NotebookResult
        In the order of ``tasks``. An interrupt (Ctrl-C, SIGTERM) ends the running workers,
        which end their kernels, and is raised again.
    """
    say_line = progress or say
    results: dict[str, NotebookResult] = {}
    total = len(tasks)

    def stop() -> bool:
        return fail_fast and any(r.status == "failed" for r in results.values())

    if jobs <= 1 or total == 1:
        from leadnb.run.kernels import kernel_environment

        for task in tasks:
            if stop():
                break
            say_line(f"[start] {task.name}")
            with kernel_environment():  # the kernel's numerical libraries: one thread
                res = execute_task(task)
            results[task.name] = res
            say_line(_finish_line(res, len(results), total))
            if on_result is not None:
                on_result(res)
    else:
        queue = list(tasks)
        running: list[tuple[NotebookTask, subprocess.Popen, Path]] = []
        freed: list[tuple[NotebookTask, subprocess.Popen, Path]] = []  # executed, rendering
        try:
            while queue or running:
                if warm is not None:  # a worker rendering a report takes its next notebook
                    for item in running:
                        if item not in freed and executed_mark(item[2]).exists():
                            freed.append(item)
                            warm.done(item[1])
                while queue and len(running) - len(freed) < jobs and not stop():
                    task = queue.pop(0)
                    result_path = task.run_dir / f".{task.name}.result.json"
                    proc = (
                        warm.take(task_to_json(task), result_path)
                        if warm is not None
                        else _start_worker(task, result_path, jobs)
                    )
                    running.append((task, proc, result_path))
                    say_line(f"[start] {task.name}")
                if stop():
                    queue.clear()
                for item in [r for r in running if _finished(*r, reused=warm is not None)]:
                    running.remove(item)
                    res = _collect_worker(*item)
                    results[res.name] = res
                    say_line(_finish_line(res, len(results), total))
                    if item in freed:
                        freed.remove(item)
                    elif warm is not None:
                        warm.done(item[1])  # it takes the next notebook, or ends
                    if on_result is not None:
                        on_result(res)
                if running:
                    time.sleep(POLL_SECONDS)
        except BaseException:
            for _, proc, _ in running:
                proc.terminate()  # the worker ends its kernel, then itself
            for _, proc, _ in running:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            raise
    skipped = NotebookResult(
        "", "skipped", error="not run: an earlier notebook failed (--fail-fast)"
    )
    return {
        t.name: results.get(t.name) or NotebookResult(**{**asdict(skipped), "name": t.name})
        for t in tasks
    }


__all__ = [
    "DEFAULT_FIX",
    "RUN_LOG",
    "TABLE_SUFFIXES",
    "Executed",
    "NotebookResult",
    "NotebookTask",
    "become_worker",
    "die_with_parent",
    "end_descendants",
    "error_detail",
    "error_fix",
    "execute_all",
    "execute_task",
    "executed_mark",
    "finish_task",
    "leave_interrupts_to_runner",
    "mark_executed",
    "papermill_execute",
    "render_report",
    "report_bar",
    "run_task",
    "short_error",
    "skip_data_libraries_in_worker",
    "skip_slow_optional_imports",
    "task_from_json",
    "task_to_json",
    "worker_main",
    "write_result",
]
