"""The read pool: bounded, lean, and never hands out a connection left mid-protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from infra.database import count_statements
from infra.readpool import ReadPool, ReadTimeoutError, ReadUnavailableError
from infra.request_limits import Deadline
from tests.readmodels.waiting import wait_until


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


async def _active(database_url: str, sql: str) -> int:
    admin = await asyncpg.connect(database_url)
    try:
        return int(
            await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'", sql
            )
        )
    finally:
        await admin.close()


async def test_a_cancelled_query_stops_in_postgresql_too(database_url: str) -> None:
    """Cancelling the caller cancels the statement in PostgreSQL, not only the socket: a backend
    would otherwise sleep (or wait on a lock) until the statement timeout."""
    sql = "SELECT pg_sleep(30) AS cancelled_too"
    pool = ReadPool(database_url, max_size=1, statement_timeout_ms=60_000)
    try:
        task = asyncio.ensure_future(pool.fetch(sql))

        async def started() -> bool:
            return await _active(database_url, sql) == 1

        async def stopped() -> bool:
            return await _active(database_url, sql) == 0

        await wait_until(started, within=5, what="the statement runs")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(stopped, within=2, what="PostgreSQL cancels the statement")
    finally:
        await pool.close()


async def test_a_request_deadline_bounds_each_statement(database_url: str) -> None:
    """Under a request's Deadline a statement is cancelled when the time is up (a read timeout),
    even in a task of its own; the pool keeps serving."""
    sql = "SELECT pg_sleep(30) AS past_deadline"
    pool = ReadPool(database_url, max_size=1, statement_timeout_ms=60_000)
    try:
        batches: list[asyncio.Future[Any]] = []

        async def request() -> None:
            async with Deadline(0.3):
                # A DataLoader batch runs in a task of its own, created inside the request.
                batches.append(asyncio.ensure_future(pool.fetch(sql)))
                await asyncio.shield(batches[0])

        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await request()
        with pytest.raises(ReadTimeoutError):
            await batches[0]
        assert asyncio.get_running_loop().time() - started < 2

        async def stopped() -> bool:
            return await _active(database_url, sql) == 0

        # The abandoned connection is closed (cancel request first) in the background:
        # PostgreSQL hears of the cancellation a moment after the caller does.
        await wait_until(stopped, within=5, what="the statement is cancelled in PostgreSQL")
        rows = await pool.fetch("SELECT 1 AS one")
        assert rows[0]["one"] == 1
    finally:
        await pool.close()


STUBBORN_SLEEP = """
CREATE FUNCTION stubborn_sleep() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(30);
    RETURN 0;
EXCEPTION WHEN query_canceled THEN
    PERFORM pg_sleep(1.5);  -- a statement slow to give up: its connection closes late
    RETURN 1;
END $$
"""


async def test_abandoned_connections_count_against_max_size_until_closed(
    database_url: str,
) -> None:
    """While abandoned connections are still closing, the pool opens no connection past
    `max_size`: waiting requests get a slot once a close has finished."""
    admin = await asyncpg.connect(database_url)
    await admin.execute(STUBBORN_SLEEP)
    pool = ReadPool(database_url, max_size=2, statement_timeout_ms=60_000)
    try:

        async def open_connections() -> int:
            return int(
                await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = 'vitrine-read'"
                )
            )

        with pytest.raises(TimeoutError):
            async with Deadline(0.3):
                await asyncio.gather(*(pool.fetch("SELECT stubborn_sleep()") for _ in range(2)))
        assert await open_connections() == 2  # both still closing, for about 1.5 s
        reads = asyncio.gather(*(pool.fetch("SELECT pg_backend_pid() AS pid") for _ in range(4)))
        most = 0
        while not reads.done():
            most = max(most, await open_connections())
        rows = await reads
        assert (most, len(rows)) == (2, 4)
        assert await open_connections() <= 2
    finally:
        await pool.close()
        await admin.close()
