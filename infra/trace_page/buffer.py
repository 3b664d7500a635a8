"""The trace page's memory: the most recent traces' finished spans, bounded.

Added to the tracer provider as a span processor of its own (not behind a
batch exporter), so `on_end` runs inline at the end of every recorded span:
it does a dictionary lookup, an append and a few comparisons under one lock,
and forgets the oldest traces when a new one pushes the trace count, or the
span count across traces, past its bound. Everything else (sorting, shaping
for JSON) happens when the page asks.

The span budget is what bounds memory: a kept span costs about 2.8 KB (its
attributes, events and links included), and traces differ a hundredfold in
size (a health check has one span, a 48-product listing 250 or more), so a
count of traces alone bounds nothing useful. 50,000 spans is about 140 MB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode


@dataclass(slots=True)
class _Trace:
    """One trace as it fills up: its spans in the order they ended."""

    spans: list[ReadableSpan] = field(default_factory=list)
    dropped: int = 0
    root: ReadableSpan | None = None
    start: int = 0
    end: int = 0
    error: bool = False


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One line of the trace list: what the trace was and how it went."""

    trace_id: int
    root_name: str | None  # None while the root span is still open (or was never recorded)
    start_ns: int
    duration_ns: int
    span_count: int
    dropped: int
    error: bool  # any span's status is ERROR
    status: str  # the root span's status code: UNSET, OK or ERROR


@dataclass(frozen=True, slots=True)
class TraceSpans:
    """One trace's finished spans, for its waterfall."""

    trace_id: int
    spans: tuple[ReadableSpan, ...]
    dropped: int


def _is_root(span: ReadableSpan) -> bool:
    """A span with no parent here: the trace's first, or a caller's (traceparent) child."""
    parent = span.parent
    return parent is None or parent.is_remote


class TraceBuffer(SpanProcessor):
    """The last `max_traces` traces (by trace id, in the order their first span ended),
    each holding at most `max_spans_per_trace` spans (the rest are counted as dropped),
    and at most `max_spans` spans in all: past it the oldest traces go."""

    def __init__(
        self, max_traces: int = 200, max_spans_per_trace: int = 2000, max_spans: int = 50_000
    ) -> None:
        if max_traces < 1 or max_spans_per_trace < 1 or max_spans < 1:
            raise ValueError("a trace buffer keeps at least one trace of one span")
        self._max_traces = max_traces
        # A trace larger than the whole budget would evict itself span by span.
        self._max_spans = min(max_spans_per_trace, max_spans)
        self._budget = max_spans
        self._kept = 0  # spans across every kept trace
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        # Traces evicted while still in flight: their late spans (the server span ends
        # last) would bring back a one-span trace under the right name; they are dropped.
        self._forgotten: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing: an open span has nothing to show yet."""

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or span.start_time is None or span.end_time is None:
            return
        trace_id = context.trace_id
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                if trace_id in self._forgotten:
                    return
                trace = _Trace(start=span.start_time, end=span.end_time)
                self._traces[trace_id] = trace
                if len(self._traces) > self._max_traces:
                    self._forget_oldest()
            if len(trace.spans) >= self._max_spans:
                trace.dropped += 1
                return
            trace.spans.append(span)
            self._kept += 1
            while self._kept > self._budget:
                # Others go, never this one: alone it holds at most `_max_spans` <= the budget.
                self._forget_oldest(but=trace_id)
            trace.start = min(trace.start, span.start_time)
            trace.end = max(trace.end, span.end_time)
            if span.status.status_code is StatusCode.ERROR:
                trace.error = True
            if trace.root is None and _is_root(span):
                trace.root = span

    def _forget_oldest(self, but: int | None = None) -> None:
        oldest = next(trace_id for trace_id in self._traces if trace_id != but)
        self._kept -= len(self._traces.pop(oldest).spans)
        self._forgotten[oldest] = None
        if len(self._forgotten) > self._max_traces:
            self._forgotten.popitem(last=False)

    def shutdown(self) -> None:
        with self._lock:
            self._traces.clear()
            self._forgotten.clear()
            self._kept = 0

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is pending: spans are kept as they end

    def summaries(self) -> list[TraceSummary]:
        """Every kept trace, newest first."""
        with self._lock:
            return [_summary(trace_id, trace) for trace_id, trace in reversed(self._traces.items())]

    def spans(self, trace_id: int) -> TraceSpans | None:
        """One trace's spans, ordered by start time; None when it is not (or no longer) kept."""
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return None
            spans = list(trace.spans)
            dropped = trace.dropped
        spans.sort(key=lambda span: span.start_time or 0)
        return TraceSpans(trace_id=trace_id, spans=tuple(spans), dropped=dropped)


def _summary(trace_id: int, trace: _Trace) -> TraceSummary:
    root = trace.root
    return TraceSummary(
        trace_id=trace_id,
        root_name=None if root is None else root.name,
        start_ns=trace.start,
        duration_ns=trace.end - trace.start,
        span_count=len(trace.spans),
        dropped=trace.dropped,
        error=trace.error,
        status="UNSET" if root is None else root.status.status_code.name,
    )
