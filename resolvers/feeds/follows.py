"""The follow graph as the viewer sees it: `Creator.viewerFollows`, `Viewer.following`.

Both are PRIVATE answers tagged `follows:<user id>`, the tag a follow or
unfollow invalidates, so a cached answer never outlives the user's change.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from readmodels.creators.rows import CreatorRow
from readmodels.feeds.follow_queries import FollowingPageKey, following_page, follows_by_pairs
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.dataloaders import RowLoader
from resolvers.futures import chain, then
from resolvers.ids import decode_id_of
from resolvers.pagination import page_size

if TYPE_CHECKING:
    from resolvers.viewer import Viewer


def _user_tag(key: tuple[str, ...]) -> tuple[str, ...]:
    return (f"follows:{key[0]}",)


class FollowByPairLoader(
    RowLoader[tuple[str, str], bool], query=follows_by_pairs, key_tag=_user_tag
):
    """Whether a user follows a creator, by (user id, creator id)."""


class FollowingPageLoader(
    RowLoader[FollowingPageKey, list[str]], query=following_page, key_tag=_user_tag
):
    """A page of the creator ids a user follows, newest follow first."""


def viewer_follows(context: RequestContext, creator_id: str) -> asyncio.Future[bool] | bool:
    """Whether the viewer follows the creator; False for anonymous requests."""
    viewer = context.viewer
    if viewer is None:
        return False
    return context.loader(FollowByPairLoader).load((viewer.id, creator_id))


def following(
    context: RequestContext, viewer: Viewer, first: int | None, after: str | None
) -> asyncio.Future[list[CreatorRow]]:
    """The creators `viewer` follows, newest follow first; `after` is the id of the last
    creator of the previous page."""
    limit = page_size(first)
    after_id = None if after is None else decode_id_of("Creator", after, argument="after")
    page = context.loader(FollowingPageLoader).load(FollowingPageKey(viewer.id, after_id, limit))
    creators = context.loader(CreatorByIdLoader)

    def load(ids: list[str]) -> asyncio.Future[list[CreatorRow]]:
        rows = creators.load_many(ids)
        return then(rows, lambda found: [row for row in found if row is not None])

    return chain(page, load)
