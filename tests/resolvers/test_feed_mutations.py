"""follow, unfollow and recordEngagement in-process: auth and ids checked before any write,
every call appended with its position, follows idempotent once projected (in log order);
viewerFollows and Viewer.following."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.event_writer import EngineEventWriter
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.viewer import Viewer
from tests.resolvers.execution import close_read_pools, reader_for, run

FOLLOW = (
    "mutation F($id: ID!) { follow(creatorId: $id) "
    "{ following position creator { handle followerCount viewerFollows } } }"
)
UNFOLLOW = "mutation U($id: ID!) { unfollow(creatorId: $id) { following position } }"
ENGAGE = (
    "mutation E($postId: ID!, $kind: EngagementKind!) "
    "{ recordEngagement(input: { postId: $postId, kind: $kind }) { accepted position } }"
)
PROFILE = "query P($h: String!) { creator(handle: $h) { followerCount viewerFollows } }"
FOLLOWING = (
    "query V($first: Int, $after: String) { viewer { following(first: $first, after: $after) "
    "{ handle } } }"
)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER = Viewer("u-1", frozenset({"CUSTOMER"}), frozenset(), None)
OTHER = Viewer("u-2", frozenset({"CUSTOMER"}), frozenset(), None)
NOT_A_CUSTOMER = Viewer("cu-9", frozenset({"CREATOR"}), frozenset(), "cr-1")
CR_1, CR_2, CR_3 = (encode_id("Creator", f"cr-{n}") for n in (1, 2, 3))


@pytest.fixture(autouse=True)
async def _pools() -> AsyncIterator[None]:
    yield
    await close_read_pools()


async def with_creators(engine: AsyncEngine) -> None:
    """Creators cr-1 (ana), cr-2 (bo), cr-3 (cy), projected: positions 1 to 3."""
    raw = [
        {"id": str(uuid.uuid4()), "type": "CreatorUpserted", "occurredAt": "2026-11-01T00:00:00Z",
         "data": {"creatorId": f"cr-{n}", "handle": handle, "name": handle.title(), "bio": None,
                  "avatarUrl": None, "storeId": None}}
        for n, handle in ((1, "ana"), (2, "bo"), (3, "cy"))
    ]  # fmt: skip
    events, errors = validate_events(raw)
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())


async def execute(
    engine: AsyncEngine, document: str, variables: dict[str, Any], viewer: Viewer | None
) -> tuple[dict[str, Any], int]:
    context = RequestContext(
        db=reader_for(engine), now=NOW, viewer=viewer, events=EngineEventWriter(engine)
    )
    return await run(engine, document, variables, context=context)


async def mutate(
    engine: AsyncEngine, document: str, variables: dict[str, Any], viewer: Viewer | None
) -> dict[str, Any]:
    return (await execute(engine, document, variables, viewer))[0]


async def written(engine: AsyncEngine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(feed events in the log as (position, type, data), follows rows)."""
    async with engine.connect() as conn:
        events = await conn.execute(
            text(
                "SELECT position, type, data FROM event_log WHERE type <> 'CreatorUpserted' "
                "ORDER BY position"
            )
        )
        follows = await conn.execute(
            text("SELECT user_id, creator_id, position FROM follows ORDER BY 1, 2")
        )
        return [tuple(r) for r in events], [tuple(r) for r in follows]


async def profile(engine: AsyncEngine, viewer: Viewer | None, handle: str = "ana") -> Any:
    """The creator's followerCount and viewerFollows as `viewer` reads them."""
    body, _ = await execute(engine, PROFILE, {"h": handle}, viewer)
    assert "errors" not in body, body
    return body["data"]["creator"]


