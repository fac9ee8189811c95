"""notebooks/scoring_calibration.ipynb: its parameters, its stored outputs, and its golden numbers.

Every ``# NBVAL_CHECK_OUTPUT`` cell's printed numbers are recomputed here from data/demo with
plain pandas (tables read with ``pd.read_csv``/``pd.read_parquet``, stage names mapped by hand,
the outcome, the decision-time populations, the segments and the SDR list built here), scipy
(Mann-Whitney U for the AUC), placement values for DeLong's interval, statsmodels (GLM for the
Brier score, Wilson and score intervals) and brute force for the threshold. Only the per-lead
points come from :func:`leadnb.scoring.engine.score`, which tests/test_scoring.py checks against a
slow reference. Missing demo data or golden outputs fail these tests with a message; they never
skip.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from leadnb.scoring.engine import score
from leadnb.scoring.rules import ScoringConfig

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "scoring_calibration.ipynb"
PARAMS = REPO / "params" / "demo.yaml"
DEMO = REPO / "data" / "demo"
AS_OF = pd.Timestamp("2026-06-30")
DAY_END = AS_OF + pd.Timedelta(days=1)


def _require_demo() -> None:
    """Fail (never skip) when the demo data is missing: a test that skips checks nothing."""
    missing = [f for f in ("leads.csv", "events.parquet", "stages.csv") if not (DEMO / f).exists()]
    if missing:
        pytest.fail(
            f"demo data missing in {DEMO}: {', '.join(missing)}; run `make demo-data` "
            "(leadnb sample --out data/demo) before the tests",
            pytrace=False,
        )


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def _is_golden(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")


def _golden_text() -> str:
    """The text every ``# NBVAL_CHECK_OUTPUT`` cell stores; fails when none is stored."""
    out = []
    for c in _notebook().cells:
        if _is_golden(c):
            out.extend(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream")
    if not "".join(out).strip():
        pytest.fail(
            f"{NOTEBOOK.name} stores no golden output (cells marked # NBVAL_CHECK_OUTPUT have "
            "no printed text): run `make notebooks` to store them",
            pytrace=False,
        )
    return "".join(out)


def _num(text: str) -> float:
    """A printed number back as a float: "1,234" -> 1234, "4.2%" -> 0.042, "3.05×" -> 3.05."""
    text = text.replace(",", "").rstrip("×")
    return float(text.rstrip("%")) / (100 if text.endswith("%") else 1)


# How a reader should see each kind of number, written here with plain Python formatting (not
# leadnb.results.format_value), so a formatting bug in leadnb fails these tests.
def _pct(x: float, like: float | None = None) -> str:
    """A rate in percent: one decimal, two under 1% (judged on ``like``, the far end of the
    interval shown with it, so a rate and its interval share their decimals)."""
    ref = x if like is None or abs(like) < abs(x) else like
    return f"{x * 100:.2f}%" if 0 < abs(ref * 100) < 1 else f"{x * 100:.1f}%"


def _score(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.1f}"


SEGMENT_NAMES = {
    "Asked for sales": "asked_for_sales",
    "Converted fast (defined by the outcome)": "converted_fast",
    "Engaged (nurture)": "engaged_nurture",
    "Competitors and peers": "competitor",
    "Everyone else": "other",
}


def _find(pattern: str) -> tuple[float, ...]:
    m = re.search(pattern, _golden_text(), flags=re.M)
    assert m is not None, f"no golden line of {NOTEBOOK.name} matches {pattern!r}"
    return tuple(_num(g) for g in m.groups())


# ------------------------------------------------------------------ the file itself


def test_parameters_cell_matches_the_params_section() -> None:
    nb = _notebook()
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert next(c for c in nb.cells if c.cell_type == "code") is tagged[0]
    src = tagged[0].source
    names = re.findall(r"^(\w+): [\w\[\]| ]+ = .+?  # .+$", src, flags=re.M)
    assert names[:4] == ["params_path", "as_of", "out_dir", "interactive"]
    assert len(names) == len(src.strip().splitlines())  # every line annotated, with help
    section = yaml.safe_load(PARAMS.read_text())["scoring_calibration"]
    assert set(section) == set(names[4:])
    for key, value in section.items():  # the params file repeats the notebook's defaults
        m = re.search(rf"^{key}: [^=]+= (.+?)  #", src, flags=re.M)
        assert m is not None
        default = yaml.safe_load(m.group(1).replace('""', "''"))
        if key == "abm_accounts_file":  # no ABM list by default; the demo names its own file
            assert default == "" and (PARAMS.parent / value).name == "abm_accounts.csv"
            continue
        assert default == value, key


def test_only_golden_text_outputs_are_stored() -> None:
    nb = _notebook()
    assert nb.metadata["kernelspec"]["name"] == "leadnb"
    goldens = 0
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        if not _is_golden(c):
            assert c.outputs == [] and c.execution_count is None
            continue
        goldens += 1
        assert c.outputs, "golden cell without stored output"
        for o in c.outputs:
            assert o["output_type"] == "stream" and o["name"] == "stdout"
    assert goldens >= 6
    text = _golden_text()
    assert "@" not in text  # never an e-mail address in what the report shows


def _calls(attr: str) -> list:
    """Every call ``<x>.<attr>(...)`` in the notebook's code cells (ast nodes)."""
    import ast

    found = []
    for c in _notebook().cells:
        if c.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(c.source)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == attr
            ):
                found.append(node)
    return found


def test_every_table_is_shown_with_its_column_declarations() -> None:
    # each nb.show / ctx.show passes the Column declarations of the module that built the table,
    # so no machine column name or unformatted number reaches the report
    import ast

    shows = [c for c in _calls("show") if ast.unparse(c.func.value) in ("nb", "ctx")]
    assert len(shows) >= 6
    for call in shows:
        kw = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert kw.get("columns", "").endswith("_COLUMNS"), ast.unparse(call)


def test_every_shown_table_saved_as_csv_links_its_csv() -> None:
    # a table the notebook also saves (ctx.save_table(var, "x.csv")) is shown with
    # ctx.show(..., csv="x.csv"), so the report links the full table; the others use nb.show
    import ast

    saved = {}
    for call in _calls("save_table"):
        var, name = call.args[0], call.args[1]
        if isinstance(var, ast.Name) and isinstance(name, ast.Constant):
            saved[var.id] = name.value
    assert {"bands", "weights", "summary", "hq"} <= set(saved)
    linked = set()
    for call in _calls("show"):
        owner = ast.unparse(call.func.value)
        if owner not in ("nb", "ctx"):
            continue
        names = {n.id for n in ast.walk(call.args[0]) if isinstance(n, ast.Name)}
        kw = {k.arg: k.value for k in call.keywords}
        table = names & set(saved)
        if "counts" in names:  # counts of the list are not the list's CSV
            table -= {"hq"}
        if table:
            (var,) = table
            assert owner == "ctx", ast.unparse(call)
            assert isinstance(kw.get("csv"), ast.Constant), ast.unparse(call)
            assert kw["csv"].value == saved[var], ast.unparse(call)
            linked.add(saved[var])
        else:
            assert "csv" not in kw, ast.unparse(call)
    assert linked == {
        "score_bands.csv", "suggested_weights.csv", "segments.csv", "high_quality_leads.csv",
        "model_validation.csv",
    }  # fmt: skip


