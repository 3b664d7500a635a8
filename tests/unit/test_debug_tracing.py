"""Debug tracing: the sampler's decision, the bounded collector, `extensions.tracing` built
from real SDK spans, and who may ask for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
    TraceState,
)
from starlette.requests import Request

from infra.apollo_tracing import iso_time, response_path
from infra.auth_claims import Identity
from infra.debug_tracing import DEBUG_ATTRIBUTE, DebugSampler, DebugTracing
from infra.settings import SettingsError, load_settings

T0 = 1_767_605_400_123_456_789  # 2026-01-05T09:30:00.123456789Z, in ns
REMOTE_TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
REMOTE_SPAN = 0x00F067AA0BA902B7
ADMIN = Identity("ad-1", frozenset({"ADMIN"}), None, 2_000_000_000)
CUSTOMER = Identity("cu-1", frozenset({"CUSTOMER"}), None, 2_000_000_000)


def tracer_of(inner: Sampler, debug: DebugTracing | None = None) -> Tracer:
    provider = TracerProvider(sampler=DebugSampler(inner))
    if debug is not None:
        provider.add_span_processor(debug.span_processor)
    return provider.get_tracer("test")


def remote_parent(sampled: bool, state: TraceState | None = None) -> object:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(REMOTE_TRACE, REMOTE_SPAN, is_remote=True, trace_flags=flags)
    if state is not None:
        context = SpanContext(
            REMOTE_TRACE, REMOTE_SPAN, is_remote=True, trace_flags=flags, trace_state=state
        )
    return trace.set_span_in_context(NonRecordingSpan(context))


def request_with(*headers: tuple[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": raw})


# --- the sampler ---


def test_the_debug_attribute_records_a_span_the_inner_sampler_drops() -> None:
    """A span started with vitrine.debug=True is recorded and sampled under ALWAYS_OFF."""
    span = tracer_of(ALWAYS_OFF).start_span("query Q", attributes={DEBUG_ATTRIBUTE: True})
    assert span.is_recording()
    assert span.get_span_context().trace_flags.sampled
    assert span.get_span_context().trace_state.get("vitrine") == "debug"


def test_other_spans_are_the_inner_samplers_decision() -> None:
    """Without the attribute (or with it false, or not a bool) the inner sampler decides."""
    off, on = tracer_of(ALWAYS_OFF), tracer_of(ALWAYS_ON)
    assert not off.start_span("query Q").is_recording()
    assert not off.start_span("query Q", attributes={DEBUG_ATTRIBUTE: False}).is_recording()
    assert not off.start_span("query Q", attributes={DEBUG_ATTRIBUTE: "true"}).is_recording()
    sampled = on.start_span("query Q", attributes={"graphql.operation.type": "query"})
    assert sampled.is_recording()
    assert "vitrine" not in sampled.get_span_context().trace_state


def test_every_local_descendant_of_a_debug_span_is_recorded() -> None:
    """Resolver, loader and statement spans below a debug span record under ALWAYS_OFF."""
    tracer = tracer_of(ALWAYS_OFF)
    with (
        tracer.start_as_current_span("query Q", attributes={DEBUG_ATTRIBUTE: True}) as server,
        tracer.start_as_current_span("resolve Query.category") as resolver,
        tracer.start_as_current_span("dataloader CategoryBySlugLoader") as loader,
    ):
        assert (resolver.is_recording(), loader.is_recording()) == (True, True)
    trace_id = server.get_span_context().trace_id
    assert loader.get_span_context().trace_id == trace_id
    assert not tracer.start_span("query Q").is_recording()  # the next request: back to off


def test_parent_based_decisions_are_kept() -> None:
    """A caller's sampled traceparent is followed and an unsampled one is not recorded."""
    tracer = tracer_of(ParentBased(ALWAYS_ON))
    assert tracer.start_span("query Q", context=remote_parent(True)).is_recording()  # type: ignore[arg-type]
    assert not tracer.start_span("query Q", context=remote_parent(False)).is_recording()  # type: ignore[arg-type]


def test_a_debug_span_overrides_a_callers_unsampled_decision() -> None:
    """An admin's debug request records even when the caller's traceparent says unsampled."""
    tracer = tracer_of(ParentBased(ALWAYS_ON))
    span = tracer.start_span(
        "query Q",
        context=remote_parent(False, TraceState([("vendor", "x")])),  # type: ignore[arg-type]
        attributes={DEBUG_ATTRIBUTE: True},
    )
    assert span.is_recording()
    assert span.get_span_context().trace_id == REMOTE_TRACE
    assert list(span.get_span_context().trace_state.items()) == [
        ("vitrine", "debug"),
        ("vendor", "x"),
    ]


def test_a_callers_tracestate_cannot_force_recording() -> None:
    """A remote parent's `vitrine=debug` tracestate entry is ignored."""
    tracer = tracer_of(ALWAYS_OFF)
    parent = remote_parent(True, TraceState([("vitrine", "debug")]))
    assert not tracer.start_span("query Q", context=parent).is_recording()  # type: ignore[arg-type]


