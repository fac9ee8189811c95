"""leadnb.data.cache: the tables a run validated once, read back exactly by the notebooks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.data import cache
from leadnb.errors import Issue
from leadnb.report import notebook as nb


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Every canonical dtype: strings with missing values, microsecond datetimes with NaT,
    nullable integers, floats with NaN, categories, booleans."""
    rng = np.random.default_rng(seed)
    ids = pd.array([f"L{i}" for i in range(n)], dtype="str")
    ts = pd.Series(
        pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
    ).astype("datetime64[us]")
    if n:
        ts.iloc[0] = pd.NaT
    df = pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": ts,
            "employees": pd.array(rng.integers(0, 500, n), dtype="Int64"),
            "score": rng.normal(size=n),
            "source": pd.Categorical(rng.choice(["web", "event", "=cmd"], n)),
            "is_customer": rng.random(n) < 0.3,
            "industry": pd.array(rng.choice(["software", None, "<script>"], n), dtype="str"),
        }
    )
    if n > 1:
        df.loc[1, ["employees", "score"]] = [pd.NA, np.nan]
    return df


def _key(tmp_path: Path, as_of: str = "2026-06-30") -> dict:
    params = tmp_path / "params.yaml"
    data = tmp_path / "leads.csv"
    for p in (params, data):
        if not p.exists():
            p.write_text("x\n", encoding="utf-8")
    return cache.cache_key(params, as_of, [data, None])


