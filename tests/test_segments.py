"""Tests for leadnb.scoring.segments (segment rules, summary, the SDR list) and the scoring charts."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from leadnb.errors import NotEnoughData, ParamsError
from leadnb.scoring.segments import (
    LIST_COUNT_COLUMNS,
    LIST_ORDER,
    PII_COLUMNS,
    RANKED_LIST_COLUMNS,
    SEGMENT_BAND_COLUMNS,
    SEGMENTS,
    SUMMARY_COLUMNS,
    competitor_mask,
    high_quality_leads,
    profile_notes,
    rank_for_capacity,
    read_account_list,
    score_edges,
    segment_bands,
    segment_counts,
    segment_leads,
    segment_summary,
    with_segment_labels,
)

matplotlib.use("Agg")

AS_OF = pd.Timestamp("2026-06-30")
D = pd.Timestamp


def leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series(list("abcdefgh"), dtype="str"),
            "created_at": pd.to_datetime(
                [
                    "2026-01-01",
                    "2026-01-01",
                    "2026-02-01",
                    "2026-02-01",
                    "2026-03-01",
                    "2026-03-01",
                    "2026-04-01",
                    "2026-04-01",
                ]  # fmt: skip
            ).astype("datetime64[us]"),
            "account_id": pd.Series(["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"], dtype="str"),
            "name": pd.Series(list("ABCDEFGH"), dtype="str"),
            "email": pd.Series(
                [
                    "x@RivalCRM.example",
                    "y@mail.pipelinepro.example",
                    "z@acme.example",
                    "w@acme.example",
                    pd.NA,
                    "v@notrivalcrm.example",
                    "u@ok.example",
                    "t@ok.example",
                ],
                dtype="str",
            ),  # fmt: skip
            "phone": pd.Series(["1"] * 8, dtype="str"),
            "company": pd.Series(
                ["Rival", "P", "Acme", "Spy Corp", "E", "F", "G", "H"], dtype="str"
            ),
            "industry": pd.Series(
                [
                    "software",
                    "software",
                    "Software",
                    "retail",
                    "manufacturing",
                    "retail",
                    "software",
                    pd.NA,
                ],
                dtype="str",
            ),  # fmt: skip
            "tags": pd.Series(
                [pd.NA, pd.NA, "newsletter;Competitor ", pd.NA, pd.NA, pd.NA, pd.NA, pd.NA],
                dtype="str",
            ),  # fmt: skip
        }
    )


def events() -> pd.DataFrame:
    rows = [
        ("d", "2026-02-02", "tag_added", "competitor"),
        ("e", "2026-03-05", "form_submit", "contact_sales"),  # asked for sales fast
        ("f", "2026-05-15", "tag_added", "pricing_request"),  # asked, but 75 days in
        ("h", "2026-07-02", "tag_added", "competitor"),  # after as_of: ignored
    ]
    for i in range(6):  # g: engaged (6 events, 2 sign-ups) and not converted
        rows.append(("g", f"2026-04-{10 + i:02d}", "event_signup" if i < 2 else "email_open", "x"))
    rows.append(("g", "2026-07-05", "event_signup", "x"))  # after as_of: not counted
    for i in range(3):
        rows.append(("h", f"2026-05-{10 + i:02d}", "email_open", "m"))
    df = pd.DataFrame(rows, columns=["lead_id", "ts", "event_type", "value"])
    return df.assign(ts=pd.to_datetime(df["ts"]).astype("datetime64[us]")).astype(
        {"lead_id": "str", "event_type": "str", "value": "str"}
    )


def stage_dates() -> pd.DataFrame:
    lf = leads()
    sql = pd.to_datetime([None, None, "2026-02-05", None, None, "2026-06-01", None, "2026-04-10"])
    return pd.DataFrame(
        {
            "lead_id": lf["lead_id"],
            "created_at": lf["created_at"],
            "sql_at": sql.astype("datetime64[us]"),
        }
    )


def segs() -> pd.Series:
    return segment_leads(
        leads(), events(), None, stage_dates(), as_of=AS_OF,
        competitor_domains=["rivalcrm.example", "PipelinePro.example"],
        competitor_companies=["spy corp"], engaged_min_events=5, fast_days=30,
    )  # fmt: skip


def test_competitor_mask_by_domain_subdomain_tag_event_and_company():
    m = competitor_mask(leads(), events(), as_of=AS_OF,
                        competitor_domains=["rivalcrm.example", "pipelinepro.example"])  # fmt: skip
    # a: domain (case ignored); b: subdomain; c: tag on the lead; d: tag event; f: look-alike
    # domain is not a competitor; h: competitor tag only after as_of
    assert m.to_dict() == {"a": True, "b": True, "c": True, "d": True, "e": False, "f": False,
                           "g": False, "h": False}  # fmt: skip
    m2 = competitor_mask(leads(), None, as_of=AS_OF, competitor_tags=(),
                         competitor_companies=["SPY CORP"])  # fmt: skip
    assert m2[m2].index.tolist() == ["d"]


def test_segment_rules_and_their_order():
    s = segs()
    assert list(s.cat.categories) == [
        "asked_for_sales", "converted_fast", "engaged_nurture", "competitor", "other"
    ]  # fmt: skip
    assert s.to_dict() == {
        "a": "competitor",
        "b": "competitor",
        "c": "competitor",  # converted fast, but competitor wins
        "d": "competitor",  # company list and a tag event
        "e": "asked_for_sales",  # contact_sales form 4 days after creation
        "f": "other",  # converted after 92 days, asked after 75: not fast; few events
        "g": "engaged_nurture",  # 6 events by as_of, not fast
        "h": "converted_fast",  # reached sql 9 days after creation, with a low score
    }


def test_an_ask_counts_only_before_the_outcome():
    # h reached SQL on 04-10 (9 days in); a pricing request on 04-12 came after it (a rep's
    # tag on the sales call): h stays "converted fast"; one on 04-05 came before: it asked
    def seg_with_ask(day: str) -> str:
        ask = pd.DataFrame({"lead_id": ["h"], "ts": [D(day)], "event_type": ["tag_added"],
                            "value": ["pricing_request"]}).astype({"ts": "datetime64[us]"})  # fmt: skip
        ev = pd.concat([events(), ask], ignore_index=True)
        return str(segment_leads(leads(), ev, None, stage_dates(), as_of=AS_OF)["h"])

    assert seg_with_ask("2026-04-12") == "converted_fast"
    assert seg_with_ask("2026-04-10 00:00:00") == "converted_fast"  # same moment: not before
    assert seg_with_ask("2026-04-05") == "asked_for_sales"
    # an ask by a lead that has not converted by as_of counts (its SQL after as_of is unknown)
    late = stage_dates().assign(
        sql_at=stage_dates()["sql_at"].where(lambda x: x.isna(), D("2026-07-10"))
    )
    s = segment_leads(leads(), events(), None, late, as_of=AS_OF)
    assert s["e"] == "asked_for_sales" and s["h"] == "other"


def test_segment_without_stage_history_uses_converted():
    lf = leads().assign(converted=[0, 0, 0, 0, 0, 0, 1.0, 0])
    s = segment_leads(lf, events(), None, None, as_of=AS_OF, engaged_min_events=5)
    assert s["g"] == "engaged_nurture"  # converted later (no date): still an engaged lead
    assert s["e"] == "asked_for_sales"
    assert s["h"] == "other"  # no stage dates: its quick SQL is unknown, and no sales ask
    assert "converted_fast" not in set(s)


def test_segment_summary_against_hand_counts():
    s = pd.Series(["competitor"] * 4 + ["asked_for_sales"] * 3 + ["other"] * 3
                  + ["converted_fast"] * 2, index=[str(i) for i in range(12)])  # fmt: skip
    sc = pd.Series([90, 80, 70, 60, 5, 10, 15, 20, 30, 40.0, 8, 12], index=s.index)
    y = pd.Series([0, 0, 0, 0, 1, 1, 0, 0, 1, 0.0, 1, 1], index=s.index)
    t = segment_summary(s, sc, y).set_index("segment")
    assert list(t.index) == ["asked_for_sales", "converted_fast", "competitor", "other"]
    assert t.loc["competitor", "mean_score"] == 75 and t.loc["competitor", "rate"] == 0
    assert t.loc["asked_for_sales", "conversions"] == 2 and t.loc["asked_for_sales", "n"] == 3
    lo, hi = proportion_confint(2, 3, method="wilson")
    assert (
        t.loc["asked_for_sales", "ci_low"], t.loc["asked_for_sales", "ci_high"]
    ) == pytest.approx((lo, hi))  # fmt: skip
    assert t["share_of_conversions"].sum() == pytest.approx(1.0)
    # only the segment defined by converting is flagged; its rate is 1 by construction
    assert t["defined_by_outcome"].to_dict() == {
        "asked_for_sales": False, "converted_fast": True, "competitor": False, "other": False
    }  # fmt: skip
    assert t.loc["converted_fast", "rate"] == 1.0
    b = segment_bands(s, sc, y, edges=[0, 50, 100])
    assert b.loc[b["segment"] == "competitor", "n"].tolist() == [4]
    assert b.loc[b["segment"] == "asked_for_sales", "band"].tolist() == [0]


def test_high_quality_leads_filters_cadence_and_no_pii():
    lf, ev = leads(), events()
    scores = pd.DataFrame({"lead_id": lf["lead_id"], "score": [50, 40, 45, 30, 5, 20, 35, 12.0]})
    converted = stage_dates().set_index("lead_id")["sql_at"].notna()
    hq = high_quality_leads(
        lf, ev, scores, segs(), as_of=AS_OF,
        target_industries=["software", "manufacturing"], abm_accounts=["A6"],
        follow_up_days=14, converted=converted,
    )  # fmt: skip
    # a-d competitors; f (A6 on the ABM list) and h converted; so e (manufacturing) and g
    assert sorted(hq["lead_id"]) == ["e", "g"]
    assert not set(PII_COLUMNS) & set(hq.columns)
    g = hq.set_index("lead_id").loc["g"]
    assert g["interactions"] == 6 and g["event_signups"] == 2
    assert g["last_touch"] == D("2026-04-15")
    # cadence from 2026-04-15 every 14 days: ..., 06-24, 07-08 -> first date >= as_of is 07-08
    assert g["next_follow_up"] == D("2026-07-08")
    assert g["overdue_days"] == 6  # 06-24 was missed
    e = hq.set_index("lead_id").loc["e"]
    assert e["last_touch"] == D("2026-03-05") and e["next_follow_up"] == D("2026-07-09")
    assert hq["lead_id"].tolist() == ["g", "e"]  # sorted by next follow-up
    assert list(hq.columns[:5]) == ["lead_id", "account_id", "industry", "segment", "score"]
    # no ICP filter and no converted filter: every non-competitor with an event
    everyone = high_quality_leads(lf, ev, scores, segs(), as_of=AS_OF, follow_up_days=7)
    assert sorted(everyone["lead_id"]) == ["e", "f", "g", "h"]
    assert (everyone["next_follow_up"] >= AS_OF).all()
    assert (
        (everyone["next_follow_up"] - everyone["last_touch"].dt.normalize()).dt.days % 7 == 0
    ).all()
    c = segment_counts(everyone, AS_OF).set_index("segment")
    assert c["leads"].sum() == 4
    assert c.loc["asked_for_sales", "leads"] == 1 and c.loc["converted_fast", "leads"] == 1
    with pytest.raises(ParamsError):
        high_quality_leads(lf, ev, scores, segs(), as_of=AS_OF, follow_up_days=0)


def test_next_follow_up_on_the_day_of_touch_is_a_full_cycle_later():
    lf = leads().iloc[[6]]
    ev = events().assign(ts=D("2026-06-30"))
    sc = pd.DataFrame({"lead_id": ["g"], "score": [1.0]})
    hq = high_quality_leads(lf, ev.loc[ev["lead_id"] == "g"], sc, segs(), as_of=AS_OF,
                            follow_up_days=10)  # fmt: skip
    assert hq["next_follow_up"].iloc[0] == D("2026-07-10") and hq["overdue_days"].iloc[0] == 0


def test_read_account_list(tmp_path: Path):
    (tmp_path / "abm.csv").write_text("account_id,name\nA1,Acme\nA2,Beta\nA1,Acme\n")
    assert read_account_list("abm.csv", tmp_path) == ["A1", "A2"]
    (tmp_path / "one.csv").write_text("account_id\nA000008\nA000013\n")  # one column
    assert read_account_list(tmp_path / "one.csv") == ["A000008", "A000013"]
    (tmp_path / "semi.csv").write_text("Account_ID;x\nB1;1\n")
    assert read_account_list(tmp_path / "semi.csv") == ["B1"]
    (tmp_path / "abm.txt").write_text("A9\n\nA3\n")
    assert read_account_list(tmp_path / "abm.txt") == ["A3", "A9"]
    assert read_account_list("", tmp_path) == []
    (tmp_path / "bad.csv").write_text("id,account\n1,2\n")
    with pytest.raises(ParamsError, match="account_id"):
        read_account_list(tmp_path / "bad.csv")
    with pytest.raises(ParamsError, match="not found"):
        read_account_list("missing.csv", tmp_path)


def test_scoring_charts_state_their_findings():
    from leadnb.report.plots.scoring import (
        plot_rule_lift,
        plot_score_bands,
        plot_score_vs_conversion_by_segment,
        plot_segment_bands,
        plot_threshold_sweep,
    )
    from leadnb.scoring.calibration import rule_lift, score_bands, threshold_sweep
    from leadnb.scoring.rules import ScoringConfig

    rng = np.random.default_rng(0)
    s = rng.integers(0, 50, 400).astype(float)
    y = (rng.random(400) < 0.1 + s / 200).astype(float)
    fig = plot_score_bands(score_bands(s, y, n_bands=5), y.mean())
    assert "Top score band converts at" in fig.axes[0].get_title(loc="left")
    sw = threshold_sweep(s, y, weeks=10, capacity_per_week=8)
    fig = plot_threshold_sweep(sw, 8, recommended=float(sw["threshold"].iloc[5]))
    assert "fits 8 leads/week" in fig.axes[0].get_title(loc="left")
    cfg = ScoringConfig.from_dict(
        {"rules": [{"name": "hi", "category": "tags", "points": 5, "when": {"event_type": "x"}}]},
        Path("."),
    )
    frame = pd.DataFrame({"rule:hi": (s > 25) * 5.0})
    fig = plot_rule_lift(rule_lift(frame, y, cfg))
    assert "'hi' predicts conversion best" in fig.axes[0].get_title(loc="left")
    seg = pd.Series(np.where(s > 40, "competitor", np.where(s < 10, "high_intent", "other")))
    summ = segment_summary(seg, pd.Series(s), pd.Series(y))
    fig = plot_score_vs_conversion_by_segment(summ)
    assert fig.axes[0].get_title(loc="left").startswith("A high score is not high intent")
    fig = plot_segment_bands(segment_bands(seg, pd.Series(s), pd.Series(y), [0, 10, 25, 50]))
    assert "convert most" in fig.axes[0].get_title(loc="left")
    matplotlib.pyplot.close("all")


def test_without_events_table():
    lf = leads()
    s = segment_leads(
        lf, None, None, stage_dates(), as_of=AS_OF, competitor_domains=["rivalcrm.example"]
    )
    assert s["a"] == "competitor" and s["c"] == "competitor"  # domain; tag on the lead
    assert s["h"] == "converted_fast" and s["g"] == "other"  # fast SQL still counts; no activity
    sc = pd.DataFrame({"lead_id": lf["lead_id"], "score": 1.0})
    hq = high_quality_leads(lf, None, sc, s, as_of=AS_OF, min_interactions=0)
    assert (hq["interactions"] == 0).all() and (hq["event_signups"] == 0).all()
    # no events: the last touch is the creation date
    b = hq.set_index("lead_id").loc["b"]
    assert b["last_touch"] == D("2026-01-01") and b["next_follow_up"] == D("2026-07-02")


# ------------------------------------------------------------------ missing columns, too little data


def test_without_account_industry_and_email_columns():
    lf = leads().drop(columns=["account_id", "industry", "email"])
    notes = profile_notes(
        lf, competitor_domains=["rivalcrm.example"], target_industries=["software"],
        abm_accounts=["A1"], competitor_companies=["spy corp"],
    )  # fmt: skip
    assert notes == [
        "Competitor e-mail domains are not checked: leads has no email column (map it in data.leads).",
        "Target industries are not checked for the list: leads has no industry column (map it in data.leads).",
        "The ABM account list is not checked for the list: leads has no account_id column (map it in data.leads).",
    ]  # fmt: skip
    assert profile_notes(leads(), competitor_domains=["x"], target_industries=["software"]) == []
    s = segment_leads(lf, events(), None, stage_dates(), as_of=AS_OF,
                      competitor_domains=["rivalcrm.example"], competitor_companies=["spy corp"])  # fmt: skip
    assert s["a"] != "competitor"  # by domain only: cannot be seen without e-mails
    assert s["c"] == "competitor" and s["d"] == "competitor"  # tag; company name
    sc = pd.DataFrame({"lead_id": lf["lead_id"], "score": 1.0})
    with pytest.raises(
        NotEnoughData, match="(?i)no industry column and no account_id column"
    ) as err:
        high_quality_leads(lf, events(), sc, s, as_of=AS_OF, target_industries=["software"],
                           abm_accounts=["A1"])  # fmt: skip
    assert "target_industries: []" in err.value.when
    # no ICP asked for: the list runs without those columns (account_id and industry empty)
    hq = high_quality_leads(lf, events(), sc, s, as_of=AS_OF)
    assert sorted(hq["lead_id"]) == ["e", "f", "g", "h"] and hq["industry"].isna().all()
    # one criterion left: the ABM list alone still filters
    only_abm = high_quality_leads(leads().drop(columns=["industry"]), events(), sc, s, as_of=AS_OF,
                                  target_industries=["software"], abm_accounts=["A6"])  # fmt: skip
    assert only_abm["lead_id"].tolist() == ["f"]


def test_segments_with_no_leads_or_one_score_say_so():
    empty = pd.Series([], dtype="float64")
    with pytest.raises(NotEnoughData, match="(?i)no leads with a score and an outcome"):
        segment_summary(pd.Series([], dtype="str"), empty, empty)
    s = segs()
    flat = pd.Series(7.0, index=s.index)
    y = pd.Series(0.0, index=s.index)
    edges = score_edges(flat)
    assert edges.tolist() == [7.0]
    with pytest.raises(NotEnoughData, match="(?i)every lead has the same score"):
        segment_bands(s, flat, y, edges)
    with pytest.raises(NotEnoughData, match="(?i)no scored leads"):
        segment_bands(s.iloc[0:0], empty, empty, [0, 1])
    summary = segment_summary(s, flat, y)  # no conversions at all: rates 0, shares undefined
    assert summary["rate"].eq(0).all() and summary["share_of_conversions"].isna().all()
    assert score_edges(pd.Series([0.0, 10.0, 20.0]), n_bands=2).tolist() == [0.0, 10.0, 20.0]


def test_competitor_mask_when_no_lead_has_tags():
    # an early analysis date: the few leads created so far have no tags at all
    lf = leads().assign(tags=pd.Series([pd.NA] * 8, dtype="str"))
    hit = competitor_mask(lf, None, as_of=AS_OF, competitor_domains=["rivalcrm.example"])
    assert hit[hit].index.tolist() == ["a"]


# ------------------------------------------------------------------ how the tables are shown


def test_segment_tables_declare_every_column_with_a_human_label():
    ids = ["a", "b", "c"]
    seg = pd.Series(["competitor", "other", "asked_for_sales"], index=ids)
    sc, y = pd.Series([50.0, 5, 9], index=ids), pd.Series([0.0, 0, 1], index=ids)
    assert list(segment_summary(seg, sc, y).columns) == list(SUMMARY_COLUMNS)
    assert list(segment_bands(seg, sc, y, [0, 10, 60]).columns) == list(SEGMENT_BAND_COLUMNS)
    hq = pd.DataFrame({"lead_id": ["c"], "segment": ["asked_for_sales"], "score": [9.0],
                       "last_touch": pd.to_datetime(["2026-06-17"]),
                       "next_follow_up": pd.to_datetime(["2026-07-01"])})  # fmt: skip
    assert list(segment_counts(hq, AS_OF).columns) == list(LIST_COUNT_COLUMNS)
    ranked = rank_for_capacity(hq, as_of=AS_OF, capacity_per_week=5)
    assert set(RANKED_LIST_COLUMNS) <= set(ranked.columns)
    assert {"rank", "this_week", "queue_week"} == set(ranked.columns) - set(hq.columns)
    for declared in (SUMMARY_COLUMNS, SEGMENT_BAND_COLUMNS, LIST_COUNT_COLUMNS,
                     RANKED_LIST_COLUMNS):  # fmt: skip
        for c in declared.values():
            assert "_" not in c.label and (c.label[:1].isupper() or c.label[:1].isdigit()), c.label
    assert str(SUMMARY_COLUMNS["rate"].kind) == "rate"
    assert str(SUMMARY_COLUMNS["mean_score"].kind) == "score"
    assert str(LIST_COUNT_COLUMNS["due_this_week"].kind) == "count"


def test_segments_are_shown_by_their_names_for_readers():
    t = pd.DataFrame({"segment": [*SEGMENTS, "partner"], "n": range(len(SEGMENTS) + 1)})
    shown = with_segment_labels(t)
    assert shown["segment"].tolist() == [
        "Asked for sales",
        "Converted fast (defined by the outcome)",
        "Engaged (nurture)",
        "Competitors and peers",
        "Everyone else",
        "partner",  # a segment without a reader's name keeps its own
    ]
    assert t["segment"].tolist()[0] == "asked_for_sales"  # the table itself is unchanged
    assert shown["n"].tolist() == t["n"].tolist()


# ------------------------------------------------------------------ the ranked list for the team


def _simulate_weeks(order_due: np.ndarray, capacity: int) -> np.ndarray:
    """Slow oracle: step week by week; each week call the first ``capacity`` leads, in rank
    order, whose follow-up is due by then and who were not called yet."""
    week = np.full(len(order_due), -1)
    w = 0
    while (week < 0).any():
        ready = [i for i in range(len(order_due)) if week[i] < 0 and order_due[i] <= w][:capacity]
        week[ready] = w
        w += 1
    return week


@pytest.mark.parametrize("capacity", [1, 3, 7, 50])
def test_rank_for_capacity_against_a_week_by_week_simulation(capacity: int):
    rng = np.random.default_rng(capacity)
    n = 60
    hq = pd.DataFrame({
        "lead_id": [f"L{i:03d}" for i in range(n)],
        "segment": rng.choice(["asked_for_sales", "engaged_nurture"], n, p=[0.3, 0.7]),
        "score": rng.integers(0, 8, n).astype(float),  # ties: the later keys decide
        "next_follow_up": AS_OF + pd.to_timedelta(rng.integers(0, 22, n), unit="D"),
    })  # fmt: skip
    out = rank_for_capacity(hq.sample(frac=1, random_state=1), as_of=AS_OF,
                            capacity_per_week=capacity)  # fmt: skip
    # the order, written out by hand: due week, score, date, id (not the segment)
    due_week = (hq["next_follow_up"] - AS_OF).dt.days // 7
    expected = sorted(
        range(n),
        key=lambda i: (due_week[i], -hq["score"][i], hq["next_follow_up"][i], hq["lead_id"][i]),
    )  # fmt: skip
    assert out["lead_id"].tolist() == hq["lead_id"][expected].tolist()
    assert out["rank"].tolist() == list(range(1, n + 1))
    weeks = _simulate_weeks(due_week[expected].to_numpy(), capacity)
    assert out["queue_week"].tolist() == weeks.tolist()
    assert out["this_week"].tolist() == (weeks == 0).tolist()
    assert out["this_week"].sum() == min(capacity, int((due_week == 0).sum()))
    # nobody is called before their follow-up falls due, and no week is over capacity
    assert (out["queue_week"].to_numpy() >= due_week[expected].to_numpy()).all()
    assert out["queue_week"].value_counts().max() <= capacity
    assert list(LIST_ORDER)[:2] == ["due_week", "score"]


def test_rank_for_capacity_edges():
    empty = pd.DataFrame({"lead_id": pd.Series([], dtype="str"), "segment": [], "score": [],
                          "next_follow_up": pd.Series([], dtype="datetime64[us]")})  # fmt: skip
    out = rank_for_capacity(empty, as_of=AS_OF, capacity_per_week=60)
    assert out.empty and {"rank", "this_week", "queue_week"} <= set(out.columns)
    few = pd.DataFrame({"lead_id": ["a", "b"], "segment": ["engaged_nurture"] * 2,
                        "score": [1.0, 2.0], "next_follow_up": pd.to_datetime(["2026-07-20",
                                                                                "2026-06-30"])})  # fmt: skip
    out = rank_for_capacity(few, as_of=AS_OF, capacity_per_week=60)
    # capacity left over is not used to call a lead before it falls due
    assert out["lead_id"].tolist() == ["b", "a"] and out["queue_week"].tolist() == [0, 2]
    assert out["this_week"].tolist() == [True, False]
    with pytest.raises(ParamsError):
        rank_for_capacity(few, as_of=AS_OF, capacity_per_week=0)


# ------------------------------------------------------------------ fast paths against pandas
# The events pass (lead positions, type codes a piece at a time, categorical codes), the e-mail
# domain pre-filter and the shared LeadActivity must give exactly what the plain pandas
# formulations of tests/test_scoring_reference.py give, for str and categorical text columns.

from hypothesis import assume, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from leadnb import arrays  # noqa: E402
from leadnb.scoring.segments import LeadActivity, lead_activity  # noqa: E402
from tests.test_scoring_reference import (  # noqa: E402
    event_st,
    lead_st,
    make_events,
    make_leads,
    make_stages,
    ref_competitor_mask,
    ref_events_upto,
    ref_high_quality_leads,
    ref_segment_leads,
)

FAST = settings(max_examples=60, deadline=None)


def as_category(events: pd.DataFrame) -> pd.DataFrame:
    """event_type and value dictionary-encoded, as the run's tables cache reads them back."""
    return events.assign(
        event_type=events["event_type"].astype("category"),
        value=events["value"].astype("category"),
    )


