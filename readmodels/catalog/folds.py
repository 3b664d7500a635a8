"""Pure catalog rules: how each event changes a row, and which listings a product is in.

Rows are plain dicts shaped like the tables, so the projection can load a
batch's rows once, fold every event of the batch over them in memory, and
write them back with a few set-wise statements. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

Row = dict[str, Any]

LOW_STOCK_THRESHOLD = 5
RATING_PLACES = Decimal("0.001")


def new_product(product_id: str, at: datetime) -> Row:
    """A stub row: prices or stock may arrive before the product itself."""
    return {
        "id": product_id,
        "upserted": False,
        "deleted": False,
        "store_id": None,
        "sku": None,
        "slug": None,
        "title": None,
        "description": None,
        "category_id": None,
        "tags": [],
        "images": [],
        "featured": False,
        "listed": False,
        "created_at": None,
        "updated_at": at,
        "currency_code": None,
        "base_price": None,
        "min_unit_price": None,
        "max_unit_price": None,
        "tiers": [],
        "segment_prices": [],
        "on_hand": 0,
        "rating_sum": 0,
        "rating_count": 0,
        "units_sold": 0,
        "search_text": "",
        "version": 0,
    }


def apply_product_upserted(product: Row, data: Mapping[str, Any], at: datetime) -> None:
    product.update(
        upserted=True,
        deleted=False,
        store_id=data["storeId"],
        sku=data["sku"],
        slug=data["slug"],
        title=data["title"],
        description=data["description"],
        category_id=data["categoryId"],
        tags=list(data["tags"]),
        images=list(data["images"]),
        featured=data["featured"],
        listed=data["listed"],
        created_at=datetime.fromisoformat(data["createdAt"]),
        updated_at=at,
        search_text=search_text(data["title"], data["tags"]),
    )


def apply_product_deleted(product: Row, at: datetime) -> None:
    product.update(deleted=True, updated_at=at)


def apply_price_set(product: Row, data: Mapping[str, Any], at: datetime) -> None:
    base = Decimal(data["basePrice"])
    tiers = sorted(data["tiers"], key=lambda tier: tier["minQuantity"])
    unit_prices = [base, *(Decimal(tier["unitPrice"]) for tier in tiers)]
    product.update(
        currency_code=data["currencyCode"],
        base_price=base,
        min_unit_price=min(unit_prices),
        max_unit_price=max(unit_prices),
        tiers=tiers,
        segment_prices=list(data["segmentPrices"]),
        updated_at=at,
    )


def apply_inventory_counted(product: Row, on_hand: int, at: datetime) -> None:
    product.update(on_hand=on_hand, updated_at=at)


def apply_inventory_adjusted(product: Row, delta: int, at: datetime) -> None:
    product.update(on_hand=product["on_hand"] + delta, updated_at=at)


def apply_review(product: Row, previous: int | None, rating: int) -> None:
    """A customer's latest review replaces their earlier one."""
    if previous is None:
        product["rating_count"] += 1
        product["rating_sum"] += rating
    else:
        product["rating_sum"] += rating - previous


def search_text(title: str, tags: Iterable[str]) -> str:
    return " ".join([title, *tags]).lower()


def available(product: Mapping[str, Any]) -> int:
    """Units that can be sold now; on hand can go negative through adjustments."""
    return max(int(product["on_hand"]), 0)


def inventory_status(units: int) -> str:
    if units <= 0:
        return "OUT_OF_STOCK"
    if units <= LOW_STOCK_THRESHOLD:
        return "LOW_STOCK"
    return "IN_STOCK"


def average_rating(rating_sum: int, rating_count: int) -> Decimal:
    if rating_count == 0:
        return Decimal(0)
    return (Decimal(rating_sum) / rating_count).quantize(RATING_PLACES)


def is_listable(product: Mapping[str, Any]) -> bool:
    """Shown in listings: known, not deleted, listed by its store and priced."""
    return bool(
        product["upserted"]
        and not product["deleted"]
        and product["listed"]
        and product["base_price"] is not None
    )


def listing_scopes(
    product: Mapping[str, Any],
    ancestors: Mapping[str, list[str]],
    collection_ids: Iterable[str],
) -> list[str]:
    """Every listing the product appears in: catalog, store, categories, collections.

    A product in category C is listed under C and each of C's ancestors (the
    "including subcategories" listings) and once under C alone.
    """
    if not is_listable(product):
        return []
    scopes = ["all", f"s:{product['store_id']}"]
    category = product["category_id"]
    if category is not None:
        scopes.extend(f"c:{c}" for c in [*ancestors.get(category, []), category])
        scopes.append(f"cd:{category}")
    scopes.extend(f"k:{c}" for c in collection_ids)
    return scopes


def listing_entry(scope: str, product: Mapping[str, Any]) -> Row:
    return {
        "scope": scope,
        "product_id": product["id"],
        "featured": product["featured"],
        "created_at": product["created_at"],
        "price": product["base_price"],
        "rating": average_rating(product["rating_sum"], product["rating_count"]),
        "rating_count": product["rating_count"],
        "units_sold": product["units_sold"],
        "available": available(product),
    }


def category_ancestors(parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Root-first ancestors of every category; a parent cycle is cut where it closes."""
    result: dict[str, list[str]] = {}
    for category in parents:
        chain: list[str] = []
        seen = {category}
        parent = parents.get(category)
        while parent is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = parents.get(parent)
        result[category] = chain[::-1]
    return result


@dataclass(slots=True)
class OrderFold:
    """The effect of order events on units sold, per product."""

    units: dict[str, int]

    def place(self, order: Row, lines: list[list[Any]]) -> None:
        if order.get("lines") is not None:
            return  # placed twice under different event ids: count it once
        order["lines"] = lines
        if not order["cancelled"]:
            for product_id, quantity in lines:
                self.units[product_id] = self.units.get(product_id, 0) + quantity

    def cancel(self, order: Row) -> None:
        if order["cancelled"]:
            return
        order["cancelled"] = True
        for product_id, quantity in order.get("lines") or []:
            self.units[product_id] = self.units.get(product_id, 0) - quantity
