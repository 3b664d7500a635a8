"""The demo world generator: valid, complete, deterministic, and shaped like its scale."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

import pytest

from readmodels.demo import SCALES, generate_events
from readmodels.demo.seed import estimate_total
from readmodels.events import EVENT_TYPES, validate_events
from readmodels.events.conditions import MAX_DEPTH, MAX_LEAVES

NOW = datetime(2026, 11, 22, 6, 47, 13, tzinfo=UTC)
SMALL = SCALES["small"]
LEAF_KEYS = {"productIn", "categoryIn", "collectionIn", "tagIn", "segmentIn", "minQuantity",
             "minSubtotal"}  # fmt: skip


@dataclass(frozen=True)
class World:
    raw: list[dict[str, Any]]
    data: dict[str, list[dict[str, Any]]]  # payloads by event type, in log order

    def count(self, event_type: str) -> int:
        return len(self.data[event_type])


@pytest.fixture(scope="module")
def world() -> World:
    raw = list(generate_events(SMALL, seed=42, now=NOW))
    data: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in raw:
        data[event["type"]].append(event["data"])
    return World(raw, data)


def shape(condition: Any, depth: int = 1) -> tuple[int, int, set[str]]:
    """(depth, leaves, node keys) of a condition tree."""
    if not condition:
        return 0, 0, set()
    ((key, value),) = condition.items()
    if key in ("all", "any"):
        children = [shape(child, depth + 1) for child in value]
    elif key == "not":
        children = [shape(value, depth + 1)]
    else:
        return depth, 1, {key}
    deepest = max(child[0] for child in children)
    keys = {key}.union(*(child[2] for child in children))
    return deepest, sum(child[1] for child in children), keys


def test_every_event_validates(world: World) -> None:
    """Every generated event passes the same validation as ingest."""
    events, errors = validate_events(world.raw)
    assert errors == []
    assert len(events) == len(world.raw)


def test_every_event_type_appears(world: World) -> None:
    """The small world contains every event type of the registry."""
    assert set(world.data) == set(EVENT_TYPES)


def test_same_seed_and_now_give_the_same_events(world: World) -> None:
    """Generating again with the same seed and now yields identical events, ids included."""
    again = generate_events(SMALL, seed=42, now=NOW)
    assert list(islice(again, 2000)) == world.raw[:2000]
    assert sum(1 for _ in again) + 2000 == len(world.raw)


def test_another_seed_gives_other_events(world: World) -> None:
    """A different seed changes ids and content."""
    other = list(islice(generate_events(SMALL, seed=7, now=NOW), 2000))
    assert {e["id"] for e in other}.isdisjoint(e["id"] for e in world.raw[:2000])
    assert [e["data"] for e in other] != [e["data"] for e in world.raw[:2000]]


def test_counts_match_the_scale(world: World) -> None:
    """Entity counts land on (or near) the scale's targets."""
    assert world.count("StoreUpserted") == SMALL.stores
    assert world.count("CreatorUpserted") == SMALL.creators
    assert world.count("CategoryUpserted") == SMALL.categories
    roots = [d for d in world.data["CategoryUpserted"] if d["parentId"] is None]
    assert len(roots) == SMALL.category_roots
    assert all(10 <= len(d["productIds"]) <= 50 for d in world.data["CollectionUpserted"])
    assert 1_900 <= world.count("ProductUpserted") <= 2_100
    assert world.count("PriceSet") == world.count("ProductUpserted")
    assert world.count("CollectionUpserted") == SMALL.collections
    assert world.count("PromotionUpserted") == SMALL.promotions
    assert world.count("OrderPlaced") == SMALL.orders
    assert 0.02 <= world.count("OrderCancelled") / SMALL.orders <= 0.04
    assert world.count("PostPublished") == SMALL.posts
    assert 48_000 <= world.count("EngagementRecorded") <= SMALL.engagements
    assert world.count("StoreTrafficRecorded") == SMALL.stores * 90
    customers = {d["customerId"] for d in world.data["OrderPlaced"]}
    assert 1_800 <= len(customers) <= SMALL.customers


