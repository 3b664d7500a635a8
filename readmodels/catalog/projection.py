"""The catalog projection: stores, categories, collections, products and their listings.

Each batch loads the rows its events touch (one statement per table), folds
the events over them in memory with the pure rules of `folds`, and writes
the results back set-wise, so throughput depends on the batch, not on the
number of events in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.catalog import folds
from readmodels.catalog.tables import (
    CATALOG_TABLES,
    categories,
    collections,
    listing_entries,
    order_units,
    product_reviews,
    products,
    stores,
)
from readmodels.events import StoredEvent
from readmodels.sql import upsert

Row = dict[str, Any]

_PRODUCT_EVENTS = frozenset(
    {
        "ProductUpserted",
        "ProductDeleted",
        "PriceSet",
        "InventoryCounted",
        "InventoryAdjusted",
        "ReviewSubmitted",
    }
)

_LOAD_PRODUCTS = text("SELECT * FROM products WHERE id = ANY(CAST(:ids AS text[]))")
_LOAD_ORDERS = text(
    "SELECT order_id, lines, cancelled FROM order_units WHERE order_id = ANY(CAST(:ids AS text[]))"
)
_LOAD_REVIEWS = text(
    """
    SELECT r.product_id, r.customer_id, r.rating FROM product_reviews r
    JOIN unnest(CAST(:products AS text[]), CAST(:customers AS text[])) AS k(p, c)
      ON r.product_id = k.p AND r.customer_id = k.c
    """
)
_LOAD_CATEGORIES = text(
    "SELECT id, slug, name, parent_id, position, ancestor_ids, version FROM categories"
)
_LOAD_COLLECTIONS = text(
    "SELECT id, product_ids FROM collections WHERE id = ANY(CAST(:ids AS text[]))"
)
_PRODUCTS_IN_CATEGORIES = text(
    "SELECT id FROM products WHERE category_id = ANY(CAST(:ids AS text[]))"
)
_MEMBERSHIPS = text(
    "SELECT product_id, collection_id FROM collection_products "
    "WHERE product_id = ANY(CAST(:ids AS text[]))"
)
_REPLACE_MEMBERS_DELETE = text(
    "DELETE FROM collection_products WHERE collection_id = ANY(CAST(:ids AS text[]))"
)
_INSERT_MEMBERS = text(
    """
    INSERT INTO collection_products (collection_id, product_id, position)
    SELECT c, p, n FROM unnest(CAST(:c AS text[]), CAST(:p AS text[]), CAST(:n AS int[]))
        AS u(c, p, n)
    ON CONFLICT DO NOTHING
    """
)
_DELETE_ENTRIES = text(
    "DELETE FROM listing_entries WHERE product_id = ANY(CAST(:ids AS text[])) RETURNING scope"
)
_ADD_COUNTS = text(
    """
    INSERT INTO listing_counts (scope, count)
    SELECT s, d FROM unnest(CAST(:scopes AS text[]), CAST(:deltas AS int[])) AS u(s, d)
    ON CONFLICT (scope) DO UPDATE SET count = listing_counts.count + excluded.count
    """
)
_DROP_EMPTY_COUNTS = text(
    "DELETE FROM listing_counts WHERE scope = ANY(CAST(:scopes AS text[])) AND count = 0"
)
_CATEGORY_COUNTS = text(
    """
    UPDATE categories SET product_count = coalesce(
        (SELECT count FROM listing_counts WHERE scope = 'c:' || categories.id), 0)
    WHERE id = ANY(CAST(:ids AS text[]))
    """
)


class CatalogProjection:
    """Stores, category tree, collections, product summaries and listing entries."""

    name = "catalog"
    event_types = frozenset(
        {
            "StoreUpserted",
            "CategoryUpserted",
            "CollectionUpserted",
            *_PRODUCT_EVENTS,
            "OrderPlaced",
            "OrderCancelled",
        }
    )
    tables: tuple[Table, ...] = CATALOG_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return (OPTIONAL_SEARCH_INDEX,)

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        batch = _Batch()
        await batch.load(conn, events)
        for event in events:
            batch.fold(event)
        return await batch.write(conn)


# pg_trgm makes `search` an index lookup; PostgreSQL servers without the
# extension (the embedded one) fall back to a scan of the product rows.
OPTIONAL_SEARCH_INDEX = """
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS ix_products_search_trgm
        ON products USING gin (search_text gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable: product search runs without a trigram index';
END
$$;
"""


class _Batch:
    """The rows one batch touches, loaded once and written once."""

    def __init__(self) -> None:
        self.products: dict[str, Row] = {}
        self.orders: dict[str, Row] = {}
        self.reviews: dict[tuple[str, str], int] = {}
        self.stores: dict[str, Row] = {}
        self.categories: dict[str, Row] | None = None
        self.changed_categories: set[str] = set()
        self.collection_members: dict[str, list[str]] = {}
        self.changed_collections: dict[str, Row] = {}
        self.touched: set[str] = set()
        self.dirty_products: set[str] = set()
        self.dirty_orders: set[str] = set()
        self.dirty_reviews: set[tuple[str, str]] = set()
        self.units = folds.OrderFold(units={})
        self.tags: set[str] = set()

    async def load(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        product_ids: set[str] = set()
        order_ids: set[str] = set()
        review_keys: set[tuple[str, str]] = set()
        collection_ids: set[str] = set()
        for event in events:
            data = event.data
            if event.type in _PRODUCT_EVENTS:
                product_ids.add(data["productId"])
                if event.type == "ReviewSubmitted":
                    review_keys.add((data["productId"], data["customerId"]))
            elif event.type == "OrderPlaced":
                order_ids.add(data["orderId"])
                product_ids.update(line["productId"] for line in data["lines"])
            elif event.type == "OrderCancelled":
                order_ids.add(data["orderId"])
            elif event.type == "CollectionUpserted":
                collection_ids.add(data["collectionId"])
        if order_ids:
            rows = await conn.execute(_LOAD_ORDERS, {"ids": sorted(order_ids)})
            for row in rows.mappings():
                self.orders[row["order_id"]] = dict(row)
                product_ids.update(line[0] for line in row["lines"] or [])
        if review_keys:
            keys = sorted(review_keys)
            rows = await conn.execute(
                _LOAD_REVIEWS,
                {"products": [k[0] for k in keys], "customers": [k[1] for k in keys]},
            )
            self.reviews = {(r.product_id, r.customer_id): r.rating for r in rows}
        if collection_ids:
            rows = await conn.execute(_LOAD_COLLECTIONS, {"ids": sorted(collection_ids)})
            self.collection_members = {r.id: list(r.product_ids) for r in rows}
        if product_ids:
            rows = await conn.execute(_LOAD_PRODUCTS, {"ids": sorted(product_ids)})
            self.products = {row["id"]: dict(row) for row in rows.mappings()}
        if any(event.type == "CategoryUpserted" for event in events) or product_ids:
            rows = await conn.execute(_LOAD_CATEGORIES)
            self.categories = {row["id"]: dict(row) for row in rows.mappings()}

    def _product(self, product_id: str, event: StoredEvent) -> Row:
        product = self.products.get(product_id)
        if product is None:
            product = self.products[product_id] = folds.new_product(product_id, event.occurred_at)
        product["version"] = event.position
        self.dirty_products.add(product_id)
        self.touched.add(product_id)
        self.tags.add(f"product:{product_id}")
        return product

    def fold(self, event: StoredEvent) -> None:
        data, at = event.data, event.occurred_at
        match event.type:
            case "ProductUpserted":
                folds.apply_product_upserted(self._product(data["productId"], event), data, at)
                # Lookups by slug are tagged by the slug: one that found nothing
                # (or another product) must hear that this product now holds it.
                self.tags.add(f"product-slug:{data['slug']}")
            case "ProductDeleted":
                folds.apply_product_deleted(self._product(data["productId"], event), at)
            case "PriceSet":
                folds.apply_price_set(self._product(data["productId"], event), data, at)
                self.tags.add(f"price:{data['productId']}")
            case "InventoryCounted":
                product = self._product(data["productId"], event)
                folds.apply_inventory_counted(product, data["onHand"], at)
            case "InventoryAdjusted":
                product = self._product(data["productId"], event)
                folds.apply_inventory_adjusted(product, data["delta"], at)
            case "ReviewSubmitted":
                key = (data["productId"], data["customerId"])
                product = self._product(data["productId"], event)
                folds.apply_review(product, self.reviews.get(key), data["rating"])
                self.reviews[key] = data["rating"]
                self.dirty_reviews.add(key)
            case "OrderPlaced":
                for line in data["lines"]:
                    # An order may precede its product: a stub row, stamped with
                    # the order's time, keeps the units whatever the batching.
                    if line["productId"] not in self.products:
                        self.products[line["productId"]] = folds.new_product(line["productId"], at)
                        self.dirty_products.add(line["productId"])
                order = self._order(data["orderId"])
                lines = [[line["productId"], line["quantity"]] for line in data["lines"]]
                self.units.place(order, lines)
            case "OrderCancelled":
                self.units.cancel(self._order(data["orderId"]))
            case "StoreUpserted":
                self.stores[data["storeId"]] = _store_row(data, event.position)
                self.tags.update((f"store:{data['storeId']}", f"store-slug:{data['slug']}"))
            case "CategoryUpserted":
                self._fold_category(data, event.position)
            case "CollectionUpserted":
                self._fold_collection(data, event.position)

    def _order(self, order_id: str) -> Row:
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = {
                "order_id": order_id,
                "lines": None,
                "cancelled": False,
            }
        self.dirty_orders.add(order_id)
        return order

    def _fold_category(self, data: dict[str, Any], position: int) -> None:
        assert self.categories is not None
        previous = self.categories.get(data["categoryId"], {})
        self.categories[data["categoryId"]] = {
            "id": data["categoryId"],
            "slug": data["slug"],
            "name": data["name"],
            "parent_id": data["parentId"],
            "position": data["position"],
            "ancestor_ids": previous.get("ancestor_ids"),
            "version": position,
        }
        self.changed_categories.add(data["categoryId"])
        # Children lists are tagged by their parent (`root` for the roots).
        parents = {previous.get("parent_id", data["parentId"]), data["parentId"]}
        self.tags.update(f"category-children:{parent or 'root'}" for parent in parents)
        self.tags.update((f"category:{data['categoryId']}", f"category-slug:{data['slug']}"))

    def _fold_collection(self, data: dict[str, Any], position: int) -> None:
        collection_id = data["collectionId"]
        before = self.collection_members.get(collection_id, [])
        after = list(dict.fromkeys(data["productIds"]))
        self.touched.update(before)
        self.touched.update(after)
        self.collection_members[collection_id] = after
        # A product's collections are tagged by the product: those that joined or left.
        self.tags.update(f"product-collections:{p}" for p in set(before) ^ set(after))
        self.changed_collections[collection_id] = {
            "id": collection_id,
            "slug": data["slug"],
            "title": data["title"],
            "product_ids": after,
            "version": position,
        }
        self.tags.update((f"collection:{collection_id}", f"collection-slug:{data['slug']}"))

    async def write(self, conn: AsyncConnection) -> set[str]:
        for product_id, delta in self.units.units.items():
            if delta:
                self.products[product_id]["units_sold"] += delta
                self.dirty_products.add(product_id)
                self.touched.add(product_id)
        await upsert(conn, stores, list(self.stores.values()), keys=["id"])
        await self._write_categories(conn)
        await self._write_collections(conn)
        await upsert(
            conn, products, [self.products[i] for i in sorted(self.dirty_products)], keys=["id"]
        )
        await upsert(
            conn,
            product_reviews,
            [
                {"product_id": p, "customer_id": c, "rating": self.reviews[(p, c)]}
                for p, c in sorted(self.dirty_reviews)
            ],
            keys=["product_id", "customer_id"],
        )
        await upsert(
            conn,
            order_units,
            [self.orders[o] for o in sorted(self.dirty_orders)],
            keys=["order_id"],
        )
        await self._write_listings(conn)
        return self.tags

    async def _write_categories(self, conn: AsyncConnection) -> None:
        if not self.changed_categories or self.categories is None:
            return
        ancestors = folds.category_ancestors(
            {cid: row["parent_id"] for cid, row in self.categories.items()}
        )
        moved: list[str] = []
        for category_id, row in self.categories.items():
            if row["ancestor_ids"] != ancestors[category_id]:
                row["ancestor_ids"] = ancestors[category_id]
                self.changed_categories.add(category_id)
                moved.append(category_id)
                self.tags.add(f"category:{category_id}")  # its ancestors changed
        rows = [self.categories[c] for c in sorted(self.changed_categories)]
        await upsert(
            conn,
            categories,
            rows,
            keys=["id"],
            update=["slug", "name", "parent_id", "position", "ancestor_ids", "version"],
        )
        if moved:
            # Products under a category whose ancestry changed move between listings.
            result = await conn.execute(_PRODUCTS_IN_CATEGORIES, {"ids": sorted(moved)})
            self.touched.update(row.id for row in result)

    async def _write_collections(self, conn: AsyncConnection) -> None:
        if not self.changed_collections:
            return
        ids = sorted(self.changed_collections)
        await upsert(conn, collections, [self.changed_collections[i] for i in ids], keys=["id"])
        await conn.execute(_REPLACE_MEMBERS_DELETE, {"ids": ids})
        members = [(c, p, n) for c in ids for n, p in enumerate(self.collection_members[c])]
        if members:
            await conn.execute(
                _INSERT_MEMBERS,
                {
                    "c": [m[0] for m in members],
                    "p": [m[1] for m in members],
                    "n": [m[2] for m in members],
                },
            )

    async def _write_listings(self, conn: AsyncConnection) -> None:
        if not self.touched:
            return
        ids = sorted(self.touched)
        missing = [i for i in ids if i not in self.products]
        if missing:
            rows = await conn.execute(_LOAD_PRODUCTS, {"ids": missing})
            self.products.update({row["id"]: dict(row) for row in rows.mappings()})
        memberships: dict[str, list[str]] = {}
        for row in await conn.execute(_MEMBERSHIPS, {"ids": ids}):
            memberships.setdefault(row.product_id, []).append(row.collection_id)
        if self.categories is None:
            rows = await conn.execute(_LOAD_CATEGORIES)
            self.categories = {row["id"]: dict(row) for row in rows.mappings()}
        ancestors = {cid: list(row["ancestor_ids"] or []) for cid, row in self.categories.items()}
        deltas: Counter[str] = Counter()
        for row in await conn.execute(_DELETE_ENTRIES, {"ids": ids}):
            deltas[row.scope] -= 1
        entries: list[Row] = []
        for product_id in ids:
            product = self.products.get(product_id)
            if product is None:
                continue
            for scope in folds.listing_scopes(product, ancestors, memberships.get(product_id, [])):
                entries.append(folds.listing_entry(scope, product))
                deltas[scope] += 1
        if entries:
            await conn.execute(listing_entries.insert(), entries)
        changed = {scope: delta for scope, delta in deltas.items() if delta}
        if changed:
            await conn.execute(
                _ADD_COUNTS, {"scopes": list(changed), "deltas": list(changed.values())}
            )
            # An emptied listing has no row, exactly as after a rebuild.
            await conn.execute(_DROP_EMPTY_COUNTS, {"scopes": list(changed)})
        self.tags.update(f"listing:{scope}" for scope in deltas)
        counted = {s[2:] for s in changed if s.startswith("c:")} | self.changed_categories
        self.tags.update(f"category:{c}" for c in counted)  # productCount
        if counted:
            await conn.execute(_CATEGORY_COUNTS, {"ids": sorted(counted)})


def _store_row(data: dict[str, Any], position: int) -> Row:
    return {
        "id": data["storeId"],
        "slug": data["slug"],
        "name": data["name"],
        "currency_code": data["currencyCode"],
        "owner_creator_id": data["ownerCreatorId"],
        "version": position,
    }