def test_the_description_names_the_inner_sampler() -> None:
    """get_description wraps the inner sampler's description."""
    assert DebugSampler(ALWAYS_OFF).get_description() == "DebugSampler{AlwaysOffSampler}"


# --- the collector and extensions.tracing ---


@contextmanager
def debug_request(
    tracer: Tracer, debug: DebugTracing, start: int = T0, context: object = None
) -> Iterator[Span]:
    """A server span the way the endpoint starts one: debug attribute, then `expect`."""
    server = tracer.start_span(
        "query CategoryListing",
        context=context,  # type: ignore[arg-type]
        kind=SpanKind.SERVER,
        attributes={"graphql.operation.name": "CategoryListing", DEBUG_ATTRIBUTE: True},
        start_time=start,
    )
    debug.expect(server.get_span_context().trace_id)
    with trace.use_span(server, end_on_exit=False):
        yield server


def child(tracer: Tracer, name: str, start: int, end: int, **attributes: object) -> None:
    span = tracer.start_span(name, attributes=attributes, start_time=start)  # type: ignore[arg-type]
    span.end(end_time=end)


def resolver(tracer: Tracer, path: str, start: int, end: int) -> None:
    parts = path.split(".")
    parent = {"category": "Query", "products": "Category", "price": "Product"}[parts[-1]]
    child(
        tracer,
        f"resolve {parent}.{parts[-1]}",
        start,
        end,
        **{
            "graphql.field.name": parts[-1],
            "graphql.field.parent_type": parent,
            "graphql.field.path": path,
        },
    )


def test_the_extension_is_apollo_tracing_of_the_requests_spans() -> None:
    """Resolvers by path with offsets from the server span's start; batches under `spans`."""
    debug = DebugTracing()
    tracer = tracer_of(ALWAYS_OFF, debug)
    with debug_request(tracer, debug) as server:
        resolver(tracer, "category", T0 + 1_000, T0 + 3_000)
        child(
            tracer,
            "dataloader ListingPageLoader",
            T0 + 5_000,
            T0 + 905_000,
            **{"vitrine.loader": "ListingPageLoader", "vitrine.batch_size": 1, "vitrine.rows": 1},
        )
        resolver(tracer, "category.products", T0 + 4_000, T0 + 4_500)
        resolver(tracer, "category.products.edges.0.node.price", T0 + 910_000, T0 + 911_000)
    server.end(end_time=T0 + 1_000_000)
    trace_id = server.get_span_context().trace_id
    assert debug.extension(trace_id) == {
        "version": 1,
        "traceId": f"{trace_id:032x}",
        "startTime": "2026-01-05T09:30:00.123Z",
        "endTime": "2026-01-05T09:30:00.124Z",
        "duration": 1_000_000,
        "execution": {
            "resolvers": [
                {
                    "path": ["category"],
                    "parentType": "Query",
                    "fieldName": "category",
                    "startOffset": 1_000,
                    "duration": 2_000,
                },
                {
                    "path": ["category", "products"],
                    "parentType": "Category",
                    "fieldName": "products",
                    "startOffset": 4_000,
                    "duration": 500,
                },
                {
                    "path": ["category", "products", "edges", 0, "node", "price"],
                    "parentType": "Product",
                    "fieldName": "price",
                    "startOffset": 910_000,
                    "duration": 1_000,
                },
            ]
        },
        "spans": [
            {
                "name": "dataloader ListingPageLoader",
                "startOffset": 5_000,
                "duration": 900_000,
                "attributes": {
                    "vitrine.loader": "ListingPageLoader",
                    "vitrine.batch_size": 1,
                    "vitrine.rows": 1,
                },
            }
        ],
        "droppedSpans": 0,
    }
    # Taken once: the spans are kept no longer.
    assert debug.extension(trace_id)["execution"] == {"resolvers": []}


def test_a_return_type_attribute_becomes_return_type() -> None:
    """A resolver span with graphql.field.type reports Apollo's `returnType`."""
    debug = DebugTracing()
    tracer = tracer_of(ALWAYS_OFF, debug)
    with debug_request(tracer, debug) as server:
        child(
            tracer,
            "resolve Query.category",
            T0 + 10,
            T0 + 20,
            **{
                "graphql.field.name": "category",
                "graphql.field.parent_type": "Query",
                "graphql.field.path": "category",
                "graphql.field.type": "Category",
            },
        )
    server.end(end_time=T0 + 100)
    tracing = debug.extension(server.get_span_context().trace_id)
    assert tracing["execution"]["resolvers"] == [
        {
            "path": ["category"],
            "parentType": "Query",
            "fieldName": "category",
            "returnType": "Category",
            "startOffset": 10,
            "duration": 10,
        }
    ]


