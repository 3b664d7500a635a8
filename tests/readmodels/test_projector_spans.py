"""Projector batch spans: one root CONSUMER span per batch that applied events or failed."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn, count_statements
from infra.span_errors import record_error
from readmodels.catalog.projection import CatalogProjection
from readmodels.creators.projection import CreatorsProjection
from readmodels.projections import all_projections
from readmodels.projector.batch import BatchOutcome, run_batch
from readmodels.projector.runner import ProjectorRunner
from readmodels.projector.spans import BatchSpans, batch_attributes
from tests.readmodels.streams import append_raw, catalog_stream
from tests.readmodels.test_projector import CATALOG_TYPES, FlakyProjection
from tests.readmodels.waiting import wait_until

DEADLINE = 10.0
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
MESSAGING = {
    "messaging.operation.type": "process",
    "messaging.operation.name": "project",
    "messaging.destination.name": "event_log",
}


def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def run_until(runner: ProjectorRunner, position: int, names: set[str]) -> None:
    """Run `runner` until the named projections reach `position`, then stop it."""
    task = asyncio.create_task(runner.run())
    try:

        async def caught_up() -> bool:
            return all(runner.states[name].position == position for name in names)

        await wait_until(caught_up, within=DEADLINE, what=f"{sorted(names)} reach {position}")
    finally:
        runner.stop()
        await asyncio.wait_for(task, DEADLINE)


def test_batch_attributes_say_projection_range_and_lag() -> None:
    """A batch's attributes: its projection, event count, range, events still pending and age."""
    outcome = BatchOutcome(
        "catalog",
        40,
        90,
        35,
        head=120,
        newest_recorded_at=NOW - timedelta(seconds=2.5),
    )
    assert batch_attributes(outcome, NOW) == {
        "vitrine.projection": "catalog",
        "vitrine.events": 35,
        "vitrine.position.from": 40,
        "vitrine.position.to": 90,
        "vitrine.lag.events": 30,
        "vitrine.lag.seconds": 2.5,
        **MESSAGING,
        "messaging.consumer.group.name": "catalog",
        "messaging.batch.message_count": 35,
    }


def test_batch_attributes_without_a_recorded_time_and_with_a_clock_behind() -> None:
    """No recorded time means no lag in seconds; a clock behind the database gives 0, not less."""
    unknown = BatchOutcome("creators", 0, 7, 3, head=7)
    assert "vitrine.lag.seconds" not in batch_attributes(unknown, NOW)
    assert batch_attributes(unknown, NOW)["vitrine.lag.events"] == 0
    ahead = BatchOutcome("creators", 0, 7, 3, head=7, newest_recorded_at=NOW + timedelta(seconds=1))
    assert batch_attributes(ahead, NOW)["vitrine.lag.seconds"] == 0.0


async def test_runner_emits_one_root_span_per_batch_that_applied_events(
    engine: AsyncEngine, database_url: str
) -> None:
    """Batches of 50 give one root CONSUMER span each, with exact ranges; projections whose
    batches applied nothing, and idle polls, give none."""
    raw = catalog_stream(17, products=6)
    head = (await append_raw(engine, raw)).head
    provider, exporter = traced()
    runner = ProjectorRunner(
        engine,
        asyncpg_dsn(database_url),
        all_projections(),
        batch_size=50,
        poll_interval=0.01,  # many idle polls once caught up: none may leave a span
        tracer=provider.get_tracer("test"),
    )
    await run_until(runner, head, {p.name for p in all_projections()})
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())

    catalog = [s for s in spans if s.name == "project catalog"]
    catalog_positions = [i + 1 for i, event in enumerate(raw) if event["type"] in CATALOG_TYPES]
    full = [catalog_positions[i + 49] for i in range(0, len(catalog_positions) - 50, 50)]
    # A full batch ends at its 50th event; the last, short one skips to the head.
    ranges = list(zip([0, *full], [*full, head], strict=True))
    assert [
        (s.attributes["vitrine.position.from"], s.attributes["vitrine.position.to"])  # type: ignore[index]
        for s in catalog
    ] == ranges
    assert [s.attributes["vitrine.events"] for s in catalog] == [  # type: ignore[index]
        *[50] * len(full),
        len(catalog_positions) - 50 * len(full),
    ]
    assert [s.attributes["vitrine.lag.events"] for s in catalog] == [  # type: ignore[index]
        head - to for _, to in ranges
    ]
    creators_events = sum(1 for e in raw if e["type"] in CreatorsProjection.event_types)
    (creators,) = [s for s in spans if s.name == "project creators"]
    assert dict(creators.attributes or {}) | {"vitrine.lag.seconds": None} == {
        "vitrine.projection": "creators",
        "vitrine.events": creators_events,
        "vitrine.position.from": 0,
        "vitrine.position.to": head,
        "vitrine.lag.events": 0,
        "vitrine.lag.seconds": None,
        **MESSAGING,
        "messaging.consumer.group.name": "creators",
        "messaging.batch.message_count": creators_events,
    }
    assert all(s.kind == SpanKind.CONSUMER and s.parent is None for s in spans)
    assert len({s.context.trace_id for s in spans if s.context is not None}) == len(spans)
    assert all(isinstance(s.attributes["vitrine.lag.seconds"], float) for s in spans)  # type: ignore[index]
    # Every applied event is in exactly one span, and no span is empty.
    events_by_span: dict[str, int] = {}
    for s in spans:
        assert s.attributes["vitrine.events"] > 0  # type: ignore[index,operator]
        events_by_span[s.name] = events_by_span.get(s.name, 0) + s.attributes["vitrine.events"]  # type: ignore[index,operator]
    expected = {
        f"project {p.name}": sum(1 for e in raw if e["type"] in p.event_types)
        for p in all_projections()
    }
    assert events_by_span == {name: n for name, n in expected.items() if n > 0}


