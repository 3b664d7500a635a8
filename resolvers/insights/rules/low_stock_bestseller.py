"""LOW_STOCK_BESTSELLER: a best seller of the range will sell out within days.

For each of the range's `TOP_SELLERS` best sellers (by revenue) whose stock
is known, the days of cover: units available now divided by the units it
sold per day over the range. Days, not a fixed unit count, so 5 units left is
alarming for a product selling 3 a day and fine for one selling 3 a month.

Thresholds (version 1):

- `TOP_SELLERS = 5`: only the products that carry the store; a slow
  product running low is a restocking detail, not a dashboard headline.
  Five, not three, because the ranking is by revenue and a cheap product
  that sells the most units (the one that runs out first) often ranks
  fourth or fifth.
- `MIN_UNITS = 5`: the product sold at least 5 units in the range, or the
  daily rate is too thin to project from.
- `WARNING_DAYS = 7`: fewer than 7 days of cover is about the time a
  restock takes to order and arrive.
- `CRITICAL_DAYS = 3`: fewer than 3 days of cover (or none left at all)
  means it sells out before a restock can land.

The subject is the product id; the period is the range the sales rate comes
from (the stock is as of now).
"""

from __future__ import annotations

from decimal import Decimal

from resolvers.insights.model import (
    Finding,
    InsightInputs,
    InsightKind,
    InsightSeverity,
    MetricInputView,
    product_name,
)
from resolvers.insights.rules.wording import count, rounded, span

TOP_SELLERS = 5
MIN_UNITS = 5
WARNING_DAYS = Decimal(7)
CRITICAL_DAYS = Decimal(3)


def cover_text(cover: Decimal) -> str:
    """ "less than a day", "about 1 day", "about 2.5 days"."""
    if cover < 1:
        return "less than a day"
    days = rounded(cover)
    return "about 1 day" if days == 1 else f"about {days:g} days"


class LowStockBestseller:
    """Days of cover (stock now / units sold per day in the range) of the best sellers."""

    kind: InsightKind = InsightKind.LOW_STOCK_BESTSELLER
    name: str = "low-stock-bestseller"
    version: int = 1
    range_based: bool = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        period = inputs.current.period
        findings: list[Finding] = []
        for rank, row in enumerate(inputs.current.products[:TOP_SELLERS], start=1):
            stock = inputs.stock.get(row.product_id)
            if stock is None or row.units < MIN_UNITS:
                continue
            stock = max(stock, 0)
            per_day = Decimal(row.units) / period.days
            cover = stock / per_day
            if cover < CRITICAL_DAYS:
                severity, threshold = InsightSeverity.CRITICAL, CRITICAL_DAYS
            elif cover < WARNING_DAYS:
                severity, threshold = InsightSeverity.WARNING, WARNING_DAYS
            else:
                continue
            days = rounded(cover)
            covers = cover_text(cover)
            if stock == 0:
                title = "A best seller is sold out"
                left = "is sold out"
            else:
                title = "A best seller is running low"
                unit = "unit" if stock == 1 else "units"
                left = f"has {count(stock)} {unit} left, {covers} of sales"
            findings.append(
                Finding(
                    kind=self.kind,
                    severity=severity,
                    subject=row.product_id,
                    period=period,
                    title=title,
                    message=(
                        f"{product_name(inputs, row.product_id)}, your number {rank} by revenue, "
                        f"{left} "
                        f"at the pace of the {count(row.units)} units it sold {span(period)}."
                    ),
                    inputs=(
                        MetricInputView("days_of_cover", days, None, float(WARNING_DAYS)),
                        MetricInputView("units_available", float(stock), None, None),
                        MetricInputView("units_sold_per_day", rounded(per_day, 2), None, None),
                    ),
                    reasoning=(
                        f"The stock covers {covers} at the range's sales rate, fewer "
                        f"than the {threshold} days that make a best seller's stock "
                        f"{severity.value}."
                    ),
                )
            )
        return findings


RULE = LowStockBestseller()
