"""Validation in one place, before any analysis: every problem of the params file and the tables.

Design: :func:`validate_tables` takes canonical tables (as :mod:`leadnb.data.loading` returns them) and
returns a :class:`~leadnb.errors.Report`; it never raises for a data problem and never writes
anything. Each check is a small function that adds :class:`~leadnb.errors.Issue` values naming the
file, table, column, up to five offending rows, how many rows are affected and the fix. Errors stop
a run (``leadnb validate`` exits 2); warnings are listed and counted, never silent.

Rows of events, stages or assignments whose ``lead_id`` is not in leads are a warning while they
are under :data:`ORPHAN_ERROR_SHARE` of the table: :func:`clean_tables` then drops them (and the
report says so); at or above that share they are an error (probably the wrong file or ID column).

:func:`validate_params_file` is what ``leadnb validate PARAMS.yaml`` and ``leadnb run`` (before
anything is written) both run: it loads the params and every configured table, checks what each
requested notebook needs (its params section's names, types and values, the files it names, the
columns it needs, the analysis date within the data's range; see :mod:`leadnb.data.param_checks`),
collecting issues instead of stopping at the first, and :func:`format_report` renders the result
for a terminal.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.arrays import in_sets, index_positions
from leadnb.data import loading
from leadnb.data import notebook_parameters as nbp
from leadnb.data import param_checks as checks
from leadnb.data import params as config
from leadnb.data.params import Params, TableSource, load_params
from leadnb.errors import Issue, LeadnbError, ParamsError, Report
from leadnb.parallel import CaughtWarning, available_cores, fork_map

ORPHAN_ERROR_SHARE = 0.05  # share of rows with an unknown lead_id from which it is an error
CHILD_TABLES = ("events", "stages", "assignments")  # tables whose lead_id must be in leads


@dataclass
class DropIssue(Issue):
    """A warning whose rows :func:`clean_tables` drops: ``drop`` holds their index labels."""

    drop: Any = None


def _rows(df: pd.DataFrame, mask: pd.Series, columns: list[str], src: TableSource | None) -> Any:
    cols = [c for c in dict.fromkeys(columns) if c in df.columns]
    rows = df.loc[mask, cols].head(5)
    rows.index = loading.row_labels(src, rows.index)
    return rows


# --------------------------------------------------------------------------------------------
# Checks of one table


def _check_columns(report: Report, table: str, df: pd.DataFrame, src: TableSource | None) -> bool:
    """Missing required columns; returns False when the table cannot be checked further."""
    schema = loading.TABLE_SCHEMAS[table]
    missing = [c for c in schema.required if c not in df.columns]
    for group in schema.one_of:
        if not any(c in df.columns for c in group):
            missing.append(" or ".join(group))
    if not missing:
        return True
    mapped = set(src.columns.values()) if src is not None else set()
    unmapped = [str(c) for c in df.columns if c not in schema.columns and c not in mapped]
    for col in missing:
        target = col.split(" or ")[0]
        guess = suggest_column(target, unmapped)
        example = guess or f"<your {target} column>"
        fix = (
            f'map your column onto it in the params file: data.{table}.columns: {{"{example}": '
            f"{target}}}"
        )
        if guess is None:
            fix += f" (if the export has no such column, export it again with the CRM's {target})"
        report.error(
            f"missing required column {col} in the {table} table; its columns are: "
            f"{', '.join(map(str, df.columns)) or '(none)'}",
            file=src.label if src else None,
            table=table,
            column=col,
            fix=fix,
        )
    return False


# words that, in a user's column name, point at a canonical column (for suggested mappings)
_COLUMN_WORDS = {
    "lead_id": {"lead", "id", "number", "no", "nr"},
    "account_id": {"account", "company"},
    "ts": {"ts", "time", "timestamp", "date", "when", "datetime"},
    "event_type": {"type", "activity", "event", "action"},
    "stage": {"stage", "status", "lifecycle"},
    "entered_at": {"entered", "changed", "date", "time", "since"},
    "period_start": {"period", "month", "week", "start", "date"},
    "amount": {"amount", "spend", "cost", "costs", "value", "total", "revenue"},
    "experiment_id": {"experiment", "test", "campaign"},
    "variant": {"variant", "arm", "group", "bucket", "treatment"},
    "order_date": {"order", "date", "ordered"},
}


def suggest_column(target: str, columns: list[str]) -> str | None:
    """The user's column that most likely holds canonical ``target`` (for a suggested mapping).

    Parameters
    ----------
    target : str
        A canonical column name, e.g. ``"lead_id"``.
    columns : list of str
        The columns the user's table has.

    Returns
    -------
    str or None
        The column sharing the most of ``target``'s telltale words ("Lead Number" for lead_id,
        "Activity Type" for event_type), else a close spelling, else ``None``.

    Examples
    --------
    >>> suggest_column("lead_id", ["Lead Created On", "Lead Number", "Company"])
    'Lead Number'
    >>> suggest_column("variant", ["Variannt"]), suggest_column("lead_id", ["age", "balance"])
    ('Variannt', None)
    """
    words = _COLUMN_WORDS.get(target, set(target.split("_")))

    def tokens(c: str) -> set[str]:
        return {t for t in re.split(r"[^a-z0-9]+", c.casefold()) if t}

    scored = [(len(tokens(c) & words), -i, c) for i, c in enumerate(columns)]
    best = max(scored, default=(0, 0, None))
    if best[0] > 0:
        return best[2]
    norm = {re.sub(r"[^a-z0-9]+", "_", c.casefold()).strip("_"): c for c in columns}
    close = difflib.get_close_matches(target, list(norm), n=1, cutoff=0.75)
    return norm[close[0]] if close else None


def _check_kinds(report: Report, table: str, df: pd.DataFrame, src: TableSource | None) -> None:
    """Date and number columns that are still text (a frame not loaded by leadnb.data.loading)."""
    schema = loading.TABLE_SCHEMAS[table]
    fmt = src.date_format if src else None
    dayfirst = src.dayfirst if src else False
    for col in df.columns:
        kind = schema.kind(col)
        s = df[col]
        if kind == "date" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
            _, bad = loading.parse_datetimes(s, date_format=fmt, dayfirst=dayfirst)
            what, fix = "dates", loading.date_fix(src, s[bad].head(50))
        elif kind == "number" and not pd.api.types.is_numeric_dtype(s.dtype):
            _, bad = loading.parse_numbers(s)
            what, fix = "numbers", f"write plain numbers in {col} ('.' as decimal point)"
        else:
            continue
        if bad.any():
            report.error(
                f"{int(bad.sum())} value(s) in {col} are not {what}",
                file=src.label if src else None,
                table=table,
                column=col,
                rows=_rows(df, bad, ["lead_id", col], src),
                count=int(bad.sum()),
                fix=fix,
            )


def _check_required_values(
    report: Report, table: str, df: pd.DataFrame, src: TableSource | None
) -> None:
    file = src.label if src else None
    for col in loading.TABLE_SCHEMAS[table].required:
        if col not in df.columns:
            continue
        na = df[col].isna()
        seen = df.attrs.get(loading.UNREADABLE_ATTR, {}).get(col)
        if seen is not None and len(seen):  # already reported by the loader with raw values
            na.iloc[seen] = False
        if na.any():
            report.error(
                f"{int(na.sum())} row(s) of {table} have no {col} (blank, a placeholder, or a "
                "value that could not be read)",
                file=file,
                table=table,
                column=col,
                rows=_rows(df, na, ["lead_id", *loading.TABLE_SCHEMAS[table].required], src),
                count=int(na.sum()),
                fix=f"fill in {col} for those rows or remove them from the export",
            )


def _check_binary(report: Report, table: str, col: str, df: pd.DataFrame, src: TableSource | None):
    if col not in df.columns or not pd.api.types.is_numeric_dtype(df[col].dtype):
        return
    bad = df[col].notna() & ~df[col].isin([0, 1])
    if bad.any():
        report.error(
            f"{int(bad.sum())} value(s) in {col} are not 0 or 1",
            file=src.label if src else None,
            table=table,
            column=col,
            rows=_rows(df, bad, ["lead_id", col], src),
            count=int(bad.sum()),
            fix=f"{col} is a 0/1 outcome: 1 converted, 0 not (leave it blank when not known)",
        )


def _first_rows(leads: pd.DataFrame) -> pd.DataFrame:
    """Each lead id's first row (``leads`` itself when the ids are distinct, as they must be)."""
    later = leads["lead_id"].duplicated()
    return leads[~later] if later.any() else leads


