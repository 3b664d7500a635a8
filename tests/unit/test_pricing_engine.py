"""The pricing engine by example: each rule of events.md with exact expected amounts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from readmodels.catalog.rows import ProductRow, TierRow
from readmodels.pricing.rows import ProductFacts, ProductOffers, PromotionKind, PromotionRow
from resolvers.pricing import engine
from resolvers.pricing.conditions import Predicate, compile_condition
from resolvers.pricing.prices import Money, PriceTierView, ProductPriceView

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

PERCENT = PromotionKind.PERCENT_OFF
AMOUNT = PromotionKind.AMOUNT_OFF
BUY_GET = PromotionKind.BUY_X_GET_Y

Summary = tuple[str, str, list[tuple[str, str]]]


def product(
    id: str = "p1",
    base: str = "10.00",
    *,
    currency: str = "EUR",
    store: str = "s1",
    tiers: tuple[tuple[int, str], ...] = (),
    segment_prices: Mapping[str, str] | None = None,
) -> ProductRow:
    return ProductRow(
        id=id,
        store_id=store,
        slug=id,
        sku=id.upper(),
        title=id,
        description=None,
        featured=False,
        listed=True,
        tags=[],
        images=(),
        category_id=None,
        currency_code=currency,
        base_price=Decimal(base),
        min_unit_price=None,
        max_unit_price=None,
        tiers=tuple(TierRow(q, Decimal(p)) for q, p in tiers),
        segment_prices={s: Decimal(p) for s, p in (segment_prices or {}).items()},
        on_hand=10,
        rating_sum=0,
        rating_count=0,
        units_sold=0,
        updated_at=NOW,
    )


def promotion(
    id: str,
    kind: PromotionKind = PERCENT,
    value: str = "10",
    *,
    priority: int = 0,
    stackable: bool = True,
    condition: dict[str, Any] | None = None,
    buy: int | None = None,
    get: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    active: bool = True,
    store: str = "s1",
) -> PromotionRow:
    return PromotionRow(
        id=id,
        store_id=store,
        name=id,
        description=None,
        kind=kind,
        value=Decimal(value),
        buy_quantity=buy,
        get_quantity=get,
        starts_at=starts_at,
        ends_at=ends_at,
        priority=priority,
        stackable=stackable,
        active=active,
        condition=condition,
        first_position=1,
        version=1,
    )


def offers(row: ProductRow, *promotions: PromotionRow) -> ProductOffers | None:
    """The product's offers as the offers query hands them over: priority descending, then id."""
    if not promotions:
        return None
    ordered = sorted(promotions, key=lambda p: (-p.priority, p.id))
    facts = ProductFacts(row.id, row.store_id, frozenset({"c1"}), frozenset(), frozenset())
    return ProductOffers(facts, tuple(ordered))


def compiled(promotion: PromotionRow) -> Predicate:
    # A fresh compile per call: no process-wide cache shared between tests.
    return compile_condition(promotion.condition)


def page(
    row: ProductRow, quantity: int, *promotions: PromotionRow, segments: tuple[str, ...] = ()
) -> ProductPriceView:
    return engine.product_page_price(
        row,
        quantity,
        offers(row, *promotions),
        segments=frozenset(segments),
        now=NOW,
        predicate_of=compiled,
    )


def summary(view: ProductPriceView) -> Summary:
    """List price, final price and (promotion id, discount), as exact strings (scale included)."""
    return (
        str(view.list_price.amount),
        str(view.final.amount),
        [(a.promotion.id, str(a.discount.amount)) for a in view.applied_promotions],
    )


def cart(
    lines: list[tuple[ProductRow, int]],
    promotions: tuple[PromotionRow, ...],
    *,
    segments: tuple[str, ...] = (),
) -> engine.CartPriceView:
    return engine.price_cart(
        [engine.CartLine(row, quantity, offers(row, *promotions)) for row, quantity in lines],
        currency="EUR",
        segments=frozenset(segments),
        now=NOW,
        predicate_of=compiled,
    )


def test_percent_off_takes_a_percent_of_the_unit_price() -> None:
    """PERCENT_OFF 15 on 10.00 is 8.50, showing 1.50 off."""
    assert summary(page(product(), 1, promotion("a", PERCENT, "15"))) == (
        "10.00",
        "8.50",
        [("a", "1.50")],
    )


def test_amount_off_takes_money_per_unit() -> None:
    """AMOUNT_OFF 2.50 on 10.00 is 7.50 per unit at any quantity."""
    for quantity in (1, 4):
        assert summary(page(product(), quantity, promotion("a", AMOUNT, "2.50"))) == (
            "10.00",
            "7.50",
            [("a", "2.50")],
        )


