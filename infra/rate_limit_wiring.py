"""Composition of the rate limits: policies, stores and metrics from the settings.

`VITRINE_RATE_LIMITS=off` builds nothing (the endpoints skip the check
entirely). Otherwise the buckets live in Redis when `VITRINE_REDIS_URL` is
set (a client of its own, with the small timeouts of the check and no
retries: the breaker decides), and in this process when it is not or while
Redis does not answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from infra.rate_limits.client_ip import TrustedProxies, parse_networks
from infra.rate_limits.gate import RateLimitGate
from infra.rate_limits.limiter import RateLimiter
from infra.rate_limits.local_limiter import LocalLimiter
from infra.rate_limits.policies import (
    COST,
    EVENTS,
    EXPLAIN,
    READS,
    REQUESTS,
    WRITES,
    Policies,
    policy,
)
from infra.rate_limits.redis_limiter import RedisLimiter
from infra.rate_limits.stats import RateLimitCollector
from infra.settings import Settings

log = logging.getLogger("vitrine.rate_limits")


@dataclass
class RateLimiting:
    """The gateway's rate limits; `close` in the lifespan."""

    gate: RateLimitGate
    redis: Redis | None = None

    async def start(self) -> None:
        await self.gate.limiter.start()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def policies_from(settings: Settings) -> Policies:
    reads_unit = COST if settings.rate_limit_cost_bucket else REQUESTS
    return Policies(
        reads=policy(
            READS, settings.rate_limit_reads, settings.rate_limit_reads_per_ip, unit=reads_unit
        ),
        writes=policy(WRITES, settings.rate_limit_writes, settings.rate_limit_writes_per_ip),
        explain=policy(EXPLAIN, settings.rate_limit_explain, settings.rate_limit_explain_per_ip),
        events=policy(EVENTS, settings.rate_limit_events, settings.rate_limit_events_per_ip),
    )


def rate_limiting(
    settings: Settings,
    registry: CollectorRegistry,
    *,
    names_insight: Callable[[str], bool] | None = None,
) -> RateLimiting | None:
    """The rate limits of one gateway process, their metrics registered on `registry`;
    `names_insight` tells whether a `node(id:)` id is an Insight's (charged `explain`)."""
    if settings.rate_limits == "off":
        return None
    timeout = settings.rate_limit_redis_timeout_ms / 1000
    redis = None
    if settings.redis_url:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
    else:
        log.info("rate limits are counted per process: VITRINE_REDIS_URL is not set")
    limiter = RateLimiter(
        mode=settings.rate_limits,
        local=LocalLimiter(),
        redis=None if redis is None else RedisLimiter(redis),
        timeout=timeout,
    )
    registry.register(RateLimitCollector(limiter.stats, limiter.gauges))
    proxies = TrustedProxies(parse_networks(settings.trusted_proxies))
    gate = RateLimitGate(limiter, policies_from(settings), proxies, names_insight=names_insight)
    return RateLimiting(gate, redis)
