"""`/admin/persisted-queries`: register a manifest, list and remove documents over HTTP.

Authenticated with an API key of the `admin` scope (`vitrine keys create
--scope admin`, or VITRINE_ADMIN_TOKEN), signed if the key requires it: the
composition root passes the guard that checks it. Without any admin key the
endpoint refuses everything (403), so a deployment never exposes it by
accident. The same checks as `vitrine pq push` apply: every document is
parsed and validated against the served schema, and one problem refuses the
whole manifest, naming the operation.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

import orjson
from graphql import GraphQLSchema, specified_rules
from graphql.validation import ASTValidationRule
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persisted_queries.documents import APQ, MANIFEST
from persisted_queries.manifest import ManifestError
from persisted_queries.plans.report import plan_report
from persisted_queries.provider import MAX_CLIENT_NAME, PersistedDocuments
from persisted_queries.registration import push_manifest
from persisted_queries.store import DocumentIdConflictError, DocumentStore

PATH = "/admin/persisted-queries"
MAX_BYTES = 32 * 1024 * 1024


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"errors": [{"message": message, "extensions": {"code": code, **extra}}]}
    return _json(body, status, headers)


class AdminGuard(Protocol):
    async def __call__(self, request: Request) -> Response | None:
        """None lets the request through; otherwise the refusal (401, 403, 413) to send."""
        ...


class PersistedQueriesAdmin:
    """POST a manifest (201), GET the list, DELETE one id; `?client=` picks a client list."""

    def __init__(
        self,
        store: DocumentStore,
        schema: GraphQLSchema,
        *,
        guard: AdminGuard | None,
        provider: PersistedDocuments | None = None,
    ) -> None:
        self._store = store
        self._schema = schema
        self._guard = guard
        self._provider = provider

    def routes(self) -> list[Route]:
        return [
            Route(PATH, self._collection, methods=["GET", "POST"]),
            Route(PATH + "/unknown", self._unknown, methods=["GET"]),
            Route(PATH + "/{document_id:path}", self._remove, methods=["DELETE"]),
        ]

    async def _refusal(self, request: Request) -> Response | None:
        if self._guard is None:
            return _error(
                403,
                "ADMIN_DISABLED",
                "the admin endpoint is off: set VITRINE_ADMIN_TOKEN to enable it",
            )
        return await self._guard(request)

    async def _collection(self, request: Request) -> Response:
        refusal = await self._refusal(request) or _client_refusal(request)
        if refusal is not None:
            return refusal
        client = request.query_params.get("client", "")
        if request.method == "POST":
            return await self._push(request, client)
        source = request.query_params.get("source", MANIFEST)
        if source not in (MANIFEST, APQ):
            return _error(400, "BAD_REQUEST", "`source` is manifest or apq")
        documents = await self._store.list_documents(
            client_name=client if "client" in request.query_params else None, source=source
        )
        return _json({"documents": [d.summary() for d in documents]})

    async def _push(self, request: Request, client: str) -> Response:
        raw = await _bounded_body(request, MAX_BYTES)
        if raw is None:
            return _error(413, "PAYLOAD_TOO_LARGE", f"at most {MAX_BYTES} bytes per manifest")
        try:
            result = await push_manifest(
                self._store, self._schema, raw, client_name=client, rules=self._rules()
            )
        except ManifestError as exc:
            errors = [
                {
                    "message": str(problem),
                    "extensions": {
                        "code": "INVALID_MANIFEST",
                        "operation": problem.operation,
                        "id": problem.id,
                    },
                }
                for problem in exc.problems
            ]
            return _json({"errors": errors}, 400)
        except DocumentIdConflictError as exc:
            errors = [
                {
                    "message": exc.describe(d),
                    "extensions": {
                        "code": "DOCUMENT_ID_CONFLICT",
                        "operation": d.operation_name,
                        "id": d.id,
                    },
                }
                for d in exc.conflicts
            ]
            return _json({"errors": errors}, 409)
        if self._provider is not None:
            self._provider.forget()
        plans = plan_report(self._schema, result.bodies)
        return _json(
            {
                "count": result.count,
                "added": result.added,
                "client": result.client_name,
                "plans": plans.as_json(),
            },
            201,
        )

    async def _remove(self, request: Request) -> Response:
        refusal = await self._refusal(request) or _client_refusal(request)
        if refusal is not None:
            return refusal
        document_id = request.path_params["document_id"]
        if _has_control_character(document_id):
            return _error(
                400, "INVALID_DOCUMENT_ID", "a document id never holds control characters"
            )
        client = request.query_params.get("client", "")
        if not await self._store.remove(document_id, client):
            return _error(404, "NOT_FOUND", f"no document {document_id!r} in that client list")
        if self._provider is not None:
            self._provider.forget()
        return _json({"removed": document_id, "client": client})

    def _rules(self) -> Collection[type[ASTValidationRule]]:
        """The served documents' validation rules (introspection off refuses it here too)."""
        return specified_rules if self._provider is None else self._provider.cache.rules

    async def _unknown(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        provider = self._provider
        return _json(
            {
                "total": provider.unknown_operations if provider else 0,
                "operations": dict(provider.unknown_by_name) if provider else {},
            }
        )


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (a chunked body included: the
    guard usually read it already, within the same limit, and then it is not read again)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _client_refusal(request: Request) -> Response | None:
    client = request.query_params.get("client", "")
    if len(client) > MAX_CLIENT_NAME:
        return _error(400, "BAD_REQUEST", f"`client` has at most {MAX_CLIENT_NAME} characters")
    if _has_control_character(client):
        return _error(400, "BAD_REQUEST", "`client` must not hold control characters")
    return None


def _has_control_character(text: str) -> bool:
    """No stored name or id holds one (PostgreSQL's text cannot even hold a NUL)."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)
