"""leadnb's Papermill engine: Papermill's nbclient engine, saving the output notebook less often.

Design. Papermill's own engine writes the output notebook (validated JSON, images included)
before and after every cell: about 60 writes per report. The run folder is not read until the
notebook ends, so :class:`LeadnbEngine` writes when the notebook ends (whatever the outcome, as
Papermill does) and, during a long run, at most as often as Papermill's own
``autosave_cell_every`` (30 s), so a stuck cell still shows its progress. A kernel on the
runner's own interpreter (:class:`OwnInterpreterKernelManager`) replaces a missing ``leadnb``
kernelspec; every kernel is started by :mod:`leadnb.run.kernel_manager` (Unix sockets, not
TCP ports that two kernels started at once can both be given).

Registration is Papermill's own mechanism for engines of other packages: the entry point
``leadnb = "leadnb.run.engine.nbclient:LeadnbEngine"`` in the group ``papermill.engine``
(``pyproject.toml``), which ``papermill.engines`` loads on its last line, when it is imported.
After a change there, ``pip install -e .`` registers it again. :func:`execute_notebook`
registers the class itself only when the entry point is missing (a checkout used without
installing it).

Why a package of two modules: loading the entry point imports the module that defines the
engine while ``papermill.engines`` is still being imported, and a module that subclasses
Papermill's engine must import ``papermill.engines``. Had that module been imported first (by
leadnb or a test), Papermill would find it half-imported, without its class, and fail. This
``__init__`` imports ``papermill.engines`` before :mod:`leadnb.run.engine.nbclient`, so that
module is always imported from inside Papermill's import, whichever is imported first.
"""

from __future__ import annotations

import papermill.engines  # noqa: F401  (first: it loads the entry point, see above)

from leadnb.run.engine.nbclient import (
    ENGINE,
    LeadnbEngine,
    OwnInterpreterKernelManager,
    SparseSaves,
    ensure_registered,
    execute_notebook,
)

__all__ = [
    "ENGINE",
    "LeadnbEngine",
    "OwnInterpreterKernelManager",
    "SparseSaves",
    "ensure_registered",
    "execute_notebook",
]
