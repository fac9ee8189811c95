"""Today's open leads, scored by the fitted model a chunk at a time (issue 17, the queue).

Design. :func:`open_leads` says who is on the queue: leads created by the analysis date that
have not reached the outcome stage or a closing stage (``lost``) by then, minus the ids the
caller excludes (competitors), and, with ``max_age_days``, only leads no older than that: a
landmark model has seen leads up to its oldest landmark age only, and older leads are outside
what it was fitted on. :func:`score_leads` builds each open lead's features at the analysis
date with the fitted population's :class:`~leadnb.scoring.model.features.FeatureSpec`, the
calibrated probabilities (:meth:`~leadnb.scoring.model.fit.FittedModels.predict`) and the
signed reasons (:func:`leadnb.scoring.queue.lead_reasons`), ``chunk_leads`` leads at a time:
only the small per-lead results are kept, so memory is bounded by the chunk, not by the number
of open leads (at a million leads, the features of every open lead at once took 4 GB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadnb import arrays, asof
from leadnb.errors import ParamsError
from leadnb.parallel import chunk_bounds, fork_map
from leadnb.scoring.model.features import FeatureSpec, features_at_decision
from leadnb.scoring.model.fit import FittedModels
from leadnb.scoring.queue import REASON_COLUMNS, lead_reasons
from leadnb.scoring.rules import FieldCondition, ScoringConfig

__all__ = ["SCORED_COLUMNS", "decided_risk", "lead_columns", "open_leads", "score_leads"]

SCORED_COLUMNS = ("lead_id", "p_convert", "log_odds", "points", "last_touch", *REASON_COLUMNS)
"""The columns of :func:`score_leads`."""


def open_leads(
    stage_dates: pd.DataFrame,
    *,
    as_of: Any,
    outcome_stage: str = "sql",
    closed_stages: Sequence[str] = ("lost",),
    exclude: Any = None,
    max_age_days: int | None = None,
) -> pd.DataFrame:
    """The leads still open on the analysis date, to be scored for the queue.

    A lead is open when it was created by the end of ``as_of`` (or has no creation date), has
    not reached ``outcome_stage`` nor any of ``closed_stages`` by then (a ``<stage>_at`` column
    that is missing counts as not reached), is not in ``exclude``, and, with ``max_age_days``,
    was created at most that many days before ``as_of`` (leads without a creation date stay).

    Parameters
    ----------
    stage_dates
        The wide stage-date frame: ``lead_id``, ``created_at``, ``<stage>_at`` columns.
    as_of
        The analysis date.
    outcome_stage
        The stage that counts as converted.
    closed_stages
        Stages after which a lead is no longer worked.
    exclude
        Lead ids to leave off (competitors), or None.
    max_age_days
        The oldest lead kept, in days since creation; None: every age.

    Returns
    -------
    pandas.DataFrame
        ``lead_id``, ``decision_at`` (``as_of``: scored with the whole analysis day),
        ``created_at``, in the order of ``stage_dates``, indexed by their row numbers there (as
        :func:`leadnb.scoring.calibration.decisions`: stage dates list the leads in their order,
        so these are the leads' rows, which :func:`score_leads` tries before looking ids up).

    Examples
    --------
    >>> sd = pd.DataFrame({"lead_id": ["a", "b", "c", "d", "e"],
    ...     "created_at": pd.to_datetime(["2026-06-01", "2026-06-02", "2025-01-01", "2026-06-03",
    ...                                   "2026-07-02"]),
    ...     "sql_at": pd.to_datetime([None, "2026-06-10", None, "2026-07-20", None]),
    ...     "lost_at": pd.to_datetime([None, None, None, None, None])})
    >>> open_leads(sd, as_of="2026-06-30", max_age_days=365)["lead_id"].tolist()
    ['a', 'd']
    """
    if max_age_days is not None and max_age_days < 0:
        raise ParamsError(f"max_age_days must be >= 0, got {max_age_days}")
    as_of = pd.Timestamp(as_of).normalize()
    end = asof.day_end(as_of)
    n = len(stage_dates)
    keep = np.ones(n, dtype=bool)
    created = (
        pd.Series(stage_dates["created_at"]).astype("datetime64[us]")
        if "created_at" in stage_dates.columns
        else pd.Series(pd.NaT, index=stage_dates.index, dtype="datetime64[us]")
    )
    keep &= ~(created >= end).to_numpy(dtype=bool)
    for stage in (outcome_stage, *closed_stages):
        col = f"{stage}_at"
        if col in stage_dates.columns:
            reached = pd.Series(stage_dates[col]).astype("datetime64[us]") < end
            keep &= ~reached.to_numpy(dtype=bool)
    if max_age_days is not None:
        too_old = created < as_of - pd.Timedelta(days=int(max_age_days))
        keep &= ~too_old.to_numpy(dtype=bool)
    ids = stage_dates["lead_id"].astype("str")
    if exclude is not None:
        # one Arrow hash pass (pandas' isin made a Python string of each of a million ids)
        gone = pd.Series(pd.Index(np.asarray(exclude, dtype=object)).astype("str"))
        keep &= ~arrays.in_set(ids, gone)
    rows = np.flatnonzero(keep)
    return pd.DataFrame(
        {
            "lead_id": ids[keep].to_numpy(),
            "decision_at": np.full(len(rows), as_of.to_datetime64()).astype("datetime64[us]"),
            "created_at": created[keep].to_numpy(),
        },
        index=rows,
    ).astype({"lead_id": "str"})


def score_leads(
    fitted: FittedModels,
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: pd.DataFrame,
    *,
    as_of: Any,
    spec: FeatureSpec,
    labels: Mapping[str, str] | None = None,
    model: str = "logistic",
    chunk_leads: int = 100_000,
    processes: int | None = None,
) -> pd.DataFrame:
    """Each decided lead's calibrated probability, log-odds, points, last touch and reasons,
    computed ``chunk_leads`` leads at a time, the chunks shared out over ``processes``.

    Per chunk: :func:`~leadnb.scoring.model.features.features_at_decision` with ``spec`` (the
    columns of the fitted population), ``model``'s calibrated probability as ``p_convert`` (the
    column of :meth:`FittedModels.predict`, without predicting the other models), the explained
    model's ``log_odds`` and
    :func:`~leadnb.scoring.queue.lead_reasons` from :attr:`FittedModels.coefficients` on the
    columns the model was fitted on. The result equals one call on every lead (tested).

    Parameters
    ----------
    fitted
        :func:`~leadnb.scoring.model.fit.fit_models` output.
    leads, events, config
        As for :func:`~leadnb.scoring.model.features.features_at_decision`.
    decisions
        ``lead_id`` and ``decision_at`` (:func:`open_leads`).
    as_of
        The analysis date.
    spec
        The fitted population's :attr:`Features.spec`.
    labels
        Feature name -> words, for reasons (:attr:`Features.labels`).
    model
        Which calibrated model gives ``p_convert``.
    chunk_leads
        Leads whose features are held at once.
    processes
        The most processes the chunks are shared out over (:func:`leadnb.parallel.fork_map`;
        default every core; 1 computes them all here).

    Returns
    -------
    pandas.DataFrame
        :data:`SCORED_COLUMNS`, one row per decision, in its order. ``last_touch`` is the
        decision time minus ``days_since_last_touch`` (the last event, else the creation), NaT
        when the model has no such column.
    """
    if chunk_leads < 1:
        raise ParamsError(f"chunk_leads must be >= 1, got {chunk_leads}")
    if model not in fitted.calibrated or model == "points":
        raise ParamsError(f"no fitted model {model!r}; fitted: {', '.join(fitted.calibrated)}")
    cols = list(fitted.features.columns)
    co = fitted.coefficients
    cut = None
    if len(decisions) > chunk_leads:
        cut = _ChunkCut(leads[lead_columns(leads, config, spec)], events, decisions)

    def one(bounds: tuple[int, int]) -> pd.DataFrame:  # a chunk of decisions, vectorised
        start, stop = bounds
        part = decisions.iloc[start:stop]
        own_leads, own_events = (leads, events) if cut is None else cut.of(start, len(part))
        f = features_at_decision(own_leads, own_events, config, part, as_of=as_of, spec=spec)
        x = f.frame[cols]
        p_model = fitted.calibrated[model].predict_proba(x)[:, 1]  # only the model asked for
        why = lead_reasons(x, mean=co["mean"], scale=co["scale"], coef=co["coef"], labels=labels)
        at = pd.Series(part["decision_at"]).astype("datetime64[us]").to_numpy()
        if "days_since_last_touch" in f.frame.columns:
            days = f.frame["days_since_last_touch"].to_numpy(dtype="float64")
            last = at - pd.to_timedelta(days, unit="D").to_numpy().astype("timedelta64[us]")
        else:
            last = np.full(len(part), np.datetime64("NaT", "us"))
        return pd.DataFrame(
            {
                # text stays Arrow text (.array): through Python objects and back it cost
                # 0.41 s at 611,050 open leads
                "lead_id": part["lead_id"].astype("str").array,
                "p_convert": p_model,
                "log_odds": fitted.log_odds(x).to_numpy(),
                "points": f.points.to_numpy(dtype="float64"),
                "last_touch": last,
                **{c: why[c].astype("str").array for c in REASON_COLUMNS},
            }
        )

    # the chunks on every core (leadnb.parallel), each process the same number of them
    chunks = chunk_bounds(len(decisions), chunk_leads, processes)
    parts = fork_map(one, chunks, processes=processes)
    if not parts:
        empty = {c: pd.Series(dtype="str") for c in SCORED_COLUMNS}
        empty |= {c: pd.Series(dtype="float64") for c in ("p_convert", "log_odds", "points")}
        empty["last_touch"] = pd.Series(dtype="datetime64[us]")
        return pd.DataFrame(empty)
    return pd.concat(parts, ignore_index=True)  # text columns are "str" already (above)


def lead_columns(leads: pd.DataFrame, config: ScoringConfig, spec: FeatureSpec) -> list[str]:
    """The columns of ``leads`` that :func:`features_at_decision` reads with ``spec``, in the
    table's order: the id, the creation date, the fields of the rules and of the spec, industry
    and account (the ICP and ABM flags). A chunk takes only these: the others (names, emails,
    phones) were a third of a chunk's time at a million leads, taken and never read.

    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "big", "category": "profile",
    ...     "when": {"field": "employees", "gte": 500}, "points": 5}]}, Path("."))
    >>> spec = FeatureSpec(windows=(7,), event_types=(), categorical={"country": ("de",)},
    ...     numeric={}, touch_fill=0.0, created_fill=0.0, target_industries=(), abm_accounts=(),
    ...     columns=())
    >>> leads = pd.DataFrame(columns=["lead_id", "name", "email", "country", "employees",
    ...                               "created_at", "title"])
    >>> lead_columns(leads, cfg, spec)
    ['lead_id', 'country', 'employees', 'created_at']
    """
    wanted = {"lead_id", "created_at", "industry", "account_id", *spec.categorical, *spec.numeric}
    wanted |= {r.when.field for r in config.rules if isinstance(r.when, FieldCondition)}
    return [c for c in leads.columns if c in wanted]


class _ChunkCut:
    """Each chunk's own leads and events, matched to the decisions once.

    Every feature of a lead comes from its own row and its own events, so a chunk needs only
    those: the lead ids of the events are looked up among the decided leads once (one hash
    pass over the events), and each chunk takes its rows by a mask over the decided leads, in
    the tables' order. Without the cut every chunk ran the engine over every event (at a
    million leads, each chunk of the 611,050 open leads read the 20.6 million events: the
    queue cell took 19.5 s, about 9 s with the cut). :func:`features_at_decision` cuts a
    single call the same way (``_of_decided``); this does the matching once for many chunks. The events' text columns are factorised once and a chunk
    gets them as categoricals (its lead ids as codes into its own leads): taking the text of
    a chunk's events costs about 0.8 s per 5 million rows, taking codes a few milliseconds.
    Leads that repeat an id, or decided leads missing from ``leads``, are left to
    :func:`features_at_decision` to refuse (no cut).
    """

    def __init__(
        self, leads: pd.DataFrame, events: pd.DataFrame | None, decisions: pd.DataFrame
    ) -> None:
        ids = decisions["lead_id"].astype("str")
        if ids.hasnans:  # a missing id is a key of its own, that no decision is matched to
            self.keys = pd.Index(pd.unique(ids))
            self.decision_key = np.asarray(arrays.index_positions(ids, self.keys), dtype="int64")
        else:  # each decided lead once (landmarks repeat them), in order: one hash pass
            codes, distinct = pd.factorize(ids)
            self.keys = pd.Index(distinct, dtype="str")
            self.decision_key = np.asarray(codes, dtype="int64")
        self.leads, self.events = leads, events
        self.lead_row: np.ndarray | None = None
        self.event_key: np.ndarray | None = None
        self.text: dict[str, tuple[np.ndarray, pd.Index]] = {}
        lead_ids = leads["lead_id"].astype("str")
        if not arrays.is_unique(lead_ids):
            return
        # decisions listing each lead once, indexed by the leads' rows (open_leads, decisions):
        # those rows are tried first (index_positions checks them, and their length)
        lead_index = pd.Index(lead_ids)
        guess = decisions.index.to_numpy()
        lead_row = np.asarray(arrays.index_positions(pd.Series(self.keys), lead_index, guess=guess))
        if (lead_row < 0).any() or self.keys.hasnans:
            return
        self.lead_row = lead_row.astype("int64")
        if events is None or "lead_id" not in events.columns:
            return
        event_ids = events["lead_id"]
        if isinstance(event_ids.dtype, pd.CategoricalDtype):
            # category -> lead row (looked up once per notebook, arrays' memo) -> key: the same
            # positions as looking 20 million ids up among the keys
            key_of_row = np.full(len(lead_ids) + 1, -1, dtype=np.int32)  # last: no lead
            key_of_row[self.lead_row] = np.arange(len(self.keys), dtype=np.int32)
            by_category = key_of_row[arrays.category_positions(event_ids, lead_index)]
            self.event_key = by_category[event_ids.cat.codes.to_numpy()]
        else:
            self.event_key = np.asarray(arrays.index_positions(event_ids, self.keys))
        for c in events.columns:
            col = events[c]
            if c != "lead_id" and pd.api.types.is_string_dtype(col.dtype):
                codes, distinct = arrays.text_codes(col)
                small = codes.astype(np.int32 if len(distinct) < 2**31 else np.int64)
                del codes  # int64 codes of 20 million events: 160 MB
                self.text[c] = (small, pd.Index(distinct, dtype="str"))

    def of(self, start: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The leads and events of decisions ``start`` to ``start + n``."""
        if self.lead_row is None:
            return self.leads, self.events
        mine = np.zeros(len(self.keys) + 1, dtype=bool)  # the last slot: events of no decision
        mine[self.decision_key[start : start + n]] = True
        leads = self.leads.take(np.sort(self.lead_row[mine[:-1]])).reset_index(drop=True)
        if self.events is None or self.event_key is None:
            return leads, self.events
        rows = np.flatnonzero(mine[self.event_key])  # -1 reads the last slot: False
        own = np.cumsum(mine[:-1]) - 1  # a decided lead's position among the chunk's leads
        columns: dict[str, Any] = {}
        for c in self.events.columns:
            if c == "lead_id":
                columns[c] = pd.Categorical.from_codes(
                    own[self.event_key[rows]], categories=self.keys[mine[:-1]]
                )
            elif c in self.text:
                codes, distinct = self.text[c]
                columns[c] = pd.Categorical.from_codes(codes[rows], categories=distinct)
            else:
                columns[c] = self.events[c].take(rows).array  # its own dtype
        return leads, pd.DataFrame(columns)


