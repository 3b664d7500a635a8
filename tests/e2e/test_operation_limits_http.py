"""Operation limits and cost over a real server: each limit admits n and refuses n + 1
(400 under graphql-response+json, 200 under application/json), fragments that cycle or fan
out are refused quickly, registered documents skip the limits but not the cost, a costly
operation is refused before anything runs, and every answer reports `extensions.cost`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from infra.auth import mint_token
from infra.database import create_engine
from persisted_queries.hashing import sha256_hex
from resolvers.ids import encode_id
from tests.conftest import CONTRACT
from tests.e2e.events import ana_mug_store
from tests.e2e.server import Server, running_server
from tests.e2e.worlds import projected_database

pytestmark = pytest.mark.e2e

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
USER = {
    "Authorization": "Bearer "
    + mint_token(SECRET, sub="u-1", roles=["CUSTOMER"], ttl_seconds=3600, creator_id=None)
}
PRODUCT_PAGE = (CONTRACT / "operations" / "ProductPage.graphql").read_text()
CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
MUG = {"slug": "mug"}
# The tight server: ProductPage (depth 5, cost 142) is too deep as text, cheap enough by id.
TIGHT = {"max_depth": "3", "max_tokens": "200", "max_cost": "143"}
CYCLE = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
SPREAD_400_TIMES = (
    '{ product(slug: "mug") { ' + "...T " * 400 + "} } fragment T on Product { title }"
)
FAN_OUT_LEVELS = 30
EXPECTED_PRODUCT_PAGE_COST = {
    "requestedQueryCost": 142,
    "actualQueryCost": 17,
    "throttleStatus": None,
}


def deep(n: int) -> str:
    """Fields nested n deep: product, category, parent..., name."""
    return (
        '{ product(slug: "mug") { category { '
        + "parent { " * (n - 3)
        + "name"
        + " }" * (n - 1)
        + " }"
    )


def aliased(n: int) -> str:
    return '{ product(slug: "mug") { ' + " ".join(f"t{i}: title" for i in range(n)) + " } }"


def root_fields(n: int) -> str:
    return "{ " + "__typename " * n + "}"


def directed(n: int) -> str:
    return '{ product(slug: "mug") { ' + "title @include(if: true) " * n + "} }"


def tokens(n: int) -> str:
    """`{ product(slug: "mug") { title } }` is 11 tokens; comments count too."""
    return '{ product(slug: "mug") { title } }' + "\n#" * (n - 11)


def fan_out(leaf: str) -> str:
    """F0 spreads F1 twice, F1 spreads F2 twice, ... 2^30 uses of the last one."""
    fragments = "".join(
        f"fragment F{i} on Product {{ ...F{i + 1} ...F{i + 1} }} " for i in range(FAN_OUT_LEVELS)
    )
    return (
        f'{{ product(slug: "mug") {{ ...F0 }} }} {fragments}'
        f"fragment F{FAN_OUT_LEVELS} on Product {{ {leaf} }}"
    )


def engagements(n: int) -> str:
    """n recordEngagement root fields: 11 each (an object, and a write)."""
    fields = " ".join(f"e{i}: recordEngagement(input: $i) {{ accepted }}" for i in range(n))
    return f"mutation M($i: EngagementInput!) {{ {fields} }}"


def post(
    server: Server, body: dict[str, Any], accept: str = GRAPHQL_RESPONSE, **headers: str
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/graphql", json=body, headers={"Accept": accept, **headers}, timeout=30
    )


def refusal(message: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": extensions}]}


async def event_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM event_log"))).scalar_one())
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def world(server_url: str, template_url: str) -> AsyncIterator[str]:
    """The mug store of creator ana, projected."""
    async with projected_database(server_url, template_url, ana_mug_store("4.00")) as url:
        yield url


@pytest.fixture(scope="module")
def server(world: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the default limits and cost limit."""
    with running_server(world, tmp_path_factory.mktemp("limits"), run_projectors="false") as server:
        yield server


