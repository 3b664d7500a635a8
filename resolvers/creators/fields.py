"""Field resolvers of creator profiles."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry
from strawberry.types import Info

from readmodels.catalog.rows import StoreRow
from readmodels.creators.rows import CreatorRow
from resolvers.catalog.loaders import StoreByIdLoader
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByHandleLoader
from resolvers.ids import encode_id
from resolvers.pagination import EMPTY_PAGE_INFO, Connection, page_size
from resolvers.tracing import traced

Ctx = Info[RequestContext, Any]


def creator_id(root: CreatorRow) -> str:
    return encode_id("Creator", root.id)


@traced
def creator_store(root: CreatorRow, info: Ctx) -> asyncio.Future[StoreRow | None] | None:
    if root.store_id is None:
        return None
    return info.context.loader(StoreByIdLoader).load(root.store_id)


def creator_viewer_follows(root: CreatorRow) -> bool:
    # Follows are projected by the feeds work (issue 8); nobody follows anyone yet.
    return False


def creator_posts(
    root: CreatorRow, first: int | None = 20, after: str | None = strawberry.UNSET
) -> Connection[Any]:
    # Posts are projected by the feeds work (issue 8): an empty page until then.
    page_size(first)
    return Connection([], EMPTY_PAGE_INFO, None)


def resolve_creator(context: RequestContext, handle: str) -> asyncio.Future[CreatorRow | None]:
    return context.loader(CreatorByHandleLoader).load(handle)