def _check_leads(
    report: Report, leads: pd.DataFrame, src: TableSource | None, first: pd.DataFrame
) -> None:
    file = src.label if src else None
    ids = leads["lead_id"]
    dup = pd.Series(False, index=ids.index)
    if len(first) < len(leads):  # the rows of every id that occurs more than once
        dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        n_ids = int(ids[dup].nunique())
        shown = leads[dup].sort_values("lead_id", kind="stable")
        report.error(
            f"{n_ids} lead_id value(s) appear more than once in leads ({int(dup.sum())} rows)",
            file=file,
            table="leads",
            column="lead_id",
            rows=_rows(shown, pd.Series(True, index=shown.index), ["lead_id", "created_at"], src),
            count=int(dup.sum()),
            fix="lead_id must be unique: remove duplicate rows (or map the real ID column in "
            "data.leads.columns)",
        )
    _check_binary(report, "leads", "converted", leads, src)
    if "created_at" in leads.columns and pd.api.types.is_datetime64_any_dtype(
        leads["created_at"].dtype
    ):
        created = leads["created_at"].dt.floor("D")
        for col in leads.columns:
            if col == "created_at" or not col.endswith("_at"):
                continue
            if not pd.api.types.is_datetime64_any_dtype(leads[col].dtype):
                continue
            early = leads[col].dt.floor("D") < created
            if early.any():
                report.warn(
                    f"{int(early.sum())} lead(s) reached {col} before they were created "
                    "(created_at); the funnel reports them too",
                    file=file,
                    table="leads",
                    column=col,
                    rows=_rows(leads, early, ["lead_id", "created_at", col], src),
                    count=int(early.sum()),
                    fix=f"check {col} and created_at of those leads in the CRM",
                )


