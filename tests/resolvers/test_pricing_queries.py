"""Pricing through GraphQL on real read models: product prices, promotions, carts.

A small hand-made world whose every expected price is worked out by hand in
the comments, for an anonymous shopper and for a member of the `vip` segment.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

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
from resolvers.viewer import Viewer
from tests.resolvers.execution import reader_for, run

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)

PRODUCT_PRICE = """
query ($slug: String!, $quantity: Int = 1) {
  product(slug: $slug) {
    price(quantity: $quantity) {
      list { amount currencyCode }
      final { amount currencyCode }
      compareAt { amount }
      tier { minQuantity unitPrice { amount } }
      appliedPromotions { promotion { id name kind } discount { amount currencyCode } }
    }
    promotions { id name }
  }
}
"""

PRICE_CART = """
query ($input: CartInput!) {
  priceCart(input: $input) {
    lines {
      product { slug }
      quantity
      unitPrice { list { amount } final { amount } appliedPromotions { promotion { name } discount { amount } } }
      lineTotal { amount currencyCode }
    }
    subtotal { amount currencyCode }
    discountTotal { amount }
    total { amount currencyCode }
    appliedPromotions { promotion { name } discount { amount } }
  }
}
"""

PROMOTIONS = """
query ($active: Boolean, $storeId: ID, $first: Int, $after: String) {
  promotions(active: $active, storeId: $storeId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    nodes { id name kind value priority stackable active startsAt endsAt store { slug } }
  }
}
"""

LISTING_PRICES = """
query ($first: Int!) {
  products(first: $first, sort: PRICE_ASC) {
    nodes { slug price { final { amount } } promotions { name } }
  }
}
"""


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _event(type_: str, **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": type_, "occurredAt": _stamp(NOW - DAY), "data": data}


def _promotion(
    promotion_id: str,
    name: str,
    kind: str,
    value: str,
    *,
    store: str = "s1",
    priority: int = 0,
    stackable: bool = True,
    condition: dict[str, Any] | None = None,
    starts: datetime | None = None,
    ends: datetime | None = None,
    buy: int | None = None,
    get: int | None = None,
) -> dict[str, Any]:
    return _event(
        "PromotionUpserted",
        promotionId=promotion_id,
        storeId=store,
        name=name,
        description=None,
        kind=kind,
        value=value,
        buyQuantity=buy,
        getQuantity=get,
        startsAt=None if starts is None else _stamp(starts),
        endsAt=None if ends is None else _stamp(ends),
        priority=priority,
        stackable=stackable,
        active=True,
        condition=condition,
    )


def _product(product_id: str, store: str, category: str, tags: list[str]) -> dict[str, Any]:
    return _event(
        "ProductUpserted",
        productId=product_id,
        storeId=store,
        sku=product_id.upper(),
        slug=product_id,
        title=f"Product {product_id}",
        description=None,
        categoryId=category,
        tags=tags,
        images=[],
        featured=False,
        listed=True,
        createdAt=_stamp(NOW - 10 * DAY),
    )


def world_events() -> list[dict[str, Any]]:
    events = [
        _event("StoreUpserted", storeId="s1", slug="one", name="One", currencyCode="EUR",
               ownerCreatorId="cr1"),
        _event("StoreUpserted", storeId="s2", slug="two", name="Two", currencyCode="JPY",
               ownerCreatorId="cr2"),
        _event("CategoryUpserted", categoryId="home", slug="home", name="Home", parentId=None,
               position=0),
        _event("CategoryUpserted", categoryId="mugs", slug="mugs", name="Mugs", parentId="home",
               position=0),
        _product("mug", "s1", "mugs", ["ceramic"]),
        _product("plate", "s1", "home", ["clearance"]),
        _product("bowl", "s2", "home", []),
        _product("cup", "s1", "mugs", []),
        _event("CollectionUpserted", collectionId="k1", slug="gifts", title="Gifts",
               productIds=["plate"]),
        _event("PriceSet", productId="mug", currencyCode="EUR", basePrice="20.00",
               tiers=[{"minQuantity": 5, "unitPrice": "18.00"}],
               segmentPrices=[{"segment": "vip", "unitPrice": "17.00"}]),
        _event("PriceSet", productId="plate", currencyCode="EUR", basePrice="10.00", tiers=[],
               segmentPrices=[]),
        _event("PriceSet", productId="bowl", currencyCode="JPY", basePrice="1000", tiers=[],
               segmentPrices=[]),
        _event("PriceSet", productId="cup", currencyCode="EUR", basePrice="4.00", tiers=[],
               segmentPrices=[]),
        # Store-wide 10% off, highest priority, stackable.
        _promotion("pr-store", "Store 10", "PERCENT_OFF", "10", priority=50),
        # Mugs (and their ancestors' listings) get 1.50 off each, not stackable.
        _promotion("pr-mugs", "Mugs 1.50", "AMOUNT_OFF", "1.50", priority=40, stackable=False,
                   condition={"categoryIn": ["home"]}),
        # Buy 2 get 1 on the plate only, but only for VIPs (never reached: mugs stops it).
        _promotion("pr-b2g1", "Plates 3 for 2", "BUY_X_GET_Y", "0", priority=30, buy=2, get=1,
                   condition={"all": [{"productIn": ["plate"]}, {"not": {"tagIn": ["x"]}}]}),
        # VIPs only, at 3 units or more: 5% off.
        _promotion("pr-vip", "VIP 5", "PERCENT_OFF", "5", priority=60,
                   condition={"all": [{"segmentIn": ["vip"]}, {"minQuantity": 3}]}),
        # Carts over 100.00 get 2.00 off each unit of a gift.
        _promotion("pr-big", "Big cart", "AMOUNT_OFF", "2.00", priority=70,
                   condition={"all": [{"collectionIn": ["k1"]}, {"minSubtotal": "100.00"}]}),
        # Not started, ended, deactivated, and another store's: never applied here.
        _promotion("pr-later", "Later", "PERCENT_OFF", "50", priority=99, starts=NOW + 2 * DAY),
        _promotion("pr-gone", "Gone", "PERCENT_OFF", "50", priority=99, ends=NOW - DAY),
        _promotion("pr-off", "Off", "PERCENT_OFF", "50", priority=99),
        _event("PromotionDeactivated", promotionId="pr-off"),
        _promotion("pr-yen", "Yen 15", "PERCENT_OFF", "15", store="s2", priority=10),
        _event("CustomerSegmentsChanged", customerId="cu-vip", segments=["vip"]),
    ]  # fmt: skip
    return events


@pytest.fixture(scope="module")
async def world(server_url: str, template_url: str) -> AsyncIterator[AsyncEngine]:
    """The pricing world in a database of its own, shared by the module's read-only tests."""
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


