"""Time to stage with censoring: Kaplan-Meier and Aalen-Johansen from the wide stage-date frame.

Design: "average days to SQL" over the leads that converted ignores every lead still in
progress and so always looks fast. Here every lead that reached ``from_stage`` by ``as_of`` is
followed from that date:

* **Kaplan-Meier** (lifelines ``KaplanMeierFitter``): the event is reaching ``to_stage`` by
  ``as_of``; leads that have not are censored at the end of the ``as_of`` day (lost leads stay at risk until
  ``as_of``, since CRMs reopen them). ``p30/p60/p90`` are ``1 - S(t)``: the probability of
  converting within 30/60/90 days; ``NaN`` when nobody was followed that long. The median and its
  95% interval come from lifelines (log(-log) Greenwood band); ``NaN`` means the curve never
  falls to one half (fewer than half ever convert): "not reached", never a mean over converters.
* **Aalen-Johansen** (lifelines ``AalenJohansenFitter``): reaching ``to_stage`` competes with
  being ``lost`` first; ``cif30/cif60/cif90`` are cumulative incidences of converting before being
  lost. Two lifelines details are handled (checked against statsmodels ``CumIncidenceRight``
  in the tests): it breaks tied event times by jittering them by up to ``JITTER`` days with the
  *global* numpy RNG, so we seed it (``seed``), restore the global state afterwards and read the
  curve at ``t + 10 * JITTER`` (an event on day ``t`` exactly counts on day ``t``); and it sets
  the curve's first row to zero, which would drop same-day conversions (duration 0), so
  durations are shifted by ``SHIFT`` = 1 day before fitting and read back shifted.

Both estimators are computed here in numpy (``_KM``, ``_aalen_johansen``), step by step as
lifelines computes them (its event table, log-sum Kaplan-Meier, exponential Greenwood band,
median read, jitter draws), so the numbers are lifelines' to the last bit
(``tests/test_survival_engine.py`` compares them exactly, also on hypothesis-drawn data): one
sort per fit instead of lifelines' per-fit pandas groupbys, which took 20 s for the cohort
report's 35 fits at a million leads.

Durations are days (``Timedelta / 1 day``). A ``to_stage`` or lost date before the start date
(e.g. strict mode, or a stage dated before creation) is clipped to 0 days and counted in
``before_start``. Loops run over groups only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.errors import NotEnoughData
from leadnb.funnel.stages import BY_COLUMNS, WIDE, WIDE_FIX
from leadnb.results import Column, Kind

if TYPE_CHECKING:
    from lifelines import AalenJohansenFitter

HORIZONS = (30, 60, 90)
ALPHA = 0.05  # the Kaplan-Meier band is 95%
JITTER = 1e-4
SHIFT = 1.0  # days added before fitting AJ, so no event sits at lifelines' zeroed first row
TABLE_COLUMNS = [
    "from_stage",
    "to_stage",
    "n",
    "events",
    "lost",
    "before_start",
    "median_days",
    "median_ci_low",
    "median_ci_high",
    "p30",
    "p60",
    "p90",
    "cif30",
    "cif60",
    "cif90",
]

TIME_TO_STAGE_COLUMNS = {
    "from_stage": Column("From stage", Kind.TEXT),
    "to_stage": Column("To stage", Kind.TEXT),
    **BY_COLUMNS,
    "n": Column("Leads followed", Kind.COUNT, "leads that reached the from-stage"),
    "events": Column("Converted", Kind.COUNT, "reached the to-stage by the analysis date"),
    "lost": Column("Lost first", Kind.COUNT, "marked lost before converting"),
    "before_start": Column("Dated before start", Kind.COUNT, "counted at day 0"),
    "median_days": Column("Median time", Kind.DAYS, "blank: fewer than half convert"),
    "median_ci_low": Column("Median 95% CI low", Kind.DAYS),
    "median_ci_high": Column("Median 95% CI high", Kind.DAYS),
    **{
        f"p{h}": Column(f"Within {h} days", Kind.RATE, "Kaplan-Meier share converted")
        for h in HORIZONS
    },
    **{
        f"cif{h}": Column(
            f"Within {h} days, before being lost", Kind.RATE, "Aalen-Johansen, lost competing"
        )
        for h in HORIZONS
    },
}
"""How a report shows the :func:`time_to_stage` table (stage names through
:func:`leadnb.funnel.stages.with_stage_names`)."""


def _col(wide: pd.DataFrame, stage: str) -> pd.Series:
    name = "created_at" if stage == "lead" and "lead_at" not in wide.columns else f"{stage}_at"
    require_columns(wide, [name], table=WIDE, fix=WIDE_FIX)
    return wide[name].astype("datetime64[us]")


def survival_data(
    wide: pd.DataFrame,
    from_stage: str,
    to_stage: str,
    as_of: pd.Timestamp,
    *,
    lost_stage: str | None = "lost",
) -> pd.DataFrame:
    """Survival data for the leads that reached ``from_stage`` by ``as_of``, followed to ``to_stage``.

    Parameters
    ----------
    wide
        The stage-date frame (:func:`leadnb.funnel.stages.stage_dates`).
    from_stage, to_stage
        Where follow-up starts and the event (``lead`` is creation).
    as_of
        The analysis date; leads are censored at the end of that day.
    lost_stage
        The competing stage (None: no competing risk).

    Returns
    -------
    pandas.DataFrame
        One row per lead (index kept from ``wide``): ``duration`` (days to ``to_stage``, or to
        the end of ``as_of``), ``event`` (1: reached it by ``as_of``), ``cr_duration`` and
        ``cr_event`` for competing risks (1 = reached ``to_stage`` first, 2 = lost first,
        0 = censored) and ``before_start`` (the date was before the start and clipped to 0 days).

    Examples
    --------
    >>> wide = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01", "2026-01-01"]),
    ...                      "sql_at": pd.to_datetime(["2026-01-11", None]),
    ...                      "lost_at": pd.to_datetime([None, "2026-01-06"])})
    >>> survival_data(wide, "lead", "sql", pd.Timestamp("2026-01-30"))
       duration  event  cr_duration  cr_event  before_start
    0      10.0      1         10.0         1         False
    1      30.0      0          5.0         2         False
    """
    cut = day_end(as_of)
    start = _col(wide, from_stage)
    end = _col(wide, to_stage)
    pop = start.notna() & (start < cut)
    start, end = start[pop], end[pop]
    day = pd.Timedelta(days=1)
    follow = (cut - start) / day
    reached = end.notna() & (end < cut)
    to_days = (end - start) / day
    before = reached & (to_days < 0)
    to_days = to_days.clip(lower=0)
    duration = to_days.where(reached, follow)
    out = pd.DataFrame({"duration": duration, "event": reached.astype(int)})
    cr_event = out["event"].copy()
    cr_duration = out["duration"].copy()
    if lost_stage is not None and f"{lost_stage}_at" in wide.columns:
        lost_at = wide.loc[pop, f"{lost_stage}_at"].astype("datetime64[us]")
        lost_days = ((lost_at - start) / day).clip(lower=0)
        lost_first = (lost_at.notna() & (lost_at < cut) & (~reached | (lost_at < end))).to_numpy()
        before = before | (lost_first & ((lost_at - start) / day < 0).to_numpy())
        cr_event = cr_event.where(~lost_first, 2)
        cr_duration = cr_duration.where(~lost_first, lost_days)
    out["cr_duration"] = cr_duration.astype(float)
    out["cr_event"] = cr_event.astype(int)
    out["before_start"] = before.to_numpy(bool)
    return out


def _groups(
    wide: pd.DataFrame, data: pd.DataFrame, by: str | None
) -> list[tuple[object, pd.DataFrame]]:
    if by is None:
        return [(None, data)]
    require_columns(wide, [by], table=WIDE, fix=f"build it with stage_dates(..., keep=[{by!r}])")
    keys = wide.loc[data.index, by]
    return [(k, g) for k, g in data.groupby(keys.to_numpy(), sort=True, dropna=True)]


def _event_table(t: np.ndarray, *counted: np.ndarray) -> tuple[np.ndarray, ...]:
    """lifelines' ``survival_table_from_events`` (unit weights, no late entry) in numpy.

    Returns the distinct times of ``t`` (with the birth row at ``min(0, t.min())`` first, as
    lifelines adds it), the leads at risk just before each time, and per time how many of the
    leads leaving then are flagged in each of the boolean arrays ``counted``. One sort, no
    per-time loop.
    """
    order = np.argsort(t)
    ts = t[order]
    first = np.empty(len(ts), dtype=bool)
    first[:1] = True
    np.not_equal(ts[1:], ts[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    times = ts[starts]
    removed = np.diff(np.append(starts, len(ts)))
    counts = [
        np.add.reduceat(np.asarray(c, dtype=bool)[order], starts, dtype=np.int64) for c in counted
    ]
    birth = min(0.0, float(ts[0]))
    if times[0] != birth:  # everyone enters at the birth row
        times = np.concatenate([[birth], times])
        removed = np.concatenate([[0], removed])
        counts = [np.concatenate([[0], c]) for c in counts]
    at_risk = len(t) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    return times, at_risk.astype(np.int64), *counts


class _KM:
    """A Kaplan-Meier fit with lifelines' arithmetic (``KaplanMeierFitter().fit``, alpha 0.05).

    ``times``: the distinct durations (and the birth row); ``at_risk`` just before each time;
    ``survival``: S(t); ``cumulative_sq``: Greenwood's sum, for :meth:`band`. Built from
    :func:`_event_table`'s output (``deaths`` per time), every step as lifelines computes it,
    so the numbers are lifelines' to the last bit (tested against ``KaplanMeierFitter``).
    """

    def __init__(self, times: np.ndarray, at_risk: np.ndarray, deaths: np.ndarray) -> None:
        self.times, self.at_risk = times, at_risk
        pop = at_risk
        with np.errstate(divide="ignore", invalid="ignore"):
            self.log_estimate = np.cumsum(np.log(pop - deaths) - np.log(pop))
            popf = pop.astype(np.uint64)
            var = deaths / (popf * (popf - deaths))
        self.cumulative_sq = np.cumsum(np.where(var == np.inf, 0.0, var))
        self.survival = np.exp(self.log_estimate)

    @classmethod
    def fit(cls, durations: np.ndarray, events: np.ndarray) -> _KM:
        """Fit on durations (days) and events (nonzero: the event happened)."""
        t = np.asarray(durations, dtype=float)
        times, at_risk, deaths = _event_table(t, np.asarray(events) != 0)
        return cls(times, at_risk, deaths)

    def at(self, timeline: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """S, lower and upper band on ``timeline`` (lifelines' ``timeline=``: last value at or
        before each time)."""
        grid = np.asarray(timeline, dtype=float)
        i = np.searchsorted(self.times, grid, side="right") - 1
        ok = i >= 0
        j = np.clip(i, 0, None)
        log_est = np.where(ok, self.log_estimate[j], np.nan)
        sq = np.where(ok, self.cumulative_sq[j], np.nan)
        return (np.exp(log_est), *_greenwood_band(np.exp(log_est), sq))

    def band(self) -> tuple[np.ndarray, np.ndarray]:
        return _greenwood_band(self.survival, self.cumulative_sq)

    def survival_at(self, times: Sequence[float]) -> np.ndarray:
        """S at each time (lifelines ``survival_function_at_times``: the step at or before it)."""
        i = np.searchsorted(self.times, np.asarray(times, dtype=float), side="right") - 1
        return np.where(i >= 0, self.survival[np.clip(i, 0, None)], np.nan)


def _greenwood_band(s: np.ndarray, sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = norm.ppf(1 - ALPHA / 2)  # lifelines' inv_normal_cdf
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(s)
        lo = np.exp(-np.exp(np.log(-v) - z * np.sqrt(sq) / v))
        hi = np.exp(-np.exp(np.log(-v) + z * np.sqrt(sq) / v))
    return np.where(np.isnan(lo), 1.0, lo), np.where(np.isnan(hi), 1.0, hi)


def _first_at_or_below(times: np.ndarray, s: np.ndarray, q: float = 0.5) -> float:
    """lifelines ``qth_survival_time``: the first time S falls to ``q`` (inf when it never does)."""
    if s[-1] > q:
        return np.inf
    return float(times[np.searchsorted(-s, -q, side="left")])


def _tied_across_types(t: np.ndarray, e: np.ndarray) -> bool:
    """lifelines ``AalenJohansenFitter._check_for_duplicates`` (``t``, ``e``: the events only):
    an event whose time other events share while no other event has both its time and its
    type. As lifelines has it, a time shared only by pairs (two events of type 1 and two of
    type 2 on one day) is no tie: every one of those events repeats its time and its type."""
    if len(t) < 2:
        return False
    order = np.lexsort((e, t))  # by time, then type: equal keys sit side by side
    ts, es = t[order], e[order]
    new_t = np.concatenate([[True], ts[1:] != ts[:-1]])
    new_te = new_t | np.concatenate([[True], es[1:] != es[:-1]])
    by_t, by_te = np.cumsum(new_t) - 1, np.cumsum(new_te) - 1
    shared_time = np.bincount(by_t)[by_t] > 1
    alone_in_type = np.bincount(by_te)[by_te] == 1
    return bool(np.any(shared_time & alone_in_type))


def _aalen_johansen(durations: np.ndarray, events: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """lifelines ``AalenJohansenFitter(jitter_level=JITTER, seed=seed).fit(durations, events,
    event_of_interest=1).cumulative_density_`` in numpy: (times, cumulative incidence).

    Tied event times of different types are broken as lifelines breaks them: every event time
    moves by the same ``uniform(-1, 1) * JITTER`` draws of ``RandomState(seed)``, again and again
    until no such tie is left (lifelines re-seeds the global RNG each round; a local
    ``RandomState`` gives the same draws and leaves the global state alone).
    """
    t = np.array(durations, dtype=float)
    e = np.asarray(events).astype(int)
    ev = e != 0
    if _tied_across_types(t[ev], e[ev]):
        shift = np.random.RandomState(seed).uniform(low=-1, high=1, size=int(ev.sum())) * JITTER
        te = t[ev]
        while True:
            te = te + shift
            if not _tied_across_types(te, e[ev]):
                break
        t[ev] = te
    times, at_risk, deaths, observed_1 = _event_table(t, ev, e == 1)
    km = _KM(times, at_risk, deaths)
    lagged = np.concatenate([[np.nan], km.survival[:-1]])
    step = observed_1 / km.at_risk * lagged
    cif = np.concatenate([[0.0], np.cumsum(step[1:])])
    return km.times, cif


def cumulative_incidence_at(aj: AalenJohansenFitter, times: Sequence[float]) -> np.ndarray:
    """The fitted Aalen-Johansen curve at ``times`` (days), robust to lifelines' jitter.

    An event on day ``t`` counts on day ``t`` (module docstring: ``SHIFT`` and ``JITTER``).
    """
    curve = aj.cumulative_density_.iloc[:, 0]
    return _cif_at(np.asarray(curve.index, dtype=float), curve.to_numpy(dtype=float), times)


def _cif_at(at: np.ndarray, val: np.ndarray, times: Sequence[float]) -> np.ndarray:
    t = np.asarray(times, dtype=float) + SHIFT + 10 * JITTER
    i = np.searchsorted(at, t, side="right") - 1
    return np.where(i >= 0, val[np.clip(i, 0, None)], 0.0)


def _cif(d: pd.DataFrame, seed: int, times: Sequence[float]) -> np.ndarray:
    at, val = _aalen_johansen(d["cr_duration"].to_numpy() + SHIFT, d["cr_event"].to_numpy(), seed)
    return _cif_at(at, val, times)


def _row(d: pd.DataFrame, seed: int) -> dict[str, float]:
    n = len(d)
    row: dict[str, float] = {
        "n": n,
        "events": int(d["event"].sum()),
        "lost": int((d["cr_event"] == 2).sum()),
        "before_start": int(d["before_start"].sum()),
    }
    nan = dict.fromkeys(TABLE_COLUMNS[6:], np.nan)
    if n == 0:
        return {**row, **nan}
    km = _KM.fit(d["duration"].to_numpy(), d["event"].to_numpy())
    med = _first_at_or_below(km.times, km.survival)
    band = km.band()
    lo, hi = np.sort([_first_at_or_below(km.times, b) for b in band])
    fin = lambda v: v if np.isfinite(v) else np.nan  # noqa: E731
    row.update(median_days=fin(med), median_ci_low=fin(lo), median_ci_high=fin(hi))
    reach = float(d["duration"].max())
    surv = km.survival_at(HORIZONS)
    ok = np.asarray(HORIZONS, dtype=float) <= reach
    p = np.where(ok, 1 - surv, np.nan)
    if (d["cr_event"] > 0).any() and (d["cr_event"] == 1).any():
        cif = _cif(d, seed, HORIZONS)
    else:
        cif = np.zeros(len(HORIZONS))
    cif = np.where(np.asarray(HORIZONS, dtype=float) <= float(d["cr_duration"].max()), cif, np.nan)
    for i, h in enumerate(HORIZONS):
        row[f"p{h}"] = float(p[i])
        row[f"cif{h}"] = float(cif[i])
    return row


def time_to_stage(
    wide: pd.DataFrame,
    from_stage: str,
    to_stage: str,
    as_of: pd.Timestamp,
    *,
    by: str | None = None,
    lost_stage: str | None = "lost",
    seed: int = 0,
) -> pd.DataFrame:
    """Censoring-aware time from ``from_stage`` to ``to_stage``: one row (per ``by`` group).

    Parameters
    ----------
    wide
        The stage-date frame (:func:`leadnb.funnel.stages.stage_dates`).
    from_stage, to_stage
        Where follow-up starts and the event (``lead`` is creation).
    as_of
        The analysis date; leads that have not converted are censored at the end of that day.
    by
        A column of ``wide`` to compute one row per group of.
    lost_stage
        The competing stage for the Aalen-Johansen columns (None: none competes).
    seed
        Seed for lifelines' tie-breaking jitter (the global numpy state is restored).

    Returns
    -------
    pandas.DataFrame
        Columns ``from_stage``, ``to_stage``, [``by``], ``n`` (leads followed), ``events``
        (converted by ``as_of``), ``lost`` (lost first), ``before_start`` (dated before the start),
        ``median_days``, ``median_ci_low``, ``median_ci_high`` (Kaplan-Meier median and its 95%
        interval; ``NaN`` when not reached), ``p30``, ``p60``, ``p90`` (Kaplan-Meier share converted
        within 30/60/90 days; ``NaN`` beyond the follow-up) and ``cif30``, ``cif60``, ``cif90``
        (Aalen-Johansen: converted before being lost).

    Examples
    --------
    >>> created = pd.to_datetime(["2026-01-01"] * 4)
    >>> wide = pd.DataFrame({"created_at": created, "lead_at": created,
    ...                      "sql_at": pd.to_datetime(["2026-01-11", "2026-01-21", None, None]),
    ...                      "lost_at": pd.to_datetime([None, None, "2026-01-16", None])})
    >>> row = time_to_stage(wide, "lead", "sql", pd.Timestamp("2026-04-11")).iloc[0]
    >>> int(row.n), int(row.events), float(row.median_days), float(row.p30), round(float(row.cif30), 3)
    (4, 2, 20.0, 0.5, 0.5)
    """
    data = survival_data(wide, from_stage, to_stage, as_of, lost_stage=lost_stage)
    rows = []
    for key, g in _groups(wide, data, by):
        r = {"from_stage": from_stage, "to_stage": to_stage, **_row(g, seed)}
        if by is not None:
            r[by] = key
        rows.append(r)
    cols = TABLE_COLUMNS[:2] + ([by] if by else []) + TABLE_COLUMNS[2:]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("n", "events", "lost", "before_start"):
        out[c] = out[c].astype(int)
    return out


def time_to_stage_table(
    wide: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    as_of: pd.Timestamp,
    *,
    by: str | None = None,
    lost_stage: str | None = "lost",
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`time_to_stage` for several ``(from_stage, to_stage)`` pairs, stacked.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`time_to_stage`, one block of rows per pair, in the order given.
    """
    return pd.concat(
        [
            time_to_stage(wide, a, b, as_of, by=by, lost_stage=lost_stage, seed=seed)
            for a, b in pairs
        ],
        ignore_index=True,
    )


