"""A finished request's spans as `extensions.tracing`, in the Apollo Tracing shape.

Apollo Tracing (version 1) is what GraphQL tools already read: the request's
start and end as ISO timestamps, its duration, and one entry per resolver
with its path and its offset from the start, in nanoseconds. Vitrine's
resolver spans carry the field's path, parent type and name as attributes
(`resolvers.tracing`), so they map one to one; trivial attribute fields have
no span and no entry. The other spans (DataLoader batches, SQL statements,
cache lookups) have no place in Apollo's format: they come under `spans`,
with their attributes. `parsing` and `validation` are left out: a prepared
document skips both.

Pure: plain finished spans in, a JSON-ready dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

FIELD_NAME = "graphql.field.name"
FIELD_PARENT_TYPE = "graphql.field.parent_type"
FIELD_PATH = "graphql.field.path"
FIELD_TYPE = "graphql.field.type"
VERSION = 1


def iso_time(nanoseconds: int) -> str:
    """Apollo's timestamp: ISO-8601 in UTC with milliseconds, e.g. `2026-01-05T09:30:00.123Z`."""
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def response_path(dotted: str) -> list[str | int]:
    """`category.products.edges.0.node` as Apollo's path list; list indices become ints
    (a response key never starts with a digit, so a number is an index)."""
    return [int(part) if part.isdigit() else part for part in dotted.split(".") if part]


def _duration(span: ReadableSpan) -> int:
    return (span.end_time or 0) - (span.start_time or 0)


def _resolver(span: ReadableSpan, start: int) -> dict[str, Any]:
    attributes = span.attributes or {}
    entry: dict[str, Any] = {
        "path": response_path(str(attributes.get(FIELD_PATH, ""))),
        "parentType": attributes.get(FIELD_PARENT_TYPE),
        "fieldName": attributes.get(FIELD_NAME),
    }
    if FIELD_TYPE in attributes:
        entry["returnType"] = attributes[FIELD_TYPE]
    entry["startOffset"] = (span.start_time or 0) - start
    entry["duration"] = _duration(span)
    return entry


def _other(span: ReadableSpan, start: int) -> dict[str, Any]:
    return {
        "name": span.name,
        "startOffset": (span.start_time or 0) - start,
        "duration": _duration(span),
        "attributes": dict(span.attributes or {}),
    }


def apollo_tracing(
    trace_id: int,
    server: ReadableSpan | None,
    spans: Sequence[ReadableSpan],
    dropped: int = 0,
) -> dict[str, Any]:
    """`extensions.tracing` for the request whose server span is `server` and whose other
    finished spans are `spans`. Without a server span (the collector had to drop the
    request), times are null and the lists empty. `droppedSpans`: spans past the cap."""
    tracing: dict[str, Any] = {"version": VERSION, "traceId": f"{trace_id:032x}"}
    if server is None or server.start_time is None or server.end_time is None:
        tracing.update(startTime=None, endTime=None, duration=0)
        tracing.update(execution={"resolvers": []}, spans=[], droppedSpans=dropped)
        return tracing
    start = server.start_time
    ordered = sorted(spans, key=lambda span: span.start_time or 0)
    resolvers = [_resolver(s, start) for s in ordered if FIELD_NAME in (s.attributes or {})]
    others = [_other(s, start) for s in ordered if FIELD_NAME not in (s.attributes or {})]
    tracing.update(
        startTime=iso_time(start),
        endTime=iso_time(server.end_time),
        duration=server.end_time - start,
        execution={"resolvers": resolvers},
        spans=others,
        droppedSpans=dropped,
    )
    return tracing