def test_the_model_is_fitted_with_the_notebooks_parameters() -> None:
    """``model_cross_fit_check`` (and the seed) reach ``fit_models``: the check's out-of-fold row
    appears in a run exactly when the params ask for it (fit_models' own test covers the row)."""
    import ast

    code = "\n".join(c.source for c in _notebook().cells if c.cell_type == "code")
    calls = [
        n for n in ast.walk(ast.parse(code))
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "lm.fit_models"
    ]  # fmt: skip
    assert len(calls) == 1
    kw = {k.arg: ast.unparse(k.value) for k in calls[0].keywords}
    assert kw["cross_fit_check"] == "model_cross_fit_check" and kw["seed"] == "0"
    defaults: dict = {}
    exec(_notebook().cells[2].source, defaults)
    assert defaults["model_cross_fit_check"] is False  # the check is judged on held-out cohorts


def test_the_answer_cell_is_last_tagged_and_built_from_the_written_metrics() -> None:
    import ast

    cells = _notebook().cells
    tagged = [c for c in cells if "answer" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is cells[-1] and cells[-1].cell_type == "code"
    assert "appendix" not in cells[-1].metadata.get("tags", [])
    tree = ast.parse(cells[-1].source)
    body = [ast.unparse(n) for n in tree.body]
    assert body[0] == "answer = scoring_answer(metrics)"
    assert "_ = ctx.write_metrics(answer.as_dict())" in body
    assert body[-1] == "answer"  # the cell displays the answer (Answer._repr_html_)
    # metrics is the Metrics object headline_metrics returns (values and kinds), written first
    code = "\n".join(c.source for c in cells[:-1] if c.cell_type == "code")
    assert re.search(r"^headline = headline_metrics\(", code, flags=re.M)
    assert re.search(r"^metrics = headline\b", code, flags=re.M)
    assert "_ = ctx.write_metrics(metrics)" in code
    assert "capacity_per_week=sdr_capacity_per_week" in code
    assert "from leadnb.report.answers import scoring_answer" in code
    assert "written to metrics.json" not in code  # no count of numbers for readers


def test_readers_get_the_answer_then_evidence_and_the_notes_in_the_appendix() -> None:
    from leadnb.report.pages import strip_for_readers

    cells = _notebook().cells

    def tags(c: nbformat.NotebookNode) -> list:
        return c.metadata.get("tags", [])

    def cell(start: str) -> nbformat.NotebookNode:
        (found,) = [c for c in cells if c.source.lstrip().startswith(start)]
        return found

    # data notes (ctx.start, rule checks, fallbacks), the population line, the configured
    # rules, the moment-of-scoring method, the profile notes and the reading guide
    for start in (
        "import warnings",
        "# NBVAL_CHECK_OUTPUT\nstage = stage_name(outcome_stage)",
        "### The rules",
        "nb.show(rules_table(cfg)",
        "### When the score is taken matters",
        "timing = pd.DataFrame()",
        "# profile data notes",
        "### How to read this report",
    ):
        assert "appendix" in tags(cell(start)), start
    assert "segments.profile_notes" in cell("# profile data notes").source
    assert "profile_notes" not in cell("activity = None if events is None").source
    # charts before their tables; evidence untagged
    bands = cell("bands = auc = bri = None").source
    assert bands.index("plot_score_bands") < bands.index("ctx.show(bands")
    for start in ("bands = auc", "lift = weights", "sweep = rec", "activity = None", "hq = counts"):
        assert not tags(cell(start)), start
    ordered = strip_for_readers(_notebook()).cells
    assert ordered[0].source == "# Lead scoring: does the score predict conversion?"
    assert "answer" in tags(ordered[1])
    assert ordered[2].source.startswith("## Does the score predict conversion?")
    first_appendix = next(i for i, c in enumerate(ordered) if "appendix" in tags(c))
    assert all("appendix" in tags(c) for c in ordered[first_appendix:])


def test_missing_goldens_or_demo_data_fail_with_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the checks above must fail, never skip, when what they compare is gone
    module = sys.modules[__name__]
    stripped = _notebook()
    for c in stripped.cells:
        if c.cell_type == "code":
            c.outputs = []
    nbformat.write(stripped, tmp_path / NOTEBOOK.name)
    monkeypatch.setattr(module, "NOTEBOOK", tmp_path / NOTEBOOK.name)
    with pytest.raises(pytest.fail.Exception, match="stores no golden output.*make notebooks"):
        _golden_text()
    monkeypatch.setattr(module, "DEMO", tmp_path / "no_demo")
    with pytest.raises(pytest.fail.Exception, match="demo data missing.*make demo-data"):
        _require_demo()


# ------------------------------------------------------------------ golden numbers, recomputed


@pytest.fixture(scope="module")
def demo() -> dict:
    _require_demo()
    params = yaml.safe_load(PARAMS.read_text())
    leads = pd.read_csv(DEMO / "leads.csv", dtype=str, na_values=["Select", "-"])
    leads["lead_id"] = leads["lead_id"].astype("str")
    leads["created_at"] = pd.to_datetime(leads["created_at"])
    events = pd.read_parquet(DEMO / "events.parquet")
    events["lead_id"] = events["lead_id"].astype("str")
    stages = pd.read_csv(DEMO / "stages.csv", dtype=str)
    aliases = {k.lower(): v for k, v in params["funnel"]["aliases"].items()}
    stages["stage"] = stages["stage"].str.strip().str.lower().map(aliases)
    stages["entered_at"] = pd.to_datetime(stages["entered_at"])
    # reaching a later stage implies sql, at the later date (skipped_stages: imply)
    later = stages[stages["stage"].isin(["sql", "opportunity", "customer"])]
    sql_at = later.groupby("lead_id")["entered_at"].min().reindex(leads["lead_id"])
    mql_or_later = stages[stages["stage"].isin(["mql", "sql", "opportunity", "customer"])]
    mql_at = mql_or_later.groupby("lead_id")["entered_at"].min().reindex(leads["lead_id"])
    converted = sql_at.notna() & (sql_at < DAY_END)
    # decision: 7 days after creation; leads already SQL by then are not decided there
    at = pd.Series((leads["created_at"] + pd.Timedelta(days=7)).to_numpy(), index=leads["lead_id"])
    keep = (at < DAY_END) & ~(sql_at.notna() & (sql_at <= at))
    pop_ids = at.index[keep.to_numpy()]
    cfg = ScoringConfig.from_dict({"rules": params["scoring"]["rules"]}, PARAMS.parent)
    scored = score(leads, events, cfg, AS_OF, at=at[pop_ids]).set_index("lead_id")
    pop = scored.loc[pop_ids]
    y = converted.reindex(pop_ids).to_numpy(dtype=float)
    now = score(leads, events, cfg, AS_OF).set_index("lead_id")["score"]
    return {"leads": leads, "events": events, "converted": converted, "pop": pop, "y": y,
            "cfg": cfg, "created": leads.set_index("lead_id")["created_at"], "sql_at": sql_at,
            "mql_at": mql_at, "now": now, "segments": _segments(leads, events, converted, sql_at)}  # fmt: skip


def _segments(
    leads: pd.DataFrame, events: pd.DataFrame, converted: pd.Series, sql_at: pd.Series
) -> pd.Series:
    """Each lead's segment by the notebook's rules (its defaults), by hand, indexed by lead_id."""
    ids = leads["lead_id"].to_numpy()
    ev = events[events["ts"] < DAY_END]
    domain = leads["email"].str.rsplit("@", n=1).str[-1].str.lower()
    tagged = set(ev.loc[(ev.event_type == "tag_added") & (ev.value == "competitor"), "lead_id"])
    comp = (
        domain.isin(["rivalcrm.example", "pipelinepro.example"])
        | leads["tags"].fillna("").str.contains("competitor")
        | leads["lead_id"].isin(tagged)
    ).to_numpy()
    # asked for sales within 30 days of creation, before reaching SQL; else reached SQL within
    # 30 days of creation (converted fast: defined by the outcome)
    created = leads["created_at"].to_numpy()
    conv = converted.to_numpy()
    sql = sql_at.reindex(ids).to_numpy()
    fast_sql = conv & ((sql - created) <= np.timedelta64(30, "D"))
    asks = ev[
        ((ev.event_type == "form_submit") & (ev.value == "contact_sales"))
        | ((ev.event_type == "tag_added") & ev.value.isin(["pricing_request", "demo_request"]))
    ]
    sql_of = pd.Series(np.where(conv, sql, np.datetime64("NaT")), index=ids)
    reached = asks["lead_id"].map(sql_of)
    asks = asks[reached.isna() | (asks["ts"] < reached)]
    first_ask = asks.groupby("lead_id")["ts"].min().reindex(ids).to_numpy()
    fast_ask = (first_ask - created) <= np.timedelta64(30, "D")  # NaT compares False
    n_events = ev.groupby("lead_id").size().reindex(ids, fill_value=0).to_numpy()
    seg = np.where(
        comp, "competitor",
        np.where(fast_ask, "asked_for_sales",
                 np.where(fast_sql, "converted_fast",
                          np.where(n_events >= 25, "engaged_nurture", "other"))),
    )  # fmt: skip
    return pd.Series(seg, index=ids)


def _delong(s: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """AUC (Mann-Whitney U from scipy) and its DeLong 95% interval from placement values
    computed with searchsorted (not ranks), clipped to [0, 1]."""
    pos, neg = s[y == 1], s[y == 0]
    auc = stats.mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))
    sn, sp = np.sort(neg), np.sort(pos)
    v10 = (np.searchsorted(sn, pos, "left") + np.searchsorted(sn, pos, "right")) / (2 * len(neg))
    v01 = 1 - (np.searchsorted(sp, neg, "left") + np.searchsorted(sp, neg, "right")) / (
        2 * len(pos)
    )
    assert v10.mean() == pytest.approx(auc)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    z = stats.norm.ppf(0.975)
    return auc, max(0.0, auc - z * se), min(1.0, auc + z * se)


