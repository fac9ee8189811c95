"""Every stakeholder page of a real demo run, read as a head of sales would (issue 16, item 10).

One demo run of the four notebooks (``params/demo.yaml``, shared by the xdist workers through a
lock) is parsed page by page: the run index, each report, ``OUT/index.html``, and, from a second
run built by copying it (below), the re-rendered reports, the index with its "what changed"
section and ``trends.html``. The checks:

* no code name shows through: no snake_case table header, no ``True``/``False``/``nan``/``None``
  cell, no ``<pre>`` block, no number with five or more decimals;
* each report's ``id="answer"`` exists once and is the first content after the title heading; its
  findings are ``metrics.json`` ``"answer"``, and the index card repeats the first one;
* every number on an index card is the ``metrics.json`` value formatted by
  :func:`leadnb.results.format_value` from its ``metric_kinds.json`` kind;
* in headless Chromium (skipped when it is not installed, unless ``LEADNB_REQUIRE_CHROMIUM=1``):
  at 1400 px the answer's top is inside the first 900 px, and at 400 px nothing is wider than the
  page;
* "what changed": the run copied as an earlier analysis date with one number planted is compared
  with the run by :func:`leadnb.run.publish.publish_changes`; only that number is beyond noise.

Every check gathers all offenders over all pages before failing, so one failure lists them all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from leadnb.results import display_currency, format_interval, format_value
from leadnb.run import publish
from leadnb.run.execute import TABLE_SUFFIXES, NotebookResult

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("scoring_calibration", "cohort_conversion", "nurture_roi", "ab_testing")
CARD_NUMBERS = 3
"""How many numbers an index card shows (``leadnb.report.pages.CARD_NUMBERS``)."""

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
PYTHON_VALUES = {"True", "False", "nan", "NaN", "None", "<NA>", "NaT"}
LONG_DECIMALS = re.compile(r"\d+\.\d{5,}")

PLANTED = ("scoring_calibration", "conversion_rate")
"""The number changed in the copied earlier run: a rate (two-proportion test on n_leads)."""
PLANTED_SHIFT = -0.02
"""Two points lower a fortnight earlier: on about 20,000 leads, far beyond noise."""


# --------------------------------------------------------------------------------------------
# The run, once for all workers


@pytest.fixture(scope="module")
def run_dir(demo_run: Path) -> Path:
    """The session's demo run of the four notebooks (``demo_run`` in ``conftest.py``)."""
    return demo_run


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _results(manifest: dict[str, Any], index: Path) -> dict[str, NotebookResult]:
    """The notebooks' results as the runner had them (status from the manifest, titles and
    CSV names from the run index's cards)."""
    dom = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    out = {}
    for entry in manifest["notebooks"]:
        card = dom.find(id=entry["name"])
        out[entry["name"]] = NotebookResult(
            name=entry["name"],
            status=entry["status"],
            title=card.find("h2").get_text(strip=True) if card else None,
            tables=sorted(
                p.name
                for p in (index.parent / entry["name"]).iterdir()
                if p.suffix in TABLE_SUFFIXES
            ),
        )
    return out


