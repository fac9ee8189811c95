"""Nurture ROI: the article's worked example as a calculator, and the same figures from data.

Design, in three layers that share no state:

1. **Scenario calculator** (parameters only, no data). :class:`ScenarioInputs` holds the numbers a
   planner knows (new leads a month, SQLs from new and from existing leads, the nurture lift on
   existing leads, the lead-generation budget, opportunities from new and old leads...).
   :func:`scenario_table` turns them into a *before* and an *after* row; :func:`scenario_summary`
   into a metric-by-metric table of changes; :func:`sensitivity_grid` evaluates the same formulas
   over a grid of lift x budget (one vectorised call). The defaults are the article's numbers, so
   ``ScenarioInputs()`` reproduces its table exactly: 120 -> 180 SQLs a month (+50%), cost per SQL
   750 -> 500 (-33.3%), opportunities 300 -> 400 (+33.3%), old leads' share of opportunities
   1/3 -> 1/2.

   **Cost per SQL** is, as in the article, the *lead-generation* budget divided by SQLs (headline
   ``cost_per_sql``): nurturing turns leads already paid for into SQLs, so the lead-generation cost
   per SQL falls. Nurturing is not free, so the table also shows ``cost_per_sql_loaded`` =
   (lead generation + nurture cost) / SQLs, the fully-loaded variant. Cost per opportunity and CPA
   are always fully loaded (all marketing spend).

2. **From data** (the wide stage-date frame of :func:`leadnb.funnel.stage_dates`, the costs table,
   :class:`RoiConfig`, ``as_of``). :func:`monthly_roi` counts, per complete calendar month, SQLs
   from new and old leads (age at SQL below ``new_lead_days`` is new), opportunities and customers
   by the same split, spend by programme, and the exposure of old leads: the lead-months during
   which a lead was old (past ``new_lead_days``) and not yet an SQL. These are *period* counts
   (events in the month they happened), so they are not biased by immature cohorts; the
   *cohort* conversion rates of :func:`conversion_before_after` are, so they count conversion
   within ``conversion_window_days`` of creation and only for cohorts whose whole window lies
   before the nurture start (before) or between the start and ``as_of`` (after).

   The nurture effect (:func:`nurture_effect`) compares old leads' SQL *rate per old lead-month*
   after vs before the start, not their raw monthly counts: the stock of old leads grows as the
   database ages, so raw counts rise with no nurturing at all. The rate is compared *at the same
   lead age* (:func:`old_lead_table` splits exposure and SQLs by month and age band, a Lexis
   table; the lift is the after-period multiplier of a Poisson model with one rate per age band),
   because older leads convert less and the after period holds older leads. Leads assigned to an
   experiment leave the comparison at their assignment (their conversions are the experiment's).
   Incremental SQLs are the after-period old SQLs minus what the before-period band rates predict
   for the after-period exposure (the naive count difference is reported too, labelled).
   :func:`nurture_roi` values them at the measured SQL -> opportunity rate x win rate x deal value
   and compares with the nurture spend. The lift's interval is statsmodels' quasi-Poisson Wald
   interval (month-to-month shocks widen it); the ROI's is a seeded parametric bootstrap that
   draws the lift from that sampling distribution and the two funnel rates from their binomial
   counts (resampling 8-9 months per period under-covered in simulations: see
   :func:`nurture_roi`).

   Before/after figures are confounded by season and lead mix. When a randomised nurture holdout
   exists, :func:`holdout_incremental` gives incremental SQLs and cost per incremental SQL from the
   experiment: that is the preferred measure.

3. **Output**: :func:`roi_table` stacks scenario, period and month rows into ``roi.csv``
   (CONTRACT section 4) and :func:`roi_metrics` gives the headline numbers for ``metrics.json``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.config import check_keys, expect_type, parse_date
from leadnb.errors import DataError, ParamsError
from leadnb.funnel import classify_new_old

NUMBER = (int, float)
DEFAULT_AGE_BANDS = (60, 90, 120, 180, 270, 365)  # lead-age band edges (days) for old leads
STAGE_PAIRS = (("lead", "mql"), ("mql", "sql"), ("mql", "opportunity"), ("mql", "customer"))
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


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class ScenarioInputs:
    """Inputs of the scenario calculator, per month unless said otherwise.

    The defaults are the article's worked example. ``opportunity_lift`` is the factor by which old
    leads' opportunities grow (the article: 100 -> 200, so 2.0, lower than the 2.5x SQL lift);
    ``None`` means the same as ``nurture_lift``. ``opportunities_old_after`` overrides it with a
    count. Opportunities are counted over ``opportunity_months`` months (the article: a year).
    ``win_rate`` (opportunity -> customer) and ``deal_value`` are optional; with both, the table
    has pipeline values and the nurture ROI.
    """

    new_leads_per_month: float = 800.0
    existing_leads: float = 10_000.0
    sql_from_new: float = 80.0
    sql_from_existing: float = 40.0
    nurture_lift: float = 2.5
    lead_gen_budget: float = 90_000.0
    nurture_cost: float = 0.0
    opportunities_new: float = 200.0
    opportunities_old: float = 100.0
    opportunity_lift: float | None = 2.0
    opportunities_old_after: float | None = None
    opportunity_months: float = 12.0
    win_rate: float | None = None
    deal_value: float | None = None

    @property
    def opportunities_old_after_value(self) -> float:
        """Old leads' opportunities after nurturing (explicit count, else old x lift)."""
        if self.opportunities_old_after is not None:
            return float(self.opportunities_old_after)
        lift = self.nurture_lift if self.opportunity_lift is None else self.opportunity_lift
        return self.opportunities_old * lift

    @classmethod
    def from_dict(cls, d: Any, where: str = "roi.scenario") -> ScenarioInputs:
        """Parse the ``roi.scenario`` section (strict keys, numbers only, none negative)."""
        names = [f.name for f in fields(cls)]
        d = check_keys(d, names, where)
        optional = {"opportunity_lift", "opportunities_old_after", "win_rate", "deal_value"}
        values: dict[str, Any] = {}
        for k, v in d.items():
            if v is None and k in optional:
                values[k] = None
                continue
            expect_type(v, NUMBER, f"{where}.{k}")
            if v < 0:
                raise ParamsError(
                    f"{where}.{k} must not be negative, got {v}",
                    fix=f"set {where}.{k} to 0 or more",
                )
            values[k] = float(v)
        if values.get("win_rate") is not None and values["win_rate"] > 1:
            raise ParamsError(
                f"{where}.win_rate is a share between 0 and 1, got {values['win_rate']}",
                fix=f"write {where}.win_rate as e.g. 0.2 for 20%",
            )
        return cls(**values)


