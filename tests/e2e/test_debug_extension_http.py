"""`extensions.tracing` over real HTTP: an ADMIN token with `Vitrine-Debug: tracing` gets
its request's trace in the response, anyone else's header is ignored, the development
flag gives it to every request, and production refuses to start with the flag."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from infra.database import asyncpg_dsn
from tests.conftest import CONTRACT
from tests.e2e.server import Server, running_server
from tests.e2e.test_identity_http import DEFAULT_SECRET, bearer, claims, hs256
from tests.e2e.worlds import projected_database
from tests.resolvers.world import build_specs, world_events

pytestmark = pytest.mark.e2e

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
VARIABLES = {"slug": "kitchen", "first": 5}
DEBUG = {"Vitrine-Debug": "tracing"}
ADMIN = bearer(hs256(DEFAULT_SECRET, None, claims("ad-1", ["ADMIN"])))
CUSTOMER = bearer(hs256(DEFAULT_SECRET, None, claims("cu-1", ["CUSTOMER"])))
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# CategoryListing's non-trivial (traced) fields; every other field is a plain attribute.
TRACED_FIELDS = {
    "Query.category",
    "Category.ancestors",
    "Category.children",
    "Category.products",
    "ProductConnection.totalCount",
    "Product.price",
}
LOADER_SPANS = {
    "dataloader CategoryByIdLoader",
    "dataloader CategoryBySlugLoader",
    "dataloader CategoryChildrenByParentLoader",
    "dataloader ListingPageLoader",
    "dataloader ListingTotalLoader",
    "dataloader OffersByProductLoader",
}


@pytest.fixture(scope="module")
async def catalog(server_url: str, template_url: str) -> AsyncIterator[str]:
    """The resolver tests' small catalog (a "kitchen" category with products), projected."""
    async with projected_database(server_url, template_url, world_events(build_specs())) as url:
        yield url


