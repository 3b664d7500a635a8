"""The viewer: who is asking, as the /graphql endpoint established it, and its fields.

The endpoint decodes the bearer token and loads the customer's segments
before the response-cache lookup (both are part of the cache key), then
puts the `Viewer` on `RequestContext.viewer`; anonymous requests carry
None. The response cache reads the attributes `id` and `segments`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

from readmodels.creators.rows import CreatorRow
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.feeds import follows
from resolvers.ids import encode_id

ROLE_ORDER = ("CUSTOMER", "CREATOR", "ADMIN", "SERVICE")


@dataclass(frozen=True, slots=True)
class Viewer:
    """An authenticated caller: `id` is the customer id (the token's `sub`)."""

    id: str
    roles: frozenset[str]
    segments: frozenset[str]
    creator_id: str | None

    @property
    def cache_identity(self) -> str:
        """Who a PRIVATE cached answer is for: the customer with these roles and creator."""
        return orjson.dumps([self.id, sorted(self.roles), self.creator_id]).decode()


def resolve_viewer(context: RequestContext) -> Viewer | None:
    viewer: Viewer | None = context.viewer
    if viewer is not None:
        # A cached answer naming the viewer's segments goes when they change.
        context.tags.add(f"segments:{viewer.id}")
    return viewer


def viewer_id(root: Viewer) -> str:
    return encode_id("Customer", root.id)


def viewer_roles(root: Viewer) -> list[str]:
    return [role for role in ROLE_ORDER if role in root.roles]


def viewer_segments(root: Viewer) -> list[str]:
    return sorted(root.segments)


def viewer_creator(
    root: Viewer, context: RequestContext
) -> asyncio.Future[CreatorRow | None] | None:
    """The creator profile of a CREATOR whose token names it (`creatorId`)."""
    if root.creator_id is None or "CREATOR" not in root.roles:
        return None
    return context.loader(CreatorByIdLoader).load(root.creator_id)


def viewer_following(
    root: Viewer, context: RequestContext, first: int | None, after: str | None
) -> asyncio.Future[list[CreatorRow]]:
    """The creators the viewer follows, newest follow first; `after` is a Creator id."""
    return follows.following(context, root, first, after)
