"""The SQL source: SQLite always, PostgreSQL when LEADNB_TEST_PG_URL points at a server.

Each test writes small CRM-like tables (renamed columns, placeholders, native types) into the
database with pandas ``to_sql`` and into CSV files, loads both through params-driven sources and
checks the canonical DataFrames are equal. With ``LEADNB_REQUIRE_PG=1`` (CI) a missing or
unreachable PostgreSQL server fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from leadnb.data import loading as io
from leadnb.data.params import TableSource
from leadnb.data.validation import validate_tables
from leadnb.errors import DataError, ParamsError

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = "LEADNB_TEST_PG_URL"
URL_ENV = "LEADNB_TEST_DB_URL"  # the variable the params-driven sources read
SKIP_PG = (
    "set LEADNB_TEST_PG_URL=postgresql+psycopg://user@host:port/db to run (CI's .ci/run starts one)"
)

FUNNEL_ALIASES = {"Marketing Qualified": "mql", "Sales Qualified": "sql", "Closed Won": "customer"}
FUNNEL_STAGES = ["lead", "mql", "sql", "opportunity", "customer", "lost"]


def raw_tables(n: int = 30, seed: int = 11) -> dict[str, pd.DataFrame]:
    """CRM-like tables with their own column names, placeholders and native dtypes."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1000, 1000 + n)
    created = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h")
    leads = pd.DataFrame(
        {
            "Lead Number": ids,
            "Created": created,
            "Company": np.where(rng.random(n) < 0.3, "Select", [f"Co {i}" for i in range(n)]),
            "Industry": np.where(rng.random(n) < 0.2, None, "software"),
            "Country": np.where(rng.random(n) < 0.2, "-", "DE"),
            "Converted": rng.integers(0, 2, n),
            "Notes": ["note"] * n,
        }
    )
    k = 4 * n
    events = pd.DataFrame(
        {
            "lead_id": rng.choice(ids, k),
            "ts": pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 10**6, k), unit="s"),
            "event_type": rng.choice(["content_read", "email_open", "tag_added"], k),
            "value": np.where(rng.random(k) < 0.5, None, "pricing_page"),
            "duration_s": np.where(rng.random(k) < 0.5, np.nan, rng.integers(5, 600, k)),
        }
    )
    stages = pd.DataFrame(
        {
            "Lead": ids,
            "Stage Name": rng.choice(["Marketing Qualified", "Sales Qualified", "Closed Won"], n),
            "Entered": created + pd.Timedelta(days=20),
        }
    )
    costs = pd.DataFrame(
        {
            "Month": pd.date_range("2025-01-01", periods=6, freq="MS"),
            "Spend": rng.uniform(1000, 5000, 6).round(2),
            "program": ["lead_generation", "nurture"] * 3,
        }
    )
    return {"leads": leads, "events": events, "stages": stages, "costs": costs}


SETTINGS: dict[str, dict] = {
    "leads": {
        "columns": {
            "Lead Number": "lead_id",
            "Created": "created_at",
            "Company": "company",
            "Industry": "industry",
            "Country": "country",
            "Converted": "converted",
        },
        "placeholders": ("Select", "-"),
    },
    "events": {},
    "stages": {"columns": {"Lead": "lead_id", "Stage Name": "stage", "Entered": "entered_at"}},
    "costs": {"columns": {"Month": "period_start", "Spend": "amount"}},
}


def csv_sources(tmp_path: Path, raw: dict[str, pd.DataFrame]) -> dict[str, TableSource]:
    out = {}
    for t, df in raw.items():
        path = tmp_path / f"{t}.csv"
        df.to_csv(path, index=False)
        out[t] = TableSource(t, path=path, **SETTINGS[t])
    return out


def sql_sources(engine: sa.Engine, raw: dict[str, pd.DataFrame], schema: str | None):
    out = {}
    for t, df in raw.items():
        df.to_sql(t, engine, schema=schema, index=False, if_exists="replace")
        name = f'"{schema}"."{t}"' if schema else f'"{t}"'
        out[t] = TableSource(t, sql=f"SELECT * FROM {name}", url_env=URL_ENV, **SETTINGS[t])
    return out


def load_all(sources: dict[str, TableSource]) -> dict[str, pd.DataFrame]:
    return {
        t: io.load_table(s, funnel_aliases=FUNNEL_ALIASES, funnel_stages=FUNNEL_STAGES)
        for t, s in sources.items()
    }


