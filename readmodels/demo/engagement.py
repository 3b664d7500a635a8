"""Likes, shares and remixes: mostly in the last 7 days, with a burst in the last hour.

Trending windows (HOUR, DAY, WEEK) need data at every range: 85% of
engagement falls in the last 7 days, the rest over the 30 days posts exist,
with a daily rhythm; the last hour gets three times its share, and much of
it goes to one recent post of a non-viral creator, so the HOUR ranking
differs from the WEEK one. A quarter of engagement goes to the viral
creator's posts and a fifth to the other hot creators; the rest favours
recent posts. Repeated likes by one user of one post are avoided with a
fixed-size bit set.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator
from random import Random

from readmodels.demo.posts import POST_DAYS, PostPlan
from readmodels.demo.sampling import SeenBits, Zipf
from readmodels.demo.timeline import HOUR, Draft
from readmodels.demo.world import VIRAL_CREATOR, World

RECENT_HOURS = 7 * 24
RECENT_SHARE = 0.85
LAST_HOUR_BOOST = 3.0
BURST_SHARE = 0.4  # of the last hour's engagement
# UTC hour of day -> activity; quiet nights, busy evenings.
DIURNAL = (0.3, 0.2, 0.15, 0.15, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.0,
           1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.4, 1.5, 1.5, 1.3, 0.9, 0.5)  # fmt: skip


def engagement_drafts(world: World, plan: PostPlan) -> Iterator[Draft]:
    """EngagementRecorded in time order over the last 30 days."""
    rng = Random(f"{world.seed}:engagement")
    now, hours = world.now, POST_DAYS * 24
    users = world.scale.users
    fans = Zipf(users, 0.9)
    seen = SeenBits(min(28, max(20, (8 * world.scale.engagements).bit_length())))
    burst = burst_post(plan)
    posts = PostPicker(rng, plan)
    for hour, count in enumerate(hourly_counts(world, hours)):
        end = now - (hours - 1 - hour) * HOUR
        late = hour == hours - 1
        for at in sorted(rng.randint(end - HOUR + 1, end) for _ in range(count)):
            post = posts.pick(at, burst if late else None)
            if post is None:
                continue
            roll = rng.random()
            kind = "LIKE" if roll < 0.8 else "SHARE" if roll < 0.92 else "REMIX"
            user = fans.pick(rng) + 1 if rng.random() < 0.5 else rng.randint(1, users)
            if kind == "LIKE":
                for _ in range(3):
                    if seen.add(post * (users + 1) + user):
                        break
                    user = rng.randint(1, users)
                else:
                    kind = "SHARE"  # sharing twice is fine; liking twice is not
            yield (
                at,
                "EngagementRecorded",
                {
                    "postId": f"po-{post}",
                    "userId": f"u-{user}",
                    "kind": kind,
                },
            )


def hourly_counts(world: World, hours: int) -> list[int]:
    """Engagements per hour (oldest first), summing to the scale's total."""
    weights = []
    for hour in range(hours):
        ago = hours - hour  # 1 for the hour ending at `now`
        share = (
            RECENT_SHARE / RECENT_HOURS
            if ago <= RECENT_HOURS
            else ((1 - RECENT_SHARE) / (hours - RECENT_HOURS))
        )
        hour_of_day = (world.now - ago * HOUR) // HOUR % 24
        weights.append(share * DIURNAL[hour_of_day] * (LAST_HOUR_BOOST if ago == 1 else 1.0))
    total, running, placed = sum(weights), 0.0, 0
    counts = []
    for weight in weights:
        running += weight
        target = round(world.scale.engagements * running / total)
        counts.append(target - placed)
        placed = target
    return counts


def burst_post(plan: PostPlan) -> int | None:
    """The newest post at least two hours old by someone other than the viral creator."""
    number = plan.published_by(plan.now - 2 * HOUR)
    while number and (plan.creators[number - 1] == VIRAL_CREATOR or number in plan.unpublished):
        number -= 1
    return number or None


class PostPicker:
    """Draws a post that is out at a given time: the burst, a hot creator's, or a recent one."""

    def __init__(self, rng: Random, plan: PostPlan) -> None:
        self._rng = rng
        self._plan = plan
        self._others = Zipf(len(plan.hot) - 1, 1.0) if len(plan.hot) > 1 else None

    def pick(self, at: int, burst: int | None) -> int | None:
        rng, plan = self._rng, self._plan
        out = plan.published_by(at)
        if not out:
            return None
        for _ in range(3):
            roll = rng.random()
            if burst is not None and roll < BURST_SHARE:
                return burst
            if roll < 0.25:
                post = recent(rng, plan.hot[VIRAL_CREATOR - 1], out)
            elif roll < 0.45 and self._others is not None:
                post = recent(rng, plan.hot[1 + self._others.pick(rng)], out)
            else:
                post = out - int(out * rng.random() ** 3)
            if post is not None and not plan.is_down(post, at):
                return post
        return None


def recent(rng: Random, posts: array[int], out: int) -> int | None:
    """One of `posts` that is out (number <= out), favouring the newest."""
    available = bisect_right(posts, out)
    if not available:
        return None
    return posts[available - 1 - int(available * rng.random() ** 2)]
