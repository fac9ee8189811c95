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

GROUPS = ("A", "B", "C", "D", "E")
GROUP_LABELS = {
    "A": "prospect (no order)",
    "B": "new / occasional",
    "C": "high value, infrequent",
    "D": "frequent, low value",
    "E": "high value, frequent",
}
DAYS_PER_MONTH = 365.25 / 12


def account_key(df: pd.DataFrame, table: str) -> pd.Series:
    """``account_id``, else ``"lead:" + lead_id``; a :class:`DataError` when neither is there."""
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
    """Per account with orders in the window: ``key, orders, amount, aov, frequency``.

    An inclusive ``end`` is a whole day (:func:`leadnb.asof.known`: an order at 23:59:59 on
    ``end`` is inside), as ``as_of`` is everywhere.
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
    orders: pd.DataFrame | None, as_of: pd.Timestamp, split: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """The orders known by ``as_of`` and the two periods of the map: ``(known, split, end)``.

    ``end`` is the analysis date; ``split`` is the given date when it lies after the first
    known order and on or before ``as_of``, else the middle of that span. Raises
    :class:`NotEnoughData` when there is no orders table (``None``), no order by ``as_of``, or
    no order before the analysis date (two periods cannot be formed).
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
    """Group letter per row of ``values`` (``orders == 0`` is ``A``)."""
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
    """Every account (from ``leads`` and ``orders``) with its group for the window.

    Columns: ``key, orders, amount, aov, frequency, group``. ``start`` defaults to the first
    order, ``end`` to the last. The cut-offs used are in ``.attrs["value_cut"]`` and
    ``.attrs["frequency_cut"]``.
    """
    o = _orders(orders)
    start = pd.Timestamp(start) if start is not None else o["order_date"].min()
    end = pd.Timestamp(end) if end is not None else o["order_date"].max()
    vals = customer_values(orders, start, end, end_inclusive=end_inclusive)
    keys = pd.Index(o["key"].unique())
    if leads is not None:
        lk = account_key(leads, "leads").dropna()
        keys = keys.union(pd.Index(lk.unique()))
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
    """Counts per group: ``group, label, n, share, revenue, mean_aov, mean_frequency`` plus
    the cut-offs used (``value_cut``, ``frequency_cut``). Every group is listed."""
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
    """Accounts moving between groups from ``[start, split)`` to ``[split, end]``.

    Columns: ``from_group, to_group, n, share_of_from`` (all 25 pairs). Cut-offs come from the
    first window (or the arguments) and are applied to both windows.
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
    first = value_groups(
        orders,
        start,
        split,
        leads=leads,
        value_cut=value_cut,
        frequency_cut=frequency_cut,
        end_inclusive=False,
    )
    second = value_groups(
        orders,
        split,
        end,
        leads=leads,
        value_cut=first.attrs["value_cut"],
        frequency_cut=first.attrs["frequency_cut"],
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


__all__ = [
    "GROUPS",
    "GROUP_LABELS",
    "account_key",
    "classify",
    "customer_values",
    "value_groups",
    "value_movement",
    "value_summary",
    "value_window",
]
