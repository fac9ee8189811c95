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
        "score_bands.csv", "suggested_weights.csv", "segments.csv", "high_quality_leads.csv"
    }  # fmt: skip


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
    assert re.search(r"^metrics = headline_metrics\(", code, flags=re.M)
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
    assert "profile_notes" not in cell("seg = segments.segment_leads").source
    # charts before their tables; evidence untagged
    bands = cell("bands = auc = bri = None").source
    assert bands.index("plot_score_bands") < bands.index("ctx.show(bands")
    for start in ("bands = auc", "lift = weights", "sweep = rec", "seg = segments", "hq = counts"):
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
