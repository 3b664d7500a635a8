"""The feeds projection: published posts, the follow graph, counts and engagement counters.

Each batch loads what its events touch (posts, follow pairs, engagement
triples: three or four statements), folds the events over them with the pure
rules of `folds`, then writes set-wise: the changed posts, the follow pairs
that appeared or went, the new engagement triples, and summed count deltas.
The work per batch is bounded by the batch, whatever the size of the graph:
a post of a creator with 100k followers writes one row (feeds are read by
fanning out over `ix_posts_creator_newest`, see docs/feeds.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.feeds import folds
from readmodels.feeds.tables import FEED_TABLES, posts
from readmodels.sql import upsert

_POST_COLUMNS = (
    "id, creator_id, body, product_ids, published_at, published, likes, shares, remixes, version"
)
_LOAD_POSTS = text(f"SELECT {_POST_COLUMNS} FROM posts WHERE id = ANY(CAST(:ids AS text[]))")
_LOAD_FOLLOWS = text(
    "SELECT f.user_id, f.creator_id, f.position FROM follows f "
    "JOIN unnest(CAST(:u AS text[]), CAST(:c AS text[])) AS k(u, c) "
    "ON f.user_id = k.u AND f.creator_id = k.c"
)
_LOAD_ENGAGED = text(
    "SELECT e.post_id, e.user_id, e.kind FROM engagements e "
    "JOIN unnest(CAST(:p AS text[]), CAST(:u AS text[]), CAST(:k AS text[])) AS k(p, u, k) "
    "ON e.post_id = k.p AND e.user_id = k.u AND e.kind = k.k"
)
# Engagements recorded before their post was published (counted on publication).
_LOAD_EARLY = text(
    "SELECT post_id, kind, count(*) AS n FROM engagements "
    "WHERE post_id = ANY(CAST(:ids AS text[])) GROUP BY post_id, kind"
)
_ADD_FOLLOWS = text(
    """
    INSERT INTO follows (user_id, creator_id, position)
    SELECT * FROM unnest(CAST(:u AS text[]), CAST(:c AS text[]), CAST(:p AS bigint[]))
    ON CONFLICT (user_id, creator_id) DO UPDATE SET position = excluded.position
    """
)
_DROP_FOLLOWS = text(
    "DELETE FROM follows f USING unnest(CAST(:u AS text[]), CAST(:c AS text[])) AS k(u, c) "
    "WHERE f.user_id = k.u AND f.creator_id = k.c"
)
_ADD_ENGAGEMENTS = text(
    """
    INSERT INTO engagements (post_id, user_id, kind)
    SELECT * FROM unnest(CAST(:p AS text[]), CAST(:u AS text[]), CAST(:k AS text[]))
    ON CONFLICT DO NOTHING
    """
)
_ADD_COUNTS = text(
    """
    INSERT INTO creator_counts (creator_id, followers, posts)
    SELECT * FROM unnest(CAST(:c AS text[]), CAST(:f AS int[]), CAST(:p AS int[]))
    ON CONFLICT (creator_id) DO UPDATE SET
        followers = creator_counts.followers + excluded.followers,
        posts = creator_counts.posts + excluded.posts
    """
)


class FeedsProjection:
    """Posts (published or not), who follows whom, per-creator counts, engagement counters."""

    name = "feeds"
    event_types = frozenset(
        {"PostPublished", "PostUnpublished", "Followed", "Unfollowed", "EngagementRecorded"}
    )
    tables: tuple[Table, ...] = FEED_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        fold = await _load(conn, events)
        for event in events:
            data = event.data
            if event.type == "PostPublished":
                fold.publish(data, event.position)
            elif event.type == "PostUnpublished":
                fold.unpublish(data["postId"], event.position)
            elif event.type == "Followed":
                fold.follow(data["userId"], data["creatorId"], event.position)
            elif event.type == "Unfollowed":
                fold.unfollow(data["userId"], data["creatorId"])
            else:
                fold.engage(data["postId"], data["userId"], data["kind"], event.position)
        await _write(conn, fold)
        return fold.tags


async def _load(conn: AsyncConnection, events: Sequence[StoredEvent]) -> folds.FeedFold:
    fold = folds.FeedFold()
    post_ids = sorted({e.data["postId"] for e in events if "postId" in e.data})
    if post_ids:
        loaded = await conn.execute(_LOAD_POSTS, {"ids": post_ids})
        for post in loaded.mappings():
            fold.posts[post["id"]] = {**post, "product_ids": list(post["product_ids"])}
    pairs = sorted(
        {(e.data["userId"], e.data["creatorId"]) for e in events if e.type.endswith("ollowed")}
    )
    if pairs:
        fold.follows = dict.fromkeys(pairs)
        rows = await conn.execute(
            _LOAD_FOLLOWS, {"u": [p[0] for p in pairs], "c": [p[1] for p in pairs]}
        )
        for row in rows:
            fold.follows[(row.user_id, row.creator_id)] = row.position
    triples = sorted(
        {
            (e.data["postId"], e.data["userId"], e.data["kind"])
            for e in events
            if e.type == "EngagementRecorded"
        }
    )
    if triples:
        rows = await conn.execute(
            _LOAD_ENGAGED,
            {
                "p": [t[0] for t in triples],
                "u": [t[1] for t in triples],
                "k": [t[2] for t in triples],
            },
        )
        fold.engaged = {(row.post_id, row.user_id, row.kind) for row in rows}
    fresh = sorted(
        {e.data["postId"] for e in events if e.type == "PostPublished"}
        - {p for p, row in fold.posts.items() if row["creator_id"]}
    )
    if fresh:
        rows = await conn.execute(_LOAD_EARLY, {"ids": fresh})
        for row in rows:
            fold.early[(row.post_id, folds.COUNTER_OF_KIND[row.kind])] = row.n
    return fold


async def _write(conn: AsyncConnection, fold: folds.FeedFold) -> None:
    await upsert(conn, posts, [fold.posts[p] for p in sorted(fold.dirty_posts)], keys=["id"])
    added = [(pair, fold.follows[pair]) for pair in sorted(fold.dirty_follows)]
    kept = [(pair, position) for pair, position in added if position is not None]
    gone = [pair for pair, position in added if position is None]
    if kept:
        await conn.execute(
            _ADD_FOLLOWS,
            {"u": [p[0] for p, _ in kept], "c": [p[1] for p, _ in kept], "p": [n for _, n in kept]},
        )
    if gone:
        await conn.execute(_DROP_FOLLOWS, {"u": [p[0] for p in gone], "c": [p[1] for p in gone]})
    if fold.new_engagements:
        new = sorted(fold.new_engagements)
        await conn.execute(
            _ADD_ENGAGEMENTS,
            {"p": [t[0] for t in new], "u": [t[1] for t in new], "k": [t[2] for t in new]},
        )
    deltas = fold.count_deltas()
    if deltas:
        await conn.execute(
            _ADD_COUNTS,
            {"c": [d[0] for d in deltas], "f": [d[1] for d in deltas], "p": [d[2] for d in deltas]},
        )
