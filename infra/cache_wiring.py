"""Composition of the response cache: levels, invalidation bus, CDN purges, metrics.

Two roles, one module. A gateway process (`create_app`) builds everything
with `response_caching`: the L1 memory level, Redis as L2 when
`VITRINE_REDIS_URL` is set (one client, created here, opened lazily on the
lifespan's loop), the listener that hears invalidations, and, when it also
runs projectors, a publisher. A projector process (`vitrine projectors run`,
and the CLI's catch-ups) only publishes: `batch_publisher`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from infra.cdn_purge import CdnPurger
from infra.invalidation.listener import InvalidationListener
from infra.invalidation.message import Invalidation
from infra.invalidation.notify import PostgresNotifier
from infra.invalidation.publisher import InvalidationPublisher
from infra.response_cache.breaker import BreakerState, CircuitBreaker
from infra.response_cache.cache import ResponseCache
from infra.response_cache.front import ResponseCacheFront
from infra.response_cache.memory import MemoryLRU
from infra.response_cache.policy import PolicyCache
from infra.response_cache.redis_store import RedisStore
from infra.response_cache.stats import CacheCollector
from infra.settings import Settings
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.watcher import CheckpointWatcher
from schema.cache_hints import CACHE_HINTS

log = logging.getLogger("vitrine.cache")

BatchListener = Callable[[BatchOutcome], None]


def cache_redis(url: str, timeout: float) -> Redis:
    """A client whose calls fail fast: small timeouts, no retries (the breaker decides)."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def cdn_purger(settings: Settings) -> CdnPurger | None:
    if settings.cdn_purge_url is None:
        return None
    return CdnPurger(
        settings.cdn_purge_url,
        token=settings.cdn_purge_token,
        header=settings.cdn_purge_header,
        delay=max(settings.cache_debounce_ms / 1000, 0.05),
    )


@dataclass
class ResponseCaching:
    """The response cache of one gateway process; `start`/`stop` in the lifespan."""

    front: ResponseCacheFront
    cache: ResponseCache | None = None
    redis: Redis | None = None
    store: RedisStore | None = None
    listener: InvalidationListener | None = None
    publisher: InvalidationPublisher | None = None
    purger: CdnPurger | None = None
    # Process-local collectors (this cache's, and the app's others): see infra/metrics_registry.py.
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    async def start(self) -> None:
        if self.listener is not None:
            await self.listener.start()

    async def stop(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()
        if self.purger is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.purger.drain(), timeout=5)
            await self.purger.close()
        if self.listener is not None:
            await self.listener.stop()
        if self.cache is not None:
            await self.cache.drain()
        if self.redis is not None:
            await self.redis.aclose()

    def on_batch(self, outcome: BatchOutcome) -> None:
        """The in-process runner's batch listener (called after the batch committed)."""
        if self.publisher is not None:
            self.publisher.on_batch(outcome.tags, outcome.to_position)

    def snapshot(self) -> tuple[dict[str, int], dict[str, float]]:
        counters: dict[str, int] = {}
        gauges: dict[str, float] = {}
        if self.cache is not None:
            counters.update(self.cache.stats.as_dict())
            counters["l1_evictions"] = self.cache.memory.evictions
            counters["tag_clock_collapses"] = self.cache.tags.collapses
            gauges["l1_bytes"] = self.cache.memory.bytes
            gauges["l1_entries"] = len(self.cache.memory)
            gauges["tag_clock_tags"] = len(self.cache.tags)
        if self.store is not None:
            counters["l2_errors"] = self.store.errors
            counters["l2_refused_stale"] = self.store.refused
            counters["l2_breaker_opened"] = self.store.breaker.opened
            counters["l2_breaker_rejected"] = self.store.breaker.rejected
            gauges["l2_breaker_open"] = float(self.store.breaker.state is not BreakerState.CLOSED)
        if self.listener is not None:
            counters["bus_received"] = self.listener.received
            counters["bus_gaps"] = self.listener.gaps
            counters["invalidation_storms"] = self.listener.storm.storms
            gauges["invalidation_storm_active"] = float(self.listener.storm.active)
            gauges["invalidation_tags_per_second"] = self.listener.storm.rate()
        if self.publisher is not None:
            counters["bus_published"] = self.publisher.published
            counters["bus_fallbacks"] = self.publisher.fallbacks
        if self.purger is not None:
            counters["cdn_purge_calls"] = self.purger.sent
            counters["cdn_purge_failed_tags"] = self.purger.failed
            counters["cdn_purge_retries"] = self.purger.retries
            counters["cdn_purge_dropped_tags"] = self.purger.dropped
        return counters, gauges


