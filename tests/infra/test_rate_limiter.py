"""The rate limiter against real Redis and in process: one suite for both stores, then
the switch between them when Redis stops answering."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from graphql import OperationType, parse
from redis.asyncio import Redis
from starlette.requests import Request

from infra.rate_limits.gate import RateLimitGate
from infra.rate_limits.gcra import Admission
from infra.rate_limits.limiter import RateLimiter
from infra.rate_limits.local_limiter import LocalLimiter
from infra.rate_limits.operations import NodeId, root_selections
from infra.rate_limits.policies import Bucket, Limit, Policies, Quota, policy
from infra.rate_limits.redis_limiter import RedisLimiter
from infra.response_cache.breaker import BreakerState, CircuitBreaker

Acquire = Callable[[list[Bucket]], Any]

FIVE_PER_MINUTE = Limit("reads", Quota.of(5, 60))
HUNDRED_PER_MINUTE = Limit("reads-ip", Quota.of(100, 60))


@pytest.fixture(params=["redis", "local"])
async def acquire(request: pytest.FixtureRequest) -> AsyncIterator[Acquire]:
    """The same check, on buckets in Redis or in this process."""
    if request.param == "local":
        local = LocalLimiter()

        async def local_acquire(buckets: list[Bucket]) -> Admission:
            return local.acquire(buckets)

        yield local_acquire
        return
    url = request.getfixturevalue("redis_url")
    client = Redis.from_url(url)
    limiter = RedisLimiter(client)
    yield limiter.acquire
    await client.aclose()


async def test_a_quota_admits_exactly_its_limit_then_says_how_long_to_wait(
    acquire: Acquire,
) -> None:
    """5 per minute: five admitted with 4..0 left, the sixth refused for 12 seconds."""
    bucket = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:alice", 1)
    remaining = []
    for _ in range(5):
        admission = await acquire([bucket])
        assert admission.allowed is True
        remaining.append(admission.states[0].remaining)
    assert remaining == [4, 3, 2, 1, 0]
    refused = await acquire([bucket])
    assert refused.allowed is False
    assert refused.retry_after == 12
    assert refused.states[0].remaining == 0


async def test_several_buckets_are_all_or_nothing(acquire: Acquire) -> None:
    """A request refused by its principal's bucket takes nothing from its IP's bucket."""
    principal = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:bob", 1)
    ip = Bucket(HUNDRED_PER_MINUTE, "{vitrine:rl}:reads-ip:192.0.2.1", 1)
    for _ in range(5):
        assert (await acquire([principal, ip])).allowed is True
    for _ in range(3):
        refused = await acquire([principal, ip])
        assert refused.allowed is False
    alone = await acquire([ip])
    assert alone.allowed is True
    assert alone.states[0].remaining == 94


async def test_quantities_are_charged_and_capped_at_the_bucket(acquire: Acquire) -> None:
    """A cost-weighted request takes its quantity; one above the quota empties a full bucket."""
    costly = Bucket(HUNDRED_PER_MINUTE, "{vitrine:rl}:reads-ip:192.0.2.2", 30)
    assert (await acquire([costly])).states[0].remaining == 70
    huge = Bucket(HUNDRED_PER_MINUTE, "{vitrine:rl}:reads-ip:192.0.2.3", 500)
    admission = await acquire([huge])
    assert admission.allowed is True
    assert admission.states[0].remaining == 0


async def test_redis_buckets_expire_once_full_again(redis_url: str) -> None:
    """A bucket's key lives only until the bucket would be full: idle clients cost nothing."""
    client = Redis.from_url(redis_url)
    try:
        bucket = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:carol", 2)
        await RedisLimiter(client).acquire([bucket])
        ttl = await client.pttl(bucket.key)
        assert 23_000 < ttl <= 24_000
    finally:
        await client.aclose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_dead_redis_falls_back_to_local_buckets_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis refusing connections: every check is answered from this process's buckets,
    the same policy holds, the breaker opens, and the switch is logged once."""
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}", socket_connect_timeout=0.05)
    limiter = RateLimiter(
        redis=RedisLimiter(client), breaker=CircuitBreaker(failure_threshold=3, reset_after=60)
    )
    bucket = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:dave", 1)
    try:
        with caplog.at_level(logging.WARNING, logger="vitrine.rate_limits"):
            decisions = [await limiter.check((bucket,), operation="query") for _ in range(8)]
    finally:
        await client.aclose()
    assert [d.admission.allowed for d in decisions] == [True] * 5 + [False] * 3
    assert limiter.stats.redis_errors == 3
    assert limiter.stats.local_checks == 8
    assert limiter.breaker.opened == 1
    assert limiter.gauges().local_fallback is True
    switches = [r for r in caplog.records if "per process" in r.getMessage()]
    assert len(switches) == 1


async def test_a_slow_redis_times_out_into_the_local_buckets(redis_url: str) -> None:
    """A check slower than the timeout is answered locally, never waited for longer."""
    client = Redis.from_url(redis_url)
    limiter = RateLimiter(redis=RedisLimiter(client), timeout=0.05)
    bucket = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:erin", 1)
    blocker = Redis.from_url(redis_url)
    try:
        # Redis holds every other client's commands for 2 s, as a stalled server would.
        await blocker.execute_command("CLIENT", "PAUSE", "2000", "ALL")
        started = asyncio.get_running_loop().time()
        decision = await limiter.check((bucket,), operation="query")
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        await blocker.execute_command("CLIENT", "UNPAUSE")
        await client.aclose()
        await blocker.aclose()
    assert decision.admission.allowed is True
    assert limiter.stats.local_checks == 1
    assert elapsed < 0.3


async def test_redis_comes_back_and_limits_are_shared_again(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After the breaker's pause, a successful trial returns checks to Redis, logged once."""
    clock = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after=1, clock=lambda: clock[0])
    client = Redis.from_url(redis_url)
    limiter = RateLimiter(redis=RedisLimiter(client), breaker=breaker)
    bucket = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:frank", 1)
    try:
        breaker.failure()  # as if Redis had just failed
        limiter._shared = False
        await limiter.check((bucket,), operation="query")
        assert limiter.stats.local_checks == 1
        clock[0] = 2.0
        with caplog.at_level(logging.WARNING, logger="vitrine.rate_limits"):
            await limiter.check((bucket,), operation="query")
            await limiter.check((bucket,), operation="query")
    finally:
        await client.aclose()
    assert limiter.stats.redis_checks == 2
    assert limiter.gauges().local_fallback is False
    assert [r.getMessage() for r in caplog.records] == [
        "Redis answers again: rate limits are shared again"
    ]