VIP = Viewer(id="cu-vip", roles=frozenset({"CUSTOMER"}), segments=frozenset({"vip"}),
             creator_id=None)  # fmt: skip


def context_for(engine: AsyncEngine, viewer: Viewer | None) -> RequestContext:
    return RequestContext(db=reader_for(engine), now=datetime.now(UTC), viewer=viewer)


async def ask(
    engine: AsyncEngine,
    query: str,
    variables: dict[str, Any],
    viewer: Viewer | None = None,
    *,
    compiled: bool = False,
) -> tuple[dict[str, Any], int]:
    return await run(
        engine, query, variables, context=context_for(engine, viewer), compiled=compiled
    )


def _applied(price: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["promotion"]["name"], a["discount"]["amount"]) for a in price["appliedPromotions"]]


async def test_mug_for_an_anonymous_shopper(world: AsyncEngine) -> None:
    """20.00 less 10% (2.00) is 18.00, less 1.50 is 16.50; the mugs promotion stops the chain."""
    body, _ = await ask(world, PRODUCT_PRICE, {"slug": "mug"})
    price = body["data"]["product"]["price"]
    assert price["list"] == {"amount": "20.00", "currencyCode": "EUR"}
    assert price["final"] == {"amount": "16.50", "currencyCode": "EUR"}
    assert price["compareAt"] == {"amount": "20.00"}
    assert price["tier"] is None
    assert _applied(price) == [("Store 10", "2.00"), ("Mugs 1.50", "1.50")]
    assert price["appliedPromotions"][0]["promotion"]["id"] == encode_id("Promotion", "pr-store")
    assert price["appliedPromotions"][0]["promotion"]["kind"] == "PERCENT_OFF"