@dataclass(frozen=True)
class SensitivityConfig:
    """Grid of the sensitivity tables. ``None`` derives the axis from the scenario:
    lifts 1.0 to 4.0 by 0.5; budgets and nurture costs 50% to 150% of the scenario's, 5 steps."""

    lifts: tuple[float, ...] | None = None
    budgets: tuple[float, ...] | None = None
    nurture_costs: tuple[float, ...] | None = None

    @classmethod
    def from_dict(cls, d: Any, where: str = "roi.sensitivity") -> SensitivityConfig:
        d = check_keys(d, ("lifts", "budgets", "nurture_costs"), where)
        out: dict[str, Any] = {}
        for k, v in d.items():
            if v is None:
                continue
            expect_type(v, list, f"{where}.{k}")
            if not v:
                raise ParamsError(f"{where}.{k} is empty", fix=f"list values, e.g. {k}: [1, 2, 3]")
            for i, x in enumerate(v):
                expect_type(x, NUMBER, f"{where}.{k}[{i}]")
            out[k] = tuple(float(x) for x in v)
        return cls(**out)

    def axes(self, inputs: ScenarioInputs) -> tuple[list[float], list[float], list[float]]:
        """The (lifts, budgets, nurture costs) of the grid for ``inputs``."""
        lifts = list(self.lifts) if self.lifts else [1.0 + 0.5 * i for i in range(7)]
        scale = [0.5, 0.75, 1.0, 1.25, 1.5]
        budgets = (
            list(self.budgets) if self.budgets else [inputs.lead_gen_budget * s for s in scale]
        )
        base = inputs.nurture_cost or inputs.lead_gen_budget / 10
        costs = list(self.nurture_costs) if self.nurture_costs else [base * s for s in scale]
        return lifts, budgets, costs


@dataclass(frozen=True)
class HoldoutConfig:
    """A randomised nurture experiment in the assignments table: the control arm gets no (or the
    cheaper) nurture, the treatment arm the programme; the outcome is reaching the qualified stage
    within ``window_days`` of assignment. ``cost_per_treated_lead`` is the extra cost of treating
    one lead (the nurture cost per nurtured lead)."""

    experiment_id: str
    control_variant: str
    treatment_variant: str | None = None
    window_days: int = 30
    cost_per_treated_lead: float | None = None

    @classmethod
    def from_dict(cls, d: Any, where: str = "roi.holdout") -> HoldoutConfig:
        keys = [f.name for f in fields(cls)]
        d = check_keys(d, keys, where, required=("experiment_id", "control_variant"))
        expect_type(d["experiment_id"], str, f"{where}.experiment_id")
        expect_type(d["control_variant"], str, f"{where}.control_variant")
        if d.get("treatment_variant") is not None:
            expect_type(d["treatment_variant"], str, f"{where}.treatment_variant")
        window = expect_type(d.get("window_days", 30), int, f"{where}.window_days")
        cost = d.get("cost_per_treated_lead")
        if cost is not None:
            expect_type(cost, NUMBER, f"{where}.cost_per_treated_lead")
        return cls(
            experiment_id=d["experiment_id"],
            control_variant=d["control_variant"],
            treatment_variant=d.get("treatment_variant"),
            window_days=_positive(window, f"{where}.window_days"),
            cost_per_treated_lead=None if cost is None else float(cost),
        )


def _positive(v: int, where: str) -> int:
    if v <= 0:
        raise ParamsError(
            f"{where} must be a positive whole number, got {v}", fix=f"set {where}: 30"
        )
    return v


@dataclass(frozen=True)
class RoiConfig:
    """The ``roi`` section of the params file.

    ``nurture_start`` splits before/after (``None``: no data analysis, the scenario only).
    ``deal_value`` is the average value of a won deal; ``win_rate`` (opportunity -> customer) is
    measured from the data when ``None``. ``conversion_window_days`` is the window of the cohort
    conversion rates. Costs whose ``program`` is ``lead_gen_program`` are lead generation, those
    whose program is ``nurture_program`` are nurture; other programmes count only in fully-loaded
    figures. ``age_bands`` are the lead ages (days) at which old leads are split into bands for
    the same-age comparison of :func:`nurture_effect` (ages below ``funnel.new_lead_days`` are
    ignored; ``[]`` compares all old leads as one group). ``exclude_experiments``: a lead assigned
    to any experiment leaves the before/after comparison from its assignment date.
    """

    nurture_start: pd.Timestamp | None = None
    deal_value: float | None = None
    win_rate: float | None = None
    bootstrap_samples: int = 1000
    seed: int = 0
    conversion_window_days: int = 90
    lead_gen_program: str = "lead_generation"
    nurture_program: str = "nurture"
    scenario: ScenarioInputs = field(default_factory=ScenarioInputs)
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)
    holdout: HoldoutConfig | None = None
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    exclude_experiments: bool = True

    @classmethod
    def from_dict(cls, d: Any, base_dir: Path) -> RoiConfig:
        """Parse the ``roi`` section; ``{}`` gives every default. Unknown keys are an error."""
        keys = [f.name for f in fields(cls)]
        d = check_keys(d, keys, "roi")
        start = d.get("nurture_start")
        deal_value = d.get("deal_value")
        if deal_value is not None:
            expect_type(deal_value, NUMBER, "roi.deal_value")
        win_rate = d.get("win_rate")
        if win_rate is not None:
            expect_type(win_rate, NUMBER, "roi.win_rate")
            if not 0 < win_rate <= 1:
                raise ParamsError(
                    f"roi.win_rate is a share between 0 and 1, got {win_rate}",
                    fix="write roi.win_rate as e.g. 0.25, or null to measure it from the data",
                )
        samples = expect_type(d.get("bootstrap_samples", 1000), int, "roi.bootstrap_samples")
        seed = expect_type(d.get("seed", 0), int, "roi.seed")
        window = expect_type(d.get("conversion_window_days", 90), int, "roi.conversion_window_days")
        lead_gen = expect_type(
            d.get("lead_gen_program", "lead_generation"), str, "roi.lead_gen_program"
        )
        nurture = expect_type(d.get("nurture_program", "nurture"), str, "roi.nurture_program")
        scen_raw = dict(d.get("scenario") or {})
        scenario = ScenarioInputs.from_dict(scen_raw)
        # the scenario inherits deal value and win rate from the section unless it sets its own
        if "deal_value" not in scen_raw and deal_value is not None:
            scenario = replace(scenario, deal_value=float(deal_value))
        if "win_rate" not in scen_raw and win_rate is not None:
            scenario = replace(scenario, win_rate=float(win_rate))
        holdout = d.get("holdout")
        bands = d.get("age_bands", list(DEFAULT_AGE_BANDS))
        expect_type(bands, list, "roi.age_bands")
        for i, b in enumerate(bands):
            expect_type(b, int, f"roi.age_bands[{i}]")
        if any(b2 <= b1 for b1, b2 in zip(bands, bands[1:], strict=False)) or any(
            b <= 0 for b in bands
        ):
            raise ParamsError(
                f"roi.age_bands must be increasing positive whole days, got {bands}",
                fix="write e.g. roi.age_bands: [60, 90, 120, 180, 270, 365]",
            )
        exclude = expect_type(d.get("exclude_experiments", True), bool, "roi.exclude_experiments")
        return cls(
            nurture_start=None if start in (None, "") else parse_date(start, "roi.nurture_start"),
            deal_value=None if deal_value is None else float(deal_value),
            win_rate=None if win_rate is None else float(win_rate),
            bootstrap_samples=_positive(samples, "roi.bootstrap_samples"),
            seed=seed,
            conversion_window_days=_positive(window, "roi.conversion_window_days"),
            lead_gen_program=lead_gen,
            nurture_program=nurture,
            scenario=scenario,
            sensitivity=SensitivityConfig.from_dict(d.get("sensitivity")),
            holdout=None if holdout is None else HoldoutConfig.from_dict(holdout),
            age_bands=tuple(bands),
            exclude_experiments=exclude,
        )


