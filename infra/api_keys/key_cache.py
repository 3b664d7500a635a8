"""A per-process cache in front of the API-key store, bounded in time and in size.

Verified keys are kept for `ttl` seconds (5 s by default): a revocation, or a
rotated or retired secret, takes effect in every process within that time,
and a steady stream of requests costs the database one lookup per key per
period; the least recently used key goes first past `max_entries`. Unknown
ids are remembered apart, at most `max_unknown` of them, so that a stream of
forged ids never pushes a real key out (what bounds that stream is the per-IP
rate limit charged before any lookup: caller_limits.py). `last_used_at` is
written at most once a minute per key and process.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from infra.api_keys.store import StoredKey

log = logging.getLogger("vitrine.api_keys")

TOUCH_INTERVAL_SECONDS = 60.0


class KeyLookup(Protocol):
    async def find(self, key_id: str) -> StoredKey | None: ...

    async def touch(self, key_id: str) -> None: ...

    async def has_active(self, scope: str) -> bool: ...


class CachedKeyLookup:
    """`store`'s answers, remembered for `ttl` seconds (0: never remembered)."""

    def __init__(
        self,
        store: KeyLookup,
        *,
        ttl: float,
        max_entries: int = 10_000,
        max_unknown: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._max_entries = max_entries
        self._max_unknown = max_unknown
        self._clock = clock
        self._keys: OrderedDict[str, tuple[float, StoredKey]] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._active: dict[str, tuple[float, bool]] = {}
        self._touched: dict[str, float] = {}

    async def find(self, key_id: str) -> StoredKey | None:
        now = self._clock()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached[0] < self._ttl:
            self._keys.move_to_end(key_id)
            return cached[1]
        missed = self._unknown.get(key_id)
        if missed is not None and now - missed < self._ttl:
            return None
        stored = await self._store.find(key_id)
        if self._ttl <= 0:
            return stored
        if stored is None:
            self._keys.pop(key_id, None)
            self._unknown[key_id] = now
            self._unknown.move_to_end(key_id)
            if len(self._unknown) > self._max_unknown:
                self._unknown.popitem(last=False)
        else:
            self._unknown.pop(key_id, None)
            self._keys[key_id] = (now, stored)
            self._keys.move_to_end(key_id)
            if len(self._keys) > self._max_entries:
                self._keys.popitem(last=False)
        return stored

    async def has_active(self, scope: str) -> bool:
        now = self._clock()
        cached = self._active.get(scope)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        found = await self._store.has_active(scope)
        self._active[scope] = (now, found)
        return found

    async def touch(self, key_id: str) -> None:
        """Record a use, unless this process did less than a minute ago; never raises."""
        now = self._clock()
        if now - self._touched.get(key_id, -TOUCH_INTERVAL_SECONDS) < TOUCH_INTERVAL_SECONDS:
            return
        self._touched[key_id] = now
        try:
            await self._store.touch(key_id)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not record the use of API key %s: %r", key_id, exc)
