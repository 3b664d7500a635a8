"""Parse and validate each distinct document once, then reuse it.

Validation alone costs about a millisecond for a storefront query, more than
executing it from warm read models; clients send the same few documents over
and over, so the parsed, validated document is kept in a bounded LRU keyed by
the exact query text.

Free-form text is held to the operation limits (`infra.operation_limits`):
the parser stops at VITRINE_MAX_TOKENS, and the other limits are measured
right after parsing, before validation. Registered persisted documents are
trusted (`get(..., trusted=True)`): parsed up to MAX_TOKENS and never
refused for their shape. An APQ registration is free-form text until it has
passed the limits once. Each operation's cost (`infra.operation_cost`) is
worked out here too, once, after validation.

With introspection off (production's default) the rules refuse `__schema` and
`__type`, and validation messages carry no "Did you mean ...?": a suggestion
would spell out the schema that introspection hides, one guess at a time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    specified_rules,
    validate,
)
from graphql.language.parser import Parser, nested_too_deeply_error
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule

from infra.graphql_request import GraphQLRequest, RequestError
from infra.operation_cost import OperationCost, document_costs
from infra.operation_limits import (
    DocumentMeasures,
    OperationLimits,
    limit_errors,
    measure_document,
    too_many_tokens,
)
from infra.rate_limits.operations import RootSelections, root_selections

# The parser's ceiling for trusted documents (Apollo Router's parser_max_tokens default).
MAX_TOKENS = 15_000
NO_ROOT_SELECTIONS = RootSelections({})


def validation_rules(*, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    """The spec's rules, plus graphql-core's introspection ban when introspection is off."""
    if introspection:
        return tuple(specified_rules)
    return (*specified_rules, NoSchemaIntrospectionCustomRule)


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document that parsed and validated, with its operations' types by name.

    `plans` holds what the plan compiler made of each operation (see
    `persisted_queries.plans`), so a plan lives as long as its document is cached.
    `costs` is each operation's cost; `limit_errors` what the operation limits say
    of the document as free-form text (a trusted document may exceed them).
    """

    document: DocumentNode
    operations: dict[str | None, OperationType]
    plans: dict[str | None, Any] = field(default_factory=dict, compare=False, repr=False)
    costs: dict[str | None, OperationCost] = field(default_factory=dict, compare=False, repr=False)
    measures: DocumentMeasures | None = field(default=None, compare=False, repr=False)
    limit_errors: tuple[GraphQLError, ...] = field(default=(), compare=False, repr=False)
    # Each operation's root fields, counted by name, and its `node` ids: read once here, so
    # that classifying a request for rate limits (reads, writes, explain) never walks the
    # document.
    root_fields: dict[str | None, RootSelections] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root_fields", root_selections(self.document))

    def operation_type(self, operation_name: str | None) -> OperationType | None:
        if operation_name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(operation_name)

    def cost_of(self, operation_name: str | None) -> OperationCost | None:
        """The cost of the operation `operation_name` selects (None if none)."""
        if operation_name is None and len(self.costs) == 1:
            return next(iter(self.costs.values()))
        return self.costs.get(operation_name)

    def root_field_counts(self, operation_name: str | None) -> dict[str, int]:
        """The root fields of the operation `operation_name` selects (empty if none)."""
        return self.root_selections_of(operation_name).fields

    def root_selections_of(self, operation_name: str | None) -> RootSelections:
        """The root selections of the operation `operation_name` selects (none if none)."""
        if operation_name is None and len(self.root_fields) == 1:
            return next(iter(self.root_fields.values()))
        return self.root_fields.get(operation_name, NO_ROOT_SELECTIONS)


@dataclass(frozen=True, slots=True)
class DocumentErrors:
    """Why a document cannot run; `stage` is "parse", "limits" or "validation"."""

    stage: str
    errors: list[GraphQLError]


