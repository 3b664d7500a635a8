"""Pure feed rules: how post, follow and engagement events change the read model.

The projection loads what a batch touches (its posts, its follow pairs, its
engagement triples), folds the events over those plain rows here, and writes
back only what changed. Every rule is idempotent and set-like, so counters
are exact under replay and do not depend on the order the facts arrive in:

- a post is counted once, when first published; an unpublish is final (a
  tombstone keeps a post unpublished if its PostPublished comes later);
- a follow is a set member (following twice is one follow, unfollowing a
  non-follow changes nothing);
- an engagement is a (post, user, kind) set member: a repeated like counts once,
  and a post's counters are the size of its sets, whenever it was published.
Nothing here does I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]
Pair = tuple[str, str]  # (user id, creator id)
Triple = tuple[str, str, str]  # (post id, user id, kind)

COUNTER_OF_KIND = {"LIKE": "likes", "SHARE": "shares", "REMIX": "remixes"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tombstone(post_id: str, position: int) -> Row:
    """A post unpublished before it was published: it stays hidden for good."""
    return {
        "id": post_id,
        "creator_id": "",
        "body": "",
        "product_ids": [],
        "published_at": _EPOCH,
        "published": False,
        "likes": 0,
        "shares": 0,
        "remixes": 0,
        "version": position,
    }


@dataclass(slots=True)
class FeedFold:
    """The effect of a batch of feed events on loaded rows, and the deltas to write.

    `posts` are the batch's known post rows by id (mutated in place, new ones
    added); `follows` maps each loaded (user, creator) pair to its position
    (None: not following); `engaged` holds the known engagement triples of the
    batch's engagements; `early` counts, per (post, counter), engagements
    recorded for a post not published yet. `dirty_posts`, `follows`, `new_engagements` and the count
    deltas say what to write back.
    """

    posts: dict[str, Row] = field(default_factory=dict)
    follows: dict[Pair, int | None] = field(default_factory=dict)
    engaged: set[Triple] = field(default_factory=set)
    early: Counter[tuple[str, str]] = field(default_factory=Counter)
    dirty_posts: set[str] = field(default_factory=set)
    dirty_follows: set[Pair] = field(default_factory=set)
    new_engagements: set[Triple] = field(default_factory=set)
    followers: Counter[str] = field(default_factory=Counter)
    post_counts: Counter[str] = field(default_factory=Counter)
    tags: set[str] = field(default_factory=set)

    def publish(self, data: dict[str, Any], position: int) -> None:
        post_id = data["postId"]
        post = self.posts.get(post_id)
        if post is not None and post["creator_id"]:
            return  # published twice: the first publication stands
        hidden = post is not None  # a tombstone: unpublished before it arrived
        counters = self._counters(post_id)
        self.posts[post_id] = {
            "id": post_id,
            "creator_id": data["creatorId"],
            "body": data["body"],
            "product_ids": list(data["productIds"]),
            "published_at": datetime.fromisoformat(data["publishedAt"]),
            "published": not hidden,
            **counters,
            "version": position,
        }
        self.dirty_posts.add(post_id)
        self.tags.add(f"post:{post_id}")
        if not hidden:
            self.post_counts[data["creatorId"]] += 1
            self.tags.update((f"creator-posts:{data['creatorId']}", _counts(data["creatorId"])))

    def unpublish(self, post_id: str, position: int) -> None:
        post = self.posts.get(post_id)
        if post is None:
            self.posts[post_id] = tombstone(post_id, position)
            self.dirty_posts.add(post_id)
            return
        if not post["published"]:
            return
        post["published"] = False
        post["version"] = position
        self.dirty_posts.add(post_id)
        creator = post["creator_id"]
        self.post_counts[creator] -= 1
        self.tags.update((f"post:{post_id}", f"creator-posts:{creator}", _counts(creator)))

    def follow(self, user_id: str, creator_id: str, position: int) -> None:
        pair = (user_id, creator_id)
        if self.follows.get(pair) is not None:
            return
        self.follows[pair] = position
        self._follow_changed(pair, +1)

    def unfollow(self, user_id: str, creator_id: str) -> None:
        pair = (user_id, creator_id)
        if self.follows.get(pair) is None:
            return
        self.follows[pair] = None
        self._follow_changed(pair, -1)

    def engage(self, post_id: str, user_id: str, kind: str, position: int) -> None:
        triple = (post_id, user_id, kind)
        if triple in self.engaged:
            return
        self.engaged.add(triple)
        self.new_engagements.add(triple)
        post = self.posts.get(post_id)
        if post is None or not post["creator_id"]:
            self.early[(post_id, COUNTER_OF_KIND[kind])] += 1  # counted on publication
            return
        post[COUNTER_OF_KIND[kind]] += 1
        post["version"] = position
        self.dirty_posts.add(post_id)
        if post["published"]:
            self.tags.add(f"post:{post_id}")

    def _follow_changed(self, pair: Pair, delta: int) -> None:
        user_id, creator_id = pair
        self.dirty_follows.add(pair)
        self.followers[creator_id] += delta
        # The user's feed, their cached follow answers (viewerFollows, following: tagged
        # by user) and the creator's counts.
        self.tags.update((f"feed-of:{user_id}", f"follows:{user_id}", _counts(creator_id)))

    def _counters(self, post_id: str) -> dict[str, int]:
        return {name: self.early[(post_id, name)] for name in COUNTER_OF_KIND.values()}

    def count_deltas(self) -> list[tuple[str, int, int]]:
        """(creator, followers delta, posts delta) of each creator whose counts move."""
        creators = sorted(set(self.followers) | set(self.post_counts))
        deltas = [(c, self.followers[c], self.post_counts[c]) for c in creators]
        return [d for d in deltas if d[1] or d[2]]


def _counts(creator_id: str) -> str:
    return f"creator-counts:{creator_id}"
