"""What a compiled plan carries, and how a fallback is told."""

from __future__ import annotations

import logging

import pytest

from infra.graphql_documents import DocumentCache, PreparedDocument
from infra.response_cache.policy import PolicyCache, Scope
from persisted_queries.plans import PlanCompiler
from schema.build import build_schema
from schema.cache_hints import CACHE_HINTS
from tests.conftest import CONTRACT

SCHEMA = build_schema()._schema
PRODUCT_PAGE = (CONTRACT / "operations" / "ProductPage.graphql").read_text()


def prepared(query: str) -> PreparedDocument:
    document = DocumentCache(SCHEMA).get(query)
    assert isinstance(document, PreparedDocument), document
    return document


def test_a_plan_carries_the_response_cache_policy_worked_out_at_compile_time() -> None:
    policies = PolicyCache(SCHEMA, CACHE_HINTS)
    compiler = PlanCompiler(SCHEMA, policy_of=policies.policy)
    page = prepared(PRODUCT_PAGE)
    plan = compiler.plan(page, None)
    assert plan is not None
    assert plan.policy == policies.policy(page.document, "ProductPage")
    assert plan.policy.scope is Scope.PUBLIC
    assert plan.policy.max_age == 30  # Inventory's hint bounds the page
    assert plan.cost is page.cost_of("ProductPage")  # worked out once, with the document
    assert plan.cost.requested({"slug": "mug"}) == 142


def test_fallback_reasons_are_fixed_and_details_go_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    compiler = PlanCompiler(SCHEMA)
    document = prepared("query Types { __schema { queryType { name } } }")
    with caplog.at_level(logging.WARNING, logger="vitrine.plans"):
        assert compiler.plan(document, "Types") is None
        assert compiler.plan(document, "Types") is None  # logged once
        assert compiler.plan(document, "Nope") is None
    assert dict(compiler.stats.fallbacks) == {
        "introspection runs on the reference executor": 2,
        "no operation of that name": 1,
    }
    assert compiler.stats.fallback_executions == 3
    assert [r.getMessage() for r in caplog.records] == [
        "operation 'Types' runs on the reference executor:"
        " introspection runs on the reference executor",
        "operation 'Nope' runs on the reference executor: no operation of that name ('Nope')",
    ]