async def test_mug_for_a_vip_at_quantity_five(world: AsyncEngine) -> None:
    """The VIP segment price (17.00) beats the tier (18.00); 5% (0.85) then 10% of 16.15
    (1.615) then 1.50: 17.00 - 3.965 = 13.035, rounded once to 13.04."""
    body, _ = await ask(world, PRODUCT_PRICE, {"slug": "mug", "quantity": 5}, VIP)
    price = body["data"]["product"]["price"]
    assert price["list"]["amount"] == "17.00"
    assert price["tier"] is None
    assert price["final"]["amount"] == "13.04"
    # 0.85 + 1.615 + 1.50 = 3.965 exactly; 3.96 is shared out, the half cent to the
    # largest remainder (1.615's).
    assert _applied(price) == [("VIP 5", "0.85"), ("Store 10", "1.61"), ("Mugs 1.50", "1.50")]


async def test_tier_for_an_anonymous_shopper_at_quantity_five(world: AsyncEngine) -> None:
    """The 5-unit tier lists at 18.00: 18.00 - 1.80 - 1.50 = 14.70."""
    body, _ = await ask(world, PRODUCT_PRICE, {"slug": "mug", "quantity": 5})
    price = body["data"]["product"]["price"]
    assert price["tier"] == {"minQuantity": 5, "unitPrice": {"amount": "18.00"}}
    assert (price["list"]["amount"], price["final"]["amount"]) == ("18.00", "14.70")


async def test_product_promotions_are_those_that_can_apply(world: AsyncEngine) -> None:
    """Mug: the store-wide and mugs promotions; the VIP one only for VIPs; never the
    plate's, the later, ended, deactivated or other store's ones."""
    anonymous, _ = await ask(world, PRODUCT_PRICE, {"slug": "mug"})
    assert [p["name"] for p in anonymous["data"]["product"]["promotions"]] == [
        "Store 10",
        "Mugs 1.50",
    ]
    vip, _ = await ask(world, PRODUCT_PRICE, {"slug": "mug"}, VIP)
    assert [p["name"] for p in vip["data"]["product"]["promotions"]] == [
        "VIP 5",
        "Store 10",
        "Mugs 1.50",
    ]
    plate, _ = await ask(world, PRODUCT_PRICE, {"slug": "plate"})
    assert [p["name"] for p in plate["data"]["product"]["promotions"]] == [
        "Big cart",
        "Store 10",
        "Mugs 1.50",
        "Plates 3 for 2",
    ]


async def test_yen_prices_have_no_minor_unit(world: AsyncEngine) -> None:
    """1000 yen less 15% is 850, in whole yen."""
    body, _ = await ask(world, PRODUCT_PRICE, {"slug": "bowl"})
    price = body["data"]["product"]["price"]
    assert price["final"] == {"amount": "850", "currencyCode": "JPY"}
    assert _applied(price) == [("Yen 15", "150")]


def _line(slug: str, quantity: int) -> dict[str, Any]:
    return {"productId": encode_id("Product", slug), "quantity": quantity}


