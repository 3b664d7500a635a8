"""Pure metrics rules: what an order adds to its store's day, what a cancel takes back.

Orders are plain dicts shaped like `insight_orders` rows and customers'
order days plain sorted lists, so the projection can load a batch's rows
once, fold every event over them in memory, and write the summed deltas
back set-wise. Nothing here does I/O.

Money is kept at one fixed scale (6 places, the most an amount may carry):
sums are exact, and a day's stored revenue has the same digits however the
log was cut into batches, live or on a rebuild.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

Row = dict[str, Any]
DayKey = tuple[str, date]  # (store id, day)
ProductDayKey = tuple[str, date, str]  # (store id, day, product id)
CustomerKey = tuple[str, str]  # (store id, customer id)

MONEY_PLACES = Decimal("0.000001")
ZERO = Decimal("0.000000")


def money(amount: str | Decimal) -> Decimal:
    """An amount at the fixed scale; exact, since amounts carry at most 6 places."""
    return Decimal(amount).quantize(MONEY_PLACES)


def order_day(placed_at: str) -> date:
    """The UTC date an order counts on."""
    return datetime.fromisoformat(placed_at).astimezone(UTC).date()


def order_lines(lines: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """[[productId, units, revenue], ...] per distinct product, in first-line order;
    revenue (quantity x unit price) as a string, as `insight_orders.lines` keeps it."""
    summed: dict[str, tuple[int, Decimal]] = {}
    for line in lines:
        units, revenue = summed.get(line["productId"], (0, Decimal(0)))
        summed[line["productId"]] = (
            units + line["quantity"],
            revenue + line["quantity"] * money(line["unitPrice"]),
        )
    return [[product, units, str(money(revenue))] for product, (units, revenue) in summed.items()]


def new_order(order_id: str) -> Row:
    """An order not seen yet: nothing known, not cancelled."""
    return {
        "order_id": order_id,
        "store_id": None,
        "customer_id": None,
        "day": None,
        "total": None,
        "lines": None,
        "cancelled": False,
    }


def second_order_day(days: list[date]) -> date | None:
    """The day of a customer's second live order (of sorted days), if any."""
    return days[1] if len(days) > 1 else None


@dataclass(slots=True)
class DayDelta:
    """How much a store's day moves: summed over a batch's events."""

    revenue: Decimal = ZERO
    orders: int = 0
    units: int = 0
    new_repeat_customers: int = 0

    def is_zero(self) -> bool:
        return not (self.revenue or self.orders or self.units or self.new_repeat_customers)

    def shrinks(self) -> bool:
        """Some value goes down: the row may have become all zeros."""
        return self.revenue < 0 or min(self.orders, self.units, self.new_repeat_customers) < 0


@dataclass(slots=True)
class MetricsFold:
    """The effect of order and traffic events on per-store daily metrics.

    `customers` holds the live order days of the customers the batch touches
    (loaded by the projection; absent means none). `place` and `cancel`
    mutate the order row (so the projection writes it back) and commute: a
    cancel arriving first leaves a tombstone that makes the later place add
    nothing, and repeats of either are no-ops. Traffic is absolute: the
    last `record_traffic` of a store-day wins.
    """

    customers: dict[CustomerKey, list[date]] = field(default_factory=dict)
    days: dict[DayKey, DayDelta] = field(default_factory=dict)
    products: dict[ProductDayKey, tuple[int, Decimal]] = field(default_factory=dict)
    sessions: dict[DayKey, int] = field(default_factory=dict)
    changed_customers: set[CustomerKey] = field(default_factory=set)

    def place(self, order: Row, data: Mapping[str, Any]) -> None:
        if order["lines"] is not None:
            return  # placed twice under different event ids: count it once
        order.update(
            store_id=data["storeId"],
            customer_id=data["customerId"],
            day=order_day(data["placedAt"]),
            total=money(data["total"]),
            lines=order_lines(data["lines"]),
        )
        if not order["cancelled"]:
            self._count(order, 1)

    def cancel(self, order: Row) -> None:
        if order["cancelled"]:
            return
        order["cancelled"] = True
        if order["lines"] is not None:
            self._count(order, -1)

    def record_traffic(self, store_id: str, day: date, sessions: int) -> None:
        self.sessions[(store_id, day)] = sessions

    def _count(self, order: Row, sign: int) -> None:
        """Add (sign 1) or take back (sign -1) exactly what the order contributes."""
        store, day = order["store_id"], order["day"]
        delta = self.days.setdefault((store, day), DayDelta())
        delta.revenue += sign * Decimal(order["total"])
        delta.orders += sign
        for product, units, revenue in order["lines"]:
            delta.units += sign * units
            key = (store, day, product)
            old_units, old_revenue = self.products.get(key, (0, ZERO))
            self.products[key] = (old_units + sign * units, old_revenue + sign * Decimal(revenue))
        self._move_customer_day((store, order["customer_id"]), day, sign)

    def _move_customer_day(self, customer: CustomerKey, day: date, sign: int) -> None:
        """Add or remove one order day; if the second-order day moves, so does its count."""
        days = self.customers.setdefault(customer, [])
        before = second_order_day(days)
        if sign > 0:
            insort(days, day)
        else:
            days.remove(day)
        after = second_order_day(days)
        self.changed_customers.add(customer)
        if before != after:
            if before is not None:
                self.days.setdefault((customer[0], before), DayDelta()).new_repeat_customers -= 1
            if after is not None:
                self.days.setdefault((customer[0], after), DayDelta()).new_repeat_customers += 1

    def changed_days(self) -> dict[DayKey, DayDelta]:
        """Store-days whose sums move, in key order (place then cancel nets out)."""
        return {key: d for key, d in sorted(self.days.items()) if not d.is_zero()}

    def changed_products(self) -> dict[ProductDayKey, tuple[int, Decimal]]:
        """Store-day-products whose sums move, in key order."""
        return {key: d for key, d in sorted(self.products.items()) if d[0] or d[1]}
