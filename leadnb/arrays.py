"""Array helpers shared by the per-lead engines (scoring, stage dates).

The work that grows with the data is matching millions of event rows to their lead; these
helpers do it without a Python object per row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "NAT_US",
    "PIECE_ROWS",
    "TextCodes",
    "as_categorical",
    "as_text",
    "category_positions",
    "dictionary_categorical",
    "dictionary_column",
    "found_at",
    "in_set",
    "in_sets",
    "index_positions",
    "per_distinct",
    "text_codes",
    "to_us",
]

NAT_US = np.iinfo(np.int64).min  # NaT as int64 microseconds
PIECE_ROWS = 1 << 18  # rows per piece in :meth:`TextCodes.pieces`: small enough for the cache
MEMO_ENTRIES = 4  # whole-column lookups kept by :class:`TextCodes` (a 20M-row one is 80 MB)
UNIQUE_ENTRIES = 8  # columns whose :func:`is_unique` answer is kept (a bool each)
UNIQUE_MEMO_ROWS = 50_000  # shorter columns are counted again: a millisecond or less


def to_us(values: Any) -> np.ndarray:
    """Datetimes (any unit) as int64 microseconds; NaT becomes :data:`NAT_US`. Zone-aware
    datetimes count in UTC (as :mod:`leadnb.data.loading` reads them).

    A ``datetime64[us]`` column (the canonical dtype) is viewed, not copied.
    """
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.DatetimeTZDtype):  # zone-aware: UTC wall time, as the loader does
        values = (
            pd.to_datetime(values, utc=True).tz_localize(None)
            if isinstance(values, pd.Index)
            else values.dt.tz_convert("UTC").dt.tz_localize(None)
        )
        dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":  # naive datetimes: no conversion
        arr = np.asarray(values)  # pd.to_datetime would build a new Series, a copy
    else:
        arr = np.asarray(pd.to_datetime(values))
    return arr.astype("datetime64[us]", copy=False).view("int64")


def as_text(s: pd.Series) -> pd.Series:
    """``s.astype("str")``; a categorical's text is made by Arrow from its categories and
    codes (pandas goes through a Python string per row: 0.2 s for a million segment labels,
    0.016 s this way). Missing values stay missing.

    >>> as_text(pd.Series(pd.Categorical(["b", None, "a"]))).tolist()
    ['b', nan, 'a']
    """
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype("str")
    cat = s.cat
    words = pa.array(
        cat.categories.astype("str").to_numpy(dtype=object, na_value=None), pa.large_string()
    )
    codes = cat.codes.to_numpy()
    text = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), words)
    return pd.Series(
        pd.array(text.cast(pa.large_string()), dtype="str"), index=s.index, name=s.name, copy=False
    )


def per_distinct(s: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``func`` applied to ``s`` as text, computed once per distinct value (NA stays NA).

    A column such as industry or stage name has millions of rows but a few dozen values, and
    string methods such as ``casefold`` run in Python per value.
    """
    codes, distinct = text_codes(s)
    done = func(distinct)
    return pd.Series(done.array.take(codes, allow_fill=True), index=s.index, dtype="str")


