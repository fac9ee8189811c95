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

2. **From data** (the wide stage-date frame of :func:`leadnb.funnel.stages.stage_dates`, the costs table,
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
from leadnb.data.params import check_keys, expect_type, parse_date
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.funnel.stages import classify_new_old

NUMBER = (int, float)
MIN_MONTHS = 2  # complete months with old leads needed on each side of the nurture start
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
            fix=f"pass a frame with {', '.join(missing)} (leadnb.funnel.stages.stage_dates builds it)",
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


def _d(ts: pd.Timestamp) -> str:
    """A date for a sentence (``"an unknown date"`` when missing)."""
    return "an unknown date" if pd.isna(ts) else f"{pd.Timestamp(ts):%Y-%m-%d}"


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).to_period("M").to_timestamp()


def _first_month_from(start: pd.Timestamp) -> pd.Timestamp:
    """The first calendar month that begins on or after ``start`` (its first day)."""
    m = _month_start(start)
    return m if m == start else m + pd.offsets.MonthBegin(1)


def run_date_for(month_start: pd.Timestamp) -> pd.Timestamp:
    """The first analysis date on which the month beginning ``month_start`` is complete (its last
    day: the analysis day counts whole, see :mod:`leadnb.asof`).

    >>> run_date_for(pd.Timestamp("2025-11-01"))
    Timestamp('2025-11-30 00:00:00')
    """
    return _month_start(month_start) + pd.offsets.MonthBegin(1) - asof.ONE_DAY


def comparison_date(
    first_created: pd.Timestamp,
    nurture_start: pd.Timestamp,
    *,
    new_lead_days: int = 30,
    min_months: int = MIN_MONTHS,
) -> pd.Timestamp | None:
    """The first analysis date from which the before/after comparison of old leads can run.

    It needs ``min_months`` complete calendar months on each side of the nurture start: after,
    months that begin on or after the start (a mid-month start leaves its month out); before,
    months that end by the start and in which some lead is old (``new_lead_days`` after the first
    lead's creation). The date is the last day of the ``min_months``-th month after the start;
    ``None`` when the before side can never have ``min_months`` months with old leads (a start too
    soon after the first lead).

    >>> comparison_date(pd.Timestamp("2025-01-01 10:00"), pd.Timestamp("2025-10-01"))
    Timestamp('2025-11-30 00:00:00')
    >>> comparison_date(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-10-15"))
    Timestamp('2025-12-31 00:00:00')
    >>> comparison_date(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")) is None
    True
    """
    first_old = pd.Timestamp(first_created) + pd.Timedelta(days=new_lead_days)
    before_end = _month_start(first_old) + pd.offsets.MonthBegin(min_months)
    if before_end > pd.Timestamp(nurture_start):
        return None
    return run_date_for(_first_month_from(nurture_start) + pd.offsets.MonthBegin(min_months - 1))


