"""dismissInsight and markInsightsSeen in-process: auth and ids checked before any write,
the write-through's rows, idempotence."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.event_writer import EngineEventWriter
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.insights.model import Finding, InsightInputs, InsightKind, InsightSeverity, Period
from resolvers.insights.pipeline import InsightKey, format_key
from resolvers.viewer import Viewer
from tests.resolvers.execution import close_read_pools, reader_for, run

DISMISS = "mutation D($id: ID!) { dismissInsight(id: $id) { insights { id seen } } }"
MARK_SEEN = "mutation S($ids: [ID!]!) { markInsightsSeen(ids: $ids) { insights { id seen } } }"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))


def insight_id(creator: str, subject: str = "s-1") -> str:
    key = format_key(InsightKey(InsightKind.REVENUE_DROP, creator, subject, PERIOD))
    return encode_id("Insight", key)


def source_key(creator: str, subject: str = "s-1") -> str:
    return format_key(InsightKey(InsightKind.REVENUE_DROP, creator, subject, PERIOD))


CREATOR = Viewer("cu-1", frozenset({"CUSTOMER", "CREATOR"}), frozenset(), "cr-1")
CUSTOMER = Viewer("cu-2", frozenset({"CUSTOMER"}), frozenset(), None)


@pytest.fixture(autouse=True)
async def _pools() -> AsyncIterator[None]:
    yield
    await close_read_pools()


class Fires:
    """A REVENUE_DROP rule that fires for the given subjects over any range (or raises)."""

    kind = InsightKind.REVENUE_DROP
    name = "revenue-drop"
    version = 1
    range_based = True

    def __init__(self, *subjects: str, fail: bool = False) -> None:
        self.subjects, self.fail = subjects, fail

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        if self.fail:
            raise RuntimeError("the rule broke")
        return [
            Finding(self.kind, InsightSeverity.WARNING, subject, inputs.current.period,
                    f"drop {subject}", "m", (), "r")
            for subject in self.subjects
        ]  # fmt: skip


FIRING = (Fires("s-1", "a", "b"),)


async def with_creator(engine: AsyncEngine) -> None:
    """cr-1 owns store s-1: its insights can be evaluated (and so recorded)."""
    raw = [
        {"id": str(uuid.uuid4()), "type": type_, "occurredAt": "2026-11-01T00:00:00Z", "data": data}
        for type_, data in (
            ("StoreUpserted", {"storeId": "s-1", "slug": "s-1", "name": "S", "currencyCode": "EUR",
                               "ownerCreatorId": "cr-1"}),
            ("CreatorUpserted", {"creatorId": "cr-1", "handle": "ana", "name": "Ana", "bio": None,
                                 "avatarUrl": None, "storeId": "s-1"}),
        )
    ]  # fmt: skip
    events, errors = validate_events(raw)
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())


async def mutate(
    engine: AsyncEngine,
    document: str,
    variables: dict[str, Any],
    viewer: Viewer | None,
    rules: tuple[Any, ...] = FIRING,
) -> dict[str, Any]:
    context = RequestContext(
        db=reader_for(engine),
        now=NOW,
        viewer=viewer,
        events=EngineEventWriter(engine),
        insight_rules=rules,
    )
    body, _ = await run(engine, document, variables, context=context)
    return body


async def written(engine: AsyncEngine) -> tuple[int, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(events in the log, state rows, audit rows without event ids)."""
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM event_log"))).scalar_one()
        state = await conn.execute(
            text("SELECT creator_id, insight_id, seen_at, dismissed_at FROM insight_state")
        )
        audit = await conn.execute(
            text(
                "SELECT position, creator_id, insight_id, action, actor, at "
                "FROM insight_audit ORDER BY position"
            )
        )
        return count, [tuple(r) for r in state], [tuple(r) for r in audit]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_dismissing_writes_state_and_audit_once(engine: AsyncEngine) -> None:
    """A creator's dismissal is in the state and the audit at once; a second one adds nothing."""
    await with_creator(engine)
    variables = {"id": insight_id("cr-1")}
    first = await mutate(engine, DISMISS, variables, CREATOR)
    second = await mutate(engine, DISMISS, variables, CREATOR)
    payload = {"data": {"dismissInsight": {"insights": [{"id": variables["id"], "seen": False}]}}}
    assert first == second == payload
    assert await written(engine) == (
        3,
        [("cr-1", source_key("cr-1"), None, NOW)],
        [(3, "cr-1", source_key("cr-1"), "dismissed", "cu-1", NOW)],
    )


async def test_marking_seen_dedupes_ids_and_skips_what_was_seen(engine: AsyncEngine) -> None:
    """Repeated ids count once, and a later call appends only the ids not seen yet."""
    await with_creator(engine)
    a, b = insight_id("cr-1", "a"), insight_id("cr-1", "b")
    await mutate(engine, MARK_SEEN, {"ids": [a, a]}, CREATOR)
    body = await mutate(engine, MARK_SEEN, {"ids": [a, b]}, CREATOR)
    assert body == {
        "data": {
            "markInsightsSeen": {"insights": [{"id": a, "seen": True}, {"id": b, "seen": True}]}
        }
    }
    count, state, audit = await written(engine)
    assert count == 4
    assert sorted(state) == [
        ("cr-1", source_key("cr-1", "a"), NOW, None),
        ("cr-1", source_key("cr-1", "b"), NOW, None),
    ]
    assert [(r[0], r[2], r[3]) for r in audit] == [
        (3, source_key("cr-1", "a"), "seen"),
        (4, source_key("cr-1", "b"), "seen"),
    ]


