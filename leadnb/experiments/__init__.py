"""Question 4, A/B testing: did the nurture change we tested work?

One module per step of an experiment's life:

* :mod:`~leadnb.experiments.registration` - what was promised before the start
  (:class:`Registration`), and the params file's ``experiments`` section
  (:class:`ExperimentsConfig`);
* :mod:`~leadnb.experiments.design` - sample size, detectable effect and calendar time;
* :mod:`~leadnb.experiments.assignments` - which assignment rows can be analysed;
* :mod:`~leadnb.experiments.outcomes` - per-lead outcomes, aware of open windows, and per-arm
  counts and time-to-stage curves;
* :mod:`~leadnb.experiments.comparisons` - a variant against the control on counts;
* :mod:`~leadnb.experiments.readout` - the readout of one experiment and its headline numbers;
* :mod:`~leadnb.experiments.log` - the cumulative experiment log kept across runs.

Only the params layer's entry point is imported here (statistics libraries load when a readout
needs them, not when a params file is checked).
"""

from leadnb.experiments.registration import ExperimentsConfig, Registration

__all__ = ["ExperimentsConfig", "Registration"]
