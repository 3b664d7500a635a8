"""Immutable rows the read side hands to resolvers, built straight from query results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class ImageRow:
    url: str
    alt: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class TierRow:
    min_quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: str
    store_id: str
    slug: str
    sku: str
    title: str
    description: str | None
    featured: bool
    listed: bool
    tags: list[str]
    images: tuple[ImageRow, ...]
    category_id: str | None
    currency_code: str | None
    base_price: Decimal | None
    min_unit_price: Decimal | None
    max_unit_price: Decimal | None
    tiers: tuple[TierRow, ...]
    segment_prices: Mapping[str, Decimal]
    on_hand: int
    rating_sum: int
    rating_count: int
    units_sold: int
    updated_at: datetime

    @classmethod
    def from_record(cls, r: Mapping[Any, Any]) -> ProductRow:
        return cls(
            id=r["id"],
            store_id=r["store_id"],
            slug=r["slug"],
            sku=r["sku"],
            title=r["title"],
            description=r["description"],
            featured=r["featured"],
            listed=r["listed"],
            tags=r["tags"],
            images=tuple(
                ImageRow(i["url"], i.get("alt"), i.get("width"), i.get("height"))
                for i in r["images"]
            ),
            category_id=r["category_id"],
            currency_code=r["currency_code"],
            base_price=r["base_price"],
            min_unit_price=r["min_unit_price"],
            max_unit_price=r["max_unit_price"],
            tiers=tuple(TierRow(t["minQuantity"], Decimal(t["unitPrice"])) for t in r["tiers"]),
            segment_prices={s["segment"]: Decimal(s["unitPrice"]) for s in r["segment_prices"]},
            on_hand=r["on_hand"],
            rating_sum=r["rating_sum"],
            rating_count=r["rating_count"],
            units_sold=r["units_sold"],
            updated_at=r["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class StoreRow:
    id: str
    slug: str
    name: str
    currency_code: str
    owner_creator_id: str


@dataclass(frozen=True, slots=True)
class CategoryRow:
    id: str
    slug: str
    name: str
    parent_id: str | None
    position: int
    ancestor_ids: list[str]
    product_count: int


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: str
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class ListedProduct:
    """A product of a listing page, with the sort key its cursor encodes."""

    product: ProductRow
    key: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ListingPage:
    items: list[ListedProduct]
    has_next_page: bool
