"""The insight rules by example: exact findings at, just below and just above each threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from readmodels.insights.rows import DayRow, ProductSalesRow
from readmodels.pricing.rows import PromotionKind, PromotionRow
from resolvers.insights.model import (
    Finding,
    InsightInputs,
    InsightKind,
    InsightSeverity,
    MetricInputView,
    Period,
    RangeMetrics,
    Rule,
)
from resolvers.insights.rules import (
    conversion_drop,
    low_stock_bestseller,
    new_repeat_customers,
    promotion_ending,
    revenue_drop,
    revenue_spike,
    top_product_surge,
)
from resolvers.insights.rules.wording import money

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))
PREVIOUS = PERIOD.previous()
ZERO = Decimal(0)

CRITICAL = InsightSeverity.CRITICAL
WARNING = InsightSeverity.WARNING
INFO = InsightSeverity.INFO


def metrics(
    period: Period,
    *,
    revenue: str = "0",
    orders: int = 0,
    sessions: int = 0,
    new_repeat: int = 0,
    products: Sequence[tuple[str, int, str]] = (),
) -> RangeMetrics:
    """A range whose totals all fall on its first day (rules only read totals)."""
    first, *rest = period.each_day()
    days = (
        DayRow(first, Decimal(revenue), orders, orders, sessions, new_repeat),
        *(DayRow(day, ZERO, 0, 0, 0, 0) for day in rest),
    )
    sales = tuple(ProductSalesRow(p, units, Decimal(rev)) for p, units, rev in products)
    return RangeMetrics(period, days, sales)


def inputs(
    current: RangeMetrics | None = None,
    previous: RangeMetrics | None = None,
    *,
    currency: str = "EUR",
    stock: Mapping[str, int] | None = None,
    ending: Sequence[PromotionRow] = (),
) -> InsightInputs:
    return InsightInputs(
        creator_id="cr-2",
        store_id="s-2",
        currency=currency,
        now=NOW,
        current=current or metrics(PERIOD),
        previous=previous or metrics(PREVIOUS),
        stock=stock or {},
        ending_promotions=ending,
    )


def revenues(
    current: str, previous: str, *, orders: int = 50, currency: str = "EUR"
) -> InsightInputs:
    return inputs(
        metrics(PERIOD, revenue=current, orders=orders),
        metrics(PREVIOUS, revenue=previous, orders=orders),
        currency=currency,
    )


def severities(rule: Rule, given: InsightInputs) -> list[InsightSeverity]:
    return [finding.severity for finding in rule.evaluate(given)]


# ---------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("rule", "kind", "name", "range_based"),
    [
        (revenue_drop.RULE, InsightKind.REVENUE_DROP, "revenue-drop", True),
        (revenue_spike.RULE, InsightKind.REVENUE_SPIKE, "revenue-spike", True),
        (top_product_surge.RULE, InsightKind.TOP_PRODUCT_SURGE, "top-product-surge", True),
        (low_stock_bestseller.RULE, InsightKind.LOW_STOCK_BESTSELLER, "low-stock-bestseller", True),
        (conversion_drop.RULE, InsightKind.CONVERSION_DROP, "conversion-drop", True),
        (promotion_ending.RULE, InsightKind.PROMOTION_ENDING, "promotion-ending", False),
        (new_repeat_customers.RULE, InsightKind.NEW_REPEAT_CUSTOMERS, "new-repeat-customers", True),
    ],
)
def test_every_rule_names_its_kind_and_version(
    rule: Rule, kind: InsightKind, name: str, range_based: bool
) -> None:
    """Each module's rule declares its kind, a kebab-case name, version 1 and whether it is range-based."""
    assert (rule.kind, rule.name, rule.version, rule.range_based) == (kind, name, 1, range_based)


@pytest.mark.parametrize(
    "rule",
    [
        revenue_drop.RULE,
        revenue_spike.RULE,
        top_product_surge.RULE,
        low_stock_bestseller.RULE,
        conversion_drop.RULE,
        promotion_ending.RULE,
        new_repeat_customers.RULE,
    ],
)
def test_no_rule_fires_on_a_store_without_activity(rule: Rule) -> None:
    """A store with no orders, traffic, stock or promotions gets no insight at all."""
    assert rule.evaluate(inputs()) == []


# ---------------------------------------------------------------- REVENUE_DROP


