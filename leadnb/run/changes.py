"""What changed since the previous run: each headline number before and after, and whether the
change is beyond noise.

Design. A run folder (``OUT/<run_id>/``) holds ``manifest.json`` and, per notebook,
``metrics.json`` with the headline numbers and ``metric_kinds.json`` with the kind each number
declared (:class:`leadnb.results.Kind`). This module reads those files only; it never
recomputes a result.

* :func:`previous_run` finds the run to compare with: same params name (``run.name``), a
  strictly earlier analysis date, and successful. The choice is made **per notebook**: a run in
  which ``cohort_conversion`` succeeded and ``scoring_calibration`` failed (or was not run, a
  ``--notebooks`` subset run) is a previous run for the cohort report and not for the scoring
  report; without a notebook, only runs whose overall status is ``success`` count.
* :func:`compare_metrics` compares one notebook's headline numbers (values with their declared
  kinds) and tests each change with a test suited to its kind (:data:`RATE_N` names the count
  each rate is a share of; :data:`NOT_SAMPLED` the numbers that are not measurements).
  :func:`what_changed` does it for every notebook of a run, each against its own previous run.
* :func:`trend` gathers every successful run's headline numbers over analysis dates, for a
  trend chart per number (:func:`leadnb.report.changes.plot_trend`).

What the tests assume, and the treatment chosen. Two weekly runs are **not** independent
samples: the second run's leads are mostly the first run's leads, plus a week of new ones, with
a week more of outcomes. Every test here treats the two runs as independent samples of their
sizes (two-proportion z test, Poisson comparison of two counts, z test from two intervals).
When two samples overlap, their estimates are positively correlated and the variance of the
difference is *smaller* than the independent-sample variance, so these tests are
**conservative**: a change called "beyond noise" is larger than two independent samples of
those sizes would produce by chance (a strong statement), while "within noise" does not prove
that nothing changed (a small real shift diluted in a cumulative number is missed). For nested
samples with fixed outcomes (``n1`` leads inside ``n2``) the variance of the difference of two
rates is ``p(1-p)(1/n1 - 1/n2)`` against ``p(1-p)(1/n1 + 1/n2)`` assumed here: with 300 new
leads on 20,000 the honest standard error is about a twelfth of the one used. We keep the
conservative test on purpose: the page is read weekly by people who act on it, and a change that
is beyond noise even under this test is worth acting on; a weekly page that cries wolf is not.
The numbers move for two reasons besides noise, new leads and older leads maturing (converting
later); a change beyond noise is real movement of the number, whichever of the two caused it.
A report compares about ten numbers (a run about 30), so whether a change is beyond noise is
decided on Holm-adjusted p-values (``p_adjusted``), each report being one family by default (its
top and its index card then agree), keeping the chance of any false flag in a report near
``alpha``. Measured on the demo data (runs at 2026-06-23 and 2026-06-30): of 34 headline
numbers, 17 are tested and none moves beyond noise (the largest visible move, LVR from -53.7% to
-28.6%, has intervals 60 points wide).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from leadnb.results import Kind, Metrics, format_change, format_value

__all__ = [
    "CHANGE_COLUMNS",
    "NOT_SAMPLED",
    "RATE_N",
    "TREND_COLUMNS",
    "PreviousRun",
    "compare_metrics",
    "headline_keys",
    "load_metrics",
    "previous_run",
    "run_dates",
    "trend",
    "what_changed",
]

#: The count each rate is a share of, where the notebook writes it under another key: (notebook,
#: rate key) -> n key. Read from the metrics builders (``leadnb.scoring.headline``,
#: ``leadnb.funnel.stages.headline_metrics``, ``leadnb.experiments.readout.headline_metrics``):
#: ``conversion_rate`` is the conversions over ``n_leads``; the lead-stage rates are over every
#: lead (``stage_conversion`` row ``lead``: ``n_from`` is ``n_leads``); the A/B arm rates are
#: over their arms. A rate not listed here is tested from its interval when it has one
#: (``mql_to_sql_rate``: its n, the MQLs, is not written), else not tested.
RATE_N: dict[tuple[str, str], str] = {
    ("scoring_calibration", "conversion_rate"): "n_leads",
    ("cohort_conversion", "lead_to_mql_rate"): "n_leads",
    ("cohort_conversion", "lead_to_sql_rate"): "n_leads",
    ("cohort_conversion", "mql_to_sql_rate"): "mql_to_sql_n_from",
    ("cohort_conversion", "mql_to_opportunity_rate"): "mql_to_sql_n_from",
    ("cohort_conversion", "mql_to_customer_rate"): "mql_to_sql_n_from",
    ("ab_testing", "control_rate"): "n_control",
    ("ab_testing", "variant_rate"): "n_variant",
}

#: Numbers that are not measurements of the data, so have no sampling noise to test against:
#: (notebook, key prefix) -> why. The nurture ROI what-if scenario is arithmetic on the params
#: file's inputs (``roi`` section), not on leads.
NOT_SAMPLED: dict[tuple[str, str], str] = {
    ("nurture_roi", "scenario_"): "a what-if from the params file, not a measurement",
}

#: Columns of :func:`compare_metrics` and :func:`what_changed`, in order.
CHANGE_COLUMNS = [
    "notebook",
    "key",
    "label",
    "kind",
    "before",
    "after",
    "change",
    "rel_change",
    "test",
    "statistic",
    "p_value",
    "p_adjusted",
    "beyond_noise",
    "sentence",
    "since",
    "previous_run_id",
]

#: Columns of :func:`trend`, in order.
TREND_COLUMNS = [
    "run_id", "as_of", "notebook", "key", "label", "kind", "value", "ci_low", "ci_high"
]  # fmt: skip

#: Kinds that are not numbers: never compared.
_NOT_NUMBERS = frozenset({Kind.TEXT, Kind.DATE, Kind.FLAG})
_NO_NOISE = "not tested: no measure of noise"
MANIFEST = "manifest.json"
METRICS = "metrics.json"
KINDS = "metric_kinds.json"


# --------------------------------------------------------------------------------------------
# Finding the previous run


class PreviousRun(NamedTuple):
    """A run to compare with: its id, analysis date, folder and successful notebooks."""

    run_id: str
    as_of: str
    run_dir: Path
    notebooks: tuple[str, ...]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_name(manifest: Mapping[str, Any]) -> str | None:
    name = manifest.get("name")
    if name is None:
        run = (manifest.get("params") or {}).get("run") or {}
        name = run.get("name") if isinstance(run, Mapping) else None
    return None if name is None else str(name)


def _date(value: Any) -> pd.Timestamp | None:
    try:
        ts = pd.Timestamp(str(value))
    except (TypeError, ValueError):
        return None
    return None if pd.isna(ts) else ts.normalize()


def _succeeded(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    entries = manifest.get("notebooks") or []
    return tuple(
        str(e["name"])
        for e in entries
        if isinstance(e, Mapping) and e.get("status") == "success" and "name" in e
    )


def _runs(out_dir: Path, name: str) -> list[tuple[dict[str, Any], Path]]:
    """Published runs of params name ``name`` under ``out_dir``: (manifest, folder)."""
    out_dir = Path(out_dir)
    found = []
    for d in sorted(out_dir.iterdir()) if out_dir.is_dir() else []:
        if d.name.startswith(".") or d.is_symlink() or not d.is_dir():
            continue
        m = _read_json(d / MANIFEST)
        if m and _run_name(m) == name and _date(m.get("as_of")) is not None:
            found.append((m, d))
    return found


def run_dates(out_dir: str | Path, name: str) -> set[pd.Timestamp]:
    """The analysis dates of the published runs of params name ``name`` under ``out_dir``.

    >>> import tempfile
    >>> run_dates(tempfile.mkdtemp(), "demo")
    set()
    """
    return {_date(m.get("as_of")) for m, _ in _runs(Path(out_dir), name)}  # type: ignore[misc]


def previous_run(
    out_dir: str | Path, manifest: Mapping[str, Any], *, notebook: str | None = None
) -> PreviousRun | None:
    """The run to compare ``manifest``'s run with.

    Parameters
    ----------
    out_dir : str or Path
        The output root holding the runs (``OUT``).
    manifest : mapping
        The current run's manifest (``name`` or ``params.run.name``, ``as_of``).
    notebook : str, optional
        Decide for this notebook: the latest earlier run in which *this notebook* succeeded,
        whatever the others did (a subset run, or a run where another notebook failed, counts
        for the notebooks it ran successfully). Without it, only runs whose overall
        ``status`` is ``success`` count.

    Returns
    -------
    PreviousRun or None
        ``run_id``, ``as_of``, ``run_dir`` and ``notebooks`` (those that succeeded in it) of
        the run of the same params name with the latest analysis date strictly before the
        current one (among runs of that date, the one started last); ``None`` when there is
        none (an empty OUT, a first run, only failed runs, only later dates). Hidden folders
        (runs being written), the ``latest`` link and unreadable manifests are skipped.

    Examples
    --------
    >>> import tempfile
    >>> previous_run(tempfile.mkdtemp(), {"name": "demo", "as_of": "2026-06-30"}) is None
    True
    """
    name = _run_name(manifest)
    current = _date(manifest.get("as_of"))
    if name is None or current is None:
        return None
    best: tuple[tuple[pd.Timestamp, str], PreviousRun] | None = None
    for m, folder in _runs(Path(out_dir), name):
        as_of = _date(m.get("as_of"))
        if as_of is None or as_of >= current or m.get("run_id") == manifest.get("run_id"):
            continue
        ok = _succeeded(m)
        if notebook is None:
            if m.get("status") != "success" or not ok:
                continue
        elif notebook not in ok:
            continue
        rank = (as_of, str(m.get("started_at", "")))
        if best is None or rank > best[0]:
            run = PreviousRun(str(m.get("run_id", folder.name)), f"{as_of:%Y-%m-%d}", folder, ok)
            best = (rank, run)
    return None if best is None else best[1]


# --------------------------------------------------------------------------------------------
# Reading one notebook's numbers


def load_metrics(run_dir: str | Path, notebook: str) -> Metrics:
    """One notebook's ``metrics.json`` with the kinds of ``metric_kinds.json``.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    notebook : str
        The notebook folder name.

    Returns
    -------
    Metrics
        Every value of ``metrics.json`` (empty when missing or unreadable) with the kinds
        declared for them; a kind declared for a key that is not there is dropped, a key
        without a declared kind has none (older runs have no ``metric_kinds.json``).
    """
    folder = Path(run_dir) / notebook
    values = _read_json(folder / METRICS)
    kinds = {}
    for k, v in _read_json(folder / KINDS).items():
        try:
            if k in values:
                kinds[k] = Kind(v)
        except ValueError:
            continue
    return Metrics(values, kinds)


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, int | float | np.number):
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def _ci_keys(key: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """The ``P_ci_low``/``P_ci_high`` keys of ``key``: ``P`` is ``key`` itself, or ``key``
    without a ``_rate``/``_pct``/``_value`` ending (``lvr_pct`` has ``lvr_ci_low``)."""
    stems = [key] + [key[: -len(e)] for e in ("_rate", "_pct", "_value") if key.endswith(e)]
    for p in stems:
        lo, hi = f"{p}_ci_low", f"{p}_ci_high"
        if _number(values.get(lo)) is not None and _number(values.get(hi)) is not None:
            return lo, hi
    return None


def headline_keys(metrics: Mapping[str, Any]) -> list[str]:
    """The numbers a notebook calls its headline: its ``headline`` list when it writes one,
    else every numeric key that is not an interval bound.

    Returns
    -------
    list of str
        Keys in the notebook's order; interval bounds (``x_ci_low``/``x_ci_high``) and keys
        that are not in ``metrics`` are left out.

    Examples
    --------
    >>> headline_keys({"auc": 0.7, "auc_ci_low": 0.6, "auc_ci_high": 0.8, "stage": "sql"})
    ['auc']
    >>> headline_keys({"headline": ["b", "gone", "a"], "a": 1, "b": 2})
    ['b', 'a']
    """
    chosen = metrics.get("headline")
    if isinstance(chosen, list) and chosen:
        keys = [k for k in chosen if isinstance(k, str) and k in metrics]
    else:
        keys = [k for k, v in metrics.items() if _number(v) is not None]
    return [k for k in keys if not k.endswith(("_ci_low", "_ci_high"))]


# --------------------------------------------------------------------------------------------
# Comparing


def _label(key: str, metrics: Mapping[str, Any] | None = None) -> str:
    """The label the notebook declared for ``key`` (its ``"labels"``), else one from the key."""
    from leadnb.report.pages import metric_label

    declared = (metrics or {}).get("labels")
    if isinstance(declared, Mapping) and isinstance(declared.get(key), str):
        return declared[key]
    return metric_label(key)


class _Test(NamedTuple):
    name: str
    statistic: float
    p_value: float


def _rate_test(b: float, a: float, n_b: float, n_a: float) -> _Test:
    """Two-proportion z test (pooled), the runs taken as independent samples."""
    from statsmodels.stats.proportion import proportions_ztest

    counts = np.array([round(a * n_a), round(b * n_b)])
    nobs = np.array([n_a, n_b])
    pooled = counts.sum() / nobs.sum()
    if pooled <= 0 or pooled >= 1:  # every lead (or none) converted in both: no variance
        same = counts[0] / nobs[0] == counts[1] / nobs[1]
        return _Test("two-proportion z test", 0.0 if same else math.inf, 1.0 if same else 0.0)
    z, p = proportions_ztest(counts, nobs)
    return _Test("two-proportion z test", float(z), float(p))


def _count_test(b: float, a: float) -> _Test:
    """Poisson comparison of two counts (score test, equal exposure)."""
    from statsmodels.stats.rates import test_poisson_2indep

    if a + b == 0:
        return _Test("Poisson comparison", 0.0, 1.0)
    # one count 0: statsmodels divides by it for the ratio it also returns (unused here) and
    # would print a RuntimeWarning into the run's log; the score test itself is defined
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = test_poisson_2indep(int(a), 1.0, int(b), 1.0, method="score")
    return _Test("Poisson comparison", float(res.statistic), float(res.pvalue))


def _interval_test(
    b: float, a: float, ci_b: tuple[float, float], ci_a: tuple[float, float], level: float
) -> _Test | None:
    """z test on the difference, each run's standard error read from its interval."""
    from scipy import stats  # imported when a comparison needs it: a first run does not

    z_crit = stats.norm.ppf(0.5 + level / 2)
    se_b = (ci_b[1] - ci_b[0]) / (2 * z_crit)
    se_a = (ci_a[1] - ci_a[0]) / (2 * z_crit)
    se = math.hypot(se_a, se_b)
    if not se > 0:
        return None
    z = (a - b) / se
    return _Test("z test from the two intervals", z, float(2 * stats.norm.sf(abs(z))))


