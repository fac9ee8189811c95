"""leadnb.parallel: chunks in forked processes give the loop's results, warnings and errors."""

from __future__ import annotations

import os
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb import parallel
from leadnb.parallel import available_cores, chunk_bounds, fork_map

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _square(x: int) -> int:
    return x * x


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-1000, 1000), max_size=12), st.integers(1, 4))
def test_equals_the_loop_in_order(items, processes):
    assert fork_map(_square, items, processes=processes) == [x * x for x in items]


def test_later_chunks_are_computed_in_children_the_first_share_here():
    me = os.getpid()
    pids = fork_map(lambda _: os.getpid(), range(6), processes=3)
    assert pids[:2] == [me, me]  # the caller's share: the first (the smallest)
    assert me not in pids[2:] and len(set(pids[2:])) == 2  # two children, two chunks each


def test_one_process_or_one_chunk_does_not_fork(monkeypatch):
    me = os.getpid()
    assert fork_map(lambda _: os.getpid(), range(4), processes=1) == [me] * 4
    assert fork_map(lambda _: os.getpid(), [0], processes=4) == [me]
    monkeypatch.setenv(parallel.PROCESSES_ENV, "1")
    assert available_cores() == 1
    assert fork_map(lambda _: os.getpid(), range(4)) == [me] * 4


def test_warnings_of_children_are_raised_here_in_chunk_order():
    def warn(x: int) -> int:
        warnings.warn(f"chunk {x}", UserWarning, stacklevel=1)
        return x

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fork_map(warn, range(4), processes=2) == [0, 1, 2, 3]
    assert [str(w.message) for w in caught] == ["chunk 0", "chunk 1", "chunk 2", "chunk 3"]
    assert all(w.category is UserWarning for w in caught)


def test_a_child_that_dies_has_its_chunks_computed_here():
    me = os.getpid()

    def die_in_child(x: int) -> tuple[int, int]:
        if os.getpid() != me:
            os._exit(3)  # killed, out of memory...: no result
        return x, os.getpid()

    assert fork_map(die_in_child, range(4), processes=2) == [(x, me) for x in range(4)]


def test_an_error_raises_here_as_the_loop_would():
    def fail_on_three(x: int) -> int:
        if x == 3:
            raise ValueError("three is not allowed")
        return x

    with pytest.raises(ValueError, match="three is not allowed"):
        fork_map(fail_on_three, range(4), processes=2)  # 3 is a child's: raised again here
    with pytest.raises(ValueError, match="three is not allowed"):
        fork_map(fail_on_three, [3, 1, 2, 4], processes=2)  # the caller's own share


def test_children_write_nothing_to_the_callers_streams(capfd):
    def noisy(x: int) -> int:
        print(f"printed by {x}")
        return x

    assert fork_map(noisy, range(4), processes=2) == [0, 1, 2, 3]
    out = capfd.readouterr().out
    assert "printed by 0" in out and "printed by 1" in out  # the caller's share
    assert "printed by 2" not in out and "printed by 3" not in out


def test_no_child_is_left_behind():
    pids = set(fork_map(lambda _: os.getpid(), range(8), processes=4)) - {os.getpid()}
    assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # waited for already: not a zombie, not running


