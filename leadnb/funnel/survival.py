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

Durations are days (``Timedelta / 1 day``). A ``to_stage`` or lost date before the start date
(e.g. strict mode, or a stage dated before creation) is clipped to 0 days and counted in
``before_start``. Loops run over groups only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times

from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.errors import NotEnoughData
from leadnb.funnel.stages import BY_COLUMNS, WIDE, WIDE_FIX
from leadnb.results import Column, Kind

HORIZONS = (30, 60, 90)
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


def _fit_km(d: pd.DataFrame, timeline: Sequence[float] | None = None) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(d["duration"], d["event"], timeline=timeline)


def _fit_aj(d: pd.DataFrame, seed: int) -> AalenJohansenFitter:
    state = np.random.get_state()  # noqa: NPY002 (lifelines seeds the global RNG)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tied event times")
            aj = AalenJohansenFitter(jitter_level=JITTER, seed=seed, calculate_variance=False)
            aj.fit(d["cr_duration"] + SHIFT, d["cr_event"], event_of_interest=1)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return aj


def cumulative_incidence_at(aj: AalenJohansenFitter, times: Sequence[float]) -> np.ndarray:
    """The fitted Aalen-Johansen curve at ``times`` (days), robust to lifelines' jitter.

    An event on day ``t`` counts on day ``t`` (module docstring: ``SHIFT`` and ``JITTER``).
    """
    t = np.asarray(times, dtype=float) + SHIFT + 10 * JITTER
    curve = aj.cumulative_density_.iloc[:, 0]
    at = np.asarray(curve.index, dtype=float)
    val = curve.to_numpy(dtype=float)
    i = np.searchsorted(at, t, side="right") - 1
    return np.where(i >= 0, val[np.clip(i, 0, None)], 0.0)


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
    km = _fit_km(d)
    med = float(km.median_survival_time_)
    ci = median_survival_times(km.confidence_interval_).to_numpy().ravel().astype(float)
    lo, hi = np.sort(ci)
    fin = lambda v: v if np.isfinite(v) else np.nan  # noqa: E731
    row.update(median_days=fin(med), median_ci_low=fin(lo), median_ci_high=fin(hi))
    reach = float(d["duration"].max())
    surv = np.asarray(km.survival_function_at_times(list(HORIZONS)), dtype=float)
    ok = np.asarray(HORIZONS, dtype=float) <= reach
    p = np.where(ok, 1 - surv, np.nan)
    if (d["cr_event"] > 0).any() and (d["cr_event"] == 1).any():
        cif = cumulative_incidence_at(_fit_aj(d, seed), HORIZONS)
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
        km = _fit_km(g, timeline=grid)
        band = km.confidence_interval_survival_function_.to_numpy()
        f = pd.DataFrame(
            {
                "from_stage": from_stage,
                "to_stage": to_stage,
                "days": grid.astype(int),
                "converted": 1 - km.survival_function_.to_numpy().ravel(),
                "ci_low": 1 - band[:, 1],
                "ci_high": 1 - band[:, 0],
                "at_risk": (g["duration"].to_numpy()[None, :] >= grid[:, None]).sum(axis=1),
            }
        )
        if (g["cr_event"] == 1).any():
            f["cif"] = cumulative_incidence_at(_fit_aj(g, seed), grid)
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