def survival_curves(
    wide: pd.DataFrame,
    from_stage: str,
    to_stage: str,
    as_of: pd.Timestamp,
    *,
    by: str | None = None,
    lost_stage: str | None = "lost",
    max_days: int = 180,
    seed: int = 0,
) -> pd.DataFrame:
    """Curve table for plotting: one row per whole day 0..``max_days`` (and ``by`` group).

    Parameters
    ----------
    wide, from_stage, to_stage, as_of, by, lost_stage, seed
        As in :func:`time_to_stage`.
    max_days
        Last day of the curve.

    Returns
    -------
    pandas.DataFrame
        Columns ``from_stage``, ``to_stage``, [``by``], ``days``, ``converted`` (Kaplan-Meier
        ``1 - S``), ``ci_low``, ``ci_high`` (its 95% band), ``at_risk`` and ``cif``
        (Aalen-Johansen, lost competing). Days beyond a group's longest follow-up are left out.

    Raises
    ------
    NotEnoughData
        No lead reached ``from_stage`` by ``as_of`` (nothing to draw).

    Examples
    --------
    >>> created = pd.to_datetime(["2026-01-01"] * 2)
    >>> wide = pd.DataFrame({"created_at": created, "lead_at": created,
    ...                      "sql_at": pd.to_datetime(["2026-01-03", None])})
    >>> survival_curves(wide, "lead", "sql", pd.Timestamp("2026-01-04"))[["days", "converted", "at_risk", "cif"]]
       days  converted  at_risk  cif
    0     0        0.0        2  0.0
    1     1        0.0        2  0.0
    2     2        0.5        2  0.5
    3     3        0.5        1  0.5
    4     4        0.5        1  0.5
    """
    data = survival_data(wide, from_stage, to_stage, as_of, lost_stage=lost_stage)
    frames = []
    for key, g in _groups(wide, data, by):
        if g.empty:
            continue
        last = int(min(max_days, np.floor(g["duration"].max())))
        grid = np.arange(0, last + 1, dtype=float)
        dur = g["duration"].to_numpy()
        surv, s_lo, s_hi = _KM.fit(dur, g["event"].to_numpy()).at(grid)
        f = pd.DataFrame(
            {
                "from_stage": from_stage,
                "to_stage": to_stage,
                "days": grid.astype(int),
                "converted": 1 - surv,
                "ci_low": 1 - s_hi,
                "ci_high": 1 - s_lo,
                "at_risk": len(dur) - np.searchsorted(np.sort(dur), grid, side="left"),
            }
        )
        if (g["cr_event"] == 1).any():
            f["cif"] = _cif(g, seed, grid)
        else:
            f["cif"] = 0.0
        if by is not None:
            f.insert(2, by, key)
        frames.append(f)
    if not frames:
        raise NotEnoughData(
            f"no lead has reached {from_stage} by {pd.Timestamp(as_of):%Y-%m-%d}, so there is no "
            f"time from {from_stage} to {to_stage} to draw",
            f"it appears in the first run after a lead reaches {from_stage}",
        )
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "HORIZONS",
    "TIME_TO_STAGE_COLUMNS",
    "cumulative_incidence_at",
    "survival_curves",
    "survival_data",
    "time_to_stage",
    "time_to_stage_table",
]
