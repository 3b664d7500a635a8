"""The trending score: weights, decay, the window cut, ties, and buckets against a recount."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from readmodels.trending import folds
from readmodels.trending.folds import WINDOWS, Bucket

T = datetime(2026, 3, 1, 12, 40, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_shares_and_remixes_weigh_more_than_likes() -> None:
    """A like weighs 1, a share 3, a remix 5."""
    assert folds.weight(Bucket(T, likes=1)) == 1
    assert folds.weight(Bucket(T, shares=1)) == 3
    assert folds.weight(Bucket(T, remixes=1)) == 5
    assert folds.weight(Bucket(T, likes=2, shares=1, remixes=1)) == 10


def test_weight_halves_every_half_life_from_the_bucket_midpoint() -> None:
    """A bucket one half-life older than another keeps half its weight, per window."""
    for window in WINDOWS.values():
        hour = folds.bucket_hour(T - window.half_life)
        as_of = hour + HOUR / 2 + window.half_life
        assert math.isclose(folds.decay(window, hour, as_of), 0.5)
        assert math.isclose(folds.decay(window, hour, as_of + window.half_life), 0.25)


def test_the_current_hour_is_never_weighed_above_one() -> None:
    """Age is clamped at zero: events of the current hour keep their full weight."""
    hour = folds.bucket_hour(T)
    assert folds.decay(WINDOWS["HOUR"], hour, hour + timedelta(minutes=5)) == 1.0


def test_only_buckets_overlapping_the_window_count() -> None:
    """HOUR sees this hour and the previous one; DAY 25 buckets; WEEK 169."""
    buckets = [Bucket(folds.bucket_hour(T) - n * HOUR, likes=1) for n in range(200)]
    inside = {
        name: [b for b in buckets if b.hour >= folds.window_start(window, T)]
        for name, window in WINDOWS.items()
    }
    assert {name: len(kept) for name, kept in inside.items()} == {
        "HOUR": 2,
        "DAY": 25,
        "WEEK": 169,
    }
    for name, window in WINDOWS.items():
        expected = sum(folds.decay(window, b.hour, T) for b in inside[name])
        assert math.isclose(folds.score(window, buckets, T), expected)
    assert folds.prune_before(T) == folds.window_start(WINDOWS["WEEK"], T)


def test_recent_engagement_beats_older_engagement_of_the_same_weight() -> None:
    """Two posts with one remix each: the more recent ranks first in every window."""
    recent = [Bucket(folds.bucket_hour(T), remixes=1)]
    older = [Bucket(folds.bucket_hour(T) - HOUR, remixes=1)]
    for window in WINDOWS.values():
        assert folds.score(window, recent, T) > folds.score(window, older, T)


def test_rank_orders_by_score_then_id_in_code_point_order() -> None:
    """Equal scores are ordered by id, byte order ("B" before "a"); nothing scores 0."""
    scores = {"a": 2.0, "B": 2.0, "c": 3.0, "z": 0.0, "A10": 2.0, "A9": 1.0}
    assert folds.rank(scores) == ["c", "A10", "B", "a", "A9"]
    assert folds.rank(scores, limit=2) == ["c", "A10"]


engagements = st.lists(
    st.tuples(st.integers(0, 24 * 60 * 9), st.sampled_from(["LIKE", "SHARE", "REMIX"])),
    max_size=60,
)


@given(engagements, st.integers(1, 10))
def test_incremental_bucket_updates_equal_a_recount(
    raw: list[tuple[int, str]], splits: int
) -> None:
    """Adding deltas batch by batch gives the buckets (and scores) of one recount of the events."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    events = [(start + timedelta(minutes=m), kind) for m, kind in raw]
    stored: dict[datetime, Bucket] = {}
    size = max(1, len(events) // splits)
    for i in range(0, len(events), size):
        delta: dict[datetime, Bucket] = {}
        for moment, kind in events[i : i + size]:
            hour = folds.bucket_hour(moment)
            delta[hour] = folds.add(delta.get(hour, Bucket(hour)), kind)
        for hour, d in delta.items():
            old = stored.get(hour, Bucket(hour))
            stored[hour] = Bucket(
                hour, old.likes + d.likes, old.shares + d.shares, old.remixes + d.remixes
            )
    as_of = max((moment for moment, _ in events), default=start)
    for window in WINDOWS.values():
        recount = sum(
            folds.WEIGHTS[kind] * folds.decay(window, folds.bucket_hour(moment), as_of)
            for moment, kind in events
            if folds.bucket_hour(moment) >= folds.window_start(window, as_of)
        )
        assert math.isclose(folds.score(window, stored.values(), as_of), recount, abs_tol=1e-9)
