"""One /graphql operation, from its document to its response, under its server span.

The stages, in order (each refuses without running the next):

1. the operation (`infra.graphql_operation`): its document, or its errors;
2. its cost, and its rate limits (`infra.graphql_limits`), with its cost known;
3. the min-position wait and the viewer's lookup (after the wait: segments
   read then reflect the position; before the cache: the viewer is in its key);
4. the response cache (`infra.graphql_cache_stage`): a hit answers;
5. execution (compiled plan or graphql-core), observed for /metrics whatever
   its outcome, and the answer stored in the cache when it may be.

All of it runs under the operation's SERVER span (`infra.graphql_spans`) and
request scope (`infra.request_scope`), which carries the sampling decision
down to SQL, cache and persisted-query spans. A debug request (`debug`) gets
its own trace back in `extensions.tracing` once the span has ended, and
bypasses the response cache (its trace is its point).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult, OperationType
from opentelemetry import context as otel_context
from opentelemetry.propagate import extract
from opentelemetry.trace import (
    Span,
    SpanContext,
    Tracer,
    get_current_span,
    set_span_in_context,
)
from starlette.requests import Request
from starlette.responses import Response

from infra.access_log import SPAN_KEY
from infra.auth import Identity
from infra.graphql_bodies import ResponseBodies
from infra.graphql_cache_stage import CacheStage, is_persisted_get
from infra.graphql_document_attribute import SanitizedDocuments
from infra.graphql_documents import DocumentProvider, PreparedDocument
from infra.graphql_errors import format_error, record_unexpected
from infra.graphql_execution import execute_document
from infra.graphql_limits import OperationLimits
from infra.graphql_operation import is_persisted, request_errors, resolve_operation
from infra.graphql_request import GraphQLRequest, RequestError
from infra.graphql_responses import graphql_response
from infra.graphql_spans import (
    end_unfinished,
    name_operation,
    record_failure,
    record_status,
    start_server_span,
    with_extension,
)
from infra.graphql_viewer import load_viewer
from infra.operation_cost import cost_extension
from infra.request_limits import Deadline
from infra.request_metrics import GRAPHQL_ERRORS_KEY
from infra.request_scope import RequestScope, close_scope, open_scope
from infra.response_cache.front import UNCACHED
from persisted_queries.plans import CompiledOperation, PlanCompiler
from readmodels.eventlog.writer import EventWriter
from resolvers.context import RequestContext
from resolvers.observations import Observations

if TYPE_CHECKING:
    from infra.debug_tracing import DebugTracing

# The request's `Deadline` (the endpoint puts it there), to tell its expiry (a 504 on the
# server span) from other cancellations.
DEADLINE_KEY = "vitrine.deadline"
# A debug request's collected trace when the pipeline answered nothing (a RequestError,
# the deadline, an unexpected error): the endpoint's error answer carries it
# (`with_pending_tracing`).
TRACING_KEY = "vitrine.tracing"


def with_pending_tracing(request: Request, response: Response) -> Response:
    """`response` (the endpoint's answer to an error that left the pipeline) with the
    debug trace the pipeline left in the request's scope, taken: a 405, a 503, a 504 or
    a 500 is when the trace is most wanted. Taken before the caller awaits anything, so
    that a batch's members each get their own."""
    tracing = request.scope.pop(TRACING_KEY, None)
    return response if tracing is None else with_extension(response, "tracing", tracing)


def _logged_span_context(span: Span, request: Request) -> SpanContext | None:
    """The span ids the access line (and a 500's error line) carries: the server span's
    when it records, or when it continues a caller's trace (its trace id then names the
    caller's trace, even under a sampling ratio that dropped this span). An unsampled
    request of no caller's trace has only a random trace id, which would lead nowhere."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    if span.is_recording():
        return context
    if "traceparent" not in request.headers:
        return None
    caller = get_current_span(extract(request.headers)).get_span_context()
    return context if caller.is_valid and caller.trace_id == context.trace_id else None


class OperationPipeline:
    """Runs one operation through the stages (see the module). `observe` receives, once per
    executed operation (one that timed out or failed too), what it did; `debug` decides
    which requests get their own trace back."""

    def __init__(
        self,
        *,
        schema: Any,
        documents: DocumentProvider,
        db: Any,
        tracer: Tracer,
        limits: OperationLimits,
        cache: CacheStage,
        bodies: ResponseBodies,
        plans: PlanCompiler | None = None,
        events: EventWriter | None = None,
        hide_suggestions: bool = False,
        observe: Callable[[Observations], None] | None = None,
        debug: DebugTracing | None = None,
    ) -> None:
        self._schema = schema
        self._documents = documents
        self._db = db
        self._tracer = tracer
        self._limits = limits
        self._cache = cache
        self._bodies = bodies
        self._plans = plans
        self._events = events
        self._hide_suggestions = hide_suggestions
        self._observe = observe
        self._debug = debug
        self._document_texts = SanitizedDocuments()

    async def run(
        self,
        request: Request,
        graphql_request: GraphQLRequest,
        min_position: int | None,
        media_type: str,
        identity: Identity | None = None,
    ) -> Response:
        """The operation's response, under its server span and request scope; a debug
        request's trace goes into its response once the span has ended."""
        debug = self._debug is not None and self._debug.wanted(request, identity)
        span = start_server_span(self._tracer, request, debug=debug)
        recording = span.is_recording()
        span_context = span.get_span_context()
        trace_id = span_context.trace_id
        logged = _logged_span_context(span, request)
        if logged is not None:
            request.scope[SPAN_KEY] = logged  # for the access line and the 500's log
        if debug and recording and self._debug is not None:
            self._debug.expect(trace_id)
        scope, scope_token = open_scope(self._tracer if recording else None)
        span_token = otel_context.attach(set_span_in_context(span))
        response = None

        async def operate() -> Response:
            return await self._operate(
                request, graphql_request, min_position, media_type, identity, span, scope, debug
            )

        try:
            response = await self._limits.with_headers(request, operate)
            if recording:
                record_status(span, response.status_code)
        except RequestError as error:
            if recording:
                record_status(span, error.status)
            raise
        except BaseException as error:
            if recording:
                deadline = request.scope.get(DEADLINE_KEY)
                timed_out = isinstance(deadline, Deadline) and deadline.expired
                record_failure(span, error, timed_out=timed_out)
            raise
        finally:
            otel_context.detach(span_token)
            close_scope(scope_token)
            end_unfinished(scope.open_spans)
            span.end()
            if debug and recording and self._debug is not None:
                tracing = self._debug.extension(trace_id)  # taken even if it cannot be sent
                if response is not None:
                    response = with_extension(response, "tracing", tracing)
                else:  # the endpoint's error answer carries it
                    request.scope[TRACING_KEY] = tracing
        assert response is not None  # `_operate` answered, or its exception propagated
        return response

    async def _operate(
        self,
        request: Request,
        graphql_request: GraphQLRequest,
        min_position: int | None,
        media_type: str,
        identity: Identity | None,
        span: Span,
        scope: RequestScope,
        debug: bool,
    ) -> Response:
        recording = scope.tracer is not None
        operation = await resolve_operation(self._documents, request, graphql_request, media_type)
        if isinstance(operation, Response):
            return operation
        prepared = operation.prepared
        if recording:
            name_operation(span, operation.type, operation.name)
            span.set_attribute("graphql.document", self._document_texts.text(prepared.document))
        limits = self._limits
        cost = prepared.cost_of(graphql_request.operation_name)
        requested_cost = 0 if cost is None else cost.requested(graphql_request.variables)
        refused = limits.cost_refusal(request, requested_cost, media_type)
        if refused is not None:
            return refused
        limited = await limits.charge(
            request, operation, graphql_request, identity, cost=requested_cost
        )
        if limited is not None and limited.rejected:
            return graphql_response({"errors": [limited.rejection()]}, media_type, 429)
        waited = await self._bodies.wait_for(min_position)
        viewer = None if identity is None else await load_viewer(self._db, identity)
        compiled = self._compiled(prepared, graphql_request)
        cache = self._cache
        plan = (
            UNCACHED
            if debug
            else cache.plan(prepared, graphql_request, operation.type, compiled, viewer)
        )
        http_cacheable = is_persisted_get(request, graphql_request)
        hit = await cache.lookup(
            plan,
            min_position,
            span if recording else None,
            prepared,
            graphql_request,
            compiled,
            viewer,
        )
        if hit is not None:
            actual = requested_cost if hit.entry.actual_cost is None else hit.entry.actual_cost
            costs = cost_extension(requested_cost, actual, limits.throttle_status(request))
            extensions = self._bodies.extensions(
                waited, min_position, costs, position=hit.entry.stamp
            )
            return cache.cached(request, plan, hit, http_cacheable, extensions, media_type)
        stamp = cache.stamp()
        context = RequestContext(
            db=self._db,
            now=datetime.now(UTC),
            tracer=scope.tracer,
            viewer=viewer,
            events=self._events if operation.type is OperationType.MUTATION else None,
            open_spans=scope.open_spans,
        )
        result = await self._execute(prepared, graphql_request, compiled, context, scope)
        if result.errors:
            request.scope[GRAPHQL_ERRORS_KEY] = True  # for /metrics' outcome
            if recording:
                record_unexpected(span, result.errors)
        if _never_ran(result):
            errors = [format_error(e, default_code="BAD_USER_INPUT") for e in result.errors or ()]
            return request_errors(request, errors, media_type)
        actual = 0 if cost is None else cost.actual(result.data)
        costs = cost_extension(requested_cost, actual, limits.throttle_status(request))
        return cache.answer(
            request,
            plan,
            stamp,
            result,
            context,
            actual_cost=actual,
            http_cacheable=http_cacheable,
            waited=waited,
            min_position=min_position,
            costs=costs,
            media_type=media_type,
        )

    async def _execute(
        self,
        prepared: PreparedDocument,
        graphql_request: GraphQLRequest,
        compiled: CompiledOperation | None,
        context: RequestContext,
        scope: RequestScope,
    ) -> ExecutionResult:
        try:
            return await execute_document(
                self._schema,
                prepared.document,
                context,
                graphql_request.variables,
                graphql_request.operation_name,
                compiled,
                hide_suggestions=self._hide_suggestions,
            )
        finally:
            # Every executed request, timed out or failed too (what ran until then);
            # a cache hit or a document error never executed, and is not observed.
            if self._observe is not None:
                context.observations.statements = scope.statements
                self._observe(context.observations)

    def _compiled(
        self, prepared: PreparedDocument, graphql_request: GraphQLRequest
    ) -> CompiledOperation | None:
        """The compiled plan of a persisted request (by `documentId` or APQ hash)."""
        if self._plans is None or not is_persisted(graphql_request):
            return None
        return self._plans.plan(prepared, graphql_request.operation_name)


def _never_ran(result: ExecutionResult) -> bool:
    """A request error (variables that do not coerce): no data and no error at a field path.
    A field error that nulls the whole `data` has a path, and is a (null) response."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)
