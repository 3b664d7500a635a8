"""Catalog DataLoaders, one per (entity, key): one statement per batch, keys in order.

Each names the cache tags of what it reads (see `resolvers.dataloaders`);
the catalog projection announces the same tags when those rows change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from readmodels.catalog import queries
from readmodels.catalog.listing import ListingFilter, ListingQuery
from readmodels.catalog.rows import CategoryRow, CollectionRow, ListingPage, ProductRow, StoreRow
from readmodels.reader import Reader
from resolvers.dataloaders import RowLoader


class ProductByIdLoader(
    RowLoader[str, ProductRow | None],
    query=queries.products_by_ids,
    tag="product",
    key_tag="product",
):
    """Visible (upserted, not deleted) products by source id; listings prime it."""


class ProductBySlugLoader(
    RowLoader[str, ProductRow | None],
    query=queries.products_by_slugs,
    tag="product",
    key_tag="product-slug",
):
    """Visible products by slug (the newest holder of a slug wins)."""


class StoreByIdLoader(
    RowLoader[str, StoreRow | None], query=queries.stores_by_ids, tag="store", key_tag="store"
):
    """Stores by source id."""


class StoreBySlugLoader(
    RowLoader[str, StoreRow | None],
    query=queries.stores_by_slugs,
    tag="store",
    key_tag="store-slug",
):
    """Stores by slug."""


class CategoryByIdLoader(
    RowLoader[str, CategoryRow | None],
    query=queries.categories_by_ids,
    tag="category",
    key_tag="category",
):
    """Categories by source id (parents and breadcrumbs)."""


class CategoryBySlugLoader(
    RowLoader[str, CategoryRow | None],
    query=queries.categories_by_slugs,
    tag="category",
    key_tag="category-slug",
):
    """Categories by slug."""


def _children_tags(parent_id: str) -> tuple[str, ...]:
    return (f"category-children:{parent_id or 'root'}",)


class CategoryChildrenByParentLoader(
    RowLoader[str, list[CategoryRow]],
    query=queries.category_children,
    tag="category",
    key_tag=_children_tags,
):
    """Children by parent id, in position order; `queries.ROOT` for the roots."""


class CollectionByIdLoader(
    RowLoader[str, CollectionRow | None],
    query=queries.collections_by_ids,
    tag="collection",
    key_tag="collection",
):
    """Collections by source id."""


class CollectionBySlugLoader(
    RowLoader[str, CollectionRow | None],
    query=queries.collections_by_slugs,
    tag="collection",
    key_tag="collection-slug",
):
    """Collections by slug."""


class CollectionsByProductLoader(
    RowLoader[str, list[CollectionRow]],
    query=queries.collections_by_products,
    tag="collection",
    key_tag="product-collections",
):
    """The collections each product belongs to."""


async def _listing_pages(db: Reader, keys: Sequence[ListingQuery]) -> list[ListingPage]:
    # Listings differ in scope, sort and filter, so each is its own statement;
    # a request rarely holds more than one or two.
    return [await queries.listing_page(db, key) for key in keys]


def listing_tags(scope: str, listing_filter: ListingFilter) -> tuple[str, ...]:
    """A listing's tags: its scope's, and those of the scopes a filter intersects it with.

    The projection tags every listing a product enters, leaves or moves in,
    so these cover pages, counts and filtered walks alike.
    """
    return tuple(f"listing:{s}" for s in (scope, *listing_filter.also_in))


class ListingPageLoader(
    RowLoader[ListingQuery, ListingPage],
    query=_listing_pages,
    tag="product",
    key_tag=lambda query: listing_tags(query.scope, query.filter),
):
    """Pages of product listings (keyset over listing_entries)."""

    def result_tags(self, result: Any) -> Iterable[str]:
        return [f"product:{item.product.id}" for item in result.items]


class ListingTotalLoader(
    RowLoader[tuple[str, ListingFilter], int],
    query=queries.listing_totals,
    key_tag=lambda key: listing_tags(*key),
):
    """totalCount of listings: precomputed counts unless a filter applies."""
