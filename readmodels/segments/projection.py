"""The segments projection: customer segment memberships from CustomerSegmentsChanged.

Each batch loads the current memberships of its customers (one statement),
folds the events over them in memory, and writes only the differences: one
set-wise delete of the pairs that left, one set-wise insert of the pairs that
joined. The diffing's saving is counted in `segment_diff_stats`, in the same
transaction as the rows and the checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.segments.folds import SegmentFold, memberships_by_customer
from readmodels.segments.tables import SEGMENT_TABLES

_LOAD = text(
    "SELECT customer_id, segment FROM customer_segments "
    "WHERE customer_id = ANY(CAST(:ids AS text[]))"
)
_DELETE = text(
    """
    DELETE FROM customer_segments m
    USING unnest(CAST(:customers AS text[]), CAST(:segments AS text[])) AS u(c, s)
    WHERE m.customer_id = u.c AND m.segment = u.s
    """
)
_INSERT = text(
    """
    INSERT INTO customer_segments (customer_id, segment)
    SELECT c, s FROM unnest(CAST(:customers AS text[]), CAST(:segments AS text[])) AS u(c, s)
    ON CONFLICT DO NOTHING
    """
)
_ADD_STATS = text(
    """
    INSERT INTO segment_diff_stats AS t (id, events, rows_requested, rows_written, rows_skipped)
    VALUES (1, :events, :requested, :written, :skipped)
    ON CONFLICT (id) DO UPDATE SET
        events = t.events + excluded.events,
        rows_requested = t.rows_requested + excluded.rows_requested,
        rows_written = t.rows_written + excluded.rows_written,
        rows_skipped = t.rows_skipped + excluded.rows_skipped
    """
)


class SegmentsProjection:
    """Which segments each customer belongs to; tags `segments:<customerId>` on change."""

    name = "segments"
    event_types = frozenset({"CustomerSegmentsChanged"})
    tables: tuple[Table, ...] = SEGMENT_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        customers = sorted({event.data["customerId"] for event in events})
        rows = await conn.execute(_LOAD, {"ids": customers})
        fold = SegmentFold(memberships_by_customer((r.customer_id, r.segment) for r in rows))
        for event in events:
            fold.change(event.data["customerId"], event.data["segments"])
        removed, added = fold.removed(), fold.added()
        if removed:
            await conn.execute(
                _DELETE,
                {"customers": [c for c, _ in removed], "segments": [s for _, s in removed]},
            )
        if added:
            await conn.execute(
                _INSERT,
                {"customers": [c for c, _ in added], "segments": [s for _, s in added]},
            )
        stats = fold.stats
        await conn.execute(
            _ADD_STATS,
            {
                "events": stats.events,
                "requested": stats.rows_requested,
                "written": stats.rows_written,
                "skipped": stats.rows_skipped,
            },
        )
        return {f"segments:{customer}" for customer in fold.changed_customers()}
