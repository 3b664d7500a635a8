"""What the /graphql endpoint asks of the response cache, in the order it asks.

1. `plan`: the operation's policy (computed once per prepared document) and,
   when cacheable, its key (document, operation, variables, the viewer's
   vary part, read-model generations).
2. `lookup`: a servable entry, honouring `Vitrine-Min-Position`.
3. `stamp`, before executing: the position every projection has reached.
   Reads made afterwards see at least that much, so it is a lower bound on
   what the answer reflects; invalidations above it refuse the answer.
4. `remember`, after executing without errors: the entry, stored under the
   tags the request collected.
5. `headers`: Cache-Control, ETag and surrogate keys for the HTTP response.

The stale-while-revalidate window equals the max-age: an entry may be
served up to twice its max-age after it was computed (never after an
invalidation), and refreshed in the background on the first such hit.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import DocumentNode

from infra.http_caching import (
    NO_STORE,
    etag_matches,
    private_cache_control,
    public_cache_control,
    tag_headers,
)
from infra.response_cache.cache import Lookup, ResponseCache
from infra.response_cache.entry import CachedResponse
from infra.response_cache.keys import ANONYMOUS_PUBLIC, Fingerprints, Vary, cache_key, vary_for
from infra.response_cache.policy import NOT_CACHEABLE, CachePolicy, PolicyCache, Scope

CACHE_STATUS_HEADER = "vitrine-cache"


@dataclass(frozen=True, slots=True)
class Plan:
    """How one request may use the cache; `key` is None when it must not."""

    policy: CachePolicy
    key: str | None = None
    vary: Vary = ANONYMOUS_PUBLIC


UNCACHED = Plan(NOT_CACHEABLE)


def viewer_vary_parts(viewer: Any) -> tuple[str | None, tuple[str, ...]]:
    """The viewer's identity and price segments (attributes `cache_identity`, else `id`,
    and `segments`, if any). The identity covers everything a PRIVATE answer may
    depend on besides segments (roles, a creator id): two tokens of one customer
    with different roles must not share an entry."""
    if viewer is None:
        return None, ()
    viewer_id = getattr(viewer, "cache_identity", None) or getattr(viewer, "id", None)
    return (None if viewer_id is None else str(viewer_id)), tuple(getattr(viewer, "segments", ()))


class ResponseCacheFront:
    def __init__(
        self,
        cache: ResponseCache | None,
        policies: PolicyCache,
        *,
        generations: Callable[[], Mapping[str, int]],
        position: Callable[[], int],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.policies = policies
        self._fingerprints = Fingerprints()
        self._generations = generations
        self._position = position
        self._wall = wall

    def plan(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        *,
        viewer: Any = None,
        policy: CachePolicy | None = None,
    ) -> Plan:
        """`policy`: the operation's, when already known (a compiled plan carries it)."""
        if policy is None:
            policy = self.policies.policy(document, operation_name)
        if not policy.cacheable:
            if self.cache is not None:
                self.cache.stats.uncacheable += 1
            return Plan(policy)
        viewer_id, segments = viewer_vary_parts(viewer)
        vary = vary_for(policy.scope, viewer_id, segments)
        if self.cache is None:
            return Plan(policy, None, vary)
        key = cache_key(
            self._fingerprints.of(document), operation_name, variables, vary, self._generations()
        )
        return Plan(policy, key, vary)

    async def lookup(self, plan: Plan, *, min_position: int | None = None) -> Lookup | None:
        if self.cache is None or plan.key is None:
            return None
        return await self.cache.get(plan.key, min_stamp=min_position or 0)

    def stamp(self) -> int:
        return self._position()

    def entry(
        self,
        plan: Plan,
        stamp: int,
        data: bytes,
        tags: Iterable[str],
        *,
        fresh_until: datetime | None = None,
        actual_cost: int | None = None,
    ) -> CachedResponse:
        """The entry of a successful answer (not stored). `fresh_until`: the moment the
        answer changes by the clock alone (a promotion window opening or closing):
        the entry is fresh no longer than that, and never served stale past it.
        `actual_cost`: the answer's, reported again by every hit."""
        policy = plan.policy
        max_age, stale_for = policy.max_age, policy.max_age
        now = self._wall()
        if fresh_until is not None:
            left = int(fresh_until.timestamp() - now)
            if left < max_age + stale_for:
                max_age, stale_for = max(min(max_age, left), 0), 0
        return CachedResponse.build(
            data,
            frozenset(tags),
            stamp=stamp,
            created_at=now,
            max_age=max_age,
            stale_for=stale_for,
            scope=policy.scope,
            actual_cost=actual_cost,
        )

    def remember(
        self,
        plan: Plan,
        stamp: int,
        data: bytes,
        tags: Iterable[str],
        *,
        fresh_until: datetime | None = None,
        actual_cost: int | None = None,
    ) -> CachedResponse | None:
        """The entry of a successful, cacheable answer, stored when the plan has a key
        and it has a moment of freshness left."""
        if not plan.policy.cacheable:
            return None
        entry = self.entry(
            plan, stamp, data, tags, fresh_until=fresh_until, actual_cost=actual_cost
        )
        if self.cache is not None and plan.key is not None and entry.max_age > 0:
            self.cache.put(plan.key, entry)
        return entry

    def refresh(self, plan: Plan, compute: Callable[[], Awaitable[CachedResponse | None]]) -> None:
        if self.cache is not None and plan.key is not None:
            self.cache.refresh(plan.key, compute)

    def headers(
        self,
        plan: Plan,
        entry: CachedResponse | None,
        *,
        http_cacheable: bool,
        status: str,
    ) -> dict[str, str]:
        """Caching headers of a response. `http_cacheable`: a GET of a persisted query;
        `entry`: the answer's entry (None when it had errors)."""
        headers = {CACHE_STATUS_HEADER: status}
        if entry is None or not http_cacheable or not plan.policy.cacheable:
            headers["cache-control"] = NO_STORE
            return headers
        max_age = entry.max_age
        shared = plan.policy.scope is Scope.PUBLIC and not plan.vary.segments
        tags = tag_headers(entry.tags) if shared else None
        if tags is not None:
            headers["cache-control"] = public_cache_control(max_age, entry.stale_for)
            headers.update(tags)
        else:
            headers["cache-control"] = private_cache_control(max_age)
        headers["etag"] = entry.etag
        # The media type follows Accept (GraphQL over HTTP), and the answer follows the
        # viewer the Authorization header names (their segments, or theirs alone): a
        # browser or CDN must keep one per Accept and per Authorization, or it would
        # hand the anonymous price to a segment member, or one user's answer to the next.
        headers["vary"] = "Accept, Authorization"
        age = int(entry.age(self._wall()))
        if age > 0:
            headers["age"] = str(age)
        return headers

    @staticmethod
    def not_modified(if_none_match: str | None, entry: CachedResponse | None) -> bool:
        return entry is not None and etag_matches(if_none_match, entry.etag)


def cache_status(lookup: Lookup | None, plan: Plan) -> str:
    """The `Vitrine-Cache` header: HIT-L1, HIT-L2, STALE-L1, STALE-L2, MISS or PASS."""
    if lookup is not None:
        return ("STALE-" if lookup.stale else "HIT-") + lookup.level
    return "MISS" if plan.key is not None else "PASS"
