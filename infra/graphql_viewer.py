"""The viewer of an authenticated /graphql request: the token's customer and their segments.

Looked up after the min-position wait (segments read then reflect at least that
position) and before the cache lookup (the viewer's id and segments are part of
the key): one statement on the read pool; its failures are the request's 503s.
"""

from __future__ import annotations

from infra.auth import Identity
from infra.graphql_request import RequestError
from infra.readpool import ReadTimeoutError, ReadUnavailableError
from readmodels.reader import Reader
from readmodels.segments.queries import segments_by_customers
from resolvers.viewer import Viewer


async def load_viewer(db: Reader, identity: Identity) -> Viewer:
    """The token's customer with their segments (503 when they cannot be read)."""
    try:
        (segments,) = await segments_by_customers(db, [identity.sub])
    except ReadTimeoutError as exc:
        raise RequestError(
            503,
            "STATEMENT_TIMEOUT",
            "the viewer's segments took too long to load; try again",
        ) from exc
    except ReadUnavailableError as exc:
        raise RequestError(
            503, "READ_MODEL_UNAVAILABLE", "the read models are unavailable right now"
        ) from exc
    return Viewer(identity.sub, identity.roles, frozenset(segments), identity.creator_id)
