"""Payloads of the insight-state events the gateway's own mutations write."""

from __future__ import annotations

from readmodels.events.fields import Payload, SourceId


class InsightSeen(Payload):
    creatorId: SourceId
    insightId: SourceId


class InsightDismissed(Payload):
    creatorId: SourceId
    insightId: SourceId
