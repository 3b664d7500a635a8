"""What is limited, and how much: policies parsed once, at start-up.

Four kinds of request have a policy each: `reads` (query operations),
`writes` (mutations), `explain` (the expensive `explainInsight` root field and
`node(id)` of an Insight, on top of `reads`) and `events` (POST /events). A
policy has a quota per principal (the token's subject, or the API key) and one
per client IP; either may be off. Quotas are written the way the `limits` library parses
them ("600/minute", "10 per 2 seconds") or "off".

A bucket's arithmetic is in whole microseconds (`gcra`), so that Python and
the Redis script agree exactly: a unit's interval is the window divided by
the limit, rounded up, and a bucket holds `limit` intervals, so a full
bucket admits exactly `limit` units at once, never one fewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import limits

MICROSECONDS = 1_000_000
OFF = "off"
READS, WRITES, EXPLAIN, EVENTS = "reads", "writes", "explain", "events"
REQUESTS, COST = "requests", "cost"
# Redis keys share one hash tag: a script may only touch keys of one Cluster slot.
KEY_PREFIX = "{vitrine:rl}:"
# `limits` reads "5 per 0 seconds" as one second; a zero window is a typo, not a policy.
_ZERO_WINDOW = re.compile(r"(?:/|\bper\b)\s*0+\s*[a-z]", re.IGNORECASE)


class QuotaError(ValueError):
    """A quota that does not parse; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class Quota:
    """`limit` units per `window` seconds, `limit` at once from a full bucket."""

    limit: int
    window: int
    interval: int  # microseconds of the bucket one unit takes
    capacity: int  # microseconds the bucket holds: limit * interval

    @classmethod
    def of(cls, limit: int, window: int) -> Quota:
        if limit < 1 or window < 1:
            raise QuotaError("a quota needs at least one unit per window of at least a second")
        interval = -(-window * MICROSECONDS // limit)
        return cls(limit, window, interval, limit * interval)

    def charge(self, quantity: int) -> int:
        """The microseconds `quantity` units take; more than the bucket holds costs all of it
        (so a request bigger than the quota waits for a full bucket rather than forever)."""
        return min(max(quantity, 0), self.limit) * self.interval


def parse_quota(text: str) -> Quota | None:
    """A quota from "600/minute", "10 per 2 seconds"...; None for "off"."""
    cleaned = text.strip()
    if cleaned.lower() == OFF:
        return None
    if ";" in cleaned or "," in cleaned:
        raise QuotaError("one quota per setting, like 600/minute (or off)")
    if _ZERO_WINDOW.search(cleaned):
        raise QuotaError("the window must be at least one second")
    try:
        item = limits.parse(cleaned)
    except ValueError:
        raise QuotaError(
            "expected <count>/<period> like 600/minute or 10 per 2 seconds, or off"
        ) from None
    if item.amount < 1:
        raise QuotaError("the count must be at least 1 (or turn the quota off)")
    return Quota.of(item.amount, int(item.get_expiry()))


@dataclass(frozen=True, slots=True)
class Limit:
    """One policy in one scope, per principal or per client IP.

    `name` is what clients see in the RateLimit headers and in a rejection
    ("reads" per principal, "reads-ip" per IP); `unit` is "requests", or
    "cost" when each query is charged its requested cost.
    """

    name: str
    quota: Quota
    unit: str = REQUESTS
    key_prefix: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_prefix", f"{KEY_PREFIX}{self.name}:")


@dataclass(frozen=True, slots=True)
class Policy:
    """A kind of request and its limits; a None limit is not applied."""

    name: str
    per_principal: Limit | None
    per_ip: Limit | None


def policy(name: str, per_principal: str, per_ip: str, *, unit: str = REQUESTS) -> Policy:
    """A policy from its two quota strings (QuotaError when one does not parse)."""
    principal_quota, ip_quota = parse_quota(per_principal), parse_quota(per_ip)
    return Policy(
        name,
        None if principal_quota is None else Limit(name, principal_quota, unit),
        None if ip_quota is None else Limit(f"{name}-ip", ip_quota, unit),
    )


@dataclass(frozen=True, slots=True)
class Bucket:
    """What one request takes from one limit: `quantity` units from the bucket at `key`."""

    limit: Limit
    key: str
    quantity: int

    @property
    def charge(self) -> int:
        return self.limit.quota.charge(self.quantity)


@dataclass(frozen=True, slots=True)
class Policies:
    """The four policies of a gateway."""

    reads: Policy
    writes: Policy
    explain: Policy
    events: Policy

    def buckets(
        self, charges: tuple[tuple[Policy, int], ...], ip: str, principal: str | None
    ) -> tuple[Bucket, ...]:
        """The buckets a request is charged from: each policy's per-principal limit (when
        there is a principal) and per-IP limit, with the policy's quantity."""
        found: list[Bucket] = []
        for charged, quantity in charges:
            limit = charged.per_principal
            if principal is not None and limit is not None:
                found.append(Bucket(limit, limit.key_prefix + principal, quantity))
            limit = charged.per_ip
            if limit is not None:
                found.append(Bucket(limit, limit.key_prefix + ip, quantity))
        return tuple(found)
