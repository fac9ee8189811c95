"""environment.yml gives a conda user the same environment as pyproject.toml (and the Makefile)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


def load() -> tuple[dict, dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return env, project


def conda_and_pip(env: dict) -> tuple[list[str], list[str]]:
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pips = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pips) == 1 and list(pips[0]) == ["pip"], "one pip: section expected"
    return conda, pips[0]["pip"]


def editable_extras(line: str) -> set[str]:
    m = re.fullmatch(r"-e\s+\.\[([^\]]*)\]", line.strip())
    assert m, f"expected '-e .[extras]', got {line!r}"
    return {e.strip() for e in m.group(1).split(",") if e.strip()}


def test_name_and_channel() -> None:
    env, _ = load()
    assert env["name"] == "leadnb"
    assert env["channels"] == ["conda-forge"]


def test_pip_installs_the_project_with_every_extra() -> None:
    env, project = load()
    _, pip = conda_and_pip(env)
    assert len(pip) == 1, (
        "every Python dependency comes from pyproject.toml via one editable install"
    )
    assert editable_extras(pip[0]) == set(project["optional-dependencies"])


def test_conda_installs_only_python_and_pip() -> None:
    env, _ = load()
    conda, _ = conda_and_pip(env)
    names = sorted(re.split(r"[=<>! ]", d, maxsplit=1)[0] for d in conda)
    assert names == ["pip", "python"], "other packages would drift from pyproject.toml"


def test_python_version_matches_requires_python() -> None:
    env, project = load()
    conda, _ = conda_and_pip(env)
    (python,) = [d for d in conda if d.startswith("python")]
    m = re.fullmatch(r"python\s*=+\s*(\d+\.\d+)", python)
    assert m, python
    assert m.group(1) == "3.11"
    assert SpecifierSet(project["requires-python"]).contains(m.group(1) + ".0")


def test_makefile_installs_the_same_extras() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r'pip install[^\n]*-e\s+"?(\.\[[^\]]*\])', makefile)
    assert m, "Makefile should pip install -e .[extras]"
    env, _ = load()
    _, pip = conda_and_pip(env)
    assert editable_extras("-e " + m.group(1)) == editable_extras(pip[0])