def decided_risk(
    fitted: FittedModels,
    frame: pd.DataFrame,
    rows: Any,
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    *,
    as_of: Any,
    spec: FeatureSpec,
    model: str = "logistic",
    chunk_leads: int = 100_000,
) -> np.ndarray:
    """The model's probability for the chosen decided leads, matured or censored, never from a
    model that saw the lead's outcome: for a censored-aware time-dependent AUC.

    ``frame`` is the :attr:`HorizonPopulation.frame` the model was fitted on (its matured rows,
    in order, are the fitted rows). A matured row gets its cross-fitted probability (out of
    fold); a censored row (its horizon not over, so never in training) gets the final model's
    probability at its decision time (:func:`score_leads`).

    Parameters
    ----------
    fitted
        :func:`~leadnb.scoring.model.fit.fit_models` output, fitted on ``frame``'s matured rows.
    frame
        The population frame (``lead_id``, ``decision_at``, ``matured``).
    rows
        A boolean mask over ``frame``: the rows wanted.
    leads, events, config, as_of, spec, model, chunk_leads
        As for :func:`score_leads`.

    Returns
    -------
    numpy.ndarray
        One probability per selected row, in ``frame``'s order.
    """
    mat = frame["matured"].to_numpy(dtype=bool)
    want = np.asarray(rows, dtype=bool)
    if len(want) != len(frame) or int(mat.sum()) != len(fitted.cross_fitted):
        raise ParamsError(
            "the population does not match the fitted model: pass the frame whose matured rows "
            "it was fitted on, and a mask over that frame"
        )
    if model not in fitted.cross_fitted.columns:
        raise ParamsError(
            f"the {model} model was not cross-fitted, so matured leads have no out-of-fold "
            f"probability from it; cross-fitted: {', '.join(fitted.cross_fitted.columns)}",
            fix="fit_models(..., cross_fit_check=True) cross-fits the gradient-boosted check too",
        )
    risk = np.full(len(frame), np.nan)
    pos = np.cumsum(mat) - 1
    old = want & mat
    risk[old] = fitted.cross_fitted[model].to_numpy()[pos[old]]
    young = want & ~mat
    if young.any():
        dec = frame.loc[young, ["lead_id", "decision_at"]].reset_index(drop=True)
        risk[young] = score_leads(fitted, leads, events, config, dec, as_of=as_of, spec=spec,
                                  model=model, chunk_leads=chunk_leads)["p_convert"].to_numpy()  # fmt: skip
    return risk[want]
