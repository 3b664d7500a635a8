"""Payloads of the creator and feed events."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from readmodels.events.fields import Name, Payload, SourceId, Text, UtcDateTime


class CreatorUpserted(Payload):
    creatorId: SourceId
    handle: SourceId
    name: Name
    bio: Text | None
    avatarUrl: Text | None
    storeId: SourceId | None


class PostPublished(Payload):
    postId: SourceId
    creatorId: SourceId
    body: Text
    productIds: list[SourceId] = Field(max_length=100)
    publishedAt: UtcDateTime


class PostUnpublished(Payload):
    postId: SourceId


class Followed(Payload):
    userId: SourceId
    creatorId: SourceId


class Unfollowed(Payload):
    userId: SourceId
    creatorId: SourceId


class EngagementRecorded(Payload):
    postId: SourceId
    userId: SourceId
    kind: Literal["LIKE", "SHARE", "REMIX"]
