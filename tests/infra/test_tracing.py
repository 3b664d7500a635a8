"""Spans: the exact trace of a request (server, cache, persisted query, resolvers, batches,
SQL), errors on the span that raised them, nothing when unsampled, observations always."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette

from infra.app import create_app
from infra.auth import mint_token
from infra.database import asyncpg_dsn, count_statements, create_engine
from infra.graphql_http import GraphQLEndpoint
from infra.logging_setup import formatter
from infra.settings import Settings
from persisted_queries.hashing import sha256_hex
from resolvers.observations import Observations
from tests.conftest import CONTRACT
from tests.resolvers.world import load_world

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
LISTING_BODY = {"query": CATEGORY_LISTING, "variables": {"slug": "kitchen", "first": 5}}
# Persisted (APQ): run by its compiled plan, which waits on loader futures by callbacks.
PERSISTED_LISTING_BODY = {
    **LISTING_BODY,
    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(CATEGORY_LISTING)}},
}
CATEGORY_NAME = "query CategoryName($slug: String!) { category(slug: $slug) { name } }"

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
JWT_SECRET = "tracing-test-secret-of-32-bytes-at-least"
PARENT_ID = "00f067aa0ba902b7"

Tree = tuple[str, tuple[Any, ...]]


def leaf(name: str) -> Tree:
    return (name, ())


def node(name: str, *children: Tree) -> Tree:
    return (name, children)


def normalized(tree: Tree) -> Tree:
    """A tree with each span's children in one fixed order (by name, then their subtrees)."""
    name, children = tree
    return (name, tuple(sorted((normalized(c) for c in children), key=repr)))


def span_tree(spans: Sequence[ReadableSpan]) -> Tree:
    """The spans' parent/child structure by name, from their one root."""
    ids = {s.context.span_id for s in spans if s.context is not None}
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    assert len(roots) == 1, [s.name for s in roots]
    children: dict[int, list[ReadableSpan]] = {}
    for s in spans:
        if s.parent is not None:
            children.setdefault(s.parent.span_id, []).append(s)

    def build(span: ReadableSpan) -> Tree:
        assert span.context is not None
        below = children.get(span.context.span_id, [])
        return (span.name, tuple(build(child) for child in below))

    return normalized(build(roots[0]))


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def observing(app: Starlette) -> list[Observations]:
    """What the app's /graphql endpoint hands its `observe` callback, request by request."""
    (endpoint,) = [
        owner
        for route in app.routes
        if isinstance(
            owner := getattr(getattr(route, "endpoint", None), "__self__", None), GraphQLEndpoint
        )
    ]
    seen: list[Observations] = []
    pipeline = endpoint._pipeline
    before = pipeline._observe

    def observe(observations: Observations) -> None:
        seen.append(observations)
        if before is not None:
            before(observations)

    pipeline._observe = observe
    return seen


class Traced:
    """An app whose spans go to an in-memory exporter, and a client for it."""

    def __init__(self, database_url: str, sampler: Sampler, tmp_path: object, **settings: Any):
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider(sampler=sampler)
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        config = Settings(
            run_projectors=False,
            service_token="t",
            data_dir=str(tmp_path),
            pool_size=2,
            pool_max_overflow=0,
            **settings,
        )
        self.app = create_app(config, database_url=database_url, tracer_provider=provider)
        self.observations = observing(self.app)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )

    async def post(
        self, body: dict[str, Any], status: int = 200, **headers: str
    ) -> list[ReadableSpan]:
        """POST one operation (`status` expected); the spans it finished."""
        self.exporter.clear()
        response = await self.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == status, response.text
        self.last = response.json()
        return list(self.exporter.get_finished_spans())


@pytest.fixture
async def world_url(database_url: str) -> str:
    engine = create_engine(database_url)
    await load_world(engine)
    await engine.dispose()
    return database_url


@pytest.fixture
async def sampled(world_url: str, tmp_path: object) -> AsyncIterator[Traced]:
    traced = Traced(world_url, ALWAYS_ON, tmp_path)
    async with traced.client:
        yield traced


