"""Read-model queries of the follow graph, aligned with their keys.

`follows` rows come from the feeds projection alone (the follow/unfollow
mutations append events and return their position: see
`resolvers.feeds.mutations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from readmodels.reader import Reader

_BY_PAIRS = """
    SELECT k.n
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(u, c, n)
    JOIN follows f ON f.user_id = k.u AND f.creator_id = k.c
"""

# Newest follow first; keyset on (position, creator_id) after the follow of `a`.
_PAGES = """
    SELECT k.n, p.creator_id
    FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS k(u, a, l, n)
    LEFT JOIN follows af ON af.user_id = k.u AND af.creator_id = k.a
    CROSS JOIN LATERAL (
        SELECT f.creator_id, f.position
        FROM follows f
        WHERE f.user_id = k.u
          AND (k.a IS NULL OR (f.position, f.creator_id) < (af.position, af.creator_id))
        ORDER BY f.position DESC, f.creator_id DESC
        LIMIT k.l
    ) p
    ORDER BY k.n, p.position DESC, p.creator_id DESC
"""


class FollowingPageKey(NamedTuple):
    """One page of a user's follows: up to `limit` creators followed before `after`'s follow."""

    user_id: str
    after: str | None
    limit: int


async def follows_by_pairs(db: Reader, keys: Sequence[tuple[str, str]]) -> list[bool]:
    """Whether each (user id, creator id) is a follow, in key order (one statement)."""
    rows = await db.fetch(_BY_PAIRS, [k[0] for k in keys], [k[1] for k in keys])
    found = {int(row["n"]) for row in rows}
    return [n in found for n in range(1, len(keys) + 1)]


async def following_page(db: Reader, keys: Sequence[FollowingPageKey]) -> list[list[str]]:
    """Each key's followed creator ids, newest follow first (one statement). An `after`
    the user does not follow (any more) yields an empty page: there is no place to resume."""
    rows = await db.fetch(
        _PAGES,
        [k.user_id for k in keys],
        [k.after for k in keys],
        [k.limit for k in keys],
    )
    pages: list[list[str]] = [[] for _ in keys]
    for row in rows:
        pages[int(row["n"]) - 1].append(row["creator_id"])
    return pages
