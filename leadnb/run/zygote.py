"""Kernels forked from one process that has already imported the notebooks' libraries.

Design. Every notebook of a run gets a fresh kernel, and every fresh kernel used to pay the same
start: Python, IPython, and the imports of pandas, matplotlib, SciPy, statsmodels and leadnb
(:data:`leadnb.run.warm.PRELOAD`): about 2.5 s of CPU each, four times a run, on a machine
whose two cores are the limit of the run's wall time. A :class:`KernelForks` process (the
*zygote*) imports them once and then forks a kernel for each request: the child is a fresh
``python -m ipykernel_launcher -f <connection file>`` in every way a notebook can see (its own
working directory, environment, process group and pid, no notebook code run before it), except
that its modules are already imported, which is what the warm kernels' preload did anyway. A
forked kernel is ready in about half a second.

Safety of the fork: the zygote runs no notebook code and starts no thread of its own before
forking (Arrow's allocator keeps a background thread, which jemalloc re-creates in the child,
as it does for any forked Python process that imported pandas); matplotlib is imported with
the kernel's inline backend (``MPLBACKEND``, as ipykernel sets it), whose IPython hooks are
registered when the notebook first draws, as in a kernel started the usual way. Python's
``random`` is re-seeded in every child (``os.register_at_fork``).

Garbage collection: the zygote imports with the collector off (the imports build about 190,000
container objects, and the collections that ran during them were a tenth of the zygote's 2 s),
then freezes what it holds (:func:`gc.freeze`): a kernel's collections skip those long-lived
objects, which every full collection used to walk again (about 0.13 s of each notebook's run,
measured in process), and leave their pages shared with the zygote. Each kernel turns the
collector back on first thing. The few cycles the imports left unreferenced (about 3,000
objects, 1 MB) are frozen with the rest rather than paying a 0.12 s collection before the
first kernel.

How it is used. A run with warm workers (:class:`leadnb.run.warm.WarmPool`) starts the zygote
when its workers are told to warm, in a private folder whose path the workers find in
:data:`FORKS_ENV`; their kernel managers (:class:`leadnb.run.kernel_manager.LocalKernelManager`)
ask it for kernels (:func:`fork_kernel`) when the kernel's command is this interpreter's
``-m ipykernel_launcher``. Anything else (no folder, another interpreter, a zygote that failed
or does not answer) starts the kernel as before, so a run never depends on it. The kernel's
parent is the zygote: its ``JPY_PARENT_PID`` is the zygote's pid, so a kernel whose zygote is
gone shuts itself down, and the zygote ends its kernels when it is told to end or its runner
dies (:func:`leadnb.run.execute.die_with_parent`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FORKS_ENV = "LEADNB_KERNEL_FORKS"
"""The environment variable that gives a worker the folder of its run's zygote."""
SOCKET = "socket"  # the zygote listens here once its imports are done
STARTED = "started"  # written by the runner when it starts the zygote: its pid
INTERPRETER = "interpreter"  # the zygote's interpreter and options (JSON): only its kernels
FAILED = "failed"  # written by the zygote when it cannot serve (the reason)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
READY_TIMEOUT = 60.0  # seconds a kernel request waits for the zygote's imports
NOTE_GRACE = 2.0  # seconds an ended kernel's manager waits for the zygote's note of its exit code
LAUNCHER = "ipykernel_launcher"

__all__ = [
    "FORKS_ENV",
    "ForkedKernel",
    "KernelForks",
    "fork_kernel",
    "forks_folder",
    "kernel_owner",
    "launcher_args",
    "serve",
]


