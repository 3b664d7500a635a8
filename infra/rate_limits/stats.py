"""Counters of the rate limiter, read at scrape time (plain integers on the request path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass(slots=True)
class RateLimitStats:
    redis_checks: int = 0
    local_checks: int = 0
    redis_errors: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # by policy, enforced
    shadow_rejected: dict[str, int] = field(default_factory=dict)  # by policy, shadow mode


@dataclass(frozen=True, slots=True)
class LimiterGauges:
    """What the limiter is doing right now."""

    local_fallback: bool  # checks are per process (Redis unset, down, or its breaker open)
    local_buckets: int
    breaker_opened: int


class RateLimitCollector(Collector):
    """Prometheus view of a limiter: `vitrine_rate_limit_*`."""

    def __init__(self, stats: RateLimitStats, gauges: Callable[[], LimiterGauges]) -> None:
        self._stats = stats
        self._gauges = gauges

    def collect(self) -> Iterator[Any]:
        stats, gauges = self._stats, self._gauges()
        checks = CounterMetricFamily(
            "vitrine_rate_limit_checks", "rate-limit checks by store", labels=["store"]
        )
        checks.add_metric(["redis"], stats.redis_checks)
        checks.add_metric(["local"], stats.local_checks)
        yield checks
        for name, counts, help_text in (
            ("rejected", stats.rejected, "requests refused with 429, by policy"),
            ("shadow_rejected", stats.shadow_rejected, "requests shadow mode would refuse"),
        ):
            metric = CounterMetricFamily(f"vitrine_rate_limit_{name}", help_text, labels=["policy"])
            for policy, count in sorted(counts.items()):
                metric.add_metric([policy], count)
            yield metric
        yield CounterMetricFamily(
            "vitrine_rate_limit_redis_errors", "failed Redis checks", value=stats.redis_errors
        )
        yield CounterMetricFamily(
            "vitrine_rate_limit_breaker_opened",
            "times the Redis circuit breaker opened",
            value=gauges.breaker_opened,
        )
        yield GaugeMetricFamily(
            "vitrine_rate_limit_local_fallback",
            "1 while limits are counted per process",
            value=float(gauges.local_fallback),
        )
        yield GaugeMetricFamily(
            "vitrine_rate_limit_local_buckets",
            "buckets held by this process",
            value=float(gauges.local_buckets),
        )
