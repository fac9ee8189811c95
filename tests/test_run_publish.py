"""leadnb.run.publish: run ids and temporary folders, manifest entries, OUT/latest and the
outputs index, the run log."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leadnb.masking import Secret
from leadnb.run import publish
from leadnb.run.execute import DEFAULT_FIX, NotebookResult
from leadnb.run.hygiene import OWNER_FILE

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"


def test_reserve_run_dir_never_reuses_an_id(tmp_path: Path) -> None:
    now = dt.datetime(2026, 7, 1, 2, 0, 0)
    a, tmp_a = publish.reserve_run_dir(tmp_path, "demo run", "2026-06-30", now)
    b, tmp_b = publish.reserve_run_dir(tmp_path, "demo run", "2026-06-30", now)
    assert a == "20260701-020000-demo-run-2026-06-30"
    assert b.startswith(a + "-") and len(b) == len(a) + 5
    assert tmp_a.name == f".tmp-{a}" and tmp_b.name == f".tmp-{b}"
    pid, _ = (tmp_a / OWNER_FILE).read_text().split()
    assert int(pid) == os.getpid()  # this process owns it: the next run leaves it alone
    tmp_a.rename(tmp_path / a)  # published
    c, _ = publish.reserve_run_dir(tmp_path, "demo run", "2026-06-30", now)
    assert c not in (a, b)
    assert tmp_b.exists()


def test_slug_truncates_long_names() -> None:
    assert publish.slug("demo run") == "demo-run"
    assert publish.slug("Q" * 400) == "Q" * publish.RUN_NAME_MAX
    assert publish.slug("../../etc/passwd") == "etc-passwd"
    assert publish.slug("///") == "run"


def test_manifest_entry_of_a_failed_notebook(tmp_path: Path) -> None:
    (tmp_path / "nb.html").write_text("page")
    res = NotebookResult("nb", "failed", seconds=1.5, attempts=1, error="E: x", detail="tb")
    entry = publish.manifest_entry(res, tmp_path)
    assert entry == {
        "name": "nb",
        "status": "failed",
        "seconds": 1.5,
        "attempts": 1,
        "error": "E: x",
        "title": None,
        "folder": "nb",
        "ipynb": None,
        "html": "nb/nb.html",
        "tables": [],
        "fix": DEFAULT_FIX.format(nb="nb"),
        "log": "run.log",
    }
    ok = publish.manifest_entry(NotebookResult("nb", "success", removed=["a.bin"]), tmp_path)
    assert "fix" not in ok and ok["removed_for_secrets"] == ["a.bin"]


def test_read_metrics_of_missing_or_bad_files(tmp_path: Path) -> None:
    assert publish.read_metrics(tmp_path) == {}
    (tmp_path / "metrics.json").write_text("[1, 2]")
    assert publish.read_metrics(tmp_path) == {}
    (tmp_path / "metrics.json").write_text('{"auc": 0.7}')
    assert publish.read_metrics(tmp_path) == {"auc": 0.7}


def test_run_log_masks_and_keeps_lines_until_attached(tmp_path: Path) -> None:
    log = publish.RunLog((Secret("Zq7tok3n", "[secret $X]"),))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        log("before Zq7tok3n")
        log.attach(tmp_path / "run.log")
        log("after postgresql://u:pw@h/db")
    log.write("only in the file")
    assert err.getvalue() == "before [secret $X]\nafter postgresql://***@h/db\n"
    assert (tmp_path / "run.log").read_text().splitlines() == [
        "before [secret $X]",
        "after postgresql://***@h/db",
        "only in the file",
    ]


def publish_fake_run(out: Path, run_id: str, started: str, as_of: str = "2026-06-30") -> dict:
    (out / run_id).mkdir(parents=True)
    m = {
        "run_id": run_id,
        "started_at": started,
        "status": "success",
        "as_of": as_of,
        "notebooks": [],
    }
    (out / run_id / "manifest.json").write_text(json.dumps(m))
    return m


def test_latest_never_moves_back_to_an_older_run(tmp_path: Path) -> None:
    new = publish_fake_run(tmp_path, "new", "2026-07-02T02:00:00")
    old = publish_fake_run(tmp_path, "old", "2026-07-01T02:00:00")
    assert publish.publish_indexes(tmp_path, new, move=True)
    assert not publish.publish_indexes(tmp_path, old, move=True)  # finished later, started earlier
    assert publish.latest_run_id(tmp_path) == "new"
    assert os.readlink(tmp_path / "latest") == "new"
    assert 'href="latest/index.html"' in (tmp_path / "index.html").read_text()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".latest")]
    assert leftovers == []


def test_backfill_does_not_take_latest(tmp_path: Path) -> None:
    june = publish_fake_run(tmp_path, "june", "2026-07-01T02:00:00", as_of="2026-06-30")
    march = publish_fake_run(tmp_path, "march", "2026-07-01T03:00:00", as_of="2026-03-31")
    july = publish_fake_run(tmp_path, "july", "2026-08-01T02:00:00", as_of="2026-07-31")
    assert publish.publish_indexes(tmp_path, june, move=True)
    assert not publish.publish_indexes(tmp_path, march, move=True)  # backfill: started later
    assert publish.latest_run_id(tmp_path) == "june"
    assert publish.publish_indexes(tmp_path, july, move=True)
    assert publish.latest_run_id(tmp_path) == "july"
    page = (tmp_path / "index.html").read_text()
    assert all(name in page for name in ("june", "march", "july"))


def test_a_subset_or_failed_run_never_moves_latest(tmp_path: Path) -> None:
    first = publish_fake_run(tmp_path, "first", "2026-07-01T02:00:00")
    assert publish.publish_indexes(tmp_path, first, move=True)
    later = publish_fake_run(tmp_path, "later", "2026-07-02T02:00:00")
    assert not publish.publish_indexes(tmp_path, later, move=False)
    assert publish.latest_run_id(tmp_path) == "first"
    assert "later" in (tmp_path / "index.html").read_text()


def test_move_latest_falls_back_to_a_text_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_symlinks(*args: Any, **kwargs: Any) -> None:
        raise OSError("symlinks not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    publish.move_latest(tmp_path, "run-1")
    assert (tmp_path / "latest").read_text().strip() == "run-1"
    assert publish.latest_run_id(tmp_path) == "run-1"
    assert "url=run-1/index.html" in (tmp_path / "latest.html").read_text()


def test_read_manifests_skips_temporary_and_broken_folders(tmp_path: Path) -> None:
    publish_fake_run(tmp_path, "good", "2026-07-01T02:00:00")
    (tmp_path / ".tmp-x").mkdir()
    (tmp_path / ".tmp-x" / "manifest.json").write_text('{"run_id": ".tmp-x"}')
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    assert [m["run_id"] for m in publish.read_manifests(tmp_path)] == ["good"]
    assert publish.read_manifests(tmp_path / "missing") == []


def test_package_versions() -> None:
    import pandas as pd

    versions = publish.package_versions()
    assert versions["pandas"] == pd.__version__ and versions["python"].startswith("3.")


# --------------------------------------------------------------------------------------------
# OUT/index.html headline numbers and failures; PDFs


def test_outputs_index_shows_headline_numbers_and_which_notebook_failed(tmp_path: Path) -> None:
    good = publish_fake_run(tmp_path, "good", "2026-07-01T02:00:00")
    good["notebooks"] = [{"name": "scoring_calibration", "status": "success", "title": "Score"}]
    (tmp_path / "good" / "manifest.json").write_text(json.dumps(good))
    folder = tmp_path / "good" / "scoring_calibration"
    folder.mkdir()
    metrics = {"auc": 0.5812, "auc_ci_low": 0.56, "auc_ci_high": 0.6, "n_leads": 12345, "x": 1}
    headline = {"headline": ["experiment_id", "n_leads", "auc"], "experiment_id": "exp-1"}
    (folder / "metrics.json").write_text(json.dumps({**metrics, **headline}))
    (folder / "metric_kinds.json").write_text(json.dumps({"n_leads": "count", "auc": "ratio"}))
    bad = publish_fake_run(tmp_path, "bad", "2026-07-02T02:00:00")
    bad["status"] = "failed"
    bad["notebooks"] = [
        {"name": "nurture_roi", "status": "failed", "error": "Traceback (most recent call last):"
         "\n  File 'x.py'\nDataError: the costs table <b>is</b> empty"},
    ]  # fmt: skip
    (tmp_path / "bad" / "manifest.json").write_text(json.dumps(bad))
    publish.publish_indexes(tmp_path, bad, move=False)
    from bs4 import BeautifulSoup

    dom = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    rows = {r.find("a").get_text(): r.get_text(" ") for r in dom.find_all("tr")[1:]}
    text = " ".join(rows["good"].split())
    assert "Score Leads 12,345 · AUC 0.581 [0.560 – 0.600]" in text
    bad_text = " ".join(rows["bad"].split())
    assert "nurture_roi failed: DataError: the costs table <b>is</b> empty" in bad_text
    assert "Traceback" not in bad_text and "x.py" not in bad_text
    m, k = publish.read_run_metrics(tmp_path, [good, bad, {"run_id": "../etc", "notebooks": []}])
    assert m == {"good": {"scoring_calibration": {**metrics, **headline}}}
    assert "exp-1" not in text  # text is no headline number
    assert k["good"]["scoring_calibration"] == {"n_leads": "count", "auc": "ratio"}


def test_find_chromium_from_the_environment_or_path(tmp_path: Path) -> None:
    browser = tmp_path / "my-chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert publish.find_chromium({"LEADNB_CHROMIUM": str(browser)}) == str(browser)
    assert publish.find_chromium({"LEADNB_CHROMIUM": str(tmp_path / "missing")}) is None
    (tmp_path / "not-exec").write_text("x")
    assert publish.find_chromium({"LEADNB_CHROMIUM": str(tmp_path / "not-exec")}) is None


FAKE_CHROMIUM = """#!/bin/sh
# a stand-in for headless Chromium: writes a PDF naming its last argument (the page URL)
for arg in "$@"; do
  case "$arg" in --print-to-pdf=*) out="${arg#--print-to-pdf=}";; esac
  last="$arg"
