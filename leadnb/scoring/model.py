"""Beyond points: features known at each lead's decision time, two calibrated models, validation.

Design. Four steps, one function each, pure (frames in, frames or small typed records out), so
that the scoring notebook calls each in a line:

1. :func:`horizon_outcomes`: the outcome "reaches ``outcome_stage`` within ``horizon_days`` of
   the decision" (issue 17, item 4). A lead whose horizon has not ended by ``as_of`` is
   **censored**, not a failure: the models train on the matured leads only
   (:attr:`HorizonPopulation.matured`, exactly :func:`~leadnb.scoring.calibration.decision_outcomes`
   with ``horizon_days``), and the others are counted (:class:`HorizonCounts`). Every decided
   lead also gets its follow-up time and event indicator (``time_days``, ``event``) for a
   censoring-aware time-dependent AUC.
2. :func:`features_at_decision`: one row per decided lead, from what was known at its decision
   time only: the same cut as :func:`~leadnb.scoring.calibration.scores_at_decision` (an event
   counts when ``ts <= decision_at``, and never after the analysis day). Rule hits and category
   points come from the engine (:func:`~leadnb.scoring.calibration.scores_at_decision`), event
   counts by type in windows and the last touch from one vectorised pass over the events (each
   event's lead found by one Arrow hash, then ``np.add.at`` a piece at a time: no loop over
   leads), profile fields (categorical with rare levels pooled into ``other``, numeric with a
   missing indicator) and the ICP / ABM flags. Columns are named for a reader
   (``events_email_open_30d``, ``days_since_last_touch``, ``industry=software``); the
   :class:`FeatureSpec` learned on one population rebuilds the same columns for another (the
   leads on today's queue).
3. :func:`fit_models`: a regularised logistic regression (``StandardScaler`` +
   ``LogisticRegression``: the explained model) and a ``HistGradientBoostingClassifier`` (a
   check on what the straight lines miss), each calibrated out of sample by
   ``CalibratedClassifierCV`` (isotonic or Platt). Validation is out of sample: a time split when
   the leads have creation dates (train on earlier cohorts, test on the later ones), otherwise a
   seeded stratified split; and cross-fitted (out-of-fold) probabilities for every lead.
4. :func:`check_probabilities`, :func:`reliability_table`, :func:`validation_frame` and
   :func:`model_validation`: AUC with its DeLong interval
   (:func:`~leadnb.scoring.calibration.auc_with_ci`), Brier score and log loss against the base
   rate's, the calibration slope and intercept (logistic recalibration of the outcome on
   ``logit(p)``), a reliability table with Wilson intervals per bin; ``model_validation`` is the
   ``model_validation.csv`` table of the public contract.

The explained model is open: :class:`FittedModels` exposes the feature matrix, the
standardisation (mean and scale per column) and the coefficients, such that for every lead
``log-odds = intercept + sum(coef * (x - mean) / scale)`` (:meth:`FittedModels.log_odds`, tested
against ``predict_proba``). Each term is the feature's contribution relative to the average
lead of the fitted population.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.arrays import NAT_US, TextCodes, index_positions, text_codes, to_us
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.intervals import wilson
from leadnb.results import Column, Kind, Result, value
from leadnb.scoring import calibration as cal
from leadnb.scoring.engine import _cutoffs
from leadnb.scoring.rules import ScoringConfig

__all__ = [
    "HORIZON_DAYS",
    "MODELS",
    "MODEL_VALIDATION_COLUMNS",
    "RELIABILITY_COLUMNS",
    "FeatureSpec",
    "Features",
    "FittedModels",
    "HorizonCounts",
    "HorizonPopulation",
    "ModelCheck",
    "check_probabilities",
    "features_at_decision",
    "fit_models",
    "horizon_outcomes",
    "model_validation",
    "reliability_table",
    "validation_frame",
]

HORIZON_DAYS = 90
MODELS = ("logistic", "gradient_boosting", "points")
"""The models :func:`fit_models` can fit: the explained logistic regression, the gradient-boosted
check, and the points alone (a logistic fit on the score: the team's ranking, calibrated)."""
_US_PER_DAY = 86_400_000_000
_EPS = 1e-4  # probabilities are clipped to [_EPS, 1 - _EPS] for the logit and the log loss
_ISOTONIC_MIN = 1_000  # calibration-fold size from which isotonic beats Platt (see fit_models)


# --------------------------------------------------------------------------------------------
# 1. The outcome within a horizon, and censoring


@dataclass(frozen=True)
class HorizonCounts(Result):
    """How many decided leads can be judged on the horizon outcome, and how many are censored."""

    horizon_days: float = value(
        Kind.DAYS, "the outcome counts within this many days of the decision"
    )
    n_decided: int = value(Kind.COUNT, "leads with a decision time by the analysis date")
    n_matured: int = value(Kind.COUNT, "of them, leads whose whole horizon is known: judged")
    n_censored: int = value(Kind.COUNT, "leads whose horizon has not ended: left out of training")
    conversions: int = value(Kind.COUNT, "matured leads that reached the stage within the horizon")
    rate: float = value(Kind.RATE, "conversion within the horizon among matured leads")


@dataclass(frozen=True)
class HorizonPopulation:
    """Every decided lead with its horizon outcome, follow-up time and event indicator.

    ``frame`` has one row per decided lead (the order of
    :func:`~leadnb.scoring.calibration.decision_outcomes`):

    * ``lead_id``, ``decision_at`` (datetime64[us]);
    * ``time_days``: days from the decision to reaching the stage when it was reached by the
      analysis date, else to the end of the analysis day (the censoring time); 0 when the stage
      was reached at or before the decision (possible with ``decision="at_mql"``); NaN without
      stage history;
    * ``event``: 1.0 when the stage was reached by the analysis date, else 0.0 (censored at
      ``time_days``). ``(event, time_days)`` is what scikit-survival's
      ``Surv.from_arrays(event, time)`` and ``cumulative_dynamic_auc`` take;
    * ``matured``: the whole horizon (``decision_at + horizon_days``) is known by the analysis
      date;
    * ``outcome``: reached the stage within the horizon (1.0/0.0) for matured leads, NaN for
      censored ones.
    """

    frame: pd.DataFrame
    counts: HorizonCounts

    @property
    def matured(self) -> pd.DataFrame:
        """The training population: ``lead_id``, ``decision_at``, ``outcome`` of the matured
        leads (equal to ``decision_outcomes(..., horizon_days=H)``)."""
        keep = self.frame["matured"].to_numpy(dtype=bool)
        out = self.frame.loc[keep, ["lead_id", "decision_at", "outcome"]]
        return out.reset_index(drop=True)

    def sentence(self) -> str:
        """The censoring in one sentence, for the report."""
        c = self.counts
        if c.n_censored == 0:
            return f"All {c.shown('n_decided')} decided leads have a known outcome."
        return (
            f"{c.shown('n_censored')} of {c.shown('n_decided')} decided leads are younger than "
            f"the {c.shown('horizon_days')} horizon at the analysis date: they are censored (their "
            f"outcome is not known yet), not counted as failures, and left out of training."
        )


def horizon_outcomes(
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    decision: Literal["at_mql", "at_created_plus_days", "as_of"] = "at_mql",
    outcome_stage: str = "sql",
    days: int = 30,
    horizon_days: int = HORIZON_DAYS,
    leads: pd.DataFrame | None = None,
) -> HorizonPopulation:
    """Each decided lead's outcome "reaches ``outcome_stage`` within ``horizon_days``", and its
    censoring time.

    The decided leads and their decision times are those of
    :func:`~leadnb.scoring.calibration.decision_outcomes`; a lead is **matured** when
    ``decision_at + horizon_days`` is on or before the analysis day, and only matured leads get
    an outcome (``reached < decision_at + horizon_days``). Without stage history (only
    ``leads.converted``) there are no dates: every lead counts as matured with its ``converted``
    value, and ``time_days`` is NaN.

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`), or None.
    as_of
        The analysis date.
    decision, outcome_stage, days, leads
        As in :func:`~leadnb.scoring.calibration.decision_outcomes`.
    horizon_days
        The horizon H, in days (default 90).

    Returns
    -------
    HorizonPopulation
        ``frame`` (``lead_id``, ``decision_at``, ``time_days``, ``event``, ``matured``,
        ``outcome``), ``counts`` (:class:`HorizonCounts`), ``matured`` (the training population).

    Raises
    ------
    ParamsError
        ``horizon_days`` is not positive.
    DataError
        Repeated lead ids in ``stage_dates``.

    Examples
    --------
    >>> sd = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...     "created_at": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-06-01"]),
    ...     "sql_at": pd.to_datetime(["2026-02-01", "2026-06-01", None])})
    >>> pop = horizon_outcomes(sd, as_of=pd.Timestamp("2026-06-30"),
    ...                        decision="at_created_plus_days", days=7, horizon_days=90)
    >>> pop.frame[["lead_id", "time_days", "event", "matured", "outcome"]]
      lead_id  time_days  event  matured  outcome
    0       a       24.0    1.0     True      1.0
    1       b      144.0    1.0     True      0.0
    2       c       23.0    0.0    False      NaN
    >>> pop.counts.n_censored
    1
    """
    if not (isinstance(horizon_days, int | float) and horizon_days > 0):
        raise ParamsError(
            f"horizon_days must be a positive number of days, got {horizon_days!r}",
            fix="set scoring_calibration.horizon_days: 90",
        )
    as_of = pd.Timestamp(as_of)
    dec = cal.decision_outcomes(
        stage_dates, as_of=as_of, decision=decision, outcome_stage=outcome_stage, days=days,
        leads=leads,
    )  # fmt: skip
    col = f"{outcome_stage}_at"
    n = len(dec)
    if stage_dates is None or col not in stage_dates.columns:
        frame = dec.assign(time_days=np.nan, event=dec["outcome"], matured=True)
    else:
        sd_ids = pd.Index(stage_dates["lead_id"].astype("str"))
        if not sd_ids.is_unique:
            raise DataError(
                "the stage-date frame repeats lead ids, so each decided lead's stage date is "
                "ambiguous",
                table="the stage dates",
                column="lead_id",
                rows=pd.Series(sd_ids[sd_ids.duplicated()].unique()[:5], name="lead_id"),
                fix="build it with leadnb.funnel.stages.stage_dates from leads with unique lead_id",
            )
        pos = np.asarray(index_positions(dec["lead_id"], sd_ids), dtype="int64")
        reached = to_us(stage_dates[col])[pos]
        at = to_us(dec["decision_at"])
        end = to_us([asof.day_end(as_of)])[0]
        event = (reached != NAT_US) & (reached < end)
        stop = np.where(event, reached, end)
        h_us = int(round(float(horizon_days) * _US_PER_DAY))
        matured = at + h_us < end  # asof.known(decision_at + H)
        within = event & (reached < at + h_us)
        frame = pd.DataFrame(
            {
                "lead_id": dec["lead_id"],
                "decision_at": dec["decision_at"],
                "time_days": np.maximum(stop - at, 0) / _US_PER_DAY,
                "event": event.astype("float64"),
                "matured": matured,
                "outcome": np.where(matured, within.astype("float64"), np.nan),
            }
        )
    frame = frame[["lead_id", "decision_at", "time_days", "event", "matured", "outcome"]]
    m = frame["matured"].to_numpy(dtype=bool)
    conv = int(np.nansum(frame["outcome"].to_numpy(dtype="float64")[m]))
    counts = HorizonCounts(
        horizon_days=float(horizon_days),
        n_decided=n,
        n_matured=int(m.sum()),
        n_censored=int(n - m.sum()),
        conversions=conv,
        rate=conv / int(m.sum()) if m.any() else float("nan"),
    )
    return HorizonPopulation(frame=frame.reset_index(drop=True), counts=counts)


# --------------------------------------------------------------------------------------------
# 2. Features at decision time


@dataclass(frozen=True)
class FeatureSpec:
    """What a feature frame is made of, learned on one population and reusable on another.

    Passing it back to :func:`features_at_decision` (``spec=``) gives the same columns, in the
    same order, with the same pooled levels and fill values: the features of today's leads for a
    model fitted on the matured ones.
    """

    windows: tuple[int, ...]
    event_types: tuple[str, ...]
    categorical: Mapping[str, tuple[str, ...]]  # field -> its kept levels (normalised text)
    numeric: Mapping[str, float]  # field -> the value a missing one is filled with (median)
    touch_fill: float  # days since the last touch when neither an event nor a creation date
    created_fill: float  # days since creation when there is no creation date
    target_industries: tuple[str, ...]
    abm_accounts: tuple[str, ...]
    columns: tuple[str, ...]  # the kept columns, in order


@dataclass(frozen=True)
class Features:
    """The feature matrix of :func:`features_at_decision`.

    ``frame``: one row per decided lead (index ``lead_id``, in the order of the decisions), one
    float column per feature. ``labels``: each column in plain words (for reasons and tables).
    ``dropped``: columns left out because they were constant or repeated an earlier column
    exactly (with the column they repeat). ``spec``: see :class:`FeatureSpec`.
    """

    frame: pd.DataFrame
    labels: Mapping[str, str]
    dropped: Mapping[str, str]
    spec: FeatureSpec

    def describe(self) -> pd.DataFrame:
        """One row per column: ``feature``, ``label``, ``mean``, ``share_nonzero``."""
        x = self.frame.to_numpy(dtype="float64")
        return pd.DataFrame(
            {
                "feature": list(self.frame.columns),
                "label": [self.labels[c] for c in self.frame.columns],
                "mean": x.mean(axis=0) if len(x) else np.nan,
                "share_nonzero": (x != 0).mean(axis=0) if len(x) else np.nan,
            }
        )


def _norm_text(distinct: pd.Series) -> pd.Series:
    """Distinct text values stripped and case-folded; empty text is missing."""
    out = distinct.astype("str").str.strip().str.casefold()
    return out.mask(out == "")


def _type_names(events: pd.DataFrame) -> tuple[str, ...]:
    """The distinct event types, sorted (one hash pass over the column)."""
    uniq = pd.Series(events["event_type"].unique()).dropna().astype("str")
    return tuple(sorted(set(uniq) - {""}))


def _event_pass(
    events: pd.DataFrame,
    ids: pd.Index,
    types: Sequence[str],
    windows: Sequence[int],
    limit: np.ndarray,
    ref: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per decided lead: events of each type in each window before its decision (int32, one
    ``(n_leads, n_types)`` array per window), and its last event time (int64 us, NAT_US when
    none). An event counts when ``ts <= limit`` of its lead; its age is ``ref - ts``."""
    require_columns(events, ["lead_id", "ts", "event_type"], table="events")
    n, k = len(ids), len(types)
    counts = [np.zeros(n * k, dtype="int32") for _ in windows]
    last = np.full(n, NAT_US, dtype="int64")
    pos = index_positions(events["lead_id"], ids)
    ts = to_us(events["ts"])
    w_us = [int(w) * _US_PER_DAY for w in windows]
    for start, code in TextCodes(events["event_type"], pd.Index(list(types), dtype="str")).pieces():
        p = pos[start : start + len(code)]
        t = ts[start : start + len(code)]
        ok = np.flatnonzero((p >= 0) & (t != NAT_US))
        p, t, c = p[ok].astype("int64"), t[ok], code[ok]
        before = t <= limit[p]
        p, t, c = p[before], t[before], c[before]
        np.maximum.at(last, p, t)
        known = c >= 0
        p, t, c = p[known], t[known], c[known].astype("int64")
        age = np.maximum(ref[p] - t, 0)
        key = p * k + c
        for out, w in zip(counts, w_us, strict=True):
            np.add.at(out, key[age <= w], 1)
    return [c.reshape(n, k) for c in counts], last


def features_at_decision(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    windows: Sequence[int] = (7, 30, 90),
    event_types: Sequence[str] | None = None,
    profile_fields: Sequence[str] = (),
    min_level_share: float = 0.01,
    target_industries: Sequence[str] = (),
    abm_accounts: Sequence[str] = (),
    spec: FeatureSpec | None = None,
) -> Features:
    """One row per decided lead, from what was known at its decision time only.

    An event counts when ``ts <= decision_at`` (and never after the analysis day), the cut of
    :func:`~leadnb.scoring.calibration.scores_at_decision`; windows and recency are measured
    back from the decision time. Columns (float):

    * ``points:<category>``: the category's points at the decision (the engine's, after caps);
    * ``rule:<name>``: 1.0 when the rule had fired by the decision (a hit, not its points:
      the points are in the category columns);
    * ``events_<type>_<w>d``: events of that type in the ``w`` days up to the decision;
    * ``days_since_last_touch``: days from the last event before the decision (or, with none,
      from the lead's creation, as the SDR list counts its last touch) to the decision; and
      ``never_touched`` (1.0: no event before the decision);
    * ``days_since_created`` and ``created_at_missing``, when leads have ``created_at``;
    * each of ``profile_fields``: a text field as one 0/1 column per level (``industry=software``;
      levels held by fewer than ``min_level_share`` of the leads are pooled into
      ``<field>=other``, missing values are ``<field>=missing``; text is compared stripped and
      case-folded), a numeric or yes/no field as it is (``<field>``, missing values filled with
      the median) with ``<field>_missing``. Profile fields are the CRM's current values: name
      only fields set when the lead is created (a field sales fills in after the call leaks the
      outcome);
    * ``icp_industry`` (industry in ``target_industries``) and ``abm_account`` (account on the
      ABM list), when given and the column exists.

    Columns that are constant, or repeat an earlier column exactly (e.g. the 30- and 90-day
    counts when every decision falls within a week of creation), are left out and listed in
    ``dropped``. With ``spec`` (from an earlier call) the columns, pooled levels and fill values
    are those of the spec and nothing is dropped; the other feature options are ignored.

    Parameters
    ----------
    leads, events
        The leads table (``lead_id`` unique) and the events table (or None).
    config
        The parsed scoring rules.
    decisions
        ``lead_id`` (unique, every one in ``leads``) and ``decision_at``: e.g.
        :attr:`HorizonPopulation.matured` or
        :func:`~leadnb.scoring.calibration.decision_outcomes`.
    as_of
        The analysis date.
    windows
        Event-count windows, in days.
    event_types
        The event types to count; None: every type in ``events``.
    profile_fields
        Columns of ``leads`` to use as they are.
    min_level_share
        Text levels rarer than this share of the decided leads are pooled into ``other``.
    target_industries, abm_accounts
        The ICP (see :func:`leadnb.scoring.segments.high_quality_leads`).
    spec
        Rebuild the columns of an earlier population (:attr:`Features.spec`).

    Returns
    -------
    Features
        ``frame`` (index ``lead_id``), ``labels``, ``dropped``, ``spec``.

    Raises
    ------
    DataError
        Repeated lead ids, decided leads missing from ``leads``, or a profile field that is
        not a column of ``leads``.
    ParamsError
        A window that is not a positive whole number of days, or a date profile field.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "demo", "category": "tags",
    ...     "when": {"event_type": "demo_request"}, "points": 10}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...                       "industry": ["Software", "retail", "software "]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b", "c", "c"],
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-01-20", "2026-01-25",
    ...                           "2026-01-28"]),
    ...     "event_type": ["demo_request", "content_read", "content_read", "content_read",
    ...                    "content_read"]})
    >>> dec = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...                     "decision_at": pd.to_datetime(["2026-02-01"] * 3)})
    >>> f = features_at_decision(leads, ev, cfg, dec, as_of=pd.Timestamp("2026-06-30"),
    ...                          windows=(30,), profile_fields=["industry"])
    >>> f.frame.T
    lead_id                     a     b    c
    points:tags              10.0   0.0  0.0
    events_content_read_30d   0.0   1.0  2.0
    days_since_last_touch    31.0  12.0  4.0
    industry=software         1.0   0.0  1.0
    >>> f.dropped["rule:demo"], f.dropped["industry=retail"], f.dropped["never_touched"]
    ('points:tags', 'industry=software', 'constant')
    >>> f.labels["events_content_read_30d"]
    'content read events in the 30 days before'
    """
    require_columns(decisions, ["lead_id", "decision_at"], table="decisions")
    require_columns(leads, ["lead_id"], table="leads")
    as_of = pd.Timestamp(as_of)
    if spec is not None:
        windows, profile = spec.windows, [*spec.categorical, *spec.numeric]
        target_industries, abm_accounts = spec.target_industries, spec.abm_accounts
    else:
        profile = list(dict.fromkeys(profile_fields))
    windows = tuple(windows)
    if any(not isinstance(w, int | np.integer) or w <= 0 for w in windows):
        raise ParamsError(
            f"feature windows must be positive whole numbers of days, got {list(windows)}",
            fix="e.g. windows: [7, 30, 90]",
        )
    windows = tuple(sorted(set(int(w) for w in windows)))
    ids = pd.Index(decisions["lead_id"].astype("str"), name="lead_id")
    lead_ids = pd.Index(leads["lead_id"].astype("str"))
    for what, idx in (("decisions", ids), ("leads", lead_ids)):
        if not idx.is_unique:
            raise DataError(
                f"{what} repeat lead ids; each lead needs one row",
                table=what,
                column="lead_id",
                rows=pd.Series(idx[idx.duplicated()].unique()[:5], name="lead_id"),
                fix="make lead_id unique (leadnb validate lists repeated ids)",
            )
    lead_pos = np.asarray(index_positions(decisions["lead_id"], lead_ids), dtype="int64")
    if (lead_pos < 0).any():
        missing = ids[lead_pos < 0]
        raise DataError(
            f"{len(missing)} decided lead(s) are not in the leads table",
            table="decisions",
            column="lead_id",
            rows=pd.Series(missing[:5], name="lead_id"),
            count=len(missing),
            fix="build the decisions from the same leads (decision_outcomes on their stage dates)",
        )
    for f in profile:
        require_columns(
            leads, [f], table="leads",
            fix=f"remove {f} from the profile fields, or map the column in data.leads.columns",
        )  # fmt: skip
    n = len(ids)
    at = pd.Series(to_us(decisions["decision_at"]).view("datetime64[us]"), index=ids)
    limit, ref = _cutoffs(pd.DataFrame({"lead_id": ids}), as_of, at)  # the engine's cut
    cols: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}

    # rule hits and category points, from the engine at each lead's decision time
    sc = cal.scores_at_decision(leads, events, config, decisions[["lead_id", "decision_at"]], as_of)
    for cat in config.categories:
        cols[f"points:{cat}"] = sc[cat].to_numpy(dtype="float64")
        labels[f"points:{cat}"] = f"{cat.replace('_', ' ')} points"
    for r in config.rules:
        cols[f"rule:{r.name}"] = (sc[r.column].to_numpy() != 0).astype("float64")
        labels[f"rule:{r.name}"] = r.name
    del sc

    # events by type in windows, and the last touch
    types: tuple[str, ...] = ()
    if spec is not None:
        types = spec.event_types
    elif events is not None and len(events):
        types = tuple(event_types) if event_types is not None else _type_names(events)
    last = np.full(n, NAT_US, dtype="int64")
    if events is not None and len(events) and n:
        counts, last = _event_pass(events, ids, types, windows, limit, ref)
    else:
        counts = [np.zeros((n, len(types)), dtype="int32") for _ in windows]
    for j, t in enumerate(types):
        for w, c in zip(windows, counts, strict=True):
            name = f"events_{t}_{w}d"
            cols[name] = c[:, j].astype("float64")
            labels[name] = f"{t.replace('_', ' ')} events in the {w} days before"
    del counts
    created = None
    if "created_at" in leads.columns:
        created = to_us(pd.to_datetime(leads["created_at"]))[lead_pos]
    touched = last != NAT_US
    since = np.where(touched, (ref - last) / _US_PER_DAY, np.nan)
    if created is not None:
        ok = ~touched & (created != NAT_US) & (created <= ref)
        since = np.where(ok, (ref - created) / _US_PER_DAY, since)
    touch_fill = spec.touch_fill if spec is not None else _median(since)
    cols["days_since_last_touch"] = np.where(np.isnan(since), touch_fill, since)
    labels["days_since_last_touch"] = "days since the last touch"
    cols["never_touched"] = (~touched).astype("float64")
    labels["never_touched"] = "no activity before the decision"
    created_fill = spec.created_fill if spec is not None else 0.0
    if created is not None:
        age = np.where(created != NAT_US, (ref - created) / _US_PER_DAY, np.nan)
        if spec is None:
            created_fill = _median(age)
        cols["days_since_created"] = np.where(np.isnan(age), created_fill, age)
        labels["days_since_created"] = "days since the lead was created"
        cols["created_at_missing"] = np.isnan(age).astype("float64")
        labels["created_at_missing"] = "no creation date"

    # profile fields as they are
    categorical: dict[str, tuple[str, ...]] = {}
    numeric: dict[str, float] = {}
    for f in profile:
        s = leads[f]
        if pd.api.types.is_datetime64_any_dtype(s):
            raise ParamsError(
                f"profile field {f} is a date; the model takes text and numbers as they are",
                fix=f"remove {f} from the profile fields (dates after creation can leak the "
                "outcome)",
            )
        is_num = pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        if spec is not None:
            is_num = f in spec.numeric
        if is_num:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            x = x[lead_pos]
            fill = spec.numeric[f] if spec is not None else _median(x)
            numeric[f] = fill
            cols[f] = np.where(np.isnan(x), fill, x)
            labels[f] = f.replace("_", " ")
            cols[f"{f}_missing"] = np.isnan(x).astype("float64")
            labels[f"{f}_missing"] = f"no {f.replace('_', ' ')}"
            continue
        codes, distinct = text_codes(s)
        norm = _norm_text(distinct)
        lead_codes = codes[lead_pos]
        level_of = np.append(norm.to_numpy(dtype=object), None)[lead_codes]  # per distinct
        if spec is not None:
            kept = spec.categorical[f]
        else:
            shares = pd.Series(level_of, dtype="str").value_counts(normalize=True, dropna=True)
            shares = shares[shares >= min_level_share]
            kept = tuple(sorted(shares.index, key=lambda v: (-shares[v], v)))
            kept = tuple(v for v in kept if v not in ("other", "missing"))
        categorical[f] = kept
        levels = [*kept, "other", "missing"]
        where_ = {v: i for i, v in enumerate(kept)}
        # each distinct value's column, then spread to the leads by code (no text per lead)
        per_distinct = np.array(
            [len(kept) + 1 if pd.isna(v) else where_.get(v, len(kept)) for v in norm],
            dtype="int64",
        )
        col_of = np.append(per_distinct, len(kept) + 1)[lead_codes]
        onehot = np.zeros((n, len(levels)), dtype="float64")
        onehot[np.arange(n), col_of] = 1.0
        for i, v in enumerate(levels):
            cols[f"{f}={v}"] = onehot[:, i]
            labels[f"{f}={v}"] = f"{f.replace('_', ' ')}: {v}"

    # ICP and ABM flags
    inds = tuple(sorted({str(v).strip().casefold() for v in target_industries if str(v).strip()}))
    accts = tuple(sorted({str(v).strip() for v in abm_accounts if str(v).strip()}))
    if inds and "industry" in leads.columns:
        codes, distinct = text_codes(leads["industry"])
        hit = _norm_text(distinct).isin(inds).to_numpy(dtype=bool)
        cols["icp_industry"] = np.append(hit, False)[codes[lead_pos]].astype("float64")
        labels["icp_industry"] = "in a target industry"
    if accts and "account_id" in leads.columns:
        codes, distinct = text_codes(leads["account_id"])
        hit = distinct.astype("str").str.strip().isin(accts).to_numpy(dtype=bool)
        cols["abm_account"] = np.append(hit, False)[codes[lead_pos]].astype("float64")
        labels["abm_account"] = "account on the ABM list"

    dropped: dict[str, str] = {}
    if spec is not None:
        absent = [c for c in spec.columns if c not in cols]
        if absent:
            raise DataError(
                f"these feature columns of the fitted population cannot be rebuilt: "
                f"{', '.join(absent[:5])}",
                fix="build both populations with the same scoring rules and leads columns",
            )
        keep = list(spec.columns)
    else:
        keep, dropped = _informative(cols)
    frame = pd.DataFrame({c: cols[c] for c in keep}, index=ids)
    new_spec = FeatureSpec(
        windows=windows, event_types=types, categorical=categorical, numeric=numeric,
        touch_fill=touch_fill, created_fill=created_fill, target_industries=inds,
        abm_accounts=accts, columns=tuple(keep),
    )  # fmt: skip
    return Features(
        frame=frame, labels={c: labels[c] for c in keep}, dropped=dropped, spec=new_spec
    )


def _median(x: np.ndarray) -> float:
    """The median of the non-missing values (0.0 when there are none)."""
    ok = x[~np.isnan(x)]
    return float(np.median(ok)) if len(ok) else 0.0


def _informative(cols: Mapping[str, np.ndarray]) -> tuple[list[str], dict[str, str]]:
    """The columns that vary and are not a linear copy of an earlier column; the others, each
    with why (``constant``, or the column it repeats).

    A copy is the same column up to scale and shift, either way up (``points:tags`` when one
    rule of 10 points is the category's only rule; ``x=a`` and ``x=b`` for a field with two
    levels): both would share one effect between them, and the reasons would halve it.
    """
    keep: list[str] = []
    dropped: dict[str, str] = {}
    seen: dict[int, list[str]] = {}
    shapes: dict[str, np.ndarray] = {}
    for name, x in cols.items():
        lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 0.0)
        if hi == lo:
            dropped[name] = "constant"
            continue
        u = (x - lo) / (hi - lo)
        if u[0] > 0.5:
            u = 1.0 - u  # the same shape either way up
        h = int(pd.util.hash_array(np.ascontiguousarray(u)).sum(dtype="uint64"))
        twin = next((o for o in seen.get(h, []) if np.array_equal(shapes[o], u)), None)
        if twin is not None:
            dropped[name] = twin
            continue
        seen.setdefault(h, []).append(name)
        shapes[name] = u
        keep.append(name)
    return keep, dropped


# --------------------------------------------------------------------------------------------
# 3. Fitting: logistic regression, gradient boosting, calibrated out of sample


@dataclass
class FittedModels:
    """The fitted models and their out-of-sample probabilities (:func:`fit_models`).

    Attributes
    ----------
    features
        The feature matrix the models were fitted on (index ``lead_id``).
    outcome
        The 0/1 outcome, indexed like ``features``.
    split
        ``"train"`` or ``"test"`` per lead (the validation split), indexed like ``features``.
    split_kind
        ``"time"`` (train on leads created before ``split_at``, test on the later ones) or
        ``"stratified"`` (a seeded stratified random split).
    split_at
        The first creation day of the test cohorts (time split), else None.
    calibration
        ``"isotonic"`` or ``"sigmoid"`` (Platt).
    logistic
        The explained model: ``Pipeline([("scale", StandardScaler()), ("logit",
        LogisticRegression())])`` fitted on every lead (uncalibrated).
    calibrated
        Model name -> ``CalibratedClassifierCV`` fitted on every lead: the probabilities for
        new leads (:meth:`predict`).
    test
        The calibrated probability of each test lead from models fitted on the train split
        (index ``lead_id``, one column per model).
    cross_fitted
        The calibrated probability of every lead from models that never saw it (``n_folds``
        out-of-fold fits; index ``lead_id``, one column per model).
    points
        The score per lead when the points model was fitted, else None.
    """

    features: pd.DataFrame
    outcome: pd.Series
    split: pd.Series
    split_kind: str
    split_at: pd.Timestamp | None
    calibration: str
    logistic: Any
    calibrated: dict[str, Any]
    test: pd.DataFrame
    cross_fitted: pd.DataFrame
    points: pd.Series | None = None
    seed: int = 0
    models: tuple[str, ...] = field(default=())

    @property
    def standardisation(self) -> pd.DataFrame:
        """``mean`` and ``scale`` per feature (the ``StandardScaler`` of :attr:`logistic`),
        indexed by feature name."""
        scaler = self.logistic.named_steps["scale"]
        return pd.DataFrame(
            {"mean": scaler.mean_, "scale": scaler.scale_},
            index=pd.Index(self.features.columns, name="feature"),
        )

    @property
    def coefficients(self) -> pd.DataFrame:
        """Per feature: ``mean``, ``scale`` and ``coef`` (log-odds per standard deviation), such
        that ``log-odds = intercept + sum(coef * (x - mean) / scale)``; ``odds_ratio`` is
        ``exp(coef)``."""
        out = self.standardisation
        out["coef"] = self.logistic.named_steps["logit"].coef_[0]
        out["odds_ratio"] = np.exp(out["coef"])
        return out

    @property
    def intercept(self) -> float:
        """The log-odds of a lead with every feature at its mean."""
        return float(self.logistic.named_steps["logit"].intercept_[0])

    def log_odds(self, features: pd.DataFrame) -> pd.Series:
        """``intercept + sum(coef * (x - mean) / scale)`` per lead: the explained model's
        log-odds (its uncalibrated ``logit(predict_proba)``), computed from the exposed
        numbers."""
        c = self.coefficients
        x = features[list(c.index)].to_numpy(dtype="float64")
        z = (x - c["mean"].to_numpy()) / c["scale"].to_numpy()
        return pd.Series(self.intercept + z @ c["coef"].to_numpy(), index=features.index,
                         name="log_odds")  # fmt: skip

    def predict(self, features: pd.DataFrame, points: Any = None) -> pd.DataFrame:
        """Calibrated probabilities of new leads (built with the same :class:`FeatureSpec`),
        one column per model (``points``: their scores, for the points model), and
        ``log_odds`` of the explained model."""
        x = features[list(self.features.columns)]
        out = pd.DataFrame(index=features.index)
        for name, model in self.calibrated.items():
            if name == "points":
                if points is None:
                    continue
                xp = _points_frame(points, features.index)
                out[name] = model.predict_proba(xp)[:, 1]
            else:
                out[name] = model.predict_proba(x)[:, 1]
        out["log_odds"] = self.log_odds(x)
        return out


def _points_frame(points: Any, index: pd.Index) -> pd.DataFrame:
    s = np.asarray(pd.to_numeric(pd.Series(np.asarray(points)), errors="coerce"), dtype="float64")
    if len(s) != len(index) or np.isnan(s).any():
        raise DataError(
            "points must be one number per lead, without missing values",
            fix="pass the score column of the same leads",
        )
    return pd.DataFrame({"score": s}, index=index)


def _estimators(name: str, *, seed: int, C: float) -> Any:
    """One unfitted model."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if name in ("logistic", "points"):
        return Pipeline(
            [("scale", StandardScaler()), ("logit", LogisticRegression(C=C, max_iter=5000))]
        )
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.1,
        n_iter_no_change=20, random_state=seed,
    )  # fmt: skip


