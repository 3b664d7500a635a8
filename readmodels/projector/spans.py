"""Projector batches as spans: one trace of its own per batch that applied events.

A batch is not part of any request, so its span is a root. Its kind is
CONSUMER, as the messaging conventions give a "process" span: the event log
is the queue, each projection a consumer group whose checkpoint is its
offset. The span is created when the batch is over, with the batch's start
and end times: only then is it known whether the batch applied anything,
and an idle runner polls every projection every second, so spans for
empty polls (or for batches that only moved a checkpoint past other types'
events) would bury the ones worth reading. A failed batch always gets one,
with the exception recorded by the `ErrorRecorder` it was given. Messages may
carry event data (a driver's repeats the values it refused, SQLAlchemy's lists
the statement's parameters), which has no place in a tracing backend; the
scrubbing recorder is `infra.span_errors.record_error`, which the composition
passes in: readmodels may import infra's db and config only, and infra's
plumbing nothing of readmodels, so the recorder is injected rather than
imported. Without one, a failed batch's span says the exception's type alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from readmodels.projector.batch import BatchOutcome

EVENT_LOG = "event_log"


def span_name(projection: str) -> str:
    return f"project {projection}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def batch_attributes(outcome: BatchOutcome, now: datetime) -> dict[str, AttributeValue]:
    """What a batch's span says: projection, event count, position range and lag.

    Lag in events is the head the batch read minus where it ended; lag in
    seconds is how long ago its newest event was appended (absent when
    unknown; never negative, should the clocks disagree).
    """
    attributes: dict[str, AttributeValue] = {
        "vitrine.projection": outcome.projection,
        "vitrine.events": outcome.events,
        "vitrine.position.from": outcome.from_position,
        "vitrine.position.to": outcome.to_position,
        "vitrine.lag.events": max(outcome.head - outcome.to_position, 0),
        **_messaging(outcome.projection),
        "messaging.batch.message_count": outcome.events,
    }
    if outcome.newest_recorded_at is not None:
        lag = (now - outcome.newest_recorded_at).total_seconds()
        attributes["vitrine.lag.seconds"] = max(lag, 0.0)
    return attributes


def _messaging(projection: str) -> dict[str, AttributeValue]:
    return {
        "messaging.operation.type": "process",
        "messaging.operation.name": "project",
        "messaging.destination.name": EVENT_LOG,
        "messaging.consumer.group.name": projection,
    }


class ErrorRecorder(Protocol):
    """Puts `error` on `span` as an exception event at `timestamp` (ns) and sets ERROR."""

    def __call__(self, span: Span, error: BaseException, *, timestamp: int | None = None) -> None:
        """Record `error` (no value it quotes may reach the span)."""


def record_type_only(span: Span, error: BaseException, *, timestamp: int | None = None) -> None:
    """The recorder when none is given: the exception's type, neither message nor stack,
    so nothing a message quotes can leak."""
    name = type(error).__name__
    attributes = {"exception.message": name, "exception.stacktrace": name}
    span.record_exception(error, attributes=attributes, timestamp=timestamp)
    span.set_status(Status(StatusCode.ERROR, name))


class BatchSpans:
    """Reports projector batches to a tracer (the no-op tracer when tracing is off)."""

    def __init__(
        self,
        tracer: Tracer,
        *,
        record_error: ErrorRecorder = record_type_only,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._tracer = tracer
        self._record_error = record_error
        self._clock = clock

    def applied(self, outcome: BatchOutcome, *, start_ns: int, end_ns: int) -> None:
        """A committed batch: a span when it applied events, nothing when it applied none."""
        if outcome.events == 0:
            return
        span = self._tracer.start_span(
            span_name(outcome.projection),
            context=Context(),  # a root: no request is behind a batch
            kind=SpanKind.CONSUMER,
            attributes=batch_attributes(outcome, self._clock()),
            start_time=start_ns,
        )
        span.end(end_time=end_ns)

    def failed(self, projection: str, error: Exception, *, start_ns: int, end_ns: int) -> None:
        """A batch that raised (and rolled back): the exception on an error span."""
        span = self._tracer.start_span(
            span_name(projection),
            context=Context(),
            kind=SpanKind.CONSUMER,
            attributes={"vitrine.projection": projection, **_messaging(projection)},
            start_time=start_ns,
        )
        self._record_error(span, error, timestamp=end_ns)
        span.end(end_time=end_ns)
