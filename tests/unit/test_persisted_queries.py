"""Persisted-query rules without I/O: hashes, document ids, normalization, manifests."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from graphql import GraphQLError

from persisted_queries.hashing import (
    MAX_TOKENS,
    DocumentTooLargeError,
    InvalidDocumentIdError,
    normalize,
    normalized_hash,
    parse_document_id,
    sha256_hex,
)
from persisted_queries.manifest import ManifestError, load_manifest, parse_manifest
from persisted_queries.memory import ExpiringLRU
from persisted_queries.registration import check_operations
from schema.build import build_schema

SCHEMA = build_schema()._schema

PRODUCT = "query Product($slug: String!) { product(slug: $slug) { id title ...Price } }\nfragment Price on Product { price { final { amount } } }"
PRODUCT_REORDERED = """
# The same operation, fragments first, other whitespace, commas and a comment.
fragment Price on Product {
  price { final { amount, } }
}

query Product($slug: String!) {
  product(slug: $slug) { id, title, ...Price }  # trailing comment
}
"""
SPEC_EXAMPLE = "query ($id: ID!) {\n  user(id: $id) {\n    name\n  }\n}"


def apollo(*operations: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": list(operations),
    }


def op(
    body: str, name: str = "Product", type_: str = "query", id_: str | None = None
) -> dict[str, Any]:
    return {"id": id_ or sha256_hex(body), "name": name, "type": type_, "body": body}


def test_sha256_is_of_the_exact_utf8_text() -> None:
    """The hash is SHA-256 of the UTF-8 bytes, lowercase hex, as in the appendix's example."""
    assert (
        sha256_hex(SPEC_EXAMPLE)
        == "7dba4bd717b41f10434822356a93c32b1fb4907b983e854300ad839f84cdcd6e"
    )
    assert sha256_hex("query($id:ID!){user(id:$id){name}}") == (
        "71f7dc5758652baac68e4a10c50be732b741c892ade2883a99358f52b555286b"
    )
    assert sha256_hex("{ é }") == hashlib.sha256("{ é }".encode()).hexdigest()


def test_sha256_document_ids_look_up_their_hex() -> None:
    """`sha256:` plus 64 lowercase hex is looked up by the hex."""
    hex_ = "7dba4bd717b41f10434822356a93c32b1fb4907b983e854300ad839f84cdcd6e"
    parsed = parse_document_id(f"sha256:{hex_}")
    assert (parsed.key, parsed.sha256) == (hex_, hex_)


@pytest.mark.parametrize("raw", ["abc123", "ProductPage_v2", "a.b~c-d", "x-relay:1f2e", "0" * 32])
def test_custom_and_extension_ids_are_looked_up_as_given(raw: str) -> None:
    """Custom ids (no colon) and `x-` prefixed ids are valid and used as they are."""
    parsed = parse_document_id(raw)
    assert (parsed.key, parsed.sha256) == (raw, None)


@pytest.mark.parametrize(
    "raw",
    [
        "sha256:" + "A" * 64,  # upper case
        "sha256:" + "a" * 63,  # too short
        "md5:0123",  # reserved prefix
        "x-relay:a:b",  # a second colon
        "has space",
        "emoji🙂",
        "x" * 600,
    ],
)
def test_ids_outside_the_appendix_grammar_are_invalid(raw: str) -> None:
    """Ids the GraphQL-over-HTTP appendix does not allow are refused."""
    with pytest.raises(InvalidDocumentIdError):
        parse_document_id(raw)


def test_normalization_ignores_whitespace_comments_commas_and_order() -> None:
    """Reordered definitions, comments and different whitespace normalize alike."""
    assert normalize(PRODUCT) == normalize(PRODUCT_REORDERED)
    assert normalized_hash(PRODUCT) == normalized_hash(PRODUCT_REORDERED)


def test_normalization_treats_the_query_keyword_shorthand_and_string_forms_alike() -> None:
    """`query { }` is the shorthand `{ }`, and a block string equals the same plain string."""
    assert normalize("query { a }") == normalize("{a}")
    assert normalize('{ a(s: """x""") }') == normalize('{ a(s: "x") }')


def test_normalization_keeps_what_changes_meaning() -> None:
    """Another field, argument value, alias or field order is another document."""
    base = normalized_hash('{ product(slug: "a") { id title } }')
    for other in (
        '{ product(slug: "b") { id title } }',
        '{ product(slug: "a") { id } }',
        '{ product(slug: "a") { title id } }',
        '{ p: product(slug: "a") { id title } }',
    ):
        assert normalized_hash(other) != base


def test_normalization_sorts_operations_by_kind_then_name() -> None:
    """Several operations and fragments in any order give one canonical text."""
    one = "query B { b } fragment F on Query { a } query A { a ...F }"
    two = "query A { a ...F }\nquery B { b }\nfragment F on Query { a }"
    assert normalize(one) == normalize(two)
    assert normalize(one).splitlines()[0].startswith("fragment F")


def test_object_values_in_arguments_do_not_split_definitions() -> None:
    """Braces of object values inside parentheses stay in their definition."""
    text = "query Q($f: ProductFilter = {inStock: true}) @x(a: {b: 1}) { products(filter: $f) { totalCount } }"
    assert len(normalize(text).splitlines()) == 1


def test_normalization_refuses_bad_tokens_and_huge_texts() -> None:
    """A lexing error raises, and so does more than MAX_TOKENS tokens."""
    with pytest.raises(GraphQLError):
        normalize('{ a(s: "unterminated) }')
    with pytest.raises(DocumentTooLargeError):
        normalize("{ " + "a " * (MAX_TOKENS + 1) + "}")


