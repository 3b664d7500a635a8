"""CreatorDashboard over HTTP: the viral creator and a typical one, each with its own token.

Issue 7 asks what the dashboard costs for the largest creator of the dataset
and for an ordinary one. Both are chosen from the dataset itself:

- **viral**: `cr-1` (`readmodels.demo.world.VIRAL_CREATOR`), the creator the demo
  world gives the most followers and engagement; the phase also records
  which creator's store has the most orders, so a report says whether cr-1
  is the largest by orders as well;
- **typical**: the creator whose store's order count (the sum of
  `store_daily.orders`, net of cancellations) is the median among creators
  with a store (the lower median for an even count; ties in the ids'
  natural order).

Each is measured on the server's default range (no `range` variable: the last
7 days by the server's clock), on the 7 days ending at the dataset's fixed
`now` (what the default range reads when the clock matches the data: the
dataset ends at `bench.dataset.NOW`, and a later clock makes the default
range days with no orders), and on the longest range allowed, 366 days
ending at the dataset's `now`.

Every request carries `Authorization: Bearer <token>`, a CREATOR token for
that creator minted with the bench server's secret (`bench.server.JWT_SECRET`).
The floor of each case gets the same body and headers, so the ratio is what
authentication, GraphQL and the read models cost on top of HTTP. The
response cache is off (as in the load phase): this measures execution.
Before any load, one request per case must answer HTTP 200 without errors and
name the right creator. Statements per request come from the in-process
breakdown (`bench.inprocess`) run with the same viewer; the HTTP endpoint
adds one more, the viewer's segments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from bench.load import LoadSettings, measure_load, render_script, write_bodies
from bench.server import JWT_SECRET, PreflightError, Server, check_answer, post_json
from bench.viewers import auth_headers, inprocess_as, natural, ratio
from bench.workload import Operation
from readmodels.demo.world import VIRAL_CREATOR

OPERATION = "CreatorDashboard"
VIRAL_CREATOR_ID = f"cr-{VIRAL_CREATOR}"
CREATOR_ROLE = "CREATOR"
TOKEN_TTL_SECONDS = 12 * 3600  # outlives any run
INPROCESS_ROUNDS = 100


class DashboardError(Exception):
    """The dataset has no creator to measure, or no viral creator."""


class RangeSpec(NamedTuple):
    """A dashboard range: `days` ending at the dataset's `now`, or None for the default."""

    key: str
    label: str
    days: int | None


RANGES: tuple[RangeSpec, ...] = (
    RangeSpec("default", "default range (last 7 days, server clock)", None),
    RangeSpec("7d", "7 days to the dataset's now", 7),
    RangeSpec("366d", "366 days to the dataset's now", 366),
)
WHO = ("viral", "typical")
RUNS = len(RANGES) * len(WHO) * 2  # floor + dashboard per case


class CreatorOrders(NamedTuple):
    """A creator with a store, and how many (live) orders that store has in the dataset."""

    creator_id: str
    store_id: str
    orders: int