def _check_costs(report: Report, costs: pd.DataFrame, src: TableSource | None) -> None:
    if not pd.api.types.is_numeric_dtype(costs["amount"].dtype):
        return
    neg = costs["amount"] < 0
    if neg.any():
        report.error(
            f"{int(neg.sum())} cost amount(s) are negative",
            file=src.label if src else None,
            table="costs",
            column="amount",
            rows=_rows(costs, neg, ["period_start", "program", "channel", "amount"], src),
            count=int(neg.sum()),
            fix="costs are spend: write refunds or credits as a lower amount for that period",
        )


def _check_orphans(
    report: Report, table: str, df: pd.DataFrame, known: np.ndarray, sources: Mapping
) -> None:
    """Rows of ``table`` whose lead_id is not among the leads (``known``: :func:`in_sets` of
    its ids, computed with the other tables', the leads hashed once)."""
    src = sources.get(table)
    ids = df["lead_id"]
    orphan = pd.Series(ids.notna().to_numpy() & ~known, index=df.index)
    n = int(orphan.sum())
    if not n:
        return
    share = n / len(df)
    msg = f"{n:,} of {len(df):,} {table} rows ({share:.1%}) have a lead_id that is not in leads"
    kw = dict(
        file=src.label if src else None,
        table=table,
        column="lead_id",
        rows=_rows(df, orphan, ["lead_id", *loading.TABLE_SCHEMAS[table].required], src),
        count=n,
    )
    if share < ORPHAN_ERROR_SHARE:
        report.add(
            DropIssue(
                msg + "; these rows are dropped before analysis",
                level="warning",
                fix="export leads and this table at the same time (or from the same filter) so "
                "every lead_id is known",
                drop=df.index[orphan],
                **kw,
            )
        )
    else:
        report.error(
            msg + f" ({ORPHAN_ERROR_SHARE:.0%} or more: probably the wrong file or ID column)",
            fix=f"check that data.{table} and data.leads use the same lead ID (map the right "
            f"column in data.{table}.columns) and come from the same export",
            **kw,
        )


