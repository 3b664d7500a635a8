"""HTTP caching headers: Cache-Control by policy and scope, weak ETags, surrogate keys."""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import build_schema, parse

from infra.http_caching import etag_matches, tag_headers
from infra.response_cache.cache import ResponseCache
from infra.response_cache.front import ResponseCacheFront, cache_status
from infra.response_cache.memory import MemoryLRU
from infra.response_cache.policy import CacheHint, PolicyCache, Scope

SCHEMA = build_schema("type P { id: ID! secret: String } type Query { p: P n: Int }")
HINTS = {
    "P": CacheHint(60, Scope.PUBLIC),
    "Query.p": CacheHint(120),
    "P.secret": CacheHint(scope=Scope.PRIVATE),
}
PUBLIC_QUERY = parse("{ p { id } }")
PRIVATE_QUERY = parse("{ p { secret } }")


class Viewer:
    def __init__(self, id: str, segments: tuple[str, ...] = ()) -> None:
        self.id, self.segments = id, segments


def front(now: float = 1000.0) -> ResponseCacheFront:
    return ResponseCacheFront(
        ResponseCache(MemoryLRU(1_000_000)),
        PolicyCache(SCHEMA, HINTS),
        generations=lambda: {"catalog": 1},
        position=lambda: 7,
        wall=lambda: now,
    )


def test_etag_matching_is_weak_and_accepts_lists_and_star() -> None:
    """If-None-Match matches with or without W/, in a list, or as *; nothing matches no header."""
    etag = 'W/"abc"'
    assert etag_matches('W/"abc"', etag) is True
    assert etag_matches('"abc"', etag) is True
    assert etag_matches('"zzz", W/"abc"', etag) is True
    assert etag_matches("*", etag) is True
    assert etag_matches('"abd"', etag) is False
    assert etag_matches(None, etag) is False
    assert etag_matches("", etag) is False


def test_tag_headers_list_tags_for_both_cdn_dialects() -> None:
    """Surrogate-Key is space-separated, Cache-Tag comma-separated, both sorted; too long is None."""
    assert tag_headers({"product:p2", "listing:all", "product:p1"}) == {
        "surrogate-key": "listing:all product:p1 product:p2",
        "cache-tag": "listing:all,product:p1,product:p2",
    }
    assert tag_headers(f"product:{n:020d}" for n in range(1000)) is None


def test_public_persisted_get_is_shared_with_tags_and_etag() -> None:
    """A PUBLIC answer to a GET of a persisted query: public, max-age, SWR, ETag, surrogate keys."""
    cache = front()
    plan = cache.plan(PUBLIC_QUERY, None, None)
    entry = cache.remember(plan, cache.stamp(), b'{"p":{"id":"1"}}', {"p:1"})
    assert entry is not None
    assert cache.headers(plan, entry, http_cacheable=True, status="MISS") == {
        "vitrine-cache": "MISS",
        "cache-control": "public, max-age=120, stale-while-revalidate=120",
        "surrogate-key": "p:1",
        "cache-tag": "p:1",
        "etag": entry.etag,
        "vary": "Accept, Authorization",
    }
    assert cache.not_modified(entry.etag, entry) is True
    assert cache.not_modified('"other"', entry) is False


def test_private_and_segmented_answers_are_private_to_the_browser() -> None:
    """PRIVATE answers, and PUBLIC ones priced for a segment, say private and list no tags."""
    cache = front()
    private = cache.plan(PRIVATE_QUERY, None, None, viewer=Viewer("u1"))
    entry = cache.remember(private, 7, b"{}", {"p:1"})
    headers = cache.headers(private, entry, http_cacheable=True, status="MISS")
    assert headers["cache-control"] == "private, max-age=120"
    assert "surrogate-key" not in headers
    segmented = cache.plan(PUBLIC_QUERY, None, None, viewer=Viewer("u1", ("vip",)))
    entry = cache.remember(segmented, 7, b"{}", {"p:1"})
    headers = cache.headers(segmented, entry, http_cacheable=True, status="MISS")
    assert headers["cache-control"] == "private, max-age=120"


