"""The trace page's buffer and JSON: bounded, thread-safe, and shaped as a waterfall."""

from __future__ import annotations

import threading

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from infra.settings import SettingsError, load_settings
from infra.trace_page.buffer import TraceBuffer, TraceSummary
from infra.trace_page.payloads import category, trace_id_hex, trace_json

T0 = 1_800_000_000_000_000_000  # nanoseconds since the epoch


def tracer_with(buffer: TraceBuffer) -> trace.Tracer:
    provider = TracerProvider()  # the default sampler records everything
    provider.add_span_processor(buffer)
    return provider.get_tracer("test")


def request(tracer: trace.Tracer, name: str, *, start: int = T0, children: int = 0) -> int:
    """A server span of 10 ms with `children` 1 ms resolver spans under it; its trace id."""
    with tracer.start_as_current_span(
        name, kind=SpanKind.SERVER, start_time=start, end_on_exit=False
    ) as server:
        for index in range(children):
            tracer.start_span(f"resolve Query.f{index}", start_time=start + index).end(
                end_time=start + index + 1_000_000
            )
        server.end(end_time=start + 10_000_000)
    return server.get_span_context().trace_id


def test_keeps_the_last_traces_newest_first() -> None:
    """Past `max_traces`, the oldest trace goes; the list is newest first."""
    buffer = TraceBuffer(max_traces=2)
    tracer = tracer_with(buffer)
    ids = [request(tracer, f"query Q{n}", start=T0 + n) for n in range(3)]
    assert [s.root_name for s in buffer.summaries()] == ["query Q2", "query Q1"]
    assert buffer.spans(ids[0]) is None
    assert [s.trace_id for s in buffer.summaries()] == [ids[2], ids[1]]


def test_the_span_budget_drops_the_oldest_traces() -> None:
    """Past `max_spans` spans in all, the oldest traces go until the rest fit; the trace
    being filled is never the one dropped, even when it is the oldest."""
    buffer = TraceBuffer(max_traces=100, max_spans=10)
    tracer = tracer_with(buffer)
    first, second, third = (request(tracer, f"query Q{n}", children=3) for n in range(3))
    assert [s.trace_id for s in buffer.summaries()] == [third, second]  # 4 + 4 spans
    assert buffer.spans(first) is None

    long = tracer.start_span("query Long", kind=SpanKind.SERVER)
    under_long = trace.set_span_in_context(long)
    tracer.start_span("resolve Query.a", context=under_long).end()  # 9 spans kept
    tracer.start_span("resolve Query.b", context=under_long).end()  # 10
    fourth = request(tracer, "query Q3", children=1)  # 12 spans: Q1 goes
    assert [(s.trace_id, s.span_count) for s in buffer.summaries()] == [
        (fourth, 2),
        (long.get_span_context().trace_id, 2),
        (third, 4),
    ]
    request(tracer, "query Q4", children=5)  # Q2 goes: Long is the oldest now
    tracer.start_span("resolve Query.c", context=under_long).end()  # Q3 goes, not Long
    long.end()
    assert [(s.root_name, s.span_count) for s in buffer.summaries()] == [
        ("query Q4", 6),
        ("query Long", 4),
    ]


def test_a_trace_evicted_in_flight_does_not_come_back_with_its_late_spans() -> None:
    """The server span ends last: a trace evicted before then stays gone, rather than
    coming back as a one-span trace under the right name."""
    buffer = TraceBuffer(max_traces=1)
    tracer = tracer_with(buffer)
    slow = tracer.start_span("query Slow", kind=SpanKind.SERVER)
    tracer.start_span("resolve Query.a", context=trace.set_span_in_context(slow)).end()
    fast = request(tracer, "query Fast")  # evicts Slow, still in flight
    slow.end()
    assert [(s.trace_id, s.root_name) for s in buffer.summaries()] == [(fast, "query Fast")]
    assert buffer.spans(slow.get_span_context().trace_id) is None


def test_a_trace_larger_than_the_budget_keeps_what_fits() -> None:
    """With a budget under the per-trace cap, one trace keeps `max_spans` spans and counts
    the rest as dropped instead of evicting itself."""
    buffer = TraceBuffer(max_spans_per_trace=2000, max_spans=4)
    trace_id = request(tracer_with(buffer), "query Big", children=6)
    (summary,) = buffer.summaries()
    assert (summary.trace_id, summary.span_count, summary.dropped) == (trace_id, 4, 3)


