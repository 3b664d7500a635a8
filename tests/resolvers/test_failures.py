"""Failure behaviour: a slow statement errors its own field and the rest of the response stands."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from infra.database import create_engine
from tests.resolvers.execution import run
from tests.resolvers.world import load_world

QUERY = '{ category(slug: "kitchen") { name } product(slug: "product-1") { title } }'


async def test_statement_timeout_errors_the_field_not_the_response(database_url: str) -> None:
    """While products are locked, the product field fails with STATEMENT_TIMEOUT; the category still answers."""
    setup = create_engine(database_url)
    try:
        await load_world(setup)
        async with setup.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(text("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"))
            body, _ = await asyncio.wait_for(
                run(setup, QUERY, statement_timeout_ms=300), timeout=10
            )
            await transaction.rollback()
        assert body["data"] == {"category": {"name": "Kitchen"}, "product": None}
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (["product"], "STATEMENT_TIMEOUT")
        ]
        body, _ = await run(setup, QUERY, statement_timeout_ms=300)
        assert body == {
            "data": {"category": {"name": "Kitchen"}, "product": {"title": "Steel Cup 1"}}
        }
    finally:
        await setup.dispose()


async def test_unreachable_database_is_a_coded_error(database_url: str) -> None:
    """A database that refuses connections yields READ_MODEL_UNAVAILABLE, not a crash."""
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        body, _ = await run(engine, QUERY)
    finally:
        await engine.dispose()
    assert body["data"] == {"category": None, "product": None}
    assert {e["extensions"]["code"] for e in body["errors"]} == {"READ_MODEL_UNAVAILABLE"}


UNSTORABLE_SLUG = """query Slug($slug: String!) {
  category(slug: "kitchen") { name }
  product(slug: $slug) { title }
}"""
UNSTORABLE_FILTER = """query Filter($search: String!, $price: Decimal!) {
  products(filter: { search: $search, minPrice: $price }) { totalCount }
}"""


async def test_a_value_postgresql_cannot_take_is_bad_user_input(database_url: str) -> None:
    """A NUL in a slug or a search, or a price past PostgreSQL's numeric range, errors its own
    field with BAD_USER_INPUT (never INTERNAL_SERVER_ERROR); the rest of the response stands."""
    engine = create_engine(database_url)
    try:
        await load_world(engine)
        slug, _ = await run(engine, UNSTORABLE_SLUG, {"slug": "product-1\x00"})
        nul, _ = await run(engine, UNSTORABLE_FILTER, {"search": "cup\x00", "price": "1"})
        price, _ = await run(engine, UNSTORABLE_FILTER, {"search": "cup", "price": "-1e-999999"})
    finally:
        await engine.dispose()
    assert slug["data"] == {"category": {"name": "Kitchen"}, "product": None}
    assert [(e["path"], e["extensions"]["code"]) for e in slug["errors"]] == [
        (["product"], "BAD_USER_INPUT")
    ]
    for body in (nul, price):
        assert body["data"] is None
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (["products"], "BAD_USER_INPUT")
        ]
