"""follow, unfollow and recordEngagement in-process: auth and ids checked before any write,
idempotent follows written through, positions returned; viewerFollows and Viewer.following."""

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
PROFILE = "query P($h: String!) { creator(handle: $h) { viewerFollows } }"
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


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_following_twice_appends_one_event_and_one_follow(engine: AsyncEngine) -> None:
    """The first follow appends at position 4 and shows at once; the second appends nothing."""
    await with_creators(engine)
    first = await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    second = await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    creator = {"handle": "ana", "followerCount": 1, "viewerFollows": True}
    assert first == {"data": {"follow": {"following": True, "position": 4, "creator": creator}}}
    assert second == {"data": {"follow": {"following": True, "position": None, "creator": creator}}}
    assert await written(engine) == (
        [(4, "Followed", {"userId": "u-1", "creatorId": "cr-1"})],
        [("u-1", "cr-1", 4)],
    )


async def test_unfollow_removes_the_follow_once_and_a_non_follow_appends_nothing(
    engine: AsyncEngine,
) -> None:
    """Unfollowing what is not followed is a no-op; a real unfollow appends and deletes."""
    await with_creators(engine)
    assert await mutate(engine, UNFOLLOW, {"id": CR_1}, USER) == {
        "data": {"unfollow": {"following": False, "position": None}}
    }
    assert await written(engine) == ([], [])
    await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    assert await mutate(engine, UNFOLLOW, {"id": CR_1}, USER) == {
        "data": {"unfollow": {"following": False, "position": 5}}
    }
    assert await mutate(engine, UNFOLLOW, {"id": CR_1}, USER) == {
        "data": {"unfollow": {"following": False, "position": None}}
    }
    events, follows = await written(engine)
    assert [(p, t) for p, t, _ in events] == [(4, "Followed"), (5, "Unfollowed")]
    assert follows == []
    async with engine.connect() as conn:
        counts = await conn.execute(text("SELECT creator_id, followers FROM creator_counts"))
        assert [tuple(r) for r in counts] == [("cr-1", 0)]


async def test_follower_counts_add_up_across_users(engine: AsyncEngine) -> None:
    """Two users following one creator count two; the payload's count is the written one."""
    await with_creators(engine)
    await mutate(engine, FOLLOW, {"id": CR_2}, USER)
    body = await mutate(engine, FOLLOW, {"id": CR_2}, OTHER)
    assert body["data"]["follow"]["creator"]["followerCount"] == 2


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
        (FOLLOW, {"id": encode_id("Creator", "x" * 201)}, "NOT_FOUND"),
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
    """Only the user who followed sees viewerFollows true."""
    await with_creators(engine)
    await mutate(engine, FOLLOW, {"id": CR_1}, USER)
    for viewer, expected in ((USER, True), (OTHER, False), (None, False)):
        body, _ = await execute(engine, PROFILE, {"h": "ana"}, viewer)
        assert body == {"data": {"creator": {"viewerFollows": expected}}}


async def test_viewer_following_pages_newest_first(engine: AsyncEngine) -> None:
    """Newest follow first, `after` resumes past a creator, in two statements per page."""
    await with_creators(engine)
    for creator in (CR_1, CR_2, CR_3):
        await mutate(engine, FOLLOW, {"id": creator}, USER)
    body, statements = await execute(engine, FOLLOWING, {"first": 2}, USER)
    assert body == {"data": {"viewer": {"following": [{"handle": "cy"}, {"handle": "bo"}]}}}
    assert statements == 2  # the page of ids, then the creators
    body, _ = await execute(engine, FOLLOWING, {"first": 2, "after": CR_2}, USER)
    assert body == {"data": {"viewer": {"following": [{"handle": "ana"}]}}}
    body, _ = await execute(engine, FOLLOWING, {"first": 2}, OTHER)
    assert body == {"data": {"viewer": {"following": []}}}
