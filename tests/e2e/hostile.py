"""What every answer to hostile input must look like, and a client for bytes httpx won't send.

An answer is never a 500 (a 503 or 504 only with a code), every error in it carries
an `extensions.code`, and nothing in its body or headers shows how the
server is built: no stack traces, file paths, SQL or driver names, no Python
exception reprs. A marker that the request itself carried (an id echoed in
an error message) is not a leak.
"""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from resolvers.errors import ClientError

LEAK_MARKERS = (
    "Traceback",
    'File "',
    "/work/",
    ".py",
    "site-packages",
    "SELECT ",
    "INSERT ",
    "asyncpg",
    "sqlalchemy",
    "psycopg",
    "postgres",
)
# `ValueError(`, `CharacterNotInRepertoireError(`, `KeyError(`...: a Python exception's repr.
EXCEPTION_REPR = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Warning)\(")
CODE = re.compile(r"[A-Z][A-Z0-9_]*")
# A 5xx that says what happened with a code: the read models are unavailable (503), the
# request ran out of time (504). Never a 500.
DELIBERATE_5XX = (503, 504)
# What uvicorn's HTTP parser answers, before any app code runs, to bytes that are not HTTP.
NOT_HTTP = (400, b"Invalid HTTP request received.")


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


# Codes a resolver gives a field error: every client-facing error the resolvers raise.
FIELD_CODES = frozenset({ClientError.code} | {getattr(c, "code") for c in _subclasses(ClientError)})  # noqa: B009


@dataclass(frozen=True)
class Answer:
    """A response, from httpx or from a raw socket."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        return cls(response.status_code, response.headers, response.content)

    def json(self) -> Any:
        return orjson.loads(self.body)

    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.json()["errors"]]


def leaks(answer: Answer, sent: str | bytes = b"") -> list[str]:
    """Markers of the server's insides in the answer that the request did not carry."""
    sent_text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else sent
    texts = [answer.body.decode("utf-8", "replace")]
    texts += [f"{name}: {value}" for name, value in answer.headers.items()]
    found = []
    for text in texts:
        for marker in LEAK_MARKERS:
            if marker in text and marker not in sent_text:
                found.append(marker)
        found += [m for m in EXCEPTION_REPR.findall(text) if m not in sent_text]
    return found


def check_answer(answer: Answer, sent: str | bytes = b"", *, head: bool = False) -> None:
    """The rules every answer keeps, whatever was sent (see the module docstring)."""
    assert answer.status < 500 or answer.status in DELIBERATE_5XX, (
        answer.status,
        answer.body[:500],
    )
    assert not leaks(answer, sent), (leaks(answer, sent), answer.body[:2000])
    if (answer.status, answer.body) == NOT_HTTP or head:
        return
    assert answer.headers.get("content-type", "").startswith(
        ("application/json", "application/graphql-response+json")
    ), (answer.status, answer.headers.get("content-type"), answer.body[:300])
    body = answer.json()
    assert isinstance(body, dict), body
    if answer.status >= 400 or "errors" in body:
        errors = body["errors"]
        assert isinstance(errors, list), body
        assert errors, body
        for error in errors:
            assert isinstance(error["message"], str), error
            assert error["message"], error
            assert CODE.fullmatch(error["extensions"]["code"]), error
        assert "INTERNAL_SERVER_ERROR" not in [e["extensions"]["code"] for e in errors], body


def raw_exchange(url: str, request: bytes, *, timeout: float = 30) -> Answer:
    """Send `request` as is over a new connection (it should say `Connection: close`): for
    bytes no HTTP client library would send."""
    parsed = httpx.URL(url)
    with socket.create_connection((parsed.host, parsed.port or 80), timeout=timeout) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, body)
