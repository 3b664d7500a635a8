"""The API-key store and authenticator against a real PostgreSQL (migration 0007)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.api_keys.authenticator import (
    UNAUTHENTICATED_MESSAGE,
    ApiKeyAuthenticator,
    ApiKeyRefusedError,
    BootstrapKey,
    Principal,
)
from infra.api_keys.key_cache import CachedKeyLookup
from infra.api_keys.nonces import MemoryNonces
from infra.api_keys.signing import sign
from infra.api_keys.store import ApiKeyStore, KeyNotFoundError, KeyRevokedError
from infra.api_keys.tables import metadata

NOW = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def authenticator(
    store: ApiKeyStore, clock: Clock, *, bootstrap: tuple[BootstrapKey, ...] = ()
) -> ApiKeyAuthenticator:
    return ApiKeyAuthenticator(
        CachedKeyLookup(store, ttl=5, clock=clock),
        MemoryNonces(ttl=600, max_entries=100),
        bootstrap=bootstrap,
        wall_clock=lambda: NOW,
    )


async def refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ApiKeyRefusedError) as caught:
        await call
    return caught.value.status, caught.value.code, caught.value.message


async def test_the_migrated_tables_match_their_declaration(engine: AsyncEngine) -> None:
    """The migrated database and infra/api_keys/tables.py agree (no autogenerate diff)."""

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        ours = {"api_keys", "api_key_signing_secrets"}
        return [
            change
            for change in compare_metadata(context, metadata)
            if not (change[0] == "remove_table" and change[1].name not in ours)
            and not (change[0] == "remove_index" and change[1].table.name not in ours)
        ]

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_a_created_key_is_stored_as_its_hash_only(engine: AsyncEngine) -> None:
    """The table holds the key's SHA-256, never the key; the signing secret is stored."""
    created = await ApiKeyStore(engine).create("billing", ("events",), signing=True)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM api_keys"))).mappings().one()
        secrets = (await conn.execute(text("SELECT secret FROM api_key_signing_secrets"))).all()
    assert row["id"] == created.id
    assert row["key_sha256"] == hashlib.sha256(created.key.encode()).hexdigest()
    assert created.key not in {str(value) for value in row.values()}
    assert row["scopes"] == ["events"]
    assert row["signing_required"] is True
    assert [s.secret for s in secrets] == [created.signing_secret]


async def test_keys_are_listed_revoked_and_rotated(engine: AsyncEngine) -> None:
    """List shows every key; revoke stamps it once; rotation adds and retires secrets."""
    store = ApiKeyStore(engine)
    first = await store.create("ingest", ("events", "admin"), signing=True)
    second = await store.create("deploys", ("admin",), signing=False)
    assert [(k.id, k.scopes, k.signing_required) for k in await store.list_keys()] == [
        (first.id, ("events", "admin"), True),
        (second.id, ("admin",), False),
    ]
    assert second.signing_secret is None
    new = await store.rotate_secret(first.id, retire_old=False)
    found = await store.find(first.id)
    assert found is not None
    assert found.signing_secrets == (first.signing_secret, new)
    assert await store.retire_old_secrets(first.id) == 1
    newest = await store.rotate_secret(first.id, retire_old=True)
    found = await store.find(first.id)
    assert found is not None
    assert found.signing_secrets == (newest,)
    revoked_at = await store.revoke(second.id)
    found = await store.find(second.id)
    assert found is not None
    assert found.revoked_at == revoked_at
    with pytest.raises(KeyRevokedError):
        await store.revoke(second.id)
    with pytest.raises(KeyRevokedError):
        await store.rotate_secret(second.id, retire_old=False)
    with pytest.raises(KeyNotFoundError):
        await store.revoke("0000000000000000")
    assert await store.find("0000000000000000") is None


async def test_has_active_ignores_revoked_keys(engine: AsyncEngine) -> None:
    """Only an unrevoked key with the scope makes the scope active."""
    store = ApiKeyStore(engine)
    assert await store.has_active("admin") is False
    created = await store.create("deploys", ("admin",), signing=False)
    assert await store.has_active("admin") is True
    assert await store.has_active("events") is False
    await store.revoke(created.id)
    assert await store.has_active("admin") is False


