"""Pure rules of the insight state: what an InsightSeen/InsightDismissed does to a row.

Seen and dismissed are facts with a first moment: each column keeps the
earliest time it became true, so applying an event again, in any order, or
from both the mutation's write-through and the projector's later pass, ends
in the same row. Nothing is ever un-seen or un-dismissed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from readmodels.events import Event, StoredEvent
from readmodels.insights.rows import InsightStateRow

SEEN = "InsightSeen"
DISMISSED = "InsightDismissed"
ACTIONS = {SEEN: "seen", DISMISSED: "dismissed"}

StateKey = tuple[str, str]  # (creator id, insight id)


class StateChange(NamedTuple):
    seen_at: datetime | None
    dismissed_at: datetime | None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def state_key(event: Event | StoredEvent) -> StateKey:
    return (event.data["creatorId"], event.data["insightId"])


def fold_state(events: Iterable[StoredEvent]) -> dict[StateKey, StateChange]:
    """Per (creator, insight): the earliest seen and dismissed moments of the batch."""
    changes: dict[StateKey, StateChange] = {}
    for event in events:
        key = state_key(event)
        seen, dismissed = changes.get(key, StateChange(None, None))
        if event.type == SEEN:
            seen = _earliest(seen, event.occurred_at)
        else:
            dismissed = _earliest(dismissed, event.occurred_at)
        changes[key] = StateChange(seen, dismissed)
    return changes


def audit_rows(events: Iterable[StoredEvent]) -> list[dict[str, Any]]:
    """One audit row per event: who (`actor`, the token's subject when the gateway wrote
    it), what (action, creator, insight) and when (the event's time)."""
    return [
        {
            "event_id": str(event.id),
            "position": event.position,
            "creator_id": event.data["creatorId"],
            "insight_id": event.data["insightId"],
            "action": ACTIONS[event.type],
            "actor": event.data.get("actor"),
            "at": event.occurred_at,
        }
        for event in events
    ]


def changes_something(event: Event, row: InsightStateRow | None) -> bool:
    """Whether `event` would record anything new over `row` (its key's current state)."""
    if row is None:
        return True
    if event.type == SEEN:
        return row.seen_at is None
    return row.dismissed_at is None


def effective(events: Sequence[Event], rows: dict[StateKey, InsightStateRow]) -> list[Event]:
    """The events that change something, the first of each (key, type) only."""
    kept: list[Event] = []
    done: set[tuple[StateKey, str]] = set()
    for event in events:
        key = state_key(event)
        if (key, event.type) in done or not changes_something(event, rows.get(key)):
            continue
        done.add((key, event.type))
        kept.append(event)
    return kept