def _share_of_one_core(monkeypatch, *, idle: float | None, shared: str = "1") -> None:
    """This process limited to one of four cores as a run's kernel is (``shared``: the run's
    LEADNB_SHARED_CORES), on a machine whose cores are ``idle`` (a fraction; None: no
    /proc/stat)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv(parallel.PROCESSES_ENV, "1")
    monkeypatch.setenv(parallel.SHARED_ENV, shared)
    ticks = iter(range(1, 10_000))

    def cpu_times() -> tuple[int, int] | None:
        if idle is None:
            return None
        k = next(ticks) * 400
        return round(k * idle), k  # idle jiffies, all jiffies

    monkeypatch.setattr(parallel, "_cpu_times", cpu_times)


def test_a_share_of_one_core_borrows_idle_cores_for_the_second_half_of_what_is_left(
    monkeypatch,
):
    _share_of_one_core(monkeypatch, idle=0.5)  # two of four cores idle
    me = os.getpid()
    got = fork_map(lambda x: (x * x, os.getpid()), range(8))
    assert [v for v, _ in got] == [x * x for x in range(8)]
    pids = [p for _, p in got]
    # the first item here, then items 5-7 to a child, then item 4 to another; 1-3 here
    assert pids[:4] == [me] * 4 and me not in pids[4:]
    assert len({pids[4], pids[5]}) == 2 and pids[5] == pids[6] == pids[7]


@pytest.mark.parametrize(
    ("idle", "shared"),
    [(0.1, "1"), (None, "1"), (1.0, "0"), (1.0, "")],
    ids=["busy machine", "no /proc/stat", "user said 0", "a limit, not a share"],
)
def test_nothing_is_borrowed_from_a_busy_machine_or_without_the_runs_share(
    monkeypatch, idle, shared
):
    _share_of_one_core(monkeypatch, idle=idle, shared=shared)
    me = os.getpid()
    assert fork_map(lambda _: os.getpid(), range(6)) == [me] * 6


def test_borrowed_chunks_keep_the_loops_warnings_and_a_failed_child_is_redone_here(monkeypatch):
    _share_of_one_core(monkeypatch, idle=1.0)
    me = os.getpid()

    def warn(x: int) -> int:
        warnings.warn(f"chunk {x}", UserWarning, stacklevel=1)
        return x

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fork_map(warn, range(6)) == list(range(6))
    assert [str(w.message) for w in caught] == [f"chunk {x}" for x in range(6)]

    def die_in_child(x: int) -> tuple[int, int]:
        if os.getpid() != me:
            os._exit(3)
        return x, os.getpid()

    assert fork_map(die_in_child, range(6)) == [(x, me) for x in range(6)]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5_000), st.integers(1, 1_000), st.integers(1, 8))
def test_chunk_bounds_cover_the_range_evenly(n, most, processes):
    bounds = chunk_bounds(n, most, processes)
    starts = [a for a, _ in bounds]
    assert [b for _, b in bounds][:-1] == starts[1:]  # contiguous
    assert (bounds[0][0], bounds[-1][1]) == (0, n) if n else bounds == []
    sizes = [b - a for a, b in bounds]
    assert all(0 < s <= most for s in sizes)
    assert not sizes or max(sizes) - min(sizes) <= 1  # as equal as can be
    fewest = -(-n // most)
    if fewest > 1:  # a multiple of the processes (no more chunks than that needs), or one each
        assert len(bounds) == min(-(-fewest // processes) * processes, n)
    else:
        assert len(bounds) == fewest


def test_chunk_bounds_refuses_an_empty_chunk_size():
    with pytest.raises(ValueError, match="most must be >= 1"):
        chunk_bounds(10, 0)


def test_in_a_jupyter_kernel_children_print_nothing_and_their_warnings_reach_the_cell():
    """Forked from a kernel (threads, ZeroMQ sockets): the cell ends, its result is the loop's,
    only the caller's prints reach the notebook and the children's warnings come through it."""
    import nbformat
    from nbclient import NotebookClient

    code = (
        "import warnings\n"
        "from leadnb.parallel import fork_map\n"
        "def f(x):\n"
        "    print(f'printed by {x}')\n"
        "    warnings.warn(f'warned by {x}', UserWarning, stacklevel=1)\n"
        "    return x * x\n"
        "print('result', fork_map(f, range(4), processes=2))\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    streams = {"stdout": "", "stderr": ""}
    for out in nb.cells[0].outputs:
        streams[out["name"]] += out["text"]
    assert "result [0, 1, 4, 9]" in streams["stdout"]
    assert "printed by 0" in streams["stdout"] and "printed by 1" in streams["stdout"]
    assert "printed by 2" not in streams["stdout"] and "printed by 3" not in streams["stdout"]
    for x in range(4):
        assert f"warned by {x}" in streams["stderr"]


def test_when_no_process_can_be_forked_the_caller_computes_every_chunk(monkeypatch):
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(parallel.os, "fork", no_fork)
    me = os.getpid()
    assert fork_map(lambda x: (x, os.getpid()), range(5), processes=3) == [
        (x, me) for x in range(5)
    ]


def test_freed_memory_is_given_back_once_before_the_first_fork(monkeypatch):
    """The allocators' free memory is released before children are forked (they would start
    from the caller's resident pages), once per call, and not when nothing is forked."""
    order: list[str] = []
    monkeypatch.setattr(parallel, "release_free_memory", lambda: order.append("release"))
    start = parallel._start
    monkeypatch.setattr(parallel, "_start", lambda *a: order.append("fork") or start(*a))
    assert fork_map(lambda x: x + 1, [1, 2, 3, 4], processes=2) == [2, 3, 4, 5]
    assert order == ["release", "fork"]
    order.clear()
    assert fork_map(lambda x: x + 1, [1, 2], processes=1) == [2, 3]
    assert order == []


