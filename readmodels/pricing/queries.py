"""Read-model queries of promotions: one statement per call, results aligned with keys.

`offers_by_products` is what prices a batch of products: their facts (what
a condition tests) and their candidate promotions, found through the
`promotion_targets` index by (store, key) so the cost follows a product's
own candidates, not the number of promotions its store runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from readmodels.pricing.listing import PROMOTION_COLUMNS, TOTALS_SQL, PromotionQuery, page_sql
from readmodels.pricing.rows import (
    ProductFacts,
    ProductOffers,
    PromotionKind,
    PromotionPage,
    PromotionRow,
)
from readmodels.reader import Reader

__all__ = [
    "PromotionQuery",
    "offers_by_products",
    "promotion_page",
    "promotion_row",
    "promotion_totals",
    "promotions_by_ids",
    "promotions_ending",
]

_PROMOTIONS_BY_IDS = f"SELECT {PROMOTION_COLUMNS} FROM promotions o WHERE o.id = ANY($1)"
# Per (store, now, until): the store's promotions in effect at `now` that end by `until`.
_ENDING = f"""
SELECT k.i, {PROMOTION_COLUMNS}
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY
    AS k(store_id, at, until, i)
JOIN promotions o ON o.store_id = k.store_id AND o.active
    AND (o.starts_at IS NULL OR o.starts_at <= k.at) AND o.ends_at > k.at AND o.ends_at <= k.until
ORDER BY k.i, o.ends_at, o.id COLLATE "C"
"""

# One statement, two kinds of rows. First, per visible product, its facts and
# the ids of its candidates: promotions filed in promotion_targets under its
# store and one of its keys (those `folds.index_targets` files promotions
# under; `t.store_id = ... AND t.target = ANY(...)` is an index condition on
# the table's primary key). Then each candidate promotion once, fetched by its
# own key, however many products of the batch it is a candidate of: a listing
# of 48 products of one store carries the store's promotions once, not 48 times.
_PROMOTION_TYPES = (
    ("id", "text"), ("store_id", "text"), ("name", "text"), ("description", "text"),
    ("kind", "text"), ("value", "numeric"), ("buy_quantity", "int"), ("get_quantity", "int"),
    ("starts_at", "timestamptz"), ("ends_at", "timestamptz"), ("priority", "int"),
    ("stackable", "bool"), ("active", "bool"), ("condition", "jsonb"),
    ("first_position", "bigint"), ("version", "bigint"),
)  # fmt: skip
# A UNION takes its column names from its first branch: the product rows name them.
_PROMOTION_NULLS = ", ".join(f"NULL::{kind} AS {name}" for name, kind in _PROMOTION_TYPES)
_OFFERS = f"""
WITH f AS MATERIALIZED (
    SELECT p.id, p.store_id, p.tags,
        CASE WHEN p.category_id IS NULL THEN ARRAY[]::text[]
            ELSE coalesce(c.ancestor_ids, ARRAY[]::text[]) || p.category_id END AS category_path,
        ARRAY(SELECT m.collection_id FROM collection_products m
            WHERE m.product_id = p.id) AS collection_ids
    FROM products p LEFT JOIN categories c ON c.id = p.category_id
    WHERE p.id = ANY($1::text[]) AND p.upserted AND NOT p.deleted
), k AS MATERIALIZED (
    SELECT f.id AS product_id, ARRAY(
        SELECT DISTINCT t.promotion_id FROM promotion_targets t
        WHERE t.store_id = f.store_id AND t.target = ANY(
            ARRAY['*', 'p:' || f.id]
            || ARRAY(SELECT 'c:' || x FROM unnest(f.category_path) AS x)
            || ARRAY(SELECT 'k:' || x FROM unnest(f.collection_ids) AS x)
            || ARRAY(SELECT 't:' || x FROM unnest(f.tags) AS x))) AS promotion_ids
    FROM f
)
SELECT f.id AS product_id, f.store_id AS product_store_id, f.category_path,
    f.collection_ids, f.tags AS product_tags, k.promotion_ids, {_PROMOTION_NULLS}
FROM f JOIN k ON k.product_id = f.id
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, {PROMOTION_COLUMNS}
FROM promotions o
WHERE o.id = ANY(ARRAY(SELECT DISTINCT unnest(k.promotion_ids) FROM k))
    AND o.active AND (o.ends_at IS NULL OR o.ends_at > $2::timestamptz)
