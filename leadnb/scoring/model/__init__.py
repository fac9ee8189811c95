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

Leads of every age: a model fitted on leads scored 7 days after creation has never seen an old
lead's activity, and today's queue is mostly old leads. :func:`landmark_outcomes` stacks each
lead at several ages (landmarks, van Houwelingen 2007); :func:`features_at_decision` takes a
lead's several decision rows (``days_since_created`` tells them apart) and :func:`fit_models`
keeps a lead's rows in one fold. Backdated 91 days on the demo (6,000 leads), the landmark
model's probabilities for that day's 4,508 open leads averaged 0.86% against 1.06% observed
within 90 days (calibration intercept 0.22, AUC 0.59); the week-old model's averaged 13.6%
(intercept -3.07, AUC 0.44: worse than chance).

The explained model is open: :class:`FittedModels` exposes the feature matrix, the
standardisation (mean and scale per column) and the coefficients, such that for every lead
``log-odds = intercept + sum(coef * (x - mean) / scale)`` (:meth:`FittedModels.log_odds`, tested
against ``predict_proba``). Each term is the feature's contribution relative to the average
lead of the fitted population.

Today's queue: :func:`open_leads` (who is still open, no older than the oldest landmark) and
:func:`score_leads` (features, calibrated probability and reasons a chunk of leads at a time,
so memory stays bounded at a million leads).

Modules: :mod:`~leadnb.scoring.model.outcomes`, :mod:`~leadnb.scoring.model.features`,
:mod:`~leadnb.scoring.model.fit`, :mod:`~leadnb.scoring.model.validation`,
:mod:`~leadnb.scoring.model.today`; every public name is
importable from here. How a notebook calls them (``wide``: the stage-date frame)::

    from leadnb.scoring import model

    pop = model.horizon_outcomes(wide, as_of=as_of, decision=decision, days=decision_days,
                                 outcome_stage=outcome_stage, horizon_days=90)
    # or, for a queue of leads of every age:
    # pop = model.landmark_outcomes(wide, as_of=as_of, ages_days=(7, 30, 60, 90, 180))
    print(pop.sentence())                        # how many leads are censored, and why
    train = pop.matured                          # lead_id, decision_at, outcome
    feats = model.features_at_decision(leads, events, cfg, train, as_of=as_of,
                                       profile_fields=["industry", "source"],
                                       target_industries=target_industries,
                                       abm_accounts=abm_accounts)
    fit = model.fit_models(feats, train["outcome"], created_at=feats.created_at,
                           points=feats.points)
    ctx.save_table(model.model_validation(fit), "model_validation.csv")
    bins = model.reliability_table(fit.cross_fitted["logistic"], fit.outcome)
    # today's leads, with the columns of the fitted population
    now = model.features_at_decision(leads, events, cfg, open_leads.assign(decision_at=as_of),
                                     as_of=as_of, spec=feats.spec)
    p = fit.predict(now.frame, points=now.points)   # logistic, gradient_boosting, points, log_odds
    # per-lead reasons (leadnb.scoring.queue): fit.coefficients has mean, scale, coef per column
"""

from leadnb.scoring.model.features import Features, FeatureSpec, features_at_decision, leave_out
from leadnb.scoring.model.fit import MODELS, FittedModels, fit_models
from leadnb.scoring.model.outcomes import (
    HORIZON_DAYS,
    LANDMARK_DAYS,
    HorizonCounts,
    HorizonPopulation,
    horizon_outcomes,
    landmark_outcomes,
)
from leadnb.scoring.model.today import SCORED_COLUMNS, decided_risk, open_leads, score_leads
from leadnb.scoring.model.validation import (
    MODEL_VALIDATION_COLUMNS,
    RELIABILITY_COLUMNS,
    ModelCheck,
    check_probabilities,
    model_metrics,
    model_validation,
    reliability_table,
    validation_frame,
)

__all__ = [
    "HORIZON_DAYS",
    "LANDMARK_DAYS",
    "MODELS",
    "MODEL_VALIDATION_COLUMNS",
    "RELIABILITY_COLUMNS",
    "SCORED_COLUMNS",
    "FeatureSpec",
    "Features",
    "FittedModels",
    "HorizonCounts",
    "HorizonPopulation",
    "ModelCheck",
    "check_probabilities",
    "decided_risk",
    "features_at_decision",
    "fit_models",
    "horizon_outcomes",
    "landmark_outcomes",
    "leave_out",
    "model_metrics",
    "model_validation",
    "open_leads",
    "reliability_table",
    "score_leads",
    "validation_frame",
]
