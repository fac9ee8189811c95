"""Execute a notebook many times in one warm kernel: the backfill sweep's engine.

``leadnb run`` starts a kernel per notebook and renders HTML, about 8 s a report; a sweep over
forty analysis dates would take most of the test budget in start-ups. Here one kernel per notebook
runs the notebook top to bottom again and again, each time with Papermill's own parameter
injection (the same ``injected-parameters`` cell a scheduled run gets) after ``%reset -f``, so no
variable survives from one date to the next. A cell error raises nbclient's
``CellExecutionError`` naming the cell, as it would fail a scheduled run.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from leadnb.run.kernel_manager import LocalKernelManager
from leadnb.run.kernels import KERNEL_ARGS, KERNEL_NAME

# a clean namespace per run; charts drawn by the Agg backend only (the run folder's PNGs are still
# rendered by ``save_figure``), not a second time for inline display
RESET = "%reset -f\nimport matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as _plt\n_plt.close('all')"


class WarmNotebook:
    """One notebook and one running kernel; :meth:`run` executes it with new parameters."""

    def __init__(self, path: Path, *, timeout: int = 600) -> None:
        self.path = Path(path)
        self.source = load_notebook_node(str(self.path))  # as Papermill reads it (tags set)
        self.timeout = timeout
        starter = NotebookClient(
            copy.deepcopy(self.source),
            kernel_name=KERNEL_NAME,
            extra_arguments=list(KERNEL_ARGS),
            kernel_manager_class=LocalKernelManager,  # tests run side by side: no port races
        )
        self.km = starter.create_kernel_manager()
        starter.start_new_kernel(cwd=str(self.path.parent))

    def run(self, parameters: Mapping[str, Any]) -> nbformat.NotebookNode:
        """Execute the notebook once with ``parameters``; return the executed notebook."""
        nb = parameterize_notebook(copy.deepcopy(self.source), dict(parameters))
        nb.cells.insert(0, nbformat.v4.new_code_cell(RESET))
        client = NotebookClient(
            nb,
            km=self.km,
            timeout=self.timeout,
            kernel_name=KERNEL_NAME,
            resources={"metadata": {"path": str(self.path.parent)}},
        )
        client.execute()
        return nb

    def close(self) -> None:
        run_sync(self.km.shutdown_kernel)(now=True)


@contextmanager
def warm(path: Path) -> Iterator[WarmNotebook]:
    """A :class:`WarmNotebook` whose kernel is shut down on exit."""
    w = WarmNotebook(path)
    try:
        yield w
    finally:
        w.close()


def output_text(nb: nbformat.NotebookNode) -> str:
    """Everything the executed notebook printed (stream outputs and plain-text results)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(str(out["data"]["text/plain"]))
    return "".join(parts)


def printed(nb: nbformat.NotebookNode) -> str:
    """What the executed notebook's code cells printed (stream outputs and tracebacks)."""
    return "".join(
        o.get("text", "") + "".join(o.get("traceback", []))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )


def run_alone(
    params: Path, notebook: str, out: Path, as_of: str | None = None
) -> tuple[str, Path, nbformat.NotebookNode]:
    """``leadnb run PARAMS --notebooks NOTEBOOK`` in process; asserts exit 0 and that every
    skipped section reads as one sentence naming it. Returns (printed text, the notebook's run
    folder, the executed notebook)."""
    import re

    from leadnb.run import runner

    result = runner.run(params, notebooks=[notebook], out=out, as_of=as_of)
    folder = result.run_dir / notebook
    executed = nbformat.read(folder / f"{notebook}.ipynb", as_version=4)
    text = printed(executed)
    assert result.exit_code == 0, text[-3000:]
    for line in re.findall(r"^Not computed .*$", text, flags=re.M):
        assert re.fullmatch(r"Not computed \([^)]+\): [A-Z][^\n]+\.", line), line
    return text, folder, executed
