"""Service API keys and signed requests over real HTTP: /events and /admin against a real
server, real PostgreSQL and real Redis."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from infra.api_key_wiring import NONCE_TTL_SECONDS
from infra.api_keys.store import ApiKeyStore, CreatedKey
from infra.database import create_engine
from tests.e2e.cache_support import wait_for
from tests.e2e.events import mug_store
from tests.e2e.server import Server, free_port, running_server, signed_headers

pytestmark = pytest.mark.e2e

ADMIN_PATH = "/admin/persisted-queries"
UNAUTHENTICATED = {
    "errors": [
        {
            "message": "authentication failed: send `Authorization: Bearer <API key>` and, where "
            "the key or the endpoint requires it, a valid request signature "
            "(see docs/security.md)",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
}
WRONG_SECRET = "vsig_not-the-secret-of-this-key-0123456789abc"


async def create_key(
    database_url: str, name: str, *scopes: str, signing: bool = True
) -> CreatedKey:
    engine = create_engine(database_url)
    try:
        return await ApiKeyStore(engine).create(name, scopes, signing=signing)
    finally:
        await engine.dispose()


async def stored_events(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM event_log"))).scalar_one())
    finally:
        await engine.dispose()


def post(
    server: Server, headers: dict[str, str], body: bytes, target: str = "/events"
) -> httpx.Response:
    return httpx.post(
        f"{server.url}{target}",
        content=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def get(server: Server, target: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{server.url}{target}", headers=headers, timeout=30)


def send_events(server: Server, key: str, secret: str, body: bytes | None = None) -> int:
    """The status of a correctly signed POST /events with fresh events."""
    body = orjson.dumps(mug_store()) if body is None else body
    return post(server, signed_headers(key, secret, "POST", "/events", body), body).status_code


def at_second_start() -> int:
    """The current second, once little of it has passed, so that a request sent at once
    reaches the server within the same second (the window is counted in whole seconds)."""
    wait_for(lambda: time.time() % 1 < 0.2, within=2, what="a second begins")
    return int(time.time())


@pytest.fixture
def server(database_url: str, tmp_path: Path, redis_url: str) -> Iterator[Server]:
    """A server on Redis that re-reads API keys on every request (no per-process cache)."""
    with running_server(
        database_url, tmp_path, redis_url=redis_url, api_key_cache_seconds="0"
    ) as server:
        yield server


async def test_a_signed_request_is_accepted(server: Server, database_url: str) -> None:
    """A correctly signed POST /events is 202, with the bootstrap key and with a table key."""
    assert send_events(server, server.token, server.signing_secret) == 202
    created = await create_key(database_url, "ingest", "events")
    assert created.signing_secret is not None
    body = orjson.dumps(mug_store())
    response = post(
        server, signed_headers(created.key, created.signing_secret, "POST", "/events", body), body
    )
    assert (response.status_code, response.json()["appended"]) == (202, 3)
    assert await stored_events(database_url) == 6


async def test_every_authentication_failure_is_the_same_401(
    server: Server, database_url: str
) -> None:
    """Bad signature, stale or future timestamp, changed body, path or query, a missing
    signature, an unknown or absent key: all the identical 401, and nothing is stored."""
    body = orjson.dumps(mug_store())
    key, secret = server.token, server.signing_secret
    now = int(time.time())
    cases: dict[str, tuple[dict[str, str], bytes, str]] = {
        "bad signature": (signed_headers(key, WRONG_SECRET, "POST", "/events", body), body, ""),
        "stale -301 s": (
            signed_headers(key, secret, "POST", "/events", body, timestamp=now - 301),
            body,
            "",
        ),
        "body changed": (
            signed_headers(key, secret, "POST", "/events", body),
            orjson.dumps(mug_store("1.00")),
            "",
        ),
        "path changed": (signed_headers(key, secret, "POST", "/other", body), body, ""),
        "query added": (signed_headers(key, secret, "POST", "/events", body), body, "?x=1"),
        "no signature": ({"Authorization": f"Bearer {key}"}, body, ""),
        "unknown key": (signed_headers("not-a-key", secret, "POST", "/events", body), body, ""),
        "no key": (
            {
                name: value
                for name, value in signed_headers(key, secret, "POST", "/events", body).items()
                if name != "Authorization"
            },
            body,
            "",
        ),
    }
    for case, (headers, sent, query) in cases.items():
        response = post(server, headers, sent, f"/events{query}")
        assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), case
        assert response.headers["www-authenticate"] == "Bearer", case
    assert await stored_events(database_url) == 0


async def test_the_timestamp_window_is_300_seconds_each_way(
    server: Server, database_url: str
) -> None:
    """Timestamps 300 s old or ahead are accepted; 301 s either way is the generic 401."""
    key, secret = server.token, server.signing_secret
    for offset, status in ((-300, 202), (300, 202), (-301, 401), (301, 401)):
        body = orjson.dumps(mug_store())
        now = at_second_start()
        headers = signed_headers(key, secret, "POST", "/events", body, timestamp=now + offset)
        response = post(server, headers, body)
        assert response.status_code == status, (offset, response.text)
        if status == 401:
            assert response.json() == UNAUTHENTICATED
    assert await stored_events(database_url) == 6


async def test_a_replayed_request_is_refused(server: Server, database_url: str) -> None:
    """The same signed request sent twice: the first is 202, the replay the generic 401."""
    body = orjson.dumps(mug_store())
    headers = signed_headers(server.token, server.signing_secret, "POST", "/events", body)
    assert post(server, headers, body).status_code == 202
    replay = post(server, headers, body)
    assert (replay.status_code, replay.json()) == (401, UNAUTHENTICATED)


async def test_a_revoked_key_is_refused_from_the_next_request(
    server: Server, database_url: str
) -> None:
    """A key accepted before its revocation is refused right after (no cache configured)."""
    created = await create_key(database_url, "ingest", "events")
    assert created.signing_secret is not None
    assert send_events(server, created.key, created.signing_secret) == 202
    engine = create_engine(database_url)
    try:
        await ApiKeyStore(engine).revoke(created.id)
    finally:
        await engine.dispose()
    assert send_events(server, created.key, created.signing_secret) == 401


async def test_a_key_without_the_scope_is_forbidden(server: Server, database_url: str) -> None:
    """An admin key at /events, or an events key at /admin, is 403 FORBIDDEN."""
    admin = await create_key(database_url, "deploys", "admin")
    events = await create_key(database_url, "ingest", "events")
    assert admin.signing_secret is not None
    body = orjson.dumps(mug_store())
    response = post(
        server, signed_headers(admin.key, admin.signing_secret, "POST", "/events", body), body
    )
    assert (response.status_code, response.json()) == (
        403,
        {
            "errors": [
                {
                    "message": "this API key may not call this endpoint: it lacks the "
                    "`events` scope",
                    "extensions": {"code": "FORBIDDEN"},
                }
            ]
        },
    )
    listing = get(server, ADMIN_PATH, {"Authorization": f"Bearer {events.key}"})
    assert (listing.status_code, listing.json()["errors"][0]["extensions"]["code"]) == (
        403,
        "FORBIDDEN",
    )
    assert await stored_events(database_url) == 0


async def test_rotation_keeps_old_and_new_secrets_until_the_old_is_retired(
    server: Server, database_url: str
) -> None:
    """After a rotation both secrets sign; once retired the old one is refused."""
    created = await create_key(database_url, "ingest", "events")
    old = created.signing_secret
    assert old is not None
    engine = create_engine(database_url)
    try:
        store = ApiKeyStore(engine)
        new = await store.rotate_secret(created.id, retire_old=False)
        assert (send_events(server, created.key, old), send_events(server, created.key, new)) == (
            202,
            202,
        )
        await store.retire_old_secrets(created.id)
        assert (send_events(server, created.key, old), send_events(server, created.key, new)) == (
            401,
            202,
        )
        newest = await store.rotate_secret(created.id, retire_old=True)
        assert (
            send_events(server, created.key, new),
            send_events(server, created.key, newest),
        ) == (401, 202)
    finally:
        await engine.dispose()


async def test_admin_keys_sign_when_their_key_requires_it(
    server: Server, database_url: str
) -> None:
    """An unsigned admin key lists with its bearer alone (a signature it sends is still
    checked); a signing admin key must sign, query string included."""
    plain = await create_key(database_url, "deploys", "admin", signing=False)
    signing = await create_key(database_url, "release", "admin")
    assert signing.signing_secret is not None
    listed = get(server, ADMIN_PATH, {"Authorization": f"Bearer {plain.key}"})
    assert (listed.status_code, listed.json()) == (200, {"documents": []})
    forged = signed_headers(plain.key, WRONG_SECRET, "GET", ADMIN_PATH)
    assert get(server, ADMIN_PATH, forged).json() == UNAUTHENTICATED
    unsigned = get(server, ADMIN_PATH, {"Authorization": f"Bearer {signing.key}"})
    assert (unsigned.status_code, unsigned.json()) == (401, UNAUTHENTICATED)
    headers = signed_headers(
        signing.key, signing.signing_secret, "GET", ADMIN_PATH, query="client=web"
    )
    assert get(server, f"{ADMIN_PATH}?client=web", headers).status_code == 200
    other = signed_headers(
        signing.key, signing.signing_secret, "GET", ADMIN_PATH, query="client=web"
    )
    assert get(server, f"{ADMIN_PATH}?client=ios", other).status_code == 401
    manifest = orjson.dumps({"title-v1": '{ product(slug: "mug") { title } }'})
    pushed = post(
        server,
        signed_headers(signing.key, signing.signing_secret, "POST", ADMIN_PATH, manifest),
        manifest,
        ADMIN_PATH,
    )
    assert (pushed.status_code, pushed.json()["count"]) == (201, 1)


async def test_the_admin_endpoint_is_off_until_an_admin_key_exists(
    database_url: str, tmp_path: Path
) -> None:
    """Without any admin key /admin answers 403 ADMIN_DISABLED; with one, a wrong key is 401."""
    with running_server(database_url, tmp_path, api_key_cache_seconds="0") as server:
        off = get(server, ADMIN_PATH, {"Authorization": "Bearer nope"})
        assert (off.status_code, off.json()["errors"][0]["extensions"]["code"]) == (
            403,
            "ADMIN_DISABLED",
        )
        await create_key(database_url, "deploys", "admin", signing=False)
        wrong = get(server, ADMIN_PATH, {"Authorization": "Bearer nope"})
        assert (wrong.status_code, wrong.json()) == (401, UNAUTHENTICATED)


def test_with_redis_down_a_replay_to_the_same_server_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    """Redis unreachable: a signed request is accepted and its replay refused from memory."""
    down = f"redis://127.0.0.1:{free_port()}/0"
    with running_server(database_url, tmp_path, redis_url=down) as server:
        body = orjson.dumps(mug_store())
        headers = signed_headers(server.token, server.signing_secret, "POST", "/events", body)
        first = post(server, headers, body)
        assert (first.status_code, first.json()["appended"]) == (202, 3)
        replay = post(server, headers, body)
        assert (replay.status_code, replay.json()) == (401, UNAUTHENTICATED)


def test_a_replay_to_another_server_is_refused_through_redis(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """Two servers sharing Redis: a request accepted by one is refused when replayed to the other."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with (
        running_server(database_url, tmp_path / "a", redis_url=redis_url) as first,
        running_server(database_url, tmp_path / "b", redis_url=redis_url) as second,
    ):
        body = orjson.dumps(mug_store())
        headers = signed_headers(first.token, first.signing_secret, "POST", "/events", body)
        assert post(first, headers, body).status_code == 202
        replay = post(second, headers, body)
        assert (replay.status_code, replay.json()) == (401, UNAUTHENTICATED)