def test_revenue_drop_finding_is_exact() -> None:
    """A 62% fall is CRITICAL, with the store as subject, the range as period, money in the currency."""
    [finding] = revenue_drop.RULE.evaluate(revenues("1234.50", "3250.00", orders=60))
    assert finding == Finding(
        kind=InsightKind.REVENUE_DROP,
        severity=CRITICAL,
        subject="s-2",
        period=PERIOD,
        title="Revenue down 62%",
        message=(
            "Revenue from 2026-11-16 to 2026-11-22 was 1,234.50 EUR, down 62% from "
            "3,250.00 EUR in the previous 7 days."
        ),
        inputs=(
            MetricInputView("revenue", 1234.5, 3250.0, 2437.5),
            MetricInputView("revenue_change_percent", -62.0, None, -25.0),
            MetricInputView("previous_orders", 60.0, None, 50.0),
        ),
        reasoning=(
            "Revenue fell 62% against the previous 7 days, more than the 50% that makes a drop "
            "CRITICAL, over a baseline of 60 orders (at least 50 needed)."
        ),
    )


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("75.01", []),  # down 24.99%
        ("75.00", []),  # down exactly 25%: not more than the threshold
        ("74.99", [WARNING]),  # down 25.01%
        ("50.00", [WARNING]),  # down exactly 50%
        ("49.99", [CRITICAL]),  # down 50.01%
        ("100.00", []),
        ("180.00", []),  # a rise is never a drop
    ],
)
def test_revenue_drop_severity_ladder(current: str, expected: list[InsightSeverity]) -> None:
    """More than 25% down is WARNING and more than 50% CRITICAL; the thresholds themselves do not fire."""
    assert severities(revenue_drop.RULE, revenues(current, "100.00")) == expected


@pytest.mark.parametrize(("orders", "expected"), [(49, []), (50, [CRITICAL])])
def test_revenue_drop_needs_fifty_previous_orders(
    orders: int, expected: list[InsightSeverity]
) -> None:
    """A previous range of fewer than 50 orders is no baseline: a small store's swings stay quiet."""
    assert severities(revenue_drop.RULE, revenues("10.00", "100.00", orders=orders)) == expected


def test_revenue_drop_skips_a_previous_range_without_revenue() -> None:
    """Orders that earned nothing (all free) give no percentage to compare against."""
    assert revenue_drop.RULE.evaluate(revenues("0", "0")) == []


def test_revenue_drop_message_uses_the_store_currency() -> None:
    """A yen store reads whole yen with its code; a dollar store cents and USD."""
    [yen] = revenue_drop.RULE.evaluate(revenues("120400", "300000", currency="JPY"))
    [usd] = revenue_drop.RULE.evaluate(revenues("10.005", "1000", currency="USD"))
    assert yen.message == (
        "Revenue from 2026-11-16 to 2026-11-22 was 120,400 JPY, down 60% from 300,000 JPY "
        "in the previous 7 days."
    )
    assert usd.message == (
        "Revenue from 2026-11-16 to 2026-11-22 was 10.01 USD, down 99% from 1,000.00 USD "
        "in the previous 7 days."
    )


def test_money_rounds_half_up_to_the_currency_decimals() -> None:
    """Money shows two decimals (one half rounds up), none for zero-decimal currencies."""
    assert money(Decimal("1234567.125"), "EUR") == "1,234,567.13 EUR"
    assert money(Decimal("0.5"), "JPY") == "1 JPY"
    assert money(Decimal(0), "XXX") == "0.00 XXX"


# ---------------------------------------------------------------- REVENUE_SPIKE


def test_revenue_spike_finding_is_exact() -> None:
    """A rise of 85% is INFO, worded with both totals and the rounded percentage."""
    [finding] = revenue_spike.RULE.evaluate(revenues("1850.00", "1000.00", orders=80))
    assert finding == Finding(
        kind=InsightKind.REVENUE_SPIKE,
        severity=INFO,
        subject="s-2",
        period=PERIOD,
        title="Revenue up 85%",
        message=(
            "Revenue from 2026-11-16 to 2026-11-22 was 1,850.00 EUR, up 85% from 1,000.00 EUR "
            "in the previous 7 days."
        ),
        inputs=(
            MetricInputView("revenue", 1850.0, 1000.0, 1500.0),
            MetricInputView("revenue_change_percent", 85.0, None, 50.0),
            MetricInputView("previous_orders", 80.0, None, 50.0),
        ),
        reasoning=(
            "Revenue rose 85% against the previous 7 days, more than the 50% that makes a spike "
            "INFO, over a baseline of 80 orders (at least 50 needed)."
        ),
    )


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("149.99", []),
        ("150.00", []),  # up exactly 50%
        ("150.01", [INFO]),
        ("300.00", [INFO]),  # up exactly 200%
        ("300.01", [WARNING]),
        ("20.00", []),  # a fall is never a spike
    ],
)
def test_revenue_spike_severity_ladder(current: str, expected: list[InsightSeverity]) -> None:
    """More than 50% up is INFO and more than tripled WARNING; the thresholds themselves do not fire."""
    assert severities(revenue_spike.RULE, revenues(current, "100.00")) == expected


