"""The event envelope, and validation of a batch as events.md requires.

Validation is pure: it turns raw JSON values into `Event`s or into errors
that name the event (index, id, type) and the field, so an ingest path can
reject the whole batch with a message the sender can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from readmodels.events.registry import EVENT_TYPES

ENVELOPE_FIELDS = frozenset({"id", "type", "occurredAt", "data"})


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event, its payload normalised to plain JSON values."""

    id: UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as read back from the log, with its global position."""

    position: int
    id: UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventError:
    """Why one event of a batch was rejected."""

    index: int
    event_id: str | None
    event_type: str | None
    field: str
    message: str
    code: str = "INVALID_EVENT"

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.event_id,
            "type": self.event_type,
            "field": self.field,
            "message": self.message,
            "code": self.code,
        }


FUTURE_TOLERANCE = timedelta(days=1)
"""How far ahead of the ingesting clock an event may say it happened (producers' clocks
drift; a day covers any honest skew). Further is refused: one event dated in 2099
would move every clock a projection keeps from event times (trending's) for good."""


def validate_events(
    raw_events: list[Any], *, now: datetime | None = None
) -> tuple[list[Event], list[EventError]]:
    """Validate every event; the batch is acceptable only when the error list is empty.
    `now` (default: the wall clock) bounds how far in the future `occurredAt` may be."""
    latest = (now or datetime.now(UTC)) + FUTURE_TOLERANCE
    events: list[Event] = []
    errors: list[EventError] = []
    for index, raw in enumerate(raw_events):
        result = _validate_one(index, raw, latest)
        if isinstance(result, Event):
            events.append(result)
        else:
            errors.extend(result)
    return events, errors


def _validate_one(index: int, raw: Any, latest: datetime) -> Event | list[EventError]:
    if not isinstance(raw, dict):
        return [EventError(index, None, None, "", "an event must be a JSON object")]
    raw_id = raw.get("id")
    event_id = raw_id if isinstance(raw_id, str) else None
    event_type = raw.get("type") if isinstance(raw.get("type"), str) else None

    def error(field: str, message: str, code: str = "INVALID_EVENT") -> EventError:
        return EventError(index, event_id, event_type, field, message, code)

    errors: list[EventError] = []
    unknown = sorted(set(raw) - ENVELOPE_FIELDS)
    if unknown:
        errors.append(
            error(unknown[0], f"unknown envelope field (known: {sorted(ENVELOPE_FIELDS)})")
        )
    try:
        uuid = UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        uuid = None
    if uuid is None:
        errors.append(error("id", "must be a UUID string"))
    occurred_at = _parse_instant(raw.get("occurredAt"))
    if occurred_at is None:
        errors.append(error("occurredAt", "must be an RFC 3339 date-time with a time zone"))
    elif occurred_at > latest:
        errors.append(error("occurredAt", f"is in the future (after {latest:%Y-%m-%dT%H:%M:%SZ})"))
        occurred_at = None
    model = EVENT_TYPES.get(event_type) if event_type else None
    if model is None:
        errors.append(
            error("type", f"unknown event type {raw.get('type')!r}", "UNKNOWN_EVENT_TYPE")
        )
        return errors
    data = raw.get("data")
    if not isinstance(data, dict):
        errors.append(error("data", "must be a JSON object"))
        return errors
    errors.extend(error(path, NUL_MESSAGE) for path in nul_paths(data))
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        subject = _subject(event_type, data)
        for detail in exc.errors(include_url=False):
            errors.append(error(_field_path(detail["loc"]), subject + detail["msg"]))
        return errors
    if errors or uuid is None or occurred_at is None:
        return errors
    return Event(uuid, model.__name__, occurred_at, payload.model_dump(mode="json"))


NUL_MESSAGE = "must not contain the NUL character (U+0000): PostgreSQL cannot store it"


def nul_paths(data: dict[str, Any]) -> list[str]:
    """The paths under `data` of every string (or key) holding a NUL character: the log's
    JSONB refuses one, so such an event could only fail the whole batch at the append.
    Iterative, as the JSON may nest as deep as its parser allows."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("data", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path)
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}".replace("\x00", "\\u0000")
                if "\x00" in key:
                    found.append(child)
                stack.append((child, item))
    return sorted(found)


def _subject(event_type: str | None, data: dict[str, Any]) -> str:
    """Names the promotion a rejected promotion event is about (its condition may be
    one of hundreds the writer sends): `promotion 'pr-9': ...`."""
    promotion = data.get("promotionId")
    if event_type == "PromotionUpserted" and isinstance(promotion, str):
        return f"promotion {promotion!r}: "
    return ""


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = "data"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)
