"""What a compiled plan needs at run time: one `Run` per request, and its driver.

Generated code (see `codegen`) completes everything it can synchronously and
appends each loader future it meets to `Run.pending`, with the continuation
that completes its value. The driver then awaits the whole level at once, so
every load of a level lands in the same DataLoader batch, and runs the
continuations in document order, which queue the next level. That is how a
plan never issues more SQL statements than the reference executor.

Errors follow graphql-core's rules exactly: a failing nullable position
becomes null and records its error; a failing non-null one propagates to the
nearest nullable ancestor (its "boundary"); an error under a position that
was already nulled is dropped (graphql-core's `CollectedErrors`).

Paths are linked tuples `(prev, key)`, cheap to build and only turned into
lists when an error needs one. A boundary is `(container, path)`: the list or
dict holding the nullable position, and that position's path (whose last key
indexes the container); `None` is the root, which nulls `data`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import CoroutineType
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    located_error,
)
from graphql.execution.values import VariableValues
from graphql.pyutils import Path as GraphQLPath
from strawberry.execution.is_awaitable import optimized_is_awaitable

PathTuple = tuple[Any, str | int] | None
Boundary = tuple[Any, Any] | None
Continuation = Callable[..., None]


def path_list(path: PathTuple) -> list[str | int]:
    keys: list[str | int] = []
    while path is not None:
        keys.append(path[1])
        path = path[0]
    keys.reverse()
    return keys


def graphql_path(path: PathTuple) -> GraphQLPath | None:
    """graphql-core's Path for `path` (for a sampled request's resolver info)."""
    if path is None:
        return None
    return GraphQLPath(graphql_path(path[0]), path[1], None)


class Run:
    """The state of one execution of a plan."""

    __slots__ = (
        "context",
        "deferred",
        "errors",
        "fragments",
        "info",
        "operation",
        "pending",
        "positions",
        "root_nulled",
        "schema",
        "traced",
        "variables",
    )

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        context: Any,
        variables: VariableValues,
        fragments: dict[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments or {}
        self.operation = operation
        self.context = context
        self.variables = variables
        self.pending: list[tuple[Any, ...]] = []
        self.errors: list[GraphQLError] = []
        self.positions: set[PathTuple] = set()
        self.root_nulled = False
        # Propagations met while a level's continuations run, applied after them all.
        self.deferred: list[tuple[GraphQLError, Boundary]] | None = None
        # A sampled request (the context carries a tracer) gets a resolver info per
        # field call with its real path, so `@traced` names its spans exactly as under
        # the reference executor; an unsampled one shares this single info.
        self.traced = getattr(context, "tracer", None) is not None
        self.info = self._info(None, [], None, None, None)

    def _info(
        self,
        field_name: str | None,
        nodes: list[Any],
        return_type: Any,
        parent_type: GraphQLObjectType | None,
        path: GraphQLPath | None,
    ) -> GraphQLResolveInfo[Any]:
        return GraphQLResolveInfo(
            field_name,  # type: ignore[arg-type]
            nodes,
            return_type,
            parent_type,  # type: ignore[arg-type]
            path,  # type: ignore[arg-type]
            self.schema,
            self.fragments,
            None,
            self.operation,
            self.variables.coerced,  # type: ignore[arg-type]  # as Strawberry passes them
            self.context,
            optimized_is_awaitable,  # type: ignore[arg-type]
            None,
            None,  # type: ignore[arg-type]
        )

    def field_info(
        self,
        field: GraphQLField,
        name: str,
        nodes: list[Any],
        parent_type: GraphQLObjectType,
        path: PathTuple,
    ) -> GraphQLResolveInfo[Any]:
        return self._info(name, nodes, field.type, parent_type, graphql_path(path))

    def is_nulled(self, path: PathTuple) -> bool:
        positions = self.positions
        if not positions:
            return False
        if None in positions:
            return True
        while path is not None:
            if path in positions:
                return True
            path = path[0]
        return False

    def add(self, error: GraphQLError, position: PathTuple) -> None:
        """Record an error that nulled `position` (unless an ancestor is already null)."""
        if self.is_nulled(position):
            return
        self.positions.add(position)
        self.errors.append(error)

    def propagate(self, error: GraphQLError, boundary: Boundary) -> None:
        """A non-null position failed after its parent was built: null the boundary.

        During a level's continuations the nulling waits for the level's end: in
        graphql-core an error climbs one awaiting coroutine per loop turn, so the
        errors of futures that settled with it are recorded before it arrives."""
        if self.deferred is not None:
            self.deferred.append((error, boundary))
            return
        if boundary is None:
            self.root_nulled = True
            self.add(error, None)
            return
        container, position = boundary
        if self.is_nulled(position):
            return
        container[position[1]] = None
        self.add(error, position)

    def error_at(self, error: Exception, nodes: list[Any], path: PathTuple) -> GraphQLError:
        return located_error(error, nodes, path_list(path))

    def defer(self, value: Any, continuation: Continuation, *where: Any) -> None:
        """Queue an awaitable field value; `continuation(future, run, *where)` completes it.
        An async iterable (a list field's value) is collected into a list first."""
        if not isinstance(value, asyncio.Future):
            if not optimized_is_awaitable(value) and hasattr(value, "__aiter__"):
                value = _collect(value)
            if not isinstance(value, CoroutineType):
                value = asyncio.ensure_future(value)
        # A coroutine stays unstarted until the level is drained: graphql-core runs
        # an `async def` resolver's body after its sibling fields have resolved.
        self.pending.append((value, continuation, where))

    async def drain(self) -> None:
        """Resolve level after level until nothing is pending.

        A level's futures are all awaited before any of its continuations run, so
        the next level's loads share their batches. The continuations then run in
        the order their futures settled (those already settled first, in document
        order): graphql-core completes each field as its future settles, and that
        order decides which errors survive when one nulls a shared parent.
        """
        while self.pending:
            level, self.pending = self.pending, []
            if self.positions:
                level = self._alive(level)
            level = [
                (_started(item[0]), item[1], item[2])
                if isinstance(item[0], CoroutineType)
                else item
                for item in level
            ]
            groups = [[item for item in level if item[0].done()]]
            if len(groups[0]) < len(level):
                groups += await _in_settling_order([i for i in level if not i[0].done()])
            for group in groups:
                self._complete_group(group)

    def _complete_group(self, group: list[tuple[Any, ...]]) -> None:
        """Run the continuations of futures that settled in the same loop turn.

        A failure that must null an ancestor is applied after the whole group: in
        graphql-core it climbs one awaiting coroutine per loop turn, so the errors
        of futures that settled in the same turn are recorded before it arrives,
        and those of futures settling turns later find the ancestor nulled."""
        self.deferred = []
        try:
            for future, continuation, where in group:
                if self.positions and self.is_nulled(where[2]):
                    _abandon(future)
                    continue
                continuation(future, self, *where)
        finally:
            deferred, self.deferred = self.deferred, None
        for error, boundary in deferred:
            self.propagate(error, boundary)

    def _alive(self, level: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The items whose position is not nulled. graphql-core drops the errors of
        the others and their data is detached: neither awaited nor completed."""
        alive = []
        for item in level:
            if self.is_nulled(item[2][2]):
                _abandon(item[0])
            else:
                alive.append(item)
        return alive


def _abandon(future: Any) -> None:
    """Leave a future to finish on its own, its error observed (not logged as lost);
    a coroutine never started is closed."""
    if isinstance(future, CoroutineType):
        future.close()
    else:
        future.add_done_callback(_observe)


def _observe(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def _in_settling_order(waiting: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """Wait until every item's future has settled: the items grouped by the loop turn
    they settled in, in the order they did."""
    groups: list[list[tuple[Any, ...]]] = []
    count = 0
    turn: list[list[tuple[Any, ...]] | None] = [None]  # the current turn's group
    loop = asyncio.get_running_loop()
    all_settled: asyncio.Future[None] = loop.create_future()

    def end_turn() -> None:
        turn[0] = None

    def recorder(item: tuple[Any, ...]) -> Callable[[Any], None]:
        def record(_future: Any) -> None:
            nonlocal count
            group = turn[0]
            if group is None:
                group = turn[0] = []
                groups.append(group)
                loop.call_soon(end_turn)  # runs in the next turn: the group closes
            group.append(item)
            count += 1
            if count == len(waiting) and not all_settled.done():
                all_settled.set_result(None)

        return record

    for item in waiting:
        item[0].add_done_callback(recorder(item))
    await all_settled
    return groups


def _started(awaitable: Any) -> asyncio.Future[Any]:
    """A future of a coroutine, which runs now until it first suspends.

    graphql-core awaits a resolver's coroutine inside its own, so an `async def`
    that never suspends is done at once; a task would start it a loop turn
    later, and that turn changes which errors win a race to a shared parent."""
    loop = asyncio.get_running_loop()
    try:
        yielded = awaitable.send(None)
    except StopIteration as stop:
        done = loop.create_future()
        done.set_result(stop.value)
        return done
    except Exception as error:
        failed = loop.create_future()
        failed.set_exception(error)
        return failed
    return asyncio.ensure_future(_resumed(awaitable, yielded))


async def _resumed(coroutine: Any, yielded: Any) -> Any:
    """Drive a started coroutine on, as a task would: wait for what it yielded (an
    asyncio future, or None for a bare yield), then send None back into it; the
    future's own `__await__` then reads its result or raises its error."""
    while True:
        if yielded is None:
            await asyncio.sleep(0)
        else:
            yielded._asyncio_future_blocking = False
            try:
                await yielded
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # we are cancelled, not it
                    coroutine.close()
                    raise
            except Exception:
                pass
        try:
            yielded = coroutine.send(None)
        except StopIteration as stop:
            return stop.value


async def _collect(values: Any) -> list[Any]:
    return [value async for value in values]
