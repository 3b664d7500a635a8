"""Appending to and reading from the event log.

Gap-free positions. A plain sequence hands out numbers at insert time but
transactions commit in any order, so a reader that remembers "the last
position I saw" can see 12 before 11 commits and skip 11 forever. Here every
append first locks the single `event_log_head` row and takes its positions
from it: appends are serialised, and a later appender cannot take the lock
(let alone commit) until the earlier one's rows are visible. A rolled-back
append releases the lock without advancing the head, so its positions are
reused and no gap ever appears. Readers can therefore read "position > N"
and never miss a late commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from readmodels.events import Event, StoredEvent

EVENTS_CHANNEL = "vitrine_events"

_LOCK_HEAD = text("SELECT position FROM event_log_head WHERE id = 1 FOR UPDATE")
_INIT_HEAD = text(
    "INSERT INTO event_log_head (id, position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
)
_KNOWN = text("SELECT event_id, position FROM event_log WHERE event_id = ANY(CAST(:ids AS uuid[]))")
_INSERT = text(
    """
    INSERT INTO event_log (position, event_id, type, occurred_at, data)
    SELECT p, i, t, o, CAST(d AS jsonb)
    FROM unnest(CAST(:positions AS bigint[]), CAST(:ids AS uuid[]), CAST(:types AS text[]),
                CAST(:occurred AS timestamptz[]), CAST(:data AS text[])) AS u(p, i, t, o, d)
    """
)
_SET_HEAD = text("UPDATE event_log_head SET position = :head WHERE id = 1")
_NOTIFY = text("SELECT pg_notify(:channel, :head)")
_READ = text(
    """
    SELECT position, event_id, type, occurred_at, data::text AS data
    FROM event_log
    WHERE position > :after AND position <= :upto
    ORDER BY position
    LIMIT :limit
    """
)
_READ_TYPES = text(
    """
    SELECT position, event_id, type, occurred_at, data::text AS data
    FROM event_log
    WHERE position > :after AND position <= :upto AND type = ANY(CAST(:types AS text[]))
    ORDER BY position
    LIMIT :limit
    """
)
_HEAD = text("SELECT position FROM event_log_head WHERE id = 1")


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Positions of the batch, in input order; duplicates get their original position."""

    positions: list[int]
    appended: int
    head: int


async def append_events(engine: AsyncEngine, events: Sequence[Event]) -> AppendResult:
    """Append validated events all-or-nothing, idempotent by event id."""
    async with engine.begin() as conn:
        return await append_events_in(conn, events)


async def append_events_in(conn: AsyncConnection, events: Sequence[Event]) -> AppendResult:
    """Append inside the caller's transaction (the caller commits or rolls back)."""
    head = (await conn.execute(_LOCK_HEAD)).scalar_one_or_none()
    if head is None:
        await conn.execute(_INIT_HEAD)
        head = (await conn.execute(_LOCK_HEAD)).scalar_one()
    ids = [str(event.id) for event in events]
    known: dict[UUID, int] = {}
    if ids:
        rows = await conn.execute(_KNOWN, {"ids": ids})
        known = {row.event_id: row.position for row in rows}
    fresh: list[tuple[int, Event]] = []
    positions: list[int] = []
    next_position = head
    for event in events:
        position = known.get(event.id)
        if position is None:
            next_position += 1
            position = next_position
            known[event.id] = position
            fresh.append((position, event))
        positions.append(position)
    if fresh:
        await conn.execute(
            _INSERT,
            {
                "positions": [position for position, _ in fresh],
                "ids": [str(event.id) for _, event in fresh],
                "types": [event.type for _, event in fresh],
                "occurred": [event.occurred_at for _, event in fresh],
                "data": [orjson.dumps(event.data).decode() for _, event in fresh],
            },
        )
        await conn.execute(_SET_HEAD, {"head": next_position})
        await conn.execute(_NOTIFY, {"channel": EVENTS_CHANNEL, "head": str(next_position)})
    return AppendResult(positions=positions, appended=len(fresh), head=next_position)


async def read_head(conn: AsyncConnection) -> int:
    """The last committed position (0 for an empty log)."""
    return int((await conn.execute(_HEAD)).scalar_one_or_none() or 0)


async def read_events(
    conn: AsyncConnection,
    *,
    after: int,
    upto: int,
    limit: int,
    types: Sequence[str] | None = None,
) -> list[StoredEvent]:
    """Events with after < position <= upto, in position order, optionally of some types."""
    params: dict[str, Any] = {"after": after, "upto": upto, "limit": limit}
    if types is None:
        rows = await conn.execute(_READ, params)
    else:
        rows = await conn.execute(_READ_TYPES, {**params, "types": list(types)})
    return [
        StoredEvent(row.position, row.event_id, row.type, row.occurred_at, orjson.loads(row.data))
        for row in rows
    ]
