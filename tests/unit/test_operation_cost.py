"""The cost function on a small inline schema: Shopify-like weights, page sizes from
arguments and variables, fragments, abstract types, and the actual cost of answers."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, build_schema, parse

from infra.cost_formula import Cost
from infra.cost_weights import PAGE_SIZE_CAP, SATURATION, UNPAGED_LIST_SIZE
from infra.operation_cost import OperationCost, cost_extension, cost_limit_error, operation_cost
from infra.response_cache.entry import CachedResponse
from infra.response_cache.policy import Scope

SCHEMA = build_schema(
    """
    interface Node { id: ID! }
    type Query {
      shop: Shop
      items(first: Int = 5, after: String): ItemConnection!
      top(limit: Int): [Item!]!
      tags: [String!]!
      node(id: ID!): Node
      search: [Result!]!
    }
    type Mutation { buy(id: ID!): Receipt! }
    type Shop { name: String! owner: Person! items(first: Int): ItemConnection! }
    type Person { name: String! }
    type ItemConnection { edges: [ItemEdge!]! nodes: [Item!]! pageInfo: PageInfo! total: Int! }
    type ItemEdge { cursor: String! node: Item! }
    type PageInfo { hasNextPage: Boolean! }
    type Item implements Node {
      id: ID! name: String! price: Money! images: [Image!]! related(limit: Int): [Item!]!
    }
    type Image { url: String! }
    type Money { amount: String! }
    type Receipt { item: Item! }
    union Result = Item | Person
    """
)

PAGE = "{ items(first: 4) { total pageInfo { hasNextPage } edges { cursor node { name } } } }"
BY_VARIABLE = "query ($n: Int) { items(first: $n) { nodes { id } } }"
FAN_OUT_LEVELS = 40


def cost_of(query: str) -> OperationCost:
    document = parse(query)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operation_cost(SCHEMA, document, operation)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ shop { name } }", 1),
        ("{ tags }", 0),
        ("{ __typename shop { __typename } }", 1),
        ("{ top(limit: 3) { name } }", 2 + 3 * 1),
        ("{ top { name } }", 2 + PAGE_SIZE_CAP),
        ("{ top(limit: 1000) { name } }", 2 + PAGE_SIZE_CAP),
        (PAGE, 3 + 1 + 4 * (1 + 1)),
        ("{ items { nodes { id } } }", 3 + 5),
        ("{ shop { owner { name } } }", 2),
        ("{ top(limit: 1) { images { url } } }", 2 + 1 * (1 + 2 + UNPAGED_LIST_SIZE)),
        ('mutation { buy(id: "1") { item { name } } }', 1 + 10 + 1),
        ("{ a: shop { ...S } b: shop { ...S } } fragment S on Shop { owner { name } }", 4),
        ("{ search { ... on Item { price { amount } } ... on Person { name } } }", 2 + 10 * 2),
        ('{ node(id: "1") { ... on Item { price { amount } images { url } } } }', 1 + 1 + 12),
        ("{ __schema { types { fields { name } } } }", 0),
    ],
)
def test_requested_cost_follows_the_weights(query: str, expected: int) -> None:
    """Scalars 0, objects 1, lists and connections 2 plus their items, mutations 10 more;
    fragments and type conditions all count; introspection is free."""
    assert cost_of(query).requested(None) == expected


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (None, 3 + 5),  # the schema's default
        ({"n": 2}, 3 + 2),
        ({"n": 1000}, 3 + PAGE_SIZE_CAP),
        ({"n": -3}, 3),
        ({"n": None}, 3 + 5),
        ({"n": 2.0}, 3 + 2),  # graphql-core's Int takes integral floats
        ({"n": 1e2}, 3 + PAGE_SIZE_CAP),
        ({"n": 1e300}, 3 + PAGE_SIZE_CAP),
        ({"n": 2.5}, 3 + PAGE_SIZE_CAP),
        ({"n": float("nan")}, 3 + PAGE_SIZE_CAP),
        ({"n": float("inf")}, 3 + PAGE_SIZE_CAP),
        ({"n": "12"}, 3 + PAGE_SIZE_CAP),
        ({"n": True}, 3 + PAGE_SIZE_CAP),
        ({"n": False}, 3 + PAGE_SIZE_CAP),
        ({"n": [1]}, 3 + PAGE_SIZE_CAP),
        ({"n": 2**80}, 3 + PAGE_SIZE_CAP),
    ],
)
def test_a_page_variable_is_read_from_the_request(
    variables: dict[str, Any] | None, expected: int
) -> None:
    """`first: $n` costs what the request's `$n` asks for (an integral float as its integer),
    capped, the schema's default when null, and the cap for any value that is not an Int."""
    assert cost_of(BY_VARIABLE).requested(variables) == expected


