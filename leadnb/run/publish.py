"""Publishing a run: temporary folder, manifest and index, then the run folder, latest, log.

Design. A run is written under ``OUT/.tmp-<run_id>/`` (:func:`reserve_run_dir`) and renamed to
``OUT/<run_id>/`` only when complete (manifest and index included, :func:`write_run_files`), so
a reader or a second run never sees half a run. Then, under the OUT lock
(:func:`publish_indexes`): the A/B readout is appended to the cumulative experiment log,
``OUT/latest`` (a symlink, swapped atomically) moves when the run is a successful run of all
four notebooks and no run of a later analysis date holds it (backfills never take it), and
``OUT/index.html`` (every run with its headline numbers, or which notebook failed and why) is
rewritten through a temporary file. Progress lines go to stderr and to ``run.log``
(:class:`RunLog`), masked. With ``leadnb run --pdf``, :func:`write_pdfs` then prints each report
to ``<notebook>.pdf`` beside its HTML with headless Chromium (:func:`find_chromium`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets as _random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from leadnb.errors import LeadnbError
from leadnb.masking import Secret, mask_text, mask_value
from leadnb.run.execute import DEFAULT_FIX, RUN_LOG, NotebookResult
from leadnb.run.hygiene import out_lock, remove_stale_temp, remove_stale_tmp, say, write_owner
from leadnb.run.kernels import OWN_KERNEL, KernelChoice
from leadnb.run.plan import RunPlan

RUN_NAME_MAX = 60  # characters of run.name kept in the run id (a file name)
PACKAGES = (
    "leadnb",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
    "pyarrow",
    "sqlalchemy",
)


class RunLog:
    """Progress lines: printed on stderr and kept in ``<run>/run.log``, secrets masked.

    Lines said before the run folder exists are kept and written when :meth:`attach` names the
    file. While the run is being written a failed write raises (``strict``); after publishing a
    line is best effort.
    """

    def __init__(self, secrets: Sequence[Secret] = ()) -> None:
        self.secrets = tuple(secrets)
        self.lines: list[str] = []
        self.path: Path | None = None
        self.strict = True  # a failed write raises (while the run is being written)

    def __call__(self, line: str) -> None:
        """Print ``line`` (masked) on stderr and add it to the log."""
        line = mask_text(line, self.secrets)
        say(line)
        self.write(line)

    def write(self, text: str) -> None:
        """Add ``text`` (masked) to the log file only."""
        text = mask_text(text, self.secrets)
        self.lines.append(text)
        if self.path is not None:
            try:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            except OSError:
                if self.strict:
                    raise

    def attach(self, path: Path) -> None:
        """Write the lines so far to ``path`` and append later ones there."""
        path.write_text("".join(line + "\n" for line in self.lines), encoding="utf-8")
        self.path = path


# --------------------------------------------------------------------------------------------
# The temporary run folder


def slug(text: str, limit: int = RUN_NAME_MAX) -> str:
    """``text`` as a file-name piece: runs of other characters than ``A-Za-z0-9_.-`` become
    ``-``, at most ``limit`` characters, ``run`` when nothing is left.

    Examples
    --------
    >>> slug("demo run"), slug("../../etc/passwd"), slug("///")
    ('demo-run', 'etc-passwd', 'run')
    """
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:limit].strip("-.")
    return s or "run"


def reserve_run_dir(
    out: Path,
    name: str,
    as_of: str,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, Path]:
    """Pick a run id and create its temporary folder ``OUT/.tmp-<run_id>`` exclusively.

    Parameters
    ----------
    out : Path
        The output root (created when missing).
    name : str
        ``run.name`` of the params file.
    as_of : str
        The analysis date ``YYYY-MM-DD``.
    now : datetime, optional
        The run's start (default: the clock).
    progress : callable, optional
        Receives the line about removed stale folders.

    Returns
    -------
    tuple of (str, Path)
        The run id ``<YYYYmmdd-HHMMSS>-<name>-<as_of>`` (the name slugged to at most
        :data:`RUN_NAME_MAX` characters, a short random suffix when that id exists or is being
        written) and the temporary folder. Under the OUT lock, stale temporary folders are
        removed first and this process is recorded as the new folder's owner.
    """
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{slug(name)}-{as_of}"
    out.mkdir(parents=True, exist_ok=True)
    run_id = base
    with out_lock(out):
        remove_stale_tmp(out, progress)
        remove_stale_temp()  # kernel and zygote folders in /tmp of runs killed outright
        for _ in range(100):
            tmp = out / f".tmp-{run_id}"
            try:
                tmp.mkdir()
            except FileExistsError:
                run_id = f"{base}-{_random.token_hex(2)}"
                continue
            if (out / run_id).exists():
                tmp.rmdir()
                run_id = f"{base}-{_random.token_hex(2)}"
                continue
            try:
                write_owner(tmp)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return run_id, tmp
    raise LeadnbError(f"could not reserve a run folder under {out}")


# --------------------------------------------------------------------------------------------
# Manifest and run index


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on, and Python's.

    Returns
    -------
    dict of str to str
        ``{"python": "3.11.x", "pandas": ..., ...}``; a package not installed is left out.
    """
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def read_metrics(folder: Path, name: str = "metrics.json") -> dict[str, Any]:
    """A notebook folder's ``metrics.json`` (or another JSON object file); ``{}`` when it is
    missing or not a JSON object."""
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def manifest_entry(res: NotebookResult, folder: Path) -> dict[str, Any]:
    """One notebook's entry in the manifest.

    Parameters
    ----------
    res : NotebookResult
        How it went.
    folder : Path
        Its output folder (to see which of ``.ipynb`` and ``.html`` exist).

    Returns
    -------
    dict
        ``name, status, seconds, attempts, error, title, folder, ipynb, html, tables``; a
        notebook that did not succeed adds ``fix`` and ``log``; ``removed_for_secrets`` lists
        deleted binary files.
    """
    name = res.name
    skip = ("tables", "removed", "title", "fix", "detail")
    entry = {k: v for k, v in asdict(res).items() if k not in skip}
    entry["title"] = res.title
    entry["folder"] = name
    entry["ipynb"] = f"{name}/{name}.ipynb" if (folder / f"{name}.ipynb").exists() else None
    entry["html"] = f"{name}/{name}.html" if (folder / f"{name}.html").exists() else None
    entry["tables"] = res.tables
    if res.status != "success":
        entry["fix"] = res.fix or DEFAULT_FIX.format(nb=name)
        entry["log"] = RUN_LOG
    if res.removed:
        entry["removed_for_secrets"] = res.removed
    return entry


