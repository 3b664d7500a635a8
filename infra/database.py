"""Database engines: one seam for PostgreSQL connections, timeouts and statement counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from opentelemetry.trace import Span
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from infra.request_scope import current_scope
from infra.sql_spans import record_statement_error, start_statement_span


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy asyncpg form of a postgresql:// URL."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+asyncpg", *parts[1:]))


def asyncpg_dsn(url: str) -> str:
    """The plain libpq form asyncpg.connect() takes (used for LISTEN connections)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    statement_timeout_ms: int = 5000,
    application_name: str = "vitrine",
) -> AsyncEngine:
    """An engine whose every statement runs under `statement_timeout_ms` and is counted."""
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        hide_parameters=True,  # errors and logs name the statement, never its values
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        connect_args={
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": application_name,
                "timezone": "UTC",
            },
        },
    )
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    event.listen(engine.sync_engine, "after_cursor_execute", _count_rows)
    event.listen(engine.sync_engine, "before_cursor_execute", _start_request_statement)
    event.listen(engine.sync_engine, "after_cursor_execute", _end_request_statement)
    event.listen(engine.sync_engine, "handle_error", _fail_request_statement)
    return engine


@dataclass(slots=True)
class StatementStats:
    """Statements and rows seen while this object is the current counter."""

    statements: int = 0
    rows: int = 0
    texts: list[str] | None = None


_current_stats: ContextVar[StatementStats | None] = ContextVar("vitrine_sql_stats", default=None)


def _count_statement(*args: Any) -> None:
    stats = _current_stats.get()
    if stats is not None:
        stats.statements += 1
        if stats.texts is not None:
            stats.texts.append(str(args[2]))


def _count_rows(*args: Any) -> None:
    stats = _current_stats.get()
    rowcount = getattr(args[1], "rowcount", -1)
    if stats is not None and isinstance(rowcount, int) and rowcount > 0:
        stats.rows += rowcount


@contextlib.contextmanager
def count_statements(*, keep_text: bool = False) -> Iterator[StatementStats]:
    """Count the SQL statements issued by this task (and tasks it spawns) inside the block."""
    stats = StatementStats(texts=[] if keep_text else None)
    token = _current_stats.set(stats)
    try:
        yield stats
    finally:
        _current_stats.reset(token)


def current_statement_stats() -> StatementStats | None:
    return _current_stats.get()


def activate_statement_stats(stats: StatementStats) -> None:
    """Make `stats` the counter for the rest of the current context (per request)."""
    _current_stats.set(stats)


# A request's statements through this engine (persisted-query lookups and registrations,
# mutation appends) count and trace like the read pool's: SQLAlchemy runs its cursor
# events in a greenlet that shares the calling task's context, so the request scope is
# the one of the task that ran the statement. The projector and other background tasks
# were started outside any request and see none. Unsampled, this is one context-variable
# read per statement; the span rides on the statement's execution context.
_SPAN = "_vitrine_span"


def _start_request_statement(
    _conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool
) -> None:
    scope = current_scope()
    if scope is None:
        return
    scope.statements += 1
    if scope.tracer is not None and context is not None:
        setattr(context, _SPAN, start_statement_span(scope.tracer, statement))


def _end_request_statement(
    _conn: Any, cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool
) -> None:
    span: Span | None = getattr(context, _SPAN, None)
    if span is None:
        return
    setattr(context, _SPAN, None)
    rowcount = getattr(cursor, "rowcount", -1)  # rows returned, or changed by DML
    if isinstance(rowcount, int) and rowcount >= 0 and cursor.description is not None:
        span.set_attribute("db.response.returned_rows", rowcount)
    span.end()


def _fail_request_statement(failure: ExceptionContext) -> None:
    span: Span | None = getattr(failure.execution_context, _SPAN, None)
    if span is None:
        return
    setattr(failure.execution_context, _SPAN, None)
    record_statement_error(span, failure.original_exception)
    span.end()
