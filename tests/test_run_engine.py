"""leadnb.run.engine and leadnb.run.kernels: the Papermill engine registered through its entry
point, the output notebook written once, and the kernel fallback to this interpreter."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import nbformat
import pytest

from leadnb.run import engine, kernels
from leadnb.run.execute import NotebookTask, papermill_execute

ROOT = Path(__file__).resolve().parents[1]


def test_entry_point_is_declared_and_installed() -> None:
    from importlib.metadata import entry_points

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    target = declared["papermill.engine"][engine.ENGINE]
    assert target == "leadnb.run.engine.nbclient:LeadnbEngine"
    installed = {e.name: e.value for e in entry_points(group="papermill.engine")}
    assert installed.get(engine.ENGINE) == target, (
        "the installed metadata lacks leadnb's papermill.engine entry point: run pip install -e ."
    )


@pytest.mark.parametrize(
    "first",
    ["import papermill", "import leadnb.run.engine", "import leadnb.run.engine.nbclient"],
)
def test_papermill_finds_the_engine_whatever_is_imported_first(first: str) -> None:
    """Papermill loads the entry point on import; no explicit registration happens here."""
    code = (
        f"{first}\n"
        "from papermill.engines import papermill_engines\n"
        "from leadnb.run.engine.nbclient import LeadnbEngine\n"
        "print(papermill_engines.get_engine('leadnb') is LeadnbEngine)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_ensure_registered_keeps_the_registered_engine() -> None:
    from papermill.engines import papermill_engines

    engine.ensure_registered()
    assert papermill_engines.get_engine(engine.ENGINE) is engine.LeadnbEngine


def test_missing_kernel_falls_back_to_this_interpreter() -> None:
    choice = kernels.resolve_kernel("leadnb-no-such-kernel-xyz")
    assert choice.own_interpreter and choice.argv[0] == sys.executable
    assert "not installed" in choice.describe() and kernels.OWN_KERNEL in choice.describe()
    assert engine.OwnInterpreterKernelManager().kernel_spec.argv[:3] == [
        sys.executable,
        "-m",
        "ipykernel_launcher",
    ]


def _engine_run(tmp_path: Path, sources: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Run a small notebook with leadnb's Papermill engine; count the output file's writes."""
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
    task = NotebookTask("t", src, tmp_path, {}, tmp_path)
    err = None
    try:
        papermill_execute(task, out)  # as a run does
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


def test_kernels_started_together_each_get_their_own_unix_sockets(tmp_path: Path) -> None:
    """Four kernels started at the same moment all answer (TCP ports chosen side by side can
    collide: Papermill issue 511); their sockets are files in folders of their own, removed at
    shutdown."""
    import asyncio
    import os

    from leadnb.run.kernel_manager import UNIX_SOCKETS, LocalKernelManager, ReadyClient

    if not UNIX_SOCKETS:
        pytest.skip("no Unix sockets on this system: kernels use TCP")

    async def start_all() -> list[tuple[str, str, str]]:
        managers = [LocalKernelManager(kernel_name=kernels.KERNEL_NAME) for _ in range(4)]
        await asyncio.gather(*(km.start_kernel(cwd=str(tmp_path)) for km in managers))
        seen = []
        try:
            for i, km in enumerate(managers):
                kc = km.client()
                assert isinstance(kc, ReadyClient)
                kc.start_channels()
                await kc.wait_for_ready(timeout=120)
                msg_id = kc.execute(f"print({i} * 7)")
                while True:
                    reply = await kc.get_iopub_msg(timeout=60)
                    if (
                        reply["parent_header"].get("msg_id") == msg_id
                        and "text" in reply["content"]
                    ):
                        break
                kc.stop_channels()
                seen.append((km.transport, km.ip, reply["content"]["text"].strip()))
            folders = [km.socket_folder for km in managers]
            assert all(f and os.path.isdir(f) for f in folders)
        finally:
            await asyncio.gather(*(km.shutdown_kernel(now=True) for km in managers))
        assert not any(os.path.exists(f) for f in folders)  # removed with the kernel
        return seen

    seen = asyncio.run(start_all())
    assert [s[2] for s in seen] == ["0", "7", "14", "21"]
    assert {s[0] for s in seen} == {"ipc"}
    assert len({os.path.dirname(s[1]) for s in seen}) == 4  # a folder each
    assert not any(tmp_path.iterdir())  # nothing in the kernels' working folder


class _Channel:
    """A client channel that hands out queued messages; ``None`` in the queue is a wait that
    times out (``queue.Empty``), as is an empty queue."""

    def __init__(self, *messages: dict[str, Any] | None) -> None:
        self.messages = list(messages)
        self.waits: list[float | None] = []

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        from queue import Empty

        self.waits.append(timeout)
        if not self.messages or self.messages[0] is None:
            if self.messages:
                self.messages.pop(0)
            raise Empty
        return self.messages.pop(0)


def _ready_client(shell: _Channel, iopub: _Channel, *, alive: bool = True) -> Any:
    from leadnb.run.kernel_manager import LocalKernelManager, ReadyClient

    class Probe(ReadyClient):
        asked = 0

        def kernel_info(self) -> str:
            self.asked += 1
            return f"info-{self.asked}"

        async def _async_is_alive(self) -> bool:
            return alive

    kc = Probe(parent=LocalKernelManager(kernel_name=kernels.KERNEL_NAME))
    kc._shell_channel, kc._iopub_channel = shell, iopub
    return kc


INFO_REPLY = {"msg_type": "kernel_info_reply", "content": {"protocol_version": "5.3"}}
STATUS = {"msg_type": "status", "content": {"execution_state": "busy"}}


def test_the_ready_client_returns_once_the_kernel_answered_without_waiting_for_silence() -> None:
    """The kernel_info reply and one IOPub message are enough; the messages already there are
    taken without waiting (jupyter_client waits for 0.2 s of silence on IOPub)."""
    import asyncio

    shell, iopub = _Channel(INFO_REPLY), _Channel(STATUS, STATUS, STATUS)
    kc = _ready_client(shell, iopub)
    asyncio.run(kc.wait_for_ready(timeout=5))
    assert kc.asked == 1
    assert not iopub.messages  # drained
    assert iopub.waits == [0.2, 0, 0, 0]  # a wait for the first message, none after it


def test_the_ready_client_asks_again_until_iopub_is_connected() -> None:
    import asyncio

    shell = _Channel(INFO_REPLY, INFO_REPLY)
    iopub = _Channel(None, STATUS)  # the first reply came before IOPub was subscribed
    kc = _ready_client(shell, iopub)
    asyncio.run(kc.wait_for_ready(timeout=5))
    assert kc.asked == 2 and not shell.messages


def test_the_ready_client_says_when_the_kernel_died_or_never_answered() -> None:
    import asyncio

    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(_ready_client(_Channel(None), _Channel(), alive=False).wait_for_ready(5))
    with pytest.raises(RuntimeError, match="didn't respond in 0 seconds"):
        asyncio.run(_ready_client(_Channel(None), _Channel()).wait_for_ready(timeout=0))
