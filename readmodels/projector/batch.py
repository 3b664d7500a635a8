"""One projector step: apply the next batch and advance the checkpoint, atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from readmodels.eventlog.store import read_events, read_head
from readmodels.projector.checkpoints import (
    advance_checkpoint,
    advance_checkpoint_past,
    lock_checkpoint,
)
from readmodels.projector.projection import Projection


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one committed batch did.

    `head` is the log's head the batch read (so `head - to_position` events were
    still pending when it committed); `newest_recorded_at` is when the batch's
    last event was appended (its span's lag), None for a batch that applied none.
    """

    projection: str
    from_position: int
    to_position: int
    events: int
    tags: frozenset[str] = field(default_factory=frozenset)
    head: int = 0
    newest_recorded_at: datetime | None = None


async def run_batch(
    engine: AsyncEngine, projection: Projection, *, batch_size: int
) -> BatchOutcome | None:
    """Apply the next batch in one transaction; None when the projection is at the head."""
    async with engine.begin() as conn:
        return await run_batch_in(conn, projection, batch_size=batch_size)


async def run_batch_in(
    conn: AsyncConnection, projection: Projection, *, batch_size: int, upto: int | None = None
) -> BatchOutcome | None:
    """The same, inside the caller's transaction (used by rebuild's catch-up)."""
    checkpoint = await lock_checkpoint(conn, projection.name)
    head = await read_head(conn) if upto is None else upto
    if checkpoint >= head:
        return None
    events = await read_events(
        conn,
        after=checkpoint,
        upto=head,
        limit=batch_size,
        types=sorted(projection.event_types),
    )
    # A full batch ends at its last event; a short one has seen every event of
    # its types up to the head, so the checkpoint can skip to the head.
    to_position = events[-1].position if len(events) == batch_size else head
    tags: set[str] = set()
    recorded_at: datetime | None = None
    if events:
        tags = await projection.apply(conn, events)
        recorded_at = await advance_checkpoint_past(
            conn, projection.name, to_position, events[-1].position
        )
    else:
        await advance_checkpoint(conn, projection.name, to_position)
    return BatchOutcome(
        projection.name,
        checkpoint,
        to_position,
        len(events),
        frozenset(tags),
        head=head,
        newest_recorded_at=recorded_at,
    )
