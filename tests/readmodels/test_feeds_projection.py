"""The feeds projection on PostgreSQL: unpublish removal, exact counts, replay and rebuild."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.feeds.projection import FeedsProjection
from readmodels.feeds.tables import FEED_TABLES
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from tests.readmodels.streams import StreamBuilder, append_raw

Rows = dict[str, list[tuple[Any, ...]]]


def post(builder: StreamBuilder, post_id: str, creator: str, minute: int) -> None:
    builder.add(
        "PostPublished",
        postId=post_id,
        creatorId=creator,
        body=f"body {post_id}",
        productIds=["p-1"],
        publishedAt=f"2026-01-01T00:{minute:02d}:00Z",
    )


async def project(engine: AsyncEngine, builder: StreamBuilder, batch_size: int = 7) -> set[str]:
    """Append the builder's events (then forget them), catch up, return the tags announced."""
    await append_raw(engine, builder.events)
    builder.events.clear()
    outcomes: list[BatchOutcome] = []
    await catch_up(engine, [FeedsProjection()], batch_size=batch_size, on_batch=outcomes.append)
    return set().union(*(o.tags for o in outcomes))


async def tables(engine: AsyncEngine) -> Rows:
    async with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in await conn.execute(select(table).order_by(*table.c))]
            for table in FEED_TABLES
        }


def messy_stream(seed: int) -> StreamBuilder:
    """Posts, repeated follows and unfollows of strangers, repeated likes, unpublishes."""
    builder = StreamBuilder(random.Random(seed))
    rng = builder.rng
    for i in range(20):
        post(builder, f"po-{i}", f"cr-{i % 3}", i)
    for _ in range(80):
        user, creator = f"u-{rng.randint(1, 6)}", f"cr-{rng.randint(0, 2)}"
        kind = rng.choice(["Followed", "Followed", "Unfollowed"])
        builder.add(kind, userId=user, creatorId=creator)
        builder.add(
            "EngagementRecorded",
            postId=f"po-{rng.randint(0, 19)}",
            userId=user,
            kind=rng.choice(["LIKE", "SHARE", "REMIX"]),
        )
    for i in (3, 7, 7):
        builder.add("PostUnpublished", postId=f"po-{i}")
    return builder


async def test_counts_match_the_tables_and_unpublished_posts_are_hidden(
    engine: AsyncEngine,
) -> None:
    """Follower and post counts equal what the follows and published posts hold."""
    await project(engine, messy_stream(1))
    async with engine.connect() as conn:
        drift = await conn.scalar(
            text(
                """
                SELECT count(*) FROM creator_counts c
                WHERE c.followers <> (SELECT count(*) FROM follows f WHERE f.creator_id = c.creator_id)
                   OR c.posts <> (SELECT count(*) FROM posts p
                                  WHERE p.creator_id = c.creator_id AND p.published)
                """
            )
        )
        hidden = await conn.scalars(text("SELECT id FROM posts WHERE NOT published ORDER BY id"))
        counters = await conn.scalar(
            text(
                """
                SELECT count(*) FROM posts p WHERE (p.likes, p.shares, p.remixes) <> (
                    SELECT count(*) FILTER (WHERE kind = 'LIKE'), count(*) FILTER (WHERE kind = 'SHARE'),
                           count(*) FILTER (WHERE kind = 'REMIX')
                    FROM engagements e WHERE e.post_id = p.id)
                """
            )
        )
    assert drift == 0
    assert counters == 0
    assert list(hidden) == ["po-3", "po-7"]


async def test_repeats_count_once_and_tags_name_what_changed(engine: AsyncEngine) -> None:
    """A repeated like and a repeated follow count once; an unfollow of a stranger is a no-op."""
    builder = StreamBuilder(random.Random(2))
    post(builder, "po-1", "cr-1", 1)
    for _ in range(2):
        builder.add("EngagementRecorded", postId="po-1", userId="u-1", kind="LIKE")
        builder.add("Followed", userId="u-1", creatorId="cr-1")
    builder.add("Unfollowed", userId="u-2", creatorId="cr-1")
    tags = await project(engine, builder, batch_size=2)
    async with engine.connect() as conn:
        likes = await conn.scalar(text("SELECT likes FROM posts WHERE id = 'po-1'"))
        counts = (await conn.execute(text("SELECT followers, posts FROM creator_counts"))).one()
    assert likes == 1
    assert tuple(counts) == (1, 1)
    assert tags == {
        "post:po-1",
        "creator-posts:cr-1",
        "creator-counts:cr-1",
        "feed-of:u-1",
        "follows:u-1",
    }


async def test_batch_size_and_rebuild_do_not_change_the_result(engine: AsyncEngine) -> None:
    """Live with batches of 7 equals one big batch replayed, and equals a rebuild."""
    await project(engine, messy_stream(3), batch_size=7)
    live = await tables(engine)
    await rebuild(engine, FeedsProjection())
    assert await tables(engine) == live
    await rebuild(engine, FeedsProjection(), batch_size=10_000)
    assert await tables(engine) == live
