"""creatorDashboard and explainInsight on real read models: revenue, best sellers, insights.

A small hand-made world at a fixed `NOW` (2026-11-20 09:00 UTC), so the default
range is 2026-11-14..2026-11-20 and the previous one 2026-11-07..2026-11-13:

- `cr1` owns `s1` (EUR). Previous range: 50 orders of one Alpha at 10.00 (500.00).
  This range: on 11-14, customers 1-20 each buy a Gamma (25.00) and a Beta (4.00),
  580.00; on 11-16, customers 1-12 come back for two Gammas (600.00, their second
  order: 12 new repeat customers); on 11-18 an order that is cancelled; today 10
  orders of five Alphas (500.00). 1,680.00 over 42 orders, up 236%. Gamma sold 44
  (10 left: 1.6 days of cover), Alpha 50 (1,000 left), Beta 20 (15 left: 5.25 days).
  Promotions end in 5 hours, in 30 hours and in 72 hours; one ending in 3 hours is
  deactivated. The Beta low-stock insight is dismissed, the spike seen.
- `cr2` owns `s2` (EUR): 60 orders of 20.00 from 2,000 sessions before, 10 from
  2,000 sessions now: revenue and conversion both down 83%.
- `cr3` owns `s3`: one order of 55 products, product n bought n times at 1.00.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import create_engine
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.insights import pipeline
from resolvers.insights.model import Finding, InsightInputs, InsightKind, Rule
from resolvers.viewer import Viewer
from tests.conftest import CONTRACT
from tests.resolvers.execution import reader_for, run

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
RANGE = "2026-11-14:2026-11-20"

DASHBOARD = """
query ($range: DateRangeInput, $first: Int, $limit: Int) {
  creatorDashboard(range: $range) {
    creator { id handle }
    revenue {
      total { amount currencyCode }
      orders
      averageOrderValue { amount currencyCode }
      changePercent
      daily { date orders total { amount } }
    }
    topProducts(first: $first) { units revenue { amount currencyCode } product { id title } }
    insights(limit: $limit) { id kind severity title message seen generatedAt }
  }
}
"""

REVENUE_ONLY = """
query ($range: DateRangeInput) {
  creatorDashboard(range: $range) { revenue { total { amount } orders changePercent } }
}
"""

EXPLAIN = """
query ($id: ID!) {
  explainInsight(id: $id) {
    insight { id kind severity title seen }
    rule
    ruleVersion
    inputs { name value baseline threshold }
    reasoning
  }
}
"""

CONTRACT_DASHBOARD = (CONTRACT / "operations" / "CreatorDashboard.graphql").read_text()
CONTRACT_EXPLAIN = (CONTRACT / "operations" / "ExplainInsight.graphql").read_text()


def key(kind: str, creator: str, subject: str, period: str = RANGE) -> str:
    return f"{kind}:{creator}:{period}:{subject}"


def gid(kind: str, creator: str, subject: str, period: str = RANGE) -> str:
    return encode_id("Insight", key(kind, creator, subject, period))


DISMISSED = key("LOW_STOCK_BESTSELLER", "cr1", "p-b")
SEEN = key("REVENUE_SPIKE", "cr1", "s1")


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _event(type_: str, **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": type_, "occurredAt": _stamp(NOW - HOUR), "data": data}


def _store(store: str, creator: str, handle: str) -> list[dict[str, Any]]:
    return [
        _event("StoreUpserted", storeId=store, slug=store, name=f"Store {store}",
               currencyCode="EUR", ownerCreatorId=creator),
        _event("CreatorUpserted", creatorId=creator, handle=handle, name=handle.title(),
               bio=None, avatarUrl=None, storeId=store),
    ]  # fmt: skip


def _product(product: str, store: str, title: str, on_hand: int | None) -> list[dict[str, Any]]:
    events = [
        _event("ProductUpserted", productId=product, storeId=store, sku=product.upper(),
               slug=product, title=title, description=None, categoryId=None, tags=[],
               images=[], featured=False, listed=True, createdAt=_stamp(NOW - 90 * DAY)),
    ]  # fmt: skip
    if on_hand is not None:
        events.append(_event("InventoryCounted", productId=product, onHand=on_hand))
    return events


def _order(
    order: str, store: str, customer: str, at: datetime, lines: list[tuple[str, int, str]]
) -> dict[str, Any]:
    total = sum(quantity * Decimal(price) for _, quantity, price in lines)
    return _event(
        "OrderPlaced",
        orderId=order,
        storeId=store,
        customerId=customer,
        placedAt=_stamp(at),
        currencyCode="EUR",
        lines=[{"productId": p, "quantity": q, "unitPrice": price} for p, q, price in lines],
        total=str(total),
    )


def _promotion(promotion: str, name: str, ends: datetime, active: bool = True) -> dict[str, Any]:
    return _event(
        "PromotionUpserted", promotionId=promotion, storeId="s1", name=name, description=None,
        kind="PERCENT_OFF", value="10", buyQuantity=None, getQuantity=None,
        startsAt=_stamp(NOW - 2 * DAY), endsAt=_stamp(ends), priority=0, stackable=True,
        active=active, condition=None,
    )  # fmt: skip


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def world_events() -> list[dict[str, Any]]:
    events = [*_store("s1", "cr1", "ana"), *_store("s2", "cr2", "ben"), *_store("s3", "cr3", "cy")]
    events += _product("p-a", "s1", "Alpha", 1000)
    events += _product("p-b", "s1", "Beta", 15)
    events += _product("p-c", "s1", "Gamma", 10)
    events += _product("p-d", "s2", "Delta", 10_000)
    for n in range(1, 56):
        events += _product(f"q-{n:02}", "s3", f"Item {n:02}", None)
    # s1
    events += [_order(f"o1-prev-{n}", "s1", f"cu-p{n}", _at(9), [("p-a", 1, "10.00")])
               for n in range(1, 51)]  # fmt: skip
    events += [_order(f"o1-first-{n}", "s1", f"cu-{n}", _at(14),
                      [("p-c", 1, "25.00"), ("p-b", 1, "4.00")]) for n in range(1, 21)]  # fmt: skip
    events.append(_event("StoreTrafficRecorded", storeId="s1", date="2026-11-15", sessions=300))
    events += [_order(f"o1-again-{n}", "s1", f"cu-{n}", _at(16), [("p-c", 2, "25.00")])
               for n in range(1, 13)]  # fmt: skip
    events.append(_order("o1-cancelled", "s1", "cu-99", _at(18), [("p-c", 1, "25.00")]))
    events.append(_event("OrderCancelled", orderId="o1-cancelled"))
    events += [_order(f"o1-today-{n}", "s1", f"cu-{n}", _at(20, 8), [("p-a", 5, "10.00")])
               for n in range(21, 31)]  # fmt: skip
    events += [
        _promotion("pr-soon", "Soon sale", NOW + 5 * HOUR),
        _promotion("pr-later", "Later sale", NOW + 30 * HOUR),
        _promotion("pr-far", "Far sale", NOW + 72 * HOUR),
        _promotion("pr-off", "Off sale", NOW + 3 * HOUR, active=False),
        _event("InsightDismissed", creatorId="cr1", insightId=DISMISSED),
        _event("InsightSeen", creatorId="cr1", insightId=SEEN),
    ]
    # s2
    events += [_order(f"o2-prev-{n}", "s2", f"cu-b{n}", _at(8), [("p-d", 1, "20.00")])
               for n in range(1, 61)]  # fmt: skip
    events += [_order(f"o2-now-{n}", "s2", f"cu-c{n}", _at(19), [("p-d", 1, "20.00")])
               for n in range(1, 11)]  # fmt: skip
    events += [_event("StoreTrafficRecorded", storeId="s2", date=d, sessions=2000)
               for d in ("2026-11-08", "2026-11-19")]  # fmt: skip
    # s3
    events.append(
        _order("o3", "s3", "cu-x", _at(17), [(f"q-{n:02}", n, "1.00") for n in range(1, 56)])
    )
    return events


@pytest.fixture(scope="module")
async def world(server_url: str, template_url: str) -> AsyncIterator[AsyncEngine]:
    """The dashboard world in a database of its own, shared by the module's read-only tests."""
    from tests.conftest import create_database, drop_database
    from tests.resolvers.execution import close_read_pools

    url = await create_database(server_url, template_url)
    engine = create_engine(url)
    events, errors = validate_events(world_events())
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())
    yield engine
    await engine.dispose()
    await close_read_pools()
    await drop_database(server_url, url)


