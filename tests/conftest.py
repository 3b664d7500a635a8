"""Shared fixtures: real PostgreSQL databases, a migrated template, engines, servers.

Tests use the embedded PostgreSQL (pgserver) unless VITRINE_TEST_DATABASE_URL
names a server (CI points it at the machine's PostgreSQL). Each test that
needs a database gets a fresh one cloned from a migrated template, so tests
never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from infra.database import asyncpg_dsn, create_engine
from infra.embedded_postgres import embedded_postgres
from readmodels.migrate import upgrade

FIXTURES = Path(__file__).parent / "fixtures"
CONTRACT = FIXTURES / "contract"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server we may create databases on."""
    configured = os.environ.get("VITRINE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with (
        tempfile.TemporaryDirectory(prefix="vitrine-test-pg-") as directory,
        embedded_postgres(Path(directory)) as url,
    ):
        yield url


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url))


@pytest.fixture(scope="session")
async def template_url(server_url: str) -> AsyncIterator[str]:
    """A database migrated once per session, the template of every test database."""
    name = f"vitrine_template_{os.getpid()}"
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    yield url
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def create_database(server_url: str, template_url: str) -> str:
    name = f"vitrine_t_{uuid.uuid4().hex[:12]}"
    template = urlsplit(template_url).path.lstrip("/")
    admin = await _admin(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(server_url: str, template_url: str) -> AsyncIterator[str]:
    """A fresh, migrated, empty database for this test."""
    url = await create_database(server_url, template_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[object]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def _redis_reachable(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """A real Redis. Locally a missing Redis skips these tests; in CI
    (VITRINE_TEST_REQUIRE_REDIS=1) it fails them: Redis tests must run there."""
    url = os.environ.get("VITRINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not _redis_reachable(url):
        message = f"Redis is not reachable at {url} (set VITRINE_TEST_REDIS_URL)"
        if os.environ.get("VITRINE_TEST_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """Redis for one test: a key prefix-free database flushed before and after."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    yield redis_server_url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session", autouse=True)
async def _close_read_pools() -> AsyncIterator[None]:
    yield
    from tests.resolvers.execution import close_read_pools

    await close_read_pools()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every async test shares the session loop, like the session-scoped fixtures.
    for item in items:
        if asyncio.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"))