def build_manifest(
    plan: RunPlan,
    run_id: str,
    run_dir: Path,
    results: Mapping[str, NotebookResult],
    *,
    kernel: KernelChoice,
    jobs: int,
    fail_fast: bool,
    started: dt.datetime,
    finished: dt.datetime,
) -> dict[str, Any]:
    """The run's ``manifest.json`` content (CONTRACT.md section 4), secrets masked.

    Parameters
    ----------
    plan : RunPlan
        The checked run (params, analysis date, inputs, secrets).
    run_id : str
        The run's id.
    run_dir : Path
        The folder the notebooks were written into (to see which files exist).
    results : mapping of str to NotebookResult
        How each notebook went, in run order.
    kernel : KernelChoice
        The kernel the notebooks ran on.
    jobs, fail_fast
        The run's options, recorded.
    started, finished : datetime
        Wall-clock start and end.

    Returns
    -------
    dict
        ``run_id, name, as_of, status, started_at, finished_at, seconds, params_file, params,
        inputs, packages, kernel, kernel_argv, notebook_dir, options, notebooks, log``;
        ``status`` is ``success`` when every notebook succeeded, else ``failed``.
    """
    status = "success" if all(r.status == "success" for r in results.values()) else "failed"
    manifest = {
        "run_id": run_id,
        "name": plan.params.run.name,
        "as_of": plan.as_of,
        "status": status,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 2),
        "params_file": str(plan.params_path),
        "params": mask_value(plan.params.raw, plan.secrets),
        "inputs": mask_value(plan.inputs, plan.secrets),
        "packages": package_versions(),
        "kernel": OWN_KERNEL if kernel.own_interpreter else kernel.name,
        "kernel_argv": list(kernel.argv),
        "notebook_dir": str(plan.notebook_dir),
        "options": {"notebooks": plan.notebooks, "jobs": jobs, "fail_fast": fail_fast},
        "notebooks": [manifest_entry(r, run_dir / r.name) for r in results.values()],
        "log": RUN_LOG,
    }
    return mask_value(manifest, plan.secrets)


