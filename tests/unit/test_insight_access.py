"""Who may touch a creator's insights: require_creator and check_owner, without a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from resolvers.context import RequestContext
from resolvers.errors import ClientError, ForbiddenError, InvalidIdError, UnauthenticatedError
from resolvers.insights.access import check_owner, require_creator
from resolvers.insights.model import InsightKind, Period
from resolvers.insights.pipeline import InsightKey, format_key
from resolvers.viewer import Viewer

KEY = format_key(
    InsightKey(
        InsightKind.REVENUE_DROP, "cr-1", "s-1", Period(date(2026, 11, 1), date(2026, 11, 30))
    )
)


class NoReads:
    """A Reader for code that must not read."""

    async def fetch(self, sql: str, *args: Any, custom_plan: bool = False) -> Sequence[Any]:
        raise AssertionError(f"unexpected read: {sql}")


def context(viewer: Viewer | None) -> RequestContext:
    return RequestContext(db=NoReads(), now=datetime(2026, 12, 1, tzinfo=UTC), viewer=viewer)


def viewer(roles: set[str], creator_id: str | None) -> Viewer:
    return Viewer("cu-1", frozenset(roles), frozenset(), creator_id)


def refused(error: type[ClientError], call: Any) -> tuple[str, str]:
    with pytest.raises(error) as caught:
        call()
    return caught.value.extensions["code"], caught.value.message


def test_a_creator_viewer_yields_their_creator_id() -> None:
    """A CREATOR with a creator id is let through, as that creator."""
    assert require_creator(context(viewer({"CUSTOMER", "CREATOR"}, "cr-1"))) == "cr-1"


def test_anonymous_is_unauthenticated() -> None:
    """Without a viewer the answer is UNAUTHENTICATED."""
    assert refused(UnauthenticatedError, lambda: require_creator(context(None))) == (
        "UNAUTHENTICATED",
        "sign in with a creator token to see creator insights",
    )


@pytest.mark.parametrize(
    ("roles", "creator_id"), [({"CUSTOMER"}, None), ({"CUSTOMER"}, "cr-1"), ({"CREATOR"}, None)]
)
def test_a_viewer_who_is_not_a_creator_is_forbidden(
    roles: set[str], creator_id: str | None
) -> None:
    """No CREATOR role, or no creator id, is FORBIDDEN."""
    assert refused(ForbiddenError, lambda: require_creator(context(viewer(roles, creator_id)))) == (
        "FORBIDDEN",
        "only a creator may see or change creator insights",
    )


def test_the_owner_passes_and_another_creator_is_forbidden() -> None:
    """check_owner accepts the key's own creator and refuses any other with FORBIDDEN."""
    check_owner("cr-1", KEY)
    assert refused(ForbiddenError, lambda: check_owner("cr-2", KEY)) == (
        "FORBIDDEN",
        "this insight belongs to another creator",
    )


def test_a_malformed_key_is_an_invalid_id() -> None:
    """A key the pipeline did not make is INVALID_ID, whoever asks."""
    assert refused(InvalidIdError, lambda: check_owner("cr-1", "ins-cr-1-revenue-drop")) == (
        "INVALID_ID",
        "not an insight id this API issued",
    )
