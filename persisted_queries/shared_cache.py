"""Redis in front of PostgreSQL for persisted documents, shared by every replica.

A cache only: every call swallows Redis errors (logged), and after one it
leaves Redis alone for `retry_after` seconds, so a Redis outage costs one
failed round trip per few seconds, not one per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from persisted_queries.documents import StoredDocument

log = logging.getLogger("vitrine.persisted_queries")

_REDIS_ERRORS = (RedisError, OSError)


class SharedDocumentCache:
    """Documents under their client list and both their keys (id and SHA-256), for `ttl` s."""

    def __init__(
        self,
        redis: Redis,
        *,
        ttl: int = 3600,
        retry_after: float = 5.0,
        key_prefix: str = "vitrine:pq:",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self.ttl = ttl
        self._retry_after = retry_after
        self._prefix = key_prefix
        self._clock = clock
        self._down_until = 0.0

    def key(self, client_name: str, key: str) -> str:
        return self._prefix + orjson.dumps([client_name, key]).decode()

    async def get(self, client_name: str, key: str) -> StoredDocument | None:
        if self._resting():
            return None
        try:
            raw = await self._redis.get(self.key(client_name, key))
        except _REDIS_ERRORS as exc:
            self._failed(exc)
            return None
        return None if raw is None else StoredDocument.from_json(raw)

    async def put(self, documents: Sequence[StoredDocument], *, overwrite: bool) -> None:
        """Cache documents; without `overwrite` an entry already there is kept (APQ must
        never replace a manifest document)."""
        if self._resting() or not documents:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for d in documents:
                    value = d.to_json()
                    for key in {d.id, d.sha256}:
                        pipe.set(self.key(d.client_name, key), value, ex=self.ttl, nx=not overwrite)
                await pipe.execute()
        except _REDIS_ERRORS as exc:
            self._failed(exc)

    async def delete(self, client_name: str, keys: Sequence[str]) -> None:
        if self._resting():
            log.warning("Redis skipped: cached copies expire within %d s", self.ttl)
            return
        try:
            await self._redis.delete(*(self.key(client_name, k) for k in keys))
        except _REDIS_ERRORS as exc:
            self._failed(exc)
            log.warning("cached copies in Redis expire within %d s", self.ttl)

    def _resting(self) -> bool:
        return self._clock() < self._down_until

    def _failed(self, exc: Exception) -> None:
        log.warning(
            "Redis unavailable for persisted documents (%r); using PostgreSQL for %.0f s",
            exc,
            self._retry_after,
        )
        self._down_until = self._clock() + self._retry_after
