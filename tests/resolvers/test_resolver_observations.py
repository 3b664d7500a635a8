"""Resolver durations and loader batches are observed on every execution, compiled or not,
and a compiled plan on a sampled request spans the same resolvers as graphql-core."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.context import RequestContext
from tests.conftest import CONTRACT
from tests.resolvers.execution import reader_for, run
from tests.resolvers.world import (
    Spec,
    catalog_world,  # noqa: F401 - the `world` fixture
)

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
VARIABLES = {"slug": "kitchen", "first": 5}
LISTING_FIELDS = {
    "Query.category": 1,
    "Category.ancestors": 1,
    "Category.children": 1,
    "Category.products": 1,
    "ProductConnection.totalCount": 1,
    "Product.price": 5,
}
LISTING_BATCHES = [
    ("CategoryByIdLoader", 1),
    ("CategoryBySlugLoader", 1),
    ("CategoryChildrenByParentLoader", 1),
    ("ListingPageLoader", 1),
    ("ListingTotalLoader", 1),
    ("OffersByProductLoader", 5),
]


@pytest.mark.parametrize("compiled", [False, True])
async def test_unsampled_executions_record_durations_and_batches(
    world: tuple[AsyncEngine, list[Spec]], compiled: bool
) -> None:
    """Without a tracer, graphql-core and the compiled plan observe the same fields and batches."""
    engine, _ = world
    context = RequestContext(db=reader_for(engine), now=datetime.now(UTC))
    body, statements = await run(
        engine, CATEGORY_LISTING, VARIABLES, compiled=compiled, context=context
    )
    assert "errors" not in body
    assert statements == 6
    observed = context.observations
    assert {field: len(durations) for field, durations in observed.fields.items()} == LISTING_FIELDS
    assert sorted(observed.batches) == LISTING_BATCHES


async def test_a_sampled_compiled_plan_spans_each_traced_resolver(
    world: tuple[AsyncEngine, list[Spec]],
) -> None:
    """With a tracer, a compiled plan's resolvers get their spans, named and placed by path."""
    engine, _ = world
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    context = RequestContext(
        db=reader_for(engine), now=datetime.now(UTC), tracer=provider.get_tracer("test")
    )
    body, _ = await run(engine, CATEGORY_LISTING, VARIABLES, compiled=True, context=context)
    assert "errors" not in body
    resolvers = sorted(
        str((s.attributes or {})["graphql.field.path"])
        for s in exporter.get_finished_spans()
        if s.name.startswith("resolve ")
    )
    assert resolvers == [
        "category",
        "category.ancestors",
        "category.children",
        "category.products",
        *[f"category.products.edges.{i}.node.price" for i in range(5)],
        "category.products.totalCount",
    ]
    assert {f: len(d) for f, d in context.observations.fields.items()} == LISTING_FIELDS
