"""leadnb.arrays.index_positions: every lead_id mapped to its lead's row, whatever its dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.arrays import index_positions, is_unique

KEYS = pd.Index(["L1", "L2", "L3"], dtype="str")


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["L3", "L1", "X", None, "L3"], dtype="str"),  # Arrow-backed (pyarrow path)
        pd.Series(["L3", "L1", "X", None, "L3"], dtype="object"),
        pd.Series(["L3", "L1", "X", None, "L3"], dtype="category"),
        pd.Series(["L3", "L1", "X", None, "L3"], dtype=pd.StringDtype("python")),
    ],
    ids=["str", "object", "category", "python-string"],
)
def test_positions_with_absent_and_missing(values):
    np.testing.assert_array_equal(index_positions(values, KEYS), [2, 0, -1, -1, 2])


def test_numbers_are_compared_as_text():
    pos = index_positions(pd.Series([2, 1, 7]), pd.Index(["1", "2"], dtype="str"))
    np.testing.assert_array_equal(pos, [1, 0, -1])


def test_empty_inputs():
    assert len(index_positions(pd.Series([], dtype="str"), KEYS)) == 0
    np.testing.assert_array_equal(
        index_positions(pd.Series(["L1"], dtype="object"), pd.Index([], dtype="str")), [-1]
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="abc", max_size=3), unique=True, max_size=8),
    st.lists(st.text(alphabet="abcd", max_size=3), max_size=30),
)
def test_matches_get_indexer(keys, values):
    index = pd.Index(keys, dtype="str")
    expected = index.get_indexer(pd.Index(values, dtype="str"))
    for dtype in ("str", "object"):
        got = index_positions(pd.Series(values, dtype=dtype), index)
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="abc", max_size=3), unique=True, max_size=8),
    st.data(),
    st.sampled_from(["str", "chunked", "object", "category"]),
)
def test_a_guess_never_changes_the_positions(keys, data, kind):
    """``index_positions(..., guess=...)`` gives the lookup's answer whatever the guess: right
    (every value at its guessed row), wrong at one row, out of range, or the values include
    one that is missing or not a key."""
    index = pd.Index(keys, dtype="str")
    rows = data.draw(st.lists(st.integers(0, max(len(keys) - 1, 0)), max_size=12)) if keys else []
    values = [keys[r] for r in rows]
    how = data.draw(st.sampled_from(["right", "one wrong", "out of range", "missing", "absent"]))
    guess = np.array(rows, dtype="int64")
    if how == "one wrong" and len(keys) > 1 and rows:
        guess[0] = (guess[0] + 1) % len(keys)
    elif how == "out of range" and rows:
        guess[-1] = len(keys)
    elif how in ("missing", "absent") and rows:
        values[0] = None if how == "missing" else "zzzz"
    if kind == "chunked":
        s = _chunked_str(values, 2) if values else pd.Series(values, dtype="str")
    elif kind == "category":
        s = pd.Series(pd.Categorical(values))
    else:
        s = pd.Series(values, dtype=kind)
    expected = index.get_indexer(pd.Index(values, dtype="str"))
    got = index_positions(s, index, guess=guess)
    np.testing.assert_array_equal(got, expected)
    if how == "right" and kind in ("str", "chunked") and rows:
        assert got.dtype == np.int32  # taken from the guess, as the lookup would type it


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), max_size=25),
    st.sampled_from(["str", "object", 1]),
)
def test_text_codes_of_a_categorical_are_those_of_its_text(values, categories):
    """A categorical (unused categories, missing values; text categories as str or object, or
    numbers, which become text) factorises as its text does: codes in order of appearance."""
    from leadnb.arrays import text_codes

    if categories == 1:  # numbers: 1 and "1" would be one text
        cats = pd.Index([0, 1, 2, 3])
        values = [None if v is None else "abc".index(v) for v in values]
    else:
        cats = pd.Index(["c", "a", "unused", "b"], dtype=categories)
    s = pd.Series(pd.Categorical(values, categories=cats))
    codes, distinct = text_codes(s)
    want_codes, want = pd.factorize(s.astype("str"))
    np.testing.assert_array_equal(codes, want_codes)
    assert distinct.dtype == "str" and distinct.tolist() == pd.Series(want, dtype="str").tolist()


def _chunked_str(values: list, size: int) -> pd.Series:
    import pyarrow as pa

    arr = pa.array(values, type=pa.large_string())
    return pa.chunked_array(
        [arr.slice(i, size) for i in range(0, len(arr), size)] or [arr]
    ).to_pandas()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), max_size=25),
    st.integers(1, 6),
    st.integers(1, 6),
    st.sampled_from(["chunked", "object", "category"]),
)
def test_pieces_and_chosen_rows_match_index_positions(values, piece_rows, chunk_rows, kind):
    from leadnb import arrays

    index = pd.Index(["b", "c"], dtype="str")
    s = _chunked_str(values, chunk_rows) if kind == "chunked" else pd.Series(values, dtype=object)
    if kind == "category":  # categories no row uses, one of them in the index
        s = pd.Series(pd.Categorical(values, categories=["a", "b", "c", "unused"]))
    expected = index.get_indexer(pd.Index(values, dtype="str"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "PIECE_ROWS", piece_rows)
        coder = arrays.TextCodes(s, index)
        pieces = list(coder.pieces())
    assert [start for start, _ in pieces] == list(range(0, len(values), piece_rows))
    assert all(len(codes) <= piece_rows for _, codes in pieces)
    got = np.concatenate([c for _, c in pieces]) if pieces else np.empty(0, dtype=int)
    np.testing.assert_array_equal(got, expected)
    for start, codes in pieces:
        rows = np.flatnonzero(np.arange(len(codes)) % 2 == 0)  # every other row of the piece
        np.testing.assert_array_equal(coder.at(start, rows), expected[start + rows])
        assert coder.at(start, rows[:0]).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), max_size=20),
    st.lists(st.sampled_from(["a", "b", "d", None]), max_size=8),
    st.sampled_from(["str", "chunked", "object", "category"]),
)
def test_in_set_matches_python_membership(values, universe, kind):
    from leadnb.arrays import in_set

    if kind == "chunked":
        s = _chunked_str(values, 3)
    else:
        s = pd.Series(values, dtype=kind)
    u = pd.Series(universe, dtype={"object": "object", "category": "category"}.get(kind, "str"))
    known = {v for v in universe if v is not None}
    expected = [v is not None and v in known for v in values]
    np.testing.assert_array_equal(in_set(s, u), np.array(expected, dtype=bool))


@pytest.mark.parametrize("dtype", ["str", "object", "category"])
def test_missing_ids_never_match_a_missing_key(dtype):
    keys = pd.Index(["L1", None, "L2"], dtype="str")
    values = pd.Series([None, "L2", "L1", None], dtype=dtype)
    np.testing.assert_array_equal(index_positions(values, keys), [-1, 2, 0, -1])


def test_to_us_counts_zone_aware_times_in_utc():
    from leadnb.arrays import to_us

    local = pd.Series(pd.to_datetime(["2026-01-01 09:00", None]).tz_localize("Europe/Berlin"))
    expected = pd.Series(pd.to_datetime(["2026-01-01 08:00", None])).astype("datetime64[us]")
    np.testing.assert_array_equal(to_us(local), expected.to_numpy().view("int64"))
    np.testing.assert_array_equal(to_us(pd.DatetimeIndex(local)), to_us(local))


def test_a_column_looked_up_again_is_read_from_the_memo() -> None:
    """The same Arrow buffers against equal keys: the codes of the first lookup, read-only;
    other keys or other buffers with the same text: a fresh, right lookup."""
    from leadnb import arrays

    arrays._memo.clear()
    s = _chunked_str(["L3", "L1", "X", None, "L3", "L2"], 4)
    first = arrays.TextCodes(s, KEYS).all()
    again = arrays.TextCodes(s, pd.Index(["L1", "L2", "L3"], dtype="str")).all()  # equal keys
    assert again is first and not again.flags.writeable
    np.testing.assert_array_equal(first, [2, 0, -1, -1, 2, 1])
    pieces = np.concatenate([c for _, c in arrays.TextCodes(s, KEYS).pieces()])
    np.testing.assert_array_equal(pieces, first)
    copy = pd.Series(["L3", "L1", "X", None, "L3", "L2"], dtype="str")  # other buffers
    assert arrays.TextCodes(copy, KEYS).all() is first  # the same values: found by content
    other = pd.Series(["L3", "L1", "X", None, "L3", "L1"], dtype="str")  # the same length
    assert arrays.TextCodes(other, KEYS).all() is not first
    np.testing.assert_array_equal(arrays.TextCodes(other, KEYS).all(), [2, 0, -1, -1, 2, 0])
    other_keys = arrays.TextCodes(s, pd.Index(["L2", "L3"], dtype="str")).all()
    np.testing.assert_array_equal(other_keys, [1, -1, -1, -1, 1, 0])
    sliced = s.iloc[2:]  # the same buffers at another offset
    np.testing.assert_array_equal(arrays.TextCodes(sliced, KEYS).all(), first[2:])


def test_the_memo_keeps_the_newest_entries_only() -> None:
    from leadnb import arrays

    arrays._memo.clear()
    columns = [
        pd.Series([f"L{i % 3 + 1}", f"Y{i}", "L1"], dtype="str")
        for i in range(arrays.MEMO_ENTRIES + 2)
    ]
    for s in columns:
        arrays.TextCodes(s, KEYS).all()
    assert len(arrays._memo.entries) == arrays.MEMO_ENTRIES
    assert (
        arrays._memo.get(
            arrays._arrow_text(columns[0]), arrays.TextCodes(columns[0], KEYS).value_set
        )
        is None
    )
    last = columns[-1]
    assert (
        arrays._memo.get(arrays._arrow_text(last), arrays.TextCodes(last, KEYS).value_set)
        is not None
    )


_TEXT = st.sampled_from(["b", "a", None, "c", "<x>", "é", "L10", "L2"])


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.lists(_TEXT, max_size=12), min_size=1, max_size=5),
    encoded=st.sampled_from(["plain", "dictionary", "null entry"]),
)
def test_dictionary_column_keeps_every_value_of_any_chunking(chunks: list, encoded: str) -> None:
    """Plain text in chunks, or dictionary chunks each with its own dictionary (a Parquet
    file's row groups; Arrow also allows a missing value as a dictionary entry), become one
    chunk with one sorted dictionary and the same values."""
    import pyarrow as pa

    from leadnb.arrays import dictionary_column

    parts = [pa.array(c, type=pa.string()) for c in chunks]
    if encoded == "dictionary":
        parts = [p.dictionary_encode() for p in parts]
    elif encoded == "null entry":  # each row its own entry, missing ones included, reversed
        parts = [
            pa.DictionaryArray.from_arrays(
                pa.array(np.arange(len(p))[::-1].copy(), pa.int32()), p[::-1]
            )
            for p in parts
        ]
    col = pa.chunked_array(parts, type=parts[0].type)
    out = dictionary_column(col)
    values = [v for c in chunks for v in c]
    assert out.to_pylist() == values and pa.types.is_dictionary(out.type)
    if values:
        assert out.num_chunks == 1
        assert out.chunk(0).dictionary.to_pylist() == sorted({v for v in values if v is not None})


@settings(max_examples=40, deadline=None)
@given(values=st.lists(_TEXT, max_size=30), universe=st.lists(_TEXT, max_size=6))
def test_in_set_reads_a_categorical_as_its_text(values: list, universe: list) -> None:
    from leadnb.arrays import in_set

    text = pd.Series(values, dtype="str")
    want = [v is not None and v in {u for u in universe if u is not None} for v in values]
    np.testing.assert_array_equal(in_set(text, pd.Series(universe, dtype="str")), want)
    cats = pd.Series(values, dtype="category")
    np.testing.assert_array_equal(in_set(cats, pd.Series(universe, dtype="str")), want)


def test_as_categorical_merges_categories_equal_as_text() -> None:
    """Categories 1 and "1" (or any unsorted, non-text categories) become one sorted text
    category; values and missing ones stay."""
    from leadnb.arrays import as_categorical

    s = pd.Series(pd.Categorical(["1", 1, None, "b"], categories=["b", 1, "1"]))
    out = as_categorical(s)
    assert list(out.cat.categories) == ["1", "b"] and out.cat.categories.dtype == "str"
    assert [None if pd.isna(v) else v for v in out] == ["1", "1", None, "b"]
    plain = as_categorical(pd.Series(["z", None, "a"], dtype="str"))
    assert list(plain.cat.categories) == ["a", "z"] and plain.isna().tolist() == [
        False,
        True,
        False,
    ]
    assert as_categorical(out) is out  # already sorted text categories: as it is


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_TEXT, max_size=30), index=st.sampled_from(["range", "labels"]))
def test_as_categorical_of_text_is_pandas_categorical_of_sorted_text(
    values: list, index: str
) -> None:
    """Text becomes the categorical pandas makes with the sorted distinct values as categories
    (codes, missing values, index and name; str categories, also with no value at all): the
    categorical is built from Arrow's dictionary, not through pyarrow's conversion."""
    from leadnb.arrays import as_categorical

    labels = None if index == "range" else [f"r{i}" for i in range(len(values))]
    s = pd.Series(values, dtype="str", index=labels, name="lead_id")
    out = as_categorical(s)
    distinct = pd.Index(sorted({v for v in values if v is not None}), dtype="str")
    want = s.astype(pd.CategoricalDtype(distinct))
    pd.testing.assert_series_equal(out, want)
    assert out.cat.categories.dtype == "str"


def test_a_categorical_looked_up_again_reuses_its_categories_lookup() -> None:
    """The events' lead ids (a categorical) against the same leads in another cell: the
    categories' positions come from the memo; against other leads, a fresh, right lookup."""
    from leadnb import arrays

    arrays._memo.clear()
    s = pd.Series(["L3", "L1", "X", None, "L3", "L2"], dtype="category")
    first = index_positions(s, KEYS)
    assert len(arrays._memo.entries) == 1
    np.testing.assert_array_equal(index_positions(s, KEYS.copy()), first)
    assert len(arrays._memo.entries) == 1  # found again: equal keys, the same categories
    np.testing.assert_array_equal(first, [2, 0, -1, -1, 2, 1])
    fewer = pd.Index(["L2", "L3"], dtype="str")
    np.testing.assert_array_equal(index_positions(s, fewer), [1, -1, -1, -1, 1, 0])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "é", "a "])), max_size=8
    ),
    kind=st.sampled_from(["str", "index", "category", "object", "chunked"]),
)
def test_is_unique_says_what_pandas_says(values: list[str | None], kind: str) -> None:
    """Arrow's distinct values against pandas' Index.is_unique: missing values count
    (two of them repeat), empty text is a value, any storage of the same text."""
    s = pd.Series(values, dtype="str")
    if kind == "index":
        given_values = pd.Index(s)
    elif kind == "category":
        given_values = s.astype("category")
    elif kind == "object":
        given_values = pd.Series(values, dtype=object)
    elif kind == "chunked":  # an Arrow column in pieces, as read from Parquet row groups
        half = len(values) // 2
        given_values = pd.concat([s.iloc[:half], s.iloc[half:]], ignore_index=True)
    else:
        given_values = s
    assert is_unique(given_values) == pd.Index(values, dtype=object).is_unique


