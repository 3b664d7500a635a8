"""Invalidation storms: too many tags invalidated per second, detected and counted.

A storm is not an error (a bulk import legitimately touches everything) but
it empties caches and, with a CDN, fans out into purge calls, so operators
want to see it. The detector keeps a one-second sliding count of invalidated
tags; crossing `per_second` starts a storm (counted once), and it ends when
the rate falls back under the threshold. Pure: the clock is injected.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class StormDetector:
    def __init__(self, per_second: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._window: deque[tuple[float, int]] = deque()
        self._count = 0
        self.active = False
        self.storms = 0  # storms started, for metrics

    def record(self, tags: int) -> bool:
        """Count `tags` invalidations now; True while a storm is on."""
        now = self._clock()
        self._window.append((now, tags))
        self._count += tags
        return self._update(now)

    def rate(self) -> int:
        """Tags invalidated over the last second."""
        self._update(self._clock())
        return self._count

    def _update(self, now: float) -> bool:
        window = self._window
        while window and window[0][0] <= now - 1.0:
            self._count -= window.popleft()[1]
        storming = self._count > self.per_second
        if storming and not self.active:
            self.storms += 1
        self.active = storming
        return storming
