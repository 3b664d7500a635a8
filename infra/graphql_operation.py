"""Which operation a /graphql request runs: its document found or its errors answered.

The document comes from the provider (text, `documentId` or APQ hash; parsed
and validated once, then kept); a document that does not parse or validate
is answered here with its errors, a request that never executed (4xx under
`application/graphql-response+json`, 200 under legacy `application/json`).
The operation is then named, and the HTTP method checked against its type:
GET never runs a mutation (405, `Allow: POST`), even one that would not
validate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response

from infra.access_log import OPERATION_KEY
from infra.graphql_documents import MAX_TOKENS, DocumentErrors, DocumentProvider, PreparedDocument
from infra.graphql_errors import error_entry, format_error
from infra.graphql_request import GraphQLRequest, RequestError
from infra.graphql_responses import request_errors_response
from infra.request_metrics import GRAPHQL_ERRORS_KEY


@dataclass(frozen=True, slots=True)
class Operation:
    """The operation a request runs: its prepared document, type and name (the request's
    `operationName`, else the document's only operation's name, else None)."""

    prepared: PreparedDocument
    type: OperationType
    name: str | None


def check_method(method: str, operation: OperationType) -> None:
    """Only queries may run over GET, a safe method: anything else is 405, `Allow: POST`."""
    if method != "POST" and operation is not OperationType.QUERY:
        raise RequestError(
            405,
            "METHOD_NOT_ALLOWED",
            f"a {operation.value} cannot be sent with {method}: use POST",
            headers={"Allow": "POST"},
        )


def requested_operation_type(query: str, operation_name: str | None) -> OperationType | None:
    """The type of the operation a document asks for, read without validating it."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return None if operation is None else operation.operation


async def resolve_operation(
    documents: DocumentProvider,
    request: Request,
    graphql_request: GraphQLRequest,
    media_type: str,
) -> Operation | Response:
    """The request's operation, or the response to a request whose document or operation
    name is wrong (a wrong method raises RequestError 405). The operation is noted in the
    request's scope for the access line."""
    prepared = await documents.provide(graphql_request, request.headers)
    if isinstance(prepared, DocumentErrors):
        if request.method == "GET" and prepared.stage == "validation" and graphql_request.query:
            # A GET mutation is a 405 even where it would not validate (no Mutation type).
            requested = requested_operation_type(
                graphql_request.query, graphql_request.operation_name
            )
            if requested is not None:
                check_method(request.method, requested)
        code = "GRAPHQL_PARSE_FAILED" if prepared.stage == "parse" else "GRAPHQL_VALIDATION_FAILED"
        errors = [format_error(e, default_code=code) for e in prepared.errors]
        return request_errors(request, errors, media_type)
    operation_type = prepared.operation_type(graphql_request.operation_name)
    if operation_type is None:
        message = "`operationName` must name one operation of the document"
        return request_errors(request, [error_entry(message, "BAD_REQUEST")], media_type)
    check_method(request.method, operation_type)
    name = graphql_request.operation_name or first_operation_name(prepared)
    request.scope[OPERATION_KEY] = (operation_type.value, name)  # for the access line
    return Operation(prepared, operation_type, name)


def request_errors(request: Request, errors: list[dict[str, Any]], media_type: str) -> Response:
    """`request_errors_response`, noted in the scope for /metrics' outcome."""
    request.scope[GRAPHQL_ERRORS_KEY] = True
    return request_errors_response(errors, media_type)


def is_persisted(graphql_request: GraphQLRequest) -> bool:
    """A request naming its document by id or APQ hash (a registered or APQ document)."""
    extensions = graphql_request.extensions or {}
    return graphql_request.document_id is not None or "persistedQuery" in extensions


def first_operation_name(prepared: PreparedDocument) -> str | None:
    names = [n for n in prepared.operations if n]
    return names[0] if len(names) == 1 else None
