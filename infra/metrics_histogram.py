"""Histograms observed many times per request, counted in plain integers and applied in one go.

A CategoryListing request calls its non-trivial resolvers about 250 times. One
`Histogram.observe` per call would cost 250 lock round trips, and under
`PROMETHEUS_MULTIPROC_DIR` 500 writes to a memory-mapped file (1.4 µs each,
measured). Here a request's values are split at the bucket bounds (bisect, in
C) into per-label pending counts, and
`flush` adds those to the histogram's buckets, one increment per bucket that
moved: on scrape, and every second under multiprocess mode.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import Histogram

OTHER_LABEL = "other"


@dataclass(slots=True)
class _Pending:
    counts: list[int]
    total: float = 0.0
    dirty: bool = False
    child: Histogram | None = field(default=None)


def add_counts(child: Histogram, counts: Sequence[int], total: float) -> None:
    """Add per-bucket counts (not cumulative, aligned with the bucket bounds, +Inf last)
    and their sum to one histogram child, as that many `observe` calls would.

    prometheus-client has no public call for this; its histogram keeps one value per
    bucket (`_buckets`, non-cumulative) and one for the sum (`_sum`), in memory or in
    the multiprocess files alike. tests/unit/test_execution_metrics.py checks the
    result against `observe`, so a change in the library shows there first.
    """
    buckets = child._buckets
    for index, count in enumerate(counts):
        if count:
            buckets[index].inc(count)
    child._sum.inc(total)


class PendingHistogram:
    """Observations of a histogram with at most one label, held until `flush`.

    Label values past `max_labels` distinct ones count under `other`, so a label
    fed from code paths (resolver fields, loader names) stays bounded even if one
    were fed from elsewhere by mistake. An unlabelled histogram (`labelled=False`)
    takes `""` as its label.
    """

    def __init__(
        self,
        histogram: Histogram,
        buckets: Sequence[float],
        *,
        labelled: bool = True,
        max_labels: int = 1,
    ) -> None:
        self._histogram = histogram
        self._labelled = labelled
        self._bounds = (*(float(b) for b in buckets), float("inf"))
        self._max_labels = max_labels
        self._pending: dict[str, _Pending] = {}

    def _entry(self, label: str) -> _Pending:
        entry = self._pending.get(label)
        if entry is None:
            if len(self._pending) >= self._max_labels:
                label = OTHER_LABEL
                entry = self._pending.get(label)
            if entry is None:
                entry = self._pending[label] = _Pending([0] * len(self._bounds))
        return entry

    def observe(self, label: str, value: float) -> None:
        """One observation."""
        entry = self._pending.get(label) or self._entry(label)
        entry.counts[bisect_left(self._bounds, value)] += 1
        entry.total += value
        entry.dirty = True

    def observe_all(self, label: str, values: Sequence[float]) -> None:
        """Many observations of one label. The calls of one field tend to land in one or
        two buckets (a page's 48 prices resolve with the same batch): min and max find
        the range, and only a range wider than one bucket is sorted and split."""
        if not values:
            return
        entry = self._pending.get(label) or self._entry(label)
        bounds = self._bounds
        counts = entry.counts
        index = bisect_left(bounds, min(values))
        last = bisect_left(bounds, max(values))
        if index == last:
            counts[index] += len(values)
        else:
            ordered = sorted(values)
            start = 0
            while index < last:
                end = bisect_right(ordered, bounds[index], start)
                counts[index] += end - start
                start = end
                index += 1
            counts[last] += len(ordered) - start
        entry.total += sum(values)
        entry.dirty = True

    def flush(self) -> None:
        """Apply what was observed since the last flush to the histogram."""
        for label, entry in self._pending.items():
            if not entry.dirty:
                continue
            child = entry.child
            if child is None:
                child = self._histogram.labels(label) if self._labelled else self._histogram
                entry.child = child
            add_counts(child, entry.counts, entry.total)
            entry.counts = [0] * len(self._bounds)
            entry.total = 0.0
            entry.dirty = False
