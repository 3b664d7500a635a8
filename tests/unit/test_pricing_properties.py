"""Properties of the pricing engine on random products, promotions and carts (hypothesis).

The oracle is `reference_price` below: events.md and the engine's docstring
written out the plain way (list price, promotions sorted, kinds, floor, stop,
round once), with no engine internals.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from readmodels.catalog.rows import ProductRow, TierRow
from readmodels.pricing.rows import ProductFacts, ProductOffers, PromotionKind, PromotionRow
from resolvers.pricing import engine
from resolvers.pricing.conditions import PredicateCache
from resolvers.pricing.prices import ProductPriceView
from tests.unit.condition_trees import (
    CATEGORIES,
    COLLECTIONS,
    CONDITIONS,
    PRODUCTS,
    SEGMENTS,
    TAGS,
    Facts,
    holds,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINOR_UNIT = {"EUR": Decimal("0.01"), "JPY": Decimal("1")}
PROPERTY = settings(max_examples=200, deadline=None)
INVARIANT = settings(max_examples=100, deadline=None)  # generation dominates; keep the file fast


class Scenario(NamedTuple):
    currency: str
    lines: list[engine.CartLine]
    promotions: list[PromotionRow]
    segments: frozenset[str]


PRICES = {
    # Unit prices as PriceSet may carry them: mostly in minor units, sometimes finer.
    "EUR": st.one_of(st.decimals(0, 200, places=2), st.decimals(0, 200, places=3)),
    "JPY": st.one_of(st.decimals(0, 20_000, places=0), st.decimals(0, 20_000, places=1)),
}
TIERS = {
    currency: st.lists(
        st.builds(TierRow, st.integers(2, 12), prices),
        max_size=3,
        unique_by=lambda t: t.min_quantity,
    )
    for currency, prices in PRICES.items()
}
SEGMENT_PRICES = {
    currency: st.dictionaries(st.sampled_from(SEGMENTS), prices)
    for currency, prices in PRICES.items()
}
TAG_SETS = st.frozensets(st.sampled_from(TAGS))
CATEGORY_PATHS = st.frozensets(st.sampled_from(CATEGORIES))
COLLECTION_SETS = st.frozensets(st.sampled_from(COLLECTIONS))
STORES = st.sampled_from(("s1", "s1", "s2"))
KINDS = st.sampled_from(PromotionKind)
PERCENTS = st.decimals(0, 100, places=2)
BUYS = st.integers(1, 4)
GETS = st.integers(1, 3)
STARTS = st.sampled_from((None, NOW - HOUR, NOW, NOW + HOUR))
ENDS = st.sampled_from((None, NOW, NOW + HOUR, NOW + 2 * HOUR))
PROMOTION_STORES = st.sampled_from(("s1", "s1", "s1", "s2"))
PRIORITIES = st.integers(-1, 2)
ACTIVE = st.sampled_from((True, True, True, False))
CURRENCIES = st.sampled_from(tuple(MINOR_UNIT))
PROMOTION_COUNTS = st.integers(0, 5)
SEGMENT_SETS = st.frozensets(st.sampled_from(SEGMENTS))


@st.composite
def products(draw: st.DrawFn, product_id: str, currency: str) -> tuple[ProductRow, ProductFacts]:
    tiers = draw(TIERS[currency])
    tags = draw(TAG_SETS)
    row = ProductRow(
        id=product_id,
        store_id=draw(STORES),
        slug=product_id,
        sku=product_id,
        title=product_id,
        description=None,
        featured=False,
        listed=True,
        tags=sorted(tags),
        images=(),
        category_id=None,
        currency_code=currency,
        base_price=draw(PRICES[currency]),
        min_unit_price=None,
        max_unit_price=None,
        tiers=tuple(sorted(tiers)),
        segment_prices=draw(SEGMENT_PRICES[currency]),
        on_hand=10,
        rating_sum=0,
        rating_count=0,
        units_sold=0,
        updated_at=NOW,
    )
    facts = ProductFacts(
        product_id,
        row.store_id,
        draw(CATEGORY_PATHS),
        draw(COLLECTION_SETS),
        tags,
    )
    return row, facts


@st.composite
def promotions(draw: st.DrawFn, promotion_id: str, currency: str) -> PromotionRow:
    kind = draw(KINDS)
    buy = get = None
    if kind is PromotionKind.PERCENT_OFF:
        value = draw(PERCENTS)
    elif kind is PromotionKind.AMOUNT_OFF:
        value = draw(PRICES[currency]) / 4
    else:
        value, buy, get = Decimal(0), draw(BUYS), draw(GETS)
    starts_at = draw(STARTS)
    ends_at = draw(ENDS)
    if starts_at is not None and ends_at is not None and ends_at < starts_at:
        ends_at = None  # the event validator rejects a window that ends before it starts
    return PromotionRow(
        id=promotion_id,
        store_id=draw(PROMOTION_STORES),
        name=promotion_id,
        description=None,
        kind=kind,
        value=value,
        buy_quantity=buy,
        get_quantity=get,
        starts_at=starts_at,
        ends_at=ends_at,
        priority=draw(PRIORITIES),
        stackable=draw(st.booleans()),
        active=draw(ACTIVE),
        condition=draw(CONDITIONS),
        first_position=1,
        version=1,
    )


PRODUCT_OF = {(p, c): products(p, c) for p in PRODUCTS for c in MINOR_UNIT}
PROMOTION_OF = {(i, c): promotions(f"pr-{i}", c) for i in range(5) for c in MINOR_UNIT}
LINE_PICKS = st.tuples(st.integers(0, len(PRODUCTS) - 1), st.integers(1, 12))


@st.composite
def scenarios(draw: st.DrawFn, max_lines: int = 4) -> Scenario:
    currency = draw(CURRENCIES)
    picks = draw(st.lists(LINE_PICKS, min_size=1, max_size=max_lines))
    catalog = {i: draw(PRODUCT_OF[PRODUCTS[i], currency]) for i in sorted({i for i, _ in picks})}
    count = draw(PROMOTION_COUNTS)
    offered = [draw(PROMOTION_OF[i, currency]) for i in range(count)]
    # Every promotion is a candidate of every line (the engine, not the offers query, must
    # skip the inactive, ended, not started, other-store and non-matching ones), handed
    # over in the order the ProductOffers contract promises: priority descending, then id.
    in_order = tuple(sorted(offered, key=lambda p: (-p.priority, p.id)))
    lines = []
    for index, quantity in picks:
        row, facts = catalog[index]
        lines.append(
            engine.CartLine(row, quantity, ProductOffers(facts, in_order) if in_order else None)
        )
    segments = draw(SEGMENT_SETS)
    return Scenario(currency, lines, offered, segments)


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(MINOR_UNIT[currency], rounding=ROUND_HALF_UP)


def reference_list_price(row: ProductRow, quantity: int, segments: frozenset[str]) -> Decimal:
    """The lowest of base, tiers reached and the viewer's segment prices, as shown (rounded)."""
    assert row.base_price is not None
    assert row.currency_code is not None
    candidates = [row.base_price]
    candidates += [t.unit_price for t in row.tiers if t.min_quantity <= quantity]
    candidates += [row.segment_prices[s] for s in segments if s in row.segment_prices]
    return rounded(min(candidates), row.currency_code)


