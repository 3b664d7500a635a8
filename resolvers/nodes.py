"""`node(id)`: any object by its global id, with the same access as the type's own field.

Every Node type but one is public catalog or social data, served to anyone
exactly as its root field (`product`, `post`...) serves it: the loaders
already leave out what is not visible (a deleted product, an unpublished
post). An Insight is its creator's: `resolve_insight_node` lets only that
creator, or an ADMIN, see it (UNAUTHENTICATED when anonymous, FORBIDDEN for
anyone else, before anything is computed), and its answer is cached PRIVATE
(`schema.cache_hints`). A new Node type must be classified here, public or
checked; `tests/unit/test_node_access.py` fails until it is.
"""

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

# Public Node types and their loaders.
_LOADERS: dict[str, type] = {
    "Product": ProductByIdLoader,
    "Store": StoreByIdLoader,
    "Category": CategoryByIdLoader,
    "Collection": CollectionByIdLoader,
    "Creator": CreatorByIdLoader,
    "Promotion": PromotionByIdLoader,
    "Post": PostByIdLoader,
}
PUBLIC_NODE_TYPES = frozenset(_LOADERS)
# Node types served to their owner alone, each with its check in `resolve_node`.
CHECKED_NODE_TYPES = frozenset({"Insight"})


def resolve_node(context: RequestContext, global_id: str) -> asyncio.Future[Any] | None:
    type_name, source_id = decode_id(global_id)
    if type_name == "Insight":  # not stored: computed for its owner alone
        return resolve_insight_node(context, global_id)
    loader_class = _LOADERS.get(type_name)
    if loader_class is None:
        return None  # a type whose domain is not served yet
    return context.loader(loader_class).load(source_id)
