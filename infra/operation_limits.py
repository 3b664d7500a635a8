"""Operation limits: how deep, how many aliases, root fields, directives and tokens.

A free-form document is measured once, right after parsing and before
validation: validation costs about a millisecond for a storefront query and
more for a hostile one, so a document over a limit is refused before it
gets there (graphql-core's validation would find cycles too, but only after
paying for everything else). The measures are kept with the cached
document; a request pays nothing for them. Registered persisted documents are
trusted and skip the check (their cost is still checked).

What is counted, following Apollo Router's operation limits:

- depth: the deepest field, root fields being 1 (`{ a { b } }` is 2);
  introspection (`__schema`, `__type`) does not count, as in GraphQL Armor,
  or GraphiQL's own schema query would be refused;
- aliases, and directives: every use, fragments counted where spread;
- root fields: the fields of the root selection set, each use counted;
- tokens: what graphql-core's parser reads (comments included); parsing
  stops at the limit, so the count reported is then the limit plus one.

A document is measured as its largest operation. Counts stop at 2^31 - 1: a
fragment fan-out reaches that in 31 levels, and is refused all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from infra.fragment_order import dependency_order, fragment_definitions

SATURATION = 2**31 - 1
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class OperationLimits:
    """The largest free-form document served (VITRINE_MAX_DEPTH, ..., VITRINE_MAX_TOKENS)."""

    max_depth: int = 10
    max_aliases: int = 15
    max_root_fields: int = 20
    max_directives: int = 50
    max_tokens: int = 1000


@dataclass(frozen=True, slots=True)
class DocumentMeasures:
    depth: int = 0
    aliases: int = 0
    root_fields: int = 0
    directives: int = 0
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class _Summary:
    """A selection set's counts; `depth` relative to it, `top` its first-level fields."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    top: int = 0


EMPTY = _Summary()


def measure_document(document: DocumentNode, tokens: int) -> DocumentMeasures:
    """The document's measures: its largest operation's, and its token count."""
    fragments = fragment_definitions(document)
    summaries: dict[str, _Summary] = {}
    for name in dependency_order(fragments):
        fragment = fragments[name]
        summary = _summarise(fragment.selection_set, summaries)
        own = len(fragment.directives or ())
        summaries[name] = replace(summary, directives=_add(summary.directives, own))
    depth = aliases = root_fields = directives = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        summary = _summarise(definition.selection_set, summaries)
        used = len(definition.directives or ()) + sum(
            len(v.directives or ()) for v in definition.variable_definitions or ()
        )
        depth = max(depth, summary.depth)
        aliases = max(aliases, summary.aliases)
        root_fields = max(root_fields, summary.top)
        directives = max(directives, _add(summary.directives, used))
    return DocumentMeasures(depth, aliases, root_fields, directives, tokens)


@dataclass(frozen=True, slots=True)
class _Rule:
    """One limit: the measure it bounds, its code, and how its error says so."""

    measure: str  # the DocumentMeasures and OperationLimits (`max_<measure>`) field
    code: str
    key: str  # the measure's name in the error's extensions (`max<Key>` for the limit)
    message: str  # formatted with `n` (the measure) and `limit`


_RULES = (
    _Rule(
        "depth",
        "MAX_DEPTH_LIMIT",
        "depth",
        "the operation nests fields {n} deep, deeper than the {limit} allowed",
    ),
    _Rule(
        "aliases",
        "MAX_ALIASES_LIMIT",
        "aliases",
        "the operation uses {n} aliases, more than the {limit} allowed",
    ),
    _Rule(
        "root_fields",
        "MAX_ROOT_FIELDS_LIMIT",
        "rootFields",
        "the operation asks for {n} root fields, more than the {limit} allowed: "
        "split it into several operations",
    ),
    _Rule(
        "directives",
        "MAX_DIRECTIVES_LIMIT",
        "directives",
        "the operation uses {n} directives, more than the {limit} allowed",
    ),
)


def limit_errors(measures: DocumentMeasures, limits: OperationLimits) -> tuple[GraphQLError, ...]:
    """One error per limit exceeded (all of them, as Apollo Router reports them)."""
    errors = []
    for rule in _RULES:
        n: int = getattr(measures, rule.measure)
        limit: int = getattr(limits, f"max_{rule.measure}")
        if n > limit:
            max_key = "max" + rule.key[0].upper() + rule.key[1:]
            message = rule.message.format(n=n, limit=limit)
            errors.append(_error(message, rule.code, **{rule.key: n, max_key: limit}))
    if measures.tokens > limits.max_tokens:
        errors.append(too_many_tokens(limits.max_tokens))
    return tuple(errors)


def too_many_tokens(max_tokens: int) -> GraphQLError:
    """The parser stopped at token `max_tokens + 1`: the document is refused unread."""
    return _error(
        f"the document has more than {max_tokens} tokens: send a smaller one, "
        "or register it as a persisted document",
        "MAX_TOKENS_LIMIT",
        tokens=max_tokens + 1,
        maxTokens=max_tokens,
    )


def _error(message: str, code: str, **measured: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **measured})


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATION)


def _summarise(selection_set: SelectionSetNode, summaries: dict[str, _Summary]) -> _Summary:
    """Counts of a selection set, fragments read from `summaries` (missing ones: empty).
    An explicit stack: nesting is bounded by the parser, but a stack costs nothing."""
    depth = aliases = directives = top = 0
    # (selection set, level of its fields, inside introspection: depth not counted)
    stack: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 1, False)]
    while stack:
        current, level, hidden = stack.pop()
        for selection in current.selections:
            directives = _add(directives, len(selection.directives or ()))
            if isinstance(selection, FieldNode):
                top += level == 1
                aliases += selection.alias is not None
                inside = hidden or selection.name.value in INTROSPECTION_FIELDS
                if not inside:
                    depth = max(depth, level)
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, level + 1, inside))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, level, hidden))
            elif isinstance(selection, FragmentSpreadNode):
                spread = summaries.get(selection.name.value, EMPTY)
                aliases = _add(aliases, spread.aliases)
                directives = _add(directives, spread.directives)
                if level == 1:
                    top = _add(top, spread.top)
                if not hidden and spread.depth:
                    depth = max(depth, level - 1 + spread.depth)
    return _Summary(depth, min(aliases, SATURATION), directives, min(top, SATURATION))
