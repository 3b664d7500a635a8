"""Whether this gateway should get traffic: the pure decision behind `/readyz`.

A gateway is ready when it can answer correctly, not merely when it is alive
(`/healthz`): its database answers, its schema is the one this code was
written for (a replica started ahead of `vitrine db migrate` would fail on
missing tables), and its read models are not so far behind the log that its
answers would mislead. Redis only speeds things up (every use of it has a
fallback), so it is reported for the operator but never takes a gateway out
of rotation: one Redis outage must not empty the whole load balancer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Check = dict[str, Any]

# The checks a ready gateway must pass; any other check is informational.
REQUIRED = ("database", "migrations", "projectors")

DATABASE_FAILED = "unreachable or too slow"
REVISION_UNREADABLE = "revision unreadable"
REDIS_NOT_CONFIGURED = "not configured"
REDIS_UNREACHABLE = "unreachable or too slow"


def database_check(reachable: bool) -> Check:
    return {"ok": True} if reachable else {"ok": False, "detail": DATABASE_FAILED}


def migrations_check(current: str | None, head: str | None) -> Check:
    """Current only when the database's revision is exactly this code's head: a newer
    revision (code rolled back) is as wrong for this code as an older one."""
    return {"ok": current is not None and current == head, "current": current, "head": head}


def migrations_unreadable(head: str | None) -> Check:
    return {"ok": False, "current": None, "head": head, "detail": REVISION_UNREADABLE}


def projectors_check(position: int, head: int, max_lag_events: int) -> Check:
    """Lag in events (the log's head minus the slowest watched projection), which
    unlike a duration stays meaningful while nothing is being written."""
    lag = max(head - position, 0)
    return {"ok": lag <= max_lag_events, "lagEvents": lag}


def redis_check(configured: bool, reachable: bool) -> Check:
    if not configured:
        return {"ok": None, "detail": REDIS_NOT_CONFIGURED}
    return {"ok": True} if reachable else {"ok": False, "detail": REDIS_UNREACHABLE}


def decide(checks: Mapping[str, Check]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of `/readyz`: 200 when every required check passed
    (a missing one counts as failed), 503 otherwise; every check is shown either way."""
    ready = all(checks.get(name, {}).get("ok") is True for name in REQUIRED)
    body = {"status": "ready" if ready else "not_ready", "checks": dict(checks)}
    return (200 if ready else 503), body
