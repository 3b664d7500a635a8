"""Which policies a GraphQL operation is charged against, from facts read once per document.

`root_field_names` walks a document's top-level selections once, when the
document is prepared (the prepared document keeps the result); per request,
classifying is a look at the operation type and a count over a few names.
"""

from __future__ import annotations

from collections import Counter

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# The root field with its own, stricter policy: it runs the whole insight pipeline.
EXPLAIN_FIELD = "explainInsight"


def root_field_names(document: DocumentNode) -> dict[str | None, dict[str, int]]:
    """Each operation's root fields: how often each is selected, by name (not alias),
    fragments followed. Each fragment is counted once and reused, so a chain of
    fragments that spread the next one twice costs a walk of the chain, not 2^n."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    counted: dict[str, Counter[str]] = {}
    found: dict[str | None, dict[str, int]] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            names = _count(definition.selection_set, fragments, counted)
            found[definition.name.value if definition.name else None] = dict(names)
    return found


def _count(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    counted: dict[str, Counter[str]],
) -> Counter[str]:
    names: Counter[str] = Counter()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names[selection.name.value] += 1
        elif isinstance(selection, InlineFragmentNode):
            names.update(_count(selection.selection_set, fragments, counted))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in counted:
                fragment = fragments.get(name)
                # Validation refuses cycles; the empty entry keeps an unvalidated one finite.
                counted[name] = Counter()
                if fragment is not None:
                    counted[name] = _count(fragment.selection_set, fragments, counted)
            names.update(counted[name])
    return names
