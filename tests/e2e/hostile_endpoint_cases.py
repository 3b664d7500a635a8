"""Requests to every endpoint that no client should send, and their exact answers.

Methods and paths nobody serves, POST /events with and without the service
key, /admin/persisted-queries with what it cannot store, and raw bytes that
only a socket sends (see `hostile_cases` for the Case type and /graphql).
"""

from __future__ import annotations

from tests.e2e.hostile_cases import DEEP_ARRAY, JSON_TYPE, TYPENAME, Case, json_bytes

# Methods other than GET and POST, on every endpoint; paths nobody serves.
METHODS: dict[str, Case] = {
    **{
        f"graphql-{m.lower()}": Case(m, "/graphql", 405, ("METHOD_NOT_ALLOWED",))
        for m in ("PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
    },
    **{
        f"events-{m.lower()}": Case(m, "/events", 405, ("METHOD_NOT_ALLOWED",))
        for m in ("GET", "PUT", "DELETE", "OPTIONS")
    },
    **{
        f"admin-{m.lower()}": Case(m, "/admin/persisted-queries", 405, ("METHOD_NOT_ALLOWED",))
        for m in ("PUT", "PATCH", "DELETE")
    },
    "admin-unknown-post": Case(
        "POST", "/admin/persisted-queries/unknown", 405, ("METHOD_NOT_ALLOWED",)
    ),
    "nowhere": Case("GET", "/nowhere", 404, ("NOT_FOUND",)),
    "graphql-subpath": Case(
        "POST", "/graphql/x", 404, ("NOT_FOUND",), TYPENAME.encode(), dict(JSON_TYPE)
    ),
}

# POST /events without the service key: refused before the body counts.
EVENTS_UNSIGNED: dict[str, Case] = {
    "no-authorization": Case("POST", "/events", 401, ("UNAUTHENTICATED",), b"[]", dict(JSON_TYPE)),
    "garbage-key": Case(
        "POST",
        "/events",
        401,
        ("UNAUTHENTICATED",),
        b"[]",
        {**JSON_TYPE, "authorization": "Bearer nope"},
    ),
    "latin1-key": Case(
        "POST",
        "/events",
        401,
        ("UNAUTHENTICATED",),
        b"[",
        {**JSON_TYPE, "authorization": b"Bearer \xff"},
    ),
    "unsigned-service-key": Case(
        "POST",
        "/events",
        401,
        ("UNAUTHENTICATED",),
        b"[]",
        {**JSON_TYPE, "authorization": "Bearer e2e-service-token"},
    ),
    "garbled-signature": Case(
        "POST",
        "/events",
        401,
        ("UNAUTHENTICATED",),
        b"[]",
        {
            **JSON_TYPE,
            "authorization": "Bearer e2e-service-token",
            "vitrine-timestamp": b"\xb2",
            "vitrine-nonce": b"\xe9" * 20,
            "vitrine-signature": "v1=zz",
        },
    ),
}


def event(kind: object, data: object, **fields: object) -> dict[str, object]:
    return {
        "id": "5f0e3d4c-0000-4000-8000-000000000001",
        "type": kind,
        "occurredAt": "2026-11-22T08:00:00Z",
        "data": data,
        **fields,
    }


def _events(body: bytes, status: int, *codes: str, content_type: str = "application/json") -> Case:
    return Case("POST", "/events", status, codes, body, {"content-type": content_type}, signed=True)


# POST /events, signed with the service key: bodies that must store nothing.
EVENTS_SIGNED: dict[str, Case] = {
    "empty": _events(b"", 400, "INVALID_JSON"),
    "not-json": _events(b"[", 400, "INVALID_JSON"),
    "object": _events(b"{}", 400, "INVALID_JSON"),
    "deep": _events(DEEP_ARRAY, 400, "INVALID_JSON"),
    "invalid-utf8": _events(b'[{"id": "\xff"}]', 400, "INVALID_JSON"),
    "empty-batch": _events(b"[]", 400, "EMPTY_BATCH"),
    "junk-items": _events(
        b'[1, "x", null]', 400, "INVALID_EVENT", "INVALID_EVENT", "INVALID_EVENT"
    ),
    "type-number": _events(json_bytes([event(5, {})]), 400, "UNKNOWN_EVENT_TYPE"),
    "unknown-type": _events(json_bytes([event("NoSuchEvent", {})]), 400, "UNKNOWN_EVENT_TYPE"),
    "nul-in-strings": _events(
        json_bytes(
            [
                event(
                    "StoreUpserted",
                    {
                        "storeId": "s\x00",
                        "slug": "x",
                        "name": "n\x00",
                        "currencyCode": "EUR",
                        "ownerCreatorId": "c",
                    },
                )
            ]
        ),
        400,
        "INVALID_EVENT",
        "INVALID_EVENT",
    ),
    "ndjson-bad-line": _events(
        b'{"a": 1}\n{', 400, "INVALID_JSON", content_type="application/x-ndjson"
    ),
    "ndjson-deep": _events(DEEP_ARRAY, 400, "INVALID_JSON", content_type="application/x-ndjson"),
}

# /admin/persisted-queries, with the admin key unless a case says otherwise.
ADMIN: dict[str, Case] = {
    "no-key": Case("GET", "/admin/persisted-queries", 401, ("UNAUTHENTICATED",)),
    "wrong-key": Case(
        "GET",
        "/admin/persisted-queries",
        401,
        ("UNAUTHENTICATED",),
        headers={"authorization": "Bearer nope"},
    ),
    "client-nul": Case("GET", "/admin/persisted-queries?client=%00", 400, ("BAD_REQUEST",)),
    "client-long": Case(
        "GET", "/admin/persisted-queries?client=" + "c" * 1000, 400, ("BAD_REQUEST",)
    ),
    "source-invalid-utf8": Case(
        "GET", "/admin/persisted-queries?source=%FF", 400, ("BAD_REQUEST",)
    ),
    "push-client-nul": Case(
        "POST",
        "/admin/persisted-queries?client=%00",
        400,
        ("BAD_REQUEST",),
        b'{"abc": "{ __typename }"}',
    ),
    "push-not-json": Case("POST", "/admin/persisted-queries", 400, ("INVALID_MANIFEST",), b"["),
    "push-deep": Case("POST", "/admin/persisted-queries", 400, ("INVALID_MANIFEST",), DEEP_ARRAY),
    "push-array": Case("POST", "/admin/persisted-queries", 400, ("INVALID_MANIFEST",), b"[]"),
    "push-id-nul": Case(
        "POST",
        "/admin/persisted-queries",
        400,
        ("INVALID_MANIFEST",),
        json_bytes({"id\x00": "{ __typename }"}),
    ),
    "push-document-broken": Case(
        "POST",
        "/admin/persisted-queries",
        400,
        ("INVALID_MANIFEST",),
        json_bytes({"abc": "{ nope"}),
    ),
    "push-apollo-junk": Case(
        "POST",
        "/admin/persisted-queries",
        400,
        ("INVALID_MANIFEST",) * 6,
        json_bytes(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [1, None, {"id": 5}],
            }
        ),
    ),
    "remove-nul": Case("DELETE", "/admin/persisted-queries/a%00b", 400, ("INVALID_DOCUMENT_ID",)),
    "remove-client-nul": Case(
        "DELETE", "/admin/persisted-queries/abc?client=%00", 400, ("BAD_REQUEST",)
    ),
    "remove-unknown": Case("DELETE", "/admin/persisted-queries/%FF", 404, ("NOT_FOUND",)),
}


