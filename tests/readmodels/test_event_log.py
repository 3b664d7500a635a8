"""The event log: gap-free ordered positions, idempotent and all-or-nothing appends, under concurrency."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn
from readmodels.catalog.projection import CatalogProjection
from readmodels.eventlog.store import (
    EVENTS_CHANNEL,
    AppendResult,
    append_events,
    append_events_in,
    read_events,
    read_head,
)
from readmodels.events import Event, StoredEvent, validate_events
from readmodels.projections import all_projections
from readmodels.projector.batch import run_batch
from readmodels.projector.checkpoints import read_checkpoints
from readmodels.projector.runner import catch_up
from tests.readmodels.streams import Raw, inventory_adjustments
from tests.readmodels.waiting import every_projection_at, wait_until

DEADLINE = 10.0


class AbortAppendError(Exception):
    """Raised by a test after appending, to roll the transaction back; carries the AppendResult."""


async def append_then_abort(engine: AsyncEngine, events: list[Event]) -> None:
    """Append inside a transaction that then fails, so it rolls back."""
    async with engine.begin() as conn:
        raise AbortAppendError(await append_events_in(conn, events))


def validated(raw: list[Raw]) -> list[Event]:
    events, errors = validate_events(raw)
    assert errors == []
    return events


async def stored(engine: AsyncEngine) -> list[StoredEvent]:
    async with engine.connect() as conn:
        head = await read_head(conn)
        return await read_events(conn, after=0, upto=head, limit=1_000_000)


async def head_of(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await read_head(conn)


async def sessions_waiting_on_locks(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        return int(waiting.scalar_one())


async def test_positions_are_contiguous_in_input_order(engine: AsyncEngine) -> None:
    """A batch gets positions 1..N in input order and the head becomes N."""
    events = validated(inventory_adjustments(1, 25))
    result = await append_events(engine, events)
    assert result.positions == list(range(1, 26))
    assert (result.appended, result.head) == (25, 25)
    assert await head_of(engine) == 25
    log = await stored(engine)
    assert [(e.position, e.id) for e in log] == [(i + 1, e.id) for i, e in enumerate(events)]
    assert [e.data for e in log] == [e.data for e in events]


async def test_second_batch_continues_after_the_first(engine: AsyncEngine) -> None:
    """A later batch continues numbering right after the head."""
    first = validated(inventory_adjustments(2, 4))
    second = validated(inventory_adjustments(3, 3))
    assert (await append_events(engine, first)).positions == [1, 2, 3, 4]
    result = await append_events(engine, second)
    assert (result.positions, result.appended, result.head) == ([5, 6, 7], 3, 7)


async def test_reappending_is_a_no_op_returning_original_positions(engine: AsyncEngine) -> None:
    """Appending the same events again stores nothing and returns their original positions."""
    events = validated(inventory_adjustments(4, 10))
    await append_events(engine, events)
    again = await append_events(engine, events)
    assert (again.positions, again.appended, again.head) == (list(range(1, 11)), 0, 10)
    fresh = validated(inventory_adjustments(5, 2))
    mixed = await append_events(engine, [events[3], fresh[0], events[5], fresh[1]])
    assert (mixed.positions, mixed.appended, mixed.head) == ([4, 11, 6, 12], 2, 12)
    assert [e.position for e in await stored(engine)] == list(range(1, 13))


async def test_duplicates_within_a_batch_are_stored_once(engine: AsyncEngine) -> None:
    """An event repeated inside one batch is stored once and both copies report its position."""
    x, y = validated(inventory_adjustments(6, 2))
    result = await append_events(engine, [x, y, x, x])
    assert (result.positions, result.appended, result.head) == ([1, 2, 1, 1], 2, 2)
    assert [(e.position, e.id) for e in await stored(engine)] == [(1, x.id), (2, y.id)]


async def test_same_batch_appended_concurrently_is_stored_once(engine: AsyncEngine) -> None:
    """Eight writers racing to append the same batch store it once, all told the same positions."""
    events = validated(inventory_adjustments(12, 10))
    results = await asyncio.wait_for(
        asyncio.gather(*(append_events(engine, events) for _ in range(8))), DEADLINE
    )
    assert [result.positions for result in results] == [list(range(1, 11))] * 8
    assert sorted(result.appended for result in results) == [0] * 7 + [10]
    assert [(e.position, e.id) for e in await stored(engine)] == [
        (i + 1, e.id) for i, e in enumerate(events)
    ]


async def test_failed_batch_stores_nothing_and_leaves_no_gap(engine: AsyncEngine) -> None:
    """A batch whose transaction fails after the insert stores nothing; its positions are reused."""
    doomed = validated(inventory_adjustments(7, 5))
    await append_events(engine, validated(inventory_adjustments(8, 2)))
    with pytest.raises(AbortAppendError) as aborted:
        await append_then_abort(engine, doomed)
    assert aborted.value.args[0].positions == [3, 4, 5, 6, 7]
    assert await head_of(engine) == 2
    assert [e.position for e in await stored(engine)] == [1, 2]
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM event_log"))).scalar_one()
    assert count == 2
    later = validated(inventory_adjustments(9, 3))
    assert (await append_events(engine, later)).positions == [3, 4, 5]
    assert [e.id for e in await stored(engine)][2:] == [e.id for e in later]


async def test_only_committed_appends_notify(engine: AsyncEngine, database_url: str) -> None:
    """A rolled-back append sends no NOTIFY; the next committed one announces its head."""
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    heads: asyncio.Queue[str] = asyncio.Queue()
    try:
        await listener.add_listener(EVENTS_CHANNEL, lambda *args: heads.put_nowait(args[3]))
        with pytest.raises(AbortAppendError):
            await append_then_abort(engine, validated(inventory_adjustments(10, 4)))
        await append_events(engine, validated(inventory_adjustments(11, 3)))
        assert await asyncio.wait_for(heads.get(), DEADLINE) == "3"
        assert heads.empty()
    finally:
        await listener.close()


async def test_open_append_blocks_later_appends_and_hides_from_projectors(
    engine: AsyncEngine,
) -> None:
    """While an append's transaction is open, later appends wait and projectors see head 0."""
    held = validated(inventory_adjustments(20, 6))
    waiting = [validated(inventory_adjustments(21 + i, 3)) for i in range(3)]
    conn = await engine.connect()
    transaction = await conn.begin()
    tasks: list[asyncio.Task[AppendResult]] = []
    try:
        assert (await append_events_in(conn, held)).positions == [1, 2, 3, 4, 5, 6]
        tasks = [asyncio.create_task(append_events(engine, batch)) for batch in waiting]

        async def all_blocked() -> bool:
            return await sessions_waiting_on_locks(engine) == len(waiting)

        await wait_until(all_blocked, within=DEADLINE, what="3 appenders wait on the head lock")
        assert [task.done() for task in tasks] == [False, False, False]
        outcome = await asyncio.wait_for(
            run_batch(engine, CatalogProjection(), batch_size=100), DEADLINE
        )
        assert outcome is None
        async with engine.connect() as reader:
            assert await read_head(reader) == 0
            assert await read_checkpoints(reader) == {"catalog": 0}
        assert [task.done() for task in tasks] == [False, False, False]
        await transaction.commit()
    finally:
        if transaction.is_active:
            await transaction.rollback()
        await conn.close()
    results = await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    later_positions = sorted(p for result in results for p in result.positions)
    assert later_positions == list(range(7, 16))
    log = await stored(engine)
    assert [e.position for e in log] == list(range(1, 16))
    assert [e.id for e in log[:6]] == [e.id for e in held]
    await catch_up(engine, all_projections(), batch_size=4)
    async with engine.connect() as reader:
        assert await read_checkpoints(reader) == every_projection_at(15)


