"""Creator rows for the read side."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CreatorRow:
    id: str
    handle: str
    name: str
    bio: str | None
    avatar_url: str | None
    store_id: str | None
    follower_count: int
    post_count: int