def test_estimate_is_close_to_the_real_count(world: World) -> None:
    """The progress-bar estimate is within 5% of the generated count."""
    assert abs(estimate_total(SMALL) - len(world.raw)) <= 0.05 * len(world.raw)


def test_slugs_and_handles_are_unique(world: World) -> None:
    """Slugs are unique within each entity kind, and creator handles are unique."""
    for event_type, field in [
        ("StoreUpserted", "slug"),
        ("CategoryUpserted", "slug"),
        ("ProductUpserted", "slug"),
        ("CollectionUpserted", "slug"),
        ("CreatorUpserted", "handle"),
    ]:
        values = [d[field] for d in world.data[event_type]]
        assert len(set(values)) == len(values), event_type


def test_time_never_goes_backwards_or_past_now(world: World) -> None:
    """occurredAt never decreases along the stream and never passes now."""
    stamps = [e["occurredAt"] for e in world.raw]
    assert stamps == sorted(stamps)
    assert datetime.fromisoformat(stamps[-1]) <= NOW


def test_orders_reference_their_own_stores_products(world: World) -> None:
    """Each order's lines are existing, undeleted products of its store; total = sum of lines."""
    store_of = {d["productId"]: d["storeId"] for d in world.data["ProductUpserted"]}
    currency = {d["storeId"]: d["currencyCode"] for d in world.data["StoreUpserted"]}
    deleted = {d["productId"] for d in world.data["ProductDeleted"]}
    for order in world.data["OrderPlaced"]:
        assert 1 <= len(order["lines"]) <= 4
        products = [line["productId"] for line in order["lines"]]
        assert len(set(products)) == len(products)
        assert all(store_of[p] == order["storeId"] and p not in deleted for p in products)
        assert order["currencyCode"] == currency[order["storeId"]]
        total = sum(Decimal(line["unitPrice"]) * line["quantity"] for line in order["lines"])
        assert Decimal(order["total"]) == total


def test_order_prices_are_the_base_prices(world: World) -> None:
    """Order lines carry the product's base price, and every product is counted once."""
    base = {d["productId"]: d["basePrice"] for d in world.data["PriceSet"]}
    assert all(
        line["unitPrice"] == base[line["productId"]]
        for order in world.data["OrderPlaced"]
        for line in order["lines"]
    )
    counted = Counter(d["productId"] for d in world.data["InventoryCounted"])
    assert set(counted) == set(base)
    levels = [d["onHand"] for d in world.data["InventoryCounted"]]
    assert levels.count(0) > 10
    assert sum(1 for level in levels if 0 < level <= 5) > 10


def test_promotion_conditions_cover_the_language_within_limits(world: World) -> None:
    """Conditions use every leaf and combinator, and stay within depth 6 and 256 leaves."""
    seen: set[str] = set()
    deepest = widest = 0
    for promotion in world.data["PromotionUpserted"]:
        depth, leaves, keys = shape(promotion["condition"])
        assert depth <= MAX_DEPTH
        assert leaves <= MAX_LEAVES
        deepest, widest = max(deepest, depth), max(widest, leaves)
        seen |= keys
    assert seen == LEAF_KEYS | {"all", "any", "not"}
    assert (deepest, widest) == (MAX_DEPTH, MAX_LEAVES)
    kinds = Counter(p["kind"] for p in world.data["PromotionUpserted"])
    assert set(kinds) == {"PERCENT_OFF", "AMOUNT_OFF", "BUY_X_GET_Y"}