def _test_one(
    notebook: str,
    key: str,
    kind: Kind | None,
    cur: Metrics,
    prev: Metrics,
    *,
    level: float,
) -> tuple[str, float, float]:
    """(test or why not tested, statistic, p-value) for one number."""
    a, b = float(cur[key]), float(prev[key])
    if kind is None:
        return "not tested: no declared kind", math.nan, math.nan
    for (nb, prefix), why in NOT_SAMPLED.items():
        if nb == notebook and key.startswith(prefix):
            return f"not tested: {why}", math.nan, math.nan
    if kind is Kind.RATE and (notebook, key) in RATE_N:
        n_key = RATE_N[(notebook, key)]
        n_a, n_b = _number(cur.get(n_key)), _number(prev.get(n_key))
        if n_a and n_b and 0 <= a <= 1 and 0 <= b <= 1:
            t = _rate_test(b, a, n_b, n_a)
            return t.name, t.statistic, t.p_value
    ci_a, ci_b = _ci_keys(key, cur), _ci_keys(key, prev)
    if ci_a and ci_b:
        t = _interval_test(
            b,
            a,
            (float(prev[ci_b[0]]), float(prev[ci_b[1]])),
            (float(cur[ci_a[0]]), float(cur[ci_a[1]])),
            level,
        )
        if t is not None:
            return t.name, t.statistic, t.p_value
    if kind is Kind.COUNT:
        if a < 0 or b < 0 or not (a.is_integer() and b.is_integer()):
            return "not tested: a modelled count, not a tally", math.nan, math.nan
        t = _count_test(b, a)
        return t.name, t.statistic, t.p_value
    return _NO_NOISE, math.nan, math.nan


