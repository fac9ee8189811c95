"""The top-level leadnb namespace: what analysts import in their own notebooks."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import leadnb


@pytest.mark.parametrize("name", sorted(leadnb._API))
def test_public_name_is_the_object_of_its_home_module(name: str) -> None:
    found = getattr(leadnb, name)
    home = importlib.import_module(leadnb._API[name])
    assert found is getattr(home, name)
    # its one home: the object is defined there, not re-exported from somewhere else
    if inspect.isfunction(found) or inspect.isclass(found):
        assert found.__module__ == leadnb._API[name]


def test_every_public_name_is_listed_and_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert set(leadnb._API) <= set(leadnb.__all__)
    missing = [name for name in leadnb._API if f"`{name}`" not in readme]
    assert missing == [], f"README does not document: {missing}"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        leadnb.nope  # noqa: B018


def test_import_leadnb_loads_no_analysis_module() -> None:
    code = "import sys, leadnb; print(sorted(m for m in sys.modules if m.startswith('leadnb.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['leadnb.errors']"


def test_srm_from_the_top_level_equals_scipy_chisquare() -> None:
    from scipy.stats import chisquare

    p = leadnb.srm_p_value({"control": 520, "variant": 480}, {"control": 0.5, "variant": 0.5})
    assert p == pytest.approx(chisquare([520, 480]).pvalue)
