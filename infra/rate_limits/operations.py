"""Which policies a GraphQL operation is charged against, from facts read once per document.

`root_selections` walks a document's top-level selections once, when the
document is prepared (the prepared document keeps the result); per request,
classifying is a look at the operation type and a count over a few names.

`node(id:)` of an Insight runs what `explainInsight` runs, so it pays
`explain` too. Which type an id names is only known per request (a variable)
and only to the resolvers (infra does not decode ids), so the walk keeps each
root `node` selection's `id` argument, a literal or a variable, and the gate
asks a decoder injected by the composition root about each distinct one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
)

# The root field with its own, stricter policy: it runs the whole insight pipeline.
EXPLAIN_FIELD = "explainInsight"
# The root field that runs the same pipeline when its id names an Insight.
NODE_FIELD = "node"


@dataclass(frozen=True, slots=True)
class NodeId:
    """The `id` of a root `node` selection: a `variable`'s value, else the `literal`
    (the id written in the document, or the variable's default)."""

    literal: str | None = None
    variable: str | None = None


@dataclass(frozen=True, slots=True)
class RootSelections:
    """An operation's root fields counted by name, and its `node` ids with how often each
    is selected (ids that cannot name an Insight, like an Int literal, are left out)."""

    fields: dict[str, int]
    node_ids: tuple[tuple[NodeId, int], ...] = ()


_Counts = tuple[Counter[str], Counter[NodeId]]


def root_selections(document: DocumentNode) -> dict[str | None, RootSelections]:
    """Each operation's root selections by name (not alias), fragments followed. Each
    fragment is counted once and reused, so a chain of fragments that spread the next
    one twice costs a walk of the chain, not 2^n."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    counted: dict[str, _Counts] = {}
    found: dict[str | None, RootSelections] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            names, ids = _count(definition.selection_set, fragments, counted)
            defaults = {
                v.variable.name.value: v.default_value.value
                for v in definition.variable_definitions or ()
                if isinstance(v.default_value, StringValueNode)
            }
            node_ids: Counter[NodeId] = Counter()
            for node_id, times in ids.items():
                if node_id.variable is not None:
                    node_id = NodeId(defaults.get(node_id.variable), node_id.variable)
                node_ids[node_id] += times
            name = definition.name.value if definition.name else None
            found[name] = RootSelections(dict(names), tuple(node_ids.items()))
    return found


def root_field_names(document: DocumentNode) -> dict[str | None, dict[str, int]]:
    """Each operation's root fields, counted by name (see `root_selections`)."""
    return {name: found.fields for name, found in root_selections(document).items()}


def _node_id(field: FieldNode) -> NodeId | None:
    for argument in field.arguments or ():
        if argument.name.value == "id":
            if isinstance(argument.value, StringValueNode):
                return NodeId(literal=argument.value.value)
            if isinstance(argument.value, VariableNode):
                return NodeId(variable=argument.value.name.value)
    return None


def _count(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    counted: dict[str, _Counts],
) -> _Counts:
    names: Counter[str] = Counter()
    ids: Counter[NodeId] = Counter()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names[selection.name.value] += 1
            if selection.name.value == NODE_FIELD:
                node_id = _node_id(selection)
                if node_id is not None:
                    ids[node_id] += 1
        elif isinstance(selection, InlineFragmentNode):
            inner_names, inner_ids = _count(selection.selection_set, fragments, counted)
            names.update(inner_names)
            ids.update(inner_ids)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in counted:
                fragment = fragments.get(name)
                # Validation refuses cycles; the empty entry keeps an unvalidated one finite.
                counted[name] = (Counter(), Counter())
                if fragment is not None:
                    counted[name] = _count(fragment.selection_set, fragments, counted)
            names.update(counted[name][0])
            ids.update(counted[name][1])
    return names, ids