ANA = Viewer("u-ana", frozenset({"CUSTOMER", "CREATOR"}), frozenset(), "cr1")
BEN = Viewer("u-ben", frozenset({"CUSTOMER", "CREATOR"}), frozenset(), "cr2")
CY = Viewer("u-cy", frozenset({"CUSTOMER", "CREATOR"}), frozenset(), "cr3")
SHOPPER = Viewer("u-shop", frozenset({"CUSTOMER"}), frozenset(), None)


class ExplodingRule:
    """A rule that fails, as a buggy rule would."""

    kind = InsightKind.REVENUE_DROP
    name = "exploding"
    version = 1
    range_based = True

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        raise RuntimeError("the rule fell over")


EXPLODING: tuple[Rule, ...] = (*pipeline.RULES, ExplodingRule())


def context_for(
    engine: AsyncEngine,
    viewer: Viewer | None,
    rules: tuple[Rule, ...] | None = None,
    timeout_ms: int = 5000,
) -> RequestContext:
    return RequestContext(
        db=reader_for(engine, timeout_ms), now=NOW, viewer=viewer, insight_rules=rules
    )


async def ask(
    engine: AsyncEngine,
    query: str,
    variables: dict[str, Any],
    viewer: Viewer | None,
    *,
    compiled: bool = False,
    rules: tuple[Rule, ...] | None = None,
) -> tuple[dict[str, Any], int]:
    context = context_for(engine, viewer, rules)
    return await run(engine, query, variables, context=context, compiled=compiled)


