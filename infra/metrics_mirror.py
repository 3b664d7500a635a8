"""Process-local counters and gauges copied into prometheus-client's multiprocess files.

The cache, the rate limiter, the plan compiler, the predicate cache, the API-key
store and the read pool count in plain integers on their hot paths and report
through collectors read at scrape time. Under several workers a scrape reaches
one of them, so `LocalMirror.sync` (every second in every worker, and before a
scrape in the worker scraped) turns what those collectors report into
multiprocess values: a counter grows by what it grew since the last sync, so the
merged value is the sum over the workers (dead ones included, as counters must);
a gauge is set, and merged by the mode its meaning calls for (`GAUGE_MODES`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge

log = logging.getLogger("vitrine.metrics")

GaugeMode = Literal["livesum", "livemax", "liveall"]

# How each process-local gauge merges across live workers. Unlisted gauges keep one
# series per worker (a `pid` label): never wrong, only unmerged.
GAUGE_MODES: Mapping[str, GaugeMode] = {
    # Each worker holds its own memory level and connections: the total is the sum.
    "vitrine_cache_l1_bytes": "livesum",
    "vitrine_cache_l1_entries": "livesum",
    "vitrine_read_pool_connections": "livesum",
    "vitrine_read_pool_max_connections": "livesum",
    "vitrine_rate_limit_local_buckets": "livesum",
    # Every worker hears the same invalidations and compiles the same documents and
    # predicates: the furthest along says it.
    "vitrine_cache_tag_clock_tags": "livemax",
    "vitrine_cache_invalidation_tags_per_second": "livemax",
    "vitrine_plans_compiled": "livemax",
    "vitrine_promotion_predicates_cached": "livemax",
    # 1 while any worker is in that state.
    "vitrine_cache_l2_breaker_open": "livemax",
    "vitrine_cache_invalidation_storm_active": "livemax",
    "vitrine_rate_limit_local_fallback": "livemax",
    # A ratio does not add up: one series per worker (compute the fleet's ratio from
    # vitrine_promotion_predicate_lookups_total).
    "vitrine_promotion_predicate_hit_ratio": "liveall",
}
DEFAULT_GAUGE_MODE: GaugeMode = "liveall"

_Labels = tuple[tuple[str, str], ...]


class LocalMirror:
    """Copies what `source`'s collectors report into multiprocess counters and gauges."""

    def __init__(
        self, source: CollectorRegistry, modes: Mapping[str, GaugeMode] = GAUGE_MODES
    ) -> None:
        self._source = source
        self._modes = modes
        self._counters: dict[str, Counter] = {}
        self._gauges: dict[str, Gauge] = {}
        self._seen: dict[tuple[str, _Labels], float] = {}
        self._warned: set[str] = set()

    def sync(self) -> None:
        """Bring the multiprocess values up to what the collectors report now."""
        for family in self._source.collect():
            if family.type == "counter":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        self._count(family.name, family.documentation, sample.labels, sample.value)
            elif family.type == "gauge":
                for sample in family.samples:
                    self._set(family.name, family.documentation, sample.labels, sample.value)
            elif family.name not in self._warned:
                self._warned.add(family.name)
                log.warning(
                    "metric %s (%s) is not mirrored across workers", family.name, family.type
                )

    def _count(self, name: str, help_text: str, labels: dict[str, str], value: float) -> None:
        key = (name, tuple(sorted(labels.items())))
        delta = value - self._seen.get(key, 0.0)
        self._seen[key] = value
        if delta < 0:
            delta = value  # the source restarted from zero: all it holds is new
        if delta == 0:
            return
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = Counter(name, help_text, sorted(labels), registry=None)
        (counter.labels(**labels) if labels else counter).inc(delta)

    def _set(self, name: str, help_text: str, labels: dict[str, str], value: float) -> None:
        gauge = self._gauges.get(name)
        if gauge is None:
            gauge = self._gauges[name] = Gauge(
                name,
                help_text,
                sorted(labels),
                registry=None,
                multiprocess_mode=self._modes.get(name, DEFAULT_GAUGE_MODE),
            )
        (gauge.labels(**labels) if labels else gauge).set(value)
