"""Invalidation messages, NOTIFY-sized splitting, storm detection and debouncing."""

from __future__ import annotations

import asyncio

import pytest

from infra.invalidation.debounce import Debouncer
from infra.invalidation.message import NOTIFY_LIMIT, Invalidation, split
from infra.invalidation.storm import StormDetector


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_message_round_trips() -> None:
    """decode(encode(m)) == m for tag messages and floor messages; junk is a ValueError."""
    tags = Invalidation(42, frozenset({"product:p1", "listing:all"}))
    floor = Invalidation(43, everything=True)
    assert tags.encode() == b'{"p":42,"t":["listing:all","product:p1"]}'
    assert Invalidation.decode(tags.encode()) == tags
    assert Invalidation.decode(floor.encode().decode()) == floor
    for junk in (b"", b"[]", b'{"t":[]}', b'{"p":1,"t":[1]}'):
        with pytest.raises(ValueError, match=r"not an invalidation message|list of strings"):
            Invalidation.decode(junk)


def test_large_messages_are_split_under_the_notify_limit() -> None:
    """2,000 tags become several messages, each under 7,900 bytes, with every tag exactly once."""
    tags = frozenset(f"product:p-{n:06d}" for n in range(2000))
    parts = list(split(Invalidation(7, tags)))
    assert len(parts) == 5
    assert all(len(p.encode()) <= NOTIFY_LIMIT for p in parts)
    assert all(p.position == 7 for p in parts)
    assert frozenset().union(*(p.tags for p in parts)) == tags
    assert sum(len(p.tags) for p in parts) == 2000
    assert list(split(Invalidation(7, frozenset({"a"})))) == [Invalidation(7, frozenset({"a"}))]


def test_storm_starts_above_the_rate_and_ends_below_it() -> None:
    """More than per_second tags within one second is a storm, counted once until it ends."""
    clock = FakeClock()
    storm = StormDetector(100, clock=clock)
    assert storm.record(60) is False
    clock.now += 0.5
    assert storm.record(60) is True
    assert storm.record(10) is True
    assert (storm.storms, storm.rate()) == (1, 130)
    clock.now += 0.6  # the first 60 left the window
    assert (storm.rate(), storm.active) == (70, False)
    clock.now += 0.1
    assert storm.record(200) is True
    assert storm.storms == 2


async def test_debouncer_coalesces_a_window_into_one_message() -> None:
    """Everything added within the window is published once: union of tags, highest position."""
    published: list[Invalidation] = []
    done = asyncio.Event()

    async def flush(message: Invalidation) -> None:
        published.append(message)
        done.set()

    debouncer = Debouncer(0.05, flush)
    debouncer.add({"product:p1"}, 10)
    debouncer.add({"product:p2", "listing:all"}, 12)
    debouncer.add({"product:p1"}, 11)
    assert published == []
    await asyncio.wait_for(done.wait(), timeout=5)
    assert published == [Invalidation(12, frozenset({"product:p1", "product:p2", "listing:all"}))]
    debouncer.add({"store:s1"}, 13)
    await debouncer.drain()
    assert published[1:] == [Invalidation(13, frozenset({"store:s1"}))]
    assert debouncer.flushes == 2


async def test_debouncer_retries_a_failed_flush() -> None:
    """A flush that raises puts its tags back; the next one carries them."""
    attempts: list[Invalidation] = []
    done = asyncio.Event()

    async def flush(message: Invalidation) -> None:
        attempts.append(message)
        if len(attempts) == 1:
            raise ConnectionError("bus down")
        done.set()

    debouncer = Debouncer(0.0, flush)
    debouncer.add({"a"}, 1)
    await asyncio.wait_for(done.wait(), timeout=5)
    assert attempts == [Invalidation(1, frozenset({"a"}))] * 2
    assert (debouncer.failures, debouncer.flushes) == (1, 1)
