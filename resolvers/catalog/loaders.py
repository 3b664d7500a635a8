"""Catalog DataLoaders, one per (entity, key): one statement per batch, keys in order."""

from __future__ import annotations

from collections.abc import Sequence

from readmodels.catalog import queries
from readmodels.catalog.listing import ListingFilter, ListingQuery
from readmodels.catalog.rows import CategoryRow, CollectionRow, ListingPage, ProductRow, StoreRow
from readmodels.reader import Reader
from resolvers.dataloaders import RowLoader


class ProductByIdLoader(RowLoader[str, ProductRow | None], query=queries.products_by_ids):
    """Visible (upserted, not deleted) products by source id; listings prime it."""


class ProductBySlugLoader(RowLoader[str, ProductRow | None], query=queries.products_by_slugs):
    """Visible products by slug (the newest holder of a slug wins)."""


class StoreByIdLoader(RowLoader[str, StoreRow | None], query=queries.stores_by_ids):
    """Stores by source id."""


class StoreBySlugLoader(RowLoader[str, StoreRow | None], query=queries.stores_by_slugs):
    """Stores by slug."""


class CategoryByIdLoader(RowLoader[str, CategoryRow | None], query=queries.categories_by_ids):
    """Categories by source id (parents and breadcrumbs)."""


class CategoryBySlugLoader(RowLoader[str, CategoryRow | None], query=queries.categories_by_slugs):
    """Categories by slug."""


class CategoryChildrenByParentLoader(
    RowLoader[str, list[CategoryRow]], query=queries.category_children
):
    """Children by parent id, in position order; `queries.ROOT` for the roots."""


class CollectionByIdLoader(RowLoader[str, CollectionRow | None], query=queries.collections_by_ids):
    """Collections by source id."""


class CollectionBySlugLoader(
    RowLoader[str, CollectionRow | None], query=queries.collections_by_slugs
):
    """Collections by slug."""


class CollectionsByProductLoader(
    RowLoader[str, list[CollectionRow]], query=queries.collections_by_products
):
    """The collections each product belongs to."""


async def _listing_pages(db: Reader, keys: Sequence[ListingQuery]) -> list[ListingPage]:
    # Listings differ in scope, sort and filter, so each is its own statement;
    # a request rarely holds more than one or two.
    return [await queries.listing_page(db, key) for key in keys]


class ListingPageLoader(RowLoader[ListingQuery, ListingPage], query=_listing_pages):
    """Pages of product listings (keyset over listing_entries)."""


class ListingTotalLoader(RowLoader[tuple[str, ListingFilter], int], query=queries.listing_totals):
    """totalCount of listings: precomputed counts unless a filter applies."""