async def test_rolled_back_appends_leave_no_gaps_and_never_stall_projectors(
    engine: AsyncEngine,
) -> None:
    """Concurrent commits and rollbacks yield positions 1..M of exactly the committed events."""
    committed: list[Event] = []
    writers_done = asyncio.Event()

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        for round_ in range(15):
            batch = validated(inventory_adjustments(seed * 100 + round_, rng.randint(1, 8)))
            if rng.random() < 0.4:
                with pytest.raises(AbortAppendError):
                    await append_then_abort(engine, batch)
            else:
                await append_events(engine, batch)
                committed.extend(batch)

    async def projector() -> None:
        # Projects concurrently with the writers, as a live runner would.
        while not writers_done.is_set():
            await catch_up(engine, all_projections(), batch_size=3)
            await asyncio.sleep(0)

    projecting = asyncio.create_task(projector())
    try:
        await asyncio.wait_for(asyncio.gather(*(writer(seed) for seed in range(6))), 60)
    finally:
        writers_done.set()
        await asyncio.wait_for(projecting, DEADLINE)
    log = await stored(engine)
    assert [e.position for e in log] == list(range(1, len(committed) + 1))
    assert Counter(e.id for e in log) == Counter(e.id for e in committed)
    await catch_up(engine, all_projections(), batch_size=3)
    async with engine.connect() as conn:
        assert await read_checkpoints(conn) == every_projection_at(len(committed))
        rows = await conn.execute(text("SELECT id, on_hand FROM products"))
        on_hand = {row.id: row.on_hand for row in rows}
    expected: Counter[str] = Counter()
    for event in committed:
        expected[event.data["productId"]] += event.data["delta"]
    assert on_hand == dict(expected)


async def test_concurrent_writers_and_tailing_readers_see_every_event_once(
    engine: AsyncEngine,
) -> None:
    """Readers tailing the log under 10 concurrent writers see every event once, in order."""
    rng = random.Random(42)
    batches = [
        [validated(inventory_adjustments(w * 1000 + b, rng.randint(1, 20))) for b in range(30)]
        for w in range(10)
    ]
    expected = {e.id for writer in batches for batch in writer for e in batch}
    total = len(expected)

    async def writer(own: list[list[Event]]) -> None:
        for batch in own:
            await append_events(engine, batch)

    async def reader() -> tuple[list[StoredEvent], set[int]]:
        seen: list[StoredEvent] = []
        heads: set[int] = set()
        last = 0
        while len(seen) < total:
            async with engine.connect() as conn:
                head = await read_head(conn)
                page = await read_events(conn, after=last, upto=head, limit=97)
            heads.add(head)
            seen.extend(page)
            if page:
                last = page[-1].position
            await asyncio.sleep(0)
        return seen, heads

    readers = [asyncio.create_task(reader()) for _ in range(2)]
    await asyncio.wait_for(asyncio.gather(*(writer(own) for own in batches)), 60)
    for seen, heads in await asyncio.wait_for(asyncio.gather(*readers), DEADLINE * 3):
        # The readers really tailed a growing log, not one finished before they looked.
        assert len(heads) > 10
        assert [e.position for e in seen] == list(range(1, total + 1))
        assert len({e.id for e in seen}) == total
        assert {e.id for e in seen} == expected
