"""`follow`, `unfollow` and `recordEngagement`: append the user's action, answer at once.

Follow and unfollow are idempotent: the writer (`EventWriter.append_follow`)
appends only a change of the follow graph and writes it through to `follows`
and `creator_counts` in the same transaction, so the payload (and the user's
next read) shows the new state and follower count however far behind the
projector is. A repeat appends nothing and answers `position: null`.

`recordEngagement` only appends: the projector counts it later, and the
answer (`accepted: true`) waits on nothing but the append. Every payload
carries the position written, for `Vitrine-Min-Position` on the next read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple
from uuid import uuid4

from pydantic import ValidationError

from readmodels.creators.rows import CreatorRow
from readmodels.eventlog.writer import EventWriter
from readmodels.events import Event
from readmodels.events.feeds import EngagementRecorded, Followed, Unfollowed
from readmodels.events.fields import Payload
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.errors import InvalidIdError, NotFoundError
from resolvers.feeds.access import require_user
from resolvers.ids import decode_id_of


class FollowResult(NamedTuple):
    """The payload: the creator as it now stands, whether the user follows it, and the
    position appended (None when nothing changed)."""

    creator: CreatorRow
    following: bool
    position: int | None


class EngagementResult(NamedTuple):
    """The payload: the engagement was accepted, at `position` in the log."""

    accepted: bool
    position: int | None


async def follow(context: RequestContext, creator_global_id: str) -> FollowResult:
    """Follow a creator (idempotent)."""
    return await _set_follow(context, creator_global_id, Followed)


async def unfollow(context: RequestContext, creator_global_id: str) -> FollowResult:
    """Unfollow a creator (idempotent)."""
    return await _set_follow(context, creator_global_id, Unfollowed)


async def record_engagement(
    context: RequestContext, post_global_id: str, kind: str
) -> EngagementResult:
    """Append an `EngagementRecorded`; accepted as soon as it is in the log."""
    user_id = require_user(context)
    post_id = decode_id_of("Post", post_global_id, argument="input.postId")
    event = _event(
        context, EngagementRecorded, {"postId": post_id, "userId": user_id, "kind": kind}
    )
    (position,) = await _writer(context).append([event])
    return EngagementResult(True, position)


async def _set_follow(
    context: RequestContext, creator_global_id: str, action: type[Followed | Unfollowed]
) -> FollowResult:
    user_id = require_user(context)
    creator_id = decode_id_of("Creator", creator_global_id, argument="creatorId")
    creator = await context.loader(CreatorByIdLoader).load(creator_id)
    if creator is None:
        raise NotFoundError("creatorId: no such creator", argument="creatorId")
    event = _event(context, action, {"userId": user_id, "creatorId": creator_id})
    written = await _writer(context).append_follow(event)
    # The count comes from the write's own transaction: the creator row may predate it.
    return FollowResult(
        replace(creator, follower_count=written.followers), written.following, written.position
    )


def _event(context: RequestContext, payload: type[Payload], data: dict[str, Any]) -> Event:
    try:
        body = payload.model_validate(data).model_dump(mode="json")
    except ValidationError:
        # Only the ids can fail (a source id is at most 200 characters).
        raise InvalidIdError("an id of this request is too long to record") from None
    return Event(uuid4(), payload.__name__, context.now, body)


def _writer(context: RequestContext) -> EventWriter:
    if context.events is None:
        # The composition root gives every mutation a writer; a missing one is a wiring bug.
        raise RuntimeError("this request has no event writer (RequestContext.events)")
    return context.events
