"""OTLP export from a real server to a real OTLP/HTTP receiver: what arrives, what does not.

The server exports with the SDK's BatchSpanProcessor, which sends spans in the order they
ended. So once a later request's spans have arrived, an earlier request's spans would
have too: a sampled request is the barrier that proves an unsampled one sent nothing.
"""

from __future__ import annotations

import gzip
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from readmodels.projections import all_projections
from tests.conftest import CONTRACT
from tests.e2e.events import event
from tests.e2e.server import Server, free_port, running_server
from tests.e2e.worlds import project_events
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan, running_receiver
from tests.resolvers.world import build_specs, world_events

pytestmark = pytest.mark.e2e

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
VARIABLES = {"slug": "kitchen", "first": 5}
SERVICE = "vitrine-test"


def traceparent(sampled: bool) -> tuple[str, str, str]:
    """A caller's (trace id, span id, traceparent header), sampled or not."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def export_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, ratio: str, **extra: str) -> None:
    """The OTEL_* variables the server subprocess inherits (it copies os.environ)."""
    for name, value in {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_SERVICE_NAME": SERVICE,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": ratio,
        **extra,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
async def catalog(database_url: str) -> str:
    """A database holding the resolver tests' small catalog (it has a "kitchen" category)."""
    await project_events(database_url, world_events(build_specs()))
    return database_url


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with running_receiver() as receiver:
        yield receiver


def listing(server: Server, header: str | None = None) -> None:
    headers = {} if header is None else {"traceparent": header}
    response = server.graphql(CATEGORY_LISTING, VARIABLES, **headers)
    assert response.status_code == 200
    assert response.json()["data"]["category"]["name"] == "Kitchen"


def server_span_of(trace_id: str) -> object:
    def arrived(spans: list[ReceivedSpan]) -> bool:
        return any(s.trace_id == trace_id and s.kind == "SERVER" for s in spans)

    return arrived