def codes(body: dict[str, Any]) -> list[tuple[list[Any], str]]:
    return [(e["path"], e["extensions"]["code"]) for e in body.get("errors", [])]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currencyCode": "EUR"}


def days(**totals: tuple[str, int]) -> list[dict[str, Any]]:
    """Every day of the default range: `d14=("580.00", 20)` sets 2026-11-14, others zero."""
    out = []
    for n in range(14, 21):
        amount, orders = totals.get(f"d{n}", ("0.00", 0))
        out.append({"date": f"2026-11-{n}", "orders": orders, "total": {"amount": amount}})
    return out


ANA_REVENUE = {
    "total": eur("1680.00"),
    "orders": 42,
    "averageOrderValue": eur("40.00"),
    "changePercent": 236.0,
    "daily": days(d14=("580.00", 20), d16=("600.00", 12), d20=("500.00", 10)),
}
ANA_TOP = [
    {"units": 44, "revenue": eur("1100.00"), "product": {"id": encode_id("Product", "p-c"),
                                                         "title": "Gamma"}},
    {"units": 50, "revenue": eur("500.00"), "product": {"id": encode_id("Product", "p-a"),
                                                        "title": "Alpha"}},
    {"units": 20, "revenue": eur("80.00"), "product": {"id": encode_id("Product", "p-b"),
                                                       "title": "Beta"}},
]  # fmt: skip


def shown(kind: str, creator: str, subject: str, severity: str, title: str, message: str,
          *, seen: bool = False, period: str = RANGE) -> dict[str, Any]:  # fmt: skip
    return {
        "id": gid(kind, creator, subject, period),
        "kind": kind,
        "severity": severity,
        "title": title,
        "message": message,
        "seen": seen,
        "generatedAt": "2026-11-20T09:00:00Z",
    }


