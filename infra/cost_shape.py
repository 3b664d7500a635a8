"""The actual cost of an answer: the weights of `infra.cost_weights` over the data returned.

A `Shape` is one place of the response: its fields that hold objects, by
response key, merged as execution merges them (the same key asked for twice,
or through two fragments, is one value in the data). Shapes are worked out
on first use and kept with the document, so pricing an answer walks only
its objects and lists, never the document again; scalars are not visited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)

from infra.cost_weights import OBJECT_COST, FieldCost, field_cost

# (response key, weight per value, is a list, the shape of its objects)
Slot = tuple[str, int, bool, "Shape"]


class Shape:
    """The object-valued fields of one place in the response (computed once, on first use)."""

    __slots__ = ("_fields", "_fragments", "_parts", "_schema")

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        parts: list[tuple[GraphQLNamedType, SelectionSetNode]],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._parts = parts
        self._fields: tuple[Slot, ...] | None = None

    @property
    def fields(self) -> tuple[Slot, ...]:
        if self._fields is None:
            self._fields = self._collect()
        return self._fields

    def cost(self, data: Mapping[str, Any]) -> int:
        """The actual cost of one object of this shape (its fields', not its own).
        Hot: run on every executed answer, so objects without object fields (a `Money`)
        are not entered, and shapes are read through their slots."""
        total = 0
        for key, weight, is_list, shape in self._fields or self.fields:
            value = data.get(key)
            if value is None:
                continue
            deep = shape._fields if shape._fields is not None else shape.fields
            if is_list:
                total += weight + shape._items(value, bool(deep))
            elif deep:
                total += weight + shape.cost(value)
            else:
                total += weight
        return total

    def _items(self, values: list[Any], deep: bool) -> int:
        total = 0
        for item in values:
            if item is None:
                continue
            if type(item) is list:
                total += self._items(item, deep)
            elif deep:
                total += OBJECT_COST + self.cost(item)
            else:
                total += OBJECT_COST
        return total

    def _collect(self) -> tuple[Slot, ...]:
        """Like graphql-core's field collection: all type conditions (the data says which
        applied), each fragment once, @skip and @include ignored (a skipped field is absent)."""
        found: dict[str, tuple[FieldCost, list[tuple[GraphQLNamedType, SelectionSetNode]]]] = {}
        visited: set[str] = set()
        stack = list(self._parts)
        while stack:
            parent, selection_set = stack.pop()
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    self._add(found, parent, selection)
                    continue
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    sub: SelectionSetNode = selection.selection_set
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self._fragments.get(name)
                    if fragment is None or name in visited:
                        continue
                    visited.add(name)
                    condition, sub = fragment.type_condition, fragment.selection_set
                else:  # pragma: no cover - no other kind of selection exists
                    continue
                target = self._schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    stack.append((target, sub))
        return tuple(
            (key, charge.weight, charge.is_list, Shape(self._schema, self._fragments, parts))
            for key, (charge, parts) in found.items()
        )

    def _add(
        self,
        found: dict[str, tuple[FieldCost, list[tuple[GraphQLNamedType, SelectionSetNode]]]],
        parent: GraphQLNamedType,
        node: FieldNode,
    ) -> None:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or fields is None or name not in fields or not node.selection_set:
            return
        definition = fields[name]
        charge = field_cost(self._schema, parent, definition)
        if charge is None:
            return
        key = node.alias.value if node.alias else name
        part = (get_named_type(definition.type), node.selection_set)
        if key in found:
            found[key][1].append(part)
        else:
            found[key] = (charge, [part])
