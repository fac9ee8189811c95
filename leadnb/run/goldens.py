"""``python -m leadnb.run.goldens notebooks``: re-execute notebooks and keep only their golden outputs.

The notebooks in ``notebooks/`` are checked artifacts: ``make test`` runs nbval on them in lax
mode, which compares only the cells marked ``# NBVAL_CHECK_OUTPUT`` (first line) or tagged
``nbval-check-output``. This module refreshes those stored outputs (``make notebooks``):

1. execute each notebook top to bottom with its **default parameters** (the values in its
   ``parameters`` cell, nothing injected) on the ``leadnb`` kernel, in the notebook's folder;
2. keep the outputs of golden cells only, and of those only text: ``stdout`` streams and the
   ``text/plain`` part of results (no images, no HTML, no stderr, no widget state);
3. number the golden cells 1, 2, 3 ... and clear every other execution count (nbval treats a
   cell with outputs but no count as "unrun" and fails it), drop the volatile cell metadata
   nbclient adds (timings), then write the notebook back through a temporary file.

A notebook that fails to execute is left untouched and the command exits 1 naming the cell.

``python -m leadnb.run.goldens --check notebooks`` (run by ``make test``) executes nothing: it
exits 1 when a notebook has no golden cell, or a golden cell has no stored text output or no
execution count. Design: nbval compares only what is stored; a golden cell stripped of its
outputs and count (``nbstripout``, "Clear all outputs") is an "unrun" cell nbval passes without
comparing, so stripped goldens would check nothing. This check makes that a failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leadnb.errors import LeadnbError, NotebookError

if TYPE_CHECKING:
    import nbformat

GOLDEN_MARK = "# NBVAL_CHECK_OUTPUT"
GOLDEN_TAG = "nbval-check-output"
KERNEL_NAME = "leadnb"
VOLATILE_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled")
VOLATILE_NOTEBOOK_METADATA = ("papermill", "widgets")


def is_golden(cell: nbformat.NotebookNode) -> bool:
    """A code cell whose first line is ``# NBVAL_CHECK_OUTPUT`` or that carries nbval's tag."""
    if cell.get("cell_type") != "code":
        return False
    first = cell.source.lstrip().splitlines()[0].strip() if cell.source.strip() else ""
    return first == GOLDEN_MARK or GOLDEN_TAG in cell.get("metadata", {}).get("tags", [])


def text_outputs(outputs: Iterable[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """The text part of ``outputs``: stdout streams and ``text/plain`` of results (charts and
    other images are dropped whole, their ``<Figure ...>`` text with them)."""
    import nbformat

    kept = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=out.get("text", "")))
        elif kind in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            if any(mime.startswith("image/") for mime in out["data"]):
                continue  # a chart: its text/plain is only "<Figure ...>"
            data = {"text/plain": out["data"]["text/plain"]}
            if kind == "execute_result":
                kept.append(nbformat.v4.new_output(kind, data=data, execution_count=None))
            else:
                kept.append(nbformat.v4.new_output(kind, data=data))
    return kept


