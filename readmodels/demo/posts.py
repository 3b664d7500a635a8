"""Creator posts over the last 30 days, and the plan engagement draws from.

Posts are numbered in publish order, so "posts published by time t" is a
prefix 1..k of the numbering and one bisect finds k. The plan keeps only the
publish time and author of each post, plus the post lists of the few hot
creators that engagement favours.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator
from random import Random

from readmodels.demo.sampling import Zipf, distinct
from readmodels.demo.timeline import DAY, HOUR, Draft, Pending, stamp
from readmodels.demo.words import POST_CLOSERS, POST_OPENERS, POST_ROUTINES
from readmodels.demo.world import World

POST_DAYS = 30
HOT_CREATORS = 10  # creators 1..10 get a boosted share of engagement
UNPUBLISHED_PER_POSTS = 500


class PostPlan:
    """Publish time and author of every post, and which few posts get taken down (and when)."""

    def __init__(self, world: World) -> None:
        rng = Random(f"{world.seed}:post-plan")
        scale = world.scale
        self.now = world.now
        weights = [0.7 + 0.6 * d / (POST_DAYS - 1) for d in range(POST_DAYS)]
        total, running, placed = sum(weights), 0.0, 0
        authors = Zipf(scale.creators, 0.5)
        self.times = array("q")
        self.creators = array("I")
        for d, weight in enumerate(weights):
            running += weight
            target = round(scale.posts * running / total)
            start = world.now - (POST_DAYS - d) * DAY
            for at in sorted(rng.randrange(start, start + DAY) for _ in range(target - placed)):
                self.times.append(at)
                if rng.random() < 0.5:
                    self.creators.append(authors.pick(rng) + 1)
                else:
                    self.creators.append(rng.randint(1, scale.creators))
            placed = target
        hot = min(HOT_CREATORS, scale.creators)
        self.hot: list[array[int]] = [array("I") for _ in range(hot)]
        for number, creator in enumerate(self.creators, start=1):
            if creator <= hot:
                self.hot[creator - 1].append(number)
        self.unpublished: dict[int, int] = {}
        count = min(scale.posts, max(2, scale.posts // UNPUBLISHED_PER_POSTS))
        for number in sorted(rng.sample(range(1, scale.posts + 1), count)):
            published = self.times[number - 1]
            self.unpublished[number] = min(published + rng.randint(HOUR, 3 * DAY), world.now)

    def published_by(self, at: int) -> int:
        """How many posts were out at `at` (posts 1..k)."""
        return bisect_right(self.times, at)

    def is_down(self, post: int, at: int) -> bool:
        gone = self.unpublished.get(post)
        return gone is not None and gone <= at


def post_drafts(world: World, plan: PostPlan) -> Iterator[Draft]:
    """PostPublished in order, with the few PostUnpublished as their time comes."""
    rng = Random(f"{world.seed}:posts")
    pending = Pending(world.now)
    for number, gone in plan.unpublished.items():
        pending.add(gone, "PostUnpublished", {"postId": f"po-{number}"})
    stores = world.scale.stores
    for number, (at, creator) in enumerate(zip(plan.times, plan.creators, strict=True), 1):
        yield from pending.due(at)
        products: list[int] = []
        if creator <= stores and rng.random() < 0.8:
            picks = distinct(rng, Zipf(world.store_size(creator), 1.1), rng.randint(0, 3))
            products = [world.store_product(creator, rank) for rank in picks]
        if products:
            opener, closer = rng.choice(POST_OPENERS), rng.choice(POST_CLOSERS)
            body = f"{opener} {world.title(products[0])}! {closer}"
        else:
            body = rng.choice(POST_ROUTINES)
        yield (
            at,
            "PostPublished",
            {
                "postId": f"po-{number}",
                "creatorId": f"cr-{creator}",
                "body": body,
                "productIds": [f"p-{p}" for p in products],
                "publishedAt": stamp(at),
            },
        )
    yield from pending.rest()
