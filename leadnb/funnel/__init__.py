"""Question 2, cohort conversion: how do leads move through the funnel over time?

One module per view, all working from the wide stage-date frame that
:func:`leadnb.funnel.stages.stage_dates` builds (one row per lead, one ``<stage>_at`` column per
stage):

* :mod:`~leadnb.funnel.stages`: the funnel configuration (:class:`FunnelConfig`, the params
  file's ``funnel`` section), stage dates, data quality, to-date conversion rates and the
  report's headline numbers;
* :mod:`~leadnb.funnel.cohorts`: conversion by creation cohort and months since creation;
* :mod:`~leadnb.funnel.survival`: time to stage with censoring (Kaplan-Meier, Aalen-Johansen);
* :mod:`~leadnb.funnel.velocity`: Lead Velocity Rate, new versus old leads, the age hazard;
* :mod:`~leadnb.funnel.value_map`: customer value groups A-E and movement between them.

Each module declares how a report shows its tables next to the function that builds them
(``CONVERSION_COLUMNS``, ``TIME_TO_STAGE_COLUMNS``...: :class:`leadnb.results.Column`, a human
label and a kind per column); stage names reach a reader as display names
(:func:`~leadnb.funnel.stages.stage_name`: ``mql`` -> ``MQL``). The CSVs keep the machine names.
Charts for these tables are in :mod:`leadnb.report.plots.funnel`.
"""

from leadnb.funnel.stages import FunnelConfig

__all__ = ["FunnelConfig"]