@FAST
@given(st.lists(lead_st, min_size=1, max_size=6), st.lists(event_st, max_size=40),
       st.integers(1, 4), st.integers(1, 7), st.booleans(), st.booleans())  # fmt: skip
def test_segments_and_list_match_pandas_for_str_and_category(
    lead_rows, event_rows, engaged, piece_rows, category, shared
):
    assume(any(r[0] is not None for r in lead_rows))  # the reference needs one e-mail
    leads_, events_ = make_leads(lead_rows), make_events(event_rows)
    stages = make_stages(leads_, lead_rows)
    given_events = as_category(events_) if category else events_
    kw = dict(as_of=AS_OF, competitor_domains=["rival.example"],
              competitor_companies=["Spy Corp"], fast_days=30, engaged_min_events=engaged)  # fmt: skip
    expected = ref_segment_leads(leads_, events_, stages, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "PIECE_ROWS", piece_rows)
        act = lead_activity(leads_, given_events, as_of=AS_OF) if shared else None
        got = segment_leads(leads_, given_events, None, stages, activity=act, **kw)
        pd.testing.assert_series_equal(got, expected)
        scores = pd.DataFrame({"lead_id": leads_["lead_id"],
                               "score": np.arange(len(leads_), dtype="float64")})  # fmt: skip
        converted = stages.set_index("lead_id")["sql_at"].notna()
        hq_kw = dict(as_of=AS_OF, target_industries=["software"], abm_accounts=["A2"],
                     min_score=1.0, min_interactions=1, exclude=("competitor", "other"),
                     converted=converted)  # fmt: skip
        hq = high_quality_leads(leads_, given_events, scores, got, activity=act, **hq_kw)
    pd.testing.assert_frame_equal(hq, ref_high_quality_leads(leads_, events_, scores, got, **hq_kw))


