"""The read pool: bounded, lean, and never hands out a connection left mid-protocol."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from infra.database import count_statements
from infra.readpool import ReadPool, ReadTimeoutError, ReadUnavailableError


async def backend_pids(pool: ReadPool, n: int) -> set[int]:
    rows = await asyncio.gather(*(pool.fetch("SELECT pg_backend_pid() AS pid") for _ in range(n)))
    return {r[0]["pid"] for r in rows}


async def test_concurrent_statements_share_at_most_max_size_connections(database_url: str) -> None:
    pool = ReadPool(database_url, max_size=3)
    try:
        sleeps = [pool.fetch("SELECT pg_sleep(0.05), pg_backend_pid() AS pid") for _ in range(12)]
        rows = await asyncio.gather(*sleeps)
        assert len({r[0]["pid"] for r in rows}) == 3
        with count_statements() as stats:
            await pool.fetch("SELECT 1")
        assert stats.statements == 1
    finally:
        await pool.close()


async def test_statement_timeout_keeps_the_connection(database_url: str) -> None:
    pool = ReadPool(database_url, max_size=1, statement_timeout_ms=50)
    try:
        before = await backend_pids(pool, 1)
        with pytest.raises(ReadTimeoutError):
            await pool.fetch("SELECT pg_sleep(1)")
        assert await backend_pids(pool, 1) == before
    finally:
        await pool.close()


async def test_a_cancelled_query_discards_its_connection(database_url: str) -> None:
    pool = ReadPool(database_url, max_size=1)
    try:
        before = await backend_pids(pool, 1)
        task = asyncio.ensure_future(pool.fetch("SELECT pg_sleep(5)"))
        admin = await asyncpg.connect(database_url)
        deadline = asyncio.get_running_loop().time() + 5
        try:
            while not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)'"
                " AND state = 'active'"
            ):
                assert asyncio.get_running_loop().time() < deadline, "the query never started"
        finally:
            await admin.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        after = await backend_pids(pool, 1)
        assert len(after) == 1
        assert after != before
    finally:
        await pool.close()


async def test_a_killed_backend_costs_at_most_one_statement(database_url: str) -> None:
    pool = ReadPool(database_url, max_size=1)
    try:
        (pid,) = await backend_pids(pool, 1)
        admin = await asyncpg.connect(database_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        # Whether the client has seen the close yet is a race: at most the next
        # statement fails, as unavailable (never a raw driver error), and the one
        # after runs on a new backend.
        try:
            rows = await pool.fetch("SELECT pg_backend_pid() AS pid")
        except ReadUnavailableError:
            rows = await pool.fetch("SELECT pg_backend_pid() AS pid")
        assert rows[0]["pid"] != pid
    finally:
        await pool.close()


async def test_an_unreachable_database_is_unavailable_not_a_crash() -> None:
    pool = ReadPool("postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(ReadUnavailableError):
        await pool.fetch("SELECT 1")
    with pytest.raises(ReadUnavailableError):
        await pool.fetch("SELECT 1")  # and again: a failed connect frees its slot
    await pool.close()
