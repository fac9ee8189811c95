"""Tests for leadnb.data.loading: every file loader path and every bad input the loader reports."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import BANK_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.data import loading as io
from leadnb.data.params import TableSource
from leadnb.errors import DataError, ParamsError, Report


def source(table: str, path: Path, **kw) -> TableSource:
    return TableSource(table=table, path=path, **kw)


def crm_leads(n: int = 6, seed: int = 1) -> pd.DataFrame:
    """A CRM-style export: other column names, dd/mm/yyyy dates, 'Select' placeholders."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 300, n)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D")
    company = np.where(rng.random(n) < 0.5, "Select", [f"Co {i}" for i in range(n)])
    return pd.DataFrame(
        {
            "Lead Number": [f"{i:05d}" for i in range(1, n + 1)],
            "Lead Created On": created.strftime("%d/%m/%Y"),
            "Company": company,
            "Converted": rng.integers(0, 2, n).astype(str),
            "Favourite Colour": ["red"] * n,
        }
    )


CRM_COLUMNS = {
    "Lead Number": "lead_id",
    "Lead Created On": "created_at",
    "Company": "company",
    "Converted": "converted",
}


def expected_crm(raw: pd.DataFrame) -> pd.DataFrame:
    """The canonical leads table for :func:`crm_leads`, built independently of the loader."""
    return pd.DataFrame(
        {
            "lead_id": pd.Series(raw["Lead Number"].tolist(), dtype="str"),
            "created_at": pd.Series(
                [pd.Timestamp(int(d[6:]), int(d[3:5]), int(d[:2])) for d in raw["Lead Created On"]],
                dtype="datetime64[us]",
            ),
            "company": pd.Series(
                [None if c == "Select" else c for c in raw["Company"]], dtype="str"
            ),
            "converted": raw["Converted"].astype(float).to_numpy(),
            "Favourite Colour": pd.Series(raw["Favourite Colour"].tolist(), dtype="str"),
        }
    )


def crm_source(path: Path, **kw) -> TableSource:
    return source(
        "leads",
        path,
        columns=CRM_COLUMNS,
        placeholders=("Select",),
        date_format="%d/%m/%Y",
        **kw,
    )


# ------------------------------------------------------------------ file formats


def test_csv_maps_columns_placeholders_and_dates(tmp_path: Path) -> None:
    raw = crm_leads()
    path = tmp_path / "leads.csv"
    raw.to_csv(path, index=False)
    df = io.load_table(crm_source(path))
    pd.testing.assert_frame_equal(df, expected_crm(raw))
    assert df["lead_id"].iloc[0] == "00001"  # leading zeros kept: IDs are strings


def test_tsv_by_suffix(tmp_path: Path) -> None:
    raw = crm_leads()
    path = tmp_path / "leads.tsv"
    raw.to_csv(path, index=False, sep="\t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a .tsv read as tab-separated warns about nothing
        df = io.load_table(crm_source(path))
    pd.testing.assert_frame_equal(df, expected_crm(raw))


def test_semicolon_separated_is_detected_and_said(tmp_path: Path) -> None:
    raw = crm_leads()
    path = tmp_path / "leads.csv"
    raw.to_csv(path, index=False, sep=";")
    with pytest.warns(io.LeadnbWarning, match=r"';'-separated") as rec:
        df = io.load_table(crm_source(path))
    pd.testing.assert_frame_equal(df, expected_crm(raw))
    text = str(rec[0].message)
    assert "table leads" in text and str(path) in text and 'sep: ";"' in text
    report = Report()
    io.load_table(crm_source(path), report=report)
    assert [i.level for i in report.issues] == ["warning"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # declared: silent
        io.load_table(crm_source(path, sep=";"))


def test_tab_separated_csv_is_detected(tmp_path: Path) -> None:
    raw = crm_leads()
    path = tmp_path / "leads.csv"
    raw.to_csv(path, index=False, sep="\t")
    with pytest.warns(io.LeadnbWarning, match="tab-separated"):
        df = io.load_table(crm_source(path))
    pd.testing.assert_frame_equal(df, expected_crm(raw))


def test_excel_sheet_native_types(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    leads = pd.DataFrame(
        {
            "Lead Number": [101, 102, 103],  # numbers in Excel: IDs without ".0"
            "Created": pd.to_datetime(["2025-01-02 10:30", "2025-02-03 00:00", "2025-03-04 00:00"]),
            "Phone": [4420001, None, 4420003],
            "Title": ["CTO", "Select", None],
        }
    )
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="Notes", index=False)
        leads.to_excel(xw, sheet_name="Leads", index=False)
    src = source(
        "leads",
        path,
        sheet="Leads",
        columns={
            "Lead Number": "lead_id",
            "Created": "created_at",
            "Phone": "phone",
            "Title": "title",
        },
        placeholders=("Select",),
    )
    df = io.load_table(src)
    assert df["lead_id"].tolist() == ["101", "102", "103"]
    assert df["lead_id"].dtype == "str"
    assert df["created_at"].dtype == "datetime64[us]"
    assert df["created_at"].iloc[0] == pd.Timestamp("2025-01-02 10:30")
    assert df["phone"].tolist()[0] == "4420001" and pd.isna(df["phone"].iloc[1])
    assert df["title"].isna().tolist() == [False, True, True]


def test_excel_missing_sheet_lists_sheets(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    pd.DataFrame({"lead_id": [1]}).to_excel(path, sheet_name="Export", index=False)
    with pytest.raises(DataError) as err:
        io.load_table(source("leads", path, sheet="Leads"))
    assert "no sheet 'Leads'" in str(err.value) and "Export" in str(err.value)
    assert err.value.table == "leads" and "data.leads.sheet" in err.value.fix


def test_parquet_float_ids_and_aware_times(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    ts = pd.to_datetime(["2025-01-01 12:00", "2025-01-02 00:30", "2025-07-03 09:00"]).tz_localize(
        "Europe/Berlin"
    )
    pd.DataFrame(
        {
            "lead_id": [1.0, np.nan, 3.0],  # pandas writes an int column with gaps as float
            "ts": ts,
            "event_type": ["email_open", "link_open", "tag_added"],
            "duration_s": [1, 2, 3],
        }
    ).to_parquet(path)
    df = io.load_table(source("events", path))
    assert df["lead_id"].tolist()[0] == "1" and pd.isna(df["lead_id"].iloc[1])
    assert df["ts"].dtype == "datetime64[us]"
    assert df["ts"].tolist() == [pd.Timestamp(t).tz_convert("UTC").tz_localize(None) for t in ts]
    assert df["duration_s"].dtype == "float64"
    assert isinstance(df["event_type"].dtype, pd.CategoricalDtype)  # DICTIONARY_COLUMNS
    assert df["event_type"].cat.categories.dtype == "str"


def test_parquet_reader_returns_what_pandas_reads(tmp_path: Path) -> None:
    """The Parquet reader (self-destructing, split blocks, no pre-buffering) returns the frame
    ``pd.read_parquet`` returns, for every column type a CRM export may hold, over several row
    groups (several Arrow chunks per column), with a stored index and frame attrs."""
    n = 2500
    rng = np.random.default_rng(7)
    text = np.array(["a", "NULL", "", " b ", "Select", None, "é"], dtype=object)
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "text": pd.array(text[rng.integers(0, len(text), n)], dtype="str"),
            "ts_ms": pd.date_range("2025-01-01", periods=n, freq="h").astype("datetime64[ms]"),
            "ts_aware": pd.date_range("2025-03-29", periods=n, freq="min", tz="Europe/Berlin"),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n).astype("float32"),
            "k": rng.integers(0, 9, n),
            "k_na": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), "Int64"),
            "flag": rng.random(n) < 0.5,
            "cat": pd.Categorical(rng.choice(["x", "y"], n)),
        },
        index=pd.Index(rng.integers(0, 50, n), name="stored"),
    )
    frame.attrs = {"origin": "crm"}
    path = tmp_path / "leads.parquet"
    frame.to_parquet(path, row_group_size=700)
    got, want = io._read_parquet(path), pd.read_parquet(path)
    assert got["text"].array.__arrow_array__().num_chunks > 1
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs == want.attrs == {"origin": "crm"}
    pd.testing.assert_frame_equal(got, frame, check_exact=True)


