"""Question 1, scoring calibration: does our lead score predict anything?

* :mod:`leadnb.scoring.rules`: the ``scoring`` params section parsed into typed rules
  (:class:`ScoringConfig`), and the checks that need the data;
* :mod:`leadnb.scoring.engine`: :func:`~leadnb.scoring.engine.score`, points per lead;
* :mod:`leadnb.scoring.calibration`: does the score predict conversion (bands, AUC, Brier,
  thresholds, per-rule lift, suggested weights);
* :mod:`leadnb.scoring.segments`: high score is not high intent (segments, the SDR list);
* :mod:`leadnb.scoring.headline`: the report's headline numbers with their kinds.

Each function that returns a table the report shows has a ``*_COLUMNS`` declaration next to it
(:class:`~leadnb.results.Column`: a reader's label and the kind of each column); the notebook
passes it to ``nb.show`` and builds its sentences with ``Result.shown``/``Metrics.of_row``, so
every number is formatted from its kind and the CSVs keep the machine names.
"""

from leadnb.scoring.rules import ScoringConfig

__all__ = ["ScoringConfig"]
