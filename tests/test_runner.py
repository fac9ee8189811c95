"""``leadnb run`` end to end: refused runs write nothing; real runs on Jupyter kernels.

The tests that start kernels (marked ``slow``) share two runs made once per module, on fixture
notebooks from tests/fixtures/notebooks and a tiny project written into a temporary folder
(never the demo data or the real notebooks). The pieces have their own tests, one module each:
tests/test_masking.py, test_run_plan.py, test_run_engine.py, test_run_execute.py,
test_run_publish.py, test_run_hygiene.py; whole runs with a fake executor are in
tests/test_runner_hygiene.py, which imports the helpers below.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from leadnb.data import params as config
from leadnb.run import cli, kernels

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SECRET_TOKEN = "Zq7SecretToken4Runner"
SECRET_VAR = "LEADNB_TEST_DB_URL"
# a URL the fixture notebooks print and raise with (not named by the params file): its password
# has an unencoded '@', ':' and '/', and no form of it may reach any output
PG_VAR = "LEADNB_TEST_LEAK_URL"
PG_PASSWORD = "p@ss:w0rd/x@yZq9"
PG_URL = f"postgresql://analyst:{PG_PASSWORD}@127.0.0.1:9/crm"


def make_project(
    root: Path, sections: dict[str, Any] | None = None, leads: str | None = None
) -> Path:
    """A tiny project: leads.csv, a SQLite costs table behind a secret URL, params.yaml, and a
    notebook folder holding the fixtures plus the four report names (copies of ok.ipynb, so a
    run of "all four" is cheap and the params file can give them sections)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "leads.csv").write_text(
        leads
        or "lead_id,created_at,email\nL1,2026-01-02,a@x.example\nL2,2026-02-03,b@y.example\n"
        "L3,2026-03-04,\n"
    )
    db = root / f"{SECRET_TOKEN}.db"
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("create table if not exists costs (period_start text, amount real)")
        con.execute("insert into costs values ('2026-01-01', 100.0)")
        con.commit()
    raw = {
        "run": {"name": "test", "as_of": "2026-06-30"},
        "data": {
            "leads": {"source": "leads.csv"},
            "costs": {"sql": "select period_start, amount from costs", "url_env": SECRET_VAR},
        },
        **(sections or {}),
    }
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    nbdir = root / "nbs"
    nbdir.mkdir(exist_ok=True)
    for nb in FIXTURES.glob("*.ipynb"):
        shutil.copy(nb, nbdir / nb.name)
    for name in config.NOTEBOOKS:
        shutil.copy(FIXTURES / "ok.ipynb", nbdir / f"{name}.ipynb")
    return params


def secret_url(root: Path) -> str:
    return f"sqlite:///{root / (SECRET_TOKEN + '.db')}"


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# exit 2 before anything runs: nothing written


