"""Cache hints and the static policy of operations (Apollo's rules), without I/O."""

from __future__ import annotations

import pytest
from graphql import build_schema, parse

from infra.response_cache.policy import (
    NOT_CACHEABLE,
    CacheHint,
    CachePolicy,
    PolicyCache,
    Scope,
    operation_policy,
    unknown_hints,
)
from schema.build import build_schema as build_served_schema
from schema.cache_hints import CACHE_HINTS
from tests.conftest import CONTRACT

SERVED = build_served_schema()._schema
CONTRACT_SCHEMA = build_schema((CONTRACT / "schema.graphql").read_text())
OPERATIONS = {p.stem: p.read_text() for p in (CONTRACT / "operations").glob("*.graphql")}

SMALL = build_schema(
    """
    interface Thing { id: ID! }
    type A implements Thing { id: ID! name: String b: B tags: [String!]! }
    type B implements Thing { id: ID! count: Int secret: String }
    type C { x: Int }
    union AorB = A | B
    type Query { a: A b: B c: C thing: Thing either: AorB n: Int }
    type Mutation { touch: A }
    """
)
HINTS = {
    "A": CacheHint(300, Scope.PUBLIC),
    "B": CacheHint(60),
    "Query.a": CacheHint(120),
    "Query.b": CacheHint(600),
    "Query.n": CacheHint(10),
    "B.secret": CacheHint(scope=Scope.PRIVATE),
}


def small_policy(query: str) -> CachePolicy:
    return operation_policy(SMALL, parse(query), None, HINTS)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("ProductPage", CachePolicy(30, Scope.PUBLIC)),
        ("CategoryListing", CachePolicy(30, Scope.PUBLIC)),
        ("SearchProducts", CachePolicy(30, Scope.PUBLIC)),
        ("CreatorProfile", CachePolicy(30, Scope.PRIVATE)),
    ],
)
def test_catalog_operations_are_cacheable(operation: str, expected: CachePolicy) -> None:
    """The served catalog operations get the minimum of their fields' hints (Inventory's 30 s)."""
    assert operation_policy(SERVED, parse(OPERATIONS[operation]), None, CACHE_HINTS) == expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("Feed", CachePolicy(15, Scope.PRIVATE)),
        ("Trending", CachePolicy(30, Scope.PUBLIC)),
        ("PriceCart", CachePolicy(0, Scope.PRIVATE)),
        ("CreatorDashboard", CachePolicy(30, Scope.PRIVATE)),
        ("Follow", NOT_CACHEABLE),
        ("DismissInsight", NOT_CACHEABLE),
    ],
)
def test_contract_operations_of_later_domains(operation: str, expected: CachePolicy) -> None:
    """On the full contract, the feed is PRIVATE 15 s, dashboards PRIVATE 30 s, carts are never
    reused, mutations never."""
    policy = operation_policy(CONTRACT_SCHEMA, parse(OPERATIONS[operation]), None, CACHE_HINTS)
    assert policy == expected


def test_hints_name_served_types_except_those_of_later_domains() -> None:
    """Every hint names a served type or field, except the ones kept for domains not served yet."""
    assert unknown_hints(SERVED, CACHE_HINTS) == []
    assert unknown_hints(CONTRACT_SCHEMA, CACHE_HINTS) == []


def test_leaf_fields_inherit() -> None:
    """Scalars and lists of scalars restrict nothing: the field returning the object decides."""
    assert small_policy("{ a { id name tags } }") == CachePolicy(120)


def test_field_hint_wins_over_type_hint() -> None:
    """Query.b says 600 and B says 60: the field's own hint applies to the field, B's to nothing else."""
    assert small_policy("{ b { id } }") == CachePolicy(600)
    assert small_policy("{ a { b { id } } }") == CachePolicy(60)


def test_object_field_without_hint_is_not_cacheable() -> None:
    """An object field with no hint on it or its type defaults to max-age 0."""
    assert small_policy("{ c { x } }") == CachePolicy(0)


def test_root_scalar_without_hint_is_not_cacheable() -> None:
    """Root fields default to 0 even when they return a scalar."""
    assert operation_policy(SMALL, parse("{ n }"), None, {}) == CachePolicy(0)
    assert small_policy("{ n a { id } }") == CachePolicy(10)


def test_private_field_makes_the_operation_private() -> None:
    """One PRIVATE field anywhere makes the whole answer private, keeping the minimum max-age."""
    assert small_policy("{ a { b { secret } } }") == CachePolicy(60, Scope.PRIVATE)


def test_fragments_count_every_branch() -> None:
    """Named and inline fragments are walked, whatever their type condition."""
    query = """
    query Q { thing { id ...OnB ... on A { name } } }
    fragment OnB on B { count secret }
    """
    assert operation_policy(SMALL, parse(query), "Q", HINTS) == CachePolicy(60, Scope.PRIVATE)


def test_abstract_type_without_hint_takes_its_most_restrictive_member() -> None:
    """An interface or union without a hint is as cacheable as the least cacheable type it can be."""
    assert small_policy("{ thing { id } }") == CachePolicy(60)
    assert small_policy("{ either { __typename } }") == CachePolicy(60)
    assert operation_policy(SMALL, parse("{ thing { id } }"), None, {"A": CacheHint(5)}) == (
        CachePolicy(0)
    )


def test_mutations_and_introspection_are_never_cacheable() -> None:
    """A mutation gets NOT_CACHEABLE, and so does a query that introspects the schema."""
    assert small_policy("mutation { touch { id } }") == NOT_CACHEABLE
    assert small_policy("{ a { id } __schema { queryType { name } } }") == CachePolicy(0)


def test_the_named_operation_is_the_one_judged() -> None:
    """In a document with several operations, the policy is that of the one asked for."""
    document = parse("query A { a { id } } query N { n } mutation M { touch { id } }")
    assert operation_policy(SMALL, document, "A", HINTS) == CachePolicy(120)
    assert operation_policy(SMALL, document, "N", HINTS) == CachePolicy(10)
    assert operation_policy(SMALL, document, "M", HINTS) == NOT_CACHEABLE
    assert operation_policy(SMALL, document, "missing", HINTS) == NOT_CACHEABLE


def test_policies_are_computed_once_per_document() -> None:
    """The policy cache returns the same object for the same document and forgets dropped ones."""
    policies = PolicyCache(SMALL, HINTS)
    document = parse("{ a { id } }")
    first = policies.policy(document, None)
    assert policies.policy(document, None) is first
    assert first == CachePolicy(120)
    assert len(policies) == 1
    del document
    assert len(policies) == 0


def test_a_fragment_spread_many_times_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fragment is walked once however often it is spread: a document of nested
    fan-outs costs linear time (expanding every spread was exponential: 80 s for 8x8)."""
    from infra.response_cache import policy

    walked: list[str] = []
    original = policy._Walk.selections

    def counting(self: object, selection_set: object, parent: object, *, root: bool) -> None:
        walked.append("x")
        original(self, selection_set, parent, root=root)  # type: ignore[arg-type]

    monkeypatch.setattr(policy._Walk, "selections", counting)
    document = parse(
        "{ a { ...F1 ...F1 } }\n"
        + "\n".join(
            f"fragment F{i} on A {{ b {{ id }} {' '.join(['...F' + str(i + 1)] * 8)} }}"
            for i in range(1, 30)
        )
        + "\nfragment F30 on A { id }"
    )
    assert operation_policy(SMALL, document, None, HINTS) == CachePolicy(60, Scope.PUBLIC)
    # The root, then each of the 30 fragments once, and each `b { id }` below them once.
    assert len(walked) == 1 + 1 + 30 + 29
