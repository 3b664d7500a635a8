"""The response cache around an operation's execution: plan, lookup, answer, store.

A query's plan (`infra.response_cache.front`) says whether and under which
key it may be cached; mutations and debug requests are never cached. A hit
is answered from the entry (its data reflects at least the entry's stamp); a
stale hit is answered too, and executed again in the background for the same
viewer (stale-while-revalidate). After execution an answer without errors is
stored under the tags the request read. A persisted GET (by id or APQ hash) is
what HTTP caches may keep: it gets an ETag and may be a 304.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import ExecutionResult, OperationType
from opentelemetry.trace import Span
from starlette.requests import Request
from starlette.responses import Response

from infra.graphql_bodies import ResponseBodies
from infra.graphql_documents import PreparedDocument
from infra.graphql_execution import execute_document
from infra.graphql_operation import is_persisted
from infra.graphql_request import GraphQLRequest
from infra.graphql_responses import graphql_response
from infra.graphql_spans import CACHE_ATTRIBUTE
from infra.request_scope import leave_scope
from infra.response_cache.cache import Lookup
from infra.response_cache.entry import CachedResponse
from infra.response_cache.front import UNCACHED, Plan, ResponseCacheFront, cache_status
from infra.response_cache.responses import (
    compose_body,
    json_bytes_response,
    not_modified_response,
)
from persisted_queries.plans import CompiledOperation
from resolvers.context import RequestContext
from resolvers.viewer import Viewer


def is_persisted_get(request: Request, graphql_request: GraphQLRequest) -> bool:
    """A GET naming its document by id or APQ hash: the requests HTTP caches may keep."""
    return request.method == "GET" and is_persisted(graphql_request)


class CacheStage:
    """The endpoint's response cache (None: off), and what re-executes a stale entry."""

    def __init__(
        self, cache: ResponseCacheFront | None, schema: Any, db: Any, bodies: ResponseBodies
    ) -> None:
        self.cache = cache
        self._schema = schema
        self._db = db
        self._bodies = bodies

    def plan(
        self,
        prepared: PreparedDocument,
        graphql_request: GraphQLRequest,
        operation: OperationType,
        compiled: CompiledOperation | None,
        viewer: Viewer | None,
    ) -> Plan:
        if self.cache is None or operation is not OperationType.QUERY:
            return UNCACHED
        return self.cache.plan(
            prepared.document,
            graphql_request.operation_name,
            graphql_request.variables,
            viewer=viewer,
            policy=compiled.policy if compiled is not None else None,
        )

    async def lookup(
        self,
        plan: Plan,
        min_position: int | None,
        span: Span | None,
        prepared: PreparedDocument,
        graphql_request: GraphQLRequest,
        compiled: CompiledOperation | None,
        viewer: Viewer | None,
    ) -> Lookup | None:
        """The entry answering the request (a stale one is refreshed in the background), or
        None; `span` (when the request records) gets `vitrine.cache`: hit, miss or bypass."""
        cache = self.cache
        if cache is None or plan.key is None:
            if span is not None:
                span.set_attribute(CACHE_ATTRIBUTE, "bypass")
            return None
        hit = await cache.lookup(plan, min_position=min_position)
        if span is not None:
            span.set_attribute(CACHE_ATTRIBUTE, "miss" if hit is None else "hit")
        if hit is not None and hit.stale:
            self._refresh(plan, prepared, graphql_request, compiled, viewer)
        return hit

    def cached(
        self,
        request: Request,
        plan: Plan,
        hit: Lookup,
        http_cacheable: bool,
        extensions: dict[str, Any],
        media_type: str,
    ) -> Response:
        """A response from the cache; the data reflects at least the entry's stamp."""
        assert self.cache is not None
        status = cache_status(hit, plan)
        headers = self.cache.headers(plan, hit.entry, http_cacheable=http_cacheable, status=status)
        if http_cacheable and self.cache.not_modified(
            request.headers.get("if-none-match"), hit.entry
        ):
            return not_modified_response(headers)
        return json_bytes_response(compose_body(hit.entry.data, extensions), media_type, headers)

    def stamp(self) -> int:
        """The invalidation stamp to store an answer computed from now on under."""
        return self.cache.stamp() if self.cache is not None else 0

    def answer(
        self,
        request: Request,
        plan: Plan,
        stamp: int,
        result: ExecutionResult,
        context: RequestContext,
        *,
        actual_cost: int,
        http_cacheable: bool,
        waited: float,
        min_position: int | None,
        costs: dict[str, Any],
        media_type: str,
    ) -> Response:
        """The response to an executed operation, stored in the cache when it may be."""
        bodies = self._bodies
        cache = self.cache
        if cache is None:
            return graphql_response(bodies.body(result, waited, min_position, costs), media_type)
        entry = None
        if not result.errors and plan.policy.cacheable:
            entry = cache.remember(
                plan,
                stamp,
                orjson.dumps(result.data),
                context.tags,
                fresh_until=context.fresh_until,
                actual_cost=actual_cost,
            )
        status = cache_status(None, plan)
        headers = cache.headers(plan, entry, http_cacheable=http_cacheable, status=status)
        if entry is None:
            body = bodies.body(result, waited, min_position, costs)
            return graphql_response(body, media_type, headers=headers)
        if http_cacheable and cache.not_modified(request.headers.get("if-none-match"), entry):
            return not_modified_response(headers)
        extensions = bodies.extensions(waited, min_position, costs)
        return json_bytes_response(compose_body(entry.data, extensions), media_type, headers)

    def _refresh(
        self,
        plan: Plan,
        prepared: PreparedDocument,
        graphql_request: GraphQLRequest,
        compiled: CompiledOperation | None,
        viewer: Viewer | None,
    ) -> None:
        """Stale-while-revalidate: execute again in the background, outside any request,
        for the same viewer (the entry's key is theirs)."""
        cache = self.cache
        assert cache is not None

        async def compute() -> CachedResponse | None:
            leave_scope()  # not the request's statements, nor in its trace
            stamp = cache.stamp()
            context = RequestContext(db=self._db, now=datetime.now(UTC), viewer=viewer)
            result = await execute_document(
                self._schema,
                prepared.document,
                context,
                graphql_request.variables,
                graphql_request.operation_name,
                compiled,
            )
            if result.errors:
                return None
            cost = prepared.cost_of(graphql_request.operation_name)
            return cache.entry(
                plan,
                stamp,
                orjson.dumps(result.data),
                context.tags,
                fresh_until=context.fresh_until,
                actual_cost=None if cost is None else cost.actual(result.data),
            )

        cache.refresh(plan, compute)
