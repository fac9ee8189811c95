"""Compare two ``leadnb run`` folders: tables and metrics.json byte for byte.

The refactor's promise is that moving code changes no number. This helper checks it: every CSV
table and every ``metrics.json`` of one run folder must equal the other's, byte for byte, once the
run id and timestamps (the only things that differ between two runs of the same parameters) are
masked. HTML, notebooks, figures and logs are not compared: they carry timings and kernel details.

Use it from the command line before and after a change::

    leadnb run params/demo.yaml --out /tmp/before        # on the old commit
    leadnb run params/demo.yaml --out /tmp/after         # on the new commit
    python -m tests.run_compare /tmp/before/<run_id> /tmp/after/<run_id>

or from a test: ``assert compare_runs(a, b) == []``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: A run id, ``YYYYMMDD-HHMMSS-<name>-<as_of>`` (with an optional ``-N`` when two start at once).
RUN_ID = re.compile(rb"\b\d{8}-\d{6}(?:-\d+)?-[A-Za-z0-9_.-]*?-\d{4}-\d{2}-\d{2}\b")
#: A wall-clock timestamp with seconds, as written by the runner (never a data date).
TIMESTAMP = re.compile(
    rb"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b"
)

COMPARED = ("*.csv", "metrics.json")


def masked(data: bytes) -> bytes:
    """Return ``data`` with run ids and wall-clock timestamps replaced by fixed tokens."""
    return TIMESTAMP.sub(b"<TIMESTAMP>", RUN_ID.sub(b"<RUN_ID>", data))


def compared_files(run_dir: Path) -> list[str]:
    """Relative paths of the files :func:`compare_runs` compares, sorted."""
    found = {
        p.relative_to(run_dir).as_posix() for pattern in COMPARED for p in run_dir.rglob(pattern)
    }
    return sorted(found)


def compare_runs(before: Path, after: Path, *, max_lines: int = 3) -> list[str]:
    """List every difference between two run folders' tables and metrics (``[]`` when equal).

    Parameters
    ----------
    before, after
        Two run folders (``OUT/<run_id>/``) of the same parameters and data.
    max_lines
        At most this many differing lines are quoted per file.

    Returns
    -------
    list of str
        One message per missing, extra or differing file, quoting the first differing lines.
    """
    before, after = Path(before), Path(after)
    old, new = compared_files(before), compared_files(after)
    problems = [f"only in {before}: {name}" for name in sorted(set(old) - set(new))]
    problems += [f"only in {after}: {name}" for name in sorted(set(new) - set(old))]
    for name in sorted(set(old) & set(new)):
        a = masked((before / name).read_bytes())
        b = masked((after / name).read_bytes())
        if a == b:
            continue
        a_lines, b_lines = a.splitlines(), b.splitlines()
        shown = []
        for i in range(max(len(a_lines), len(b_lines))):
            x = a_lines[i] if i < len(a_lines) else b"<missing>"
            y = b_lines[i] if i < len(b_lines) else b"<missing>"
            if x != y:
                shown.append(f"  line {i + 1}:\n    - {x[:200]!r}\n    + {y[:200]!r}")
            if len(shown) >= max_lines:
                break
        problems.append(f"{name} differs:\n" + "\n".join(shown))
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.run_compare BEFORE AFTER``: exit 0 when the runs' tables are identical."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m tests.run_compare BEFORE_RUN_DIR AFTER_RUN_DIR", file=sys.stderr)
        return 2
    before, after = (Path(a) for a in args)
    problems = compare_runs(before, after)
    for problem in problems:
        print(problem)
    n = len(compared_files(before))
    print(f"{n} files compared, {len(problems)} differ" if problems else f"{n} files identical")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