LOW_GAMMA = shown(
    "LOW_STOCK_BESTSELLER", "cr1", "p-c", "CRITICAL", "A best seller is running low",
    "“Gamma”, your number 1 by revenue, has 10 units left, about 1.6 days of sales at the "
    "pace of the 44 units it sold from 2026-11-14 to 2026-11-20.",
)  # fmt: skip
SPIKE = shown(
    "REVENUE_SPIKE", "cr1", "s1", "WARNING", "Revenue up 236%",
    "Revenue from 2026-11-14 to 2026-11-20 was 1,680.00 EUR, up 236% from 500.00 EUR in the "
    "previous 7 days. Check that stock and fulfilment can keep up.", seen=True,
)  # fmt: skip
ENDING_SOON = shown(
    "PROMOTION_ENDING", "cr1", "pr-soon", "WARNING", "Promotion ends in 5 hours",
    "“Soon sale” ends in 5 hours, at 2026-11-20 14:00 UTC. Extend it or plan what follows.",
    period="2026-11-20:2026-11-20",
)  # fmt: skip
SURGE = shown(
    "TOP_PRODUCT_SURGE", "cr1", "p-c", "INFO", "A best seller is taking off",
    "“Gamma”, your number 1 by revenue, sold 44 units from 2026-11-14 to 2026-11-20, after "
    "none in the previous 7 days.",
)  # fmt: skip
ENDING_LATER = shown(
    "PROMOTION_ENDING", "cr1", "pr-later", "INFO", "Promotion ends in 30 hours",
    "“Later sale” ends in 30 hours, at 2026-11-21 15:00 UTC. Extend it or plan what follows.",
    period="2026-11-21:2026-11-21",
)  # fmt: skip
REPEAT = shown(
    "NEW_REPEAT_CUSTOMERS", "cr1", "s1", "INFO", "12 new repeat customers",
    "12 customers placed their second order from 2026-11-14 to 2026-11-20, after none in the "
    "previous 7 days.",
)  # fmt: skip
DROP = shown(
    "REVENUE_DROP", "cr2", "s2", "CRITICAL", "Revenue down 83%",
    "Revenue from 2026-11-14 to 2026-11-20 was 200.00 EUR, down 83% from 1,200.00 EUR in the "
    "previous 7 days.",
)  # fmt: skip
CONVERSION = shown(
    "CONVERSION_DROP", "cr2", "s2", "CRITICAL", "Conversion down 83%",
    "0.5% of visits became orders from 2026-11-14 to 2026-11-20 (10 orders from 2,000 "
    "sessions), down from 3.0% in the previous 7 days.",
)  # fmt: skip


async def test_a_creators_dashboard_is_exact(world: AsyncEngine) -> None:
    """Revenue, daily totals (zeros filled), best sellers and the three most severe insights."""
    body, _ = await ask(world, DASHBOARD, {}, ANA)
    assert body == {
        "data": {
            "creatorDashboard": {
                "creator": {"id": encode_id("Creator", "cr1"), "handle": "ana"},
                "revenue": ANA_REVENUE,
                "topProducts": ANA_TOP,
                # The Beta low-stock WARNING is dismissed: the promotion takes its place.
                "insights": [LOW_GAMMA, SPIKE, ENDING_SOON],
            }
        }
    }


async def test_revenue_drop_and_conversion_drop(world: AsyncEngine) -> None:
    """s2 sold 10 of 2,000 sessions against 60: both drops are CRITICAL, revenue first."""
    body, _ = await ask(world, DASHBOARD, {"limit": 3}, BEN)
    dashboard = body["data"]["creatorDashboard"]
    assert dashboard["revenue"] == {
        "total": eur("200.00"),
        "orders": 10,
        "averageOrderValue": eur("20.00"),
        "changePercent": -83.33,
        "daily": days(d19=("200.00", 10)),
    }
    assert dashboard["topProducts"] == [
        {"units": 10, "revenue": eur("200.00"),
         "product": {"id": encode_id("Product", "p-d"), "title": "Delta"}},
    ]  # fmt: skip
    assert dashboard["insights"] == [DROP, CONVERSION]
    assert "errors" not in body


async def test_insights_limit_is_capped_at_three_and_never_negative(world: AsyncEngine) -> None:
    """limit 1 shows the most severe, 10 shows three, 0 none, -1 is BAD_USER_INPUT on insights."""
    for limit, expected in [(1, [LOW_GAMMA]), (10, [LOW_GAMMA, SPIKE, ENDING_SOON]), (0, [])]:
        body, _ = await ask(world, DASHBOARD, {"limit": limit}, ANA)
        assert body["data"]["creatorDashboard"]["insights"] == expected, limit
    body, _ = await ask(world, DASHBOARD, {"limit": -1}, ANA)
    assert body["data"]["creatorDashboard"]["insights"] is None
    assert body["data"]["creatorDashboard"]["revenue"] == ANA_REVENUE
    assert codes(body) == [(["creatorDashboard", "insights"], "BAD_USER_INPUT")]
    assert body["errors"][0]["message"] == "limit: must not be negative"