async def test_an_insight_that_does_not_fire_is_not_recorded(engine: AsyncEngine) -> None:
    """Nothing to hide or mark: the payload is empty and nothing is written."""
    await with_creator(engine)
    body = await mutate(engine, DISMISS, {"id": insight_id("cr-1", "quiet")}, CREATOR)
    assert body == {"data": {"dismissInsight": {"insights": []}}}
    assert await written(engine) == (2, [], [])


async def test_a_failing_evaluation_writes_nothing(engine: AsyncEngine) -> None:
    """If the rules cannot evaluate the insight, the call is INSIGHTS_UNAVAILABLE, unwritten."""
    await with_creator(engine)
    body = await mutate(
        engine, DISMISS, {"id": insight_id("cr-1")}, CREATOR, rules=(Fires(fail=True),)
    )
    assert body["data"] is None
    assert codes(body) == ["INSIGHTS_UNAVAILABLE"]
    assert await written(engine) == (2, [], [])


async def test_an_id_of_a_period_no_dashboard_has_is_invalid(engine: AsyncEngine) -> None:
    """Years-long, pre-1970 or control-character ids are INVALID_ID before any work."""
    long = InsightKey(
        InsightKind.REVENUE_DROP, "cr-1", "s-1", Period(date(2020, 1, 1), date(2026, 1, 1))
    )
    early = InsightKey(
        InsightKind.REVENUE_DROP, "cr-1", "s-1", Period(date(1, 1, 1), date(1, 1, 3))
    )
    nul = InsightKey(InsightKind.REVENUE_DROP, "cr-1", "s\x00", PERIOD)
    for key in (long, early, nul):
        body = await mutate(engine, DISMISS, {"id": encode_id("Insight", format_key(key))}, CREATOR)
        assert codes(body) == ["INVALID_ID"]
    assert await written(engine) == (0, [], [])


@pytest.mark.parametrize(
    ("ids", "code", "message"),
    [
        (
            [insight_id("cr-1"), insight_id("cr-2")],
            "FORBIDDEN",
            "this insight belongs to another creator",
        ),
        ([insight_id("cr-1"), "not-an-id"], "INVALID_ID", "'not-an-id' is not a valid id"),
        (
            [insight_id("cr-1"), encode_id("Product", "p-1")],
            "INVALID_ID",
            "ids: expected the id of a Insight, got the id of a Product",
        ),
        (
            [insight_id("cr-1"), encode_id("Insight", "ins-cr-1-revenue-drop")],
            "INVALID_ID",
            "not an insight id this API issued",
        ),
        (
            [insight_id("cr-1", str(n)) for n in range(101)],
            "BAD_USER_INPUT",
            "ids: at most 100 ids per call, got 101",
        ),
    ],
)
async def test_one_bad_id_fails_the_call_and_writes_nothing(
    engine: AsyncEngine, ids: list[str], code: str, message: str
) -> None:
    """Another creator's insight, a foreign or malformed id, or too many ids: an error, no write."""
    body = await mutate(engine, MARK_SEEN, {"ids": ids}, CREATOR)
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [(message, code)]
    assert await written(engine) == (0, [], [])


@pytest.mark.parametrize(("viewer", "code"), [(None, "UNAUTHENTICATED"), (CUSTOMER, "FORBIDDEN")])
async def test_only_a_creator_may_dismiss(
    engine: AsyncEngine, viewer: Viewer | None, code: str
) -> None:
    """Anonymous is UNAUTHENTICATED, a customer FORBIDDEN, and nothing is written."""
    body = await mutate(engine, DISMISS, {"id": insight_id("cr-1")}, viewer)
    assert (body["data"], codes(body)) == (None, [code])
    assert await written(engine) == (0, [], [])


async def test_a_store_that_names_another_owner_is_not_the_creators(engine: AsyncEngine) -> None:
    """cr-9 says it runs s-1, whose StoreUpserted names cr-1: cr-9's dashboard measures nothing."""
    await with_creator(engine)
    raw = [
        {
            "id": str(uuid.uuid4()),
            "type": "CreatorUpserted",
            "occurredAt": "2026-11-02T00:00:00Z",
            "data": {"creatorId": "cr-9", "handle": "eve", "name": "Eve", "bio": None,
                     "avatarUrl": None, "storeId": "s-1"},
        }
    ]  # fmt: skip
    events, errors = validate_events(raw)
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections())
    eve = Viewer("u-eve", frozenset({"CREATOR"}), frozenset(), "cr-9")
    query = "{ creatorDashboard { revenue { total { amount currencyCode } } insights { id } } }"
    body = await mutate(engine, query, {}, eve, rules=())
    assert body == {
        "data": {
            "creatorDashboard": {
                "revenue": {"total": {"amount": "0.00", "currencyCode": "XXX"}},
                "insights": [],
            }
        }
    }
