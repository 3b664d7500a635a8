"""Errors on spans without the values they quote: asyncpg's, SQLAlchemy's wrappers,
and a resolver's unexpected error on the server span (once)."""

from __future__ import annotations

import asyncpg
import pytest
from graphql import GraphQLError
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode, set_span_in_context
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from infra.database import asyncpg_dsn, create_engine
from infra.graphql_errors import format_error, record_unexpected
from infra.request_ids import report_unexpected
from infra.span_errors import error_description, is_driver_error, record_error

# Never written literally where a statement runs: a frame's source line in a stacktrace
# would show it, and the tests look for it in everything the span holds.
SECRET = "-".join(["jane", "example.com"])


def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def quoted(span: ReadableSpan) -> list[str]:
    """The attributes of `span`'s events that quote SECRET."""
    return [
        name
        for event in span.events
        for name, value in (event.attributes or {}).items()
        if SECRET in str(value)
    ]


async def uuid_error(server_url: str) -> asyncpg.PostgresError:
    """PostgreSQL refusing SECRET as a uuid (22P02), its message quoting it."""
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.fetchval("SELECT CAST($1::text AS uuid)", SECRET)
    except asyncpg.PostgresError as error:
        return error
    finally:
        await connection.close()
    raise AssertionError("the cast succeeded")


async def statement_error(server_url: str) -> DBAPIError:
    """SQLAlchemy's wrapper of the same refusal, its message listing the parameters."""
    engine = create_engine(server_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT CAST(CAST(:v AS text) AS uuid)"), {"v": SECRET})
    except DBAPIError as error:
        return error
    finally:
        await engine.dispose()
    raise AssertionError("the cast succeeded")


async def test_a_sqlalchemy_wrapper_is_a_driver_error_described_by_its_sqlstate(
    server_url: str,
) -> None:
    error = await statement_error(server_url)
    assert (is_driver_error(error), error_description(error)) == (True, "22P02")
    # hide_parameters: SQLAlchemy lists no values (the driver's message still quotes one)
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(error).splitlines()
    provider, exporter = traced()
    span = provider.get_tracer("test").start_span("statement")
    record_error(span, error)
    span.end()
    (finished,) = exporter.get_finished_spans()
    (event,) = finished.events
    assert (finished.status.status_code, finished.status.description) == (
        StatusCode.ERROR,
        "22P02",
    )
    assert (event.attributes or {})["exception.message"] == "22P02"
    stack = str((event.attributes or {})["exception.stacktrace"])
    assert stack.splitlines()[-1] == "sqlalchemy.exc.DBAPIError: 22P02"
    assert quoted(finished) == []


async def test_a_hand_made_statement_error_keeps_its_parameters_off_the_span(
    server_url: str,
) -> None:
    """Parameters listed by a wrapper made without hide_parameters (another engine's)."""
    cause = await uuid_error(server_url)
    try:
        raise DBAPIError.instance("SELECT $1", (SECRET,), cause, asyncpg.PostgresError) from cause
    except DBAPIError as wrapped:
        error = wrapped
    assert SECRET in str(error)
    provider, exporter = traced()
    span = provider.get_tracer("test").start_span("statement")
    record_error(span, error, timestamp=7)
    span.end()
    (finished,) = exporter.get_finished_spans()
    (event,) = finished.events
    assert (event.timestamp, finished.status.description) == (7, "22P02")
    assert quoted(finished) == []


async def test_an_unexpected_resolver_error_is_recorded_once_without_its_values(
    server_url: str,
) -> None:
    """The server span gets one exception event, its message the SQLSTATE, whether the
    error was recorded from the result (`record_unexpected`) and then formatted."""
    cause = await uuid_error(server_url)
    error = GraphQLError("failed", path=["product"], original_error=cause)
    provider, exporter = traced()
    span = provider.get_tracer("test").start_span("server")
    token = otel_context.attach(set_span_in_context(span))
    try:
        record_unexpected(span, [error])
        formatted = format_error(error, default_code="BAD_USER_INPUT")
    finally:
        otel_context.detach(token)
    span.end()
    (finished,) = exporter.get_finished_spans()
    (event,) = finished.events
    attributes = dict(event.attributes or {})
    assert {k: attributes[k] for k in ("exception.message", "graphql.path")} == {
        "exception.message": "22P02",
        "graphql.path": "['product']",
    }
    assert finished.status.description == "22P02"
    assert quoted(finished) == []
    assert formatted["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}


async def test_report_unexpected_records_a_driver_error_without_its_values(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    cause = await uuid_error(server_url)
    provider, exporter = traced()
    span = provider.get_tracer("test").start_span("server")
    token = otel_context.attach(set_span_in_context(span))
    try:
        assert report_unexpected(cause, "answering POST /graphql") is None
    finally:
        otel_context.detach(token)
    span.end()
    (finished,) = exporter.get_finished_spans()
    (event,) = finished.events
    assert (event.attributes or {})["exception.message"] == "22P02"
    assert (event.attributes or {})["vitrine.request_id"] == ""
    assert quoted(finished) == []
