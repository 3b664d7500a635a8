"""The persisted-query document provider: APQ, `documentId`, safelist modes, client lists.

It turns a request into a prepared document the endpoint executes. Documents
found by id or hash are kept prepared in memory, so after the first request
neither parsing nor validation runs again; everything this provider refuses
(an unknown id, text outside the safelist, text where an id is required) is
refused before the text is parsed (the safelist compares token streams).

Safelist modes, named as in Apollo Router:

- `off`: everything is served; APQ registers documents on demand.
- `log_unknown`: as `off`, and every operation outside the registered
  manifests is counted (`unknown_operations`, `unknown_by_name`) and logged
  once per text, to prepare a rollout.
- `safelist`: free-form text runs only if it matches a manifest document
  once normalized; APQ registration is off (it never adds to the list).
- `require_id`: only ids (`documentId`, or a manifest id as the APQ hash).

Ids are looked up in the list of the request's `apollographql-client-name`
first, then in the shared list.

Manifest documents (found by id or hash, or safelisted text) are trusted:
the operation limits do not hold them. APQ documents are free-form text,
held to the limits when registered and again when loaded from the store
(`infra.graphql_documents`).
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graphql import GraphQLError

from infra.graphql_documents import DocumentCache, DocumentErrors, PreparedDocument
from infra.graphql_request import GraphQLRequest, RequestError
from infra.request_scope import current_tracer
from persisted_queries.documents import APQ, MANIFEST, StoredDocument
from persisted_queries.hashing import (
    MAX_ID_LENGTH,
    DocumentTooLargeError,
    InvalidDocumentIdError,
    normalized_hash,
    parse_document_id,
    sha256_hex,
)
from persisted_queries.memory import ExpiringLRU
from persisted_queries.store import DocumentStore

log = logging.getLogger("vitrine.persisted_queries")

CLIENT_NAME_HEADER = "apollographql-client-name"
MAX_CLIENT_NAME = 128
# Operation names are the client's to choose: past this many, the rest count as "(other)".
MAX_COUNTED_NAMES = 1000
# What a hash or a manifest id used as one is written with: visible ASCII (a NUL, say,
# could never be stored, so looking it up would only trouble the database).
_HASH_TEXT = re.compile(r"[!-~]+")
# A miss must not be cached by any proxy: the client registers the text next.
NO_CACHE = {"Cache-Control": "private, no-cache, must-revalidate"}


class SafelistMode(StrEnum):
    OFF = "off"
    LOG_UNKNOWN = "log_unknown"
    SAFELIST = "safelist"
    REQUIRE_ID = "require_id"


@dataclass(frozen=True, slots=True)
class _Resolved:
    document: StoredDocument
    prepared: PreparedDocument | DocumentErrors


class PersistedDocuments:
    """A DocumentProvider over a DocumentCache (parse + validate) and a DocumentStore."""

    def __init__(
        self,
        cache: DocumentCache,
        store: DocumentStore,
        *,
        apq_enabled: bool = True,
        mode: SafelistMode = SafelistMode.OFF,
        memory_entries: int = 5000,
        memory_ttl: float = 30.0,
        miss_ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_persisted: Callable[[PreparedDocument], None] | None = None,
    ) -> None:
        self.cache = cache
        # Called with each persisted document as it is registered (APQ) or first
        # loaded from the store: the plan compiler compiles it there, once.
        self._on_persisted = on_persisted
        self.apq_enabled = apq_enabled
        self.mode = mode
        self._store = store
        self._memory_ttl = memory_ttl
        self._miss_ttl = miss_ttl
        self._documents: ExpiringLRU[tuple[str, str], _Resolved | None] = ExpiringLRU(
            memory_entries, clock=clock
        )
        self._verdicts: ExpiringLRU[tuple[str, str], bool] = ExpiringLRU(
            memory_entries, clock=clock
        )
        self.unknown_operations = 0
        self.unknown_by_name: Counter[str] = Counter()

    def forget(self) -> None:
        """Drop what this replica remembers (after a push or removal made here)."""
        self._documents.clear()
        self._verdicts.clear()

    async def provide(
        self, request: GraphQLRequest, headers: Mapping[str, str]
    ) -> PreparedDocument | DocumentErrors:
        client = _client_name(headers)
        persisted = (request.extensions or {}).get("persistedQuery")
        if persisted is not None:
            if request.document_id is not None:
                raise _bad_request("send `documentId` or `extensions.persistedQuery`, not both")
            return await self._apq(request, persisted, client)
        if request.document_id is not None:
            if request.query is not None:
                raise _bad_request("send `documentId` or `query`, not both")
            return await self._by_document_id(request, request.document_id, client)
        if request.query is None:
            raise _bad_request("send `query`, `documentId` or `extensions.persistedQuery`")
        return await self._free_form(request, request.query, client)

    async def _apq(
        self, request: GraphQLRequest, persisted: Any, client: str
    ) -> PreparedDocument | DocumentErrors:
        if not isinstance(persisted, dict):
            raise _bad_request("`extensions.persistedQuery` must be an object")
        version = persisted.get("version")
        if version != 1 or isinstance(version, bool):
            raise RequestError(
                400, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED", "Unsupported persisted query version"
            )
        sha = persisted.get("sha256Hash")
        if not isinstance(sha, str) or len(sha) > MAX_ID_LENGTH or not _HASH_TEXT.fullmatch(sha):
            raise _bad_request("`extensions.persistedQuery.sha256Hash` must be a hash string")
        query = request.query or None  # an empty query is no query (as Apollo Server reads it)
        if query is not None and sha256_hex(query) != sha:
            raise RequestError(
                400, "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
            )
        found = await self._resolve(sha, client)
        if found is not None and self._usable(found.document):
            return await self._served(request, found, client)
        if self.mode in (SafelistMode.SAFELIST, SafelistMode.REQUIRE_ID):
            if query is not None and self.mode is SafelistMode.SAFELIST:
                return await self._safelisted(query, client)
            raise _not_in_list()
        if not self.apq_enabled:
            raise RequestError(
                200,
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "PersistedQueryNotSupported",
                headers=NO_CACHE,
            )
        if query is None:
            raise RequestError(
                200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", headers=NO_CACHE
            )
        prepared = self.cache.get(query)
        if isinstance(prepared, PreparedDocument):
            document = _apq_document(sha, query, prepared)
            await self._store.save_apq(document)
            self._persisted(prepared)
            self._documents.put((client, sha), _Resolved(document, prepared), self._memory_ttl)
        if self.mode is SafelistMode.LOG_UNKNOWN:
            await self._count_if_unknown(query, request.operation_name, prepared, client)
        return prepared

    async def _by_document_id(
        self, request: GraphQLRequest, raw: str, client: str
    ) -> PreparedDocument | DocumentErrors:
        try:
            document_id = parse_document_id(raw)
        except InvalidDocumentIdError as exc:
            raise RequestError(400, "INVALID_DOCUMENT_ID", f"`documentId`: {exc}") from None
        found = await self._resolve(document_id.key, client)
        if found is None or not self._usable(found.document):
            raise _not_in_list()
        return await self._served(request, found, client)

    async def _free_form(
        self, request: GraphQLRequest, query: str, client: str
    ) -> PreparedDocument | DocumentErrors:
        if self.mode is SafelistMode.REQUIRE_ID:
            raise RequestError(
                400,
                "PERSISTED_QUERY_ID_REQUIRED",
                "only registered operations are served here: send the `documentId`"
                " (or APQ hash) of a document of the manifest",
            )
        if self.mode is SafelistMode.SAFELIST:
            return await self._safelisted(query, client)
        prepared = self.cache.get(query)
        if self.mode is SafelistMode.LOG_UNKNOWN:
            await self._count_if_unknown(query, request.operation_name, prepared, client)
        return prepared

    async def _served(
        self, request: GraphQLRequest, found: _Resolved, client: str
    ) -> PreparedDocument | DocumentErrors:
        if self.mode is SafelistMode.LOG_UNKNOWN and found.document.source != MANIFEST:
            await self._count_if_unknown(
                found.document.body, request.operation_name, found.prepared, client
            )
        return found.prepared

    async def _safelisted(self, query: str, client: str) -> PreparedDocument | DocumentErrors:
        listed, _fresh = await self._check_safelist(query, client)
        if not listed:
            raise RequestError(
                403,
                "QUERY_NOT_IN_SAFELIST",
                "this operation is not in the safelist: register it with `vitrine pq push`",
            )
        return self.cache.get(query, trusted=True)  # a manifest's text: registered

    async def _resolve(self, key: str, client: str) -> _Resolved | None:
        """The document an APQ hash or a `documentId` names, from memory or the store;
        in a `persisted_query resolve` span on a sampled request."""
        tracer = current_tracer()
        if tracer is None:
            return await self._lookup(key, client)
        with tracer.start_as_current_span("persisted_query resolve") as span:
            resolved = await self._lookup(key, client)
            span.set_attribute("vitrine.pq.hit", resolved is not None)
            kind = "none" if resolved is None else resolved.document.source
            span.set_attribute("vitrine.pq.kind", kind)
            return resolved

    async def _lookup(self, key: str, client: str) -> _Resolved | None:
        known, resolved = self._documents.lookup((client, key))
        if known:
            return resolved
        document = await self._store.find(key, client)
        if document is None:
            self._documents.put((client, key), None, self._miss_ttl)
            return None
        # Only a manifest (pushed by a release) is trusted. An APQ row passed the limits of
        # whichever replica registered it, when it did (or predates them): it is held to
        # ours, measured once per document like any free-form text.
        trusted = document.source == MANIFEST
        resolved = _Resolved(document, self.cache.get(document.body, trusted=trusted))
        self._persisted(resolved.prepared)
        self._documents.put((client, key), resolved, self._memory_ttl)
        return resolved

    def _persisted(self, prepared: PreparedDocument | DocumentErrors) -> None:
        if self._on_persisted is not None and isinstance(prepared, PreparedDocument):
            self._on_persisted(prepared)

    def _usable(self, document: StoredDocument) -> bool:
        if document.source == MANIFEST:
            return True
        return self.apq_enabled and self.mode in (SafelistMode.OFF, SafelistMode.LOG_UNKNOWN)

    async def _check_safelist(self, text: str, client: str) -> tuple[bool, bool]:
        """(listed, fresh): fresh when this call asked the store rather than memory."""
        known, verdict = self._verdicts.lookup((client, text))
        if known:
            return bool(verdict), False
        try:
            listed = await self._store.is_safelisted(normalized_hash(text), client)
        except (GraphQLError, DocumentTooLargeError):
            listed = False
        strict = self.mode is SafelistMode.SAFELIST
        ttl = self._memory_ttl if listed or not strict else self._miss_ttl
        self._verdicts.put((client, text), listed, ttl)
        return listed, True

    async def _count_if_unknown(
        self,
        text: str,
        operation_name: str | None,
        prepared: PreparedDocument | DocumentErrors,
        client: str,
    ) -> None:
        listed, fresh = await self._check_safelist(text, client)
        if listed:
            return
        name = operation_name or _single_operation_name(prepared) or "(anonymous)"
        self.unknown_operations += 1
        if name not in self.unknown_by_name and len(self.unknown_by_name) >= MAX_COUNTED_NAMES:
            name = "(other)"
        self.unknown_by_name[name] += 1
        if fresh:
            log.warning(
                "operation %r (client %r) is not in the safelist; served because"
                " VITRINE_SAFELIST_MODE=log_unknown",
                name,
                client,
            )


def _client_name(headers: Mapping[str, str]) -> str:
    name = (headers.get(CLIENT_NAME_HEADER) or "").strip()
    return name if len(name) <= MAX_CLIENT_NAME else ""


def _bad_request(message: str) -> RequestError:
    return RequestError(400, "BAD_REQUEST", message)


def _not_in_list() -> RequestError:
    return RequestError(
        404,
        "PERSISTED_QUERY_NOT_IN_LIST",
        "no registered document has this id: push the manifest that contains it first",
    )


def _single_operation_name(prepared: PreparedDocument | DocumentErrors) -> str | None:
    if isinstance(prepared, PreparedDocument) and len(prepared.operations) == 1:
        return next(iter(prepared.operations))
    return None


def _apq_document(sha: str, query: str, prepared: PreparedDocument) -> StoredDocument:
    name = _single_operation_name(prepared)
    operation = prepared.operation_type(name)
    return StoredDocument(
        client_name="",
        id=sha,
        source=APQ,
        body=query,
        sha256=sha,
        operation_name=name,
        operation_type=operation.value if operation is not None else None,
        normalized_hash=None,
    )