def _recommended_threshold(s: np.ndarray, weeks: float, capacity: float) -> float:
    """The notebook's rule by brute force: the lowest candidate threshold whose weekly workload
    (leads scoring at least it, per week) fits the capacity; candidates are the distinct scores,
    or 200 evenly spaced quantiles of them when there are more than 200."""
    cand = np.unique(s)
    if len(cand) > 200:
        cand = np.unique(np.quantile(s, np.linspace(0, 1, 200)))
    fits = [t for t in cand if (s >= t).sum() / weeks <= capacity]
    return min(fits)


def test_counts_and_outcome(demo: dict) -> None:
    n_leads, n_events, n_rules = _find(
        r"^Analysis date 2026-06-30; ([\d,]+) leads, ([\d,]+) events; (\d+)"
    )
    assert (n_leads, n_events) == (len(demo["leads"]), len(demo["events"]))
    assert n_rules == len(demo["cfg"].rules)
    conv, rate = _find(r"^Outcome: reached SQL; ([\d,]+) leads converted \(([\d.]+%)\)")
    assert conv == demo["converted"].sum()
    assert rate == pytest.approx(demo["converted"].mean(), abs=0.0005)
    n, c, r = _find(r"^Calibration: .*: ([\d,]+) leads, ([\d,]+) converted \(([\d.]+%)\)")
    assert (n, c) == (len(demo["y"]), demo["y"].sum())
    y = demo["y"]
    expected = (
        f"Calibration: each lead scored 7 days after it was created: {len(y):,} leads, "
        f"{int(y.sum()):,} converted ({_pct(y.mean())})"
    )
    assert expected in _golden_text()


def test_auc_brier_and_bands(demo: dict) -> None:
    s, y = demo["pop"]["score"].to_numpy(), demo["y"]
    pos, neg = s[y == 1], s[y == 0]
    auc, lo, hi = _find(r"^AUC ([\d.]+) \(95% CI ([\d.]+) to ([\d.]+), DeLong")
    assert (auc, lo, hi) == pytest.approx(_delong(s, y), abs=0.0005)
    n_pos, n_neg = _find(r"DeLong; ([\d,]+) converted, ([\d,]+) not\)")
    assert (n_pos, n_neg) == (len(pos), len(neg))
    assert auc > 0.5 and lo > 0.5  # on the demo, the day-7 score beats a coin toss
    a, a_lo, a_hi = _delong(s, y)
    assert (
        f"AUC {a:.3f} (95% CI {a_lo:.3f} to {a_hi:.3f}, DeLong; {len(pos):,} converted, "
        f"{len(neg):,} not)" in _golden_text()
    )
    brier, ref = _find(r"^Brier score ([\d.]+) vs ([\d.]+)")
    p = sm.GLM(y, sm.add_constant(s), family=sm.families.Binomial()).fit().predict()
    b, b_ref = np.mean((p - y) ** 2), y.mean() * (1 - y.mean())
    assert brier == pytest.approx(b, abs=0.0005)
    assert ref == pytest.approx(b_ref, abs=0.0005)
    assert (
        f"Brier score {b:.3f} vs {b_ref:.3f} for predicting the average (skill "
        f"{_pct(1 - b / b_ref)})" in _golden_text()
    )
    m = re.search(
        r"Lowest band \((-?[\d.]+) to (-?[\d.]+) points\): ([\d.]+%) of ([\d,]+); "
        r"highest band \((-?[\d.]+) to (-?[\d.]+)\): ([\d.]+%) of ([\d,]+)",
        _golden_text(),
    )
    assert m is not None
    top_n = int(_num(m.group(8)))
    top = np.sort(s)[-top_n:]  # the highest band holds the top_n scores
    assert np.sort(s)[-top_n - 1] < top.min()  # and its lower edge does not split ties
    assert _num(m.group(7)) == pytest.approx(y[s >= top.min()].mean(), abs=0.0005)
    bottom_n = int(_num(m.group(4)))
    cut = np.sort(s)[bottom_n - 1]
    assert (s <= cut).sum() == bottom_n
    assert _num(m.group(3)) == pytest.approx(y[s <= cut].mean(), abs=0.0005)
    # each band's edges are its lowest and highest scores, shown as scores (no float noise)
    assert m.group(1, 2) == (_score(s.min()), _score(cut))
    assert m.group(5, 6) == (_score(top.min()), _score(s.max()))
    assert m.group(3, 7) == (_pct(y[s <= cut].mean()), _pct(y[s >= top.min()].mean()))


