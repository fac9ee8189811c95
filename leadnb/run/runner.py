"""``leadnb run``: check everything, execute the notebooks with Papermill, publish one run folder.

Design, in the order a run goes (each step has its own module):

1. **Plan** (:mod:`leadnb.run.plan`): notebook names, the params file, every configured table,
   the analysis date, the kernel (:mod:`leadnb.run.kernels`) and each notebook's own params
   section against the parameters its ``parameters`` cell declares; the secrets to mask
   (:mod:`leadnb.masking`) and the fingerprints of the inputs. A problem is a
   :class:`~leadnb.errors.ParamsError` or :class:`~leadnb.errors.DataError` (exit 2) and
   nothing is written, not even the output folder.
2. **Execute** (:mod:`leadnb.run.execute`): one Papermill execution per notebook on leadnb's
   engine (:mod:`leadnb.run.engine`), in this process or, with ``jobs > 1``, one worker process
   per notebook (``python -m leadnb.run.runner``, this module); a dead kernel is retried once, a
   failed notebook is kept as Papermill saved it and gets a short failure page, the others still
   run unless ``fail_fast``. Each notebook's folder is scrubbed of secrets
   (:mod:`leadnb.run.hygiene`) and rendered to HTML without code.
3. **Publish** (:mod:`leadnb.run.publish`): the run is written under ``OUT/.tmp-<run_id>/``
   and renamed to ``OUT/<run_id>/`` only when complete (manifest and index included); then,
   under the OUT lock, the experiment log, ``OUT/latest`` (only for a successful run of all
   four notebooks, never back to an older analysis date) and ``OUT/index.html``.
4. **PDFs** (``pdf=True``, ``leadnb run --pdf``): each report printed to ``<notebook>.pdf``
   beside its HTML with headless Chromium (:func:`leadnb.run.publish.write_pdfs`); skipped,
   with a line on stderr, when no Chromium is installed.

Secrets: every variable a params file names (``data.<table>.url_env``) and every URL password
in the environment are masked in every text file of the run, in the manifest and in every line
printed; a binary file that holds a secret is removed and the removal recorded. Nothing is ever
deleted outside the run's own temporary folder.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
import sys
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from leadnb.errors import LeadnbError, ParamsError
from leadnb.masking import mask_text, mask_value
from leadnb.parallel import release_free_memory
from leadnb.run import execute, kernels, publish, warm
from leadnb.run.execute import (
    RUN_LOG,
    NotebookResult,
    NotebookTask,
    short_error,
)
from leadnb.run.hygiene import OWNER_FILE
from leadnb.run.kernels import KERNEL_NAME
from leadnb.run.plan import RunPlan, default_notebook_dir, plan_run
from leadnb.run.publish import RunLog


@dataclass
class RunResult:
    """What :func:`run` did: the published folder and the exit code for the CLI."""

    run_id: str
    run_dir: Path
    status: str
    exit_code: int
    index_path: Path
    notebooks: list[NotebookResult]
    latest_moved: bool
    pdfs: list[Path] = field(default_factory=list)


def run(
    params_path: str | Path,
    *,
    notebooks: Sequence[str] | None = None,
    out: str | Path = "outputs",
    as_of: str | None = None,
    jobs: int = 1,
    fail_fast: bool = False,
    notebook_dir: str | Path | None = None,
    kernel_name: str = KERNEL_NAME,
    now: dt.datetime | None = None,
    pdf: bool = False,
) -> RunResult:
    """Validate, execute every notebook, and publish the run folder (CONTRACT.md section 4).

    Parameters
    ----------
    params_path : str or Path
        The params YAML file.
    notebooks : sequence of str, optional
        Notebook names (default: the four reports).
    out : str or Path, default "outputs"
        The output root; the run goes to ``OUT/<run_id>/``.
    as_of : str, optional
        ``YYYY-MM-DD`` analysis date (default: ``run.as_of`` of the params file).
    jobs : int, default 1
        Notebooks run at once, each in its own worker process when above 1.
    fail_fast : bool, default False
        Do not start more notebooks after the first failure.
    notebook_dir : str or Path, optional
        Folder of the ``.ipynb`` files (default: the checkout's ``notebooks/``).
    kernel_name : str, default "leadnb"
        The Jupyter kernel; when it is not installed, a kernel on this interpreter.
    now : datetime, optional
        The run's start time (default: the clock), for the run id.
    pdf : bool, default False
        After publishing, print each report to ``<notebook>/<notebook>.pdf`` with headless
        Chromium (:func:`leadnb.run.publish.write_pdfs`); without Chromium a line on stderr
        says the PDFs were skipped and the exit code is the run's.

    Returns
    -------
    RunResult
        ``exit_code`` 0 when every notebook succeeded, else 1 (also when the experiment log,
        ``OUT/index.html`` or ``latest`` could not be written after publishing).

    Raises
    ------
    ParamsError, DataError
        Exit 2, before anything is written (see :func:`leadnb.run.plan.plan_run`).
    OSError
        When OUT cannot be made or written (the CLI says so in one line, exit 2).
    LeadnbError
        A write that fails later (disk full, permissions): the temporary folder is removed,
        the previous runs and ``latest`` are left as they were (exit 1).
    """
    from leadnb.data import params as config

    with _warm_pool(notebooks, jobs, notebook_dir, kernel_name) as pool:
        _preload(LATER_IMPORTS)  # after the zygote and workers are started: it holds the GIL
        plan = plan_run(
            params_path,
            notebooks=notebooks,
            as_of=as_of,
            notebook_dir=notebook_dir,
            kernel_name=kernel_name,
        )
        return _run_plan(plan, out, jobs, fail_fast, now, pdf, pool, config.NOTEBOOKS)


LATER_IMPORTS = ("nbformat", "papermill")
"""Libraries the runner needs after it has read the tables: Papermill to check each notebook's
parameters (1.1 s to import). statsmodels, for "what changed" after the notebooks (1.5 s), is
imported only by a run that has an earlier one to compare with, while the notebooks run
(:data:`leadnb.run.publish.TREND_IMPORTS`): imported here, beside the reading and checking of
the tables, it took their process's GIL for 4.5 s of a million-lead run's plan (py-spy), and a
first run never uses it."""


def _preload(modules: Sequence[str]) -> threading.Thread:
    """Import ``modules`` in a background thread while the main thread reads the tables (Arrow
    reads without holding the GIL): their import time leaves the run's serial path. A module
    that fails to import is left for the code that needs it to report."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # the real import, where it is needed, says what is wrong
                pass

    thread = threading.Thread(target=load, name="leadnb-preload", daemon=True)
    thread.start()
    return thread


def _warm_pool(
    notebooks: Sequence[str] | None,
    jobs: int,
    notebook_dir: str | Path | None,
    kernel_name: str,
) -> AbstractContextManager[warm.WarmPool | None]:
    """For a run of several notebooks with ``jobs`` above 1, workers and their kernels warming
    while the plan loads and checks the tables (:mod:`leadnb.run.warm`): the zygote is started
    first, its imports being the longest wait, then the workers, told to warm as they start."""
    from leadnb.data import params as config

    count = len(notebooks) if notebooks else len(config.NOTEBOOKS)
    folder = Path(notebook_dir).resolve() if notebook_dir else default_notebook_dir()
    if jobs <= 1 or count <= 1 or not folder.is_dir():
        return nullcontext(None)
    choice = kernels.resolve_kernel(kernel_name)
    spec = warm.WarmSpec(choice.name, str(folder), choice.own_interpreter)
    pool = warm.WarmPool(spec, jobs=jobs, expected=count, kernel_argv=choice.argv)
    pool.warm()  # before the workers exist (they start when the pool is entered)
    return pool


def _run_plan(
    plan: RunPlan,
    out: str | Path,
    jobs: int,
    fail_fast: bool,
    now: dt.datetime | None,
    pdf: bool,
    pool: warm.WarmPool | None,
    all_notebooks: Sequence[str],
) -> RunResult:
    """:func:`run` once the plan is checked: execute into a temporary folder, publish."""
    log = RunLog(plan.secrets)
    for w in plan.warnings:
        log(w)
    out_root = Path(out).resolve()
    if out_root.exists() and not out_root.is_dir():
        raise ParamsError(f"--out {out_root} exists and is not a folder: pass a folder path")
    started = now or dt.datetime.now()
    run_id, tmp_dir = publish.reserve_run_dir(
        out_root, plan.params.run.name, plan.as_of, started, log
    )
    final_dir = out_root / run_id
    try:
        log.attach(tmp_dir / RUN_LOG)
        results, manifest = _execute_into(
            plan, run_id, tmp_dir, final_dir, jobs, fail_fast, log, started, pool
        )
        (tmp_dir / OWNER_FILE).unlink(missing_ok=True)
        os.rename(tmp_dir, final_dir)
    except BaseException as exc:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise LeadnbError(
                mask_text(
                    f"run {run_id} not published: {exc.strerror or exc} "
                    f"({exc.filename or out_root}); earlier runs and latest are unchanged",
                    plan.secrets,
                )
            ) from None
        raise
    log.path, log.strict = final_dir / RUN_LOG, False  # published: a later line is best effort
    status = manifest["status"]
    complete = set(all_notebooks) <= set(plan.notebooks)
    exit_code = 0 if status == "success" else 1
    log_failed: list[str] = []

    def experiment_log() -> None:
        try:
            publish.publish_experiment_log(plan, final_dir)
        except Exception as exc:  # the run is published; say what is missing, exit 1
            log_failed.append(short_error(exc))
            log(
                f"warning: the experiment log was not updated: {short_error(exc)}; the run's "
                "rows are in ab_testing/experiment_log_rows.csv"
            )

    try:
        moved = publish.publish_indexes(
            out_root,
            manifest,
            move=status == "success" and complete,
            before=experiment_log,
            progress=log,
        )
        if log_failed:
            exit_code = 1
    except OSError as exc:
        log(
            f"warning: run {run_id} is published but OUT/index.html or latest "
            f"could not be written: {exc}"
        )
        moved, exit_code = False, 1
    failed = [r.name for r in results.values() if r.status != "success"]
    if failed:
        log(
            f"FAILED: {', '.join(failed)} (outputs kept; latest not moved; see {final_dir / RUN_LOG})"
        )
    elif not complete:
        log(
            f"latest not moved: a run of {', '.join(plan.notebooks)} is not the complete report set"
        )
    elif not moved and exit_code == 0:
        log(
            f"latest not moved: it shows {publish.latest_run_id(out_root)}, of a later analysis date"
        )
    pdfs = publish.write_pdfs(final_dir, manifest, progress=log) if pdf else []
    return RunResult(
        run_id=run_id,
        run_dir=final_dir,
        status=status,
        exit_code=exit_code,
        index_path=final_dir / "index.html",
        notebooks=list(results.values()),
        latest_moved=moved,
        pdfs=pdfs,
    )


def share_tables(plan: RunPlan, tmp_dir: Path) -> None:
    """Write the tables the plan validated into ``tmp_dir/.tables`` for the notebooks
    (:mod:`leadnb.data.cache`), then let the runner's copies go: each notebook memory-maps them
    instead of loading and validating every table again."""
    from leadnb.data import cache  # not at the top: the workers import this module, no data

    if not plan.tables:
        return
    key = cache.cache_key(
        plan.params_path, plan.as_of, [src.path for src in plan.params.data.values()]
    )
    rules = None
    if plan.rule_issues is not None:
        rules = (cache.rules_fingerprint(plan.params.scoring), plan.rule_issues)
    quality = None
    if plan.stage_quality is not None:
        quality = (cache.funnel_fingerprint(plan.params.funnel), plan.stage_quality)
    cache.write_tables(
        tmp_dir / cache.FOLDER, plan.tables, key, plan.table_issues, rules=rules, quality=quality
    )
    plan.tables = {}
    # the runner keeps the memory it frees (keep_freed_memory): what its tables held goes back
    # now, not at the end of the run
    release_free_memory()


def _execute_into(
    plan: RunPlan,
    run_id: str,
    tmp_dir: Path,
    final_dir: Path,
    jobs: int,
    fail_fast: bool,
    log: RunLog,
    started: dt.datetime,
    pool: warm.WarmPool | None = None,
) -> tuple[dict[str, NotebookResult], dict]:
    """Execute the plan's notebooks into ``tmp_dir``; write the manifest, index and run log."""
    kernel = plan.kernel or kernels.resolve_kernel(KERNEL_NAME)
    log(f"leadnb run {run_id}: {len(plan.notebooks)} notebook(s), as of {plan.as_of}, jobs {jobs}")
    log(f"kernel: {kernel.describe()}")
    share_tables(plan, tmp_dir)
    charts = None
    if publish.will_have_trends(final_dir.parent, plan.params.run.name, plan.as_of):
        _preload(publish.TREND_IMPORTS)  # imported while the first notebooks run
        # each report's trend charts drawn as its notebook succeeds, not after the last one
        now = {"run_id": run_id, "name": plan.params.run.name, "as_of": plan.as_of,
               "started_at": started.isoformat(timespec="seconds")}  # fmt: skip
        charts = publish.TrendCharts(final_dir.parent, tmp_dir, mask_value(now, plan.secrets))
    tasks = [
        NotebookTask(
            name=name,
            input_path=plan.notebook_dir / f"{name}.ipynb",
            run_dir=tmp_dir,
            parameters={**plan.parameters[name], "out_dir": str(tmp_dir / name)},
            cwd=plan.notebook_dir,
            kernel_name=kernel.name,
            secrets=plan.secrets,
            final_run_dir=final_dir,
            own_kernel=kernel.own_interpreter,
        )
        for name in plan.notebooks
    ]
    extra = {"warm": pool} if pool is not None and kernel.name == pool.spec.kernel_name else {}
    results = execute.execute_all(
        tasks,
        jobs=max(1, jobs),
        fail_fast=fail_fast,
        progress=log,
        on_result=None if charts is None else charts.prepare,
        **extra,
    )
    for res in results.values():
        if res.status == "failed":
            log.write(f"\n=== {res.name} failed: {res.error}\nfix: {res.fix}\n")
            if res.detail:
                log.write(res.detail + "\n")
    from leadnb.data.cache import FOLDER

    shutil.rmtree(tmp_dir / FOLDER, ignore_errors=True)  # never published
    manifest = publish.build_manifest(
        plan,
        run_id,
        tmp_dir,
        results,
        kernel=kernel,
        jobs=jobs,
        fail_fast=fail_fast,
        started=started,
        finished=dt.datetime.now(),
    )
    changes_html = publish.publish_changes(
        tmp_dir, manifest, results, plan.secrets, out_dir=final_dir.parent, charts=charts
    )
    publish.write_run_files(tmp_dir, manifest, results, plan.secrets, changes_html=changes_html)
    return results, manifest


__all__ = ["RunResult", "run"]


if __name__ == "__main__":
    raise SystemExit(execute.worker_main(sys.argv[1:]))