def _sentence(row: Mapping[str, Any]) -> str:
    kind = row["kind"] or None
    before, after = format_value(row["before"], kind), format_value(row["after"], kind)
    change = row["change"]
    if change == 0:
        moved = f"{row['label']} is unchanged at {after}"
    elif before == after:  # a change smaller than the precision shown
        moved = f"{row['label']} is steady at {after} ({format_change(change, kind)})"
    else:
        verb = "rose" if change > 0 else "fell"
        moved = f"{row['label']} {verb} from {before} to {after} ({format_change(change, kind)})"
    if str(row["test"]).startswith("not tested"):
        return f"{moved}; {row['test']}."
    p = format_value(row["p_adjusted"], Kind.P_VALUE)
    p_text = f"p {p}" if p.startswith("<") else f"p = {p}"
    verdict = "beyond noise" if row["beyond_noise"] else "within noise"
    return f"{moved}: {verdict} ({p_text})."


def _flag(frame: pd.DataFrame, *, alpha: float, adjust: str | None) -> pd.DataFrame:
    """Set ``p_adjusted``, ``beyond_noise`` and ``sentence`` from the p-values of ``frame``."""
    out = frame.copy()
    p = out["p_value"].to_numpy(dtype=float)
    tested = ~np.isnan(p)
    adjusted = np.full(len(out), np.nan)
    if tested.any():  # statsmodels only then: a first run compares nothing (1.5 s to import)
        from statsmodels.stats.multitest import multipletests

        adjusted[tested] = (
            multipletests(p[tested], alpha=alpha, method=adjust)[1] if adjust else p[tested]
        )
    out["p_adjusted"] = adjusted
    out["beyond_noise"] = pd.array(
        [bool(q < alpha) if t else pd.NA for q, t in zip(adjusted, tested, strict=True)],
        dtype="boolean",
    )
    out["sentence"] = [_sentence(r) for r in out.to_dict("records")] if len(out) else []
    return out