def text_codes(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``s`` as text, factorised: each row's code (-1 where missing) and the distinct values, in
    the order they first appear.

    A categorical of text (the events' type and value columns as loaded) is factorised by its
    codes: the same answer without a string per row (20 million events: 0.1 s, not 0.6 to 5 s).

    >>> codes, distinct = text_codes(pd.Series(pd.Categorical(["b", None, "a", "b"])))
    >>> codes.tolist(), distinct.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    if isinstance(s.dtype, pd.CategoricalDtype) and _text_categories(s.cat.categories):
        codes, uniques = pd.factorize(s)
        return codes, pd.Series(pd.Index(uniques).astype("str"), dtype="str")
    codes, uniques = pd.factorize(s.astype("str"))
    return codes, pd.Series(uniques, dtype="str")


def _text_categories(categories: pd.Index) -> bool:
    """Whether every category is text (so two categories never become the same text)."""
    if categories.dtype == "str":
        return True
    return categories.dtype == object and pd.api.types.infer_dtype(categories) == "string"


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


def _int_codes(found: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An ``index_in`` result as int32 NumPy, -1 where null, copying each chunk once at most."""
    chunks = found.chunks if isinstance(found, pa.ChunkedArray) else [found]
    if len(chunks) == 1 and not chunks[0].null_count:
        return chunks[0].to_numpy()  # no copy
    out = np.empty(len(found), dtype="int32")
    start = 0
    for chunk in chunks:
        stop = start + len(chunk)
        out[start:stop] = (chunk.fill_null(-1) if chunk.null_count else chunk).to_numpy()
        start = stop
    return out


class _ColumnMemo:
    """Something computed from a whole Arrow column, kept for the newest ``size`` columns.

    An entry is found again for the same Arrow buffers (their addresses: a pandas column wraps
    them anew at each access, the buffers stay), or, failing that, for a column of the same
    type, length and values in other buffers (Arrow's ``equals``: about 2 ms at a million ids,
    where the hash passes kept here take 0.3 to 0.5 s; a notebook often rebuilds the same ids,
    as the decided leads of two cells). The entry holds the column itself, so its buffers, and
    with them the addresses, cannot be freed and reused by other data while the entry lives;
    Arrow arrays are immutable, so what was computed from them stays right.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], tuple[pa.ChunkedArray, Any]] = OrderedDict()
        self.lock = threading.Lock()  # the scoring engine looks up in a second thread

    @staticmethod
    def _where(arr: pa.ChunkedArray) -> tuple[Any, ...]:
        return (
            str(arr.type),
            len(arr),
            tuple(
                (c.offset, len(c), *(b.address if b is not None else 0 for b in c.buffers()))
                for c in arr.chunks
            ),
        )

    def _lookup(self, arr: pa.ChunkedArray) -> Any:
        """The value kept for ``arr`` (the caller holds the lock), else ``None``."""
        if self.size <= 0:
            return None
        where = self._where(arr)
        hit = self.entries.get(where)
        if hit is None:
            for key, (held, value) in reversed(self.entries.items()):
                if len(held) == len(arr) and held.type == arr.type and held.equals(arr):
                    where, hit = key, (held, value)
                    break
        if hit is None:
            return None
        self.entries.move_to_end(where)
        return hit[1]

    def _store(self, arr: pa.ChunkedArray, value: Any) -> None:
        if self.size <= 0:
            return
        with self.lock:
            self.entries[where := self._where(arr)] = (arr, value)
            self.entries.move_to_end(where)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


class _Memo(_ColumnMemo):
    """Whole-column :class:`TextCodes` lookups, newest :data:`MEMO_ENTRIES` kept.

    A notebook maps the same 20 million event lead_ids onto the same leads in several cells
    (scores, segments, the high-quality list); each lookup is a hash pass of about half a
    second. An entry is found again for the same column (:class:`_ColumnMemo`) against equal
    keys. The codes are returned read-only.
    """

    def get(self, arr: pa.ChunkedArray, keys: pa.Array | None) -> np.ndarray | None:
        if keys is None:
            return None
        with self.lock:
            hit = self._lookup(arr)
        if hit is None or len(hit[0]) != len(keys) or not hit[0].equals(keys):
            return None
        return hit[1]

    def put(self, arr: pa.ChunkedArray, keys: pa.Array, codes: np.ndarray) -> None:
        codes.flags.writeable = False  # callers share it
        self._store(arr, (keys, codes))


_memo = _Memo(MEMO_ENTRIES)


class _UniqueMemo(_ColumnMemo):
    """:func:`is_unique` answers for the newest :data:`UNIQUE_ENTRIES` Arrow text columns of
    at least :data:`UNIQUE_MEMO_ROWS` rows (:class:`_ColumnMemo`).

    The scoring notebook asks whether the same million lead ids repeat about a dozen times
    (each function that joins on them checks, as it must when called alone), and Arrow's count
    of distinct values is a hash pass of 0.35 to 0.45 s at a million ids.
    """

    def get(self, arr: pa.ChunkedArray) -> bool | None:
        if len(arr) < UNIQUE_MEMO_ROWS:
            return None
        with self.lock:
            return self._lookup(arr)

    def put(self, arr: pa.ChunkedArray, unique: bool) -> None:
        if len(arr) >= UNIQUE_MEMO_ROWS:
            self._store(arr, unique)


_unique_memo = _UniqueMemo(UNIQUE_ENTRIES)


class TextCodes:
    """The position of each of ``values`` in ``index`` (unique keys, compared as text; -1 where
    the value is absent or missing), with what the lookup needs prepared once: for the whole
    column (:meth:`all`), a piece at a time (:meth:`pieces`), or at chosen rows (:meth:`at`).

    Arrow-backed text (the canonical ``str`` dtype) is matched by ``pyarrow.compute.index_in``,
    without a Python string per row (int32 codes); other dtypes are factorised first, so only
    their distinct values are looked up (int64 codes).
    """

    def __init__(self, values: pd.Series, index: pd.Index) -> None:
        self.values, self.index = values, index
        self.arrow = _arrow_text(values)
        self.value_set = None
        if self.arrow is not None:
            keys = pd.Series(index.astype("str"))
            key_arr = _arrow_text(keys)
            value_set = (
                key_arr.combine_chunks()
                if key_arr is not None
                else pa.array(keys.to_numpy(dtype=object), type=pa.large_string())
            )
            self.value_set = value_set.cast(self.arrow.type)

    def _find(self, arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
        return _int_codes(pc.index_in(arr, value_set=self.value_set, skip_nulls=True))

    def all(self) -> np.ndarray:
        """Every row's code: mapping 20 million event lead_ids onto a million leads is one hash
        pass, well under a second; the same column against the same keys again (another cell
        of the notebook) is read from :func:`_memo` (read-only array)."""
        if self.arrow is None:
            return _factorised_positions(self.values, self.index)
        assert self.value_set is not None
        found = _memo.get(self.arrow, self.value_set)
        if found is None:
            found = self._find(self.arrow)
            _memo.put(self.arrow, self.value_set, found)
        return found

    def pieces(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, codes)`` for pieces of at most :data:`PIECE_ROWS` rows, starting at
        multiples of it whatever the Arrow chunks are.

        A whole-column code array for 20 million events is 80 MB of fresh memory (twice with the
        null fill) that is read once and thrown away; pieces of a quarter of a million rows are
        processed while they are in the CPU cache and their buffers are reused. A categorical's
        pieces are its codes read through :func:`category_positions`.
        """
        if isinstance(self.values.dtype, pd.CategoricalDtype):  # each category looked up once
            lookup = category_positions(self.values, self.index)
            codes = self.values.cat.codes.to_numpy()
            for start in range(0, len(codes), PIECE_ROWS):
                yield start, lookup[codes[start : start + PIECE_ROWS]]
            return
        known = None if self.arrow is None else _memo.get(self.arrow, self.value_set)
        if self.arrow is None or known is not None:
            codes = self.all() if known is None else known
            for start in range(0, len(codes), PIECE_ROWS):
                yield start, codes[start : start + PIECE_ROWS]
            return
        for start in range(0, len(self.arrow), PIECE_ROWS):  # a slice of chunks is not a copy
            yield start, self._find(self.arrow.slice(start, PIECE_ROWS))

    def at(self, start: int, rows: np.ndarray) -> np.ndarray:
        """The codes of rows ``start + rows`` only (``rows`` ascending, within one piece)."""
        if not len(rows):
            return np.empty(0, dtype="int32")
        if self.arrow is None:
            picked = self.values.iloc[start + rows]
            return _factorised_positions(picked, self.index).astype("int32")
        return self._find(self.arrow.slice(start, int(rows[-1]) + 1).take(pa.array(rows)))


def is_unique(values: pd.Series | pd.Index) -> bool:
    """Whether no value repeats (a missing value counts: two of them repeat), as pandas'
    ``Index.is_unique`` says.

    Arrow-backed text is counted by Arrow (one hash pass in C++); pandas turns every value into
    a Python object first, for an index it then throws away (the lead queue's chunks checked
    their ids seven ways: 0.3 s of its 7 s at a million leads). The answer for a long column
    is kept (:class:`_UniqueMemo`): the same column asked again is not counted again. Anything
    else is pandas'.

    >>> is_unique(pd.Series(["a", "b", None], dtype="str")), is_unique(pd.Index(["a", "a"]))
    (True, False)
    >>> is_unique(pd.Series([None, None], dtype="str")), is_unique(pd.Index([1, 2]))
    (False, True)
    """
    text = _arrow_text(pd.Series(values, copy=False) if isinstance(values, pd.Index) else values)
    if text is None:
        return bool(pd.Index(values).is_unique)
    known = _unique_memo.get(text)
    if known is None:
        # the distinct values (a missing value is one of them) against the rows: Arrow's
        # unique takes half the time of its count_distinct (0.18 against 0.39 s for a million
        # lead ids), which goes through its grouped aggregation
        known = len(pc.unique(text)) == len(text)
        _unique_memo.put(text, known)
    return known


def index_positions(values: pd.Series, index: pd.Index, *, guess: Any = None) -> np.ndarray:
    """Position of each of ``values`` in ``index`` (unique keys, compared as text); -1 where the
    value is absent or missing. Returns int32 for Arrow-backed text and categoricals, else int64
    (see :class:`TextCodes`).

    ``guess``: where the values probably are (array-like of integers), e.g. the row numbers they had in a frame whose
    rows are the index's (the decisions taken from the stage dates, which list the leads in
    their order). When ``index`` is unique Arrow text and every value is found at its guessed
    position (one Arrow take and comparison: about a tenth of a hash lookup at a million ids),
    the guess is the answer; otherwise the lookup is made as without it.

    >>> index = pd.Index(["a", "b", "c"], dtype="str")
    >>> values = pd.Series(["c", "a"], dtype="str")
    >>> index_positions(values, index, guess=np.array([2, 0])).tolist()
    [2, 0]
    >>> index_positions(values, index, guess=np.array([2, 1])).tolist()  # wrong: looked up
    [2, 0]
    """
    if guess is not None and found_at(values, index, guess):
        return np.asarray(guess, dtype="int32")
    return TextCodes(values, index).all()


def found_at(values: pd.Series, index: pd.Index, guess: Any) -> bool:
    """Whether ``index[guess]`` is ``values``, value for value, with no value missing, for a
    unique Arrow-text ``index`` and Arrow-text ``values`` (anything else: False).

    >>> index = pd.Index(["a", "b", "c"], dtype="str")
    >>> found_at(pd.Series(["c", "a"], dtype="str"), index, np.array([2, 0]))
    True
    >>> found_at(pd.Series(["c", None], dtype="str"), index, np.array([2, 0]))
    False
    """
    guess = np.asarray(guess)
    if guess.shape != (len(values),) or not np.issubdtype(guess.dtype, np.integer):
        return False
    if len(guess) and (guess.min() < 0 or guess.max() >= len(index)):
        return False
    found = _arrow_text(values)
    keys = _arrow_text(pd.Series(index, copy=False))
    if found is None or keys is None or found.null_count or not is_unique(index):
        return False
    taken = keys.take(pa.array(guess, type=pa.int64())).cast(found.type)
    return bool(taken.equals(found))


def _text_positions(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each of the distinct text ``keys`` in ``index`` (-1: absent): one Arrow hash
    pass when both are Arrow text (a run's events carry their lead ids as a categorical of a
    million categories: pandas' lookup of those took about a second), else pandas'."""
    arr = _arrow_text(keys)
    index_text = pd.Series(index.astype("str"))
    value_set = _arrow_text(index_text)
    if arr is None or value_set is None:
        return pd.Index(index_text).get_indexer(pd.Index(keys)).astype("int64")
    value_set = value_set.combine_chunks().cast(arr.type)
    # the events' lead-id categories against the same leads come back in several cells
    found = _memo.get(arr, value_set)
    if found is None:
        found = _int_codes(pc.index_in(arr, value_set=value_set, skip_nulls=True))
        _memo.put(arr, value_set, found)
    return found.astype("int64")


def category_positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """For a categorical ``values``: the position in ``index`` of each category (compared as
    text; -1 where absent), with one -1 more at the end, so that ``lookup[codes]`` is each row's
    position and a missing row's code -1 reads -1. A million categories (the events' lead ids)
    are looked up once by Arrow, and again from a memo for the same categories and index.

    >>> values = pd.Series(pd.Categorical(["b", None, "x", "b"]))
    >>> lookup = category_positions(values, pd.Index(["a", "b"]))
    >>> lookup.tolist(), lookup[values.cat.codes.to_numpy()].tolist()
    ([1, -1, -1], [1, -1, -1, 1])
    """
    cats = pd.Series(pd.Index(values.cat.categories).astype("str"))
    return np.append(_text_positions(cats, index), -1).astype("int32")


def _factorised_positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):  # one take: category -> position, -1 last
        return category_positions(values, index)[values.cat.codes.to_numpy()]
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = pd.Index(index.astype("str")).get_indexer(pd.Index(uniques).astype("str"))
    if not len(lookup):
        return np.full(len(values), -1, dtype="int64")
    return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1)


