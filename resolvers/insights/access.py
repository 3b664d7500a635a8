"""Who may read and change a creator's dashboard and insights.

The creator themself may read and change them. An ADMIN may read any
creator's, for support, and change none (seen and dismissed are the
creator's own actions, never taken on their behalf). Anyone else, a
customer or a SERVICE principal, may do neither (FORBIDDEN), and an
anonymous caller is asked to sign in (UNAUTHENTICATED).

Checked before anything is loaded or written, so a refused request reveals
no data of another creator, not even whether an insight exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.context import RequestContext
from resolvers.errors import ForbiddenError, InvalidIdError, UnauthenticatedError
from resolvers.ids import decode_id_of
from resolvers.insights import pipeline

if TYPE_CHECKING:
    from resolvers.viewer import Viewer

CREATOR = "CREATOR"
ADMIN = "ADMIN"
NOT_A_CREATOR = "only a creator may see or change creator insights"


def require_creator(context: RequestContext) -> str:
    """The viewer's own creator id, for a change: UNAUTHENTICATED when anonymous,
    FORBIDDEN for anyone but a creator (an ADMIN included: support reads, never writes)."""
    viewer = _signed_in(context)
    own = _own_creator(viewer)
    if own is None:
        if ADMIN in viewer.roles:
            raise ForbiddenError("an ADMIN may read creator insights but not change them")
        raise ForbiddenError(NOT_A_CREATOR)
    return own


def dashboard_creator(context: RequestContext, creator_global_id: str | None) -> str:
    """Whose dashboard the viewer reads: their own by default; `creatorId` may name
    themself, or any creator for an ADMIN."""
    viewer = _signed_in(context)
    own = _own_creator(viewer)
    admin = ADMIN in viewer.roles
    if own is None and not admin:
        raise ForbiddenError(NOT_A_CREATOR)
    if creator_global_id is None:
        if own is None:
            raise ForbiddenError("an ADMIN names the creator to read with `creatorId`")
        return own
    requested = decode_id_of("Creator", creator_global_id, argument="creatorId")
    if requested != own and not admin:
        raise ForbiddenError("this dashboard belongs to another creator")
    return requested


def require_insight_reader(context: RequestContext) -> Viewer:
    """A viewer who may read some insights (a creator or an ADMIN), checked before the id."""
    viewer = _signed_in(context)
    if _own_creator(viewer) is None and ADMIN not in viewer.roles:
        raise ForbiddenError(NOT_A_CREATOR)
    return viewer


def readable_owner(viewer: Viewer, key: str) -> str:
    """The creator the insight `key` belongs to, when `viewer` may read it: their own,
    or any for an ADMIN; FORBIDDEN otherwise, INVALID_ID for a malformed key."""
    owner = _owner(key)
    if owner != _own_creator(viewer) and ADMIN not in viewer.roles:
        raise ForbiddenError("this insight belongs to another creator")
    return owner


def check_owner(creator_id: str, key: str) -> None:
    """FORBIDDEN unless the insight `key` is `creator_id`'s; INVALID_ID for a malformed key."""
    if _owner(key) != creator_id:
        raise ForbiddenError("this insight belongs to another creator")


def _signed_in(context: RequestContext) -> Viewer:
    viewer = context.viewer
    if viewer is None:
        raise UnauthenticatedError("sign in with a creator token to see creator insights")
    return viewer


def _own_creator(viewer: Viewer) -> str | None:
    """The creator profile the viewer owns: a CREATOR's, named by the token."""
    return viewer.creator_id if CREATOR in viewer.roles else None


def _owner(key: str) -> str:
    try:
        return pipeline.parse_insight_key(key).creator_id
    except ValueError:
        raise InvalidIdError("not an insight id this API issued") from None