def reference_subtotal(scenario: Scenario) -> Decimal:
    return sum(
        (
            reference_list_price(line.product, line.quantity, scenario.segments) * line.quantity
            for line in scenario.lines
        ),
        Decimal(0),
    )


def reference_price(
    line: engine.CartLine,
    promotions: list[PromotionRow],
    segments: frozenset[str],
    subtotal: Decimal,
) -> tuple[Decimal, Decimal, list[str]]:
    """List price, final price and the ids of the applied promotions, the plain way."""
    row, quantity = line.product, line.quantity
    assert row.currency_code is not None
    listed = reference_list_price(row, quantity, segments)
    if line.offers is None:
        return listed, listed, []
    facts = line.offers.facts
    line_facts = Facts(
        row.id,
        facts.category_path,
        facts.collection_ids,
        facts.tags,
        segments,
        quantity,
        subtotal,
    )
    price = listed
    applied: list[str] = []
    for promotion in sorted(promotions, key=lambda p: (-p.priority, p.id)):
        started = promotion.starts_at is None or promotion.starts_at <= NOW
        not_ended = promotion.ends_at is None or promotion.ends_at > NOW
        if not (promotion.active and started and not_ended):
            continue
        if promotion.store_id != row.store_id or not holds(promotion.condition, line_facts):
            continue
        if promotion.kind is PromotionKind.PERCENT_OFF:
            off = price * promotion.value / 100
        elif promotion.kind is PromotionKind.AMOUNT_OFF:
            off = promotion.value
        else:
            assert promotion.buy_quantity is not None
            assert promotion.get_quantity is not None
            groups = quantity // (promotion.buy_quantity + promotion.get_quantity)
            off = price * (groups * promotion.get_quantity) / quantity
        off = min(off, price)
        if off <= 0:
            continue  # took nothing: not applied, and so stops nothing
        price -= off
        applied.append(promotion.id)
        if not promotion.stackable:
            break
    return listed, rounded(price, row.currency_code), applied


def has_min_subtotal(condition: Any) -> bool:
    if not condition:
        return False
    ((key, value),) = condition.items()
    if key in ("all", "any"):
        return any(has_min_subtotal(child) for child in value)
    if key == "not":
        return has_min_subtotal(value)
    return bool(key == "minSubtotal")


def price(scenario: Scenario, lines: list[engine.CartLine] | None = None) -> engine.CartPriceView:
    return engine.price_cart(
        scenario.lines if lines is None else lines,
        currency=scenario.currency,
        segments=scenario.segments,
        now=NOW,
        predicate_of=PredicateCache().get,
    )


