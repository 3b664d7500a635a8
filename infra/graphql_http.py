"""The /graphql endpoint: request parsing, execution of cached documents, response shaping.

graphql-core executes the prepared document directly (Strawberry built the
schema, its resolvers are plain functions), so a repeated query pays neither
parsing nor validation nor a per-field extension. Errors reach the client
with `extensions.code`; anything unexpected is masked and logged.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import ExecutionResult, OperationType, execute
from opentelemetry.trace import SpanKind, Tracer
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.http.ides import get_graphql_ide_html

from infra.graphql_documents import DocumentErrors, DocumentProvider, PreparedDocument
from infra.graphql_errors import format_error
from infra.graphql_request import (
    GraphQLRequest,
    RequestError,
    get_payload,
    parse_graphql_request,
    parse_min_position,
    read_json_body,
)
from readmodels.projector.watcher import CheckpointWatcher
from resolvers.context import RequestContext

log = logging.getLogger("vitrine.graphql")


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(error: RequestError) -> Response:
    return json_response(
        {"errors": [{"message": error.message, "extensions": {"code": error.code}}]},
        error.status,
        error.headers,
    )


class GraphQLEndpoint:
    """An ASGI-friendly handler for GET and POST /graphql."""

    def __init__(
        self,
        *,
        schema: Any,
        documents: DocumentProvider,
        db: Any,
        watcher: CheckpointWatcher,
        tracer: Tracer,
        graphiql: bool,
        min_position_wait: float,
    ) -> None:
        self._schema = schema
        self._graphql_schema = schema._schema
        self._executor_class = schema.execution_context_class
        self._documents = documents
        self._db = db
        self._watcher = watcher
        self._tracer = tracer
        self._graphiql = graphiql
        self._min_position_wait = min_position_wait

    async def __call__(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                if not request.query_params:
                    return self._ide(request)
                graphql_request = parse_graphql_request(get_payload(request.query_params))
            else:
                graphql_request = parse_graphql_request(await read_json_body(request))
            min_position = parse_min_position(request.headers)
            return await self._run(request, graphql_request, min_position)
        except RequestError as error:
            return error_response(error)

    def _ide(self, request: Request) -> Response:
        if not self._graphiql or "text/html" not in request.headers.get("accept", ""):
            return error_response(
                RequestError(400, "BAD_REQUEST", "send a `query` (GET parameter or POST body)")
            )
        return HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))

    async def _run(
        self, request: Request, graphql_request: GraphQLRequest, min_position: int | None
    ) -> Response:
        prepared = await self._documents.provide(graphql_request, request.headers)
        if isinstance(prepared, DocumentErrors):
            code = (
                "GRAPHQL_PARSE_FAILED" if prepared.stage == "parse" else "GRAPHQL_VALIDATION_FAILED"
            )
            return json_response(
                {"errors": [format_error(e, default_code=code) for e in prepared.errors]}
            )
        operation = prepared.operation_type(graphql_request.operation_name)
        if operation is None:
            raise RequestError(
                400, "BAD_REQUEST", "`operationName` must name one operation of the document"
            )
        if request.method == "GET" and operation is not OperationType.QUERY:
            return json_response(
                {
                    "errors": [
                        {
                            "message": "only queries may be sent over GET",
                            "extensions": {"code": "METHOD_NOT_ALLOWED"},
                        }
                    ]
                },
                405,
                {"Allow": "POST"},
            )
        waited = await self._wait_for(min_position)
        name = graphql_request.operation_name or _first_operation_name(prepared)
        with self._tracer.start_as_current_span(
            f"{operation.value} {name}" if name else operation.value,
            kind=SpanKind.SERVER,
            attributes={
                "graphql.operation.type": operation.value,
                "graphql.operation.name": name or "",
            },
        ) as span:
            context = RequestContext(
                db=self._db,
                now=datetime.now(UTC),
                tracer=self._tracer if span.is_recording() else None,
            )
            result = execute(
                self._graphql_schema,
                prepared.document,
                context_value=context,
                variable_values=graphql_request.variables,
                operation_name=graphql_request.operation_name,
                executor_class=self._executor_class,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            )
            if optimized_is_awaitable(result):
                result = await result  # type: ignore[misc]
        return json_response(self._body(result, waited, min_position))  # type: ignore[arg-type]

    async def _wait_for(self, min_position: int | None) -> float:
        if min_position is None:
            return 0.0
        started = time.monotonic()
        await self._watcher.wait_for(min_position, within=self._min_position_wait)
        return time.monotonic() - started

    def _body(
        self, result: ExecutionResult, waited: float, min_position: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if result.errors:
            default = "BAD_USER_INPUT" if result.data is None else "INTERNAL_SERVER_ERROR"
            body["errors"] = [format_error(e, default_code=default) for e in result.errors]
        body["data"] = result.data
        read_model: dict[str, Any] = {
            "position": self._watcher.position,
            "lagMs": self._watcher.lag_ms(),
        }
        if min_position is not None:
            read_model["minPosition"] = min_position
            read_model["minPositionReached"] = self._watcher.position >= min_position
            read_model["waitedMs"] = round(waited * 1000)
        body["extensions"] = {"readModel": read_model}
        return body


def _first_operation_name(prepared: PreparedDocument) -> str | None:
    names = [n for n in prepared.operations if n]
    return names[0] if len(names) == 1 else None
