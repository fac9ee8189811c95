"""notebooks/ab_testing.ipynb: its parameters, and its golden numbers on data/demo.

The golden numbers are recomputed here without leadnb's outcome code: per-arm counts straight from
the stages and assignments tables with plain pandas, statistics from statsmodels and scipy, and the
Bayesian probability by Monte Carlo. They are compared with what :func:`leadnb.experiments.readout.readout`
returns and with the golden outputs stored in the notebook (the ones nbval checks).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import integrate, stats
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


def _require_demo() -> None:
    """Fail (never skip) when the demo data is missing: these tests are the notebook's oracle."""
    if not (DEMO / "assignments.csv").exists():
        pytest.fail(
            f"demo data missing: {DEMO / 'assignments.csv'} does not exist; build it with "
            "`leadnb sample --out data/demo` (make demo-data)",
            pytrace=False,
        )


def _parameters_cell() -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code is tagged[0]
    return tagged[0].source


def _golden_text() -> str:
    """The stored outputs of the ``# NBVAL_CHECK_OUTPUT`` cells; fails when any is missing."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    golden = [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")
    ]
    if len(golden) != 2:
        pytest.fail(f"{NOTEBOOK.name}: expected 2 golden cells, found {len(golden)}", pytrace=False)
    out = []
    for c in golden:
        text = "".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream")
        if not text:
            pytest.fail(
                f"{NOTEBOOK.name}: a golden cell has no stored output (nbval would check nothing); "
                "refresh them with `python -m leadnb.run.goldens notebooks` (make notebooks)",
                pytrace=False,
            )
        out.append(text)
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
        else:
            assert c.outputs and c.execution_count is not None, "golden cell without output"
        for o in c.outputs:
            assert "image/png" not in o.get("data", {})


def _tags(cell: Any) -> list[str]:
    return list(cell.metadata.get("tags", []))


def test_the_answer_cell_is_last_tagged_and_built_from_the_metrics_written() -> None:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    answers = [c for c in cells if "answer" in _tags(c)]
    assert len(answers) == 1 and answers[0] is cells[-1] and answers[0].cell_type == "code"
    src = answers[0].source
    assert "ab_answer(ab_metrics)" in src  # the builder of leadnb.report.answers
    assert "ctx.write_metrics(answer.as_dict())" in src  # the card repeats its first sentence
    assert src.strip().splitlines()[-1] == "answer"  # the cell shows it
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert "from leadnb.report.answers import ab_answer" in code
    # the Metrics object (values and kinds) is kept, not the dict write_metrics returns, and it
    # is written once, before the answer
    assert not re.search(r"ab_metrics\s*=\s*ctx\.write_metrics", code)
    writes = [i for i, c in enumerate(cells) if "ctx.write_metrics(ab_metrics)" in c.source]
    assert len(writes) == 1 and writes[0] < len(cells) - 1
    # the card: the headline order and a label for every headline key come from leadnb
    assert '"headline": list(abtest.HEADLINE)' in code
    assert '"labels": abtest.card_labels(ab_metrics)' in code


def test_methods_registrations_and_data_notes_are_in_the_appendix() -> None:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    appendix = [c for c in cells if "appendix" in _tags(c)]
    # nb.start prints the data notes: that cell is in the appendix
    start = [c for c in cells if "nb.start(" in c.source]
    assert len(start) == 1 and "appendix" in _tags(start[0])
    assert any("registration.describe" in c.source for c in appendix)
    assert any("exclusions_for_readers" in c.source for c in appendix)
    methods = [c.source for c in appendix if c.cell_type == "markdown"]
    for words in ("About this report", "How a readout is computed", "How a test is planned",
                  "Kaplan-Meier"):  # fmt: skip
        assert any(words in m for m in methods), words
    # evidence stays in reading order, untagged: charts, readout tables, golden lines
    for c in cells:
        if c.cell_type == "code" and (
            "save_figure" in c.source or "results_for_readers" in c.source or _is_golden(c)
        ):
            assert not _tags(c), c.source[:60]
    # right after the title comes evidence: the first cell a reader sees after the title (and
    # the answer) is no appendix cell but the readouts' section heading
    after_title = [c for c in cells[1:] if not set(_tags(c)) & {"appendix", "parameters"}]
    assert after_title[0].source.startswith("## 1. Readouts")


def _is_golden(cell: Any) -> bool:
    return cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")


def test_every_table_saved_as_csv_and_shown_links_its_csv() -> None:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert "nb.show(" not in code  # every table shown here is also saved: ctx.show with csv=
    saved = set(re.findall(r'ctx\.save_table\([^\n]*?"([\w.]+\.csv)"', code))
    shows = re.findall(r"ctx\.show\((.*?)\)\n", code, flags=re.S)
    assert len(shows) == 5  # readouts, exclusions, declared segments, design, log
    for call in shows:
        m = re.search(r'csv="([\w.]+)"', call)
        assert m is not None and m.group(1) in saved, call


# ---------------------------------------------------------------------------- on the demo data


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    """What the notebook computes on the demo data (same calls as its cells)."""
    from leadnb.experiments import design
    from leadnb.experiments import readout as abtest
    from leadnb.funnel import stages as funnel
    from leadnb.report import notebook as nb

    _require_demo()
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


def test_readout_matches_independent_oracles_and_truth(demo: dict[str, Any]) -> None:
    from leadnb.data import demo as sample
    from leadnb.experiments import comparisons

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
    mc = comparisons.prob_beat_control_mc(x_c, n_c, x_v, n_v, draws=draws, seed=7)
    p = prim.loc[v, "prob_beat_control"]
    assert abs(p - mc) < 4 * np.sqrt(max(p * (1 - p), 1e-6) / draws)
    # the generator's true effect lies inside the reported interval
    truth = sample.TRUTH["experiment"]
    assert truth["id"] == EXPERIMENT
    assert prim.loc[v, "diff_ci_low"] <= truth["effect"] <= prim.loc[v, "diff_ci_high"]
    assert not ro.interim


def test_outcome_column_path_gives_the_same_readout(demo: dict[str, Any]) -> None:
    """The same experiment with a precomputed 0/1 outcome column and no stages at all."""
    from dataclasses import replace

    from leadnb.experiments import readout as abtest
    from leadnb.experiments.registration import Metric

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


def test_answer_on_the_demo_holds_the_oracle_numbers(demo: dict[str, Any]) -> None:
    """The report's answer on the demo data: the rates, the difference and its interval
    recomputed with plain pandas and statsmodels, the metric said in words."""
    from leadnb.experiments import readout as abtest
    from leadnb.report.answers import ab_answer

    ctx, reg, ro = demo["ctx"], demo["reg"], demo["ro"]
    counts = _oracle_counts(ctx, reg)
    c, v = reg.control, reg.variants[0]
    (n_c, x_c), (n_v, x_v) = counts.loc[c], counts.loc[v]
    lo, hi = confint_proportions_2indep(x_v, n_v, x_c, n_c, method="newcomb")
    diff = x_v / n_v - x_c / n_c
    answer = ab_answer(abtest.headline_metrics([ro]))
    assert answer.findings == (
        f"In {EXPERIMENT}, {v} clearly beat {c} on reaching SQL within 30 days: "
        f"{x_v / n_v * 100:.1f}% vs {x_c / n_c * 100:.1f}% ({diff * 100:+.1f} pts, likely "
        f"between {lo * 100:+.1f} pts and {hi * 100:+.1f} pts), with {n_v:,} leads on {v} and "
        f"{n_c:,} on {c}.",
        f"Relative to {c}'s rate, that is {((x_v / n_v) / (x_c / n_c) - 1) * 100:+.1f}%.",
        # the registered split is equal: a chi-square goodness-of-fit test on the arm sizes
        f"Leads were split between the arms as planned (sample-ratio check p = "
        f"{stats.chisquare([n_c, n_v]).pvalue:.3f}), so the comparison is fair.",
    )
    assert len(set(reg.allocation.values())) == 1  # equal shares, as the oracle assumes
    assert answer.actions == (f"Roll out {v} in place of {c}.",)


def _count(x: float) -> str:
    """A count as a report writes it: separators; one decimal only for a modelled count below 100."""
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.1f}"


def _p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def test_golden_outputs_hold_the_oracle_numbers(demo: dict[str, Any]) -> None:
    """Every line of the golden outputs, recomputed without leadnb's A/B code and written with
    plain Python formatting (not leadnb's formatter, so a formatting bug fails here too): rates
    as percents with one decimal, differences in signed points, p-values as "< 0.001" or three
    decimals, counts with separators, days as "N days", flags as Yes/No."""
    ctx, reg, sec = demo["ctx"], demo["reg"], demo["section"]
    text = _golden_text()
    lines = text.splitlines()
    # the readout's golden lines come first (evidence before planning), then the calculator's
    # (its last three lines); the readouts are one block per experiment, this one first
    calculator_lines = lines[-3:]
    block = lines[: next(i for i, ln in enumerate(lines[1:], 1) if not ln.startswith("  "))]
    readout_lines, plan_lines = block[:4], block[4:]
    # design calculator: statsmodels' sample size, the inflow counted by hand (the weeks up to
    # the end of the as_of day: midnight after it, exclusive), and the calendar arithmetic
    leads = ctx.tables["leads"]
    end = ctx.as_of.normalize() + pd.Timedelta(days=1)
    start = end - pd.Timedelta(weeks=sec["inflow_weeks"])
    inflow = ((leads["created_at"] >= start) & (leads["created_at"] < end)).sum() / sec[
        "inflow_weeks"
    ]
    b, mde, power, alpha = (sec[k] for k in ("design_baseline", "design_mde", "design_power",
                                             "design_alpha"))  # fmt: skip
    n = math.ceil(samplesize_proportions_2indep_onetail(mde, b, power, alpha=alpha))
    total = 2 * n  # two arms of equal size
    per_day = inflow * sec["eligible_share"] / 7
    enrol = math.ceil(total / per_day)  # whole days until the last lead is enrolled
    window = sec["design_window_days"]
    assert calculator_lines == [
        f"New leads a week (last {sec['inflow_weeks']} weeks): {_count(inflow)}",
        f"To detect a change from {b * 100:.1f}% to {(b + mde) * 100:.1f}% "
        f"({mde * 100:+.1f} pts; significance level {alpha:.3f}, power {power * 100:.1f}%): "
        f"{n:,} leads per group, {total:,} in all",
        f"Calendar time: {enrol + window:,} days ({enrol:,} days to enrol + {window:,} days for "
        "the outcome)",
    ]
    # readout header: final once enrolment has ended and every arm has its planned n
    asg = ctx.tables["assignments"]
    asg = asg[asg["experiment_id"] == EXPERIMENT]
    enrolled = asg["variant"].value_counts()
    planned = reg.planned_n_per_arm
    interim = bool(ctx.as_of < reg.end or (enrolled.reindex(list(reg.arms)) < planned).any())
    assert readout_lines[0] == (
        f"{EXPERIMENT} (as of {ctx.as_of:%Y-%m-%d}; interim look: {'Yes' if interim else 'No'})"
    )
    # one line per arm: leads (window closed), conversions, rate, leads still in their window;
    # the variant's line adds the difference with its Newcombe interval, the z-test p-value and
    # the chance the variant is better
    counts = _oracle_counts(ctx, reg)
    window_m = reg.primary_metric.window_days
    open_window = asg["assigned_at"] + pd.Timedelta(days=window_m) >= end  # end of as_of day
    expected = []
    for arm in reg.arms:
        n_a, x_a = int(counts.loc[arm, "n"]), int(counts.loc[arm, "x"])
        immature = int((open_window & (asg["variant"] == arm)).sum())
        expected.append(
            f"  {arm}: {n_a:,} leads, {x_a:,} conversions, rate {x_a / n_a * 100:.1f}%, "
            f"{immature:,} still in their window"
        )
    v = reg.variants[0]
    (n_c, x_c), (n_v, x_v) = counts.loc[reg.control], counts.loc[v]
    lo, hi = confint_proportions_2indep(x_v, n_v, x_c, n_c, method="newcomb")
    p = proportions_ztest([x_v, x_c], [n_v, n_c])[1]
    # P(beat) by integration of the two Beta(1, 1) posteriors, independent of the closed form
    post_c, post_v = stats.beta(x_c + 1, n_c - x_c + 1), stats.beta(x_v + 1, n_v - x_v + 1)
    peaks = [x_c / n_c, x_v / n_v]
    inner = integrate.quad(lambda t: post_c.pdf(t) * post_v.cdf(t), 0, 1, points=peaks, limit=200)
    p_beat = 1 - inner[0]
    diff = x_v / n_v - x_c / n_c
    expected[1] += (
        f"; difference {diff * 100:+.1f} pts (interval {lo * 100:+.1f} pts to {hi * 100:+.1f} "
        f"pts), p-value {_p_value(p)}, chance better than control {p_beat * 100:.1f}%"
    )
    assert readout_lines[1:3] == expected
    srm = stats.chisquare(enrolled.reindex(list(reg.arms)).to_numpy()).pvalue
    assert readout_lines[3:] == [f"  Sample ratio check: p-value {_p_value(srm)}"]
    # beside the matured-window rates: each arm's Kaplan-Meier share converted by the window's
    # end over every lead (lifelines), and the log-rank test; then the leads of one account
    # found in both arms (plain pandas)
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    st = ctx.tables["stages"]
    first_sql = st[st["stage"] == "sql"].groupby("lead_id")["entered_at"].min()
    d = asg.assign(sql_at=asg["lead_id"].map(first_sql))
    days = (d["sql_at"] - d["assigned_at"]).dt.total_seconds() / 86400
    d = d[~(days < 0)]
    days = days[~(days < 0)]
    seen = ((end - d["assigned_at"]).dt.total_seconds() / 86400).clip(upper=window_m)
    event = (days <= window_m) & (days <= seen)
    duration = np.where(event, days, seen)
    km = {}
    for arm in reg.arms:
        m = (d["variant"] == arm).to_numpy()
        f = KaplanMeierFitter().fit(duration[m], event[m])
        ci = f.confidence_interval_cumulative_density_
        km[arm] = (
            float(f.cumulative_density_at_times(window_m).iloc[0]),
            float(ci.loc[:window_m].iloc[-1, 0]),
            float(ci.loc[:window_m].iloc[-1, 1]),
        )
    mc, mv = (d["variant"] == reg.control).to_numpy(), (d["variant"] == v).to_numpy()
    lr = logrank_test(duration[mc], duration[mv], event[mc], event[mv]).p_value
    parts = ", ".join(
        f"{a} {k[0] * 100:.1f}% ({k[1] * 100:.1f}% to {k[2] * 100:.1f}%)" for a, k in km.items()
    )
    assert plan_lines[0] == (
        f"  Kaplan-Meier share converted by day {window_m} (every lead, open windows followed as "
        f"far as seen): {parts}; log-rank p {'< 0.001' if lr < 0.001 else f'= {lr:.3f}'}"
    )
    acc = asg.merge(ctx.tables["leads"][["lead_id", "account_id"]], on="lead_id")
    acc = acc.dropna(subset=["account_id"])
    arms_of = acc.groupby("account_id")["variant"].nunique()
    mixed = arms_of.index[arms_of > 1]
    n_mixed = int(acc["account_id"].isin(mixed).sum())
    assert plan_lines[1:] == [
        f"  {len(mixed):,} of {len(arms_of):,} accounts have leads in different arms "
        f"({n_mixed:,} leads, {n_mixed / len(asg) * 100:.1f}%): possible contamination, which "
        "would shrink the difference"
    ]
    # no float noise and no Python values anywhere in the golden text
    assert not re.search(r"\d\.\d{4,}|\bTrue\b|\bFalse\b|\bnan\b|\de-\d", text), text


# ------------------------------------------------------------------ real dates, degenerate shapes
# Each test runs the notebook once through the scheduler's path (leadnb.run.runner.run) on a small
# sample changed with pandas, and checks exit 0 and the one sentence the report prints.


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from leadnb.run import cli

    out = tmp_path_factory.mktemp("ab_sample") / "s"
    assert cli.main(["sample", "--out", str(out), "--leads", "400", "--seed", "11"]) == 0
    return out


def _variant(sample: Path, name: str, assignments: pd.DataFrame) -> Path:
    """A copy of the sample's params (in the sample folder) with its own assignments table."""
    raw = yaml.safe_load((sample / "params.yaml").read_text())
    assignments.to_csv(sample / f"assignments_{name}.csv", index=False)
    raw["data"]["assignments"]["source"] = f"assignments_{name}.csv"
    path = sample / f"params_{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _run(params: Path, out: Path, as_of: str | None = None) -> tuple[str, Path, Any]:
    """Run the notebook alone: the text it printed, its folder, the executed notebook (exit 0)."""
    from tests.warm_kernel import run_alone

    text, folder, executed = run_alone(params, "ab_testing", out, as_of)
    # user text (ids, names, hypothesis, verdicts) is never rendered as Markdown
    for c in executed.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            assert "text/markdown" not in o.get("data", {})
    return text, folder, executed


def _assignments(sample: Path) -> pd.DataFrame:
    return pd.read_csv(sample / "assignments.csv")


def test_one_arm_in_the_data_names_the_arm(sample_dir: Path, tmp_path: Path) -> None:
    asg = _assignments(sample_dir)
    params = _variant(sample_dir, "one_arm", asg[asg["variant"] == "monthly_newsletter"])
    text, folder, _ = _run(params, tmp_path / "out")
    verdict = next(ln for ln in text.splitlines() if ln.startswith("Verdict: "))
    assert verdict.startswith(
        "Verdict: No readout for weekly_digest vs monthly_newsletter: the arm weekly_digest has "
        "no leads"
    )
    assert "window" not in verdict.split(";")[0]
    results = pd.read_csv(folder / "ab_results.csv")
    prim = results[results["role"] == "primary"].set_index("variant")
    assert prim.loc["weekly_digest", "n_enrolled"] == 0
    assert prim.loc["monthly_newsletter", "n"] == (asg["variant"] == "monthly_newsletter").sum()
    assert (folder / "figures").is_dir()
    # metric_kinds.json declares every headline number (the index card formats from it)
    metrics = json.loads((folder / "metrics.json").read_text())
    kinds = json.loads((folder / "metric_kinds.json").read_text())
    scalars = {k for k, v in metrics.items() if not isinstance(v, dict | list)}
    assert scalars == set(kinds)
    assert set(metrics) - scalars == {"headline", "experiments", "labels", "answer", "actions"}
    assert set(metrics["headline"]) <= set(kinds)
    assert set(metrics["labels"]) == set(metrics["headline"])
    assert (metrics["n_registered"], kinds["n_registered"]) == (2, "count")  # and the account one
    # the answer still renders without a comparison, and says why
    assert metrics["answer"] == [
        "In nurture-cadence-2026q1 there is no comparison of weekly_digest with "
        "monthly_newsletter yet (an arm has no lead with a known outcome; the readout below says "
        "why)."
    ]
    assert (kinds["control_rate"], kinds["diff"], kinds["srm_p_value"]) == (
        "rate",
        "points",
        "p_value",
    )


def test_during_enrolment_no_window_closed_yet(sample_dir: Path, tmp_path: Path) -> None:
    from leadnb.experiments import log as experiments

    asg = _assignments(sample_dir)
    first = pd.to_datetime(asg["assigned_at"]).min().normalize()
    as_of = first + pd.Timedelta(days=12)
    text, folder, _ = _run(sample_dir / "params.yaml", tmp_path / "out", f"{as_of:%Y-%m-%d}")
    closes = first + pd.Timedelta(days=30)
    assert (
        "no lead's 30-day window has closed yet (the first closes on "
        f"{closes:%Y-%m-%d}); caveats: interim look" in text
    )
    # this run's log rows are saved for the runner (which appends them when it publishes)
    rows = experiments.read_log_rows(folder / "experiment_log_rows.csv")
    assert rows["as_of"].tolist() == [f"{as_of:%Y-%m-%d}"]
    assert rows["registration"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert rows["interim"].tolist() == [True] and rows["n"].tolist() == [0]
    # a fresh OUT has no log yet: the log shown is exactly this run's rows
    shown = experiments.read_log_rows(folder / "experiment_log.csv")
    pd.testing.assert_frame_equal(shown, rows)


def test_unregistered_experiments_are_named(sample_dir: Path, tmp_path: Path) -> None:
    asg = _assignments(sample_dir)
    odd = asg.index % 2 == 1
    asg["experiment_id"] = np.where(odd, "exp-y", "exp-x")
    params = _variant(sample_dir, "unregistered", asg)
    text, folder, _ = _run(params, tmp_path / "out")
    assert (
        "Experiment(s) in the data without a registration: exp-x, exp-y "
        "(add params/experiments/<id>.yaml to read them out)"
    ) in text
    assert (
        f"Not computed (Readout of {EXPERIMENT}): Experiment {EXPERIMENT} has no leads in the "
        "assignments table; "
    ) in text
    assert "0 of 2 registered experiment(s) read out" in text
    assert pd.read_csv(folder / "ab_results.csv").empty
