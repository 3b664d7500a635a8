"""The trending projection: hourly engagement buckets and each window's ranking.

Events alone do not move time, so every ranking is as of one moment: the
latest `occurredAt` of any engagement event seen (`trending_clock`), never
the wall clock, so a rebuild equals live. Each batch walks its events in
position order (an unpublish drops the post's buckets and rows, and whatever
engagement the batch had counted for it so far), adds the engagement to the
hourly buckets (each bucket remembers the last position it counted, so a
replayed event counts once), moves the clock, deletes buckets older than the
longest window, then recomputes the three rankings from the buckets left, in
one statement, with the formula of `folds` (the same constants). The work
per batch is bounded by the buckets of one week, whatever the length of the
log.

Freshness: a ranking is as of the last engagement event. Between events
scores are not re-decayed; decay is uniform within a window, so the order
only goes stale as buckets leave the window, and the query drops posts with
no bucket left in it at request time. `trending:<window>` is announced when a
window's order or membership changes; a post's publication (the query joins
`posts.published`) announces the windows the post ranks in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.trending import folds
from readmodels.trending.tables import TRENDING_TABLES

_LOAD_CLOCK = text("SELECT as_of FROM trending_clock WHERE id = 1")
_SET_CLOCK = text(
    "INSERT INTO trending_clock (id, as_of) VALUES (1, :as_of) "
    "ON CONFLICT (id) DO UPDATE SET as_of = excluded.as_of"
)
_DROP_POST_BUCKETS = text("DELETE FROM trending_buckets WHERE post_id = ANY(CAST(:ids AS text[]))")
_DROP_POST_ROWS = text(
    'DELETE FROM trending WHERE post_id = ANY(CAST(:ids AS text[])) RETURNING "window"'
)
_WINDOWS_OF_POSTS = text(
    'SELECT DISTINCT "window" FROM trending WHERE post_id = ANY(CAST(:ids AS text[]))'
)
# Events at or before a bucket's `version` were counted already (a replayed
# batch): only later ones add to it.
_ADD_BUCKETS = text(
    """
    WITH ev AS (
        SELECT * FROM unnest(CAST(:posts AS text[]), CAST(:hours AS timestamptz[]),
                             CAST(:kinds AS text[]), CAST(:positions AS bigint[]))
            AS e(post_id, hour, kind, position)
    ),
    fresh AS (
        SELECT e.post_id, e.hour,
               count(*) FILTER (WHERE e.kind = 'LIKE') AS likes,
               count(*) FILTER (WHERE e.kind = 'SHARE') AS shares,
               count(*) FILTER (WHERE e.kind = 'REMIX') AS remixes,
               max(e.position) AS version
        FROM ev e LEFT JOIN trending_buckets b ON b.post_id = e.post_id AND b.hour = e.hour
        WHERE e.position > coalesce(b.version, 0)
        GROUP BY e.post_id, e.hour
    )
    INSERT INTO trending_buckets (post_id, hour, likes, shares, remixes, version)
    SELECT post_id, hour, likes, shares, remixes, version FROM fresh
    ON CONFLICT (post_id, hour) DO UPDATE SET
        likes = trending_buckets.likes + excluded.likes,
        shares = trending_buckets.shares + excluded.shares,
        remixes = trending_buckets.remixes + excluded.remixes,
        version = excluded.version
    """
)
_PRUNE = text("DELETE FROM trending_buckets WHERE hour < :before")
# Every window's scores from its buckets as of :as_of (summed in hour order, so
# the float result does not depend on the physical row order), written over
# the old rows; rows of posts with no bucket left in a window go. The CTEs all
# read the table as it was, so the final SELECT compares old and new ranks and
# returns the windows whose order or membership changed.
_RERANK = text(
    """
    WITH params AS (
        SELECT * FROM unnest(CAST(:windows AS text[]), CAST(:starts AS timestamptz[]),
                             CAST(:half_lives AS float8[])) AS p(win, start, half_life)
    ),
    fresh AS (
        SELECT p.win, b.post_id,
               sum((b.likes * :w_like + b.shares * :w_share + b.remixes * :w_remix)
                   * power(CAST(0.5 AS float8), CAST(greatest(0, extract(epoch FROM
                         CAST(:as_of AS timestamptz) - b.hour - interval '30 minutes'))
                         AS float8) / p.half_life)
                   ORDER BY b.hour) AS score
        FROM params p JOIN trending_buckets b ON b.hour >= p.start
        GROUP BY p.win, b.post_id
    ),
    new_ranks AS (
        SELECT win, post_id, row_number() OVER (
            PARTITION BY win ORDER BY score DESC, post_id COLLATE "C") AS rank
        FROM fresh
    ),
    old_ranks AS (
        SELECT "window" AS win, post_id, row_number() OVER (
            PARTITION BY "window" ORDER BY score DESC, post_id COLLATE "C") AS rank
        FROM trending
    ),
    written AS (
        INSERT INTO trending ("window", post_id, score, as_of, version)
        SELECT win, post_id, score, CAST(:as_of AS timestamptz), CAST(:version AS bigint)
        FROM fresh
        ON CONFLICT ("window", post_id) DO UPDATE
            SET score = excluded.score, as_of = excluded.as_of, version = excluded.version
    ),
    dropped AS (
        DELETE FROM trending t
        WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.win = t."window" AND f.post_id = t.post_id)
    )
    SELECT DISTINCT coalesce(n.win, o.win) AS win
    FROM new_ranks n FULL JOIN old_ranks o ON o.win = n.win AND o.post_id = n.post_id
    WHERE n.rank IS DISTINCT FROM o.rank
    """
)


def _tags(rows: Iterable[Any]) -> set[str]:
    """`trending:<window>` of each row's first column (a window name)."""
    return {f"trending:{row[0]}" for row in rows}


