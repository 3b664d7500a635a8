"""The RateLimit-Policy and RateLimit header fields (draft-ietf-httpapi-ratelimit-headers).

Both are Structured Field lists with one item per bucket the request was
charged from, named like the policy (`"reads"` per principal, `"reads-ip"`
per client IP):

    RateLimit-Policy: "reads";q=1200;w=60, "reads-ip";q=6000;w=60
    RateLimit: "reads";r=1199;t=1, "reads-ip";r=5999;t=1

`q` is the quota per window `w` (seconds), `r` what is left now, `t` the
seconds until the bucket is full again (rounded up: a client that waits `t`
has its whole quota back). Quotas counted in query cost rather than requests
say so with `vitrine-unit="cost"` (the draft's `qu` only takes registered
units, and cost is not one).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from infra.rate_limits.gcra import MICROSECONDS, BucketState
from infra.rate_limits.policies import COST, Bucket, Limit

POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"
RETRY_AFTER_HEADER = "Retry-After"


@lru_cache(maxsize=64)
def policy_item(limit: Limit) -> str:
    item = f'"{limit.name}";q={limit.quota.limit};w={limit.quota.window}'
    return item + ';vitrine-unit="cost"' if limit.unit == COST else item


def state_item(limit: Limit, state: BucketState) -> str:
    return f'"{limit.name}";r={state.remaining};t={-(-state.reset // MICROSECONDS)}'


def rate_limit_headers(buckets: Sequence[Bucket], states: Sequence[BucketState]) -> dict[str, str]:
    """Both fields for a request charged from `buckets`, left in `states`."""
    return {
        POLICY_HEADER: ", ".join(policy_item(b.limit) for b in buckets),
        STATE_HEADER: ", ".join(
            state_item(b.limit, s) for b, s in zip(buckets, states, strict=True)
        ),
    }
