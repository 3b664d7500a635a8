"""Product.recommendations against real read models: exact lists, filtering, `first`,
cache tags and a statement count that does not grow with the number of products."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import create_engine
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from tests.resolvers.execution import reader_for, run

PRODUCT = """
query Product($slug: String!, $first: Int) {
  product(slug: $slug) { slug recommendations(first: $first) { slug } }
}
"""
PRODUCT_DEFAULT = """
query ProductDefault($slug: String!) { product(slug: $slug) { recommendations { slug } } }
"""
LISTING = """
query Listing($first: Int!) {
  products(first: $first, sort: PRICE_ASC) {
    edges { node { slug recommendations(first: 3) { slug } } }
  }
}
"""

LISTED = [f"p{i:02d}" for i in range(1, 46)]
HIDDEN, GONE, UNPRICED = "p46", "p47", "p48"
ORDERS: list[tuple[str, list[str], bool]] = [  # id, products, cancelled
    *[(f"o-h{n}", ["p01", HIDDEN], False) for n in range(5)],
    *[(f"o-g{n}", ["p01", GONE], False) for n in range(4)],
    *[(f"o-u{n}", ["p01", UNPRICED], False) for n in range(3)],
    *[(f"o-a{n}", ["p01", "p05", "p05", "p01"], False) for n in range(2)],
    *[(f"o-b{n}", ["p03", "p01"], False) for n in range(2)],
    ("o-c", ["p01", "p02", "p04"], False),
    *[(f"o-x{n}", ["p01", "p09"], True) for n in range(6)],
    # A ring: every listed product bought with the next, so all 45 have some.
    *[(f"o-r{i}", [p, LISTED[i % len(LISTED)]], False) for i, p in enumerate(LISTED, 1)],
]


def slug(product_id: str) -> str:
    return f"product-{product_id[1:]}"


def expected(product_id: str, first: int) -> list[str]:
    """Worked out from ORDERS, independently of the projection: count descending, then id;
    only listed, priced, existing products other than the product itself."""
    counts: Counter[str] = Counter()
    for _, products, cancelled in ORDERS:
        distinct = set(products)
        if not cancelled and product_id in distinct:
            counts.update(distinct - {product_id})
    ranked = sorted(counts, key=lambda other: (-counts[other], other))[:20]
    return [slug(p) for p in ranked if p in LISTED][:first]


def world_events() -> list[dict[str, Any]]:
    ids = random.Random(61)

    def event(type_: str, **data: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
            "type": type_,
            "occurredAt": "2026-11-01T10:00:00Z",
            "data": data,
        }

    out = [
        event("StoreUpserted", storeId="s1", slug="shop", name="Shop", currencyCode="EUR",
              ownerCreatorId="cr1"),
    ]  # fmt: skip
    for number, product_id in enumerate([*LISTED, HIDDEN, GONE, UNPRICED], 1):
        out.append(
            event("ProductUpserted", productId=product_id, storeId="s1", sku=product_id,
                  slug=slug(product_id), title=f"Product {number}", description=None,
                  categoryId=None, tags=[], images=[], featured=False,
                  listed=product_id != HIDDEN, createdAt="2026-11-01T00:00:00Z")
        )  # fmt: skip
        if product_id != UNPRICED:
            out.append(
                event("PriceSet", productId=product_id, currencyCode="EUR",
                      basePrice=f"{10 + number}.00", tiers=[], segmentPrices=[])
            )  # fmt: skip
    for order_id, products, _ in ORDERS:
        lines = [{"productId": p, "quantity": 1, "unitPrice": "1.00"} for p in products]
        out.append(
            event("OrderPlaced", orderId=order_id, storeId="s1", customerId="cu1",
                  placedAt="2026-11-01T10:00:00Z", currencyCode="EUR", lines=lines,
                  total=f"{len(lines)}.00")
        )  # fmt: skip
    out += [event("OrderCancelled", orderId=o) for o, _, cancelled in ORDERS if cancelled]
    out.append(event("ProductDeleted", productId=GONE))
    return out


@pytest.fixture(scope="module", name="engine")
async def recommendations_world(server_url: str, template_url: str) -> AsyncIterator[AsyncEngine]:
    """The world above projected into a database of its own, shared by this module's tests."""
    from tests.conftest import create_database, drop_database
    from tests.resolvers.execution import close_read_pools

    url = await create_database(server_url, template_url)
    engine = create_engine(url)
    events, errors = validate_events(world_events())
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections(), batch_size=25)
    yield engine
    await engine.dispose()
    await close_read_pools()
    await drop_database(server_url, url)