def test_recommended_threshold_by_brute_force(demo: dict) -> None:
    s, y = demo["pop"]["score"].to_numpy(), demo["y"]
    thr, cap, per_week, prec, rec = _find(
        r"^Recommended threshold ([\d.]+) points for (\d+) leads/week: ([\d.]+) leads/week, "
        r"precision ([\d.]+%), recall ([\d.]+%)"
    )
    created = demo["created"].reindex(demo["pop"].index)
    weeks = (created.max() - created.min()) / pd.Timedelta(days=7)
    # the printed threshold is rounded: the leads above it are those above some score in
    # [thr - 0.05, thr + 0.05], or above the first score past that window
    u = np.unique(s)
    options = np.concatenate([u[(u >= thr - 0.05) & (u <= thr + 0.05)], u[u > thr + 0.05][:1]])
    fits = [t for t in options if abs((s >= t).sum() / weeks - per_week) < 0.05]
    assert fits, "no score near the printed threshold gives the printed workload"
    # several scores print as the same threshold and workload: one of them must also give the
    # printed precision and recall
    same = [
        t
        for t in fits
        if abs(y[s >= t].mean() - prec) <= 0.0005 and abs(y[s >= t].sum() / y.sum() - rec) <= 0.0005
    ]
    assert same, "no score near the printed threshold gives the printed precision and recall"
    exact = same[0]
    above = s >= exact
    assert per_week <= cap
    # one point lower would be over capacity (the sweep's candidates are at most 200 apart)
    assert (s >= exact - 1).sum() / weeks > cap
    assert (
        f"Recommended threshold {_score(exact)} points for 60 leads/week: "
        f"{_score(above.sum() / weeks)} leads/week, precision {_pct(y[above].mean())}, "
        f"recall {_pct(y[above].sum() / y.sum())}" in _golden_text()
    )


def test_rule_lift_lines(demo: dict) -> None:
    pop, y = demo["pop"], demo["y"]
    lines = re.findall(
        r"^(.+) \((-?\d+) (points?)\): converts ([\d.]+×) as often \(95% CI ([\d.]+×) to "
        r"([\d.]+×); fired for ([\d,]+) leads\)$",
        _golden_text(),
        flags=re.M,
    )
    assert len(lines) == len(demo["cfg"].rules)
    for name, pts, unit, lift, lo, hi, n_with in lines:
        hit = pop[f"rule:{name}"].to_numpy() != 0
        c1, n1, c0, n0 = y[hit].sum(), hit.sum(), y[~hit].sum(), (~hit).sum()
        assert n1 >= 30 and n0 >= 30, name  # judged: not too rare
        assert n_with == f"{n1:,}"
        points = demo["cfg"].rule(name).points
        assert float(pts) == points
        assert unit == ("point" if abs(points) == 1 else "points"), name
        assert lift == f"{(c1 / n1) / (c0 / n0):.2f}×"
        clo, chi = confint_proportions_2indep(c1, n1, c0, n0, compare="ratio", method="score")
        assert (_num(lo), _num(hi)) == pytest.approx((clo, chi), abs=0.005)
    assert re.search(r"^Too rare to judge: none$", _golden_text(), flags=re.M)
    best = lines[0][0]
    assert best in ("asked for pricing or a demo", "contact sales form")


def test_segments_competitors_score_highest_and_never_convert(demo: dict) -> None:
    leads, seg_of = demo["leads"], demo["segments"]
    ids = leads["lead_id"].to_numpy()
    conv = demo["converted"].to_numpy()
    labels = "|".join(re.escape(k) for k in SEGMENT_NAMES)
    seg = {}
    for m in re.finditer(
        rf"^({labels}): ([\d,]+) leads, "
        r"mean score ([\d.]+), converted ([\d.]+%) \(95% CI ([\d.]+%) to ([\d.]+%)\), "
        r"([\d.]+%) of conversions",
        _golden_text(),
        flags=re.M,
    ):
        seg[SEGMENT_NAMES[m.group(1)]] = [_num(g) for g in m.groups()[1:]]
    # the segment defined by converting fast prints no rate: it is 100% by definition
    fast = re.search(
        r"^Converted fast \(defined by the outcome\): ([\d,]+) leads, mean score ([\d.]+), "
        r"([\d.]+%) of conversions \(converted by definition: the rate is not a finding\)$",
        _golden_text(),
        flags=re.M,
    )
    assert fast is not None
    assert set(seg) == {"asked_for_sales", "engaged_nurture", "competitor", "other"}
    in_fast = (seg_of.reindex(ids) == "converted_fast").to_numpy()
    assert _num(fast.group(1)) == in_fast.sum() and conv[in_fast].all()
    assert _num(fast.group(2)) == pytest.approx(
        demo["now"].reindex(ids).to_numpy()[in_fast].mean(), abs=0.05
    )
    assert _num(fast.group(3)) == pytest.approx(in_fast.sum() / conv.sum(), abs=0.0005)
    assert sum(v[0] for v in seg.values()) + in_fast.sum() == len(leads)
    now = demo["now"].reindex(ids).to_numpy()
    for name, (n, mean_score, rate, lo, hi, share) in seg.items():
        inside = (seg_of.reindex(ids) == name).to_numpy()
        assert n == inside.sum(), name
        assert mean_score == pytest.approx(now[inside].mean(), abs=0.05), name
        assert rate == pytest.approx(conv[inside].mean(), abs=0.0005), name
        c = int(conv[inside].sum())
        assert (lo, hi) == pytest.approx(proportion_confint(c, int(n), method="wilson"), abs=0.0005)
        assert share == pytest.approx(c / conv.sum(), abs=0.0005), name
        label = next(k for k, v in SEGMENT_NAMES.items() if v == name)
        w_lo, w_hi = proportion_confint(c, int(n), method="wilson")
        assert (
            f"{label}: {int(n):,} leads, mean score {_score(now[inside].mean())}, converted "
            f"{_pct(conv[inside].mean(), w_hi)} (95% CI {_pct(w_lo, w_hi)} to {_pct(w_hi)}), "
            f"{_pct(c / conv.sum())} of conversions" in _golden_text()
        ), name
    # the article's point: competitors have the highest mean score and never convert; leads
    # that asked for sales (a signal seen before the outcome) convert best with fewer points
    n, mean_score, rate = seg["competitor"][:3]
    assert rate == 0 and mean_score == max(v[1] for v in seg.values())
    assert seg["asked_for_sales"][2] == max(v[2] for v in seg.values())
    assert seg["asked_for_sales"][1] < mean_score


