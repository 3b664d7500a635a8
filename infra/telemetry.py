"""OpenTelemetry setup from the standard OTEL_* environment variables.

`build_tracing` always makes an SDK provider, so that a debug request
(`infra.debug_tracing`) can record its own trace whatever else is configured.
What the other requests do depends on where spans could go:

- OTEL_TRACES_EXPORTER names exporters (`otlp`, `console`, comma-separated),
  or the app passes its own processors (the development trace page): the
  sampler is OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read with the
  SDK's own table of samplers (with VITRINE_TRACE_PARENT_BASED_SAMPLER=false,
  its root only, a caller's sampled flag ignored: `infra.sampling`), and
  exporters sit behind a BatchSpanProcessor (the OTLP one is the
  HTTP/protobuf exporter, configured by OTEL_EXPORTER_OTLP_*).
- Nowhere (`none`, the default): the sampler is ALWAYS_OFF, so an ordinary
  request's server span is a non-recording span and nothing below it is
  created at all.

Either way the sampler is wrapped in `DebugSampler`. The resource names the
service (OTEL_SERVICE_NAME, else `vitrine`) and its version (the package's),
unless OTEL_RESOURCE_ATTRIBUTES says otherwise. A value the SDK would only
warn about (an unknown exporter or sampler, a ratio that is not one) stops
the start with a SettingsError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import _KNOWN_SAMPLERS, ALWAYS_OFF, Sampler
from opentelemetry.trace import Tracer

from infra.debug_tracing import DebugSampler, DebugTracing
from infra.sampling import OwnDecisionSampler
from infra.settings import Settings, SettingsError

TRACER_NAME = "vitrine"
EXPORTERS = ("otlp", "console")
RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")
PARENT_BASED_PREFIX = "parentbased_"
OTLP_PROTOCOL = "http/protobuf"
# The SDK's own table of OTEL_TRACES_SAMPLER values: samplers, and for the ratio ones a
# class taking the ratio (untyped there).
SDK_SAMPLERS: Mapping[str, Any] = _KNOWN_SAMPLERS


@dataclass(frozen=True, slots=True)
class Tracing:
    """What the app traces with: the provider (shut down at exit), its tracer, and the
    debug extension's state (None when the provider came from elsewhere, e.g. a test)."""

    provider: TracerProvider | None
    tracer: Tracer
    debug: DebugTracing | None


def exporter_names(environ: Mapping[str, str]) -> tuple[str, ...]:
    """OTEL_TRACES_EXPORTER as a list of exporters; `none` (the default) is the empty list."""
    raw = environ.get("OTEL_TRACES_EXPORTER", "none")
    names = tuple(dict.fromkeys(n.strip().lower() for n in raw.split(",") if n.strip()))
    if names in ((), ("none",)):
        return ()
    for name in names:
        if name not in EXPORTERS:
            raise SettingsError(
                f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} "
                "(use otlp, console, both comma-separated, or none)"
            )
    return names


def sampler_from_env(environ: Mapping[str, str], *, parent_based: bool = True) -> Sampler:
    """OTEL_TRACES_SAMPLER and its ARG, as the SDK reads them, but refusing what it would
    only warn about and replace (default: parentbased_always_on; a ratio defaults to 1).

    `parent_based=False` (VITRINE_TRACE_PARENT_BASED_SAMPLER): a caller's sampled flag
    decides nothing; the sampler's root (the name without `parentbased_`) decides for
    callers' traces as for ours, inside `OwnDecisionSampler` (`infra.sampling`)."""
    name = environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").lower()
    if name not in SDK_SAMPLERS:
        known = ", ".join(SDK_SAMPLERS)
        raise SettingsError(f"OTEL_TRACES_SAMPLER: unknown sampler {name!r} (use one of {known})")
    if not parent_based:
        root = name.removeprefix(PARENT_BASED_PREFIX)
        return OwnDecisionSampler(_sampler(root if root in SDK_SAMPLERS else name, environ))
    return _sampler(name, environ)


def _sampler(name: str, environ: Mapping[str, str]) -> Sampler:
    if name not in RATIO_SAMPLERS:
        sampler: Sampler = SDK_SAMPLERS[name]
        return sampler
    raw = environ.get("OTEL_TRACES_SAMPLER_ARG", "")
    try:
        ratio = float(raw) if raw.strip() else 1.0
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise SettingsError(
            f"OTEL_TRACES_SAMPLER_ARG: {name} needs a ratio from 0 to 1 (got {raw!r})"
        )
    ratio_sampler: Sampler = SDK_SAMPLERS[name](ratio)
    return ratio_sampler


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter:
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(variable, "").strip().lower()
        if protocol and protocol != OTLP_PROTOCOL:
            raise SettingsError(f"{variable}: only {OTLP_PROTOCOL} is supported (got {protocol!r})")
        if protocol:
            break
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    try:  # endpoint, headers, timeout, compression, certificates: OTEL_EXPORTER_OTLP_*
        return OTLPSpanExporter()
    except ValueError as exc:
        raise SettingsError(f"OTEL_EXPORTER_OTLP_*: {exc}") from exc


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    return _otlp_exporter(environ) if name == "otlp" else ConsoleSpanExporter()


def service_resource() -> Resource:
    """service.name and service.version, the environment's values first."""
    detected = OTELResourceDetector().detect().attributes
    try:
        package_version = version("vitrine")
    except PackageNotFoundError:
        package_version = "unknown"
    defaults = {SERVICE_NAME: "vitrine", SERVICE_VERSION: package_version}
    return Resource.create({k: v for k, v in defaults.items() if k not in detected})


def build_tracing(settings: Settings, *, processors: Sequence[SpanProcessor] = ()) -> Tracing:
    """The app's tracing, from the environment (see the module); `processors` are added as
    they are, so their `on_end` runs inline (keep them cheap). `settings.debug_tracing`
    (refused in production by the settings themselves) turns the debug extension on for
    every request."""
    environ = os.environ
    names = exporter_names(environ)
    parent_based = settings.trace_parent_based_sampler
    inner = (
        sampler_from_env(environ, parent_based=parent_based) if names or processors else ALWAYS_OFF
    )
    exporters = [_exporter(name, environ) for name in names]
    debug = DebugTracing(always=settings.debug_tracing)
    provider = TracerProvider(resource=service_resource(), sampler=DebugSampler(inner))
    provider.add_span_processor(debug.span_processor)
    for processor in processors:
        provider.add_span_processor(processor)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider, provider.get_tracer(TRACER_NAME), debug)


def tracing_with(provider: TracerProvider) -> Tracing:
    """Tracing on a provider made elsewhere (tests bring one with an in-memory exporter):
    its own sampler decides, and there is no debug extension."""
    return Tracing(provider, provider.get_tracer(TRACER_NAME), None)
