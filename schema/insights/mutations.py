"""The root Mutation type: argument handling only; the writes happen in `resolvers`.

Mutation resolvers are coroutines (they wait on their write before reading
the answer); graphql-core runs a mutation's root fields one after the other.
`traced` would close its span before a coroutine runs, so these open theirs
around the await.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers.context import RequestContext
from resolvers.insights.mutations import InsightStateResult, dismiss_insight, mark_insights_seen

if TYPE_CHECKING:
    from schema.insights.types import InsightStatePayload

Ctx = Info[RequestContext, Any]
PayloadRef = Annotated["InsightStatePayload", strawberry.lazy("schema.insights.types")]
T = TypeVar("T")


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