def page_price(scenario: Scenario, line: engine.CartLine) -> ProductPriceView:
    return engine.product_page_price(
        line.product,
        line.quantity,
        line.offers,
        segments=scenario.segments,
        now=NOW,
        predicate_of=PredicateCache().get,
    )


@PROPERTY
@given(scenarios())
def test_a_cart_line_equals_the_product_page_price(scenario: Scenario) -> None:
    """A one-line cart, or any cart without minSubtotal conditions, prices each line as its product page."""
    cart = price(scenario)
    same_facts = len(scenario.lines) == 1 or not any(
        has_min_subtotal(p.condition) for p in scenario.promotions
    )
    if same_facts:
        for line, priced in zip(scenario.lines, cart.lines, strict=True):
            assert priced.unit_price == page_price(scenario, line)


@INVARIANT
@given(scenarios(max_lines=1))
def test_a_one_line_cart_equals_the_product_page_price(scenario: Scenario) -> None:
    """A cart of one line prices it exactly as the product page at that quantity."""
    (line,) = scenario.lines
    (priced,) = price(scenario).lines
    assert priced.unit_price == page_price(scenario, line)


@INVARIANT
@given(scenarios())
def test_final_is_between_zero_and_list_and_in_minor_units(scenario: Scenario) -> None:
    """Every line's final unit price is in [0, list], rounded to the currency's minor unit."""
    for priced in price(scenario).lines:
        view = priced.unit_price
        assert Decimal(0) <= view.final.amount <= view.list_price.amount
        assert view.final.amount == rounded(view.final.amount, scenario.currency)
        assert (
            view.final.amount.as_tuple().exponent
            == MINOR_UNIT[scenario.currency].as_tuple().exponent
        )


@INVARIANT
@given(scenarios(), st.data())
def test_line_order_does_not_change_the_cart(scenario: Scenario, data: st.DataObject) -> None:
    """Permuting the lines leaves each line's price, the totals and the cart's promotions unchanged."""
    order = data.draw(st.permutations(range(len(scenario.lines))))
    cart = price(scenario)
    shuffled = price(scenario, [scenario.lines[i] for i in order])
    assert [
        shuffled.lines[n] for n in sorted(range(len(order)), key=order.__getitem__)
    ] == cart.lines
    assert (shuffled.subtotal, shuffled.discount_total, shuffled.total) == (
        cart.subtotal,
        cart.discount_total,
        cart.total,
    )
    assert shuffled.applied_promotions == cart.applied_promotions


@INVARIANT
@given(scenarios())
def test_an_applied_non_stackable_promotion_is_the_last_of_its_line(scenario: Scenario) -> None:
    """Once a non-stackable promotion applies, no other promotion follows it on that line."""
    for priced in price(scenario).lines:
        applied = [a.promotion for a in priced.unit_price.applied_promotions]
        for position, promotion in enumerate(applied):
            if not promotion.stackable:
                assert position == len(applied) - 1


@INVARIANT
@given(scenarios())
def test_discounts_add_up_to_list_minus_final(scenario: Scenario) -> None:
    """Each line's shown discounts add up exactly to list minus final, and the cart's to subtotal minus total."""
    cart = price(scenario)
    for priced in cart.lines:
        view = priced.unit_price
        shown = [a.discount.amount for a in view.applied_promotions]
        assert all(amount >= 0 for amount in shown)
        assert sum(shown, Decimal(0)) == view.list_price.amount - view.final.amount
    assert cart.discount_total.amount == cart.subtotal.amount - cart.total.amount
    assert sum((a.discount.amount for a in cart.applied_promotions), Decimal(0)) == (
        cart.discount_total.amount
    )
    assert cart.total.amount == sum((p.line_total.amount for p in cart.lines), Decimal(0))
    ranks = [(-a.promotion.priority, a.promotion.id) for a in cart.applied_promotions]
    assert ranks == sorted(set(ranks))


@PROPERTY
@given(scenarios())
def test_the_engine_agrees_with_the_reference(scenario: Scenario) -> None:
    """List price, final price and applied promotion ids match the plain reference for every line."""
    cart = price(scenario)
    subtotal = reference_subtotal(scenario)
    assert cart.subtotal.amount == subtotal
    for line, priced in zip(scenario.lines, cart.lines, strict=True):
        view = priced.unit_price
        got = (
            view.list_price.amount,
            view.final.amount,
            [a.promotion.id for a in view.applied_promotions],
        )
        assert got == reference_price(line, scenario.promotions, scenario.segments, subtotal)
        base = line.product.base_price
        assert base is not None
        expected_compare_at = rounded(base, scenario.currency)
        if view.final.amount < expected_compare_at:
            assert view.compare_at is not None
            assert view.compare_at.amount == expected_compare_at
        else:
            assert view.compare_at is None
