"""The engine's classes: Papermill's nbclient engine with sparse saves, and a kernel manager.

Import :mod:`leadnb.run.engine`, not this module: see there for the design and why the package
imports ``papermill.engines`` before this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager

from leadnb.run.kernel_manager import OwnInterpreterKernelManager, manager_class
from leadnb.run.kernels import KERNEL_ARGS

ENGINE = "leadnb"  # the engine's name in the papermill.engine entry point group (pyproject)


class SparseSaves(NotebookExecutionManager):  # type: ignore[misc]
    """Papermill's execution manager, writing the notebook at the end and at most every
    ``autosave_cell_every`` seconds before it."""

    final = False

    def save(self, **kwargs: Any) -> None:
        """Write the notebook when it is complete or the autosave interval has passed."""
        waited = (self.now() - self.last_save_time).total_seconds()
        if self.final or waited >= self.autosave_cell_every:
            super().save(**kwargs)

    def notebook_complete(self, **kwargs: Any) -> None:
        """Mark the notebook complete and write it (always)."""
        self.final = True
        super().notebook_complete(**kwargs)


class LeadnbEngine(NBClientEngine):  # type: ignore[misc]
    """Papermill's nbclient engine with :class:`SparseSaves` as its execution manager."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        """Execute ``nb`` as Papermill's engine does; the arguments are Papermill's."""
        manager = SparseSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()  # always written, as with Papermill's engine
        return manager.nb


def ensure_registered() -> None:
    """Register :class:`LeadnbEngine` as :data:`ENGINE` unless the entry point already has."""
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillException

    try:
        papermill_engines.get_engine(ENGINE)
    except PapermillException:
        papermill_engines.register(ENGINE, LeadnbEngine)


def execute_notebook(
    input_path: Path,
    output_path: Path,
    *,
    parameters: dict[str, Any],
    kernel_name: str,
    cwd: Path,
    own_kernel: bool = False,
    km: Any = None,
) -> None:
    """Execute one notebook with Papermill on :class:`LeadnbEngine`.

    Parameters
    ----------
    input_path, output_path : Path
        The notebook and where its executed copy is written (also when a cell fails).
    parameters : dict
        Injected by Papermill after the cell tagged ``parameters``.
    kernel_name : str
        The Jupyter kernel.
    cwd : Path
        Working directory of the kernel (the notebooks folder).
    own_kernel : bool, default False
        Start the kernel on this interpreter (:class:`OwnInterpreterKernelManager`) because the
        named kernelspec is not installed.
    km : AsyncKernelManager, optional
        A kernel already running in ``cwd`` (:mod:`leadnb.run.warm`): the notebook runs in it
        and the caller shuts it down; without it a kernel is started and shut down here.

    Raises
    ------
    papermill.exceptions.PapermillExecutionError
        A cell raised; the output notebook holds its error.
    nbclient.exceptions.DeadKernelError
        The kernel died.
    """
    import papermill

    ensure_registered()
    extra: dict[str, Any] = {}
    if km is not None:
        extra["km"] = km
    else:  # Unix sockets: kernels started side by side never collide on a port
        extra["kernel_manager_class"] = manager_class(own_kernel)
    papermill.execute_notebook(
        str(input_path),
        str(output_path),
        parameters=parameters,
        engine_name=ENGINE,
        kernel_name=kernel_name,
        cwd=str(cwd),
        progress_bar=False,
        log_output=False,
        extra_arguments=list(KERNEL_ARGS),
        **extra,
    )


__all__ = [
    "ENGINE",
    "LeadnbEngine",
    "OwnInterpreterKernelManager",
    "SparseSaves",
    "ensure_registered",
    "execute_notebook",
]
