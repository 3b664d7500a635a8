"""SQLAlchemy statements during a request (persisted-query registrations, mutation appends)
get the read pool's SQL spans and count in the request's statements; work outside any
request (the projector, started with the app) counts and traces nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.request_scope import close_scope, open_scope
from persisted_queries.hashing import sha256_hex
from tests.infra import test_tracing
from tests.infra.test_tracing import CATEGORY_NAME, Traced, named

PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(CATEGORY_NAME)}}
# The tracing tests' fixtures: the world's database, and an app that samples everything.
world_url = test_tracing.world_url
sampled = test_tracing.sampled
REGISTER = {"query": CATEGORY_NAME, "variables": {"slug": "kitchen"}, "extensions": PERSISTED}


@pytest.fixture
async def unsampled(world_url: str, tmp_path: object) -> AsyncIterator[Traced]:
    traced = Traced(world_url, ALWAYS_OFF, tmp_path)
    async with traced.client:
        yield traced


async def test_an_apq_registration_has_its_insert_span_and_counts_it(sampled: Traced) -> None:
    """Registering an APQ document inserts it through SQLAlchemy: a CLIENT span under the
    server span with the statement's text (no values), and the request counts three
    statements (the store lookup, the INSERT, the category)."""
    spans = await sampled.post(REGISTER)
    (server,) = named(spans, "query CategoryName")
    (insert,) = named(spans, "INSERT persisted_documents")
    assert insert.parent is not None
    assert server.context is not None
    assert (insert.kind, insert.parent.span_id) == (SpanKind.CLIENT, server.context.span_id)
    attributes = dict(insert.attributes or {})
    statement = attributes.pop("db.query.text")
    assert attributes == {
        "db.system": "postgresql",
        "db.operation.name": "INSERT",
        "db.collection.name": "persisted_documents",
    }
    assert isinstance(statement, str)
    assert statement.startswith("INSERT INTO persisted_documents ")
    assert "$1" in statement
    assert "category" not in statement  # the document is a parameter, not in the text
    assert insert.status.status_code is StatusCode.UNSET
    assert [o.statements for o in sampled.observations] == [3]


async def test_an_unsampled_registration_counts_its_insert_without_a_span(
    unsampled: Traced,
) -> None:
    """Unsampled, the INSERT still counts in the request's statements and leaves no span."""
    assert await unsampled.post(REGISTER) == []
    assert [o.statements for o in unsampled.observations] == [3]


async def test_only_the_requests_own_tasks_count_into_it(engine: AsyncEngine) -> None:
    """A task started before the request (as the projector is, with the app) runs its
    statement during the request without counting or tracing into it; a task the request
    starts (a DataLoader batch) does both."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    go, done = asyncio.Event(), asyncio.Event()

    async def background() -> None:
        await go.wait()
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1 AS background"))
        done.set()

    outside = asyncio.create_task(background())
    scope, token = open_scope(provider.get_tracer("test"))
    try:
        go.set()
        await done.wait()
        await outside

        async def batch() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 2 AS batch FROM event_log_head"))

        await asyncio.create_task(batch())
    finally:
        close_scope(token)
    assert scope.statements == 1
    assert [
        (s.name, (s.attributes or {})["db.response.returned_rows"])
        for s in exporter.get_finished_spans()
    ] == [("SELECT event_log_head", 1)]


async def test_a_failing_statement_ends_its_span_with_the_error(engine: AsyncEngine) -> None:
    """A statement PostgreSQL refuses ends its span: ERROR, the exception, and its SQLSTATE."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    scope, token = open_scope(provider.get_tracer("test"))
    try:
        with pytest.raises(DBAPIError):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1 / 0"))
    finally:
        close_scope(token)
    (span,) = exporter.get_finished_spans()
    assert (span.name, span.status.status_code, scope.statements) == ("SELECT", StatusCode.ERROR, 1)
    assert (span.attributes or {})["db.response.status_code"] == "22012"
    assert [e.name for e in span.events] == ["exception"]