def launcher_args(cmd: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """Split a kernel command into the interpreter part and the launcher's arguments.

    ``None`` when it is not ``<python> [options] -m ipykernel_launcher ...``.

    >>> launcher_args(["/v/bin/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
    ...                "-f", "k.json"])
    (['/v/bin/python', '-Xfrozen_modules=off'], ['-f', 'k.json'])
    >>> launcher_args(["/usr/bin/R", "--slave"]) is None
    True
    """
    cmd = list(cmd)
    for i in range(1, len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == LAUNCHER:
            return cmd[:i], cmd[i + 2 :]
    return None


def forks_folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """The zygote folder given to this process (:data:`FORKS_ENV`), if any."""
    value = (os.environ if environ is None else environ).get(FORKS_ENV, "")
    return Path(value) if value else None


# --------------------------------------------------------------------------------------------
# The zygote process


def _reap(*_: Any) -> None:
    """Collect every child that has ended; note its exit code (``exit-<pid>``) for its manager."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        with contextlib.suppress(OSError):  # complete when it appears: written, then renamed
            Path(f"exit-{pid}.tmp").write_text(str(os.waitstatus_to_exitcode(status)))
            os.replace(f"exit-{pid}.tmp", f"exit-{pid}")


def _name_process(name: str) -> None:
    """Set the name ``ps``, ``top`` and psutil's ``name()`` show (Linux, 15 bytes): a forked
    kernel keeps the zygote's command line, so its name says what it is and whose it is."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)  # 15 = PR_SET_NAME


def kernel_owner(name: str) -> int | None:
    """The pid of the process that asked for the forked kernel named ``name``, else ``None``.

    >>> kernel_owner("kernel:4242"), kernel_owner("python3")
    (4242, None)
    """
    head, _, pid = name.partition(":")
    return int(pid) if head == "kernel" and pid.isdigit() else None


def _child(request: Mapping[str, Any], zygote_pid: int) -> int:
    """In the forked child: become ``python -m ipykernel_launcher <args>`` and run the kernel."""
    _name_process(f"kernel:{request.get('owner', '')}")
    gc.enable()  # off in the zygote since its imports (see the module docstring)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()  # its own process group: interrupts and kills reach the kernel alone
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.pop(FORKS_ENV, None)
    os.environ["JPY_PARENT_PID"] = str(zygote_pid)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # the kernel ends if the zygote is gone (ipykernel read JPY_PARENT_PID when the zygote
    # imported it, so the option says it again)
    sys.argv = [LAUNCHER, *request["args"], f"--IPKernelApp.parent_handle={zygote_pid}"]
    import atexit

    from ipykernel import kernelapp

    code = 0
    try:
        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    atexit._run_exitfuncs()  # what the interpreter's exit would run; then os._exit
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def serve(folder: Path, preload: Sequence[str], parent_pid: int | None = None) -> int:
    """The zygote's main loop: import, then fork a kernel for each request on the socket.

    A request is one JSON line ``{"args": [...], "env": {...}, "cwd": "..."}`` (the launcher's
    arguments); the answer is ``{"pid": <kernel pid>}``. Runs until it is terminated.
    """
    from leadnb.parallel import keep_freed_memory
    from leadnb.run import execute

    keep_freed_memory()  # before the imports; the kernels it forks inherit it
    folder = Path(folder)
    execute.die_with_parent(parent_pid)  # SIGTERM when the runner dies, however it dies

    def end(signum: int, frame: Any) -> None:  # its folder, its kernels, then itself
        # a second SIGTERM (the runner's death can bring two) must not interrupt this one
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # psutil collects them from here on
            shutil.rmtree(folder, ignore_errors=True)
            execute.end_descendants()
        finally:
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, end)
    os.chdir(folder)  # exit codes are written here; each kernel changes to its own folder
    try:
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        gc.disable()  # see the module docstring (garbage collection)
        importlib.import_module("ipykernel.kernelapp")
        for name in preload:
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        gc.freeze()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(folder / (SOCKET + ".tmp")))
        os.rename(folder / (SOCKET + ".tmp"), folder / SOCKET)  # appears once it listens
        server.listen(16)
    except Exception as exc:  # any failure: the kernels start as usual
        (folder / FAILED).write_text(f"{type(exc).__name__}: {exc}")
        return 1
    signal.signal(signal.SIGCHLD, _reap)
    me = os.getpid()
    while True:
        conn, _ = server.accept()
        with conn:
            try:
                request = json.loads(conn.makefile("r").readline())
                pid = os.fork()
            except (OSError, ValueError):  # the asker gets no answer and starts its own kernel
                continue
            if pid == 0:  # the kernel
                code = 1
                try:
                    server.close()
                    conn.close()
                    code = _child(request, me)
                finally:
                    os._exit(code)
            with contextlib.suppress(OSError):
                conn.sendall((json.dumps({"pid": pid}) + "\n").encode())


def main(argv: Sequence[str]) -> int:
    """``python -m leadnb.run.zygote FOLDER PARENT_PID PRELOAD_JSON``."""
    return serve(Path(argv[0]), json.loads(argv[2]), int(argv[1]) or None)


# --------------------------------------------------------------------------------------------
# The runner's side


