"""The pure metrics rules: an order's contribution, place/cancel folding, traffic, and
the exact second-order day of repeat customers under any batching."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from readmodels.insights.folds import (
    ZERO,
    CustomerKey,
    DayDelta,
    MetricsFold,
    Row,
    money,
    new_order,
    order_day,
    order_lines,
)

D1, D2, D3, D4 = (date(2026, 3, d) for d in (1, 2, 3, 4))

# ("place", order id, payload) | ("cancel", order id, None) | ("traffic", store, (day, sessions))
Event = tuple[str, str, Any]
Day = tuple[Decimal, int, int, int, int]  # revenue, orders, units, sessions, new repeat customers
Tables = tuple[dict[tuple[str, date], Day], dict[tuple[str, date, str], tuple[int, Decimal]]]


def payload(
    store: str, customer: str, day: date, lines: Sequence[tuple[str, int, str]], total: str
) -> dict[str, Any]:
    return {
        "storeId": store,
        "customerId": customer,
        "placedAt": f"{day.isoformat()}T12:00:00Z",
        "lines": [{"productId": p, "quantity": q, "unitPrice": u} for p, q, u in lines],
        "total": total,
    }


def placed(fold: MetricsFold, order_id: str, data: dict[str, Any]) -> Row:
    order = new_order(order_id)
    fold.place(order, data)
    return order


def repeat_counts(fold: MetricsFold) -> dict[tuple[str, date], int]:
    return {k: d.new_repeat_customers for k, d in fold.changed_days().items()}


def test_an_order_counts_on_its_utc_date() -> None:
    """placedAt with an offset counts on the UTC date it falls on."""
    assert order_day("2026-03-01T23:30:00-02:00") == D2
    assert order_day("2026-03-01T23:30:00Z") == D1


def test_order_lines_sum_units_and_revenue_per_product() -> None:
    """Lines of one product merge: units summed, revenue quantity x unit price, fixed scale."""
    lines = [
        {"productId": "b", "quantity": 2, "unitPrice": "1.5"},
        {"productId": "a", "quantity": 1, "unitPrice": "0.125"},
        {"productId": "b", "quantity": 3, "unitPrice": "2"},
    ]
    assert order_lines(lines) == [["b", 5, "9.000000"], ["a", 1, "0.125000"]]


def test_placing_adds_revenue_orders_units_and_products_once() -> None:
    """A placement adds the order's total, one order, its units and its product sales; a
    second placement of the same order (another event id) adds nothing."""
    fold = MetricsFold()
    order = placed(fold, "o1", payload("s1", "c1", D1, [("a", 2, "3.50"), ("b", 1, "4")], "12.00"))
    fold.place(order, payload("s2", "c2", D2, [("z", 9, "9")], "81"))
    assert order == {
        "order_id": "o1",
        "store_id": "s1",
        "customer_id": "c1",
        "day": D1,
        "total": Decimal("12.000000"),
        "lines": [["a", 2, "7.000000"], ["b", 1, "4.000000"]],
        "cancelled": False,
    }
    assert fold.changed_days() == {("s1", D1): DayDelta(Decimal("12"), 1, 3, 0)}
    assert fold.changed_products() == {
        ("s1", D1, "a"): (2, Decimal("7")),
        ("s1", D1, "b"): (1, Decimal("4")),
    }
    assert fold.customers == {("s1", "c1"): [D1]}


def test_cancelling_takes_back_exactly_what_the_place_added_once() -> None:
    """A cancellation subtracts the order's contribution; cancelling again is a no-op."""
    fold = MetricsFold()
    stored = placed(fold, "o1", payload("s1", "c1", D1, [("a", 2, "3.50")], "7.99"))
    later = MetricsFold(customers={("s1", "c1"): [D1]})
    later.cancel(stored)
    later.cancel(stored)
    assert stored["cancelled"] is True
    assert later.changed_days() == {("s1", D1): DayDelta(Decimal("-7.99"), -1, -2, 0)}
    assert later.changed_products() == {("s1", D1, "a"): (-2, Decimal("-7"))}
    assert later.customers == {("s1", "c1"): []}
    assert later.changed_customers == {("s1", "c1")}


def test_a_cancel_before_its_place_leaves_a_tombstone() -> None:
    """A cancellation that arrives first makes the later placement count nothing."""
    fold = MetricsFold()
    order = new_order("o1")
    fold.cancel(order)
    fold.place(order, payload("s1", "c1", D1, [("a", 1, "1")], "1"))
    assert (order["cancelled"], order["day"], order["lines"]) == (True, D1, [["a", 1, "1.000000"]])
    assert (fold.changed_days(), fold.changed_products(), fold.customers) == ({}, {}, {})


