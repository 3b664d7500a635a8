"""Catalog DataLoaders, one per (entity, key)."""

from __future__ import annotations

from readmodels.catalog import queries
from readmodels.catalog.listing import ListingFilter, ListingQuery
from readmodels.catalog.rows import CategoryRow, CollectionRow, ListingPage, ProductRow, StoreRow
from resolvers.dataloaders import RowLoader


class ProductByIdLoader(RowLoader[str, ProductRow | None]):
    """Visible (upserted, not deleted) products by source id."""

    query = staticmethod(queries.products_by_ids)


class ProductBySlugLoader(RowLoader[str, ProductRow | None]):
    query = staticmethod(queries.products_by_slugs)


class StoreByIdLoader(RowLoader[str, StoreRow | None]):
    query = staticmethod(queries.stores_by_ids)


class StoreBySlugLoader(RowLoader[str, StoreRow | None]):
    query = staticmethod(queries.stores_by_slugs)


class CategoryByIdLoader(RowLoader[str, CategoryRow | None]):
    query = staticmethod(queries.categories_by_ids)


class CategoryBySlugLoader(RowLoader[str, CategoryRow | None]):
    query = staticmethod(queries.categories_by_slugs)


class CategoryChildrenByParentLoader(RowLoader[str, list[CategoryRow]]):
    """Children by parent id; `queries.ROOT` for the root categories."""

    query = staticmethod(queries.category_children)


class CollectionByIdLoader(RowLoader[str, CollectionRow | None]):
    query = staticmethod(queries.collections_by_ids)


class CollectionBySlugLoader(RowLoader[str, CollectionRow | None]):
    query = staticmethod(queries.collections_by_slugs)


class CollectionsByProductLoader(RowLoader[str, list[CollectionRow]]):
    query = staticmethod(queries.collections_by_products)


async def _listing_pages(conn: object, keys: list[ListingQuery]) -> list[ListingPage]:
    # Listings differ in scope, sort and filter, so each is its own statement;
    # a request rarely holds more than one or two.
    return [await queries.listing_page(conn, key) for key in keys]  # type: ignore[arg-type]


class ListingPageLoader(RowLoader[ListingQuery, ListingPage]):
    """Pages of product listings; the page's rows also prime ProductByIdLoader."""

    query = staticmethod(_listing_pages)  # type: ignore[arg-type]


class ListingTotalLoader(RowLoader[tuple[str, ListingFilter], int]):
    query = staticmethod(queries.listing_totals)
