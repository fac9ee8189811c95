"""Sharper and fairer readouts: regression adjustment, account units and declared segments.

Design. Plain functions on the per-lead outcome frame of one experiment (one row per lead, with
the arm, the 0/1 outcome and whatever covariate, account and segment columns the caller joined
on, :func:`with_lead_columns`); every argument is a column name or a frame, never the
registration, so the readout decides what to pass.

* **Pre-assignment only** (:func:`check_pre_assignment`): a covariate or a segment measured after
  assignment can carry the treatment's effect and bias the readout, so it is refused with a
  :class:`~leadnb.errors.ParamsError` naming it, the experiment and the fix. "After" is known
  from a timestamp (the column's own values when it is a date, else a ``<name>_at`` column or the
  one ``measured_at`` names, compared row by row with ``assigned_at``) or from a list of fields
  measured after assignment (:data:`POST_ASSIGNMENT_FIELDS` and the caller's own).
* **Regression adjustment** (:func:`adjusted_results`): Lin's (2013) estimator, the regression
  form of CUPED: per variant against the control, OLS of the outcome on the arm, the covariates
  centred on the pair's mean and their interactions with the arm; the arm's coefficient is the
  adjusted difference. Heteroskedasticity-robust HC2 standard errors (statsmodels), or
  cluster-robust ones by account. The unadjusted difference is the same model without
  covariates and the same errors (HC2 there is exactly Welch's ``sqrt(s1²/n1 + s0²/n0)``), so the
  variance reduction ``1 - se_adj² / se_unadj²`` compares like with like. Missing covariate
  values are replaced by the covariate's mean with a 0/1 missing indicator added, and text
  covariates become indicator columns (rare values pooled); each such step is a sentence in
  ``notes``.
* **Account units**: ``unit="account"`` gives cluster-robust errors by account (statsmodels
  ``cov_type="cluster"``, t with G - 1 degrees of freedom), ``n_units`` counts accounts, and
  :func:`srm_on_units` tests the sample ratio on accounts. For the design, :func:`icc_anova`
  estimates the intra-class correlation (the one-way ANOVA estimator) and
  :func:`clustered_sample_size` inflates a lead-level sample size by the design effect
  ``1 + (m - 1) * ICC`` (:func:`design_effect`). For lead-level experiments,
  :func:`contamination` counts the accounts whose leads sit in different arms.
* **Declared segments** (:func:`segment_breakdown`): per declared segment column and value, per
  arm n and rate, the variant-vs-control difference with its Newcombe interval and p-value
  (:func:`~leadnb.experiments.comparisons.compare_arms`, as the readout), and Benjamini-Hochberg
  q-values over the whole declared family (statsmodels ``multipletests(method="fdr_bh")``);
  :func:`segments_table` keeps ``ab_segments.csv``'s columns.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from leadnb.data.columns import require_columns
from leadnb.errors import DataError, ParamsError
from leadnb.experiments.comparisons import compare_arms, srm_p_value
from leadnb.results import Kind, Result, format_value, value

__all__ = [
    "ADJUST_COLUMNS",
    "POST_ASSIGNMENT_FIELDS",
    "SEGMENT_COLUMNS",
    "SEGMENT_DETAIL_COLUMNS",
    "Adjusted",
    "Adjustment",
    "ClusteredSize",
    "Contamination",
    "adjusted_results",
    "check_pre_assignment",
    "clustered_sample_size",
    "contamination",
    "covariate_matrix",
    "design_effect",
    "icc_anova",
    "lin_estimate",
    "segment_breakdown",
    "segments_table",
    "srm_on_units",
    "with_lead_columns",
]

_NAN = float("nan")

POST_ASSIGNMENT_FIELDS = (
    "converted",
    "outcome",
    "event",
    "duration",
    "days",
    "mature",
    "prior",
    "variant",
    "is_control",
)
"""Columns of the per-lead outcome frame that are measured at or after assignment (the outcome
and its survival inputs, the arm itself): never a covariate or a segment."""

ADJUST_COLUMNS = [
    "variant",
    "unit",
    "n_units",
    "diff_unadj",
    "diff_unadj_ci_low",
    "diff_unadj_ci_high",
    "se_unadj",
    "diff_adj",
    "diff_adj_ci_low",
    "diff_adj_ci_high",
    "se_adj",
    "p_value_adj",
    "variance_reduction",
    "adj_method",
]
"""Columns of :attr:`Adjusted.table`: one row per arm, control first (its differences NaN);
``diff_adj``, ``diff_adj_ci_low``, ``diff_adj_ci_high``, ``variance_reduction``, ``unit`` and
``n_units`` are the ``ab_results`` columns of the same names."""

SEGMENT_COLUMNS = [
    "experiment_id",
    "segment",
    "value",
    "variant",
    "n",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "p_value",
    "q_value",
]
"""Columns of ``ab_segments.csv`` (CONTRACT.md): one row per segment, value and arm."""
SEGMENT_DETAIL_COLUMNS = [
    *SEGMENT_COLUMNS[:5],
    "conversions",
    "rate",
    *SEGMENT_COLUMNS[5:],
    "test",
]
"""Columns of :func:`segment_breakdown`: :data:`SEGMENT_COLUMNS` with each arm's conversions and
rate, and which test gave the p-value."""


# --------------------------------------------------------------------------------------------
# Inputs: columns from the leads table, and the pre-assignment check


def with_lead_columns(
    frame: pd.DataFrame,
    leads: pd.DataFrame,
    columns: Iterable[str],
    *,
    key: str = "lead_id",
) -> pd.DataFrame:
    """``frame`` with ``columns`` of ``leads`` joined on ``key`` (the first row per lead), and
    each one's ``<name>_at`` timestamp column when ``leads`` has one.

    Parameters
    ----------
    frame
        Per-lead outcomes of an experiment (``lead_id``, ``variant``, ``converted``, ...).
    leads
        The leads table.
    columns
        The columns wanted (covariates, ``account_id``, segment columns); one already in
        ``frame`` is kept as it is.
    key
        The lead id column of both frames.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with the columns added (missing where a lead is not in ``leads``).

    Raises
    ------
    DataError
        ``leads`` lacks ``key`` or one of ``columns``.

    Examples
    --------
    >>> out = pd.DataFrame({"lead_id": ["b", "a", "z"], "converted": [1.0, 0.0, 1.0]})
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"], "score": [10, 30],
    ...                       "score_at": pd.to_datetime(["2026-01-01", "2026-01-02"])})
    >>> with_lead_columns(out, leads, ["score"])[["lead_id", "score", "score_at"]]
      lead_id  score   score_at
    0       b   30.0 2026-01-02
    1       a   10.0 2026-01-01
    2       z    NaN        NaT
    """
    from leadnb.experiments.outcomes import first_positions, take_first

    wanted = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    require_columns(leads, [key, *wanted], table="leads")
    out = frame.copy()
    stamps = [f"{c}_at" for c in wanted if f"{c}_at" in leads.columns]
    adding = [*wanted, *[s for s in stamps if s not in out.columns]]
    if adding:  # the rows are found once, then each column is taken from them
        pos = first_positions(leads[key], out[key])
        for c in adding:
            out[c] = take_first(leads[c], pos, out.index).to_numpy()
    return out


def check_pre_assignment(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    experiment_id: str,
    what: Literal["covariate", "segment"] = "covariate",
    assigned_at: str = "assigned_at",
    measured_at: Mapping[str, str] | None = None,
    post_assignment: Iterable[str] = (),
    file: str | None = None,
) -> None:
    """Refuse any of ``names`` measured after assignment; a missing column is a data error.

    A name is refused when it is on :data:`POST_ASSIGNMENT_FIELDS` or ``post_assignment``, or
    when its timestamp is later than the row's ``assigned_at`` on any row. The timestamp is the
    column itself when it holds dates, else the column ``measured_at[name]``, else ``<name>_at``
    when the frame has one; a name without any timestamp passes on the list check alone.

    Parameters
    ----------
    frame
        Per-lead rows of the experiment (with ``assigned_at`` when timestamps are checked).
    names
        The declared covariates or segment columns.
    experiment_id
        The experiment, named in the message.
    what
        ``"covariate"`` or ``"segment"``: which registration key the names come from.
    assigned_at
        The assignment time column.
    measured_at
        Name -> the column holding when that name was measured.
    post_assignment
        More fields known to be measured after assignment (the funnel's stage dates, the
        outcome columns of other metrics).
    file
        The registration file, named in the message.

    Raises
    ------
    ParamsError
        A name is measured after assignment: the message names it, the experiment, a few rows
        and the fix.
    DataError
        A name (or its declared timestamp column) is not a column of ``frame``.

    Examples
    --------
    >>> f = pd.DataFrame({"assigned_at": pd.to_datetime(["2026-03-01", "2026-03-02"]),
    ...                   "score": [10, 20], "score_at": pd.to_datetime(["2026-03-01", "2026-03-05"])})
    >>> check_pre_assignment(f, [], experiment_id="e")
    >>> try:
    ...     check_pre_assignment(f, ["score"], experiment_id="e")
    ... except ParamsError as err:
    ...     print(err.issues[0].message)
    experiment 'e': covariate 'score' is measured after assignment (score_at later than assigned_at on 1 of 2 rows)
    """
    post = {*POST_ASSIGNMENT_FIELDS, *post_assignment}
    measured_at = dict(measured_at or {})
    key = "covariates" if what == "covariate" else "segments"
    fix = (
        f"remove {{name}} from the registration's {key}: list only values known at assignment "
        f"(e.g. the score at assignment, activity before assigned_at, firmographics)"
    )
    for name in names:
        if name in post:
            raise ParamsError(
                f"experiment {experiment_id!r}: {what} {name!r} is measured after assignment "
                "(an outcome or a field recorded after the lead entered the experiment)",
                file=file,
                column=name,
                fix=fix.format(name=repr(name)),
            )
    require_columns(
        frame,
        list(names),
        table="the experiment's per-lead rows",
        fix=f"join each declared {what} onto the experiment's leads (e.g. from the leads table, "
        "with leadnb.experiments.adjust.with_lead_columns), or remove it from the registration",
    )
    for name in names:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            stamp_col = name
        elif name in measured_at:
            stamp_col = measured_at[name]
            require_columns(
                frame,
                [stamp_col],
                table="the experiment's per-lead rows",
                fix=f"add the column {stamp_col!r} that says when {name!r} was measured",
            )
        elif f"{name}_at" in frame.columns:
            stamp_col = f"{name}_at"
        else:
            continue
        require_columns(
            frame,
            [assigned_at],
            table="the experiment's per-lead rows",
            fix=f"add {assigned_at} (when each lead was assigned) to check when {name!r} was "
            "measured",
        )
        later = (frame[stamp_col] > frame[assigned_at]).fillna(False).to_numpy(bool)
        if later.any():
            shown = [c for c in dict.fromkeys(["lead_id", name, stamp_col, assigned_at])]
            shown = [c for c in shown if c in frame.columns]
            raise ParamsError(
                f"experiment {experiment_id!r}: {what} {name!r} is measured after assignment "
                f"({stamp_col} later than {assigned_at} on {int(later.sum())} of "
                f"{len(frame)} rows)",
                file=file,
                column=name,
                rows=frame.loc[later, shown],
                count=int(later.sum()),
                fix=fix.format(name=repr(name))
                + (
                    ", or record its value as of the assignment time (a snapshot at assigned_at)"
                    if stamp_col != name
                    else ""
                ),
            )


# --------------------------------------------------------------------------------------------
# Regression adjustment (Lin's estimator)


def covariate_matrix(
    frame: pd.DataFrame, covariates: Sequence[str], *, min_level: int = 10
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Numeric covariate columns for the regression, and a sentence per step taken on them.

    A number (or yes/no) covariate is used as it is; its missing values are replaced by its mean
    over ``frame`` and a 0/1 column ``<name>_missing`` is added. A text covariate becomes one
    0/1 column per value (``<name>=<value>``) but its most frequent one; a missing value is the
    value ``(missing)`` and values seen on fewer than ``min_level`` rows are pooled as
    ``(other)``. A covariate without any value, or with one value only, is left out.

    Parameters
    ----------
    frame
        Per-lead rows holding the covariates.
    covariates
        The covariate columns, in order.
    min_level
        Fewest rows a text value needs to keep its own column.

    Returns
    -------
    matrix : pandas.DataFrame
        Float columns, ``frame``'s index.
    notes : tuple of str
        One sentence per imputation, pooling or omission.

    Raises
    ------
    DataError
        A covariate holds dates (use a number derived from them).

    Examples
    --------
    >>> f = pd.DataFrame({"score": [10.0, None, 30.0, 20.0], "size": ["s", "l", "s", None]})
    >>> m, notes = covariate_matrix(f, ["score", "size"], min_level=1)
    >>> m
       score  score_missing  size=(missing)  size=l
    0   10.0            0.0             0.0     0.0
    1   20.0            1.0             0.0     1.0
    2   30.0            0.0             0.0     0.0
    3   20.0            0.0             1.0     0.0
    >>> notes[0]
    "covariate 'score': 1 missing value(s) replaced by its mean (20), with a missing indicator"
    """
    cols: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for name in covariates:
        s = frame[name]
        if pd.api.types.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.PeriodDtype):
            raise DataError(
                f"covariate {name!r} holds dates, not numbers",
                column=name,
                fix=f"use a number derived from it, e.g. days from {name} to assigned_at",
            )
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            x = pd.to_numeric(s).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            miss = ~np.isfinite(x)
            if miss.all():
                notes.append(f"covariate {name!r} has no value: left out")
                continue
            mean = float(x[~miss].mean())
            if miss.any():
                x = np.where(miss, mean, x)
                notes.append(
                    f"covariate {name!r}: {int(miss.sum())} missing value(s) replaced by its "
                    f"mean ({mean:.4g}), with a missing indicator"
                )
            if np.ptp(x) == 0:
                notes.append(f"covariate {name!r} has one value only: left out")
                continue
            cols[name] = x
            if miss.any():
                cols[f"{name}_missing"] = miss.astype(float)
            continue
        text = s.astype("string").fillna("(missing)").astype(str)
        counts = text.value_counts()
        rare = counts.index[counts < min_level]
        if len(rare) and len(rare) < len(counts):
            text = text.where(~text.isin(rare), "(other)")
            notes.append(
                f"covariate {name!r}: {len(rare)} value(s) seen on fewer than {min_level} rows "
                "pooled as (other)"
            )
        n_missing = int((s.isna()).sum())
        if n_missing:
            notes.append(f"covariate {name!r}: {n_missing} missing value(s) kept as (missing)")
        counts = text.value_counts()
        if len(counts) < 2:
            notes.append(f"covariate {name!r} has one value only: left out")
            continue
        ref = counts.index[0]  # the most frequent value is the reference
        for level in sorted(counts.index):
            if level != ref:
                cols[f"{name}={level}"] = (text == level).to_numpy(float)
    return pd.DataFrame(cols, index=frame.index, dtype=float), tuple(notes)


