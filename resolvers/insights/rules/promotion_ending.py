"""PROMOTION_ENDING: one of the store's promotions in effect now ends within 48 hours.

Not range-based: it looks at `now` and the store's promotions (the caller
hands over those in effect that end within 48 hours; the rule checks again,
so it stays right whatever it is given). One finding per promotion, soonest
first as given, so the creator can extend it or plan what follows before it lapses.

Thresholds (version 1):

- `WITHIN = 48 hours`: two days is enough notice to extend a promotion or
  line up the next one, and short enough not to nag about every promotion
  all week.
- `WARNING_WITHIN = 24 hours`: within a day it is WARNING (act now); between
  24 and 48 hours INFO.

The subject is the promotion id; the period is the one UTC day it ends on,
so the insight keeps its id (and a dismissal holds) until it ends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from resolvers.insights.model import (
    Finding,
    InsightInputs,
    InsightKind,
    InsightSeverity,
    MetricInputView,
    Period,
)
from resolvers.insights.rules.wording import rounded

WITHIN = timedelta(hours=48)
WARNING_WITHIN = timedelta(hours=24)
HOUR = timedelta(hours=1)


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_left(left: timedelta) -> str:
    """ "in 5 hours", "in 1 hour", "in less than an hour" (whole hours, rounded down)."""
    hours = left // HOUR
    if hours == 0:
        return "in less than an hour"
    return f"in {hours} hour" if hours == 1 else f"in {hours} hours"


class PromotionEnding:
    """Promotions of the store in effect now that end within 48 hours."""

    kind: InsightKind = InsightKind.PROMOTION_ENDING
    name: str = "promotion-ending"
    version: int = 1
    range_based: bool = False

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        now = utc(inputs.now)
        findings: list[Finding] = []
        for promotion in inputs.ending_promotions:
            if promotion.ends_at is None or not promotion.active:
                continue
            if promotion.starts_at is not None and utc(promotion.starts_at) > now:
                continue
            ends = utc(promotion.ends_at)
            left = ends - now
            if not timedelta(0) < left <= WITHIN:
                continue
            if left <= WARNING_WITHIN:
                severity, threshold = InsightSeverity.WARNING, WARNING_WITHIN
            else:
                severity, threshold = InsightSeverity.INFO, WITHIN
            hours = Decimal(left.total_seconds()) / 3600
            when = time_left(left)
            findings.append(
                Finding(
                    kind=self.kind,
                    severity=severity,
                    subject=promotion.id,
                    period=Period(ends.date(), ends.date()),
                    title=f"Promotion ends {when}",
                    message=(
                        f"“{promotion.name}” ends {when}, at {ends:%Y-%m-%d %H:%M} UTC. "
                        "Extend it or plan what follows."
                    ),
                    inputs=(MetricInputView("hours_left", rounded(hours), None, threshold / HOUR),),
                    reasoning=(
                        f"The promotion is in effect and ends {when}, within the "
                        f"{threshold // HOUR} hours that make its ending {severity.value}."
                    ),
                    urgency=-left.total_seconds(),  # sooner is more urgent
                )
            )
        return findings


RULE = PromotionEnding()
