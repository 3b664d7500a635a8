"""Operation limits measured once per document, before validation: depth, aliases, root
fields, directives and tokens, through fragments, cycles and fan-outs; and the document
cache that applies them to free-form text only."""

from __future__ import annotations

import pytest
from graphql import GraphQLError, build_schema, parse

from infra.graphql_documents import DocumentCache, DocumentErrors, PreparedDocument
from infra.operation_cost import DEFAULT_MAX_COST
from infra.operation_limits import (
    SATURATION,
    DocumentMeasures,
    OperationLimits,
    limit_errors,
    measure_document,
)
from infra.pq_wiring import operation_limits
from infra.settings import SettingsError, load_settings

SCHEMA = build_schema(
    """
    type Query { shop: Shop tags: [String!]! }
    type Shop { name: String! owner: Person! }
    type Person { name: String! shop: Shop }
    """
)

# `{`, `shop`, `{`, `name`, `}`, `}`
SIX_TOKENS = "{ shop { name } }"
CHAIN_LENGTH = 3000


def measured(query: str) -> DocumentMeasures:
    return measure_document(parse(query), tokens=0)


def codes(errors: tuple[GraphQLError, ...] | list[GraphQLError]) -> list[str]:
    return [str((e.extensions or {})["code"]) for e in errors]


@pytest.mark.parametrize(
    ("query", "depth"),
    [
        ("{ tags }", 1),
        ("{ shop { owner { name } } }", 3),
        ("{ ...F } fragment F on Query { shop { ... on Shop { owner { name } } } }", 3),
        ("{ shop { ...O } } fragment O on Shop { owner { shop { name } } }", 4),
        ("{ __typename __schema { types { fields { type { ofType { name } } } } } }", 1),
    ],
)
def test_depth_counts_fields_through_fragments_but_not_introspection(
    query: str, depth: int
) -> None:
    """Root fields are depth 1; fragments add no level of their own; `__schema` is not counted."""
    assert measured(query).depth == depth


def test_aliases_root_fields_and_directives_count_every_use() -> None:
    """A fragment spread twice counts twice, as Apollo Router counts it."""
    query = """
        query Q($on: Boolean = true @deprecated) @a {
          ...F @include(if: $on)
          ...F
          tags @skip(if: false)
        }
        fragment F on Query @d { one: shop @b { two: name } ... on Query @c { tags } }
    """
    # directives: $on's, Q's, the spread's, tags', and F's three, twice
    assert measured(query) == DocumentMeasures(
        depth=2, aliases=4, root_fields=5, directives=10, tokens=0
    )


def test_a_document_measures_as_its_largest_operation() -> None:
    """Each measure is the largest of the document's operations."""
    query = "query A { a: tags b: tags } query B { shop { owner { name } } }"
    assert measured(query) == DocumentMeasures(depth=3, aliases=2, root_fields=2)


def test_circular_fragments_are_measured_without_recursing_forever() -> None:
    """A spreads B spreads A: the spread closing the cycle counts as empty (validation refuses it)."""
    query = (
        "{ ...A } fragment A on Query { shop { ...B } }"
        " fragment B on Shop { owner { shop { ...A } } }"
    )
    assert measured(query) == DocumentMeasures(depth=3, root_fields=1)  # shop owner shop


def test_a_fragment_fan_out_saturates_in_linear_time() -> None:
    """60 levels of fragments each spreading the next twice: 2^60 aliases, counted once each."""
    levels = 60
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }} " for i in range(levels)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ a: tags }}"
    assert measured(query) == DocumentMeasures(depth=1, aliases=SATURATION, root_fields=SATURATION)


def test_a_long_fragment_chain_needs_no_recursion() -> None:
    """Thousands of fragments, each spreading the next, are ordered with an explicit stack."""
    fragments = "".join(
        f"fragment F{i} on Shop {{ owner {{ shop {{ ...F{i + 1} }} }} }} "
        for i in range(CHAIN_LENGTH)
    )
    query = f"{{ shop {{ ...F0 }} }} {fragments} fragment F{CHAIN_LENGTH} on Shop {{ name }}"
    assert measured(query).depth == 2 + 2 * CHAIN_LENGTH


def test_each_exceeded_limit_is_one_error_with_the_measure_and_the_limit() -> None:
    """All exceeded limits are reported, each with its code, measured value and maximum."""
    limits = OperationLimits(
        max_depth=2, max_aliases=1, max_root_fields=1, max_directives=0, max_tokens=10
    )
    errors = limit_errors(DocumentMeasures(3, 2, 2, 1, 11), limits)
    assert [(e.message, e.extensions) for e in errors] == [
        (
            "the operation nests fields 3 deep, deeper than the 2 allowed",
            {"code": "MAX_DEPTH_LIMIT", "depth": 3, "maxDepth": 2},
        ),
        (
            "the operation uses 2 aliases, more than the 1 allowed",
            {"code": "MAX_ALIASES_LIMIT", "aliases": 2, "maxAliases": 1},
        ),
        (
            "the operation asks for 2 root fields, more than the 1 allowed: "
            "split it into several operations",
            {"code": "MAX_ROOT_FIELDS_LIMIT", "rootFields": 2, "maxRootFields": 1},
        ),
        (
            "the operation uses 1 directives, more than the 0 allowed",
            {"code": "MAX_DIRECTIVES_LIMIT", "directives": 1, "maxDirectives": 0},
        ),
        (
            "the document has more than 10 tokens: send a smaller one, "
            "or register it as a persisted document",
            {"code": "MAX_TOKENS_LIMIT", "tokens": 11, "maxTokens": 10},
        ),
    ]
    assert limit_errors(DocumentMeasures(2, 1, 1, 0, 10), limits) == ()


