"""The response cache: an in-process LRU (L1) in front of a shared store (L2, Redis).

A lookup tries L1, then L2 (promoting a hit into L1). Either level's entry
is served only if the tag clock says no invalidation this process heard of
can postdate it, if it is not past its lifetime, and if its stamp reaches
the request's `Vitrine-Min-Position`. An entry past its max-age but inside
its stale-while-revalidate window is served as STALE and the caller asks
for a background refresh (one per key at a time).

Stores go to L1 at once (the tag clock check and the insert run without an
await between them, so no invalidation can slip in) and to L2 in the
background; L2 repeats the check atomically in Redis. Without an L2, or
with its breaker open, the cache runs on L1 alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.trace import SpanKind

from infra.request_scope import current_tracer
from infra.response_cache.entry import CachedResponse, Freshness
from infra.response_cache.memory import MemoryLRU
from infra.response_cache.stats import CacheStats
from infra.response_cache.tag_clock import TagClock

log = logging.getLogger("vitrine.cache")

# Attributes of a lookup's span.
LEVEL = "vitrine.cache.level"
HIT = "vitrine.cache.hit"


class SharedStore(Protocol):
    """The second level (implemented by RedisStore); failures are misses, never errors."""

    async def get(self, key: str) -> CachedResponse | None: ...

    async def put(self, key: str, entry: CachedResponse) -> bool: ...


@dataclass(frozen=True, slots=True)
class Lookup:
    entry: CachedResponse
    level: str  # "L1" or "L2"
    stale: bool


class ResponseCache:
    def __init__(
        self,
        memory: MemoryLRU,
        shared: SharedStore | None = None,
        *,
        tags: TagClock | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.memory = memory
        self.shared = shared
        self.tags = tags or TagClock()
        self.stats = CacheStats()
        self._wall = wall
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refreshing: set[str] = set()

    async def get(self, key: str, *, min_stamp: int = 0) -> Lookup | None:
        """A servable entry for `key` from L1 or L2, or None (a miss).

        On a sampled request each level asked gets a `cache lookup` span
        (`vitrine.cache.level`, `vitrine.cache.hit`)."""
        tracer = current_tracer()
        if tracer is None:
            found = self._from_memory(key, min_stamp)
            if found is not None or self.shared is None:
                return found
            return await self._from_shared(self.shared, key, min_stamp)
        with tracer.start_as_current_span("cache lookup", attributes={LEVEL: "l1"}) as span:
            found = self._from_memory(key, min_stamp)
            span.set_attribute(HIT, found is not None)
        if found is not None or self.shared is None:
            return found
        with tracer.start_as_current_span(
            "cache lookup", kind=SpanKind.CLIENT, attributes={LEVEL: "l2"}
        ) as span:
            found = await self._from_shared(self.shared, key, min_stamp)
            span.set_attribute(HIT, found is not None)
        return found

    def _from_memory(self, key: str, min_stamp: int) -> Lookup | None:
        stats = self.stats
        entry = self.memory.get(key)
        if entry is not None:
            freshness = self._freshness(entry, min_stamp)
            if freshness is Freshness.EXPIRED:
                self.memory.delete(key)
            elif freshness is not None:
                stats.l1_hits += 1
                stats.stale_served += freshness is Freshness.STALE
                return Lookup(entry, "L1", freshness is Freshness.STALE)
        stats.l1_misses += 1
        return None

    async def _from_shared(self, shared: SharedStore, key: str, min_stamp: int) -> Lookup | None:
        stats = self.stats
        entry = await shared.get(key)
        freshness = None if entry is None else self._freshness(entry, min_stamp)
        if entry is None or freshness is None or freshness is Freshness.EXPIRED:
            stats.l2_misses += 1
            return None
        self.memory.put(key, entry)
        stats.l2_hits += 1
        stats.stale_served += freshness is Freshness.STALE
        return Lookup(entry, "L2", freshness is Freshness.STALE)

    def put(self, key: str, entry: CachedResponse) -> bool:
        """Keep `entry` unless an invalidation already postdates its stamp."""
        if not self.tags.is_current(entry.tags, entry.stamp):
            self.stats.refused_stale += 1
            return False
        self.stats.stores += 1
        self.memory.put(key, entry)
        if self.shared is not None:
            self._spawn(self.shared.put(key, entry))
        return True

    def invalidate(self, tags: Iterable[str], position: int) -> int:
        """Heard from the bus: drop L1 entries with these tags stamped below `position`."""
        tags = list(tags)
        self.tags.invalidate(tags, position)
        dropped = self.memory.delete_tagged(tags, below=position)
        self.stats.invalidations += 1
        self.stats.invalidated_tags += len(tags)
        self.stats.invalidated_entries += dropped
        return dropped

    def invalidate_all(self, position: int) -> None:
        """Nothing stamped below `position` may be served or stored again."""
        self.tags.invalidate_all(position)
        self.stats.invalidated_entries += len(self.memory)
        self.memory.clear()

    def refresh(self, key: str, compute: Callable[[], Awaitable[CachedResponse | None]]) -> bool:
        """Recompute a stale entry in the background; False if one is already under way."""
        if key in self._refreshing:
            return False
        self._refreshing.add(key)
        self.stats.refreshes += 1
        self._spawn(self._refresh(key, compute))
        return True

    async def drain(self) -> None:
        """Wait for background writes and refreshes (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _refresh(
        self, key: str, compute: Callable[[], Awaitable[CachedResponse | None]]
    ) -> None:
        try:
            entry = await compute()
            if entry is not None:
                self.put(key, entry)
        except Exception:
            self.stats.refresh_errors += 1
            log.warning("background refresh of a cached response failed", exc_info=True)
        finally:
            self._refreshing.discard(key)

    def _freshness(self, entry: CachedResponse, min_stamp: int) -> Freshness | None:
        """EXPIRED also stands for "invalidated"; None: valid, but older than the client asks."""
        if not self.tags.is_current(entry.tags, entry.stamp):
            self.stats.invalid_dropped += 1
            return Freshness.EXPIRED
        freshness = entry.freshness(self._wall())
        if freshness is not Freshness.EXPIRED and entry.stamp < min_stamp:
            return None
        return freshness

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
