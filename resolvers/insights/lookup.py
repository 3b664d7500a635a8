"""Insights by id: `explainInsight` and the seen/dismiss payloads.

An insight is not stored: its id (`pipeline.insight_key`) names the rule,
the creator, the subject and the period, so looking one up runs that period's
evaluation again, from the same loaders as the dashboard, and finds the
finding with that id. One that no longer fires is gone (None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Any

from readmodels.creators.rows import CreatorRow
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.errors import InvalidIdError
from resolvers.futures import chain, resolved, then
from resolvers.ids import decode_id_of
from resolvers.insights import pipeline
from resolvers.insights.access import readable_owner, require_insight_reader
from resolvers.insights.dashboard import context_rules, dashboard_period, guarded, to_view
from resolvers.insights.evaluation import Evaluation, evaluate
from resolvers.insights.model import Period
from resolvers.insights.state import InsightStateByCreatorLoader
from resolvers.insights.views import InsightExplanationView, InsightView, explanation


def insight_key_of(global_id: str, argument: str) -> str:
    """The source key of an Insight's global id; INVALID_ID for anything else."""
    key = decode_id_of("Insight", global_id, argument=argument)
    try:
        pipeline.parse_insight_key(key)
    except ValueError:
        raise InvalidIdError(f"{argument}: not an insight id this API issued") from None
    return key


def insights_by_keys(
    context: RequestContext, creator_id: str, keys: Sequence[str]
) -> asyncio.Future[list[InsightView | None]]:
    """Each insight as the dashboard would show it now, None where it no longer fires.
    The keys must be `creator_id`'s (the caller checks ownership first). A failure
    of the rules or their loads is INSIGHTS_UNAVAILABLE, as on the dashboard."""
    if not keys:
        return resolved([])
    today = context.now.date()
    periods = {key: _period_of(key, today) for key in keys}
    creator = context.loader(CreatorByIdLoader).load(creator_id)

    def run(row: CreatorRow | None) -> asyncio.Future[list[InsightView | None]]:
        if row is None:
            return resolved([None for _ in keys])
        distinct = list(dict.fromkeys(periods.values()))
        rules = context_rules(context)
        evaluations = asyncio.gather(*(evaluate(context, row, p, rules) for p in distinct))
        states = context.loader(InsightStateByCreatorLoader).load(creator_id)

        def views(loaded: list[Any]) -> list[InsightView | None]:
            found: list[Evaluation] = loaded[0]
            state = loaded[1]
            by_key = {item.key: item for evaluation in found for item in evaluation.found}
            out: list[InsightView | None] = []
            for key in keys:
                item = by_key.get(key)
                out.append(
                    None
                    if item is None
                    else to_view(key, item.finding, item.rule, state.get(key), context.now)
                )
            return out

        return then(asyncio.gather(evaluations, states), views)

    return guarded(chain(creator, run))


def distinct_periods(keys: Sequence[str], today: date) -> int:
    """How many evaluations looking these keys up costs (one per distinct period)."""
    return len({_period_of(key, today) for key in keys})


def _period_of(key: str, today: date) -> Period:
    """The period whose evaluation holds this insight: its own for range-based rules,
    the default range for the others (they look at `now`, not the range)."""
    parsed = pipeline.parse_insight_key(key)
    if pipeline.rule_for(parsed.kind).range_based:
        return parsed.period
    return dashboard_period(None, None, today)


def resolve_explain_insight(
    context: RequestContext, global_id: str
) -> asyncio.Future[InsightExplanationView | None]:
    """Why an insight was generated; only its owner, or an ADMIN, may ask (FORBIDDEN
    otherwise)."""
    viewer = require_insight_reader(context)
    key = insight_key_of(global_id, "id")
    creator_id = readable_owner(viewer, key)
    found = insights_by_keys(context, creator_id, [key])
    return then(found, lambda views: None if views[0] is None else explanation(views[0]))


def resolve_insight_node(
    context: RequestContext, global_id: str
) -> asyncio.Future[InsightView | None]:
    """`node(id)` of an Insight: for its owner or an ADMIN, as explainInsight finds it."""
    viewer = require_insight_reader(context)
    key = insight_key_of(global_id, "id")
    creator_id = readable_owner(viewer, key)
    return then(insights_by_keys(context, creator_id, [key]), lambda views: views[0])
