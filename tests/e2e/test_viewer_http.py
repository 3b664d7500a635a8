"""Viewers over real HTTP: bearer tokens, UNAUTHENTICATED refusals, segments from events,
the response cache keyed by segments; and the CLI's `token create` and segment-diff share."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import orjson
import pytest

from infra.auth import mint_token
from infra.database import asyncpg_dsn
from resolvers.ids import encode_id
from tests.e2e.events import event
from tests.e2e.server import Server, running_server
from tests.readmodels.waiting import wait_until

pytestmark = pytest.mark.e2e

SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
VIEWER = "{ viewer { id roles segments } }"
VIEWER_ID = "{ viewer { id } }"
CREATOR_VIEWER = "{ viewer { roles creator { handle name } following { handle } } }"
UNAUTHENTICATED_HEADER = 'Bearer error="invalid_token"'


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(database_url, tmp_path, jwt_secret=SECRET) as server:
        yield server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(sub: str, **kwargs: Any) -> str:
    kwargs.setdefault("roles", ["CUSTOMER"])
    kwargs.setdefault("ttl_seconds", 600)
    return mint_token(SECRET, sub=sub, **kwargs)


def post_events(server: Server, events: list[dict[str, Any]]) -> int:
    response = server.post_events(orjson.dumps(events))
    assert response.status_code == 202, response.text
    return int(response.json()["head"])


def segments_changed(customer: str, segments: list[str]) -> dict[str, Any]:
    return event("CustomerSegmentsChanged", customerId=customer, segments=segments)


async def wait_for_segments(database_url: str, position: int) -> None:
    """Until the segments projection has committed `position` (no request involved)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:

        async def reached() -> bool:
            found = await conn.fetchval(
                "SELECT position FROM projection_checkpoints WHERE name = 'segments'"
            )
            return found is not None and found >= position

        await wait_until(reached, within=15, what=f"segments reached position {position}")
    finally:
        await conn.close()


def assert_unauthenticated(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == UNAUTHENTICATED_HEADER
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


def test_an_anonymous_viewer_is_null(server: Server) -> None:
    """Without an Authorization header the request is anonymous and `viewer` is null."""
    response = server.graphql(VIEWER_ID)
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": None}


def test_a_valid_token_returns_the_viewer_with_projected_segments(server: Server) -> None:
    """The viewer's id, roles and sorted segments come from the token and the projected events."""
    position = post_events(
        server,
        [
            segments_changed("cu-1", ["b2b"]),
            segments_changed("cu-1", ["vip", "b2b"]),
            segments_changed("cu-2", ["edu"]),
        ],
    )
    token = token_for("cu-1", roles=["CUSTOMER", "ADMIN"])
    response = server.graphql(VIEWER, **bearer(token), **{"Vitrine-Min-Position": str(position)})
    assert response.status_code == 200
    assert response.json()["data"] == {
        "viewer": {
            "id": encode_id("Customer", "cu-1"),
            "roles": ["CUSTOMER", "ADMIN"],
            "segments": ["b2b", "vip"],
        }
    }
    unsegmented = server.graphql(VIEWER, **bearer(token_for("cu-9")))
    assert unsegmented.json()["data"] == {
        "viewer": {"id": encode_id("Customer", "cu-9"), "roles": ["CUSTOMER"], "segments": []}
    }


def test_a_creator_token_resolves_the_creator_profile(server: Server) -> None:
    """CREATOR with a creatorId claim gets the profile; following is empty until issue 8."""
    position = post_events(
        server,
        [
            event(
                "CreatorUpserted",
                creatorId="cr-1",
                handle="ana",
                name="Ana",
                bio=None,
                avatarUrl=None,
                storeId=None,
            )
        ],
    )
    creator = token_for("cu-5", roles=["CUSTOMER", "CREATOR"], creator_id="cr-1")
    response = server.graphql(
        CREATOR_VIEWER, **bearer(creator), **{"Vitrine-Min-Position": str(position)}
    )
    assert response.json()["data"] == {
        "viewer": {
            "roles": ["CUSTOMER", "CREATOR"],
            "creator": {"handle": "ana", "name": "Ana"},
            "following": [],
        }
    }
    customer = token_for("cu-6", creator_id=None)
    response = server.graphql(CREATOR_VIEWER, **bearer(customer))
    assert response.json()["data"] == {
        "viewer": {"roles": ["CUSTOMER"], "creator": None, "following": []}
    }


def test_an_expired_token_is_unauthenticated(server: Server) -> None:
    """An expired token is a 401 naming when it expired, never an anonymous answer."""
    expired_at = int(time.time()) - 3600
    token = jwt.encode({"sub": "cu-1", "exp": expired_at}, SECRET, algorithm="HS256")
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expired_at))
    assert_unauthenticated(
        server.graphql(VIEWER_ID, **bearer(token)), f"the token expired at {when}"
    )


