"""Stock movements after the first counts: restocks, corrections and the low-stock story.

Order lines do not move stock here (the commerce backend reports stock on
its own), so these streams are what the inventory read model sees besides
InventoryCounted: daily restocks of popular products, small corrections, the
returns commerce.py schedules, and the sale run of the low-stock store's
bestseller.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random

from readmodels.demo.commerce import DayPlan
from readmodels.demo.timeline import DAY, HOUR, Draft
from readmodels.demo.world import DELETED, LOW_STOCK_STORE, World

RESTOCKS_PER_PRODUCTS = 400  # one restock a day per 400 products
CORRECTIONS_PER_PRODUCTS = 2_000
LOW_STOCK_RECOUNT = 90
LOW_STOCK_DAYS = 10  # sells 4, 5, ... 13 units a day: 85 of 90 gone, 5 left


def stock_drafts(world: World, plan: DayPlan) -> Iterator[Draft]:
    """Restocks of popular products and small stock corrections, every day of the window."""
    rng = Random(f"{world.seed}:stock")
    products = world.scale.products
    restocks = max(1, products // RESTOCKS_PER_PRODUCTS)
    corrections = max(1, products // CORRECTIONS_PER_PRODUCTS)
    low_stock = world.store_product(LOW_STOCK_STORE, 0)
    for start in plan.starts:
        end = min(start + DAY, world.now + 1)
        moves = [(rng.randrange(start, end), True) for _ in range(restocks)]
        moves += [(rng.randrange(start, end), False) for _ in range(corrections)]
        moves.sort()
        for at, is_restock in moves:
            if is_restock:
                product = world.pick_product(rng, plan.base_stores.pick(rng) + 1)
                delta, reason = 5 * rng.randint(2, 40), "restock"
            else:
                product = rng.randint(1, products)
                size = rng.randint(1, 3)
                plenty = world.product_stock[product - 1] >= 10
                delta, reason = (-size if plenty and rng.random() < 0.6 else size), "correction"
            if product == low_stock or world.product_flags[product - 1] & DELETED:
                continue
            yield (
                at,
                "InventoryAdjusted",
                {
                    "productId": f"p-{product}",
                    "delta": delta,
                    "reason": reason,
                },
            )


def low_stock_drafts(world: World) -> Iterator[Draft]:
    """A recount of the low-stock bestseller, then ten days of growing sales down to 5 units."""
    product = f"p-{world.store_product(LOW_STOCK_STORE, 0)}"
    start = world.now - LOW_STOCK_DAYS * DAY
    yield start, "InventoryCounted", {"productId": product, "onHand": LOW_STOCK_RECOUNT}
    for day in range(LOW_STOCK_DAYS):
        yield (
            start + day * DAY + 5 * HOUR,
            "InventoryAdjusted",
            {
                "productId": product,
                "delta": -(4 + day),
                "reason": "sale",
            },
        )