LISTING_TREE = node(
    "query CategoryListing",
    leaf("cache lookup"),
    node(
        "resolve Query.category", node("dataloader CategoryBySlugLoader", leaf("SELECT categories"))
    ),
    node(
        "resolve Category.ancestors",
        node("dataloader CategoryByIdLoader", leaf("SELECT categories")),
    ),
    node(
        "resolve Category.children",
        node("dataloader CategoryChildrenByParentLoader", leaf("SELECT categories")),
    ),
    node(
        "resolve Category.products",
        node("dataloader ListingPageLoader", leaf("SELECT listing_entries")),
    ),
    node(
        "resolve ProductConnection.totalCount",
        node("dataloader ListingTotalLoader", leaf("SELECT listing_counts")),
    ),
    # One batch for the five prices: under the first price that asked, linked to all five.
    node(
        "resolve Product.price", node("dataloader OffersByProductLoader", leaf("SELECT promotions"))
    ),
    *[leaf("resolve Product.price")] * 4,
)


async def test_category_listing_span_tree(sampled: Traced) -> None:
    """A sampled CategoryListing: server span, cache lookup, resolvers, one batch each, SQL below."""
    spans = await sampled.post(LISTING_BODY)
    assert "errors" not in sampled.last
    assert span_tree(spans) == normalized(LISTING_TREE)
    (server,) = named(spans, "query CategoryListing")
    assert server.kind is SpanKind.SERVER
    attributes = dict(server.attributes or {})
    assert attributes.pop("graphql.document").startswith("query CategoryListing($slug: String!")
    assert attributes == {
        "http.request.method": "POST",
        "http.route": "/graphql",
        "http.response.status_code": 200,
        "graphql.operation.type": "query",
        "graphql.operation.name": "CategoryListing",
        "vitrine.cache": "miss",
    }
    assert dict(named(spans, "cache lookup")[0].attributes or {}) == {
        "vitrine.cache.level": "l1",
        "vitrine.cache.hit": False,
    }
    assert dict(named(spans, "resolve Product.price")[0].attributes or {}) == {
        "graphql.field.name": "price",
        "graphql.field.parent_type": "Product",
        "graphql.field.path": "category.products.edges.0.node.price",
    }


async def test_loader_spans_link_to_the_resolvers_that_asked(sampled: Traced) -> None:
    """Each batch span links to exactly the resolver spans whose loads it answered."""
    spans = await sampled.post(LISTING_BODY)
    by_id = {span_id(s): s for s in spans}
    for loader in (s for s in spans if s.name.startswith("dataloader ")):
        asked = sorted(by_id[link.context.span_id].name for link in loader.links)
        parent = by_id[loader.parent.span_id] if loader.parent else None
        assert parent is not None
        assert parent.name.startswith("resolve ")
        if loader.name == "dataloader OffersByProductLoader":
            prices = {span_id(s) for s in named(spans, "resolve Product.price")}
            assert {link.context.span_id for link in loader.links} == prices
            assert loader.attributes == {
                "vitrine.loader": "OffersByProductLoader",
                "vitrine.batch_size": 5,
                "vitrine.rows": 5,
            }
        else:
            assert asked == [parent.name]


async def test_sql_spans_carry_the_statements_without_values(sampled: Traced) -> None:
    """One CLIENT span per statement the pool ran, with its parameterised text and rows."""
    with count_statements(keep_text=True) as stats:
        spans = await sampled.post(LISTING_BODY)
    sql = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert stats.texts is not None
    assert sorted(str((s.attributes or {})["db.query.text"]) for s in sql) == sorted(stats.texts)
    for span in sql:
        attributes = span.attributes or {}
        text = str(attributes["db.query.text"])
        assert "kitchen" not in text
        assert "$1" in text
        assert attributes["db.system"] == "postgresql"
        assert span.name == f"{attributes['db.operation.name']} {attributes['db.collection.name']}"
    rows = {s.name: (s.attributes or {})["db.response.returned_rows"] for s in sql}
    assert rows["SELECT listing_entries"] == 6  # a page of five and one to know there is more
    assert rows["SELECT promotions"] == 5


async def test_a_cache_hit_has_a_server_span_and_its_lookup_only(sampled: Traced) -> None:
    """The second identical request is answered from L1: no resolver, batch or statement."""
    await sampled.post(LISTING_BODY)
    spans = await sampled.post(LISTING_BODY)
    assert span_tree(spans) == node("query CategoryListing", leaf("cache lookup"))
    (server,) = named(spans, "query CategoryListing")
    assert (server.attributes or {})["vitrine.cache"] == "hit"
    assert dict(named(spans, "cache lookup")[0].attributes or {}) == {
        "vitrine.cache.level": "l1",
        "vitrine.cache.hit": True,
    }


