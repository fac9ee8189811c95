"""``make test`` fails when the notebooks' golden outputs are stripped.

nbval (``pytest --nbval-lax``, the last step of ``make test``) compares only what a notebook has
stored. A golden cell whose outputs were removed but whose count was kept fails nbval; a cell
stripped the usual way (outputs *and* count cleared: nbstripout, "Clear all outputs") is an
"unrun" cell that nbval passes without comparing anything. ``python -m leadnb.run.goldens
--check`` closes that hole and ``make test`` runs it; these tests show both halves.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from leadnb.run import goldens

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("scoring_calibration", "cohort_conversion", "nurture_roi", "ab_testing")
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


def make_recipe(target: str) -> list[str]:
    """The command lines of a Makefile target's recipe, in order."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def strip_all_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What nbstripout or "Clear all outputs" does: no outputs, no counts."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def strip_golden_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove the stored outputs of golden cells only, keeping their counts."""
    for cell in nb.cells:
        if goldens.is_golden(cell):
            cell.outputs = []
    return nb


@pytest.mark.parametrize("name", NAMES)
def test_every_golden_cell_has_its_stored_output(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    problems = goldens.unchecked_goldens(nb)
    assert not problems, (
        f"notebooks/{name}.ipynb: {'; '.join(problems)}. nbval would check nothing there: "
        "restore the golden outputs with `make notebooks` (needs `make demo-data`)"
    )


@pytest.mark.parametrize("strip", [strip_all_outputs, strip_golden_outputs])
@pytest.mark.parametrize("name", NAMES)
def test_stripped_goldens_fail_the_check(tmp_path: Path, name: str, strip, capsys) -> None:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(strip(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)), path)
    assert goldens.unchecked_goldens(nbformat.read(path, as_version=4))
    assert goldens.main(["--check", str(tmp_path)]) == 1
    assert "make notebooks" in capsys.readouterr().err


def test_removing_the_golden_marks_fails_the_check(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / "ab_testing.ipynb", as_version=4)
    for cell in nb.cells:
        if goldens.is_golden(cell):
            cell.source = cell.source.replace(goldens.GOLDEN_MARK, "# checked by nobody")
    assert goldens.unchecked_goldens(nb) == ["no golden cell (first line # NBVAL_CHECK_OUTPUT)"]


def test_the_stored_notebooks_pass_the_check() -> None:
    assert goldens.main(["--check", str(NOTEBOOKS)]) == 0


def test_make_test_runs_the_check_and_nbval_on_every_notebook() -> None:
    recipe = make_recipe("test")
    check = [i for i, c in enumerate(recipe) if "-m leadnb.run.goldens --check notebooks" in c]
    nbval = [i for i, c in enumerate(recipe) if "--nbval-lax" in c]
    assert check and nbval, recipe
    assert shlex.split(recipe[nbval[0]])[-1] == "notebooks"  # the folder: all four notebooks


def nbval_as_make_runs_it(folder: Path) -> subprocess.CompletedProcess[str]:
    """``make test``'s nbval command line, pointed at ``folder`` instead of ``notebooks``."""
    (line,) = [c for c in make_recipe("test") if "--nbval-lax" in c]
    args = shlex.split(line)[1:-1]  # drop $(BIN)/pytest and the notebooks folder
    args = [str(ROOT / a) if a.endswith("sanitize.cfg") else a for a in args]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *args, str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_nbval_alone_misses_fully_stripped_goldens(tmp_path: Path) -> None:
    """Why the check exists: on the ok fixture notebook (golden text refreshed), nbval fails a
    golden cell stripped of its outputs only, but passes one stripped of outputs and count; the
    check fails both."""
    shutil.copy(FIXTURES / "ok.ipynb", tmp_path / "good.ipynb")
    assert goldens.main([str(tmp_path / "good.ipynb")]) == 0  # execute, keep the golden text
    good = nbformat.read(tmp_path / "good.ipynb", as_version=4)
    nbformat.write(strip_golden_outputs(good), tmp_path / "outputs_stripped.ipynb")
    good = nbformat.read(tmp_path / "good.ipynb", as_version=4)
    nbformat.write(strip_all_outputs(good), tmp_path / "all_stripped.ipynb")

    proc = nbval_as_make_runs_it(tmp_path)
    failed = {Path(f).name for f in re.findall(r"^FAILED (\S+\.ipynb)::", proc.stdout, flags=re.M)}
    assert failed == {"outputs_stripped.ipynb"}, proc.stdout[-3000:]
    for name in ("outputs_stripped", "all_stripped"):
        assert goldens.main(["--check", str(tmp_path / f"{name}.ipynb")]) == 1
    assert goldens.main(["--check", str(tmp_path / "good.ipynb")]) == 0
