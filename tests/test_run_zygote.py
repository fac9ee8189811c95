"""leadnb.run.zygote: kernels forked from a process that imported the notebooks' libraries.

What a notebook sees of its kernel must not change: the tests start kernels through the run's
kernel manager with and without a zygote and compare what the kernel reports of itself (its
working folder, environment, parent, imported modules), then interrupt, kill and shut down
forked kernels as a run does."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadnb.run import zygote
from leadnb.run.kernel_manager import UNIX_SOCKETS, OwnInterpreterKernelManager

pytestmark = pytest.mark.skipif(not UNIX_SOCKETS, reason="the zygote forks: POSIX only")

PROBE = (
    "import gc, json, os, sys\n"
    "print(json.dumps({'cwd': os.getcwd(), 'ppid': os.getppid(), 'pid': os.getpid(),"
    " 'gc': gc.isenabled(), 'frozen': gc.get_freeze_count(),"
    " 'colorsys': 'colorsys' in sys.modules, 'mark': os.environ.get('LEADNB_TEST_MARK'),"
    " 'forks': os.environ.get('" + zygote.FORKS_ENV + "'),"
    " 'parent': os.environ.get('JPY_PARENT_PID'), 'pgid': os.getpgid(0)}))\n"
)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[zygote.KernelForks]:
    """A zygote on this interpreter that imported ``colorsys`` (which a fresh kernel has not),
    given to this process as a run gives it to its workers."""
    with zygote.KernelForks([sys.executable], ["colorsys"], cwd=tmp_path) as z:
        monkeypatch.setenv(zygote.FORKS_ENV, str(z.folder))
        monkeypatch.setenv("LEADNB_TEST_MARK", "seen")
        z.start()
        yield z


async def _run(kc: Any, code: str, timeout: float = 60) -> tuple[list[str], dict[str, Any]]:
    """Execute ``code``; its printed text and its execute reply."""
    msg_id = kc.execute(code)
    out: list[str] = []
    while True:
        msg = await kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    while True:
        reply = await kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return out, reply["content"]


async def _started(cwd: Path) -> tuple[OwnInterpreterKernelManager, Any]:
    km = OwnInterpreterKernelManager(kernel_name="python3")
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=120)
    return km, kc


def _probe(cwd: Path) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        km, kc = await _started(cwd)
        try:
            out, _ = await _run(kc, PROBE)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=False)
        assert not await km.is_alive()
        return json.loads("".join(out))

    return asyncio.run(go())


def test_a_forked_kernel_is_the_kernel_a_notebook_would_get(
    forks: zygote.KernelForks, tmp_path: Path
) -> None:
    work = tmp_path / "nbs"
    work.mkdir()
    seen = _probe(work)
    zygote_pid = int((forks.folder / zygote.STARTED).read_text())
    assert seen["ppid"] == zygote_pid == int(seen["parent"])  # forked, and ends if it ends
    assert seen["colorsys"]  # imported before the fork
    assert seen["cwd"] == str(work) and seen["mark"] == "seen"  # the manager's cwd and env
    assert seen["forks"] is None  # a run inside the notebook starts its own zygote
    assert seen["pgid"] == seen["pid"]  # its own process group, as jupyter_client starts it
    # the zygote's imports are frozen (its collections skip them); the kernel collects again
    assert seen["gc"] and seen["frozen"] > 1000


def test_without_a_started_zygote_the_kernel_starts_as_usual(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(zygote.FORKS_ENV, str(tmp_path))  # a folder, but nothing started there
    t0 = time.monotonic()
    seen = _probe(tmp_path)
    assert seen["ppid"] == os.getpid() and not seen["colorsys"]  # the control of the test above
    assert seen["gc"] and seen["frozen"] == 0
    assert time.monotonic() - t0 < zygote.READY_TIMEOUT  # it did not wait for one


def test_a_zygote_of_another_interpreter_or_one_that_failed_is_not_used(tmp_path: Path) -> None:
    # another interpreter: the kernel command must be the zygote's own interpreter
    with zygote.KernelForks([sys.executable], []) as z:
        z.start()
        assert zygote.fork_kernel(z.folder, ["/other/python"], [], env={}, cwd=tmp_path) is None
    assert not z.folder.exists()  # closed: removed
    # an interpreter that cannot start: the request gives up at once
    with zygote.KernelForks([str(tmp_path / "no-python")], []) as z:
        z.start()
        t0 = time.monotonic()
        got = zygote.fork_kernel(z.folder, [str(tmp_path / "no-python")], [], env={}, cwd=".")
        assert got is None and time.monotonic() - t0 < 5
        assert (z.folder / zygote.FAILED).exists()


def test_forked_kernels_interrupt_die_and_end_with_their_zygote(
    forks: zygote.KernelForks, tmp_path: Path
) -> None:
    async def go() -> None:
        km, kc = await _started(tmp_path)
        try:
            # an interrupt reaches the forked kernel (its process group)
            msg_id_task = asyncio.ensure_future(_run(kc, "import time\ntime.sleep(60)"))
            await asyncio.sleep(1.0)
            t0 = time.monotonic()
            await km.interrupt_kernel()
            _, reply = await asyncio.wait_for(msg_id_task, 30)
            assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
            assert time.monotonic() - t0 < 20
            # a kernel that dies is seen dead, with its exit code
            kc.execute("import os; os._exit(3)")
            deadline = time.monotonic() + 30
            while await km.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert not await km.is_alive()
            assert km.provisioner.process.poll() == 3
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        # one more kernel, left running: closing the zygote ends it
        km2, kc2 = await _started(tmp_path)
        kc2.stop_channels()
        pid = km2.provisioner.pid
        forks.close()
        deadline = time.monotonic() + 15
        while zygote._alive(pid) and not zygote._zombie(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not zygote._alive(pid) or zygote._zombie(pid)
        assert not forks.folder.exists()

    asyncio.run(go())


def test_a_forked_kernel_ends_when_its_zygote_is_killed(
    forks: zygote.KernelForks, tmp_path: Path
) -> None:
    # killed outright (no chance to end its kernels): the kernel sees its parent gone
    async def go() -> int:
        km, kc = await _started(tmp_path)
        kc.stop_channels()
        return int(km.provisioner.pid)

    kernel = asyncio.run(go())
    assert forks.proc is not None
    forks.proc.kill()
    forks.proc.wait()
    deadline = time.monotonic() + 20
    while zygote._alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not zygote._alive(kernel)


def test_an_ended_kernel_waits_for_the_note_of_its_exit_code(tmp_path: Path) -> None:
    """The kernel's process is gone a moment before the zygote writes its note: its manager
    reads the note written then (it returned -1 and kept it before), and -1 only after the
    grace when no note comes (a zygote that died)."""
    import subprocess
    import threading

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # collected: its pid is gone, as after the zygote's waitpid
    kernel = zygote.ForkedKernel(proc.pid, tmp_path)
    late = threading.Timer(0.3, lambda: (tmp_path / f"exit-{proc.pid}").write_text("3"))
    late.start()
    try:
        assert kernel.poll() == 3
    finally:
        late.cancel()
    silent = zygote.ForkedKernel(proc.pid, tmp_path / "nowhere")
    assert silent.poll() == -1
