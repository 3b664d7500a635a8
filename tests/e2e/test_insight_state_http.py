"""Seen and dismiss over real HTTP, with the projectors stopped: read-your-writes through
the write-through, FORBIDDEN and UNAUTHENTICATED, idempotence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest

from infra.auth import mint_token
from infra.database import asyncpg_dsn, create_engine
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.ids import encode_id
from tests.e2e.events import event
from tests.e2e.server import Server, running_server
from tests.e2e.test_viewer_http import vitrine

pytestmark = pytest.mark.e2e

SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
DISMISS = "mutation D($id: ID!) { dismissInsight(id: $id) { insights { id seen } } }"
MARK_SEEN = "mutation S($ids: [ID!]!) { markInsightsSeen(ids: $ids) { insights { id seen } } }"
DASHBOARD = "{ creatorDashboard { insights { id kind seen } } }"


def world(now: datetime) -> list[dict[str, Any]]:
    """Creator cr-1 owns store s-1, whose promotion ends in 5 hours (PROMOTION_ENDING fires);
    creator cr-2 owns s-2, with the same kind of promotion."""
    events: list[dict[str, Any]] = []
    for n in (1, 2):
        events += [
            event(
                "StoreUpserted",
                storeId=f"s-{n}",
                slug=f"s{n}",
                name=f"S{n}",
                currencyCode="EUR",
                ownerCreatorId=f"cr-{n}",
            ),
            event(
                "CreatorUpserted",
                creatorId=f"cr-{n}",
                handle=f"c{n}",
                name=f"C{n}",
                bio=None,
                avatarUrl=None,
                storeId=f"s-{n}",
            ),
            event(
                "PromotionUpserted",
                promotionId=f"pr-{n}",
                storeId=f"s-{n}",
                name="Winter",
                description=None,
                kind="PERCENT_OFF",
                value="10",
                startsAt=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                endsAt=(now + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                priority=0,
                stackable=False,
                active=True,
                condition=None,
            ),
        ]
    return events


@pytest.fixture
async def projected(database_url: str) -> str:
    """The world, projected before the server starts (whose projectors never run)."""
    engine = create_engine(database_url)
    try:
        events, errors = validate_events(world(datetime.now(UTC)))
        assert errors == []
        await append_events(engine, events)
        await catch_up(engine, all_projections())
    finally:
        await engine.dispose()
    return database_url


@pytest.fixture
def server(projected: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(projected, tmp_path, jwt_secret=SECRET, run_projectors="false") as server:
        yield server


def bearer(sub: str, roles: list[str], creator_id: str | None = None) -> dict[str, str]:
    token = mint_token(SECRET, sub=sub, roles=roles, ttl_seconds=600, creator_id=creator_id)
    return {"Authorization": f"Bearer {token}"}


CREATOR_1 = bearer("cu-1", ["CREATOR"], "cr-1")
CREATOR_2 = bearer("cu-2", ["CREATOR"], "cr-2")


def dashboard(server: Server, headers: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
    """The dashboard's insights, and how the response cache answered (MISS, HIT-L1...)."""
    response = server.graphql(DASHBOARD, None, **headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    insights: list[dict[str, Any]] = body["data"]["creatorDashboard"]["insights"]
    return insights, response.headers["vitrine-cache"]


def dashboard_insights(server: Server, headers: dict[str, str]) -> list[dict[str, Any]]:
    return dashboard(server, headers)[0]


async def log_state(database_url: str) -> tuple[int, list[tuple[Any, ...]], int]:
    """(insight events in the log, state rows, audit rows) read straight from the database."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        events = await conn.fetchval(
            "SELECT count(*) FROM event_log WHERE type IN ('InsightSeen', 'InsightDismissed')"
        )
        state = await conn.fetch(
            "SELECT creator_id, seen_at IS NOT NULL, dismissed_at IS NOT NULL FROM insight_state "
            "ORDER BY 1"
        )
        audit = await conn.fetchval("SELECT count(*) FROM insight_audit")
        return int(events), [tuple(r) for r in state], int(audit)
    finally:
        await conn.close()


async def test_seen_then_dismissed_shows_at_once_with_projectors_stopped(
    server: Server, projected: str
) -> None:
    """The mutation's answer and the next dashboard (not the cached one) reflect it, though
    the projector never applies the events; a repeat changes nothing."""
    (insight,), _ = dashboard(server, CREATOR_1)
    assert (insight["kind"], insight["seen"]) == ("PROMOTION_ENDING", False)
    assert dashboard(server, CREATOR_1) == ([insight], "HIT-L1")
    seen = server.graphql(MARK_SEEN, {"ids": [insight["id"]]}, **CREATOR_1)
    assert seen.status_code == 200
    assert seen.headers["cache-control"] == "no-store"
    assert seen.json()["data"] == {
        "markInsightsSeen": {"insights": [{"id": insight["id"], "seen": True}]}
    }
    assert dashboard(server, CREATOR_1) == ([{**insight, "seen": True}], "MISS")
    dismissed = server.graphql(DISMISS, {"id": insight["id"]}, **CREATOR_1)
    again = server.graphql(DISMISS, {"id": insight["id"]}, **CREATOR_1)
    assert dismissed.json()["data"] == again.json()["data"]
    assert dismissed.json()["data"] == {
        "dismissInsight": {"insights": [{"id": insight["id"], "seen": True}]}
    }
    assert dashboard_insights(server, CREATOR_1) == []
    assert await log_state(projected) == (2, [("cr-1", True, True)], 2)
    # The world's 6 events were projected before the server started; 7 and 8 never were.
    assert await positions(projected) == (6, 8)


async def positions(database_url: str) -> tuple[int, int]:
    """(the insight-state projection's checkpoint, the log's head)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        checkpoint = await conn.fetchval(
            "SELECT position FROM projection_checkpoints WHERE name = 'insight-state'"
        )
        head = await conn.fetchval("SELECT position FROM event_log_head WHERE id = 1")
        return int(checkpoint), int(head)
    finally:
        await conn.close()


async def test_another_creators_insight_is_forbidden_and_untouched(
    server: Server, projected: str
) -> None:
    """Creator 2 dismissing creator 1's insight gets FORBIDDEN, no data, and nothing written."""
    (insight,) = dashboard_insights(server, CREATOR_1)
    response = server.graphql(DISMISS, {"id": insight["id"]}, **CREATOR_2)
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await log_state(projected) == (0, [], 0)
    assert dashboard_insights(server, CREATOR_1) == [insight]


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "UNAUTHENTICATED"), (bearer("cu-9", ["CUSTOMER"]), "FORBIDDEN")],
)
async def test_customers_and_anonymous_are_refused(
    server: Server, projected: str, headers: dict[str, str], code: str
) -> None:
    """A customer token is FORBIDDEN and an anonymous call UNAUTHENTICATED, with no data."""
    some_id = encode_id("Insight", "PROMOTION_ENDING:cr-1:2026-12-01:2026-12-01:pr-1")
    calls: list[tuple[str, dict[str, object]]] = [
        (DISMISS, {"id": some_id}),
        (MARK_SEEN, {"ids": [some_id]}),
    ]
    for document, variables in calls:
        body = server.graphql(document, variables, **headers).json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    dashboard = server.graphql(DASHBOARD, None, **headers).json()
    assert dashboard["data"] == {"creatorDashboard": None}
    assert [e["extensions"]["code"] for e in dashboard["errors"]] == [code]
    assert await log_state(projected) == (0, [], 0)


def test_the_cli_mints_creator_tokens_as_the_issue_spells_them(
    server: Server, tmp_path: Path
) -> None:
    """`token create --role CREATOR --creator-id cr-1` signs `role` and `creator_id`, and works."""
    result = vitrine(
        tmp_path,
        "token",
        "create",
        "--role",
        "CREATOR",
        "--creator-id",
        "cr-1",
        VITRINE_JWT_SECRET=SECRET,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["creator_id"]) == ("cr-1", "CREATOR", "cr-1")
    (insight,) = dashboard_insights(server, {"Authorization": f"Bearer {token}"})
    assert insight["kind"] == "PROMOTION_ENDING"