def test_buy_x_get_y_frees_get_of_every_buy_plus_get_units() -> None:
    """Buy 2 get 1: nothing below 3 units, one in three free at 3 and 6, one of five free at 5."""
    buy_two_get_one = promotion("b", BUY_GET, "0", buy=2, get=1)
    assert summary(page(product(), 1, buy_two_get_one)) == ("10.00", "10.00", [])
    assert summary(page(product(), 2, buy_two_get_one)) == ("10.00", "10.00", [])
    assert summary(page(product(), 3, buy_two_get_one)) == ("10.00", "6.67", [("b", "3.33")])
    assert summary(page(product(), 5, buy_two_get_one)) == ("10.00", "8.00", [("b", "2.00")])
    assert summary(page(product(), 6, buy_two_get_one)) == ("10.00", "6.67", [("b", "3.33")])
    assert summary(page(product(), 9, buy_two_get_one)) == ("10.00", "6.67", [("b", "3.33")])


def test_promotions_apply_by_priority_then_id() -> None:
    """Higher priority first, then id: 2.00 off before 50% is 4.00, 50% before 2.00 off is 3.00."""
    amount_first = (promotion("a", AMOUNT, "2", priority=9), promotion("b", PERCENT, "50"))
    assert summary(page(product(), 1, *amount_first)) == (
        "10.00",
        "4.00",
        [("a", "2.00"), ("b", "4.00")],
    )
    percent_first = (promotion("a", AMOUNT, "2"), promotion("b", PERCENT, "50", priority=9))
    assert summary(page(product(), 1, *percent_first)) == (
        "10.00",
        "3.00",
        [("b", "5.00"), ("a", "2.00")],
    )
    equal = (promotion("b", PERCENT, "50", priority=3), promotion("a", AMOUNT, "2", priority=3))
    assert summary(page(product(), 1, *equal)) == (
        "10.00",
        "4.00",
        [("a", "2.00"), ("b", "4.00")],
    )


def test_a_non_stackable_promotion_stops_the_chain() -> None:
    """Nothing after an applied non-stackable promotion applies to the line."""
    stops = promotion("a", PERCENT, "10", priority=5, stackable=False)
    later = promotion("b", AMOUNT, "1")
    assert summary(page(product(), 1, stops, later)) == ("10.00", "9.00", [("a", "1.00")])
    earlier = promotion("0", AMOUNT, "1", priority=9)
    assert summary(page(product(), 1, earlier, stops, later)) == (
        "10.00",
        "8.10",
        [("0", "1.00"), ("a", "0.90")],
    )


def test_a_non_stackable_promotion_that_takes_nothing_does_not_stop_the_chain() -> None:
    """A non-stackable promotion is not applied when it takes nothing, so later ones still apply."""
    free_third = promotion("a", BUY_GET, "0", buy=2, get=1, priority=5, stackable=False)
    later = promotion("b", AMOUNT, "1")
    assert summary(page(product(), 2, free_third, later)) == ("10.00", "9.00", [("b", "1.00")])
    assert summary(page(product(), 3, free_third, later)) == ("10.00", "6.67", [("a", "3.33")])
    not_matching = promotion(
        "c", PERCENT, "50", priority=5, stackable=False, condition={"minQuantity": 5}
    )
    assert summary(page(product(), 1, not_matching, later)) == ("10.00", "9.00", [("b", "1.00")])
    zero = promotion("d", PERCENT, "0", priority=5, stackable=False)
    assert summary(page(product(), 1, zero, later)) == ("10.00", "9.00", [("b", "1.00")])


def test_a_unit_price_never_goes_below_zero() -> None:
    """AMOUNT_OFF larger than the price takes exactly the price, and later promotions take nothing."""
    view = page(
        product(),
        2,
        promotion("a", AMOUNT, "15", priority=2),
        promotion("b", AMOUNT, "1", priority=1),
        promotion("c", PERCENT, "10"),
    )
    assert summary(view) == ("10.00", "0.00", [("a", "10.00")])
    assert view.compare_at == Money(Decimal("10.00"), "EUR")
    over_the_top = page(product(), 1, promotion("a", AMOUNT, "6"), promotion("b", AMOUNT, "6"))
    assert summary(over_the_top) == ("10.00", "0.00", [("a", "6.00"), ("b", "4.00")])


