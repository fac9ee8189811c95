"""One shape for every analysis result, and one declaration of what kind of number each field is.

Design. A headline number is only readable when the reader knows what it is: 0.0457 is a rate
("4.6%"), 3.128 is a return multiple ("313%" of the cost back, or "3.13×"), 749.6 is money. The
old index cards guessed that from the key's name, so the ROI card showed "3.128" where the report
said 313%. Here each number declares its :class:`Kind` once, where it is computed, and everything
that shows it (the notebook's tables, the index cards, ``metric_kinds.json`` next to
``metrics.json``) formats it with :func:`format_value` from that declaration.

* :class:`Result` is the base of every analysis result: a frozen dataclass whose fields are
  declared with :func:`value` (kind and a one-line meaning). Intervals follow one convention,
  learned from lifelines' ``summary`` and tea-tasting's result frames: a field ``x`` with
  ``x_ci_low`` and ``x_ci_high`` beside it, never a tuple. ``to_frame()`` gives one row per
  number (name, value, kind, ci_low, ci_high, meaning) and ``_repr_html_`` shows that frame,
  formatted, in Jupyter.
* :class:`Metrics` is what a notebook writes to ``metrics.json``: values and their kinds, built
  from results (:meth:`Result.metrics`) or declared directly, and merged with ``|``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import html
import math
import numbers
import re
import sys
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # imported where a frame is made: the run's workers format numbers and
    import pandas as pd  # render pages with this module and never load pandas (0.4 s each)

__all__ = [
    "Column",
    "Kind",
    "Metrics",
    "Result",
    "format_change",
    "format_interval",
    "display_currency",
    "format_value",
    "kinds_of",
    "set_display_currency",
    "value",
]


class Kind(StrEnum):
    """What kind of number a field holds; it decides how the number is shown."""

    RATE = "rate"  #: a share in [0, 1], shown as a percentage: 0.0457 -> "4.6%"
    POINTS = "points"  #: a difference of two rates, shown in points: 0.048 -> "+4.8 pts"
    CHANGE = "change"  #: a relative change, shown signed: 0.5 -> "+50.0%", -0.333 -> "-33.3%"
    PERCENT = "percent"  #: already in percent units: 12.345 -> "12.3%"
    COUNT = "count"  #: a whole number of things (fractional when modelled): "20,000"
    MONEY = "money"  #: an amount in the data's currency (``run.currency``): "750", "$12.50"
    RATIO = "ratio"  #: a unitless statistic (AUC, Brier score, a rate ratio): "0.712"
    MULTIPLIER = "multiplier"  #: "times as much": a lift, a return on cost: 3.128 -> "3.13×"
    P_VALUE = "p_value"  #: a p-value: "< 0.001", "0.043"
    DAYS = "days"  #: a duration in days: "12.5 days", "30 days"
    SCORE = "score"  #: a lead score in points: "45"
    TEXT = "text"  #: a label, an id, a sentence: shown as it is
    DATE = "date"  #: an ISO date: shown as it is
    FLAG = "flag"  #: yes or no


_CURRENCY: contextvars.ContextVar[str | None] = contextvars.ContextVar("currency", default=None)
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩"}


@contextlib.contextmanager
def display_currency(code: str | None) -> Iterator[None]:
    """Show money in ``code`` (ISO 4217, the params file's ``run.currency``) inside the block.

    A notebook sets it once for its whole session (:func:`set_display_currency`, called by
    :func:`leadnb.report.notebook.start`); the index pages set it per run while rendering.

    >>> with display_currency("EUR"):
    ...     format_value(1250, Kind.MONEY)
    '€1,250'
    >>> format_value(1250, Kind.MONEY)
    '1,250'
    """
    token = _CURRENCY.set(code)
    try:
        yield
    finally:
        _CURRENCY.reset(token)


def set_display_currency(code: str | None) -> None:
    """Show money in ``code`` from now on in this context (a notebook's kernel)."""
    _CURRENCY.set(code)


def _money(f: float, ref: float) -> str:
    whole = abs(ref) >= 100 or (f.is_integer() and ref.is_integer())
    text = f"{abs(f):,.0f}" if whole else f"{abs(f):,.2f}"
    sign = "-" if f < 0 else ""
    code = _CURRENCY.get()
    if not code:
        return sign + text
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def format_value(v: Any, kind: Kind | str | None, *, like: Any = None) -> str:
    """Format one number for a reader, from its declared kind.

    Missing values (None, NaN) are an en dash. A value without a declared kind is shown with
    three significant digits, never guessed. ``like`` is the largest number shown together with
    ``v`` (an interval's far end): money, counts and small rates take their decimals from it,
    so ``83 (62 to 127)`` never mixes ``83.33`` with ``127``.

    >>> format_value(0.04567, Kind.RATE)
    '4.6%'
    >>> format_value(20000, "count")
    '20,000'
    >>> format_value(749.6, Kind.MONEY), format_value(12.5, Kind.MONEY), format_value(0.0, "money")
    ('750', '12.50', '0')
    >>> format_value(83.33, Kind.MONEY, like=127.4), format_value(0.0012, Kind.RATE)
    ('83', '0.12%')
    >>> format_value(3.128, Kind.MULTIPLIER)
    '3.13×'
    >>> format_value(-0.00004, Kind.RATIO), format_value(-0.0004, Kind.POINTS)  # rounds to 0
    ('0.000', '+0.0 pts')
    >>> format_value(0.048, Kind.POINTS), format_value(0.0002, Kind.P_VALUE)
    ('+4.8 pts', '< 0.001')
    >>> format_value(-1 / 3, Kind.CHANGE)
    '-33.3%'
    >>> import numpy as np
    >>> format_value(np.int64(1784), Kind.COUNT)
    '1,784'
    >>> format_value(float("nan"), Kind.RATE), format_value(True, Kind.FLAG)
    ('–', 'Yes')
    >>> format_value(0.123456, None)
    '0.123'
    """
    text = _formatted(v, kind, like)
    # a value that rounds to zero is shown as zero ("-0.000" reads as a finding): unsigned, or
    # "+0.0 pts" in the signed kinds, as an exact zero is
    if text.startswith("-") and not re.search(r"[1-9]", text):
        signed = kind is not None and str(kind) in (Kind.POINTS.value, Kind.CHANGE.value)
        return ("+" if signed else "") + text[1:]
    return text


def _missing(v: Any) -> bool:
    """None, NaN, or pandas' NA or NaT (looked for only when pandas is loaded: without it no
    value can be either)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and (v is pd.NA or v is pd.NaT)


def _formatted(v: Any, kind: Kind | str | None, like: Any) -> str:
    kind = Kind(kind) if kind is not None else None
    if _missing(v):
        return "–"
    np = sys.modules.get("numpy")  # a NumPy value only exists once NumPy is loaded
    if kind is Kind.FLAG or isinstance(v, bool) or (np is not None and isinstance(v, np.bool_)):
        return "Yes" if v else "No"
    if kind is Kind.DATE and isinstance(v, dt.date):  # a pandas Timestamp is a date too
        return f"{v:%Y-%m-%d}"
    if kind in (Kind.TEXT, Kind.DATE) or not isinstance(v, numbers.Real):
        return str(v)
    f = _number(v)
    if f is None:
        return "–"
    r = _number(like)
    ref = f if r is None or abs(r) < abs(f) else r
    if kind is Kind.RATE:
        small = 0 < abs(ref * 100) < 1  # 0.12%, not 0.1%: a small rate keeps two digits
        return f"{f * 100:,.2f}%" if small else f"{f * 100:,.1f}%"
    if kind is Kind.POINTS:
        return f"{f * 100:+,.1f} pts"
    if kind is Kind.CHANGE:
        return f"{f * 100:+,.1f}%"
    if kind is Kind.PERCENT:
        return f"{f:,.1f}%"
    if kind is Kind.COUNT or kind is Kind.SCORE:
        whole = (f.is_integer() and ref.is_integer()) or abs(ref) >= 100
        return f"{f:,.0f}" if whole else f"{f:,.1f}"
    if kind is Kind.MONEY:
        return _money(f, ref)
    if kind is Kind.MULTIPLIER:
        return f"{f:,.2f}×"
    if kind is Kind.P_VALUE:
        return "< 0.001" if f < 0.001 else f"{f:.3f}"
    if kind is Kind.DAYS:
        return f"{f:,.0f} days" if f.is_integer() else f"{f:,.1f} days"
    if kind is Kind.RATIO:
        return f"{f:,.3f}" if abs(f) < 10 else f"{f:,.1f}"
    return f"{f:,.3g}" if abs(f) < 1000 else f"{f:,.0f}"


def format_interval(v: Any, low: Any, high: Any, kind: Kind | str | None) -> str:
    """``"4.6% [4.3% – 4.9%]"``; the bracket is left out when either bound is missing.

    >>> format_interval(0.213, 0.199, 0.228, Kind.RATE)
    '21.3% [19.9% – 22.8%]'
    >>> format_interval(0.213, None, 0.228, Kind.RATE)
    '21.3%'
    """
    if _number(low) is None or _number(high) is None:
        return format_value(v, kind)
    ref = _largest(v, low, high)
    shown = [format_value(x, kind, like=ref) for x in (v, low, high)]
    return f"{shown[0]} [{shown[1]} – {shown[2]}]"


def _largest(*values: Any) -> float | None:
    """The number of largest magnitude among ``values`` (None when none is a number)."""
    nums = [f for f in map(_number, values) if f is not None]
    return max(nums, key=abs) if nums else None


def format_change(change: Any, kind: Kind | str | None) -> str:
    """A change ``after - before`` in the number's units, formatted for a reader from its kind.

    A change of a rate (or of a relative change) is in percentage points; a change of a number
    already in percent is in points too; other kinds keep their unit with a sign.

    Returns
    -------
    str
        The signed change (``"no change"`` for zero, ``"≈ 0"`` when it rounds to zero at the
        precision the kind shows, an en dash when missing).

    Examples
    --------
    >>> format_change(0.005, Kind.RATE), format_change(-2.5, Kind.PERCENT)
    ('+0.5 pts', '-2.5 pts')
    >>> format_change(300, Kind.COUNT), format_change(-0.37, "multiplier")
    ('+300', '-0.37×')
    >>> format_change(-0.02, Kind.P_VALUE), format_change(0, Kind.MONEY)
    ('-0.020', 'no change')
    >>> format_change(-0.00002, Kind.RATE), format_change(0.0004, Kind.RATIO)
    ('≈ 0', '≈ 0')
    """
    kind = Kind(kind) if kind is not None else None
    f = _number(change)
    if f is None:
        return "–"
    if f == 0:
        return "no change"
    shown_kind = Kind.RATIO if kind is Kind.P_VALUE else kind
    if kind is Kind.PERCENT:
        f, shown_kind = f / 100, Kind.POINTS
    elif kind in (Kind.RATE, Kind.CHANGE, Kind.POINTS):
        shown_kind = Kind.POINTS
    text = format_value(abs(f), shown_kind).lstrip("+")
    if not any(c in "123456789" for c in text):
        return "≈ 0"  # smaller than the precision the number is shown with
    return ("+" if f > 0 else "-") + text


@dataclasses.dataclass(frozen=True)
class Column:
    """How one column of a table is shown to a reader: a human label and the kind of its values.

    A module that returns a table declares its columns once, next to the function
    (``SCENARIO_COLUMNS = {"sql_new": Column("New-lead SQLs", Kind.COUNT), ...}``); the report
    shows the table with those labels and formats (:func:`leadnb.report.notebook.show`), while
    the CSV keeps the machine names.

    >>> c = Column("Cost per SQL", Kind.MONEY, "lead-generation spend over SQLs")
    >>> c.label, c.shown(749.6)
    ('Cost per SQL', '750')
    """

    label: str
    kind: Kind
    meaning: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))

    def shown(self, v: Any) -> str:
        """``v`` formatted from this column's kind."""
        return format_value(v, self.kind)


def kinds_of(declared: Mapping[str, Kind | str | Column]) -> dict[str, Kind]:
    """Name -> kind, from a mapping of kinds or of :class:`Column` declarations.

    >>> kinds_of({"n": Column("Leads", Kind.COUNT), "auc": "ratio"})
    {'n': <Kind.COUNT: 'count'>, 'auc': <Kind.RATIO: 'ratio'>}
    """
    return {k: v.kind if isinstance(v, Column) else Kind(v) for k, v in declared.items()}


def value(kind: Kind, meaning: str = "", **field_kwargs: Any) -> Any:
    """Declare a :class:`Result` field: its kind and a one-line meaning (shown in ``to_frame``).

    ``x_ci_low``/``x_ci_high`` fields take the kind of ``x`` when declared with the same kind.
    """
    return dataclasses.field(metadata={"kind": Kind(kind), "meaning": meaning}, **field_kwargs)


class Metrics(Mapping[str, Any]):
    """Headline numbers with their kinds: what ``metrics.json`` and the index cards show.

    >>> m = Metrics({"n_leads": 500}, {"n_leads": Kind.COUNT})
    >>> m = m | Metrics({"auc": 0.7123}, {"auc": "ratio"})
    >>> dict(m), m.kinds["auc"]
    ({'n_leads': 500, 'auc': 0.7123}, <Kind.RATIO: 'ratio'>)
    >>> m.formatted("auc")
    '0.712'
    """

    def __init__(self, values: Mapping[str, Any], kinds: Mapping[str, Kind | str]) -> None:
        unknown = sorted(set(kinds) - set(values))
        if unknown:
            raise ValueError(f"kinds given for numbers that are not there: {unknown}")
        self._values = dict(values)
        self.kinds: dict[str, Kind] = {k: Kind(v) for k, v in kinds.items()}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __or__(self, other: Mapping[str, Any]) -> Metrics:
        kinds = {**self.kinds, **getattr(other, "kinds", {})}
        return Metrics({**self._values, **other}, kinds)

    def __repr__(self) -> str:
        return f"Metrics({self._values!r})"

    @classmethod
    def of_row(cls, row: Mapping[str, Any], kinds: Mapping[str, Kind | str | Column]) -> Metrics:
        """One row of a table (a Series or a dict) with the kinds its module declares for its
        columns; columns without a declared kind are left out.

        >>> b = Metrics.of_row({"sql_total": 300.0, "share_old": 0.25, "scenario": "before"},
        ...                    {"sql_total": Kind.COUNT, "share_old": Kind.RATE, "cpa": "money"})
        >>> b.shown("sql_total"), b.shown("share_old"), list(b)
        ('300', '25.0%', ['sql_total', 'share_old'])
        """
        declared = kinds_of(kinds)
        values = {k: row[k] for k in declared if k in row}
        return cls(values, {k: declared[k] for k in values})

    def _kind(self, key: str) -> Kind:
        if key not in self.kinds:
            raise KeyError(f"{key!r} has no declared kind (declared: {sorted(self.kinds)})")
        return self.kinds[key]

    def shown(self, key: str) -> str:
        """The value of ``key`` formatted from its declared kind (no interval); a key without a
        declared kind is an error, so nothing is shown by guessing."""
        kind = self._kind(key)
        return format_value(self._values[key], kind, like=self._together(key))

    def interval(self, key: str, *, sep: str = " to ") -> str:
        """``key``'s interval, ``"low to high"``, formatted from the kind of ``key``.

        >>> Metrics({"d": 0.05, "d_ci_low": 0.01, "d_ci_high": 0.09}, {"d": "points"}).interval("d")
        '+1.0 pts to +9.0 pts'
        """
        kind = self._kind(key)
        low, high = self._values[f"{key}_ci_low"], self._values[f"{key}_ci_high"]
        ref = self._together(key)
        return f"{format_value(low, kind, like=ref)}{sep}{format_value(high, kind, like=ref)}"

    def _together(self, key: str) -> float | None:
        """The largest of ``key`` and its interval: they are shown with the same decimals."""
        v = self._values
        return _largest(v[key], v.get(f"{key}_ci_low"), v.get(f"{key}_ci_high"))

    def formatted(self, key: str) -> str:
        """The value of ``key`` formatted from its kind, with its interval when it has one."""
        return format_interval(
            self._values[key],
            self._values.get(f"{key}_ci_low"),
            self._values.get(f"{key}_ci_high"),
            self.kinds.get(key),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per number: ``name``, ``value``, ``kind``, ``shown`` (formatted)."""
        import pandas as pd

        rows = [
            {"name": k, "value": v, "kind": str(self.kinds.get(k, "")), "shown": self.formatted(k)}
            for k, v in self._values.items()
        ]
        return pd.DataFrame(rows, columns=["name", "value", "kind", "shown"])


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of every analysis result: typed fields, each with a declared :class:`Kind`.

    A subclass is a frozen dataclass whose number fields use :func:`value`; it may set
    ``prefix`` so its numbers land in ``metrics.json`` as ``<prefix><field>``.

    >>> @dataclasses.dataclass(frozen=True)
    ... class Auc(Result):
    ...     n: int = value(Kind.COUNT, "decided leads")
    ...     auc: float = value(Kind.RATIO, "area under the ROC curve")
    ...     auc_ci_low: float = value(Kind.RATIO)
    ...     auc_ci_high: float = value(Kind.RATIO)
    >>> r = Auc(n=400, auc=0.71, auc_ci_low=0.66, auc_ci_high=0.76)
    >>> r.to_frame()[["name", "value", "ci_low", "ci_high"]].to_dict("records")
    [{'name': 'n', 'value': 400, 'ci_low': nan, 'ci_high': nan}, {'name': 'auc', 'value': 0.71, 'ci_low': 0.66, 'ci_high': 0.76}]
    >>> r.metrics().formatted("auc")
    '0.710 [0.660 – 0.760]'
    """

    prefix: ClassVar[str] = ""

    @classmethod
    def kinds(cls) -> dict[str, Kind]:
        """Field name -> declared kind, for every field declared with :func:`value`."""
        return {f.name: f.metadata["kind"] for f in dataclasses.fields(cls) if "kind" in f.metadata}

    def as_dict(self) -> dict[str, Any]:
        """Every field, by name (intervals as ``x_ci_low``/``x_ci_high`` fields)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def metrics(self, *, prefix: str | None = None) -> Metrics:
        """The declared numbers as :class:`Metrics`, keys prefixed with ``prefix``."""
        p = self.prefix if prefix is None else prefix
        kinds = self.kinds()
        return Metrics(
            {p + k: getattr(self, k) for k in kinds}, {p + k: kind for k, kind in kinds.items()}
        )

    def shown(self, name: str) -> str:
        """Field ``name`` formatted from its declared kind, for a sentence in a report.

        >>> from leadnb.experiments.design import SampleSize
        >>> SampleSize(n_control=3841, n_variant=3841, n_total=7682).shown("n_total")
        '7,682'
        """
        return self.metrics(prefix="").shown(name)

    def interval(self, name: str, *, sep: str = " to ") -> str:
        """The interval of field ``name`` (``name_ci_low`` to ``name_ci_high``), formatted."""
        return self.metrics(prefix="").interval(name, sep=sep)

    def to_frame(self) -> pd.DataFrame:
        """One row per number with its interval: name, value, ci_low, ci_high, kind, meaning."""
        import pandas as pd

        kinds = self.kinds()
        meaning = {f.name: f.metadata.get("meaning", "") for f in dataclasses.fields(self)}
        bounds = {f"{k}_ci_{end}" for k in kinds for end in ("low", "high")}
        rows = []
        for k, kind in kinds.items():
            if k in bounds and k.rsplit("_ci_", 1)[0] in kinds:
                continue
            lo = getattr(self, f"{k}_ci_low", None)
            hi = getattr(self, f"{k}_ci_high", None)
            rows.append(
                {
                    "name": k,
                    "value": getattr(self, k),
                    "ci_low": float("nan") if lo is None else lo,
                    "ci_high": float("nan") if hi is None else hi,
                    "kind": str(kind),
                    "meaning": meaning[k],
                }
            )
        frame = pd.DataFrame(
            rows, columns=["name", "value", "ci_low", "ci_high", "kind", "meaning"]
        )
        frame["value"] = pd.Series([r["value"] for r in rows], dtype=object)  # 400 stays 400
        return frame

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        m = self.metrics(prefix="")
        cells = "".join(
            f"<tr><th>{html.escape(str(r.name))}</th><td>{html.escape(m.formatted(r.name))}</td>"
            f"<td>{html.escape(str(r.meaning))}</td></tr>"
            for r in frame.itertuples()
        )
        title = html.escape(type(self).__name__)
        return f"<table><caption>{title}</caption><tbody>{cells}</tbody></table>"
