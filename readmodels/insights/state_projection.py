"""The insight-state projection: seen/dismissed by creator and insight, and the audit trail.

Everything here is idempotent per event, because every gateway mutation
applies its own events right away (`state_writes`, read-your-writes) and the
projector applies them again later, and a rebuild replays them once more:
`insight_state` keeps the earliest moment of each fact (LEAST ignores NULL),
and `insight_audit` is keyed by the event id, ON CONFLICT DO NOTHING. The
batch's tags (`insight-state:<creatorId>`) name only creators whose state
really changed, so the projector's pass over events a mutation already
applied invalidates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.insights import state_folds as folds
from readmodels.insights.tables import insight_audit, insight_state
from readmodels.sql import upsert

# The WHERE keeps unchanged rows out of RETURNING: only real changes are tagged.
_MERGE_STATE = text(
    """
    INSERT INTO insight_state AS s (creator_id, insight_id, seen_at, dismissed_at)
    SELECT c, i, se, di
    FROM unnest(CAST(:c AS text[]), CAST(:i AS text[]),
                CAST(:se AS timestamptz[]), CAST(:di AS timestamptz[])) AS u(c, i, se, di)
    ON CONFLICT (creator_id, insight_id) DO UPDATE
        SET seen_at = LEAST(s.seen_at, excluded.seen_at),
            dismissed_at = LEAST(s.dismissed_at, excluded.dismissed_at)
        WHERE s.seen_at IS DISTINCT FROM LEAST(s.seen_at, excluded.seen_at)
           OR s.dismissed_at IS DISTINCT FROM LEAST(s.dismissed_at, excluded.dismissed_at)
    RETURNING creator_id
    """
)


def state_tag(creator_id: str) -> str:
    return f"insight-state:{creator_id}"


class InsightStateProjection:
    """Which insights each creator has seen or dismissed (first moment of each), and
    one audit row per seen/dismiss action."""

    name = "insight-state"
    event_types = frozenset({folds.SEEN, folds.DISMISSED})
    tables: tuple[Table, ...] = (insight_state, insight_audit)

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        await upsert(conn, insight_audit, folds.audit_rows(events), keys=["event_id"], update=[])
        return await merge_state(conn, folds.fold_state(events))


async def merge_state(
    conn: AsyncConnection, changes: dict[folds.StateKey, folds.StateChange]
) -> set[str]:
    """Fold the batch's earliest moments into the rows; the tags of creators that changed."""
    if not changes:
        return set()
    keys = sorted(changes)
    rows = await conn.execute(
        _MERGE_STATE,
        {
            "c": [key[0] for key in keys],
            "i": [key[1] for key in keys],
            "se": [changes[key].seen_at for key in keys],
            "di": [changes[key].dismissed_at for key in keys],
        },
    )
    return {state_tag(row.creator_id) for row in rows}
