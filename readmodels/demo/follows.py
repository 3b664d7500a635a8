"""Who follows whom: users sign up one after another and follow creators on arrival.

Users "u-1" .. "u-<users>" sign up evenly over the window, each following
all of their creators at once (one second apart), which keeps the stream in
time order without remembering any follow. Users 1 .. viral_followers all
follow the viral creator "cr-1", so its count is exact; "u-1" is the power
user following `power_user_follows` creators. Background follows favour
popular creators (Zipf over "cr-2" onwards). A few users later unfollow one
creator, never the viral one.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random

from readmodels.demo.sampling import Zipf, distinct
from readmodels.demo.timeline import DAY, HOUR, Draft, Pending
from readmodels.demo.world import POWER_USER, VIRAL_CREATOR, World

UNFOLLOW_RATE = 0.005
ALWAYS_UNFOLLOW = (2, 3)  # so even the smallest world has a few Unfollowed


def follow_drafts(world: World, start: int) -> Iterator[Draft]:
    """Followed in signup order, with the few Unfollowed as their time comes."""
    rng = Random(f"{world.seed}:follows")
    scale = world.scale
    users, creators = scale.users, scale.creators
    span = world.now - HOUR - start
    mean = scale.follows / users
    others = Zipf(creators - 1, 1.0) if creators > 1 else None
    pending = Pending(world.now)
    clock = start
    for user in range(1, users + 1):
        at = max(clock, start + (user - 1) * span // users)
        targets = follow_targets(rng, world, user, mean, others)
        for creator in targets:
            yield from pending.due(at)
            yield at, "Followed", {"userId": f"u-{user}", "creatorId": f"cr-{creator}"}
            at = min(at + 1, world.now)
        clock = at
        if user == POWER_USER or not (user in ALWAYS_UNFOLLOW or rng.random() < UNFOLLOW_RATE):
            continue
        candidates = [creator for creator in targets if creator != VIRAL_CREATOR]
        if candidates:
            pending.add(
                at + rng.randint(DAY, 20 * DAY),
                "Unfollowed",
                {"userId": f"u-{user}", "creatorId": f"cr-{rng.choice(candidates)}"},
            )
    yield from pending.rest()


def follow_targets(
    rng: Random, world: World, user: int, mean: float, others: Zipf | None
) -> list[int]:
    """The creators `user` follows, distinct, the viral creator first when they follow it."""
    scale = world.scale
    viral = [VIRAL_CREATOR] if user <= scale.viral_followers else []
    if user == POWER_USER:
        rest = rng.sample(range(2, scale.creators + 1), scale.power_user_follows - len(viral))
        return viral + rest
    wanted = round(rng.expovariate(1.0 / mean)) if mean > 0 else 0
    if user in ALWAYS_UNFOLLOW:
        wanted = max(wanted, 1)
    if others is None:
        return viral
    return viral + [2 + index for index in distinct(rng, others, min(wanted, scale.creators - 1))]
