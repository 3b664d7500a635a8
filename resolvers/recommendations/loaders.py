"""Recommendation DataLoaders: one statement per batch, keys in order.

Tagged by key, found or not: the projection announces `recommendations:<id>`
when a product's list changes, including when it gets its first one.
"""

from __future__ import annotations

from readmodels.recommendations import queries
from resolvers.dataloaders import RowLoader


class RecommendationsByProductLoader(
    RowLoader[str, tuple[str, ...]],
    query=queries.recommendations_by_products,
    key_tag="recommendations",
):
    """Ranked bought-together product ids by product id (unfiltered)."""
