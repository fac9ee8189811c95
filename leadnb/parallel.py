"""Chunked work on more than one core: the chunks of a per-lead loop in forked processes.

Design. The per-lead engines already work in chunks of leads (the lead queue scores 611,050
open leads at a million, 100,000 at a time) so that memory stays flat; the chunks are
independent, but threads cannot share them out (two threads over the queue's chunks took 13.8 s
against 7.1 s for one: most of a chunk's time holds the GIL in pandas). :func:`fork_map` runs
them in forked processes instead: each child is a copy of the caller at the moment of the
fork, so it has every table and every prepared index without a copy or a pickle (memory
pages are shared until written), computes its share of the chunks and sends back only their
results. The caller computes the first share itself (never a larger one).

What a child may do is narrow, as in any process forked from one with threads (a Jupyter
kernel has several): it runs the given function on its chunks and nothing else. It never
writes to the caller's standard streams (a kernel's are its ZeroMQ sockets: the child's go to
``/dev/null``); the warnings it would raise are recorded and raised again in the caller, in
chunk order; it leaves with :func:`os._exit`, so no ``atexit`` hook or finaliser of the caller
runs twice. When no process can be forked (a limit on processes, no memory), the caller computes
those chunks itself. A child that fails or dies (killed, out of memory) is not trusted with anything: its
chunks are computed again in the caller, so an error is raised there, as it would have been
without children, and results never depend on which process computed them.

When it does not fork: on a platform without ``os.fork``, with one process allowed (one core,
``processes=1``, or :data:`PROCESSES_ENV` set to 1), or for a single chunk. Results are the same
either way (tested), in the order of the chunks.

Borrowing idle cores. A run with notebooks side by side gives each kernel its share of the
cores (:data:`PROCESSES_ENV`, with :data:`SHARED_ENV` saying it is a share): the other
notebooks keep the rest busy, and a fork would only add its costs. But the notebooks do not
end together: at a million leads the scoring notebook's lead queue was still running on one
core for its last 0.5-3 s while the other core had nothing left to do. With a share of one
core, :func:`fork_map` watches the machine's idle time (``/proc/stat``) through each chunk it
computes, and once a core stayed idle through one, forks a child for the second half of the
chunks left. Nineteen alternated pairs of whole million-lead runs: faster in thirteen, by
0.5 s on average (the machine's drift in the same minutes: 27.7-38.9 s); it costs nothing
while no core is idle.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = [
    "PROCESSES_ENV",
    "SHARED_ENV",
    "CaughtWarning",
    "available_cores",
    "chunk_bounds",
    "fork_map",
    "keep_freed_memory",
    "release_free_memory",
]

T = TypeVar("T")
R = TypeVar("R")

PROCESSES_ENV = "LEADNB_PROCESSES"
"""Environment variable: the most processes :func:`fork_map` uses (default: the cores this
process may run on)."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says), at least 1;
    :data:`PROCESSES_ENV` lowers it.

    >>> available_cores() >= 1
    True
    """
    cores = _affinity() or os.cpu_count() or 1  # not on Linux: every core
    limit = os.environ.get(PROCESSES_ENV, "").strip()
    if limit.isdigit() and int(limit) >= 1:
        cores = min(cores, int(limit))
    return max(1, cores)


def chunk_bounds(n: int, most: int, processes: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` of chunks of ``range(n)``, each of at most ``most`` items, as many as
    needed rounded up to a multiple of the processes :func:`fork_map` will use, and as equal as
    can be: every process gets the same work (seven chunks of 100,000 on two processes kept
    one waiting for the other's fourth; eight of about 76,000 do not).

    >>> chunk_bounds(10, 4, processes=2)
    [(0, 2), (2, 5), (5, 7), (7, 10)]
    >>> chunk_bounds(10, 4, processes=1)
    [(0, 3), (3, 6), (6, 10)]
    >>> chunk_bounds(3, 4, processes=2), chunk_bounds(0, 4)
    ([(0, 3)], [])
    """
    if most < 1:
        raise ValueError(f"most must be >= 1, got {most}")
    count = -(-n // most)  # ceil
    if count > 1:
        p = max(1, processes if processes is not None else available_cores())
        count = min(-(-count // p) * p, n)  # no empty chunk
    edges = [i * n // count for i in range(count + 1)] if count else [0]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def fork_map(fn: Callable[[T], R], items: Sequence[T], *, processes: int | None = None) -> list[R]:
    """``[fn(item) for item in items]``, the items shared out over forked processes.

    Parameters
    ----------
    fn
        A function of one item; its result must pickle (a child sends it back).
    items
        The chunks, in order. Consecutive items go to the same process.
    processes
        The most processes, the caller included (default :func:`available_cores`); never more
        than there are items.

    Returns
    -------
    list
        One result per item, in order, equal to the loop's.

    Examples
    --------
    >>> fork_map(lambda x: x * x, [1, 2, 3, 4], processes=2)
    [1, 4, 9, 16]
    """
    items = list(items)
    n = min(len(items), processes if processes is not None else available_cores())
    if n <= 1 and processes is None and len(items) > 1 and hasattr(os, "fork"):
        spare = _spare_cores()
        if spare:
            return _borrowing_map(fn, items, spare)
    if n <= 1 or not hasattr(os, "fork"):
        return [fn(item) for item in items]
    bounds = [i * len(items) // n for i in range(n + 1)]
    shares = [range(bounds[i], bounds[i + 1]) for i in range(n)]
    release_free_memory()
    children: list[tuple[int, int, range]] = []
    try:
        here = list(shares[0])  # the first share, the smallest (bounds round down): the caller
        for share in shares[1:]:  # also unpickles the others' results
            try:
                children.append((*_start(fn, items, share), share))
            except OSError:  # no process to be had (a limit, memory): computed here instead
                here.extend(share)
        results: dict[int, R] = {i: fn(items[i]) for i in here}
        _gather(fn, items, children, results)
    finally:
        for pid, fd, _ in children:
            _end(pid, fd)
    return [results[i] for i in range(len(items))]


SHARED_ENV = "LEADNB_SHARED_CORES"
"""Environment variable set by a run beside :data:`PROCESSES_ENV` when that limit is this
notebook's share of a machine other notebooks use too: cores the others leave idle may be
borrowed (:func:`fork_map`)."""
IDLE_FOR_A_FORK = 0.75
"""Cores idle on average through the last item, at least, before :func:`fork_map` borrows one."""


def _spare_cores() -> int:
    """Cores beyond this process's share that it may borrow when they are idle: the machine's
    (its affinity) minus :func:`available_cores`, when :data:`SHARED_ENV` says the limit is a
    share; 0 otherwise (a user's own limit is kept), or without ``/proc/stat``."""
    if os.environ.get(SHARED_ENV, "").strip() != "1" or not os.path.exists("/proc/stat"):
        return 0
    return max(0, (_affinity() or 0) - available_cores())


def _affinity() -> int | None:
    """The cores this process may run on, where the platform says (Linux); else ``None``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return None


def _cpu_times() -> tuple[int, int] | None:
    """The machine's idle (idle + iowait) and total jiffies so far (``/proc/stat``)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)


def _borrowing_map(fn: Callable[[T], R], items: list[T], spare: int) -> list[R]:
    """:func:`fork_map` on a share of one core that may borrow idle ones: the items are
    computed here in order, and once the machine had at least :data:`IDLE_FOR_A_FORK` of a
    core idle through the last item (the notebook beside this one has finished), a forked child
    takes the second half of the items left; at most ``spare`` children, each as in
    :func:`fork_map` (its results and warnings gathered in item order, its items computed
    again here when it fails)."""
    results: dict[int, R] = {}
    children: list[tuple[int, int, range]] = []
    i, end = 0, len(items)
    machine = os.cpu_count() or spare + available_cores()  # /proc/stat counts every CPU
    try:
        before = _cpu_times()
        while i < end:
            after = _cpu_times()
            if spare and end - i >= 2 and before is not None and after is not None and i > 0:
                idle, total = after[0] - before[0], after[1] - before[1]
                if total > 0 and machine * idle / total >= IDLE_FOR_A_FORK:
                    share = range(i + (end - i + 1) // 2, end)  # the first half stays here
                    release_free_memory()
                    try:
                        children.append((*_start(fn, items, share), share))
                        end, spare = share.start, spare - 1
                    except OSError:
                        spare = 0
            before = after
            results[i] = fn(items[i])
            i += 1
        _gather(fn, items, children, results)
    finally:
        for pid, fd, _ in children:
            _end(pid, fd)
    return [results[k] for k in range(len(items))]


def _gather(
    fn: Callable[[T], R],
    items: Sequence[T],
    children: list[tuple[int, int, range]],
    results: dict[int, R],
) -> None:
    """Put each child's results in ``results`` and raise its warnings here, child by child (in
    chunk order); a child that failed has its chunks computed again here, where errors raise."""
    for pid, fd, share in sorted(children, key=lambda child: child[2].start):
        got = _collect(pid, fd)
        if got is None:
            got = [([], fn(items[i])) for i in share]
        for i, (caught, result) in zip(share, got, strict=True):
            for w in caught:
                w.warn()
            results[i] = result


def release_free_memory() -> bool:
    """Give memory freed but kept by the allocators back to the system, before a fork: Arrow's
    pool (``release_unused``; mimalloc keeps what a cell's text columns freed) and the C heap
    (glibc's ``malloc_trim(0)``). Kept, it stays resident in the caller beside the children's
    work and adds to the run's peak: in the scoring notebook at a million leads, 100-200 MB
    after a cell of text work. Returns whether the C heap released anything (False without
    glibc: macOS, musl).

    >>> isinstance(release_free_memory(), bool)
    True
    """
    global _TRIM
    pyarrow = sys.modules.get("pyarrow")  # only a process that has used Arrow has its pool
    if pyarrow is not None:
        with contextlib.suppress(Exception):
            pyarrow.default_memory_pool().release_unused()
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                _TRIM = ctypes.CDLL(None).malloc_trim
    return bool(_TRIM(0)) if _TRIM else False


_TRIM: Any = None

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_MMAP_THRESHOLD = 32 << 20
"""Blocks below this size come from the C heap of a process that keeps freed memory (32 MB:
the most ``mallopt`` accepts on 64-bit glibc; larger ones are mapped and unmapped as before)."""
KEEP_TRIM_THRESHOLD = (1 << 31) - 1
"""Free memory at the top of its C heap that such a process keeps (2 GB: in practice all)."""


def keep_freed_memory() -> bool:
    """Let this process reuse the C heap memory it frees instead of giving it back to the
    system at once: glibc's ``mallopt`` with blocks up to :data:`KEEP_MMAP_THRESHOLD` from
    the heap and the heap's top trimmed only above :data:`KEEP_TRIM_THRESHOLD`. For the
    processes of a run (runner, zygote and the kernels it forks, workers), called first thing.

    Why: glibc gives a freed heap top back to the system as soon as it passes its trim
    threshold (64 MB once the dynamic thresholds have grown), and the next cell's arrays
    take fresh pages that the kernel zeroes first (on the machine measured, a fifth of a
    million-lead run's CPU time was system time, mostly that zeroing). Kept, they are reused:
    alternated whole runs at a million leads (five pairs) took 1.2 million page faults
    without and 0.9 million with, a median 1.1 s less system time and 1.7 s less wall time,
    the largest process's peak unchanged (about 2 GB). Memory freed is still given back where
    it matters: :func:`release_free_memory` (``malloc_trim``) before a fork and after the
    runner hands its tables over. Settings made by the user (``GLIBC_TUNABLES`` naming
    ``glibc.malloc``, or the ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_THRESHOLD_``
    variables) are left alone, as is every platform without glibc. Returns whether the
    settings were made.

    >>> isinstance(keep_freed_memory(), bool)
    True
    """
    env = os.environ
    if "glibc.malloc." in env.get("GLIBC_TUNABLES", "") or any(
        k in env for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
    ):
        return False
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt to speak of)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # the mmap threshold first: setting either freezes both (no dynamic thresholds after)
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, KEEP_TRIM_THRESHOLD)
    )


def _start(fn: Callable[[Any], Any], items: Sequence[Any], share: range) -> tuple[int, int]:
    """Fork a child that computes ``fn`` of ``items[share]`` and writes ``[(warnings,
    result)]``, pickled, to a pipe; returns its pid and the pipe's reading end."""
    read_fd, write_fd = os.pipe()
    try:
        with warnings.catch_warnings():  # Python 3.12 warns of a fork in a process with threads
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid:
        os.close(write_fd)
        return pid, read_fd
    status = 1
    try:  # the child: nothing of the caller's but fn, its items and this pipe
        os.close(read_fd)
        gc.freeze()  # the caller's objects: a collection would write to each one's page
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupt ends it, no traceback
        devnull = open(os.devnull, "w")  # closed by os._exit
        sys.stdout = sys.stderr = devnull
        out = []
        for i in share:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = fn(items[i])
            out.append(([CaughtWarning.of(w) for w in caught], result))
        data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)


def _collect(pid: int, fd: int) -> list[tuple[list[CaughtWarning], Any]] | None:
    """The child's results, or ``None`` when it failed (an exception, a signal, unreadable
    output)."""
    chunks = []
    while True:
        block = os.read(fd, 1 << 20)
        if not block:
            break
        chunks.append(block)
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:  # a truncated write: computed again by the caller
        return None


def _end(pid: int, fd: int) -> None:
    """Close the pipe and make sure the child is gone (after an interrupt or an error in the
    caller, it is killed)."""
    with contextlib.suppress(OSError):
        os.close(fd)
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    if done == 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


class CaughtWarning:
    """A warning caught in a forked child, in a form that pickles (its message as a warning
    instance of its category when that pickles, else as text), to be raised again in the caller
    (:meth:`warn`)."""

    def __init__(
        self, message: Warning | str, category: type[Warning], filename: str, lineno: int
    ) -> None:
        self.message, self.category, self.filename, self.lineno = (
            message,
            category,
            filename,
            lineno,
        )

    @classmethod
    def of(cls, w: warnings.WarningMessage) -> CaughtWarning:
        message: Warning | str = w.message
        try:
            pickle.dumps(message)
        except Exception:
            message = str(message)
        return cls(message, w.category, w.filename, w.lineno)

    def warn(self) -> None:
        """Raise it again here, as caught (category, file and line)."""
        warnings.warn_explicit(self.message, self.category, self.filename, self.lineno)
