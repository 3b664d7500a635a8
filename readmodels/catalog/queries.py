"""Read-model queries of the catalog: one statement per call, results aligned with keys.

These are what DataLoader batch functions call. Each returns a list in the
order of its keys with None (or an empty list) for a missing key, so a
loader never has to reorder anything. Every statement is a fixed SQL text
(`= ANY($1)` takes any number of keys), so PostgreSQL plans it once per
connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from readmodels.catalog.listing import (
    KEY_ALIASES,
    SORTS,
    ListingFilter,
    ListingQuery,
    count_sql,
    page_sql,
)
from readmodels.catalog.rows import (
    CategoryRow,
    CollectionRow,
    ListedProduct,
    ListingPage,
    ProductRow,
    StoreRow,
)
from readmodels.reader import Reader

PRODUCT_COLUMNS = (
    "p.id, p.store_id, p.slug, p.sku, p.title, p.description, p.featured, p.listed, p.tags, "
    "p.images, p.category_id, p.currency_code, p.base_price, p.min_unit_price, "
    "p.max_unit_price, p.tiers, p.segment_prices, p.on_hand, p.rating_sum, p.rating_count, "
    "p.units_sold, p.updated_at"
)
_VISIBLE = "p.upserted AND NOT p.deleted"

_PRODUCTS_BY_IDS = f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = ANY($1) AND {_VISIBLE}"
# Slugs are not unique across history (a slug can move between products):
# the most recently changed product holding it wins.
_PRODUCTS_BY_SLUGS = (
    f"SELECT DISTINCT ON (p.slug) {PRODUCT_COLUMNS} FROM products p "
    f"WHERE p.slug = ANY($1) AND {_VISIBLE} ORDER BY p.slug, p.version DESC"
)
_STORE_COLUMNS = "id, slug, name, currency_code, owner_creator_id"
_STORES_BY_IDS = f"SELECT {_STORE_COLUMNS} FROM stores WHERE id = ANY($1)"
_STORES_BY_SLUGS = (
    f"SELECT DISTINCT ON (slug) {_STORE_COLUMNS} FROM stores "
    "WHERE slug = ANY($1) ORDER BY slug, version DESC"
)
_CATEGORY_COLUMNS = "id, slug, name, parent_id, position, ancestor_ids, product_count"
_CATEGORIES_BY_IDS = f"SELECT {_CATEGORY_COLUMNS} FROM categories WHERE id = ANY($1)"
_CATEGORIES_BY_SLUGS = (
    f"SELECT DISTINCT ON (slug) {_CATEGORY_COLUMNS} FROM categories "
    "WHERE slug = ANY($1) ORDER BY slug, version DESC"
)
_CATEGORY_CHILDREN = (
    f"SELECT {_CATEGORY_COLUMNS} FROM categories "
    "WHERE parent_id = ANY($1) OR ($2 AND parent_id IS NULL) ORDER BY position, name, id"
)
_COLLECTION_COLUMNS = "c.id, c.slug, c.title"
_COLLECTIONS_BY_IDS = f"SELECT {_COLLECTION_COLUMNS} FROM collections c WHERE c.id = ANY($1)"
_COLLECTIONS_BY_SLUGS = (
    f"SELECT DISTINCT ON (c.slug) {_COLLECTION_COLUMNS} FROM collections c "
    "WHERE c.slug = ANY($1) ORDER BY c.slug, c.version DESC"
)
_COLLECTIONS_BY_PRODUCTS = (
    f"SELECT m.product_id, {_COLLECTION_COLUMNS} FROM collection_products m "
    "JOIN collections c ON c.id = m.collection_id "
    "WHERE m.product_id = ANY($1) ORDER BY c.title, c.id"
)
_LISTING_COUNTS = "SELECT scope, count FROM listing_counts WHERE scope = ANY($1)"

ROOT = ""
"""The parent key of root categories in `category_children`."""


def _aligned(keys: Sequence[Any], found: dict[Any, Any]) -> list[Any]:
    return [found.get(key) for key in keys]


async def products_by_ids(db: Reader, ids: Sequence[str]) -> list[ProductRow | None]:
    rows = await db.fetch(_PRODUCTS_BY_IDS, list(ids))
    return _aligned(ids, {r["id"]: ProductRow.from_record(r) for r in rows})


async def products_by_slugs(db: Reader, slugs: Sequence[str]) -> list[ProductRow | None]:
    rows = await db.fetch(_PRODUCTS_BY_SLUGS, list(slugs))
    return _aligned(slugs, {r["slug"]: ProductRow.from_record(r) for r in rows})


def _store(r: Any) -> StoreRow:
    return StoreRow(r["id"], r["slug"], r["name"], r["currency_code"], r["owner_creator_id"])


async def stores_by_ids(db: Reader, ids: Sequence[str]) -> list[StoreRow | None]:
    rows = await db.fetch(_STORES_BY_IDS, list(ids))
    return _aligned(ids, {r["id"]: _store(r) for r in rows})


async def stores_by_slugs(db: Reader, slugs: Sequence[str]) -> list[StoreRow | None]:
    rows = await db.fetch(_STORES_BY_SLUGS, list(slugs))
    return _aligned(slugs, {r["slug"]: _store(r) for r in rows})


def _category(r: Any) -> CategoryRow:
    return CategoryRow(
        r["id"],
        r["slug"],
        r["name"],
        r["parent_id"],
        r["position"],
        list(r["ancestor_ids"]),
        r["product_count"],
    )


async def categories_by_ids(db: Reader, ids: Sequence[str]) -> list[CategoryRow | None]:
    rows = await db.fetch(_CATEGORIES_BY_IDS, list(ids))
    return _aligned(ids, {r["id"]: _category(r) for r in rows})


async def categories_by_slugs(db: Reader, slugs: Sequence[str]) -> list[CategoryRow | None]:
    rows = await db.fetch(_CATEGORIES_BY_SLUGS, list(slugs))
    return _aligned(slugs, {r["slug"]: _category(r) for r in rows})


async def category_children(db: Reader, parent_ids: Sequence[str]) -> list[list[CategoryRow]]:
    """Children of each parent, by position then name; ROOT asks for the root categories."""
    parents = [p for p in parent_ids if p != ROOT]
    rows = await db.fetch(_CATEGORY_CHILDREN, parents, ROOT in parent_ids)
    children: dict[str, list[CategoryRow]] = {p: [] for p in parent_ids}
    for r in rows:
        children.setdefault(r["parent_id"] or ROOT, []).append(_category(r))
    return [children[p] for p in parent_ids]


def _collection(r: Any) -> CollectionRow:
    return CollectionRow(r["id"], r["slug"], r["title"])


async def collections_by_ids(db: Reader, ids: Sequence[str]) -> list[CollectionRow | None]:
    rows = await db.fetch(_COLLECTIONS_BY_IDS, list(ids))
    return _aligned(ids, {r["id"]: _collection(r) for r in rows})


async def collections_by_slugs(db: Reader, slugs: Sequence[str]) -> list[CollectionRow | None]:
    rows = await db.fetch(_COLLECTIONS_BY_SLUGS, list(slugs))
    return _aligned(slugs, {r["slug"]: _collection(r) for r in rows})


async def collections_by_products(
    db: Reader, product_ids: Sequence[str]
) -> list[list[CollectionRow]]:
    found: dict[str, list[CollectionRow]] = {p: [] for p in product_ids}
    for r in await db.fetch(_COLLECTIONS_BY_PRODUCTS, list(product_ids)):
        found[r["product_id"]].append(_collection(r))
    return [found[p] for p in product_ids]


async def listing_page(db: Reader, query: ListingQuery) -> ListingPage:
    """One page of a listing: rows in sort order, and whether more follow."""
    sql, args = page_sql(query, PRODUCT_COLUMNS)
    aliases = KEY_ALIASES[: len(SORTS[query.sort].columns)]
    items = [
        ListedProduct(ProductRow.from_record(r), tuple(r[alias] for alias in aliases))
        for r in await db.fetch(sql, *args, custom_plan=not query.filter.is_empty)
    ]
    return ListingPage(items[: query.first], len(items) > query.first)


async def listing_totals(db: Reader, keys: Sequence[tuple[str, ListingFilter]]) -> list[int]:
    """Total products of each (scope, filter): precomputed counts unless filtered."""
    plain = sorted({scope for scope, f in keys if f.is_empty})
    totals: dict[tuple[str, ListingFilter], int] = {}
    if plain:
        counts = {r["scope"]: r["count"] for r in await db.fetch(_LISTING_COUNTS, plain)}
        for scope in plain:
            totals[(scope, ListingFilter())] = counts.get(scope, 0)
    for scope, listing_filter in keys:
        if (scope, listing_filter) not in totals:
            sql, args = count_sql(scope, listing_filter)
            rows = await db.fetch(sql, *args, custom_plan=True)
            totals[(scope, listing_filter)] = int(rows[0]["total"])
    return [totals[key] for key in keys]
