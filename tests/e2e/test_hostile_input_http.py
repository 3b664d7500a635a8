"""Hostile input against a real server on the demo world: generated operations, malformed requests.

One server (rate limits on, with quotas nobody reaches here, and Redis) answers
everything: thousands of operations generated from the served schema
(`hostile_operations`), sent anonymously and with customer, creator, admin and
service tokens, over GET and POST; then tables of malformed requests
(`hostile_cases`, `hostile_endpoint_cases`) to /graphql, /events and
/admin/persisted-queries, some as raw bytes. Every answer keeps the rules of
`hostile.check_answer` (never a 500, a code on every error, nothing of the
server's insides), and each has the exact status and codes its request calls for.

The generator is derandomized, so CI sends the same requests every run; set
VITRINE_HOSTILE_PROFILE=hostile-deep for ten times as many, freshly random.
Generated requests are sent by two threads while the next ones are generated
(the server works while the generator does): a failure is reported with the
whole request, not shrunk.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from infra.auth import mint_token
from infra.database import asyncpg_dsn
from readmodels.demo import SCALES
from schema.build import build_schema
from tests.e2e.hostile import FIELD_CODES, NOT_HTTP, Answer, check_answer, raw_exchange
from tests.e2e.hostile_cases import (
    CONTENT_TYPES,
    GETS,
    GRAPHQL_BODIES,
    HEADERS,
    MODERN_TYPE,
    Case,
    case_params,
)
from tests.e2e.hostile_endpoint_cases import ADMIN, EVENTS_SIGNED, EVENTS_UNSIGNED, METHODS, RAW
from tests.e2e.hostile_operations import (
    INSIGHTS_QUERY,
    MODERN,
    WORLD_QUERY,
    Expect,
    HostileRequest,
    World,
    hostile_requests,
    world_of,
)
from tests.e2e.server import Server, running_server, signed_headers
from tests.e2e.worlds import seeded_demo

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SECRET = "hostile-e2e-jwt-secret-of-32-bytes-or-more"
ADMIN_TOKEN = "hostile-e2e-admin-token"
GENEROUS = "1000000/minute"
SCHEMA = build_schema()._schema
# Codes that refuse a whole operation for its size or shape, before it runs.
LIMIT_CODES = frozenset(
    {
        "COST_LIMIT_EXCEEDED",
        "MAX_DEPTH_LIMIT",
        "MAX_ALIASES_LIMIT",
        "MAX_ROOT_FIELDS_LIMIT",
        "MAX_DIRECTIVES_LIMIT",
        "MAX_TOKENS_LIMIT",
    }
)

settings.register_profile(
    "hostile-ci",
    max_examples=2000,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "hostile-deep",
    parent=settings.get_profile("hostile-ci"),
    max_examples=20_000,
    derandomize=False,
)
PROFILE = settings.get_profile(os.environ.get("VITRINE_HOSTILE_PROFILE", "hostile-ci"))


@pytest.fixture(scope="module")
async def demo_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    """The small demo world, seeded through the ingest path and projected."""
    async with seeded_demo(server_url, template_url, NOW) as url:
        yield url


@pytest.fixture(scope="module")
def server(
    demo_database: str, redis_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server for the module: Redis, rate limits on (and out of reach) behind a trusted
    proxy at 127.0.0.1, an admin key."""
    quotas = {
        f"rate_limit_{policy}{scope}": GENEROUS
        for policy in ("reads", "writes", "explain", "events")
        for scope in ("", "_per_ip")
    }
    with running_server(
        demo_database,
        tmp_path_factory.mktemp("hostile"),
        jwt_secret=SECRET,
        admin_token=ADMIN_TOKEN,
        redis_url=redis_server_url,
        rate_limits="on",
        trusted_proxies="127.0.0.1/32",  # so X-Forwarded-For reaches its parser
        **quotas,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    """A bearer token per identity the generated requests are sent as."""

    def token(sub: str, role: str, creator_id: str | None = None) -> str:
        return mint_token(SECRET, sub=sub, roles=[role], creator_id=creator_id, ttl_seconds=3600)

    return {
        "customer": token("u-1", "CUSTOMER"),
        "creator": token("u-2", "CREATOR", "cr-1"),
        "admin": token("u-3", "ADMIN"),
        "service": token("svc-1", "SERVICE"),
    }


@pytest.fixture(scope="module")
def world(server: Server, tokens: dict[str, str]) -> World:
    """The ids, slugs and cursors the demo world serves (a creator sees their insights)."""
    answers = []
    creator = {"authorization": f"Bearer {tokens['creator']}"}
    for query, headers in ((WORLD_QUERY, {}), (INSIGHTS_QUERY, creator)):
        response = httpx.post(
            f"{server.url}/graphql", json={"query": query}, headers=headers, timeout=30
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.json()
        answers.append(response.json()["data"])
    found = world_of(*answers)
    assert len(found.ids) > 50
    assert len(found.cursors) > 20
    assert len(found.strings) > 20
    return found


# -- generated operations ------------------------------------------------------------------------


class Exchange:
    """Sends a generated request (one HTTP client per thread) and judges its answer."""

    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self._url = f"{url}/graphql"
        self._tokens = tokens
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=60)
            with self._lock:
                self._clients.append(client)
        return client

    def __call__(self, request: HostileRequest) -> str:
        headers = {"accept": request.accept}
        if request.identity != "anonymous":
            headers["authorization"] = f"Bearer {self._tokens[request.identity]}"
        if request.method == "GET":
            headers["apollo-require-preflight"] = "true"
            response = self._client().get(self._url, params=request.params(), headers=headers)
        else:
            headers["content-type"] = "application/json"
            response = self._client().post(self._url, content=request.body(), headers=headers)
        answer = Answer.of(response)
        check_answer(answer, request.body())
        return judge(request, answer)

    def close(self) -> None:
        for client in self._clients:
            client.close()


def judge(request: HostileRequest, answer: Answer) -> str:
    """The outcome of a generated request, asserted to be the one its shape calls for
    (or a refusal by the operation limits, which may catch any document)."""
    body = answer.json()
    refused = 400 if request.accept == MODERN else 200
    codes = [error["extensions"]["code"] for error in body.get("errors", ())]
    if codes and set(codes) <= LIMIT_CODES and "data" not in body:
        assert answer.status == refused, (answer.status, body)
        return "limited"
    if request.expect is Expect.EXECUTED:
        assert answer.status == 200, (answer.status, body)
        assert "data" in body, body
        for error in body.get("errors", ()):
            assert "path" in error, error  # a field error: the operation ran
            assert error["extensions"]["code"] in FIELD_CODES, error
        return "executed"
    if request.expect is Expect.METHOD_NOT_ALLOWED:
        assert answer.status == 405, (answer.status, body)
        assert codes == ["METHOD_NOT_ALLOWED"], body
        assert answer.headers["allow"] == "POST"
        return "method not allowed"
    assert answer.status == refused, (answer.status, body)
    assert "data" not in body, body
    assert set(codes) == {request.expect.value}, (request.expect, body)
    return request.expect.value


@pytest.mark.timeout(max(300, PROFILE.max_examples // 10))  # the deep profile takes a while
def test_generated_operations_get_the_answers_their_shape_calls_for(
    server: Server, tokens: dict[str, str], world: World
) -> None:
    """Operations generated over the whole schema (valid and not, hostile values, every
    identity, GET and POST) each get the exact kind of answer they call for, never a 500."""
    sent: list[tuple[HostileRequest, Future[str]]] = []
    exchange = Exchange(server.url, tokens)
    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="hostile") as pool:

            @PROFILE
            @given(request=hostile_requests(SCHEMA, world))
            def generate(request: HostileRequest) -> None:
                sent.append((request, pool.submit(exchange, request)))

            generate()
    finally:
        exchange.close()
    failures = [(request, future.exception()) for request, future in sent if future.exception()]
    assert not failures, _report(failures)
    outcomes = Counter(future.result() for _, future in sent)
    assert len(sent) >= PROFILE.max_examples
    # The generator still reaches the resolvers (a schema change could starve it).
    assert outcomes["executed"] >= len(sent) // 4, outcomes
    assert outcomes["GRAPHQL_VALIDATION_FAILED"] >= len(sent) // 20, outcomes
    assert outcomes["BAD_USER_INPUT"] >= 1, outcomes


def _report(failures: list[tuple[HostileRequest, BaseException | None]]) -> str:
    lines = [f"{len(failures)} generated requests got the wrong answer; the first ones:"]
    for request, error in failures[:5]:
        lines.append(f"--- {request!r}\n    {error!r}"[:4000])
    return "\n".join(lines)


# -- malformed requests ----------------------------------------------------------------------------


def send(server: Server, case: Case, **extra: str) -> Answer:
    """The case's request (in the modern media type unless it says otherwise: httpx would
    send `Accept: */*`, which gets the legacy one)."""
    headers: dict[str, Any] = {"accept": MODERN_TYPE, **case.headers, **extra}
    if case.signed:
        headers.update(
            signed_headers(server.token, server.signing_secret, "POST", "/events", case.body)
        )
    response = httpx.request(
        case.method,
        f"{server.url}{case.target}",
        content=case.body or None,
        headers=headers,
        timeout=30,
    )
    return Answer.of(response)


def assert_answer(answer: Answer, case: Case, sent: bytes) -> None:
    check_answer(answer, sent, head=case.method == "HEAD")
    body = answer.json()
    assert answer.status == case.status, (answer.status, body)
    if case.codes:
        assert tuple(e["extensions"]["code"] for e in body["errors"]) == case.codes, body
        assert "data" not in body, body
    else:
        assert "errors" not in body, body
        assert body["data"] == case.data, body


@pytest.mark.parametrize("case", case_params(GRAPHQL_BODIES))
def test_malformed_graphql_bodies_get_exact_refusals(server: Server, case: Case) -> None:
    """A POST body of the wrong shape, not JSON, not UTF-8 or of megabytes gets its exact
    status and code; one that is well-formed after all runs."""
    assert_answer(send(server, case), case, case.body)


@pytest.mark.parametrize("case", case_params(CONTENT_TYPES))
def test_content_types_and_charsets_are_checked(server: Server, case: Case) -> None:
    """Only JSON in UTF-8 is read, whatever the spelling; simple types are CSRF-blocked first."""
    assert_answer(send(server, case), case, case.body)


@pytest.mark.parametrize("case", case_params(HEADERS))
def test_garbled_headers_get_exact_refusals(server: Server, case: Case) -> None:
    """Garbage in Authorization (401), Vitrine-Min-Position (400) and Accept (406) is refused
    with a code; a garbled client name is only ignored."""
    sent = b" ".join(str(v).encode() for v in case.headers.values())
    assert_answer(send(server, case), case, case.body + sent)


@pytest.mark.parametrize("case", case_params(GETS))
def test_odd_get_query_strings_get_exact_answers(server: Server, case: Case) -> None:
    """GET parameters that are not UTF-8, not JSON, repeated or missing get exact answers."""
    assert_answer(send(server, case), case, case.target.encode())


@pytest.mark.parametrize("case", case_params(METHODS))
def test_other_methods_and_paths_are_coded_refusals(server: Server, case: Case) -> None:
    """Every endpoint refuses a method it does not take with a coded 405 (Allow says which it
    takes), and a path nobody serves is a coded 404, in JSON like every other answer."""
    answer = send(server, case)
    assert_answer(answer, case, case.body)
    if case.status == 405:
        assert answer.headers["allow"]


def test_head_is_refused_without_a_body(server: Server) -> None:
    """HEAD /graphql is a 405 that names GET and POST, and carries no body."""
    answer = Answer.of(httpx.head(f"{server.url}/graphql", timeout=30))
    check_answer(answer, head=True)
    assert (answer.status, answer.body, answer.headers["allow"]) == (405, b"", "GET, POST")


@pytest.mark.parametrize("case", case_params(EVENTS_UNSIGNED))
def test_events_without_the_service_key_are_401(server: Server, case: Case) -> None:
    """Without the service key, correctly signed, POST /events is a 401 whatever the body."""
    assert_answer(send(server, case), case, case.body)


@pytest.mark.parametrize("case", case_params(EVENTS_SIGNED))
async def test_malformed_events_are_refused_whole(
    server: Server, demo_database: str, case: Case
) -> None:
    """Signed with the service key, a body that is no batch of valid events is refused with
    its codes, and nothing is appended."""
    before = await _events_in_log(demo_database)
    assert_answer(send(server, case), case, case.body)
    assert await _events_in_log(demo_database) == before


@pytest.mark.parametrize("case", case_params(ADMIN))
def test_admin_refuses_what_it_cannot_store(server: Server, case: Case) -> None:
    """The admin endpoint refuses a missing key (401), control characters in a client or an
    id (400, never a 500 from the database), and manifests that do not parse."""
    answer = send(server, case, **_admin_key(case))
    assert_answer(answer, case, case.body + case.target.encode())


@pytest.mark.parametrize(
    ("raw", "status", "codes"), [pytest.param(*value, id=name) for name, value in RAW.items()]
)
def test_raw_bytes_get_refused_by_the_parser_or_answered(
    server: Server, raw: bytes, status: int, codes: tuple[str, ...]
) -> None:
    """Bytes that are not HTTP are refused by uvicorn's parser with its fixed 400 before any
    of our code runs; the rest reach the app and get its exact answer."""
    answer = raw_exchange(server.url, raw)
    check_answer(answer, raw)
    if status == 0:
        assert (answer.status, answer.body) == NOT_HTTP
        return
    body = answer.json()
    assert answer.status == status, (answer.status, body)
    if codes:
        assert tuple(e["extensions"]["code"] for e in body["errors"]) == codes, body
    else:
        assert body["data"] == {"__typename": "Query"}, body


def test_signed_tokens_naming_what_cannot_exist_are_refused(server: Server) -> None:
    """A correctly signed token whose subject holds a NUL is a 401; one whose creator id does
    gets a coded field error on the dashboard, never a 500 from the database."""
    nul_subject = mint_token(SECRET, sub="u\x001", roles=["CUSTOMER"], ttl_seconds=600)
    nul_creator = mint_token(
        SECRET, sub="u-2", roles=["CREATOR"], creator_id="cr\x001", ttl_seconds=600
    )
    answers = [
        Answer.of(
            httpx.post(
                f"{server.url}/graphql",
                json={"query": "{ viewer { id } creatorDashboard { creator { id } } }"},
                headers={"accept": MODERN_TYPE, "authorization": f"Bearer {token}"},
                timeout=30,
            )
        )
        for token in (nul_subject, nul_creator)
    ]
    for answer in answers:
        check_answer(answer)
    refused, dashboard = (answer.json() for answer in answers)
    assert answers[0].status == 401
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert answers[1].status == 200
    assert dashboard["data"]["creatorDashboard"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in dashboard["errors"]] == [
        (["creatorDashboard"], "BAD_USER_INPUT")
    ]


def test_the_server_still_answers_after_all_that(server: Server) -> None:
    """After every hostile request above, a plain query still runs, in the modern media type."""
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": '{ product(slug: "nope") { id } categories { slug } }'},
        headers={"accept": MODERN_TYPE},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{MODERN_TYPE}; charset=utf-8"
    body = response.json()
    assert body["data"]["product"] is None
    assert len(body["data"]["categories"]) == SCALES["small"].category_roots


def _admin_key(case: Case) -> dict[str, str]:
    """The admin key, unless the case brings its own Authorization or tests its absence."""
    if "authorization" in case.headers or case.codes == ("UNAUTHENTICATED",):
        return {}
    return {"authorization": f"Bearer {ADMIN_TOKEN}"}


async def _events_in_log(database_url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM event_log"))
    finally:
        await connection.close()