def compare_metrics(
    current: Metrics,
    previous: Metrics,
    *,
    notebook: str,
    keys: Sequence[str] | None = None,
    alpha: float = 0.05,
    level: float = 0.95,
    adjust: Literal["holm", "bonferroni", "fdr_bh"] | None = "holm",
) -> pd.DataFrame:
    """Compare one notebook's headline numbers between two runs, each with a test for its kind.

    The test is chosen from the number's **declared** kind (never from its name):

    * a rate (kind ``rate``) whose n the notebook writes (its own ``n`` key via
      :data:`RATE_N`): two-proportion z test on ``rate × n`` of ``n`` in each run
      (``statsmodels.stats.proportion.proportions_ztest``, pooled variance);
    * a number with an interval (``x_ci_low``/``x_ci_high``) and no n: z test of the
      difference, each run's standard error being its interval's width over
      ``2 z_(1+level)/2`` (assumes roughly normal, symmetric intervals at ``level``);
    * a count (kind ``count``, whole numbers): Poisson comparison of the two counts
      (``statsmodels.stats.rates.test_poisson_2indep``, score test, equal exposure); a
      fractional (modelled) count is not tested;
    * anything else (a score, money, a p-value, a ratio without interval), or a number listed in
      :data:`NOT_SAMPLED`: not tested, "not tested: no measure of noise".

    Every test takes the two runs as independent samples; two weekly runs share most of their
    leads, which makes these tests conservative (see the module notes).

    Parameters
    ----------
    current, previous : Metrics
        The notebook's numbers with their kinds, this run and the previous one
        (:func:`load_metrics`).
    notebook : str
        The notebook's folder name (for :data:`RATE_N` and :data:`NOT_SAMPLED`).
    keys : sequence of str, optional
        The numbers to compare (default: ``current``'s headline, :func:`headline_keys`).
    alpha : float, default 0.05
        A change is beyond noise when its adjusted p-value is below ``alpha``.
    level : float, default 0.95
        The confidence level of the intervals written in ``metrics.json``.
    adjust : {"holm", "bonferroni", "fdr_bh"} or None, default "holm"
        Adjustment for the numbers compared in this frame (``multipletests``).

    Returns
    -------
    pandas.DataFrame
        One row per headline number that is a number in both runs (text, dates and flags are
        not compared; a number missing or null in either run is left out), in headline order:
        ``notebook``, ``key``, ``label`` (human name), ``kind`` (declared, ``""`` if none),
        ``before``, ``after``, ``change`` (after - before, in the number's units),
        ``rel_change`` (after / before - 1; NaN when before is 0), ``test`` (the test's name,
        or "not tested: <why>"), ``statistic``, ``p_value``, ``p_adjusted``, ``beyond_noise``
        (nullable boolean; NA when not tested), ``sentence`` (one plain sentence), ``since``
        and ``previous_run_id`` (empty here; :func:`what_changed` fills them). When a
        headline *text* number differs (``experiment_id``: another experiment now leads the
        card), the numbers describe something else and none is tested.

    Examples
    --------
    >>> before = Metrics({"n_leads": 1000, "conversion_rate": 0.05, "brier": 0.04},
    ...                  {"n_leads": "count", "conversion_rate": "rate", "brier": "ratio"})
    >>> after = Metrics({"n_leads": 1000, "conversion_rate": 0.09, "brier": 0.041},
    ...                 {"n_leads": "count", "conversion_rate": "rate", "brier": "ratio"})
    >>> f = compare_metrics(after, before, notebook="scoring_calibration")
    >>> f[["key", "test", "beyond_noise"]].to_dict("list")
    {'key': ['n_leads', 'conversion_rate', 'brier'], 'test': ['Poisson comparison', 'two-proportion z test', 'not tested: no measure of noise'], 'beyond_noise': [False, True, None]}
    >>> f.loc[1, "sentence"]
    'Conversion rate rose from 5.0% to 9.0% (+4.0 pts): beyond noise (p < 0.001).'
    """
    if adjust not in (None, "holm", "bonferroni", "fdr_bh"):
        raise ValueError(f"adjust must be 'holm', 'bonferroni', 'fdr_bh' or None, not {adjust!r}")
    if not 0 < alpha < 1 or not 0 < level < 1:
        raise ValueError(f"alpha and level must be in (0, 1): {alpha!r}, {level!r}")
    chosen = list(keys) if keys is not None else headline_keys(current)
    relabelled = [
        k
        for k in chosen
        if current.kinds.get(k) is Kind.TEXT
        and k in previous
        and current.get(k) is not None
        and str(current[k]) != str(previous[k])
    ]
    rows = []
    for key in chosen:
        if key not in previous or key not in current:
            continue
        a, b = _number(current[key]), _number(previous[key])
        kind = current.kinds.get(key)
        if a is None or b is None or kind in _NOT_NUMBERS:
            continue
        if previous.kinds.get(key, kind) is not kind:
            test = f"not tested: its kind changed ({previous.kinds[key]} -> {kind})"
            stat, p = math.nan, math.nan
        elif relabelled:
            k0 = relabelled[0]
            test = f"not tested: {_label(k0)} changed ({previous[k0]} -> {current[k0]})"
            stat, p = math.nan, math.nan
        else:
            test, stat, p = _test_one(notebook, key, kind, current, previous, level=level)
        rows.append(
            {
                "notebook": notebook,
                "key": key,
                "label": _label(key, current),
                "kind": "" if kind is None else str(kind),
                "before": b,
                "after": a,
                "change": a - b,
                "rel_change": a / b - 1 if b != 0 else math.nan,
                "test": test,
                "statistic": stat,
                "p_value": p,
                "p_adjusted": math.nan,
                "beyond_noise": pd.NA,
                "sentence": "",
                "since": "",
                "previous_run_id": "",
            }
        )
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    frame = frame.astype({c: float for c in ("before", "after", "change", "rel_change")})
    frame = frame.astype({c: float for c in ("statistic", "p_value", "p_adjusted")})
    return _flag(frame, alpha=alpha, adjust=adjust)


