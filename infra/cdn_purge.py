"""Purging a CDN by tag when the read models change: an outbound job with retries.

Configured by a URL template. With `{tag}` in it, one POST per invalidated
tag (Fastly: `https://api.fastly.com/service/<id>/purge/{tag}`, header
`Fastly-Key`); without it, one POST per batch of up to 30 tags with a JSON
body `{"tags": [...]}` (Cloudflare: `.../zones/<zone>/purge_cache`, header
`Authorization: Bearer`). The job runs in the process that publishes
invalidations (the projector runner), so each tag is purged once, not once
per gateway.

A purge waits `delay` after it was queued, so every gateway has dropped its
own copies before the CDN comes back for a fresh one (otherwise it could
re-cache the stale answer for a whole max-age). Failures (transport errors,
429, 5xx) are retried with exponential backoff up to `attempts` times; other
4xx answers are configuration errors and are not retried. Pending tags are
deduplicated and bounded by `max_pending`; what overflows is dropped and
counted (the CDN's max-age still bounds its staleness).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from urllib.parse import quote

import httpx

log = logging.getLogger("vitrine.cdn")

TAGS_PER_BATCH_CALL = 30


class CdnPurger:
    def __init__(
        self,
        url_template: str,
        *,
        token: str | None = None,
        header: str = "Authorization",
        client: httpx.AsyncClient | None = None,
        attempts: int = 5,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        delay: float = 0.0,
        max_pending: int = 10_000,
        concurrency: int = 4,
    ) -> None:
        self._template = url_template
        self._per_tag = "{tag}" in url_template
        self._headers = {}
        if token:
            self._headers[header] = (
                f"Bearer {token}" if header.lower() == "authorization" else token
            )
        self._client = client or httpx.AsyncClient(timeout=5.0)
        self._owns_client = client is None
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._delay = delay
        self._max_pending = max_pending
        self._concurrency = concurrency
        self._pending: OrderedDict[str, float] = OrderedDict()  # tag -> when queued
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.sent = 0  # successful purge calls
        self.purged_tags = 0
        self.retries = 0
        self.failed = 0  # tags given up on
        self.dropped = 0  # tags dropped because too many were pending

    def enqueue(self, tags: Iterable[str]) -> None:
        now = time.monotonic()
        for tag in tags:
            if tag in self._pending:
                continue
            if len(self._pending) >= self._max_pending:
                self.dropped += 1
                continue
            self._pending[tag] = now
        if self._pending:
            self._idle.clear()
            self._wake.set()
            self._start()

    async def drain(self) -> None:
        """Wait until every queued tag was purged or given up on (tests, shutdown)."""
        await self._idle.wait()

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._owns_client:
            await self._client.aclose()

    def _start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.get_running_loop().create_task(self._work(), name=f"cdn-purge-{n}")
                for n in range(self._concurrency)
            ]

    async def _work(self) -> None:
        while True:
            if not self._pending:
                if self._busy == 0:
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._take()
            self._busy += 1
            try:
                wait = self._pending_since(batch) + self._delay - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._purge([tag for tag, _ in batch])
            finally:
                self._busy -= 1
                if not self._pending and self._busy == 0:
                    self._idle.set()

    def _take(self) -> list[tuple[str, float]]:
        size = 1 if self._per_tag else TAGS_PER_BATCH_CALL
        batch: list[tuple[str, float]] = []
        while self._pending and len(batch) < size:
            batch.append(self._pending.popitem(last=False))
        return batch

    @staticmethod
    def _pending_since(batch: list[tuple[str, float]]) -> float:
        return max(queued for _, queued in batch)

    async def _purge(self, tags: list[str]) -> None:
        if self._per_tag:
            url, body = self._template.replace("{tag}", quote(tags[0], safe="")), None
        else:
            url, body = self._template, {"tags": tags}
        for attempt in range(self._attempts):
            retry = True
            try:
                response = await self._client.post(url, json=body, headers=self._headers)
                if response.is_success:
                    self.sent += 1
                    self.purged_tags += len(tags)
                    return
                retry = response.status_code == 429 or response.status_code >= 500
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if not retry or attempt == self._attempts - 1:
                break
            self.retries += 1
            await asyncio.sleep(min(self._backoff * 2**attempt, self._max_backoff))
        self.failed += len(tags)
        log.error("CDN purge of %s failed: %s", ",".join(tags), problem)
