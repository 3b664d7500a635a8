"""Customer segments: a first assignment for about a fifth of customers, then changes.

The changes come from a small pool of customers drawn with Zipf weights, so
several customers change segments many times (and sometimes to no segment),
which is what exercises "the full new set" semantics of the event.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random

from readmodels.demo.sampling import Zipf
from readmodels.demo.timeline import Draft
from readmodels.demo.words import SEGMENTS
from readmodels.demo.world import World

INITIAL_SHARE = 0.2
CHANGES_PER_CUSTOMERS = 10  # one change per ten customers over the window


def initial_segment_drafts(world: World, at: int) -> Iterator[Draft]:
    """CustomerSegmentsChanged for about a fifth of customers, before the first order."""
    rng = Random(f"{world.seed}:segments")
    for customer in range(1, world.scale.customers + 1):
        if rng.random() < INITIAL_SHARE:
            segments = sorted(rng.sample(SEGMENTS, rng.choice((1, 1, 1, 2))))
            yield (
                at,
                "CustomerSegmentsChanged",
                {
                    "customerId": f"cu-{customer}",
                    "segments": segments,
                },
            )


def segment_change_drafts(world: World, start: int) -> Iterator[Draft]:
    """Later changes, concentrated on a few customers, spread over the window."""
    rng = Random(f"{world.seed}:segment-changes")
    customers = world.scale.customers
    pool = rng.sample(range(1, customers + 1), min(customers, max(10, customers // 50)))
    who = Zipf(len(pool), 0.8)
    changes = max(20, customers // CHANGES_PER_CUSTOMERS)
    for at in sorted(rng.randrange(start, world.now + 1) for _ in range(changes)):
        segments = sorted(rng.sample(SEGMENTS, rng.choice((0, 1, 1, 2))))
        yield (
            at,
            "CustomerSegmentsChanged",
            {
                "customerId": f"cu-{pool[who.pick(rng)]}",
                "segments": segments,
            },
        )
