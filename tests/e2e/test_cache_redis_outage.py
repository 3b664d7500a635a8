"""Redis killed under load: no request fails, the gateways keep caching in memory,
invalidations reach both through PostgreSQL, and the shared level comes back with Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from tests.e2e.cache_support import Recorder, RedisProcess, redis_process, wait_for
from tests.e2e.events import event
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

QUERY = 'query Price { product(slug: "mug") { price { final { amount } } } }'
PROBE = "query Probe($slug: String!) { product(slug: $slug) { title } }"
WINDOW = 0.05 + 1.0  # debounce, then delivery (generous: CI shares 2 cores with the load)


def ask(client: httpx.Client, target: str) -> httpx.Response:
    return client.post(f"{target}/graphql", json={"query": QUERY}, timeout=10)


def price(amount: str) -> list[dict[str, Any]]:
    return [
        event("PriceSet", productId="p1", currencyCode="EUR", basePrice=amount, tiers=[],
              segmentPrices=[])
    ]  # fmt: skip


def append(server: Server, events: list[dict[str, Any]]) -> int:
    response = server.post_events(orjson.dumps(events))
    assert response.status_code == 202, response.text
    return int(response.json()["head"])


def committed(server: Server, position: int) -> float:
    response = server.graphql("{ __typename }", **{"Vitrine-Min-Position": str(position)})
    assert response.json()["extensions"]["readModel"]["minPositionReached"] is True
    return time.monotonic()


def amounts(recorder: Recorder, since: float) -> set[str]:
    found = set()
    for sample in recorder.since(since):
        assert sample.status == 200, sample
        assert sample.body is not None, sample
        assert "errors" not in sample.body, sample.body
        found.add(sample.body["data"]["product"]["price"]["final"]["amount"])  # type: ignore[index]
    return found


@pytest.fixture
def cluster(world: str, tmp_path: Path) -> Iterator[tuple[RedisProcess, Server, Server]]:
    """A private Redis, gateway A running the projectors, gateway B only serving."""
    with redis_process(tmp_path) as private_redis:
        shared = {"redis_url": private_redis.url, "cache_debounce_ms": "50"}
        with (
            running_server(world, tmp_path, **shared) as a,
            running_server(world, tmp_path, run_projectors="false", **shared) as b,
        ):
            yield private_redis, a, b


def probe(a: Server, b: Server, redis_url: str, n: int) -> str:
    """A new answer computed by A and seen in Redis, then asked of B: B's cache status."""
    variables = {"slug": f"probe-{n}"}
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.2, socket_timeout=0.2)
    try:
        before = len(client.keys("vitrine:rc:e:*"))
        assert a.graphql(PROBE, variables).headers["vitrine-cache"] == "MISS"
        wait_for(lambda: len(client.keys("vitrine:rc:e:*")) > before, within=1, what="A's entry")
    except (AssertionError, redis.RedisError):
        return "NOT-IN-REDIS"
    finally:
        client.close()
    return b.graphql(PROBE, variables).headers["vitrine-cache"]


def test_killing_redis_mid_load_fails_no_request(
    cluster: tuple[RedisProcess, Server, Server],
) -> None:
    """Requests flow on both gateways before, during and after a Redis crash; an event committed
    while Redis is down still reaches both caches; the shared level works again once it is back."""
    private_redis, a, b = cluster
    assert probe(a, b, private_redis.url, 0) == "HIT-L2"
    recorder = Recorder(ask, [a.url, b.url, a.url, b.url])
    recorder.start()
    try:
        wait_for(lambda: len(recorder.samples) >= 50, within=30, what="load before the crash")
        private_redis.kill()
        killed = time.monotonic()
        wait_for(lambda: len(recorder.since(killed + 0.5)) >= 100, within=30, what="load after it")
        assert amounts(recorder, killed) == {"12.00"}

        deadline = committed(a, append(a, price("9.00"))) + WINDOW
        wait_for(lambda: len(recorder.since(deadline)) >= 50, within=30, what="answers after it")
        assert amounts(recorder, deadline) == {"9.00"}

        private_redis.start()
        probes = iter(range(1, 1000))
        wait_for(
            lambda: probe(a, b, private_redis.url, next(probes)) == "HIT-L2",
            within=30,
            what="Redis is shared again",
        )
        deadline = committed(a, append(a, price("8.00"))) + WINDOW
        wait_for(lambda: len(recorder.since(deadline)) >= 50, within=30, what="answers after it")
        assert amounts(recorder, deadline) == {"8.00"}
    finally:
        recorder.stop()
    assert recorder.failures == []
    assert {s.status for s in recorder.samples} == {200}
    assert len(recorder.samples) >= 250
    assert {s.cache for s in recorder.since(killed)} >= {"HIT-L1"}
