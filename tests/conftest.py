"""Shared test fixtures: small and generated in code.

Params files load through the real section parsers (``leadnb.scoring``, ``leadnb.funnel``,
``leadnb.roi``, ``leadnb.experiments``): a missing package module is an import error that fails
the test, never a stand-in.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
import yaml

BANK_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "bank"


@pytest.fixture
def write_params(tmp_path: Path):
    """``write_params(dict) -> Path``: write a params YAML file into ``tmp_path``."""

    def write(raw: dict, name: str = "params.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path

    return write


ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"


def require_demo_data() -> Path:
    """``data/demo``, or fail (never skip) saying how to build it: a test that needs the demo
    dataset and silently skips checks nothing."""
    if not (DEMO_DIR / "leads.csv").is_file():
        pytest.fail(
            f"the demo dataset is missing ({DEMO_DIR / 'leads.csv'}): build it with "
            "`make demo-data` (or `.venv/bin/leadnb sample --out data/demo`)",
            pytrace=False,
        )
    return DEMO_DIR


@pytest.fixture
def demo_data() -> Path:
    """The demo dataset folder ``data/demo``; the test fails when it has not been built."""
    return require_demo_data()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``leadnb run params/demo.yaml --jobs 2`` of the four notebooks for the whole session
    (``OUT/<run_id>``): the first xdist worker that asks runs it, the other waits on the lock and
    reads the same folder. Tests read it and never change it (copy it first)."""
    from leadnb.run.runner import run

    require_demo_data()
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo_run"
    root.mkdir(parents=True, exist_ok=True)
    done = root / "run_dir.txt"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            # the kernels' IPython folder is the run's own, not the user's (IPYTHONDIR; a test
            # checks that a run's kernels leave no history in it)
            before = os.environ.get("IPYTHONDIR")
            os.environ["IPYTHONDIR"] = str(root / "ipython")
            try:
                result = run(ROOT / "params" / "demo.yaml", out=root / "out", jobs=2)
            finally:
                if before is None:
                    os.environ.pop("IPYTHONDIR", None)
                else:
                    os.environ["IPYTHONDIR"] = before
            assert result.exit_code == 0, [(r.name, r.status, r.error) for r in result.notebooks]
            done.write_text(str(result.run_dir))
        fcntl.flock(lock, fcntl.LOCK_UN)
    return Path(done.read_text())