def test_a_badly_signed_token_is_unauthenticated(server: Server) -> None:
    """A token signed with another secret is a 401 saying the signature does not match."""
    token = mint_token("x" * 40, sub="cu-1", roles=["ADMIN"], ttl_seconds=600)
    assert_unauthenticated(
        server.graphql(VIEWER_ID, **bearer(token)),
        "the token's signature does not match: it was not signed with this server's secret",
    )


def test_an_unsigned_token_is_unauthenticated(server: Server) -> None:
    """An `alg: none` token is a 401, whatever it claims."""

    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    claims = {"sub": "cu-1", "exp": int(time.time()) + 600, "roles": ["ADMIN"]}
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert_unauthenticated(
        server.graphql(VIEWER_ID, **bearer(token)),
        "the token is signed with 'none': only HS256 tokens are accepted",
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic Y3UtMTpwYXNz", "the Authorization header must be `Bearer <token>`"),
        ("Token abc", "the Authorization header must be `Bearer <token>`"),
        ("Bearer", "the Authorization header has no token after `Bearer`"),
        ("", "the Authorization header is empty: send `Bearer <token>`, or no header at all"),
    ],
)
def test_headers_other_than_bearer_are_unauthenticated(
    server: Server, header: str, message: str
) -> None:
    """Another scheme, a missing token or an empty header is a 401, not an anonymous request."""
    assert_unauthenticated(server.graphql(VIEWER_ID, Authorization=header), message)


def test_a_get_with_a_bad_token_is_unauthenticated_too(server: Server) -> None:
    """GET requests are authenticated the same way as POSTs."""
    response = httpx.get(
        f"{server.url}/graphql",
        params={"query": VIEWER_ID},
        headers={"Authorization": "Bearer nope", "apollo-require-preflight": "true"},
        timeout=30,
    )
    assert_unauthenticated(
        response, "the token is malformed: expected a JWT (header.payload.signature in base64url)"
    )


async def test_a_segment_change_changes_the_next_answer(server: Server, database_url: str) -> None:
    """Once segments change, the next request misses the cache and answers with the new set."""
    token = token_for("cu-7")
    first = post_events(server, [segments_changed("cu-7", ["vip"])])
    await wait_for_segments(database_url, first)
    before = server.graphql(VIEWER, **bearer(token))
    again = server.graphql(VIEWER, **bearer(token))
    assert before.json()["data"]["viewer"]["segments"] == ["vip"]
    assert (before.headers["vitrine-cache"], again.headers["vitrine-cache"]) == ("MISS", "HIT-L1")
    assert again.json()["data"] == before.json()["data"]
    changed = post_events(server, [segments_changed("cu-7", ["staff", "b2b"])])
    await wait_for_segments(database_url, changed)
    after = server.graphql(VIEWER, **bearer(token))
    assert after.headers["vitrine-cache"] == "MISS"
    assert after.json()["data"]["viewer"]["segments"] == ["b2b", "staff"]
    other = server.graphql(VIEWER, **bearer(token_for("cu-8")))
    assert other.json()["data"]["viewer"]["segments"] == []


