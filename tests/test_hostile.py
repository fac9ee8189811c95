"""Hostile data: every report runs, and nothing a CRM export contains executes or escapes.

The dataset is the small demo sample with values an attacker can write into a CRM (a web form
fills a company name, a UTM parameter a lead source, a marketer names an experiment): script
tags, event-handler attributes, ``javascript:`` URLs and spreadsheet formulas as lead ids,
account ids, sources, industries, companies, scoring rule names, experiment ids (one with
``../``), variant names and a registration's hypothesis and decision rule. All four notebooks
run once on it (one module-scoped run); then every HTML page written is *parsed* and every CSV
read back:

* no ``<script>``, ``<iframe>``, ``<object>``, ``<embed>`` element, no ``on*`` attribute, no
  ``javascript:`` href/src, and the Content-Security-Policy meta tag on every page;
* every hostile string is shown somewhere as plain text (inert, not dropped);
* no CSV text cell starts with ``= + - @`` unless it is a number (the rule is for CSVs, which a
  spreadsheet opens: the per-lead ``scores.parquet`` keeps the raw values);
* nothing is written outside the output folder, and inside it only the run's own files.

The unit tests of each rule are in tests/test_nb.py and tests/test_report.py (and below for
:mod:`leadnb.safe`).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb import safe

HOSTILE = (
    "<script>alert(document.domain)</script>",
    "<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://evil.example/x","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "javascript:alert(1)",
    '"><svg onload=alert(1)>',
    r"$\alert(1)$ budget",  # not valid mathtext: a chart must still draw it
)
EXP_HTML = "<img src=x onerror=alert(2)>"  # a hostile id without a slash: a valid file name
EXP_PATH = "../../../../x_exp"  # an id that would climb out of the figures folder
FORMULA = tuple("=+-@")


def hostile_dataset(folder: Path, n_leads: int = 1500) -> Path:
    """Write the hostile dataset and its params file into ``folder``; return the params path."""
    from leadnb.data import demo as sample

    tables = sample.generate(n_leads, seed=7)
    leads = tables["leads"].copy()
    n = len(leads)
    # text columns: every hostile value on a slice of the leads (enough rows to show up in
    # per-source and per-industry tables)
    for col, shift in (("source", 0), ("industry", 3), ("company", 5), ("title", 1)):
        values = leads[col].astype("object").to_numpy().copy()
        for i, bad in enumerate(HOSTILE):
            values[(i + shift) % len(HOSTILE) : n : 9 * len(HOSTILE)] = bad
        leads[col] = pd.Series(values, index=leads.index, dtype="str")
    # ids: renamed consistently in every table that refers to them
    lead_map = {old: f"{bad}#{i}" for i, (old, bad) in enumerate(zip(leads["lead_id"][::97], HOSTILE * 3, strict=False))}  # fmt: skip
    accounts = leads["account_id"].dropna().drop_duplicates()
    acc_map = {old: bad for old, bad in zip(accounts[::11], HOSTILE, strict=False)}
    for name, df in tables.items():
        df = leads if name == "leads" else df.copy()
        if "lead_id" in df:
            df["lead_id"] = df["lead_id"].astype("object").replace(lead_map).astype("str")
        if "account_id" in df:
            df["account_id"] = df["account_id"].astype("object").replace(acc_map).astype("str")
        tables[name] = df
    # two experiments with hostile ids and variant names, plus unregistered variants
    reg = dict(sample.DEMO_EXPERIMENT)
    a = tables["assignments"]
    a = a.loc[a["experiment_id"] == sample.EXPERIMENT_ID]  # the first demo experiment's rows
    arms_a = {reg["control"]: HOSTILE[0], reg["variants"][0]: HOSTILE[7]}
    arms_b = {reg["control"]: HOSTILE[2], reg["variants"][0]: HOSTILE[3]}
    exp_a = a.assign(experiment_id=EXP_HTML, variant=a["variant"].map(arms_a))
    exp_b = a.assign(experiment_id=EXP_PATH, variant=a["variant"].map(arms_b))
    free = tables["leads"]["lead_id"][~tables["leads"]["lead_id"].isin(a["lead_id"])]
    stray = exp_a.head(6).assign(
        lead_id=free.to_numpy()[-6:], variant=[HOSTILE[4], HOSTILE[5]] * 3
    )  # unregistered variants: listed in the exclusions table
    tables["assignments"] = pd.concat([exp_a, exp_b, stray], ignore_index=True)
    registry = folder / "experiments"
    registry.mkdir(parents=True)
    for fname, exp_id, arms in (("exp_a.yaml", EXP_HTML, arms_a), ("exp_b.yaml", EXP_PATH, arms_b)):  # fmt: skip
        r = dict(reg, id=exp_id, control=arms[reg["control"]], variants=[arms[reg["variants"][0]]])
        r["allocation"] = {arms[k]: v for k, v in reg["allocation"].items()}
        r["hypothesis"] = f"Weekly beats monthly {HOSTILE[0]} {HOSTILE[6]}"
        r["decision_rule"] = f"Ship if p < 0.05 {HOSTILE[1]} [click](javascript:alert(1)) {HOSTILE[2]}"  # fmt: skip
        (registry / fname).write_text(yaml.safe_dump(r, allow_unicode=True), encoding="utf-8")
    written = sample._write_tables(tables, folder, "csv", 7)
    # scoring rules: hostile names
    rules = yaml.safe_load((folder / "scoring_rules.yaml").read_text(encoding="utf-8"))
    for rule, bad in zip(rules["rules"], HOSTILE, strict=False):
        rule["name"] = bad
    (folder / "scoring_rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    params = yaml.safe_load(written["params"].read_text(encoding="utf-8"))
    params["run"]["name"] = "hostile"
    params["experiments"] = {"registry": "experiments"}
    params["scoring_calibration"] = {"abm_accounts_file": "abm_accounts.csv"}
    written["params"].write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return written["params"]


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from leadnb.run import runner

    root = tmp_path_factory.mktemp("hostile")
    params = hostile_dataset(root / "data")
    out = root / "out"
    before = listing(root)
    with contextlib.redirect_stdout(io.StringIO()) as log, contextlib.redirect_stderr(log):
        result = runner.run(params, out=out, jobs=2)
    return {
        "root": root,
        "out": out,
        "result": result,
        "log": log.getvalue(),
        "before": before,
        "after": listing(root),
    }


@pytest.mark.slow
def test_hostile_run_succeeds(hostile_run: dict) -> None:
    result = hostile_run["result"]
    failed = {r.name: r.error for r in result.notebooks if r.status != "success"}
    assert not failed, f"notebooks failed on hostile data: {failed}"
    assert result.exit_code == 0


def html_pages(hostile_run: dict) -> list[Path]:
    return sorted(p for p in hostile_run["out"].rglob("*.html") if p.is_file())


@pytest.mark.slow
def test_no_live_element_attribute_or_url_in_any_page(hostile_run: dict) -> None:
    pages = html_pages(hostile_run)
    assert len(pages) >= 6  # 4 reports, the run index, the outputs index (+ latest.html)
    problems: list[str] = []
    for page in pages:
        dom = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        where = page.relative_to(hostile_run["out"])
        live = dom.find_all(["script", "iframe", "object", "embed", "svg", "frame", "base"])
        problems += [f"{where}: live element {str(e)[:80]}" for e in live]
        for el in dom.find_all(True):
            for attr, value in el.attrs.items():
                if attr.lower().startswith("on"):
                    problems.append(f"{where}: <{el.name} {attr}=...>")
                if attr.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                    url = "".join(str(value).split()).lower()
                    if url.startswith(("javascript:", "vbscript:", "data:text")):
                        problems.append(f"{where}: <{el.name} {attr}={value!r}>")
        csp = dom.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        if csp is None or csp.get("content") != safe.CSP:
            problems.append(f"{where}: no Content-Security-Policy meta")
    assert not problems, "\n".join(problems)
    assert "script-src 'none'" in safe.CSP and "default-src 'none'" in safe.CSP


@pytest.mark.slow
def test_every_hostile_value_is_shown_as_text(hostile_run: dict) -> None:
    text = []
    for page in html_pages(hostile_run):
        dom = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for el in dom(["style"]):
            el.decompose()
        text.append(dom.get_text(" "))
    shown = "\n".join(text)
    missing = [h for h in (*HOSTILE, EXP_HTML, EXP_PATH) if h not in shown]
    assert not missing, f"hostile values not shown as text anywhere: {missing}"


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.slow
def test_no_csv_cell_starts_a_formula(hostile_run: dict) -> None:
    run_dir = hostile_run["result"].run_dir
    csvs = sorted(run_dir.rglob("*.csv"))
    assert len(csvs) >= 10
    for path in csvs:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        cells = [*df.columns, *df.to_numpy().ravel().tolist()]
        bad = [c for c in cells if c.startswith(FORMULA) and not is_number(c)]
        assert not bad, f"{path.relative_to(run_dir)}: formula cells {bad[:5]}"


@pytest.mark.slow
def test_hostile_values_reach_the_csvs_quoted(hostile_run: dict) -> None:
    """The CSVs keep the values (quoted), they do not drop or mangle them."""
    rules = pd.read_csv(
        hostile_run["result"].run_dir / "scoring_calibration" / "rule_lift.csv", dtype=str
    )
    names = set(rules["rule"])
    assert "'" + HOSTILE[2] in names and "'" + HOSTILE[4] in names and HOSTILE[0] in names


@pytest.mark.slow
def test_parquet_keeps_the_raw_hostile_values(hostile_run: dict) -> None:
    """The per-lead table is Parquet (``scores.parquet``), read by programs, not spreadsheets:
    it keeps every value as it came (no leading ``'``); the formula rule is for CSVs only."""
    run_dir = hostile_run["result"].run_dir
    assert not list(run_dir.rglob("scores.csv"))
    scores = pd.read_parquet(run_dir / "scoring_calibration" / "scores.parquet")
    ids = set(scores["lead_id"])
    assert HOSTILE[2] + "#2" in ids and HOSTILE[0] + "#0" in ids and HOSTILE[5] + "#5" in ids
    assert not any(i.startswith("'") for i in ids)
    assert f"rule:{HOSTILE[2]}" in scores.columns


@pytest.mark.slow
def test_nothing_written_outside_the_run(hostile_run: dict) -> None:
    out = hostile_run["out"]
    root = hostile_run["root"]
    new = sorted(hostile_run["after"] - hostile_run["before"])
    outside = [p for p in new if not p.startswith("out")]
    assert not outside, f"written outside OUT: {outside}"
    run_id = hostile_run["result"].run_id
    top = {p.split(os.sep)[1] for p in new if p.count(os.sep) >= 1}
    allowed = {run_id, "index.html", "latest", "latest.html", ".lock"}
    shared = {p for p in top if p.startswith(("experiment_log.csv", ".leadnb"))}  # log + its lock
    assert top <= allowed | shared, top - allowed - shared
    figures = [p for p in (out / run_id).rglob("*.png")]
    assert figures and all(p.parent.name == "figures" for p in figures)
    assert not list(root.rglob("x_exp*")) or all("figures" in p.parts for p in root.rglob("x_exp*"))


# --------------------------------------------------------------------------------------------
# leadnb.safe, rule by rule


@pytest.mark.parametrize(
    ("fragment", "kept", "gone"),
    [
        ("<table><tr><td>a<script>alert(1)</script></td></tr></table>", "<td>a</td>", "alert"),
        ('<img src=x onerror="alert(1)">', "<img", "onerror"),
        ("<p onclick=alert(1) onmouseover=x>t</p>", "<p>t</p>", "on"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>", "javascript"),
        ('<a href="JaVa&#x09;Script:alert(1)">x</a>', "<a>x</a>", "script"),
        ('<a href=" data:text/html,<b>x</b>">y</a>', "<a>y</a>", "data:"),
        ('<img src="data:text/html;base64,PHNjcmlwdD4=">', "<img>", "data:"),
        ("<iframe src=x>i</iframe><object data=x>o</object><embed src=x>e", "e", "iframe"),
        ('<div style="width: expression(alert(1))">s</div>', "<div>s</div>", "expression"),
        ("<style>td { background: url(x) }</style><b>b</b>", "<b>b</b>", "url("),
        ('"><svg onload=alert(1)><circle/></svg>z', "&gt;", "svg"),
        ("<form action=x><input name=a>f</form>", "f", "input"),
        ("<!-- c --><caption>c</caption>", "c", "<!--"),
    ],
)
def test_sanitize_html_removes_each_attack_vector(fragment: str, kept: str, gone: str) -> None:
    clean = safe.sanitize_html(fragment)
    assert kept in clean and gone not in clean.lower().replace("&gt;", ">")


def test_sanitize_html_keeps_tables_links_and_images() -> None:
    ok = (
        '<table border="1" class="dataframe"><caption>C &amp; D</caption><thead><tr>'
        '<th colspan="2">h</th></tr></thead><tbody><tr><td id="T_x_row0">1</td>'
        '<td><a href="https://example.com/a?b=1">l</a> <a href="../index.html">r</a>'
        '<img alt="chart" src="data:image/png;base64,iVBORw0KGgo="></td></tr></tbody></table>'
    )
    assert safe.sanitize_html(ok) == ok


PIECES = (
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">',
    '<a href="JaVa&#x09;Script:x">', "<svg onload=alert(1)>", "<iframe src=x>", "<style>", "</style>",
    '<p style="x:y" onclick=z>', "<table><tr><td>", "</td></tr></table>", "<!--", "-->", '"', "'",
    "<", ">", "&lt;", "&amp;", '<img src="data:image/png;base64,AA==">', '<a href="../x.csv">',
    "</a>", "<math><mi>", "<template>", "<textarea>", "<b>", "</b>", "=HYPERLINK(x)", "text",
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_sanitize_html_leaves_nothing_active_and_is_stable(pieces: list[str]) -> None:
    """Any mix of hostile pieces: no script-like element, event or style attribute, or active
    URL survives, and sanitising the result again changes nothing."""
    clean = safe.sanitize_html("".join(pieces))
    dom = BeautifulSoup(clean, "html.parser")
    assert not dom.find_all(["script", "style", "svg", "math", "iframe", "template", "textarea"])
    for el in dom.find_all(True):
        assert el.name in safe.ALLOWED_TAGS
        for name, value in el.attrs.items():
            assert not name.startswith("on") and name != "style"
            if name in ("href", "src"):
                assert not safe._normal_url(str(value)).startswith(("javascript:", "vbscript:"))
    assert safe.sanitize_html(clean) == clean


def test_markdown_output_shows_raw_html_as_text() -> None:
    out = safe.markdown_to_safe_html(
        "### " + HOSTILE[0] + "\n\n- **rule:** " + HOSTILE[1] + " [c](javascript:alert(1))"
    )
    dom = BeautifulSoup(out, "html.parser")
    assert not dom.find_all(["script", "img"])
    assert dom.h3.get_text() == HOSTILE[0] and HOSTILE[1] in dom.li.get_text()
    assert dom.strong is not None and "javascript" not in str(dom.a)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["=1", "-5", "+a", "@x", "\tz"])),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.floats(allow_nan=True, allow_infinity=False), min_size=1, max_size=8),
)
def test_neutralise_quotes_formula_text_and_leaves_numbers(texts: list, nums: list) -> None:
    n = min(len(texts), len(nums))
    df = pd.DataFrame({"t": pd.Series(texts[:n], dtype="str"), "x": nums[:n]})
    df["o"] = pd.Series(texts[:n], dtype=object)
    df["m"] = pd.Series([t if i % 2 else -i for i, t in enumerate(texts[:n])], dtype=object)
    df["c"] = pd.Categorical(texts[:n])
    out = safe.neutralise_csv_cells(df)
    assert out["x"].dtype == df["x"].dtype and out["x"].equals(df["x"])
    assert [v for v in out["m"] if not isinstance(v, str)] == [v for v in df["m"] if not isinstance(v, str)]  # fmt: skip
    for col in ("t", "o", "m", "c"):
        for before, after in zip(df[col], out[col], strict=True):
            if isinstance(before, int):
                assert after == before  # numbers stay numbers, even in a mixed column
            elif isinstance(before, str):
                expected = "'" + before if before[:1] in safe.FORMULA_PREFIXES else before
                assert after == expected
                assert not after.startswith(safe.FORMULA_PREFIXES)
            else:
                assert pd.isna(after)
    assert df["t"].tolist() == pd.Series(texts[:n], dtype="str").tolist()  # input unchanged