def test_auc_by_moment_the_score_is_taken(demo: dict) -> None:
    # the golden lines of "AUC by the moment the score is taken", each population built here
    leads, events, cfg = demo["leads"], demo["events"], demo["cfg"]
    moments = {
        "Scored on the analysis date": "as_of",
        "Scored at MQL": "at_mql",
        "Scored 7 days after creation": "at_created_plus_7_days",
    }
    found = {
        moments[m.group(1)]: (
            float(m.group(2)),
            float(m.group(3)),
            float(m.group(4)),
            _num(m.group(5)),
        )
        for m in re.finditer(
            r"^(Scored on the analysis date|Scored at MQL|Scored 7 days after creation): "
            r"AUC ([\d.]+) \(([\d.]+) to ([\d.]+)\), ([\d,]+) leads$",
            _golden_text(),
            flags=re.M,
        )
    }
    assert set(found) == {"as_of", "at_mql", "at_created_plus_7_days"}
    sql_at, mql_at = demo["sql_at"], demo["mql_at"]
    # as_of: every lead scored on the analysis date (the leaky comparison)
    now = demo["now"].reindex(leads["lead_id"]).to_numpy()
    y_now = demo["converted"].to_numpy(dtype=float)
    # at_mql: leads that became MQL (or a later stage) by as_of, scored at that moment
    mql = mql_at[mql_at.notna() & (mql_at < DAY_END)]
    at_mql = score(leads, events, cfg, AS_OF, at=mql).set_index("lead_id")["score"]
    y_mql = (sql_at.reindex(mql.index) < DAY_END).to_numpy(dtype=float)
    expected = {
        "as_of": (now, y_now),
        "at_mql": (at_mql.reindex(mql.index).to_numpy(), y_mql),
        "at_created_plus_7_days": (demo["pop"]["score"].to_numpy(), demo["y"]),
    }
    for moment, (s, y) in expected.items():
        auc, lo, hi, n = found[moment]
        assert n == len(s), moment
        assert (auc, lo, hi) == pytest.approx(_delong(s, y), abs=0.0005), moment
        a, a_lo, a_hi = _delong(s, y)
        label = next(k for k, v in moments.items() if v == moment)
        line = f"{label}: AUC {a:.3f} ({a_lo:.3f} to {a_hi:.3f}), {len(s):,} leads"
        assert line in _golden_text(), moment
    # scoring today flatters the score: points earned after the conversion count
    assert found["as_of"][0] > found["at_created_plus_7_days"][0] > 0.5


def _weeks_by_simulation(due_week: np.ndarray, capacity: int) -> np.ndarray:
    """The week each lead (in rank order) is called, by stepping through the weeks one by one:
    each week the first ``capacity`` leads already due and not yet called are called."""
    week = np.full(len(due_week), -1)
    w = 0
    while (week < 0).any():
        ready = np.flatnonzero((week < 0) & (due_week <= w))[:capacity]
        week[ready] = w
        w += 1
    return week


