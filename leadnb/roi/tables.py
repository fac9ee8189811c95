"""The nurture ROI notebook's outputs: ``roi.csv`` and the headline numbers of ``metrics.json``.

:func:`roi_table` stacks the scenario rows (:mod:`leadnb.roi.whatif`), the before/after period
rows and the month rows (:mod:`leadnb.roi.monthly`) into ``roi.csv`` (CONTRACT section 4);
:func:`roi_metrics` gives the headline numbers of every part that ran.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadnb.experiments.holdout import HoldoutResult
from leadnb.roi.effect import NurtureEffect, RoiResult

ROI_COLUMNS = (
    "kind",
    "label",
    "sql_new",
    "sql_old",
    "sql_total",
    "spend",
    "cost_per_sql",
    "opportunities",
    "share_old",
)


def roi_table(
    scenario: pd.DataFrame | None = None,
    periods: pd.DataFrame | None = None,
    monthly: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``roi.csv``: scenario rows (kind "scenario", label before/after), period rows (kind
    "period") and month rows (kind "month", label YYYY-MM), with the contract columns kind, label,
    sql_new, sql_old, sql_total, spend, cost_per_sql, opportunities, share_old, then
    cost_per_sql_loaded, spend_total, sql_share_old, opportunities_new, opportunities_old.
    """
    extra = [
        "cost_per_sql_loaded",
        "spend_total",
        "sql_share_old",
        "opportunities_new",
        "opportunities_old",
    ]
    parts = []
    if scenario is not None:
        parts.append(scenario.assign(kind="scenario", label=scenario["scenario"]))
    if periods is not None and not periods.empty:
        parts.append(periods.assign(kind="period", label=periods["period"]))
    if monthly is not None and not monthly.empty:
        parts.append(monthly.assign(kind="month", label=monthly["month"].dt.strftime("%Y-%m")))
    if not parts:
        return pd.DataFrame(columns=[*ROI_COLUMNS, *extra])
    out = pd.concat([p.reindex(columns=[*ROI_COLUMNS, *extra]) for p in parts], ignore_index=True)
    return out


def roi_metrics(
    scenario: pd.DataFrame | None = None,
    periods: pd.DataFrame | None = None,
    effect: NurtureEffect | None = None,
    roi: RoiResult | None = None,
    holdout: HoldoutResult | None = None,
) -> dict[str, Any]:
    """Headline numbers for ``metrics.json`` (flat keys; absent parts are left out).
    ``holdout_interim`` is true when the holdout numbers are an interim look, not final."""
    m: dict[str, Any] = {}
    if scenario is not None:
        s = scenario.set_index("scenario")
        for col in (
            "sql_total",
            "cost_per_sql",
            "cost_per_sql_loaded",
            "opportunities",
            "share_old",
        ):
            m[f"scenario_{col}_before"] = float(s.loc["before", col])
            m[f"scenario_{col}_after"] = float(s.loc["after", col])
        for col in ("sql_total_change", "cost_per_sql_change", "opportunities_change"):
            m[f"scenario_{col}_pct"] = float(s.loc["after", col]) * 100
        if "roi" in s.columns:
            m["scenario_roi"] = float(s.loc["after", "roi"])
    if periods is not None and not periods.empty:
        p = periods.set_index("period")
        for period in p.index:
            for col in (
                "sql_total",
                "sql_old",
                "cost_per_sql",
                "cost_per_sql_loaded",
                "cpa",
                "share_old",
            ):
                m[f"{period}_{col}"] = float(p.loc[period, col])
    if effect is not None:
        m.update(
            nurture_lift=effect.lift,
            nurture_lift_ci_low=effect.lift_ci_low,
            nurture_lift_ci_high=effect.lift_ci_high,
            incremental_sqls=effect.incremental_sqls,
            incremental_sqls_per_month=effect.incremental_sqls_per_month,
        )
    if roi is not None:
        m.update(
            roi=roi.roi,
            roi_ci_low=roi.roi_ci[0],
            roi_ci_high=roi.roi_ci[1],
            nurture_cost=roi.nurture_cost,
            incremental_value=roi.incremental_value,
            cost_per_incremental_sql_before_after=roi.cost_per_incremental_sql,
        )
    if holdout is not None:
        m.update(
            holdout_diff=holdout.diff,
            holdout_diff_ci_low=holdout.diff_ci_low,
            holdout_diff_ci_high=holdout.diff_ci_high,
            holdout_cost_per_incremental_sql=holdout.cost_per_incremental_sql,
            holdout_interim=holdout.interim,
        )
    return m


__all__ = ["ROI_COLUMNS", "roi_metrics", "roi_table"]
