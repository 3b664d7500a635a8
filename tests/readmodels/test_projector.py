"""The projector engine: batches, checkpoints, rebuild and the leader-elected runner."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.database import asyncpg_dsn, create_engine
from readmodels.catalog.projection import CatalogProjection
from readmodels.eventlog.store import read_head
from readmodels.events import StoredEvent
from readmodels.projections import all_projections
from readmodels.projector.batch import run_batch
from readmodels.projector.checkpoints import read_checkpoints
from readmodels.projector.rebuild import RETIRED, SHADOW, rebuild
from readmodels.projector.runner import ProjectorRunner, advisory_key, catch_up
from tests.conftest import create_database, drop_database
from tests.readmodels.streams import (
    Snapshot,
    append_raw,
    catalog_stream,
    snapshot,
    snapshot_differences,
)
from tests.readmodels.waiting import every_projection_at, wait_until

DEADLINE = 10.0
CATALOG_TYPES = CatalogProjection.event_types


class ProjectionFailedError(Exception):
    """The failure a flaky test projection raises."""


class FlakyProjection:
    """The catalog projection, but its first `failures` batches write their rows and then raise."""

    def __init__(self, failures: int) -> None:
        self.inner = CatalogProjection()
        self.name = self.inner.name
        self.event_types = self.inner.event_types
        self.tables: tuple[Table, ...] = self.inner.tables
        self.failures = failures
        self.calls: list[tuple[int, int]] = []

    def extra_ddl(self) -> Sequence[str]:
        return self.inner.extra_ddl()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        self.calls.append((events[0].position, events[-1].position))
        tags = await self.inner.apply(conn, events)
        if self.failures > 0:
            self.failures -= 1
            raise ProjectionFailedError("apply failed after writing its rows")
        return tags


async def checkpoints(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return await read_checkpoints(conn)


async def head_of(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await read_head(conn)


async def schemas_named(engine: AsyncEngine, *names: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:names)"),
            {"names": list(names)},
        )
        return sorted(row.nspname for row in rows)


async def test_rebuild_equals_incremental_projection(engine: AsyncEngine) -> None:
    """Replaying the whole log in a rebuild yields exactly the tables built by small live batches."""
    raw = catalog_stream(11, products=120)
    await append_raw(engine, raw)
    await catch_up(engine, all_projections(), batch_size=7)
    incremental = await snapshot(engine)
    assert len(incremental["products"]) == 120
    report = await rebuild(engine, CatalogProjection())
    rebuilt = await snapshot(engine)
    assert snapshot_differences(incremental, rebuilt) == []
    catalog_events = sum(1 for event in raw if event["type"] in CATALOG_TYPES)
    assert (report.projection, report.events, report.position) == (
        "catalog",
        catalog_events,
        len(raw),
    )
    assert await checkpoints(engine) == every_projection_at(len(raw))
    assert await schemas_named(engine, SHADOW, RETIRED) == []


async def test_live_projection_continues_on_rebuilt_tables(engine: AsyncEngine) -> None:
    """After a rebuild the live projector applies new events to the swapped-in tables."""
    raw = catalog_stream(12, products=40)
    half = len(raw) // 2
    await append_raw(engine, raw[:half])
    await catch_up(engine, all_projections(), batch_size=50)
    await rebuild(engine, CatalogProjection(), batch_size=9)
    await append_raw(engine, raw[half:])
    await catch_up(engine, all_projections(), batch_size=50)
    live = await snapshot(engine)
    assert await checkpoints(engine) == every_projection_at(len(raw))
    await rebuild(engine, CatalogProjection())
    assert snapshot_differences(live, await snapshot(engine)) == []


async def test_batch_size_does_not_change_the_result(server_url: str, template_url: str) -> None:
    """Projecting the same stream with batches of 1, 13 and 5000 events builds identical tables."""
    raw = catalog_stream(13, products=40)
    snapshots: dict[int, Snapshot] = {}
    for batch_size in (1, 13, 5000):
        url = await create_database(server_url, template_url)
        engine = create_engine(url)
        try:
            await append_raw(engine, raw)
            await catch_up(engine, all_projections(), batch_size=batch_size)
            assert await checkpoints(engine) == every_projection_at(len(raw))
            snapshots[batch_size] = await snapshot(engine)
        finally:
            await engine.dispose()
            await drop_database(server_url, url)
    assert len(snapshots[5000]["products"]) == 40
    differences = {
        batch_size: snapshot_differences(snapshots[5000], snapshots[batch_size])
        for batch_size in (13, 1)
    }
    assert differences == {13: [], 1: []}


async def test_failing_batch_rolls_back_and_keeps_the_checkpoint(engine: AsyncEngine) -> None:
    """A batch whose apply raises writes no rows and leaves the checkpoint where it was."""
    raw = catalog_stream(14, products=20)
    half = len(raw) // 2
    await append_raw(engine, raw[:half])
    await catch_up(engine, all_projections(), batch_size=1000)
    before = await snapshot(engine)
    await append_raw(engine, raw[half:])
    flaky = FlakyProjection(failures=1)
    with pytest.raises(ProjectionFailedError):
        await run_batch(engine, flaky, batch_size=1000)
    assert (await checkpoints(engine))["catalog"] == half
    assert snapshot_differences(before, await snapshot(engine)) == []
    outcome = await run_batch(engine, flaky, batch_size=1000)
    assert outcome is not None
    catalog_events = sum(1 for event in raw[half:] if event["type"] in CATALOG_TYPES)
    assert (outcome.from_position, outcome.to_position, outcome.events) == (
        half,
        len(raw),
        catalog_events,
    )
    assert flaky.calls == [(half + 1, len(raw)), (half + 1, len(raw))]
    assert (await checkpoints(engine))["catalog"] == len(raw)
    assert await run_batch(engine, flaky, batch_size=1000) is None


async def test_runner_retries_a_failing_batch_from_its_checkpoint(
    engine: AsyncEngine, database_url: str
) -> None:
    """The runner retries a failed batch from the same checkpoint until it succeeds."""
    raw = catalog_stream(15, products=10)
    await append_raw(engine, raw)
    first = next(i + 1 for i, event in enumerate(raw) if event["type"] in CATALOG_TYPES)
    flaky = FlakyProjection(failures=2)
    runner = ProjectorRunner(
        engine, asyncpg_dsn(database_url), [flaky], batch_size=5000, poll_interval=60
    )
    task = asyncio.create_task(runner.run())
    try:

        async def caught_up() -> bool:
            return runner.states["catalog"].position == len(raw)

        await wait_until(caught_up, within=DEADLINE, what="the flaky projection reaches the head")
    finally:
        runner.stop()
        await asyncio.wait_for(task, DEADLINE)
    state = runner.states["catalog"]
    assert (state.batches, state.last_error) == (1, None)
    assert flaky.calls == [(first, len(raw))] * 3
    assert await checkpoints(engine) == {"catalog": len(raw)}


async def test_runner_wakes_on_notify(engine: AsyncEngine, database_url: str) -> None:
    """A runner idle on a long poll interval applies new events as soon as they are appended."""
    runner = ProjectorRunner(
        engine,
        asyncpg_dsn(database_url),
        all_projections(),
        batch_size=50,
        poll_interval=60,
    )
    task = asyncio.create_task(runner.run())
    try:

        async def leading() -> bool:
            return all(state.leader for state in runner.states.values())

        await wait_until(leading, within=DEADLINE, what="the runner leads every projection")
        raw = catalog_stream(16, products=30)
        for part in (raw[:100], raw[100:]):
            head = (await append_raw(engine, part)).head

            async def caught_up(head: int = head) -> bool:
                return all(state.position == head for state in runner.states.values())

            await wait_until(caught_up, within=DEADLINE, what=f"the runner reaches {head}")
    finally:
        runner.stop()
        await asyncio.wait_for(task, DEADLINE)
    assert await checkpoints(engine) == every_projection_at(len(raw))
    catalog_events = sum(1 for event in raw if event["type"] in CATALOG_TYPES)
    assert runner.states["catalog"].events == catalog_events
    assert runner.states["creators"].events == 3


async def advisory_locks(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT objid::bigint AS key FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        return sorted(row.key for row in rows)


async def sessions_trying_to_lead(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        trying = await conn.execute(
            text(
                "SELECT count(DISTINCT pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE 'SELECT pg_try_advisory_lock%'"
            )
        )
        return int(trying.scalar_one())


async def test_one_leader_per_projection_and_failover(
    engine: AsyncEngine, database_url: str
) -> None:
    """Of two runners only one leads each projection; when it stops, the other takes over."""
    names = sorted(p.name for p in all_projections())

    def new_runner() -> ProjectorRunner:
        return ProjectorRunner(
            engine,
            asyncpg_dsn(database_url),
            all_projections(),
            batch_size=50,
            poll_interval=0.2,
            standby_interval=0.05,
        )

    first, second = new_runner(), new_runner()
    first_task = asyncio.create_task(first.run())
    second_task: asyncio.Task[None] | None = None
    raw = catalog_stream(17, products=20)
    half = len(raw) // 2
    try:

        async def first_leads() -> bool:
            return all(first.states[name].leader for name in names)

        await wait_until(first_leads, within=DEADLINE, what="the first runner leads")
        second_task = asyncio.create_task(second.run())

        async def both_tried() -> bool:
            return await sessions_trying_to_lead(engine) == 2

        await wait_until(both_tried, within=DEADLINE, what="the second runner tries to lead")
        await append_raw(engine, raw[:half])

        async def first_caught_up() -> bool:
            return all(first.states[name].position == half for name in names)

        await wait_until(first_caught_up, within=DEADLINE, what="the first runner catches up")
        assert [second.states[name].leader for name in names] == [False] * len(names)
        assert await advisory_locks(engine) == sorted(advisory_key(name) for name in names)

        first.stop()
        await asyncio.wait_for(first_task, DEADLINE)

        async def second_leads() -> bool:
            return all(second.states[name].leader for name in names)

        await wait_until(second_leads, within=DEADLINE, what="the second runner takes over")
        await append_raw(engine, raw[half:])

        async def second_caught_up() -> bool:
            return all(second.states[name].position == len(raw) for name in names)

        await wait_until(second_caught_up, within=DEADLINE, what="the second runner catches up")
    finally:
        first.stop()
        second.stop()
        await asyncio.wait_for(first_task, DEADLINE)
        if second_task is not None:
            await asyncio.wait_for(second_task, DEADLINE)
    # The second runner resumed from the first one's checkpoint: it applied only the rest.
    later_catalog = sum(1 for event in raw[half:] if event["type"] in CATALOG_TYPES)
    assert second.states["catalog"].events == later_catalog
    assert await checkpoints(engine) == every_projection_at(len(raw))
