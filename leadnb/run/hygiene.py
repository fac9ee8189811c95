"""Keeping the output folder clean and safe: locks, guarded deletes, stale folders, scrubbing.

Design. Nothing a run does may delete outside its own temporary folder
(:func:`remove_tree` refuses), two runs into one OUT folder serialise their index rewrites on
``OUT/.lock`` (:func:`out_lock`), a temporary folder records the process that owns it so the
next run can tell a folder of a killed run from one still being written
(:func:`write_owner`, :func:`remove_stale_tmp`), and every text file of a notebook folder is
masked before publishing (:func:`scrub_folder`); a binary file holding a secret is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from leadnb.masking import Secret, mask_text

OWNER_FILE = ".owner"  # in OUT/.tmp-<run_id>/: "<pid> <process start time>" of the run writing it
TEXT_SUFFIXES = {".ipynb", ".html", ".htm", ".csv", ".tsv", ".json", ".txt", ".md", ".svg", ".log"}


def say(line: str) -> None:
    """Print one progress line on stderr (the default of every ``progress`` argument)."""
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def out_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``OUT/.lock`` (a no-op where ``fcntl`` is unavailable).

    Parameters
    ----------
    out : Path
        The output root; it must exist.

    Yields
    ------
    None
        While the lock is held.
    """
    try:
        import fcntl
    except ImportError:  # Windows: index rewrites are still atomic, just not serialised
        yield
        return
    with (out / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_tree(path: Path, root: Path) -> None:
    """``shutil.rmtree(path)``, only when ``path`` lies strictly inside ``root`` (resolved).

    Parameters
    ----------
    path : Path
        The folder to delete.
    root : Path
        The folder it must lie inside (a run's temporary folder).

    Raises
    ------
    RuntimeError
        When ``path`` is ``root`` itself or outside it (``..``, a symlink out).
    """
    target, base = path.resolve(), root.resolve()
    if target == base or base not in target.parents:
        raise RuntimeError(f"refusing to delete {target}: it is not inside {base}")
    shutil.rmtree(target)


def process_start(pid: int) -> float | None:
    """The start time of process ``pid`` (seconds since the epoch), ``None`` when it is gone.

    Examples
    --------
    >>> process_start(os.getpid()) > 0
    True
    """
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def write_owner(tmp: Path) -> None:
    """Record this process (pid and start time) as the owner of the temporary folder ``tmp``."""
    (tmp / OWNER_FILE).write_text(
        f"{os.getpid()} {process_start(os.getpid()) or 0}\n", encoding="utf-8"
    )


def owner_alive(tmp: Path) -> bool:
    """Whether the process recorded in ``tmp/.owner`` (pid and start time) still runs.

    A recycled pid is told apart by its start time; a folder without an owner file (from a
    leadnb before owners) has no live owner.
    """
    try:
        pid_s, started_s = (tmp / OWNER_FILE).read_text(encoding="utf-8").split()[:2]
        pid, started = int(pid_s), float(started_s)
    except (OSError, ValueError):
        return False
    now_started = process_start(pid)
    return now_started is not None and abs(now_started - started) < 1.0


def remove_stale_tmp(out: Path, progress: Callable[[str], None] | None = None) -> list[str]:
    """Remove the ``OUT/.tmp-*`` folders no live run owns (call under :func:`out_lock`).

    A run writes its pid and process start time into ``.tmp-<id>/.owner`` under the same lock
    it creates the folder under, so a folder without a live owner is left from a killed or
    crashed run.

    Parameters
    ----------
    out : Path
        The output root.
    progress : callable, optional
        Receives one line naming the removed folders (default: stderr).

    Returns
    -------
    list of str
        The names of the removed folders.
    """
    removed = []
    for tmp in sorted(out.glob(".tmp-*")):
        if tmp.is_symlink() or not tmp.is_dir() or owner_alive(tmp):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp.name)
    if removed:
        (progress or say)(
            f"removed {len(removed)} temporary folder(s) left by runs that are no longer "
            f"running: {', '.join(removed)}"
        )
    return removed


TEMP_PREFIXES = ("leadnb-kernel-", "leadnb-forks-")
"""Folders a run makes in the system's temporary directory: a kernel's sockets
(:mod:`leadnb.run.kernel_manager`) and the kernels' zygote (:mod:`leadnb.run.zygote`)."""
TEMP_GRACE_SECONDS = 60.0  # younger folders are never swept: their owner may be writing it


def remove_stale_temp(folder: str | Path | None = None, *, now: float | None = None) -> list[str]:
    """Remove this user's :data:`TEMP_PREFIXES` folders in ``folder`` (default: the system's
    temporary directory) that no live process owns: a run killed outright cannot remove them
    itself. A folder is kept while its owner (pid and start time in its owner file, as
    :func:`owner_alive`) runs, and while it is younger than :data:`TEMP_GRACE_SECONDS` (its
    owner may be about to write that file); a folder older than that without one is stale.

    Returns
    -------
    list of str
        The names of the removed folders.
    """
    import tempfile
    import time

    root = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for path in sorted(entries):
        if not path.name.startswith(TEMP_PREFIXES) or path.is_symlink():
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_dir() or st.st_uid != os.getuid() or now - st.st_mtime < TEMP_GRACE_SECONDS:
            continue
        if (path / OWNER_FILE).exists() and owner_alive(path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def scrub_folder(
    folder: Path, secrets: Sequence[Secret], replacements: Sequence[tuple[str, str]] = ()
) -> list[str]:
    """Mask secrets (and apply plain ``replacements``) in every text file under ``folder``.

    Parameters
    ----------
    folder : Path
        A notebook's output folder.
    secrets : sequence of Secret
        What to mask (:func:`leadnb.masking.mask_text`).
    replacements : sequence of (str, str), optional
        Plain replacements applied first, e.g. the temporary run folder's path by the final one.

    Returns
    -------
    list of str
        The files (relative to ``folder``) deleted because they are binary and hold a secret.
    """
    removed: list[str] = []
    needles = [s.value.encode() for s in secrets]
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.suffix.lower() in TEXT_SUFFIXES:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                new = text
                for old, repl in replacements:
                    new = new.replace(old, repl)
                new = mask_text(new, secrets)
                if new != text:
                    path.write_text(new, encoding="utf-8")
                continue
        if needles:
            data = path.read_bytes()
            if any(n in data for n in needles):
                path.unlink()
                removed.append(str(path.relative_to(folder)))
    return removed


__all__ = [
    "OWNER_FILE",
    "out_lock",
    "owner_alive",
    "process_start",
    "remove_stale_temp",
    "remove_stale_tmp",
    "remove_tree",
    "say",
    "scrub_folder",
    "write_owner",
]
