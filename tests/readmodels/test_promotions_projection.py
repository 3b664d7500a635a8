"""The promotions projection and its queries, against a real PostgreSQL.

Rows and index entries after upserts and deactivations, replay and rebuild
equality, candidates found through the index (and nothing else), and the
"newest first" listing with its filters and totals.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn, count_statements
from infra.readpool import ReadPool
from readmodels.catalog.projection import CatalogProjection
from readmodels.eventlog.store import read_events, read_head
from readmodels.pricing.projection import PromotionsProjection
from readmodels.pricing.queries import (
    PromotionQuery,
    offers_by_products,
    promotion_page,
    promotion_totals,
    promotions_by_ids,
)
from readmodels.pricing.rows import ProductFacts, PromotionKind, PromotionRow
from readmodels.pricing.tables import PRICING_TABLES
from readmodels.projections import projection_named
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from tests.readmodels.streams import Raw, StreamBuilder, append_raw

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PAST = "2026-05-01T00:00:00Z"
FUTURE = "2026-07-01T00:00:00Z"

Snapshot = dict[str, list[tuple[Any, ...]]]


def promotion(
    builder: StreamBuilder, promotion_id: str, store_id: str = "s-1", **changes: Any
) -> Raw:
    """Append a PromotionUpserted: store-wide, active, open-ended, priority 0, unless changed."""
    data: dict[str, Any] = {
        "promotionId": promotion_id,
        "storeId": store_id,
        "name": f"Promotion {promotion_id}",
        "description": None,
        "kind": "PERCENT_OFF",
        "value": "10.00",
        "buyQuantity": None,
        "getQuantity": None,
        "startsAt": None,
        "endsAt": None,
        "priority": 0,
        "stackable": True,
        "active": True,
        "condition": None,
    }
    data.update(changes)
    return builder.add("PromotionUpserted", **data)


def product(
    builder: StreamBuilder, product_id: str, store_id: str, category_id: str | None, tags: list[str]
) -> None:
    builder.add(
        "ProductUpserted",
        productId=product_id,
        storeId=store_id,
        sku=f"SKU-{product_id}",
        slug=product_id,
        title=f"Product {product_id}",
        description=None,
        categoryId=category_id,
        tags=tags,
        images=[],
        featured=False,
        listed=True,
        createdAt="2026-01-01T00:00:00Z",
    )


def small_world(builder: StreamBuilder) -> None:
    """Categories c-root > c-kid and c-other; p-1 (s-1, c-kid, eco, in k-1), p-2 (s-1, c-other),
    p-3 (s-2, c-kid, eco), p-gone (s-1, deleted)."""
    for category_id, parent_id in (("c-root", None), ("c-kid", "c-root"), ("c-other", None)):
        builder.add(
            "CategoryUpserted",
            categoryId=category_id,
            slug=category_id,
            name=category_id,
            parentId=parent_id,
            position=0,
        )
    product(builder, "p-1", "s-1", "c-kid", ["eco"])
    product(builder, "p-2", "s-1", "c-other", [])
    product(builder, "p-3", "s-2", "c-kid", ["eco"])
    product(builder, "p-gone", "s-1", None, [])
    builder.add("ProductDeleted", productId="p-gone")
    builder.add(
        "CollectionUpserted", collectionId="k-1", slug="k-1", title="K 1", productIds=["p-1"]
    )


async def project(
    engine: AsyncEngine, builder: StreamBuilder, *, batch_size: int = 100
) -> set[str]:
    """Append the builder's events (then forget them) and catch up; the tags the batches touched."""
    await append_raw(engine, builder.events)
    builder.events.clear()
    outcomes: list[BatchOutcome] = []
    await catch_up(
        engine,
        [CatalogProjection(), PromotionsProjection()],
        batch_size=batch_size,
        on_batch=outcomes.append,
    )
    return {tag for o in outcomes if o.projection == "promotions" for tag in o.tags}


async def pricing_snapshot(engine: AsyncEngine) -> Snapshot:
    result: Snapshot = {}
    async with engine.connect() as conn:
        for table in PRICING_TABLES:
            rows = await conn.execute(select(table).order_by(*table.c))
            result[table.name] = [tuple(row) for row in rows]
    return result


