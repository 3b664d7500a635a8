"""Malformed requests to /graphql and the exact answers they get (hostile-input e2e test).

Each case is one request (method, path and query string, headers, body) and
the status and `extensions.code`s it must be answered with. Bodies are bytes,
so a case can be anything a client could put on the wire: JSON of the wrong
shape, JSON that is no JSON, invalid UTF-8, megabytes. `signed` cases get the
service key's signature headers at send time (they depend on the body).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

JSON_TYPE = {"content-type": "application/json"}
PREFLIGHT = {"apollo-require-preflight": "true"}
MODERN_TYPE = "application/graphql-response+json"
TYPENAME = '{"query": "{ __typename }"}'
# Deeper than any parser should follow: orjson stops at 1024 levels.
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
MEGABYTES = 1_500_000  # under the 2 MB body limit (VITRINE_MAX_BODY_BYTES)
PAST_THE_LIMIT = 2_100_000


@dataclass(frozen=True)
class Case:
    """A request and its exact answer: `status`, and the code of every error in order."""

    method: str
    target: str
    status: int
    codes: tuple[str, ...]
    body: bytes = b""
    headers: dict[str, str | bytes] = field(default_factory=dict)
    signed: bool = False
    data: object = None  # the `data` of an executed answer, when there is one


def post(body: str | bytes, status: int, *codes: str, **headers: str | bytes) -> Case:
    raw = body.encode() if isinstance(body, str) else body
    return Case("POST", "/graphql", status, codes, raw, {**JSON_TYPE, **headers})


def ran(body: str | bytes, data: object, **headers: str | bytes) -> Case:
    raw = body.encode() if isinstance(body, str) else body
    return Case("POST", "/graphql", 200, (), raw, {**JSON_TYPE, **headers}, data=data)


def get(query_string: str, status: int, *codes: str, **headers: str | bytes) -> Case:
    return Case("GET", "/graphql?" + query_string, status, codes, b"", {**PREFLIGHT, **headers})


def case_params(cases: dict[str, Case]) -> list[object]:
    return [pytest.param(case, id=name) for name, case in cases.items()]


def json_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


# POST /graphql bodies: JSON of the wrong shape, JSON that is no JSON, sizes and encodings.
GRAPHQL_BODIES: dict[str, Case] = {
    "empty": post(b"", 400, "INVALID_JSON"),
    "not-json": post(b"{", 400, "INVALID_JSON"),
    "trailing-garbage": post(TYPENAME + "}", 400, "INVALID_JSON"),
    "raw-nul-after": post(TYPENAME.encode() + b"\x00", 400, "INVALID_JSON"),
    "invalid-utf8": post(b'{"query": "{ __typename \xff }"}', 400, "INVALID_JSON"),
    "overlong-utf8": post(b'{"query": "{ __typename \xc0\xaf }"}', 400, "INVALID_JSON"),
    "utf8-bom": post(b"\xef\xbb\xbf" + TYPENAME.encode(), 400, "INVALID_JSON"),
    "lone-surrogate": post(
        b'{"query": "{ __typename }", "operationName": "\\ud800"}', 400, "INVALID_JSON"
    ),
    "nan": post(b'{"query": "{ __typename }", "variables": {"n": NaN}}', 400, "INVALID_JSON"),
    "number-past-double": post(
        b'{"query": "{ __typename }", "variables": {"n": 1e400}}', 400, "INVALID_JSON"
    ),
    "deep-array": post(DEEP_ARRAY, 400, "INVALID_JSON"),
    "deep-variables": post(
        b'{"query": "{ __typename }", "variables": {"a": ' + DEEP_ARRAY + b"}}", 400, "INVALID_JSON"
    ),
    "array": post(b"[]", 400, "BATCHING_NOT_SUPPORTED"),
    "array-of-operations": post(
        "[" + TYPENAME + "," + TYPENAME + "]", 400, "BATCHING_NOT_SUPPORTED"
    ),
    "string": post(b'"{ __typename }"', 400, "BAD_REQUEST"),
    "number": post(b"12", 400, "BAD_REQUEST"),
    "null": post(b"null", 400, "BAD_REQUEST"),
    "no-query": post(b"{}", 400, "BAD_REQUEST"),
    "query-null": post(b'{"query": null}', 400, "BAD_REQUEST"),
    "query-number": post(b'{"query": 1}', 400, "BAD_REQUEST"),
    "query-true": post(b'{"query": true}', 400, "BAD_REQUEST"),
    "query-array": post(b'{"query": ["{ __typename }"]}', 400, "BAD_REQUEST"),
    "query-object": post(b'{"query": {"query": "{ __typename }"}}', 400, "BAD_REQUEST"),
    "variables-string": post(b'{"query": "{ __typename }", "variables": "{}"}', 400, "BAD_REQUEST"),
    "variables-list": post(b'{"query": "{ __typename }", "variables": []}', 400, "BAD_REQUEST"),
    "variables-number": post(b'{"query": "{ __typename }", "variables": 0}', 400, "BAD_REQUEST"),
    "operation-name-number": post(
        b'{"query": "{ __typename }", "operationName": 3}', 400, "BAD_REQUEST"
    ),
    "operation-name-list": post(
        b'{"query": "{ __typename }", "operationName": ["A"]}', 400, "BAD_REQUEST"
    ),
    "operation-name-unknown": post(
        b'{"query": "{ __typename }", "operationName": "Nope"}', 400, "BAD_REQUEST"
    ),
    "operation-name-nul": post(
        b'{"query": "{ __typename }", "operationName": "\\u0000"}', 400, "BAD_REQUEST"
    ),
    "extensions-list": post(b'{"query": "{ __typename }", "extensions": []}', 400, "BAD_REQUEST"),
    "extensions-string": post(
        b'{"query": "{ __typename }", "extensions": "x"}', 400, "BAD_REQUEST"
    ),
    "persisted-query-string": post(b'{"extensions": {"persistedQuery": "x"}}', 400, "BAD_REQUEST"),
    "persisted-query-version-true": post(
        b'{"extensions": {"persistedQuery": {"version": true, "sha256Hash": "ab"}}}',
        400,
        "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
    ),
    "persisted-query-hash-number": post(
        b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": 5}}}', 400, "BAD_REQUEST"
    ),
    "persisted-query-hash-nul": post(
        b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a\\u0000b"}}}',
        400,
        "BAD_REQUEST",
    ),
    "persisted-query-hash-huge": post(
        json_bytes({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a" * 100_000}}}),
        400,
        "BAD_REQUEST",
    ),
    "persisted-query-unknown-hash": post(
        b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}',
        200,
        "PERSISTED_QUERY_NOT_FOUND",
    ),
    "document-id-number": post(b'{"documentId": 5}', 400, "BAD_REQUEST"),
    "document-id-empty": post(b'{"documentId": ""}', 400, "BAD_REQUEST"),
    "document-id-nul": post(b'{"documentId": "a\\u0000b"}', 400, "INVALID_DOCUMENT_ID"),
    "document-id-unknown": post(
        b'{"documentId": "sha256:' + b"0" * 64 + b'"}', 404, "PERSISTED_QUERY_NOT_IN_LIST"
    ),
    "document-id-and-query": post(
        b'{"documentId": "abc", "query": "{ __typename }"}', 400, "BAD_REQUEST"
    ),
    "query-nul": post(b'{"query": "{ __typename \\u0000 }"}', 400, "GRAPHQL_PARSE_FAILED"),
    "query-blank": post(b'{"query": " \\n\\t "}', 400, "GRAPHQL_PARSE_FAILED"),
    "query-unterminated": post(b'{"query": "{ product(slug: \\""}', 400, "GRAPHQL_PARSE_FAILED"),
    "query-too-many-tokens": post(
        json_bytes({"query": "{" + " __typename" * 20_000 + " }"}), 400, "MAX_TOKENS_LIMIT"
    ),
    "duplicate-keys-last-wins": post(
        b'{"query": "{ __typename }", "query": "{ nope }"}', 400, "GRAPHQL_VALIDATION_FAILED"
    ),
    "variable-past-64-bits": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": 123456789012345678901234567890}}',
        400,
        "BAD_USER_INPUT",
    ),
    "variable-page-size-list": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": [5]}}',
        400,
        "BAD_USER_INPUT",
    ),
    "variable-page-size-object": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": {"a": 1}}}',
        400,
        "BAD_USER_INPUT",
    ),
    "variable-page-size-huge-negative": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": -1e308}}',
        400,
        "BAD_USER_INPUT",
    ),
    "variable-page-size-true": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": true}}',
        400,
        "BAD_USER_INPUT",
    ),
    "variable-of-the-wrong-type": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": "1"}}',
        400,
        "BAD_USER_INPUT",
    ),
    "variables-legacy-media-type": post(
        b'{"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": 1.5}}',
        200,
        "BAD_USER_INPUT",
        accept="application/json",
    ),
    "query-megabytes": ran(
        json_bytes({"query": "{ __typename" + " " * MEGABYTES + "}"}), {"__typename": "Query"}
    ),
    "variables-megabytes": ran(
        json_bytes({"query": "{ __typename }", "variables": {"a": "x" * MEGABYTES}}),
        {"__typename": "Query"},
    ),
    "unicode-escapes": ran(b'{"query": "{ \\u005f_typename }"}', {"__typename": "Query"}),
    "operation-name-megabytes": post(
        json_bytes({"query": "{ __typename }", "operationName": "x" * MEGABYTES}),
        400,
        "BAD_REQUEST",
    ),
    "body-past-the-limit": post(
        json_bytes({"query": "{ __typename" + " " * PAST_THE_LIMIT + "}"}), 413, "PAYLOAD_TOO_LARGE"
    ),
}

# Content types, charsets and CSRF: the body is always `{ __typename }`.
CONTENT_TYPES: dict[str, Case] = {
    "missing": Case("POST", "/graphql", 400, ("CSRF_PREVENTION",), TYPENAME.encode()),
    "missing-preflighted": Case(
        "POST", "/graphql", 415, ("UNSUPPORTED_MEDIA_TYPE",), TYPENAME.encode(), dict(PREFLIGHT)
    ),
    "text-plain": Case(
        "POST",
        "/graphql",
        400,
        ("CSRF_PREVENTION",),
        TYPENAME.encode(),
        {"content-type": "text/plain"},
    ),
    "text-plain-preflighted": Case(
        "POST",
        "/graphql",
        415,
        ("UNSUPPORTED_MEDIA_TYPE",),
        TYPENAME.encode(),
        {"content-type": "text/plain", **PREFLIGHT},
    ),
    "form": Case(
        "POST",
        "/graphql",
        400,
        ("CSRF_PREVENTION",),
        b"query=%7B__typename%7D",
        {"content-type": "application/x-www-form-urlencoded"},
    ),
    "graphql": Case(
        "POST",
        "/graphql",
        415,
        ("UNSUPPORTED_MEDIA_TYPE",),
        b"{ __typename }",
        {"content-type": "application/graphql"},
    ),
    "unparseable": Case(
        "POST",
        "/graphql",
        415,
        ("UNSUPPORTED_MEDIA_TYPE",),
        TYPENAME.encode(),
        {"content-type": "json"},
    ),
    "latin1": Case(
        "POST",
        "/graphql",
        415,
        ("UNSUPPORTED_MEDIA_TYPE",),
        TYPENAME.encode(),
        {"content-type": "application/json; charset=latin1"},
    ),
    "utf16": Case(
        "POST",
        "/graphql",
        415,
        ("UNSUPPORTED_MEDIA_TYPE",),
        TYPENAME.encode("utf-16"),
        {"content-type": "application/json; charset=utf-16"},
    ),
    "utf8-uppercase": Case(
        "POST",
        "/graphql",
        200,
        (),
        TYPENAME.encode(),
        {"content-type": 'APPLICATION/JSON; Charset="UTF-8"'},
        data={"__typename": "Query"},
    ),
    "parameters-galore": Case(
        "POST",
        "/graphql",
        200,
        (),
        TYPENAME.encode(),
        {"content-type": "application/json;;; a=b; charset=utf8; ;"},
        data={"__typename": "Query"},
    ),
    "latin1-bytes": Case(
        "POST",
        "/graphql",
        415,
        ("UNSUPPORTED_MEDIA_TYPE",),
        TYPENAME.encode(),
        {"content-type": b"application/\xe9json"},
    ),
}

# Headers: Authorization, Vitrine-Min-Position and Accept, each garbled.
HEADERS: dict[str, Case] = {
    "authorization-empty": post(TYPENAME, 401, "UNAUTHENTICATED", authorization=""),
    "authorization-basic": post(
        TYPENAME, 401, "UNAUTHENTICATED", authorization="Basic Zm9vOmJhcg=="
    ),
    "authorization-bearer-alone": post(TYPENAME, 401, "UNAUTHENTICATED", authorization="Bearer"),
    "authorization-not-a-jwt": post(TYPENAME, 401, "UNAUTHENTICATED", authorization="Bearer a.b.c"),
    "authorization-alg-none": post(
        TYPENAME,
        401,
        "UNAUTHENTICATED",
        authorization="Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1LTEiLCJleHAiOjk5OTk5OTk5OTl9.",
    ),
    "authorization-forged": post(
        TYPENAME,
        401,
        "UNAUTHENTICATED",
        authorization="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEiLCJleHAiOjk5OTk5OTk5OTl9.c2lnbmF0dXJl",
    ),
    "authorization-latin1": post(
        TYPENAME, 401, "UNAUTHENTICATED", authorization=b"Bearer \xff\xfe\xfd"
    ),
    "authorization-long": post(
        TYPENAME, 401, "UNAUTHENTICATED", authorization="Bearer " + "a" * 8000
    ),
    "min-position-negative": post(
        TYPENAME, 400, "INVALID_HEADER", **{"vitrine-min-position": "-1"}
    ),
    "min-position-word": post(
        TYPENAME, 400, "INVALID_HEADER", **{"vitrine-min-position": "latest"}
    ),
    "min-position-exponent": post(
        TYPENAME, 400, "INVALID_HEADER", **{"vitrine-min-position": "1e5"}
    ),
    "min-position-too-long": post(
        TYPENAME, 400, "INVALID_HEADER", **{"vitrine-min-position": "9" * 19}
    ),
    "min-position-superscript": post(
        TYPENAME, 400, "INVALID_HEADER", **{"vitrine-min-position": b"\xb2"}
    ),
    "min-position-empty": post(TYPENAME, 400, "INVALID_HEADER", **{"vitrine-min-position": ""}),
    "accept-garbage": post(TYPENAME, 406, "NOT_ACCEPTABLE", accept=";;;,,q=x/"),
    "accept-html-only": post(TYPENAME, 406, "NOT_ACCEPTABLE", accept="text/html"),
    "accept-refuses-both": post(
        TYPENAME,
        406,
        "NOT_ACCEPTABLE",
        accept="application/json;q=0, application/graphql-response+json;q=0",
    ),
    "accept-other-charset": post(
        TYPENAME, 406, "NOT_ACCEPTABLE", accept="application/json; charset=latin1"
    ),
    "accept-latin1-bytes": post(TYPENAME, 406, "NOT_ACCEPTABLE", accept=b"application/\xe9"),
    # The server trusts 127.0.0.1 as a proxy: these reach the client-address parser.
    "forwarded-for-garbage": ran(
        TYPENAME, {"__typename": "Query"}, **{"x-forwarded-for": "garbage, , ,unknown"}
    ),
    "forwarded-for-odd-addresses": ran(
        TYPENAME,
        {"__typename": "Query"},
        **{
            "x-forwarded-for": "[::1]:80, ::ffff:10.0.0.1, fe80::1%eth0, 1.2.3.4:99999, 999.1.1.1, [::1"
        },
    ),
    "forwarded-for-thousands": ran(
        TYPENAME,
        {"__typename": "Query"},
        **{"x-forwarded-for": ", ".join(f"10.0.{i // 250}.{i % 250}" for i in range(2000))},
    ),
    "forwarded-for-latin1": ran(
        TYPENAME, {"__typename": "Query"}, **{"x-forwarded-for": b"\xff\xfe, 1.2.3.4"}
    ),
    "client-name-long": ran(
        TYPENAME, {"__typename": "Query"}, **{"apollographql-client-name": "c" * 5000}
    ),
    "client-name-latin1": ran(
        TYPENAME, {"__typename": "Query"}, **{"apollographql-client-name": b"\xff"}
    ),
}

# GET /graphql with odd query strings (all preflighted).
GETS: dict[str, Case] = {
    "invalid-utf8": get("query=%7B__typename%FF%7D", 400, "GRAPHQL_PARSE_FAILED"),
    "nul": get("query=%7B__typename%00%7D", 400, "GRAPHQL_PARSE_FAILED"),
    "no-value": get("query", 400, "GRAPHQL_PARSE_FAILED"),
    "nothing-but-separators": get(";;;&&&===", 400, "BAD_REQUEST"),
    "operation-name-only": get("operationName=x", 400, "BAD_REQUEST"),
    "variables-not-json": get("query=%7B__typename%7D&variables=%7B", 400, "BAD_REQUEST"),
    "variables-list": get("query=%7B__typename%7D&variables=%5B%5D", 400, "BAD_REQUEST"),
    "variables-deep": get(
        "query=%7B__typename%7D&variables=" + "%5B" * 5000 + "%5D" * 5000, 400, "BAD_REQUEST"
    ),
    "extensions-invalid-utf8": get("query=%7B__typename%7D&extensions=%FF", 400, "BAD_REQUEST"),
    "extensions-persisted-query-number": get(
        "extensions=%7B%22persistedQuery%22%3A1%7D", 400, "BAD_REQUEST"
    ),
    "document-id-nul": get("documentId=a%00b", 400, "INVALID_DOCUMENT_ID"),
    "document-id-long": get("documentId=" + "a" * 5000, 400, "INVALID_DOCUMENT_ID"),
    "document-id-bad-sha": get("documentId=sha256:" + "z" * 64, 400, "INVALID_DOCUMENT_ID"),
    "duplicate-query-last-wins": get(
        "query=%7B__typename%7D&query=%7Bnope%7D", 400, "GRAPHQL_VALIDATION_FAILED"
    ),
    "mutation": get("query=mutation%7B__typename%7D", 405, "METHOD_NOT_ALLOWED"),
    "plus-is-a-space": Case(
        "GET",
        "/graphql?query=%7B+__typename+%7D",
        200,
        (),
        b"",
        dict(PREFLIGHT),
        data={"__typename": "Query"},
    ),
    "not-preflighted": Case("GET", "/graphql?query=%7B__typename%7D", 400, ("CSRF_PREVENTION",)),
}
