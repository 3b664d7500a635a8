"""The engine-backed EventWriter: append, write-through and invalidation in one transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn
from infra.event_writer import EngineEventWriter
from infra.invalidation.message import CHANNEL, Invalidation
from readmodels.events import Event

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def seen(insight: str) -> Event:
    data = {"creatorId": "cr-1", "insightId": insight, "actor": "cu-1"}
    return Event(uuid.uuid4(), "InsightSeen", AT, data)


async def test_a_write_invalidates_locally_and_over_notify(
    engine: AsyncEngine, database_url: str
) -> None:
    """The changed creator's tag is invalidated at the last position, here and on the bus."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
    local: list[Invalidation] = []
    writer = EngineEventWriter(engine, local=local.append)
    try:
        assert await writer.append_insight_state([seen("a"), seen("b")]) == [1, 2]
        expected = Invalidation(2, frozenset({"insight-state:cr-1"}))
        assert local == [expected]
        message = await asyncio.wait_for(heard.get(), timeout=5)
        assert Invalidation.decode(message) == expected
        assert await writer.append_insight_state([seen("a")]) == []
        assert local == [expected]
    finally:
        await listener.close()
    assert heard.empty()
