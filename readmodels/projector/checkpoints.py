"""Reading and advancing projection checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CHECKPOINTS_CHANNEL = "vitrine_checkpoints"
GENERATIONS_CHANNEL = "vitrine_generations"

_ENSURE = text(
    "INSERT INTO projection_checkpoints (name, position) VALUES (:name, 0) "
    "ON CONFLICT (name) DO NOTHING"
)
_LOCK = text("SELECT position FROM projection_checkpoints WHERE name = :name FOR UPDATE")
_ADVANCE = text(
    "UPDATE projection_checkpoints SET position = :position, updated_at = now() WHERE name = :name"
)
# The same, also returning when event `newest` was appended: a batch's span reports how
# old its newest event is, and a primary-key lookup inside this statement costs no round
# trip of its own (a separate SELECT per batch would, sampled or not).
_ADVANCE_AFTER = text(
    "UPDATE projection_checkpoints SET position = :position, updated_at = now() WHERE name = :name "
    "RETURNING (SELECT recorded_at FROM event_log WHERE position = :newest)"
)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
_ALL = text("SELECT name, position FROM projection_checkpoints")
_GENERATIONS = text("SELECT name, generation FROM projection_checkpoints")
_BUMP = text(
    "UPDATE projection_checkpoints SET generation = generation + 1 WHERE name = :name "
    "RETURNING generation"
)


async def lock_checkpoint(conn: AsyncConnection, name: str) -> int:
    """Lock the projection's checkpoint row for this transaction and return its position.

    The row lock is what makes a batch safe even if two runners exist: the
    second waits, then reads the checkpoint the first committed.
    """
    position = (await conn.execute(_LOCK, {"name": name})).scalar_one_or_none()
    if position is None:
        await conn.execute(_ENSURE, {"name": name})
        position = (await conn.execute(_LOCK, {"name": name})).scalar_one()
    return int(position)


async def advance_checkpoint(conn: AsyncConnection, name: str, position: int) -> None:
    await conn.execute(_ADVANCE, {"name": name, "position": position})
    await conn.execute(_NOTIFY, {"channel": CHECKPOINTS_CHANNEL, "payload": f"{name}:{position}"})


async def advance_checkpoint_past(
    conn: AsyncConnection, name: str, position: int, newest: int
) -> datetime | None:
    """`advance_checkpoint`, returning when the event at position `newest` (the last one a
    batch applied) was recorded, in the same statement; None if the log has no such event."""
    params = {"name": name, "position": position, "newest": newest}
    recorded: datetime | None = (await conn.execute(_ADVANCE_AFTER, params)).scalar_one()
    await conn.execute(_NOTIFY, {"channel": CHECKPOINTS_CHANNEL, "payload": f"{name}:{position}"})
    return recorded


async def read_checkpoints(conn: AsyncConnection) -> dict[str, int]:
    return {row.name: int(row.position) for row in await conn.execute(_ALL)}


async def read_generations(conn: AsyncConnection) -> dict[str, int]:
    return {row.name: int(row.generation) for row in await conn.execute(_GENERATIONS)}


async def bump_generation(conn: AsyncConnection, name: str) -> int:
    """Start a new generation of projection `name` (in the transaction that swaps its tables),
    announced on GENERATIONS_CHANNEL when the transaction commits."""
    generation = int((await conn.execute(_BUMP, {"name": name})).scalar_one())
    await conn.execute(_NOTIFY, {"channel": GENERATIONS_CHANNEL, "payload": f"{name}:{generation}"})
    return generation
