"""Cache keys: what changes the answer changes the key, and nothing else does."""

from __future__ import annotations

import hashlib

from graphql import parse, print_ast

from infra.response_cache.keys import (
    ANONYMOUS_PUBLIC,
    Fingerprints,
    Vary,
    cache_key,
    canonical_variables,
    document_fingerprint,
    vary_for,
)
from infra.response_cache.policy import Scope

QUERY = "query P($slug: String!) { product(slug: $slug) { title } }"
GENERATIONS = {"catalog": 1, "creators": 1}
FINGERPRINT = document_fingerprint(parse(QUERY))


def key(**overrides: object) -> str:
    args: dict[str, object] = {
        "fingerprint": FINGERPRINT,
        "operation_name": "P",
        "variables": {"slug": "mug", "first": 2},
        "vary": ANONYMOUS_PUBLIC,
        "generations": GENERATIONS,
    }
    args.update(overrides)
    return cache_key(**args)  # type: ignore[arg-type]


def test_same_inputs_same_key_in_any_variable_order() -> None:
    """Equal variables in another order, or nested, give the same 40-hex-digit key."""
    assert key() == key(variables={"first": 2, "slug": "mug"})
    assert len(key()) == 40
    assert canonical_variables({"b": {"y": 1, "x": 2}, "a": 1}) == b'{"a":1,"b":{"x":2,"y":1}}'
    assert canonical_variables(None) == canonical_variables({}) == b"{}"


def test_every_part_of_the_answer_changes_the_key() -> None:
    """Document, operation name, variables, vary and generations each give a distinct key."""
    keys = {
        key(),
        key(fingerprint=document_fingerprint(parse("{ products { totalCount } }"))),
        key(operation_name=None),
        key(variables={"slug": "cup", "first": 2}),
        key(vary=Vary(segments=("vip",))),
        key(vary=Vary(viewer="u1")),
        key(generations={"catalog": 2, "creators": 1}),
    }
    assert len(keys) == 7


def test_public_answers_vary_by_segments_only() -> None:
    """PUBLIC: the viewer's id is ignored and segments are a sorted set; no segments is anonymous."""
    assert vary_for(Scope.PUBLIC, "u1", []) == ANONYMOUS_PUBLIC
    assert vary_for(Scope.PUBLIC, "u1", ["vip", "b2b", "vip"]) == Vary(segments=("b2b", "vip"))
    assert vary_for(Scope.PUBLIC, "u2", ["b2b", "vip"]) == vary_for(
        Scope.PUBLIC, None, ["vip", "b2b"]
    )


def test_private_answers_vary_by_viewer() -> None:
    """PRIVATE: each viewer and segment set has its own entry, anonymous viewers share one."""
    assert vary_for(Scope.PRIVATE, "u1", ["vip"]) == Vary(viewer="u1", segments=("vip",))
    assert vary_for(Scope.PRIVATE, "u1", []) == Vary(viewer="u1")
    assert vary_for(Scope.PRIVATE, None, []) == Vary(viewer="")
    assert Vary(viewer="u1").encode() == b'["u1",[]]'
    assert Vary(viewer="u1", segments=("a", "b")).encode() == b'["u1",["a","b"]]'
    assert Vary(segments=("a", "b")).encode() == b'[null,["a","b"]]'
    # A segment holding the separator of another encoding is still one segment.
    assert Vary(segments=("a,b",)).encode() != Vary(segments=("a", "b")).encode()


def test_fingerprint_is_the_source_text_hash_and_is_computed_once() -> None:
    """Two parses of the same text share a fingerprint; the memo is per document object."""
    fingerprints = Fingerprints()
    first, second = parse(QUERY), parse(QUERY)
    assert fingerprints.of(first) == fingerprints.of(second) == FINGERPRINT
    assert hashlib.sha256(QUERY.encode()).hexdigest() == FINGERPRINT
    unlocated = parse(QUERY, no_location=True)
    assert fingerprints.of(unlocated) == hashlib.sha256(print_ast(unlocated).encode()).hexdigest()


def test_private_answers_vary_by_the_viewers_roles_and_creator() -> None:
    """One customer with other roles or another creator id is another PRIVATE identity."""
    from infra.response_cache.front import viewer_vary_parts
    from resolvers.viewer import Viewer

    customer = Viewer("cu-1", frozenset({"CUSTOMER"}), frozenset({"vip"}), None)
    creator = Viewer("cu-1", frozenset({"CUSTOMER", "CREATOR"}), frozenset({"vip"}), "cr-1")
    other = Viewer("cu-1", frozenset({"CUSTOMER", "CREATOR"}), frozenset({"vip"}), "cr-2")
    identities = {viewer_vary_parts(v)[0] for v in (customer, creator, other)}
    assert len(identities) == 3
    assert viewer_vary_parts(customer) == ('["cu-1",["CUSTOMER"],null]', ("vip",))
    assert vary_for(Scope.PRIVATE, *viewer_vary_parts(customer)) != vary_for(
        Scope.PRIVATE, *viewer_vary_parts(creator)
    )
