"""Product listings: arguments checked and turned into one keyset query per listing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from readmodels.catalog.listing import (
    ALL_PRODUCTS,
    ListingFilter,
    ListingQuery,
    ProductSort,
    category_scope,
    collection_scope,
    store_scope,
)
from readmodels.catalog.rows import ListingPage, ProductRow
from resolvers.catalog.loaders import ListingPageLoader, ProductByIdLoader
from resolvers.context import RequestContext
from resolvers.errors import BadUserInputError
from resolvers.futures import then
from resolvers.ids import decode_id_of
from resolvers.pagination import (
    Connection,
    Edge,
    connection,
    decode_cursor,
    encode_cursor,
    page_size,
)

MAX_SEARCH_LENGTH = 200
MAX_TAGS = 20


@dataclass(frozen=True, slots=True)
class ProductFilterArgs:
    """The ProductFilter input, with unset fields as None."""

    category_id: str | None = None
    include_subcategories: bool | None = True
    collection_id: str | None = None
    store_id: str | None = None
    in_stock: bool | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    tags: Sequence[str] | None = None
    search: str | None = None


def resolve_listing(
    context: RequestContext,
    *,
    scope: str | None,
    first: int | None,
    after: str | None,
    sort: ProductSort | None,
    product_filter: ProductFilterArgs | None = None,
) -> asyncio.Future[Connection[ProductRow]]:
    """A page of a listing; `scope` is the listing the field belongs to (None: the catalog)."""
    sort = sort or ProductSort.FEATURED
    size = page_size(first)
    scopes = [scope] if scope else []
    listing_filter = ListingFilter()
    if product_filter is not None:
        scopes.extend(_filter_scopes(product_filter))
        listing_filter = _listing_filter(product_filter)
    primary, *others = scopes or [ALL_PRODUCTS]
    listing_filter = ListingFilter(
        also_in=tuple(dict.fromkeys(s for s in others if s != primary)),
        in_stock=listing_filter.in_stock,
        min_price=listing_filter.min_price,
        max_price=listing_filter.max_price,
        tags=listing_filter.tags,
        search=listing_filter.search,
    )
    after_key = decode_cursor(after, sort) if after else None
    query = ListingQuery(primary, sort, size, after_key, listing_filter)
    page = context.loader(ListingPageLoader).load(query)
    total_key = (primary, listing_filter)
    return then(page, lambda p: _connection(context, p, sort, after is not None, total_key))


def _filter_scopes(f: ProductFilterArgs) -> list[str]:
    scopes = []
    if f.collection_id is not None:
        scopes.append(
            collection_scope(decode_id_of("Collection", f.collection_id, argument="collectionId"))
        )
    if f.category_id is not None:
        category = decode_id_of("Category", f.category_id, argument="categoryId")
        scopes.append(category_scope(category, f.include_subcategories is not False))
    if f.store_id is not None:
        scopes.append(store_scope(decode_id_of("Store", f.store_id, argument="storeId")))
    return scopes


def _listing_filter(f: ProductFilterArgs) -> ListingFilter:
    search = (f.search or "").strip() or None
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise BadUserInputError(
            f"filter.search: at most {MAX_SEARCH_LENGTH} characters", argument="filter.search"
        )
    tags = tuple(sorted(set(f.tags or ())))
    if len(tags) > MAX_TAGS:
        raise BadUserInputError(f"filter.tags: at most {MAX_TAGS} tags", argument="filter.tags")
    for name, value in (("minPrice", f.min_price), ("maxPrice", f.max_price)):
        if value is not None and not value.is_finite():
            raise BadUserInputError(f"filter.{name}: must be a finite amount", argument=name)
    return ListingFilter(
        in_stock=f.in_stock,
        min_price=f.min_price,
        max_price=f.max_price,
        tags=tags,
        search=search,
    )


def _connection(
    context: RequestContext,
    page: ListingPage,
    sort: ProductSort,
    has_previous: bool,
    total_key: Any,
) -> Connection[ProductRow]:
    products = context.loader(ProductByIdLoader)
    edges = []
    for item in page.items:
        products.prime(item.product.id, item.product)
        edges.append(Edge(encode_cursor(sort, item.key), item.product))
    return connection(
        edges, has_next=page.has_next_page, has_previous=has_previous, total_key=total_key
    )
