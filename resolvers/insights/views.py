"""What the dashboard's fields return, built from metric rows (pure).

A range's metrics come back as the days that had orders or traffic;
`range_metrics` fills in the others with zeros, so every consumer (the
revenue summary, the rules) sees every day of the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from readmodels.catalog.rows import ProductRow
from readmodels.insights.rows import DayRow, ProductSalesRow
from resolvers.insights.model import (
    Finding,
    InsightKind,
    InsightSeverity,
    MetricInputView,
    Period,
    RangeMetrics,
    Rule,
)
from resolvers.pricing.prices import Money, money

ZERO = Decimal(0)


def range_metrics(
    period: Period, days: Sequence[DayRow], products: Sequence[ProductSalesRow]
) -> RangeMetrics:
    """Every day of `period`, zeros where the read model has no row."""
    found = {row.day: row for row in days}
    filled = tuple(found.get(day) or DayRow(day, ZERO, 0, 0, 0, 0) for day in period.each_day())
    return RangeMetrics(period, filled, tuple(products))


class DailyRevenueView(NamedTuple):
    date: date
    total: Money
    orders: int


class RevenueSummaryView(NamedTuple):
    total: Money
    orders: int
    average_order_value: Money
    change_percent: float | None
    daily: list[DailyRevenueView]


def revenue_summary(
    current: RangeMetrics, previous: RangeMetrics, currency: str
) -> RevenueSummaryView:
    """Totals of the range, and the change against the previous range of equal length
    (None when the previous range earned nothing: no percentage of zero)."""
    total, orders = current.revenue, current.orders
    before = previous.revenue
    change = None if before == 0 else round(float((total - before) / before * 100), 2)
    return RevenueSummaryView(
        total=money(total, currency),
        orders=orders,
        average_order_value=money(total / orders if orders else ZERO, currency),
        change_percent=change,
        daily=[DailyRevenueView(d.day, money(d.revenue, currency), d.orders) for d in current.days],
    )


class ProductSalesView(NamedTuple):
    product: ProductRow
    units: int
    revenue: Money


class InsightView(NamedTuple):
    """An insight as the dashboard shows it; `key` is its stable source id."""

    key: str
    kind: InsightKind
    severity: InsightSeverity
    title: str
    message: str
    seen: bool
    generated_at: datetime
    finding: Finding
    rule: Rule


class InsightExplanationView(NamedTuple):
    insight: InsightView
    rule: str
    rule_version: int
    inputs: tuple[MetricInputView, ...]
    reasoning: str


def explanation(view: InsightView) -> InsightExplanationView:
    return InsightExplanationView(
        view, view.rule.name, view.rule.version, view.finding.inputs, view.finding.reasoning
    )
