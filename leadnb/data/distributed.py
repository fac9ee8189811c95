"""Beyond one machine: scoring and per-lead stage dates on Dask DataFrames.

Both computations are per lead: one lead's score needs only that lead's events, its stage dates
only its own stage history. So the tables are co-partitioned by ``lead_id`` (every row of a lead,
in every table, lands in the same partition number) and each partition goes through the very
pandas function that runs on one machine, :func:`leadnb.scoring.engine.score` or
:func:`leadnb.funnel.stages.stage_dates`. The results are the same numbers by construction; the tests
check it on a two-worker ``LocalCluster``.

Typical use, on data that does not fit one machine::

    import dask.dataframe as dd
    from leadnb.data import distributed as scale

    leads = dd.read_parquet("s3://crm/leads/")
    events = dd.read_parquet("s3://crm/events/")
    with scale.client_for("tcp://scheduler:8786"):
        scores = scale.score(leads, events, rules, as_of, npartitions=64)
        scores.to_parquet("s3://crm/scores/")

Any frames work: pandas frames are split first, Dask frames are hash-partitioned on ``lead_id``
(a shuffle) unless :func:`partition_by_lead` already did it. :func:`read_table` reads a table a
params file names with Dask itself (``dd.read_parquet`` / ``dd.read_csv``), each partition turned
into canonical columns and dtypes by the loader's own :func:`leadnb.data.loading.canonicalize`, so
no machine ever holds the whole table. Validation and the notebooks' statistics stay on one machine; the params file's ``run.dask_scheduler`` sends the
notebooks' scoring and stage-date steps to a cluster (:func:`score_on`, :func:`stage_dates_on`).

Dask is an optional extra (``pip install "leadnb[dask]"``), imported only when used.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadnb.arrays import index_positions
from leadnb.data import loading
from leadnb.data.params import Params, TableSource
from leadnb.errors import DataError, LeadnbError, ParamsError
from leadnb.funnel import stages as funnel
from leadnb.scoring import engine as scoring
from leadnb.scoring import rules

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

__all__ = [
    "client_for",
    "partition_by_lead",
    "read_table",
    "score",
    "score_on",
    "stage_dates",
    "stage_dates_on",
]

PART = "_leadnb_part"  # the lead's hash while shuffling (dropped afterwards)
ROWS_PER_PARTITION = 250_000  # default partition size for pandas input (events rows)
_FIX = 'install the Dask extra: pip install "leadnb[dask]"'


def _dask() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError as err:  # pragma: no cover - the test environment has the extra
        raise LeadnbError(f"Dask is not installed ({err})", fix=_FIX) from err
    return dd


def _is_dask(df: Any) -> bool:
    return type(df).__module__.startswith("dask")


def _lead_column(df: Any, table: str) -> Any:
    """``df`` with ``lead_id`` as a column (moved out of the index when it is the index)."""
    if "lead_id" in df.columns:
        return df
    if getattr(df.index, "name", None) == "lead_id":
        return df.reset_index()
    raise DataError(
        f"the {table} table has no lead_id column",
        table=table,
        column="lead_id",
        fix="map the source's id column to lead_id in data.<table>.columns",
    )


def _canonical_part(
    raw: pd.DataFrame, source: TableSource, aliases: dict[str, str], stages: list[str]
) -> pd.DataFrame:
    """One partition as the loader returns a table: canonical names, placeholders, dtypes."""
    return loading.canonicalize(raw, source, funnel_aliases=aliases, funnel_stages=stages)


def read_table(
    params: Params, table: str, *, blocksize: int | str | None = "128MiB"
) -> dd.DataFrame:
    """A table the params file names, read by Dask itself, in canonical form partition by
    partition.

    CSV files go through ``dd.read_csv`` (every column as text, as the loader reads them) and
    Parquet through ``dd.read_parquet``; each partition then goes through
    :func:`leadnb.data.loading.canonicalize`, the function the one-machine loader applies to the
    whole table: the column map, placeholders and blank cells read as missing, ids as text, dates
    as ``datetime64[us]``, numbers as floats, stage names mapped through ``funnel.aliases``. No
    process holds more than a partition of the table.

    Parameters
    ----------
    params : Params
        The loaded params file.
    table : str
        A table of its ``data`` section (a CSV or Parquet file).
    blocksize : int or str, optional
        Bytes of file per partition, passed to the Dask reader (``None``: one partition per file).

    Returns
    -------
    Dask DataFrame
        Lazy; the columns and dtypes :func:`leadnb.data.loading.load_table` returns. Checks that
        need the whole table (unique ``lead_id``, references between tables) are not made: run
        ``leadnb validate`` on a sample, or rely on the per-lead functions, which do not need
        them. A bad value raises :class:`~leadnb.errors.DataError` when its partition is
        computed (row numbers then count from the partition's first row).

    Raises
    ------
    ParamsError
        The table is not configured.
    LeadnbError
        The table is not a CSV or Parquet file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from leadnb.data.params import params_from_dict
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "leads.csv").write_text("id,created\\nL1, 2026-01-02\\nL2,Select\\n")
    >>> params = params_from_dict({"data": {"leads": {"source": str(folder / "leads.csv"),
    ...     "columns": {"id": "lead_id", "created": "created_at"}, "placeholders": ["Select"]}}},
    ...     path=folder / "p.yaml")
    >>> leads = read_table(params, "leads")
    >>> leads.dtypes.astype(str).to_dict()
    {'lead_id': 'str', 'created_at': 'datetime64[us]'}
    >>> leads.compute()
      lead_id created_at
    0      L1 2026-01-02
    1      L2        NaT
    """
    dd = _dask()
    source = params.data.get(table)
    if source is None:
        raise ParamsError(
            f"the params file configures no {table} table",
            fix=f"add data.{table}.source to the params file",
        )
    path = source.path
    suffix = path.suffix.lower() if path is not None else ""
    if path is not None and suffix in loading.PARQUET_SUFFIXES:
        raw = dd.read_parquet(str(path), blocksize=blocksize)
    elif path is not None and suffix in loading.CSV_SUFFIXES:
        sep = source.sep or ("\t" if suffix in (".tsv", ".tab") else ",")
        encoding = source.encoding or "utf-8-sig"
        raw = dd.read_csv(str(path), sep=sep, encoding=encoding, dtype="str",
                          keep_default_na=False, na_values=[""], blocksize=blocksize)  # fmt: skip
    else:
        raise LeadnbError(
            f"Dask reads CSV and Parquet files; data.{table} is {source.label}",
            fix=f"export the {table} table as Parquet (or CSV) for the Dask path",
        )
    try:
        aliases, stages = loading.funnel_names(params.funnel)
    except (KeyError, AttributeError):
        aliases, stages = {}, []
    meta = _canonical_part(raw._meta, source, aliases, stages)
    return raw.map_partitions(_canonical_part, source, aliases, stages, meta=meta)


def _lead_hash(df: pd.DataFrame) -> np.ndarray:
    """A stable 64-bit hash of each row's ``lead_id`` (as text, whatever the column's dtype)."""
    ids = df["lead_id"].astype("str")
    return pd.util.hash_pandas_object(ids, index=False).to_numpy()


def _part_of(df: pd.DataFrame, npartitions: int) -> np.ndarray:
    """The partition number of each row: :func:`_lead_hash` modulo n."""
    return (_lead_hash(df) % np.uint64(npartitions)).astype("int64")


def _with_part(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its lead's hash (:func:`_lead_hash`) as the column :data:`PART`.

    Dask's shuffle hashes this column again and takes it modulo the partition count: equal
    leads land together in every frame, and the 2**64 distinct values spread the leads evenly
    (a partition number 0..n-1 as the key would not: hashed again, several numbers share one
    partition and others stay empty).

    Categorical columns (the loader's encoding of the events' lead ids, types and values) go
    through the shuffle as text: every piece of a partition keeps all of that partition's
    categories and a shuffled partition unites its pieces' categories, so each would gather the
    lead ids of every partition (at 5,000,000 leads the workers ran out of their 3 GB).
    """
    return _as_text(df).assign(**{PART: _lead_hash(df)})


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its categorical columns as text (the same values; missing stays missing)."""
    cats = {c: "str" for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)}
    return df.astype(cats) if cats else df


def _by_lead_index(df: Any) -> bool:
    """A Dask frame indexed by ``lead_id`` with known divisions: already partitioned by lead."""
    return _is_dask(df) and df.index.name == "lead_id" and df.known_divisions


def _split(df: pd.DataFrame, npartitions: int) -> list[pd.DataFrame]:
    """A pandas frame cut into ``npartitions`` pieces by the hash of ``lead_id`` (some may be
    empty): piece *i* holds every row whose lead hashes to *i*."""
    part = _part_of(df, npartitions)
    order = np.argsort(part, kind="stable")
    bounds = np.cumsum(np.bincount(part, minlength=npartitions))[:-1]
    rows = df.take(order)
    pieces = [rows.iloc[a:b] for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(df)], strict=True)]
    return [_own_categories(p) for p in pieces]


def _own_categories(piece: pd.DataFrame) -> pd.DataFrame:
    """``piece`` with each categorical column keeping only the categories it uses: a piece cut
    from the events keeps every lead id of the table as a category otherwise, and each piece is
    sent to a worker."""
    cats = [c for c in piece.columns if isinstance(piece[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return piece
    return piece.assign(**{c: piece[c].cat.remove_unused_categories() for c in cats})


def _identity(piece: pd.DataFrame) -> pd.DataFrame:
    return piece


def _from_pieces(pieces: list[pd.DataFrame], meta: pd.DataFrame) -> dd.DataFrame:
    """A Dask frame with one partition per pandas piece. With a distributed client the pieces
    are scattered to the workers first, instead of travelling inside the task graph."""
    dd = _dask()
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        client = None
    if client is None:
        return dd.from_map(_identity, pieces, meta=meta, enforce_metadata=False)
    return dd.from_delayed(client.scatter(pieces), meta=meta, verify_meta=False)


def partition_by_lead(*frames: Any, npartitions: int) -> tuple[dd.DataFrame, ...]:
    """Co-partition tables on ``lead_id``: partition *i* of every returned frame holds exactly
    the rows of the same set of leads.

    * Dask frames indexed by ``lead_id`` with the same known divisions (e.g. ``read_parquet`` of
      datasets sorted by lead, ``calculate_divisions=True``) are already partitioned by lead and
      are returned as they are, without a shuffle.
    * pandas frames are cut by a stable hash of ``lead_id`` (as text) modulo ``npartitions``.
    * any other Dask frame is hash-shuffled on the same partition number into ``npartitions``
      partitions, so partition *i* means the same leads in every shuffled frame.

    Parameters
    ----------
    *frames : pandas or Dask DataFrame, or None
        Tables with a ``lead_id`` column (or index); ``None`` passes through as ``None``.
    npartitions : int
        Number of partitions, at least 1 (ignored for frames already partitioned by lead).

    Returns
    -------
    tuple of Dask DataFrame
        One per input, with the input's columns (``lead_id`` as a column); row order inside a
        partition is not meaningful.

    Raises
    ------
    LeadnbError
        ``npartitions`` below 1, or Dask not installed.
    DataError
        A frame without ``lead_id``.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c", "d"]})
    >>> events = pd.DataFrame({"lead_id": ["a", "c", "c", "d"], "n": [1, 2, 3, 4]})
    >>> leads_d, events_d, none = partition_by_lead(leads, events, None, npartitions=2)
    >>> none is None, leads_d.npartitions, events_d.npartitions
    (True, 2, 2)
    >>> pairs = zip(leads_d.partitions, events_d.partitions)
    >>> all(set(e.compute()["lead_id"]) <= set(ld.compute()["lead_id"]) for ld, e in pairs)
    True
    """
    dd = _dask()
    if npartitions < 1:
        raise LeadnbError(f"npartitions must be at least 1, got {npartitions}")
    given = [f for f in frames if f is not None]
    if given and all(_by_lead_index(f) for f in given):
        if len({tuple(f.divisions) for f in given}) == 1:
            return tuple(frames)
    shuffle = any(_is_dask(f) for f in given)
    out = []
    for i, df in enumerate(frames):
        if df is None:
            out.append(None)
            continue
        df = _lead_column(df, f"input {i + 1}")
        if not shuffle:
            out.append(_from_pieces(_split(df, npartitions), df.iloc[:0]))
            continue
        if not _is_dask(df):
            chunks = max(1, min(npartitions, -(-len(df) // ROWS_PER_PARTITION)))
            df = dd.from_pandas(df, npartitions=chunks, sort=False)
        keyed = df.map_partitions(_with_part, meta=_with_part(df._meta))
        shuffled = keyed.shuffle(on=PART, npartitions=npartitions, ignore_index=True)
        out.append(shuffled.drop(columns=[PART]))
    return tuple(out)


def _plain(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """A partition as the pandas functions take it: ``lead_id`` a column, a fresh index."""
    if df is None:
        return None
    if df.index.name == "lead_id" and "lead_id" not in df.columns:
        return df.reset_index()
    return df.reset_index(drop=True)


def _apply(func: Any, frames: Sequence[Any], **kwargs: Any) -> dd.DataFrame:
    """``func`` on matching partitions of co-partitioned frames (see :func:`partition_by_lead`)."""
    dd = _dask()
    meta = func(*(_plain(f._meta) for f in frames), **kwargs)
    return dd.map_partitions(
        _call_plain,
        func,
        *frames,
        meta=meta,
        align_dataframes=False,
        clear_divisions=True,
        **kwargs,
    )


def _call_plain(func: Any, *parts: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    return func(*(_plain(p) for p in parts), **kwargs)


def _npartitions(frames: Sequence[Any], npartitions: int | None) -> int:
    if npartitions is not None:
        return int(npartitions)
    parts = [f.npartitions for f in frames if f is not None and _is_dask(f)]
    if parts:
        return max(parts)
    rows = max(len(f) for f in frames if f is not None)
    return max(1, -(-rows // ROWS_PER_PARTITION))


def _score_part(
    leads: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    config: rules.ScoringConfig,
    as_of: pd.Timestamp,
    at: str | None,
) -> pd.DataFrame:
    when = None
    if at is not None:
        when = pd.Series(leads[at].to_numpy(), index=leads["lead_id"].astype("str"))
    return scoring.score(leads, events, config, as_of, at=when)


def score(
    leads: Any,
    events: Any,
    config: rules.ScoringConfig,
    as_of: pd.Timestamp,
    *,
    at: str | None = None,
    npartitions: int | None = None,
) -> dd.DataFrame:
    """:func:`leadnb.scoring.engine.score` on Dask: one row per lead, the same columns and numbers.

    Parameters
    ----------
    leads, events : pandas or Dask DataFrame
        Canonical tables; co-partitioned by ``lead_id`` (:func:`partition_by_lead`). ``events``
        may be ``None``.
    config : ScoringConfig
        The scoring rules.
    as_of : Timestamp
        The analysis date.
    at : str, optional
        A column of ``leads`` holding each lead's decision time (the pandas function's ``at``).
    npartitions : int, optional
        Default: the larger input's partition count.

    Returns
    -------
    Dask DataFrame
        Lazy; the columns of :func:`leadnb.scoring.engine.score` (lead_id, score, one column
        per rule category, one ``rule:<name>`` column per rule). Rows are grouped by partition,
        not in the order of ``leads``.

    Raises
    ------
    DataError
        ``at`` is not a column of ``leads``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from leadnb.scoring import ScoringConfig
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "content_read"}, "points": 3}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"]})
    >>> events = pd.DataFrame({"lead_id": ["a", "a", "c"], "event_type": "content_read",
    ...                        "ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])})
    >>> lazy = score(leads, events, cfg, pd.Timestamp("2026-01-31"), npartitions=2)
    >>> lazy.compute().sort_values("lead_id")[["lead_id", "score"]].to_numpy().tolist()
    [['a', 6.0], ['b', 0.0], ['c', 3.0]]
    """
    if at is not None and at not in leads.columns:
        raise DataError(
            f"leads has no column {at!r} for the decision times",
            table="leads",
            column=at,
            fix="add the per-lead decision time as a column of leads, or leave at unset",
        )
    n = _npartitions((leads, events), npartitions)
    leads_d, events_d = partition_by_lead(leads, events, npartitions=n)
    kwargs = {"config": config, "as_of": as_of, "at": at}
    if events_d is None:
        return _apply(_score_part, (leads_d,), **kwargs)
    return _apply(_score_part, (leads_d, events_d), **kwargs)


def stage_dates(
    leads: Any,
    stages: Any = None,
    config: funnel.FunnelConfig | None = None,
    *,
    keep: Sequence[str] = (),
    npartitions: int | None = None,
) -> dd.DataFrame:
    """:func:`leadnb.funnel.stages.stage_dates` on Dask: one row per lead, its first date per stage.

    Parameters
    ----------
    leads : pandas or Dask DataFrame
        Canonical leads (``lead_id``, ``created_at``, and ``<stage>_at`` columns when there is no
        long history).
    stages : pandas or Dask DataFrame, optional
        The long stage history; then both tables are co-partitioned by ``lead_id``. Without it
        every partition of ``leads`` is already complete.
    config : FunnelConfig, optional
        The funnel; default ``FunnelConfig()``.
    keep : sequence of str
        Columns of ``leads`` carried into the result.
    npartitions : int, optional
        Default: the larger input's partition count.

    Returns
    -------
    Dask DataFrame
        Lazy; the columns of :func:`leadnb.funnel.stages.stage_dates` (lead_id, created_at,
        lead_at, one ``<stage>_at`` per later stage, ``<lost_stage>_at``, then ``keep``). Rows
        are grouped by partition.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...                       "created_at": pd.to_datetime(["2025-01-01", "2025-01-02"])})
    >>> stages = pd.DataFrame({"lead_id": ["a", "a"], "stage": ["mql", "sql"],
    ...                        "entered_at": pd.to_datetime(["2025-01-05", "2025-01-09"])})
    >>> got = stage_dates(leads, stages, npartitions=2).compute().sort_values("lead_id")
    >>> got["sql_at"].dt.strftime("%Y-%m-%d").fillna("-").tolist()
    ['2025-01-09', '-']
    """
    dd = _dask()
    kwargs = {"config": config or funnel.FunnelConfig(), "keep": tuple(keep)}
    if stages is None:
        leads_d = leads
        if not _is_dask(leads_d):
            n = _npartitions((leads_d,), npartitions)
            leads_d = dd.from_pandas(_lead_column(leads_d, "leads"), npartitions=n, sort=False)
        return _apply(funnel.stage_dates, (leads_d,), **kwargs)
    n = _npartitions((leads, stages), npartitions)
    leads_d, stages_d = partition_by_lead(leads, stages, npartitions=n)
    return _apply(funnel.stage_dates, (leads_d, stages_d), **kwargs)


def client_for(
    scheduler: str | None, *, timeout: str = "10s"
) -> AbstractContextManager[Client | None]:
    """A context manager connecting to the Dask scheduler a params file names.

    Parameters
    ----------
    scheduler : str or None
        ``None`` or ``""``: no cluster (yields ``None``; Dask's default threads, or plain
        pandas in :func:`score_on`). ``"local"``: a ``LocalCluster`` on this machine, closed on
        exit. Anything else is a scheduler address such as ``tcp://10.0.0.5:8786``; the client
        disconnects on exit and leaves the cluster running.
    timeout : str, default "10s"
        How long to try reaching the scheduler.

    Returns
    -------
    context manager
        Yielding the ``distributed.Client``, or ``None`` without a cluster.

    Raises
    ------
    LeadnbError
        The scheduler cannot be reached, or Dask is not installed; the fix says what to do.

    Examples
    --------
    >>> with client_for(None) as client:
    ...     print(client)
    None
    """
    if not scheduler:
        return nullcontext(None)
    _dask()
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - the test environment has the extra
        raise LeadnbError(f"dask.distributed is not installed ({err})", fix=_FIX) from err
    if scheduler == "local":
        return Client(LocalCluster(dashboard_address=None))
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise LeadnbError(
            f"cannot reach the Dask scheduler at {scheduler} ({err})",
            fix="start the scheduler (dask scheduler) and workers, check the address in "
            "run.dask_scheduler, or remove the key to run on this machine",
        ) from err


def _in_lead_order(result: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    """Rows of a computed per-lead result put back in the order of ``leads``."""
    result = result.drop_duplicates("lead_id").reset_index(drop=True)
    pos = index_positions(leads["lead_id"].astype("str"), pd.Index(result["lead_id"]))
    return result.take(pos).reset_index(drop=True)


def score_on(
    scheduler: str | None,
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: rules.ScoringConfig,
    as_of: pd.Timestamp,
    *,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """Score pandas tables on the named scheduler; without one, exactly the pandas function.

    Parameters
    ----------
    scheduler : str or None
        As in :func:`client_for` (``run.dask_scheduler``); ``None`` or ``""`` runs
        :func:`leadnb.scoring.engine.score` here.
    leads, events, config, as_of
        As in :func:`leadnb.scoring.engine.score`.
    npartitions : int, optional
        As in :func:`score`.

    Returns
    -------
    DataFrame
        The columns of :func:`leadnb.scoring.engine.score`, rows in the order of ``leads``
        either way.
    """
    if not scheduler:
        return scoring.score(leads, events, config, as_of)
    with client_for(scheduler):
        result = score(leads, events, config, as_of, npartitions=npartitions).compute()
    return _in_lead_order(result, leads)


def stage_dates_on(
    scheduler: str | None,
    leads: pd.DataFrame,
    stages: pd.DataFrame | None = None,
    config: funnel.FunnelConfig | None = None,
    *,
    keep: Sequence[str] = (),
    npartitions: int | None = None,
) -> pd.DataFrame:
    """Per-lead stage dates of pandas tables on the named scheduler; without one, exactly the
    pandas function.

    Parameters
    ----------
    scheduler : str or None
        As in :func:`client_for`; ``None`` or ``""`` runs
        :func:`leadnb.funnel.stages.stage_dates` here.
    leads, stages, config, keep
        As in :func:`leadnb.funnel.stages.stage_dates`.
    npartitions : int, optional
        As in :func:`stage_dates`.

    Returns
    -------
    DataFrame
        The columns of :func:`leadnb.funnel.stages.stage_dates`, rows in the order of ``leads``
        either way.
    """
    if not scheduler:
        return funnel.stage_dates(leads, stages, config, keep=keep)
    with client_for(scheduler):
        result = stage_dates(leads, stages, config, keep=keep, npartitions=npartitions).compute()
    return _in_lead_order(result, leads)
