"""Executing a prepared document: compiled plan when there is one, graphql-core otherwise.

The endpoint (for a request and for a background refresh), the test helper
and the benchmark all run documents through here, so they execute exactly
alike. A compiled plan (persisted documents, see `persisted_queries.plans`)
answers exactly as the reference executor would; when it cannot (a variant
of its `@skip`/`@include` conditions it does not compile) it returns None and
the reference executor runs instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

import strawberry
from graphql import DocumentNode, ExecutionResult, GraphQLError, execute
from strawberry.execution.is_awaitable import optimized_is_awaitable


class ExecutionPlan(Protocol):
    """A compiled operation: `execute` returns None when it must leave it to graphql-core."""

    async def execute(
        self, context: Any, raw_variables: Mapping[str, Any] | None
    ) -> ExecutionResult | None: ...


async def execute_document(
    schema: strawberry.Schema,
    document: DocumentNode,
    context: Any,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    plan: ExecutionPlan | None = None,
    *,
    hide_suggestions: bool = False,
) -> ExecutionResult:
    """Run `document` (already parsed and validated) against Strawberry's schema.

    Strawberry's executor class and awaitable check keep its resolvers working;
    graphql-core resolves synchronous fields without a coroutine, so only
    loader futures are awaited. `hide_suggestions` keeps "Did you mean ...?" out
    of variable errors (a plan carries its own setting, from its compiler).
    """
    if plan is not None:
        result = await plan.execute(context, variables)
        if result is not None:
            return result
    outcome = execute(
        schema._schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=schema.execution_context_class,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        hide_suggestions=hide_suggestions,
    )
    if optimized_is_awaitable(outcome):
        outcome = await outcome  # type: ignore[misc]
    return cast(ExecutionResult, outcome)


def in_response_order(errors: list[GraphQLError], data: Any) -> list[GraphQLError]:
    """Errors sorted by where their paths point in `data` (errors without a path first).

    Executors record errors in the order their fields happen to finish, which
    depends on database timing; listing them in the order of the response makes
    every answer deterministic, and the same from a compiled plan and from
    graphql-core.
    """
    if len(errors) < 2:
        return errors
    return sorted(errors, key=lambda error: _position(error.path, data))


def _position(path: list[str | int] | None, data: Any) -> tuple[int, ...]:
    if path is None:
        return (-1,)
    position: list[int] = []
    value = data
    for key in path:
        if isinstance(value, dict) and isinstance(key, str) and key in value:
            position.append(list(value).index(key))
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            position.append(key)
            value = value[key]
        else:
            break
    return tuple(position)
