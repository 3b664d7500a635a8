"""The trending score: pure functions of hourly engagement buckets and a moment.

Score of a post in a window, as of a moment T:

    score = sum over the post's buckets inside the window of
            (LIKE * likes + SHARE * shares + REMIX * remixes) * 0.5 ** (age / half_life)

- Weights: LIKE 1, SHARE 3, REMIX 5 (a share or a remix carries more intent).
- Buckets are hours (UTC). A bucket is inside a window when it overlaps
  (T - length, T]: its hour is at or after the hour containing T - length.
  Windows are therefore hour-granular: HOUR sees the current and previous
  hour buckets.
- Age is measured from the bucket's midpoint, never below zero (the current
  hour's events are not promoted above "now").
- Half-lives: HOUR 15 minutes, DAY 6 hours, WEEK 2 days.

Each EngagementRecorded event counts once, whoever sends it (the post's
`engagement` counters, in the feeds read model, count a user once per kind).

Decay multiplies every score of a window by the same factor as T moves on,
so between events the order of a window only changes when buckets leave it;
the projection recomputes a window as of the latest engagement event, and
the query drops posts with no bucket left in the window at request time.
Nothing here does I/O; the projection evaluates the same formula in SQL with
these constants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

WEIGHTS: Mapping[str, int] = {"LIKE": 1, "SHARE": 3, "REMIX": 5}
BUCKET = timedelta(hours=1)
MAX_FIRST = 100
"""The most posts a request may ask for."""


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    length: timedelta
    half_life: timedelta


WINDOWS: Mapping[str, Window] = {
    "HOUR": Window("HOUR", timedelta(hours=1), timedelta(minutes=15)),
    "DAY": Window("DAY", timedelta(days=1), timedelta(hours=6)),
    "WEEK": Window("WEEK", timedelta(days=7), timedelta(days=2)),
}
LONGEST = max(WINDOWS.values(), key=lambda window: window.length)


class Bucket(NamedTuple):
    """One post's engagement during one hour."""

    hour: datetime
    likes: int = 0
    shares: int = 0
    remixes: int = 0


def bucket_hour(moment: datetime) -> datetime:
    """The start of the (UTC) hour containing `moment`."""
    return moment.replace(minute=0, second=0, microsecond=0)


def window_start(window: Window, as_of: datetime) -> datetime:
    """The first bucket hour inside `window` as of `as_of`."""
    return bucket_hour(as_of - window.length)


def prune_before(as_of: datetime) -> datetime:
    """Buckets older than this hour are in no window, now or later: the projection deletes them."""
    return window_start(LONGEST, as_of)


def weight(bucket: Bucket) -> int:
    """The undecayed weight of a bucket."""
    return (
        WEIGHTS["LIKE"] * bucket.likes
        + WEIGHTS["SHARE"] * bucket.shares
        + WEIGHTS["REMIX"] * bucket.remixes
    )


def decay(window: Window, hour: datetime, as_of: datetime) -> float:
    """The factor a bucket's weight keeps as of `as_of`: halves every half-life."""
    age = max(0.0, (as_of - (hour + BUCKET / 2)).total_seconds())
    return math.pow(0.5, age / window.half_life.total_seconds())


def score(window: Window, buckets: Iterable[Bucket], as_of: datetime) -> float:
    """A post's score: its decayed bucket weights inside the window."""
    start = window_start(window, as_of)
    return sum((weight(b) * decay(window, b.hour, as_of) for b in buckets if b.hour >= start), 0.0)


def add(bucket: Bucket, kind: str) -> Bucket:
    """The bucket with one more engagement of `kind`."""
    if kind == "LIKE":
        return bucket._replace(likes=bucket.likes + 1)
    if kind == "SHARE":
        return bucket._replace(shares=bucket.shares + 1)
    return bucket._replace(remixes=bucket.remixes + 1)


def rank(scores: Mapping[str, float], limit: int | None = None) -> list[str]:
    """Post ids by score descending, then id in code point order (as SQL's COLLATE "C");
    posts with nothing inside the window (score 0 or less) are left out."""
    ranked = sorted((-s, post_id) for post_id, s in scores.items() if s > 0)
    return [post_id for _, post_id in ranked[:limit]]