async def test_an_apq_request_traces_its_document_lookup(sampled: Traced) -> None:
    """APQ: registering looks the hash up in the store (a miss); the next request finds it in
    memory (a hit, no statement) and is a cache hit."""
    sha = sha256_hex(CATEGORY_NAME)
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    variables = {"slug": "kitchen"}
    spans = await sampled.post(
        {"query": CATEGORY_NAME, "variables": variables, "extensions": persisted}
    )
    assert sampled.last["data"] == {"category": {"name": "Kitchen"}}
    assert span_tree(spans) == normalized(
        node(
            "query CategoryName",
            node("persisted_query resolve", leaf("SELECT persisted_documents")),
            leaf("INSERT persisted_documents"),  # the registration (SQLAlchemy)
            leaf("cache lookup"),
            node(
                "resolve Query.category",
                node("dataloader CategoryBySlugLoader", leaf("SELECT categories")),
            ),
        )
    )
    (resolve,) = named(spans, "persisted_query resolve")
    assert resolve.attributes == {"vitrine.pq.hit": False, "vitrine.pq.kind": "none"}
    spans = await sampled.post({"variables": variables, "extensions": persisted})
    assert span_tree(spans) == normalized(
        node("query CategoryName", leaf("persisted_query resolve"), leaf("cache lookup"))
    )
    (resolve,) = named(spans, "persisted_query resolve")
    assert resolve.attributes == {"vitrine.pq.hit": True, "vitrine.pq.kind": "apq"}


async def test_a_failing_statement_is_recorded_on_its_sql_span(
    world_url: str, tmp_path: object
) -> None:
    """A statement timeout (listing_counts locked) is an exception on that statement's span;
    the loader and the resolver that waited on it record the error they saw."""
    traced = Traced(world_url, ALWAYS_ON, tmp_path, statement_timeout_ms=300)
    holder = await asyncpg.connect(asyncpg_dsn(world_url))
    try:
        async with traced.client:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("LOCK TABLE listing_counts IN ACCESS EXCLUSIVE MODE")
            spans = await asyncio.wait_for(traced.post(LISTING_BODY), timeout=10)
            await transaction.rollback()
    finally:
        await holder.close()
    assert [e["extensions"]["code"] for e in traced.last["errors"]] == ["STATEMENT_TIMEOUT"]
    failed = [s for s in spans if s.status.status_code is StatusCode.ERROR]
    assert sorted(s.name for s in failed) == [
        "SELECT listing_counts",
        "dataloader ListingTotalLoader",
        "resolve ProductConnection.totalCount",
    ]
    (sql,) = named(spans, "SELECT listing_counts")
    assert [e.name for e in sql.events] == ["exception"]
    event = sql.events[0].attributes or {}
    assert event["exception.type"] == "asyncpg.exceptions.QueryCanceledError"
    assert event["exception.message"] == "57014"  # the SQLSTATE: a driver's message may quote
    assert (sql.attributes or {})["db.response.status_code"] == "57014"
    assert sql.status.description == "57014"
    (loader,) = named(spans, "dataloader ListingTotalLoader")
    assert [(e.attributes or {})["exception.type"] for e in loader.events] == [
        "resolvers.errors.StatementTimeoutError"
    ]
    assert loader.status.description == "StatementTimeoutError"
    (resolver,) = named(spans, "resolve ProductConnection.totalCount")
    assert resolver.status.description == "StatementTimeoutError"
    others = [s for s in spans if s.events and s not in failed]
    assert others == []


async def test_unsampled_request_creates_no_spans_but_is_observed(
    world_url: str, tmp_path: object
) -> None:
    """ALWAYS_OFF: not one span is exported, and the request's observations are complete."""
    traced = Traced(world_url, ALWAYS_OFF, tmp_path)
    async with traced.client:
        assert await traced.post(LISTING_BODY) == []
    (observed,) = traced.observations
    assert_listing_observations(observed)


