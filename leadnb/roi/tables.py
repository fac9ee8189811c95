"""The nurture ROI notebook's outputs: ``roi.csv`` and the headline numbers of ``metrics.json``.

:func:`roi_table` stacks the scenario rows (:mod:`leadnb.roi.whatif`), the before/after period
rows and the month rows (:mod:`leadnb.roi.monthly`) into ``roi.csv`` (CONTRACT section 4);
:func:`roi_metrics` gives the headline numbers of every part that ran.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leadnb.experiments.holdout import HoldoutResult
from leadnb.results import Kind, Metrics, Result
from leadnb.roi.effect import NurtureEffect, RoiResult
from leadnb.roi.monthly import PERIOD_COLUMNS
from leadnb.roi.whatif import SCENARIO_COLUMNS

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
    """``roi.csv``: the scenario, period and month rows stacked (CONTRACT section 4).

    Parameters
    ----------
    scenario
        :func:`leadnb.roi.whatif.scenario_table` (kind "scenario", label before/after).
    periods
        :func:`leadnb.roi.monthly.period_summary` (kind "period", label before/after).
    monthly
        :func:`leadnb.roi.monthly.monthly_roi` (kind "month", label YYYY-MM).

    Returns
    -------
    pandas.DataFrame
        The contract columns kind, label, sql_new, sql_old, sql_total, spend, cost_per_sql,
        opportunities, share_old, then cost_per_sql_loaded, spend_total, sql_share_old,
        opportunities_new, opportunities_old. Absent parts are left out; with none, no rows.

    Examples
    --------
    >>> from leadnb.roi.params import ScenarioInputs
    >>> from leadnb.roi.whatif import scenario_table
    >>> t = roi_table(scenario_table(ScenarioInputs()))
    >>> print(t[["kind", "label", "sql_total", "cost_per_sql", "share_old"]].round(3))
           kind   label  sql_total  cost_per_sql  share_old
    0  scenario  before      120.0         750.0      0.333
    1  scenario   after      180.0         500.0      0.500
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


#: the scenario columns whose before/after values reach ``metrics.json`` (kinds from
#: :data:`leadnb.roi.whatif.SCENARIO_COLUMNS`)
SCENARIO_METRICS = (
    "sql_total",
    "cost_per_sql",
    "cost_per_sql_loaded",
    "opportunities",
    "share_old",
)
#: the period columns that reach ``metrics.json`` (kinds from
#: :data:`leadnb.roi.monthly.PERIOD_COLUMNS`)
PERIOD_METRICS = ("sql_total", "sql_old", "cost_per_sql", "cost_per_sql_loaded", "cpa", "share_old")


def _pick(result: Result, keys: dict[str, str]) -> Metrics:
    """``result``'s fields as metrics named ``keys`` (metric key -> field), with the kinds the
    result declares for those fields."""
    kinds = type(result).kinds()
    return Metrics(
        {k: getattr(result, f) for k, f in keys.items()}, {k: kinds[f] for k, f in keys.items()}
    )


