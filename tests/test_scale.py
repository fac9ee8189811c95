"""leadnb.data.distributed: scoring and stage dates on Dask, on a two-worker LocalCluster, equal to pandas.

The reference is the pandas function on the whole table; every Dask path (pandas input cut by
lead, Dask input shuffled by lead, Dask input already indexed by lead) must give the same frame,
row for row once put back in the order of ``leads``.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from leadnb.data import distributed as scale
from leadnb.data import loading
from leadnb.data.demo import write_sample
from leadnb.data.params import load_params
from leadnb.errors import DataError, LeadnbError
from leadnb.funnel import stages as funnel
from leadnb.scoring import engine as scoring


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 1,500-lead sample loaded the way a run loads it (canonical columns and dtypes)."""
    files = write_sample(tmp_path_factory.mktemp("demo"), n_leads=1500, seed=7)
    params = load_params(files["params"])
    tables = loading.load_tables(params, ("leads", "events", "stages"))
    return params, tables


def ordered(result: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    assert result["lead_id"].is_unique
    return scale._in_lead_order(result, leads)


@pytest.mark.parametrize("npartitions", [1, 3, 8])
def test_score_from_pandas_equals_pandas(client, demo, npartitions):
    params, t = demo
    as_of = params.run.as_of
    expected = scoring.score(t["leads"], t["events"], params.scoring, as_of)
    got = scale.score(t["leads"], t["events"], params.scoring, as_of, npartitions=npartitions)
    assert got.npartitions == npartitions
    pd.testing.assert_frame_equal(ordered(got.compute(), t["leads"]), expected)


def test_score_from_dask_frames_is_shuffled_by_lead(client, demo):
    params, t = demo
    as_of = params.run.as_of
    leads = dd.from_pandas(t["leads"], npartitions=2, sort=False)
    events = dd.from_pandas(t["events"], npartitions=5, sort=False)  # not aligned with leads
    got = scale.score(leads, events, params.scoring, as_of)
    assert got.npartitions == 5
    expected = scoring.score(t["leads"], t["events"], params.scoring, as_of)
    pd.testing.assert_frame_equal(ordered(got.compute(), t["leads"]), expected)


def test_score_from_frames_indexed_by_lead_needs_no_shuffle(client, demo):
    params, t = demo
    as_of = params.run.as_of
    leads = dd.from_pandas(t["leads"].set_index("lead_id"), npartitions=4, sort=True)
    events = (
        dd.from_pandas(t["events"].set_index("lead_id"), npartitions=1, sort=True)
        .repartition(divisions=leads.divisions)
        .persist()
    )
    parts = scale.partition_by_lead(leads, events, npartitions=4)
    assert parts[0] is leads and parts[1] is events  # used as they are
    got = scale.score(leads, events, params.scoring, as_of).compute()
    expected = scoring.score(t["leads"], t["events"], params.scoring, as_of)
    pd.testing.assert_frame_equal(ordered(got, t["leads"]), expected)


def test_score_at_decision_times_and_without_events(client, demo):
    params, t = demo
    as_of = params.run.as_of
    leads = t["leads"].assign(decided_at=t["leads"]["created_at"] + pd.Timedelta(days=7))
    at = pd.Series(leads["decided_at"].to_numpy(), index=leads["lead_id"])
    expected = scoring.score(leads, t["events"], params.scoring, as_of, at=at)
    got = scale.score(leads, t["events"], params.scoring, as_of, at="decided_at", npartitions=3)
    pd.testing.assert_frame_equal(ordered(got.compute(), leads), expected)
    assert not expected["score"].equals(scoring.score(leads, t["events"], params.scoring, as_of))

    profile_only = scoring.score(t["leads"], None, params.scoring, as_of)
    got = scale.score(t["leads"], None, params.scoring, as_of, npartitions=2).compute()
    pd.testing.assert_frame_equal(ordered(got, t["leads"]), profile_only)


@pytest.mark.parametrize("npartitions", [1, 4])
def test_stage_dates_long_history_equals_pandas(client, demo, npartitions):
    params, t = demo
    expected = funnel.stage_dates(t["leads"], t["stages"], params.funnel, keep=["source"])
    got = scale.stage_dates(
        t["leads"], t["stages"], params.funnel, keep=["source"], npartitions=npartitions
    )
    pd.testing.assert_frame_equal(ordered(got.compute(), t["leads"]), expected)


def test_stage_dates_wide_columns_and_strict_mode(client, demo):
    params, t = demo
    wide = funnel.stage_dates(t["leads"], t["stages"], params.funnel)
    date_cols = [
        c for c in wide.columns if c.endswith("_at") and c not in ("created_at", "lead_at")
    ]
    leads_wide = t["leads"].merge(wide[["lead_id", *date_cols]], on="lead_id")
    strict = funnel.FunnelConfig(skipped_stages="strict")
    for cfg in (params.funnel, strict):
        expected = funnel.stage_dates(leads_wide, None, cfg)
        ddf = dd.from_pandas(leads_wide, npartitions=3, sort=False)
        got = scale.stage_dates(ddf, None, cfg).compute()
        pd.testing.assert_frame_equal(ordered(got, leads_wide), expected)


def test_partitions_hold_whole_leads(client, demo):
    _, t = demo
    leads, events = scale.partition_by_lead(
        dd.from_pandas(t["leads"], npartitions=2, sort=False), t["events"], npartitions=6
    )
    owner = {}
    for i in range(6):
        lead_ids = set(leads.get_partition(i)["lead_id"].compute())
        event_ids = set(events.get_partition(i)["lead_id"].compute())
        assert event_ids <= lead_ids | (event_ids - set(t["leads"]["lead_id"]))
        for lead in lead_ids:
            assert owner.setdefault(lead, i) == i
    assert len(owner) == len(t["leads"])


def test_split_of_pandas_keeps_every_row_once(demo):
    _, t = demo
    pieces = scale._split(t["events"], 7)
    assert sum(len(p) for p in pieces) == len(t["events"])
    seen = [set(p["lead_id"]) for p in pieces]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    again = scale._split(t["events"].sample(frac=1.0, random_state=1), 7)
    assert [set(p["lead_id"]) for p in again] == seen  # the hash does not depend on row order


def test_score_on_and_stage_dates_on(client, demo):
    params, t = demo
    as_of = params.run.as_of
    expected = scoring.score(t["leads"], t["events"], params.scoring, as_of)
    pd.testing.assert_frame_equal(
        scale.score_on(None, t["leads"], t["events"], params.scoring, as_of), expected
    )
    address = client.scheduler.address
    got = scale.score_on(address, t["leads"], t["events"], params.scoring, as_of, npartitions=3)
    pd.testing.assert_frame_equal(got, expected)
    dates = funnel.stage_dates(t["leads"], t["stages"], params.funnel)
    got = scale.stage_dates_on(address, t["leads"], t["stages"], params.funnel, npartitions=2)
    pd.testing.assert_frame_equal(got, dates)
    assert client.status == "running"  # connecting by address leaves the cluster alone


def test_bad_inputs_are_named(demo):
    params, t = demo
    with pytest.raises(DataError, match="no column 'decided'"):
        scale.score(t["leads"], t["events"], params.scoring, params.run.as_of, at="decided")
    with pytest.raises(DataError, match="no lead_id column"):
        scale.partition_by_lead(t["leads"].drop(columns="lead_id"), npartitions=2)
    with pytest.raises(LeadnbError, match="at least 1"):
        scale.partition_by_lead(t["leads"], npartitions=0)


def test_unreachable_scheduler_says_how_to_fix():
    with pytest.raises(LeadnbError, match="cannot reach the Dask scheduler") as err:
        scale.client_for("tcp://127.0.0.1:9", timeout="1s")
    assert "run.dask_scheduler" in err.value.fix


def test_no_scheduler_is_no_client():
    for scheduler in (None, ""):
        with scale.client_for(scheduler) as c:
            assert c is None


@pytest.mark.slow
def test_run_with_dask_scheduler_in_params(demo, tmp_path):
    """`leadnb run` with run.dask_scheduler: the notebook's stage dates run on the cluster (a
    separate kernel process connects over TCP) and its tables equal a run without it."""
    import yaml

    from leadnb.run import runner

    params, _ = demo
    raw = yaml.safe_load(params.path.read_text(encoding="utf-8"))
    with (
        LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=":0") as c,
        Client(c),
    ):
        raw["run"]["dask_scheduler"] = c.scheduler_address
        on_cluster = params.path.with_name("on_cluster.yaml")
        on_cluster.write_text(yaml.safe_dump(raw), encoding="utf-8")
        ran = runner.run(on_cluster, notebooks=["cohort_conversion"], out=tmp_path / "a")
        prefixes = set(c.scheduler.task_prefixes)
    plain = runner.run(params.path, notebooks=["cohort_conversion"], out=tmp_path / "b")
    assert ran.exit_code == 0 and plain.exit_code == 0
    assert any("call_plain" in p for p in prefixes), prefixes  # the work ran on the cluster
    tables = sorted(p.relative_to(plain.run_dir) for p in plain.run_dir.rglob("*.csv"))
    assert tables
    for rel in tables:
        assert (ran.run_dir / rel).read_bytes() == (plain.run_dir / rel).read_bytes(), rel