def test_is_unique_keeps_its_answer_for_the_same_long_column(monkeypatch) -> None:
    """A long column asked again (other pandas wrappers of the same Arrow buffers, or the same
    values in other buffers) is answered from the memo, without counting; other values, a
    slice of the same buffers, or a short column is counted, and every answer is right."""
    import pyarrow.compute as pc

    from leadnb import arrays

    monkeypatch.setattr(arrays, "UNIQUE_MEMO_ROWS", 4)
    arrays._unique_memo.clear()
    counted: list[int] = []
    real = pc.unique

    def counting(arr, **kw):
        counted.append(len(arr))
        return real(arr, **kw)

    monkeypatch.setattr(arrays.pc, "unique", counting)
    ids = _chunked_str(["L1", "L2", "L3", None, "L1"], 2)
    assert is_unique(ids) is False and counted == [5]
    assert is_unique(ids.astype("str")) is False and is_unique(pd.Index(ids)) is False
    assert counted == [5]  # the same buffers: from the memo
    assert is_unique(ids.iloc[:4]) is True and counted == [5, 4]  # a slice: counted
    assert is_unique(ids.iloc[:4]) is True and counted == [5, 4]
    assert is_unique(pd.Series(["L1", "L2", "L3", None, "L1"], dtype="str")) is False
    assert counted == [5, 4]  # equal text in other buffers: found by content
    assert is_unique(pd.Series(["L1", "L2", "L3", None, "L4"], dtype="str")) is True
    assert counted == [5, 4, 5]  # other text of the same length: counted
    assert is_unique(ids.iloc[1:4]) is True and counted == [5, 4, 5, 3]  # short: counted
    assert is_unique(ids.iloc[1:4]) is True and counted == [5, 4, 5, 3, 3]


