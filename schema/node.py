"""The Relay Node interface and the shared PageInfo type."""

from __future__ import annotations

from typing import Any

import strawberry


@strawberry.interface(name="Node")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Globally unique, opaque id (Relay convention)."
    )


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def unset_to_none(value: Any) -> Any:
    """Optional arguments default to UNSET (so the SDL shows no `= null`); resolvers see None."""
    return None if value is strawberry.UNSET else value