def _check_stages(
    report: Report,
    stages: pd.DataFrame,
    leads: pd.DataFrame | None,
    src: TableSource | None,
    funnel: Any,
    first: pd.DataFrame | None = None,
) -> None:
    file = src.label if src else None
    aliases, names = loading.funnel_names(funnel)
    if names:
        unknown = stages["stage"].notna() & ~stages["stage"].isin(names)
        if unknown.any():
            counts = stages.loc[unknown, "stage"].value_counts()
            listed = ", ".join(f'"{k}" ({v})' for k, v in counts.items())
            pairs = [f'"{name}": {guess_stage(str(name), names)}' for name in counts.index[:6]]
            report.error(
                f"{len(counts)} stage name(s) in stages are not funnel stages (after "
                f"funnel.aliases and data.stages.stage_map): {listed}",
                file=file,
                table="stages",
                column="stage",
                rows=_rows(stages, unknown, ["lead_id", "stage", "entered_at"], src),
                count=int(unknown.sum()),
                fix=f"map them onto the funnel stages ({', '.join(names)}) in the params file, "
                f"e.g. funnel.aliases: {{{', '.join(pairs)}}}",
            )
    if (
        leads is not None
        and "created_at" in leads.columns
        and pd.api.types.is_datetime64_any_dtype(leads["created_at"].dtype)
        and pd.api.types.is_datetime64_any_dtype(stages["entered_at"].dtype)
    ):
        # each stage row's lead's creation (its first row's, as drop_duplicates keeps): one
        # Arrow hash lookup of the lead ids (pandas' map of 1.3 million against a million
        # lead ids took 1.7 s)
        first = _first_rows(leads) if first is None else first
        at = index_positions(stages["lead_id"], pd.Index(first["lead_id"]))
        created_at = first["created_at"].to_numpy()
        lead_created = pd.Series(
            np.where(at >= 0, created_at[np.maximum(at, 0)], np.datetime64("NaT")),
            index=stages.index,
            dtype=first["created_at"].dtype,
        )
        early = stages["entered_at"].dt.floor("D") < lead_created.dt.floor("D")
        if early.any():
            shown = stages.assign(created_at=lead_created)
            report.warn(
                f"{int(early.sum())} stage row(s) were entered before the lead was created "
                "(entered_at < leads.created_at); the funnel reports them too",
                file=file,
                table="stages",
                column="entered_at",
                rows=_rows(shown, early, ["lead_id", "stage", "entered_at", "created_at"], src),
                count=int(early.sum()),
                fix="check those leads' dates in the CRM (a re-created or merged lead keeps its "
                "old stage history)",
            )


# words in CRM stage names that point at a canonical stage, for the suggested aliases
_STAGE_WORDS = {
    "won": "customer",
    "customer": "customer",
    "closed won": "customer",
    "lost": "lost",
    "disqualified": "lost",
    "unqualified": "lost",
    "opportunity": "opportunity",
    "deal": "opportunity",
    "new": "lead",
    "open": "lead",
    "lead": "lead",
}


def guess_stage(name: str, stages: list[str]) -> str:
    """The funnel stage a CRM stage name most likely means (for suggested aliases only).

    Parameters
    ----------
    name : str
        The stage name as the CRM writes it.
    stages : list of str
        The funnel's stages (and its lost stage).

    Returns
    -------
    str
        By the name's initials ("Sales Qualified" -> sq -> sql), else common words ("Closed
        Won" -> customer), else a close spelling; ``"<stage>"`` when nothing fits.

    Examples
    --------
    >>> stages = ["lead", "mql", "sql", "opportunity", "customer", "lost"]
    >>> [guess_stage(n, stages) for n in ("Sales Qualified", "Closed Won", "zzz")]
    ['sql', 'customer', '<stage>']
    """
    words = [w for w in str(name).casefold().replace("-", " ").replace("_", " ").split() if w]
    initials = "".join(w[0] for w in words)
    if len(initials) >= 2:
        for st in stages:
            if st.casefold().startswith(initials) or initials.startswith(st.casefold()):
                return st
    for w in reversed(words):
        st = _STAGE_WORDS.get(w)
        if st in stages:
            return st
    close = difflib.get_close_matches(str(name).casefold(), stages, n=1, cutoff=0.6)
    return close[0] if close else "<stage>"


def _check_assignments(
    report: Report, asg: pd.DataFrame, src: TableSource | None, as_of: pd.Timestamp | None
) -> None:
    file = src.label if src else None
    per = asg.groupby(["experiment_id", "lead_id"], sort=False)["variant"].transform("nunique")
    both = per > 1
    if both.any():
        shown = asg[both].sort_values(["experiment_id", "lead_id"], kind="stable")
        n_leads = int(asg.loc[both, ["experiment_id", "lead_id"]].drop_duplicates().shape[0])
        report.error(
            f"{n_leads} lead(s) are in more than one variant of the same experiment",
            file=file,
            table="assignments",
            column="variant",
            rows=_rows(
                shown,
                pd.Series(True, index=shown.index),
                ["experiment_id", "lead_id", "variant", "assigned_at"],
                src,
            ),
            count=int(both.sum()),
            fix="each lead keeps its first assignment: remove the later rows (and check the "
            "assignment code; a lead switching arms biases the comparison)",
        )
    _check_binary(report, "assignments", "outcome", asg, src)
    if (
        as_of is not None
        and "assigned_at" in asg.columns
        and pd.api.types.is_datetime64_any_dtype(asg["assigned_at"].dtype)
    ):
        late = asg["assigned_at"] >= asof.day_end(as_of)
        if late.any():
            report.warn(
                f"{int(late.sum())} assignment(s) are after the analysis date "
                f"{pd.Timestamp(as_of).date().isoformat()}; they are not counted",
                file=file,
                table="assignments",
                column="assigned_at",
                rows=_rows(asg, late, ["experiment_id", "lead_id", "variant", "assigned_at"], src),
                count=int(late.sum()),
                fix="run with a later --as-of (or run.as_of) to include them",
            )