async def test_revocation_reaches_a_caching_server_within_its_cache_period(
    database_url: str, tmp_path: Path
) -> None:
    """With the default 5 s key cache, a revoked key is refused within about 5 s."""
    created = await create_key(database_url, "ingest", "events")
    secret = created.signing_secret
    assert secret is not None
    with running_server(database_url, tmp_path) as server:
        assert send_events(server, created.key, secret) == 202
        engine = create_engine(database_url)
        try:
            await ApiKeyStore(engine).revoke(created.id)
        finally:
            await engine.dispose()
        revoked = time.monotonic()
        wait_for(
            lambda: send_events(server, created.key, secret) == 401,
            within=7,
            what="the revoked key is refused",
        )
        assert time.monotonic() - revoked <= 7


def test_development_signs_with_the_key_and_secret_of_its_data_dir(
    database_url: str, tmp_path: Path
) -> None:
    """Unconfigured, a development server accepts requests signed with the key and secret it
    generated into its data directory."""
    with running_server(
        database_url, tmp_path, service_token="", service_signing_secret=""
    ) as server:
        key = (tmp_path / "service-token").read_text().strip()
        secret = (tmp_path / "service-signing-secret").read_text().strip()
        assert send_events(server, key, secret) == 202
        assert send_events(server, server.token, server.signing_secret) == 401


