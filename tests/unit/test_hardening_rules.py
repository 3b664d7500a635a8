"""The pure parts of the hardened edge: request ids, security headers and the GraphiQL policy,
validation rules with introspection off, masked errors, and the hardening settings."""

from __future__ import annotations

import base64
import hashlib

import pytest
from graphql import GraphQLError, parse, validate

from infra.graphql_documents import DocumentCache, DocumentErrors, validation_rules
from infra.graphql_errors import format_error
from infra.request_ids import MAX_REQUEST_ID_LENGTH, accepted_request_id, masked_entry
from infra.request_limits import declared_too_large
from infra.security_headers import JSON_POLICY, ide_policy, security_headers
from infra.settings import SettingsError, load_settings
from persisted_queries.manifest import ManifestError, parse_manifest
from persisted_queries.registration import check_operations
from schema.build import build_schema

SCHEMA = build_schema()._schema
INTROSPECTION = "{ __schema { description } }"


@pytest.mark.parametrize(
    "raw",
    [b"abc-123", b"Root=1-6789-abc", b"a.b_c:d+e/f=", b"x" * MAX_REQUEST_ID_LENGTH],
)
def test_a_sane_request_id_is_kept(raw: bytes) -> None:
    """Ids of up to 128 characters from the safe alphabet pass through unchanged."""
    assert accepted_request_id(raw) == raw.decode()


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"x" * (MAX_REQUEST_ID_LENGTH + 1), b"a b", b'a"b', b"a\nb", b"caf\xc3\xa9"],
)
def test_an_unsafe_request_id_is_replaced(raw: bytes | None) -> None:
    """A missing, empty, over-long or unsafe id is replaced by 32 fresh hex digits."""
    replaced = accepted_request_id(raw)
    assert len(replaced) == 32
    assert int(replaced, 16) >= 0
    assert accepted_request_id(raw) != replaced


def test_masked_entry_names_only_the_request_id() -> None:
    """The client's view of an unexpected error: the fixed message, the code, the id."""
    assert masked_entry("r-1") == {
        "message": "Unexpected error.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "r-1"},
    }
    assert masked_entry(None) == {
        "message": "Unexpected error.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }


def test_an_unexpected_field_error_is_masked_outside_a_request() -> None:
    """Outside a request (no id) a resolver's exception is still masked, with no requestId."""
    error = GraphQLError("secret detail", path=["product"], original_error=KeyError("x"))
    assert format_error(error, default_code="BAD_USER_INPUT") == {
        "message": "Unexpected error.",
        "path": ["product"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }


def test_security_headers_and_hsts() -> None:
    """Four headers always; Strict-Transport-Security only with a positive max-age."""
    assert security_headers() == [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", JSON_POLICY.encode()),
    ]
    assert security_headers(hsts_seconds=600)[-1] == (b"strict-transport-security", b"max-age=600")


def test_ide_policy_allows_each_inline_script_by_hash() -> None:
    """Each inline script of the page is allowed by its SHA-256, never by 'unsafe-inline'."""
    html = '<script src="https://unpkg.com/x.js"></script><script>a()</script><script>b()</script>'
    digests = [base64.b64encode(hashlib.sha256(s).digest()).decode() for s in (b"a()", b"b()")]
    policy = ide_policy(html)
    assert f"script-src https://unpkg.com 'sha256-{digests[0]}' 'sha256-{digests[1]}';" in policy
    assert "'unsafe-inline'" not in policy.split("style-src")[0]
    assert policy.endswith("frame-ancestors 'none'")


def test_introspection_rule_is_added_only_when_off() -> None:
    """With introspection off, `__schema` fails validation; `__typename` never does."""
    document = parse(INTROSPECTION)
    assert validate(SCHEMA, document, validation_rules(introspection=True)) == []
    (error,) = validate(SCHEMA, document, validation_rules(introspection=False))
    assert error.message == (
        "GraphQL introspection has been disabled, but the requested query contained the "
        "field '__schema'."
    )
    typename = parse("{ __typename }")
    assert validate(SCHEMA, typename, validation_rules(introspection=False)) == []


def test_document_cache_hides_suggestions_with_introspection_off() -> None:
    """The cached validation errors carry "Did you mean" only while introspection is on."""
    shown = DocumentCache(SCHEMA).get("{ produc { id } }")
    hidden = DocumentCache(SCHEMA, introspection=False).get("{ produc { id } }")
    assert isinstance(shown, DocumentErrors)
    assert isinstance(hidden, DocumentErrors)
    assert [e.message for e in shown.errors] == [
        "Cannot query field 'produc' on type 'Query'. Did you mean 'product' or 'products'?"
    ]
    assert [e.message for e in hidden.errors] == ["Cannot query field 'produc' on type 'Query'."]


def test_manifests_are_checked_with_the_served_rules() -> None:
    """With introspection off a manifest holding an introspection query is refused whole."""
    manifest = parse_manifest({"intro": INTROSPECTION})
    assert len(check_operations(manifest, SCHEMA)) == 1
    with pytest.raises(ManifestError) as refused:
        check_operations(manifest, SCHEMA, rules=validation_rules(introspection=False))
    assert "introspection has been disabled" in str(refused.value.problems[0])


@pytest.mark.parametrize(
    ("declared", "expected"),
    [(None, False), ("100", False), ("101", True), ("abc", False), ("-5", False)],
)
def test_declared_length_over_the_limit(declared: str | None, expected: bool) -> None:
    """Only a well-formed Content-Length above the limit refuses a body unread."""
    assert declared_too_large(declared, 100) is expected


def test_hardening_defaults_follow_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Introspection is on in development and off in production unless set; the rest default
    to batching off, a 2 MB body, a 10 s timeout and no HSTS."""
    development = load_settings()
    assert development.introspection_enabled is True
    assert (
        development.batching_max,
        development.max_body_bytes,
        development.request_timeout_ms,
        development.hsts_seconds,
    ) == (0, 2_000_000, 10_000, 0)
    assert load_settings(mode="production").introspection_enabled is False
    monkeypatch.setenv("VITRINE_INTROSPECTION", "true")
    assert load_settings(mode="production").introspection_enabled is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VITRINE_BATCHING_MAX", "-1"),
        ("VITRINE_BATCHING_MAX", "101"),
        ("VITRINE_MAX_BODY_BYTES", "10"),
        ("VITRINE_REQUEST_TIMEOUT_MS", "0"),
        ("VITRINE_HSTS_SECONDS", "-1"),
        ("VITRINE_INTROSPECTION", "maybe"),
    ],
)
def test_bad_hardening_values_fail_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A bad hardening value is a start-up error naming the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
