"""notebooks/ab_testing.ipynb: its parameters, and its golden numbers on data/demo.

The golden numbers are recomputed here without leadnb's outcome code: per-arm counts straight from
the stages and assignments tables with plain pandas, statistics from statsmodels and scipy, and the
Bayesian probability by Monte Carlo. They are compared with what :func:`leadnb.abtest.readout`
returns and with the golden outputs stored in the notebook (the ones nbval checks).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "ab_testing.ipynb"
PARAMS = REPO / "params" / "demo.yaml"
DEMO = REPO / "data" / "demo"
EXPERIMENT = "nurture-cadence-2026q1"

needs_demo = pytest.mark.skipif(
    not (DEMO / "assignments.csv").exists(), reason="demo data not generated (make demo-data)"
)


def _parameters_cell() -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code is tagged[0]
    return tagged[0].source


def _golden_text() -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    out = []
    for c in nb.cells:
        if c.cell_type == "code" and c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT"):
            out.extend(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream")
    return "".join(out)


def test_parameters_cell_matches_the_params_section() -> None:
    src = _parameters_cell()
    names = re.findall(r"^(\w+): [\w\[\]| ]+ = .+?  # .+$", src, flags=re.M)
    assert names[:4] == ["params_path", "as_of", "out_dir", "interactive"]
    assert len(names) == len(src.strip().splitlines())  # every line: annotated, with a help comment
    section = yaml.safe_load(PARAMS.read_text())["ab_testing"]
    assert set(section) == set(names[4:])
    for key, value in section.items():  # the params file repeats the notebook's defaults
        m = re.search(rf"^{key}: [^=]+= (.+?)  #", src, flags=re.M)
        assert m is not None
        assert yaml.safe_load(m.group(1).replace('""', "''")) == value, key


def test_outputs_other_than_goldens_are_cleared() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "leadnb"
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        golden = c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")
        if not golden:  # golden cells keep a count: nbval skips "unrun" cells with outputs
            assert c.outputs == []
            assert c.execution_count is None
        for o in c.outputs:
            assert "image/png" not in o.get("data", {})


# ---------------------------------------------------------------------------- on the demo data


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    """What the notebook computes on the demo data (same calls as its cells)."""
    from leadnb import abtest, design, funnel, nb

    ctx = nb.start("ab_testing", params_path=PARAMS, tables=("leads", "stages", "assignments"))
    reg = ctx.params.experiments.get(EXPERIMENT)
    wide = funnel.stage_dates(ctx.tables["leads"], ctx.tables["stages"], ctx.params.funnel)
    ro = abtest.readout(reg, ctx.tables["assignments"], wide, ctx.as_of)
    sec = ctx.section
    inflow = design.weekly_inflow(
        ctx.tables["leads"]["created_at"], ctx.as_of, weeks=sec["inflow_weeks"]
    )
    return {"ctx": ctx, "reg": reg, "ro": ro, "inflow": inflow, "section": sec}


def _oracle_counts(ctx: Any, reg: Any) -> pd.DataFrame:
    """Per arm n (mature) and conversions, from the raw tables with plain pandas."""
    asg = ctx.tables["assignments"]
    asg = asg[asg["experiment_id"] == EXPERIMENT]
    st = ctx.tables["stages"]
    window = reg.primary_metric.window_days
    first_sql = (
        st[(st["stage"] == reg.primary_metric.stage) & (st["entered_at"] <= ctx.as_of)]
        .groupby("lead_id")["entered_at"]
        .min()
    )
    df = asg.assign(sql_at=asg["lead_id"].map(first_sql))
    days = (df["sql_at"] - df["assigned_at"]).dt.total_seconds() / 86400
    mature = df["assigned_at"] + pd.Timedelta(days=window) <= ctx.as_of
    prior = days < 0
    df = df.assign(conv=((days >= 0) & (days <= window)).astype(int))[mature & ~prior]
    return df.groupby("variant")["conv"].agg(n="size", x="sum")


def _numbers(line: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"[-+]?\d[\d,]*\.?\d*(?:e-?\d+)?", line)]


@needs_demo
def test_readout_matches_independent_oracles_and_truth(demo: dict[str, Any]) -> None:
    from leadnb import abtest, sample

    ctx, reg, ro = demo["ctx"], demo["reg"], demo["ro"]
    counts = _oracle_counts(ctx, reg)
    prim = ro.primary.set_index("variant")
    c, v = reg.control, reg.variants[0]
    for arm in (c, v):
        assert prim.loc[arm, "n"] == counts.loc[arm, "n"]
        assert prim.loc[arm, "conversions"] == counts.loc[arm, "x"]
    n_c, x_c, n_v, x_v = (int(counts.loc[c, "n"]), int(counts.loc[c, "x"]),
                          int(counts.loc[v, "n"]), int(counts.loc[v, "x"]))  # fmt: skip
    assert prim.loc[v, "p_value"] == pytest.approx(proportions_ztest([x_v, x_c], [n_v, n_c])[1])
    lo, hi = confint_proportions_2indep(x_v, n_v, x_c, n_c, method="newcomb")
    assert (prim.loc[v, "diff_ci_low"], prim.loc[v, "diff_ci_high"]) == pytest.approx((lo, hi))
    enrolled = ctx.tables["assignments"].query("experiment_id == @EXPERIMENT")["variant"]
    srm = stats.chisquare(enrolled.value_counts().reindex([c, v]).to_numpy()).pvalue
    assert prim.loc[v, "srm_p_value"] == pytest.approx(srm)
    draws = 400_000
    mc = abtest.prob_beat_control_mc(x_c, n_c, x_v, n_v, draws=draws, seed=7)
    p = prim.loc[v, "prob_beat_control"]
    assert abs(p - mc) < 4 * np.sqrt(max(p * (1 - p), 1e-6) / draws)
    # the generator's true effect lies inside the reported interval
    truth = sample.TRUTH["experiment"]
    assert truth["id"] == EXPERIMENT
    assert prim.loc[v, "diff_ci_low"] <= truth["effect"] <= prim.loc[v, "diff_ci_high"]
    assert not ro.interim


@needs_demo
def test_outcome_column_path_gives_the_same_readout(demo: dict[str, Any]) -> None:
    """The same experiment with a precomputed 0/1 outcome column and no stages at all."""
    from dataclasses import replace

    from leadnb import abtest
    from leadnb.experiments import Metric

    ctx, reg, ro = demo["ctx"], demo["reg"], demo["ro"]
    asg = ctx.tables["assignments"]
    asg = asg[asg["experiment_id"] == EXPERIMENT]
    st = ctx.tables["stages"]
    first_sql = st[st["stage"] == "sql"].groupby("lead_id")["entered_at"].min()
    days = (asg["lead_id"].map(first_sql) - asg["assigned_at"]).dt.total_seconds() / 86400
    y = ((days >= 0) & (days <= 30)).astype(float).where(days.isna() | (days >= 0))
    reg_o = replace(reg, primary_metric=Metric(outcome="outcome"), guardrail_metrics=())
    ro_o = abtest.readout(reg_o, asg.assign(outcome=y), None, ctx.as_of)
    a = ro.primary.set_index("variant")[["n", "conversions", "p_value", "diff"]]
    b = ro_o.primary.set_index("variant")[["n", "conversions", "p_value", "diff"]]
    pd.testing.assert_frame_equal(a, b)


@needs_demo
def test_golden_outputs_hold_the_oracle_numbers(demo: dict[str, Any]) -> None:
    ctx, reg, sec = demo["ctx"], demo["reg"], demo["section"]
    text = _golden_text()
    assert text, "run the notebook and keep its golden outputs (python -m leadnb.goldens notebooks)"
    # design calculator: statsmodels' sample size and the inflow counted by hand
    leads = ctx.tables["leads"]
    start = ctx.as_of - pd.Timedelta(weeks=sec["inflow_weeks"])
    inflow = ((leads["created_at"] > start) & (leads["created_at"] <= ctx.as_of)).sum() / sec[
        "inflow_weeks"
    ]
    n = int(np.ceil(samplesize_proportions_2indep_onetail(
        sec["design_mde"], sec["design_baseline"], sec["design_power"], alpha=sec["design_alpha"]
    )))  # fmt: skip
    assert f"New leads a week (last {sec['inflow_weeks']} weeks): {inflow:,.1f}" in text
    assert f"{n:,} leads per group" in text
    # readout lines: "  <arm>: n N, conversions X, rate R, immature I[; diff D [lo, hi], p P, P(beat) B]"
    counts = _oracle_counts(ctx, reg)
    for arm in reg.arms:
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{arm}:"))
        nums = _numbers(line.split(":", 1)[1])
        assert nums[0] == counts.loc[arm, "n"]
        assert nums[1] == counts.loc[arm, "x"]
        assert nums[2] == pytest.approx(counts.loc[arm, "x"] / counts.loc[arm, "n"], abs=5e-5)
    v = reg.variants[0]
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{v}:"))
    nums = _numbers(line.split(":", 1)[1])
    (n_c, x_c), (n_v, x_v) = counts.loc[reg.control], counts.loc[v]
    lo, hi = confint_proportions_2indep(x_v, n_v, x_c, n_c, method="newcomb")
    assert nums[4:7] == pytest.approx([x_v / n_v - x_c / n_c, lo, hi], abs=5e-5)
    assert nums[7] == pytest.approx(proportions_ztest([x_v, x_c], [n_v, n_c])[1], rel=1e-3)
