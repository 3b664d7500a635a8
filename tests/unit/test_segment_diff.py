"""Segment diffing as pure rules: the fold keeps the last set, and writes only what changed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from readmodels.segments.folds import (
    DiffStats,
    SegmentFold,
    memberships_by_customer,
    skipped_share,
)

CUSTOMERS = st.sampled_from(["cu-1", "cu-2", "cu-3"])
SEGMENT_SETS = st.frozensets(st.sampled_from(["vip", "b2b", "staff", "edu"]), max_size=4)
EVENTS = st.lists(st.tuples(CUSTOMERS, SEGMENT_SETS), max_size=30)
STORED = st.dictionaries(CUSTOMERS, SEGMENT_SETS)


def apply_in_batches(
    stored: dict[str, frozenset[str]], events: list[tuple[str, frozenset[str]]], size: int
) -> tuple[dict[str, frozenset[str]], DiffStats, int]:
    """Fold `events` batch by batch as the projection does: (memberships, stats, rows written)."""
    memberships = {c: s for c, s in stored.items() if s}
    total, written = DiffStats(), 0
    for start in range(0, len(events), size):
        batch = events[start : start + size]
        fold = SegmentFold({c: memberships.get(c, frozenset()) for c, _ in batch})
        for customer, segments in batch:
            fold.change(customer, segments)
        removed, added = fold.removed(), fold.added()
        written += len(removed) + len(added)
        pairs = {(c, s) for c, segments in memberships.items() for s in segments}
        pairs = (pairs - set(removed)) | set(added)
        memberships = memberships_by_customer(pairs)
        total = total + fold.stats
    return memberships, total, written


@given(STORED, EVENTS, st.integers(min_value=1, max_value=8))
def test_final_memberships_are_each_customers_last_set(
    stored: dict[str, frozenset[str]], events: list[tuple[str, frozenset[str]]], size: int
) -> None:
    """Whatever the batching, each customer ends with the set of their last event."""
    memberships, _, _ = apply_in_batches(stored, events, size)
    expected = {c: s for c, s in stored.items() if s}
    for customer, segments in events:
        expected[customer] = segments
    assert memberships == {c: s for c, s in expected.items() if s}


@given(STORED, EVENTS, st.integers(min_value=1, max_value=8))
def test_rows_written_never_exceed_rows_requested(
    stored: dict[str, frozenset[str]], events: list[tuple[str, frozenset[str]]], size: int
) -> None:
    """Diffing never writes more than delete-all-then-insert-all, and the batch writes no more
    than the per-event count; the stats do not depend on batching."""
    _, stats, written = apply_in_batches(stored, events, size)
    assert written <= stats.rows_written <= stats.rows_requested
    assert stats.rows_skipped == stats.rows_requested - stats.rows_written >= 0
    assert stats == apply_in_batches(stored, events, 1)[1]
    assert stats.events == len(events)


def test_stats_count_old_plus_new_requested_and_the_difference_written() -> None:
    """Per event: requested is |old| + |new|, written is the symmetric difference."""
    fold = SegmentFold({"cu-1": frozenset({"vip", "b2b"})})
    fold.change("cu-1", ["vip", "staff"])  # requested 2 + 2, written 2 (b2b out, staff in)
    fold.change("cu-1", ["vip", "staff"])  # requested 2 + 2, written 0
    fold.change("cu-2", ["edu", "edu"])  # requested 0 + 1, written 1
    assert fold.stats == DiffStats(events=3, rows_requested=9, rows_written=3)
    assert fold.stats.rows_skipped == 6
    assert fold.removed() == [("cu-1", "b2b")]
    assert fold.added() == [("cu-1", "staff"), ("cu-2", "edu")]
    assert fold.changed_customers() == ["cu-1", "cu-2"]


def test_a_change_back_within_a_batch_writes_nothing() -> None:
    """A customer who leaves a segment and rejoins it in one batch is unchanged: no rows, no tag."""
    fold = SegmentFold({"cu-1": frozenset({"vip"})})
    fold.change("cu-1", [])
    fold.change("cu-1", ["vip"])
    assert (fold.removed(), fold.added(), fold.changed_customers()) == ([], [], [])
    assert fold.stats == DiffStats(events=2, rows_requested=2, rows_written=2)


def test_skipped_share_is_undefined_before_anything_was_requested() -> None:
    """No requested rows: no share; otherwise skipped over requested."""
    assert skipped_share(0, 0) is None
    assert skipped_share(8, 2) == 0.25
