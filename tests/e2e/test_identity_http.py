"""Identity and authorization over real HTTP: a keyring of rotated HS256 keys and an RS256
JWKS, issuer and audience, algorithm confusion refused; node(id) of a creator's insight by
role, never leaked through the response cache; what ADMIN and SERVICE may do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from infra.database import create_engine
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.ids import encode_id
from tests.conftest import create_database, drop_database
from tests.e2e.server import Server, running_server
from tests.e2e.test_insight_state_http import world
from tests.e2e.test_viewer_http import vitrine

pytestmark = pytest.mark.e2e

DEFAULT_SECRET = "identity-default-secret-of-32-bytes!!"
OLD_SECRET = "identity-old-rotated-secret-32-bytes!"
NEW_SECRET = "identity-new-rotated-secret-32-bytes!"
GONE_SECRET = "identity-retired-secret-of-32-bytes!!"
ISSUER = "https://id.vitrine.test"
AUDIENCE = "vitrine-gateway"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"

VIEWER = "{ viewer { id roles } }"
DASHBOARD = "{ creatorDashboard { creator { handle } insights { id kind } } }"
DASHBOARD_OF = (
    "query D($c: ID) { creatorDashboard(creatorId: $c) { creator { handle } insights { kind } } }"
)
NODE = (
    'query N($id: ID!) { node(id: $id) { id ... on Insight { kind } } store(slug: "s1") { name } }'
)
EXPLAIN = "query E($id: ID!) { explainInsight(id: $id) { rule insight { kind } } }"
DISMISS = "mutation D($id: ID!) { dismissInsight(id: $id) { insights { id } } }"
FOLLOW = "mutation F($c: ID!) { follow(creatorId: $c) { following } }"
ENGAGE = "mutation E($p: ID!) { recordEngagement(input: {postId: $p, kind: LIKE}) { accepted } }"
FEED = "{ feed { nodes { id } } }"


def claims(sub: str, roles: list[str], creator_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "sub": sub,
        "roles": roles,
        "exp": int(time.time()) + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    if creator_id is not None:
        found["creator_id"] = creator_id
    return found


def hs256(secret: str, kid: str | None, body: dict[str, Any]) -> str:
    return jwt.encode(body, secret, algorithm="HS256", headers={"kid": kid} if kid else None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_viewer(sub: str, roles: list[str], creator_id: str | None = None) -> dict[str, str]:
    """A token of the current key, k-new, as an identity provider would issue it."""
    return bearer(hs256(NEW_SECRET, "k-new", claims(sub, roles, creator_id)))


CREATOR_1 = as_viewer("cu-1", ["CREATOR"], "cr-1")
CREATOR_2 = as_viewer("cu-2", ["CREATOR"], "cr-2")
CUSTOMER = as_viewer("cu-3", ["CUSTOMER"])
ADMIN = as_viewer("ad-1", ["ADMIN"])
SERVICE = as_viewer("svc-1", ["SERVICE"])


def ask(
    server: Server, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    """POST /graphql with no Accept header: answered in the default media type."""
    with httpx.Client(timeout=30) as client:
        del client.headers["accept"]
        return client.post(
            f"{server.url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
async def identity_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    """Creators cr-1 and cr-2 with their stores (s1: cr-1's) and a PROMOTION_ENDING insight."""
    url = await create_database(server_url, template_url)
    engine = create_engine(url)
    try:
        events, errors = validate_events(world(datetime.now(UTC)))
        assert errors == []
        await append_events(engine, events)
        await catch_up(engine, all_projections())
    finally:
        await engine.dispose()
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the JWKS of the RSA key rsa-1."""
    directory = tmp_path_factory.mktemp("identity")
    jwk = RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)
    jwks = {"keys": [{**jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"}]}
    (directory / "jwks.json").write_bytes(orjson.dumps(jwks))
    return directory


def key_settings(keys_dir: Path) -> dict[str, str]:
    return {
        "jwt_secret": DEFAULT_SECRET,
        "jwt_keys": f"k-old:{OLD_SECRET},k-new:{NEW_SECRET}",
        "jwt_jwks_file": str(keys_dir / "jwks.json"),
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }


@pytest.fixture(scope="module")
def server(identity_database: str, keys_dir: Path) -> Iterator[Server]:
    settings = key_settings(keys_dir)
    with running_server(identity_database, keys_dir, run_projectors="false", **settings) as server:
        yield server


@pytest.fixture(scope="module")
def insight_id(server: Server) -> str:
    """The id of cr-1's PROMOTION_ENDING insight, as its dashboard shows it."""
    response = ask(server, DASHBOARD, **CREATOR_1)
    assert response.status_code == 200, response.text
    (insight,) = response.json()["data"]["creatorDashboard"]["insights"]
    assert insight["kind"] == "PROMOTION_ENDING"
    return str(insight["id"])


def assert_unauthenticated(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


def field_errors(response: httpx.Response) -> list[tuple[list[Any], str, str]]:
    """(path, code, message) of each error of an executed request."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    return [(e["path"], e["extensions"]["code"], e["message"]) for e in response.json()["errors"]]


def test_tokens_of_both_rotated_keys_and_the_default_are_accepted(server: Server) -> None:
    """k-old, k-new and the kid-less default secret all identify their viewer."""
    for secret, kid in [(OLD_SECRET, "k-old"), (NEW_SECRET, "k-new"), (DEFAULT_SECRET, None)]:
        token = hs256(secret, kid, claims("cu-7", ["CUSTOMER"]))
        response = ask(server, VIEWER, **bearer(token))
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {
            "viewer": {"id": encode_id("Customer", "cu-7"), "roles": ["CUSTOMER"]}
        }


def test_a_retired_kid_is_unauthenticated_naming_it(server: Server) -> None:
    """A token of a key no longer in the keyring is a 401 that names its kid."""
    token = hs256(GONE_SECRET, "k-2025", claims("cu-7", ["CUSTOMER"]))
    assert_unauthenticated(
        ask(server, VIEWER, **bearer(token)),
        "the token's key 'k-2025' is not one this server knows (retired, or never issued here)",
    )


def test_an_rs256_token_of_the_jwks_is_accepted(server: Server) -> None:
    """An RS256 token naming rsa-1 is verified with the JWKS's public key."""
    body = claims("ad-9", ["ADMIN"])
    token = jwt.encode(body, RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    response = ask(server, VIEWER, **bearer(token))
    assert response.json()["data"] == {
        "viewer": {"id": encode_id("Customer", "ad-9"), "roles": ["ADMIN"]}
    }


def test_an_hs256_token_keyed_with_the_public_key_is_unauthenticated(server: Server) -> None:
    """Algorithm confusion: HS256 "signed" with the RSA public key's PEM is a 401."""
    header = b64(orjson.dumps({"alg": "HS256", "kid": "rsa-1"}))
    payload = b64(orjson.dumps(claims("ad-9", ["ADMIN"])))
    signature = hmac.new(PUBLIC_PEM, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert_unauthenticated(
        ask(server, VIEWER, **bearer(f"{header}.{payload}.{b64(signature)}")),
        "the token is signed with HS256: key 'rsa-1' verifies RS256 tokens only",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"iss": "https://evil.test"},
            "the token's claim 'iss' names another issuer than this server's",
        ),
        ({"aud": "someone-else"}, "the token's claim 'aud' does not name this server's audience"),
        (
            {"roles": ["SERVICE", "ADMIN"]},
            "the token's roles combine SERVICE with other roles: a SERVICE token speaks for a machine and carries no other role",
        ),
    ],
)
def test_foreign_or_contradictory_claims_are_unauthenticated(
    server: Server, change: dict[str, Any], message: str
) -> None:
    """Another issuer or audience, or SERVICE mixed with a role, is a 401."""
    token = hs256(NEW_SECRET, "k-new", {**claims("cu-7", ["CUSTOMER"]), **change})
    assert_unauthenticated(ask(server, VIEWER, **bearer(token)), message)


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        ({}, "UNAUTHENTICATED", "sign in with a creator token to see creator insights"),
        (CREATOR_2, "FORBIDDEN", "this insight belongs to another creator"),
        (CUSTOMER, "FORBIDDEN", "only a creator may see or change creator insights"),
        (SERVICE, "FORBIDDEN", "only a creator may see or change creator insights"),
    ],
)
def test_node_of_an_insight_is_refused_to_anyone_but_its_reader(
    server: Server, insight_id: str, headers: dict[str, str], code: str, message: str
) -> None:
    """node(id) of cr-1's insight: null with UNAUTHENTICATED or FORBIDDEN at `node` alone;
    the rest of the answer stands."""
    response = ask(server, NODE, {"id": insight_id}, **headers)
    assert field_errors(response) == [(["node"], code, message)]
    assert response.json()["data"] == {"node": None, "store": {"name": "S1"}}


