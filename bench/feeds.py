"""Feeds over HTTP: Feed for the heaviest follower and a typical user, Trending, and the
delay from `recordEngagement` to the post's counters changing.

Issue 8 asks what a feed page costs for the user who follows the most
creators and for an ordinary one, what Trending costs, and how long an
engagement takes to show. The users are chosen from the dataset itself:

- **heaviest**: the user with the most follows in the `follows` read model
  (`u-1` in the demo world, `readmodels.demo.world.POWER_USER`, 2,000 follows on
  medium); the first in natural order on a tie;
- **typical**: the user whose follow count is the median among users with at
  least one follow (the lower median for an even count; ties in the ids'
  natural order, "u-2" before "u-10").

Each gets its own CUSTOMER token (`sub` = the user id, signed with the bench
server's `bench.server.JWT_SECRET`) on every request. Two pages each: the
**first** page (`first: 20`, no cursor) and a **deep** page, reached by
walking up to `DEEP_PAGE - 1` pages from the first and taking the last
`endCursor` (a user whose feed ends sooner gets its last page; the report says
which page). Trending is measured for DAY, then HOUR and WEEK on shorter runs,
without a token (it needs none). The response cache is off (as in the load
phase): this measures execution. Every case is one fixed body; the floor gets
the same body and headers.

The engagement delay runs on a server with projectors (on a throwaway copy of
the dataset: it writes events): each sample reads a post's counters, sends
`recordEngagement` (a new user each time, with its own token: a user counts
once per kind), then reads `post(id)` back to back, without
`Vitrine-Min-Position`, until that kind's counter has grown, within a
deadline. The delay runs from the mutation's answer (and, beside it, from
when it was sent) to the first read that shows it. The samples go round the
`ENGAGED_POSTS` most engaged posts, so afterwards every trending window holds
at least a page of posts engaged "now" by the server's clock: Trending is
measured again there, per window (the dataset's own engagements end at its fixed `now`,
so on a later clock the served windows can be empty).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson

from bench.load import LoadSettings, measure_load, render_script, write_bodies
from bench.server import JWT_SECRET, PreflightError, Server, check_answer, post_json
from bench.stats import percentile, summary
from bench.viewers import auth_headers, inprocess_as, natural, ratio
from bench.workload import OPERATIONS_DIR

FEED = "Feed"
TRENDING = "Trending"
RECORD_ENGAGEMENT = "RecordEngagement"
CUSTOMER_ROLE = "CUSTOMER"
TOKEN_TTL_SECONDS = 12 * 3600
PAGE_SIZE = 20
DEEP_PAGE = 6  # the page measured as "deep": five pages walked, the sixth fetched
WHO = ("heaviest", "typical")
WINDOWS = ("DAY", "HOUR", "WEEK")
BRIEF_WINDOWS = frozenset({"HOUR", "WEEK"})  # measured on runs a third as long
KINDS = ("LIKE", "SHARE", "REMIX")
COUNTER = {"LIKE": "likes", "SHARE": "shares", "REMIX": "remixes"}
ENGAGED_POSTS = 40
ENGAGEMENT_SAMPLES = 200
DEADLINE_S = 10.0
INPROCESS_ROUNDS = 100
# Feed first + deep per user, Trending per window; each floor + operation.
RUNS = (len(WHO) * 2 + len(WINDOWS)) * 2
ENGAGED_RUNS = len(WINDOWS) * 2  # Trending after the engagements: floor + operation

POST_ENGAGEMENT = """query PostEngagement($id: ID!) {
  post(id: $id) { id engagement { likes shares remixes } }
}"""


class FeedsError(Exception):
    """The dataset has no follows, or no published post to engage with."""


class UserFollows(NamedTuple):
    """A user and how many creators they follow in the dataset."""

    user_id: str
    follows: int


def median_user(rows: Sequence[UserFollows]) -> UserFollows:
    """The user with the median follow count (the lower one for an even count), ties in
    the ids' natural order."""
    if not rows:
        raise FeedsError("no user follows anyone in the dataset")
    ordered = sorted(rows, key=lambda r: (r.follows, *natural(r.user_id)))
    return ordered[(len(ordered) - 1) // 2]


def heaviest_user(rows: Sequence[UserFollows]) -> UserFollows:
    """The user with the most follows (the first in natural order on a tie)."""
    if not rows:
        raise FeedsError("no user follows anyone in the dataset")
    return min(rows, key=lambda r: (-r.follows, *natural(r.user_id)))


def choose_users(rows: Sequence[UserFollows]) -> dict[str, UserFollows]:
    return {"heaviest": heaviest_user(rows), "typical": median_user(rows)}


def follow_stats(rows: Sequence[UserFollows]) -> dict[str, Any]:
    counts = [r.follows for r in rows]
    return {
        "users_following": len(rows),
        "follows": sum(counts),
        "median_follows": percentile(counts, 50) if counts else None,
        "max_follows": max(counts, default=None),
    }


def customer_token(user_id: str, secret: str = JWT_SECRET, *, now: float | None = None) -> str:
    """A CUSTOMER token whose `sub` is `user_id` (what `Query.feed` and the mutations read)."""
    from infra.auth import mint_token

    return mint_token(
        secret, sub=user_id, roles=[CUSTOMER_ROLE], ttl_seconds=TOKEN_TTL_SECONDS, now=now
    )


def feed_body(query: str, after: str | None, first: int = PAGE_SIZE) -> dict[str, Any]:
    variables: dict[str, Any] = {"first": first}
    if after is not None:
        variables["after"] = after
    return {"query": query, "variables": variables}


def trending_body(query: str, window: str, first: int = PAGE_SIZE) -> dict[str, Any]:
    return {"query": query, "variables": {"window": window, "first": first}}


def _data(answer: bytes, field_name: str) -> Any:
    try:
        parsed = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    return data.get(field_name) if isinstance(data, dict) else None


def feed_page(answer: bytes) -> tuple[int, str | None]:
    """(posts on the page, the cursor of the next page or None at the end) of a Feed answer;
    PreflightError when the answer holds no feed."""
    feed = _data(answer, "feed")
    if not isinstance(feed, dict):
        raise PreflightError(f"{FEED}: no feed in {answer[:500]!r}")
    info = feed.get("pageInfo") or {}
    edges = feed.get("edges") or []
    cursor = info.get("endCursor") if info.get("hasNextPage") else None
    return len(edges), cursor


def trending_count(answer: bytes) -> int:
    """How many posts a Trending answer lists; PreflightError when it holds no list."""
    posts = _data(answer, "trending")
    if not isinstance(posts, list):
        raise PreflightError(f"{TRENDING}: no list in {answer[:500]!r}")
    return len(posts)


def engagement_counts(answer: bytes) -> dict[str, int] | None:
    """`post.engagement` of a PostEngagement answer, None when there is none."""
    post = _data(answer, "post")
    engagement = post.get("engagement") if isinstance(post, dict) else None
    if not isinstance(engagement, dict):
        return None
    try:
        return {name: int(engagement[name]) for name in COUNTER.values()}
    except (KeyError, TypeError, ValueError):
        return None


def counter_grew(before: Mapping[str, int], after: Mapping[str, int] | None, kind: str) -> bool:
    """Whether the counter of `kind` is above what it was before the engagement."""
    name = COUNTER[kind]
    return after is not None and after[name] > before[name]


def engagement_position(answer: bytes) -> int | None:
    """`recordEngagement.position` of an accepted engagement; PreflightError otherwise."""
    payload = _data(answer, "recordEngagement")
    if not isinstance(payload, dict) or payload.get("accepted") is not True:
        raise PreflightError(f"{RECORD_ENGAGEMENT} was not accepted: {answer[:500]!r}")
    position = payload.get("position")
    return position if isinstance(position, int) else None


def brief(settings: LoadSettings) -> LoadSettings:
    """A third of the run (at least 1 s measured) for the secondary trending windows."""
    return replace(
        settings, duration=max(1.0, settings.duration / 3), warmup=min(settings.warmup, 1.0)
    )


class Case(NamedTuple):
    """One measured body: its label, operation, as whom (None: anonymous)."""

    label: str
    operation: str
    who: str | None
    user_id: str | None
    page: int | None
    window: str | None
    body: dict[str, Any]
    brief: bool = False


@dataclass
class FeedsContext:
    """What the phase needs from the suite."""

    database_url: str
    settings: LoadSettings
    scratch: Path
    logdir: Path
    problems: list[str] = field(default_factory=list)
    inprocess_rounds: int = INPROCESS_ROUNDS
    engagement_samples: int = ENGAGEMENT_SAMPLES


async def user_follows(database_url: str) -> list[UserFollows]:
    """Every user with at least one follow, with its follow count (one query)."""
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch("SELECT user_id, count(*) AS n FROM follows GROUP BY user_id")
    finally:
        await conn.close()
    return [UserFollows(r["user_id"], int(r["n"])) for r in rows]


async def engaged_posts(database_url: str, count: int = ENGAGED_POSTS) -> list[str]:
    """The `count` most engaged published posts (ids of the read model), most first."""
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT id FROM posts WHERE published"
            " ORDER BY likes + shares + remixes DESC, id LIMIT $1",
            count,
        )
    finally:
        await conn.close()
    if not rows:
        raise FeedsError("no published post in the read models: seed first")
    return [r["id"] for r in rows]


