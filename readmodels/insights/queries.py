"""Read-model queries of insight metrics: one statement per call, results aligned with keys.

A key is (store id, first day, last day), both days included. Each batch
unnests its distinct keys with their ordinal and reads, per key, the primary
key range (store_id, day BETWEEN first AND last) of a metrics table: a
366-day dashboard reads at most 366 day rows per store (and the product
rows of those days), never an order. Money is stored at a fixed scale of 6
places; it comes back with trailing zeros trimmed down to cents ("12.50",
"0.125").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from readmodels.insights.rows import DayRow, ProductSalesRow
from readmodels.reader import Reader

RangeKey = tuple[str, date, date]
"""(store id, first day, last day), both included."""

CENTS = Decimal("0.01")
T = TypeVar("T")

_KEYS = (
    "unnest($1::text[], $2::date[], $3::date[]) "
    "WITH ORDINALITY AS k(store_id, first_day, last_day, n)"
)
# Each key probes its own primary-key range through a LATERAL subquery. The
# cached generic plan cannot know how many keys the arrays hold, and for a
# plain join it picks a hash join over a scan of the whole table; a lateral
# subquery that cannot be flattened (OFFSET 0 in the first, GROUP BY in the
# second) leaves it only the parameterized index scan.
_STORE_DAYS = (
    "SELECT k.n, d.day, d.revenue, d.orders, d.units, d.sessions, d.new_repeat_customers "
    f"FROM {_KEYS} CROSS JOIN LATERAL ("
    "SELECT day, revenue, orders, units, sessions, new_repeat_customers FROM store_daily "
    "WHERE store_id = k.store_id AND day BETWEEN k.first_day AND k.last_day OFFSET 0"
    ") AS d ORDER BY k.n, d.day"
)
_STORE_PRODUCT_SALES = (
    "SELECT k.n, p.product_id, p.units, p.revenue "
    f"FROM {_KEYS} CROSS JOIN LATERAL ("
    "SELECT product_id, sum(units) AS units, sum(revenue) AS revenue FROM store_product_daily "
    "WHERE store_id = k.store_id AND day BETWEEN k.first_day AND k.last_day "
    "GROUP BY product_id HAVING sum(units) > 0"
    ') AS p ORDER BY k.n, p.revenue DESC, p.product_id COLLATE "C"'
)


def trim_money(amount: Decimal) -> Decimal:
    """The stored fixed-scale amount without trailing zeros past the cents."""
    cents = amount.quantize(CENTS)
    return cents if cents == amount else amount.normalize()


def _distinct(keys: Sequence[RangeKey]) -> list[RangeKey]:
    return list(dict.fromkeys(keys))


def _args(distinct: list[RangeKey]) -> tuple[list[str], list[date], list[date]]:
    return [k[0] for k in distinct], [k[1] for k in distinct], [k[2] for k in distinct]


def _aligned(
    keys: Sequence[RangeKey], distinct: list[RangeKey], found: list[list[T]]
) -> list[tuple[T, ...]]:
    by_key = {key: tuple(rows) for key, rows in zip(distinct, found, strict=True)}
    return [by_key[key] for key in keys]


async def store_days(db: Reader, keys: Sequence[RangeKey]) -> list[tuple[DayRow, ...]]:
    """Each range's day rows by day; days without orders or traffic are absent (zeros)."""
    if not keys:
        return []
    distinct = _distinct(keys)
    found: list[list[DayRow]] = [[] for _ in distinct]
    for r in await db.fetch(_STORE_DAYS, *_args(distinct)):
        found[r["n"] - 1].append(
            DayRow(
                r["day"],
                trim_money(r["revenue"]),
                r["orders"],
                r["units"],
                r["sessions"],
                r["new_repeat_customers"],
            )
        )
    return _aligned(keys, distinct, found)


async def store_product_sales(
    db: Reader, keys: Sequence[RangeKey]
) -> list[tuple[ProductSalesRow, ...]]:
    """Each range's products with live sales, summed over its days: revenue descending,
    then product id in code point order."""
    if not keys:
        return []
    distinct = _distinct(keys)
    found: list[list[ProductSalesRow]] = [[] for _ in distinct]
    for r in await db.fetch(_STORE_PRODUCT_SALES, *_args(distinct)):
        found[r["n"] - 1].append(
            ProductSalesRow(r["product_id"], int(r["units"]), trim_money(r["revenue"]))
        )
    return _aligned(keys, distinct, found)