@dataclasses.dataclass(frozen=True)
class Adjustment(Result):
    """One variant against the control, unadjusted and regression-adjusted (:func:`lin_estimate`).

    Both differences come from OLS with the same robust errors; NaN where they cannot be
    estimated (an empty arm, too few leads for the covariates).
    """

    n: int = value(Kind.COUNT, "leads in the two arms with a known outcome", default=0)
    diff: float = value(Kind.POINTS, "variant rate minus control rate", default=_NAN)
    diff_ci_low: float = value(Kind.POINTS, "robust interval, low", default=_NAN)
    diff_ci_high: float = value(Kind.POINTS, "robust interval, high", default=_NAN)
    se: float = value(Kind.POINTS, "robust standard error of diff", default=_NAN)
    p_value: float = value(Kind.P_VALUE, "two-sided, robust", default=_NAN)
    diff_adj: float = value(Kind.POINTS, "covariate-adjusted difference (Lin)", default=_NAN)
    diff_adj_ci_low: float = value(Kind.POINTS, "robust interval, low", default=_NAN)
    diff_adj_ci_high: float = value(Kind.POINTS, "robust interval, high", default=_NAN)
    se_adj: float = value(Kind.POINTS, "robust standard error of diff_adj", default=_NAN)
    p_value_adj: float = value(Kind.P_VALUE, "two-sided, robust", default=_NAN)
    variance_reduction: float = value(
        Kind.RATE, "1 - se_adj² / se²: the variance the covariates removed", default=_NAN
    )
    method: str = value(Kind.TEXT, "model and standard errors", default="")