def test_promotion_windows_surround_now(world: World) -> None:
    """Some promotions run now, some ended, some end within 48 hours, some start later."""

    def at(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    windows = [(at(p["startsAt"]), at(p["endsAt"])) for p in world.data["PromotionUpserted"]]
    assert any(end is not None and end < NOW for _, end in windows)
    assert any(start is not None and start > NOW for start, _ in windows)
    assert any(end is not None and NOW < end <= NOW + timedelta(hours=48) for _, end in windows)
    assert any((s is None or s <= NOW) and (e is None or e > NOW) for s, e in windows)


def test_audience_has_a_viral_creator_and_a_power_user(world: World) -> None:
    """cr-1 has exactly viral_followers followers and u-1 follows power_user_follows creators."""
    follows = {(d["userId"], d["creatorId"]) for d in world.data["Followed"]}
    assert len(follows) == world.count("Followed")
    assert sum(1 for _, creator in follows if creator == "cr-1") == SMALL.viral_followers
    assert sum(1 for user, _ in follows if user == "u-1") == SMALL.power_user_follows
    assert all((d["userId"], d["creatorId"]) in follows for d in world.data["Unfollowed"])


def test_engagement_fills_the_trending_windows(world: World) -> None:
    """Most engagement is in the last week, some in the last hour, mostly on cr-1's posts."""
    times = [
        datetime.fromisoformat(e["occurredAt"])
        for e in world.raw
        if e["type"] == "EngagementRecorded"
    ]
    assert sum(t > NOW - timedelta(days=7) for t in times) > 0.8 * len(times)
    assert sum(t > NOW - timedelta(hours=1) for t in times) > 50
    author = {d["postId"]: d["creatorId"] for d in world.data["PostPublished"]}
    by_creator = Counter(author[d["postId"]] for d in world.data["EngagementRecorded"])
    assert by_creator.most_common(1)[0][0] == "cr-1"
    assert {d["kind"] for d in world.data["EngagementRecorded"]} == {"LIKE", "SHARE", "REMIX"}


def test_insight_stories_are_in_the_data(world: World) -> None:
    """s-2's revenue drops and s-3's spikes week over week; s-4's bestseller ends at 5 units."""
    weeks: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for order in world.data["OrderPlaced"]:
        age = NOW - datetime.fromisoformat(order["placedAt"])
        if age < timedelta(days=14):
            weeks[order["storeId"]][age < timedelta(days=7)] += Decimal(order["total"])
    assert weeks["s-2"][1] < weeks["s-2"][0] / 2
    assert weeks["s-3"][1] > weeks["s-3"][0] * 2
    recount = world.data["InventoryCounted"][-1]  # the only count after the catalog phase
    sales = [
        d["delta"]
        for d in world.data["InventoryAdjusted"]
        if d["productId"] == recount["productId"] and d["reason"] == "sale"
    ]
    assert recount["onHand"] + sum(sales) == 5
    reasons = {d["reason"] for d in world.data["InventoryAdjusted"]}
    assert reasons == {"restock", "sale", "return", "correction"}


def test_customers_return_review_twice_and_change_segments(world: World) -> None:
    """Customers order repeatedly, rate mostly high, sometimes twice, and change segments."""
    orders = Counter(d["customerId"] for d in world.data["OrderPlaced"])
    assert sum(1 for n in orders.values() if n > 1) > 0.5 * len(orders)
    ratings = Counter(d["rating"] for d in world.data["ReviewSubmitted"])
    assert set(ratings) == {1, 2, 3, 4, 5}
    assert ratings[5] > ratings[4] > ratings[3] > ratings[1]
    reviews = Counter((d["customerId"], d["productId"]) for d in world.data["ReviewSubmitted"])
    assert any(n > 1 for n in reviews.values())
    changes = Counter(d["customerId"] for d in world.data["CustomerSegmentsChanged"])
    assert any(n > 2 for n in changes.values())
    segments = {s for d in world.data["CustomerSegmentsChanged"] for s in d["segments"]}
    assert {"vip", "wholesale", "students"} <= segments


def test_naive_now_is_rejected() -> None:
    """A now without a time zone is refused up front, not on the first event."""
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_events(SMALL, now=datetime(2026, 11, 22, 6, 47))
