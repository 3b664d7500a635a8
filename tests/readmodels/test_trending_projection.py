"""The trending projection on real PostgreSQL: rankings against a reference computed from
the raw events, unpublished posts, replays, rebuilds, pruning and tags."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.eventlog.store import read_events
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from readmodels.trending import folds
from readmodels.trending.projection import TrendingProjection
from readmodels.trending.tables import TRENDING_TABLES
from tests.readmodels.streams import Raw, StreamBuilder, append_raw

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
Rows = dict[str, list[tuple[Any, ...]]]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def engage(builder: StreamBuilder, post_id: str, kind: str, at: datetime) -> Raw:
    raw = builder.add("EngagementRecorded", postId=post_id, userId="u-1", kind=kind)
    raw["occurredAt"] = _stamp(at)
    return raw


def unpublish(builder: StreamBuilder, post_id: str) -> Raw:
    return builder.add("PostUnpublished", postId=post_id)


def random_engagement(seed: int) -> StreamBuilder:
    """Nine days of engagement on 25 posts, mostly in time order with late events mixed in
    (some more than a week late), and unpublished posts, one engaged with afterwards."""
    builder = StreamBuilder(random.Random(seed))
    rng = builder.rng
    moment = T0
    for i in range(600):
        moment += timedelta(minutes=rng.randint(0, 40))
        at = moment
        if rng.random() < 0.08:
            at = moment - timedelta(hours=rng.randint(1, 200))  # late
        kind = rng.choice(["LIKE", "LIKE", "LIKE", "SHARE", "REMIX"])
        engage(builder, f"p-{rng.randint(0, 24):02d}", kind, at)
        if i in (200, 450):
            unpublish(builder, f"p-{i % 25:02d}")
    engage(builder, "p-00", "REMIX", moment)  # after p-00 was unpublished (i = 200)
    return builder


def reference(events: list[Raw]) -> dict[str, dict[str, float]]:
    """Scores per window from the raw events alone: each event weighed and decayed from its
    hour's midpoint as of the latest engagement, engagement before an unpublish dropped."""
    times = {
        i: datetime.fromisoformat(raw["occurredAt"].replace("Z", "+00:00"))
        for i, raw in enumerate(events)
    }
    as_of = max(times[i] for i, raw in enumerate(events) if raw["type"] == "EngagementRecorded")
    last_unpublish: dict[str, int] = {}
    for i, raw in enumerate(events):
        if raw["type"] == "PostUnpublished":
            last_unpublish[raw["data"]["postId"]] = i
    scores: dict[str, dict[str, float]] = {name: {} for name in folds.WINDOWS}
    for i, raw in enumerate(events):
        post = raw["data"]["postId"]
        if raw["type"] != "EngagementRecorded" or i < last_unpublish.get(post, -1):
            continue
        hour = times[i].replace(minute=0, second=0)
        for name, window in folds.WINDOWS.items():
            if hour + timedelta(hours=1) <= as_of - window.length:
                continue  # the event's hour does not overlap the window
            age = max(0.0, (as_of - hour - timedelta(minutes=30)).total_seconds())
            term = {"LIKE": 1, "SHARE": 3, "REMIX": 5}[raw["data"]["kind"]]
            term *= 0.5 ** (age / window.half_life.total_seconds())
            scores[name][post] = scores[name].get(post, 0.0) + term
    return scores


async def project(engine: AsyncEngine, builder: StreamBuilder, batch_size: int = 100) -> set[str]:
    """Append the builder's events (then forget them), catch up, return the tags announced."""
    await append_raw(engine, builder.events)
    builder.events.clear()
    outcomes: list[BatchOutcome] = []
    await catch_up(engine, [TrendingProjection()], batch_size=batch_size, on_batch=outcomes.append)
    return set().union(*(o.tags for o in outcomes))


async def tables(engine: AsyncEngine) -> Rows:
    async with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in await conn.execute(select(table).order_by(*table.c))]
            for table in TRENDING_TABLES
        }


