"""The CDN purge job: one call per tag (or per batch), retries with backoff, no retry on 4xx."""

from __future__ import annotations

import time

import httpx

from infra.cdn_purge import CdnPurger

FASTLY = "https://api.fastly.test/service/svc/purge/{tag}"
CLOUDFLARE = "https://api.cloudflare.test/zones/z/purge_cache"


class FakeCdn:
    """Answers purge calls from a script of status codes, recording every request."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


async def test_one_call_per_tag_with_the_token() -> None:
    """Each tag is POSTed once to the template with the tag URL-encoded, token in its header."""
    cdn = FakeCdn()
    async with cdn.client() as client:
        purger = CdnPurger(FASTLY, token="k3y", header="Fastly-Key", client=client, concurrency=1)
        purger.enqueue(["product:p1", "listing:c:c1", "product:p1"])
        purger.enqueue(["product:p1"])
        await purger.drain()
        await purger.close()
    assert [str(r.url) for r in cdn.requests] == [
        "https://api.fastly.test/service/svc/purge/product%3Ap1",
        "https://api.fastly.test/service/svc/purge/listing%3Ac%3Ac1",
    ]
    assert {r.method for r in cdn.requests} == {"POST"}
    assert {r.headers["fastly-key"] for r in cdn.requests} == {"k3y"}
    assert (purger.sent, purger.purged_tags, purger.failed) == (2, 2, 0)


async def test_without_a_tag_placeholder_tags_go_in_batches_of_thirty() -> None:
    """A template without {tag} gets JSON bodies of up to 30 tags, with a Bearer token."""
    cdn = FakeCdn()
    tags = [f"product:p{n:02d}" for n in range(45)]
    async with cdn.client() as client:
        purger = CdnPurger(CLOUDFLARE, token="t", client=client, concurrency=1)
        purger.enqueue(tags)
        await purger.drain()
        await purger.close()
    bodies = [r.read() for r in cdn.requests]
    assert [len(httpx.Response(200, content=b).json()["tags"]) for b in bodies] == [30, 15]
    assert httpx.Response(200, content=bodies[0]).json()["tags"] == tags[:30]
    assert {r.headers["authorization"] for r in cdn.requests} == {"Bearer t"}


async def test_failures_are_retried_with_growing_delays() -> None:
    """503 and 429 are retried, each wait about twice the last, until the CDN says yes."""
    cdn = FakeCdn(503, 429, 503, 200)
    async with cdn.client() as client:
        purger = CdnPurger(FASTLY, client=client, backoff=0.02, attempts=5)
        purger.enqueue(["store:s1"])
        await purger.drain()
        await purger.close()
    gaps = [later - earlier for earlier, later in zip(cdn.times, cdn.times[1:], strict=False)]
    assert len(cdn.requests) == 4
    assert (purger.sent, purger.retries, purger.failed) == (1, 3, 0)
    assert [gap >= least for gap, least in zip(gaps, (0.02, 0.04, 0.08), strict=True)] == [True] * 3


async def test_client_errors_are_not_retried_and_attempts_are_bounded() -> None:
    """A 403 is a configuration error: one call, counted as failed; 5xx stops after `attempts`."""
    cdn = FakeCdn(403, 500, 500, 500)
    async with cdn.client() as client:
        purger = CdnPurger(FASTLY, client=client, backoff=0.001, attempts=3, concurrency=1)
        purger.enqueue(["a"])
        await purger.drain()
        purger.enqueue(["b"])
        await purger.drain()
        await purger.close()
    assert len(cdn.requests) == 4
    assert (purger.sent, purger.failed, purger.retries) == (0, 2, 2)


async def test_purges_wait_for_the_gateways_and_overflow_is_dropped() -> None:
    """A purge is sent no sooner than `delay` after it was queued; past max_pending, tags drop."""
    cdn = FakeCdn()
    async with cdn.client() as client:
        purger = CdnPurger(FASTLY, client=client, delay=0.1, max_pending=2, concurrency=1)
        queued = time.monotonic()
        purger.enqueue(["a", "b", "c"])
        await purger.drain()
        await purger.close()
    assert len(cdn.requests) == 2
    assert cdn.times[0] - queued >= 0.1
    assert purger.dropped == 1
