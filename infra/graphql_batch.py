"""Array batching on /graphql: several operations in one POST, answered as one array.

Off by default (`VITRINE_BATCHING_MAX=0`): a batch multiplies what one HTTP
request costs, past every per-request limit. When on, a batch holds 1 to N
operations; each runs as if sent alone (the caller's `run_member` gives it
every check: limits, cost, rate limits, cache), one after the other, so that
mutations apply in the order sent. A member refused on its own answers with
its error body in its place; the batch itself is a 200.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from infra.graphql_request import RequestError

# Headers of a member's answer that the batch's answer carries (the last member's:
# the state after the whole batch); caching headers are each member's own.
BATCH_HEADERS = ("ratelimit", "ratelimit-policy", "retry-after")


def check_batch(payloads: list[Any], limit: int) -> None:
    """400 for an empty batch, or one of more than `limit` operations."""
    if not payloads:
        raise RequestError(400, "BAD_REQUEST", "the batch is empty: send one operation or more")
    if len(payloads) > limit:
        raise RequestError(
            400,
            "BATCH_TOO_LARGE",
            f"a batch holds at most {limit} operations; this one has {len(payloads)}",
        )


async def answer_batch(
    payloads: list[Any],
    limit: int,
    media_type: str,
    run_member: Callable[[Any], Awaitable[Response]],
) -> Response:
    """The JSON array of the members' answers, in order (after `check_batch`)."""
    check_batch(payloads, limit)
    bodies: list[bytes] = []
    headers = {"cache-control": "no-store"}
    for payload in payloads:
        answer = await run_member(payload)
        bodies.append(bytes(answer.body))
        headers.update((k, v) for k, v in answer.headers.items() if k in BATCH_HEADERS)
    body = b"[" + b",".join(bodies) + b"]"
    return Response(body, 200, headers, media_type=f"{media_type}; charset=utf-8")