@pytest.mark.parametrize("headers", [CREATOR_1, ADMIN])
def test_node_of_an_insight_answers_its_creator_and_an_admin(
    server: Server, insight_id: str, headers: dict[str, str]
) -> None:
    """The owner and an ADMIN read the insight through node(id)."""
    response = ask(server, NODE, {"id": insight_id}, **headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "node": {"id": insight_id, "kind": "PROMOTION_ENDING"},
        "store": {"name": "S1"},
    }


def test_an_owners_cached_node_answer_reaches_nobody_else(server: Server, insight_id: str) -> None:
    """The owner's cached node(id) answer is theirs: anonymous and another creator miss the
    cache and are refused."""
    query = "query OnlyId($id: ID!) { node(id: $id) { id } }"
    first = ask(server, query, {"id": insight_id}, **CREATOR_1)
    again = ask(server, query, {"id": insight_id}, **CREATOR_1)
    assert first.json()["data"] == again.json()["data"] == {"node": {"id": insight_id}}
    assert (first.headers["vitrine-cache"], again.headers["vitrine-cache"]) == ("MISS", "HIT-L1")
    for headers, code in [({}, "UNAUTHENTICATED"), (CREATOR_2, "FORBIDDEN")]:
        response = ask(server, query, {"id": insight_id}, **headers)
        assert response.headers["vitrine-cache"] == "MISS"
        assert [(path, found) for path, found, _ in field_errors(response)] == [(["node"], code)]
        assert response.json()["data"] == {"node": None}


