"""Question 3, nurture ROI: does nurturing the leads we already have pay?

The modules, in the order the notebook uses them:

* :mod:`leadnb.roi.params`: the ``roi`` section of the params file (:class:`RoiConfig`, with
  :class:`~leadnb.roi.params.ScenarioInputs`, ``SensitivityConfig``; the ``holdout`` entry is
  :class:`~leadnb.experiments.registration.HoldoutConfig`, an experiment's home).
* :mod:`leadnb.roi.whatif`: the article's worked example as a calculator (before/after rows,
  summary of changes, sensitivity grid); planning numbers only, no data.
* :mod:`leadnb.roi.monthly`: from data, per calendar month: SQLs from new and old leads,
  opportunities, spend, cost per SQL; the before/after period summary; cohort conversion rates
  before vs after; the run date from which a before/after comparison can appear.
* :mod:`leadnb.roi.effect`: old leads' SQL rate after vs before at the same age (a Lexis table
  and a quasi-Poisson GLM), what an SQL is worth, and the bootstrap ROI.
* :mod:`leadnb.roi.tables`: the outputs, ``roi.csv`` and the headline metrics.

The randomised holdout, the preferred measure, is an experiment: :mod:`leadnb.experiments.holdout`.
Exposure (time at risk by age and month) comes from :mod:`leadnb.funnel.exposure`.
"""

from leadnb.roi.params import RoiConfig

__all__ = ["RoiConfig"]
