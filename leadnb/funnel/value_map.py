"""The customer value map: average order value by order frequency, groups A..E, and movement.

Design (the second source article's map). Within a window ``[start, end]`` each account gets
``orders`` (count), ``amount`` (sum), ``aov`` (average order value = amount / orders) and
``frequency`` (orders per month of the window: orders / (window days / 30.44)), so windows of
different lengths compare. An account is ``account_id``, or ``"lead:<lead_id>"`` for orders
and leads without one.

Groups, with cut-offs ``value_cut`` (on ``aov``) and ``frequency_cut`` (on ``frequency``);
both default to the **medians over accounts with at least one order in the window**; "high"
means strictly above the cut, so a value equal to the median is low:

* ``A`` prospect: no order in the window (leads not yet customers, and lapsed accounts);
* ``B`` new / occasional: low value, low frequency;
* ``C`` big occasional: high value, low frequency;
* ``D`` frequent small: low value, high frequency;
* ``E`` best: high value, high frequency.

Nurturing moves A -> B; customer success moves B/C/D -> E. :func:`value_movement` compares two
consecutive windows (``[start, split)`` and ``[split, end]``) with the *first* window's cut-offs
applied to both (a fixed ruler), and counts accounts moving between groups. Vectorised groupby.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadnb import asof
from leadnb.data.columns import require_columns
from leadnb.errors import DataError, NotEnoughData
from leadnb.results import Column, Kind

GROUPS = ("A", "B", "C", "D", "E")
GROUP_LABELS = {
    "A": "prospect (no order)",
    "B": "new / occasional",
    "C": "high value, infrequent",
    "D": "frequent, low value",
    "E": "high value, frequent",
}
DAYS_PER_MONTH = 365.25 / 12

VALUE_COLUMNS = {
    "key": Column("Account", Kind.TEXT),
    "orders": Column("Orders", Kind.COUNT),
    "amount": Column("Revenue", Kind.MONEY),
    "aov": Column("Average order value", Kind.MONEY),
    "frequency": Column("Orders per month", Kind.RATIO),
    "group": Column("Group", Kind.TEXT),
}
"""How a report shows the :func:`value_groups` (and :func:`customer_values`) table."""

VALUE_SUMMARY_COLUMNS = {
    "group": Column("Group", Kind.TEXT),
    "label": Column("Meaning", Kind.TEXT),
    "n": Column("Accounts", Kind.COUNT),
    "share": Column("Share of accounts", Kind.RATE),
    "revenue": Column("Revenue", Kind.MONEY),
    "mean_aov": Column("Average order value", Kind.MONEY, "mean over the group's accounts"),
    "mean_frequency": Column("Orders per month", Kind.RATIO, "mean over the group's accounts"),
    "value_cut": Column("Order value cut-off", Kind.MONEY, "above it: high value"),
    "frequency_cut": Column("Orders per month cut-off", Kind.RATIO, "above it: frequent"),
}
"""How a report shows the :func:`value_summary` table; ``value_cut`` and ``frequency_cut``
also declare the cut-offs in a :func:`value_groups` table's ``.attrs``."""

VALUE_MOVEMENT_COLUMNS = {
    "from_group": Column("Group before", Kind.TEXT),
    "to_group": Column("Group after", Kind.TEXT),
    "n": Column("Accounts", Kind.COUNT),
    "share_of_from": Column("Share of the group before", Kind.RATE),
}
"""How a report shows the :func:`value_movement` table."""

MOVEMENT_MATRIX_COLUMNS = {
    "from_group": Column("Group before", Kind.TEXT),
    **{g: Column(f"To {g}", Kind.COUNT, f"accounts in group {g} after") for g in GROUPS},
}
"""How a report shows the :func:`movement_matrix` table."""


