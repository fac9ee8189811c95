"""Does the score predict conversion? Bands, AUC, Brier, thresholds, per-rule lift, weights.

Design. Every function takes plain arrays/Series (a score per lead and a 0/1 outcome, aligned
position by position) and returns a DataFrame or a :class:`~leadnb.results.Result`
(:class:`AucResult`, :class:`BrierResult`, :class:`ThresholdChoice`) that carries its n and its
interval as ``x``, ``x_ci_low``, ``x_ci_high``, each field with a declared kind. The statistics
come from well-kept libraries wherever one exists:

* rates: the Wilson score interval, :func:`leadnb.intervals.wilson` (statsmodels);
* per-rule lift: the **ratio** of conversion rates (with / without the rule) and its
  Miettinen-Nurminen score interval, ``confint_proportions_2indep(compare="ratio",
  method="score")``, which stays finite when a rule's leads never convert (the lower bound is 0);
  the difference with its Newcombe interval and the score-test p-value are there too;
* AUC = Mann-Whitney U / (n1 n0) from mid-ranks (ties count one half), with the **DeLong**
  variance (DeLong, DeLong & Clarke-Pearson 1988, computed from placement values as in Sun & Xu
  2014) and a normal interval clipped to [0, 1];
* Brier score of a logistic regression of the outcome on the score (``statsmodels`` Logit), next
  to the reference Brier of always predicting the base rate;
* suggested weights: ``statsmodels`` Logit of conversion on rule hits or category scores.

:func:`decision_outcomes` builds the calibration population without leakage: each lead is scored
at its own decision time (when it became MQL, N days after creation, or as_of) and its outcome is
"reached ``outcome_stage``" from the wide stage-date frame (``leadnb.funnel.stages.stage_dates``), or
``leads.converted`` when there is no stage history.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.proportion import test_proportions_2indep as _score_test_2indep

from leadnb import asof
from leadnb.arrays import NAT_US, found_at, index_positions, is_unique, to_us
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.intervals import wilson
from leadnb.results import Column, Kind, Result, format_value, value
from leadnb.scoring.engine import iter_moments
from leadnb.scoring.rules import ScoringConfig

DECISIONS = ("at_mql", "at_created_plus_days", "as_of")
Decision = Literal["at_mql", "at_created_plus_days", "as_of"]
"""When a lead is scored (:data:`DECISIONS`): the type of every ``decision`` parameter."""
# The shortest date format of a sentence in a report (NotEnoughData's "when").
_DAY = "%Y-%m-%d"
_SCORES_FIX = "pass the frame leadnb.scoring.engine.score returns for the same rules"


# --------------------------------------------------------------------------------------------
# Inputs


def _arrays(scores: Any, outcome: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scores as float64 and a 0/1 outcome as float64, same length, no missing values."""
    s = np.asarray(pd.to_numeric(pd.Series(np.asarray(scores)), errors="coerce"), dtype="float64")
    y = np.asarray(outcome) if isinstance(outcome, np.ndarray | pd.Series) else None
    if y is not None and y.dtype.kind in "biuf":  # numbers already: no object per lead
        y = y.astype("float64", copy=False)
    else:
        y = pd.to_numeric(pd.Series(np.asarray(outcome, dtype=object)), errors="coerce")
        y = np.asarray(y, dtype="float64")
    if len(s) != len(y):
        raise DataError(
            f"scores ({len(s)}) and outcome ({len(y)}) have different lengths",
            fix="pass one score and one outcome per lead, in the same order",
        )
    bad = np.isnan(s) | np.isnan(y) | ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise DataError(
            "scores must be numbers and the outcome must be 0/1, with no missing values",
            rows=pd.DataFrame({"score": s[bad], "outcome": y[bad]}),
            count=int(bad.sum()),
            fix="drop leads without an outcome (not yet decided) before calibrating",
        )
    return s, y


def decision_outcomes(
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    decision: Decision = "at_mql",
    outcome_stage: str = "sql",
    days: int = 30,
    horizon_days: int | None = None,
    leads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The calibration population: each decided lead, when it is scored, and its outcome.

    * ``at_mql``: leads that became MQL by ``as_of``, scored at ``mql_at``; the outcome is reaching
      ``outcome_stage`` by ``as_of`` (at or after the MQL date).
    * ``at_created_plus_days``: leads created at least ``days`` before ``as_of``, scored at
      ``created_at + days``; leads that had already reached ``outcome_stage`` by then are left out
      (they were decided before this decision point).
    * ``as_of``: every lead scored at ``as_of``; the outcome is reaching ``outcome_stage`` by then.
      This is what scoring tools do and it leaks (points earned after the conversion count); keep
      it for comparison.

    ``as_of`` is a whole day (:mod:`leadnb.asof`). Without stage history (``stage_dates`` is None
    or lacks ``<outcome_stage>_at``) the outcome is ``leads.converted`` and only
    ``decision="as_of"`` is possible.

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (:func:`leadnb.funnel.stages.stage_dates`): ``lead_id``,
        ``created_at``, ``<stage>_at``; or None.
    as_of
        The analysis date.
    decision
        When each lead is scored: ``at_mql``, ``at_created_plus_days`` or ``as_of``.
    outcome_stage
        The stage that counts as converted.
    days
        With ``at_created_plus_days``: days after creation.
    horizon_days
        Count the outcome only within that many days of the decision (``reached < decision +
        horizon``), and keep only leads whose whole horizon is known by ``as_of`` (so recent leads
        are not counted as failures). None: up to ``as_of``.
    leads
        The leads table, for ``converted`` when there is no stage history.

    Returns
    -------
    pandas.DataFrame
        One row per decided lead: ``lead_id``, ``decision_at`` (datetime64[us]), ``outcome``
        (0.0/1.0).

    Raises
    ------
    NotEnoughData
        No outcome at all (no stage history and no ``leads.converted``), or
        ``at_created_plus_days`` without creation dates.

    Examples
    --------
    >>> sd = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...     "created_at": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-06-28"]),
    ...     "sql_at": pd.to_datetime(["2026-01-03", "2026-02-01", None])})
    >>> decision_outcomes(sd, as_of=pd.Timestamp("2026-06-30"), decision="at_created_plus_days",
    ...                   days=7)
      lead_id decision_at  outcome
    0       b  2026-01-08      1.0
    """
    return decisions(
        stage_dates, as_of=as_of, decision=decision, outcome_stage=outcome_stage, days=days,
        horizon_days=horizon_days, leads=leads,
    ).reset_index(drop=True)  # fmt: skip


def decisions(
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    decision: Decision = "at_mql",
    outcome_stage: str = "sql",
    days: int = 30,
    horizon_days: int | None = None,
    leads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`decision_outcomes` indexed by each decided lead's row position in ``stage_dates``
    (in ``leads`` without stage dates): a caller that needs the leads' stage dates again takes
    those rows instead of looking their ids up."""
    if decision not in DECISIONS:
        raise ParamsError(
            f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}",
            fix="set scoring_calibration.decision: at_mql",
        )
    as_of = pd.Timestamp(as_of)
    col = f"{outcome_stage}_at"
    if stage_dates is None or col not in stage_dates.columns:
        if leads is None or "converted" not in leads.columns:
            raise _no_outcome(col)
        if decision != "as_of":
            raise ParamsError(
                f"decision {decision!r} needs stage dates ({col}, mql_at); this data only has "
                "leads.converted",
                fix="set scoring_calibration.decision: as_of, or configure data.stages",
            )
        conv = pd.to_numeric(leads["converted"], errors="coerce")
        out = pd.DataFrame(
            {
                "lead_id": leads["lead_id"].astype("str").to_numpy(),
                "decision_at": as_of,
                "outcome": conv.to_numpy(dtype="float64", na_value=np.nan),
            }
        )
        return out.loc[out["outcome"].notna()]
    sd = stage_dates
    reached = sd[col]
    at, keep, end = _decided(sd, reached, as_of, decision, days, horizon_days)
    outcome = (reached.notna() & (reached < end)).astype("float64")
    out = pd.DataFrame(
        {
            "lead_id": sd["lead_id"].astype("str").array,
            "decision_at": at.astype("datetime64[us]").array,
            "outcome": outcome.array,
        }
    )  # index: the row positions in stage_dates
    return out.loc[keep]


def decided_rows(
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    decision: Decision = "at_mql",
    outcome_stage: str = "sql",
    days: int = 30,
) -> np.ndarray:
    """The row positions of :func:`decisions`' leads (its index), without building its frame:
    for a caller that only needs to know which leads are decided (a draw among them)."""
    col = f"{outcome_stage}_at"
    if decision not in DECISIONS or stage_dates is None or col not in stage_dates.columns:
        dec = decisions(  # raises, or decides from leads.converted, as decisions does
            stage_dates, as_of=as_of, decision=decision, outcome_stage=outcome_stage, days=days
        )  # fmt: skip
        return dec.index.to_numpy(dtype="int64")
    _, keep, _ = _decided(stage_dates, stage_dates[col], pd.Timestamp(as_of), decision, days, None)
    return np.flatnonzero(keep)


