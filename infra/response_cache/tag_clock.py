"""Per-tag invalidation positions: the rule that keeps stale answers out of the cache.

Positions are event-log positions, the same in every process. An invalidation
says "what carries tag t may predate position P" (P: the checkpoint the
projector's batch committed). An entry whose `stamp` (the position every
projection had reached before its request read anything) is below P for one
of its tags may hold pre-P data, so it is neither stored nor served. This
closes the race where a request reads old rows, the invalidation arrives,
and the request then stores its answer: the store is refused, because the
request's stamp predates the invalidation; and an answer stored just before
an invalidation is refused when read. The check is conservative: at worst a
fresh answer is recomputed.

Memory stays bounded two ways. Positions older than `retention` are dropped
(two generations of dicts, swapped every `retention` seconds): by then no
entry or request can be older than them. And past `max_tags` distinct tags
(an invalidation storm), everything collapses into one floor position: every
answer below it is refused, which costs a cold cache, never a stale answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

Clock = Callable[[], float]


class TagClock:
    """What this process knows about invalidations, by tag."""

    def __init__(
        self,
        *,
        max_tags: int = 200_000,
        retention: float = 3600.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._max_tags = max_tags
        self._retention = retention
        self._clock = clock
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}
        self._rotated_at = clock()
        self.floor = 0
        self.invalidated_tags = 0
        self.collapses = 0

    def invalidate(self, tags: Iterable[str], position: int) -> None:
        """Everything carrying one of `tags` may predate `position`."""
        self._rotate()
        current = self._current
        for tag in tags:
            self.invalidated_tags += 1
            if current.get(tag, 0) < position:
                current[tag] = position
        if len(current) + len(self._previous) > self._max_tags:
            self.collapses += 1
            self.invalidate_all(
                max(max(current.values(), default=0), max(self._previous.values(), default=0))
            )

    def invalidate_all(self, position: int) -> None:
        """Everything may predate `position` (a storm, or a gap in what we heard)."""
        self.floor = max(self.floor, position)
        self._current = {t: p for t, p in self._current.items() if p > self.floor}
        self._previous = {t: p for t, p in self._previous.items() if p > self.floor}

    def is_current(self, tags: Iterable[str], stamp: int) -> bool:
        """True when no invalidation this process heard of can postdate an answer stamped
        `stamp` carrying `tags`."""
        if stamp < self.floor:
            return False
        current, previous = self._current.get, self._previous.get
        return not any(current(t, 0) > stamp or previous(t, 0) > stamp for t in tags)

    def position_of(self, tag: str) -> int:
        return max(self._current.get(tag, 0), self._previous.get(tag, 0), self.floor)

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def _rotate(self) -> None:
        now = self._clock()
        if now - self._rotated_at < self._retention:
            return
        if now - self._rotated_at >= 2 * self._retention:
            self._previous = {}
        else:
            self._previous = self._current
        self._current = {}
        self._rotated_at = now