def in_set(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """Boolean array: which of ``values`` occur in ``universe``, compared as text (as lead ids
    are; duplicates allowed; a missing value never matches).

    One ``pyarrow.compute.is_in`` hash pass; pandas' ``isin`` on Arrow text converts every value
    of ``universe`` to a Python object first (a fifth of a second for twenty thousand lead ids,
    minutes for millions).
    """
    return in_sets([values], universe)[0]


def in_sets(columns: list[pd.Series], universe: pd.Series) -> list[np.ndarray]:
    """:func:`in_set` for each of ``columns`` against the same ``universe``, which is hashed
    once: the columns' text (a categorical's categories) is looked up in one ``is_in`` pass.

    Building the hash set of a million lead ids is most of a lookup's time (0.25 s of the 0.28
    s that checked 28,000 orders against them), and validation checks four tables against the
    same leads.

    >>> leads = pd.Series(["L1", "L2"], dtype="str")
    >>> [m.tolist() for m in in_sets([pd.Series(["L2", "X", None]),
    ...                               pd.Series(["L1", "L1"], dtype="category")], leads)]
    [[True, False, False], [True, True]]
    """
    keys = _arrow_text(universe.dropna().astype("str"))
    texts: list[pa.ChunkedArray | None] = []
    for values in columns:
        text = (
            pd.Series(values.cat.categories)  # per category, then one take by code
            if isinstance(values.dtype, pd.CategoricalDtype)
            else values
        )
        texts.append(None if keys is None else _arrow_text(text.astype("str")))
    if keys is None or any(t is None for t in texts):  # text without Arrow (pandas' "python"
        return [_in_set_pandas(v, universe) for v in columns]  # string storage)
    wide = pa.large_string()
    pieces = [c for t in texts if t is not None for c in t.cast(wide).chunks]
    every = pa.chunked_array(pieces, type=wide)
    hit = pc.is_in(every, value_set=keys.combine_chunks().cast(wide), skip_nulls=True)
    found = np.asarray(hit.fill_null(False), dtype=bool)
    out, start = [], 0
    for values, text in zip(columns, texts, strict=True):
        assert text is not None
        mine = found[start : start + len(text)]
        start += len(text)
        if isinstance(values.dtype, pd.CategoricalDtype):  # code -1 (missing) reads False
            mine = np.append(mine, False)[values.cat.codes.to_numpy()]
        out.append(mine)
    return out


def _in_set_pandas(values: pd.Series, universe: pd.Series) -> np.ndarray:
    return (values.isin(universe.dropna()) & values.notna()).to_numpy(dtype=bool)


def _index_type(n: int) -> pa.DataType:
    """The smallest signed integer type that numbers ``n`` categories (pandas' code dtypes)."""
    for t in (pa.int8(), pa.int16(), pa.int32()):
        if n < np.iinfo(t.to_pandas_dtype()).max:
            return t
    return pa.int64()


def dictionary_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column (plain or dictionary-encoded, in any number of chunks) as a dictionary
    column in one chunk, with one sorted dictionary and the smallest index type: read by pandas
    as a categorical with sorted categories (nulls stay null).

    >>> col = dictionary_column(pa.chunked_array([["b", None, "a", "b"]]))
    >>> col.type
    DictionaryType(dictionary<values=string, indices=int8, ordered=0>)
    >>> col.to_pandas().tolist()
    ['b', nan, 'a', 'b']
    """
    value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if len(column) == 0:
        return pa.chunked_array([], type=pa.dictionary(pa.int8(), value_type))
    if pa.types.is_dictionary(column.type):
        return _one_dictionary(column)
    # one hash pass: Arrow's encoding of a chunked column gives every chunk the same dictionary,
    # in order of first appearance; sorting it and mapping the indices through the sort is a
    # small take (at 20 million events, the lead ids: 1.4 s against 2.2 s for a lookup of
    # every value in the sorted distinct values, which stays for any other outcome)
    encoded = pc.dictionary_encode(column)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    shared = chunks[0].dictionary
    if all(c.dictionary is shared or c.dictionary.equals(shared) for c in chunks[1:]):
        order = pc.sort_indices(shared)
        index_type = _index_type(len(shared))
        rank = np.empty(len(shared), dtype=index_type.to_pandas_dtype())
        rank[order.to_numpy()] = np.arange(len(shared), dtype=rank.dtype)
        ranks = pa.array(rank)
        indices = pa.concat_arrays([pc.take(ranks, c.indices) for c in chunks])
        one = pa.DictionaryArray.from_arrays(indices, shared.take(order))
        return pa.chunked_array([one], type=pa.dictionary(index_type, value_type))
    sorted_dict = _sorted_distinct(column)
    index_type = _index_type(len(sorted_dict))
    found = pc.index_in(column, value_set=sorted_dict)  # null stays null
    chunks = found.chunks if isinstance(found, pa.ChunkedArray) else [found]
    indices = pa.concat_arrays([c.cast(index_type) for c in chunks])  # small integers
    one = pa.DictionaryArray.from_arrays(indices, sorted_dict)
    return pa.chunked_array([one], type=pa.dictionary(index_type, value_type))


def _sorted_distinct(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    distinct = pc.unique(values)
    if isinstance(distinct, pa.ChunkedArray):
        distinct = distinct.combine_chunks()
    distinct = distinct.filter(pc.is_valid(distinct))
    return distinct.take(pc.sort_indices(distinct))


def _one_dictionary(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary column read in chunks (a Parquet file's row groups, each with its own
    dictionary) re-coded onto one sorted dictionary: the chunks' dictionaries are looked up
    once, all together (one hash table of the distinct values; a lookup per chunk would build
    it once per chunk), and each chunk's indices are mapped through its part of that lookup."""
    value_type = column.type.value_type
    chunks = [c for c in column.chunks if len(c)]
    dictionaries = pa.concat_arrays([c.dictionary.cast(value_type) for c in chunks])
    # one hash pass, as dictionary_column does: the distinct values in order of appearance,
    # sorted, and each dictionary entry's code mapped through the sort (at a million leads the
    # events' 20 row groups hold 7 million dictionary entries of 900,000 lead ids: a pass of
    # Arrow's unique and then one of index_in took 1.0 s, this 0.55 s)
    encoded = pc.dictionary_encode(dictionaries)  # a null entry stays null
    order = pc.sort_indices(encoded.dictionary)
    sorted_dict = encoded.dictionary.take(order)
    index_type = _index_type(len(sorted_dict))
    rank = np.empty(len(sorted_dict), dtype=index_type.to_pandas_dtype())
    rank[order.to_numpy()] = np.arange(len(sorted_dict), dtype=rank.dtype)
    lookup = pc.take(pa.array(rank), encoded.indices)
    parts, start = [], 0
    for chunk in chunks:
        n = len(chunk.dictionary)
        parts.append(lookup.slice(start, n).take(chunk.indices))  # a null index stays null
        start += n
    indices = pa.concat_arrays(parts) if parts else pa.array([], index_type)
    one = pa.DictionaryArray.from_arrays(indices, sorted_dict)
    return pa.chunked_array([one], type=pa.dictionary(index_type, value_type))


def dictionary_categorical(column: pa.DictionaryArray) -> pd.Categorical:
    """A text dictionary array as pyarrow's ``to_pandas`` makes it: text categories (the ``str``
    dtype) in the dictionary's order, a missing value's code -1.

    pyarrow converts the dictionary's values and checks them again for every column (0.5 s for
    the events' 900,000 lead ids at a million leads: once in the runner's load, once in every
    notebook that maps the run's tables); pandas takes them as they are and checks them once
    (0.08 s). The dictionary's values must be distinct (pandas refuses repeated categories).

    >>> arr = pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.int8()), pa.array(["a", "b"]))
    >>> cat = dictionary_categorical(arr)
    >>> cat.tolist(), cat.codes.tolist(), str(cat.categories.dtype)
    (['b', nan, 'a'], [1, -1, 0], 'str')
    """
    categories = pd.Index(pd.array(column.dictionary, dtype="str"))
    indices = column.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    codes = indices.to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories), validate=False)