def _decided(
    sd: pd.DataFrame,
    reached: pd.Series,
    as_of: pd.Timestamp,
    decision: str,
    days: int,
    horizon_days: int | None,
) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """:func:`decisions` from stage dates: each lead's decision time, whether it is decided,
    and the end of its outcome window."""
    if decision == "at_mql":
        require_columns(
            sd,
            ["mql_at"],
            table="the stage dates",
            fix="add mql to funnel.stages, or use decision: at_created_plus_days",
        )
        at = sd["mql_at"]
        keep = asof.known(at, as_of)
    elif decision == "at_created_plus_days":
        if "created_at" not in sd.columns or (len(sd) and not sd["created_at"].notna().any()):
            raise NotEnoughData(
                f"scoring each lead {days} days after its creation needs the leads' creation "
                "dates, and leads has no created_at",
                "map the CRM's creation-date column to created_at in data.leads, or use "
                "decision: at_mql",
            )
        at = sd["created_at"] + pd.Timedelta(days=days)
        keep = asof.known(at, as_of) & ~(reached.notna() & (reached <= at))
    else:
        at = pd.Series(as_of, index=sd.index)
        keep = pd.Series(True, index=sd.index)
    end = pd.Series(asof.day_end(as_of), index=sd.index)
    if horizon_days is not None:
        end = at + pd.Timedelta(days=horizon_days)
        keep = keep & asof.known(end, as_of)  # the whole horizon is known
    return at, keep.fillna(False).to_numpy(dtype=bool), end


def _no_outcome(col: str) -> NotEnoughData:
    return NotEnoughData(
        f"there is no outcome to calibrate against: no stage history with {col} and no "
        "converted column on leads",
        "configure data.stages (or <stage>_at columns on leads), or add a 0/1 converted column "
        "to leads",
    )


