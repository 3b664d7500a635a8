"""The Redis level shared by several processes: atomic stores and invalidations, the breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from infra.cache_wiring import cache_redis
from infra.response_cache.breaker import BreakerState, CircuitBreaker
from infra.response_cache.cache import ResponseCache
from infra.response_cache.entry import CachedResponse
from infra.response_cache.memory import MemoryLRU
from infra.response_cache.policy import Scope
from infra.response_cache.redis_store import RedisStore, SharedCacheUnavailableError
from tests.e2e.server import free_port

Process = Callable[[], ResponseCache]


def entry(*, stamp: int, tags: tuple[str, ...] = ("product:p1", "listing:all")) -> CachedResponse:
    return CachedResponse.build(
        b'{"x":1}',
        frozenset(tags),
        stamp=stamp,
        created_at=time.time(),
        max_age=30,
        stale_for=30,
        scope=Scope.PUBLIC,
    )


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    client = cache_redis(redis_url, 0.5)
    yield client
    await client.aclose()


@pytest.fixture
async def process(client: Redis) -> AsyncIterator[Process]:
    """Each call is one gateway process: its own L1, the shared Redis as L2."""
    caches: list[ResponseCache] = []

    def start() -> ResponseCache:
        caches.append(ResponseCache(MemoryLRU(1_000_000), RedisStore(client, timeout=0.5)))
        return caches[-1]

    yield start
    for cache in caches:
        await cache.drain()


async def test_an_answer_stored_by_one_process_is_served_by_another(process: Process) -> None:
    """Process B misses L1, hits L2 for A's answer, and then has it in its own L1."""
    a, b = process(), process()
    stored = entry(stamp=10)
    a.put("k", stored)
    await a.drain()
    first = await b.get("k")
    second = await b.get("k")
    assert first is not None
    assert second is not None
    assert (first.entry, first.level, second.level) == (stored, "L2", "L1")
    assert (b.stats.l1_misses, b.stats.l2_hits, b.stats.l1_hits) == (1, 1, 1)


async def test_entries_expire_in_redis_with_their_lifetime(client: Redis, process: Process) -> None:
    """The Redis key lives max-age plus the stale window (60 s here), the tag sets as long."""
    cache = process()
    cache.put("k", entry(stamp=10))
    await cache.drain()
    assert 59_000 < await client.pttl("vitrine:rc:e:k") <= 60_000
    assert 59_000 < await client.pttl("vitrine:rc:t:product:p1") <= 60_000
    assert await client.smembers("vitrine:rc:t:listing:all") == {b"k"}


async def test_invalidation_in_redis_deletes_and_outlives_the_entries(
    client: Redis, process: Process
) -> None:
    """Redis-side invalidation deletes tagged entries and remembers the tag's position, so a
    process that never heard of it cannot be served them either."""
    a = process()
    a.put("old", entry(stamp=10))
    a.put("new", entry(stamp=12, tags=("product:p1",)))
    await a.drain()
    store = RedisStore(client)
    assert await store.invalidate(["product:p1"], 11) == 2
    assert await client.get("vitrine:rc:p:product:p1") == b"11"
    late = process()
    assert await late.get("old") is None
    assert await late.get("new") is None


async def test_a_store_racing_an_invalidation_is_refused_by_redis(
    client: Redis, process: Process
) -> None:
    """A process that has not heard of an invalidation yet keeps its stale answer in L1 only:
    Redis refuses it atomically, so no other process is served it."""
    slow = process()
    await RedisStore(client).invalidate(["product:p1"], 11)  # committed, not yet heard by `slow`
    assert slow.put("k", entry(stamp=10)) is True  # L1 accepts: it has heard nothing
    await slow.drain()
    assert isinstance(slow.shared, RedisStore)
    assert slow.shared.refused == 1
    assert await client.exists("vitrine:rc:e:k") == 0
    assert await process().get("k") is None
    slow.invalidate(["product:p1"], 11)  # the message arrives: L1 drops it too
    assert await slow.get("k") is None


async def test_a_floor_in_redis_refuses_older_stores(client: Redis, process: Process) -> None:
    """invalidate_all records a floor: stores stamped below it are refused."""
    store = RedisStore(client)
    await store.invalidate_all(20)
    cache = process()
    cache.put("below", entry(stamp=19))
    cache.put("at", entry(stamp=20))
    await cache.drain()
    assert (await client.exists("vitrine:rc:e:below"), await client.exists("vitrine:rc:e:at")) == (
        0,
        1,
    )


async def test_a_dead_redis_costs_nothing_and_trips_the_breaker() -> None:
    """Nothing listening: reads miss and writes are skipped without raising; after three
    failures the breaker opens and Redis is not even tried; invalidations raise for a fallback."""
    client = cache_redis(f"redis://127.0.0.1:{free_port()}/0", 0.05)
    breaker = CircuitBreaker(failure_threshold=3, reset_after=60)
    store = RedisStore(client, breaker=breaker, timeout=0.05)
    cache = ResponseCache(MemoryLRU(1_000_000), store)
    started = time.monotonic()
    for n in range(5):
        assert cache.put(f"k{n}", entry(stamp=1)) is True
        await cache.drain()
        assert (await cache.get(f"other{n}")) is None
    assert time.monotonic() - started < 2.0
    assert breaker.state is BreakerState.OPEN
    assert (store.errors, breaker.opened) == (3, 1)
    assert breaker.rejected == 7
    assert (await cache.get("k4")) is not None  # L1 keeps serving
    with pytest.raises(SharedCacheUnavailableError, match="breaker is open"):
        await store.invalidate(["product:p1"], 5)
    await client.aclose()
