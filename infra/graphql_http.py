"""The /graphql endpoint: request parsing, execution of cached documents, response shaping.

graphql-core executes the prepared document directly (Strawberry built the
schema, its resolvers are plain functions), so a repeated query pays neither
parsing nor validation nor a per-field extension. Errors reach the client
with `extensions.code`; anything unexpected is masked and logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, execute
from opentelemetry.trace import SpanKind, Tracer
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.http.ides import get_graphql_ide_html

from infra.graphql_documents import DocumentCache, DocumentErrors, PreparedDocument
from readmodels.projector.watcher import CheckpointWatcher
from resolvers.context import RequestContext

log = logging.getLogger("vitrine.graphql")

MIN_POSITION_HEADER = "vitrine-min-position"
MASKED_MESSAGE = "Unexpected error."


class RequestError(Exception):
    """A request that cannot be executed at all (HTTP 4xx with one GraphQL error)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def parse_graphql_request(payload: Any) -> GraphQLRequest:
    """Check the shape of a GraphQL-over-HTTP request body or GET parameters."""
    if isinstance(payload, list):
        raise RequestError(400, "BATCHING_NOT_SUPPORTED", "send one operation per request")
    if not isinstance(payload, dict):
        raise RequestError(400, "BAD_REQUEST", "the body must be a JSON object")
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "BAD_REQUEST", "`query` must be a non-empty string")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "BAD_REQUEST", "`variables` must be an object")
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "BAD_REQUEST", "`operationName` must be a string")
    return GraphQLRequest(query, variables, operation_name)


def parse_min_position(headers: Mapping[str, str]) -> int | None:
    raw = headers.get(MIN_POSITION_HEADER)
    if raw is None:
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise RequestError(
            400, "INVALID_HEADER", "Vitrine-Min-Position: must be a non-negative integer"
        )
    return int(raw)


def format_error(error: GraphQLError, *, default_code: str) -> dict[str, Any]:
    """The client's view of an error: codes for known errors, a fixed message otherwise."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    if original is not None and "code" not in extensions and error.path is not None:
        log.error("unexpected error in %s", error.path, exc_info=original)
        message, extensions = MASKED_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"}
    extensions.setdefault("code", default_code)
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = error.path
    formatted["extensions"] = extensions
    return formatted


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(error: RequestError) -> Response:
    return json_response(
        {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}, error.status
    )


class GraphQLEndpoint:
    """An ASGI-friendly handler for GET and POST /graphql."""

    def __init__(
        self,
        *,
        schema: Any,
        documents: DocumentCache,
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
                if "query" not in request.query_params:
                    return self._ide(request)
                payload: Any = dict(request.query_params)
                if "variables" in payload:
                    payload["variables"] = _json_param(payload["variables"], "variables")
                graphql_request = parse_graphql_request(payload)
            else:
                graphql_request = parse_graphql_request(await _json_body(request))
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
        prepared = self._documents.get(graphql_request.query)
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


def _json_param(raw: str, name: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, "BAD_REQUEST", f"`{name}` must be JSON") from None


async def _json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type == "application/graphql":
        return {"query": body.decode("utf-8", errors="replace")}
    if content_type not in ("application/json", "application/graphql-response+json", ""):
        raise RequestError(415, "UNSUPPORTED_MEDIA_TYPE", "send application/json")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "INVALID_JSON", "the body is not valid JSON") from None
