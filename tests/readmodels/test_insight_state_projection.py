"""The insight-state projection on real PostgreSQL: earliest moments, one audit row per
event, write-through then projector, replay and rebuild, and the dashboard's query."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.readpool import ReadPool
from readmodels.eventlog.store import read_head
from readmodels.events import Event
from readmodels.insights.rows import InsightStateRow
from readmodels.insights.state_projection import InsightStateProjection
from readmodels.insights.state_queries import insight_states
from readmodels.insights.state_writes import write_insight_state
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from tests.readmodels.streams import StreamBuilder, append_raw

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STATE_SQL = "SELECT creator_id, insight_id, seen_at, dismissed_at FROM insight_state ORDER BY 1, 2"
AUDIT_SQL = (
    "SELECT event_id::text, position, creator_id, insight_id, action, actor, at "
    "FROM insight_audit ORDER BY position"
)


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[ReadPool]:
    pool = ReadPool(database_url, max_size=2)
    yield pool
    await pool.close()


def action(kind: str, creator: str, insight: str, at: datetime, actor: str | None) -> Event:
    data: dict[str, Any] = {"creatorId": creator, "insightId": insight, "actor": actor}
    return Event(uuid.uuid4(), kind, at, data)


async def rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(sql))]


async def write_through(engine: AsyncEngine, events: list[Event]) -> tuple[list[int], set[str]]:
    async with engine.begin() as conn:
        written = await write_insight_state(conn, events)
    return written.positions, written.tags


async def project(engine: AsyncEngine) -> list[BatchOutcome]:
    outcomes: list[BatchOutcome] = []
    await catch_up(engine, [InsightStateProjection()], on_batch=outcomes.append)
    return outcomes


async def test_each_fact_keeps_its_earliest_moment_and_each_event_is_audited(
    engine: AsyncEngine,
) -> None:
    """Seen and dismissed keep their earliest time whatever the log order; one audit row each."""
    builder = StreamBuilder(random.Random(7))
    late = builder.add("InsightSeen", creatorId="cr-1", insightId="ins-a")
    late["occurredAt"] = "2026-12-01T10:00:00Z"
    early = builder.add("InsightSeen", creatorId="cr-1", insightId="ins-a")
    early["occurredAt"] = "2026-12-01T09:00:00Z"
    dismissed = builder.add("InsightDismissed", creatorId="cr-1", insightId="ins-b")
    other = builder.add("InsightSeen", creatorId="cr-2", insightId="ins-a")
    await append_raw(engine, builder.events)
    outcomes = await project(engine)
    assert [sorted(o.tags) for o in outcomes] == [["insight-state:cr-1", "insight-state:cr-2"]]
    assert await rows(engine, STATE_SQL) == [
        ("cr-1", "ins-a", T0, None),
        ("cr-1", "ins-b", None, datetime(2026, 1, 1, 0, 2, tzinfo=UTC)),
        ("cr-2", "ins-a", datetime(2026, 1, 1, 0, 3, tzinfo=UTC), None),
    ]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in await rows(engine, AUDIT_SQL)] == [
        (1, "cr-1", "ins-a", "seen", None),
        (2, "cr-1", "ins-a", "seen", None),
        (3, "cr-1", "ins-b", "dismissed", None),
        (4, "cr-2", "ins-a", "seen", None),
    ]
    ids = [r[0] for r in await rows(engine, AUDIT_SQL)]
    assert ids == [late["id"], early["id"], dismissed["id"], other["id"]]


async def test_write_through_then_projector_pass_leaves_one_audit_row_per_event(
    engine: AsyncEngine,
) -> None:
    """Rows exist at commit; the projector's later pass changes nothing and tags nothing."""
    events = [
        action("InsightSeen", "cr-1", "ins-a", T0, "cu-1"),
        action("InsightDismissed", "cr-1", "ins-a", T0 + timedelta(minutes=1), "cu-1"),
    ]
    positions, tags = await write_through(engine, events)
    assert (positions, tags) == ([1, 2], {"insight-state:cr-1"})
    state = [("cr-1", "ins-a", T0, T0 + timedelta(minutes=1))]
    audit = [
        (str(events[0].id), 1, "cr-1", "ins-a", "seen", "cu-1", T0),
        (str(events[1].id), 2, "cr-1", "ins-a", "dismissed", "cu-1", T0 + timedelta(minutes=1)),
    ]
    assert await rows(engine, STATE_SQL) == state
    assert await rows(engine, AUDIT_SQL) == audit
    outcomes = await project(engine)
    assert [(o.events, o.to_position, o.tags) for o in outcomes] == [(2, 2, frozenset())]
    assert await rows(engine, STATE_SQL) == state
    assert await rows(engine, AUDIT_SQL) == audit


