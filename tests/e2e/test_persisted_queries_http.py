"""Persisted queries over real HTTP: APQ, trusted-document manifests, safelist modes, Apollo Client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from persisted_queries.hashing import sha256_hex
from tests.conftest import CONTRACT
from tests.e2e.events import ana_mug_store
from tests.e2e.server import Server, running_server
from tests.e2e.worlds import project_events

pytestmark = pytest.mark.e2e

ADMIN_TOKEN = "e2e-admin-token"
NO_CACHE = "private, no-cache, must-revalidate"
PRODUCT_PAGE_PATH = CONTRACT / "operations" / "ProductPage.graphql"
PRODUCT_PAGE = PRODUCT_PAGE_PATH.read_text()
TITLE = "query MugTitle($slug: String!) { product(slug: $slug) { title } }"
TITLE_AS_THE_APP_WROTE_IT = "# copied from the app\nquery MugTitle($slug: String!) {\n  product(slug: $slug) {\n    title\n  }\n}\n"
PRICE = 'query MugPrice { product(slug: "mug") { price { final { amount } } } }'
MUG = {"slug": "mug"}
TITLE_DATA = {"product": {"title": "Mug"}}
NODE_DIR = Path(__file__).parent / "node"


def apollo_manifest(*operations: tuple[str, str]) -> dict[str, Any]:
    """Apollo's manifest format, ids being the SHA-256 of each body (as the generator makes them)."""
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256_hex(body), "name": name, "type": "query", "body": body}
            for name, body in operations
        ],
    }


def post(server: Server, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{server.url}/graphql", json=body, headers=headers, timeout=30)


def get(server: Server, params: dict[str, Any], **headers: str) -> httpx.Response:
    encoded = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in params.items()}
    return httpx.get(
        f"{server.url}/graphql",
        params=encoded,
        headers={"apollo-require-preflight": "true", **headers},
        timeout=30,
    )


def apq(sha: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha}}


