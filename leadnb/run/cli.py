"""The ``leadnb`` command: ``sample``, ``validate`` and ``run`` (CONTRACT.md section 1).

Design: argparse only parses and dispatches; each command calls one library function
(:func:`leadnb.data.demo.write_sample`, :func:`leadnb.data.validation.validate_params_file`,
:func:`leadnb.run.runner.run`), imported when the command runs so ``leadnb --help`` stays fast.
Exit codes: 0 success, 1 a notebook failed (outputs kept), 2 bad usage or bad parameters/data
found before anything ran. A :class:`~leadnb.errors.LeadnbError` is printed as its readable
message on stderr, without a traceback, and its ``exit_code`` is returned; an ``OSError`` (an
``--out`` under a file, a folder that cannot be written, a name too long) is one line, exit 2.
Everything printed has URL passwords from the environment masked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from leadnb.errors import LeadnbError
from leadnb.parallel import keep_freed_memory


def _as_of(text: str) -> str:
    """argparse type for --as-of: a YYYY-MM-DD date, returned as that string."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date written YYYY-MM-DD, got {text!r}"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``leadnb`` command (CONTRACT.md section 1).

    Returns
    -------
    argparse.ArgumentParser
        With the subcommands ``sample``, ``validate`` and ``run``; bad usage exits 2.

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "p.yaml", "--jobs", "2", "--as-of", "2026-3-31"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    >>> args = build_parser().parse_args(["run", "p.yaml", "--jobs", "2", "--as-of", "2026-03-31"])
    >>> args.command, args.jobs, args.as_of, args.notebooks, args.pdf
    ('run', 2, '2026-03-31', None, False)
    """
    parser = argparse.ArgumentParser(
        prog="leadnb",
        description="Lead scoring calibration, cohort conversion, nurture ROI and A/B test "
        "notebooks: make demo data, check a params file, run the notebooks into a report folder.",
    )
    from leadnb import __version__

    parser.add_argument("--version", action="version", version=f"leadnb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", help="write the synthetic demo dataset and a params file for it")
    p.add_argument("--out", required=True, type=Path, help="folder to write the tables into")
    p.add_argument("--leads", type=_positive_int, default=None, help="number of leads (20000)")
    p.add_argument("--seed", type=int, default=None, help="random seed (42)")
    p.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        dest="fmt",
        help="file format of the main tables (csv)",
    )

    p = sub.add_parser("validate", help="check a params file and every table it configures")
    p.add_argument("params", type=Path, help="params YAML file")
    p.add_argument("--as-of", type=_as_of, default=None, help="analysis date YYYY-MM-DD")

    p = sub.add_parser("run", help="execute the notebooks into a new run folder with HTML reports")
    p.add_argument("params", type=Path, help="params YAML file")
    p.add_argument(
        "--notebooks",
        default=None,
        help="comma-separated notebook names (default: all four)",
    )
    p.add_argument("--out", type=Path, default=Path("outputs"), help="output root (outputs/)")
    p.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        help="analysis date YYYY-MM-DD (default: run.as_of of the params file); for backfills",
    )
    p.add_argument("--jobs", type=_positive_int, default=1, help="notebooks run in parallel (1)")
    p.add_argument(
        "--fail-fast", action="store_true", help="stop starting notebooks after the first failure"
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to <notebook>.pdf beside its HTML with headless Chromium "
        "(chromium, chromium-browser or google-chrome on PATH, or the LEADNB_CHROMIUM "
        "environment variable); skipped with a message when none is found",
    )
    p.add_argument(
        "--notebook-dir",
        type=Path,
        default=None,
        help="folder of the .ipynb files (default: the notebooks/ folder of the leadnb checkout)",
    )
    return parser


def cmd_sample(args: argparse.Namespace) -> int:
    """``leadnb sample``: write the demo dataset (:func:`leadnb.data.demo.write_sample`); 0."""
    from leadnb.data.demo import write_sample

    options = {"n_leads": args.leads, "seed": args.seed}
    kwargs = {k: v for k, v in options.items() if v is not None}
    written = write_sample(args.out, fmt=args.fmt, **kwargs)
    print(f"Demo data written to {args.out}")
    if isinstance(written, dict | list | tuple):
        items = written.values() if isinstance(written, dict) else written
        for path in items:
            print(f"  {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``leadnb validate``: print the report of
    :func:`leadnb.data.validation.validate_params_file`; 0 when clean, 2 on errors."""
    from leadnb.data.validation import format_report, validate_params_file

    report, _params, _tables = validate_params_file(args.params, as_of=args.as_of)
    print(_masked(format_report(report)))
    return 2 if report.errors else 0


