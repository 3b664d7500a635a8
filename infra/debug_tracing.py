"""Debug tracing: one request's own trace, returned in its response as `extensions.tracing`.

An engineer asks for it per request (`Vitrine-Debug: tracing` with an ADMIN
token) or for every request in development (VITRINE_DEBUG_TRACING). Such a
request must record its spans whatever the sampler says, and give them back
before its response is written, without making every other request pay:

- `DebugSampler` records a span started with `vitrine.debug=True` in its
  attributes (the endpoint's server span) and every local descendant of such
  a span, which it recognises by a `vitrine=debug` entry in the trace state
  (set on the debug span, inherited by its children; a remote parent's entry
  is ignored, so a caller cannot force sampling). Anything else is the inner
  sampler's decision, unchanged.
- `DebugTracing.span_processor` keeps the finished spans of the traces the
  endpoint said it `expect`s, and of no other: every other span costs one
  dictionary lookup when it ends. At most `max_traces` traces are pending
  (the oldest is dropped: a request that failed before taking its spans),
  each keeps at most `max_spans_per_trace` spans besides its server spans.

Debug traces are sampled, so an exporter configured next to them sends them
too: an engineer's slow request can be found in the tracing backend as well.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState, get_current_span
from opentelemetry.util.types import Attributes
from starlette.requests import Request

from infra.apollo_tracing import apollo_tracing
from infra.auth_claims import Identity

DEBUG_ATTRIBUTE = "vitrine.debug"
DEBUG_HEADER = "vitrine-debug"
DEBUG_ROLE = "ADMIN"
TRACE_STATE_KEY = "vitrine"
TRACE_STATE_VALUE = "debug"


def _debug_trace_state(parent: TraceState | None) -> TraceState:
    state = parent if parent is not None else TraceState()
    if TRACE_STATE_KEY in state:
        return state.update(TRACE_STATE_KEY, TRACE_STATE_VALUE)
    return state.add(TRACE_STATE_KEY, TRACE_STATE_VALUE)


class DebugSampler(Sampler):
    """Records debug requests' spans; delegates every other decision to `inner`."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()  # INVALID_SPAN's: no parent
        if attributes is not None and attributes.get(DEBUG_ATTRIBUTE) is True:
            inherited = parent.trace_state if parent.is_valid else None
            state = _debug_trace_state(inherited)
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, state)
        if (
            parent.is_valid
            and not parent.is_remote
            and parent.trace_state.get(TRACE_STATE_KEY) == TRACE_STATE_VALUE
        ):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"DebugSampler{{{self.inner.get_description()}}}"


@dataclass(slots=True)
class _Pending:
    spans: list[ReadableSpan] = field(default_factory=list)
    waiting: int = 1  # requests of this trace that have not taken their spans yet
    dropped: int = 0


class TraceCollector(SpanProcessor):
    """Keeps the finished spans of expected traces only, bounded (see the module)."""

    def __init__(self, max_traces: int = 64, max_spans_per_trace: int = 2000) -> None:
        self._max_traces = max_traces
        self._max_spans = max_spans_per_trace
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()

    def expect(self, trace_id: int) -> None:
        with self._lock:
            pending = self._pending.get(trace_id)
            if pending is not None:  # a second request in the caller's trace
                pending.waiting += 1
                return
            while len(self._pending) >= self._max_traces:
                del self._pending[next(iter(self._pending))]
            self._pending[trace_id] = _Pending()

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        pending = None if context is None else self._pending.get(context.trace_id)
        if pending is None:
            return
        with self._lock:
            if len(pending.spans) < self._max_spans or span.kind is SpanKind.SERVER:
                pending.spans.append(span)
            else:
                pending.dropped += 1

    def take(self, trace_id: int) -> tuple[ReadableSpan | None, list[ReadableSpan], int]:
        """The server span that ended last in the trace, its descendants, and how many spans
        the cap dropped; they are kept no longer."""
        with self._lock:
            pending = self._pending.get(trace_id)
            if pending is None:
                return None, [], 0
            pending.waiting -= 1
            if pending.waiting <= 0:
                del self._pending[trace_id]
            server = next((s for s in reversed(pending.spans) if s.kind is SpanKind.SERVER), None)
            if server is None:
                return None, [], 0
            below = _descendants(server, pending.spans)
            taken = {id(s) for s in below} | {id(server)}
            pending.spans = [s for s in pending.spans if id(s) not in taken]
            dropped, pending.dropped = pending.dropped, 0
            return server, below, dropped

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _descendants(root: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    children: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    found: list[ReadableSpan] = []
    frontier = [root]
    while frontier:
        span = frontier.pop()
        below = [] if span.context is None else children.get(span.context.span_id, [])
        found.extend(below)
        frontier.extend(below)
    return found


class DebugTracing:
    """Which requests get `extensions.tracing`, and the spans to build it from.

    `always` (VITRINE_DEBUG_TRACING, development only): every request. Otherwise a
    request with `Vitrine-Debug: tracing` from a viewer with the ADMIN role; anyone
    else's header is ignored (no extension, no error: a client library may send it
    to every server it talks to).
    """

    def __init__(
        self, *, always: bool = False, max_traces: int = 64, max_spans_per_trace: int = 2000
    ) -> None:
        self.always = always
        self._collector = TraceCollector(max_traces, max_spans_per_trace)
        self.span_processor: SpanProcessor = self._collector

    def wanted(self, request: Request, identity: Identity | None) -> bool:
        if self.always:
            return True
        if identity is None or DEBUG_ROLE not in identity.roles:
            return False
        header = request.headers.get(DEBUG_HEADER)
        return header is not None and "tracing" in _tokens(header)

    def expect(self, trace_id: int) -> None:
        """Keep this trace's spans from now on (call right after the server span starts)."""
        self._collector.expect(trace_id)

    def extension(self, trace_id: int) -> dict[str, Any]:
        """`extensions.tracing` of the request whose server span just ended; its spans are
        kept no longer."""
        server, spans, dropped = self._collector.take(trace_id)
        return apollo_tracing(trace_id, server, spans, dropped)


def _tokens(header: str) -> set[str]:
    return {token.strip().lower() for token in header.split(",")}
