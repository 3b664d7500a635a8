"""The invalidation bus end to end in one process: projector runner, publisher, listeners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.cache_wiring import cache_redis
from infra.database import asyncpg_dsn
from infra.invalidation.listener import InvalidationListener
from infra.invalidation.message import Invalidation
from infra.invalidation.notify import PostgresNotifier
from infra.invalidation.publisher import InvalidationPublisher
from infra.response_cache.breaker import CircuitBreaker
from infra.response_cache.redis_store import RedisStore
from readmodels.catalog.projection import CatalogProjection
from readmodels.events import StoredEvent
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.checkpoints import read_checkpoints
from readmodels.projector.runner import ProjectorRunner
from tests.e2e.events import mug_store
from tests.readmodels.streams import append_raw
from tests.readmodels.waiting import wait_until


class Heard:
    """What a listener heard, and the gaps it reported."""

    def __init__(self) -> None:
        self.messages: list[Invalidation] = []
        self.gaps: list[str] = []

    def sink(self, message: Invalidation) -> None:
        self.messages.append(message)

    async def gap(self, reason: str) -> None:
        self.gaps.append(reason)

    def tags(self) -> set[str]:
        return {tag for message in self.messages for tag in message.tags}


@pytest.fixture
async def heard(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[Heard, InvalidationListener]]:
    """A gateway's listener on both buses, subscribed before the test starts."""
    heard = Heard()
    listener = InvalidationListener(
        sink=heard.sink, on_gap=heard.gap, redis_url=redis_url, dsn=asyncpg_dsn(database_url)
    )
    await listener.start()
    assert listener.connected == {"redis": True, "postgres": True}
    yield heard, listener
    await listener.stop()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    client = cache_redis(redis_url, 0.5)
    yield client
    await client.aclose()


class RecordingProjection:
    """The catalog projection, remembering the connection each batch ran on."""

    def __init__(self) -> None:
        self.inner = CatalogProjection()
        self.name, self.event_types = self.inner.name, self.inner.event_types
        self.tables: tuple[Table, ...] = self.inner.tables
        self.connections: list[AsyncConnection] = []

    def extra_ddl(self) -> Sequence[str]:
        return self.inner.extra_ddl()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        self.connections.append(conn)
        return await self.inner.apply(conn, events)


async def test_tags_are_published_after_the_batch_commits(
    engine: AsyncEngine, database_url: str, client: Redis, heard: tuple[Heard, InvalidationListener]
) -> None:
    """The runner hands a batch to the publisher only once its transaction is over; every
    gateway then hears its tags at the committed checkpoint."""
    listener_heard, _ = heard
    projection = RecordingProjection()
    publisher = InvalidationPublisher(
        window=0.01,
        notifier=PostgresNotifier(asyncpg_dsn(database_url)),
        redis=RedisStore(client, timeout=0.5),
    )
    committed_when_published: list[bool] = []

    def on_batch(outcome: BatchOutcome) -> None:
        committed_when_published.append(projection.connections[-1].closed)
        publisher.on_batch(outcome.tags, outcome.to_position)

    runner = ProjectorRunner(
        engine, asyncpg_dsn(database_url), [projection], poll_interval=0.05, listeners=[on_batch]
    )
    task = asyncio.create_task(runner.run())
    try:
        await append_raw(engine, mug_store())
        await wait_until(
            lambda: _has(listener_heard, "price:p1"), within=10, what="the price tag is heard"
        )
    finally:
        runner.stop()
        await task
        await publisher.close()
    async with engine.connect() as conn:
        checkpoint = (await read_checkpoints(conn))["catalog"]
    assert committed_when_published == [True] * len(committed_when_published)
    assert listener_heard.tags() == {
        "product:p1",
        "product-slug:mug",
        "price:p1",
        "store:s1",
        "store-slug:s",
        "listing:all",
        "listing:s:s1",
    }
    assert max(m.position for m in listener_heard.messages) == checkpoint == 3
    assert (publisher.published, publisher.fallbacks) == (len(listener_heard.messages), 0)


async def _has(heard: Heard, tag: str) -> bool:
    return tag in heard.tags()


async def test_with_redis_down_invalidations_go_through_postgres(
    database_url: str, client: Redis, heard: tuple[Heard, InvalidationListener]
) -> None:
    """With the breaker open the publisher NOTIFYs instead; once Redis answers again the missed
    tags are applied to Redis before the next message."""
    listener_heard, _ = heard
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after=5, clock=lambda: now[0])
    breaker.failure()
    publisher = InvalidationPublisher(
        window=0.0,
        notifier=PostgresNotifier(asyncpg_dsn(database_url)),
        redis=RedisStore(client, breaker=breaker, timeout=0.5),
    )
    publisher.on_batch({"product:p1"}, 7)
    await publisher.drain()
    await wait_until(lambda: _has(listener_heard, "product:p1"), within=10, what="NOTIFY arrives")
    assert publisher.fallbacks == 1
    assert await client.get("vitrine:rc:p:product:p1") is None
    now[0] = 10.0  # the breaker lets a trial through: Redis is back
    publisher.on_batch({"product:p2"}, 9)
    await publisher.drain()
    await wait_until(lambda: _has(listener_heard, "product:p2"), within=10, what="PUBLISH arrives")
    assert await client.get("vitrine:rc:p:product:p1") == b"7"
    assert await client.get("vitrine:rc:p:product:p2") == b"9"
    assert publisher.fallbacks == 1
    await publisher.close()


async def test_subscribing_and_losing_a_bus_are_gaps(
    database_url: str, heard: tuple[Heard, InvalidationListener]
) -> None:
    """Each subscription is a gap (nothing heard before it), and so is a lost connection, after
    which the listener subscribes again and hears new messages."""
    listener_heard, listener = heard
    assert sorted(listener_heard.gaps) == ["postgres subscribed", "redis subscribed"]
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN %vitrine_invalidations%'"
        )
        await wait_until(
            lambda: _gaps(listener_heard, 4), within=10, what="the listener subscribes again"
        )
        assert listener_heard.gaps[2:] == ["postgres lost", "postgres subscribed"]
        await admin.execute(
            "SELECT pg_notify('vitrine_invalidations', $1)",
            Invalidation(5, frozenset({"store:s9"})).encode().decode(),
        )
        await wait_until(lambda: _has(listener_heard, "store:s9"), within=10, what="NOTIFY heard")
    finally:
        await admin.close()
    assert listener.malformed == 0


async def _gaps(heard: Heard, count: int) -> bool:
    return len(heard.gaps) >= count
