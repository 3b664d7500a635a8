"""The demo world as one lazy, deterministic stream of raw events (pure: no I/O).

The log is laid out in phases, each later in time than the one before, so
occurredAt never decreases along the stream:

1. stores, creators and categories (400 days before `now`);
2. products with their price and first stock count (365 to 125 days before,
   oldest product first);
3. collections, promotions and first customer segments (124-122 days before);
4. the last 120 days as a time-ordered merge of streams: orders and their
   follow-ups, stock movements, store traffic, segment changes, product
   deletions, promotion deactivations, posts, follows, engagement, insights.

Event ids come from a generator seeded with `seed` alone and are drawn in
stream order, so the same seed and `now` give the same events and re-seeding
an event log is a no-op. Re-seeding with the same seed but another `now`
reuses the ids for events that differ, which the log would silently skip:
start from an empty log (or change the seed) to move a world in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from random import Random
from typing import Any
from uuid import UUID

from readmodels.demo.catalog import (
    collection_drafts,
    deletion_drafts,
    product_drafts,
    structure_drafts,
)
from readmodels.demo.commerce import DayPlan, order_drafts, traffic_drafts, window_start
from readmodels.demo.engagement import engagement_drafts
from readmodels.demo.follows import follow_drafts
from readmodels.demo.insights import insight_drafts
from readmodels.demo.inventory import low_stock_drafts, stock_drafts
from readmodels.demo.posts import PostPlan, post_drafts
from readmodels.demo.promotions import deactivation_drafts, promotion_drafts
from readmodels.demo.scales import Scale
from readmodels.demo.segments import initial_segment_drafts, segment_change_drafts
from readmodels.demo.timeline import DAY, Draft, merge_streams, stamp, unix_seconds
from readmodels.demo.world import World

STRUCTURE_DAYS_AGO = 400
COLLECTIONS_DAYS_AGO = 124
PROMOTIONS_DAYS_AGO = 123
SEGMENTS_DAYS_AGO = 122


def generate_events(scale: Scale, *, seed: int = 42, now: datetime) -> Iterator[dict[str, Any]]:
    """Raw events ({"id", "type", "occurredAt", "data"}) of the demo world, lazily.

    `now` must be timezone-aware; nothing happens after it. Memory stays flat
    in the number of events: only compact per-product and per-post arrays
    are kept.
    """
    return _events(scale, seed, unix_seconds(now))


def _events(scale: Scale, seed: int, now: int) -> Iterator[dict[str, Any]]:
    ids = Random(f"{seed}:ids")
    for at, event_type, data in world_drafts(World(scale, seed, now)):
        yield {
            "id": str(UUID(int=ids.getrandbits(128), version=4)),
            "type": event_type,
            "occurredAt": stamp(at),
            "data": data,
        }


def world_drafts(world: World) -> Iterator[Draft]:
    """Every event of the world, phase after phase, before ids are assigned."""
    now = world.now
    plan, posts = DayPlan(world), PostPlan(world)
    start = window_start(world)
    timeline = merge_streams(
        [
            deletion_drafts(world, start),
            deactivation_drafts(world, start),
            segment_change_drafts(world, start),
            order_drafts(world, plan),
            stock_drafts(world, plan),
            low_stock_drafts(world),
            traffic_drafts(world, plan),
            post_drafts(world, posts),  # before engagement: a publish wins a tie
            engagement_drafts(world, posts),
            follow_drafts(world, start),
            insight_drafts(world),
        ]
    )
    return chain(
        structure_drafts(world, now - STRUCTURE_DAYS_AGO * DAY),
        product_drafts(world),
        collection_drafts(world, now - COLLECTIONS_DAYS_AGO * DAY),
        promotion_drafts(world, now - PROMOTIONS_DAYS_AGO * DAY),
        initial_segment_drafts(world, now - SEGMENTS_DAYS_AGO * DAY),
        timeline,
    )