done
case "$last" in *broken*) echo "page failed to load" >&2; exit 3;; esac
printf '%%PDF-1.4 fake %s' "$last" > "$out"
"""


def published_run(tmp_path: Path) -> tuple[Path, dict]:
    run_dir = tmp_path / "run"
    entries = []
    for name in ("scoring_calibration", "broken_one", "nurture_roi"):
        (run_dir / name).mkdir(parents=True)
        (run_dir / name / f"{name}.html").write_text("<p>report</p>")
        entries.append({"name": name, "status": "success", "html": f"{name}/{name}.html"})
    entries.append({"name": "ab_testing", "status": "skipped", "html": None})
    return run_dir, {"notebooks": entries}


def test_write_pdfs_next_to_each_report(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text(FAKE_CHROMIUM)
    browser.chmod(0o755)
    run_dir, manifest = published_run(tmp_path)
    lines: list[str] = []
    written = publish.write_pdfs(run_dir, manifest, browser=str(browser), progress=lines.append)
    assert written == [
        run_dir / "scoring_calibration" / "scoring_calibration.pdf",
        run_dir / "nurture_roi" / "nurture_roi.pdf",
    ]
    page = (run_dir / "nurture_roi" / "nurture_roi.html").resolve().as_uri()
    assert written[1].read_text() == f"%PDF-1.4 fake {page}"
    assert "warning: no PDF of broken_one/broken_one.html" in lines[1]
    assert "page failed to load" in lines[1] and "exit 3" in lines[1]
    assert not (run_dir / "broken_one" / "broken_one.pdf").exists()
    assert not [p for p in run_dir.rglob("*.tmp")]  # no temporary file left behind


def test_write_pdfs_without_chromium_says_it_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("LEADNB_CHROMIUM", raising=False)
    run_dir, manifest = published_run(tmp_path)
    lines: list[str] = []
    assert publish.write_pdfs(run_dir, manifest, progress=lines.append) == []
    assert lines == [
        "PDFs skipped: no headless Chromium found (install chromium, or set LEADNB_CHROMIUM "
        "to the browser's path)"
    ]
    assert not list(run_dir.rglob("*.pdf"))


NB = "scoring_calibration"


def _fake_run(folder: Path, as_of: str, rate: float, *, status: str = "success") -> dict:
    """A published-looking run of one notebook (the ``answered`` fixture in the scoring
    notebook's folder, whose conversion rate is a share of its n_leads) with two numbers."""
    import nbformat

    nb_dir = folder / NB
    nb_dir.mkdir(parents=True)
    book = nbformat.read(FIXTURES / "answered.ipynb", as_version=4)
    (cell,) = [c for c in book.cells if "answer" in c.metadata.get("tags", [])]
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": '<section id="answer" class="answer"><p>Rates rose.</p></section>'},
        )
    ]
    nbformat.write(book, nb_dir / f"{NB}.ipynb")
    (nb_dir / f"{NB}.html").write_text("<p>before</p>")
    metrics = {
        "conversion_rate": rate,
        "n_leads": 20000,
        "headline": ["conversion_rate", "n_leads"],
        "labels": {"conversion_rate": "Leads that reach SQL"},
    }
    (nb_dir / "metrics.json").write_text(json.dumps(metrics))
    (nb_dir / "metric_kinds.json").write_text(
        json.dumps({"conversion_rate": "rate", "n_leads": "count"})
    )
    manifest = {
        "run_id": folder.name,
        "name": "demo",
        "as_of": as_of,
        "status": status,
        "started_at": f"{as_of}T02:00:00",
        "params": {"run": {"name": "demo"}},
        "notebooks": [{"name": NB, "status": status}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def test_publish_changes_puts_what_moved_in_the_report_and_the_index(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _fake_run(out / "20260624-020000-demo-2026-06-23", "2026-06-23", 0.050)
    current = out / ".tmp-20260701-020000-demo-2026-06-30"
    manifest = _fake_run(current, "2026-06-30", 0.060)  # +1 pt on 20,000 leads: beyond noise
    results = {NB: NotebookResult(name=NB, status="success", title="Answered")}
    part = publish.publish_changes(current, manifest, results, (), out_dir=out)
    assert "Since 2026-06-23, 1 of 2 headline numbers moved beyond noise: Leads that reach SQL" in (
        part
    )
    assert 'href="trends.html"' in part and (current / "trends.html").is_file()
    changes = pd.read_csv(current / "changes.csv")
    assert changes.set_index("key").loc["conversion_rate", "beyond_noise"]
    assert not changes.set_index("key").loc["n_leads", "beyond_noise"]  # same count: no change
    report = (current / NB / f"{NB}.html").read_text()
    assert 'id="changes"' in report and "Leads that reach SQL" in report
    assert report.index('id="answer"') < report.index('id="changes"')  # answer first


def test_publish_changes_on_a_first_run_writes_nothing(tmp_path: Path) -> None:
    current = tmp_path / "out" / ".tmp-20260701-020000-demo-2026-06-30"
    manifest = _fake_run(current, "2026-06-30", 0.060)
    results = {NB: NotebookResult(name=NB, status="success")}
    assert publish.publish_changes(current, manifest, results, (), out_dir=current.parent) == ""
    assert not (current / "changes.csv").exists() and not (current / "trends.html").exists()
    assert (current / NB / f"{NB}.html").read_text() == "<p>before</p>"


def test_trend_charts_drawn_while_the_notebooks_run_are_the_ones_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook's trend charts drawn as it succeeded are used at the end when its numbers
    are the same (the page equals one drawn at the end), and drawn again when they are not."""
    out = tmp_path / "out"
    _fake_run(out / "20260624-020000-demo-2026-06-23", "2026-06-23", 0.050)
    current = out / ".tmp-20260701-020000-demo-2026-06-30"
    manifest = _fake_run(current, "2026-06-30", 0.060)
    results = {NB: NotebookResult(name=NB, status="success", title="Answered")}
    now = {k: manifest[k] for k in ("run_id", "name", "as_of", "started_at")}
    assert publish.will_have_trends(out, "demo", "2026-06-30")

    assert publish._write_trends(current, manifest, results, (), out_dir=out)
    drawn_at_the_end = (current / "trends.html").read_text()

    charts = publish.TrendCharts(out, current, now)
    charts.prepare(NotebookResult(name=NB, status="failed"))
    assert charts.drawn == {}  # a failed notebook has no trend
    charts.prepare(results[NB])
    assert list(charts.drawn) == [NB] and charts.drawn[NB][1] == ["conversion_rate", "n_leads"]
    calls: list[str] = []
    real = publish._trend_figures
    monkeypatch.setattr(publish, "_trend_figures", lambda *a: calls.append(a[2]) or real(*a))
    assert publish._write_trends(current, manifest, results, (), out_dir=out, charts=charts)
    assert calls == []  # nothing drawn again
    assert (current / "trends.html").read_text() == drawn_at_the_end

    _fake_run(tmp_path / "other", "2026-06-30", 0.070)  # the numbers changed after the drawing
    for f in ("metrics.json", "metric_kinds.json"):
        (current / NB / f).write_text((tmp_path / "other" / NB / f).read_text())
    assert publish._write_trends(current, manifest, results, (), out_dir=out, charts=charts)
    assert calls == [NB]
    assert (current / "trends.html").read_text() != drawn_at_the_end
