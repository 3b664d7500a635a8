"""Pure feed rules: posts counted once, follows and engagements as sets, in any order."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from readmodels.feeds.folds import FeedFold

Event = tuple[str, tuple[str, ...]]


def published(post_id: str, creator: str = "cr-1") -> dict[str, Any]:
    return {
        "postId": post_id,
        "creatorId": creator,
        "body": "hi",
        "productIds": ["p-1"],
        "publishedAt": "2026-01-01T00:00:00+00:00",
    }


def apply(events: list[Event]) -> FeedFold:
    fold = FeedFold()
    for position, (kind, args) in enumerate(events, start=1):
        if kind == "publish":
            fold.publish(published(*args), position)
        elif kind == "follow":
            fold.follow(args[0], args[1], position)
        elif kind == "engage":
            fold.engage(args[0], args[1], args[2], position)
    return fold


engagements = st.lists(
    st.tuples(
        st.just("engage"),
        st.tuples(st.sampled_from(["po-1", "po-2"]), st.sampled_from(["u-1", "u-2", "u-3"]),
                  st.sampled_from(["LIKE", "SHARE", "REMIX"])),
    ),
    max_size=30,
)  # fmt: skip


def test_a_post_published_twice_counts_once() -> None:
    """A repeated PostPublished keeps the first publication and the count at one."""
    fold = apply([("publish", ("po-1",)), ("publish", ("po-1",))])
    assert fold.count_deltas() == [("cr-1", 0, 1)]
    assert fold.posts["po-1"]["version"] == 1


def test_unpublish_hides_and_uncounts_once() -> None:
    """Unpublishing takes the post off the count once; a second unpublish changes nothing."""
    fold = apply([("publish", ("po-1",))])
    fold.unpublish("po-1", 2)
    fold.unpublish("po-1", 3)
    assert fold.posts["po-1"]["published"] is False
    assert fold.count_deltas() == []
    assert "creator-posts:cr-1" in fold.tags
    assert "post:po-1" in fold.tags


def test_unpublish_before_publish_keeps_the_post_hidden() -> None:
    """An unpublish that arrives first leaves a tombstone the publication cannot undo."""
    fold = FeedFold()
    fold.unpublish("po-1", 1)
    fold.publish(published("po-1"), 2)
    assert fold.posts["po-1"]["published"] is False
    assert fold.posts["po-1"]["creator_id"] == "cr-1"
    assert fold.count_deltas() == []


def test_follow_twice_is_one_follow_and_unfollowing_a_stranger_is_a_no_op() -> None:
    """Follows are a set: repeats count once, an unfollow of a non-follow does nothing."""
    fold = apply([("follow", ("u-1", "cr-1")), ("follow", ("u-1", "cr-1"))])
    fold.unfollow("u-2", "cr-1")
    assert fold.count_deltas() == [("cr-1", 1, 0)]
    assert fold.tags >= {"feed-of:u-1", "follows:u-1", "creator-counts:cr-1"}
    fold.unfollow("u-1", "cr-1")
    assert fold.count_deltas() == []
    assert fold.follows[("u-1", "cr-1")] is None


@given(engagements, st.randoms())
def test_counters_are_distinct_engagements_in_any_order(events: list[Event], rng: Any) -> None:
    """Whatever the order (publication included), each post counts each distinct
    (user, kind) once: a repeated like counts once."""
    stream: list[Event] = [("publish", ("po-1",)), ("publish", ("po-2",)), *events]
    rng.shuffle(stream)
    fold = apply(stream)
    for post_id in ("po-1", "po-2"):
        distinct = {args for _, args in events if args[0] == post_id}
        post = fold.posts[post_id]
        for kind, column in (("LIKE", "likes"), ("SHARE", "shares"), ("REMIX", "remixes")):
            assert post[column] == sum(1 for args in distinct if args[2] == kind)


@given(engagements)
def test_replaying_a_stream_over_its_result_changes_nothing(events: list[Event]) -> None:
    """Applying the same events again (a replay) moves no counter."""
    fold = apply([("publish", ("po-1",)), ("publish", ("po-2",)), *events])
    before = {p: dict(row) for p, row in fold.posts.items()}
    for position, (_, args) in enumerate(events, start=100):
        fold.engage(args[0], args[1], args[2], position)
    fold.publish(published("po-1"), 200)
    assert {
        p: {k: v for k, v in row.items() if k != "version"} for p, row in fold.posts.items()
    } == {p: {k: v for k, v in row.items() if k != "version"} for p, row in before.items()}
