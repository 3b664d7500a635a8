"""Dashboard DataLoaders: a store's days and product sales over ranges, and its
promotions ending soon. One statement per batch: the current and the previous
range of a dashboard are one batch."""

from __future__ import annotations

from datetime import date, datetime

from readmodels.insights import queries
from readmodels.insights.rows import DayRow, ProductSalesRow
from readmodels.pricing import queries as pricing_queries
from readmodels.pricing.rows import PromotionRow
from resolvers.dataloaders import RowLoader

RangeKey = tuple[str, date, date]


def _metrics_tags(key: RangeKey) -> tuple[str, ...]:
    return (f"store-metrics:{key[0]}",)


class StoreDaysLoader(
    RowLoader[RangeKey, tuple[DayRow, ...]], query=queries.store_days, key_tag=_metrics_tags
):
    """The day rows of (store, first day, last day)."""


class StoreProductSalesLoader(
    RowLoader[RangeKey, tuple[ProductSalesRow, ...]],
    query=queries.store_product_sales,
    key_tag=_metrics_tags,
):
    """Products sold over (store, first day, last day), best first."""


class PromotionsEndingLoader(
    RowLoader[tuple[str, datetime, datetime], tuple[PromotionRow, ...]],
    query=pricing_queries.promotions_ending,
    key_tag=lambda key: (f"store-promotions:{key[0]}",),
):
    """A store's promotions in effect at `now` that end by `until`."""