async def test_cart_lines_equal_product_pages_and_totals_add_up(world: AsyncEngine) -> None:
    """Each line is its product page at that quantity; subtotal - discounts = total."""
    cart, _ = await ask(world, PRICE_CART, {"input": {"lines": [_line("mug", 5), _line("cup", 2)]}})
    priced = cart["data"]["priceCart"]
    for line in priced["lines"]:
        page, _ = await ask(
            world, PRODUCT_PRICE, {"slug": line["product"]["slug"], "quantity": line["quantity"]}
        )
        assert line["unitPrice"]["final"] == {
            "amount": page["data"]["product"]["price"]["final"]["amount"]
        }
    # mug: 14.70 x 5 = 73.50; cup: 4.00 - 0.40 - 1.50 = 2.10, x 2 = 4.20.
    assert [line["lineTotal"]["amount"] for line in priced["lines"]] == ["73.50", "4.20"]
    assert priced["subtotal"] == {"amount": "98.00", "currencyCode": "EUR"}
    assert priced["total"] == {"amount": "77.70", "currencyCode": "EUR"}
    assert priced["discountTotal"] == {"amount": "20.30"}
    # Over every unit: store 1.80 x 5 + 0.40 x 2 = 9.80; mugs 1.50 x 7 = 10.50.
    assert [(a["promotion"]["name"], a["discount"]["amount"]) for a in
            priced["appliedPromotions"]] == [("Store 10", "9.80"), ("Mugs 1.50", "10.50")]  # fmt: skip


async def test_min_subtotal_counts_the_whole_cart(world: AsyncEngine) -> None:
    """A gift in a cart over 100.00 gets 2.00 off first: plate 10.00 - 2.00 = 8.00, -10%
    = 7.20, -1.50 = 5.70; the same plate alone (subtotal 10.00) is 7.50."""
    lines = [_line("plate", 1), _line("mug", 6)]
    cart, _ = await ask(world, PRICE_CART, {"input": {"lines": lines}})
    plate = cart["data"]["priceCart"]["lines"][0]
    assert plate["unitPrice"]["final"] == {"amount": "5.70"}
    alone, _ = await ask(world, PRICE_CART, {"input": {"lines": [_line("plate", 1)]}})
    assert alone["data"]["priceCart"]["lines"][0]["unitPrice"]["final"] == {"amount": "7.50"}


async def test_line_order_does_not_change_the_totals(world: AsyncEngine) -> None:
    """Reversing the lines reverses them in the answer and changes no total."""
    lines = [_line("plate", 3), _line("mug", 6), _line("cup", 1)]
    forward, _ = await ask(world, PRICE_CART, {"input": {"lines": lines}}, VIP)
    backward, _ = await ask(world, PRICE_CART, {"input": {"lines": lines[::-1]}}, VIP)
    a, b = forward["data"]["priceCart"], backward["data"]["priceCart"]
    for key in ("subtotal", "discountTotal", "total", "appliedPromotions"):
        assert a[key] == b[key]
    assert a["lines"] == b["lines"][::-1]


@pytest.mark.parametrize(
    ("lines", "currency", "code", "line", "field"),
    [
        ([_line("mug", 1), _line("gone", 1)], None, "PRODUCT_NOT_FOUND", 1,
         "input.lines[1].productId"),
        ([_line("mug", 0)], None, "INVALID_QUANTITY", 0, "input.lines[0].quantity"),
        ([_line("mug", 10_001)], None, "INVALID_QUANTITY", 0, "input.lines[0].quantity"),
        ([_line("mug", 1), _line("bowl", 1)], None, "CURRENCY_MISMATCH", 1,
         "input.lines[1].productId"),
        ([_line("mug", 1)], "USD", "CURRENCY_MISMATCH", 0, "input.lines[0].productId"),
        ([{"productId": "nonsense", "quantity": 1}], None, "INVALID_ID", 0,
         "input.lines[0].productId"),
    ],
)  # fmt: skip
async def test_bad_cart_lines_are_errors_naming_the_line(
    world: AsyncEngine,
    lines: list[dict[str, Any]],
    currency: str | None,
    code: str,
    line: int,
    field: str,
) -> None:
    """Each kind of bad line is an error with its code, the line's index and field."""
    cart_input: dict[str, Any] = {"lines": lines}
    if currency is not None:
        cart_input["currencyCode"] = currency
    body, _ = await ask(world, PRICE_CART, {"input": cart_input})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code
    assert (error["extensions"]["line"], error["extensions"]["field"]) == (line, field)
    assert error["path"] == ["priceCart"]


