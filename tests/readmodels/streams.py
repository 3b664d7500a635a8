"""Deterministic synthetic event streams for read-model tests, and helpers to load and compare.

A stream is a list of raw event dicts (the JSON shape of events.md), built
from a seeded `random.Random`, so the same seed always yields the same ids,
payloads and order. The catalog stream deliberately contains the awkward
cases a projection must survive: a cancellation that arrives before its
order, a customer who reviews twice, a collection whose members change, a
category that moves to another parent, a deleted product and a product that
is unlisted by a later upsert.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.catalog.tables import CATALOG_TABLES
from readmodels.creators.tables import creators
from readmodels.eventlog.store import AppendResult, append_events
from readmodels.events import validate_events

Raw = dict[str, Any]
Snapshot = dict[str, list[tuple[Any, ...]]]

SNAPSHOT_TABLES: tuple[Table, ...] = (*CATALOG_TABLES, creators)
START = datetime(2026, 1, 1, tzinfo=UTC)


class StreamBuilder:
    """Appends raw events with seeded ids and strictly increasing occurredAt instants."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[Raw] = []

    def add(self, type_: str, **data: Any) -> Raw:
        raw = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": type_,
            "occurredAt": _instant(len(self.events)),
            "data": data,
        }
        self.events.append(raw)
        return raw


def _instant(index: int) -> str:
    return (START + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high)}.{rng.randint(0, 99):02d}"


def inventory_adjustments(seed: int, count: int, *, products: int = 10) -> list[Raw]:
    """`count` InventoryAdjusted events spread over `products` products."""
    builder = StreamBuilder(random.Random(seed))
    for _ in range(count):
        builder.add(
            "InventoryAdjusted",
            productId=f"p-{builder.rng.randrange(products)}",
            delta=builder.rng.randint(-5, 20),
            reason=builder.rng.choice(["restock", "sale", "return", "correction"]),
        )
    return builder.events


def catalog_stream(seed: int, *, products: int = 200) -> list[Raw]:
    """A catalog history: set-up, then activity with the awkward cases mixed in, then a re-curation.

    About 8 events per product: products=200 gives roughly 1,700 events.
    """
    builder = StreamBuilder(random.Random(seed))
    rng = builder.rng
    store_ids = [f"s-{i}" for i in range(3)]
    for i, store_id in enumerate(store_ids):
        builder.add(
            "CreatorUpserted",
            creatorId=f"cr-{i}",
            handle=f"creator{i}",
            name=f"Creator {i}",
            bio=None if i == 0 else f"Makes things, vol. {i}",
            avatarUrl=None,
            storeId=store_id,
        )
        builder.add(
            "StoreUpserted",
            storeId=store_id,
            slug=f"store-{i}",
            name=f"Store {i}",
            currencyCode="EUR",
            ownerCreatorId=f"cr-{i}",
        )
    leaves, mids = _category_tree(builder)
    product_ids = [f"p-{i}" for i in range(products)]
    for product_id in product_ids:
        add_product(builder, product_id, rng.choice(store_ids), rng.choice(leaves + mids))
        add_price(builder, product_id)
        builder.add("InventoryCounted", productId=product_id, onHand=rng.randint(0, 40))
    collections = {f"k-{i}": rng.sample(product_ids, min(8, products)) for i in range(3)}
    for collection_id, members in collections.items():
        add_collection(builder, collection_id, members)
    _activity(builder, product_ids, store_ids, leaves, mids, collections)
    # Last, a collection changes members again: nothing touches those products afterwards.
    add_collection(builder, "k-0", rng.sample(product_ids, min(5, products)))
    return builder.events


