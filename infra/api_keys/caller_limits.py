"""Rate limits of the API-key endpoints (/events, /admin): the client IP pays first.

Looking a key up costs a query on the primary database, and an unknown key
is only known to be unknown after that query: a client sending random keys of
the right shape would cost one primary query per request, unbounded. So the
client IP is charged before the `Authorization` header is even read (`by_ip`),
and the key's own quota once the key is known (`by_key`), still before a byte
of the body is read. A request refused per key has paid its IP charge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from infra.rate_limits.gate import principal_key
from infra.rate_limits.gcra import Admission
from infra.rate_limits.limiter import Decision, RateLimiter
from infra.rate_limits.policies import Bucket, Policy

Handler = Callable[[Request], Awaitable[Response]]


class CallerLimits:
    """One endpoint's `policy`, checked through `limiter`; `client` names the client IP."""

    def __init__(
        self,
        limiter: RateLimiter,
        policy: Policy,
        client: Callable[[Request], str],
        *,
        operation: str,
    ) -> None:
        self._limiter = limiter
        self._policy = policy
        self._client = client
        self._operation = operation

    async def by_ip(self, request: Request) -> Decision | None:
        """Charge the client IP (None when the policy has no per-IP quota)."""
        limit = self._policy.per_ip
        if limit is None:
            return None
        bucket = Bucket(limit, limit.key_prefix + self._client(request), 1)
        return await self._limiter.check((bucket,), operation=self._operation)

    async def by_key(self, key_id: str) -> Decision | None:
        """Charge the API key (None when the policy has no per-principal quota)."""
        limit = self._policy.per_principal
        if limit is None:
            return None
        bucket = Bucket(limit, limit.key_prefix + principal_key("key", key_id), 1)
        return await self._limiter.check((bucket,), operation=self._operation)


def combined(*decisions: Decision | None) -> Decision | None:
    """Several checks of one request as one decision (their buckets in this order), so
    that the RateLimit headers list every bucket the request was charged from."""
    present = [decision for decision in decisions if decision is not None]
    if len(present) < 2:
        return present[0] if present else None
    admission = Admission(
        all(decision.admission.allowed for decision in present),
        tuple(state for decision in present for state in decision.admission.states),
    )
    buckets = tuple(bucket for decision in present for bucket in decision.buckets)
    return Decision(buckets, admission, present[0].enforced)


def too_many_requests(decision: Decision) -> Response:
    """The 429 RATE_LIMITED answer, with its RateLimit headers and Retry-After."""
    body = orjson.dumps({"errors": [decision.rejection()]})
    return Response(body, 429, decision.headers(), media_type="application/json")


def with_headers(response: Response, decision: Decision | None) -> Response:
    if decision is not None:
        response.headers.update(decision.headers())
    return response


def ip_limited(handler: Handler, limits: CallerLimits) -> Handler:
    """`handler`, after the client IP has paid (429 without calling it past the quota)."""

    async def limited(request: Request) -> Response:
        decision = await limits.by_ip(request)
        if decision is not None and decision.rejected:
            return too_many_requests(decision)
        return with_headers(await handler(request), decision)

    return limited
