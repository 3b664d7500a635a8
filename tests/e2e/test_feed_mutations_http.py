"""Follow and engagement over real HTTP with the projectors running: each follow's position,
sent back as `Vitrine-Min-Position`, makes the next profile read show it; recordEngagement
answers accepted at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from infra.auth import mint_token
from resolvers.ids import encode_id
from tests.e2e.events import event
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
FOLLOW = "mutation F($id: ID!) { follow(creatorId: $id) { following position creator { id } } }"
ENGAGE = (
    "mutation E($postId: ID!, $kind: EngagementKind!) "
    "{ recordEngagement(input: { postId: $postId, kind: $kind }) { accepted position } }"
)
PROFILE = "query P($h: String!) { creator(handle: $h) { followerCount viewerFollows } }"
USER = {
    "Authorization": "Bearer "
    + mint_token(SECRET, sub="u-1", roles=["CUSTOMER"], ttl_seconds=600, creator_id=None)
}


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(database_url, tmp_path, jwt_secret=SECRET) as server:
        yield server


def ingest(server: Server) -> int:
    """Creator cr-1 (handle ana) and one of its posts; the last position written."""
    creator = event(
        "CreatorUpserted",
        creatorId="cr-1",
        handle="ana",
        name="Ana",
        bio=None,
        avatarUrl=None,
        storeId=None,
    )
    post = event(
        "PostPublished",
        postId="po-1",
        creatorId="cr-1",
        body="hello",
        productIds=[],
        publishedAt="2026-11-01T00:00:00Z",
    )
    response = server.post_events(orjson.dumps([creator, post]))
    assert response.status_code == 202, response.text
    return int(max(response.json()["positions"]))


def profile(server: Server, min_position: int, **headers: str) -> dict[str, object]:
    response = server.graphql(
        PROFILE, {"h": "ana"}, **{"Vitrine-Min-Position": str(min_position), **headers}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    creator: dict[str, object] = body["data"]["creator"]
    return creator


def test_follow_then_read_your_write_through_the_min_position(server: Server) -> None:
    """Each follow answers the next position; a read at that position shows one follow,
    counted once, for the follower only."""
    head = ingest(server)
    assert profile(server, head, **USER) == {"followerCount": 0, "viewerFollows": False}
    creator = {"id": encode_id("Creator", "cr-1")}
    for position in (head + 1, head + 2):
        response = server.graphql(FOLLOW, creator, **USER)
        assert response.status_code == 200, response.text
        payload = response.json()["data"]["follow"]
        assert payload == {"following": True, "position": position, "creator": creator}
        assert profile(server, position, **USER) == {"followerCount": 1, "viewerFollows": True}
        assert profile(server, position) == {"followerCount": 1, "viewerFollows": False}


def test_record_engagement_is_accepted_at_once(server: Server) -> None:
    """The answer is accepted with the next position, whether or not a projector ran."""
    head = ingest(server)
    response = server.graphql(ENGAGE, {"postId": encode_id("Post", "po-1"), "kind": "LIKE"}, **USER)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"recordEngagement": {"accepted": True, "position": head + 1}}
    anonymous = server.graphql(ENGAGE, {"postId": encode_id("Post", "po-1"), "kind": "LIKE"})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