async def promotion_columns(engine: AsyncEngine, promotion_id: str) -> tuple[Any, ...]:
    """(store_id, active, condition IS NULL, priority, first_position, version) of a promotion."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT store_id, active, condition IS NULL, priority, first_position, version "
                "FROM promotions WHERE id = :id"
            ),
            {"id": promotion_id},
        )
        return tuple(rows.one())


async def targets(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT store_id, target, promotion_id FROM promotion_targets "
                "ORDER BY store_id, target, promotion_id"
            )
        )
        return [tuple(row) for row in rows]


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[ReadPool]:
    pool = ReadPool(database_url, max_size=2)
    yield pool
    await pool.close()


# --- Projection -----------------------------------------------------------------------


async def test_upsert_stores_the_row_and_files_its_targets(engine: AsyncEngine) -> None:
    """A first upsert stores the promotion at its position and files it under its condition's keys."""
    builder = StreamBuilder(random.Random(1))
    promotion(builder, "pr-1", condition={"any": [{"productIn": ["p-1"]}, {"tagIn": ["eco"]}]})
    tags = await project(engine, builder)
    assert tags == {"promotion:pr-1", "store-promotions:s-1", "promotions"}
    assert await promotion_columns(engine, "pr-1") == ("s-1", True, False, 0, 1, 1)
    assert await targets(engine) == [("s-1", "p:p-1", "pr-1"), ("s-1", "t:eco", "pr-1")]


async def test_reupsert_replaces_row_and_targets_and_keeps_first_position(
    engine: AsyncEngine,
) -> None:
    """A later upsert moving the promotion to another store replaces its row and every index entry."""
    builder = StreamBuilder(random.Random(2))
    promotion(builder, "pr-1", condition={"categoryIn": ["c-1", "c-2"]})
    promotion(builder, "pr-2", condition={"tagIn": ["eco"]})
    await project(engine, builder)
    promotion(builder, "pr-1", "s-2", priority=3, condition={})
    tags = await project(engine, builder)
    assert tags == {
        "promotion:pr-1",
        "store-promotions:s-1",
        "store-promotions:s-2",
        "promotions",
    }
    assert await promotion_columns(engine, "pr-1") == ("s-2", True, True, 3, 1, 3)
    assert await targets(engine) == [("s-1", "t:eco", "pr-2"), ("s-2", "*", "pr-1")]


async def test_deactivation_unfiles_and_a_later_upsert_reactivates(engine: AsyncEngine) -> None:
    """A deactivation clears active and the index entries; a later active upsert files it again."""
    builder = StreamBuilder(random.Random(3))
    promotion(builder, "pr-1", condition={"productIn": ["p-1"]})
    await project(engine, builder)
    builder.add("PromotionDeactivated", promotionId="pr-1")
    tags = await project(engine, builder)
    assert tags == {"promotion:pr-1", "store-promotions:s-1", "promotions"}
    assert await promotion_columns(engine, "pr-1") == ("s-1", False, False, 0, 1, 2)
    assert await targets(engine) == []
    promotion(builder, "pr-1", condition={"productIn": ["p-1"]})
    await project(engine, builder)
    assert await promotion_columns(engine, "pr-1") == ("s-1", True, False, 0, 1, 3)
    assert await targets(engine) == [("s-1", "p:p-1", "pr-1")]


async def test_deactivating_an_unknown_promotion_is_a_no_op(engine: AsyncEngine) -> None:
    """A deactivation before any upsert writes nothing and touches no tag; the later upsert wins."""
    builder = StreamBuilder(random.Random(4))
    builder.add("PromotionDeactivated", promotionId="pr-1")
    assert await project(engine, builder) == set()
    assert await pricing_snapshot(engine) == {"promotions": [], "promotion_targets": []}
    promotion(builder, "pr-1")
    await project(engine, builder)
    assert await promotion_columns(engine, "pr-1") == ("s-1", True, True, 0, 2, 2)


