"""Request nonces: one suite for the process memory and Redis, then the fallback between them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from infra.api_key_wiring import NONCE_TTL_SECONDS
from infra.api_keys.nonces import (
    REDIS_PREFIX,
    MemoryNonces,
    NonceStore,
    NonceStoreUnavailableError,
    RedisNonces,
    ReplayGuard,
)
from infra.response_cache.breaker import CircuitBreaker
from tests.e2e.server import free_port

TTL = 600


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def down_redis() -> AsyncIterator[Redis]:
    """A client of a port nobody listens on: every call fails to connect."""
    client = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[NonceStore]:
    if request.param == "memory":
        yield MemoryNonces(ttl=TTL, max_entries=1000)
        return
    client = Redis.from_url(redis_url)
    yield RedisNonces(client, ttl=TTL)
    await client.aclose()


async def test_a_nonce_is_claimed_once(store: NonceStore) -> None:
    """The first claim of a nonce succeeds, the second is refused."""
    assert await store.claim("k1", "nonce-aaaaaaaaaaaaaaaa") is True
    assert await store.claim("k1", "nonce-aaaaaaaaaaaaaaaa") is False


async def test_nonces_are_per_key(store: NonceStore) -> None:
    """The same nonce under two keys is two claims."""
    assert await store.claim("k1", "nonce-bbbbbbbbbbbbbbbb") is True
    assert await store.claim("k2", "nonce-bbbbbbbbbbbbbbbb") is True
    assert await store.claim("k2", "nonce-bbbbbbbbbbbbbbbb") is False


async def test_redis_keeps_a_nonce_for_the_ttl(redis: Redis) -> None:
    """Redis stores the claim under the documented key with the app's TTL: 661 s, the 601 s
    a timestamp is accepted for plus 60 s of clock skew between replicas."""
    ttl = NONCE_TTL_SECONDS
    assert ttl == 661
    assert await RedisNonces(redis, ttl=ttl).claim("k1", "nonce-cccccccccccccccc") is True
    key = f"{REDIS_PREFIX}k1:nonce-cccccccccccccccc"
    assert await redis.get(key) == b"1"
    assert 659 <= await redis.ttl(key) <= ttl


async def test_memory_forgets_a_nonce_after_the_ttl() -> None:
    """In memory, a nonce may be claimed again once its TTL has passed."""
    clock = Clock()
    memory = MemoryNonces(ttl=TTL, max_entries=10, clock=clock)
    assert await memory.claim("k1", "n" * 16) is True
    clock.now += TTL - 0.001
    assert await memory.claim("k1", "n" * 16) is False
    clock.now += 0.001
    assert await memory.claim("k1", "n" * 16) is True
    assert len(memory) == 1


async def test_memory_is_bounded_and_forgets_the_oldest_first() -> None:
    """Past its bound the memory evicts the oldest nonce (and counts it), never grows."""
    memory = MemoryNonces(ttl=TTL, max_entries=3, clock=Clock())
    for index in range(4):
        assert await memory.claim("k1", f"nonce-{index:016d}") is True
    assert len(memory) == 3
    assert memory.evicted == 1
    assert await memory.claim("k1", f"nonce-{3:016d}") is False
    assert await memory.claim("k1", f"nonce-{0:016d}") is True


async def test_redis_that_cannot_be_reached_raises_unavailable(down_redis: Redis) -> None:
    """An unreachable Redis is an error the guard can fall back on, not an answer."""
    with pytest.raises(NonceStoreUnavailableError):
        await RedisNonces(down_redis, ttl=TTL).claim("k1", "nonce-dddddddddddddddd")


async def test_a_replay_across_processes_is_refused_through_redis(redis: Redis) -> None:
    """Two guards (two processes) sharing Redis: a nonce used at one is refused at the other."""
    first = ReplayGuard(MemoryNonces(ttl=TTL, max_entries=10), RedisNonces(redis, ttl=TTL))
    second = ReplayGuard(MemoryNonces(ttl=TTL, max_entries=10), RedisNonces(redis, ttl=TTL))
    assert await first.claim("k1", "nonce-eeeeeeeeeeeeeeee") is True
    assert await second.claim("k1", "nonce-eeeeeeeeeeeeeeee") is False


async def test_without_redis_the_process_memory_still_refuses_a_replay(down_redis: Redis) -> None:
    """With Redis down the guard answers from memory: first accepted, replay refused."""
    breaker = CircuitBreaker(failure_threshold=1, reset_after=60)
    guard = ReplayGuard(
        MemoryNonces(ttl=TTL, max_entries=10), RedisNonces(down_redis, ttl=TTL), breaker=breaker
    )
    assert await guard.claim("k1", "nonce-ffffffffffffffff") is True
    assert await guard.claim("k1", "nonce-ffffffffffffffff") is False
    assert await guard.claim("k1", "nonce-gggggggggggggggg") is True
    assert guard.fallbacks == 2
    assert breaker.opened == 1


async def test_a_nonce_seen_while_redis_was_up_is_refused_from_memory_when_it_is_down(
    redis: Redis, down_redis: Redis
) -> None:
    """Every claim is also remembered locally, so an outage does not reopen recent nonces."""
    memory = MemoryNonces(ttl=TTL, max_entries=10)
    assert await ReplayGuard(memory, RedisNonces(redis, ttl=TTL)).claim("k1", "h" * 16) is True
    assert (
        await ReplayGuard(memory, RedisNonces(down_redis, ttl=TTL)).claim("k1", "h" * 16) is False
    )
