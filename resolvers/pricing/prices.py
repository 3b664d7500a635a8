"""Money and list prices (pure): rounding to a currency's minor unit, the list price
by quantity tier and segment, and the views the price fields return.

The views are NamedTuples: several are built per product per request.
Promotions are the engine's (`resolvers.pricing.engine`).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from readmodels.catalog.rows import ProductRow, TierRow

# ISO-4217 minor units where they differ from the usual two.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3}


class Money(NamedTuple):
    amount: Decimal
    currency_code: str


def minor_unit(currency_code: str) -> Decimal:
    """The currency's smallest amount: 0.01 for EUR, 1 for JPY, 0.001 for KWD."""
    exponent = _EXPONENTS.get(currency_code)
    if exponent is None:
        exponent = _EXPONENTS[currency_code] = Decimal(1).scaleb(
            -_MINOR_UNITS.get(currency_code, 2)
        )
    return exponent


def money(amount: Decimal, currency_code: str) -> Money:
    """Money rounded half-up to the currency's minor unit."""
    return Money(amount.quantize(minor_unit(currency_code), rounding=ROUND_HALF_UP), currency_code)


_EXPONENTS: dict[str, Decimal] = {}


class PriceTierView(NamedTuple):
    min_quantity: int
    unit_price: Money


class ProductPriceView(NamedTuple):
    list_price: Money
    final: Money
    compare_at: Money | None
    tier: PriceTierView | None
    applied_promotions: tuple[Any, ...] = ()


class PriceRangeView(NamedTuple):
    min: Money
    max: Money


def list_unit_price(
    product: ProductRow, quantity: int, segments: Collection[str] = ()
) -> tuple[Decimal, TierRow | None]:
    """The lowest of the base price, the best tier reached, and the viewer's segment prices."""
    assert product.base_price is not None
    best, best_tier = product.base_price, None
    for tier in product.tiers:
        if tier.min_quantity <= quantity and tier.unit_price < best:
            best, best_tier = tier.unit_price, tier
    for segment in segments:
        price = product.segment_prices.get(segment)
        if price is not None and price < best:
            best, best_tier = price, None
    return best, best_tier


def price_range(product: ProductRow) -> PriceRangeView:
    assert product.min_unit_price is not None
    assert product.currency_code is not None
    assert product.max_unit_price is not None
    return PriceRangeView(
        money(product.min_unit_price, product.currency_code),
        money(product.max_unit_price, product.currency_code),
    )