def _category_tree(builder: StreamBuilder) -> tuple[list[str], list[str]]:
    """Three roots, three children each, two grandchildren each; one child precedes its parent."""
    leaves: list[str] = []
    mids: list[str] = []
    late_parent: Raw | None = None
    for r in range(3):
        root = builder.add(
            "CategoryUpserted",
            categoryId=f"c-{r}",
            slug=f"root-{r}",
            name=f"Root {r}",
            parentId=None,
            position=r,
        )
        if r == 2:
            # Announce root 2 after its whole subtree: children may come first.
            late_parent = builder.events.pop()
            assert late_parent is root
        for m in range(3):
            mid = f"c-{r}-{m}"
            mids.append(mid)
            builder.add(
                "CategoryUpserted",
                categoryId=mid,
                slug=f"cat-{r}-{m}",
                name=f"Category {r}.{m}",
                parentId=f"c-{r}",
                position=m,
            )
            for leaf_index in range(2):
                leaf = f"{mid}-{leaf_index}"
                leaves.append(leaf)
                builder.add(
                    "CategoryUpserted",
                    categoryId=leaf,
                    slug=f"cat-{r}-{m}-{leaf_index}",
                    name=f"Category {r}.{m}.{leaf_index}",
                    parentId=mid,
                    position=leaf_index,
                )
    assert late_parent is not None
    builder.events.append(late_parent)
    # Keep occurredAt increasing after the reordering.
    for index, raw in enumerate(builder.events):
        raw["occurredAt"] = _instant(index)
    return leaves, mids


def add_product(
    builder: StreamBuilder,
    product_id: str,
    store_id: str,
    category_id: str | None,
    *,
    listed: bool = True,
) -> None:
    rng = builder.rng
    number = product_id.removeprefix("p-")
    builder.add(
        "ProductUpserted",
        productId=product_id,
        storeId=store_id,
        sku=f"SKU-{number}",
        slug=f"product-{number}",
        title=f"Product {number} {rng.choice(['Mug', 'Tee', 'Print', 'Zine', 'Cap'])}",
        description=None if rng.random() < 0.2 else f"Description of product {number}",
        categoryId=category_id,
        tags=rng.sample(["eco", "new", "sale", "gift", "limited", "bundle"], rng.randint(0, 3)),
        images=[{"url": f"https://img.example/{number}.jpg", "alt": None, "width": 800}],
        featured=rng.random() < 0.15,
        listed=listed,
        createdAt=_instant(len(builder.events)),
    )


def add_price(builder: StreamBuilder, product_id: str) -> None:
    rng = builder.rng
    base = _money(rng, 5, 90)
    tiers = []
    if rng.random() < 0.3:
        tiers = [
            {"minQuantity": 10, "unitPrice": _money(rng, 3, 4)},
            {"minQuantity": 3, "unitPrice": _money(rng, 4, 5)},
        ]
    segments = [{"segment": "vip", "unitPrice": _money(rng, 3, 5)}] if rng.random() < 0.2 else []
    builder.add(
        "PriceSet",
        productId=product_id,
        currencyCode="EUR",
        basePrice=base,
        tiers=tiers,
        segmentPrices=segments,
    )


def add_collection(builder: StreamBuilder, collection_id: str, members: list[str]) -> None:
    number = collection_id.removeprefix("k-")
    builder.add(
        "CollectionUpserted",
        collectionId=collection_id,
        slug=f"collection-{number}",
        title=f"Collection {number}",
        productIds=members,
    )


def _order(builder: StreamBuilder, order_id: str, store_id: str, product_ids: list[str]) -> Raw:
    rng = builder.rng
    lines = [
        {"productId": p, "quantity": rng.randint(1, 4), "unitPrice": _money(rng, 5, 50)}
        for p in rng.sample(product_ids, rng.randint(1, min(3, len(product_ids))))
    ]
    return builder.add(
        "OrderPlaced",
        orderId=order_id,
        storeId=store_id,
        customerId=f"cu-{rng.randrange(25)}",
        placedAt=_instant(len(builder.events)),
        currencyCode="EUR",
        lines=lines,
        total=_money(rng, 10, 300),
    )