@pytest.mark.parametrize(
    ("sections", "leads", "notebooks", "expect"),
    [
        (
            {"nurture_roi": {"greetng": "hi"}},
            None,
            "nurture_roi",
            ["nurture_roi", "greetng", "greeting"],
        ),
        ({"nurture_roi": {"n_rows": "three"}}, None, "nurture_roi", ["nurture_roi.n_rows", "int"]),
        ({}, "lead_id,email\nL1,a@x\nL1,b@x\n", "ok", ["lead_id"]),
        (
            {},
            None,
            "ok,no_such_notebook",
            ["no_such_notebook", "available in", "ab_testing, answered, broken"],
        ),
        ({"nurture_roi": {"as_of": "2026-01-01"}}, None, "nurture_roi", ["as_of"]),
        ({}, None, "ok,../../victim", ["../../victim", "not a plain name"]),
        ({}, None, "nbs/ok", ["nbs/ok", "not a plain name"]),
        ({}, None, "ok.ipynb,o k", ["o k", "not a plain name"]),
    ],
    ids=[
        "unknown-param",
        "mistyped-param",
        "duplicate-lead-ids",
        "unknown-notebook",
        "reserved",
        "traversal",
        "subfolder",
        "space",
    ],
)
def test_refused_runs_exit_2_and_write_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sections: dict,
    leads: str | None,
    notebooks: str,
    expect: list[str],
) -> None:
    params = make_project(tmp_path / "p", sections, leads)
    monkeypatch.setenv(SECRET_VAR, secret_url(tmp_path / "p"))
    out = tmp_path / "outputs"
    code, stdout, stderr = run_cli(
        [
            "run",
            str(params),
            "--notebooks",
            notebooks,
            "--out",
            str(out),
            "--notebook-dir",
            str(params.parent / "nbs"),
        ]
    )
    assert code == 2
    for word in expect:
        assert word in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_missing_secret_variable_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = make_project(tmp_path / "p")
    monkeypatch.delenv(SECRET_VAR, raising=False)
    code, _, stderr = run_cli(
        [
            "run",
            str(params),
            "--notebooks",
            "ok",
            "--out",
            str(tmp_path / "o"),
            "--notebook-dir",
            str(params.parent / "nbs"),
        ]
    )
    assert code == 2 and SECRET_VAR in stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------
# real runs (Jupyter kernels): one successful, then one with a broken notebook, same OUT


