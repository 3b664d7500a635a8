"""Pure promotion rules: how each event changes a promotion row, and where the index files it.

Rows are plain dicts shaped like the `promotions` table, so the projection
can load a batch's rows once, fold its events over them in memory and write
them back set-wise. Nothing here does I/O.

The index (`promotion_targets`) must never miss a promotion a product can
satisfy: `index_targets` only narrows a condition to keys the product must
have when the narrowing is sound, and falls back to `*` (every product of
the store) whenever a condition says nothing about the product itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

Row = dict[str, Any]

ANY_PRODUCT = "*"
ANYWHERE: frozenset[str] = frozenset({ANY_PRODUCT})

# Leaves that name the product, and the prefix of the index key each value gives.
_KEYED_LEAVES = {"productIn": "p:", "categoryIn": "c:", "collectionIn": "k:", "tagIn": "t:"}


def upserted_promotion(
    previous: Mapping[str, Any] | None, data: Mapping[str, Any], position: int
) -> Row:
    """The row a PromotionUpserted leaves: its payload, keeping the first position seen.

    `{}` and null both mean "always" and are stored as NULL, so readers test
    one spelling.
    """
    condition = data["condition"] or None
    return {
        "id": data["promotionId"],
        "store_id": data["storeId"],
        "name": data["name"],
        "description": data["description"],
        "kind": data["kind"],
        "value": Decimal(data["value"]),
        "buy_quantity": data["buyQuantity"],
        "get_quantity": data["getQuantity"],
        "starts_at": _instant(data["startsAt"]),
        "ends_at": _instant(data["endsAt"]),
        "priority": data["priority"],
        "stackable": data["stackable"],
        "active": data["active"],
        "condition": condition,
        "first_position": previous["first_position"] if previous is not None else position,
        "version": position,
    }


def deactivated_promotion(previous: Mapping[str, Any], position: int) -> Row:
    """The row a PromotionDeactivated leaves: inactive, at a new version."""
    return {**previous, "active": False, "version": position}


def _instant(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def index_targets(condition: Mapping[str, Any] | None) -> frozenset[str]:
    """The keys a promotion with this condition is filed under, within its store.

    `*` when any product of the store may match; otherwise product (`p:`),
    category (`c:`, the product's category or one of its ancestors), collection
    (`k:`) and tag (`t:`) keys, at least one of which every matching product
    has. An empty set means no product can ever match (e.g. `productIn: []`).
    """
    if not condition:
        return ANYWHERE
    ((key, value),) = condition.items()
    prefix = _KEYED_LEAVES.get(key)
    if prefix is not None:
        return frozenset(prefix + item for item in value)
    if key == "all":
        # A product matching every child has a key of each: the smallest
        # narrowed child is enough.
        narrowed = [t for t in map(index_targets, value) if ANY_PRODUCT not in t]
        return min(narrowed, key=len) if narrowed else ANYWHERE
    if key == "any":
        # A product matching some child has a key of that child.
        union: frozenset[str] = frozenset()
        for target in map(index_targets, value):
            if ANY_PRODUCT in target:
                return ANYWHERE
            union |= target
        return union
    # `not`, segmentIn, minQuantity, minSubtotal (and anything unforeseen) say
    # nothing about which product it is.
    return ANYWHERE
