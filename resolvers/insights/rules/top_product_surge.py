"""TOP_PRODUCT_SURGE: one of the range's best sellers sold far more units than before.

Among the range's `TOP_SELLERS` best sellers (by revenue), the first whose
units more than doubled against the previous range of equal length. Units,
not revenue, so a price change alone never looks like demand. One finding per
range at most: the dashboard has three slots, and the best seller that is
taking off says it; the others usually move with it.

Thresholds (version 1):

- `TOP_SELLERS = 5`: a surge of a product outside the top five is too small
  a part of the store to lead a dashboard.
- `MIN_UNITS = 20`: the product sold at least 20 units in the range; going
  from 4 to 9 units is noise, not a surge (a steady product selling 9 a
  range doubles by chance about one range in fifty; one selling 20 almost
  never).
- `SURGE_RATIO = 2`: more than twice the previous range's units. A product
  that was not sold at all before (new, or back in stock) surges as soon as
  it passes `MIN_UNITS`.

Severity: always INFO (good news; REVENUE_SPIKE and LOW_STOCK_BESTSELLER
carry the warnings). The subject is the product id; the period the range.
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
from resolvers.insights.rules.wording import change, count, percent, previous_span, span

TOP_SELLERS = 5
MIN_UNITS = 20
SURGE_RATIO = 2


class TopProductSurge:
    """Units of the range's best sellers against the previous range of equal length."""

    kind: InsightKind = InsightKind.TOP_PRODUCT_SURGE
    name: str = "top-product-surge"
    version: int = 1
    range_based: bool = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        before = {row.product_id: row.units for row in inputs.previous.products}
        period = inputs.current.period
        for rank, row in enumerate(inputs.current.products[:TOP_SELLERS], start=1):
            previous = before.get(row.product_id, 0)
            if row.units < MIN_UNITS or row.units <= SURGE_RATIO * previous:
                continue
            if previous:
                rise = percent(change(Decimal(row.units), Decimal(previous)))
                movement = f"up {rise} from {count(previous)}"
                why = f"more than doubled ({rise} up)"
            else:
                movement = "after none"
                why = "went from none"
            return [
                Finding(
                    kind=self.kind,
                    severity=InsightSeverity.INFO,
                    subject=row.product_id,
                    period=period,
                    title="A best seller is taking off",
                    message=(
                        f"{product_name(inputs, row.product_id)}, your number {rank} by revenue, "
                        f"sold "
                        f"{count(row.units)} units {span(period)}, {movement} "
                        f"in {previous_span(period)}."
                    ),
                    inputs=(
                        MetricInputView(
                            "units",
                            float(row.units),
                            float(previous),
                            float(max(SURGE_RATIO * previous, MIN_UNITS)),
                        ),
                        MetricInputView("sales_rank", float(rank), None, float(TOP_SELLERS)),
                    ),
                    reasoning=(
                        f"Units of the number {rank} seller {why} against "
                        f"{previous_span(period)}, with at least {MIN_UNITS} units sold."
                    ),
                )
            ]
        return []


RULE = TopProductSurge()
