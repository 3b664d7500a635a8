"""Static depth and cost of an operation, worked out once when it is compiled.

Cost counts every field the operation may resolve, multiplied by the page
size of each enclosing paged field: its `first` (or `last`, `limit`)
argument's literal, its variable's default, or the cap when a variable has no
default. Lists without a page argument (tags, images, a connection's edges)
are short and count once. Fragments count where they are spread.
The numbers are upper bounds known before any request runs; the operation
limits read them from the plan instead of walking the document per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_object_type,
)

MAX_LIST_SIZE = 100
LIST_ARGUMENTS = ("first", "last", "limit")


@dataclass(frozen=True, slots=True)
class OperationCost:
    depth: int
    fields: int
    cost: int


def operation_cost(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> OperationCost:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    defaults = {
        v.variable.name.value: v.default_value
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }
    root = schema.get_root_type(operation.operation)
    walker = _Walker(schema, fragments, defaults)
    depth, fields, cost = walker.selection(root, operation.selection_set, 1, frozenset())
    return OperationCost(depth, fields, cost)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        defaults: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.defaults = defaults

    def selection(
        self, parent: Any, selection_set: SelectionSetNode, level: int, seen: frozenset[str]
    ) -> tuple[int, int, int]:
        depth, fields, cost = level - 1, 0, 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                d, f, c = self.field(parent, selection, level, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                d, f, c = self.selection(target, selection.selection_set, level, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                d, f, c = self.selection(target, fragment.selection_set, level, seen | {name})
            else:  # pragma: no cover - no other selection kinds exist
                continue
            depth, fields, cost = max(depth, d), fields + f, cost + c
        return depth, fields, cost

    def field(
        self, parent: Any, node: FieldNode, level: int, seen: frozenset[str]
    ) -> tuple[int, int, int]:
        definition = None
        if parent is not None and hasattr(parent, "fields"):
            definition = parent.fields.get(node.name.value)
        if definition is None or node.selection_set is None:
            return level, 1, 1
        size = self.list_size(node) if self._paged(node) else 1
        named = get_named_type(definition.type)
        target = named if is_object_type(named) or hasattr(named, "fields") else None
        depth, fields, cost = self.selection(target, node.selection_set, level + 1, seen)
        return depth, fields + 1, 1 + size * cost

    @staticmethod
    def _paged(node: FieldNode) -> bool:
        return any(a.name.value in LIST_ARGUMENTS for a in node.arguments or ())

    def list_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in LIST_ARGUMENTS:
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                value = self.defaults.get(value.name.value)
            if isinstance(value, IntValueNode):
                return max(0, min(int(value.value), MAX_LIST_SIZE))
            return MAX_LIST_SIZE  # a variable without default: assume the cap
        return MAX_LIST_SIZE
