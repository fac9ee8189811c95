"""leadnb.report.notebook: the notebook context writes only when there is a run folder, and show() is quiet."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadnb import safe
from leadnb.errors import DataError
from leadnb.report import notebook as nb


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    leads = pd.DataFrame(
        {"lead_id": ["L1", "L2", "L3"], "created_at": ["2026-01-01", "2026-01-02", "2026-01-03"]}
    )
    leads.to_csv(tmp_path / "leads.csv", index=False)
    path = tmp_path / "params.yaml"
    path.write_text(
        "run: {as_of: 2026-06-30}\ndata:\n  leads: leads.csv\n"
        "scoring_calibration: {capacity_per_week: 40}\n"
    )
    return path


def test_start_loads_configured_tables_only(params_file: Path) -> None:
    ctx = nb.start("scoring_calibration", params_path=params_file, tables=("leads", "costs"))
    assert ctx.has("leads") and not ctx.has("costs")
    assert ctx.as_of == pd.Timestamp("2026-06-30")
    assert ctx.tables["leads"]["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert ctx.section == {"capacity_per_week": 40}
    ctx2 = nb.start("scoring_calibration", params_path=params_file, as_of="2026-03-01")
    assert ctx2.as_of == pd.Timestamp("2026-03-01")


def test_without_out_dir_nothing_is_written(params_file: Path, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    ctx = nb.start("x", params_path=params_file)
    df = pd.DataFrame({"a": [1]})
    assert ctx.save_table(df, "t.csv") is df
    assert ctx.write_metrics({"auc": np.float64(0.5), "n": np.int64(3)}) == {"auc": 0.5, "n": 3}
    assert sorted(tmp_path.rglob("*")) == before


def test_outputs_go_to_the_run_folder(params_file: Path, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    out = tmp_path / "run"
    ctx = nb.start("x", params_path=params_file, out_dir=str(out))
    ctx.save_table(pd.DataFrame({"a": [1, 2]}), "t.csv")
    fig, _ = plt.subplots(figsize=(4, 3))
    assert ctx.save_figure(fig, "chart") is fig
    assert not plt.fignum_exists(fig.number)  # drawn once: plt.show() will not draw it again
    ctx.write_metrics({"auc": 0.7, "missing": float("nan"), "day": pd.Timestamp("2026-01-02")})
    merged = ctx.write_metrics({"n": 5})
    assert pd.read_csv(out / "t.csv")["a"].tolist() == [1, 2]
    png = (out / "figures" / "chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert 100 < int.from_bytes(png[16:20], "big") < 1000  # width in pixels
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == merged == {"auc": 0.7, "missing": None, "day": "2026-01-02", "n": 5}


def test_bad_table_raises_before_analysis(params_file: Path, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("lead_id,created_at\nL1,2026-01-01\nL1,2026-01-02\n")
    with pytest.raises(DataError) as info:
        nb.start("x", params_path=params_file)
    assert "more than once" in str(info.value)


def test_show_formats_numbers_and_leaves_dates_alone(capsys) -> None:
    df = pd.DataFrame(
        {
            "rate": [0.123456, 0.5],
            "points": [10.0, np.nan],
            "day": pd.to_datetime(["2026-01-01", "2026-02-01"]),
            "n": [1000, 20],
            "name": ["a", "b"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nb.show(df, caption="Rates", n=1) is None
        html = nb.styled(df, caption="Rates", n=2).to_html()
    assert "(1 more rows in the CSV)" in capsys.readouterr().out
    assert ">0.123<" in html and ">10<" in html and ">1,000<" in html and ">–<" in html
    assert "10.000" not in html and "2026-01-01" in html and "Rates" in html


def test_data_warnings_are_one_line_each(params_file: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "stages.csv").write_text(
        "lead_id,stage,entered_at\nL1,mql,2025-12-01\nL2,mql,2026-01-05\n"
    )
    text = params_file.read_text().replace(
        "  leads: leads.csv\n", "  leads: leads.csv\n  stages: stages.csv\n"
    )
    params_file.write_text(text)
    ctx = nb.start("x", params_path=params_file, tables=("leads", "stages"))
    out = capsys.readouterr().out
    assert ctx.report.warnings and out.startswith("Data notes (1;")
    assert "before the lead was created" in out and "[stages.entered_at]" in out
    assert "offending rows" not in out


def test_saved_figure_is_shown_once_at_screen_size(
    params_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display
    import matplotlib.pyplot as plt

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    ctx = nb.start("x", params_path=params_file, out_dir=str(tmp_path / "run"))
    monkeypatch.setitem(plt.rcParams, "savefig.dpi", 150)
    fig, _ = plt.subplots(figsize=(4, 3), dpi=100)
    ctx.save_figure(fig, "chart")
    png = (tmp_path / "run" / "figures" / "chart.png").read_bytes()
    assert len(shown) == 1 and shown[0].data == png  # the saved file is what is shown
    assert shown[0].metadata == {"alt": "chart"}  # no title: the file name is the description
    assert shown[0].width == round(int.from_bytes(png[16:20], "big") * 100 / 150)
    # without a run folder nothing is drawn here: plt.show() shows the figure as usual
    fig2, _ = plt.subplots()
    assert nb.start("x", params_path=params_file).save_figure(fig2, "c") is fig2
    assert plt.fignum_exists(fig2.number) and len(shown) == 1
    plt.close(fig2)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.mark.parametrize("background", ["white", "none"])
def test_saved_figure_has_matplotlibs_pixels(
    params_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    background: str,
) -> None:
    """save_figure encodes the pixels savefig draws itself (RGB when opaque, at zlib level
    3): the same pixels as matplotlib's own PNG, at the same size and dpi; a transparent
    chart keeps its alpha; with a "tight" savefig.bbox (not the whole figure) the PNG is
    matplotlib's own."""
    import IPython.display
    import matplotlib.pyplot as plt
    from PIL import Image

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: None)
    ctx = nb.start("x", params_path=params_file, out_dir=str(tmp_path / "run"))
    monkeypatch.setitem(plt.rcParams, "savefig.dpi", 150)  # after start: its theme sets 200
    # 2.26 x 150 is 338.99999999999994: matplotlib's canvas makes it 339 pixels, not 338
    fig, ax = plt.subplots(figsize=(3.3, 2.26), dpi=100, facecolor=background)
    ax.plot([0, 1, 3], [2, 0, 1], label="line")
    ax.set_title("A title")
    ax.legend()
    own = io.BytesIO()
    fig.savefig(own, format="png")
    ctx.save_figure(fig, "chart")
    png = (tmp_path / "run" / "figures" / "chart.png").read_bytes()
    image = Image.open(io.BytesIO(png))
    assert image.size == (495, 339) == Image.open(own).size
    assert image.mode == ("RGB" if background == "white" else "RGBA")
    assert round(image.info["dpi"][0]) == 150
    np.testing.assert_array_equal(_pixels(png), _pixels(own.getvalue()))
    monkeypatch.setitem(plt.rcParams, "savefig.bbox", "tight")
    fig, ax = plt.subplots(figsize=(3.3, 2.1), dpi=100)
    ax.plot([0, 1], [0, 1])
    own = io.BytesIO()
    fig.savefig(own, format="png")
    ctx.save_figure(fig, "tight")
    tight = (tmp_path / "run" / "figures" / "tight.png").read_bytes()
    assert Image.open(io.BytesIO(tight)).size == Image.open(own).size
    np.testing.assert_array_equal(_pixels(tight), _pixels(own.getvalue()))


