"""Stakeholder pages: a notebook rendered without its code, a run's index, the index of all runs.

Design: three pure renderers that take plain data (a notebook node, a run manifest, a list of
manifests) and return an HTML string; writing files is the runner's job (except the small
:func:`write_text_atomic` helper both use). Every page is self-contained: CSS inline, images
embedded as ``data:`` URIs (nbconvert does that for PNG outputs), no script or stylesheet fetched
from a CDN, and every link relative, so a run folder can be zipped and mailed.

* :func:`render_notebook_html` uses nbconvert's ``HTMLExporter`` (lab template) with
  ``exclude_input`` and both prompts excluded, after removing the ``parameters`` and
  ``injected-parameters`` cells and any widget views. A small template extending the lab one
  drops require.js, MathJax, Mermaid and the widget manager (all CDN scripts, none needed for
  content) and adds a bar linking back to the run's index and to the notebook for analysts.
  The page reads in the order a head of sales needs (:func:`strip_for_readers`): the title,
  the output of the cell tagged ``answer`` (the only source of ``id="answer"``), an optional
  "what changed" fragment, the evidence, and the cells tagged ``appendix`` under "How this
  was computed". Printed text becomes paragraphs, tables scroll in their own box, and a print
  stylesheet makes print-to-PDF (``leadnb run --pdf``) clean.
* :func:`render_run_index` shows each report with its status, its answer's first sentence and
  its first three headline numbers from its ``metrics.json``, each formatted from the kind its
  notebook declared in ``metric_kinds.json`` (:mod:`leadnb.results`), intervals as
  ``[low - high]``.
* :func:`render_outputs_index` lists every run, newest first, with its status and a few
  headline numbers per report, or which notebook failed and why; a run of only some notebooks
  says which ("Partial run: 2 of 4 reports: ...").
* :func:`render_failure_page` is what a stakeholder sees instead of a report that failed: the
  one-line reason, the fix, links to the run log and the executed notebook; never a traceback.
* :func:`render_latest_redirect` is ``OUT/latest.html``.

Data is text, never code: every page carries the Content-Security-Policy
:data:`leadnb.safe.CSP` (no script at all, images only embedded, styles only inline); values in
the index pages are escaped; a notebook's *outputs* are made inert before rendering
(:func:`strip_for_readers`: HTML sanitised, Markdown outputs with raw HTML escaped, no
JavaScript/SVG/error outputs). Markdown *cells* are the project's own text and are kept.
"""

from __future__ import annotations

import copy
import functools
import html
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat

from leadnb import safe
from leadnb.data.params import NOTEBOOKS
from leadnb.results import Kind, display_currency, format_interval, format_value

HIDDEN_CELL_TAGS = ("parameters", "injected-parameters")
ANSWER_TAG = "answer"
"""A code cell tagged ``answer`` shows the report's answer: its output is hoisted to follow the
title, and only it may provide the element ``id="answer"``."""
APPENDIX_TAG = "appendix"
"""Cells tagged ``appendix`` (methods, data notes, definitions) are moved to the end, under
:data:`APPENDIX_TITLE`."""
APPENDIX_TITLE = "How this was computed"
NOTEBOOK_LINK_LABEL = "Notebook for analysts (.ipynb, opens in JupyterLab)"
"""How every page links the executed notebook (never a bare "Notebook" opening raw JSON)."""
CARD_NUMBERS = 3
"""Key numbers on a run index card (the first of the notebook's ``headline`` list)."""
RUNS_INDEX_NUMBERS = 2
"""Headline numbers per report in the all-runs index."""
_SLOT_KEY = "leadnb_slots"  # cell metadata: trusted fragments the template puts around a cell
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES = ("image/png", "image/jpeg")
TEXT_MIMES = ("text/html", "text/markdown", "text/plain")
"""Output types a report shows; any other (JavaScript, SVG, LaTeX, widget views) is dropped."""
MAX_ERROR_CHARS = 200
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MAX_HEADLINES = 8
_ACRONYMS = {
    "auc": "AUC",
    "sql": "SQL",
    "sqls": "SQLs",
    "mql": "MQL",
    "mqls": "MQLs",
    "lvr": "LVR",
    "roi": "ROI",
    "cpa": "CPA",
    "srm": "SRM",
    "ci": "CI",
    "mde": "MDE",
    "abm": "ABM",
    "icp": "ICP",
    "sdr": "SDR",
    "id": "ID",
    "pct": "%",
    "n": "N",
}

STATUS_LABELS = {
    "success": ("Succeeded", "ok"),
    "failed": ("Failed", "bad"),
    "skipped": ("Not run", "muted"),
    "running": ("Running", "muted"),
}

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --ok:#1d7a46;
  --okbg:#e3f6ea; --bad:#b42318; --badbg:#fde8e6; --accent:#1f5fae; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0; }
a { color: var(--accent); }
.sub { color: var(--muted); margin: 0 0 20px; }
.badge { display:inline-block; padding:2px 10px; border-radius:999px; font-size:12px;
  font-weight:600; letter-spacing:.02em; vertical-align: middle; }
.badge.ok { color:var(--ok); background:var(--okbg); }
.badge.bad { color:var(--bad); background:var(--badbg); }
.badge.muted { color:var(--muted); background:var(--line); }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap:16px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 20px; }
.card header { display:flex; justify-content:space-between; align-items:center; gap:8px;
  margin-bottom:10px; }
.card .what { color:var(--muted); font-size:13px; margin:0 0 10px; }
.nums { width:100%; border-collapse:collapse; margin: 6px 0 12px; }
.nums td { padding:5px 0; border-bottom:1px solid var(--line); }
.nums td { padding-right: 12px; width: 50%; }
.nums td.v { text-align:right; font-weight:600; font-variant-numeric: tabular-nums;
  padding-right: 0; overflow-wrap: anywhere; }
.links a { margin-right: 14px; font-size: 14px; }
details.files { font-size: 14px; margin-top: 6px; }
details.files summary { cursor: pointer; color: var(--muted); }
details.files a { margin-right: 14px; }
.error { color:var(--bad); font-size:13px; overflow-wrap:anywhere; margin: 0 0 6px; }
.fix { font-size:13px; margin: 0 0 10px; overflow-wrap:anywhere; }
.failure p { margin: 0 0 12px; }
.failure h2 { margin: 14px 0 4px; font-size: 15px; }
.failure .error { font-size: 15px; }
table.runs { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line);
  border-radius:10px; overflow:hidden; }
