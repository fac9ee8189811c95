"""Each report's answer in plain words: three to five findings, then what to do about them.

Design. A head of sales reads the first lines of a report and nothing else, so every report
opens with an :class:`Answer` built from the headline numbers the notebook already wrote
(its :class:`~leadnb.results.Metrics`, the same values and kinds as ``metrics.json`` and
``metric_kinds.json``). Three layers, each small and tested:

* **Wording rules** - pure functions that turn an estimate and its interval into a word, each
  with its threshold and where the threshold comes from: :func:`side` (the one rule every
  other builds on: an interval that contains the no-effect value is "no detectable
  difference", never "clearly"), :func:`auc_strength`, :func:`change_words`,
  :func:`ab_verdict`, :func:`roi_verdict`, :func:`holdout_agreement`, :func:`srm_broken`.
* **Builders** - one per notebook (:func:`scoring_answer`, :func:`cohort_answer`,
  :func:`roi_answer`, :func:`ab_answer`), each reading the notebook's metrics by key. A key
  that is missing or ``None`` (a section not computed) gives a sentence that says so, never an
  error and never a made-up number.
* **Rendering** - :meth:`Answer.to_html` (the ``id="answer"`` section every report opens with,
  text escaped) and :meth:`Answer.as_dict` (what ``metrics.json`` keeps, so the run index card
  shows the same first sentence).

Every number in a sentence is :func:`~leadnb.results.format_value` of a metric with its
declared kind, so the answer, the card and ``metrics.json`` agree. The exceptions are declared
in :data:`SENTENCE_KINDS` (the AUC is said as a percentage: "58.1% of the time") and the few
numbers that are part of a definition rather than a finding are in :data:`FIXED_NUMBERS`.
Intervals are 95% intervals, said as "likely between A and B".
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, Literal

from leadnb.funnel.stages import stage_name
from leadnb.results import Kind, Metrics, format_value
from leadnb.safe import escape

__all__ = [
    "ALPHA",
    "AUC_ACCEPTABLE",
    "AUC_EXCELLENT",
    "AUC_OUTSTANDING",
    "BUILDERS",
    "COIN_TOSS",
    "FIXED_NUMBERS",
    "GOOD_NURTURE_SHARE_OLD",
    "MAX_ACTIONS",
    "MAX_FINDINGS",
    "MIN_CONVERSIONS",
    "MIN_LVR_QUALIFIED",
    "NOTES_WHY",
    "SENTENCE_KINDS",
    "SRM_ALPHA",
    "Answer",
    "ab_answer",
    "ab_verdict",
    "auc_strength",
    "calibration_words",
    "change_words",
    "cohort_answer",
    "holdout_agreement",
    "roi_answer",
    "roi_verdict",
    "scoring_answer",
    "side",
    "srm_broken",
]

# --------------------------------------------------------------------------------------------
# Thresholds, each with its source

COIN_TOSS = 0.5
"""AUC of a score that ranks leads at random: a converted lead outscores a non-converted one
half the time (Hanley & McNeil 1982, "The meaning and use of the area under a ROC curve")."""
AUC_ACCEPTABLE = 0.7
"""From here an AUC is "acceptable discrimination"; below it (and above 0.5) the score only
barely predicts. Hosmer, Lemeshow & Sturdivant, *Applied Logistic Regression*, 3rd ed. (2013),
chapter 5, the guideline for the area under the ROC curve: 0.5 no discrimination, 0.7-0.8 acceptable, 0.8-0.9 excellent, 0.9+ outstanding."""
AUC_EXCELLENT = 0.8
"""Hosmer, Lemeshow & Sturdivant (2013), chapter 5: "excellent" from here ("well")."""
AUC_OUTSTANDING = 0.9
"""Hosmer, Lemeshow & Sturdivant (2013), chapter 5: "outstanding" from here ("very well")."""
SRM_ALPHA = 0.001
"""A sample-ratio check below this p-value means the split between arms is broken. Kohavi,
Tang & Xu, *Trustworthy Online Controlled Experiments* (2020), chapter 21 (sample ratio
mismatch): a conservative threshold such as 0.001, because a real mismatch gives p-values far
smaller and a false alarm stops a good experiment."""
ALPHA = 0.05
"""Significance level of an A/B comparison when the metrics do not carry the registered
``alpha`` (the registration default of :mod:`leadnb.experiments.registration`)."""
MIN_CONVERSIONS = 10
"""Fewer conversions than this behind an AUC and the answer says there are too few to judge
the score: the ten-events-per-predictor rule of Peduzzi, Concato, Kemper, Holford & Feinstein,
"A simulation study of the number of events per variable in logistic regression analysis",
J Clin Epidemiol 49 (1996) 1373-1379 (a score is one predictor); below it the DeLong interval
of an AUC is also unreliable."""
MIN_LVR_QUALIFIED = 10
"""Fewer qualified leads than this in the LVR period or the period before, and the answer says
there are too few to judge the change instead of a percentage. The same ten-events floor as
:data:`MIN_CONVERSIONS`: a count below 10 has a Poisson relative standard error above
1/sqrt(10), about 32%, and even the exact conditional interval of
:func:`leadnb.funnel.velocity.lvr_interval` for 10 against 10 runs from -62.6% to +167.7%, so
only a collapse or a tripling could be told from noise, and a percentage such as "+300.0% (from 1
to 4)" says more than the counts know. The period before is ``lvr_qualified / (1 + lvr_pct /
100)`` (exact: the LVR is computed from those two counts)."""
NOTES_WHY = "the notes at the end of the report ('How this was computed') say why"
"""Where a sentence sends the reader for the reason a number is missing: the data notes are in
the report's appendix, after the evidence."""
GOOD_NURTURE_SHARE_OLD = 0.5
"""At companies good at nurturing about half of SQLs come from old leads (the nurture article,
``shared/DOMAIN.md`` section 2); a share below it is said as room to grow."""
MAX_FINDINGS = 5
"""At most this many finding sentences (the issue: "three to five plain sentences")."""
MAX_ACTIONS = 3
"""At most this many "What to do" items."""

SENTENCE_KINDS: dict[str, Kind] = {
    "auc": Kind.RATE,
    "auc_ci_low": Kind.RATE,
    "auc_ci_high": Kind.RATE,
    "model_auc": Kind.RATE,
    "model_auc_ci_low": Kind.RATE,
    "model_auc_ci_high": Kind.RATE,
}
"""Keys a sentence shows in another unit than their declared kind. The AUC is declared a ratio
(the card shows 0.581) but a sentence says what it means, "a lead that converted outscored one
that did not 58.1% of the time", so it is formatted as a rate there."""

FIXED_NUMBERS: dict[str, str] = {
    "coin_toss": format_value(COIN_TOSS, Kind.RATE),
    "days_30": "30 days",
    "days_90": "90 days",
    "min_lvr_qualified": format_value(MIN_LVR_QUALIFIED, Kind.COUNT),
}
"""Numbers a sentence may hold that are definitions, not findings: the coin toss an AUC is
compared with, the 30- and 90-day horizons of the time-to-stage shares, and the fewest
qualified leads a period needs before its change is judged (:data:`MIN_LVR_QUALIFIED`)."""


# --------------------------------------------------------------------------------------------
# Wording rules

Side = Literal["above", "below", "contains", "unknown"]


def _num(v: Any) -> float | None:
    """``v`` as a finite float, else None (None, NaN, text, booleans)."""
    if v is None or isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def side(low: Any, high: Any, *, null: float) -> Side:
    """Where an interval lies relative to the no-effect value ``null``.

    The rule every wording follows: only an interval wholly above or below ``null`` is a
    detectable effect; one that touches or contains it is "no detectable difference". A
    missing bound is "unknown" (said as "no interval was computed", and never "clearly").

    Parameters
    ----------
    low, high
        The interval's bounds (None or NaN when not computed).
    null
        The no-effect value: 0 for a difference, 1 for a ratio, 0.5 for an AUC.

    Returns
    -------
    str
        ``"above"`` (low > null), ``"below"`` (high < null), ``"contains"`` or ``"unknown"``.

    Examples
    --------
    >>> side(0.03, 0.06, null=0), side(-0.01, 0.06, null=0), side(0.0, 0.06, null=0)
    ('above', 'contains', 'contains')
    >>> side(0.4, 0.9, null=1.0), side(None, 0.2, null=0)
    ('below', 'unknown')
    """
    lo, hi = _num(low), _num(high)
    if lo is None or hi is None:
        return "unknown"
    if lo > null:
        return "above"
    if hi < null:
        return "below"
    return "contains"


