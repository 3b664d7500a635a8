"""REVENUE_DROP: the range earned markedly less than the previous range of equal length.

Thresholds (version 1):

- `MIN_PREVIOUS_ORDERS = 50`: the previous range needs at least 50 orders to
  be a baseline. Order values vary about as much as their mean, so the
  revenue of n orders wobbles by roughly sqrt(2/n) and the ratio of two
  ranges by sqrt(4/n): about 45% at 20 orders (a steady small store would be
  told its revenue "dropped by half" every few weeks), about 28% at 50.
  With 50 orders only a real fall clears the warning threshold.
- `WARNING_DROP = 0.25`: a fall of more than a quarter is beyond ordinary
  weekly and monthly swings (busy weekends, paydays) and worth a look.
- `CRITICAL_DROP = 0.50`: losing more than half the revenue means something
  broke (checkout, a listing, a payment method, a stock-out of the best
  seller) and needs action today.

The subject is the store; the period is the dashboard's range, so the same
range yields the same insight id.
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
from resolvers.insights.rules.wording import (
    HUNDRED,
    change,
    money,
    percent,
    previous_span,
    rounded,
    span,
)

MIN_PREVIOUS_ORDERS = 50
WARNING_DROP = Decimal("0.25")
CRITICAL_DROP = Decimal("0.50")


class RevenueDrop:
    """Revenue of the range against the previous range of equal length."""

    kind: InsightKind = InsightKind.REVENUE_DROP
    name: str = "revenue-drop"
    version: int = 1
    range_based: bool = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        current, previous = inputs.current, inputs.previous
        if previous.orders < MIN_PREVIOUS_ORDERS or previous.revenue <= 0:
            return []
        drop = -change(current.revenue, previous.revenue)
        if drop > CRITICAL_DROP:
            severity, threshold = InsightSeverity.CRITICAL, CRITICAL_DROP
        elif drop > WARNING_DROP:
            severity, threshold = InsightSeverity.WARNING, WARNING_DROP
        else:
            return []
        currency, period = inputs.currency, current.period
        return [
            Finding(
                kind=self.kind,
                severity=severity,
                subject=inputs.store_id,
                period=period,
                title=f"Revenue down {percent(drop)}",
                message=(
                    f"Revenue {span(period)} was {money(current.revenue, currency)}, "
                    f"down {percent(drop)} from {money(previous.revenue, currency)} "
                    f"in {previous_span(period)}."
                ),
                inputs=(
                    MetricInputView(
                        "revenue",
                        rounded(current.revenue, 2),
                        rounded(previous.revenue, 2),
                        rounded(previous.revenue * (1 - WARNING_DROP), 2),
                    ),
                    MetricInputView(
                        "revenue_change_percent",
                        rounded(-drop * HUNDRED),
                        None,
                        float(-WARNING_DROP * HUNDRED),
                    ),
                    MetricInputView(
                        "previous_orders", float(previous.orders), None, float(MIN_PREVIOUS_ORDERS)
                    ),
                ),
                reasoning=(
                    f"Revenue fell {percent(drop)} against {previous_span(period)}, more than "
                    f"the {percent(threshold)} that makes a drop {severity.value}, over a "
                    f"baseline of {previous.orders} orders (at least {MIN_PREVIOUS_ORDERS} "
                    f"needed)."
                ),
            )
        ]


RULE = RevenueDrop()
