"""Publishing what committed projector batches touched, to every gateway process.

Wired as a batch listener of the projector runner, which calls listeners
only after the batch's transaction has committed: tags are never published
before the data they announce is visible. `on_batch` is synchronous and
cheap; the debouncer coalesces batches over the configured window and one
flush then, in order:

1. applies the invalidation to this process's own cache (an in-process
   runner's gateway does not wait for the bus);
2. with Redis, records the tag positions and deletes tagged entries in the
   shared level (atomically, see `RedisStore`) and PUBLISHes the message;
   if Redis is down or its breaker open, NOTIFYs through PostgreSQL instead,
   which every gateway also listens to, and remembers the tags to apply to
   Redis once it answers again;
3. hands the tags to the CDN purge job, if one is configured.

Storms (more than `storm_per_second` tags a second) are counted and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from infra.cdn_purge import CdnPurger
from infra.invalidation.debounce import Debouncer
from infra.invalidation.message import CHANNEL, Invalidation
from infra.invalidation.notify import PostgresNotifier
from infra.invalidation.storm import StormDetector
from infra.response_cache.redis_store import RedisStore, SharedCacheUnavailableError

log = logging.getLogger("vitrine.invalidation")

# Tags kept for replaying into Redis after an outage; past this, a floor replaces them.
MAX_MISSED_TAGS = 50_000


class InvalidationPublisher:
    def __init__(
        self,
        *,
        window: float,
        notifier: PostgresNotifier | None,
        redis: RedisStore | None = None,
        local: Callable[[Invalidation], None] | None = None,
        purger: CdnPurger | None = None,
        storm_per_second: int = 10_000,
        channel: str = CHANNEL,
    ) -> None:
        if notifier is None and redis is None:
            raise ValueError("an invalidation publisher needs Redis or PostgreSQL")
        self._notifier = notifier
        self._redis = redis
        self._local = local
        self._purger = purger
        self._channel = channel
        self._debouncer = Debouncer(window, self._publish)
        self._missed: Invalidation | None = None
        self.storm = StormDetector(storm_per_second)
        self.published = 0
        self.fallbacks = 0

    def on_batch(self, tags: Iterable[str], position: int) -> None:
        """A batch committed at checkpoint `position` touched `tags` (call after commit)."""
        tags = frozenset(tags)
        if tags:
            self._debouncer.add(tags, position)

    def invalidate_everything(self, position: int) -> None:
        """Nothing computed below `position` may be served (e.g. after a bulk repair)."""
        self._debouncer.add((), position, everything=True)

    async def drain(self) -> None:
        """Publish what is pending now (shutdown, tests)."""
        await self._debouncer.drain()

    async def close(self) -> None:
        await self.drain()
        if self._notifier is not None:
            await self._notifier.close()

    async def _publish(self, message: Invalidation) -> None:
        storms = self.storm.storms
        self.storm.record(len(message.tags))
        if self.storm.storms > storms:
            log.warning("invalidation storm: %d tags in the last second", self.storm.rate())
        if self._local is not None:
            self._local(message)
        if not await self._publish_redis(message):
            if self._notifier is None:
                raise SharedCacheUnavailableError("Redis is unavailable and there is no fallback")
            self.fallbacks += 1
            await self._notifier.send(message)
        self.published += 1
        if self._purger is not None and message.tags:
            self._purger.enqueue(message.tags)

    async def _publish_redis(self, message: Invalidation) -> bool:
        if self._redis is None:
            return False
        try:
            if self._missed is not None:
                await self._apply_to_redis(self._missed)
                self._missed = None
            await self._apply_to_redis(message)
            await self._redis.publish(self._channel, message.encode())
        except SharedCacheUnavailableError as exc:
            log.warning("Redis unavailable for invalidations (%s); using NOTIFY", exc)
            self._remember(message)
            return False
        return True

    async def _apply_to_redis(self, message: Invalidation) -> None:
        assert self._redis is not None
        if message.everything:
            await self._redis.invalidate_all(message.position)
        if message.tags:
            await self._redis.invalidate(message.tags, message.position)

    def _remember(self, message: Invalidation) -> None:
        missed = self._missed
        if missed is None:
            self._missed = message
            return
        tags = missed.tags | message.tags
        position = max(missed.position, message.position)
        everything = missed.everything or message.everything or len(tags) > MAX_MISSED_TAGS
        self._missed = Invalidation(position, frozenset() if everything else tags, everything)
