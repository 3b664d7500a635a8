"""The recommendations projection on real PostgreSQL: counts, the top-20 cut, ties,
cancellations in either order, replays, rebuilds and the work per batch."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import count_statements
from readmodels.eventlog.store import read_events
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from readmodels.recommendations.folds import order_pairs, rank
from readmodels.recommendations.projection import RecommendationsProjection
from readmodels.recommendations.tables import RECOMMENDATION_TABLES
from tests.readmodels.streams import Raw, StreamBuilder, append_raw

Rows = dict[str, list[tuple[Any, ...]]]


def place(builder: StreamBuilder, order_id: str, products: list[str]) -> Raw:
    lines = [{"productId": p, "quantity": 1, "unitPrice": "1.00"} for p in products]
    return builder.add(
        "OrderPlaced",
        orderId=order_id,
        storeId="s-0",
        customerId="cu-0",
        placedAt="2026-01-01T00:00:00Z",
        currencyCode="EUR",
        lines=lines,
        total=f"{len(lines)}.00",
    )


def cancel(builder: StreamBuilder, order_id: str) -> Raw:
    return builder.add("OrderCancelled", orderId=order_id)


async def project(engine: AsyncEngine, builder: StreamBuilder, batch_size: int = 100) -> set[str]:
    """Append the builder's events (then forget them), catch up, return the tags announced."""
    await append_raw(engine, builder.events)
    builder.events.clear()
    outcomes: list[BatchOutcome] = []
    await catch_up(
        engine, [RecommendationsProjection()], batch_size=batch_size, on_batch=outcomes.append
    )
    return set().union(*(o.tags for o in outcomes))


async def tables(engine: AsyncEngine) -> Rows:
    """The three recommendation tables, rows ordered by all their columns."""
    async with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in await conn.execute(select(table).order_by(*table.c))]
            for table in RECOMMENDATION_TABLES
        }