def admin(server: Server, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", {"Authorization": f"Bearer {ADMIN_TOKEN}"})
    return httpx.request(
        method, f"{server.url}/admin/persisted-queries{path}", headers=headers, timeout=30, **kwargs
    )


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def data(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    return body["data"]


def vitrine(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VITRINE_DATABASE_URL": database_url, "VITRINE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def listed_names(database_url: str, data_dir: Path) -> list[str]:
    listed = vitrine(database_url, data_dir, "pq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [orjson.loads(line)["name"] for line in listed.stdout.splitlines()]


@pytest.fixture
async def world(database_url: str) -> str:
    """A database with one creator's store selling one priced, listed mug, projected."""
    await project_events(database_url, ana_mug_store("4.00"))
    return database_url


def test_apq_miss_is_200_persisted_query_not_found_and_never_cached(
    world: str, tmp_path: Path
) -> None:
    """An unknown hash without a query is 200 PersistedQueryNotFound with Cache-Control: private, no-cache."""
    with running_server(world, tmp_path) as server:
        response = post(server, {"extensions": apq(sha256_hex(TITLE)), "variables": MUG})
        assert response.status_code == 200
        assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert code(response) == "PERSISTED_QUERY_NOT_FOUND"
        assert response.headers["cache-control"] == NO_CACHE
        over_get = get(server, {"extensions": apq(sha256_hex(TITLE)), "variables": MUG})
        assert (over_get.status_code, code(over_get)) == (200, "PERSISTED_QUERY_NOT_FOUND")
        assert over_get.headers["cache-control"] == NO_CACHE


def test_apq_registers_then_serves_the_hash_over_post_and_get(world: str, tmp_path: Path) -> None:
    """Hash + query registers and runs; afterwards the hash alone runs over POST and GET."""
    sha = sha256_hex(TITLE)
    with running_server(world, tmp_path) as server:
        assert (
            data(post(server, {"query": TITLE, "variables": MUG, "extensions": apq(sha)}))
            == TITLE_DATA
        )
        assert data(post(server, {"variables": MUG, "extensions": apq(sha)})) == TITLE_DATA
        hit = get(server, {"operationName": "MugTitle", "variables": MUG, "extensions": apq(sha)})
        assert data(hit) == TITLE_DATA


def test_apq_hash_mismatch_is_400_and_stores_nothing(world: str, tmp_path: Path) -> None:
    """A hash that is not the query's SHA-256 is 400 PERSISTED_QUERY_HASH_MISMATCH; that hash stays unknown."""
    wrong = sha256_hex(PRICE)
    with running_server(world, tmp_path) as server:
        response = post(server, {"query": TITLE, "variables": MUG, "extensions": apq(wrong)})
        assert (response.status_code, code(response)) == (400, "PERSISTED_QUERY_HASH_MISMATCH")
        assert response.json()["errors"][0]["message"] == "provided sha does not match query"
        assert code(post(server, {"extensions": apq(wrong)})) == "PERSISTED_QUERY_NOT_FOUND"


def test_apq_version_2_is_400(world: str, tmp_path: Path) -> None:
    """Only version 1 of the APQ extension exists: version 2 is 400."""
    with running_server(world, tmp_path) as server:
        response = post(
            server, {"query": TITLE, "variables": MUG, "extensions": apq(sha256_hex(TITLE), 2)}
        )
        assert (response.status_code, code(response)) == (
            400,
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
        )


def test_apq_disabled_answers_not_supported(world: str, tmp_path: Path) -> None:
    """With VITRINE_APQ_ENABLED=false a hash is 200 PERSISTED_QUERY_NOT_SUPPORTED; plain text still runs."""
    with running_server(world, tmp_path, apq_enabled="false") as server:
        response = post(
            server, {"query": TITLE, "variables": MUG, "extensions": apq(sha256_hex(TITLE))}
        )
        assert response.status_code == 200
        assert response.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
        assert code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
        assert response.headers["cache-control"] == NO_CACHE
        assert data(post(server, {"query": TITLE, "variables": MUG})) == TITLE_DATA


def test_replicas_share_registrations_through_redis(
    world: str, tmp_path: Path, redis_url: str
) -> None:
    """A hash registered on one replica runs on another (PostgreSQL and Redis behind both)."""
    sha = sha256_hex(TITLE)
    with (
        running_server(world, tmp_path, redis_url=redis_url) as first,
        running_server(world, tmp_path, redis_url=redis_url) as second,
    ):
        assert (
            data(post(first, {"query": TITLE, "variables": MUG, "extensions": apq(sha)}))
            == TITLE_DATA
        )
        assert data(get(second, {"variables": MUG, "extensions": apq(sha)})) == TITLE_DATA


def test_a_redis_outage_never_turns_into_errors(world: str, tmp_path: Path) -> None:
    """With VITRINE_REDIS_URL pointing where nothing listens, APQ misses, registers and hits as usual."""
    sha = sha256_hex(TITLE)
    with running_server(world, tmp_path, redis_url="redis://127.0.0.1:1/0") as server:
        assert (
            code(post(server, {"variables": MUG, "extensions": apq(sha)}))
            == "PERSISTED_QUERY_NOT_FOUND"
        )
        assert (
            data(post(server, {"query": TITLE, "variables": MUG, "extensions": apq(sha)}))
            == TITLE_DATA
        )
        assert data(get(server, {"variables": MUG, "extensions": apq(sha)})) == TITLE_DATA


def test_manifest_pushed_with_the_cli_serves_document_ids(world: str, tmp_path: Path) -> None:
    """`vitrine pq push` registers Apollo's manifest; `documentId` runs it over POST and GET; unknown ids are 404."""
    path = tmp_path / "persisted-query-manifest.json"
    path.write_bytes(
        orjson.dumps(apollo_manifest(("ProductPage", PRODUCT_PAGE), ("MugTitle", TITLE)))
    )
    pushed = vitrine(world, tmp_path, "pq", "push", str(path))
    assert pushed.returncode == 0, pushed.stderr
    assert (
        "Registered 2 operations from persisted-query-manifest.json in the shared list"
        " (2 new, 0 already registered)."
    ) in pushed.stderr
    assert "2 operations run on compiled plans." in pushed.stderr
    again = vitrine(world, tmp_path, "pq", "push", str(path))
    assert "(0 new, 2 already registered)" in again.stderr
    assert listed_names(world, tmp_path) == ["MugTitle", "ProductPage"]
    with running_server(world, tmp_path) as server:
        page = data(
            post(server, {"documentId": f"sha256:{sha256_hex(PRODUCT_PAGE)}", "variables": MUG})
        )
        assert page["product"]["title"] == "Mug"
        title = get(server, {"documentId": f"sha256:{sha256_hex(TITLE)}", "variables": MUG})
        assert data(title) == TITLE_DATA
        unknown = post(server, {"documentId": f"sha256:{sha256_hex(PRICE)}"})
        assert (unknown.status_code, code(unknown)) == (404, "PERSISTED_QUERY_NOT_IN_LIST")
        malformed = get(server, {"documentId": "sha256:NOT-HEX"})
        assert (malformed.status_code, code(malformed)) == (400, "INVALID_DOCUMENT_ID")
    removed = vitrine(world, tmp_path, "pq", "remove", sha256_hex(TITLE))
    assert removed.returncode == 0, removed.stderr
    assert listed_names(world, tmp_path) == ["ProductPage"]
    missing = vitrine(world, tmp_path, "pq", "remove", sha256_hex(TITLE))
    assert missing.returncode == 1
    assert "no document" in missing.stderr


def test_cli_refuses_an_invalid_manifest_naming_the_operation(world: str, tmp_path: Path) -> None:
    """One operation that does not validate refuses the whole push, naming it; nothing is stored."""
    broken = 'query Broken { product(slug: "mug") { nope } }'
    path = tmp_path / "manifest.json"
    path.write_bytes(orjson.dumps(apollo_manifest(("MugTitle", TITLE), ("Broken", broken))))
    pushed = vitrine(world, tmp_path, "pq", "push", str(path))
    assert pushed.returncode == 1
    assert f"operation Broken (id {sha256_hex(broken)}): does not validate" in pushed.stderr
    assert "nothing registered" in pushed.stderr
    assert listed_names(world, tmp_path) == []


def test_admin_endpoint_pushes_lists_and_removes(world: str, tmp_path: Path) -> None:
    """The admin endpoint takes a Relay/Codegen map (201), names bad operations (400), lists and removes by id."""
    with running_server(world, tmp_path, admin_token=ADMIN_TOKEN) as server:
        anonymous = admin(server, "POST", json={"title-v1": TITLE}, headers={})
        assert (anonymous.status_code, code(anonymous)) == (401, "UNAUTHENTICATED")
        pushed = admin(server, "POST", json={"title-v1": TITLE, "price-v1": PRICE})
        assert (pushed.status_code, pushed.json()) == (
            201,
            {
                "count": 2,
                "added": 2,
                "client": "",
                "plans": {"compiled": 2, "fallbacks": []},
            },
        )
        introspecting = admin(
            server, "POST", json={"schema-v1": "query Types { __schema { queryType { name } } }"}
        )
        assert introspecting.json()["plans"] == {
            "compiled": 0,
            "fallbacks": [
                {"operation": "Types", "reason": "introspection runs on the reference executor"}
            ],
        }
        assert admin(server, "DELETE", "/schema-v1").status_code == 200
        bad = admin(server, "POST", json={"broken-v1": "query Broken { nope }"})
        assert (bad.status_code, code(bad)) == (400, "INVALID_MANIFEST")
        assert bad.json()["errors"][0]["extensions"] == {
            "code": "INVALID_MANIFEST",
            "operation": "Broken",
            "id": "broken-v1",
        }
        assert bad.json()["errors"][0]["message"].startswith(
            "operation Broken (id broken-v1): does not validate"
        )
        listed = admin(server, "GET").json()["documents"]
        assert sorted((d["id"], d["name"], d["type"]) for d in listed) == [
            ("price-v1", "MugPrice", "query"),
            ("title-v1", "MugTitle", "query"),
        ]
        assert data(get(server, {"documentId": "title-v1", "variables": MUG})) == TITLE_DATA
        assert admin(server, "DELETE", "/title-v1").status_code == 200
        assert code(admin(server, "DELETE", "/title-v1")) == "NOT_FOUND"
        gone = get(server, {"documentId": "title-v1", "variables": MUG})
        assert (gone.status_code, code(gone)) == (404, "PERSISTED_QUERY_NOT_IN_LIST")


def test_admin_endpoint_refuses_control_characters_before_the_database(
    world: str, tmp_path: Path
) -> None:
    """A NUL in `?client=` or in the id to remove is a 400 naming the parameter, not a 500
    from PostgreSQL (which cannot store one); nothing is pushed."""
    with running_server(world, tmp_path, admin_token=ADMIN_TOKEN) as server:
        for method, path, body in (
            ("GET", "?client=%00", None),
            ("POST", "?client=a%00b", {"title-v1": TITLE}),
            ("DELETE", "/title-v1?client=%00", None),
        ):
            refused = admin(server, method, path, json=body)
            assert (refused.status_code, refused.json()["errors"][0]) == (
                400,
                {
                    "message": "`client` must not hold control characters",
                    "extensions": {"code": "BAD_REQUEST"},
                },
            )
        removed = admin(server, "DELETE", "/title%00-v1")
        assert (removed.status_code, code(removed)) == (400, "INVALID_DOCUMENT_ID")
        assert admin(server, "GET").json()["documents"] == []


def test_admin_endpoint_is_off_without_a_token(world: str, tmp_path: Path) -> None:
    """Without VITRINE_ADMIN_TOKEN the admin endpoint refuses everything with 403 ADMIN_DISABLED."""
    with running_server(world, tmp_path) as server:
        response = admin(
            server, "POST", json={"title-v1": TITLE}, headers={"Authorization": "Bearer x"}
        )
        assert (response.status_code, code(response)) == (403, "ADMIN_DISABLED")
        assert "VITRINE_ADMIN_TOKEN" in response.json()["errors"][0]["message"]


def test_safelist_mode_serves_listed_text_only(world: str, tmp_path: Path) -> None:
    """In safelist mode, listed text runs even reformatted; other text, APQ registrations included, is 403."""
    with running_server(
        world, tmp_path, admin_token=ADMIN_TOKEN, safelist_mode="safelist"
    ) as server:
        assert admin(server, "POST", json=apollo_manifest(("MugTitle", TITLE))).status_code == 201
        assert (
            data(post(server, {"query": TITLE_AS_THE_APP_WROTE_IT, "variables": MUG})) == TITLE_DATA
        )
        refused = post(server, {"query": PRICE})
        assert (refused.status_code, code(refused)) == (403, "QUERY_NOT_IN_SAFELIST")
        registering = post(server, {"query": PRICE, "extensions": apq(sha256_hex(PRICE))})
        assert (registering.status_code, code(registering)) == (403, "QUERY_NOT_IN_SAFELIST")
        unlisted_hash = post(server, {"extensions": apq(sha256_hex(PRICE))})
        assert (unlisted_hash.status_code, code(unlisted_hash)) == (
            404,
            "PERSISTED_QUERY_NOT_IN_LIST",
        )
        assert (
            data(get(server, {"variables": MUG, "extensions": apq(sha256_hex(TITLE))}))
            == TITLE_DATA
        )


def test_require_id_mode_refuses_all_text(world: str, tmp_path: Path) -> None:
    """In require_id mode any text is 400 PERSISTED_QUERY_ID_REQUIRED; registered ids run; unknown ids are 404."""
    with running_server(
        world, tmp_path, admin_token=ADMIN_TOKEN, safelist_mode="require_id"
    ) as server:
        assert admin(server, "POST", json={"title-v1": TITLE}).status_code == 201
        text = post(server, {"query": TITLE, "variables": MUG})
        assert (text.status_code, code(text)) == (400, "PERSISTED_QUERY_ID_REQUIRED")
        assert data(post(server, {"documentId": "title-v1", "variables": MUG})) == TITLE_DATA
        unknown = post(server, {"documentId": "title-v2", "variables": MUG})
        assert (unknown.status_code, code(unknown)) == (404, "PERSISTED_QUERY_NOT_IN_LIST")


def test_log_unknown_mode_serves_everything_and_counts_unlisted_operations(
    world: str, tmp_path: Path
) -> None:
    """In log_unknown mode unlisted text runs, and is counted by name and logged once; listed text is not."""
    with running_server(
        world, tmp_path, admin_token=ADMIN_TOKEN, safelist_mode="log_unknown"
    ) as server:
        assert admin(server, "POST", json={"title-v1": TITLE}).status_code == 201
        for _ in range(2):
            assert (
                data(post(server, {"query": PRICE}))["product"]["price"]["final"]["amount"]
                == "4.00"
            )
        assert (
            data(post(server, {"query": TITLE_AS_THE_APP_WROTE_IT, "variables": MUG})) == TITLE_DATA
        )
        counts = admin(server, "GET", "/unknown").json()
        assert counts == {"total": 2, "operations": {"MugPrice": 2}}
        port = server.url.rsplit(":", 1)[1]
        log = (tmp_path / f"server-{port}.log").read_text()
        assert log.count("operation 'MugPrice' (client '') is not in the safelist") == 1


def test_client_lists_follow_the_client_name_header(world: str, tmp_path: Path) -> None:
    """A list pushed for `apollographql-client-name: ios` serves ios only; other clients get 404 and 403."""
    with running_server(
        world, tmp_path, admin_token=ADMIN_TOKEN, safelist_mode="safelist"
    ) as server:
        pushed = admin(server, "POST", params={"client": "ios"}, json={"ios-title-1": TITLE})
        assert pushed.json() == {
            "count": 1,
            "added": 1,
            "client": "ios",
            "plans": {"compiled": 1, "fallbacks": []},
        }
        ios = {"apollographql-client-name": "ios"}
        android = {"apollographql-client-name": "android"}
        assert (
            data(post(server, {"documentId": "ios-title-1", "variables": MUG}, **ios)) == TITLE_DATA
        )
        assert (
            data(post(server, {"query": TITLE_AS_THE_APP_WROTE_IT, "variables": MUG}, **ios))
            == TITLE_DATA
        )
        other = post(server, {"documentId": "ios-title-1", "variables": MUG}, **android)
        assert (other.status_code, code(other)) == (404, "PERSISTED_QUERY_NOT_IN_LIST")
        text = post(server, {"query": TITLE, "variables": MUG}, **android)
        assert (text.status_code, code(text)) == (403, "QUERY_NOT_IN_SAFELIST")


@pytest.fixture
def node() -> str:
    """Node with the pinned Apollo Client installed (`npm ci` on first use); skipped
    without node and npm, unless VITRINE_TEST_REQUIRE_NODE=1 (CI), where that fails."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "node and npm are needed for the Apollo Client test"
        if os.environ.get("VITRINE_TEST_REQUIRE_NODE") == "1":
            pytest.fail(message + " (VITRINE_TEST_REQUIRE_NODE=1)")
        pytest.skip(message)
    if not (NODE_DIR / "node_modules").exists():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if installed.returncode != 0:
            pytest.fail(f"npm ci failed in {NODE_DIR}:\n{installed.stdout}\n{installed.stderr}")
    return node


def test_apollo_client_fetches_product_page_through_apq_over_get(
    node: str, world: str, tmp_path: Path
) -> None:
    """An unmodified Apollo Client with its persisted-queries link (GET for hashed queries) runs ProductPage: GET miss, POST registration, GET hit."""
    with running_server(world, tmp_path) as server:
        run = subprocess.run(
            [node, "apq_product_page.mjs", f"{server.url}/graphql", str(PRODUCT_PAGE_PATH), "mug"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    result = orjson.loads(run.stdout)
    assert result["first"]["product"]["title"] == "Mug"
    assert result["first"]["product"]["price"]["final"] == {
        "__typename": "Money",
        "amount": "4.00",
        "currencyCode": "EUR",
    }
    assert result["second"] == result["first"]
    miss, registration, hit = result["exchanges"]
    assert (miss["method"], miss["status"], miss["cacheControl"]) == ("GET", 200, NO_CACHE)
    assert miss["body"]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "query=" not in miss["url"]
    assert (registration["method"], registration["status"]) == ("POST", 200)
    sent = orjson.loads(registration["requestBody"])
    assert sent["extensions"]["persistedQuery"]["sha256Hash"] == sha256_hex(sent["query"])
    assert (hit["method"], hit["status"]) == ("GET", 200)
    assert "query=" not in hit["url"]
    assert hit["body"]["data"]["product"]["title"] == "Mug"