def leads_known(leads: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The leads created by the analysis date (:func:`leadnb.asof.known`).

    All of them when the table has no ``created_at`` (nothing tells their creation apart from the
    analysis date); a lead without a creation date is kept. A backfill at an early date must not
    count leads that did not exist yet.

    Parameters
    ----------
    leads
        The leads table.
    as_of
        The analysis date (a whole day).

    Returns
    -------
    pandas.DataFrame
        The rows of ``leads`` created by the end of ``as_of``, with the same columns.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...     "created_at": pd.to_datetime(["2026-06-30 23:00", "2026-07-01 00:00"])})
    >>> leads_known(leads, "2026-06-30")["lead_id"].tolist()
    ['a']
    """
    if "created_at" not in leads.columns:
        return leads
    created = pd.to_datetime(leads["created_at"])
    keep = asof.known(created, as_of) | created.isna()
    return leads.loc[keep.to_numpy(dtype=bool)]


def creation_times(leads: pd.DataFrame, lead_ids: Any, *, guess: Any = None) -> np.ndarray:
    """Each of ``lead_ids``' creation time, from ``leads.created_at`` (NaT for an id that is not
    among the leads): :func:`lead_values` of ``created_at`` (``guess`` as there).

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...     "created_at": pd.to_datetime(["2026-01-01", "2026-02-01"])})
    >>> creation_times(leads, pd.Series(["b", "x", "a"])).astype("str").tolist()
    ['2026-02-01T00:00:00.000000', 'NaT', '2026-01-01T00:00:00.000000']
    """
    require_columns(leads, ["lead_id", "created_at"], table="leads")
    return lead_values(leads, "created_at", lead_ids, guess=guess)


def lead_values(
    leads: pd.DataFrame, column: str, lead_ids: Any, *, guess: Any = None
) -> np.ndarray:
    """Each of ``lead_ids``' value of ``leads[column]`` (missing for an id that is not among the
    leads), e.g. the account of each lead in the queue.

    The values of ``leads.set_index("lead_id")[column].reindex(lead_ids)``, found by one
    Arrow hash lookup (a fifth of the time at a million leads: the queue's accounts 0.82 s with
    the reindex) and returned as an array: a Series indexed by a million lead ids would build a
    hash table of them again whenever NumPy probes it for attributes. Anything else than unique
    text ids on both sides (e.g. duplicated lead ids, which pandas refuses to reindex on) takes
    the pandas formulation.

    Parameters
    ----------
    leads
        The leads table (``lead_id`` and ``column``).
    column
        The column wanted.
    lead_ids
        The leads wanted, e.g. a calibration population's ``lead_id``.
    guess
        Their probable rows in ``leads`` (e.g. the index of :func:`decisions` for the population
        scored from them): used when every id is found there, else the ids are looked up
        (:func:`leadnb.arrays.index_positions`); the answer is the same either way.

    Returns
    -------
    numpy.ndarray
        One value per id, in the order of ``lead_ids``, as ``Series.to_numpy()`` gives them
        (text as objects, NaN where missing; dates as ``datetime64``, NaT where missing).

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"], "account_id": ["acme", None]})
    >>> lead_values(leads, "account_id", pd.Series(["b", "x", "a"])).tolist()
    [nan, nan, 'acme']
    """
    require_columns(leads, ["lead_id", column], table="leads")
    text = pd.api.types.is_string_dtype
    fast = isinstance(lead_ids, pd.Series) and text(lead_ids.dtype) and text(leads["lead_id"].dtype)
    ids = pd.Index(leads["lead_id"])
    if not fast or not is_unique(ids) or ids.hasnans:
        return leads.set_index("lead_id")[column].reindex(lead_ids).to_numpy()
    pos = np.asarray(index_positions(lead_ids, ids, guess=guess), dtype="int64")
    return leads[column].array.take(pos, allow_fill=True).to_numpy()


def converted_by(
    stage_dates: pd.DataFrame | None,
    leads: pd.DataFrame | None = None,
    *,
    as_of: Any,
    outcome_stage: str = "sql",
) -> pd.Series:
    """Each lead's outcome by the analysis date.

    Reached ``outcome_stage`` by the end of ``as_of`` (:func:`leadnb.asof.known`), or
    ``leads.converted`` (missing values left out) when the stage dates lack ``<outcome_stage>_at``.

    Parameters
    ----------
    stage_dates
        The wide stage-date frame (``lead_id``, ``<stage>_at``), or None.
    leads
        The leads table, for ``converted`` when there is no stage history.
    as_of
        The analysis date.
    outcome_stage
        The stage that counts as converted.

    Returns
    -------
    pandas.Series
        ``converted``: 0.0/1.0 per lead, indexed by ``lead_id``.

    Raises
    ------
    NotEnoughData
        Neither stage dates with ``<outcome_stage>_at`` nor ``leads.converted``.

    Examples
    --------
    >>> sd = pd.DataFrame({"lead_id": ["a", "b"],
    ...     "sql_at": pd.to_datetime(["2026-06-30 18:00", "2026-07-01 00:00"])})
    >>> converted_by(sd, as_of="2026-06-30").tolist()
    [1.0, 0.0]
    """
    col = f"{outcome_stage}_at"
    if stage_dates is not None and col in stage_dates.columns:
        reached = stage_dates[col]
        return pd.Series(
            asof.known(reached, as_of).to_numpy(dtype="float64"),
            index=pd.Index(stage_dates["lead_id"].astype("str"), name="lead_id"),
            name="converted",
        )
    if leads is None or "converted" not in leads.columns:
        raise _no_outcome(col)
    conv = pd.to_numeric(leads["converted"], errors="coerce")
    out = pd.Series(
        conv.to_numpy(dtype="float64", na_value=np.nan),
        index=pd.Index(leads["lead_id"].astype("str"), name="lead_id"),
        name="converted",
    )
    return out.dropna()


def population_label(decision: str, *, days: int = 30) -> str:
    """How a calibration population is scored, in words.

    Parameters
    ----------
    decision
        ``at_mql``, ``at_created_plus_days`` or ``as_of``.
    days
        With ``at_created_plus_days``: days after creation.

    Returns
    -------
    str
        A phrase for report sentences.

    Examples
    --------
    >>> population_label("at_created_plus_days", days=7)
    'scored 7 days after creation'
    """
    return {
        "at_mql": "scored at MQL",
        "at_created_plus_days": f"scored {days} days after creation",
        "as_of": "scored on the analysis date",
    }.get(decision, f"scored at {decision}")


def require_population(
    outcome: Any,
    *,
    decision: str,
    outcome_stage: str = "sql",
    days: int = 30,
    first_created: Any = None,
    both: bool = True,
) -> None:
    """Raise unless the calibration population can be judged.

    It needs at least one lead, at least one that converted and (``both``) one that did not. The
    sentence says what is missing and when it will appear: with ``at_created_plus_days`` the first
    run date that has a decided lead (``first_created`` + ``days``).

    Parameters
    ----------
    outcome
        The population's 0/1 outcomes.
    decision, outcome_stage, days
        How the population was built (for the sentence).
    first_created
        The first lead's creation time, or None.
    both
        Also require a lead that did not convert.

    Returns
    -------
    None

    Raises
    ------
    NotEnoughData
        With ``what`` (what is missing) and ``when`` (when it appears).

    Examples
    --------
    >>> try:
    ...     require_population([], decision="at_created_plus_days", days=7,
    ...                        first_created=pd.Timestamp("2025-01-01 10:00"))
    ... except NotEnoughData as e:
    ...     print(e.what, e.when, sep="; ")
    no lead is old enough to be scored 7 days after creation yet; it appears in the run of 2025-01-08 or later
    """
    y = _arrays(np.zeros(len(outcome)), outcome)[1]
    n, n_pos = len(y), int(y.sum())
    desc = population_label(decision, days=days)
    if n == 0:
        if decision == "at_created_plus_days":
            what = f"no lead is old enough to be scored {days} days after creation yet"
            when = "it appears once a lead is that old"
            if first_created is not None and pd.notna(first_created):
                first = pd.Timestamp(first_created).normalize() + pd.Timedelta(days=days)
                when = f"it appears in the run of {first:{_DAY}} or later"
            raise NotEnoughData(what, when)
        if decision == "at_mql":
            raise NotEnoughData("no lead has become MQL yet", "it appears once one does")
        raise NotEnoughData("there are no leads to score yet", "it appears once leads exist")
    leads_desc = f"{format_value(n, Kind.COUNT)} lead{'' if n == 1 else 's'} {desc}"
    if n_pos == 0:
        raise NotEnoughData(
            f"there is no conversion to predict yet: {leads_desc}, "
            f"{'and it has not' if n == 1 else 'and none has'} reached {outcome_stage}",
            f"it appears once one reaches {outcome_stage}",
        )
    if both and n_pos == n:
        raise NotEnoughData(
            f"there is no lead that did not convert to compare with: "
            f"{'the one lead' if n == 1 else f'all {format_value(n, Kind.COUNT)} leads'} {desc} "
            f"reached {outcome_stage}",
            f"it appears once the population holds leads that did not reach {outcome_stage}",
        )


def scores_at_decision(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """The :func:`decision_outcomes` rows joined to each lead's score at its decision time.

    Parameters
    ----------
    leads, events
        The leads and events tables.
    config
        The parsed scoring rules.
    decisions
        :func:`decision_outcomes` output.
    as_of
        The analysis date; no event after it counts.

    Returns
    -------
    pandas.DataFrame
        One row per decided lead: ``lead_id``, ``decision_at``, ``outcome``, ``score``, one column
        per category, one ``rule:<name>`` column per rule.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "content_read"}, "points": 2}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a"]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a"], "event_type": ["content_read"] * 2,
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-03-01"])})
    >>> dec = pd.DataFrame({"lead_id": ["a"], "decision_at": pd.to_datetime(["2026-02-01"]),
    ...     "outcome": [1.0]})
    >>> scores_at_decision(leads, ev, cfg, dec, pd.Timestamp("2026-06-30"))[["lead_id", "score"]]
      lead_id  score
    0       a    2.0
    """
    return next(_populations(leads, events, config, [decisions], as_of))


def scores_at_decision_and_now(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: pd.DataFrame | None,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """:func:`scores_at_decision` and every lead's score on the analysis date, in one pass of
    the scoring engine.

    The same two frames as ``scores_at_decision(leads, events, config, decisions, as_of)`` and
    ``leadnb.scoring.engine.score(leads, events, config, as_of)``, but the events are matched to
    their leads and coded once for both moments (:func:`leadnb.scoring.engine.iter_moments`):
    at a million leads that matching is half of a scoring.

    Parameters
    ----------
    leads, events
        The leads and events tables.
    config
        The parsed scoring rules.
    decisions
        :func:`decision_outcomes` output, or None (no calibration population: only today's
        scores are computed).
    as_of
        The analysis date; no event after it counts.

    Returns
    -------
    tuple of (pandas.DataFrame or None, pandas.DataFrame)
        The population (as :func:`scores_at_decision` returns it; None without ``decisions``)
        and the scores on the analysis date (as :func:`leadnb.scoring.engine.score` returns
        them: one row per lead, in the order of ``leads``).

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "content_read"}, "points": 2}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event_type": ["content_read"] * 3,
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-03-02"])})
    >>> dec = pd.DataFrame({"lead_id": ["a"], "decision_at": pd.to_datetime(["2026-02-01"]),
    ...     "outcome": [1.0]})
    >>> pop, now = scores_at_decision_and_now(leads, ev, cfg, dec, pd.Timestamp("2026-06-30"))
    >>> pop[["lead_id", "score"]]
      lead_id  score
    0       a    2.0
    >>> now[["lead_id", "score"]]
      lead_id  score
    0       a    4.0
    1       b    2.0
    """
    scored = scores_at_moments(
        leads, events, config, decisions, as_of, stage_dates=None, decision="as_of"
    )  # no stage dates: no other moment
    return scored.population, scored.now


@dataclass(frozen=True)
class MomentScores:
    """:func:`scores_at_moments`: what the scoring notebook scores, from one pass of the engine."""

    #: :func:`scores_at_decision` of the calibration decisions (None without them)
    population: pd.DataFrame | None
    #: every lead's scores on the analysis date (:func:`leadnb.scoring.engine.score`'s frame)
    now: pd.DataFrame
    #: :func:`compare_decisions`' other moments, by decision: ``lead_id``, ``decision_at``,
    #: ``outcome`` and ``score`` (its ``populations``)
    moments: dict[str, pd.DataFrame]


def scores_at_moments(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: pd.DataFrame | None,
    as_of: pd.Timestamp,
    *,
    stage_dates: pd.DataFrame | None,
    decision: str,
    outcome_stage: str = "sql",
    days: int = 30,
) -> MomentScores:
    """:func:`scores_at_decision_and_now` and the scores of :func:`compare_decisions`' other
    moments, in one pass of the scoring engine.

    :func:`compare_decisions` scores each decision time it is not given; given these (its
    ``populations`` and ``scores_now``), it scores none: the events are matched to their leads
    and coded once for every moment, not once more for the comparison (at a million leads that
    matching is most of a moment's scoring). The moments' frames are those
    :func:`compare_decisions` builds from ``stage_dates``; ``decision`` (the calibration
    population's own, given as ``decisions``) and ``as_of`` (today's scores) are not scored
    twice.

    Parameters
    ----------
    leads, events, config, decisions, as_of
        As for :func:`scores_at_decision_and_now`.
    stage_dates
        The wide stage-date frame (None: no other moment).
    decision
        The decision time of ``decisions``.
    outcome_stage, days
        As for :func:`compare_decisions`.

    Returns
    -------
    MomentScores
        ``population`` and ``now`` equal :func:`scores_at_decision_and_now`'s; ``moments``
        holds each other decision time the data supports, reduced to the score.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "reads", "category": "content",
    ...     "when": {"event_type": "content_read"}, "points": 2}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...     "created_at": pd.to_datetime(["2026-01-01", "2026-01-05"])})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event_type": ["content_read"] * 3,
    ...     "ts": pd.to_datetime(["2026-01-02", "2026-03-01", "2026-03-02"])})
    >>> sd = leads.assign(mql_at=pd.to_datetime(["2026-01-10", "2026-02-01"]),
    ...                   sql_at=pd.to_datetime(["2026-04-01", None]))
    >>> s = scores_at_moments(leads, ev, cfg, None, pd.Timestamp("2026-06-30"), stage_dates=sd,
    ...                       decision="at_created_plus_days", days=7)
    >>> list(s.moments), s.moments["at_mql"][["lead_id", "outcome", "score"]]
    (['at_mql', 'at_created_plus_days'],   lead_id  outcome  score
    0       a      1.0    2.0
    1       b      0.0    0.0)
    """
    covered = {"as_of"} if decisions is None else {"as_of", decision}  # by ``now``, ``decisions``
    others = _moment_decisions(
        stage_dates, as_of=as_of, outcome_stage=outcome_stage, days=days, skip=covered
    )
    wanted = ([] if decisions is None else [decisions]) + list(others.values())
    columns = ([] if decisions is None else [None]) + [["score"]] * len(others)
    scored = _populations(leads, events, config, wanted, as_of, now=True, columns=columns)
    pop = None if decisions is None else next(scored)
    moments = {name: next(scored) for name in others}
    return MomentScores(population=pop, now=next(scored), moments=moments)


def _plan(
    dec: pd.DataFrame, ids: pd.Index, names: set[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Where a decision frame's rows are among the leads: (the decision rows found, their
    leads' positions), or None when only :meth:`pandas.DataFrame.merge` can join them
    (duplicated lead ids, or a decision column named like a score column). Decisions listing
    the leads themselves, in their order (``as_of``), need no lookup."""
    dec_ids = pd.Index(dec["lead_id"].astype("str"))
    if not is_unique(ids) or names & (set(dec.columns) - {"lead_id"}):
        return None
    if dec_ids.equals(ids) and not ids.hasnans:
        every = np.arange(len(ids))
        return every, every
    # decisions from the stage dates keep their rows' numbers there, which list the leads in
    # their order: tried first, checked value for value (rows that only increase are distinct
    # leads, so the decisions' ids need no count of their own)
    guess = dec.index.to_numpy() if pd.api.types.is_integer_dtype(dec.index.dtype) else None
    held = guess is not None and found_at(dec["lead_id"], ids, guess)
    if held and bool(np.all(np.diff(guess) > 0)):
        return np.arange(len(dec)), guess.astype("int64")
    if not is_unique(dec_ids):
        return None
    if held:
        pos = guess.astype("int64")
    else:
        pos = np.asarray(index_positions(dec["lead_id"], ids), dtype="int64")
    rows = np.flatnonzero(pos >= 0)
    return rows, pos[rows]