class KernelForks:
    """The zygote of a run: started by :meth:`start`, ended by :meth:`close` (a context manager).

    Parameters
    ----------
    interpreter
        The kernel's interpreter and its options (the kernelspec's command before
        ``-m ipykernel_launcher``): the zygote runs on it, so its children are that kernel.
    preload
        The modules it imports before forking.
    env
        The kernels' environment at import time (thread limits, the kernelspec's variables).
    cwd
        Where it starts (the notebooks folder).
    """

    def __init__(
        self,
        interpreter: Sequence[str],
        preload: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.interpreter = list(interpreter)
        self.preload = list(preload)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        from leadnb.run.hygiene import write_owner

        self.folder = Path(tempfile.mkdtemp(prefix="leadnb-forks-"))  # short: socket paths
        write_owner(self.folder)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> KernelForks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the zygote (once); it imports while the caller goes on."""
        if self.proc is not None:
            return
        env = {k: v for k, v in self.env.items() if k != FORKS_ENV}
        env.setdefault("MPLBACKEND", INLINE_BACKEND)
        try:
            self.proc = subprocess.Popen(
                [
                    *self.interpreter,
                    "-m",
                    "leadnb.run.zygote",
                    str(self.folder),
                    str(os.getpid()),
                    json.dumps(self.preload),
                ],
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which ends it
            )
        except OSError as exc:
            (self.folder / FAILED).write_text(f"{type(exc).__name__}: {exc}")
            return
        (self.folder / INTERPRETER).write_text(json.dumps(self.interpreter))
        (self.folder / STARTED).write_text(str(self.proc.pid))

    def close(self) -> None:
        """End the zygote and the kernels it forked; remove its folder."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_socket(folder: Path, interpreter: Sequence[str], timeout: float) -> Path | None:
    """The zygote's socket once it listens; ``None`` if it was never started, runs another
    interpreter, failed, died or did not get ready within ``timeout`` seconds."""
    try:
        zygote = int((folder / STARTED).read_text() or 0)
        if json.loads((folder / INTERPRETER).read_text()) != list(interpreter):
            return None
    except (OSError, ValueError):
        return None
    deadline = time.monotonic() + timeout
    path = folder / SOCKET
    while not path.exists():
        gone = not _alive(zygote) or _zombie(zygote)  # e.g. could not import leadnb
        if (folder / FAILED).exists() or gone or time.monotonic() > deadline:
            return None
        time.sleep(0.02)
    return path


def fork_kernel(
    folder: Path,
    interpreter: Sequence[str],
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | Path,
    timeout: float = READY_TIMEOUT,
) -> ForkedKernel | None:
    """Ask the zygote in ``folder`` for a kernel ``<interpreter> -m ipykernel_launcher <args>``.

    Returns
    -------
    ForkedKernel or None
        The kernel's process, or ``None`` when the zygote cannot serve (then start the kernel
        the usual way).
    """
    path = _wait_for_socket(Path(folder), interpreter, timeout)
    if path is None:
        return None
    request = {"args": list(args), "env": dict(env), "cwd": str(cwd), "owner": os.getpid()}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(path))
            conn.sendall((json.dumps(request) + "\n").encode())
            answer = json.loads(conn.makefile("r").readline())
    except (OSError, ValueError):
        return None
    return ForkedKernel(int(answer["pid"]), Path(folder))


class ForkedKernel:
    """What :class:`subprocess.Popen` offers a kernel manager, for a kernel the zygote forked
    (not a child of this process: its exit code comes from the zygote's ``exit-<pid>`` note)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, folder: Path) -> None:
        self.pid = pid
        self.folder = folder
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """``None`` while the kernel runs, else its exit code (-1 when it is not known).

        A kernel that has just ended is a zombie, or already collected, a moment before the
        zygote writes its note: then the note is waited for (:data:`NOTE_GRACE` seconds at
        most; only a zygote that died leaves it unwritten)."""
        if self.returncode is not None:
            return self.returncode
        if _alive(self.pid) and not _zombie(self.pid):
            return None
        deadline = time.monotonic() + NOTE_GRACE
        while (code := self._noted()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.returncode = -1 if code is None else code
        return self.returncode

    def _noted(self) -> int | None:
        """The exit code the zygote noted, or ``None``."""
        note = self.folder / f"exit-{self.pid}"
        with contextlib.suppress(OSError, ValueError):
            self.returncode = int(note.read_text())
            return self.returncode
        return None

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the kernel has ended; its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0.0)
            time.sleep(0.02)
        return code

    def send_signal(self, signum: int) -> None:
        """Signal the kernel (not its process group: the kernel manager does that first); an
        ended kernel is left alone, as :meth:`subprocess.Popen.send_signal` does."""
        if self.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended but not been collected yet (Linux ``/proc``; elsewhere no)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].startswith("Z")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
