"""Immutable promotion rows the read side hands to the pricing engine and resolvers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple


class PromotionKind(Enum):
    PERCENT_OFF = "PERCENT_OFF"
    AMOUNT_OFF = "AMOUNT_OFF"
    BUY_X_GET_Y = "BUY_X_GET_Y"


class PromotionRow(NamedTuple):
    """A promotion as its last event left it. `version` (the position of that event)
    keys the compiled-predicate cache; `first_position` orders "newest first"."""

    id: str
    store_id: str
    name: str
    description: str | None
    kind: PromotionKind
    value: Decimal
    buy_quantity: int | None
    get_quantity: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int
    stackable: bool
    active: bool
    condition: Mapping[str, Any] | None
    first_position: int
    version: int


class ProductFacts(NamedTuple):
    """What promotion conditions test about a product, beyond its id and tags."""

    product_id: str
    store_id: str
    # The product's category and every ancestor of it (`categoryIn` matches descendants).
    category_path: frozenset[str]
    collection_ids: frozenset[str]
    tags: frozenset[str]


class ProductOffers(NamedTuple):
    """A product's facts and its candidate promotions: active, not ended, filed under one
    of its keys; sorted by priority descending, then id (the order they apply in)."""

    facts: ProductFacts
    promotions: tuple[PromotionRow, ...]


class PromotionPage(NamedTuple):
    """One page of the promotions listing, newest first, and whether more follow;
    `next_change`: when the listing next changes by the clock alone (a window)."""

    items: list[PromotionRow]
    has_next_page: bool
    next_change: datetime | None = None