TREND_NUMBERS = 3
"""Trend charts per report: the numbers its index card shows (the first of its headline)."""
CHANGES_FILE = "changes.csv"
TRENDS_PAGE = "trends.html"


def publish_changes(
    run_dir: Path,
    manifest: Mapping[str, Any],
    results: Mapping[str, NotebookResult],
    secrets: Sequence[Secret],
    *,
    out_dir: Path,
    charts: TrendCharts | None = None,
) -> str:
    """What changed since the previous run, put where readers look; returns the index's part.

    For each report that succeeded and has an earlier run of the same params name in
    ``out_dir`` (:func:`leadnb.run.changes.previous_run`, decided per notebook), its headline
    numbers are compared (:func:`leadnb.run.changes.what_changed`: a test per declared kind),
    the report is rendered again with that comparison after its answer, and ``changes.csv``
    is written at the run's top. When two or more runs exist, ``trends.html`` draws each
    report's card numbers over every run's analysis date. Money is shown in the run's
    ``run.currency``.

    Parameters
    ----------
    run_dir : Path
        The temporary run folder (notebooks executed, reports rendered once).
    manifest : mapping
        From :func:`build_manifest`.
    results : mapping of str to NotebookResult
        The notebooks' results (only succeeded ones are compared).
    secrets : sequence of Secret
        Masked in every page written.
    out_dir : Path
        The output root holding earlier runs (``OUT``).
    charts : TrendCharts, optional
        Trend charts drawn while the notebooks ran (used when drawn from the same numbers).

    Returns
    -------
    str
        Trusted HTML for the top of the run index ("" on a first run).
    """
    from leadnb.report import changes as view
    from leadnb.report import pages
    from leadnb.results import display_currency
    from leadnb.run import changes
    from leadnb.run.execute import render_report
    from leadnb.safe import escape

    frame = changes.what_changed(run_dir, manifest, out_dir=out_dir)
    with display_currency(pages.run_currency(manifest)):
        for name in frame["notebook"].unique() if len(frame) else []:
            res = results.get(name)
            html_path = run_dir / name / f"{name}.html"
            if res is None or res.status != "success" or not html_path.is_file():
                continue
            fragment = view.render_changes(frame[frame["notebook"] == name])
            filled = pages.fill_changes(
                html_path.read_text(encoding="utf-8"), mask_text(fragment, secrets)
            )
            if filled is not None:  # the slot the worker left: no second rendering
                html_path.write_text(filled, encoding="utf-8")
            else:
                render_report(
                    name, run_dir / name / f"{name}.ipynb", html_path, secrets=secrets,
                    changes_html=fragment,
                )  # fmt: skip
        parts = []
        if len(frame):
            frame.to_csv(run_dir / CHANGES_FILE, index=False)
            shown = frame.assign(notebook=frame["notebook"].map(pages.metric_label))
            parts.append(
                f'<details class="changes-all"><summary>{escape(changes_summary(frame))}'
                f"</summary>{view.render_changes(shown)}</details>"
            )
        trends = _write_trends(run_dir, manifest, results, secrets, out_dir=out_dir, charts=charts)
        if trends:
            parts.append(
                f'<p class="note"><a href="{TRENDS_PAGE}">Trends: every headline number over '
                "all runs</a></p>"
            )
    return "".join(parts)


def changes_summary(frame: Any) -> str:
    """One line for the run index: how many headline numbers moved beyond noise, and which.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"label": ["AUC", "ROI"], "beyond_noise": [False, True],
    ...                   "since": "2026-06-23"})
    >>> changes_summary(f)
    'Since 2026-06-23, 1 of 2 headline numbers moved beyond noise: ROI. Details'
    """
    beyond = frame["beyond_noise"].fillna(False).astype(bool)
    since = ", ".join(sorted({str(d) for d in frame["since"].dropna()})) or "the previous run"
    moved = [str(x) for x in frame.loc[beyond, "label"]]
    count = f"{len(moved)} of {len(frame)}" if moved else f"none of the {len(frame)}"
    head = f"Since {since}, {count} headline numbers moved beyond noise"
    return f"{head}: {', '.join(moved)}. Details" if moved else f"{head}. Details"


