"""What the rules pipeline reads and returns: plain data, no I/O.

`InsightInputs` holds everything every rule may look at for one creator and
one range: the range's metrics and the previous range's of equal length, the
stock of the range's best sellers, and the store's promotions ending soon.
A rule returns `Finding`s; the pipeline gives each its stable id (kind,
creator, subject and period: the same rule firing for the same creator,
subject and period yields the same id, so a dismissal holds when insights
are recomputed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple, Protocol

from readmodels.insights.rows import DayRow, ProductSalesRow
from readmodels.pricing.rows import PromotionRow

MAX_RANGE_DAYS = 366
# The days a dashboard range may cover: a range and the previous one of equal
# length must both be real dates, and no shop sold anything before 1970.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
DEFAULT_RANGE_DAYS = 7
"""The dashboard's range when none is asked for: the last week, today included, which is
what insights about acting now compare (a month dilutes a week's drop into noise)."""


class InsightKind(Enum):
    REVENUE_DROP = "REVENUE_DROP"
    REVENUE_SPIKE = "REVENUE_SPIKE"
    TOP_PRODUCT_SURGE = "TOP_PRODUCT_SURGE"
    LOW_STOCK_BESTSELLER = "LOW_STOCK_BESTSELLER"
    CONVERSION_DROP = "CONVERSION_DROP"
    PROMOTION_ENDING = "PROMOTION_ENDING"
    NEW_REPEAT_CUSTOMERS = "NEW_REPEAT_CUSTOMERS"


class InsightSeverity(Enum):
    """Ordered: CRITICAL is the most severe."""

    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {InsightSeverity.INFO: 0, InsightSeverity.WARNING: 1, InsightSeverity.CRITICAL: 2}


class Period(NamedTuple):
    """Whole UTC days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The range of equal length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]


class RangeMetrics(NamedTuple):
    """A store's metrics over a period: every day of it (zeros where nothing happened)
    and every product sold, by revenue descending then id (the list is complete: a
    product absent from it sold nothing)."""

    period: Period
    days: tuple[DayRow, ...]
    products: tuple[ProductSalesRow, ...]

    @property
    def revenue(self) -> Decimal:
        return sum((d.revenue for d in self.days), Decimal(0))

    @property
    def orders(self) -> int:
        return sum(d.orders for d in self.days)

    @property
    def units(self) -> int:
        return sum(d.units for d in self.days)

    @property
    def sessions(self) -> int:
        return sum(d.sessions for d in self.days)

    @property
    def new_repeat_customers(self) -> int:
        return sum(d.new_repeat_customers for d in self.days)


class InsightInputs(NamedTuple):
    creator_id: str
    store_id: str
    currency: str
    now: datetime
    current: RangeMetrics
    previous: RangeMetrics
    # Units available now of the current range's best sellers (up to 10, by revenue).
    stock: Mapping[str, int]
    # The store's promotions in effect now that end within 48 hours, soonest first.
    ending_promotions: Sequence[PromotionRow]
    # Titles of the best sellers whose stock is known, for messages a creator reads.
    product_titles: Mapping[str, str] = MappingProxyType({})


def product_name(inputs: InsightInputs, product_id: str) -> str:
    """How a message names a product: its title, quoted, or its id when unknown."""
    title = inputs.product_titles.get(product_id)
    return f"“{title}”" if title else f"Product {product_id}"


class MetricInputView(NamedTuple):
    name: str
    value: float
    baseline: float | None
    threshold: float | None


class Finding(NamedTuple):
    """One insight a rule fired: what the creator reads, and why (for explain)."""

    kind: InsightKind
    severity: InsightSeverity
    subject: str  # what it is about: the store, a product id, a promotion id
    period: Period  # the period it speaks of (part of its id)
    title: str
    message: str
    inputs: tuple[MetricInputView, ...]
    reasoning: str
    # Among findings of one severity and kind, the more urgent shows first (a
    # promotion ending in 1 hour before one ending in 17).
    urgency: float = 0.0


class Rule(Protocol):
    """A versioned rule: `evaluate` is a pure function of the inputs."""

    kind: InsightKind
    name: str  # e.g. "revenue-drop"
    version: int
    # Range-based rules compare the dashboard's range; the others look at `now`.
    range_based: bool

    def evaluate(self, inputs: InsightInputs) -> list[Finding]: ...