@pytest.mark.parametrize("table", ["leads", "events", "stages"])
def test_read_table_with_dask_equals_the_loader(client, demo, table):
    """Dask reads the file itself, cut into several partitions, and each partition made canonical
    gives, put together, the frame the one-machine loader returns (values and dtypes)."""
    params, t = demo
    got = scale.read_table(params, table, blocksize=40_000)
    if params.data[table].path.suffix == ".csv":
        assert got.npartitions > 1
    frame = got.compute().reset_index(drop=True)
    frame.attrs = t[table].attrs
    pd.testing.assert_frame_equal(frame, t[table])


def test_read_table_placeholders_and_bad_values(client, tmp_path):
    from leadnb.data.params import params_from_dict

    (tmp_path / "leads.csv").write_text(
        "id,created,industry\nL1, 2026-01-02 ,Select\nL2,,software\n", encoding="utf-8"
    )
    raw = {"source": "leads.csv", "columns": {"id": "lead_id", "created": "created_at"},
           "placeholders": ["Select"]}  # fmt: skip
    params = params_from_dict({"data": {"leads": raw}}, path=tmp_path / "p.yaml")
    got = scale.read_table(params, "leads").compute()
    assert got["lead_id"].tolist() == ["L1", "L2"]
    assert got["created_at"].tolist()[0] == pd.Timestamp("2026-01-02")
    assert got["created_at"].isna().tolist() == [False, True]
    assert got["industry"].isna().tolist() == [True, False]
    (tmp_path / "leads.csv").write_text("id,created\nL1,soon\n", encoding="utf-8")
    with pytest.raises(DataError, match="not dates"):
        scale.read_table(params, "leads").compute()
    with pytest.raises(LeadnbError, match="no events table"):
        scale.read_table(params, "events")
    (tmp_path / "leads.xlsx").write_bytes(b"")
    xlsx = params_from_dict({"data": {"leads": {**raw, "source": "leads.xlsx"}}},
                            path=tmp_path / "p.yaml")  # fmt: skip
    with pytest.raises(LeadnbError, match="Dask reads CSV and Parquet"):
        scale.read_table(xlsx, "leads")