def test_round_trip_keeps_values_dtypes_and_attrs(tmp_path: Path) -> None:
    leads, events = _frame(50), _frame(7, seed=1)
    events.attrs["leadnb_dropped"] = 3
    key = _key(tmp_path)
    issues = [
        Issue("2 events name no known lead", level="warning", table="events", column="lead_id",
              rows=pd.DataFrame({"lead_id": ["X1", "X2"]}, index=["row 3", "row 9"]), count=2),
        Issue("a broken thing", level="error", table="events"),
        Issue("leads note", level="warning", table="leads"),
    ]  # fmt: skip
    folder = cache.write_tables(
        tmp_path / cache.FOLDER, {"leads": leads, "events": events}, key, issues
    )
    got = cache.read_tables(folder, ["leads", "events"], key)
    assert got is not None
    tables, notes = got
    pd.testing.assert_frame_equal(tables["leads"], leads, check_exact=True)
    # the events' lead ids come back as a categorical (DICTIONARY_COLUMNS), the same text
    back = tables["events"]
    assert isinstance(back["lead_id"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(back.astype({"lead_id": "str"}), events, check_exact=True)
    # its codes are the file's, not a copy (80 MB per text column at 20 million events)
    table = cache._encoded("events", pa.Table.from_pandas(events, preserve_index=False))
    held = table.column("lead_id").chunk(0).indices.to_numpy()
    assert np.shares_memory(cache._frame(table)["lead_id"].array.codes, held)
    assert tables["events"].attrs == {"leadnb_dropped": 3}
    # warnings only, of the tables asked for, with their rows
    assert [(i.message, i.table, i.count) for i in notes] == [
        ("2 events name no known lead", "events", 2),
        ("leads note", "leads", None),
    ]
    assert "row 9" in notes[0].render() and "X2" in notes[0].render()
    only_leads = cache.read_tables(folder, ["leads"], key)
    assert only_leads is not None and [i.table for i in only_leads[1]] == ["leads"]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_any_canonical_frame_reads_back_equal(tmp_path_factory, n: int, seed: int) -> None:
    # from one row: an empty table never reaches the cache (validation refuses it), and an empty
    # categorical column would come back with ``str`` rather than ``object`` categories
    tmp = tmp_path_factory.mktemp("cache")
    df = _frame(n, seed)
    key = _key(tmp)
    cache.write_tables(tmp / cache.FOLDER, {"leads": df}, key)
    got = cache.read_tables(tmp / cache.FOLDER, ["leads"], key)
    assert got is not None
    pd.testing.assert_frame_equal(got[0]["leads"], df, check_exact=True)


def test_a_key_that_does_not_match_is_never_used(tmp_path: Path) -> None:
    key = _key(tmp_path)
    folder = cache.write_tables(tmp_path / cache.FOLDER, {"leads": _frame(5)}, key)
    assert cache.read_tables(folder, ["leads"], key) is not None
    # another analysis date
    assert cache.read_tables(folder, ["leads"], _key(tmp_path, "2026-07-07")) is None
    # a table the run did not write
    assert cache.read_tables(folder, ["leads", "events"], key) is None
    # an input file changed since the run read it
    data = tmp_path / "leads.csv"
    data.write_text("x\ny\n", encoding="utf-8")
    assert cache.read_tables(folder, ["leads"], _key(tmp_path)) is None
    # the same size, but modified later
    data.write_text("x\n", encoding="utf-8")
    st_ = data.stat()
    os.utime(data, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))
    assert cache.read_tables(folder, ["leads"], _key(tmp_path)) is None


def test_a_folder_without_its_key_file_is_not_read(tmp_path: Path) -> None:
    key = _key(tmp_path)
    folder = cache.write_tables(tmp_path / cache.FOLDER, {"leads": _frame(5)}, key)
    (folder / cache.KEY_FILE).unlink()
    assert cache.read_tables(folder, ["leads"], key) is None
    assert cache.read_tables(tmp_path / "nowhere", ["leads"], key) is None


def test_start_reads_the_runs_tables_when_the_key_matches(tmp_path: Path, demo_data: Path) -> None:
    """Inside a run, nb.start reads the tables folder beside out_dir instead of the sources:
    planted tables that differ from the source files prove which one it read."""
    from leadnb.data.params import load_params

    params_path = demo_data / "params.yaml"
    params = load_params(params_path)
    as_of = params.as_of(None).strftime("%Y-%m-%d")
    run = tmp_path / "run"
    out_dir = run / "scoring_calibration"
    fresh = nb.start("scoring_calibration", params_path=params_path, as_of=as_of,
                     tables=("leads", "events"))  # fmt: skip
    planted = fresh.tables["leads"].head(3)
    key = cache.cache_key(params.path, as_of, [s.path for s in params.data.values()])
    note = Issue("planted note", level="warning", table="leads", column="source")
    cache.write_tables(cache.folder_for(out_dir), {"leads": planted, "events": fresh.tables["events"]},
                       key, [note])  # fmt: skip

    ctx = nb.start("scoring_calibration", params_path=params_path, as_of=as_of,
                   out_dir=str(out_dir), tables=("leads", "events"))  # fmt: skip
    pd.testing.assert_frame_equal(ctx.tables["leads"], planted)
    assert [i.message for i in ctx.report.warnings] == ["planted note"]

    # another analysis date: the key does not match, the sources are read
    other = nb.start("scoring_calibration", params_path=params_path, as_of="2026-03-31",
                     out_dir=str(out_dir), tables=("leads",))  # fmt: skip
    assert len(other.tables["leads"]) == len(fresh.tables["leads"])


def test_event_text_comes_back_as_sorted_categoricals(tmp_path: Path) -> None:
    """events.lead_id, event_type and value are stored as dictionaries: categoricals with sorted
    categories, the same values and missing values; other tables' text stays ``str``."""
    events = pd.DataFrame(
        {
            "lead_id": pd.array(["L1", "L2", "L1", "L3", "L2"], dtype="str"),
            "event_type": pd.array(["web", "email", "web", "<script>", "email"], dtype="str"),
            "value": pd.array(["/pricing", None, "=HYPERLINK(1)", None, "open"], dtype="str"),
        }
    )
    leads = _frame(5)
    key = _key(tmp_path)
    cache.write_tables(tmp_path / cache.FOLDER, {"leads": leads, "events": events}, key)
    got = cache.read_tables(tmp_path / cache.FOLDER, ["leads", "events"], key)
    assert got is not None
    back = got[0]["events"]
    for col in ("lead_id", "event_type", "value"):
        assert isinstance(back[col].dtype, pd.CategoricalDtype)
        cats = list(back[col].cat.categories)
        assert cats == sorted(events[col].dropna().unique())
        assert back[col].cat.codes.dtype == np.int8
    as_text = {"lead_id": "str", "event_type": "str", "value": "str"}
    pd.testing.assert_frame_equal(back.astype(as_text), events)
    pd.testing.assert_frame_equal(got[0]["leads"], leads, check_exact=True)


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.sampled_from(["b", "a", None, "c", "<x>", "é"]), min_size=1, max_size=30),
    chunk=st.integers(1, 8),
)
def test_a_dictionary_column_keeps_every_value(values: list, chunk: int) -> None:
    import pyarrow as pa

    arr = pa.array(values, type=pa.large_string())
    col = pa.chunked_array([arr.slice(i, chunk) for i in range(0, len(arr), chunk)])
    enc = cache.dictionary_column(col)
    assert enc.to_pylist() == values
    back = enc.to_pandas()
    assert list(back.cat.categories) == sorted({v for v in values if v is not None})