def assert_same_as_csv(url: str, schema: str | None, tmp_path, monkeypatch) -> None:
    raw = raw_tables()
    from_csv = load_all(csv_sources(tmp_path, raw))
    engine = sa.create_engine(url)
    try:
        sql = sql_sources(engine, raw, schema)
    finally:
        engine.dispose()
    monkeypatch.setenv(URL_ENV, url)
    from_sql = load_all(sql)
    for t in raw:
        pd.testing.assert_frame_equal(from_sql[t], from_csv[t], obj=t)
    # the canonical form itself, checked against the raw data independently
    leads = from_sql["leads"]
    assert leads["lead_id"].tolist() == [str(i) for i in raw["leads"]["Lead Number"]]
    assert leads["company"].isna().tolist() == (raw["leads"]["Company"] == "Select").tolist()
    assert leads["country"].isna().sum() == (raw["leads"]["Country"] == "-").sum()
    assert leads["created_at"].dtype == "datetime64[us]"
    assert leads["Notes"].tolist() == ["note"] * len(leads)
    assert set(from_sql["stages"]["stage"]) <= {"mql", "sql", "customer"}
    assert from_sql["costs"]["amount"].tolist() == raw["costs"]["Spend"].tolist()
    report = validate_tables(
        from_sql, sql, funnel={"stages": FUNNEL_STAGES[:-1], "lost_stage": "lost"}
    )
    assert report.ok, report.render()


# ------------------------------------------------------------------ SQLite


def test_sqlite_equals_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert_same_as_csv(url, None, tmp_path, monkeypatch)


def test_sqlite_bad_query_names_table_and_hides_url(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    monkeypatch.setenv(URL_ENV, url)
    src = TableSource("events", sql="SELECT * FROM no_such_table", url_env=URL_ENV)
    with pytest.raises(DataError) as err:
        io.load_table(src)
    assert "no_such_table" in str(err.value) and err.value.table == "events"
    assert err.value.file == f"SQL query via ${URL_ENV}"


def test_invalid_url_in_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV, "not a url with pw hunter2")
    with pytest.raises(ParamsError) as err:
        io.load_table(TableSource("leads", sql="SELECT 1", url_env=URL_ENV))
    assert URL_ENV in str(err.value) and "hunter2" not in str(err.value)


def test_connection_failure_masks_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    # port 1 on loopback: refused at once, no server needed
    url = "postgresql+psycopg://leaduser:s3cr3t-pw@127.0.0.1:1/crm?connect_timeout=2"
    monkeypatch.setenv(URL_ENV, url)
    with pytest.raises(DataError) as err:
        io.load_table(TableSource("leads", sql="SELECT 1", url_env=URL_ENV))
    text = str(err.value)
    assert "s3cr3t-pw" not in text and "leads" in text
    assert "***" in text  # the URL is shown masked in the fix


