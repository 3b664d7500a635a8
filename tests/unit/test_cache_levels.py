"""The pure parts of the cache's levels: entries, the tag clock, the byte-bounded LRU, the breaker."""

from __future__ import annotations

import pytest

from infra.response_cache.breaker import BreakerState, CircuitBreaker
from infra.response_cache.entry import ENTRY_OVERHEAD, CachedResponse, Freshness, weak_etag
from infra.response_cache.memory import MemoryLRU
from infra.response_cache.policy import Scope
from infra.response_cache.tag_clock import TagClock


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry(
    data: bytes = b'{"a":1}',
    tags: tuple[str, ...] = ("product:p1",),
    *,
    stamp: int = 10,
    created_at: float = 1000.0,
    max_age: int = 30,
) -> CachedResponse:
    return CachedResponse.build(
        data,
        frozenset(tags),
        stamp=stamp,
        created_at=created_at,
        max_age=max_age,
        stale_for=max_age,
        scope=Scope.PUBLIC,
    )


def test_entry_round_trips_through_its_encoding() -> None:
    """decode(encode(e)) == e, and anything else is a ValueError."""
    original = entry(b'{"product":{"title":"Mug\\n"}}', ("product:p1", "listing:all"))
    assert CachedResponse.decode(original.encode()) == original
    with pytest.raises(ValueError, match="not a cached response"):
        CachedResponse.decode(b"garbage")
    with pytest.raises(ValueError, match="not a cached response"):
        CachedResponse.decode(b'{"t": []}\n{}')


def test_entry_freshness_over_time() -> None:
    """Fresh before max-age, stale until twice it (stale-while-revalidate), then expired."""
    e = entry(created_at=1000.0, max_age=30)
    assert e.freshness(1029.9) is Freshness.FRESH
    assert e.freshness(1030.0) is Freshness.STALE
    assert e.freshness(1059.9) is Freshness.STALE
    assert e.freshness(1060.0) is Freshness.EXPIRED
    assert e.age(1012.5) == 12.5
    assert e.lifetime == 60


def test_weak_etag_depends_on_the_data_only() -> None:
    """Same data, same weak validator; different data, different one."""
    assert entry(b"[1]").etag == entry(b"[1]", ("x:1",), stamp=99).etag == weak_etag(b"[1]")
    assert weak_etag(b"[1]").startswith('W/"')
    assert weak_etag(b"[1]") != weak_etag(b"[2]")
    assert entry(b"abc", ("t:1",)).size == 3 + 3 + 60 + ENTRY_OVERHEAD


def test_tag_clock_refuses_what_an_invalidation_may_postdate() -> None:
    """An entry is current unless one of its tags was invalidated above its stamp."""
    clock = TagClock()
    clock.invalidate(["product:p1"], 20)
    assert clock.is_current(["product:p1"], 20) is True
    assert clock.is_current(["product:p1"], 19) is False
    assert clock.is_current(["product:p2", "listing:all"], 1) is True
    clock.invalidate(["product:p1"], 15)  # an older message arriving late changes nothing
    assert clock.position_of("product:p1") == 20


def test_tag_clock_floor_refuses_everything_below_it() -> None:
    """invalidate_all sets a floor: nothing stamped below it is current, whatever its tags."""
    clock = TagClock()
    clock.invalidate(["a"], 5)
    clock.invalidate(["b"], 50)
    clock.invalidate_all(30)
    assert clock.is_current([], 29) is False
    assert clock.is_current(["a"], 30) is True
    assert clock.is_current(["b"], 30) is False
    assert len(clock) == 1


def test_tag_clock_collapses_into_a_floor_past_its_size() -> None:
    """Past max_tags distinct tags (a storm) it keeps only a floor at the highest position."""
    clock = TagClock(max_tags=3)
    clock.invalidate(["a", "b"], 7)
    clock.invalidate(["c", "d"], 9)
    assert clock.collapses == 1
    assert clock.floor == 9
    assert len(clock) == 0
    assert clock.is_current(["zzz"], 8) is False
    assert clock.is_current(["zzz"], 9) is True


def test_tag_clock_forgets_positions_after_retention() -> None:
    """Positions live between one and two retention periods, then are dropped."""
    now = FakeClock(0.0)
    clock = TagClock(retention=10.0, clock=now)
    clock.invalidate(["a"], 5)
    now.now = 12.0
    clock.invalidate(["b"], 6)  # rotates: "a" moves to the previous generation
    assert clock.position_of("a") == 5
    now.now = 23.0
    clock.invalidate(["c"], 7)
    assert clock.position_of("a") == 0
    assert clock.position_of("b") == 6
    now.now = 60.0
    clock.invalidate([], 8)
    assert len(clock) == 0


def test_lru_evicts_least_recently_used_by_bytes() -> None:
    """Past max_bytes the least recently used entries go; a get counts as a use."""
    one = entry(b"x" * 100, ("t:1",))
    memory = MemoryLRU(max_bytes=one.size * 4)
    for name in ("a", "b", "c", "d"):
        assert memory.put(name, one)
    assert memory.get("a") == one
    memory.put("e", one)
    assert [name in memory for name in "abcde"] == [True, False, True, True, True]
    assert memory.evictions == 1
    assert memory.bytes == one.size * 4


def test_lru_refuses_entries_over_a_quarter_of_its_budget() -> None:
    """One huge answer is not kept rather than flushing everything else."""
    memory = MemoryLRU(max_bytes=4000)
    assert memory.put("big", entry(b"x" * 1000)) is False
    assert memory.put("small", entry(b"x" * 100)) is True
    assert len(memory) == 1


def test_lru_drops_by_tag_below_a_position() -> None:
    """delete_tagged drops entries carrying a tag, sparing those stamped at or after `below`."""
    memory = MemoryLRU(max_bytes=1_000_000)
    memory.put("old", entry(tags=("product:p1", "listing:all"), stamp=5))
    memory.put("new", entry(tags=("product:p1",), stamp=12))
    memory.put("other", entry(tags=("product:p2",), stamp=5))
    assert memory.delete_tagged(["product:p1"], below=10) == 1
    assert ("old" in memory, "new" in memory, "other" in memory) == (False, True, True)
    assert memory.delete_tagged(["listing:all"]) == 0
    assert memory.delete_tagged(["product:p1", "product:p2"]) == 2
    assert (len(memory), memory.bytes) == (0, 0)


def test_breaker_trips_after_consecutive_failures_and_refuses_calls() -> None:
    """Three failures in a row open it; while open every call is refused and counted."""
    now = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after=2.0, clock=now)
    breaker.failure()
    breaker.failure()
    breaker.success()  # not consecutive any more
    breaker.failure()
    breaker.failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert [breaker.allow(), breaker.allow()] == [False, False]
    assert (breaker.opened, breaker.rejected) == (1, 2)


def test_breaker_lets_one_trial_through_after_the_reset_period() -> None:
    """After reset_after, one call is tried: success closes the breaker, failure reopens it."""
    now = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=2.0, clock=now)
    breaker.failure()
    now.now += 2.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert [breaker.allow(), breaker.allow()] == [True, False]
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    now.now += 2.0
    assert breaker.allow() is True
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow() is True


def test_breaker_trial_that_never_reports_does_not_wedge_it() -> None:
    """A trial call that was cancelled is replaced by another after reset_after."""
    now = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=2.0, clock=now)
    breaker.failure()
    now.now += 2.0
    assert breaker.allow() is True
    now.now += 1.0
    assert breaker.allow() is False
    now.now += 1.0
    assert breaker.allow() is True
