"""Executing a prepared document: the one place that calls graphql-core's executor.

The endpoint (for a request and for a background refresh), the test helper
and the benchmark all run documents through here, so they execute exactly
alike, and the compiled plans of issue 5 have a single place to plug in.
"""

from __future__ import annotations

from typing import Any, cast

import strawberry
from graphql import DocumentNode, ExecutionResult, execute
from strawberry.execution.is_awaitable import optimized_is_awaitable


async def execute_document(
    schema: strawberry.Schema,
    document: DocumentNode,
    context: Any,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> ExecutionResult:
    """Run `document` (already parsed and validated) against Strawberry's schema.

    Strawberry's executor class and awaitable check keep its resolvers working;
    graphql-core resolves synchronous fields without a coroutine, so only
    loader futures are awaited.
    """
    outcome = execute(
        schema._schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=schema.execution_context_class,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
    )
    if optimized_is_awaitable(outcome):
        outcome = await outcome  # type: ignore[misc]
    return cast(ExecutionResult, outcome)
