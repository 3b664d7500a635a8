"""Direct resolvers for the fields that need none of Strawberry's per-field machinery.

Strawberry wraps every field, even a plain attribute, in its own resolver
(an Info object, argument conversion, extension hooks): about 1,300 such
calls for a 48-product listing. After the schema is built, this module
swaps them, field by field, for the cheapest equivalent:

- a plain field becomes an attribute read of the row (`operator.attrgetter`);
- a resolver function whose arguments are all scalars is called directly
  with graphql-core's info (which has the same `.context`) and its
  arguments renamed to their Python names.

Fields with enum or input-object arguments (the listings, one or two per
request) keep Strawberry's resolver, which converts those arguments.

Each direct resolver carries `vitrine_direct = (function, takes_info, names)`
so that compiled plans (persisted_queries.plans) can call `function` itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

DEFINITION = "strawberry-definition"


def install_fast_resolvers(schema: GraphQLSchema) -> int:
    """Replace Strawberry's resolvers where a direct one is equivalent; returns how many."""
    replaced = 0
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field in graphql_type.fields.values():
            resolve = _direct_resolver(field)
            if resolve is not None:
                field.resolve = resolve
                replaced += 1
    return replaced


def _direct_resolver(field: GraphQLField) -> Callable[..., Any] | None:
    definition = (field.extensions or {}).get(DEFINITION)
    if definition is None or definition.extensions:
        return None
    if definition.base_resolver is None:
        getter = attrgetter(definition.python_name)
        return lambda source, _info: getter(source)
    resolver = definition.base_resolver
    if resolver.is_async or resolver.self_parameter is not None:
        return None
    if not all(
        _is_scalar(field.args[a.graphql_name or a.python_name].type)
        for a in resolver.arguments
        if (a.graphql_name or a.python_name) in field.args
    ):
        return None
    function = resolver.wrapped_func
    names = {graphql: python for graphql, python in _argument_names(resolver, field).items()}
    direct = _direct_call(resolver, function, names)
    if direct is not None:
        direct.vitrine_direct = (function, resolver.info_parameter is not None, names)  # type: ignore[attr-defined]
    return direct


def _direct_call(resolver: Any, function: Any, names: dict[str, str]) -> Callable[..., Any] | None:
    takes_root = resolver.root_parameter is not None
    takes_info = resolver.info_parameter is not None
    positional = list(inspect.signature(function).parameters)
    root_first = takes_root and positional[0] == resolver.root_parameter.name
    if not root_first:
        return None
    if takes_info and positional[1] != resolver.info_parameter.name:
        return None
    if takes_info:
        if not names:
            return lambda source, info: function(source, info)
        return lambda source, info, **args: function(
            source, info, **{names[k]: v for k, v in args.items()}
        )
    if not names:
        return lambda source, _info: function(source)
    return lambda source, _info, **args: function(source, **{names[k]: v for k, v in args.items()})


def _argument_names(resolver: Any, field: GraphQLField) -> dict[str, str]:
    names = {}
    for argument in resolver.arguments:
        for graphql_name in field.args:
            if graphql_name in (argument.graphql_name, _camel(argument.python_name)):
                names[graphql_name] = argument.python_name
    return names


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _is_scalar(graphql_type: Any) -> bool:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return isinstance(graphql_type, GraphQLScalarType)