async def test_a_dismissed_insight_is_never_shown_but_another_ranges_is(world: AsyncEngine) -> None:
    """The dismissed Beta insight is in no default-range answer; over 11-14..11-19 (another id,
    Gamma and Beta sell the same units over 6 days) it shows, undismissed."""
    body, _ = await ask(world, DASHBOARD, {"limit": 3}, ANA)
    ids = [i["id"] for i in body["data"]["creatorDashboard"]["insights"]]
    assert encode_id("Insight", DISMISSED) not in ids
    other = {"range": {"from": "2026-11-14", "to": "2026-11-19"}}
    body, _ = await ask(world, DASHBOARD, other, ANA)
    insights = body["data"]["creatorDashboard"]["insights"]
    # 44 Gammas over 6 days: 10 / (44 / 6) = 1.4 days; Beta: 15 / (20 / 6) = 4.5 days.
    assert [(i["kind"], i["severity"], i["id"]) for i in insights] == [
        ("LOW_STOCK_BESTSELLER", "CRITICAL", gid("LOW_STOCK_BESTSELLER", "cr1", "p-c",
                                                 "2026-11-14:2026-11-19")),
        ("LOW_STOCK_BESTSELLER", "WARNING", gid("LOW_STOCK_BESTSELLER", "cr1", "p-b",
                                                "2026-11-14:2026-11-19")),
        ("PROMOTION_ENDING", "WARNING", ENDING_SOON["id"]),
    ]  # fmt: skip


async def test_top_products_first_is_capped_and_validated(world: AsyncEngine) -> None:
    """first 1 is the best seller, 100 is capped at 50, 0 is none, -1 is BAD_USER_INPUT."""
    body, _ = await ask(world, DASHBOARD, {"first": 1}, CY)
    assert body["data"]["creatorDashboard"]["topProducts"] == [
        {"units": 55, "revenue": eur("55.00"),
         "product": {"id": encode_id("Product", "q-55"), "title": "Item 55"}},
    ]  # fmt: skip
    body, _ = await ask(world, DASHBOARD, {"first": 100}, CY)
    top = body["data"]["creatorDashboard"]["topProducts"]
    assert [p["units"] for p in top] == list(range(55, 5, -1))
    body, _ = await ask(world, DASHBOARD, {"first": 0}, CY)
    assert body["data"]["creatorDashboard"]["topProducts"] == []
    body, _ = await ask(world, DASHBOARD, {"first": -1}, CY)
    # topProducts is non-null: the error nulls the dashboard.
    assert body["data"] == {"creatorDashboard": None}
    assert codes(body) == [(["creatorDashboard", "topProducts"], "BAD_USER_INPUT")]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-20", "2026-11-19", "range: `to` is before `from`"),
        ("2025-11-19", "2026-11-20", "range: at most 366 days, got 367"),
        (
            "0001-01-01",
            "0001-01-03",
            "range: dates between 1970-01-01 (with the range before it) and 9998-12-31",
        ),
        (
            "1970-01-02",
            "1970-01-03",
            "range: dates between 1970-01-01 (with the range before it) and 9998-12-31",
        ),
        (
            "9999-12-30",
            "9999-12-31",
            "range: dates between 1970-01-01 (with the range before it) and 9998-12-31",
        ),
    ],
)
async def test_bad_ranges_are_bad_user_input(
    world: AsyncEngine, start: str, end: str, message: str
) -> None:
    """`to` before `from`, more than 366 days, or days (with the range before them) out of
    1970..9998: BAD_USER_INPUT and no dashboard, never an overflow."""
    body, _ = await ask(world, DASHBOARD, {"range": {"from": start, "to": end}}, ANA)
    assert body["data"] == {"creatorDashboard": None}
    assert codes(body) == [(["creatorDashboard"], "BAD_USER_INPUT")]
    assert body["errors"][0]["message"] == message


async def test_a_year_range_and_a_single_day(world: AsyncEngine) -> None:
    """366 days hold every order of s1 (2,180.00, 92 orders, nothing before); one day its own."""
    year = {"range": {"from": "2025-11-20", "to": "2026-11-20"}}
    body, _ = await ask(world, REVENUE_ONLY, year, ANA)
    assert body == {"data": {"creatorDashboard": {"revenue": {
        "total": {"amount": "2180.00"}, "orders": 92, "changePercent": None}}}}  # fmt: skip
    day = {"range": {"from": "2026-11-16", "to": "2026-11-16"}}
    body, _ = await ask(world, REVENUE_ONLY, day, ANA)
    assert body == {"data": {"creatorDashboard": {"revenue": {
        "total": {"amount": "600.00"}, "orders": 12, "changePercent": None}}}}  # fmt: skip


