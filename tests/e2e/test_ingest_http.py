"""POST /events and read-your-writes over real HTTP against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.e2e.events import event, mug_store
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

PRICE_QUERY = '{ product(slug: "mug") { title price { final { amount currencyCode } } } }'


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(database_url, tmp_path) as server:
        yield server


def post_events(
    server: Server, body: bytes, content_type: str = "application/json", token: str | None = None
) -> httpx.Response:
    if token is None:
        return server.post_events(body, content_type)
    return server.post_events(body, content_type, Authorization=f"Bearer {token}")


def test_events_are_appended_and_read_back_with_min_position(server: Server) -> None:
    """A 202 returns positions; a query with Vitrine-Min-Position sees the write."""
    response = post_events(server, orjson.dumps(mug_store()))
    assert response.status_code == 202
    assert response.json() == {"positions": [1, 2, 3], "appended": 3, "head": 3}
    assert response.headers["vitrine-position"] == "3"
    update = post_events(
        server,
        orjson.dumps(
            [
                event(
                    "PriceSet",
                    productId="p1",
                    currencyCode="EUR",
                    basePrice="9.5",
                    tiers=[],
                    segmentPrices=[],
                )
            ]
        ),
    )
    position = update.json()["positions"][0]
    body = server.graphql(PRICE_QUERY, **{"Vitrine-Min-Position": str(position)}).json()
    assert body["data"] == {
        "product": {"title": "Mug", "price": {"final": {"amount": "9.50", "currencyCode": "EUR"}}}
    }
    assert body["extensions"]["readModel"]["minPositionReached"] is True
    assert body["extensions"]["readModel"]["position"] >= position


def test_ndjson_is_accepted_and_duplicates_are_no_ops(server: Server) -> None:
    """NDJSON works, and re-sending the same ids appends nothing and returns the same positions."""
    events = mug_store()
    body = b"\n".join(orjson.dumps(e) for e in events) + b"\n"
    first = post_events(server, body, "application/x-ndjson")
    again = post_events(server, body, "application/x-ndjson")
    assert first.json() == {"positions": [1, 2, 3], "appended": 3, "head": 3}
    assert again.json() == {"positions": [1, 2, 3], "appended": 0, "head": 3}


def test_a_bad_event_rejects_the_whole_batch_naming_it(server: Server) -> None:
    """One bad event gets a 400 naming it and its field; nothing of the batch is stored."""
    events = mug_store()
    events[2]["data"]["basePrice"] = 12.0
    response = post_events(server, orjson.dumps(events))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["extensions"] for e in errors] == [
        {
            "index": 2,
            "id": events[2]["id"],
            "type": "PriceSet",
            "field": "data.basePrice",
            "message": 'Value error, must be a decimal string such as "19.90"',
            "code": "INVALID_EVENT",
        }
    ]
    good = post_events(server, orjson.dumps(mug_store()))
    assert good.json()["positions"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "INVALID_JSON"),
        (b'{"id": 1}', "application/json", 400, "INVALID_JSON"),
        (b"[]", "application/json", 400, "EMPTY_BATCH"),
        (b'{"a": 1}\nnope\n', "application/x-ndjson", 400, "INVALID_JSON"),
        (b'[{"type": "Nope"}]', "application/json", 400, "UNKNOWN_EVENT_TYPE"),
    ],
)
def test_malformed_bodies_get_codes(
    server: Server, body: bytes, content_type: str, status: int, code: str
) -> None:
    """Malformed bodies are 4xx with a code, never a 500."""
    response = post_events(server, body, content_type)
    assert response.status_code == status
    assert code in {e["extensions"]["code"] for e in response.json()["errors"]}


def test_events_need_the_service_token(server: Server) -> None:
    """Without the right bearer key (even correctly signed), POST /events is 401 and stores
    nothing."""
    response = post_events(server, orjson.dumps(mug_store()), token="wrong")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert post_events(server, orjson.dumps(mug_store())).json()["positions"] == [1, 2, 3]


def test_graphql_request_errors_have_codes(server: Server) -> None:
    """Bad JSON, a missing query, a bad header and batches get 400s with codes; a parse
    error's status depends on the media type the client accepts."""
    url = f"{server.url}/graphql"
    cases = [
        (
            httpx.post(url, content=b"{", headers={"Content-Type": "application/json"}),
            400,
            "INVALID_JSON",
        ),
        (httpx.post(url, json={"variables": {}}), 400, "BAD_REQUEST"),
        (httpx.post(url, json=[{"query": "{ __typename }"}]), 400, "BATCHING_NOT_SUPPORTED"),
        (
            httpx.post(
                url, json={"query": "{ __typename }"}, headers={"Vitrine-Min-Position": "soon"}
            ),
            400,
            "INVALID_HEADER",
        ),
        # A parse error is a GraphQL error: 200 under legacy application/json, 400 under
        # application/graphql-response+json (tests/e2e/test_graphql_over_http.py has the rest).
        (
            httpx.post(
                url, json={"query": "{ product(slug: "}, headers={"Accept": "application/json"}
            ),
            200,
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            httpx.post(
                url,
                json={"query": "{ product(slug: "},
                headers={"Accept": "application/graphql-response+json"},
            ),
            400,
            "GRAPHQL_PARSE_FAILED",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == code


def test_graphiql_is_served_to_browsers(server: Server) -> None:
    """A browser GET on /graphql gets the GraphiQL page."""
    response = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
