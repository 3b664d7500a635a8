"""Immutable metric and insight-state rows for the read side."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple


class DayRow(NamedTuple):
    """One store's day; days without orders or traffic have no row (read as zeros)."""

    day: date
    revenue: Decimal
    orders: int
    units: int
    sessions: int
    new_repeat_customers: int


class ProductSalesRow(NamedTuple):
    """One product's live sales over a range."""

    product_id: str
    units: int
    revenue: Decimal


class InsightStateRow(NamedTuple):
    insight_id: str
    seen_at: datetime | None
    dismissed_at: datetime | None
