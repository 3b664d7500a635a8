"""/metrics of one gateway process, alone or as one of several uvicorn workers.

Three kinds of series, handled apart:
- instruments counted where things happen (request durations, execution costs,
  projector throughput): prometheus-client metrics, whose values live in memory,
  or in files under PROMETHEUS_MULTIPROC_DIR that every worker's scrape merges;
- process-local counts reported by collectors at scrape time (cache, rate limits,
  plans, predicates, API keys, read pool), registered on `local`: exposed as they
  are in a lone process, copied into the files by `LocalMirror` under workers;
- values read from the database (event-log head, projector lag), the same in
  every process: collected at scrape time by whichever process is scraped.

Under workers, each one syncs every `SYNC_SECONDS` and the scraped one syncs
first, so a scrape shows its own worker exactly and the others as of their last
second; request durations and projector counts are written as they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from infra.execution_metrics import ExecutionMetrics
from infra.metrics_files import current_run, multiprocess_directory, prepare_directory, release
from infra.metrics_mirror import LocalMirror
from infra.request_metrics import RequestMetrics
from infra.service_metrics import ProjectorMetrics

log = logging.getLogger("vitrine.metrics")

SYNC_SECONDS = 1.0


class GatewayMetrics:
    """The instruments, registries and /metrics endpoint of one gateway process.

    `directory` is the multiprocess directory (None: one process, values in memory).
    Build it before anything creates a metric value: under workers it prepares the
    directory, and values created earlier would be written where it may wipe.
    """

    def __init__(self, local: CollectorRegistry, directory: Path | None) -> None:
        self.local = local
        self.directory = directory
        self._mirror: LocalMirror | None = None
        if directory is None:
            instruments = self._exposed = local
        else:
            prepare_directory(directory, current_run())
            instruments = CollectorRegistry()  # the values live in files: never exposed
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=str(directory))  # type: ignore[no-untyped-call]
            self._mirror = LocalMirror(local)
        self.requests = RequestMetrics(instruments)
        self.execution = ExecutionMetrics(instruments)
        self.projectors = ProjectorMetrics(instruments)
        self._task: asyncio.Task[None] | None = None

    def scraped(self, collector: Collector) -> None:
        """Expose values every process reads alike from the database, read when scraped."""
        self._exposed.register(collector)

    def sync(self) -> None:
        """Under workers: write this process's pending and process-local values to the files."""
        if self._mirror is None:
            return
        self.execution.flush()
        self._mirror.sync()

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics: Prometheus text, every worker's values merged under workers."""
        self.sync()
        return Response(generate_latest(self._exposed), media_type=CONTENT_TYPE_LATEST)

    async def start(self) -> None:
        """In the lifespan: under workers, sync every SYNC_SECONDS."""
        if self._mirror is not None and self._task is None:
            self._task = asyncio.create_task(self._sync_every(SYNC_SECONDS), name="metrics-sync")

    async def stop(self) -> None:
        """At exit: a last sync, then this worker's live gauges leave the merge."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.directory is not None:
            self.sync()
            release(self.directory, os.getpid())

    async def _sync_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                self.sync()
            except Exception:
                log.exception("syncing metrics to %s failed", self.directory)


def gateway_metrics(local: CollectorRegistry) -> GatewayMetrics:
    """The process's metrics, multiprocess when PROMETHEUS_MULTIPROC_DIR was set at start."""
    return GatewayMetrics(local, multiprocess_directory())