def one_id_per_row(ids, leads_, events_, stages):
    """The same data with every lead row under its own id (``a#0``, ``a#2``) and each event
    copied to every row of its lead: what each row of a repeated id should get."""
    uid = pd.Series([f"{x}#{i}" for i, x in enumerate(ids)], dtype="str")
    rows = pd.DataFrame({"lead_id": pd.Series(ids, dtype="str"), "uid": uid})
    ev = events_.merge(rows, on="lead_id", how="left")
    ev = ev.assign(lead_id=ev["uid"].astype("str")).drop(columns="uid")
    sql = stages.set_index("lead_id")["sql_at"].reindex(pd.Index(ids, dtype="str"))
    st_u = pd.DataFrame({"lead_id": uid, "sql_at": sql.to_numpy()})
    return leads_.assign(lead_id=uid), ev, st_u


@FAST
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=7),
       st.lists(event_st, max_size=40), st.integers(1, 5), st.booleans())  # fmt: skip
def test_repeated_lead_ids_get_their_lead_numbers_on_every_row(ids, event_rows, piece_rows, cat):
    """Each row of a repeated lead id gets that lead's events, as if each row had its own id
    and its own copy of the events (the validator flags repeats; the functions still answer
    for every row)."""
    rows = [("x@rival.example" if i % 2 else "y@ok.example", None, None, "software", "A1",
             float(3 * i), float(i)) for i in range(len(ids))]  # fmt: skip
    leads_ = make_leads(rows, ids)
    events_ = make_events(event_rows)
    keep = leads_.drop_duplicates("lead_id").index  # one stage history per distinct id
    stages = make_stages(leads_.loc[keep].reset_index(drop=True), [rows[i] for i in keep])
    given_events = as_category(events_) if cat else events_
    kw = dict(as_of=AS_OF, competitor_domains=["rival.example"], engaged_min_events=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "PIECE_ROWS", piece_rows)
        got = segment_leads(leads_, given_events, None, stages, **kw)
        act = lead_activity(leads_, given_events, as_of=AS_OF)
        # the list, given one segment and score per distinct id (as the notebook's frames are)
        seg = got.groupby(level=0, sort=False).first().astype(got.dtype)
        scores = pd.DataFrame({"lead_id": seg.index, "score": 1.0})
        hq_kw = dict(as_of=AS_OF, exclude=("competitor",), min_interactions=0)
        hq = high_quality_leads(leads_, given_events, scores, seg, **hq_kw)
    leads_u, events_u, stages_u = one_id_per_row(ids, leads_, events_, stages)
    expected = ref_segment_leads(leads_u, events_u, stages_u, **kw)
    assert got.index.tolist() == list(ids)
    assert got.tolist() == expected.tolist()
    n = ref_events_upto(events_u, AS_OF).groupby("lead_id").size()
    assert act.events.tolist() == n.reindex(leads_u["lead_id"], fill_value=0).tolist()
    seg_u = pd.Series(seg.reindex(ids).to_numpy(), index=leads_u["lead_id"].to_numpy())
    scores_u = pd.DataFrame({"lead_id": leads_u["lead_id"], "score": 1.0})
    ref = ref_high_quality_leads(leads_u, events_u, scores_u, seg_u, **hq_kw)
    ref = ref.assign(lead_id=ref["lead_id"].str.split("#").str[0].astype("str"))
    pd.testing.assert_frame_equal(hq, ref)