def test_everything_else_says_no_store() -> None:
    """POSTs, uncacheable operations and answers with errors (no entry) get no-store."""
    cache = front()
    plan = cache.plan(PUBLIC_QUERY, None, None)
    entry = cache.remember(plan, 7, b"{}", set())
    uncacheable = cache.plan(parse("{ n }"), None, None)
    assert cache.headers(plan, entry, http_cacheable=False, status="MISS") == {
        "vitrine-cache": "MISS",
        "cache-control": "no-store",
    }
    assert (
        cache.headers(plan, None, http_cacheable=True, status="MISS")["cache-control"] == "no-store"
    )
    assert cache.remember(uncacheable, 7, b"{}", set()) is None
    assert cache_status(None, uncacheable) == "PASS"
    assert cache_status(None, plan) == "MISS"


async def test_a_cached_answer_reports_its_age() -> None:
    """Served later from the cache, an answer carries Age so downstream caches count it."""
    now = [1000.0]
    cache = ResponseCacheFront(
        ResponseCache(MemoryLRU(1_000_000), wall=lambda: now[0]),
        PolicyCache(SCHEMA, HINTS),
        generations=lambda: {"catalog": 1},
        position=lambda: 7,
        wall=lambda: now[0],
    )
    plan = cache.plan(PUBLIC_QUERY, None, None)
    cache.remember(plan, 7, b"{}", {"p:1"})
    now[0] += 12.4
    hit = await cache.lookup(plan)
    assert hit is not None
    assert cache_status(hit, plan) == "HIT-L1"
    assert cache.headers(plan, hit.entry, http_cacheable=True, status="HIT-L1")["age"] == "12"


def test_a_new_generation_moves_every_key() -> None:
    """After a rebuild swaps a read model in, the same request has a new key (old answers unreachable)."""
    generations = {"catalog": 1, "creators": 1}
    cache = ResponseCacheFront(
        ResponseCache(MemoryLRU(1_000_000)),
        PolicyCache(SCHEMA, HINTS),
        generations=lambda: generations,
        position=lambda: 7,
    )
    before = cache.plan(PUBLIC_QUERY, None, None).key
    generations = {"catalog": 2, "creators": 1}
    after = cache.plan(PUBLIC_QUERY, None, None).key
    assert before is not None
    assert after is not None
    assert before != after
    assert cache.plan(PUBLIC_QUERY, None, None).key == after


async def test_an_answer_is_kept_no_longer_than_the_next_promotion_window() -> None:
    """An answer that read a promotion starting in 40 s is fresh 40 s, never stale after;
    one whose next change is beyond max-age keeps its policy; a moment passed stores nothing."""
    now = [1000.0]
    cache = ResponseCacheFront(
        ResponseCache(MemoryLRU(1_000_000), wall=lambda: now[0]),
        PolicyCache(SCHEMA, HINTS),
        generations=lambda: {"catalog": 1},
        position=lambda: 7,
        wall=lambda: now[0],
    )
    plan = cache.plan(PUBLIC_QUERY, None, None)
    assert (plan.policy.max_age, plan.policy.scope) == (120, Scope.PUBLIC)

    def moment(seconds: float) -> datetime:
        return datetime.fromtimestamp(now[0] + seconds, UTC)

    soon = cache.remember(plan, 7, b"{}", {"p:1"}, fresh_until=moment(40))
    assert soon is not None
    assert (soon.max_age, soon.stale_for) == (40, 0)
    headers = cache.headers(plan, soon, http_cacheable=True, status="MISS")
    assert headers["cache-control"].startswith("public, max-age=40")
    now[0] += 40
    assert await cache.lookup(plan) is None  # gone the second the window opens
    later = cache.entry(plan, 7, b"{}", {"p:1"}, fresh_until=moment(500))
    assert (later.max_age, later.stale_for) == (120, 120)
    passed = cache.remember(plan, 7, b"[]", {"p:1"}, fresh_until=moment(-1))
    assert passed is not None
    assert passed.max_age == 0
    assert await cache.lookup(plan) is None
