"""What executing GraphQL costs, for /metrics: resolver time by field, DataLoader batch
sizes by loader, SQL statements per request.

Every executed request, sampled or not, hands its `Observations` (counted by the
resolvers and loaders as they ran) to `observe` once, at its end, a timed-out or
failed one too. Nothing reaches
prometheus-client on that path: the values are sorted into pending bucket counts
(`PendingHistogram`) and applied when /metrics is collected, or every second by
the multiprocess sync. Measured on this machine (busy), a CategoryListing-sized
request (244 resolver calls over 9 fields, 6 batches) costs 14 µs here when each
field's timings fall in one or two buckets, as a batch's do, and 23 µs when they
spread over seven.

Typed against a Protocol: plumbing does not import the resolvers' dataclass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from infra.metrics_histogram import PendingHistogram

# A traced resolver returns a value (µs) or a loader future (until its batch resolved: ms).
RESOLVER_BUCKETS = (
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
# Keys per batch: 1 (a product page) up to a listing's page of 48, or more for feeds.
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
# Executed requests only (a cache hit or a document error is not observed); 0: nothing
# needed a statement (an id that did not decode); a listing runs a handful.
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100)
# Fields and loaders come from the code (only `@traced` resolvers are timed): the cap
# only guards against a label fed from elsewhere.
MAX_FIELDS = 500
MAX_LOADERS = 100


class Observed(Protocol):
    """What one request did (resolvers.observations.Observations has this shape)."""

    @property
    def statements(self) -> int: ...

    @property
    def batches(self) -> Sequence[tuple[str, int]]: ...

    @property
    def fields(self) -> Mapping[str, Sequence[float]]: ...


class ExecutionMetrics(Collector):
    """`vitrine_resolver_duration_seconds{field}`, `vitrine_dataloader_batch_size{loader}`,
    `vitrine_sql_statements_per_request`.

    Registered on `registry` as a collector that applies the pending counts before it
    yields the histograms; `flush` does the same without collecting (multiprocess mode,
    where the values live in files and another process may be the one scraped).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._resolvers = Histogram(
            "vitrine_resolver_duration_seconds",
            "Time in a non-trivial resolver, until its value resolved, by Parent.field.",
            ["field"],
            buckets=RESOLVER_BUCKETS,
            registry=None,
        )
        self._batches = Histogram(
            "vitrine_dataloader_batch_size",
            "Keys per DataLoader batch (one SQL statement each), by loader.",
            ["loader"],
            buckets=BATCH_BUCKETS,
            registry=None,
        )
        self._statements = Histogram(
            "vitrine_sql_statements_per_request",
            "SQL statements one executed GraphQL request ran.",
            buckets=STATEMENT_BUCKETS,
            registry=None,
        )
        self._pending_resolvers = PendingHistogram(
            self._resolvers, RESOLVER_BUCKETS, max_labels=MAX_FIELDS
        )
        self._pending_batches = PendingHistogram(
            self._batches, BATCH_BUCKETS, max_labels=MAX_LOADERS
        )
        self._pending_statements = PendingHistogram(
            self._statements, STATEMENT_BUCKETS, labelled=False
        )
        registry.register(self)

    def observe(self, observations: Observed) -> None:
        """Count one executed request (cheap: see the module's docstring)."""
        self._pending_statements.observe("", observations.statements)
        batches = self._pending_batches
        for loader, size in observations.batches:
            batches.observe(loader, size)
        resolvers = self._pending_resolvers
        for name, durations in observations.fields.items():
            resolvers.observe_all(name, durations)

    def flush(self) -> None:
        """Apply the counts observed since the last flush to the histograms."""
        self._pending_resolvers.flush()
        self._pending_batches.flush()
        self._pending_statements.flush()

    def describe(self) -> Iterator[Metric]:
        yield from self._resolvers.describe()
        yield from self._batches.describe()
        yield from self._statements.describe()

    def collect(self) -> Iterator[Metric]:
        self.flush()
        yield from self._resolvers.collect()
        yield from self._batches.collect()
        yield from self._statements.collect()
