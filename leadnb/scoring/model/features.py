"""Features known at each lead's decision time (issue 17, item 1).

Design. :func:`features_at_decision` builds one row per decided lead from what was known at its
decision time only: the cut of :func:`~leadnb.scoring.calibration.scores_at_decision` (an event
counts when ``ts <= decision_at``, never after the analysis day; the engine's ``_cutoffs``).
Rule hits and category points come from the engine; event counts by type in windows and the
last touch from one pass over the events (each event's lead found by one Arrow hash, then
``np.add.at`` a piece at a time: no loop over leads); profile fields and the ICP / ABM flags
from the leads table, text compared once per distinct value. Columns are named for a reader
(``events_email_open_30d``, ``days_since_last_touch``, ``industry=software``) and come with
plain-word labels; a :class:`FeatureSpec` learned on one population rebuilds the same columns
for another (the leads on today's queue).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadnb import arrays
from leadnb.arrays import NAT_US, TextCodes, index_positions, text_codes, to_us
from leadnb.data.columns import require_columns, require_unique
from leadnb.errors import DataError, ParamsError
from leadnb.scoring import calibration as cal
from leadnb.scoring.engine import _cutoffs
from leadnb.scoring.rules import ScoringConfig

__all__ = ["FeatureSpec", "Features", "features_at_decision", "leave_out"]

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class FeatureSpec:
    """What a feature frame is made of, learned on one population and reusable on another.

    Passing it back to :func:`features_at_decision` (``spec=``) gives the same columns, in the
    same order, with the same pooled levels and fill values: the features of today's leads for a
    model fitted on the matured ones.
    """

    windows: tuple[int, ...]
    event_types: tuple[str, ...]
    categorical: Mapping[str, tuple[str, ...]]  # field -> its kept levels (normalised text)
    numeric: Mapping[str, float]  # field -> the value a missing one is filled with (median)
    touch_fill: float  # days since the last touch when neither an event nor a creation date
    created_fill: float  # days since creation when there is no creation date
    target_industries: tuple[str, ...]
    abm_accounts: tuple[str, ...]
    columns: tuple[str, ...]  # the kept columns, in order


@dataclass(frozen=True)
class Features:
    """The feature matrix of :func:`features_at_decision`.

    ``frame``: one row per decided lead (index ``lead_id``, in the order of the decisions), one
    float column per feature. ``labels``: each column in plain words (for reasons and tables).
    ``dropped``: columns left out because they were constant or a linear copy of an earlier
    column (with the column they copy). ``spec``: see :class:`FeatureSpec`. ``points``: each
    lead's total score at its decision time (the engine's, for the points model and the
    points' ranking). ``created_at``: each lead's creation time (for the time split of
    :func:`fit_models`), None when leads have no ``created_at``. Both are indexed like
    ``frame``.
    """

    frame: pd.DataFrame = field(repr=False)
    labels: Mapping[str, str] = field(repr=False)
    dropped: Mapping[str, str] = field(repr=False)
    spec: FeatureSpec = field(repr=False)
    points: pd.Series = field(repr=False)
    created_at: pd.Series | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        n, k = self.frame.shape
        return f"Features({n:,} rows, {k} columns, {len(self.dropped)} left out)"

    def describe(self) -> pd.DataFrame:
        """One row per column: ``feature``, ``label``, ``mean``, ``share_nonzero``."""
        x = self.frame.to_numpy(dtype="float64")
        return pd.DataFrame(
            {
                "feature": list(self.frame.columns),
                "label": [self.labels[c] for c in self.frame.columns],
                "mean": x.mean(axis=0) if len(x) else np.nan,
                "share_nonzero": (x != 0).mean(axis=0) if len(x) else np.nan,
            }
        )


def _norm_text(distinct: pd.Series) -> pd.Series:
    """Distinct text values stripped and case-folded; empty text is missing."""
    out = distinct.astype("str").str.strip().str.casefold()
    return out.mask(out == "")


def _type_names(events: pd.DataFrame) -> tuple[str, ...]:
    """The distinct event types, sorted (one hash pass over the column)."""
    uniq = pd.Series(events["event_type"].unique()).dropna().astype("str")
    return tuple(sorted(set(uniq) - {""}))


@dataclass
class _CodedEvents:
    """Every event's lead (its row in the leads table, -1 when none), type code (its place in
    the counted types, -1 for another type) and time (int64 us): computed once, read by every
    layer of decisions."""

    lead: np.ndarray
    type_code: np.ndarray
    ts: np.ndarray


def _code_events(events: pd.DataFrame, lead_ids: pd.Index, types: Sequence[str]) -> _CodedEvents:
    require_columns(events, ["lead_id", "ts", "event_type"], table="events")
    code = np.empty(len(events), dtype="int16")
    for start, c in TextCodes(events["event_type"], pd.Index(list(types), dtype="str")).pieces():
        code[start : start + len(c)] = c
    return _CodedEvents(
        lead=index_positions(events["lead_id"], lead_ids), type_code=code, ts=to_us(events["ts"])
    )


def _event_pass(
    ev: _CodedEvents,
    row_of_lead: np.ndarray,
    n: int,
    k: int,
    windows: Sequence[int],
    limit: np.ndarray,
    ref: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per decision row (``row_of_lead``: each lead's row, -1 for leads without one): events of
    each of the ``k`` types in each window before its decision (int32, one ``(n, k)`` array per
    window), and its last event time (int64 us, NAT_US when none). An event counts when
    ``ts <= limit`` of its row; its age is ``ref - ts``. The events are read a piece of
    :data:`~leadnb.arrays.PIECE_ROWS` at a time."""
    counts = [np.zeros(n * k, dtype="int32") for _ in windows]
    last = np.full(n, NAT_US, dtype="int64")
    w_us = [int(w) * _US_PER_DAY for w in windows]
    step = arrays.PIECE_ROWS
    for start in range(0, len(ev.lead), step):
        lead = ev.lead[start : start + step]
        t = ev.ts[start : start + step]
        ok = np.flatnonzero((lead >= 0) & (t != NAT_US))
        p = row_of_lead[lead[ok]]
        mine = p >= 0
        ok, p = ok[mine], p[mine]
        t = t[ok]
        before = t <= limit[p]
        ok, p, t = ok[before], p[before], t[before]
        np.maximum.at(last, p, t)
        c = ev.type_code[start : start + step][ok]
        known = c >= 0
        p, t, c = p[known], t[known], c[known].astype("int64")
        age = np.maximum(ref[p] - t, 0)
        key = p * k + c
        for out, w in zip(counts, w_us, strict=True):
            np.add.at(out, key[age <= w], 1)
    return [c.reshape(n, k) for c in counts], last