@pytest.mark.parametrize("key", ["company", ["company", "lead_id"], "lead_id", None])
def test_parquet_with_a_stored_index_loads(tmp_path: Path, key) -> None:
    """pandas ``set_index(...).to_parquet`` stores the index (here duplicated): it becomes
    columns again (lead_id included) and the rows keep their order."""
    frame = pd.DataFrame(
        {
            "lead_id": ["a1", "a2", "a3", "a4"],
            "created_at": ["2025-01-01", "2025-01-02", "2025-01-02", "2025-02-01"],
            "company": ["Acme", "Acme", "Beta", "Acme"],
        }
    )
    path = tmp_path / "leads.parquet"
    stored = frame.set_index(key) if key is not None else frame.set_index(pd.Index([5, 5, 7, 5]))
    assert not stored.index.is_unique or key == "lead_id" or isinstance(key, list)
    stored.to_parquet(path)
    df = io.load_table(source("leads", path))
    assert df["lead_id"].tolist() == ["a1", "a2", "a3", "a4"]
    assert df["company"].tolist() == ["Acme", "Acme", "Beta", "Acme"]
    assert df.index.equals(pd.RangeIndex(4))
    assert df["created_at"].dt.day.tolist() == [1, 2, 2, 1]


_CELLS = ["email_open", " email_open ", "Select", "NULL", "", None, "é", "tag:<script>", "10"]


def _expected_text(cell: str | None, strip: bool) -> str | None:
    """A cell as the loader's text columns read it (by hand): stripped in files people edit,
    missing when blank, a missing marker or a placeholder."""
    if cell is None:
        return None
    cell = cell.strip() if strip else cell
    return None if cell in {*io.MISSING_TOKENS, "Select"} else cell


@settings(max_examples=25, deadline=None)
@given(
    cells=st.lists(st.tuples(st.sampled_from(_CELLS), st.sampled_from(_CELLS)), min_size=1,
                   max_size=40),
    fmt=st.sampled_from(["csv", "parquet"]),
    row_group=st.integers(1, 9),
)  # fmt: skip
def test_events_text_columns_are_sorted_categoricals_of_the_cleaned_text(
    tmp_path_factory, cells: list, fmt: str, row_group: int
) -> None:
    """The events' lead ids, types and values (DICTIONARY_COLUMNS) load as categoricals whose
    values are the cleaned text (stripped in a CSV, markers and placeholders missing), with
    sorted, distinct text categories, whatever the file's row groups and column names."""
    folder = tmp_path_factory.mktemp("events")
    n = len(cells)
    raw = pd.DataFrame(
        {
            "Lead": [f"L{i % 7}" for i in range(n)],
            "ts": ["2025-01-01"] * n,
            "Kind": [a for a, _ in cells],
            "value": [b for _, b in cells],
        },
    ).astype({"Kind": "str", "value": "str"})
    path = folder / f"events.{fmt}"
    if fmt == "csv":
        raw.to_csv(path, index=False)
    else:
        raw.to_parquet(path, row_group_size=row_group)
    src = source("events", path, columns={"Lead": "lead_id", "Kind": "event_type"},
                 placeholders=["Select"])  # fmt: skip
    report = Report()
    df = io.load_table(src, report=report)
    strip = fmt == "csv"
    for col, raw_col in (("lead_id", "Lead"), ("event_type", "Kind"), ("value", "value")):
        s = df[col]
        assert isinstance(s.dtype, pd.CategoricalDtype), col
        cats = list(s.cat.categories)
        assert cats == sorted(set(cats)) and s.cat.categories.dtype == "str"
        want = [_expected_text(None if pd.isna(c) else c, strip) for c in raw[raw_col]]
        if fmt == "csv":  # a CSV cell holding only spaces reads as blank
            want = [None if w is not None and not w.strip() else w for w in want]
        got = [None if pd.isna(v) else v for v in s.tolist()]
        assert got == want, col
        assert set(cats) == {w for w in want if w is not None}  # no unused category