def test_an_admin_reads_any_creators_dashboard_and_insight(server: Server, insight_id: str) -> None:
    """An ADMIN names the creator with creatorId and reads their dashboard and insights."""
    response = ask(server, DASHBOARD_OF, {"c": encode_id("Creator", "cr-1")}, **ADMIN)
    assert response.json() == {
        "data": {
            "creatorDashboard": {
                "creator": {"handle": "c1"},
                "insights": [{"kind": "PROMOTION_ENDING"}],
            }
        },
        "extensions": response.json()["extensions"],
    }
    explained = ask(server, EXPLAIN, {"id": insight_id}, **ADMIN)
    assert explained.json()["data"]["explainInsight"]["insight"] == {"kind": "PROMOTION_ENDING"}


def test_an_admin_changes_nothing_on_a_creators_behalf(server: Server, insight_id: str) -> None:
    """dismissInsight by an ADMIN is FORBIDDEN, with no data, and the insight stays."""
    response = ask(server, DISMISS, {"id": insight_id}, **ADMIN)
    assert field_errors(response) == [
        (["dismissInsight"], "FORBIDDEN", "an ADMIN may read creator insights but not change them")
    ]
    assert response.json()["data"] is None
    dashboard = ask(server, DASHBOARD_OF, {"c": None}, **CREATOR_1)
    assert dashboard.json()["data"]["creatorDashboard"]["insights"] == [
        {"kind": "PROMOTION_ENDING"}
    ]


