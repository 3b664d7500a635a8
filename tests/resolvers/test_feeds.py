"""Feeds through GraphQL on real read models: exact pages, stable keyset paging while posts
arrive, unpublished posts gone everywhere, and a fixed number of statements per page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.feeds.queries import DENSE_FOLLOWS
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.viewer import Viewer
from tests.conftest import CONTRACT
from tests.resolvers.execution import reader_for, run

FEED = (CONTRACT / "operations" / "Feed.graphql").read_text()
CREATOR_PROFILE = (CONTRACT / "operations" / "CreatorProfile.graphql").read_text()
FEED_IDS = """
query ($first: Int, $after: String) {
  feed(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } }
}
"""
CREATOR_POSTS = """
query ($handle: String!) {
  creator(handle: $handle) { followerCount postCount posts(first: 50) { nodes { id } } }
}
"""
POST = """
query ($id: ID!) {
  post(id: $id) { id body author { handle } products { slug } engagement { likes shares } }
  node(id: $id) { ... on Post { id } }
}
"""

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _event(type_: str, **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": type_, "occurredAt": _stamp(T0), "data": data}


def _post(post_id: str, creator: str, minute: int) -> dict[str, Any]:
    return _event("PostPublished", postId=post_id, creatorId=creator, body=f"about {post_id}",
                  productIds=["mug", "gone", "cup"], publishedAt=_stamp(T0 + timedelta(minutes=minute)))  # fmt: skip


def world_events() -> list[dict[str, Any]]:
    """cr-a (20 posts), cr-b (5), cr-c (3, not followed); u-1 follows a and b."""
    events = [
        _event("StoreUpserted", storeId="s1", slug="one", name="One", currencyCode="EUR",
               ownerCreatorId="cr-a"),
        _event("ProductUpserted", productId="mug", storeId="s1", sku="MUG", slug="mug",
               title="Mug", description=None, categoryId=None, tags=[], images=[],
               featured=False, listed=True, createdAt=_stamp(T0)),
        _event("ProductUpserted", productId="cup", storeId="s1", sku="CUP", slug="cup",
               title="Cup", description=None, categoryId=None, tags=[], images=[],
               featured=False, listed=True, createdAt=_stamp(T0)),
        _event("PriceSet", productId="mug", currencyCode="EUR", basePrice="20.00", tiers=[],
               segmentPrices=[]),
        _event("PriceSet", productId="cup", currencyCode="EUR", basePrice="4.00", tiers=[],
               segmentPrices=[]),
    ]  # fmt: skip
    for creator in ("a", "b", "c"):
        events.append(
            _event(
                "CreatorUpserted",
                creatorId=f"cr-{creator}",
                handle=creator,
                name=creator.upper(),
                bio=None,
                avatarUrl=None,
                storeId="s1",
            )
        )
    events += [_post(f"a{i:02d}", "cr-a", 2 * i) for i in range(20)]
    events += [_post(f"b{i:02d}", "cr-b", 2 * i + 1) for i in range(5)]
    events += [_post(f"c{i:02d}", "cr-c", 100 + i) for i in range(3)]
    events += [
        _event("Followed", userId="u-1", creatorId="cr-a"),
        _event("Followed", userId="u-1", creatorId="cr-b"),
        _event("Followed", userId="u-1", creatorId="cr-b"),
        _event("Followed", userId="u-2", creatorId="cr-b"),
        _event("EngagementRecorded", postId="a19", userId="u-2", kind="LIKE"),
        _event("EngagementRecorded", postId="a19", userId="u-2", kind="LIKE"),
        _event("EngagementRecorded", postId="a19", userId="u-3", kind="SHARE"),
    ]
    return events


async def append(engine: AsyncEngine, events: list[dict[str, Any]]) -> None:
    valid, errors = validate_events(events)
    assert errors == []
    await append_events(engine, valid)
    await catch_up(engine, all_projections())


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncEngine:
    await append(engine, world_events())
    return engine


def viewer(user_id: str) -> Viewer:
    return Viewer(id=user_id, roles=frozenset({"CUSTOMER"}), segments=frozenset(), creator_id=None)


async def ask(
    engine: AsyncEngine,
    query: str,
    variables: dict[str, Any],
    user: str | None = "u-1",
    *,
    compiled: bool = False,
) -> tuple[dict[str, Any], int]:
    context = RequestContext(
        db=reader_for(engine), now=datetime.now(UTC), viewer=None if user is None else viewer(user)
    )
    return await run(engine, query, variables, context=context, compiled=compiled)


def expected_feed() -> list[str]:
    """a00..a19 at even minutes, b00..b04 at odd minutes 1..9: newest first."""
    minutes = {f"a{i:02d}": 2 * i for i in range(20)} | {f"b{i:02d}": 2 * i + 1 for i in range(5)}
    return [encode_id("Post", p) for p in sorted(minutes, key=lambda p: -minutes[p])]


async def walk(
    engine: AsyncEngine, first: int, between: list[list[dict[str, Any]]], user: str = "u-1"
) -> list[str]:
    """Every feed page of `first`, appending `between[i]` after page i."""
    seen: list[str] = []
    after = None
    page = 0
    while True:
        body, _ = await ask(engine, FEED_IDS, {"first": first, "after": after}, user)
        feed = body["data"]["feed"]
        seen += [node["id"] for node in feed["nodes"]]
        if page < len(between):
            await append(engine, between[page])
        page += 1
        if not feed["pageInfo"]["hasNextPage"]:
            return seen
        after = feed["pageInfo"]["endCursor"]


async def test_the_feed_lists_followed_creators_posts_newest_first(world: AsyncEngine) -> None:
    """One page holds exactly the followed creators' posts, newest first, with authors,
    listed products and engagement counted once per user and kind."""
    body, _ = await ask(world, FEED, {"first": 30})
    edges = body["data"]["feed"]["edges"]
    assert [e["node"]["id"] for e in edges] == expected_feed()
    top = edges[0]["node"]
    assert top["author"]["handle"] == "a"
    assert [p["slug"] for p in top["products"]] == ["mug", "cup"]
    assert top["products"][0]["price"]["final"] == {"amount": "20.00", "currencyCode": "EUR"}
    assert top["engagement"] == {"likes": 1, "shares": 1, "remixes": 0}
    assert body["data"]["feed"]["pageInfo"]["hasNextPage"] is False


async def test_paging_stays_exact_while_new_posts_arrive(world: AsyncEngine) -> None:
    """Posts published between page requests change no later page: no duplicate, no gap."""
    arrivals = [[_post(f"new{i}", "cr-a", 500 + i), _post(f"newb{i}", "cr-b", 600 + i)]
                for i in range(3)]  # fmt: skip
    assert await walk(world, 4, arrivals) == expected_feed()
    fresh = await walk(world, 100, [])
    assert fresh[:6] == [
        encode_id("Post", p) for p in ("newb2", "newb1", "newb0", "new2", "new1", "new0")
    ]


async def test_a_user_following_hundreds_of_creators_gets_the_same_feed(
    world: AsyncEngine,
) -> None:
    """Past DENSE_FOLLOWS follows the feed walks everyone's newest posts: same pages."""
    quiet = [_event("Followed", userId="u-9", creatorId=f"cr-q{i}") for i in range(DENSE_FOLLOWS)]
    follows = [_event("Followed", userId="u-9", creatorId=c) for c in ("cr-a", "cr-b")]
    await append(world, quiet + follows)
    assert await walk(world, 3, [], user="u-9") == expected_feed()


