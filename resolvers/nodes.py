"""`node(id)`: any object by its global id."""

from __future__ import annotations

import asyncio
from typing import Any

from resolvers.catalog.loaders import (
    CategoryByIdLoader,
    CollectionByIdLoader,
    ProductByIdLoader,
    StoreByIdLoader,
)
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.feeds.loaders import PostByIdLoader
from resolvers.ids import decode_id
from resolvers.insights.lookup import resolve_insight_node
from resolvers.pricing.loaders import PromotionByIdLoader

_LOADERS: dict[str, type] = {
    "Product": ProductByIdLoader,
    "Store": StoreByIdLoader,
    "Category": CategoryByIdLoader,
    "Collection": CollectionByIdLoader,
    "Creator": CreatorByIdLoader,
    "Promotion": PromotionByIdLoader,
    "Post": PostByIdLoader,
}


def resolve_node(context: RequestContext, global_id: str) -> asyncio.Future[Any] | None:
    type_name, source_id = decode_id(global_id)
    if type_name == "Insight":  # not stored: computed for its owner alone
        return resolve_insight_node(context, global_id)
    loader_class = _LOADERS.get(type_name)
    if loader_class is None:
        return None  # a type whose domain is not served yet
    return context.loader(loader_class).load(source_id)
