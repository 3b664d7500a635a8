"""The root Mutation type and the feeds' payloads: argument handling only; the writes
happen in `resolvers`.

Mutation resolvers are coroutines (they wait on their write before reading
the answer); graphql-core runs a mutation's root fields one after the other.
`traced` would close its span before a coroutine runs, so these open theirs
around the await.
"""

from __future__ import annotations

from collections.abc import Awaitable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers.context import RequestContext
from resolvers.feeds import mutations as feeds
from resolvers.insights.mutations import InsightStateResult, dismiss_insight, mark_insights_seen
from schema.creators.types import Creator

if TYPE_CHECKING:
    from schema.insights.types import InsightStatePayload

Ctx = Info[RequestContext, Any]
PayloadRef = Annotated["InsightStatePayload", strawberry.lazy("schema.insights.types")]
T = TypeVar("T")

POSITION = "The event-log position this call wrote, for `Vitrine-Min-Position` on the next read."


@strawberry.enum(name="EngagementKind")
class EngagementKind(Enum):
    LIKE = "LIKE"
    SHARE = "SHARE"
    REMIX = "REMIX"


@strawberry.input(name="EngagementInput")
class EngagementInput:
    post_id: strawberry.ID
    kind: EngagementKind


@strawberry.type(name="FollowPayload")
class FollowPayload:
    creator: Creator
    following: bool
    position: int | None = strawberry.field(description=POSITION)


@strawberry.type(name="EngagementPayload")
class EngagementPayload:
    accepted: bool
    position: int | None = strawberry.field(description=POSITION)


async def _spanned(info: Ctx, name: str, work: Awaitable[T]) -> T:
    tracer = info.context.tracer
    if tracer is None:
        return await work
    with tracer.start_as_current_span(
        f"resolve Mutation.{name}",
        attributes={"graphql.field.name": name, "graphql.field.parent_type": "Mutation"},
    ):
        return await work


async def _dismiss_insight(root: Any, info: Ctx, id: strawberry.ID) -> InsightStateResult:
    return await _spanned(info, "dismissInsight", dismiss_insight(info.context, id))


async def _mark_insights_seen(root: Any, info: Ctx, ids: list[strawberry.ID]) -> InsightStateResult:
    return await _spanned(info, "markInsightsSeen", mark_insights_seen(info.context, ids))


async def _follow(root: Any, info: Ctx, creator_id: strawberry.ID) -> feeds.FollowResult:
    return await _spanned(info, "follow", feeds.follow(info.context, creator_id))


async def _unfollow(root: Any, info: Ctx, creator_id: strawberry.ID) -> feeds.FollowResult:
    return await _spanned(info, "unfollow", feeds.unfollow(info.context, creator_id))


async def _record_engagement(
    root: Any, info: Ctx, input: EngagementInput
) -> feeds.EngagementResult:
    work = feeds.record_engagement(info.context, input.post_id, input.kind.value)
    return await _spanned(info, "recordEngagement", work)


@strawberry.type(name="Mutation")
class Mutation:
    dismiss_insight: PayloadRef = strawberry.field(
        resolver=_dismiss_insight,
        graphql_type=PayloadRef,
        description="Hide an insight for good. Idempotent.",
    )
    mark_insights_seen: PayloadRef = strawberry.field(
        resolver=_mark_insights_seen,
        graphql_type=PayloadRef,
        description="Mark insights as seen. Idempotent.",
    )
    follow: FollowPayload = strawberry.field(
        resolver=_follow, graphql_type=FollowPayload, description="Follow a creator. Idempotent."
    )
    unfollow: FollowPayload = strawberry.field(
        resolver=_unfollow,
        graphql_type=FollowPayload,
        description="Unfollow a creator. Idempotent.",
    )
    record_engagement: EngagementPayload = strawberry.field(
        resolver=_record_engagement,
        graphql_type=EngagementPayload,
        description="Record a like, share or remix of a post. Accepted asynchronously.",
    )
