"""Feeds over real HTTP on a small hand-made world posted through /events: pagination while
posts are published, unpublishing, idempotent follows, engagement counts and private caching.

Every read that must see a write waits on that write's position with `Vitrine-Min-Position`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from infra.auth import mint_token
from resolvers.ids import encode_id
from tests.conftest import CONTRACT, create_database, drop_database
from tests.e2e.events import event
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
FEED = (CONTRACT / "operations" / "Feed.graphql").read_text()
FEED_HASH = hashlib.sha256(FEED.encode()).hexdigest()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CREATORS = {"cr-ava": "ava", "cr-ben": "ben", "cr-cleo": "cleo", "cr-dan": "dan", "cr-eve": "eve"}
IDS = "query Ids($first: Int, $after: String) { feed(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } }"
PROFILE = """
query Profile($handle: String!) {
  creator(handle: $handle) {
    followerCount postCount viewerFollows
    posts(first: 50) { nodes { id } }
  }
}
"""
POST = "query Post($id: ID!) { post(id: $id) { id engagement { likes shares remixes } } }"
FOLLOWING = "{ viewer { following(first: 50) { handle } } }"
FOLLOW = """
mutation Follow($id: ID!) { follow(creatorId: $id) { following position creator { handle } } }
"""
UNFOLLOW = """
mutation Unfollow($id: ID!) { unfollow(creatorId: $id) { following position creator { handle } } }
"""
ENGAGE = """
mutation Engage($postId: ID!, $kind: EngagementKind!) {
  recordEngagement(input: { postId: $postId, kind: $kind }) { accepted position }
}
"""


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def publish(post: str, creator: str, at: datetime) -> dict[str, Any]:
    return event(
        "PostPublished",
        postId=post,
        creatorId=creator,
        body=f"body of {post}",
        productIds=[],
        publishedAt=stamp(at),
    )


def world_events() -> list[dict[str, Any]]:
    """Five creators; ava and ben post 10 each, a minute apart and interleaved, cleo posts
    two; u-walker follows ava and ben, u-reader follows cleo."""
    events = [
        event(
            "CreatorUpserted",
            creatorId=creator,
            handle=handle,
            name=handle.title(),
            bio=None,
            avatarUrl=None,
            storeId=None,
        )
        for creator, handle in CREATORS.items()
    ]
    for n in range(20):
        creator = "cr-ava" if n % 2 == 0 else "cr-ben"
        events.append(publish(f"po-{n:02d}", creator, T0 + timedelta(minutes=n)))
    events += [
        publish("po-cleo-1", "cr-cleo", T0),
        publish("po-cleo-2", "cr-cleo", T0 + timedelta(hours=1)),
        event("Followed", userId="u-walker", creatorId="cr-ava"),
        event("Followed", userId="u-walker", creatorId="cr-ben"),
        event("Followed", userId="u-reader", creatorId="cr-cleo"),
        event("Followed", userId="u-fan", creatorId="cr-cleo"),
    ]
    return events


def post_events(server: Server, events: list[dict[str, Any]]) -> int:
    """Appends `events` through /events; the last position written."""
    response = server.post_events(orjson.dumps(events))
    assert response.status_code == 202, response.text
    return int(max(response.json()["positions"]))


@pytest.fixture(scope="module")
async def feeds_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url, template_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def server(feeds_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server over the hand-made world, posted through /events and projected."""
    with running_server(
        feeds_database, tmp_path_factory.mktemp("feeds"), jwt_secret=SECRET
    ) as server:
        head = post_events(server, world_events())
        ask(server, IDS, {}, "u-walker", head)
        yield server


def bearer(user: str) -> dict[str, str]:
    token = mint_token(SECRET, sub=user, roles=["CUSTOMER"], ttl_seconds=600)
    return {"Authorization": f"Bearer {token}"}