AucStrength = Literal[
    "none", "reversed", "barely", "acceptably", "well", "very well", "too few", "unknown"
]


def auc_strength(auc: Any, low: Any, high: Any, *, conversions: Any = None) -> AucStrength:
    """How well a score predicts conversion, in a word, from its AUC and 95% interval.

    With fewer than :data:`MIN_CONVERSIONS` conversions behind it the AUC is ``"too few"``
    (its interval is not to be trusted). An interval that contains :data:`COIN_TOSS` is
    ``"none"`` (no detectable link), one below it ``"reversed"``; otherwise the point estimate
    picks the band of Hosmer, Lemeshow & Sturdivant (2013): below :data:`AUC_ACCEPTABLE`
    ``"barely"``, below :data:`AUC_EXCELLENT` ``"acceptably"``, below :data:`AUC_OUTSTANDING`
    ``"well"``, from there ``"very well"``.

    Returns
    -------
    str
        One of ``none``, ``reversed``, ``barely``, ``acceptably``, ``well``, ``very well``,
        ``too few``, ``unknown`` (no AUC).

    Examples
    --------
    >>> auc_strength(0.581, 0.560, 0.602), auc_strength(0.52, 0.49, 0.55)
    ('barely', 'none')
    >>> auc_strength(0.70, 0.66, 0.74), auc_strength(0.85, 0.8, 0.9), auc_strength(0.3, 0.2, 0.4)
    ('acceptably', 'well', 'reversed')
    >>> auc_strength(0.94, 0.88, 1.0, conversions=4), auc_strength(0.94, 0.88, 1.0, conversions=10)
    ('too few', 'very well')
    """
    a = _num(auc)
    if a is None:
        return "unknown"
    k = _num(conversions)
    if k is not None and k < MIN_CONVERSIONS:
        return "too few"
    where = side(low, high, null=COIN_TOSS)
    if where == "contains" or (where == "unknown" and a == COIN_TOSS):
        return "none"
    if where == "below" or (where == "unknown" and a < COIN_TOSS):
        return "reversed"
    if a < AUC_ACCEPTABLE:
        return "barely"
    if a < AUC_EXCELLENT:
        return "acceptably"
    if a < AUC_OUTSTANDING:
        return "well"
    return "very well"


def change_words(
    low: Any,
    high: Any,
    *,
    null: float = 0.0,
    up: str = "clearly rose",
    down: str = "clearly fell",
    none: str = "no detectable change",
    unknown: str = "no interval was computed, so no conclusion",
) -> str:
    """The words for a change whose interval is ``[low, high]``: ``up`` or ``down`` only when
    the interval excludes ``null`` (:func:`side`), else ``none``.

    Examples
    --------
    >>> change_words(-53.6, 9.1), change_words(-60.0, -10.0), change_words(2.0, 9.0)
    ('no detectable change', 'clearly fell', 'clearly rose')
    >>> change_words(1.8, 3.8, null=1.0, up="clearly more often")
    'clearly more often'
    """
    return {"above": up, "below": down, "contains": none, "unknown": unknown}[
        side(low, high, null=null)
    ]


def srm_broken(p_value: Any) -> bool:
    """True when a sample-ratio check failed: its p-value is below :data:`SRM_ALPHA`.

    A missing p-value (no check possible) is not a failure.

    Examples
    --------
    >>> srm_broken(0.0009), srm_broken(0.001), srm_broken(None)
    (True, False, False)
    """
    p = _num(p_value)
    return p is not None and p < SRM_ALPHA


AbVerdict = Literal[
    "broken",
    "interim",
    "immature",
    "underpowered",
    "beat",
    "worse",
    "none",
    "unconfirmed",
    "unknown",
]


def ab_verdict(
    diff_low: Any,
    diff_high: Any,
    *,
    p_adjusted: Any = None,
    alpha: float = ALPHA,
    interim: bool = False,
    srm_p_value: Any = None,
    n_immature: Any = None,
    underpowered: bool = False,
) -> AbVerdict:
    """The verdict of one variant against control, in the order a reader must hear it.

    1. ``"broken"``: the sample-ratio check failed (:func:`srm_broken`): do not trust it.
    2. ``"interim"``: a look before the registered end or planned n: do not decide yet
       (peeking inflates false wins, so no winner is named).
    3. ``"immature"``: ``n_immature`` leads' outcome windows are still open (the registered
       decision comes after the last window closes): do not decide yet, whatever the
       interval, since the leads not yet counted can move it.
    4. ``"underpowered"``: the readout has less power than registered for its target and the
       interval excludes 0: a difference found with too little power tends to overstate the
       effect (Gelman & Carlin, "Beyond power calculations: assessing type S (sign) and type M
       (magnitude) errors", Perspectives on Psychological Science 9 (2014) 641-651), so no
       winner is named. An underpowered interval that contains 0 stays ``"none"``.
    5. ``"beat"`` / ``"worse"``: the difference's interval excludes 0 and the
       multiplicity-adjusted p-value (when given) is below ``alpha`` (the experiment's own
       registered level).
    6. ``"unconfirmed"``: the interval excludes 0 but the adjusted p-value does not pass
       (the win does not survive counting the other variants).
    7. ``"none"``: the interval contains 0: no detectable difference. ``"unknown"``: no
       interval.

    Returns
    -------
    str
        One of the verdicts above.

    Examples
    --------
    >>> ab_verdict(0.032, 0.065, p_adjusted=1e-8)
    'beat'
    >>> ab_verdict(-0.01, 0.065), ab_verdict(0.01, 0.065, p_adjusted=0.2)
    ('none', 'unconfirmed')
    >>> ab_verdict(0.032, 0.065, interim=True), ab_verdict(0.032, 0.065, srm_p_value=1e-5)
    ('interim', 'broken')
    >>> ab_verdict(0.028, 0.069, p_adjusted=3e-6, n_immature=1819)
    'immature'
    >>> ab_verdict(0.028, 0.069, underpowered=True), ab_verdict(-0.01, 0.06, underpowered=True)
    ('underpowered', 'none')
    >>> ab_verdict(0.01, 0.05, p_adjusted=0.03, alpha=0.01)
    'unconfirmed'
    """
    if srm_broken(srm_p_value):
        return "broken"
    if interim:
        return "interim"
    open_windows = _num(n_immature)
    if open_windows is not None and open_windows > 0:
        return "immature"
    where = side(diff_low, diff_high, null=0.0)
    if where in ("contains", "unknown"):
        return "none" if where == "contains" else "unknown"
    if underpowered:
        return "underpowered"
    p = _num(p_adjusted)
    if p is not None and p >= alpha:
        return "unconfirmed"
    return "beat" if where == "above" else "worse"


RoiVerdict = Literal["pays", "loses", "uncertain", "unknown"]


def roi_verdict(low: Any, high: Any) -> RoiVerdict:
    """Whether a programme pays for itself, from its ROI interval (ROI = (value - cost) / cost,
    so 0 is break-even): ``"pays"`` when the whole interval is above 0, ``"loses"`` when below,
    ``"uncertain"`` when it crosses 0, ``"unknown"`` without an interval.

    Examples
    --------
    >>> roi_verdict(1.89, 4.13), roi_verdict(-0.4, 1.2), roi_verdict(-0.9, -0.1)
    ('pays', 'uncertain', 'loses')
    """
    return {"above": "pays", "below": "loses", "contains": "uncertain", "unknown": "unknown"}[
        side(low, high, null=0.0)
    ]


