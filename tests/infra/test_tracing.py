"""Spans: one server span per request, one per non-trivial resolver and per loader batch."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler
from opentelemetry.trace import SpanKind

from infra.app import create_app
from infra.database import create_engine
from infra.settings import Settings
from tests.conftest import CONTRACT
from tests.resolvers.world import load_world

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()


async def traced_request(database_url: str, sampler: Sampler, tmp_path: object) -> list[object]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(run_projectors=False, service_token="t", data_dir=str(tmp_path))
    app = create_app(settings, database_url=database_url, tracer_provider=provider)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.post(
            "/graphql",
            json={"query": CATEGORY_LISTING, "variables": {"slug": "kitchen", "first": 5}},
        )
    assert response.status_code == 200
    assert "errors" not in response.json()
    return list(exporter.get_finished_spans())


@pytest.fixture
async def world_url(database_url: str) -> str:
    engine = create_engine(database_url)
    await load_world(engine)
    await engine.dispose()
    return database_url


async def test_category_listing_span_tree(world_url: str, tmp_path: object) -> None:
    """A sampled CategoryListing yields a server span with resolver and loader spans beneath it."""
    spans = await traced_request(world_url, ALWAYS_ON, tmp_path)
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]  # type: ignore[attr-defined]
    assert server.name == "query CategoryListing"  # type: ignore[attr-defined]
    assert server.attributes["graphql.operation.name"] == "CategoryListing"  # type: ignore[attr-defined]
    trace_id = server.context.trace_id  # type: ignore[attr-defined]
    names = sorted(s.name for s in spans if s is not server)  # type: ignore[attr-defined]
    assert names == [
        "dataloader CategoryByIdLoader",
        "dataloader CategoryBySlugLoader",
        "dataloader CategoryChildrenByParentLoader",
        "dataloader ListingPageLoader",
        "dataloader ListingTotalLoader",
        "dataloader OffersByProductLoader",  # one batch for the five products' prices
        "resolve Category.ancestors",
        "resolve Category.children",
        "resolve Category.products",
        *["resolve Product.price"] * 5,
        "resolve ProductConnection.totalCount",
        "resolve Query.category",
    ]
    assert all(s.context.trace_id == trace_id for s in spans)  # type: ignore[attr-defined]
    by_name = {s.name: s for s in spans}  # type: ignore[attr-defined]
    # A batch hangs under the resolver that scheduled it; root resolvers under the server span.
    loader = by_name["dataloader ListingPageLoader"]
    assert loader.parent.span_id == by_name["resolve Category.products"].context.span_id  # type: ignore[attr-defined]
    assert loader.attributes["vitrine.batch_size"] == 1  # type: ignore[attr-defined]
    assert by_name["resolve Query.category"].parent.span_id == server.context.span_id  # type: ignore[attr-defined]


async def test_unsampled_request_creates_no_spans(world_url: str, tmp_path: object) -> None:
    """When the sampler says no, not even the resolver and loader spans are created."""
    assert await traced_request(world_url, ALWAYS_OFF, tmp_path) == []


async def server_span_of(
    database_url: str, sampler: Sampler, tmp_path: object, body: dict[str, object], **headers: str
) -> object | None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(run_projectors=False, service_token="t", data_dir=str(tmp_path))
    app = create_app(settings, database_url=database_url, tracer_provider=provider)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200
    assert "errors" not in response.json()
    found = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    return found[0] if found else None


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def test_a_callers_traceparent_is_the_server_spans_parent(
    world_url: str, tmp_path: object
) -> None:
    """A W3C traceparent makes the server span a child of the caller's span, in its trace."""
    body = {"query": CATEGORY_LISTING, "variables": {"slug": "kitchen", "first": 5}}
    server = await server_span_of(
        world_url, ALWAYS_ON, tmp_path, body, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01"
    )
    assert server is not None
    assert server.context.trace_id == int(TRACE_ID, 16)  # type: ignore[attr-defined]
    assert server.parent.span_id == int(PARENT_ID, 16)  # type: ignore[attr-defined]
    assert server.parent.is_remote  # type: ignore[attr-defined]


async def test_the_callers_sampling_decision_is_followed(world_url: str, tmp_path: object) -> None:
    """With a parent-based sampler, a caller's unsampled traceparent records nothing here."""
    from opentelemetry.sdk.trace.sampling import ParentBased

    body = {"query": CATEGORY_LISTING, "variables": {"slug": "kitchen", "first": 5}}
    server = await server_span_of(
        world_url,
        ParentBased(ALWAYS_ON),
        tmp_path,
        body,
        traceparent=f"00-{TRACE_ID}-{PARENT_ID}-00",
    )
    assert server is None


async def test_graphql_document_is_recorded_without_literal_values(
    world_url: str, tmp_path: object
) -> None:
    """The server span carries `graphql.document` with strings and numbers masked."""
    query = '{ category(slug: "kitchen") { name products(first: 5) { totalCount } } }'
    server = await server_span_of(world_url, ALWAYS_ON, tmp_path, {"query": query})
    assert server is not None
    assert server.attributes["graphql.document"] == (  # type: ignore[attr-defined]
        '{\n  category(slug: "?") {\n    name\n    products(first: 0) {\n'
        "      totalCount\n    }\n  }\n}"
    )