def test_apollo_manifest_is_read() -> None:
    """Apollo's manifest gives each operation's id, name, type and body."""
    (operation,) = parse_manifest(apollo(op(PRODUCT)))
    assert (operation.id, operation.name, operation.type, operation.body) == (
        sha256_hex(PRODUCT),
        "Product",
        "query",
        PRODUCT,
    )


def test_relay_map_is_read() -> None:
    """A Relay/Codegen `{id: document}` map gives ids and bodies, without names."""
    operations = load_manifest(orjson.dumps({"abc": PRODUCT, "def": "{ products { totalCount } }"}))
    assert [(o.id, o.name, o.body) for o in operations] == [
        ("abc", None, PRODUCT),
        ("def", None, "{ products { totalCount } }"),
    ]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ([], "not a persisted query manifest"),
        ({"format": "other", "version": 1, "operations": []}, "`format` must be"),
        (
            {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
            "`version` must be 1",
        ),
        (
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": {}},
            "`operations` must be a list",
        ),
        ({"a": 1}, "not a persisted query manifest"),
        ({}, "not a persisted query manifest"),
        (apollo(), "the manifest has no operations"),
    ],
)
def test_malformed_manifests_are_refused(manifest: Any, message: str) -> None:
    """A file in neither format is refused with what was expected."""
    with pytest.raises(ManifestError) as error:
        parse_manifest(manifest)
    assert message in str(error.value)


def test_bad_entries_are_named_by_operation() -> None:
    """Every bad entry is reported, named by its operation name and id."""
    manifest = apollo(
        op(PRODUCT),
        {"id": "x1", "name": "Broken", "type": "query"},
        {"id": "x2", "name": "Weird", "type": "fetch", "body": "{ a }"},
        op("{ a }", name="Spaced", id_="has space"),
    )
    with pytest.raises(ManifestError) as error:
        parse_manifest(manifest)
    assert [str(p) for p in error.value.problems] == [
        "operation Broken (id x1): `body` must be a non-empty string",
        "operation Weird (id x2): `type` must be one of query, mutation, subscription",
        "operation Spaced (id has space): invalid id: a document id may only contain letters,"
        " digits, `-`, `.`, `_`, `~` (and one `:` after a prefix)",
    ]


def test_duplicate_ids_with_different_documents_are_refused() -> None:
    """One id for two documents is refused; the same entry twice is kept once."""
    assert len(parse_manifest(apollo(op(PRODUCT), op(PRODUCT)))) == 1
    with pytest.raises(ManifestError, match="appears twice"):
        parse_manifest(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [op(PRODUCT, id_="a"), op("{ a }", id_="a")],
            }
        )


def test_sha256_ids_must_hash_their_document() -> None:
    """A `sha256:` id whose hex is not the document's SHA-256 is refused."""
    with pytest.raises(ManifestError, match="the document's SHA-256 is"):
        parse_manifest({"sha256:" + "0" * 64: PRODUCT})


def test_registration_validates_against_the_schema_and_names_the_operation() -> None:
    """One invalid document refuses the manifest; the error names it, with the location."""
    bad = "query Broken { product(slug: 1) { nope } }"
    with pytest.raises(ManifestError) as error:
        check_operations(parse_manifest(apollo(op(PRODUCT), op(bad, name="Broken"))), SCHEMA)
    messages = [str(p) for p in error.value.problems]
    assert messages[0].startswith(f"operation Broken (id {sha256_hex(bad)}): does not validate:")
    assert any("nope" in m and "line 1, column" in m for m in messages)
    assert all("Product (" not in m for m in messages)


def test_registration_refuses_documents_that_do_not_parse() -> None:
    """A syntax error is reported as `does not parse`, naming the operation."""
    with pytest.raises(
        ManifestError, match=r"operation Bad \(id .*\): does not parse: Syntax Error"
    ):
        check_operations(parse_manifest(apollo(op("query Bad {", name="Bad"))), SCHEMA)


def test_registration_checks_the_declared_name_and_type() -> None:
    """Apollo's `name` must be an operation of the body, and `type` its type."""
    with pytest.raises(ManifestError, match="no operation named Other"):
        check_operations(parse_manifest(apollo(op(PRODUCT, name="Other"))), SCHEMA)
    with pytest.raises(ManifestError, match="`type` is mutation but the operation is a query"):
        check_operations(parse_manifest(apollo(op(PRODUCT, type_="mutation"))), SCHEMA)


def test_registered_documents_carry_their_hashes() -> None:
    """A checked document has its SHA-256, normalized hash, name and type."""
    (document,) = check_operations(parse_manifest({"rel-1": PRODUCT}), SCHEMA, client_name="ios")
    assert document.client_name == "ios"
    assert (document.id, document.source, document.operation_name, document.operation_type) == (
        "rel-1",
        "manifest",
        "Product",
        "query",
    )
    assert document.sha256 == sha256_hex(PRODUCT)
    assert document.normalized_hash == normalized_hash(PRODUCT_REORDERED)


def test_expiring_lru_forgets_expired_and_least_recent_entries() -> None:
    """Entries expire after their ttl, and the least recently used goes past the bound."""
    now = [0.0]
    lru: ExpiringLRU[str, int] = ExpiringLRU(2, clock=lambda: now[0])
    lru.put("a", 1, ttl=10)
    lru.put("b", 2, ttl=1)
    assert lru.lookup("a") == (True, 1)
    lru.put("c", 3, ttl=10)  # evicts b, the least recently used
    assert lru.lookup("b") == (False, None)
    now[0] = 10.0
    assert lru.lookup("a") == (False, None)
    assert lru.lookup("c") == (False, None)
    assert len(lru) == 0
