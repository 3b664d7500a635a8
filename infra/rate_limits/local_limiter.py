"""Buckets in this process: the fallback when Redis is not configured or not answering.

The same policies and the same arithmetic (`gcra.admit`) as the Redis
script, over a dict of TATs. Each process counts for itself, so N processes
admit up to N times a quota between them: the price of staying up without
Redis. A check never awaits, so on one event loop it is atomic.

Memory is bounded: past `max_keys` buckets, the full ones (TAT in the past,
the same as absent) are dropped, then, if that is not enough, the least
recently charged ones, so a flood of new client addresses cannot grow it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from infra.rate_limits.gcra import Admission, Cell, admit
from infra.rate_limits.policies import Bucket


def monotonic_microseconds() -> int:
    return time.monotonic_ns() // 1000


class LocalLimiter:
    """Per-process buckets; `clock` returns microseconds (monotonic by default)."""

    def __init__(
        self,
        *,
        clock: Callable[[], int] = monotonic_microseconds,
        max_keys: int = 100_000,
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._tats: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._tats)

    def acquire(self, buckets: Sequence[Bucket]) -> Admission:
        now = self._clock()
        tats = self._tats
        cells = [Cell(b.limit.quota.interval, b.limit.quota.capacity, b.charge) for b in buckets]
        admission, ends = admit([tats.get(b.key) for b in buckets], now, cells)
        if admission.allowed:
            for bucket, end in zip(buckets, ends, strict=True):
                # Re-inserted at the end: the dict's order is least recently charged first.
                tats.pop(bucket.key, None)
                if end > now:
                    tats[bucket.key] = end
            if len(tats) > self._max_keys:
                self._shrink(now)
        return admission

    def _shrink(self, now: int) -> None:
        tats = self._tats
        for key in [k for k, tat in tats.items() if tat <= now]:
            del tats[key]
        excess = len(tats) - self._max_keys * 9 // 10
        if excess > 0:
            for key in list(tats)[:excess]:
                del tats[key]
