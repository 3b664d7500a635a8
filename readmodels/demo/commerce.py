"""Orders (with their cancellations, reviews and returns) and daily store traffic.

Orders follow a `DayPlan`: 120 days of growth (the last day is about 2.3
times the first), a weekly rhythm with busy weekends, and a little noise.
Stores are drawn with Zipf weights, then lines from the store's own
bestseller-skewed catalog, so every order belongs to one store and a few
products carry most lines. In the last 7 days the drop store sells a fifth of
its usual share and the spike store five times its share.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Any

from readmodels.demo.sampling import Weighted, Zipf, money
from readmodels.demo.timeline import DAY, Draft, Pending, day_start, stamp
from readmodels.demo.world import DROP_STORE, LOW_STOCK_STORE, SPIKE_STORE, World

ORDER_DAYS = 120
TRAFFIC_DAYS = 90
LATE_DAYS = 7  # "the last 7 days, today included": the dashboard's default range
WEEKDAY_FACTORS = (0.9, 0.95, 1.0, 1.0, 1.1, 1.3, 1.2)  # Monday first
DROP_FACTOR = 0.2
# Today is only partly over, so just after midnight the dashboard's range holds six days
# of the spike against the previous range's seven: 5x keeps it a WARNING-size spike (a rise
# over 200%) at any time of day, where 3.5x fell to INFO in the first hours.
SPIKE_FACTOR = 5.0
LOYAL_SHARE = 0.3  # of orders placed by the Zipf-skewed core of customers
CANCEL_RATE = 0.03
REVIEW_RATE = 0.10
SECOND_REVIEW_RATE = 0.05
RETURN_RATE = 0.02
RATING_CUMULATIVE = (0.04, 0.10, 0.22, 0.52)  # ratings 1-4; the rest are 5s


class DayPlan:
    """The order window day by day: start of each day, orders that day, store shares."""

    def __init__(self, world: World) -> None:
        rng = Random(f"{world.seed}:days")
        now = world.now
        today = day_start(now)
        self.starts = [today - (ORDER_DAYS - 1 - k) * DAY for k in range(ORDER_DAYS)]
        weights = []
        for k, start in enumerate(self.starts):
            weekday = (start // DAY + 3) % 7  # 1970-01-01 was a Thursday
            growth = 0.6 + 0.8 * k / (ORDER_DAYS - 1)
            elapsed = min(1.0, (now + 1 - start) / DAY)  # today is only partly over
            weights.append(growth * WEEKDAY_FACTORS[weekday] * rng.uniform(0.9, 1.1) * elapsed)
        total = sum(weights)
        self.counts: list[int] = []
        running, placed = 0.0, 0
        for weight in weights:
            running += weight
            target = round(world.scale.orders * running / total)
            self.counts.append(target - placed)
            placed = target
        # Calendar days, as the dashboard's ranges are: the previous range holds none of it.
        self.late_from = today - (LATE_DAYS - 1) * DAY
        base = [1.0 / s for s in range(1, world.scale.stores + 1)]
        late = list(base)
        late[DROP_STORE - 1] *= DROP_FACTOR
        late[SPIKE_STORE - 1] *= SPIKE_FACTOR
        self.base_stores, self.late_stores = Weighted(base), Weighted(late)
        self._base_share = [w / sum(base) for w in base]
        self._late_share = [w / sum(late) for w in late]

    def stores_at(self, at: int) -> Weighted:
        return self.late_stores if at >= self.late_from else self.base_stores

    def share(self, store: int, *, late: bool) -> float:
        return (self._late_share if late else self._base_share)[store - 1]


def order_drafts(world: World, plan: DayPlan) -> Iterator[Draft]:
    """OrderPlaced in time order, with follow-ups interleaved as their time comes."""
    rng = Random(f"{world.seed}:orders")
    customers = world.scale.customers
    loyal = Zipf(customers, 0.6)  # a core of returning customers
    pending = Pending(world.now)
    low_stock = world.store_product(LOW_STOCK_STORE, 0)
    number = 0
    for start, count in zip(plan.starts, plan.counts, strict=True):
        end = min(start + DAY, world.now + 1)
        for at in sorted(rng.randrange(start, end) for _ in range(count)):
            yield from pending.due(at)
            number += 1
            store = plan.stores_at(at).pick(rng) + 1
            lines = order_lines(rng, world, store)
            if rng.random() < LOYAL_SHARE:
                customer = f"cu-{loyal.pick(rng) + 1}"
            else:
                customer = f"cu-{rng.randint(1, customers)}"
            order_id = f"o-{number}"
            yield (
                at,
                "OrderPlaced",
                {
                    "orderId": order_id,
                    "storeId": f"s-{store}",
                    "customerId": customer,
                    "placedAt": stamp(at),
                    "currencyCode": world.currency(store),
                    "lines": [
                        {"productId": f"p-{p}", "quantity": q, "unitPrice": money(c)}
                        for p, q, c in lines
                    ],
                    "total": money(sum(q * c for _, q, c in lines)),
                },
            )
            if rng.random() < CANCEL_RATE:
                pending.add(at + rng.randint(600, 2 * DAY), "OrderCancelled", {"orderId": order_id})
                continue
            if rng.random() < REVIEW_RATE:
                schedule_reviews(rng, pending, at, customer, rng.choice(lines)[0])
            if rng.random() < RETURN_RATE:
                product, quantity, _ = rng.choice(lines)
                if product != low_stock:
                    pending.add(
                        at + rng.randint(3 * DAY, 20 * DAY),
                        "InventoryAdjusted",
                        {"productId": f"p-{product}", "delta": quantity, "reason": "return"},
                    )
    yield from pending.rest()


def order_lines(rng: Random, world: World, store: int) -> list[tuple[int, int, int]]:
    """1-4 distinct products of one store as (product, quantity, unit cents)."""
    roll = rng.random()
    wanted = 1 if roll < 0.5 else 2 if roll < 0.8 else 3 if roll < 0.93 else 4
    wanted = min(wanted, world.store_size(store))
    products: list[int] = []
    for _ in range(wanted * 4):
        product = world.pick_product(rng, store)
        if product not in products:
            products.append(product)
            if len(products) == wanted:
                break
    quantities = (1, 1, 1, 1, 1, 1, 1, 2, 2, 3)
    return [(p, rng.choice(quantities), world.product_price[p - 1]) for p in products]


def schedule_reviews(rng: Random, pending: Pending, at: int, customer: str, product: int) -> None:
    """A review days after delivery; sometimes a second one when the customer changes their mind."""
    reviewed = at + rng.randint(2 * DAY, 14 * DAY)
    pending.add(reviewed, "ReviewSubmitted", review(rng, customer, product))
    if rng.random() < SECOND_REVIEW_RATE:
        again = reviewed + rng.randint(DAY, 10 * DAY)
        pending.add(again, "ReviewSubmitted", review(rng, customer, product))


def review(rng: Random, customer: str, product: int) -> dict[str, Any]:
    roll = rng.random()
    rating = 1 + sum(roll >= bound for bound in RATING_CUMULATIVE)
    return {"productId": f"p-{product}", "customerId": customer, "rating": rating}


def traffic_drafts(world: World, plan: DayPlan) -> Iterator[Draft]:
    """One StoreTrafficRecorded per store for each of the 90 full days before today."""
    rng = Random(f"{world.seed}:traffic")
    conversion = [rng.uniform(0.015, 0.05) for _ in range(world.scale.stores)]
    for k in range(ORDER_DAYS - 1 - TRAFFIC_DAYS, ORDER_DAYS - 1):
        start, orders = plan.starts[k], plan.counts[k]
        late = start + DAY // 2 >= plan.late_from
        at = min(start + DAY + 5 * 60, world.now)
        date = stamp(start)[:10]
        for store in range(1, world.scale.stores + 1):
            if store == DROP_STORE and late:
                # Visitors still come, fewer of them buy: conversion is what dropped.
                expected = orders * plan.share(store, late=False) * 0.8
            else:
                expected = orders * plan.share(store, late=late)
            sessions = int(expected / conversion[store - 1] * rng.uniform(0.85, 1.15))
            yield (
                at,
                "StoreTrafficRecorded",
                {
                    "storeId": f"s-{store}",
                    "date": date,
                    "sessions": sessions + rng.randint(3, 25),
                },
            )


def window_start(world: World) -> int:
    """The first second of the order window (also where other timed streams begin)."""
    return day_start(world.now) - (ORDER_DAYS - 1) * DAY
