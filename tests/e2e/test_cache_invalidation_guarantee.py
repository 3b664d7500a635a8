"""The invalidation guarantee across processes: two gateways sharing Redis and a separate
`vitrine projectors run`. Once a projector has committed an event and the debounce window
has passed, no gateway serves an answer that predates it, from memory or from Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from tests.e2e.cache_support import Recorder, Sample, running_projectors, wait_for
from tests.e2e.events import event
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

QUERY = 'query Shop { product(slug: "mug") { price { final { amount } } } products(first: 100) { totalCount } }'
DEBOUNCE = 0.05
# What the bus itself takes after the window (publish, delivery, a busy event loop).
DELIVERY = 0.2
ROUNDS = 6


@dataclass(frozen=True)
class Expected:
    amount: str
    total: int


def round_events(n: int) -> list[dict[str, Any]]:
    """Round n: a new listed, priced product (the listing grows) and a new price for the mug."""
    return [
        event("ProductUpserted", productId=f"p{n + 1}", storeId="s1", sku=f"S{n}",
              slug=f"extra-{n}", title=f"Extra {n}", description=None, categoryId=None, tags=[],
              images=[], featured=False, listed=True, createdAt="2026-11-02T00:00:00Z"),
        event("PriceSet", productId=f"p{n + 1}", currencyCode="EUR", basePrice="1.00", tiers=[],
              segmentPrices=[]),
        event("PriceSet", productId="p1", currencyCode="EUR", basePrice=f"{10 + n}.00", tiers=[],
              segmentPrices=[]),
    ]  # fmt: skip


def observed(sample: Sample) -> Expected:
    assert sample.status == 200, sample
    assert sample.body is not None, sample
    data: Any = sample.body["data"]
    return Expected(data["product"]["price"]["final"]["amount"], data["products"]["totalCount"])


@pytest.fixture
def gateways(world: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two gateways (no projectors of their own) and one projector process, sharing Redis."""
    shared = {"redis_url": redis_url, "cache_debounce_ms": str(int(DEBOUNCE * 1000))}
    with (
        running_projectors(world, tmp_path, **shared),
        running_server(world, tmp_path, run_projectors="false", **shared) as a,
        running_server(world, tmp_path, run_projectors="false", **shared) as b,
    ):
        yield a, b


def ask(client: httpx.Client, target: str) -> httpx.Response:
    return client.post(f"{target}/graphql", json={"query": QUERY}, timeout=10)


def append(server: Server, events: list[dict[str, Any]]) -> int:
    response = server.post_events(orjson.dumps(events))
    assert response.status_code == 202, response.text
    return int(response.json()["head"])


def committed(server: Server, position: int) -> float:
    """When (at the latest) the projector committed `position`: as soon as a gateway has seen
    its checkpoint, which it hears of only after the commit."""
    response = server.graphql("{ __typename }", **{"Vitrine-Min-Position": str(position)})
    assert response.json()["extensions"]["readModel"]["minPositionReached"] is True
    return time.monotonic()


def answered_by_both(samples: list[Sample], a: Server, b: Server) -> bool:
    return {s.target for s in samples} == {a.url, b.url} and len(samples) >= 20


def test_no_gateway_serves_an_answer_older_than_a_committed_event(
    gateways: tuple[Server, Server], redis_url: str
) -> None:
    """Under continuous load on both gateways, every answer to a request started after
    commit + debounce (+ delivery) reflects the event, round after round."""
    a, b = gateways
    first = httpx.post(f"{a.url}/graphql", json={"query": QUERY}, timeout=10)
    assert first.headers["vitrine-cache"] == "MISS"
    entries = redis.Redis.from_url(redis_url)
    wait_for(lambda: bool(entries.keys("vitrine:rc:e:*")), within=5, what="A's answer in Redis")
    entries.close()
    shared = httpx.post(f"{b.url}/graphql", json={"query": QUERY}, timeout=10)
    assert shared.headers["vitrine-cache"] == "HIT-L2"
    recorder = Recorder(ask, [a.url, b.url, a.url, b.url])
    recorder.start()
    checked = 0
    try:
        for n in range(1, ROUNDS + 1):
            position = append(a if n % 2 else b, round_events(n))
            deadline = committed(a, position) + DEBOUNCE + DELIVERY
            expected = Expected(f"{10 + n}.00", n + 1)
            wait_for(
                lambda since=deadline: answered_by_both(recorder.since(since), a, b),
                within=30,
                what="answers from both gateways after the window",
            )
            late = recorder.since(deadline)
            assert [observed(s) for s in late] == [expected] * len(late)
            checked += len(late)
    finally:
        recorder.stop()
    assert recorder.failures == []
    statuses = {s.cache for s in recorder.samples}
    assert {"HIT-L1", "MISS"} <= statuses, statuses
    assert checked >= ROUNDS * 20
