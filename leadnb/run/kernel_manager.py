"""The kernel managers of a run: kernels that talk to the runner over Unix sockets.

Design. Jupyter's default transport is TCP on 127.0.0.1, and ``jupyter_client`` picks a kernel's
five ports by binding port 0, reading the number and closing the socket; the kernel binds them
later. Two kernels started at the same moment (``leadnb run --jobs 2`` starts its warm kernels
together, and ``pytest -n 2`` runs notebooks side by side) can be handed the same free port:
one kernel then fails to bind (``zmq.error.ZMQError: Address already in use``, Papermill issue
511) and never answers, and the run waited two minutes for its warm-up before starting another
(seen on the demo: 145 s instead of 32 s; in the tests, "Kernel died before replying to
kernel_info"). :class:`LocalKernelManager` uses ZeroMQ's ``ipc`` transport instead, on every
system that has Unix sockets: each kernel's sockets are files in a folder of its own
(``mkdtemp``: private to the user, short enough for the socket path limit), so no two kernels
can collide, and the folder is removed when the kernel is shut down (a run killed outright
leaves it in the temporary directory, as Jupyter leaves its connection files there). Elsewhere
(Windows) it is Jupyter's usual TCP.

In a run whose workers were given a zygote (:mod:`leadnb.run.zygote`, the folder in
``LEADNB_KERNEL_FORKS``), a kernel whose command is ``<python> -m ipykernel_launcher`` is forked
from it, its libraries already imported, instead of started from nothing; when the zygote
cannot serve, the kernel starts as usual.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from leadnb.run.hygiene import write_owner
from leadnb.run.kernels import own_kernel_argv

UNIX_SOCKETS = os.name == "posix"
"""Whether kernels use the ``ipc`` transport (Unix sockets) rather than TCP ports."""


IOPUB_WAIT = 0.2  # seconds for the first IOPub message after a kernel_info reply (as Jupyter's)


class ReadyClient(AsyncKernelClient):  # type: ignore[misc]
    """Jupyter's asynchronous kernel client, ready as soon as the kernel has answered.

    ``wait_for_ready`` asks for ``kernel_info`` until the kernel replies on the shell channel
    and a message has come through IOPub (ipykernel greets each subscriber), as Jupyter's does;
    Jupyter's then reads IOPub until it has been silent for 0.2 s, a wait every kernel of a
    run paid once or twice (the warm-up's client and then nbclient's). This one takes the
    messages already there and returns: what arrives later belongs to the kernel_info requests
    and every reader of IOPub (nbclient, :mod:`leadnb.run.warm`) skips messages that are not
    replies to its own request.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answers ``kernel_info`` and IOPub is connected.

        Raises ``RuntimeError`` when the kernel dies first or ``timeout`` seconds pass.
        """
        if not isinstance(self.parent, AsyncKernelManager):  # heartbeats first: Jupyter's way
            await super().wait_for_ready(timeout=timeout)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=IOPUB_WAIT)
                except Empty:  # IOPub not connected yet: ask again
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what is already there, without waiting for silence
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break


class LocalKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """A kernel on this machine whose sockets are Unix sockets in a private folder (see the
    module docstring); a ``transport`` or ``ip`` given by the caller is kept as given. Its
    clients are :class:`ReadyClient`."""

    client_class = DottedObjectName("leadnb.run.kernel_manager.ReadyClient")
    client_factory = Type(klass="leadnb.run.kernel_manager.ReadyClient")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unix_sockets = UNIX_SOCKETS and "transport" not in kwargs and "ip" not in kwargs
        self.socket_folder: str | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.unix_sockets and self.socket_folder is None:  # a restart keeps its folder
            self.socket_folder = tempfile.mkdtemp(prefix="leadnb-kernel-")
            write_owner(Path(self.socket_folder))  # a later run removes it if we are killed
            self.transport, self.ip = "ipc", os.path.join(self.socket_folder, "s")
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self.socket_folder:  # a restarted kernel binds the same paths again
            shutil.rmtree(self.socket_folder, ignore_errors=True)
            self.socket_folder = None

    cleanup_resources = _async_cleanup_resources

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        forked = _forked(kernel_cmd, kw)
        if forked is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        provisioner = self.provisioner
        assert provisioner is not None
        # what LocalProvisioner.launch_kernel records of the process it starts
        provisioner.process = forked
        provisioner.pid = provisioner.pgid = forked.pid  # the child made its own group
        provisioner.cwd = kw.get("cwd") or os.getcwd()
        self._reconcile_connection_info(provisioner.connection_info)

    _launch_kernel = _async_launch_kernel


def _forked(kernel_cmd: list[str], kw: dict[str, Any]) -> Any:
    """The kernel forked by this process's zygote, or ``None`` (start it the usual way)."""
    from leadnb.run import zygote

    folder = zygote.forks_folder()
    parts = zygote.launcher_args(kernel_cmd)
    if folder is None or parts is None:
        return None
    env = kw.get("env")
    return zygote.fork_kernel(
        folder,
        parts[0],
        parts[1],
        env=dict(os.environ if env is None else env),
        cwd=kw.get("cwd") or os.getcwd(),
    )


class OwnInterpreterKernelManager(LocalKernelManager):
    """A kernel manager whose kernel is ``sys.executable -m ipykernel_launcher`` whatever the
    kernel name (used when the named kernelspec is not installed)."""

    @property
    def kernel_spec(self) -> KernelSpec:
        """The kernelspec of the runner's own interpreter."""
        return KernelSpec(
            argv=list(own_kernel_argv()),
            display_name=f"Python ({sys.executable})",
            language="python",
            resource_dir="",
        )


def manager_class(own_interpreter: bool) -> type[LocalKernelManager]:
    """The kernel manager for a run's kernel: on its own interpreter, or the named kernel."""
    return OwnInterpreterKernelManager if own_interpreter else LocalKernelManager


__all__ = [
    "UNIX_SOCKETS",
    "LocalKernelManager",
    "ReadyClient",
    "OwnInterpreterKernelManager",
    "manager_class",
]