def test_score_and_stage_dates_from_tables_dask_read(client, demo):
    """The whole Dask path, no pandas table on the driver: read, score, date; equal to pandas."""
    params, t = demo
    as_of = params.run.as_of
    leads = scale.read_table(params, "leads", blocksize=40_000)
    events = scale.read_table(params, "events")
    stages = scale.read_table(params, "stages", blocksize=10_000)
    got = scale.score(leads, events, params.scoring, as_of, npartitions=3).compute()
    expected = scoring.score(t["leads"], t["events"], params.scoring, as_of)
    pd.testing.assert_frame_equal(ordered(got, t["leads"]), expected)
    dates = scale.stage_dates(leads, stages, params.funnel, npartitions=2).compute()
    pd.testing.assert_frame_equal(
        ordered(dates, t["leads"]), funnel.stage_dates(t["leads"], t["stages"], params.funnel)
    )


def test_shuffled_partitions_are_balanced(client, demo):
    """Dask frames shuffled by lead spread the leads evenly: no empty partition, none with more
    than twice its share (the partition key is the lead's full hash, not a number 0..n-1 that the
    shuffle would hash a second time)."""
    _, t = demo
    for n in (2, 6):
        (leads,) = scale.partition_by_lead(
            dd.from_pandas(t["leads"], npartitions=3, sort=False), npartitions=n
        )
        sizes = leads.map_partitions(len).compute().tolist()
        assert sum(sizes) == len(t["leads"]) and len(sizes) == n
        assert min(sizes) > 0 and max(sizes) < 2 * len(t["leads"]) / n, sizes


def test_categories_do_not_travel_with_the_pieces_of_a_partition() -> None:
    """The events' lead ids load as a categorical of every lead id. A piece cut for a worker
    keeps only the categories it uses, and a Dask partition goes into the shuffle as text: with
    each piece carrying the partition's categories, a shuffled partition united every
    partition's lead ids (at 5,000,000 leads the 3 GB workers were restarted until the run
    failed)."""
    ids = [f"L{i:03d}" for i in range(40)]
    events = pd.DataFrame(
        {
            "lead_id": pd.Categorical(ids * 2, categories=sorted(ids)),
            "event_type": pd.Categorical(["x", "y"] * 40),
            "ts": pd.date_range("2026-01-01", periods=80, freq="h").as_unit("us"),
        }
    )
    pieces = scale._split(events, 4)
    assert sum(map(len, pieces)) == 80
    for piece in pieces:
        used = set(piece["lead_id"].astype("str"))
        assert set(piece["lead_id"].cat.categories) == used  # its own lead ids only
        assert piece["lead_id"].cat.categories.is_monotonic_increasing
    pd.testing.assert_frame_equal(  # the same rows and values, whatever the categories
        pd.concat(pieces).sort_index().astype({"lead_id": "str", "event_type": "str"}),
        events.astype({"lead_id": "str", "event_type": "str"}),
    )
    keyed = scale._with_part(events)
    assert keyed["lead_id"].dtype == "str" and keyed["event_type"].dtype == "str"
    assert keyed["lead_id"].tolist() == ids * 2
    np.testing.assert_array_equal(keyed[scale.PART].to_numpy(), scale._lead_hash(events))
