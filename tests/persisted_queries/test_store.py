"""The document store on real PostgreSQL and Redis: sharing, client lists, outages."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.readpool import ReadPool
from persisted_queries.documents import StoredDocument
from persisted_queries.hashing import normalized_hash, sha256_hex
from persisted_queries.manifest import parse_manifest
from persisted_queries.registration import check_operations
from persisted_queries.shared_cache import SharedDocumentCache
from persisted_queries.store import DocumentIdConflictError, DocumentStore
from schema.build import build_schema

SCHEMA = build_schema()._schema

PRODUCT = "query Product($slug: String!) { product(slug: $slug) { id title } }"
PRODUCT_SPACED = (
    "query Product($slug: String!) {\n  product(slug: $slug) {\n    id\n    title\n  }\n}"
)
TOTAL = "query Total { products { totalCount } }"


def manifest(*bodies: str, client: str = "") -> list[StoredDocument]:
    return check_operations(
        parse_manifest({sha256_hex(b): b for b in bodies}), SCHEMA, client_name=client
    )


def apq(body: str) -> StoredDocument:
    sha = sha256_hex(body)
    return StoredDocument("", sha, "apq", body, sha, None, "query", None)


async def test_a_registration_is_found_by_another_replica(
    store: DocumentStore, pg: tuple[AsyncEngine, ReadPool]
) -> None:
    """An APQ registration through one store is found by id by a second store on the same database."""
    await store.save_apq(apq(TOTAL))
    engine, reads = pg
    other = DocumentStore(engine, reads)
    found = await other.find(sha256_hex(TOTAL))
    assert found is not None
    assert (found.body, found.source, found.client_name) == (TOTAL, "apq", "")


async def test_manifest_documents_are_found_by_id_and_by_sha256(store: DocumentStore) -> None:
    """A Relay-style custom id and the body's SHA-256 both find a manifest document."""
    documents = check_operations(parse_manifest({"rel-42": PRODUCT}), SCHEMA)
    result = await store.add_manifest(documents)
    assert (result.count, result.added, result.client_name) == (1, 1, "")
    by_id = await store.find("rel-42")
    by_hash = await store.find(sha256_hex(PRODUCT))
    assert by_id is not None
    assert by_hash is not None
    assert by_id.id == by_hash.id == "rel-42"
    assert by_id.operation_name == "Product"
    assert await store.find("rel-43") is None


async def test_pushing_again_is_idempotent_and_counts_what_is_new(store: DocumentStore) -> None:
    """A second push of the same manifest adds nothing; a new document is counted as added."""
    await store.add_manifest(manifest(PRODUCT))
    again = await store.add_manifest(manifest(PRODUCT, TOTAL))
    assert (again.count, again.added) == (2, 1)
    assert [d.operation_name for d in await store.list_documents()] == ["Product", "Total"]


async def test_an_id_taken_by_another_document_refuses_the_push(store: DocumentStore) -> None:
    """Re-using a registered id for a different document stores nothing of that push."""
    await store.add_manifest(check_operations(parse_manifest({"v1": PRODUCT}), SCHEMA))
    conflicting = check_operations(parse_manifest({"v1": TOTAL, "v2": PRODUCT_SPACED}), SCHEMA)
    with pytest.raises(DocumentIdConflictError, match=r"operation Total \(id v1\)"):
        await store.add_manifest(conflicting)
    found = await store.find("v1")
    assert found is not None
    assert found.body == PRODUCT
    assert await store.find("v2") is None


async def test_a_manifest_upgrades_an_apq_registration(store: DocumentStore) -> None:
    """A document first registered by APQ becomes a manifest document when pushed."""
    await store.save_apq(apq(PRODUCT))
    assert not await store.is_safelisted(normalized_hash(PRODUCT))
    result = await store.add_manifest(manifest(PRODUCT))
    assert result.added == 1
    found = await store.find(sha256_hex(PRODUCT))
    assert found is not None
    assert found.source == "manifest"
    assert await store.is_safelisted(normalized_hash(PRODUCT_SPACED))


async def test_apq_never_replaces_a_manifest_document(store: DocumentStore) -> None:
    """An APQ registration of a listed document leaves the manifest row as it was."""
    await store.add_manifest(manifest(PRODUCT))
    await store.save_apq(apq(PRODUCT))
    found = await store.find(sha256_hex(PRODUCT))
    assert found is not None
    assert found.source == "manifest"