def account_key(df: pd.DataFrame, table: str) -> pd.Series:
    """The account of each row: ``account_id``, else ``"lead:" + lead_id``.

    Raises :class:`DataError` when ``df`` has neither column.

    >>> account_key(pd.DataFrame({"account_id": ["A1", None], "lead_id": ["l1", "l2"]}), "orders").tolist()
    ['A1', 'lead:l2']
    """
    acc = df["account_id"] if "account_id" in df.columns else pd.Series(pd.NA, index=df.index)
    lid = df["lead_id"] if "lead_id" in df.columns else pd.Series(pd.NA, index=df.index)
    if "account_id" not in df.columns and "lead_id" not in df.columns:
        raise DataError(
            f"{table} has neither account_id nor lead_id",
            table=table,
            fix=f"map a customer or lead column onto account_id or lead_id in data.{table}.columns",
        )
    key = acc.astype("str").where(acc.notna())
    key = key.fillna(("lead:" + lid.astype("str")).where(lid.notna()))
    return key.astype("str").where(key.notna())


def _orders(orders: pd.DataFrame) -> pd.DataFrame:
    require_columns(orders, ("order_date", "amount"), table="orders")
    key = account_key(orders, "orders")
    bad = key.isna() | orders["order_date"].isna() | orders["amount"].isna()
    if bad.any():
        raise DataError(
            "orders without an account/lead, a date or an amount cannot be placed on the value map",
            table="orders",
            rows=orders[bad].head(5),
            count=int(bad.sum()),
            fix="fill account_id or lead_id, order_date and amount, or remove those rows",
        )
    return pd.DataFrame(
        {
            "key": key.to_numpy(),
            "order_date": orders["order_date"].astype("datetime64[us]").to_numpy(),
            "amount": orders["amount"].astype(float).to_numpy(),
        }
    )


def customer_values(
    orders: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    end_inclusive: bool = True,
) -> pd.DataFrame:
    """Order count, revenue, average order value and frequency per account in a window.

    Parameters
    ----------
    orders
        The orders table (``account_id`` or ``lead_id``, ``order_date``, ``amount``).
    start, end
        The window; an inclusive ``end`` is a whole day (:func:`leadnb.asof.known`: an order at
        23:59:59 on ``end`` is inside), as ``as_of`` is everywhere.
    end_inclusive
        False: the window stops just before ``end``.

    Returns
    -------
    pandas.DataFrame
        One row per account with an order in the window: ``key`` (:func:`account_key`),
        ``orders``, ``amount`` (sum), ``aov`` (amount / orders) and ``frequency`` (orders per
        month of the window, a month being 365.25 / 12 days).

    Examples
    --------
    >>> orders = pd.DataFrame({"account_id": ["A", "A", "B"], "amount": [100.0, 300.0, 50.0],
    ...                        "order_date": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-01-31"])})
    >>> customer_values(orders, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-31")).round(3)
      key  orders  amount    aov  frequency
    0   A       2   400.0  200.0      1.964
    1   B       1    50.0   50.0      0.982
    """
    o = _orders(orders)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    inside = (o["order_date"] >= start) & (
        asof.known(o["order_date"], end) if end_inclusive else (o["order_date"] < end)
    )
    g = o[inside].groupby("key")["amount"].agg(orders="size", amount="sum").reset_index()
    months = max(((end - start) / pd.Timedelta(days=1) + (1 if end_inclusive else 0)), 1.0)
    months /= DAYS_PER_MONTH
    g["aov"] = g["amount"] / g["orders"]
    g["frequency"] = g["orders"] / months
    return g


