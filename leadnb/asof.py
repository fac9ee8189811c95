"""The analysis cut: what is known by the analysis date.

``as_of`` is a whole day. Everything dated before the end of that day (``as_of + 1 day`` at
midnight, exclusive) is known; anything later is not. Every module asks this module, so a
stage entered at 23:59:59.999999 on ``as_of`` counts the same in scoring, the funnel, cohorts,
LVR, ROI and A/B readouts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

ONE_DAY = pd.Timedelta(days=1)


def day_end(as_of: Any) -> pd.Timestamp:
    """The exclusive upper bound of the analysis date (midnight after ``as_of``).

    >>> day_end("2026-06-30 15:00")
    Timestamp('2026-07-01 00:00:00')
    """
    return pd.Timestamp(as_of).normalize() + ONE_DAY


def known(ts: pd.Series, as_of: Any) -> pd.Series:
    """True where ``ts`` is dated on or before the analysis day (missing values: False).

    >>> ts = pd.Series([pd.Timestamp("2026-06-30 23:59:59.999999"), pd.Timestamp("2026-07-01"), None])
    >>> known(ts, "2026-06-30").tolist()
    [True, False, False]
    """
    s = pd.Series(ts)
    return (s < day_end(as_of)).fillna(False).astype(bool)


def upto(ts: pd.Series, as_of: Any) -> pd.Series:
    """``ts`` with dates after the analysis day made missing (NaT)."""
    s = pd.Series(ts)
    return s.where(s < day_end(as_of))


def date_text(ts: Any) -> str:
    """A date for a sentence: ``"2026-06-30"``, or ``"an unknown date"`` when missing.

    >>> date_text(pd.Timestamp("2026-06-30 13:00")), date_text(pd.NaT)
    ('2026-06-30', 'an unknown date')
    """
    return "an unknown date" if pd.isna(ts) else f"{pd.Timestamp(ts):%Y-%m-%d}"


__all__ = ["ONE_DAY", "date_text", "day_end", "known", "upto"]