def test_parquet_categorical_ids_become_text_categories(tmp_path: Path) -> None:
    """A Parquet file written from pandas categoricals (integer lead ids, unsorted categories)
    loads as text categoricals: integral ids without ".0", categories sorted."""
    path = tmp_path / "events.parquet"
    pd.DataFrame(
        {
            "lead_id": pd.Categorical([3, 1, None, 3], categories=[3, 1, 2]),
            "ts": pd.to_datetime(["2025-01-01"] * 4),
            "event_type": pd.Categorical(["b", "a", "a", "NULL"], categories=["b", "NULL", "a"]),
        }
    ).to_parquet(path)
    df = io.load_table(source("events", path))
    assert [None if pd.isna(v) else v for v in df["lead_id"]] == ["3", "1", None, "3"]
    assert [None if pd.isna(v) else v for v in df["event_type"]] == ["b", "a", "a", None]
    assert list(df["event_type"].cat.categories) == ["a", "b"]
    assert df["lead_id"].cat.categories.dtype == "str"


def test_id_written_as_float_text_loses_point_zero(tmp_path: Path) -> None:
    path = tmp_path / "stages.csv"
    path.write_text("lead_id,stage,entered_at\n12.0,mql,2025-01-01\n13.0,sql,2025-01-02\n")
    df = io.load_table(source("stages", path))
    assert df["lead_id"].tolist() == ["12", "13"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(-(10**12), 10**12), st.none()), min_size=1, max_size=20))
def test_to_id_of_float_column_matches_str_of_int(values: list[int | None]) -> None:
    s = pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    got = io.to_id(s).tolist()
    want = [None if v is None else str(v) for v in values]
    assert [None if pd.isna(g) else g for g in got] == want


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=pd.Timestamp("1990-01-01"), max_value=pd.Timestamp("2040-12-31")),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]),
)
def test_parse_datetimes_roundtrips_a_declared_format(values, fmt) -> None:
    text = pd.Series([v.strftime(fmt) for v in values], dtype="str")
    parsed, bad = io.parse_datetimes(text, date_format=fmt)
    assert not bad.any()
    assert parsed.dtype == "datetime64[us]"
    assert parsed.tolist() == [pd.Timestamp(v.replace(second=0, microsecond=0)) for v in values]


def test_dayfirst_without_format(tmp_path: Path) -> None:
    path = tmp_path / "costs.csv"
    path.write_text("period_start,amount\n01/02/2025,10\n13/02/2025,20.5\n")
    df = io.load_table(source("costs", path, dayfirst=True))
    assert df["period_start"].tolist() == [pd.Timestamp("2025-02-01"), pd.Timestamp("2025-02-13")]
    assert df["amount"].tolist() == [10.0, 20.5]


def test_utf8_bom_header(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("lead_id,name\n1,Zoë\n".encode("utf-8-sig"))
    df = io.load_table(source("leads", path))
    assert list(df.columns) == ["lead_id", "name"] and df["name"].iloc[0] == "Zoë"


def test_stage_names_mapped_by_aliases_and_stage_map(tmp_path: Path) -> None:
    path = tmp_path / "stages.csv"
    path.write_text(
        "lead_id,stage,entered_at\n"
        "1, Marketing Qualified ,2025-01-01\n2,SALES QUALIFIED,2025-01-02\n"
        "3,Opportunity,2025-01-03\n4,Closed Won,2025-01-04\n5,Mystery,2025-01-05\n"
    )
    df = io.load_table(
        source("stages", path, stage_map={"Closed Won": "customer"}),
        funnel_aliases={"Marketing Qualified": "mql", "Sales Qualified": "sql", "Closed Won": "x"},
        funnel_stages=["lead", "mql", "sql", "opportunity", "customer", "lost"],
    )
    assert df["stage"].tolist() == ["mql", "sql", "opportunity", "customer", "Mystery"]


# ------------------------------------------------------------------ Arrow fast paths
# The loader reads CSV with Arrow and parses ISO dates with Arrow's cast when it can, and falls
# back to pandas otherwise. Each test compares the result (or the error) with the precise pandas
# path, switched on alone by replacing the fast paths with "cannot".


def _precise_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "_read_csv_arrow", lambda *a, **k: None)
    monkeypatch.setattr(io, "_iso_datetimes_arrow", lambda *a, **k: None)
    monkeypatch.setattr(io, "_numbers_arrow", lambda *a, **k: None)


def _load_both(src: TableSource, monkeypatch: pytest.MonkeyPatch, **kw):
    """``(fast, precise)``: each a frame or the error it raised (type and text), with the
    warnings. Any exception counts: a file pandas chokes on must fail the same way."""

    def load():
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                df = io.load_table(src, **kw)
            except Exception as err:  # compared below, not swallowed
                df = f"{type(err).__name__}: {err}"
        return df, [str(w.message) for w in seen]

    fast = load()
    with monkeypatch.context() as m:
        _precise_only(m)
        precise = load()
    return fast, precise


def _assert_same(fast, precise) -> None:
    (a, warn_a), (b, warn_b) = fast, precise
    assert warn_a == warn_b
    if isinstance(b, str):
        assert a == b
    else:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.attrs == b.attrs


