"""Who may follow, unfollow and record engagement: a signed-in customer.

Checked before any id is decoded or anything is loaded or written.
"""

from __future__ import annotations

from resolvers.context import RequestContext
from resolvers.errors import ForbiddenError, UnauthenticatedError

CUSTOMER = "CUSTOMER"


def require_user(context: RequestContext) -> str:
    """The viewer's user id (the token's `sub`); UNAUTHENTICATED when anonymous,
    FORBIDDEN for a token without the CUSTOMER role."""
    viewer = context.viewer
    if viewer is None:
        raise UnauthenticatedError("sign in with a user token to follow creators or engage")
    if CUSTOMER not in viewer.roles:
        raise ForbiddenError("only a customer may follow creators or engage with posts")
    return viewer.id
