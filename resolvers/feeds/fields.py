"""Field resolvers of posts, creators' post listings, the viewer's feed and creator counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from readmodels.catalog.rows import ProductRow
from readmodels.creators.rows import CreatorRow
from readmodels.feeds.queries import CreatorCounts, PostCursor, PostPageQuery
from readmodels.feeds.rows import PostPage, PostRow
from resolvers.catalog.loaders import ProductByIdLoader
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.errors import ForbiddenError, InvalidCursorError, UnauthenticatedError
from resolvers.feeds.access import CUSTOMER
from resolvers.feeds.loaders import (
    CreatorCountsByCreatorLoader,
    CreatorPostsLoader,
    FeedPageLoader,
    PostByIdLoader,
)
from resolvers.futures import then
from resolvers.ids import decode_id_of, encode_id, is_source_id
from resolvers.pagination import (
    Connection,
    Edge,
    connection,
    cursor_values,
    opaque_cursor,
    page_size,
)

Ctx = Info[RequestContext, Any]

_FEED = "feed"
_CREATOR_POSTS = "posts"


def encode_post_cursor(kind: str, row: PostRow) -> str:
    return opaque_cursor([kind, row.published_at.isoformat(), row.id])


def decode_post_cursor(kind: str, cursor: str) -> PostCursor:
    """The post after which the next page starts; InvalidCursorError for anything else."""
    values = cursor_values(cursor)
    try:
        if (
            isinstance(values, list)
            and len(values) == 3
            and values[0] == kind
            and isinstance(values[1], str)
            and isinstance(values[2], str)
        ):
            at = datetime.fromisoformat(values[1])
            if at.tzinfo is not None and is_source_id(values[2]):
                at = at.astimezone(UTC)  # PostgreSQL's range: years 1 to 9999 in UTC
                return PostCursor(at, values[2])
    except (ValueError, OverflowError):  # not an instant, or none PostgreSQL holds
        pass
    raise InvalidCursorError(f"after: not a {kind} cursor this API issued", argument="after")


def _page_query(owner_id: str, kind: str, first: int | None, after: str | None) -> PostPageQuery:
    cursor = None if after is None else decode_post_cursor(kind, after)
    return PostPageQuery(owner_id, page_size(first), cursor)


def _connection(kind: str, page: PostPage, has_previous: bool) -> Connection[PostRow]:
    edges = [Edge(encode_post_cursor(kind, row), row) for row in page.items]
    return connection(edges, has_next=page.has_next_page, has_previous=has_previous)


# ---------------------------------------------------------------- Post


def post_id(root: PostRow) -> str:
    return encode_id("Post", root.id)


def post_author(root: PostRow, info: Ctx) -> asyncio.Future[CreatorRow | None]:
    return info.context.loader(CreatorByIdLoader).load(root.creator_id)


def post_products(root: PostRow, info: Ctx) -> asyncio.Future[list[ProductRow]]:
    """The linked products still visible and listed, in the post's order."""
    found = info.context.loader(ProductByIdLoader).load_many(list(root.product_ids))
    return then(found, lambda rows: [row for row in rows if row is not None and row.listed])


def post_engagement(root: PostRow) -> PostRow:
    return root  # the row carries likes, shares and remixes


# ---------------------------------------------------------------- Creator


def creator_posts(
    root: CreatorRow, info: Ctx, first: int | None = 20, after: str | None = strawberry.UNSET
) -> asyncio.Future[Connection[PostRow]]:
    after = after or None
    query = _page_query(root.id, _CREATOR_POSTS, first, after)
    page = info.context.loader(CreatorPostsLoader).load(query)
    return then(page, lambda found: _connection(_CREATOR_POSTS, found, after is not None))


def _counts(root: CreatorRow, info: Ctx) -> asyncio.Future[CreatorCounts]:
    return info.context.loader(CreatorCountsByCreatorLoader).load(root.id)


def creator_follower_count(root: CreatorRow, info: Ctx) -> asyncio.Future[int]:
    return then(_counts(root, info), lambda counts: counts.followers)


def creator_post_count(root: CreatorRow, info: Ctx) -> asyncio.Future[int]:
    return then(_counts(root, info), lambda counts: counts.posts)


# ---------------------------------------------------------------- Query


def resolve_feed(
    context: RequestContext, first: int | None, after: str | None
) -> asyncio.Future[Connection[PostRow]]:
    """The signed-in customer's feed; anonymous callers get UNAUTHENTICATED, tokens
    without the CUSTOMER role FORBIDDEN (as for the follow mutations)."""
    viewer = context.viewer
    if viewer is None:
        raise UnauthenticatedError("feed: sign in to see the posts of the creators you follow")
    if CUSTOMER not in viewer.roles:
        raise ForbiddenError("feed: a feed is a customer's: sign in with a user token")
    query = _page_query(viewer.id, _FEED, first, after)
    page = context.loader(FeedPageLoader).load(query)
    return then(page, lambda found: _connection(_FEED, found, after is not None))


def resolve_post(context: RequestContext, global_id: str) -> asyncio.Future[PostRow | None]:
    source_id = decode_id_of("Post", global_id, argument="id")
    return context.loader(PostByIdLoader).load(source_id)
