"""The benchmark's datasets: one database per scale, seeded once, reused while unchanged.

Seeding the medium world takes minutes, so a database `vitrine_bench_<scale>`
keeps it between runs. It is trusted only while its fingerprint matches:
the sha256 of everything that decides its contents (the demo generator, the
migrations, the projection code, the scale, the seed and the fixed `now`).
Any change there drops and reseeds it, so a run never measures a stale
dataset by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, tzinfo=UTC)
SEED = 42
FINGERPRINTED = (
    "readmodels/demo/*.py",
    "readmodels/migrations/versions/*.py",
    "readmodels/catalog/*.py",
    "readmodels/creators/*.py",
    "readmodels/pricing/*.py",
    "readmodels/segments/*.py",
    "readmodels/recommendations/*.py",
    "readmodels/insights/*.py",  # store_daily & co., what the dashboard phase reads
    "readmodels/feeds/*.py",  # posts, follows, engagements: what the feeds phase reads
    "readmodels/trending/*.py",
)


class DatasetError(Exception):
    """The dataset database cannot be reached, created or seeded."""


@dataclass(frozen=True)
class Dataset:
    """A seeded, projected database and what it holds."""

    scale: str
    url: str
    fingerprint: str
    reused: bool
    created_at: str
    stats: dict[str, Any]
    products: int
    events: int


def fingerprint(
    scale_name: str, *, seed: int = SEED, now: datetime = NOW, root: Path = ROOT
) -> str:
    """sha256 over the dataset's sources (path and bytes, sorted), scale, seed and now."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in FINGERPRINTED for p in root.glob(pattern)})
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"{scale_name}\0{seed}\0{now.isoformat()}".encode())
    return digest.hexdigest()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def database_name(scale_name: str) -> str:
    return f"vitrine_bench_{scale_name}"


@contextlib.contextmanager
def bench_server(data_dir: Path) -> Iterator[str]:
    """The PostgreSQL server the datasets live on: VITRINE_BENCH_DATABASE_URL, else
    VITRINE_DATABASE_URL's server, else an embedded one under <data dir>/bench-postgres."""
    url = os.environ.get("VITRINE_BENCH_DATABASE_URL") or os.environ.get("VITRINE_DATABASE_URL")
    if url:
        yield url if urlsplit(url).path.strip("/") else with_database(url, "postgres")
        return
    from infra.embedded_postgres import EmbeddedPostgresError, embedded_postgres

    try:
        with embedded_postgres(data_dir / "bench-postgres") as embedded:
            yield embedded
    except EmbeddedPostgresError as exc:
        raise DatasetError(str(exc)) from exc


async def _admin(server_url: str) -> Any:
    import asyncpg

    from infra.database import asyncpg_dsn

    try:
        return await asyncpg.connect(asyncpg_dsn(server_url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatasetError(f"cannot reach PostgreSQL at {server_url}: {exc}") from exc


async def _stored(url: str) -> tuple[str, str, dict[str, Any]] | None:
    """(fingerprint, created_at, stats) recorded in the dataset database, if any."""
    import asyncpg

    from infra.database import asyncpg_dsn

    try:
        conn = await asyncpg.connect(asyncpg_dsn(url))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        row = await conn.fetchrow(
            "SELECT fingerprint, created_at, stats::text AS stats FROM bench_dataset"
            " ORDER BY created_at DESC LIMIT 1"
        )
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()
    if row is None:
        return None
    return row["fingerprint"], row["created_at"].isoformat(), json.loads(row["stats"])


async def recreate_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Drop `name` (closing its sessions) and create it empty, or as a copy of `template`."""
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template is not None:
            # A template must have no other sessions: they are ours (servers stopped).
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                template,
            )
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _record(url: str, print_: str, stats: dict[str, Any]) -> str:
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset"
            " (fingerprint text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
            " stats jsonb NOT NULL)"
        )
        created: datetime = await conn.fetchval(
            "INSERT INTO bench_dataset (fingerprint, stats) VALUES ($1, $2::jsonb)"
            " RETURNING created_at",
            print_,
            json.dumps(stats, default=str),
        )
    finally:
        await conn.close()
    return created.isoformat()


async def server_version(server_url: str) -> str:
    admin = await _admin(server_url)
    try:
        return str(await admin.fetchval("SHOW server_version"))
    finally:
        await admin.close()


async def dataset_size(url: str) -> tuple[int, int]:
    """(visible products, events in the log)."""
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        products = await conn.fetchval(
            "SELECT count(*) FROM products WHERE upserted AND NOT deleted AND listed"
        )
        events = await conn.fetchval("SELECT coalesce(max(position), 0) FROM event_log_head")
    finally:
        await conn.close()
    return int(products), int(events)


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a function of the sibling bench modules, sync or async alike."""
    result = function(*args, **kwargs)
    if inspect.isawaitable(result):
        awaitable: Awaitable[Any] = result

        async def wait() -> Any:
            return await awaitable

        return asyncio.run(wait())
    return result


def ensure_dataset(
    server_url: str,
    scale_name: str,
    *,
    now: datetime = NOW,
    seed: Callable[[str, str, datetime], dict[str, Any]] | None = None,
    on_status: Callable[[str], None] = lambda _: None,
) -> Dataset:
    """The scale's database, reused if its fingerprint matches, else dropped and reseeded.

    `seed(database_url, scale_name, now)` migrates, seeds and projects an empty
    database and returns its measurements (bench.projections.measure_seed)."""
    name = database_name(scale_name)
    url = with_database(server_url, name)
    print_ = fingerprint(scale_name, now=now)
    stored = asyncio.run(_stored(url))
    if stored is not None and stored[0] == print_:
        on_status(f"{name}: fingerprint matches, reusing it")
        products, events = asyncio.run(dataset_size(url))
        return Dataset(scale_name, url, print_, True, stored[1], stored[2], products, events)
    reason = "fingerprint changed" if stored is not None else "not there yet"
    on_status(f"{name}: {reason}, (re)creating and seeding the {scale_name} world")
    asyncio.run(recreate_database(server_url, name))
    stats = dict(call(seed or measure_seed, url, scale_name, now))
    created_at = asyncio.run(_record(url, print_, stats))
    products, events = asyncio.run(dataset_size(url))
    return Dataset(scale_name, url, print_, False, created_at, stats, products, events)


def measure_seed(database_url: str, scale_name: str, now: datetime) -> dict[str, Any]:
    """bench.projections.measure_seed, which times migrate + seed + catch-up."""
    try:
        from bench.projections import measure_seed as measured
    except ModuleNotFoundError as exc:
        if exc.name != "bench.projections":
            raise
        raise DatasetError(
            "bench/projections.py (measure_seed) is missing: the dataset cannot be seeded"
        ) from exc
    return dict(call(measured, database_url, scale_name, now))
