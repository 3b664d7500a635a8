"""GCRA, the generic cell rate algorithm, as pure arithmetic on whole microseconds.

A bucket is one number, its theoretical arrival time (TAT): the moment it
would be full again. A request taking `charge` microseconds of it is
admitted when, after adding the charge, the TAT is no further ahead of now
than the bucket's capacity. It is a token bucket (`capacity / interval`
tokens, one back per `interval`) stored as a single timestamp, so checking
it needs no background refill and one read and one write at most.

A request charged from several buckets (per principal and per IP; reads and
explainInsight) is all or nothing: admitted only when every bucket admits
it, and then charged from every one; a rejected request takes nothing.

The Redis script (`redis_limiter`) is a line-for-line copy of `admit`: both
use integers only, so they agree to the microsecond.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class Cell:
    """One bucket's parameters for one request (microseconds)."""

    interval: int  # one unit
    capacity: int  # the whole bucket
    charge: int  # what this request takes


@dataclass(frozen=True, slots=True)
class BucketState:
    """A bucket as the request leaves it."""

    remaining: int  # units still available now
    reset: int  # microseconds until the bucket is full again
    retry: int  # microseconds until this request's charge fits (0: it fits now)


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on one request and the state of each bucket it was charged from."""

    allowed: bool
    states: tuple[BucketState, ...]

    @property
    def retry_after(self) -> int:
        """Whole seconds until every bucket would admit the request (rounded up)."""
        wait = max((s.retry for s in self.states), default=0)
        return -(-wait // MICROSECONDS)


def units(span: int, interval: int) -> int:
    """How many whole units fit in `span` microseconds."""
    return max(span // interval, 0)


def admit(
    tats: Sequence[int | None], now: int, cells: Sequence[Cell]
) -> tuple[Admission, list[int]]:
    """The verdict, and each bucket's new TAT (to store only when the request is allowed).

    `tats[i]` is bucket i's stored TAT, None when it has none (full).
    """
    starts: list[int] = []
    ends: list[int] = []
    allowed = True
    for tat, cell in zip(tats, cells, strict=True):
        start = now if tat is None or tat < now else tat
        end = start + cell.charge
        if end - now > cell.capacity:
            allowed = False
        starts.append(start)
        ends.append(end)
    states = []
    for start, end, cell in zip(starts, ends, cells, strict=True):
        retry = max(end - now - cell.capacity, 0)
        held = end if allowed else start
        states.append(
            BucketState(units(cell.capacity - (held - now), cell.interval), held - now, retry)
        )
    return Admission(allowed, tuple(states)), ends
