"""The response cache over real HTTP on one gateway (PostgreSQL NOTIFY as the only bus):
hits and misses, what is never cached, HTTP caching of persisted GETs, metrics, CDN purges."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.cache_support import wait_for
from tests.e2e.events import event
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

PRICE = 'query Price { product(slug: "mug") { title price { final { amount } } } }'
PRICE_HASH = hashlib.sha256(PRICE.encode()).hexdigest()
MISSING = '{ product(slug: "nope") { title } }'
BAD_ID = '{ product(id: "not-an-id") { title } }'
INTROSPECTION = "{ __schema { queryType { name } } }"
TAGS = "price:p1 product-collections:p1 product-slug:mug product:p1 store-promotions:s1"


def price_event(amount: str) -> dict[str, Any]:
    return event(
        "PriceSet", productId="p1", currencyCode="EUR", basePrice=amount, tiers=[], segmentPrices=[]
    )


@pytest.fixture
def server(world: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(world, tmp_path) as server:
        yield server


def post_events(server: Server, events: list[dict[str, Any]]) -> int:
    response = server.post_events(orjson.dumps(events))
    assert response.status_code == 202, response.text
    return int(response.json()["head"])


def persisted_get(server: Server, **headers: str) -> httpx.Response:
    """GET of the Price query by its APQ hash (registered by a POST beforehand)."""
    extensions = orjson.dumps({"persistedQuery": {"version": 1, "sha256Hash": PRICE_HASH}})
    return httpx.get(
        f"{server.url}/graphql",
        params={"extensions": extensions.decode(), "operationName": "Price"},
        headers={"apollo-require-preflight": "true", **headers},
        timeout=30,
    )


def register(server: Server) -> None:
    body = {
        "query": PRICE,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": PRICE_HASH}},
    }
    assert httpx.post(f"{server.url}/graphql", json=body, timeout=30).status_code == 200


def amount(response: httpx.Response) -> str:
    return str(response.json()["data"]["product"]["price"]["final"]["amount"])


def test_a_repeated_query_is_served_from_memory(server: Server) -> None:
    """The second identical POST is an L1 hit with the same data; POSTs always say no-store."""
    first, second = server.graphql(PRICE), server.graphql(PRICE)
    assert (first.headers["vitrine-cache"], second.headers["vitrine-cache"]) == ("MISS", "HIT-L1")
    assert (
        first.json()["data"]
        == second.json()["data"]
        == {"product": {"title": "Mug", "price": {"final": {"amount": "12.00"}}}}
    )
    assert second.json()["extensions"]["readModel"]["position"] == 3
    assert (first.headers["cache-control"], second.headers["cache-control"]) == ("no-store",) * 2


def test_errors_and_uncacheable_operations_are_never_cached(server: Server) -> None:
    """An answer with errors is recomputed every time; introspection is not cacheable at all."""
    for _ in range(2):
        bad = server.graphql(BAD_ID)
        assert bad.json()["errors"][0]["extensions"]["code"] == "INVALID_ID"
        assert (bad.headers["vitrine-cache"], bad.headers["cache-control"]) == ("MISS", "no-store")
        introspection = server.graphql(INTROSPECTION)
        assert introspection.headers["vitrine-cache"] == "PASS"
    assert server.graphql(MISSING).headers["vitrine-cache"] == "MISS"
    assert server.graphql(MISSING).headers["vitrine-cache"] == "HIT-L1"


def test_a_committed_event_replaces_the_cached_answer(server: Server) -> None:
    """After a price change the cached answer is dropped: the next one shows the new price."""
    assert amount(server.graphql(PRICE)) == "12.00"
    assert server.graphql(PRICE).headers["vitrine-cache"] == "HIT-L1"
    position = post_events(server, [price_event("9.50")])
    waited = server.graphql(PRICE, **{"Vitrine-Min-Position": str(position)})
    assert amount(waited) == "9.50"
    assert waited.json()["extensions"]["readModel"]["minPositionReached"] is True
    # Invalidation by tag, not the header, is what keeps the plain request fresh:
    wait_for(lambda: amount(server.graphql(PRICE)) == "9.50", within=5, what="the new price")
    assert server.graphql(PRICE).headers["vitrine-cache"] == "HIT-L1"


def test_persisted_gets_carry_http_caching_headers(server: Server) -> None:
    """A GET by APQ hash: public max-age and SWR, a weak ETag, Vary, and surrogate keys."""
    register(server)
    response = persisted_get(server)
    assert response.status_code == 200
    assert amount(response) == "12.00"
    assert response.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=60"
    assert response.headers["surrogate-key"] == TAGS
    assert response.headers["cache-tag"] == TAGS.replace(" ", ",")
    assert response.headers["vary"] == "Accept, Authorization"
    assert response.headers["etag"].startswith('W/"')
    free_text_get = httpx.get(
        f"{server.url}/graphql",
        params={"query": PRICE},
        headers={"apollo-require-preflight": "true"},
        timeout=30,
    )
    assert free_text_get.headers["cache-control"] == "no-store"


def test_if_none_match_gets_304_until_the_data_changes(server: Server) -> None:
    """A matching validator is answered 304 with no body; after the price changes it no longer
    matches and the new answer comes with a new ETag."""
    register(server)
    etag = persisted_get(server).headers["etag"]
    unchanged = persisted_get(server, **{"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == etag
    assert unchanged.headers["cache-control"].startswith("public, max-age=60")
    post_events(server, [price_event("7.00")])
    wait_for(
        lambda: persisted_get(server, **{"If-None-Match": etag}).status_code == 200,
        within=5,
        what="the validator stops matching",
    )
    changed = persisted_get(server, **{"If-None-Match": etag})
    assert amount(changed) == "7.00"
    assert changed.headers["etag"] != etag


def test_metrics_count_hits_and_misses_per_level(server: Server) -> None:
    """/metrics exposes the cache's counters in Prometheus text."""
    server.graphql(PRICE)
    server.graphql(PRICE)
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    lines = {
        line.split(" ")[0]: line.split(" ")[1] for line in text.splitlines() if line[:1] != "#"
    }
    assert lines["vitrine_cache_l1_hits_total"] == "1.0"
    assert lines["vitrine_cache_l1_misses_total"] == "1.0"
    assert lines["vitrine_cache_stores_total"] == "1.0"
    assert lines["vitrine_cache_l1_entries"] == "1.0"


