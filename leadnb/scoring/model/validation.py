"""How good are the probabilities? Validation numbers and the contract's table (issue 17, item 3).

Design. :func:`check_probabilities` judges one set of out-of-sample probabilities: AUC with its
DeLong interval (:func:`~leadnb.scoring.calibration.auc_with_ci`), Brier score and log loss
against the base rate's, the calibration slope and intercept (logistic recalibration of the
outcome on ``logit(p)``, fitted by Newton-Raphson and tested against statsmodels).
:func:`reliability_table` gives a reliability diagram's numbers with Wilson intervals;
:func:`validation_frame` every number per model and split, and :func:`model_validation` the
``model_validation.csv`` table of the public contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadnb.errors import DataError, ParamsError
from leadnb.intervals import wilson
from leadnb.results import Column, Kind, Metrics, Result, value
from leadnb.scoring import calibration as cal
from leadnb.scoring.model.fit import FittedModels

__all__ = [
    "MODEL_VALIDATION_COLUMNS",
    "RELIABILITY_COLUMNS",
    "ModelCheck",
    "check_probabilities",
    "model_metrics",
    "model_validation",
    "reliability_table",
    "validation_frame",
]

_EPS = 1e-4  # probabilities are clipped to [_EPS, 1 - _EPS] for the logit and the log loss


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
    Newton-Raphson with step halving (a step never lowers the likelihood, so a far-off start,
    such as probabilities ten times too high, converges); the coefficients and their standard
    errors (NaN when the fit fails)."""
    from scipy.special import expit

    k = X.shape[1]
    off = np.zeros(len(y)) if offset is None else offset
    nan = np.full(k, np.nan)

    def loglik(b: np.ndarray) -> float:
        eta = off + X @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    b = np.zeros(k)
    ll = loglik(b)
    for _ in range(200):
        mu = expit(off + X @ b)
        H = X.T @ (X * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(H, X.T @ (y - mu))
        except np.linalg.LinAlgError:
            return nan, nan
        t = 1.0
        while True:
            new = b + t * step
            new_ll = loglik(new)
            if new_ll >= ll - 1e-12 or t < 1e-10:
                break
            t /= 2
        b, ll = new, new_ll
        if not np.all(np.isfinite(b)):
            return nan, nan
        if np.max(np.abs(t * step)) < 1e-10:
            break
    mu = expit(off + X @ b)
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
    the train set) and ``cross_fitted`` (every lead, out of fold) for each model that was
    cross-fitted (the gradient-boosted check only with ``fit_models(cross_fit_check=True)``).

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
    test = fitted.split.to_numpy() == "test"  # by position: a landmark frame repeats lead ids
    for name in fitted.models:
        splits = [(test_name, fitted.test[name], fitted.outcome[test])]
        if name in fitted.cross_fitted.columns:
            splits.append(("cross_fitted", fitted.cross_fitted[name], fitted.outcome))
        for split, p, y in splits:
            check = check_probabilities(p.to_numpy(), y.to_numpy(), alpha=alpha)
            rows.append({"model": name, "split": split, **check.as_dict()})
    return pd.DataFrame(rows)


def model_validation(fitted: FittedModels, *, alpha: float = 0.05) -> pd.DataFrame:
    """The ``model_validation.csv`` table of the public contract: exactly ``model``, ``split``,
    ``n``, ``auc``, ``auc_ci_low``, ``auc_ci_high``, ``brier``, ``log_loss``,
    ``calibration_slope``, ``calibration_intercept`` (:data:`MODEL_VALIDATION_COLUMNS`), from
    :func:`validation_frame`."""
    return validation_frame(fitted, alpha=alpha)[list(MODEL_VALIDATION_COLUMNS)]


_MODEL_KINDS = {
    "model_auc": Kind.RATIO, "model_auc_ci_low": Kind.RATIO, "model_auc_ci_high": Kind.RATIO,
    "calibration_slope": Kind.RATIO, "calibration_intercept": Kind.RATIO,
    "calibration_slope_cross_fitted": Kind.RATIO, "calibration_intercept_cross_fitted": Kind.RATIO,
    "model_split": Kind.TEXT, "model_test_n": Kind.COUNT,
}  # fmt: skip


def model_metrics(validation: pd.DataFrame | None, *, model: str = "logistic") -> Metrics:
    """The contract's model numbers for ``metrics.json``, from :func:`model_validation`.

    ``model_auc`` (with ``model_auc_ci_low`` / ``model_auc_ci_high``), ``calibration_slope`` and
    ``calibration_intercept`` are ``model``'s on the held-out split (``time_test``: the latest
    cohorts, judged by a model fitted on the earlier ones; else ``stratified_test``): how its
    probabilities hold up on leads it has not seen, later in time. The cross-fitted slope and
    intercept (every lead, out of fold) come as ``calibration_slope_cross_fitted`` and
    ``calibration_intercept_cross_fitted``; ``model_split`` names the held-out split and
    ``model_test_n`` its leads. ``validation=None`` (the model was not fitted) gives every key
    with None: ``metrics.json`` has null for a section that was not computed.

    >>> v = pd.DataFrame({"model": ["logistic", "logistic"], "split": ["time_test", "cross_fitted"],
    ...     "n": [100, 400], "auc": [0.61, 0.62], "auc_ci_low": [0.58, 0.6],
    ...     "auc_ci_high": [0.64, 0.64], "brier": [0.03, 0.02], "log_loss": [0.15, 0.08],
    ...     "calibration_slope": [0.59, 0.9], "calibration_intercept": [1.23, 0.0]})
    >>> m = model_metrics(v)
    >>> m["model_auc"], m["calibration_slope"], m["calibration_slope_cross_fitted"], m["model_split"]
    (0.61, 0.59, 0.9, 'time_test')
    """
    if validation is None:
        return Metrics(dict.fromkeys(_MODEL_KINDS), _MODEL_KINDS)
    require = {"model", "split", *MODEL_VALIDATION_COLUMNS}
    missing = sorted(require - set(validation.columns))
    if missing:
        raise DataError(
            f"model validation table lacks {', '.join(missing)}", table="model_validation"
        )
    rows = validation.loc[validation["model"] == model]
    test = rows.loc[rows["split"].astype("str").str.endswith("_test")]
    fitted = rows.loc[rows["split"] == "cross_fitted"]
    if test.empty or fitted.empty:
        raise DataError(f"model validation has no test and cross-fitted rows for {model!r}",
                        table="model_validation")  # fmt: skip
    t, c = test.iloc[0], fitted.iloc[0]
    values = {
        "model_auc": float(t["auc"]),
        "model_auc_ci_low": float(t["auc_ci_low"]),
        "model_auc_ci_high": float(t["auc_ci_high"]),
        "calibration_slope": float(t["calibration_slope"]),
        "calibration_intercept": float(t["calibration_intercept"]),
        "calibration_slope_cross_fitted": float(c["calibration_slope"]),
        "calibration_intercept_cross_fitted": float(c["calibration_intercept"]),
        "model_split": str(t["split"]),
        "model_test_n": int(t["n"]),
    }
    return Metrics(values, _MODEL_KINDS)