def _ols(
    y: np.ndarray,
    exog: np.ndarray,
    *,
    groups: np.ndarray | None,
    cov_type: str,
    alpha: float,
) -> tuple[float, float, float, float, float]:
    """Coefficient 1 of OLS(y, exog) with robust errors: estimate, se, ci low, ci high, p."""
    # the class itself: statsmodels.api imports all of statsmodels (time series, graphics,
    # scipy.signal), a quarter of a second of the A/B notebook's kernel
    from statsmodels.regression.linear_model import OLS

    model = OLS(y, exog)
    if groups is not None:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    else:
        res = model.fit(cov_type=cov_type)
    lo, hi = np.asarray(res.conf_int(alpha))[1]
    return (
        float(res.params[1]),
        float(res.bse[1]),
        float(lo),
        float(hi),
        float(res.pvalues[1]),
    )


def _separable(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Covariate columns usable in Lin's model: within each arm, at least two rows differ from
    the column's most common value there. A column that singles out one lead of an arm (a rare
    category, a missing indicator with one missing value) fits that lead exactly (leverage 1,
    an infinite HC2 weight); a column constant within an arm makes its interaction redundant."""
    keep = np.ones(x.shape[1], dtype=bool)
    for arm in (t == 1, t == 0):
        xa = x[arm]
        for j in range(x.shape[1]):
            _, counts = np.unique(xa[:, j], return_counts=True)
            if len(xa) - counts.max() < 2:
                keep[j] = False
    return keep


def lin_estimate(
    y: np.ndarray,
    treated: np.ndarray,
    covariates: np.ndarray | pd.DataFrame | None = None,
    *,
    groups: np.ndarray | pd.Series | None = None,
    cov_type: Literal["HC2", "HC3"] = "HC2",
    alpha: float = 0.05,
) -> Adjustment:
    """Unadjusted and Lin-adjusted difference of ``y`` between treated and untreated rows.

    The adjusted model is ``y ~ 1 + t + Xc + t:Xc`` with ``Xc`` the covariates centred on their
    mean over these rows (Lin 2013); the unadjusted one ``y ~ 1 + t``. Both use the same
    errors: HC2 (or HC3) robust, or cluster-robust by ``groups`` (t with G - 1 degrees of
    freedom). Constant covariate columns are dropped.

    Parameters
    ----------
    y
        The outcome (0/1 or any number), no missing values.
    treated
        1 for the variant, 0 for the control.
    covariates
        An n x k matrix (or frame) of numeric covariates without missing values
        (:func:`covariate_matrix`); None or k = 0 for no adjustment.
    groups
        Cluster labels (account ids) for cluster-robust errors; None for HC2/HC3.
    cov_type
        The robust errors without clusters.
    alpha
        The intervals are ``1 - alpha`` intervals.

    Returns
    -------
    Adjustment
        ``diff`` with its interval, ``se`` and ``p_value``; ``diff_adj`` with its interval,
        ``se_adj`` and ``p_value_adj`` (NaN without covariates, or when there are fewer than
        ``2 * (2k + 2)`` rows); ``variance_reduction``; ``method``.

    Examples
    --------
    >>> y = np.array([0, 1, 0, 0, 1, 1, 0, 1, 1, 1], dtype=float)
    >>> t = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], dtype=float)
    >>> x = np.array([1, 5, 2, 1, 4, 4, 1, 3, 5, 4], dtype=float)
    >>> a = lin_estimate(y, t, x[:, None])
    >>> round(a.diff, 3), round(a.se, 4), round(a.diff_adj, 4), round(a.variance_reduction, 3)
    (0.4, 0.3162, 0.1805, 0.689)
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=float)
    n = len(y)
    g = None
    if groups is not None:
        raw = np.asarray(groups)
        # numbered in the groups' sorted order; integer groups (the plan's account codes) sort
        # as integers, the same order as through Python objects without a boxed value per lead
        g, distinct = pd.factorize(
            raw if raw.dtype.kind in "iu" else pd.Series(raw.astype(object)), sort=True
        )
        clusters = len(distinct)  # every lead has a group (statsmodels refuses a missing one)
    method_se = f"cluster-robust ({clusters} clusters)" if g is not None else f"{cov_type} robust"
    n1 = int(t.sum())
    if n1 == 0 or n1 == n:
        return Adjustment(n=n, method=f"OLS, {method_se}")
    ones = np.ones(n)
    d, se, lo, hi, p = _ols(y, np.column_stack([ones, t]), groups=g, cov_type=cov_type, alpha=alpha)
    out = dict(n=n, diff=d, diff_ci_low=lo, diff_ci_high=hi, se=se, p_value=p)
    x = None if covariates is None else np.asarray(covariates, dtype=float)
    if x is not None and x.ndim == 1:
        x = x[:, None]
    if x is not None and x.shape[1]:
        keep = _separable(x, t)
        xc = x[:, keep] - x[:, keep].mean(axis=0)
        k, dropped = xc.shape[1], int((~keep).sum())
        if k and n >= 2 * (2 * k + 2):
            exog = np.column_stack([ones, t, xc, xc * t[:, None]])
            da, sa, la, ha, pa = _ols(y, exog, groups=g, cov_type=cov_type, alpha=alpha)
            vr = 1 - sa**2 / se**2 if se > 0 else _NAN
            out |= dict(
                diff_adj=da,
                diff_adj_ci_low=la,
                diff_adj_ci_high=ha,
                se_adj=sa,
                p_value_adj=pa,
                variance_reduction=vr,
            )
            left = f" ({dropped} left out: nearly constant within an arm)" if dropped else ""
            return Adjustment(
                **out, method=f"Lin OLS with {k} covariate column(s){left}, {method_se}"
            )
    return Adjustment(**out, method=f"OLS, {method_se}")


