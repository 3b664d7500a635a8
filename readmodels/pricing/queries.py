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
]

_PROMOTIONS_BY_IDS = f"SELECT {PROMOTION_COLUMNS} FROM promotions o WHERE o.id = ANY($1)"

# Per visible product: its facts, then one row per candidate promotion (or
# one row of NULLs when it has none). The keys a product is found under are
# those `folds.index_targets` files promotions under; `t.store_id = ... AND
# t.target = ANY(...)` is an index condition on promotion_targets' primary key.
# The candidate ids are gathered into an array first, so promotions are then
# fetched by their own key (`o.id = ANY(...)`, duplicates collapse) instead of
# hash-joined against a scan of every promotion.
_OFFERS = f"""
WITH f AS MATERIALIZED (
    SELECT p.id, p.store_id, p.tags,
        CASE WHEN p.category_id IS NULL THEN ARRAY[]::text[]
            ELSE coalesce(c.ancestor_ids, ARRAY[]::text[]) || p.category_id END AS category_path,
        ARRAY(SELECT m.collection_id FROM collection_products m
            WHERE m.product_id = p.id) AS collection_ids
    FROM products p LEFT JOIN categories c ON c.id = p.category_id
    WHERE p.id = ANY($1::text[]) AND p.upserted AND NOT p.deleted
)
SELECT f.id AS product_id, f.store_id AS product_store_id, f.category_path,
    f.collection_ids, f.tags AS product_tags, {PROMOTION_COLUMNS}
FROM f LEFT JOIN LATERAL (
    SELECT o.* FROM promotions o
    WHERE o.id = ANY(ARRAY(
        SELECT t.promotion_id FROM promotion_targets t
        WHERE t.store_id = f.store_id AND t.target = ANY(
            ARRAY['*', 'p:' || f.id]
            || ARRAY(SELECT 'c:' || x FROM unnest(f.category_path) AS x)
            || ARRAY(SELECT 'k:' || x FROM unnest(f.collection_ids) AS x)
            || ARRAY(SELECT 't:' || x FROM unnest(f.tags) AS x))))
    AND o.active AND (o.ends_at IS NULL OR o.ends_at > $2::timestamptz)
) o ON true
ORDER BY f.id, o.priority DESC, o.id COLLATE "C"
"""


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
    facts: dict[str, ProductFacts] = {}
    candidates: dict[str, list[PromotionRow]] = {}
    for r in await db.fetch(_OFFERS, list(product_ids), now):
        product_id = r["product_id"]
        if product_id not in facts:
            facts[product_id] = ProductFacts(
                product_id,
                r["product_store_id"],
                frozenset(r["category_path"]),
                frozenset(r["collection_ids"]),
                frozenset(r["product_tags"]),
            )
            candidates[product_id] = []
        if r["id"] is not None:
            candidates[product_id].append(promotion_row(r))
    return [
        ProductOffers(facts[p], tuple(candidates[p])) if p in facts else None for p in product_ids
    ]


async def promotions_by_ids(db: Reader, ids: Sequence[str]) -> list[PromotionRow | None]:
    found = {r["id"]: promotion_row(r) for r in await db.fetch(_PROMOTIONS_BY_IDS, list(ids))}
    return [found.get(i) for i in ids]


async def promotion_page(db: Reader, query: PromotionQuery) -> PromotionPage:
    """One page of promotions, newest first, and whether more follow."""
    sql, args = page_sql(query)
    items = [promotion_row(r) for r in await db.fetch(sql, *args)]
    return PromotionPage(items[: query.first], len(items) > query.first)


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