def ask(
    server: Server,
    query: str,
    variables: dict[str, Any],
    user: str | None = None,
    position: int | None = None,
) -> dict[str, Any]:
    """The data of `query` as `user`, read at `position` or later; fails on any error."""
    headers = {} if user is None else bearer(user)
    if position is not None:
        headers["Vitrine-Min-Position"] = str(position)
    response = server.graphql(query, variables, **headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    if position is not None:
        assert body["extensions"]["readModel"]["minPositionReached"] is True
    return body["data"]  # type: ignore[no-any-return]


def gid(kind: str, source_id: str) -> str:
    return encode_id(kind, source_id)


def test_pages_stay_stable_while_posts_are_published(server: Server) -> None:
    """Posts published between page requests (waited on) never shift the walk: the pages
    already seen never repeat and no older post is skipped; a new first page shows them."""
    older = [gid("Post", f"po-{n:02d}") for n in reversed(range(20))]
    seen: list[str] = []
    after = None
    fresh: list[str] = []
    for page in range(7):
        position = None
        if page:  # a new post of each followed creator, newer than everything so far
            minute = T0 + timedelta(days=1, minutes=page)
            posts = [f"po-new-{page}-ava", f"po-new-{page}-ben"]
            position = post_events(
                server,
                [publish(posts[0], "cr-ava", minute), publish(posts[1], "cr-ben", minute)],
            )
            fresh = [gid("Post", p) for p in reversed(posts)] + fresh
        feed = ask(server, IDS, {"first": 3, "after": after}, "u-walker", position)["feed"]
        seen += [node["id"] for node in feed["nodes"]]
        after = feed["pageInfo"]["endCursor"]
        assert feed["pageInfo"]["hasNextPage"] is (len(seen) < 20)
    assert seen == older
    first = ask(server, IDS, {"first": 14}, "u-walker")["feed"]["nodes"]
    assert [node["id"] for node in first] == fresh[:12] + older[:2]


def test_unpublish_removes_the_post_everywhere(server: Server) -> None:
    """After PostUnpublished the post is gone from the follower's feed, the creator's posts
    and count, and post(id) is null."""
    post = gid("Post", "po-cleo-2")
    feed = ask(server, IDS, {"first": 10}, "u-reader")["feed"]["nodes"]
    assert [n["id"] for n in feed] == [post, gid("Post", "po-cleo-1")]
    profile = ask(server, PROFILE, {"handle": "cleo"})["creator"]
    assert (profile["postCount"], len(profile["posts"]["nodes"])) == (2, 2)
    assert ask(server, POST, {"id": post})["post"]["id"] == post
    position = post_events(server, [event("PostUnpublished", postId="po-cleo-2")])
    feed = ask(server, IDS, {"first": 10}, "u-reader", position)["feed"]["nodes"]
    assert feed == [{"id": gid("Post", "po-cleo-1")}]
    profile = ask(server, PROFILE, {"handle": "cleo"}, None, position)["creator"]
    assert profile["postCount"] == 1
    assert profile["posts"]["nodes"] == [{"id": gid("Post", "po-cleo-1")}]
    assert ask(server, POST, {"id": post}, None, position) == {"post": None}


def test_follow_and_unfollow_are_idempotent(server: Server) -> None:
    """Every call appends the next position; read at it, following twice is one follow and
    unfollowing twice (or what was never followed) puts the count back once, never below zero."""
    dan, eve = {"id": gid("Creator", "cr-dan")}, {"id": gid("Creator", "cr-eve")}
    first = ask(server, FOLLOW, dan, "u-fan")["follow"]
    again = ask(server, FOLLOW, dan, "u-fan")["follow"]
    assert first == {"following": True, "position": first["position"], "creator": {"handle": "dan"}}
    assert again == {**first, "position": first["position"] + 1}
    profile = ask(server, PROFILE, {"handle": "dan"}, "u-fan", again["position"])["creator"]
    assert (profile["followerCount"], profile["viewerFollows"]) == (1, True)
    following = ask(server, FOLLOWING, {}, "u-fan", again["position"])["viewer"]["following"]
    assert sorted(c["handle"] for c in following) == ["cleo", "dan"]
    gone = ask(server, UNFOLLOW, dan, "u-fan")["unfollow"]
    still = ask(server, UNFOLLOW, dan, "u-fan")["unfollow"]
    assert gone == {
        "following": False,
        "position": again["position"] + 1,
        "creator": {"handle": "dan"},
    }
    assert still == {**gone, "position": gone["position"] + 1}
    profile = ask(server, PROFILE, {"handle": "dan"}, "u-fan", still["position"])["creator"]
    assert (profile["followerCount"], profile["viewerFollows"]) == (0, False)
    never = ask(server, UNFOLLOW, eve, "u-fan")["unfollow"]
    assert never == {
        "following": False,
        "position": still["position"] + 1,
        "creator": {"handle": "eve"},
    }
    profile = ask(server, PROFILE, {"handle": "eve"}, "u-fan", never["position"])["creator"]
    assert (profile["followerCount"], profile["viewerFollows"]) == (0, False)


def test_record_engagement_changes_the_counters(server: Server) -> None:
    """recordEngagement is accepted; read at its position the post counts the like and the
    share, and a second like by the same user counts once."""
    post = gid("Post", "po-00")
    assert ask(server, POST, {"id": post})["post"]["engagement"] == {
        "likes": 0,
        "shares": 0,
        "remixes": 0,
    }
    positions = []
    for user, kind in [("u-fan", "LIKE"), ("u-fan", "LIKE"), ("u-reader", "SHARE")]:
        answer = ask(server, ENGAGE, {"postId": post, "kind": kind}, user)["recordEngagement"]
        assert answer["accepted"] is True
        positions.append(answer["position"])
    assert positions == sorted(set(positions))
    engagement = ask(server, POST, {"id": post}, None, positions[-1])["post"]["engagement"]
    assert engagement == {"likes": 1, "shares": 1, "remixes": 0}


def persisted_feed(
    server: Server, user: str, first: int, position: int | None = None
) -> httpx.Response:
    """A GET of the contract's Feed by its APQ hash, as `user`, read at `position` or later."""
    params = {
        "extensions": orjson.dumps(
            {"persistedQuery": {"version": 1, "sha256Hash": FEED_HASH}}
        ).decode(),
        "operationName": "Feed",
        "variables": orjson.dumps({"first": first}).decode(),
    }
    at = {} if position is None else {"Vitrine-Min-Position": str(position)}
    response = httpx.get(
        f"{server.url}/graphql",
        params=params,
        headers={"apollo-require-preflight": "true", **bearer(user), **at},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    if position is not None:
        assert response.json()["extensions"]["readModel"]["minPositionReached"] is True
    return response


def test_feeds_are_private_and_a_follow_invalidates_the_followers_feed(server: Server) -> None:
    """A persisted Feed GET is `private, max-age=15` without surrogate keys, cached per
    viewer; the viewer's follow, once projected (`feed-of:<user>`), drops their cached feed."""
    register = {
        "query": FEED,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": FEED_HASH}},
    }
    assert httpx.post(f"{server.url}/graphql", json=register, timeout=30).status_code == 200
    first = persisted_feed(server, "u-private", 5)
    assert first.headers["cache-control"] == "private, max-age=15"
    assert "surrogate-key" not in first.headers
    assert "cache-tag" not in first.headers
    assert first.headers["vary"] == "Accept, Authorization"
    assert first.json()["data"]["feed"]["edges"] == []
    again = persisted_feed(server, "u-private", 5)
    assert (first.headers["vitrine-cache"], again.headers["vitrine-cache"]) == ("MISS", "HIT-L1")
    other = persisted_feed(server, "u-reader", 5)
    assert other.headers["vitrine-cache"] == "MISS"
    assert [e["node"]["id"] for e in other.json()["data"]["feed"]["edges"]] == [
        gid("Post", "po-cleo-1")
    ]
    follow = ask(server, FOLLOW, {"id": gid("Creator", "cr-cleo")}, "u-private")["follow"]
    assert follow["following"] is True
    after = persisted_feed(server, "u-private", 5, follow["position"])
    assert after.headers["vitrine-cache"] == "MISS"
    assert [e["node"]["id"] for e in after.json()["data"]["feed"]["edges"]] == [
        gid("Post", "po-cleo-1")
    ]