def _complete_months(stage_dates: pd.DataFrame, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Month edges (see :func:`_month_edges`) from the first lead known on ``as_of``;
    :class:`NotEnoughData` when no calendar month is complete yet."""
    created = stage_dates["created_at"]
    if created.notna().sum() == 0:
        raise NotEnoughData(
            "the leads table has no lead with a creation date",
            "the monthly figures appear once leads with created_at are loaded",
        )
    first = created.min()
    if not asof.known(created, as_of).any():
        raise NotEnoughData(
            f"no lead was created by the analysis date {_d(as_of)} (the first lead is dated "
            f"{_d(first)})",
            f"the monthly figures appear in the run of {_d(run_date_for(first))} or later",
        )
    edges = _month_edges(first, as_of)
    if len(edges) < 2:
        raise NotEnoughData(
            f"no calendar month is complete on {_d(as_of)} (the first lead was created on "
            f"{_d(first)})",
            f"the monthly figures appear in the run of {_d(run_date_for(first))} or later",
        )
    return edges


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
    a ``program`` column count as lead generation. :class:`NotEnoughData` (with the first run date
    that has one) when no calendar month is complete yet.
    """
    _need(stage_dates, ["created_at", _col(qualified_stage)], "stage dates", "monthly SQL counts")
    as_of = pd.Timestamp(as_of)
    edges = _complete_months(stage_dates, as_of)
    sd = _clip_as_of(stage_dates, as_of)
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

    :class:`NotEnoughData` when one side has no cohort yet: no lead created at least the window
    before the start (it cannot appear with this start date), or no lead created since the start
    whose window has closed (the sentence names the first run date that has one).
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
    days = config.conversion_window_days
    start = config.nurture_start
    first = stage_dates["created_at"].min()
    if pd.isna(first) or not first < start - w:
        shown = "" if pd.isna(first) else f" (the first lead was created on {_d(first)})"
        raise NotEnoughData(
            f"no lead was created at least {days} days (roi.conversion_window_days) before the "
            f"nurture start ({_d(start)}){shown}, so there are no before cohorts",
            "the conversion rates cannot appear with this start date (a shorter "
            "roi.conversion_window_days would allow them)",
        )
    since = sd.loc[sd["created_at"] >= start, "created_at"]
    if not (since < as_of - w).any():
        # the first after-cohort lead counts once as_of - window is past its creation
        c0 = since.min() if len(since) else start
        raise NotEnoughData(
            f"no lead created since the nurture start ({_d(start)}) has had its {days}-day window "
            f"close by {_d(as_of)}",
            f"the conversion rates appear in the run of {_d((c0 + w).floor('D') + asof.ONE_DAY)} "
            "or later",
        )
    cohorts = {
        "before": (first.normalize(), start - w),
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

    The frame's ``attrs`` record what :func:`nurture_effect` needs to say when a comparison that
    lacks months will appear: ``nurture_start``, ``as_of``, ``new_lead_days`` and
    ``first_created`` (the first lead's creation). :class:`NotEnoughData` when no calendar month
    is complete yet.
    """
    q = _col(qualified_stage)
    _need(stage_dates, ["lead_id", "created_at", q], "stage dates", "old leads' SQL rates")
    as_of = pd.Timestamp(as_of)
    edges = _complete_months(stage_dates, as_of)
    sd = _clip_as_of(stage_dates, as_of)
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
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(
        nurture_start=start,
        as_of=as_of,
        new_lead_days=new_lead_days,
        first_created=sd["created_at"].min(),
    )
    return out


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
    """The before (months with old leads) and after rows of an :func:`old_lead_table`;
    :class:`NotEnoughData` (see :func:`comparison_missing`) unless each side has
    :data:`MIN_MONTHS` complete months."""
    t = old_table
    total = t.groupby("month")["exposure"].transform("sum")
    b = t.loc[(t["period"] == "before") & (total > 0)]
    a = t.loc[t["period"] == "after"]
    nb_, na = b["month"].nunique(), a["month"].nunique()
    if nb_ < MIN_MONTHS or na < MIN_MONTHS:
        raise comparison_missing(nb_, na, **old_table.attrs)
    return b, a


def comparison_missing(
    months_before: int,
    months_after: int,
    *,
    nurture_start: pd.Timestamp | None = None,
    as_of: pd.Timestamp | None = None,
    new_lead_days: int | None = None,
    first_created: pd.Timestamp | None = None,
) -> NotEnoughData:
    """The :class:`NotEnoughData` of a before/after comparison with too few complete months
    (``months_before`` with old leads, ``months_after``): what is missing, and the run date from
    which it appears (:func:`comparison_date`), or why it cannot appear with this start date.

    >>> print(comparison_missing(9, 1, nurture_start=pd.Timestamp("2025-10-01"),
    ...     as_of=pd.Timestamp("2025-11-15"), new_lead_days=30,
    ...     first_created=pd.Timestamp("2025-01-01")).sentence())
    The before/after comparison needs 2 complete months after the nurture start (2025-10-01) and has 1 (2025-10); it appears in the run of 2025-11-30 or later.
    """
    need = MIN_MONTHS
    if nurture_start is None or as_of is None or first_created is None or pd.isna(first_created):
        return NotEnoughData(
            f"the before/after comparison needs {need} complete months with old leads on each "
            f"side of the nurture start and has {months_before} before, {months_after} after",
            "it appears once both sides have them",
        )
    days = 30 if new_lead_days is None else int(new_lead_days)
    start, as_of = pd.Timestamp(nurture_start), pd.Timestamp(as_of)
    first_old = pd.Timestamp(first_created) + pd.Timedelta(days=days)
    ready = comparison_date(first_created, start, new_lead_days=days, min_months=need)
    earliest_start = _month_start(first_old) + pd.offsets.MonthBegin(need)
    never = (
        f"it cannot appear with this start date: the first lead turned old on {_d(first_old)}, "
        f"so roi.nurture_start must be {_d(earliest_start)} or later (or load earlier history)"
    )
    when = never if ready is None else f"it appears in the run of {_d(ready)} or later"
    if first_old >= asof.day_end(as_of):
        return NotEnoughData(
            f"no lead is old yet on {_d(as_of)} (a lead is old {days} days after it is created; "
            f"the first lead turns old on {_d(first_old)}), so there is no before/after comparison",
            when,
        )
    if as_of < start:
        return NotEnoughData(
            f"the analysis date {_d(as_of)} is before the nurture start ({_d(start)}): the "
            f"before/after comparison needs {need} complete months after the start and has none",
            when,
        )
    if months_after < need:
        first_after = _first_month_from(start)
        shown = "" if months_after == 0 else f" ({first_after:%Y-%m})"
        return NotEnoughData(
            f"the before/after comparison needs {need} complete months after the nurture start "
            f"({_d(start)}) and has {months_after}{shown}",
            when,
        )
    if ready is None:
        return NotEnoughData(
            f"the before/after comparison needs {need} complete months with old leads before the "
            f"nurture start ({_d(start)}) and has {months_before}",
            never,
        )
    return NotEnoughData(
        f"the before/after comparison needs {need} complete months with old leads (leads not yet "
        f"qualified {days} days or more after their creation) before the nurture start "
        f"({_d(start)}) and has {months_before}: leads qualified before they turned old",
        "it cannot appear with this start date and stage history",
    )


def nurture_effect(old_table: pd.DataFrame, alpha: float = 0.05) -> NurtureEffect:
    """Compare old leads' SQL rate after vs before the start, same age with same age, from
    :func:`old_lead_table` (see :class:`NurtureEffect`). Before-months without old leads (the first
    month of the data) carry no information and are left out; transition months too.

    :class:`NotEnoughData` when either side has fewer than :data:`MIN_MONTHS` complete months
    (the sentence names the first run date that has them, :func:`comparison_missing`) or no
    old-lead SQL."""
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
    start = old_table.attrs.get("nurture_start")
    at = "" if start is None else f" ({_d(start)})"
    if sb == 0:
        raise NotEnoughData(
            f"old leads had no SQLs in the {b['month'].nunique()} complete months before the "
            f"nurture start{at}, so there is no rate to compare with and no lift",
            "it cannot appear with this start date and stage history (check roi.nurture_start, "
            "funnel.new_lead_days and funnel.qualified_stage)",
        )
    if sa == 0:
        raise NotEnoughData(
            f"old leads have no SQLs in the {a['month'].nunique()} complete months after the "
            f"nurture start{at}, so the lift cannot be estimated",
            "it appears in the first run after an old lead qualifies",
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
    window = f"roi.conversion_window_days, {config.conversion_window_days} days"
    if n_sql == 0 or n_sq_opp == 0:
        later = sd.loc[sd["opportunity_at"].notna(), q].dropna()
        when = (
            f"it appears in the run of {_d(_ready_on(later.min(), config))} or later"
            if len(later)
            else "it appears once SQLs reach the opportunity stage and are "
            f"{config.conversion_window_days} days old"
        )
        raise NotEnoughData(
            f"no SQL reached by {_d(mature)} (old enough to judge: {window}) has become an "
            f"opportunity on {_d(as_of)} ({n_sql:,} such SQLs)",
            f"the value of an SQL and the ROI need one; {when}",
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
            first_opp = sd["opportunity_at"].min()
            raise NotEnoughData(
                f"no opportunity was reached by {_d(mature)} (old enough to judge: {window}), "
                "so there is no win rate to measure",
                f"it appears in the run of {_d(_ready_on(first_opp, config))} or later, or set "
                "roi.win_rate in the params file",
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


def _ready_on(ts: pd.Timestamp, config: RoiConfig) -> pd.Timestamp:
    """The first analysis date on which a stage reached at ``ts`` counts as matured in
    :func:`sql_value` (``ts <= as_of - conversion_window_days``)."""
    return (pd.Timestamp(ts) + pd.Timedelta(days=config.conversion_window_days)).ceil("D")


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

    :class:`NotEnoughData` when the after months have no nurture spend in the costs table.
    """
    after = monthly.loc[monthly["period"] == "after"]
    cost = float(after["spend_nurture"].sum())
    if len(after) and after["spend_nurture"].isna().all():
        raise NotEnoughData(
            "the ROI needs the nurture spend after the start, and no costs table is loaded",
            f"it appears once data.costs holds it (program '{config.nurture_program}')",
        )
    if not cost > 0:
        raise NotEnoughData(
            f"the ROI needs the nurture spend of the {len(after)} complete months after the start, "
            f"and the costs table has none with program '{config.nurture_program}'",
            f"it appears once the costs table holds that spend (program "
            f"'{config.nurture_program}', or set roi.nurture_program to the name your costs use)",
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
    known on ``as_of`` whose window ended by then, and leads not already qualified when assigned.
    ``diff`` is the treatment minus control rate with a Newcombe interval (statsmodels
    ``confint_proportions_2indep``); cost per incremental SQL = cost per treated lead / diff, its
    interval the same transformation of the diff interval (upper end infinite when the diff
    interval reaches 0).

    ``interim`` (with ``interim_reason``) follows the A/B readout's rule when the experiment is
    registered (enrolment still open, or an arm below its planned n: see
    :func:`holdout_interim`); without a registration, while any assignment's window is still open
    or assignment goes on after ``as_of``. An interim result is not a final one.
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
    interim: bool = False
    interim_reason: str = ""
    label: str = "randomised holdout: preferred measure"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _closed_from(window_end: pd.Timestamp) -> pd.Timestamp:
    """The first analysis date by whose end a window ending at ``window_end`` has closed
    (``window_end < asof.day_end(as_of)``)."""
    return (pd.Timestamp(window_end) - asof.ONE_DAY).floor("D") + asof.ONE_DAY


def holdout_interim(
    assignments: pd.DataFrame,
    holdout: HoldoutConfig,
    as_of: pd.Timestamp,
    registration: Any = None,
) -> tuple[bool, str]:
    """Whether a holdout readout on ``as_of`` is interim, and why (``""`` when final).

    With the experiment's :class:`~leadnb.experiments.registry.Registration`, the A/B readout's own rule
    (:mod:`leadnb.experiments.readout`): interim while enrolment is open (``as_of`` before the registered
    ``end``) or an arm has fewer enrolled leads than planned, the arms counted as the A/B readout
    counts them (:func:`leadnb.experiments.registry.prepare_assignments`). Without one: interim while any
    assignment known on ``as_of`` has a window still open at the end of that day, or the table
    holds assignments dated after ``as_of`` (assignment still going on).
    """
    as_of = pd.Timestamp(as_of)
    if registration is not None:
        from leadnb.experiments import readout as abtest
        from leadnb.experiments.registry import prepare_assignments

        clean, _ = prepare_assignments(assignments, registration, as_of)
        n = clean.groupby("variant").size().reindex(list(registration.arms), fill_value=0)
        counts = pd.DataFrame({"variant": n.index, "n_enrolled": n.to_numpy()})
        # the A/B module's rule, not a copy of it (leadnb.experiments.readout keeps it private for now)
        return abtest.is_interim(registration, counts, as_of)
    x = assignments.loc[assignments["experiment_id"] == holdout.experiment_id]
    at = x["assigned_at"]
    known = asof.known(at, as_of)
    ends = at[known] + pd.Timedelta(days=holdout.window_days)
    open_ = ends >= asof.day_end(as_of)
    why = []
    n_open = int(open_.sum())
    if n_open:
        windows = (
            "assignment's {}-day window is" if n_open == 1 else "assignments' {}-day windows are"
        )
        why.append(
            f"{n_open:,} {windows.format(holdout.window_days)} still open "
            f"(the last closes on {_d(_closed_from(ends.max()))})"
        )
    later = int((at.notna() & ~known).sum())
    if later:
        why.append(
            f"assignment goes on after {_d(as_of)} "
            f"({later:,} later assignment{'' if later == 1 else 's'})"
        )
    return bool(why), "; ".join(why)


def holdout_incremental(
    stage_dates: pd.DataFrame,
    assignments: pd.DataFrame,
    holdout: HoldoutConfig,
    as_of: pd.Timestamp,
    *,
    qualified_stage: str = "sql",
    alpha: float = 0.05,
    registration: Any = None,
) -> HoldoutResult:
    """Incremental SQLs and cost per incremental SQL from a randomised nurture holdout.

    ``registration`` (the experiment's :class:`~leadnb.experiments.registry.Registration`, if any) sets
    the interim rule (:func:`holdout_interim`). :class:`NotEnoughData` when the experiment has no
    rows in the assignments table, has only one arm, or has no closed window in an arm yet (the
    sentence names the first run date with one); a configured variant that is not among two or
    more variants present is a :class:`DataError`.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    _need(
        assignments,
        ["lead_id", "experiment_id", "variant", "assigned_at"],
        "assignments",
        "a holdout",
    )
    q = _col(qualified_stage)
    as_of = pd.Timestamp(as_of)
    eid = holdout.experiment_id
    w = pd.Timedelta(days=holdout.window_days)
    every = assignments.loc[assignments["experiment_id"] == eid]
    if every.empty:
        ids = assignments["experiment_id"].dropna().drop_duplicates().astype(str).head(5)
        listed = f" (it holds {', '.join(ids)})" if len(ids) else " (it is empty)"
        raise NotEnoughData(
            f"experiment {eid!r} (roi.holdout.experiment_id) has no rows in the assignments "
            f"table{listed}",
            "the holdout result appears once its assignments are loaded, or set "
            "roi.holdout.experiment_id to the experiment that holds leads out of nurturing",
        )

    def ready(rows: pd.DataFrame) -> str:
        """'it appears in the run of D or later', D the first date every arm has a closed window."""
        firsts = (rows["assigned_at"] + w).groupby(rows["variant"]).min().dropna()
        if len(firsts) < 2:
            return "it appears once both arms have assignments"
        return f"it appears in the run of {_d(_closed_from(firsts.max()))} or later"

    x = every.loc[asof.known(every["assigned_at"], as_of)]
    all_variants = every["variant"].dropna().drop_duplicates().tolist()
    variants = x["variant"].dropna().drop_duplicates().tolist()
    treat = holdout.treatment_variant
    if treat is None:
        others = [v for v in all_variants if v != holdout.control_variant]
        treat = others[0] if len(others) == 1 else None
    arms = {"control_variant": holdout.control_variant, "treatment_variant": treat}
    absent = {k: v for k, v in arms.items() if v is None or v not in all_variants}
    if absent and len(all_variants) >= 2:
        key, v = next(iter(absent.items()))
        raise DataError(
            f"variant {v!r} (roi.holdout.{key}) is not in experiment {eid!r}",
            table="assignments",
            column="variant",
            rows=pd.DataFrame({"variant": all_variants}),
            fix=f"set roi.holdout.{key} to one of: {', '.join(map(str, all_variants))}",
        )
    if absent:
        raise NotEnoughData(
            f"experiment {eid!r} has one arm only ({', '.join(map(str, all_variants))}): the "
            f"holdout compares {holdout.control_variant!r} with a treated arm",
            "it appears once both arms have assignments",
        )
    if x.empty or len(set(variants) & {holdout.control_variant, treat}) < 2:
        first = every["assigned_at"].min()
        dated = (
            "no assignment has an assigned_at date"
            if pd.isna(first)
            else f"its first assignment is dated {_d(first)}"
        )
        raise NotEnoughData(
            f"experiment {eid!r} has not assigned leads to both arms by {_d(as_of)} ({dated})",
            ready(every.loc[every["variant"].isin([holdout.control_variant, treat])]),
        )
    x = x.merge(stage_dates[["lead_id", q]], on="lead_id", how="left")
    sql_at = asof.upto(x[q], as_of)
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
        empty = holdout.control_variant if n_c == 0 else treat
        in_arm = x["variant"] == empty
        if not (in_arm & ~already).any():
            raise NotEnoughData(
                f"every lead of arm {empty!r} of experiment {eid!r} assigned by {_d(as_of)} had "
                f"already reached {qualified_stage} when assigned, so the arm has no outcome",
                "the holdout result appears once the experiment assigns leads not yet qualified",
            )
        eligible = every.loc[every["variant"].isin([holdout.control_variant, treat])]
        eligible = eligible.loc[~eligible["lead_id"].isin(x.loc[already, "lead_id"])]
        raise NotEnoughData(
            f"no {holdout.window_days}-day window of arm {empty!r} of experiment {eid!r} has "
            f"closed by {_d(as_of)}",
            f"the holdout result needs one in each arm; {ready(eligible)}",
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
    interim, why = holdout_interim(assignments, holdout, as_of, registration)
    return HoldoutResult(
        experiment_id=eid,
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
        interim=interim,
        interim_reason=why,
        label=(
            "randomised holdout, interim: not a final result"
            if interim
            else "randomised holdout: preferred measure"
        ),
    )


def holdout_registration(experiments: Any, holdout: HoldoutConfig | None) -> Any:
    """The registration of the holdout's experiment in the ``experiments`` section (its
    :class:`~leadnb.experiments.registry.ExperimentsConfig`), or ``None`` when it is not registered."""
    if holdout is None:
        return None
    regs = getattr(experiments, "registrations", ()) or ()
    return next((r for r in regs if r.id == holdout.experiment_id), None)


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


__all__ = [
    "HoldoutConfig",
    "HoldoutResult",
    "NurtureEffect",
    "RoiConfig",
    "RoiResult",
    "ScenarioInputs",
    "SensitivityConfig",
    "SqlValue",
    "comparison_date",
    "comparison_missing",
    "conversion_before_after",
    "holdout_incremental",
    "holdout_interim",
    "holdout_registration",
    "matches_article",
    "monthly_roi",
    "nurture_effect",
    "old_lead_table",
    "experiment_censoring",
    "nurture_roi",
    "period_summary",
    "roi_metrics",
    "roi_table",
    "run_date_for",
    "scenario_summary",
    "scenario_table",
    "sensitivity_grid",
    "sql_value",
]