def median_creator(rows: Sequence[CreatorOrders]) -> CreatorOrders:
    """The creator whose store's order count is the median (the lower one for an even
    count), ties in the ids' natural order."""
    if not rows:
        raise DashboardError("no creator with a store in the dataset")
    ordered = sorted(rows, key=lambda r: (r.orders, *natural(r.creator_id)))
    return ordered[(len(ordered) - 1) // 2]


def largest_creator(rows: Sequence[CreatorOrders]) -> CreatorOrders:
    """The creator whose store has the most orders (the first in natural order on a tie)."""
    if not rows:
        raise DashboardError("no creator with a store in the dataset")
    return min(rows, key=lambda r: (-r.orders, *natural(r.creator_id)))


def order_rank(rows: Sequence[CreatorOrders], creator_id: str) -> int:
    """1-based rank of a creator by its store's orders, most orders first."""
    ordered = sorted(rows, key=lambda r: (-r.orders, *natural(r.creator_id)))
    return next(i for i, row in enumerate(ordered, 1) if row.creator_id == creator_id)


def range_variables(days: int | None, end: date) -> dict[str, Any]:
    """The operation's variables: none for the default range, else `days` days (both ends
    included) ending at `end`."""
    if days is None:
        return {}
    if days < 1:
        raise ValueError("a range holds at least one day")
    start = end - timedelta(days=days - 1)
    return {"range": {"from": start.isoformat(), "to": end.isoformat()}}


def creator_token(creator_id: str, secret: str = JWT_SECRET, *, now: float | None = None) -> str:
    """A CREATOR token for `creator_id` (`infra.auth.mint_token` writes both claim
    spellings, `creator_id` and `creatorId`)."""
    from infra.auth import mint_token

    return mint_token(
        secret,
        sub=f"bench-{creator_id}",
        roles=[CREATOR_ROLE],
        ttl_seconds=TOKEN_TTL_SECONDS,
        creator_id=creator_id,
        now=now,
    )


def dashboard_summary(answer: bytes, creator_id: str) -> dict[str, Any]:
    """What one answer holds (orders, days, top products, insights); PreflightError
    unless it is the dashboard of `creator_id`."""
    from resolvers.ids import encode_id

    data = (orjson.loads(answer).get("data") or {}).get("creatorDashboard")
    if not isinstance(data, dict):
        raise PreflightError(f"{OPERATION} for {creator_id}: no dashboard in {answer[:500]!r}")
    shown = (data.get("creator") or {}).get("id")
    if shown != encode_id("Creator", creator_id):
        raise PreflightError(f"{OPERATION} for {creator_id} answered for creator id {shown!r}")
    revenue = data.get("revenue") or {}
    insights = data.get("insights")
    return {
        "orders": revenue.get("orders"),
        "days": len(revenue.get("daily") or []),
        "top_products": len(data.get("topProducts") or []),
        "insights": None if insights is None else [i.get("kind") for i in insights],
    }


@dataclass
class DashboardContext:
    """What the phase needs from the suite."""

    database_url: str
    settings: LoadSettings
    scratch: Path
    logdir: Path
    dataset_now: date
    problems: list[str] = field(default_factory=list)
    inprocess_rounds: int = INPROCESS_ROUNDS


class Case(NamedTuple):
    """One measured combination: who, which range, as whom, with which body."""

    label: str
    who: str
    creator_id: str
    range: RangeSpec
    body: dict[str, Any]


def cases(operation: Operation, creators: Mapping[str, CreatorOrders], end: date) -> list[Case]:
    """Every (creator, range) pair, creators in WHO's order, ranges in RANGES' order."""
    found = []
    for who in WHO:
        creator = creators[who]
        for spec in RANGES:
            body = {"query": operation.query, "variables": range_variables(spec.days, end)}
            found.append(Case(f"dashboard-{who}-{spec.key}", who, creator.creator_id, spec, body))
    return found


async def creator_orders(database_url: str) -> list[CreatorOrders]:
    """Every creator with a store, with its store's order count (one query)."""
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT c.id, c.store_id, coalesce(sum(d.orders), 0)::bigint AS orders"
            " FROM creators c LEFT JOIN store_daily d ON d.store_id = c.store_id"
            " WHERE c.store_id IS NOT NULL GROUP BY c.id, c.store_id"
        )
    finally:
        await conn.close()
    return [CreatorOrders(r["id"], r["store_id"], int(r["orders"])) for r in rows]


def choose_creators(rows: Sequence[CreatorOrders]) -> dict[str, CreatorOrders]:
    viral = next((r for r in rows if r.creator_id == VIRAL_CREATOR_ID), None)
    if viral is None:
        raise DashboardError(f"the viral creator {VIRAL_CREATOR_ID} has no store in the dataset")
    return {"viral": viral, "typical": median_creator(rows)}


