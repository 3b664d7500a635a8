"""Sampling that a caller's `traceparent` cannot turn on.

Under a parent-based sampler a caller's sampled flag wins: an anonymous client
sending `traceparent: 00-...-01` makes its request fully traced, and a fully
traced request costs 1.5-1.8x the CPU of an untraced one, so anyone could make
every request about twice as expensive (and a browser or mobile OpenTelemetry
SDK that samples everything turns a 1 % ratio into 100 %). Apollo Router's
answer is `parent_based_sampler: false`, and so is ours
(VITRINE_TRACE_PARENT_BASED_SAMPLER=false): `OwnDecisionSampler`.

- No parent: the root sampler decides (OTEL_TRACES_SAMPLER without its
  `parentbased_` prefix: `TraceIdRatioBased(arg)`, always on or always off).
- A remote parent (the caller's): the root sampler decides too, and the span
  stays in the caller's trace, a child of its span. The ratio is applied to a
  random number rather than the caller's trace id: the caller chooses its trace
  id, and `TraceIdRatioBased` samples every id whose low 64 bits are small.
- A local parent (our own server span's children): the parent's decision, so a
  trace is whole or absent.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState, get_current_span
from opentelemetry.util.types import Attributes


class OwnDecisionSampler(Sampler):
    """`root` decides for traces we start and for callers' traces alike (see the module);
    a local parent's decision is followed."""

    def __init__(self, root: Sampler) -> None:
        self.root = root

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
        parent = get_current_span(parent_context).get_span_context()
        if parent.is_valid and not parent.is_remote:
            follow = ALWAYS_ON if parent.trace_flags.sampled else ALWAYS_OFF
            return follow.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        if parent.is_valid:  # the caller's: its trace id is no random number
            trace_id = random.getrandbits(128)
        return self.root.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"OwnDecision{{{self.root.get_description()}}}"