@pytest.fixture(scope="module")
def changed_run(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run published again after an earlier copy of itself (analysis date 14 days
    before, :data:`PLANTED` two points lower): its changes section, re-rendered reports and
    trends page. Returns the new run's folder."""
    out = tmp_path_factory.mktemp("changes") / "out"
    manifest = _read(run_dir / "manifest.json")
    earlier_id = f"20260617-020000-{manifest['name']}-2026-06-16"
    earlier = out / earlier_id
    shutil.copytree(run_dir, earlier)
    old = dict(manifest, run_id=earlier_id, as_of="2026-06-16")
    old["started_at"] = old["finished_at"] = "2026-06-17T02:00:00"
    (earlier / "manifest.json").write_text(json.dumps(old), encoding="utf-8")
    nb, key = PLANTED
    metrics = _read(earlier / nb / "metrics.json")
    metrics[key] = metrics[key] + PLANTED_SHIFT
    (earlier / nb / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")

    tmp = out / f".tmp-{manifest['run_id']}"
    shutil.copytree(run_dir, tmp)
    results = _results(manifest, run_dir / "index.html")
    part = publish.publish_changes(tmp, manifest, results, (), out_dir=out)
    publish.write_run_files(tmp, manifest, results, (), changes_html=part)
    current = tmp.rename(out / manifest["run_id"])
    publish.publish_indexes(out, manifest, move=True)  # OUT/index.html lists both runs
    return current


def stakeholder_pages(run_folder: Path) -> list[Path]:
    """The HTML pages of a run a reader opens: index, reports, trends, and OUT's index."""
    pages = [run_folder / "index.html"]
    pages += [run_folder / nb / f"{nb}.html" for nb in NOTEBOOKS]
    pages += [p for p in (run_folder / "trends.html", run_folder.parent / "index.html")]
    return [p for p in pages if p.is_file()]


@pytest.fixture(scope="module")
def pages(run_dir: Path, changed_run: Path) -> dict[str, BeautifulSoup]:
    """Every stakeholder page of both runs, parsed, by a short name (``run/`` or ``changed/``
    and the path in the run folder); ``<style>`` and ``<script>`` removed."""
    parsed = {}
    for prefix, folder in (("run", run_dir), ("changed", changed_run)):
        for page in stakeholder_pages(folder):
            dom = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            for el in dom(["style", "script"]):
                el.decompose()
            where = page.relative_to(folder) if folder in page.parents else Path("../index.html")
            parsed[f"{prefix}/{where}"] = dom
    return parsed


def _text(el: Any) -> str:
    return " ".join(el.get_text(" ").split())


# --------------------------------------------------------------------------------------------
# What a reader must never see


def test_every_stakeholder_page_is_there(
    run_dir: Path, changed_run: Path, pages: dict[str, BeautifulSoup]
) -> None:
    names = set(pages)
    for prefix in ("run", "changed"):
        assert f"{prefix}/index.html" in names and f"{prefix}/../index.html" in names
        for nb in NOTEBOOKS:
            assert f"{prefix}/{nb}/{nb}.html" in names
    assert "changed/trends.html" in names  # two analysis dates: the trend charts are drawn


def _data_names(run_dir: Path) -> set[str]:
    """Names that come from the data, not from code: experiment ids and variant names, as the
    team spelled them in its assignments (a row header may name them)."""
    import pandas as pd

    ab = pd.read_csv(run_dir / "ab_testing" / "ab_results.csv")
    return {str(v) for col in ("experiment_id", "variant") for v in ab[col].dropna()}


def test_no_snake_case_table_headers(run_dir: Path, pages: dict[str, BeautifulSoup]) -> None:
    data = _data_names(run_dir)
    assert "weekly_digest" in data  # the demo's variant: a data name a header may show
    bad = [
        (name, _text(th))
        for name, dom in pages.items()
        for th in dom.find_all("th")
        if any(m.group(0) not in data for m in SNAKE.finditer(_text(th)))
    ]
    assert not bad, bad


def test_no_python_values_in_cells(pages: dict[str, BeautifulSoup]) -> None:
    bad = [
        (name, _text(cell), _text(cell.find_parent("tr")))
        for name, dom in pages.items()
        for cell in dom.find_all(["td", "th"])
        if _text(cell) in PYTHON_VALUES
    ]
    assert not bad, bad


def test_no_pre_blocks(pages: dict[str, BeautifulSoup]) -> None:
    bad = [(name, _text(pre)[:120]) for name, dom in pages.items() for pre in dom.find_all("pre")]
    assert not bad, bad


def test_no_number_with_five_or_more_decimals(pages: dict[str, BeautifulSoup]) -> None:
    bad = [
        (name, m.group(0), " ".join(str(node).split())[:160])
        for name, dom in pages.items()
        for node in dom.find_all(string=True)
        for m in LONG_DECIMALS.finditer(str(node))
    ]
    assert not bad, bad


# --------------------------------------------------------------------------------------------
# The answer first, and the same words and numbers on the card


def _content_before_answer(dom: BeautifulSoup) -> tuple[list[str], list[str]]:
    """(text, tables/images/pre) between the title heading and ``#answer``."""
    h1, answer = dom.find("h1"), dom.find(id="answer")
    texts, blocks = [], []
    for el in h1.next_elements:
        if el is answer:
            break
        if isinstance(el, str):
            parent = el.parent
            in_title = parent is h1 or h1 in parent.parents
            if not in_title and el.strip():
                texts.append(el.strip())
        elif el.name in ("table", "img", "pre", "svg", "h2", "h3"):
            blocks.append(el.name)
    return texts, blocks


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_each_report_opens_with_its_answer(
    run_dir: Path, pages: dict[str, BeautifulSoup], nb: str
) -> None:
    dom = pages[f"run/{nb}/{nb}.html"]
    assert len(dom.find_all(id="answer")) == 1
    assert len(dom.find_all("h1")) == 1, [_text(h) for h in dom.find_all("h1")]
    answer, h1 = dom.find(id="answer"), dom.find("h1")
    assert h1 in answer.find_all_previous("h1")  # the title comes before the answer
    texts, blocks = _content_before_answer(dom)
    assert texts == [] and blocks == [], (texts, blocks)
    metrics = _read(run_dir / nb / "metrics.json")
    findings = [_text(p) for p in answer.select("p.answer-finding")]
    assert findings == [" ".join(s.split()) for s in metrics["answer"]]
    assert 1 <= len(findings) <= 5 and answer.select(".answer-actions li")  # then what to do


def _card(dom: BeautifulSoup, nb: str) -> Any:
    card = dom.find("section", id=nb)
    assert card is not None, f"no card for {nb}"
    return card


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_card_repeats_the_answer_and_its_numbers_are_the_metrics(
    run_dir: Path, pages: dict[str, BeautifulSoup], nb: str
) -> None:
    card = _card(pages["run/index.html"], nb)
    metrics = _read(run_dir / nb / "metrics.json")
    kinds = _read(run_dir / nb / "metric_kinds.json")
    line = card.select_one("p.answer-line")
    assert line is not None and _text(line) == " ".join(metrics["answer"][0].split())

    keys = [
        k
        for k in metrics["headline"]
        if isinstance(metrics.get(k), int | float | str) and not k.endswith(("_ci_low", "_ci_high"))
    ][:CARD_NUMBERS]
    currency = _read(run_dir / "manifest.json")["params"]["run"].get("currency")
    expected = []
    with display_currency(currency):
        for k in keys:
            v, kind = metrics[k], kinds.get(k)
            assert kind is not None, f"{nb}: card number {k} has no declared kind"
            bounds = [
                (f"{p}_ci_low", f"{p}_ci_high")
                for p in (k, *(k[: -len(e)] for e in ("_rate", "_pct", "_value") if k.endswith(e)))
                if f"{p}_ci_low" in metrics and f"{p}_ci_high" in metrics
            ]
            if bounds:
                lo, hi = (metrics[b] for b in bounds[0])
                shown = format_interval(v, lo, hi, kind)
                assert shown.startswith(format_value(v, kind, like=max(abs(v), abs(hi), abs(lo))))
            else:
                shown = format_value(v, kind)
            label = metrics.get("labels", {}).get(k)
            expected.append((label, shown))
    rows = [tuple(_text(td) for td in tr.find_all("td")) for tr in card.select("table.nums tr")]
    assert [v for _, v in rows] == [v for _, v in expected]
    for (label, _), (got, _) in zip(expected, rows, strict=True):
        assert label is None or got == label


# --------------------------------------------------------------------------------------------
# What changed since the previous run


def test_what_changed_flags_the_planted_change_and_only_it(changed_run: Path) -> None:
    nb, key = PLANTED
    label = _read(changed_run / nb / "metrics.json")["labels"][key]
    index = BeautifulSoup((changed_run / "index.html").read_text(encoding="utf-8"), "html.parser")
    summary = index.select_one("details.changes-all summary")
    assert summary is not None
    assert _text(summary).startswith("Since 2026-06-16, 1 of ")
    assert _text(summary).endswith(f"moved beyond noise: {label}. Details")
    rows = index.select("details.changes-all table.changes tbody tr")
    assert len(rows) > len(NOTEBOOKS)  # every report's headline numbers are compared
    flagged = [
        _text(tr.find("th")) for tr in rows if "beyond noise" in _text(tr.find_all("td")[-1])
    ]
    assert flagged == [label]
    for name in NOTEBOOKS:
        report = BeautifulSoup(
            (changed_run / name / f"{name}.html").read_text(encoding="utf-8"), "html.parser"
        )
        section = report.find(id="changes")
        assert section is not None, name
        beyond = [
            _text(tr.find("th"))
            for tr in section.select("tbody tr")
            if "beyond noise" in _text(tr.find_all("td")[-1])
        ]
        assert beyond == ([label] if name == nb else []), name
        html = str(report)
        assert html.index('id="answer"') < html.index('id="changes"'), name
    import pandas as pd

    changes = pd.read_csv(changed_run / publish.CHANGES_FILE)
    beyond = changes[changes["beyond_noise"].fillna(False).astype(bool)]
    assert list(zip(beyond["notebook"], beyond["key"], strict=True)) == [PLANTED]
    assert set(changes["notebook"]) == set(NOTEBOOKS)


# --------------------------------------------------------------------------------------------
# Layout in headless Chromium


@pytest.fixture(scope="module")
def devtools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.test_html_chromium import CHROMIUM, DevTools

    if CHROMIUM is None:
        if os.environ.get("LEADNB_REQUIRE_CHROMIUM") == "1":
            pytest.fail("LEADNB_REQUIRE_CHROMIUM=1 but chromium is not installed")
        pytest.skip("chromium not installed (apt-get install chromium): layout not measured")
    browser = DevTools(CHROMIUM, tmp_path_factory.mktemp("devtools-profile"))
    yield browser
    browser.close()


ANSWER_TOP = """(() => {
  const a = document.getElementById("answer");
  return a ? a.getBoundingClientRect().top + scrollY : null;
})()"""


@pytest.mark.chromium
def test_answer_in_the_first_screen_at_1400_px(run_dir: Path, devtools: Any) -> None:
    tops = {}
    for nb in NOTEBOOKS:
        devtools.open(run_dir / nb / f"{nb}.html", 1400, 900)
        tops[nb] = devtools.eval(ANSWER_TOP)
    assert all(top is not None and 0 <= top < 900 for top in tops.values()), tops


@pytest.mark.chromium
def test_nothing_wider_than_a_400_px_phone(run_dir: Path, changed_run: Path, devtools: Any) -> None:
    wide = {}
    for folder in (run_dir, changed_run):
        for page in stakeholder_pages(folder):
            devtools.open(page, 400, 800)
            width = devtools.eval("document.documentElement.scrollWidth")
            if width > 400:
                wide[str(page.relative_to(folder.parent))] = width
    assert not wide, wide