@pytest.mark.parametrize(
    ("headers", "creator", "message"),
    [
        (ADMIN, None, "an ADMIN names the creator to read with `creatorId`"),
        (CREATOR_2, "cr-1", "this dashboard belongs to another creator"),
        (CUSTOMER, "cr-1", "only a creator may see or change creator insights"),
        (SERVICE, "cr-1", "only a creator may see or change creator insights"),
    ],
)
def test_a_dashboard_is_forbidden_to_anyone_else(
    server: Server, headers: dict[str, str], creator: str | None, message: str
) -> None:
    """Another creator, a customer, a service, or an ADMIN naming nobody: FORBIDDEN, null."""
    variables = {"c": None if creator is None else encode_id("Creator", creator)}
    response = ask(server, DASHBOARD_OF, variables, **headers)
    assert field_errors(response) == [(["creatorDashboard"], "FORBIDDEN", message)]
    assert response.json()["data"] == {"creatorDashboard": None}


def test_a_service_reads_public_data_and_itself(server: Server) -> None:
    """A SERVICE principal sees public data and its own viewer, roles [SERVICE]."""
    response = ask(server, '{ store(slug: "s1") { name } viewer { id roles } }', **SERVICE)
    assert response.json()["data"] == {
        "store": {"name": "S1"},
        "viewer": {"id": encode_id("Customer", "svc-1"), "roles": ["SERVICE"]},
    }


@pytest.mark.parametrize(
    ("query", "variables", "field", "message"),
    [
        (
            FOLLOW,
            {"c": encode_id("Creator", "cr-1")},
            "follow",
            "only a customer may follow creators or engage with posts",
        ),
        (
            ENGAGE,
            {"p": encode_id("Post", "po-1")},
            "recordEngagement",
            "only a customer may follow creators or engage with posts",
        ),
        (FEED, None, "feed", "feed: a feed is a customer's: sign in with a user token"),
    ],
)
def test_a_service_does_nothing_a_customer_does(
    server: Server, query: str, variables: dict[str, Any] | None, field: str, message: str
) -> None:
    """follow, recordEngagement and feed are FORBIDDEN to a SERVICE principal."""
    response = ask(server, query, variables, **SERVICE)
    assert field_errors(response) == [([field], "FORBIDDEN", message)]
    assert response.json()["data"] is None


def test_token_create_signs_with_a_named_key(
    server: Server, keys_dir: Path, tmp_path: Path
) -> None:
    """`vitrine token create --kid k-new --role SERVICE` mints a token the server accepts,
    with the configured issuer and audience."""
    env = {f"VITRINE_{k.upper()}": v for k, v in key_settings(keys_dir).items()}
    result = vitrine(
        tmp_path, "token", "create", "--kid", "k-new", "--role", "SERVICE", "--sub", "svc-2", **env
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert jwt.get_unverified_header(token)["kid"] == "k-new"
    response = ask(server, VIEWER, **bearer(token))
    assert response.json()["data"] == {
        "viewer": {"id": encode_id("Customer", "svc-2"), "roles": ["SERVICE"]}
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--kid", "k-9", "--role", "ADMIN"],
            "VITRINE_JWT_KEYS has no key 'k-9' (known: k-old, k-new)",
        ),
        (
            ["--role", "SERVICE", "--role", "CUSTOMER"],
            "roles: SERVICE is a machine's role and takes no other role",
        ),
    ],
)
def test_token_create_refuses_unknown_kids_and_mixed_service_roles(
    keys_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    """An unknown --kid, or SERVICE with another role, stops with a message and no token."""
    env = {f"VITRINE_{k.upper()}": v for k, v in key_settings(keys_dir).items()}
    result = vitrine(tmp_path, "token", "create", "--sub", "a", *args, **env)
    assert result.returncode == 1
    assert f"Error: {message}" in result.stderr
    assert result.stdout == ""
    for secret in (DEFAULT_SECRET, OLD_SECRET, NEW_SECRET):
        assert secret not in result.stderr
