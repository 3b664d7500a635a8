"""CONVERSION_DROP: a smaller share of the store's visits turned into orders than before.

Conversion is orders / sessions over the range, compared with the previous
range of equal length. It catches what revenue alone hides: visitors still
come but stop buying (a broken checkout, a price change, a bad review).

Thresholds (version 1):

- `MIN_SESSIONS = 1000`: both ranges need at least 1,000 sessions. At the
  usual 1-5% conversion that is 10-50 orders, the least for a rate to mean
  anything; a range without traffic data (sessions not reported yet) is
  skipped rather than read as a collapse.
- `MIN_PREVIOUS_ORDERS = 50`: the previous rate must rest on 50 orders or
  more. Order counts are Poisson-like, so the ratio of two rates wobbles by
  about sqrt(2/n): 32% at 20 orders (beyond the warning threshold by chance
  alone), 20% at 50.
- `WARNING_DROP = 0.25`: converting more than a quarter worse is beyond the
  weekly noise of a store with this much traffic.
- `CRITICAL_DROP = 0.50`: converting less than half as well as before means
  the way to buy is likely broken.

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
    count,
    percent,
    previous_span,
    rate,
    rounded,
    span,
)

MIN_SESSIONS = 1000
MIN_PREVIOUS_ORDERS = 50
WARNING_DROP = Decimal("0.25")
CRITICAL_DROP = Decimal("0.50")


class ConversionDrop:
    """Orders per session of the range against the previous range of equal length."""

    kind: InsightKind = InsightKind.CONVERSION_DROP
    name: str = "conversion-drop"
    version: int = 1
    range_based: bool = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        current, previous = inputs.current, inputs.previous
        if min(current.sessions, previous.sessions) < MIN_SESSIONS:
            return []
        if previous.orders < MIN_PREVIOUS_ORDERS:
            return []
        now_rate = Decimal(current.orders) / current.sessions
        before = Decimal(previous.orders) / previous.sessions
        drop = -change(now_rate, before)
        if drop > CRITICAL_DROP:
            severity, threshold = InsightSeverity.CRITICAL, CRITICAL_DROP
        elif drop > WARNING_DROP:
            severity, threshold = InsightSeverity.WARNING, WARNING_DROP
        else:
            return []
        period = current.period
        return [
            Finding(
                kind=self.kind,
                severity=severity,
                subject=inputs.store_id,
                period=period,
                title=f"Conversion down {percent(drop)}",
                message=(
                    f"{rate(now_rate)} of visits became orders {span(period)} "
                    f"({count(current.orders)} orders from {count(current.sessions)} sessions), "
                    f"down from {rate(before)} in {previous_span(period)}."
                ),
                inputs=(
                    MetricInputView(
                        "conversion_rate_percent",
                        rounded(now_rate * HUNDRED, 2),
                        rounded(before * HUNDRED, 2),
                        rounded(before * (1 - WARNING_DROP) * HUNDRED, 2),
                    ),
                    MetricInputView(
                        "sessions",
                        float(current.sessions),
                        float(previous.sessions),
                        float(MIN_SESSIONS),
                    ),
                    MetricInputView(
                        "orders",
                        float(current.orders),
                        float(previous.orders),
                        float(MIN_PREVIOUS_ORDERS),
                    ),
                ),
                reasoning=(
                    f"Orders per session fell {percent(drop)} against {previous_span(period)}, "
                    f"more than the {percent(threshold)} that makes a drop {severity.value}, "
                    f"with at least {count(MIN_SESSIONS)} sessions in both ranges."
                ),
            )
        ]


RULE = ConversionDrop()
