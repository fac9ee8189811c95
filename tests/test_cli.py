"""The ``leadnb`` command: argument parsing, dispatch and exit codes (0, 1, 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadnb.errors import DataError, Report
from leadnb.run import cli, runner


def test_help_runs_as_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leadnb", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for command in ("sample", "validate", "run"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["run"],
        ["run", "p.yaml", "--as-of", "30/06/2026"],
        ["run", "p.yaml", "--jobs", "0"],
        ["sample"],
        ["sample", "--out", "d", "--format", "xlsx"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: leadnb" in capsys.readouterr().err


def test_run_passes_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    seen: dict[str, Any] = {}

    def fake_run(params: Path, **kwargs: Any) -> runner.RunResult:
        seen.update(params=params, **kwargs)
        run_dir = tmp_path / "out" / "rid"
        return runner.RunResult("rid", run_dir, "success", 0, run_dir / "index.html", [], True)

    monkeypatch.setattr(runner, "run", fake_run)
    code = cli.main(
        [
            "run",
            "p.yaml",
            "--notebooks",
            "a, b,",
            "--out",
            str(tmp_path / "out"),
            "--as-of",
            "2026-03-31",
            "--jobs",
            "2",
            "--fail-fast",
            "--notebook-dir",
            "nbs",
            "--pdf",
        ]
    )
    assert code == 0
    assert seen == {
        "params": Path("p.yaml"),
        "notebooks": ["a", "b"],
        "out": tmp_path / "out",
        "as_of": "2026-03-31",
        "jobs": 2,
        "fail_fast": True,
        "notebook_dir": Path("nbs"),
        "pdf": True,
    }
    out = capsys.readouterr().out
    assert f"Index: {tmp_path / 'out' / 'rid' / 'index.html'}" in out
    assert f"Latest: {tmp_path / 'out' / 'latest' / 'index.html'}" in out


def test_run_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def fake_run(params: Path, **kwargs: Any) -> runner.RunResult:
        seen.update(kwargs)
        return runner.RunResult("r", tmp_path, "failed", 1, tmp_path / "index.html", [], False)

    monkeypatch.setattr(runner, "run", fake_run)
    assert cli.main(["run", "p.yaml"]) == 1  # a failed notebook: exit 1
    assert seen == {
        "notebooks": None,
        "out": Path("outputs"),
        "as_of": None,
        "jobs": 1,
        "fail_fast": False,
        "notebook_dir": None,
        "pdf": False,
    }


def test_pdf_flag_is_documented_and_pdfs_are_counted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert "--pdf" in helptext and "LEADNB_CHROMIUM" in helptext and "Chromium" in helptext

    def fake_run(params: Path, **kwargs: Any) -> runner.RunResult:
        pdfs = [tmp_path / "a" / "a.pdf", tmp_path / "b" / "b.pdf"]
        return runner.RunResult("r", tmp_path, "success", 0, tmp_path / "i.html", [], False, pdfs)

    monkeypatch.setattr(runner, "run", fake_run)
    assert cli.main(["run", "p.yaml", "--pdf"]) == 0
    assert "PDFs: 2 written next to the reports" in capsys.readouterr().out


def test_leadnb_error_is_printed_without_traceback(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def fake_run(params: Path, **kwargs: Any) -> None:
        raise DataError("2 duplicate lead_id values", table="leads", fix="remove duplicates")

    monkeypatch.setattr(runner, "run", fake_run)
    assert cli.main(["run", "p.yaml"]) == 2
    err = capsys.readouterr().err
    assert "duplicate lead_id" in err and "fix: remove duplicates" in err
    assert "Traceback" not in err


def fake_validation(
    monkeypatch: pytest.MonkeyPatch,
    report: Report,
    params: object,
    seen: dict[str, Any] | None = None,
) -> None:
    """Replace the two functions ``leadnb validate`` calls on the real validation module."""
    from leadnb.data import validation

    def validate_params_file(path: Path, *, as_of: str | None = None) -> tuple:
        if seen is not None:
            seen.update(path=path, as_of=as_of)
        return report, params, {}

    monkeypatch.setattr(validation, "validate_params_file", validate_params_file)
    monkeypatch.setattr(
        validation, "format_report", lambda r: f"REPORT with {len(r.errors)} error(s)"
    )


def test_validate_exit_codes(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    clean = Report()
    clean.warn("a placeholder value was read as missing")
    fake_validation(monkeypatch, clean, object())
    assert cli.main(["validate", "p.yaml"]) == 0
    assert "REPORT with 0 error(s)" in capsys.readouterr().out

    bad = Report()
    bad.error("column lead_id is missing", table="leads")
    seen: dict[str, Any] = {}
    fake_validation(monkeypatch, bad, None, seen)
    assert cli.main(["validate", "p.yaml", "--as-of", "2026-06-30"]) == 2
    assert "REPORT with 1 error(s)" in capsys.readouterr().out
    assert seen == {"path": Path("p.yaml"), "as_of": "2026-06-30"}


def test_validate_prints_the_real_report(tmp_path: Path, capsys) -> None:
    (tmp_path / "leads.csv").write_text("lead_id,email\nL1,a@x\nL1,b@x\n")
    (tmp_path / "p.yaml").write_text(
        "run: {name: t, as_of: 2026-06-30}\ndata: {leads: {source: leads.csv}}\n"
    )
    assert cli.main(["validate", str(tmp_path / "p.yaml")]) == 2
    assert "lead_id" in capsys.readouterr().out


@pytest.mark.parametrize(
    "exc",
    [
        NotADirectoryError(20, "Not a directory", "/data/somefile/sub"),
        PermissionError(13, "Permission denied", "/srv/outputs/.tmp-x"),
        OSError(36, "File name too long", "/srv/" + "o" * 300),
    ],
)
def test_os_error_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch, capsys, exc: OSError) -> None:
    def fake_run(params: Path, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(runner, "run", fake_run)
    assert cli.main(["run", "p.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ERROR: ") and exc.strerror in err
    assert exc.filename in err and "Traceback" not in err


def test_printed_errors_mask_environment_url_passwords(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("LEADNB_TEST_CLI_URL", "postgresql://me:p@ss:w0rd/x@yQ7@db:5432/crm")

    def fake_run(params: Path, **kwargs: Any) -> None:
        raise DataError(
            "could not connect: user 'me' password 'p@ss:w0rd/x@yQ7' host 'ss:w0rd/x@yQ7@db'",
            fix="check postgresql://me:p@ss:w0rd/x@yQ7@db:5432/crm",
        )

    monkeypatch.setattr(runner, "run", fake_run)
    assert cli.main(["run", "p.yaml"]) == 2
    err = capsys.readouterr().err
    assert "w0rd" not in err and "could not connect" in err


def test_sample_calls_write_sample(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    from leadnb.data import demo

    seen: dict[str, Any] = {}

    def write_sample(out: Path, **kwargs: Any) -> dict[str, Path]:
        seen.update(out=out, **kwargs)
        return {"leads": out / "leads.csv"}

    monkeypatch.setattr(demo, "write_sample", write_sample)
    code = cli.main(
        ["sample", "--out", str(tmp_path), "--leads", "500", "--seed", "3", "--format", "parquet"]
    )
    assert code == 0
    assert seen == {"out": tmp_path, "n_leads": 500, "seed": 3, "fmt": "parquet"}
    assert str(tmp_path / "leads.csv") in capsys.readouterr().out


def test_sample_defaults_come_from_the_sample_module(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from leadnb.data import demo

    seen: dict[str, Any] = {}
    monkeypatch.setattr(demo, "write_sample", lambda out, **kw: seen.update(kw))
    assert cli.main(["sample", "--out", str(tmp_path)]) == 0
    assert seen == {"fmt": "csv"}


def test_sigterm_ends_a_run_as_ctrl_c_does(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import os
    import signal
    import time

    def fake_run(params: Path, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("not interrupted")

    monkeypatch.setattr(runner, "run", fake_run)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert cli.main(["run", "p.yaml"]) == 130
    assert "interrupted" in capsys.readouterr().err
    # restored after the run
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.parametrize("first, second", [("SIGINT", "SIGINT"), ("SIGINT", "SIGTERM")])
def test_a_second_signal_while_the_run_ends_is_ignored(
    monkeypatch: pytest.MonkeyPatch, capsys, first: str, second: str
) -> None:
    """Ctrl-C pressed twice, or a scheduler's SIGTERM after the terminal's SIGINT: the run's
    ending (its workers stopped, its folder removed) is not cut short, and the exit is 130."""
    import os
    import signal
    import time

    ended: list[str] = []

    def fake_run(params: Path, **kwargs: Any) -> None:
        try:
            os.kill(os.getpid(), getattr(signal, first))
            time.sleep(5)  # the handler interrupts this
        finally:  # the run's ending, during which the second signal comes
            os.kill(os.getpid(), getattr(signal, second))
            time.sleep(0.05)  # the handler runs here, and returns
            ended.append("ended")

    monkeypatch.setattr(runner, "run", fake_run)
    assert cli.main(["run", "p.yaml"]) == 130
    assert ended == ["ended"] and "interrupted" in capsys.readouterr().err


def test_other_commands_leave_ctrl_c_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from leadnb.data import validation

    seen: list[object] = []

    def fake_validate(params: Path, as_of: str | None = None) -> tuple[Any, Any, Any]:
        seen.append(signal.getsignal(signal.SIGINT))
        raise KeyboardInterrupt

    monkeypatch.setattr(validation, "validate_params_file", fake_validate)
    assert cli.main(["validate", "p.yaml"]) == 130
    assert seen == [signal.default_int_handler]


def test_entry_exits_130_however_many_signals_come(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The console script: the first signal ends the run; the ones during its ending and after
    the command has returned (the interpreter ending) are ignored, so the exit code is 130."""
    import os
    import signal
    import time

    def fake_run(params: Path, **kwargs: Any) -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler interrupts this
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)

    def exit_now(code: int) -> None:  # os._exit, here, would end the tests
        raise SystemExit(code)

    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr("sys.argv", ["leadnb", "run", "p.yaml"])
    monkeypatch.setattr(cli, "_exit_now", exit_now)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.entry()
        assert exit_.value.code == 130 and "interrupted" in capsys.readouterr().err
        assert {signal.getsignal(s) for s in before} == {signal.SIG_IGN}  # until the end
        os.kill(os.getpid(), signal.SIGINT)  # the interpreter ending: nothing happens
        time.sleep(0.05)
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def test_exit_now_is_the_interpreters_exit_without_its_teardown(tmp_path: Path) -> None:
    """What the interpreter's exit does and a run relies on still happens: threads that are
    not daemons finish, atexit functions run, buffered output is written; the exit code."""
    import subprocess
    import sys

    script = f"""
import atexit, sys, threading, time
from pathlib import Path
from leadnb.run import cli
folder = Path({str(tmp_path)!r})
atexit.register(lambda: (folder / "atexit").write_text("ran"))
def late():
    time.sleep(0.2)
    (folder / "thread").write_text("done")
threading.Thread(target=late).start()
sys.stdout.write("no newline, still buffered")
cli._exit_now(7)
raise AssertionError("not reached")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "no newline, still buffered"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "done"


INTERRUPTED_IMPORT = """
import os, pathlib, sys, tempfile, time
from leadnb.run.cli import _EndOnce, _importing

_EndOnce().install()
assert not _importing(sys._getframe())
folder = tempfile.mkdtemp()
pathlib.Path(folder, "slow_module.py").write_text(
    "import os, signal, sys, time\\n"
    "from leadnb.run.cli import _importing\\n"
    "INSIDE = _importing(sys._getframe())\\n"
    "os.kill(os.getpid(), signal.SIGINT)\\n"
    "start = time.monotonic()\\n"
    "while time.monotonic() - start < 0.3:\\n"
    "    pass\\n"
)
sys.path.insert(0, folder)
try:
    import slow_module
    time.sleep(10)
    landed = "never"
except KeyboardInterrupt:
    landed = "after the import" if "slow_module" in sys.modules else "inside it"
print(landed, getattr(sys.modules.get("slow_module"), "INSIDE", None))
"""


def test_an_interrupt_lands_after_the_import_it_arrived_in() -> None:
    """A Ctrl-C that arrives while the runner's main thread imports a module is delivered again
    until the import is over: raised inside it, it could leave a module lock held that another
    thread importing the same library waits for forever (a run that never ended)."""
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "after the import True", done.stdout + done.stderr