async def followers(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """(creator, followers) of every creator_counts row counting any follower (or fewer)."""
    async with engine.connect() as conn:
        counts = await conn.execute(
            text("SELECT creator_id, followers FROM creator_counts WHERE followers <> 0 ORDER BY 1")
        )
        return [tuple(r) for r in counts]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_following_twice_appends_two_events_and_one_follow(engine: AsyncEngine) -> None:
    """Each follow appends (positions 4 and 5) and answers from the unprojected read model;
    once caught up there is one follow, from position 4, and one follower."""
    await with_creators(engine)
    first = await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    second = await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    before = {"handle": "ana", "followerCount": 0, "viewerFollows": False}
    assert first == {"data": {"follow": {"following": True, "position": 4, "creator": before}}}
    assert second == {"data": {"follow": {"following": True, "position": 5, "creator": before}}}
    await catch_up(engine, all_projections())
    followed = {"userId": "u-1", "creatorId": "cr-1"}
    assert await written(engine) == (
        [(4, "Followed", followed), (5, "Followed", followed)],
        [("u-1", "cr-1", 4)],
    )
    assert await profile(engine, USER) == {"followerCount": 1, "viewerFollows": True}
    assert await followers(engine) == [("cr-1", 1)]


async def test_unfollowing_a_non_follow_appends_an_event_that_changes_nothing(
    engine: AsyncEngine,
) -> None:
    """Every unfollow appends; projected, one of a non-follow changes nothing and a repeated
    unfollow takes the follower back once: the count never goes below zero."""
    await with_creators(engine)
    assert await mutate(engine, UNFOLLOW, {"id": CR_1}, USER) == {
        "data": {"unfollow": {"following": False, "position": 4}}
    }
    await catch_up(engine, all_projections())
    unfollowed = {"userId": "u-1", "creatorId": "cr-1"}
    assert await written(engine) == ([(4, "Unfollowed", unfollowed)], [])
    assert await profile(engine, USER) == {"followerCount": 0, "viewerFollows": False}
    assert await mutate(engine, FOLLOW, {"id": CR_1}, USER) == {
        "data": {
            "follow": {
                "following": True,
                "position": 5,
                "creator": {"handle": "ana", "followerCount": 0, "viewerFollows": False},
            }
        }
    }
    for position in (6, 7):
        assert await mutate(engine, UNFOLLOW, {"id": CR_1}, USER) == {
            "data": {"unfollow": {"following": False, "position": position}}
        }
    await catch_up(engine, all_projections())
    events, follows = await written(engine)
    assert [(p, t) for p, t, _ in events] == [
        (4, "Unfollowed"),
        (5, "Followed"),
        (6, "Unfollowed"),
        (7, "Unfollowed"),
    ]
    assert follows == []
    assert await profile(engine, USER) == {"followerCount": 0, "viewerFollows": False}
    assert await followers(engine) == []


async def test_follower_counts_add_up_across_users(engine: AsyncEngine) -> None:
    """Two users following one creator count two once projected, for either of them."""
    await with_creators(engine)
    await mutate(engine, FOLLOW, {"id": CR_2}, USER)
    await mutate(engine, FOLLOW, {"id": CR_2}, OTHER)
    await catch_up(engine, all_projections())
    assert await profile(engine, USER, "bo") == {"followerCount": 2, "viewerFollows": True}
    assert await profile(engine, OTHER, "bo") == {"followerCount": 2, "viewerFollows": True}
    assert await followers(engine) == [("cr-2", 2)]


async def test_an_unfollow_after_an_unprojected_follow_is_not_lost(engine: AsyncEngine) -> None:
    """A Followed ingested but not yet projected, then the user's unfollow: it appends after
    the follow, so once caught up the user does not follow and the creator has no follower."""
    await with_creators(engine)
    raw = [{"id": str(uuid.uuid4()), "type": "Followed", "occurredAt": "2026-11-30T00:00:00Z",
            "data": {"userId": "u-1", "creatorId": "cr-1"}}]  # fmt: skip
    events, errors = validate_events(raw)
    assert errors == []
    assert (await append_events(engine, events)).positions == [4]
    assert await mutate(engine, UNFOLLOW, {"id": CR_1}, USER) == {
        "data": {"unfollow": {"following": False, "position": 5}}
    }
    await catch_up(engine, all_projections())
    assert await profile(engine, USER) == {"followerCount": 0, "viewerFollows": False}
    assert (await written(engine))[1] == []
    assert await followers(engine) == []


async def test_follow_unfollow_follow_with_the_projector_behind_ends_following(
    engine: AsyncEngine,
) -> None:
    """Follow, unfollow and follow with nothing projected between them end as the last call
    says: following, with one follower, from the last follow's position."""
    await with_creators(engine)
    answers = [
        await mutate(engine, document, {"id": CR_1}, USER)
        for document in (FOLLOW, UNFOLLOW, FOLLOW)
    ]
    assert [
        (a["data"][name]["following"], a["data"][name]["position"])
        for a, name in zip(answers, ("follow", "unfollow", "follow"), strict=True)
    ] == [(True, 4), (False, 5), (True, 6)]
    await catch_up(engine, all_projections())
    assert await profile(engine, USER) == {"followerCount": 1, "viewerFollows": True}
    assert (await written(engine))[1] == [("u-1", "cr-1", 6)]
    assert await followers(engine) == [("cr-1", 1)]


async def test_record_engagement_appends_and_answers_at_once(engine: AsyncEngine) -> None:
    """Accepted with its position; only the log changed: nothing was applied or waited on."""
    await with_creators(engine)
    post = encode_id("Post", "po-1")
    body, statements = await execute(engine, ENGAGE, {"postId": post, "kind": "LIKE"}, USER)
    assert body == {"data": {"recordEngagement": {"accepted": True, "position": 4}}}
    assert statements == 5  # the append alone: lock, known ids, insert, head, notify
    assert await written(engine) == (
        [(4, "EngagementRecorded", {"postId": "po-1", "userId": "u-1", "kind": "LIKE"})],
        [],
    )


@pytest.mark.parametrize(
    ("viewer", "code"), [(None, "UNAUTHENTICATED"), (NOT_A_CUSTOMER, "FORBIDDEN")]
)
@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (FOLLOW, {"id": CR_1}),
        (UNFOLLOW, {"id": CR_1}),
        (ENGAGE, {"postId": encode_id("Post", "po-1"), "kind": "SHARE"}),
    ],
)
async def test_only_a_customer_may_follow_or_engage(
    engine: AsyncEngine,
    viewer: Viewer | None,
    code: str,
    document: str,
    variables: dict[str, Any],
) -> None:
    """Anonymous is UNAUTHENTICATED, a token without CUSTOMER FORBIDDEN; nothing is written."""
    await with_creators(engine)
    body = await mutate(engine, document, variables, viewer)
    assert (body["data"], codes(body)) == (None, [code])
    assert await written(engine) == ([], [])


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        (FOLLOW, {"id": "not-an-id"}, "INVALID_ID"),
        (FOLLOW, {"id": encode_id("Post", "cr-1")}, "INVALID_ID"),
        (
            FOLLOW,
            {"id": encode_id("Creator", "x" * 201)},
            "INVALID_ID",
        ),  # longer than any source id
        (UNFOLLOW, {"id": encode_id("Creator", "cr-404")}, "NOT_FOUND"),
        (ENGAGE, {"postId": CR_1, "kind": "LIKE"}, "INVALID_ID"),
        (ENGAGE, {"postId": encode_id("Post", "p" * 201), "kind": "LIKE"}, "INVALID_ID"),
    ],
)
async def test_a_bad_id_fails_the_call_and_writes_nothing(
    engine: AsyncEngine, document: str, variables: dict[str, Any], code: str
) -> None:
    """Malformed, foreign-typed, unknown or over-long ids: an error with its code, no write."""
    await with_creators(engine)
    body = await mutate(engine, document, variables, USER)
    assert (body["data"], codes(body)) == (None, [code])
    assert await written(engine) == ([], [])