async def test_anonymous_feed_is_unauthenticated(world: AsyncEngine) -> None:
    """Without a viewer the feed errors with UNAUTHENTICATED."""
    body, _ = await ask(world, FEED_IDS, {"first": 5}, user=None)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_cursor_is_rejected(world: AsyncEngine) -> None:
    """An `after` this API did not issue is INVALID_CURSOR."""
    body, _ = await ask(world, FEED_IDS, {"first": 5, "after": "bm9wZQ"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_unpublished_post_disappears_everywhere(world: AsyncEngine) -> None:
    """After PostUnpublished the post leaves the feed, its creator's posts, post(id) and
    node(id), and the creator's post count drops."""
    gone = encode_id("Post", "a19")
    body, _ = await ask(world, POST, {"id": gone})
    assert body["data"]["post"]["author"]["handle"] == "a"
    assert body["data"]["node"] == {"id": gone}
    await append(world, [_event("PostUnpublished", postId="a19")])
    assert await walk(world, 100, []) == expected_feed()[1:]
    body, _ = await ask(world, CREATOR_POSTS, {"handle": "a"})
    creator = body["data"]["creator"]
    assert gone not in [n["id"] for n in creator["posts"]["nodes"]]
    assert (creator["postCount"], creator["followerCount"]) == (19, 1)
    body, _ = await ask(world, POST, {"id": gone})
    assert body["data"] == {"post": None, "node": None}


async def test_feed_page_statements_do_not_grow_with_the_page(world: AsyncEngine) -> None:
    """A 20-post Feed page runs as many statements as a 5-post one, compiled or not."""
    small, small_count = await ask(world, FEED, {"first": 5})
    large, large_count = await ask(world, FEED, {"first": 20})
    assert len(large["data"]["feed"]["edges"]) == 20
    assert small_count == large_count
    for variables, body in (({"first": 5}, small), ({"first": 20}, large)):
        compiled, count = await ask(world, FEED, variables, compiled=True)
        assert compiled == body
        assert count == small_count


async def test_creator_profile_statements_do_not_grow_with_posts(world: AsyncEngine) -> None:
    """CreatorProfile of a creator with 20 posts runs as many statements as one with 5."""
    many, many_count = await ask(world, CREATOR_PROFILE, {"handle": "a"})
    few, few_count = await ask(world, CREATOR_PROFILE, {"handle": "b"})
    assert len(many["data"]["creator"]["posts"]["nodes"]) == 10
    assert many["data"]["creator"]["posts"]["pageInfo"]["hasNextPage"] is True
    assert len(few["data"]["creator"]["posts"]["nodes"]) == 5
    assert (few["data"]["creator"]["followerCount"], few["data"]["creator"]["postCount"]) == (2, 5)
    assert many_count == few_count
    for handle, body in (("a", many), ("b", few)):
        compiled, count = await ask(world, CREATOR_PROFILE, {"handle": handle}, compiled=True)
        assert compiled == body
        assert count == many_count