def measure_dashboard(
    ctx: DashboardContext,
    operation: Operation,
    server: Server,
    tick: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Preflight, then floor + dashboard per case, then the in-process statements."""
    from bench.dataset import call

    rows = asyncio.run(creator_orders(ctx.database_url))
    creators = choose_creators(rows)
    largest = largest_creator(rows)
    tokens = {who: creator_token(c.creator_id) for who, c in creators.items()}
    chosen = cases(operation, creators, ctx.dataset_now)
    answers = {case.label: _preflight(server, case, tokens[case.who]) for case in chosen}
    results: dict[str, Any] = {
        "creators": {
            who: {**c._asdict(), "order_rank": order_rank(rows, c.creator_id)}
            for who, c in creators.items()
        },
        "largest_by_orders": largest._asdict(),
        "viral_is_largest": largest.creator_id == VIRAL_CREATOR_ID,
        "creators_with_store": len(rows),
        "dataset_now": ctx.dataset_now.isoformat(),
        "server_today": datetime.now(UTC).date().isoformat(),
        "cases": {},
    }
    for case in chosen:
        size, summary = answers[case.label]
        headers = auth_headers(tokens[case.who])
        path = ctx.scratch / f"{case.label}.bodies"
        write_bodies(path, [case.body])
        floor = _measured(
            ctx, server, f"{case.label}-floor", path, f"/bench/floor?bytes={size}", headers, tick
        )
        graphql = _measured(ctx, server, case.label, path, "/graphql", headers, tick)
        results["cases"][case.label] = {
            "who": case.who,
            "creator_id": case.creator_id,
            "range": case.range.key,
            "range_label": case.range.label,
            "variables": case.body["variables"],
            "response_bytes": size,
            "answer": summary,
            "graphql": graphql,
            "floor": floor,
            "ratio_to_floor": ratio(graphql["rps"], floor["rps"]),
        }
    inprocess = call(
        inprocess_breakdown,
        ctx.database_url,
        [(c.label, c.creator_id, c.body) for c in chosen],
        rounds=ctx.inprocess_rounds,
    )
    for label, row in inprocess.items():
        results["cases"][label]["inprocess"] = row
        if row.get("errors"):
            ctx.problems.append(f"in-process {label}: {row['errors']}")
    return results


def _preflight(server: Server, case: Case, token: str) -> tuple[int, dict[str, Any]]:
    """(answer size, what it holds): one request, which must be clean and the creator's."""
    status, answer = post_json(
        f"{server.url}/graphql", orjson.dumps(case.body), headers=auth_headers(token)
    )
    check_answer(
        f"{OPERATION} ({case.who} {case.creator_id}, {case.range.key})", case.body, status, answer
    )
    return len(answer), dashboard_summary(answer, case.creator_id)


def _measured(
    ctx: DashboardContext,
    server: Server,
    label: str,
    bodies: Path,
    request_path: str,
    headers: Mapping[str, str],
    tick: Callable[[float], None] | None,
) -> dict[str, Any]:
    def script(result: Path, _label: str) -> str:
        return render_script(
            bodies=bodies,
            result=result,
            request_path=request_path,
            threads=ctx.settings.threads,
            headers=headers,
        )

    result = measure_load(
        server,
        settings=ctx.settings,
        bodies=bodies,
        request_path=request_path,
        label=label,
        scratch=ctx.scratch,
        logdir=ctx.logdir,
        tick=tick,
        script=script,
    )
    if result["non_2xx"] or result["socket_errors"]:
        ctx.problems.append(
            f"{label}: {result['non_2xx']} non-2xx responses,"
            f" {result['socket_errors']} socket errors"
        )
    return result


async def inprocess_breakdown(
    database_url: str, chosen: Sequence[tuple[str, str, dict[str, Any]]], *, rounds: int
) -> dict[str, dict[str, Any]]:
    """`bench.inprocess.measure_operation` per case, as that case's creator."""
    from resolvers.viewer import Viewer

    def creator(creator_id: str) -> Viewer:
        return Viewer(f"bench-{creator_id}", frozenset({CREATOR_ROLE}), frozenset(), creator_id)

    return await inprocess_as(database_url, chosen, creator, rounds=rounds)