TREND_IMPORTS = ("matplotlib.pyplot", "leadnb.report.changes", "statsmodels.stats.multitest")
"""What comparing with the earlier runs (:func:`publish_changes`: the tests of
:mod:`leadnb.run.changes`) and drawing the trends (:func:`_write_trends`) need: imported while the
notebooks run when the run will have trends (:func:`will_have_trends`; a run to compare with is
one of them), not after them, and not at all on a first run."""


def will_have_trends(out_dir: str | Path, name: str, as_of: Any) -> bool:
    """Whether ``OUT`` holds a published run of params name ``name`` for another analysis date
    than ``as_of``: then this run's trends page has something to draw."""
    import pandas as pd

    from leadnb.run import changes

    try:
        dates = changes.run_dates(out_dir, name)
    except OSError:
        return False
    return bool(dates - {pd.Timestamp(as_of).normalize()})


class TrendCharts:
    """Each report's trend charts drawn as soon as its notebook has succeeded, while the other
    notebooks still run (the runner waits for them anyway): a run with history drew about a
    dozen charts after its last notebook (3 s of the demo run's end). :func:`_write_trends`
    uses a notebook's charts only when its trend rows and numbers are the same at the end
    (they are: the published runs do not change during a run, and the current run's numbers
    come from its notebook's ``metrics.json``), and draws them itself otherwise.

    Parameters
    ----------
    out_dir
        The output root (``OUT``), holding the published runs.
    run_dir
        The current run's temporary folder.
    manifest
        What the current run's manifest will say of it: ``name``, ``as_of`` and ``started_at``.
    """

    def __init__(self, out_dir: Path, run_dir: Path, manifest: Mapping[str, Any]) -> None:
        self.out_dir, self.run_dir = Path(out_dir), Path(run_dir)
        self.manifest = dict(manifest)
        self.drawn: dict[str, tuple[Any, list[str], list[str]]] = {}

    def prepare(self, result: NotebookResult) -> None:
        """Draw ``result``'s notebook's charts if it succeeded (a failure only leaves them to
        the end of the run)."""
        if result.status != "success":
            return
        try:
            from leadnb.run import changes

            current = {**self.manifest, "notebooks": [{"name": result.name, "status": "success"}]}
            frame = changes.trend(self.out_dir, str(self.manifest.get("name") or ""),
                                  current=(current, self.run_dir))  # fmt: skip
            if frame.empty or frame["as_of"].nunique() < 2:
                return
            rows = frame[frame["notebook"] == result.name].reset_index(drop=True)
            keys = _trend_keys(self.run_dir, result.name, rows)
            self.drawn[result.name] = (rows, keys, _trend_figures(rows, keys, result.name))
        except Exception:  # drawn again at the end, where a failure is handled as before
            self.drawn.pop(result.name, None)

    def figures(self, notebook: str, rows: Any, keys: list[str]) -> list[str] | None:
        """The charts drawn for ``notebook`` if they were drawn from these rows and keys."""
        seen = self.drawn.get(notebook)
        if seen is None or seen[1] != keys or not seen[0].equals(rows):
            return None
        return seen[2]


def _trend_keys(run_dir: Path, notebook: str, rows: Any) -> list[str]:
    """The headline numbers of ``notebook`` that have a trend: at most :data:`TREND_NUMBERS`,
    each with two or more analysis dates."""
    from leadnb.run import changes

    keys = [
        k for k in changes.headline_keys(changes.load_metrics(run_dir, notebook))
        if k in set(rows["key"])
    ][:TREND_NUMBERS]  # fmt: skip
    return [k for k in keys if rows.loc[rows["key"] == k, "as_of"].nunique() >= 2]


def _trend_figures(rows: Any, keys: Sequence[str], notebook: str) -> list[str]:
    """``<img>`` tags (PNG inline) of ``notebook``'s trend charts for ``keys``."""
    import base64
    import io

    import matplotlib.pyplot as plt  # only to draw: 1-2.4 s of CPU to import

    from leadnb.report import changes as view
    from leadnb.report.plots import unplain
    from leadnb.safe import escape

    figures = []
    for key in keys:
        fig = view.plot_trend(rows, key, notebook=notebook)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=200)
        plt.close(fig)
        title = fig.axes[0].get_title(loc="left") if fig.axes else key
        alt = escape(" ".join(unplain(title).split()))  # "$" escaped, lines wrapped
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        figures.append(f'<img src="data:image/png;base64,{data}" alt="{alt}" width="700">')
    return figures