@dataclasses.dataclass(frozen=True)
class Adjusted:
    """The adjusted readout of one experiment (:func:`adjusted_results`).

    ``table`` has :data:`ADJUST_COLUMNS` (one row per arm, control first); ``notes`` says what
    was done to the covariates and the units (imputations, pooled values, leads without an
    account).
    """

    table: pd.DataFrame
    notes: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    unit: str = "lead"

    def to_frame(self) -> pd.DataFrame:
        """:attr:`table` (a copy)."""
        return self.table.copy()

    def _repr_html_(self) -> str:
        shown = self.table.copy()
        for c in ("diff_unadj", "diff_adj"):
            shown[c] = [
                f"{format_value(v, Kind.POINTS)} [{format_value(lo, Kind.POINTS)}, "
                f"{format_value(hi, Kind.POINTS)}]"
                for v, lo, hi in zip(
                    self.table[c],
                    self.table[f"{c}_ci_low"],
                    self.table[f"{c}_ci_high"],
                    strict=True,
                )
            ]
        shown["variance_reduction"] = [
            format_value(v, Kind.RATE) for v in self.table["variance_reduction"]
        ]
        keep = ["variant", "unit", "n_units", "diff_unadj", "diff_adj", "variance_reduction"]
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return shown[keep].to_html(index=False) + (f"<ul>{notes}</ul>" if notes else "")


