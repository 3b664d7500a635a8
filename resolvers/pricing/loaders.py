"""Pricing DataLoaders: a product's offers (facts and candidate promotions), promotions
by id, and the promotions listing. One statement per batch, keys in order.

Offers are keyed by (product id, now): every key of a request carries the
request's `now`, so the whole request is one batch, and a candidate is one
that has not ended by then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from readmodels.pricing import queries
from readmodels.pricing.queries import PromotionQuery
from readmodels.pricing.rows import ProductOffers, PromotionPage, PromotionRow
from readmodels.reader import Reader
from resolvers.dataloaders import RowLoader

OfferKey = tuple[str, datetime]


async def _offers(db: Reader, keys: Sequence[OfferKey]) -> list[ProductOffers | None]:
    return await queries.offers_by_products(db, [product for product, _ in keys], keys[0][1])


class OffersByProductLoader(
    RowLoader[OfferKey, ProductOffers | None],
    query=_offers,
    tag="promotion",
    key_tag=lambda key: (f"product:{key[0]}", f"product-collections:{key[0]}"),
):
    """The facts and candidate promotions of products, for the pricing engine.

    Tagged by each candidate (`promotion:<id>`), by the store's promotions (a new
    promotion of the store may now apply) and by the categories of the product's
    path (a category that moves changes which `categoryIn` match).
    """

    def result_tags(self, result: Any) -> Iterable[str]:
        offers: ProductOffers = result
        facts = offers.facts
        return [
            f"store-promotions:{facts.store_id}",
            *(f"category:{c}" for c in facts.category_path),
            *(f"promotion:{p.id}" for p in offers.promotions),
        ]


class PromotionByIdLoader(
    RowLoader[str, PromotionRow | None],
    query=queries.promotions_by_ids,
    tag="promotion",
    key_tag="promotion",
):
    """Promotions by source id (`node(id)`)."""


async def _pages(db: Reader, keys: Sequence[PromotionQuery]) -> list[PromotionPage]:
    # A request rarely lists promotions more than once.
    return [await queries.promotion_page(db, key) for key in keys]


class PromotionPageLoader(
    RowLoader[PromotionQuery, PromotionPage],
    query=_pages,
    tag="promotion",
    key_tag=lambda query: ("promotions",),
):
    """Pages of the promotions listing, newest first."""

    def result_tags(self, result: Any) -> Iterable[str]:
        return [f"promotion:{row.id}" for row in result.items]


class PromotionTotalLoader(
    RowLoader[tuple[bool | None, str | None, datetime], int],
    query=queries.promotion_totals,
    key_tag=lambda key: ("promotions",),
):
    """totalCount of the promotions listing."""
