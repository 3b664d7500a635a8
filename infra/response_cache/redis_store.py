"""The shared level: cached answers in Redis, behind a circuit breaker.

Three kinds of keys, under one prefix: `e:<key>` the encoded entry (expiring
with the entry's lifetime), `t:<tag>` the set of entry keys carrying a tag,
and `p:<tag>` the last invalidation position of a tag. Storing and
invalidating are Lua scripts, so Redis runs each atomically: a store whose
stamp is older than one of its tags' positions is refused, and an
invalidation records the positions and deletes the tagged entries in one
step. Whatever the interleaving of a slow request's store and a projector's
invalidation, an answer that predates the invalidation cannot stay in Redis,
and a process that starts later (and never heard the invalidation) cannot
read it. Tag positions live `position_ttl` seconds, longer than any entry.

Every call is bounded by `timeout` and goes through the breaker: when Redis
is down or slow, reads are misses and writes are skipped, at no cost to the
request. Invalidations raise `SharedCacheUnavailableError` instead, so the
publisher can fall back to another bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError

from infra.response_cache.breaker import CircuitBreaker
from infra.response_cache.entry import CachedResponse

log = logging.getLogger("vitrine.cache")

_STORE = """
local prefix, key, stamp = ARGV[1], ARGV[2], tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local floor = redis.call('GET', prefix .. 'floor')
if floor and tonumber(floor) > stamp then return 0 end
for i = 6, #ARGV do
  local p = redis.call('GET', prefix .. 'p:' .. ARGV[i])
  if p and tonumber(p) > stamp then return 0 end
end
redis.call('SET', prefix .. 'e:' .. key, ARGV[3], 'PX', ttl)
for i = 6, #ARGV do
  local t = prefix .. 't:' .. ARGV[i]
  redis.call('SADD', t, key)
  if redis.call('PTTL', t) < ttl then redis.call('PEXPIRE', t, ttl) end
end
return 1
"""

_INVALIDATE = """
local prefix, position, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local dropped = 0
for i = 4, #ARGV do
  local p = prefix .. 'p:' .. ARGV[i]
  local known = redis.call('GET', p)
  if (not known) or tonumber(known) < position then
    redis.call('SET', p, ARGV[2], 'PX', ttl)
  else
    redis.call('PEXPIRE', p, ttl)
  end
  local t = prefix .. 't:' .. ARGV[i]
  for _, key in ipairs(redis.call('SMEMBERS', t)) do
    dropped = dropped + redis.call('DEL', prefix .. 'e:' .. key)
  end
  redis.call('DEL', t)
end
return dropped
"""

_FLOOR = """
local known = redis.call('GET', ARGV[1] .. 'floor')
if (not known) or tonumber(known) < tonumber(ARGV[2]) then
  redis.call('SET', ARGV[1] .. 'floor', ARGV[2], 'PX', ARGV[3])
end
return 1
"""

# Tags per invalidation script call: keeps each call (which blocks Redis) short.
TAGS_PER_CALL = 500


class SharedCacheUnavailableError(Exception):
    """Redis could not take the invalidation (down, slow, or the breaker is open)."""


class RedisStore:
    """Entries in Redis; `client` is a `redis.asyncio.Redis` with small socket timeouts."""

    def __init__(
        self,
        client: Any,
        *,
        breaker: CircuitBreaker | None = None,
        prefix: str = "vitrine:rc:",
        timeout: float = 0.05,
        position_ttl: float = 3600.0,
    ) -> None:
        self._client = client
        self.breaker = breaker or CircuitBreaker()
        self._prefix = prefix
        self._timeout = timeout
        self._position_ttl_ms = int(position_ttl * 1000)
        self._store = client.register_script(_STORE)
        self._invalidate = client.register_script(_INVALIDATE)
        self._floor = client.register_script(_FLOOR)
        self.errors = 0
        self.refused = 0  # stores refused because a tag was invalidated after the stamp

    async def get(self, key: str) -> CachedResponse | None:
        """The entry, or None when absent, unreadable, or Redis is unavailable."""
        raw = await self._call(self._client.get, self._prefix + "e:" + key)
        if raw is None:
            return None
        try:
            return CachedResponse.decode(raw)
        except ValueError:
            log.warning("unreadable cache entry %s; ignoring it", key)
            return None

    async def put(self, key: str, entry: CachedResponse) -> bool:
        """Store unless a tag was invalidated after `entry.stamp`; False when not stored."""
        ttl_ms = max(int(entry.lifetime * 1000), 1)
        args = [self._prefix, key, entry.encode(), entry.stamp, ttl_ms, *sorted(entry.tags)]
        stored = await self._call(self._store, keys=[], args=args)
        if stored == 0:
            self.refused += 1
        return bool(stored)

    async def invalidate(self, tags: Iterable[str], position: int) -> int:
        """Record `position` for `tags` and delete what carries them; returns entries deleted."""
        ordered = sorted(tags)
        dropped = 0
        for start in range(0, len(ordered), TAGS_PER_CALL):
            chunk = ordered[start : start + TAGS_PER_CALL]
            args = [self._prefix, position, self._position_ttl_ms, *chunk]
            dropped += int(await self._required(self._invalidate, keys=[], args=args))
        return dropped

    async def invalidate_all(self, position: int) -> None:
        """Refuse every entry stamped below `position` from now on (storms, lost messages)."""
        args = [self._prefix, position, self._position_ttl_ms]
        await self._required(self._floor, keys=[], args=args)

    async def publish(self, channel: str, payload: bytes) -> int:
        """PUBLISH on the same connection pool and breaker; returns the receivers."""
        return int(await self._required(self._client.publish, channel, payload))

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.breaker.allow():
            return None
        try:
            async with asyncio.timeout(self._timeout):
                result = await function(*args, **kwargs)
        except (OSError, TimeoutError, ConnectionError, RedisError) as exc:
            self.errors += 1
            self.breaker.failure()
            log.debug("redis unavailable: %r", exc)
            return None
        self.breaker.success()
        return result

    async def _required(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.breaker.allow():
            raise SharedCacheUnavailableError("the Redis circuit breaker is open")
        try:
            async with asyncio.timeout(max(self._timeout, 0.5)):
                result = await function(*args, **kwargs)
        except (OSError, TimeoutError, ConnectionError, RedisError) as exc:
            self.errors += 1
            self.breaker.failure()
            raise SharedCacheUnavailableError(str(exc) or type(exc).__name__) from exc
        self.breaker.success()
        return result