TRICKY_CSV = {
    "plain": "lead_id,name\n1,Ann\n2,Bob\n",
    "utf-8 BOM": "\ufefflead_id,name\n1,Zoë\n",
    "CRLF": "lead_id,name\r\n1,Ann\r\n2,Bob\r\n",
    "CR only": "lead_id,name\r1,Ann\r2,Bob\r",
    "blank lines": "lead_id,name\n1,Ann\n\n2,Bob\n\n",
    "line of spaces": "lead_id,name\n1,Ann\n   \n2,Bob\n",
    "one column, line of spaces": "lead_id\n1\n   \n2\n",
    "delimiters only": "lead_id,name\n1,Ann\n,\n2,Bob\n",
    "quote inside a field": 'lead_id,name\n1,An"n\n',
    "text after a closing quote": 'lead_id,name\n1,"An"n\n',
    "space after a closing quote": 'lead_id,name\n1,"Ann" \n',
    "newline in quotes": 'lead_id,name\n1,"Ann\nSmith"\n2,Bob\n',
    "quoted empty": 'lead_id,name\n1,""\n2,Bob\n',
    "doubled quote": 'lead_id,name\n1,"A ""B"" C"\n',
    "short row": "lead_id,name\n1\n2,Bob\n",
    "long row": "lead_id,name\n1,Ann,x\n2,Bob\n",
    "implicit index column": "lead_id,name\n0,1,Ann\n1,2,Bob\n",
    "no final newline": "lead_id,name\n1,Ann",
    "header only": "lead_id,name\n",
    "repeated header name": "lead_id,lead_id\n1,2\n",
    "blank header name": "lead_id,\n1,2\n",
    "spaces around": " lead_id , name \n 1 , Ann \n",
    "backslash": "lead_id,name\n1,A\\,B\n",
    "NUL byte": "lead_id,name\n1,A\x00B\n",
    "missing tokens": "lead_id,name\nNA,NULL\n2,None\n3, n/a \n",
    "blank first line": "\nlead_id,name\n1,Ann\n",
    "newline in a quoted header": '"lead\nid",name\n1,Ann\n',
    "unterminated quote": 'lead_id,name\n1,"Ann\n',
    "lines of spaces only": "   \n  \n",
    "semicolons": "lead_id;name\n1;Ann\n2;Bob\n",
    "tabs": "lead_id\tname\n1\tAnn\n\t\n2\tBob\n",
    "not UTF-8": "lead_id,name\n1,Société\n".encode("cp1252"),
    "quote left open at the end, no final newline": 'lead_id,name\n1,"Ann',
    "quote left open after a stray quote": 'lead_id,name\n1,A"n\n2,"Bob',
    "doubled quote left open": 'lead_id,name\n1,"Ann""\n',
    "stray carriage returns": "lead_id;name\n;\n\r;b1 a",
    "carriage return line after the header": '"lead_id","name"\n\r,',
    "ISO dates": "lead_id,created_at\nL1,2025-01-02 03:04:05\nL2,\nL3,2025-01-03T00:00\n",
    "an impossible ISO date": "lead_id,created_at\nL1,2025-01-02\nL2,2025-02-30\nL3,NA\n",
}


def test_fast_paths_are_taken_for_ordinary_files(tmp_path: Path) -> None:
    """The comparisons above mean something only if Arrow really reads the ordinary files."""
    path = tmp_path / "stages.csv"
    path.write_text('lead_id,stage,entered_at\n"L1",lead,2025-01-02 03:04:05\r\nL2,,2025-01-03\r\n')
    raw = io._read_csv_arrow(path, ",")
    assert raw is not None and raw["stage"].isna().tolist() == [False, True]
    parsed = io._iso_datetimes_arrow(raw["entered_at"])
    assert parsed is not None and parsed.tolist() == [
        pd.Timestamp("2025-01-02 03:04:05"),
        pd.Timestamp("2025-01-03"),
    ]
    assert io._iso_datetimes_arrow(pd.Series(["2025-01-02", "2025-02-30"], dtype="str")) is None


@pytest.mark.parametrize("name", list(TRICKY_CSV))
def test_csv_fast_path_reads_what_pandas_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    content = TRICKY_CSV[name]
    path = tmp_path / "leads.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    _assert_same(*_load_both(source("leads", path), monkeypatch))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab ,;\"\n\r\t\\'ÿ€", max_size=6),
            st.sampled_from(["", " ", "NA", "Select", "2025-01-02", "2025-01-02 03:04:05", "x"]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([",", ";", "\t"]),
)
def test_csv_fast_path_matches_pandas_on_generated_text(rows, sep) -> None:
    import tempfile

    frame = pd.DataFrame(rows, columns=["name", "created_at"])
    frame.insert(0, "lead_id", [f"L{i}" for i in range(len(rows))])
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        path = Path(tmp) / "leads.csv"
        frame.to_csv(path, index=False, sep=sep)
        src = source("leads", path, sep=sep, placeholders=("Select",))
        _assert_same(*_load_both(src, monkeypatch))


_FIELD = st.lists(
    st.sampled_from(
        ["a", " ", '"', '""', "\n", "\r\n", "\r", ",", ";", "\t", "NA", "2025-01-02", "é"]
    ),
    max_size=4,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(_FIELD, _FIELD.map(lambda f: f'"{f}"'), _FIELD.map(lambda f: f'"{f}')),
            min_size=1,
            max_size=4,
        ),
        max_size=5,
    ),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_csv_fast_path_matches_pandas_on_raw_text(rows, sep, eol, final_eol) -> None:
    """Hand-made files, broken ones included (ragged rows, quotes left open, stray quotes and
    carriage returns): the same frame, warnings and error message with and without Arrow."""
    import tempfile

    lines = [sep.join(["lead_id", "created_at", "name"]), *(sep.join(r) for r in rows)]
    text = eol.join(lines) + (eol if final_eol else "")
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        path = Path(tmp) / "leads.csv"
        path.write_bytes(text.encode("utf-8"))
        _assert_same(*_load_both(source("leads", path, sep=sep), monkeypatch))