table.runs th, table.runs td { padding:9px 12px; text-align:left; border-bottom:1px solid var(--line); }
table.runs th { background:#fafbfc; font-size:13px; color:var(--muted); font-weight:600; }
.foot { color:var(--muted); font-size:13px; margin-top:28px; }
.foot table { border-collapse:collapse; }
.foot td { padding: 2px 14px 2px 0; }
.answer-line { font-size:16px; line-height:1.45; margin: 0 0 10px; }
.more { margin: -6px 0 10px; font-size: 14px; }
.scroll { max-width: 100%; overflow-x: auto; }
ul.heads { margin: 0; padding-left: 16px; font-size: 13px; }
ul.heads li { margin: 0 0 2px; }
ul.heads .rep { color: var(--muted); }
img { max-width: 100%; height: auto; }
@media (max-width: 600px) {
  main { padding: 16px 10px 32px; }
  .cards { grid-template-columns: 1fr; }
  .card { padding: 14px 14px; }
}
@media print {
  @page { size: auto; margin: 14mm 12mm; }
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  .cards { display: block; }
  .card { break-inside: avoid; page-break-inside: avoid; margin-bottom: 12px; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  a[href]:not([href^="#"])::after { content: " (" attr(href) ")"; font-size: 90%;
    color: var(--muted); overflow-wrap: anywhere; }
}
"""

_REPORT_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --accent:#1f5fae; --answerbg:#f0f5fc; }
body { color: var(--ink); }
body, .jp-RenderedHTMLCommon, .jp-RenderedHTMLCommon p, .jp-RenderedHTMLCommon li {
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.55; }
main { max-width: 1100px; margin: 0 auto; padding: 8px 16px 40px; }
main, .jp-Cell, .jp-Cell-outputWrapper, .jp-OutputArea, .jp-OutputArea-child,
.jp-OutputArea-output { min-width: 0; max-width: 100%; }
.jp-OutputArea-output { overflow-wrap: break-word; }
.jp-RenderedHTMLCommon h1 { font-size: 28px; line-height: 1.25; }
.jp-RenderedHTMLCommon h2 { font-size: 21px; line-height: 1.3; }
.leadnb-bar { font: 14px/1.4 -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  background: #f5f7fa; border-bottom: 1px solid var(--line); padding: 10px 24px; color: var(--muted); }
.leadnb-bar a { color: var(--accent); margin-right: 16px; display: inline-block; }
.leadnb-scroll { max-width: 100%; overflow-x: auto; }
.leadnb-scroll > table { margin: 0; }
.jp-RenderedHTMLCommon table { max-width: none; font-size: 14px; }
img { max-width: 100%; height: auto; }
.jp-RenderedImage { max-width: 100%; }
.answer { background: var(--answerbg); border-left: 5px solid var(--accent); border-radius: 6px;
  padding: 14px 20px; margin: 4px 0 8px; font-size: 17px; }
.answer p { font-size: 17px; margin: 0 0 8px; }
.answer h2, .answer h3 { margin-top: 8px; }
.leadnb-text p { margin: 0 0 6px; white-space: normal; }
.leadnb-text .lvl1 { padding-left: 1.5em; } .leadnb-text .lvl2 { padding-left: 3em; }
.leadnb-text .lvl3 { padding-left: 4.5em; }
.leadnb-appendix { border-top: 2px solid var(--line); margin-top: 36px; padding-top: 8px; }
.leadnb-appendix > h2 { font: 600 21px/1.3 -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  margin: 12px 0 4px 0; padding-left: var(--jp-cell-padding, 5px); }
@media (max-width: 600px) {
  main { padding: 4px 6px 24px; }
  .leadnb-bar { padding: 8px 10px; }
  .answer { padding: 10px 12px; }
}
@media print {
  @page { size: auto; margin: 14mm 12mm; }
  body { background: #fff; }
  .leadnb-bar { display: none; }
  main { max-width: none; padding: 0; }
  .leadnb-scroll { overflow: visible; }
  .jp-RenderedHTMLCommon table { font-size: 10px; width: auto; max-width: 100%; }
  .jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 2px 4px; }
  thead { display: table-header-group; }
  tr, img, .jp-RenderedImage, .answer { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  a[href]:not([href^="#"])::after { content: " (" attr(href) ")"; font-size: 90%;
    color: var(--muted); overflow-wrap: anywhere; }
  .answer { background: none; border: 1px solid #999; }
}
"""
"""Report CSS: readable type; tables scroll in their own box (:func:`tidy_output_html` wraps
them) and images scale, so nothing is wider than a 400 px screen; a print stylesheet (no bar, no
clipped overflow, rows never split, headers repeated on each page, charts whole, link targets
written out)."""

_NOTEBOOK_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head -%}
{{ resources.leadnb_csp }}
{{ super() }}
{%- endblock html_head -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.leadnb_css }}</style>{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{%- if resources.leadnb_bar -%}<nav class="leadnb-bar">{{ resources.leadnb_bar }}</nav>{%- endif -%}
{%- endblock body_header -%}
{%- block any_cell scoped -%}
{%- set slots = cell.metadata.get('leadnb_slots', {}) -%}
{%- for name in slots.get('before', []) -%}{{ resources.leadnb_fragments.get(name, '') }}{%- endfor -%}
{{ super() }}
{%- for name in slots.get('after', []) -%}{{ resources.leadnb_fragments.get(name, '') }}{%- endfor -%}
{%- endblock any_cell -%}
{%- block data_png scoped -%}
{%- set alt = output | get_metadata('alt', 'image/png') -%}
{%- if alt -%}
{%- set width = output | get_metadata('width', 'image/png') -%}
<div class="jp-RenderedImage jp-OutputArea-output">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ alt | escape_html }}"{% if width is not none %} width="{{ width | escape_html }}"{% endif %}>
</div>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock data_png -%}
"""


# --------------------------------------------------------------------------------------------
# Notebook HTML


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The text of the notebook's first markdown heading, else ``default``."""
    found = _title_cell(nb.cells)
    if found is None:
        return default
    _, line = found
    return line.strip().lstrip("#").strip()


def _title_cell(cells: Sequence[Any]) -> tuple[int, str] | None:
    """(index of the first markdown cell with a heading, that heading line)."""
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith("#") and stripped.lstrip("#").strip():
                return i, line
    return None


