"""Catalog cases where live batches and a rebuild could disagree, each reduced to a few events.

A read model must not depend on how the log was cut into batches: a rebuild
replays in large batches, a live runner in whatever arrived.
"""

from __future__ import annotations

import random

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.catalog.projection import CatalogProjection
from readmodels.projections import all_projections
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from tests.readmodels.streams import (
    StreamBuilder,
    add_collection,
    add_price,
    add_product,
    append_raw,
    snapshot,
    snapshot_differences,
)


def small_catalog() -> StreamBuilder:
    """One store, categories c-root > c-kid and c-other, and product p-1 priced in c-kid."""
    builder = StreamBuilder(random.Random(7))
    builder.add(
        "StoreUpserted",
        storeId="s-0",
        slug="store-0",
        name="Store 0",
        currencyCode="EUR",
        ownerCreatorId="cr-0",
    )
    for category_id, parent_id in (("c-root", None), ("c-kid", "c-root"), ("c-other", None)):
        builder.add(
            "CategoryUpserted",
            categoryId=category_id,
            slug=category_id,
            name=category_id,
            parentId=parent_id,
            position=0,
        )
    add_product(builder, "p-1", "s-0", "c-kid")
    add_price(builder, "p-1")
    return builder


async def listing_scopes(engine: AsyncEngine, product_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT scope FROM listing_entries WHERE product_id = :id ORDER BY scope"),
            {"id": product_id},
        )
        return [row.scope for row in rows]


async def units_sold(engine: AsyncEngine, product_id: str) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT units_sold FROM products WHERE id = :id"), {"id": product_id}
        )
        return int(rows.scalar_one())


async def test_collection_only_batch_keeps_ancestor_category_listings(engine: AsyncEngine) -> None:
    """A batch holding only a CollectionUpserted keeps its members in their ancestors' listings."""
    builder = small_catalog()
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections(), batch_size=100)
    listed = ["all", "c:c-kid", "c:c-root", "cd:c-kid", "s:s-0"]
    assert await listing_scopes(engine, "p-1") == listed
    builder.events.clear()
    add_collection(builder, "k-1", ["p-1"])
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections(), batch_size=100)
    assert await listing_scopes(engine, "p-1") == sorted([*listed, "k:k-1"])
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, product_count FROM categories ORDER BY id"))
        assert [tuple(row) for row in rows] == [("c-kid", 1), ("c-other", 0), ("c-root", 1)]


async def test_order_placed_before_its_product_counts_in_any_batch_size(
    engine: AsyncEngine,
) -> None:
    """Units of an order that precedes its product count once, whether batched with it or not."""
    builder = StreamBuilder(random.Random(8))
    builder.add(
        "OrderPlaced",
        orderId="o-1",
        storeId="s-0",
        customerId="cu-1",
        placedAt="2026-01-01T00:00:00Z",
        currencyCode="EUR",
        lines=[{"productId": "p-1", "quantity": 3, "unitPrice": "2.00"}],
        total="6.00",
    )
    builder.events.extend(small_catalog().events)
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections(), batch_size=1)
    placed = await units_sold(engine, "p-1")
    builder.events.clear()
    builder.add("OrderCancelled", orderId="o-1")
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections(), batch_size=1)
    assert [placed, await units_sold(engine, "p-1")] == [3, 0]


async def test_emptied_listing_scope_looks_the_same_after_rebuild(engine: AsyncEngine) -> None:
    """A listing emptied by a later event leaves the same listing counts as a rebuild does."""
    builder = small_catalog()
    add_product(builder, "p-1", "s-0", "c-other")
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections(), batch_size=1)
    live = (await snapshot(engine))["listing_counts"]
    await rebuild(engine, CatalogProjection())
    rebuilt = (await snapshot(engine))["listing_counts"]
    assert rebuilt == [("all", 1), ("c:c-other", 1), ("cd:c-other", 1), ("s:s-0", 1)]
    assert live == rebuilt


async def test_orders_for_a_product_never_upserted_replay_identically(engine: AsyncEngine) -> None:
    """Orders naming a product that never arrives leave the same rows live and after a rebuild."""
    builder = StreamBuilder(random.Random(9))
    for order_id, product_id in (("o-1", "p-ghost"), ("o-2", "p-phantom")):
        builder.add(
            "OrderPlaced",
            orderId=order_id,
            storeId="s-0",
            customerId="cu-1",
            placedAt="2026-01-01T00:00:00Z",
            currencyCode="EUR",
            lines=[{"productId": product_id, "quantity": 2, "unitPrice": "2.00"}],
            total="4.00",
        )
    builder.add("OrderCancelled", orderId="o-1")
    builder.events.extend(small_catalog().events)
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections(), batch_size=1)
    live = await snapshot(engine)
    await rebuild(engine, CatalogProjection())
    assert snapshot_differences(live, await snapshot(engine)) == []