class DocumentCache:
    """A bounded LRU of prepared documents (failures are cached too, they are as repeatable).

    `introspection=False` refuses introspection and hides suggestions; `rules`
    is what documents were validated with, for others that validate the same way.
    `limits` are the operation limits of free-form text (None: none but MAX_TOKENS).
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        max_entries: int = 2000,
        introspection: bool = True,
        limits: OperationLimits | None = None,
    ) -> None:
        self._schema = schema
        self._limits = limits
        self._trusted_tokens = MAX_TOKENS if limits is None else max(MAX_TOKENS, limits.max_tokens)
        self.introspection = introspection
        self.rules: Collection[type[ASTValidationRule]] = validation_rules(
            introspection=introspection
        )
        self._max_entries = max_entries
        self._entries: OrderedDict[str, PreparedDocument | DocumentErrors] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, query: str, *, trusted: bool = False) -> PreparedDocument | DocumentErrors:
        """The prepared document; `trusted` (a registered persisted document) skips the
        operation limits. A text refused by the limits is prepared again when trusted."""
        entry = self._entries.get(query)
        if entry is not None and not (trusted and _over_limits(entry)):
            self.hits += 1
            self._entries.move_to_end(query)
            return entry if trusted else _as_free_form(entry)
        self.misses += 1
        entry = self._prepare(query, trusted)
        self._entries[query] = entry
        self._entries.move_to_end(query)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return entry if trusted else _as_free_form(entry)

    def _prepare(self, query: str, trusted: bool) -> PreparedDocument | DocumentErrors:
        limits = self._limits
        max_tokens = self._trusted_tokens if trusted or limits is None else limits.max_tokens
        parser = Parser(query, max_tokens=max_tokens)
        try:
            document = parser.parse_document()
        except RecursionError:
            document = None  # the error is made outside this handler: see graphql-core's parse
        except GraphQLError as error:
            if limits is not None and not trusted and _ran_out_of_tokens(error, max_tokens):
                return DocumentErrors("limits", [too_many_tokens(max_tokens)])
            return DocumentErrors("parse", [error])
        if document is None:
            return DocumentErrors("parse", [nested_too_deeply_error(parser)])
        measures: DocumentMeasures | None = None
        refusals: tuple[GraphQLError, ...] = ()
        if limits is not None:
            measures = measure_document(document, parser.token_count)
            refusals = limit_errors(measures, limits)
            if refusals and not trusted:
                return DocumentErrors("limits", list(refusals))
        errors = validate(
            self._schema, document, self.rules, hide_suggestions=not self.introspection
        )
        if errors:
            return DocumentErrors("validation", list(errors))
        nodes = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        names = [d.name.value if d.name else None for d in nodes]
        costs = document_costs(self._schema, document, nodes)
        return PreparedDocument(
            document,
            {name: node.operation for name, node in zip(names, nodes, strict=True)},
            costs=dict(zip(names, costs, strict=True)),
            measures=measures,
            limit_errors=refusals,
        )


def _ran_out_of_tokens(error: GraphQLError, max_tokens: int) -> bool:
    """The parser's (or, in a run of comments, the lexer's) stop at `max_tokens`."""
    return error.message.endswith(f"more than {max_tokens} tokens. Parsing aborted.")


def _over_limits(entry: PreparedDocument | DocumentErrors) -> bool:
    return isinstance(entry, DocumentErrors) and entry.stage == "limits"


def _as_free_form(entry: PreparedDocument | DocumentErrors) -> PreparedDocument | DocumentErrors:
    """A document prepared as trusted, asked for as free-form text, is held to the limits."""
    if isinstance(entry, PreparedDocument) and entry.limit_errors:
        return DocumentErrors("limits", list(entry.limit_errors))
    return entry


class DocumentProvider(Protocol):
    """Turns a request into a runnable document: free-form text, or a persisted one."""

    async def provide(
        self, request: GraphQLRequest, headers: Mapping[str, str]
    ) -> PreparedDocument | DocumentErrors: ...


class TextDocuments:
    """The provider for free-form query text only (no persisted queries)."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache

    async def provide(
        self, request: GraphQLRequest, headers: Mapping[str, str]
    ) -> PreparedDocument | DocumentErrors:
        if request.document_id is not None or (request.extensions or {}).get("persistedQuery"):
            raise RequestError(
                400, "PERSISTED_QUERY_NOT_SUPPORTED", "persisted queries are not enabled"
            )
        if request.query is None:
            raise RequestError(400, "BAD_REQUEST", "`query` must be a non-empty string")
        return self.cache.get(request.query)