def test_the_scoring_notebooks_functions_read_categorical_events_as_str(demo_data: Path) -> None:
    """What the scoring notebook computes from events is the same whether event_type and value
    are ``str`` (an analyst's own load) or categoricals (a run's tables folder)."""
    from leadnb.funnel.stages import stage_dates
    from leadnb.scoring import engine, segments
    from leadnb.scoring.rules import validate_rules

    ctx = nb.start("scoring_calibration", params_path=demo_data / "params.yaml",
                   tables=("leads", "events", "stages"))  # fmt: skip
    leads, events = ctx.tables["leads"], ctx.tables["events"]
    cat_events = events.astype(
        {"lead_id": "category", "event_type": "category", "value": "category"}
    )
    cfg, as_of = ctx.params.scoring, ctx.as_of
    wide = stage_dates(leads, ctx.tables["stages"], ctx.params.funnel)
    out = []
    for ev in (events, cat_events):
        issues = [i.render() for i in validate_rules(cfg, leads, ev)]
        scores = engine.score(leads, ev, cfg, as_of)
        seg = segments.segment_leads(leads, ev, scores, wide, as_of=as_of,
                                     competitor_domains=["rivalcrm.example"])  # fmt: skip
        hq = segments.high_quality_leads(leads, ev, scores, seg, as_of=as_of,
                                         target_industries=["software"])  # fmt: skip
        out.append((issues, scores, seg, hq))
    (i1, s1, g1, h1), (i2, s2, g2, h2) = out
    assert i1 == i2
    pd.testing.assert_frame_equal(s1, s2)
    pd.testing.assert_series_equal(g1, g2)
    pd.testing.assert_frame_equal(h1, h2)
    assert s1["score"].abs().sum() > 0 and len(h1) > 0 and g1.nunique() > 2


def test_text_in_pieces_is_stored_apart_and_read_back_equal(tmp_path: Path) -> None:
    """Text read in pieces (Parquet row groups) goes to a second file, so the one-chunk
    columns stay one record batch; the frame reads back equal, a non-default index included."""
    import pyarrow as pa

    df = _frame(12, seed=3).set_axis(pd.Index([f"row {i}" for i in range(12)]), axis=0)
    pieces = pa.chunked_array([pa.array(df["lead_id"].iloc[i : i + 5]) for i in range(0, 12, 5)])
    df["lead_id"] = pd.Series(pd.arrays.ArrowStringArray(pieces), index=df.index)
    key = _key(tmp_path)
    folder = cache.write_tables(tmp_path / cache.FOLDER, {"leads": df}, key)
    assert sorted(p.name for p in folder.glob("leads*.arrow")) == [
        "leads.arrow",
        "leads.chunked.arrow",
    ]
    got = cache.read_tables(folder, ["leads"], key)
    assert got is not None
    pd.testing.assert_frame_equal(got[0]["leads"], df, check_exact=True)


