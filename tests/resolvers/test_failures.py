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