async def test_shadow_mode_refuses_nothing_but_logs_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In shadow mode a would-be rejection is let through, logged with its key, policy and
    operation, and counted; the bucket is not charged for it."""
    limiter = RateLimiter(mode="shadow")
    bucket = Bucket(FIVE_PER_MINUTE, "{vitrine:rl}:reads:sub:gina", 1)
    with caplog.at_level(logging.WARNING, logger="vitrine.rate_limits"):
        decisions = [await limiter.check((bucket,), operation="query Q") for _ in range(7)]
    assert [d.rejected for d in decisions] == [False] * 7
    assert [d.admission.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert limiter.stats.shadow_rejected == {"reads": 2}
    assert limiter.stats.rejected == {}
    logged = [r for r in caplog.records if "would reject" in r.getMessage()]
    assert len(logged) == 2
    assert logged[0].getMessage() == (
        "rate limit would reject (shadow mode): policy=reads "
        "key={vitrine:rl}:reads:sub:gina operation=query Q retry_after=12"
    )
    assert logged[0].__dict__["policy"] == "reads"


def graphql_request(ip: str) -> Request:
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": []}
    return Request({**scope, "client": (ip, 1), "query_string": b""})


async def test_a_policy_with_every_quota_off_never_asks_redis(redis_url: str) -> None:
    """Writes off on both scopes: mutations are admitted without a Redis call or a header,
    the breaker stays closed, and the queries that follow are still counted in Redis."""
    client = Redis.from_url(redis_url)
    try:
        limiter = RateLimiter(redis=RedisLimiter(client), timeout=1.0)
        policies = Policies(
            reads=policy("reads", "10/minute", "10/minute"),
            writes=policy("writes", "off", "off"),
            explain=policy("explain", "off", "off"),
            events=policy("events", "off", "off"),
        )
        gate = RateLimitGate(limiter, policies)
        request = graphql_request("192.0.2.40")
        for _ in range(12):
            written = await gate.graphql(request, "sub:dora", OperationType.MUTATION, {})
            assert (written.buckets, written.rejected, written.headers()) == ((), False, {})
        assert (limiter.stats.redis_errors, limiter.stats.redis_checks) == (0, 0)
        assert limiter.stats.local_checks == 0
        assert limiter.breaker.state is BreakerState.CLOSED
        read = await gate.graphql(request, "sub:dora", OperationType.QUERY, {})
        assert read.headers()["RateLimit"] == '"reads";r=9;t=6, "reads-ip";r=9;t=6'
        assert (limiter.stats.redis_checks, limiter.stats.local_checks) == (1, 0)
        assert limiter.gauges().local_fallback is False
        keys = ("{vitrine:rl}:reads:sub:dora", "{vitrine:rl}:reads-ip:192.0.2.40")
        assert await client.exists(*keys) == 2
        assert await client.exists("{vitrine:rl}:writes:sub:dora") == 0
    finally:
        await client.aclose()


async def test_redis_admits_an_empty_set_of_buckets_without_a_script_call() -> None:
    """No bucket is an admission with no state, and Redis is not asked (its MGET of no key
    would be an error): a client of a closed port answers at once."""
    client = Redis(port=closed_port(), socket_connect_timeout=1)
    try:
        assert await RedisLimiter(client).acquire([]) == Admission(True, ())
    finally:
        await client.aclose()


def node_ids(query: str) -> tuple[tuple[NodeId, int], ...]:
    return root_selections(parse(query))[None].node_ids


async def test_node_lookups_of_insights_pay_explain_and_other_nodes_do_not() -> None:
    """Each `node` selection whose id (literal, variable or default, short or long) names an
    Insight is one `explain` unit; a Product's id, a bad id, a null variable and no decoder
    charge none."""
    insight, product = "SW5zaWdodDp4", "UHJvZHVjdDpw"
    limiter = RateLimiter()
    policies = Policies(
        reads=policy("reads", "100/minute", "off"),
        writes=policy("writes", "off", "off"),
        explain=policy("explain", "50/minute", "off"),
        events=policy("events", "off", "off"),
    )
    long_insight = "I" * 300  # past the memoised length: asked every time, same verdict
    gate = RateLimitGate(limiter, policies, names_insight=lambda i: i in (insight, long_insight))
    request = graphql_request("192.0.2.41")

    async def charged(query: str, variables: dict[str, Any] | None = None) -> list[Any]:
        decision = await gate.graphql(
            request,
            "sub:erin",
            OperationType.QUERY,
            {},
            node_ids=node_ids(query),
            variables=variables,
        )
        return [(b.limit.name, b.quantity) for b in decision.buckets]

    aliased = f'{{ a: node(id: "{insight}") {{ id }} b: node(id: "{insight}") {{ id }} }}'
    assert await charged(aliased) == [("reads", 1), ("explain", 2)]
    by_variable = "query($i: ID!, $p: ID!) { a: node(id: $i) { id } b: node(id: $p) { id } }"
    assert await charged(by_variable, {"i": insight, "p": product}) == [
        ("reads", 1),
        ("explain", 1),
    ]
    by_default = f'query($i: ID! = "{insight}") {{ node(id: $i) {{ id }} }}'
    assert await charged(by_default) == [("reads", 1), ("explain", 1)]
    assert await charged(by_default, {"i": product}) == [("reads", 1)]
    assert await charged(by_default, {"i": None}) == [("reads", 1)]
    assert await charged(f'{{ node(id: "{product}") {{ id }} }}') == [("reads", 1)]
    assert await charged('{ node(id: "not an id") { id } }') == [("reads", 1)]
    for _ in range(2):
        assert await charged(by_default, {"i": long_insight}) == [("reads", 1), ("explain", 1)]
    blind = RateLimitGate(limiter, policies)
    decision = await blind.graphql(
        request, "sub:erin", OperationType.QUERY, {}, node_ids=node_ids(aliased)
    )
    assert [(b.limit.name, b.quantity) for b in decision.buckets] == [("reads", 1)]