def _check_mapping_targets(report: Report, table: str, src: TableSource | None) -> None:
    if src is None or table == "leads":
        return
    schema = loading.TABLE_SCHEMAS[table]
    for k, v in src.columns.items():
        if v not in schema.columns:
            close = difflib.get_close_matches(v, list(schema.columns), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            report.warn(
                f'data.{table}.columns maps "{k}" onto {v}, which is not a column of the {table} '
                f"table{hint}; it is kept but not used",
                file=src.label,
                table=table,
                column=v,
                fix=f"{table} columns are: {', '.join(schema.columns)}",
            )


# --------------------------------------------------------------------------------------------
# Public API


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    sources: Mapping[str, TableSource],
    funnel: Any = None,
    as_of: pd.Timestamp | str | None = None,
) -> Report:
    """Check canonical tables against the contract and against each other.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name -> canonical table (as :mod:`leadnb.data.loading` returns it).
    sources : mapping of str to TableSource
        Each table's source, for messages (and the date format of tables still read as text).
    funnel : FunnelConfig or dict, optional
        With ``stages``, ``lost_stage``, ``aliases``: enables the stage-name check.
    as_of : Timestamp or str, optional
        Enables the assignments-after-as_of check.

    Returns
    -------
    Report
        Every problem found, as issues naming the file, table, column, up to five rows, the
        count and the fix. Nothing is raised for a data problem and nothing is written.

    Examples
    --------
    >>> costs = pd.DataFrame({"period_start": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                       "amount": [100.0, -5.0]})
    >>> report = validate_tables({"costs": costs}, {"costs": TableSource("costs")})
    >>> [(i.level, i.table, i.column, i.count) for i in report.issues]
    [('error', 'costs', 'amount', 1)]
    """
    report = Report()
    as_of = pd.Timestamp(as_of) if as_of is not None and as_of != "" else None
    usable: dict[str, pd.DataFrame] = {}
    for table, df in tables.items():
        src = sources.get(table)
        if table not in loading.TABLE_SCHEMAS:
            report.error(f"unknown table {table!r}", table=table, fix="tables are: leads, ...")
            continue
        _check_mapping_targets(report, table, src)
        if len(df) == 0:
            report.error(
                f"the {table} table is empty (no rows)",
                file=src.label if src else None,
                table=table,
                count=0,
                fix=f"check the export (or the SQL query's filter) behind data.{table}; remove "
                f"data.{table} from the params file if you have no {table}",
            )
            continue
        if not _check_columns(report, table, df, src):
            continue
        _check_kinds(report, table, df, src)
        _check_required_values(report, table, df, src)
        usable[table] = df

    leads = usable.get("leads")
    first = None  # each lead id's first row: one hash pass of the ids for both checks below
    if leads is not None:
        first = _first_rows(leads)
        _check_leads(report, leads, sources.get("leads"), first)
    if "costs" in usable:
        _check_costs(report, usable["costs"], sources.get("costs"))
    if leads is not None:
        children = [t for t in CHILD_TABLES if t in usable]
        known = in_sets([usable[t]["lead_id"] for t in children], leads["lead_id"])
        for t, mask in zip(children, known, strict=True):
            _check_orphans(report, t, usable[t], mask, sources)
    if "stages" in usable:
        _check_stages(report, usable["stages"], leads, sources.get("stages"), funnel, first)
    if "assignments" in usable:
        _check_assignments(report, usable["assignments"], sources.get("assignments"), as_of)
    return report


def clean_tables(tables: Mapping[str, pd.DataFrame], report: Report) -> dict[str, pd.DataFrame]:
    """Drop the rows the report's warnings say are dropped (an unknown lead_id).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The tables :func:`validate_tables` checked; they are not modified.
    report : Report
        Its report: each :class:`DropIssue` names the rows to drop.

    Returns
    -------
    dict of str to DataFrame
        The tables, those with dropped rows as new frames (index reset) whose
        ``attrs["leadnb_dropped"]`` counts the rows dropped; the others unchanged.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(40)]})
    >>> events = pd.DataFrame({"lead_id": ["L1"] * 39 + ["X9"], "ts": pd.Timestamp("2025-01-01"),
    ...                        "event_type": "email_open"})
    >>> tables = {"leads": leads, "events": events}
    >>> report = validate_tables(tables, {t: TableSource(t) for t in tables})
    >>> cleaned = clean_tables(tables, report)
    >>> len(cleaned["events"]), cleaned["events"].attrs["leadnb_dropped"]
    (39, 1)
    """
    out = dict(tables)
    for issue in report.issues:
        if isinstance(issue, DropIssue) and issue.table in out and issue.drop is not None:
            df = out[issue.table]
            kept = _without_unused_categories(
                df.drop(index=issue.drop, errors="ignore").reset_index(drop=True)
            )
            kept.attrs = {
                **df.attrs,
                "leadnb_dropped": int(df.attrs.get("leadnb_dropped", 0)) + len(df) - len(kept),
            }
            out[issue.table] = kept
    return out