# --------------------------------------------------------------------------------------------
# 1. Scenario calculator


def _div(a: Any, b: Any) -> Any:
    """a / b with NaN where b is 0 (works on scalars and arrays)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out[()] if out.ndim == 0 else out


def _scenario_after(
    inputs: ScenarioInputs, lift: Any, budget: Any, nurture_cost: Any
) -> dict[str, Any]:
    """The 'after' figures for arrays of lift, lead-gen budget and nurture cost (broadcast)."""
    lift = np.asarray(lift, dtype=float)
    budget = np.asarray(budget, dtype=float)
    nurture_cost = np.asarray(nurture_cost, dtype=float)
    sql_old = inputs.sql_from_existing * lift
    sql_total = inputs.sql_from_new + sql_old
    # old leads' opportunities grow with the lift in the scenario's proportion:
    # opp_lift(lift) passes through (1, 1) and (nurture_lift, scenario's opportunity lift)
    base_opp_lift = _div(inputs.opportunities_old_after_value, inputs.opportunities_old)
    if inputs.nurture_lift != 1 and not np.isnan(base_opp_lift):
        opp_lift = 1 + (base_opp_lift - 1) * (lift - 1) / (inputs.nurture_lift - 1)
    else:
        opp_lift = lift
    opp_old = inputs.opportunities_old * opp_lift
    opps = inputs.opportunities_new + opp_old
    out = {
        "sql_old": sql_old,
        "sql_total": sql_total,
        "cost_per_sql": _div(budget, sql_total),
        "cost_per_sql_loaded": _div(budget + nurture_cost, sql_total),
        "opportunities_old": opp_old,
        "opportunities": opps,
        "roi": _roi(inputs, opps, nurture_cost),
    }
    return out


def _roi(inputs: ScenarioInputs, opps_after: Any, nurture_cost: Any) -> Any:
    """(incremental won value a month - nurture cost a month) / nurture cost; NaN when unknown."""
    if inputs.win_rate is None or inputs.deal_value is None:
        return np.full(np.broadcast(opps_after, nurture_cost).shape, np.nan)[()]
    opps_before = inputs.opportunities_new + inputs.opportunities_old
    gain = (np.asarray(opps_after) - opps_before) / inputs.opportunity_months
    value = gain * inputs.win_rate * inputs.deal_value
    return _div(value - nurture_cost, nurture_cost)


def scenario_table(inputs: ScenarioInputs) -> pd.DataFrame:
    """Before and after rows of the calculator (per month; opportunities per ``opportunity_months``).

    Columns: scenario, new_leads, existing_leads, sql_new, sql_old, sql_total, sql_rate_new,
    sql_rate_old, spend (lead generation), nurture_cost, spend_total, cost_per_sql (lead generation
    only, the article's), cost_per_sql_loaded (with nurture), opportunities_new, opportunities_old,
    opportunities, share_old (old leads' share of opportunities), sql_share_old,
    cost_per_opportunity (fully loaded, spend over the opportunity period), the change columns
    sql_total_change, cost_per_sql_change, opportunities_change (relative to before, as fractions),
    and, with win rate and deal value, pipeline_value (opportunities x deal value), won_value
    (x win rate) and roi (after row only).

    >>> t = scenario_table(ScenarioInputs())
    >>> t[["sql_total", "cost_per_sql", "opportunities", "share_old"]].round(4).to_numpy().tolist()
    [[120.0, 750.0, 300.0, 0.3333], [180.0, 500.0, 400.0, 0.5]]
    """
    i = inputs
    after = _scenario_after(i, i.nurture_lift, i.lead_gen_budget, i.nurture_cost)
    opp_old_before = i.opportunities_old
    rows = {
        "scenario": ["before", "after"],
        "new_leads": [i.new_leads_per_month] * 2,
        "existing_leads": [i.existing_leads] * 2,
        "sql_new": [i.sql_from_new] * 2,
        "sql_old": [i.sql_from_existing, float(after["sql_old"])],
        "nurture_lift": [1.0, i.nurture_lift],
        "spend": [i.lead_gen_budget] * 2,
        "nurture_cost": [0.0, i.nurture_cost],
        "opportunities_new": [i.opportunities_new] * 2,
        "opportunities_old": [opp_old_before, i.opportunities_old_after_value],
    }
    t = pd.DataFrame(rows)
    t["sql_total"] = t["sql_new"] + t["sql_old"]
    t["sql_rate_new"] = _div(t["sql_new"], t["new_leads"])
    t["sql_rate_old"] = _div(t["sql_old"], t["existing_leads"])
    t["spend_total"] = t["spend"] + t["nurture_cost"]
    t["cost_per_sql"] = _div(t["spend"], t["sql_total"])
    t["cost_per_sql_loaded"] = _div(t["spend_total"], t["sql_total"])
    t["opportunities"] = t["opportunities_new"] + t["opportunities_old"]
    t["share_old"] = _div(t["opportunities_old"], t["opportunities"])
    t["sql_share_old"] = _div(t["sql_old"], t["sql_total"])
    t["cost_per_opportunity"] = _div(t["spend_total"] * i.opportunity_months, t["opportunities"])
    for col in ("sql_total", "cost_per_sql", "opportunities"):
        base = t[col].iloc[0]
        t[f"{col}_change"] = _div(t[col] - base, base)
    if i.win_rate is not None and i.deal_value is not None:
        t["pipeline_value"] = t["opportunities"] * i.deal_value
        t["won_value"] = t["pipeline_value"] * i.win_rate
        roi = _roi(i, t["opportunities"].iloc[1], i.nurture_cost)
        t["roi"] = [np.nan, float(roi)]
    order = [
        "scenario",
        "new_leads",
        "existing_leads",
        "sql_new",
        "sql_old",
        "sql_total",
        "sql_rate_new",
        "sql_rate_old",
        "nurture_lift",
        "spend",
        "nurture_cost",
        "spend_total",
        "cost_per_sql",
        "cost_per_sql_loaded",
        "opportunities_new",
        "opportunities_old",
        "opportunities",
        "share_old",
        "sql_share_old",
        "cost_per_opportunity",
    ]
    return t[order + [c for c in t.columns if c not in order]]


ARTICLE_FIGURES = {
    "sql_total": (120.0, 180.0),
    "cost_per_sql": (750.0, 500.0),
    "opportunities": (300.0, 400.0),
    "share_old": (1 / 3, 0.5),
}


def matches_article(table: pd.DataFrame) -> bool:
    """True when a :func:`scenario_table` reproduces the article's four headline figures
    (SQLs 120 -> 180, cost per SQL 750 -> 500, opportunities 300 -> 400, old share 1/3 -> 1/2)."""
    t = table.set_index("scenario")
    return all(
        math.isclose(float(t.loc["before", c]), b) and math.isclose(float(t.loc["after", c]), a)
        for c, (b, a) in ARTICLE_FIGURES.items()
    )


SUMMARY_METRICS = (
    ("sql_new", "SQLs a month from new leads (< 30 days)"),
    ("sql_old", "SQLs a month from existing (old) leads"),
    ("sql_total", "SQLs a month"),
    ("spend", "Lead-generation budget a month"),
    ("cost_per_sql", "Cost per SQL (lead-generation budget)"),
    ("cost_per_sql_loaded", "Cost per SQL, fully loaded (with nurture cost)"),
    ("opportunities_new", "Opportunities from new leads"),
    ("opportunities_old", "Opportunities from old leads"),
    ("opportunities", "Opportunities"),
    ("share_old", "Old leads' share of opportunities"),
)


def scenario_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per metric of :func:`scenario_table`: metric, label, before, after, change
    (after - before), change_pct (percent change; NaN where before is 0)."""
    before = table.set_index("scenario").loc["before"]
    after = table.set_index("scenario").loc["after"]
    metrics = list(SUMMARY_METRICS)
    if "roi" in table.columns:
        metrics.append(("won_value", "Expected won value (opportunities x win rate x deal value)"))
    out = pd.DataFrame(
        {
            "metric": [m for m, _ in metrics],
            "label": [lab for _, lab in metrics],
            "before": [float(before[m]) for m, _ in metrics],
            "after": [float(after[m]) for m, _ in metrics],
        }
    )
    out["change"] = out["after"] - out["before"]
    out["change_pct"] = _div(out["change"], out["before"]) * 100
    return out


def sensitivity_grid(
    inputs: ScenarioInputs,
    lifts: Sequence[float],
    budgets: Sequence[float],
    budget: str = "lead_gen_budget",
) -> pd.DataFrame:
    """Cost per SQL and ROI after nurturing over a grid of nurture lift x budget.

    ``budget`` names the input the second axis sets: ``"lead_gen_budget"`` (cost per SQL moves) or
    ``"nurture_cost"`` (ROI and the fully-loaded cost per SQL move). Old leads' opportunities follow
    the lift in the scenario's own proportion (the line through lift 1 -> 1x and the scenario's lift
    -> its opportunity lift). Columns: nurture_lift, <budget>, sql_total, cost_per_sql,
    cost_per_sql_loaded, opportunities, roi (NaN without win rate and deal value).
    """
    if budget not in ("lead_gen_budget", "nurture_cost"):
        raise ParamsError(
            f"budget must be 'lead_gen_budget' or 'nurture_cost', got {budget!r}",
            fix="pass budget='lead_gen_budget' or budget='nurture_cost'",
        )
    lift, b = np.meshgrid(np.asarray(lifts, float), np.asarray(budgets, float), indexing="ij")
    lg = b if budget == "lead_gen_budget" else np.full_like(b, inputs.lead_gen_budget)
    nc = b if budget == "nurture_cost" else np.full_like(b, inputs.nurture_cost)
    after = _scenario_after(inputs, lift, lg, nc)
    roi = np.broadcast_to(np.asarray(after["roi"], float), lift.shape)
    return pd.DataFrame(
        {
            "nurture_lift": lift.ravel(),
            budget: b.ravel(),
            "sql_total": np.broadcast_to(after["sql_total"], lift.shape).ravel(),
            "cost_per_sql": np.broadcast_to(after["cost_per_sql"], lift.shape).ravel(),
            "cost_per_sql_loaded": np.broadcast_to(
                after["cost_per_sql_loaded"], lift.shape
            ).ravel(),
            "opportunities": np.broadcast_to(after["opportunities"], lift.shape).ravel(),
            "roi": roi.ravel(),
        }
    )


# --------------------------------------------------------------------------------------------
# 2. From data

STAGE_ORDER = ("lead", "mql", "sql", "opportunity", "customer")


def _col(stage: str) -> str:
    return f"{stage}_at"


def _need(df: pd.DataFrame, cols: Iterable[str], table: str, why: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            f"{table} has no column(s) {', '.join(missing)}: {why}",
            table=table,
            column=missing[0],
            fix=f"pass a frame with {', '.join(missing)} (leadnb.funnel.stage_dates builds it)",
        )


def _clip_as_of(stage_dates: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Leads created by ``as_of``, with every stage date after ``as_of`` treated as not reached."""
    sd = stage_dates.loc[asof.known(stage_dates["created_at"], as_of)].copy()
    end = asof.day_end(as_of)
    for c in sd.columns:
        if c.endswith("_at") and c != "created_at":
            sd[c] = sd[c].where(sd[c] < end)
    return sd


def _month_edges(start: pd.Timestamp, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Month starts from ``start``'s month through the last month complete on ``as_of``,
    plus the closing edge."""
    first = start.to_period("M").to_timestamp()
    last_complete = asof.day_end(as_of).to_period("M").to_timestamp()
    return pd.date_range(first, last_complete, freq="MS")


def _days(s: Any) -> np.ndarray:
    """Datetimes as float days since 1970 (NaT -> NaN), whatever the datetime unit."""
    s = pd.Series(s)
    return ((s - pd.Timestamp(0)) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)


def _overlap_integral(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum over intervals [s, e) of their overlap with each [edges[k], edges[k+1]) (in days).

    Uses F(x) = sum_{s<x}(x - s) - sum_{e<x}(x - e), the total overlap with (-inf, x), computed with
    sorted cumulative sums: O(n log n), no lead x month matrix.
    """
    keep = ends > starts
    s = np.sort(starts[keep])
    e = np.sort(ends[keep])
    cs = np.concatenate([[0.0], np.cumsum(s)])
    ce = np.concatenate([[0.0], np.cumsum(e)])
    ks = np.searchsorted(s, edges, side="left")
    ke = np.searchsorted(e, edges, side="left")
    f = (edges * ks - cs[ks]) - (edges * ke - ce[ke])
    return np.diff(f)


def monthly_roi(
    stage_dates: pd.DataFrame,
    costs: pd.DataFrame | None,
    config: RoiConfig,
    as_of: pd.Timestamp,
    *,
    new_lead_days: int = 30,
    qualified_stage: str = "sql",
) -> pd.DataFrame:
    """One row per complete calendar month from the first lead's month to ``as_of``.

    Columns: month, period ("before", "after", or "transition" for a month the start date falls
    inside), leads_created, sql_new, sql_old, sql_total, old_exposure (lead-months during which
    leads were old and not yet qualified), old_sql_rate (old SQLs per old lead-month),
    opportunities_new, opportunities_old, opportunities, customers, spend_lead_gen,
    spend_nurture, spend_other, spend (= spend_lead_gen, the article's basis), spend_total,
    cost_per_sql (lead generation / SQLs), cost_per_sql_loaded (all spend / SQLs),
    cost_per_opportunity and cpa (all spend / opportunities, / customers), share_old (old leads'
    share of opportunities), sql_share_old. Stage dates after ``as_of`` are ignored; costs without
    a ``program`` column count as lead generation.
    """
    _need(stage_dates, ["created_at", _col(qualified_stage)], "stage dates", "monthly SQL counts")
    if len(stage_dates) == 0:
        raise DataError("the stage-date frame has no leads", table="leads", fix="load some leads")
    as_of = pd.Timestamp(as_of)
    sd = _clip_as_of(stage_dates, as_of)
    edges = _month_edges(sd["created_at"].min(), as_of)
    if len(edges) < 2:
        raise DataError(
            f"no complete month between the first lead ({sd['created_at'].min():%Y-%m-%d}) and "
            f"as_of ({as_of:%Y-%m-%d})",
            table="leads",
            column="created_at",
            fix="use a later as_of or more history",
        )
    months = edges[:-1]
    out = pd.DataFrame({"month": months})
    start = config.nurture_start
    if start is None:
        out["period"] = "before"
    else:
        out["period"] = np.where(
            months >= start, "after", np.where(edges[1:] <= start, "before", "transition")
        )

    def per_month(ts: pd.Series) -> np.ndarray:
        m = ts.dt.to_period("M").dt.to_timestamp()
        return m.value_counts().reindex(months, fill_value=0).to_numpy(dtype=float)

    out["leads_created"] = per_month(sd["created_at"])
    q = _col(qualified_stage)
    cls = classify_new_old(sd, qualified_stage, new_lead_days)
    out["sql_new"] = per_month(sd.loc[cls == "new", q])
    out["sql_old"] = per_month(sd.loc[cls == "old", q])
    out["sql_total"] = out["sql_new"] + out["sql_old"]

    # exposure: from the day a lead turns old until it qualifies (or reaches a later stage) or the
    # last month ends; a lead marked lost stays at risk (nurturing works on exactly those leads)
    later = [c for c in (_col(s) for s in (qualified_stage, "opportunity", "customer")) if c in sd]
    stop = sd[later].min(axis=1) if later else pd.Series(pd.NaT, index=sd.index)
    old_from = _days(sd["created_at"] + pd.Timedelta(days=new_lead_days))
    until = _days(stop)
    until = np.where(np.isnan(until), _days([edges[-1]])[0], until)
    edge_days = _days(edges)
    lead_days = _overlap_integral(old_from, until, edge_days)
    out["old_exposure"] = lead_days / np.diff(edge_days)
    out["old_sql_rate"] = _div(out["sql_old"], out["old_exposure"])

    if "opportunity_at" in sd:
        ocls = classify_new_old(sd, "opportunity", new_lead_days)
        out["opportunities_new"] = per_month(sd.loc[ocls == "new", "opportunity_at"])
        out["opportunities_old"] = per_month(sd.loc[ocls == "old", "opportunity_at"])
    else:
        out["opportunities_new"] = np.nan
        out["opportunities_old"] = np.nan
    out["opportunities"] = out["opportunities_new"] + out["opportunities_old"]
    out["customers"] = per_month(sd["customer_at"].dropna()) if "customer_at" in sd else np.nan

    spend = _monthly_spend(costs, config, months, as_of)
    out = pd.concat([out, spend], axis=1)
    out["spend"] = out["spend_lead_gen"]
    out["spend_total"] = out["spend_lead_gen"] + out["spend_nurture"] + out["spend_other"]
    out["cost_per_sql"] = _div(out["spend"], out["sql_total"])
    out["cost_per_sql_loaded"] = _div(out["spend_total"], out["sql_total"])
    out["cost_per_opportunity"] = _div(out["spend_total"], out["opportunities"])
    out["cpa"] = _div(out["spend_total"], out["customers"])
    out["share_old"] = _div(out["opportunities_old"], out["opportunities"])
    out["sql_share_old"] = _div(out["sql_old"], out["sql_total"])
    return out


def _monthly_spend(
    costs: pd.DataFrame | None, config: RoiConfig, months: pd.DatetimeIndex, as_of: pd.Timestamp
) -> pd.DataFrame:
    """spend_lead_gen, spend_nurture, spend_other per month (NaN for all when there are no costs)."""
    cols = ["spend_lead_gen", "spend_nurture", "spend_other"]
    if costs is None:
        return pd.DataFrame(np.nan, index=range(len(months)), columns=cols)
    _need(costs, ["period_start", "amount"], "costs", "spend per month")
    c = costs.loc[costs["period_start"] <= as_of]
    month = c["period_start"].dt.to_period("M").dt.to_timestamp()
    if "program" in c:
        prog = c["program"].astype("str").fillna("")
        kind = np.where(
            prog == config.lead_gen_program,
            "spend_lead_gen",
            np.where(prog == config.nurture_program, "spend_nurture", "spend_other"),
        )
    else:
        kind = np.full(len(c), "spend_lead_gen")
    frame = pd.DataFrame(
        {"month": month.to_numpy(), "kind": kind, "amount": c["amount"].to_numpy()}
    )
    table = frame.pivot_table(index="month", columns="kind", values="amount", aggfunc="sum")
    table = table.reindex(index=months, columns=cols).fillna(0.0)
    return table.reset_index(drop=True).astype(float)


def period_summary(monthly: pd.DataFrame) -> pd.DataFrame:
    """Before and after rows from :func:`monthly_roi` (transition months left out).

    Counts and spend are monthly averages; ratios are ratios of the period's sums (not means of
    monthly ratios). Columns: period, months, first_month, last_month, the monthly columns, and
    old_sql_rate (old SQLs per old lead-month over the period).
    """
    rows = []
    for period in ("before", "after"):
        m = monthly.loc[monthly["period"] == period]
        if m.empty:
            continue
        n = len(m)
        sums = m.drop(columns=["month", "period"]).sum(min_count=1)
        row: dict[str, Any] = {
            "period": period,
            "months": n,
            "first_month": m["month"].min(),
            "last_month": m["month"].max(),
        }
        for col in (
            "leads_created",
            "sql_new",
            "sql_old",
            "sql_total",
            "old_exposure",
            "opportunities_new",
            "opportunities_old",
            "opportunities",
            "customers",
            "spend_lead_gen",
            "spend_nurture",
            "spend_other",
            "spend",
            "spend_total",
        ):
            row[col] = sums[col] / n
        row["old_sql_rate"] = _div(sums["sql_old"], sums["old_exposure"])
        row["cost_per_sql"] = _div(sums["spend"], sums["sql_total"])
        row["cost_per_sql_loaded"] = _div(sums["spend_total"], sums["sql_total"])
        row["cost_per_opportunity"] = _div(sums["spend_total"], sums["opportunities"])
        row["cpa"] = _div(sums["spend_total"], sums["customers"])
        row["share_old"] = _div(sums["opportunities_old"], sums["opportunities"])
        row["sql_share_old"] = _div(sums["sql_old"], sums["sql_total"])
        rows.append(row)
    return pd.DataFrame(rows)


def conversion_before_after(
    stage_dates: pd.DataFrame,
    config: RoiConfig,
    as_of: pd.Timestamp,
    *,
    qualified_stage: str = "sql",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The four conversion rates (lead->mql, mql->sql, mql->opportunity, mql->customer) for lead
    cohorts created before vs after the nurture start, like with like.

    A lead counts as converted when it reached the stage within ``conversion_window_days`` of its
    creation. Only cohorts whose whole window is observed and on one side of the start are used:
    before = created at least ``conversion_window_days`` before the start; after = created on or
    after the start and at least the window before ``as_of``. The from-stage must also be reached
    within the window. Wilson intervals (statsmodels). Columns: from_stage, to_stage, period,
    cohort_start, cohort_end, n_from, n_to, rate, ci_low, ci_high.
    """
    from statsmodels.stats.proportion import proportion_confint

    if config.nurture_start is None:
        raise ParamsError(
            "roi.nurture_start is not set: there is no before/after split",
            fix='set roi.nurture_start: "YYYY-MM-DD" (the date the nurture programme started)',
        )
    as_of = pd.Timestamp(as_of)
    sd = _clip_as_of(stage_dates, as_of)
    w = pd.Timedelta(days=config.conversion_window_days)
    start = config.nurture_start
    cohorts = {
        "before": (sd["created_at"].min().normalize(), start - w),
        "after": (start, as_of - w),
    }
    rows = []
    for frm, to in STAGE_PAIRS:
        to = qualified_stage if to == "sql" else to
        frm_col = "created_at" if frm == "lead" else _col(frm)
        if frm_col not in sd or _col(to) not in sd:
            continue
        for period, (lo, hi) in cohorts.items():
            c = sd.loc[(sd["created_at"] >= lo) & (sd["created_at"] < hi)]
            deadline = c["created_at"] + w
            reached_from = c[frm_col].notna() & (c[frm_col] <= deadline)
            reached_to = reached_from & c[_col(to)].notna() & (c[_col(to)] <= deadline)
            n_from, n_to = int(reached_from.sum()), int(reached_to.sum())
            low, high = (
                proportion_confint(n_to, n_from, alpha=alpha, method="wilson")
                if n_from
                else (np.nan, np.nan)
            )
            rows.append(
                {
                    "from_stage": frm,
                    "to_stage": to,
                    "period": period,
                    "cohort_start": lo,
                    "cohort_end": hi - pd.Timedelta(days=1),
                    "n_from": n_from,
                    "n_to": n_to,
                    "rate": n_to / n_from if n_from else np.nan,
                    "ci_low": float(low),
                    "ci_high": float(high),
                }
            )
    return pd.DataFrame(rows)


def experiment_censoring(assignments: pd.DataFrame | None) -> pd.Series | None:
    """Each assigned lead's first assignment date (index lead_id): from then on the lead belongs to
    an experiment and leaves the before/after comparison (its conversions are the experiment's)."""
    if assignments is None or assignments.empty or "assigned_at" not in assignments:
        return None
    a = assignments.dropna(subset=["assigned_at"])
    return a.groupby("lead_id")["assigned_at"].min()


def old_lead_table(
    stage_dates: pd.DataFrame,
    config: RoiConfig,
    as_of: pd.Timestamp,
    *,
    new_lead_days: int = 30,
    qualified_stage: str = "sql",
    censor_at: pd.Series | None = None,
) -> pd.DataFrame:
    """Old leads' SQLs and exposure per complete month and lead-age band (a Lexis table).

    A lead is *at risk* in age band [age_from, age_to) from ``created_at + max(age_from,
    new_lead_days)`` until it qualifies (or reaches a later stage; lost leads stay), leaves the band, is
    censored (``censor_at``, a Series indexed by lead_id, e.g. :func:`experiment_censoring`) or the
    month ends. ``exposure`` is in lead-months; ``sql_old`` counts the qualifications of such leads
    in that month and band. Columns: month, period, age_from, age_to, sql_old, exposure.
    """
    q = _col(qualified_stage)
    _need(stage_dates, ["lead_id", "created_at", q], "stage dates", "old leads' SQL rates")
    as_of = pd.Timestamp(as_of)
    sd = _clip_as_of(stage_dates, as_of)
    edges = _month_edges(sd["created_at"].min(), as_of)
    months = edges[:-1]
    edge_days = _days(edges)
    month_days = np.diff(edge_days)
    later = [_col(s) for s in (qualified_stage, "opportunity", "customer") if _col(s) in sd]
    stop = _days(sd[later].min(axis=1))
    stop = np.where(np.isnan(stop), edge_days[-1], stop)
    sql = _days(sd[q])
    if censor_at is not None:
        cens = _days(sd["lead_id"].map(censor_at))
        has = ~np.isnan(cens)
        stop = np.where(has, np.minimum(stop, cens), stop)
        sql = np.where(has & (sql >= cens), np.nan, sql)  # qualified inside the experiment
    created = _days(sd["created_at"])
    age_sql = sql - created
    sql_month = np.searchsorted(edge_days, sql, side="right") - 1  # index of the SQL's month
    cuts = [new_lead_days, *(b for b in config.age_bands if b > new_lead_days), np.inf]
    start = config.nurture_start
    if start is None:
        period = np.full(len(months), "before", dtype=object)
    else:
        period = np.where(
            months >= start, "after", np.where(edges[1:] <= start, "before", "transition")
        )
    parts = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):  # loop over a few age bands
        exposure = _overlap_integral(created + lo, np.minimum(created + hi, stop), edge_days)
        in_band = (age_sql >= lo) & (age_sql < hi) & (sql_month >= 0) & (sql_month < len(months))
        counts = np.bincount(sql_month[in_band].astype(int), minlength=len(months))
        parts.append(
            pd.DataFrame(
                {
                    "month": months,
                    "period": period,
                    "age_from": float(lo),
                    "age_to": float(hi),
                    "sql_old": counts[: len(months)].astype(float),
                    "exposure": exposure / month_days,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class NurtureEffect:
    """Old leads' SQL rate after vs before the nurture start, compared at the same lead age.

    ``lift`` is the after-period rate ratio of a Poisson regression (statsmodels GLM) of the
    monthly old-lead SQL counts on one indicator per age band plus an after-period indicator, with
    log exposure as offset; its interval is a Wald interval on the log scale with the Pearson
    dispersion (quasi-Poisson, never below Poisson) so month-to-month shocks widen it.
    ``crude_lift`` is the plain ratio of after and before rates, biased when the database ages
    (older leads convert less). ``incremental_sqls`` = after-period old SQLs minus what the
    before-period band rates predict for the after-period exposure, i.e. observed x (1 - 1/lift);
    its interval follows from the lift's. ``naive_incremental_sqls`` = (mean monthly old SQLs after
    - before) x after months, which ignores the growing stock of old leads, for comparison only.
    """

    months_before: int
    months_after: int
    sql_old_before: float
    sql_old_after: float
    exposure_before: float
    exposure_after: float
    rate_before: float
    rate_after: float
    crude_lift: float
    lift: float
    lift_ci_low: float
    lift_ci_high: float
    log_lift_se: float
    dispersion: float
    incremental_sqls: float
    incremental_sqls_ci: tuple[float, float]
    incremental_sqls_per_month: float
    naive_incremental_sqls: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split(old_table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The before (months with old leads) and after rows of an :func:`old_lead_table`."""
    t = old_table
    total = t.groupby("month")["exposure"].transform("sum")
    b = t.loc[(t["period"] == "before") & (total > 0)]
    a = t.loc[t["period"] == "after"]
    nb_, na = b["month"].nunique(), a["month"].nunique()
    if nb_ < 2 or na < 2:
        raise DataError(
            f"need at least 2 complete months with old leads before and 2 after the nurture start "
            f"(found {nb_} before, {na} after)",
            table="stages",
            fix="check roi.nurture_start and as_of, or load more history",
        )
    return b, a


def nurture_effect(old_table: pd.DataFrame, alpha: float = 0.05) -> NurtureEffect:
    """Compare old leads' SQL rate after vs before the start, same age with same age, from
    :func:`old_lead_table` (see :class:`NurtureEffect`). Before-months without old leads (the first
    month of the data) carry no information and are left out; transition months too."""
    from scipy.stats import norm
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    b, a = _split(old_table)
    cells = pd.concat([b, a])
    cells = cells.loc[cells["exposure"] > 0]
    # a band without any SQL has rate 0 and says nothing about the lift: leave it out of the model
    with_sql = cells.groupby("age_from")["sql_old"].transform("sum") > 0
    cells = cells.loc[with_sql]
    sb, sa = float(b["sql_old"].sum()), float(a["sql_old"].sum())
    eb, ea = float(b["exposure"].sum()), float(a["exposure"].sum())
    if sb == 0 or sa == 0:
        raise DataError(
            f"old leads have no SQLs {'before' if sb == 0 else 'after'} the nurture start: "
            "the lift cannot be estimated",
            table="stages",
            fix="check roi.nurture_start, funnel.new_lead_days and the stage history",
        )
    exog = pd.get_dummies(cells["age_from"], prefix="band", dtype=float)
    exog["after"] = (cells["period"] == "after").to_numpy(float)
    fit = GLM(
        cells["sql_old"].to_numpy(float),
        exog.to_numpy(float),
        family=families.Poisson(),
        offset=np.log(cells["exposure"].to_numpy(float)),
    ).fit()
    beta = float(fit.params[-1])
    dispersion = max(1.0, float(fit.pearson_chi2 / fit.df_resid)) if fit.df_resid > 0 else 1.0
    se = float(fit.bse[-1]) * math.sqrt(dispersion)
    z = float(norm.ppf(1 - alpha / 2))
    lift, low, high = math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se)
    months_a = a["month"].nunique()
    per_month_b = b.groupby("month")["sql_old"].sum()
    per_month_a = a.groupby("month")["sql_old"].sum()
    return NurtureEffect(
        months_before=int(b["month"].nunique()),
        months_after=int(months_a),
        sql_old_before=sb,
        sql_old_after=sa,
        exposure_before=eb,
        exposure_after=ea,
        rate_before=sb / eb,
        rate_after=sa / ea,
        crude_lift=(sa / ea) / (sb / eb),
        lift=lift,
        lift_ci_low=low,
        lift_ci_high=high,
        log_lift_se=se,
        dispersion=dispersion,
        incremental_sqls=sa * (1 - 1 / lift),
        incremental_sqls_ci=(sa * (1 - 1 / low), sa * (1 - 1 / high)),
        incremental_sqls_per_month=sa * (1 - 1 / lift) / months_a,
        naive_incremental_sqls=float((per_month_a.mean() - per_month_b.mean()) * months_a),
    )


@dataclass(frozen=True)
class SqlValue:
    """What an SQL is worth: P(opportunity | SQL) x win rate x deal value.

    Both rates are measured on stages old enough to have matured (reached at least
    ``conversion_window_days`` before ``as_of``); ``win_rate_given`` says the win rate came from
    the params instead. Intervals are Wilson intervals.
    """

    n_sql: int
    n_sql_to_opportunity: int
    sql_to_opportunity: float
    n_opportunity: int
    n_won: int
    win_rate: float
    win_rate_given: bool
    deal_value: float
    value_per_sql: float
    sql_to_opportunity_ci: tuple[float, float]
    win_rate_ci: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sql_value(
    stage_dates: pd.DataFrame,
    config: RoiConfig,
    as_of: pd.Timestamp,
    *,
    qualified_stage: str = "sql",
) -> SqlValue:
    """Measure what one SQL is worth in expected won value (see :class:`SqlValue`)."""
    from statsmodels.stats.proportion import proportion_confint

    if config.deal_value is None:
        raise ParamsError(
            "roi.deal_value is not set: an SQL cannot be valued",
            fix="set roi.deal_value: the average value of a won deal, e.g. 24000",
        )
    q = _col(qualified_stage)
    _need(stage_dates, [q, "opportunity_at"], "stage dates", "valuing an SQL")
    as_of = pd.Timestamp(as_of)
    sd = _clip_as_of(stage_dates, as_of)
    mature = as_of - pd.Timedelta(days=config.conversion_window_days)
    sqls = sd.loc[sd[q] <= mature]
    n_sql = len(sqls)
    n_sq_opp = int(sqls["opportunity_at"].notna().sum())
    if n_sql == 0 or n_sq_opp == 0:
        raise DataError(
            f"no matured SQLs with an opportunity (SQLs reached by {mature:%Y-%m-%d}: {n_sql})",
            table="stages",
            column=qualified_stage,
            fix="load stage history with opportunities, or use an earlier nurture analysis date",
        )
    if config.win_rate is not None:
        n_opp, n_won, win, given = 0, 0, config.win_rate, True
        win_ci = (config.win_rate, config.win_rate)
    else:
        _need(stage_dates, ["customer_at"], "stage dates", "measuring the win rate")
        opps = sd.loc[sd["opportunity_at"] <= mature]
        n_opp = len(opps)
        n_won = int(opps["customer_at"].notna().sum())
        if n_opp == 0:
            raise DataError(
                "no matured opportunities to measure the win rate from",
                table="stages",
                column="opportunity",
                fix="set roi.win_rate in the params file",
            )
        win, given = n_won / n_opp, False
        win_ci = tuple(float(x) for x in proportion_confint(n_won, n_opp, method="wilson"))
    p = n_sq_opp / n_sql
    return SqlValue(
        n_sql=n_sql,
        n_sql_to_opportunity=n_sq_opp,
        sql_to_opportunity=p,
        n_opportunity=n_opp,
        n_won=n_won,
        win_rate=win,
        win_rate_given=given,
        deal_value=config.deal_value,
        value_per_sql=p * win * config.deal_value,
        sql_to_opportunity_ci=tuple(
            float(x) for x in proportion_confint(n_sq_opp, n_sql, method="wilson")
        ),
        win_rate_ci=win_ci,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class RoiResult:
    """Nurture ROI from the before/after comparison (confounded by season and mix).

    roi = (incremental_value - nurture_cost) / nurture_cost over the after period's complete
    months; intervals are percentiles of a seeded parametric bootstrap (``samples``, ``seed``).
    """

    incremental_sqls: float
    incremental_sqls_ci: tuple[float, float]
    value_per_sql: float
    incremental_value: float
    nurture_cost: float
    roi: float
    roi_ci: tuple[float, float]
    cost_per_incremental_sql: float
    cost_per_incremental_sql_ci: tuple[float, float]
    samples: int
    seed: int
    label: str = "before/after: confounded by season and lead mix"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ci(x: np.ndarray) -> tuple[float, float]:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan)
    lo, hi = np.quantile(x, [0.025, 0.975], method="inverted_cdf")  # no interpolation: inf-safe
    return float(lo), float(hi)


def nurture_roi(
    effect: NurtureEffect, monthly: pd.DataFrame, value: SqlValue, config: RoiConfig
) -> RoiResult:
    """ROI of the nurture programme with a seeded bootstrap interval.

    The nurture cost is the nurture spend of the after-period months of ``monthly``
    (:func:`monthly_roi`); it is what was paid, so it is not resampled. The interval is a
    parametric bootstrap: each of ``config.bootstrap_samples`` replicates draws the log lift from
    its sampling distribution (normal, the GLM's quasi-Poisson standard error) and redraws
    P(opportunity | SQL) and (when measured) the win rate from their binomial counts. Resampling
    months was tried and rejected: with 8-9 months per period its percentile interval covered the
    true lift in only about 75% of simulated datasets (nominal 95%); resampling leads ignores the
    month-level shocks that the quasi-Poisson dispersion captures.
    """
    after = monthly.loc[monthly["period"] == "after"]
    cost = float(after["spend_nurture"].sum())
    if not cost > 0:
        raise DataError(
            "no nurture spend after the nurture start: ROI is undefined",
            table="costs",
            column="program",
            fix=f"add monthly rows with program '{config.nurture_program}' to the costs table "
            "(or set roi.nurture_program to the name your costs use)",
        )
    incr = effect.incremental_sqls
    inc_value = incr * value.value_per_sql
    rng = np.random.default_rng(config.seed)
    n = config.bootstrap_samples
    lift_s = np.exp(rng.normal(math.log(effect.lift), effect.log_lift_se, size=n))
    incr_s = effect.sql_old_after * (1 - 1 / lift_s)
    p_s = rng.binomial(value.n_sql, value.sql_to_opportunity, size=n) / value.n_sql
    if value.win_rate_given:
        w_s = np.full(n, value.win_rate)
    else:
        w_s = rng.binomial(value.n_opportunity, value.win_rate, size=n) / value.n_opportunity
    value_s = incr_s * p_s * w_s * value.deal_value
    roi_s = (value_s - cost) / cost
    cpi_s = np.where(incr_s > 0, cost / np.where(incr_s > 0, incr_s, 1.0), np.inf)
    return RoiResult(
        incremental_sqls=incr,
        incremental_sqls_ci=effect.incremental_sqls_ci,
        value_per_sql=value.value_per_sql,
        incremental_value=inc_value,
        nurture_cost=cost,
        roi=(inc_value - cost) / cost,
        roi_ci=_ci(roi_s),
        cost_per_incremental_sql=cost / incr if incr > 0 else math.inf,
        cost_per_incremental_sql_ci=_ci(cpi_s),
        samples=n,
        seed=config.seed,
    )


@dataclass(frozen=True)
class HoldoutResult:
    """Randomised nurture comparison: the preferred measure of incremental SQLs.

    Outcome: reached the qualified stage within ``window_days`` of assignment; only assignments
    whose window ended by ``as_of``, and leads not already qualified when assigned. ``diff`` is the
    treatment minus control rate with a Newcombe interval (statsmodels
    ``confint_proportions_2indep``); cost per incremental SQL = cost per treated lead / diff, its
    interval the same transformation of the diff interval (upper end infinite when the diff
    interval reaches 0).
    """

    experiment_id: str
    control_variant: str
    treatment_variant: str
    n_control: int
    sql_control: int
    rate_control: float
    n_treatment: int
    sql_treatment: int
    rate_treatment: float
    diff: float
    diff_ci_low: float
    diff_ci_high: float
    incremental_sqls: float
    cost_per_treated_lead: float | None
    cost_per_incremental_sql: float
    cost_per_incremental_sql_ci: tuple[float, float]
    excluded_already_qualified: int
    excluded_immature: int
    label: str = "randomised holdout: preferred measure"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def holdout_incremental(
    stage_dates: pd.DataFrame,
    assignments: pd.DataFrame,
    holdout: HoldoutConfig,
    as_of: pd.Timestamp,
    *,
    qualified_stage: str = "sql",
    alpha: float = 0.05,
) -> HoldoutResult:
    """Incremental SQLs and cost per incremental SQL from a randomised nurture holdout."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    _need(
        assignments,
        ["lead_id", "experiment_id", "variant", "assigned_at"],
        "assignments",
        "a holdout",
    )
    q = _col(qualified_stage)
    as_of = pd.Timestamp(as_of)
    x = assignments.loc[assignments["experiment_id"] == holdout.experiment_id]
    if x.empty:
        raise DataError(
            f"experiment {holdout.experiment_id!r} is not in the assignments table",
            table="assignments",
            column="experiment_id",
            rows=assignments["experiment_id"].drop_duplicates().head(5).to_frame(),
            fix="set roi.holdout.experiment_id to one of the experiment ids listed",
        )
    variants = x["variant"].drop_duplicates().tolist()
    treat = holdout.treatment_variant
    if treat is None:
        others = [v for v in variants if v != holdout.control_variant]
        treat = others[0] if len(others) == 1 else None
    for v, key in ((holdout.control_variant, "control_variant"), (treat, "treatment_variant")):
        if v is None or v not in variants:
            raise DataError(
                f"variant {v!r} (roi.holdout.{key}) is not in experiment {holdout.experiment_id!r}",
                table="assignments",
                column="variant",
                rows=pd.DataFrame({"variant": variants}),
                fix=f"set roi.holdout.{key} to one of: {', '.join(map(str, variants))}",
            )
    x = x.merge(stage_dates[["lead_id", q]], on="lead_id", how="left")
    sql_at = asof.upto(x[q], as_of)
    w = pd.Timedelta(days=holdout.window_days)
    mature = x["assigned_at"] + w < asof.day_end(as_of)
    already = sql_at.notna() & (sql_at < x["assigned_at"])
    keep = mature & ~already
    y = x.loc[keep]
    hit = sql_at[keep].notna() & (sql_at[keep] <= y["assigned_at"] + w)
    arm = y["variant"]
    n_c = int((arm == holdout.control_variant).sum())
    n_t = int((arm == treat).sum())
    k_c = int(hit[arm == holdout.control_variant].sum())
    k_t = int(hit[arm == treat].sum())
    if n_c == 0 or n_t == 0:
        raise DataError(
            f"experiment {holdout.experiment_id!r} has no matured assignments in one arm",
            table="assignments",
            fix="wait until the outcome window has passed, or use a later as_of",
        )
    diff = k_t / n_t - k_c / n_c
    low, high = confint_proportions_2indep(k_t, n_t, k_c, n_c, compare="diff", alpha=alpha)
    cost = holdout.cost_per_treated_lead
    if cost is None:
        cpi, cpi_ci = np.nan, (np.nan, np.nan)
    else:
        cpi = cost / diff if diff > 0 else math.inf
        cpi_ci = (
            cost / high if high > 0 else math.inf,
            cost / low if low > 0 else math.inf,
        )
    return HoldoutResult(
        experiment_id=holdout.experiment_id,
        control_variant=holdout.control_variant,
        treatment_variant=str(treat),
        n_control=n_c,
        sql_control=k_c,
        rate_control=k_c / n_c,
        n_treatment=n_t,
        sql_treatment=k_t,
        rate_treatment=k_t / n_t,
        diff=diff,
        diff_ci_low=float(low),
        diff_ci_high=float(high),
        incremental_sqls=diff * n_t,
        cost_per_treated_lead=cost,
        cost_per_incremental_sql=float(cpi),
        cost_per_incremental_sql_ci=(float(cpi_ci[0]), float(cpi_ci[1])),
        excluded_already_qualified=int((mature & already).sum()),
        excluded_immature=int((~mature).sum()),
    )


# --------------------------------------------------------------------------------------------
# 3. Output tables


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
    """Headline numbers for ``metrics.json`` (flat keys; absent parts are left out)."""
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
        )
    return m


__all__ = [
    "HoldoutConfig",
    "HoldoutResult",
    "NurtureEffect",
    "RoiConfig",
    "RoiResult",
    "ScenarioInputs",
    "SensitivityConfig",
    "SqlValue",
    "conversion_before_after",
    "holdout_incremental",
    "matches_article",
    "monthly_roi",
    "nurture_effect",
    "old_lead_table",
    "experiment_censoring",
    "nurture_roi",
    "period_summary",
    "roi_metrics",
    "roi_table",
    "scenario_summary",
    "scenario_table",
    "sensitivity_grid",
    "sql_value",
]