def fit_models(
    features: pd.DataFrame | Features,
    outcome: Any,
    *,
    created_at: Any = None,
    points: Any = None,
    models: Sequence[str] = ("logistic", "gradient_boosting"),
    seed: int = 0,
    test_share: float = 0.25,
    n_folds: int = 5,
    calibration: Literal["auto", "isotonic", "sigmoid"] = "auto",
    calibration_folds: int = 3,
    C: float = 1.0,
    threads: int | None = 1,
) -> FittedModels:
    """Fit the explained logistic model and the gradient-boosted check, calibrated out of
    sample, with a held-out validation split and cross-fitted probabilities for every lead.

    * Models: ``logistic`` (``StandardScaler`` + L2-regularised ``LogisticRegression``, strength
      ``1 / C``), ``gradient_boosting`` (``HistGradientBoostingClassifier`` with early stopping),
      and, when ``points`` is given, ``points`` (the same logistic model on the score alone: the
      team's ranking as a calibrated probability, for a fair comparison).
    * Calibration: each model is wrapped in ``CalibratedClassifierCV`` (``calibration_folds``
      seeded stratified folds: each copy is calibrated on the fold it did not see, and the
      copies' probabilities are averaged). ``auto``: isotonic when each calibration fold holds
      at least 1,000 leads, else Platt's sigmoid (isotonic regression overfits smaller
      calibration sets: Niculescu-Mizil & Caruana 2005).
    * Validation split: with a creation date for every lead, a **time split**: the test set is
      the latest cohorts (whole creation days) holding about ``test_share`` of the leads, the
      train set everything created before; otherwise a seeded stratified split.
    * Cross-fitted probabilities: ``n_folds`` seeded stratified folds; each lead's probability
      comes from a calibrated model fitted on the other folds (``cross_val_predict``).
    * Final models (:attr:`FittedModels.calibrated`, :attr:`FittedModels.logistic`): fitted on
      every lead, for new leads.

    Parameters
    ----------
    features
        The feature matrix (:attr:`Features.frame`, or :class:`Features`), one row per lead.
    outcome
        One 0/1 outcome per row of ``features`` (aligned by position).
    created_at
        Each lead's creation time (aligned by position), for the time split; None: stratified.
    points
        Each lead's score (aligned by position), to fit the points model; None: not fitted.
    models
        Which of ``logistic`` and ``gradient_boosting`` to fit (``points`` follows ``points``).
    seed
        Seed of every split and of the gradient boosting.
    test_share
        Share of leads held out for the test split.
    n_folds
        Folds of the cross-fitted probabilities.
    calibration
        ``auto``, ``isotonic`` or ``sigmoid``.
    calibration_folds
        Folds of ``CalibratedClassifierCV``.
    C
        Inverse regularisation strength of the logistic models.
    threads
        OpenMP and BLAS threads while fitting (``threadpoolctl``); None leaves the process's
        setting. One by default: a run's parallelism is its notebooks, and the gradient
        boosting's OpenMP threads on a busy two-core machine made a 3,000-lead fit 57 times
        slower (11.4 s against 0.2 s).

    Returns
    -------
    FittedModels

    Raises
    ------
    NotEnoughData
        Too few leads of either outcome for the folds, or a split without both outcomes.
    ParamsError
        An unknown model or calibration method, or a share or fold count out of range.
    DataError
        Features with missing values, or an outcome that is not 0/1.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
    from threadpoolctl import threadpool_limits

    X = features.frame if isinstance(features, Features) else features
    X = X.astype("float64")
    wanted = list(dict.fromkeys(models))
    unknown = [m for m in wanted if m not in ("logistic", "gradient_boosting")]
    if unknown or "logistic" not in wanted:
        raise ParamsError(
            f"models must include logistic and may add gradient_boosting, got {list(models)}",
            fix='models=("logistic", "gradient_boosting")',
        )
    if calibration not in ("auto", "isotonic", "sigmoid"):
        raise ParamsError(f"calibration must be auto, isotonic or sigmoid, got {calibration!r}")
    if not 0 < test_share < 1:
        raise ParamsError(f"test_share must be between 0 and 1, got {test_share!r}")
    if n_folds < 2 or calibration_folds < 2:
        raise ParamsError("n_folds and calibration_folds must be at least 2")
    y = cal._arrays(np.zeros(len(outcome)), outcome)[1]
    if len(y) != len(X):
        raise DataError(
            f"features ({len(X)} rows) and outcome ({len(y)}) have different lengths",
            fix="pass one outcome per row of the feature frame, in the same order",
        )
    if np.isnan(X.to_numpy()).any():
        raise DataError(
            "the feature frame has missing values", fix="build it with features_at_decision"
        )
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    need = max(n_folds, calibration_folds) * 2
    if min(n_pos, n_neg) < need:
        raise NotEnoughData(
            f"fitting needs at least {need} leads that converted and {need} that did not "
            f"(for {n_folds} validation folds); there are {n_pos} and {n_neg}",
            "it appears as more leads mature",
        )
    frames = {name: X for name in wanted}
    if points is not None:
        frames["points"] = _points_frame(points, X.index)
        wanted.append("points")
    idx = np.arange(len(y))
    split_at = None
    created = None
    if created_at is not None:
        created = pd.to_datetime(pd.Series(np.asarray(created_at))).to_numpy("datetime64[us]")
        if len(created) != len(y):
            raise DataError("created_at must have one date per lead (aligned with features)")
    if created is not None and not np.isnat(created).any():
        day = created.astype("datetime64[D]")
        order = np.sort(day)
        split_day = order[min(len(order) - 1, int(math.floor(len(order) * (1 - test_share))))]
        test = day >= split_day
        if test.all():  # the first cohort is larger than the train share: cut after it
            later = order[order > split_day]
            test = day >= later[0] if len(later) else test
            split_day = later[0] if len(later) else split_day
        kind = "time"
        split_at = pd.Timestamp(split_day)
        tr_idx, te_idx = idx[~test], idx[test]
    else:
        kind = "stratified"
        tr_idx, te_idx = train_test_split(idx, test_size=test_share, stratify=y, random_state=seed)
        tr_idx, te_idx = np.sort(tr_idx), np.sort(te_idx)
    for what, part in (("train", tr_idx), ("test", te_idx)):
        yp = y[part]
        if (
            len(part) == 0
            or yp.min() == yp.max()
            or min(yp.sum(), len(yp) - yp.sum()) < 2 * calibration_folds
        ):
            raise NotEnoughData(
                f"the {kind} split's {what} set has too few leads of one outcome "
                f"({int(yp.sum())} converted of {len(yp)})",
                "it appears as more leads mature",
            )
    if calibration == "auto":
        method = "isotonic" if len(tr_idx) / calibration_folds >= _ISOTONIC_MIN else "sigmoid"
    else:
        method = calibration

    def calibrated(name: str) -> Any:
        folds = StratifiedKFold(calibration_folds, shuffle=True, random_state=seed)
        return CalibratedClassifierCV(_estimators(name, seed=seed, C=C), method=method, cv=folds)

    test_p: dict[str, np.ndarray] = {}
    oof: dict[str, np.ndarray] = {}
    final: dict[str, Any] = {}
    outer = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    limits = threadpool_limits(limits=threads) if threads is not None else nullcontext()
    with warnings.catch_warnings(), limits:
        warnings.simplefilter("ignore", category=UserWarning)
        for name in wanted:
            Xm = frames[name]
            m = calibrated(name).fit(Xm.iloc[tr_idx], y[tr_idx])
            test_p[name] = m.predict_proba(Xm.iloc[te_idx])[:, 1]
            oof[name] = cross_val_predict(
                calibrated(name), Xm, y, cv=outer, method="predict_proba"
            )[:, 1]
            final[name] = calibrated(name).fit(Xm, y)
        logistic = _estimators("logistic", seed=seed, C=C).fit(X, y)
    split = pd.Series("train", index=X.index, name="split", dtype="str")
    split.iloc[te_idx] = "test"
    return FittedModels(
        features=X,
        outcome=pd.Series(y, index=X.index, name="outcome"),
        split=split,
        split_kind=kind,
        split_at=split_at,
        calibration=method,
        logistic=logistic,
        calibrated=final,
        test=pd.DataFrame(test_p, index=X.index[te_idx]),
        cross_fitted=pd.DataFrame(oof, index=X.index),
        points=None if points is None else frames["points"]["score"],
        seed=seed,
        models=tuple(wanted),
    )


# --------------------------------------------------------------------------------------------
# 4. Validation


@dataclass(frozen=True)
class ModelCheck(Result):
    """How good one set of predicted probabilities is, out of sample."""

    n: int = value(Kind.COUNT, "leads judged")
    n_pos: int = value(Kind.COUNT, "of them, leads that converted")
    auc: float = value(Kind.RATIO, "chance that a converted lead gets a higher probability")
    auc_ci_low: float = value(Kind.RATIO, "lower bound of the DeLong interval")
    auc_ci_high: float = value(Kind.RATIO, "upper bound of the DeLong interval")
    brier: float = value(Kind.RATIO, "mean squared error of the probability")
    brier_reference: float = value(Kind.RATIO, "Brier of predicting the base rate for everyone")
    log_loss: float = value(Kind.RATIO, "mean negative log-likelihood of the outcome")
    log_loss_reference: float = value(Kind.RATIO, "log loss of predicting the base rate")
    calibration_slope: float = value(Kind.RATIO, "1 is calibrated; below 1: too extreme")
    calibration_slope_ci_low: float = value(Kind.RATIO, "Wald interval of the slope")
    calibration_slope_ci_high: float = value(Kind.RATIO, "Wald interval of the slope")
    calibration_intercept: float = value(
        Kind.RATIO, "calibration in the large (slope fixed at 1); 0 is calibrated, above 0: too low"
    )
    calibration_intercept_ci_low: float = value(Kind.RATIO, "Wald interval of the intercept")
    calibration_intercept_ci_high: float = value(Kind.RATIO, "Wald interval of the intercept")
    recalibration_intercept: float = value(
        Kind.RATIO, "intercept of the two-parameter recalibration fit (with the slope)"
    )


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def _newton_logit(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression of ``y`` on ``X`` (with an optional offset) by
    Newton-Raphson; the coefficients and their standard errors (NaN when the fit fails)."""
    k = X.shape[1]
    b = np.zeros(k)
    off = np.zeros(len(y)) if offset is None else offset
    nan = np.full(k, np.nan)
    for _ in range(100):
        eta = off + X @ b
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = mu * (1 - mu)
        H = X.T @ (X * w[:, None])
        g = X.T @ (y - mu)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return nan, nan
        b = b + step
        if not np.all(np.isfinite(b)):
            return nan, nan
        if np.max(np.abs(step)) < 1e-10:
            break
    eta = off + X @ b
    mu = 1.0 / (1.0 + np.exp(-eta))
    H = X.T @ (X * (mu * (1 - mu))[:, None])
    try:
        se = np.sqrt(np.diag(np.linalg.inv(H)))
    except np.linalg.LinAlgError:
        se = nan
    return b, se