def _without_unused_categories(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each categorical column's categories cut to the values it still holds (as
    though the table had been loaded without the dropped rows)."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    return df.assign(**{c: df[c].cat.remove_unused_categories() for c in cats})


def validate_params_file(
    path: str | Path,
    *,
    as_of: str | pd.Timestamp | None = None,
    notebooks: Sequence[str] | None = None,
    notebook_dir: str | Path | None = None,
) -> tuple[Report, Params | None, dict[str, pd.DataFrame]]:
    """Load the params file and every configured table, and check everything a run needs.

    ``leadnb validate`` and ``leadnb run`` both call this one function. Problems are collected
    (not raised) so one call lists everything; nothing is written.

    Parameters
    ----------
    path : str or Path
        The params file.
    as_of : str or Timestamp, optional
        The analysis date for the date checks; default ``run.as_of``.
    notebooks : sequence of str, optional
        The notebooks whose needs are checked (default: all of
        :data:`leadnb.data.params.NOTEBOOKS`): their params sections (names, types, values),
        the files they name, the columns they need (a missing optional one is a warning naming
        the sections that will say "Not computed"), and the analysis date within the data's
        range (:func:`leadnb.data.param_checks.check_as_of`).
    notebook_dir : str or Path, optional
        Where those notebooks are; default the package's notebooks.

    Returns
    -------
    report : Report
        Every problem found.
    params : Params or None
        ``None`` when the params file itself is wrong.
    tables : dict of str to DataFrame
        The tables that could be loaded, cleaned as :func:`clean_tables` does.

    Examples
    --------
    >>> report, params, tables = validate_params_file("params/demo.yaml")  # from the repo root
    >>> report.ok, sorted(tables)
    (True, ['assignments', 'costs', 'events', 'leads', 'orders', 'stages'])
    """
    report = Report()
    try:
        params = load_params(path)
    except ParamsError as err:
        report.issues.extend(err.issues)
        return report, None, {}
    file = str(params.path)
    if params.data and "leads" not in params.data:
        others = ", ".join(f"data.{t}" for t in params.data)
        report.error(
            f"the params file configures {others} but no leads table (data.leads); every other "
            "table hangs off leads",
            file=file,
            table="leads",
            fix="add data.leads.source: path/to/leads.csv (relative to the params file), or "
            "remove the data section for a params file that only holds inputs (like "
            "params/roi_worked_example.yaml)",
        )
    when = params.run.as_of
    if as_of:
        try:
            when = params.as_of(str(as_of)[:10])
        except ParamsError as err:
            report.issues.extend(err.issues)
            when = None
    # the tables are read while the notebooks' params sections are checked: that check imports
    # Papermill (0.5 to 1 s at a run's start, on the GIL) and Arrow reads without holding it;
    # the read's issues follow the notebooks' in the report, as when one ran after the other
    read = Report()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadnb-read") as ex:
        reading = ex.submit(loading.load_tables, params, report=read)
        names = _check_notebooks(report, params, notebooks, notebook_dir)
        tables = reading.result()
    report.issues.extend(read.issues)
    if params.data and "leads" in tables and _worth_ahead(tables):
        # the analysis checks in a forked process while this one validates (_Ahead)
        job = _Ahead(os.getpid(), params, tables)
        cleaned, ahead = fork_map(
            lambda item: (
                job.analysis() if item else _validated(report, params, tables, names, as_of, when)
            ),
            [0, 1],
        )
    else:
        cleaned, ahead = _validated(report, params, tables, names, as_of, when), None
    if not report.errors and "leads" in cleaned:
        if ahead is not None and all(cleaned[t] is tables[t] for t in tables):
            found, caught = ahead
            report.issues.extend(found.issues)
            report.rule_issues, report.stage_quality = found.rule_issues, found.stage_quality
            for w in caught:
                w.warn()
        else:
            _check_analysis_inputs(report, params, cleaned)
    return report, params, cleaned


