"""Alembic environment: runs migrations over the async engine given in the config."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import readmodels.tables  # noqa: F401  (registers every table on the metadata)
from infra.api_keys.tables import metadata as api_keys_metadata
from persisted_queries.tables import metadata as persisted_queries_metadata
from readmodels.metadata import metadata

config = context.config
target_metadata = [metadata, persisted_queries_metadata, api_keys_metadata]


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