async def test_upsert_and_deactivation_in_one_batch_equal_one_event_per_batch(
    engine: AsyncEngine,
) -> None:
    """Folding an upsert and its deactivation in one batch leaves what one event per batch leaves."""
    builder = StreamBuilder(random.Random(5))
    promotion(builder, "pr-1", condition={"tagIn": ["eco"]})
    builder.add("PromotionDeactivated", promotionId="pr-1")
    promotion(builder, "pr-2", condition={"tagIn": ["eco"]})
    await project(engine, builder, batch_size=100)
    together = await pricing_snapshot(engine)
    await rebuild(engine, PromotionsProjection(), batch_size=1)
    assert await pricing_snapshot(engine) == together
    assert together["promotion_targets"] == [("s-1", "t:eco", "pr-2")]
    assert await promotion_columns(engine, "pr-1") == ("s-1", False, False, 0, 1, 2)


def history(builder: StreamBuilder) -> None:
    """Upserts, re-upserts across stores, deactivations (one of an unknown id) and reactivations."""
    rng = builder.rng
    conditions: list[dict[str, Any] | None] = [
        None,
        {},
        {"productIn": ["p-1", "p-2"]},
        {"all": [{"categoryIn": ["c-root"]}, {"tagIn": ["eco"]}]},
        {"any": [{"collectionIn": ["k-1"]}, {"segmentIn": ["vip"]}]},
        {"not": {"tagIn": ["sale"]}},
    ]
    builder.add("PromotionDeactivated", promotionId="pr-ghost")
    for step in range(60):
        promotion_id = f"pr-{rng.randrange(12)}"
        if rng.random() < 0.25:
            builder.add("PromotionDeactivated", promotionId=promotion_id)
        else:
            promotion(
                builder,
                promotion_id,
                rng.choice(["s-1", "s-2"]),
                priority=rng.randint(-2, 2),
                active=rng.random() < 0.9,
                condition=rng.choice(conditions),
                endsAt=FUTURE if step % 3 else None,
            )


async def test_applying_the_same_events_twice_changes_nothing(engine: AsyncEngine) -> None:
    """Re-applying every event to an up-to-date read model leaves it exactly as it was."""
    builder = StreamBuilder(random.Random(6))
    history(builder)
    await project(engine, builder)
    once = await pricing_snapshot(engine)
    async with engine.begin() as conn:
        events = await read_events(
            conn,
            after=0,
            upto=await read_head(conn),
            limit=1000,
            types=["PromotionUpserted", "PromotionDeactivated"],
        )
        assert await PromotionsProjection().apply(conn, events) == set()
    assert len(once["promotions"]) == 12
    assert await pricing_snapshot(engine) == once


async def test_rebuild_equals_live_projection(engine: AsyncEngine) -> None:
    """A rebuild through the registered projection yields exactly what batches of one event built."""
    builder = StreamBuilder(random.Random(7))
    history(builder)
    await project(engine, builder, batch_size=1)
    live = await pricing_snapshot(engine)
    report = await rebuild(engine, projection_named("promotions"))
    assert (report.projection, report.events) == ("promotions", 61)
    assert await pricing_snapshot(engine) == live


# --- Candidates ---------------------------------------------------------------------


def offers_world(builder: StreamBuilder) -> None:
    """small_world plus promotions of s-1 reaching p-1 in every way, and some that must not."""
    small_world(builder)
    promotion(builder, "pr-wide", priority=1)
    promotion(builder, "pr-prod", priority=5, condition={"productIn": ["p-1"]})
    promotion(builder, "pr-anc", priority=2, condition={"categoryIn": ["c-root"]})
    promotion(builder, "pr-coll", priority=2, condition={"collectionIn": ["k-1"]})
    promotion(builder, "pr-tag", priority=0, condition={"tagIn": ["eco"]})
    promotion(builder, "pr-seg", priority=-1, condition={"segmentIn": ["vip"]})
    promotion(builder, "pr-future", priority=9, startsAt=FUTURE, condition={"productIn": ["p-1"]})
    promotion(builder, "pr-other", priority=5, condition={"productIn": ["p-2"]})
    promotion(builder, "pr-ended", priority=5, endsAt=PAST)
    promotion(builder, "pr-ends-now", priority=5, endsAt="2026-06-01T12:00:00Z")
    promotion(builder, "pr-off", priority=5)
    builder.add("PromotionDeactivated", promotionId="pr-off")
    promotion(builder, "pr-s2", "s-2", priority=0)


