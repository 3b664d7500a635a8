"""Stores over a fresh migrated database, with the real Redis or without Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import create_engine
from infra.readpool import ReadPool
from persisted_queries.store import DocumentStore

# Nothing listens on port 1: connecting fails at once, like a Redis that is down.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
async def dead_redis() -> AsyncIterator[Redis]:
    """A client of a Redis that is down."""
    client = Redis.from_url(DEAD_REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    yield client
    await client.aclose()


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[tuple[AsyncEngine, ReadPool]]:
    """The write engine and the read pool of this test's database."""
    engine = create_engine(database_url)
    reads = ReadPool(database_url)
    yield engine, reads
    await reads.close()
    await engine.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the real, flushed Redis."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["redis", "postgres-only"])
async def store(
    request: pytest.FixtureRequest, pg: tuple[AsyncEngine, ReadPool]
) -> AsyncIterator[DocumentStore]:
    """A store with the Redis cache, and one without (the same behaviour is expected)."""
    engine, reads = pg
    if request.param == "redis":
        client = Redis.from_url(request.getfixturevalue("redis_url"))
        yield DocumentStore(engine, reads, redis=client)
        await client.aclose()
    else:
        yield DocumentStore(engine, reads)
