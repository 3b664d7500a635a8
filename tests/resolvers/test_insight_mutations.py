"""dismissInsight and markInsightsSeen in-process: auth and ids checked before any write,
the write-through's rows, idempotence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.event_writer import EngineEventWriter
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.insights.model import InsightKind, Period
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


async def mutate(
    engine: AsyncEngine, document: str, variables: dict[str, Any], viewer: Viewer | None
) -> dict[str, Any]:
    context = RequestContext(
        db=reader_for(engine), now=NOW, viewer=viewer, events=EngineEventWriter(engine)
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
    variables = {"id": insight_id("cr-1")}
    first = await mutate(engine, DISMISS, variables, CREATOR)
    second = await mutate(engine, DISMISS, variables, CREATOR)
    # No creator profile is projected, so no insight fires: the payload lists none.
    assert first == second == {"data": {"dismissInsight": {"insights": []}}}
    assert await written(engine) == (
        1,
        [("cr-1", source_key("cr-1"), None, NOW)],
        [(1, "cr-1", source_key("cr-1"), "dismissed", "cu-1", NOW)],
    )


async def test_marking_seen_dedupes_ids_and_skips_what_was_seen(engine: AsyncEngine) -> None:
    """Repeated ids count once, and a later call appends only the ids not seen yet."""
    a, b = insight_id("cr-1", "a"), insight_id("cr-1", "b")
    await mutate(engine, MARK_SEEN, {"ids": [a, a]}, CREATOR)
    body = await mutate(engine, MARK_SEEN, {"ids": [a, b]}, CREATOR)
    assert body == {"data": {"markInsightsSeen": {"insights": []}}}
    count, state, audit = await written(engine)
    assert count == 2
    assert sorted(state) == [
        ("cr-1", source_key("cr-1", "a"), NOW, None),
        ("cr-1", source_key("cr-1", "b"), NOW, None),
    ]
    assert [(r[0], r[2], r[3]) for r in audit] == [
        (1, source_key("cr-1", "a"), "seen"),
        (2, source_key("cr-1", "b"), "seen"),
    ]


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
