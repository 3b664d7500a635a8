"""Dashboard and insight types: views over what `resolvers.insights` computes."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from resolvers.insights import fields
from resolvers.insights.model import InsightKind, InsightSeverity
from resolvers.insights.views import InsightView
from schema.node import Node

if TYPE_CHECKING:
    from schema.catalog.types import Money, Product
    from schema.creators.types import Creator

MoneyRef = Annotated["Money", strawberry.lazy("schema.catalog.types")]
ProductRef = Annotated["Product", strawberry.lazy("schema.catalog.types")]
CreatorRef = Annotated["Creator", strawberry.lazy("schema.creators.types")]

strawberry.enum(InsightKind, name="InsightKind")
strawberry.enum(InsightSeverity, name="InsightSeverity")


@strawberry.input(name="DateRangeInput")
class DateRangeInput:
    from_: date = strawberry.field(name="from")
    to: date


@strawberry.type(name="DailyRevenue")
class DailyRevenue:
    date: date
    total: MoneyRef
    orders: int


@strawberry.type(name="RevenueSummary")
class RevenueSummary:
    total: MoneyRef
    orders: int
    average_order_value: MoneyRef
    change_percent: float | None = strawberry.field(
        description="Change of `total` against the previous range of equal length, in percent."
    )
    daily: list[DailyRevenue]


@strawberry.type(name="ProductSales")
class ProductSales:
    product: ProductRef
    units: int
    revenue: MoneyRef


@strawberry.type(name="Insight")
class Insight(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.insight_id)
    kind: InsightKind
    severity: InsightSeverity
    title: str
    message: str
    seen: bool
    generated_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, InsightView)


@strawberry.type(name="MetricInput")
class MetricInput:
    name: str
    value: float
    baseline: float | None
    threshold: float | None


@strawberry.type(name="InsightExplanation")
class InsightExplanation:
    insight: Insight
    rule: str
    rule_version: int
    inputs: list[MetricInput]
    reasoning: str


@strawberry.type(name="InsightStatePayload")
class InsightStatePayload:
    insights: list[Insight]


@strawberry.type(name="CreatorDashboard")
class CreatorDashboard:
    creator: CreatorRef = strawberry.field(
        resolver=fields.dashboard_creator, graphql_type=CreatorRef
    )
    revenue: RevenueSummary = strawberry.field(
        resolver=fields.dashboard_revenue,
        graphql_type=RevenueSummary,
        description=(
            "Never null when the creator exists: revenue must render even when insights fail."
        ),
    )
    top_products: list[ProductSales] = strawberry.field(
        resolver=fields.dashboard_top_products, graphql_type=list[ProductSales]
    )
    insights: list[Insight] | None = strawberry.field(
        resolver=fields.dashboard_insights,
        graphql_type=list[Insight] | None,
        description=(
            "At most `limit` (capped at 3) undismissed insights, most severe first.\n"
            "Null, with an error in `errors`, when the insight engine fails."
        ),
    )