# strings around the edge of Arrow's ISO 8601 cast, each with what pandas reads (None: not a date)
ISO_EDGES = {
    "2025-01-01": "2025-01-01",
    "2025-01-01 13:42:49": "2025-01-01 13:42:49",
    "2025-01-01T13:42:49": "2025-01-01 13:42:49",
    "2025-01-01 13:42": "2025-01-01 13:42",
    "2025-01-01 13": "2025-01-01 13:00",
    "2025-01-01 13:42:49.123": "2025-01-01 13:42:49.123",
    "2025-01-01 13:42:49.123456": "2025-01-01 13:42:49.123456",
    "2025-01-01 13:42:49.123456789": "2025-01-01 13:42:49.123456",
    "2025-01-01T13:42:49Z": "2025-01-01 13:42:49",
    "2025-01-01T13:42:49+02:00": "2025-01-01 11:42:49",
    "2025-01-01 13:42:49-05:30": "2025-01-01 19:12:49",
    "0001-01-01": "0001-01-01",
    "9999-12-31 23:59:59": "9999-12-31 23:59:59",
    "2025-1-5": "2025-01-05",
    "2025-01": "2025-01-01",
    "20250101": "2025-01-01",
    "2025-02-30": None,
    "2025-13-01": None,
    "2025-01-01 23:59:60": None,
    "2025-01-01 24:00:00": None,
    "2025-01-01t13:42": None,
    "10000-01-01": None,
    "yesterday": None,
}


@pytest.mark.parametrize("value", list(ISO_EDGES))
def test_iso_dates_fast_path_agrees_with_pandas(value: str) -> None:
    """Alone and among ordinary dates, every value parses to what pandas reads, and the values
    pandas cannot read are the bad ones (the fast path never accepts one of those)."""
    want = ISO_EDGES[value]
    for values in ([value], ["2025-06-30 08:00:00", value, None, "2024-02-29"]):
        s = pd.Series(values, dtype="str")
        parsed, bad = io.parse_datetimes(s)
        assert parsed.dtype == "datetime64[us]"
        i = values.index(value)
        assert bool(bad.iloc[i]) == (want is None)
        assert parsed.iloc[i] == pd.Timestamp(want) if want else pd.isna(parsed.iloc[i])
        assert bad.sum() == (want is None)
        if len(values) > 1:
            assert parsed.iloc[0] == pd.Timestamp("2025-06-30 08:00")
            assert pd.isna(parsed.iloc[2]) and parsed.iloc[3] == pd.Timestamp("2024-02-29")


NUMBER_EDGES = [
    "1",
    "-1",
    "+1",
    "1.5",
    ".5",
    "5.",
    "1e5",
    "1E-5",
    "-0",
    "-0.0",
    "-0e5",
    "0.0",
    "inf",
    "-Infinity",
    "NAN",
    "1e500",
    "1e-400",
    "0x1A",
    "1_000",
    "1,5",
    "€12",
    "12 k",
    "00012",
    "12345678901234567890",
    "9007199254740993",
    "0.30000000000000004",
    "4.9e-324",
    "e5",
    "1e",
]


@pytest.mark.parametrize("value", NUMBER_EDGES)
def test_numbers_fast_path_agrees_with_pandas(value: str) -> None:
    """Alone and among plain numbers: the values (sign of zero included) and the bad cells are
    those of pd.to_numeric, the reference."""
    for values in ([value], ["2.5", value, None, "1000"]):
        s = pd.Series(values, dtype="str")
        parsed, bad = io.parse_numbers(s)
        want = pd.to_numeric(s, errors="coerce").astype("float64")
        np.testing.assert_array_equal(parsed.to_numpy(), want.to_numpy())
        assert (np.signbit(parsed.to_numpy()) == np.signbit(want.to_numpy())).all()
        assert bad.tolist() == (s.notna() & want.isna()).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False), st.integers()), max_size=20))
def test_numbers_fast_path_rounds_like_pandas(values) -> None:
    texts = [None if v is None else (repr(v) if isinstance(v, float) else str(v)) for v in values]
    s = pd.Series(texts, dtype="str")
    parsed, bad = io.parse_numbers(s)
    want = pd.to_numeric(s, errors="coerce").astype("float64")
    np.testing.assert_array_equal(parsed.to_numpy(), want.to_numpy())
    assert (np.signbit(parsed.to_numpy()) == np.signbit(want.to_numpy())).all()
    assert not bad.any()


