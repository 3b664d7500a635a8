"""Running projections continuously: one leader per projection across all processes.

Each projection is led by whichever process holds its PostgreSQL advisory
lock, so `vitrine projectors run` may run on several machines: the others
stand by and take over when the leader's session ends. Runners wake on
LISTEN/NOTIFY from appends and poll as a fallback. A failing batch rolls
back, is logged loudly and retried with backoff from the same checkpoint:
a read model never skips an event to keep going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.eventlog.store import EVENTS_CHANNEL
from readmodels.projector.batch import BatchOutcome, run_batch
from readmodels.projector.projection import Projection
from readmodels.projector.spans import BatchSpans, ErrorRecorder, record_type_only

log = logging.getLogger("vitrine.projector")

BatchListener = Callable[[BatchOutcome], None]


def advisory_key(name: str) -> int:
    """A stable 32-bit advisory-lock key per projection name."""
    return zlib.crc32(f"vitrine.projection:{name}".encode()) & 0x7FFFFFFF


@dataclass(slots=True)
class ProjectionState:
    """What this process knows about one projection, for status and metrics."""

    name: str
    leader: bool = False
    position: int = 0
    batches: int = 0
    events: int = 0
    last_error: str | None = None


class ProjectorRunner:
    """Runs a set of projections until stopped.

    `tracer` gets a span per batch that applied events or failed (see spans.py);
    the default no-op tracer records nothing.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        dsn: str,
        projections: Sequence[Projection],
        *,
        batch_size: int = 10_000,
        poll_interval: float = 1.0,
        standby_interval: float = 2.0,
        listeners: Sequence[BatchListener] = (),
        tracer: Tracer | None = None,
        record_error: ErrorRecorder = record_type_only,
    ) -> None:
        self._engine = engine
        self._dsn = dsn
        self._projections = list(projections)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._standby_interval = standby_interval
        self._listeners = list(listeners)
        # A failed batch's exception on its span: composition passes the recorder that
        # keeps driver messages' values out (`readmodels.projector.spans`).
        self._spans = BatchSpans(
            NoOpTracer() if tracer is None else tracer, record_error=record_error
        )
        self._wake = {p.name: asyncio.Event() for p in self._projections}
        self._stopping = asyncio.Event()
        # One LISTEN/lock connection serves every projection; asyncpg runs one
        # query at a time per connection.
        self._connection_lock = asyncio.Lock()
        self.states = {p.name: ProjectionState(p.name) for p in self._projections}

    def add_listener(self, listener: BatchListener) -> None:
        self._listeners.append(listener)

    def stop(self) -> None:
        self._stopping.set()
        for event in self._wake.values():
            event.set()

    async def run(self) -> None:
        """Lead what can be led, stand by for the rest, until stop() is called."""
        connection: Any = await asyncpg.connect(self._dsn)
        try:
            await connection.add_listener(EVENTS_CHANNEL, self._on_notify)
            tasks = [
                asyncio.create_task(self._lead(connection, p), name=f"projector:{p.name}")
                for p in self._projections
            ]
            try:
                await self._stopping.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=5)

    def _on_notify(self, *_: object) -> None:
        for event in self._wake.values():
            event.set()

    async def _lead(self, connection: Any, projection: Projection) -> None:
        try:
            await self._lead_until_stopped(connection, projection)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never die quietly: a projection that stops leading is an outage.
            log.exception("projection %s: runner crashed; stopping all projectors", projection.name)
            self.states[projection.name].last_error = "runner crashed"
            self.stop()
            raise

    async def _lead_until_stopped(self, connection: Any, projection: Projection) -> None:
        state = self.states[projection.name]
        key = advisory_key(projection.name)
        while not self._stopping.is_set():
            async with self._connection_lock:
                locked = await connection.fetchval("SELECT pg_try_advisory_lock($1)", key)
            state.leader = bool(locked)
            if state.leader:
                break
            await self._sleep(projection.name, self._standby_interval)
        backoff = 0.1
        while not self._stopping.is_set():
            started = time.time_ns()
            try:
                outcome = await run_batch(self._engine, projection, batch_size=self._batch_size)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._spans.failed(projection.name, exc, start_ns=started, end_ns=time.time_ns())
                state.last_error = f"{type(exc).__name__}: {exc}"
                log.exception(
                    "projection %s: batch failed, rolled back; retrying in %.1fs from position %d",
                    projection.name,
                    backoff,
                    state.position,
                )
                await self._sleep(projection.name, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.1
            if outcome is None:
                await self._sleep(projection.name, self._poll_interval)
                continue
            self._spans.applied(outcome, start_ns=started, end_ns=time.time_ns())
            state.last_error = None
            state.position = outcome.to_position
            state.batches += 1
            state.events += outcome.events
            for listener in self._listeners:
                listener(outcome)

    async def _sleep(self, name: str, seconds: float) -> None:
        wake = self._wake[name]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=seconds)
        wake.clear()


async def catch_up(
    engine: AsyncEngine,
    projections: Sequence[Projection],
    *,
    batch_size: int = 10_000,
    on_batch: BatchListener | None = None,
) -> int:
    """Apply every pending event to each projection once, then return (tests, CLI)."""
    applied = 0
    for projection in projections:
        while (outcome := await run_batch(engine, projection, batch_size=batch_size)) is not None:
            applied += outcome.events
            if on_batch is not None:
                on_batch(outcome)
    return applied


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0