async def test_failed_batch_span_records_the_exception(
    engine: AsyncEngine, database_url: str
) -> None:
    """A batch that raises leaves an ERROR span with the exception; its retry an OK one."""
    raw = catalog_stream(18, products=10)
    head = (await append_raw(engine, raw)).head
    provider, exporter = traced()
    flaky = FlakyProjection(failures=1)
    runner = ProjectorRunner(
        engine,
        asyncpg_dsn(database_url),
        [flaky],
        batch_size=5000,
        poll_interval=60,
        tracer=provider.get_tracer("test"),
    )
    await run_until(runner, head, {"catalog"})
    failed, applied = exporter.get_finished_spans()
    assert (failed.name, failed.status.status_code, failed.status.description) == (
        "project catalog",
        StatusCode.ERROR,
        "ProjectionFailedError",  # the type alone: a message may carry event data
    )
    assert dict(failed.attributes or {}) == {
        "vitrine.projection": "catalog",
        **MESSAGING,
        "messaging.consumer.group.name": "catalog",
    }
    assert [(e.name, (e.attributes or {})["exception.type"]) for e in failed.events] == [
        ("exception", "tests.readmodels.test_projector.ProjectionFailedError")
    ]
    assert (applied.status.status_code, (applied.attributes or {})["vitrine.position.to"]) == (
        StatusCode.UNSET,
        head,
    )
    assert (failed.parent, applied.parent) == (None, None)


async def test_recorded_time_comes_with_the_checkpoint_update(engine: AsyncEngine) -> None:
    """A batch reads its newest event's recorded time in the checkpoint's UPDATE, so it runs
    no statement of its own for it; an idle poll still runs just its two reads."""
    raw = catalog_stream(19, products=10)
    head = (await append_raw(engine, raw)).head
    last = max(i + 1 for i, e in enumerate(raw) if e["type"] in CATALOG_TYPES)
    async with engine.connect() as conn:
        recorded = (
            await conn.execute(
                text("SELECT recorded_at FROM event_log WHERE position = :p"), {"p": last}
            )
        ).scalar_one()
    with count_statements(keep_text=True) as applied:
        outcome = await run_batch(engine, CatalogProjection(), batch_size=5000)
    with count_statements(keep_text=True) as idle:
        assert await run_batch(engine, CatalogProjection(), batch_size=5000) is None
    assert outcome is not None
    assert (outcome.head, outcome.to_position, outcome.newest_recorded_at) == (head, head, recorded)
    texts = applied.texts or []
    assert [t.split()[:2] for t in texts if "recorded_at" in t] == [
        ["UPDATE", "projection_checkpoints"]
    ]
    # The event log itself is read twice: the events, and the newest one's time in the UPDATE.
    assert [t.split()[0] for t in texts if re.search(r"\bevent_log\b", t)] == ["SELECT", "UPDATE"]
    assert [t.split()[0] for t in texts[-2:]] == ["UPDATE", "SELECT"]  # advance, notify
    assert idle.statements == 2


async def refused_uuid(engine: AsyncEngine, value: str) -> DBAPIError:
    """SQLAlchemy's wrapper of PostgreSQL refusing `value` as a uuid (its message quotes it),
    as a projection's statement would raise it."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT CAST(CAST(:v AS text) AS uuid)"), {"v": value})
    except DBAPIError as error:
        return error
    raise AssertionError("the cast succeeded")


async def test_a_failed_batchs_span_keeps_the_drivers_values_out(engine: AsyncEngine) -> None:
    """With the composition's recorder (`infra.span_errors.record_error`), neither the
    message nor the stacktrace of the exception event quotes the refused value."""
    secret = "-".join(["jane", "example.com"])  # never in a source line of the stack
    error = await refused_uuid(engine, secret)
    assert secret in str(error)  # the driver's message quotes it
    provider, exporter = traced()
    BatchSpans(provider.get_tracer("test"), record_error=record_error).failed(
        "catalog", error, start_ns=1, end_ns=2
    )
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    attributes = dict(event.attributes or {})
    assert (span.status.description, attributes["exception.message"], event.timestamp) == (
        "22P02",
        "22P02",
        2,
    )
    assert str(attributes["exception.stacktrace"]).splitlines()[-1] == (
        "sqlalchemy.exc.DBAPIError: 22P02"
    )
    assert [k for k, v in attributes.items() if secret in str(v)] == []


async def test_without_a_recorder_a_failed_batchs_span_says_the_type_alone(
    engine: AsyncEngine,
) -> None:
    secret = "-".join(["jane", "example.com"])
    error = await refused_uuid(engine, secret)
    provider, exporter = traced()
    BatchSpans(provider.get_tracer("test")).failed("catalog", error, start_ns=1, end_ns=2)
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    attributes = dict(event.attributes or {})
    assert (
        span.status.description,
        attributes["exception.message"],
        attributes["exception.stacktrace"],
    ) == ("DBAPIError", "DBAPIError", "DBAPIError")
