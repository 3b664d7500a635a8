"""Promotions: every kind, every condition leaf and combinator, windows around `now`.

The first promotions are a fixed coverage set, each active now: one per
condition leaf, the events.md example, a tree exactly 6 levels deep, one
with exactly 256 leaves (both at the complexity guard's limit), and the two
spellings of "always" (null and {}). The rest are random: conditions are
small random trees, windows are active now, ended, ending within 48 hours,
in the future or open-ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Any

from readmodels.demo.sampling import Zipf, money
from readmodels.demo.timeline import DAY, HOUR, Draft, stamp
from readmodels.demo.words import PRICED_SEGMENTS, PROMOTION_THEMES, SEGMENTS, TAGS
from readmodels.demo.world import World

Condition = dict[str, Any] | None
LEAVES = ("productIn", "categoryIn", "collectionIn", "tagIn", "segmentIn", "minQuantity",
          "minSubtotal")  # fmt: skip
COVERAGE = len(LEAVES) + 5  # promotions 1 .. COVERAGE carry the fixed coverage set
DEACTIVATED_SHARE = 0.02


class Conditions:
    """Builds condition trees from one store's own products and categories."""

    def __init__(self, world: World, rng: Random) -> None:
        self._world = world
        self._rng = rng

    def leaf(self, store: int, kind: str) -> dict[str, Any]:
        rng, world = self._rng, self._world
        if kind == "productIn":
            products = {world.pick_product(rng, store) for _ in range(rng.randint(1, 5))}
            return {kind: [f"p-{p}" for p in sorted(products)]}
        if kind == "categoryIn":
            categories: set[int] = set()
            for _ in range(rng.randint(1, 3)):
                product = world.pick_product(rng, store)
                category = world.categories[world.product_category[product - 1] - 1]
                parent = category.parent if rng.random() < 0.3 else None
                categories.add(parent or category.number)
            return {kind: [f"c-{c}" for c in sorted(categories)]}
        if kind == "collectionIn":
            count = min(world.scale.collections, rng.randint(1, 2))
            picks = rng.sample(range(1, world.scale.collections + 1), count)
            return {kind: [f"k-{k}" for k in sorted(picks)]}
        if kind == "tagIn":
            return {kind: sorted(rng.sample(TAGS, rng.randint(1, 2)))}
        if kind == "segmentIn":
            return {kind: sorted(rng.sample(SEGMENTS, rng.randint(1, 2)))}
        if kind == "minQuantity":
            return {kind: rng.randint(2, 5)}
        return {kind: money(500 * rng.randint(4, 30))}

    def tree(self, store: int, depth: int) -> dict[str, Any]:
        """A random tree at most `depth` levels deep."""
        rng = self._rng
        if depth <= 1 or rng.random() < 0.4:
            return self.leaf(store, rng.choice(LEAVES))
        roll = rng.random()
        if roll < 0.15:
            return {"not": self.tree(store, depth - 1)}
        children = [self.tree(store, depth - 1) for _ in range(rng.randint(2, 3))]
        return {"all" if roll < 0.6 else "any": children}

    def coverage(self, store: int) -> list[Condition]:
        """The fixed set: each leaf alone, the example, depth 6, 256 leaves, null and {}."""
        leaf = self.leaf
        example = {"all": [
            leaf(store, "categoryIn"),
            {"any": [{"segmentIn": ["vip"]}, {"minQuantity": 3}]},
            {"not": {"tagIn": ["clearance"]}},
        ]}  # fmt: skip
        deepest = {"all": [
            {"any": [
                {"not": {"all": [
                    {"any": [leaf(store, "productIn"), {"minQuantity": 2}]},
                    leaf(store, "tagIn"),
                ]}},
                {"segmentIn": list(PRICED_SEGMENTS)},
            ]},
            {"minSubtotal": "10.00"},
        ]}  # fmt: skip
        widest = {"any": [leaf(store, LEAVES[i % 5]) for i in range(256)]}
        return [*(leaf(store, kind) for kind in LEAVES), example, deepest, widest, None, {}]