def test_the_scoring_notebook_reuses_the_runs_check_of_the_rules(
    tmp_path: Path, demo_data: Path, monkeypatch
) -> None:
    """Inside a run, ctx.rule_issues returns what the run's own check of the same rules found
    (planted here, so its use is visible); other rules, another key or no run: the check runs."""
    import dataclasses

    from leadnb.data.params import load_params
    from leadnb.scoring import rules

    params_path = demo_data / "params.yaml"
    params = load_params(params_path)
    as_of = params.as_of(None).strftime("%Y-%m-%d")
    out_dir = tmp_path / "run" / "scoring_calibration"
    fresh = nb.start("scoring_calibration", params_path=params_path, as_of=as_of,
                     tables=("leads", "events"))  # fmt: skip
    leads, events, config = fresh.tables["leads"], fresh.tables["events"], params.scoring
    expected = rules.validate_rules(config, leads, events)
    key = cache.cache_key(params.path, as_of, [s.path for s in params.data.values()])
    planted = Issue("planted rule note", level="warning", file=config.file, table="events",
                    column="event_type", fix="a fix")  # fmt: skip
    cache.write_tables(cache.folder_for(out_dir), {"leads": leads, "events": events}, key,
                       rules=(cache.rules_fingerprint(config), [planted]))  # fmt: skip
    ctx = nb.start("scoring_calibration", params_path=params_path, as_of=as_of,
                   out_dir=str(out_dir), tables=("leads", "events"))  # fmt: skip
    assert ctx.shared is not None
    (got,) = ctx.rule_issues(config, leads.head(5), events)  # rows do not matter, columns do
    assert got.render() == planted.render()

    # other rules than the run checked: checked here
    fewer = dataclasses.replace(config, rules=config.rules[:-1])
    assert [i.render() for i in ctx.rule_issues(fewer, leads, events)] == [
        i.render() for i in rules.validate_rules(fewer, leads, events)
    ]
    # outside a run (no shared tables): checked here
    assert [i.render() for i in fresh.rule_issues(config, leads, events)] == [
        i.render() for i in expected
    ]
    # a folder written without the rules' check, or for another key: checked here
    cache.write_tables(cache.folder_for(out_dir), {"leads": leads, "events": events}, key)
    assert cache.read_rule_issues(cache.folder_for(out_dir), key, config) is None
    assert cache.read_rule_issues(cache.folder_for(out_dir), {**key, "as_of": "x"}, config) is None


def test_a_runs_rule_issues_equal_the_notebooks_own_check(tmp_path: Path) -> None:
    """The run's check (on the validated tables) and the notebook's (on the leads created by the
    analysis date) give the same issues, warnings included: the cache holds exactly those."""
    from leadnb.data.demo import write_sample
    from leadnb.run.plan import plan_run
    from leadnb.run.runner import share_tables
    from leadnb.scoring import calibration as cal
    from leadnb.scoring import rules

    sample = tmp_path / "s"
    write_sample(sample, n_leads=300, seed=3)
    text = (sample / "scoring_rules.yaml").read_text(encoding="utf-8")
    text = text.replace("demo_request", "demo_requested", 1)  # a type that never occurs
    (sample / "scoring_rules.yaml").write_text(text, encoding="utf-8")
    plan = plan_run(sample / "params.yaml", notebooks=["scoring_calibration"])
    assert plan.rule_issues and any("never occur" in i.message for i in plan.rule_issues)
    run = tmp_path / "run"
    run.mkdir()
    share_tables(plan, run)
    ctx = nb.start("scoring_calibration", params_path=plan.params_path, as_of=plan.as_of,
                   out_dir=str(run / "scoring_calibration"), tables=("leads", "events"))  # fmt: skip
    assert ctx.shared is not None
    leads = cal.leads_known(ctx.tables["leads"], ctx.as_of)
    own = rules.validate_rules(ctx.params.scoring, leads, ctx.tables["events"])
    from_run = ctx.rule_issues(ctx.params.scoring, leads, ctx.tables["events"])
    assert from_run and [i.render() for i in from_run] == [i.render() for i in own]


