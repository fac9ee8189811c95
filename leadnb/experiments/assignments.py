"""Which assignment rows of an experiment can be analysed, and the experiments nobody registered.

Design. An assignments table comes from a CRM or a marketing tool and is rarely clean: variants
that were never registered, leads in two arms, repeated rows, dates outside the registered
enrolment. Every problem row is either an error or a line of an explicit exclusion table with
counts (:func:`prepare_assignments`), never silently dropped; experiments found in the data
without a registration are named (:func:`unregistered`) so nobody reads out a test whose metric
was chosen after the fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import pandas as pd

from leadnb import asof
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.experiments.registration import Registration
from leadnb.results import Column, Kind

__all__ = [
    "EXCLUSION_COLUMNS",
    "EXCLUSION_DISPLAY",
    "prepare_assignments",
    "unregistered",
    "unregistered_sentence",
]

EXCLUSION_COLUMNS = ["experiment_id", "metric", "reason", "variant", "rows", "leads"]
"""Columns of the exclusion table (``ab_exclusions.csv``): one row per reason and variant."""
EXCLUSION_DISPLAY: dict[str, Column] = {
    "experiment_id": Column("Experiment", Kind.TEXT),
    "metric": Column("Metric", Kind.TEXT, "the metric the rows are set aside for, or all"),
    "reason": Column("Reason", Kind.TEXT, "why the rows cannot be analysed"),
    "variant": Column("Group", Kind.TEXT),
    "rows": Column("Rows", Kind.COUNT, "assignment rows set aside"),
    "leads": Column("Leads", Kind.COUNT, "distinct leads among them"),
}
"""How a report shows the exclusion table: a label and a kind for each of
:data:`EXCLUSION_COLUMNS` (the CSV keeps the machine names)."""


def prepare_assignments(
    assignments: pd.DataFrame,
    reg: Registration,
    as_of: pd.Timestamp,
    *,
    on_problem: Literal["exclude", "error"] = "exclude",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``reg``'s experiment that can be analysed, and an exclusion table.

    Each problem row gets the first reason that applies: a variant not in the registration; no
    ``assigned_at`` when the metric needs a window; assigned after ``as_of``; assigned outside the
    registered start..end dates; a lead in more than one variant (all its rows); a repeated row
    for the same lead and variant (the earliest is kept).

    Parameters
    ----------
    assignments
        The assignments table: lead_id, experiment_id, variant, and assigned_at when a metric
        is measured from assignment (other experiments' rows are ignored).
    reg
        The experiment's registration.
    as_of
        The analysis date (rows assigned later are not known yet).
    on_problem
        ``"exclude"`` (default) sets problem rows aside in the exclusion table; ``"error"``
        raises :class:`~leadnb.errors.DataError` naming them instead.

    Returns
    -------
    clean : pandas.DataFrame
        The experiment's analysable rows (the input's columns), index reset.
    exclusions : pandas.DataFrame
        One row per reason and variant: experiment_id, metric (``"all"``), reason, variant,
        rows, leads (:data:`EXCLUSION_COLUMNS`).

    Raises
    ------
    DataError
        A required column is missing, or ``on_problem="error"`` and a row cannot be analysed.
    NotEnoughData
        A metric needs a window but the table has no ``assigned_at`` column.

    Examples
    --------
    >>> reg = Registration.from_dict({"id": "e", "hypothesis": "h", "variable": "v",
    ...     "control": "a", "variants": ["b"], "primary_metric": {"outcome": "y"},
    ...     "target_effect": 0.05, "start": "2026-01-01"})
    >>> asg = pd.DataFrame({"lead_id": ["1", "2", "2", "3"], "experiment_id": "e",
    ...                     "variant": ["a", "a", "b", "c"]})
    >>> clean, excl = prepare_assignments(asg, reg, pd.Timestamp("2026-06-30"))
    >>> clean["lead_id"].tolist()
    ['1']
    >>> excl[["reason", "variant", "rows"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'reason': 'lead in more than one variant', 'variant': 'a', 'rows': 1},
     {'reason': 'lead in more than one variant', 'variant': 'b', 'rows': 1},
     {'reason': 'variant not in the registration', 'variant': 'c', 'rows': 1}]
    """
    as_of = pd.Timestamp(as_of)
    require_columns(assignments, ["lead_id", "experiment_id", "variant"], table="assignments")
    df = assignments.loc[assignments["experiment_id"] == reg.id].copy()
    windowed = [m for m in (reg.primary_metric, *reg.guardrail_metrics) if m.outcome is None]
    if windowed and "assigned_at" not in df.columns:
        raise NotEnoughData(
            f"experiment {reg.id} measures {windowed[0].label} from assignment, but the "
            "assignments table has no assigned_at column",
            "add assigned_at (the date each lead entered the experiment) to the assignments, or "
            "register a precomputed 0/1 outcome: primary_metric: {outcome: outcome}",
            table="assignments",
            column="assigned_at",
        )
    has_date = "assigned_at" in df.columns
    reason = pd.Series(pd.NA, index=df.index, dtype="object")

    def mark(mask: pd.Series, why: str) -> None:
        reason.loc[mask & reason.isna()] = why

    mark(~df["variant"].isin(reg.arms), "variant not in the registration")
    if has_date:
        at = df["assigned_at"]
        if reg.primary_metric.outcome is None or any(
            g.outcome is None for g in reg.guardrail_metrics
        ):
            mark(at.isna(), "no assigned_at")
        mark(~asof.known(at, as_of) & at.notna(), "assigned after as_of")
        outside = at < reg.start
        if reg.end is not None:
            outside |= ~asof.known(at, reg.end) & at.notna()
        mark(outside, "assigned outside the registered start..end dates")
    ok = reason.isna()
    per_lead = df.loc[ok].groupby("lead_id", sort=False)["variant"].nunique()
    multi = df["lead_id"].isin(per_lead.index[per_lead > 1])
    mark(multi, "lead in more than one variant")
    ok = reason.isna()
    order = df.sort_values("assigned_at", kind="stable") if has_date else df
    dup_idx = order.loc[ok.reindex(order.index)].duplicated(["lead_id", "variant"], keep="first")
    mark(
        pd.Series(df.index.isin(dup_idx.index[dup_idx]), index=df.index), "repeated assignment row"
    )

    bad = reason.notna()
    excl = (
        df.loc[bad, ["lead_id", "variant"]]
        .assign(reason=reason[bad].astype(str))
        .groupby(["reason", "variant"], sort=True)
        .agg(rows=("lead_id", "size"), leads=("lead_id", "nunique"))
        .reset_index()
    )
    excl.insert(0, "metric", "all")
    excl.insert(0, "experiment_id", reg.id)
    excl = excl[EXCLUSION_COLUMNS]
    if bad.any() and on_problem == "error":
        raise DataError(
            f"experiment {reg.id!r}: {int(bad.sum())} assignment row(s) cannot be analysed ("
            + "; ".join(f"{r}: {n}" for r, n in excl.groupby("reason")["rows"].sum().items())
            + ")",
            table="assignments",
            rows=df.loc[bad].assign(reason=reason[bad]).head(5),
            count=int(bad.sum()),
            fix="fix the assignments (or the registration), or analyse with on_problem='exclude' "
            "to drop them with an exclusion table",
        )
    clean = df.loc[~bad].reset_index(drop=True)
    return clean, excl


