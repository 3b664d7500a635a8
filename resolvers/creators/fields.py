"""Field resolvers of creator profiles."""

from __future__ import annotations

import asyncio
from typing import Any

from strawberry.types import Info

from readmodels.catalog.rows import StoreRow
from readmodels.creators.rows import CreatorRow
from resolvers.catalog.loaders import StoreByIdLoader
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByHandleLoader
from resolvers.feeds import follows
from resolvers.ids import encode_id
from resolvers.tracing import traced

Ctx = Info[RequestContext, Any]


def creator_id(root: CreatorRow) -> str:
    return encode_id("Creator", root.id)


@traced
def creator_store(root: CreatorRow, info: Ctx) -> asyncio.Future[StoreRow | None] | None:
    if root.store_id is None:
        return None
    return info.context.loader(StoreByIdLoader).load(root.store_id)


def creator_viewer_follows(root: CreatorRow, info: Ctx) -> asyncio.Future[bool] | bool:
    """Whether the viewer follows this creator (False for anonymous requests)."""
    return follows.viewer_follows(info.context, root.id)


def resolve_creator(context: RequestContext, handle: str) -> asyncio.Future[CreatorRow | None]:
    return context.loader(CreatorByHandleLoader).load(handle)
