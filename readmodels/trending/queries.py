"""Read-model queries of trending: one statement per call, results aligned with keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from readmodels.reader import Reader
from readmodels.trending import folds

# Per key, the window's top `first` off `ix_trending_rank`, published posts only
# (posts.published is the feeds read model's word). With a cutoff, a post whose
# newest bucket left the window since the ranking was computed is skipped. The
# checks run on a bounded head of the ranking (CANDIDATES past `first`), so a
# stale ranking (quiet hours: every post's engagement has left the window) costs
# a few hundred index probes, not one per ranked post; a page can then come
# back shorter than `first`, never slower.
CANDIDATES = 200
_TRENDING = f"""
SELECT k.idx, t.post_id
FROM unnest($1::text[], $2::int[], $3::timestamptz[]) WITH ORDINALITY AS k(win, first, cutoff, idx)
CROSS JOIN LATERAL (
    SELECT h.post_id, h.score
    FROM (
        SELECT r.post_id, r.score FROM trending r
        WHERE r."window" = k.win
        ORDER BY r.score DESC, r.post_id COLLATE "C"
        LIMIT k.first + {CANDIDATES}
    ) h
    JOIN posts p ON p.id = h.post_id AND p.published
    WHERE k.cutoff IS NULL OR EXISTS (
        SELECT 1 FROM trending_buckets b WHERE b.post_id = h.post_id AND b.hour >= k.cutoff)
    ORDER BY h.score DESC, h.post_id COLLATE "C"
    LIMIT k.first
) AS t
ORDER BY k.idx, t.score DESC, t.post_id COLLATE "C"
"""


async def trending_page(
    db: Reader, keys: Sequence[tuple[str, int]], now: datetime | None = None
) -> list[list[str]]:
    """For each (window, first): the ids of the window's top `first` published posts,
    score descending then id. With `now`, posts with no engagement left inside
    the window at `now` are skipped (the ranking itself is as of the last event).
    """
    cutoffs = [
        None if now is None else folds.window_start(folds.WINDOWS[window], now)
        for window, _ in keys
    ]
    rows = await db.fetch(
        _TRENDING, [window for window, _ in keys], [first for _, first in keys], cutoffs
    )
    pages: list[list[str]] = [[] for _ in keys]
    for row in rows:
        pages[row["idx"] - 1].append(row["post_id"])
    return pages
