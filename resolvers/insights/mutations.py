"""`dismissInsight` and `markInsightsSeen`: append the creator's action, answer with the
insights as they now stand.

Every id is checked (an Insight id, of the viewer's own creator) before
anything is written: one bad id fails the whole call with INVALID_ID or
FORBIDDEN and writes nothing. The named insights are then evaluated, before
the write: only those that fire are recorded (there is nothing to hide or
mark in one that does not), and a failing evaluation (INSIGHTS_UNAVAILABLE)
writes nothing. The events go through `RequestContext.events`, which appends
them and applies them to the insight state in one transaction, so the
creator's next read already reflects them; the answer shows the insights
with the change applied. Repeating a call
changes nothing and appends nothing (see `readmodels.insights.state_writes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from uuid import uuid4

from readmodels.eventlog.writer import EventWriter
from readmodels.events import Event
from readmodels.events.fields import Payload
from readmodels.events.insights import InsightDismissed, InsightSeen
from resolvers.context import RequestContext
from resolvers.errors import BadUserInputError, InvalidIdError
from resolvers.ids import decode_id_of
from resolvers.insights.access import check_owner, require_creator
from resolvers.insights.lookup import distinct_periods, insights_by_keys
from resolvers.insights.views import InsightView

MAX_IDS = 100
MAX_KEY_LENGTH = 200
MAX_PERIODS = 10
"""Distinct periods per markInsightsSeen: each costs one evaluation of the rules."""


class InsightStateResult(NamedTuple):
    """The payload: the insights the call named that still fire, as they now stand."""

    insights: list[InsightView]


async def dismiss_insight(context: RequestContext, global_id: str) -> InsightStateResult:
    """Hide an insight for good (idempotent)."""
    creator_id = require_creator(context)
    keys = owned_keys(creator_id, [global_id], argument="id")
    views = await _firing(context, creator_id, keys)
    await append_actions(context, creator_id, InsightDismissed, [v.key for v in views])
    return InsightStateResult(views)


async def mark_insights_seen(
    context: RequestContext, global_ids: Sequence[str]
) -> InsightStateResult:
    """Mark insights as seen (idempotent); at most MAX_IDS ids per call."""
    creator_id = require_creator(context)
    if len(global_ids) > MAX_IDS:
        raise BadUserInputError(
            f"ids: at most {MAX_IDS} ids per call, got {len(global_ids)}", argument="ids"
        )
    keys = owned_keys(creator_id, global_ids, argument="ids")
    if distinct_periods(keys, context.now.date()) > MAX_PERIODS:
        raise BadUserInputError(
            f"ids: insights of at most {MAX_PERIODS} periods per call", argument="ids"
        )
    views = await _firing(context, creator_id, keys)
    await append_actions(context, creator_id, InsightSeen, [v.key for v in views])
    return InsightStateResult([view._replace(seen=True) for view in views])


def owned_keys(creator_id: str, global_ids: Sequence[str], *, argument: str) -> list[str]:
    """The insights' source keys, each checked (INVALID_ID, FORBIDDEN), duplicates dropped."""
    keys: list[str] = []
    for global_id in global_ids:
        key = decode_id_of("Insight", global_id, argument=argument)
        check_owner(creator_id, key)
        if len(key) > MAX_KEY_LENGTH:  # events carry ids of at most 200 characters
            raise InvalidIdError(
                f"{argument}: this insight's id is too long to record "
                f"({len(key)} characters, at most {MAX_KEY_LENGTH})",
                argument=argument,
            )
        keys.append(key)
    return list(dict.fromkeys(keys))


async def append_actions(
    context: RequestContext, creator_id: str, action: type[Payload], keys: Sequence[str]
) -> list[int]:
    """Append one `action` event per key, written through to the insight state."""
    if not keys:
        return []
    writer = _writer(context)
    actor = context.viewer.id if context.viewer is not None else None
    events = [
        Event(
            uuid4(),
            action.__name__,
            context.now,
            action.model_validate(
                {"creatorId": creator_id, "insightId": key, "actor": actor}
            ).model_dump(mode="json"),
        )
        for key in keys
    ]
    return await writer.append_insight_state(events)


def _writer(context: RequestContext) -> EventWriter:
    if context.events is None:
        # The composition root gives every mutation a writer; a missing one is a wiring bug.
        raise RuntimeError("this request has no event writer (RequestContext.events)")
    return context.events


async def _firing(
    context: RequestContext, creator_id: str, keys: Sequence[str]
) -> list[InsightView]:
    """The named insights that fire now, as they stand before the write. Evaluated
    first: an insight that does not fire is not recorded (nothing to hide or mark),
    and a failing evaluation (INSIGHTS_UNAVAILABLE) writes nothing."""
    views = await insights_by_keys(context, creator_id, keys)
    return [view for view in views if view is not None]