def _post(server: Server, body: dict[str, Any], token: str | None) -> bytes:
    status, answer = post_json(
        f"{server.url}/graphql", orjson.dumps(body), headers=auth_headers(token)
    )
    check_answer(f"{body['query'].split('(')[0].strip()}", body, status, answer)
    return answer


def walk_feed(
    server: Server, query: str, token: str, pages: int = DEEP_PAGE
) -> list[tuple[int, str | None, int]]:
    """(page number, the cursor that requests it, posts on it) for up to `pages` pages."""
    walked: list[tuple[int, str | None, int]] = []
    after: str | None = None
    for page in range(1, pages + 1):
        posts, cursor = feed_page(_post(server, feed_body(query, after), token))
        walked.append((page, after, posts))
        if cursor is None:
            break
        after = cursor
    return walked


def feed_cases(
    operations: Mapping[str, str],
    users: Mapping[str, UserFollows],
    walks: Mapping[str, Sequence[tuple[int, str | None, int]]],
) -> list[Case]:
    """First and deepest walked page per user (in WHO's order), then Trending per window."""
    found = []
    for who in WHO:
        user = users[who]
        first_page, deepest = walks[who][0], walks[who][-1]
        for name, (page, after, _) in (("first", first_page), ("deep", deepest)):
            body = feed_body(operations[FEED], after)
            found.append(Case(f"feed-{who}-{name}", FEED, who, user.user_id, page, None, body))
    for window in WINDOWS:
        body = trending_body(operations[TRENDING], window)
        brief_run = window in BRIEF_WINDOWS
        found.append(
            Case(f"trending-{window}", TRENDING, None, None, None, window, body, brief_run)
        )
    return found


