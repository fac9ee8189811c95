"""The same computations as leadnb, written as DuckDB SQL over the same pandas frames.

Design: the SQL is generated from the parsed rules (:class:`leadnb.scoring.rules.ScoringConfig`) and
the funnel settings, so the two sides always implement the same thing. The queries are written
the way a competent SQL user would write them: one pass over the events with one conditional
aggregate per rule (``FILTER``/``CASE``), one ``GROUP BY lead_id``, a left join onto the leads;
stage dates as one grouped pivot; the cohort matrix as one grouped pass with one count per age.
The frames are handed to DuckDB as Arrow tables (zero-copy for Arrow-backed strings and
datetime columns) and the result comes back as a pandas frame; both are inside the timing.

Only what the benchmark needs is supported: scoring as of one date (no per-lead ``at``).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
import pyarrow as pa

from leadnb.funnel.stages import FunnelConfig, day_end
from leadnb.scoring.rules import (
    _FALSE_TOKENS,
    _TRUE_TOKENS,
    EventCondition,
    FieldCondition,
    Rule,
    ScoringConfig,
)

Z95 = 1.959963984540054  # two-sided 95% normal quantile (the Wilson interval's z)


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection (``threads=None``: DuckDB's default, every core)."""
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def threads(con: duckdb.DuckDBPyConnection) -> int:
    """How many threads the connection uses."""
    return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def _q(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP {_q(pd.Timestamp(ts).isoformat(sep=' '))}"


def _event_expr(rule: Rule) -> str:
    """One conditional aggregate over the filtered events ``e`` (columns: age in days...)."""
    cond = rule.when
    assert isinstance(cond, EventCondition)
    where = [f"event_type = {_q(cond.event_type)}"]
    if cond.values is not None:
        where.append(f"value IN ({', '.join(map(_q, cond.values))})")
    if cond.min_duration_s is not None:
        where.append(f"duration_s >= {cond.min_duration_s!r}")
    if rule.window_days is not None:
        where.append(f"age <= {rule.window_days!r}")
    weight = "1.0" if rule.half_life_days is None else f"pow(0.5, age / {rule.half_life_days!r})"
    agg = "max" if rule.once else "sum"
    return f"{agg}({weight}) FILTER (WHERE {' AND '.join(where)})"


def _field_expr(cond: FieldCondition, dtype: object) -> str:
    """A 0/1 expression on the leads columns, following leadnb.scoring.engine.field_mask."""
    col = _ident(cond.field)
    numeric = pd.api.types.is_numeric_dtype(dtype)
    dated = pd.api.types.is_datetime64_any_dtype(dtype)
    text = not (numeric or dated)
    present = f"({col} IS NOT NULL AND trim({col}) <> '')" if text else f"({col} IS NOT NULL)"
    op, arg = cond.op, cond.arg
    if op == "present":
        test = present if arg else f"NOT {present}"
    elif op in ("equals", "in"):
        vals = list(arg) if op == "in" else [arg]
        if text:
            tokens: list[str] = []
            for v in vals:
                if isinstance(v, bool):
                    tokens += _TRUE_TOKENS if v else _FALSE_TOKENS
                else:
                    tokens.append(str(v).strip().casefold())
            test = f"{present} AND lower(trim({col})) IN ({', '.join(map(_q, tokens))})"
        else:
            test = f"{col} IN ({', '.join(repr(float(v)) for v in vals)})"
    elif op == "contains":
        test = f"{present} AND contains(lower(trim({col})), {_q(str(arg).strip().casefold())})"
    else:
        lo, hi = {"gte": (arg, None), "lte": (None, arg), "between": arg}[op]
        lit = (lambda v: _ts(v)) if dated else (lambda v: repr(float(v)))
        parts = [f"{col} IS NOT NULL"]
        if lo is not None:
            parts.append(f"{col} >= {lit(lo)}")
        if hi is not None:
            parts.append(f"{col} <= {lit(hi)}")
        test = " AND ".join(parts)
    return f"CASE WHEN {test} THEN 1.0 ELSE 0.0 END"


def scoring_sql(config: ScoringConfig, as_of: pd.Timestamp, lead_dtypes: pd.Series) -> str:
    """The scoring query over tables ``leads`` and ``events``: one row per lead, the same
    columns as :func:`leadnb.scoring.engine.score` (row order not guaranteed)."""
    as_of = pd.Timestamp(as_of)
    last = day_end(as_of) - pd.Timedelta(microseconds=1)
    event_rules = [r for r in config.rules if r.is_event]
    cols: dict[str, str] = {}
    aggs = []
    for i, r in enumerate(config.rules):
        if isinstance(r.when, EventCondition):
            aggs.append(f"{_event_expr(r)} AS r{i}")
            value = f"coalesce(a.r{i}, 0) * {r.points!r}"
        else:
            value = f"{_field_expr(r.when, lead_dtypes[r.when.field])} * {r.points!r}"
        if r.cap is not None:
            value = f"least(greatest({value}, {-r.cap!r}), {r.cap!r})"
        cols[r.column] = value
    cats = {}
    for cat, cap in config.categories.items():
        members = [_ident(r.column) for r in config.rules if r.category == cat]
        total = " + ".join(members) or "0.0"
        cats[cat] = f"least({total}, {cap!r})" if cap is not None else f"({total})"
    types = sorted({r.when.event_type for r in event_rules})  # type: ignore[union-attr]
    agg_cte = ""
    join = ""
    if event_rules:
        agg_cte = f"""
agg AS (
    SELECT lead_id, {", ".join(aggs)}
    FROM (
        SELECT lead_id, event_type, value, duration_s,
               greatest(epoch_us({_ts(as_of)}) - epoch_us(ts), 0) / 86400000000.0 AS age
        FROM events
        WHERE ts <= {_ts(last)} AND event_type IN ({", ".join(map(_q, types))})
    ) e
    GROUP BY lead_id
),"""
        join = "LEFT JOIN agg a USING (lead_id)"
    rule_cols = ",\n        ".join(f"{v} AS {_ident(k)}" for k, v in cols.items())
    cat_cols = ",\n    ".join(f"{v} AS {_ident(k)}" for k, v in cats.items())
    score = " + ".join(_ident(k) for k in cats) or "0.0"
    return f"""
WITH {agg_cte}
per_rule AS (
    SELECT l.lead_id,
        {rule_cols}
    FROM leads l {join}
),
per_cat AS (
    SELECT *, {cat_cols}
    FROM per_rule
)
SELECT lead_id, {score} AS score, {", ".join(_ident(k) for k in cats)},
       {", ".join(_ident(c) for c in cols)}
FROM per_cat
"""


def _arrow(df: pd.DataFrame, columns: Sequence[str]) -> pa.Table:
    cols = [c for c in columns if c in df.columns]
    return pa.Table.from_pandas(df[cols], preserve_index=False)


def score(
    con: duckdb.DuckDBPyConnection,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    *,
    to_pandas: bool = True,
) -> pd.DataFrame | int:
    """Run :func:`scoring_sql` on the frames; returns a pandas frame like leadnb's score().

    ``to_pandas=False`` keeps the result inside DuckDB (a temporary table, then dropped) and
    returns its row count: the query's own time, without handing a million rows to pandas.
    """
    fields = sorted({r.when.field for r in config.rules if isinstance(r.when, FieldCondition)})
    con.register("leads", _arrow(leads, ["lead_id", *fields]))
    con.register("events", _arrow(events, ["lead_id", "ts", "event_type", "value", "duration_s"]))
    sql = scoring_sql(config, as_of, leads.dtypes)
    try:
        if to_pandas:
            return con.execute(sql).df()
        con.execute(f"CREATE OR REPLACE TEMP TABLE scores AS {sql}")
        rows = con.execute("SELECT count(*) FROM scores").fetchall()[0][0]
        con.execute("DROP TABLE scores")
        return int(rows)
    finally:
        con.unregister("leads")
        con.unregister("events")


def stage_cohort_sql(
    config: FunnelConfig, stage: str, as_of: pd.Timestamp, max_age: int
) -> tuple[str, str]:
    """Two queries over tables ``leads`` and ``stages``: the wide stage-date table ``wide`` (as
    ``CREATE TEMP TABLE``) and the monthly cohort matrix read from it."""
    later = config.all_stages[1:]
    names = {s.casefold(): s for s in config.all_stages}
    names.update({str(k).strip().casefold(): v for k, v in config.aliases.items()})
    mapping = ", ".join(f"({_q(k)}, {_q(v)})" for k, v in names.items() if v in later)
    firsts = ",\n        ".join(
        f"min(s.entered_at) FILTER (WHERE n.canonical = {_q(s)}) AS {s}_at" for s in later
    )
    funnel = [f"{s}_at" for s in config.stages[1:]]
    implied = []
    for i, col in enumerate(funnel):
        rest = funnel[i:]
        implied.append(f"least({', '.join(f'f.{c}' for c in rest)}) AS {col}" if len(rest) > 1
                       else f"f.{col} AS {col}")  # fmt: skip
    wide = f"""
CREATE OR REPLACE TEMP TABLE wide AS
WITH names(name, canonical) AS (VALUES {mapping}),
first AS (
    SELECT s.lead_id,
        {firsts}
    FROM stages s JOIN names n ON lower(trim(s.stage)) = n.name
    WHERE s.entered_at IS NOT NULL
    GROUP BY s.lead_id
)
SELECT l.lead_id, l.created_at, l.created_at AS lead_at,
       {", ".join(implied)}, f.{config.lost_stage}_at AS {config.lost_stage}_at
FROM leads l LEFT JOIN first f USING (lead_id)
"""
    end = day_end(as_of)
    as_of = pd.Timestamp(as_of).normalize()
    at = f"{stage}_at"
    counts = ",\n        ".join(
        f"count(*) FILTER (WHERE {at} <= created_at + INTERVAL {k} MONTH AND {at} < {_ts(end)})"
        f" AS c{k}"
        for k in range(1, max_age + 1)
    )
    z2 = Z95 * Z95
    matrix = f"""
WITH per_cohort AS (
    SELECT date_trunc('month', created_at) AS start, count(*) AS n,
        {counts}
    FROM wide
    WHERE created_at IS NOT NULL AND created_at < {_ts(end)}
    GROUP BY start
),
cells AS (
    SELECT strftime(start, '%Y-%m') AS cohort,
           CAST(substr(age, 2) AS BIGINT) AS age_months, n,
           CASE WHEN CAST(last_day(start) AS TIMESTAMP)
                     + to_months(CAST(substr(age, 2) AS INTEGER)) <= {_ts(as_of)}
                THEN CAST(c AS DOUBLE) END AS converted
    FROM per_cohort UNPIVOT (c FOR age IN ({", ".join(f"c{k}" for k in range(1, max_age + 1))}))
)
SELECT cohort, age_months, n, converted, converted / n AS rate,
       (converted / n + {z2} / (2 * n)) / (1 + {z2} / n)
         - {Z95} * sqrt(converted / n * (1 - converted / n) / n + {z2} / (4 * n * n))
           / (1 + {z2} / n) AS ci_low,
       (converted / n + {z2} / (2 * n)) / (1 + {z2} / n)
         + {Z95} * sqrt(converted / n * (1 - converted / n) / n + {z2} / (4 * n * n))
           / (1 + {z2} / n) AS ci_high
FROM cells
ORDER BY cohort, age_months
"""
    return wide, matrix


def stage_dates_and_cohorts(
    con: duckdb.DuckDBPyConnection,
    leads: pd.DataFrame,
    stages: pd.DataFrame,
    config: FunnelConfig,
    stage: str,
    as_of: pd.Timestamp,
    max_age: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wide stage-date frame, cohort matrix) computed in DuckDB."""
    con.register("leads", _arrow(leads, ["lead_id", "created_at"]))
    con.register("stages", _arrow(stages, ["lead_id", "stage", "entered_at"]))
    try:
        wide_sql, matrix_sql = stage_cohort_sql(config, stage, as_of, max_age)
        con.execute(wide_sql)
        matrix = con.execute(matrix_sql).df()
        wide = con.execute("SELECT * FROM wide").df()
        con.execute("DROP TABLE wide")
        return wide, matrix
    finally:
        con.unregister("leads")
        con.unregister("stages")


__all__ = [
    "connect",
    "score",
    "scoring_sql",
    "stage_cohort_sql",
    "stage_dates_and_cohorts",
    "threads",
]