async def test_an_unsampled_callers_decision_is_followed_and_observed(
    world_url: str, tmp_path: object
) -> None:
    """Parent-based sampling and an unsampled traceparent: no spans, observations counted."""
    traced = Traced(world_url, ParentBased(ALWAYS_ON), tmp_path)
    async with traced.client:
        spans = await traced.post(LISTING_BODY, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-00")
    assert spans == []
    (observed,) = traced.observations
    assert_listing_observations(observed)


# The DataLoader batches of a CategoryListing at `first: 5`: one each, the prices' five keys.
LISTING_BATCHES = [
    ("CategoryByIdLoader", 1),
    ("CategoryBySlugLoader", 1),
    ("CategoryChildrenByParentLoader", 1),
    ("ListingPageLoader", 1),
    ("ListingTotalLoader", 1),
    ("OffersByProductLoader", 5),
]


def assert_listing_observations(observed: Observations) -> None:
    assert observed.statements == 6
    assert sorted(observed.batches) == LISTING_BATCHES
    assert {field: len(durations) for field, durations in observed.fields.items()} == {
        "Query.category": 1,
        "Category.ancestors": 1,
        "Category.children": 1,
        "Category.products": 1,
        "ProductConnection.totalCount": 1,
        "Product.price": 5,
    }
    assert all(d >= 0 for durations in observed.fields.values() for d in durations)


@pytest.mark.parametrize("first", [5, 20])
async def test_statements_per_listing_do_not_grow_with_the_page(
    world_url: str, tmp_path: object, first: int
) -> None:
    """CategoryListing runs six statements whatever the page size (batches, not N+1)."""
    traced = Traced(world_url, ALWAYS_OFF, tmp_path)
    async with traced.client:
        await traced.post(
            {"query": CATEGORY_LISTING, "variables": {"slug": "kitchen", "first": first}}
        )
    (observed,) = traced.observations
    assert observed.statements == 6


async def test_a_callers_traceparent_is_the_server_spans_parent(sampled: Traced) -> None:
    """A W3C traceparent makes the server span a child of the caller's span, in its trace."""
    spans = await sampled.post(LISTING_BODY, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.context is not None
    assert server.parent is not None
    assert server.context.trace_id == int(TRACE_ID, 16)
    assert server.parent.span_id == int(PARENT_ID, 16)
    assert server.parent.is_remote
    assert {s.context.trace_id for s in spans if s.context is not None} == {int(TRACE_ID, 16)}


async def test_graphql_document_is_recorded_without_literal_values(sampled: Traced) -> None:
    """The server span carries `graphql.document` with strings and numbers masked."""
    query = '{ category(slug: "kitchen") { name products(first: 5) { totalCount } } }'
    spans = await sampled.post({"query": query})
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "query"
    assert (server.attributes or {})["graphql.document"] == (
        '{\n  category(slug: "?") {\n    name\n    products(first: 0) {\n'
        "      totalCount\n    }\n  }\n}"
    )


@dataclass
class TimedOut:
    """A CategoryListing stopped by its deadline while its total count's batch waited."""

    spans: list[ReadableSpan]
    body: dict[str, Any]
    observations: list[Observations]


async def time_out(world_url: str, tmp_path: object, body: dict[str, Any]) -> TimedOut:
    """listing_counts is locked, the request's deadline (1 s) comes first: a 504."""
    traced = Traced(world_url, ALWAYS_ON, tmp_path, request_timeout_ms=1000)
    holder = await asyncpg.connect(asyncpg_dsn(world_url))
    try:
        async with traced.client:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("LOCK TABLE listing_counts IN ACCESS EXCLUSIVE MODE")
            spans = await asyncio.wait_for(traced.post(body, 504), timeout=10)
            await transaction.rollback()
    finally:
        await holder.close()
    assert traced.last["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    return TimedOut(spans, traced.last, traced.observations)


async def test_a_timed_out_request_ends_its_waiting_resolver_spans_first(
    world_url: str, tmp_path: object
) -> None:
    """A compiled plan waits on loader futures by callbacks: at the deadline the total
    count's future is still pending (its batch is not cancelled). Its resolver span is
    ended ERROR "unfinished", under the server span and before it ends."""
    timed_out = await time_out(world_url, tmp_path, PERSISTED_LISTING_BODY)
    (server,) = [s for s in timed_out.spans if s.kind is SpanKind.SERVER]
    unfinished = [s for s in timed_out.spans if s.status.description == "unfinished"]
    assert [s.name for s in unfinished] == ["resolve ProductConnection.totalCount"]
    (resolver,) = unfinished
    assert resolver.status.status_code is StatusCode.ERROR
    assert resolver.parent is not None
    assert resolver.parent.span_id == span_id(server)
    assert resolver.end_time is not None
    assert server.end_time is not None
    assert resolver.end_time <= server.end_time


async def test_a_timed_out_request_says_504_on_its_server_span(
    world_url: str, tmp_path: object
) -> None:
    """The deadline's cancellation is ERROR with `http.response.status_code` 504."""
    timed_out = await time_out(world_url, tmp_path, LISTING_BODY)
    (server,) = [s for s in timed_out.spans if s.kind is SpanKind.SERVER]
    assert (server.attributes or {})["http.response.status_code"] == 504
    assert server.status.status_code is StatusCode.ERROR
    assert server.status.description == "CancelledError"


async def test_a_timed_out_request_is_observed(world_url: str, tmp_path: object) -> None:
    """What ran until the deadline reaches the metrics: its six statements and batches."""
    timed_out = await time_out(world_url, tmp_path, LISTING_BODY)
    (observed,) = timed_out.observations
    assert observed.statements == 6
    assert sorted(observed.batches) == LISTING_BATCHES


async def test_a_cache_hit_is_not_observed(world_url: str, tmp_path: object) -> None:
    """Only executed requests are observed: the second, identical request is a cache hit."""
    traced = Traced(world_url, ALWAYS_OFF, tmp_path)
    async with traced.client:
        await traced.post(LISTING_BODY)
        await traced.post(LISTING_BODY)
    (observed,) = traced.observations
    assert observed.statements == 6


async def test_the_access_line_carries_the_server_spans_ids(
    sampled: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    """The access line, written after the server span ended, names its trace and span."""
    with caplog.at_level(logging.INFO, logger="vitrine.access"):
        spans = await sampled.post(LISTING_BODY, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.context is not None
    (line,) = [r for r in caplog.records if r.name == "vitrine.access"]
    assert line.__dict__["trace_id"] == TRACE_ID == format(server.context.trace_id, "032x")
    assert line.__dict__["span_id"] == format(server.context.span_id, "016x")


async def test_an_unsampled_requests_access_line_has_no_trace_ids(
    world_url: str, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """No recorded span, no trace ids: they would lead nowhere."""
    traced = Traced(world_url, ALWAYS_OFF, tmp_path)
    async with traced.client:
        with caplog.at_level(logging.INFO, logger="vitrine.access"):
            await traced.post(LISTING_BODY)
    (line,) = [r for r in caplog.records if r.name == "vitrine.access"]
    assert "trace_id" not in line.__dict__
    assert "span_id" not in line.__dict__


async def test_an_unsampled_request_in_a_callers_trace_names_it_on_its_access_line(
    world_url: str, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Not recorded here (a sampling ratio said no), but part of the caller's trace: the
    access line carries the caller's trace id and the server span's own id."""
    traced = Traced(world_url, ALWAYS_OFF, tmp_path)
    async with traced.client:
        with caplog.at_level(logging.INFO, logger="vitrine.access"):
            spans = await traced.post(LISTING_BODY, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    assert spans == []
    (line,) = [r for r in caplog.records if r.name == "vitrine.access"]
    assert line.__dict__["trace_id"] == TRACE_ID
    assert re.fullmatch(r"[0-9a-f]{16}", line.__dict__["span_id"])
    assert line.__dict__["span_id"] != PARENT_ID


async def test_a_masked_500s_error_line_names_the_server_spans_trace(
    world_url: str, tmp_path: object
) -> None:
    """An unexpected error leaves the endpoint after its server span ended (the viewer's
    segments table is gone): the 500's error line still carries that span's ids."""
    traced = Traced(world_url, ALWAYS_ON, tmp_path, jwt_secret=JWT_SECRET)
    token = mint_token(JWT_SECRET, sub="c-1", roles=["CUSTOMER"], ttl_seconds=600)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=True))
    errors = logging.getLogger("vitrine.errors")
    errors.addHandler(handler)
    admin = await asyncpg.connect(asyncpg_dsn(world_url))
    try:
        await admin.execute("ALTER TABLE customer_segments RENAME TO customer_segments_gone")
        async with traced.client:
            spans = await traced.post(
                {"query": CATEGORY_NAME, "variables": {"slug": "kitchen"}},
                500,
                authorization=f"Bearer {token}",
            )
    finally:
        errors.removeHandler(handler)
        await admin.execute("ALTER TABLE customer_segments_gone RENAME TO customer_segments")
        await admin.close()
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.context is not None
    (line,) = [orjson.loads(text) for text in stream.getvalue().splitlines()]
    assert line["level"] == "error"
    assert line["trace_id"] == format(server.context.trace_id, "032x")
    assert line["span_id"] == format(server.context.span_id, "016x")