def test_trace_page_span_budget_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """VITRINE_TRACE_PAGE_MAX_SPANS is read (50,000 by default); the trace and span counts
    are capped at 2,000 traces and 500,000 spans."""
    monkeypatch.delenv("VITRINE_TRACE_PAGE_MAX_SPANS", raising=False)
    assert load_settings().trace_page_max_spans == 50_000
    monkeypatch.setenv("VITRINE_TRACE_PAGE_MAX_SPANS", "1000")
    assert load_settings().trace_page_max_spans == 1000
    for variable, value in (
        ("VITRINE_TRACE_PAGE_MAX_SPANS", "500001"),
        ("VITRINE_TRACE_PAGE_MAX_TRACES", "2001"),
    ):
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=variable):
            load_settings()
        monkeypatch.delenv(variable)


def test_summary_of_a_trace() -> None:
    """A trace's summary names its root, spans its earliest start to latest end, counts spans."""
    buffer = TraceBuffer()
    trace_id = request(tracer_with(buffer), "query CategoryListing", children=3)
    assert buffer.summaries() == [
        TraceSummary(
            trace_id=trace_id,
            root_name="query CategoryListing",
            start_ns=T0,
            duration_ns=10_000_000,
            span_count=4,
            dropped=0,
            error=False,
            status="UNSET",
        )
    ]


def test_spans_beyond_the_cap_are_counted_as_dropped() -> None:
    """A trace keeps `max_spans_per_trace` spans (the first to end) and counts the rest."""
    buffer = TraceBuffer(max_spans_per_trace=3)
    trace_id = request(tracer_with(buffer), "query Big", children=5)
    (summary,) = buffer.summaries()
    assert (summary.span_count, summary.dropped, summary.root_name) == (3, 3, None)
    kept = buffer.spans(trace_id)
    assert kept is not None
    assert [s.name for s in kept.spans] == [
        "resolve Query.f0",
        "resolve Query.f1",
        "resolve Query.f2",
    ]
    assert kept.dropped == 3


def test_an_error_anywhere_flags_the_trace_and_the_root_status_is_reported() -> None:
    """One failed span marks the trace as an error; `status` is the root span's own."""
    buffer = TraceBuffer()
    tracer = tracer_with(buffer)
    with tracer.start_as_current_span("query Q", kind=SpanKind.SERVER) as server:
        with tracer.start_as_current_span("resolve Query.boom", record_exception=False) as failing:
            failing.record_exception(ValueError("no such product"))
            failing.set_status(Status(StatusCode.ERROR, "no such product"))
        server.set_status(Status(StatusCode.OK))
    (summary,) = buffer.summaries()
    assert (summary.error, summary.status) == (True, "OK")


def test_a_span_under_a_remote_parent_is_the_root() -> None:
    """A request continuing a caller's trace (traceparent) has its server span as root."""
    buffer = TraceBuffer()
    tracer = tracer_with(buffer)
    caller = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    parent = trace.set_span_in_context(trace.NonRecordingSpan(caller))
    tracer.start_span("query Q", context=parent, kind=SpanKind.SERVER).end()
    (summary,) = buffer.summaries()
    assert (trace_id_hex(summary.trace_id), summary.root_name) == (
        "0af7651916cd43dd8448eb211c80319c",
        "query Q",
    )


def test_spans_ending_on_many_threads_are_all_kept() -> None:
    """Spans ending concurrently on eight threads are each kept exactly once."""
    buffer = TraceBuffer(max_traces=1000, max_spans_per_trace=10_000)
    tracer = tracer_with(buffer)

    def work() -> None:
        for _ in range(50):
            request(tracer, "query Q", children=4)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summaries = buffer.summaries()
    assert len(summaries) == 400
    assert {s.span_count for s in summaries} == {5}


def test_unknown_trace_is_none() -> None:
    """Asking for a trace the buffer never saw gives None."""
    assert TraceBuffer().spans(1) is None


@pytest.mark.parametrize(
    ("max_traces", "per_trace", "max_spans"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)]
)
def test_a_buffer_keeps_at_least_one_span(max_traces: int, per_trace: int, max_spans: int) -> None:
    """A buffer that could keep nothing is refused."""
    with pytest.raises(ValueError, match="at least one trace of one span"):
        TraceBuffer(max_traces, per_trace, max_spans)


