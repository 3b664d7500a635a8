"""The /graphql endpoint: GraphQL over HTTP, execution of cached documents, response shaping.

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
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, get_operation_ast, parse
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Tracer
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from infra.access_log import OPERATION_KEY, VIEWER_ROLES_KEY
from infra.auth import Identity, TokenVerifier
from infra.csrf import DEFAULT_REQUIRED_HEADERS, csrf_message, is_preflighted
from infra.graphql_auth import authenticate
from infra.graphql_batch import answer_batch
from infra.graphql_document_attribute import SanitizedDocuments
from infra.graphql_documents import MAX_TOKENS, DocumentErrors, DocumentProvider, PreparedDocument
from infra.graphql_errors import error_entry, format_error, record_unexpected
from infra.graphql_execution import execute_document, in_response_order
from infra.graphql_request import (
    GraphQLRequest,
    RequestError,
    get_payload,
    parse_graphql_request,
    parse_min_position,
    payload_too_large,
    read_json_body,
)
from infra.graphql_responses import (
    NOT_CACHEABLE,
    error_response,
    graphql_response,
    request_errors_response,
    unexpected_response,
)
from infra.media_types import GRAPHQL_RESPONSE_JSON, JSON, accepts_html, response_media_type
from infra.operation_cost import DEFAULT_MAX_COST, cost_extension, cost_limit_error
from infra.rate_limits.gate import RateLimitGate, principal_key
from infra.rate_limits.limiter import Decision
from infra.readpool import ReadTimeoutError, ReadUnavailableError
from infra.request_limits import (
    TIMEOUT_CODE,
    TIMEOUT_STATUS,
    Deadline,
    declared_too_large,
    timeout_message,
)
from infra.request_metrics import GRAPHQL_ERRORS_KEY
from infra.response_cache.cache import Lookup
from infra.response_cache.entry import CachedResponse
from infra.response_cache.front import UNCACHED, Plan, ResponseCacheFront, cache_status
from infra.response_cache.responses import (
    compose_body,
    json_bytes_response,
    not_modified_response,
)
from infra.security_headers import ide_policy
from persisted_queries.plans import CompiledOperation, PlanCompiler
from readmodels.eventlog.writer import EventWriter
from readmodels.projector.watcher import CheckpointWatcher
from readmodels.segments.queries import segments_by_customers
from resolvers.context import RequestContext
from resolvers.viewer import Viewer

# Routed to the endpoint so that it answers them itself: a 405 that says no-store too.
GRAPHQL_ROUTE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# GET parameters that make a GET a GraphQL request rather than a visit to GraphiQL
# (GraphiQL keeps its editor in `?q=...&variables=...`, so a reload must still get the page).
OPERATION_PARAMETERS = ("query", "documentId", "extensions")
# Where `_operate` leaves its rate-limit decision, for `_run` to put the RateLimit
# headers on whatever the request is answered with from then on.
RATE_LIMIT_SCOPE_KEY = "vitrine.rate_limit"


def check_method(method: str, operation: OperationType) -> None:
    """Only queries may run over GET, a safe method: anything else is 405, `Allow: POST`."""
    if method != "POST" and operation is not OperationType.QUERY:
        raise RequestError(
            405,
            "METHOD_NOT_ALLOWED",
            f"a {operation.value} cannot be sent with {method}: use POST",
            headers={"Allow": "POST"},
        )


def requested_operation_type(query: str, operation_name: str | None) -> OperationType | None:
    """The type of the operation a document asks for, read without validating it."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return None if operation is None else operation.operation


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
    ) -> None:
        self._rate_limits = rate_limits
        self._max_cost = max_cost
        self._max_body_bytes = max_body_bytes
        self._timeout = request_timeout
        self._batching_max = batching_max
        self._hide_suggestions = hide_suggestions
        self._schema = schema
        self._events = events
        self._tokens = tokens
        self._plans = plans
        self._documents = documents
        self._db = db
        self._watcher = watcher
        self._tracer = tracer
        self._document_texts = SanitizedDocuments()
        self._ide_html = get_graphql_ide_html(graphql_ide="graphiql") if graphiql else None
        self._ide_headers = {
            "cache-control": NOT_CACHEABLE,
            "content-security-policy": ide_policy(self._ide_html or ""),
        }
        self._min_position_wait = min_position_wait
        self._cache = cache
        self._csrf_headers = None if csrf_required_headers is None else tuple(csrf_required_headers)

    async def __call__(self, request: Request) -> Response:
        media_type = response_media_type(request.headers.get("accept"))
        deadline = Deadline(self._timeout)
        try:
            async with deadline:
                return await self._answer(request, media_type)
        except RequestError as error:
            return error_response(error, media_type or JSON)
        except ClientDisconnect:
            raise
        except TimeoutError as error:
            if not deadline.expired:
                return unexpected_response(error, request, media_type or JSON)
            timed_out = RequestError(TIMEOUT_STATUS, TIMEOUT_CODE, timeout_message(self._timeout))
            return error_response(timed_out, media_type or JSON)
        except Exception as error:
            return unexpected_response(error, request, media_type or JSON)

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
        return await self._run(request, graphql_request, min_position, media_type, identity)

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
            return await self._run(request, graphql_request, min_position, media_type, identity)
        except RequestError as error:
            return error_response(error, media_type)
        except ClientDisconnect:
            raise
        except Exception as error:
            return unexpected_response(error, request, media_type)

    def _wants_ide(self, request: Request) -> bool:
        return (
            self._ide_html is not None
            and not any(name in request.query_params for name in OPERATION_PARAMETERS)
            and accepts_html(request.headers.get("accept"))
        )

    async def _run(
        self,
        request: Request,
        graphql_request: GraphQLRequest,
        min_position: int | None,
        media_type: str,
        identity: Identity | None = None,
    ) -> Response:
        """`_operate`, with the RateLimit headers on its answer once the operation was charged
        (executed, cached, refused with 429, or a request error raised after the charge)."""
        if self._rate_limits is None:
            return await self._operate(request, graphql_request, min_position, media_type, identity)
        try:
            response = await self._operate(
                request, graphql_request, min_position, media_type, identity
            )
        except BaseException as error:
            decision = request.scope.pop(RATE_LIMIT_SCOPE_KEY, None)
            if decision is not None and isinstance(error, RequestError):
                error.headers.update(decision.headers())
            raise
        decision = request.scope.pop(RATE_LIMIT_SCOPE_KEY, None)
        if decision is not None:
            response.headers.update(decision.headers())
        return response

    async def _operate(
        self,
        request: Request,
        graphql_request: GraphQLRequest,
        min_position: int | None,
        media_type: str,
        identity: Identity | None = None,
    ) -> Response:
        prepared = await self._documents.provide(graphql_request, request.headers)
        if isinstance(prepared, DocumentErrors):
            if request.method == "GET" and prepared.stage == "validation" and graphql_request.query:
                # A GET mutation is a 405 even where it would not validate (no Mutation type).
                requested = requested_operation_type(
                    graphql_request.query, graphql_request.operation_name
                )
                if requested is not None:
                    check_method(request.method, requested)
            code = (
                "GRAPHQL_PARSE_FAILED" if prepared.stage == "parse" else "GRAPHQL_VALIDATION_FAILED"
            )
            errors = [format_error(e, default_code=code) for e in prepared.errors]
            return _request_errors(request, errors, media_type)
        operation = prepared.operation_type(graphql_request.operation_name)
        if operation is None:
            message = "`operationName` must name one operation of the document"
            return _request_errors(request, [error_entry(message, "BAD_REQUEST")], media_type)
        check_method(request.method, operation)
        name = graphql_request.operation_name or _first_operation_name(prepared)
        request.scope[OPERATION_KEY] = (operation.value, name)  # for the access line
        # Cost: the formula worked out with the document, evaluated with this request's
        # page sizes; over the limit, nothing runs (nor is charged).
        cost = prepared.cost_of(graphql_request.operation_name)
        requested_cost = 0 if cost is None else cost.requested(graphql_request.variables)
        if requested_cost > self._max_cost:
            refused = cost_limit_error(requested_cost, self._max_cost)
            errors = [format_error(refused, default_code="COST_LIMIT_EXCEEDED")]
            return _request_errors(request, errors, media_type)
        # Rate limits: after every check that refuses an operation without running it, with
        # its cost known; before the wait, the viewer's lookup and the cache.
        limited = await self._charge(
            request, prepared, graphql_request, operation, identity, cost=requested_cost
        )
        if limited is not None and limited.rejected:
            return graphql_response({"errors": [limited.rejection()]}, media_type, 429)
        waited = await self._wait_for(min_position)
        # After the wait: segments read now reflect at least `min_position`. Before the
        # cache lookup: the viewer's id and segments are part of the key.
        viewer = None if identity is None else await self._viewer(identity)
        compiled = self._compiled(prepared, graphql_request)
        plan = self._plan(prepared, graphql_request, operation, compiled, viewer)
        http_cacheable = _is_persisted_get(request, graphql_request)
        cache = self._cache
        if cache is not None and plan.key is not None:
            hit = await cache.lookup(plan, min_position=min_position)
            if hit is not None:
                if hit.stale:
                    self._refresh(plan, prepared, graphql_request, compiled, viewer)
                costs = cost_extension(
                    requested_cost,
                    requested_cost if hit.entry.actual_cost is None else hit.entry.actual_cost,
                    self._throttle_status(request),
                )
                return self._cached(
                    request, plan, hit, http_cacheable, waited, min_position, media_type, costs
                )
        stamp = cache.stamp() if cache is not None else 0
        with self._tracer.start_as_current_span(
            f"{operation.value} {name}" if name else operation.value,
            # A caller's W3C `traceparent` makes this span its child (and its sampling
            # decision ours, with the parent-based samplers); only read when sent.
            context=extract(request.headers) if "traceparent" in request.headers else None,
            kind=SpanKind.SERVER,
            attributes={
                "graphql.operation.type": operation.value,
                "graphql.operation.name": name or "",
            },
        ) as span:
            if span.is_recording():
                span.set_attribute("graphql.document", self._document_texts.text(prepared.document))
            context = RequestContext(
                db=self._db,
                now=datetime.now(UTC),
                tracer=self._tracer if span.is_recording() else None,
                viewer=viewer,
                events=self._events if operation is OperationType.MUTATION else None,
            )
            result = await execute_document(
                self._schema,
                prepared.document,
                context,
                graphql_request.variables,
                graphql_request.operation_name,
                compiled,
                hide_suggestions=self._hide_suggestions,
            )
            if result.errors:
                request.scope[GRAPHQL_ERRORS_KEY] = True  # for /metrics' outcome
                if span.is_recording():
                    record_unexpected(span, result.errors)
        if _never_ran(result):
            errors = [format_error(e, default_code="BAD_USER_INPUT") for e in result.errors or ()]
            return _request_errors(request, errors, media_type)
        actual = 0 if cost is None else cost.actual(result.data)
        costs = cost_extension(requested_cost, actual, self._throttle_status(request))
        if cache is None:
            return graphql_response(self._body(result, waited, min_position, costs), media_type)
        entry = None
        if not result.errors and plan.policy.cacheable:
            entry = cache.remember(
                plan,
                stamp,
                orjson.dumps(result.data),
                context.tags,
                fresh_until=context.fresh_until,
                actual_cost=actual,
            )
        status = cache_status(None, plan)
        headers = cache.headers(plan, entry, http_cacheable=http_cacheable, status=status)
        if entry is None:
            return graphql_response(
                self._body(result, waited, min_position, costs), media_type, headers=headers
            )
        if http_cacheable and cache.not_modified(request.headers.get("if-none-match"), entry):
            return not_modified_response(headers)
        body = compose_body(entry.data, self._extensions(waited, min_position, costs))
        return json_bytes_response(body, media_type, headers)

    async def _charge(
        self,
        request: Request,
        prepared: PreparedDocument,
        graphql_request: GraphQLRequest,
        operation: OperationType,
        identity: Identity | None,
        cost: int | None = None,
    ) -> Decision | None:
        """Charge the operation to its rate limits (None when they are off); the decision
        stays in the request's scope for `_run`'s headers and for `throttleStatus`."""
        if self._rate_limits is None:
            return None
        roots = prepared.root_selections_of(graphql_request.operation_name)
        decision = await self._rate_limits.graphql(
            request,
            None if identity is None else principal_key("sub", identity.sub),
            operation,
            roots.fields,
            cost=cost,
            operation_name=graphql_request.operation_name or _first_operation_name(prepared),
            node_ids=roots.node_ids,
            variables=graphql_request.variables,
        )
        request.scope[RATE_LIMIT_SCOPE_KEY] = decision
        return decision

    def _throttle_status(self, request: Request) -> dict[str, Any] | None:
        """`extensions.cost.throttleStatus`: the cost bucket's state after this request, or
        None when the reads quota is counted in requests (or rate limits are off)."""
        if self._rate_limits is None:
            return None
        return self._rate_limits.throttle_status(request.scope.get(RATE_LIMIT_SCOPE_KEY))

    async def _viewer(self, identity: Identity) -> Viewer:
        """The token's customer with their segments: one statement, on the read pool."""
        try:
            (segments,) = await segments_by_customers(self._db, [identity.sub])
        except ReadTimeoutError as exc:
            raise RequestError(
                503,
                "STATEMENT_TIMEOUT",
                "the viewer's segments took too long to load; try again",
            ) from exc
        except ReadUnavailableError as exc:
            raise RequestError(
                503, "READ_MODEL_UNAVAILABLE", "the read models are unavailable right now"
            ) from exc
        return Viewer(identity.sub, identity.roles, frozenset(segments), identity.creator_id)

    def _compiled(
        self, prepared: PreparedDocument, graphql_request: GraphQLRequest
    ) -> CompiledOperation | None:
        """The compiled plan of a persisted request (by `documentId` or APQ hash)."""
        if self._plans is None or not _is_persisted(graphql_request):
            return None
        return self._plans.plan(prepared, graphql_request.operation_name)

    def _plan(
        self,
        prepared: PreparedDocument,
        graphql_request: GraphQLRequest,
        operation: OperationType,
        compiled: CompiledOperation | None,
        viewer: Viewer | None,
    ) -> Plan:
        if self._cache is None or operation is not OperationType.QUERY:
            return UNCACHED
        return self._cache.plan(
            prepared.document,
            graphql_request.operation_name,
            graphql_request.variables,
            viewer=viewer,
            policy=compiled.policy if compiled is not None else None,
        )

    def _cached(
        self,
        request: Request,
        plan: Plan,
        hit: Lookup,
        http_cacheable: bool,
        waited: float,
        min_position: int | None,
        media_type: str,
        costs: dict[str, Any],
    ) -> Response:
        """A response from the cache; the data reflects at least the entry's stamp."""
        assert self._cache is not None
        status = cache_status(hit, plan)
        headers = self._cache.headers(plan, hit.entry, http_cacheable=http_cacheable, status=status)
        if http_cacheable and self._cache.not_modified(
            request.headers.get("if-none-match"), hit.entry
        ):
            return not_modified_response(headers)
        extensions = self._extensions(waited, min_position, costs, position=hit.entry.stamp)
        return json_bytes_response(compose_body(hit.entry.data, extensions), media_type, headers)

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
        cache = self._cache
        assert cache is not None

        async def compute() -> CachedResponse | None:
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

    async def _wait_for(self, min_position: int | None) -> float:
        if min_position is None:
            return 0.0
        started = time.monotonic()
        await self._watcher.wait_for(min_position, within=self._min_position_wait)
        return time.monotonic() - started

    def _body(
        self,
        result: ExecutionResult,
        waited: float,
        min_position: int | None,
        costs: dict[str, Any],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if result.errors:
            default = "BAD_USER_INPUT" if result.data is None else "INTERNAL_SERVER_ERROR"
            body["errors"] = [
                format_error(e, default_code=default)
                for e in in_response_order(list(result.errors), result.data)
            ]
        body["data"] = result.data
        body["extensions"] = self._extensions(waited, min_position, costs)
        return body

    def _extensions(
        self,
        waited: float,
        min_position: int | None,
        costs: dict[str, Any],
        *,
        position: int | None = None,
    ) -> dict[str, Any]:
        """`readModel`: the position the answer reflects (a cached one: at least its stamp);
        `cost`: what the operation was priced at and what its answer cost."""
        position = self._watcher.position if position is None else position
        read_model: dict[str, Any] = {"position": position, "lagMs": self._watcher.lag_ms()}
        if min_position is not None:
            read_model["minPosition"] = min_position
            read_model["minPositionReached"] = position >= min_position
            read_model["waitedMs"] = round(waited * 1000)
        return {"readModel": read_model, "cost": costs}


def _request_errors(request: Request, errors: list[dict[str, Any]], media_type: str) -> Response:
    """`request_errors_response`, noted in the scope for /metrics' outcome."""
    request.scope[GRAPHQL_ERRORS_KEY] = True
    return request_errors_response(errors, media_type)


def _is_persisted(graphql_request: GraphQLRequest) -> bool:
    """A request naming its document by id or APQ hash (a registered or APQ document)."""
    extensions = graphql_request.extensions or {}
    return graphql_request.document_id is not None or "persistedQuery" in extensions


def _is_persisted_get(request: Request, graphql_request: GraphQLRequest) -> bool:
    """A GET naming its document by id or APQ hash: the requests HTTP caches may keep."""
    return request.method == "GET" and _is_persisted(graphql_request)


def _never_ran(result: ExecutionResult) -> bool:
    """A request error (variables that do not coerce): no data and no error at a field path.
    A field error that nulls the whole `data` has a path, and is a (null) response."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def _first_operation_name(prepared: PreparedDocument) -> str | None:
    names = [n for n in prepared.operations if n]
    return names[0] if len(names) == 1 else None