async def test_viewer_follows_is_per_viewer_and_false_for_anonymous(engine: AsyncEngine) -> None:
    """Once projected, only the user who followed sees viewerFollows true."""
    await with_creators(engine)
    await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    await catch_up(engine, all_projections())
    for viewer, expected in ((USER, True), (OTHER, False), (None, False)):
        assert await profile(engine, viewer) == {"followerCount": 1, "viewerFollows": expected}


async def test_viewer_following_pages_newest_first(engine: AsyncEngine) -> None:
    """Once projected: newest follow first, `after` resumes past a creator, two statements a page."""
    await with_creators(engine)
    for creator in (CR_1, CR_2, CR_3):
        await mutate(engine, FOLLOW, {"id": creator}, USER)
    await catch_up(engine, all_projections())
    body, statements = await execute(engine, FOLLOWING, {"first": 2}, USER)
    assert body == {"data": {"viewer": {"following": [{"handle": "cy"}, {"handle": "bo"}]}}}
    assert statements == 2  # the page of ids, then the creators
    body, _ = await execute(engine, FOLLOWING, {"first": 2, "after": CR_2}, USER)
    assert body == {"data": {"viewer": {"following": [{"handle": "ana"}]}}}
    body, _ = await execute(engine, FOLLOWING, {"first": 2}, OTHER)
    assert body == {"data": {"viewer": {"following": []}}}
