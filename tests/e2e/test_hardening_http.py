"""The hardened edge over real HTTP: introspection and suggestions off in production, GraphiQL
absent there, masked errors with request ids, CSRF prevention, security headers, array
batching, body and query-string limits, and the request timeout that frees the worker."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
import pytest

from infra.database import asyncpg_dsn
from tests.e2e.events import event, mug_store
from tests.e2e.server import Server, running_server
from tests.e2e.worlds import projected_database
from tests.readmodels.waiting import wait_until

pytestmark = pytest.mark.e2e

SECRET = "e2e-hardening-secret-of-32-bytes-at-least"
TYPENAME = "{ __typename }"
INTROSPECTION = "{ __schema { types { name } } }"
TYPE_LOOKUP = '{ __type(name: "Product") { fields { name } } }'
MISSPELT = "{ produc { id } }"
MUG = '{ product(slug: "mug") { title } }'
FILTERED = "query Filtered($f: ProductFilter) { products(filter: $f) { totalCount } }"
MUTATION = "mutation { __typename }"

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": JSON_POLICY,
}
DEFAULT_MAX_BODY = 2_000_000
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


@pytest.fixture(scope="module")
async def module_world(server_url: str, template_url: str) -> AsyncIterator[str]:
    """One database holding the mug store, projected, shared by the module's servers."""
    async with projected_database(server_url, template_url, mug_store()) as url:
        yield url