def test_the_unique_memo_keeps_the_newest_columns_only(monkeypatch) -> None:
    from leadnb import arrays

    monkeypatch.setattr(arrays, "UNIQUE_MEMO_ROWS", 1)
    arrays._unique_memo.clear()
    columns = [pd.Series([f"L{i}", "x"], dtype="str") for i in range(arrays.UNIQUE_ENTRIES + 3)]
    for s in columns:
        assert is_unique(s)
    assert len(arrays._unique_memo.entries) == arrays.UNIQUE_ENTRIES
    assert arrays._unique_memo.get(arrays._arrow_text(columns[0])) is None
    assert arrays._unique_memo.get(arrays._arrow_text(columns[-1])) is True


@settings(max_examples=60, deadline=None)
@given(
    columns=st.lists(
        st.tuples(st.lists(_TEXT, max_size=12), st.sampled_from(["str", "category", "object"])),
        max_size=4,
    ),
    universe=st.lists(_TEXT, max_size=6),
)
def test_in_sets_equals_in_set_column_by_column(columns: list, universe: list) -> None:
    """Several columns against one universe hashed once: the same answers as a plain set
    lookup per column (text, categorical, object; missing values never match)."""
    from leadnb.arrays import in_sets

    known = {u for u in universe if u is not None}
    cols = [pd.Series(values, dtype=dtype) for values, dtype in columns]
    got = in_sets(cols, pd.Series(universe, dtype="str"))
    assert len(got) == len(cols)
    for (values, _), mask in zip(columns, got, strict=True):
        np.testing.assert_array_equal(mask, [v is not None and v in known for v in values])


