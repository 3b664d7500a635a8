"""Read-model queries of the insight state: one statement per call, aligned with keys."""

from __future__ import annotations

from collections.abc import Sequence

from readmodels.insights.rows import InsightStateRow
from readmodels.reader import Reader

# The primary key (creator_id, insight_id) serves the lookup by creator.
_STATES = (
    "SELECT creator_id, insight_id, seen_at, dismissed_at FROM insight_state "
    "WHERE creator_id = ANY($1)"
)


async def insight_states(
    db: Reader, creator_ids: Sequence[str]
) -> list[dict[str, InsightStateRow]]:
    """Each creator's insight states by insight id; an empty dict for a creator with none."""
    rows = await db.fetch(_STATES, list(creator_ids))
    found: dict[str, dict[str, InsightStateRow]] = {}
    for row in rows:
        found.setdefault(row["creator_id"], {})[row["insight_id"]] = InsightStateRow(
            row["insight_id"], row["seen_at"], row["dismissed_at"]
        )
    return [found.get(creator_id, {}) for creator_id in creator_ids]