async def test_every_bad_line_is_listed(world: AsyncEngine) -> None:
    """Two bad lines: the error is the first's, and `problems` names both."""
    lines = [_line("mug", 0), _line("mug", 1), {"productId": "??", "quantity": -3}]
    body, _ = await ask(world, PRICE_CART, {"input": {"lines": lines}})
    problems = body["errors"][0]["extensions"]["problems"]
    assert [(p["line"], p["code"]) for p in problems] == [
        (0, "INVALID_QUANTITY"),
        (2, "INVALID_ID"),
        (2, "INVALID_QUANTITY"),
    ]


async def test_carts_have_at_most_a_hundred_lines(world: AsyncEngine) -> None:
    """101 lines are CART_TOO_LARGE; 100 are priced."""
    too_many, _ = await ask(world, PRICE_CART, {"input": {"lines": [_line("cup", 1)] * 101}})
    assert too_many["errors"][0]["extensions"]["code"] == "CART_TOO_LARGE"
    most, _ = await ask(world, PRICE_CART, {"input": {"lines": [_line("cup", 1)] * 100}})
    assert most["data"]["priceCart"]["total"]["amount"] == "210.00"


async def test_pricing_a_cart_writes_nothing(world: AsyncEngine) -> None:
    """A priced cart, good or bad, appends no event and changes no read model."""

    async def state() -> list[Any]:
        async with world.connect() as conn:
            head = (await conn.execute(text("SELECT count(*) FROM event_log"))).scalar()
            checkpoints = (
                await conn.execute(text("SELECT name, position FROM projection_checkpoints"))
            ).all()
        return [head, sorted(checkpoints)]

    before = await state()
    await ask(world, PRICE_CART, {"input": {"lines": [_line("mug", 2)]}})
    await ask(world, PRICE_CART, {"input": {"lines": [_line("gone", 2)]}})
    assert await state() == before