def test_high_quality_list_counts(demo: dict) -> None:
    # the golden lines of "The high-quality list for SDRs", with the notebook's defaults: the
    # three target industries, no ABM list, asked for sales or engaged, not converted, at least
    # the recommended threshold's points today, at least one event; follow-up every 14 days;
    # ranked for a capacity of 60 a week
    text = _golden_text()
    m = re.search(
        r"^High-quality list: ([\d,]+) leads \(ICP: (\d+) industries, ([\d,]+) ABM accounts; "
        r"score at least ([\d.]+); follow up every (\d+) days\)$",
        text,
        flags=re.M,
    )
    assert m is not None, "no golden line for the high-quality list"
    n_list, n_ind, n_abm, thr, every = (_num(g) for g in m.groups())
    assert (n_ind, n_abm, every) == (3, 0, 14)
    leads, events = demo["leads"], demo["events"]
    ids = leads["lead_id"].to_numpy()
    created = demo["created"].reindex(demo["pop"].index)
    weeks = max((created.max() - created.min()) / pd.Timedelta(days=7), 1.0)
    t = _recommended_threshold(demo["pop"]["score"].to_numpy(), weeks, 60)
    assert f"score at least {_score(t)};" in text
    ev = events[events["ts"] < DAY_END]
    n_events = ev.groupby("lead_id").size().reindex(ids, fill_value=0).to_numpy()
    icp = (
        leads["industry"]
        .str.strip()
        .str.lower()
        .isin(["software", "manufacturing", "financial_services"])
    )
    seg = demo["segments"].reindex(ids).to_numpy()
    keep = (
        icp.to_numpy()
        & np.isin(seg, ["asked_for_sales", "engaged_nurture"])
        & ~demo["converted"].to_numpy()
        & (demo["now"].reindex(ids).to_numpy() >= t)
        & (n_events >= 1)
    )
    assert n_list == keep.sum(), f"the list has {keep.sum()} leads by hand"
    # next follow-up: the first date on the cadence last touch + 14 k (k >= 1) on or after
    # as_of; due within 7 days when it falls before as_of + 7 days
    last = ev.groupby("lead_id")["ts"].max().reindex(ids[keep]).dt.normalize()
    since = (AS_OF - last).dt.days.to_numpy()
    k = np.maximum(1, -(-since // 14))
    next_up = last + pd.to_timedelta(14 * k, unit="D")
    due = next_up < AS_OF + pd.Timedelta(days=7)
    lines = re.findall(
        r"^(Asked for sales|Engaged \(nurture\)): ([\d,]+) leads, ([\d,]+) due within 7 days$",
        text,
        flags=re.M,
    )
    assert {label for label, _, _ in lines} == {"Asked for sales", "Engaged (nurture)"}
    for label, n, n_due in lines:
        inside = seg[keep] == SEGMENT_NAMES[label]
        assert (n, n_due) == (f"{inside.sum():,}", f"{due.to_numpy()[inside].sum():,}"), label
    # due against capacity: the first 60 of the ranking this week; the whole list, worked 60 a
    # week and never before a lead falls due, takes as many weeks as a week-by-week simulation
    n_due = int(due.sum())
    due_week = ((next_up - AS_OF).dt.days.to_numpy() // 7).clip(0)
    total_weeks = _weeks_by_simulation(np.sort(due_week), 60).max() + 1
    line = (
        f"Due this week: {n_due:,} follow-ups against a capacity of 60 a week; call the "
        f"{min(n_due, 60):,} ranked first this week; the whole list takes {total_weeks:,} weeks "
        "at that pace"
    )
    assert line in text


# ------------------------------------------------------------------ real dates, degenerate shapes
# Each test runs the notebook once through the scheduler's path (leadnb.run.runner.run) on a small
# sample changed with pandas, and checks exit 0 and the one sentence of each skipped section.


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from leadnb.run import cli

    out = tmp_path_factory.mktemp("scoring_sample") / "s"
    assert cli.main(["sample", "--out", str(out), "--leads", "400", "--seed", "11"]) == 0
    return out


def _run(params: Path, out: Path, as_of: str | None = None) -> tuple[str, dict, dict]:
    """Run the notebook alone; return the text it printed, its metrics and their declared kinds
    (exit 0 asserted)."""
    import json

    from tests.warm_kernel import run_alone

    text, folder, _ = run_alone(params, "scoring_calibration", out, as_of)
    metrics = json.loads((folder / "metrics.json").read_text())
    return text, metrics, json.loads((folder / "metric_kinds.json").read_text())


def _variant(
    sample: Path, name: str, *, leads: pd.DataFrame, drop: tuple[str, ...] = (), **changes: object
) -> Path:
    """A copy of the sample's params (in the sample folder) with its own leads table."""
    raw = yaml.safe_load((sample / "params.yaml").read_text())
    leads.to_csv(sample / f"leads_{name}.csv", index=False)
    raw["data"]["leads"]["source"] = f"leads_{name}.csv"
    for table in drop:
        raw["data"].pop(table)
    for key, value in changes.items():
        raw[key] = value
    path = sample / f"params_{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_sample_params_run_as_written(sample_dir: Path, tmp_path: Path) -> None:
    # `leadnb sample --out D` then `leadnb run D/params.yaml`: the ABM list is the sample's own
    text, metrics, kinds = _run(sample_dir / "params.yaml", tmp_path)
    n_abm = len(pd.read_csv(sample_dir / "abm_accounts.csv"))
    assert f"{n_abm:,} ABM accounts" in text
    assert metrics["n_leads"] == 400 and metrics["auc"] is not None
    _check_answer_and_labels(metrics, kinds)
    assert metrics["capacity_per_week"] == 60
    assert metrics["answer"][0].startswith("The score ")
    assert any("capacity of 60" in a or "top 60 of the" in a for a in metrics["actions"])


def _check_answer_and_labels(metrics: dict, kinds: dict) -> None:
    """The answer the notebook wrote is the one built from its own metrics, and every headline
    number has a plain label."""
    from leadnb.report.answers import scoring_answer
    from leadnb.results import Metrics
    from leadnb.scoring.headline import HEADLINE

    assert metrics["headline"] == list(HEADLINE)
    assert set(metrics["headline"]) <= set(metrics["labels"])
    assert all(metrics["labels"][k].strip() for k in metrics["headline"])
    numbers = {k: v for k, v in metrics.items() if k not in ("answer", "actions", "labels")}
    expected = scoring_answer(Metrics(numbers, kinds)).as_dict()
    assert (metrics["answer"], metrics["actions"]) == (expected["answer"], expected["actions"])
    assert 1 <= len(metrics["answer"]) <= 5


def test_first_week_of_data_says_when_the_calibration_appears(
    sample_dir: Path, tmp_path: Path
) -> None:
    leads = pd.read_csv(sample_dir / "leads.csv", dtype=str)
    first = pd.to_datetime(leads["created_at"]).min().normalize()
    as_of = first + pd.Timedelta(days=3)
    text, metrics, kinds = _run(sample_dir / "params.yaml", tmp_path, as_of=f"{as_of:%Y-%m-%d}")
    ready = first + pd.Timedelta(days=7)
    expected = (
        "Not computed (Does the score predict conversion?): No lead is old enough to be scored "
        f"7 days after creation yet; it appears in the run of {ready:%Y-%m-%d} or later."
    )
    assert expected in text
    assert "Not computed (An MQL threshold from SDR capacity): No lead is old enough" in text
    created = pd.to_datetime(leads["created_at"])
    assert metrics["n_leads"] == int((created < as_of + pd.Timedelta(days=1)).sum())  # no future
    assert metrics["auc"] is None and metrics["recommended_threshold"] is None
    _check_answer_and_labels(metrics, kinds)


def test_no_created_at_account_industry_or_email(sample_dir: Path, tmp_path: Path) -> None:
    leads = pd.read_csv(sample_dir / "leads.csv", dtype=str)
    rules = yaml.safe_load((sample_dir / "scoring_rules.yaml").read_text())
    rules["rules"] = [r for r in rules["rules"] if r["when"].get("field") != "industry"]
    params = _variant(
        sample_dir, "bare", leads=leads.drop(columns=["created_at", "account_id", "industry", "email"]),
        scoring={"rules": rules["rules"], "categories": rules["categories"]},
    )  # fmt: skip
    text, metrics, kinds = _run(params, tmp_path)
    assert "Leads have no created_at: each lead is scored when it became MQL" in text
    assert (
        "Not computed (An MQL threshold from SDR capacity): The weekly workload of a threshold "
        "needs the leads' creation dates, and leads has no created_at" in text
    )
    assert "Competitor e-mail domains are not checked: leads has no email column" in text
    assert (
        "Not computed (The high-quality list for SDRs): The target profile (target industries or "
        "ABM accounts) cannot be matched: leads has no industry column and no account_id column"
        in text
    )
    assert metrics["decision"] == "at_mql" and metrics["high_quality_leads"] is None
    _check_answer_and_labels(metrics, kinds)
    assert metrics["due_this_week"] is None


def test_every_lead_converted_without_stages_or_events(sample_dir: Path, tmp_path: Path) -> None:
    leads = pd.read_csv(sample_dir / "leads.csv", dtype=str).assign(converted="1")
    section = {"abm_accounts_file": "abm_accounts.csv", "n_bands": 2}
    params = _variant(
        sample_dir, "all", leads=leads, drop=("stages", "events"), scoring_calibration=section
    )
    text, metrics, kinds = _run(params, tmp_path)
    assert (
        "Not computed (Does the score predict conversion?): There is no lead that did not convert "
        "to compare with: all 400 leads scored on the analysis date reached sql" in text
    )
    assert (
        "Not computed (AUC by the moment the score is taken): Comparing moments needs a stage "
        "history, and there is none" in text
    )
    assert metrics["conversion_rate"] == 1.0 and metrics["auc"] is None
    _check_answer_and_labels(metrics, kinds)
    assert metrics["answer"][0].startswith("How well the score predicts who reaches SQL was not")


# ------------------------------------------------------------------ the calibrated lead queue
#
# The model's functions are tested in tests/test_model.py and tests/test_queue.py; these tests
# check the wiring: the notebook's printed numbers and written tables are those functions'
# outputs on the notebook's own inputs, and each printed number is recomputed independently
# where it can be (population counts by hand, AUC by scikit-learn, time-dependent AUC by
# scikit-survival, the capacity capture by brute force).


@pytest.fixture(scope="module")
def model_section() -> dict:
    """The notebook's model section recomputed with leadnb's functions on the notebook's own
    loaded inputs (its setup cells run here with the demo params)."""
    _require_demo()
    from leadnb.scoring import model as lm
    from leadnb.scoring import queue as lq

    cells = _notebook().cells
    g: dict = {}
    exec(cells[2].source, g)  # the parameters' defaults
    g["params_path"] = str(PARAMS)
    setup = next(c for c in cells if "ctx = nb.start(" in c.source)
    abm_cell = next(c for c in cells if "abm = segments.read_account_list" in c.source)
    exec(setup.source, g)
    exec(abm_cell.source.split("for note in")[0], g)
    ctx, wide, leads, events, cfg = g["ctx"], g["wide"], g["leads"], g["events"], g["cfg"]
    params = yaml.safe_load(PARAMS.read_text())["scoring_calibration"]
    ages = [int(a) for a in params["landmark_days"]]
    pop = lm.landmark_outcomes(wide, as_of=ctx.as_of, ages_days=ages, outcome_stage="sql",
                               horizon_days=params["horizon_days"],
                               max_leads=params["landmark_max_leads"], seed=0)  # fmt: skip
    train = pop.matured
    feats = lm.features_at_decision(
        leads, events, cfg, train, as_of=ctx.as_of, windows=params["feature_windows"],
        profile_fields=params["model_profile_fields"], target_industries=params["target_industries"],
        abm_accounts=g["abm"],
    )  # fmt: skip
    fit = lm.fit_models(lm.leave_out(feats.frame, params["model_exclude_features"]),
                        train["outcome"], created_at=feats.created_at, points=feats.points,
                        seed=0, cross_fit_check=params["model_cross_fit_check"])  # fmt: skip
    first = min(ages)
    at_first = (pop.frame["landmark_days"] == first).to_numpy()
    risk = lm.decided_risk(fit, pop.frame, at_first, leads, events, cfg, as_of=ctx.as_of,
                           spec=feats.spec)  # fmt: skip
    sel = (train["landmark_days"] == first).to_numpy()
    return {"lm": lm, "lq": lq, "g": g, "params": params, "pop": pop, "train": train,
            "feats": feats, "fit": fit, "risk": risk, "at_first": at_first, "sel": sel,
            "ages": ages}  # fmt: skip


def test_model_population_counts_by_hand(demo: dict, model_section: dict) -> None:
    # each lead at each landmark age a: decided when created + a days falls by the analysis
    # day and it was not SQL by then; matured when its 90-day horizon ended before the day's end
    created, sql_at = demo["created"], demo["sql_at"].reindex(demo["created"].index)
    decided = matured = conv = 0
    ids = set()
    for a in model_section["ages"]:
        at = created + pd.Timedelta(days=a)
        d = (at < DAY_END) & ~(sql_at.notna() & (sql_at <= at))
        m = d & (at + pd.Timedelta(days=90) < DAY_END)
        decided += int(d.sum())
        matured += int(m.sum())
        conv += int((m & sql_at.notna() & (sql_at < at + pd.Timedelta(days=90))).sum())
        ids |= set(created.index[m.to_numpy()])
    censored, total = _find(r"^([\d,]+) of ([\d,]+) lead-ages .* censored")
    assert (censored, total) == (decided - matured, decided)
    n, leads_, c, rate = _find(
        r"^Trained on ([\d,]+) lead-ages of ([\d,]+) leads; ([\d,]+) reached SQL within 90 days "
        r"\(([\d.]+%)\)"
    )
    assert (n, leads_, c) == (matured, len(ids), conv)
    assert rate == pytest.approx(round(conv / matured, 3), abs=1e-9)
    assert model_section["pop"].sample_share == 1.0  # 20,000 demo leads, cap 20,000: no draw


def test_model_validation_lines_and_aucs_by_scikit_learn(model_section: dict) -> None:
    from sklearn.metrics import roc_auc_score

    fit = model_section["fit"]
    v = model_section["lm"].model_validation(fit)
    test = fit.split.to_numpy() == "test"
    for _, r in v.iterrows():
        p = fit.test[r.model] if r.split.endswith("_test") else fit.cross_fitted[r.model]
        y = fit.outcome[test] if r.split.endswith("_test") else fit.outcome
        assert r.auc == pytest.approx(roc_auc_score(y.to_numpy(), p.to_numpy()), abs=1e-12)
        n, auc, lo, hi, slope, icpt = _find(
            rf"^{r.model}, every lead out of fold, ([\d,]+) lead-ages: AUC ([\d.]+) \(([\d.]+) to ([\d.]+)\), "
            rf"calibration slope (-?[\d.]+), intercept (-?[\d.]+)"
            if r.split == "cross_fitted" else
            rf"^{r.model}, latest [^\n]*?, ([\d,]+) lead-ages: AUC ([\d.]+) \(([\d.]+) to "
            rf"([\d.]+)\), calibration slope (-?[\d.]+), intercept (-?[\d.]+)"
        )  # fmt: skip
        assert n == r.n
        for shown, value in ((auc, r.auc), (lo, r.auc_ci_low), (hi, r.auc_ci_high),
                             (slope, r.calibration_slope), (icpt, r.calibration_intercept)):  # fmt: skip
            assert shown == pytest.approx(round(value, 3), abs=1e-9)
    assert fit.split_kind == "time"


def test_time_dependent_auc_lines_by_scikit_survival(model_section: dict) -> None:
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.util import Surv

    frame = model_section["pop"].frame.loc[model_section["at_first"]]
    risk = model_section["risk"]
    y = Surv.from_arrays(frame["event"].to_numpy(bool), frame["time_days"].to_numpy(float))
    theirs, _ = cumulative_dynamic_auc(y, y, risk, [30, 60, 90])
    for h, auc in zip((30, 60, 90), theirs, strict=True):
        (shown, cases, controls, young) = _find(
            rf"^Within {h} days: AUC ([\d.]+) \([\d.]+ to [\d.]+\); ([\d,]+) converted, "
            r"([\d,]+) not yet, ([\d,]+) too young to know"
        )
        t, e = frame["time_days"].to_numpy(), frame["event"].to_numpy(bool)
        assert shown == pytest.approx(round(auc, 3), abs=1e-9)
        assert cases == int((e & (t <= h)).sum()) and controls == int((t > h).sum())
        assert young == len(t) - cases - controls


def _brute_capture(y: np.ndarray, s: np.ndarray, k: int) -> float:
    """Conversions among the top k by s; a tie group straddling place k gives its rate per
    place left (the expected capture under a random order)."""
    order = sorted(range(len(s)), key=lambda i: -s[i])
    cut = s[order[k - 1]]
    above = [i for i in range(len(s)) if s[i] > cut]
    tied = [i for i in range(len(s)) if s[i] == cut]
    return sum(y[i] for i in above) + (k - len(above)) * sum(y[i] for i in tied) / len(tied)


def test_capacity_capture_line_by_brute_force(model_section: dict) -> None:
    fit, sel = model_section["fit"], model_section["sel"]
    y = fit.outcome.to_numpy()[sel]
    p = fit.cross_fitted["logistic"].to_numpy()[sel]
    pts = model_section["feats"].points.to_numpy()[sel]
    created = model_section["feats"].created_at[sel]
    span_days = (created.max() - created.min()) / pd.Timedelta(days=1)
    m = re.search(
        r"^At the team's capacity of 60 leads a week \(([\d,]+) leads over ([\d.]+) weeks\), the "
        r"model's ranking captures ([\d,]+) of the ([\d,]+) conversions and the points' ([\d,]+): "
        r"(.*)$", _golden_text(), flags=re.M,
    )  # fmt: skip
    assert m is not None
    k, weeks, got_model, conv, got_points = (_num(x) for x in m.groups()[:5])
    assert conv == y.sum()
    assert weeks == pytest.approx(round(span_days / 7, 1), abs=0.051)
    assert k == int(np.floor(60 * weeks + 1e-9)) or abs(k - 60 * span_days / 7) <= 1
    assert got_model == round(_brute_capture(y, p, int(k)))
    assert got_points == round(_brute_capture(y, pts, int(k)))
    assert "no clear difference" in m.group(6)  # the interval straddles 0 on the demo


def test_queue_lines_and_reasons_add_up(model_section: dict) -> None:
    lm, lq, g, fit = (
        model_section["lm"],
        model_section["lq"],
        model_section["g"],
        model_section["fit"],
    )
    ctx, leads, events, cfg = g["ctx"], g["leads"], g["events"], g["cfg"]
    sd = g["wide"]
    # open leads by hand: created by the analysis day, at most 365 days old, not SQL nor lost
    end = DAY_END
    ok = (
        (sd["created_at"] < end) & ~(sd["sql_at"] < end) & ~(sd["lost_at"] < end)
        & ~(sd["created_at"] < AS_OF - pd.Timedelta(days=365))
    )  # fmt: skip
    comp = g["leads"]["email"].str.split("@").str[-1].str.strip().str.lower().isin(
        [d.lower() for d in g["competitor_domains"]]
    ) if "email" in leads else None  # fmt: skip
    open_now = lm.open_leads(sd, as_of=AS_OF, max_age_days=365)
    assert len(open_now) == int(ok.sum())
    from leadnb.scoring import segments

    scores_now = g.get("scores_now")
    seg = segments.segment_leads(
        leads, events, scores_now, sd, as_of=ctx.as_of, competitor_domains=g["competitor_domains"],
        competitor_companies=g["competitor_companies"], outcome_stage="sql",
        fast_days=g["fast_days"], engaged_min_events=g["engaged_min_events"],
    )  # fmt: skip
    competitors = seg.index[seg.astype("str") == "competitor"]
    assert comp is None or len(competitors) >= 1
    queued = lm.open_leads(sd, as_of=AS_OF, exclude=competitors, max_age_days=365)
    scored = lm.score_leads(fit, leads, events, cfg, queued, as_of=AS_OF,
                            spec=model_section["feats"].spec, chunk_leads=3_000)  # fmt: skip
    n, week, p_week, p_all = _find(
        r"^Queue: ([\d,]+) open leads; the ([\d,]+) called this week average a ([\d.]+%) chance "
        r"to convert within 90 days, the whole queue ([\d.]+%)"
    )
    assert n == len(queued) == len(scored)
    top = np.sort(scored["p_convert"].to_numpy())[::-1]
    assert week == 60
    assert p_week == pytest.approx(round(top[:60].mean(), 3), abs=1e-9)
    assert p_all == pytest.approx(round(top.mean(), 3), abs=1e-9)
    # the reasons' contributions are the terms of the explained model's log-odds
    co = fit.coefficients
    x = lm.features_at_decision(leads, events, cfg, queued.iloc[:500], as_of=AS_OF,
                                spec=model_section["feats"].spec).frame[list(co.index)]  # fmt: skip
    terms = co["coef"].to_numpy() * (x.to_numpy() - co["mean"].to_numpy()) / co["scale"].to_numpy()
    np.testing.assert_allclose(fit.intercept + terms.sum(axis=1),
                               scored["log_odds"].to_numpy()[:500], rtol=1e-9, atol=1e-9)  # fmt: skip
    why = lq.lead_reasons(x, mean=co["mean"], scale=co["scale"], coef=co["coef"])
    got = why["contribution_1"].to_numpy()
    want = terms[np.arange(len(terms)), np.argmax(np.abs(terms), axis=1)]
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(got)], rtol=1e-12)


def test_chunked_scores_equal_one_call(model_section: dict) -> None:
    lm, g, fit = model_section["lm"], model_section["g"], model_section["fit"]
    queued = lm.open_leads(g["wide"], as_of=AS_OF, max_age_days=365).iloc[:2_500]
    kw = dict(as_of=AS_OF, spec=model_section["feats"].spec, labels=model_section["feats"].labels)
    one = lm.score_leads(fit, g["leads"], g["events"], g["cfg"], queued, chunk_leads=10**6, **kw)
    many = lm.score_leads(fit, g["leads"], g["events"], g["cfg"], queued, chunk_leads=700, **kw)
    pd.testing.assert_frame_equal(one, many)
    assert list(one.columns) == list(lm.SCORED_COLUMNS)
    # events' lead ids as a categorical (as loaded; a category no event has, one that is no
    # lead's) and decisions whose index is not the leads' rows: the chunks' cut reads each
    # event's decision through its category, or looks the ids up, with the same result
    ids = g["events"]["lead_id"].astype("str")
    cats = pd.Index(sorted({*ids.dropna(), "zz-unused", "zz-nobody"}), dtype="str")
    coded = g["events"].assign(lead_id=pd.Categorical(ids, categories=cats))
    for dec in (queued, queued.reset_index(drop=True).iloc[::-1]):
        want = one if dec is queued else one.iloc[::-1].reset_index(drop=True)
        for events in (coded, g["events"]):
            got = lm.score_leads(fit, g["leads"], events, g["cfg"], dec, chunk_leads=700, **kw)
            pd.testing.assert_frame_equal(got, want)


def test_demo_run_writes_the_queue_validation_and_metrics(
    model_section: dict, demo_run: Path
) -> None:
    """The notebook on the demo (the session's demo run, ``conftest.py``): the written tables
    are the functions' outputs, metrics.json has the contract's keys, and the queue carries no
    personal data."""
    from leadnb.results import Metrics

    lm, lq = model_section["lm"], model_section["lq"]
    folder = demo_run / "scoring_calibration"
    v = pd.read_csv(folder / "model_validation.csv")
    assert list(v.columns) == list(lm.MODEL_VALIDATION_COLUMNS)
    assert v[["model", "split"]].apply(tuple, axis=1).tolist() == [
        ("logistic", "time_test"),
        ("logistic", "cross_fitted"),
        ("gradient_boosting", "time_test"),
        ("points", "time_test"),
        ("points", "cross_fitted"),
    ]  # the check on the latest cohorts only (fit_models' cross_fit_check)
    rel = pd.read_csv(folder / "model_reliability.csv")
    assert list(rel.columns) == list(lm.RELIABILITY_COLUMNS)
    crossed = v.set_index(["model", "split"]).loc[("logistic", "cross_fitted")]
    assert rel["n"].sum() == crossed["n"]
    curve = pd.read_csv(folder / "capture_curve.csv")
    assert list(curve.columns) == list(lq.CAPTURE_CURVE_COLUMNS)
    q = pd.read_parquet(folder / "lead_queue.parquet")
    assert list(q.columns) == list(lq.QUEUE_COLUMNS)
    assert q["rank"].tolist() == list(range(1, len(q) + 1))
    assert q["this_week"].sum() == 60 and q["this_week"].iloc[:60].all()
    assert (np.diff(q["p_convert"].to_numpy()) <= 0).all()
    assert (q["next_follow_up"] >= AS_OF).all()
    assert (q["reason_1"] != "").mean() > 0.9
    import json

    metrics = json.loads((folder / "metrics.json").read_text())
    kinds = json.loads((folder / "metric_kinds.json").read_text())
    keys = ["model_auc", "model_auc_ci_low", "model_auc_ci_high", "calibration_slope",
            "calibration_intercept", "capture_model", "capture_points", "capture_diff_ci_low",
            "capture_diff_ci_high", "capacity_per_week"]  # fmt: skip
    assert all(metrics[k] is not None for k in keys)
    expected = lm.model_metrics(v)  # the written table's logistic row on the held-out cohorts
    for k in keys[:5]:
        assert metrics[k] == pytest.approx(expected[k], rel=1e-9)
    assert metrics["capacity_per_week"] == 60
    _check_answer_and_labels(metrics, kinds)
    said = [a for a in metrics["answer"] if a.startswith("At the team's capacity of 60 leads")]
    assert len(said) == 1 and "does not clearly beat the points" in said[0]
    assert "too low on average" in said[0]  # later cohorts convert more than the model expects
    numbers = {k: v for k, v in metrics.items() if k not in ("answer", "actions", "labels")}
    assert Metrics(numbers, kinds)["capture_model"] == metrics["capture_model"]
