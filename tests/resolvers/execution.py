"""Executing documents in-process exactly as the HTTP endpoint does, counting SQL statements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from graphql import execute
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.execution.is_awaitable import optimized_is_awaitable

from infra.database import count_statements
from infra.graphql_documents import DocumentCache, PreparedDocument
from infra.graphql_http import format_error
from resolvers.context import RequestContext
from schema.build import build_schema

SCHEMA = build_schema()
DOCUMENTS = DocumentCache(SCHEMA._schema)


async def run(
    engine: AsyncEngine, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int]:
    """The response body (data and errors with codes) and the number of SQL statements."""
    prepared = DOCUMENTS.get(query)
    assert isinstance(prepared, PreparedDocument), prepared
    context = RequestContext(engine=engine, now=datetime.now(UTC))
    with count_statements() as stats:
        result = execute(
            SCHEMA._schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            executor_class=SCHEMA.execution_context_class,
            is_awaitable=optimized_is_awaitable,
        )
        if optimized_is_awaitable(result):
            result = await result
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e, default_code="BAD_USER_INPUT") for e in result.errors]
    return body, stats.statements
