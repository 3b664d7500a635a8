"""What plumbing below the /graphql endpoint needs to know of the request it works for.

The read pool, the response cache and the persisted-query provider take no
tracer argument and know nothing of resolvers, yet each must put its spans
(SQL statements, cache lookups, document lookups) in the request's trace, and
the read pool must count the request's statements for /metrics. The endpoint
opens a `RequestScope` for each request: a context variable, so the tasks the
request starts (DataLoader batches) see it and other requests never do.

`tracer` is set only when the request's server span records (it is sampled):
plumbing creates a span when `current_tracer()` is not None, so an unsampled
request pays one context-variable read per statement and no span at all. The
current span (the resolver's or loader's that ran the statement) parents it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from opentelemetry.trace import Span, Tracer


class RequestScope:
    """One request's tracer (None: not sampled), its count of SQL statements, and the spans
    still open that the endpoint must end before its server span (resolvers waiting on a
    future that may never resolve)."""

    __slots__ = ("open_spans", "statements", "tracer")

    def __init__(self, tracer: Tracer | None) -> None:
        self.tracer = tracer
        self.statements = 0
        self.open_spans: set[Span] = set()


_current: ContextVar[RequestScope | None] = ContextVar("vitrine_request_scope", default=None)


def open_scope(tracer: Tracer | None) -> tuple[RequestScope, Token[RequestScope | None]]:
    """Make a new scope the current one (until `close_scope` with the token)."""
    scope = RequestScope(tracer)
    return scope, _current.set(scope)


def close_scope(token: Token[RequestScope | None]) -> None:
    _current.reset(token)


def leave_scope() -> None:
    """Work started by a request that is not part of it (a background refresh, run in a
    task that copied the request's context) calls this first: it counts and traces
    nothing of the request's."""
    _current.set(None)


def current_scope() -> RequestScope | None:
    return _current.get()


def current_tracer() -> Tracer | None:
    """The tracer of the request being handled when it is sampled, else None."""
    scope = _current.get()
    return None if scope is None else scope.tracer