class PurgeRecorder(BaseHTTPRequestHandler):
    """A stand-in CDN API: records purge paths and tokens, answers 200."""

    calls: list[tuple[str, str]] = []

    def do_POST(self) -> None:
        type(self).calls.append((self.path, self.headers.get("Fastly-Key", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_invalidated_tags_are_purged_from_the_cdn(world: str, tmp_path: Path) -> None:
    """With VITRINE_CDN_PURGE_URL set, the projector's invalidations become one purge per tag."""
    PurgeRecorder.calls = []
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), PurgeRecorder)
    thread = threading.Thread(target=cdn.serve_forever, daemon=True)
    thread.start()
    try:
        template = f"http://127.0.0.1:{cdn.server_address[1]}/purge/{{tag}}"
        settings = {
            "cdn_purge_url": template,
            "cdn_purge_token": "k",
            "cdn_purge_header": "Fastly-Key",
        }
        with running_server(world, tmp_path, **settings) as server:
            post_events(server, [price_event("8.00")])
            wait_for(lambda: len(PurgeRecorder.calls) >= 4, within=10, what="four purge calls")
    finally:
        cdn.shutdown()
        cdn.server_close()
    assert sorted(PurgeRecorder.calls) == [
        ("/purge/listing%3Aall", "k"),
        ("/purge/listing%3As%3As1", "k"),
        ("/purge/price%3Ap1", "k"),
        ("/purge/product%3Ap1", "k"),
    ]