def roi_metrics(
    scenario: pd.DataFrame | None = None,
    periods: pd.DataFrame | None = None,
    effect: NurtureEffect | None = None,
    roi: RoiResult | None = None,
    holdout: HoldoutResult | None = None,
) -> Metrics:
    """Headline numbers for ``metrics.json``, each with its declared kind.

    Parameters
    ----------
    scenario
        :func:`leadnb.roi.whatif.scenario_table`.
    periods
        :func:`leadnb.roi.monthly.period_summary`.
    effect, roi, holdout
        :func:`leadnb.roi.effect.nurture_effect`, :func:`leadnb.roi.effect.nurture_roi`,
        :func:`leadnb.experiments.holdout.holdout_incremental`.

    Returns
    -------
    leadnb.results.Metrics
        Flat keys, absent parts left out: ``scenario_<col>_before``/``_after`` (col sql_total,
        cost_per_sql, cost_per_sql_loaded, opportunities, share_old),
        ``scenario_<col>_change_pct`` (percent units), ``scenario_roi``;
        ``<period>_<col>`` (period before/after; col sql_total, sql_old, cost_per_sql,
        cost_per_sql_loaded, cpa, share_old); ``nurture_lift`` with ``_ci_low``/``_ci_high``,
        ``incremental_sqls`` and ``incremental_sqls_per_month`` (with their intervals); ``roi`` (a
        rate: 3.128 is 312.8%) with its interval, ``nurture_cost``, ``incremental_value``,
        ``cost_per_incremental_sql_before_after``; ``holdout_diff`` with its interval,
        ``holdout_cost_per_incremental_sql`` (with its interval: the upper end is missing when
        the difference's interval reaches 0), ``holdout_interim`` (true when the holdout
        numbers are an interim look, not final), ``holdout_n_treatment`` and
        ``holdout_n_control`` (the leads behind the holdout's rates).

    Examples
    --------
    >>> from leadnb.roi.params import ScenarioInputs
    >>> from leadnb.roi.whatif import scenario_table
    >>> m = roi_metrics(scenario_table(ScenarioInputs()))
    >>> m["scenario_cost_per_sql_after"], m.formatted("scenario_share_old_after")
    (500.0, '50.0%')
    >>> m.formatted("scenario_sql_total_change_pct")
    '50.0%'
    """
    m = Metrics({}, {})
    if scenario is not None:
        s = scenario.set_index("scenario")
        values: dict[str, Any] = {}
        kinds: dict[str, Kind] = {}
        for col in SCENARIO_METRICS:
            for row in ("before", "after"):
                values[f"scenario_{col}_{row}"] = float(s.loc[row, col])
                kinds[f"scenario_{col}_{row}"] = SCENARIO_COLUMNS[col].kind
        for col in ("sql_total_change", "cost_per_sql_change", "opportunities_change"):
            values[f"scenario_{col}_pct"] = float(s.loc["after", col]) * 100
            kinds[f"scenario_{col}_pct"] = Kind.PERCENT
        if "roi" in s.columns:
            values["scenario_roi"] = float(s.loc["after", "roi"])
            kinds["scenario_roi"] = SCENARIO_COLUMNS["roi"].kind
        m = m | Metrics(values, kinds)
    if periods is not None and not periods.empty:
        p = periods.set_index("period")
        keys = {f"{period}_{col}": (period, col) for period in p.index for col in PERIOD_METRICS}
        m = m | Metrics(
            {k: float(p.loc[period, col]) for k, (period, col) in keys.items()},
            {k: PERIOD_COLUMNS[col].kind for k, (_, col) in keys.items()},
        )
    if effect is not None:
        m = m | _pick(
            effect,
            {
                "nurture_lift": "lift",
                "nurture_lift_ci_low": "lift_ci_low",
                "nurture_lift_ci_high": "lift_ci_high",
                "incremental_sqls": "incremental_sqls",
                "incremental_sqls_ci_low": "incremental_sqls_ci_low",
                "incremental_sqls_ci_high": "incremental_sqls_ci_high",
                "incremental_sqls_per_month": "incremental_sqls_per_month",
                "incremental_sqls_per_month_ci_low": "incremental_sqls_per_month_ci_low",
                "incremental_sqls_per_month_ci_high": "incremental_sqls_per_month_ci_high",
            },
        )
    if roi is not None:
        m = m | _pick(
            roi,
            {
                "roi": "roi",
                "roi_ci_low": "roi_ci_low",
                "roi_ci_high": "roi_ci_high",
                "nurture_cost": "nurture_cost",
                "incremental_value": "incremental_value",
                "cost_per_incremental_sql_before_after": "cost_per_incremental_sql",
            },
        )
    if holdout is not None:
        m = m | _pick(
            holdout,
            {
                "holdout_diff": "diff",
                "holdout_diff_ci_low": "diff_ci_low",
                "holdout_diff_ci_high": "diff_ci_high",
                "holdout_cost_per_incremental_sql": "cost_per_incremental_sql",
                "holdout_cost_per_incremental_sql_ci_low": "cost_per_incremental_sql_ci_low",
                "holdout_cost_per_incremental_sql_ci_high": "cost_per_incremental_sql_ci_high",
                "holdout_interim": "interim",
                "holdout_n_treatment": "n_treatment",
                "holdout_n_control": "n_control",
            },
        )
    return m


