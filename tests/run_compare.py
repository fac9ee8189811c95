"""Compare two ``leadnb run`` folders: CSV tables and metrics.json byte for byte, Parquet by value.

The refactor's promise is that moving code changes no number. This helper checks it: every CSV
table and every ``metrics.json`` of one run folder must equal the other's, byte for byte, once the
run id and timestamps (the only things that differ between two runs of the same parameters) are
masked. The per-lead tables written as Parquet (``scores.parquet``) are compared by value
(:func:`pandas.testing.assert_frame_equal`, exact, dtypes included), never by bytes: the bytes
depend on the pyarrow version. A table that changed format between the two runs (``scores.csv``
before, ``scores.parquet`` after) is compared by value too, the CSV read back with the Parquet
file's dtypes; a CSV cell the formula rule neutralised (a leading ``'``) then differs from the
Parquet file's raw value, as it should. HTML, notebooks, figures and logs are not compared: they
carry timings and kernel details.

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

import pandas as pd

#: A run id, ``YYYYMMDD-HHMMSS-<name>-<as_of>`` (with an optional ``-N`` when two start at once).
RUN_ID = re.compile(rb"\b\d{8}-\d{6}(?:-\d+)?-[A-Za-z0-9_.-]*?-\d{4}-\d{2}-\d{2}\b")
#: A wall-clock timestamp with seconds, as written by the runner (never a data date).
TIMESTAMP = re.compile(
    rb"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b"
)

COMPARED = ("*.csv", "*.parquet", "metrics.json")
#: Compared by value, not bytes.
BY_VALUE = ".parquet"


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
        One message per missing, extra or differing file, quoting the first differing lines
        (for a table compared by value, the first lines of pandas' assertion).
    """
    before, after = Path(before), Path(after)
    old, new = compared_files(before), compared_files(after)
    moved = _changed_format(set(old) - set(new), set(new) - set(old))
    problems = [f"only in {before}: {n}" for n in sorted(set(old) - set(new) - set(moved))]
    problems += [f"only in {after}: {n}" for n in sorted(set(new) - set(old) - set(moved.values()))]
    for name_a, name_b in sorted(moved.items()):
        diff = _value_difference(before / name_a, after / name_b)
        if diff:
            problems.append(f"{name_a} -> {name_b} differs by value:\n{diff}")
    for name in sorted(set(old) & set(new)):
        if name.endswith(BY_VALUE):
            diff = _value_difference(before / name, after / name)
            if diff:
                problems.append(f"{name} differs by value:\n{diff}")
            continue
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


def _changed_format(only_old: set[str], only_new: set[str]) -> dict[str, str]:
    """Tables written as CSV on one side and as Parquet on the other (same folder and stem)."""
    pairs = {}
    for name in only_old:
        stem, _, ext = name.rpartition(".")
        other = {"csv": f"{stem}.parquet", "parquet": f"{stem}.csv"}.get(ext)
        if other in only_new:
            pairs[name] = other
    return pairs


def _read_table(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    """A Parquet table, or a CSV read back with the columns' dtypes of ``like`` (a Parquet
    table)."""
    if path.suffix == BY_VALUE:
        return pd.read_parquet(path)
    dates = [c for c in like.columns if pd.api.types.is_datetime64_any_dtype(like[c].dtype)]
    dtypes = {c: like[c].dtype for c in like.columns if c not in dates}
    df = pd.read_csv(path, dtype=dtypes, parse_dates=dates)
    return df.astype({c: like[c].dtype for c in dates})


def _value_difference(a: Path, b: Path) -> str:
    """``""`` when two tables (one of them Parquet) hold the same values and dtypes, else the
    first difference."""
    try:
        if a.suffix == BY_VALUE:
            left = pd.read_parquet(a)
            right = _read_table(b, like=left)
        else:
            right = pd.read_parquet(b)
            left = _read_table(a, like=right)
        pd.testing.assert_frame_equal(left, right, check_exact=True)
    except (AssertionError, ValueError, TypeError) as exc:  # differ, or cannot take the dtypes
        return "  " + "\n  ".join(str(exc).strip().splitlines()[:8])
    return ""


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.run_compare BEFORE AFTER``: exit 0 when the runs' tables are equal."""
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
