"""Compiled plans against the reference executor on the contract operations.

Every persisted contract operation, with varied variables (including bad
ones), must answer byte for byte as graphql-core does, in no more SQL
statements. The catalog world gets promotions of every kind and a vip
customer first, so prices, applied promotions and carts differ by viewer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.viewer import Viewer
from tests.conftest import CONTRACT
from tests.resolvers.execution import reader_for, run
from tests.resolvers.world import (
    Spec,
    catalog_world,  # noqa: F401 - the `world` fixture
)

OPERATIONS = CONTRACT / "operations"
SEGMENT_SLUGS = {"product-1", "product-2", "product-3", "product-6", "product-12"}


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


def cases(specs: list[Spec]) -> list[tuple[str, dict[str, Any]]]:
    slugs = [s.slug for s in specs]
    listing: list[dict[str, Any]] = [
        {"slug": "home"},
        {"slug": "kitchen", "first": 3},
        {"slug": "mugs", "first": 2, "sort": "PRICE_ASC"},
        {"slug": "home", "sort": "NEWEST", "filter": {"inStock": True}},
        {"slug": "home", "sort": "PRICE_DESC", "filter": {"minPrice": "5", "maxPrice": "40"}},
        {"slug": "home", "filter": {"includeSubcategories": False}},
        {"slug": "home", "filter": {"tags": ["mug"], "search": "mug"}},
        {"slug": "home", "first": 1000},
        {"slug": "home", "first": -1},
        {"slug": "home", "after": "not-a-cursor"},
        {"slug": "nowhere"},
        {"slug": "home", "filter": {"categoryId": "bad id"}},
        {"slug": "home", "sort": "NOT_A_SORT"},
        {"slug": 12},
        {},
        {"slug": "home", "filter": {"minPrice": "NaN"}},
        {"slug": "home", "filter": {"unknownField": 1}},
    ]
    pages: list[tuple[str, dict[str, Any]]] = [("ProductPage", {"slug": slug}) for slug in slugs]
    return (
        pages
        + [("ProductPage", {"slug": "no-such-product"}), ("ProductPage", {"slug": None})]
        + [("CategoryListing", v) for v in listing]
        + [("SearchProducts", {"search": t}) for t in ("mug", "ga", "cup", "zzz", "x" * 300)]
        + [("SearchProducts", {"search": "mug", "first": 1, "after": None})]
        + [("CreatorProfile", {"handle": h}) for h in ("ana", "bo", "nobody")]
        + [("PriceCart", v) for v in carts()]
    )


def line(n: int, quantity: object) -> dict[str, object]:
    return {"productId": encode_id("Product", f"p{n}"), "quantity": quantity}


def carts() -> list[dict[str, Any]]:
    """Carts priced by every promotion kind and condition, then every kind of bad cart."""
    good: list[dict[str, Any]] = [
        {"lines": [line(1, 1)]},
        {"lines": [line(1, 3), line(3, 10), line(6, 3), line(12, 7)], "currencyCode": "EUR"},
        {"lines": [line(2, 2), line(4, 1)]},  # below store s2's minSubtotal
        {"lines": [line(2, 3), line(4, 2), line(8, 1)]},  # across it
        {"lines": [line(6, 9), line(6, 1)]},  # one product twice: buy 2 get 1 on one line
        {"lines": [line(n, n) for n in range(1, 61)]},
        {"lines": [], "currencyCode": "EUR"},
    ]
    bad: list[Any] = [
        {"lines": []},  # an empty cart without a currency
        {"lines": [line(1, 1)], "currencyCode": "eur"},
        {"lines": [line(1, 1)], "currencyCode": "USD"},
        {"lines": [line(1, 0), {"productId": "nope", "quantity": 1}, line(2, 10_001)]},
        {"lines": [line(999, 1), line(63, 1)]},  # unknown, unpriced
        {"lines": [line(62, 1), line(61, 2)]},  # deleted, unlisted
        {"lines": [line(1, 1)] * 101},
        {"lines": [{"productId": encode_id("Category", "c1"), "quantity": 1}]},
        {"lines": [line(1, "two")]},
        {"lines": None},
        {},
    ]
    return [{"input": cart} for cart in good + bad] + [{}]


def promotion(promotion_id: str, store: str, kind: str, value: str, **data: Any) -> dict[str, Any]:
    day, now = timedelta(days=1), datetime.now(UTC)
    fields = {
        "promotionId": promotion_id,
        "storeId": store,
        "name": f"Promotion {promotion_id}",
        "description": None,
        "kind": kind,
        "value": value,
        "buyQuantity": None,
        "getQuantity": None,
        "startsAt": (now - day).isoformat(),
        "endsAt": (now + 30 * day).isoformat(),
        "priority": 0,
        "stackable": True,
        "active": True,
        "condition": None,
        **data,
    }
    return {"type": "PromotionUpserted", "data": fields}


def pricing_events() -> list[dict[str, Any]]:
    """Promotions of each kind and condition, some out of effect, and a vip price for p1."""
    now, day = datetime.now(UTC), timedelta(days=1)
    events = [
        promotion("pr-1", "s1", "PERCENT_OFF", "10", priority=50, condition={"categoryIn": ["c2"]}),
        promotion(
            "pr-2",
            "s1",
            "AMOUNT_OFF",
            "0.50",
            priority=40,
            condition={"all": [{"collectionIn": ["k1"]}, {"minQuantity": 2}]},
        ),
        promotion(
            "pr-3",
            "s1",
            "AMOUNT_OFF",
            "1.00",
            priority=60,
            stackable=False,
            condition={"segmentIn": ["vip"]},
        ),
        promotion(
            "pr-4",
            "s2",
            "BUY_X_GET_Y",
            "0",
            buyQuantity=2,
            getQuantity=1,
            priority=30,
            stackable=False,
            condition={"tagIn": ["eco"]},
        ),
        promotion(
            "pr-5", "s2", "PERCENT_OFF", "15", priority=20, condition={"minSubtotal": "30.00"}
        ),
        promotion("pr-6", "s2", "PERCENT_OFF", "5", condition={"not": {"tagIn": ["gift"]}}),
        promotion(
            "pr-7",
            "s1",
            "PERCENT_OFF",
            "50",
            startsAt=(now - 9 * day).isoformat(),
            endsAt=(now - day).isoformat(),
            condition={},
        ),
        promotion("pr-8", "s2", "PERCENT_OFF", "50", startsAt=(now + day).isoformat()),
        promotion("pr-9", "s2", "AMOUNT_OFF", "2.00", priority=90),
        {"type": "PromotionDeactivated", "data": {"promotionId": "pr-9"}},
        {
            "type": "PriceSet",
            "data": {
                "productId": "p1",
                "currencyCode": "EUR",
                "basePrice": "5.50",
                "tiers": [{"minQuantity": 10, "unitPrice": "4.50"}],
                "segmentPrices": [{"segment": "vip", "unitPrice": "4.95"}],
            },
        },
    ]
    return [{"id": str(uuid.uuid4()), "occurredAt": now.isoformat(), **event} for event in events]


@pytest.fixture(scope="module")
async def priced_world(
    world: tuple[AsyncEngine, list[Spec]],
) -> tuple[AsyncEngine, list[Spec]]:
    """The catalog world with the promotions above projected."""
    engine, _ = world
    events, errors = validate_events(pricing_events())
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())
    return world


VIP = Viewer("cu-vip", frozenset({"CUSTOMER"}), frozenset({"vip"}), None)


async def compare(
    engine: AsyncEngine, query: str, variables: dict[str, Any], viewer: Viewer | None = None
) -> None:
    now = datetime.now(UTC)  # one clock for both: insights carry it as `generatedAt`

    def context() -> RequestContext:
        return RequestContext(db=reader_for(engine), now=now, viewer=viewer)

    reference, reference_count = await run(engine, query, variables, context=context())
    compiled, compiled_count = await run(engine, query, variables, compiled=True, context=context())
    assert orjson.dumps(compiled) == orjson.dumps(reference), (variables, compiled, reference)
    assert compiled_count <= reference_count, (variables, compiled_count, reference_count)


async def test_contract_operations_answer_as_the_reference_executor(
    priced_world: tuple[AsyncEngine, list[Spec]],
) -> None:
    """Every contract operation with varied and bad variables answers as graphql-core, anonymously."""
    engine, specs = priced_world
    checked = 0
    for name, variables in cases(specs):
        await compare(engine, operation(name), variables)
        checked += 1
    assert checked > 60


async def test_pricing_operations_answer_as_the_reference_executor_for_a_segment_member(
    priced_world: tuple[AsyncEngine, list[Spec]],
) -> None:
    """ProductPage, CategoryListing and PriceCart answer as graphql-core for a vip viewer."""
    engine, specs = priced_world
    pricing = [
        (name, variables)
        for name, variables in cases(specs)
        if name == "PriceCart" or (name == "ProductPage" and variables["slug"] in SEGMENT_SLUGS)
    ]
    pricing += [("CategoryListing", {"slug": "home", "sort": "PRICE_ASC", "first": 60})]
    for name, variables in pricing:
        await compare(engine, operation(name), variables, VIP)


async def test_pricing_is_exercised(priced_world: tuple[AsyncEngine, list[Spec]]) -> None:
    """The carts compared above reach the tier, the vip price, every kind and minSubtotal."""
    engine, _ = priced_world

    async def priced(cart: dict[str, Any], viewer: Viewer | None) -> dict[str, Any]:
        context = RequestContext(db=reader_for(engine), now=datetime.now(UTC), viewer=viewer)
        body, _ = await run(engine, operation("PriceCart"), cart, compiled=True, context=context)
        return body["data"]["priceCart"]  # type: ignore[no-any-return]

    def names(cart: dict[str, Any]) -> list[str]:
        return [
            a["promotion"]["name"].removeprefix("Promotion ") for a in cart["appliedPromotions"]
        ]

    mixed, below, across, twice = carts()[1:5]
    vip = await priced(mixed, VIP)
    assert [
        (line["unitPrice"]["list"]["amount"], line["unitPrice"]["tier"]) for line in vip["lines"]
    ] == [
        ("4.95", None),
        ("5.50", {"minQuantity": 10}),
        ("8.00", None),
        ("11.00", None),
    ]
    assert names(vip) == ["pr-3", "pr-4"]
    assert names(await priced(mixed, None)) == ["pr-1", "pr-2", "pr-4"]
    assert names(await priced(below, None)) == ["pr-6"]
    assert names(await priced(across, None)) == ["pr-5", "pr-6"]
    assert names(await priced(twice, None)) == ["pr-4", "pr-5", "pr-6"]


async def test_node_and_product_by_id(priced_world: tuple[AsyncEngine, list[Spec]]) -> None:
    """node and product by id, good and bad, answer as graphql-core."""
    engine, specs = priced_world
    product, category = encode_id("Product", specs[0].id), encode_id("Category", "c3")
    query = (
        "query Nodes {"
        ' a: node(id: "x") { id }'
        ' product(id: "Zm9v") { id }'
        f' n1: node(id: "{product}") {{ __typename id ... on Product {{ title store {{ name }} }} }}'
        f' n2: node(id: "{category}") {{ __typename ... on Category {{ name parent {{ name }} }} }}'
        " }"
    )
    await compare(engine, query, {})


CREATOR = Viewer("cu-ana", frozenset({"CUSTOMER", "CREATOR"}), frozenset(), "cr1")


async def test_creator_operations_answer_as_the_reference_executor(
    priced_world: tuple[AsyncEngine, list[Spec]],
) -> None:
    """CreatorDashboard and ExplainInsight, good and bad, answer as graphql-core for a creator,
    a customer and anonymously."""
    engine, _ = priced_world
    dashboard, explain = operation("CreatorDashboard"), operation("ExplainInsight")
    ranges: list[dict[str, Any]] = [
        {},
        {"range": {"from": "2026-10-01", "to": "2026-11-30"}},
        {"range": {"from": "2026-11-01", "to": "2026-11-01"}},
        {"range": {"from": "2026-11-30", "to": "2026-11-01"}},
        {"range": {"from": "2025-01-01", "to": "2026-11-30"}},
        {"range": {"from": "not-a-date", "to": "2026-11-30"}},
    ]
    for variables in ranges:
        await compare(engine, dashboard, variables, CREATOR)
    await compare(engine, dashboard, {}, VIP)
    await compare(engine, dashboard, {})
    ids = [
        "not-an-id",
        encode_id("Product", "p1"),
        encode_id("Insight", "REVENUE_DROP:cr1:2026-11-01:2026-11-30:s1"),
        encode_id("Insight", "REVENUE_DROP:cr2:2026-11-01:2026-11-30:s2"),
    ]
    for variables in ranges[1:3]:
        context = RequestContext(db=reader_for(engine), now=datetime.now(UTC), viewer=CREATOR)
        body, _ = await run(engine, dashboard, variables, context=context)
        ids += [i["id"] for i in body["data"]["creatorDashboard"]["insights"]]
    assert len(ids) > 4  # the creator's store has insights that fire
    for insight_id in ids:
        await compare(engine, explain, {"id": insight_id}, CREATOR)
    await compare(engine, explain, {"id": ids[2]}, VIP)
    await compare(engine, explain, {"id": ids[2]})


# Feeds: posts (one unpublished, some linking products), follows and engagement.

READER = Viewer("u-reader", frozenset({"CUSTOMER"}), frozenset(), None)
LONER = Viewer("u-loner", frozenset({"CUSTOMER"}), frozenset(), None)


def feed_events() -> list[dict[str, Any]]:
    """Twelve posts by ana and bo (two at one instant, one unpublished, some linking products,
    one an unknown product), u-reader following both, and engagement inside every window."""
    now = datetime.now(UTC)

    def at(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    events: list[dict[str, Any]] = []
    for n in range(12):
        events.append(
            {
                "type": "PostPublished",
                "data": {
                    "postId": f"po{n}",
                    "creatorId": "cr1" if n % 3 else "cr2",
                    "body": f"post {n}",
                    "productIds": [f"p{n + 1}", "p999"] if n % 4 == 0 else [],
                    "publishedAt": at(now - timedelta(hours=12 - min(n, 10))),
                },
            }
        )
    events.append({"type": "PostUnpublished", "data": {"postId": "po5"}})
    for creator in ("cr1", "cr2"):
        events.append({"type": "Followed", "data": {"userId": "u-reader", "creatorId": creator}})
    kinds = ["LIKE", "SHARE", "REMIX", "LIKE"]
    engagement = [
        (f"po{n}", f"u{k}", kinds[(n + k) % 4], now - timedelta(minutes=5 + 170 * n + k))
        for n in range(12)
        for k in range(n % 4 + 1)
    ]
    stamped = [
        {
            "type": "EngagementRecorded",
            "occurredAt": at(moment),
            "data": {"postId": post, "userId": user, "kind": kind},
        }
        for post, user, kind, moment in sorted(engagement, key=lambda e: e[3])
    ]
    return [{"id": str(uuid.uuid4()), "occurredAt": at(now), **event} for event in events + stamped]


@pytest.fixture(scope="module")
async def feeds_world(
    priced_world: tuple[AsyncEngine, list[Spec]],
) -> tuple[AsyncEngine, list[Spec]]:
    """The priced world with the posts, follows and engagement above projected."""
    engine, _ = priced_world
    events, errors = validate_events(feed_events())
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())
    return priced_world


async def test_feed_operations_answer_as_the_reference_executor(
    feeds_world: tuple[AsyncEngine, list[Spec]],
) -> None:
    """Feed, Trending, CreatorProfile and the three mutations (refused before any write),
    good and bad, answer as graphql-core for a follower, a user following no one and
    anonymously."""
    engine, _ = feeds_world
    feed, trending = operation("Feed"), operation("Trending")
    context = RequestContext(db=reader_for(engine), now=datetime.now(UTC), viewer=READER)
    body, _ = await run(engine, feed, {"first": 4}, compiled=True, context=context)
    cursor = body["data"]["feed"]["pageInfo"]["endCursor"]
    assert len(body["data"]["feed"]["edges"]) == 4
    pages: list[dict[str, Any]] = [
        {},
        {"first": 4},
        {"first": 4, "after": cursor},
        {"first": 1000},
        {"first": 0},
        {"first": -1},
        {"after": "not-a-cursor"},
        {"after": 12},
    ]
    for variables in pages:
        for viewer in (READER, LONER, None):
            await compare(engine, feed, variables, viewer)
    windows: list[dict[str, Any]] = [
        {},
        *({"window": w, "first": n} for w in ("HOUR", "DAY", "WEEK") for n in (3, 50)),
        {"window": "YEAR"},
        {"first": -1},
    ]
    for variables in windows:
        await compare(engine, trending, variables)
    for handle in ("ana", "bo", "nobody"):
        for viewer in (READER, LONER, None):
            await compare(engine, operation("CreatorProfile"), {"handle": handle}, viewer)
    follow, engage = operation("Follow"), operation("RecordEngagement")
    creator, post = encode_id("Creator", "cr1"), encode_id("Post", "po1")
    await compare(engine, follow, {"creatorId": creator})
    await compare(engine, follow, {"creatorId": "not-an-id"}, READER)
    await compare(engine, follow, {"creatorId": encode_id("Creator", "cr404")}, READER)
    await compare(engine, follow, {"creatorId": post}, READER)
    await compare(engine, follow, {})
    await compare(engine, engage, {"postId": post, "kind": "LIKE"})
    await compare(engine, engage, {"postId": "not-an-id", "kind": "LIKE"}, READER)
    await compare(engine, engage, {"postId": post, "kind": "POKE"}, READER)


async def test_feed_operations_are_exercised(feeds_world: tuple[AsyncEngine, list[Spec]]) -> None:
    """The cases above reach a two-page feed without the unpublished post, every window
    and a follower's profile."""
    engine, _ = feeds_world

    async def data(name: str, variables: dict[str, Any], viewer: Viewer | None) -> Any:
        context = RequestContext(db=reader_for(engine), now=datetime.now(UTC), viewer=viewer)
        body, _ = await run(engine, operation(name), variables, compiled=True, context=context)
        return body

    feed = (await data("Feed", {}, READER))["data"]["feed"]
    ids = [edge["node"]["id"] for edge in feed["edges"]]
    assert len(ids) == 11
    assert encode_id("Post", "po5") not in ids
    for window, count in (("HOUR", 1), ("DAY", 8), ("WEEK", 11)):  # po5 is down
        trending = (await data("Trending", {"window": window, "first": 50}, None))["data"]
        assert len(trending["trending"]) == count, window
    profile = (await data("CreatorProfile", {"handle": "ana"}, READER))["data"]["creator"]
    assert (profile["viewerFollows"], profile["followerCount"], profile["postCount"]) == (
        True,
        1,
        7,
    )
    refused = await data("Follow", {"creatorId": encode_id("Creator", "cr1")}, None)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