async def test_an_action_that_changes_nothing_is_not_appended(engine: AsyncEngine) -> None:
    """Seen twice (in one call, or again later) appends one event; dismissing later still counts."""
    first = [
        action("InsightSeen", "cr-1", "ins-a", T0, "cu-1"),
        action("InsightSeen", "cr-1", "ins-a", T0, "cu-1"),
    ]
    assert await write_through(engine, first) == ([1], {"insight-state:cr-1"})
    again = [action("InsightSeen", "cr-1", "ins-a", T0 + timedelta(hours=1), "cu-2")]
    assert await write_through(engine, again) == ([], set())
    dismiss = [action("InsightDismissed", "cr-1", "ins-a", T0 + timedelta(hours=2), "cu-2")]
    assert await write_through(engine, dismiss) == ([2], {"insight-state:cr-1"})
    assert await write_through(engine, dismiss) == ([], set())
    async with engine.connect() as conn:
        assert await read_head(conn) == 2
    assert [(r[1], r[4], r[5]) for r in await rows(engine, AUDIT_SQL)] == [
        (1, "seen", "cu-1"),
        (2, "dismissed", "cu-2"),
    ]
    assert await rows(engine, STATE_SQL) == [("cr-1", "ins-a", T0, T0 + timedelta(hours=2))]


async def test_rebuild_replays_the_log_into_the_same_rows(engine: AsyncEngine) -> None:
    """Write-throughs, ingested events and projector passes end where a rebuild ends."""
    await write_through(engine, [action("InsightSeen", "cr-1", "ins-a", T0, "cu-1")])
    builder = StreamBuilder(random.Random(3))
    builder.add("InsightDismissed", creatorId="cr-1", insightId="ins-a")
    builder.add("InsightSeen", creatorId="cr-2", insightId="ins-z")
    await append_raw(engine, builder.events)
    await project(engine)
    await write_through(
        engine, [action("InsightDismissed", "cr-2", "ins-z", T0 + timedelta(days=1), "cu-9")]
    )
    live = (await rows(engine, STATE_SQL), await rows(engine, AUDIT_SQL))
    assert len(live[0]) == 2
    assert len(live[1]) == 4
    report = await rebuild(engine, InsightStateProjection(), batch_size=2)
    assert report.events == 4
    assert (await rows(engine, STATE_SQL), await rows(engine, AUDIT_SQL)) == live


async def test_insight_states_returns_each_creators_rows_in_key_order(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """One dict per asked creator, keyed by insight id, empty for a creator with none."""
    await write_through(
        engine,
        [
            action("InsightSeen", "cr-1", "ins-a", T0, "cu-1"),
            action("InsightDismissed", "cr-1", "ins-b", T0, "cu-1"),
            action("InsightSeen", "cr-2", "ins-c", T0, "cu-2"),
        ],
    )
    assert await insight_states(reader, ["cr-2", "cr-x", "cr-1"]) == [
        {"ins-c": InsightStateRow("ins-c", T0, None)},
        {},
        {
            "ins-a": InsightStateRow("ins-a", T0, None),
            "ins-b": InsightStateRow("ins-b", None, T0),
        },
    ]