def test_params_driven_sql_source(tmp_path, monkeypatch, write_params) -> None:
    from leadnb.data.params import load_params

    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    raw = raw_tables()
    raw["leads"].to_sql("crm_leads", engine, index=False)
    engine.dispose()
    monkeypatch.setenv(URL_ENV, url)
    path = write_params(
        {
            "data": {
                "leads": {
                    "sql": 'SELECT * FROM crm_leads WHERE "Converted" = 1',
                    "url_env": URL_ENV,
                    "columns": SETTINGS["leads"]["columns"],
                    "placeholders": list(SETTINGS["leads"]["placeholders"]),
                }
            }
        }
    )
    leads = io.load_tables(load_params(path))["leads"]
    want = raw["leads"].loc[raw["leads"]["Converted"] == 1, "Lead Number"].astype(str).tolist()
    assert leads["lead_id"].tolist() == want and (leads["converted"] == 1.0).all()


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="module")
def pg_url() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    required = os.environ.get("LEADNB_REQUIRE_PG") == "1"
    if not url:
        if required:
            pytest.fail(f"LEADNB_REQUIRE_PG=1 but {PG_ENV} is not set; {SKIP_PG}")
        pytest.skip(SKIP_PG)
    pytest.importorskip("psycopg")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        msg = f"PostgreSQL at {PG_ENV} is unreachable: {io.mask_url(str(exc.orig or exc), url)}"
        if required:
            pytest.fail(msg)
        pytest.skip(f"{msg}; {SKIP_PG}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_schema(pg_url: str):
    """A fresh schema for one test (tests may run in parallel), dropped afterwards."""
    schema = f"leadnb_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_postgres_equals_csv(pg_url, pg_schema, tmp_path, monkeypatch) -> None:
    assert_same_as_csv(pg_url, pg_schema, tmp_path, monkeypatch)


@pytest.mark.postgres
def test_postgres_query_error_is_masked(pg_url, pg_schema, monkeypatch) -> None:
    monkeypatch.setenv(URL_ENV, pg_url)
    src = TableSource("stages", sql=f'SELECT * FROM "{pg_schema}".missing', url_env=URL_ENV)
    with pytest.raises(DataError) as err:
        io.load_table(src)
    assert "missing" in str(err.value) and err.value.table == "stages"
    password = sa.engine.make_url(pg_url).password
    assert not password or password not in str(err.value)


def _copy_frame(df: pd.DataFrame, engine: sa.Engine, schema: str, name: str) -> None:
    """Write ``df`` with pandas' table definition and PostgreSQL COPY (fast for demo events)."""
    df.head(0).to_sql(name, engine, schema=schema, index=False)
    cols = ", ".join(f'"{c}"' for c in df.columns)
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        with cur.copy(f'COPY "{schema}"."{name}" ({cols}) FROM STDIN WITH (FORMAT csv)') as cp:
            cp.write(df.to_csv(index=False, header=False))


@pytest.mark.postgres
def test_postgres_demo_tables_equal_files(pg_url, pg_schema, monkeypatch, demo_data) -> None:
    from leadnb.data.params import load_params

    params_path = demo_data / "params.yaml"
    params = load_params(params_path if params_path.exists() else ROOT / "params" / "demo.yaml")
    from_files = io.load_tables(params)
    engine = sa.create_engine(pg_url)
    try:
        for t, df in from_files.items():
            _copy_frame(df, engine, pg_schema, t)
    finally:
        engine.dispose()
    monkeypatch.setenv(URL_ENV, pg_url)
    aliases, stages = io.funnel_names(params.funnel)
    for t, df in from_files.items():
        src = TableSource(t, sql=f'SELECT * FROM "{pg_schema}"."{t}"', url_env=URL_ENV)
        got = io.load_table(src, funnel_aliases=aliases, funnel_stages=stages)
        # a SELECT without ORDER BY has no row order: compare as sets of rows
        cols = list(df.columns)
        pd.testing.assert_frame_equal(
            got.sort_values(cols, kind="stable", ignore_index=True),
            df.sort_values(cols, kind="stable", ignore_index=True),
            obj=t,
        )


# ------------------------------------------------------------------ passwords never leak

RAW_PW = "p@ss:w0rd/x@y"  # unencoded: every URL parser cuts it at its first @
ENCODED_PW = "p%40ss%3Aw0rd%2Fx%40y"  # the same password written correctly
PCT_PW = "Pa%40ss"  # a percent-encoded @: the password is Pa@ss


def leaked_forms(password: str) -> list[str]:
    """The password plain, percent-decoded, percent-encoded and in parts (without its first or
    last character, and each piece of 3+ characters between URL delimiters)."""
    import re
    import urllib.parse

    plain = urllib.parse.unquote(password)
    forms = {password, plain, urllib.parse.quote(plain, safe="")}
    for f in list(forms):
        forms |= {f[1:], f[:-1]}
        forms |= {p for p in re.split(r"[@:/?#%]", f) if len(p) >= 3}
    return sorted(forms)


def assert_no_leak(text: str, password: str) -> None:
    for form in leaked_forms(password):
        assert form not in text, f"{form!r} leaked in: {text}"


def url_error(monkeypatch: pytest.MonkeyPatch, url: str) -> str:
    monkeypatch.setenv(URL_ENV, url)
    with pytest.raises((ParamsError, DataError)) as err:
        io.load_table(TableSource("leads", sql="SELECT 1", url_env=URL_ENV))
    assert err.value.exit_code == 2
    return str(err.value)


@pytest.mark.parametrize(
    ("url", "password", "says"),
    [
        (f"postgresql://crm:{RAW_PW}@127.0.0.1:1/crm", RAW_PW, "unencoded '@'"),
        (f"postgresql+psycopg://crm:{RAW_PW}@127.0.0.1/crm", RAW_PW, "unencoded '@'"),
        (f"postgresql://crm:{ENCODED_PW}@host:notaport/db", ENCODED_PW, "invalid literal"),
        (f"postgresql://crm:{PCT_PW}@host:notaport/db", PCT_PW, "notaport"),
        (f"nosuchdb://crm:{PCT_PW}@host/db", PCT_PW, "nosuchdb"),
        (f"nosuchdb://crm:{ENCODED_PW}@host/db", ENCODED_PW, "usable SQLAlchemy"),
    ],
)
def test_url_errors_never_show_the_password(monkeypatch, url, password, says) -> None:
    text = url_error(monkeypatch, url)
    assert says in text and URL_ENV in text
    assert_no_leak(text, password)
    assert "***@" in text  # the URL is shown, masked up to its last @


@pytest.mark.parametrize("password", [ENCODED_PW, PCT_PW])
def test_connection_failure_never_shows_the_password(monkeypatch, password) -> None:
    pytest.importorskip("psycopg")
    text = url_error(
        monkeypatch, f"postgresql+psycopg://crm:{password}@127.0.0.1:1/crm?connect_timeout=2"
    )
    assert "the SQL query for the leads table failed" in text
    assert_no_leak(text, password)


@pytest.mark.parametrize(
    ("password", "port"),
    [(RAW_PW, "5432"), (PCT_PW, "notaport"), (ENCODED_PW, "notaport")],
)
def test_validate_cli_exit_2_one_message_no_password(
    tmp_path: Path, monkeypatch, capsys, write_params, password: str, port: str
) -> None:
    from leadnb.run.cli import main

    monkeypatch.setenv(URL_ENV, f"postgresql://crm:{password}@127.0.0.1:{port}/crm")
    path = write_params(
        {"run": {"as_of": "2026-06-30"}, "data": {"leads": {"sql": "SELECT 1", "url_env": URL_ENV}}}
    )
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text and "FAILED: 1 error(s)" in text
    assert_no_leak(text, password)
    (tmp_path / "nothing").mkdir()  # validate wrote nothing next to the params file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nothing", "params.yaml"]