AHEAD_ROWS = 2_000_000
"""Rows of all tables from which :func:`validate_params_file` runs the analysis checks in a
second process while it validates: at 23.3 million rows (a million leads) each half takes about
1.3 s; at 464,120 (the demo) 0.07 s together, less than a fork is worth."""


def _worth_ahead(tables: Mapping[str, pd.DataFrame]) -> bool:
    return sum(len(df) for df in tables.values()) >= AHEAD_ROWS and available_cores() > 1


class _Ahead:
    """:func:`_check_analysis_inputs` on the tables as loaded, in the child of
    :func:`leadnb.parallel.fork_map` while the caller validates them (:func:`_validated`).

    The child's findings are used only where the sequence would have run the same check on the
    same frames: no error before it, and :func:`clean_tables` dropping nothing (else the check
    runs again in the caller, on the cleaned tables). What the child raises or warns goes back
    with its result and is dropped with it: a check the sequence would not have run (the tables
    had errors) must neither fail the run nor print. Asked of the caller (a child that died or
    could not be forked), it computes nothing and the caller runs the check itself.
    """

    def __init__(self, parent: int, params: Params, tables: dict[str, pd.DataFrame]) -> None:
        self.parent, self.params, self.tables = parent, params, tables

    def analysis(self) -> tuple[Report, list[CaughtWarning]] | None:
        if os.getpid() == self.parent:
            return None
        found = Report()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                _check_analysis_inputs(found, self.params, self.tables)
            except Exception:  # raised by the caller's own run of the check, if it gets there
                return None
        return found, [CaughtWarning.of(w) for w in caught]


def _validated(
    report: Report,
    params: Params,
    tables: dict[str, pd.DataFrame],
    names: list[str],
    as_of: Any,
    when: Any,
) -> dict[str, pd.DataFrame]:
    """:func:`validate_params_file` after the load, up to the analysis checks: the tables'
    issues and the notebooks' inputs into ``report``; returns the cleaned tables."""
    file = str(params.path)
    checked = validate_tables(tables, params.data, funnel=params.funnel, as_of=when).issues
    report.issues.extend(checked)
    report.table_issues = list(checked)
    cleaned = clean_tables(tables, report)
    if params.data:
        labels = {t: src.label for t, src in params.data.items()}
        if "leads" in cleaned:
            seen = {(i.table, i.column) for i in report.errors}
            for name in names:
                found = checks.check_inputs(name, cleaned, params, labels=labels)
                report.issues.extend(
                    i for i in found if i.level != "error" or (i.table, i.column) not in seen
                )
        report.issues.extend(checks.check_as_of(when, cleaned, file=file))
        if when is None and names and not as_of:
            report.warn(
                "no analysis date: run.as_of is not set, so the analysis date was not checked "
                "against the data",
                file=file,
                fix='set run.as_of: "YYYY-MM-DD" in the params file, or pass --as-of to '
                "validate and run",
            )
    return cleaned


FILE_KEYS = {k for keys in checks.FILE_PARAMS.values() for k in keys}
_NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,99}")


def _check_notebooks(
    report: Report,
    params: Params,
    notebooks: Sequence[str] | None,
    notebook_dir: str | Path | None,
) -> list[str]:
    """Check each requested notebook's params section (names and types against what the
    notebook declares, then values, then the files it names); returns the notebooks found."""
    file = str(params.path)
    nb_dir = Path(notebook_dir).resolve() if notebook_dir else nbp.default_notebook_dir()
    wanted = list(config.NOTEBOOKS) if notebooks is None else list(notebooks)
    wanted = list(dict.fromkeys(str(n).strip().removesuffix(".ipynb") for n in wanted))
    found: list[str] = []
    for name in wanted:
        path = nb_dir / f"{name}.ipynb"
        if not _NOTEBOOK_NAME.fullmatch(name) or not path.is_file():
            available = sorted(p.stem for p in nb_dir.glob("*.ipynb")) if nb_dir.is_dir() else []
            report.error(
                f"notebook {name!r} not found in {nb_dir}",
                fix=f"name notebooks by their plain name: {', '.join(available) or '(none)'}",
            )
            continue
        found.append(name)
        section = params.notebook(name)
        declared, wrong = _check_declared(report, path, section, file)
        if declared is None:
            continue
        values = checks.effective_values(declared, section)
        values = {k: v for k, v in values.items() if k in declared}
        report.issues.extend(
            checks.check_values(
                name,
                values,
                params,
                explicit=list(section),
                skip=wrong,
                defaults=checks.effective_values(declared, {}),
                file=file,
            )
        )
        if params.data or FILE_KEYS & set(section):  # a file of inputs only runs no scoring
            report.issues.extend(
                checks.check_files(name, values, params.base_dir, explicit=list(section), file=file)
            )
    return found