async def test_anonymous_is_unauthenticated_and_a_customer_forbidden(world: AsyncEngine) -> None:
    """No token: UNAUTHENTICATED; a viewer without the CREATOR role: FORBIDDEN; no data either way."""
    for viewer, code in [(None, "UNAUTHENTICATED"), (SHOPPER, "FORBIDDEN")]:
        body, statements = await ask(world, DASHBOARD, {}, viewer)
        assert body["data"] == {"creatorDashboard": None}
        assert codes(body) == [(["creatorDashboard"], code)]
        assert statements == 0
        body, statements = await ask(world, EXPLAIN, {"id": SPIKE["id"]}, viewer)
        assert body["data"] == {"explainInsight": None}
        assert codes(body) == [(["explainInsight"], code)]
        assert statements == 0


async def test_explaining_another_creators_insight_is_forbidden(world: AsyncEngine) -> None:
    """cr2 asking about cr1's insight: FORBIDDEN, before anything is read."""
    body, statements = await ask(world, EXPLAIN, {"id": SPIKE["id"]}, BEN)
    assert body["data"] == {"explainInsight": None}
    assert codes(body) == [(["explainInsight"], "FORBIDDEN")]
    assert body["errors"][0]["message"] == "this insight belongs to another creator"
    assert statements == 0


@pytest.mark.parametrize(
    "bad_id",
    [
        "not-an-id",
        encode_id("Product", "p-a"),
        encode_id("Insight", "ins-cr1-revenue-drop"),
        encode_id("Insight", "NOT_A_KIND:cr1:2026-11-14:2026-11-20:s1"),
    ],
)
async def test_undecodable_insight_ids_are_invalid_id(world: AsyncEngine, bad_id: str) -> None:
    """Not base64, another type's id, or not an insight key: INVALID_ID."""
    body, _ = await ask(world, EXPLAIN, {"id": bad_id}, ANA)
    assert body["data"] == {"explainInsight": None}
    assert codes(body) == [(["explainInsight"], "INVALID_ID")]


def explained(view: dict[str, Any], rule: str, inputs: list[tuple[Any, ...]], reasoning: str
              ) -> dict[str, Any]:  # fmt: skip
    return {
        "insight": {k: view[k] for k in ("id", "kind", "severity", "title", "seen")},
        "rule": rule,
        "ruleVersion": 1,
        "inputs": [{"name": n, "value": v, "baseline": b, "threshold": t} for n, v, b, t in inputs],
        "reasoning": reasoning,
    }


LOW_BETA = shown(
    "LOW_STOCK_BESTSELLER", "cr1", "p-b", "WARNING", "A best seller is running low", ""
)

EXPLANATIONS = [
    (BEN, explained(DROP, "revenue-drop",
        [("revenue", 200.0, 1200.0, 900.0), ("revenue_change_percent", -83.3, None, -25.0),
         ("previous_orders", 60.0, None, 50.0)],
        "Revenue fell 83% against the previous 7 days, more than the 50% that makes a drop "
        "CRITICAL, over a baseline of 60 orders (at least 50 needed).")),
    (ANA, explained(SPIKE, "revenue-spike",
        [("revenue", 1680.0, 500.0, 750.0), ("revenue_change_percent", 236.0, None, 50.0),
         ("previous_orders", 50.0, None, 50.0)],
        "Revenue rose 236% against the previous 7 days, more than the 200% that makes a spike "
        "WARNING, over a baseline of 50 orders (at least 50 needed).")),
    (ANA, explained(SURGE, "top-product-surge",
        [("units", 44.0, 0.0, 20.0), ("sales_rank", 1.0, None, 5.0)],
        "Units of the number 1 seller went from none against the previous 7 days, with at "
        "least 20 units sold.")),
    (ANA, explained(LOW_GAMMA, "low-stock-bestseller",
        [("days_of_cover", 1.6, None, 7.0), ("units_available", 10.0, None, None),
         ("units_sold_per_day", 6.29, None, None)],
        "The stock covers about 1.6 days at the range's sales rate, fewer than the 3 days that "
        "make a best seller's stock CRITICAL.")),
    # Dismissed, so never on the dashboard, but still explained.
    (ANA, explained(LOW_BETA, "low-stock-bestseller",
        [("days_of_cover", 5.3, None, 7.0), ("units_available", 15.0, None, None),
         ("units_sold_per_day", 2.86, None, None)],
        "The stock covers about 5.3 days at the range's sales rate, fewer than the 7 days that "
        "make a best seller's stock WARNING.")),
    (BEN, explained(CONVERSION, "conversion-drop",
        [("conversion_rate_percent", 0.5, 3.0, 2.25), ("sessions", 2000.0, 2000.0, 1000.0),
         ("orders", 10.0, 60.0, 50.0)],
        "Orders per session fell 83% against the previous 7 days, more than the 50% that makes "
        "a drop CRITICAL, with at least 1,000 sessions in both ranges.")),
    (ANA, explained(ENDING_SOON, "promotion-ending", [("hours_left", 5.0, None, 24.0)],
        "The promotion is in effect and ends in 5 hours, within the 24 hours that make its "
        "ending WARNING.")),
    (ANA, explained(ENDING_LATER, "promotion-ending", [("hours_left", 30.0, None, 48.0)],
        "The promotion is in effect and ends in 30 hours, within the 48 hours that make its "
        "ending INFO.")),
    (ANA, explained(REPEAT, "new-repeat-customers", [("new_repeat_customers", 12.0, 0.0, 10.0)],
        "12 customers came back for a second order, at least 10 and more than 50% above the "
        "previous 7 days.")),
]  # fmt: skip


