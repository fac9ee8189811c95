"""The cohort_conversion notebook: structure, and its golden numbers recomputed independently.

The golden cells (``# NBVAL_CHECK_OUTPUT``) of notebooks/cohort_conversion.ipynb print the
headline numbers on data/demo. Here each is recomputed from the same loaded tables with plain
pandas, statsmodels and scipy (never through leadnb.funnel.stages/cohorts/survival/lvr/value_map) and
the expected line must appear verbatim in the stored golden text. Skipped without data/demo.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest, chi2
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "cohort_conversion.ipynb"
PARAMS = ROOT / "params" / "demo.yaml"
DEMO = ROOT / "data" / "demo"
MARK = "# NBVAL_CHECK_OUTPUT"
STAGES = ["lead", "mql", "sql", "opportunity", "customer"]


def _nb() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def _golden_text() -> str:
    parts = []
    for c in _nb().cells:
        if c.cell_type == "code" and c.source.lstrip().startswith(MARK):
            for o in c.get("outputs", []):
                if o.get("output_type") == "stream":
                    parts.append(o.get("text", ""))
    return "".join(parts)


# ------------------------------------------------------------------------- structure


def test_parameters_cell_matches_params_file() -> None:
    nb = _nb()
    assert nb.metadata["kernelspec"]["name"] == "leadnb"
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0]
    assert "parameters" in first.metadata.get("tags", [])
    tree = ast.parse(first.source)
    names = [n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)]
    assert names[:4] == ["params_path", "as_of", "out_dir", "interactive"]
    section = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))["cohort_conversion"]
    assert set(section) == set(names[4:])
    defaults = {
        n.target.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.AnnAssign)
    }
    for k, v in section.items():
        assert defaults[k] == v, k
    # only golden cells keep outputs (text only); other cells carry no outputs or counts
    for c in code:
        if not c.source.lstrip().startswith(MARK):
            assert not c.get("outputs") and c.get("execution_count") is None, c.source[:60]
        for o in c.get("outputs", []):
            assert "image/png" not in o.get("data", {})
    assert sum(c.source.lstrip().startswith(MARK) for c in code) >= 6


# ------------------------------------------------------------------------- golden numbers


@pytest.fixture(scope="module")
def demo():
    if not (DEMO / "leads.csv").exists():
        pytest.skip("data/demo not generated (leadnb sample --out data/demo)")
    golden = _golden_text()
    if not golden.strip():
        pytest.skip("the notebook has no golden outputs yet (make notebooks)")
    from leadnb.report import notebook as nb

    ctx = nb.start(
        "cohort_conversion", params_path=str(PARAMS), tables=("leads", "stages", "orders")
    )
    leads, stages = ctx.tables["leads"], ctx.tables["stages"]
    # per-lead first entry per stage, then the imply rule: reversed running minimum, forward filled
    first = stages.pivot_table(index="lead_id", columns="stage", values="entered_at", aggfunc="min")
    w = pd.DataFrame({"created_at": leads.set_index("lead_id")["created_at"]})
    w = w.join(first.reindex(columns=STAGES[1:] + ["lost"]))
    later = w[STAGES[1:]].iloc[:, ::-1]
    w[STAGES[1:]] = later.cummin(axis=1).ffill(axis=1).iloc[:, ::-1]
    w["source"] = leads.set_index("lead_id")["source"]
    return {"ctx": ctx, "wide": w, "golden": golden, "end": ctx.as_of + pd.Timedelta(days=1)}


def _has(golden: str, line: str) -> None:
    assert line in golden, f"expected golden line not found:\n{line}\n--- golden ---\n{golden}"


NAMES = {
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer",
}


def test_conversion_rates(demo) -> None:
    w, end, golden = demo["wide"], demo["end"], demo["golden"]
    reached = {s: (w["created_at"] if s == "lead" else w[s]) < end for s in STAGES}
    for a, b in [("lead", "mql"), ("mql", "sql"), ("mql", "opportunity"), ("mql", "customer")]:
        n = int(reached[a].sum())
        k = int((reached[a] & reached[b]).sum())
        lo, hi = proportion_confint(k, n, method="wilson")
        _has(
            golden,
            f"{NAMES[a]} -> {NAMES[b]}: {k / n:.1%} (95% CI {lo:.1%} to {hi:.1%}; {k:,} of {n:,})",
        )


def test_cohort_three_months(demo) -> None:
    w, ctx, golden = demo["wide"], demo["ctx"], demo["golden"]
    w = w[w["created_at"] < demo["end"]]
    cohort = w["created_at"].dt.to_period("M")
    within = w["sql"] <= w["created_at"] + pd.DateOffset(months=3)
    rows = []
    for p in sorted(cohort.unique()):
        if p.end_time.normalize() + pd.DateOffset(months=3) <= ctx.as_of:
            m = cohort == p
            rows.append((str(p), within[m].mean(), int(m.sum())))
    (c0, r0, n0), (c1, r1, n1) = rows[0], rows[-1]
    _has(
        golden,
        f"Reached sql within 3 months: cohort {c0} {r0:.1%} (n={n0:,}); "
        f"latest observable cohort {c1} {r1:.1%} (n={n1:,})",
    )


def test_time_to_stage_statsmodels(demo) -> None:
    w, end, golden = demo["wide"], demo["end"], demo["golden"]
    day = pd.Timedelta(days=1)
    for a in ("lead", "mql"):
        start = w["created_at"] if a == "lead" else w["mql"]
        d = w[start < end]
        s = start[start < end]
        hit = d["sql"] < end
        dur = ((d["sql"].where(hit, end) - s) / day).clip(lower=0)
        sf = SurvfuncRight(dur.to_numpy(float), hit.to_numpy(int))
        surv = [
            sf.surv_prob[np.searchsorted(sf.surv_times, t, side="right") - 1] for t in (30, 60, 90)
        ]
        p30, p60, p90 = (1 - x for x in surv)
        med = "not reached" if sf.surv_prob.min() > 0.5 else f"{sf.quantile(0.5):.0f} days"
        _has(
            golden,
            f"{a} -> sql: n={len(d):,}, converted {int(hit.sum()):,}; median {med}; "
            f"within 30/60/90 days {p30:.1%} / {p60:.1%} / {p90:.1%}",
        )


def test_lvr_latest_month(demo) -> None:
    w, ctx, golden = demo["wide"], demo["ctx"], demo["golden"]
    q = w["sql"][w["sql"] < demo["end"]].dt.to_period("M").value_counts()
    last = ctx.as_of.to_period("M")
    if ctx.as_of != last.end_time.normalize():
        last = last - 1
    this, prev = int(q.get(last, 0)), int(q.get(last - 1, 0))
    ci = binomtest(this, this + prev).proportion_ci(method="exact")
    lo = (ci.low / (1 - ci.low) - 1) * 100
    hi = (ci.high / (1 - ci.high) - 1) * 100
    _has(
        golden,
        f"Latest complete period {last}: {this:,} qualified, LVR {(this - prev) / prev * 100:+.1f}% "
        f"(95% CI {lo:+.1f}% to {hi:+.1f}%)",
    )


def test_old_share_rises_after_nurture(demo) -> None:
    w, ctx, golden = demo["wide"], demo["ctx"], demo["golden"]
    start = ctx.params.roi.nurture_start
    assert start == pd.Timestamp("2025-10-01")
    end = demo["end"]
    shares = {}
    for stage in ("sql", "opportunity"):
        at = w[stage]
        ok = at < end
        old = ((at - w["created_at"]) / pd.Timedelta(days=1) >= 30)[ok]
        month_start = at[ok].dt.to_period("M").dt.start_time
        for era, m in (("before", month_start < start), ("after", month_start >= start)):
            n, k = int(m.sum()), int(old[m].sum())
            lo, hi = proportion_confint(k, n, method="wilson")
            shares[(stage, era)] = k / n
            _has(
                golden,
                f"{stage} {era} nurture start: {k:,} of {n:,} from old leads = {k / n:.1%} "
                f"(95% CI {lo:.1%} to {hi:.1%})",
            )
    # the demo's story: old leads' share of conversions rises after the nurture start
    assert shares[("sql", "after")] > shares[("sql", "before")] + 0.2
    assert shares[("opportunity", "after")] > shares[("opportunity", "before")] + 0.2


def test_old_lead_hazard(demo) -> None:
    w, ctx, golden = demo["wide"], demo["ctx"], demo["golden"]
    end, split = demo["end"], ctx.params.roi.nurture_start
    w = w[w["created_at"] < end]
    hit = w["sql"] < end
    exit_at = w["sql"].where(hit, end).where(lambda s: s >= w["created_at"], w["created_at"])
    t_old = w["created_at"] + pd.Timedelta(days=30)
    for era, e0, e1 in (("before", w["created_at"].min(), split), ("after", split, end)):
        lo_t = t_old.where(t_old > e0, e0)
        hi_t = exit_at.where(exit_at < e1, e1)
        days = ((hi_t - lo_t) / pd.Timedelta(days=1)).clip(lower=0).sum()
        months = days / (365.25 / 12)
        ev = hit & (exit_at >= t_old) & (exit_at >= e0) & (exit_at < e1)
        k = int(ev.sum())
        lo = chi2.ppf(0.025, 2 * k) / 2 / months if k else 0.0
        hi = chi2.ppf(0.975, 2 * k + 2) / 2 / months
        _has(
            golden,
            f"sql rate per 1,000 lead-months, age 30+ days, {era}: {1000 * k / months:.2f} "
            f"(95% CI {1000 * lo:.2f} to {1000 * hi:.2f})",
        )


def test_value_map_groups(demo) -> None:
    ctx, golden = demo["ctx"], demo["golden"]
    orders, leads = ctx.tables["orders"], ctx.tables["leads"]
    split, end = ctx.params.roi.nurture_start, ctx.as_of
    o = orders[(orders["order_date"] >= split) & (orders["order_date"] <= end)]
    key = o["account_id"].fillna("lead:" + o["lead_id"].astype("str"))
    g = o.groupby(key)["amount"].agg(["size", "mean"])
    months = ((end - split).days + 1) / (365.25 / 12)
    freq = g["size"] / months
    vc, fc = g["mean"].median(), freq.median()
    hv, hf = g["mean"] > vc, freq > fc
    counts = {
        "B": int((~hv & ~hf).sum()),
        "C": int((hv & ~hf).sum()),
        "D": int((~hv & hf).sum()),
        "E": int((hv & hf).sum()),
    }
    lk = leads["account_id"].fillna("lead:" + leads["lead_id"].astype("str"))
    ok = orders["account_id"].fillna("lead:" + orders["lead_id"].astype("str"))
    universe = set(lk) | set(ok)
    counts["A"] = len(universe) - len(g)
    _has(
        golden,
        f"cut-offs order value {vc:,.0f}, orders per month {fc:.3f}",
    )
    _has(golden, "Accounts per group: " + ", ".join(f"{k} {counts[k]:,}" for k in "ABCDE"))
    assert math.isclose(sum(counts.values()), len(universe))


# ------------------------------------------------------------------------- degenerate data, end to end
# Each test runs the notebook once through the scheduler's path (leadnb.run.runner.run) on a small
# sample changed in code, asserts exit 0 and the one-sentence notices of the sections it skips.


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from leadnb.run import cli

    out = tmp_path_factory.mktemp("cohort_sample") / "s"
    assert cli.main(["sample", "--out", str(out), "--leads", "400", "--seed", "3"]) == 0
    return out


def _run_variant(sample: Path, tmp: Path, name: str, as_of: str, change=None) -> tuple[str, dict]:
    """Params next to the sample (changed by ``change(raw, sample)``); run; exit 0; return the
    executed notebook's printed text and metrics.json."""
    import json

    from tests.warm_kernel import run_alone

    raw = yaml.safe_load((sample / "params.yaml").read_text(encoding="utf-8"))
    if change is not None:
        change(raw, sample)
    params = sample / f"params_{name}.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    text, folder, _ = run_alone(params, "cohort_conversion", tmp / "out", as_of)
    return text, json.loads((folder / "metrics.json").read_text())


