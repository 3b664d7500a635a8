"""Non-trivial resolvers: a duration on every request, a span on sampled ones.

Every call of a `@traced` resolver adds its duration to the request's
observations (`RequestContext.observations.fields["Parent.field"]`) for the
resolver-duration metric: two clock reads and a list append. A resolver that
returns a loader future is measured until the future resolves, with a done
callback on it (no coroutine: the field stays on graphql-core's fast path).

A sampled request (its context carries a tracer) also gets a span per call,
current while the resolver runs, so the loads it makes are asked from it (the
DataLoader batch links back to it), and ended when its value resolves: a
resolver's span covers the batch that answered it. An error, raised or
resolved, is recorded on the span (described by its type or SQLSTATE, never by a
driver's message: `infra.span_errors`). Trivial attribute fields get no wrapper.

A span waiting on a future is kept in the context's `open_spans` until it ends: a
future may never resolve (aiodataloader leaves a cancelled batch's futures
pending), so the endpoint ends what is still open, ERROR "unfinished", before its
server span (`infra.graphql_spans.end_unfinished`); a value that resolves later ends
nothing twice.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from time import perf_counter
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from strawberry.types import Info

from infra.span_errors import record_error

F = TypeVar("F", bound=Callable[..., Any])


def traced(resolver: F) -> F:
    """Wrap a resolver: measured always, spanned when the request's context has a tracer."""

    @functools.wraps(resolver)
    def wrapper(root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        context = info.context
        # Strawberry's Info wraps graphql-core's ResolveInfo (and hides parent_type);
        # direct resolvers and compiled plans pass graphql-core's own.
        raw = info._raw_info if info.__class__ is Info else info
        parent = raw.parent_type.name
        durations = _durations(context.observations, f"{parent}.{raw.field_name}")
        tracer = context.tracer
        if tracer is not None:
            return _spanned(tracer, raw, parent, durations, resolver, root, info, args, kwargs)
        started = perf_counter()
        try:
            value = resolver(root, info, *args, **kwargs)
        except BaseException:
            durations.append(perf_counter() - started)
            raise
        return _measured(value, durations, started)

    # Compiled plans call, on unsampled requests, the undecorated resolver measured
    # under a name they know when they compile (their shared info has no parent type).
    wrapper.vitrine_untraced = resolver  # type: ignore[attr-defined]
    wrapper.vitrine_metered = functools.partial(metered, resolver)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def metered(resolver: Callable[..., Any], key: str) -> Callable[..., Any]:
    """`resolver`, its calls' durations recorded under `key` ("Parent.field"), no span."""

    def call(root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        durations = _durations(info.context.observations, key)
        started = perf_counter()
        try:
            value = resolver(root, info, *args, **kwargs)
        except BaseException:
            durations.append(perf_counter() - started)
            raise
        return _measured(value, durations, started)

    return call


def _durations(observations: Any, key: str) -> list[float]:
    fields: dict[str, list[float]] = observations.fields
    durations = fields.get(key)
    if durations is None:
        durations = fields[key] = []
    return durations


def _measured(value: Any, durations: list[float], started: float) -> Any:
    """`value`, its duration recorded now, or when it resolves if it is a pending future."""
    if isinstance(value, asyncio.Future) and not value.done():
        value.add_done_callback(functools.partial(_resolved, durations, started))
    else:
        durations.append(perf_counter() - started)
    return value


def _resolved(durations: list[float], started: float, _future: asyncio.Future[Any]) -> None:
    durations.append(perf_counter() - started)


def _spanned(
    tracer: Tracer,
    raw: GraphQLResolveInfo[Any],
    parent: str,
    durations: list[float],
    resolver: Callable[..., Any],
    root: Any,
    info: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    span = tracer.start_span(
        f"resolve {parent}.{raw.field_name}",
        attributes={
            "graphql.field.name": raw.field_name,
            "graphql.field.parent_type": parent,
            "graphql.field.path": ".".join(str(p) for p in raw.path.as_list()),
        },
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    started = perf_counter()
    try:
        value = resolver(root, info, *args, **kwargs)
    except BaseException as error:
        durations.append(perf_counter() - started)
        record_error(span, error)
        span.end()
        raise
    finally:
        otel_context.detach(token)
    if isinstance(value, asyncio.Future):
        if value.done():
            _end_with(span, None, durations, started, value)
        else:
            open_spans: set[Span] = info.context.open_spans
            open_spans.add(span)
            value.add_done_callback(
                functools.partial(_end_with, span, open_spans, durations, started)
            )
    else:
        durations.append(perf_counter() - started)
        span.end()
    return value


def _end_with(
    span: Span,
    open_spans: set[Span] | None,
    durations: list[float],
    started: float,
    future: asyncio.Future[Any],
) -> None:
    """The resolver's value resolved: its duration, and its span ended (with its error),
    unless the request already ended it as unfinished."""
    durations.append(perf_counter() - started)
    if open_spans is not None:
        if span not in open_spans:
            return
        open_spans.discard(span)
    if future.cancelled():
        span.set_status(Status(StatusCode.ERROR, "cancelled"))
    elif (error := future.exception()) is not None:
        record_error(span, error)
    span.end()
