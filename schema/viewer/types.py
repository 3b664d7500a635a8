"""The Viewer type and the Role enum, views over `resolvers.viewer.Viewer`."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import viewer as fields
from resolvers.context import RequestContext
from resolvers.tracing import traced

if TYPE_CHECKING:
    from schema.creators.types import Creator

CreatorRef = Annotated["Creator", strawberry.lazy("schema.creators.types")]
Ctx = Info[RequestContext, Any]


@strawberry.enum(name="Role")
class Role(Enum):
    CUSTOMER = "CUSTOMER"
    CREATOR = "CREATOR"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"


def resolve_viewer(root: Any, info: Ctx) -> fields.Viewer | None:
    return fields.resolve_viewer(info.context)


def _id(root: fields.Viewer) -> str:
    return fields.viewer_id(root)


def _roles(root: fields.Viewer) -> list[Role]:
    return [Role(role) for role in fields.viewer_roles(root)]


def _segments(root: fields.Viewer) -> list[str]:
    return fields.viewer_segments(root)


@traced
def _creator(root: fields.Viewer, info: Ctx) -> Any:
    return fields.viewer_creator(root, info.context)


@traced
def _following(
    root: fields.Viewer, info: Ctx, first: int | None = 20, after: str | None = strawberry.UNSET
) -> Any:
    """Creators the viewer follows, newest follow first."""
    return fields.viewer_following(
        root, info.context, first, None if after is strawberry.UNSET else after
    )


@strawberry.type(name="Viewer")
class Viewer:
    id: strawberry.ID = strawberry.field(resolver=_id)
    roles: list[Role] = strawberry.field(resolver=_roles)
    segments: list[str] = strawberry.field(
        resolver=_segments, description="Customer segments that drive segment prices."
    )
    creator: CreatorRef | None = strawberry.field(resolver=_creator)
    following: list[CreatorRef] = strawberry.field(resolver=_following)