def _activity(
    builder: StreamBuilder,
    product_ids: list[str],
    store_ids: list[str],
    leaves: list[str],
    mids: list[str],
    collections: dict[str, list[str]],
) -> None:
    rng = builder.rng
    steps = len(product_ids) * 5
    # The structural events land at fixed fractions of the activity phase.
    milestones = {
        steps // 6: "early cancellation",
        steps // 5: "late order",
        steps // 4: "review twice",
        steps // 3: "re-upsert collections",
        steps // 2: "move category",
        (steps * 2) // 3: "delete products",
        (steps * 3) // 4: "unlist product",
    }
    placed: list[str] = []
    order_count = 0
    for step in range(steps):
        match milestones.get(step):
            case "early cancellation":
                builder.add("OrderCancelled", orderId="o-early")
            case "late order":
                _order(builder, "o-early", rng.choice(store_ids), product_ids)
            case "review twice":
                product_id = product_ids[0]
                builder.add(
                    "ReviewSubmitted", productId=product_id, customerId="cu-twice", rating=2
                )
                builder.add(
                    "ReviewSubmitted", productId=product_id, customerId="cu-twice", rating=5
                )
            case "re-upsert collections":
                for collection_id, members in collections.items():
                    kept = members[: len(members) // 2]
                    fresh = [p for p in rng.sample(product_ids, 6) if p not in kept]
                    add_collection(builder, collection_id, kept + fresh)
            case "move category":
                # c-0-0 (with its two leaves) moves from root 0 to root 1.
                builder.add(
                    "CategoryUpserted",
                    categoryId="c-0-0",
                    slug="cat-0-0",
                    name="Category 0.0 (moved)",
                    parentId="c-1",
                    position=9,
                )
            case "delete products":
                for product_id in product_ids[1:3]:
                    builder.add("ProductDeleted", productId=product_id)
            case "unlist product":
                add_product(builder, product_ids[3], store_ids[0], rng.choice(leaves), listed=False)
        roll = rng.random()
        product_id = rng.choice(product_ids)
        if roll < 0.25:
            builder.add(
                "InventoryAdjusted",
                productId=product_id,
                delta=rng.randint(-6, 12),
                reason=rng.choice(["restock", "sale", "return", "correction"]),
            )
        elif roll < 0.45:
            builder.add(
                "ReviewSubmitted",
                productId=product_id,
                customerId=f"cu-{rng.randrange(25)}",
                rating=rng.randint(1, 5),
            )
        elif roll < 0.75:
            order_id = f"o-{order_count}"
            order_count += 1
            _order(builder, order_id, rng.choice(store_ids), product_ids)
            placed.append(order_id)
        elif roll < 0.85 and placed:
            builder.add("OrderCancelled", orderId=placed.pop(rng.randrange(len(placed))))
        elif roll < 0.93:
            add_price(builder, product_id)
        else:
            builder.add("InventoryCounted", productId=product_id, onHand=rng.randint(0, 40))


async def append_raw(engine: AsyncEngine, raw: list[Raw]) -> AppendResult:
    """Validate the raw events (there must be no errors) and append them in one batch."""
    events, errors = validate_events(raw)
    assert [error.as_dict() for error in errors] == []
    return await append_events(engine, events)


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Every catalog table and the creators table, rows ordered by all their columns."""
    result: Snapshot = {}
    async with engine.connect() as conn:
        for table in SNAPSHOT_TABLES:
            rows = await conn.execute(select(table).order_by(*table.c))
            result[table.name] = [tuple(row) for row in rows]
    return result


def snapshot_differences(left: Snapshot, right: Snapshot, *, show: int = 5) -> list[str]:
    """A short description of how two snapshots differ ([] when equal), readable on failure."""
    differences: list[str] = []
    for name in sorted(left.keys() | right.keys()):
        a, b = left.get(name, []), right.get(name, [])
        if a == b:
            continue
        a_keys, b_keys = {repr(row) for row in a}, {repr(row) for row in b}
        only_left = [row for row in a if repr(row) not in b_keys]
        only_right = [row for row in b if repr(row) not in a_keys]
        differences.append(
            f"{name}: {len(a)} vs {len(b)} rows; only left {only_left[:show]!r}; "
            f"only right {only_right[:show]!r}"
        )
    return differences