def unregistered(
    assignments: pd.DataFrame | None,
    registered: Iterable[str],
    as_of: pd.Timestamp | str | None = None,
) -> list[str]:
    """Experiment ids present in the assignments table without a registration.

    Parameters
    ----------
    assignments
        The assignments table, or None when the params file configures none.
    registered
        The registered experiment ids.
    as_of
        The analysis date: with an ``assigned_at`` column only experiments with a row assigned
        by then (or undated) count, since an experiment that starts later is not in the data
        yet.

    Returns
    -------
    list of str
        The ids, sorted (missing ids ignored); empty without an assignments table.

    Examples
    --------
    >>> asg = pd.DataFrame({"experiment_id": ["a", "b", "c", None],
    ...                     "assigned_at": pd.to_datetime(["2026-06-01", "2026-06-02", "2026-08-01", None])})
    >>> unregistered(asg, ["a"]), unregistered(asg, ["a"], pd.Timestamp("2026-06-30"))
    (['b', 'c'], ['b'])
    """
    if assignments is None or "experiment_id" not in assignments.columns:
        return []
    ids = assignments["experiment_id"]
    if as_of is not None and "assigned_at" in assignments.columns:
        at = assignments["assigned_at"]
        ids = ids.loc[(asof.known(at, as_of) | at.isna()).to_numpy()]
    found = {str(x) for x in ids.dropna().unique()}
    return sorted(found - {str(r) for r in registered})


def unregistered_sentence(ids: Iterable[str]) -> str:
    """The line a report prints for :func:`unregistered` ids.

    Parameters
    ----------
    ids
        Unregistered experiment ids.

    Returns
    -------
    str
        One sentence naming them and the fix; empty text when there are none.

    Examples
    --------
    >>> unregistered_sentence(["exp-b"])
    'Experiment(s) in the data without a registration: exp-b (add params/experiments/<id>.yaml to read them out)'
    >>> unregistered_sentence([])
    ''
    """
    ids = list(ids)
    if not ids:
        return ""
    return (
        f"Experiment(s) in the data without a registration: {', '.join(ids)} "
        "(add params/experiments/<id>.yaml to read them out)"
    )
