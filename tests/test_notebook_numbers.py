"""Every number a report prints is formatted from its declared kind, never by a format spec
written in the notebook (the index cards, the tables and the sentences then agree: ROI is
"312.8%" everywhere, not "313%" in one place and "3.128" in another).

The check reads each notebook's code with :mod:`ast`: an f-string field with a number format
spec (``{x:.1%}``, ``{n:,}``, ``{v:.2f}``) or arithmetic that rescales a number for display
(``{rate * 100}``) fails. Date specs (``{as_of:%Y-%m-%d}``) are allowed: a date is not a number.
Numbers go through ``Result.shown``/``interval``, ``Metrics.of_row(...).shown`` or
``leadnb.results.format_value`` with a declared :class:`~leadnb.results.Kind`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def number_formats(source: str) -> list[str]:
    """The f-string fields in ``source`` that format a number by hand."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FormattedValue):
            continue
        expr = ast.unparse(node.value)
        spec = "" if node.format_spec is None else ast.unparse(node.format_spec)
        spec_text = "".join(
            v.value
            for v in getattr(node.format_spec, "values", [])
            if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
        is_date = "%" in spec_text and any(c in spec_text for c in ("%Y", "%m", "%d", "%b"))
        if spec_text and not is_date:
            found.append(f"{{{expr}:{spec_text}}}")
        elif isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.Mult | ast.Div):
            found.append(f"{{{expr}}}")  # a rate rescaled by hand: {rate * 100}
        del spec
    return found


def test_the_check_finds_hand_formatted_numbers() -> None:
    src = 'print(f"{a:.1%} {b:,.0f} {c * 100:.2f} {d * 100} {e:%Y-%m-%d} {f} {g!r}")'
    assert number_formats(src) == ["{a:.1%}", "{b:,.0f}", "{c * 100:.2f}", "{d * 100}"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_prints_numbers_only_from_declared_kinds(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    bad = [
        f"cell {i}: {spec}"
        for i, cell in enumerate(book.cells)
        if cell.cell_type == "code"
        for spec in number_formats(cell.source)
    ]
    assert not bad, (
        f"{path.name} formats numbers by hand; use Result.shown/interval, Metrics.of_row(...)"
        f".shown or format_value with a Kind: {bad[:8]} ({len(bad)} in all)"
    )
