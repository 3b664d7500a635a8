"""/healthz and /readyz over real HTTP against a real server and real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from infra.database import asyncpg_dsn
from readmodels.migrate import head_revision
from tests.e2e.cache_support import wait_for
from tests.e2e.events import mug_store
from tests.e2e.server import Server, free_port, running_server

pytestmark = pytest.mark.e2e

HEAD = head_revision()
NO_REDIS = {"ok": None, "detail": "not configured"}


def ready_body(redis: dict[str, Any] = NO_REDIS) -> dict[str, Any]:
    return {
        "status": "ready",
        "checks": {
            "database": {"ok": True},
            "migrations": {"ok": True, "current": HEAD, "head": HEAD},
            "projectors": {"ok": True, "lagEvents": 0},
            "redis": redis,
        },
    }


def readyz(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=10)


def test_healthz_answers_ok_while_the_process_runs(database_url: str, tmp_path: Path) -> None:
    """/healthz is liveness only: 200 {"status": "ok"}."""
    with running_server(database_url, tmp_path) as server:
        response = httpx.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_migrated_caught_up_gateway_without_redis_is_ready(
    database_url: str, tmp_path: Path
) -> None:
    """Migrated, nothing to project and no Redis configured: 200 ready, never cached."""
    with running_server(database_url, tmp_path) as server:
        response = readyz(server)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == ready_body()


def test_an_older_schema_revision_makes_the_gateway_not_ready(
    database_url: str, tmp_path: Path
) -> None:
    """The version table set back one revision: 503 naming current and head; ready again after."""
    with running_server(database_url, tmp_path) as server:
        set_revision(database_url, "0006")
        try:
            response = readyz(server)
        finally:
            set_revision(database_url, HEAD)
        restored = readyz(server)
    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
    body = ready_body()
    body["status"] = "not_ready"
    body["checks"]["migrations"] = {"ok": False, "current": "0006", "head": HEAD}
    assert response.json() == body
    assert restored.status_code == 200
    assert restored.json() == ready_body()


def test_read_models_behind_the_log_past_the_threshold_are_not_ready(
    database_url: str, tmp_path: Path
) -> None:
    """Projectors off and three events appended with a threshold of 2: 503 with lagEvents 3."""
    with running_server(
        database_url, tmp_path, run_projectors="false", ready_max_lag_events="2"
    ) as server:
        assert readyz(server).json() == ready_body()
        appended = server.post_events(orjson.dumps(mug_store()))
        assert appended.status_code == 202
        wait_for(lambda: readyz(server).status_code == 503, within=10, what="the lag shows")
        response = readyz(server)
    body = ready_body()
    body["status"] = "not_ready"
    body["checks"]["projectors"] = {"ok": False, "lagEvents": 3}
    assert response.status_code == 503
    assert response.json() == body


def test_a_reachable_redis_is_reported_ok(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """With VITRINE_REDIS_URL answering PING, redis reads ok: true."""
    with running_server(database_url, tmp_path, redis_url=redis_url) as server:
        response = readyz(server)
    assert response.status_code == 200
    assert response.json() == ready_body({"ok": True})


def test_an_unreachable_redis_is_reported_but_the_gateway_stays_ready(
    database_url: str, tmp_path: Path
) -> None:
    """Redis on a closed port: redis reads ok: false, and the answer is still 200 ready."""
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with running_server(database_url, tmp_path, redis_url=closed) as server:
        response = readyz(server)
    assert response.status_code == 200
    assert response.json() == ready_body({"ok": False, "detail": "unreachable or too slow"})


def set_revision(database_url: str, revision: str | None) -> None:
    """Rewrite the database's Alembic revision, as a half-finished deploy would leave it."""

    async def run() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await connection.execute("UPDATE alembic_version SET version_num = $1", revision)
        finally:
            await connection.close()

    asyncio.run(run())
