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

from leadnb.arrays import is_unique
from leadnb.errors import DataError

__all__ = ["require_columns", "require_unique"]


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


def require_unique(
    ids: pd.Index | pd.Series, message: str, *, table: str, fix: str, column: str = "lead_id"
) -> None:
    """Raise :class:`~leadnb.errors.DataError` when ``ids`` repeat a value.

    The error names the table and column, up to five repeated values and how many there are;
    ``message`` may hold ``{n}``, the number of repeated values.

    Examples
    --------
    >>> require_unique(pd.Index(["a", "b"]), "ids repeat", table="leads", fix="dedupe")
    >>> try:
    ...     require_unique(pd.Index(["a", "b", "a", "a"]), "{n} id(s) repeat", table="leads",
    ...                    fix="make lead_id unique")
    ... except DataError as e:
    ...     print(e)
    ERROR: 1 id(s) repeat
      where: table leads, column lead_id
      rows affected: 1
      offending rows:
            lead_id
          0       a
      fix: make lead_id unique
    """
    if is_unique(ids):
        return
    index = pd.Index(ids)
    dup = index[index.duplicated()].unique()
    raise DataError(
        message.format(n=len(dup)),
        table=table,
        column=column,
        rows=pd.Series(dup[:5], name=column),
        count=len(dup),
        fix=fix,
    )