def adjusted_results(
    frame: pd.DataFrame,
    *,
    control: str,
    variants: Sequence[str],
    experiment_id: str,
    covariates: Sequence[str] = (),
    unit: Literal["lead", "account"] = "lead",
    outcome: str = "converted",
    arm: str = "variant",
    account: str = "account_id",
    lead: str = "lead_id",
    assigned_at: str = "assigned_at",
    measured_at: Mapping[str, str] | None = None,
    post_assignment: Iterable[str] = (),
    cov_type: Literal["HC2", "HC3"] = "HC2",
    alpha: float = 0.05,
    file: str | None = None,
) -> Adjusted:
    """Per variant against the control: the unadjusted and covariate-adjusted difference.

    Rows with a missing ``outcome`` (windows still open) are left out, as in the readout. The
    covariates are checked first (:func:`check_pre_assignment`) and made numeric
    (:func:`covariate_matrix`, means and indicators computed over the counted rows); each
    comparison is :func:`lin_estimate` on the control's and the variant's rows. With
    ``unit="account"`` the errors are cluster-robust by ``account`` (a lead without an account
    is its own cluster, and a note says how many) and ``n_units`` counts accounts.

    Parameters
    ----------
    frame
        Per-lead outcomes of one metric (``arm``, ``outcome`` and the covariate, account and
        timestamp columns).
    control, variants
        The arms; a variant without rows gets NaN.
    experiment_id
        Named in the refusal of a post-assignment covariate.
    covariates
        The registration's ``covariates``; empty: no adjustment (``diff_adj`` NaN).
    unit
        The registration's ``unit``.
    outcome, arm, account, lead, assigned_at
        Column names.
    measured_at, post_assignment, file
        As in :func:`check_pre_assignment`.
    cov_type
        Robust errors for lead units (HC2, Lin's choice, or HC3).
    alpha
        The intervals are ``1 - alpha`` intervals.

    Returns
    -------
    Adjusted
        ``table`` (:data:`ADJUST_COLUMNS`) and ``notes``.

    Raises
    ------
    ParamsError
        A covariate is measured after assignment.
    DataError
        A column is missing.

    Examples
    --------
    >>> f = pd.DataFrame({"variant": ["c"] * 6 + ["v"] * 6,
    ...                   "converted": [0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0.0],
    ...                   "score": [1, 2, 5, 1, 4, None, 4, 1, 5, 3, 5, 2]})
    >>> a = adjusted_results(f, control="c", variants=["v"], experiment_id="e",
    ...                      covariates=["score"])
    >>> a.table[["variant", "n_units", "diff_unadj", "diff_adj"]].round(4)
      variant  n_units  diff_unadj  diff_adj
    0       c        6         NaN       NaN
    1       v        6      0.3333      0.15
    >>> a.table.loc[1, "adj_method"]  # one lead of the control misses its score: no indicator
    'Lin OLS with 1 covariate column(s) (1 left out: nearly constant within an arm), HC2 robust'
    >>> a.notes
    ("covariate 'score': 1 missing value(s) replaced by its mean (3), with a missing indicator",)
    """
    need = [arm, outcome] + ([account] if unit == "account" else [])
    require_columns(frame, need, table="the per-lead outcomes")
    if unit not in ("lead", "account"):
        raise ParamsError(f"unknown unit {unit!r}", fix="use unit: lead or unit: account")
    covariates = list(covariates)
    check_pre_assignment(
        frame,
        covariates,
        experiment_id=experiment_id,
        what="covariate",
        assigned_at=assigned_at,
        measured_at=measured_at,
        post_assignment=post_assignment,
        file=file,
    )
    known = frame.loc[frame[outcome].notna() & frame[arm].isin([control, *variants])]
    x, notes_ = covariate_matrix(known, covariates)
    notes = list(notes_)
    y = known[outcome].to_numpy(dtype=float)
    arms = known[arm].astype(str).to_numpy()
    groups = None
    if unit == "account":
        acc = known[account].astype("string")
        n_none = int(acc.isna().sum())
        if n_none:
            own = (
                known[lead].astype(str) if lead in known.columns else pd.Series(known.index)
            ).to_numpy()
            acc = acc.astype(object).where(acc.notna(), "lead:" + pd.Series(own, index=acc.index))
            notes.append(f"{n_none} lead(s) without an account counted as their own account")
        groups = acc.astype(str).to_numpy()
    rows = []
    for a in [control, *variants]:
        sel = arms == a
        n_units = int(len(np.unique(groups[sel]))) if groups is not None else int(sel.sum())
        row: dict[str, object] = {"variant": a, "unit": unit, "n_units": n_units}
        if a != control:
            pair = sel | (arms == control)
            est = lin_estimate(
                y[pair],
                sel[pair].astype(float),
                x.to_numpy()[pair] if x.shape[1] else None,
                groups=None if groups is None else groups[pair],
                cov_type=cov_type,
                alpha=alpha,
            )
            row |= {
                "diff_unadj": est.diff,
                "diff_unadj_ci_low": est.diff_ci_low,
                "diff_unadj_ci_high": est.diff_ci_high,
                "se_unadj": est.se,
                "diff_adj": est.diff_adj,
                "diff_adj_ci_low": est.diff_adj_ci_low,
                "diff_adj_ci_high": est.diff_adj_ci_high,
                "se_adj": est.se_adj,
                "p_value_adj": est.p_value_adj,
                "variance_reduction": est.variance_reduction,
                "adj_method": est.method,
            }
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=ADJUST_COLUMNS)
    table["adj_method"] = table["adj_method"].fillna("").astype(str)
    return Adjusted(table=table, notes=tuple(notes), covariates=tuple(covariates), unit=unit)