def test_iso_date_error_names_rows_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One impossible date in a default (ISO) column: the fast path gives up on that column and
    the message names the line, the lead and the raw value, as the pandas path always did."""
    path = tmp_path / "stages.csv"
    path.write_text(
        "lead_id,stage,entered_at\nL1,lead,2025-01-01 10:00:00\nL2,mql,2025-02-30 11:00:00\n"
        "L3,sql,2025-03-01\n"
    )
    fast, precise = _load_both(source("stages", path), monkeypatch)
    _assert_same(fast, precise)
    with pytest.raises(DataError) as err:
        io.load_table(source("stages", path))
    e = err.value
    assert e.column == "entered_at" and e.issues[0].count == 1
    assert e.rows.index.tolist() == [3] and e.rows["lead_id"].tolist() == ["L2"]
    assert e.rows["entered_at"].tolist() == ["2025-02-30 11:00:00"]
    assert "not real calendar dates" in e.fix


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="aNé -Sl", max_size=7)), max_size=30),
    st.lists(st.text(alphabet="aNé -Sl", min_size=0, max_size=6), min_size=1, max_size=4),
)
def test_missing_token_lookup_on_short_cells_equals_isin(cells, tokens) -> None:
    s = pd.Series(cells, dtype="str", name="x", index=pd.RangeIndex(5, 5 + len(cells)))
    want = pd.Series(
        [c is not None and c in tokens for c in cells], index=s.index, name="x", dtype=bool
    )
    pd.testing.assert_series_equal(io._isin_short(s, tokens), want)
    pd.testing.assert_series_equal(s.isin(tokens), want)


def _chunked_text(cells: list[str | None], cuts: list[int], pad: int) -> pd.Series:
    """``cells`` as Arrow-backed text in several chunks, each a slice (non-zero offset) of a
    longer array whose ``pad`` leading and trailing cells (some missing) are not part of it."""
    filler = [" NA ", None, "x"] * pad  # spaces: a read outside the slice would see them
    bounds = sorted({0, len(cells), *(c % (len(cells) + 1) for c in cuts)})
    chunks = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        whole = pa.array(filler[:pad] + cells[lo:hi] + filler[:pad], pa.large_string())
        chunks.append(whole.slice(pad, hi - lo))
    arr = pa.chunked_array(chunks, type=pa.large_string())
    return pd.Series(arr, dtype="str", name="x", index=pd.RangeIndex(3, 3 + len(cells)))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="aNé -S<#~\x7f!", max_size=7)), max_size=40),
    st.lists(st.text(alphabet="aNé -S<#", min_size=0, max_size=6), min_size=1, max_size=4),
    st.lists(st.integers(0, 40), max_size=4),
    st.integers(0, 9),
)
def test_token_lookup_and_masking_on_sliced_chunks_equal_pandas(cells, tokens, cuts, pad) -> None:
    """Chunked, sliced Arrow text (as Arrow's CSV and Parquet readers return it): the lookup
    read from offsets and first bytes equals a cell-by-cell comparison, and clean_text's
    masking (a new validity bitmap) equals pandas' ``mask``."""
    s = _chunked_text(cells, cuts, pad)
    want = pd.Series(
        [c is not None and c in tokens for c in cells], index=s.index, name="x", dtype=bool
    )
    pd.testing.assert_series_equal(io._isin_short(s, tokens), want)
    edges = [b for c in cells if c for b in (c.encode()[0], c.encode()[-1])]
    assert io._may_need_strip(s) == any(not 0x21 <= b <= 0x7E for b in edges)
    missing = set(io.MISSING_TOKENS) | {t.strip() for t in tokens}
    plain = pd.Series(cells, dtype="str", name="x", index=s.index)
    for strip in (False, True):
        ref = plain.str.strip() if strip else plain
        ref = ref.mask(ref.isin(list(missing)))
        got = io.clean_text(s, tokens, strip=strip)
        pd.testing.assert_series_equal(got, ref)
        assert got.isna().tolist() == ref.isna().tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=1, max_size=20))
def test_strip_is_skipped_only_when_it_changes_nothing(cells) -> None:
    s = pd.Series(cells, dtype="str")
    if not io._may_need_strip(s):
        pd.testing.assert_series_equal(s.str.strip(), s)
    assert io._may_need_strip(pd.Series(["a", " b"], dtype="str"))
    assert io._may_need_strip(pd.Series(["a", "b\u00a0"], dtype="str"))  # Unicode space
    assert not io._may_need_strip(pd.Series(["a b", None, ""], dtype="str"))
    sliced = pd.Series([" a", "b", "c", "d "], dtype="str")  # views into one Arrow buffer
    assert not io._may_need_strip(sliced.iloc[1:3]) and io._may_need_strip(sliced.iloc[2:])


def test_map_stages_by_distinct_name_equals_row_by_row() -> None:
    """Stage names are mapped once per distinct name; the result is the row-by-row mapping."""
    stage = pd.Series(
        [" Lead", None, "MQL ", "Closed Won", "odd", "Lead", np.nan, "closed won"],
        dtype="str",
        name="stage",
        index=pd.RangeIndex(10, 18),
    )
    aliases = {"Closed Won": "customer", "Lead": "lead"}
    got = io.map_stages(stage, aliases, ["lead", "mql"])
    lookup = {"lead": "lead", "mql": "mql", "closed won": "customer"}
    want = pd.Series(
        [None if pd.isna(v) else lookup.get(v.strip().casefold(), v) for v in stage.tolist()],
        dtype="str",
        name="stage",
        index=stage.index,
    )
    pd.testing.assert_series_equal(got, want)


# ------------------------------------------------------------------ bad inputs


def test_not_utf8_undeclared_is_an_error_naming_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("lead_id,company\n1,Acme\n2,Société Générale\n".encode("cp1252"))
    with pytest.raises(DataError) as err:
        io.load_table(source("leads", path))
    text = str(err.value)
    assert "not UTF-8" in text and "cp1252" in text and "line 3" in text
    assert "Société" in text  # the offending line, decoded with the guess
    assert "data.leads.encoding: cp1252" in err.value.fix and err.value.table == "leads"
    # declared: loads
    df = io.load_table(source("leads", path, encoding="cp1252"))
    assert df["company"].tolist() == ["Acme", "Société Générale"]
    # with a report: error recorded, table still loaded so other problems can be listed
    report = Report()
    df = io.load_table(source("leads", path), report=report)
    assert len(df) == 2 and len(report.errors) == 1