async def rankings(engine: AsyncEngine) -> dict[str, list[tuple[str, float]]]:
    """Each window's rows in the order a request reads them."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                'SELECT "window", post_id, score FROM trending '
                'ORDER BY "window", score DESC, post_id COLLATE "C"'
            )
        )
        found: dict[str, list[tuple[str, float]]] = {name: [] for name in folds.WINDOWS}
        for row in rows:
            found[row.window].append((row.post_id, row.score))
        return found


def rounded_rank(scores: dict[str, float]) -> list[str]:
    """Rank with scores rounded to 9 digits: summing in another order may move the last bits."""
    return folds.rank({post: round(score, 9) for post, score in scores.items()})


async def test_rankings_equal_a_reference_computed_from_the_raw_events(
    engine: AsyncEngine,
) -> None:
    """Every window ranks exactly the posts the reference scores, in its order, with its scores."""
    builder = random_engagement(1)
    events = list(builder.events)
    await project(engine, builder, batch_size=37)
    expected = reference(events)
    found = await rankings(engine)
    for name in folds.WINDOWS:
        scores = dict(found[name])
        assert set(scores) == set(expected[name]), name
        for post, score in expected[name].items():
            assert math.isclose(scores[post], score, rel_tol=1e-9), (name, post)
        assert rounded_rank(scores) == rounded_rank(expected[name]), name
        assert [post for post, _ in found[name]] == rounded_rank(scores), name
    assert 0 < len(found["HOUR"]) < len(found["DAY"]) <= len(found["WEEK"])
    assert "p-00" in dict(found["HOUR"])  # engaged with after its unpublish: ranked again


async def test_weights_decide_between_posts_engaged_in_the_same_hour(engine: AsyncEngine) -> None:
    """In one hour, a remix beats a share which beats two likes; ties go by id."""
    builder = StreamBuilder(random.Random(2))
    at = T0 + timedelta(minutes=10)
    engage(builder, "likes", "LIKE", at)
    engage(builder, "likes", "LIKE", at)
    engage(builder, "share", "SHARE", at)
    engage(builder, "remix", "REMIX", at)
    engage(builder, "b", "LIKE", at)
    engage(builder, "a", "LIKE", at)
    tags = await project(engine, builder)
    found = await rankings(engine)
    assert tags == {"trending:HOUR", "trending:DAY", "trending:WEEK"}
    for name in folds.WINDOWS:
        assert [post for post, _ in found[name]] == ["remix", "share", "likes", "a", "b"]
        assert [score for _, score in found[name]] == [5.0, 3.0, 2.0, 1.0, 1.0]


async def test_an_unpublished_post_leaves_every_window(engine: AsyncEngine) -> None:
    """Unpublishing drops the post's buckets and rows and announces the windows it was in."""
    builder = StreamBuilder(random.Random(3))
    engage(builder, "gone", "REMIX", T0)
    engage(builder, "kept", "LIKE", T0 - timedelta(days=2))
    await project(engine, builder)
    unpublish(builder, "gone")
    tags = await project(engine, builder)
    rows = await tables(engine)
    assert tags == {"trending:HOUR", "trending:DAY", "trending:WEEK"}
    assert [row[1] for row in rows["trending"]] == ["kept"]
    assert [row[0] for row in rows["trending_buckets"]] == ["kept"]


async def test_old_buckets_are_pruned_as_time_moves_on(engine: AsyncEngine) -> None:
    """Buckets older than a week before the latest engagement go, and so do their rows;
    an event more than a week late counts nowhere."""
    builder = StreamBuilder(random.Random(4))
    engage(builder, "old", "LIKE", T0)
    await project(engine, builder)
    engage(builder, "new", "LIKE", T0 + timedelta(days=8))
    engage(builder, "late", "SHARE", T0 + timedelta(hours=1))
    tags = await project(engine, builder)
    rows = await tables(engine)
    assert [row[:2] for row in rows["trending_buckets"]] == [("new", T0 + timedelta(days=8))]
    assert {row[1] for row in rows["trending"]} == {"new"}
    assert rows["trending_clock"] == [(1, T0 + timedelta(days=8))]
    assert "trending:WEEK" in tags


async def test_applying_the_same_events_again_changes_nothing(engine: AsyncEngine) -> None:
    """A replayed batch counts each event once (and, without unpublishes, announces nothing)."""
    builder = random_engagement(5)
    builder.events = [raw for raw in builder.events if raw["type"] == "EngagementRecorded"]
    await append_raw(engine, builder.events)
    projection = TrendingProjection()
    async with engine.begin() as conn:
        events = await read_events(conn, after=0, upto=10_000, limit=10_000)
        await projection.apply(conn, events)
    once = await tables(engine)
    async with engine.begin() as conn:
        tags = await projection.apply(conn, events)
    assert tags == set()
    assert await tables(engine) == once


async def test_live_batches_and_a_rebuild_agree(engine: AsyncEngine) -> None:
    """Small live batches and one rebuild give the same buckets, clock and rankings."""
    builder = random_engagement(6)
    count = len(builder.events)
    await project(engine, builder, batch_size=3)
    live = await tables(engine)
    report = await rebuild(engine, TrendingProjection())
    assert report.events == count
    assert await tables(engine) == live