def response_caching(
    settings: Settings,
    schema: GraphQLSchema,
    watcher: CheckpointWatcher,
    dsn: str,
    *,
    publish: bool,
) -> ResponseCaching:
    """The gateway's response cache; `publish` when projectors run in this process."""
    policies = PolicyCache(schema, CACHE_HINTS)

    def generations() -> Mapping[str, int]:
        return watcher.generations

    def position() -> int:
        return watcher.position

    if not settings.response_cache:
        front = ResponseCacheFront(None, policies, generations=generations, position=position)
        caching = ResponseCaching(front)
        if publish:
            caching.purger = cdn_purger(settings)
            caching.publisher = _publisher(settings, dsn, None, caching.purger, local=None)
        caching.registry.register(CacheCollector(caching.snapshot))
        return caching
    timeout = settings.cache_redis_timeout_ms / 1000
    redis = cache_redis(settings.redis_url, timeout) if settings.redis_url else None
    store = RedisStore(redis, breaker=CircuitBreaker(), timeout=timeout) if redis else None
    cache = ResponseCache(MemoryLRU(settings.cache_memory_bytes), store)
    front = ResponseCacheFront(cache, policies, generations=generations, position=position)

    def sink(message: Invalidation) -> None:
        if message.everything:
            cache.invalidate_all(message.position)
        if message.tags:
            cache.invalidate(message.tags, message.position)

    async def on_gap(reason: str) -> None:
        # What we may have missed was committed by now: the head bounds its positions.
        with contextlib.suppress(Exception):
            await watcher.refresh()
        cache.invalidate_all(watcher.head)

    listener = InvalidationListener(
        sink=sink,
        on_gap=on_gap,
        redis_url=settings.redis_url,
        dsn=dsn,
        storm_per_second=settings.cache_storm_per_second,
    )
    caching = ResponseCaching(front, cache, redis, store, listener)
    if publish:
        caching.purger = cdn_purger(settings)
        caching.publisher = _publisher(settings, dsn, store, caching.purger, local=sink)
    caching.registry.register(CacheCollector(caching.snapshot))
    return caching


def _publisher(
    settings: Settings,
    dsn: str,
    store: RedisStore | None,
    purger: CdnPurger | None,
    *,
    local: Callable[[Invalidation], None] | None,
) -> InvalidationPublisher:
    return InvalidationPublisher(
        window=settings.cache_debounce_ms / 1000,
        notifier=PostgresNotifier(dsn),
        redis=store,
        local=local,
        purger=purger,
        storm_per_second=settings.cache_storm_per_second,
    )


@contextlib.asynccontextmanager
async def batch_publisher(settings: Settings, dsn: str) -> AsyncIterator[BatchListener]:
    """A batch listener publishing invalidations, for processes that project but do not
    serve (`vitrine projectors run`, catch-ups); pending ones are published at exit."""
    redis: Any = None
    store = None
    if settings.redis_url:
        # A projector can afford to wait for Redis longer than a request can.
        redis = cache_redis(settings.redis_url, max(settings.cache_redis_timeout_ms / 1000, 0.5))
        store = RedisStore(redis, timeout=max(settings.cache_redis_timeout_ms / 1000, 0.5))
    purger = cdn_purger(settings)
    publisher = _publisher(settings, dsn, store, purger, local=None)
    try:
        yield lambda outcome: publisher.on_batch(outcome.tags, outcome.to_position)
    finally:
        await publisher.close()
        if purger is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(purger.drain(), timeout=30)
            await purger.close()
        if redis is not None:
            await redis.aclose()