def test_a_variable_default_then_the_cap_stand_in_for_a_missing_variable() -> None:
    """The variable's own default comes first; without one and without a schema default, the cap."""
    assert cost_of("query ($n: Int = 7) { items(first: $n) { nodes { id } } }").requested({}) == 10
    capped = cost_of("query ($n: Int) { shop { items(first: $n) { nodes { id } } } }")
    assert capped.requested({}) == 1 + 3 + PAGE_SIZE_CAP
    assert capped.requested({"n": 10}) == 1 + 3 + 10


def test_nested_pages_multiply() -> None:
    """A page inside a page costs per item of the outer one."""
    cost = cost_of(
        "query ($a: Int, $b: Int) { top(limit: $a) { name } items(first: $a) { nodes { images { url } } } "
        "shop { items(first: $b) { edges { node { price { amount } } } } } }"
    )
    expected = (2 + 3) + (3 + 3 * (1 + 2 + 10)) + (1 + 3 + 2 * (1 + 1 + 1))
    assert cost.requested({"a": 3, "b": 2}) == expected


def test_a_fragment_fan_out_is_priced_in_linear_time_and_saturates() -> None:
    """F0 spreads F1 twice, F1 spreads F2 twice...: 2^40 uses, priced once per fragment."""
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(FAN_OUT_LEVELS)
    )
    query = f"{{ ...F0 }}\n{fragments}fragment F{FAN_OUT_LEVELS} on Query {{ shop {{ name }} }}"
    cost = cost_of(query)
    assert cost.requested(None) == SATURATION
    assert cost.actual({"shop": {"name": "Mugs"}}) == 1  # execution merges the uses


def chained_lists(width: int, levels: int) -> str:
    """F0 has `width` fields `related(limit: $n) { ...F1 }`, F1 the same with F2, ...: every
    field of a level shares the formula of the next, a DAG of width^levels paths."""
    fragments = []
    for i in range(levels):
        inner = f"...F{i + 1}" if i + 1 < levels else "name"
        fields = " ".join(f"related(limit: $n) {{ {inner} }}" for _ in range(width))
        fragments.append(f"fragment F{i} on Item {{ {fields} }}")
    return "query ($n: Int) { top(limit: 1) { ...F0 } } " + " ".join(fragments)


def chained_lists_cost(width: int, levels: int, n: int) -> int:
    """What `chained_lists` costs, level by level from the last: width lists of n items."""
    level = 0
    for _ in range(levels):
        level = width * (2 + n * (1 + level))
    return min(2 + 1 * (1 + level), SATURATION)


@pytest.mark.parametrize(("width", "levels", "n"), [(3, 4, 2), (8, 8, 1), (30, 8, 1), (30, 8, 0)])
def test_shared_sub_formulas_are_evaluated_once_per_request(
    width: int, levels: int, n: int
) -> None:
    """Sibling fields spreading one fragment are priced exactly, each shared sub-formula once:
    30 fields over 8 levels (30^8 paths, never finishing if walked as a tree) evaluate at once."""
    cost = cost_of(chained_lists(width, levels))
    assert cost.requested({"n": n}) == chained_lists_cost(width, levels, n)


def test_lists_of_two_page_sizes_sharing_a_fragment_are_evaluated_in_linear_time() -> None:
    """`related(limit: $n) { ...F }` next to `related(limit: $m) { ...F }`, 40 levels deep:
    two terms over one sub-formula per level, 2^40 paths, evaluated once each."""
    levels = 40
    fragments = " ".join(
        f"fragment F{i} on Item {{ related(limit: $n) {{ ...F{i + 1} }} "
        f"related(limit: $m) {{ ...F{i + 1} }} }}"
        for i in range(levels)
    )
    query = (
        "query ($n: Int, $m: Int) { top(limit: 1) { ...F0 } } "
        f"{fragments} fragment F{levels} on Item {{ name }}"
    )
    level = 0
    for _ in range(levels):
        level = 2 + 2 + 1 * (1 + level)  # two lists; $n = 1 item, $m = 0
    assert cost_of(query).requested({"n": 1, "m": 0}) == 2 + 1 + level
    assert cost_of(query).requested({"n": 1, "m": 1}) == SATURATION


