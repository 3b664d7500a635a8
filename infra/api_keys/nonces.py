"""Remembering request nonces, so that a signed request cannot be replayed.

A nonce is claimed once per key for twice the signature window: after that
the timestamp alone refuses the request. Redis holds the claims every
replica shares (one `SET NX EX` round trip); each process also keeps its own
bounded memory of the nonces it saw.

While Redis is unreachable (or its breaker open) the process memory answers
alone: a replay to the same process is still refused, a replay to another
replica is not. That is safe for what signed requests do: appending events
is idempotent by event id (contract/events.md), and pushing a manifest or
removing a document twice changes nothing more than doing it once. When
the memory is full the oldest nonce is forgotten first (counted in
`evicted`); its timestamp expires soonest anyway.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from infra.response_cache.breaker import CircuitBreaker

log = logging.getLogger("vitrine.api_keys")

REDIS_PREFIX = "vitrine:nonce:"


class NonceStoreUnavailableError(Exception):
    """The store could not say whether the nonce is new (Redis down or slow)."""


class NonceStore(Protocol):
    async def claim(self, key_id: str, nonce: str) -> bool:
        """True the first time a (key, nonce) pair is claimed within the TTL, then False."""
        ...


class MemoryNonces:
    """One process's nonces: expiring after `ttl` seconds, at most `max_entries` of them."""

    def __init__(
        self, *, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        # Insertion order is expiry order (one TTL for all): expired ones sit at the front.
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._expiry)

    async def claim(self, key_id: str, nonce: str) -> bool:
        now = self._clock()
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)
        name = f"{key_id}:{nonce}"
        if name in self._expiry:
            return False
        self._expiry[name] = now + self._ttl
        if len(self._expiry) > self._max_entries:
            self._expiry.popitem(last=False)
            self.evicted += 1
        return True


class RedisNonces:
    """The nonces every replica shares: one `SET key 1 NX EX ttl` per claim."""

    def __init__(self, redis: Redis, *, ttl: int, prefix: str = REDIS_PREFIX) -> None:
        self._redis = redis
        self._ttl = ttl
        self._prefix = prefix

    async def claim(self, key_id: str, nonce: str) -> bool:
        try:
            stored = await self._redis.set(
                f"{self._prefix}{key_id}:{nonce}", b"1", nx=True, ex=self._ttl
            )
        except (RedisError, OSError) as exc:
            raise NonceStoreUnavailableError(str(exc)) from exc
        return bool(stored)


class ReplayGuard:
    """Process memory always, Redis when it answers; see the module docstring."""

    def __init__(
        self,
        memory: MemoryNonces,
        shared: RedisNonces | None,
        *,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._memory = memory
        self._shared = shared
        self._breaker = breaker or CircuitBreaker()
        self.fallbacks = 0  # claims the memory answered alone while Redis was away

    async def claim(self, key_id: str, nonce: str) -> bool:
        if not await self._memory.claim(key_id, nonce):
            return False
        if self._shared is None:
            return True
        if not self._breaker.allow():
            self.fallbacks += 1
            return True
        try:
            fresh = await self._shared.claim(key_id, nonce)
        except NonceStoreUnavailableError as exc:
            self._breaker.failure()
            self.fallbacks += 1
            log.warning("nonce store: Redis unavailable (%s); this process's memory answers", exc)
            return True
        self._breaker.success()
        return fresh
