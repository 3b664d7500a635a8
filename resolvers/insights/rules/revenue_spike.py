"""REVENUE_SPIKE: the range earned markedly more than the previous range of equal length.

Thresholds (version 1):

- `MIN_PREVIOUS_ORDERS = 50`: as for REVENUE_DROP, a baseline of fewer than
  50 orders makes ordinary noise look like a spike (3 orders to 6 is "+100%",
  and one large order lifts a small week by half).
- `INFO_RISE = 0.50`: more than half as much again as the previous range is
  beyond ordinary growth and seasonality; the creator wants to know what
  worked (a post, a mention, a promotion) to do it again.
- `WARNING_RISE = 2.00`: more than three times the previous revenue is a
  surge that stock, fulfilment and support may not keep up with (and
  sometimes a sign of fraud), so it is worth acting on, not just a cheer.

The subject is the store; the period is the dashboard's range.
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
INFO_RISE = Decimal("0.50")
WARNING_RISE = Decimal("2.00")


class RevenueSpike:
    """Revenue of the range against the previous range of equal length."""

    kind: InsightKind = InsightKind.REVENUE_SPIKE
    name: str = "revenue-spike"
    version: int = 1
    range_based: bool = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        current, previous = inputs.current, inputs.previous
        if previous.orders < MIN_PREVIOUS_ORDERS or previous.revenue <= 0:
            return []
        rise = change(current.revenue, previous.revenue)
        if rise > WARNING_RISE:
            severity, threshold = InsightSeverity.WARNING, WARNING_RISE
            advice = " Check that stock and fulfilment can keep up."
        elif rise > INFO_RISE:
            severity, threshold, advice = InsightSeverity.INFO, INFO_RISE, ""
        else:
            return []
        currency, period = inputs.currency, current.period
        return [
            Finding(
                kind=self.kind,
                severity=severity,
                subject=inputs.store_id,
                period=period,
                title=f"Revenue up {percent(rise)}",
                message=(
                    f"Revenue {span(period)} was {money(current.revenue, currency)}, "
                    f"up {percent(rise)} from {money(previous.revenue, currency)} "
                    f"in {previous_span(period)}.{advice}"
                ),
                inputs=(
                    MetricInputView(
                        "revenue",
                        rounded(current.revenue, 2),
                        rounded(previous.revenue, 2),
                        rounded(previous.revenue * (1 + INFO_RISE), 2),
                    ),
                    MetricInputView(
                        "revenue_change_percent",
                        rounded(rise * HUNDRED),
                        None,
                        float(INFO_RISE * HUNDRED),
                    ),
                    MetricInputView(
                        "previous_orders", float(previous.orders), None, float(MIN_PREVIOUS_ORDERS)
                    ),
                ),
                reasoning=(
                    f"Revenue rose {percent(rise)} against {previous_span(period)}, more than "
                    f"the {percent(threshold)} that makes a spike {severity.value}, over a "
                    f"baseline of {previous.orders} orders (at least {MIN_PREVIOUS_ORDERS} "
                    f"needed)."
                ),
            )
        ]


RULE = RevenueSpike()