def test_revenue_spike_warning_asks_to_check_stock() -> None:
    """A revenue that more than tripled tells the creator to check stock and fulfilment."""
    [finding] = revenue_spike.RULE.evaluate(revenues("400.00", "100.00"))
    assert finding.message == (
        "Revenue from 2026-11-16 to 2026-11-22 was 400.00 EUR, up 300% from 100.00 EUR in the "
        "previous 7 days. Check that stock and fulfilment can keep up."
    )


@pytest.mark.parametrize(("orders", "expected"), [(49, []), (50, [WARNING])])
def test_revenue_spike_needs_fifty_previous_orders(
    orders: int, expected: list[InsightSeverity]
) -> None:
    """A previous range of fewer than 50 orders makes no spike."""
    assert severities(revenue_spike.RULE, revenues("1000", "100", orders=orders)) == expected


# ---------------------------------------------------------------- CONVERSION_DROP


def traffic(
    orders: int, sessions: int, before: int = 100, before_sessions: int = 2000
) -> InsightInputs:
    return inputs(
        metrics(PERIOD, orders=orders, sessions=sessions),
        metrics(PREVIOUS, orders=before, sessions=before_sessions),
    )


def test_conversion_drop_finding_is_exact() -> None:
    """From 5% to 3.7% of sessions is a 26% fall: WARNING, with rates, orders and sessions."""
    [finding] = conversion_drop.RULE.evaluate(traffic(74, 2000))
    assert finding == Finding(
        kind=InsightKind.CONVERSION_DROP,
        severity=WARNING,
        subject="s-2",
        period=PERIOD,
        title="Conversion down 26%",
        message=(
            "3.7% of visits became orders from 2026-11-16 to 2026-11-22 (74 orders from 2,000 "
            "sessions), down from 5.0% in the previous 7 days."
        ),
        inputs=(
            MetricInputView("conversion_rate_percent", 3.7, 5.0, 3.75),
            MetricInputView("sessions", 2000.0, 2000.0, 1000.0),
            MetricInputView("orders", 74.0, 100.0, 50.0),
        ),
        reasoning=(
            "Orders per session fell 26% against the previous 7 days, more than the 25% that "
            "makes a drop WARNING, with at least 1,000 sessions in both ranges."
        ),
    )


@pytest.mark.parametrize(
    ("orders", "expected"),
    [(76, []), (75, []), (74, [WARNING]), (50, [WARNING]), (49, [CRITICAL]), (120, [])],
)
def test_conversion_drop_severity_ladder(orders: int, expected: list[InsightSeverity]) -> None:
    """Against 5%: 3.75% (exactly 25% down) is quiet, below it WARNING, below 2.5% CRITICAL."""
    assert severities(conversion_drop.RULE, traffic(orders, 2000)) == expected


@pytest.mark.parametrize(
    ("sessions", "before_sessions", "before", "expected"),
    [
        (999, 2000, 100, []),  # too little current traffic (or not reported yet)
        (1000, 2000, 100, [CRITICAL]),
        (2000, 999, 50, []),  # too little previous traffic
        (2000, 1000, 49, []),  # too few previous orders
        (2000, 1000, 50, [CRITICAL]),
    ],
)
def test_conversion_drop_needs_traffic_and_orders(
    sessions: int, before_sessions: int, before: int, expected: list[InsightSeverity]
) -> None:
    """Both ranges need 1,000 sessions and the previous one 50 orders before a rate is compared."""
    given = traffic(10, sessions, before=before, before_sessions=before_sessions)
    assert severities(conversion_drop.RULE, given) == expected


# ---------------------------------------------------------------- TOP_PRODUCT_SURGE


def sales(
    current: Sequence[tuple[str, int, str]], previous: Sequence[tuple[str, int, str]] = ()
) -> InsightInputs:
    return inputs(metrics(PERIOD, products=current), metrics(PREVIOUS, products=previous))