def _populations(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: Sequence[pd.DataFrame],
    as_of: pd.Timestamp,
    *,
    columns: Sequence[Sequence[str] | None] | None = None,
    now: bool = False,
    ids: pd.Index | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`scores_at_decision` for several decision frames, the events coded once
    (:func:`leadnb.scoring.engine.iter_moments`), one population at a time; with ``now``, the
    scores of every lead on the analysis date follow (:func:`leadnb.scoring.engine.score`'s
    frame), from the same pass.

    Each population is the inner one-to-one join of its decisions with the scores, in the
    decisions' order: each decided lead is found among the leads by one Arrow hash lookup, its
    decision time is put at its lead's row, and the scored rows are taken by position (no join
    of a million text keys). Duplicated lead ids, or a score column named like a decision
    column, take the plain :meth:`pandas.DataFrame.merge`, which says what is wrong.
    ``columns``: one entry per decision frame, the score columns its population takes (a
    moment's AUC needs ``score`` alone, not a copy of every rule's column); None: every one. ``ids``: the leads' ids as text, when the caller has them
    (an Index checks its uniqueness once, a million ids a tenth of a second).
    """
    if not decisions and not now:
        return
    if ids is None:
        ids = pd.Index(leads["lead_id"].astype("str"))
    names = {"score", *config.categories, *config.rule_columns}
    plans: list[tuple[np.ndarray, np.ndarray] | None] = []
    ats: list[pd.Series | None] = []
    for dec in decisions:
        plan = _plan(dec, ids, names)
        plans.append(plan)
        if plan is None:
            ats.append(dec.set_index(pd.Index(dec["lead_id"].astype("str")))["decision_at"])
            continue
        rows, pos = plan
        at_us = np.full(len(ids), NAT_US, dtype="int64")
        at_us[pos] = to_us(dec["decision_at"])[rows]
        ats.append(pd.Series(at_us.view("datetime64[us]"), index=leads.index))
    if now:
        # last: the decision moments' frames are reduced to their populations (and freed)
        # before today's million-row frame is made
        ats.append(None)
    scored = iter_moments(leads, events, config, as_of, ats)  # one million-row frame at a time
    kept = [None] * len(decisions) if columns is None else columns
    for dec, plan, cols in zip(decisions, plans, kept, strict=True):
        yield _population(dec, plan, next(scored), cols)
    if now:
        yield next(scored)


def _population(
    dec: pd.DataFrame,
    plan: tuple[np.ndarray, np.ndarray] | None,
    scored: pd.DataFrame,
    columns: Sequence[str] | None,
) -> pd.DataFrame:
    """One population of :func:`_populations` (a function, so that no local outlives it and
    the moment's million-row scores are freed as soon as the decided rows are taken)."""
    if plan is None:
        return dec.merge(scored, on="lead_id", how="inner", validate="one_to_one")
    rows, at = plan
    left = dec.iloc[rows].reset_index(drop=True)
    kept = scored.drop(columns="lead_id") if columns is None else scored[list(columns)]
    return pd.concat([left, kept.iloc[at].reset_index(drop=True)], axis=1)


DECISION_COLUMNS: dict[str, Column] = {
    "moment": Column("When the score is taken", Kind.TEXT, "the decision time, in words"),
    "n": Column("Leads", Kind.COUNT, "leads scored at that moment"),
    "conversions": Column("Converted", Kind.COUNT, "of them, leads that reached the outcome"),
    "rate": Column("Conversion rate", Kind.RATE),
    "auc": Column("AUC", Kind.RATIO, "chance that a converted lead outscores one that did not"),
    "auc_ci_low": Column("AUC 95% CI low", Kind.RATIO, "DeLong"),
    "auc_ci_high": Column("AUC 95% CI high", Kind.RATIO, "DeLong"),
}
"""How :func:`compare_decisions` is shown (its ``decision`` column is the machine name of
``moment``)."""


def compare_decisions(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    stage_dates: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    outcome_stage: str = "sql",
    days: int = 30,
    alpha: float = 0.05,
    populations: Mapping[str, pd.DataFrame | None] | None = None,
    scores_now: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """AUC of the same rules under each decision time.

    Scoring as of today (``as_of``) counts points earned after the conversion; the gap between its
    AUC and the decision-time ones is that leakage. A decision time the data cannot support (no
    ``mql_at``, no ``created_at``) is left out.

    A moment the caller has already scored is not scored again: a population in
    ``populations`` is used when it lists the decision's leads, times and outcomes exactly
    (else that moment is scored here); ``scores_now`` gives the ``as_of`` moment when it scores
    the same leads, in their order. The table is the same either way.

    Parameters
    ----------
    leads, events
        The leads and events tables.
    config
        The parsed scoring rules.
    stage_dates
        The wide stage-date frame.
    as_of
        The analysis date.
    outcome_stage
        The stage that counts as converted.
    days
        Days after creation for ``at_created_plus_days``.
    alpha
        1 - confidence level of the AUC intervals.
    populations
        Populations already scored, by decision (``at_mql``, ``at_created_plus_days``,
        ``as_of``): :func:`scores_at_decision` of :func:`decision_outcomes` with the same
        ``stage_dates``, ``as_of``, ``outcome_stage`` and ``days`` (a None value: not scored yet);
        or None.
    scores_now
        Every lead's score on the analysis date (:func:`leadnb.scoring.engine.score` of the same
        leads, events, rules and ``as_of``), or None.

    Returns
    -------
    pandas.DataFrame
        One row per decision time: ``decision`` (``as_of``, ``at_mql``,
        ``at_created_plus_<days>_days``), ``moment`` (the same in words,
        :func:`population_label`), ``n``, ``conversions``, ``rate``, ``auc``, ``auc_ci_low``,
        ``auc_ci_high``; shown with :data:`DECISION_COLUMNS`.
    """
    moments = _moment_decisions(stage_dates, as_of=as_of, outcome_stage=outcome_stage, days=days)
    known: dict[str, pd.DataFrame] = {}
    for decision, dec in moments.items():
        given = (populations or {}).get(decision)
        if given is not None and _same_decisions(given, dec):
            known[decision] = given
    ids = pd.Index(leads["lead_id"].astype("str"))
    if "as_of" in moments and "as_of" not in known and scores_now is not None:
        now = _population_of_scores(ids, config, moments["as_of"], scores_now)
        if now is not None:
            known["as_of"] = now
    to_score = [dec for decision, dec in moments.items() if decision not in known]
    pops = _populations(
        leads, events, config, to_score, as_of, columns=[["score"]] * len(to_score), ids=ids
    )
    rows = []
    for decision in moments:  # each population reduced to its AUC at once
        pop = known.pop(decision) if decision in known else next(pops)
        a = auc_with_ci(pop["score"], pop["outcome"], alpha=alpha)
        del pop
        label = f"at_created_plus_{days}_days" if decision == "at_created_plus_days" else decision
        rows.append(
            {
                "decision": label,
                "moment": _capitalised(population_label(decision, days=days)),
                "n": a.n,
                "conversions": a.n_pos,
                "rate": a.n_pos / a.n if a.n else np.nan,
                "auc": a.auc,
                "auc_ci_low": a.auc_ci_low,
                "auc_ci_high": a.auc_ci_high,
            }
        )
    return pd.DataFrame(rows, columns=["decision", *DECISION_COLUMNS])


def _moment_decisions(
    stage_dates: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    outcome_stage: str,
    days: int,
    skip: Collection[str] = (),
) -> dict[str, pd.DataFrame]:
    """:func:`compare_decisions`' decision times that the data supports, by name, each
    :func:`decisions` frame (indexed by the leads' rows: no lookup to score); those in
    ``skip`` are not built."""
    moments: dict[str, pd.DataFrame] = {}
    if stage_dates is None:
        return moments
    for decision in ("as_of", "at_mql", "at_created_plus_days"):
        if decision in skip:
            continue
        try:
            moments[decision] = decisions(
                stage_dates, as_of=as_of, decision=decision, outcome_stage=outcome_stage,
                days=days,
            )  # fmt: skip
        except (DataError, NotEnoughData):
            continue  # e.g. no mql stage or no created_at: that decision time does not exist
    return moments


def _same_decisions(pop: pd.DataFrame, dec: pd.DataFrame) -> bool:
    """Whether ``pop`` is a scored population of exactly the decisions ``dec`` (the same leads,
    decision times and outcomes, in the same order)."""
    cols = ("lead_id", "decision_at", "outcome")
    if "score" not in pop.columns or len(pop) != len(dec) or not set(cols) <= set(pop.columns):
        return False
    return all(pop[c].reset_index(drop=True).equals(dec[c].reset_index(drop=True)) for c in cols)


def _population_of_scores(
    ids: pd.Index, config: ScoringConfig, dec: pd.DataFrame, scores: pd.DataFrame
) -> pd.DataFrame | None:
    """The ``as_of`` population taken from scores already computed on the analysis date (one
    row per lead, the leads' ids ``ids`` in their order), as :func:`_populations` would score it
    (a decision at ``as_of`` scores as the analysis date does); None when ``scores`` are not
    those leads' or the rows cannot be joined by position."""
    if "score" not in scores.columns or "lead_id" not in scores.columns:
        return None
    if not pd.Index(scores["lead_id"].astype("str")).equals(ids):
        return None
    plan = _plan(dec, ids, {"score", *config.categories, *config.rule_columns})
    if plan is None:
        return None
    return _population(dec, plan, scores, ["score"])


def _count(n: Any) -> str:
    return format_value(n, Kind.COUNT)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------------------------
# Bands and AUC


BAND_COLUMNS: dict[str, Column] = {
    "band": Column("Band", Kind.TEXT, "1 is the lowest-scoring band"),
    "score_min": Column("Lowest score", Kind.SCORE),
    "score_max": Column("Highest score", Kind.SCORE),
    "n": Column("Leads", Kind.COUNT),
    "conversions": Column("Converted", Kind.COUNT),
    "rate": Column("Conversion rate", Kind.RATE),
    "ci_low": Column("95% CI low", Kind.RATE, "Wilson"),
    "ci_high": Column("95% CI high", Kind.RATE, "Wilson"),
    "lift": Column("Versus all leads", Kind.MULTIPLIER, "band rate over the overall rate"),
}
"""How :func:`score_bands` is shown to a reader: label and kind of each column."""


def score_bands(
    scores: Any,
    outcome: Any,
    *,
    n_bands: int = 10,
    edges: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Conversion by score band, lowest band first.

    Bands are quantiles of the score (``n_bands``; tied scores stay in one band, so there can be
    fewer bands) or fixed ``edges`` (bins ``[e0, e1), [e1, e2), ...``, the last one closed; scores
    outside the edges are left out). Intervals are Wilson (:func:`leadnb.intervals.wilson`).

    Parameters
    ----------
    scores, outcome
        One score and one 0/1 outcome per lead, aligned by position.
    n_bands
        Number of quantile bands (ignored with ``edges``).
    edges
        Fixed band edges, or None.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per band: ``band`` (1, 2, ...), ``score_min``, ``score_max``, ``n``,
        ``conversions``, ``rate``, ``ci_low``, ``ci_high`` (Wilson), ``lift`` (band rate / overall
        rate); shown with :data:`BAND_COLUMNS`.

    Raises
    ------
    NotEnoughData
        No leads at all.

    Examples
    --------
    >>> b = score_bands([1, 2, 3, 4], [0, 0, 1, 1], edges=[0, 2.5, 5])
    >>> b[["band", "n", "conversions", "rate", "lift"]]
       band  n  conversions  rate  lift
    0     1  2          0.0   0.0   0.0
    1     2  2          2.0   1.0   2.0
    """
    s, y = _arrays(scores, outcome)
    if len(s) == 0:
        raise NotEnoughData("there are no scored leads to put in score bands")
    if edges is not None:
        e = np.asarray(sorted(edges), dtype="float64")
        band = np.searchsorted(e, s, side="right") - 1
        band = np.where(s == e[-1], len(e) - 2, band)
        ok = (band >= 0) & (band <= len(e) - 2)
    else:
        if n_bands < 1:
            raise ParamsError(f"n_bands must be >= 1, got {n_bands}", fix="use e.g. 10")
        # rank-based quantile bands on unique score values: ties never split
        q = np.quantile(s, np.linspace(0, 1, n_bands + 1)[1:-1]) if len(s) else np.array([])
        cuts = np.unique(q)
        band = np.searchsorted(cuts, s, side="left")
        ok = np.ones(len(s), dtype=bool)
    df = pd.DataFrame({"band": band[ok], "score": s[ok], "y": y[ok]})
    g = df.groupby("band", sort=True)
    out = g.agg(
        score_min=("score", "min"),
        score_max=("score", "max"),
        n=("y", "size"),
        conversions=("y", "sum"),
    ).reset_index()
    out["band"] = np.arange(1, len(out) + 1)
    out["n"] = out["n"].astype("int64")
    out["rate"] = out["conversions"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson(out["conversions"], out["n"], alpha)
    overall = y.mean() if len(y) else np.nan
    out["lift"] = out["rate"] / overall if overall > 0 else np.nan
    return out


@dataclass(frozen=True)
class AucResult(Result):
    """AUC with its DeLong confidence interval and counts."""

    auc: float = value(Kind.RATIO, "chance that a converted lead outscores one that did not")
    auc_ci_low: float = value(Kind.RATIO, "lower bound of the DeLong interval")
    auc_ci_high: float = value(Kind.RATIO, "upper bound of the DeLong interval")
    se: float = value(Kind.RATIO, "DeLong standard error of the AUC")
    n: int = value(Kind.COUNT, "leads with an outcome")
    n_pos: int = value(Kind.COUNT, "leads that converted")
    n_neg: int = value(Kind.COUNT, "leads that did not convert")
    method: str = value(Kind.TEXT, "how the interval is computed", default="delong")


def _placements(
    s: np.ndarray, is_pos: np.ndarray, n1: int, n0: int
) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placement values: for each positive (in their order) the share of negatives below
    it, a tied one counting one half; for each negative, one minus the share of positives below.

    The mid-rank formulation (``rankdata`` of all scores minus ``rankdata`` within the class,
    three sorts) in one: each distinct score's negatives and positives are counted once
    (:func:`numpy.unique`, one sort), and the count below a score plus half the count at it is
    that difference of mid-ranks exactly (whole and half numbers), so every value is the same
    float as before. Each score's rank among the distinct scores is found by hashing (the few
    hundred distinct point totals are sorted, not the million scores): the ``inverse`` of
    :func:`numpy.unique` in a tenth of its time, NaN and signed zeros grouped alike.
    """
    inv = _distinct_ranks(s)
    k = int(inv.max()) + 1 if len(inv) else 0
    inv_pos, inv_neg = inv[is_pos], inv[~is_pos]
    pos_at = np.bincount(inv_pos, minlength=k)
    neg_at = np.bincount(inv_neg, minlength=k)
    neg_below = (np.cumsum(neg_at) - neg_at) + 0.5 * neg_at  # per distinct score
    pos_below = (np.cumsum(pos_at) - pos_at) + 0.5 * pos_at
    return neg_below[inv_pos] / n0, 1.0 - pos_below[inv_neg] / n1


def _distinct_ranks(s: np.ndarray) -> np.ndarray:
    """``np.unique(s, return_inverse=True)[1]`` for floats: each value's position among the
    sorted distinct values (all NaNs one value, last; -0.0 equal to 0.0).

    >>> _distinct_ranks(np.array([2.0, np.nan, -0.0, 0.0, 2.0, -1.0])).tolist()
    [2, 3, 1, 1, 2, 0]
    """
    codes, distinct = pd.factorize(np.asarray(s, dtype="float64"), use_na_sentinel=False)
    rank = np.empty(len(distinct), dtype=np.intp)
    rank[np.argsort(distinct, kind="stable")] = np.arange(len(distinct))
    return rank[codes]


def auc_with_ci(score: Any, outcome: Any, *, alpha: float = 0.05) -> AucResult:
    """AUC = Mann-Whitney U / (n1 n0) (ties count 1/2) with a DeLong interval.

    The standard error is DeLong's nonparametric one, from each lead's placement value; the
    interval is AUC +/- z se, clipped to [0, 1]. NaN when one class is empty.

    Parameters
    ----------
    score, outcome
        One score and one 0/1 outcome per lead, aligned by position.
    alpha
        1 - confidence level.

    Returns
    -------
    AucResult
        ``auc``, ``auc_ci_low``, ``auc_ci_high``, ``se``, ``n``, ``n_pos``, ``n_neg``, ``method``.

    Examples
    --------
    >>> a = auc_with_ci([1, 2, 3, 4, 5], [0, 1, 0, 1, 1])
    >>> a.auc, a.n_pos, a.n_neg
    (0.8333333333333334, 3, 2)
    >>> auc_with_ci([1, 2, 3, 4], [0, 0, 1, 1]).auc
    1.0
    """
    s, y = _arrays(score, outcome)
    is_pos = y == 1
    n1 = int(is_pos.sum())
    n0 = len(s) - n1
    if n1 == 0 or n0 == 0:
        return AucResult(
            auc=np.nan, auc_ci_low=np.nan, auc_ci_high=np.nan, se=np.nan, n=len(s), n_pos=n1,
            n_neg=n0,
        )  # fmt: skip
    v10, v01 = _placements(s, is_pos, n1, n0)
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / n1 if n1 > 1 else 0.0) + (v01.var(ddof=1) / n0 if n0 > 1 else 0.0)
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    return AucResult(
        auc=auc,
        auc_ci_low=float(max(0.0, auc - z * se)),
        auc_ci_high=float(min(1.0, auc + z * se)),
        se=se,
        n=len(s),
        n_pos=n1,
        n_neg=n0,
    )


# --------------------------------------------------------------------------------------------
# Brier score of a fitted probability


@dataclass(frozen=True)
class BrierResult(Result):
    """Brier score of P(convert | score) from a logistic fit, and the base-rate reference."""

    brier: float = value(Kind.RATIO, "mean squared error of the fitted probability")
    brier_reference: float = value(Kind.RATIO, "Brier of always predicting the base rate")
    skill: float = value(Kind.RATE, "1 - brier / brier_reference (0: no better than the base rate)")
    n: int = value(Kind.COUNT, "leads with an outcome")
    intercept: float = value(Kind.RATIO, "log-odds of converting at score 0")
    slope: float = value(Kind.RATIO, "log-odds per score point")
    slope_ci_low: float = value(Kind.RATIO, "lower bound of the slope's Wald interval")
    slope_ci_high: float = value(Kind.RATIO, "upper bound of the slope's Wald interval")


def fit_probability(score: Any, outcome: Any) -> Any:
    """Logistic regression ``outcome ~ 1 + score``.

    Parameters
    ----------
    score, outcome
        One score and one 0/1 outcome per lead, aligned by position.

    Returns
    -------
    statsmodels.discrete.discrete_model.BinaryResultsWrapper
        The fitted statsmodels Logit results (``params``: intercept, slope per point).
    """
    # the model's own module: statsmodels.api imports time series and graphics too (twice the
    # time, half a second, in a notebook's kernel)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.tools import add_constant

    s, y = _arrays(score, outcome)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # no perfect-prediction check after each step: a prediction for every lead, whose only
        # effect is a warning silenced here
        return Logit(y, add_constant(s, has_constant="add")).fit(
            disp=0, maxiter=200, callback=lambda *_: None
        )


def brier(score: Any, outcome: Any, *, alpha: float = 0.05) -> BrierResult:
    """Brier score (mean squared error) of the probability a logistic fit on the score gives.

    The fit is in-sample (two parameters, so optimism is negligible at CRM sizes). Compare with
    ``brier_reference`` = p(1-p), the Brier of predicting the base rate p for everyone. With one
    class or one distinct score there is nothing to fit: ``brier`` is the reference and the skill 0.

    Parameters
    ----------
    score, outcome
        One score and one 0/1 outcome per lead, aligned by position.
    alpha
        1 - confidence level of the slope's interval.

    Returns
    -------
    BrierResult
        ``brier``, ``brier_reference``, ``skill``, ``n``, ``intercept``, ``slope``,
        ``slope_ci_low``, ``slope_ci_high``.

    Examples
    --------
    >>> b = brier([1, 1, 1, 1], [0, 1, 0, 0])
    >>> b.brier, b.brier_reference, b.skill
    (0.1875, 0.1875, 0.0)
    """
    s, y = _arrays(score, outcome)
    p_bar = float(y.mean()) if len(y) else np.nan
    ref = p_bar * (1 - p_bar)
    # one class or one distinct score (s and y have no NaN: min == max says it without a sort)
    if len(y) == 0 or y.min() == y.max() or s.min() == s.max():
        return BrierResult(ref, ref, 0.0, len(y), np.nan, np.nan, np.nan, np.nan)
    try:
        res = fit_probability(s, y)
        p = res.predict()
        ci = np.asarray(res.conf_int(alpha))
    except np.linalg.LinAlgError:  # a singular fit: no probability to judge, only the reference
        return BrierResult(np.nan, ref, np.nan, len(y), np.nan, np.nan, np.nan, np.nan)
    b = float(np.mean((p - y) ** 2))
    return BrierResult(
        brier=b,
        brier_reference=ref,
        skill=1 - b / ref if ref > 0 else np.nan,
        n=len(y),
        intercept=float(res.params[0]),
        slope=float(res.params[1]),
        slope_ci_low=float(ci[1, 0]),
        slope_ci_high=float(ci[1, 1]),
    )


# --------------------------------------------------------------------------------------------
# Thresholds against SDR capacity


THRESHOLD_COLUMNS: dict[str, Column] = {
    "threshold": Column(
        "Threshold (points)", Kind.SCORE, "leads scoring at least this go to sales"
    ),
    "leads_above": Column("Leads at or above", Kind.COUNT),
    "conversions_captured": Column("Conversions kept", Kind.COUNT),
    "precision": Column("Precision", Kind.RATE, "share of those leads that converted"),
    "precision_ci_low": Column("Precision 95% CI low", Kind.RATE, "Wilson"),
    "precision_ci_high": Column("Precision 95% CI high", Kind.RATE, "Wilson"),
    "recall": Column("Recall", Kind.RATE, "share of all conversions among those leads"),
    "weekly_workload": Column("Leads per week", Kind.COUNT, "sent to sales"),
    "within_capacity": Column("Fits SDR capacity", Kind.FLAG),
}
"""How :func:`threshold_sweep` is shown to a reader: label and kind of each column."""


def threshold_sweep(
    scores: Any,
    outcome: Any,
    created_at: Any = None,
    *,
    capacity_per_week: float,
    weeks: float | None = None,
    max_thresholds: int = 200,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Every candidate MQL threshold t (leads with score >= t go to sales), highest first.

    ``weekly_workload`` = leads_above / weeks, where ``weeks`` is given or is the span of
    ``created_at`` (the inflow period the leads came from) in weeks, at least one. Candidates are
    the distinct scores (thinned to ``max_thresholds`` quantiles when there are more).

    Parameters
    ----------
    scores, outcome
        One score and one 0/1 outcome per lead, aligned by position.
    created_at
        Each lead's creation time (for ``weeks``), or None.
    capacity_per_week
        Leads per week the SDR team can work.
    weeks
        The inflow period in weeks; None: from ``created_at``.
    max_thresholds
        At most this many candidates.
    alpha
        1 - confidence level of the precision intervals.

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``threshold``, ``leads_above``, ``conversions_captured``,
        ``precision``, ``precision_ci_low``, ``precision_ci_high`` (Wilson), ``recall``,
        ``weekly_workload``, ``within_capacity``; shown with :data:`THRESHOLD_COLUMNS`.

    Raises
    ------
    NotEnoughData
        No scores, or neither ``weeks`` nor a creation date.

    Examples
    --------
    >>> sw = threshold_sweep([1, 2, 3, 4], [0, 0, 1, 1], capacity_per_week=1, weeks=2)
    >>> sw[["threshold", "leads_above", "precision", "recall", "within_capacity"]]
       threshold  leads_above  precision  recall  within_capacity
    0        4.0            1   1.000000     0.5             True
    1        3.0            2   1.000000     1.0             True
    2        2.0            3   0.666667     1.0            False
    3        1.0            4   0.500000     1.0            False
    """
    s, y = _arrays(scores, outcome)
    if len(s) == 0:
        raise NotEnoughData("there are no scored leads to set a threshold for")
    if weeks is None:
        c = None if created_at is None else pd.to_datetime(pd.Series(np.asarray(created_at)))
        if c is None or not c.notna().any():
            raise NotEnoughData(
                "the weekly workload of a threshold needs the leads' creation dates, and leads "
                "has no created_at",
                "map the CRM's creation-date column to created_at in data.leads",
            )
        weeks = (c.max() - c.min()) / pd.Timedelta(days=7)
        weeks = max(float(weeks), 1.0)
    elif not np.isfinite(weeks) or weeks <= 0:
        raise ParamsError(f"weeks must be a positive number, got {weeks!r}", fix="e.g. weeks=13")
    cand = np.unique(s)
    if len(cand) > max_thresholds:
        cand = np.unique(np.quantile(s, np.linspace(0, 1, max_thresholds)))
    order = np.sort(s)
    # leads with score >= t: n - (number strictly below t)
    above = len(s) - np.searchsorted(order, cand, side="left")
    conv_sorted = np.concatenate([[0.0], np.cumsum(y[np.argsort(s, kind="stable")])])
    total_conv = conv_sorted[-1]
    captured = total_conv - conv_sorted[np.searchsorted(order, cand, side="left")]
    out = pd.DataFrame(
        {
            "threshold": cand,
            "leads_above": above.astype("int64"),
            "conversions_captured": captured,
        }
    )
    out["precision"] = np.where(above > 0, captured / np.maximum(above, 1), np.nan)
    out["precision_ci_low"], out["precision_ci_high"] = wilson(captured, above, alpha)
    out["recall"] = captured / total_conv if total_conv > 0 else np.nan
    out["weekly_workload"] = above / weeks
    out["within_capacity"] = out["weekly_workload"] <= capacity_per_week
    return out.sort_values("threshold", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class ThresholdChoice(Result):
    """The recommended MQL threshold and what it means for sales."""

    threshold: float = value(Kind.SCORE, "leads scoring at least this go to sales")
    leads_above: int = value(Kind.COUNT, "leads at or above the threshold")
    weekly_workload: float = value(Kind.COUNT, "leads per week sent to sales")
    precision: float = value(Kind.RATE, "share of those leads that converted")
    recall: float = value(Kind.RATE, "share of all conversions among those leads")
    within_capacity: bool = value(Kind.FLAG, "the weekly workload fits SDR capacity")


def recommend_threshold(sweep: pd.DataFrame, capacity_per_week: float) -> ThresholdChoice:
    """The lowest threshold whose weekly workload fits ``capacity_per_week``.

    That is the one that captures the most conversions SDRs can handle. When even the highest
    threshold is over capacity, that one is returned with ``within_capacity=False``.

    Parameters
    ----------
    sweep
        :func:`threshold_sweep` output.
    capacity_per_week
        Leads per week the SDR team can work.

    Returns
    -------
    ThresholdChoice
        ``threshold``, ``leads_above``, ``weekly_workload``, ``precision``, ``recall``,
        ``within_capacity``.

    Raises
    ------
    NotEnoughData
        An empty sweep.

    Examples
    --------
    >>> sw = threshold_sweep([1, 2, 3, 4], [0, 0, 1, 1], capacity_per_week=1, weeks=2)
    >>> rec = recommend_threshold(sw, 1)
    >>> rec.threshold, rec.leads_above, rec.recall
    (3.0, 2, 1.0)
    """
    if sweep.empty:
        raise NotEnoughData("the threshold sweep is empty (no scored leads)")
    fits = sweep.loc[sweep["weekly_workload"] <= capacity_per_week]
    if fits.empty:
        row = sweep.loc[sweep["threshold"].idxmax()]
        ok = False
    else:
        row = fits.loc[fits["threshold"].idxmin()]
        ok = True
    return ThresholdChoice(
        threshold=float(row["threshold"]),
        leads_above=int(row["leads_above"]),
        weekly_workload=float(row["weekly_workload"]),
        precision=float(row["precision"]),
        recall=float(row["recall"]),
        within_capacity=ok,
    )


# --------------------------------------------------------------------------------------------
# Which rules predict?


def _real(x: Any) -> float:
    """A statistic as a float; NaN when the solver returned a complex number (a score interval
    whose equation has no real root, e.g. when every lead with the rule converted)."""
    z = complex(x)
    return z.real if abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)) else float("nan")


RULE_LIFT_COLUMNS: dict[str, Column] = {
    "rule": Column("Rule", Kind.TEXT),
    "category": Column("Category", Kind.TEXT),
    "points": Column("Points", Kind.SCORE, "configured points"),
    "n_with": Column("Leads with the rule", Kind.COUNT),
    "conversions_with": Column("Converted with the rule", Kind.COUNT),
    "rate_with": Column("Conversion with the rule", Kind.RATE),
    "n_without": Column("Leads without the rule", Kind.COUNT),
    "rate_without": Column("Conversion without the rule", Kind.RATE),
    "lift": Column("Rate ratio", Kind.MULTIPLIER, "conversion with the rule over without"),
    "ci_low": Column("Rate ratio 95% CI low", Kind.MULTIPLIER, "Miettinen-Nurminen"),
    "ci_high": Column("Rate ratio 95% CI high", Kind.MULTIPLIER, "Miettinen-Nurminen"),
    "diff": Column("Difference", Kind.POINTS, "conversion with the rule minus without"),
    "diff_ci_low": Column("Difference 95% CI low", Kind.POINTS, "Newcombe"),
    "diff_ci_high": Column("Difference 95% CI high", Kind.POINTS, "Newcombe"),
    "p_value": Column("p-value", Kind.P_VALUE, "score test of the difference"),
    "too_rare": Column("Too rare to judge", Kind.FLAG),
}
"""How :func:`rule_lift` is shown to a reader: label and kind of each column."""


def rule_lift(
    scores: pd.DataFrame,
    outcome: Any,
    config: ScoringConfig,
    *,
    min_n: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Conversion with vs without each rule firing (its ``rule:<name>`` column non-zero).

    The lift is the **ratio** of the two rates with its Miettinen-Nurminen score interval (finite
    when the rule's leads never convert); the difference comes with its Newcombe interval and the
    score-test p-value.

    Parameters
    ----------
    scores
        :func:`leadnb.scoring.engine.score` output (a ``rule:<name>`` column per rule).
    outcome
        One 0/1 outcome per row of ``scores``.
    config
        The parsed scoring rules.
    min_n
        Fewer leads than this with or without the rule: ``too_rare``.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per rule: ``rule``, ``category``, ``points``, ``n_with``, ``conversions_with``,
        ``rate_with``, ``n_without``, ``rate_without``, ``lift`` (rate_with / rate_without),
        ``ci_low``, ``ci_high`` (interval of that ratio), ``diff``, ``diff_ci_low``,
        ``diff_ci_high``, ``p_value``, ``too_rare``; shown with :data:`RULE_LIFT_COLUMNS`.

    Raises
    ------
    NotEnoughData
        No rules are configured.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "demo", "category": "tags",
    ...     "when": {"event_type": "demo_request"}, "points": 10}]}, Path("."))
    >>> sc = pd.DataFrame({"rule:demo": [10.0, 10.0, 0.0, 0.0, 0.0, 0.0]})
    >>> lift = rule_lift(sc, [1, 0, 1, 0, 0, 0], cfg, min_n=2)
    >>> lift[["rule", "n_with", "rate_with", "rate_without", "lift", "too_rare"]]
       rule  n_with  rate_with  rate_without  lift  too_rare
    0  demo       2        0.5          0.25   2.0     False
    """
    y = _arrays(np.zeros(len(outcome)), outcome)[1]
    if len(scores) != len(y):
        raise DataError("scores and outcome have different lengths", table="scores")
    if not config.rules:
        raise NotEnoughData("no scoring rules are configured", "add rules to scoring.rules")
    require_columns(scores, config.rule_columns, table="scores", fix=_SCORES_FIX)
    rows = []
    for r in config.rules:
        hit = scores[r.column].to_numpy() != 0
        n1, n0 = int(hit.sum()), int((~hit).sum())
        c1, c0 = float(y[hit].sum()), float(y[~hit].sum())
        row: dict[str, Any] = {
            "rule": r.name,
            "category": r.category,
            "points": r.points,
            "n_with": n1,
            "conversions_with": c1,
            "rate_with": c1 / n1 if n1 else np.nan,
            "n_without": n0,
            "rate_without": c0 / n0 if n0 else np.nan,
        }
        row["lift"] = row["rate_with"] / row["rate_without"] if c0 > 0 else np.nan
        lo = hi = dlo = dhi = p = np.nan
        if n1 > 0 and n0 > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if c0 > 0:
                    lo, hi = confint_proportions_2indep(
                        c1, n1, c0, n0, compare="ratio", method="score", alpha=alpha
                    )
                dlo, dhi = confint_proportions_2indep(
                    c1, n1, c0, n0, compare="diff", method="newcomb", alpha=alpha
                )
                if c1 + c0 > 0:
                    p = _score_test_2indep(c1, n1, c0, n0, compare="diff", method="score").pvalue
        row.update(
            ci_low=_real(lo),
            ci_high=_real(hi),
            diff=row["rate_with"] - row["rate_without"],
            diff_ci_low=_real(dlo),
            diff_ci_high=_real(dhi),
            p_value=_real(p),
            too_rare=bool(n1 < min_n or n0 < min_n),
        )
        rows.append(row)
    cols = [
        "rule", "category", "points", "n_with", "conversions_with", "rate_with", "n_without",
        "rate_without", "lift", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high",
        "p_value", "too_rare",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


WEIGHT_COLUMNS: dict[str, Column] = {
    "term": Column("Rule", Kind.TEXT, "the rule (or, by category, the category)"),
    "category": Column("Category", Kind.TEXT),
    "configured_points": Column("Configured points", Kind.SCORE),
    "suggested_points": Column("Suggested points", Kind.SCORE, "the fit rescaled to points"),
    "n_with": Column("Leads with it", Kind.COUNT),
    "odds_ratio": Column("Odds ratio", Kind.MULTIPLIER, "with against without, all rules fitted"),
    "coef": Column("Log-odds", Kind.RATIO, "the coefficient of the joint logistic fit"),
    "ci_low": Column("Log-odds 95% CI low", Kind.RATIO, "Wald"),
    "ci_high": Column("Log-odds 95% CI high", Kind.RATIO, "Wald"),
    "p_value": Column("p-value", Kind.P_VALUE, "Wald test of the coefficient"),
    "note": Column("Note", Kind.TEXT, "why a rule has no weight"),
}
"""How :func:`suggested_weights` is shown to a reader: label and kind of each column."""


def suggested_weights(
    scores: pd.DataFrame,
    outcome: Any,
    config: ScoringConfig,
    *,
    by: Literal["rule", "category"] = "rule",
    min_n: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Logistic regression of conversion on rule hits (0/1) or category scores.

    * ``by="rule"``: one 0/1 term per rule. Rules that fire for fewer than ``min_n`` leads (or all
      but ``min_n``), or whose leads all or never convert (perfect separation: no finite
      coefficient) are left out with a note. ``suggested_points`` rescales the coefficients so their
      total absolute size equals the configured points' total over the same rules.
    * ``by="category"``: one term per category score (points), with the same exclusions (counting
      leads with non-zero points); ``configured_points`` is 1 (a point is worth a point today) and
      ``suggested_points`` is the coefficient divided by the mean positive coefficient: the
      multiplier that would make each category's points worth what they predict.

    Parameters
    ----------
    scores
        :func:`leadnb.scoring.engine.score` output.
    outcome
        One 0/1 outcome per row of ``scores``.
    config
        The parsed scoring rules.
    by
        ``rule`` or ``category``.
    min_n
        Fewer leads than this with (or without) a term: left out.
    alpha
        1 - confidence level of the coefficients' intervals.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term``, ``category``, ``configured_points``, ``n_with``, ``note``,
        ``coef`` (log-odds), ``ci_low``, ``ci_high``, ``p_value``, ``odds_ratio``,
        ``suggested_points`` (NaN for terms left out); shown with :data:`WEIGHT_COLUMNS`.
    """
    y = _arrays(np.zeros(len(outcome)), outcome)[1]
    needed = config.rule_columns if by == "rule" else list(config.categories)
    require_columns(scores, needed, table="scores", fix=_SCORES_FIX)
    rows: list[dict[str, Any]] = []
    terms: dict[str, np.ndarray] = {}
    if by == "rule":
        for r in config.rules:
            hit = (scores[r.column].to_numpy() != 0).astype("float64")
            n1 = int(hit.sum())
            c1 = float(y[hit == 1].sum())
            note = ""
            if n1 < min_n or len(hit) - n1 < min_n:
                note = f"too rare to judge (fires for {_count(n1)} of {_count(len(hit))} leads)"
            elif c1 == 0 or c1 == n1:
                note = "all or none of these leads converted: no finite weight"
            rows.append(
                {
                    "term": r.name,
                    "category": r.category,
                    "configured_points": r.points,
                    "n_with": n1,
                    "note": note,
                }  # fmt: skip
            )
            if not note:
                terms[r.name] = hit
    elif by == "category":
        for cat in config.categories:
            x = scores[cat].to_numpy(dtype="float64")
            nz = x != 0
            n1, c1 = int(nz.sum()), float(y[nz].sum())
            note = ""
            if np.unique(x).size < 2:
                note = "no variation: every lead has the same points"
            elif n1 < min_n or len(x) - n1 < min_n:
                note = f"too rare to judge (points for {_count(n1)} of {_count(len(x))} leads)"
            elif c1 == 0 or c1 == n1:
                note = "all or none of these leads converted: no finite weight"
            rows.append(
                {
                    "term": cat,
                    "category": cat,
                    "configured_points": 1.0,
                    "n_with": n1,
                    "note": note,
                }  # fmt: skip
            )
            if not note:
                terms[cat] = x
    else:
        raise ParamsError(f"by must be 'rule' or 'category', got {by!r}")
    out = pd.DataFrame(rows, columns=["term", "category", "configured_points", "n_with", "note"])
    for c in ("coef", "ci_low", "ci_high", "p_value", "odds_ratio", "suggested_points"):
        out[c] = np.nan
    if not terms or len(y) == 0 or y.min() == y.max():  # one class (y is 0/1, no NaN)
        return out
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _fit_logit(y, list(terms.values()))
            ci = np.asarray(res.conf_int(alpha))
    except (np.linalg.LinAlgError, PerfectSeparationError, ValueError):
        # rules that always fire together, or that split the outcome perfectly together
        out.loc[out["term"].isin(list(terms)), "note"] = (
            "no joint fit: these terms fire together or separate the outcome perfectly"
        )
        return out
    idx = out["term"].isin(list(terms))  # the fitted terms' rows, in the order of ``terms``
    out.loc[idx, "coef"] = res.params[1:]
    out.loc[idx, "ci_low"] = ci[1:, 0]
    out.loc[idx, "ci_high"] = ci[1:, 1]
    out.loc[idx, "p_value"] = res.pvalues[1:]
    out["odds_ratio"] = np.exp(out["coef"])
    coef = out.loc[idx, "coef"]
    if by == "rule":
        scale = out.loc[idx, "configured_points"].abs().sum() / coef.abs().sum()
        out.loc[idx, "suggested_points"] = coef * scale
    else:
        pos = coef[coef > 0]
        if len(pos):
            out.loc[idx, "suggested_points"] = coef / pos.mean()
    if not res.mle_retvals.get("converged", True):
        out.loc[idx, "note"] = "the fit did not converge: read with care"
    return out


def _fit_logit(y: np.ndarray, columns: Sequence[np.ndarray]) -> Any:
    """``statsmodels`` Logit of ``y`` on a constant and ``columns`` (Newton, at most 200 steps).

    The numbers are those of ``sm.Logit(y, sm.add_constant(pd.DataFrame(terms))).fit()``,
    computed with less work at a million leads: the design matrix is laid out as that frame's
    array is (column after column, the constant first), so every product sums in the same order;
    the rank check (a QR decomposition of the whole matrix, for degrees of freedom that no shown
    number uses) is skipped; and so is the perfect-prediction check after each step (a
    prediction for every lead, whose only effect is a warning this module silences). A singular
    design still fails the fit (``LinAlgError``), as before.
    """
    from statsmodels.discrete.discrete_model import Logit

    block = np.empty((len(columns) + 1, len(y)))
    block[0] = 1.0
    for j, col in enumerate(columns, start=1):
        block[j] = col
    return Logit(y, block.T, check_rank=False).fit(disp=0, maxiter=200, callback=lambda *_: None)


__all__ = [
    "BAND_COLUMNS",
    "DECISIONS",
    "DECISION_COLUMNS",
    "RULE_LIFT_COLUMNS",
    "THRESHOLD_COLUMNS",
    "WEIGHT_COLUMNS",
    "AucResult",
    "BrierResult",
    "MomentScores",
    "ThresholdChoice",
    "auc_with_ci",
    "brier",
    "compare_decisions",
    "converted_by",
    "creation_times",
    "lead_values",
    "decided_rows",
    "decision_outcomes",
    "fit_probability",
    "leads_known",
    "population_label",
    "recommend_threshold",
    "require_population",
    "rule_lift",
    "score_bands",
    "scores_at_decision",
    "scores_at_decision_and_now",
    "scores_at_moments",
    "suggested_weights",
    "threshold_sweep",
]
