"""Read-model queries of customer segments: one statement per call, aligned with keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.reader import Reader
from readmodels.segments.folds import skipped_share

_BY_CUSTOMERS = (
    "SELECT customer_id, segment FROM customer_segments "
    "WHERE customer_id = ANY($1) ORDER BY customer_id, segment"
)
_DIFF_STATS = text(
    "SELECT events, rows_requested, rows_written, rows_skipped FROM segment_diff_stats WHERE id = 1"
)


async def segments_by_customers(db: Reader, customer_ids: Sequence[str]) -> list[tuple[str, ...]]:
    """Each customer's segments, sorted; an empty tuple for a customer in none."""
    found: dict[str, list[str]] = {}
    for r in await db.fetch(_BY_CUSTOMERS, list(customer_ids)):
        found.setdefault(r["customer_id"], []).append(r["segment"])
    return [tuple(found.get(customer, ())) for customer in customer_ids]


@dataclass(frozen=True, slots=True)
class SegmentDiffReport:
    """The totals of `segment_diff_stats` (all zero before the first event)."""

    events: int
    rows_requested: int
    rows_written: int
    rows_skipped: int

    @property
    def skipped_share(self) -> float | None:
        return skipped_share(self.rows_requested, self.rows_skipped)


async def segment_diff_report(conn: AsyncConnection) -> SegmentDiffReport:
    """For operators (`vitrine projectors status`, the bench), not for requests."""
    row = (await conn.execute(_DIFF_STATS)).first()
    if row is None:
        return SegmentDiffReport(0, 0, 0, 0)
    return SegmentDiffReport(row.events, row.rows_requested, row.rows_written, row.rows_skipped)
