"""One analysis cut everywhere: a stage entered at 23:59:59.999999 on ``as_of`` is known by
every module, one entered at the next midnight by none (issue 13: "a test that every module
counts a stage entered at 23:59:59.999999 on as_of identically").

The hand example: three leads created on 2025-01-31 at 23:59:59.999999 (so their cohort's
two-month cell closes exactly at the end of the analysis day), all MQL on 2025-02-10;
``edge`` reaches sql at 2025-03-31 23:59:59.999999 (the last instant of the analysis day),
``next`` at 2025-04-01 00:00:00 (the first instant after it), ``never`` not at all. Each module
is asked through its public function; each must count ``edge`` and not ``next``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from leadnb import asof
from leadnb.experiments.assignments import prepare_assignments
from leadnb.experiments.outcomes import outcomes_from_stages
from leadnb.experiments.registration import Registration
from leadnb.funnel import cohorts, survival
from leadnb.funnel import stages as funnel
from leadnb.funnel import velocity as lvr
from leadnb.roi.monthly import clip_as_of
from leadnb.scoring import calibration, segments
from leadnb.scoring.engine import score
from leadnb.scoring.rules import ScoringConfig

AS_OF = pd.Timestamp("2025-03-31")
EDGE = pd.Timestamp("2025-03-31 23:59:59.999999")
NEXT = pd.Timestamp("2025-04-01 00:00:00")
IDS = ["edge", "next", "never"]


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    created = pd.Timestamp("2025-01-31 23:59:59.999999")
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series(IDS, dtype="str"),
            "created_at": pd.Series([created] * 3, dtype="datetime64[us]"),
        }
    )
    stages = pd.DataFrame(
        {
            "lead_id": ["edge", "next", "never", "edge", "next"],
            "stage": ["mql", "mql", "mql", "sql", "sql"],
            "entered_at": pd.Series(
                [pd.Timestamp("2025-02-10")] * 3 + [EDGE, NEXT], dtype="datetime64[us]"
            ),
        }
    )
    return funnel.stage_dates(leads, stages)


def test_the_cut_itself() -> None:
    assert asof.day_end(AS_OF) == NEXT
    assert asof.known(pd.Series([EDGE, NEXT]), AS_OF).tolist() == [True, False]


def test_funnel(wide) -> None:
    conv = funnel.stage_conversion(wide, as_of=AS_OF, pairs=[("mql", "sql")]).iloc[0]
    assert (conv.n_from, conv.n_to) == (3, 1)
    rw = funnel.reached_within(wide, "sql", wide["created_at"], 365, AS_OF)
    assert rw["reached"].tolist() == [True, False, False]


def test_cohorts(wide) -> None:
    m = cohorts.cohort_matrix(wide, "sql", AS_OF, max_age=2).set_index("age_months")
    # the two-month cell ends at 2025-03-31 23:59:59.999999 and is observable on AS_OF
    assert m.loc[2, "n"] == 3 and m.loc[2, "converted"] == 1


def test_survival(wide) -> None:
    d = survival.survival_data(wide, "mql", "sql", AS_OF)
    assert d["event"].tolist() == [1, 0, 0]
    row = survival.time_to_stage(wide, "mql", "sql", AS_OF).iloc[0]
    assert row.events == 1 and row.n == 3


def test_lvr(wide) -> None:
    t = lvr.lvr(wide, funnel.FunnelConfig(), AS_OF).set_index("period")
    assert t.loc["2025-03", "qualified"] == 1 and "2025-04" not in t.index
    nvo = lvr.new_vs_old(wide, funnel.FunnelConfig(), AS_OF).set_index("period")
    assert nvo.loc["2025-03", "conversions"] == 1 and nvo.loc["2025-03", "from_old"] == 1


def test_roi(wide) -> None:
    clipped = clip_as_of(wide, AS_OF).set_index("lead_id")
    assert clipped["sql_at"].notna().tolist() == [True, False, False]


def test_experiment_outcomes(wide) -> None:
    assignments = pd.DataFrame(
        {
            "lead_id": IDS,
            "experiment_id": "x",
            "variant": ["a", "b", "a"],
            "assigned_at": pd.Series([pd.Timestamp("2025-03-01")] * 3, dtype="datetime64[us]"),
        }
    )
    out = outcomes_from_stages(assignments, wide, "sql", 60, AS_OF)
    assert out["event"].astype(int).tolist() == [1, 0, 0]


def test_segments(wide) -> None:
    leads = wide[["lead_id", "created_at"]]
    seg = segments.segment_leads(leads, None, None, wide, as_of=AS_OF, fast_days=60)
    # edge converted 59 days after creation, known by AS_OF: fast; next is not known yet
    assert seg.loc["edge"] == "converted_fast" and seg.loc["next"] != "converted_fast"


def test_calibration(wide) -> None:
    out = calibration.decision_outcomes(wide, as_of=AS_OF, decision="as_of", outcome_stage="sql")
    assert out.set_index("lead_id").loc[IDS, "outcome"].tolist() == [1, 0, 0]


def test_scoring() -> None:
    cfg = ScoringConfig.from_dict(
        {
            "rules": [
                {
                    "name": "visit",
                    "category": "behaviour",
                    "when": {"event_type": "visit"},
                    "points": 1,
                }
            ]
        },
        Path("."),
    )
    leads = pd.DataFrame({"lead_id": ["edge", "next"]})
    events = pd.DataFrame(
        {
            "lead_id": ["edge", "next"],
            "event_type": ["visit", "visit"],
            "ts": pd.Series([EDGE, NEXT], dtype="datetime64[us]"),
        }
    )
    assert score(leads, events, cfg, AS_OF)["score"].tolist() == [1.0, 0.0]


def test_experiments_prepare_assignments() -> None:
    reg = Registration.from_dict(
        {
            "id": "x",
            "hypothesis": "b converts more",
            "variable": "cadence",
            "control": "a",
            "variants": ["b"],
            "allocation": {"a": 0.5, "b": 0.5},
            "primary_metric": {"stage": "sql", "window_days": 30},
            "baseline_rate": 0.1,
            "target_effect": 0.05,
            "alpha": 0.05,
            "power": 0.8,
            "planned_n_per_arm": 100,
            "start": "2025-03-01",
            "decision_rule": "ship b if better",
            "owner": "ops",
        }
    )
    assignments = pd.DataFrame(
        {
            "lead_id": ["edge", "next"],
            "experiment_id": "x",
            "variant": ["a", "b"],
            "assigned_at": pd.Series([EDGE, NEXT], dtype="datetime64[us]"),
        }
    )
    clean, excl = prepare_assignments(assignments, reg, AS_OF)
    assert clean["lead_id"].tolist() == ["edge"]
    assert excl["reason"].tolist() == ["assigned after as_of"]


# a day end computed by hand: as_of (or as_of.normalize()) plus one day
OWN_DAY_END = re.compile(
    r"as_of[\w.()]*\s*\+\s*(?:pd\.)?(?:Timedelta\(\s*days\s*=\s*1\s*\)|Timedelta\(\s*[\"']1\s*D"
    r"[\"']\s*\)|(?:asof\.)?ONE_DAY|DateOffset\(\s*days\s*=\s*1\s*\)|offsets\.Day\()"
)


def test_no_module_computes_its_own_day_end() -> None:
    for bad in ("end = as_of + pd.Timedelta(days=1)", "as_of.normalize() + asof.ONE_DAY"):
        assert OWN_DAY_END.search(bad), bad  # the check itself can fail
    root = Path(__file__).resolve().parents[1] / "leadnb"
    offences = [
        f"{p.relative_to(root.parent)}:{i}: {line.strip()}"
        for p in sorted(root.rglob("*.py"))
        if p.name != "asof.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if OWN_DAY_END.search(line)
    ]
    assert not offences, "use leadnb.asof.day_end / known / upto:\n" + "\n".join(offences)