def measure_feeds(
    ctx: FeedsContext,
    operations: Mapping[str, str],
    server: Server,
    tick: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Choose the users, walk their feeds, then floor + operation per case, then the
    in-process statements."""
    from bench.dataset import call

    rows = asyncio.run(user_follows(ctx.database_url))
    users = choose_users(rows)
    tokens = {who: customer_token(u.user_id) for who, u in users.items()}
    walks = {who: walk_feed(server, operations[FEED], tokens[who]) for who in WHO}
    chosen = feed_cases(operations, users, walks)
    results: dict[str, Any] = {
        "users": {who: u._asdict() for who, u in users.items()},
        "follows": follow_stats(rows),
        "walks": {
            who: [{"page": p, "posts": n} for p, _, n in walk] for who, walk in walks.items()
        },
        "cases": {},
    }
    for case in chosen:
        token = tokens[case.who] if case.who is not None else None
        answer = _post(server, case.body, token)
        posts = feed_page(answer)[0] if case.operation == FEED else trending_count(answer)
        results["cases"][case.label] = measure_case(
            ctx, server, case, token, len(answer), posts, tick
        )
    empty = [c.window or "" for c in chosen if c.operation == TRENDING and not posts_of(results, c)]
    if empty:
        results["note"] = trending_note(empty)
    inprocess = call(
        inprocess_breakdown,
        ctx.database_url,
        [(c.label, c.user_id, c.body) for c in chosen],
        rounds=ctx.inprocess_rounds,
    )
    for label, row in inprocess.items():
        results["cases"][label]["inprocess"] = row
        if row.get("errors"):
            ctx.problems.append(f"in-process {label}: {row['errors']}")
    return results


def posts_of(results: Mapping[str, Any], case: Case) -> int:
    return int(results["cases"][case.label]["posts"])


def trending_note(windows: Sequence[str]) -> str:
    """Why a served trending window can be empty on the bench (not a failure)."""
    return (
        f"Trending {', '.join(windows)} listed no post: the dataset's engagements end at its"
        " fixed now, and the server's clock is later, so no post has engagement left inside"
        " those windows. These rows measure the empty answer; the engaged-copy rows, after"
        " the engagement samples, measure full pages."
    )


def measure_case(
    ctx: FeedsContext,
    server: Server,
    case: Case,
    token: str | None,
    size: int,
    posts: int,
    tick: Callable[[float], None] | None,
) -> dict[str, Any]:
    """The floor of the answer's size, then the operation, on the same body and headers."""
    headers = auth_headers(token)
    settings = brief(ctx.settings) if case.brief else ctx.settings
    path = ctx.scratch / f"{case.label}.bodies"
    write_bodies(path, [case.body])
    floor_path = f"/bench/floor?bytes={size}"
    floor = _measured(ctx, settings, server, f"{case.label}-floor", path, floor_path, headers, tick)
    graphql = _measured(ctx, settings, server, case.label, path, "/graphql", headers, tick)
    return {
        "operation": case.operation,
        "who": case.who,
        "user_id": case.user_id,
        "page": case.page,
        "window": case.window,
        "variables": {k: v for k, v in case.body["variables"].items() if k != "after"},
        "posts": posts,
        "response_bytes": size,
        "duration_s": settings.duration,
        "graphql": graphql,
        "floor": floor,
        "ratio_to_floor": ratio(graphql["rps"], floor["rps"]),
    }


def _measured(
    ctx: FeedsContext,
    settings: LoadSettings,
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
            threads=settings.threads,
            headers=headers,
        )

    result = measure_load(
        server,
        settings=settings,
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
    database_url: str, chosen: Sequence[tuple[str, str | None, dict[str, Any]]], *, rounds: int
) -> dict[str, dict[str, Any]]:
    """`bench.inprocess.measure_operation` per case, as that case's user (or anonymous)."""
    from resolvers.viewer import Viewer

    def customer(user_id: str) -> Viewer:
        return Viewer(user_id, frozenset({CUSTOMER_ROLE}), frozenset(), None)

    return await inprocess_as(database_url, chosen, customer, rounds=rounds)


# -- the engagement delay ------------------------------------------------------------


def engagement_plan(posts: Sequence[str], samples: int, run_id: str) -> list[tuple[str, str, str]]:
    """(post id, kind, engaging user) per sample: posts round-robin, kinds in turn, a new
    user each time (a user counts once per kind and post)."""
    if not posts:
        raise FeedsError("no post to engage with")
    return [
        (posts[i % len(posts)], KINDS[i % len(KINDS)], f"bench-engager-{run_id}-{i}")
        for i in range(samples)
    ]


@dataclass(slots=True)
class EngagementDelays:
    """Delays in milliseconds, the mutations' own latency, polls per sample, timeouts."""

    from_ack: list[float] = field(default_factory=list)
    from_post: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    timeouts: int = 0


class EngagementProbe:
    """Records engagements over HTTP and watches `post(id)` for the counters."""

    def __init__(self, client: httpx.AsyncClient, mutation: str, deadline_s: float) -> None:
        self._client = client
        self._mutation = mutation
        self._deadline_s = deadline_s

    async def counts(self, post_gid: str) -> tuple[dict[str, int] | None, float]:
        body = {"query": POST_ENGAGEMENT, "variables": {"id": post_gid}}
        response = await self._client.post(
            "/graphql", content=orjson.dumps(body), headers={"Content-Type": "application/json"}
        )
        return engagement_counts(response.content), time.perf_counter()

    async def sample(self, post_id: str, kind: str, user_id: str, delays: EngagementDelays) -> None:
        from resolvers.ids import encode_id

        post_gid = encode_id("Post", post_id)
        before, _ = await self.counts(post_gid)
        if before is None:
            raise FeedsError(f"post {post_id} ({post_gid}) has no engagement to read")
        body = {"query": self._mutation, "variables": {"postId": post_gid, "kind": kind}}
        headers = {"Content-Type": "application/json", **auth_headers(customer_token(user_id))}
        sent = time.perf_counter()
        response = await self._client.post("/graphql", content=orjson.dumps(body), headers=headers)
        acked = time.perf_counter()
        check_answer(RECORD_ENGAGEMENT, body, response.status_code, response.content)
        engagement_position(response.content)  # accepted, or PreflightError
        delays.ack.append((acked - sent) * 1000)
        polls = 0
        while True:
            after, seen = await self.counts(post_gid)
            polls += 1
            if counter_grew(before, after, kind):
                delays.from_ack.append((seen - acked) * 1000)
                delays.from_post.append((seen - sent) * 1000)
                delays.polls.append(polls)
                return
            if seen - acked > self._deadline_s:
                delays.timeouts += 1
                return


async def measure_engagement(
    server_url: str,
    database_url: str,
    *,
    samples: int = ENGAGEMENT_SAMPLES,
    deadline_s: float = DEADLINE_S,
) -> dict[str, Any]:
    """Delay from recordEngagement's answer to `post(id)` showing the new count."""
    mutation = (OPERATIONS_DIR / f"{RECORD_ENGAGEMENT}.graphql").read_text()
    posts = await engaged_posts(database_url)
    plan = engagement_plan(posts, samples, uuid.uuid4().hex[:8])
    delays = EngagementDelays()
    async with httpx.AsyncClient(
        base_url=server_url, timeout=deadline_s, limits=httpx.Limits(max_connections=1)
    ) as client:
        probe = EngagementProbe(client, mutation, deadline_s)
        for post_id, kind, user_id in plan:
            await probe.sample(post_id, kind, user_id, delays)
    return {
        "samples": samples,
        "posts": len(posts),
        "timeouts": delays.timeouts,
        "from_ack_ms": summary(delays.from_ack),
        "from_post_ms": summary(delays.from_post),
        "mutation_ms": summary(delays.ack),
        "polls": summary(delays.polls),
        "p50_ms": percentile(delays.from_ack, 50),
        "p99_ms": percentile(delays.from_ack, 99),
    }


def engaged_cases(operations: Mapping[str, str]) -> list[Case]:
    """Trending per window on the engaged copy, HOUR and WEEK brief."""
    return [
        Case(
            f"trending-{window}-engaged",
            TRENDING,
            None,
            None,
            None,
            window,
            trending_body(operations[TRENDING], window),
            window in BRIEF_WINDOWS,
        )
        for window in WINDOWS
    ]


def measure_engaged_trending(
    ctx: FeedsContext,
    operations: Mapping[str, str],
    server: Server,
    database_url: str,
    tick: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Trending per window on the engaged copy: floor + operation, then the in-process
    statements on that copy (before it is dropped)."""
    from bench.dataset import call

    chosen = engaged_cases(operations)
    found = {}
    for case in chosen:
        answer = _post(server, case.body, None)
        found[case.label] = measure_case(
            ctx, server, case, None, len(answer), trending_count(answer), tick
        )
    inprocess = call(
        inprocess_breakdown,
        database_url,
        [(c.label, None, c.body) for c in chosen],
        rounds=ctx.inprocess_rounds,
    )
    for label, row in inprocess.items():
        found[label]["inprocess"] = row
        if row.get("errors"):
            ctx.problems.append(f"in-process {label}: {row['errors']}")
    return found
