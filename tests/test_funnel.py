"""Tests for leadnb.funnel.stages: config, stage dates (long = wide), quality table, helpers, rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from leadnb.arrays import NAT_US, index_positions, to_us
from leadnb.errors import DataError, ParamsError
from leadnb.funnel import stages as stages_module
from leadnb.funnel.stages import (
    CHECK_NAMES,
    CONVERSION_COLUMNS,
    QUALITY_COLUMNS,
    FunnelConfig,
    _text_words,
    classify_new_old,
    conversion_pairs,
    reached_within,
    readable_checks,
    row_metrics,
    stage_conversion,
    stage_dates,
    stage_entries,
    stage_name,
    stage_quality,
    with_stage_names,
)
from leadnb.report.notebook import styled

STAGES = ["mql", "sql", "opportunity", "customer", "lost"]
T0 = pd.Timestamp("2025-01-01")


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def leads_frame(ids: list[str], created: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series(ids, dtype="str"),
            "created_at": pd.to_datetime(pd.Series(created)).astype("datetime64[us]"),
            "source": pd.Series(["web" if i % 2 else "event" for i in range(len(ids))]),
        }
    )


def long_frame(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series([r[0] for r in rows], dtype="str"),
            "stage": pd.Series([r[1] for r in rows], dtype="str"),
            "entered_at": pd.to_datetime(pd.Series([r[2] for r in rows])).astype("datetime64[us]"),
        }
    )


# --------------------------------------------------------------------------- config


def test_config_defaults_and_parse(tmp_path: Path) -> None:
    c = FunnelConfig.from_dict({}, tmp_path)
    assert c == FunnelConfig()
    assert c.stages == ("lead", "mql", "sql", "opportunity", "customer")
    assert c.lost_stage == "lost" and c.qualified_stage == "sql" and c.new_lead_days == 30
    c = FunnelConfig.from_dict(
        {
            "stages": ["lead", "mql", "sql", "won"],
            "lost_stage": "dead",
            "aliases": {"Closed Won": "won", "Closed Lost": "dead"},
            "qualified_stage": "mql",
            "new_lead_days": 14,
            "lvr_period": "28D",
            "skipped_stages": "strict",
            "qualification_change": "2025-06-01",
        },
        tmp_path,
    )
    assert c.stages == ("lead", "mql", "sql", "won")
    assert c.qualification_change == ts("2025-06-01")
    assert c.date_columns == ["lead_at", "mql_at", "sql_at", "won_at", "dead_at"]


@pytest.mark.parametrize(
    "d",
    [
        {"stagez": ["lead", "mql"]},
        {"stages": ["lead"]},
        {"stages": ["lead", "lead"]},
        {"stages": ["lead", "Sales Qualified"]},
        {"lost_stage": "sql"},
        {"aliases": {"Won": "customers"}},
        {"qualified_stage": "lead"},
        {"qualified_stage": "nope"},
        {"new_lead_days": 0},
        {"new_lead_days": "30"},
        {"lvr_period": "week"},
        {"lvr_period": "0D"},
        {"skipped_stages": "fill"},
        {"qualification_change": "June 2025"},
    ],
)
def test_config_rejects_bad_values(d: dict, tmp_path: Path) -> None:
    with pytest.raises(ParamsError):
        FunnelConfig.from_dict(d, tmp_path)


def test_config_through_params_file(write_params) -> None:
    from leadnb.data.params import load_params

    path = write_params({"run": {"as_of": "2026-06-30"}, "funnel": {"lvr_period": "quarter"}})
    assert load_params(path).funnel.lvr_period == "quarter"
    path = write_params({"funnel": {"lvr_perid": "quarter"}})
    with pytest.raises(ParamsError, match="lvr_perid"):
        load_params(path)


# --------------------------------------------------------------------------- stage dates


def test_stage_dates_first_entry_imply_and_strict() -> None:
    leads = leads_frame(["a", "b", "c", "d"], ["2025-01-01", "2025-02-01", "2025-03-01", None])
    hist = long_frame(
        [
            ("a", "Marketing Qualified", "2025-01-05"),
            ("a", "sql", "2025-01-10"),
            ("a", "mql", "2025-01-20"),  # re-entry after a backward move
            ("b", "customer", "2025-03-01"),  # skipped mql..opportunity
            ("b", "lost", "2025-04-01"),
            ("c", "opportunity", "2025-03-05"),
            ("c", "mql", "2025-03-09"),  # recorded after opportunity
        ]
    )
    cfg = FunnelConfig(aliases={"Marketing Qualified": "mql"})
    w = stage_dates(leads, hist, cfg).set_index("lead_id")
    assert list(w.columns) == [
        "created_at",
        "lead_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "customer_at",
        "lost_at",
    ]
    assert (w["lead_at"].dropna() == w["created_at"].dropna()).all()
    assert w.loc["a", "mql_at"] == ts("2025-01-05") and w.loc["a", "sql_at"] == ts("2025-01-10")
    assert pd.isna(w.loc["a", "opportunity_at"])
    # imply: b's earlier stages dated at the customer date; lost never implied
    for s in ("mql", "sql", "opportunity", "customer"):
        assert w.loc["b", f"{s}_at"] == ts("2025-03-01")
    assert w.loc["b", "lost_at"] == ts("2025-04-01") and pd.isna(w.loc["a", "lost_at"])
    # c: mql recorded after opportunity -> earliest later date (monotone)
    assert w.loc["c", "mql_at"] == ts("2025-03-05") == w.loc["c", "sql_at"]
    assert w.loc["d"].isna().all()  # no creation date and no entries: nothing is dated
    strict = stage_dates(leads, hist, FunnelConfig(aliases=cfg.aliases, skipped_stages="strict"))
    strict = strict.set_index("lead_id")
    assert pd.isna(strict.loc["b", "mql_at"]) and strict.loc["b", "customer_at"] == ts("2025-03-01")
    assert strict.loc["c", "mql_at"] == ts("2025-03-09") and pd.isna(strict.loc["c", "sql_at"])
    assert str(w["mql_at"].dtype) == "datetime64[us]"


def test_stage_dates_keep_columns_and_errors() -> None:
    leads = leads_frame(["a", "b"], ["2025-01-01", "2025-01-02"])
    hist = long_frame([("a", "mql", "2025-01-03")])
    w = stage_dates(leads, hist, keep=["source"])
    assert list(w["source"]) == list(leads["source"])
    with pytest.raises(DataError):
        stage_dates(leads, hist, keep=["nope"])
    with pytest.raises(DataError, match="no stage history"):
        stage_dates(leads)
    with pytest.raises(DataError, match="created_at"):
        stage_dates(leads.drop(columns="created_at"), hist)
    with pytest.raises(DataError, match="entered_at"):
        stage_dates(leads, hist.drop(columns="entered_at"))


def _oracle(leads: pd.DataFrame, rows: list[tuple[str, str, str]], imply: bool) -> dict:
    """Plain-Python reference for stage_dates (loops are fine in a test)."""
    order = ["mql", "sql", "opportunity", "customer"]
    out = {}
    for lid in leads["lead_id"]:
        d: dict[str, pd.Timestamp | None] = dict.fromkeys(STAGES)
        for r_lid, stage, at in rows:
            if r_lid == lid:
                t = pd.Timestamp(at)
                if d[stage] is None or t < d[stage]:
                    d[stage] = t
        if imply:
            best = None
            for s in reversed(order):
                if d[s] is not None and (best is None or d[s] < best):
                    best = d[s]
                d[s] = best
        out[lid] = d
    return out


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["l0", "l1", "l2", "l3", "l4", "zz"]),
        st.sampled_from(STAGES),
        st.integers(0, 400),
    ),
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(rows_strategy, st.booleans())
def test_stage_dates_long_equals_wide_equals_oracle(raw, imply) -> None:
    ids = ["l0", "l1", "l2", "l3", "l4"]
    leads = leads_frame(ids, [str((T0 + pd.Timedelta(days=10 * i)).date()) for i in range(5)])
    rows = [(lid, s, str((T0 + pd.Timedelta(days=n)).date())) for lid, s, n in raw]
    cfg = FunnelConfig(skipped_stages="imply" if imply else "strict")
    long = long_frame(rows) if rows else long_frame([("l0", "mql", None)])
    w_long = stage_dates(leads, long, cfg)
    # wide input: first entry per stage as <stage>_at columns on leads
    wide_leads = leads.copy()
    oracle_first = _oracle(leads, rows, imply=False)
    for s in STAGES:
        wide_leads[f"{s}_at"] = pd.Series([oracle_first[i][s] for i in ids], dtype="datetime64[us]")
    w_wide = stage_dates(wide_leads, None, cfg)
    pd.testing.assert_frame_equal(w_long, w_wide)
    oracle = _oracle(leads, rows, imply=imply)
    for i, lid in enumerate(ids):
        for s in STAGES:
            got = w_long.loc[i, f"{s}_at"]
            exp = oracle[lid][s]
            assert (pd.isna(got) and exp is None) or got == exp
    if imply:  # monotone along the funnel (after the entry stage)
        cols = ["mql_at", "sql_at", "opportunity_at", "customer_at"]
        for a, b in zip(cols[:-1], cols[1:], strict=True):
            both = w_long[a].notna() & w_long[b].notna()
            assert (w_long.loc[both, a] <= w_long.loc[both, b]).all()
            assert not (w_long[a].isna() & w_long[b].notna()).any()


# --------------------------------------------------------------------------- quality


def test_stage_quality_reports_every_problem() -> None:
    leads = leads_frame(["a", "b", "c"], ["2025-01-01", "2025-02-01", "2025-03-01"])
    hist = long_frame(
        [
            ("a", "mql", "2025-01-05"),
            ("a", "sql", "2025-01-10"),
            ("a", "mql", "2025-01-20"),
            ("b", "customer", "2025-03-01"),
            ("b", "Churned??", "2025-03-02"),
            ("x", "mql", "2025-01-01"),
            ("c", "mql", "2025-02-01"),  # before creation
            ("c", "sql", None),
        ]
    )
    q = stage_quality(leads, hist).set_index("check")
    assert q.loc["re_entry", "count"] == 1 and q.loc["re_entry", "example_lead_ids"] == "a"
    assert q.loc["backward_move", "count"] == 1
    assert q.loc["before_creation", "count"] == 1
    assert q.loc["before_creation", "example_lead_ids"] == "c"
    assert q.loc["unknown_stage", "count"] == 1 and "Churned??" in q.loc["unknown_stage", "meaning"]
    assert q.loc["unknown_lead", "example_lead_ids"] == "x"
    assert q.loc["missing_date", "count"] == 1
    assert q.loc["skipped_stage", "example_lead_ids"] == "b"
    # the pre-creation stage is kept, not dropped
    w = stage_dates(leads, hist).set_index("lead_id")
    assert w.loc["c", "mql_at"] == ts("2025-02-01")
    clean = stage_quality(leads, long_frame([("a", "mql", "2025-01-05")]))
    assert (clean["count"] == 0).all()


# --------------------------------------------------------------------------- helpers


def test_reached_within_and_maturity() -> None:
    wide = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2026-01-01"] * 5),
            "sql_at": pd.to_datetime(["2026-01-20", "2026-03-01", None, None, "2025-12-01"]),
        },
        index=[10, 11, 12, 13, 14],
    )
    start = pd.Series(
        pd.to_datetime(["2026-01-05", "2026-01-05", "2026-01-05", "2026-03-01", "2026-01-05"])
    )
    r = reached_within(wide, "sql", start, 30, ts("2026-03-15"))
    assert list(r.index) == [10, 11, 12, 13, 14]
    assert list(r["reached"]) == [True, False, False, False, False]
    # 13: window ends 2026-03-31 > as_of and not reached -> immature
    assert list(r["mature"]) == [True, True, True, False, True]
    assert list(r["prior"]) == [False, False, False, False, True]
    # reached after as_of does not count
    r2 = reached_within(wide, "sql", start, 30, ts("2026-01-10"))
    assert not r2["reached"].any() and not r2["mature"].any()


def test_classify_new_old() -> None:
    wide = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2026-01-01"] * 4),
            "sql_at": pd.to_datetime(["2026-01-30", "2026-01-31", None, "2025-12-31"]),
        }
    )
    got = classify_new_old(wide, "sql", 30)
    assert got.iloc[:2].tolist() == ["new", "old"]
    assert pd.isna(got.iloc[2]) and got.iloc[3] == "new"


# --------------------------------------------------------------------------- conversion


def test_stage_conversion_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    n = 500
    created = T0 + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    mql = created + pd.to_timedelta(np.where(rng.random(n) < 0.4, 5, np.nan), unit="D")
    sql = mql + pd.to_timedelta(np.where(rng.random(n) < 0.3, 10, np.nan), unit="D")
    wide = pd.DataFrame(
        {
            "lead_id": [str(i) for i in range(n)],
            "created_at": created,
            "lead_at": created,
            "mql_at": mql,
            "sql_at": sql,
            "opportunity_at": pd.NaT,
            "customer_at": pd.NaT,
            "lost_at": pd.NaT,
            "source": rng.choice(["web", "event"], n),
        }
    )
    as_of = ts("2025-09-01")
    out = stage_conversion(wide, FunnelConfig(), as_of=as_of)
    assert [tuple(p) for p in out[["from_stage", "to_stage"]].to_numpy()] == conversion_pairs(
        FunnelConfig()
    )
    row = out[(out.from_stage == "mql") & (out.to_stage == "sql")].iloc[0]
    n_from = int((wide.mql_at <= as_of).sum())
    n_to = int(((wide.mql_at <= as_of) & (wide.sql_at <= as_of)).sum())
    lo, hi = proportion_confint(n_to, n_from, method="wilson")
    assert (row.n_from, row.n_to) == (n_from, n_to)
    assert row.rate == pytest.approx(n_to / n_from)
    assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
    empty = out[(out.from_stage == "opportunity")].iloc[0]
    assert empty.n_from == 0 and np.isnan(empty.rate) and np.isnan(empty.ci_low)
    by = stage_conversion(wide, FunnelConfig(), by="source", as_of=as_of)
    sub = by[(by.from_stage == "lead") & (by.to_stage == "mql")].set_index("source")
    for src in ("web", "event"):
        m = (wide.source == src) & (wide.lead_at <= as_of)
        assert sub.loc[src, "n_from"] == m.sum()
        assert sub.loc[src, "n_to"] == (m & (wide.mql_at <= as_of)).sum()
    with pytest.raises(DataError):
        stage_conversion(wide, FunnelConfig(), by="nope", as_of=as_of)


# --------------------------------------------------------------------------- plots (smoke)


def test_plots_return_figures_with_titles() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leadnb.funnel.cohorts import cohort_matrix
    from leadnb.funnel.survival import survival_curves
    from leadnb.funnel.value_map import value_groups
    from leadnb.funnel.velocity import age_hazard, lvr, new_vs_old
    from leadnb.report.plots import funnel as pf

    rng = np.random.default_rng(4)
    n = 300
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series([f"l{i}" for i in range(n)], dtype="str"),
            "created_at": (T0 + pd.to_timedelta(rng.integers(0, 300, n), unit="D")).astype(
                "datetime64[us]"
            ),
        }
    )
    leads["mql_at"] = leads.created_at + pd.to_timedelta(
        np.where(rng.random(n) < 0.5, rng.integers(0, 60, n), np.nan), unit="D"
    )
    leads["sql_at"] = leads.mql_at + pd.to_timedelta(
        np.where(rng.random(n) < 0.5, rng.integers(0, 60, n), np.nan), unit="D"
    )
    cfg = FunnelConfig(qualification_change=ts("2025-05-01"))
    wide = stage_dates(leads, None, cfg)
    as_of = ts("2025-12-31")
    m = cohort_matrix(wide, "sql", as_of)
    figs = [
        pf.plot_stage_conversion(stage_conversion(wide, cfg, as_of=as_of)),
        pf.plot_cohort_heatmap(m, "sql"),
        pf.plot_time_to_stage(survival_curves(wide, "lead", "sql", as_of)),
        pf.plot_lvr(lvr(wide, cfg, as_of), change=cfg.qualification_change),
        pf.plot_new_vs_old(new_vs_old(wide, cfg, as_of), nurture_start=ts("2025-06-01")),
        pf.plot_age_hazard(age_hazard(wide, "sql", as_of, split=ts("2025-06-01"))),
        pf.plot_value_map(
            value_groups(
                pd.DataFrame(
                    {
                        "lead_id": leads.lead_id[:40],
                        "order_date": leads.created_at[:40],
                        "amount": rng.uniform(10, 100, 40),
                    }
                )
            )
        ),
    ]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig.axes[0].get_title()
    # heatmap: immature (NaN) cells are masked, i.e. drawn blank, never as 0
    mesh = figs[1].axes[0].collections[0]
    arr = mesh.get_array()
    assert np.ma.is_masked(arr) and int(np.ma.getmaskarray(arr).sum()) == int(m.rate.isna().sum())
    assert "nurture" in figs[4].axes[0].get_title()
    plt.close("all")


def test_require_helpers_say_what_is_missing() -> None:
    from leadnb.errors import NotEnoughData
    from leadnb.funnel.stages import require_column, require_reached, require_stage_history

    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "created_at": pd.to_datetime(["2025-01-01", "2025-01-03"]),
            "source": [None, None],
        }
    )
    with pytest.raises(NotEnoughData, match="no stage history.*mql_at, sql_at"):
        require_stage_history(leads, None)
    with pytest.raises(NotEnoughData, match="no created_at"):
        require_stage_history(leads.drop(columns="created_at"), None)
    require_stage_history(leads.assign(sql_at=pd.NaT), None)  # a wide column is a history
    stages = pd.DataFrame(
        {"lead_id": ["a"], "stage": ["sql"], "entered_at": pd.to_datetime(["2025-01-02"])}
    )
    require_stage_history(leads, stages)
    wide = stage_dates(leads, stages)
    with pytest.raises(NotEnoughData, match="stage history is missing"):
        require_reached(None, "lead", pd.Timestamp("2025-01-05"))
    with pytest.raises(NotEnoughData, match="No lead was created by the analysis date 2024-12-31"):
        require_reached(wide, "lead", pd.Timestamp("2024-12-31"))
    assert require_reached(wide, "lead", pd.Timestamp("2025-01-01")) is wide
    with pytest.raises(NotEnoughData, match="No lead has reached customer by 2025-01-05"):
        require_reached(wide, "customer", pd.Timestamp("2025-01-05"))
    with pytest.raises(NotEnoughData, match="No lead has reached sql by 2025-01-01"):
        require_reached(wide, "sql", pd.Timestamp("2025-01-01"))
    require_reached(wide, "sql", pd.Timestamp("2025-01-02"))
    with pytest.raises(NotEnoughData, match="no source column values"):
        require_column(leads, "source")
    with pytest.raises(NotEnoughData, match="leads table has no country column;"):
        require_column(leads, "country")


# --------------------------------------------------------------------------- headline numbers


def _headline_inputs() -> dict:
    conv = pd.DataFrame(
        {
            "from_stage": ["lead", "mql", "mql", "mql", "sql"],
            "to_stage": ["mql", "sql", "opportunity", "customer", "opportunity"],
            "n_from": [400, 100, 100, 100, 30],
            "n_to": [100, 30, 12, 5, 12],
            "rate": [0.25, 0.3, 0.12, 0.05, 0.4],
            "ci_low": [0.21, 0.22, 0.07, 0.02, 0.25],
            "ci_high": [0.29, 0.4, 0.2, 0.11, 0.57],
        }
    )
    tts = pd.DataFrame(
        {
            "from_stage": ["lead", "lead", "mql"],
            "to_stage": ["mql", "sql", "sql"],
            "median_days": [40.0, np.nan, 12.0],
            "p30": [0.2, 0.05, 0.3],
            "p60": [0.3, 0.06, 0.35],
            "p90": [0.4, 0.075, 0.4],
            "cif90": [0.39, 0.07, 0.38],
        }
    )
    lvr = pd.DataFrame(
        {
            "period": ["2026-04", "2026-05", "2026-06", "2026-07"],
            "qualified": [50, 55, 44, 9],
            "complete": [True, True, True, False],
            "lvr_pct": [np.nan, 10.0, -20.0, np.nan],
            "ci_low": [np.nan, -5.0, -40.0, np.nan],
            "ci_high": [np.nan, 30.0, 5.0, np.nan],
        }
    )
    eras = pd.DataFrame(
        {
            "stage": ["sql", "sql"],
            "era": ["before", "after"],
            "conversions": [10, 20],
            "from_old": [2, 15],
            "share_old": [0.2, 0.75],
        }
    )
    summary = pd.DataFrame({"group": list("ABCDE"), "n": [50, 4, 3, 2, 1]})
    return {
        "n_leads": 400,
        "as_of": ts("2026-07-15"),
        "qualified_stage": "sql",
        "conversion": conv,
        "lead_to_qualified_rate": 0.04,
        "time_to_stage": tts,
        "lvr": lvr,
        "share_old": eras,
        "value_summary": summary,
    }


def test_headline_metrics_values_and_kinds() -> None:
    from leadnb.funnel.stages import headline_metrics
    from leadnb.results import Kind

    m = headline_metrics(**_headline_inputs())
    assert m["n_leads"] == 400 and m["as_of"] == "2026-07-15" and m["qualified_stage"] == "sql"
    # the article's four rates with their intervals; the sql -> opportunity step is not one
    assert (m["mql_to_customer_rate"], m["mql_to_customer_ci_low"]) == (0.05, 0.02)
    assert m["mql_to_sql_ci_high"] == 0.4 and "sql_to_opportunity_rate" not in m
    assert m["lead_to_sql_rate"] == 0.04
    # time to stage: the lead -> qualified row only
    assert m["lead_to_sql_p90"] == 0.075 and np.isnan(m["lead_to_sql_median_days"])
    assert "lead_to_mql_p90" not in m
    # LVR: the latest complete period with a value (2026-07 is incomplete)
    assert (m["lvr_period"], m["lvr_pct"], m["lvr_ci_low"], m["lvr_ci_high"]) == (
        "2026-06",
        -20.0,
        -40.0,
        5.0,
    )
    assert m["share_old_sql_before"] == 0.2 and m["share_old_sql_after"] == 0.75
    assert [m[f"value_group_{g}"] for g in "ABCDE"] == [50, 4, 3, 2, 1]
    # the n behind the answer's sentences: MQLs behind the MQL rates, SQLs of the LVR period
    assert m["mql_to_sql_n_from"] == 100 and m.kinds["mql_to_sql_n_from"] is Kind.COUNT
    assert m["lvr_qualified"] == 44 and m.kinds["lvr_qualified"] is Kind.COUNT
    # the card's three numbers first: MQL -> SQL, reaching SQL within 90 days, LVR
    assert m["headline"] == [
        "mql_to_sql_rate",
        "lead_to_sql_p90",
        "lvr_pct",
        "n_leads",
        "lead_to_mql_rate",
        "mql_to_opportunity_rate",
        "mql_to_customer_rate",
        "share_old_sql_after",
    ]
    # every headline key has a label in words (no code names) for the card
    assert list(m["labels"]) == m["headline"]
    assert m["labels"]["lead_to_sql_p90"] == "Leads reaching SQL within 90 days"
    for label in m["labels"].values():
        assert "_" not in label and label[:1].isupper(), label
    # every headline key is there and declares its kind; so does every other number
    assert set(m["headline"]) <= set(m.kinds)
    assert set(m) - set(m.kinds) == {"headline", "labels"}
    assert m.kinds["lead_to_mql_rate"] is Kind.RATE and m.kinds["lvr_pct"] is Kind.PERCENT
    assert m.kinds["lead_to_sql_median_days"] is Kind.DAYS
    assert m.kinds["value_group_E"] is Kind.COUNT and m.kinds["as_of"] is Kind.DATE
    assert m.formatted("lvr_pct") == "-20.0%"  # percent units, not a share
    assert m.formatted("mql_to_sql_ci_high") == "40.0%"


def test_headline_metrics_missing_sections_add_no_keys() -> None:
    from leadnb.funnel.stages import headline_metrics

    m = headline_metrics(n_leads=7, as_of=ts("2026-01-31"), qualified_stage="opportunity")
    assert set(m) == {"n_leads", "as_of", "qualified_stage", "headline", "labels"}
    assert "lead_to_opportunity_p90" in m["headline"]  # named from the qualified stage
    assert m["labels"]["lvr_pct"] == "Change in new Opportunitys on the period before (LVR)"
    # a funnel with other stage names: only the article's pairs that exist are written
    inputs = _headline_inputs()
    conv = inputs["conversion"]
    m = headline_metrics(
        n_leads=400,
        as_of=ts("2026-07-15"),
        qualified_stage="sql",
        conversion=conv[conv.to_stage != "customer"],
    )
    assert "mql_to_customer_rate" not in m and "mql_to_customer_rate" not in m.kinds
    assert m["mql_to_opportunity_rate"] == 0.12


def test_n_leads_counts_only_leads_known_by_the_analysis_date() -> None:
    """The bug of the 2026-03-31 backfill: n_leads counted every row of the leads table (20,000)
    where the funnel starts from the 16,218 created by then. Hand example: five leads, one
    created late on the analysis day (known), two after it, one without a date."""
    from leadnb.funnel.stages import headline_metrics, known_leads

    leads = pd.DataFrame(
        {
            "lead_id": list("abcde"),
            "created_at": pd.to_datetime(
                [
                    "2026-01-10 08:00",
                    "2026-03-31 23:30",
                    "2026-04-01 00:00",
                    "2026-05-02 10:00",
                    None,
                ]
            ),
        }
    )
    stages = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "stage": ["mql", "mql", "mql"],
            "entered_at": pd.to_datetime(
                ["2026-02-01 09:00", "2026-03-31 23:45", "2026-04-03 09:00"]
            ),
        }
    )
    wide = stage_dates(leads, stages)
    assert known_leads(wide, ts("2026-03-31")) == 2  # a and b; not c, d (later) nor e (no date)
    assert known_leads(leads, ts("2026-03-31")) == 2
    assert known_leads(wide, ts("2026-06-30")) == 4
    conv = stage_conversion(wide, as_of=ts("2026-03-31"), pairs=[("lead", "mql")])
    assert conv["n_from"].tolist() == [2] and conv["n_to"].tolist() == [2]
    m = headline_metrics(
        n_leads=known_leads(wide, ts("2026-03-31")),
        as_of=ts("2026-03-31"),
        qualified_stage="sql",
        conversion=conv,
    )
    assert m["n_leads"] == 2 and m["lead_to_mql_rate"] == 1.0
    # the old count (every row) no longer slips through
    with pytest.raises(ValueError, match="n_leads is 5 but the conversion table starts from 2"):
        headline_metrics(
            n_leads=len(wide), as_of=ts("2026-03-31"), qualified_stage="sql", conversion=conv
        )


def _declared_for_a_reader(frame: pd.DataFrame, columns: dict) -> None:
    """Every column of ``frame`` is declared, under a label in words (no code names)."""
    assert [c for c in frame.columns if c not in columns] == []
    for name, col in columns.items():
        assert "_" not in col.label and col.label[:1] == col.label[:1].upper(), (name, col.label)


# --------------------------------------------------------------------------- for a reader


def test_stage_display_names() -> None:
    names = ["lead", "mql", "sql", "opportunity", "customer", "lost", "closed_won", "sal"]
    assert [stage_name(s) for s in names] == [
        "Lead",
        "MQL",
        "SQL",
        "Opportunity",
        "Customer",
        "Lost",
        "Closed won",
        "SAL",
    ]


def test_conversion_table_for_a_reader() -> None:
    """Display names in the stage columns, every column declared, the CSV frame untouched,
    and the HTML shows labels and percents (never the machine names or raw fractions)."""
    wide = pd.DataFrame(
        {
            "lead_at": pd.to_datetime(["2025-01-01"] * 4),
            "mql_at": pd.to_datetime(["2025-01-02", "2025-01-03", None, None]),
            "sql_at": pd.to_datetime(["2025-01-05", None, None, None]),
            "source": ["web", "web", "events", "events"],
        }
    )
    conv = stage_conversion(wide, as_of=ts("2025-01-31"), by="source", pairs=[("lead", "mql")])
    conv2 = stage_conversion(wide, as_of=ts("2025-01-31"), pairs=[("mql", "sql")])
    shown = with_stage_names(pd.concat([conv, conv2], ignore_index=True))
    assert shown[["from_stage", "to_stage"]].to_numpy().tolist() == [
        ["Lead", "MQL"],
        ["Lead", "MQL"],
        ["MQL", "SQL"],
    ]
    assert conv["from_stage"].tolist() == ["lead", "lead"]  # the CSV keeps canonical names
    _declared_for_a_reader(shown, CONVERSION_COLUMNS)
    html = styled(shown, columns=CONVERSION_COLUMNS).to_html()
    assert "Conversion rate" in html and "95% CI low" in html and "50.0%" in html
    assert "n_from" not in html and "ci_low" not in html and "0.5<" not in html
    # a sentence's rate and its interval share their decimals (set by the largest)
    row = row_metrics(
        {"rate": 0.015, "ci_low": 0.0086, "ci_high": 0.024}, CONVERSION_COLUMNS, interval="rate"
    )
    assert (row.shown("rate"), row.interval("rate")) == ("1.5%", "0.9% to 2.4%")
    small = {"rate": 0.004, "ci_low": 0.0012, "ci_high": 0.0095}
    assert row_metrics(small, CONVERSION_COLUMNS, interval="rate").interval("rate") == (
        "0.12% to 0.95%"
    )
    assert "ci_low" in row_metrics(small, CONVERSION_COLUMNS).kinds  # no interval: as it is


def test_quality_table_for_a_reader() -> None:
    leads = leads_frame(["a", "b"], ["2025-01-01", "2025-02-01"])
    q = stage_quality(leads, long_frame([("a", "mql", "2025-01-05"), ("x", "mql", "2025-01-06")]))
    readable = readable_checks(q)
    assert readable["check"].tolist() == [CHECK_NAMES[c] for c in q["check"]]
    assert q["check"].iloc[0] == "re_entry"  # the CSV keeps the codes
    _declared_for_a_reader(readable, QUALITY_COLUMNS)
    meanings = " ".join(readable["meaning"])
    assert "created_at" not in meanings and "lead_id" not in meanings
    assert "check created_at" in " ".join(q["meaning"])


# --------------------------------------------------------------------------- lead matching paths


def _stage_dates_by_hashing(
    leads: pd.DataFrame, stages: pd.DataFrame | None, config: FunnelConfig, keep=()
) -> pd.DataFrame:
    """stage_dates as it was before integer-key matching (commit a81e3f8): mapped names
    materialised by stage_entries, every lead id matched by an Arrow hash lookup."""
    entries = stage_entries(leads, stages, config)
    ids = leads["lead_id"].astype("str")
    keys = pd.Index(ids)
    row = None
    if not keys.is_unique:
        keys = keys.unique()
        row = index_positions(ids, keys)
    later = config.all_stages[1:]
    pos = index_positions(entries["lead_id"], keys)
    code = index_positions(entries["stage"], pd.Index(later, dtype="str"))
    when = to_us(entries["entered_at"])
    ok = (pos >= 0) & (code >= 0) & (when != NAT_US)
    not_reached = np.iinfo(np.int64).max
    first = np.full((len(later), len(keys)), not_reached, dtype="int64")
    np.minimum.at(first, (code[ok], pos[ok]), when[ok])
    if config.skipped_stages == "imply":
        for i in range(len(config.stages) - 3, -1, -1):
            np.minimum(first[i], first[i + 1], out=first[i])
    if row is not None:
        first = first[:, row]
    out = pd.DataFrame(
        {"lead_id": ids.array, "created_at": pd.to_datetime(leads["created_at"]).to_numpy()}
    )
    out["created_at"] = out["created_at"].astype("datetime64[us]")
    out["lead_at"] = out["created_at"]
    for i, stage in enumerate(later):
        out[f"{stage}_at"] = np.where(first[i] == not_reached, NAT_US, first[i]).view(
            "datetime64[us]"
        )
    for c in keep:
        out[c] = leads[c].to_numpy()
    return out


# ids of at most 8 bytes (one exact integer key), 9 to 64 bytes (hashed words, checked) and
# ids Arrow matches (longer than 64 bytes, a NUL byte, missing)
ID_POOL = ["", "a", "ab", "b", "L0000001", "L0000002", "10293", "é", "zzzzzzzz", "é123456"]
ID_LONG = ["L00000001", "Lead-0000001", "Lead-0000002", "0f8fad5b-d9cb-469f-a165-70867728950e"]
ID_OTHER = ["a\x00", "x" * 65]
id_strategy = st.one_of(st.sampled_from(ID_POOL), st.text(alphabet="aLz0é", min_size=0, max_size=5))
long_strategy = st.one_of(
    st.sampled_from(ID_LONG), st.text(alphabet="aLz0é-", min_size=9, max_size=24)
)
NAMES = ["mql", "SQL ", "Marketing Qualified", "opportunity", "customer", "lost", "lead", "zzz"]


@settings(max_examples=100, deadline=None)
@given(
    lead_ids=st.one_of(
        st.lists(id_strategy, max_size=12),
        st.lists(id_strategy, max_size=12).map(sorted),
        st.lists(st.one_of(id_strategy, long_strategy), max_size=12),
        st.lists(st.one_of(id_strategy, long_strategy), max_size=12).map(sorted),
        st.lists(st.one_of(id_strategy, st.sampled_from(ID_OTHER), st.none()), max_size=8),
    ),
    raw=st.lists(
        st.tuples(
            st.integers(0, 20),  # a lead's id (by position), or an id no lead has
            st.one_of(st.sampled_from(NAMES), st.none()),
            st.one_of(st.integers(-30, 400), st.none()),
        ),
        min_size=1,
        max_size=40,
    ),
    imply=st.booleans(),
    wide_input=st.booleans(),
)
def test_stage_dates_equal_the_hashing_algorithm(lead_ids, raw, imply, wide_input) -> None:
    """Integer keys (ids of at most 8 bytes, sorted or not, duplicated or not) and the hash
    fallback give exactly the frame the previous algorithm gave, from long or wide input."""
    n = len(lead_ids)
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series(lead_ids, dtype="str"),
            "created_at": pd.Series(
                [T0 + pd.Timedelta(days=3 * i) if i % 4 else None for i in range(n)],
                dtype="datetime64[us]",
            ),
            "source": pd.Series(["web"] * n, dtype="str"),
        }
    )
    cfg = FunnelConfig(
        aliases={"Marketing Qualified": "mql"}, skipped_stages="imply" if imply else "strict"
    )
    unknown = ["nobody", "L0000009", "0", "é", "Lead-0000009", "zzzzzzzz0"]  # (unless drawn)
    rows = [
        (
            lead_ids[i] if i < n else None if i == 20 else unknown[i % 6],
            stage,
            None if day is None else T0 + pd.Timedelta(days=day, hours=day % 7),
        )
        for i, stage, day in raw
    ]
    history = pd.DataFrame(
        {
            "lead_id": pd.Series([r[0] for r in rows], dtype="str"),
            "stage": pd.Series([r[1] for r in rows], dtype="str"),
            "entered_at": pd.Series([r[2] for r in rows], dtype="datetime64[us]"),
        }
    )
    if wide_input:  # <stage>_at columns on leads instead of a stages table
        for j, stage in enumerate(STAGES):
            leads[f"{stage}_at"] = pd.Series(
                [T0 + pd.Timedelta(days=5 * j + i) if (i + j) % 3 else None for i in range(n)],
                dtype="datetime64[us]",
            )
        history = None
    got = stage_dates(leads, history, cfg, keep=["source"])
    expected = _stage_dates_by_hashing(leads, history, cfg, keep=["source"])
    pd.testing.assert_frame_equal(got, expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(id_strategy, long_strategy, st.sampled_from(ID_OTHER)), min_size=1, max_size=15
    )
)
def test_text_words_equality_and_order_are_the_texts(texts) -> None:
    """Equal rows of words are equal texts; with one word (8 bytes or fewer) key order is the
    texts' byte order; a text that does not fit (longer than 64 bytes, NUL byte) turns the whole
    column down."""
    words = _text_words(pd.Series(texts, dtype="str"))
    encoded = [t.encode() for t in texts]
    if any(len(b) > 64 or b"\x00" in b for b in encoded):
        assert words is None
        return
    assert words is not None and words.dtype == np.uint64
    assert words.shape == (len(texts), max(1, -(-max(len(b) for b in encoded) // 8)))
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert (words[i] == words[j]).all() == (texts[i] == texts[j])
            if words.shape[1] == 1:
                assert (words[i, 0] < words[j, 0]) == (encoded[i] < encoded[j])


def test_text_words_turn_down_what_they_cannot_read() -> None:
    assert _text_words(pd.Series(["a", None], dtype="str")) is None  # missing id
    assert _text_words(pd.Series(["a", None], dtype="str"), missing_ok=True) is not None
    assert _text_words(pd.Series([1, 2])) is None  # not text
    assert _text_words(pd.Series(["a"], dtype="object")) is None  # text without Arrow
    # several Arrow chunks and a sliced chunk read as one column
    chunked = pa.chunked_array([pa.array(["b", "a"]), pa.array(["x", "c", "ab"]).slice(1)])
    words = _text_words(pd.Series(pd.arrays.ArrowStringArray(chunked)))
    assert words is not None and np.argsort(words[:, 0]).tolist() == [1, 3, 0, 2]


def test_shared_hashes_are_checked_word_by_word(monkeypatch) -> None:
    """With a hash that ignores all but the first word: an entry whose hash is a lead's but
    whose id is not is no match, and two leads sharing a hash send the matching to Arrow;
    the frame is the same either way."""
    monkeypatch.setattr(stages_module, "_hash_words", lambda words: words[:, 0].copy())
    cfg = FunnelConfig(skipped_stages="strict")
    hist = long_frame(
        [("Lead-0000002", "mql", "2025-01-05"), ("Lead-0000001", "sql", "2025-01-06")]
    )
    apart = leads_frame(["Lead-0000001", "Other-000001"], ["2025-01-01", "2025-01-01"])
    w = stage_dates(apart, hist, cfg)
    assert w["mql_at"].isna().all() and w["sql_at"].notna().tolist() == [True, False]
    pd.testing.assert_frame_equal(w, _stage_dates_by_hashing(apart, hist, cfg))
    shared = leads_frame(["Lead-0000001", "Lead-0000002"], ["2025-01-01", "2025-01-01"])
    calls = []
    real = stages_module.index_positions
    monkeypatch.setattr(stages_module, "index_positions", lambda *a: calls.append(1) or real(*a))
    w = stage_dates(shared, hist, cfg)
    assert calls  # the Arrow path matched the ids
    assert w["mql_at"].notna().tolist() == [False, True]
    pd.testing.assert_frame_equal(w, _stage_dates_by_hashing(shared, hist, cfg))


def test_missing_or_unknown_entry_ids_match_no_lead() -> None:
    """A missing id (Arrow stores it as an empty slot) is not the lead whose id is the empty
    text, and an id between two leads' ids is neither's."""
    leads = leads_frame(["", "a", "c"], ["2025-01-01", "2025-01-01", "2025-01-01"])
    hist = long_frame(
        [(None, "mql", "2025-01-05"), ("b", "mql", "2025-01-06"), ("a", "sql", "2025-01-07")]
    )
    w = stage_dates(leads, hist, FunnelConfig(skipped_stages="strict"))
    assert w["mql_at"].isna().all()
    assert w["sql_at"].tolist()[1] == ts("2025-01-07") and w["sql_at"].isna().sum() == 2
    pd.testing.assert_frame_equal(
        w, _stage_dates_by_hashing(leads, hist, FunnelConfig(skipped_stages="strict"))
    )


def _stage_conversion_by_groupby(wide, pairs, by, as_of):
    """The breakdown as it was computed before (a frame per pair, pandas groupby): the
    reference for the bincount path."""
    end = as_of.normalize() + pd.Timedelta(days=1)
    frames = []
    for a, b in pairs:
        ra = wide[f"{a}_at"] < end
        rb = ra & (wide[f"{b}_at"] < end)
        d = pd.DataFrame(
            {"n_from": ra.astype(int), "n_to": rb.astype(int), by: wide[by].to_numpy()}
        )
        g = d.groupby(by, sort=True, observed=True, dropna=False)[["n_from", "n_to"]].sum()
        g = g.reset_index()
        g.insert(0, "from_stage", a)
        g.insert(1, "to_stage", b)
        frames.append(g)
    return pd.concat(frames, ignore_index=True)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["web", "event", "=cmd", "<b>", None]),
            st.one_of(st.none(), st.integers(0, 40)),
            st.one_of(st.none(), st.integers(0, 40)),
        ),
        min_size=1,
        max_size=40,
    ),
    categorical=st.booleans(),
)
def test_stage_conversion_by_a_column_counts_as_groupby_did(rows, categorical) -> None:
    day = pd.Timestamp("2026-01-01")
    src = pd.Series([r[0] for r in rows], dtype="str")
    if categorical:
        src = src.astype(pd.CategoricalDtype(["web", "event", "=cmd", "<b>", "unused"]))

    def at(i):
        return pd.Series(
            [day + pd.Timedelta(days=r[i]) if r[i] is not None else pd.NaT for r in rows]
        ).astype("datetime64[us]")

    wide = pd.DataFrame({"lead_at": pd.Series([day] * len(rows)).astype("datetime64[us]"),
                         "mql_at": at(1), "sql_at": at(2), "source": src})  # fmt: skip
    as_of = day + pd.Timedelta(days=20)
    pairs = [("lead", "mql"), ("mql", "sql")]
    got = stage_conversion(wide, by="source", as_of=as_of, pairs=pairs)
    want = _stage_conversion_by_groupby(wide, pairs, "source", as_of)
    cols = ["from_stage", "to_stage", "source", "n_from", "n_to"]
    pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False)
    assert got["source"].dtype == want["source"].dtype


@settings(max_examples=80, deadline=None)
@given(
    n_leads=st.integers(1, 12),
    entries=st.lists(
        st.tuples(
            st.integers(0, 14),  # lead number (12 and up: not in leads)
            st.sampled_from(
                ["lead", "mql", "sql", "opportunity", "customer", "lost", "weird", None]
            ),
            st.one_of(st.none(), st.integers(-5, 30)),  # days after 2025-01-01 (None: undated)
        ),
        max_size=40,
    ),
    no_created=st.sets(st.integers(0, 11), max_size=3),
    skipped=st.sampled_from(["imply", "strict"]),
)
def test_stage_quality_on_codes_equals_the_pandas_formulation(
    n_leads, entries, no_created, skipped
) -> None:
    """Every check's count, distinct leads, examples (in order) and wording, as the plain pandas
    formulation gives them: unknown leads and stages, undated entries, missing created_at, the
    lost stage, re-entries, backward moves and skipped stages, ids of mixed lengths."""
    day = pd.Timestamp("2025-01-01")
    names = [f"L{i * 7919 % 97}{'x' * (i % 3)}" for i in range(15)]  # not in text order
    created = [
        pd.NaT if i in no_created else day + pd.Timedelta(days=i % 4) for i in range(n_leads)
    ]
    leads = pd.DataFrame(
        {
            "lead_id": pd.array(names[:n_leads], dtype="str"),
            "created_at": pd.Series(created, dtype="datetime64[us]"),
        }
    )
    history = pd.DataFrame(
        {
            "lead_id": pd.array([names[i] for i, _, _ in entries], dtype="str"),
            "stage": pd.array([s for _, s, _ in entries], dtype="str"),
            "entered_at": pd.Series(
                [day + pd.Timedelta(days=d) if d is not None else pd.NaT for _, _, d in entries],
                dtype="datetime64[us]",
            ),
        }
    )
    cfg = FunnelConfig(skipped_stages=skipped)
    got = stages_module.stage_quality(leads, history, cfg)
    e = stages_module.stage_entries(leads, history, cfg)
    want = stages_module._stage_quality_reference(leads, e, leads["lead_id"].astype("str"), cfg)
    pd.testing.assert_frame_equal(got, want)
