"""The recommendations projection: co-purchase counts and each product's top 20.

Each batch loads its orders (one statement), folds the events over them with
the pure rules of `folds`, then writes set-wise: the orders, the summed pair
deltas, and the top 20 of only the products whose pairs moved. An order
touches at most 50 * 49 pairs, and a product's top 20 is read off the
`ix_copurchases_top` index, so the work per order is bounded whatever the
size of the catalog or of the log.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.recommendations import folds
from readmodels.recommendations.tables import RECOMMENDATION_TABLES, recommendation_orders
from readmodels.sql import upsert

_LOAD_ORDERS = text(
    "SELECT order_id, product_ids, cancelled FROM recommendation_orders "
    "WHERE order_id = ANY(CAST(:ids AS text[]))"
)
_ADD_PAIRS = text(
    """
    INSERT INTO copurchases (product_id, other_id, count)
    SELECT p, o, d FROM unnest(CAST(:p AS text[]), CAST(:o AS text[]), CAST(:d AS int[]))
        AS u(p, o, d)
    ON CONFLICT (product_id, other_id) DO UPDATE SET count = copurchases.count + excluded.count
    """
)
# A pair no live order holds has no row, exactly as after a rebuild.
_DROP_EMPTY_PAIRS = text(
    "DELETE FROM copurchases WHERE product_id = ANY(CAST(:ids AS text[])) AND count <= 0"
)
# One statement for every product whose pairs moved: the top N off the index
# (count descending, then id in code point order, as `folds.rank`), written
# only where it differs, the row of a product left with none deleted. The
# CTEs all read the table as it was, so `old_ids` is the previous list and the
# statement returns the products whose list (what a request shows) changed.
_RERANK = text(
    """
    WITH target AS (
        SELECT k.id AS product_id, t.other_ids, t.counts,
               r.other_ids AS old_ids, r.counts AS old_counts
        FROM unnest(CAST(:ids AS text[])) AS k(id)
        LEFT JOIN recommendations r ON r.product_id = k.id
        CROSS JOIN LATERAL (
            SELECT array_agg(c.other_id ORDER BY c.count DESC, c.other_id COLLATE "C")
                       AS other_ids,
                   array_agg(c.count ORDER BY c.count DESC, c.other_id COLLATE "C") AS counts
            FROM (
                SELECT other_id, count FROM copurchases
                WHERE product_id = k.id AND other_id <> k.id AND count > 0
                ORDER BY count DESC, other_id COLLATE "C"
                LIMIT :limit
            ) AS c
        ) AS t
    ),
    written AS (
        INSERT INTO recommendations (product_id, other_ids, counts)
        SELECT product_id, other_ids, counts FROM target
        WHERE other_ids IS NOT NULL
          AND (old_ids IS DISTINCT FROM other_ids OR old_counts IS DISTINCT FROM counts)
        ON CONFLICT (product_id) DO UPDATE
            SET other_ids = excluded.other_ids, counts = excluded.counts
    ),
    emptied AS (
        DELETE FROM recommendations r USING target t
        WHERE r.product_id = t.product_id AND t.other_ids IS NULL
    )
    SELECT product_id FROM target WHERE old_ids IS DISTINCT FROM other_ids
    ORDER BY product_id
    """
)


class RecommendationsProjection:
    """Products bought together: pair counts from live orders, and each product's top 20."""

    name = "recommendations"
    event_types = frozenset({"OrderPlaced", "OrderCancelled"})
    tables: tuple[Table, ...] = RECOMMENDATION_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        orders = await _load_orders(conn, events)
        fold = folds.PairFold()
        dirty: set[str] = set()
        for event in events:
            order_id = event.data["orderId"]
            order = orders.setdefault(order_id, folds.new_order(order_id))
            dirty.add(order_id)
            if event.type == "OrderPlaced":
                fold.place(order, (line["productId"] for line in event.data["lines"]))
            else:
                fold.cancel(order)
        await upsert(
            conn, recommendation_orders, [orders[o] for o in sorted(dirty)], keys=["order_id"]
        )
        return await _add_pairs_and_rerank(conn, fold.changed())


async def _load_orders(
    conn: AsyncConnection, events: Sequence[StoredEvent]
) -> dict[str, folds.Row]:
    ids = sorted({event.data["orderId"] for event in events})
    rows = await conn.execute(_LOAD_ORDERS, {"ids": ids})
    return {row["order_id"]: dict(row) for row in rows.mappings()}


async def _add_pairs_and_rerank(conn: AsyncConnection, changed: dict[folds.Pair, int]) -> set[str]:
    """Apply the pair deltas and recompute the top N of the products they touch;
    returns the tags of the products whose list changed."""
    if not changed:
        return set()
    await conn.execute(
        _ADD_PAIRS,
        {
            "p": [pair[0] for pair in changed],
            "o": [pair[1] for pair in changed],
            "d": list(changed.values()),
        },
    )
    products = sorted({pair[0] for pair in changed})
    shrunk = sorted({pair[0] for pair, delta in changed.items() if delta < 0})
    if shrunk:
        await conn.execute(_DROP_EMPTY_PAIRS, {"ids": shrunk})
    rows = await conn.execute(_RERANK, {"ids": products, "limit": folds.TOP_N})
    return {f"recommendations:{row.product_id}" for row in rows}
