"""`creatorDashboard`: revenue and best sellers at once, and beside them at most three
insights worth acting on.

Revenue and top products read the metrics read models alone; insights also
run the rules. They are separate fields on separate loads, so revenue never
waits on insights, and an insight failure (a rule that raises, a load that
times out, the insight budget running out) nulls `insights` with one
INSIGHTS_UNAVAILABLE error while the rest of the dashboard stands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from readmodels.catalog.rows import ProductRow, StoreRow
from readmodels.creators.rows import CreatorRow
from readmodels.insights.rows import InsightStateRow
from resolvers.catalog.loaders import ProductByIdLoader, StoreByIdLoader
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.errors import BadUserInputError, InsightsUnavailableError
from resolvers.futures import chain, resolved, then, within
from resolvers.insights import pipeline
from resolvers.insights.access import dashboard_creator
from resolvers.insights.evaluation import NO_CURRENCY, Evaluation, evaluate, owned
from resolvers.insights.loaders import StoreDaysLoader, StoreProductSalesLoader
from resolvers.insights.model import (
    DEFAULT_RANGE_DAYS,
    FIRST_DAY,
    LAST_DAY,
    MAX_RANGE_DAYS,
    Finding,
    Period,
    Rule,
)
from resolvers.insights.state import InsightStateByCreatorLoader
from resolvers.insights.views import (
    InsightView,
    ProductSalesView,
    RevenueSummaryView,
    range_metrics,
    revenue_summary,
)
from resolvers.pricing.prices import money

log = logging.getLogger("vitrine.insights")

MAX_TOP_PRODUCTS = 50
SPARE_TOP_PRODUCTS = 5
INSIGHTS_BUDGET_SECONDS = 2.0
"""The longest the insights of a dashboard may take; past it they are unavailable."""


class DashboardRoot(NamedTuple):
    creator: CreatorRow
    store: StoreRow | None
    period: Period

    @property
    def currency(self) -> str:
        return self.store.currency_code if self.store is not None else NO_CURRENCY


def dashboard_period(start: date | None, end: date | None, today: date) -> Period:
    """The requested range, checked; by default the last 7 days, today included."""
    if start is None or end is None:
        return Period(today - timedelta(days=DEFAULT_RANGE_DAYS - 1), today)
    if end < start:
        raise BadUserInputError("range: `to` is before `from`", argument="range")
    period = Period(start, end)
    if period.days > MAX_RANGE_DAYS:
        raise BadUserInputError(
            f"range: at most {MAX_RANGE_DAYS} days, got {period.days}", argument="range"
        )
    if (start - FIRST_DAY).days < period.days or end > LAST_DAY:
        # The range is compared with the one before it: both must be real days.
        raise BadUserInputError(
            f"range: dates between {FIRST_DAY} (with the range before it) and {LAST_DAY}",
            argument="range",
        )
    return period


def resolve_creator_dashboard(
    context: RequestContext,
    start: date | None,
    end: date | None,
    creator_global_id: str | None = None,
) -> asyncio.Future[DashboardRoot | None]:
    """The viewer's own dashboard, or `creator_global_id`'s (an ADMIN's support read)."""
    creator_id = dashboard_creator(context, creator_global_id)
    period = dashboard_period(start, end, context.now.date())
    if start is None:
        # "The last 7 days" moves at midnight: no cached answer outlives the day.
        tomorrow = datetime.combine(context.now.date() + timedelta(days=1), datetime.min.time())
        context.fresh_only_until(tomorrow.replace(tzinfo=UTC))
    creator = context.loader(CreatorByIdLoader).load(creator_id)

    def with_store(row: CreatorRow | None) -> asyncio.Future[DashboardRoot | None]:
        if row is None:
            return resolved(None)
        store = context.loader(StoreByIdLoader).load(row.store_id or "")
        return then(store, lambda found: DashboardRoot(row, owned(found, row), period))

    return chain(creator, with_store)


def _range_keys(root: DashboardRoot) -> list[tuple[str, date, date]]:
    store_id = root.store.id if root.store is not None else ""
    previous = root.period.previous()
    return [
        (store_id, root.period.start, root.period.end),
        (store_id, previous.start, previous.end),
    ]


def dashboard_revenue(root: DashboardRoot, context: RequestContext) -> asyncio.Future[Any]:
    days = context.loader(StoreDaysLoader).load_many(_range_keys(root))

    def summary(loaded: list[Any]) -> RevenueSummaryView:
        current = range_metrics(root.period, loaded[0], ())
        previous = range_metrics(root.period.previous(), loaded[1], ())
        return revenue_summary(current, previous, root.currency)

    return then(days, summary)


def dashboard_top_products(
    root: DashboardRoot, context: RequestContext, first: int | None
) -> asyncio.Future[list[ProductSalesView]]:
    count = 5 if first is None else first
    if count < 0:
        raise BadUserInputError("first: must not be negative", argument="first")
    count = min(count, MAX_TOP_PRODUCTS)
    key = _range_keys(root)[0]
    sales = context.loader(StoreProductSalesLoader).load(key)

    def with_products(rows: Any) -> asyncio.Future[list[ProductSalesView]]:
        # A few more than asked: a product deleted since is skipped, not a gap.
        top = list(rows[: count + SPARE_TOP_PRODUCTS]) if count else []
        products = context.loader(ProductByIdLoader).load_many([s.product_id for s in top])

        def views(found: list[ProductRow | None]) -> list[ProductSalesView]:
            return [
                ProductSalesView(product, sale.units, money(sale.revenue, root.currency))
                for sale, product in zip(top, found, strict=True)
                if product is not None  # deleted since: nothing to link to
            ][:count]

        return then(products, views)

    return chain(sales, with_products)


def dashboard_insights(
    root: DashboardRoot,
    context: RequestContext,
    limit: int | None,
    rules: Sequence[Rule] | None = None,
) -> asyncio.Future[list[InsightView]]:
    """At most `limit` (capped at 3) undismissed insights, most severe first."""
    if limit is not None and limit < 0:
        raise BadUserInputError("limit: must not be negative", argument="limit")
    try:
        chosen = context_rules(context) if rules is None else rules
        evaluation = evaluate(context, root.creator, root.period, chosen)
    except Exception as error:
        raise _unavailable(error) from error
    states = context.loader(InsightStateByCreatorLoader).load(root.creator.id)
    both = within(asyncio.gather(evaluation, states), INSIGHTS_BUDGET_SECONDS)

    def shown(loaded: list[Any]) -> list[InsightView]:
        found, state = loaded
        return select_views(found, state, context.now, limit)

    return guarded(then(both, shown))


def context_rules(context: RequestContext) -> Sequence[Rule]:
    """The rules this app runs (the composition root may replace them; tests do)."""
    return context.insight_rules if context.insight_rules is not None else pipeline.RULES


def select_views(
    evaluation: Evaluation,
    states: dict[str, InsightStateRow],
    now: datetime,
    limit: int | None,
) -> list[InsightView]:
    dismissed = {key for key, row in states.items() if row.dismissed_at is not None}
    chosen = pipeline.select(
        [(item.key, item.finding) for item in evaluation.found], dismissed, limit
    )
    rules = {item.key: item.rule for item in evaluation.found}
    return [to_view(key, finding, rules[key], states.get(key), now) for key, finding in chosen]


def to_view(
    key: str,
    finding: Finding,
    rule: Rule,
    state: InsightStateRow | None,
    now: datetime,
) -> InsightView:
    return InsightView(
        key=key,
        kind=finding.kind,
        severity=finding.severity,
        title=finding.title,
        message=finding.message,
        seen=state is not None and state.seen_at is not None,
        generated_at=now,
        finding=finding,
        rule=rule,
    )


def _unavailable(error: BaseException) -> InsightsUnavailableError:
    log.warning("insights unavailable: %r", error, exc_info=error)
    return InsightsUnavailableError(
        "insights are unavailable right now; revenue and top products are unaffected"
    )


def guarded(future: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """Any failure of the insights path becomes one INSIGHTS_UNAVAILABLE error."""
    out: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(source: asyncio.Future[Any]) -> None:
        if out.done():
            return
        if source.cancelled():
            out.set_exception(_unavailable(asyncio.CancelledError()))
        elif (error := source.exception()) is not None:
            out.set_exception(_unavailable(error))
        else:
            out.set_result(source.result())

    future.add_done_callback(done)
    return out
