"""Payloads of the insight-state events the gateway's own mutations write.

`actor` (optional, beyond events.md's `creatorId, insightId`) is the token
subject of whoever acted, when the gateway wrote the event: it travels in the
log so that the audit trail a rebuild replays says who did it, as live did.
"""

from __future__ import annotations

from readmodels.events.fields import Payload, SourceId


class InsightSeen(Payload):
    creatorId: SourceId
    insightId: SourceId
    actor: SourceId | None = None


class InsightDismissed(Payload):
    creatorId: SourceId
    insightId: SourceId
    actor: SourceId | None = None
