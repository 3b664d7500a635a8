"""An independent, deliberately naive fold of raw demo events: what the answers must be.

It shares no code with the projection: it replays events in order into
plain dictionaries, so a test can compare the gateway's answers with it.
Prices are worked out the slow, obvious way from events.md and the pricing
engine's documented rules: every promotion of the store is tried (no index),
conditions are walked recursively, categories climb the parents map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MAX_ORDER_PRODUCTS = 50
TOP_RECOMMENDATIONS = 20
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "CLP", "ISK", "VND"}
THREE_DECIMAL_CURRENCIES = {"BHD", "KWD", "OMR"}
# Trending as docs/feeds.md and readmodels/trending/folds.py define it: kind weights,
# and per window its length and half-life (hour buckets aged from their midpoint).
ENGAGEMENT_WEIGHTS = {"LIKE": 1, "SHARE": 3, "REMIX": 5}
TRENDING_WINDOWS = {
    "HOUR": (timedelta(hours=1), timedelta(minutes=15)),
    "DAY": (timedelta(days=1), timedelta(hours=6)),
    "WEEK": (timedelta(days=7), timedelta(days=2)),
}


def cents(currency: str) -> Decimal:
    """The currency's minor unit."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return Decimal("1")
    if currency in THREE_DECIMAL_CURRENCIES:
        return Decimal("0.001")
    return Decimal("0.01")


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(cents(currency), rounding=ROUND_HALF_UP)


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass
class Facts:
    """What a condition is evaluated against: one line, its product and the viewer."""

    product: str
    category: str | None
    collections: set[str]
    tags: set[str]
    segments: set[str]
    quantity: int | None  # None: unknown (three-valued evaluation)
    subtotal: Decimal | None


@dataclass
class Priced:
    """One unit of a line: list and final price, base, tier reached, applied promotions."""

    currency: str
    base: Decimal
    listed: Decimal
    final: Decimal
    tier: int | None
    applied: list[tuple[str, Decimal]]

    @property
    def compare_at(self) -> Decimal | None:
        return self.base if self.final < self.base else None