def test_figure_text_uses_titles_of_every_panel() -> None:
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("Rates rise")
    a.set_title("Before", loc="left")
    b.set_title("After")
    assert nb.figure_text(fig, "x") == "Rates rise; Before; After"
    plt.close(fig)
    fig, _ = plt.subplots()
    assert nb.figure_text(fig, "score_vs-conversion") == "score vs conversion"
    plt.close(fig)


def test_section_prints_one_sentence_for_not_enough_data_and_reraises_other_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from leadnb.errors import NotEnoughData

    with nb.section("Before vs after") as skipped:
        raise NotEnoughData(
            "the programme has 1 complete month after its start, 2 are needed",
            "this section appears with the run of 2026-12-01",
        )
    out = capsys.readouterr().out
    assert out == (
        "Not computed (Before vs after): The programme has 1 complete month after its start, "
        "2 are needed; this section appears with the run of 2026-12-01.\n"
    )
    assert skipped == [out.strip()]
    with nb.section("Fine") as skipped:
        pass
    assert skipped == [] and capsys.readouterr().out == ""
    with pytest.raises(ZeroDivisionError), nb.section("Broken"):
        raise ZeroDivisionError


# --------------------------------------------------------------------------------------------
# hostile values: tables escaped, CSVs neutralised, names kept inside the run folder