@pytest.fixture(scope="module")
def production(module_world: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """VITRINE_MODE=production with every hardening setting at its default."""
    with running_server(
        module_world,
        tmp_path_factory.mktemp("hardening-production"),
        mode="production",
        jwt_secret=SECRET,
        run_projectors="false",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def development(module_world: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Development mode, batching on with a cap of 3, a 20 000-byte body limit."""
    with running_server(
        module_world,
        tmp_path_factory.mktemp("hardening-development"),
        batching_max="3",
        max_body_bytes="20000",
        run_projectors="false",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def short_timeout(module_world: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A one-second request timeout (statements may run 5 s), and HSTS configured."""
    with running_server(
        module_world,
        tmp_path_factory.mktemp("hardening-timeout"),
        request_timeout_ms="1000",
        hsts_seconds="31536000",
        response_cache="false",
        run_projectors="false",
    ) as server:
        yield server


def post(
    server: Server,
    body: Any,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A POST to /graphql: `body` as JSON unless it is bytes already."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Accept": GRAPHQL_RESPONSE, **(headers or {})}
    if content_type is not None:
        sent["Content-Type"] = content_type
    with httpx.Client(timeout=30) as client:
        return client.post(f"{server.url}/graphql", content=content, headers=sent)


def get(
    server: Server, params: dict[str, str], *, accept: str = GRAPHQL_RESPONSE, **headers: str
) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        return client.get(
            f"{server.url}/graphql", params=params, headers={"Accept": accept, **headers}
        )


def store_upserted(store_id: str) -> dict[str, Any]:
    return event(
        "StoreUpserted",
        storeId=store_id,
        slug=store_id,
        name=store_id.upper(),
        currencyCode="EUR",
        ownerCreatorId="cr1",
    )


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    return list(response.json()["errors"])


def code(response: httpx.Response) -> str:
    return str(errors(response)[0]["extensions"]["code"])


def log_of(server: Server, tmp_root: Path) -> str:
    """The server's log (each server writes data_dir/server-<port>.log), its JSON lines
    shown as their message and traceback, as a person reads them."""
    port = urlsplit(server.url).port
    (found,) = tmp_root.glob(f"**/server-{port}.log")
    shown = []
    for line in found.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            shown.append(line)
            continue
        shown.append(f"{record.get('event', '')}\n{record.get('exception', '')}")
    return "\n".join(shown)


# --- introspection, suggestions, GraphiQL ---------------------------------------------------------


def test_production_refuses_introspection(production: Server) -> None:
    """In production `__schema` is a validation error (400 GRAPHQL_VALIDATION_FAILED), exactly."""
    response = post(production, {"query": INTROSPECTION})
    assert response.status_code == 400
    assert errors(response) == [
        {
            "message": "GraphQL introspection has been disabled, but the requested query "
            "contained the field '__schema'.",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
        {
            "message": "GraphQL introspection has been disabled, but the requested query "
            "contained the field 'types'.",
            "locations": [{"line": 1, "column": 14}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
    ]


def test_production_refuses_type_lookup_but_answers_typename(production: Server) -> None:
    """`__type` is refused in production too; `__typename` is not introspection and runs."""
    response = post(production, {"query": TYPE_LOOKUP})
    assert response.status_code == 400
    assert [(e["message"], e["extensions"]["code"]) for e in errors(response)] == [
        (
            "GraphQL introspection has been disabled, but the requested query contained "
            "the field '__type'.",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "GraphQL introspection has been disabled, but the requested query contained "
            "the field 'fields'.",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ]
    response = post(production, {"query": TYPENAME})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_production_hides_field_suggestions(production: Server) -> None:
    """A misspelt field in production is refused without "Did you mean": no schema leaks."""
    response = post(production, {"query": MISSPELT})
    assert response.status_code == 400
    assert errors(response) == [
        {
            "message": "Cannot query field 'produc' on type 'Query'.",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }
    ]
    assert "Did you mean" not in response.text


@pytest.mark.parametrize("persisted", [False, True], ids=["graphql-core", "compiled-plan"])
def test_production_hides_variable_suggestions(production: Server, persisted: bool) -> None:
    """A misspelt input field in variables is refused without suggestions, by either executor."""
    body: dict[str, Any] = {"query": FILTERED, "variables": {"f": {"minPric": 1}}}
    if persisted:
        digest = hashlib.sha256(FILTERED.encode()).hexdigest()
        body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    response = post(production, body)
    assert response.status_code == 400
    assert errors(response) == [
        {
            "message": "Variable '$f' has invalid value: Expected value of type 'ProductFilter' "
            "not to include unknown field 'minPric', found: {'minPric': 1}.",
            "locations": [{"line": 1, "column": 16}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


def test_development_keeps_introspection_and_suggestions(development: Server) -> None:
    """In development introspection answers and a misspelt field gets its suggestion."""
    response = post(development, {"query": INTROSPECTION})
    assert response.status_code == 200
    names = {t["name"] for t in response.json()["data"]["__schema"]["types"]}
    assert {"Query", "Product", "__Schema"} <= names
    response = post(development, {"query": MISSPELT})
    assert response.status_code == 400
    assert [e["message"] for e in errors(response)] == [
        "Cannot query field 'produc' on type 'Query'. Did you mean 'product' or 'products'?"
    ]


def test_graphiql_is_absent_in_production(production: Server) -> None:
    """A browser asking production for /graphql gets no GraphiQL page: 406, in JSON."""
    response = get(production, {}, accept=BROWSER_ACCEPT.replace(",*/*;q=0.8", ""))
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert code(response) == "NOT_ACCEPTABLE"
    assert "<html" not in response.text


def test_graphiql_page_has_its_own_policy(development: Server) -> None:
    """GraphiQL (development) gets a policy naming what it loads and its inline script's hash,
    which the middleware leaves as the route set it; the other security headers still apply."""
    response = get(development, {}, accept=BROWSER_ACCEPT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    (script,) = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; "
        f"script-src https://unpkg.com 'sha256-{digest}'; "
        "style-src https://unpkg.com 'unsafe-inline'; "
        "font-src https://unpkg.com data:; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


# --- masked errors and request ids ----------------------------------------------------------------


async def test_unexpected_resolver_error_is_masked_with_a_request_id(
    production: Server, module_world: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A resolver failing unexpectedly answers "Unexpected error." and the request id, nothing
    else; the server log has the traceback under that id."""
    admin = await asyncpg.connect(asyncpg_dsn(module_world))
    try:
        await admin.execute("ALTER TABLE products RENAME COLUMN title TO title_gone")
        try:
            response = post(production, {"query": MUG}, headers={"X-Request-Id": "e2e-mask-1"})
        finally:
            await admin.execute("ALTER TABLE products RENAME COLUMN title_gone TO title")
    finally:
        await admin.close()
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "e2e-mask-1"
    assert response.json() == {
        "data": {"product": None},
        "errors": [
            {
                "message": "Unexpected error.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["product"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "e2e-mask-1"},
            }
        ],
        "extensions": response.json()["extensions"],
    }
    for leak in ("Traceback", "title_gone", "asyncpg", "File ", ".py"):
        assert leak not in response.text
    log = log_of(production, tmp_path_factory.getbasetemp())
    assert "unexpected error in ['product'] (request id e2e-mask-1)" in log
    assert "Traceback (most recent call last)" in log
    assert "UndefinedColumnError: column p.title does not exist" in log
    # The column is back: the same query answers again.
    assert post(production, {"query": MUG}).json()["data"] == {"product": {"title": "Mug"}}


async def test_unexpected_error_on_events_is_masked_json(
    production: Server, module_world: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """/events failing unexpectedly is a JSON 500 with the request id and security headers, not
    Starlette's page or a traceback; the log has the traceback under the id."""
    body = orjson.dumps([store_upserted("s9")])
    admin = await asyncpg.connect(asyncpg_dsn(module_world))
    try:
        await admin.execute("ALTER TABLE event_log RENAME TO event_log_gone")
        try:
            response = production.post_events(body, **{"X-Request-Id": "e2e-events-500"})
        finally:
            await admin.execute("ALTER TABLE event_log_gone RENAME TO event_log")
    finally:
        await admin.close()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "e2e-events-500"
    assert response.json() == {
        "errors": [
            {
                "message": "Unexpected error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "e2e-events-500"},
            }
        ]
    }
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    log = log_of(production, tmp_path_factory.getbasetemp())
    assert "unexpected error answering POST /events (request id e2e-events-500)" in log
    assert 'relation "event_log" does not exist' in log


@pytest.mark.parametrize(
    "incoming",
    [None, "x" * 129, "has space", 'quote"d', "semi;colon"],
    ids=["absent", "too-long", "space", "quote", "semicolon"],
)
def test_an_unusable_request_id_is_replaced(production: Server, incoming: str | None) -> None:
    """A missing, over-long or unsafe X-Request-Id is replaced by 32 fresh hex digits."""
    headers = {} if incoming is None else {"X-Request-Id": incoming}
    response = httpx.get(f"{production.url}/healthz", headers=headers, timeout=30)
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_sane_request_id_is_kept_on_every_route(production: Server) -> None:
    """A proxy's id (128 safe characters at most) comes back unchanged, on any route."""
    sane = "Root=1-67891233-abcdef012345678912345678" + "a" * 88
    assert len(sane) == 128
    for path in ("/healthz", "/metrics", "/nowhere"):
        response = httpx.get(f"{production.url}{path}", headers={"X-Request-Id": sane}, timeout=30)
        assert response.headers["x-request-id"] == sane
    response = post(production, {"query": TYPENAME}, headers={"X-Request-Id": sane})
    assert response.headers["x-request-id"] == sane


# --- CSRF prevention (Apollo's rule), beyond test_graphql_over_http ------------------------------


def test_simple_post_is_blocked_before_anything_is_read(production: Server) -> None:
    """A text/plain POST is refused for CSRF before its body or token is looked at."""
    response = post(
        production,
        b"{not json",
        content_type="text/plain",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 400
    assert code(response) == "CSRF_PREVENTION"


def test_simple_post_mutation_and_batch_are_blocked(production: Server) -> None:
    """A form-encoded POST carrying a mutation, or a batch, is refused: nothing runs."""
    for body in ({"query": MUTATION}, [{"query": TYPENAME}]):
        response = post(production, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400
        assert code(response) == "CSRF_PREVENTION"


def test_browser_navigation_get_is_blocked(production: Server) -> None:
    """A link to /graphql?query=... (a top-level navigation, never preflighted) is refused."""
    response = get(production, {"query": TYPENAME}, accept=BROWSER_ACCEPT)
    assert response.status_code == 400
    assert code(response) == "CSRF_PREVENTION"


def test_unparsable_content_type_counts_as_preflighted(production: Server) -> None:
    """A Content-Type that does not parse is one browsers preflight: not CSRF, only a 415."""
    response = post(production, {"query": TYPENAME}, content_type="json, please")
    assert response.status_code == 415
    assert code(response) == "UNSUPPORTED_MEDIA_TYPE"


def test_get_with_simple_content_type_and_preflight_header_runs(production: Server) -> None:
    """A required header proves a preflight even beside a simple Content-Type."""
    response = get(production, {"query": TYPENAME}, **{"Content-Type": "text/plain", **PREFLIGHT})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


# --- security headers -----------------------------------------------------------------------------


def test_security_headers_on_every_route(production: Server) -> None:
    """/graphql, /events, /healthz, /metrics and an unknown path all carry the headers; no HSTS
    unless configured."""
    responses = [
        post(production, {"query": TYPENAME}),
        get(production, {"query": TYPENAME}, **PREFLIGHT),
        httpx.post(f"{production.url}/events", content=b"[]", timeout=30),
        httpx.get(f"{production.url}/healthz", timeout=30),
        httpx.get(f"{production.url}/metrics", timeout=30),
        httpx.get(f"{production.url}/nowhere", timeout=30),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 200, 200, 404]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)
        assert "strict-transport-security" not in response.headers


def test_hsts_when_configured(short_timeout: Server) -> None:
    """VITRINE_HSTS_SECONDS adds Strict-Transport-Security with that max-age."""
    response = httpx.get(f"{short_timeout.url}/healthz", timeout=30)
    assert response.headers["strict-transport-security"] == "max-age=31536000"


# --- batching ---------------------------------------------------------------------------------


def test_batching_is_off_by_default(production: Server) -> None:
    """A JSON array is refused with 400 BATCHING_NOT_SUPPORTED when batching is off."""
    response = post(production, [{"query": TYPENAME}, {"query": TYPENAME}])
    assert response.status_code == 400
    assert errors(response) == [
        {
            "message": "send one operation per request",
            "extensions": {"code": "BATCHING_NOT_SUPPORTED"},
        }
    ]


def test_batch_up_to_the_cap_runs_each_operation(development: Server) -> None:
    """With a cap of 3, three operations run as if sent alone, answered as an array in order,
    each with its own errors."""
    response = post(
        development,
        [{"query": MUG}, {"query": MISSPELT}, {"query": MUTATION}],
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    first, second, third = response.json()
    assert first["data"] == {"product": {"title": "Mug"}}
    assert second == {
        "errors": [
            {
                "message": "Cannot query field 'produc' on type 'Query'. "
                "Did you mean 'product' or 'products'?",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }
    assert third["data"] == {"__typename": "Mutation"}


def test_batch_over_the_cap_is_refused(development: Server) -> None:
    """Four operations against a cap of 3 are refused whole: 400 BATCH_TOO_LARGE naming the cap."""
    response = post(development, [{"query": TYPENAME}] * 4)
    assert response.status_code == 400
    assert errors(response) == [
        {
            "message": "a batch holds at most 3 operations; this one has 4",
            "extensions": {"code": "BATCH_TOO_LARGE"},
        }
    ]


def test_empty_batch_is_refused(development: Server) -> None:
    """An empty array is a 400 BAD_REQUEST: there is nothing to run."""
    response = post(development, [])
    assert response.status_code == 400
    assert errors(response) == [
        {
            "message": "the batch is empty: send one operation or more",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]


def test_batch_member_errors_stay_in_their_member(development: Server) -> None:
    """A malformed member and a GET-only refusal do not spoil the others."""
    response = post(development, [{"query": 42}, {"query": TYPENAME}])
    assert response.status_code == 200
    assert response.json() == [
        {
            "errors": [
                {"message": "`query` must be a string", "extensions": {"code": "BAD_REQUEST"}}
            ]
        },
        {"data": {"__typename": "Query"}, "extensions": response.json()[1]["extensions"]},
    ]


# --- body and query-string limits ----------------------------------------------------------------


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """The status line and headers, and the body (by its Content-Length), of one response."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        received = sock.recv(65536)
        assert received, f"the connection closed after {answer!r}"
        answer += received
    head, _, body = answer.partition(b"\r\n\r\n")
    (length,) = re.findall(rb"(?im)^content-length: *(\d+)", head)
    while len(body) < int(length):
        received = sock.recv(65536)
        assert received, f"the connection closed after {answer!r}"
        body += received
    return head, body


def padded(size: int) -> bytes:
    """A valid request body of exactly `size` bytes (the padding is an ignored extension)."""
    frame = json.dumps({"query": TYPENAME, "extensions": {"pad": ""}}).encode()
    body = frame[:-3] + b"x" * (size - len(frame)) + frame[-3:]
    assert len(body) == size
    return body


def test_body_at_the_limit_runs_and_one_byte_more_is_413(production: Server) -> None:
    """At exactly VITRINE_MAX_BODY_BYTES (2 MB by default) the request runs; one byte more is 413."""
    response = post(production, padded(DEFAULT_MAX_BODY))
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    response = post(production, padded(DEFAULT_MAX_BODY + 1))
    assert response.status_code == 413
    assert errors(response) == [
        {
            "message": "the body is larger than 2000000 bytes, the most this server accepts",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }
    ]


def test_chunked_body_is_refused_once_past_the_limit(development: Server) -> None:
    """A chunked body (no Content-Length) gets its 413 as soon as it passes the limit: the
    server does not wait for the rest, which never comes here."""
    port = urlsplit(development.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Accept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 5000
        for _ in range(5):  # 25 000 bytes against a 20 000-byte limit, and no last chunk
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_declared_length_over_the_limit_is_refused_unread(development: Server) -> None:
    """A Content-Length over the limit is answered 413 before any of the body is sent."""
    port = urlsplit(development.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Accept: application/json\r\nContent-Length: 20001\r\n\r\n"
        )
        head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_long_query_string_is_414(development: Server) -> None:
    """A GET whose query string passes the limit is 414 URI_TOO_LONG, before parsing."""
    query = "{ __typename " + " " * 20_000 + "}"
    response = get(development, {"query": query}, **PREFLIGHT)
    assert response.status_code == 414
    assert code(response) == "URI_TOO_LONG"


def test_request_line_past_the_http_server_cap_is_a_bare_400(production: Server) -> None:
    """Past 64 KiB the HTTP server itself (uvicorn with httptools) refuses the request line with
    a plain 400 before Vitrine sees it: a limit below that is Vitrine's coded 414."""
    port = urlsplit(production.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /graphql?query=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 400 Bad Request")
    assert body == b"Invalid HTTP request received."


# --- request timeout ----------------------------------------------------------------------------


async def active_reads(dsn: str, marker: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vitrine-read'"
                " AND state = 'active' AND query LIKE $1",
                f"%{marker}%",
            )
        )
    finally:
        await connection.close()


async def test_timeout_answers_504_cancels_the_statement_and_keeps_serving(
    short_timeout: Server, module_world: str
) -> None:
    """While products are locked a query times out at 1 s with 504 REQUEST_TIMEOUT, its waiting
    statement is cancelled in PostgreSQL, and once the lock goes the server answers again."""
    dsn = asyncpg_dsn(module_world)
    holder = await asyncpg.connect(dsn)
    transaction = holder.transaction()
    await transaction.start()
    try:
        await holder.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{short_timeout.url}/graphql",
                json={"query": MUG},
                headers={"Accept": GRAPHQL_RESPONSE},
            )
        elapsed = time.monotonic() - started
        assert response.status_code == 504
        assert response.json() == {
            "errors": [
                {
                    "message": "the request took longer than 1 s and was stopped; try again",
                    "extensions": {"code": "REQUEST_TIMEOUT"},
                }
            ]
        }
        assert 1.0 <= elapsed < 3.0
        # Still holding the lock: the statement must not wait on it any longer.

        async def statement_gone() -> bool:
            return await active_reads(dsn, "FROM products") == 0

        await wait_until(statement_gone, within=2, what="the timed-out statement is cancelled")
    finally:
        await transaction.rollback()
        await holder.close()
    response = post(short_timeout, {"query": MUG})
    assert response.status_code == 200
    assert response.json()["data"] == {"product": {"title": "Mug"}}


async def test_events_timeout_answers_504_and_writes_nothing(
    short_timeout: Server, module_world: str
) -> None:
    """POST /events blocked on a locked event log is 504 REQUEST_TIMEOUT with nothing appended;
    once the lock goes the same events are accepted."""
    dsn = asyncpg_dsn(module_world)
    body = orjson.dumps([store_upserted("s7")])
    holder = await asyncpg.connect(dsn)
    transaction = holder.transaction()
    await transaction.start()
    try:
        head = await holder.fetchval("SELECT count(*) FROM event_log")
        await holder.execute("LOCK TABLE event_log IN ACCESS EXCLUSIVE MODE")
        response = await asyncio.to_thread(short_timeout.post_events, body)
        assert response.status_code == 504
        assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    finally:
        await transaction.rollback()
        await holder.close()
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT count(*) FROM event_log") == head
    finally:
        await admin.close()
    response = short_timeout.post_events(body)
    assert response.status_code == 202
