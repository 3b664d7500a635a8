"""Fragments in the order that lets each be summarised once, from the ones it spreads.

Measuring a document (its depth, aliases, cost) by expanding every spread
where it stands is exponential for a fan-out (`F1 { ...F2 ...F2 }`,
`F2 { ...F3 ...F3 }`, ...) and never ends on a cycle (`A` spreads `B` spreads
`A`). Summarising each fragment once, after the fragments it spreads, is
linear: a spread then reads its fragment's summary. The order is found with
an explicit stack, so a chain of thousands of fragments cannot exhaust the
interpreter's recursion limit. A spread that closes a cycle, or names no
fragment, is left out of the order's dependencies; the summaries treat it as
empty, and validation rejects the document for it.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)


def fragment_definitions(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragments by name (the first of duplicates: validation rejects those)."""
    found: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            found.setdefault(definition.name.value, definition)
    return found


def spread_names(selection_set: SelectionSetNode) -> Iterator[str]:
    """The names of the fragments spread anywhere in a selection set (not through spreads)."""
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                stack.append(selection.selection_set)


def dependency_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Every fragment name, each after the fragments it spreads (cycles broken anywhere)."""
    spreads = {name: list(spread_names(f.selection_set)) for name, f in fragments.items()}
    order: list[str] = []
    seen: set[str] = set()
    for start in fragments:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(spreads[start]))]
        while stack:
            name, pending = stack[-1]
            for spread in pending:
                if spread in fragments and spread not in seen:
                    seen.add(spread)
                    stack.append((spread, iter(spreads[spread])))
                    break
            else:
                stack.pop()
                order.append(name)
    return order