class _EndOnce:
    """The run's SIGINT and SIGTERM handler: the first signal raises ``KeyboardInterrupt``,
    which ends the run (workers and kernels stopped, temporary folder removed, exit 130); a
    later one, while that ending runs, is ignored, so the ending completes and the exit code
    stays 130 (a second Ctrl-C, a scheduler's SIGTERM after the terminal's SIGINT). The ending
    is bounded: a worker that has not ended 10 seconds after its SIGTERM is killed.

    Never inside an import: a signal that finds the main thread in Python's import machinery
    (the plan imports Papermill while the preload thread imports it too) is delivered again
    :data:`RETRY_SECONDS` later, until the main thread is out of it, by a helper thread: the
    handler only writes to a pipe (no lock taken, no thread started: the main thread may hold
    the import lock). Raised there, a ``KeyboardInterrupt`` can be swallowed by a module lock's
    weakref callback with the global import lock still held: the other importing thread then
    waited forever (the run hung, nothing printed: 2 of 100 runs interrupted in their first 3
    seconds), or the run went on to the end (exit 0), every later signal ignored."""

    RETRY_SECONDS = 0.05

    def __init__(self) -> None:
        self.ending = False
        self._pending: int | None = None
        self._pipe: tuple[int, int] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.ending:
            return
        if _importing(frame) and self._pipe is not None:
            # no lock taken, no thread started here: the main thread may hold the import lock
            self._pending = signum
            with contextlib.suppress(OSError):
                os.write(self._pipe[1], b"!")
            return
        self.ending = True
        raise KeyboardInterrupt

    def _deliver_again(self, read_fd: int, main: int) -> None:
        """The helper thread: each time the handler asks, the pending signal to the main
        thread again after :data:`RETRY_SECONDS`; ends when :meth:`close` closes the pipe."""
        while True:
            try:
                if not os.read(read_fd, 64):
                    break
            except OSError:
                break
            time.sleep(self.RETRY_SECONDS)
            signum = self._pending
            if signum is not None and not self.ending:
                with contextlib.suppress(OSError, ValueError):
                    signal.pthread_kill(main, signum)
        with contextlib.suppress(OSError):
            os.close(read_fd)

    def install(self) -> dict[int, Any]:
        """Handle SIGINT and SIGTERM from now on; the handlers it replaced, by signal."""
        if self._pipe is None:
            self._pipe = os.pipe()
            main = threading.main_thread().ident or 0
            threading.Thread(
                target=self._deliver_again,
                args=(self._pipe[0], main),
                name="leadnb-interrupts",
                daemon=True,
            ).start()
        return {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}

    def close(self) -> None:
        """End the helper thread (once the handlers it served are replaced)."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe[1])
            self._pipe = None


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` or a frame that called it runs Python's import machinery (an import
    statement, ``importlib.import_module``, a module's body being executed)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib."):
            return True
        frame = frame.f_back
    return False


def cmd_run(args: argparse.Namespace) -> int:
    """``leadnb run``: :func:`leadnb.run.runner.run`; returns its exit code (0 or 1).

    A scheduler's SIGTERM ends the run as Ctrl-C does (:func:`entry` and :func:`main` handle
    both, :class:`_EndOnce`): workers and kernels are stopped and the temporary run folder is
    removed.
    """
    from leadnb.run import runner

    names = [n.strip() for n in args.notebooks.split(",") if n.strip()] if args.notebooks else None
    result = runner.run(
        args.params,
        notebooks=names,
        out=args.out,
        as_of=args.as_of,
        jobs=args.jobs,
        fail_fast=args.fail_fast,
        notebook_dir=args.notebook_dir,
        pdf=args.pdf,
    )
    print(f"Run {result.run_id}: {result.status}")
    for res in result.notebooks:
        if res.status != "success":
            print(f"  {res.name}: {res.status}: {res.error or ''}")
    print(f"Index: {result.index_path}")
    if result.pdfs:
        print(f"PDFs: {len(result.pdfs)} written next to the reports")
    if result.latest_moved:
        print(f"Latest: {result.run_dir.parent / 'latest' / 'index.html'}")
    return result.exit_code


COMMANDS = {"sample": cmd_sample, "validate": cmd_validate, "run": cmd_run}


def _masked(text: str) -> str:
    """``text`` with the passwords of URLs held in environment variables masked."""
    from leadnb.masking import environ_secrets, mask_text

    return mask_text(text, environ_secrets())


def main(argv: Sequence[str] | None = None) -> int:
    """The ``leadnb`` command, for a caller in Python (the console script is :func:`entry`).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 a notebook failed, 2 bad usage or bad parameters/data
        (also an ``OSError`` such as an unwritable ``--out``), 130 interrupted. Errors are one
        readable message on stderr, URL passwords from the environment masked. While a run
        lasts, a SIGTERM ends it as Ctrl-C does and a second signal while it ends is ignored
        (:class:`_EndOnce`); the caller's handlers are restored after it.
    """
    args = build_parser().parse_args(argv)
    if args.command != "run":
        return _dispatch(args)
    handler = _EndOnce()
    previous = handler.install()
    try:
        return _dispatch(args)
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)
        handler.close()


def entry() -> NoReturn:
    """The ``leadnb`` console script and ``python -m leadnb``: the command, then exit with its
    code. Ctrl-C and SIGTERM are handled by one :class:`_EndOnce` for the process's life: the
    first ends the command (exit 130), any later one is ignored, also after the command has
    returned (the interpreter ending): nothing turns an exit code already decided into death
    by a signal."""
    handler = _EndOnce()
    handler.install()
    args = build_parser().parse_args()
    if args.command == "run":  # this process is the runner: its own (main() leaves a caller's be)
        keep_freed_memory()
    code = _dispatch(args)
    handler.ending = True
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """End the process with ``code`` as the interpreter's exit would, without its teardown:
    threads that are not daemons are joined, ``atexit`` functions run, output flushed, then
    ``os._exit``. The teardown (freeing every module and object, 0.2 s after a million-lead
    run, 0.16 s after the demo's) also resets signal handlers to SIG_DFL on its way out: after
    an interrupted run read its tables, the next Ctrl-C then killed it (exit -2, not 130)."""
    import atexit
    import logging

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code, errors and interrupts turned into one line."""
    from leadnb.run.execute import skip_slow_optional_imports

    skip_slow_optional_imports()
    try:
        return COMMANDS[args.command](args)
    except LeadnbError as err:
        print(_masked(str(err)), file=sys.stderr)
        return err.exit_code
    except OSError as err:  # OUT under a file, not writable, a name too long...
        where = f" ({err.filename})" if err.filename else ""
        what = err.strerror or str(err)
        print(_masked(f"ERROR: {what}{where}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["build_parser", "entry", "main"]