def test_spans_of_unexpected_traces_are_not_kept() -> None:
    """Sampled spans of a trace nobody expects never reach the extension of another."""
    debug = DebugTracing()
    tracer = tracer_of(ALWAYS_ON, debug)
    with tracer.start_as_current_span("query Other", kind=SpanKind.SERVER) as other:
        child(tracer, "resolve Query.other", T0, T0 + 1)
    with debug_request(tracer, debug) as server:
        pass
    server.end(end_time=T0 + 50)
    mine = debug.extension(server.get_span_context().trace_id)
    assert (mine["execution"], mine["spans"], mine["duration"]) == ({"resolvers": []}, [], 50)
    unexpected = debug.extension(other.get_span_context().trace_id)
    assert (unexpected["startTime"], unexpected["spans"]) == (None, [])


def test_at_most_max_traces_are_pending() -> None:
    """Expecting one trace too many forgets the oldest, whose extension is then empty."""
    debug = DebugTracing(max_traces=2)
    debug.expect(1)
    debug.expect(2)
    debug.expect(3)
    assert debug.extension(1) == {
        "version": 1,
        "traceId": "00000000000000000000000000000001",
        "startTime": None,
        "endTime": None,
        "duration": 0,
        "execution": {"resolvers": []},
        "spans": [],
        "droppedSpans": 0,
    }


def test_spans_per_trace_are_capped_but_the_server_span_is_kept() -> None:
    """Past the cap, spans are counted in droppedSpans; the server span still ends the trace."""
    debug = DebugTracing(max_spans_per_trace=3)
    tracer = tracer_of(ALWAYS_OFF, debug)
    with debug_request(tracer, debug) as server:
        for n in range(5):
            child(tracer, f"sql {n}", T0 + n, T0 + n + 1)
    server.end(end_time=T0 + 10)
    tracing = debug.extension(server.get_span_context().trace_id)
    assert [s["name"] for s in tracing["spans"]] == ["sql 0", "sql 1", "sql 2"]
    assert (tracing["duration"], tracing["droppedSpans"]) == (10, 2)


def test_two_requests_in_one_callers_trace_each_get_their_own_spans() -> None:
    """Requests sharing a caller's trace id each get the spans below their own server span."""
    debug = DebugTracing()
    tracer = tracer_of(ParentBased(ALWAYS_OFF), debug)
    parent = remote_parent(False)
    with debug_request(tracer, debug, T0, parent) as first:
        child(tracer, "sql first", T0 + 1, T0 + 2)
    with debug_request(tracer, debug, T0 + 100, parent) as second:
        child(tracer, "sql second", T0 + 101, T0 + 103)
    first.end(end_time=T0 + 10)
    assert [s["name"] for s in debug.extension(REMOTE_TRACE)["spans"]] == ["sql first"]
    second.end(end_time=T0 + 110)
    tracing = debug.extension(REMOTE_TRACE)
    assert (tracing["spans"][0]["name"], tracing["duration"]) == ("sql second", 10)
    assert debug.extension(REMOTE_TRACE)["startTime"] is None  # nothing pending any more


# --- who gets it ---


@pytest.mark.parametrize(
    ("identity", "header", "wanted"),
    [
        (ADMIN, "tracing", True),
        (ADMIN, " Tracing ", True),
        (ADMIN, "readModel, tracing", True),
        (ADMIN, "timings", False),
        (ADMIN, None, False),
        (CUSTOMER, "tracing", False),
        (None, "tracing", False),
    ],
)
def test_the_header_counts_from_an_admin_only(
    identity: Identity | None, header: str | None, wanted: bool
) -> None:
    """`Vitrine-Debug: tracing` asks for the extension; anyone but an ADMIN is ignored."""
    request = request_with(*([("Vitrine-Debug", header)] if header is not None else []))
    assert DebugTracing().wanted(request, identity) is wanted


def test_the_development_flag_wants_every_request() -> None:
    """With `always`, even an anonymous request without the header gets the extension."""
    assert DebugTracing(always=True).wanted(request_with(), None) is True


def test_the_flag_is_refused_in_production() -> None:
    """VITRINE_DEBUG_TRACING with VITRINE_MODE=production stops the start, naming both."""
    with pytest.raises(SettingsError) as refused:
        load_settings(mode="production", debug_tracing=True)
    assert str(refused.value) == (
        "invalid configuration:\n  VITRINE_DEBUG_TRACING: Value error, debug tracing for every "
        "request is for development only (VITRINE_MODE=production): send "
        "`Vitrine-Debug: tracing` with an ADMIN token (got True)"
    )


def test_apollo_times_and_paths() -> None:
    """Timestamps are ISO UTC with milliseconds; numeric path segments are list indices."""
    assert iso_time(T0) == "2026-01-05T09:30:00.123Z"
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert response_path("a.b.10.c") == ["a", "b", 10, "c"]
    assert response_path("") == []