# --------------------------------------------------------------------------------------------
# Account units: SRM on accounts, ICC and design effect, contamination


def srm_on_units(
    frame: pd.DataFrame,
    allocation: Mapping[str, float],
    *,
    arm: str = "variant",
    unit: str = "account_id",
) -> float:
    """Sample-ratio-mismatch p-value on distinct units (accounts) per arm.

    An account found in two arms counts in each. The test is
    :func:`~leadnb.experiments.comparisons.srm_p_value` on the account counts.

    Examples
    --------
    >>> f = pd.DataFrame({"variant": ["a"] * 6 + ["b"] * 2, "account_id": list("ppqqrrst")})
    >>> round(srm_on_units(f, {"a": 0.5, "b": 0.5}), 4)  # 3 accounts against 2
    0.6547
    """
    require_columns(frame, [arm, unit], table="the per-lead rows")
    counts = frame.dropna(subset=[unit]).groupby(arm, sort=False, observed=True)[unit].nunique()
    return srm_p_value({str(k): int(v) for k, v in counts.items()}, allocation)


def icc_anova(values: Sequence[float] | np.ndarray, groups: Sequence | np.ndarray) -> float:
    """Intra-class correlation by the one-way ANOVA estimator, for groups of unequal sizes.

    ``ICC = (MSB - MSW) / (MSB + (m0 - 1) * MSW)`` with MSB and MSW the between- and
    within-group mean squares and ``m0 = (N - sum n_i² / N) / (k - 1)`` the adjusted mean group
    size (Donner 1986; for 0/1 outcomes Ridout, Demétrio and Firth 1999). It can be negative
    when groups are more alike than chance.

    Parameters
    ----------
    values
        One number per lead (0/1 outcomes).
    groups
        The lead's group (account), same length; missing values are not allowed.

    Returns
    -------
    float
        The estimate; NaN with fewer than two groups, no within-group replication or no
        variation at all.

    Examples
    --------
    >>> round(icc_anova([2, 4, 6, 8, 10], ["a", "a", "b", "b", "b"]), 4)
    0.7692
    """
    y = np.asarray(values, dtype=float)
    codes, uniq = pd.factorize(pd.Series(np.asarray(groups, dtype=object)), sort=False)
    k, n = len(uniq), len(y)
    if k < 2 or n <= k:
        return _NAN
    size = np.bincount(codes, minlength=k).astype(float)
    means = np.bincount(codes, weights=y, minlength=k) / size
    grand = y.mean()
    ssb = float((size * (means - grand) ** 2).sum())
    ssw = float(((y - means[codes]) ** 2).sum())
    msb, msw = ssb / (k - 1), ssw / (n - k)
    m0 = (n - (size**2).sum() / n) / (k - 1)
    den = msb + (m0 - 1) * msw
    return float((msb - msw) / den) if den > 0 else _NAN


def design_effect(mean_size: float, icc: float, *, cv: float = 0.0) -> float:
    """Variance inflation of randomising accounts of ``mean_size`` leads: ``1 + (m - 1) * ICC``.

    With unequal account sizes (coefficient of variation ``cv`` of the sizes) Eldridge, Ashby and
    Kerry's (2006) ``1 + ((cv² + 1) * m - 1) * ICC``.

    Examples
    --------
    >>> design_effect(5, 0.05), round(design_effect(5, 0.05, cv=0.5), 4)
    (1.2, 1.2625)
    """
    if mean_size < 1 or not math.isfinite(mean_size):
        raise ParamsError(
            f"the mean account size must be at least 1 lead, got {mean_size}",
            fix="pass the mean number of leads per account",
        )
    if not (-1 < icc < 1) or cv < 0:
        raise ParamsError(
            f"ICC must be in (-1, 1) and cv >= 0, got ICC {icc}, cv {cv}",
            fix="estimate the ICC with icc_anova, or give an assumed value such as 0.05",
        )
    return 1.0 + ((cv**2 + 1.0) * mean_size - 1.0) * icc


@dataclasses.dataclass(frozen=True)
class ClusteredSize(Result):
    """Sample size of an account-randomised experiment (:func:`clustered_sample_size`)."""

    design_effect: float = value(Kind.MULTIPLIER, "1 + (m - 1) * ICC")
    icc: float = value(Kind.RATIO, "intra-class correlation used")
    mean_size: float = value(Kind.COUNT, "mean leads per account")
    n_leads_per_arm: int = value(Kind.COUNT, "leads per arm, inflated by the design effect")
    n_accounts_per_arm: int = value(Kind.COUNT, "accounts per arm")
    extra_leads_per_arm: int = value(Kind.COUNT, "the cost of randomising accounts, per arm")