def test_top_product_surge_finding_is_exact() -> None:
    """The best seller whose units more than doubled is named with its rank and both unit counts."""
    given = sales(
        [("p-1", 50, "900.00"), ("p-7", 45, "450.00")], [("p-1", 40, "720"), ("p-7", 18, "180")]
    )
    assert top_product_surge.RULE.evaluate(given) == [
        Finding(
            kind=InsightKind.TOP_PRODUCT_SURGE,
            severity=INFO,
            subject="p-7",
            period=PERIOD,
            title="A best seller is taking off",
            message=(
                "Product p-7, your number 2 by revenue, sold 45 units from 2026-11-16 to "
                "2026-11-22, up 150% from 18 in the previous 7 days."
            ),
            inputs=(
                MetricInputView("units", 45.0, 18.0, 36.0),
                MetricInputView("sales_rank", 2.0, None, 5.0),
            ),
            reasoning=(
                "Units of the number 2 seller more than doubled (150% up) against the previous "
                "7 days, with at least 20 units sold."
            ),
        )
    ]


@pytest.mark.parametrize(
    ("units", "before", "expected"),
    [
        (39, 20, []),
        (40, 20, []),
        (41, 20, ["p-1"]),
        (19, 0, []),
        (20, 0, ["p-1"]),
        (20, 9, ["p-1"]),
    ],
)
def test_top_product_surge_thresholds(units: int, before: int, expected: list[str]) -> None:
    """More than twice the previous units and at least 20 of them; from none, 20 units suffice."""
    given = sales([("p-1", units, "100")], [("p-1", before, "50")] if before else [])
    assert [f.subject for f in top_product_surge.RULE.evaluate(given)] == expected


def test_top_product_surge_from_none_reads_after_none() -> None:
    """A product not sold at all before says so rather than an infinite percentage."""
    [finding] = top_product_surge.RULE.evaluate(sales([("p-9", 20, "100")]))
    assert finding.message == (
        "Product p-9, your number 1 by revenue, sold 20 units from 2026-11-16 to 2026-11-22, "
        "after none in the previous 7 days."
    )
    assert finding.inputs[0] == MetricInputView("units", 20.0, 0.0, 20.0)


def test_top_product_surge_only_looks_at_the_top_five() -> None:
    """A surge of the sixth seller by revenue is not a dashboard headline."""
    steady = [(f"p-{n}", 30, str(1000 - n)) for n in range(1, 6)]
    given = sales([*steady, ("p-6", 90, "10")], [(p, 30, r) for p, _, r in steady])
    assert top_product_surge.RULE.evaluate(given) == []


def test_top_product_surge_reports_the_best_selling_surge_only() -> None:
    """Of several surging products only the highest by revenue makes an insight."""
    given = sales([("p-1", 30, "900"), ("p-2", 80, "800"), ("p-3", 25, "700")])
    assert [f.subject for f in top_product_surge.RULE.evaluate(given)] == ["p-1"]


# ---------------------------------------------------------------- LOW_STOCK_BESTSELLER


def stocked(stock: Mapping[str, int], products: Sequence[tuple[str, int, str]]) -> InsightInputs:
    return inputs(metrics(PERIOD, products=products), stock=stock)


def test_low_stock_bestseller_finding_is_exact() -> None:
    """5 units left of a product selling 2 a day is 2.5 days of cover: CRITICAL, the product as subject."""
    [finding] = low_stock_bestseller.RULE.evaluate(stocked({"p-4": 5}, [("p-4", 14, "280.00")]))
    assert finding == Finding(
        kind=InsightKind.LOW_STOCK_BESTSELLER,
        severity=CRITICAL,
        subject="p-4",
        period=PERIOD,
        title="A best seller is running low",
        message=(
            "Product p-4, your number 1 by revenue, has 5 units left, about 2.5 days of sales "
            "at the pace of the 14 units it sold from 2026-11-16 to 2026-11-22."
        ),
        inputs=(
            MetricInputView("days_of_cover", 2.5, None, 7.0),
            MetricInputView("units_available", 5.0, None, None),
            MetricInputView("units_sold_per_day", 2.0, None, None),
        ),
        reasoning=(
            "The stock covers about 2.5 days at the range's sales rate, fewer than the 3 days that "
            "make a best seller's stock CRITICAL."
        ),
    )