class TrendingProjection:
    """Posts ranked by time-decayed engagement per window (HOUR, DAY, WEEK)."""

    name = "trending"
    event_types = frozenset({"EngagementRecorded", "PostUnpublished", "PostPublished"})
    tables: tuple[Table, ...] = TRENDING_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        counted: list[StoredEvent] = []
        unpublished: set[str] = set()
        published: set[str] = set()
        latest: datetime | None = None
        version = 0  # position of the batch's last engagement event
        for event in events:
            post_id = event.data["postId"]
            if event.type == "EngagementRecorded":
                counted.append(event)
                if latest is None or event.occurred_at > latest:
                    latest = event.occurred_at
                version = event.position
            elif event.type == "PostUnpublished":
                unpublished.add(post_id)
                counted = [e for e in counted if e.data["postId"] != post_id]
            else:
                published.add(post_id)
        tags: set[str] = set()
        if unpublished:
            ids = sorted(unpublished)
            await conn.execute(_DROP_POST_BUCKETS, {"ids": ids})
            tags |= _tags(await conn.execute(_DROP_POST_ROWS, {"ids": ids}))
        if published:
            tags |= _tags(await conn.execute(_WINDOWS_OF_POSTS, {"ids": sorted(published)}))
        if latest is None:
            return tags
        await _add_buckets(conn, counted)
        as_of = await _advance_clock(conn, latest)
        await conn.execute(_PRUNE, {"before": folds.prune_before(as_of)})
        return tags | await _rerank(conn, as_of, version)


async def _add_buckets(conn: AsyncConnection, events: list[StoredEvent]) -> None:
    if not events:
        return  # every engagement of the batch was on a post it then unpublished
    await conn.execute(
        _ADD_BUCKETS,
        {
            "posts": [e.data["postId"] for e in events],
            "hours": [folds.bucket_hour(e.occurred_at) for e in events],
            "kinds": [e.data["kind"] for e in events],
            "positions": [e.position for e in events],
        },
    )


async def _advance_clock(conn: AsyncConnection, latest: datetime) -> datetime:
    """The clock moved to the batch's latest engagement time, never backwards."""
    current = (await conn.execute(_LOAD_CLOCK)).scalar_one_or_none()
    if current is not None and current >= latest:
        return current  # type: ignore[no-any-return]
    await conn.execute(_SET_CLOCK, {"as_of": latest})
    return latest


async def _rerank(conn: AsyncConnection, as_of: datetime, version: int) -> set[str]:
    windows = list(folds.WINDOWS.values())
    rows = await conn.execute(
        _RERANK,
        {
            "windows": [w.name for w in windows],
            "starts": [folds.window_start(w, as_of) for w in windows],
            "half_lives": [w.half_life.total_seconds() for w in windows],
            "w_like": folds.WEIGHTS["LIKE"],
            "w_share": folds.WEIGHTS["SHARE"],
            "w_remix": folds.WEIGHTS["REMIX"],
            "as_of": as_of,
            "version": version,
        },
    )
    return _tags(rows)