email_text = st.lists(
    st.sampled_from([*"ab@.R \t\x1cſ\u212aK", "rival", "example", "RIVAL.EXAMPLE"]), max_size=8
).map("".join)


@FAST
@given(st.lists(st.one_of(st.none(), email_text), min_size=1, max_size=8))
@example(["x@\u017fa.b", "y@\u212a", "z@mail.RIVAL.EXAMPLE\x1c", "w@a@rival.example", "v@k "])
@example(["a@b", None, "@\u212a\u212a", "rival.example"])
def test_competitor_domains_match_pandas_for_any_text(emails):
    """The ASCII pre-filter never drops an e-mail pandas' ``rsplit``/``strip``/``casefold``
    would match: odd whitespace (\\x1c is Python whitespace), a long s and a Kelvin sign that
    casefold to ASCII letters, several @."""
    assume(any(e is not None for e in emails))
    lf = pd.DataFrame({"lead_id": pd.Series([f"L{i}" for i in range(len(emails))], dtype="str"),
                       "email": pd.Series(emails, dtype="str")})  # fmt: skip
    kw = dict(as_of=AS_OF, competitor_domains=["rival.example", "sa.b", "k"])
    got = competitor_mask(lf, None, **kw)
    pd.testing.assert_series_equal(got, ref_competitor_mask(lf, None, **kw))