async def test_apq_registrations_never_join_the_safelist(store: DocumentStore) -> None:
    """Only manifest documents make text pass the safelist."""
    await store.save_apq(apq(TOTAL))
    assert not await store.is_safelisted(normalized_hash(TOTAL))
    await store.add_manifest(manifest(PRODUCT))
    assert await store.is_safelisted(normalized_hash(PRODUCT_SPACED))


async def test_client_lists_come_before_the_shared_list(store: DocumentStore) -> None:
    """A client's own document wins over a shared one with the same id; others never see it."""
    await store.add_manifest(check_operations(parse_manifest({"home": TOTAL}), SCHEMA))
    await store.add_manifest(
        check_operations(
            parse_manifest({"home": PRODUCT, "ios-only": PRODUCT}), SCHEMA, client_name="ios"
        ),
        "ios",
    )
    ios, android, shared = (
        await store.find("home", "ios"),
        await store.find("home", "android"),
        await store.find("home"),
    )
    assert ios is not None
    assert android is not None
    assert shared is not None
    assert (ios.body, android.body, shared.body) == (PRODUCT, TOTAL, TOTAL)
    assert await store.find("ios-only", "android") is None
    assert await store.find("ios-only") is None
    assert await store.is_safelisted(normalized_hash(PRODUCT), "ios")
    assert not await store.is_safelisted(normalized_hash(PRODUCT), "android")


async def test_removal_deletes_the_document_and_its_cached_copies(store: DocumentStore) -> None:
    """After remove, neither PostgreSQL nor Redis answers for the id or the hash."""
    await store.add_manifest(check_operations(parse_manifest({"gone": PRODUCT}), SCHEMA))
    assert await store.find("gone") is not None
    assert await store.remove("gone")
    assert await store.find("gone") is None
    assert await store.find(sha256_hex(PRODUCT)) is None
    assert not await store.remove("gone")


async def test_redis_serves_documents_every_replica_cached(
    pg: tuple[AsyncEngine, ReadPool], redis: Redis
) -> None:
    """A document found once is served from Redis, even by another replica, without PostgreSQL."""
    engine, reads = pg
    store = DocumentStore(engine, reads, redis=redis)
    await store.add_manifest(manifest(TOTAL))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM persisted_documents"))
    replica = DocumentStore(engine, reads, redis=redis)
    found = await replica.find(sha256_hex(TOTAL))
    assert found is not None
    assert found.body == TOTAL
    assert await redis.ttl(f'vitrine:pq:["","{sha256_hex(TOTAL)}"]') > 0


async def test_a_redis_outage_falls_back_to_postgresql(
    pg: tuple[AsyncEngine, ReadPool], dead_redis: Redis
) -> None:
    """With Redis down, lookups, APQ registrations and pushes all go to PostgreSQL, without errors."""
    engine, reads = pg
    store = DocumentStore(engine, reads, redis=dead_redis)
    await store.add_manifest(manifest(PRODUCT))
    await store.save_apq(apq(TOTAL))
    found = await store.find(sha256_hex(PRODUCT))
    assert found is not None
    assert found.source == "manifest"
    registered = await store.find(sha256_hex(TOTAL))
    assert registered is not None
    assert registered.source == "apq"
    assert await store.is_safelisted(normalized_hash(PRODUCT))
    assert await store.remove(sha256_hex(PRODUCT))


async def test_a_postgresql_outage_is_not_found_never_an_error(
    pg: tuple[AsyncEngine, ReadPool], dead_redis: Redis
) -> None:
    """With PostgreSQL unreachable (and no cached copy), lookups answer not found and APQ saves are dropped."""
    engine, _reads = pg
    dead = ReadPool("postgresql://postgres@127.0.0.1:1/nothing")
    store = DocumentStore(engine, dead, redis=dead_redis)
    assert await store.find(sha256_hex(PRODUCT)) is None
    assert not await store.is_safelisted(normalized_hash(PRODUCT))
    from infra.database import create_engine

    dead_engine = create_engine("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        await DocumentStore(dead_engine, dead).save_apq(apq(TOTAL))
    finally:
        await dead_engine.dispose()
        await dead.close()


async def test_a_failing_redis_is_left_alone_for_a_while(
    dead_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """After one Redis failure the cache skips Redis for `retry_after` seconds, then tries again."""
    now = [0.0]
    cache = SharedDocumentCache(dead_redis, retry_after=5.0, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="vitrine.persisted_queries"):
        assert await cache.get("", "k") is None
        assert await cache.get("", "k") is None
        await cache.put([apq(TOTAL)], overwrite=False)
        assert len(caplog.records) == 1
        now[0] = 5.0
        assert await cache.get("", "k") is None
        assert len(caplog.records) == 2
