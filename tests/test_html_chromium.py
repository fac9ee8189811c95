"""The stakeholder pages in a real headless Chromium, with the network unreachable.

A run of the ``ok`` fixture notebook is loaded as a reader would open it (``file://``): the run's
``index.html`` and the report. Chromium dumps the DOM after loading and takes a screenshot. The
checks: no code cell and no injected-parameters cell is shown, the chart is an embedded image,
every local ``src``/``href`` exists, and nothing is fetched over http(s).

Skipped when Chromium is not installed, unless ``LEADNB_REQUIRE_CHROMIUM=1`` (CI), then it fails.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

from leadnb.run import cli

pytestmark = pytest.mark.chromium

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
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
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of the ok fixture notebook; returns its run folder OUT/<run_id>."""
    root = tmp_path_factory.mktemp("chromium")
    (root / "leads.csv").write_text("lead_id,created_at\nL1,2026-01-02\nL2,2026-02-03\n")
    (root / "params.yaml").write_text(
        'run: {name: demo, as_of: "2026-06-30"}\ndata:\n  leads: {source: leads.csv}\n'
    )
    (root / "nbs").mkdir()
    write_with_declared_kinds(FIXTURES / "ok.ipynb", root / "nbs" / "ok.ipynb")
    out = root / "outputs"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(
            [
                "run",
                str(root / "params.yaml"),
                "--notebooks",
                "ok",
                "--out",
                str(out),
                "--notebook-dir",
                str(root / "nbs"),
            ]
        )
    assert code == 0
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
