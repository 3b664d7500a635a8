"""/metrics view of the pricing engine's compiled-predicate cache (composition)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from resolvers.pricing.conditions import PredicateCache


class PredicateCollector(Collector):
    """Lookups of compiled promotion predicates (hits and misses), compilations, size.

    The hit rate is what says whether predicates really are compiled once per
    promotion version: near 1 once a store's promotions have been priced.
    """

    def __init__(self, cache: PredicateCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[Any]:
        stats = self._cache.stats
        lookups = CounterMetricFamily(
            "vitrine_promotion_predicate_lookups",
            "compiled promotion predicates looked up, by result (hit: compiled earlier)",
            labels=["result"],
        )
        lookups.add_metric(["hit"], stats.hits)
        lookups.add_metric(["miss"], stats.misses)
        yield lookups
        yield CounterMetricFamily(
            "vitrine_promotion_predicates_compiled",
            "promotion conditions compiled",
            value=stats.compiled,
        )
        yield GaugeMetricFamily(
            "vitrine_promotion_predicate_hit_ratio",
            "hits / lookups of compiled predicates",
            value=stats.hit_rate,
        )
        yield GaugeMetricFamily(
            "vitrine_promotion_predicates_cached",
            "compiled predicates held in memory",
            value=len(self._cache),
        )
