"""A/B test readouts for pre-registered nurture experiments, aware of outcomes that mature slowly.

Design: small pure functions on counts (:func:`compare_arms`, :func:`prob_beat_control`,
:func:`srm_p_value`, :func:`holm`) that delegate to statsmodels and scipy, a function that turns
assignments plus stage dates into per-lead outcomes with a maturity flag
(:func:`outcomes_from_stages`), and one orchestrating function :func:`readout` that reads the
registration, builds the ``ab_results`` rows (CONTRACT section 4) for the primary metric and the
guardrails, the per-arm Kaplan-Meier curves, the exclusion table and a one-sentence verdict.

Choices (and the libraries behind them):

* Difference in rates: Newcombe's hybrid score interval (Wilson intervals of each arm combined;
  statsmodels ``confint_proportions_2indep(method="newcomb")``), good coverage at small rates.
* Relative lift: ratio of rates with the log (Katz) interval, ``method="log"``; when an arm has
  zero conversions that interval does not exist and ``"log-adjusted"`` (add 0.5) is used instead.
* p-value: the pooled two-sided z-test (statsmodels ``proportions_ztest``). When any expected
  count of the 2x2 table is below 10 the normal approximation is poor and Fisher's exact test
  (scipy ``fisher_exact``) is used instead; the ``test`` column says which.
* Bayesian probability to beat control: Beta(1, 1) priors, computed *exactly* with the closed-form
  sum for P(B > A) of two Beta variables with integer parameters (E. Miller, "Formulas for
  Bayesian A/B testing", 2015), in log space; no Monte Carlo, so it is deterministic.
* Sample ratio mismatch: chi-square goodness of fit of the enrolled counts against the planned
  allocation (scipy ``chisquare``), flagged below 0.001.
* Three or more arms: Holm-adjusted p-values over the variant-vs-control comparisons
  (statsmodels ``multipletests(method="holm")``); with two arms ``p_adjusted == p_value``.
* Maturity: a lead whose window (assigned_at + window_days) has not closed by ``as_of`` is
  *immature*. It is excluded from the fixed-window rate (counting it as a failure biases every
  rate down and shrinks the difference; dropping it silently hides it) and counted in
  ``n_immature``. All leads, immature ones included, enter a per-arm Kaplan-Meier curve of time
  from assignment to the stage, censored at as_of and at the window (lifelines), compared with a
  log-rank test (``lifelines.statistics.logrank_test``). Whether a lead reached the stage in its
  window (and whether it was already there before assignment) comes from
  :func:`leadnb.funnel.stages.reached_within`; maturity is stricter than that helper's ``mature`` (which
  also counts an early converter of an open window as final): only a closed window counts, so
  early converters cannot inflate the rate of an interim look.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from leadnb import asof
from leadnb.errors import DataError, NotEnoughData, ParamsError
from leadnb.experiments import design
from leadnb.experiments.registry import (
    EXCLUSION_COLUMNS,
    LOG_COLUMNS,
    Metric,
    Registration,
    prepare_assignments,
    registration_fingerprint,
)
from leadnb.funnel.stages import reached_within

SRM_THRESHOLD = 0.001
MIN_EXPECTED = 10  # below this expected count in any cell, Fisher's exact test replaces the z-test

RESULT_COLUMNS = [
    "experiment_id",
    "metric",
    "variant",
    "is_control",
    "n",
    "conversions",
    "rate",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_lift",
    "rel_lift_ci_low",
    "rel_lift_ci_high",
    "p_value",
    "p_adjusted",
    "prob_beat_control",
    "srm_p_value",
    "verdict",
    # extra columns (after the contract's)
    "role",
    "metric_label",
    "rate_ci_low",
    "rate_ci_high",
    "test",
    "n_enrolled",
    "n_immature",
    "km_rate",
    "km_ci_low",
    "km_ci_high",
    "logrank_p",
    "interim",
    "as_of",
]


# --------------------------------------------------------------------------------------------
# Tests on counts


def z_test_p(x_c: int, n_c: int, x_v: int, n_v: int) -> float:
    """Two-sided pooled z-test p-value for rate_v != rate_c (statsmodels ``proportions_ztest``)."""
    if n_c == 0 or n_v == 0:
        return float("nan")
    if x_c + x_v in (0, n_c + n_v):
        return 1.0  # no variation at all: no evidence of a difference
    _, p = proportions_ztest([x_v, x_c], [n_v, n_c], alternative="two-sided")
    return float(p)


def fisher_p(x_c: int, n_c: int, x_v: int, n_v: int) -> float:
    """Two-sided Fisher exact test p-value of the 2x2 table (scipy ``fisher_exact``)."""
    if n_c == 0 or n_v == 0:
        return float("nan")
    return float(stats.fisher_exact([[x_v, n_v - x_v], [x_c, n_c - x_c]]).pvalue)


def needs_exact(x_c: int, n_c: int, x_v: int, n_v: int, min_expected: float = MIN_EXPECTED) -> bool:
    """True when any expected count of the 2x2 table (under the pooled rate) is below ``min_expected``."""
    n = n_c + n_v
    if n == 0:
        return False
    p = (x_c + x_v) / n
    expected = [n_c * p, n_c * (1 - p), n_v * p, n_v * (1 - p)]
    return min(expected) < min_expected


def prob_beat_control(
    x_c: int, n_c: int, x_v: int, n_v: int, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Exact P(rate_v > rate_c) with independent Beta priors (default Beta(1, 1)) on each rate.

    With posteriors A ~ Beta(a_c, b_c) and B ~ Beta(a_v, b_v) and an integer ``a_v``,
    ``P(B > A) = sum_{i=0}^{a_v-1} B(a_c+i, b_c+b_v) / ((b_v+i) B(1+i, b_v) B(a_c, b_c))``
    (B the Beta function). Summed in log space; the shorter of this sum and its mirror
    ``1 - P(A > B)`` is used. The priors must make ``a`` integers (they do for Beta(1, 1)).
    """
    if n_c == 0 or n_v == 0:
        return float("nan")
    a0, b0 = prior
    a_c, b_c = x_c + a0, n_c - x_c + b0
    a_v, b_v = x_v + a0, n_v - x_v + b0
    if a_v != int(a_v) or a_c != int(a_c):
        raise ParamsError("the exact formula needs integer prior successes", fix="use prior (1, 1)")

    def p_b_beats_a(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
        i = np.arange(int(a_b), dtype=float)
        logs = (
            special.betaln(a_a + i, b_a + b_b)
            - np.log(b_b + i)
            - special.betaln(1 + i, b_b)
            - special.betaln(a_a, b_a)
        )
        return float(np.exp(special.logsumexp(logs)))

    if a_v <= a_c:
        p = p_b_beats_a(a_c, b_c, a_v, b_v)
    else:
        p = 1.0 - p_b_beats_a(a_v, b_v, a_c, b_c)
    return float(min(max(p, 0.0), 1.0))


def prob_beat_control_mc(
    x_c: int, n_c: int, x_v: int, n_v: int, *, draws: int = 200_000, seed: int = 0
) -> float:
    """Monte Carlo estimate of :func:`prob_beat_control` (Beta(1, 1) priors, seeded); a check."""
    rng = np.random.default_rng(seed)
    c = rng.beta(x_c + 1, n_c - x_c + 1, size=draws)
    v = rng.beta(x_v + 1, n_v - x_v + 1, size=draws)
    return float(np.mean(v > c))


def srm_p_value(counts: Mapping[str, int], allocation: Mapping[str, float]) -> float:
    """Chi-square goodness-of-fit p-value of arm counts against the planned allocation shares.

    Arms missing from ``counts`` count as 0. NaN when no lead is enrolled. A value below
    :data:`SRM_THRESHOLD` (0.001) is a sample ratio mismatch: the assignment is probably broken.
    """
    arms = list(allocation)
    obs = np.array([float(counts.get(a, 0)) for a in arms])
    total = obs.sum()
    if total == 0 or len(arms) < 2:
        return float("nan")
    shares = np.array([float(allocation[a]) for a in arms])
    exp = total * shares / shares.sum()
    return float(stats.chisquare(obs, f_exp=exp).pvalue)


def holm(p_values: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Holm step-down adjusted p-values (statsmodels ``multipletests``); NaNs are kept as NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method="holm")[1]
    return out


def compare_arms(x_c: int, n_c: int, x_v: int, n_v: int, *, alpha: float = 0.05) -> dict[str, Any]:
    """Variant vs control on counts: difference and relative lift with intervals, p, P(beat).

    Returns diff (rate_v - rate_c) with the Newcombe interval, rel_lift (rate_v / rate_c - 1) with
    the log interval, p_value (pooled z-test, or Fisher's exact when an expected count < 10),
    test ("z" or "fisher"), and prob_beat_control (exact, Beta(1, 1) priors).
    """
    nan = float("nan")
    res: dict[str, Any] = dict(
        diff=nan,
        diff_ci_low=nan,
        diff_ci_high=nan,
        rel_lift=nan,
        rel_lift_ci_low=nan,
        rel_lift_ci_high=nan,
        p_value=nan,
        test="",
        prob_beat_control=nan,
    )
    if n_c == 0 or n_v == 0:
        return res
    r_c, r_v = x_c / n_c, x_v / n_v
    lo, hi = confint_proportions_2indep(
        x_v, n_v, x_c, n_c, method="newcomb", compare="diff", alpha=alpha
    )
    res.update(diff=r_v - r_c, diff_ci_low=float(lo), diff_ci_high=float(hi))
    if x_c > 0:
        method = "log" if x_v > 0 else "log-adjusted"
        lo, hi = confint_proportions_2indep(
            x_v, n_v, x_c, n_c, method=method, compare="ratio", alpha=alpha
        )
        res.update(
            rel_lift=r_v / r_c - 1, rel_lift_ci_low=float(lo) - 1, rel_lift_ci_high=float(hi) - 1
        )
    if needs_exact(x_c, n_c, x_v, n_v):
        res.update(p_value=fisher_p(x_c, n_c, x_v, n_v), test="fisher")
    else:
        res.update(p_value=z_test_p(x_c, n_c, x_v, n_v), test="z")
    res["prob_beat_control"] = prob_beat_control(x_c, n_c, x_v, n_v)
    return res


# --------------------------------------------------------------------------------------------
# Outcomes per lead


def outcomes_from_stages(
    assignments: pd.DataFrame,
    wide: pd.DataFrame,
    stage: str,
    window_days: int,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Per assignment: whether the lead reached ``stage`` within ``window_days`` of assigned_at.

    ``wide`` is the wide stage-date frame (lead_id, ``<stage>_at``; from
    :func:`leadnb.funnel.stages.stage_dates`); stage dates after ``as_of`` count as not reached. Returns
    the assignments with: ``days`` (assignment to stage, NaN if not reached), ``prior`` (reached
    before assignment), ``mature`` (window closed by as_of), ``converted`` (0/1 for mature leads,
    NaN for immature ones), and the survival inputs ``duration`` (days, capped at the window and
    at as_of) and ``event`` (reached within the window by as_of).
    """
    col = f"{stage}_at"
    if col not in wide.columns:
        have = [c[:-3] for c in wide.columns if c.endswith("_at") and c != "created_at"]
        raise ParamsError(
            f"metric stage {stage!r} is not a funnel stage (no {col} in the stage dates)",
            fix=f"use one of: {', '.join(have)}",
        )
    as_of = pd.Timestamp(as_of)
    dates = wide[["lead_id", col]].drop_duplicates("lead_id")
    df = assignments.merge(dates, on="lead_id", how="left", validate="many_to_one")
    # reached / prior from the funnel helper; maturity is stricter here (see module docstring):
    # a lead is mature only when its whole window has closed, converted or not, so that early
    # converters of an open window do not bias the fixed-window rate upwards.
    rw = reached_within(df, stage, df["assigned_at"], window_days, as_of)
    day = pd.Timedelta(days=1)
    reached = asof.upto(df[col], as_of)
    days = ((reached - df["assigned_at"]) / day).astype(float)
    elapsed = ((asof.day_end(as_of) - df["assigned_at"]) / day).astype(float)
    hit = rw["reached"].to_numpy(bool)
    df["days"] = days
    df["prior"] = rw["prior"].to_numpy(bool)
    df["mature"] = (elapsed > window_days).fillna(False).astype(bool)
    df["converted"] = np.where(df["mature"], hit.astype(float), np.nan)
    df["event"] = hit
    df["duration"] = np.where(
        hit, days.clip(lower=0), np.minimum(elapsed.fillna(0), window_days)
    ).astype(float)
    return df.drop(columns=[col])


def outcomes_from_column(assignments: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per assignment: a precomputed 0/1 ``column``; NaN means not known yet (immature)."""
    if column not in assignments.columns:
        raise NotEnoughData(
            f"the registered outcome column {column} is not in the assignments table",
            f"add a 0/1 {column} column to the assignments, or register a stage metric",
            table="assignments",
            column=column,
        )
    df = assignments.copy()
    y = pd.to_numeric(df[column], errors="coerce").astype(float)
    bad = y.notna() & ~y.isin([0.0, 1.0])
    if bad.any():
        raise DataError(
            f"outcome column {column!r} has values other than 0, 1 or empty",
            table="assignments",
            column=column,
            rows=df.loc[bad].head(5),
            count=int(bad.sum()),
            fix="code the outcome as 1 (converted), 0 (not converted) or empty (not known yet)",
        )
    df["converted"] = y
    df["mature"] = y.notna()
    df["prior"] = False
    return df


def metric_outcomes(
    assignments: pd.DataFrame, metric: Metric, wide: pd.DataFrame | None, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Outcomes for ``metric``: from the stage dates or from the outcome column."""
    if metric.outcome is not None:
        return outcomes_from_column(assignments, metric.outcome)
    if wide is None:
        raise NotEnoughData(
            f"the metric '{metric.label}' needs stage dates (a stages table or stage date "
            "columns, and the leads' created_at), and the data has none",
            "add data.stages (and leads.created_at) to the params file, or register a 0/1 "
            "outcome column on the assignments as primary_metric: {outcome: outcome}",
        )
    return outcomes_from_stages(
        assignments, wide, metric.stage or "", metric.window_days or 0, as_of
    )


# --------------------------------------------------------------------------------------------
# Survival: Kaplan-Meier per arm and log-rank vs control


def km_curves(outcomes: pd.DataFrame, arms: Sequence[str], *, alpha: float = 0.05) -> pd.DataFrame:
    """Per arm, the Kaplan-Meier share converted by each day since assignment (lifelines).

    Columns: variant, day, at_risk, converted (1 - S), ci_low, ci_high (exponential Greenwood
    interval from lifelines, flipped). Uses every lead, immature ones included.
    """
    from lifelines import KaplanMeierFitter

    frames = []
    for arm in arms:
        d = outcomes.loc[outcomes["variant"] == arm]
        if d.empty:
            continue
        kmf = KaplanMeierFitter(alpha=alpha)
        kmf.fit(d["duration"].to_numpy(), d["event"].to_numpy(), label=str(arm))
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        frames.append(
            pd.DataFrame(
                {
                    "variant": arm,
                    "day": sf.index.to_numpy(dtype=float),
                    "at_risk": kmf.event_table["at_risk"].reindex(sf.index).to_numpy(dtype=float),
                    "converted": 1.0 - sf.to_numpy(),
                    "ci_low": 1.0 - ci.iloc[:, 1].to_numpy(),
                    "ci_high": 1.0 - ci.iloc[:, 0].to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["variant", "day", "at_risk", "converted", "ci_low", "ci_high"])
    return pd.concat(frames, ignore_index=True)


def km_at(curves: pd.DataFrame, arm: str, day: float) -> tuple[float, float, float]:
    """The KM share converted (and interval) of ``arm`` at ``day`` (step function)."""
    c = curves.loc[(curves["variant"] == arm) & (curves["day"] <= day)]
    if c.empty:
        return (float("nan"),) * 3
    last = c.iloc[-1]
    return float(last["converted"]), float(last["ci_low"]), float(last["ci_high"])


def logrank_p(outcomes: pd.DataFrame, control: str, variant: str) -> float:
    """Log-rank test p-value of variant vs control time-to-stage curves (lifelines)."""
    from lifelines.statistics import logrank_test

    c = outcomes.loc[outcomes["variant"] == control]
    v = outcomes.loc[outcomes["variant"] == variant]
    if c.empty or v.empty or not (c["event"].any() or v["event"].any()):
        return float("nan")
    with warnings.catch_warnings():
        # lifelines 0.30 calls DataFrame.sum positionally (a pandas 4 deprecation, not ours)
        warnings.simplefilter("ignore", DeprecationWarning)
        res = logrank_test(
            v["duration"].to_numpy(),
            c["duration"].to_numpy(),
            event_observed_A=v["event"].to_numpy(),
            event_observed_B=c["event"].to_numpy(),
        )
    return float(res.p_value)


# --------------------------------------------------------------------------------------------
# One metric, all arms


def arm_counts(outcomes: pd.DataFrame, arms: Sequence[str], *, alpha: float = 0.05) -> pd.DataFrame:
    """Per arm: n_enrolled, n_prior, n_immature, n (mature), conversions, rate and Wilson interval."""
    g = outcomes.groupby("variant", sort=False)
    base = pd.DataFrame(index=pd.Index(list(arms), name="variant"))
    eligible = outcomes.loc[~outcomes["prior"]]
    mature = eligible.loc[eligible["mature"]]
    base["n_enrolled"] = g.size().reindex(base.index, fill_value=0)
    base["n_prior"] = (
        outcomes.loc[outcomes["prior"]].groupby("variant").size().reindex(base.index, fill_value=0)
    )
    base["n_immature"] = (
        eligible.loc[~eligible["mature"]]
        .groupby("variant")
        .size()
        .reindex(base.index, fill_value=0)
    )
    base["n"] = mature.groupby("variant").size().reindex(base.index, fill_value=0)
    base["conversions"] = (
        mature.groupby("variant")["converted"].sum().reindex(base.index, fill_value=0).round()
    )
    base = base.astype(int)
    n = base["n"].to_numpy()
    x = base["conversions"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        base["rate"] = np.where(n > 0, x / np.maximum(n, 1), np.nan)
    lo, hi = proportion_confint(x, np.maximum(n, 1), alpha=alpha, method="wilson")
    base["rate_ci_low"] = np.where(n > 0, lo, np.nan)
    base["rate_ci_high"] = np.where(n > 0, hi, np.nan)
    return base.reset_index()


def analyze_metric(
    outcomes: pd.DataFrame,
    reg: Registration,
    metric: Metric,
    *,
    role: Literal["primary", "guardrail"] = "primary",
) -> pd.DataFrame:
    """``ab_results`` rows (one per arm, control first) for one metric of one experiment.

    Counts, rates, the comparisons of :func:`compare_arms`, Holm-adjusted p with three or more
    arms, the SRM p-value on enrolled leads, and (for stage metrics) the Kaplan-Meier share
    converted at the window and the log-rank p-value. ``verdict`` is filled by :func:`readout`.
    """
    return _analyze_metric(outcomes, reg, metric, role=role)[0]


def _analyze_metric(
    outcomes: pd.DataFrame,
    reg: Registration,
    metric: Metric,
    *,
    role: Literal["primary", "guardrail"] = "primary",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`analyze_metric` and the Kaplan-Meier curves it used (empty without durations)."""
    arms = list(reg.arms)
    counts = arm_counts(outcomes, arms, alpha=reg.alpha)
    ctrl = counts.iloc[0]
    rows = []
    for _, arm in counts.iterrows():
        is_c = arm["variant"] == reg.control
        cmp = (
            compare_arms(
                int(ctrl["conversions"]),
                int(ctrl["n"]),
                int(arm["conversions"]),
                int(arm["n"]),
                alpha=reg.alpha,
            )
            if not is_c
            else {}
        )
        rows.append({**arm.to_dict(), **cmp, "is_control": bool(is_c)})
    res = pd.DataFrame(rows)
    var = ~res["is_control"]
    res["p_adjusted"] = np.nan
    if var.sum() >= 2:
        res.loc[var, "p_adjusted"] = holm(res.loc[var, "p_value"].to_numpy(), reg.alpha)
    else:
        res.loc[var, "p_adjusted"] = res.loc[var, "p_value"]
    enrolled = dict(zip(counts["variant"], counts["n_enrolled"], strict=True))
    res["srm_p_value"] = srm_p_value(enrolled, reg.allocation)
    curves = pd.DataFrame()
    if "event" in outcomes.columns and metric.window_days is not None:
        curves = km_curves(outcomes.loc[~outcomes["prior"]], arms, alpha=reg.alpha)
        km = [km_at(curves, a, float(metric.window_days)) for a in res["variant"]]
        res["km_rate"] = [k[0] for k in km]
        res["km_ci_low"] = [k[1] for k in km]
        res["km_ci_high"] = [k[2] for k in km]
        res["logrank_p"] = [
            np.nan if c else logrank_p(outcomes.loc[~outcomes["prior"]], reg.control, a)
            for a, c in zip(res["variant"], res["is_control"], strict=True)
        ]
    res["experiment_id"] = reg.id
    res["metric"] = metric.name
    res["metric_label"] = metric.label
    res["role"] = role
    res["verdict"] = ""
    for c in RESULT_COLUMNS:
        if c not in res.columns:
            res[c] = np.nan
    return res, curves


# --------------------------------------------------------------------------------------------
# The readout of one experiment


@dataclass
class Readout:
    """Everything the notebook shows for one experiment."""

    registration: Registration
    as_of: pd.Timestamp
    results: pd.DataFrame  # ab_results rows: primary metric first, then guardrails
    exclusions: pd.DataFrame  # EXCLUSION_COLUMNS
    curves: pd.DataFrame  # KM curves of the primary metric (empty for an outcome column)
    interim: bool
    verdict: str
    caveats: list[str] = field(default_factory=list)
    power_at_n: float = float("nan")

    @property
    def primary(self) -> pd.DataFrame:
        """The primary metric's rows."""
        return self.results.loc[self.results["role"] == "primary"].reset_index(drop=True)


def is_interim(reg: Registration, counts: pd.DataFrame, as_of: pd.Timestamp) -> tuple[bool, str]:
    """Interim when enrolment is still open (as_of before end) or an arm is below its planned n."""
    why = []
    if reg.end is not None and as_of < reg.end:
        why.append(f"enrolment runs to {reg.end:%Y-%m-%d}")
    planned = reg.planned_n()
    if planned:
        short = [
            f"{a} {int(n)} of {planned[a]}"
            for a, n in zip(counts["variant"], counts["n_enrolled"], strict=True)
            if n < planned[a]
        ]
        if short:
            why.append("below planned n (" + ", ".join(short) + ")")
    return bool(why), "; ".join(why)


def _pts(x: float) -> str:
    return f"{x * 100:+.1f} pts"


def verdict_sentence(
    reg: Registration,
    row: Mapping[str, Any],
    control_row: Mapping[str, Any],
    caveats: Sequence[str],
    *,
    first_readout: pd.Timestamp | None = None,
) -> str:
    """One plain-language sentence for a variant vs control on the primary metric, with caveats.

    Without a comparison it says why: an arm with no leads in the data (named), an arm whose
    leads all reached the stage before assignment, or no closed window yet (with
    ``first_readout``, the analysis date from which the first window has closed).
    """
    m = reg.primary_metric.label
    v, c = row["variant"], reg.control
    empty = [
        f"{a}{' (control)' if a == c else ''}"
        for a, r in ((c, control_row), (v, row))
        if int(r.get("n_enrolled", r["n"])) == 0
    ]
    all_prior = [
        a
        for a, r in ((c, control_row), (v, row))
        if r["n"] == 0 and r.get("n_immature", 0) == 0 and r.get("n_enrolled", 0) > 0
    ]
    if empty:
        head = (
            f"No readout for {v} vs {c}: the arm {empty[0]} has no leads"
            if len(empty) == 1
            else f"No readout for {v} vs {c}: the arms {' and '.join(empty)} have no leads"
        )
    elif all_prior:
        head = (
            f"No readout for {v} vs {c}: every lead of {' and '.join(all_prior)} had reached "
            f"{reg.primary_metric.stage} before assignment"
        )
    elif not (row["n"] > 0 and control_row["n"] > 0):
        w = reg.primary_metric.window_days
        known = f"no lead's {w}-day window has closed" if w else "no lead's outcome is known"
        head = f"No readout yet for {v} vs {c}: {known} yet"
        if first_readout is not None and not pd.isna(first_readout):
            head += f" (the first closes on {pd.Timestamp(first_readout):%Y-%m-%d})"
    else:
        ci = f"95% CI {_pts(row['diff_ci_low'])} to {_pts(row['diff_ci_high'])}"
        if reg.alpha != 0.05:
            ci = ci.replace("95%", f"{(1 - reg.alpha) * 100:g}%")
        p = row["p_adjusted"]
        ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        rates = f"{row['rate']:.1%} vs {control_row['rate']:.1%}"
        target_met = (
            row["diff"] >= reg.target_effect
            if reg.target_effect > 0
            else row["diff"] <= reg.target_effect
        )
        target = f"registered target {_pts(reg.target_effect)} {'reached' if target_met else 'not reached'}"
        if p < reg.alpha and row["diff"] > 0:
            head = f"{v} beat {c} on {m}: {rates} ({_pts(row['diff'])}, {ci}, {ptxt}; {target})"
        elif p < reg.alpha:
            head = f"{v} did worse than {c} on {m}: {rates} ({_pts(row['diff'])}, {ci}, {ptxt})"
        else:
            head = (
                f"No detectable difference between {v} and {c} on {m}: {rates} "
                f"({_pts(row['diff'])}, {ci}, {ptxt})"
            )
    if caveats:
        return f"{head}; caveats: {'; '.join(caveats)}."
    return head + "."


def no_leads(
    reg: Registration, assignments: pd.DataFrame, exclusions: pd.DataFrame, as_of: pd.Timestamp
) -> NotEnoughData:
    """The one sentence for an experiment without a single analysable assignment row.

    Says which case it is (enrolment not started by ``as_of``, leads assigned only after
    ``as_of``, no row with the registered id, every row set aside for a data problem) and when or
    how the readout will appear.
    """
    as_of = pd.Timestamp(as_of)
    rid = reg.id
    w = reg.primary_metric.window_days or 0
    mine = assignments.loc[assignments["experiment_id"] == rid]
    day = f"{as_of:%Y-%m-%d}"
    reasons = exclusions.groupby("reason", sort=True)["rows"].sum()
    later = not mine.empty and set(reasons.index) <= {"assigned after as_of"}
    first_at = mine["assigned_at"].min() if later and "assigned_at" in mine.columns else pd.NaT
    if as_of < reg.start and (mine.empty or later):
        first = (reg.start if pd.isna(first_at) else first_at.normalize()) + pd.Timedelta(days=w)
        return NotEnoughData(
            f"experiment {rid} has no leads yet: enrolment starts on {reg.start:%Y-%m-%d}, "
            f"after the analysis date {day}",
            f"its first readout appears in the run of {first:%Y-%m-%d} or later",
        )
    if mine.empty:
        return NotEnoughData(
            f"experiment {rid} has no leads in the assignments table",
            f"its readout appears once assignments with experiment_id {rid} are in the data "
            "(check that the data's experiment ids match the registration id)",
        )
    if later and not pd.isna(first_at):
        first = first_at.normalize() + pd.Timedelta(days=w)
        return NotEnoughData(
            f"experiment {rid} has no leads assigned by the analysis date {day} (the first was "
            f"assigned on {first_at:%Y-%m-%d})",
            f"its first readout appears in the run of {first:%Y-%m-%d} or later",
        )
    why = "; ".join(f"{r}: {int(n):,}" for r, n in reasons.items())
    return NotEnoughData(
        f"none of the {len(mine):,} assignment rows of experiment {rid} can be analysed ({why})",
        "fix the assignments or the registration (leadnb validate lists the rows)",
    )


def readout(
    reg: Registration,
    assignments: pd.DataFrame,
    wide: pd.DataFrame | None,
    as_of: pd.Timestamp,
    *,
    metric: Metric | Mapping[str, Any] | str | None = None,
    on_problem: Literal["exclude", "error"] = "exclude",
) -> Readout:
    """Analyse one registered experiment as of ``as_of``.

    ``metric`` may only restate the registered primary metric: a different one raises
    :class:`ParamsError` (choosing the metric after seeing the data is not allowed). ``wide`` is
    the wide stage-date frame (``None`` when the metrics use the ``outcome`` column). A look before
    the end date or the planned n is labelled interim, with a warning about peeking.

    Raises :class:`~leadnb.errors.NotEnoughData` (one sentence: what is missing and when the
    readout will appear, see :func:`no_leads`) when no assignment row of the experiment can be
    analysed, or when a stage metric has no stage dates (``wide is None``). An arm without leads
    gives a readout whose verdict names that arm.
    """
    as_of = pd.Timestamp(as_of)
    if metric is not None:
        asked = metric if isinstance(metric, Metric) else Metric.parse(metric, "metric")
        if not asked.same_as(reg.primary_metric):
            raise ParamsError(
                f"experiment {reg.id!r} registered the primary metric "
                f"'{reg.primary_metric.label}', not '{asked.label}'; changing the primary metric "
                "after the start is not allowed",
                file=reg.file,
                fix="analyse the registered metric; to study another outcome, register it as a "
                "guardrail in a new experiment",
            )
    clean, excl = prepare_assignments(assignments, reg, as_of, on_problem=on_problem)
    if clean.empty:
        raise no_leads(reg, assignments, excl, as_of)
    tables, extra_excl = [], []
    curves = pd.DataFrame()
    for role, met in [
        ("primary", reg.primary_metric),
        *[("guardrail", g) for g in reg.guardrail_metrics],
    ]:
        out = metric_outcomes(clean, met, wide, as_of)
        prior = out.loc[out["prior"]]
        if len(prior):
            e = prior.groupby("variant").agg(rows=("lead_id", "size"), leads=("lead_id", "nunique"))
            e = e.reset_index().assign(
                experiment_id=reg.id,
                metric=met.name,
                reason=f"reached {met.stage} before assignment",
            )
            extra_excl.append(e[EXCLUSION_COLUMNS])
        res, last_curves = _analyze_metric(out, reg, met, role=role)  # type: ignore[arg-type]
        if role == "primary":
            curves = last_curves
        tables.append(res)
    results = pd.concat(tables, ignore_index=True)
    exclusions = pd.concat([excl, *extra_excl], ignore_index=True) if extra_excl else excl

    prim = results.loc[results["role"] == "primary"]
    ctrl = prim.loc[prim["is_control"]].iloc[0]
    interim, why = is_interim(reg, prim, as_of)
    caveats: list[str] = []
    if interim:
        caveats.append(
            f"interim look ({why}): do not stop or ship on it, repeated looks inflate false "
            "positives"
        )
    srm = float(prim["srm_p_value"].iloc[0])
    if srm < SRM_THRESHOLD:
        caveats.append(
            f"sample ratio mismatch (p = {srm:.2g}): check the assignment before trusting it"
        )
    variants = prim.loc[~prim["is_control"]]
    pw = float("nan")
    if ctrl["n"] > 0 and (variants["n"] > 0).all():
        base = min(max(float(ctrl["rate"]), 1e-4), 1 - 1e-4)
        eff = reg.target_effect
        if 0 < base + eff < 1:
            a = design.adjusted_alpha(reg.alpha, len(reg.arms), reg.correction)
            nv = float(variants["n"].min())
            pw = design.power(base, eff, nv, alpha=a, ratio=nv / float(ctrl["n"]))
            if pw < reg.power:
                caveats.append(
                    f"underpowered ({pw:.0%} power for the {_pts(eff)} target at this n, "
                    f"{reg.power:.0%} planned)"
                )
    n_imm = int(prim["n_immature"].sum())
    if n_imm:
        caveats.append(
            f"{n_imm:,} leads whose {reg.primary_metric.window_days}-day window is still open "
            "are not counted"
            if reg.primary_metric.window_days
            else f"{n_imm:,} leads whose outcome is not known yet are not counted"
        )
    n_excl = int(excl["rows"].sum())
    if n_excl:
        caveats.append(f"{n_excl:,} assignment rows excluded (see the exclusion table)")
    if (prim["test"] == "fisher").any():
        caveats.append("small counts: Fisher's exact test used")
    guards = results.loc[(results["role"] == "guardrail") & ~results["is_control"]]
    for g in reg.guardrail_metrics:
        rows = guards.loc[guards["metric"] == g.name]
        worse = rows["diff"] > 0 if g.worse_if == "higher" else rows["diff"] < 0
        hit = rows.loc[worse & (rows["p_value"] < reg.alpha)]
        for _, r in hit.iterrows():
            caveats.append(
                f"guardrail '{g.label}' got worse for {r['variant']} ({_pts(r['diff'])})"
            )
    first = None
    w = reg.primary_metric.window_days
    if w and "assigned_at" in clean.columns and clean["assigned_at"].notna().any():
        first = clean["assigned_at"].min().normalize() + pd.Timedelta(days=w)
    verdicts = {}
    for _, r in variants.iterrows():
        own = [c for c in caveats if not c.startswith("guardrail") or f"for {r['variant']} (" in c]
        verdicts[r["variant"]] = verdict_sentence(reg, r, ctrl, own, first_readout=first)
    mask = (results["role"] == "primary") & ~results["is_control"]
    results.loc[mask, "verdict"] = results.loc[mask, "variant"].map(verdicts)
    results.loc[results["is_control"], "verdict"] = "control"
    results.loc[(results["role"] == "guardrail") & ~results["is_control"], "verdict"] = "guardrail"
    results["interim"] = interim
    results["as_of"] = as_of.strftime("%Y-%m-%d")
    results = results[RESULT_COLUMNS]
    return Readout(
        registration=reg,
        as_of=as_of,
        results=results,
        exclusions=exclusions.reset_index(drop=True),
        curves=curves,
        interim=interim,
        verdict=" ".join(verdicts.values()),
        caveats=caveats,
        power_at_n=pw,
    )


def log_rows(ro: Readout, run: str) -> pd.DataFrame:
    """The readout's rows for the cumulative experiment log (one per variant, primary metric)."""
    prim = ro.primary
    ctrl = prim.loc[prim["is_control"]].iloc[0]
    v = prim.loc[~prim["is_control"]].copy()
    reg = ro.registration
    out = pd.DataFrame(
        {
            "experiment_id": reg.id,
            "run": str(run),
            "as_of": ro.as_of.strftime("%Y-%m-%d"),
            "registration": registration_fingerprint(reg),
            "metric": reg.primary_metric.name,
            "control": reg.control,
            "variant": v["variant"].to_numpy(),
            "n_control": int(ctrl["n"]),
            "n": v["n"].to_numpy(),
            "rate_control": float(ctrl["rate"]),
            "rate": v["rate"].to_numpy(),
            "diff": v["diff"].to_numpy(),
            "diff_ci_low": v["diff_ci_low"].to_numpy(),
            "diff_ci_high": v["diff_ci_high"].to_numpy(),
            "p_value": v["p_value"].to_numpy(),
            "p_adjusted": v["p_adjusted"].to_numpy(),
            "prob_beat_control": v["prob_beat_control"].to_numpy(),
            "srm_p_value": v["srm_p_value"].to_numpy(),
            "n_immature": int(prim["n_immature"].sum()),
            "interim": ro.interim,
            "verdict": v["verdict"].to_numpy(),
            "hypothesis": reg.hypothesis,
            "decision_rule": reg.decision_rule,
        }
    )
    return out


def log_table(readouts: Sequence[Readout], run: str) -> pd.DataFrame:
    """This run's experiment-log rows (:func:`log_rows` of every readout; the log's columns)."""
    frames = [log_rows(ro, run) for ro in readouts]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in LOG_COLUMNS})
    return pd.concat(frames, ignore_index=True)[LOG_COLUMNS]


def headline_metrics(readouts: Sequence[Readout]) -> dict[str, Any]:
    """Headline numbers for ``metrics.json``.

    ``n_experiments``, ``n_interim``, ``n_significant`` (variants beating control at the
    registered alpha, Holm-adjusted), then the primary-metric numbers of the most recently started
    experiment's best variant (flat keys, for the index page), and ``experiments``: the same for
    every experiment and variant, keyed by experiment id.
    """
    out: dict[str, Any] = {"n_experiments": len(readouts), "n_interim": 0, "n_significant": 0}
    per: dict[str, Any] = {}
    latest = None
    for ro in readouts:
        reg = ro.registration
        prim = ro.primary
        ctrl = prim.loc[prim["is_control"]].iloc[0]
        var = prim.loc[~prim["is_control"]]
        out["n_interim"] += int(ro.interim)
        out["n_significant"] += int(((var["p_adjusted"] < reg.alpha) & (var["diff"] > 0)).sum())
        best = var.loc[var["diff"].fillna(-np.inf).idxmax()]
        rec = {
            "experiment_id": reg.id,
            "metric": reg.primary_metric.name,
            "control": reg.control,
            "variant": best["variant"],
            "n_control": int(ctrl["n"]),
            "n_variant": int(best["n"]),
            "control_rate": float(ctrl["rate"]),
            "variant_rate": float(best["rate"]),
            "diff": float(best["diff"]),
            "diff_ci_low": float(best["diff_ci_low"]),
            "diff_ci_high": float(best["diff_ci_high"]),
            "rel_lift": float(best["rel_lift"]),
            "p_value": float(best["p_value"]),
            "p_adjusted": float(best["p_adjusted"]),
            "prob_beat_control": float(best["prob_beat_control"]),
            "srm_p_value": float(best["srm_p_value"]),
            "n_immature": int(prim["n_immature"].sum()),
            "interim": bool(ro.interim),
            "verdict": str(best["verdict"]),
        }
        per[reg.id] = rec
        if latest is None or reg.start >= latest[0]:
            latest = (reg.start, rec)
    if latest is not None:
        out.update(latest[1])
    out["experiments"] = per
    return out


def design_table(
    regs: Sequence[Registration],
    *,
    inflow_per_week: float,
    baselines: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """``design.csv``: per registered experiment, the n per arm and the calendar days needed.

    The baseline is the registration's ``baseline_rate`` or else ``baselines[id]`` (e.g. the
    observed control rate). Outcome-column metrics have no window (0 days added).
    """
    rows = []
    for r in regs:
        base = r.baseline_rate if r.baseline_rate is not None else (baselines or {}).get(r.id)
        if base is None or not (0 < base < 1) or not (0 < base + r.target_effect < 1):
            rows.append({"experiment_id": r.id, "baseline_rate": base, "mde": r.target_effect})
            continue
        rows.append(
            design.design_row(
                r.id,
                float(base),
                r.target_effect,
                alpha=r.alpha,
                power_target=r.power,
                allocation=r.allocation,
                control=r.control,
                inflow_per_week=inflow_per_week,
                window_days=r.primary_metric.window_days or 0,
                correction=r.correction,
            )
        )
    df = pd.DataFrame(rows)
    for c in design.DESIGN_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    extra = [c for c in df.columns if c not in design.DESIGN_COLUMNS and c != "n_by_arm"]
    return df[design.DESIGN_COLUMNS + extra]


__all__ = [
    "MIN_EXPECTED",
    "RESULT_COLUMNS",
    "SRM_THRESHOLD",
    "Readout",
    "analyze_metric",
    "is_interim",
    "arm_counts",
    "compare_arms",
    "design_table",
    "fisher_p",
    "headline_metrics",
    "holm",
    "km_at",
    "km_curves",
    "log_rows",
    "log_table",
    "logrank_p",
    "metric_outcomes",
    "needs_exact",
    "no_leads",
    "outcomes_from_column",
    "outcomes_from_stages",
    "prob_beat_control",
    "prob_beat_control_mc",
    "readout",
    "srm_p_value",
    "verdict_sentence",
]
