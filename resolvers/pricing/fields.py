"""Field resolvers of pricing: a product's price and promotions, promotion fields.

Plain functions of a row, the request info and arguments, returning a value or
a loader future (never `async`), so graphql-core and compiled plans resolve
them on their fast paths. The arithmetic is the engine's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from strawberry.types import Info

from readmodels.catalog.rows import ProductRow, StoreRow
from readmodels.pricing.rows import ProductOffers, PromotionRow
from resolvers.catalog.loaders import StoreByIdLoader
from resolvers.context import RequestContext
from resolvers.errors import InvalidQuantityError, PriceNotSetError
from resolvers.futures import then
from resolvers.ids import encode_id
from resolvers.pagination import Connection
from resolvers.pricing import engine
from resolvers.pricing.conditions import could_apply
from resolvers.pricing.loaders import OffersByProductLoader, PromotionTotalLoader
from resolvers.pricing.prices import ProductPriceView
from resolvers.tracing import traced

Ctx = Info[RequestContext, Any]

MAX_QUANTITY = 10_000
NO_SEGMENTS: frozenset[str] = frozenset()


def segments_of(context: RequestContext) -> frozenset[str]:
    """The viewer's price segments; anonymous shoppers have none."""
    viewer = context.viewer
    return NO_SEGMENTS if viewer is None else viewer.segments


def offers_of(context: RequestContext, product_id: str) -> asyncio.Future[ProductOffers | None]:
    return context.loader(OffersByProductLoader).load((product_id, context.now))


def check_quantity(quantity: int, argument: str) -> None:
    """INVALID_QUANTITY outside 1 to MAX_QUANTITY, on a product page as in a cart."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantityError(
            f"{argument}: must be between 1 and {MAX_QUANTITY}, got {quantity}",
            argument=argument,
        )


@traced
def product_price(
    root: ProductRow, info: Ctx, quantity: int | None = 1
) -> asyncio.Future[ProductPriceView]:
    context = info.context
    context.tags.add(f"price:{root.id}")  # a PriceSet announces price:<id>
    quantity = 1 if quantity is None else quantity
    check_quantity(quantity, "quantity")
    if root.base_price is None:
        raise PriceNotSetError(f"product {root.slug!r} has no price yet")
    segments = segments_of(context)

    def price(offers: ProductOffers | None) -> ProductPriceView:
        context.fresh_only_until(engine.next_change(offers, context.now))
        return engine.product_page_price(root, quantity, offers, segments=segments, now=context.now)

    return then(offers_of(context, root.id), price)


@traced
def product_promotions(root: ProductRow, info: Ctx) -> asyncio.Future[list[PromotionRow]]:
    """Promotions in effect now whose condition this product (and viewer) can meet
    at some quantity and cart subtotal, in the order they apply."""
    context = info.context
    segments = segments_of(context)

    def applicable(offers: ProductOffers | None) -> list[PromotionRow]:
        if offers is None:
            return []
        context.fresh_only_until(engine.next_change(offers, context.now))
        facts = offers.facts
        return [
            promotion
            for promotion in offers.promotions
            if promotion.store_id == root.store_id
            and engine.in_effect(promotion, context.now)
            and could_apply(
                promotion.condition,
                root.id,
                facts.category_path,
                facts.collection_ids,
                facts.tags,
                segments,
            )
        ]

    return then(offers_of(context, root.id), applicable)


def promotion_id(root: PromotionRow) -> str:
    return encode_id("Promotion", root.id)


@traced
def promotion_store(root: PromotionRow, info: Ctx) -> asyncio.Future[StoreRow | None]:
    return info.context.loader(StoreByIdLoader).load(root.store_id)


@traced
def promotion_total(root: Connection[Any], info: Ctx) -> asyncio.Future[int]:
    return info.context.loader(PromotionTotalLoader).load(root.total_key)