@contextlib.contextmanager
def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A folder shared by the pytest-xdist workers of one session, held under a lock.

    The kernel runs below are made once per session even when ``pytest -n 2`` spreads the
    tests that read them over two workers (each worker would otherwise repeat the runs).
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session folder all workers share
    folder = base / name
    try:
        import fcntl
    except ImportError:  # no flock: each worker makes its own runs
        folder = tmp_path_factory.mktemp(name)
        yield folder
        return
    with (base / f"{name}.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            folder.mkdir(exist_ok=True)
            yield folder
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Runs:
    """The two kernel runs into one OUT folder: their (exit code, stdout, stderr)."""

    root: Path
    out: Path
    first: tuple[int, str, str]
    second: tuple[int, str, str]
    dirs: list[Path]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    with shared_folder(tmp_path_factory, "runner-runs") as root:
        done = root / "results.json"
        if not done.exists():
            params = make_project(root, {"nurture_roi": {"greeting": "from the params file"}})
            common = ["--out", str(root / "outputs"), "--notebook-dir", str(root / "nbs")]
            four = ",".join(config.NOTEBOOKS)
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv(SECRET_VAR, secret_url(root))
                mp.setenv(PG_VAR, PG_URL)
                mp.setenv("LEADNB_TEST_DIE_ONCE", str(root / "died-once.marker"))
                first = run_cli(["run", str(params), "--notebooks", f"{four},leaky,dies", *common])
                # the second run finds no 'leadnb' kernel: it runs on the runner's interpreter
                real = kernels.resolve_kernel
                mp.setattr(kernels, "resolve_kernel", lambda name: real("leadnb-no-such-kernel"))
                second = run_cli(
                    [
                        "run",
                        str(params),
                        "--notebooks",
                        "nurture_roi,broken",
                        "--jobs",
                        "2",
                        *common,
                    ]
                )
            done.write_text(json.dumps({"first": first, "second": second}))
        results = json.loads(done.read_text())
    out = root / "outputs"
    dirs = sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    return Runs(
        root=root,
        out=out,
        first=tuple(results["first"]),
        second=tuple(results["second"]),
        dirs=dirs,
    )


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.mark.slow
def test_successful_run_folder(runs: Runs) -> None:
    code, stdout, stderr = runs.first
    assert code == 0, stderr
    assert len(runs.dirs) == 2
    run_dir = runs.dirs[0]
    m = manifest_of(run_dir)
    assert m["status"] == "success" and m["as_of"] == "2026-06-30" and m["name"] == "test"
    assert m["run_id"] == run_dir.name and run_dir.name.endswith("-test-2026-06-30")
    assert [n["name"] for n in m["notebooks"]] == [*config.NOTEBOOKS, "leaky", "dies"]
    assert all(n["status"] == "success" and n["seconds"] > 0 for n in m["notebooks"])
    leads = next(i for i in m["inputs"] if i["table"] == "leads")
    assert leads["rows"] == 3 and len(leads["sha256"]) == 64
    assert {"pandas", "papermill", "nbconvert", "python"} <= set(m["packages"])
    assert m["params"]["data"]["costs"]["url_env"] == SECRET_VAR
    for name in ("nurture_roi", "leaky", "dies"):
        assert (run_dir / name / f"{name}.ipynb").is_file()
        assert (run_dir / name / f"{name}.html").is_file()
    metrics = json.loads((run_dir / "nurture_roi" / "metrics.json").read_text())
    assert metrics["greeting"] == "from the params file" and metrics["as_of"] == "2026-06-30"
    assert (run_dir / "nurture_roi" / "table.csv").is_file()
    index = (run_dir / "index.html").read_text()
    assert 'href="nurture_roi/nurture_roi.html"' in index and "12,345" in index
    assert f"Index: {run_dir / 'index.html'}" in stdout
    assert "[start] nurture_roi" in stderr and "[6/6]" in stderr
    assert m["kernel"] == "leadnb" and "kernel: leadnb" in stderr
    assert (runs.out / "latest").resolve() == run_dir.resolve()  # all four succeeded
    assert "fix" not in m["notebooks"][0] and (run_dir / "run.log").is_file()
    assert not (run_dir / ".owner").exists()


@pytest.mark.slow
def test_dead_kernel_retried_in_a_real_run(runs: Runs) -> None:
    m = manifest_of(runs.dirs[0])
    dies = next(n for n in m["notebooks"] if n["name"] == "dies")
    assert dies["attempts"] == 2 and dies["status"] == "success"
    assert "ok     dies (" in runs.first[2] and "s, 2 attempts)" in runs.first[2]
    assert "s, 2 attempts)" in (runs.dirs[0] / "run.log").read_text()


@pytest.mark.slow
def test_notebooks_get_only_their_parameters(runs: Runs) -> None:
    run_dir = runs.dirs[0]
    nb = nbformat.read(run_dir / "nurture_roi" / "nurture_roi.ipynb", as_version=4)
    pm = nb.metadata.papermill
    assert set(pm.parameters) == {"params_path", "as_of", "out_dir", "interactive", "greeting"}
    assert pm.parameters["out_dir"] == str(run_dir / "nurture_roi")  # final path, not .tmp-
    assert pm.parameters["params_path"] == str(runs.root / "params.yaml")
    assert pm.parameters["interactive"] is False
    assert pm.environment_variables == {}
    html = (run_dir / "nurture_roi" / "nurture_roi.html").read_text()
    assert "injected-parameters" not in html and "params_path" not in html
    assert "Fixture report that succeeds" in html


@pytest.mark.slow
def test_secret_never_written(runs: Runs) -> None:
    files = [p for p in runs.out.rglob("*") if p.is_file()]
    assert len(files) > 10
    # the tables handed to the notebooks (leadnb.data.cache) are never published
    assert not [p for p in runs.out.rglob("*") if p.name == ".tables" or p.suffix == ".arrow"]
    for path in files:
        assert SECRET_TOKEN.encode() not in path.read_bytes(), path
    forms = [
        PG_PASSWORD,
        urllib.parse.quote(PG_PASSWORD, safe=""),
        urllib.parse.quote(PG_PASSWORD),
        PG_PASSWORD.split("@", 1)[1],  # what a parser that splits at the first '@' prints
        f"analyst:{PG_PASSWORD}",
    ]
    printed = "".join(runs.first[1:] + runs.second[1:])
    for form in forms:
        assert form not in printed
        for path in files:
            assert form.encode() not in path.read_bytes(), (form, path)
    leaky = runs.dirs[0] / "leaky"
    assert f"[secret ${PG_VAR}]" in (leaky / "connection.csv").read_text()
    # the notebook did print the URL: it was masked, not absent
    assert f"[secret ${SECRET_VAR}]" in (leaky / "leaky.ipynb").read_text()
    assert f"[secret ${SECRET_VAR}]" in (leaky / "leaky.html").read_text()
    assert not (leaky / "blob.bin").exists()
    entry = next(n for n in manifest_of(runs.dirs[0])["notebooks"] if n["name"] == "leaky")
    assert entry["removed_for_secrets"] == ["blob.bin"]


@pytest.mark.slow
def test_broken_notebook_run(runs: Runs) -> None:
    code, stdout, stderr = runs.second
    assert code == 1
    good, bad = runs.dirs
    m = manifest_of(bad)
    assert m["status"] == "failed"
    status = {n["name"]: n for n in m["notebooks"]}
    assert status["nurture_roi"]["status"] == "success"
    assert status["broken"]["status"] == "failed"
    assert "fixture failure: the broken notebook" in status["broken"]["error"]
    assert status["broken"]["log"] == "run.log" and "leadnb validate" in status["broken"]["fix"]
    assert "fix" not in status["nurture_roi"]
    log = (bad / "run.log").read_text()
    assert "[start] broken" in log and "FAILED: broken" in log
    assert "Traceback" in log or "ValueError" in log.split("=== broken failed")[1]
    assert f"[secret ${PG_VAR}]" in log
    assert m["kernel"] == "own-interpreter" and "own-interpreter" in stderr  # no leadnb kernel
    page = (bad / "broken" / "broken.html").read_text()
    assert 'href="../run.log"' in page and "fixture failure" in page
    assert "raise ValueError" not in page  # no code, no traceback for stakeholders
    kept = nbformat.read(bad / "broken" / "broken.ipynb", as_version=4)
    assert "papermill-error-cell-tag" in kept.cells[0].metadata.get("tags", [])
    assert (bad / "broken" / "partial.csv").is_file() and (bad / "broken" / "broken.html").is_file()
    assert (bad / "nurture_roi" / "metrics.json").is_file()
    assert "FAILED" in stderr and "broken" in stderr
    # latest still points at the successful run; the outputs index lists both, newest first
    assert os.readlink(runs.out / "latest") == good.name
    assert (runs.out / "latest" / "index.html").is_file()
    index = (runs.out / "index.html").read_text()
    assert index.index(bad.name) < index.rindex(good.name)
    assert not [p for p in runs.out.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.slow
def test_two_runs_at_once(tmp_path: Path) -> None:
    params = make_project(tmp_path / "p")
    out = tmp_path / "outputs"
    env = {**os.environ, SECRET_VAR: secret_url(tmp_path / "p")}
    cmd = [
        sys.executable,
        "-m",
        "leadnb",
        "run",
        str(params),
        "--notebooks",
        "ok",
        "--out",
        str(out),
        "--notebook-dir",
        str(params.parent / "nbs"),
    ]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    dirs = sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(dirs) == 2 and dirs[0].name != dirs[1].name
    for d in dirs:
        m = manifest_of(d)
        assert m["status"] == "success" and m["run_id"] == d.name
        assert (d / "ok" / "metrics.json").is_file() and (d / "ok" / "ok.html").is_file()
    index = (out / "index.html").read_text()
    assert all(d.name in index for d in dirs)
    assert not (out / "latest").exists()  # runs of one notebook never take latest
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".latest"))]


def test_a_runs_kernels_keep_no_ipython_history(demo_run):
    """IPython's history database is for people typing: a run's kernels keep none (before, every
    cell of every run went into the user's IPython history, 230 kB per demo run, written by a
    thread of each kernel beside its cells)."""
    ipython = demo_run.parent.parent / "ipython"  # the session run's IPYTHONDIR (conftest)
    assert (ipython / "profile_default").is_dir()  # its kernels did use this folder
    assert not list(ipython.rglob("history.sqlite"))