def what_changed(
    run_dir: str | Path,
    manifest: Mapping[str, Any],
    *,
    out_dir: str | Path | None = None,
    alpha: float = 0.05,
    level: float = 0.95,
    adjust: Literal["holm", "bonferroni", "fdr_bh"] | None = "holm",
    family: Literal["notebook", "run"] = "notebook",
) -> pd.DataFrame:
    """Every successful notebook of a run compared with its previous run (:func:`previous_run`,
    decided per notebook).

    Parameters
    ----------
    run_dir : str or Path
        The current run's folder (it may still be the temporary ``OUT/.tmp-<run_id>``).
    manifest : mapping
        The current run's manifest.
    out_dir : str or Path, optional
        Where earlier runs are (default: ``run_dir``'s parent).
    alpha, level, adjust
        As in :func:`compare_metrics`.
    family : {"notebook", "run"}, default "notebook"
        The numbers adjusted together: each notebook's (each report is read as one unit,
        and its rows equal :func:`compare_metrics` of that notebook, so a report's top and
        its index card agree), or every number of the run.

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`, rows of every notebook in run order, with ``since`` (the
        previous run's analysis date) and ``previous_run_id``; empty when no notebook has a
        previous run.

    Examples
    --------
    >>> import tempfile
    >>> what_changed(tempfile.mkdtemp(), {"name": "demo", "as_of": "2026-06-30"}).empty
    True
    """
    if family not in ("notebook", "run"):
        raise ValueError(f"family must be 'notebook' or 'run', not {family!r}")
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir.parent
    parts = []
    for nb in _succeeded(manifest):
        prev = previous_run(out, manifest, notebook=nb)
        if prev is None:
            continue
        f = compare_metrics(
            load_metrics(run_dir, nb),
            load_metrics(prev.run_dir, nb),
            notebook=nb,
            alpha=alpha,
            level=level,
            adjust=adjust if family == "notebook" else None,
        )
        parts.append(f.assign(since=prev.as_of, previous_run_id=prev.run_id))
    parts = [p for p in parts if len(p)]
    if not parts:
        return compare_metrics(Metrics({}, {}), Metrics({}, {}), notebook="")
    frame = pd.concat(parts, ignore_index=True)
    return frame if family == "notebook" else _flag(frame, alpha=alpha, adjust=adjust)


