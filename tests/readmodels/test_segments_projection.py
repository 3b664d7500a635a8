"""The segments projection on real PostgreSQL: diff writes, exact stats, replay, the query."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import count_statements
from infra.readpool import ReadPool
from readmodels.eventlog.store import read_events
from readmodels.projector.checkpoints import advance_checkpoint, lock_checkpoint
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from readmodels.segments.projection import SegmentsProjection
from readmodels.segments.queries import (
    SegmentDiffReport,
    segment_diff_report,
    segments_by_customers,
)
from tests.readmodels.streams import StreamBuilder, append_raw

Stats = tuple[int, int, int, int]


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[ReadPool]:
    pool = ReadPool(database_url, max_size=2)
    yield pool
    await pool.close()


def changes(builder: StreamBuilder, *sets: tuple[str, list[str]]) -> None:
    for customer, segments in sets:
        builder.add("CustomerSegmentsChanged", customerId=customer, segments=segments)


async def memberships(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT customer_id, segment FROM customer_segments ORDER BY 1, 2")
        )
        return [(r.customer_id, r.segment) for r in rows]


async def stats(engine: AsyncEngine) -> SegmentDiffReport:
    async with engine.connect() as conn:
        return await segment_diff_report(conn)


async def row_versions(engine: AsyncEngine) -> dict[tuple[str, str], str]:
    """Each membership row's creating transaction: unchanged rows keep theirs."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT customer_id, segment, xmin::text AS xmin FROM customer_segments")
        )
        return {(r.customer_id, r.segment): r.xmin for r in rows}


async def apply_pending(engine: AsyncEngine) -> tuple[set[str], int, int, int]:
    """Apply every pending segment event in one batch: (tags, statements, inserted, deleted).

    Inserted rows are those created by the batch's transaction (their xmin); deleted
    rows are the ones that were there before and are not now.
    """
    projection = SegmentsProjection()
    async with engine.begin() as conn:
        checkpoint = await lock_checkpoint(conn, projection.name)
        pending = await read_events(
            conn, after=checkpoint, upto=10**9, limit=10_000, types=["CustomerSegmentsChanged"]
        )
        before = (await conn.execute(text("SELECT count(*) FROM customer_segments"))).scalar_one()
        with count_statements() as counted:
            tags = await projection.apply(conn, pending)
        after, inserted = (
            await conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER "
                    "(WHERE xmin::text = pg_current_xact_id()::xid::text) FROM customer_segments"
                )
            )
        ).one()
        await advance_checkpoint(conn, projection.name, pending[-1].position)
    return tags, counted.statements, inserted, before - (after - inserted)


async def test_a_batch_writes_only_the_changed_memberships(engine: AsyncEngine) -> None:
    """A new set deletes the segments that left and inserts those that joined; the rest stay."""
    builder = StreamBuilder(random.Random(1))
    changes(builder, ("cu-1", ["vip", "b2b"]), ("cu-2", ["edu"]))
    await append_raw(engine, builder.events)
    assert (await apply_pending(engine))[1:] == (3, 3, 0)  # load, insert, stats
    before = await row_versions(engine)
    builder.events.clear()
    changes(builder, ("cu-1", ["vip", "staff"]), ("cu-2", ["edu"]), ("cu-3", []))
    await append_raw(engine, builder.events)
    tags, statements, inserted, deleted = await apply_pending(engine)
    # load, one delete, one insert, the stats row
    assert (statements, inserted, deleted) == (4, 1, 1)
    assert tags == {"segments:cu-1"}
    assert await memberships(engine) == [("cu-1", "staff"), ("cu-1", "vip"), ("cu-2", "edu")]
    after = await row_versions(engine)
    assert after[("cu-1", "vip")] == before[("cu-1", "vip")]
    assert after[("cu-2", "edu")] == before[("cu-2", "edu")]


async def test_an_unchanged_batch_writes_no_membership_row(engine: AsyncEngine) -> None:
    """Re-sending everyone's current set touches no membership row and announces no tag."""
    builder = StreamBuilder(random.Random(2))
    changes(builder, ("cu-1", ["vip"]))
    await append_raw(engine, builder.events)
    await apply_pending(engine)
    builder.events.clear()
    changes(builder, ("cu-1", ["vip"]), ("cu-1", []), ("cu-1", ["vip"]))
    await append_raw(engine, builder.events)
    tags, statements, inserted, deleted = await apply_pending(engine)
    assert (tags, statements, inserted, deleted) == (set(), 2, 0, 0)


async def test_stats_count_every_event_exactly(engine: AsyncEngine) -> None:
    """The stats row holds events, rows requested (old + new), written (difference), skipped."""
    builder = StreamBuilder(random.Random(3))
    changes(
        builder,
        ("cu-1", ["vip", "b2b"]),  # requested 0 + 2, written 2
        ("cu-2", ["edu"]),  # requested 0 + 1, written 1
        ("cu-1", ["vip", "b2b"]),  # requested 2 + 2, written 0
        ("cu-1", ["vip"]),  # requested 2 + 1, written 1
        ("cu-2", []),  # requested 1 + 0, written 1
        ("cu-3", []),  # requested 0 + 0, written 0
    )
    await append_raw(engine, builder.events)
    assert await stats(engine) == SegmentDiffReport(0, 0, 0, 0)
    await catch_up(engine, [SegmentsProjection()], batch_size=2)
    report = await stats(engine)
    assert report == SegmentDiffReport(events=6, rows_requested=11, rows_written=5, rows_skipped=6)
    assert report.skipped_share == 6 / 11
    assert await memberships(engine) == [("cu-1", "vip")]


async def test_replay_rebuilds_the_same_memberships_and_stats(engine: AsyncEngine) -> None:
    """Live batches of one event and a rebuild in large batches agree on rows and stats."""
    builder = StreamBuilder(random.Random(4))
    rng = random.Random(5)
    for _ in range(200):
        customer = f"cu-{rng.randint(1, 12)}"
        changes(builder, (customer, rng.sample(["vip", "b2b", "edu", "staff"], rng.randint(0, 3))))
    await append_raw(engine, builder.events)
    await catch_up(engine, [SegmentsProjection()], batch_size=1)
    live_rows, live_stats = await memberships(engine), await stats(engine)
    expected: dict[str, list[str]] = {}
    for raw in builder.events:
        expected[raw["data"]["customerId"]] = raw["data"]["segments"]
    assert live_rows == sorted((c, s) for c, segments in expected.items() for s in segments)
    assert live_stats.events == 200
    report = await rebuild(engine, SegmentsProjection(), batch_size=64)
    assert report.events == 200
    assert await memberships(engine) == live_rows
    assert await stats(engine) == live_stats


async def test_segments_by_customers_is_one_statement_aligned_with_keys(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Sorted segments per customer in key order, an empty tuple for none, in one statement."""
    builder = StreamBuilder(random.Random(6))
    changes(builder, ("cu-1", ["vip", "b2b", "edu"]), ("cu-2", ["staff"]), ("cu-3", []))
    await append_raw(engine, builder.events)
    await catch_up(engine, [SegmentsProjection()])
    with count_statements() as counted:
        found = await segments_by_customers(reader, ["cu-3", "cu-1", "cu-unknown", "cu-2"])
    assert found == [(), ("b2b", "edu", "vip"), (), ("staff",)]
    assert counted.statements == 1