def _write_trends(
    run_dir: Path,
    manifest: Mapping[str, Any],
    results: Mapping[str, NotebookResult],
    secrets: Sequence[Secret],
    *,
    out_dir: Path,
    charts: TrendCharts | None = None,
) -> bool:
    """``trends.html``: each report's card numbers over all runs of this params name (two or
    more analysis dates); False when there is nothing to draw. Charts ``charts`` drew while
    the notebooks ran are used when they were drawn from the same numbers."""
    from leadnb.run import changes

    name = str(manifest.get("name") or "")
    frame = changes.trend(out_dir, name, current=(manifest, run_dir))
    if frame.empty or frame["as_of"].nunique() < 2:
        return False
    from leadnb.report import pages
    from leadnb.safe import escape

    sections = []
    for nb in [n for n in results if results[n].status == "success"]:
        rows = frame[frame["notebook"] == nb].reset_index(drop=True)
        keys = _trend_keys(run_dir, nb, rows)
        figures = None if charts is None else charts.figures(nb, rows, keys)
        if figures is None:
            figures = _trend_figures(rows, keys, nb)
        if figures:
            title = escape(results[nb].title or pages.metric_label(nb))
            sections.append(f"<h2>{title}</h2>" + "".join(figures))
    if not sections:
        return False
    body = (
        f"<h1>Trends: {escape(name)}</h1>"
        '<p><a href="index.html">Back to this run</a></p>' + "".join(sections)
    )
    (run_dir / TRENDS_PAGE).write_text(
        mask_text(pages.standalone_page(f"Trends: {name}", body), secrets), encoding="utf-8"
    )
    return True


def write_run_files(
    run_dir: Path,
    manifest: Mapping[str, Any],
    results: Mapping[str, NotebookResult],
    secrets: Sequence[Secret],
    *,
    changes_html: str = "",
) -> None:
    """Write ``manifest.json`` and the run's ``index.html`` into ``run_dir``.

    Parameters
    ----------
    run_dir : Path
        The temporary run folder, holding one folder per notebook.
    manifest : mapping
        From :func:`build_manifest`.
    results : mapping of str to NotebookResult
        Titles and tables of each report.
    secrets : sequence of Secret
        Masked in the index page.
    changes_html : str, optional
        Trusted HTML "what changed since the last run", shown above the cards.

    Notes
    -----
    The index has one card per report with its headline numbers (``metrics.json``), formatted
    from the kinds the notebook declared (``metric_kinds.json``).
    """
    from leadnb.report import pages as report

    metrics = {name: read_metrics(run_dir / name) for name in results}
    kinds = {name: read_metrics(run_dir / name, "metric_kinds.json") for name in results}
    titles = {name: r.title or "" for name, r in results.items()}
    tables = {name: r.tables for name, r in results.items()}
    write_json(run_dir / "manifest.json", manifest)
    (run_dir / "index.html").write_text(
        mask_text(
            report.render_run_index(
                manifest, metrics, titles, tables, kinds, changes_html=changes_html
            ),
            secrets,
        ),
        encoding="utf-8",
    )


# --------------------------------------------------------------------------------------------
# OUT/latest, OUT/index.html and the experiment log


