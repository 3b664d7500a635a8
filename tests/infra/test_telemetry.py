"""build_tracing: the provider, sampler, resource and exporters the OTEL_* variables ask for,
refusals with a message naming the variable, and export to a real OTLP/HTTP receiver."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opentelemetry.context import Context
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from infra.debug_tracing import DEBUG_ATTRIBUTE, DebugSampler
from infra.settings import Settings, SettingsError
from infra.telemetry import (
    Tracing,
    build_tracing,
    exporter_names,
    sampler_from_env,
    tracing_with,
)
from tests.otlp_receiver import ReceivedSpan, running_receiver


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without OTEL_* variables."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def built() -> Iterator[list[Tracing]]:
    """Collects what a test builds, and shuts the providers down after it."""
    tracings: list[Tracing] = []
    yield tracings
    for tracing in tracings:
        if tracing.provider is not None:
            tracing.provider.shutdown()


def build(built: list[Tracing], **settings: object) -> Tracing:
    tracing = build_tracing(Settings(**settings))  # type: ignore[arg-type]
    built.append(tracing)
    return tracing


def sampler_description(tracing: Tracing) -> str:
    assert tracing.provider is not None
    return str(tracing.provider.sampler.get_description())


def test_without_an_exporter_only_debug_requests_record(built: list[Tracing]) -> None:
    """No exporter, no processor: a provider whose inner sampler is ALWAYS_OFF."""
    tracing = build(built)
    assert sampler_description(tracing) == "DebugSampler{AlwaysOffSampler}"
    assert not tracing.tracer.start_span("query Q").is_recording()
    assert tracing.tracer.start_span("query Q", attributes={DEBUG_ATTRIBUTE: True}).is_recording()
    assert tracing.debug is not None
    assert tracing.debug.always is False


def test_an_exporter_brings_the_environments_sampler(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an exporter, OTEL_TRACES_SAMPLER and its ratio decide, wrapped for debug."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert sampler_description(build(built)) == (
        "DebugSampler{ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,"
        "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
        "localParentNotSampled:AlwaysOffSampler}}"
    )
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.01")
    expected = DebugSampler(ParentBasedTraceIdRatio(0.01)).get_description()
    assert sampler_description(build(built)) == expected
    assert "TraceIdRatioBased{0.01}" in expected


def test_processors_receive_spans_without_an_exporter(built: list[Tracing]) -> None:
    """A processor the app passes (the trace page's buffer) sees the sampled spans."""
    exporter = InMemorySpanExporter()
    tracing = build_tracing(Settings(), processors=[SimpleSpanProcessor(exporter)])
    built.append(tracing)
    tracing.tracer.start_span("query Q").end()
    assert [span.name for span in exporter.get_finished_spans()] == ["query Q"]


def test_the_development_flag_reaches_the_debug_extension(built: list[Tracing]) -> None:
    """VITRINE_DEBUG_TRACING makes the debug extension want every request."""
    tracing = build(built, debug_tracing=True)
    assert tracing.debug is not None
    assert tracing.debug.always is True


def test_a_given_provider_has_no_debug_extension() -> None:
    """A test's own provider is used as it is: its sampler, no debug extension."""
    provider = TracerProvider()
    tracing = tracing_with(provider)
    assert (tracing.provider, tracing.debug) == (provider, None)


def test_exporter_names_are_a_comma_separated_list() -> None:
    """Names are trimmed, lower-cased and deduplicated; `none` and empty mean no exporter."""
    assert exporter_names({"OTEL_TRACES_EXPORTER": " OTLP, console,otlp "}) == ("otlp", "console")
    assert exporter_names({"OTEL_TRACES_EXPORTER": "none"}) == ()
    assert exporter_names({"OTEL_TRACES_EXPORTER": ""}) == ()
    assert exporter_names({}) == ()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "OTEL_TRACES_EXPORTER: unsupported exporter 'jaeger' "
            "(use otlp, console, both comma-separated, or none)",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "none,otlp"},
            "OTEL_TRACES_EXPORTER: unsupported exporter 'none' "
            "(use otlp, console, both comma-separated, or none)",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "console", "OTEL_TRACES_SAMPLER": "sometimes"},
            "OTEL_TRACES_SAMPLER: unknown sampler 'sometimes' (use one of always_on, always_off, "
            "parentbased_always_on, parentbased_always_off, traceidratio, "
            "parentbased_traceidratio)",
        ),
        (
            {
                "OTEL_TRACES_EXPORTER": "console",
                "OTEL_TRACES_SAMPLER": "traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "1%",
            },
            "OTEL_TRACES_SAMPLER_ARG: traceidratio needs a ratio from 0 to 1 (got '1%')",
        ),
        (
            {
                "OTEL_TRACES_EXPORTER": "console",
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "2",
            },
            "OTEL_TRACES_SAMPLER_ARG: parentbased_traceidratio needs a ratio from 0 to 1 (got '2')",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported (got 'grpc')",
        ),
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
            },
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: only http/protobuf is supported (got 'http/json')",
        ),
    ],
)
def test_bad_values_stop_the_start_naming_the_variable(
    variables: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the SDK would only warn about and replace is a SettingsError here."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        build_tracing(Settings())
    assert str(refused.value) == message


def test_the_resource_names_the_service_and_its_version(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """service.name defaults to vitrine and service.version to the package's; the
    environment's values come first."""
    resource = build(built).provider.resource  # type: ignore[union-attr]
    assert (resource.attributes["service.name"], resource.attributes["service.version"]) == (
        "vitrine",
        "0.1.0",
    )
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-eu")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.version=build-7,region=eu")
    resource = build(built).provider.resource  # type: ignore[union-attr]
    assert (
        resource.attributes["service.name"],
        resource.attributes["service.version"],
        resource.attributes["region"],
    ) == ("gateway-eu", "build-7", "eu")


def test_otlp_exports_to_the_configured_endpoint(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_TRACES_EXPORTER=otlp sends spans, with the resource, to OTEL_EXPORTER_OTLP_ENDPOINT."""
    with running_receiver() as receiver:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
        tracing = build(built)
        tracing.tracer.start_span(
            "query Exported", attributes={"graphql.operation.type": "query"}
        ).end()

        assert tracing.provider is not None
        assert tracing.provider.force_flush()  # the batch goes now, not in 5 s

        def arrived(spans: list[ReceivedSpan]) -> bool:
            return any(span.name == "query Exported" for span in spans)

        (span,) = receiver.wait_for(arrived)
    assert (span.scope, span.attributes) == ("vitrine", {"graphql.operation.type": "query"})
    assert (span.resource["service.name"], span.resource["service.version"]) == (
        "vitrine",
        "0.1.0",
    )


def test_the_sdks_private_sampler_table_still_has_the_names_we_rely_on() -> None:
    """infra/telemetry.py reads OTEL_TRACES_SAMPLER through the SDK's private
    `_KNOWN_SAMPLERS`: an SDK upgrade that drops or reshapes it fails here, by name,
    not as an unknown sampler at start-up."""
    from opentelemetry.sdk.trace import sampling

    table = getattr(sampling, "_KNOWN_SAMPLERS", None)
    assert table is not None, "opentelemetry-sdk no longer has sampling._KNOWN_SAMPLERS"
    assert sorted(table) == [
        "always_off",
        "always_on",
        "parentbased_always_off",
        "parentbased_always_on",
        "parentbased_traceidratio",
        "traceidratio",
    ]
    assert (table["always_on"], table["always_off"]) == (sampling.ALWAYS_ON, sampling.ALWAYS_OFF)
    assert table["parentbased_always_on"].get_description() == (
        sampling.ParentBased(sampling.ALWAYS_ON).get_description()
    )
    assert table["parentbased_always_off"].get_description() == (
        sampling.ParentBased(sampling.ALWAYS_OFF).get_description()
    )
    assert (table["traceidratio"], table["parentbased_traceidratio"]) == (
        sampling.TraceIdRatioBased,
        sampling.ParentBasedTraceIdRatio,
    )
    assert table["parentbased_traceidratio"](0.25).get_description() == (
        "ParentBased{root:TraceIdRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,"
        "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
        "localParentNotSampled:AlwaysOffSampler}"
    )


CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
# Low 64 bits of zero: under TraceIdRatioBased any ratio above 0 samples this trace id.
CHOSEN_TRACE_ID = "4bf92f3577b34da60000000000000000"


def untrusting(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch, ratio: str
) -> tuple[Tracing, InMemorySpanExporter]:
    """VITRINE_TRACE_PARENT_BASED_SAMPLER=false, parentbased_traceidratio at `ratio`."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", ratio)
    exporter = InMemorySpanExporter()
    tracing = build_tracing(
        Settings(trace_parent_based_sampler=False), processors=[SimpleSpanProcessor(exporter)]
    )
    built.append(tracing)
    return tracing, exporter


def caller(trace_id: str, sampled: bool) -> Context:
    flags = "01" if sampled else "00"
    return extract({"traceparent": f"00-{trace_id}-00f067aa0ba902b7-{flags}"})


def test_by_default_a_callers_sampled_flag_decides(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parent-based (the default, as the SDK does it): a sampled traceparent is recorded
    even at ratio 0."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    exporter = InMemorySpanExporter()
    tracing = build_tracing(Settings(), processors=[SimpleSpanProcessor(exporter)])
    built.append(tracing)
    assert tracing.tracer.start_span(
        "query Q", context=caller(CALLER_TRACE_ID, True)
    ).is_recording()


def test_untrusted_a_sampled_traceparent_records_nothing_at_ratio_0(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the setting false, our ratio decides for a caller's trace: at 0 its sampled
    traceparent records nothing (and is no error); its own children follow."""
    tracing, exporter = untrusting(built, monkeypatch, "0")
    assert sampler_description(tracing) == ("DebugSampler{OwnDecision{TraceIdRatioBased{0.0}}}")
    server = tracing.tracer.start_span("query Q", context=caller(CALLER_TRACE_ID, True))
    assert not server.is_recording()
    assert format(server.get_span_context().trace_id, "032x") == CALLER_TRACE_ID
    child = tracing.tracer.start_span("resolve Query.q", context=set_span_in_context(server))
    assert not child.is_recording()
    child.end()
    server.end()
    assert exporter.get_finished_spans() == ()


def test_untrusted_a_chosen_trace_id_does_not_buy_sampling(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ratio is applied to a number of ours, not to the caller's trace id: at 1e-9, an id
    whose low bits are zero (always sampled by TraceIdRatioBased) is not."""
    tracing, _ = untrusting(built, monkeypatch, "0.000000001")
    spans = [
        tracing.tracer.start_span("query Q", context=caller(CHOSEN_TRACE_ID, True))
        for _ in range(20)
    ]
    assert [s.is_recording() for s in spans] == [False] * 20


def test_untrusted_our_ratio_records_a_callers_unsampled_trace_in_it(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At ratio 1 an unsampled traceparent is recorded anyway: in the caller's trace, a child
    of its span; and a local parent's decision is followed."""
    tracing, exporter = untrusting(built, monkeypatch, "1")
    server = tracing.tracer.start_span("query Q", context=caller(CALLER_TRACE_ID, False))
    assert server.is_recording()
    tracing.tracer.start_span("resolve Query.q", context=set_span_in_context(server)).end()
    server.end()
    assert {format(s.context.trace_id, "032x") for s in exporter.get_finished_spans()} == {
        CALLER_TRACE_ID
    }
    unsampled = NonRecordingSpan(
        SpanContext(int(CALLER_TRACE_ID, 16), 7, is_remote=False, trace_flags=TraceFlags(0))
    )
    below = tracing.tracer.start_span("resolve Query.r", context=set_span_in_context(unsampled))
    assert not below.is_recording()


def test_untrusted_a_debug_request_records_in_the_callers_trace(
    built: list[Tracing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At ratio 0 a debug request is still recorded (the debug sampler comes first), and its
    trace id stays the caller's."""
    tracing, exporter = untrusting(built, monkeypatch, "0")
    server = tracing.tracer.start_span(
        "query Q", context=caller(CALLER_TRACE_ID, True), attributes={DEBUG_ATTRIBUTE: True}
    )
    assert server.is_recording()
    server.end()
    (span,) = exporter.get_finished_spans()
    assert span.context is not None
    assert format(span.context.trace_id, "032x") == CALLER_TRACE_ID
    assert span.parent is not None
    assert span.parent.span_id == 0x00F067AA0BA902B7


def test_untrusted_the_root_of_each_sampler_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `parentbased_`, each OTEL_TRACES_SAMPLER is its own root."""
    expected = {
        "parentbased_always_on": "OwnDecision{AlwaysOnSampler}",
        "parentbased_always_off": "OwnDecision{AlwaysOffSampler}",
        "always_on": "OwnDecision{AlwaysOnSampler}",
        "traceidratio": "OwnDecision{TraceIdRatioBased{0.5}}",
    }
    for name, description in expected.items():
        environ = {"OTEL_TRACES_SAMPLER": name, "OTEL_TRACES_SAMPLER_ARG": "0.5"}
        assert sampler_from_env(environ, parent_based=False).get_description() == description
