"""The ``roi`` section of the params file, parsed into typed settings.

:class:`RoiConfig` is the section (the params layer calls :meth:`RoiConfig.from_dict`); it holds
:class:`ScenarioInputs` (``roi.scenario``, the planner's numbers of :mod:`leadnb.roi.whatif`),
:class:`SensitivityConfig` (``roi.sensitivity``, the grid's axes) and :class:`HoldoutConfig`
(``roi.holdout``, the randomised experiment of :mod:`leadnb.experiments.holdout`). Every parser
checks keys strictly and names the offending key in its :class:`~leadnb.errors.ParamsError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from leadnb.data.params import check_keys, expect_type, parse_date
from leadnb.errors import ParamsError
from leadnb.experiments.registration import HoldoutConfig

NUMBER = (int, float)


DEFAULT_AGE_BANDS = (60, 90, 120, 180, 270, 365)  # lead-age band edges (days) for old leads


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
        """Parse the ``roi.scenario`` section (strict keys, numbers only, none negative).

        Returns
        -------
        ScenarioInputs
            The article's numbers where the section is silent.

        Examples
        --------
        >>> ScenarioInputs.from_dict({"nurture_lift": 2}).nurture_lift
        2.0
        >>> try:
        ...     ScenarioInputs.from_dict({"nurture_lift": -1})
        ... except ParamsError as e:
        ...     print(e)
        ERROR: roi.scenario.nurture_lift must not be negative, got -1
          fix: set roi.scenario.nurture_lift to 0 or more
        """
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
        """Parse the ``roi.sensitivity`` section: lists of numbers, ``None`` derives the axis.

        Examples
        --------
        >>> SensitivityConfig.from_dict({"lifts": [1, 2]}).lifts
        (1.0, 2.0)
        """
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
        """The (lifts, budgets, nurture costs) of the grid for ``inputs``.

        Examples
        --------
        >>> lifts, budgets, costs = SensitivityConfig().axes(ScenarioInputs())
        >>> lifts[0], lifts[-1], budgets[2], costs[2]
        (1.0, 4.0, 90000.0, 9000.0)
        """
        lifts = list(self.lifts) if self.lifts else [1.0 + 0.5 * i for i in range(7)]
        scale = [0.5, 0.75, 1.0, 1.25, 1.5]
        budgets = (
            list(self.budgets) if self.budgets else [inputs.lead_gen_budget * s for s in scale]
        )
        base = inputs.nurture_cost or inputs.lead_gen_budget / 10
        costs = list(self.nurture_costs) if self.nurture_costs else [base * s for s in scale]
        return lifts, budgets, costs


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
        """Parse the ``roi`` section; ``{}`` gives every default. Unknown keys are an error.

        Returns
        -------
        RoiConfig
            The scenario inherits ``deal_value`` and ``win_rate`` unless it sets its own.

        Examples
        --------
        >>> cfg = RoiConfig.from_dict({"nurture_start": "2025-10-01", "deal_value": 24000}, Path("."))
        >>> cfg.nurture_start, cfg.scenario.deal_value, cfg.age_bands[0]
        (Timestamp('2025-10-01 00:00:00'), 24000.0, 60)
        """
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


__all__ = [
    "DEFAULT_AGE_BANDS",
    "HoldoutConfig",
    "RoiConfig",
    "ScenarioInputs",
    "SensitivityConfig",
]
