"""The persisted-query provider over a real store: APQ, documentId, safelist modes, clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from graphql import print_ast
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.graphql_documents import DocumentCache, DocumentErrors, PreparedDocument
from infra.graphql_request import GraphQLRequest, RequestError
from infra.operation_limits import OperationLimits
from infra.readpool import ReadPool
from persisted_queries.documents import APQ, StoredDocument
from persisted_queries.hashing import sha256_hex
from persisted_queries.manifest import parse_manifest
from persisted_queries.provider import PersistedDocuments, SafelistMode
from persisted_queries.registration import check_operations
from persisted_queries.store import DocumentStore
from schema.build import build_schema

SCHEMA = build_schema()._schema

PRODUCT = "query Product($slug: String!) { product(slug: $slug) { id title } }"
PRODUCT_REFORMATTED = "# listed, but written differently\nquery Product($slug: String!) {\n  product(slug: $slug) { id, title }\n}\n"
TOTAL = "query Total { products { totalCount } }"
INVALID = "query Invalid { nope }"

Provider = Callable[..., PersistedDocuments]


@pytest.fixture
def provider(store: DocumentStore) -> Provider:
    """A provider factory over the parametrized store (with Redis, and without)."""

    def make(**options: object) -> PersistedDocuments:
        return PersistedDocuments(DocumentCache(SCHEMA), store, **options)  # type: ignore[arg-type]

    return make


def apq(sha: str, query: str | None = None, version: object = 1) -> GraphQLRequest:
    return GraphQLRequest(
        query, None, None, {"persistedQuery": {"version": version, "sha256Hash": sha}}
    )


def by_id(document_id: str) -> GraphQLRequest:
    return GraphQLRequest(None, None, None, None, document_id)


def free(query: str) -> GraphQLRequest:
    return GraphQLRequest(query, None, None)


async def refusal(
    documents: PersistedDocuments, request: GraphQLRequest, **headers: str
) -> RequestError:
    with pytest.raises(RequestError) as error:
        await documents.provide(request, headers)
    return error.value


async def push(store: DocumentStore, manifest: dict[str, str], client: str = "") -> None:
    await store.add_manifest(
        check_operations(parse_manifest(manifest), SCHEMA, client_name=client), client
    )


async def test_apq_miss_then_registration_then_hit(provider: Provider) -> None:
    """An unknown hash is PersistedQueryNotFound (200, not cacheable); hash + query registers; the hash alone then runs."""
    documents = provider()
    sha = sha256_hex(TOTAL)
    miss = await refusal(documents, apq(sha))
    assert (miss.status, miss.code, miss.message) == (
        200,
        "PERSISTED_QUERY_NOT_FOUND",
        "PersistedQueryNotFound",
    )
    assert miss.headers == {"Cache-Control": "private, no-cache, must-revalidate"}
    registered = await documents.provide(apq(sha, TOTAL), {})
    assert isinstance(registered, PreparedDocument)
    assert await documents.provide(apq(sha), {}) is registered


async def test_a_known_hash_skips_parsing_and_validation(
    provider: Provider, store: DocumentStore
) -> None:
    """After the first request, a registered hash is served without parsing or validating again."""
    await push(store, {"total": TOTAL})
    documents = provider()
    first = await documents.provide(by_id("total"), {})
    misses = documents.cache.misses
    for _ in range(3):
        assert await documents.provide(by_id("total"), {}) is first
        assert await documents.provide(apq(sha256_hex(TOTAL)), {}) is first
    assert documents.cache.misses == misses


async def test_registration_is_shared_by_replicas(provider: Provider) -> None:
    """A hash registered through one replica is found by another (same store behind both)."""
    sha = sha256_hex(TOTAL)
    await provider().provide(apq(sha, TOTAL), {})
    other = provider()
    prepared = await other.provide(apq(sha), {})
    assert isinstance(prepared, PreparedDocument)
    assert print_ast(prepared.document) == print_ast(
        (await other.provide(free(TOTAL), {})).document
    )  # type: ignore[union-attr]


async def test_hash_mismatch_is_refused_and_nothing_is_stored(
    provider: Provider, store: DocumentStore
) -> None:
    """A hash that is not the query's SHA-256 is 400 and registers nothing."""
    documents = provider()
    wrong = sha256_hex(TOTAL + " ")
    error = await refusal(documents, apq(wrong, TOTAL))
    assert (error.status, error.code, error.message) == (
        400,
        "PERSISTED_QUERY_HASH_MISMATCH",
        "provided sha does not match query",
    )
    assert await store.find(wrong) is None
    assert await store.find(sha256_hex(TOTAL)) is None


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
async def test_versions_other_than_1_are_refused(provider: Provider, version: object) -> None:
    """Only APQ version 1 exists: anything else is 400."""
    error = await refusal(provider(), apq(sha256_hex(TOTAL), TOTAL, version))
    assert (error.status, error.code) == (400, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED")


@pytest.mark.parametrize("sha", ["", "a\x00b", "caf\u00e9", "two words", "x" * 513])
async def test_hashes_that_no_document_can_have_are_refused(
    provider: Provider, store: DocumentStore, sha: str
) -> None:
    """A hash that is empty, too long, or holds anything but visible ASCII (a NUL could never
    be stored) is a 400 before any lookup, and registers nothing."""
    error = await refusal(provider(), apq(sha, TOTAL))
    assert (error.status, error.code) == (400, "BAD_REQUEST")
    assert error.message == "`extensions.persistedQuery.sha256Hash` must be a hash string"
    assert await store.find(sha256_hex(TOTAL)) is None


async def test_invalid_documents_are_not_registered(
    provider: Provider, store: DocumentStore
) -> None:
    """Hash + a query that does not validate returns the errors and stores nothing."""
    prepared = await provider().provide(apq(sha256_hex(INVALID), INVALID), {})
    assert not isinstance(prepared, PreparedDocument)
    assert await store.find(sha256_hex(INVALID)) is None


async def test_apq_disabled_is_not_supported_but_manifests_still_work(
    provider: Provider, store: DocumentStore
) -> None:
    """With APQ off, a hash is PERSISTED_QUERY_NOT_SUPPORTED unless it is a manifest document."""
    await push(store, {sha256_hex(PRODUCT): PRODUCT})
    documents = provider(apq_enabled=False)
    error = await refusal(documents, apq(sha256_hex(TOTAL), TOTAL))
    assert (error.status, error.code, error.message) == (
        200,
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "PersistedQueryNotSupported",
    )
    assert error.headers["Cache-Control"] == "private, no-cache, must-revalidate"
    assert isinstance(await documents.provide(apq(sha256_hex(PRODUCT)), {}), PreparedDocument)
    assert isinstance(await documents.provide(free(TOTAL), {}), PreparedDocument)


async def test_document_ids_per_the_appendix(provider: Provider, store: DocumentStore) -> None:
    """`sha256:<hex>` and custom ids run registered documents; unknown ids are 404, malformed ones 400."""
    await push(store, {"rel-7": PRODUCT})
    documents = provider()
    assert isinstance(await documents.provide(by_id("rel-7"), {}), PreparedDocument)
    assert isinstance(
        await documents.provide(by_id(f"sha256:{sha256_hex(PRODUCT)}"), {}), PreparedDocument
    )
    unknown = await refusal(documents, by_id("rel-8"))
    assert (unknown.status, unknown.code) == (404, "PERSISTED_QUERY_NOT_IN_LIST")
    malformed = await refusal(documents, by_id("sha256:ABC"))
    assert (malformed.status, malformed.code) == (400, "INVALID_DOCUMENT_ID")
    both = await refusal(documents, GraphQLRequest(PRODUCT, None, None, None, "rel-7"))
    assert (both.status, both.code) == (400, "BAD_REQUEST")


async def test_safelist_serves_listed_text_after_normalization(
    provider: Provider, store: DocumentStore
) -> None:
    """In safelist mode, text equal to a manifest document up to whitespace and comments runs; other text is 403 unparsed."""
    await push(store, {"product": PRODUCT})
    documents = provider(mode=SafelistMode.SAFELIST)
    assert isinstance(await documents.provide(free(PRODUCT_REFORMATTED), {}), PreparedDocument)
    misses = documents.cache.misses
    error = await refusal(documents, free(TOTAL))
    assert (error.status, error.code) == (403, "QUERY_NOT_IN_SAFELIST")
    assert documents.cache.misses == misses  # refused before parsing


async def test_safelist_ignores_apq_registrations(provider: Provider, store: DocumentStore) -> None:
    """Text registered through APQ (before the safelist was on) is still refused, and so is its hash."""
    await provider().provide(apq(sha256_hex(TOTAL), TOTAL), {})
    documents = provider(mode=SafelistMode.SAFELIST)
    assert (await refusal(documents, free(TOTAL))).code == "QUERY_NOT_IN_SAFELIST"
    hashed = await refusal(documents, apq(sha256_hex(TOTAL)))
    assert (hashed.status, hashed.code) == (404, "PERSISTED_QUERY_NOT_IN_LIST")
    registering = await refusal(documents, apq(sha256_hex(TOTAL), TOTAL))
    assert (registering.status, registering.code) == (403, "QUERY_NOT_IN_SAFELIST")


async def test_require_id_refuses_text(provider: Provider, store: DocumentStore) -> None:
    """In require_id mode free-form text is 400 PERSISTED_QUERY_ID_REQUIRED, even listed text; ids run."""
    await push(store, {"product": PRODUCT})
    documents = provider(mode=SafelistMode.REQUIRE_ID)
    error = await refusal(documents, free(PRODUCT))
    assert (error.status, error.code) == (400, "PERSISTED_QUERY_ID_REQUIRED")
    assert isinstance(await documents.provide(by_id("product"), {}), PreparedDocument)
    assert isinstance(await documents.provide(apq(sha256_hex(PRODUCT)), {}), PreparedDocument)
    assert (await refusal(documents, by_id("other"))).code == "PERSISTED_QUERY_NOT_IN_LIST"


async def test_log_unknown_serves_everything_and_counts_unlisted_operations(
    provider: Provider, store: DocumentStore
) -> None:
    """log_unknown runs unlisted text and counts it by operation name; listed text is not counted."""
    await push(store, {"product": PRODUCT})
    documents = provider(mode=SafelistMode.LOG_UNKNOWN)
    for _ in range(2):
        assert isinstance(await documents.provide(free(TOTAL), {}), PreparedDocument)
    assert isinstance(await documents.provide(free(PRODUCT_REFORMATTED), {}), PreparedDocument)
    assert isinstance(
        await documents.provide(
            apq(sha256_hex("{ products { totalCount } }"), "{ products { totalCount } }"), {}
        ),
        PreparedDocument,
    )
    assert documents.unknown_operations == 3
    assert documents.unknown_by_name == {"Total": 2, "(anonymous)": 1}


async def test_client_lists_follow_the_client_name_header(
    provider: Provider, store: DocumentStore
) -> None:
    """A client's list is used for its `apollographql-client-name` only, on top of the shared list."""
    await push(store, {"shared": TOTAL})
    await push(store, {"ios-product": PRODUCT}, client="ios")
    documents = provider(mode=SafelistMode.SAFELIST)
    ios = {"apollographql-client-name": "ios"}
    android = {"apollographql-client-name": "android"}
    assert isinstance(await documents.provide(by_id("ios-product"), ios), PreparedDocument)
    assert isinstance(await documents.provide(by_id("shared"), ios), PreparedDocument)
    assert isinstance(await documents.provide(free(PRODUCT_REFORMATTED), ios), PreparedDocument)
    assert (
        await refusal(documents, by_id("ios-product"), **android)
    ).code == "PERSISTED_QUERY_NOT_IN_LIST"
    assert (await refusal(documents, free(PRODUCT), **android)).code == "QUERY_NOT_IN_SAFELIST"
    assert isinstance(await documents.provide(by_id("shared"), android), PreparedDocument)


async def test_redis_outage_degrades_to_postgresql_and_not_found(
    pg: tuple[AsyncEngine, ReadPool], dead_redis: Redis
) -> None:
    """With Redis down, registered documents come from PostgreSQL and an APQ miss is still a clean not-found."""
    engine, reads = pg
    store = DocumentStore(engine, reads, redis=dead_redis)
    await push(store, {"product": PRODUCT})
    documents = PersistedDocuments(DocumentCache(SCHEMA), store)
    assert isinstance(await documents.provide(by_id("product"), {}), PreparedDocument)
    miss = await refusal(documents, apq(sha256_hex(TOTAL)))
    assert (miss.status, miss.code) == (200, "PERSISTED_QUERY_NOT_FOUND")
    assert isinstance(await documents.provide(apq(sha256_hex(TOTAL), TOTAL), {}), PreparedDocument)


async def test_postgresql_outage_degrades_to_not_found(
    pg: tuple[AsyncEngine, ReadPool], dead_redis: Redis
) -> None:
    """With both stores down, hashes are not found (APQ clients then send the text, which runs)."""
    engine, _reads = pg
    dead = ReadPool("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        documents = PersistedDocuments(
            DocumentCache(SCHEMA), DocumentStore(engine, dead, redis=dead_redis)
        )
        miss = await refusal(documents, apq(sha256_hex(TOTAL)))
        assert (miss.status, miss.code) == (200, "PERSISTED_QUERY_NOT_FOUND")
        assert (await refusal(documents, by_id("product"))).code == "PERSISTED_QUERY_NOT_IN_LIST"
        assert isinstance(
            await documents.provide(apq(sha256_hex(TOTAL), TOTAL), {}), PreparedDocument
        )
    finally:
        await dead.close()


async def test_removed_documents_stop_after_the_memory_ttl(
    pg: tuple[AsyncEngine, ReadPool],
) -> None:
    """Another replica's removal takes effect here once the in-memory entry expires."""
    engine, reads = pg
    now = [0.0]
    store = DocumentStore(engine, reads)
    await push(store, {"product": PRODUCT})
    documents = PersistedDocuments(
        DocumentCache(SCHEMA), store, memory_ttl=30, clock=lambda: now[0]
    )
    assert isinstance(await documents.provide(by_id("product"), {}), PreparedDocument)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM persisted_documents"))
    assert isinstance(await documents.provide(by_id("product"), {}), PreparedDocument)
    now[0] = 31.0
    assert (await refusal(documents, by_id("product"))).code == "PERSISTED_QUERY_NOT_IN_LIST"


DEEP = '{ product(slug: "mug") { category { parent { name } } } }'  # 4 deep


async def test_stored_apq_text_is_held_to_the_limits_and_a_manifest_is_not(
    store: DocumentStore,
) -> None:
    """An APQ row stored before the limits were lowered is refused by them when asked for by
    hash; the same text pushed in a manifest is trusted and served by its id."""
    sha = sha256_hex(DEEP)
    await store.save_apq(
        StoredDocument(
            client_name="",
            id=sha,
            source=APQ,
            body=DEEP,
            sha256=sha,
            operation_name=None,
            operation_type="query",
            normalized_hash=None,
        )
    )
    cache = DocumentCache(SCHEMA, limits=OperationLimits(max_depth=3))
    documents = PersistedDocuments(cache, store)
    refused = await documents.provide(apq(sha), {})
    assert isinstance(refused, DocumentErrors)
    assert refused.stage == "limits"
    assert [(e.message, e.extensions) for e in refused.errors] == [
        (
            "the operation nests fields 4 deep, deeper than the 3 allowed",
            {"code": "MAX_DEPTH_LIMIT", "depth": 4, "maxDepth": 3},
        )
    ]
    await push(store, {"deep": DEEP})
    served = await PersistedDocuments(cache, store).provide(by_id("deep"), {})
    assert isinstance(served, PreparedDocument)
    assert list(served.operations) == [None]
