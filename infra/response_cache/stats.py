"""Counters of the response cache, read at scrape time (no cost on the request path).

Plain integers bumped inline; `CacheCollector` turns them into Prometheus
metrics when /metrics is scraped, together with the levels' own counters
(L1 bytes and evictions, L2 errors and breaker trips, invalidation storms).
The benchmark reads hits and misses per level from here to compute hit ratios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass(slots=True)
class CacheStats:
    l1_hits: int = 0
    l1_misses: int = 0
    l2_hits: int = 0
    l2_misses: int = 0
    stale_served: int = 0
    refreshes: int = 0
    refresh_errors: int = 0
    stores: int = 0
    refused_stale: int = 0
    invalid_dropped: int = 0
    invalidations: int = 0
    invalidated_tags: int = 0
    invalidated_entries: int = 0
    bypassed: int = 0  # cacheable by policy, but not looked up (mutation, min position...)
    uncacheable: int = 0  # policy max-age 0, or errors in the result

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# (level, result, CacheStats field) of vitrine_cache_lookups_total; the per-level
# counters (vitrine_cache_l1_hits_total, ...) stay for dashboards that use them.
LOOKUPS = (
    ("l1", "hit", "l1_hits"),
    ("l1", "miss", "l1_misses"),
    ("l2", "hit", "l2_hits"),
    ("l2", "miss", "l2_misses"),
)


class CacheCollector(Collector):
    """Prometheus view of a cache's counters and gauges.

    `snapshot` returns (counters, gauges) by name at scrape time; counter
    names get the `vitrine_cache_` prefix and `_total` suffix. Lookups are also
    reported as one family by level and result, from which PromQL computes the
    hit ratio of each level.
    """

    def __init__(self, snapshot: Callable[[], tuple[dict[str, int], dict[str, float]]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        counters, gauges = self._snapshot()
        lookups = CounterMetricFamily(
            "vitrine_cache_lookups",
            "response cache lookups by level (l1, l2) and result (hit, miss); "
            "an L1 miss is looked up in L2 when Redis is configured",
            labels=["level", "result"],
        )
        for level, result, name in LOOKUPS:
            if name in counters:
                lookups.add_metric([level, result], counters[name])
        yield lookups
        for name, count in sorted(counters.items()):
            yield CounterMetricFamily(
                f"vitrine_cache_{name}", f"response cache: {name}", value=count
            )
        for name, value in sorted(gauges.items()):
            yield GaugeMetricFamily(f"vitrine_cache_{name}", f"response cache: {name}", value=value)
