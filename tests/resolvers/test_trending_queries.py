"""`trending(window:, first:)` through GraphQL on real read models: rank order, the window
cut at request time, unpublished posts, `first` checks, tags and statements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from tests.resolvers.execution import reader_for, run

NOW = datetime(2026, 6, 1, 12, 20, tzinfo=UTC)
STAMP_OLD = "2026-05-29T12:20:00Z"

TRENDING = """
query ($window: TrendingWindow, $first: Int) {
  trending(window: $window, first: $first) { body }
}
"""


def _event(type_: str, at: datetime, **data: Any) -> dict[str, Any]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": str(uuid.uuid4()), "type": type_, "occurredAt": stamp, "data": data}


def _engage(post: str, kind: str, ago: timedelta) -> dict[str, Any]:
    return _event("EngagementRecorded", NOW - ago, postId=post, userId="u1", kind=kind)


def world_events() -> list[dict[str, Any]]:
    old = NOW - timedelta(days=3)
    events = [
        _event(
            "CreatorUpserted",
            old,
            creatorId="cr1",
            handle="ana",
            name="Ana",
            bio=None,
            avatarUrl=None,
            storeId=None,
        ),
    ]
    for post in ["fresh", "steady", "old", "hidden", "tie-a", "tie-b"]:
        events.append(
            _event(
                "PostPublished",
                old,
                postId=post,
                creatorId="cr1",
                body=post,
                productIds=[],
                publishedAt=STAMP_OLD,
            )
        )
    events += [
        _engage("fresh", "REMIX", timedelta(minutes=5)),  # 5, this hour
        _engage("steady", "LIKE", timedelta(hours=3)),  # DAY and WEEK only
        _engage("steady", "LIKE", timedelta(hours=3)),
        _engage("steady", "SHARE", timedelta(hours=4)),
        _engage("old", "REMIX", timedelta(days=2)),  # WEEK only
        _engage("old", "REMIX", timedelta(days=2)),
        _engage("old", "REMIX", timedelta(days=2)),
        _engage("old", "REMIX", timedelta(days=2)),
        _engage("hidden", "REMIX", timedelta(minutes=1)),
        _engage("hidden", "REMIX", timedelta(minutes=1)),
        _engage("tie-b", "LIKE", timedelta(minutes=20)),
        _engage("tie-a", "LIKE", timedelta(minutes=20)),
        _event("PostUnpublished", NOW, postId="hidden"),
    ]  # fmt: skip
    return events


async def load_world(engine: AsyncEngine) -> None:
    events, errors = validate_events(world_events())
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())


def context_at(engine: AsyncEngine, now: datetime) -> RequestContext:
    return RequestContext(db=reader_for(engine), now=now)


async def trending(engine: AsyncEngine, now: datetime = NOW, **variables: Any) -> list[str]:
    body, _ = await run(engine, TRENDING, variables, context=context_at(engine, now))
    assert "errors" not in body, body
    return [post["body"] for post in body["data"]["trending"]]


async def test_each_window_lists_published_posts_by_decayed_engagement(
    engine: AsyncEngine,
) -> None:
    """HOUR, DAY (the default) and WEEK rank what they see; an unpublished post never shows."""
    await load_world(engine)
    assert await trending(engine, window="HOUR") == ["fresh", "tie-a", "tie-b"]
    assert await trending(engine) == ["fresh", "steady", "tie-a", "tie-b"]
    # As of 12:19 (the last engagement), half-life 2 days: old 4 * 5 * ~0.49 = ~9.7,
    # fresh 5, steady 2 * ~0.96 + 3 * ~0.95 = ~4.8; under DAY (6 h) steady is ~3.4.
    assert await trending(engine, window="WEEK") == ["old", "fresh", "steady", "tie-a", "tie-b"]
    assert await trending(engine, window="WEEK", first=2) == ["old", "fresh"]


async def test_posts_whose_engagement_left_the_window_are_dropped_at_request_time(
    engine: AsyncEngine,
) -> None:
    """Two hours on with no new event, HOUR is empty and the others keep their order."""
    await load_world(engine)
    later = NOW + timedelta(hours=2)
    assert await trending(engine, later, window="HOUR") == []
    assert await trending(engine, later, window="DAY") == ["fresh", "steady", "tie-a", "tie-b"]


async def test_first_is_checked_capped_and_one_statement_per_batch(engine: AsyncEngine) -> None:
    """Negative `first` is a BAD_USER_INPUT error, zero reads nothing; a page is 2 statements
    (ranking, posts) and is tagged by window and by post."""
    await load_world(engine)
    body, _ = await run(engine, TRENDING, {"first": -1}, context=context_at(engine, NOW))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body, statements = await run(engine, TRENDING, {"first": 0}, context=context_at(engine, NOW))
    assert (body["data"]["trending"], statements) == ([], 0)
    context = context_at(engine, NOW)
    body, statements = await run(engine, TRENDING, {"first": 1000}, context=context)
    assert len(body["data"]["trending"]) == 4
    assert statements == 2
    assert {"trending:DAY", "post:fresh"} <= context.tags
    assert context.fresh_until == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