@pytest.mark.parametrize(
    ("stock", "expected"),
    [
        (15, []),
        (14, []),
        (13, [WARNING]),
        (7, [WARNING]),
        (6, [WARNING]),
        (5, [CRITICAL]),
        (0, [CRITICAL]),
        (-3, [CRITICAL]),
    ],
)
def test_low_stock_bestseller_severity_ladder(stock: int, expected: list[InsightSeverity]) -> None:
    """At 2 units a day: 7 days of cover is quiet, less WARNING, less than 3 days (or none) CRITICAL."""
    given = stocked({"p-4": stock}, [("p-4", 14, "280.00")])
    assert severities(low_stock_bestseller.RULE, given) == expected


def test_low_stock_bestseller_sold_out() -> None:
    """A best seller with nothing left says it is sold out."""
    [finding] = low_stock_bestseller.RULE.evaluate(stocked({"p-4": 0}, [("p-4", 14, "280")]))
    assert (finding.title, finding.message) == (
        "A best seller is sold out",
        "Product p-4, your number 1 by revenue, is sold out at the pace of the 14 units it sold "
        "from 2026-11-16 to 2026-11-22.",
    )


@pytest.mark.parametrize(
    ("stock", "left"),
    [
        (1, "has 1 unit left, less than a day of sales"),
        (2, "has 2 units left, about 1 day of sales"),
        (3, "has 3 units left, about 1.5 days of sales"),
    ],
)
def test_low_stock_bestseller_words_the_cover(stock: int, left: str) -> None:
    """Cover under a day, of about one day and of more days reads naturally."""
    [finding] = low_stock_bestseller.RULE.evaluate(stocked({"p-4": stock}, [("p-4", 14, "280")]))
    assert finding.message == (
        f"Product p-4, your number 1 by revenue, {left} at the pace of the 14 units it sold "
        "from 2026-11-16 to 2026-11-22."
    )


def test_low_stock_bestseller_guards() -> None:
    """Fewer than 5 units sold, unknown stock, or a rank below the top five never fire."""
    top = [(f"p-{n}", 50, str(1000 - n)) for n in range(1, 6)]
    assert low_stock_bestseller.RULE.evaluate(stocked({"p-1": 0}, [("p-1", 4, "40")])) == []
    assert low_stock_bestseller.RULE.evaluate(stocked({}, [("p-1", 50, "40")])) == []
    given = stocked({"p-6": 0}, [*top, ("p-6", 50, "1")])
    assert low_stock_bestseller.RULE.evaluate(given) == []


def test_low_stock_bestseller_one_finding_per_product() -> None:
    """Two best sellers running low are two insights, in rank order."""
    given = stocked(
        {"p-1": 1, "p-2": 100, "p-3": 10}, [("p-1", 7, "90"), ("p-2", 7, "80"), ("p-3", 14, "70")]
    )
    assert [(f.subject, f.severity) for f in low_stock_bestseller.RULE.evaluate(given)] == [
        ("p-1", CRITICAL),
        ("p-3", WARNING),
    ]


# ---------------------------------------------------------------- PROMOTION_ENDING


def promotion(
    ends: datetime | None,
    *,
    id: str = "pr-7",
    active: bool = True,
    starts: datetime | None = NOW - timedelta(days=3),
) -> PromotionRow:
    return PromotionRow(
        id=id,
        store_id="s-2",
        name="Flash Sale: 10% off",
        description=None,
        kind=PromotionKind.PERCENT_OFF,
        value=Decimal(10),
        buy_quantity=None,
        get_quantity=None,
        starts_at=starts,
        ends_at=ends,
        priority=0,
        stackable=False,
        active=active,
        condition=None,
        first_position=1,
        version=1,
    )


def ending(*promotions: PromotionRow) -> list[Finding]:
    return promotion_ending.RULE.evaluate(inputs(ending=promotions))


def test_promotion_ending_finding_is_exact() -> None:
    """A promotion ending in 5 hours is WARNING, its id the subject and its end date the period."""
    [finding] = ending(promotion(NOW + timedelta(hours=5, minutes=20)))
    assert finding == Finding(
        kind=InsightKind.PROMOTION_ENDING,
        severity=WARNING,
        subject="pr-7",
        period=Period(date(2026, 11, 22), date(2026, 11, 22)),
        title="Promotion ends in 5 hours",
        message=(
            "“Flash Sale: 10% off” ends in 5 hours, at 2026-11-22 19:50 UTC. "
            "Extend it or plan what follows."
        ),
        inputs=(MetricInputView("hours_left", 5.3, None, 24.0),),
        reasoning=(
            "The promotion is in effect and ends in 5 hours, within the 24 hours that make its "
            "ending WARNING."
        ),
        urgency=-(5 * 3600 + 20 * 60),  # the sooner it ends, the earlier it shows
    )


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(0), []),  # ended
        (timedelta(seconds=1), [WARNING]),
        (timedelta(hours=24), [WARNING]),
        (timedelta(hours=24, seconds=1), [INFO]),
        (timedelta(hours=48), [INFO]),
        (timedelta(hours=48, seconds=1), []),
    ],
)
def test_promotion_ending_severity_ladder(left: timedelta, expected: list[InsightSeverity]) -> None:
    """Within 24 hours is WARNING, within 48 INFO, later or already over nothing."""
    assert [f.severity for f in ending(promotion(NOW + left))] == expected


