"""Checking manifest documents against the served schema before anything is stored.

Documents are validated with the rules the gateway serves them with (`rules`:
with introspection off, a manifest cannot register an introspection query
that every request would then be refused).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule

from persisted_queries.documents import StoredDocument
from persisted_queries.hashing import MAX_TOKENS, normalized_hash, sha256_hex
from persisted_queries.manifest import (
    ManifestError,
    ManifestOperation,
    ManifestProblem,
    load_manifest,
)
from persisted_queries.store import DocumentStore, PushResult

_OPERATION_NAME = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def check_operations(
    operations: list[ManifestOperation],
    schema: GraphQLSchema,
    *,
    client_name: str = "",
    rules: Collection[type[ASTValidationRule]] = specified_rules,
) -> list[StoredDocument]:
    """Parse and validate every document; any problem rejects them all (ManifestError)."""
    documents: list[StoredDocument] = []
    problems: list[ManifestProblem] = []
    for op in operations:
        document, found = _check(op, schema, rules)
        if found:
            problems += found
        elif document is not None:
            documents.append(document.with_client(client_name))
    if problems:
        raise ManifestError(problems)
    return documents


async def push_manifest(
    store: DocumentStore,
    schema: GraphQLSchema,
    raw: bytes,
    *,
    client_name: str = "",
    rules: Collection[type[ASTValidationRule]] = specified_rules,
) -> PushResult:
    """Read, check and store a manifest (ManifestError or DocumentIdConflictError if refused)."""
    documents = check_operations(load_manifest(raw), schema, client_name=client_name, rules=rules)
    return await store.add_manifest(documents, client_name)


def _check(
    op: ManifestOperation, schema: GraphQLSchema, rules: Collection[type[ASTValidationRule]]
) -> tuple[StoredDocument | None, list[ManifestProblem]]:
    def problem(message: str) -> ManifestProblem:
        return ManifestProblem(message, op.name or _first_operation_name(op.body), op.id)

    try:
        document = parse(op.body, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return None, [problem(f"does not parse: {_describe(error)}")]
    errors = validate(schema, document, rules)
    if errors:
        return None, [problem(f"does not validate: {_describe(e)}") for e in errors]
    operations = {
        (d.name.value if d.name else None): d.operation.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }
    name: str | None = None
    kind: str | None = None
    if op.name is not None:
        if op.name not in operations:
            return None, [problem(f"the document has no operation named {op.name}")]
        name, kind = op.name, operations[op.name]
    elif len(operations) == 1:
        ((name, kind),) = operations.items()
    if op.type is not None and kind != op.type:
        return None, [problem(f"`type` is {op.type} but the operation is a {kind}")]
    return (
        StoredDocument(
            client_name="",
            id=op.id,
            source="manifest",
            body=op.body,
            sha256=sha256_hex(op.body),
            operation_name=name,
            operation_type=kind,
            normalized_hash=normalized_hash(op.body),
        ),
        [],
    )


def _first_operation_name(body: str) -> str | None:
    """The name a map-format entry's errors go by (the map itself names nothing)."""
    match = _OPERATION_NAME.search(body)
    return match.group(1) if match else None


def _describe(error: GraphQLError) -> str:
    where = ", ".join(f"line {loc.line}, column {loc.column}" for loc in error.locations or [])
    return f"{error.message} ({where})" if where else error.message
