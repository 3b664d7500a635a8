"""Read-model queries of posts, feeds and creator counts: one statement per call,
results aligned with keys.

Every listing is newest first by (published_at, id) and keyset-paged on that
pair, so a page starts strictly after the previous page's last post: posts
published meanwhile land before the first page, never inside the walk (no
duplicates, no gaps). A feed fans out on read (docs/feeds.md), by one of two
walks depending on how many creators the user follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from readmodels.feeds.rows import PostPage, PostRow
from readmodels.reader import Reader

_COLUMNS = "p.id, p.creator_id, p.body, p.product_ids, p.published_at, p.likes, p.shares, p.remixes"
_BY_IDS = f"SELECT {_COLUMNS} FROM posts p WHERE p.id = ANY($1) AND p.published"
# "infinity" sorts after every instant: no cursor means from the newest.
_AFTER = "(p.published_at, p.id) < (coalesce(k.at, 'infinity'), coalesce(k.id, ''))"
_CREATOR_PAGES = f"""
SELECT k.i, {_COLUMNS}
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::int[]) WITH ORDINALITY
    AS k(creator_id, at, id, n, i)
CROSS JOIN LATERAL (
    SELECT {_COLUMNS} FROM posts p
    WHERE p.creator_id = k.creator_id AND p.published AND {_AFTER}
    ORDER BY p.published_at DESC, p.id DESC
    LIMIT k.n
) AS p
ORDER BY k.i, p.published_at DESC, p.id DESC
"""
DENSE_FOLLOWS = 200
"""From this many follows a feed walks the newest posts of everyone instead (docs/feeds.md)."""
# Per user, one of two walks, picked by a one-time filter on the number of
# follows (counted up to DENSE_FOLLOWS). Few follows: one descent of
# ix_posts_creator_newest per followed creator, merged. Many follows: the newest
# posts of everyone backwards on ix_posts_newest, keeping those of followed
# creators (a primary-key probe each, as a subplan the planner cannot turn into
# a join) until the page is full.
_FEED_PAGES = f"""
SELECT k.i, page.*
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::int[]) WITH ORDINALITY
    AS k(user_id, at, id, n, i)
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (
        SELECT FROM follows f WHERE f.user_id = k.user_id LIMIT {DENSE_FOLLOWS}
    ) AS capped
) AS c
CROSS JOIN LATERAL (
    (
        SELECT {_COLUMNS}
        FROM follows f
        CROSS JOIN LATERAL (
            SELECT {_COLUMNS} FROM posts p
            WHERE p.creator_id = f.creator_id AND p.published AND {_AFTER}
            ORDER BY p.published_at DESC, p.id DESC
            LIMIT k.n
        ) AS p
        WHERE c.n < {DENSE_FOLLOWS} AND f.user_id = k.user_id
        ORDER BY p.published_at DESC, p.id DESC
        LIMIT k.n
    )
    UNION ALL
    (
        SELECT {_COLUMNS} FROM posts p
        WHERE c.n >= {DENSE_FOLLOWS} AND p.published AND {_AFTER}
          AND (
              SELECT true FROM follows f
              WHERE f.user_id = k.user_id AND f.creator_id = p.creator_id
          )
        ORDER BY p.published_at DESC, p.id DESC
        LIMIT k.n
    )
) AS page
ORDER BY k.i, page.published_at DESC, page.id DESC
"""
_COUNTS = "SELECT creator_id, followers, posts FROM creator_counts WHERE creator_id = ANY($1)"


class PostCursor(NamedTuple):
    """The sort key of the last post of a page: the next page starts after it."""

    published_at: datetime
    id: str


class PostPageQuery(NamedTuple):
    """A page of one owner's listing: a creator's posts, or a user's feed."""

    owner_id: str
    first: int
    after: PostCursor | None


class CreatorCounts(NamedTuple):
    followers: int
    posts: int


NO_COUNTS = CreatorCounts(0, 0)


def _post(r: Any) -> PostRow:
    return PostRow(
        r["id"],
        r["creator_id"],
        r["body"],
        tuple(r["product_ids"]),
        r["published_at"],
        r["likes"],
        r["shares"],
        r["remixes"],
    )


async def posts_by_ids(db: Reader, ids: Sequence[str]) -> list[PostRow | None]:
    """Published posts by id; None for a missing or unpublished one."""
    found = {r["id"]: _post(r) for r in await db.fetch(_BY_IDS, list(ids))}
    return [found.get(i) for i in ids]


async def creator_post_pages(db: Reader, keys: Sequence[PostPageQuery]) -> list[PostPage]:
    """Pages of creators' published posts, newest first."""
    return await _pages(db, _CREATOR_PAGES, keys)


async def feed_pages(db: Reader, keys: Sequence[PostPageQuery]) -> list[PostPage]:
    """Pages of users' feeds: the published posts of the creators each follows, newest first."""
    return await _pages(db, _FEED_PAGES, keys)


async def _pages(db: Reader, sql: str, keys: Sequence[PostPageQuery]) -> list[PostPage]:
    if not keys:
        return []
    rows = await db.fetch(
        sql,
        [k.owner_id for k in keys],
        [None if k.after is None else k.after.published_at for k in keys],
        [None if k.after is None else k.after.id for k in keys],
        [k.first + 1 for k in keys],  # one more says whether a next page exists
    )
    items: list[list[PostRow]] = [[] for _ in keys]
    for r in rows:
        items[r["i"] - 1].append(_post(r))
    return [
        PostPage(found[: k.first], len(found) > k.first)
        for found, k in zip(items, keys, strict=True)
    ]


async def creator_counts(db: Reader, creator_ids: Sequence[str]) -> list[CreatorCounts]:
    """Follower and published-post counts per creator; zeros for a creator with none."""
    rows = await db.fetch(_COUNTS, list(creator_ids))
    found = {r["creator_id"]: CreatorCounts(r["followers"], r["posts"]) for r in rows}
    return [found.get(c, NO_COUNTS) for c in creator_ids]
