"""`Query.trending`: a window's precomputed ranking, then its posts, in rank order.

The request computes nothing: the projection ranked the window as of the last
engagement event; the query keeps published posts still engaged inside the
window now. That filter moves at the next hour boundary, so a cached answer
is kept no longer than that.
"""

from __future__ import annotations

import asyncio

from readmodels.feeds.rows import PostRow
from readmodels.trending import folds
from resolvers.context import RequestContext
from resolvers.errors import BadUserInputError
from resolvers.feeds.loaders import PostByIdLoader
from resolvers.futures import chain, resolved, then
from resolvers.trending.loaders import TrendingLoader

DEFAULT_FIRST = 20
MAX_FIRST = folds.MAX_FIRST


def trending_count(first: int | None) -> int:
    """`first` checked and capped at MAX_FIRST; None means the default."""
    if first is None:
        return DEFAULT_FIRST
    if first < 0:
        raise BadUserInputError("first: must not be negative", argument="first")
    return min(first, MAX_FIRST)


def present(posts: list[PostRow | None]) -> list[PostRow]:
    """The posts still there, in rank order (the loader gives None for a missing one)."""
    return [post for post in posts if post is not None]


def resolve_trending(
    context: RequestContext, window: str, first: int | None
) -> asyncio.Future[list[PostRow]] | list[PostRow]:
    """The window's top `first` posts, best first (a plain `def` returning a future)."""
    if window not in folds.WINDOWS:
        raise BadUserInputError(f"window: unknown window {window!r}", argument="window")
    count = trending_count(first)
    if count == 0:
        return []
    context.fresh_only_until(folds.bucket_hour(context.now) + folds.BUCKET)

    def load_posts(ids: list[str]) -> asyncio.Future[list[PostRow]]:
        if not ids:
            return resolved([])
        return then(context.loader(PostByIdLoader).load_many(ids), present)

    return chain(context.loader(TrendingLoader).load((window, count)), load_posts)