async def test_promotions_listing_newest_first_and_in_effect(world: AsyncEngine) -> None:
    """Active (default): in effect now, newest first, paged; totalCount counts them all."""
    first, _ = await ask(world, PROMOTIONS, {"first": 2})
    page = first["data"]["promotions"]
    assert page["totalCount"] == 6
    assert [n["name"] for n in page["nodes"]] == ["Yen 15", "Big cart"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest, _ = await ask(world, PROMOTIONS, {"first": 10, "after": page["pageInfo"]["endCursor"]})
    assert [n["name"] for n in rest["data"]["promotions"]["nodes"]] == [
        "VIP 5",
        "Plates 3 for 2",
        "Mugs 1.50",
        "Store 10",
    ]
    assert rest["data"]["promotions"]["pageInfo"]["hasPreviousPage"] is True
    inactive, _ = await ask(world, PROMOTIONS, {"active": False})
    assert [n["name"] for n in inactive["data"]["promotions"]["nodes"]] == ["Off", "Gone", "Later"]
    every, _ = await ask(world, PROMOTIONS, {"active": None, "storeId": encode_id("Store", "s2")})
    assert [n["name"] for n in every["data"]["promotions"]["nodes"]] == ["Yen 15"]
    assert every["data"]["promotions"]["nodes"][0]["store"] == {"slug": "two"}


async def test_bad_promotion_arguments_have_codes(world: AsyncEngine) -> None:
    """A foreign cursor is INVALID_CURSOR; a product id as storeId is INVALID_ID."""
    cursor, _ = await ask(world, PROMOTIONS, {"after": "bm9wZQ"})
    assert cursor["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    store, _ = await ask(world, PROMOTIONS, {"storeId": encode_id("Product", "mug")})
    assert store["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_a_promotion_is_a_node(world: AsyncEngine) -> None:
    """node(id) finds a promotion by its global id."""
    query = "query ($id: ID!) { node(id: $id) { ... on Promotion { name kind value } } }"
    body, _ = await ask(world, query, {"id": encode_id("Promotion", "pr-mugs")})
    assert body["data"]["node"] == {"name": "Mugs 1.50", "kind": "AMOUNT_OFF", "value": "1.50"}


async def test_a_price_is_fresh_only_until_the_next_promotion_window(world: AsyncEngine) -> None:
    """Pricing the mug reads the not-yet-started promotion: the answer is good until it starts."""
    context = context_for(world, None)
    await run(world, PRODUCT_PRICE, {"slug": "mug"}, context=context)
    assert context.fresh_until == NOW + 2 * DAY


@pytest.mark.parametrize("viewer", [None, VIP])
async def test_compiled_plans_answer_exactly_as_graphql_core(
    world: AsyncEngine, viewer: Viewer | None
) -> None:
    """Prices, promotions and carts are byte for byte the same on a compiled plan."""
    cases = [
        (PRODUCT_PRICE, {"slug": "mug", "quantity": 5}),
        (PRICE_CART, {"input": {"lines": [_line("plate", 3), _line("mug", 6)]}}),
        (PRICE_CART, {"input": {"lines": [_line("gone", 1)]}}),
        (PROMOTIONS, {"first": 3}),
        (LISTING_PRICES, {"first": 10}),
    ]
    for query, variables in cases:
        reference = await ask(world, query, variables, viewer)
        compiled = await ask(world, query, variables, viewer, compiled=True)
        assert compiled == reference


async def test_statement_counts_do_not_grow_with_the_page_or_the_cart(world: AsyncEngine) -> None:
    """Prices and promotions of a listing, and a cart, run a fixed number of statements."""
    _, small = await ask(world, LISTING_PRICES, {"first": 1})
    _, large = await ask(world, LISTING_PRICES, {"first": 4})
    assert small == large == 2  # the page, then every product's offers in one batch
    _, one = await ask(world, PRICE_CART, {"input": {"lines": [_line("mug", 1)]}})
    _, many = await ask(
        world, PRICE_CART, {"input": {"lines": [_line(s, 2) for s in ("mug", "cup", "plate")]}}
    )
    assert one == many == 2  # the products and their offers, one batch each


async def test_a_missing_product_and_a_bad_quantity_are_both_named(world: AsyncEngine) -> None:
    """Argument checks do not hide lookups: the first line's PRODUCT_NOT_FOUND comes first."""
    lines = [_line("gone", 1), _line("mug", 0)]
    body, _ = await ask(world, PRICE_CART, {"input": {"lines": lines}})
    (error,) = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["line"]) == ("PRODUCT_NOT_FOUND", 0)
    assert [(p["line"], p["code"]) for p in error["extensions"]["problems"]] == [
        (0, "PRODUCT_NOT_FOUND"),
        (1, "INVALID_QUANTITY"),
    ]


async def test_a_product_page_quantity_out_of_range_is_invalid_quantity(world: AsyncEngine) -> None:
    """The same mistake has the same code on a product page as in a cart."""
    body, _ = await ask(world, PRODUCT_PRICE, {"slug": "mug", "quantity": 0})
    assert body["errors"][0]["extensions"] == {
        "code": "INVALID_QUANTITY",
        "argument": "quantity",
    }
    assert body["errors"][0]["message"] == "quantity: must be between 1 and 10000, got 0"