# --------------------------------------------------------------------------------------------
# Trend over runs


def trend(
    out_dir: str | Path,
    params_name: str,
    *,
    current: tuple[Mapping[str, Any], str | Path] | None = None,
) -> pd.DataFrame:
    """Every successful run's headline numbers over analysis dates, for a trend chart.

    Parameters
    ----------
    out_dir : str or Path
        The output root (``OUT``).
    params_name : str
        ``run.name`` of the params file; runs of other names are left out.
    current : (manifest, run folder), optional
        A run not published yet (the current run, still in ``OUT/.tmp-<run_id>``), included
        as if it were published.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per (analysis date, notebook, headline number): ``run_id``,
        ``as_of`` (datetime), ``notebook``, ``key``, ``label`` (the words the notebook
        declared for the number in that run's ``metrics.json``, else words made from the key),
        ``kind`` (declared, ``""`` if none),
        ``value``, ``ci_low``, ``ci_high`` (NaN without an interval). A notebook's numbers come
        from runs where that notebook succeeded (subset runs included, failed notebooks not);
        when several runs share an analysis date the one started last is kept. Text, dates and
        flags are left out. Sorted by notebook, key and date.

    Examples
    --------
    >>> import tempfile
    >>> list(trend(tempfile.mkdtemp(), "demo").columns) == TREND_COLUMNS
    True
    """
    latest: dict[tuple[pd.Timestamp, str], tuple[str, dict[str, Any], Path]] = {}
    runs = _runs(Path(out_dir), params_name)
    if current is not None and _run_name(current[0]) == params_name:
        if _date(current[0].get("as_of")) is not None:
            runs.append((dict(current[0]), Path(current[1])))
    for m, folder in runs:
        as_of = _date(m.get("as_of"))
        assert as_of is not None  # _runs keeps dated runs only
        for nb in _succeeded(m):
            started = str(m.get("started_at", ""))
            seen = latest.get((as_of, nb))
            if seen is None or started >= seen[0]:
                latest[(as_of, nb)] = (started, m, folder)
    rows = []
    for (as_of, nb), (_, m, folder) in latest.items():
        metrics = load_metrics(folder, nb)
        for key in headline_keys(metrics):
            v = _number(metrics[key])
            kind = metrics.kinds.get(key)
            if v is None or kind in _NOT_NUMBERS:
                continue
            ci = _ci_keys(key, metrics)
            rows.append(
                {
                    "run_id": str(m.get("run_id", folder.name)),
                    "as_of": as_of,
                    "notebook": nb,
                    "key": key,
                    "label": _label(key, metrics),
                    "kind": "" if kind is None else str(kind),
                    "value": v,
                    "ci_low": float(metrics[ci[0]]) if ci else math.nan,
                    "ci_high": float(metrics[ci[1]]) if ci else math.nan,
                }
            )
    frame = pd.DataFrame(rows, columns=TREND_COLUMNS)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame = frame.astype({"value": float, "ci_low": float, "ci_high": float})
    return frame.sort_values(["notebook", "key", "as_of"], ignore_index=True)
