"""Structured logs of a real server: one JSON access line per request, and the request's
id on every line it causes (infra/logging_setup.py, infra/access_log.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from infra.database import asyncpg_dsn
from tests.e2e.server import running_server

pytestmark = pytest.mark.e2e

SECRET = "e2e-logs-secret-of-32-bytes-at-the-least"
PRODUCT = 'query ProductPage { product(slug: "mug") { title } }'


def log_lines(data_dir: Path, port: int) -> list[dict[str, Any]]:
    """The server's JSON log lines (anything else in the file fails the test)."""
    text = (data_dir / f"server-{port}.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line]


def wait_for_access(data_dir: Path, port: int, count: int) -> list[dict[str, Any]]:
    """The server's lines once `count` access lines are in (the line follows the answer)."""
    deadline = time.monotonic() + 10
    while True:
        found = log_lines(data_dir, port)
        if sum(line["logger"] == "vitrine.access" for line in found) >= count:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.02)


async def test_one_access_line_and_the_error_under_the_same_id(world: str, tmp_path: Path) -> None:
    """A /graphql request whose resolver fails yields exactly one JSON access line (status 200,
    the operation, the response's X-Request-Id) and an error line with the same request id."""
    with running_server(
        world, tmp_path, access_log="true", mode="production", jwt_secret=SECRET
    ) as server:
        port = int(server.url.rsplit(":", 1)[1])
        admin = await asyncpg.connect(asyncpg_dsn(world))
        try:
            await admin.execute("ALTER TABLE products RENAME COLUMN title TO title_gone")
            try:
                response = server.graphql(PRODUCT)
            finally:
                await admin.execute("ALTER TABLE products RENAME COLUMN title_gone TO title")
        finally:
            await admin.close()
        lines = wait_for_access(tmp_path, port, 2)  # the readiness probe's /healthz, then ours
    request_id = response.headers["x-request-id"]
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": request_id,
    }
    access = [line for line in lines if line["logger"] == "vitrine.access"]
    (graphql,) = [line for line in access if line["path"] == "/graphql"]
    assert set(graphql) == {
        "event",
        "level",
        "logger",
        "timestamp",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "operation_type",
        "operation_name",
        "cache",
    }
    assert graphql["event"] == "POST /graphql 200"
    assert graphql["level"] == "info"
    assert graphql["method"] == "POST"
    assert graphql["status"] == 200
    assert graphql["operation_type"] == "query"
    assert graphql["operation_name"] == "ProductPage"
    assert graphql["request_id"] == request_id
    assert graphql["cache"] == response.headers["vitrine-cache"] == "MISS"
    assert graphql["duration_ms"] > 0
    (error,) = [line for line in lines if line["level"] == "error"]
    assert error["logger"] == "vitrine.errors"
    assert error["request_id"] == request_id
    assert error["event"] == f"unexpected error in ['product'] (request id {request_id})"
    assert "UndefinedColumnError" in error["exception"]