async def test_a_bad_name_or_scope_set_stores_nothing(engine: AsyncEngine) -> None:
    """create refuses a bad name or scope set with ValueError and writes no row."""
    store = ApiKeyStore(engine)
    for name, scopes, signing in (("", ("admin",), True), ("x", ("events",), False)):
        with pytest.raises(ValueError):  # noqa: PT011 (messages are tested in tests/unit)
            await store.create(name, scopes, signing=signing)
    assert await store.list_keys() == []


async def test_a_verified_key_is_cached_until_the_period_ends(engine: AsyncEngine) -> None:
    """A revoked key still passes in a process that verified it under 5 s ago, not after."""
    store = ApiKeyStore(engine)
    created = await store.create("ingest", ("events",), signing=True)
    clock = Clock()
    keys = authenticator(store, clock)
    principal = await keys.identify(f"Bearer {created.key}", "events")
    assert principal.key_id == created.id
    await store.revoke(created.id)
    clock.now += 4.9
    assert (await keys.identify(f"Bearer {created.key}", "events")).key_id == created.id
    clock.now += 0.1
    assert await refusal(keys.identify(f"Bearer {created.key}", "events")) == (
        401,
        "UNAUTHENTICATED",
        UNAUTHENTICATED_MESSAGE,
    )


async def test_use_is_recorded_at_most_once_a_minute(engine: AsyncEngine) -> None:
    """last_used_at is written on first use, then not again within 60 s."""
    store = ApiKeyStore(engine)
    created = await store.create("deploys", ("admin",), signing=False)
    clock = Clock()
    keys = authenticator(store, clock)
    await keys.identify(f"Bearer {created.key}", "admin")
    found = await store.find(created.id)
    assert found is not None
    assert found.last_used_at is not None
    first_use = found.last_used_at
    clock.now += 59
    await keys.identify(f"Bearer {created.key}", "admin")
    found = await store.find(created.id)
    assert found is not None
    assert found.last_used_at == first_use


async def test_refusals_are_identical_and_scope_is_forbidden(engine: AsyncEngine) -> None:
    """Every authentication failure is the same 401; a valid key without the scope is 403."""
    store = ApiKeyStore(engine)
    created = await store.create("deploys", ("admin",), signing=False)
    keys = authenticator(store, Clock())
    generic = (401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
    for header in (
        None,
        "",
        "Basic abc",
        "Bearer ",
        "Bearer nonsense",
        f"Bearer vk_{'0' * 16}_{'A' * 43}",
        f"Bearer {created.key[:-1]}{'B' if created.key[-1] == 'A' else 'A'}",
    ):
        assert await refusal(keys.identify(header, "admin")) == generic
    assert await refusal(keys.identify(f"Bearer {created.key}", "events")) == (
        403,
        "FORBIDDEN",
        "this API key may not call this endpoint: it lacks the `events` scope",
    )


async def test_bootstrap_keys_sign_with_their_configured_secrets(engine: AsyncEngine) -> None:
    """An environment key is found without the table and verifies its signed request once."""
    secret = "s" * 32
    service = Principal("service-token", "svc", frozenset({"events"}), (secret,), True)
    keys = authenticator(
        ApiKeyStore(engine), Clock(), bootstrap=(BootstrapKey("plain-token", service),)
    )
    principal = await keys.identify("Bearer plain-token", "events")
    assert principal == service
    headers = {
        name.lower(): value
        for name, value in sign(
            secret, method="POST", path="/events", body=b"[]", timestamp=NOW, nonce="n" * 16
        ).items()
    }

    def verify(headers: dict[str, str]) -> Any:
        return keys.verify_signature(
            principal,
            method="POST",
            path="/events",
            query="",
            body=b"[]",
            headers=headers,
            required=True,
        )

    await verify(headers)
    generic = (401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
    assert await refusal(verify(headers)) == generic
    assert await refusal(verify({})) == generic


async def test_an_inactive_scope_is_remembered_for_the_period(engine: AsyncEngine) -> None:
    """A scope seen without keys is answered from memory for 5 s, then read again."""
    store = ApiKeyStore(engine)
    clock = Clock()
    cached = CachedKeyLookup(store, ttl=5, clock=clock)
    assert await cached.has_active("admin") is False
    await store.create("deploys", ("admin",), signing=False)
    clock.now += 4.9
    assert await cached.has_active("admin") is False
    clock.now += 0.1
    assert await cached.has_active("admin") is True
