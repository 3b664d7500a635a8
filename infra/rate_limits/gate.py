"""What the HTTP endpoints call: who is asking, which buckets they pay from, the verdict.

/graphql asks after the operation is known (its type, its root fields, its
requested cost), /events after the caller is authenticated. Each request is
charged per client IP, and per principal when there is one: a token's
subject (`sub:<sub>`) or an API key (`key:<id>`). Anonymous requests have
the IP bucket only.

A query pays `reads`: one unit, or its requested cost when the reads quota
is counted in cost (`VITRINE_RATE_LIMIT_COST_BUCKET`). A query selecting
`explainInsight` also pays `explain`, one unit per selection, so the
expensive field has its own, stricter budget and cannot be used to spend
past the reads one; so does each root `node(id:)` whose id names an Insight
(it runs the same pipeline), as told by `names_insight`, a decoder the
composition root injects (infra does not decode ids; without one, `node` pays
reads only). A mutation pays `writes`; POST /events pays `events`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import OperationType
from starlette.requests import Request

from infra.rate_limits.client_ip import TrustedProxies, peer_key
from infra.rate_limits.limiter import Decision, RateLimiter
from infra.rate_limits.operations import EXPLAIN_FIELD, NodeId
from infra.rate_limits.policies import COST, Policies, Policy

# Longer principal ids are hashed: keys stay short whatever a token's `sub` holds.
MAX_PRINCIPAL_ID = 64
# The longest `node` id whose verdict is memoised (about 1 MB of memo at most).
MEMOISED_ID_LENGTH = 256


def principal_key(kind: str, identifier: str) -> str:
    """The key of a principal: `sub:<token subject>`, `key:<api key id>`."""
    if len(identifier) > MAX_PRINCIPAL_ID:
        identifier = "h:" + hashlib.blake2b(identifier.encode(), digest_size=16).hexdigest()
    return f"{kind}:{identifier}"


class RateLimitGate:
    """Rate limits as the endpoints see them (built only when limits are on or in shadow)."""

    def __init__(
        self,
        limiter: RateLimiter,
        policies: Policies,
        proxies: TrustedProxies | None = None,
        *,
        names_insight: Callable[[str], bool] | None = None,
    ) -> None:
        self.limiter = limiter
        self._names_insight = names_insight
        # Memoised: the same few literal ids come back with every request of a document.
        # Only short ids: a client's long strings must not fill the memory with entries.
        self._names_insight_memo = (
            None if names_insight is None else functools.lru_cache(maxsize=4096)(names_insight)
        )
        self._policies = policies
        self._proxies = proxies or TrustedProxies()
        reads = (policies.reads.per_principal, policies.reads.per_ip)
        self._cost_bucket = any(limit is not None and limit.unit == COST for limit in reads)
        self._read: tuple[tuple[Policy, int], ...] = ((policies.reads, 1),)
        self._write: tuple[tuple[Policy, int], ...] = ((policies.writes, 1),)
        self._event: tuple[tuple[Policy, int], ...] = ((policies.events, 1),)

    def client(self, request: Request) -> str:
        """The client's key: the peer, or the address trusted proxies forwarded for."""
        client = request.scope.get("client")
        peer = client[0] if client else None
        if not self._proxies:
            return peer_key(peer)
        return self._proxies.client(peer, request.headers.getlist("x-forwarded-for"))

    async def graphql(
        self,
        request: Request,
        principal: str | None,
        operation: OperationType,
        root_fields: Mapping[str, int],
        *,
        cost: int | None = None,
        operation_name: str | None = None,
        node_ids: Sequence[tuple[NodeId, int]] = (),
        variables: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Charge a GraphQL operation; `root_fields` counts its root fields by name,
        `node_ids` its root `node` selections' ids (resolved with `variables`)."""
        if operation is OperationType.MUTATION:
            charges = self._write
        else:
            charges = self._read
            if self._cost_bucket and cost is not None:
                charges = ((self._policies.reads, max(cost, 1)),)
            explains = root_fields.get(EXPLAIN_FIELD, 0)
            if node_ids:
                explains += self._insight_lookups(node_ids, variables)
            if explains:
                charges = (*charges, (self._policies.explain, explains))
        buckets = self._policies.buckets(charges, self.client(request), principal)
        described = (
            operation.value if operation_name is None else f"{operation.value} {operation_name}"
        )
        return await self.limiter.check(buckets, operation=described)

    def _insight_lookups(
        self, node_ids: Sequence[tuple[NodeId, int]], variables: Mapping[str, Any] | None
    ) -> int:
        """How many of the `node` selections name an Insight."""
        names_insight, memo = self._names_insight, self._names_insight_memo
        if names_insight is None or memo is None:
            return 0
        found = 0
        for node_id, times in node_ids:
            value = node_id.literal
            if node_id.variable is not None and variables and node_id.variable in variables:
                value = variables[node_id.variable]
            if not isinstance(value, str):
                continue
            if memo(value) if len(value) <= MEMOISED_ID_LENGTH else names_insight(value):
                found += times
        return found

    async def events(self, request: Request, principal: str | None) -> Decision:
        """Charge one POST /events."""
        buckets = self._policies.buckets(self._event, self.client(request), principal)
        return await self.limiter.check(buckets, operation="POST /events")

    def throttle_status(self, decision: Decision | None) -> dict[str, Any] | None:
        """Shopify's `throttleStatus` of the cost bucket (the tighter of principal and IP),
        or None when no bucket of this request is counted in cost."""
        if not self._cost_bucket or decision is None:
            return None
        found = None
        for bucket, state in zip(decision.buckets, decision.admission.states, strict=True):
            if bucket.limit.unit == COST and (found is None or state.remaining < found[1]):
                found = (bucket.limit.quota, state.remaining)
        if found is None:
            return None
        quota, remaining = found
        return {
            "maximumAvailable": float(quota.limit),
            "currentlyAvailable": remaining,
            "restoreRate": quota.limit / quota.window,
        }
