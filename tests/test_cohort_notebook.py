"""The cohort_conversion notebook: structure, and every golden output recomputed independently.

Each cell marked ``# NBVAL_CHECK_OUTPUT`` in notebooks/cohort_conversion.ipynb prints headline
numbers on data/demo; nbval checks that a re-run prints the same text. Here each such cell's
whole stored output is recomputed from the same loaded tables with plain pandas, numpy, scipy and
statsmodels (never through leadnb.funnel) and must equal it line for line, so a golden line that
is wrong, or that no test recomputes, fails. A golden cell without a test here fails too
(:func:`test_every_golden_cell_has_an_independent_check`). Missing demo data or golden outputs
fail with a message saying how to make them: a test that skips would check nothing.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest, chi2
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from tests import reference as ref

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "cohort_conversion.ipynb"
PARAMS = ROOT / "params" / "demo.yaml"
DEMO = ROOT / "data" / "demo"
MARK = "# NBVAL_CHECK_OUTPUT"
STAGES = ["lead", "mql", "sql", "opportunity", "customer"]
DAY = pd.Timedelta(days=1)
DAYS_PER_MONTH = 365.25 / 12
#: each golden cell, named by a phrase only its source contains
GOLDEN = {
    "header": "Analysis date",
    "quality": "readable_checks(quality)",
    "conversion": "conv.to_dict",
    "cohorts": "m3 = matrix",
    "time_to_stage": "tts.to_dict",
    "lvr": "lvr_tbl.complete",
    "new_vs_old": "share_old_by_era",
    "value_map": "groups.attrs",
}


def _nb() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def _golden_cells() -> list[tuple[str, str]]:
    """(source, printed text) of every golden cell, in notebook order."""
    cells = []
    for c in _nb().cells:
        if c.cell_type == "code" and c.source.lstrip().startswith(MARK):
            text = "".join(
                o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream"
            )
            cells.append((c.source, text))
    return cells


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


# ------------------------------------------------------------------------- the page's order


def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def test_answer_cell_is_last_tagged_and_uses_the_builder() -> None:
    """The answer: the last cell, tagged ``answer`` (the page shows its output first), built by
    report.answers.cohort_answer from the Metrics object the notebook writes, written to
    metrics.json (the card's first sentence) and displayed by ending in ``answer``."""
    cells = _nb().cells
    last = cells[-1]
    assert last.cell_type == "code" and _tags(last) == ["answer"]
    assert [i for i, c in enumerate(cells) if "answer" in _tags(c)] == [len(cells) - 1]
    tree = ast.parse(last.source)
    calls = [
        ast.unparse(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "cohort_answer"
    ]
    assert calls == ["cohort_answer(metrics)"]
    assert "ctx.write_metrics(answer.as_dict())" in last.source
    assert isinstance(tree.body[-1], ast.Expr) and ast.unparse(tree.body[-1]) == "answer"
    # ``metrics`` is the Metrics object the headline cell builds and writes (not the dict
    # write_metrics returns), and no cell after it writes metrics
    head = next(c for c in cells if "metrics = funnel.headline_metrics(" in c.source)
    assert "ctx.write_metrics(metrics)" in head.source
    assert "metrics = ctx.write_metrics(" not in head.source  # the Metrics object stays
    # and the cell does not echo the dict into the report (it ends in an assignment)
    assert "_ = ctx.write_metrics(metrics)" in head.source
    assert cells.index(head) < len(cells) - 1
    assert "n_leads=funnel.known_leads(" in head.source  # leads known by as_of, not len(table)


def test_appendix_holds_methods_and_data_notes_and_evidence_comes_first() -> None:
    """Methods, definitions, data-quality notes and the headline bookkeeping are tagged
    ``appendix``; the first untagged content after the title is evidence (section 1's
    heading, then its chart before its table)."""
    cells = _nb().cells
    appendix = [c for c in cells if "appendix" in _tags(c)]
    text = "\n".join(c.source for c in appendix)
    for phrase in (
        "## About this report",
        "### Data quality of the stage history",
        'with nb.section("Data quality of the stage history")',
        "readable_checks(quality).to_dict",  # the data-quality lines
        "# NBVAL_CHECK_OUTPUT\nif wide is not None",  # analysis date and funnel definitions
        "### Headline numbers",
        "metrics = funnel.headline_metrics(",
    ):
        assert phrase in text, phrase
    assert "written to metrics.json" not in "".join(
        c.source for c in cells if c.cell_type == "code"
    )
    rest = [
        c
        for c in cells[1:]
        if not {"appendix", "answer", "parameters"} & set(_tags(c)) and c.source.strip()
    ]
    assert rest[0].cell_type == "markdown" and rest[0].source.startswith("## 1. Stage conversion")
    conv = rest[1].source
    assert conv.index("plot_stage_conversion") < conv.index("ctx.show(")
    tts = next(c.source for c in cells if "tts = survival.time_to_stage_table(wide" in c.source)
    assert tts.index("plot_time_to_stage") < tts.index("ctx.show(")
    vm = next(c.source for c in cells if 'nb.section("Customer value map")' in c.source)
    assert vm.index("plot_value_map") < vm.index("ctx.show(")


def test_every_saved_table_that_is_shown_links_its_csv() -> None:
    """A shown table that is also saved as a CSV goes through ctx.show(..., csv=<that file>)."""
    code = "\n".join(c.source for c in _nb().cells if c.cell_type == "code")
    tree = ast.parse(code)
    shown = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "ctx.show":
            kw = {k.arg: k.value for k in n.keywords}
            assert "csv" in kw and "n" not in kw, ast.unparse(n)[:80]
            shown[ast.literal_eval(kw["csv"])] = ast.unparse(n.args[0])
    saved = {
        ast.literal_eval(n.args[1])
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "ctx.save_table"
    }
    assert set(shown) <= saved
    assert set(shown) == {
        "stage_quality.csv",
        "stage_conversion.csv",
        "stage_conversion_by_source.csv",
        "stage_conversion_by_quarter.csv",
        "time_to_stage.csv",
        "time_to_stage_by_source.csv",
        "value_map.csv",
    }
    # nb.show is left for tables not saved as such: the movement matrix (a pivot of
    # value_movement.csv) and the interactive widget's table for one source
    plain = sorted(
        ast.unparse(n.args[0]).split("(")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "nb.show"
    )
    assert plain == ["funnel.with_stage_names", "value_map.movement_matrix"]


# ------------------------------------------------------------------------- golden numbers


def test_every_golden_cell_has_an_independent_check() -> None:
    """Each golden cell is one of GOLDEN (recomputed below); a new one needs a test here."""
    names = [[n for n, phrase in GOLDEN.items() if phrase in src] for src, _ in _golden_cells()]
    assert all(len(n) == 1 for n in names), f"golden cells without exactly one check: {names}"
    assert sorted(n[0] for n in names) == sorted(GOLDEN)


@pytest.fixture(scope="module")
def demo():
    if not (DEMO / "leads.csv").exists():
        pytest.fail(
            f"the demo data is missing ({DEMO / 'leads.csv'}): the golden numbers are checked "
            "against it. Make it with `leadnb sample --out data/demo` (or `make report`).",
            pytrace=False,
        )
    golden = {}
    for src, text in _golden_cells():
        name = next((n for n, phrase in GOLDEN.items() if phrase in src), None)
        if name is not None:
            golden[name] = text
    empty = sorted(n for n in GOLDEN if not golden.get(n, "").strip())
    if empty:
        pytest.fail(
            f"{NOTEBOOK.name} has no stored output in its golden cell(s) {', '.join(empty)}: "
            "nothing would be checked. Store them with `make notebooks`.",
            pytrace=False,
        )
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
    raw = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    return {
        "ctx": ctx,
        "raw": raw,
        "wide": w,
        "golden": golden,
        "as_of": pd.Timestamp(raw["run"]["as_of"]),
        "end": pd.Timestamp(raw["run"]["as_of"]) + DAY,
        "nurture_start": pd.Timestamp(raw["roi"]["nurture_start"]),
    }


def _same(demo: dict, name: str, lines: list[str]) -> None:
    got = demo["golden"][name].splitlines()
    assert got == lines, (
        f"golden cell {name!r} differs from its independent recomputation\n--- stored ---\n"
        + "\n".join(got)
        + "\n--- recomputed ---\n"
        + "\n".join(lines)
    )


# The expected text is written here with plain Python formatting, never with leadnb's
# format_value, so a formatting bug in leadnb fails these tests: a rate one decimal in percent
# (two under 1%), a count with thousands separators, a whole number of days without decimals; a
# value and its interval share their decimals, set by the largest of the three.


def _pct(v: float, like: float | None = None) -> str:
    if pd.isna(v):
        return "–"
    ref = v if like is None or abs(like) < abs(v) else like
    return f"{v * 100:.2f}%" if 0 < abs(ref * 100) < 1 else f"{v * 100:.1f}%"


def _count(v: float, like: float | None = None) -> str:
    """A count; a modelled (fractional) one below 100 keeps one decimal."""
    ref = v if like is None or abs(like) < abs(v) else like
    whole = (float(v).is_integer() and float(ref).is_integer()) or abs(ref) >= 100
    return f"{v:,.0f}" if whole else f"{v:,.1f}"


def _with_ci(fmt, v: float, lo: float, hi: float) -> str:
    """``"v (95% CI lo to hi)"``, the three with the decimals of the largest."""
    like = max((v, lo, hi), key=abs)
    return f"{fmt(v, like)} (95% CI {fmt(lo, like)} to {fmt(hi, like)})"


def _days(v: float) -> str:
    return f"{v:,.0f} days" if float(v).is_integer() else f"{v:,.1f} days"


#: the funnel's display names of the demo's stages, as a reader knows them
NAMES = {
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "lost": "Lost",
}


def test_header(demo) -> None:
    leads, raw, as_of = demo["ctx"].tables["leads"], demo["raw"], demo["as_of"]
    f = raw["funnel"]
    created = leads["created_at"]
    _same(
        demo,
        "header",
        [
            f"Analysis date {as_of:%Y-%m-%d}; {len(leads):,} leads created "
            f"{created.min():%Y-%m-%d} to {created.max():%Y-%m-%d}",
            f"Funnel: {' > '.join(NAMES[s] for s in f['stages'])} (lost: "
            f"{NAMES[f['lost_stage']]}); qualified stage {NAMES[f['qualified_stage']]}; new lead: "
            f"younger than {f['new_lead_days']} days; skipped stages: "
            + {"imply": "implied by a later stage", "strict": "left missing"}[f["skipped_stages"]],
            f"Nurture programme start: {demo['nurture_start']:%Y-%m-%d}",
        ],
    )


def test_stage_history_quality(demo) -> None:
    leads, e = demo["ctx"].tables["leads"], demo["ctx"].tables["stages"]
    known_lead = e["lead_id"].isin(set(leads["lead_id"]))
    known_stage = e["stage"].isin([*STAGES, "lost"])
    dated = e["entered_at"].notna()
    ok = e[known_lead & known_stage & dated]
    re_entry = ok[ok.duplicated(["lead_id", "stage"])]["lead_id"]
    # a move back: an entry ranked below the lead's previous entry in time
    f = ok[ok["stage"].isin(STAGES)].assign(rank=lambda d: d["stage"].map(STAGES.index))
    f = f.sort_values(["lead_id", "entered_at"], kind="stable")
    back = f[f["rank"] < f.groupby("lead_id")["rank"].shift()]["lead_id"]
    created = ok["lead_id"].map(leads.set_index("lead_id")["created_at"])
    before = ok[ok["entered_at"] < created]["lead_id"]
    # skipped: the highest stage reached is above the number of distinct stages reached
    reached = f[f["rank"] > 0].groupby("lead_id")["rank"].agg(["max", "nunique"])
    skipped = reached.index[reached["max"] > reached["nunique"]].to_series()
    checks = [
        ("Re-entered a stage", re_entry),
        ("Moved back a stage", back),
        ("Stage dated before creation", before),
        ("Unknown stage name", e[~known_stage]["lead_id"]),
        ("Unknown lead", e[~known_lead]["lead_id"]),
        ("Entry without a date", e[~dated]["lead_id"]),
        ("Skipped a stage", skipped),
    ]
    _same(
        demo,
        "quality",
        [f"{name}: {len(ids):,} entries, {ids.nunique():,} leads" for name, ids in checks],
    )


def test_conversion_rates(demo) -> None:
    w, end = demo["wide"], demo["end"]
    reached = {s: (w["created_at"] if s == "lead" else w[s]) < end for s in STAGES}
    # the article's four rates, then the adjacent steps not among them
    pairs = [("lead", "mql"), ("mql", "sql"), ("mql", "opportunity"), ("mql", "customer")]
    pairs += [("sql", "opportunity"), ("opportunity", "customer")]
    lines = []
    for a, b in pairs:
        n = int(reached[a].sum())
        k = int((reached[a] & reached[b]).sum())
        lo, hi = proportion_confint(k, n, method="wilson")
        lines.append(
            f"{NAMES[a]} → {NAMES[b]}: {_with_ci(_pct, k / n, lo, hi)[:-1]}; {k:,} of {n:,})"
        )
    q = demo["raw"]["funnel"]["qualified_stage"]
    rate = (reached["lead"] & reached[q]).sum() / reached["lead"].sum()
    lines.append(
        f"Lead → {NAMES[q]}: {_pct(rate)} (the article's benchmark for good nurturers: "
        f"{ref.ARTICLE_LEAD_TO_SQL_GOOD_TEXT})"
    )
    _same(demo, "conversion", lines)


def test_cohorts(demo) -> None:
    w, as_of, end = demo["wide"], demo["as_of"], demo["end"]
    ages = demo["raw"]["cohort_conversion"]["max_age_months"]
    w = w[w["created_at"] < end]
    cohort = w["created_at"].dt.to_period("M")
    periods = sorted(cohort.unique())
    # a cell (cohort, k months) is blank until the cohort's last day + k months
    blank = sum(
        p.end_time.normalize() + pd.DateOffset(months=k) > as_of
        for p in periods
        for k in range(1, ages + 1)
    )
    within = w["sql"] <= w["created_at"] + pd.DateOffset(months=3)
    rows = []
    for p in periods:
        if p.end_time.normalize() + pd.DateOffset(months=3) <= as_of:
            m = cohort == p
            rows.append((str(p), within[m].mean(), int(m.sum())))
    (c0, r0, n0), (c1, r1, n1) = rows[0], rows[-1]
    _same(
        demo,
        "cohorts",
        [
            f"Cohorts: {len(periods)}; cells not observable yet (blank): {blank} of "
            f"{len(periods) * ages}",
            f"Reached SQL within 3 months: cohort {c0} {_pct(r0)} (n={n0:,}); "
            f"latest observable cohort {c1} {_pct(r1)} (n={n1:,})",
        ],
    )


def _step(times: np.ndarray, values: np.ndarray, t: float, at0: float) -> float:
    i = np.searchsorted(times, t, side="right") - 1
    return at0 if i < 0 else float(values[i])


def test_time_to_stage_statsmodels(demo) -> None:
    """Kaplan-Meier (statsmodels SurvfuncRight) and, for "before being lost", the
    Aalen-Johansen cumulative incidence with lost as the competing event (statsmodels
    CumIncidenceRight)."""
    w, end = demo["wide"], demo["end"]
    pairs = [("lead", "mql"), ("lead", "sql"), ("mql", "sql"), ("lead", "customer")]
    pairs += [("mql", "customer")]
    lines = []
    for a, b in pairs:
        start = w["created_at"] if a == "lead" else w[a]
        d = w[start < end]
        s = start[start < end]
        hit = d[b] < end
        dur = ((d[b].where(hit, end) - s) / DAY).clip(lower=0)
        sf = SurvfuncRight(dur.to_numpy(float), hit.to_numpy(int))
        p30, p60, p90 = (1 - _step(sf.surv_times, sf.surv_prob, t, 1.0) for t in (30, 60, 90))
        med = "not reached" if sf.surv_prob.min() > 0.5 else _days(sf.quantile(0.5))
        lost = d["lost"]
        lost_first = lost.notna() & (lost < end) & (~hit | (lost < d[b]))
        cr_event = np.where(lost_first, 2, hit.astype(int))
        cr_dur = np.where(lost_first, ((lost - s) / DAY).clip(lower=0), dur)
        ci = CumIncidenceRight(cr_dur.astype(float), cr_event)
        cif90 = _step(ci.times, ci.cinc[0], 90, 0.0)
        lines.append(
            f"{NAMES[a]} → {NAMES[b]}: n={len(d):,}, converted {int(hit.sum()):,}; median {med}; "
            f"within 30/60/90 days {_pct(p30)} / {_pct(p60)} / {_pct(p90)}; "
            f"before being lost {_pct(cif90)} at 90 days"
        )
    _same(demo, "time_to_stage", lines)


def _growth(this: float, last: float) -> str:
    """LVR in percent; a rise carries no plus sign (a percent, not a signed change)."""
    return f"{(this - last) / last * 100:.1f}%"


def test_lvr(demo) -> None:
    """Monthly SQL counts; the latest complete month's LVR with the exact conditional (binomial)
    interval, and the trailing LVR: the same formula on three-month rolling totals."""
    w, as_of, end = demo["wide"], demo["as_of"], demo["end"]
    created = w["created_at"][w["created_at"] < end]
    months = pd.period_range(created.min().to_period("M"), as_of.to_period("M"), freq="M")
    complete = [
        p
        for p in months
        if p.end_time.normalize() <= as_of and p.start_time >= created.min().normalize()
    ]
    q = w["sql"][w["sql"] < end].dt.to_period("M").value_counts()
    counts = [int(q.get(p, 0)) for p in complete]
    this, prev = counts[-1], counts[-2]
    ci = binomtest(this, this + prev).proportion_ci(method="exact")
    lo = (ci.low / (1 - ci.low) - 1) * 100
    hi = (ci.high / (1 - ci.high) - 1) * 100
    _same(
        demo,
        "lvr",
        [
            f"LVR of SQL per month; periods: {len(months)}, complete: {len(complete)}",
            f"Latest complete period {complete[-1]}: {this:,} qualified, LVR {_growth(this, prev)} "
            f"(95% CI {lo:.1f}% to {hi:.1f}%); trailing three periods "
            f"{_growth(sum(counts[-3:]), sum(counts[-4:-1]))}",
        ],
    )


def _hazard_line(w: pd.DataFrame, end, era, e0, e1, age0: float, age1: float) -> str:
    """Conversions per 1,000 lead-months at risk at ages [age0, age1) days within the calendar
    era [e0, e1), with the exact Poisson (chi-square) interval."""
    hit = w["sql"] < end
    exit_at = w["sql"].where(hit, end).where(lambda s: s >= w["created_at"], w["created_at"])
    a0 = w["created_at"] + pd.Timedelta(days=age0)
    a1 = w["created_at"] + pd.Timedelta(days=age1) if np.isfinite(age1) else None
    lo_t = a0.where(a0 > e0, e0)
    hi_t = exit_at if a1 is None else exit_at.where(exit_at < a1, a1)
    hi_t = hi_t.where(hi_t < e1, e1)
    lead_months = ((hi_t - lo_t) / DAY).clip(lower=0).sum() / DAYS_PER_MONTH
    ev = hit & (exit_at >= a0) & (exit_at >= e0) & (exit_at < e1)
    if a1 is not None:
        ev &= exit_at < a1
    k = int(ev.sum())
    lo = chi2.ppf(0.025, 2 * k) / 2 / lead_months if k else 0.0
    hi = chi2.ppf(0.975, 2 * k + 2) / 2 / lead_months
    label = f"{age0:g}+" if not np.isfinite(age1) else f"{age0:g}-{age1 - 1:g}"
    return f"SQL conversions per 1,000 lead-months, age {label} days, {era} nurture start: " + (
        _with_ci(_count, 1000 * k / lead_months, 1000 * lo, 1000 * hi)
    )


def test_new_vs_old(demo) -> None:
    w, end, start = demo["wide"], demo["end"], demo["nurture_start"]
    new_days = demo["raw"]["funnel"]["new_lead_days"]
    lines, shares = [], {}
    for stage in ("sql", "opportunity"):
        at = w[stage]
        ok = at < end
        old = ((at - w["created_at"]) / DAY >= new_days)[ok]
        month_start = at[ok].dt.to_period("M").dt.start_time
        for era, m in (("before", month_start < start), ("after", month_start >= start)):
            n, k = int(m.sum()), int(old[m].sum())
            lo, hi = proportion_confint(k, n, method="wilson")
            shares[(stage, era)] = k / n
            lines.append(
                f"{NAMES[stage]} {era} nurture start: {k:,} of {n:,} from old leads = "
                + _with_ci(_pct, k / n, lo, hi)
            )
    alive = w[w["created_at"] < end]
    for era, e0, e1 in (("before", alive["created_at"].min(), start), ("after", start, end)):
        for age0, age1 in ((0, new_days), (new_days, np.inf)):
            lines.append(_hazard_line(alive, end, era, e0, e1, age0, age1))
    _same(demo, "new_vs_old", lines)
    # the demo's story: old leads' share of conversions rises after the nurture start
    assert shares[("sql", "after")] > shares[("sql", "before")] + 0.2
    assert shares[("opportunity", "after")] > shares[("opportunity", "before")] + 0.2


def _keys(df: pd.DataFrame) -> pd.Series:
    return df["account_id"].fillna("lead:" + df["lead_id"].astype("str"))


def _groups(o: pd.DataFrame, months: float, vc: float | None, fc: float | None):
    """Group letter per account with orders in ``o`` (B..E), and the cut-offs used."""
    g = o.groupby(_keys(o))["amount"].agg(["size", "mean"])
    freq = g["size"] / months
    vc = g["mean"].median() if vc is None else vc
    fc = freq.median() if fc is None else fc
    hv, hf = g["mean"] > vc, freq > fc
    letter = np.select([hv & hf, hv, hf], ["E", "C", "D"], default="B")
    return pd.Series(letter, index=g.index), vc, fc


def test_value_map(demo) -> None:
    """Groups over [split, as_of] with median cut-offs; moves from [first order, split) to
    [split, as_of] with the first period's cut-offs."""
    ctx, split, as_of, end = demo["ctx"], demo["nurture_start"], demo["as_of"], demo["end"]
    # money is shown without a currency symbol when run.currency is not set (the demo's case)
    assert "currency" not in demo["raw"]["run"], "expected text below has no currency symbol"
    orders, leads = ctx.tables["orders"], ctx.tables["leads"]
    known = orders[orders["order_date"] < end]
    universe = set(_keys(leads)) | set(_keys(known))
    after = known[known["order_date"] >= split]
    g_after, vc, fc = _groups(after, ((as_of - split).days + 1) / DAYS_PER_MONTH, None, None)
    counts = g_after.value_counts()
    counts["A"] = len(universe) - len(g_after)
    first = known["order_date"].min()
    before = known[known["order_date"] < split]
    g_before, vc0, fc0 = _groups(before, (split - first) / DAY / DAYS_PER_MONTH, None, None)
    g_after0, _, _ = _groups(after, ((as_of - split).days + 1) / DAYS_PER_MONTH, vc0, fc0)
    moves = pd.DataFrame({"key": sorted(universe)})
    moves["from"] = moves["key"].map(g_before).fillna("A")
    moves["to"] = moves["key"].map(g_after0).fillna("A")
    a_out = int(((moves["from"] == "A") & (moves["to"] != "A")).sum())
    to_e = int((moves["from"].isin(["B", "C", "D"]) & (moves["to"] == "E")).sum())
    _same(
        demo,
        "value_map",
        [
            f"Value map {split:%Y-%m-%d} to {as_of:%Y-%m-%d}: cut-offs order value "
            f"{f'{vc:,.0f}' if abs(vc) >= 100 else f'{vc:,.2f}'}, orders per month {fc:.3f}",
            "Accounts per group: " + ", ".join(f"{k} {counts.get(k, 0):,}" for k in "ABCDE"),
            f"Moved A → B/C/D/E (became customers): {a_out:,}; moved B/C/D → E: {to_e:,}",
        ],
    )


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
    executed notebook's printed text and metrics.json (after checking that metric_kinds.json
    declares the kind of every number in it, so the run index formats each one)."""
    from tests.warm_kernel import run_alone

    raw = yaml.safe_load((sample / "params.yaml").read_text(encoding="utf-8"))
    if change is not None:
        change(raw, sample)
    params = sample / f"params_{name}.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    text, folder, _ = run_alone(params, "cohort_conversion", tmp / "out", as_of)
    metrics = json.loads((folder / "metrics.json").read_text())
    kinds = json.loads((folder / "metric_kinds.json").read_text())
    words = {"headline", "labels", "answer", "actions"}  # not numbers: no kind
    assert set(metrics) - words == set(kinds), sorted((set(metrics) - words) ^ set(kinds))
    assert [k for k in metrics["headline"] if k in metrics and k not in kinds] == []
    # every headline key has a card label; the answer renders even when sections were skipped
    assert set(metrics["headline"]) <= set(metrics["labels"])
    assert metrics["answer"] and metrics["actions"]
    return text, metrics


def test_e2e_first_week(sample_dir: Path, tmp_path: Path) -> None:
    text, metrics = _run_variant(sample_dir, tmp_path, "first_week", "2025-01-05")
    assert (
        "Not computed (Cohorts): No creation cohort has been followed for a full month yet (the "
        "first, 2025-01, completes its first month on 2025-02-28); it appears in the run of "
        "2025-02-28 or later." in text
    )
    assert "Not computed (Lead Velocity Rate): " in text
    assert "Not computed (Customer value map): No order is dated on or before" in text
    assert "Lead → MQL: " in text  # the to-date rates are still there
    # n_leads: the leads created by the end of the analysis day, not the 400 rows of the table
    created = pd.to_datetime(pd.read_csv(sample_dir / "leads.csv")["created_at"])
    known = int((created < pd.Timestamp("2025-01-05") + DAY).sum())
    assert 0 < known < 400 and metrics["n_leads"] == known
    assert "lvr_pct" not in metrics
    assert metrics["answer"][0].startswith(f"Of {known} leads, ")


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
    assert "MQL → SQL: 0.0% (95% CI 0.0% to " in text  # a true zero, with its interval
    assert "Not computed (Cohorts)" not in text and "Not computed (Customer value map)" not in text
    assert metrics["mql_to_sql_rate"] == 0 and "lvr_pct" not in metrics