def test_traffic_sets_sessions_and_the_last_event_wins() -> None:
    """StoreTrafficRecorded is absolute per store-day: a later event replaces an earlier one."""
    fold = MetricsFold()
    fold.record_traffic("s1", D1, 40)
    fold.record_traffic("s1", D2, 7)
    fold.record_traffic("s1", D1, 25)
    assert fold.sessions == {("s1", D1): 25, ("s1", D2): 7}
    assert fold.changed_days() == {}


def test_a_customer_counts_as_new_repeat_on_their_second_order_day() -> None:
    """Orders on days 1, 3 and 4 make the customer a new repeat customer of day 3 only;
    two orders on one day make that day their second-order day."""
    fold = MetricsFold()
    for order_id, day in (("o1", D1), ("o3", D3), ("o4", D4)):
        placed(fold, order_id, payload("s1", "c1", day, [("a", 1, "1")], "1"))
    placed(fold, "o5", payload("s1", "c2", D2, [("a", 1, "1")], "1"))
    placed(fold, "o6", payload("s1", "c2", D2, [("a", 1, "1")], "1"))
    assert repeat_counts(fold) == {("s1", D1): 0, ("s1", D2): 1, ("s1", D3): 1, ("s1", D4): 0}
    assert fold.customers == {("s1", "c1"): [D1, D3, D4], ("s1", "c2"): [D2, D2]}


def test_cancelling_moves_the_second_order_day() -> None:
    """Cancelling the second order moves the count to the third order's day; cancelling the
    first leaves one order, so the customer is no longer a repeat customer."""
    setup = MetricsFold()
    orders = {
        order_id: placed(setup, order_id, payload("s1", "c1", day, [("a", 1, "1")], "1"))
        for order_id, day in (("o1", D1), ("o3", D3), ("o4", D4))
    }
    fold = MetricsFold(customers={("s1", "c1"): [D1, D3, D4]})
    fold.cancel(orders["o3"])
    moved = {k: d.new_repeat_customers for k, d in fold.days.items()}
    fold.cancel(orders["o1"])
    assert moved == {("s1", D3): -1, ("s1", D4): 1}
    assert {k: d.new_repeat_customers for k, d in fold.days.items()} == {
        ("s1", D1): 0,
        ("s1", D3): -1,
        ("s1", D4): 0,
    }
    assert fold.customers == {("s1", "c1"): [D4]}


def test_an_earlier_order_moves_the_second_order_day_back() -> None:
    """A customer with orders on days 3 and 4 who gets an order placed for day 1 becomes a
    repeat customer of day 3 instead of day 4."""
    fold = MetricsFold(customers={("s1", "c1"): [D3, D4]})
    placed(fold, "o1", payload("s1", "c1", D1, [("a", 1, "1")], "1"))
    assert {k: d.new_repeat_customers for k, d in fold.days.items()} == {
        ("s1", D1): 0,
        ("s1", D3): 1,
        ("s1", D4): -1,
    }


# --- Any batching equals a recount ------------------------------------------------------

ORDER_IDS = ["o1", "o2", "o3", "o4", "o5", "o6"]
PRICES = st.sampled_from(["1", "2.5", "0.125", "19.99", "0.000001", "3.10"])
LINES = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 3), PRICES), min_size=1, max_size=3
)
PAYLOADS = st.builds(
    payload,
    st.sampled_from(["s1", "s2"]),
    st.sampled_from(["c1", "c2", "c3"]),
    st.sampled_from([D1, D2, D3, D4]),
    LINES,
    st.sampled_from(["5", "7.25", "0.50", "100.000001"]),
)
EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.sampled_from(ORDER_IDS), PAYLOADS),
        st.tuples(st.just("cancel"), st.sampled_from(ORDER_IDS), st.none()),
        st.tuples(
            st.just("traffic"),
            st.sampled_from(["s1", "s2"]),
            st.tuples(st.sampled_from([D1, D2, D3]), st.integers(0, 3)),
        ),
    ),
    max_size=40,
)


