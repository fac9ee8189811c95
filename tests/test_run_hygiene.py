"""leadnb.run.hygiene: the guarded delete, owners of temporary folders, scrubbing secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from leadnb.masking import Secret
from leadnb.run import hygiene


def test_remove_tree_refuses_outside_and_the_root_itself(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    run_dir = tmp_path / "out" / ".tmp-r"
    (run_dir / "nb").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="not inside"):
        hygiene.remove_tree(outside, run_dir)
    with pytest.raises(RuntimeError, match="not inside"):
        hygiene.remove_tree(run_dir, run_dir)
    with pytest.raises(RuntimeError, match="not inside"):
        hygiene.remove_tree(run_dir / "nb" / ".." / ".." / ".." / "outside", run_dir)
    (run_dir / "link").symlink_to(outside)
    with pytest.raises(RuntimeError, match="not inside"):
        hygiene.remove_tree(run_dir / "link", run_dir)
    assert (outside / "keep.txt").exists() and run_dir.exists()
    hygiene.remove_tree(run_dir / "nb", run_dir)
    assert not (run_dir / "nb").exists()


def test_scrub_folder(tmp_path: Path) -> None:
    found = (Secret("tok3n-value", "[secret $X]"),)
    (tmp_path / "a.csv").write_text("url\ntok3n-value\n/tmp/.tmp-run/x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text('{"u": "postgresql://u:pw@h/db"}')
    (tmp_path / "leak.bin").write_bytes(b"\x00tok3n-value\xff")
    (tmp_path / "fine.png").write_bytes(b"\x89PNG\x00\x01")
    removed = hygiene.scrub_folder(tmp_path, found, [("/tmp/.tmp-run", "/tmp/run")])
    assert removed == ["leak.bin"]
    assert (tmp_path / "a.csv").read_text() == "url\n[secret $X]\n/tmp/run/x\n"
    assert (tmp_path / "sub" / "b.json").read_text() == '{"u": "postgresql://***@h/db"}'
    assert (tmp_path / "fine.png").exists()


def test_owner_alive(tmp_path: Path) -> None:
    hygiene.write_owner(tmp_path)
    assert hygiene.owner_alive(tmp_path)  # this process
    (tmp_path / hygiene.OWNER_FILE).write_text(f"{os.getpid()} 12345.0\n")  # pid reused
    assert not hygiene.owner_alive(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(dead.pid).create_time() if psutil.pid_exists(dead.pid) else 1.0
    dead.wait()
    (tmp_path / hygiene.OWNER_FILE).write_text(f"{dead.pid} {started}\n")
    assert not hygiene.owner_alive(tmp_path)
    (tmp_path / hygiene.OWNER_FILE).unlink()  # a folder of a leadnb before owners
    assert not hygiene.owner_alive(tmp_path)


def test_remove_stale_tmp_keeps_live_owners(tmp_path: Path) -> None:
    (tmp_path / ".tmp-dead").mkdir()
    live = tmp_path / ".tmp-live"
    live.mkdir()
    hygiene.write_owner(live)
    (tmp_path / "published").mkdir()
    lines: list[str] = []
    assert hygiene.remove_stale_tmp(tmp_path, lines.append) == [".tmp-dead"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-live", "published"]
    assert lines == [
        "removed 1 temporary folder(s) left by runs that are no longer running: .tmp-dead"
    ]
    assert hygiene.remove_stale_tmp(tmp_path, lines.append) == [] and len(lines) == 1


def test_out_lock_is_exclusive(tmp_path: Path) -> None:
    code = (
        "import fcntl, sys\n"
        f"fh = open({str(tmp_path / '.lock')!r}, 'a')\n"
        "try:\n"
        "    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    sys.exit(7)\n"
    )
    with hygiene.out_lock(tmp_path):
        held = subprocess.run([sys.executable, "-c", code], timeout=60)
    free = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert (held.returncode, free.returncode) == (7, 0)


def test_temporary_kernel_folders_of_dead_owners_are_removed(tmp_path: Path) -> None:
    """Kernel socket and zygote folders left in the temporary directory by a run killed
    outright: removed when their owner is gone and they are older than the grace period; a
    live owner's, a young one and other names are kept."""
    import time

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = time.time() - 2 * hygiene.TEMP_GRACE_SECONDS
    made = {}
    for name, owner in [
        ("leadnb-kernel-dead", f"{dead.pid} 1.0"),
        ("leadnb-forks-dead", f"{dead.pid} 1.0"),
        ("leadnb-kernel-noowner", None),
        ("leadnb-forks-live", f"{os.getpid()} {hygiene.process_start(os.getpid())}"),
        ("other-dead", f"{dead.pid} 1.0"),
    ]:
        path = tmp_path / name
        path.mkdir()
        (path / "s-1").write_text("")
        if owner:
            (path / hygiene.OWNER_FILE).write_text(owner)
        os.utime(path, (old, old))
        made[name] = path
    young = tmp_path / "leadnb-kernel-young"
    young.mkdir()
    removed = hygiene.remove_stale_temp(tmp_path)
    assert removed == ["leadnb-forks-dead", "leadnb-kernel-dead", "leadnb-kernel-noowner"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "leadnb-forks-live",
        "leadnb-kernel-young",
        "other-dead",
    ]
