"""Two models, calibrated out of sample (issue 17, items 2 and 3).

Design. :func:`fit_models` fits a regularised logistic regression (``StandardScaler`` +
``LogisticRegression``: the explained model) and a ``HistGradientBoostingClassifier`` (a check
on what straight lines miss), each calibrated by ``CalibratedClassifierCV`` (isotonic or Platt,
on folds the model did not see). Validation is out of sample: a time split when leads have
creation dates (train on earlier cohorts, test on later ones), otherwise a seeded stratified
split; and cross-fitted (out-of-fold) probabilities for every lead (the explained model's; the
check's when asked for). :class:`FittedModels` exposes the explained model's standardisation and
coefficients, such that ``log-odds = intercept + sum(coef * (x - mean) / scale)``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.scoring import calibration as cal
from leadnb.scoring.model.features import Features

__all__ = ["MODELS", "FinalModels", "FittedModels", "fit_models"]

MODELS = ("logistic", "gradient_boosting", "points")
"""The models :func:`fit_models` can fit: the explained logistic regression, the gradient-boosted
check, and the points alone (a logistic fit on the score: the team's ranking, calibrated)."""
_ISOTONIC_MIN = 1_000  # calibration-fold size from which isotonic beats Platt (see fit_models)


class _Folds:
    """Seeded stratified folds that keep each lead's rows together.

    With one row per lead this is ``StratifiedKFold(shuffle=True)``. When the feature frame
    repeats lead ids (landmarks: a lead at several ages), whole leads are dealt into folds:
    the leads in a seeded random order, those with a converted row and those without dealt
    round-robin separately (so every fold has its share of both), and each row goes where its
    lead went, so that no lead is both fitted and judged. The lead ids are read from the index
    of the frame ``split`` is given; the index travels with the rows into ``cross_val_predict``
    and ``CalibratedClassifierCV``, so their inner folds group by lead too. (scikit-learn's
    ``StratifiedGroupKFold`` does the same by a Python loop over leads: 28 s of a 41 s fit at
    20,000 demo leads.)
    """

    def __init__(self, n_splits: int, seed: int) -> None:
        self.n_splits, self.seed = n_splits, seed

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:
        from sklearn.model_selection import StratifiedKFold

        index = X.index if isinstance(X, pd.DataFrame) else None
        if index is None or index.is_unique:
            folds = StratifiedKFold(self.n_splits, shuffle=True, random_state=self.seed)
            yield from folds.split(X, y)
            return
        lead = pd.factorize(index)[0]
        n_leads = int(lead.max()) + 1
        converted = np.bincount(lead, weights=np.asarray(y, dtype="float64"), minlength=n_leads) > 0
        order = np.random.default_rng(self.seed).permutation(n_leads)
        fold_of = np.empty(n_leads, dtype="int64")
        for stratum in (False, True):
            members = order[converted[order] == stratum]
            fold_of[members] = np.arange(len(members)) % self.n_splits
        row_fold = fold_of[lead]
        for k in range(self.n_splits):
            yield np.flatnonzero(row_fold != k), np.flatnonzero(row_fold == k)


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
        new leads (:meth:`predict`). The explained logistic model is fitted with the rest; the
        others (a check and the points, which a run validates but does not use on new leads)
        when first asked for (:class:`FinalModels`: the same seeded fit, the same model).
    test
        The calibrated probability of each test lead from models fitted on the train split
        (index ``lead_id``, one column per model).
    cross_fitted
        The calibrated probability of every lead from models that never saw it (``n_folds``
        out-of-fold fits; index ``lead_id``): a column per model cross-fitted (the explained
        model and the points always, the gradient-boosted check when asked for:
        ``fit_models(cross_fit_check=True)``).
    points
        The score per lead when the points model was fitted, else None.
    """

    features: pd.DataFrame = field(repr=False)
    outcome: pd.Series = field(repr=False)
    split: pd.Series = field(repr=False)
    split_kind: str
    split_at: pd.Timestamp | None
    calibration: str
    logistic: Any = field(repr=False)
    calibrated: Mapping[str, Any] = field(repr=False)
    test: pd.DataFrame = field(repr=False)
    cross_fitted: pd.DataFrame = field(repr=False)
    points: pd.Series | None = field(default=None, repr=False)
    seed: int = 0
    models: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        at = f" at {self.split_at:%Y-%m-%d}" if self.split_at is not None else ""
        return (
            f"FittedModels({', '.join(self.models)}; {len(self.outcome):,} rows, "
            f"{int(self.outcome.sum()):,} converted; {self.split_kind} split{at}; "
            f"{self.calibration} calibration)"
        )

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
        learning_rate=0.1, max_iter=200, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.1,
        n_iter_no_change=10, random_state=seed,
    )  # fmt: skip


EAGER_FINAL = ("logistic",)
"""Final models :func:`fit_models` fits up front: the explained model, which scores the queue.
The others' final fits (three of the gradient boosting's six, or 21 when it is cross-fitted too)
wait until they are used."""


class FinalModels(Mapping[str, Any]):
    """Model name -> final calibrated model; a model not fitted yet is fitted on first access
    (seeded: the same model as a fit up front) and kept."""

    def __init__(
        self,
        fitted: dict[str, Any],
        pending: dict[str, Callable[[], Any]],
        *,
        order: Sequence[str],
    ) -> None:
        self._fitted, self._pending = dict(fitted), dict(pending)
        self._order = [n for n in order if n in self._fitted or n in self._pending]

    def __getitem__(self, name: str) -> Any:
        if name not in self._fitted:
            if name not in self._pending:
                raise KeyError(name)
            self._fitted[name] = self._pending.pop(name)()
        return self._fitted[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        waiting = [n for n in self._order if n in self._pending]
        return (
            f"FinalModels({', '.join(self._order)}; not fitted yet: {', '.join(waiting) or 'none'})"
        )


MAX_WORKERS = 2
"""The most fits :func:`fit_models` runs at once by default."""
MIN_ROWS_FOR_THREADS = 10_000
"""Below this many feature rows :func:`fit_models` fits one model at a time by default. Measured
on two idle cores over subsets of the demo's landmark rows (43 features; fit wall and CPU seconds,
one worker against two): 5,121 rows 3.1-3.3 s against 2.9-3.0 s wall for 3.6-3.8 CPU-s instead of
3.1-3.3; 13,895 rows 4.2-4.7 against 3.6-3.9; 27,541 rows 6.9-7.0 against 4.8-5.3; 54,667 rows
13.4-13.7 against 8.3-8.6. Small fits are Python-bound, so a second thread mostly waits for the
GIL: a tenth of a second gained, half a CPU-second more, which a run whose other notebooks fill
the second core (or a test worker beside another) pays in wall time."""


def _workers(workers: int | None, rows: int) -> int:
    """``workers``, or one per core this process may use (at most :data:`MAX_WORKERS`), one
    when the feature frame has fewer than :data:`MIN_ROWS_FOR_THREADS` rows."""
    if workers is not None:
        if workers < 1:
            raise ParamsError(f"workers must be at least 1, got {workers}")
        return int(workers)
    if rows < MIN_ROWS_FOR_THREADS:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


CHECKED_ONCE = {"assume_finite": True, "skip_parameter_validation": True}
"""scikit-learn settings of every fit (``sklearn.config_context``): its per-call finiteness check
of the data and validation of the estimators' parameters skipped. They are a fifth of the CPU
of a small fit (2,246 landmark rows: 1.72 -> 1.34 CPU-s), with identical probabilities."""


def _run_tasks(
    tasks: Mapping[Hashable, tuple[Any, ...]], *, workers: int, threads: int | None
) -> dict[Hashable, Any]:
    """``{key: func(*args)}`` for ``tasks`` of ``(func, *args)``, ``workers`` at a time in
    threads; each task on ``threads`` OpenMP threads (set in its own thread: OpenMP's count
    is per thread, so the caller's limit does not reach a pool's threads).

    Each task runs with scikit-learn's :data:`CHECKED_ONCE` settings (also per thread): the
    feature frame is checked once by :func:`fit_models` and the estimators' parameters are
    constants (:func:`_estimators`, tested), so the ~40 fits do not check them again."""
    import sklearn
    from threadpoolctl import threadpool_limits

    def call(task: tuple[Any, ...]) -> Any:
        func, *args = task
        limits = (
            nullcontext()
            if threads is None
            else threadpool_limits(limits=threads, user_api="openmp")
        )
        with limits, sklearn.config_context(**CHECKED_ONCE):
            return func(*args)

    if workers <= 1:
        return {key: call(task) for key, task in tasks.items()}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(call, task) for key, task in tasks.items()}
        return {key: f.result() for key, f in futures.items()}


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
    workers: int | None = None,
    cross_fit_check: bool = False,
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
      comes from a calibrated model fitted on the other folds (``cross_val_predict``). For the
      explained model and the points always (the reliability diagram, the time-dependent AUC and
      the capture comparison read them); for the gradient-boosted check only with
      ``cross_fit_check``: the check's question (does a flexible model find what straight lines
      miss?) is answered on the held-out split, which both models are judged on, and its
      cross-fitting is 15 of its 18 fits (about 8 of a demo run's 55 CPU seconds).
    * Repeated lead ids (landmarks, :func:`~leadnb.scoring.model.outcomes.landmark_outcomes`):
      every fold, the calibration folds and the stratified split keep a lead's rows together
      (whole leads dealt into folds); the time split does by itself (a lead has one
      creation date).
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

    workers
        Fits run at once, in threads (each on ``threads`` OpenMP threads); None: one per
        available core, at most :data:`MAX_WORKERS`, and one for fewer than
        :data:`MIN_ROWS_FOR_THREADS` rows. The fits are seeded and independent, so
        the results are the same for any number (tested); on two cores two at a time took a
        55,000-row landmark fit from 14.4 s to about 8 s, the gradient boosting's trees being
        grown outside the GIL.
    cross_fit_check
        Also cross-fit the gradient-boosted check (``n_folds`` more calibrated fits): a
        ``gradient_boosting`` column in :attr:`FittedModels.cross_fitted`.

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
    from sklearn.model_selection import train_test_split
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
    if not np.isfinite(X.to_numpy()).all():  # checked here once, not by every fit (_run_tasks)
        raise DataError(
            "the feature frame has missing or infinite values",
            fix="build it with features_at_decision",
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
        if X.index.is_unique:
            tr_idx, te_idx = train_test_split(
                idx, test_size=test_share, stratify=y, random_state=seed
            )
        else:  # one fold of about test_share, each lead's rows together
            k = max(2, round(1 / test_share))
            tr_idx, te_idx = next(iter(_Folds(k, seed).split(X, y)))
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
        folds = _Folds(calibration_folds, seed)
        return CalibratedClassifierCV(_estimators(name, seed=seed, C=C), method=method, cv=folds)

    outer = list(_Folds(n_folds, seed).split(X, y))

    # every fit is independent and seeded: the validation split's, each cross-fitting fold's
    # (what cross_val_predict does, one fold at a time) and the final one, per model; they run
    # `workers` at once in threads, each fit on one OpenMP thread (a thread's own setting), so
    # the results do not depend on the order they finish in
    def split_fit(name: str) -> np.ndarray:
        Xm = frames[name]
        m = calibrated(name).fit(Xm.iloc[tr_idx], y[tr_idx])
        return m.predict_proba(Xm.iloc[te_idx])[:, 1]

    def fold_fit(name: str, k: int) -> np.ndarray:
        Xm, (fit_rows, out_rows) = frames[name], outer[k]
        m = calibrated(name).fit(Xm.iloc[fit_rows], y[fit_rows])
        return m.predict_proba(Xm.iloc[out_rows])[:, 1]

    def final_fit(name: str) -> Any:
        return calibrated(name).fit(frames[name], y)

    crossed = [m for m in wanted if m != "gradient_boosting" or cross_fit_check]
    tasks: dict[tuple[str, str, int], Any] = {}
    for name in sorted(wanted, key=lambda m: m != "gradient_boosting"):  # the longest first
        if name in EAGER_FINAL:
            tasks[(name, "final", 0)] = (final_fit, name)
        tasks[(name, "split", 0)] = (split_fit, name)
        if name in crossed:
            for k in range(n_folds):
                tasks[(name, "fold", k)] = (fold_fit, name, k)
    tasks[("logistic", "explained", 0)] = (
        lambda: _estimators("logistic", seed=seed, C=C).fit(X, y),
    )
    limits = threadpool_limits(limits=threads) if threads is not None else nullcontext()
    with warnings.catch_warnings(), limits:
        warnings.simplefilter("ignore", category=UserWarning)
        done = _run_tasks(tasks, workers=_workers(workers, len(X)), threads=threads)
    test_p = {name: done[(name, "split", 0)] for name in wanted}

    def later(name: str) -> Callable[[], Any]:
        def fit_now() -> Any:  # as the fits up front: the same limits and scikit-learn settings
            limits = threadpool_limits(limits=threads) if threads is not None else nullcontext()
            with warnings.catch_warnings(), limits:
                warnings.simplefilter("ignore", category=UserWarning)
                return _run_tasks({name: (final_fit, name)}, workers=1, threads=threads)[name]

        return fit_now

    final = FinalModels(
        {name: done[(name, "final", 0)] for name in wanted if name in EAGER_FINAL},
        {name: later(name) for name in wanted if name not in EAGER_FINAL},
        order=wanted,
    )
    oof: dict[str, np.ndarray] = {}
    for name in crossed:
        oof[name] = np.empty(len(y), dtype="float64")
        for k, (_, out_rows) in enumerate(outer):
            oof[name][out_rows] = done[(name, "fold", k)]
    logistic = done[("logistic", "explained", 0)]
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
