"""Cache hints and the static cache policy of an operation, in the spirit of Apollo's
`@cacheControl`.

A hint gives a max-age and/or a scope to a type (`"Product"`) or a field
(`"Query.products"`). An operation's policy is the minimum max-age and the
most restrictive scope over every field it selects, following Apollo's rules:

- a field's hint wins over its return type's hint;
- a field without either that returns an object, interface or union, and
  every root field without either, gets `default_max_age` (0: not cacheable);
- a leaf field (scalar, enum) without hints inherits: it restricts nothing.

The policy is computed statically from the document, once per prepared
document: `@skip`/`@include` are ignored and every branch of a fragment is
counted, which can only lower the max-age or make the scope PRIVATE, never
the other way round. Mutations and subscriptions are never cacheable.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    is_composite_type,
)


class Scope(StrEnum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


@dataclass(frozen=True, slots=True)
class CacheHint:
    """`max_age` None inherits (restricts nothing); `scope` None means PUBLIC unless
    something else in the operation says PRIVATE."""

    max_age: int | None = None
    scope: Scope | None = None


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long, and for whom, an operation's answer may be reused."""

    max_age: int
    scope: Scope = Scope.PUBLIC

    @property
    def cacheable(self) -> bool:
        return self.max_age > 0


NOT_CACHEABLE = CachePolicy(0)

Hints = Mapping[str, CacheHint]


def unknown_hints(schema: GraphQLSchema, hints: Hints) -> list[str]:
    """Hint names that match no type or field of `schema` (typos, or domains not served yet)."""
    unknown = []
    for name in hints:
        type_name, _, field_name = name.partition(".")
        graphql_type = schema.type_map.get(type_name)
        if graphql_type is None or (
            field_name
            and (
                not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType)
                or field_name not in graphql_type.fields
            )
        ):
            unknown.append(name)
    return sorted(unknown)


def operation_policy(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    hints: Hints,
    *,
    default_max_age: int = 0,
) -> CachePolicy:
    """The policy of one operation of a validated document (NOT_CACHEABLE unless a query)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return NOT_CACHEABLE
    if schema.query_type is None:
        return NOT_CACHEABLE
    walk = _Walk(schema, document, hints, default_max_age)
    walk.selections(operation.selection_set, schema.query_type, root=True)
    max_age = default_max_age if walk.max_age is None else walk.max_age
    return CachePolicy(max(max_age, 0), walk.scope)


class _Walk:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, hints: Hints, default: int
    ) -> None:
        self.schema, self.hints, self.default = schema, hints, default
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.max_age: int | None = None
        self.scope = Scope.PUBLIC
        # The policy is a minimum and a "most private": visiting a fragment twice (at
        # the same root-ness) changes neither, so each is walked once. Expanding every
        # spread instead is exponential in a document of fragments spreading the next
        # one several times (8 levels of 8 spreads: 80 s of CPU for one new document).
        self.visited: set[tuple[str, bool]] = set()

    def restrict(self, hint: CacheHint) -> None:
        if hint.max_age is not None:
            self.max_age = hint.max_age if self.max_age is None else min(self.max_age, hint.max_age)
        if hint.scope is Scope.PRIVATE:
            self.scope = Scope.PRIVATE

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLCompositeType,
        *,
        root: bool,
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, root=root)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, target, root=root)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or (name, root) in self.visited:
                    continue
                self.visited.add((name, root))
                target = self._type(fragment.type_condition.name.value)
                self.selections(fragment.selection_set, target, root=root)

    def field(
        self,
        node: FieldNode,
        parent: GraphQLCompositeType,
        *,
        root: bool,
    ) -> None:
        name = node.name.value
        if name == "__typename":
            return
        fields = getattr(parent, "fields", {})
        definition = fields.get(name)
        if definition is None:
            # Introspection (__schema, __type) and anything unknown: never cached.
            self.restrict(CacheHint(self.default))
            return
        named = get_named_type(definition.type)
        field_hint = self.hints.get(f"{parent.name}.{name}", CacheHint())
        type_hint = self._type_hint(named)
        max_age = field_hint.max_age if field_hint.max_age is not None else type_hint.max_age
        if max_age is None and (root or is_composite_type(named)):
            max_age = self.default
        scope = field_hint.scope or type_hint.scope
        self.restrict(CacheHint(max_age, scope))
        if node.selection_set is not None and is_composite_type(named):
            self.selections(node.selection_set, named, root=False)

    def _type_hint(self, named: GraphQLNamedType) -> CacheHint:
        hint = self.hints.get(named.name)
        if hint is not None or not is_abstract_type(named):
            return hint or CacheHint()
        # An interface or union without its own hint: the most restrictive of
        # the types it can be, so the static policy holds whatever comes back.
        possible = self.schema.get_possible_types(named)
        found = [self.hints.get(t.name) for t in possible]
        if not found or any(h is None or h.max_age is None for h in found):
            return CacheHint(self.default)
        ages = [h.max_age for h in found if h is not None and h.max_age is not None]
        private = any(h is not None and h.scope is Scope.PRIVATE for h in found)
        return CacheHint(min(ages), Scope.PRIVATE if private else None)

    def _type(self, name: str) -> GraphQLCompositeType:
        return cast(GraphQLCompositeType, self.schema.type_map[name])


class PolicyCache:
    """Policies of prepared documents, computed once per (document, operation name).

    Keyed by the document object's identity (hashing a DocumentNode walks the
    whole tree: ~35 us), held through a weak reference so an evicted document
    takes its policies with it.
    """

    def __init__(self, schema: GraphQLSchema, hints: Hints, *, default_max_age: int = 0) -> None:
        self._schema = schema
        self._hints = hints
        self._default = default_max_age
        self._policies: dict[int, tuple[weakref.ref[DocumentNode], dict[str | None, CachePolicy]]]
        self._policies = {}

    def policy(self, document: DocumentNode, operation_name: str | None) -> CachePolicy:
        found = self._policies.get(id(document))
        if found is None or found[0]() is not document:
            key = id(document)
            found = (weakref.ref(document, lambda _: self._policies.pop(key, None)), {})
            self._policies[key] = found
        by_name = found[1]
        policy = by_name.get(operation_name)
        if policy is None:
            policy = by_name[operation_name] = operation_policy(
                self._schema, document, operation_name, self._hints, default_max_age=self._default
            )
        return policy

    def __len__(self) -> int:
        return len(self._policies)
