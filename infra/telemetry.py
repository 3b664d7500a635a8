"""OpenTelemetry setup from the standard OTEL_* environment variables.

Tracing is off unless OTEL_TRACES_EXPORTER names an exporter: then the SDK's
own variables (OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME)
apply. With tracing off the tracer is a no-op whose spans never record, so
requests create no resolver or loader spans at all.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Tracer

TRACER_NAME = "vitrine"


def _exporter(name: str) -> SpanExporter:
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        return ConsoleSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (use otlp or console)")


def tracer_provider_from_env() -> TracerProvider | None:
    """A provider when OTEL_TRACES_EXPORTER names an exporter, else None (tracing off)."""
    name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if name in ("", "none"):
        return None
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "vitrine")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    return provider


def get_tracer(provider: TracerProvider | None) -> Tracer:
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer(TRACER_NAME)
