"""Gauges of /metrics read at scrape time: the read pool's connections and how far
the projections trail the event log. Nothing is counted per request: the collector
asks the pool and the checkpoint watcher for their current numbers when scraped.

Structural protocols keep this plumbing free of the read models' imports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

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


class ServiceCollector(Collector):
    """Read pool usage, event-log head and projector lag, as the gateway knows them."""

    def __init__(self, pool: PoolUsage, progress: Progress) -> None:
        self._pool = pool
        self._progress = progress

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