def features_at_decision(
    leads: pd.DataFrame,
    events: pd.DataFrame | None,
    config: ScoringConfig,
    decisions: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    windows: Sequence[int] = (7, 30, 90),
    event_types: Sequence[str] | None = None,
    profile_fields: Sequence[str] = (),
    min_level_share: float = 0.01,
    target_industries: Sequence[str] = (),
    abm_accounts: Sequence[str] = (),
    spec: FeatureSpec | None = None,
) -> Features:
    """One row per decided lead, from what was known at its decision time only.

    An event counts when ``ts <= decision_at`` (and never after the analysis day), the cut of
    :func:`~leadnb.scoring.calibration.scores_at_decision`; windows and recency are measured
    back from the decision time. Columns (float):

    * ``points:<category>``: the category's points at the decision (the engine's, after caps);
    * ``rule:<name>``: 1.0 when the rule had fired by the decision (a hit, not its points:
      the points are in the category columns);
    * ``events_<type>_<w>d``: events of that type in the ``w`` days up to the decision;
    * ``days_since_last_touch``: days from the last event before the decision (or, with none,
      from the lead's creation, as the SDR list counts its last touch) to the decision; and
      ``never_touched`` (1.0: no event before the decision);
    * ``days_since_created`` and ``created_at_missing``, when leads have ``created_at``;
    * each of ``profile_fields``: a text field as one 0/1 column per level (``industry=software``;
      levels held by fewer than ``min_level_share`` of the leads are pooled into
      ``<field>=other``, missing values are ``<field>=missing``; text is compared stripped and
      case-folded), a numeric or yes/no field as it is (``<field>``, missing values filled with
      the median) with ``<field>_missing``. Profile fields are the CRM's current values: name
      only fields set when the lead is created (a field sales fills in after the call leaks the
      outcome);
    * ``icp_industry`` (industry in ``target_industries``) and ``abm_account`` (account on the
      ABM list), when given and the column exists.

    Columns that are constant, or repeat an earlier column exactly (e.g. the 30- and 90-day
    counts when every decision falls within a week of creation), are left out and listed in
    ``dropped``. With ``spec`` (from an earlier call) the columns, pooled levels and fill values
    are those of the spec and nothing is dropped; the other feature options are ignored.

    Parameters
    ----------
    leads, events
        The leads table (``lead_id`` unique) and the events table (or None).
    config
        The parsed scoring rules.
    decisions
        ``lead_id`` (unique, every one in ``leads``) and ``decision_at``: e.g.
        :attr:`HorizonPopulation.matured` or
        :func:`~leadnb.scoring.calibration.decision_outcomes`.
    as_of
        The analysis date.
    windows
        Event-count windows, in days.
    event_types
        The event types to count; None: every type in ``events``.
    profile_fields
        Columns of ``leads`` to use as they are.
    min_level_share
        Text levels rarer than this share of the decided leads are pooled into ``other``.
    target_industries, abm_accounts
        The ICP (see :func:`leadnb.scoring.segments.high_quality_leads`).
    spec
        Rebuild the columns of an earlier population (:attr:`Features.spec`).

    Returns
    -------
    Features
        ``frame`` (index ``lead_id``), ``labels``, ``dropped``, ``spec``.

    Raises
    ------
    DataError
        Repeated lead ids, decided leads missing from ``leads``, or a profile field that is
        not a column of ``leads``.
    ParamsError
        A window that is not a positive whole number of days, or a date profile field.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = ScoringConfig.from_dict({"rules": [{"name": "demo", "category": "tags",
    ...     "when": {"event_type": "demo_request"}, "points": 10}]}, Path("."))
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...                       "industry": ["Software", "retail", "software "]})
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b", "c", "c"],
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-01-20", "2026-01-25",
    ...                           "2026-01-28"]),
    ...     "event_type": ["demo_request", "content_read", "content_read", "content_read",
    ...                    "content_read"]})
    >>> dec = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...                     "decision_at": pd.to_datetime(["2026-02-01"] * 3)})
    >>> f = features_at_decision(leads, ev, cfg, dec, as_of=pd.Timestamp("2026-06-30"),
    ...                          windows=(30,), profile_fields=["industry"])
    >>> f.frame.T
    lead_id                     a     b    c
    points:tags              10.0   0.0  0.0
    events_content_read_30d   0.0   1.0  2.0
    days_since_last_touch    31.0  12.0  4.0
    industry=software         1.0   0.0  1.0
    >>> f.dropped["rule:demo"], f.dropped["industry=retail"], f.dropped["never_touched"]
    ('points:tags', 'industry=software', 'constant')
    >>> f.labels["events_content_read_30d"]
    'content read events in the 30 days before'
    """
    require_columns(decisions, ["lead_id", "decision_at"], table="decisions")
    require_columns(leads, ["lead_id"], table="leads")
    as_of = pd.Timestamp(as_of)
    if events is not None and len(events) and spec is None and event_types is None:
        event_types = _type_names(events)  # every type in the events, before any cut below
    leads, events = _of_decided(leads, events, decisions)
    if spec is not None:
        windows, profile = spec.windows, [*spec.categorical, *spec.numeric]
        target_industries, abm_accounts = spec.target_industries, spec.abm_accounts
    else:
        profile = list(dict.fromkeys(profile_fields))
    windows = tuple(windows)
    if any(not isinstance(w, int | np.integer) or w <= 0 for w in windows):
        raise ParamsError(
            f"feature windows must be positive whole numbers of days, got {list(windows)}",
            fix="e.g. windows: [7, 30, 90]",
        )
    windows = tuple(sorted(set(int(w) for w in windows)))
    ids = pd.Index(decisions["lead_id"].astype("str"), name="lead_id")
    lead_ids = pd.Index(leads["lead_id"].astype("str"))
    require_unique(
        lead_ids,
        "leads repeat lead ids; each lead needs one row",
        table="leads",
        fix="make lead_id unique (leadnb validate lists repeated ids)",
    )
    lead_pos = np.asarray(index_positions(decisions["lead_id"], lead_ids), dtype="int64")
    if (lead_pos < 0).any():
        missing = ids[lead_pos < 0]
        raise DataError(
            f"{len(missing)} decided lead(s) are not in the leads table",
            table="decisions",
            column="lead_id",
            rows=pd.Series(missing[:5], name="lead_id"),
            count=len(missing),
            fix="build the decisions from the same leads (decision_outcomes on their stage dates)",
        )
    for f in profile:
        require_columns(
            leads, [f], table="leads",
            fix=f"remove {f} from the profile fields, or map the column in data.leads.columns",
        )  # fmt: skip
    n = len(ids)
    at_us = to_us(decisions["decision_at"])
    # a lead may have several decision rows (landmarks): each layer holds one row per lead
    layer = (
        np.zeros(n, dtype="int64")
        if arrays.is_unique(ids)
        else pd.Series(ids).groupby(ids, sort=False).cumcount().to_numpy()
    )
    layers = [np.flatnonzero(layer == i) for i in range(int(layer.max()) + 1)] if n else []
    limit = np.empty(n, dtype="int64")
    ref = np.empty(n, dtype="int64")
    for rows in layers:  # the engine's cut
        at = pd.Series(at_us[rows].view("datetime64[us]"), index=ids[rows])
        limit[rows], ref[rows] = _cutoffs(pd.DataFrame({"lead_id": ids[rows]}), as_of, at)
    cols: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}

    # rule hits and category points, from the engine at each row's decision time (the events
    # coded once for every layer)
    names = ["score", *config.categories, *(r.column for r in config.rules)]
    engine = {c: np.zeros(n, dtype="float64") for c in names}
    frames = [
        pd.DataFrame({"lead_id": ids[rows], "decision_at": at_us[rows].view("datetime64[us]")})
        for rows in layers
    ]
    for rows, sc in zip(
        layers, cal._populations(leads, events, config, frames, as_of), strict=True
    ):
        for c in names:
            engine[c][rows] = sc[c].to_numpy(dtype="float64")
    points = pd.Series(engine["score"], index=ids, name="score")
    for cat in config.categories:
        cols[f"points:{cat}"] = engine[cat]
        labels[f"points:{cat}"] = f"{cat.replace('_', ' ')} points"
    for r in config.rules:
        cols[f"rule:{r.name}"] = (engine[r.column] != 0).astype("float64")
        labels[f"rule:{r.name}"] = r.name
    del engine, frames

    # events by type in windows, and the last touch
    types: tuple[str, ...] = ()
    if spec is not None:
        types = spec.event_types
    elif events is not None and len(events):
        types = tuple(event_types) if event_types is not None else _type_names(events)
    last = np.full(n, NAT_US, dtype="int64")
    counts = [np.zeros((n, len(types)), dtype="int32") for _ in windows]
    if events is not None and len(events) and n:
        coded = _code_events(events, lead_ids, types)
        for rows in layers:
            row_of_lead = np.full(len(lead_ids), -1, dtype="int64")
            row_of_lead[lead_pos[rows]] = np.arange(len(rows))
            got, last[rows] = _event_pass(
                coded, row_of_lead, len(rows), len(types), windows, limit[rows], ref[rows]
            )
            for c, g in zip(counts, got, strict=True):
                c[rows] = g
        del coded
    for j, t in enumerate(types):
        for w, c in zip(windows, counts, strict=True):
            name = f"events_{t}_{w}d"
            cols[name] = c[:, j].astype("float64")
            labels[name] = f"{t.replace('_', ' ')} events in the {w} days before"
    del counts
    created = None
    if "created_at" in leads.columns:
        created = to_us(pd.to_datetime(leads["created_at"]))[lead_pos]
    touched = last != NAT_US
    since = np.where(touched, (ref - last) / _US_PER_DAY, np.nan)
    if created is not None:
        ok = ~touched & (created != NAT_US) & (created <= ref)
        since = np.where(ok, (ref - created) / _US_PER_DAY, since)
    touch_fill = spec.touch_fill if spec is not None else _median(since)
    cols["days_since_last_touch"] = np.where(np.isnan(since), touch_fill, since)
    labels["days_since_last_touch"] = "days since the last touch"
    cols["never_touched"] = (~touched).astype("float64")
    labels["never_touched"] = "no activity before the decision"
    created_fill = spec.created_fill if spec is not None else 0.0
    if created is not None:
        age = np.where(created != NAT_US, (ref - created) / _US_PER_DAY, np.nan)
        if spec is None:
            created_fill = _median(age)
        cols["days_since_created"] = np.where(np.isnan(age), created_fill, age)
        labels["days_since_created"] = "days since the lead was created"
        cols["created_at_missing"] = np.isnan(age).astype("float64")
        labels["created_at_missing"] = "no creation date"

    # profile fields as they are
    categorical: dict[str, tuple[str, ...]] = {}
    numeric: dict[str, float] = {}
    for f in profile:
        s = leads[f]
        if pd.api.types.is_datetime64_any_dtype(s):
            raise ParamsError(
                f"profile field {f} is a date; the model takes text and numbers as they are",
                fix=f"remove {f} from the profile fields (dates after creation can leak the "
                "outcome)",
            )
        is_num = pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        if spec is not None:
            is_num = f in spec.numeric
        if is_num:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            x = x[lead_pos]
            fill = spec.numeric[f] if spec is not None else _median(x)
            numeric[f] = fill
            cols[f] = np.where(np.isnan(x), fill, x)
            labels[f] = f.replace("_", " ")
            cols[f"{f}_missing"] = np.isnan(x).astype("float64")
            labels[f"{f}_missing"] = f"no {f.replace('_', ' ')}"
            continue
        codes, distinct = text_codes(s)
        norm = _norm_text(distinct)
        lead_codes = codes[lead_pos]
        if spec is not None:
            kept = spec.categorical[f]
        else:  # leads per distinct value, then per level (distinct values that normalise alike)
            held = np.bincount(lead_codes[lead_codes >= 0], minlength=len(norm))
            shares = pd.Series(held / max(n, 1), index=pd.Index(norm, dtype="str"))
            shares = shares.groupby(level=0, dropna=True).sum()
            shares = shares[shares >= min_level_share]
            kept = tuple(sorted(shares.index, key=lambda v: (-shares[v], v)))
            kept = tuple(v for v in kept if v not in ("other", "missing"))
        categorical[f] = kept
        levels = [*kept, "other", "missing"]
        where_ = {v: i for i, v in enumerate(kept)}
        # each distinct value's column, then spread to the leads by code (no text per lead)
        per_distinct = np.array(
            [len(kept) + 1 if pd.isna(v) else where_.get(v, len(kept)) for v in norm],
            dtype="int64",
        )
        col_of = np.append(per_distinct, len(kept) + 1)[lead_codes]
        onehot = np.zeros((n, len(levels)), dtype="float64")
        onehot[np.arange(n), col_of] = 1.0
        for i, v in enumerate(levels):
            cols[f"{f}={v}"] = onehot[:, i]
            labels[f"{f}={v}"] = f"{f.replace('_', ' ')}: {v}"

    # ICP and ABM flags
    inds = tuple(sorted({str(v).strip().casefold() for v in target_industries if str(v).strip()}))
    accts = tuple(sorted({str(v).strip() for v in abm_accounts if str(v).strip()}))
    if inds and "industry" in leads.columns:
        codes, distinct = text_codes(leads["industry"])
        hit = _norm_text(distinct).isin(inds).to_numpy(dtype=bool)
        cols["icp_industry"] = np.append(hit, False)[codes[lead_pos]].astype("float64")
        labels["icp_industry"] = "in a target industry"
    if accts and "account_id" in leads.columns:
        codes, distinct = text_codes(leads["account_id"])
        # one Arrow hash lookup: pandas' isin turns every listed account into a Python object
        # first (24,705 ABM accounts: 0.1 s for each chunk of the queue)
        hit = arrays.in_set(distinct.astype("str").str.strip(), pd.Series(accts, dtype="str"))
        cols["abm_account"] = np.append(hit, False)[codes[lead_pos]].astype("float64")
        labels["abm_account"] = "account on the ABM list"

    dropped: dict[str, str] = {}
    if spec is not None:
        absent = [c for c in spec.columns if c not in cols]
        if absent:
            raise DataError(
                f"these feature columns of the fitted population cannot be rebuilt: "
                f"{', '.join(absent[:5])}",
                fix="build both populations with the same scoring rules and leads columns",
            )
        keep = list(spec.columns)
    else:
        keep, dropped = _informative(cols)
    # the frame's one float block, filled a column at a time (each column freed as it is
    # copied) and handed to pandas without another copy
    block = np.empty((len(keep), n), dtype="float64")
    for i, c in enumerate(keep):
        block[i] = cols.pop(c)
    cols.clear()
    frame = pd.DataFrame(block.T, index=ids, columns=pd.Index(keep), copy=False)
    new_spec = FeatureSpec(
        windows=windows, event_types=types, categorical=categorical, numeric=numeric,
        touch_fill=touch_fill, created_fill=created_fill, target_industries=inds,
        abm_accounts=accts, columns=tuple(keep),
    )  # fmt: skip
    created_at = None
    if created is not None:
        created_at = pd.Series(created.view("datetime64[us]"), index=ids, name="created_at")
    return Features(
        frame=frame, labels={c: labels[c] for c in keep}, dropped=dropped, spec=new_spec,
        points=points, created_at=created_at,
    )  # fmt: skip


