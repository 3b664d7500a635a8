"""An independent, deliberately naive fold of raw demo events: what the answers must be.

It shares no code with the projection: it replays events in order into
plain dictionaries, so a test can compare the gateway's answers with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Reference:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, dict[str, int]] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    orders: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    parents: dict[str, str | None] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    creators: dict[str, dict[str, Any]] = field(default_factory=dict)
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[dict[str, Any]]) -> Reference:
        ref = cls()
        for event in events:
            ref.apply(event["type"], event["data"])
        return ref

    def apply(self, type_: str, d: dict[str, Any]) -> None:
        if type_ == "ProductUpserted":
            self.products[d["productId"]] = d
            self.deleted.discard(d["productId"])
        elif type_ == "ProductDeleted":
            self.deleted.add(d["productId"])
        elif type_ == "PriceSet":
            self.prices[d["productId"]] = d
        elif type_ == "InventoryCounted":
            self.stock[d["productId"]] = d["onHand"]
        elif type_ == "InventoryAdjusted":
            self.stock[d["productId"]] = self.stock.get(d["productId"], 0) + d["delta"]
        elif type_ == "ReviewSubmitted":
            self.reviews.setdefault(d["productId"], {})[d["customerId"]] = d["rating"]
        elif type_ == "OrderPlaced" and d["orderId"] not in self.orders:
            lines = [(line["productId"], line["quantity"]) for line in d["lines"]]
            self.orders[d["orderId"]] = lines
            if d["orderId"] not in self.cancelled:
                for product, quantity in lines:
                    self.units[product] = self.units.get(product, 0) + quantity
        elif type_ == "OrderCancelled" and d["orderId"] not in self.cancelled:
            self.cancelled.add(d["orderId"])
            for product, quantity in self.orders.get(d["orderId"], []):
                self.units[product] -= quantity
        elif type_ == "CategoryUpserted":
            self.categories[d["categoryId"]] = d
            self.parents[d["categoryId"]] = d["parentId"]
        elif type_ == "CreatorUpserted":
            self.creators[d["handle"]] = d
        elif type_ == "StoreUpserted":
            self.stores[d["storeId"]] = d

    def listed(self) -> list[str]:
        return [
            p
            for p, d in self.products.items()
            if d["listed"] and p not in self.deleted and p in self.prices
        ]

    def in_subtree(self, category: str | None, root: str) -> bool:
        while category is not None:
            if category == root:
                return True
            category = self.parents.get(category)
        return False

    def available(self, product: str) -> int:
        return max(self.stock.get(product, 0), 0)

    def status(self, product: str) -> str:
        units = self.available(product)
        return "OUT_OF_STOCK" if units <= 0 else "LOW_STOCK" if units <= 5 else "IN_STOCK"

    def price_range(self, product: str) -> tuple[Decimal, Decimal]:
        price = self.prices[product]
        amounts = [Decimal(price["basePrice"])] + [Decimal(t["unitPrice"]) for t in price["tiers"]]
        return min(amounts), max(amounts)

    def rating(self, product: str) -> dict[str, Any] | None:
        ratings = list(self.reviews.get(product, {}).values())
        if not ratings:
            return None
        return {"average": round(sum(ratings) / len(ratings), 2), "count": len(ratings)}
