"""Coalescing invalidations over a short window before publishing them.

A projector commits batch after batch during a burst of events; publishing
each batch's tags separately would send many small messages touching the
same hot tags. The first invalidation after a quiet spell opens a window of
`window` seconds; everything added until it closes is published as one
message (union of tags, highest position). The window never slides, so no
invalidation waits longer than `window` (plus the publish itself): that
bound is the freshness guarantee's debounce term.

Flushes run one at a time, in order; a flush that fails puts its tags back
so the next window carries them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from infra.invalidation.message import Invalidation

log = logging.getLogger("vitrine.invalidation")

Flush = Callable[[Invalidation], Awaitable[None]]


class Debouncer:
    def __init__(self, window: float, flush: Flush) -> None:
        self._window = window
        self._flush = flush
        self._tags: set[str] = set()
        self._position = 0
        self._everything = False
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing = 0  # consecutive failed flushes: retries back off
        self.flushes = 0
        self.failures = 0

    @property
    def pending(self) -> bool:
        return bool(self._tags) or self._everything

    def add(self, tags: Iterable[str], position: int, *, everything: bool = False) -> None:
        """Queue an invalidation (callable from synchronous code, e.g. a batch listener)."""
        self._tags.update(tags)
        self._everything = self._everything or everything
        self._position = max(self._position, position)
        if self.pending and self._timer is None:
            loop = asyncio.get_running_loop()
            delay = self._window if not self._failing else min(0.1 * 2**self._failing, 5.0)
            self._timer = loop.call_later(delay, self._fire)

    async def drain(self) -> None:
        """Flush whatever is pending now and wait for every flush to finish."""
        if self._timer is not None:
            self._timer.cancel()
            self._fire()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _fire(self) -> None:
        self._timer = None
        if not self.pending:
            return
        message = Invalidation(self._position, frozenset(self._tags), self._everything)
        self._tags, self._everything = set(), False
        task = asyncio.get_running_loop().create_task(self._run(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, message: Invalidation) -> None:
        async with self._lock:
            try:
                await self._flush(message)
                self.flushes += 1
                self._failing = 0
            except Exception:
                self.failures += 1
                self._failing += 1
                if self._failing == 1:
                    log.exception("publishing invalidations failed; retrying with backoff")
                self.add(message.tags, message.position, everything=message.everything)
