"""The rate limiter: Redis while it answers, this process when it does not.

Every check goes to Redis first (one script call, bounded by `timeout`),
through a circuit breaker: after a few failures the breaker opens and checks
go straight to the local buckets for a while, so a dead Redis costs a
request nothing, not even a timeout. The switch is logged once each way,
never per request. A check never fails a request: the worst case is that
limits are counted per process for a while.

`mode` is "on" (a rejection is a 429, and the RateLimit headers are sent)
or "shadow" (buckets are charged and checked the same way, but nothing is
refused and no header is sent: a would-be rejection is logged and counted,
to size policies against real traffic before enforcing them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from infra.rate_limits.gcra import Admission
from infra.rate_limits.headers import RETRY_AFTER_HEADER, rate_limit_headers
from infra.rate_limits.local_limiter import LocalLimiter
from infra.rate_limits.policies import Bucket
from infra.rate_limits.redis_limiter import LimiterReplyError, RedisLimiter
from infra.rate_limits.stats import LimiterGauges, RateLimitStats
from infra.response_cache.breaker import BreakerState, CircuitBreaker

log = logging.getLogger("vitrine.rate_limits")

ON, SHADOW, OFF = "on", "shadow", "off"
RATE_LIMITED = "RATE_LIMITED"
# The admission of a request that no bucket counts.
NOTHING_CHARGED = Admission(True, ())


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one check: refuse or not, and what the client is told."""

    buckets: tuple[Bucket, ...]
    admission: Admission
    enforced: bool

    @property
    def rejected(self) -> bool:
        return self.enforced and not self.admission.allowed

    @property
    def violated(self) -> Bucket:
        """The bucket that keeps the request waiting longest."""
        states = self.admission.states
        index = max(range(len(states)), key=lambda i: states[i].retry)
        return self.buckets[index]

    def headers(self) -> dict[str, str]:
        """RateLimit-Policy and RateLimit when enforcing, plus Retry-After on a rejection."""
        if not self.enforced or not self.buckets:
            return {}
        headers = rate_limit_headers(self.buckets, self.admission.states)
        if not self.admission.allowed:
            headers[RETRY_AFTER_HEADER] = str(self.admission.retry_after)
        return headers

    def rejection(self) -> dict[str, Any]:
        """The GraphQL error of a refused request (`extensions.code` RATE_LIMITED)."""
        policy, retry_after = self.violated.limit.name, self.admission.retry_after
        message = f"rate limit exceeded ({policy}): retry in {retry_after} s"
        extensions = {"code": RATE_LIMITED, "retryAfter": retry_after, "policy": policy}
        return {"message": message, "extensions": extensions}


class RateLimiter:
    """Checks requests against their buckets; see the module docstring for the modes."""

    def __init__(
        self,
        *,
        mode: str = ON,
        local: LocalLimiter | None = None,
        redis: RedisLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        timeout: float = 0.05,
    ) -> None:
        if mode not in (ON, SHADOW):
            raise ValueError(f"mode must be {ON!r} or {SHADOW!r}, not {mode!r}")
        self._enforced = mode == ON
        self._local = local or LocalLimiter()
        self._redis = redis
        self.breaker = breaker or CircuitBreaker()
        self._timeout = timeout
        self._shared = redis is not None
        self.stats = RateLimitStats()

    async def start(self) -> None:
        """Warm the Redis store up (at start-up; a failure here is the first check's to see)."""
        if self._redis is not None:
            with contextlib.suppress(OSError, TimeoutError, RedisError):
                async with asyncio.timeout(max(self._timeout, 1.0)):
                    await self._redis.warm()

    async def check(self, buckets: tuple[Bucket, ...], *, operation: str) -> Decision:
        """Charge `buckets` if every one admits the request; `operation` is for the log.

        No buckets (every quota of the request's policies is off) is an admission at
        once: nothing to count, so no Redis call (an empty script call is an error, and
        it would open the breaker for every policy) and no header."""
        if not buckets:
            return Decision(buckets, NOTHING_CHARGED, self._enforced)
        admission = await self._acquire(buckets)
        decision = Decision(buckets, admission, self._enforced)
        if not admission.allowed:
            name = decision.violated.limit.name
            if self._enforced:
                self.stats.rejected[name] = self.stats.rejected.get(name, 0) + 1
            else:
                counts = self.stats.shadow_rejected
                counts[name] = counts.get(name, 0) + 1
                key = decision.violated.key
                log.warning(
                    "rate limit would reject (shadow mode): policy=%s key=%s operation=%s "
                    "retry_after=%d",
                    name,
                    key,
                    operation,
                    admission.retry_after,
                    extra={"policy": name, "key": key, "operation": operation},
                )
        return decision

    def gauges(self) -> LimiterGauges:
        return LimiterGauges(
            local_fallback=not self._shared or self.breaker.state is not BreakerState.CLOSED,
            local_buckets=len(self._local),
            breaker_opened=self.breaker.opened,
        )

    async def _acquire(self, buckets: Sequence[Bucket]) -> Admission:
        redis = self._redis
        if redis is not None and self.breaker.allow():
            try:
                async with asyncio.timeout(self._timeout):
                    admission = await redis.acquire(buckets)
            except (OSError, TimeoutError, RedisError, LimiterReplyError) as exc:
                self.stats.redis_errors += 1
                self.breaker.failure()
                if self._shared:
                    self._shared = False
                    log.warning(
                        "Redis did not answer a rate-limit check (%r): limits are counted "
                        "per process until it does",
                        exc,
                    )
            else:
                self.breaker.success()
                self.stats.redis_checks += 1
                if not self._shared:
                    self._shared = True
                    log.warning("Redis answers again: rate limits are shared again")
                return admission
        self.stats.local_checks += 1
        return self._local.acquire(buckets)
