"""`Product.recommendations`: the projected ranking, filtered by what the catalog says now.

The projection ranks by orders alone; whether a recommended product still
exists, is listed and has a price changes independently, so it is checked
here, through the catalog's product loader. Every candidate's `product:<id>`
tag (added by that loader, found or not) makes an unlisting, a deletion or a
price change invalidate the cached answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from strawberry.types import Info

from readmodels.catalog.rows import ProductRow
from readmodels.recommendations.folds import TOP_N
from resolvers.catalog.loaders import ProductByIdLoader
from resolvers.context import RequestContext
from resolvers.errors import BadUserInputError
from resolvers.futures import chain, resolved, then
from resolvers.recommendations.loaders import RecommendationsByProductLoader
from resolvers.tracing import traced

Ctx = Info[RequestContext, Any]

DEFAULT_RECOMMENDATIONS = 4
MAX_RECOMMENDATIONS = TOP_N
"""The projection keeps no more than this per product."""


def recommendation_count(first: int | None) -> int:
    """`first` checked and capped at MAX_RECOMMENDATIONS; None means the default."""
    if first is None:
        return DEFAULT_RECOMMENDATIONS
    if first < 0:
        raise BadUserInputError("first: must not be negative", argument="first")
    return min(first, MAX_RECOMMENDATIONS)


def recommendable(
    product_id: str, candidates: Sequence[ProductRow | None], first: int
) -> list[ProductRow]:
    """The first `first` candidates, in rank order, that exist (the loader returns
    None for a deleted one), are listed, priced, and are not the product itself."""
    kept: list[ProductRow] = []
    for candidate in candidates:
        if (
            candidate is not None
            and candidate.listed
            and candidate.base_price is not None
            and candidate.id != product_id
        ):
            kept.append(candidate)
            if len(kept) == first:
                break
    return kept


@traced
def product_recommendations(
    root: ProductRow, info: Ctx, first: int | None = DEFAULT_RECOMMENDATIONS
) -> asyncio.Future[list[ProductRow]] | list[ProductRow]:
    """A plain `def` returning a future (see `resolvers.futures`): the ranked ids, then
    all their products in one load_many, so every product of a request shares one
    batch of ids and one batch of products."""
    count = recommendation_count(first)
    if count == 0:
        return []
    context = info.context

    def load_candidates(ids: tuple[str, ...]) -> asyncio.Future[list[ProductRow]]:
        if not ids:
            return resolved([])
        candidates = context.loader(ProductByIdLoader).load_many(ids)
        return then(candidates, lambda rows: recommendable(root.id, rows, count))

    return chain(context.loader(RecommendationsByProductLoader).load(root.id), load_candidates)