def read_manifests(out: Path) -> list[dict[str, Any]]:
    """The manifests of every published run under ``out``.

    Parameters
    ----------
    out : Path
        The output root (missing: no runs).

    Returns
    -------
    list of dict
        The parsed ``manifest.json`` of each run folder; hidden folders (``.tmp-*``), the
        ``latest`` symlink and unreadable manifests are skipped.
    """
    found = []
    for d in out.iterdir() if out.is_dir() else []:
        if d.name.startswith(".") or d.is_symlink() or not d.is_dir():
            continue
        m = d / "manifest.json"
        if m.is_file():
            try:
                found.append(json.loads(m.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
    return found


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def read_run_metrics(
    out: Path, manifests: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict[str, dict[str, Any]]]]:
    """The ``metrics.json`` and ``metric_kinds.json`` of every succeeded report of every run.

    Parameters
    ----------
    out : Path
        The output root.
    manifests : sequence of mapping
        From :func:`read_manifests`.

    Returns
    -------
    tuple of (dict, dict)
        Run id -> notebook name -> the file's content (``{}`` when missing); run ids and
        notebook names that are not plain file names are skipped (never read outside OUT).
    """
    metrics: dict[str, dict[str, dict[str, Any]]] = {}
    kinds: dict[str, dict[str, dict[str, Any]]] = {}
    for m in manifests:
        rid = str(m.get("run_id", ""))
        if not _PLAIN_NAME.fullmatch(rid):
            continue
        for entry in m.get("notebooks", []):
            name = str(entry.get("name", "")) if isinstance(entry, Mapping) else ""
            if entry.get("status") != "success" or not _PLAIN_NAME.fullmatch(name):
                continue
            folder = out / rid / name
            metrics.setdefault(rid, {})[name] = read_metrics(folder)
            kinds.setdefault(rid, {})[name] = read_metrics(folder, "metric_kinds.json")
    return metrics, kinds


def latest_run_id(out: Path) -> str | None:
    """The run id ``OUT/latest`` points at (a symlink, or the text file written where symlinks
    cannot be made); ``None`` when there is no ``latest``."""
    link = out / "latest"
    if link.is_symlink():
        return Path(os.readlink(link)).name
    if link.is_file():
        return link.read_text(encoding="utf-8").strip() or None
    return None


def move_latest(out: Path, run_id: str) -> None:
    """Point ``OUT/latest`` at ``run_id``: a new symlink under a temporary name, then ``os.replace``.

    Where symlinks cannot be made, ``latest`` becomes a text file holding the run id; in both
    cases ``latest.html`` redirects to the run's index.
    """
    from leadnb.report import pages as report

    tmp = out / f".latest-{run_id}-{_random.token_hex(3)}"
    try:
        os.symlink(run_id, tmp, target_is_directory=True)
    except (OSError, NotImplementedError):
        report.write_text_atomic(out / "latest", run_id + "\n")
    else:
        try:
            os.replace(tmp, out / "latest")
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
    report.write_text_atomic(out / "latest.html", report.render_latest_redirect(run_id))


def _recency(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """How ``latest`` orders successful runs: by analysis date, then by start time (a backfill
    with an older ``--as-of`` never takes ``latest`` away from a newer analysis date)."""
    return (str(manifest.get("as_of", "")), str(manifest.get("started_at", "")))


def publish_experiment_log(plan: RunPlan, final_dir: Path) -> bool:
    """Append the A/B readout of a published run to the cumulative experiment log.

    Call under the OUT lock, after the rename. Returns whether there was a readout
    (``ab_testing/experiment_log_rows.csv``) to append.
    """
    rows_csv = final_dir / "ab_testing" / "experiment_log_rows.csv"
    if not rows_csv.is_file():
        return False
    from leadnb.experiments import log as experiments

    experiments.append_log(
        experiments.log_path(plan.params.experiments, final_dir / "ab_testing"),
        experiments.read_log_rows(rows_csv),
    )
    return True


def publish_indexes(
    out: Path,
    manifest: Mapping[str, Any],
    move: bool,
    before: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> bool:
    """Under the OUT lock: run ``before``, move latest, rewrite ``OUT/index.html``.

    Parameters
    ----------
    out : Path
        The output root.
    manifest : mapping
        The published run's manifest.
    move : bool
        Whether the run may take ``latest`` (a successful run of all four notebooks); it does
        unless a run of a later analysis date (or the same date, started later) holds it.
    before : callable, optional
        Run first under the lock (the experiment log).
    progress : callable, optional
        Receives a warning when ``latest`` cannot be written.

    Returns
    -------
    bool
        Whether ``latest`` moved.
    """
    from leadnb.report import pages as report

    say_line = progress or say
    moved = False
    with out_lock(out):
        if before is not None:
            before()
        if move:
            current = latest_run_id(out)
            runs = {m.get("run_id"): m for m in read_manifests(out)}
            cur = runs.get(current) if current else None
            if cur is None or _recency(cur) <= _recency(manifest):
                try:
                    move_latest(out, str(manifest["run_id"]))
                    moved = True
                except OSError as exc:  # e.g. someone made OUT/latest a real folder
                    say_line(f"warning: could not point {out / 'latest'} at this run: {exc}")
        manifests = read_manifests(out)
        metrics, kinds = read_run_metrics(out, manifests)
        html = report.render_outputs_index(
            manifests, latest=latest_run_id(out), metrics=metrics, kinds=kinds
        )
        report.write_text_atomic(out / "index.html", html)
    return moved


# --------------------------------------------------------------------------------------------
# PDFs of the reports (leadnb run --pdf)

CHROMIUM_ENV = "LEADNB_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PDF_TIMEOUT_S = 120


HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
"""How leadnb starts Chromium: headless, no first-run or background traffic, and no network
at all (every host resolves to nothing), so a report can fetch nothing while it is printed."""


def find_chromium(environ: Mapping[str, str] | None = None) -> str | None:
    """The headless browser that prints PDFs: ``$LEADNB_CHROMIUM`` (a path or a command name)
    when set, else the first of ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH.

    Returns
    -------
    str or None
        Its path; ``None`` when there is none (also when ``LEADNB_CHROMIUM`` names nothing).

    Examples
    --------
    >>> find_chromium({"LEADNB_CHROMIUM": "/nonexistent/chrome"}) is None
    True
    """
    env = os.environ if environ is None else environ
    named = env.get(CHROMIUM_ENV, "").strip()
    if named:
        found = shutil.which(named)
        if found is None and Path(named).is_file() and os.access(named, os.X_OK):
            found = named
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(browser: str, page: Path, pdf: Path, *, timeout: float = PDF_TIMEOUT_S) -> Path:
    """Print the HTML ``page`` to ``pdf`` with headless Chromium (the page's print stylesheet,
    no header or footer, no network, a throw-away profile); written through a temporary file.

    Returns
    -------
    Path
        ``pdf``.

    Raises
    ------
    LeadnbError
        When Chromium fails or writes no PDF (its last stderr line says why).
    """
    tmp = pdf.with_name(f".{pdf.name}.{_random.token_hex(3)}.tmp")
    try:
        with tempfile.TemporaryDirectory(prefix="leadnb-chromium-") as profile:
            proc = subprocess.run(
                [
                    browser,
                    *HEADLESS_FLAGS,
                    f"--user-data-dir={profile}",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={tmp}",
                    page.resolve().as_uri(),
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        if not tmp.is_file() or tmp.read_bytes()[:5] != b"%PDF-":
            last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
            raise LeadnbError(
                f"{browser} wrote no PDF of {page.name} (exit {proc.returncode}): {last[0]}"
            )
        os.replace(tmp, pdf)
    except subprocess.TimeoutExpired:
        raise LeadnbError(f"{browser} took over {timeout:.0f} s to print {page.name}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return pdf


def write_pdfs(
    run_dir: Path,
    manifest: Mapping[str, Any],
    *,
    browser: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Print every report of a published run to ``<notebook>/<notebook>.pdf`` beside its HTML.

    Parameters
    ----------
    run_dir : Path
        The published run folder.
    manifest : mapping
        Its manifest (each notebook entry's ``html``, relative to ``run_dir``).
    browser : str, optional
        The Chromium to use (default: :func:`find_chromium`).
    progress : callable, optional
        Receives one line per PDF, the line saying PDFs were skipped when no Chromium is found,
        and a warning per report that could not be printed (default: stderr).

    Returns
    -------
    list of Path
        The PDFs written. A report that could not be printed is left without one (a warning,
        not an error: the run's result does not depend on its PDFs).
    """
    say_line = progress or say
    browser = browser or find_chromium()
    if browser is None:
        say_line(
            "PDFs skipped: no headless Chromium found (install chromium, or set "
            f"{CHROMIUM_ENV} to the browser's path)"
        )
        return []
    written = []
    for entry in manifest.get("notebooks", []):
        rel = entry.get("html") if isinstance(entry, Mapping) else None
        if not rel:
            continue
        page = run_dir / rel
        if not page.is_file():
            continue
        pdf = page.with_suffix(".pdf")
        try:
            written.append(print_pdf(browser, page, pdf))
        except (LeadnbError, OSError) as exc:
            say_line(f"warning: no PDF of {rel}: {exc}")
            continue
        say_line(f"PDF: {pdf.relative_to(run_dir)}")
    return written


__all__ = [
    "TrendCharts",
    "RUN_NAME_MAX",
    "RunLog",
    "build_manifest",
    "find_chromium",
    "latest_run_id",
    "manifest_entry",
    "move_latest",
    "package_versions",
    "print_pdf",
    "publish_experiment_log",
    "publish_indexes",
    "read_manifests",
    "read_metrics",
    "read_run_metrics",
    "reserve_run_dir",
    "slug",
    "write_json",
    "write_pdfs",
    "write_run_files",
]