def test_trace_json_is_a_waterfall() -> None:
    """Spans come in tree order with their depth, times as offsets, events, links, status."""
    buffer = TraceBuffer()
    tracer = tracer_with(buffer)
    with tracer.start_as_current_span(
        "query CategoryListing", kind=SpanKind.SERVER, start_time=T0, end_on_exit=False
    ) as server:
        with tracer.start_as_current_span(
            "resolve Query.category", start_time=T0 + 1_000, end_on_exit=False
        ) as resolver:
            resolver.end(end_time=T0 + 2_000)
        with tracer.start_as_current_span(
            "resolve Category.products", start_time=T0 + 3_000, end_on_exit=False
        ) as products:
            batch = tracer.start_span(
                "dataloader ListingPageLoader",
                start_time=T0 + 4_000,
                attributes={"vitrine.loader": "ListingPageLoader", "vitrine.batch_size": 1},
                links=[Link(resolver.get_span_context(), {"graphql.field.path": "category"})],
            )
            batch.add_event("exception", {"exception.type": "ValueError"}, timestamp=T0 + 4_500)
            batch.set_status(Status(StatusCode.ERROR, "boom"))
            batch.end(end_time=T0 + 5_000)
            products.end(end_time=T0 + 6_000)
        server.end(end_time=T0 + 10_000)
    kept = buffer.spans(server.get_span_context().trace_id)
    assert kept is not None
    body = trace_json(kept)
    assert (body["startNs"], body["durationNs"], body["droppedSpans"]) == (T0, 10_000, 0)
    assert [
        (s["name"], s["depth"], s["category"], s["startOffsetNs"], s["durationNs"])
        for s in body["spans"]
    ] == [
        ("query CategoryListing", 0, "server", 0, 10_000),
        ("resolve Query.category", 1, "resolver", 1_000, 1_000),
        ("resolve Category.products", 1, "resolver", 3_000, 3_000),
        ("dataloader ListingPageLoader", 2, "dataloader", 4_000, 1_000),
    ]
    loader = body["spans"][3]
    assert loader["parentId"] == body["spans"][2]["spanId"]
    assert loader["attributes"] == {"vitrine.loader": "ListingPageLoader", "vitrine.batch_size": 1}
    assert loader["events"] == [
        {"name": "exception", "offsetNs": 4_500, "attributes": {"exception.type": "ValueError"}}
    ]
    assert loader["status"] == {"code": "ERROR", "description": "boom"}
    assert loader["links"] == [
        {
            "traceId": body["traceId"],
            "spanId": body["spans"][1]["spanId"],
            "attributes": {"graphql.field.path": "category"},
        }
    ]
    assert (loader["startNs"], loader["endNs"], loader["kind"]) == (
        T0 + 4_000,
        T0 + 5_000,
        "INTERNAL",
    )


def test_orphans_start_their_own_tree() -> None:
    """While the root is still open, its finished children show at depth 0."""
    buffer = TraceBuffer()
    tracer = tracer_with(buffer)
    with tracer.start_as_current_span("query Q", kind=SpanKind.SERVER) as server:
        tracer.start_span("resolve Query.a", start_time=T0).end(end_time=T0 + 1)
        kept = buffer.spans(server.get_span_context().trace_id)
    assert kept is not None
    assert [(s["name"], s["depth"]) for s in trace_json(kept)["spans"]] == [("resolve Query.a", 0)]


@pytest.mark.parametrize(
    ("name", "kind", "attributes", "expected"),
    [
        ("query Q", SpanKind.SERVER, {}, "server"),
        ("resolve Query.product", SpanKind.INTERNAL, {}, "resolver"),
        ("dataloader ProductByIdLoader", SpanKind.INTERNAL, {}, "dataloader"),
        ("SELECT", SpanKind.CLIENT, {"db.system": "postgresql"}, "sql"),
        ("SELECT products", SpanKind.CLIENT, {"db.system.name": "postgresql"}, "sql"),
        ("cache lookup", SpanKind.INTERNAL, {}, "cache"),
        ("lookup", SpanKind.INTERNAL, {"vitrine.cache.level": "l1"}, "cache"),
        ("projector catalog", SpanKind.INTERNAL, {}, "projector"),
        ("persisted query", SpanKind.INTERNAL, {}, "other"),
    ],
)
def test_category_colours_spans_by_what_they_are(
    name: str, kind: SpanKind, attributes: dict[str, str], expected: str
) -> None:
    """Each span gets the page's colour category from its kind, name and attributes."""
    buffer = TraceBuffer()
    tracer_with(buffer).start_span(name, kind=kind, attributes=attributes).end()
    (summary,) = buffer.summaries()
    kept = buffer.spans(summary.trace_id)
    assert kept is not None
    assert category(kept.spans[0]) == expected
