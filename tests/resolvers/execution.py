"""Executing documents in-process exactly as the HTTP endpoint does, counting SQL statements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import count_statements
from infra.graphql_documents import DocumentCache, PreparedDocument
from infra.graphql_execution import execute_document
from infra.graphql_http import format_error
from infra.readpool import ReadPool
from resolvers.context import RequestContext
from schema.build import build_schema

SCHEMA = build_schema()
DOCUMENTS = DocumentCache(SCHEMA._schema)


_POOLS: dict[tuple[str, int], ReadPool] = {}


def reader_for(engine: AsyncEngine, statement_timeout_ms: int = 5000) -> ReadPool:
    """The read pool for an engine's database (one per URL and timeout, closed at exit)."""
    url = engine.url.render_as_string(hide_password=False)
    key = (url, statement_timeout_ms)
    if key not in _POOLS:
        _POOLS[key] = ReadPool(url, max_size=4, statement_timeout_ms=statement_timeout_ms)
    return _POOLS[key]


async def close_read_pools() -> None:
    while _POOLS:
        await _POOLS.popitem()[1].close()


async def run(
    engine: AsyncEngine,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    statement_timeout_ms: int = 5000,
) -> tuple[dict[str, Any], int]:
    """The response body (data and errors with codes) and the number of SQL statements."""
    prepared = DOCUMENTS.get(query)
    assert isinstance(prepared, PreparedDocument), prepared
    db = reader_for(engine, statement_timeout_ms)
    context = RequestContext(db=db, now=datetime.now(UTC))
    with count_statements() as stats:
        result = await execute_document(SCHEMA, prepared.document, context, variables)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e, default_code="BAD_USER_INPUT") for e in result.errors]
    return body, stats.statements
