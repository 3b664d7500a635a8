"""The pure rules of /graphql: content negotiation, CSRF prevention, the GET method rule,
and the CSRF settings."""

from __future__ import annotations

import pytest
from graphql import OperationType

from infra.csrf import DEFAULT_REQUIRED_HEADERS, is_preflighted
from infra.graphql_http import check_method, requested_operation_type
from infra.graphql_request import RequestError, parse_min_position
from infra.graphql_responses import error_response, graphql_response
from infra.media_types import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    accepts_html,
    content_charset,
    media_type_essence,
    parse_accept,
    response_media_type,
)
from infra.settings import SettingsError, load_settings

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, GRAPHQL_RESPONSE_JSON),
        ("  ", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("Application/GraphQL-Response+JSON; charset=UTF-8", GRAPHQL_RESPONSE_JSON),
        (
            "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8",
            GRAPHQL_RESPONSE_JSON,
        ),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.8, application/json", JSON),
        ("application/json", JSON),
        ("application/json;charset=utf8", JSON),
        ("*/*", JSON),
        ("*", JSON),
        ("application/*", JSON),
        (BROWSER_ACCEPT, JSON),
        ("application/json, */*;q=0.1", JSON),
        ("application/graphql-response+json;q=0.5, */*", JSON),
        ("*/*, application/graphql-response+json;q=0.5", JSON),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE_JSON),
        ("application/json;q=0.1, application/*;q=0.5", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=nonsense, application/json;q=0.2", JSON),
        ("text/html", None),
        ("application/xml, text/*", None),
        ("application/json;q=0", None),
        ("application/json;charset=latin1", None),
        ("*/*;q=0", None),
        ("nonsense", None),
    ],
)
def test_response_media_type_is_negotiated(accept: str | None, expected: str | None) -> None:
    """Highest q wins, then the most specific type; wildcards get application/json; None is 406."""
    assert response_media_type(accept) == expected


def test_accept_parsing_ignores_malformed_entries() -> None:
    """Entries without a type/subtype, or with a q out of range, are skipped, not fatal."""
    ranges = parse_accept("json, application/json;q=2, text/html;q=0.5, */*")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("text", "html", 0.5), ("*", "*", 1.0)]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [(BROWSER_ACCEPT, True), ("*/*", False), ("text/html;q=0", False), (None, False)],
)
def test_html_is_wanted_only_when_named(accept: str | None, expected: bool) -> None:
    """GraphiQL goes to clients that name text/html, as browsers do, not to `*/*`."""
    assert accepts_html(accept) is expected


def test_content_type_essence_and_charset() -> None:
    """A Content-Type reads as its lowercased type/subtype and its charset parameter."""
    assert media_type_essence(" Text/Plain ; charset=UTF-8") == "text/plain"
    assert media_type_essence("not a type") is None
    assert media_type_essence("") is None
    assert content_charset('application/json; Charset="UTF-8"') == "utf-8"
    assert content_charset("application/json") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, False),
        ({"content-type": "text/plain"}, False),
        ({"content-type": "TEXT/PLAIN; charset=utf-8"}, False),
        ({"content-type": "application/x-www-form-urlencoded"}, False),
        ({"content-type": "multipart/form-data; boundary=----x"}, False),
        ({"apollo-require-preflight": ""}, False),
        ({"content-type": "text/plain", "x-custom": "1"}, False),
        ({"content-type": "application/json"}, True),
        ({"content-type": "application/json; charset=utf-8"}, True),
        ({"content-type": "application/graphql"}, True),
        ({"content-type": "garbage"}, True),
        ({"apollo-require-preflight": "true"}, True),
        ({"x-apollo-operation-name": "ProductPage"}, True),
        ({"content-type": "text/plain", "apollo-require-preflight": "1"}, True),
    ],
)
def test_apollo_csrf_rule(headers: dict[str, str], expected: bool) -> None:
    """A request passes if its Content-Type is not simple or it carries a non-empty preflight
    header; an unparseable Content-Type is not simple (browsers preflight it)."""
    assert is_preflighted(headers, DEFAULT_REQUIRED_HEADERS) is expected


def test_csrf_headers_are_configurable() -> None:
    """Only the configured headers count as proof of a preflight."""
    assert is_preflighted({"x-vitrine-client": "ios"}, ("x-vitrine-client",))
    assert not is_preflighted({"apollo-require-preflight": "true"}, ("x-vitrine-client",))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("operation", [OperationType.MUTATION, OperationType.SUBSCRIPTION])
