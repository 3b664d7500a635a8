"""The I/O behind `/readyz`: probing the database, the schema revision and Redis.

Every probe is bounded by a short timeout and runs concurrently with the others,
so an answer comes within about that timeout whatever is down: an orchestrator's
probe that itself times out tells the operator nothing. Any exception is that
check failing with a fixed message (the details go to the log, never to the
caller), so `/readyz` never answers 500.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.requests import Request
from starlette.responses import Response

from infra.readiness import (
    Check,
    database_check,
    decide,
    migrations_check,
    migrations_unreadable,
    projectors_check,
    redis_check,
)
from infra.readpool import ReadPool

log = logging.getLogger("vitrine.readiness")

PROBE_TIMEOUT_S = 1.0


class Progress(Protocol):
    """What the readiness check needs of the checkpoint watcher (already kept in memory)."""

    @property
    def position(self) -> int: ...

    @property
    def head(self) -> int: ...


class ReadinessProbes:
    """Runs the checks of one `/readyz` request; holds its own small Redis client so
    that the cache's circuit breaker neither hides nor is tripped by a probe."""

    def __init__(
        self,
        reads: ReadPool,
        progress: Progress,
        *,
        head_revision: str | None,
        max_lag_events: int,
        redis_url: str | None,
        timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        self._reads = reads
        self._progress = progress
        self._head_revision = head_revision
        self._max_lag_events = max_lag_events
        self._timeout = timeout
        self._redis = (
            None
            if redis_url is None
            else Redis.from_url(
                redis_url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
            )
        )

    async def checks(self) -> dict[str, Check]:
        (database, migrations), redis = await asyncio.gather(self._database(), self._redis_ok())
        return {
            "database": database,
            "migrations": migrations,
            "projectors": projectors_check(
                self._progress.position, self._progress.head, self._max_lag_events
            ),
            "redis": redis,
        }

    async def _database(self) -> tuple[Check, Check]:
        try:
            async with asyncio.timeout(self._timeout):
                await self._reads.fetch("SELECT 1")
        except Exception:
            log.warning("readiness: database probe failed", exc_info=True)
            return database_check(False), migrations_unreadable(self._head_revision)
        try:
            async with asyncio.timeout(self._timeout):
                rows = await self._reads.fetch("SELECT version_num FROM alembic_version")
        except Exception:
            log.warning("readiness: reading the schema revision failed", exc_info=True)
            return database_check(True), migrations_unreadable(self._head_revision)
        current = str(rows[0]["version_num"]) if len(rows) == 1 else None
        return database_check(True), migrations_check(current, self._head_revision)

    async def _redis_ok(self) -> Check:
        if self._redis is None:
            return redis_check(configured=False, reachable=False)
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except Exception:
            log.warning("readiness: Redis probe failed", exc_info=True)
            return redis_check(configured=True, reachable=False)
        return redis_check(configured=True, reachable=True)

    async def endpoint(self, request: Request) -> Response:
        """`GET /readyz`: 200 ready or 503 not_ready, never cached anywhere."""
        try:
            status, body = decide(await self.checks())
        except Exception:  # a bug here must still read as "not ready", not as a 500
            log.exception("readiness: the checks themselves failed")
            status, body = 503, {"status": "not_ready", "checks": {}}
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