_HEADLINE_LABELS: dict[str, str] = {
    "roi": "Return on nurture spend (before/after)",
    "incremental_sqls_per_month": "Extra SQLs a month from old leads",
    "holdout_cost_per_incremental_sql": "Cost per extra SQL (randomised holdout)",
    "nurture_lift": "Old leads reaching SQL, after vs before",
    "holdout_diff": "SQL rate, nurtured minus held out",
    "before_cost_per_sql": "Lead-gen cost per SQL before nurturing",
    "after_cost_per_sql": "Lead-gen cost per SQL since nurturing",
    "before_cost_per_sql_loaded": "Fully loaded cost per SQL before nurturing",
    "after_cost_per_sql_loaded": "Fully loaded cost per SQL since nurturing",
    "scenario_cost_per_sql_before": "What-if: cost per SQL without nurturing",
    "scenario_cost_per_sql_after": "What-if: cost per SQL with nurturing",
    "scenario_cost_per_sql_change_pct": "What-if: change in cost per SQL",
    "scenario_sql_total_before": "What-if: SQLs a month without nurturing",
    "scenario_sql_total_after": "What-if: SQLs a month with nurturing",
}


def roi_headline(
    cost_basis: str = "lead_generation", *, holdout_interim: bool = False
) -> tuple[list[str], dict[str, str]]:
    """What the run index card shows: the ``"headline"`` keys of ``metrics.json`` in order, and
    a plain label for each (``"labels"``).

    The card shows the first three keys the run has. A head of sales needs, in order: whether
    nurture pays (``roi``), how many extra SQLs it brings (``incremental_sqls_per_month``) and
    what an extra SQL costs in the randomised holdout (the preferred measure). Then the lift and
    the holdout difference, the cost per SQL before and after on ``cost_basis``
    (``lead_generation`` or ``fully_loaded``), and last the what-if scenario from the params,
    which a run without its own comparison falls back to. An interim holdout goes after the
    before/after numbers, and its labels say "interim".

    Examples
    --------
    >>> keys, labels = roi_headline()
    >>> keys[:3]
    ['roi', 'incremental_sqls_per_month', 'holdout_cost_per_incremental_sql']
    >>> labels["holdout_cost_per_incremental_sql"]
    'Cost per extra SQL (randomised holdout)'
    >>> keys, labels = roi_headline("fully_loaded", holdout_interim=True)
    >>> keys[:3], labels["holdout_diff"]
    (['roi', 'incremental_sqls_per_month', 'nurture_lift'], 'SQL rate, nurtured minus held out (interim)')
    >>> "after_cost_per_sql_loaded" in keys, "after_cost_per_sql" in keys
    (True, False)
    """
    if cost_basis not in ("lead_generation", "fully_loaded"):
        raise ValueError(f"cost_basis must be lead_generation or fully_loaded, got {cost_basis!r}")
    loaded = "_loaded" if cost_basis == "fully_loaded" else ""
    holdout = ["holdout_cost_per_incremental_sql", "holdout_diff"]
    measured = ["nurture_lift", f"before_cost_per_sql{loaded}", f"after_cost_per_sql{loaded}"]
    if holdout_interim:
        keys = ["roi", "incremental_sqls_per_month", *measured, *holdout]
    else:
        keys = ["roi", "incremental_sqls_per_month", holdout[0], measured[0], holdout[1]]
        keys += measured[1:]
    keys += [
        "scenario_cost_per_sql_before",
        "scenario_cost_per_sql_after",
        "scenario_cost_per_sql_change_pct",
        "scenario_sql_total_before",
        "scenario_sql_total_after",
    ]
    labels = {k: _HEADLINE_LABELS[k] for k in keys}
    if holdout_interim:
        labels.update({k: f"{labels[k]} (interim)" for k in holdout})
    return keys, labels


__all__ = [
    "PERIOD_METRICS",
    "ROI_COLUMNS",
    "SCENARIO_METRICS",
    "roi_headline",
    "roi_metrics",
    "roi_table",
]