class Store:
    """What the projection keeps between batches, minus the SQL."""

    def __init__(self) -> None:
        self.orders: dict[str, Row] = {}
        self.customers: dict[CustomerKey, list[date]] = {}
        self.days: dict[tuple[str, date], list[Any]] = {}
        self.products: dict[tuple[str, date, str], tuple[int, Decimal]] = {}

    def apply(self, batch: Sequence[Event]) -> None:
        """Load copies of the rows the batch touches, fold, then write deltas and drop zeros."""
        orders = {e[1]: dict(self.orders[e[1]]) for e in batch if e[1] in self.orders}
        fold = MetricsFold(customers={k: list(v) for k, v in self.customers.items()})
        for kind, key, data in batch:
            if kind == "traffic":
                fold.record_traffic(key, *data)
                continue
            order = orders.setdefault(key, new_order(key))
            if kind == "place":
                fold.place(order, data)
            else:
                fold.cancel(order)
        self.orders.update(orders)
        for customer in fold.changed_customers:
            self.customers[customer] = fold.customers[customer]
        for day_key, d in fold.changed_days().items():
            row = self.days.setdefault(day_key, [ZERO, 0, 0, 0, 0])
            row[0] += d.revenue
            row[1] += d.orders
            row[2] += d.units
            row[4] += d.new_repeat_customers
        for day_key, sessions in fold.sessions.items():
            self.days.setdefault(day_key, [ZERO, 0, 0, 0, 0])[3] = sessions
        for product_key, (units, revenue) in fold.changed_products().items():
            old_units, old_revenue = self.products.get(product_key, (0, ZERO))
            self.products[product_key] = (old_units + units, old_revenue + revenue)

    def tables(self) -> Tables:
        days = {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in self.days.items() if any(v)}
        products = {k: v for k, v in self.products.items() if any(v)}
        return days, products


def project(events: Sequence[Event], cuts: Sequence[bool]) -> Tables:
    """Tables after folding `events` in batches ending where `cuts` is true."""
    store = Store()
    batch: list[Event] = []
    for event, cut in zip(events, [*cuts, *[False] * len(events)], strict=False):
        batch.append(event)
        if cut:
            store.apply(batch)
            batch = []
    store.apply(batch)
    return store.tables()


def recount(events: Sequence[Event]) -> Tables:
    """From scratch: first placements of orders never cancelled, last traffic per day, and
    each customer's second live order day."""
    first: dict[str, dict[str, Any]] = {}
    cancelled: set[str] = set()
    sessions: dict[tuple[str, date], int] = {}
    for kind, key, data in events:
        if kind == "place":
            first.setdefault(key, data)
        elif kind == "cancel":
            cancelled.add(key)
        else:
            sessions[(key, data[0])] = data[1]
    days: dict[tuple[str, date], list[Any]] = {}
    products: dict[tuple[str, date, str], tuple[int, Decimal]] = {}
    customer_days: dict[tuple[str, str], list[date]] = {}

    def row(store: str, day: date) -> list[Any]:
        return days.setdefault((store, day), [ZERO, 0, 0, 0, 0])

    for order_id, data in first.items():
        if order_id in cancelled:
            continue
        store, day = data["storeId"], date.fromisoformat(data["placedAt"][:10])
        entry = row(store, day)
        entry[0] += Decimal(data["total"])
        entry[1] += 1
        for line in data["lines"]:
            entry[2] += line["quantity"]
            product_key = (store, day, line["productId"])
            units, revenue = products.get(product_key, (0, Decimal(0)))
            products[product_key] = (
                units + line["quantity"],
                revenue + line["quantity"] * Decimal(line["unitPrice"]),
            )
        customer_days.setdefault((store, data["customerId"]), []).append(day)
    for (store, _), order_days in customer_days.items():
        if len(order_days) > 1:
            row(store, sorted(order_days)[1])[4] += 1
    for day_key, n in sessions.items():
        row(*day_key)[3] = n
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in days.items() if any(v)}, products


@given(EVENTS, st.lists(st.booleans(), max_size=40))
def test_any_batching_gives_the_totals_of_a_recount(events: list[Event], cuts: list[bool]) -> None:
    """Folding any interleaving of place, cancel and traffic events in any batches gives
    exactly a recount's day and product totals, at one fixed money scale."""
    days, products = project(events, cuts)
    assert (days, products) == recount(events)
    exponents = {v[0].as_tuple().exponent for v in days.values()}
    exponents |= {v[1].as_tuple().exponent for v in products.values()}
    assert exponents <= {-6}


@given(
    st.dictionaries(st.sampled_from(ORDER_IDS), PAYLOADS, max_size=6),
    st.sets(st.sampled_from(ORDER_IDS)),
    st.randoms(use_true_random=False),
)
def test_the_order_of_places_and_cancels_does_not_matter(
    orders: dict[str, dict[str, Any]], cancelled: set[str], rng: random.Random
) -> None:
    """The same placements (each twice) and cancellations in any order and batching count
    the same, second-order days included."""
    events: list[Event] = [("place", o, p) for o, p in orders.items()] * 2
    events += [("cancel", o, None) for o in sorted(cancelled)]
    shuffled = list(events)
    rng.shuffle(shuffled)
    cuts = [rng.random() < 0.5 for _ in shuffled]
    assert project(shuffled, cuts) == project(events, []) == recount(events)


def test_money_keeps_six_places() -> None:
    """Amounts are held at 6 decimal places, so sums have the same digits in any order."""
    assert str(money("19.9")) == "19.900000"
    assert str(money(Decimal("0.000001"))) == "0.000001"
