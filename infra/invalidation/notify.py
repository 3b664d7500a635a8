"""PostgreSQL NOTIFY as the invalidation bus's fallback (or only) transport."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from infra.invalidation.message import CHANNEL, Invalidation, split


class PostgresNotifier:
    """Sends invalidations with NOTIFY on one lazily opened connection."""

    def __init__(self, dsn: str, *, channel: str = CHANNEL, timeout: float = 2.0) -> None:
        self._dsn = dsn
        self._channel = channel
        self._timeout = timeout
        self._connection: Any = None
        self._lock = asyncio.Lock()
        self.sent = 0

    async def send(self, message: Invalidation) -> None:
        """NOTIFY every part of `message`; raises (and reconnects next time) on failure."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    if self._connection is None or self._connection.is_closed():
                        self._connection = await asyncpg.connect(self._dsn)
                    for part in split(message):
                        await self._connection.execute(
                            "SELECT pg_notify($1, $2)", self._channel, part.encode().decode()
                        )
                        self.sent += 1
            except BaseException:
                await self._discard()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._discard()

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)
