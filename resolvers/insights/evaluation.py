"""Running the rules for one creator and one range: load what they read, then the
pure pipeline. Shared by the dashboard's `insights`, `explainInsight` and the
seen/dismiss payloads, so an insight is the same wherever it is shown.

Everything is loaded through DataLoaders in two levels: the store, both
ranges' days and product sales and the promotions ending soon, then the stock
of the range's best sellers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from readmodels.catalog.rows import ProductRow, StoreRow
from readmodels.creators.rows import CreatorRow
from resolvers.catalog.loaders import ProductByIdLoader, StoreByIdLoader
from resolvers.context import RequestContext
from resolvers.futures import chain, then
from resolvers.insights import pipeline
from resolvers.insights.loaders import (
    PromotionsEndingLoader,
    StoreDaysLoader,
    StoreProductSalesLoader,
)
from resolvers.insights.model import Finding, InsightInputs, Period, Rule
from resolvers.insights.views import range_metrics

NO_CURRENCY = "XXX"  # ISO 4217's "no currency": a creator without a store
STOCK_OF_BEST_SELLERS = 10
ENDING_WITHIN = timedelta(hours=48)


class Evaluated(NamedTuple):
    key: str
    finding: Finding
    rule: Rule


class Evaluation(NamedTuple):
    inputs: InsightInputs
    found: list[Evaluated]


def evaluate(
    context: RequestContext,
    creator: CreatorRow,
    period: Period,
    rules: Sequence[Rule] = pipeline.RULES,
) -> asyncio.Future[Evaluation]:
    """The rules' findings for `creator` over `period` (and the previous period)."""
    now = context.now
    store_id = creator.store_id or ""
    previous = period.previous()
    keys = [(store_id, period.start, period.end), (store_id, previous.start, previous.end)]
    first = asyncio.gather(
        context.loader(StoreByIdLoader).load(store_id),
        context.loader(StoreDaysLoader).load_many(keys),
        context.loader(StoreProductSalesLoader).load_many(keys),
        context.loader(PromotionsEndingLoader).load((store_id, now, now + ENDING_WITHIN)),
    )

    def with_stock(loaded: list[Any]) -> asyncio.Future[Evaluation]:
        products = loaded[2]
        best = [sale.product_id for sale in products[0][:STOCK_OF_BEST_SELLERS]]
        stock = context.loader(ProductByIdLoader).load_many(best)
        for promotion in loaded[3]:
            # Its insight changes as it crosses 24 hours left, and goes when it ends.
            context.fresh_only_until(_next_moment(promotion.ends_at, now))
        return then(stock, lambda rows: _run(creator, loaded[0], period, loaded, rows, now, rules))

    return chain(first, with_stock)


def owned(store: StoreRow | None, creator: CreatorRow) -> StoreRow | None:
    """The creator's store, only if the store says so too: a stale or wrong
    CreatorUpserted must not show one creator another's revenue."""
    if store is None or store.owner_creator_id != creator.id:
        return None
    return store


def _next_moment(ends_at: datetime | None, now: datetime) -> datetime | None:
    if ends_at is None:
        return None
    severity_changes = ends_at - timedelta(hours=24)
    return severity_changes if severity_changes > now else ends_at


def _run(
    creator: CreatorRow,
    found_store: StoreRow | None,
    period: Period,
    loaded: list[Any],
    stock_rows: list[ProductRow | None],
    now: datetime,
    rules: Sequence[Rule],
) -> Evaluation:
    _, days, products, ending = loaded
    store = owned(found_store, creator)
    if store is None:  # no store, or not this creator's: nothing to measure
        days, products, ending, stock_rows = [(), ()], [(), ()], (), []
    inputs = InsightInputs(
        creator_id=creator.id,
        store_id=store.id if store is not None else "",
        currency=store.currency_code if store is not None else NO_CURRENCY,
        now=now,
        current=range_metrics(period, days[0], products[0]),
        previous=range_metrics(period.previous(), days[1], products[1]),
        stock={row.id: max(row.on_hand, 0) for row in stock_rows if row is not None},
        ending_promotions=ending,
        product_titles={row.id: row.title for row in stock_rows if row is not None},
    )
    findings = pipeline.run_rules(inputs, rules)
    found = [
        Evaluated(pipeline.insight_key(creator.id, finding), finding, rule)
        for rule, finding in findings
    ]
    return Evaluation(inputs, found)
