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
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from leadnb.run.kernels import own_kernel_argv

UNIX_SOCKETS = os.name == "posix"
"""Whether kernels use the ``ipc`` transport (Unix sockets) rather than TCP ports."""


class LocalKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """A kernel on this machine whose sockets are Unix sockets in a private folder (see the
    module docstring); a ``transport`` or ``ip`` given by the caller is kept as given."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unix_sockets = UNIX_SOCKETS and "transport" not in kwargs and "ip" not in kwargs
        self.socket_folder: str | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.unix_sockets and self.socket_folder is None:  # a restart keeps its folder
            self.socket_folder = tempfile.mkdtemp(prefix="leadnb-kernel-")
            self.transport, self.ip = "ipc", os.path.join(self.socket_folder, "s")
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self.socket_folder:  # a restarted kernel binds the same paths again
            shutil.rmtree(self.socket_folder, ignore_errors=True)
            self.socket_folder = None

    cleanup_resources = _async_cleanup_resources


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


__all__ = ["UNIX_SOCKETS", "LocalKernelManager", "OwnInterpreterKernelManager", "manager_class"]
