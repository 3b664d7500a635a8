"""`follow`, `unfollow` and `recordEngagement`: append the user's action, answer at once.

Every call appends its event and answers with the position it wrote; the
`feeds` projection applies it in log order. Follow and unfollow are
idempotent in effect: following twice leaves one follow and one follower
counted (the projection follows only if absent, unfollows only if present).
Nothing is decided from the read model, which may lag the log: an unfollow
after a follow that is still on its way, or a follow, unfollow and follow
in quick succession, end as the last call says. The payload's `following`
is the state the call asked for; counts and `viewerFollows` read the read
models, so a client that must see its own write sends the returned position
back as `Vitrine-Min-Position`.

`recordEngagement` only appends: the projector counts it later, and the
answer (`accepted: true`) waits on nothing but the append.
"""

from __future__ import annotations

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
    position appended."""

    creator: CreatorRow
    following: bool
    position: int


class EngagementResult(NamedTuple):
    """The payload: the engagement was accepted, at `position` in the log."""

    accepted: bool
    position: int


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
    (position,) = await _writer(context).append([event])
    return FollowResult(creator, action is Followed, position)


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