Agreement = Literal[
    "confirms", "contradicts", "not_confirmed", "holdout_only", "neither", "unknown"
]


def holdout_agreement(lift_low: Any, lift_high: Any, diff_low: Any, diff_high: Any) -> Agreement:
    """Whether a randomised holdout agrees with the before/after estimate of the same effect.

    The before/after lift is a rate ratio (no effect: 1), the holdout a difference of rates
    (no effect: 0); each is placed with :func:`side`.

    Returns
    -------
    str
        ``"confirms"`` (both detect an effect in the same direction), ``"contradicts"``
        (opposite directions), ``"not_confirmed"`` (before/after detects one, the holdout
        does not), ``"holdout_only"`` (the reverse), ``"neither"`` (neither detects one),
        ``"unknown"`` (an interval missing).

    Examples
    --------
    >>> holdout_agreement(1.8, 3.8, 0.032, 0.065), holdout_agreement(1.8, 3.8, -0.01, 0.02)
    ('confirms', 'not_confirmed')
    >>> holdout_agreement(1.8, 3.8, -0.05, -0.01), holdout_agreement(0.9, 1.2, -0.01, 0.02)
    ('contradicts', 'neither')
    """
    a, b = side(lift_low, lift_high, null=1.0), side(diff_low, diff_high, null=0.0)
    if "unknown" in (a, b):
        return "unknown"
    if a == b:
        return "neither" if a == "contains" else "confirms"
    if a == "contains":
        return "holdout_only"
    if b == "contains":
        return "not_confirmed"
    return "contradicts"


# --------------------------------------------------------------------------------------------
# The answer


@dataclasses.dataclass(frozen=True)
class Answer:
    """A report's answer: finding sentences, then what to do.

    Examples
    --------
    >>> a = Answer(("The score barely predicts SQL.",), ("Revise the rules.",))
    >>> a.first_sentence
    'The score barely predicts SQL.'
    >>> a.as_dict()
    {'answer': ['The score barely predicts SQL.'], 'actions': ['Revise the rules.']}
    >>> print(a.to_html())  # doctest: +NORMALIZE_WHITESPACE
    <section id="answer" class="answer"><h2 class="answer-title">The answer</h2>
    <p class="answer-finding">The score barely predicts SQL.</p>
    <h3 class="answer-actions-title">What to do</h3>
    <ul class="answer-actions"><li>Revise the rules.</li></ul></section>
    """

    findings: tuple[str, ...]
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "actions", tuple(self.actions))
        if not self.findings:
            raise ValueError("an answer needs at least one finding")

    @property
    def first_sentence(self) -> str:
        """The first finding: what the run index card repeats."""
        return self.findings[0]

    def to_html(self, *, title: str = "The answer") -> str:
        """The answer as a self-contained HTML fragment for the top of a report.

        Returns
        -------
        str
            ``<section id="answer" class="answer">``: an ``h2`` (class ``answer-title``), one
            ``<p class="answer-finding">`` per finding, then (when there are actions) an
            ``h3`` "What to do" (class ``answer-actions-title``) and
            ``<ul class="answer-actions">``. All text is escaped; no ``style`` attributes.
        """
        parts = [
            f'<section id="answer" class="answer"><h2 class="answer-title">{escape(title)}</h2>'
        ]
        parts += [f'<p class="answer-finding">{escape(s)}</p>' for s in self.findings]
        if self.actions:
            items = "".join(f"<li>{escape(s)}</li>" for s in self.actions)
            parts.append('<h3 class="answer-actions-title">What to do</h3>')
            parts.append(f'<ul class="answer-actions">{items}</ul>')
        return "\n".join(parts) + "</section>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def as_dict(self) -> dict[str, list[str]]:
        """What ``metrics.json`` keeps: ``{"answer": [findings...], "actions": [...]}``."""
        return {"answer": list(self.findings), "actions": list(self.actions)}


def _answer(findings: list[str], actions: list[str]) -> Answer:
    return Answer(tuple(findings[:MAX_FINDINGS]), tuple(dict.fromkeys(actions))[:MAX_ACTIONS])


class _Facts:
    """Read a notebook's metrics by key: present or not, and shown from the declared kind."""

    def __init__(self, values: Mapping[str, Any], kinds: Mapping[str, Kind]) -> None:
        self.values = values
        self.kinds = kinds

    @classmethod
    def of(cls, m: Metrics) -> _Facts:
        return cls(m, getattr(m, "kinds", {}))

    def get(self, key: str) -> Any:
        v = self.values.get(key)
        if isinstance(v, float) and math.isnan(v):
            return None
        return v

    def has(self, *keys: str) -> bool:
        return all(self.get(k) is not None and self.get(k) != "" for k in keys)

    def num(self, key: str) -> float | None:
        return _num(self.get(key))

    def kind(self, key: str) -> Kind:
        if key in SENTENCE_KINDS:
            return SENTENCE_KINDS[key]
        if key not in self.kinds:
            raise KeyError(f"{key!r} has no declared kind (declared: {sorted(self.kinds)})")
        return Kind(self.kinds[key])

    def show(self, key: str) -> str:
        """``key`` formatted from its kind, with the decimals of its interval (a value and its
        bounds are shown alike: "83 per extra SQL (likely between 62 and 127)").

        A count is said as a whole number (:func:`_whole`): "about 59 leads a week", never
        "58.8 leads"; only a count below 1 keeps its decimal ("0.4 a month")."""
        kind = self.kind(key)
        if kind is Kind.COUNT:
            return format_value(_whole(self.get(key)), kind)
        base = key.removesuffix("_ci_low").removesuffix("_ci_high")
        together = [self.num(k) for k in (base, f"{base}_ci_low", f"{base}_ci_high")]
        nums = [abs(v) for v in together if v is not None]
        return format_value(self.get(key), kind, like=max(nums) if nums else None)

    def money(self, key: str) -> str:
        """A money value; the currency (``run.currency``) comes with :func:`format_value`."""
        return self.show(key)

    def between(self, low: str, high: str, *, money: bool = False) -> str:
        """``"likely between A and B"``, or ``""`` when a bound is missing."""
        if self.num(low) is None or self.num(high) is None:
            return ""
        f = self.money if money else self.show
        return f"likely between {f(low)} and {f(high)}"


