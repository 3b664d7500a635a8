"""Compiled plans against the reference executor on generated operations.

`hypothesis-graphql` writes valid operations from a schema; each is then
decorated (aliases, `__typename`, named fragments, `@skip`/`@include` on
literals and on variables) and run by both executors. The served schema runs
against the hand-made read-model world of `tests.resolvers.world`: the
responses must be the same bytes and the plan must not issue more SQL
statements. The in-memory schema of `test_semantics` (its resolvers raise,
return futures, nulls, values their type cannot serialize...) runs queries
and mutations the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import graphql
import hypothesis_graphql
import orjson
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.graphql_documents import PreparedDocument
from resolvers.ids import encode_id
from tests.persisted_queries.plans import test_semantics as semantics
from tests.resolvers import execution
from tests.resolvers.world import (
    CATEGORIES,
    Spec,
    build_specs,
    catalog_world,  # noqa: F401 - the `world` fixture
)

INTROSPECTION = "introspection runs on the reference executor"
DIRECTIVE_VARIABLES = ("v0", "v1", "v2")


# -- values that find rows of the world ---------------------------------------------------------


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


def _int(value: int) -> graphql.IntValueNode:
    return graphql.IntValueNode(value=str(value))


SPECS = build_specs()
KNOWN_STRINGS = sorted(
    {s.slug for s in SPECS}
    | {slug for _, slug, _, _ in CATEGORIES}
    | {"gifts", "ana", "ben", "nobody", "ana-store", "ben-store", "mug", "cup", "eco", "gift", ""}
)
KNOWN_IDS = sorted(
    {encode_id("Product", s.id) for s in SPECS[:12] + SPECS[-3:]}
    | {encode_id("Category", c) for c, _, _, _ in CATEGORIES}
    | {encode_id("Store", "s1"), encode_id("Creator", "cr1"), encode_id("Collection", "k1")}
    | {encode_id("Post", "nope"), encode_id("Nothing", "x"), "not-base64!", "p1", "c1"}
)

WORLD_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "String": st.one_of(
        st.sampled_from(KNOWN_STRINGS), st.text(max_size=6), st.just("x" * 300)
    ).map(_string),
    "ID": st.one_of(st.sampled_from(KNOWN_IDS), st.text(max_size=6)).map(_string),
    "Int": st.one_of(
        st.integers(min_value=-2, max_value=12),
        st.sampled_from([24, 48, 100, 101, 1000, 2**31 - 1, -(2**31)]),
    ).map(_int),
    "Decimal": st.sampled_from(["0", "5", "7.5", "12.25", "40", "-1", "1e3"]).map(_string),
    "DateTime": st.sampled_from(["2026-10-01T00:00:00Z", "2026-11-01T10:00:00+02:00"]).map(_string),
    "Date": st.sampled_from(["2026-10-01", "2026-11-22", "2025-01-01", "2026-13-01"]).map(_string),
}

MEMORY_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "String": st.one_of(
        st.sampled_from(
            ["Rex", "Tom", "Fido", "raise", "graphql-error", "sticker", "Note", "x", ""]
        ),
        st.text(max_size=5),
    ).map(_string),
    "Int": st.integers(min_value=-1, max_value=5).map(_int),
    "Decimal": st.sampled_from(["0", "2.5", "-1"]).map(_string),
    "DateTime": st.just(_string("2026-01-01T00:00:00Z")),
    "Shaky": st.sampled_from(["ok", "raise"]).map(_string),
    "JSON": st.sampled_from(
        [
            graphql.parse_value("{take: 1, keep: 2}"),
            graphql.parse_value('{keep: "x"}'),
            graphql.parse_value("[1, 2]"),
            graphql.parse_value("null"),
        ]
    ),
}


# -- decorating generated documents ------------------------------------------------------------


@st.composite
def decorated(draw: st.DrawFn, operations: st.SearchStrategy[Any]) -> tuple[str, dict[str, Any]]:
    """A generated operation with aliases, `__typename`, named fragments and directives
    added at drawn places; and values for the directive variables it uses."""
    document = graphql.parse(draw(operations))
    fragments: list[graphql.FragmentDefinitionNode] = []
    used: set[str] = set()
    aliases: list[str] = []

    def condition() -> graphql.ValueNode:
        if draw(st.booleans()):
            return graphql.BooleanValueNode(value=draw(st.booleans()))
        name = draw(st.sampled_from(DIRECTIVE_VARIABLES))
        used.add(name)
        return graphql.VariableNode(name=graphql.NameNode(value=name))

    def directives() -> tuple[graphql.DirectiveNode, ...]:
        chosen = []
        names = draw(st.sampled_from([("skip",), ("include",), ("skip", "include")]))
        for name in names:
            argument = graphql.ArgumentNode(name=graphql.NameNode(value="if"), value=condition())
            chosen.append(
                graphql.DirectiveNode(name=graphql.NameNode(value=name), arguments=(argument,))
            )
        return tuple(chosen)

    def selections(selection_set: graphql.SelectionSetNode | None) -> Any:
        if selection_set is None:
            return None
        out: list[Any] = []
        for selection in selection_set.selections:
            changes: dict[str, Any] = {"selection_set": selections(selection.selection_set)}  # type: ignore[attr-defined]
            if draw(st.integers(0, 4)) == 0:
                changes["directives"] = directives()
            if isinstance(selection, graphql.FieldNode):
                if selection.alias is None and draw(st.integers(0, 5)) == 0:
                    aliases.append(selection.name.value)
                    alias = f"a{len(aliases)}_{selection.name.value}"
                    changes["alias"] = graphql.NameNode(value=alias)
            elif (
                isinstance(selection, graphql.InlineFragmentNode)
                and selection.type_condition is not None
                and draw(st.booleans())
            ):
                name = f"F{len(fragments)}"
                fragments.append(
                    graphql.FragmentDefinitionNode(
                        name=graphql.NameNode(value=name),
                        type_condition=selection.type_condition,
                        selection_set=changes["selection_set"],
                        directives=(),
                    )
                )
                out.append(
                    graphql.FragmentSpreadNode(
                        name=graphql.NameNode(value=name),
                        directives=changes.get("directives", selection.directives),
                    )
                )
                continue
            out.append(dataclasses.replace(selection, **changes))
        if draw(st.integers(0, 3)) == 0:
            typename = graphql.FieldNode(name=graphql.NameNode(value="__typename"), directives=())
            out.insert(draw(st.integers(0, len(out))), typename)
        return dataclasses.replace(selection_set, selections=tuple(out))

    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    selection_set = selections(operation.selection_set)
    definitions = tuple(
        graphql.VariableDefinitionNode(
            variable=graphql.VariableNode(name=graphql.NameNode(value=name)),
            type=graphql.NonNullTypeNode(
                type=graphql.NamedTypeNode(name=graphql.NameNode(value="Boolean"))
            ),
            directives=(),
        )
        for name in sorted(used)
    )
    operation = dataclasses.replace(
        operation, selection_set=selection_set, variable_definitions=definitions
    )
    document = dataclasses.replace(document, definitions=(operation, *fragments))
    values = {name: draw(st.booleans()) for name in sorted(used)}
    return graphql.print_ast(document), values


# -- the served schema on the read-model world ---------------------------------------------------


# Found by the generator: a cart whose every line is refused before any lookup nulls
# the whole answer; the loads of its sibling root fields must not outnumber
# graphql-core's, which never starts them.
NULLED_BY_A_CART = """{
  node(id: "p1") { __typename ... on Product { slug } }
  store(slug: "nowhere") { currencyCode }
  creator(handle: "nobody") { viewerFollows }
  priceCart(input: {lines: [{productId: "Q29sbGVjdGlvbjprMQ", quantity: 2147483647}]}) {
    lines { quantity }
  }
}"""

SERVED = decorated(
    hypothesis_graphql.from_schema(execution.SCHEMA._schema, custom_scalars=WORLD_SCALARS)
)


@settings(
    max_examples=800,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=SERVED)
@example(operation=(NULLED_BY_A_CART, {}))
async def test_generated_operations_on_the_world(
    world: tuple[AsyncEngine, list[Spec]], operation: tuple[str, dict[str, Any]]
) -> None:
    engine, _ = world
    query, variables = operation
    prepared = execution.DOCUMENTS.get(query)
    assume(isinstance(prepared, PreparedDocument))
    assert isinstance(prepared, PreparedDocument)
    if execution.PLANS.plan(prepared, None) is None:
        assert prepared.plans[None].reason == INTROSPECTION, (query, prepared.plans)
        return
    reference, reference_count = await execution.run(engine, query, variables)
    compiled, compiled_count = await execution.run(engine, query, variables, compiled=True)
    assert orjson.dumps(compiled) == orjson.dumps(reference), (query, variables)
    assert compiled_count <= reference_count, (query, variables, compiled_count, reference_count)
    event("served operation ran")


# -- the in-memory schema -----------------------------------------------------------------------

# Operations are generated from two parts of the schema: one without asynchronous
# fields, with every non-null failure; one with every asynchronous field, without
# non-null failures. Mixing the two makes races: when a non-null failure nulls a parent
# while sibling futures under it settle within a turn or two, which of their errors
# graphql-core keeps depends on how many loop turns its coroutines take to carry the
# failure up. Plans settle such races by the turn each future settled in (see
# docs/compiled-plans.md), which matches graphql-core in test_semantics' cases but not
# turn for turn in every generated one.
NON_NULL_FAILURES = {
    "Box.nullNonNull",
    "Box.boomNonNull",
    "Box.codedNonNull",
    "Box.noChildNonNull",
    "Box.strictWords",
    "Box.asyncNullNonNull",
    "Box.futureFailNonNull",
    "Box.futureNonNull(value)",
    "Box.futureChildNonNull(present)",
    # Non-null and asynchronous: under `wrongChild` (a Dog where a Box is due) it fails,
    # racing its async siblings' errors.
    "Box.asyncChildNonNull",
    "Scalars.floatNanNonNull",
    "Scalars.shakyNonNull",
    "Mutation.pushFailNonNull",
    "Mutation.pushAsyncFailNonNull",
}


def is_asynchronous(field: str) -> bool:
    name = field.partition(".")[2]
    return name.startswith(("async", "future", "pushAsync", "pushLater")) or name == "coroutines"


def generation_schema(without: Callable[[str], bool]) -> graphql.GraphQLSchema:
    """The in-memory schema without the fields (`Type.field`) and arguments
    (`Type.field(argument)`) that `without` names: a part of it, so what it generates is
    valid for the whole schema."""
    schema = graphql.build_schema(graphql.print_schema(semantics.GATEWAYS["fast"].schema._schema))
    for named in schema.type_map.values():
        if not isinstance(named, graphql.GraphQLObjectType) or named.name.startswith("__"):
            continue
        fields = named.fields
        for name in list(fields):
            if without(f"{named.name}.{name}"):
                del fields[name]
                continue
            for argument in list(fields[name].args):
                if without(f"{named.name}.{name}({argument})"):
                    del fields[name].args[argument]
    return schema


SYNCHRONOUS = generation_schema(is_asynchronous)
ASYNCHRONOUS = generation_schema(lambda f: f in NON_NULL_FAILURES)
MEMORY = decorated(
    st.one_of(
        hypothesis_graphql.from_schema(SYNCHRONOUS, custom_scalars=MEMORY_SCALARS),
        hypothesis_graphql.from_schema(ASYNCHRONOUS, custom_scalars=MEMORY_SCALARS),
    )
)


def test_the_generation_schemas_leave_out_what_they_should() -> None:
    box = ASYNCHRONOUS.type_map["Box"]
    assert isinstance(box, graphql.GraphQLObjectType)
    assert {"future", "asyncChild", "futureNonNull", "asyncGenerated"} <= set(box.fields)
    assert not {"nullNonNull", "boomNonNull"} & set(box.fields)
    assert set(box.fields["futureNonNull"].args) == {"hops"}
    query = ASYNCHRONOUS.query_type
    assert query is not None
    assert {"where", "selection", "appended", "labelled", "pending"} <= set(query.fields)
    box = SYNCHRONOUS.type_map["Box"]
    assert isinstance(box, graphql.GraphQLObjectType)
    assert {"nullNonNull", "boomNonNull", "children"} <= set(box.fields)
    assert not {name for name in box.fields if name.startswith(("async", "future"))}


@settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=MEMORY)
async def test_generated_operations_on_the_in_memory_schema(
    operation: tuple[str, dict[str, Any]],
) -> None:
    query, variables = operation
    for gateway in semantics.GATEWAYS.values():
        prepared = gateway.documents.get(query)
        assume(isinstance(prepared, PreparedDocument))
        await gateway.answer(query, variables)
        await gateway.answer(query, variables, traced=True)
    event("in-memory operation ran")
