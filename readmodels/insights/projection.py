"""The insight metrics projection: per-store daily revenue, orders, units, sessions,
new repeat customers, and per-product daily sales.

Each batch loads its orders and their customers' order days (one statement
each), folds the events over them with the pure rules of `folds`, then
writes set-wise: the orders, the customers, the summed day and product
deltas (upserts that add), the absolute sessions, and the deletion of rows
left all-zero. A day or product row nothing live holds has no row, exactly
as after a rebuild, so live and rebuilt tables are equal row for row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.insights import folds
from readmodels.insights.tables import (
    insight_orders,
    store_customers,
    store_daily,
    store_product_daily,
)
from readmodels.sql import upsert

METRICS_TABLES: tuple[Table, ...] = (
    store_daily,
    store_product_daily,
    store_customers,
    insight_orders,
)

_LOAD_ORDERS = text(
    "SELECT order_id, store_id, customer_id, day, total, lines, cancelled FROM insight_orders "
    "WHERE order_id = ANY(CAST(:ids AS text[]))"
)
_LOAD_CUSTOMERS = text(
    """
    SELECT c.store_id, c.customer_id, c.order_days FROM store_customers c
    JOIN unnest(CAST(:stores AS text[]), CAST(:customers AS text[])) AS k(s, u)
      ON c.store_id = k.s AND c.customer_id = k.u
    """
)
_DELETE_CUSTOMERS = text(
    """
    DELETE FROM store_customers c
    USING unnest(CAST(:stores AS text[]), CAST(:customers AS text[])) AS k(s, u)
    WHERE c.store_id = k.s AND c.customer_id = k.u
    """
)
_ADD_DAYS = text(
    """
    INSERT INTO store_daily (store_id, day, revenue, orders, units, sessions, new_repeat_customers)
    SELECT s, d, r, o, u, 0, n FROM unnest(
        CAST(:s AS text[]), CAST(:d AS date[]), CAST(:r AS numeric[]),
        CAST(:o AS int[]), CAST(:u AS int[]), CAST(:n AS int[])
    ) AS k(s, d, r, o, u, n)
    ON CONFLICT (store_id, day) DO UPDATE SET
        revenue = store_daily.revenue + excluded.revenue,
        orders = store_daily.orders + excluded.orders,
        units = store_daily.units + excluded.units,
        new_repeat_customers = store_daily.new_repeat_customers + excluded.new_repeat_customers
    """
)
# Sessions are absolute (revenue, if the row is new, at the fixed money scale);
# returns the store-days whose value actually changed.
_SET_SESSIONS = text(
    """
    INSERT INTO store_daily (store_id, day, revenue, orders, units, sessions, new_repeat_customers)
    SELECT s, d, 0.000000, 0, 0, n, 0
    FROM unnest(CAST(:s AS text[]), CAST(:d AS date[]), CAST(:n AS int[])) AS k(s, d, n)
    ON CONFLICT (store_id, day) DO UPDATE SET sessions = excluded.sessions
        WHERE store_daily.sessions <> excluded.sessions
    RETURNING store_id
    """
)
_DROP_EMPTY_DAYS = text(
    """
    DELETE FROM store_daily t
    USING unnest(CAST(:s AS text[]), CAST(:d AS date[])) AS k(s, d)
    WHERE t.store_id = k.s AND t.day = k.d
      AND t.revenue = 0 AND t.orders = 0 AND t.units = 0 AND t.sessions = 0
      AND t.new_repeat_customers = 0
    """
)
_ADD_PRODUCTS = text(
    """
    INSERT INTO store_product_daily (store_id, day, product_id, units, revenue)
    SELECT s, d, p, u, r FROM unnest(
        CAST(:s AS text[]), CAST(:d AS date[]), CAST(:p AS text[]),
        CAST(:u AS int[]), CAST(:r AS numeric[])
    ) AS k(s, d, p, u, r)
    ON CONFLICT (store_id, day, product_id) DO UPDATE SET
        units = store_product_daily.units + excluded.units,
        revenue = store_product_daily.revenue + excluded.revenue
    """
)
_DROP_EMPTY_PRODUCTS = text(
    """
    DELETE FROM store_product_daily t
    USING unnest(CAST(:s AS text[]), CAST(:d AS date[]), CAST(:p AS text[])) AS k(s, d, p)
    WHERE t.store_id = k.s AND t.day = k.d AND t.product_id = k.p
      AND t.units = 0 AND t.revenue = 0
    """
)


class InsightMetricsProjection:
    """Per-store daily metrics and product sales from orders, cancellations and traffic.

    Returns `store-metrics:<storeId>` for every store whose metrics moved.
    """

    name = "insight-metrics"
    event_types = frozenset({"OrderPlaced", "OrderCancelled", "StoreTrafficRecorded"})
    tables: tuple[Table, ...] = METRICS_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        orders = await _load_orders(conn, events)
        fold = folds.MetricsFold(customers=await _load_customers(conn, events, orders))
        dirty: set[str] = set()
        for event in events:
            data = event.data
            if event.type == "StoreTrafficRecorded":
                fold.record_traffic(
                    data["storeId"], date.fromisoformat(data["date"]), data["sessions"]
                )
                continue
            order_id = data["orderId"]
            order = orders.setdefault(order_id, folds.new_order(order_id))
            dirty.add(order_id)
            if event.type == "OrderPlaced":
                fold.place(order, data)
            else:
                fold.cancel(order)
        await upsert(conn, insight_orders, [orders[o] for o in sorted(dirty)], keys=["order_id"])
        await _write_customers(conn, fold)
        stores = await _write_days(conn, fold)
        stores |= await _write_products(conn, fold)
        return {f"store-metrics:{store}" for store in stores}


async def _load_orders(
    conn: AsyncConnection, events: Sequence[StoredEvent]
) -> dict[str, folds.Row]:
    ids = sorted({e.data["orderId"] for e in events if e.type != "StoreTrafficRecorded"})
    if not ids:
        return {}
    rows = await conn.execute(_LOAD_ORDERS, {"ids": ids})
    return {row["order_id"]: dict(row) for row in rows.mappings()}


async def _load_customers(
    conn: AsyncConnection, events: Sequence[StoredEvent], orders: dict[str, folds.Row]
) -> dict[folds.CustomerKey, list[date]]:
    """The live order days of every customer an order of the batch belongs to."""
    keys = {(e.data["storeId"], e.data["customerId"]) for e in events if e.type == "OrderPlaced"}
    keys.update((o["store_id"], o["customer_id"]) for o in orders.values() if o["store_id"])
    if not keys:
        return {}
    ordered = sorted(keys)
    rows = await conn.execute(
        _LOAD_CUSTOMERS,
        {"stores": [k[0] for k in ordered], "customers": [k[1] for k in ordered]},
    )
    return {(r.store_id, r.customer_id): list(r.order_days) for r in rows}


async def _write_customers(conn: AsyncConnection, fold: folds.MetricsFold) -> None:
    changed = sorted(fold.changed_customers)
    live = [
        {"store_id": s, "customer_id": c, "order_days": fold.customers[(s, c)]}
        for s, c in changed
        if fold.customers[(s, c)]
    ]
    await upsert(conn, store_customers, live, keys=["store_id", "customer_id"])
    # A customer with no live order left has no row, exactly as after a rebuild.
    gone = [key for key in changed if not fold.customers[key]]
    if gone:
        await conn.execute(
            _DELETE_CUSTOMERS,
            {"stores": [k[0] for k in gone], "customers": [k[1] for k in gone]},
        )


async def _write_days(conn: AsyncConnection, fold: folds.MetricsFold) -> set[str]:
    """Add the day deltas and set the sessions; returns the stores whose days moved."""
    changed = fold.changed_days()
    stores = {key[0] for key in changed}
    if changed:
        await conn.execute(
            _ADD_DAYS,
            {
                "s": [k[0] for k in changed],
                "d": [k[1] for k in changed],
                "r": [d.revenue for d in changed.values()],
                "o": [d.orders for d in changed.values()],
                "u": [d.units for d in changed.values()],
                "n": [d.new_repeat_customers for d in changed.values()],
            },
        )
    sessions = dict(sorted(fold.sessions.items()))
    if sessions:
        rows = await conn.execute(
            _SET_SESSIONS,
            {
                "s": [k[0] for k in sessions],
                "d": [k[1] for k in sessions],
                "n": list(sessions.values()),
            },
        )
        stores.update(row.store_id for row in rows)
    shrunk = sorted(
        {key for key, delta in changed.items() if delta.shrinks()}
        | {key for key, n in sessions.items() if n == 0}
    )
    if shrunk:
        await conn.execute(
            _DROP_EMPTY_DAYS, {"s": [k[0] for k in shrunk], "d": [k[1] for k in shrunk]}
        )
    return stores


async def _write_products(conn: AsyncConnection, fold: folds.MetricsFold) -> set[str]:
    """Add the product deltas; returns the stores whose product sales moved."""
    changed = fold.changed_products()
    if not changed:
        return set()
    await conn.execute(
        _ADD_PRODUCTS,
        {
            "s": [k[0] for k in changed],
            "d": [k[1] for k in changed],
            "p": [k[2] for k in changed],
            "u": [v[0] for v in changed.values()],
            "r": [v[1] for v in changed.values()],
        },
    )
    shrunk = [key for key, (units, revenue) in changed.items() if units < 0 or revenue < 0]
    if shrunk:
        await conn.execute(
            _DROP_EMPTY_PRODUCTS,
            {"s": [k[0] for k in shrunk], "d": [k[1] for k in shrunk], "p": [k[2] for k in shrunk]},
        )
    return {key[0] for key in changed}
