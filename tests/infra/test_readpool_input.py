"""The read pool tells a parameter PostgreSQL refuses (the caller's input) from its own faults."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from infra.readpool import ReadInputError, ReadPool

UNSTORABLE = [
    pytest.param("SELECT $1::text", "a\x00b", id="text-with-nul"),
    pytest.param("SELECT $1::numeric", Decimal("-1E-999999"), id="decimal-too-small"),
    pytest.param("SELECT $1::numeric", Decimal("1E+999999"), id="decimal-too-large"),
    pytest.param("SELECT $1::int8", 2**70, id="int-past-64-bits"),
    pytest.param(
        "SELECT $1::timestamptz",
        datetime.datetime(
            9999, 12, 31, 23, tzinfo=datetime.timezone(datetime.timedelta(hours=-12))
        ),
        id="instant-past-year-9999",
    ),
    pytest.param("SELECT $1::numeric * 1e131000", Decimal("9" * 1000), id="numeric-overflow"),
]


@pytest.mark.parametrize(("sql", "value"), UNSTORABLE)
async def test_a_value_postgresql_cannot_take_is_a_read_input_error(
    database_url: str, sql: str, value: Any
) -> None:
    """A NUL in text, or a number or instant past PostgreSQL's range, raises ReadInputError,
    and the connection stays usable."""
    pool = ReadPool(database_url, max_size=1)
    try:
        with pytest.raises(ReadInputError):
            await pool.fetch(sql, value)
        rows = await pool.fetch("SELECT 1 AS one")
        assert rows[0]["one"] == 1
    finally:
        await pool.close()


async def test_a_fault_of_the_statement_stays_a_database_error(database_url: str) -> None:
    """A division by zero is the statement's fault, not the input's: not a ReadInputError."""
    pool = ReadPool(database_url, max_size=1)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await pool.fetch("SELECT 1 / $1::int AS x", 0)
    finally:
        await pool.close()
