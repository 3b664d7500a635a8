"""Write-through of the gateway's seen/dismiss mutations: append and apply in one transaction.

The mutation's events go into the log and, in the same transaction, through
the projection's own `apply`, so `insight_state` and `insight_audit` hold
them when the transaction commits: the mutation's answer and the creator's
next dashboard reflect them however far behind the projector is. The
projector applies them again later, harmlessly (the projection is idempotent).

An action that changes nothing (an insight already seen, already dismissed)
is not appended: repeating a mutation leaves the log, the state and the audit
trail as they were, and the audit says who did it first, and when. Two
concurrent first actions may both be appended; the state keeps the earlier,
the audit records both, as both happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.eventlog.store import append_events_in
from readmodels.events import Event, StoredEvent
from readmodels.insights import state_folds as folds
from readmodels.insights.rows import InsightStateRow
from readmodels.insights.state_projection import InsightStateProjection

_CURRENT = text(
    """
    SELECT s.creator_id, s.insight_id, s.seen_at, s.dismissed_at
    FROM insight_state s
    JOIN unnest(CAST(:c AS text[]), CAST(:i AS text[])) AS k(c, i)
        ON s.creator_id = k.c AND s.insight_id = k.i
    """
)

_PROJECTION = InsightStateProjection()


class StateWrite(NamedTuple):
    """What a write-through appended (positions, in order) and the tags it touched."""

    positions: list[int]
    tags: set[str]


async def write_insight_state(conn: AsyncConnection, events: Sequence[Event]) -> StateWrite:
    """Append the events that change something and apply them, in the caller's transaction."""
    current = await _current_states(conn, {folds.state_key(event) for event in events})
    kept = folds.effective(events, current)
    if not kept:
        return StateWrite([], set())
    appended = await append_events_in(conn, kept)
    stored = [
        StoredEvent(position, event.id, event.type, event.occurred_at, event.data)
        for position, event in zip(appended.positions, kept, strict=True)
    ]
    tags = await _PROJECTION.apply(conn, stored)
    return StateWrite(appended.positions, tags)


async def _current_states(
    conn: AsyncConnection, keys: set[folds.StateKey]
) -> dict[folds.StateKey, InsightStateRow]:
    if not keys:
        return {}
    ordered = sorted(keys)
    rows = await conn.execute(
        _CURRENT, {"c": [key[0] for key in ordered], "i": [key[1] for key in ordered]}
    )
    return {
        (row.creator_id, row.insight_id): InsightStateRow(
            row.insight_id, row.seen_at, row.dismissed_at
        )
        for row in rows
    }
