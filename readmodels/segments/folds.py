"""Pure segment-membership rules: fold CustomerSegmentsChanged events, then diff.

Each event carries a customer's full new set of segments. A naive projection
would delete the customer's rows and insert the new set for every event; the
fold keeps the sets in memory over a batch and writes only what differs
between the set before the batch and the set after it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Membership = tuple[str, str]  # (customer id, segment)


@dataclass(frozen=True, slots=True)
class DiffStats:
    """What a run of events asked for, and what diffing wrote of it.

    `rows_requested`: rows a delete-all-then-insert-all projection would have
    written (per event, the old set's size plus the new set's size).
    `rows_written`: rows a diff writes, event by event (the symmetric
    difference of old and new). Counting per event keeps the numbers
    independent of batching, so a live runner and a rebuild agree; a batch
    writes at most that many rows, fewer when one customer changes twice in it.
    """

    events: int = 0
    rows_requested: int = 0
    rows_written: int = 0

    @property
    def rows_skipped(self) -> int:
        return self.rows_requested - self.rows_written

    def __add__(self, other: DiffStats) -> DiffStats:
        return DiffStats(
            self.events + other.events,
            self.rows_requested + other.rows_requested,
            self.rows_written + other.rows_written,
        )


def skipped_share(rows_requested: int, rows_skipped: int) -> float | None:
    """The share of requested rows diffing skipped; None before any was requested."""
    if rows_requested == 0:
        return None
    return rows_skipped / rows_requested


@dataclass(slots=True)
class SegmentFold:
    """Memberships of a batch's customers, before and after its events."""

    before: Mapping[str, frozenset[str]]
    after: dict[str, frozenset[str]] = field(default_factory=dict)
    stats: DiffStats = field(default_factory=DiffStats)

    def current(self, customer_id: str) -> frozenset[str]:
        found = self.after.get(customer_id)
        return found if found is not None else self.before.get(customer_id, frozenset())

    def change(self, customer_id: str, segments: Iterable[str]) -> None:
        """A CustomerSegmentsChanged: `segments` is the customer's whole new set."""
        old = self.current(customer_id)
        new = frozenset(segments)
        self.after[customer_id] = new
        self.stats = self.stats + DiffStats(1, len(old) + len(new), len(old ^ new))

    def removed(self) -> list[Membership]:
        """Pairs to delete: in a customer's set before the batch, not after it."""
        return sorted(
            (customer, segment)
            for customer, new in self.after.items()
            for segment in self.before.get(customer, frozenset()) - new
        )

    def added(self) -> list[Membership]:
        """Pairs to insert: in a customer's set after the batch, not before it."""
        return sorted(
            (customer, segment)
            for customer, new in self.after.items()
            for segment in new - self.before.get(customer, frozenset())
        )

    def changed_customers(self) -> list[str]:
        """Customers whose set differs after the batch (their tags are invalidated)."""
        return sorted(
            customer
            for customer, new in self.after.items()
            if new != self.before.get(customer, frozenset())
        )


def memberships_by_customer(pairs: Iterable[Membership]) -> dict[str, frozenset[str]]:
    grouped: dict[str, set[str]] = {}
    for customer, segment in pairs:
        grouped.setdefault(customer, set()).add(segment)
    return {customer: frozenset(segments) for customer, segments in grouped.items()}
