"""Small statistics shared by the notebooks' tables."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["wilson"]


def wilson(count: Any, nobs: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``count / nobs`` (statsmodels ``proportion_confint``); NaN where
    ``nobs`` is 0 (a rate with no denominator has no interval). The bounds at 0 and at ``nobs``
    conversions are exactly 0 and 1 (statsmodels leaves rounding residue such as 1.7e-18)."""
    # imported here: statsmodels takes over a second to import, and the command line imports
    # this module (through the funnel config) only to check params
    from statsmodels.stats.proportion import proportion_confint

    count = np.asarray(count, dtype="float64")
    nobs = np.asarray(nobs, dtype="float64")
    safe = np.where(nobs > 0, nobs, 1.0)
    lo, hi = proportion_confint(count, safe, alpha=alpha, method="wilson")
    lo = np.where(nobs > 0, np.where(count <= 0, 0.0, lo), np.nan)
    hi = np.where(nobs > 0, np.where(count >= nobs, 1.0, hi), np.nan)
    return lo, hi
