"""The outcome within a horizon, and censoring (issue 17, item 4).

Design. :func:`horizon_outcomes` takes the decided leads of
:func:`~leadnb.scoring.calibration.decision_outcomes` and gives each its outcome "reaches the
stage within ``horizon_days`` of the decision" when that horizon has ended by the analysis date
(the lead has **matured**), and otherwise marks it censored: too young to be judged, not a
failure. The models train on the matured leads only; every decided lead keeps its follow-up
time and event indicator for a censoring-aware time-dependent AUC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.arrays import NAT_US, to_us
from leadnb.data.columns import require_unique
from leadnb.errors import ParamsError
from leadnb.results import Kind, Result, value
from leadnb.scoring import calibration as cal

__all__ = [
    "HORIZON_DAYS",
    "LANDMARK_DAYS",
    "HorizonCounts",
    "HorizonPopulation",
    "horizon_outcomes",
    "landmark_outcomes",
]

HORIZON_DAYS = 90
LANDMARK_DAYS = (7, 30, 90, 180, 365)
_US_PER_DAY = 86_400_000_000


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

    frame: pd.DataFrame = field(repr=False)
    counts: HorizonCounts
    sample_share: float = 1.0  # landmark_outcomes(max_leads=): the drawn share of the leads

    @property
    def matured(self) -> pd.DataFrame:
        """The training population: ``lead_id``, ``decision_at``, ``outcome`` of the matured
        leads (equal to ``decision_outcomes(..., horizon_days=H)``)."""
        keep = self.frame["matured"].to_numpy(dtype=bool)
        cols = ["lead_id", "decision_at", "outcome"]
        if "landmark_days" in self.frame.columns:
            cols.insert(2, "landmark_days")
        return self.frame.loc[keep, cols].reset_index(drop=True)

    def sentence(self) -> str:
        """The censoring in one sentence, for the report."""
        c = self.counts
        if "landmark_days" in self.frame.columns:
            return (
                f"{c.shown('n_censored')} of {c.shown('n_decided')} lead-ages (each lead at each "
                f"landmark age it reached unconverted) were less than {c.horizon_days:g} days "
                f"before the analysis date: censored, not counted as failures, and left out of "
                f"training."
            )
        if c.n_censored == 0:
            return f"All {c.shown('n_decided')} decided leads have a known outcome."
        return (
            f"{c.shown('n_censored')} of {c.shown('n_decided')} decided leads were decided less "
            f"than {c.horizon_days:g} days before the analysis date: they are censored (their "
            f"outcome is not known yet), not counted as failures, and left out of training."
        )


def horizon_outcomes(
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    decision: cal.Decision = "at_mql",
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
    _check_horizon(horizon_days)
    as_of = pd.Timestamp(as_of)
    col = f"{outcome_stage}_at"
    if stage_dates is not None and col in stage_dates.columns:
        _require_unique_ids(stage_dates)
    pop = _horizon(stage_dates, as_of, decision, outcome_stage, days, horizon_days, leads)
    return HorizonPopulation(frame=pop.frame.reset_index(drop=True), counts=pop.counts)


def _check_horizon(horizon_days: float) -> None:
    if not (isinstance(horizon_days, int | float) and horizon_days > 0):
        raise ParamsError(
            f"horizon_days must be a positive number of days, got {horizon_days!r}",
            fix="set scoring_calibration.horizon_days: 90",
        )


def _require_unique_ids(stage_dates: pd.DataFrame) -> None:
    require_unique(
        stage_dates["lead_id"].astype("str"),
        "the stage-date frame repeats lead ids, so each decided lead's stage date is ambiguous",
        table="the stage dates",
        fix="build it with leadnb.funnel.stages.stage_dates from leads with unique lead_id",
    )


def _horizon(
    stage_dates: pd.DataFrame | None,
    as_of: pd.Timestamp,
    decision: cal.Decision,
    outcome_stage: str,
    days: int,
    horizon_days: float,
    leads: pd.DataFrame | None = None,
) -> HorizonPopulation:
    """:func:`horizon_outcomes` once the stage dates' lead ids are known to be unique; the
    frame's index holds each decided lead's row position in ``stage_dates``."""
    dec = cal.decisions(
        stage_dates, as_of=as_of, decision=decision, outcome_stage=outcome_stage, days=days,
        leads=leads,
    )  # fmt: skip
    col = f"{outcome_stage}_at"
    if stage_dates is None or col not in stage_dates.columns:
        frame = dec.assign(time_days=np.nan, event=dec["outcome"], matured=True)
    else:
        pos = dec.index.to_numpy(dtype="int64")  # the decided leads' rows (ids are unique)
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
            },
            index=dec.index,
        )
    frame = frame[["lead_id", "decision_at", "time_days", "event", "matured", "outcome"]]
    return HorizonPopulation(frame=frame, counts=_counts(frame, horizon_days))


def _counts(frame: pd.DataFrame, horizon_days: float) -> HorizonCounts:
    m = frame["matured"].to_numpy(dtype=bool)
    conv = int(np.nansum(frame["outcome"].to_numpy(dtype="float64")[m]))
    return HorizonCounts(
        horizon_days=float(horizon_days),
        n_decided=len(frame),
        n_matured=int(m.sum()),
        n_censored=int(len(frame) - m.sum()),
        conversions=conv,
        rate=conv / int(m.sum()) if m.any() else float("nan"),
    )


def landmark_outcomes(
    stage_dates: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    ages_days: Sequence[int] = LANDMARK_DAYS,
    outcome_stage: str = "sql",
    horizon_days: int = HORIZON_DAYS,
    max_leads: int | None = None,
    seed: int = 0,
) -> HorizonPopulation:
    """Every lead at several ages (landmarks), each time with the outcome within the horizon.

    A model fitted on leads scored 7 days after creation knows only week-old leads; the queue
    scores leads of every age on the analysis date. Landmarking (van Houwelingen 2007, "Dynamic
    prediction by landmarking in event history analysis") stacks one decision per lead and age
    ``a`` in ``ages_days``: the lead scored ``a`` days after its creation, if it had not reached
    the stage by then, with the outcome "reaches it within ``horizon_days``". With
    ``days_since_created`` among the features (:func:`features_at_decision` adds it), the model
    learns how age changes the odds and applies to a lead of any age up to the oldest
    landmark. Rows are those of :func:`horizon_outcomes` with ``decision="at_created_plus_days"``
    and ``days=a``, for each age in turn, with a ``landmark_days`` column; a lead appears once
    per landmark it reached unconverted, so validation folds must keep a lead's rows together
    (:func:`fit_models` does, by ``lead_id``).

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (``lead_id``, ``created_at``, ``<outcome_stage>_at``).
    as_of
        The analysis date.
    ages_days
        The landmark ages, in days after creation.
    outcome_stage
        The stage that counts as converted.
    horizon_days
        The horizon H, in days.
    max_leads
        Keep the rows of at most this many leads, drawn at random (``seed``); None: every
        lead. Each lead is about four rows: at a million leads the features of every row take
        27 s and 9 GB (``benchmarks.model_features``), and 200,000 leads fit a model as well.
    seed
        Seed of that draw.

    Returns
    -------
    HorizonPopulation
        ``frame`` as in :func:`horizon_outcomes` plus ``landmark_days``; ``counts`` count rows
        (a lead at a landmark), not leads; ``sample_share``: the share of the leads drawn by
        ``max_leads`` (1.0 when every lead is kept), e.g. to scale a weekly capacity to the
        sample.

    Raises
    ------
    ParamsError
        No landmark, or one that is not a whole number of days >= 0.

    Examples
    --------
    >>> sd = pd.DataFrame({"lead_id": ["a", "b"],
    ...     "created_at": pd.to_datetime(["2026-01-01", "2026-01-01"]),
    ...     "sql_at": pd.to_datetime(["2026-01-20", None])})
    >>> pop = landmark_outcomes(sd, as_of=pd.Timestamp("2026-06-30"), ages_days=[7, 30],
    ...                         horizon_days=60)
    >>> pop.frame[["lead_id", "landmark_days", "outcome"]]
      lead_id  landmark_days  outcome
    0       a              7      1.0
    1       b              7      0.0
    2       b             30      0.0
    """
    ages = sorted(set(ages_days))
    if not ages or any(not isinstance(a, int | np.integer) or a < 0 for a in ages):
        raise ParamsError(
            f"landmark ages must be whole numbers of days >= 0, got {list(ages_days)}",
            fix="e.g. ages_days: [7, 30, 90, 180, 365]",
        )
    _check_horizon(horizon_days)
    as_of = pd.Timestamp(as_of)
    if f"{outcome_stage}_at" in stage_dates.columns:
        _require_unique_ids(stage_dates)  # once, not per landmark
    share = 1.0
    if max_leads is not None:
        # the draw first, among the leads in order of first appearance in the stacked rows (one
        # row per lead id: the ids are unique, so the draw is the one of the ids themselves),
        # from which rows are decided; then the rows of the leads drawn alone (at a million
        # leads and five ages, 3.6 million rows were built to keep 2% of them)
        decided = [
            cal.decided_rows(stage_dates, as_of=as_of, decision="at_created_plus_days",
                             outcome_stage=outcome_stage, days=int(a))
            for a in ages
        ]  # fmt: skip
        leads_in = pd.unique(np.concatenate(decided)) if decided else np.empty(0, "int64")
        if len(leads_in) > max_leads:
            share = max_leads / len(leads_in)
            rng = np.random.default_rng(seed)
            kept = leads_in[np.sort(rng.choice(len(leads_in), size=max_leads, replace=False))]
            stage_dates = stage_dates.iloc[np.sort(kept)]  # the kept leads, in their order
    parts = [
        _horizon(
            stage_dates, as_of, "at_created_plus_days", outcome_stage, int(a), horizon_days
        ).frame.assign(landmark_days=int(a))
        for a in ages
    ]
    frame = pd.concat(parts).reset_index(drop=True)
    cols = ["lead_id", "decision_at", "landmark_days", "time_days", "event", "matured", "outcome"]
    frame = frame[cols]
    return HorizonPopulation(frame=frame, counts=_counts(frame, horizon_days), sample_share=share)
