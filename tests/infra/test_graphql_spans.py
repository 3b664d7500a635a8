"""The server span's helpers: a debug request's trace added to an answer already built."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from infra.graphql_responses import graphql_response
from infra.graphql_spans import with_extension
from infra.response_cache.responses import not_modified_response


def test_an_extension_joins_the_bodys_others_and_keeps_status_and_headers() -> None:
    """`extensions.tracing` is added beside `readModel`; status, type and headers stay."""
    response = graphql_response(
        {"data": {"a": 1}, "extensions": {"readModel": {"position": 3}}},
        "application/graphql-response+json",
        200,
        {"vitrine-cache": "PASS"},
    )
    added = with_extension(response, "tracing", {"version": 1})
    assert orjson.loads(added.body) == {
        "data": {"a": 1},
        "extensions": {"readModel": {"position": 3}, "tracing": {"version": 1}},
    }
    assert added.status_code == 200
    assert added.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert added.headers["vitrine-cache"] == "PASS"
    assert added.headers["content-length"] == str(len(added.body))


def test_an_error_body_without_extensions_gets_them() -> None:
    """A request error (no `extensions` yet) gets an `extensions` object holding the trace."""
    response = graphql_response({"errors": [{"message": "no"}]}, "application/json", 400)
    added = with_extension(response, "tracing", {"version": 1})
    assert orjson.loads(added.body) == {
        "errors": [{"message": "no"}],
        "extensions": {"tracing": {"version": 1}},
    }
    assert added.status_code == 400


def test_a_body_that_is_no_json_object_is_left_alone() -> None:
    """A 304 has no body to carry anything: it is returned as it was."""
    response: Response = not_modified_response({"etag": '"x"'})
    assert with_extension(response, "tracing", {"version": 1}) is response
