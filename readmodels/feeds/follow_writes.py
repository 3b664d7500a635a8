"""Write-through of the gateway's follow/unfollow mutations: append and apply in one transaction.

A follow or unfollow that changes nothing (already followed, not followed) is
not appended, so repeating one leaves the log as it was. One that changes the
graph appends its `Followed`/`Unfollowed` event and, in the same transaction,
inserts or deletes the `follows` row (with the event's position) and moves
`creator_counts.followers` by one: the mutation's answer and the user's next
read reflect it however far behind the projector is.

The feeds projection applies the same event again later and must find nothing
to do. The contract between the two is the row: a `Followed` inserts the
`follows` row if absent and counts +1 only when it inserted; an `Unfollowed`
deletes the row if present and counts -1 only when it deleted. Under those
semantics a replayed or re-applied event is harmless, and an event ingested
from outside (POST /events) converges the same way.

A transaction-level advisory lock on the (user, creator) pair serialises two
concurrent mutations of the same pair, so both cannot append.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.eventlog.store import append_events_in
from readmodels.events import Event

FOLLOW_TYPES = ("Followed", "Unfollowed")

_LOCK_PAIR = text("SELECT pg_advisory_xact_lock(hashtextextended(:u || chr(31) || :c, 8))")
_FOLLOWS = text("SELECT 1 FROM follows WHERE user_id = :u AND creator_id = :c")
_FOLLOWERS = text("SELECT followers FROM creator_counts WHERE creator_id = :c")
_INSERT = text(
    "INSERT INTO follows (user_id, creator_id, position) VALUES (:u, :c, :p) "
    "ON CONFLICT (user_id, creator_id) DO NOTHING RETURNING 1"
)
_DELETE = text("DELETE FROM follows WHERE user_id = :u AND creator_id = :c RETURNING 1")
_COUNT_UP = text(
    "INSERT INTO creator_counts (creator_id, followers, posts) VALUES (:c, 1, 0) "
    "ON CONFLICT (creator_id) DO UPDATE SET followers = creator_counts.followers + 1 "
    "RETURNING followers"
)
_COUNT_DOWN = text(
    "UPDATE creator_counts SET followers = GREATEST(followers - 1, 0) WHERE creator_id = :c "
    "RETURNING followers"
)


class FollowWrite(NamedTuple):
    """The outcome: the position appended (None when nothing changed), whether the user now
    follows the creator, the creator's follower count, and the cache tags touched."""

    position: int | None
    following: bool
    followers: int
    tags: frozenset[str]


def follow_tags(user_id: str, creator_id: str) -> frozenset[str]:
    """What a follow change invalidates: the creator's profile (its follower count) and
    everything the user read about whom they follow."""
    return frozenset({f"creator:{creator_id}", f"follows:{user_id}", f"feed-of:{user_id}"})


async def write_follow(conn: AsyncConnection, event: Event) -> FollowWrite:
    """Append `event` (a Followed or Unfollowed) if it changes the graph, and apply it, in
    the caller's transaction."""
    if event.type not in FOLLOW_TYPES:
        raise ValueError(f"write_follow takes Followed or Unfollowed, not {event.type}")
    pair = {"u": str(event.data["userId"]), "c": str(event.data["creatorId"])}
    want = event.type == "Followed"
    await conn.execute(_LOCK_PAIR, pair)
    follows = (await conn.execute(_FOLLOWS, pair)).first() is not None
    if follows == want:
        followers = (await conn.execute(_FOLLOWERS, pair)).scalar_one_or_none()
        return FollowWrite(None, want, int(followers or 0), frozenset())
    (position,) = (await append_events_in(conn, [event])).positions
    if want:
        await conn.execute(_INSERT, {**pair, "p": position})
        followers = (await conn.execute(_COUNT_UP, pair)).scalar_one()
    else:
        await conn.execute(_DELETE, pair)
        followers = (await conn.execute(_COUNT_DOWN, pair)).scalar_one_or_none()
    return FollowWrite(position, want, int(followers or 0), follow_tags(pair["u"], pair["c"]))
