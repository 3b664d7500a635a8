"""A sampled request on a compiled plan yields exactly the reference executor's spans."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

from infra.app import create_app
from infra.database import create_engine
from infra.settings import Settings
from tests.conftest import CONTRACT
from tests.resolvers.world import load_world

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()


async def spans_of_apq_request(
    database_url: str, sampler: Sampler, tmp_path: object, *, compiled: bool
) -> tuple[list[Any], int]:
    """Register the listing by APQ, then send it by hash: the spans of that second request."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(
        run_projectors=False,
        service_token="t",
        data_dir=str(tmp_path),
        compiled_plans=compiled,
        response_cache=False,
    )
    app = create_app(settings, database_url=database_url, tracer_provider=provider)
    sha = hashlib.sha256(CATEGORY_LISTING.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    variables = {"slug": "kitchen", "first": 5}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        registered = await client.post(
            "/graphql",
            json={"query": CATEGORY_LISTING, "variables": variables, "extensions": extensions},
        )
        assert registered.status_code == 200, registered.text
        exporter.clear()
        response = await client.post(
            "/graphql", json={"variables": variables, "extensions": extensions}
        )
        metrics = await client.get("/metrics")
    assert response.status_code == 200
    assert "errors" not in response.json()
    executions = next(
        float(line.split()[-1])
        for line in metrics.text.splitlines()
        if line.startswith("vitrine_plan_executions_total")
    )
    return list(exporter.get_finished_spans()), int(executions)


def shape(spans: list[Any]) -> list[tuple[str, tuple[tuple[str, Any], ...]]]:
    return sorted((s.name, tuple(sorted(s.attributes.items()))) for s in spans)


async def test_compiled_plan_spans_equal_the_reference_spans(
    database_url: str, tmp_path: object
) -> None:
    engine = create_engine(database_url)
    await load_world(engine)
    await engine.dispose()
    reference, reference_runs = await spans_of_apq_request(
        database_url, ALWAYS_ON, tmp_path, compiled=False
    )
    compiled, compiled_runs = await spans_of_apq_request(
        database_url, ALWAYS_ON, tmp_path, compiled=True
    )
    assert reference_runs == 0
    assert compiled_runs == 2  # the registering request and the one by hash
    assert shape(compiled) == shape(reference)
    names = {name for name, _ in shape(compiled)}
    assert "resolve Category.products" in names
    assert "resolve Product.store" not in names  # not selected by the listing
    paths = {dict(attrs).get("graphql.field.path") for _, attrs in shape(compiled)}
    assert "category.products" in paths


async def test_unsampled_compiled_request_creates_no_spans(
    database_url: str, tmp_path: object
) -> None:
    engine = create_engine(database_url)
    await load_world(engine)
    await engine.dispose()
    spans, runs = await spans_of_apq_request(database_url, ALWAYS_OFF, tmp_path, compiled=True)
    assert runs == 2
    assert spans == []
