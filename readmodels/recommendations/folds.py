"""Pure bought-together rules: which pairs an order adds or takes back, and how to rank.

Orders are plain dicts shaped like `recommendation_orders` rows, so the
projection can load a batch's orders once, fold every event over them in
memory, and write the summed pair deltas back set-wise. Nothing here does I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

Row = dict[str, Any]
Pair = tuple[str, str]

MAX_ORDER_PRODUCTS = 50
"""An order counts its first 50 distinct products (in id order): at most 50 * 49
pair updates per order, however large the order."""

TOP_N = 20
"""Recommendations kept per product: the most a request may ask for."""


def order_products(product_ids: Iterable[str]) -> list[str]:
    """The distinct products an order counts, sorted, capped at MAX_ORDER_PRODUCTS.

    Sorting before the cut makes the choice independent of line order, so
    the same order counts the same pairs live and on a rebuild.
    """
    return sorted(set(product_ids))[:MAX_ORDER_PRODUCTS]


def order_pairs(product_ids: Iterable[str]) -> list[Pair]:
    """Every ordered pair of distinct products: each side recommends the other."""
    return list(permutations(order_products(product_ids), 2))


def new_order(order_id: str) -> Row:
    """An order not seen yet: no products known, not cancelled."""
    return {"order_id": order_id, "product_ids": None, "cancelled": False}


@dataclass(slots=True)
class PairFold:
    """The effect of order events on co-purchase counts, as summed deltas per pair.

    `place` and `cancel` mutate the order row (so the projection writes it
    back) and commute: a cancel arriving first leaves a tombstone that makes
    the later place count nothing, and repeats of either are no-ops.
    """

    deltas: Counter[Pair] = field(default_factory=Counter)

    def place(self, order: Row, product_ids: Iterable[str]) -> None:
        if order["product_ids"] is not None:
            return  # placed twice under different event ids: count it once
        counted = order["product_ids"] = order_products(product_ids)
        if not order["cancelled"]:
            self.deltas.update(order_pairs(counted))

    def cancel(self, order: Row) -> None:
        if order["cancelled"]:
            return
        order["cancelled"] = True
        self.deltas.subtract(order_pairs(order["product_ids"] or []))

    def changed(self) -> dict[Pair, int]:
        """Pairs whose count moves, in a deterministic order (place then cancel nets out)."""
        return {pair: delta for pair, delta in sorted(self.deltas.items()) if delta}


def rank(product_id: str, counts: Mapping[str, int], limit: int = TOP_N) -> list[str]:
    """A product's recommendations: count descending, then id ascending (code point
    order, as SQL's COLLATE "C"), never the product itself, never a zero count."""
    others = [(-n, other) for other, n in counts.items() if n > 0 and other != product_id]
    return [other for _, other in sorted(others)[:limit]]
