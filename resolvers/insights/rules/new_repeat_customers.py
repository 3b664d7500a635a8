"""NEW_REPEAT_CUSTOMERS: more customers than before came back for a second order.

A new repeat customer is one whose second order at the store fell in the
range (cancelled orders do not count). It is the earliest sign of loyalty,
so a rise is worth telling the creator, with what may have caused it.

Thresholds (version 1):

- `MIN_NEW_REPEAT = 10`: at least 10 new repeat customers in the range; a
  handful of returning shoppers is chance, not a trend.
- `RISE = 0.50`: more than half as many again as in the previous range of
  equal length (any number when the previous range had none). Counts this
  small wobble by about sqrt(2/n), some 30-45%, and orders themselves grow
  20% month to month in a healthy store: a smaller rise says nothing.

Severity: always INFO (good news). The subject is the store; the period is
the dashboard's range.
"""

from __future__ import annotations

from decimal import Decimal

from resolvers.insights.model import (
    Finding,
    InsightInputs,
    InsightKind,
    InsightSeverity,
    MetricInputView,
)
from resolvers.insights.rules.wording import change, count, percent, previous_span, rounded, span

MIN_NEW_REPEAT = 10
RISE = Decimal("0.50")


class NewRepeatCustomers:
    """Customers whose second order fell in the range, against the previous range."""

    kind: InsightKind = InsightKind.NEW_REPEAT_CUSTOMERS
    name: str = "new-repeat-customers"
    version: int = 1
    range_based: bool = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        now = inputs.current.new_repeat_customers
        before = inputs.previous.new_repeat_customers
        if now < MIN_NEW_REPEAT:
            return []
        if before and change(Decimal(now), Decimal(before)) <= RISE:
            return []
        period = inputs.current.period
        if before:
            movement = f"up {percent(change(Decimal(now), Decimal(before)))} from {count(before)}"
        else:
            movement = "after none"
        return [
            Finding(
                kind=self.kind,
                severity=InsightSeverity.INFO,
                subject=inputs.store_id,
                period=period,
                title=f"{count(now)} new repeat customers",
                message=(
                    f"{count(now)} customers placed their second order {span(period)}, "
                    f"{movement} in {previous_span(period)}."
                ),
                inputs=(
                    MetricInputView(
                        "new_repeat_customers",
                        float(now),
                        float(before),
                        float(max(rounded(before * (1 + RISE), 2), MIN_NEW_REPEAT)),
                    ),
                ),
                reasoning=(
                    f"{count(now)} customers came back for a second order, at least "
                    f"{MIN_NEW_REPEAT} and more than {percent(RISE)} above "
                    f"{previous_span(period)}."
                ),
            )
        ]


RULE = NewRepeatCustomers()