async def recommended(engine: AsyncEngine) -> dict[str, tuple[list[str], list[int]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT product_id, other_ids, counts FROM recommendations"))
        return {row.product_id: (row.other_ids, row.counts) for row in rows}


def random_orders(seed: int) -> StreamBuilder:
    """Multi-line orders over 30 products with repeats, duplicates, cancellations either
    side of their placement, and one order of 60 products (past the cap)."""
    builder = StreamBuilder(random.Random(seed))
    rng = builder.rng
    products = [f"p-{i}" for i in range(30)]
    placed: list[str] = []
    cancel(builder, "o-early")
    for i in range(150):
        lines = [rng.choice(products) for _ in range(rng.randint(1, 6))]
        place(builder, f"o-{i}", lines)
        placed.append(f"o-{i}")
        roll = rng.random()
        if roll < 0.15:
            cancel(builder, placed.pop(rng.randrange(len(placed))))
        elif roll < 0.2:
            place(builder, f"o-{i}", lines[:1])  # the same order again, another event id
        if i == 75:
            place(builder, "o-early", products[:3])
            place(builder, "o-huge", [f"p-{j}" for j in range(60)])
    cancel(builder, placed[0])
    cancel(builder, placed[0])
    return builder


def recount(events: list[Raw]) -> Counter[tuple[str, str]]:
    """Pair counts from scratch: first placements of orders never cancelled."""
    placed: dict[str, list[str]] = {}
    cancelled: set[str] = set()
    for raw in events:
        data = raw["data"]
        if raw["type"] == "OrderPlaced":
            placed.setdefault(data["orderId"], [line["productId"] for line in data["lines"]])
        else:
            cancelled.add(data["orderId"])
    counts: Counter[tuple[str, str]] = Counter()
    for order_id, products in placed.items():
        if order_id not in cancelled:
            counts.update(order_pairs(products))
    return counts


async def test_a_product_keeps_its_top_20_partners_best_first(engine: AsyncEngine) -> None:
    """Of 25 partners bought 1 to 25 times with a product, the 20 most bought are kept in order."""
    builder = StreamBuilder(random.Random(1))
    for k in range(1, 26):
        for n in range(k):
            place(builder, f"o-{k}-{n}", ["hub", f"p-{k:02d}"])
    await project(engine, builder)
    rows = await recommended(engine)
    assert rows["hub"] == ([f"p-{k:02d}" for k in range(25, 5, -1)], list(range(25, 5, -1)))
    assert rows["p-03"] == (["hub"], [3])
    assert len(rows) == 26


async def test_ties_are_broken_by_id_in_code_point_order(engine: AsyncEngine) -> None:
    """Partners bought equally often are ranked by id, byte order whatever the collation."""
    builder = StreamBuilder(random.Random(2))
    place(builder, "o-1", ["hub", "b", "a", "B", "A9", "A10"])
    place(builder, "o-2", ["hub", "b"])
    await project(engine, builder)
    rows = await recommended(engine)
    assert rows["hub"] == (["b", "A10", "A9", "B", "a"], [2, 1, 1, 1, 1])
    assert rows["a"] == (["A10", "A9", "B", "b", "hub"], [1, 1, 1, 1, 1])


async def test_cancellations_take_pairs_back_and_empty_rows_go(engine: AsyncEngine) -> None:
    """Cancelling orders lowers counts, drops zero pairs and a product's emptied row, with tags."""
    builder = StreamBuilder(random.Random(3))
    place(builder, "o-1", ["a", "b", "c"])
    place(builder, "o-2", ["a", "b"])
    first = await project(engine, builder)
    cancel(builder, "o-2")
    second = await project(engine, builder)
    after_one = await tables(engine)
    cancel(builder, "o-1")
    third = await project(engine, builder)
    assert first == {"recommendations:a", "recommendations:b", "recommendations:c"}
    assert second == set()  # counts fell, but no list changed
    assert after_one["copurchases"] == [
        ("a", "b", 1),
        ("a", "c", 1),
        ("b", "a", 1),
        ("b", "c", 1),
        ("c", "a", 1),
        ("c", "b", 1),
    ]
    assert after_one["recommendations"] == [
        ("a", ["b", "c"], [1, 1]),
        ("b", ["a", "c"], [1, 1]),
        ("c", ["a", "b"], [1, 1]),
    ]
    assert third == {"recommendations:a", "recommendations:b", "recommendations:c"}
    assert await tables(engine) == {
        "copurchases": [],
        "recommendations": [],
        "recommendation_orders": [("o-1", ["a", "b", "c"], True), ("o-2", ["a", "b"], True)],
    }


async def test_a_cancel_before_its_place_counts_nothing(engine: AsyncEngine) -> None:
    """An OrderCancelled in an earlier batch than its OrderPlaced leaves no pairs at all."""
    builder = StreamBuilder(random.Random(4))
    cancel(builder, "o-1")
    first = await project(engine, builder)
    place(builder, "o-1", ["a", "b"])
    second = await project(engine, builder)
    assert (first, second) == (set(), set())
    assert await tables(engine) == {
        "copurchases": [],
        "recommendations": [],
        "recommendation_orders": [("o-1", ["a", "b"], True)],
    }


async def test_applying_the_same_events_again_changes_nothing(engine: AsyncEngine) -> None:
    """A replayed batch (or an order placed again under another event id) counts once."""
    builder = random_orders(5)
    place(builder, "o-0", ["p-0", "p-1", "p-2"])
    await append_raw(engine, builder.events)
    projection = RecommendationsProjection()
    async with engine.begin() as conn:
        events = await read_events(conn, after=0, upto=10_000, limit=10_000)
        await projection.apply(conn, events)
    once = await tables(engine)
    async with engine.begin() as conn:
        tags = await projection.apply(conn, events)
    assert tags == set()
    assert await tables(engine) == once


async def test_live_batches_and_a_rebuild_agree_with_a_recount(engine: AsyncEngine) -> None:
    """One event per batch live, a rebuild, and a from-scratch recount give the same tables."""
    builder = random_orders(6)
    events = list(builder.events)
    await project(engine, builder, batch_size=1)
    live = await tables(engine)
    report = await rebuild(engine, RecommendationsProjection())
    counts = recount(events)
    products = sorted({pair[0] for pair in counts})
    partners = {p: {o: n for (q, o), n in counts.items() if q == p and n} for p in products}
    expected = []
    for product in products:
        ranked = rank(product, partners[product])
        if ranked:
            expected.append((product, ranked, [partners[product][o] for o in ranked]))
    assert report.events == len(events)
    assert await tables(engine) == live
    assert live["copurchases"] == sorted((p, o, n) for (p, o), n in counts.items() if n)
    assert live["recommendations"] == expected


async def apply_counted(engine: AsyncEngine, builder: StreamBuilder) -> int:
    """Append the builder's events as one batch and apply it; the statements `apply` ran."""
    appended = await append_raw(engine, builder.events)
    builder.events.clear()
    async with engine.begin() as conn:
        events = await read_events(
            conn, after=min(appended.positions) - 1, upto=appended.head, limit=10_000
        )
        with count_statements() as stats:
            await RecommendationsProjection().apply(conn, events)
    return stats.statements


async def test_work_per_batch_is_bounded(engine: AsyncEngine) -> None:
    """An order of 80 products counts its first 50 (2,450 pairs); a batch of 200 orders
    runs as many statements as a batch of one."""
    builder = StreamBuilder(random.Random(7))
    place(builder, "o-huge", [f"p-{i:02d}" for i in range(79, -1, -1)])
    one = await apply_counted(engine, builder)
    async with engine.connect() as conn:
        pairs = (await conn.execute(text("SELECT count(*) FROM copurchases"))).scalar_one()
        kept = (
            await conn.execute(text("SELECT product_ids FROM recommendation_orders"))
        ).scalar_one()
    for i in range(200):
        place(builder, f"o-{i}", [f"q-{i % 7}", f"q-{i % 11}", f"q-{i % 13}"])
    many = await apply_counted(engine, builder)
    cancel(builder, "o-huge")
    cancelled = await apply_counted(engine, builder)
    assert pairs == 50 * 49
    assert kept == [f"p-{i:02d}" for i in range(50)]
    # Load orders, write orders, add pairs, rerank; a cancel also drops zero pairs.
    assert (one, many, cancelled) == (4, 4, 5)
