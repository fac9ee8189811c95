"""Creation-cohort conversion matrix: cumulative conversion by months since creation.

Design: a CRM's "conversions this month" mixes leads of every age. Here each lead belongs to the
cohort of its creation period (month by default) and is followed for ``k`` months from its *own*
creation date: cell ``(cohort, k)`` is the share of the cohort's leads that reached the stage
within ``k`` calendar months of creation (``<stage>_at <= created_at + k months``; a stage dated
before creation counts as reached). Rates are cumulative, so they never fall with age.

A cell is shown only when every lead of the cohort has been observed for the full ``k`` months
by ``as_of`` (last day of the cohort period + ``k`` months <= ``as_of``); cells a cohort cannot
have reached yet are ``NaN`` (``converted`` and ``rate``), never zero. When no cell is observable
yet (no lead created by ``as_of``, or the oldest cohort younger than one month plus its own
length) :class:`~leadnb.errors.NotEnoughData` says when the first one will be. The default ages
stop where the data stops (past the latest date in the frame every older age repeats the last
one), so an analysis date long after the data does not build an enormous table. Loops run over
ages only; each age is one vectorised comparison over all leads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadnb.asof import day_end
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.funnel.stages import WIDE, WIDE_FIX
from leadnb.intervals import wilson
from leadnb.results import Column, Kind

FREQS = {"M": "M", "Q": "Q", "W": "W"}
COHORT_COLUMNS = {
    "cohort": Column("Cohort", Kind.TEXT, "creation period"),
    "age_months": Column("Months since creation", Kind.COUNT),
    "n": Column("Leads", Kind.COUNT, "leads created in the cohort"),
    "converted": Column("Converted", Kind.COUNT, "reached the stage within that many months"),
    "rate": Column("Conversion rate", Kind.RATE, "blank: not observable yet"),
    "ci_low": Column("95% CI low", Kind.RATE),
    "ci_high": Column("95% CI high", Kind.RATE),
}
"""How a report shows the :func:`cohort_matrix` table."""


def cohort_labels(created_at: pd.Series, *, freq: str = "M") -> pd.Series:
    """The creation-period label of each lead: ``"2025-01"`` for months, ``"2025Q1"``, or a week.

    Examples
    --------
    >>> created = pd.Series(pd.to_datetime(["2025-01-10", "2025-04-02"]))
    >>> cohort_labels(created).tolist(), cohort_labels(created, freq="Q").tolist()
    (['2025-01', '2025-04'], ['2025Q1', '2025Q2'])
    """
    if freq not in FREQS:
        raise DataError(f"unknown cohort frequency {freq!r}", fix=f"use one of {', '.join(FREQS)}")
    return created_at.dt.to_period(FREQS[freq]).astype("str")


def cohort_matrix(
    wide: pd.DataFrame,
    stage: str,
    as_of: pd.Timestamp,
    *,
    freq: str = "M",
    max_age: int | None = None,
) -> pd.DataFrame:
    """Cumulative conversion to ``stage`` by creation cohort and months since creation.

    Parameters
    ----------
    wide
        The stage-date frame (:func:`leadnb.funnel.stages.stage_dates`): ``created_at`` and
        ``<stage>_at``.
    stage
        The stage a lead converts to.
    as_of
        The analysis date; leads created after it are left out, stages after it do not count.
    freq
        Cohort length: ``M`` month, ``Q`` quarter, ``W`` week.
    max_age
        Oldest age in months; default the oldest cohort's observable age, at most the months from
        its start to the latest date in ``wide`` plus one (older ages would repeat the last one).

    Returns
    -------
    pandas.DataFrame
        One row per cohort and age: ``cohort`` (period label), ``age_months`` (1..``max_age``),
        ``n`` (leads created in the cohort), ``converted`` (reached ``stage`` within that many
        calendar months of their own creation; cumulative), ``rate``, ``ci_low``, ``ci_high``
        (95% Wilson). ``converted``, ``rate`` and the interval are ``NaN`` where the cohort has not
        been observed for the full age by ``as_of``: unknown, never zero.

    Raises
    ------
    NotEnoughData
        No cell is observable by ``as_of``; the message says when the first one will be.

    Examples
    --------
    >>> wide = pd.DataFrame({
    ...     "created_at": pd.to_datetime(["2025-01-10", "2025-01-20", "2025-02-15"]),
    ...     "sql_at": pd.to_datetime(["2025-01-15", "2025-03-25", None])})
    >>> cohort_matrix(wide, "sql", pd.Timestamp("2025-04-30"))[["cohort", "age_months", "n", "converted"]]
        cohort  age_months  n  converted
    0  2025-01           1  2        1.0
    1  2025-01           2  2        1.0
    2  2025-01           3  2        2.0
    3  2025-02           1  1        0.0
    4  2025-02           2  1        0.0
    5  2025-02           3  1        NaN
    """
    require_columns(wide, ["created_at", f"{stage}_at"], table=WIDE, fix=WIDE_FIX)
    at = wide[f"{stage}_at"]
    as_of = pd.Timestamp(as_of).normalize()
    end = day_end(as_of)
    keep = wide["created_at"].notna() & (wide["created_at"] < end)
    created = wide.loc[keep, "created_at"].astype("datetime64[us]")
    at = at[keep].astype("datetime64[us]")
    if freq not in FREQS:
        raise DataError(f"unknown cohort frequency {freq!r}", fix=f"use one of {', '.join(FREQS)}")
    cols = ["cohort", "age_months", "n", "converted", "rate", "ci_low", "ci_high"]
    if created.empty:
        raise NotEnoughData(
            f"no lead was created by the analysis date {as_of:%Y-%m-%d}",
            "it appears in the first run after the first lead's creation date",
        )
    codes, cohorts = pd.factorize(created.dt.to_period(FREQS[freq]), sort=True)
    cohort_end = pd.Series(
        [p.end_time.normalize() for p in cohorts], index=cohorts.astype("str").to_numpy()
    )
    first_mature = cohort_end.min() + pd.DateOffset(months=1)
    if first_mature > as_of:
        raise NotEnoughData(
            f"no creation cohort has been followed for a full month yet (the first, "
            f"{cohort_end.index[0]}, completes its first month on {first_mature:%Y-%m-%d})",
            f"it appears in the run of {first_mature:%Y-%m-%d} or later",
        )
    n = pd.Series(np.bincount(codes, minlength=len(cohort_end)), index=cohort_end.index)
    if max_age is None:
        oldest = cohort_end.min()
        months = (as_of.year - oldest.year) * 12 + (as_of.month - oldest.month)
        # past the latest date in the data every older age repeats the last one
        start = pd.Timestamp(cohorts[0].start_time)
        latest = max(created.max(), at[at < end].max() if (at < end).any() else created.max())
        span = (latest.year - start.year) * 12 + (latest.month - start.month) + 1
        max_age = max(min(int(months), int(span)), 1)
    # only leads that reached the stage by as_of can count: calendar offsets for those alone
    reached = (at.notna() & (at < end)).to_numpy()
    r_created, r_at, r_codes = created[reached], at[reached], codes[reached]
    frames = []
    for k in range(1, max_age + 1):
        offset = pd.DateOffset(months=k)
        hit = (r_at <= r_created + offset).to_numpy()
        conv = np.bincount(r_codes[hit], minlength=len(cohort_end))
        mature = (cohort_end + offset) <= as_of
        frames.append(
            pd.DataFrame(
                {
                    "cohort": cohort_end.index,
                    "age_months": k,
                    "n": n.to_numpy(),
                    "converted": np.where(mature.to_numpy(), conv.astype(float), np.nan),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["cohort"] = out["cohort"].astype("str")
    out = out.sort_values(["cohort", "age_months"], ignore_index=True)
    out["rate"] = out["converted"] / out["n"].where(out["n"] > 0)
    lo, hi = wilson(out["converted"].fillna(0), out["n"])
    mature = out["converted"].notna().to_numpy()
    out["ci_low"] = np.where(mature, lo, np.nan)
    out["ci_high"] = np.where(mature, hi, np.nan)
    return out[cols]


def cohort_pivot(matrix: pd.DataFrame, *, value: str = "rate") -> pd.DataFrame:
    """Cohorts as rows, ``age_months`` as columns, ``value`` in the cells (NaN stays NaN).

    Examples
    --------
    >>> m = pd.DataFrame({"cohort": ["2025-01", "2025-01", "2025-02"], "age_months": [1, 2, 1],
    ...                   "rate": [0.1, 0.2, 0.15]})
    >>> cohort_pivot(m)  # doctest: +NORMALIZE_WHITESPACE
    age_months     1    2
    cohort
    2025-01     0.10  0.2
    2025-02     0.15  NaN
    """
    return matrix.pivot(index="cohort", columns="age_months", values=value).sort_index()


__all__ = ["COHORT_COLUMNS", "cohort_labels", "cohort_matrix", "cohort_pivot"]
