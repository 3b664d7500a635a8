"""The seam through which the gateway's own mutations write: a Protocol here, the
engine-backed implementation in infra's composition (`infra.event_writer`).

Resolvers see only this Protocol (on `RequestContext.events`), so they never
import infra, and a test can run mutations against any implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from readmodels.events import Event


class EventWriter(Protocol):
    """Appends events the gateway itself originates."""

    async def append(self, events: Sequence[Event]) -> list[int]:
        """Append `events` in one transaction, idempotent by event id (a known id keeps its
        original position). Nothing is applied to a read model: the projectors do that,
        and announce what changed. Returns each event's position."""
        ...

    async def append_insight_state(self, events: Sequence[Event]) -> list[int]:
        """Append `InsightSeen`/`InsightDismissed` events and apply them to the insight
        state read model in the same transaction (read-your-writes without waiting
        for the projector). Events that would change nothing (already seen, already
        dismissed) are not appended. Returns the positions of the appended events."""
        ...
