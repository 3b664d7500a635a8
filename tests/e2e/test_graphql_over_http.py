"""/graphql over real HTTP: the GraphQL-over-HTTP spec (graphql-http's audit suite and our
own cases), content negotiation, status codes, CSRF prevention and Cache-Control."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.node_packages import installed_node
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

AUDIT_DIR = Path(__file__).parent / "graphql_http_audit"

TYPENAME = "{ __typename }"
PARSE_ERROR = "{ product(slug: "
VALIDATION_ERROR = "{ notAField }"
NEEDS_NAME = "query Type($name: String!) { __type(name: $name) { name } }"
TWO_OPERATIONS = "query A { __typename } query B { __typename }"
# `product` takes an id or a slug, not both: a field error, the rest of the response stands.
PARTIAL = '{ __typename product(id: "x", slug: "y") { title } }'
# `products` is non-null, so its error nulls the whole `data`: still an executed response.
NULL_DATA = "{ products(first: -1) { totalCount } }"
MUTATION = "mutation { __typename }"

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


@pytest.fixture(scope="module")
async def module_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    """One empty database for the module's servers (nothing here reads rows)."""
    url = await create_database(server_url, template_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def server(module_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the default settings (CSRF prevention on)."""
    with running_server(module_database, tmp_path_factory.mktemp("graphql-http")) as server:
        yield server


@pytest.fixture(scope="module")
def unprotected_server(
    module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with VITRINE_CSRF_PREVENTION=false."""
    with running_server(
        module_database,
        tmp_path_factory.mktemp("graphql-http-no-csrf"),
        csrf_prevention="false",
        run_projectors="false",
    ) as server:
        yield server


def post(
    server: Server,
    body: dict[str, Any] | bytes,
    *,
    accept: str | None = "application/graphql-response+json",
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A POST to /graphql with exactly these headers (None leaves a header out)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with httpx.Client(timeout=30) as client:
        del client.headers["accept"]
        sent = dict(headers or {})
        if accept is not None:
            sent["Accept"] = accept
        if content_type is not None:
            sent["Content-Type"] = content_type
        return client.post(f"{server.url}/graphql", content=content, headers=sent)


def get(
    server: Server,
    params: dict[str, str],
    *,
    accept: str | None = "application/graphql-response+json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        del client.headers["accept"]
        sent = dict(headers or {})
        if accept is not None:
            sent["Accept"] = accept
        return client.get(f"{server.url}/graphql", params=params, headers=sent)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


# --- graphql-http's audit suite ---------------------------------------------------------------


@pytest.fixture(scope="module")
def audit_script() -> list[str]:
    """The command that runs the audit; installs it (`npm ci`) on first use."""
    node = installed_node(
        AUDIT_DIR,
        "graphql-http",
        needs=(),
        missing="node and npm are needed for the graphql-http audit",
        required_by="VITRINE_TEST_REQUIRE_NODE",
    )
    return [node, str(AUDIT_DIR / "audit.mjs")]


def run_audit(audit_script: list[str], server: Server, *headers: str) -> list[dict[str, Any]]:
    finished = subprocess.run(
        [*audit_script, f"{server.url}/graphql", *headers],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    results: list[dict[str, Any]] = json.loads(finished.stdout)
    return results


@pytest.mark.parametrize(
    ("server_fixture", "headers"),
    [
        pytest.param("server", ["Apollo-Require-Preflight: true"], id="csrf-prevention"),
        pytest.param("unprotected_server", [], id="no-csrf-prevention"),
    ],
)
def test_graphql_http_audit_passes_in_full(
    audit_script: list[str],
    server_fixture: str,
    headers: list[str],
    request: pytest.FixtureRequest,
) -> None:
    """Every graphql-http server audit (MUST, SHOULD and MAY) passes, with CSRF prevention
    on (the client sends a preflight header, as real clients do) and with it off."""
    server: Server = request.getfixturevalue(server_fixture)
    results = run_audit(audit_script, server, *headers)
    failed = [r for r in results if r["status"] != "ok"]
    report = "\n".join(
        f"{r['id']} {r['name']}: {r['reason']}\n    {json.dumps(r['response'])}" for r in failed
    )
    assert len(results) >= 60, f"the audit ran only {len(results)} audits"
    assert not failed, f"{len(failed)} of {len(results)} audits failed:\n{report}"


# --- status codes and media types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected_code", "modern_status", "has_data"),
    [
        ({"query": PARSE_ERROR}, "GRAPHQL_PARSE_FAILED", 400, False),
        ({"query": ""}, "GRAPHQL_PARSE_FAILED", 400, False),
        ({"query": VALIDATION_ERROR}, "GRAPHQL_VALIDATION_FAILED", 400, False),
        ({"query": NEEDS_NAME, "variables": {}}, "BAD_USER_INPUT", 400, False),
        ({"query": TWO_OPERATIONS}, "BAD_REQUEST", 400, False),
        ({"query": TWO_OPERATIONS, "operationName": "C"}, "BAD_REQUEST", 400, False),
        ({"query": PARTIAL}, "BAD_USER_INPUT", 200, True),
        ({"query": NULL_DATA}, "BAD_USER_INPUT", 200, True),
    ],
    ids=[
        "parse",
        "empty-query",
        "validation",
        "variables",
        "no-operation",
        "unknown-operation",
        "field-error",
        "null-data",
    ],
)
def test_graphql_errors_status_by_media_type(
    server: Server, body: dict[str, Any], expected_code: str, modern_status: int, has_data: bool
) -> None:
    """Request errors are 400 without `data` under graphql-response+json and 200 under
    application/json; a response that executed is 200 under both, with its read-model."""
    modern = post(server, body, accept="application/graphql-response+json")
    legacy = post(server, body, accept="application/json")
    assert (modern.status_code, modern.headers["content-type"]) == (modern_status, GRAPHQL_RESPONSE)
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, JSON)
    for response in (modern, legacy):
        assert code(response) == expected_code
        assert ("data" in response.json()) is has_data
        assert ("readModel" in response.json().get("extensions", {})) is has_data


@pytest.mark.parametrize(
    ("body", "content_type", "expected_code"),
    [
        (b'{"query": ', "application/json", "INVALID_JSON"),
        (b"", "application/json", "INVALID_JSON"),
        (b'[{"query": "{ __typename }"}]', "application/json", "BATCHING_NOT_SUPPORTED"),
        (b'{"query": 1}', "application/json", "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "variables": [7]}', "application/json", "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "extensions": "x"}', "application/json", "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "operationName": 0}', "application/json", "BAD_REQUEST"),
        (b'{"qeury": "{ __typename }"}', "application/json", "BAD_REQUEST"),
    ],
)
def test_malformed_requests_are_400_under_both_media_types(
    server: Server, body: bytes, content_type: str, expected_code: str
) -> None:
    """A request that is not well-formed GraphQL over HTTP is a 400 whatever the client accepts."""
    for accept, media_type in (
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
    ):
        response = post(server, body, accept=accept, content_type=content_type)
        assert (response.status_code, response.headers["content-type"]) == (400, media_type)
        assert code(response) == expected_code


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, GRAPHQL_RESPONSE),
        ("", GRAPHQL_RESPONSE),
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json;q=0.5, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
        ("application/json, application/graphql-response+json;q=0.9", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/html, application/xhtml+xml, */*;q=0.8", JSON),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE),
    ],
)
def test_response_media_type_follows_accept(
    server: Server, accept: str | None, media_type: str
) -> None:
    """The response type is negotiated from Accept; without Accept it is graphql-response+json."""
    response = post(server, {"query": TYPENAME}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json()["data"] == {"__typename": "Query"}
    assert "readModel" in response.json()["extensions"]


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/xml", "application/json;q=0", "application/json;charset=latin1"],
)
def test_unsupported_accept_is_406(server: Server, accept: str) -> None:
    """An Accept that allows neither JSON media type is 406 Not Acceptable."""
    response = post(server, {"query": TYPENAME}, accept=accept)
    assert response.status_code == 406
    assert response.headers["content-type"] == JSON
    assert code(response) == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/graphql",
        "application/graphql-response+json",
        "application/xml",
        "application/json; charset=latin1",
        None,
        "text/plain",
    ],
)
def test_unsupported_request_media_type_is_415(server: Server, content_type: str | None) -> None:
    """A POST body that is not UTF-8 application/json is 415 (once past CSRF prevention)."""
    response = post(server, {"query": TYPENAME}, content_type=content_type, headers=PREFLIGHT)
    assert response.status_code == 415
    assert code(response) == "UNSUPPORTED_MEDIA_TYPE"


def test_json_body_may_state_utf8(server: Server) -> None:
    """`application/json; charset=utf-8`, in any case, is accepted and decoded as UTF-8."""
    query = '{ __type(name: "Run🏃Swim🏊") { name } }'
    response = post(server, {"query": query}, content_type="Application/JSON; Charset=UTF-8")
    assert response.status_code == 200
    assert response.json()["data"] == {"__type": None}


# --- methods ------------------------------------------------------------------------------------


def test_mutation_over_get_is_405_with_allow_post(server: Server) -> None:
    """A GET whose operation is a mutation is 405 with `Allow: POST`, under both media types."""
    for accept in ("application/graphql-response+json", "application/json"):
        response = get(server, {"query": MUTATION}, accept=accept, headers=PREFLIGHT)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert code(response) == "METHOD_NOT_ALLOWED"
    named = get(
        server,
        {"query": "query Q { __typename } mutation M { __typename }", "operationName": "M"},
        headers=PREFLIGHT,
    )
    assert named.status_code == 405


def test_mutation_over_post_runs_and_is_not_cached(server: Server) -> None:
    """Over POST the same document runs, and its answer says no-store."""
    response = post(server, {"query": MUTATION})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Mutation"}
    assert response.headers["cache-control"] == "no-store"


def test_queries_over_get_with_variables(server: Server) -> None:
    """A GET query runs, with `variables` as JSON and an empty operationName meaning none."""
    response = get(
        server,
        {"query": NEEDS_NAME, "variables": '{"name": "Query"}', "operationName": ""},
        headers=PREFLIGHT,
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"__type": {"name": "Query"}}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_other_methods_are_405(server: Server, method: str) -> None:
    """/graphql answers GET and POST only, saying so in Allow (and still no-store)."""
    response = httpx.request(method, f"{server.url}/graphql", timeout=30)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["cache-control"] == "no-store"


# --- CSRF prevention ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Apollo-Require-Preflight": ""},
        {"Content-Type": "text/plain"},
        {"X-Some-Other-Header": "1"},
    ],
    ids=["no-header", "empty-preflight-header", "simple-content-type", "unknown-header"],
)
def test_get_without_preflight_is_blocked(server: Server, headers: dict[str, str]) -> None:
    """A GET that a browser could send without a preflight is 400 CSRF_PREVENTION."""
    response = get(server, {"query": TYPENAME}, headers=headers)
    assert response.status_code == 400
    assert code(response) == "CSRF_PREVENTION"
    assert "apollo-require-preflight" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Apollo-Require-Preflight": "true"},
        {"X-Apollo-Operation-Name": "Typename"},
        {"Content-Type": "application/json"},
    ],
    ids=["apollo-require-preflight", "x-apollo-operation-name", "non-simple-content-type"],
)
def test_get_with_preflight_runs(server: Server, headers: dict[str, str]) -> None:
    """A GET with a preflight header, or a non-simple Content-Type (Apollo Client's way), runs."""
    response = get(server, {"query": TYPENAME}, headers=headers)
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "Text/Plain; charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_simple_post_is_blocked(server: Server, content_type: str | None) -> None:
    """A POST with a simple Content-Type (or none) and no preflight header is 400 CSRF_PREVENTION."""
    response = post(server, {"query": TYPENAME}, content_type=content_type)
    assert response.status_code == 400
    assert code(response) == "CSRF_PREVENTION"


def test_json_post_runs(server: Server) -> None:
    """A POST with Content-Type application/json needs no preflight header."""
    response = post(server, {"query": TYPENAME})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_csrf_prevention_can_be_turned_off(unprotected_server: Server) -> None:
    """With VITRINE_CSRF_PREVENTION=false a bare GET runs and a text/plain POST is only a 415."""
    assert get(unprotected_server, {"query": TYPENAME}).status_code == 200
    response = post(unprotected_server, {"query": TYPENAME}, content_type="text/plain")
    assert response.status_code == 415


# --- GraphiQL and Cache-Control -------------------------------------------------------------------


def test_graphiql_is_served_on_reload(server: Server) -> None:
    """GraphiQL keeps its editor in `?q=`: a browser reloading that URL still gets the page."""
    accept = "text/html,application/xhtml+xml,*/*;q=0.8"
    for params in ({}, {"q": TYPENAME, "variables": "{}"}):
        response = get(server, params, accept=accept)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"


def test_every_response_says_no_store(server: Server) -> None:
    """Successes, GraphQL errors and HTTP errors all carry `Cache-Control: no-store`."""
    responses = [
        post(server, {"query": TYPENAME}),
        post(server, {"query": TYPENAME}, accept="application/json"),
        post(server, {"query": PARSE_ERROR}),
        post(server, {"query": VALIDATION_ERROR}, accept="application/json"),
        post(server, {"query": NEEDS_NAME}),
        post(server, {"query": PARTIAL}),
        post(server, b"{", accept="application/json"),
        post(server, {"query": TYPENAME}, accept="text/html"),
        post(server, {"query": TYPENAME}, content_type="text/plain"),
        post(server, {"query": TYPENAME}, content_type="application/xml"),
        post(server, {"query": TYPENAME}, headers={"Vitrine-Min-Position": "soon"}),
        get(server, {"query": TYPENAME}),
        get(server, {"query": TYPENAME}, headers=PREFLIGHT),
        get(server, {"query": MUTATION}, headers=PREFLIGHT),
        get(server, {}, accept="text/html"),
        get(server, {}, headers=PREFLIGHT),
    ]
    statuses = {r.status_code for r in responses}
    assert statuses == {200, 400, 405, 406, 415}
    for response in responses:
        assert response.headers.get("cache-control") == "no-store", (response, response.text)
