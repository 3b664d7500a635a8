"""Read-model queries of the catalog: one statement per call, results aligned with keys.

These are what DataLoader batch functions call. Each returns a list in the
order of its keys with None (or an empty list) for a missing key, so a
loader never has to reorder anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.catalog.listing import (
    ListingFilter,
    ListingQuery,
    count_statement,
    page_statement,
)
from readmodels.catalog.rows import (
    CategoryRow,
    CollectionRow,
    ListedProduct,
    ListingPage,
    ProductRow,
    StoreRow,
)
from readmodels.catalog.tables import (
    categories,
    collection_products,
    collections,
    listing_counts,
    products,
    stores,
)
from readmodels.sql import any_of

PRODUCT_COLUMNS = (
    products.c.id,
    products.c.store_id,
    products.c.slug,
    products.c.sku,
    products.c.title,
    products.c.description,
    products.c.featured,
    products.c.listed,
    products.c.tags,
    products.c.images,
    products.c.category_id,
    products.c.currency_code,
    products.c.base_price,
    products.c.min_unit_price,
    products.c.max_unit_price,
    products.c.tiers,
    products.c.segment_prices,
    products.c.on_hand,
    products.c.rating_sum,
    products.c.rating_count,
    products.c.units_sold,
    products.c.updated_at,
)
_VISIBLE = and_(products.c.upserted.is_(True), products.c.deleted.is_(False))
_CATEGORY_COLUMNS = (
    categories.c.id,
    categories.c.slug,
    categories.c.name,
    categories.c.parent_id,
    categories.c.position,
    categories.c.ancestor_ids,
    categories.c.product_count,
)


def _aligned(keys: Sequence[Any], found: dict[Any, Any]) -> list[Any]:
    return [found.get(key) for key in keys]


async def products_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[ProductRow | None]:
    stmt = select(*PRODUCT_COLUMNS).where(any_of(products.c.id, ids), _VISIBLE)
    rows = (await conn.execute(stmt)).mappings()
    return _aligned(ids, {r["id"]: ProductRow.from_record(r) for r in rows})


async def products_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> list[ProductRow | None]:
    # Slugs are not unique across history (a slug can move between products);
    # the most recently changed product holding it wins.
    stmt = (
        select(*PRODUCT_COLUMNS)
        .ext(distinct_on(products.c.slug))
        .where(any_of(products.c.slug, slugs), _VISIBLE)
        .order_by(products.c.slug, products.c.version.desc())
    )
    rows = (await conn.execute(stmt)).mappings()
    return _aligned(slugs, {r["slug"]: ProductRow.from_record(r) for r in rows})


def _store(r: Any) -> StoreRow:
    return StoreRow(r.id, r.slug, r.name, r.currency_code, r.owner_creator_id)


_STORE_COLUMNS = (
    stores.c.id,
    stores.c.slug,
    stores.c.name,
    stores.c.currency_code,
    stores.c.owner_creator_id,
)


async def stores_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[StoreRow | None]:
    rows = await conn.execute(select(*_STORE_COLUMNS).where(any_of(stores.c.id, ids)))
    return _aligned(ids, {r.id: _store(r) for r in rows})


async def stores_by_slugs(conn: AsyncConnection, slugs: Sequence[str]) -> list[StoreRow | None]:
    stmt = (
        select(*_STORE_COLUMNS)
        .ext(distinct_on(stores.c.slug))
        .where(any_of(stores.c.slug, slugs))
        .order_by(stores.c.slug, stores.c.version.desc())
    )
    return _aligned(slugs, {r.slug: _store(r) for r in await conn.execute(stmt)})


def _category(r: Any) -> CategoryRow:
    return CategoryRow(
        r.id, r.slug, r.name, r.parent_id, r.position, list(r.ancestor_ids), r.product_count
    )


async def categories_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[CategoryRow | None]:
    rows = await conn.execute(select(*_CATEGORY_COLUMNS).where(any_of(categories.c.id, ids)))
    return _aligned(ids, {r.id: _category(r) for r in rows})


async def categories_by_slugs(
    conn: AsyncConnection, slugs: Sequence[str]
) -> list[CategoryRow | None]:
    stmt = (
        select(*_CATEGORY_COLUMNS)
        .ext(distinct_on(categories.c.slug))
        .where(any_of(categories.c.slug, slugs))
        .order_by(categories.c.slug, categories.c.version.desc())
    )
    return _aligned(slugs, {r.slug: _category(r) for r in await conn.execute(stmt)})


ROOT = ""
"""The parent key of root categories in `category_children`."""


async def category_children(
    conn: AsyncConnection, parent_ids: Sequence[str]
) -> list[list[CategoryRow]]:
    """Children of each parent, by position then name; ROOT asks for the root categories."""
    parents = [p for p in parent_ids if p != ROOT]
    condition = any_of(categories.c.parent_id, parents)
    if ROOT in parent_ids:
        condition = condition | categories.c.parent_id.is_(None)
    stmt = (
        select(*_CATEGORY_COLUMNS)
        .where(condition)
        .order_by(categories.c.position, categories.c.name, categories.c.id)
    )
    children: dict[str, list[CategoryRow]] = {p: [] for p in parent_ids}
    for r in await conn.execute(stmt):
        children.setdefault(r.parent_id or ROOT, []).append(_category(r))
    return [children[p] for p in parent_ids]


def _collection(r: Any) -> CollectionRow:
    return CollectionRow(r.id, r.slug, r.title)


_COLLECTION_COLUMNS = (collections.c.id, collections.c.slug, collections.c.title)


async def collections_by_ids(
    conn: AsyncConnection, ids: Sequence[str]
) -> list[CollectionRow | None]:
    rows = await conn.execute(select(*_COLLECTION_COLUMNS).where(any_of(collections.c.id, ids)))
    return _aligned(ids, {r.id: _collection(r) for r in rows})


async def collections_by_slugs(
    conn: AsyncConnection, slugs: Sequence[str]
) -> list[CollectionRow | None]:
    stmt = (
        select(*_COLLECTION_COLUMNS)
        .ext(distinct_on(collections.c.slug))
        .where(any_of(collections.c.slug, slugs))
        .order_by(collections.c.slug, collections.c.version.desc())
    )
    return _aligned(slugs, {r.slug: _collection(r) for r in await conn.execute(stmt)})


async def collections_by_products(
    conn: AsyncConnection, product_ids: Sequence[str]
) -> list[list[CollectionRow]]:
    stmt = (
        select(collection_products.c.product_id, *_COLLECTION_COLUMNS)
        .join(collections, collections.c.id == collection_products.c.collection_id)
        .where(any_of(collection_products.c.product_id, product_ids))
        .order_by(collections.c.title, collections.c.id)
    )
    found: dict[str, list[CollectionRow]] = {p: [] for p in product_ids}
    for r in await conn.execute(stmt):
        found[r.product_id].append(_collection(r))
    return [found[p] for p in product_ids]


async def listing_page(conn: AsyncConnection, query: ListingQuery) -> ListingPage:
    """One page of a listing: rows in sort order, and whether more follow."""
    width = len(PRODUCT_COLUMNS)
    result = await conn.execute(page_statement(query, PRODUCT_COLUMNS))
    items = [
        ListedProduct(ProductRow.from_record(r._mapping), tuple(r[width:])) for r in result.all()
    ]
    has_next = len(items) > query.first
    return ListingPage(items[: query.first], has_next)


async def listing_totals(
    conn: AsyncConnection, keys: Sequence[tuple[str, ListingFilter]]
) -> list[int]:
    """Total products of each (scope, filter): precomputed counts unless filtered."""
    plain = sorted({scope for scope, f in keys if f.is_empty})
    totals: dict[tuple[str, ListingFilter], int] = {}
    if plain:
        rows = await conn.execute(
            select(listing_counts.c.scope, listing_counts.c.count.label("total")).where(
                any_of(listing_counts.c.scope, plain)
            )
        )
        counts = {r.scope: r.total for r in rows}
        for scope in plain:
            totals[(scope, ListingFilter())] = counts.get(scope, 0)
    for scope, listing_filter in keys:
        if (scope, listing_filter) not in totals:
            total = (await conn.execute(count_statement(scope, listing_filter))).scalar_one()
            totals[(scope, listing_filter)] = int(total)
    return [totals[key] for key in keys]
