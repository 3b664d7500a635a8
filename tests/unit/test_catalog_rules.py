"""Pure catalog rules: folds, listing scopes, category ancestry, orders, prices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from readmodels.catalog import folds
from readmodels.catalog.rows import ProductRow, TierRow
from resolvers.pricing import prices
from resolvers.pricing.engine import product_page_price

AT = datetime(2026, 11, 1, tzinfo=UTC)


def product(**changes: object) -> folds.Row:
    row = folds.new_product("p1", AT)
    row.update(
        upserted=True,
        listed=True,
        store_id="s1",
        category_id="c3",
        created_at=AT,
        base_price=Decimal("10"),
    )
    row.update(changes)
    return row


def test_ancestors_are_root_first_and_cycles_are_cut() -> None:
    """Ancestors run from the root down; a parent cycle stops where it closes."""
    parents = {"c1": None, "c2": "c1", "c3": "c2", "x": "y", "y": "x"}
    ancestors = folds.category_ancestors(parents)
    assert ancestors["c3"] == ["c1", "c2"]
    assert ancestors["c1"] == []
    assert ancestors["x"] == ["y"]


def test_listing_scopes_cover_catalog_store_categories_and_collections() -> None:
    """A listed, priced product is in the catalog, its store, each ancestor, and its collections."""
    scopes = folds.listing_scopes(product(), {"c3": ["c1", "c2"]}, ["k1"])
    assert scopes == ["all", "s:s1", "c:c1", "c:c2", "c:c3", "cd:c3", "k:k1"]


def test_unlisted_deleted_or_unpriced_products_are_in_no_listing() -> None:
    """Listings show only products that are upserted, listed, not deleted and priced."""
    assert folds.listing_scopes(product(listed=False), {}, []) == []
    assert folds.listing_scopes(product(deleted=True), {}, []) == []
    assert folds.listing_scopes(product(base_price=None), {}, []) == []
    assert folds.listing_scopes(product(upserted=False), {}, []) == []


def test_review_by_the_same_customer_replaces_the_earlier_one() -> None:
    """A second review by one customer changes the sum, not the count."""
    row = product()
    folds.apply_review(row, None, 4)
    folds.apply_review(row, 4, 2)
    folds.apply_review(row, None, 5)
    assert (row["rating_sum"], row["rating_count"]) == (7, 2)
    assert folds.average_rating(7, 2) == Decimal("3.500")


def test_cancellation_before_placement_counts_nothing() -> None:
    """A cancellation before placement adds nothing; placed then cancelled nets zero."""
    fold = folds.OrderFold(units={})
    early = {"order_id": "o1", "lines": None, "cancelled": False}
    fold.cancel(early)
    fold.place(early, [["p1", 3]])
    late = {"order_id": "o2", "lines": None, "cancelled": False}
    fold.place(late, [["p1", 2], ["p2", 1]])
    fold.place(late, [["p1", 2], ["p2", 1]])
    assert fold.units == {"p1": 2, "p2": 1}
    fold.cancel(late)
    fold.cancel(late)
    assert fold.units == {"p1": 0, "p2": 0}


def test_inventory_never_goes_negative_and_has_thresholds() -> None:
    """Available units floor at zero; five or fewer is low stock."""
    row = product()
    folds.apply_inventory_counted(row, 3, AT)
    folds.apply_inventory_adjusted(row, -5, AT)
    assert folds.available(row) == 0
    assert [folds.inventory_status(n) for n in (0, 1, 5, 6)] == [
        "OUT_OF_STOCK",
        "LOW_STOCK",
        "LOW_STOCK",
        "IN_STOCK",
    ]


def test_price_set_computes_the_range_over_tiers() -> None:
    """The price range spans the base price and every tier price."""
    row = product()
    folds.apply_price_set(
        row,
        {
            "currencyCode": "EUR",
            "basePrice": "12.00",
            "tiers": [
                {"minQuantity": 10, "unitPrice": "9.5"},
                {"minQuantity": 5, "unitPrice": "11"},
            ],
            "segmentPrices": [],
        },
        AT,
    )
    assert (row["min_unit_price"], row["max_unit_price"]) == (Decimal("9.5"), Decimal("12.00"))
    assert [t["minQuantity"] for t in row["tiers"]] == [5, 10]


def row_with_prices() -> ProductRow:
    return ProductRow(
        id="p1",
        store_id="s1",
        slug="mug",
        sku="M",
        title="Mug",
        description=None,
        featured=False,
        listed=True,
        tags=[],
        images=(),
        category_id=None,
        currency_code="EUR",
        base_price=Decimal("12.00"),
        min_unit_price=Decimal("9.5"),
        max_unit_price=Decimal("12.00"),
        tiers=(TierRow(5, Decimal("11")), TierRow(10, Decimal("9.5"))),
        segment_prices={"vip": Decimal("10.255")},
        on_hand=4,
        rating_sum=0,
        rating_count=0,
        units_sold=0,
        updated_at=AT,
    )


def test_list_price_takes_the_lowest_applicable_tier_or_segment() -> None:
    """The list price is the lowest of base, the tiers reached, and the viewer's segments."""
    row = row_with_prices()
    assert prices.list_unit_price(row, 1) == (Decimal("12.00"), None)
    assert prices.list_unit_price(row, 7) == (Decimal("11"), TierRow(5, Decimal("11")))
    assert prices.list_unit_price(row, 10)[0] == Decimal("9.5")
    assert prices.list_unit_price(row, 1, ["vip"]) == (Decimal("10.255"), None)


def test_product_price_rounds_half_up_and_sets_compare_at() -> None:
    """Unit prices round half-up to cents; compareAt is the base price when final is lower."""
    row = row_with_prices()
    at_one = product_page_price(row, 1, None, segments=frozenset(), now=AT)
    assert (at_one.final.amount, at_one.compare_at) == (Decimal("12.00"), None)
    vip = product_page_price(row, 1, None, segments=frozenset({"vip"}), now=AT)
    assert vip.final == prices.Money(Decimal("10.26"), "EUR")
    assert vip.compare_at == prices.Money(Decimal("12.00"), "EUR")
    assert product_page_price(row, 6, None, segments=frozenset(), now=AT).tier == (
        prices.PriceTierView(5, prices.Money(Decimal("11.00"), "EUR"))
    )


def test_money_uses_the_currency_minor_unit() -> None:
    """Yen has no minor unit; euros have two decimals."""
    assert prices.money(Decimal("1234.5"), "JPY").amount == Decimal("1235")
    assert str(prices.money(Decimal("17.5"), "EUR").amount) == "17.50"