def test_in_sets_without_arrow_text_falls_back_to_pandas() -> None:
    """Text in pandas' "python" storage (no Arrow buffers): each column is looked up by pandas,
    a categorical by its values; missing values never match."""
    from leadnb.arrays import in_sets

    universe = pd.Series(["a", "b", None], dtype=pd.StringDtype("python"))
    text = pd.Series(["a", "x", None], dtype=pd.StringDtype("python"))
    cats = pd.Series(["b", "x", None, "a"], dtype="category")
    got = in_sets([text, cats], universe)
    assert [m.tolist() for m in got] == [[True, False, False], [True, False, False, True]]


@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "", "é", "c d"])), max_size=20),
    extra=st.lists(st.sampled_from(["z", "y"]), max_size=2, unique=True),
    numbers=st.booleans(),
)
def test_as_text_says_what_astype_str_says(values: list, extra: list, numbers: bool) -> None:
    """Arrow's text of a categorical (categories through its codes) against pandas'
    ``astype("str")``: unused categories, missing values, number categories."""
    from leadnb.arrays import as_text

    if numbers:
        values = [None if v is None else float(len(v)) for v in values]
        extra = [7.5] if extra else []
    cats = list(dict.fromkeys([v for v in values if v is not None] + extra))
    s = pd.Series(pd.Categorical(values, categories=cats), index=range(10, 10 + len(values)))
    pd.testing.assert_series_equal(as_text(s), s.astype("str"))
    plain = pd.Series([v for v in values], dtype=object)
    pd.testing.assert_series_equal(as_text(plain), plain.astype("str"))