async def recommendations_of(engine: AsyncEngine, product_id: str, first: int | None) -> Any:
    body, _ = await run(engine, PRODUCT, {"slug": slug(product_id), "first": first})
    assert "errors" not in body, body
    return [node["slug"] for node in body["data"]["product"]["recommendations"]]


async def test_recommendations_skip_unlisted_deleted_unpriced_and_cancelled(
    engine: AsyncEngine,
) -> None:
    """The hub's list leaves out the unlisted, deleted and unpriced favourites and cancelled
    orders, ranked by count then id."""
    assert await recommendations_of(engine, "p01", 20) == [
        "product-02",
        "product-03",
        "product-05",
        "product-04",
        "product-45",
    ]
    assert await recommendations_of(engine, "p01", 20) == expected("p01", 20)


@pytest.mark.parametrize(
    ("first", "count"), [(None, 4), (0, 0), (1, 1), (4, 4), (20, 5), (1000, 5)]
)
async def test_first_is_respected_defaulted_and_capped(
    engine: AsyncEngine, first: int | None, count: int
) -> None:
    """`first` bounds the list (null means 4, past 20 means 20), best first."""
    assert await recommendations_of(engine, "p01", first) == expected("p01", count)


async def test_the_argument_default_is_4(engine: AsyncEngine) -> None:
    """Without `first`, a product shows its four best recommendations."""
    body, _ = await run(engine, PRODUCT_DEFAULT, {"slug": "product-01"})
    assert body == {
        "data": {
            "product": {
                "recommendations": [{"slug": s} for s in expected("p01", 4)],
            }
        }
    }


async def test_negative_first_is_a_bad_user_input_on_first(engine: AsyncEngine) -> None:
    """first: -1 errors with BAD_USER_INPUT naming the argument; the product itself stands."""
    body, _ = await run(engine, PRODUCT, {"slug": "product-01", "first": -1})
    assert body["data"] == {"product": None}
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "BAD_USER_INPUT", "argument": "first"}
    ]


async def test_products_never_recommend_themselves_or_hidden_ones(engine: AsyncEngine) -> None:
    """Every listed product's list is exactly the expected one: never itself or a hidden product."""
    for product_id in LISTED:
        assert await recommendations_of(engine, product_id, 20) == expected(product_id, 20)
    for product_id in (HIDDEN, UNPRICED):
        assert await recommendations_of(engine, product_id, 20) == ["product-01"]


async def test_recommendations_of_5_and_of_40_products_cost_the_same_statements(
    engine: AsyncEngine,
) -> None:
    """A page's recommendations are one batch of ids and one batch of products, whatever its size."""
    small, small_count = await run(engine, LISTING, {"first": 5})
    large, large_count = await run(engine, LISTING, {"first": 40})
    for body, size in ((small, 5), (large, 40)):
        assert body == {
            "data": {
                "products": {
                    "edges": [
                        {
                            "node": {
                                "slug": slug(p),
                                "recommendations": [{"slug": s} for s in expected(p, 3)],
                            }
                        }
                        for p in LISTED[:size]
                    ]
                }
            }
        }
    assert (small_count, large_count) == (3, 3)


async def test_the_compiled_plan_answers_the_same_with_the_same_statements(
    engine: AsyncEngine,
) -> None:
    """A persisted document's compiled plan gives the reference executor's bytes and count."""
    reference, reference_count = await run(engine, LISTING, {"first": 40})
    compiled, compiled_count = await run(engine, LISTING, {"first": 40}, compiled=True)
    assert orjson.dumps(compiled) == orjson.dumps(reference)
    assert (compiled_count, reference_count) == (3, 3)


async def test_the_answer_is_tagged_by_the_list_and_every_candidate(engine: AsyncEngine) -> None:
    """The response carries `recommendations:<id>` and the `product:<id>` of every ranked
    candidate, shown or not, so a new order, an unlisting or a deletion invalidates it."""
    context = RequestContext(db=reader_for(engine), now=datetime.now(UTC))
    body, _ = await run(engine, PRODUCT, {"slug": "product-01", "first": 1}, context=context)
    assert body == {"data": {"product": {"slug": "product-01", "recommendations": [
        {"slug": "product-02"}
    ]}}}  # fmt: skip
    assert context.tags == {
        "product-slug:product-01",
        "product:p01",
        "recommendations:p01",
        *(f"product:{p}" for p in (HIDDEN, GONE, UNPRICED, "p02", "p03", "p05", "p04", "p45")),
    }