def value_window(
    orders: pd.DataFrame | None, as_of: pd.Timestamp, *, split: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """The orders known by ``as_of`` and the two periods of the map.

    Parameters
    ----------
    orders
        The orders table, or None when the params file has none.
    as_of
        The analysis date: the end of the second period.
    split
        Where the first period ends and the second begins; used when it lies after the first
        known order and on or before ``as_of``, else the middle of that span.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.Timestamp, pandas.Timestamp)
        ``(known, split, end)``: the rows of ``orders`` dated by the end of the ``as_of`` day
        (all columns), the split date and ``end`` (``as_of`` as a day).

    Raises
    ------
    NotEnoughData
        No orders table, no order by ``as_of``, or the first order is on ``as_of`` (two periods
        cannot be formed).

    Examples
    --------
    >>> orders = pd.DataFrame({"account_id": ["A", "B"], "amount": [10.0, 20.0],
    ...                        "order_date": pd.to_datetime(["2025-03-01", "2025-03-09"])})
    >>> known, split, end = value_window(orders, pd.Timestamp("2025-03-05"))
    >>> len(known), split, end
    (1, Timestamp('2025-03-03 00:00:00'), Timestamp('2025-03-05 00:00:00'))
    """
    if orders is None:
        raise NotEnoughData(
            "the params file has no orders table",
            "it appears when data.orders (account_id or lead_id, order_date, amount) is configured",
        )
    require_columns(orders, ("order_date", "amount"), table="orders")
    day = pd.Timestamp(as_of).normalize()
    known = orders[asof.known(orders["order_date"], day).to_numpy()]
    if known.empty:
        raise NotEnoughData(
            f"no order is dated on or before the analysis date {day:%Y-%m-%d}",
            "it appears in the first run after the first order date",
        )
    first = pd.Timestamp(known["order_date"].min())
    if not first < day:
        raise NotEnoughData(
            f"the first order is dated {first:%Y-%m-%d}, the analysis date itself, and the value "
            "map compares a period before a split date with one after it",
            f"it appears in the run of {asof.day_end(first):%Y-%m-%d} or later",
        )
    if split is None or pd.isna(split) or not (first < pd.Timestamp(split) <= day):
        split = first + (day - first) / 2
    return known, pd.Timestamp(split), day


def classify(values: pd.DataFrame, value_cut: float, frequency_cut: float) -> pd.Series:
    """Group letter per row of ``values``: ``A`` without orders, else by the two cut-offs.

    "High" is strictly above a cut-off: ``E`` high value and frequent, ``C`` high value only,
    ``D`` frequent only, ``B`` neither.

    >>> values = pd.DataFrame({"orders": [0, 1, 3, 1], "aov": [0.0, 500.0, 20.0, 50.0],
    ...                        "frequency": [0.0, 0.1, 0.5, 0.1]})
    >>> classify(values, value_cut=100, frequency_cut=0.2).tolist()
    ['A', 'C', 'D', 'B']
    """
    hv = values["aov"] > value_cut
    hf = values["frequency"] > frequency_cut
    lab = np.select([values["orders"] == 0, hv & hf, hv, hf], ["A", "E", "C", "D"], default="B")
    return pd.Series(lab, index=values.index, dtype="str")


def value_groups(
    orders: pd.DataFrame,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    *,
    leads: pd.DataFrame | None = None,
    value_cut: float | None = None,
    frequency_cut: float | None = None,
    end_inclusive: bool = True,
) -> pd.DataFrame:
    """Every account (from ``leads`` and ``orders``) with its value group for the window.

    Parameters
    ----------
    orders
        The orders table.
    start, end
        The window; default the first and the last order.
    leads
        The leads table: its accounts without orders in the window are listed too (group ``A``).
    value_cut, frequency_cut
        Cut-offs on ``aov`` and ``frequency``; default the medians over the accounts with an
        order in the window.
    end_inclusive
        As in :func:`customer_values`.

    Returns
    -------
    pandas.DataFrame
        One row per account, sorted by key: ``key``, ``orders``, ``amount``, ``aov``,
        ``frequency`` (``NaN`` without orders in the window) and ``group`` (``A``..``E``). The
        cut-offs and the window are in ``.attrs`` (``value_cut``, ``frequency_cut``, ``start``,
        ``end``).

    Examples
    --------
    >>> orders = pd.DataFrame({"account_id": ["A", "A", "B", "C"], "amount": [100.0, 300.0, 50.0, 80.0],
    ...                        "order_date": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-01-31", "2024-12-01"])})
    >>> g = value_groups(orders, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-31"))
    >>> g[["key", "orders", "group"]], g.attrs["value_cut"]
    (  key  orders group
    0   A       2     E
    1   B       1     B
    2   C       0     A, 125.0)
    """
    lead_keys = None if leads is None else _lead_keys(leads)
    return _value_groups(
        orders,
        start,
        end,
        lead_keys,
        value_cut=value_cut,
        frequency_cut=frequency_cut,
        end_inclusive=end_inclusive,
    )


def _lead_keys(leads: pd.DataFrame) -> pd.Index:
    """The distinct :func:`account_key` values of ``leads`` (unordered), without building the
    key of each of a million leads: distinct account ids, and ``lead:<id>`` only for the leads
    without one."""
    if "account_id" not in leads.columns or "lead_id" not in leads.columns:
        return pd.Index(account_key(leads, "leads").dropna().unique())
    acc, lid = leads["account_id"], leads["lead_id"]
    no_acc = acc.isna()
    from_acc = pd.Series(acc[~no_acc].unique()).astype("str")
    lone = lid[no_acc & lid.notna()]
    from_lead = "lead:" + pd.Series(lone.unique()).astype("str")
    both = pd.concat([from_acc, from_lead], ignore_index=True).astype("str")
    return pd.Index(both.unique())


def _value_groups(
    orders: pd.DataFrame,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    lead_keys: pd.Index | None,
    *,
    value_cut: float | None,
    frequency_cut: float | None,
    end_inclusive: bool,
) -> pd.DataFrame:
    o = _orders(orders)
    start = pd.Timestamp(start) if start is not None else o["order_date"].min()
    end = pd.Timestamp(end) if end is not None else o["order_date"].max()
    vals = customer_values(orders, start, end, end_inclusive=end_inclusive)
    keys = pd.Index(o["key"].unique())
    if lead_keys is not None:
        keys = keys.union(lead_keys)
    out = pd.DataFrame({"key": keys.astype("str")}).merge(vals, on="key", how="left")
    out["orders"] = out["orders"].fillna(0).astype(int)
    out["amount"] = out["amount"].fillna(0.0)
    vc = float(vals["aov"].median()) if value_cut is None else float(value_cut)
    fc = float(vals["frequency"].median()) if frequency_cut is None else float(frequency_cut)
    out["group"] = classify(out, vc, fc)
    out = out.sort_values("key", ignore_index=True)
    out.attrs.update(value_cut=vc, frequency_cut=fc, start=start, end=end)
    return out


def value_summary(groups: pd.DataFrame) -> pd.DataFrame:
    """Accounts per value group, every group listed.

    Returns
    -------
    pandas.DataFrame
        One row per group ``A``..``E``: ``group``, ``label``, ``n`` (accounts), ``share`` (of all
        accounts), ``revenue``, ``mean_aov``, ``mean_frequency``, and the cut-offs used
        (``value_cut``, ``frequency_cut``, from ``groups.attrs``).

    Examples
    --------
    >>> groups = pd.DataFrame({"orders": [0, 2, 1], "amount": [0.0, 400.0, 50.0],
    ...                        "aov": [None, 200.0, 50.0], "frequency": [None, 2.0, 1.0],
    ...                        "group": ["A", "E", "B"]})
    >>> value_summary(groups)[["group", "n", "share", "revenue"]].round(3)
      group  n  share  revenue
    0     A  1  0.333      0.0
    1     B  1  0.333     50.0
    2     C  0  0.000      0.0
    3     D  0  0.000      0.0
    4     E  1  0.333    400.0
    """
    g = groups.groupby("group").agg(
        n=("orders", "size"),
        revenue=("amount", "sum"),
        mean_aov=("aov", "mean"),
        mean_frequency=("frequency", "mean"),
    )
    g = g.reindex(list(GROUPS))
    g["n"] = g["n"].fillna(0).astype(int)
    g["revenue"] = g["revenue"].fillna(0.0)
    g = g.reset_index().rename(columns={"index": "group"})
    g.insert(1, "label", g["group"].map(GROUP_LABELS))
    g.insert(3, "share", g["n"] / max(int(g["n"].sum()), 1))
    g["value_cut"] = groups.attrs.get("value_cut", np.nan)
    g["frequency_cut"] = groups.attrs.get("frequency_cut", np.nan)
    return g


def value_movement(
    orders: pd.DataFrame,
    split: pd.Timestamp,
    end: pd.Timestamp,
    *,
    start: pd.Timestamp | None = None,
    leads: pd.DataFrame | None = None,
    value_cut: float | None = None,
    frequency_cut: float | None = None,
) -> pd.DataFrame:
    """Accounts moving between value groups from ``[start, split)`` to ``[split, end]``.

    The first window's cut-offs (or the arguments) are applied to both windows: a fixed ruler.

    Parameters
    ----------
    orders
        The orders table.
    split, end
        The second window; ``end`` is a whole day.
    start
        Start of the first window; default the first order.
    leads, value_cut, frequency_cut
        As in :func:`value_groups`.

    Returns
    -------
    pandas.DataFrame
        All 25 pairs: ``from_group``, ``to_group``, ``n`` (accounts) and ``share_of_from``
        (of the accounts in ``from_group``; ``NaN`` when it is empty). The cut-offs are in
        ``.attrs``.

    Raises
    ------
    DataError
        Unless ``start < split <= end``.

    Examples
    --------
    >>> orders = pd.DataFrame({"account_id": ["A", "B", "A", "C"], "amount": [100.0, 50.0, 300.0, 80.0],
    ...                        "order_date": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-03-01", "2025-03-10"])})
    >>> m = value_movement(orders, pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-31"))
    >>> m.attrs["value_cut"]  # the median order value of A (100) and B (50) before the split
    75.0
    >>> m[m["n"] > 0]
       from_group to_group  n  share_of_from
    2           A        C  1            1.0
    5           B        A  1            1.0
    12          C        C  1            1.0
    """
    o = _orders(orders)
    start = pd.Timestamp(start) if start is not None else o["order_date"].min()
    split, end = pd.Timestamp(split), pd.Timestamp(end)
    if not (start < split <= end):
        raise DataError(
            f"value movement needs start < split <= end, got {start.date()}, {split.date()}, "
            f"{end.date()}",
            table="orders",
            fix="pick a split date inside the order history",
        )
    lead_keys = None if leads is None else _lead_keys(leads)  # once for both windows
    first = _value_groups(
        orders,
        start,
        split,
        lead_keys,
        value_cut=value_cut,
        frequency_cut=frequency_cut,
        end_inclusive=False,
    )
    second = _value_groups(
        orders,
        split,
        end,
        lead_keys,
        value_cut=first.attrs["value_cut"],
        frequency_cut=first.attrs["frequency_cut"],
        end_inclusive=True,
    )
    pair = first[["key", "group"]].merge(
        second[["key", "group"]], on="key", suffixes=("_from", "_to")
    )
    counts = pair.groupby(["group_from", "group_to"]).size()
    idx = pd.MultiIndex.from_product([GROUPS, GROUPS], names=["from_group", "to_group"])
    counts.index = counts.index.set_names(["from_group", "to_group"])
    out = counts.reindex(idx, fill_value=0).rename("n").reset_index()
    tot = out.groupby("from_group")["n"].transform("sum")
    out["share_of_from"] = out["n"] / tot.where(tot > 0)
    out.attrs.update(value_cut=first.attrs["value_cut"], frequency_cut=first.attrs["frequency_cut"])
    return out


def movement_matrix(moves: pd.DataFrame) -> pd.DataFrame:
    """A :func:`value_movement` table as a matrix: one row per group before, one column per
    group after (``A``..``E``), accounts in the cells.

    Examples
    --------
    >>> moves = pd.DataFrame({"from_group": ["A", "A", "B", "B"], "to_group": ["A", "B", "A", "B"],
    ...                       "n": [5, 2, 1, 3]})
    >>> movement_matrix(moves)
      from_group  A  B
    0          A  5  2
    1          B  1  3
    """
    out = moves.pivot(index="from_group", columns="to_group", values="n").reset_index()
    out.columns.name = None
    return out


__all__ = [
    "GROUPS",
    "GROUP_LABELS",
    "MOVEMENT_MATRIX_COLUMNS",
    "VALUE_COLUMNS",
    "VALUE_MOVEMENT_COLUMNS",
    "VALUE_SUMMARY_COLUMNS",
    "account_key",
    "classify",
    "customer_values",
    "movement_matrix",
    "value_groups",
    "value_movement",
    "value_summary",
    "value_window",
]