def test_utf16_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("lead_id,name\n1,A\n".encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16"):
        io.load_table(source("leads", path))


def test_unparseable_dates_name_rows_and_raw_values(tmp_path: Path) -> None:
    raw = crm_leads(8)
    raw.loc[[2, 5], "Lead Created On"] = ["2025-13-45", "yesterday"]
    path = tmp_path / "leads.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        io.load_table(crm_source(path))
    e = err.value
    assert e.table == "leads" and e.column == "created_at" and e.file == str(path)
    assert e.issues[0].count == 2
    assert e.rows.index.tolist() == [4, 7]  # file lines (header is line 1)
    assert e.rows["created_at"].tolist() == ["2025-13-45", "yesterday"]
    assert e.rows["lead_id"].tolist() == ["00003", "00006"]
    assert '"Lead Created On"' in str(e) and "date_format" in e.fix


def test_wrong_date_format_suggests_the_right_one(tmp_path: Path) -> None:
    raw = crm_leads(5)
    path = tmp_path / "leads.csv"
    raw.to_csv(path, index=False)
    src = source("leads", path, columns=CRM_COLUMNS, placeholders=("Select",))  # no date_format
    with pytest.raises(DataError) as err:
        io.load_table(src)
    assert "ISO 8601" in str(err.value)
    assert "%d/%m/%Y" in err.value.fix or "%m/%d/%Y" in err.value.fix


def test_non_numeric_costs_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "costs.csv"
    path.write_text(
        "month,spend,program\n2025-01-01,1000,nurture\n2025-02-01,€1200,nurture\n"
        "2025-03-01,1.300,lead_generation\n2025-04-01,n/a,nurture\n2025-05-01,12 k,nurture\n"
    )
    src = source("costs", path, columns={"month": "period_start", "spend": "amount"})
    with pytest.raises(DataError) as err:
        io.load_table(src)
    e = err.value
    assert e.table == "costs" and e.column == "amount" and e.issues[0].count == 2
    assert e.rows["amount"].tolist() == ["€1200", "12 k"]
    assert e.rows.index.tolist() == [3, 6]
    assert '"spend"' in str(e)


def test_unmatched_column_mapping_suggests_the_header(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    crm_leads().to_csv(path, index=False)
    src = source("leads", path, columns={"Lead Nmber": "lead_id"})
    with pytest.raises(DataError) as err:
        io.load_table(src)
    text = str(err.value)
    assert 'no column "Lead Nmber"' in text and 'did you mean "Lead Number"' in text
    assert err.value.column == "lead_id" and err.value.table == "leads"


def test_two_columns_mapped_onto_one_name(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("lead_id,Id\n1,2\n")
    with pytest.raises(DataError, match="more than once") as err:
        io.load_table(source("leads", path, columns={"Id": "lead_id"}))
    assert err.value.column == "lead_id"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("leads.csv", None, "does not exist"),
        ("leads.json", "{}", "unsupported file type '.json'"),
        ("leads.csv", "", "file is empty"),
        ("leads.xls", "x", "save it as .xlsx"),
        ("leads.parquet", "not parquet", "as Parquet"),
        ("leads.xlsx", "not a workbook", "Excel workbook"),
        ("leads.csv", 'lead_id,name\n1,"unterminated\n', "cannot parse"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: str | None, match: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=match) as err:
        io.load_table(source("leads", path))
    assert err.value.table == "leads" and err.value.file == str(path) and err.value.fix


def test_sql_url_variable_missing_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADNB_NO_SUCH_URL", raising=False)
    src = TableSource("leads", sql="select 1", url_env="LEADNB_NO_SUCH_URL")
    with pytest.raises(ParamsError) as err:
        io.load_table(src)
    assert "LEADNB_NO_SUCH_URL" in str(err.value) and err.value.table == "leads"
    assert "export LEADNB_NO_SUCH_URL=" in err.value.fix


# the masking of database URLs in these messages: tests/test_masking.py


# ------------------------------------------------------------------ load_tables


def test_load_tables_loads_configured_ones(tmp_path: Path, write_params) -> None:
    from leadnb.data.params import load_params

    crm_leads().to_csv(tmp_path / "leads.csv", index=False)
    (tmp_path / "stages.csv").write_text(
        "lead_id,stage,entered_at\n00001,Marketing Qualified,2025-06-01\n"
    )
    path = write_params(
        {
            "run": {"as_of": "2026-06-30"},
            "data": {
                "leads": {
                    "source": "leads.csv",
                    "columns": CRM_COLUMNS,
                    "placeholders": ["Select"],
                    "date_format": "%d/%m/%Y",
                },
                "stages": "stages.csv",
            },
            "funnel": {"aliases": {"Marketing Qualified": "mql"}},
        }
    )
    params = load_params(path)
    tables = io.load_tables(params)
    assert set(tables) == {"leads", "stages"}
    assert tables["stages"]["stage"].tolist() == ["mql"]
    assert list(io.load_tables(params, ["stages", "costs"])) == ["stages"]
    with pytest.raises(ParamsError, match="unknown table"):
        io.load_tables(params, ["lead"])


@pytest.mark.parametrize("threads", [1, 2])
def test_load_tables_reports_in_table_order_whatever_finishes_first(
    tmp_path: Path, write_params, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """The tables are read in threads (LOAD_THREADS); what they found is reported in table
    order, the warnings in the caller's thread, and without a report the first table (in
    order) with an error raises: as one table after the other."""
    from leadnb.data.params import load_params

    monkeypatch.setattr(io, "LOAD_THREADS", threads)
    read = io._load

    def leads_last(source, aliases, stages):  # the first table finishes last
        if source.table == "leads":
            time.sleep(0.3)
        return read(source, aliases, stages)

    monkeypatch.setattr(io, "_load", leads_last)
    # leads: a trailing separator on every row (a warning) and a bad date (an error)
    (tmp_path / "leads.csv").write_text(
        "lead_id,created_at\n1,2026-01-05,\n2,not a date,\n3,2026-01-07,\n"
    )
    # stages: an unreadable date too; costs: clean
    (tmp_path / "stages.csv").write_text("lead_id,stage,entered_at\n1,mql,31/02/2026x\n")
    (tmp_path / "costs.csv").write_text("month,program,cost\n2026-01,nurture,100\n")
    path = write_params(
        {
            "run": {"as_of": "2026-06-30"},
            "data": {"leads": "leads.csv", "stages": "stages.csv", "costs": "costs.csv"},
        }
    )
    params = load_params(path)
    report = Report()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing warns: a report collects every issue
        tables = io.load_tables(params, report=report)
    assert list(tables) == ["leads", "stages", "costs"]
    order = [i.table for i in report.issues]
    assert order == sorted(order, key=["leads", "stages", "costs"].index), order
    assert {"leads", "stages"} <= set(order)
    assert any(i.level == "warning" and i.table == "leads" for i in report.issues)

    with pytest.warns(io.LeadnbWarning, match="trailing"), pytest.raises(DataError) as err:
        io.load_tables(params)
    assert {i.table for i in err.value.issues} == {"leads"}  # the first table in order
    # the loader's own warning filters were left as they were found
    with pytest.warns(UserWarning, match="still here"):
        warnings.warn("still here", UserWarning, stacklevel=1)


def test_table_schemas_follow_the_contract() -> None:
    s = io.TABLE_SCHEMAS
    assert set(s) == {"leads", "events", "stages", "costs", "assignments", "orders"}
    assert s["leads"].required == ("lead_id",)
    assert s["events"].required == ("lead_id", "ts", "event_type")
    assert s["stages"].required == ("lead_id", "stage", "entered_at")
    assert s["costs"].required == ("period_start", "amount")
    assert s["assignments"].required == ("lead_id", "experiment_id", "variant")
    assert s["orders"].one_of == (("account_id", "lead_id"),)
    assert s["leads"].kind("mql_at") == "date" and s["events"].kind("mql_at") is None


# ------------------------------------------------------------------ the real bank dataset

BANK = BANK_DIR / "bank-full.csv"
needs_bank = pytest.mark.skipif(not BANK.exists(), reason=f"{BANK} not present")


@needs_bank
def test_bank_without_an_id_column_says_what_to_map(tmp_path: Path, write_params) -> None:
    from leadnb.data.validation import validate_params_file

    path = write_params(
        {"data": {"leads": {"source": str(BANK), "columns": {"job": "title", "y": "outcome_y"}}}}
    )
    report, params, tables = validate_params_file(path)
    assert params is not None
    (err,) = report.errors
    assert err.message.startswith("missing required column lead_id in the leads table")
    assert "age" in err.message and "balance" in err.message  # the columns that exist
    assert "data.leads.columns" in err.fix and "lead_id" in err.fix
    assert any("';'-separated" in w.message for w in report.warnings)  # separator detected


@needs_bank
def test_bank_with_an_id_column_loads(tmp_path: Path) -> None:
    from leadnb.data.validation import validate_tables

    bank = pd.read_csv(BANK, sep=";")
    bank.insert(0, "customer_no", np.arange(1, len(bank) + 1))
    path = tmp_path / "bank.csv"
    bank.to_csv(path, sep=";", index=False)
    src = source(
        "leads",
        path,
        sep=";",
        columns={"customer_no": "lead_id", "job": "title"},
        placeholders=("unknown",),
    )
    df = io.load_table(src)
    assert len(df) == len(bank) == 45211
    assert df["lead_id"].dtype == "str" and df["lead_id"].iloc[-1] == "45211"
    assert df["title"].isna().sum() == (bank["job"] == "unknown").sum() > 0
    assert validate_tables({"leads": df}, {"leads": src}).ok


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["03/02/2025", "13/02/2025"], "%d/%m/%Y"),
        (["02/13/2025", "03/02/2025"], "%m/%d/%Y"),
        (["03.02.25 10:00"], "%d.%m.%y %H:%M"),
    ],
)
def test_date_fix_guesses_the_format(values: list[str], fmt: str) -> None:
    fix = io.date_fix(TableSource("leads"), values)
    assert f'date_format: "{fmt}"' in fix and "data.leads.date_format" in fix
    text = pd.Series(values, dtype="str")
    assert not io.parse_datetimes(text, date_format=fmt)[1].any()  # the guess really parses


def test_excel_mixed_cells_placeholders_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "costs.xlsx"
    pd.DataFrame(
        {
            "period_start": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
            "amount": [100.5, "-", 300],  # a placeholder among numbers
            "channel": [7, "Select", "web"],
        }
    ).to_excel(path, index=False)
    df = io.load_table(source("costs", path, placeholders=("Select", "-")))
    assert df["amount"].tolist()[0] == 100.5 and pd.isna(df["amount"].iloc[1])
    assert df["amount"].iloc[2] == 300.0
    assert df["channel"].iloc[0] == "7" and pd.isna(df["channel"].iloc[1])
    assert df["channel"].dtype == "str"


def test_a_trailing_separator_on_every_row_is_ignored_and_said(tmp_path: Path) -> None:
    """A CRM export whose data lines all end with a separator loads as if they did not (the
    empty extra value dropped), with a warning; before, pandas shifted every column by one."""
    raw = crm_leads()
    clean = tmp_path / "clean.csv"
    raw.to_csv(clean, index=False)
    header, *lines = clean.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "leads.csv"
    path.write_text("\n".join([header, *(f"{line}," for line in lines)]) + "\n", encoding="utf-8")
    report = Report()
    df = io.load_table(crm_source(path), report=report)
    pd.testing.assert_frame_equal(df, io.load_table(crm_source(clean)))
    (issue,) = report.issues
    assert issue.level == "warning" and issue.table == "leads" and issue.file == str(path)
    assert "every data row ends with an extra ','" in issue.message


def test_a_value_more_than_the_header_names_is_an_error_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "lead_id,created_at\nL1,2025-01-01,web\nL2,2025-01-02,event\nL3,2025-01-03,web\n"
        "L4,2025-01-04,web\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        io.load_table(TableSource("leads", path=path))
    text = str(err.value)
    assert (
        "every data row has 3 values but the header names 2 columns (lead_id, created_at)" in text
    )
    assert f"file {path}" in text and "table leads" in text and "rows affected: 4" in text
    assert "L3" in text and "L4" not in text  # the first three rows, with their line numbers
    assert "add the missing column name to the header row" in text