def clustered_sample_size(
    n_per_arm: int, *, mean_size: float, icc: float, cv: float = 0.0
) -> ClusteredSize:
    """Leads and accounts per arm when accounts, not leads, are randomised.

    Parameters
    ----------
    n_per_arm
        Leads per arm for a lead-randomised test
        (:func:`leadnb.experiments.design.sample_size`).
    mean_size
        Mean leads per account.
    icc
        Intra-class correlation of the outcome within accounts (:func:`icc_anova`).
    cv
        Coefficient of variation of account sizes (0: equal sizes).

    Returns
    -------
    ClusteredSize
        ``n_per_arm * design_effect`` rounded up, the accounts that makes, and the extra leads.

    Examples
    --------
    >>> s = clustered_sample_size(3841, mean_size=4, icc=0.02)
    >>> round(s.design_effect, 2), s.n_leads_per_arm, s.n_accounts_per_arm, s.extra_leads_per_arm
    (1.06, 4072, 1018, 231)
    """
    deff = design_effect(mean_size, icc, cv=cv)
    n = math.ceil(n_per_arm * deff - 1e-9)
    return ClusteredSize(
        design_effect=deff,
        icc=icc,
        mean_size=mean_size,
        n_leads_per_arm=n,
        n_accounts_per_arm=math.ceil(n / mean_size - 1e-9),
        extra_leads_per_arm=n - n_per_arm,
    )


@dataclasses.dataclass(frozen=True)
class Contamination(Result):
    """Accounts of a lead-level experiment whose leads sit in different arms (:func:`contamination`).

    Such leads may hear of (or be sold) the other arm's treatment: a possible dilution of the
    difference, shown beside the readout, not a reason to drop them.
    """

    n_accounts: int = value(Kind.COUNT, "accounts with a lead in the experiment", default=0)
    n_accounts_mixed: int = value(Kind.COUNT, "accounts with leads in two arms or more", default=0)
    n_leads_mixed: int = value(Kind.COUNT, "leads of those accounts", default=0)
    share_leads_mixed: float = value(Kind.RATE, "their share of the leads", default=_NAN)
    #: the largest mixed accounts: account, leads, arms ("a: 2, b: 1")
    examples: pd.DataFrame = dataclasses.field(
        default_factory=pd.DataFrame, compare=False, repr=False
    )

    @property
    def sentence(self) -> str:
        """One line for the report; empty when no account is mixed."""
        if not self.n_accounts_mixed:
            return ""
        return (
            f"{format_value(self.n_accounts_mixed, Kind.COUNT)} of "
            f"{format_value(self.n_accounts, Kind.COUNT)} accounts have leads in different arms "
            f"({format_value(self.n_leads_mixed, Kind.COUNT)} leads, "
            f"{format_value(self.share_leads_mixed, Kind.RATE)}): possible contamination, which "
            "would shrink the difference"
        )


def contamination(
    frame: pd.DataFrame,
    *,
    arm: str = "variant",
    account: str = "account_id",
    n_examples: int = 5,
) -> Contamination:
    """Count the accounts whose leads were assigned to different arms (lead-level experiments).

    Parameters
    ----------
    frame
        The experiment's analysable assignments, one row per lead, with ``account``.
    arm, account
        Column names.
    n_examples
        How many mixed accounts to list (most leads first, then by account).

    Returns
    -------
    Contamination
        Counts, the share of leads, and ``examples``.

    Examples
    --------
    >>> f = pd.DataFrame({"lead_id": list("123456"), "variant": list("abaabb"),
    ...                   "account_id": ["x", "x", "x", "y", "y", None]})
    >>> c = contamination(f)
    >>> c.n_accounts, c.n_accounts_mixed, c.n_leads_mixed, round(c.share_leads_mixed, 3)
    (2, 2, 5, 0.833)
    >>> c.examples
      account_id  leads        arms
    0          x      3  a: 2, b: 1
    1          y      2  a: 1, b: 1
    """
    require_columns(frame, [arm, account], table="the experiment's assignments")
    n_all = len(frame)
    f = frame.loc[frame[account].notna(), [account, arm]]
    if f.empty:
        return Contamination(share_leads_mixed=_NAN if n_all == 0 else 0.0)
    per = f.groupby([account, arm], sort=True, observed=True).size().rename("k").reset_index()
    arms_per = per.groupby(account, sort=False, observed=True)[arm].nunique()
    mixed_ids = arms_per.index[arms_per > 1]
    mix = per.loc[per[account].isin(mixed_ids)]
    leads_per = mix.groupby(account, sort=True, observed=True)["k"].sum()
    examples = (
        pd.DataFrame({account: leads_per.index, "leads": leads_per.to_numpy(dtype=int)})
        .sort_values(["leads", account], ascending=[False, True], kind="stable")
        .head(n_examples)
        .reset_index(drop=True)
    )
    # the arms' text for the listed accounts only (joining it for 20,000 mixed accounts of a
    # million leads was a Python call per account)
    shown = mix.loc[mix[account].isin(examples[account])]
    text = (
        shown.assign(part=shown[arm].astype(str) + ": " + shown["k"].astype(str))
        .groupby(account, sort=True, observed=True)["part"]
        .agg(", ".join)
    )
    examples["arms"] = text.reindex(examples[account]).to_numpy()
    n_mixed_leads = int(leads_per.sum())
    return Contamination(
        n_accounts=int(len(arms_per)),
        n_accounts_mixed=int(len(mixed_ids)),
        n_leads_mixed=n_mixed_leads,
        share_leads_mixed=n_mixed_leads / n_all,
        examples=examples,
    )


# --------------------------------------------------------------------------------------------
# Declared segments


