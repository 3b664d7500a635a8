"""The read side's view of projection progress: read-your-writes and freshness.

The gateway keeps, in memory, the checkpoint of each projection it reads and
the log's head, fed by NOTIFY (and by the in-process runner directly) with a
polling fallback. A request carrying `Vitrine-Min-Position: N` waits on this
object, never on the database, and every response reports the position and
lag from it at no cost. It also knows each projection's generation (bumped
when a rebuild swaps tables in), which the response cache puts in its keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.eventlog.store import EVENTS_CHANNEL, read_head
from readmodels.projector.checkpoints import (
    CHECKPOINTS_CHANNEL,
    GENERATIONS_CHANNEL,
    read_checkpoints,
    read_generations,
)

log = logging.getLogger("vitrine.watcher")


class CheckpointWatcher:
    """Tracks min(checkpoint) over the projections a gateway reads, and the head."""

    def __init__(
        self,
        engine: AsyncEngine,
        dsn: str | None,
        names: Iterable[str],
        *,
        poll_interval: float = 1.0,
    ) -> None:
        self._engine = engine
        self._dsn = dsn
        self._names = frozenset(names)
        self._poll_interval = poll_interval
        self._positions = dict.fromkeys(self._names, 0)
        self._generations = dict.fromkeys(self._names, 1)
        self._head = 0
        self._behind_since: float | None = None
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._listen: Any = None

    @property
    def position(self) -> int:
        """The position every watched projection has reached."""
        return min(self._positions.values(), default=self._head)

    @property
    def head(self) -> int:
        return self._head

    @property
    def positions(self) -> Mapping[str, int]:
        """Each watched projection's checkpoint, as last heard (read-only)."""
        return MappingProxyType(self._positions)

    @property
    def generations(self) -> Mapping[str, int]:
        """Each watched projection's generation (changes when a rebuild swaps it in)."""
        return self._generations

    def observe_generation(self, name: str, generation: int) -> None:
        if name in self._generations and generation > self._generations[name]:
            # A new dict, so a reader holding the old one keeps a consistent view.
            self._generations = {**self._generations, name: generation}

    def lag_ms(self) -> int:
        """How long the read models have been behind the head (0 when caught up)."""
        if self._behind_since is None:
            return 0
        return int((time.monotonic() - self._behind_since) * 1000)

    def observe(self, name: str, position: int) -> None:
        """Record that projection `name` reached `position`."""
        if name in self._positions and position > self._positions[name]:
            self._positions[name] = position
            self._head = max(self._head, position)
            self._update_lag()

    def observe_head(self, head: int) -> None:
        if head > self._head:
            self._head = head
            self._update_lag()

    def _update_lag(self) -> None:
        if self.position >= self._head:
            self._behind_since = None
        elif self._behind_since is None:
            self._behind_since = time.monotonic()
        if self._task is not None:
            asyncio.get_running_loop().create_task(self._notify_waiters())

    async def _notify_waiters(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, position: int, within: float) -> bool:
        """Wait until every watched projection has reached `position`; False on timeout."""
        if self.position >= position:
            return True
        deadline = time.monotonic() + within
        async with self._changed:
            while self.position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    # Bounded waits keep polling as the safety net when no NOTIFY arrives.
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
                if self.position < position:
                    await self.refresh()
        return True

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            checkpoints = await read_checkpoints(conn)
            generations = await read_generations(conn)
            head = await read_head(conn)
        for name, position in checkpoints.items():
            self.observe(name, position)
        for name, generation in generations.items():
            self.observe_generation(name, generation)
        self.observe_head(head)

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._poll(), name="checkpoint-watcher")
        if self._dsn is not None:
            try:
                self._listen = await asyncpg.connect(self._dsn)
                await self._listen.add_listener(CHECKPOINTS_CHANNEL, self._on_checkpoint)
                await self._listen.add_listener(EVENTS_CHANNEL, self._on_head)
                await self._listen.add_listener(GENERATIONS_CHANNEL, self._on_generation)
            except Exception:
                log.warning("LISTEN unavailable; falling back to polling", exc_info=True)
                self._listen = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listen is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listen.close(), timeout=5)
            self._listen = None

    def _on_checkpoint(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        name, _, position = payload.rpartition(":")
        with contextlib.suppress(ValueError):
            self.observe(name, int(position))

    def _on_generation(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        name, _, generation = payload.rpartition(":")
        with contextlib.suppress(ValueError):
            self.observe_generation(name, int(generation))

    def _on_head(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.observe_head(int(payload))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.refresh()
            except Exception:
                log.warning("checkpoint poll failed", exc_info=True)
