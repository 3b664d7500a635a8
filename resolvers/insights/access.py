"""Who may read and change a creator's insights: the creator themself, nobody else.

Checked before anything is loaded or written, so a refused request reveals
no data of another creator, not even whether an insight exists.
"""

from __future__ import annotations

from resolvers.context import RequestContext
from resolvers.errors import ForbiddenError, InvalidIdError, UnauthenticatedError
from resolvers.insights import pipeline

CREATOR = "CREATOR"


def require_creator(context: RequestContext) -> str:
    """The viewer's creator id; UNAUTHENTICATED when anonymous, FORBIDDEN for a viewer
    who is not a creator (no CREATOR role, or no creator id in the token)."""
    viewer = context.viewer
    if viewer is None:
        raise UnauthenticatedError("sign in with a creator token to see creator insights")
    if CREATOR not in viewer.roles or viewer.creator_id is None:
        raise ForbiddenError("only a creator may see or change creator insights")
    return viewer.creator_id


def check_owner(creator_id: str, key: str) -> None:
    """FORBIDDEN unless the insight `key` is `creator_id`'s; INVALID_ID for a malformed key."""
    try:
        owner = pipeline.parse_insight_key(key).creator_id
    except ValueError:
        raise InvalidIdError("not an insight id this API issued") from None
    if owner != creator_id:
        raise ForbiddenError("this insight belongs to another creator")
