"""The trace page's JSON: kept traces and spans shaped for the browser.

Pure functions of what the buffer holds. The waterfall's order (each span
under its parent, siblings by start) and every span's depth are worked out
here, so the page's script only draws. Times go out twice: exact nanoseconds
since the epoch (for other tools) and offsets from the trace's start (small
enough for a JavaScript number, which is what the page positions bars by).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from infra.trace_page.buffer import TraceSpans, TraceSummary

JSON = dict[str, Any]
# Attributes whose presence marks a span as a SQL statement (OTel database conventions,
# old and new names).
_SQL_ATTRIBUTES = ("db.system", "db.system.name", "db.statement", "db.query.text")


def trace_id_hex(trace_id: int) -> str:
    return format(trace_id, "032x")


def span_id_hex(span_id: int) -> str:
    return format(span_id, "016x")


def category(span: ReadableSpan) -> str:
    """What the page colours a span by: server, resolver, dataloader, sql, cache, projector
    or other, from its kind, its name's first word and its attributes."""
    if span.kind is SpanKind.SERVER:
        return "server"
    first = span.name.split(" ", 1)[0].lower()
    if first == "resolve":
        return "resolver"
    if first == "dataloader":
        return "dataloader"
    attributes = span.attributes or {}
    if any(name in attributes for name in _SQL_ATTRIBUTES) or first == "sql":
        return "sql"
    if first == "cache" or any(name.startswith("vitrine.cache") for name in attributes):
        return "cache"
    if first == "projector" or first == "project":
        return "projector"
    return "other"


def summary_json(summary: TraceSummary) -> JSON:
    return {
        "traceId": trace_id_hex(summary.trace_id),
        "name": summary.root_name,
        "startNs": summary.start_ns,
        "durationNs": summary.duration_ns,
        "spanCount": summary.span_count,
        "droppedSpans": summary.dropped,
        "error": summary.error,
        "status": summary.status,
    }


def waterfall(spans: Sequence[ReadableSpan]) -> Iterator[tuple[ReadableSpan, int]]:
    """Spans in tree order (depth first, siblings by start time) with their depth. A span
    whose parent is not among them (still open, dropped, or remote) starts a tree of its own."""
    present = {span.context.span_id for span in spans if span.context is not None}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children[parent if parent in present else None].append(span)
    for siblings in children.values():
        siblings.sort(key=lambda span: span.start_time or 0)
    stack = [(span, 0) for span in reversed(children[None])]
    while stack:
        span, depth = stack.pop()
        yield span, depth
        own = span.context.span_id if span.context is not None else None
        stack.extend((child, depth + 1) for child in reversed(children.get(own, ())))


def _attributes(attributes: Mapping[str, Any] | None) -> JSON:
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in (attributes or {}).items()
    }


def span_json(span: ReadableSpan, depth: int, origin_ns: int) -> JSON:
    start = span.start_time or origin_ns
    end = span.end_time or start
    context = span.context
    return {
        "spanId": span_id_hex(context.span_id) if context is not None else None,
        "parentId": span_id_hex(span.parent.span_id) if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "category": category(span),
        "depth": depth,
        "startNs": start,
        "endNs": end,
        "startOffsetNs": start - origin_ns,
        "durationNs": end - start,
        "attributes": _attributes(span.attributes),
        "events": [
            {
                "name": event.name,
                "offsetNs": event.timestamp - origin_ns,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ],
        "status": {
            "code": span.status.status_code.name,
            "description": span.status.description,
        },
        "links": [
            {
                "traceId": trace_id_hex(link.context.trace_id),
                "spanId": span_id_hex(link.context.span_id),
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ],
    }


def trace_json(trace: TraceSpans) -> JSON:
    """One trace: its spans in waterfall order, timed from the earliest span's start."""
    origin = min((span.start_time or 0 for span in trace.spans), default=0)
    end = max((span.end_time or 0 for span in trace.spans), default=origin)
    return {
        "traceId": trace_id_hex(trace.trace_id),
        "startNs": origin,
        "durationNs": end - origin,
        "droppedSpans": trace.dropped,
        "spans": [span_json(span, depth, origin) for span, depth in waterfall(trace.spans)],
    }
