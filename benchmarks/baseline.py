"""The same computations written as an analyst would in plain pandas: filter, groupby, merge.

Design: this is the "before" picture, not a straw man. Each scoring rule filters the events
frame with boolean masks, aggregates per ``lead_id`` with ``groupby`` and is merged back onto the
leads; the stage dates are a ``pivot_table`` of first entries merged onto the leads, and the
cohort matrix is a ``groupby`` per age. Nothing here is deliberately slow (no Python loop over
rows or leads); it simply does not encode the data once and reuse it, which is what leadnb does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadnb.funnel.stages import FunnelConfig, day_end
from leadnb.intervals import wilson
from leadnb.scoring.engine import field_mask
from leadnb.scoring.rules import EventCondition, FieldCondition, ScoringConfig


def score(
    leads: pd.DataFrame, events: pd.DataFrame, config: ScoringConfig, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Per-lead scores like :func:`leadnb.scoring.engine.score` (as of one date)."""
    as_of = pd.Timestamp(as_of)
    known = events[events["ts"] < day_end(as_of)]
    out = leads[["lead_id"]].copy()
    for r in config.rules:
        cond = r.when
        if isinstance(cond, EventCondition):
            m = known["event_type"] == cond.event_type
            if cond.values is not None:
                m &= known["value"].isin(list(cond.values))
            if cond.min_duration_s is not None:
                m &= known["duration_s"] >= cond.min_duration_s
            hits = known.loc[m, ["lead_id", "ts"]]
            age = ((as_of - hits["ts"]) / pd.Timedelta(days=1)).clip(lower=0)
            if r.window_days is not None:
                hits, age = hits[age <= r.window_days], age[age <= r.window_days]
            weight = 0.5 ** (age / r.half_life_days) if r.half_life_days else age * 0 + 1.0
            grouped = weight.groupby(hits["lead_id"])
            per_lead = (grouped.max() if r.once else grouped.sum()) * r.points
            out = out.merge(per_lead.rename(r.column), left_on="lead_id", right_index=True,
                            how="left")  # fmt: skip
            out[r.column] = out[r.column].fillna(0.0)
        else:
            out[r.column] = _field_hits(leads, cond).to_numpy(dtype=float) * r.points
        if r.cap is not None:
            out[r.column] = out[r.column].clip(-r.cap, r.cap)
    for cat, cap in config.categories.items():
        total = out[[r.column for r in config.rules if r.category == cat]].sum(axis=1)
        out[cat] = total.clip(upper=cap) if cap is not None else total
    out["score"] = out[list(config.categories)].sum(axis=1)
    return out


def _field_hits(leads: pd.DataFrame, cond: FieldCondition) -> pd.Series:
    """Which leads pass a field rule, with pandas string methods (text ops on text columns);
    numbers, dates and YAML booleans use leadnb's own test."""
    s = leads[cond.field]
    args = cond.arg if isinstance(cond.arg, list | tuple) else [cond.arg]
    if (
        not pd.api.types.is_string_dtype(s)
        or cond.op in ("gte", "lte", "between")
        or (cond.op != "present" and any(isinstance(v, bool) for v in args))
    ):
        return pd.Series(field_mask(leads, cond), index=leads.index)
    text = s.str.strip()
    present = s.notna() & (text != "")
    if cond.op == "present":
        return present if cond.arg else ~present
    folded = text.str.lower()
    if cond.op in ("equals", "in"):
        return present & folded.isin([str(v).strip().lower() for v in args])
    needle = str(cond.arg).strip().lower()  # contains
    return present & folded.str.contains(needle, regex=False).fillna(False)


def stage_dates(leads: pd.DataFrame, stages: pd.DataFrame, config: FunnelConfig) -> pd.DataFrame:
    """The wide stage-date frame: first entry per stage, later stages implying earlier ones."""
    names = {s.casefold(): s for s in config.all_stages}
    names.update({str(k).strip().casefold(): v for k, v in config.aliases.items()})
    st = stages.assign(stage=stages["stage"].str.strip().str.lower().map(names))
    st = st[st["stage"].isin(config.all_stages[1:]) & st["entered_at"].notna()]
    first = st.pivot_table(index="lead_id", columns="stage", values="entered_at", aggfunc="min")
    first.columns = [f"{c}_at" for c in first.columns]
    wide = leads[["lead_id", "created_at"]].merge(first, left_on="lead_id", right_index=True,
                                                  how="left")  # fmt: skip
    wide["lead_at"] = wide["created_at"]
    for s in config.all_stages[1:]:
        if f"{s}_at" not in wide:
            wide[f"{s}_at"] = pd.NaT
    funnel = [f"{s}_at" for s in config.stages[1:]]
    for earlier, later in zip(funnel[-2::-1], funnel[:0:-1], strict=True):
        wide[earlier] = wide[[earlier, later]].min(axis=1)
    return wide[["lead_id", "created_at", *[f"{s}_at" for s in config.all_stages]]]


def cohort_matrix(
    wide: pd.DataFrame, stage: str, as_of: pd.Timestamp, max_age: int
) -> pd.DataFrame:
    """Monthly creation cohorts x months since creation, cumulative share reaching ``stage``."""
    as_of = pd.Timestamp(as_of).normalize()
    end = day_end(as_of)
    w = wide[wide["created_at"].notna() & (wide["created_at"] < end)]
    cohort = w["created_at"].dt.to_period("M")
    rows = []
    for k in range(1, max_age + 1):
        hit = (w[f"{stage}_at"] <= w["created_at"] + pd.DateOffset(months=k)) & (
            w[f"{stage}_at"] < end
        )
        g = hit.groupby(cohort).agg(["size", "sum"])
        mature = [p.end_time.normalize() + pd.DateOffset(months=k) <= as_of for p in g.index]
        rows.append(
            pd.DataFrame(
                {
                    "cohort": g.index.astype("str"),
                    "age_months": k,
                    "n": g["size"].to_numpy(),
                    "converted": np.where(mature, g["sum"].to_numpy(float), np.nan),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True).sort_values(
        ["cohort", "age_months"], ignore_index=True
    )
    out["rate"] = out["converted"] / out["n"]
    lo, hi = wilson(out["converted"], out["n"])
    out["ci_low"], out["ci_high"] = (
        np.where(out["converted"].notna(), lo, np.nan),
        np.where(out["converted"].notna(), hi, np.nan),
    )
    return out


__all__ = ["cohort_matrix", "score", "stage_dates"]
