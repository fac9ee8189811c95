"""Tests for leadnb.scoring.engine: every rule kind against hand-computed points, the rules parser, and
invariants (hypothesis) checked against a slow per-lead reference implementation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb.errors import ParamsError
from leadnb.scoring.engine import rule_hits, score
from leadnb.scoring.rules import RULE_COLUMNS, ScoringConfig, rules_table, validate_rules

AS_OF = pd.Timestamp("2026-01-31")


def cfg(rules: list[dict], categories: dict | None = None) -> ScoringConfig:
    d: dict = {"rules": rules}
    if categories is not None:
        d["categories"] = categories
    return ScoringConfig.from_dict(d, Path("."))


def days_ago(*d: float) -> list[pd.Timestamp]:
    return [AS_OF - pd.Timedelta(days=x) for x in d]


def ev(rows: list[tuple]) -> pd.DataFrame:
    """rows of (lead_id, days_before_as_of, event_type, value, duration_s)."""
    df = pd.DataFrame(rows, columns=["lead_id", "ago", "event_type", "value", "duration_s"])
    return pd.DataFrame(
        {
            "lead_id": df["lead_id"].astype("str"),
            "ts": (AS_OF - pd.to_timedelta(df["ago"], unit="D")).astype("datetime64[us]"),
            "event_type": df["event_type"].astype("str"),
            "value": df["value"].astype("str"),
            "duration_s": df["duration_s"].astype("float64"),
        }
    )


LEADS = pd.DataFrame({"lead_id": pd.Series(["a", "b", "c"], dtype="str")})


def one(rule: dict, events: pd.DataFrame, leads: pd.DataFrame = LEADS, **kw) -> dict[str, float]:
    s = score(leads, events, cfg([rule]), AS_OF, **kw)
    return dict(zip(s["lead_id"], s["rule:" + rule["name"]], strict=True))


# ------------------------------------------------------------------ hand-computed, rule by rule


def test_plain_event_rule_counts_each_event_and_values_filter():
    e = ev(
        [
            ("a", 1, "tag_added", "pricing_request", None),
            ("a", 2, "tag_added", "student", None),
            ("b", 3, "tag_added", "demo_request", None),
            ("b", 4, "tag_added", "demo_request", None),
        ]
    )
    rule = {"name": "ask", "category": "tags", "points": 7,
            "when": {"event_type": "tag_added", "value": ["pricing_request", "demo_request"]}}  # fmt: skip
    assert one(rule, e) == {"a": 7.0, "b": 14.0, "c": 0.0}
    rule["when"]["value"] = "student"  # a single string value
    assert one(rule, e) == {"a": 7.0, "b": 0.0, "c": 0.0}


def test_cap_clips_rule_total():
    e = ev([("a", 1, "content_read", "x", 10)] * 4 + [("b", 1, "content_read", "x", 10)])
    rule = {"name": "r", "category": "content", "points": 3, "cap": 10,
            "when": {"event_type": "content_read"}}  # fmt: skip
    assert one(rule, e) == {"a": 10.0, "b": 3.0, "c": 0.0}  # 4*3=12 -> 10


def test_once_counts_at_most_one_event():
    e = ev([("a", 1, "tag_added", "pricing_request", None)] * 3)
    rule = {"name": "r", "category": "tags", "points": 20, "once": True,
            "when": {"event_type": "tag_added", "value": "pricing_request"}}  # fmt: skip
    assert one(rule, e) == {"a": 20.0, "b": 0.0, "c": 0.0}


def test_window_days_keeps_only_recent_events():
    e = ev([("a", 10, "link_open", "docs", None), ("a", 40, "link_open", "docs", None),
            ("b", 30, "link_open", "docs", None)])  # fmt: skip
    rule = {"name": "r", "category": "behaviour", "points": 10, "window_days": 30,
            "when": {"event_type": "link_open"}}  # fmt: skip
    assert one(rule, e) == {"a": 10.0, "b": 10.0, "c": 0.0}  # exactly 30 days ago counts


def test_half_life_decay_from_as_of():
    e = ev([("a", 10, "email_click", "m1", None), ("a", 20, "email_click", "m2", None),
            ("b", 0, "email_click", "m3", None)])  # fmt: skip
    rule = {"name": "r", "category": "behaviour", "points": 8, "half_life_days": 10,
            "when": {"event_type": "email_click"}}  # fmt: skip
    got = one(rule, e)
    assert got["a"] == pytest.approx(8 * 0.5 + 8 * 0.25)  # 4 + 2
    assert got["b"] == pytest.approx(8.0)


def test_once_with_decay_takes_most_recent_event():
    e = ev([("a", 10, "email_click", "m1", None), ("a", 20, "email_click", "m2", None)])
    rule = {"name": "r", "category": "behaviour", "points": 8, "half_life_days": 10,
            "once": True, "when": {"event_type": "email_click"}}  # fmt: skip
    assert one(rule, e)["a"] == pytest.approx(4.0)


def test_negative_points_and_negative_cap():
    e = ev([("a", 1, "group_leave", "g1", None)] * 3 + [("b", 1, "group_leave", "g1", None)])
    rule = {"name": "r", "category": "behaviour", "points": -5,
            "when": {"event_type": "group_leave"}}  # fmt: skip
    assert one(rule, e) == {"a": -15.0, "b": -5.0, "c": 0.0}
    rule["cap"] = 8
    assert one(rule, e) == {"a": -8.0, "b": -5.0, "c": 0.0}


def test_min_duration_and_missing_duration():
    e = ev([("a", 1, "content_read", "c1", 119), ("a", 1, "content_read", "c2", 120),
            ("a", 1, "content_read", "c3", np.nan), ("b", 1, "content_read", "c1", 600)])  # fmt: skip
    rule = {"name": "r", "category": "content", "points": 3,
            "when": {"event_type": "content_read", "min_duration_s": 120}}  # fmt: skip
    assert one(rule, e) == {"a": 3.0, "b": 3.0, "c": 0.0}


def test_category_cap_and_total_and_rule_columns():
    e = ev([("a", 1, "tag_added", "pricing_request", None),
            ("a", 1, "tag_added", "decision_maker", None),
            ("a", 1, "content_read", "c1", 300), ("b", 1, "tag_added", "decision_maker", None)])  # fmt: skip
    c = cfg(
        [
            {
                "name": "ask",
                "category": "tags",
                "points": 20,
                "when": {"event_type": "tag_added", "value": "pricing_request"},
            },
            {
                "name": "dm",
                "category": "tags",
                "points": 10,
                "when": {"event_type": "tag_added", "value": "decision_maker"},
            },
            {
                "name": "read",
                "category": "content",
                "points": 3,
                "when": {"event_type": "content_read"},
            },
            {
                "name": "unsub",
                "category": "content",
                "points": -1,
                "when": {"event_type": "unsubscribe"},
            },
        ],  # fmt: skip
        categories={"tags": {"cap": 25}},
    )
    s = score(LEADS, e, c, AS_OF).set_index("lead_id")
    assert list(s.columns) == ["score", "tags", "content", "behaviour", "profile",
                               "rule:ask", "rule:dm", "rule:read", "rule:unsub"]  # fmt: skip
    assert s.loc["a", "rule:ask"] == 20 and s.loc["a", "rule:dm"] == 10  # before the category cap
    assert s.loc["a", "tags"] == 25  # 30 capped at 25
    assert s.loc["a", "score"] == 28  # 25 + 3
    assert s.loc["b", "score"] == 10
    assert s.loc["c", "score"] == 0
    hits = rule_hits(s, c)
    assert hits["ask"].tolist() == [1.0, 0.0, 0.0]
    assert list(rules_table(c)["rule"]) == ["ask", "dm", "read", "unsub"]


def test_user_category_declared_under_categories():
    e = ev([("a", 1, "event_attended", "w1", None)])
    c = cfg(
        [
            {
                "name": "went",
                "category": "events",
                "points": 4,
                "when": {"event_type": "event_attended"},
            }
        ],  # fmt: skip
        categories={"events": {"cap": 3}},
    )
    s = score(LEADS, e, c, AS_OF).set_index("lead_id")
    assert s.loc["a", "events"] == 3 and s.loc["a", "score"] == 3


FIELDS = pd.DataFrame(
    {
        "lead_id": pd.Series(["a", "b", "c", "d"], dtype="str"),
        "phone": pd.Series(["+1 555", "", pd.NA, "  "], dtype="str"),
        "industry": pd.Series(["Software", "software ", "retail", pd.NA], dtype="str"),
        "title": pd.Series(["VP Sales", "Head of Ops", pd.NA, "sales rep"], dtype="str"),
        "balance": [1500.0, 999.0, np.nan, 1000.0],
        "housing": pd.Series(["no", "yes", "No", pd.NA], dtype="str"),
        "signed": pd.to_datetime(["2025-01-01", "2025-06-01", None, "2024-12-31"]).astype(
            "datetime64[us]"
        ),
    }
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"field": "phone", "present": True}, [1, 0, 0, 0]),
        ({"field": "phone", "present": False}, [0, 1, 1, 1]),
        ({"field": "industry", "equals": "software"}, [1, 1, 0, 0]),
        ({"field": "industry", "in": ["retail", "SOFTWARE"]}, [1, 1, 1, 0]),
        ({"field": "title", "contains": "sales"}, [1, 0, 0, 1]),
        ({"field": "balance", "gte": 1000}, [1, 0, 0, 1]),
        ({"field": "balance", "lte": 1000}, [0, 1, 0, 1]),
        ({"field": "balance", "between": [999, 1000]}, [0, 1, 0, 1]),
        ({"field": "balance", "equals": 999}, [0, 1, 0, 0]),
        ({"field": "housing", "equals": False}, [1, 0, 1, 0]),  # YAML `no` reads as false
        ({"field": "signed", "gte": "2025-01-01"}, [1, 1, 0, 0]),
        ({"field": "signed", "between": ["2024-12-31", "2025-01-01"]}, [1, 0, 0, 1]),
    ],
)
def test_field_ops(when, expected):
    rule = {"name": "f", "category": "profile", "points": 5, "when": when}
    got = one(rule, None, leads=FIELDS)
    assert [got[k] for k in "abcd"] == [5.0 * x for x in expected]


def test_placeholders_read_as_missing_are_not_present():
    from leadnb.data.loading import clean_text

    raw = pd.Series(["Select", "+1 555", "-", "N/A", ""], dtype="str")
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series(list("vwxyz"), dtype="str"),
            "phone": clean_text(raw, ["Select", "-"]),
        }
    )
    rule = {"name": "phone", "category": "profile", "points": 5,
            "when": {"field": "phone", "present": True}}  # fmt: skip
    got = one(rule, None, leads=leads)
    assert [got[k] for k in "vwxyz"] == [0.0, 5.0, 0.0, 0.0, 0.0]


def test_field_rule_yaml_no_is_false_end_to_end(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: no mortgage\n    category: profile\n"
        "    when: {field: housing, equals: no}\n    points: 2\n"
    )
    c = ScoringConfig.from_dict({"rules": "rules.yaml"}, tmp_path)
    s = score(FIELDS, None, c, AS_OF)
    assert s["score"].tolist() == [2.0, 0.0, 2.0, 0.0]


def test_as_of_is_a_whole_day():
    e = ev([("a", -0.5, "email_click", "m", None), ("a", -1, "email_click", "m", None),
            ("b", -0.99, "email_click", "m", None)])  # fmt: skip
    rule = {"name": "r", "category": "behaviour", "points": 8, "half_life_days": 10,
            "when": {"event_type": "email_click"}}  # fmt: skip
    # noon and 23:45 of the as_of day count (age 0, full points); next midnight does not
    assert one(rule, e) == {"a": 8.0, "b": 8.0, "c": 0.0}


def test_events_after_as_of_and_decision_time():
    e = ev([("a", 5, "link_open", "x", None), ("a", -1, "link_open", "x", None),
            ("b", 20, "link_open", "x", None), ("b", 2, "link_open", "x", None),
            ("zz", 1, "link_open", "x", None)])  # fmt: skip  # zz: unknown lead, ignored
    rule = {"name": "r", "category": "behaviour", "points": 1, "when": {"event_type": "link_open"}}
    assert one(rule, e) == {"a": 1.0, "b": 2.0, "c": 0.0}
    at = pd.Series(days_ago(10, 10), index=["b", "a"])  # by lead_id, any order; c missing -> as_of
    assert one(rule, e, at=at) == {"a": 0.0, "b": 1.0, "c": 0.0}
    later = pd.Series(days_ago(-30, -30, -30), index=LEADS.index)  # aligned; never past as_of
    assert one(rule, e, at=later) == {"a": 1.0, "b": 2.0, "c": 0.0}


def test_decay_and_window_measured_from_decision_time():
    e = ev([("a", 30, "email_click", "m", None), ("a", 100, "email_click", "m", None)])
    rule = {"name": "r", "category": "behaviour", "points": 8, "half_life_days": 10,
            "window_days": 50, "when": {"event_type": "email_click"}}  # fmt: skip
    at = pd.Series(days_ago(20), index=["a"])  # decision 20 days ago: ages 10 and 80 days
    assert one(rule, e, at=at)["a"] == pytest.approx(4.0)


def test_categorical_event_columns_give_same_scores():
    e = ev([("a", 1, "tag_added", "pricing_request", None), ("b", 2, "content_read", "c", 200)])
    c = cfg([{"name": "ask", "category": "tags", "points": 20,
              "when": {"event_type": "tag_added", "value": "pricing_request"}},
             {"name": "read", "category": "content", "points": 3,
              "when": {"event_type": "content_read", "min_duration_s": 100}}])  # fmt: skip
    e2 = e.assign(
        event_type=e["event_type"].astype("category"),
        value=e["value"].astype("category"),
        lead_id=e["lead_id"].astype("category"),
    )
    pd.testing.assert_frame_equal(score(LEADS, e, c, AS_OF), score(LEADS, e2, c, AS_OF))


def test_no_rules_and_no_events():
    s = score(LEADS, None, ScoringConfig.from_dict({}, Path(".")), AS_OF)
    assert s["score"].tolist() == [0.0, 0.0, 0.0]
    assert list(s.columns) == ["lead_id", "score", "tags", "content", "behaviour", "profile"]


# ------------------------------------------------------------------ the rules parser


GOOD = {"name": "ok", "category": "tags", "points": 1, "when": {"event_type": "tag_added"}}


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({**GOOD, "pints": 3}, "rules[1] 'bad'"),
        ({**GOOD, "category": "tagz"}, "key category"),
        ({**GOOD, "points": "ten"}, "key points"),
        ({**GOOD, "once": "yes"}, "key once"),
        ({**GOOD, "cap": -1}, "key cap"),
        ({**GOOD, "window_days": 0}, "key window_days"),
        ({**GOOD, "when": {"event_type": "x", "valu": "y"}}, "key when"),
        ({**GOOD, "when": {"field": "phone"}}, "exactly one op"),
        ({**GOOD, "when": {"field": "phone", "present": True, "equals": 1}}, "exactly one op"),
        ({**GOOD, "when": {"field": "balance", "between": [1]}}, "between"),
        ({**GOOD, "when": {"field": "balance", "gte": "lots"}}, "gte"),
        ({**GOOD, "when": {"field": "phone", "present": True}, "window_days": 3}, "window_days"),
        ({**GOOD, "name": "ok"}, "already used"),
    ],
)
def test_rule_errors_name_the_rule_and_key(bad, needle):
    bad = {**bad}
    bad.setdefault("name", "bad")
    if bad["name"] == "ok" and needle != "already used":
        bad["name"] = "bad"
    with pytest.raises(ParamsError) as err:
        cfg([GOOD, bad])
    msg = str(err.value)
    assert needle in msg
    assert "rules[1]" in msg


def test_rules_file_path_categories_and_errors(tmp_path: Path):
    text = {
        "categories": {"tags": {"cap": 40}, "events": {"cap": 10}},
        "rules": [{**GOOD, "category": "events"}],
    }
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(text))
    c = ScoringConfig.from_dict({"rules": "r.yaml", "categories": {"tags": None}}, tmp_path)
    assert c.categories == {"tags": None, "content": None, "behaviour": None, "profile": None,
                            "events": 10.0}  # fmt: skip
    assert c.file == str((tmp_path / "r.yaml").resolve())
    with pytest.raises(ParamsError, match="not found"):
        ScoringConfig.from_dict({"rules": "nope.yaml"}, tmp_path)
    (tmp_path / "bad.yaml").write_text("rules: [\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        ScoringConfig.from_dict({"rules": "bad.yaml"}, tmp_path)
    (tmp_path / "extra.yaml").write_text("rulez: []\n")
    with pytest.raises(ParamsError, match="rulez"):
        ScoringConfig.from_dict({"rules": "extra.yaml"}, tmp_path)
    with pytest.raises(ParamsError, match="unknown key"):
        ScoringConfig.from_dict({"rules": [], "threshold": 3}, tmp_path)


def test_demo_rules_file_parses():
    # the committed demo rules: every rule, in order, with its points and category cap
    import yaml

    path = Path(__file__).resolve().parents[1] / "params" / "scoring_rules.yaml"
    assert path.exists(), f"{path} is missing: the demo params name it"
    raw = yaml.safe_load(path.read_text())
    c = ScoringConfig.from_dict({"rules": path.name}, path.parent)
    assert [r.name for r in c.rules] == [r["name"] for r in raw["rules"]]
    assert [r.points for r in c.rules] == [float(r["points"]) for r in raw["rules"]]
    assert {k: v["cap"] for k, v in raw["categories"].items()} == c.categories
    assert c.file == str(path)


def test_validate_rules_fields_and_event_types():
    c = cfg(
        [
            {
                "name": "phone",
                "category": "profile",
                "points": 1,
                "when": {"field": "phone", "present": True},
            },
            {
                "name": "fax",
                "category": "profile",
                "points": 1,
                "when": {"field": "fax", "present": True},
            },
            {"name": "typo", "category": "tags", "points": 1, "when": {"event_type": "tag_add"}},
            {
                "name": "val",
                "category": "tags",
                "points": 1,
                "when": {"event_type": "tag_added", "value": ["pricing_request", "pricing"]},
            },
        ]  # fmt: skip
    )
    e = ev([("a", 1, "tag_added", "pricing_request", None), ("a", 1, "email_open", "m", None)])
    issues = validate_rules(c, FIELDS, e)
    errors = [i for i in issues if i.level == "error"]
    warns = [i for i in issues if i.level == "warning"]
    assert len(errors) == 1 and "rules[1] 'fax'" in errors[0].message
    assert errors[0].column == "fax"
    assert any("'typo'" in w.message and "email_open, tag_added" in w.message for w in warns)
    assert any("'val'" in w.message and "pricing" in w.message for w in warns)
    assert len(warns) == 2
    assert all("no events table" in i.message for i in validate_rules(c, FIELDS, None)[1:])


# ------------------------------------------------------------------ properties (hypothesis)

TYPES = ["tag_added", "content_read", "link_open"]
RULES = [
    {"name": "tag", "category": "tags", "points": 7, "once": True,
     "when": {"event_type": "tag_added", "value": ["v0", "v1"]}},
    {"name": "read", "category": "content", "points": 3, "cap": 10, "half_life_days": 15,
     "when": {"event_type": "content_read", "min_duration_s": 30}},
    {"name": "link", "category": "behaviour", "points": 2, "window_days": 20, "cap": 9,
     "when": {"event_type": "link_open"}},
    {"name": "anylink", "category": "behaviour", "points": 1.5,
     "when": {"event_type": "link_open", "value": "v2"}},
]  # fmt: skip
CATS = {"tags": {"cap": 12}, "content": {"cap": 8}, "behaviour": {"cap": 11}}
PCFG = cfg(RULES, CATS)
PLEADS = pd.DataFrame({"lead_id": pd.Series(["l0", "l1", "l2"], dtype="str")})

event_st = st.tuples(
    st.sampled_from(["l0", "l1", "l2"]),
    st.floats(-20, 60, allow_nan=False),
    st.sampled_from(TYPES),
    st.sampled_from(["v0", "v1", "v2"]),
    st.floats(0, 100, allow_nan=False),
)


def reference_score(events: pd.DataFrame, config: ScoringConfig, as_of: pd.Timestamp) -> dict:
    """Slow per-lead, per-event reference used as the oracle for the vectorised scorer."""
    out = {}
    for lead in PLEADS["lead_id"]:
        cats = dict.fromkeys(config.categories, 0.0)
        for r in config.rules:
            pts = []
            for row in events.itertuples():
                late = row.ts >= as_of + pd.Timedelta(days=1)  # as_of is a whole day
                if row.lead_id != lead or late or row.event_type != r.when.event_type:
                    continue
                if r.when.values is not None and row.value not in r.when.values:
                    continue
                if (
                    r.when.min_duration_s is not None
                    and not row.duration_s >= r.when.min_duration_s
                ):
                    continue
                age = max((as_of - row.ts) / pd.Timedelta(days=1), 0.0)
                if r.window_days is not None and age > r.window_days:
                    continue
                w = 0.5 ** (age / r.half_life_days) if r.half_life_days else 1.0
                pts.append(w)
            total = (max(pts) if pts else 0.0) if r.once else sum(pts)
            total *= r.points
            if r.cap is not None:
                total = max(-r.cap, min(r.cap, total))
            cats[r.category] += total
        for c, cap in config.categories.items():
            if cap is not None:
                cats[c] = min(cats[c], cap)
        out[lead] = sum(cats.values())
    return out


@settings(max_examples=50, deadline=None)
@given(st.lists(event_st, max_size=25))
def test_matches_reference_and_caps_hold(rows):
    e = ev(rows) if rows else ev([("l0", 1000, "x", "x", 0)])
    s = score(PLEADS, e, PCFG, AS_OF).set_index("lead_id")
    ref = reference_score(e, PCFG, AS_OF)
    for lead, v in ref.items():
        assert s.loc[lead, "score"] == pytest.approx(v, abs=1e-9)
    for r in PCFG.rules:
        if r.cap is not None:
            assert (s[r.column].abs() <= r.cap + 1e-12).all()
    for c, cap in CATS.items():
        assert (s[c] <= cap["cap"] + 1e-12).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(event_st, max_size=20), event_st)
def test_extra_positive_event_never_lowers_score(rows, extra):
    base = ev(rows) if rows else ev([("l0", 1000, "x", "x", 0)])
    more = ev([*rows, extra])
    s0 = score(PLEADS, base, PCFG, AS_OF)["score"].to_numpy()
    s1 = score(PLEADS, more, PCFG, AS_OF)["score"].to_numpy()
    assert (s1 >= s0 - 1e-12).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(event_st, max_size=20), st.lists(event_st, min_size=1, max_size=10))
def test_events_after_as_of_change_nothing(rows, late):
    base = ev(rows) if rows else ev([("l0", 1000, "x", "x", 0)])
    late_rows = [(lead, -abs(ago) - 1, t, v, d) for lead, ago, t, v, d in late]  # next day on
    s0 = score(PLEADS, base, PCFG, AS_OF)
    s1 = score(PLEADS, ev([*rows, *late_rows]), PCFG, AS_OF)
    pd.testing.assert_frame_equal(s0, s1)


def chunked(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    """``frame`` with every text column held as several Arrow chunks of ``size`` rows (as a
    Parquet or CSV reader leaves them)."""
    import pyarrow as pa

    out = {}
    for col in frame.columns:
        s = frame[col]
        if s.dtype == "str" and len(s):
            arr = pa.array(s.to_numpy(dtype=object), type=pa.large_string())
            parts = [arr.slice(i, size) for i in range(0, len(arr), size)]
            out[col] = pa.chunked_array(parts).to_pandas()
        else:
            out[col] = s
    return pd.DataFrame(out)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(event_st, max_size=30),
    st.integers(1, 7),
    st.integers(1, 5),
    st.sampled_from([None, 0, 3]),
)
def test_pieces_and_chunks_do_not_change_scores(rows, piece_rows, chunk_rows, decision_days):
    """Scores are the same however the events are cut: Arrow chunks of any size, and pieces of
    any size in the engine (``PIECE_ROWS``), with and without per-lead decision times."""
    from leadnb import arrays

    e = ev(rows) if rows else ev([("l0", 1000, "x", "x", 0)])
    at = None if decision_days is None else pd.Series(days_ago(decision_days), index=["l1"])
    whole = score(PLEADS, e, PCFG, AS_OF, at=at)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "PIECE_ROWS", piece_rows)
        cut = score(PLEADS, chunked(e, chunk_rows), PCFG, AS_OF, at=at)
    pd.testing.assert_frame_equal(whole, cut)  # exact: each lead's points are added in order
    if at is None:
        ref = reference_score(e, PCFG, AS_OF)
        got = whole.set_index("lead_id")["score"]
        assert all(got[lead] == pytest.approx(v, abs=1e-9) for lead, v in ref.items())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(event_st.map(lambda r: (st_lead(r), *r[1:])), max_size=30),
    st.integers(1, 7),
    st.sampled_from([None, 0, 3]),
)
def test_categorical_lead_ids_score_as_text(rows, piece_rows, decision_days):
    """Events whose lead ids are a categorical (as the loader and a run's shared tables give
    them), with categories no event uses, ids that are no lead's and missing ids, score exactly
    as the same ids as text, whatever the pieces (the engine reads each category's position
    by code instead of looking every event up)."""
    from leadnb import arrays

    e = ev(rows) if rows else ev([("l0", 1000, "x", "x", 0)])
    e.loc[e["lead_id"] == "", "lead_id"] = None
    at = None if decision_days is None else pd.Series(days_ago(decision_days), index=["l1"])
    ids = e["lead_id"]
    cats = sorted({*ids.dropna(), "l2", "unused"})
    coded = e.assign(lead_id=pd.Categorical(ids, categories=pd.Index(cats, dtype="str")))
    assert coded["lead_id"].isna().sum() == ids.isna().sum()
    whole = score(PLEADS, e, PCFG, AS_OF, at=at)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "PIECE_ROWS", piece_rows)
        pd.testing.assert_frame_equal(score(PLEADS, coded, PCFG, AS_OF, at=at), whole)


def st_lead(row: tuple) -> str:
    """An event's lead id for :func:`test_categorical_lead_ids_score_as_text`: the leads' own,
    one that is no lead's ("ghost") and a missing one (""), from the row's draw."""
    return {"l0": "l0", "l1": "l1", "l2": "ghost"}[row[0]] if row[1] < 55 else ""


def test_split_by_weight_balances_and_keeps_every_key():
    from leadnb.scoring.engine import _split_by_weight

    groups = _split_by_weight({0: 70, 1: 10, 2: 30, 3: 25, 4: 5}, 2)
    assert sorted(k for g in groups for k in g) == [0, 1, 2, 3, 4]
    assert sorted(sum({0: 70, 1: 10, 2: 30, 3: 25, 4: 5}[k] for k in g) for g in groups) == [
        70,
        70,
    ]
    assert _split_by_weight({5: 1}, 2) == [[5]]
    assert _split_by_weight({}, 2) == []


def test_events_without_a_lead_id_score_for_nobody_and_no_leads_is_empty():
    rule = {"name": "reads", "category": "content", "points": 1,
            "when": {"event_type": "content_read"}}  # fmt: skip
    leads = pd.DataFrame({"lead_id": pd.Series(["a", None], dtype="str")})
    e = ev([("a", 1, "content_read", "x", 1), (None, 1, "content_read", "x", 1)])
    s = score(leads, e, cfg([rule]), AS_OF)
    assert s["rule:reads"].tolist() == [1.0, 0.0]
    none = score(LEADS.iloc[:0], e, cfg([rule]), AS_OF, at=pd.Series(days_ago(1), index=["a"]))
    assert len(none) == 0 and "rule:reads" in none.columns


def test_rules_table_says_each_condition_in_words_without_python_values():
    c = cfg(
        [
            {
                "name": "icp",
                "category": "profile",
                "points": 5,
                "when": {"field": "industry", "in": ["software", "saas", "fintech"]},
            },
            {
                "name": "size",
                "category": "profile",
                "points": 3,
                "when": {"field": "employees", "between": [1000, 5000]},
            },
            {
                "name": "recent",
                "category": "profile",
                "points": 2,
                "when": {"field": "signed_up", "gte": "2025-01-01"},
            },
            {
                "name": "no phone",
                "category": "profile",
                "points": -1,
                "when": {"field": "phone", "present": False},
            },
            {
                "name": "long read",
                "category": "content",
                "points": 3,
                "half_life_days": 30,
                "when": {"event_type": "content_read", "min_duration_s": 1800.0},
            },
        ],  # fmt: skip
        categories={"profile": {"cap": 20}},
    )
    t = rules_table(c)
    assert t["condition"].tolist() == [
        "industry is software, saas or fintech",
        "employees between 1,000 and 5,000",
        "signed_up at least 2025-01-01",
        "phone is empty",
        "content_read, at least 1,800 seconds",
    ]
    assert not t["condition"].str.contains(r"[\[\]']|\.0\b|00:00").any()
    assert list(t.columns) == list(RULE_COLUMNS)
    assert t["category_cap"].tolist()[:4] == [20.0] * 4 and np.isnan(t["category_cap"].iloc[4])
    assert all("_" not in col.label for col in RULE_COLUMNS.values())
    assert (
        str(RULE_COLUMNS["once"].kind) == "flag" and str(RULE_COLUMNS["window_days"].kind) == "days"
    )