async def test_offers_find_candidates_through_every_kind_of_key(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """A product's candidates: store-wide, by id, ancestor category, collection and tag, ordered."""
    builder = StreamBuilder(random.Random(8))
    offers_world(builder)
    await project(engine, builder)
    p1, p2, p3, gone, missing = await offers_by_products(
        reader, ["p-1", "p-2", "p-3", "p-gone", "p-missing"], NOW
    )
    assert p1 is not None
    assert p2 is not None
    assert p3 is not None
    assert p1.facts == ProductFacts(
        "p-1", "s-1", frozenset({"c-kid", "c-root"}), frozenset({"k-1"}), frozenset({"eco"})
    )
    assert [p.id for p in p1.promotions] == [
        "pr-future",
        "pr-prod",
        "pr-anc",
        "pr-coll",
        "pr-wide",
        "pr-tag",
        "pr-seg",
    ]
    assert p2.facts == ProductFacts("p-2", "s-1", frozenset({"c-other"}), frozenset(), frozenset())
    assert [p.id for p in p2.promotions] == ["pr-other", "pr-wide", "pr-seg"]
    assert [p.id for p in p3.promotions] == ["pr-s2"]
    assert (gone, missing) == (None, None)


async def test_offers_rows_carry_the_whole_promotion(engine: AsyncEngine, reader: ReadPool) -> None:
    """A candidate comes back as a full PromotionRow: typed kind, Decimal value, parsed condition."""
    builder = StreamBuilder(random.Random(9))
    small_world(builder)
    promotion(
        builder,
        "pr-bxgy",
        name="Two for one",
        description="Buy 2 get 1",
        kind="BUY_X_GET_Y",
        value="0",
        buyQuantity=2,
        getQuantity=1,
        startsAt=PAST,
        endsAt=FUTURE,
        priority=4,
        stackable=False,
        condition={"all": [{"tagIn": ["eco"]}, {"minQuantity": 3}]},
    )
    await project(engine, builder)
    (offers,) = await offers_by_products(reader, ["p-1"], NOW)
    assert offers is not None
    assert offers.promotions == (
        PromotionRow(
            "pr-bxgy",
            "s-1",
            "Two for one",
            "Buy 2 get 1",
            PromotionKind.BUY_X_GET_Y,
            Decimal("0"),
            2,
            1,
            datetime(2026, 5, 1, tzinfo=UTC),
            datetime(2026, 7, 1, tzinfo=UTC),
            4,
            False,
            True,
            {"all": [{"tagIn": ["eco"]}, {"minQuantity": 3}]},
            10,
            10,
        ),
    )
    assert await promotions_by_ids(reader, ["pr-missing", "pr-bxgy"]) == [
        None,
        offers.promotions[0],
    ]


async def test_offers_is_one_statement_for_any_number_of_products(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Facts and candidates of 1, 4 or 40 products (found or not) come from one statement."""
    builder = StreamBuilder(random.Random(10))
    offers_world(builder)
    await project(engine, builder)
    counts = []
    for ids in (["p-1"], ["p-1", "p-2", "p-3", "p-gone"], [f"p-{i}" for i in range(40)]):
        with count_statements() as stats:
            found = await offers_by_products(reader, ids, NOW)
        counts.append((stats.statements, len(found)))
    assert counts == [(1, 1), (1, 4), (1, 40)]


def crowded_store(builder: StreamBuilder) -> None:
    """Store s-1 with 1,000 promotions: 990 aimed at other products, categories or tags."""
    small_world(builder)
    for i in range(330):
        promotion(builder, f"pr-p{i:03}", condition={"productIn": [f"p-x{i}", f"p-y{i}"]})
        promotion(builder, f"pr-c{i:03}", condition={"categoryIn": [f"c-x{i}"]})
        promotion(builder, f"pr-t{i:03}", condition={"tagIn": [f"tag-{i}"]})
    for i in range(4):
        promotion(
            builder, f"pr-mine-{i}", condition={"all": [{"productIn": ["p-1"]}, {"minQuantity": 2}]}
        )
    for i in range(3):
        promotion(builder, f"pr-kid-{i}", condition={"categoryIn": ["c-kid"]})
    for i in range(3):
        promotion(builder, f"pr-all-{i}", condition={"minSubtotal": "20.00"})


async def test_a_crowded_store_yields_only_a_products_own_candidates(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Among 1,000 promotions of its store, a product gets only those filed under its own keys."""
    builder = StreamBuilder(random.Random(11))
    crowded_store(builder)
    await project(engine, builder, batch_size=5000)
    p1, p2 = await offers_by_products(reader, ["p-1", "p-2"], NOW)
    assert p1 is not None
    assert p2 is not None
    assert [p.id for p in p1.promotions] == [
        *(f"pr-all-{i}" for i in range(3)),
        *(f"pr-kid-{i}" for i in range(3)),
        *(f"pr-mine-{i}" for i in range(4)),
    ]
    assert [p.id for p in p2.promotions] == [f"pr-all-{i}" for i in range(3)]


async def test_candidates_are_looked_up_through_the_targets_primary_key(
    engine: AsyncEngine, reader: ReadPool, database_url: str
) -> None:
    """On a crowded, analyzed store the generic plan of the offers statement probes the index."""
    builder = StreamBuilder(random.Random(12))
    crowded_store(builder)
    await project(engine, builder, batch_size=5000)
    with count_statements(keep_text=True) as stats:
        await offers_by_products(reader, ["p-1"], NOW)
    assert stats.texts is not None
    (sql,) = stats.texts
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("ANALYZE")
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE offers(text[], timestamptz) AS {sql}")
        rows = await conn.fetch("EXPLAIN EXECUTE offers(ARRAY['p-1', 'p-2'], now())")
    finally:
        await conn.close()
    plan = "\n".join(row[0] for row in rows)
    assert re.search(r"Index (Only )?Scan using pk_promotion_targets|on pk_promotion_targets", plan)
    assert re.search(r"Index Scan using pk_promotions on promotions o\b", plan), plan
    assert "Seq Scan on promotion" not in plan, plan


# --- Listing --------------------------------------------------------------------------


def listing_world(builder: StreamBuilder) -> None:
    """Seven promotions, newest last: in effect, ended, future, deactivated, in two stores."""
    promotion(builder, "pr-a")  # position 1: in effect
    promotion(builder, "pr-b", endsAt=PAST)  # 2: ended
    promotion(builder, "pr-c", "s-2")  # 3: in effect, other store
    promotion(builder, "pr-d", startsAt=FUTURE)  # 4: not started
    promotion(builder, "pr-e")  # 5: deactivated below
    promotion(builder, "pr-f", startsAt=PAST, endsAt=FUTURE)  # 6: in effect
    promotion(builder, "pr-g", "s-2", endsAt=PAST)  # 7: ended, other store
    builder.add("PromotionDeactivated", promotionId="pr-e")
    promotion(builder, "pr-a", priority=4)  # re-upserted: still newest-first at position 1
    for store in ("s-1", "s-2"):  # a promotion is listed once its store is known
        builder.add(
            "StoreUpserted",
            storeId=store,
            slug=store,
            name=store,
            currencyCode="EUR",
            ownerCreatorId=f"cr-{store}",
        )


async def test_a_promotion_whose_store_is_unknown_is_not_listed(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Until its StoreUpserted arrives a promotion is neither listed nor counted."""
    builder = StreamBuilder(random.Random(17))
    promotion(builder, "pr-a")
    promotion(builder, "pr-z", "s-9")
    builder.add(
        "StoreUpserted", storeId="s-1", slug="s-1", name="s-1", currencyCode="EUR",
        ownerCreatorId="cr-1",
    )  # fmt: skip
    await project(engine, builder)
    assert await page_ids(reader) == (["pr-a"], False)
    assert await promotion_totals(reader, [(None, None, NOW), (None, "s-9", NOW)]) == [1, 0]


async def test_a_listing_filtered_by_effect_knows_its_next_window(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """The page carries the first start or end after now in its scope; unfiltered, none."""
    builder = StreamBuilder(random.Random(19))
    listing_world(builder)
    await project(engine, builder)
    active = await promotion_page(reader, PromotionQuery(True, None, 20, None, NOW))
    assert active.next_change == datetime.fromisoformat(FUTURE)  # pr-d starts, pr-f ends
    every = await promotion_page(reader, PromotionQuery(None, None, 20, None, NOW))
    assert every.next_change is None
    empty = await promotion_page(reader, PromotionQuery(True, "s-404", 20, None, NOW))
    assert (empty.items, empty.next_change) == ([], None)


async def page_ids(reader: ReadPool, **query: Any) -> tuple[list[str], bool]:
    arguments: dict[str, Any] = {
        "active": None,
        "store_id": None,
        "first": 20,
        "after": None,
        "now": NOW,
    }
    arguments.update(query)
    page = await promotion_page(reader, PromotionQuery(**arguments))
    return [row.id for row in page.items], page.has_next_page


async def test_listing_is_newest_first_in_keyset_pages(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Pages of three walk newest first by first upsert, each after the last one's position."""
    builder = StreamBuilder(random.Random(13))
    listing_world(builder)
    await project(engine, builder)
    first = await promotion_page(reader, PromotionQuery(None, None, 3, None, NOW))
    second = await page_ids(reader, first=3, after=first.items[-1].first_position)
    third = await page_ids(reader, first=3, after=5)
    last = await page_ids(reader, first=3, after=1)
    assert ([row.id for row in first.items], first.has_next_page) == (
        ["pr-g", "pr-f", "pr-e"],
        True,
    )
    assert second == (["pr-d", "pr-c", "pr-b"], True)
    assert third == (["pr-d", "pr-c", "pr-b"], True)
    assert await page_ids(reader, first=3, after=2) == (["pr-a"], False)
    assert last == ([], False)


async def test_listing_filters_by_effect_now_and_by_store(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """active=True is in effect at `now`, False everything else, None all; storeId narrows each."""
    builder = StreamBuilder(random.Random(14))
    listing_world(builder)
    await project(engine, builder)
    assert await page_ids(reader, active=True) == (["pr-f", "pr-c", "pr-a"], False)
    assert await page_ids(reader, active=False) == (["pr-g", "pr-e", "pr-d", "pr-b"], False)
    assert await page_ids(reader, active=True, store_id="s-1") == (["pr-f", "pr-a"], False)
    assert await page_ids(reader, active=False, store_id="s-2") == (["pr-g"], False)
    assert await page_ids(reader, store_id="s-2") == (["pr-g", "pr-c"], False)
    assert await page_ids(reader, active=True, first=1, after=6) == (["pr-c"], True)
    later = datetime(2026, 8, 1, tzinfo=UTC)
    assert await page_ids(reader, active=True, now=later) == (["pr-d", "pr-c", "pr-a"], False)


async def test_listing_totals_for_many_keys_in_one_statement(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Totals of several (active, store, now) listings, repeats included, come from one statement."""
    builder = StreamBuilder(random.Random(15))
    listing_world(builder)
    await project(engine, builder)
    later = datetime(2026, 8, 1, tzinfo=UTC)
    keys: list[tuple[bool | None, str | None, datetime]] = [
        (True, None, NOW),
        (False, None, NOW),
        (None, None, NOW),
        (True, "s-1", NOW),
        (False, "s-2", NOW),
        (None, "s-3", NOW),
        (True, None, later),
        (True, None, NOW),
    ]
    with count_statements() as stats:
        totals = await promotion_totals(reader, keys)
    assert (totals, stats.statements) == ([3, 4, 7, 2, 1, 0, 3, 3], 1)
