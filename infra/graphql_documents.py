"""Parse and validate each distinct document once, then reuse it.

Validation alone costs about a millisecond for a storefront query, more than
executing it from warm read models; clients send the same few documents over
and over, so the parsed, validated document is kept in a bounded LRU keyed by
the exact query text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
    validate,
)

from infra.graphql_request import GraphQLRequest, RequestError

MAX_TOKENS = 15_000


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document that parsed and validated, with its operations' types by name.

    `plans` holds what the plan compiler made of each operation (see
    `persisted_queries.plans`), so a plan lives as long as its document is cached.
    """

    document: DocumentNode
    operations: dict[str | None, OperationType]
    plans: dict[str | None, Any] = field(default_factory=dict, compare=False, repr=False)

    def operation_type(self, operation_name: str | None) -> OperationType | None:
        if operation_name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(operation_name)


@dataclass(frozen=True, slots=True)
class DocumentErrors:
    """Why a document cannot run; `stage` is "parse" or "validation"."""

    stage: str
    errors: list[GraphQLError]


class DocumentCache:
    """A bounded LRU of prepared documents (failures are cached too, they are as repeatable)."""

    def __init__(self, schema: GraphQLSchema, *, max_entries: int = 2000) -> None:
        self._schema = schema
        self._max_entries = max_entries
        self._entries: OrderedDict[str, PreparedDocument | DocumentErrors] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, query: str) -> PreparedDocument | DocumentErrors:
        entry = self._entries.get(query)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(query)
            return entry
        self.misses += 1
        entry = self._prepare(query)
        self._entries[query] = entry
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return entry

    def _prepare(self, query: str) -> PreparedDocument | DocumentErrors:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return DocumentErrors("parse", [error])
        errors = validate(self._schema, document, specified_rules)
        if errors:
            return DocumentErrors("validation", list(errors))
        operations = {
            (d.name.value if d.name else None): d.operation
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        return PreparedDocument(document, operations)


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
