"""Which Jupyter kernel a run uses: the ``leadnb`` kernelspec, or the runner's own interpreter.

Design. ``make`` installs a ``leadnb`` kernelspec; a plain ``pip install leadnb`` has none. The
runner's own interpreter has ipykernel and every package the notebooks import, so when the
named kernel is missing a run starts ``sys.executable -m ipykernel_launcher`` instead and says
so (progress line and manifest: ``own-interpreter``). Choosing is cheap and imports only
``jupyter_client``; the kernel managers that start kernels, on Unix sockets so that kernels
started side by side never collide on a port, are in :mod:`leadnb.run.kernel_manager`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

KERNEL_NAME = "leadnb"
OWN_KERNEL = "own-interpreter"  # what the manifest calls the fallback kernel (sys.executable)
# the kernel's own log is kept out of the run's log: on TCP (Jupyter's default transport, used
# where there are no Unix sockets) it says at every start that local TCP is unencrypted, and
# now and then, as an "error",
# that the interrupt jupyter_client sends before shutting a kernel down found it idle. What
# matters is not lost: a cell's error is in the notebook and a dead kernel fails the notebook.
# IPython's history is off too: a run's kernels wrote every cell of every notebook into the
# user's IPython history database (230 kB per demo run, from a thread of each kernel beside its
# cells; a weekly job's history only ever grew), which no one reads
KERNEL_ARGS = ("--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False")
# one thread per numerical library in each kernel: a run's parallelism is its notebooks (--jobs),
# and BLAS threads of two kernels on two cores stall each other (a statsmodels fit at a million
# leads took 32.5 s with the default threads, 5.4 s with one); a value the user set wins
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class KernelChoice:
    """The kernel a run uses: the named Jupyter kernel, or the runner's own interpreter."""

    name: str
    own_interpreter: bool
    argv: tuple[str, ...]

    def describe(self) -> str:
        """One line for the progress log, e.g. ``leadnb (/path/to/python)``."""
        if self.own_interpreter:
            return (
                f"{OWN_KERNEL} ({self.argv[0]}; the Jupyter kernel {self.name!r} is not installed)"
            )
        return f"{self.name} ({self.argv[0] if self.argv else 'kernelspec'})"


def kernel_env(environ: Mapping[str, str] | None = None, *, jobs: int = 1) -> dict[str, str]:
    """The environment variables a run sets for its kernels (:data:`THREAD_VARS` = ``"1"``),
    leaving out any the user already set.

    With ``jobs`` above 1 (notebooks running side by side), each kernel's
    :func:`leadnb.parallel.fork_map` also gets its share of the cores
    (:data:`leadnb.parallel.PROCESSES_ENV`: the cores divided by ``jobs``, at least 1): the
    notebooks already keep the cores busy, and a fork only adds its own costs (copied page
    tables, pages written twice, fresh memory for the child). At a million leads on 2 cores
    (``--jobs 2``), with the lead queue's chunks in the scoring kernel alone instead of shared
    with a forked copy of it, the whole run took 27.7-32.1 s against 28.0-33.6 s, faster in
    each of four alternated pairs (system time 8.0-9.9 s against 8.8-13.0 s), and a median of
    28.8 against 29.4 s in eight more (faster in six), its tables identical. A notebook run
    alone still forks on every core. With that share it also gets
    :data:`leadnb.parallel.SHARED_ENV` = ``"1"``: a core the other notebooks leave idle (they
    have finished) may be borrowed; a user's own ``LEADNB_SHARED_CORES=0`` keeps to the share.

    >>> kernel_env({})
    {'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    >>> kernel_env({"OMP_NUM_THREADS": "4"})
    {'OPENBLAS_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    >>> int(kernel_env({}, jobs=2)["LEADNB_PROCESSES"]) >= 1
    True
    >>> "LEADNB_PROCESSES" in kernel_env({"LEADNB_PROCESSES": "4"}, jobs=2)
    False
    >>> kernel_env({}, jobs=2)["LEADNB_SHARED_CORES"], "LEADNB_SHARED_CORES" in kernel_env({})
    ('1', False)
    >>> "LEADNB_SHARED_CORES" in kernel_env({"LEADNB_SHARED_CORES": "0"}, jobs=2)
    False
    """
    from leadnb.parallel import PROCESSES_ENV, SHARED_ENV, available_cores

    env = os.environ if environ is None else environ
    out = {k: "1" for k in THREAD_VARS if k not in env}
    if jobs > 1 and PROCESSES_ENV not in env:
        out[PROCESSES_ENV] = str(max(1, available_cores() // jobs))
        if SHARED_ENV not in env:
            out[SHARED_ENV] = "1"
    return out


def worker_env(jobs: int) -> dict[str, str]:
    """The environment of a run's worker processes and zygote, with ``jobs`` notebooks at once:
    this process's, with :func:`kernel_env` added for the kernels they start."""
    return {**os.environ, **kernel_env(jobs=jobs)}


@contextlib.contextmanager
def kernel_environment() -> Iterator[None]:
    """Inside the block, processes started from this one (kernels) get :func:`kernel_env`;
    the environment is restored after it."""
    added = kernel_env()
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def own_kernel_argv() -> tuple[str, ...]:
    """The command of a kernel on the runner's own interpreter (nbclient fills the file).

    Returns
    -------
    tuple of str
        ``(sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}")``.

    Examples
    --------
    >>> own_kernel_argv()[1:]
    ('-m', 'ipykernel_launcher', '-f', '{connection_file}')
    """
    return (sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}")


def resolve_kernel(kernel_name: str) -> KernelChoice:
    """The Jupyter kernel ``kernel_name`` if installed, else a kernel on ``sys.executable``.

    Parameters
    ----------
    kernel_name : str
        The kernelspec to look up (``leadnb``).

    Returns
    -------
    KernelChoice
        ``own_interpreter`` is True when the kernelspec is not installed; ``argv`` is the
        command that starts the kernel.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return KernelChoice(kernel_name, True, own_kernel_argv())
    return KernelChoice(kernel_name, False, tuple(spec.argv))


__all__ = [
    "KERNEL_ARGS",
    "THREAD_VARS",
    "kernel_env",
    "kernel_environment",
    "worker_env",
    "KERNEL_NAME",
    "OWN_KERNEL",
    "KernelChoice",
    "own_kernel_argv",
    "resolve_kernel",
]