def test_only_queries_run_over_get(method: str, operation: OperationType) -> None:
    """A mutation (or subscription) over GET is 405 with `Allow: POST`."""
    with pytest.raises(RequestError) as raised:
        check_method(method, operation)
    assert (raised.value.status, raised.value.code) == (405, "METHOD_NOT_ALLOWED")
    assert raised.value.headers == {"Allow": "POST"}


def test_queries_run_over_get_and_everything_over_post() -> None:
    """Queries may use GET; POST may carry any operation."""
    check_method("GET", OperationType.QUERY)
    for operation in OperationType:
        check_method("POST", operation)


@pytest.mark.parametrize(
    ("query", "operation_name", "expected"),
    [
        ("mutation { __typename }", None, OperationType.MUTATION),
        ("{ __typename }", None, OperationType.QUERY),
        ("query A { a } mutation B { b }", "B", OperationType.MUTATION),
        ("query A { a } mutation B { b }", None, None),
        ("query A { a }", "C", None),
        ("mutation {", None, None),
    ],
)
def test_requested_operation_type_reads_unvalidated_documents(
    query: str, operation_name: str | None, expected: OperationType | None
) -> None:
    """The operation a document asks for is known from parsing alone (for the GET rule)."""
    assert requested_operation_type(query, operation_name) == expected


def test_csrf_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """CSRF prevention is on by default; the header list is comma-separated and lowercased."""
    monkeypatch.delenv("VITRINE_CSRF_PREVENTION", raising=False)
    monkeypatch.delenv("VITRINE_CSRF_REQUIRED_HEADERS", raising=False)
    default = load_settings()
    assert default.csrf_prevention is True
    assert default.csrf_required_headers == DEFAULT_REQUIRED_HEADERS
    monkeypatch.setenv(
        "VITRINE_CSRF_REQUIRED_HEADERS", " X-Vitrine-Client, apollo-require-preflight"
    )
    monkeypatch.setenv("VITRINE_CSRF_PREVENTION", "false")
    custom = load_settings()
    assert custom.csrf_required_headers == ("x-vitrine-client", "apollo-require-preflight")
    assert custom.csrf_prevention is False


@pytest.mark.parametrize("value", [",", "not a header"])
def test_bad_csrf_header_lists_fail_at_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """An empty or malformed header list stops the start, naming the variable."""
    monkeypatch.setenv("VITRINE_CSRF_REQUIRED_HEADERS", value)
    with pytest.raises(SettingsError, match="VITRINE_CSRF_REQUIRED_HEADERS"):
        load_settings()


def test_responses_are_utf8_json_and_not_cacheable() -> None:
    """A response names its media type with the charset and says `Cache-Control: no-store`."""
    response = graphql_response({"data": {}}, GRAPHQL_RESPONSE_JSON)
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert response.headers.getlist("cache-control") == ["no-store"]


def test_request_error_headers_reach_the_client() -> None:
    """A request error's own headers pass through and replace the default Cache-Control
    (an APQ miss is `private, no-cache, must-revalidate`)."""
    error = RequestError(
        200,
        "PERSISTED_QUERY_NOT_FOUND",
        "PersistedQueryNotFound",
        headers={"Cache-Control": "private, no-cache, must-revalidate", "X-Extra": "1"},
    )
    response = error_response(error, JSON)
    assert response.status_code == 200
    assert response.headers.getlist("cache-control") == ["private, no-cache, must-revalidate"]
    assert response.headers["x-extra"] == "1"
    assert response.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), (" 42 ", 42), ("9" * 18, int("9" * 18))])
def test_min_position_is_a_non_negative_integer(raw: str, expected: int) -> None:
    """Vitrine-Min-Position takes up to 18 ASCII digits, spaces around them allowed."""
    assert parse_min_position({"vitrine-min-position": raw}) == expected


@pytest.mark.parametrize("raw", ["", "-1", "1.5", "9" * 19, "\u00b2", "\u0661", "1\u00b9", "0x10"])
def test_min_position_refuses_anything_but_ascii_digits(raw: str) -> None:
    """Anything else is 400 INVALID_HEADER, digits of other scripts included: "²" (a latin-1
    header byte) passes str.isdigit() but int() refuses it, which was a 500."""
    with pytest.raises(RequestError) as refused:
        parse_min_position({"vitrine-min-position": raw})
    assert (refused.value.status, refused.value.code) == (400, "INVALID_HEADER")