@dataclass
class Cart:
    lines: list[tuple[str, int, Priced, Decimal]]  # product, quantity, unit, line total
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    applied: list[tuple[str, Decimal]]


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
    promotions: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[str, set[str]] = field(default_factory=dict)
    segment_changes: dict[str, int] = field(default_factory=dict)
    collections: dict[str, list[str]] = field(default_factory=dict)
    # orderId -> (storeId, UTC day placed, total), for revenue by store and day.
    order_totals: dict[str, tuple[str, date, Decimal]] = field(default_factory=dict)
    # Feeds: posts as first published, those taken down, the follow graph, the
    # distinct (post, user, kind) engagements, and every engagement with its time.
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    unpublished: set[str] = field(default_factory=set)
    follows: set[tuple[str, str]] = field(default_factory=set)
    engaged: set[tuple[str, str, str]] = field(default_factory=set)
    engagements: list[tuple[str, str, datetime]] = field(default_factory=list)
    _pairs: dict[str, dict[str, int]] | None = None
    _counters: dict[str, dict[str, int]] | None = None

    @classmethod
    def of(cls, events: Iterable[dict[str, Any]]) -> Reference:
        ref = cls()
        for event in events:
            ref.apply(event["type"], event["data"], event.get("occurredAt"))
        return ref

    def apply(self, type_: str, d: dict[str, Any], occurred_at: str | None = None) -> None:
        if type_ == "PostPublished":
            self.posts.setdefault(d["postId"], d)
        elif type_ == "PostUnpublished":
            self.unpublished.add(d["postId"])
        elif type_ == "Followed":
            self.follows.add((d["userId"], d["creatorId"]))
        elif type_ == "Unfollowed":
            self.follows.discard((d["userId"], d["creatorId"]))
        elif type_ == "EngagementRecorded":
            self.engaged.add((d["postId"], d["userId"], d["kind"]))
            assert occurred_at is not None
            self.engagements.append((d["postId"], d["kind"], datetime.fromisoformat(occurred_at)))
        elif type_ == "ProductUpserted":
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
            day = datetime.fromisoformat(d["placedAt"]).astimezone(UTC).date()
            self.order_totals[d["orderId"]] = (d["storeId"], day, Decimal(d["total"]))
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
        elif type_ == "PromotionUpserted":
            self.promotions[d["promotionId"]] = dict(d)
        elif type_ == "PromotionDeactivated" and d["promotionId"] in self.promotions:
            self.promotions[d["promotionId"]]["active"] = False
        elif type_ == "CustomerSegmentsChanged":
            self.segments[d["customerId"]] = set(d["segments"])
            self.segment_changes[d["customerId"]] = self.segment_changes.get(d["customerId"], 0) + 1
        elif type_ == "CollectionUpserted":
            self.collections[d["collectionId"]] = list(d["productIds"])

    def revenue(self, store: str, first: date, last: date) -> tuple[Decimal, int]:
        """Total and count of the store's orders placed from `first` to `last`, not cancelled."""
        totals = [
            total
            for order, (s, day, total) in self.order_totals.items()
            if s == store and first <= day <= last and order not in self.cancelled
        ]
        return sum(totals, Decimal(0)), len(totals)

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

    # Promotions and prices.

    def facts(
        self, product: str, segments: set[str], quantity: int | None, subtotal: Decimal | None
    ) -> Facts:
        data = self.products[product]
        collections = {k for k, members in self.collections.items() if product in members}
        return Facts(
            product,
            data["categoryId"],
            collections,
            set(data["tags"]),
            segments,
            quantity,
            subtotal,
        )

    def holds(self, condition: dict[str, Any] | None, facts: Facts) -> bool | None:
        """The condition for these facts; None when it hangs on an unknown quantity or
        subtotal (Kleene: `any` with a true child is true, `all` with a false one false)."""
        if not condition:
            return True
        ((key, value),) = condition.items()
        if key == "all":
            results = [self.holds(child, facts) for child in value]
            if False in results:
                return False
            return None if None in results else True
        if key == "any":
            results = [self.holds(child, facts) for child in value]
            if True in results:
                return True
            return None if None in results else False
        if key == "not":
            inner = self.holds(value, facts)
            return None if inner is None else not inner
        if key == "productIn":
            return facts.product in value
        if key == "categoryIn":
            return any(self.in_subtree(facts.category, c) for c in value)
        if key == "collectionIn":
            return bool(facts.collections & set(value))
        if key == "tagIn":
            return bool(facts.tags & set(value))
        if key == "segmentIn":
            return bool(facts.segments & set(value))
        if key == "minQuantity":
            return None if facts.quantity is None else facts.quantity >= value
        if key == "minSubtotal":
            return None if facts.subtotal is None else facts.subtotal >= Decimal(value)
        raise AssertionError(f"unknown condition {key}")

    def in_effect(self, promotion: dict[str, Any], now: datetime) -> bool:
        """Active, and `now` within [startsAt, endsAt) (an open end never comes)."""
        starts, ends = instant(promotion["startsAt"]), instant(promotion["endsAt"])
        return (
            promotion["active"]
            and (starts is None or starts <= now)
            and (ends is None or now < ends)
        )

    def running_promotions(self, product: str, now: datetime) -> list[dict[str, Any]]:
        """The store's promotions in effect at `now`, in the order they apply (priority
        descending, then id)."""
        store = self.products[product]["storeId"]
        running = [
            p for p in self.promotions.values() if p["storeId"] == store and self.in_effect(p, now)
        ]
        return sorted(running, key=lambda p: (-p["priority"], p["promotionId"]))

    def promotions_for(self, product: str, segments: set[str], now: datetime) -> list[str]:
        """`Product.promotions`: running promotions some quantity and subtotal can make apply."""
        facts = self.facts(product, segments, None, None)
        return [
            p["promotionId"]
            for p in self.running_promotions(product, now)
            if self.holds(p["condition"], facts) is not False
        ]

    def list_price(
        self, product: str, quantity: int, segments: set[str]
    ) -> tuple[Decimal, int | None]:
        """The lowest of the base price, the tiers reached and the viewer's segment prices;
        the tier's minimum quantity when a tier gives it."""
        price = self.prices[product]
        best, tier = Decimal(price["basePrice"]), None
        for t in price["tiers"]:
            if t["minQuantity"] <= quantity and Decimal(t["unitPrice"]) < best:
                best, tier = Decimal(t["unitPrice"]), t["minQuantity"]
        for s in price["segmentPrices"]:
            if s["segment"] in segments and Decimal(s["unitPrice"]) < best:
                best, tier = Decimal(s["unitPrice"]), None
        return rounded(best, price["currencyCode"]), tier

    def unit_price(
        self,
        product: str,
        quantity: int,
        segments: set[str],
        now: datetime,
        subtotal: Decimal | None = None,
    ) -> Priced:
        """One unit of `quantity` of `product` in a cart whose list subtotal is `subtotal`
        (a product page: the cart of this one line)."""
        price = self.prices[product]
        currency = price["currencyCode"]
        listed, tier = self.list_price(product, quantity, segments)
        if subtotal is None:
            subtotal = listed * quantity
        facts = self.facts(product, segments, quantity, subtotal)
        running = listed
        taken: list[tuple[str, Decimal]] = []
        for promotion in self.running_promotions(product, now):
            if not self.holds(promotion["condition"], facts):
                continue
            value = Decimal(promotion["value"])
            if promotion["kind"] == "PERCENT_OFF":
                off = running * value / 100
            elif promotion["kind"] == "AMOUNT_OFF":
                off = value
            else:
                get = promotion["getQuantity"] or 0
                bundle = (promotion["buyQuantity"] or 0) + get
                free = quantity // bundle * get if bundle > 0 else 0
                off = running * free / quantity
            off = min(off, running)
            if off <= 0:
                continue
            running -= off
            taken.append((promotion["promotionId"], off))
            if not promotion["stackable"]:
                break
        final = rounded(running, currency)
        applied = share_out(taken, listed - final, cents(currency))
        base = rounded(Decimal(price["basePrice"]), currency)
        return Priced(currency, base, listed, final, tier, applied)

    def cart(self, lines: list[tuple[str, int]], segments: set[str], now: datetime) -> Cart:
        currency = self.prices[lines[0][0]]["currencyCode"]
        subtotal = sum((self.list_price(p, q, segments)[0] * q for p, q in lines), start=Decimal(0))
        priced = []
        by_promotion: dict[str, Decimal] = {}
        for product, quantity in lines:
            unit = self.unit_price(product, quantity, segments, now, subtotal)
            priced.append((product, quantity, unit, rounded(unit.final * quantity, currency)))
            for promotion, discount in unit.applied:
                by_promotion[promotion] = by_promotion.get(promotion, Decimal(0)) + (
                    discount * quantity
                )
        total = sum((line[3] for line in priced), start=Decimal(0))
        order = sorted(by_promotion, key=lambda p: (-self.promotions[p]["priority"], p))
        return Cart(
            priced,
            rounded(subtotal, currency),
            rounded(subtotal - total, currency),
            rounded(total, currency),
            [(p, rounded(by_promotion[p], currency)) for p in order],
        )

    # Feeds and trending.

    def published(self) -> list[str]:
        return [p for p in self.posts if p not in self.unpublished]

    def newest_first(self, posts: Iterable[str]) -> list[str]:
        """Newest first by (publishedAt, id), ids in code point order."""
        return sorted(
            posts,
            key=lambda p: (datetime.fromisoformat(self.posts[p]["publishedAt"]), p),
            reverse=True,
        )

    def feed(self, user: str) -> list[str]:
        """The published posts of the creators `user` follows, newest first."""
        followed = {creator for u, creator in self.follows if u == user}
        return self.newest_first(
            p for p in self.published() if self.posts[p]["creatorId"] in followed
        )

    def creator_posts(self, creator: str) -> list[str]:
        return self.newest_first(
            p for p in self.published() if self.posts[p]["creatorId"] == creator
        )

    def followers(self, creator: str) -> int:
        return sum(1 for _, c in self.follows if c == creator)

    def counters(self, post: str) -> dict[str, int]:
        """Likes, shares and remixes: each user counts once per kind."""
        if self._counters is None:
            self._counters = {}
            names = {"LIKE": "likes", "SHARE": "shares", "REMIX": "remixes"}
            for p, _, kind in self.engaged:
                counts = self._counters.setdefault(p, dict.fromkeys(names.values(), 0))
                counts[names[kind]] += 1
        return dict(self._counters.get(post, {"likes": 0, "shares": 0, "remixes": 0}))

    def trending(self, window: str, now: datetime, first: int) -> list[str]:
        """Published posts by decayed engagement inside `window`, as of the latest engagement,
        then id; only posts with engagement in the window's hours at `now` (the request)."""
        length, half_life = TRENDING_WINDOWS[window]
        as_of = max(at for _, _, at in self.engagements)

        def hour(moment: datetime) -> datetime:
            return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)

        start, cutoff = hour(as_of - length), hour(now - length)
        buckets: dict[str, dict[datetime, int]] = {}
        for post, kind, at in self.engagements:
            weights = buckets.setdefault(post, {})
            weights[hour(at)] = weights.get(hour(at), 0) + ENGAGEMENT_WEIGHTS[kind]
        live = set(self.published())
        scores: dict[str, float] = {}
        for post, weights in buckets.items():
            if post not in live or max(weights) < cutoff:
                continue
            score = 0.0
            for bucket in sorted(b for b in weights if b >= start):
                middle = bucket + timedelta(minutes=30)
                age = max(0.0, (as_of - middle).total_seconds())
                score += weights[bucket] * 0.5 ** (age / half_life.total_seconds())
            if score > 0:
                scores[post] = score
        return sorted(scores, key=lambda p: (-scores[p], p))[:first]  # ids by code point

    # Recommendations.

    def pairs(self) -> dict[str, dict[str, int]]:
        """Co-purchase counts: every live order's first 50 distinct products (by id)."""
        if self._pairs is None:
            counts: dict[str, dict[str, int]] = {}
            for order, lines in self.orders.items():
                if order in self.cancelled:
                    continue
                products = sorted({p for p, _ in lines})[:MAX_ORDER_PRODUCTS]
                for a in products:
                    for b in products:
                        if a != b:
                            counts.setdefault(a, {})[b] = counts.get(a, {}).get(b, 0) + 1
            self._pairs = counts
        return self._pairs

    def recommendations(self, product: str, first: int) -> list[str]:
        """The top 20 by count (then id), then those listed, priced and not deleted."""
        counts = self.pairs().get(product, {})
        ranked = sorted((-n, other) for other, n in counts.items() if n > 0 and other != product)
        top = [other for _, other in ranked[:TOP_RECOMMENDATIONS]]
        shown = [
            p
            for p in top
            if p in self.products
            and self.products[p]["listed"]
            and p not in self.deleted
            and p in self.prices
        ]
        return shown[:first]


def share_out(
    taken: list[tuple[str, Decimal]], total: Decimal, unit: Decimal
) -> list[tuple[str, Decimal]]:
    """`total` split over the promotions in minor units: each its exact share rounded
    down, the units left over to the largest remainders (the earlier on a tie)."""
    whole = [int(discount // unit) for _, discount in taken]
    remainders = [discount / unit - w for (_, discount), w in zip(taken, whole, strict=True)]
    left = int(total / unit) - sum(whole)
    for i in sorted(range(len(taken)), key=lambda i: (-remainders[i], i))[: max(left, 0)]:
        whole[i] += 1
    return [(promotion, w * unit) for (promotion, _), w in zip(taken, whole, strict=True)]
