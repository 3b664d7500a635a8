"""Root fields of the catalog: lookups by id or slug, and the catalog listing."""

from __future__ import annotations

import asyncio

from readmodels.catalog.queries import ROOT
from readmodels.catalog.rows import CategoryRow, CollectionRow, ProductRow, StoreRow
from resolvers.catalog.loaders import (
    CategoryByIdLoader,
    CategoryBySlugLoader,
    CategoryChildrenByParentLoader,
    CollectionBySlugLoader,
    ProductByIdLoader,
    ProductBySlugLoader,
    StoreBySlugLoader,
)
from resolvers.context import RequestContext
from resolvers.errors import BadUserInputError
from resolvers.ids import decode_id_of


def _exactly_one() -> BadUserInputError:
    return BadUserInputError("pass exactly one of `id` and `slug`")


def resolve_product(
    context: RequestContext, id_: str | None, slug: str | None
) -> asyncio.Future[ProductRow | None]:
    if id_ is not None and slug is None:
        source_id = decode_id_of("Product", id_, argument="id")
        return context.loader(ProductByIdLoader).load(source_id)
    if slug is not None and id_ is None:
        return context.loader(ProductBySlugLoader).load(slug)
    raise _exactly_one()


def resolve_category(
    context: RequestContext, id_: str | None, slug: str | None
) -> asyncio.Future[CategoryRow | None]:
    if id_ is not None and slug is None:
        source_id = decode_id_of("Category", id_, argument="id")
        return context.loader(CategoryByIdLoader).load(source_id)
    if slug is not None and id_ is None:
        return context.loader(CategoryBySlugLoader).load(slug)
    raise _exactly_one()


def resolve_categories(
    context: RequestContext, parent_id: str | None
) -> asyncio.Future[list[CategoryRow]]:
    parent = ROOT if parent_id is None else decode_id_of("Category", parent_id, argument="parentId")
    return context.loader(CategoryChildrenByParentLoader).load(parent)


def resolve_collection(context: RequestContext, slug: str) -> asyncio.Future[CollectionRow | None]:
    return context.loader(CollectionBySlugLoader).load(slug)


def resolve_store(context: RequestContext, slug: str) -> asyncio.Future[StoreRow | None]:
    return context.loader(StoreBySlugLoader).load(slug)