def vitrine(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The token's secret comes from `env` or the data directory, never the caller's shell.
    environment = {k: v for k, v in os.environ.items() if k != "VITRINE_JWT_SECRET"}
    environment.update(VITRINE_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_create_mints_a_token_the_server_accepts(server: Server, tmp_path: Path) -> None:
    """`vitrine token create` signs with VITRINE_JWT_SECRET; the server takes the token."""
    result = vitrine(
        tmp_path,
        "token",
        "create",
        "--role",
        "CUSTOMER",
        "--role",
        "CREATOR",
        "--sub",
        "cu-3",
        "--creator-id",
        "cr-3",
        "--ttl",
        "120",
        VITRINE_JWT_SECRET=SECRET,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["roles"], claims["creatorId"]) == (
        "cu-3",
        ["CUSTOMER", "CREATOR"],
        "cr-3",
    )
    assert claims["exp"] - claims["iat"] == 120
    response = server.graphql(VIEWER, **bearer(token))
    assert response.json()["data"]["viewer"]["roles"] == ["CUSTOMER", "CREATOR"]


def test_token_create_and_the_server_share_the_generated_secret(
    database_url: str, tmp_path: Path
) -> None:
    """Without VITRINE_JWT_SECRET, the CLI and a server on the same data dir agree on one."""
    result = vitrine(tmp_path, "token", "create", "--role", "CUSTOMER", "--sub", "cu-4")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "jwt-secret").exists()
    with running_server(database_url, tmp_path) as server:
        response = server.graphql(VIEWER_ID, **bearer(result.stdout.strip()))
    assert response.json()["data"] == {"viewer": {"id": encode_id("Customer", "cu-4")}}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--sub", "cu-1"], 2, "Missing option '--role'"),
        (["--role", "CUSTOMER"], 2, "Missing option '--sub'"),
        (
            ["--role", "ROOT", "--sub", "cu-1"],
            2,
            "Invalid value for '--role': 'ROOT' is not one of 'CUSTOMER', 'CREATOR', 'ADMIN', "
            "'SERVICE'.",
        ),
        (
            ["--role", "CUSTOMER", "--sub", "cu-1", "--ttl", "0"],
            2,
            "Invalid value for '--ttl': 0 is not in the range x>=1.",
        ),
        (
            ["--role", "CUSTOMER", "--sub", "cu-1", "--creator-id", "cr-1"],
            1,
            "--creator-id needs --role CREATOR (only creators have a profile)",
        ),
        (["--role", "CUSTOMER", "--sub", " "], 1, "--sub: name the customer id"),
    ],
)
def test_token_create_explains_bad_input(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    """Bad options stop with a usage error or a message saying what to fix, and print no token."""
    result = vitrine(tmp_path, "token", "create", *args, VITRINE_JWT_SECRET=SECRET)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_token_create_in_production_needs_the_secret(tmp_path: Path) -> None:
    """In production without VITRINE_JWT_SECRET, token create refuses, naming the variable."""
    result = vitrine(
        tmp_path, "token", "create", "--role", "ADMIN", "--sub", "a", VITRINE_MODE="production"
    )
    assert result.returncode == 1
    assert "VITRINE_JWT_SECRET is required in production mode" in result.stderr
    assert result.stdout == ""


def test_projectors_status_reports_the_share_diffing_skipped(
    database_url: str, tmp_path: Path
) -> None:
    """After the segments read model is built, `projectors status` prints the skipped share."""
    env = {"VITRINE_DATABASE_URL": database_url}
    before = vitrine(tmp_path, "projectors", "status", **env)
    assert before.returncode == 0, before.stderr
    assert "segment diffing: no CustomerSegmentsChanged projected yet" in before.stderr
    path = tmp_path / "segments.ndjson"
    changes = [
        segments_changed("cu-1", ["vip", "b2b"]),  # requested 0 + 2, written 2
        segments_changed("cu-1", ["vip"]),  # requested 2 + 1, written 1
        segments_changed("cu-1", ["vip"]),  # requested 1 + 1, written 0
    ]
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in changes))
    assert vitrine(tmp_path, "events", "import", str(path), **env).returncode == 0
    rebuilt = vitrine(tmp_path, "readmodels", "rebuild", "segments", **env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    status = vitrine(tmp_path, "projectors", "status", **env)
    assert status.returncode == 0, status.stderr
    assert "segment diffing: skipped 4 of 7 requested rows (57.1%) over 3 events" in status.stderr
