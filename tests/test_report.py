"""Stakeholder HTML: metric formatting, run index, outputs index, code-free notebook pages."""

from __future__ import annotations

import base64
import html
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from leadnb.report import pages as report


def tiny_png() -> bytes:
    """A valid 2x2 red PNG built by hand (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def executed_notebook() -> nbformat.NotebookNode:
    """What papermill leaves behind: parameters cell, injected cell, outputs of every kind."""
    nb = new_notebook()
    params = new_code_cell('params_path: str = ""  # params file\nSECRET_MARKER_PARAMS = 1')
    params.metadata.tags = ["parameters"]
    injected = new_code_cell('# Parameters\nparams_path = "/abs/params.yaml"\nINJECTED_MARKER = 1')
    injected.metadata.tags = ["injected-parameters"]
    plot = new_code_cell("fig = make_chart()  # CODE_MARKER")
    plot.outputs = [
        new_output(
            "display_data",
            data={
                "image/png": base64.b64encode(tiny_png()).decode(),
                "text/plain": "<Figure>",
            },
        )
    ]
    table = new_code_cell("show(table)  # CODE_MARKER")
    table.outputs = [
        new_output(
            "display_data",
            data={"text/html": "<table><tr><td>TABLE_MARKER</td></tr></table>", "text/plain": "t"},
        )
    ]
    widget = new_code_cell("slider  # CODE_MARKER")
    widget.outputs = [
        new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
                "text/plain": "IntSlider(WIDGET_MARKER)",
            },
        )
    ]
    printed = new_code_cell('print("AUC 0.712")  # CODE_MARKER')
    printed.outputs = [new_output("stream", name="stdout", text="AUC 0.712\n")]
    nb.cells = [
        new_markdown_cell("# Does the score predict conversion?\n\nText for a reader."),
        params,
        injected,
        plot,
        table,
        widget,
        printed,
    ]
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


# --------------------------------------------------------------------------------------------
# formatting


def test_metric_label() -> None:
    assert report.metric_label("auc_ci_low") == "AUC CI low"
    assert report.metric_label("conversion_rate") == "Conversion rate"
    assert report.metric_label("n_leads") == "Leads"
    assert report.metric_label("n_control") == "N control"
    assert report.metric_label("cost_per_sql") == "Cost per SQL"
    assert report.metric_label("lvr_pct") == "LVR %"


def test_headline_items_pairs_intervals_and_skips_nested() -> None:
    metrics = {
        "auc": 0.7123,
        "auc_ci_low": 0.69,
        "auc_ci_high": 0.73,
        "by_band": {"a": 1},
        "conversion_rate": 0.05,
    }
    kinds = {
        "auc": "ratio",
        "auc_ci_low": "ratio",
        "auc_ci_high": "ratio",
        "conversion_rate": "rate",
    }
    items = report.headline_items(metrics, kinds)
    assert items == [("AUC", "0.712 [0.690 – 0.730]"), ("Conversion rate", "5.0%")]


def test_headline_items_pairs_rate_with_its_interval() -> None:
    metrics = {"lead_to_mql_ci_high": 0.228, "lead_to_mql_ci_low": 0.199, "lead_to_mql_rate": 0.213}
    kinds = {"lead_to_mql_rate": "rate"}
    assert report.headline_items(metrics, kinds) == [("Lead to MQL rate", "21.3% [19.9% – 22.8%]")]


def test_headline_list_chooses_and_orders() -> None:
    metrics = {"a_rate": 0.1, "auc": 0.7, "n_leads": 500, "headline": ["n_leads", "auc", "nope"]}
    kinds = {"n_leads": "count", "auc": "ratio"}
    assert report.headline_items(metrics, kinds) == [("Leads", "500"), ("AUC", "0.700")]


def test_a_number_without_a_declared_kind_is_not_guessed_from_its_name() -> None:
    # "roi" used to be shown as 3.128 and "share" names as %, by guessing; now only kinds count
    metrics = {"roi": 3.128, "share_old": 0.3333}
    assert report.headline_items(metrics) == [("ROI", "3.13"), ("Share old", "0.333")]
    assert report.headline_items(metrics, {"roi": "multiplier", "share_old": "rate"}) == [
        ("ROI", "3.13×"),
        ("Share old", "33.3%"),
    ]


def test_headline_items_limit() -> None:
    metrics = {f"n_{i}": i for i in range(20)}
    assert len(report.headline_items(metrics, limit=8)) == 8


# --------------------------------------------------------------------------------------------
# notebook page


def test_notebook_title_is_first_heading() -> None:
    nb = executed_notebook()
    assert report.notebook_title(nb, "fallback") == "Does the score predict conversion?"
    assert report.notebook_title(new_notebook(), "fallback") == "fallback"


def test_strip_for_readers_drops_parameter_cells_and_widgets() -> None:
    nb = executed_notebook()
    clean = report.strip_for_readers(nb)
    sources = "\n".join(c.source for c in clean.cells)
    assert "INJECTED_MARKER" not in sources and "SECRET_MARKER_PARAMS" not in sources
    assert "widgets" not in clean.metadata
    assert not any("WIDGET_MARKER" in str(c.get("outputs")) for c in clean.cells)
    # the input is not modified
    assert len(nb.cells) == 7 and "widgets" in nb.metadata


def test_render_notebook_html_hides_code_and_needs_no_network() -> None:
    page = report.render_notebook_html(
        executed_notebook(), title="Score report", bar_html='<a href="../index.html">back</a>'
    )
    assert "CODE_MARKER" not in page
    assert "INJECTED_MARKER" not in page and "/abs/params.yaml" not in page
    assert "WIDGET_MARKER" not in page
    assert "TABLE_MARKER" in page and "AUC 0.712" in page
    assert "data:image/png;base64," + base64.b64encode(tiny_png()).decode() in page
    assert "<title>Score report</title>" in page
    assert 'href="../index.html"' in page
    # no script or stylesheet from anywhere but this file
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    assert "cdnjs" not in page and "unpkg" not in page


def test_chart_alt_text_and_width_reach_the_page() -> None:
    png = base64.b64encode(tiny_png()).decode()
    described = new_output(
        "display_data",
        data={"image/png": png},
        metadata={"image/png": {"alt": 'Rate "A" < 5% & falling', "width": 40}},
    )
    plain = new_output("display_data", data={"image/png": png})
    nb = new_notebook(cells=[new_code_cell("x", outputs=[described]), new_code_cell("y", outputs=[plain])])  # fmt: skip
    page = report.render_notebook_html(nb, title="t")

    class Images(HTMLParser):
        found: list[dict] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "img":
                self.found.append(dict(attrs))

    parser = Images()
    parser.feed(page)
    described_img, plain_img = parser.found
    assert described_img["alt"] == 'Rate "A" < 5% & falling' and described_img["width"] == "40"
    assert described_img["src"] == f"data:image/png;base64,{png}"
    assert plain_img["alt"]  # nbconvert's generic text where a chart has no description


# --------------------------------------------------------------------------------------------
# index pages


def manifest(run_id: str, status: str, started: str, notebooks: list[dict]) -> dict:
    return {
        "run_id": run_id,
        "name": "demo",
        "as_of": "2026-06-30",
        "status": status,
        "started_at": started,
        "finished_at": started,
        "inputs": [{"table": "leads", "rows": 20000, "sha256": "ab" * 32}],
        "notebooks": notebooks,
    }


def test_run_index_links_reports_with_headline_numbers() -> None:
    m = manifest(
        "20260701-020000-demo-2026-06-30",
        "failed",
        "2026-07-01T02:00:00",
        [
            {
                "name": "scoring_calibration",
                "status": "success",
                "seconds": 12.3,
                "html": "scoring_calibration/scoring_calibration.html",
                "ipynb": "scoring_calibration/scoring_calibration.ipynb",
            },
            {
                "name": "ab_testing",
                "status": "failed",
                "seconds": 2.0,
                "error": "ValueError: <bad> input",
                "html": "ab_testing/ab_testing.html",
            },
        ],
    )
    metrics = {"scoring_calibration": {"n_leads": 20000, "conversion_rate": 0.0456, "auc": 0.71}}
    page = report.render_run_index(
        m,
        metrics,
        titles={"scoring_calibration": "Does the score predict?"},
        tables={"scoring_calibration": ["scores.parquet", "segments.csv"]},
        kinds={
            "scoring_calibration": {"n_leads": "count", "conversion_rate": "rate", "auc": "ratio"}
        },
    )
    assert 'href="scoring_calibration/scoring_calibration.html"' in page
    assert 'href="scoring_calibration/scores.parquet"' in page  # per-lead table: Parquet
    assert 'href="scoring_calibration/segments.csv"' in page
    assert "Does the score predict?" in page
    assert "20,000" in page and "4.6%" in page and "0.710" in page
    assert "Succeeded" in page and "Failed" in page
    assert "&lt;bad&gt;" in page and "<bad>" not in page
    assert 'href="../index.html"' in page and 'href="manifest.json"' in page
    assert "http://" not in page and "https://" not in page


def test_outputs_index_newest_first_with_latest() -> None:
    old = manifest("20260601-020000-demo-2026-05-31", "success", "2026-06-01T02:00:00", [])
    new = manifest("20260701-020000-demo-2026-06-30", "failed", "2026-07-01T02:00:00", [])
    page = report.render_outputs_index([old, new], latest=old["run_id"])
    table = page[page.index('<table class="runs">') :]
    assert table.index(new["run_id"]) < table.index(old["run_id"])
    assert 'href="latest/index.html"' in page
    assert f'href="{new["run_id"]}/index.html"' in page
    assert "No successful run yet" in report.render_outputs_index([new], latest=None)


def test_write_text_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    report.write_text_atomic(target, "one")
    report.write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


# --------------------------------------------------------------------------------------------
# hostile outputs, CSP, failure page, failed cards, partial runs

XSS = "<script>alert(document.domain)</script>"
IMG = "<img src=x onerror=alert(1)>"
CSP_ATTRS = {"http-equiv": "Content-Security-Policy"}


def parse(page: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page, "html.parser")


def assert_inert(page: str) -> None:
    dom = parse(page)
    assert not dom.find_all(["script", "iframe", "object", "embed", "svg"])
    for el in dom.find_all(True):
        for attr, value in el.attrs.items():
            assert not attr.startswith("on"), f"<{el.name} {attr}>"
            if attr in ("href", "src"):
                assert not str(value).strip().lower().startswith(("javascript:", "data:text"))
    meta = dom.find("meta", attrs=CSP_ATTRS)
    assert meta is not None and meta["content"] == report.safe.CSP
    assert dom.head.find("meta", attrs=CSP_ATTRS) is meta  # in <head>, where it applies


def hostile_notebook() -> nbformat.NotebookNode:
    png = base64.b64encode(tiny_png()).decode()
    outputs = [
        new_output(
            "display_data",
            data={
                # an escaped caption (as nb.styled writes it) and live elements that got in
                "text/html": f"<table><caption>{html.escape(XSS)}</caption><tr>"
                f"<td onclick=alert(1)>cell</td></tr></table>{XSS}<iframe src=x></iframe>"
                '<a href="javascript:alert(1)">link</a><style>td{color:red}</style>',
                "text/plain": "t",
            },
        ),  # fmt: skip
        new_output("display_data", data={"text/markdown": f"### Experiment {IMG}\n\n{XSS}"}),
        new_output("display_data", data={"application/javascript": "alert('JS_MARKER')"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload=alert(1)>SVG_MARKER</svg>"}),
        new_output("stream", name="stdout", text=f"Verdict: {XSS}\n"),
        new_output("execute_result", data={"text/plain": f"'{IMG}'"}, execution_count=1),
        new_output(
            "display_data",
            data={"image/png": png},
            metadata={
                "image/png": {"alt": f'{IMG}" onmouseover="x', "width": "1 onerror=alert(1)"},
                "filenames": {"image/png": "javascript:alert(1)"},
            },
        ),  # fmt: skip
        new_output(
            "error",
            ename="ValueError",
            evalue="TRACEBACK_MARKER",
            traceback=["Traceback (most recent call last)", "TRACEBACK_MARKER"],
        ),  # fmt: skip
    ]
    return new_notebook(
        cells=[
            new_markdown_cell("# Report\n\nProject text with **bold**."),
            new_code_cell("x", outputs=outputs),
        ]
    )


def test_report_outputs_are_inert_and_hostile_text_is_shown() -> None:
    page = report.render_notebook_html(hostile_notebook(), title="Report")
    assert_inert(page)
    dom = parse(page)
    text = dom.get_text(" ")
    assert text.count(XSS) == 3 and IMG in text  # caption, markdown, stream (the live one: gone)
    assert dom.find("h3").get_text() == f"Experiment {IMG}"  # markdown output still formatted
    assert dom.find("caption").get_text() == XSS
    assert "JS_MARKER" not in page and "SVG_MARKER" not in page
    assert "TRACEBACK_MARKER" not in page and "Traceback" not in page
    assert "td{color:red}" not in page and "<strong>bold</strong>" in page  # project markdown
    img = dom.find("img")
    assert img["alt"] == f'{IMG}" onmouseover="x' and "width" not in img.attrs
    assert img["src"].startswith("data:image/png;base64,")


def test_strip_for_readers_keeps_only_safe_output_types() -> None:
    clean = report.strip_for_readers(hostile_notebook())
    outs = clean.cells[1].outputs
    kinds = [sorted(o.get("data", {})) or o.output_type for o in outs]
    html_plain = ["text/html", "text/plain"]
    assert kinds == [html_plain, ["text/html"], html_plain, html_plain, ["image/png"]]
    # printed text: escaped paragraphs, not a monospace block; the .ipynb keeps its stream
    assert outs[2].data["text/html"] == f'<div class="leadnb-text"><p>Verdict: {html.escape(XSS, quote=True)}</p></div>'  # fmt: skip
    assert hostile_notebook().cells[1].outputs[4].output_type == "stream"
    assert outs[-1].metadata == {"image/png": {"alt": f'{IMG}" onmouseover="x'}}
    assert "<script" not in outs[0].data["text/html"] and "&lt;script&gt;" in outs[1].data["text/html"]  # fmt: skip


def failed_manifest(error: str, **extra: object) -> dict:
    entry = {
        "name": "nurture_roi",
        "status": "failed",
        "error": error,
        "fix": "add data.costs.source to params.yaml",
        "log": "run.log",
        "html": "nurture_roi/nurture_roi.html",
        "ipynb": "nurture_roi/nurture_roi.ipynb",
        **extra,
    }
    return manifest("r1", "failed", "2026-07-01T02:00:00", [entry])


def test_failed_card_shows_one_line_reason_fix_and_links() -> None:
    tb = (
        'Traceback (most recent call last):\n  File "/x/leadnb/roi.py", line 3, in f\n'
        "    raise DataError(x)\nDataError: costs table has no rows " + "x" * 400 + XSS
    )
    page = report.render_run_index(failed_manifest(tb), {})
    assert_inert(page)
    card = parse(page).find("section", id="nurture_roi")
    reason = card.find(class_="error").get_text()
    assert reason.startswith("nurture_roi failed: DataError: costs table has no rows")
    assert len(reason) <= 200 + len("nurture_roi failed: ")
    assert "Traceback" not in page and "roi.py" not in page and "raise" not in page
    assert "Fix: add data.costs.source to params.yaml" in " ".join(card.get_text(" ").split())
    hrefs = {a.get_text(): a["href"] for a in card.find_all("a")}
    assert hrefs["What went wrong"] == "nurture_roi/nurture_roi.html"
    assert hrefs["Run log"] == "run.log"
    assert hrefs[report.NOTEBOOK_LINK_LABEL] == "nurture_roi/nurture_roi.ipynb"
    coloured = (
        "\x1b[31mTraceback (most recent call last)\x1b[0m\n  x\n\x1b[31mValueError\x1b[0m: bad"
    )
    assert report.one_line(coloured) == "ValueError: bad"
    page = report.render_run_index(failed_manifest(f"bad value {XSS}\nsecond line"), {})
    assert "second line" not in page and f"bad value {XSS}" in parse(page).get_text()


def test_failure_page_is_a_stakeholder_page_without_code() -> None:
    page = report.render_failure_page(
        notebook="nurture_roi",
        title=f"Nurture ROI {XSS}",
        reason="Traceback (most recent call last):\n  File 'x'\nDataError: the costs table is empty",
        fix=f"add costs rows for 2025 {IMG}\nmore",
        log_href="../run.log",
        ipynb_href="nurture_roi.ipynb",
    )
    assert_inert(page)
    dom = parse(page)
    text = dom.get_text(" ")
    assert f"Nurture ROI {XSS}" in dom.h1.get_text() and "Failed" in text
    assert "DataError: the costs table is empty" in text and "Traceback" not in text
    assert f"add costs rows for 2025 {IMG}" in text and "more" not in text
    hrefs = {a.get_text(): a["href"] for a in dom.find_all("a")}
    assert hrefs["Run log"] == "../run.log"
    assert hrefs[report.NOTEBOOK_LINK_LABEL] == "nurture_roi.ipynb"
    assert hrefs["All reports of this run"] == "../index.html"
    assert "<style>" in page  # the same inline look as the index pages
    no_nb = report.render_failure_page(
        notebook="ab_testing", title="", reason="x", fix="y", log_href="run.log", ipynb_href=None
    )
    assert "for analysts" not in no_nb and "Ab testing" in no_nb


def test_every_page_carries_the_csp() -> None:
    m = manifest("r1", "success", "2026-07-01T02:00:00", [])
    pages = [
        report.render_notebook_html(executed_notebook(), title="t"),
        report.render_run_index(m, {}),
        report.render_outputs_index([m], latest="r1"),
        report.render_latest_redirect("r1"),
        report.render_failure_page(
            notebook="a", title="A", reason="r", fix="f", log_href="l", ipynb_href=None
        ),
    ]
    for page in pages:
        assert_inert(page)
        assert "script-src 'none'" in report.safe.CSP and "default-src 'none'" in report.safe.CSP
    redirect = parse(pages[3]).find("meta", attrs={"http-equiv": "refresh"})
    assert redirect["content"] == "0; url=r1/index.html"


def test_outputs_index_names_partial_runs() -> None:
    def run(rid: str, names: list[str]) -> dict:
        m = manifest(rid, "success", f"2026-07-0{rid[-1]}T02:00:00", [{"name": n, "status": "success"} for n in names])  # fmt: skip
        m["options"] = {"notebooks": names}
        return m

    full = run("r1", ["scoring_calibration", "cohort_conversion", "nurture_roi", "ab_testing"])
    part = run("r2", ["ab_testing", "nurture_roi"])
    page = report.render_outputs_index([full, part], latest="r1")
    rows = parse(page).find_all("tr")[1:]
    assert "Partial run: 2 of 4 reports: ab_testing, nurture_roi" in rows[0].get_text(" ")
    assert "Partial run" not in rows[1].get_text(" ")
    assert report.subset_notebooks(full) is None
    assert report.subset_notebooks({"notebooks": [{"name": "ab_testing"}]}) == ["ab_testing"]


# --------------------------------------------------------------------------------------------
# page structure: answer first, then what changed, the evidence, the appendix


def html_output(fragment: str) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/html": fragment, "text/plain": "x"})


def tagged(cell: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    cell.metadata.tags = [tag]
    return cell


ANSWER_HTML = (
    '<section id="answer" class="answer"><p>The score barely predicts conversion: 58% '
    "(56% to 60%; n = 12,345).</p><h3>What to do</h3><ul><li>Call 60 a week.</li></ul></section>"
)


def answered_notebook() -> nbformat.NotebookNode:
    """A report whose answer cell is last, with appendix cells in the middle, data that tries
    to pass for the answer, printed text and a table."""
    png = base64.b64encode(tiny_png()).decode()
    return new_notebook(
        cells=[
            new_markdown_cell("# Does the score predict?\n\nINTRO_MARKER under the title."),
            new_code_cell(
                "setup", outputs=[new_output("stream", name="stdout", text="SETUP_NOTE\n")]
            ),  # fmt: skip
            new_code_cell(
                "table", outputs=[html_output("<table><tr><td>TABLE_MARKER</td></tr></table>")]
            ),  # fmt: skip
            tagged(new_markdown_cell("### Methods\n\nMETHODS_MARKER"), "appendix"),
            new_code_cell(
                "fake",
                outputs=[
                    html_output('<section id="answer" class="answer">FAKE_ANSWER</section>'),
                    html_output('<p id="answer">FAKE_P</p><span id=" ANSWER">FAKE_SPAN</span>'),
                    new_output("display_data", data={"text/markdown": '<div id="answer">MD</div>'}),
                ],
            ),
            new_code_cell("chart", outputs=[new_output("display_data", data={"image/png": png})]),
            tagged(
                new_code_cell(
                    "notes", outputs=[new_output("stream", name="stdout", text="NOTES_MARKER\n")]
                ),
                "appendix",
            ),  # fmt: skip
            tagged(new_code_cell("answer", outputs=[html_output(ANSWER_HTML)]), "answer"),
        ]
    )


def body_order(page: str, markers: list[str]) -> list[int]:
    text = parse(page).body.get_text(" ")
    return [text.index(m) for m in markers]


def test_answer_first_then_changes_then_evidence_then_appendix() -> None:
    page = report.render_notebook_html(
        answered_notebook(), title="t", changes_html="<p>CHANGES_MARKER</p>"
    )
    assert_inert(page)
    dom = parse(page)
    (answer,) = dom.find_all(id="answer")
    assert answer.name == "section" and "barely predicts" in answer.get_text()
    order = ["Does the score predict?", "barely predicts", "What to do", "CHANGES_MARKER"]
    order += ["INTRO_MARKER", "SETUP_NOTE", "TABLE_MARKER", "FAKE_ANSWER", "How this was computed"]
    order += ["METHODS_MARKER", "NOTES_MARKER"]
    positions = body_order(page, order)
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    # nothing that is a table or a chart comes before the answer
    assert dom.find(["table", "img", "section"]) is answer
    after_title = dom.h1.find_next(["p", "section", "table", "img"])
    assert after_title is answer
    appendix = dom.find("section", class_="leadnb-appendix")
    assert appendix.h2.get_text() == "How this was computed"
    inside = appendix.get_text(" ")
    assert "METHODS_MARKER" in inside and "NOTES_MARKER" in inside
    assert "TABLE_MARKER" not in inside and "barely" not in inside
    assert "<details" not in page  # the appendix prints expanded


def test_only_the_answer_cell_provides_the_answer_element() -> None:
    nb = answered_notebook()
    second = tagged(new_code_cell("again", outputs=[html_output(ANSWER_HTML.replace("barely", "SECOND"))]), "answer")  # fmt: skip
    nb.cells.append(second)
    dom = parse(report.render_notebook_html(nb, title="t"))
    found = dom.find_all(id=re.compile("answer", re.IGNORECASE))
    assert len(found) == 1 and "barely predicts" in found[0].get_text()
    assert "SECOND" in dom.get_text()  # a second answer cell is shown, without the id
    # data that dressed itself as the answer keeps neither the id nor the look
    fake = dom.find(string=re.compile("FAKE_ANSWER")).parent
    assert "answer" not in (fake.get("class") or []) and fake.get("id") is None
    assert len(dom.select(".answer")) == 1


def test_a_notebook_without_answer_or_appendix_keeps_its_order() -> None:
    nb = executed_notebook()
    clean = report.strip_for_readers(nb)
    kept = [c.source for c in nb.cells if not set(c.metadata.get("tags", [])) & {"parameters", "injected-parameters"}]  # fmt: skip
    assert [c.source for c in clean.cells] == kept
    page = report.render_notebook_html(nb, title="t")
    assert parse(page).find(id="answer") is None and "How this was computed" not in page


def test_changes_follow_the_title_when_there_is_no_answer() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title\n\nINTRO_MARKER"),
            new_code_cell(
                "t", outputs=[html_output("<table><tr><td>TABLE_MARKER</td></tr></table>")]
            ),  # fmt: skip
        ]
    )
    page = report.render_notebook_html(nb, title="t", changes_html="<p>CHANGES_MARKER</p>")
    positions = body_order(page, ["Title", "CHANGES_MARKER", "INTRO_MARKER", "TABLE_MARKER"])
    assert positions == sorted(positions)


def test_printed_text_is_paragraphs_in_the_report_font_not_pre_blocks() -> None:
    nb = answered_notebook()
    nb.cells.append(
        new_code_cell(
            "p",
            outputs=[
                new_output("stream", name="stdout", text="Verdict: ship B\n\n  n = 1,200 <b>\n"),
                new_output(
                    "execute_result", data={"text/plain": "'RESULT_MARKER'"}, execution_count=3
                ),  # fmt: skip
            ],
        )
    )
    dom = parse(report.render_notebook_html(nb, title="t"))
    assert not dom.select(".jp-OutputArea pre, .jp-OutputArea-output pre")
    assert not dom.find_all("pre")
    lines = [p.get_text() for p in dom.select(".leadnb-text p")]
    assert "Verdict: ship B" in lines and "n = 1,200 <b>" in lines and "'RESULT_MARKER'" in lines
    indented = dom.find("p", string="n = 1,200 <b>")
    assert indented["class"] == ["lvl1"]
    # the .ipynb keeps its streams: the input notebook is not modified
    assert nb.cells[1].outputs[0].output_type == "stream"


def test_output_tables_scroll_in_their_own_box_and_print_whole() -> None:
    nested = "<table><tr><td><table><tr><td>inner</td></tr></table></td></tr></table>"
    nb = new_notebook(cells=[new_code_cell("t", outputs=[html_output(nested + "<table><tr><td>2</td></tr></table>")])])  # fmt: skip
    page = report.render_notebook_html(nb, title="t")
    dom = parse(page)
    outer = [t for t in dom.find_all("table") if t.find_parent("table") is None]
    assert len(outer) == 2
    assert all("leadnb-scroll" in t.parent.get("class", []) for t in outer)
    assert len(dom.select(".leadnb-scroll")) == 2  # the nested table is not wrapped again
    (css,) = [" ".join(st.get_text().split()) for st in dom.find_all("style") if ".leadnb-scroll" in st.get_text()]  # fmt: skip
    assert ".leadnb-scroll { max-width: 100%; overflow-x: auto; }" in css
    assert "img { max-width: 100%; height: auto; }" in css
    printed = css[css.index("@media print") :]
    for rule in (
        ".leadnb-bar { display: none; }",
        ".leadnb-scroll { overflow: visible; }",
        "thead { display: table-header-group; }",
        "break-inside: avoid",
        'content: " (" attr(href) ")"',
    ):
        assert rule in printed


def test_card_shows_the_answer_sentence_three_numbers_and_a_link_to_all() -> None:
    entry = {
        "name": "scoring_calibration",
        "status": "success",
        "html": "scoring_calibration/scoring_calibration.html",
        "ipynb": "scoring_calibration/scoring_calibration.ipynb",
    }
    metrics = {
        "answer": [f"The score barely predicts conversion {XSS}.", "Second sentence."],
        "headline": ["auc", "conversion_rate", "roi", "n_leads"],
        "n_leads": 12345,
        "conversion_rate": 0.0456,
        "auc": 0.5812,
        "auc_ci_low": 0.5601,
        "auc_ci_high": 0.6023,
        "roi": 3.128,
        "brier": 0.04,
    }
    kinds = {"n_leads": "count", "conversion_rate": "rate", "auc": "ratio", "roi": "multiplier"}
    m = manifest("r1", "success", "2026-07-01T02:00:00", [entry])
    page = report.render_run_index(
        m, {"scoring_calibration": metrics}, kinds={"scoring_calibration": kinds}
    )
    assert_inert(page)
    card = parse(page).find("section", id="scoring_calibration")
    line = card.find(class_="answer-line")
    assert line.get_text() == f"The score barely predicts conversion {XSS}."
    assert "Second sentence" not in card.get_text()
    cells = [td.get_text() for td in card.select("table.nums td")]
    assert cells == ["AUC", "0.581 [0.560 – 0.602]", "Conversion rate", "4.6%", "ROI", "3.13×"]
    assert line.find_next("table") is card.find("table", class_="nums")  # sentence first
    more = card.find("a", string="all 5 numbers")
    assert more["href"] == "scoring_calibration/scoring_calibration.html"
    hrefs = {a.get_text(): a["href"] for a in card.find_all("a")}
    assert hrefs[report.NOTEBOOK_LINK_LABEL] == "scoring_calibration/scoring_calibration.ipynb"
    assert "Notebook" not in hrefs
    # a report without an answer or with few numbers: no sentence, no "all N numbers"
    few = report.render_run_index(m, {"scoring_calibration": {"n_leads": 5}})
    few_card = parse(few).find("section", id="scoring_calibration")
    assert few_card.find(class_="answer-line") is None and "numbers" not in few_card.get_text()


def test_number_count_against_a_hand_count() -> None:
    metrics = {"auc": 0.6, "auc_ci_low": 0.5, "auc_ci_high": 0.7, "lvr_pct": 12.0}
    metrics |= {"lvr_ci_low": 5.0, "lvr_ci_high": 20.0, "flag": True, "answer": ["x"], "n": 3}
    assert report.number_count(metrics) == 3  # auc, lvr_pct, n: bounds, booleans, text left out


def test_cards_use_declared_labels_and_the_run_currency() -> None:
    entry = {
        "name": "nurture_roi",
        "status": "success",
        "html": "nurture_roi/nurture_roi.html",
    }
    m = manifest("20260701-020000-demo-2026-06-30", "success", "2026-07-01T02:00:00", [entry])
    m["params"] = {"run": {"name": "demo", "currency": "EUR"}}
    metrics = {
        "nurture_roi": {
            "after_cost_per_sql": 1012.8,
            "lead_to_sql_p90": 0.0265,
            "headline": ["after_cost_per_sql", "lead_to_sql_p90"],
            "labels": {"lead_to_sql_p90": "Leads reaching SQL within 90 days"},
        }
    }
    kinds = {"nurture_roi": {"after_cost_per_sql": "money", "lead_to_sql_p90": "rate"}}
    page = report.render_run_index(m, metrics, kinds=kinds)
    assert "Leads reaching SQL within 90 days" in page and "2.6%" in page
    assert "Lead to SQL p90" not in page
    assert "€1,013" in page  # money in the run's currency
    runs = report.render_outputs_index([m], latest=m["run_id"], metrics={m["run_id"]: metrics},
                                       kinds={m["run_id"]: kinds})  # fmt: skip
    assert "€1,013" in runs
    assert report.format_value(1012.8, "money") == "1,013"  # the currency does not leak


def _answered_notebook(hostile: str = "") -> nbformat.NotebookNode:
    answer = new_code_cell(
        "show_answer()",
        metadata={"tags": ["answer"]},
        outputs=[
            new_output("display_data", data={"text/html": '<section id="answer">Yes.</section>'})
        ],
    )
    evidence = new_code_cell(
        "x",
        outputs=[
            new_output("display_data", data={"text/html": f"<p>{hostile}</p>"}),
            new_output("stream", name="stdout", text=f"{hostile}\n"),
        ],
    )
    return new_notebook(cells=[new_markdown_cell("# Title\nIntro."), evidence, answer])


def test_changes_filled_into_the_slot_equal_a_second_rendering() -> None:
    """The runner fills "what changed" into the slot the worker's rendering left, instead of
    rendering the notebook again: the page is the same either way."""
    nb, changes = _answered_notebook(), '<p class="x">AUC 0.58 → 0.61, within noise</p>'
    first = report.render_notebook_html(nb, title="T")
    assert first.count(report.CHANGES_SLOT) == 1
    filled = report.fill_changes(first, changes)
    again = report.render_notebook_html(nb, title="T", changes_html=changes)

    def ids(page: str) -> str:  # a split title cell's remainder gets a new random cell id
        return re.sub(r"cell-id=[0-9a-f-]+", "cell-id=X", page)

    assert ids(filled) == ids(again)
    # after the answer, before the evidence
    assert (
        filled.index('id="answer"')
        < filled.index('class="leadnb-changes"')
        < filled.index("Intro.")
    )
    # a notebook without an answer has no slot: the runner renders it again
    plain = new_notebook(cells=[new_markdown_cell("# Title")])
    assert report.fill_changes(report.render_notebook_html(plain, title="T"), changes) is None


def test_data_cannot_plant_a_changes_slot() -> None:
    """An output holding the slot's text is sanitised or escaped: the one slot is the
    renderer's, after the answer."""
    page = report.render_notebook_html(_answered_notebook(report.CHANGES_SLOT), title="T")
    assert page.count(report.CHANGES_SLOT) == 1
    assert page.index(report.CHANGES_SLOT) < page.index("Intro.")


