"""The contract operations against the default operation limits and cost limit: each is
served as free-form text, with room, even at the largest page a client may ask for."""

from __future__ import annotations

import pytest

from infra.cost_weights import PAGE_SIZE_CAP
from infra.graphql_documents import DocumentCache, PreparedDocument
from infra.operation_cost import DEFAULT_MAX_COST
from infra.operation_limits import DocumentMeasures, OperationLimits
from schema.build import build_schema
from tests.conftest import CONTRACT

OPERATIONS = {p.stem: p.read_text() for p in (CONTRACT / "operations").glob("*.graphql")}
DOCUMENTS = DocumentCache(build_schema()._schema, limits=OperationLimits())

# name: (requested cost with the default variables, with every page variable at the cap)
COSTS = {
    "CategoryListing": (1085, 2229),
    "CreatorDashboard": (54, 54),
    "CreatorProfile": (61, 61),
    "DismissInsight": (23, 23),
    "ExplainInsight": (14, 14),
    "Feed": (724, 3604),
    "Follow": (12, 12),
    "MarkInsightsSeen": (23, 23),
    "PriceCart": (428, 428),
    "ProductPage": (142, 142),
    "RecordEngagement": (11, 11),
    "SearchProducts": (124, 504),
    "Trending": (62, 302),
}
# name: (depth, tokens); no contract operation uses an alias or a directive, each has one root field
MEASURES = {
    "CategoryListing": (7, 131),
    "CreatorDashboard": (5, 87),
    "CreatorProfile": (7, 83),
    "DismissInsight": (3, 25),
    "ExplainInsight": (3, 37),
    "Feed": (7, 71),
    "Follow": (3, 26),
    "MarkInsightsSeen": (3, 28),
    "PriceCart": (6, 91),
    "ProductPage": (5, 135),
    "RecordEngagement": (2, 34),
    "SearchProducts": (5, 76),
    "Trending": (3, 45),
}


def prepared(name: str) -> PreparedDocument:
    document = DOCUMENTS.get(OPERATIONS[name])
    assert isinstance(document, PreparedDocument), document
    return document


def test_every_contract_operation_is_listed() -> None:
    """The tables below cover the contract's operations, no more, no less."""
    assert sorted(OPERATIONS) == sorted(COSTS) == sorted(MEASURES)


@pytest.mark.parametrize("name", sorted(COSTS))
def test_contract_operations_pass_the_default_limits_as_free_form_text(name: str) -> None:
    """Depth at most 7 of 10, 1 root field of 20, no alias or directive, at most 135 tokens of 1000."""
    depth, tokens = MEASURES[name]
    assert prepared(name).measures == DocumentMeasures(
        depth=depth, aliases=0, root_fields=1, directives=0, tokens=tokens
    )
    assert prepared(name).limit_errors == ()


@pytest.mark.parametrize("name", sorted(COSTS))
def test_contract_operation_costs_stay_under_the_default_maximum(name: str) -> None:
    """Requested costs with the operation's defaults and with `$first` at the cap (100)."""
    cost = prepared(name).cost_of(None)
    assert cost is not None
    at_default, at_cap = COSTS[name]
    assert cost.requested({}) == at_default
    assert cost.requested({"first": PAGE_SIZE_CAP}) == at_cap
    assert at_cap < DEFAULT_MAX_COST
