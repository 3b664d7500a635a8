"""The server span of one /graphql operation, by the OpenTelemetry GraphQL and HTTP conventions.

The span starts as soon as the request's operation is read, before its
document is looked up, so persisted-query resolution, the response cache and
execution all happen under it (a cache hit has a trace too). Its name is
`GraphQL Operation` until the document says which operation runs, then
`{operation type} {operation name}`. A caller's W3C `traceparent` makes it a
child of the caller's span (and, with a parent-based sampler, the caller's
sampling decision ours); the header is only parsed when sent.

The sampling decision is taken when the span starts: everything below it
checks that one decision (`span.is_recording()`, then the request scope's
tracer) rather than creating non-recording spans.

A response's status is on the span (`http.response.status_code`, 504 for the
request's deadline too); a 5xx or an unexpected exception sets ERROR, a 4xx
does not (the client's mistake, as the HTTP server conventions say).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from graphql import OperationType
from opentelemetry import context as otel_context
from opentelemetry.propagate import extract
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    set_span_in_context,
)
from starlette.requests import Request
from starlette.responses import Response

from infra.debug_tracing import DEBUG_ATTRIBUTE
from infra.request_limits import TIMEOUT_STATUS
from infra.span_errors import record_error

UNKNOWN_OPERATION = "GraphQL Operation"
ROUTE = "/graphql"
STATUS_CODE = "http.response.status_code"
CACHE_ATTRIBUTE = "vitrine.cache"  # hit, miss or bypass


def start_server_span(tracer: Tracer, request: Request, *, debug: bool) -> Span:
    """The operation's SERVER span, not yet current. `debug`: recorded whatever the ratio
    (the debug sampler recognises the attribute)."""
    attributes: dict[str, Any] = {"http.request.method": request.method, "http.route": ROUTE}
    if debug:
        attributes[DEBUG_ATTRIBUTE] = True
    return tracer.start_span(
        UNKNOWN_OPERATION,
        context=extract(request.headers) if "traceparent" in request.headers else None,
        kind=SpanKind.SERVER,
        attributes=attributes,
    )


def name_operation(span: Span, operation: OperationType, name: str | None) -> None:
    """The span named `{type} {name}` (or just the type), with the operation's attributes."""
    span.update_name(f"{operation.value} {name}" if name else operation.value)
    span.set_attribute("graphql.operation.type", operation.value)
    if name:
        span.set_attribute("graphql.operation.name", name)


def record_status(span: Span, status: int) -> None:
    span.set_attribute(STATUS_CODE, status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))


def record_failure(span: Span, error: BaseException, *, timed_out: bool = False) -> None:
    """An exception that left the endpoint: recorded, ERROR (a cancellation, the request's
    deadline or a client that went away, is named but has no stack worth keeping). The
    deadline's cancellation is answered 504 once it has left: `timed_out` says so here."""
    if timed_out:
        span.set_attribute(STATUS_CODE, TIMEOUT_STATUS)
    record_error(span, error)


def end_unfinished(open_spans: set[Span]) -> None:
    """End the spans still waiting on a value that never came (a resolver whose loader's
    batch was cancelled), ERROR "unfinished": before the server span ends, so that they
    are in its trace (and in `extensions.tracing`) and end within it."""
    while open_spans:
        span = open_spans.pop()
        span.set_status(Status(StatusCode.ERROR, "unfinished"))
        span.end()


def with_extension(response: Response, name: str, value: Any) -> Response:
    """`response` with `extensions[name] = value` in its JSON object body (debug requests
    only: the body is decoded and encoded again). A body that is no JSON object (a 304)
    is returned as it was."""
    body = bytes(response.body)
    if not body.startswith(b"{"):
        return response
    content = orjson.loads(body)
    extensions = content.get("extensions")
    if not isinstance(extensions, dict):
        extensions = content["extensions"] = {}
    extensions[name] = value
    headers = {k: v for k, v in response.headers.items() if k != "content-length"}
    return Response(orjson.dumps(content), response.status_code, headers)


@contextmanager
def span_ids_current(span_context: SpanContext | None) -> Iterator[None]:
    """A log line written after the server span ended (the masked 500's) still carries its
    trace and span ids: its context is made current again, as a non-recording span."""
    if span_context is None:
        yield
        return
    token = otel_context.attach(set_span_in_context(NonRecordingSpan(span_context)))
    try:
        yield
    finally:
        otel_context.detach(token)
