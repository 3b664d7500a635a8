"""What a viewer costs the /graphql endpoint: no statement when anonymous, one when
authenticated, and a clear error (never a 500) when the read pool cannot answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from infra.app import create_app
from infra.auth import mint_token
from infra.database import count_statements
from infra.settings import Settings
from tests.e2e.server import free_port

SECRET = "infra-test-jwt-secret-32-bytes-long!"
VIEWER = "{ viewer { id segments } }"


async def client_for(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        run_projectors=False, service_token="t", data_dir=tmp_path, jwt_secret=SECRET
    )
    app = create_app(settings, database_url=database_url)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(database_url, tmp_path):
        yield client


@pytest.fixture
async def unreachable(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database is a port nobody listens on."""
    async for client in client_for(f"postgresql://postgres@127.0.0.1:{free_port()}/x", tmp_path):
        yield client


def bearer(sub: str) -> dict[str, str]:
    token = mint_token(SECRET, sub=sub, roles=["CUSTOMER"], ttl_seconds=600)
    return {"Authorization": f"Bearer {token}"}


async def test_anonymous_requests_run_no_statement_and_viewers_one(
    client: httpx.AsyncClient,
) -> None:
    """Anonymous `viewer` costs no SQL; an authenticated one costs the segments statement."""
    with count_statements() as anonymous:
        response = await client.post("/graphql", json={"query": VIEWER})
    assert response.json()["data"] == {"viewer": None}
    with count_statements() as authenticated:
        response = await client.post("/graphql", json={"query": VIEWER}, headers=bearer("cu-1"))
    assert response.json()["data"]["viewer"]["segments"] == []
    assert (anonymous.statements, authenticated.statements) == (0, 1)


async def test_an_unreachable_read_pool_is_a_clear_503(unreachable: httpx.AsyncClient) -> None:
    """When the segments cannot be read the answer is 503 READ_MODEL_UNAVAILABLE, not a 500;
    anonymous requests, which read nothing, still answer."""
    response = await unreachable.post("/graphql", json={"query": VIEWER}, headers=bearer("cu-1"))
    assert response.status_code == 503
    assert response.json() == {
        "errors": [
            {
                "message": "the read models are unavailable right now",
                "extensions": {"code": "READ_MODEL_UNAVAILABLE"},
            }
        ]
    }
    anonymous = await unreachable.post("/graphql", json={"query": VIEWER})
    assert anonymous.status_code == 200
    assert anonymous.json()["data"] == {"viewer": None}