def test_neutralise_labels_categories_and_index() -> None:
    df = pd.DataFrame(
        {"=a": pd.Categorical(["+x", "y"]), "d": pd.to_datetime(["2026-01-01", None])},
        index=pd.Index(["@i", "j"]),
    )
    out = safe.neutralise_csv_cells(df, index=True)
    assert list(out.columns) == ["'=a", "d"] and list(out.index) == ["'@i", "j"]
    assert out["'=a"].tolist() == ["'+x", "y"]
    assert out["d"].reset_index(drop=True).equals(df["d"].reset_index(drop=True))
    assert list(safe.neutralise_csv_cells(df).index) == ["@i", "j"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=150), st.text(max_size=150))
def test_file_names_stay_in_their_folder_and_never_collide(a: str, b: str) -> None:
    for name in (a, b):
        f = safe.file_name(name, suffix=".png")
        assert f.endswith(".png") and len(f) <= safe.MAX_NAME + 4
        stem = f.removesuffix(".png")
        assert stem and not stem.startswith((".", "-"))
        assert all(ch.isascii() and (ch.isalnum() or ch in "_.-") for ch in stem)
        assert f not in (".", "..") and "/" not in f
    if a != b:
        assert safe.file_name(a, suffix=".png") != safe.file_name(b, suffix=".png")


def test_file_name_examples() -> None:
    assert safe.file_name("ab_results.csv") == "ab_results.csv"
    assert safe.file_name("nurture-cadence-2026q1_rates", suffix=".png") == (
        "nurture-cadence-2026q1_rates.png"
    )
    one, two = safe.file_name("../../x_exp"), safe.file_name(".._.._x_exp")
    assert one != two and one.startswith("_.._x_exp-") and two.startswith("_.._x_exp-")
    assert safe.file_name("..") != safe.file_name(".") and "/" not in safe.file_name("../")
    crafted = safe.file_name("../../x_exp")
    assert safe.file_name(crafted) != crafted  # a name shaped like a slug is hashed too
    assert len(safe.file_name("x" * 500, suffix=".csv")) <= safe.MAX_NAME + 4
