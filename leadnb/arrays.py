"""Array helpers shared by the per-lead engines (scoring, stage dates).

The work that grows with the data is matching millions of event rows to their lead; these
helpers do it without a Python object per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["index_positions"]


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