def test_the_parser_stops_at_the_token_limit() -> None:
    """n tokens parse, n + 1 are refused unread with MAX_TOKENS_LIMIT."""
    at_limit = DocumentCache(SCHEMA, limits=OperationLimits(max_tokens=6)).get(SIX_TOKENS)
    assert isinstance(at_limit, PreparedDocument)
    assert at_limit.measures == DocumentMeasures(depth=2, root_fields=1, tokens=6)
    over = DocumentCache(SCHEMA, limits=OperationLimits(max_tokens=5)).get(SIX_TOKENS)
    assert isinstance(over, DocumentErrors)
    assert (over.stage, codes(over.errors)) == ("limits", ["MAX_TOKENS_LIMIT"])
    assert over.errors[0].extensions == {"code": "MAX_TOKENS_LIMIT", "tokens": 6, "maxTokens": 5}


@pytest.mark.parametrize(
    "document", ["# a\n" * 5 + SIX_TOKENS, SIX_TOKENS + "\n# b" * 5, "{ shop { # c\n name } }" * 2]
)
def test_comments_count_as_tokens(document: str) -> None:
    """Comments cost the parser as much as tokens: a document padded with them is refused too."""
    limits = OperationLimits(max_tokens=10)
    refused = DocumentCache(SCHEMA, limits=limits).get(document)
    assert isinstance(refused, DocumentErrors)
    assert (refused.stage, codes(refused.errors)) == ("limits", ["MAX_TOKENS_LIMIT"])


def test_a_prepared_document_knows_its_token_count_comments_included() -> None:
    """Six tokens and two comments are eight."""
    prepared = DocumentCache(SCHEMA, limits=OperationLimits(max_tokens=8)).get(
        SIX_TOKENS + "\n# a\n# b"
    )
    assert isinstance(prepared, PreparedDocument)
    assert prepared.measures == DocumentMeasures(depth=2, root_fields=1, tokens=8)


def test_limits_are_checked_before_validation() -> None:
    """A document over a limit is refused for it, even one validation would refuse too."""
    cache = DocumentCache(SCHEMA, limits=OperationLimits(max_aliases=1))
    refused = cache.get("{ a: nope b: nope }")
    assert isinstance(refused, DocumentErrors)
    assert (refused.stage, codes(refused.errors)) == ("limits", ["MAX_ALIASES_LIMIT"])
    invalid = cache.get("{ a: nope }")
    assert isinstance(invalid, DocumentErrors)
    assert invalid.stage == "validation"


def test_trusted_documents_skip_the_limits_but_free_form_text_never_does() -> None:
    """A registered document over the limits is prepared; the same text sent as free-form
    text is still refused; a text refused first is prepared when asked for as trusted."""
    cache = DocumentCache(SCHEMA, limits=OperationLimits(max_depth=2, max_tokens=5))
    deep = "{ shop { owner { name } } }"
    trusted = cache.get(deep, trusted=True)
    assert isinstance(trusted, PreparedDocument)
    assert codes(trusted.limit_errors) == ["MAX_DEPTH_LIMIT", "MAX_TOKENS_LIMIT"]
    free_form = cache.get(deep)
    assert isinstance(free_form, DocumentErrors)
    assert (free_form.stage, codes(free_form.errors)) == (
        "limits",
        ["MAX_DEPTH_LIMIT", "MAX_TOKENS_LIMIT"],
    )
    other = "{ shop { owner { shop { name } } } }"
    assert isinstance(cache.get(other), DocumentErrors)
    assert isinstance(cache.get(other, trusted=True), PreparedDocument)
    assert isinstance(cache.get(other), DocumentErrors)


def test_a_cache_without_limits_parses_up_to_the_ceiling() -> None:
    """Without limits (tools, tests) only the parser's ceiling holds, and nothing is measured."""
    prepared = DocumentCache(SCHEMA).get(SIX_TOKENS)
    assert isinstance(prepared, PreparedDocument)
    assert (prepared.measures, prepared.limit_errors) == (None, ())


def test_a_document_nested_past_the_parser_is_a_parse_error() -> None:
    """Nesting deeper than the interpreter allows is a parse error, never a RecursionError."""
    nested = "{" + "shop { owner { " * 400 + "name" + " } }" * 400 + "}"
    refused = DocumentCache(SCHEMA, limits=OperationLimits(max_tokens=15_000)).get(nested)
    assert isinstance(refused, DocumentErrors)
    assert refused.stage == "parse"
    assert (
        refused.errors[0].message == "Syntax Error: Document is nested too deeply. Parsing aborted."
    )


def test_the_settings_carry_the_limits_and_refuse_bad_values_at_start_up() -> None:
    """VITRINE_MAX_* reach the document cache's limits; a bad value names its variable."""
    settings = load_settings(max_depth=12, max_tokens=2000)
    assert operation_limits(settings) == OperationLimits(max_depth=12, max_tokens=2000)
    assert load_settings().max_cost == DEFAULT_MAX_COST == 5000
    with pytest.raises(SettingsError) as caught:
        load_settings(max_depth=0, max_cost="lots")
    assert "VITRINE_MAX_DEPTH: Input should be greater than or equal to 1 (got 0)" in str(
        caught.value
    )
    assert "VITRINE_MAX_COST: Input should be a valid integer" in str(caught.value)