def test_evaluation_visits_each_sub_formula_once() -> None:
    """Evaluating 8 levels of 8 sibling lists visits each distinct sub-formula once per
    request (the 8 uses of a level share one): 9 visits, where a walk of the tree makes 8^8."""
    cost = cost_of(chained_lists(8, 8))
    visits: list[int] = []
    evaluate = Cost._evaluate

    def counted(self: Cost, *args: Any) -> int:
        visits.append(id(self))
        return evaluate(self, *args)

    Cost._evaluate = counted  # type: ignore[method-assign]
    try:
        for n in (0, 1, 2):
            visits.clear()
            assert cost.requested({"n": n}) == chained_lists_cost(8, 8, n)
            assert len(visits) == len(set(visits))
            assert len(visits) <= 1 + 8  # the formula of one use per level
    finally:
        Cost._evaluate = evaluate  # type: ignore[method-assign]


def test_actual_cost_counts_the_data_returned() -> None:
    """Lists by their real lengths, null objects and null items by nothing."""
    cost = cost_of(PAGE)
    data = {
        "items": {
            "total": 2,
            "pageInfo": {"hasNextPage": False},
            "edges": [{"cursor": "a", "node": {"name": "a"}}, None, {"cursor": "b", "node": None}],
        }
    }
    assert cost.actual(data) == 3 + 1 + (1 + 1) + 1
    assert cost.actual(None) == 0
    assert cost_of("{ shop { owner { name } } }").actual({"shop": None}) == 0


def test_actual_cost_merges_repeated_selections_as_execution_does() -> None:
    """A field asked for twice is one value in the data: requested counts both, actual one."""
    cost = cost_of("{ shop { owner { name } } shop { owner { name } } }")
    assert cost.requested(None) == 4
    assert cost.actual({"shop": {"owner": {"name": "Ana"}}}) == 2


def test_actual_cost_follows_aliases_fragments_and_type_conditions() -> None:
    """Aliased keys, fields of fragments and of each type condition are found in the data."""
    cost = cost_of(
        "{ found: search { ... on Item { price { amount } ...Pictures } ... on Person { name } } }"
        " fragment Pictures on Item { images { url } }"
    )
    data = {
        "found": [
            {"price": {"amount": "1"}, "images": [{"url": "a"}, {"url": "b"}]},
            {"name": "Ana"},
        ]
    }
    assert cost.actual(data) == 2 + (1 + 1 + (2 + 2)) + 1


def test_a_mutation_costs_ten_more_per_root_field() -> None:
    """The write is priced in the requested and in the actual cost."""
    cost = cost_of('mutation { buy(id: "1") { item { name } } }')
    assert cost.actual({"buy": {"item": {"name": "Mug"}}}) == 12


def test_the_cost_extension_has_shopifys_shape() -> None:
    """extensions.cost: requested, actual, and the throttle status when there is one."""
    assert cost_extension(12, 8) == {
        "requestedQueryCost": 12,
        "actualQueryCost": 8,
        "throttleStatus": None,
    }
    status = {"maximumAvailable": 1000.0, "currentlyAvailable": 988.0, "restoreRate": 50.0}
    assert cost_extension(12, 8, status)["throttleStatus"] == status


def test_the_cost_limit_error_names_both_numbers_and_the_way_out() -> None:
    """COST_LIMIT_EXCEEDED carries the cost and the maximum, and says to ask for less."""
    error = cost_limit_error(2229, 2000)
    assert error.message == (
        "this operation may cost 2229, more than the 2000 allowed per request: ask for fewer "
        "items (a smaller `first`), or split it into several operations"
    )
    assert error.extensions == {"code": "COST_LIMIT_EXCEEDED", "cost": 2229, "maxCost": 2000}


def test_a_cached_answer_keeps_its_actual_cost_through_the_shared_level() -> None:
    """The entry's actual cost survives encoding for Redis; older entries decode without one."""
    entry = CachedResponse.build(
        b'{"shop":null}',
        frozenset({"shop"}),
        stamp=3,
        created_at=1.5,
        max_age=30,
        stale_for=30,
        scope=Scope.PUBLIC,
        actual_cost=42,
    )
    assert CachedResponse.decode(entry.encode()).actual_cost == 42
    older = b'{"t":[],"s":1,"c":1.0,"m":1,"w":1,"p":"PUBLIC","e":"W/\\"x\\""}\n{}'
    assert CachedResponse.decode(older).actual_cost is None