XSS = "<script>alert(document.domain)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def test_styled_escapes_values_headers_and_caption() -> None:
    from bs4 import BeautifulSoup

    df = pd.DataFrame(
        {
            XSS: [IMG, "plain"],
            "n": [1.0, 2.0],
            "obj": pd.Series([[XSS], None], dtype=object),
            "cat": pd.Categorical([IMG, "x"]),
        }
    )
    wide = pd.DataFrame({"variant": [XSS, IMG], "rate": [0.1, 0.2]}).pivot_table(
        columns="variant", values="rate"
    )  # variant names become column headers (and the columns get a name)
    for table, caption in ((df, f"Experiment {IMG}"), (wide, XSS)):
        html = nb.styled(table, caption=caption).to_html()
        dom = BeautifulSoup(html, "html.parser")
        assert not dom.find_all(["script", "img"]), html
        assert not [a for el in dom.find_all(True) for a in el.attrs if a.startswith("on")]
        text = dom.get_text(" ")
        assert caption in dom.caption.get_text()
        assert XSS in text and IMG in text
    assert "[&#x27;&lt;script&gt;" in nb.styled(df).to_html()  # any object: its escaped str()


def test_save_table_neutralises_formulas_unless_raw(params_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    ctx = nb.start("x", params_path=params_file, out_dir=str(out))
    df = pd.DataFrame(
        {
            "lead_id": ['=HYPERLINK("http://evil.example/x","x")', "+cmd|' /C calc'!A0", "L3"],
            "industry": pd.Series(["@SUM(1)", "-2+3", None], dtype="str"),
            "diff": [-0.5, 0.25, -1.0],
            "n": [-3, 4, 5],
        }
    )
    assert ctx.save_table(df, "hq.csv") is df  # the notebook keeps its values
    back = pd.read_csv(out / "hq.csv")
    assert back["lead_id"].tolist() == [
        '\'=HYPERLINK("http://evil.example/x","x")',
        "'+cmd|' /C calc'!A0",
        "L3",
    ]
    assert back["industry"].tolist()[:2] == ["'@SUM(1)", "'-2+3"]
    assert back["diff"].tolist() == [-0.5, 0.25, -1.0] and back["n"].tolist() == [-3, 4, 5]
    ctx.save_table(df, "machine.csv", raw=True)
    assert pd.read_csv(out / "machine.csv")["lead_id"].tolist() == df["lead_id"].tolist()


def test_names_never_leave_the_run_folder(params_file: Path, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    out = tmp_path / "deep" / "run"
    out.mkdir(parents=True)
    ctx = nb.start("x", params_path=params_file, out_dir=str(out))
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    for name in ("../../x_exp", ".._.._x_exp", "/etc/x_exp", ".hidden"):
        fig, _ = plt.subplots(figsize=(2, 2))
        ctx.save_figure(fig, name + "_rates")
        ctx.save_table(pd.DataFrame({"a": [1]}), name + ".csv")
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    assert after == before
    pngs = sorted(p.name for p in (out / "figures").iterdir())
    csvs = sorted(p.name for p in out.glob("*.csv"))
    assert len(pngs) == 4 and len(csvs) == 4  # two ids that slug alike still get two files
    assert all(not n.startswith(".") and n.endswith(".png") for n in pngs)
    assert all(not n.startswith(".") and n.endswith(".csv") for n in csvs)
    assert not list(tmp_path.glob("x_exp*")) and not list(out.parent.glob("*x_exp*"))
    ctx.save_table(pd.DataFrame({"a": [1]}), "score_bands.csv")
    assert (out / "score_bands.csv").exists()  # plain names are kept as they are


def test_styled_copes_with_odd_shapes() -> None:
    from bs4 import BeautifulSoup

    dup = pd.DataFrame([[1.0, XSS, 0.5]], columns=[IMG, IMG, "rate"])
    dom = BeautifulSoup(nb.styled(dup).to_html(), "html.parser")
    assert [th.get_text() for th in dom.find_all("th")] == [IMG, IMG, "rate"]
    assert [td.get_text() for td in dom.find_all("td")] == ["1", XSS, "0.500"]
    assert not dom.find_all(["script", "img"])
    for df in (pd.DataFrame(), pd.DataFrame({"a": pd.Series([], dtype=float)})):
        assert "<table" in nb.styled(df, caption="empty").to_html()


def test_saved_figure_survives_text_that_is_not_mathtext(
    params_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display
    import matplotlib.pyplot as plt

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: None)
    ctx = nb.start("x", params_path=params_file, out_dir=str(tmp_path / "run"))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.barh([r"$\alert(1)$", "$x^$"], [1, 2])  # category names from data: tick labels
    ax.set_title(r"Sources: $\alert(1)$")
    ctx.save_figure(fig, "by_source")
    png = (tmp_path / "run" / "figures" / "by_source.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_figure_text_shows_dollar_signs_that_charts_escape() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(r"weekly \$5 digest beat monthly")
    assert nb.figure_text(fig, "x") == "weekly $5 digest beat monthly"
    plt.close(fig)


def test_declared_columns_show_labels_and_format_from_their_kind() -> None:
    from leadnb.results import Column, Kind

    df = pd.DataFrame(
        {
            "company": ["<script>alert(1)</script>"],
            "rate": [0.04567],
            "n": [1784.0],
            "p_value": [0.00002],
            "other": [0.123456],
        }
    )
    cols = {
        "company": Column("Company <b>", Kind.TEXT),
        "rate": Column("Conversion", Kind.RATE),
        "n": Column("Leads", Kind.COUNT),
        "p_value": Column("p-value", Kind.P_VALUE),
    }
    html = nb.styled(df, columns=cols).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Company &lt;b&gt;" in html and ">Conversion<" in html and ">Leads<" in html
    assert ">4.6%<" in html and ">1,784<" in html and "&lt; 0.001" in html
    assert ">other<" in html and ">0.123<" in html  # undeclared: as before
    assert ">rate<" not in html and ">p_value<" not in html


def test_context_show_links_the_csv_behind_a_table(tmp_path: Path, capsys) -> None:
    from unittest import mock

    from leadnb.report.notebook import NotebookContext

    df = pd.DataFrame({"band": range(30), "rate": np.linspace(0, 0.3, 30)})
    shown: list = []
    for out in (tmp_path, None):
        ctx = NotebookContext(
            name="x", params=None, as_of=pd.Timestamp("2026-01-01"), tables={}, out_dir=out
        )  # type: ignore[arg-type]
        with mock.patch("IPython.display.display", side_effect=shown.append):
            ctx.show(df, "Bands", csv="../score_bands.csv")
    with_run, without_run = shown[1].data, shown[3].data
    assert shown[0].to_html().count("<tr>") == 13  # header + the first 12 rows
    assert with_run == (
        '<p class="table-note">First 12 of 30 rows. '
        f'<a href="{safe.file_name("../score_bands.csv")}">All 30 rows (CSV)</a></p>'
    )
    assert "href" not in without_run and "First 12 of 30 rows." in without_run
