"""leadnb: tested metric logic behind the lead-analysis notebooks.

Every number a notebook shows comes from a function in this package. Functions take and return
pandas DataFrames with the canonical column names of the public contract; ``as_of`` is always an
argument, never the clock.

The package answers four questions, one subpackage each, on three shared layers::

    leadnb.data         params file, loading any source, validation, the demo generator
    leadnb.scoring      1. does our lead score predict anything?   (rules, engine, calibration)
    leadnb.funnel       2. how do leads move through the funnel?   (stages, cohorts, survival, LVR)
    leadnb.roi          3. does nurturing old leads pay?           (what-if, monthly, effect)
    leadnb.experiments  4. did the nurture change we tested work?  (design, comparisons, readout)
    leadnb.report       notebook context, charts, HTML pages
    leadnb.run          the command line and scheduled runs (Papermill)

What analysts use in their own notebooks is importable from here directly
(``from leadnb import load_params, load_tables, score``); see :data:`__all__`. Those names load
their module on first use, so ``import leadnb`` stays quick for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from leadnb.errors import DataError, LeadnbError, NotEnoughData, ParamsError

__version__ = "0.1.0"

#: public name -> the module that defines it (its one home)
_API = {
    # data
    "load_params": "leadnb.data.params",
    "load_tables": "leadnb.data.loading",
    "load_table": "leadnb.data.loading",
    "validate_tables": "leadnb.data.validation",
    # results
    "Kind": "leadnb.results",
    "Metrics": "leadnb.results",
    # 1. scoring calibration
    "ScoringConfig": "leadnb.scoring.rules",
    "score": "leadnb.scoring.engine",
    "auc_with_ci": "leadnb.scoring.calibration",
    "brier": "leadnb.scoring.calibration",
    "score_bands": "leadnb.scoring.calibration",
    "threshold_sweep": "leadnb.scoring.calibration",
    "recommend_threshold": "leadnb.scoring.calibration",
    "decision_outcomes": "leadnb.scoring.calibration",
    "scores_at_decision": "leadnb.scoring.calibration",
    "rule_lift": "leadnb.scoring.calibration",
    "suggested_weights": "leadnb.scoring.calibration",
    "segment_leads": "leadnb.scoring.segments",
    # 2. funnel and cohorts
    "FunnelConfig": "leadnb.funnel.stages",
    "stage_dates": "leadnb.funnel.stages",
    "stage_conversion": "leadnb.funnel.stages",
    "reached_within": "leadnb.funnel.stages",
    "cohort_matrix": "leadnb.funnel.cohorts",
    "time_to_stage": "leadnb.funnel.survival",
    "survival_curves": "leadnb.funnel.survival",
    "lvr": "leadnb.funnel.velocity",
    "new_vs_old": "leadnb.funnel.velocity",
    "age_hazard": "leadnb.funnel.velocity",
    "value_groups": "leadnb.funnel.value_map",
    # 3. nurture ROI
    "scenario_table": "leadnb.roi.whatif",
    "nurture_effect": "leadnb.roi.effect",
    "nurture_roi": "leadnb.roi.effect",
    # 4. A/B testing
    "sample_size": "leadnb.experiments.design",
    "design_table": "leadnb.experiments.design",
    "compare_arms": "leadnb.experiments.comparisons",
    "srm_p_value": "leadnb.experiments.comparisons",
    "readout": "leadnb.experiments.readout",
}

__all__ = [
    "DataError",
    "LeadnbError",
    "NotEnoughData",
    "ParamsError",
    "__version__",
    "load_params",
    "load_tables",
    "load_table",
    "validate_tables",
    "Kind",
    "Metrics",
    "ScoringConfig",
    "score",
    "auc_with_ci",
    "brier",
    "score_bands",
    "threshold_sweep",
    "recommend_threshold",
    "decision_outcomes",
    "scores_at_decision",
    "rule_lift",
    "suggested_weights",
    "segment_leads",
    "FunnelConfig",
    "stage_dates",
    "stage_conversion",
    "reached_within",
    "cohort_matrix",
    "time_to_stage",
    "survival_curves",
    "lvr",
    "new_vs_old",
    "age_hazard",
    "value_groups",
    "scenario_table",
    "nurture_effect",
    "nurture_roi",
    "sample_size",
    "design_table",
    "compare_arms",
    "srm_p_value",
    "readout",
]

if TYPE_CHECKING:  # what a reader or type checker follows; at run time __getattr__ does this
    from leadnb.data.loading import load_table, load_tables
    from leadnb.data.params import load_params
    from leadnb.data.validation import validate_tables
    from leadnb.experiments.comparisons import compare_arms, srm_p_value
    from leadnb.experiments.design import design_table, sample_size
    from leadnb.experiments.readout import readout
    from leadnb.funnel.cohorts import cohort_matrix
    from leadnb.funnel.stages import FunnelConfig, reached_within, stage_conversion, stage_dates
    from leadnb.funnel.survival import survival_curves, time_to_stage
    from leadnb.funnel.value_map import value_groups
    from leadnb.funnel.velocity import age_hazard, lvr, new_vs_old
    from leadnb.results import Kind, Metrics
    from leadnb.roi.effect import nurture_effect, nurture_roi
    from leadnb.roi.whatif import scenario_table
    from leadnb.scoring.calibration import (
        auc_with_ci,
        brier,
        decision_outcomes,
        recommend_threshold,
        rule_lift,
        score_bands,
        scores_at_decision,
        suggested_weights,
        threshold_sweep,
    )
    from leadnb.scoring.engine import score
    from leadnb.scoring.rules import ScoringConfig
    from leadnb.scoring.segments import segment_leads


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'leadnb' has no attribute {name!r}")
    found = getattr(importlib.import_module(module), name)
    globals()[name] = found
    return found


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
