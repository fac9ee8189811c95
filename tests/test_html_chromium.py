"""The stakeholder pages in a real headless Chromium, with the network unreachable.

A run (``--pdf``) of the ``ok`` and ``answered`` fixture notebooks is loaded as a reader would
open it (``file://``): the run's ``index.html`` and the reports. Chromium dumps the DOM after
loading and takes a screenshot. The checks: no code cell and no injected-parameters cell is
shown, the chart is an embedded image, every local ``src``/``href`` exists, and nothing is
fetched over http(s). Layout is measured in the page through the DevTools protocol over a pipe
(:class:`DevTools`; the pages themselves run no script): at 1400 px the answer is the first
content and fully visible without scrolling; at 400 px no table widens the page (each scrolls
in its own box) and nothing scrolls sideways; printed, the bar is hidden and tables are whole;
``--pdf`` wrote a PDF of each report.

Skipped when Chromium is not installed, unless ``LEADNB_REQUIRE_CHROMIUM=1`` (CI), then it fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

from leadnb.run import cli
from leadnb.run.publish import HEADLESS_FLAGS, find_chromium

pytestmark = pytest.mark.chromium

CHROMIUM = find_chromium()
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("LEADNB_REQUIRE_CHROMIUM") == "1":
            pytest.fail("LEADNB_REQUIRE_CHROMIUM=1 but chromium is not installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return CHROMIUM


def urls(dom: BeautifulSoup) -> list[tuple[str, str]]:
    """(tag name, url) of every src and href in the DOM."""
    return [(el.name, el[k]) for el in dom.find_all(True) for k in ("src", "href") if el.get(k)]


def load(browser: str, page: Path, shot: Path, profile: Path) -> BeautifulSoup:
    """Open ``page`` in headless Chromium with DNS blackholed; return its DOM, save a screenshot."""
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--window-size=1200,1400",
            f"--screenshot={shot}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
    return BeautifulSoup(proc.stdout, "html.parser")


def check_resources(dom: BeautifulSoup, page: Path) -> None:
    """No http(s) resource; every local src/href points at a file that exists."""
    for tag, url in urls(dom):
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https"):
            assert tag == "a", f"<{tag}> loads {url} from the network"
            continue
        if parsed.scheme in ("data", "mailto") or url.startswith("#"):
            continue
        target = (
            Path(unquote(parsed.path))
            if parsed.scheme == "file"
            else page.parent / unquote(parsed.path)
        )
        assert target.exists(), f"<{tag}> points at a missing file: {url}"


KINDS = {"n_leads": "count", "conversion_rate": "rate", "auc": "ratio"}


def write_with_declared_kinds(src: Path, dst: Path) -> None:
    """Copy the ok fixture notebook, its metrics cell also writing ``metric_kinds.json`` (what
    ``NotebookContext.write_metrics(Metrics)`` writes): the index card formats from those kinds."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if '"metrics.json"' in "".join(c["source"])]
    cell["source"] = "".join(cell["source"]).rstrip("\n") + (
        f'\n    (Path(out_dir) / "metric_kinds.json").write_text(json.dumps({KINDS!r}))\n'
    )
    dst.write_text(json.dumps(nb, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Path:
    """A real run (``--pdf``) of the ok and answered fixture notebooks; returns its run folder
    OUT/<run_id>."""
    root = tmp_path_factory.mktemp("chromium")
    (root / "leads.csv").write_text("lead_id,created_at\nL1,2026-01-02\nL2,2026-02-03\n")
    (root / "params.yaml").write_text(
        'run: {name: demo, as_of: "2026-06-30"}\ndata:\n  leads: {source: leads.csv}\n'
    )
    (root / "nbs").mkdir()
    write_with_declared_kinds(FIXTURES / "ok.ipynb", root / "nbs" / "ok.ipynb")
    shutil.copy(FIXTURES / "answered.ipynb", root / "nbs" / "answered.ipynb")
    out = root / "outputs"
    err = io.StringIO()
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(err),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("LEADNB_CHROMIUM", chromium)
        code = cli.main(
            [
                "run",
                str(root / "params.yaml"),
                "--notebooks",
                "ok,answered",
                "--out",
                str(out),
                "--notebook-dir",
                str(root / "nbs"),
                "--jobs",
                "2",
                "--pdf",
            ]
        )
    assert code == 0, err.getvalue()[-2000:]
    # a run of one notebook is not a complete report set: latest stays put; use the run folder
    (run,) = [p for p in out.iterdir() if (p / "manifest.json").is_file() and not p.is_symlink()]
    return run


def test_run_index_in_chromium(chromium: str, run_dir: Path, tmp_path: Path) -> None:
    page = run_dir / "index.html"
    dom = load(chromium, page, tmp_path / "index.png", tmp_path / "profile")
    check_resources(dom, page)
    hrefs = [a["href"] for a in dom.find_all("a", href=True)]
    assert "ok/ok.html" in hrefs and "../index.html" in hrefs
    text = dom.get_text(" ")
    assert "Fixture report that succeeds" in text and "Succeeded" in text
    assert "12,345" in text and "4.6%" in text  # count and rate, formatted from their kinds
    assert "0.712 [0.690" in text  # a ratio with its interval
    assert not dom.find_all("script")


def test_report_in_chromium_shows_no_code(chromium: str, run_dir: Path, tmp_path: Path) -> None:
    page = run_dir / "ok" / "ok.html"
    dom = load(chromium, page, tmp_path / "report.png", tmp_path / "profile")
    check_resources(dom, page)
    assert dom.select(".jp-CodeCell"), "the code cells' outputs are there"
    assert not dom.select(".jp-CodeCell .jp-InputArea, .jp-InputArea-editor, .jp-CodeMirrorEditor")
    assert not dom.select(".jp-InputPrompt, .jp-OutputPrompt")
    for el in dom(["script", "style"]):
        el.decompose()
    text = dom.get_text(" ")
    for code in ("plt.subplots", "to_csv", "params_path", "# Parameters", "NBVAL_CHECK_OUTPUT"):
        assert code not in text
    assert "Fixture report that succeeds" in text and "rows 3, greeting hello" in text
    images = [img["src"] for img in dom.find_all("img")]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert dom.find("table") is not None


def test_every_page_carries_the_csp_and_still_renders(
    chromium: str, run_dir: Path, tmp_path: Path
) -> None:
    """The CSP forbids scripts but not the inline CSS or the embedded chart images."""
    from leadnb import safe

    page = run_dir / "ok" / "ok.html"
    dom = load(chromium, page, tmp_path / "report.png", tmp_path / "profile")
    meta = dom.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta is not None and meta["content"] == safe.CSP
    for index in (run_dir / "index.html", run_dir.parent / "index.html"):
        idom = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
        assert idom.find("meta", attrs={"http-equiv": "Content-Security-Policy"}) is not None
    # the screenshot shows the chart: a large image, not a blank page or a broken-image icon
    assert (tmp_path / "report.png").stat().st_size > 30_000


def test_csp_stops_a_script_that_got_in(chromium: str, tmp_path: Path) -> None:
    """The second wall: even a live <script> (or handler) in a page leadnb rendered never runs."""
    from leadnb.report import pages as report

    page = tmp_path / "page.html"
    body = (
        '<p id="target">untouched</p>'
        "<script>document.getElementById('target').textContent='SCRIPT_RAN';</script>"
        '<img src="data:image/png;base64,AAAA" onerror="document.body.append(\'HANDLER_RAN\')">'
    )
    page.write_text(report._page("t", body), encoding="utf-8")
    dom = load(chromium, page, tmp_path / "shot.png", tmp_path / "profile")
    assert dom.find(id="target").get_text() == "untouched"
    assert "SCRIPT_RAN" not in dom.get_text() and "HANDLER_RAN" not in dom.get_text()


def test_failure_page_in_chromium(chromium: str, tmp_path: Path) -> None:
    from leadnb.report import pages as report

    folder = tmp_path / "nurture_roi"
    folder.mkdir()
    (tmp_path / "run.log").write_text("log\n")
    (folder / "nurture_roi.ipynb").write_text("{}")
    (tmp_path / "index.html").write_text("index")
    page = folder / "nurture_roi.html"
    page.write_text(
        report.render_failure_page(
            notebook="nurture_roi",
            title="Nurture ROI <script>alert(1)</script>",
            reason="DataError: the costs table is empty",
            fix="add data.costs.source to the params file",
            log_href="../run.log",
            ipynb_href="nurture_roi.ipynb",
        ),
        encoding="utf-8",
    )
    dom = load(chromium, page, tmp_path / "failure.png", tmp_path / "profile")
    check_resources(dom, page)
    assert not dom.find_all("script")
    text = dom.get_text(" ")
    assert "Nurture ROI <script>alert(1)</script>" in text and "the costs table is empty" in text


# --------------------------------------------------------------------------------------------
# Layout, measured in the page through the DevTools protocol


class DevTools:
    """Headless Chromium driven through the DevTools protocol over a pipe (fds 3 and 4, JSON
    messages ended by NUL): open a page at a viewport size, evaluate an expression in it.
    Evaluating through DevTools is not page script, so the pages' CSP stays as it is."""

    def __init__(self, browser: str, profile: Path) -> None:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # above 4, so that moving them onto 3 and 4 in the child never clobbers one another
        child_r, child_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_r, from_w))
        os.close(to_r)
        os.close(from_w)

        def onto_3_and_4() -> None:
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [
                browser,
                *HEADLESS_FLAGS,
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=onto_3_and_4,
            pass_fds=(3, 4),
        )
        os.close(child_r)
        os.close(child_w)
        self.out = os.fdopen(to_w, "wb", buffering=0)
        self.inp = os.fdopen(from_r, "rb", buffering=0)
        self.buf, self.last_id, self.events = b"", 0, []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable", session=True)

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self.buf:
            chunk = self.inp.read(1 << 16)
            assert chunk, "chromium closed the DevTools pipe"
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        msg: dict[str, Any] = {"id": self.last_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.out.write(json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self.last_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply.get("method"))

    def open(self, page: Path, width: int, height: int, media: str = "screen") -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Emulation.setEmulatedMedia", session=True, media=media)
        self.events.clear()
        self.send("Page.navigate", session=True, url=page.as_uri())
        while "Page.loadEventFired" not in self.events:
            self.events.append(self._message().get("method"))

    def eval(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True)  # fmt: skip
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"]["value"]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.out.close()
        self.inp.close()


@pytest.fixture(scope="module")
def devtools(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    browser = DevTools(chromium, tmp_path_factory.mktemp("devtools-profile"))
    yield browser
    browser.close()


ANSWER_LAYOUT = """(() => {
  const answer = document.getElementById("answer");
  const h1 = document.querySelector("h1");
  const between = document.createRange();
  between.setStartAfter(h1.closest(".jp-Cell") || h1);
  between.setEndBefore(answer);
  const before = [...document.querySelectorAll("table, img, pre")].filter(
    (el) => answer.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING);
  const box = answer.getBoundingClientRect();
  return {ids: document.querySelectorAll("[id=answer]").length, tag: answer.tagName,
          text: answer.innerText, between: between.toString().trim(), before: before.length,
          top: box.top, bottom: box.bottom, h1: h1.getBoundingClientRect().bottom,
          viewport: innerHeight, pre: document.querySelectorAll("pre").length};
})()"""

NARROW_LAYOUT = """(() => {
  const page = document.documentElement;
  const tables = [...document.querySelectorAll("table")].map((t) => {
    const box = t.parentElement, b = box.getBoundingClientRect();
    return {table: t.getBoundingClientRect().width, box: b.width, right: b.right,
            scrolls: getComputedStyle(box).overflowX};
  });
  const images = [...document.images].map((i) => i.getBoundingClientRect().right);
  return {scrollWidth: page.scrollWidth, clientWidth: page.clientWidth, tables, images};
})()"""


def test_answer_is_the_first_content_and_visible_at_1400(run_dir: Path, devtools: DevTools) -> None:
    devtools.open(run_dir / "answered" / "answered.html", 1400, 900)
    got = devtools.eval(ANSWER_LAYOUT)
    assert got["ids"] == 1 and got["tag"] == "SECTION"
    assert "barely predicts conversion" in got["text"] and "What to do" in got["text"]
    assert "FAKE ANSWER" not in got["text"]  # the data output that posed as the answer
    assert got["between"] == "" and got["before"] == 0  # nothing between the title and it
    assert got["h1"] <= got["top"] and got["bottom"] <= got["viewport"], got  # no scrolling
    assert got["pre"] == 0  # printed text is paragraphs in the report's font


def test_at_400_px_tables_scroll_in_their_box_and_the_page_does_not(
    run_dir: Path, devtools: DevTools
) -> None:
    for page in (
        run_dir / "answered" / "answered.html",
        run_dir / "ok" / "ok.html",
        run_dir / "index.html",
        run_dir.parent / "index.html",
    ):
        devtools.open(page, 400, 800)
        got = devtools.eval(NARROW_LAYOUT)
        assert got["scrollWidth"] <= got["clientWidth"] == 400, (page.name, got)
        for t in got["tables"]:
            assert t["right"] <= 400 + 0.5, (page.name, t)  # its box fits the page
            if t["table"] > t["box"] + 0.5:  # wider than its box: the box scrolls
                assert t["scrolls"] in ("auto", "scroll"), (page.name, t)
        assert all(right <= 400 + 0.5 for right in got["images"]), (page.name, got["images"])
    devtools.open(run_dir / "answered" / "answered.html", 400, 800)
    wide = devtools.eval(NARROW_LAYOUT)
    assert any(t["table"] > t["box"] for t in wide["tables"]), "the fixture has a wide table"


PRINT_LAYOUT = """(() => {
  const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
  return {bar: css(".leadnb-bar", "display"), box: css(".leadnb-scroll", "overflowX"),
          thead: css("thead", "display"), row: css("tr", "breakInside"),
          image: css(".jp-RenderedImage", "breakInside")};
})()"""


def test_printed_report_hides_the_bar_and_keeps_tables_whole(
    run_dir: Path, devtools: DevTools
) -> None:
    devtools.open(run_dir / "answered" / "answered.html", 800, 1000, media="print")
    assert devtools.eval(PRINT_LAYOUT) == {
        "bar": "none",
        "box": "visible",
        "thead": "table-header-group",
        "row": "avoid",
        "image": "avoid",
    }
    for name in ("answered", "ok"):
        pdf = run_dir / name / f"{name}.pdf"
        data = pdf.read_bytes()
        assert data[:5] == b"%PDF-" and len(data) > 10_000, name
