"""The pricing engine (pure): a unit price for a quantity, and a cart of lines.

`Product.price(quantity)` and `priceCart` both call `price_cart`, the product
page as a cart of one line, so a cart line always equals the product page
at that quantity (for the same viewer, and the same cart subtotal: the one
fact a product page cannot know about a cart is the `minSubtotal` its other
lines reach).

The rules, from events.md:
- the list price is the lowest applicable of the base price, the quantity tier
  reached and the viewer's segment prices (`prices.list_unit_price`);
- candidate promotions run in priority order (higher first, then id); one
  applies when it is active, within its window at `now`, of the product's
  store, and its compiled condition holds for the line;
- PERCENT_OFF takes `value` percent of the running unit price, AMOUNT_OFF takes
  `value` per unit, BUY_X_GET_Y makes `getQuantity` of every `buy + get` units
  free, spread over the line's units; a promotion that takes nothing at this
  quantity is not applied (and so does not stop the chain);
- a non-stackable promotion stops the chain on its line;
- a unit price never goes below zero;
- everything is exact `Decimal` until the final unit price, which is rounded
  half-up to the currency's minor unit once. The per-promotion discounts shown
  are that rounded total discount shared out in minor units (largest
  remainder), so they always add up to `list - final`.

Nothing here does I/O or reads a clock: callers pass rows, offers and `now`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from readmodels.catalog.rows import ProductRow
from readmodels.pricing.rows import ProductOffers, PromotionKind, PromotionRow
from resolvers.pricing.conditions import PREDICATES, Predicate
from resolvers.pricing.prices import (
    Money,
    PriceTierView,
    ProductPriceView,
    list_unit_price,
    minor_unit,
    money,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)

PredicateOf = Callable[[PromotionRow], Predicate]


class AppliedPromotionView(NamedTuple):
    promotion: PromotionRow
    discount: Money


class CartLine(NamedTuple):
    """A line to price: the product, its quantity, and its offers (None: no candidates)."""

    product: ProductRow
    quantity: int
    offers: ProductOffers | None


class PricedLine(NamedTuple):
    product: ProductRow
    quantity: int
    unit_price: ProductPriceView
    line_total: Money


class CartPriceView(NamedTuple):
    lines: list[PricedLine]
    subtotal: Money
    discount_total: Money
    total: Money
    applied_promotions: list[AppliedPromotionView]


def in_effect(promotion: PromotionRow, now: datetime) -> bool:
    """Active, started and not ended at `now` (windows start and end on the second)."""
    return (
        promotion.active
        and (promotion.starts_at is None or promotion.starts_at <= now)
        and (promotion.ends_at is None or promotion.ends_at > now)
    )


def unit_discount(promotion: PromotionRow, running: Decimal, quantity: int) -> Decimal:
    """What `promotion` takes off one unit whose price so far is `running`."""
    kind = promotion.kind
    if kind is PromotionKind.PERCENT_OFF:
        return running * promotion.value / HUNDRED
    if kind is PromotionKind.AMOUNT_OFF:
        return promotion.value
    buy, get = promotion.buy_quantity or 0, promotion.get_quantity or 0
    if buy + get <= 0:
        return ZERO
    free = (quantity // (buy + get)) * get
    return running * free / quantity if free else ZERO


def price_unit(
    product: ProductRow,
    quantity: int,
    offers: ProductOffers | None,
    *,
    segments: frozenset[str],
    subtotal: Decimal,
    now: datetime,
    predicate_of: PredicateOf = PREDICATES.get,
) -> ProductPriceView:
    """The unit price of `quantity` of `product` for a viewer in `segments`, in a cart
    whose list subtotal is `subtotal`. The product must have a price."""
    assert product.base_price is not None
    assert product.currency_code is not None
    currency = product.currency_code
    unit, tier = list_unit_price(product, quantity, segments)
    listed = money(unit, currency)
    base = money(product.base_price, currency)
    tier_view = PriceTierView(tier.min_quantity, money(tier.unit_price, currency)) if tier else None
    if offers is None or not offers.promotions:
        compare_at = base if listed.amount < base.amount else None
        return ProductPriceView(listed, listed, compare_at, tier_view, ())
    facts = offers.facts
    running = listed.amount
    taken: list[tuple[PromotionRow, Decimal]] = []
    for promotion in offers.promotions:
        if promotion.store_id != product.store_id or not in_effect(promotion, now):
            continue
        predicate = predicate_of(promotion)
        if not predicate(
            product.id,
            facts.category_path,
            facts.collection_ids,
            facts.tags,
            segments,
            quantity,
            subtotal,
        ):
            continue
        discount = min(unit_discount(promotion, running, quantity), running)
        if discount <= ZERO:
            continue
        running -= discount
        taken.append((promotion, discount))
        if not promotion.stackable or running <= ZERO:
            break  # stopped, or nothing left that a later promotion could take
    final = money(running, currency)
    applied = _share_out(taken, listed.amount - final.amount, currency)
    compare_at = base if final.amount < base.amount else None
    return ProductPriceView(listed, final, compare_at, tier_view, applied)


def _share_out(
    taken: Sequence[tuple[PromotionRow, Decimal]], total: Decimal, currency: str
) -> tuple[AppliedPromotionView, ...]:
    """The rounded `total` discount split over the promotions that took it, in minor
    units by largest remainder: each is its exact share rounded down, and the units
    left go to the largest remainders (earlier promotions first on ties)."""
    if not taken:
        return ()
    unit = minor_unit(currency)
    exact = [discount / unit for _, discount in taken]
    floors = [e.to_integral_value(rounding=ROUND_FLOOR) for e in exact]
    left = int(total / unit) - int(sum(floors))
    by_remainder = sorted(range(len(taken)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[: max(left, 0)]:
        floors[i] += 1
    return tuple(
        AppliedPromotionView(promotion, money(units * unit, currency))
        for (promotion, _), units in zip(taken, floors, strict=True)
    )


def list_subtotal(lines: Sequence[CartLine], segments: frozenset[str]) -> Decimal:
    """The cart's subtotal before promotions: each line's rounded list price times its
    quantity (what `minSubtotal` conditions compare against)."""
    total = ZERO
    for line in lines:
        unit, _ = list_unit_price(line.product, line.quantity, segments)
        assert line.product.currency_code is not None
        total += money(unit, line.product.currency_code).amount * line.quantity
    return total


def price_cart(
    lines: Sequence[CartLine],
    *,
    currency: str,
    segments: frozenset[str],
    now: datetime,
    predicate_of: PredicateOf = PREDICATES.get,
) -> CartPriceView:
    """Every line priced with the same engine as the product page, and the totals.

    Lines must already be checked (priced products of one currency). The cart's
    applied promotions add up each promotion's discount over every unit of every
    line, listed in the order promotions apply (priority, then id), so the
    answer does not depend on the order of the lines.
    """
    subtotal = list_subtotal(lines, segments)
    predicate_of = _memoized(predicate_of)
    priced: list[PricedLine] = []
    total = ZERO
    by_promotion: dict[str, tuple[PromotionRow, Decimal]] = {}
    for line in lines:
        unit = price_unit(
            line.product,
            line.quantity,
            line.offers,
            segments=segments,
            subtotal=subtotal,
            now=now,
            predicate_of=predicate_of,
        )
        line_total = money(unit.final.amount * line.quantity, currency)
        total += line_total.amount
        priced.append(PricedLine(line.product, line.quantity, unit, line_total))
        for applied in unit.applied_promotions:
            promotion = applied.promotion
            before = by_promotion.get(promotion.id, (promotion, ZERO))[1]
            by_promotion[promotion.id] = (
                promotion,
                before + applied.discount.amount * line.quantity,
            )
    cart_applied = [
        AppliedPromotionView(promotion, money(amount, currency))
        for promotion, amount in sorted(
            by_promotion.values(), key=lambda item: (-item[0].priority, item[0].id)
        )
    ]
    return CartPriceView(
        lines=priced,
        subtotal=money(subtotal, currency),
        discount_total=money(subtotal - total, currency),
        total=money(total, currency),
        applied_promotions=cart_applied,
    )


def _memoized(predicate_of: PredicateOf) -> PredicateOf:
    """`predicate_of` asked once per promotion of a cart: a store-wide promotion is a
    candidate of every line, and its predicate is the same for each."""
    found: dict[str, Predicate] = {}

    def lookup(promotion: PromotionRow) -> Predicate:
        predicate = found.get(promotion.id)
        if predicate is None:
            predicate = found[promotion.id] = predicate_of(promotion)
        return predicate

    return lookup


def product_page_price(
    product: ProductRow,
    quantity: int,
    offers: ProductOffers | None,
    *,
    segments: frozenset[str],
    now: datetime,
    predicate_of: PredicateOf = PREDICATES.get,
) -> ProductPriceView:
    """`Product.price(quantity)`: the product priced as a cart of that one line, by the
    same `price_unit` as `price_cart`, without building the cart's totals (a listing
    prices 48 of these per request)."""
    subtotal = list_subtotal([CartLine(product, quantity, offers)], segments)
    return price_unit(
        product,
        quantity,
        offers,
        segments=segments,
        subtotal=subtotal,
        now=now,
        predicate_of=predicate_of,
    )


def next_change(offers: ProductOffers | None, now: datetime) -> datetime | None:
    """The first moment after `now` at which one of the offers starts or ends: until
    then a price computed now stays right, so a cached answer must not outlive it."""
    if offers is None:
        return None
    soonest: datetime | None = None
    for promotion in offers.promotions:
        for moment in (promotion.starts_at, promotion.ends_at):
            if moment is not None and moment > now and (soonest is None or moment < soonest):
                soonest = moment
    return soonest