def test_lead_activity_counts_against_groupby_and_refuses_other_leads():
    ev = events()
    act = lead_activity(leads(), as_category(ev), as_of=AS_OF)
    assert isinstance(act, LeadActivity)
    frame = act.to_frame()
    known = ref_events_upto(ev, AS_OF)
    g = known.groupby("lead_id")
    ids = leads()["lead_id"]
    assert frame["events"].tolist() == g.size().reindex(ids, fill_value=0).tolist()
    assert frame["last_event"].tolist() == g["ts"].max().reindex(ids).tolist()
    signups = known.loc[known["event_type"] == "event_signup"].groupby("lead_id").size()
    assert frame["event_signup"].tolist() == signups.reindex(ids, fill_value=0).tolist()
    assert frame.loc["g", "event_signup"] == 2  # the sign-up after as_of is not counted
    with pytest.raises(ParamsError, match="other leads"):
        segment_leads(leads().iloc[:4], ev, None, None, as_of=AS_OF, activity=act)
    with pytest.raises(ParamsError, match="other leads"):
        segment_leads(leads(), ev, None, None, as_of=D("2026-05-31"), activity=act)
    with pytest.raises(ParamsError, match="missing web_visit"):
        segment_leads(leads(), ev, None, None, as_of=AS_OF, activity=act,
                      sales_signals={"web_visit": ("pricing",)})  # fmt: skip
    sc = pd.DataFrame({"lead_id": ids, "score": 1.0})
    with pytest.raises(ParamsError, match="other leads"):
        high_quality_leads(leads().iloc[:4], ev, sc, segs(), as_of=AS_OF, activity=act)