async def test_every_kind_is_explained_exactly(world: AsyncEngine) -> None:
    """explainInsight gives each firing kind's rule, version, inputs and reasoning."""
    assert {e["insight"]["kind"] for _, e in EXPLANATIONS} == {k.value for k in InsightKind}
    for viewer, expected in EXPLANATIONS:
        body, _ = await ask(world, EXPLAIN, {"id": expected["insight"]["id"]}, viewer)
        assert body == {"data": {"explainInsight": expected}}, expected["rule"]


async def test_the_dashboard_and_explain_agree(world: AsyncEngine) -> None:
    """Every insight the dashboard shows explains as the same insight (id, kind, title, seen)."""
    for viewer in (ANA, BEN):
        body, _ = await ask(world, DASHBOARD, {}, viewer)
        for insight in body["data"]["creatorDashboard"]["insights"]:
            explained, _ = await ask(world, EXPLAIN, {"id": insight["id"]}, viewer)
            seen = explained["data"]["explainInsight"]["insight"]
            assert seen == {k: insight[k] for k in ("id", "kind", "severity", "title", "seen")}


async def test_an_insight_that_no_longer_fires_explains_as_null(world: AsyncEngine) -> None:
    """A well-formed id of the creator's that no rule fires now: null, no error."""
    body, _ = await ask(world, EXPLAIN, {"id": gid("REVENUE_DROP", "cr1", "s1")}, ANA)
    assert body == {"data": {"explainInsight": None}}


async def test_a_failing_rule_nulls_insights_and_nothing_else(world: AsyncEngine) -> None:
    """A rule that raises: revenue and top products exact, insights null, one INSIGHTS_UNAVAILABLE."""
    body, _ = await ask(world, DASHBOARD, {}, ANA, rules=EXPLODING)
    assert body["data"] == {
        "creatorDashboard": {
            "creator": {"id": encode_id("Creator", "cr1"), "handle": "ana"},
            "revenue": ANA_REVENUE,
            "topProducts": ANA_TOP,
            "insights": None,
        }
    }
    assert body["errors"] == [
        {
            "message": "insights are unavailable right now; revenue and top products are "
            "unaffected",
            "locations": [{"line": 13, "column": 5}],
            "path": ["creatorDashboard", "insights"],
            "extensions": {"code": "INSIGHTS_UNAVAILABLE"},
        }
    ]


async def test_timed_out_insight_loads_null_insights_and_nothing_else(world: AsyncEngine) -> None:
    """While the insight state is locked its load times out: insights null with one
    INSIGHTS_UNAVAILABLE, revenue and top products exact."""
    async with world.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(text("LOCK TABLE insight_state IN ACCESS EXCLUSIVE MODE"))
        context = context_for(world, ANA, timeout_ms=300)
        body, _ = await run(world, DASHBOARD, {}, context=context)
        await transaction.rollback()
    dashboard = body["data"]["creatorDashboard"]
    assert (dashboard["revenue"], dashboard["topProducts"]) == (ANA_REVENUE, ANA_TOP)
    assert dashboard["insights"] is None
    assert codes(body) == [(["creatorDashboard", "insights"], "INSIGHTS_UNAVAILABLE")]