def forged_key() -> str:
    """A key of the right shape (`vk_<16 hex>_<43 chars>`) that no table holds."""
    return f"vk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


def key_lookups(server: Server) -> float:
    """`vitrine_api_key_lookups_total` of the server's /metrics."""
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    (line,) = [m for m in metrics.splitlines() if m.startswith("vitrine_api_key_lookups_total ")]
    return float(line.split()[1])


def test_forged_keys_are_rate_limited_per_ip_before_any_lookup(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """The client IP pays before the key is looked up: with 3 requests a minute per IP, the
    4th request with a forged key is 429 RATE_LIMITED and costs no database lookup, on
    /events and on /admin alike."""
    with running_server(
        database_url,
        tmp_path,
        redis_url=redis_url,
        rate_limits="on",
        rate_limit_events_per_ip="3/minute",
        rate_limit_admin_per_ip="3/minute",
        api_key_cache_seconds="0",
        admin_token="e2e-admin-token-0123456789abcdef",
    ) as server:
        body = orjson.dumps(mug_store())
        signed = post(
            server,
            signed_headers(server.token, server.signing_secret, "POST", "/events", body),
            body,
        )
        assert (signed.status_code, signed.headers["RateLimit-Policy"]) == (
            202,
            '"events";q=600;w=60, "events-ip";q=3;w=60',
        )
        forged = [
            post(server, {"Authorization": f"Bearer {forged_key()}"}, b"[]") for _ in range(3)
        ]
        assert [r.status_code for r in forged] == [401, 401, 429]
        refused = forged[2].json()["errors"][0]["extensions"]
        assert (refused["code"], refused["policy"]) == ("RATE_LIMITED", "events-ip")
        assert key_lookups(server) == 2
        admin = [
            get(server, ADMIN_PATH, {"Authorization": f"Bearer {forged_key()}"}) for _ in range(4)
        ]
        assert [r.status_code for r in admin] == [401, 401, 401, 429]
        refused = admin[3].json()["errors"][0]["extensions"]
        assert (refused["code"], refused["policy"]) == ("RATE_LIMITED", "admin-ip")
        assert admin[0].headers["RateLimit-Policy"] == '"admin-ip";q=3;w=60'
        assert key_lookups(server) == 5


async def test_a_nonce_is_kept_in_redis_for_the_documented_661_seconds(
    server: Server, redis_url: str
) -> None:
    """The nonce of an accepted request is stored in Redis for 661 s (docs/security.md): the
    601 s its timestamp is accepted for, plus 60 s of clock skew between replicas."""
    nonce = secrets.token_urlsafe(16)
    body = orjson.dumps(mug_store())
    headers = signed_headers(
        server.token, server.signing_secret, "POST", "/events", body, nonce=nonce
    )
    assert post(server, headers, body).status_code == 202
    redis = Redis.from_url(redis_url)
    try:
        remaining = await redis.pttl(f"vitrine:nonce:service-token:{nonce}")
    finally:
        await redis.aclose()
    assert NONCE_TTL_SECONDS == 661
    assert 655_000 < remaining <= 661_000


def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all(
    database_url: str, tmp_path: Path
) -> None:
    """A body sent without Content-Length (chunked) past VITRINE_INGEST_MAX_BYTES is 413
    PAYLOAD_TOO_LARGE, and nothing is stored."""
    with running_server(database_url, tmp_path, ingest_max_bytes="1024") as server:
        body = b"[" + b" " * 4096 + b"]"

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 512):
                yield body[start : start + 512]

        headers = signed_headers(server.token, server.signing_secret, "POST", "/events", body)
        response = httpx.post(
            f"{server.url}/events",
            content=chunks(),
            headers={"Content-Type": "application/json", **headers},
            timeout=30,
        )
        assert (response.status_code, response.json()["errors"][0]["extensions"]["code"]) == (
            413,
            "PAYLOAD_TOO_LARGE",
        )
