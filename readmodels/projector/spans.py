"""Projector batches as spans: one trace of its own per batch that applied events.

A batch is not part of any request, so its span is a root. Its kind is
CONSUMER, as the messaging conventions give a "process" span: the event log
is the queue, each projection a consumer group whose checkpoint is its
offset. The span is created when the batch is over, with the batch's start
and end times: only then is it known whether the batch applied anything,
and an idle runner polls every projection every second, so spans for
empty polls (or for batches that only moved a checkpoint past other types'
events) would bury the ones worth reading. A failed batch always gets one,
with the exception recorded and an error status described by the exception's
type alone: messages may carry event data (a driver's repeats the values it
refused), which has no place in a tracing backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from sqlalchemy.exc import StatementError

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


class BatchSpans:
    """Reports projector batches to a tracer (the no-op tracer when tracing is off)."""

    def __init__(self, tracer: Tracer, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._tracer = tracer
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
        span.record_exception(error, attributes=_driver_message(error), timestamp=end_ns)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end(end_time=end_ns)


def _driver_message(error: Exception) -> dict[str, AttributeValue]:
    """A database error's `exception.message` without the statement's parameters, which
    SQLAlchemy's message lists and the driver's may repeat (event data reaching the tracing
    backend): the driver's error type and SQLSTATE instead. Other errors keep theirs."""
    if not isinstance(error, StatementError):
        return {}
    driver = error.orig if error.orig is not None else error
    sqlstate = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)
    message = type(driver).__name__
    if isinstance(sqlstate, str):
        message = f"{message} (SQLSTATE {sqlstate})"
    return {"exception.message": message}
