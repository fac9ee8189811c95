"""The one column guard every analysis function uses on the frames it is given.

Design. A function that needs columns its caller did not supply raises one
:class:`~leadnb.errors.DataError` naming the table, every missing column, the columns the frame
does have, and how to fix it; never a ``KeyError`` from deep inside pandas. The validation layer
(:mod:`leadnb.data.validation`) checks a user's *files* before a run; this guard checks *frames*
passed between functions (an analyst calling leadnb from their own notebook).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from leadnb.errors import DataError

__all__ = ["require_columns"]


def require_columns(
    df: pd.DataFrame, columns: Iterable[str], *, table: str, fix: str | None = None
) -> None:
    """Raise :class:`~leadnb.errors.DataError` unless ``df`` has every one of ``columns``.

    Parameters
    ----------
    df
        The frame a function was given.
    columns
        The columns it needs.
    table
        What the frame is, in the reader's words ("leads", "the stage-date frame").
    fix
        How to get the columns; by default, map them in the params file's
        ``data.<table>.columns``.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"lead_id": ["a"]}), ["lead_id"], table="leads")
    >>> try:
    ...     require_columns(pd.DataFrame({"id": ["a"]}), ["lead_id", "created_at"], table="leads")
    ... except DataError as e:
    ...     print(e)
    ERROR: leads has no column(s) lead_id, created_at (its columns: id)
      where: table leads, column lead_id
      fix: map the source columns onto lead_id, created_at in the params file's data.leads.columns
    """
    missing = [c for c in columns if c not in df.columns]
    if not missing:
        return
    have = ", ".join(map(str, df.columns[:12])) + (", ..." if len(df.columns) > 12 else "")
    raise DataError(
        f"{table} has no column(s) {', '.join(missing)} (its columns: {have or 'none'})",
        table=table,
        column=missing[0],
        fix=fix
        or f"map the source columns onto {', '.join(missing)} in the params file's "
        f"data.{table}.columns",
    )
