"""Who may read and change creator data, by role, without a database: the creator
themself, an ADMIN for reads, nobody else; and every Node type is classified."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, parse

from infra.response_cache.policy import Scope, operation_policy
from resolvers.context import RequestContext
from resolvers.errors import ClientError, ForbiddenError, InvalidIdError, UnauthenticatedError
from resolvers.ids import encode_id
from resolvers.insights.access import (
    dashboard_creator,
    readable_owner,
    require_creator,
    require_insight_reader,
)
from resolvers.insights.model import InsightKind, Period
from resolvers.insights.pipeline import InsightKey, format_key
from resolvers.nodes import CHECKED_NODE_TYPES, PUBLIC_NODE_TYPES
from resolvers.viewer import Viewer
from schema.build import build_schema
from schema.cache_hints import CACHE_HINTS

KEY = format_key(
    InsightKey(
        InsightKind.REVENUE_DROP, "cr-1", "s-1", Period(date(2026, 11, 1), date(2026, 11, 30))
    )
)
CREATOR_1 = Viewer("cu-1", frozenset({"CREATOR"}), frozenset(), "cr-1")
CREATOR_2 = Viewer("cu-2", frozenset({"CREATOR", "CUSTOMER"}), frozenset(), "cr-2")
ADMIN = Viewer("ad-1", frozenset({"ADMIN"}), frozenset(), None)
ADMIN_CREATOR = Viewer("ad-2", frozenset({"ADMIN", "CREATOR"}), frozenset(), "cr-2")
CUSTOMER = Viewer("cu-3", frozenset({"CUSTOMER"}), frozenset(), None)
SERVICE = Viewer("svc-1", frozenset({"SERVICE"}), frozenset(), None)
# A creator id claim without the CREATOR role owns nothing.
CLAIMS_A_CREATOR = Viewer("cu-4", frozenset({"CUSTOMER"}), frozenset(), "cr-1")
NOT_A_CREATOR = ("FORBIDDEN", "only a creator may see or change creator insights")


class NoReads:
    """A Reader for code that must not read."""

    async def fetch(self, sql: str, *args: Any, custom_plan: bool = False) -> Sequence[Any]:
        raise AssertionError(f"unexpected read: {sql}")


def context(viewer: Viewer | None) -> RequestContext:
    return RequestContext(db=NoReads(), now=datetime(2026, 12, 1, tzinfo=UTC), viewer=viewer)


def outcome(call: Any) -> Any:
    """The call's value, or the (code, message) of the ClientError it raised."""
    try:
        return call()
    except ClientError as error:
        return error.extensions["code"], error.message


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        (None, ("UNAUTHENTICATED", "sign in with a creator token to see creator insights")),
        (CREATOR_1, "cr-1"),
        (ADMIN_CREATOR, "cr-2"),
        (ADMIN, ("FORBIDDEN", "an ADMIN may read creator insights but not change them")),
        (CUSTOMER, NOT_A_CREATOR),
        (SERVICE, NOT_A_CREATOR),
        (CLAIMS_A_CREATOR, NOT_A_CREATOR),
    ],
)
def test_only_a_creator_may_change_their_insights(viewer: Viewer | None, expected: Any) -> None:
    """Seen and dismiss are the creator's own: an ADMIN, a customer or a service may not."""
    assert outcome(lambda: require_creator(context(viewer))) == expected


@pytest.mark.parametrize(
    ("viewer", "requested", "expected"),
    [
        (CREATOR_1, None, "cr-1"),
        (CREATOR_1, encode_id("Creator", "cr-1"), "cr-1"),
        (
            CREATOR_1,
            encode_id("Creator", "cr-2"),
            ("FORBIDDEN", "this dashboard belongs to another creator"),
        ),
        (ADMIN, encode_id("Creator", "cr-2"), "cr-2"),
        (ADMIN, None, ("FORBIDDEN", "an ADMIN names the creator to read with `creatorId`")),
        (ADMIN_CREATOR, None, "cr-2"),
        (ADMIN_CREATOR, encode_id("Creator", "cr-1"), "cr-1"),
        (CUSTOMER, encode_id("Creator", "cr-1"), NOT_A_CREATOR),
        (SERVICE, None, NOT_A_CREATOR),
        (
            None,
            encode_id("Creator", "cr-1"),
            ("UNAUTHENTICATED", "sign in with a creator token to see creator insights"),
        ),
        (
            ADMIN,
            encode_id("Product", "cr-1"),
            ("INVALID_ID", "creatorId: expected the id of a Creator, got the id of a Product"),
        ),
    ],
)
def test_whose_dashboard_a_viewer_reads(
    viewer: Viewer | None, requested: str | None, expected: Any
) -> None:
    """A creator reads their own dashboard; an ADMIN names any creator; others are refused,
    before the id is even decoded."""
    assert outcome(lambda: dashboard_creator(context(viewer), requested)) == expected


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        (CREATOR_1, "cr-1"),
        (ADMIN, "cr-1"),
        (CREATOR_2, ("FORBIDDEN", "this insight belongs to another creator")),
        (CUSTOMER, NOT_A_CREATOR),
        (SERVICE, NOT_A_CREATOR),
        (CLAIMS_A_CREATOR, NOT_A_CREATOR),
        (None, ("UNAUTHENTICATED", "sign in with a creator token to see creator insights")),
    ],
)
def test_who_may_read_an_insight(viewer: Viewer | None, expected: Any) -> None:
    """Its creator and an ADMIN read an insight; another creator, a customer, a service
    or an anonymous caller are refused."""

    def read() -> str:
        reader = require_insight_reader(context(viewer))
        return readable_owner(reader, KEY)

    assert outcome(read) == expected


def test_a_malformed_insight_key_is_invalid_for_an_admin_too() -> None:
    """An ADMIN reading a key the pipeline never made gets INVALID_ID."""
    with pytest.raises(InvalidIdError):
        readable_owner(ADMIN, "not-a-key")


def test_anonymous_is_asked_to_sign_in_before_anything_else() -> None:
    """UNAUTHENTICATED comes before FORBIDDEN or INVALID_ID."""
    with pytest.raises(UnauthenticatedError):
        dashboard_creator(context(None), "%%%")
    with pytest.raises(ForbiddenError):
        dashboard_creator(context(CUSTOMER), "%%%")


def test_every_node_type_is_classified() -> None:
    """Each type implementing Node is either public or checked in resolve_node, so a new
    private type cannot be served by node(id) unnoticed."""
    schema = build_schema()._schema
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    served = {t.name for t in schema.get_possible_types(node)}
    assert served == PUBLIC_NODE_TYPES | CHECKED_NODE_TYPES
    assert not PUBLIC_NODE_TYPES & CHECKED_NODE_TYPES


def test_node_answers_are_private_whatever_they_select() -> None:
    """node(id) may be an Insight, so its answer is cached per viewer, never shared, even
    when the selection names no Insight field."""
    schema = build_schema()._schema
    for query in (
        "query Q($id: ID!) { node(id: $id) { id } }",
        "query Q($id: ID!) { node(id: $id) { ... on Insight { title message } } }",
    ):
        assert operation_policy(schema, parse(query), None, CACHE_HINTS).scope is Scope.PRIVATE
