"""Per-request series of /metrics: how long /graphql answers took, by operation and outcome.

Observed once per request by `RequestIds` (the outermost layer that sees every
answer, masked 500s included), from what the GraphQL endpoint left in the ASGI
scope: the operation's name and whether the body carries GraphQL errors.

The `operation` label is bounded: a name reaches the scope only once its document
was parsed and validated, but free-form documents name themselves, so only the
first `max_operations` distinct names get a series of their own; later ones are
counted under `other`. Children are cached per label pair: the hot path costs a
dict lookup and one histogram observation.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import Scope

from infra.access_log import OPERATION_KEY

# Set by the GraphQL endpoint when the response's body carries `errors`.
GRAPHQL_ERRORS_KEY = "vitrine.graphql_errors"

OTHER_OPERATION = "other"
DEFAULT_MAX_OPERATIONS = 200
GRAPHQL_PATH = "/graphql"
# From a cache hit (~0.1 ms) to the request timeout.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class OperationLabels:
    """Maps operation names to label values, at most `limit` distinct ones besides
    `""` (unknown) and `other` (everything past the limit)."""

    def __init__(self, limit: int = DEFAULT_MAX_OPERATIONS) -> None:
        self._limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return ""
        if name in self._known:
            return name
        if len(self._known) < self._limit:
            self._known.add(name)
            return name
        return OTHER_OPERATION


def outcome(status: int, graphql_errors: bool) -> str:
    """`failed` (5xx), `rejected` (4xx), `error` (GraphQL errors in a 2xx/3xx), `ok`."""
    if status >= 500:
        return "failed"
    if status >= 400:
        return "rejected"
    return "error" if graphql_errors else "ok"


class RequestMetrics:
    """`vitrine_http_request_duration_seconds{operation, outcome}` for /graphql."""

    def __init__(
        self, registry: CollectorRegistry, *, max_operations: int = DEFAULT_MAX_OPERATIONS
    ) -> None:
        self._duration = Histogram(
            "vitrine_http_request_duration_seconds",
            "Time to answer a /graphql request, by operation name and outcome.",
            ["operation", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._labels = OperationLabels(max_operations)
        self._children: dict[tuple[str, str], Histogram] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Record one answered request (other paths are ignored)."""
        if scope["path"] != GRAPHQL_PATH:
            return
        operation = scope.get(OPERATION_KEY)
        key = (
            self._labels.label(None if operation is None else operation[1]),
            outcome(status, GRAPHQL_ERRORS_KEY in scope),
        )
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._duration.labels(*key)
        child.observe(seconds)
