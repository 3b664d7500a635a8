"""Loading the demo world into the event log, batch by batch.

Each batch goes through the same validation as any ingest, so a generator
bug fails loudly here instead of as a confusing projector error later. The
next batch is generated and validated in a worker thread while the current
one is written, which keeps the event loop responsive and overlaps the
CPU-bound half with the database half. Appends are idempotent by event id,
so running the seed twice with the same seed and `now` appends nothing new.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.demo import commerce, follows, inventory, posts, promotions, segments
from readmodels.demo.generator import generate_events
from readmodels.demo.scales import Scale
from readmodels.demo.world import deleted_count
from readmodels.eventlog.store import append_events
from readmodels.events import Event, validate_events

SHOWN_ERRORS = 3


class DemoSeedError(Exception):
    """The demo generator produced events the log rejects: a bug in readmodels.demo."""


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seeding run did: events generated, how many were new to the log, wall time."""

    events: int
    appended: int
    seconds: float


async def seed_demo(
    engine: AsyncEngine,
    scale: Scale,
    *,
    seed: int = 42,
    now: datetime,
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Generate the world for (scale, seed, now) and append it, calling on_progress per batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    raw = generate_events(scale, seed=seed, now=now)
    total = appended = 0
    upcoming = asyncio.create_task(asyncio.to_thread(_prepare, raw, batch_size, 0))
    try:
        while batch := await upcoming:
            total += len(batch)
            upcoming = asyncio.create_task(asyncio.to_thread(_prepare, raw, batch_size, total))
            result = await append_events(engine, batch)
            appended += result.appended
            if on_progress is not None:
                on_progress(len(batch))
    finally:
        if not upcoming.done():
            # The worker thread cannot be interrupted; let it finish unobserved.
            upcoming.add_done_callback(_discard_outcome)
    return SeedReport(events=total, appended=appended, seconds=time.perf_counter() - started)


def _prepare(raw: Iterator[dict[str, Any]], size: int, offset: int) -> list[Event]:
    """The next batch, validated; raises DemoSeedError naming the first bad events."""
    batch = list(islice(raw, size))
    events, errors = validate_events(batch)
    if errors:
        shown = "; ".join(
            f"event #{offset + e.index} ({e.event_type}, id {e.event_id}) {e.field}: {e.message}"
            for e in errors[:SHOWN_ERRORS]
        )
        raise DemoSeedError(
            f"the demo generator produced {len(errors)} invalid event field(s) in the batch "
            f"starting at event #{offset}, a bug in readmodels.demo: {shown}"
        )
    return events


def _discard_outcome(task: asyncio.Task[list[Event]]) -> None:
    if not task.cancelled():
        task.exception()


def estimate_total(scale: Scale) -> int:
    """About how many events `seed_demo` will generate, for a progress bar's total."""
    stock_days = commerce.ORDER_DAYS
    per_order = 1 + commerce.CANCEL_RATE + commerce.RETURN_RATE * (1 - commerce.CANCEL_RATE)
    per_order += (
        commerce.REVIEW_RATE * (1 - commerce.CANCEL_RATE) * (1 + commerce.SECOND_REVIEW_RATE)
    )
    daily_stock = max(1, scale.products // inventory.RESTOCKS_PER_PRODUCTS) + max(
        1, scale.products // inventory.CORRECTIONS_PER_PRODUCTS
    )
    parts = (
        scale.stores + scale.creators + scale.categories,
        3 * scale.products + deleted_count(scale),
        scale.collections + scale.promotions * (1 + promotions.DEACTIVATED_SHARE),
        scale.customers * segments.INITIAL_SHARE,
        max(20, scale.customers // segments.CHANGES_PER_CUSTOMERS),
        scale.orders * per_order,
        scale.stores * commerce.TRAFFIC_DAYS,
        stock_days * daily_stock + 1 + inventory.LOW_STOCK_DAYS,
        scale.posts * (1 + 1 / posts.UNPUBLISHED_PER_POSTS),
        scale.viral_followers + scale.power_user_follows + scale.follows,
        scale.users * follows.UNFOLLOW_RATE,
        scale.engagements,
        6,  # insight events
    )
    return round(sum(parts))