def test_the_cohort_notebook_reuses_the_runs_stage_quality(tmp_path: Path) -> None:
    """A run's stage-history checks, shared with its notebooks, equal the checks on the tables
    the notebook reads (a sample with re-entries, backward moves and skipped stages); another
    funnel, a subset of the leads, another key or no run: the checks run in the notebook."""
    import dataclasses

    from leadnb.data.demo import write_sample
    from leadnb.funnel.stages import stage_quality
    from leadnb.run.plan import plan_run
    from leadnb.run.runner import share_tables

    sample = tmp_path / "s"
    write_sample(sample, n_leads=400, seed=5)
    plan = plan_run(sample / "params.yaml", notebooks=["cohort_conversion"])
    assert plan.stage_quality is not None and plan.stage_quality["count"].sum() > 0
    run = tmp_path / "run"
    run.mkdir()
    share_tables(plan, run)
    ctx = nb.start("cohort_conversion", params_path=plan.params_path, as_of=plan.as_of,
                   out_dir=str(run / "cohort_conversion"), tables=("leads", "stages"))  # fmt: skip
    assert ctx.shared is not None
    leads, stages, config = ctx.tables["leads"], ctx.tables["stages"], ctx.params.funnel
    own = stage_quality(leads, stages, config)
    pd.testing.assert_frame_equal(ctx.stage_quality(leads, stages, config), own)
    # the shared table is what it returns: a planted one (another run's folder: the first
    # one's files are mapped by these frames) shows it is read, not recomputed
    key = ctx.shared[1]
    planted = own.assign(count=own["count"] + 1000)
    folder = cache.folder_for(tmp_path / "run2" / "cohort_conversion")
    copies = {"leads": leads.copy(deep=True), "stages": stages.copy(deep=True)}
    cache.write_tables(folder, copies, key, quality=(cache.funnel_fingerprint(config), planted))
    ctx2 = nb.start("cohort_conversion", params_path=plan.params_path, as_of=plan.as_of,
                    out_dir=str(tmp_path / "run2" / "cohort_conversion"),
                    tables=("leads", "stages"))  # fmt: skip
    leads2, stages2 = ctx2.tables["leads"], ctx2.tables["stages"]
    pd.testing.assert_frame_equal(ctx2.stage_quality(leads2, stages2, config), planted)
    # another funnel, a subset of the leads, another key: computed here
    other = dataclasses.replace(config, skipped_stages="strict")
    pd.testing.assert_frame_equal(
        ctx2.stage_quality(leads2, stages2, other), stage_quality(leads2, stages2, other)
    )
    subset = leads2.head(100)
    pd.testing.assert_frame_equal(
        ctx2.stage_quality(subset, stages2, config), stage_quality(subset, stages2, config)
    )
    assert cache.read_stage_quality(folder, {**key, "as_of": "x"}, config) is None
    assert cache.read_stage_quality(cache.folder_for(tmp_path / "none" / "x"), key, config) is None


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "é", "", "L1"])), max_size=30),
    large=st.booleans(),
    ordered=st.booleans(),
    chunks=st.integers(1, 3),
)
def test_text_dictionaries_convert_as_pyarrow_converts_them(
    values: list, large: bool, ordered: bool, chunks: int
) -> None:
    """The notebooks' own conversion of text dictionary columns (``_frame``) gives pyarrow's
    frame exactly: categories, their dtype and order, codes (-1 for a missing value), the
    other columns and the index; ordered, empty or chunked dictionaries included."""
    import pyarrow as pa

    kind = pa.large_string() if large else pa.string()
    step = max(1, -(-len(values) // chunks))
    pieces = [values[i : i + step] for i in range(0, len(values), step)] or [[]]
    text = pa.chunked_array(
        [
            pa.array(p, kind).dictionary_encode().cast(pa.dictionary(pa.int32(), kind, ordered))
            for p in pieces
        ]
    )
    numbers = pa.chunked_array([np.arange(len(p), dtype="int64") for p in pieces])
    table = pa.table({"n": numbers, "t": text, "u": text})
    if chunks == 1:  # one chunk, as the run writes them: the columns pandas converts itself
        table = table.combine_chunks()
    table = table.replace_schema_metadata(pa.Schema.from_pandas(table.to_pandas()).metadata)
    mine, theirs = cache._frame(table), table.to_pandas(split_blocks=True)
    pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    assert list(mine.dtypes) == list(theirs.dtypes)
    for c in mine.columns:
        if isinstance(mine[c].dtype, pd.CategoricalDtype):
            assert mine[c].cat.categories.dtype == theirs[c].cat.categories.dtype
            assert mine[c].cat.codes.dtype == theirs[c].cat.codes.dtype
