"""The response cache's behaviour, one suite run against L1 alone and against L1 + Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from infra.cache_wiring import cache_redis
from infra.response_cache.cache import ResponseCache
from infra.response_cache.entry import CachedResponse
from infra.response_cache.memory import MemoryLRU
from infra.response_cache.policy import Scope
from infra.response_cache.redis_store import RedisStore


class Wall:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


NewCache = Callable[[], ResponseCache]


def entry(
    wall: Wall,
    *,
    stamp: int,
    tags: tuple[str, ...] = ("product:p1",),
    data: bytes = b'{"product":{"title":"Mug"}}',
    max_age: int = 30,
) -> CachedResponse:
    return CachedResponse.build(
        data,
        frozenset(tags),
        stamp=stamp,
        created_at=wall(),
        max_age=max_age,
        stale_for=max_age,
        scope=Scope.PUBLIC,
    )


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture(params=["memory", "redis"])
async def new_cache(request: pytest.FixtureRequest, wall: Wall) -> AsyncIterator[NewCache]:
    """Builds caches like separate processes: each its own L1, all sharing Redis when present."""
    clients, caches = [], []

    def build() -> ResponseCache:
        if request.param == "memory":
            cache = ResponseCache(MemoryLRU(1_000_000), wall=wall)
        else:
            client = cache_redis(request.getfixturevalue("redis_url"), 0.5)
            clients.append(client)
            cache = ResponseCache(MemoryLRU(1_000_000), RedisStore(client, timeout=0.5), wall=wall)
        caches.append(cache)
        return cache

    yield build
    for cache in caches:
        await cache.drain()
    for client in clients:
        await client.aclose()


async def test_a_stored_answer_is_served_from_memory(new_cache: NewCache, wall: Wall) -> None:
    """put, then get: the same entry, from L1, counted as an L1 hit."""
    cache = new_cache()
    stored = entry(wall, stamp=10)
    assert cache.put("k", stored) is True
    hit = await cache.get("k")
    assert hit is not None
    assert (hit.entry, hit.level, hit.stale) == (stored, "L1", False)
    assert (cache.stats.l1_hits, cache.stats.l1_misses, cache.stats.stores) == (1, 0, 1)


async def test_an_unknown_key_is_a_miss_at_every_level(new_cache: NewCache) -> None:
    """Nothing stored: None, counted as a miss of L1 (and of L2 when there is one)."""
    cache = new_cache()
    assert await cache.get("nothing") is None
    assert cache.stats.l1_misses == 1
    assert cache.stats.l2_misses == (0 if cache.shared is None else 1)


async def test_an_invalidated_answer_is_not_served(new_cache: NewCache, wall: Wall) -> None:
    """An invalidation above the entry's stamp drops it; one at or below its stamp does not."""
    cache = new_cache()
    cache.put("old", entry(wall, stamp=10))
    cache.put("new", entry(wall, stamp=12))
    await cache.drain()
    assert cache.invalidate(["product:p1"], 11) == 1
    assert await cache.get("old") is None
    assert await cache.get("new") is not None


async def test_a_request_that_read_before_an_invalidation_cannot_store(
    new_cache: NewCache, wall: Wall
) -> None:
    """The race: stamp taken, invalidation arrives, then the answer is stored: refused."""
    cache = new_cache()
    stamp = 10  # the request starts and reads old rows...
    cache.invalidate(["product:p1"], 11)  # ...the projector's invalidation arrives...
    assert cache.put("k", entry(wall, stamp=stamp)) is False  # ...and the stale answer is refused
    await cache.drain()
    assert await cache.get("k") is None
    assert cache.stats.refused_stale == 1


async def test_min_position_skips_older_answers_without_dropping_them(
    new_cache: NewCache, wall: Wall
) -> None:
    """An entry stamped below Vitrine-Min-Position is not served to that request, but kept."""
    cache = new_cache()
    cache.put("k", entry(wall, stamp=10))
    assert await cache.get("k", min_stamp=11) is None
    assert await cache.get("k", min_stamp=10) is not None


async def test_stale_answers_are_served_and_refreshed_once(new_cache: NewCache, wall: Wall) -> None:
    """Past max-age an entry is served as stale; concurrent refreshes run once; then it is fresh."""
    cache = new_cache()
    cache.put("k", entry(wall, stamp=10, data=b"[1]"))
    wall.now += 31
    hit = await cache.get("k")
    assert hit is not None
    assert hit.stale is True
    computed = asyncio.Event()
    calls = 0

    async def compute() -> CachedResponse:
        nonlocal calls
        calls += 1
        await computed.wait()
        return entry(wall, stamp=20, data=b"[2]")

    assert cache.refresh("k", compute) is True
    assert cache.refresh("k", compute) is False
    computed.set()
    await cache.drain()
    fresh = await cache.get("k")
    assert fresh is not None
    assert (fresh.entry.data, fresh.stale, calls) == (b"[2]", False, 1)
    assert (cache.stats.refreshes, cache.stats.stale_served) == (1, 1)


async def test_expired_answers_are_not_served(new_cache: NewCache, wall: Wall) -> None:
    """Past max-age plus the stale window an entry is gone."""
    cache = new_cache()
    cache.put("k", entry(wall, stamp=10, max_age=30))
    await cache.drain()
    wall.now += 60
    assert await cache.get("k") is None


async def test_invalidate_all_refuses_everything_below_the_floor(
    new_cache: NewCache, wall: Wall
) -> None:
    """After a gap in what was heard, nothing stamped below the floor is served or stored."""
    cache = new_cache()
    cache.put("k", entry(wall, stamp=10))
    cache.invalidate_all(15)
    assert await cache.get("k") is None
    assert cache.put("k", entry(wall, stamp=14, tags=())) is False
    assert cache.put("k", entry(wall, stamp=15, tags=())) is True