def check_probabilities(p: Any, outcome: Any, *, alpha: float = 0.05) -> ModelCheck:
    """AUC (DeLong interval), Brier score and log loss against the base rate's, and the
    calibration slope and intercept of predicted probabilities.

    * The calibration slope ``b`` and ``recalibration_intercept`` ``a`` come from the logistic
      recalibration ``logit P(y=1) = a + b logit(p)``; ``calibration_intercept`` is
      calibration-in-the-large, the intercept with the slope fixed at 1 (``logit(p)`` as an
      offset; Van Calster et al. 2019, "Calibration: the Achilles heel of predictive
      analytics"). Calibrated probabilities have slope 1 and intercept 0; a slope below 1 means
      too extreme (overfitted), an intercept above 0 means too low on average. Intervals are
      Wald's, from the fits' information matrix.
    * Probabilities are clipped to [0.0001, 0.9999] for the logit and the log loss (an isotonic
      map puts exactly 0 on its lowest steps).
    * The references predict the base rate of the same leads for everyone.

    Parameters
    ----------
    p, outcome
        One probability and one 0/1 outcome per lead, aligned by position.
    alpha
        1 - confidence level.

    Returns
    -------
    ModelCheck

    Examples
    --------
    >>> c = check_probabilities([0.1, 0.2, 0.8, 0.3, 0.9], [0, 0, 1, 1, 1])
    >>> round(c.auc, 3), round(c.brier, 3), round(c.brier_reference, 3)
    (1.0, 0.118, 0.24)
    """
    from scipy import stats

    s, y = cal._arrays(p, outcome)
    if ((s < 0) | (s > 1)).any():
        raise DataError("probabilities must lie in [0, 1]")
    n = len(y)
    a = cal.auc_with_ci(s, y, alpha=alpha)
    q = np.clip(s, _EPS, 1 - _EPS)
    rate = float(y.mean()) if n else np.nan
    brier = float(np.mean((s - y) ** 2)) if n else np.nan
    ll = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))) if n else np.nan
    if 0 < rate < 1:
        ll_ref = -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate))
    else:
        ll_ref = 0.0 if n else np.nan
    z = stats.norm.ppf(1 - alpha / 2)
    slope = slope_se = a_int = cil = cil_se = np.nan
    lp = _logit(s)
    if n and 0 < rate < 1 and np.ptp(lp) > 0:
        b, se = _newton_logit(np.column_stack([np.ones(n), lp]), y)
        a_int, slope, slope_se = b[0], b[1], se[1]
        b1, se1 = _newton_logit(np.ones((n, 1)), y, offset=lp)
        cil, cil_se = b1[0], se1[0]
    return ModelCheck(
        n=n,
        n_pos=a.n_pos,
        auc=a.auc,
        auc_ci_low=a.auc_ci_low,
        auc_ci_high=a.auc_ci_high,
        brier=brier,
        brier_reference=rate * (1 - rate) if n else np.nan,
        log_loss=ll,
        log_loss_reference=ll_ref,
        calibration_slope=float(slope),
        calibration_slope_ci_low=float(slope - z * slope_se),
        calibration_slope_ci_high=float(slope + z * slope_se),
        calibration_intercept=float(cil),
        calibration_intercept_ci_low=float(cil - z * cil_se),
        calibration_intercept_ci_high=float(cil + z * cil_se),
        recalibration_intercept=float(a_int),
    )


