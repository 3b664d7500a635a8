"""Executing documents in-process exactly as the HTTP endpoint does, counting SQL statements."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import count_statements
from infra.graphql_documents import DocumentCache, PreparedDocument
from infra.graphql_errors import format_error
from infra.graphql_execution import execute_document, in_response_order
from infra.readpool import ReadPool
from persisted_queries.plans import PlanCompiler
from resolvers.context import RequestContext
from schema.build import build_schema

SCHEMA = build_schema()
DOCUMENTS = DocumentCache(SCHEMA._schema)
PLANS = PlanCompiler(SCHEMA._schema)


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
    compiled: bool = False,
    operation_name: str | None = None,
    context: RequestContext | None = None,
) -> tuple[dict[str, Any], int]:
    """The response body (data and errors with codes) and the number of SQL statements.

    `compiled` runs the document's compiled plan (as for a persisted request)
    instead of graphql-core; the test fails if the document did not compile.
    """
    prepared = DOCUMENTS.get(query)
    assert isinstance(prepared, PreparedDocument), prepared
    plan = None
    if compiled:
        plan = PLANS.plan(prepared, operation_name)
        assert plan is not None, f"did not compile: {prepared.plans}"
    if context is None:
        context = RequestContext(db=reader_for(engine, statement_timeout_ms), now=datetime.now(UTC))
    before = asyncio.all_tasks()
    with count_statements() as stats:
        result = await execute_document(
            SCHEMA, prepared.document, context, variables, operation_name, plan
        )
    # graphql-core stops waiting for a field once an error has nulled its parent, but the
    # loader batch behind it still runs its statement: wait for such stragglers (tasks
    # started by this execution; they count into `stats`), or the count depends on timing.
    stragglers = asyncio.all_tasks() - before - {asyncio.current_task()}
    if stragglers:
        await asyncio.wait(stragglers, timeout=10)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [
            format_error(e, default_code="BAD_USER_INPUT")
            for e in in_response_order(list(result.errors), result.data)
        ]
    return body, stats.statements
