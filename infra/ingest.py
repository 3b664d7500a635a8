"""POST /events: the HTTP ingest path into the event log.

Accepts a JSON array or NDJSON, validates every event against events.md and
appends the batch all-or-nothing. The answer is 202 with the positions
assigned (so a client can read its own write with Vitrine-Min-Position), or
400 naming each bad event and field, with nothing stored.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

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
    """Authenticated with the service token; bounded in bytes and in events."""

    def __init__(
        self, engine: AsyncEngine, *, service_token: str, max_events: int, max_bytes: int
    ) -> None:
        self._engine = engine
        self._token = service_token.encode()
        self._max_events = max_events
        self._max_bytes = max_bytes

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self._token
        )

    async def __call__(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(
                401, "UNAUTHENTICATED", "POST /events needs `Authorization: Bearer <service token>`"
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            return _error(413, "PAYLOAD_TOO_LARGE", f"at most {self._max_bytes} bytes per request")
        body = await request.body()
        if len(body) > self._max_bytes:
            return _error(413, "PAYLOAD_TOO_LARGE", f"at most {self._max_bytes} bytes per request")
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
