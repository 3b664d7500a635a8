"""Hearing invalidations in a gateway process: Redis pub/sub and PostgreSQL LISTEN.

With Redis configured the listener subscribes there and also LISTENs on
PostgreSQL, where publishers fall back when Redis is down; without Redis,
PostgreSQL is the only bus. Messages go to `sink` (the response cache);
duplicates are harmless, invalidations only ever raise positions.

A subscription that was not there cannot have heard anything, so every
time one is established or lost the listener calls `on_gap`, which drops
everything cached locally (the composition root makes it refuse anything
stamped below the log's head). That covers messages missed while Redis
restarted, and the moment a killed Redis may have swallowed a message it
had accepted. Lost connections are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from infra.invalidation.message import CHANNEL, Invalidation
from infra.invalidation.storm import StormDetector

log = logging.getLogger("vitrine.invalidation")

Sink = Callable[[Invalidation], None]
Gap = Callable[[str], Awaitable[None]]


class InvalidationListener:
    def __init__(
        self,
        *,
        sink: Sink,
        on_gap: Gap,
        redis_url: str | None,
        dsn: str | None,
        channel: str = CHANNEL,
        storm_per_second: int = 10_000,
        max_backoff: float = 2.0,
    ) -> None:
        if redis_url is None and dsn is None:
            raise ValueError("an invalidation listener needs Redis or PostgreSQL")
        self._sink = sink
        self._on_gap = on_gap
        self._redis_url = redis_url
        self._dsn = dsn
        self._channel = channel
        self._max_backoff = max_backoff
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = {name: asyncio.Event() for name in self._buses()}
        self.storm = StormDetector(storm_per_second)
        self.connected = dict.fromkeys(self._buses(), False)
        self._failures = dict.fromkeys(self._buses(), 0)
        self.received = 0
        self.gaps = 0
        self.malformed = 0

    def _buses(self) -> list[str]:
        return [name for name, on in (("redis", self._redis_url), ("postgres", self._dsn)) if on]

    async def start(self, *, ready_within: float = 2.0) -> None:
        """Start listening; wait (a little) until every bus is subscribed once."""
        if self._redis_url is not None:
            self._tasks.append(asyncio.create_task(self._redis_loop(), name="invalidations:redis"))
        if self._dsn is not None:
            self._tasks.append(asyncio.create_task(self._postgres_loop(), name="invalidations:pg"))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ready_within):
                for event in self._ready.values():
                    await event.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def deliver(self, raw: bytes | str) -> None:
        """Hand one raw message to the sink (also used for messages of this process)."""
        try:
            message = Invalidation.decode(raw)
        except ValueError:
            self.malformed += 1
            log.warning("ignoring a malformed invalidation message")
            return
        self.received += 1
        storms = self.storm.storms
        self.storm.record(len(message.tags))
        if self.storm.storms > storms:
            log.warning("invalidation storm: %d tags in the last second", self.storm.rate())
        self._sink(message)

    async def _gap(self, bus: str, what: str) -> None:
        self.gaps += 1
        log.info("invalidation bus %s %s: dropping the local cache", bus, what)
        try:
            await self._on_gap(f"{bus} {what}")
        except Exception:
            log.exception("handling a gap in invalidations failed")

    async def _run_bus(self, bus: str, session: Callable[[], Awaitable[None]]) -> None:
        """Run `session` (subscribe, then deliver until the connection ends) forever."""
        backoff = 0.1
        while True:
            try:
                await session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failures[bus] += 1
                # Loud once per outage, quiet while retrying.
                level = logging.WARNING if self._failures[bus] == 1 else logging.DEBUG
                log.log(level, "%s invalidation subscription failed: %r", bus, exc)
            if self.connected[bus]:
                self.connected[bus] = False
                backoff = 0.1
                await self._gap(bus, "lost")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _redis_loop(self) -> None:
        await self._run_bus("redis", self._redis_session)

    async def _postgres_loop(self) -> None:
        await self._run_bus("postgres", self._postgres_session)

    async def _redis_session(self) -> None:
        assert self._redis_url is not None
        client = aioredis.Redis.from_url(
            self._redis_url, socket_connect_timeout=0.5, socket_keepalive=True
        )
        pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            await self._established("redis")
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message.get("type") == "message":
                    self.deliver(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _postgres_session(self) -> None:
        assert self._dsn is not None
        connection: Any = await asyncpg.connect(self._dsn, timeout=5)
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_close(_connection: object) -> None:
            if not closed.done():
                closed.set_result(None)

        try:
            connection.add_termination_listener(on_close)
            await connection.add_listener(
                self._channel, lambda _c, _p, _ch, payload: self.deliver(payload)
            )
            await self._established("postgres")
            await closed
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)

    async def _established(self, bus: str) -> None:
        self._failures[bus] = 0
        self.connected[bus] = True
        await self._gap(bus, "subscribed")
        self._ready[bus].set()
