"""The engine-backed `EventWriter`: the gateway's own mutations write through here.

One transaction appends the events, applies them to their read model where
the mutation reads its own write (`readmodels.insights.state_writes`) and
NOTIFYs the invalidation of the tags
that changed, delivered by PostgreSQL at commit to every gateway's listener.
This process's own cache hears it synchronously, before the mutation
answers, so the same client's next query can never be served a cached answer
that predates its write. The invalidation's position is the last appended
one: an answer computed before the projector reaches it is neither stored
nor served.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.invalidation.message import CHANNEL, Invalidation, split
from readmodels.eventlog.store import append_events_in
from readmodels.events import Event
from readmodels.insights.state_writes import write_insight_state

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")

LocalSink = Callable[[Invalidation], object]


class EngineEventWriter:
    """Writes on the primary (`engine`); `local` is this process's cache invalidation."""

    def __init__(self, engine: AsyncEngine, *, local: LocalSink | None = None) -> None:
        self._engine = engine
        self._local = local

    async def append(self, events: Sequence[Event]) -> list[int]:
        async with self._engine.begin() as conn:
            appended = await append_events_in(conn, events)
        return appended.positions

    async def append_insight_state(self, events: Sequence[Event]) -> list[int]:
        async with self._engine.begin() as conn:
            written = await write_insight_state(conn, events)
            invalidation = await _announce(conn, written.positions, written.tags)
        self._hear(invalidation)
        return written.positions

    def _hear(self, invalidation: Invalidation | None) -> None:
        if invalidation is not None and self._local is not None:
            self._local(invalidation)


async def _announce(
    conn: AsyncConnection, positions: Sequence[int], tags: Collection[str]
) -> Invalidation | None:
    """NOTIFY the invalidation of `tags` at the last position, in the caller's transaction."""
    if not tags or not positions:
        return None
    invalidation = Invalidation(max(positions), frozenset(tags))
    for part in split(invalidation):
        await conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": part.encode().decode()})
    return invalidation