def settings(**extra: str) -> dict[str, str]:
    """A server that samples nothing by itself (no exporter, no trace page): only debug
    requests record."""
    return {
        "run_projectors": "false",
        "trace_page": "false",
        "jwt_secret": DEFAULT_SECRET,
        "pool_size": "2",
        "pool_max_overflow": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def server(catalog: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(catalog, tmp_path_factory.mktemp("debug"), **settings()) as server:
        yield server


def listing(server: Server, **headers: str) -> dict[str, Any]:
    """A CategoryListing answered with its data; the JSON body."""
    response = server.graphql(CATEGORY_LISTING, VARIABLES, **headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body
    assert body["data"]["category"]["name"] == "Kitchen"
    return body


def assert_is_the_listings_trace(tracing: dict[str, Any]) -> None:
    """Apollo Tracing of a CategoryListing: its traced fields by path, its loader batches."""
    assert tracing["version"] == 1
    assert re.fullmatch(r"[0-9a-f]{32}", tracing["traceId"])
    assert ISO_UTC.fullmatch(tracing["startTime"])
    assert ISO_UTC.fullmatch(tracing["endTime"])
    resolvers = tracing["execution"]["resolvers"]
    assert {f"{r['parentType']}.{r['fieldName']}" for r in resolvers} == TRACED_FIELDS
    paths = sorted(r["path"] for r in resolvers if r["fieldName"] == "price")
    assert paths == [["category", "products", "edges", n, "node", "price"] for n in range(5)]
    (category,) = [r for r in resolvers if r["fieldName"] == "category"]
    assert category["path"] == ["category"]
    for entry in resolvers:
        assert 0 <= entry["startOffset"] <= entry["startOffset"] + entry["duration"]
        assert entry["startOffset"] + entry["duration"] <= tracing["duration"]
    loaders = [s for s in tracing["spans"] if s["name"].startswith("dataloader ")]
    assert {s["name"] for s in loaders} == LOADER_SPANS
    (page,) = [s for s in loaders if s["name"] == "dataloader ListingPageLoader"]
    assert page["attributes"]["vitrine.batch_size"] == 1
    assert tracing["droppedSpans"] == 0


def test_an_admin_asking_gets_the_requests_trace(server: Server) -> None:
    """ADMIN token and `Vitrine-Debug: tracing`: extensions.tracing in Apollo Tracing shape."""
    body = listing(server, **ADMIN, **DEBUG)
    assert_is_the_listings_trace(body["extensions"]["tracing"])
    assert set(body["extensions"]) >= {"tracing", "readModel", "cost"}


def test_the_trace_is_the_callers_even_when_it_did_not_sample(server: Server) -> None:
    """Under a caller's unsampled traceparent, the debug request records in the caller's trace."""
    trace_id = secrets.token_hex(16)
    body = listing(server, **ADMIN, **DEBUG, traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-00")
    tracing = body["extensions"]["tracing"]
    assert tracing["traceId"] == trace_id
    assert_is_the_listings_trace(tracing)


@pytest.mark.parametrize(
    ("who", "headers"),
    [
        ("a customer asking", {**CUSTOMER, **DEBUG}),
        ("an anonymous viewer asking", DEBUG),
        ("an admin not asking", ADMIN),
        ("an admin asking for something else", {**ADMIN, "Vitrine-Debug": "timings"}),
    ],
)
def test_anyone_else_gets_no_trace_and_no_error(
    server: Server, who: str, headers: dict[str, str]
) -> None:
    """The header from anyone but an ADMIN (or naming no `tracing`) is ignored, silently."""
    body = listing(server, **headers)
    assert "tracing" not in body["extensions"], who


def test_the_development_flag_traces_every_request(
    catalog: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """VITRINE_DEBUG_TRACING=true: an anonymous request without the header gets its trace."""
    directory = tmp_path_factory.mktemp("debug-dev")
    with running_server(catalog, directory, **settings(debug_tracing="true")) as server:
        first = listing(server)["extensions"]["tracing"]
        second = listing(server)["extensions"]["tracing"]
    assert_is_the_listings_trace(first)
    assert_is_the_listings_trace(second)
    assert first["traceId"] != second["traceId"]


def test_production_with_the_flag_refuses_to_start(catalog: str, tmp_path: Path) -> None:
    """VITRINE_MODE=production with VITRINE_DEBUG_TRACING=true: the server does not start,
    and says why."""
    with (
        pytest.raises(RuntimeError) as refused,
        running_server(catalog, tmp_path, **settings(mode="production", debug_tracing="true")),
    ):
        pass
    assert (
        "VITRINE_DEBUG_TRACING: Value error, debug tracing for every request is for "
        "development only (VITRINE_MODE=production): send `Vitrine-Debug: tracing` with an "
        "ADMIN token (got 'true')"
    ) in str(refused.value)


def test_a_refused_request_still_gets_its_trace(server: Server) -> None:
    """A mutation over GET is refused (405) inside the traced pipeline: the error answer
    carries the trace all the same."""
    response = httpx.get(
        f"{server.url}/graphql",
        params={"query": "mutation { __typename }"},
        headers={**ADMIN, **DEBUG, "apollo-require-preflight": "true"},
        timeout=30,
    )
    assert response.status_code == 405, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    tracing = body["extensions"]["tracing"]
    assert (tracing["version"], tracing["execution"]["resolvers"]) == (1, [])
    assert re.fullmatch(r"[0-9a-f]{32}", tracing["traceId"])


async def test_a_timed_out_request_still_gets_its_trace(
    catalog: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """listing_counts is locked, the request's deadline (1 s) comes first: the 504 carries
    the trace of what ran until then, the resolvers that answered included."""
    directory = tmp_path_factory.mktemp("debug-timeout")
    holder = await asyncpg.connect(asyncpg_dsn(catalog))
    try:
        with running_server(catalog, directory, **settings(request_timeout_ms="1000")) as server:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("LOCK TABLE listing_counts IN ACCESS EXCLUSIVE MODE")
            try:
                response = server.graphql(CATEGORY_LISTING, VARIABLES, **ADMIN, **DEBUG)
            finally:
                await transaction.rollback()
    finally:
        await holder.close()
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    tracing = body["extensions"]["tracing"]
    resolvers = {f"{r['parentType']}.{r['fieldName']}" for r in tracing["execution"]["resolvers"]}
    assert resolvers == TRACED_FIELDS
