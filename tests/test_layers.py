"""The package's layers import downward only, so a reader can follow one question without the
others and the run machinery stays out of the analysis.

Read from the source with :mod:`ast` (module-level and function-level imports alike):

* ``leadnb.run`` (the CLI, Papermill, publishing) is imported by nothing outside it except
  ``leadnb/__main__.py``;
* ``leadnb.report`` (notebook context, pages, plots) is not imported by the questions or the
  data layer;
* the four questions depend on each other in one direction only: the funnel is the base
  (stages and their names, stage dates, exposure); scoring and experiments build on it, and
  the ROI builds on the funnel and the experiments (its holdout). No cycle between two
  questions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "leadnb"
QUESTIONS = ("scoring", "funnel", "experiments", "roi")
ALLOWED = {
    "scoring": {"funnel"},
    "funnel": set(),
    "experiments": {"funnel"},
    "roi": {"funnel", "experiments"},
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else "(shared)"


def imported_layers(path: Path) -> set[str]:
    """The leadnb subpackages a module imports (``leadnb.x...`` -> ``x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "leadnb" and len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
                found.add(parts[1])
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_check_sees_function_level_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from leadnb.run import plan\n    import leadnb.report.pages\n")
    assert imported_layers(f) == {"run", "report"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_import_downward(path: Path) -> None:
    layer = layer_of(path)
    used = imported_layers(path) - {layer}
    if path.name != "__main__.py" or layer != "(shared)":
        assert "run" not in used or layer == "run", f"{path} imports leadnb.run"
    if layer in (*QUESTIONS, "data"):
        assert "report" not in used, f"{path} imports leadnb.report"
    if layer in QUESTIONS:
        other = used & set(QUESTIONS)
        assert other <= ALLOWED[layer], f"{path} ({layer}) imports {sorted(other - ALLOWED[layer])}"