def _tags(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def strip_for_readers(nb: nbformat.NotebookNode, *, changes: bool = False) -> nbformat.NotebookNode:
    """A copy of ``nb`` as readers see it: inert outputs, in the order a reader needs.

    Outputs are data (a company name, a variant name, an experiment id can be anything) and are
    made inert: ``text/html`` outputs are sanitised (:func:`leadnb.safe.sanitize_html`),
    ``text/markdown`` outputs are rendered with raw HTML escaped, printed text (streams and
    plain-text results) becomes escaped paragraphs in the report's font (:func:`text_to_html`;
    the executed ``.ipynb`` keeps its streams), images keep only their alt text, width and
    height (the template escapes them), and every other output type (JavaScript, SVG, LaTeX,
    widget views) is dropped, as are error outputs (a traceback is for analysts: it stays in the
    executed notebook). Tables are wrapped in a box that scrolls on a narrow screen
    (:func:`tidy_output_html`). No parameter cells, no notebook-level widget state. Markdown
    *cells* are the project's own text and stay as written.

    Order: the title heading; the output of the cells tagged ``answer`` (hoisted, wherever they
    are in the notebook); then, when ``changes`` is true, a slot the renderer fills with "what
    changed"; then every other cell in order (the evidence); then the cells tagged
    ``appendix`` under a heading "How this was computed". Only the first element
    ``id="answer"`` of an ``answer`` cell keeps its id: data elsewhere cannot fake the answer.
    A notebook without ``answer`` and ``appendix`` cells keeps its order.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    >>> answer = new_code_cell("show_answer()", metadata={"tags": ["answer"]}, outputs=[
    ...     new_output("display_data", data={"text/html": '<section id="answer">Yes.</section>'})])
    >>> nb = new_notebook(cells=[new_markdown_cell("# Title\\nIntro."),
    ...     new_code_cell("x", outputs=[new_output("stream", name="stdout", text="a < b\\n")]),
    ...     answer])
    >>> [c.source.splitlines()[0] for c in strip_for_readers(nb).cells]
    ['# Title', 'show_answer()', 'Intro.', 'x']
    >>> strip_for_readers(nb).cells[3].outputs[0].data["text/html"]
    '<div class="leadnb-text"><p>a &lt; b</p></div>'
    """
    out = copy.deepcopy(nb)
    kept = []
    answer_seen = False
    for cell in out.cells:
        tags = _tags(cell)
        if any(t in HIDDEN_CELL_TAGS for t in tags):
            continue
        cell.metadata.pop(_SLOT_KEY, None)  # only this function places the trusted slots
        if cell.cell_type == "code":
            keep_answer = ANSWER_TAG in tags and not answer_seen
            outputs = []
            for o in _streams_joined(cell.get("outputs", [])):
                clean = _inert_output(o, keep_answer=keep_answer)
                if clean is None:
                    continue
                if keep_answer and _has_answer_id(clean):
                    keep_answer, answer_seen = False, True
                outputs.append(clean)
            cell.outputs = outputs
        kept.append(cell)
    out.cells = _reader_order(kept, changes=changes)
    out.metadata.pop("widgets", None)
    return out


def _streams_joined(outputs: Sequence[Any]) -> list[Any]:
    """``outputs`` with each run of printed text in a row (stream outputs of the same name, one
    after the other) as one output: the kernel sends what a cell printed every 0.2 s, so a cell
    that prints, computes and prints again has its text in one output or two depending on the
    machine's speed, and the report would show one block of text or two. Text printed on
    either side of a chart or a table stays on its side.

    >>> from nbformat.v4 import new_output
    >>> outs = [new_output("stream", name="stdout", text="a\\n"),
    ...         new_output("stream", name="stdout", text="b\\n"),
    ...         new_output("display_data", data={"text/plain": "chart"}),
    ...         new_output("stream", name="stdout", text="c\\n")]
    >>> [o.get("text", "chart") for o in _streams_joined(outs)]
    ['a\\nb\\n', 'chart', 'c\\n']
    """
    joined: list[Any] = []
    for o in outputs:
        last = joined[-1] if joined else None
        if (
            last is not None
            and o.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and o.get("name") == last.get("name")
        ):
            last["text"] = _joined(last.get("text", "")) + _joined(o.get("text", ""))
        else:
            joined.append(copy.copy(o) if o.get("output_type") == "stream" else o)
    return joined


def _reader_order(cells: list[Any], *, changes: bool) -> list[Any]:
    """Title, answer cells, (changes slot), the other cells, appendix cells (see
    :func:`strip_for_readers`); slots are recorded in each cell's ``leadnb_slots`` metadata."""
    answers = [c for c in cells if ANSWER_TAG in _tags(c)]
    appendix = [c for c in cells if APPENDIX_TAG in _tags(c) and ANSWER_TAG not in _tags(c)]
    if not answers and not appendix and not changes:
        return cells
    chosen = {id(c) for c in answers + appendix}
    rest = [c for c in cells if id(c) not in chosen]
    head: list[Any] = []
    found = _title_cell(rest)
    if found is not None and (answers or changes):
        i, line = found
        title_cell = rest[i]
        lines = title_cell.source.splitlines()
        at = lines.index(line)
        before, after = lines[: at + 1], lines[at + 1 :]
        title_cell.source = "\n".join(before)
        head = [title_cell]
        tail = "\n".join(after).strip("\n")
        # a fixed id (not nbformat's random one): the same notebook gives the same page
        own = _cell_id(title_cell.get("id"), "-intro")
        remainder = [nbformat.v4.new_markdown_cell(tail, id=own)] if tail.strip() else []
        rest = rest[:i] + remainder + rest[i + 1 :]
    ordered = head + answers
    if changes:
        anchor = ordered[-1] if ordered else (rest[0] if rest else None)
        if anchor is None:
            anchor = nbformat.v4.new_markdown_cell("", id="leadnb-changes")
            rest = [anchor]
        where = "after" if ordered else "before"
        _slot(anchor, where, "changes")
    ordered += rest
    if appendix:
        _slot(appendix[0], "before", "appendix_open")
        _slot(appendix[-1], "after", "appendix_close")
        ordered += appendix
    return ordered


def _cell_id(base: Any, suffix: str) -> str:
    """A cell id made from ``base`` (a cell's id, else "leadnb") and ``suffix``, within
    nbformat's 64 characters.

    >>> _cell_id("a1b2c3d4", "-intro"), _cell_id(None, "-intro"), len(_cell_id("x" * 64, "-i"))
    ('a1b2c3d4-intro', 'leadnb-intro', 64)
    """
    text = base if isinstance(base, str) and base else "leadnb"
    return text[: 64 - len(suffix)] + suffix


def _slot(cell: Any, where: str, name: str) -> None:
    slots = cell.metadata.setdefault(_SLOT_KEY, {})
    slots.setdefault(where, []).append(name)


def _has_answer_id(output: Any) -> bool:
    text = output.get("data", {}).get("text/html", "")
    return isinstance(text, str) and re.search(r"\bid=\"answer\"", text) is not None


def text_to_html(text: str) -> str:
    """Printed text as escaped paragraphs in the report's font: one ``<p>`` per non-empty line,
    indentation kept as a level (two spaces or a tab each, at most three).

    >>> text_to_html("Verdict: <b>ship</b>\\n\\n  n = 1,200\\n")
    '<div class="leadnb-text"><p>Verdict: &lt;b&gt;ship&lt;/b&gt;</p><p class="lvl1">n = 1,200</p></div>'
    """
    paragraphs = []
    for raw in _ANSI.sub("", text).splitlines():
        line = raw.expandtabs(2)
        body = line.strip()
        if not body:
            continue
        level = min((len(line) - len(line.lstrip(" "))) // 2, 3)
        cls = f' class="lvl{level}"' if level else ""
        paragraphs.append(f"<p{cls}>{safe.escape(body)}</p>")
    return f'<div class="leadnb-text">{"".join(paragraphs)}</div>'


def tidy_output_html(fragment: str, *, keep_answer: bool = False) -> str:
    """A sanitised output fragment made fit for a page: every outermost ``<table>`` wrapped in a
    ``<div class="leadnb-scroll">`` (it scrolls inside its own box on a narrow screen instead
    of widening the page), and ``id="answer"`` removed unless ``keep_answer`` (then only the
    first one stays, as the ``<section>`` the answer cell wrote), with the class ``answer``
    when no answer is kept there.

    >>> tidy_output_html('<p id="answer" class="answer">fake</p><table><tr><td>1</td></tr></table>')
    '<p>fake</p><div class="leadnb-scroll"><table><tr><td>1</td></tr></table></div>'
    >>> tidy_output_html('<div id="answer" class="answer">Yes.</div>', keep_answer=True)
    '<section class="answer" id="answer">Yes.</section>'
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    kept = False
    for el in soup.find_all(id=True):
        if str(el.get("id", "")).strip().lower() != "answer":
            continue
        if keep_answer and not kept and el["id"] == "answer":
            kept = True
            el.name = "section"
        else:
            del el["id"]
    if not kept:  # nor may data look like the answer
        for el in soup.find_all(class_="answer"):
            el["class"] = [c for c in el.get("class", []) if c != "answer"] or None
            if el["class"] is None:
                del el["class"]
    for table in soup.find_all("table"):
        if table.find_parent("table") is not None:
            continue
        parent = table.parent
        if parent is not None and "leadnb-scroll" in (parent.get("class") or []):
            continue
        table.wrap(soup.new_tag("div", attrs={"class": "leadnb-scroll"}))
    return str(soup)


def _inert_output(
    output: nbformat.NotebookNode, *, keep_answer: bool = False
) -> nbformat.NotebookNode | None:
    """One output as a reader may see it (see :func:`strip_for_readers`); None to drop it."""
    kind = output.get("output_type")
    if kind == "stream":
        text = _joined(output.get("text", ""))
        if not text.strip():
            return None
        return nbformat.v4.new_output(
            "display_data", data={"text/html": text_to_html(text), "text/plain": text}
        )
    if kind not in ("display_data", "execute_result"):
        return None  # error outputs: tracebacks and code never reach a stakeholder
    data = output.get("data", {})
    if WIDGET_MIME in data:
        return None
    clean: dict[str, Any] = {}
    for mime in IMAGE_MIMES:
        if isinstance(data.get(mime), str):
            clean[mime] = data[mime]
    if isinstance(data.get("text/html"), str | list):
        clean["text/html"] = safe.sanitize_html(_sections_as_divs(_joined(data["text/html"])))
    elif isinstance(data.get("text/markdown"), str | list):
        clean["text/html"] = safe.markdown_to_safe_html(_joined(data["text/markdown"]))
    if "text/html" in clean:
        clean["text/html"] = tidy_output_html(clean["text/html"], keep_answer=keep_answer)
    if isinstance(data.get("text/plain"), str | list):
        clean["text/plain"] = _joined(data["text/plain"])
        if not any(m in clean for m in (*IMAGE_MIMES, "text/html")):
            clean["text/html"] = text_to_html(clean["text/plain"])  # never a <pre> block
    if not clean:
        return None
    output.data = nbformat.NotebookNode(clean)
    meta: dict[str, Any] = {}
    for mime in IMAGE_MIMES:
        m = output.get("metadata", {}).get(mime, {})
        if mime in clean and isinstance(m, dict):
            kept = {k: m[k] for k in ("alt",) if isinstance(m.get(k), str)}
            kept |= {k: int(m[k]) for k in ("width", "height") if _whole(m.get(k))}
            if kept:
                meta[mime] = kept
    output.metadata = nbformat.NotebookNode(meta)
    return output


def _sections_as_divs(fragment: str) -> str:
    """``<section>`` elements as ``<div>`` (same attributes), which the sanitiser keeps; the
    answer's own ``<section id="answer">`` is restored by :func:`tidy_output_html`."""
    if "<section" not in fragment.lower():
        return fragment
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for el in soup.find_all("section"):
        el.name = "div"
    return str(soup)


def _joined(text: str | list[str]) -> str:
    return text if isinstance(text, str) else "".join(str(t) for t in text)


def _whole(value: Any) -> bool:
    """A width or height the template may write unquoted: a non-negative whole number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and value.isdigit() and value.isascii()


CHANGES_SLOT = "<!--leadnb:changes-->"
"""Where "what changed" goes in a report rendered before the comparison with the previous run
is known (an HTML comment: invisible when nothing changed). Outputs cannot contain it: their
HTML is sanitised (comments removed) and their text escaped."""


def _changes_div(changes_html: str) -> str:
    return f'<div class="leadnb-changes">{changes_html}</div>'


def fill_changes(page: str, changes_html: str) -> str | None:
    """``page`` with "what changed" (trusted HTML) in its :data:`CHANGES_SLOT`, or ``None`` when
    the page has no slot (render it again with ``changes_html`` instead).

    >>> fill_changes(f"<h1>T</h1>{CHANGES_SLOT}<p>x</p>", "<p>AUC up</p>")
    '<h1>T</h1><div class="leadnb-changes"><p>AUC up</p></div><p>x</p>'
    >>> fill_changes("<h1>T</h1>", "<p>AUC up</p>") is None
    True
    """
    if CHANGES_SLOT not in page:
        return None
    return page.replace(CHANGES_SLOT, _changes_div(changes_html), 1)


def render_notebook_html(
    nb: nbformat.NotebookNode, *, title: str, bar_html: str = "", changes_html: str = ""
) -> str:
    """Render an executed notebook as one self-contained HTML page with all code hidden.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (not modified).
    title : str
        The page title.
    bar_html : str, optional
        Trusted HTML shown in a bar at the top (links back to the run index and to the
        notebook for analysts); hidden in print.
    changes_html : str, optional
        Trusted HTML "what changed since last week", shown right after the answer (after the
        title when there is no answer cell). When empty, a report with an answer keeps
        :data:`CHANGES_SLOT` there, which :func:`fill_changes` fills later without rendering
        the notebook again.

    Returns
    -------
    str
        The page: the title heading, the answer, the changes, the evidence, the appendix "How
        this was computed" (see :func:`strip_for_readers`), with inline CSS for screens from
        400 px wide and for print, and the Content-Security-Policy :data:`leadnb.safe.CSP` (no
        script runs, even one that got in).
    """
    exporter = _exporter()
    has_answer = any(ANSWER_TAG in _tags(c) for c in nb.cells)
    clean = strip_for_readers(nb, changes=bool(changes_html) or has_answer)
    clean.metadata["title"] = title
    fragments = {
        "changes": _changes_div(changes_html) if changes_html else CHANGES_SLOT,
        "appendix_open": (
            f'<section class="leadnb-appendix" id="appendix"><h2>{APPENDIX_TITLE}</h2>'
        ),
        "appendix_close": "</section>",
    }
    body, _ = exporter.from_notebook_node(
        clean,
        resources={
            "metadata": {"name": title},
            "leadnb_bar": bar_html,
            "leadnb_csp": safe.CSP_META,
            "leadnb_css": _REPORT_CSS,
            "leadnb_fragments": fragments,
        },
    )
    return body


def warm_up_renderer() -> bool:
    """Render a small report in memory, so that the process's first real render does not pay
    for what every first render compiles (nbconvert's exporter and Jinja templates, the
    sanitiser's and BeautifulSoup's parsers and selectors, Markdown, nbformat's validator):
    about 0.4 s of a worker's first report, which a run worker does here while it waits for
    its first kernel (:func:`leadnb.run.warm.run_warm_worker`). Returns whether it rendered;
    it never raises (the first real render then compiles them itself).

    >>> warm_up_renderer()
    True
    """
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    def shown(html_text: str) -> Any:
        return new_output("display_data", data={"text/html": html_text, "text/plain": "t"})

    table = "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    image = new_output("display_data", data={"image/png": "AAAA", "text/plain": "chart"})
    image.metadata = {"image/png": {"alt": "chart", "width": 1}}
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Report\n\nWhat it *answers*."),
            new_code_cell(
                "a",
                metadata={"tags": [ANSWER_TAG]},
                outputs=[shown('<section id="answer">Yes.</section>')],
            ),
            new_markdown_cell("## Evidence"),
            new_code_cell(
                "b",
                outputs=[new_output("stream", name="stdout", text="n = 1\n"), shown(table), image],
            ),
            new_code_cell("c", metadata={"tags": [APPENDIX_TAG]}, outputs=[shown("<p>How.</p>")]),
        ]
    )
    try:
        nbformat.validate(nb)
        render_notebook_html(nb, title="Report")
    except Exception:  # a warm-up only: the real render reports real problems
        return False
    return True


@functools.cache
def _exporter() -> Any:
    """The report exporter, made once per process: a new ``HTMLExporter`` builds a new Jinja
    environment and compiles its templates again (a sixth of a report's render). Each call of
    ``from_notebook_node`` gets its own resources, so renders never share state."""
    import jinja2
    from nbconvert import HTMLExporter

    class ReportExporter(HTMLExporter):  # type: ignore[misc]
        """nbconvert's HTML exporter whose last step, a BeautifulSoup round trip of the page
        for three CSS selectors, is :func:`_accessible` instead (see there)."""

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            import nbconvert.exporters.html as module

            saved = getattr(module, "BeautifulSoup", None)
            module.BeautifulSoup = _Verbatim
            try:
                page, resources = super().from_notebook_node(nb, resources, **kw)
            finally:
                if saved is not None:
                    module.BeautifulSoup = saved
            return _accessible(page), resources

    return ReportExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"leadnb_report.html.j2": _NOTEBOOK_TEMPLATE})],
        template_file="leadnb_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        # the notebook is checked once, after the preprocessors, not after each of the twelve
        # (0.15 s of a report's render): they only drop cells and add CSS
        optimistic_validation=True,
    )


class _Verbatim:
    """What nbconvert's HTML exporter gets for its BeautifulSoup during a report's render: the
    page as it is, and no element for any selector (:func:`_accessible` does that work)."""

    def __init__(self, markup: str, features: str | None = None) -> None:
        self.markup = markup

    def select(self, selector: str) -> list[Any]:
        return []

    def __str__(self) -> str:
        return self.markup


_START_TAG = re.compile(r"""<(img|div)\b((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""\s([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
NO_ALT = "No description has been provided for this image"
"""nbconvert's alt text for an image without one (every chart of a report has its own)."""


def _accessible(page: str) -> str:
    """What nbconvert's HTML exporter does last, without parsing the page: an ``alt`` for every
    ``<img>`` without one, and ``tabindex="0"`` on the cells' input and output boxes (``div``
    of class ``jp-Cell-inputWrapper`` or ``jp-OutputArea-output``), so a keyboard reaches them.

    nbconvert parses the whole page (about 2 MB with its charts) with BeautifulSoup for three
    CSS selectors and writes it out again: 0.11 s a report, and 0.2-0.5 s more the first time
    in a process, to compile soupsieve's selector parser. The page from this function has the
    same elements and attributes as nbconvert's (tested on the reports: the same page once both
    are parsed), in the page's own spelling.

    >>> _accessible('<div class="a jp-OutputArea-output" id="x"><img src="c.png"></div>')
    '<div class="a jp-OutputArea-output" id="x" tabindex="0"><img src="c.png" alt="No description has been provided for this image"></div>'
    >>> _accessible('<div class="jp-OutputArea-output" tabindex="-1"><img alt="" src="c.png"></div>')
    '<div class="jp-OutputArea-output" tabindex="0"><img alt="" src="c.png"></div>'
    """

    def fix(match: re.Match[str]) -> str:
        tag, attrs = match.group(1), match.group(2)
        names = {m.group(1).lower(): m for m in _ATTRIBUTE.finditer(attrs)}
        closing = "/" if attrs.rstrip().endswith("/") else ""
        body = attrs.rstrip()[:-1] if closing else attrs
        if tag.lower() == "img":
            if "alt" in names:
                return match.group(0)
            return f'<{tag}{body.rstrip()} alt="{NO_ALT}"{closing}>'
        found = names.get("class")
        classes = html.unescape((found.group(2) or "").strip("\"'")).split() if found else []
        if "jp-OutputArea-output" not in classes and "jp-Cell-inputWrapper" not in classes:
            return match.group(0)
        had = names.get("tabindex")
        if had is not None:
            start, end = had.span()
            body = body[:start] + ' tabindex="0"' + body[end:]
            return f"<{tag}{body}{closing}>"
        return f'<{tag}{body.rstrip()} tabindex="0"{closing}>'

    return _START_TAG.sub(fix, page)


# --------------------------------------------------------------------------------------------
# Metrics formatting


def metric_label(key: str) -> str:
    """``"auc_ci_low"`` -> ``"AUC CI low"``; ``"conversion_rate"`` -> ``"Conversion rate"``."""
    words = [w for w in key.replace("-", "_").split("_") if w]
    if len(words) == 2 and words[0].lower() == "n" and words[1].endswith("s"):
        words = words[1:]  # n_leads -> Leads (but n_control stays "N control")
    out = [_ACRONYMS.get(w.lower(), w) for w in words]
    if not out:
        return key
    first = out[0]
    out[0] = first if first.isupper() or first == "%" else first[:1].upper() + first[1:]
    return " ".join(out)


def _ci_prefix(key: str, metrics: Mapping[str, Any]) -> str | None:
    """The ``P`` of ``P_ci_low``/``P_ci_high`` that belong to ``key`` (``key`` itself, or
    ``key`` without a ``_rate``/``_pct``/``_value`` ending)."""
    candidates = [key] + [
        key[: -len(end)] for end in ("_rate", "_pct", "_value") if key.endswith(end)
    ]
    for p in candidates:
        if f"{p}_ci_low" in metrics and f"{p}_ci_high" in metrics:
            return p
    return None


def headline_items(
    metrics: Mapping[str, Any],
    kinds: Mapping[str, Kind | str] | None = None,
    limit: int = MAX_HEADLINES,
) -> list[tuple[str, str]]:
    """(label, formatted value) pairs for a metrics dict: scalars only, at most ``limit``.

    Each number is formatted from its declared kind (``kinds``, from the notebook's
    ``metric_kinds.json``; see :mod:`leadnb.results`), never guessed from its name; a number
    without a declared kind is shown with three significant digits. A notebook chooses what its
    card shows with a ``"headline"`` list of keys in its ``metrics.json``; without one, the first
    ``limit`` scalars are shown in file order. ``P_ci_low``/``P_ci_high`` are shown with ``P``
    (or ``P_rate``) as ``value [low – high]``. A notebook names its numbers with a ``"labels"``
    mapping in ``metrics.json``; a number without a declared label gets one from its key.

    >>> headline_items({"roi": 3.128, "n_leads": 500}, {"roi": "multiplier", "n_leads": "count"})
    [('ROI', '3.13×'), ('Leads', '500')]
    >>> headline_items({"p90": 0.026, "labels": {"p90": "Reach SQL within 90 days"}}, {"p90": "rate"})
    [('Reach SQL within 90 days', '2.6%')]
    """
    kinds = kinds or {}
    declared = metrics.get("labels")
    labels = {k: str(v) for k, v in declared.items()} if isinstance(declared, Mapping) else {}
    scalar = {
        k: v for k, v in metrics.items() if v is None or isinstance(v, int | float | str | bool)
    }
    chosen = metrics.get("headline")
    if isinstance(chosen, list) and chosen:
        keys = [k for k in chosen if isinstance(k, str) and k in scalar]
    else:
        keys = list(scalar)
    prefixes = {k: _ci_prefix(k, scalar) for k in keys}
    paired = {f"{p}_ci_{end}" for p in prefixes.values() if p for end in ("low", "high")}
    items: list[tuple[str, str]] = []
    for k in keys:
        if k in paired:
            continue
        p = prefixes[k]
        lo, hi = (scalar.get(f"{p}_ci_low"), scalar.get(f"{p}_ci_high")) if p else (None, None)
        label = labels.get(k) or metric_label(k)
        items.append((label, format_interval(scalar[k], lo, hi, kinds.get(k))))
        if len(items) >= limit:
            break
    return items


# --------------------------------------------------------------------------------------------
# Run index and outputs index


def _badge(status: str) -> str:
    label, cls = STATUS_LABELS.get(status, (status.title(), "muted"))
    return f'<span class="badge {cls}">{html.escape(label)}</span>'


def standalone_page(title: str, body: str) -> str:
    """A self-contained page in the index pages' style: ``body`` is trusted HTML (escape data
    in it first); the title is escaped; the page carries the Content-Security-Policy."""
    return _page(title, body)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"{safe.CSP_META}\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _href(path: str) -> str:
    """A relative link, each path segment URL-quoted."""
    from urllib.parse import quote

    return html.escape(quote(path), quote=True)


def _date_text(iso: str | None) -> str:
    if not iso:
        return "–"
    return iso.replace("T", " ")[:16]


def answer_sentence(metrics: Mapping[str, Any]) -> str | None:
    """The first sentence of a report's answer (``metrics.json`` ``"answer"[0]``), if any.

    >>> answer_sentence({"answer": ["The score barely predicts conversion.", "More."]})
    'The score barely predicts conversion.'
    >>> answer_sentence({"answer": []}) is None, answer_sentence({}) is None
    (True, True)
    """
    answer = metrics.get("answer")
    if isinstance(answer, str):
        answer = [answer]
    if isinstance(answer, list) and answer and isinstance(answer[0], str) and answer[0].strip():
        return answer[0].strip()
    return None


def number_count(metrics: Mapping[str, Any]) -> int:
    """How many numbers a report's ``metrics.json`` holds, an interval counted with its value.

    >>> number_count({"auc": 0.7, "auc_ci_low": 0.6, "auc_ci_high": 0.8, "n": 5, "note": "x"})
    2
    """
    numbers = {
        k: v
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "headline"
    }
    bounds = set()
    for k in numbers:
        p = _ci_prefix(k, numbers)
        if p:
            bounds |= {f"{p}_ci_low", f"{p}_ci_high"} - {k}
    return len([k for k in numbers if k not in bounds])


def _failure_line(name: str, entry: Mapping[str, Any]) -> str:
    """``"<name> failed: <one-line reason>"``, escaped: which notebook failed and why."""
    reason = one_line(entry.get("error")) or "the report could not be produced"
    return html.escape(f"{name} failed: {reason}")


def render_run_index(
    manifest: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Any]],
    titles: Mapping[str, str] | None = None,
    tables: Mapping[str, Sequence[str]] | None = None,
    kinds: Mapping[str, Mapping[str, Kind | str]] | None = None,
    *,
    changes_html: str = "",
) -> str:
    """The page a stakeholder opens first: every report of one run, its answer and key numbers.

    Parameters
    ----------
    manifest : mapping
        The run's ``manifest.json`` content.
    metrics : mapping of str to mapping
        Notebook name -> its ``metrics.json`` content.
    titles : mapping of str to str, optional
        Notebook name -> the report's title.
    tables : mapping of str to sequence of str, optional
        Notebook name -> the CSV file names it wrote.
    kinds : mapping of str to mapping, optional
        Notebook name -> its ``metric_kinds.json`` (how each number is shown).
    changes_html : str, optional
        Trusted HTML "what changed since the last run", shown above the cards.

    Returns
    -------
    str
        The page. Each card: the title and status; for a failed report, which notebook failed
        and why (one line, never a traceback) and the fix; the answer's first sentence
        (:func:`answer_sentence`, escaped); the first :data:`CARD_NUMBERS` numbers of its
        ``headline`` list formatted from their declared kinds, with a link "all N numbers" to
        the report; links to the report and the notebook for analysts, and the CSVs folded under
        "N tables behind it" (CSV, and Parquet for per-lead tables). Links are relative to the
        run folder.
    """
    kinds = kinds or {}
    titles = titles or {}
    tables = tables or {}
    name = str(manifest.get("name", "leadnb"))
    cards = []
    for entry in manifest.get("notebooks", []):
        nbname = entry["name"]
        status = entry.get("status", "skipped")
        title = titles.get(nbname) or metric_label(nbname)
        seconds = entry.get("seconds")
        timing = f" · {seconds:.0f} s" if isinstance(seconds, int | float) else ""
        nb_metrics = metrics.get(nbname, {})
        with display_currency(run_currency(manifest)):
            items = headline_items(nb_metrics, kinds.get(nbname), limit=CARD_NUMBERS)
        rows = "".join(
            f'<tr><td>{html.escape(label)}</td><td class="v">{html.escape(text)}</td></tr>'
            for label, text in items
        )
        nums = f'<table class="nums">{rows}</table>' if rows else ""
        total = number_count(nb_metrics)
        failed = status == "failed"
        if rows and entry.get("html") and not failed and total > len(items):
            nums += f'<p class="more"><a href="{_href(entry["html"])}">all {total} numbers</a></p>'
        sentence = answer_sentence(nb_metrics)
        answer = f'<p class="answer-line">{html.escape(sentence)}</p>' if sentence else ""
        err_html = ""
        if failed or entry.get("error"):
            err_html = f'<p class="error">{_failure_line(nbname, entry)}</p>'
            fix = one_line(entry.get("fix"))
            if fix:
                err_html += f'<p class="fix"><b>Fix:</b> {html.escape(fix)}</p>'
        links = []
        if entry.get("html"):
            label = "What went wrong" if failed else "Open report"
            links.append(f'<a href="{_href(entry["html"])}"><b>{label}</b></a>')
        if failed and entry.get("log"):
            links.append(f'<a href="{_href(entry["log"])}">Run log</a>')
        if entry.get("ipynb"):
            links.append(f'<a href="{_href(entry["ipynb"])}">{NOTEBOOK_LINK_LABEL}</a>')
        csvs = tables.get(nbname, [])
        files = ""
        if csvs:
            files = (
                f'<details class="files"><summary>{len(csvs)} table'
                f"{'s' if len(csvs) != 1 else ''} behind it ({_formats(csvs)})</summary>"
                + " ".join(
                    f'<a href="{_href(nbname + "/" + c)}">{html.escape(c)}</a>' for c in csvs
                )
                + "</details>"
            )
        cards.append(
            f'<section class="card" id="{html.escape(nbname)}"><header><h2>{html.escape(title)}</h2>'
            f"{_badge(status)}</header>"
            f'<p class="what">{html.escape(nbname)}{timing}</p>{err_html}{answer}{nums}'
            f'<div class="links">{" ".join(links)}</div>{files}</section>'
        )
    inputs = "".join(
        f"<tr><td>{html.escape(str(i.get('table', '')))}</td>"
        f"<td>{format_value(i['rows'], Kind.COUNT) + ' rows' if i.get('rows') is not None else ''}</td>"
        f"<td><code>{html.escape(str(i.get('sha256', ''))[:12])}</code></td></tr>"
        for i in manifest.get("inputs", [])
    )
    overall = str(manifest.get("status", "failed"))
    changes = f'<div class="changes">{changes_html}</div>' if changes_html else ""
    body = (
        f"<h1>Lead analytics: {html.escape(name)} {_badge(overall)}</h1>"
        f'<p class="sub">Data as of <b>{html.escape(str(manifest.get("as_of", "")))}</b> · run '
        f"{html.escape(str(manifest.get('run_id', '')))} · finished "
        f"{html.escape(_date_text(manifest.get('finished_at')))} · "
        f'<a href="../index.html">all runs</a></p>{changes}'
        f'<div class="cards">{"".join(cards)}</div>'
        f'<div class="foot"><p>Inputs</p><div class="scroll"><table>{inputs}</table></div>'
        f'<p><a href="manifest.json">manifest.json</a> lists parameters, input fingerprints and '
        f"package versions.</p></div>"
    )
    return _page(f"Lead analytics: {name}, as of {manifest.get('as_of', '')}", body)


def _formats(files: list[str]) -> str:
    """The file formats of a card's tables, in words: "CSV", "CSV, Parquet".

    >>> _formats(["a.csv", "scores.parquet"]), _formats(["a.csv"])
    ('CSV, Parquet', 'CSV')
    """
    kinds = {f.rsplit(".", 1)[-1].lower() for f in files}
    return ", ".join(n for ext, n in (("csv", "CSV"), ("parquet", "Parquet")) if ext in kinds)


def subset_notebooks(manifest: Mapping[str, Any]) -> list[str] | None:
    """The notebooks of a run that was not a full report set (``None`` for a full one).

    A run is full when its ``options.notebooks`` (else its notebook entries) include all of
    :data:`leadnb.data.params.NOTEBOOKS`.
    """
    options = manifest.get("options")
    chosen = options.get("notebooks") if isinstance(options, Mapping) else None
    if not isinstance(chosen, list | tuple):
        chosen = [e.get("name") for e in manifest.get("notebooks", []) if isinstance(e, Mapping)]
    names = [str(n) for n in chosen if n]
    if set(NOTEBOOKS) <= set(names):
        return None
    return names


def run_currency(manifest: Mapping[str, Any]) -> str | None:
    """The run's ``run.currency`` from its manifest's params (None when not set).

    >>> run_currency({"params": {"run": {"currency": "EUR"}}}), run_currency({})
    ('EUR', None)
    """
    params = manifest.get("params")
    run = params.get("run") if isinstance(params, Mapping) else None
    code = run.get("currency") if isinstance(run, Mapping) else None
    return code if isinstance(code, str) and code else None


def _run_summary(
    manifest: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Any]],
    kinds: Mapping[str, Mapping[str, Kind | str]],
) -> str:
    """One run's reports in the all-runs index: a few headline numbers of each succeeded report,
    and for each failed one which notebook failed and why (escaped HTML)."""
    parts = []
    for entry in manifest.get("notebooks", []):
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        nbname = str(entry["name"])
        label = html.escape(str(entry.get("title") or metric_label(nbname)))
        if entry.get("status") == "failed":
            parts.append(f'<li class="error">{_failure_line(nbname, entry)}</li>')
            continue
        numeric = {
            k: v
            for k, v in metrics.get(nbname, {}).items()
            if k in ("headline", "labels")
            or (isinstance(v, int | float) and not isinstance(v, bool))
        }  # numbers only: an experiment id is no headline number
        with display_currency(run_currency(manifest)):
            items = headline_items(numeric, kinds.get(nbname), limit=RUNS_INDEX_NUMBERS)
        if items:
            nums = " · ".join(f"{html.escape(k)} <b>{html.escape(v)}</b>" for k, v in items)
            parts.append(f'<li><span class="rep">{label}</span><br>{nums}</li>')
    return f'<ul class="heads">{"".join(parts)}</ul>' if parts else ""


def render_outputs_index(
    manifests: Iterable[Mapping[str, Any]],
    latest: str | None = None,
    *,
    metrics: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    kinds: Mapping[str, Mapping[str, Mapping[str, Kind | str]]] | None = None,
) -> str:
    """All runs, newest first, with status, headline numbers and a link to each run's index.

    Parameters
    ----------
    manifests : iterable of mapping
        The ``manifest.json`` of every run.
    latest : str, optional
        The id of the run ``latest/`` points at (shown with a link).
    metrics, kinds : mapping, optional
        Run id -> notebook name -> its ``metrics.json`` / ``metric_kinds.json``.

    Returns
    -------
    str
        The page. Each run: its id (linked), analysis date, start, reports, status, and per
        report the first :data:`RUNS_INDEX_NUMBERS` headline numbers formatted from their
        kinds, or which notebook failed and why (one line). A run of only some of the notebooks
        says so ("Partial run: 2 of 4 reports: ab_testing, nurture_roi"), so nobody takes it for
        a full report set.
    """
    metrics = metrics or {}
    kinds = kinds or {}
    ordered = sorted(
        manifests,
        key=lambda m: (str(m.get("started_at", "")), str(m.get("run_id", ""))),
        reverse=True,
    )
    rows = []
    for m in ordered:
        rid = str(m.get("run_id", ""))
        nbs = m.get("notebooks", [])
        ok = sum(1 for e in nbs if e.get("status") == "success")
        mark = " <small>(latest)</small>" if latest and rid == latest else ""
        reports = f"{ok}/{len(nbs)} reports"
        subset = subset_notebooks(m)
        if subset is not None:
            reports += (
                f'<br><small class="subset">Partial run: {len(subset)} of {len(NOTEBOOKS)} '
                f"reports: {html.escape(', '.join(subset))}</small>"
            )
        summary = _run_summary(m, metrics.get(rid, {}), kinds.get(rid, {}))
        rows.append(
            f'<tr><td><a href="{_href(rid + "/index.html")}">{html.escape(rid)}</a>{mark}</td>'
            f"<td>{html.escape(str(m.get('as_of', '')))}</td>"
            f"<td>{html.escape(_date_text(m.get('started_at')))}</td>"
            f"<td>{reports}</td><td>{_badge(str(m.get('status', 'failed')))}</td>"
            f"<td>{summary}</td></tr>"
        )
    latest_line = (
        f'<p class="sub">Latest successful report (newest analysis date): <a href="latest/index.html">{html.escape(latest)}</a></p>'
        if latest
        else '<p class="sub">No successful run yet.</p>'
    )
    table = (
        '<div class="scroll"><table class="runs"><tr><th>Run</th><th>Data as of</th>'
        "<th>Started</th><th>Reports</th><th>Status</th><th>Headline numbers</th></tr>"
        f"{''.join(rows)}</table></div>"
        if rows
        else "<p>No runs yet.</p>"
    )
    return _page("leadnb runs", f"<h1>Lead analytics runs</h1>{latest_line}{table}")


def one_line(text: Any, limit: int = MAX_ERROR_CHARS) -> str:
    """The one line of an error a stakeholder may see: never a traceback, at most ``limit`` chars.

    The first non-empty line, or the last one when the text is a Python traceback (its
    ``ValueError: ...`` line), whitespace collapsed, cut at ``limit`` with an ellipsis.

    >>> one_line("Traceback (most recent call last):\\n  File 'x.py'\\nValueError: bad date")
    'ValueError: bad date'
    """
    if text is None:
        return ""
    plain = _ANSI.sub("", str(text))  # terminal colours from a kernel's traceback
    lines = [ln.strip() for ln in plain.splitlines() if ln.strip()]
    if not lines:
        return ""
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def render_failure_page(
    *,
    notebook: str,
    title: str,
    reason: str,
    fix: str,
    log_href: str,
    ipynb_href: str | None,
) -> str:
    """The page a stakeholder sees instead of a report that failed (``<notebook>/<notebook>.html``).

    Which report failed, the one-line reason, the fix, a link to the run log and (when it was
    kept) to the executed notebook for analysts. Never a traceback or code: ``reason`` and
    ``fix`` are cut to one line each (:func:`one_line`). Same look and Content-Security-Policy
    as the run index; links are relative to the notebook's folder.
    """
    name = title or metric_label(notebook)
    links = [f'<a href="{_href(log_href)}">Run log</a>']
    if ipynb_href:
        links.append(f'<a href="{_href(ipynb_href)}">{NOTEBOOK_LINK_LABEL}</a>')
    body = (
        f"<h1>{html.escape(name)} {_badge('failed')}</h1>"
        f'<p class="sub">This report could not be produced in this run ({html.escape(notebook)}). '
        f'<a href="../index.html">All reports of this run</a></p>'
        f'<section class="card failure"><h2>What went wrong</h2>'
        f'<p class="error">{html.escape(one_line(reason) or "the notebook failed")}</p>'
        f"<h2>How to fix it</h2><p>{html.escape(one_line(fix) or 'see the run log')}</p>"
        f'<div class="links">{" ".join(links)}</div></section>'
    )
    return _page(f"{name}: not produced", body)


def render_latest_redirect(run_id: str) -> str:
    """``OUT/latest.html``: a page that sends the reader to the newest complete run's index."""
    target = _href(f"{run_id}/index.html")
    return _page(
        "Latest leadnb run",
        f'<p>Latest run: <a href="{target}">{html.escape(run_id)}</a></p>',
    ).replace(
        '<meta name="viewport"',
        f'<meta http-equiv="refresh" content="0; url={target}">\n<meta name="viewport"',
        1,
    )


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a unique temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = [
    "CHANGES_SLOT",
    "answer_sentence",
    "fill_changes",
    "headline_items",
    "standalone_page",
    "metric_label",
    "notebook_title",
    "number_count",
    "one_line",
    "render_failure_page",
    "render_latest_redirect",
    "render_notebook_html",
    "render_outputs_index",
    "render_run_index",
    "strip_for_readers",
    "subset_notebooks",
    "text_to_html",
    "tidy_output_html",
    "warm_up_renderer",
    "write_text_atomic",
]
