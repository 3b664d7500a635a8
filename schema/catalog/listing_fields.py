"""Listing fields (Store/Category/Collection.products): their GraphQL arguments,
normalised and handed to `resolvers.catalog.listings`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from readmodels.catalog.listing import ProductSort, category_scope, collection_scope, store_scope
from readmodels.catalog.rows import CategoryRow, CollectionRow, StoreRow
from resolvers.catalog.listings import resolve_listing
from resolvers.context import RequestContext
from resolvers.tracing import traced
from schema.node import unset_to_none

if TYPE_CHECKING:
    from schema.catalog.inputs import ProductFilter

Ctx = Info[RequestContext, Any]
FilterArg = Annotated["ProductFilter", strawberry.lazy("schema.catalog.inputs")]


def _listing(
    info: Ctx,
    scope: str | None,
    first: int | None,
    after: str | None,
    sort: ProductSort | None,
    product_filter: ProductFilter | None = None,
) -> Any:
    product_filter = unset_to_none(product_filter)
    return resolve_listing(
        info.context,
        scope=scope,
        first=first,
        after=unset_to_none(after),
        sort=sort,
        product_filter=None if product_filter is None else product_filter.to_args(),
    )


@traced
def store_products(
    root: StoreRow,
    info: Ctx,
    first: int | None = 20,
    after: str | None = strawberry.UNSET,
    sort: ProductSort | None = ProductSort.FEATURED,
) -> Any:
    return _listing(info, store_scope(root.id), first, after, sort)


@traced
def collection_products(
    root: CollectionRow,
    info: Ctx,
    first: int | None = 20,
    after: str | None = strawberry.UNSET,
    sort: ProductSort | None = ProductSort.FEATURED,
) -> Any:
    return _listing(info, collection_scope(root.id), first, after, sort)


@traced
def category_products(
    root: CategoryRow,
    info: Ctx,
    first: int | None = 20,
    after: str | None = strawberry.UNSET,
    filter: FilterArg | None = strawberry.UNSET,
    sort: ProductSort | None = ProductSort.FEATURED,
) -> Any:
    product_filter = unset_to_none(filter)
    include = True if product_filter is None else product_filter.include_subcategories
    scope = category_scope(root.id, include is not False)
    return _listing(info, scope, first, after, sort, product_filter)


@traced
def all_products(
    root: Any,
    info: Ctx,
    first: int | None = 20,
    after: str | None = strawberry.UNSET,
    filter: FilterArg | None = strawberry.UNSET,
    sort: ProductSort | None = ProductSort.FEATURED,
) -> Any:
    return _listing(info, None, first, after, sort, filter)
