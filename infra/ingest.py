"""POST /events: the HTTP ingest path into the event log.

Accepts a JSON array or NDJSON, validates every event against events.md and
appends the batch all-or-nothing. The answer is 202 with the positions
assigned (so a client can read its own write with Vitrine-Min-Position), or
400 naming each bad event and field, with nothing stored.

Every request is authenticated with an API key of the `events` scope and
signed (infra/api_keys/signing.py): 401 UNAUTHENTICATED otherwise, 403
FORBIDDEN for a key without the scope, before any event is looked at. The
client IP is charged to the `events` rate limit before the key is even looked
up, and the key once it is known (429 RATE_LIMITED past either), before a
byte of the body is read (infra/api_keys/caller_limits.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from infra.api_keys.authenticator import ApiKeyRefusedError, Principal
from infra.api_keys.caller_limits import CallerLimits, combined, too_many_requests, with_headers
from infra.api_keys.guard import ApiKeyGuard, refusal
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extra}}]}
    return Response(orjson.dumps(body), status, media_type="application/json")


def parse_events_body(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or one JSON object per line (NDJSON); ValueError says what is wrong."""
    if content_type in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        events = []
        for number, line in enumerate(body.splitlines(), start=1):
            if line.strip():
                try:
                    events.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    raise ValueError(f"line {number} is not valid JSON") from None
        return events
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not valid JSON (send a JSON array or NDJSON)") from None
    if not isinstance(payload, list):
        raise ValueError("the body must be a JSON array of events")
    return payload


class EventsEndpoint:
    """Signed requests of `events` keys (`guard`, which bounds the bytes); bounded in events."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        guard: ApiKeyGuard,
        max_events: int,
        limits: CallerLimits | None = None,
    ) -> None:
        self._engine = engine
        self._guard = guard
        self._max_events = max_events
        self._limits = limits

    async def __call__(self, request: Request) -> Response:
        limits = self._limits
        if limits is None:
            return await self._identified(request)
        by_ip = await limits.by_ip(request)
        if by_ip is not None and by_ip.rejected:
            return too_many_requests(by_ip)  # before the key costs a database lookup
        try:
            principal = await self._guard.identify(request)
        except ApiKeyRefusedError as exc:
            return with_headers(refusal(exc), by_ip)
        decision = combined(await limits.by_key(principal.key_id), by_ip)
        if decision is not None and decision.rejected:
            return too_many_requests(decision)
        return with_headers(await self._ingest(request, principal), decision)

    async def _identified(self, request: Request) -> Response:
        try:
            principal = await self._guard.identify(request)
        except ApiKeyRefusedError as exc:
            return refusal(exc)
        return await self._ingest(request, principal)

    async def _ingest(self, request: Request, principal: Principal) -> Response:
        try:
            body = await self._guard.read_verified_body(request, principal)
        except ApiKeyRefusedError as exc:
            return refusal(exc)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            raw = parse_events_body(body, content_type)
        except ValueError as exc:
            return _error(400, "INVALID_JSON", str(exc))
        if not raw:
            return _error(400, "EMPTY_BATCH", "send at least one event")
        if len(raw) > self._max_events:
            return _error(400, "BATCH_TOO_LARGE", f"at most {self._max_events} events per request")
        events, errors = validate_events(raw)
        if errors:
            body_out = {
                "errors": [
                    {
                        "message": f"event {e.index}: {e.field}: {e.message}",
                        "extensions": e.as_dict(),
                    }
                    for e in errors
                ]
            }
            return Response(orjson.dumps(body_out), 400, media_type="application/json")
        result = await append_events(self._engine, events)
        payload = {"positions": result.positions, "appended": result.appended, "head": result.head}
        return Response(
            orjson.dumps(payload),
            202,
            {"Vitrine-Position": str(max(result.positions))},
            media_type="application/json",
        )
