"""Array helpers shared by the per-lead engines (scoring, stage dates).

The work that grows with the data is matching millions of event rows to their lead; these
helpers do it without a Python object per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NAT_US", "index_positions", "per_distinct", "to_us"]

NAT_US = np.iinfo(np.int64).min  # NaT as int64 microseconds


def to_us(values: Any) -> np.ndarray:
    """Datetimes (any unit) as int64 microseconds; NaT becomes :data:`NAT_US`.

    A ``datetime64[us]`` column (the canonical dtype) is viewed, not copied.
    """
    arr = np.asarray(pd.to_datetime(values)).astype("datetime64[us]", copy=False)
    return arr.view("int64")


def per_distinct(s: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``func`` applied to ``s`` as text, computed once per distinct value (NA stays NA).

    A column such as industry or stage name has millions of rows but a few dozen values, and
    string methods such as ``casefold`` run in Python per value.
    """
    codes, uniques = pd.factorize(s.astype("str"))
    done = func(pd.Series(uniques, dtype="str"))
    return pd.Series(done.array.take(codes, allow_fill=True), index=s.index, dtype="str")


def _arrow_text(s: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow strings behind an Arrow-backed text column (no copy), else ``None``."""
    dtype = s.dtype
    arrow_str = isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        arrow_str = pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(
            dtype.pyarrow_dtype
        )
    if not arrow_str:
        return None
    arr = pa.array(s)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def index_positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each of ``values`` in ``index`` (unique keys, compared as text); -1 where the
    value is absent or missing.

    Arrow-backed text (the canonical ``str`` dtype) is matched in one hash pass by
    ``pyarrow.compute.index_in``, without a Python string per row: mapping 20 million event
    lead_ids onto a million leads takes well under a second. Other dtypes are factorised first,
    so only their distinct values are looked up.
    """
    arr = _arrow_text(values)
    if arr is not None:
        keys = pd.Series(index.astype("str"))
        key_arr = _arrow_text(keys)
        value_set = (
            key_arr.combine_chunks()
            if key_arr is not None
            else pa.array(keys.to_numpy(dtype=object), type=pa.large_string())
        )
        found = pc.index_in(arr, value_set=value_set.cast(arr.type))
        if found.null_count:
            found = found.fill_null(-1)
        return found.to_numpy()
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = pd.Index(index.astype("str")).get_indexer(pd.Index(uniques).astype("str"))
    if not len(lookup):
        return np.full(len(values), -1, dtype="int64")
    return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1)