def test_promotion_ending_period_is_the_utc_end_date() -> None:
    """The period is the one UTC day the promotion ends on, so its id holds until then."""
    [finding] = ending(promotion(NOW + timedelta(hours=30)))
    assert finding.period == Period(date(2026, 11, 23), date(2026, 11, 23))
    assert finding.title == "Promotion ends in 30 hours"
    assert finding.inputs == (MetricInputView("hours_left", 30.0, None, 48.0),)


def test_promotion_ending_wording_for_the_last_hours() -> None:
    """One hour left reads singular, less than an hour says so."""
    assert ending(promotion(NOW + timedelta(minutes=90)))[0].title == "Promotion ends in 1 hour"
    assert ending(promotion(NOW + timedelta(minutes=30)))[0].title == (
        "Promotion ends in less than an hour"
    )


def test_promotion_ending_skips_promotions_not_in_effect() -> None:
    """Inactive, not yet started or open-ended promotions are not ending."""
    soon = NOW + timedelta(hours=5)
    assert ending(promotion(soon, active=False)) == []
    assert ending(promotion(soon, starts=NOW + timedelta(hours=1))) == []
    assert ending(promotion(None)) == []


def test_promotion_ending_reads_naive_times_as_utc() -> None:
    """A naive end time is UTC, not the machine's local time."""
    [finding] = ending(promotion(datetime(2026, 11, 23, 1, 0), starts=None))
    assert (finding.title, finding.period.start) == (
        "Promotion ends in 10 hours",
        date(2026, 11, 23),
    )


def test_promotion_ending_one_finding_per_promotion() -> None:
    """Each promotion ending soon is its own insight, in the order given."""
    found = ending(
        promotion(NOW + timedelta(hours=2), id="pr-1"),
        promotion(NOW + timedelta(hours=40), id="pr-2"),
    )
    assert [(f.subject, f.severity) for f in found] == [("pr-1", WARNING), ("pr-2", INFO)]


# ---------------------------------------------------------------- NEW_REPEAT_CUSTOMERS


def repeats(current: int, previous: int) -> InsightInputs:
    return inputs(metrics(PERIOD, new_repeat=current), metrics(PREVIOUS, new_repeat=previous))


def test_new_repeat_customers_finding_is_exact() -> None:
    """16 second orders against 10 is a 60% rise: INFO, with both counts."""
    [finding] = new_repeat_customers.RULE.evaluate(repeats(16, 10))
    assert finding == Finding(
        kind=InsightKind.NEW_REPEAT_CUSTOMERS,
        severity=INFO,
        subject="s-2",
        period=PERIOD,
        title="16 new repeat customers",
        message=(
            "16 customers placed their second order from 2026-11-16 to 2026-11-22, up 60% from "
            "10 in the previous 7 days."
        ),
        inputs=(MetricInputView("new_repeat_customers", 16.0, 10.0, 15.0),),
        reasoning=(
            "16 customers came back for a second order, at least 10 and more than 50% above the "
            "previous 7 days."
        ),
    )


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [(9, 0, []), (10, 0, [INFO]), (15, 10, []), (16, 10, [INFO]), (10, 7, []), (11, 7, [INFO])],
)
def test_new_repeat_customers_thresholds(
    current: int, previous: int, expected: list[InsightSeverity]
) -> None:
    """At least 10 new repeat customers and more than 50% over the previous range (any from none)."""
    assert severities(new_repeat_customers.RULE, repeats(current, previous)) == expected


def test_new_repeat_customers_from_none() -> None:
    """A first range with repeat customers reads "after none" and its threshold is the minimum."""
    [finding] = new_repeat_customers.RULE.evaluate(repeats(12, 0))
    assert finding.message == (
        "12 customers placed their second order from 2026-11-16 to 2026-11-22, after none in the "
        "previous 7 days."
    )
    assert finding.inputs == (MetricInputView("new_repeat_customers", 12.0, 0.0, 10.0),)