def strip_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep golden cells' text outputs (numbered 1..k), drop all other outputs, counts and
    volatile metadata."""
    count = 0
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        if is_golden(cell):
            count += 1
            cell.outputs = text_outputs(cell.get("outputs", []))
            cell.execution_count = count
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = count
        else:
            cell.outputs = []
            cell.execution_count = None
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    return nb


def unchecked_goldens(nb: nbformat.NotebookNode) -> list[str]:
    """Why nbval would compare nothing for some golden cells of ``nb``: one line per problem.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook as stored (not executed).

    Returns
    -------
    list of str
        Empty when every golden cell has a stored text output and an execution count and there
        is at least one golden cell; otherwise one sentence per problem, naming the cell by its
        position (0-based, markdown cells counted).

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> golden = new_code_cell("# NBVAL_CHECK_OUTPUT\\nprint(1)", execution_count=1)
    >>> golden.outputs = [new_output("stream", name="stdout", text="1\\n")]
    >>> unchecked_goldens(new_notebook(cells=[golden]))
    []
    >>> golden.outputs, golden.execution_count = [], None
    >>> unchecked_goldens(new_notebook(cells=[golden]))
    ['cell 0: golden but no stored output', 'cell 0: golden but no execution count (nbval skips it)']
    >>> unchecked_goldens(new_notebook(cells=[new_code_cell("print(1)")]))
    ['no golden cell (first line # NBVAL_CHECK_OUTPUT)']
    """
    problems: list[str] = []
    golden = [(i, c) for i, c in enumerate(nb.cells) if is_golden(c)]
    if not golden:
        return [f"no golden cell (first line {GOLDEN_MARK})"]
    for i, cell in golden:
        kept = text_outputs(cell.get("outputs", []))
        if not any(
            (o.get("text") or o.get("data", {}).get("text/plain", "")).strip() for o in kept
        ):
            problems.append(f"cell {i}: golden but no stored output")
        if cell.get("execution_count") is None:
            problems.append(f"cell {i}: golden but no execution count (nbval skips it)")
    return problems


def check(paths: Iterable[Path]) -> int:
    """Print every golden cell nbval would not compare; return how many notebooks have one."""
    import nbformat

    bad = 0
    for path in paths:
        problems = unchecked_goldens(nbformat.read(path, as_version=4))
        if problems:
            bad += 1
            print(f"{path}: " + "; ".join(problems), file=sys.stderr)
    if bad:
        print(
            "golden outputs are missing: nbval would check nothing there; restore them with "
            "`make notebooks` (needs the demo data: `make demo-data`)",
            file=sys.stderr,
        )
    return bad


def execute(
    path: Path, *, kernel_name: str = KERNEL_NAME, timeout: int = 1200
) -> nbformat.NotebookNode:
    """Run a notebook as it is (its default parameters) in its own folder; return it executed.

    Raises :class:`NotebookError` naming the failing cell.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        raise NotebookError(
            f"{path.name} failed while refreshing its golden outputs: "
            f"{exc.ename}: {str(exc.evalue).strip()}",
            file=str(path),
            fix="open the notebook in JupyterLab (make lab), run it top to bottom and fix the cell; "
            "the stored notebook was not changed",
        ) from None
    return nb


def refresh(path: Path, *, kernel_name: str = KERNEL_NAME, timeout: int = 1200) -> int:
    """Execute ``path``, strip it to its golden text outputs, write it back; return the number of
    golden cells."""
    import nbformat

    nb = strip_notebook(execute(path, kernel_name=kernel_name, timeout=timeout))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sum(1 for c in nb.cells if is_golden(c))


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """``.ipynb`` files among ``paths`` (folders are searched one level, checkpoints skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.glob("*.ipynb") if not q.name.startswith(".")))
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            raise LeadnbError(
                f"not a notebook or a folder of notebooks: {p}", fix="pass notebooks/"
            )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: refresh every notebook given (or in the folders given); exit 1 on failure."""
    parser = argparse.ArgumentParser(
        prog="python -m leadnb.run.goldens",
        description="Re-execute notebooks with their default parameters and keep only the text "
        f"outputs of golden cells (first line {GOLDEN_MARK}).",
    )
    parser.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    parser.add_argument("--kernel", default=KERNEL_NAME, help="Jupyter kernel name (leadnb)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell")
    parser.add_argument(
        "--check",
        action="store_true",
        help="execute nothing: exit 1 if a golden cell has no stored output or count",
    )
    args = parser.parse_args(argv)
    try:
        notebooks = find_notebooks(args.paths)
    except LeadnbError as err:
        print(str(err), file=sys.stderr)
        return 2
    if args.check:
        return 1 if check(notebooks) else 0
    from leadnb.run.execute import skip_slow_optional_imports

    skip_slow_optional_imports()
    failed = 0
    for path in notebooks:
        try:
            n = refresh(path, kernel_name=args.kernel, timeout=args.timeout)
        except LeadnbError as err:
            print(str(err), file=sys.stderr)
            failed += 1
            continue
        print(f"refreshed {path}: {n} golden cell(s)")
    return 1 if failed else 0


__all__ = [
    "GOLDEN_MARK",
    "check",
    "execute",
    "find_notebooks",
    "is_golden",
    "main",
    "refresh",
    "strip_notebook",
    "text_outputs",
    "unchecked_goldens",
]

if __name__ == "__main__":
    raise SystemExit(main())