def test_sampled_caller_trace_arrives_and_unsampled_one_does_not(
    catalog: str, receiver: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request under a sampled traceparent reaches the receiver as a child of the caller's
    span, with resolver and loader spans beneath and the service's resource; one under an
    unsampled traceparent sends nothing."""
    export_env(monkeypatch, receiver.endpoint, "1.0")
    sampled_id, caller_span, sampled = traceparent(sampled=True)
    unsampled_id, _, unsampled = traceparent(sampled=False)
    barrier_id, _, barrier = traceparent(sampled=True)
    with running_server(catalog, tmp_path, pool_size="2", pool_max_overflow="1") as server:
        listing(server, sampled)
        receiver.wait_for(server_span_of(sampled_id))
        listing(server, unsampled)
        listing(server, barrier)
        receiver.wait_for(server_span_of(barrier_id))

    trace = receiver.trace(sampled_id)
    (server_span,) = [s for s in trace if s.kind == "SERVER"]
    assert (server_span.name, server_span.parent_span_id, server_span.scope) == (
        "query CategoryListing",
        caller_span,
        "vitrine",
    )
    assert server_span.attributes["graphql.operation.name"] == "CategoryListing"
    assert {s.resource["service.name"] for s in trace} == {SERVICE}
    by_id = {s.span_id: s for s in trace}
    # Every other span hangs, through its parents, under the server span.
    for span in trace:
        if span is not server_span:
            ancestor = span
            while ancestor.parent_span_id != server_span.span_id:
                assert ancestor.parent_span_id in by_id, f"{span.name} is not under the request"
                ancestor = by_id[ancestor.parent_span_id]
    names = {s.name for s in trace}
    assert "resolve Query.category" in names
    assert "dataloader ListingPageLoader" in names
    assert receiver.trace(unsampled_id) == []
    assert set(receiver.content_types()) == {"application/x-protobuf"}


def test_projector_batches_arrive_as_spans_of_their_own(
    catalog: str, receiver: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Posting one event gives one root CONSUMER span per projection that handles its type,
    with that one event's position range, and none for the projections that skip it."""
    export_env(monkeypatch, receiver.endpoint, "1.0")
    head = len(world_events(build_specs()))
    creator = event(
        "CreatorUpserted",
        creatorId="cr9",
        handle="cy",
        name="Cy",
        bio=None,
        avatarUrl=None,
        storeId="s1",
    )
    handling = sorted(p.name for p in all_projections() if "CreatorUpserted" in p.event_types)
    assert handling  # the test means something only if some projection reads the event

    def projected(spans: list[ReceivedSpan]) -> bool:
        return {s.name for s in spans if s.name.startswith("project ")} >= {
            f"project {name}" for name in handling
        }

    with running_server(catalog, tmp_path, pool_size="2", pool_max_overflow="1") as server:
        posted = server.post_events(orjson.dumps([creator]))
        assert (posted.status_code, posted.json()["head"]) == (202, head + 1)
        spans = receiver.wait_for(projected)

    batches = sorted((s for s in spans if s.name.startswith("project ")), key=lambda s: s.name)
    assert [
        (
            s.name,
            s.kind,
            s.parent_span_id,
            s.status,
            {k: v for k, v in s.attributes.items() if k != "vitrine.lag.seconds"},
            s.resource["service.name"],
        )
        for s in batches
    ] == [
        (
            f"project {name}",
            "CONSUMER",
            None,
            "UNSET",
            {
                "vitrine.projection": name,
                "vitrine.events": 1,
                "vitrine.position.from": head,
                "vitrine.position.to": head + 1,
                "vitrine.lag.events": 0,
                "messaging.operation.type": "process",
                "messaging.operation.name": "project",
                "messaging.destination.name": "event_log",
                "messaging.consumer.group.name": name,
                "messaging.batch.message_count": 1,
            },
            SERVICE,
        )
        for name in handling
    ]
    assert all(s.attributes["vitrine.lag.seconds"] >= 0.0 for s in batches)
    assert len({s.trace_id for s in batches}) == len(batches)


def test_ratio_zero_sends_only_what_a_sampled_caller_asked_for(
    catalog: str, receiver: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At ratio 0, requests without a traceparent send nothing; a sampled caller's request
    (parent-based sampling) still arrives, and serves as the barrier."""
    export_env(monkeypatch, receiver.endpoint, "0")
    barrier_id, _, barrier = traceparent(sampled=True)
    with running_server(catalog, tmp_path, pool_size="2", pool_max_overflow="1") as server:
        for _ in range(3):
            listing(server)
        listing(server, barrier)
        spans = receiver.wait_for(server_span_of(barrier_id))
    assert {s.trace_id for s in spans if not s.name.startswith("project ")} == {barrier_id}


def test_server_answers_while_the_receiver_is_down(
    catalog: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exporting to a closed port costs requests nothing: they answer 200 with their data."""
    # A short export timeout only so the exporter gives up retrying soon at shutdown.
    export_env(
        monkeypatch, f"http://127.0.0.1:{free_port()}", "1.0", OTEL_EXPORTER_OTLP_TIMEOUT="1"
    )
    with running_server(catalog, tmp_path, pool_size="2", pool_max_overflow="1") as server:
        for _ in range(3):
            listing(server, traceparent(sampled=True)[2])
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_receiver_decodes_the_sdk_exporter_gzip_protobuf(receiver: OtlpReceiver) -> None:
    """The SDK's own OTLP exporter, gzip-compressed, is decoded span for span."""
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-client"}))
    exporter = OTLPSpanExporter(endpoint=receiver.traces_endpoint, compression=Compression.Gzip)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("probe")
    with (
        tracer.start_as_current_span("outer", kind=SpanKind.SERVER) as outer,
        tracer.start_as_current_span("inner", attributes={"n": 3, "tags": ["a", "b"]}) as inner,
    ):
        inner.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    spans = receiver.wait_for(lambda spans: len(spans) == 2)
    context, parent = inner.get_span_context(), outer.get_span_context()
    assert spans[0] == ReceivedSpan(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_span_id=f"{parent.span_id:016x}",
        name="inner",
        kind="INTERNAL",
        attributes={"n": 3, "tags": ["a", "b"]},
        status="ERROR",
        status_message="boom",
        resource=spans[0].resource,
        scope="probe",
    )
    assert spans[0].resource["service.name"] == "sdk-client"
    assert (spans[1].name, spans[1].kind, spans[1].parent_span_id) == ("outer", "SERVER", None)


OTLP_JSON = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "json-client"}}]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "manual"},
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "parentSpanId": "eee19b7ec3c1b173",
                            "name": "checkout",
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": "1544712661000000000",
                            "kind": 2,
                            "attributes": [
                                {"key": "http.method", "value": {"stringValue": "GET"}},
                                {"key": "retries", "value": {"intValue": "2"}},
                                {"key": "ok", "value": {"boolValue": True}},
                            ],
                            "events": [
                                {"name": "exception", "timeUnixNano": "1544712660500000000"}
                            ],
                            "status": {"code": 2, "message": "failed"},
                            "aFieldFromTheFuture": 1,
                        }
                    ],
                }
            ],
        }
    ]
}


def test_receiver_decodes_otlp_json_and_refuses_what_it_cannot_read(
    receiver: OtlpReceiver,
) -> None:
    """OTLP JSON (hex ids, integer enums, unknown fields) decodes, and gets a JSON answer;
    another media type gets 415 and a body that is not protobuf 400."""
    url = receiver.traces_endpoint
    answer = httpx.post(
        url,
        content=gzip.compress(orjson.dumps(OTLP_JSON)),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert (answer.status_code, answer.headers["content-type"], answer.json()) == (
        200,
        "application/json",
        {},
    )
    assert receiver.spans() == [
        ReceivedSpan(
            trace_id="5b8efff798038103d269b633813fc60c",
            span_id="eee19b7ec3c1b174",
            parent_span_id="eee19b7ec3c1b173",
            name="checkout",
            kind="SERVER",
            attributes={"http.method": "GET", "retries": 2, "ok": True},
            status="ERROR",
            status_message="failed",
            resource={"service.name": "json-client"},
            scope="manual",
            events=(("exception", {}),),
        )
    ]
    refused = httpx.post(url, content=b"x", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415
    broken = httpx.post(
        url, content=b"\xff\xff", headers={"Content-Type": "application/x-protobuf"}
    )
    assert broken.status_code == 400
    assert len(receiver.spans()) == 1