def _whole(v: Any) -> Any:
    """A count as a sentence says it: rounded half up to a whole number from 1 on (58.76 -> 59,
    2.5 -> 3, -2.5 -> -3); a count below 1 in magnitude (0.4, a modelled count) and anything
    that is not a number are returned unchanged.

    >>> _whole(58.75685891739001), _whole(2.5), _whole(-2.5), _whole(0.4), _whole(1784), _whole(None)
    (59.0, 3.0, -3.0, 0.4, 1784, None)
    """
    f = _num(v)
    if f is None or f.is_integer() or abs(f) < 1:
        return v
    return math.copysign(math.floor(abs(f) + 0.5), f)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _listing(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------
# Scoring calibration

_AUC_HEAD = {
    "none": "The score does not detectably predict who reaches {stage}",
    "reversed": "The score points the wrong way: leads that reach {stage} tend to score lower",
    "barely": "The score barely predicts who reaches {stage}",
    "acceptably": "The score predicts who reaches {stage} acceptably",
    "well": "The score predicts who reaches {stage} well",
    "very well": "The score predicts who reaches {stage} very well",
    "too few": "Too few leads have reached {stage} yet to judge the score",
}


def calibration_words(slope: Any, intercept: Any) -> str:
    """How calibrated probabilities are, in words, from the calibration slope and intercept.

    ``well calibrated`` when the slope is within 0.8-1.25 and the intercept within +-0.2
    (odds off by less than a fifth); otherwise what is wrong: ``too low`` / ``too high`` on
    average (intercept above / below 0), ``too spread`` / ``too narrow`` (slope below 0.8 /
    above 1.25).

    >>> calibration_words(0.9, -0.003), calibration_words(0.58, 1.22), calibration_words(1.5, -0.4)
    ('well calibrated', 'too low on average and too spread', 'too high on average and too narrow')
    >>> calibration_words(None, 0.1)
    'not checked'
    """
    b, a = _num(slope), _num(intercept)
    if b is None or a is None:
        return "not checked"
    wrong = []
    if abs(a) > 0.2:
        wrong.append("too low on average" if a > 0 else "too high on average")
    if b < 0.8:
        wrong.append("too spread")
    elif b > 1.25:
        wrong.append("too narrow")
    return " and ".join(wrong) if wrong else "well calibrated"


def _model_vs_points(f: _Facts) -> str:
    """The model finding: does it beat the points at the team's capacity, by how much, and how
    calibrated its probabilities are; "" without the capture numbers."""
    if not f.has("capture_model", "capture_points", "capacity_per_week"):
        return ""
    d = f.num("capture_model") - f.num("capture_points")
    lo, hi = f.num("capture_diff_ci_low"), f.num("capture_diff_ci_high")
    count = lambda v: format_value(_whole(v), Kind.COUNT)  # noqa: E731
    ci = f" (95% CI {count(lo)} to {count(hi)})" if lo is not None and hi is not None else ""
    head = (
        f"At the team's capacity of {f.show('capacity_per_week')} leads a week, the calibrated "
        f"model's ranking reaches {f.show('capture_model')} conversions and the points' "
        f"{f.show('capture_points')}"
    )
    if d == 0 and lo == 0 and hi == 0:  # the same conversions in every bootstrap draw
        verdict = (
            ": the same in every resample, so at this capacity the ranking does not change who "
            "is called (the team can work nearly every lead the comparison judged)"
        )
    elif lo is not None and lo > 0:
        verdict = f": the model beats the points by {count(d)}{ci}"
    elif hi is not None and hi < 0:
        verdict = f": the model falls short of the points by {count(-d)}{ci}"
    else:
        between = f", 95% CI {count(lo)} to {count(hi)}" if ci else ""
        verdict = (
            f", so the model does not clearly beat the points (difference {count(d)}{between})"
        )
    calib = ""
    if f.has("calibration_slope_cross_fitted", "calibration_intercept_cross_fitted"):
        out_of_fold = calibration_words(
            f.get("calibration_slope_cross_fitted"), f.get("calibration_intercept_cross_fitted")
        )
        calib = (
            f"; its probabilities are {out_of_fold} on the leads it learned from (out of fold: "
            f"slope {f.show('calibration_slope_cross_fitted')}, intercept "
            f"{f.show('calibration_intercept_cross_fitted')})"
        )
        if f.has("calibration_slope", "calibration_intercept"):
            later = calibration_words(f.get("calibration_slope"), f.get("calibration_intercept"))
            calib += (
                f" and {later} on the latest leads (slope {f.show('calibration_slope')}, "
                f"intercept {f.show('calibration_intercept')})"
            )
    elif f.has("calibration_slope", "calibration_intercept"):
        later = calibration_words(f.get("calibration_slope"), f.get("calibration_intercept"))
        calib = (
            f"; its probabilities are {later} on leads it never saw (slope "
            f"{f.show('calibration_slope')}, intercept {f.show('calibration_intercept')})"
        )
    return head + verdict + calib + "."


def scoring_answer(m: Metrics) -> Answer:
    """The scoring report's answer, from :func:`leadnb.scoring.headline.headline_metrics`.

    Findings: how well the score ranks leads (AUC as "a lead that converted outscored one that
    did not X of the time", worded by :func:`auc_strength`, with its interval and the
    calibration population); how many leads converted; what the recommended threshold means
    for sales (leads a week, their conversion rate, the share of all conversions they hold);
    with the predictive queue, whether the model beats the points at the team's capacity and
    by how much, and how calibrated its probabilities are;
    competitors scoring above the threshold when they do. Actions follow the AUC's strength,
    SDR capacity (``capacity_per_week`` when the metrics have it) and competitors.

    Parameters
    ----------
    m
        The scoring metrics: ``n_leads``, ``conversions``, ``conversion_rate``,
        ``outcome_stage``, ``calibration_n``, ``calibration_conversions``, ``auc`` with
        ``auc_ci_low``/``auc_ci_high``, ``recommended_threshold``,
        ``recommended_weekly_workload``, ``recommended_precision``, ``recommended_recall``,
        ``competitor_mean_score``, ``competitor_conversion_rate``, ``high_quality_leads``; with
        the predictive queue ``capture_model``, ``capture_points``, ``capture_diff_ci_low``,
        ``capture_diff_ci_high``, ``calibration_slope``, ``calibration_intercept`` (held-out
        latest leads) and ``calibration_slope_cross_fitted``,
        ``calibration_intercept_cross_fitted``; any may be missing or None.

    Returns
    -------
    Answer
        Up to :data:`MAX_FINDINGS` findings and :data:`MAX_ACTIONS` actions.

    Examples
    --------
    >>> m = Metrics({"n_leads": 400, "conversions": 0, "conversion_rate": 0.0,
    ...              "outcome_stage": "sql", "auc": None, "auc_ci_low": None, "auc_ci_high": None},
    ...             {"n_leads": "count", "conversions": "count", "conversion_rate": "rate",
    ...              "outcome_stage": "text", "auc": "ratio", "auc_ci_low": "ratio",
    ...              "auc_ci_high": "ratio"})
    >>> scoring_answer(m).first_sentence
    'No lead has reached SQL yet (400 leads), so the score cannot be checked against outcomes.'
    """
    f = _Facts.of(m)
    stage = stage_name(f.get("outcome_stage") or "sql")
    findings: list[str] = []
    actions: list[str] = []
    conv, n = f.num("conversions"), f.num("n_leads")
    if conv == 0:
        of = f" ({f.show('n_leads')} leads)" if n is not None else ""
        findings.append(
            f"No lead has reached {stage} yet{of}, so the score cannot be checked against outcomes."
        )
        actions.append(
            f"Wait for leads to reach {stage} before trusting the score; the next runs will test it."
        )
        return _answer(findings, actions)
    strength = auc_strength(
        f.get("auc"),
        f.get("auc_ci_low"),
        f.get("auc_ci_high"),
        conversions=f.get("calibration_conversions"),
    )
    if strength == "unknown":
        findings.append(
            f"How well the score predicts who reaches {stage} was not computed in this run "
            f"(too few leads with a known outcome); {NOTES_WHY}."
        )
    else:
        between = f.between("auc_ci_low", "auc_ci_high")
        interval = f"{between}; " if between else "no interval was computed; "
        pop = ""
        if f.has("calibration_n", "calibration_conversions"):
            pop = (
                f", judged on {f.show('calibration_n')} leads of which "
                f"{f.show('calibration_conversions')} converted"
            )
        findings.append(
            _AUC_HEAD[strength].format(stage=stage)
            + f": a lead that converted outscored one that did not {f.show('auc')} of the time "
            f"({interval}{FIXED_NUMBERS['coin_toss']} would be a coin toss){pop}."
        )
    if f.has("conversions", "n_leads", "conversion_rate"):
        findings.append(
            f"{f.show('conversions')} of {f.show('n_leads')} leads "
            f"({f.show('conversion_rate')}) have reached {stage} by the analysis date."
        )
    if f.has("recommended_threshold", "recommended_weekly_workload"):
        tail = ""
        if f.has("recommended_precision", "recommended_recall"):
            tail = (
                f"; {f.show('recommended_precision')} of them convert and they hold "
                f"{f.show('recommended_recall')} of all conversions"
            )
        fits = ""
        cap, load = f.num("capacity_per_week"), f.num("recommended_weekly_workload")
        if cap is not None and load is not None:
            fits = " (within" if load <= cap else " (more than"
            fits += f" the team's {f.show('capacity_per_week')} a week)"
        recall = f.num("recommended_recall")
        if recall is not None and recall >= 1:
            findings.append(
                f"The team can follow up every lead: sending all of them to sales means about "
                f"{f.show('recommended_weekly_workload')} leads a week{fits}, so no threshold "
                "is needed yet."
            )
        else:
            findings.append(
                f"Sending leads that score {f.show('recommended_threshold')} or more to sales "
                f"means about {f.show('recommended_weekly_workload')} leads a week{fits}{tail}."
            )
    elif strength != "unknown":
        findings.append(
            "The recommended threshold for sending leads to sales was not computed in this run; "
            f"{NOTES_WHY}."
        )
    model_sentence = _model_vs_points(f)
    if model_sentence:
        findings.append(model_sentence)
    comp, thr = f.num("competitor_mean_score"), f.num("recommended_threshold")
    comp_rate, rate_all = f.num("competitor_conversion_rate"), f.num("conversion_rate")
    if (
        comp is not None
        and thr is not None
        and comp >= thr
        and comp_rate is not None
        and rate_all is not None
        and comp_rate < rate_all
    ):
        rate = (
            ", yet none of them convert"
            if comp_rate == 0
            else f", yet only {f.show('competitor_conversion_rate')} of them convert"
        )
        findings.append(
            f"Competitors score {f.show('competitor_mean_score')} on average, above the "
            f"threshold{rate}."
        )
        actions.append("Take competitors off the sales list: they score high but do not buy.")
    if strength == "too few":
        actions.append(f"Do not rely on the score yet: wait until more leads have reached {stage}.")
    elif strength in ("none", "reversed", "barely"):
        actions.append(
            "Do not rank leads by this score alone: revise the rules with the lowest lift "
            "(rule table below) and check the score again in the next run."
        )
    elif strength in ("acceptably", "well", "very well"):
        actions.append("Use the score to order follow-ups: the highest-scoring leads first.")
    cap, listed, due = (
        f.num("capacity_per_week"),
        f.num("high_quality_leads"),
        f.num("due_this_week"),
    )
    if cap is not None and due is not None and due > cap:
        actions.append(
            f"{f.show('due_this_week')} follow-ups are due this week against a capacity of "
            f"{f.show('capacity_per_week')}: call the {f.show('capacity_per_week')} "
            "highest-scoring first and queue the rest by follow-up date."
        )
    elif cap is not None and listed is not None and listed <= cap:
        actions.append(
            f"Call all {f.show('high_quality_leads')} high-quality leads this week: they fit "
            f"the team's capacity of {f.show('capacity_per_week')}."
        )
    elif cap is not None and listed is not None:
        actions.append(
            f"Call the top {f.show('capacity_per_week')} of the {f.show('high_quality_leads')} "
            "high-quality leads this week (the team's capacity); queue the rest by follow-up date."
        )
    elif f.has("high_quality_leads"):
        actions.append(
            f"Work the {f.show('high_quality_leads')} high-quality leads in score order, "
            "as many a week as the team can call."
        )
    return _answer(findings, actions)


# --------------------------------------------------------------------------------------------
# Cohort conversion


def _too_few_qualified(this: float | None, lvr_pct: float | None) -> bool:
    """True when the LVR period or the one before has fewer than :data:`MIN_LVR_QUALIFIED`
    qualified leads. The period before is ``this / (1 + lvr_pct / 100)``; without ``this``
    (older metrics) nothing is known, so False.

    >>> _too_few_qualified(4, 300.0), _too_few_qualified(249, 44.8), _too_few_qualified(60, 600.0)
    (True, False, True)
    >>> _too_few_qualified(10, 0.0), _too_few_qualified(9, 0.0), _too_few_qualified(None, 300.0)
    (False, True, False)
    """
    if this is None:
        return False
    if this < MIN_LVR_QUALIFIED:
        return True
    if lvr_pct is None or lvr_pct <= -100:
        return False
    before = this / (1 + lvr_pct / 100)
    return round(before) < MIN_LVR_QUALIFIED


def cohort_answer(m: Metrics) -> Answer:
    """The cohort report's answer, from :func:`leadnb.funnel.stages.headline_metrics`.

    Findings: the funnel (lead to MQL, MQL to the qualified stage, opportunity and customer,
    with intervals); how soon leads reach the qualified stage (shares within 30 and 90 days,
    the median when half get there); the lead velocity rate of the latest complete period,
    worded by :func:`change_words` (an interval containing 0 is "no detectable change"); the
    share of qualified leads that came from old leads after the nurture start. With fewer than
    :data:`MIN_LVR_QUALIFIED` qualified leads in the LVR period or the one before, the change
    is not judged (its percentage is not said): there are too few to tell it from noise.

    Parameters
    ----------
    m
        The cohort metrics: ``n_leads``, ``qualified_stage``, ``<a>_to_<b>_rate`` with
        ``<a>_to_<b>_ci_low``/``_ci_high`` for the article pairs, ``lead_to_<q>_p30``,
        ``_p90``, ``_median_days``, ``lvr_period``, ``lvr_pct``, ``lvr_ci_low``,
        ``lvr_ci_high``, ``share_old_<q>_before``/``_after``; any may be missing. Used when
        present (the n of a sentence): ``mql_to_sql_n_from`` (MQLs behind the MQL rates) and
        ``lvr_qualified`` (qualified leads in the LVR period).

    Returns
    -------
    Answer
        Up to :data:`MAX_FINDINGS` findings and :data:`MAX_ACTIONS` actions.

    Examples
    --------
    >>> m = Metrics({"n_leads": 0, "qualified_stage": "sql"},
    ...             {"n_leads": "count", "qualified_stage": "text"})
    >>> print(cohort_answer(m).first_sentence)  # doctest: +NORMALIZE_WHITESPACE
    No funnel conversion was computed in this run (0 leads, or no stage history); the notes at
    the end of the report ('How this was computed') say why.
    """
    f = _Facts.of(m)
    q = f.get("qualified_stage") or "sql"
    qn = stage_name(q)
    findings: list[str] = []
    actions: list[str] = []
    funnel = []
    if f.has("lead_to_mql_rate"):
        between = f.between("lead_to_mql_ci_low", "lead_to_mql_ci_high")
        of = f"Of {f.show('n_leads')} leads, " if f.has("n_leads") else "Of all leads, "
        funnel.append(
            f"{of}{f.show('lead_to_mql_rate')} became MQL" + (f" ({between})" if between else "")
        )
    later = []
    for to in ("sql", "opportunity", "customer"):
        key = f"mql_to_{to}"
        if f.has(f"{key}_rate"):
            between = f.between(f"{key}_ci_low", f"{key}_ci_high")
            verb = "became customers" if to == "customer" else f"reached {stage_name(to)}"
            later.append(f"{f.show(f'{key}_rate')} {verb}" + (f" ({between})" if between else ""))
    if later:
        funnel.append(
            (
                f"of {f.show('mql_to_sql_n_from')} MQLs, "
                if f.has("mql_to_sql_n_from")
                else "of MQLs, "
            )
            + ", ".join(later[:-1])
            + (" and " if len(later) > 1 else "")
            + later[-1]
        )
    if funnel:
        findings.append(_cap("; ".join(funnel)) + ".")
    else:
        n = f" ({f.show('n_leads')} leads, or no stage history)" if f.has("n_leads") else ""
        findings.append(f"No funnel conversion was computed in this run{n}; {NOTES_WHY}.")
    t = f"lead_to_{q}"
    if f.has(f"{t}_p90"):
        soon = f" ({FIXED_NUMBERS['days_30']}: {f.show(f'{t}_p30')})" if f.has(f"{t}_p30") else ""
        median = (
            f"; half of all leads get there within {f.show(f'{t}_median_days')}"
            if f.has(f"{t}_median_days")
            else f"; fewer than half of leads ever reach {qn}, so there is no median time"
        )
        findings.append(
            f"Within {FIXED_NUMBERS['days_90']} of creation {f.show(f'{t}_p90')} of leads "
            f"reach {qn}{soon}{median}."
        )
    if f.has("lvr_pct") and _too_few_qualified(f.num("lvr_qualified"), f.num("lvr_pct")):
        period = f" in {f.get('lvr_period')}" if f.has("lvr_period") else " this period"
        this = f.num("lvr_qualified")
        need = f"(that needs at least {FIXED_NUMBERS['min_lvr_qualified']} in each period)"
        if this is not None and this < MIN_LVR_QUALIFIED:
            findings.append(
                f"Only {f.show('lvr_qualified')} new {qn}s{period}: too few {qn}s in the period "
                f"to judge the change on the period before {need}."
            )
        else:
            findings.append(
                f"Too few {qn}s in the period before to judge the change to "
                f"{f.show('lvr_qualified')} new {qn}s{period} {need}."
            )
        actions.append(
            f"No action on pipeline growth yet: too few {qn}s a period to measure a change; "
            "look again when more have come in."
        )
    elif f.has("lvr_pct"):
        words = change_words(f.get("lvr_ci_low"), f.get("lvr_ci_high"))
        between = f.between("lvr_ci_low", "lvr_ci_high")
        period = f" in {f.get('lvr_period')}" if f.has("lvr_period") else ""
        findings.append(
            f"New {qn}s{period} changed by {f.show('lvr_pct')} on the period before"
            + (f" ({between})" if between else "")
            + f": {words}"
            + (f", {f.show('lvr_qualified')} this period." if f.has("lvr_qualified") else ".")
        )
        if words.startswith("clearly fell"):
            actions.append(
                f"The {qn} pipeline is shrinking: check lead sources and the MQL to {qn} "
                "handover this month."
            )
        elif words.startswith("clearly rose"):
            actions.append(f"The {qn} pipeline is growing: check the sales team can keep up.")
        else:
            actions.append(
                f"No action on pipeline growth yet: the change in new {qn}s is within noise; "
                "look again in the next run."
            )
    after, before = f"share_old_{q}_after", f"share_old_{q}_before"
    if f.has(after):
        was = f", against {f.show(before)} before" if f.has(before) else ""
        findings.append(
            f"Since the nurture start {f.show(after)} of {qn}s came from old leads{was}."
        )
        if f.num(after) >= GOOD_NURTURE_SHARE_OLD:  # type: ignore[operator]
            actions.append(f"Keep nurturing old leads: they now bring {f.show(after)} of {qn}s.")
        else:
            actions.append(
                f"Nurture old leads more: they bring {f.show(after)} of {qn}s, where companies "
                "good at nurturing get about half."
            )
    missing = [
        what
        for key, what in (
            (f"{t}_p90", f"how soon leads reach {qn}"),
            ("lvr_pct", f"the change in new {qn}s from one period to the next"),
            (after, f"the share of {qn}s from old leads"),
        )
        if not f.has(key)
    ]
    if missing and funnel:
        findings.append(
            f"Not computed in this run: {_listing(missing)} (too little history by the analysis "
            f"date; {NOTES_WHY})."
        )
    if not actions:
        actions.append("Nothing to decide from this run; the sections below show what is known.")
    return _answer(findings, actions)


# --------------------------------------------------------------------------------------------
# Nurture ROI

_PER_SQL = "cost_per_sql"


def roi_answer(m: Metrics) -> Answer:
    """The nurture ROI report's answer, from :func:`leadnb.roi.tables.roi_metrics`.

    Findings: the before/after lift of old leads' SQL rate at the same lead age (worded by
    :func:`change_words` against a ratio of 1); the ROI with its interval (worded by
    :func:`roi_verdict`: an interval crossing 0 "may not pay for itself"), said as a
    before/after estimate that season and lead mix can bias; the randomised holdout and
    whether it agrees (:func:`holdout_agreement`), or that it is interim or absent; cost per
    SQL before and after (``cost_basis`` picks the lead-generation or fully loaded cost).
    Without any measured comparison, the what-if scenario from the params is said as such.

    Parameters
    ----------
    m
        The ROI metrics: ``nurture_lift`` (with ``_ci_low``/``_ci_high``),
        ``incremental_sqls``, ``incremental_sqls_per_month``, ``roi`` (with interval),
        ``nurture_cost``, ``holdout_diff`` (with interval), ``holdout_cost_per_incremental_sql``,
        ``holdout_interim``, ``before_cost_per_sql``/``after_cost_per_sql`` (``_loaded`` when
        ``cost_basis`` is ``fully_loaded``), ``scenario_*``; used when present:
        ``holdout_n_treatment`` and ``holdout_n_control`` (the holdout's n). Amounts carry
        the run's currency (``run.currency``, set by the notebook context).

    Returns
    -------
    Answer
        Up to :data:`MAX_FINDINGS` findings and :data:`MAX_ACTIONS` actions.

    Examples
    --------
    >>> m = Metrics({"roi": 0.4, "roi_ci_low": -0.2, "roi_ci_high": 1.1},
    ...             {"roi": "rate", "roi_ci_low": "rate", "roi_ci_high": "rate"})
    >>> print(roi_answer(m).findings[1])  # doctest: +NORMALIZE_WHITESPACE
    Nurture may not pay for itself: counting each extra SQL at its expected won value, the
    return on its cost was 40.0% (likely between -20.0% and 110.0%, so possibly a loss);
    this is a before/after estimate that season and lead mix can bias.
    """
    f = _Facts.of(m)
    findings: list[str] = []
    actions: list[str] = []
    lift_side = side(f.get("nurture_lift_ci_low"), f.get("nurture_lift_ci_high"), null=1.0)
    if f.has("nurture_lift"):
        between = f.between("nurture_lift_ci_low", "nurture_lift_ci_high")
        words = {
            "above": "clearly more often",
            "below": "clearly less often",
            "contains": "no detectable change",
            "unknown": "no interval was computed",
        }[lift_side]
        extra = ""
        if f.has("incremental_sqls") and lift_side == "above":
            extra = f", about {f.show('incremental_sqls')} extra SQLs"
            if f.has("incremental_sqls_per_month"):
                extra += f" ({f.show('incremental_sqls_per_month')} a month)"
        findings.append(
            "Since nurturing started, old leads reached SQL "
            f"{f.show('nurture_lift')} as often as before at the same lead age"
            + (f" ({between})" if between else "")
            + f": {words}{extra}."
        )
    else:
        findings.append(
            "Nurtured leads were not compared before and after the nurture start in this run "
            f"(it needs complete months on both sides); {NOTES_WHY}."
        )
    verdict = roi_verdict(f.get("roi_ci_low"), f.get("roi_ci_high"))
    if f.has("roi"):
        between = f.between("roi_ci_low", "roi_ci_high")
        cost = f" of {f.money('nurture_cost')}" if f.has("nurture_cost") else ""
        head = {
            "pays": "Nurture pays for itself",
            "loses": "Nurture costs more than it brings",
            "uncertain": "Nurture may not pay for itself",
            "unknown": "Nurture's return has no interval",
        }[verdict]
        caveat = ", so possibly a loss" if verdict == "uncertain" else ""
        findings.append(
            f"{head}: counting each extra SQL at its expected won value, the return on its "
            f"cost{cost} was {f.show('roi')}"
            + (f" ({between}{caveat})" if between else "")
            + "; this is a before/after estimate that season and lead mix can bias."
        )
    if f.has("holdout_diff"):
        between = f.between("holdout_diff_ci_low", "holdout_diff_ci_high")
        agree = holdout_agreement(
            f.get("nurture_lift_ci_low"),
            f.get("nurture_lift_ci_high"),
            f.get("holdout_diff_ci_low"),
            f.get("holdout_diff_ci_high"),
        )
        hside = side(f.get("holdout_diff_ci_low"), f.get("holdout_diff_ci_high"), null=0.0)
        numbers_ = f"{f.show('holdout_diff')} on the SQL rate" + (
            f" ({between})" if between else ""
        )
        if f.has("holdout_n_treatment", "holdout_n_control"):
            numbers_ += (
                f", over {f.show('holdout_n_treatment')} nurtured and "
                f"{f.show('holdout_n_control')} held-out leads"
            )
        per = ""
        if f.has("holdout_cost_per_incremental_sql") and hside == "above":
            per = f", at {f.money('holdout_cost_per_incremental_sql')} per extra SQL"
        if f.get("holdout_interim"):
            findings.append(
                f"The randomised holdout is interim (do not decide yet): so far {numbers_}."
            )
            actions.append("Wait for the holdout to finish before changing nurture spend.")
        elif agree == "confirms":
            findings.append(
                f"A randomised holdout confirms it: nurtured leads differ by {numbers_}{per}."
            )
        elif agree in ("not_confirmed", "contradicts"):
            what = "does not confirm" if agree == "not_confirmed" else "contradicts"
            words = _holdout_words(f, up="clearly more", down="clearly less")
            findings.append(
                f"A randomised holdout {what} the before/after estimate: nurtured leads differ "
                f"by {numbers_}, {words}."
            )
            actions.append(
                "Trust the randomised holdout over the before/after estimate: do not expand "
                "nurture spend on the before/after return."
            )
        else:
            words = _holdout_words(f, up="nurture clearly helps", down="nurture clearly hurts")
            findings.append(
                f"A randomised holdout, the fairer test, finds {numbers_}{per}: {words}."
            )
    elif f.has("roi") or f.has("nurture_lift"):
        actions.append(
            "Run a randomised holdout (leads kept out of nurture) to check the before/after "
            "estimate, which season and lead mix can bias."
        )
    basis = "_loaded" if f.get("cost_basis") == "fully_loaded" else ""
    b, a = f"before_{_PER_SQL}{basis}", f"after_{_PER_SQL}{basis}"
    if f.has(b, a):
        label = "Fully loaded cost per SQL" if basis else "Lead-generation cost per SQL"
        findings.append(f"{label} went from {f.money(b)} before nurturing to {f.money(a)} after.")
    if (
        not f.has("roi")
        and not f.has("nurture_lift")
        and f.has("scenario_cost_per_sql_before", "scenario_cost_per_sql_after")
    ):
        change = (
            f" ({f.show('scenario_cost_per_sql_change_pct')})"
            if f.has("scenario_cost_per_sql_change_pct")
            else ""
        )
        findings.append(
            "Only the what-if scenario from the params (not measured) is shown: cost per SQL "
            f"{f.money('scenario_cost_per_sql_before')} without nurturing, "
            f"{f.money('scenario_cost_per_sql_after')} with it{change}."
        )
    holdout_ok = f.has("holdout_diff") and not f.get("holdout_interim")
    hside = side(f.get("holdout_diff_ci_low"), f.get("holdout_diff_ci_high"), null=0.0)
    if verdict == "pays" and (not holdout_ok or hside == "above"):
        actions.append("Keep the nurture programme: it returns more than it costs.")
    elif verdict == "uncertain":
        actions.append(
            "Do not expand nurture spend yet: the return could still be a loss; look again "
            "when more months are in."
        )
    elif verdict == "loses":
        actions.append("Cut or change the nurture programme: it costs more than it brings.")
    if not actions:
        actions.append("Nothing to decide from this run; the sections below show what is known.")
    return _answer(findings, actions)


# --------------------------------------------------------------------------------------------
# A/B tests


def _holdout_words(f: _Facts, *, up: str, down: str) -> str:
    """:func:`change_words` for the randomised holdout's difference interval."""
    return change_words(
        f.get("holdout_diff_ci_low"), f.get("holdout_diff_ci_high"), up=up, down=down
    )


def _underpowered(r: _Facts) -> bool:
    """Whether the readout had less power than registered for its target at the observed n
    (``power_at_n`` below ``power``, both in the record); unknown power is not "underpowered".

    >>> _underpowered(_Facts({"power_at_n": 0.72, "power": 0.8}, {}))
    True
    >>> _underpowered(_Facts({"power_at_n": 0.93, "power": 0.8}, {}))
    False
    >>> _underpowered(_Facts({"power_at_n": None, "power": 0.8}, {}))
    False
    """
    at_n, planned = r.num("power_at_n"), r.num("power")
    return at_n is not None and planned is not None and at_n < planned


def _experiment_sentence(r: _Facts, alpha: float) -> tuple[str, str, AbVerdict]:
    """One experiment's finding, its action, and its verdict.

    ``alpha`` is the run's fallback; the record's own registered ``alpha`` wins. Every
    sentence starts with fixed words ("In", "No"), never with an experiment or variant id.
    """
    eid = r.get("experiment_id") or "the experiment"
    v, c = r.get("variant") or "the variant", r.get("control") or "control"
    metric = r.get("metric_label") or r.get("metric") or "its primary metric"
    own_alpha = r.num("alpha")
    underpowered = _underpowered(r)
    # a sequential plan decides at its first stop (its interval is valid at every look); the
    # registered covariates' adjusted difference is the registered estimate when declared
    sequential = r.get("analysis") == "sequential"
    stopped = sequential and (bool(r.get("stop_recommended")) or r.has("stopped_at"))
    adjusted = all(
        r.num(k) is not None for k in ("diff_adj", "diff_adj_ci_low", "diff_adj_ci_high")
    )
    lo_key, hi_key = ("diff_adj_ci_low", "diff_adj_ci_high") if adjusted else (
        "diff_ci_low", "diff_ci_high"
    )  # fmt: skip
    verdict = ab_verdict(
        r.get(lo_key),
        r.get(hi_key),
        p_adjusted=r.get("p_adjusted"),
        alpha=own_alpha if own_alpha is not None and 0 < own_alpha < 1 else alpha,
        interim=bool(r.get("interim")) and not stopped,
        srm_p_value=r.get("srm_p_value"),
        n_immature=None if stopped else r.get("n_immature"),
        underpowered=underpowered and not stopped,
    )
    rates = ""
    if r.has("variant_rate", "control_rate"):
        rates = f"{r.show('variant_rate')} vs {r.show('control_rate')}"
        if adjusted:
            between = r.between(lo_key, hi_key)
            rates += (
                f" ({r.show('diff_adj')} adjusted for {r.get('covariates') or 'the covariates'}"
                + (f", {between})" if between else ")")
            )
        elif r.has("diff"):
            between = r.between("diff_ci_low", "diff_ci_high")
            rates += f" ({r.show('diff')}" + (f", {between})" if between else ")")
    n = ""
    if r.has("n_variant", "n_control"):
        n = f", with {r.show('n_variant')} leads on {v} and {r.show('n_control')} on {c}"
    if not r.has("n_variant", "n_control") or r.num("n_variant") == 0 or r.num("n_control") == 0:
        return (
            f"In {eid} there is no comparison of {v} with {c} yet (an arm has no lead with a "
            "known outcome; the readout below says why).",
            f"Wait for {eid} to collect outcomes in both arms.",
            "unknown",
        )
    if r.get("unit") == "account" and r.has("n_units_variant", "n_units_control"):
        n += f" ({r.show('n_units_variant')} and {r.show('n_units_control')} accounts)"
    what = f"on {metric}: {rates}{n}" if rates else f"on {metric}{n}"
    where = side(r.get(lo_key), r.get(hi_key), null=0.0)
    below = where == "below"
    open_windows = ""
    if (r.num("n_immature") or 0) > 0:
        open_windows = f"{r.show('n_immature')} leads' windows are still open"
    if verdict == "broken":
        p = r.show("srm_p_value")
        return (
            f"In {eid} the split between {v} and {c} is broken (sample-ratio check "
            f"p {p if p.startswith('<') else '= ' + p}): do not trust this result {what}.",
            f"Fix how leads are assigned in {eid} and restart it; do not act on its numbers.",
            verdict,
        )
    so_far = {
        "above": f"{v} is ahead of {c}",
        "below": f"{v} is behind {c}",
        "contains": f"{v} and {c} are not detectably different",
        "unknown": f"{v} and {c} have no interval yet",
    }[where]
    if verdict == "interim" and sequential:
        return (
            f"In {eid}, a sequential test, {so_far} so far {what}; its always-valid interval "
            "still includes 0, so it goes on: it may stop at any weekly look once the interval "
            "excludes 0.",
            f"Keep {eid} running and read it every week; decide when it stops.",
            verdict,
        )
    if verdict == "interim":
        why = "it is an interim look, before its registered end or planned number of leads"
        if open_windows:
            why += f", and {open_windows}"
        return (
            f"In {eid}, which is still running, {so_far} so far {what}; do not decide yet: {why}.",
            f"Do not decide on {eid} yet: wait for its registered end.",
            verdict,
        )
    if verdict == "immature":
        return (
            f"In {eid}, {so_far} so far {what}; do not decide yet: {open_windows}.",
            f"Do not decide on {eid} yet: wait until its leads' outcome windows have closed "
            "(the registered decision date).",
            verdict,
        )
    if verdict == "underpowered":
        return (
            f"In {eid}, {so_far} {what}; do not decide yet: the test has less power than "
            "registered at this number of leads, so the difference may be overstated.",
            f"Do not switch to {v} on the numbers of {eid} alone: extend or repeat it until it "
            "reaches its registered power.",
            verdict,
        )
    head = {
        "beat": f"In {eid}, {v} clearly beat {c}",
        "worse": f"In {eid}, {v} did clearly worse than {c}",
        "none": f"No detectable difference between {v} and {c} in {eid}",
        "unconfirmed": (
            f"In {eid}, {v} looked {'worse' if below else 'better'} than {c}, but not beyond "
            "chance once the other variants are counted (no detectable difference)"
        ),
        "unknown": f"In {eid}, {v} was compared with {c} without an interval",
    }[verdict]
    tail = ""
    if verdict == "none" and underpowered:
        tail = "; the test has less power than registered, so a difference of the registered size may have been missed"
    act = {
        "beat": f"Roll out {v} in place of {c}.",
        "worse": f"Stop {v}; keep {c}.",
        "none": f"Keep {c}: {v} made no detectable difference at this sample size.",
        "unconfirmed": f"Keep {c}; test {v} again before acting on it.",
        "unknown": f"Check the readout of {eid} in the table below.",
    }[verdict]
    if stopped and r.has("stopped_at"):
        tail += (
            f"; its sequential test stopped at week {r.show('stopped_week')} "
            f"({r.get('stopped_at')}), when its always-valid interval first excluded 0, so the "
            "decision was due then"
        )
    elif stopped:
        tail += (
            "; its sequential test may stop now: its always-valid interval excludes 0 for the "
            "first time"
        )
    return f"{head} {what}{tail}.", act, verdict


def _registered_only(f: _Facts) -> Answer:
    """The answer when experiments are registered but none has a readout yet."""
    one = f.num("n_registered") == 1
    return _answer(
        [
            f"{f.show('n_registered')} registered "
            + (
                "experiment has no readout yet: it has not started, or no lead is enrolled in "
                "it by the analysis date."
                if one
                else "experiments have no readout yet: they have not started, or no lead is "
                "enrolled in them by the analysis date."
            )
        ],
        [
            "Nothing to decide yet: the readout appears here once leads are enrolled and their "
            "outcome windows have closed."
        ],
    )


def ab_answer(m: Metrics) -> Answer:
    """The A/B report's answer, from :func:`leadnb.experiments.readout.headline_metrics`.

    One finding per experiment (``metrics["experiments"]``, the headline experiment first),
    worded by :func:`ab_verdict` with the experiment's own registered ``alpha`` (the record's,
    else the top-level ``alpha``, else :data:`ALPHA`): a failed sample-ratio check says the
    split is broken and the result not to be trusted; an interim look, leads whose outcome
    windows are still open (``n_immature``) or a readout that says it is underpowered say what
    the numbers show so far and not to decide yet; a winner is named ("clearly beat") only when
    none of those holds, the difference's interval excludes 0 and the Holm-adjusted p-value
    passes ``alpha``. With more experiments than fit, the first sentence counts them. With
    registered experiments (``n_registered``) but no readout, it says they have not started.
    No sentence starts with an id (ids are often lowercase): "In nurture-cadence-2026q1, ...".

    Parameters
    ----------
    m
        The A/B metrics: ``n_experiments``, ``n_interim``, ``n_significant``, ``n_registered``,
        the headline experiment's flat keys (``experiment_id``, ``control``, ``variant``,
        ``n_control``, ``n_variant``, ``control_rate``, ``variant_rate``, ``diff`` with
        interval, ``p_adjusted``, ``srm_p_value``, ``interim``, ``n_immature``, ``verdict``,
        ``alpha``, ``metric``, optional ``metric_label``) and ``experiments`` (the same record
        per experiment id). Kinds of record keys are those of the flat keys.

    Returns
    -------
    Answer
        Up to :data:`MAX_FINDINGS` findings and :data:`MAX_ACTIONS` actions.

    Examples
    --------
    >>> m = Metrics({"n_experiments": 0, "n_interim": 0, "n_significant": 0, "experiments": {}},
    ...             {"n_experiments": "count", "n_interim": "count", "n_significant": "count"})
    >>> ab_answer(m).first_sentence
    'No experiment has a readout in this run.'
    >>> m = m | Metrics({"n_registered": 1}, {"n_registered": "count"})
    >>> print(ab_answer(m).first_sentence)  # doctest: +NORMALIZE_WHITESPACE
    1 registered experiment has no readout yet: it has not started, or no lead is enrolled in
    it by the analysis date.
    """
    f = _Facts.of(m)
    top = f.num("alpha")
    alpha = top if top is not None and 0 < top < 1 else ALPHA
    records: dict[str, Any] = dict(f.get("experiments") or {})
    if not records and f.has("experiment_id"):
        records = {str(f.get("experiment_id")): {k: f.get(k) for k in f.kinds}}
    if not records and (f.num("n_registered") or 0) > 0:
        return _registered_only(f)
    if not records:
        return _answer(
            ["No experiment has a readout in this run."],
            ["Register the next experiment and assign leads to it; its readout appears here."],
        )
    head = f.get("experiment_id")
    order = sorted(records, key=lambda k: (k != head,))
    findings: list[str] = []
    actions: list[str] = []
    verdicts = []
    for eid in order:
        rec = {"experiment_id": eid, **dict(records[eid])}
        text, act, verdict = _experiment_sentence(_Facts(rec, f.kinds), alpha)
        findings.append(text)
        actions.append(act)
        verdicts.append(verdict)
    if len(order) == 1:  # one experiment: what the difference means, and whether the split is fair
        findings += _single_experiment_support(
            _Facts({**dict(records[order[0]])}, f.kinds), verdicts[0]
        )
    if len(order) > 1 and f.has("n_experiments", "n_interim"):
        findings.insert(
            0,
            f"{f.show('n_experiments')} experiments were read ({f.show('n_interim')} still "
            "interim); each is below, the headline experiment first.",
        )
    if len(findings) > MAX_FINDINGS:
        findings = [*findings[: MAX_FINDINGS - 1], "The other experiments are in the table below."]
    order_of = {"broken": 0, "interim": 1, "immature": 1, "underpowered": 1, "beat": 2, "worse": 3}
    ranked = sorted(zip(verdicts, actions, strict=True), key=lambda p: order_of.get(p[0], 4))
    return _answer(findings, [a for _, a in ranked])


def _single_experiment_support(r: _Facts, verdict: str) -> list[str]:
    """The supporting sentences of a one-experiment answer: the relative change a clear winner
    or loser brings, and whether leads were split between the arms as planned."""
    out = []
    if verdict in ("beat", "worse") and r.has("rel_lift", "control"):
        out.append(f"Relative to {r.get('control')}'s rate, that is {r.show('rel_lift')}.")
    if r.has("srm_p_value") and not srm_broken(r.get("srm_p_value")):
        out.append(
            "Leads were split between the arms as planned (sample-ratio check p = "
            f"{r.show('srm_p_value')}), so the comparison is fair."
        )
    return out


BUILDERS: dict[str, Callable[[Metrics], Answer]] = {
    "scoring_calibration": scoring_answer,
    "cohort_conversion": cohort_answer,
    "nurture_roi": roi_answer,
    "ab_testing": ab_answer,
}
"""Notebook folder name -> its answer builder."""
