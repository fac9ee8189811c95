"""leadnb.scoring.headline: the scoring report's metrics.json numbers and their declared kinds."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from leadnb.results import Kind, Metrics
from leadnb.scoring.calibration import (
    AucResult,
    BrierResult,
    ThresholdChoice,
    auc_with_ci,
    brier,
    recommend_threshold,
    threshold_sweep,
)
from leadnb.scoring.headline import HEADLINE, headline_labels, headline_metrics
from leadnb.scoring.segments import segment_counts

KEYS = {
    "n_leads", "conversions", "conversion_rate", "outcome_stage", "decision", "calibration_n",
    "calibration_conversions", "auc", "auc_ci_low", "auc_ci_high", "brier", "brier_reference",
    "recommended_threshold", "recommended_weekly_workload", "recommended_precision",
    "recommended_recall", "competitor_mean_score", "competitor_conversion_rate",
    "asked_for_sales_mean_score", "asked_for_sales_conversion_rate", "converted_fast_n",
    "high_quality_leads", "due_this_week", "this_week", "capacity_per_week", "headline", "labels",
}  # fmt: skip


def _inputs() -> dict:
    rng = np.random.default_rng(3)
    s = rng.integers(0, 40, 300).astype(float)
    y = (rng.random(300) < 0.05 + s / 200).astype(float)
    pop = pd.DataFrame({"lead_id": [f"L{i}" for i in range(300)], "score": s, "outcome": y})
    sweep = threshold_sweep(s, y, capacity_per_week=10, weeks=13)
    summary = pd.DataFrame(
        {
            "segment": ["asked_for_sales", "converted_fast", "competitor", "other"],
            "n": [40, 12, 30, 238],
            "mean_score": [30.5, 20.0, 61.25, 12.0],
            "rate": [0.25, 1.0, 0.0, 0.03],
        }
    )
    return {
        "n_leads": 320,
        "converted": pd.Series(np.r_[y, np.zeros(20)]),
        "outcome_stage": "sql",
        "decision": "at_mql",
        "population": pop,
        "auc": auc_with_ci(s, y),
        "brier": brier(s, y),
        "threshold": recommend_threshold(sweep, 10),
        "segments": summary,
        "high_quality": pd.DataFrame(
            {"lead_id": ["L1", "L2", "L3"], "this_week": [True, True, False]}
        ),
        "list_counts": segment_counts(
            pd.DataFrame(
                {
                    "lead_id": ["L1", "L2", "L3"],
                    "segment": ["asked_for_sales", "engaged_nurture", "asked_for_sales"],
                    "next_follow_up": pd.to_datetime(["2026-07-01", "2026-07-06", "2026-07-07"]),
                }
            ),
            pd.Timestamp("2026-06-30"),
        ),
        "capacity_per_week": 10,
    }


def test_every_headline_key_has_a_declared_kind() -> None:
    m = headline_metrics(**_inputs())
    assert isinstance(m, Metrics)
    assert m["headline"] == list(HEADLINE)
    missing = [k for k in m["headline"] if k not in m.kinds]
    assert not missing, f"headline keys without a kind in metric_kinds.json: {missing}"
    # every number has a kind; only the headline list and its labels (not numbers) have none
    assert set(m) == KEYS and set(m) - set(m.kinds) == {"headline", "labels"}


def test_every_headline_key_has_a_plain_label() -> None:
    m = headline_metrics(**_inputs())
    assert set(m["labels"]) == set(HEADLINE)
    for key, label in m["labels"].items():
        assert "_" not in label and label[:1].isupper(), (key, label)
    assert m["labels"]["due_this_week"] == "Follow-ups due this week (team capacity 10)"
    assert m["labels"]["conversion_rate"] == "Leads that reached SQL"
    assert headline_labels(stage="MQL", capacity_per_week=None)["due_this_week"] == (
        "Follow-ups due this week"
    )


def test_the_card_leads_with_what_a_head_of_sales_acts_on() -> None:
    # the card shows the first three: is the score any good, the points that send a lead to
    # sales, the follow-ups due this week (against capacity, in the label)
    assert HEADLINE[:3] == ("auc", "recommended_threshold", "due_this_week")
    assert len(set(HEADLINE)) == len(HEADLINE)


def test_values_are_the_results_numbers() -> None:
    inp = _inputs()
    m = headline_metrics(**inp)
    y = inp["population"]["outcome"].to_numpy()
    assert m["n_leads"] == 320 and m["calibration_n"] == 300
    assert m["conversions"] == int(y.sum()) and isinstance(m["conversions"], int)
    assert m["conversion_rate"] == pytest.approx(y.sum() / 320)
    assert m["calibration_conversions"] == int(y.sum())
    a, b, t = inp["auc"], inp["brier"], inp["threshold"]
    assert (m["auc"], m["auc_ci_low"], m["auc_ci_high"]) == (
        a.auc, a.auc_ci_low, a.auc_ci_high
    )  # fmt: skip
    assert m["auc_ci_low"] < m["auc"] < m["auc_ci_high"]
    assert (m["brier"], m["brier_reference"]) == (b.brier, b.brier_reference)
    assert m["brier_reference"] == pytest.approx(y.mean() * (1 - y.mean()))
    assert m["recommended_threshold"] == t.threshold
    assert m["recommended_weekly_workload"] == pytest.approx(t.leads_above / 13)
    assert m["recommended_precision"] == t.precision and m["recommended_recall"] == t.recall
    assert m["competitor_mean_score"] == 61.25 and m["competitor_conversion_rate"] == 0.0
    assert m["asked_for_sales_mean_score"] == 30.5
    assert m["asked_for_sales_conversion_rate"] == 0.25
    # the segment defined by converting fast: only its size (its rate is 100% by definition)
    assert m["converted_fast_n"] == 12 and isinstance(m["converted_fast_n"], int)
    assert m["high_quality_leads"] == 3
    assert m["this_week"] == 2 and isinstance(m["this_week"], int)
    # due before as_of + 7 days (2026-07-07): L1 and L2, not L3
    assert m["due_this_week"] == 2 and isinstance(m["due_this_week"], int)
    assert m["capacity_per_week"] == 10
    assert (m["outcome_stage"], m["decision"]) == ("sql", "at_mql")


def test_kinds_come_from_the_result_declarations() -> None:
    m = headline_metrics(**_inputs())
    assert m.kinds["auc"] is AucResult.kinds()["auc"] is Kind.RATIO
    assert m.kinds["brier"] is BrierResult.kinds()["brier"]
    assert m.kinds["recommended_threshold"] is ThresholdChoice.kinds()["threshold"] is Kind.SCORE
    assert m.kinds["conversion_rate"] is Kind.RATE
    assert m.kinds["high_quality_leads"] is Kind.COUNT
    assert m.kinds["due_this_week"] is m.kinds["capacity_per_week"] is Kind.COUNT
    assert m.kinds["this_week"] is m.kinds["converted_fast_n"] is Kind.COUNT
    assert m.kinds["asked_for_sales_conversion_rate"] is Kind.RATE
    assert m.formatted("competitor_mean_score") == "61.2"


def test_sections_not_computed_are_null_with_the_same_keys() -> None:
    m = headline_metrics(
        n_leads=5, converted=None, outcome_stage="sql", decision="as_of", population=None,
        auc=None, brier=None, threshold=None, segments=None, high_quality=None,
    )  # fmt: skip
    assert set(m) == KEYS and m["n_leads"] == 5
    fixed = {"n_leads", "outcome_stage", "decision", "headline", "labels"}
    assert all(m[k] is None for k in KEYS - fixed)
    empty = headline_metrics(**{**_inputs(), "converted": pd.Series([], dtype=float)})
    assert empty["conversions"] == 0 and empty["conversion_rate"] is None


def test_results_are_the_one_result_shape() -> None:
    a = auc_with_ci([1, 2, 3, 4, 5, 6], [0, 1, 0, 1, 1, 1])
    assert dataclasses.is_dataclass(a) and not isinstance(a, tuple)
    frame = a.to_frame().set_index("name")
    assert (
        frame.loc["auc", "ci_low"] == a.auc_ci_low and frame.loc["auc", "ci_high"] == a.auc_ci_high
    )
    assert "auc_ci_low" not in frame.index  # bounds sit beside their number, not as rows
    b = brier([1, 2, 3, 4, 5, 6], [0, 1, 0, 1, 1, 1])
    assert b.to_frame().set_index("name").loc["slope", "ci_low"] == b.slope_ci_low
    t = ThresholdChoice(5.0, 10, 2.5, 0.2, 0.5, True)
    assert t.metrics(prefix="recommended_").formatted("recommended_precision") == "20.0%"
    assert "<table>" in t._repr_html_()
    json.dumps(a.as_dict())  # plain values, no tuple intervals
    assert all(not isinstance(v, tuple) for v in a.as_dict().values())
    assert math.isnan(auc_with_ci([1, 2], [1, 1]).auc_ci_low)


def test_this_week_is_missing_without_a_ranked_list() -> None:
    m = headline_metrics(**{**_inputs(), "high_quality": pd.DataFrame({"lead_id": ["L1"]})})
    assert m["this_week"] is None and m["high_quality_leads"] == 1