def test_renders_in_one_process_share_the_exporter_and_nothing_else() -> None:
    """The exporter is made once per process; a report rendered after another is the page a
    fresh exporter gives, and a render never changes the notebook it is given."""
    first, second = hostile_notebook(), executed_notebook()
    before = nbformat.writes(second)
    report.render_notebook_html(first, title="First", bar_html="<nav>one</nav>")
    again = report.render_notebook_html(second, title="Second")
    assert report._exporter() is report._exporter()
    assert nbformat.writes(second) == before
    report._exporter.cache_clear()
    fresh = report.render_notebook_html(second, title="Second")
    assert again == fresh and "First" not in again and "one</nav>" not in again


def test_the_same_notebook_gives_the_same_page() -> None:
    """The cells the reader's order adds (the intro after the title, the slot for changes)
    get fixed ids, not nbformat's random ones: two renders are byte for byte equal."""
    import copy

    nb = new_notebook(cells=[new_markdown_cell("# Title\n\nINTRO_MARKER")])
    nb.cells.append(tagged(new_code_cell("a", outputs=[html_output(ANSWER_HTML)]), "answer"))
    pages = [
        report.render_notebook_html(copy.deepcopy(nb), title="t", changes_html="<p>C</p>")
        for _ in range(2)
    ]
    assert pages[0] == pages[1] and "INTRO_MARKER" in pages[0]
    empty = [
        report.render_notebook_html(new_notebook(cells=[]), title="t", changes_html="<p>C</p>")
        for _ in range(2)
    ]
    assert empty[0] == empty[1]


