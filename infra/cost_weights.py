"""What each field of an operation costs: the weights, shared by the requested and actual cost.

The weights follow Shopify's (what its clients already read in
`extensions.cost`), for a schema of Relay connections and short lists:

- a scalar or enum costs 0: it comes with the object that holds it;
- every object returned costs 1 (a product, an edge, a `Money`, a payload);
- fetching a list costs 2 on top of its items: a list of objects, or a
  connection (`products(first: 20)`), whose `edges` and `nodes` are views
  of that one page and cost only their items;
- a mutation root field costs 10 more: it writes.

Requested cost counts each list as long as it may be: its `first` (or
`last`, `limit`) argument, the variable's value (an integral float, which
graphql-core's Int accepts, as its integer; any other non-null value as
PAGE_SIZE_CAP: pricing is never below what runs), the variable's default,
the schema's default, or, for a variable that has none, PAGE_SIZE_CAP, the
largest page the resolvers return. `edges` and `nodes` are as long as their
connection's page. A list without a page argument (a product's images, a
cart's lines) counts UNPAGED_LIST_SIZE items, a generous length for them.
Actual cost uses the same weights over the data returned, lists counted by
their real lengths, null objects by nothing.

Introspection (`__schema`, `__type`) costs nothing: it reads the in-memory
schema, and production refuses it anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    GraphQLArgument,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)

OBJECT_COST = 1
LIST_COST = 2
MUTATION_COST = 10
PAGE_ARGUMENTS = ("first", "last", "limit")
PAGE_SIZE_CAP = 100  # every resolver caps its page at or below it (readmodels' MAX_PAGE_SIZE)
UNPAGED_LIST_SIZE = 10
SATURATION = 2**31 - 1  # costs stop there: orjson writes 64-bit integers, JavaScript 53-bit


@dataclass(frozen=True, slots=True)
class PageSize:
    """A list's length: `value`, unless the request's `variable` (or its default) says."""

    variable: str | None
    value: int

    def resolve(self, variables: Mapping[str, Any] | None, defaults: Mapping[str, int]) -> int:
        name = self.variable
        if name is None:
            return self.value
        given = variables.get(name, defaults.get(name)) if variables else defaults.get(name)
        return self.value if given is None else page_size_of(given)


UNPAGED = PageSize(None, UNPAGED_LIST_SIZE)


@dataclass(frozen=True, slots=True)
class FieldCost:
    """How one field returning objects is charged.

    `weight` is charged per value returned (not null); a list's items are
    charged OBJECT_COST each on top. `in_page`: a list inside a connection,
    as long as the connection's page. `pages`: the page arguments the field
    takes, with the schema's default of the first (None: it is not paged).
    """

    weight: int
    is_list: bool
    in_page: bool
    pages: tuple[tuple[str, ...], int] | None

    def page_size(self, node: FieldNode) -> PageSize:
        """The list length one use of the field asks for (UNPAGED when not paged)."""
        if self.pages is None:
            return UNPAGED
        names, default = self.pages
        for argument in node.arguments or ():
            if argument.name.value not in names:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return PageSize(None, capped(int(value.value)))
            if isinstance(value, VariableNode):
                return PageSize(value.name.value, default)
            return PageSize(None, default)  # null: the resolver's default, at most the cap
        return PageSize(None, default)


def capped(size: int) -> int:
    return max(0, min(size, PAGE_SIZE_CAP))


def page_size_of(value: object) -> int:
    """The page a variable's value asks for, never less than what execution will use.
    graphql-core's Int takes integral floats (`100.0`, and JSON's `1e2` is a float), so
    they count as their integer; a bool or any other value is refused when the variables
    are coerced, but is priced as the largest page all the same."""
    if isinstance(value, bool):
        return PAGE_SIZE_CAP
    if isinstance(value, int):
        return capped(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return capped(int(value))
    return PAGE_SIZE_CAP


def field_cost(
    schema: GraphQLSchema, parent: GraphQLNamedType, definition: GraphQLField
) -> FieldCost | None:
    """How a field is charged; None for a scalar or enum (free)."""
    named = get_named_type(definition.type)
    if not is_composite_type(named):
        return None
    listed = is_list_type(get_nullable_type(definition.type))
    names = tuple(name for name in PAGE_ARGUMENTS if name in definition.args)
    pages = None
    if names:
        fallback = _int_default(definition.args[names[0]])
        pages = (names, PAGE_SIZE_CAP if fallback is None else capped(fallback))
    in_page = listed and pages is None and parent.name in connection_types(schema)
    if listed:
        weight = 0 if in_page else LIST_COST
    else:
        weight = OBJECT_COST + (LIST_COST if pages is not None else 0)
    if parent is schema.mutation_type:
        weight += MUTATION_COST
    return FieldCost(weight, listed, in_page, pages)


def _int_default(argument: GraphQLArgument) -> int | None:
    """An argument's default when it is an integer (a literal from SDL, or a value)."""
    value = argument.default_value
    default = argument.default
    if default is not None:
        literal = default.literal
        value = default.value if literal is None else None
        if isinstance(literal, IntValueNode):
            value = int(literal.value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@lru_cache(maxsize=8)
def connection_types(schema: GraphQLSchema) -> frozenset[str]:
    """Types some paged field returns as one object (a page): ProductConnection, ..."""
    found = set()
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for definition in named.fields.values():
            paged = any(name in definition.args for name in PAGE_ARGUMENTS)
            if paged and not is_list_type(get_nullable_type(definition.type)):
                target = get_named_type(definition.type)
                if is_composite_type(target):
                    found.add(target.name)
    return frozenset(found)