def test_release_free_memory_gives_back_what_the_c_heap_keeps():
    """A freed heap of 1 kB blocks (below glibc's mmap threshold: kept by malloc) is given
    back on Linux; elsewhere nothing is done and False is said."""
    import sys

    blocks = [bytes(1000) + bytes([i % 256]) for i in range(100_000)]  # about 100 MB of heap
    del blocks
    released = parallel.release_free_memory()
    assert released is (sys.platform.startswith("linux") and parallel._TRIM is not False)


_REUSE = """
import ctypes, resource, sys
from leadnb.parallel import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 30 << 20  # a cell's temporary: below the kept threshold (32 MB)
faults = []
for _ in range(5):  # allocate, write every page, free: as a notebook's cells do
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    p = libc.malloc(size)
    ctypes.memset(p, 1, size)
    libc.free(p)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, sum(faults[1:]))
"""


def _reuse(mode: str, **env: str) -> tuple[str, int]:
    import subprocess
    import sys

    # without the caller's malloc settings: Dask's nanny puts MALLOC_TRIM_THRESHOLD_ into the
    # environment of the process that starts a LocalCluster (an earlier test in this worker)
    clean = {
        k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES" and not k.startswith("MALLOC_")
    }
    out = subprocess.run(
        [sys.executable, "-c", _REUSE, mode], env={**clean, **env}, capture_output=True,
        text=True, check=True,
    ).stdout.split()  # fmt: skip
    return out[0], int(out[1])


@pytest.mark.skipif(
    not os.uname().sysname == "Linux" or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's mallopt",
)
def test_a_process_that_keeps_freed_memory_reuses_it_without_new_pages():
    """After keep_freed_memory a freed 30 MB block is reused by the next one (no page
    faults: no fresh pages for the kernel to zero); by default glibc maps and unmaps it again
    until its dynamic threshold has grown past it (here once more: 7,680 pages of 4 kB, or 15
    huge pages)."""
    kept, kept_faults = _reuse("keep")
    default, default_faults = _reuse("default")
    assert (kept, default) == ("True", "None")
    assert kept_faults < 200
    assert default_faults > kept_faults + 40


def test_keep_freed_memory_leaves_the_users_own_malloc_settings_alone():
    """A user's GLIBC_TUNABLES for malloc (or MALLOC_*_THRESHOLD_) wins: nothing is set."""
    kept, _ = _reuse("keep", GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072")
    assert kept == "False"
    kept, _ = _reuse("keep", MALLOC_TRIM_THRESHOLD_="131072")
    assert kept == "False"