async def test_compiled_plans_answer_exactly_as_graphql_core(world: AsyncEngine) -> None:
    """CreatorDashboard and ExplainInsight, good and failing, are byte for byte the same compiled."""
    cases: list[tuple[str, dict[str, Any], Viewer | None, tuple[Rule, ...] | None]] = [
        (CONTRACT_DASHBOARD, {}, ANA, None),
        (CONTRACT_DASHBOARD, {}, BEN, None),
        (CONTRACT_DASHBOARD, {"range": {"from": "2025-11-20", "to": "2026-11-20"}}, CY, None),
        (CONTRACT_DASHBOARD, {}, ANA, EXPLODING),
        (CONTRACT_DASHBOARD, {"range": {"from": "2026-11-20", "to": "2026-11-01"}}, ANA, None),
        (CONTRACT_DASHBOARD, {}, None, None),
        (CONTRACT_DASHBOARD, {}, SHOPPER, None),
        (DASHBOARD, {"limit": -1, "first": 2}, ANA, None),
        (DASHBOARD, {"first": -1}, CY, None),
        (CONTRACT_EXPLAIN, {"id": "not-an-id"}, ANA, None),
        (CONTRACT_EXPLAIN, {"id": SPIKE["id"]}, BEN, None),
        (CONTRACT_EXPLAIN, {"id": gid("REVENUE_DROP", "cr1", "s1")}, ANA, None),
    ]
    cases += [(CONTRACT_EXPLAIN, {"id": e["insight"]["id"]}, v, None) for v, e in EXPLANATIONS]
    for query, variables, viewer, rules in cases:
        reference, _ = await ask(world, query, variables, viewer, rules=rules)
        compiled, _ = await ask(world, query, variables, viewer, rules=rules, compiled=True)
        assert orjson.dumps(compiled) == orjson.dumps(reference), (variables, viewer)


# The creator, the store, both ranges' days, both ranges' product sales, the products (best
# sellers and their stock in one batch), the promotions ending soon, the insight state.
DASHBOARD_STATEMENTS = 7


async def test_statement_count_is_fixed_whatever_the_range_or_the_products(
    world: AsyncEngine,
) -> None:
    """CreatorDashboard runs the same few statements for 7 or 366 days and 1 or 40 products."""
    counts = []
    for viewer, variables in [
        (ANA, {}),
        (ANA, {"range": {"from": "2025-11-20", "to": "2026-11-20"}}),
        (BEN, {}),  # one product sold
        (CY, {"range": {"from": "2025-11-20", "to": "2026-11-20"}}),
    ]:
        for compiled in (False, True):
            body, statements = await ask(
                world, DASHBOARD, {**variables, "first": 40}, viewer, compiled=compiled
            )
            assert "errors" not in body
            counts.append(statements)
    assert len(body["data"]["creatorDashboard"]["topProducts"]) == 40
    assert counts == [DASHBOARD_STATEMENTS] * 8


def test_the_world_dates_are_what_the_docstring_says() -> None:
    """The default range ends today (NOW's date) and is 7 days long."""
    from resolvers.insights.dashboard import dashboard_period

    assert dashboard_period(None, None, NOW.date()) == (date(2026, 11, 14), date(2026, 11, 20))


async def test_cache_tags_and_freshness(world: AsyncEngine) -> None:
    """The dashboard is tagged with everything it read (metrics, promotions, insight state,
    products) and is fresh only until the soonest promotion ends (14:00, before midnight)."""
    context = context_for(world, ANA)
    await run(world, DASHBOARD, {}, context=context)
    assert sorted(context.tags) == [
        "creator:cr1",
        "insight-state:cr1",
        "product:p-a",
        "product:p-b",
        "product:p-c",
        "store-metrics:s1",
        "store-promotions:s1",
        "store:s1",
    ]
    assert context.fresh_until == NOW + 5 * HOUR


NODE = "query ($id: ID!) { node(id: $id) { id ... on Insight { kind title } } }"


async def test_an_insight_is_a_node_of_its_owner_alone(world: AsyncEngine) -> None:
    """node(id) finds a shown insight for its creator; another creator gets FORBIDDEN."""
    body, _ = await ask(world, DASHBOARD, {}, ANA)
    first = body["data"]["creatorDashboard"]["insights"][0]
    mine, _ = await ask(world, NODE, {"id": first["id"]}, ANA)
    assert mine["data"]["node"] == {
        "id": first["id"],
        "kind": first["kind"],
        "title": first["title"],
    }
    other, _ = await ask(world, NODE, {"id": first["id"]}, BEN)
    assert (other["data"], codes(other)) == ({"node": None}, [(["node"], "FORBIDDEN")])
