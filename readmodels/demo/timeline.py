"""Time in the demo world: whole Unix seconds, formatted only on the way out.

Every stream of the generator yields `Draft`s, (unix seconds, type, data), in
non-decreasing time, so the time-ordered part of the world is a lazy k-way
merge of streams instead of one big sorted list. Follow-up events a stream
schedules for later (a cancellation, a review a week after delivery) wait in
a small `Pending` heap and come out when the stream's clock reaches them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

HOUR = 3_600
DAY = 86_400

Draft = tuple[int, str, dict[str, Any]]
"""An event before it gets an id: (unix seconds, type, data)."""


def unix_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded down so no event lands after `moment`."""
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC), e.g. datetime.now(UTC)")
    return int(moment.timestamp() // 1)


@lru_cache(maxsize=4096)
def _date_prefix(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")


def stamp(seconds: int) -> str:
    """RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SSZ"; the date part is cached per day for speed."""
    day, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes, secs = divmod(rest, 60)
    return f"{_date_prefix(day)}{hours:02d}:{minutes:02d}:{secs:02d}Z"


def day_start(seconds: int) -> int:
    """Midnight UTC of the day `seconds` falls in."""
    return seconds - seconds % DAY


def merge_streams(streams: Iterable[Iterator[Draft]]) -> Iterator[Draft]:
    """Merge time-ordered streams; ties keep the order the streams were given in."""
    return heapq.merge(*streams, key=itemgetter(0))


class Pending:
    """Events one stream has scheduled for later; those after `until` are dropped."""

    def __init__(self, until: int) -> None:
        self._until = until
        self._heap: list[tuple[int, int, str, dict[str, Any]]] = []
        self._seq = 0

    def add(self, seconds: int, event_type: str, data: dict[str, Any]) -> None:
        if seconds <= self._until:
            self._seq += 1
            heapq.heappush(self._heap, (seconds, self._seq, event_type, data))

    def due(self, seconds: int) -> Iterator[Draft]:
        """Everything scheduled at or before `seconds`, in time order."""
        heap = self._heap
        while heap and heap[0][0] <= seconds:
            at, _, event_type, data = heapq.heappop(heap)
            yield at, event_type, data

    def rest(self) -> Iterator[Draft]:
        """Everything still waiting, in time order (at the end of a stream)."""
        return self.due(self._until)