def promotion_drafts(world: World, at: int) -> Iterator[Draft]:
    """PromotionUpserted for every promotion, all at `at` (they are scheduled ahead)."""
    rng = Random(f"{world.seed}:promotions")
    conditions = Conditions(world, rng)
    stores = Zipf(world.scale.stores, 0.8)
    for p in range(1, world.scale.promotions + 1):
        store = stores.pick(rng) + 1
        covering = p <= COVERAGE
        if covering:
            condition = conditions.coverage(store)[p - 1]
        else:
            condition = random_condition(rng, conditions, store)
        starts, ends = window(rng, world.now, active_now=covering)
        data = promotion(rng, p, store, condition, starts, ends)
        yield at, "PromotionUpserted", {**data, "active": covering or data["active"]}


def random_condition(rng: Random, conditions: Conditions, store: int) -> Condition:
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.25:
        return {}
    if roll < 0.6:
        return conditions.leaf(store, rng.choice(LEAVES))
    return conditions.tree(store, rng.randint(2, 4))


def window(rng: Random, now: int, *, active_now: bool) -> tuple[int | None, int | None]:
    """(startsAt, endsAt) as unix seconds or None for open."""
    roll = 0.0 if active_now else rng.random()

    def days(low: int, high: int) -> int:
        return rng.randint(low, high) * DAY

    if roll < 0.35:  # active now
        return now - days(1, 30), now + days(3, 30)
    if roll < 0.55:  # ended
        ends = now - days(1, 60)
        return ends - days(3, 30), ends
    if roll < 0.65:  # ending within 48 hours
        return now - days(1, 14), now + rng.randint(1, 47) * HOUR
    if roll < 0.80:  # not started yet
        starts = now + days(1, 30)
        return starts, starts + days(3, 30)
    return (None if rng.random() < 0.5 else now - days(30, 200)), None  # open-ended


def promotion(
    rng: Random, p: int, store: int, condition: Condition, starts: int | None, ends: int | None
) -> dict[str, Any]:
    theme = PROMOTION_THEMES[rng.randrange(len(PROMOTION_THEMES))]
    roll = rng.random()
    buy = get = None
    if roll < 0.5:
        kind, percent = "PERCENT_OFF", rng.randint(5, 40)
        value, label = str(percent), f"{percent}% off"
    elif roll < 0.8:
        kind, cents = "AMOUNT_OFF", 50 * rng.randint(2, 20)
        value, label = money(cents), f"{money(cents)} off each"
    else:
        kind, buy, get = "BUY_X_GET_Y", rng.randint(2, 3), 1
        value, label = "0", f"buy {buy} get {get} free"
    return {
        "promotionId": f"pr-{p}",
        "storeId": f"s-{store}",
        "name": f"{theme}: {label}",
        "description": f"{theme} at store {store}: {label} on selected items.",
        "kind": kind,
        "value": value,
        "buyQuantity": buy,
        "getQuantity": get,
        "startsAt": None if starts is None else stamp(starts),
        "endsAt": None if ends is None else stamp(ends),
        "priority": rng.randint(0, 100),
        "stackable": rng.random() < 0.4,
        "active": rng.random() < 0.95,
        "condition": condition,
    }


def deactivation_drafts(world: World, start: int) -> Iterator[Draft]:
    """PromotionDeactivated for a few promotions, spread over the last 30 days."""
    rng = Random(f"{world.seed}:deactivations")
    total = world.scale.promotions
    chosen = rng.sample(range(1, total + 1), min(total, max(2, int(total * DEACTIVATED_SHARE))))
    begin = max(start, world.now - 30 * DAY)
    times = sorted(rng.randrange(begin, world.now) for _ in chosen)
    for at, p in zip(times, chosen, strict=True):
        yield at, "PromotionDeactivated", {"promotionId": f"pr-{p}"}