@pytest.fixture(scope="module")
def tight(world: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with small limits, and ProductPage and CategoryListing pushed as a manifest."""
    data_dir = tmp_path_factory.mktemp("tight")
    manifest = data_dir / "manifest.json"
    manifest.write_bytes(
        orjson.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": sha256_hex(body), "name": name, "type": "query", "body": body}
                    for name, body in (
                        ("ProductPage", PRODUCT_PAGE),
                        ("CategoryListing", CATEGORY_LISTING),
                    )
                ],
            }
        )
    )
    env = {**os.environ, "VITRINE_DATABASE_URL": world, "VITRINE_DATA_DIR": str(data_dir)}
    pushed = subprocess.run(
        [sys.executable, "-m", "infra.cli", "pq", "push", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pushed.returncode == 0, pushed.stderr
    with running_server(
        world, data_dir, run_projectors="false", jwt_secret=SECRET, **TIGHT
    ) as server:
        yield server


LIMITS = [
    pytest.param(
        deep,
        10,
        {"product": {"category": None}},
        refusal(
            "the operation nests fields 11 deep, deeper than the 10 allowed",
            code="MAX_DEPTH_LIMIT",
            depth=11,
            maxDepth=10,
        ),
        id="depth",
    ),
    pytest.param(
        aliased,
        15,
        {"product": {f"t{i}": "Mug" for i in range(15)}},
        refusal(
            "the operation uses 16 aliases, more than the 15 allowed",
            code="MAX_ALIASES_LIMIT",
            aliases=16,
            maxAliases=15,
        ),
        id="aliases",
    ),
    pytest.param(
        root_fields,
        20,
        {"__typename": "Query"},
        refusal(
            "the operation asks for 21 root fields, more than the 20 allowed: "
            "split it into several operations",
            code="MAX_ROOT_FIELDS_LIMIT",
            rootFields=21,
            maxRootFields=20,
        ),
        id="root-fields",
    ),
    pytest.param(
        directed,
        50,
        {"product": {"title": "Mug"}},
        refusal(
            "the operation uses 51 directives, more than the 50 allowed",
            code="MAX_DIRECTIVES_LIMIT",
            directives=51,
            maxDirectives=50,
        ),
        id="directives",
    ),
    pytest.param(
        tokens,
        1000,
        {"product": {"title": "Mug"}},
        refusal(
            "the document has more than 1000 tokens: send a smaller one, "
            "or register it as a persisted document",
            code="MAX_TOKENS_LIMIT",
            tokens=1001,
            maxTokens=1000,
        ),
        id="tokens",
    ),
]


@pytest.mark.parametrize(("document", "limit", "data", "refused"), LIMITS)
@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), (JSON, 200)])
def test_each_limit_admits_n_and_refuses_n_plus_one(
    server: Server,
    document: Any,
    limit: int,
    data: dict[str, Any],
    refused: dict[str, Any],
    accept: str,
    status: int,
) -> None:
    """At the limit the operation runs; one past it is a request error naming both numbers."""
    admitted = post(server, {"query": document(limit)}, accept)
    assert admitted.status_code == 200
    assert "errors" not in admitted.json()
    assert admitted.json()["data"] == data
    over = post(server, {"query": document(limit + 1)}, accept)
    assert over.status_code == status
    assert over.headers["content-type"] == f"{accept}; charset=utf-8"
    assert over.json() == refused


def test_circular_fragments_are_a_validation_error(server: Server) -> None:
    """A cycle is measured without recursing forever; validation then refuses it."""
    response = post(server, {"query": CYCLE})
    assert response.status_code == 400
    assert [(e["message"], e["extensions"]["code"]) for e in response.json()["errors"]] == [
        ("Cannot spread fragment 'A' within itself via 'B'.", "GRAPHQL_VALIDATION_FAILED")
    ]
    assert post(server, {"query": "{ __typename }"}).json()["data"] == {"__typename": "Query"}


def test_a_fragment_spread_hundreds_of_times_runs_once(server: Server) -> None:
    """400 spreads of one fragment are within the limits, and cost what one costs."""
    response = post(server, {"query": SPREAD_400_TIMES})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"product": {"title": "Mug"}}
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 1,
        "actualQueryCost": 1,
        "throttleStatus": None,
    }


def test_a_fragment_fan_out_is_refused_by_its_aliases(server: Server) -> None:
    """2^30 uses of an aliased field: counted without expanding them, and refused."""
    response = post(server, {"query": fan_out("t: title")})
    assert response.status_code == 400
    assert response.json() == refusal(
        "the operation uses 1073741824 aliases, more than the 15 allowed",
        code="MAX_ALIASES_LIMIT",
        aliases=2**30,
        maxAliases=15,
    )


def test_a_fragment_fan_out_of_objects_is_refused_by_its_cost(server: Server) -> None:
    """Within every limit, 2^30 uses of an object field cost 2^30: refused before running."""
    response = post(server, {"query": fan_out("category { name }")})
    assert response.status_code == 400
    cost = 1 + 2**30
    assert response.json() == refusal(
        f"this operation may cost {cost}, more than the 5000 allowed per request: ask for "
        "fewer items (a smaller `first`), or split it into several operations",
        code="COST_LIMIT_EXCEEDED",
        cost=cost,
        maxCost=5000,
    )


def test_extensions_cost_reports_requested_and_actual_cost_even_from_the_cache(
    server: Server,
) -> None:
    """ProductPage of the mug: 142 requested; 17 returned (no images, category, rating,
    promotions or recommendations); the cached answer reports the same."""
    first = post(server, {"query": PRODUCT_PAGE, "variables": MUG})
    assert first.status_code == 200
    assert first.json()["extensions"]["cost"] == EXPECTED_PRODUCT_PAGE_COST
    again = post(server, {"query": PRODUCT_PAGE, "variables": MUG})
    assert again.headers["vitrine-cache"] == "HIT-L1"
    assert again.json()["data"] == first.json()["data"]
    assert again.json()["extensions"]["cost"] == EXPECTED_PRODUCT_PAGE_COST


def test_the_requested_cost_reads_the_page_variables(server: Server) -> None:
    """CategoryListing costs 29 plus 22 per product asked for with `$first`."""
    for first, requested in ((None, 29 + 48 * 22), (2, 29 + 2 * 22), (100, 29 + 100 * 22)):
        variables = {"slug": "nowhere"} if first is None else {"slug": "nowhere", "first": first}
        response = post(server, {"query": CATEGORY_LISTING, "variables": variables})
        assert response.json() == {
            "data": {"category": None},
            "extensions": {
                "readModel": response.json()["extensions"]["readModel"],
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": 0,
                    "throttleStatus": None,
                },
            },
        }


def test_registered_documents_skip_the_limits(tight: Server) -> None:
    """ProductPage is too deep as text, and runs by its id; APQ text over a limit is never
    registered, so its hash stays unknown."""
    as_text = post(tight, {"query": PRODUCT_PAGE, "variables": MUG})
    assert as_text.status_code == 400
    assert as_text.json() == refusal(
        "the operation nests fields 5 deep, deeper than the 3 allowed",
        code="MAX_DEPTH_LIMIT",
        depth=5,
        maxDepth=3,
    )
    by_id = post(tight, {"documentId": f"sha256:{sha256_hex(PRODUCT_PAGE)}", "variables": MUG})
    assert by_id.status_code == 200
    assert by_id.json()["data"]["product"]["title"] == "Mug"
    assert by_id.json()["extensions"]["cost"] == EXPECTED_PRODUCT_PAGE_COST
    too_deep = deep(4)
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(too_deep)}}
    registering = post(tight, {"query": too_deep, "extensions": apq})
    assert registering.status_code == 400
    assert registering.json()["errors"][0]["extensions"]["code"] == "MAX_DEPTH_LIMIT"
    unknown = post(tight, {"extensions": apq})
    assert (unknown.status_code, unknown.json()["errors"][0]["extensions"]["code"]) == (
        200,
        "PERSISTED_QUERY_NOT_FOUND",
    )


def test_registered_documents_do_not_skip_the_cost(tight: Server) -> None:
    """CategoryListing by its id costs 1085, over the 143 allowed: refused all the same."""
    response = post(
        tight, {"documentId": f"sha256:{sha256_hex(CATEGORY_LISTING)}", "variables": MUG}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {
        "code": "COST_LIMIT_EXCEEDED",
        "cost": 1085,
        "maxCost": 143,
    }


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), (JSON, 200)])
async def test_an_operation_over_the_cost_is_refused_before_anything_runs(
    tight: Server, world: str, accept: str, status: int
) -> None:
    """13 writes cost 143 and all append; 14 cost 154, over the 143 allowed, and none does."""
    variables = {"i": {"postId": encode_id("Post", "po-1"), "kind": "LIKE"}}
    before = await event_count(world)
    admitted = post(tight, {"query": engagements(13), "variables": variables}, accept, **USER)
    assert admitted.status_code == 200
    assert admitted.json()["data"] == {f"e{i}": {"accepted": True} for i in range(13)}
    assert admitted.json()["extensions"]["cost"] == {
        "requestedQueryCost": 143,
        "actualQueryCost": 143,
        "throttleStatus": None,
    }
    assert await event_count(world) == before + 13
    refused = post(tight, {"query": engagements(14), "variables": variables}, accept, **USER)
    assert refused.status_code == status
    assert refused.json() == refusal(
        "this operation may cost 154, more than the 143 allowed per request: ask for "
        "fewer items (a smaller `first`), or split it into several operations",
        code="COST_LIMIT_EXCEEDED",
        cost=154,
        maxCost=143,
    )
    assert await event_count(world) == before + 13


def chained_recommendations(width: int, levels: int) -> str:
    """F0 has `width` fields `recommendations(first: $n) { ...F1 }`, F1 the same with F2...:
    within every default limit, a formula of width^levels paths that share sub-formulas."""
    fragments = []
    for i in range(levels):
        inner = f"...F{i + 1}" if i + 1 < levels else "id"
        fields = " ".join(f"recommendations(first: $n) {{ {inner} }}" for _ in range(width))
        fragments.append(f"fragment F{i} on Product {{ {fields} }}")
    return 'query Q($n: Int) { product(slug: "mug") { ...F0 } } ' + " ".join(fragments)


def test_sibling_lists_sharing_fragments_are_priced_at_once(server: Server) -> None:
    """10 sibling lists over 8 levels (10^8 paths: seconds per request when the formula was
    walked as a tree), within every default limit, are priced and refused by their cost."""
    query = chained_recommendations(10, 8)
    level = 0
    for _ in range(8):
        level = 10 * (2 + 1 * (1 + level))  # 10 lists of one product, each spreading the next
    refused = post(server, {"query": query, "variables": {"n": 1}})
    assert refused.status_code == 400
    assert refused.json() == refusal(
        f"this operation may cost {1 + level}, more than the 5000 allowed per request: ask "
        "for fewer items (a smaller `first`), or split it into several operations",
        code="COST_LIMIT_EXCEEDED",
        cost=1 + level,
        maxCost=5000,
    )


def test_sibling_lists_sharing_fragments_run_when_cheap(server: Server) -> None:
    """4 sibling lists over 8 levels with `$n: 0` cost their empty lists, and run."""
    empty = post(server, {"query": chained_recommendations(4, 8), "variables": {"n": 0}})
    assert empty.status_code == 200
    assert empty.json()["data"] == {"product": {"recommendations": []}}
    assert empty.json()["extensions"]["cost"] == {
        "requestedQueryCost": 1 + 4 * 2,
        "actualQueryCost": 1 + 2,
        "throttleStatus": None,
    }


NESTED_PAGES = (
    "query Q($n: Int, $m: Int) "
    "{ products(first: $n) { nodes { recommendations(first: $m) { id } } } }"
)


@pytest.mark.parametrize("variables", [b'{"n":100.0,"m":100.0}', b'{"n":1e2,"m":1e2}'])
def test_a_float_page_size_is_priced_as_the_integer_it_runs_as(
    server: Server, variables: bytes
) -> None:
    """graphql-core's Int takes `100.0` and `1e2` (JSON floats) as 100: 100 products of 100
    recommendations cost 10303 however they are written, and are refused."""
    body = b'{"query":' + orjson.dumps(NESTED_PAGES) + b',"variables":' + variables + b"}"
    response = httpx.post(
        f"{server.url}/graphql",
        content=body,
        headers={"Accept": GRAPHQL_RESPONSE, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json() == refusal(
        "this operation may cost 10303, more than the 5000 allowed per request: ask for "
        "fewer items (a smaller `first`), or split it into several operations",
        code="COST_LIMIT_EXCEEDED",
        cost=10303,
        maxCost=5000,
    )


def test_an_integral_float_page_size_runs_as_its_integer(server: Server) -> None:
    """`2.0` and `3.0` run as 2 and 3: the same answer and the same cost, 15, as the integers."""
    as_floats = post(server, {"query": NESTED_PAGES, "variables": {"n": 2.0, "m": 3.0}})
    as_ints = post(server, {"query": NESTED_PAGES, "variables": {"n": 2, "m": 3}})
    assert as_floats.status_code == as_ints.status_code == 200
    assert "errors" not in as_floats.json()
    assert as_floats.json()["data"] == as_ints.json()["data"]
    assert as_floats.json()["extensions"]["cost"]["requestedQueryCost"] == 15
    assert as_ints.json()["extensions"]["cost"] == as_floats.json()["extensions"]["cost"]