def test_text_a_cell_printed_in_pieces_is_one_block_on_either_side_of_a_chart() -> None:
    """The kernel sends printed text every 0.2 s, so the same cell's text arrives in one output
    or several by the machine's speed: the page is the same either way; text printed after a
    chart stays after it."""

    def page(outputs: list) -> list[str]:
        nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("x", outputs=outputs)])
        cell = report.strip_for_readers(nb).cells[1]
        return [o.data.get("text/html", "chart") for o in cell.outputs]

    def text(t: str) -> object:
        return new_output("stream", name="stdout", text=t)

    chart = new_output("display_data", data={"text/plain": "chart"})
    whole = page([text("one\ntwo\n"), chart, text("three\n")])
    assert page([text("one\n"), text("two\n"), chart, text("three\n")]) == whole
    assert whole[0].count("<p>") == 2 and "chart" in whole[1] and "three" in whole[2]


def _nbconvert_fixups(page: str) -> str:
    """What nbconvert's HTML exporter does to a page last (its BeautifulSoup selectors), as
    the oracle for pages._accessible."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, features="html.parser")
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = "No description has been provided for this image"
    for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
        elem.attrs["tabindex"] = "0"
    for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
        elem.attrs["tabindex"] = "0"
    return str(soup)


def test_a_report_has_the_elements_nbconvert_would_give_it() -> None:
    """The report skips nbconvert's BeautifulSoup round trip (0.11 s a page, and soupsieve's
    first compile): every image still has an alt text and every output box a tabindex, as
    nbconvert's selectors would set them, whatever the outputs hold."""
    from bs4 import BeautifulSoup

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    charted = new_output("display_data", data={"image/png": png, "text/plain": "c"})
    charted.metadata = {"image/png": {"alt": "Chart > <b>title</b>", "width": 300}}
    bare = new_output("display_data", data={"image/png": png, "text/plain": "c"})
    tricky = (
        '<div class="x jp-OutputArea-output" title="a > b" tabindex="-1">boxed</div>'
        '<img src="data:image/png;base64,AAAA"><table><tr><td>1 &gt; 0</td></tr></table>'
    )
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title\n\n<img src='x.png'> in markdown"),
            new_code_cell(
                "x",
                outputs=[
                    new_output("stream", name="stdout", text="<script>alert(1)</script>\n"),
                    charted,
                    bare,
                    new_output("display_data", data={"text/html": tricky, "text/plain": "t"}),
                ],
            ),
        ]
    )
    page = report.render_notebook_html(nb, title="T", bar_html='<a href="../index.html">x</a>')
    assert str(BeautifulSoup(page, features="html.parser")) == _nbconvert_fixups(page)
    soup = BeautifulSoup(page, features="html.parser")
    assert all(img.has_attr("alt") for img in soup.find_all("img"))
    boxes = soup.select("div.jp-OutputArea-output")
    assert boxes and all(div.get("tabindex") == "0" for div in boxes)