RELIABILITY_COLUMNS: dict[str, Column] = {
    "bin": Column("Bin", Kind.TEXT, "1 holds the lowest probabilities"),
    "p_min": Column("Lowest probability", Kind.RATE),
    "p_max": Column("Highest probability", Kind.RATE),
    "mean_predicted": Column("Mean predicted", Kind.RATE, "the model's average probability"),
    "n": Column("Leads", Kind.COUNT),
    "conversions": Column("Converted", Kind.COUNT),
    "rate": Column("Observed rate", Kind.RATE),
    "ci_low": Column("95% CI low", Kind.RATE, "Wilson"),
    "ci_high": Column("95% CI high", Kind.RATE, "Wilson"),
}
"""How :func:`reliability_table` is shown to a reader: label and kind of each column."""


def reliability_table(
    p: Any,
    outcome: Any,
    *,
    n_bins: int = 10,
    strategy: Literal["quantile", "uniform"] = "quantile",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Predicted against observed conversion per probability bin (a reliability diagram's
    numbers), with Wilson intervals on the observed rates.

    Bins are those of scikit-learn's ``calibration_curve``: ``quantile`` (equal numbers of
    leads; tied edges merge bins) or ``uniform`` (equal widths on [0, 1]); empty bins are left
    out. A calibrated model's ``mean_predicted`` lies inside ``[ci_low, ci_high]`` in about
    95% of the bins.

    Parameters
    ----------
    p, outcome
        One probability and one 0/1 outcome per lead, aligned by position.
    n_bins
        Number of bins.
    strategy
        ``quantile`` or ``uniform``.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin: ``bin``, ``p_min``, ``p_max``, ``mean_predicted``, ``n``,
        ``conversions``, ``rate``, ``ci_low``, ``ci_high``; shown with
        :data:`RELIABILITY_COLUMNS`.

    Examples
    --------
    >>> reliability_table([0.1, 0.2, 0.7, 0.9], [0, 1, 1, 1], n_bins=2)[
    ...     ["bin", "mean_predicted", "n", "rate"]]
       bin  mean_predicted  n  rate
    0    1            0.15  2   0.5
    1    2            0.80  2   1.0
    """
    s, y = cal._arrays(p, outcome)
    if n_bins < 1:
        raise ParamsError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "quantile":
        edges = np.percentile(s, np.linspace(0, 1, n_bins + 1) * 100) if len(s) else np.zeros(2)
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ParamsError(f"strategy must be quantile or uniform, got {strategy!r}")
    ids = np.searchsorted(edges[1:-1], s)  # as sklearn.calibration.calibration_curve
    df = pd.DataFrame({"bin": ids, "p": s, "y": y})
    out = (
        df.groupby("bin", sort=True)
        .agg(
            p_min=("p", "min"),
            p_max=("p", "max"),
            mean_predicted=("p", "mean"),
            n=("y", "size"),
            conversions=("y", "sum"),
        )  # fmt: skip
        .reset_index(drop=True)
    )
    out.insert(0, "bin", np.arange(1, len(out) + 1))
    out["n"] = out["n"].astype("int64")
    out["rate"] = out["conversions"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson(out["conversions"], out["n"], alpha)
    return out


MODEL_VALIDATION_COLUMNS: dict[str, Column] = {
    "model": Column("Model", Kind.TEXT),
    "split": Column("Validation", Kind.TEXT, "time_test, stratified_test or cross_fitted"),
    "n": Column("Leads", Kind.COUNT, "leads judged out of sample"),
    "auc": Column("AUC", Kind.RATIO),
    "auc_ci_low": Column("AUC 95% CI low", Kind.RATIO, "DeLong"),
    "auc_ci_high": Column("AUC 95% CI high", Kind.RATIO, "DeLong"),
    "brier": Column("Brier score", Kind.RATIO, "lower is better"),
    "log_loss": Column("Log loss", Kind.RATIO, "lower is better"),
    "calibration_slope": Column("Calibration slope", Kind.RATIO, "1 is calibrated"),
    "calibration_intercept": Column(
        "Calibration intercept", Kind.RATIO, "calibration in the large; 0 is calibrated"
    ),
}
"""The columns of ``model_validation.csv`` (the public contract), with how they are shown."""


def validation_frame(fitted: FittedModels, *, alpha: float = 0.05) -> pd.DataFrame:
    """Every :class:`ModelCheck` number per model and split, one row each.

    Splits: the held-out test set (``time_test`` or ``stratified_test``, from models fitted on
    the train set) and ``cross_fitted`` (every lead, out of fold).

    Parameters
    ----------
    fitted
        :func:`fit_models` output.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``split``, then every field of :class:`ModelCheck`.
    """
    rows = []
    test_name = f"{fitted.split_kind}_test"
    for name in fitted.models:
        for split, p, y in (
            (test_name, fitted.test[name], fitted.outcome.loc[fitted.test.index]),
            ("cross_fitted", fitted.cross_fitted[name], fitted.outcome),
        ):
            check = check_probabilities(p.to_numpy(), y.to_numpy(), alpha=alpha)
            rows.append({"model": name, "split": split, **check.as_dict()})
    return pd.DataFrame(rows)


def model_validation(fitted: FittedModels, *, alpha: float = 0.05) -> pd.DataFrame:
    """The ``model_validation.csv`` table of the public contract: exactly ``model``, ``split``,
    ``n``, ``auc``, ``auc_ci_low``, ``auc_ci_high``, ``brier``, ``log_loss``,
    ``calibration_slope``, ``calibration_intercept`` (:data:`MODEL_VALIDATION_COLUMNS`), from
    :func:`validation_frame`."""
    return validation_frame(fitted, alpha=alpha)[list(MODEL_VALIDATION_COLUMNS)]