def _raw(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"host: 127.0.0.1", b"connection: close"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _sized(body: bytes, length: bytes = b"") -> tuple[bytes, bytes]:
    return (b"content-length", length or str(len(body)).encode())


def _chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"


RAW_JSON = (b"content-type", b"application/json")
RAW_PREFLIGHT = (b"apollo-require-preflight", b"true")
RAW_TYPENAME = TYPENAME.encode()
CHUNKED = (b"transfer-encoding", b"chunked")

# Bytes no HTTP client library sends: uvicorn's parser refuses them before any app code
# runs (`hostile.NOT_HTTP`, status 0 here), or they reach the app and get its answer.
RAW: dict[str, tuple[bytes, int, tuple[str, ...]]] = {
    "target-raw-byte-ff": (
        _raw(b"GET", b"/graphql?query={__typename\xff}", [RAW_PREFLIGHT]),
        0,
        (),
    ),
    "target-raw-space": (_raw(b"GET", b"/graphql?query={ __typename }", [RAW_PREFLIGHT]), 0, ()),
    "target-100-kilobytes": (
        _raw(b"GET", b"/graphql?query=" + b"%20" * 33_000 + b"%7B__typename%7D", [RAW_PREFLIGHT]),
        0,
        (),
    ),
    "events-target-raw-byte": (
        _raw(b"POST", b"/events?\xff", [RAW_JSON, _sized(b"[]")], b"[]"),
        0,
        (),
    ),
    "header-nul": (
        _raw(
            b"POST",
            b"/graphql",
            [RAW_JSON, (b"x-a", b"a\x00b"), _sized(RAW_TYPENAME)],
            RAW_TYPENAME,
        ),
        0,
        (),
    ),
    "header-control-character": (
        _raw(
            b"POST", b"/graphql", [RAW_JSON, (b"x-a", b"\x01"), _sized(RAW_TYPENAME)], RAW_TYPENAME
        ),
        0,
        (),
    ),
    "header-without-colon": (
        _raw(
            b"POST", b"/graphql", [RAW_JSON, (b"x-a", b""), _sized(RAW_TYPENAME)], RAW_TYPENAME
        ).replace(b"x-a: ", b"x-a"),
        0,
        (),
    ),
    "content-length-superscript": (
        _raw(b"POST", b"/graphql", [RAW_JSON, _sized(RAW_TYPENAME, b"\xb2")], RAW_TYPENAME),
        0,
        (),
    ),
    "content-length-negative": (
        _raw(b"POST", b"/graphql", [RAW_JSON, _sized(RAW_TYPENAME, b"-1")], RAW_TYPENAME),
        0,
        (),
    ),
    "content-length-twice": (
        _raw(
            b"POST",
            b"/graphql",
            [RAW_JSON, _sized(RAW_TYPENAME), _sized(RAW_TYPENAME, b"99")],
            RAW_TYPENAME,
        ),
        0,
        (),
    ),
    "content-length-and-chunked": (
        _raw(b"POST", b"/graphql", [RAW_JSON, _sized(b"", b"5"), CHUNKED], _chunked(RAW_TYPENAME)),
        0,
        (),
    ),
    "chunk-size-garbage": (
        _raw(
            b"POST", b"/graphql", [RAW_JSON, CHUNKED], b"zz\r\n" + RAW_TYPENAME + b"\r\n0\r\n\r\n"
        ),
        0,
        (),
    ),
    "method-unknown": (
        _raw(b"FOO", b"/graphql", [RAW_JSON, _sized(RAW_TYPENAME)], RAW_TYPENAME),
        0,
        (),
    ),
    "chunked": (_raw(b"POST", b"/graphql", [RAW_JSON, CHUNKED], _chunked(RAW_TYPENAME)), 200, ()),
    "chunked-past-the-limit": (
        _raw(b"POST", b"/graphql", [RAW_JSON, CHUNKED], _chunked(*[b" " * 1_000_000] * 3)),
        413,
        ("PAYLOAD_TOO_LARGE",),
    ),
    "http-1.0-without-host": (
        b"POST /graphql HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        % len(RAW_TYPENAME)
        + RAW_TYPENAME,
        200,
        (),
    ),
    "absolute-target": (
        _raw(
            b"POST",
            b"http://elsewhere.example/graphql",
            [RAW_JSON, _sized(RAW_TYPENAME)],
            RAW_TYPENAME,
        ),
        200,
        (),
    ),
    "content-type-twice-json-first": (
        _raw(
            b"POST",
            b"/graphql",
            [RAW_JSON, (b"content-type", b"text/plain"), _sized(RAW_TYPENAME)],
            RAW_TYPENAME,
        ),
        200,
        (),
    ),
    "content-type-twice-text-first": (
        _raw(
            b"POST",
            b"/graphql",
            [(b"content-type", b"text/plain"), RAW_JSON, _sized(RAW_TYPENAME)],
            RAW_TYPENAME,
        ),
        400,
        ("CSRF_PREVENTION",),
    ),
    "authorization-twice": (
        _raw(
            b"POST",
            b"/graphql",
            [
                RAW_JSON,
                (b"authorization", b"Bearer x"),
                (b"authorization", b"Basic y"),
                _sized(RAW_TYPENAME),
            ],
            RAW_TYPENAME,
        ),
        401,
        ("UNAUTHENTICATED",),
    ),
    "header-200-kilobytes": (
        _raw(
            b"POST",
            b"/graphql",
            [RAW_JSON, (b"x-big", b"a" * 200_000), _sized(RAW_TYPENAME)],
            RAW_TYPENAME,
        ),
        200,
        (),
    ),
}