def test_e2e_first_week(sample_dir: Path, tmp_path: Path) -> None:
    text, metrics = _run_variant(sample_dir, tmp_path, "first_week", "2025-01-05")
    assert (
        "Not computed (Cohorts): No creation cohort has been followed for a full month yet (the "
        "first, 2025-01, completes its first month on 2025-02-28); it appears in the run of "
        "2025-02-28 or later." in text
    )
    assert "Not computed (Lead Velocity Rate): " in text
    assert "Not computed (Customer value map): No order is dated on or before" in text
    assert "Lead -> MQL: " in text  # the to-date rates are still there
    assert "lvr_pct" not in metrics and metrics["n_leads"] == 400


def test_e2e_no_stage_history_and_no_orders(sample_dir: Path, tmp_path: Path) -> None:
    def drop(raw: dict, _: Path) -> None:
        del raw["data"]["stages"], raw["data"]["orders"]

    text, metrics = _run_variant(sample_dir, tmp_path, "no_stages", "2026-06-30", drop)
    assert (
        "Not computed (Stage history): There is no stage history (no stages table and no mql_at, "
        "sql_at, opportunity_at, customer_at columns on leads); it appears when data.stages" in text
    )
    for title in ("Stage conversion rates", "Cohorts", "Time to stage", "Lead Velocity Rate"):
        assert f"Not computed ({title}): The stage history is missing" in text
    assert "Not computed (Customer value map): The params file has no orders table" in text
    assert metrics["n_leads"] == 400 and "lead_to_mql_rate" not in metrics