def leave_out(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``frame`` without the feature columns named in ``names`` (a name, or the start of names).

    The explained model reads best with features that do not repeat each other: category points
    are the sum of the rule hits' points, and ``never_touched`` is ``days_since_last_touch``
    counted from creation; fitted together, a reason and its twin share one effect and read
    oddly ("0 points for behaviour (+)" next to a rule). The fitted model keeps the columns it
    was fitted on (:meth:`FittedModels.predict` selects them), so a :class:`FeatureSpec` built
    with every column still serves.

    >>> f = pd.DataFrame(columns=["points:tags", "rule:demo", "never_touched", "days_since_created"])
    >>> list(leave_out(f, ["points:", "never_touched"]).columns)
    ['rule:demo', 'days_since_created']
    """
    names = [str(n) for n in names]
    cols = [c for c in frame.columns if not any(str(c).startswith(n) for n in names)]
    return frame[cols]


def _of_decided(
    leads: pd.DataFrame, events: pd.DataFrame | None, decisions: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The leads and events of the decided leads only, when they are fewer than a tenth of the
    leads.

    Every feature of a lead comes from its own row and its own events, so the rest can go
    before the engine and the event pass read them: at a million leads, the 16,000 leads of a
    drawn landmark population hold 2% of the 20 million events, and the engine's per-event
    arrays shrink with them (the features are unchanged: tested). For a larger share the copy
    of their events costs more memory than it saves (a queue chunk of 200,000 of a million
    leads: 3.26 GB peak against 3.04 GB without the cut). A repeated lead id in
    ``leads`` is kept as it is, for :func:`features_at_decision` to refuse.
    """
    ids = pd.Series(pd.unique(decisions["lead_id"].astype("str")), dtype="str")
    if len(leads) <= 10 * len(ids):  # a copy of most events would cost more than it saves
        return leads, events
    # Arrow hash lookups (arrays.in_set; the events' lead ids once per category): pandas'
    # isin took 0.26 s for the leads and 0.19 s for the events at a million leads, this 0.16 s
    keep = arrays.in_set(leads["lead_id"], ids)
    leads = leads.loc[keep].reset_index(drop=True)
    if events is not None:
        require_columns(events, ["lead_id", "ts", "event_type"], table="events")
        mine = arrays.in_set(events["lead_id"], ids)
        events = events.loc[mine].reset_index(drop=True)
    return leads, events


def _median(x: np.ndarray) -> float:
    """The median of the non-missing values (0.0 when there are none)."""
    ok = x[~np.isnan(x)]
    return float(np.median(ok)) if len(ok) else 0.0


def _informative(cols: Mapping[str, np.ndarray]) -> tuple[list[str], dict[str, str]]:
    """The columns that vary and are not a linear copy of an earlier column; the others, each
    with why (``constant``, or the column it repeats).

    A copy is the same column up to scale and shift, either way up (``points:tags`` when one
    rule of 10 points is the category's only rule; ``x=a`` and ``x=b`` for a field with two
    levels): both would share one effect between them, and the reasons would halve it.
    """
    keep: list[str] = []
    dropped: dict[str, str] = {}
    seen: dict[int, list[str]] = {}

    def shape(x: np.ndarray) -> np.ndarray:
        lo, hi = float(x.min()), float(x.max())
        u = (x - lo) / (hi - lo)
        return 1.0 - u if u[0] > 0.5 else u  # the same shape either way up

    for name, x in cols.items():
        if len(x) == 0 or float(x.min()) == float(x.max()):
            dropped[name] = "constant"
            continue
        u = shape(x)
        h = int(pd.util.hash_array(np.ascontiguousarray(u)).sum(dtype="uint64"))
        # the earlier column's shape is recomputed on a hash match only: no copy of every column
        twin = next((o for o in seen.get(h, []) if np.array_equal(shape(cols[o]), u)), None)
        if twin is not None:
            dropped[name] = twin
            continue
        seen.setdefault(h, []).append(name)
        keep.append(name)
    return keep, dropped
