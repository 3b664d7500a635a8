"""Immutable post rows for the read side."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class PostRow(NamedTuple):
    """A published post with its engagement counters."""

    id: str
    creator_id: str
    body: str
    product_ids: tuple[str, ...]
    published_at: datetime
    likes: int
    shares: int
    remixes: int


class PostPage(NamedTuple):
    """One page of a newest-first post listing, and whether more follow."""

    items: list[PostRow]
    has_next_page: bool