def test_the_unit_price_is_rounded_half_up_once() -> None:
    """Two 5% off 0.10 is 0.09025, so 0.09; rounding after each step would give 0.10."""
    twice = (promotion("a", PERCENT, "5"), promotion("b", PERCENT, "5"))
    assert summary(page(product(base="0.10"), 1, *twice)) == (
        "0.10",
        "0.09",
        [("a", "0.01"), ("b", "0.00")],
    )
    half_cents = (promotion("a", AMOUNT, "0.005"), promotion("b", AMOUNT, "0.005"))
    assert summary(page(product(base="1.00"), 1, *half_cents)) == (
        "1.00",
        "0.99",
        [("a", "0.01"), ("b", "0.00")],
    )
    assert summary(page(product(base="1.00"), 1, half_cents[0])) == (
        "1.00",
        "1.00",
        [("a", "0.00")],
    )
    assert summary(page(product(base="8.45"), 1, promotion("a", PERCENT, "50"))) == (
        "8.45",
        "4.23",
        [("a", "4.22")],
    )


def test_currencies_round_to_their_own_minor_unit() -> None:
    """Yen rounds to whole yen and dinars to three decimals, half-up."""
    yen = product(base="1005", currency="JPY")
    assert summary(page(yen, 1, promotion("a", PERCENT, "10"))) == ("1005", "905", [("a", "100")])
    assert summary(page(yen, 3, promotion("b", BUY_GET, "0", buy=2, get=1))) == (
        "1005",
        "670",
        [("b", "335")],
    )
    dinar = product(base="1.001", currency="KWD")
    assert summary(page(dinar, 1, promotion("a", PERCENT, "50"))) == (
        "1.001",
        "0.501",
        [("a", "0.500")],
    )
    assert page(dinar, 1).final == Money(Decimal("1.001"), "KWD")


def test_discounts_are_shared_out_by_largest_remainder() -> None:
    """Shown discounts add up exactly to list minus final, the odd minor units going to the largest remainders."""
    three_tiny = (
        promotion("a", AMOUNT, "0.004"),
        promotion("b", AMOUNT, "0.004"),
        promotion("c", AMOUNT, "0.004"),
    )
    assert summary(page(product(base="1.00"), 1, *three_tiny)) == (
        "1.00",
        "0.99",
        [("a", "0.01"), ("b", "0.00"), ("c", "0.00")],
    )
    uneven = (
        promotion("a", AMOUNT, "0.003"),
        promotion("b", AMOUNT, "0.004"),
        promotion("c", AMOUNT, "0.002"),
    )
    assert summary(page(product(base="1.00"), 1, *uneven)) == (
        "1.00",
        "0.99",
        [("a", "0.00"), ("b", "0.01"), ("c", "0.00")],
    )
    thirds = (
        promotion("a", AMOUNT, "0.3333"),
        promotion("b", AMOUNT, "0.3333"),
        promotion("c", AMOUNT, "0.3334"),
    )
    view = page(product(base="1.00"), 1, *thirds)
    assert summary(view) == ("1.00", "0.00", [("a", "0.33"), ("b", "0.33"), ("c", "0.34")])
    assert sum(a.discount.amount for a in view.applied_promotions) == Decimal("1.00")


def test_the_lowest_of_tier_and_segment_price_is_the_list_price() -> None:
    """A segment price beats a higher tier, a lower tier beats the segment price."""
    row = product(base="12.00", tiers=((5, "11"), (10, "9.5")), segment_prices={"vip": "10.255"})
    assert page(row, 1, segments=("vip",)) == ProductPriceView(
        Money(Decimal("10.26"), "EUR"),
        Money(Decimal("10.26"), "EUR"),
        Money(Decimal("12.00"), "EUR"),
        None,
        (),
    )
    assert page(row, 5, segments=("vip",)).tier is None
    assert page(row, 5).tier == PriceTierView(5, Money(Decimal("11.00"), "EUR"))
    at_ten = page(row, 10, segments=("vip",))
    assert (str(at_ten.list_price.amount), at_ten.tier) == (
        "9.50",
        PriceTierView(10, Money(Decimal("9.50"), "EUR")),
    )
    assert summary(page(row, 1, segments=("staff",))) == ("12.00", "12.00", [])


def test_compare_at_is_the_base_price_only_when_the_final_is_lower() -> None:
    """compareAt shows the base price under a promotion or tier, and is null at the base price."""
    assert page(product(), 1).compare_at is None
    assert page(product(), 1, promotion("a", PERCENT, "0.1")).compare_at == Money(
        Decimal("10.00"), "EUR"
    )
    # 0.001 off rounds back to the base price: no compareAt.
    assert page(product(), 1, promotion("a", AMOUNT, "0.001")).compare_at is None
    tiered = product(tiers=((3, "9"),))
    assert page(tiered, 3).compare_at == Money(Decimal("10.00"), "EUR")
    higher_segment = product(segment_prices={"vip": "11"})
    assert page(higher_segment, 1, segments=("vip",)).compare_at is None


