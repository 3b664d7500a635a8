"""Service series of /metrics: the read pool's connections, how far the projections trail
the event log, and how many events they apply.

Pool usage is process-local (each worker holds its own pool); the event-log head and
the projections' positions come from the database (the checkpoint watcher), the same
in every process, so they are read when scraped, by whichever process is scraped.
Projector throughput is counted as batches commit, from the runner's batch listener.

Structural protocols keep this plumbing free of the read models' imports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class PoolUsage(Protocol):
    def usage(self) -> Mapping[str, tuple[int, int, int]]: ...


class Progress(Protocol):
    @property
    def head(self) -> int: ...

    @property
    def positions(self) -> Mapping[str, int]: ...

    def lag_ms(self) -> int: ...


class Batch(Protocol):
    """A committed projector batch (readmodels.projector.batch.BatchOutcome has this shape)."""

    @property
    def projection(self) -> str: ...

    @property
    def events(self) -> int: ...


class PoolCollector(Collector):
    """This process's read pool connections, by pool and state, and the pools' limits."""

    def __init__(self, pool: PoolUsage) -> None:
        self._pool = pool

    def collect(self) -> Iterator[Metric]:
        connections = GaugeMetricFamily(
            "vitrine_read_pool_connections",
            "Read pool connections by state (in_use includes connects and closes in progress).",
            labels=["pool", "state"],
        )
        limits = GaugeMetricFamily(
            "vitrine_read_pool_max_connections",
            "The most connections a read pool opens.",
            labels=["pool"],
        )
        for pool, (in_use, idle, size) in sorted(self._pool.usage().items()):
            connections.add_metric([pool, "in_use"], in_use)
            connections.add_metric([pool, "idle"], idle)
            limits.add_metric([pool], size)
        yield connections
        yield limits


class ProgressCollector(Collector):
    """Event-log head and projector lag, as the checkpoint watcher last heard them."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def collect(self) -> Iterator[Metric]:
        head = self._progress.head
        yield GaugeMetricFamily(
            "vitrine_event_log_head", "The event log's last position heard of.", value=head
        )
        lag = GaugeMetricFamily(
            "vitrine_projector_lag_events",
            "Events a projection has yet to apply (head minus its checkpoint).",
            labels=["projection"],
        )
        for name, position in sorted(self._progress.positions.items()):
            lag.add_metric([name], max(head - position, 0))
        yield lag
        yield GaugeMetricFamily(
            "vitrine_projector_lag_seconds",
            "How long the slowest projection has been behind the head (0 when caught up).",
            value=self._progress.lag_ms() / 1000,
        )


class ProjectorMetrics:
    """`vitrine_projector_events_total{projection}` and `vitrine_projector_batches_total
    {projection}`: what this process's projector runner applied (rate() is throughput)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._events = Counter(
            "vitrine_projector_events",
            "Events applied by projector batches, by projection.",
            ["projection"],
            registry=registry,
        )
        self._batches = Counter(
            "vitrine_projector_batches",
            "Projector batches committed, by projection.",
            ["projection"],
            registry=registry,
        )

    def on_batch(self, batch: Batch) -> None:
        """The runner's batch listener (after the batch committed)."""
        self._events.labels(batch.projection).inc(batch.events)
        self._batches.labels(batch.projection).inc()