def _check_declared(
    report: Report, notebook: Path, section: Mapping[str, Any], file: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """:func:`leadnb.data.notebook_parameters.check_notebook_parameters` on the section, then key by key when it
    refuses it, so every unknown key and wrong type is listed. Returns ``(declared parameters or
    None when the notebook cannot be inspected, keys refused)``."""
    try:
        return nbp.check_notebook_parameters(notebook, section, params_file=file), []
    except ParamsError as err:
        first = err
    try:
        declared = nbp.check_notebook_parameters(notebook, {}, params_file=file)
    except ParamsError:  # the notebook itself is wrong (no parameters cell...)
        report.issues.extend(first.issues)
        return None, list(section)
    wrong: list[str] = []
    for key, value in section.items():
        try:
            nbp.check_notebook_parameters(notebook, {key: value}, params_file=file)
        except ParamsError as err:
            wrong.append(key)
            report.issues.extend(err.issues)
    if not wrong:
        report.issues.extend(first.issues)
    return declared, wrong


# stage_quality checks that validate_tables does not already report itself
_FUNNEL_WARNINGS = ("re_entry", "backward_move", "skipped_stage", "missing_date")


def _check_analysis_inputs(
    report: Report, params: Params, tables: Mapping[str, pd.DataFrame]
) -> None:
    """Checks that need the parsed analysis sections: scoring rules against the data (a field
    that is not a column is an error, an event type never seen a warning) and the funnel's
    data-quality table (re-entries, backward moves, skipped stages: warnings, counted)."""
    from leadnb.funnel import stages as fn
    from leadnb.scoring import rules

    leads = tables["leads"]
    config = params.scoring
    if config.rules:
        report.rule_issues = rules.validate_rules(config, leads, tables.get("events"))
        report.issues.extend(report.rule_issues)
    fconf = params.funnel
    stages = tables.get("stages")
    has_wide = any(c in leads.columns for c in fconf.date_columns[1:])
    if (stages is None and not has_wide) or "created_at" not in leads.columns:
        return
    try:
        quality = fn.stage_quality(leads, stages, fconf)
    except LeadnbError as err:  # a shape problem validate_tables has already reported
        report.issues.extend(err.issues)
        return
    report.stage_quality = quality
    src = params.data.get("stages") or params.data.get("leads")
    for row in quality[
        quality["check"].isin(_FUNNEL_WARNINGS) & (quality["count"] > 0)
    ].itertuples():
        report.warn(
            f"stage history check {row.check}: {row.count:,} row(s) for {row.leads:,} lead(s): "
            f"{row.meaning} (e.g. lead_id {row.example_lead_ids})",
            file=src.label if src else None,
            table="stages" if stages is not None else "leads",
            count=int(row.count),
            fix="nothing to do if the CRM really recorded these moves; the cohort-conversion "
            "notebook shows this table and funnel.skipped_stages chooses imply or strict",
        )


def format_report(report: Report, *, title: str | None = None) -> str:
    """The report as terminal text: errors, then warnings, numbered, then a one-line verdict.

    Parameters
    ----------
    report : Report
        What :func:`validate_params_file` found.
    title : str, optional
        A first paragraph.

    Returns
    -------
    str
        Paragraphs separated by blank lines; the last says ``OK: ...`` or ``FAILED: ...``.

    Examples
    --------
    >>> print(format_report(Report()))
    OK: no errors, 0 warning(s).
    """
    errors, warns = report.errors, report.warnings
    parts = [title] if title else []
    for n, issue in enumerate(errors, 1):
        parts.append(f"[{n}/{len(errors)}] {issue.render()}")
    for n, issue in enumerate(warns, 1):
        parts.append(f"[{n}/{len(warns)}] {issue.render()}")
    if errors:
        verdict = (
            f"FAILED: {len(errors)} error(s), {len(warns)} warning(s). Fix the errors above and "
            "run `leadnb validate` again; nothing was written."
        )
    else:
        verdict = f"OK: no errors, {len(warns)} warning(s)."
    parts.append(verdict)
    return "\n\n".join(parts)


__all__ = [
    "CHILD_TABLES",
    "ORPHAN_ERROR_SHARE",
    "DropIssue",
    "clean_tables",
    "format_report",
    "guess_stage",
    "suggest_column",
    "validate_params_file",
    "validate_tables",
]
