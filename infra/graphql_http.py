"""The /graphql endpoint: GraphQL over HTTP at the edge, before an operation runs.

graphql-core executes the prepared document directly (Strawberry built the
schema, its resolvers are plain functions), so a repeated query pays neither
parsing nor validation nor a per-field extension. Errors reach the client
with `extensions.code`; anything unexpected is masked and logged.

The HTTP side follows the GraphQL-over-HTTP spec: the response type comes
from `Accept` (`application/graphql-response+json` by default), a request
that never executed is a 4xx under that type and a 200 under legacy
`application/json`, GET never runs a mutation (405), and GETs and "simple"
POSTs must prove they were preflighted (Apollo's CSRF rule). Every answer
says `Cache-Control: no-store` unless a request error sets its own.

Hardening at the edge: a body (or GET query string) over the size limit is
refused before it is read or parsed (413/414); the whole request runs under
a deadline (504 REQUEST_TIMEOUT, its statements cancelled too); an
unexpected error is a fixed message with the request's id (500); a JSON
array of operations is refused unless batching is on, and then capped.

Once the request is read, each operation (or each member of a batch) runs
through the stages of `infra.graphql_pipeline`: document, cost and rate
limits, cache, execution, under its server span.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Tracer
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from infra.access_log import SPAN_KEY, VIEWER_ROLES_KEY
from infra.auth import Identity, TokenVerifier
from infra.csrf import DEFAULT_REQUIRED_HEADERS, csrf_message, is_preflighted
from infra.graphql_auth import authenticate
from infra.graphql_batch import answer_batch
from infra.graphql_bodies import ResponseBodies
from infra.graphql_cache_stage import CacheStage
from infra.graphql_documents import DocumentProvider
from infra.graphql_limits import OperationLimits
from infra.graphql_operation import check_method, requested_operation_type
from infra.graphql_pipeline import DEADLINE_KEY, OperationPipeline, with_pending_tracing
from infra.graphql_request import (
    RequestError,
    get_payload,
    parse_graphql_request,
    parse_min_position,
    payload_too_large,
    read_json_body,
)
from infra.graphql_responses import NOT_CACHEABLE, error_response, unexpected_response
from infra.graphql_spans import span_ids_current
from infra.media_types import GRAPHQL_RESPONSE_JSON, JSON, accepts_html, response_media_type
from infra.operation_cost import DEFAULT_MAX_COST
from infra.rate_limits.gate import RateLimitGate
from infra.request_limits import (
    TIMEOUT_CODE,
    TIMEOUT_STATUS,
    Deadline,
    declared_too_large,
    timeout_message,
)
from infra.response_cache.front import ResponseCacheFront
from infra.security_headers import ide_policy
from persisted_queries.plans import PlanCompiler
from readmodels.eventlog.writer import EventWriter
from readmodels.projector.watcher import CheckpointWatcher
from resolvers.observations import Observations

if TYPE_CHECKING:
    from infra.debug_tracing import DebugTracing

__all__ = ["GRAPHQL_ROUTE_METHODS", "GraphQLEndpoint", "check_method", "requested_operation_type"]

# Routed to the endpoint so that it answers them itself: a 405 that says no-store too.
GRAPHQL_ROUTE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# GET parameters that make a GET a GraphQL request rather than a visit to GraphiQL
# (GraphiQL keeps its editor in `?q=...&variables=...`, so a reload must still get the page).
OPERATION_PARAMETERS = ("query", "documentId", "extensions")


class GraphQLEndpoint:
    """An ASGI-friendly handler for /graphql (GET and POST; other methods get a 405).

    `csrf_required_headers` are the headers that prove a GET or simple POST was
    preflighted; None turns CSRF prevention off. `tokens` verifies viewer
    tokens (`Authorization: Bearer <jwt>`); a request without the header is
    anonymous, one with a header that identifies nobody is a 401. `events` is
    what mutations write through; queries never get it.

    `max_body_bytes` bounds a POST body and a GET query string; `request_timeout`
    (seconds) bounds the whole request; `batching_max` is how many operations a
    JSON-array body may hold (0: batching is off); `hide_suggestions` keeps
    "Did you mean ...?" out of variable errors (validation's are the documents').
    `max_cost` is the most an operation may cost (`infra.operation_cost`): beyond it the
    request is refused before anything runs; every answer reports `extensions.cost`.

    Each operation runs through `infra.graphql_pipeline.OperationPipeline`, under a
    SERVER span and a request scope carrying the sampling decision down to SQL, cache
    and persisted-query spans. `observe` receives, once per executed operation (one
    that timed out or failed too), what it did (statements, loader batches, resolver
    durations), sampled or not. `debug` decides which requests get their own trace back
    in `extensions.tracing` (those bypass the response cache).
    """

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
        csrf_required_headers: Sequence[str] | None = DEFAULT_REQUIRED_HEADERS,
        cache: ResponseCacheFront | None = None,
        plans: PlanCompiler | None = None,
        tokens: TokenVerifier,
        events: EventWriter | None = None,
        max_body_bytes: int = 2_000_000,
        request_timeout: float = 10.0,
        batching_max: int = 0,
        hide_suggestions: bool = False,
        rate_limits: RateLimitGate | None = None,
        max_cost: int = DEFAULT_MAX_COST,
        observe: Callable[[Observations], None] | None = None,
        debug: DebugTracing | None = None,
    ) -> None:
        self._max_body_bytes = max_body_bytes
        self._timeout = request_timeout
        self._batching_max = batching_max
        self._tokens = tokens
        self._ide_html = get_graphql_ide_html(graphql_ide="graphiql") if graphiql else None
        self._ide_headers = {
            "cache-control": NOT_CACHEABLE,
            "content-security-policy": ide_policy(self._ide_html or ""),
        }
        self._csrf_headers = None if csrf_required_headers is None else tuple(csrf_required_headers)
        bodies = ResponseBodies(watcher, min_position_wait)
        self._pipeline = OperationPipeline(
            schema=schema,
            documents=documents,
            db=db,
            tracer=tracer,
            limits=OperationLimits(rate_limits, max_cost),
            cache=CacheStage(cache, schema, db, bodies),
            bodies=bodies,
            plans=plans,
            events=events,
            hide_suggestions=hide_suggestions,
            observe=observe,
            debug=debug,
        )

    async def __call__(self, request: Request) -> Response:
        media_type = response_media_type(request.headers.get("accept"))
        deadline = Deadline(self._timeout)
        request.scope[DEADLINE_KEY] = deadline  # the server span says 504 when it expires
        try:
            async with deadline:
                return await self._answer(request, media_type)
        except RequestError as error:
            return with_pending_tracing(request, error_response(error, media_type or JSON))
        except ClientDisconnect:
            raise
        except TimeoutError as error:
            if not deadline.expired:
                return with_pending_tracing(
                    request, _unexpected(error, request, media_type or JSON)
                )
            timed_out = RequestError(TIMEOUT_STATUS, TIMEOUT_CODE, timeout_message(self._timeout))
            return with_pending_tracing(request, error_response(timed_out, media_type or JSON))
        except Exception as error:
            return with_pending_tracing(request, _unexpected(error, request, media_type or JSON))

    async def _answer(self, request: Request, media_type: str | None) -> Response:
        if request.method not in ("GET", "POST"):
            raise RequestError(
                405,
                "METHOD_NOT_ALLOWED",
                "/graphql answers GET and POST",
                headers={"Allow": "GET, POST"},
            )
        if request.method == "GET" and len(request.scope["query_string"]) > self._max_body_bytes:
            raise RequestError(
                414,
                "URI_TOO_LONG",
                f"the query string is longer than {self._max_body_bytes} bytes: "
                "send the operation in a POST body, or by its persisted id",
            )
        if request.method == "GET" and self._wants_ide(request):
            return HTMLResponse(self._ide_html, headers=self._ide_headers)
        if media_type is None:
            raise RequestError(
                406,
                "NOT_ACCEPTABLE",
                f"/graphql answers in {GRAPHQL_RESPONSE_JSON} or {JSON}: accept one of them",
            )
        if self._csrf_headers is not None and not is_preflighted(
            request.headers, self._csrf_headers
        ):
            raise RequestError(400, "CSRF_PREVENTION", csrf_message(self._csrf_headers))
        if declared_too_large(request.headers.get("content-length"), self._max_body_bytes):
            raise payload_too_large(self._max_body_bytes)  # refused before a byte is read
        # Anonymous requests pay this one lookup; a token is checked before anything runs.
        authorization = request.headers.get("authorization")
        identity = None if authorization is None else authenticate(authorization, self._tokens)
        if identity is not None:
            request.scope[VIEWER_ROLES_KEY] = identity.roles  # for the access line
        if request.method == "GET":
            payload: Any = get_payload(request.query_params)
        else:
            payload = await read_json_body(request, self._max_body_bytes)
        if isinstance(payload, list) and self._batching_max:
            min_position = parse_min_position(request.headers)

            def member(item: Any) -> Awaitable[Response]:
                return self._member(request, item, min_position, media_type, identity)

            return await answer_batch(payload, self._batching_max, media_type, member)
        graphql_request = parse_graphql_request(payload)
        min_position = parse_min_position(request.headers)
        return await self._pipeline.run(
            request, graphql_request, min_position, media_type, identity
        )

    async def _member(
        self,
        request: Request,
        payload: Any,
        min_position: int | None,
        media_type: str,
        identity: Identity | None,
    ) -> Response:
        """One operation of a batch, answered as if sent alone (errors included)."""
        try:
            graphql_request = parse_graphql_request(payload)
            return await self._pipeline.run(
                request, graphql_request, min_position, media_type, identity
            )
        except RequestError as error:
            return with_pending_tracing(request, error_response(error, media_type))
        except ClientDisconnect:
            raise
        except Exception as error:
            return with_pending_tracing(request, _unexpected(error, request, media_type))

    def _wants_ide(self, request: Request) -> bool:
        return (
            self._ide_html is not None
            and not any(name in request.query_params for name in OPERATION_PARAMETERS)
            and accepts_html(request.headers.get("accept"))
        )


def _unexpected(error: Exception, request: Request, media_type: str) -> Response:
    """`unexpected_response`, its log line carrying the ended server span's trace ids."""
    with span_ids_current(request.scope.get(SPAN_KEY)):
        return unexpected_response(error, request, media_type)
