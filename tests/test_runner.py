"""``leadnb run``: validation before anything runs, the run folder, secrets, latest, concurrency.

Fast unit tests first; the tests that start Jupyter kernels (marked ``slow``) share two runs made
once per module, on fixture notebooks from tests/fixtures/notebooks and a tiny project written
into a temporary folder (never the demo data or the real notebooks).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pytest
import yaml

from leadnb.data import params as config
from leadnb.errors import ParamsError
from leadnb.run import cli, runner

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
# parameter checks against what a notebook declares


@pytest.mark.parametrize(
    ("value", "annotation", "ok"),
    [
        (3, "int", True),
        (True, "int", False),
        ("3", "int", False),
        (3, "float", True),
        (0.5, "float", True),
        ("a", "str", True),
        (None, "str | None", True),
        (None, "Optional[str]", True),
        (None, "str", False),
        (["a"], "list[str]", True),
        ("a", "list[str]", False),
        ({"a": 1}, "dict[str, int]", True),
        (False, "bool", True),
        (0, "bool", False),
        ("anything", "None", True),  # not annotated
        ("anything", "pd.Timestamp", True),  # an annotation we do not model
    ],
)
def test_type_ok(value: Any, annotation: str, ok: bool) -> None:
    assert runner._type_ok(value, annotation) is ok


def test_declared_parameters_of_fixture() -> None:
    declared = runner.declared_parameters(FIXTURES / "ok.ipynb")
    assert list(declared) == [*runner.STANDARD_PARAMETERS, "greeting", "n_rows"]
    assert declared["n_rows"]["inferred_type_name"] == "int"


def test_unknown_parameter_names_notebook_key_and_declared() -> None:
    with pytest.raises(ParamsError) as err:
        runner.check_notebook_parameters(
            FIXTURES / "ok.ipynb", {"greetng": "hi"}, params_file="p.yaml"
        )
    text = str(err.value)
    assert "ok" in text and "greetng" in text and "greeting, n_rows" in text
    assert "did you mean greeting" in text
    assert err.value.exit_code == 2


def test_mistyped_parameter() -> None:
    with pytest.raises(ParamsError, match=r"ok\.n_rows must be int, got 'three'"):
        runner.check_notebook_parameters(FIXTURES / "ok.ipynb", {"n_rows": "three"})


def test_reserved_parameter_cannot_come_from_section() -> None:
    with pytest.raises(ParamsError, match="leadnb run sets it"):
        runner.check_notebook_parameters(FIXTURES / "ok.ipynb", {"as_of": "2026-01-01"})


def test_notebook_without_standard_parameters(tmp_path: Path) -> None:
    nb = nbformat.read(FIXTURES / "ok.ipynb", as_version=4)
    nb.cells[1].source = 'params_path: str = ""  # params\nas_of: str = ""  # date'
    nbformat.write(nb, tmp_path / "partial.ipynb")
    with pytest.raises(ParamsError, match="out_dir, interactive"):
        runner.check_notebook_parameters(tmp_path / "partial.ipynb", {})
    nb.cells[1].metadata.tags = []
    nbformat.write(nb, tmp_path / "untagged.ipynb")
    with pytest.raises(ParamsError, match="no cell tagged 'parameters'"):
        runner.check_notebook_parameters(tmp_path / "untagged.ipynb", {})


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
            ["no_such_notebook", "available in", "ab_testing, broken"],
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
# secrets


def params_with_env(var: str) -> Any:
    return SimpleNamespace(
        data={"costs": SimpleNamespace(url_env=var), "leads": SimpleNamespace(url_env=None)}
    )


def test_collect_secrets_and_mask_text() -> None:
    url = "postgresql+psycopg://analyst:S3cretPassw0rd@db.internal:5432/crm"
    found = runner.collect_secrets(params_with_env("DB"), {"DB": url})
    assert [s.value for s in found] == [
        url,
        "analyst%3AS3cretPassw0rd",
        "analyst:S3cretPassw0rd",
        "S3cretPassw0rd",
    ]
    assert [s.mask for s in found] == ["[secret $DB]", "***", "***", "***"]
    text = f"failed to connect to {url}; password S3cretPassw0rd rejected"
    masked = runner.mask_text(text, found)
    assert "S3cretPassw0rd" not in masked and url not in masked
    assert "[secret $DB]" in masked
    assert runner.collect_secrets(params_with_env("DB"), {}) == ()


def test_mask_text_masks_any_url_password() -> None:
    assert runner.mask_text("see mysql://bob:hunter22@host/db", ()) == "see mysql://***@host/db"
    for url, masked in [
        ("'postgresql+psycopg2://u:p4ss@h:5432/d'", "'postgresql+psycopg2://***@h:5432/d'"),
        ('"url": "mssql+pyodbc://sa:Pw.1@srv/db"', '"url": "mssql+pyodbc://***@srv/db"'),
        ("(xhttps://a:b@c)", "(xhttps://***@c)"),
        (
            "\x1b[30;43mpostgresql+psycopg2://an:Sup3r@db/crm",
            "\x1b[30;43mpostgresql+psycopg2://***@db/crm",
        ),
        ("1postgresql://u:pw@h", "1postgresql://***@h"),
        ("+mysql://u:pw@h", "+mysql://***@h"),
        ("no password https://host/path:8@x", "no password https://host/path:8@x"),
        ("a profile https://medium.com/@name", "a profile https://medium.com/@name"),
        # a password with unencoded '@', ':' and '/': everything up to the LAST '@' goes
        ("pg postgresql://user:p@ss:w0rd/x@y@host:5432/db", "pg postgresql://***@host:5432/db"),
        ("redis://:tok3n@cache:6379/0", "redis://***@cache:6379/0"),
    ]:
        assert runner.mask_text(url, ()) == masked


def test_mask_text_leaves_base64_and_plain_links_alone() -> None:
    blob = "iVBORw0KGgoAAAANSUhEUgAA+/9k" * 20_000  # an embedded image, half a megabyte
    text = f'<img src="data:image/png;base64,{blob}"> <a href="https://example.com/a:b">x</a>'
    assert runner.mask_text(text, ()) == text
    assert runner.mask_text(blob + " postgresql://u:pw@h", ()) == blob + " postgresql://***@h"


def test_mask_value_handles_nested_and_dates() -> None:
    secrets = (runner.Secret("tok3n-value", "***"),)
    value = {"a": ["x tok3n-value y", dt.date(2026, 6, 30)], "b": 1}
    assert runner.mask_value(value, secrets) == {"a": ["x *** y", "2026-06-30"], "b": 1}


def test_scrub_folder(tmp_path: Path) -> None:
    secrets = (runner.Secret("tok3n-value", "[secret $X]"),)
    (tmp_path / "a.csv").write_text("url\ntok3n-value\n/tmp/.tmp-run/x\n")
    (tmp_path / "leak.bin").write_bytes(b"\x00tok3n-value\xff")
    (tmp_path / "fine.png").write_bytes(b"\x89PNG\x00\x01")
    removed = runner.scrub_folder(tmp_path, secrets, [("/tmp/.tmp-run", "/tmp/run")])
    assert removed == ["leak.bin"]
    assert (tmp_path / "a.csv").read_text() == "url\n[secret $X]\n/tmp/run/x\n"
    assert (tmp_path / "fine.png").exists()


# --------------------------------------------------------------------------------------------
# run folder pieces


def test_reserve_run_dir_never_reuses_an_id(tmp_path: Path) -> None:
    now = dt.datetime(2026, 7, 1, 2, 0, 0)
    a, tmp_a = runner.reserve_run_dir(tmp_path, "demo run", "2026-06-30", now)
    b, tmp_b = runner.reserve_run_dir(tmp_path, "demo run", "2026-06-30", now)
    assert a == "20260701-020000-demo-run-2026-06-30"
    assert b.startswith(a + "-") and len(b) == len(a) + 5
    assert tmp_a.name == f".tmp-{a}" and tmp_b.name == f".tmp-{b}"
    tmp_a.rename(tmp_path / a)  # published
    c, _ = runner.reserve_run_dir(tmp_path, "demo run", "2026-06-30", now)
    assert c not in (a, b)


def test_task_json_roundtrip(tmp_path: Path) -> None:
    task = runner.NotebookTask(
        name="ok",
        input_path=tmp_path / "ok.ipynb",
        run_dir=tmp_path / ".tmp-x",
        parameters={"as_of": "2026-06-30", "interactive": False, "n": [1, 2]},
        cwd=tmp_path,
        secrets=(runner.Secret("v4lue", "***"),),
        final_run_dir=tmp_path / "x",
    )
    assert runner.task_from_json(runner.task_to_json(task)) == task


def fake_task(tmp_path: Path, name: str = "nb") -> runner.NotebookTask:
    return runner.NotebookTask(
        name=name,
        input_path=tmp_path / f"{name}.ipynb",
        run_dir=tmp_path,
        parameters={},
        cwd=tmp_path,
    )


def test_dead_kernel_is_retried_once(tmp_path: Path) -> None:
    from nbclient.exceptions import DeadKernelError

    calls: list[int] = []

    def execute(task: runner.NotebookTask, output: Path) -> None:
        calls.append(1)
        if len(calls) == 1:
            (task.out_dir / "half.csv").write_text("x\n")
            raise DeadKernelError("Kernel died")
        (task.out_dir / "done.csv").write_text("x\n")

    res = runner.execute_task(fake_task(tmp_path), execute)
    assert res.status == "success" and res.attempts == 2 and res.error is None
    assert res.tables == ["done.csv"]  # the first attempt's files are gone


def test_dead_kernel_twice_fails(tmp_path: Path) -> None:
    from nbclient.exceptions import DeadKernelError

    def execute(task: runner.NotebookTask, output: Path) -> None:
        raise DeadKernelError("Kernel died")

    res = runner.execute_task(fake_task(tmp_path), execute)
    assert res.status == "failed" and res.attempts == 2
    assert "kernel died" in res.error and "2 attempts" in res.error


def test_notebook_error_is_not_retried(tmp_path: Path) -> None:
    calls: list[int] = []

    def execute(task: runner.NotebookTask, output: Path) -> None:
        calls.append(1)
        raise ValueError("bad input")

    res = runner.execute_task(fake_task(tmp_path), execute)
    assert res.status == "failed" and res.attempts == 1 and calls == [1]
    assert res.error == "ValueError: bad input"


def test_fail_fast_skips_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def execute_task(task: runner.NotebookTask) -> runner.NotebookResult:
        ran.append(task.name)
        return runner.NotebookResult(task.name, "failed" if task.name == "a" else "success")

    monkeypatch.setattr(runner, "execute_task", execute_task)
    tasks = [fake_task(tmp_path, n) for n in ("a", "b", "c")]
    with contextlib.redirect_stderr(io.StringIO()):
        res = runner.execute_all(tasks, fail_fast=True)
        assert [r.status for r in res.values()] == ["failed", "skipped", "skipped"]
        assert ran == ["a"]
        res = runner.execute_all(tasks, fail_fast=False)
    assert [r.status for r in res.values()] == ["failed", "success", "success"]


def publish_fake_run(out: Path, run_id: str, started: str, as_of: str = "2026-06-30") -> dict:
    (out / run_id).mkdir(parents=True)
    m = {
        "run_id": run_id,
        "started_at": started,
        "status": "success",
        "as_of": as_of,
        "notebooks": [],
    }
    (out / run_id / "manifest.json").write_text(json.dumps(m))
    return m


def test_latest_never_moves_back_to_an_older_run(tmp_path: Path) -> None:
    new = publish_fake_run(tmp_path, "new", "2026-07-02T02:00:00")
    old = publish_fake_run(tmp_path, "old", "2026-07-01T02:00:00")
    assert runner._publish_indexes(tmp_path, new, move=True)
    assert not runner._publish_indexes(tmp_path, old, move=True)  # finished later, started earlier
    assert runner.latest_run_id(tmp_path) == "new"
    assert os.readlink(tmp_path / "latest") == "new"
    assert 'href="latest/index.html"' in (tmp_path / "index.html").read_text()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".latest")]
    assert leftovers == []


def test_backfill_does_not_take_latest(tmp_path: Path) -> None:
    june = publish_fake_run(tmp_path, "june", "2026-07-01T02:00:00", as_of="2026-06-30")
    march = publish_fake_run(tmp_path, "march", "2026-07-01T03:00:00", as_of="2026-03-31")
    july = publish_fake_run(tmp_path, "july", "2026-08-01T02:00:00", as_of="2026-07-31")
    assert runner._publish_indexes(tmp_path, june, move=True)
    assert not runner._publish_indexes(tmp_path, march, move=True)  # backfill: started later
    assert runner.latest_run_id(tmp_path) == "june"
    assert runner._publish_indexes(tmp_path, july, move=True)
    assert runner.latest_run_id(tmp_path) == "july"
    page = (tmp_path / "index.html").read_text()
    assert all(name in page for name in ("june", "march", "july"))


def test_move_latest_falls_back_to_a_text_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_symlinks(*args: Any, **kwargs: Any) -> None:
        raise OSError("symlinks not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    runner.move_latest(tmp_path, "run-1")
    assert (tmp_path / "latest").read_text().strip() == "run-1"
    assert runner.latest_run_id(tmp_path) == "run-1"
    assert "url=run-1/index.html" in (tmp_path / "latest.html").read_text()


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


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
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
                real = runner.resolve_kernel
                mp.setattr(runner, "resolve_kernel", lambda name: real("leadnb-no-such-kernel"))
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
    return SimpleNamespace(
        root=root,
        out=out,
        first=tuple(results["first"]),
        second=tuple(results["second"]),
        dirs=dirs,
    )


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.mark.slow
def test_successful_run_folder(runs: SimpleNamespace) -> None:
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
def test_dead_kernel_retried_in_a_real_run(runs: SimpleNamespace) -> None:
    m = manifest_of(runs.dirs[0])
    dies = next(n for n in m["notebooks"] if n["name"] == "dies")
    assert dies["attempts"] == 2 and dies["status"] == "success"
    assert "ok     dies (" in runs.first[2] and "s, 2 attempts)" in runs.first[2]
    assert "s, 2 attempts)" in (runs.dirs[0] / "run.log").read_text()


@pytest.mark.slow
def test_notebooks_get_only_their_parameters(runs: SimpleNamespace) -> None:
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
def test_secret_never_written(runs: SimpleNamespace) -> None:
    files = [p for p in runs.out.rglob("*") if p.is_file()]
    assert len(files) > 10
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
def test_broken_notebook_run(runs: SimpleNamespace) -> None:
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


def _engine_run(tmp_path: Path, sources: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Run a small notebook with leadnb's Papermill engine; count the output file's writes."""
    import papermill
    import papermill.engines

    writes: list[str] = []
    real = papermill.engines.write_ipynb

    def counting(nb: Any, path: str) -> None:
        writes.append(path)
        real(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counting)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    task = runner.NotebookTask("t", src, tmp_path, {}, tmp_path)
    err = None
    try:
        runner._papermill_execute(task, out)  # as a run does
    except Exception as exc:  # the failing cases
        err = exc
    return writes, nbformat.read(out, as_version=4) if out.exists() else None, err


@pytest.mark.slow
def test_engine_writes_the_notebook_once_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    writes, nb, err = _engine_run(tmp_path, ["x = 1", "print(x + 1)", "x * 3"], monkeypatch)
    assert "without encryption" not in capfd.readouterr().err  # the kernel's warning is off
    assert err is None and len(writes) == 1  # Papermill's own engine: 8 writes for 3 cells
    assert nb.cells[1].outputs[0]["text"] == "2\n"
    assert nb.metadata.papermill["duration"] > 0
    assert all(c.metadata.papermill["status"] == "completed" for c in nb.cells)


@pytest.mark.slow
def test_engine_writes_the_partial_notebook_when_the_kernel_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = ["print('before')", "import os\nos._exit(1)", "print('never')"]
    writes, nb, err = _engine_run(tmp_path, cells, monkeypatch)
    assert err is not None and "DeadKernel" in type(err).__name__
    assert len(writes) == 1
    assert nb.cells[0].outputs[0]["text"] == "before\n" and not nb.cells[2].outputs


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