def segment_breakdown(
    frame: pd.DataFrame,
    segments: Sequence[str],
    *,
    experiment_id: str,
    control: str,
    variants: Sequence[str],
    outcome: str = "converted",
    arm: str = "variant",
    alpha: float = 0.05,
    assigned_at: str = "assigned_at",
    measured_at: Mapping[str, str] | None = None,
    post_assignment: Iterable[str] = (),
    max_values: int = 20,
    file: str | None = None,
) -> pd.DataFrame:
    """Per declared segment and value: each arm's n and rate, each variant's difference with the
    control, and Benjamini-Hochberg q-values over the declared family.

    Segments are checked first (:func:`check_pre_assignment`, ``what="segment"``). Rows with a
    missing ``outcome`` are left out; a missing segment value is the value ``(missing)``. The
    difference, its Newcombe interval and the p-value (z-test, Fisher's exact for small counts)
    are :func:`~leadnb.experiments.comparisons.compare_arms`'s. The family for the q-values is
    every variant-vs-control comparison of every value of every declared segment (comparisons
    without a p-value are not counted).

    Parameters
    ----------
    frame
        Per-lead outcomes with the segment columns.
    segments
        The registration's ``segments``.
    experiment_id, control, variants
        The experiment and its arms.
    outcome, arm, assigned_at
        Column names.
    alpha
        The intervals are ``1 - alpha`` intervals.
    measured_at, post_assignment, file
        As in :func:`check_pre_assignment`.
    max_values
        Most values a segment may have (bin a number, such as a score, into bands first).

    Returns
    -------
    pandas.DataFrame
        :data:`SEGMENT_DETAIL_COLUMNS`: one row per segment, value and arm (control first; its
        differences NaN); values as text, sorted within a segment.

    Raises
    ------
    ParamsError
        A segment is measured after assignment, or has more than ``max_values`` values.

    Examples
    --------
    >>> f = pd.DataFrame({"variant": ["c", "v"] * 40, "converted": [0.0, 1.0, 0.0, 0.0] * 20,
    ...                   "source": ["web"] * 40 + ["event"] * 40})
    >>> seg = segment_breakdown(f, ["source"], experiment_id="e", control="c", variants=["v"])
    >>> seg[["value", "variant", "n", "rate", "diff", "q_value"]].round(4)
       value variant   n  rate  diff  q_value
    0  event       c  20   0.0   NaN      NaN
    1  event       v  20   0.5   0.5   0.0004
    2    web       c  20   0.0   NaN      NaN
    3    web       v  20   0.5   0.5   0.0004
    """
    from statsmodels.stats.multitest import multipletests

    segments = list(segments)
    require_columns(frame, [arm, outcome], table="the per-lead outcomes")
    check_pre_assignment(
        frame,
        segments,
        experiment_id=experiment_id,
        what="segment",
        assigned_at=assigned_at,
        measured_at=measured_at,
        post_assignment=post_assignment,
        file=file,
    )
    arms = [control, *variants]
    known = frame.loc[frame[outcome].notna() & frame[arm].isin(arms)]
    y = known[outcome].to_numpy(dtype=float)
    rows: list[dict[str, object]] = []
    for seg in segments:
        vals = known[seg].astype("string").fillna("(missing)").astype(str)
        n_vals = vals.nunique()
        if n_vals > max_values:
            raise ParamsError(
                f"experiment {experiment_id!r}: segment {seg!r} has {n_vals} values (at most "
                f"{max_values})",
                file=file,
                column=seg,
                fix=f"declare a banded version of {seg!r} (e.g. score bands at assignment)",
            )
        counts = (
            pd.DataFrame(
                {"value": vals.to_numpy(), "arm": known[arm].astype(str).to_numpy(), "y": y}
            )
            .groupby(["value", "arm"], sort=True)["y"]
            .agg(["size", "sum"])
        )
        for v in sorted(vals.unique()):
            n_c = int(counts["size"].get((v, control), 0))
            x_c = int(counts["sum"].get((v, control), 0))
            for a in arms:
                n_a = int(counts["size"].get((v, a), 0))
                x_a = int(counts["sum"].get((v, a), 0))
                row: dict[str, object] = {
                    "experiment_id": experiment_id,
                    "segment": seg,
                    "value": v,
                    "variant": a,
                    "n": n_a,
                    "conversions": x_a,
                    "rate": x_a / n_a if n_a else _NAN,
                }
                if a != control:
                    cmp = compare_arms(x_c, n_c, x_a, n_a, alpha=alpha)
                    row |= {
                        "diff": cmp.diff,
                        "diff_ci_low": cmp.diff_ci_low,
                        "diff_ci_high": cmp.diff_ci_high,
                        "p_value": cmp.p_value,
                        "test": cmp.test,
                    }
                rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=SEGMENT_DETAIL_COLUMNS)
    out["test"] = out["test"].fillna("").astype(str)
    p = out["p_value"].to_numpy(dtype=float)
    q = np.full(len(out), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = multipletests(p[ok], alpha=alpha, method="fdr_bh")[1]
    out["q_value"] = q
    if out.empty:
        out = out.astype({"n": int, "conversions": int})
    return out


def segments_table(breakdown: pd.DataFrame) -> pd.DataFrame:
    """``ab_segments.csv``: :func:`segment_breakdown`'s rows with :data:`SEGMENT_COLUMNS` only.

    Examples
    --------
    >>> f = pd.DataFrame({"variant": ["c", "v"] * 4, "converted": [0.0, 1.0] * 4,
    ...                   "source": ["web"] * 8})
    >>> list(segments_table(segment_breakdown(f, ["source"], experiment_id="e", control="c",
    ...                                       variants=["v"])).columns) == SEGMENT_COLUMNS
    True
    """
    require_columns(breakdown, SEGMENT_COLUMNS, table="the segment breakdown")
    return breakdown[SEGMENT_COLUMNS].reset_index(drop=True)
