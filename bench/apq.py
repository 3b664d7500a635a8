"""The APQ registrations a phase makes, removed afterwards: the dataset stays as seeded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg

from infra.database import asyncpg_dsn


def forget_apq(
    database_url: str, hashes: Sequence[str], problem: Callable[[str], None], phase: str
) -> None:
    """Delete the APQ documents of `hashes`; a failure is reported through `problem`."""
    if not hashes:
        return

    async def forget() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await conn.execute(
                "DELETE FROM persisted_documents WHERE source = 'apq' AND sha256 = ANY($1::text[])",
                list(hashes),
            )
        finally:
            await conn.close()

    try:
        asyncio.run(forget())
    except Exception as exc:
        problem(f"{phase} phase: could not remove its APQ registrations: {exc}")