"""


def application_order(promotion: PromotionRow) -> tuple[int, str]:
    """Priority descending, then id (by code point, as Python compares strings)."""
    return (-promotion.priority, promotion.id)


def promotion_row(r: Mapping[str, Any]) -> PromotionRow:
    """A PromotionRow from a record holding PROMOTION_COLUMNS.

    The read pool decodes JSONB with orjson; a connection without that codec
    hands back text, decoded here.
    """
    condition = r["condition"]
    if isinstance(condition, str | bytes):
        condition = orjson.loads(condition)
    return PromotionRow(
        r["id"],
        r["store_id"],
        r["name"],
        r["description"],
        PromotionKind(r["kind"]),
        Decimal(r["value"]),
        r["buy_quantity"],
        r["get_quantity"],
        r["starts_at"],
        r["ends_at"],
        r["priority"],
        r["stackable"],
        r["active"],
        condition,
        r["first_position"],
        r["version"],
    )


async def offers_by_products(
    db: Reader, product_ids: Sequence[str], now: datetime
) -> list[ProductOffers | None]:
    """Facts and candidate promotions of each product, None when missing or not visible.

    Candidates are active promotions of the product's store, filed under one
    of its keys, not ended at `now`; those not started yet are included (the
    caller bounds cache lifetimes by their start). Sorted by priority
    descending, then id: the order they apply in.
    """
    if not product_ids:
        return []
    facts: dict[str, tuple[ProductFacts, list[str]]] = {}
    promotions: dict[str, PromotionRow] = {}
    for r in await db.fetch(_OFFERS, list(product_ids), now):
        product_id = r["product_id"]
        if product_id is None:
            promotions[r["id"]] = promotion_row(r)
            continue
        product = ProductFacts(
            product_id,
            r["product_store_id"],
            frozenset(r["category_path"]),
            frozenset(r["collection_ids"]),
            frozenset(r["product_tags"]),
        )
        facts[product_id] = (product, r["promotion_ids"])
    offers: dict[str, ProductOffers] = {}
    for product_id, (product, ids) in facts.items():
        # Ids whose promotion is not here are deactivated or ended: not candidates.
        rows = [promotions[i] for i in ids if i in promotions]
        rows.sort(key=application_order)
        offers[product_id] = ProductOffers(product, tuple(rows))
    return [offers.get(p) for p in product_ids]


async def promotions_by_ids(db: Reader, ids: Sequence[str]) -> list[PromotionRow | None]:
    found = {r["id"]: promotion_row(r) for r in await db.fetch(_PROMOTIONS_BY_IDS, list(ids))}
    return [found.get(i) for i in ids]


async def promotions_ending(
    db: Reader, keys: Sequence[tuple[str, datetime, datetime]]
) -> list[tuple[PromotionRow, ...]]:
    """For each (store_id, now, until): its promotions in effect at `now` that end after
    `now` and by `until`, soonest first; one statement for the batch."""
    if not keys:
        return []
    found: list[list[PromotionRow]] = [[] for _ in keys]
    rows = await db.fetch(_ENDING, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    for r in rows:
        found[r["i"] - 1].append(promotion_row(r))
    return [tuple(rows_of_key) for rows_of_key in found]


async def promotion_page(db: Reader, query: PromotionQuery) -> PromotionPage:
    """One page of promotions, newest first, and whether more follow."""
    sql, args = page_sql(query)
    rows = await db.fetch(sql, *args)
    items = [promotion_row(r) for r in rows if r["id"] is not None]
    next_change = rows[0]["next_change"] if rows else None
    return PromotionPage(items[: query.first], len(items) > query.first, next_change)


async def promotion_totals(
    db: Reader, keys: Sequence[tuple[bool | None, str | None, datetime]]
) -> list[int]:
    """How many promotions each (active, store_id, now) listing holds, in one statement."""
    if not keys:
        return []
    unique = list(dict.fromkeys(keys))
    rows = await db.fetch(
        TOTALS_SQL,
        [k[0] for k in unique],
        [k[1] for k in unique],
        [k[2] for k in unique],
    )
    totals = {unique[r["i"] - 1]: int(r["total"]) for r in rows}
    return [totals[key] for key in keys]
