"""Database engines: one seam for PostgreSQL connections, timeouts and statement counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


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