def test_promotions_apply_only_inside_their_window_and_while_active() -> None:
    """A window includes its start and excludes its end; an inactive promotion never applies."""
    cases = {
        "starts now": promotion("a", starts_at=NOW),
        "started": promotion("a", starts_at=NOW - HOUR, ends_at=NOW + HOUR),
        "ends now": promotion("a", ends_at=NOW),
        "not started": promotion("a", starts_at=NOW + HOUR),
        "inactive": promotion("a", active=False),
    }
    finals = {name: str(page(product(), 1, p).final.amount) for name, p in cases.items()}
    assert finals == {
        "starts now": "9.00",
        "started": "9.00",
        "ends now": "10.00",
        "not started": "10.00",
        "inactive": "10.00",
    }


def test_a_promotion_of_another_store_never_applies() -> None:
    """A candidate from another store is skipped, even with an always-true condition."""
    assert summary(page(product(), 1, promotion("a", PERCENT, "50", store="s2"))) == (
        "10.00",
        "10.00",
        [],
    )


def test_min_subtotal_compares_with_the_cart_list_subtotal() -> None:
    """minSubtotal counts every line's list price (before promotions), inclusive of the bound."""
    mug = product("p1", "10.00")
    lamp = product("p2", "20.00")
    on_mug = promotion(
        "m", PERCENT, "10", condition={"all": [{"productIn": ["p1"]}, {"minSubtotal": "30"}]}
    )
    half_lamp = promotion("h", PERCENT, "50", priority=9, condition={"productIn": ["p2"]})
    priced = cart([(mug, 1), (lamp, 1)], (on_mug, half_lamp))
    assert [str(line.unit_price.final.amount) for line in priced.lines] == ["9.00", "10.00"]
    assert str(priced.subtotal.amount) == "30.00"
    assert summary(page(mug, 1, on_mug)) == ("10.00", "10.00", [])
    assert summary(page(mug, 3, on_mug)) == ("10.00", "9.00", [("m", "1.00")])
    short = cart([(mug, 1), (product("p2", "19.99"), 1)], (on_mug,))
    assert str(short.lines[0].unit_price.final.amount) == "10.00"


def test_cart_applied_promotions_add_up_per_promotion_in_priority_order() -> None:
    """Each promotion's discount is summed over every unit, listed by priority desc then id."""
    mug = product("pA", "10.00")
    lamp = product("pB", "20.00")
    promotions = (
        promotion("x", PERCENT, "10", priority=1),
        promotion("y", AMOUNT, "0.50", priority=5, condition={"productIn": ["pB"]}),
        promotion("w", AMOUNT, "0.10", priority=1, condition={"productIn": ["pA"]}),
    )
    priced = cart([(mug, 3), (lamp, 2)], promotions)
    assert [
        (str(line.unit_price.final.amount), str(line.line_total.amount)) for line in priced.lines
    ] == [
        ("8.91", "26.73"),
        ("17.55", "35.10"),
    ]
    assert [(a.promotion.id, str(a.discount.amount)) for a in priced.applied_promotions] == [
        ("y", "1.00"),
        ("w", "0.30"),
        ("x", "6.87"),
    ]
    assert (
        str(priced.subtotal.amount),
        str(priced.discount_total.amount),
        str(priced.total.amount),
    ) == (
        "70.00",
        "8.17",
        "61.83",
    )
    assert priced.discount_total.amount == priced.subtotal.amount - priced.total.amount


def test_an_empty_cart_is_zero_in_its_currency() -> None:
    """No lines: every total is zero in the cart's currency, with no promotions."""
    priced = cart([], ())
    assert priced == engine.CartPriceView(
        [],
        Money(Decimal("0.00"), "EUR"),
        Money(Decimal("0.00"), "EUR"),
        Money(Decimal("0.00"), "EUR"),
        [],
    )


def test_next_change_is_the_first_start_or_end_after_now() -> None:
    """The soonest future start or end among the offers bounds a cached price; now itself is not a change."""
    row = product()
    assert engine.next_change(None, NOW) is None
    assert engine.next_change(offers(row, promotion("a")), NOW) is None
    moments = offers(
        row,
        promotion("a", starts_at=NOW - HOUR, ends_at=NOW + 3 * HOUR),
        promotion("b", starts_at=NOW + 2 * HOUR, ends_at=NOW + 5 * HOUR),
        promotion("c", starts_at=NOW, ends_at=NOW + 4 * HOUR),
    )
    assert engine.next_change(moments, NOW) == NOW + 2 * HOUR
    assert engine.next_change(moments, NOW + 2 * HOUR) == NOW + 3 * HOUR
    assert engine.next_change(moments, NOW + 5 * HOUR) is None
