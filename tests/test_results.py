"""leadnb.results: one result shape, and every number formatted from its declared kind."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadnb.report.notebook import METRIC_KINDS_FILE, NotebookContext
from leadnb.results import Kind, Metrics, Result, format_interval, format_value, value


@pytest.mark.parametrize(
    ("v", "kind", "expected"),
    [
        (0.04567, Kind.RATE, "4.6%"),
        (0.5, Kind.RATE, "50.0%"),
        (20000, Kind.COUNT, "20,000"),
        (912.0, Kind.COUNT, "912"),
        (72.2222, Kind.COUNT, "72.2"),  # modelled SQLs are fractional
        (749.6, Kind.MONEY, "750"),
        (90000, Kind.MONEY, "90,000"),
        (1.234, Kind.MONEY, "1.23"),
        (0.71234, Kind.RATIO, "0.712"),
        (3.128, Kind.MULTIPLIER, "3.13×"),
        (0.0002, Kind.P_VALUE, "< 0.001"),
        (-1 / 3, Kind.CHANGE, "-33.3%"),
        (0.5, Kind.CHANGE, "+50.0%"),
        (0.049640, Kind.P_VALUE, "0.050"),
        (12.345, Kind.PERCENT, "12.3%"),
        (63.4, Kind.DAYS, "63.4 days"),
        (30, Kind.DAYS, "30 days"),
        (0.0347, Kind.POINTS, "+3.5 pts"),
        (-0.0105, Kind.POINTS, "-1.1 pts"),
        (45, Kind.SCORE, "45"),
        (True, Kind.FLAG, "Yes"),
        (None, Kind.RATE, "–"),
        (float("nan"), Kind.MONEY, "–"),
        (float("inf"), Kind.MONEY, "–"),
        ("ship it", Kind.TEXT, "ship it"),
        ("2026-06-30", Kind.DATE, "2026-06-30"),
        (0.123456, None, "0.123"),
        (123456.7, None, "123,457"),
    ],
)
def test_format_value(v: object, kind: Kind | None, expected: str) -> None:
    assert format_value(v, kind) == expected


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_rate_is_shown_as_the_percentage_it_is(x: float) -> None:
    shown = format_value(x, Kind.RATE)
    assert shown.endswith("%")
    assert math.isclose(float(shown[:-1].replace(",", "")), x * 100, abs_tol=0.05 + 1e-9)


def test_interval_needs_both_bounds() -> None:
    assert format_interval(0.5, 0.4, 0.6, Kind.RATE) == "50.0% [40.0% – 60.0%]"
    assert format_interval(0.5, float("nan"), 0.6, Kind.RATE) == "50.0%"


@dataclasses.dataclass(frozen=True)
class _Effect(Result):
    prefix = "effect_"
    n: int = value(Kind.COUNT, "leads")
    lift: float = value(Kind.MULTIPLIER, "times as many SQLs")
    lift_ci_low: float = value(Kind.MULTIPLIER)
    lift_ci_high: float = value(Kind.MULTIPLIER)
    label: str = "not a number"


def test_result_frame_has_one_row_per_number_with_its_interval() -> None:
    r = _Effect(n=10, lift=1.5, lift_ci_low=1.1, lift_ci_high=2.0)
    frame = r.to_frame()
    assert list(frame["name"]) == ["n", "lift"]
    row = frame.set_index("name").loc["lift"]
    assert (row["value"], row["ci_low"], row["ci_high"], row["kind"]) == (
        1.5,
        1.1,
        2.0,
        "multiplier",
    )
    assert row["meaning"] == "times as many SQLs"
    assert math.isnan(frame.set_index("name").loc["n", "ci_low"])


def test_result_metrics_are_prefixed_and_keep_kinds() -> None:
    m = _Effect(n=10, lift=1.5, lift_ci_low=1.1, lift_ci_high=2.0).metrics()
    assert dict(m) == {
        "effect_n": 10,
        "effect_lift": 1.5,
        "effect_lift_ci_low": 1.1,
        "effect_lift_ci_high": 2.0,
    }
    assert m.kinds["effect_lift"] is Kind.MULTIPLIER
    assert m.formatted("effect_lift") == "1.50× [1.10× – 2.00×]"


def test_result_html_escapes_and_formats() -> None:
    html = _Effect(n=10, lift=1.5, lift_ci_low=1.1, lift_ci_high=2.0)._repr_html_()
    assert "1.50× [1.10× – 2.00×]" in html and "<caption>_Effect</caption>" in html


def test_metrics_refuse_kinds_for_missing_numbers() -> None:
    with pytest.raises(ValueError, match="not there"):
        Metrics({"a": 1}, {"b": Kind.COUNT})


def test_metrics_merge_values_and_kinds() -> None:
    m = Metrics({"a": 1}, {"a": Kind.COUNT}) | {"b": "x"}
    assert dict(m) == {"a": 1, "b": "x"} and m.kinds == {"a": Kind.COUNT}
    assert m.to_frame().to_dict("records")[0] == {
        "name": "a",
        "value": 1,
        "kind": "count",
        "shown": "1",
    }


def test_context_writes_kinds_beside_metrics(tmp_path: Path) -> None:
    ctx = NotebookContext(
        name="x", params=None, as_of=pd.Timestamp("2026-01-01"), tables={}, out_dir=tmp_path
    )  # type: ignore[arg-type]
    ctx.write_metrics(Metrics({"roi": 3.128}, {"roi": Kind.MULTIPLIER}))
    ctx.write_metrics({"headline": ["roi"]})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        "headline": ["roi"],
        "roi": 3.128,
    }
    assert json.loads((tmp_path / METRIC_KINDS_FILE).read_text()) == {"roi": "multiplier"}


def test_result_shown_and_interval_format_from_the_declared_kind() -> None:
    r = _Effect(n=1784, lift=3.128, lift_ci_low=1.893, lift_ci_high=4.135)
    assert r.shown("n") == "1,784"
    assert r.shown("lift") == "3.13×"
    assert r.interval("lift") == "1.89× to 4.13×"
    assert r.interval("lift", sep="–") == "1.89×–4.13×"
    with pytest.raises(KeyError, match="no declared kind"):
        r.shown("label")  # a field without a kind is never shown by guessing


def test_metrics_of_row_keeps_only_declared_columns() -> None:
    import numpy as np

    row = pd.Series({"sql_total": np.float64(450.0), "share_old": 0.5, "scenario": "after"})
    m = Metrics.of_row(row, {"sql_total": Kind.COUNT, "share_old": Kind.RATE, "cpa": Kind.MONEY})
    assert list(m) == ["sql_total", "share_old"]
    assert (m.shown("sql_total"), m.shown("share_old")) == ("450", "50.0%")
    with pytest.raises(KeyError):
        m.shown("scenario")


def test_numpy_and_pandas_scalars_format_like_python_ones() -> None:
    import numpy as np

    assert format_value(np.int64(20000), Kind.COUNT) == "20,000"
    assert format_value(np.float32(0.25), Kind.RATE) == "25.0%"
    assert format_value(np.bool_(False), Kind.FLAG) == "No"
    assert format_value(pd.NA, Kind.COUNT) == "–"
    assert format_value(pd.Timestamp("2026-06-30 13:00"), Kind.DATE) == "2026-06-30"


@pytest.mark.parametrize(
    ("code", "v", "expected"),
    [
        ("USD", 1250.4, "$1,250"),
        ("EUR", 12.5, "€12.50"),
        ("GBP", -750, "-£750"),
        ("CHF", 90000, "90,000 CHF"),
        (None, 90000, "90,000"),
    ],
)
def test_money_shows_the_run_currency(code: str | None, v: float, expected: str) -> None:
    from leadnb.results import display_currency

    with display_currency(code):
        assert format_value(v, Kind.MONEY) == expected
        assert format_value(0.05, Kind.RATE) == "5.0%"  # only money carries the currency
    assert format_value(v, Kind.MONEY) == expected.replace("$", "").replace("€", "").replace(
        "£", ""
    ).replace(" CHF", "")


def test_a_number_and_its_interval_share_their_decimals() -> None:
    m = Metrics(
        {"c": 83.333, "c_ci_low": 61.98, "c_ci_high": 127.4, "r": 0.006, "r_ci_low": 0.004,
         "r_ci_high": 0.0123, "z": 0.0},
        {"c": Kind.MONEY, "r": Kind.RATE, "z": Kind.MONEY},
    )  # fmt: skip
    assert (m.shown("c"), m.interval("c")) == ("83", "62 to 127")
    assert m.formatted("c") == "83 [62 – 127]"
    assert (m.shown("r"), m.interval("r")) == ("0.6%", "0.4% to 1.2%")
    assert m.shown("z") == "0"
    assert format_value(0.0012, Kind.RATE) == "0.12%"
    assert format_interval(0.0012, 0.0008, 0.0019, Kind.RATE) == "0.12% [0.08% – 0.19%]"