def test_e2e_no_source_never_qualified_no_repeat_orders_weekly(
    sample_dir: Path, tmp_path: Path
) -> None:
    def change(raw: dict, folder: Path) -> None:
        leads = pd.read_csv(folder / "leads.csv").drop(columns="source")
        leads.to_csv(folder / "leads_nosource.csv", index=False)
        stages = pd.read_csv(folder / "stages.csv")
        keep = stages["stage"].isin(["Lead", "Marketing Qualified", "Closed Lost"])
        stages[keep].to_csv(folder / "stages_nosql.csv", index=False)
        orders = pd.read_csv(folder / "orders.csv").drop_duplicates("account_id")
        orders.to_csv(folder / "orders_once.csv", index=False)
        raw["data"]["leads"]["source"] = "leads_nosource.csv"
        raw["data"]["stages"]["source"] = "stages_nosql.csv"
        raw["data"]["orders"]["source"] = "orders_once.csv"
        raw["cohort_conversion"] = {"cohort_freq": "W", "max_age_months": 0}

    text, metrics = _run_variant(sample_dir, tmp_path, "degenerate", "2026-06-30", change)
    assert (
        "Not computed (Conversion by lead source): The leads table has no source column; it "
        "appears when data.leads.columns maps a column onto source." in text
    )
    assert "Not computed (Time to stage by source): The leads table has no source column" in text
    assert "Not computed (New versus old leads): No lead has reached sql by 2026-06-30" in text
    assert "Not computed (Lead Velocity Rate): No lead has reached sql by 2026-06-30" in text
    assert "MQL -> SQL: 0.0% (95% CI 0.0% to " in text  # a true zero, with its interval
    assert "Not computed (Cohorts)" not in text and "Not computed (Customer value map)" not in text
    assert metrics["mql_to_sql_rate"] == 0 and "lvr_pct" not in metrics
