"""Rate limits over real HTTP: 429 RATE_LIMITED with Retry-After, RateLimit headers on
every answer of a limited path, one bucket per policy, per principal and per IP (trusted
proxies too), shadow mode, Redis down, and exactness across two gateways sharing Redis."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from infra.auth import mint_token
from resolvers.ids import encode_id
from tests.e2e.cache_support import RedisProcess, redis_process, wait_for
from tests.e2e.events import event
from tests.e2e.server import Server, free_port, running_server
from tests.e2e.test_insight_state_http import (  # the creator world and its helpers
    CREATOR_1,
    DISMISS,
    MARK_SEEN,
    dashboard_insights,
    log_state,
    projected,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
TYPENAME = "{ __typename }"
PRODUCT = 'query Mug { product(slug: "mug") { title } }'
EXPLAIN = 'query Explain { explainInsight(id: "SW5zaWdodDp4") { rule } }'
WRITE = 'mutation Dismiss { dismissInsight(id: "SW5zaWdodDp4") { insights { id } } }'
LISTING = "{ products(first: 10) { edges { node { title } } } }"
TYPED = "query Typed($slug: String!) { product(slug: $slug) { title } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
STORES = ("redis", "local")


def rejection(policy: str, retry_after: int) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": f"rate limit exceeded ({policy}): retry in {retry_after} s",
                "extensions": {
                    "code": "RATE_LIMITED",
                    "retryAfter": retry_after,
                    "policy": policy,
                },
            }
        ]
    }


def bearer(sub: str) -> dict[str, str]:
    token = mint_token(SECRET, sub=sub, roles=["CUSTOMER"], ttl_seconds=600)
    return {"Authorization": f"Bearer {token}"}


def metric(server: Server, name: str) -> float:
    """One sample of /metrics, by its full name and labels."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name} not in /metrics"
    return float(match.group(1))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of this test's own: no other test's FLUSHDB resets its buckets."""
    with redis_process(tmp_path) as process:
        yield process


def limited(world: str, tmp_path: Path, **settings: str) -> Any:
    """A gateway with rate limits on (the test servers' default is off)."""
    return running_server(world, tmp_path, rate_limits="on", jwt_secret=SECRET, **settings)


def test_past_the_quota_a_request_is_refused_with_429_and_when_to_retry(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """3 reads a minute per IP: three answers say what is left, the fourth is a 429
    RATE_LIMITED naming the policy, with Retry-After in whole seconds; nothing ran."""
    with limited(
        world, tmp_path, redis_url=private_redis.url, rate_limit_reads_per_ip="3/minute"
    ) as server:
        answers = [server.graphql(TYPENAME) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["ratelimit-policy"] for a in answers] == ['"reads-ip";q=3;w=60'] * 3
        assert [a.headers["ratelimit"] for a in answers] == [
            '"reads-ip";r=2;t=20',
            '"reads-ip";r=1;t=40',
            '"reads-ip";r=0;t=60',
        ]
        assert "retry-after" not in answers[0].headers
        refused = server.graphql(TYPENAME, Accept=GRAPHQL_RESPONSE)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
        assert refused.headers["retry-after"] == "20"
        assert refused.headers["ratelimit"] == '"reads-ip";r=0;t=60'
        assert refused.headers["cache-control"] == "no-store"
        assert refused.json() == rejection("reads-ip", 20)
        legacy = server.graphql(TYPENAME, Accept="application/json")
        assert legacy.status_code == 429
        assert legacy.headers["content-type"] == "application/json; charset=utf-8"
        assert legacy.json() == rejection("reads-ip", 20)
        assert metric(server, 'vitrine_rate_limit_rejected_total{policy="reads-ip"}') == 2.0
        assert metric(server, 'vitrine_rate_limit_checks_total{store="redis"}') == 5.0


def test_every_answer_after_the_charge_carries_the_headers(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """Cached answers and request errors raised after the charge carry RateLimit; a
    document that never parsed was never charged and says nothing; /healthz is not limited."""
    with limited(
        world, tmp_path, redis_url=private_redis.url, rate_limit_reads_per_ip="10/minute"
    ) as server:
        first, cached = server.graphql(PRODUCT), server.graphql(PRODUCT)
        assert first.json()["data"] == cached.json()["data"] == {"product": {"title": "Mug"}}
        assert cached.headers["vitrine-cache"] == "HIT-L1"
        assert first.headers["ratelimit"] == '"reads-ip";r=9;t=6'
        assert cached.headers["ratelimit"] == '"reads-ip";r=8;t=12'
        bad_variables = server.graphql(TYPED, {"slug": 7}, Accept=GRAPHQL_RESPONSE)
        assert bad_variables.status_code == 400
        assert bad_variables.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert bad_variables.headers["ratelimit"] == '"reads-ip";r=7;t=18'
        unparsed = server.graphql("{ product(", Accept=GRAPHQL_RESPONSE)
        assert unparsed.status_code == 400
        assert "ratelimit" not in unparsed.headers
        assert server.graphql(TYPENAME).headers["ratelimit"] == '"reads-ip";r=6;t=24'
        health = httpx.get(f"{server.url}/healthz", timeout=30)
        assert "ratelimit" not in health.headers


def test_reads_writes_explain_and_events_have_separate_buckets(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """explainInsight pays `explain` on top of `reads`, mutations pay `writes`, POST /events
    pays `events` per key and per IP: exhausting one leaves the others whole."""
    quotas = {
        "rate_limit_reads_per_ip": "2/minute",
        "rate_limit_explain_per_ip": "1/minute",
        "rate_limit_writes_per_ip": "1/minute",
        "rate_limit_events": "1/minute",
        "rate_limit_events_per_ip": "10/minute",
    }
    with limited(world, tmp_path, redis_url=private_redis.url, **quotas) as server:
        explained = server.graphql(EXPLAIN)
        assert explained.status_code == 200
        assert explained.headers["ratelimit"] == ('"reads-ip";r=1;t=30, "explain-ip";r=0;t=60')
        refused = server.graphql(EXPLAIN)
        assert (refused.status_code, refused.json()) == (429, rejection("explain-ip", 60))
        assert server.graphql(TYPENAME).status_code == 200  # the refusal took no read
        assert server.graphql(TYPENAME).json() == rejection("reads-ip", 30)
        written = server.graphql(WRITE)
        assert written.status_code == 200
        assert written.headers["ratelimit-policy"] == '"writes-ip";q=1;w=60'
        assert server.graphql(WRITE).json() == rejection("writes-ip", 60)
        batch = orjson.dumps(
            [event("StoreUpserted", storeId="s9", slug="s9", name="S9", currencyCode="EUR",
                   ownerCreatorId="cr9")]
        )  # fmt: skip
        appended = server.post_events(batch)
        assert appended.status_code == 202, appended.text
        assert appended.headers["ratelimit-policy"] == ('"events";q=1;w=60, "events-ip";q=10;w=60')
        assert appended.headers["ratelimit"] == '"events";r=0;t=60, "events-ip";r=9;t=6'
        again = server.post_events(batch)
        assert again.status_code == 429
        assert again.headers["retry-after"] == "60"
        assert again.json() == rejection("events", 60)
        unsigned = httpx.post(f"{server.url}/events", content=batch, timeout=30)
        assert unsigned.status_code == 401
        # The IP pays before the key is looked up (a forged key costs a database query).
        assert unsigned.headers["ratelimit"] == '"events-ip";r=7;t=18'


async def test_a_refused_mutation_writes_nothing(
    projected: str,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    private_redis: RedisProcess,
) -> None:
    """One write a minute per creator: the first mutation writes its event, the second is
    refused before it runs, so the log holds one event, not two."""
    with limited(
        projected,
        tmp_path,
        redis_url=private_redis.url,
        run_projectors="false",
        rate_limit_writes="1/minute",
    ) as server:
        (insight,) = dashboard_insights(server, CREATOR_1)
        seen = server.graphql(MARK_SEEN, {"ids": [insight["id"]]}, **CREATOR_1)
        assert seen.status_code == 200
        assert seen.headers["ratelimit"] == '"writes";r=0;t=60, "writes-ip";r=599;t=1'
        dismissed = server.graphql(DISMISS, {"id": insight["id"]}, **CREATOR_1)
        assert dismissed.status_code == 429
        assert dismissed.json() == rejection("writes", 60)
        assert await log_state(projected) == (1, [("cr-1", True, False)], 1)


def test_a_cost_bucket_charges_each_query_its_requested_cost(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """With the reads quota counted in cost, a query pays its requested cost (at least 1),
    `extensions.cost.throttleStatus` shows the bucket as Shopify does, and the query that
    no longer fits waits for exactly the points it lacks."""
    with limited(
        world,
        tmp_path,
        redis_url=private_redis.url,
        rate_limit_cost_bucket="true",
        rate_limit_reads_per_ip="100/minute",
    ) as server:
        free = server.graphql(TYPENAME)
        assert free.json()["extensions"]["cost"] == {
            "requestedQueryCost": 0,
            "actualQueryCost": 0,
            "throttleStatus": {
                "maximumAvailable": 100.0,
                "currentlyAvailable": 99,
                "restoreRate": 100 / 60,
            },
        }
        assert free.headers["ratelimit-policy"] == '"reads-ip";q=100;w=60;vitrine-unit="cost"'
        available = 99
        while True:
            answer = server.graphql(LISTING)
            if answer.status_code == 429:
                break
            cost = answer.json()["extensions"]["cost"]
            available -= cost["requestedQueryCost"]
            assert cost["throttleStatus"]["currentlyAvailable"] == available
            assert answer.headers["ratelimit"].startswith(f'"reads-ip";r={available};')
        price = cost["requestedQueryCost"]
        assert 0 <= available < price
        assert answer.json() == rejection("reads-ip", math.ceil((price - available) * 0.6))


def test_principals_share_their_ip_but_not_their_buckets(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """Two tokens from one address: each has its own reads bucket, both pay the IP's; an
    anonymous request has the IP's bucket only."""
    quotas = {"rate_limit_reads": "2/minute", "rate_limit_reads_per_ip": "100/minute"}
    alice, bob = bearer("alice"), bearer("bob")
    with limited(world, tmp_path, redis_url=private_redis.url, **quotas) as server:
        assert [server.graphql(TYPENAME, **alice).status_code for _ in range(2)] == [200, 200]
        refused = server.graphql(TYPENAME, **alice)
        assert (refused.status_code, refused.json()) == (429, rejection("reads", 30))
        answered = server.graphql(TYPENAME, **bob)
        assert answered.status_code == 200
        assert answered.headers["ratelimit-policy"] == ('"reads";q=2;w=60, "reads-ip";q=100;w=60')
        assert answered.headers["ratelimit"] == '"reads";r=1;t=30, "reads-ip";r=97;t=2'
        anonymous = server.graphql(TYPENAME)
        assert anonymous.headers["ratelimit"] == '"reads-ip";r=96;t=3'


def test_forwarded_for_counts_only_from_a_trusted_proxy(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """Behind a trusted proxy the client is the right-most forwarded address: addresses a
    client prepends change nothing, and a malformed header falls back to the proxy."""
    with limited(
        world,
        tmp_path,
        redis_url=private_redis.url,
        rate_limit_reads_per_ip="2/minute",
        trusted_proxies="127.0.0.1/32",
    ) as server:

        def status(forwarded: str) -> int:
            return server.graphql(TYPENAME, **{"X-Forwarded-For": forwarded}).status_code

        assert [status("198.51.100.7") for _ in range(3)] == [200, 200, 429]
        assert status("198.51.100.8") == 200
        assert status("198.51.100.8, 198.51.100.7") == 429  # the client wrote the left part
        assert [status("not-an-ip, ,") for _ in range(3)] == [200, 200, 429]  # the proxy's
        assert status("203.0.113.1") == 200


def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """Without trusted proxies a client cannot pick its bucket with X-Forwarded-For."""
    with limited(
        world, tmp_path, redis_url=private_redis.url, rate_limit_reads_per_ip="2/minute"
    ) as server:
        statuses = [
            server.graphql(TYPENAME, **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(3)
        ]
        assert statuses == [200, 200, 429]


def test_shadow_mode_refuses_nothing_and_reports_what_it_would_have(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """In shadow mode every request is answered, without RateLimit headers; would-be
    rejections are counted on /metrics and logged with key, policy and operation."""
    with running_server(
        world,
        tmp_path,
        rate_limits="shadow",
        redis_url=private_redis.url,
        rate_limit_reads_per_ip="2/minute",
    ) as server:
        answers = [server.graphql(PRODUCT) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert all("ratelimit" not in a.headers for a in answers)
        assert metric(server, 'vitrine_rate_limit_shadow_rejected_total{policy="reads-ip"}') == 3.0
        port = server.url.rsplit(":", 1)[1]
        log = tmp_path / f"server-{port}.log"
        line = (
            "rate limit would reject (shadow mode): policy=reads-ip "
            "key={vitrine:rl}:reads-ip:127.0.0.1 operation=query Mug retry_after=30"
        )
        wait_for(lambda: log.read_text().count(line) == 3, within=10, what="3 shadow lines")


def test_without_redis_each_gateway_keeps_its_own_limits(world: str, tmp_path: Path) -> None:
    """Redis unreachable: the same policy holds per process (no 500), the switch is logged
    once, and /metrics says the limits are local."""
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with limited(world, tmp_path, redis_url=closed, rate_limit_reads_per_ip="3/minute") as server:
        statuses = [server.graphql(TYPENAME).status_code for _ in range(6)]
        assert statuses == [200, 200, 200, 429, 429, 429]
        refused = server.graphql(TYPENAME)
        assert refused.json() == rejection("reads-ip", 20)
        assert refused.headers["retry-after"] == "20"
        assert metric(server, "vitrine_rate_limit_local_fallback") == 1.0
        assert metric(server, 'vitrine_rate_limit_checks_total{store="local"}') == 7.0
        port = server.url.rsplit(":", 1)[1]
        log = (tmp_path / f"server-{port}.log").read_text()
        assert log.count("limits are counted per process until it does") == 1


async def test_two_gateways_sharing_redis_admit_exactly_the_quota(
    world: str, tmp_path: Path, private_redis: RedisProcess
) -> None:
    """100 concurrent requests spread over two gateways against 5 a minute: exactly 5 are
    answered and 95 refused, whatever the interleaving."""
    settings = {"redis_url": private_redis.url, "rate_limit_reads_per_ip": "5/minute"}
    with (
        limited(world, tmp_path, **settings) as a,
        limited(world, tmp_path, run_projectors="false", **settings) as b,
    ):
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(f"{(a, b)[n % 2].url}/graphql", json={"query": TYPENAME})
                    for n in range(100)
                )
            )
        checks = [
            tuple(
                metric(s, f'vitrine_rate_limit_checks_total{{store="{store}"}}') for store in STORES
            )
            for s in (a, b)
        ]
        assert checks == [(50.0, 0.0), (50.0, 0.0)]  # every check was Redis's, none local
    statuses = [r.status_code for r in responses]
    assert (statuses.count(200), statuses.count(429)) == (5, 95)
    refused = [r.json() for r in responses if r.status_code == 429]
    assert all(body["errors"][0]["extensions"]["code"] == "RATE_LIMITED" for body in refused)


def test_node_lookups_of_insights_pay_the_explain_quota(
    projected: str,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    private_redis: RedisProcess,
) -> None:
    """`node(id)` of an Insight runs the insight pipeline, so it pays `explain` like
    `explainInsight` (the third of 2 a minute is a 429), while a Product's `node` pays none."""
    node = "query N($id: ID!) { node(id: $id) { id } }"
    with limited(
        projected,
        tmp_path,
        redis_url=private_redis.url,
        run_projectors="false",
        rate_limit_reads="off",
        rate_limit_reads_per_ip="off",
        rate_limit_explain="2/minute",
        rate_limit_explain_per_ip="off",
    ) as server:
        (insight,) = dashboard_insights(server, CREATOR_1)
        first = server.graphql(node, {"id": insight["id"]}, **CREATOR_1)
        assert (first.status_code, first.json()["data"]) == (200, {"node": {"id": insight["id"]}})
        assert first.headers["ratelimit"] == '"explain";r=1;t=30'
        second = server.graphql(f'{{ node(id: "{insight["id"]}") {{ id }} }}', **CREATOR_1)
        assert (second.status_code, second.json()["data"]) == (200, {"node": {"id": insight["id"]}})
        assert second.headers["ratelimit"] == '"explain";r=0;t=60'
        product = server.graphql(node, {"id": encode_id("Product", "p-1")}, **CREATOR_1)
        assert (product.status_code, product.json()["data"]) == (200, {"node": None})
        assert "ratelimit" not in product.headers
        third = server.graphql(node, {"id": insight["id"]}, **CREATOR_1)
        assert (third.status_code, third.json()) == (429, rejection("explain", 30))
        assert metric(server, 'vitrine_rate_limit_rejected_total{policy="explain"}') == 1.0
        assert metric(server, 'vitrine_rate_limit_checks_total{store="redis"}') == 3.0
