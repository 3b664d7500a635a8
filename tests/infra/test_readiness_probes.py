"""The /readyz probes against real PostgreSQL and Redis, and against closed ports."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Route

from infra.readiness_probes import ReadinessProbes
from infra.readpool import ReadPool
from readmodels.migrate import head_revision
from readmodels.projector.watcher import CheckpointWatcher
from tests.e2e.server import free_port


async def test_an_unreachable_database_fails_database_and_migrations_with_fixed_texts() -> None:
    """A closed PostgreSQL port answers 503 naming the database and the unreadable revision."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    reads = ReadPool(url)
    probes = ReadinessProbes(
        reads, _idle_watcher(), head_revision="0007", max_lag_events=0, redis_url=None
    )
    app = Starlette(routes=[Route("/readyz", probes.endpoint)])
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://vitrine"
        ) as client:
            response = await client.get("/readyz")
    finally:
        await probes.close()
        await reads.close()
    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "status": "not_ready",
        "checks": {
            "database": {"ok": False, "detail": "unreachable or too slow"},
            "migrations": {
                "ok": False,
                "current": None,
                "head": "0007",
                "detail": "revision unreadable",
            },
            "projectors": {"ok": True, "lagEvents": 0},
            "redis": {"ok": None, "detail": "not configured"},
        },
    }


async def test_a_watcher_behind_the_log_fails_the_projectors_check(
    database_url: str, engine: AsyncEngine, redis_url: str
) -> None:
    """A head 11 events past the projections with a threshold of 10 is not ready."""
    watcher = _idle_watcher(engine)
    watcher.observe_head(11)
    reads = ReadPool(database_url)
    probes = ReadinessProbes(
        reads, watcher, head_revision=head_revision(), max_lag_events=10, redis_url=redis_url
    )
    try:
        checks = await probes.checks()
    finally:
        await probes.close()
        await reads.close()
    assert checks == {
        "database": {"ok": True},
        "migrations": {"ok": True, "current": head_revision(), "head": head_revision()},
        "projectors": {"ok": False, "lagEvents": 11},
        "redis": {"ok": True},
    }


def _idle_watcher(engine: AsyncEngine | None = None) -> CheckpointWatcher:
    """A real watcher, never started: it holds positions 0 until told otherwise."""
    return CheckpointWatcher(engine, None, ["catalog"])  # type: ignore[arg-type]