def as_categorical(s: pd.Series) -> pd.Series:
    """Text as a categorical with sorted text categories (the same values, missing ones kept;
    sorted by code point, as Arrow sorts). A categorical whose categories are already distinct,
    sorted text is returned as it is; otherwise its categories are looked up and sorted (their
    codes mapped in one take), so two categories that are equal as text become one."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if cats.dtype == "str" and cats.is_monotonic_increasing and cats.is_unique:
            return s
        mapped = as_categorical(pd.Series(cats.astype("str")))  # category -> its new code
        lookup = np.append(mapped.cat.codes.to_numpy().astype("int64"), -1)
        codes = lookup[s.cat.codes.to_numpy()]
        dtype = pd.CategoricalDtype(mapped.cat.categories)
        return pd.Series(
            pd.Categorical.from_codes(codes, dtype=dtype), index=s.index, name=s.name, copy=False
        )
    text = _arrow_text(s.astype("str"))
    if text is None:  # pandas' "python" string storage
        text = pa.chunked_array([pa.array(s.astype("str").to_numpy(dtype=object), pa.string())])
    encoded = dictionary_column(text)
    if encoded.num_chunks == 1 and len(encoded.chunk(0).dictionary):
        return pd.Series(
            dictionary_categorical(encoded.chunk(0)), index=s.index, name=s.name, copy=False
        )
    out = encoded.to_pandas()
    if out.cat.categories.dtype != "str":  # no value at all: Arrow's empty dictionary
        out = out.cat.set_categories(out.cat.categories.astype("str"))
    return pd.Series(out.array, index=s.index, name=s.name, copy=False)
