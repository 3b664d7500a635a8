"""Resolver and loader spans at their edges: a load of a key being fetched leaves nothing
behind, and a driver's error reaches no span with the value it quotes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import strawberry
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from strawberry.types import Info

from infra.readpool import ReadPool
from infra.request_scope import close_scope, open_scope
from readmodels.reader import Reader
from resolvers.context import RequestContext
from resolvers.dataloaders import RowLoader
from resolvers.tracing import traced

SECRET = "secret-4711"
QUERY = "{ fails }"

# Set when a test ends: the batches below wait on it, as on a lock never released.
_released = asyncio.Event()
_batch_started = asyncio.Event()


async def _ints(db: Reader, keys: Sequence[str]) -> list[int | None]:
    """Each key cast to an integer by PostgreSQL (a non-number fails with 22P02)."""
    rows = await db.fetch("SELECT k::int AS n FROM unnest($1::text[]) AS k", list(keys))
    return [row["n"] for row in rows]


async def _held_ints(db: Reader, keys: Sequence[str]) -> list[int | None]:
    """`_ints`, once the test releases the batch."""
    _batch_started.set()
    await _released.wait()
    return await _ints(db, keys)


class IntByTextLoader(RowLoader[str, int | None], query=_ints):
    """Casts keys with one statement per batch."""


class HeldIntByTextLoader(RowLoader[str, int | None], query=_held_ints):
    """Casts keys once the test lets its batch go."""


@traced
def _fails(root: Any, info: Info[RequestContext, Any]) -> Any:
    return info.context.loader(IntByTextLoader).load(SECRET)


@strawberry.type
class Query:
    fails: int = strawberry.field(resolver=_fails)


SCHEMA = strawberry.Schema(query=Query)


class Traced:
    """A sampled request's context on a real read pool, its spans in memory."""

    def __init__(self, pool: ReadPool) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("test")
        self.scope, self.token = open_scope(self.tracer)
        self.context = RequestContext(
            db=pool, now=datetime.now(UTC), tracer=self.tracer, open_spans=self.scope.open_spans
        )

    def spans(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name == name]

    def everything(self) -> str:
        """Every name, status, attribute and event of every span, as text."""
        parts: list[str] = []
        for span in self.exporter.get_finished_spans():
            parts.append(f"{span.name} {span.status.description} {dict(span.attributes or {})}")
            parts.extend(f"{e.name} {dict(e.attributes or {})}" for e in span.events)
        return "\n".join(parts)


@pytest.fixture
async def traced(database_url: str) -> AsyncIterator[Traced]:
    pool = ReadPool(database_url, max_size=2)
    _released.clear()
    _batch_started.clear()
    traced = Traced(pool)
    try:
        yield traced
    finally:
        close_scope(traced.token)
        _released.set()
        await asyncio.sleep(0)  # let a held batch finish before its pool closes
        await pool.close()


async def test_a_driver_error_reaches_no_span_with_the_value_it_quotes(traced: Traced) -> None:
    """PostgreSQL's 22P02 quotes the text it could not cast: the SQL, loader and resolver
    spans say 22P02 instead, in their status and their exception events."""
    result = await SCHEMA.execute(QUERY, context_value=traced.context)
    assert result.errors is not None
    original = result.errors[0].original_error
    assert isinstance(original, asyncpg.DataError)
    assert SECRET in str(original)
    (sql,) = traced.spans("SELECT")
    (loader,) = traced.spans("dataloader IntByTextLoader")
    (resolver,) = traced.spans("resolve Query.fails")
    for span in (sql, loader, resolver):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "22P02"
        (event,) = span.events
        attributes = dict(event.attributes or {})
        assert attributes["exception.type"] == ("asyncpg.exceptions.InvalidTextRepresentationError")
        assert attributes["exception.message"] == "22P02"
        assert str(attributes["exception.stacktrace"]).endswith(
            "asyncpg.exceptions.InvalidTextRepresentationError: 22P02\n"
        )
    assert SECRET not in traced.everything()


async def test_a_load_of_a_key_being_fetched_leaves_no_link_behind(traced: Traced) -> None:
    """A key asked for again while its batch runs is not waiting for a batch: nothing is
    kept for it (before, its entry stayed until the request ended)."""
    loader = traced.context.loader(HeldIntByTextLoader)
    with traced.tracer.start_as_current_span("resolve first"):
        first = loader.load("7")
    await asyncio.wait_for(_batch_started.wait(), timeout=5)
    with traced.tracer.start_as_current_span("resolve second"):
        second = loader.load("7")
    assert second is first
    assert loader._asked == {}
    _released.set()
    assert await asyncio.wait_for(second, timeout=5) == 7
    (batch,) = traced.spans("dataloader HeldIntByTextLoader")
    (asking,) = traced.spans("resolve first")
    assert asking.context is not None
    assert [link.context.span_id for link in batch.links] == [asking.context.span_id]
