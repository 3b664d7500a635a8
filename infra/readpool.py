"""The read side's connection pool: asyncpg connections, kept as lean as possible.

Read-model queries are fixed SQL texts with positional parameters, run as
prepared statements by asyncpg: measured here, a key lookup costs 0.31 ms
this way against 0.48 ms through SQLAlchemy's async engine, and a 48-product
listing page 1.07 ms against 1.92 ms (no autobegun transaction, no rollback
on return, no result-row adaptation). Statements run in autocommit under the
statement timeout; JSONB decodes with orjson.

The pool is ours rather than asyncpg's: asyncpg's `Pool.fetch` spent about
50 µs of CPU per statement acquiring and releasing (timeouts, shields, a
queue, and a `RESET ALL` round trip on release), more than a compiled plan
spends on a whole product page. Read connections never change session state
(their settings are fixed at connect), so a borrowed connection needs no
reset; one that failed in a way that may leave it mid-protocol (a broken
socket, a cancelled query) is closed rather than returned. The pool opens
connections lazily, so building an app needs no running loop, and a failed
connect is retried by the next request.

A statement whose caller gave up (its task cancelled, or its request's
deadline passed: see `infra.request_limits`) is cancelled in PostgreSQL too,
before its connection closes: a closed socket alone does not stop a backend
waiting on a lock or scanning, which would go on holding a connection slot of
the server until the statement timeout.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from opentelemetry.trace import Tracer

from infra.database import asyncpg_dsn, current_statement_stats
from infra.request_limits import statement_timeout
from infra.request_scope import current_scope
from infra.span_errors import error_description
from infra.sql_spans import record_statement_error, start_statement_span

Record = Any  # asyncpg.Record: mapping access by column name

CONNECT_TIMEOUT_S = 5.0
# How long an abandoned statement's cancel request and close may take before
# the connection is simply dropped.
CANCEL_TIMEOUT_S = 5.0


class ReadTimeoutError(Exception):
    """PostgreSQL cancelled the statement at the statement timeout."""


class ReadUnavailableError(Exception):
    """The database could not be reached or the connection broke."""


class ReadInputError(Exception):
    """A parameter PostgreSQL cannot take: text holding a NUL character, a number or a
    date outside its types' ranges. The caller's input, never a fault of the database."""


_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # The server ending the session (an administrator's terminate, a shutdown, a
    # crash); QueryCanceledError, its sibling, is the statement timeout, handled first.
    asyncpg.exceptions.OperatorInterventionError,
    # asyncpg's own state machine on a connection the server closed while it sat idle.
    asyncpg.exceptions._base.InternalClientError,
)

# Parameters the server refused. The driver refuses one it cannot encode (an int past
# 64 bits, a Decimal or datetime outside PostgreSQL's range) with the base DataError
# itself; other DataErrors (a division by zero...) are faults of the statement.
_REFUSED_BY_SERVER = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    asyncpg.exceptions.NumericValueOutOfRangeError,
    asyncpg.exceptions.DatetimeFieldOverflowError,
)


def _refused_input(error: asyncpg.DataError) -> bool:
    return type(error) is asyncpg.DataError or isinstance(error, _REFUSED_BY_SERVER)


async def _init_connection(connection: Any) -> None:
    for codec in ("jsonb", "json"):
        await connection.set_type_codec(
            codec,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


class _Connections:
    """A bounded set of connections: a free list, and waiters when all are busy."""

    def __init__(self, dsn: str, max_size: int, settings: dict[str, str]) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._settings = settings
        self._free: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._size = 0  # open connections, and connects in progress
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()
        self._statement_timeout_s = int(settings.get("statement_timeout", "0")) / 1000

    def usage(self) -> tuple[int, int]:
        """(in use, idle): connections lent out (or connecting, or closing) and free ones."""
        return self._size - len(self._free), len(self._free)

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        connection = await self._acquire()
        timeout = statement_timeout()
        if timeout is not None:
            if timeout <= 0:
                self._release(connection)
                raise TimeoutError("the request's deadline has passed")
            if self._statement_timeout_s and timeout >= self._statement_timeout_s:
                timeout = None  # PostgreSQL's statement timeout ends it first: no timer needed
        try:
            rows = await connection.fetch(sql, *args, timeout=timeout)
        except asyncpg.QueryCanceledError:
            self._release(connection)  # the server cancelled it cleanly: still usable
            raise
        except asyncpg.PostgresError as error:
            if isinstance(
                error,
                asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError,
            ):
                self._discard(connection)
            else:
                self._release(connection)
            raise
        except BaseException:  # broken socket, our task cancelled, or the deadline passed
            self._abandon(connection)
            raise
        self._release(connection)
        return rows  # type: ignore[no-any-return]

    async def _acquire(self) -> Any:
        while True:
            while self._free:
                connection = self._free.pop()
                if not connection.is_closed():
                    return connection
                self._size -= 1  # closed by the server while idle
            if self._closed:
                raise asyncpg.InterfaceError("the read pool is closed")
            if self._size < self._max_size:
                self._size += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._size -= 1
                    self._wake_one()
                    raise
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                return await waiter
            except _Retry:
                continue  # a slot opened: connect, or take a connection freed meanwhile
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._release(waiter.result())  # handed over as we were cancelled
                raise

    async def _connect(self) -> Any:
        connection = await asyncpg.connect(
            self._dsn, server_settings=self._settings, timeout=CONNECT_TIMEOUT_S
        )
        try:
            await _init_connection(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    def _release(self, connection: Any) -> None:
        if self._closed or connection.is_closed():
            self._discard(connection)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._free.append(connection)

    def _discard(self, connection: Any) -> None:
        connection.terminate()
        self._size -= 1
        self._wake_one()

    def _abandon(self, connection: Any) -> None:
        """Give up a connection left mid-statement: in the background asyncpg sends
        PostgreSQL the statement's cancel request (which `terminate` would drop) and
        closes it. Its slot stays taken until it has closed (up to CANCEL_TIMEOUT_S):
        freed at once, a storm of timeouts would open more than `max_size` connections
        exactly when the database is slowest."""
        task = asyncio.get_running_loop().create_task(_close_quietly(connection))
        self._closing.add(task)
        task.add_done_callback(self._closed_one)

    def _closed_one(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        self._size -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        """A slot opened: the first waiter opens a connection of its own."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(_Retry())
                return

    async def close(self) -> None:
        self._closed = True
        while self._free:
            connection = self._free.pop()
            self._size -= 1
            await connection.close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the read pool is closed"))
        self._waiters.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _close_quietly(connection: Any) -> None:
    try:
        await connection.close(timeout=CANCEL_TIMEOUT_S)
    except Exception:
        connection.terminate()  # close() aborts on failure already; this is idempotent


class _Retry(Exception):
    """Internal: a waiter woken to open a connection itself."""


async def _traced_fetch(
    tracer: Tracer, pool: _Connections, sql: str, args: Sequence[Any]
) -> list[Any]:
    """`pool.fetch` inside a span of its own: the statement, its rows, or its failure
    (as the driver raised it, before it is mapped to this module's errors)."""
    span = start_statement_span(tracer, sql)
    try:
        rows = await pool.fetch(sql, args)
    except BaseException as error:
        record_statement_error(span, error)
        span.end()
        raise
    span.set_attribute("db.response.returned_rows", len(rows))
    span.end()
    return rows


class ReadPool:
    """Runs read-model queries; counts them for the request's statement stats.

    Each statement is counted in the current request's scope (`infra.request_scope`)
    and, when that request is sampled, gets a CLIENT span (`infra.sql_spans`) under
    the span that ran it: the tracer comes with the scope, so the pool takes none.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        statement_timeout_ms: int = 5000,
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._max_size = max_size  # `min_size` is accepted for compatibility: lazy opening
        self._statement_timeout_ms = statement_timeout_ms
        self._pools: dict[bool, _Connections] = {}

    def _pool(self, custom_plan: bool) -> _Connections:
        pool = self._pools.get(custom_plan)
        if pool is None:
            settings = {
                "statement_timeout": str(self._statement_timeout_ms),
                "application_name": "vitrine-read",
                "timezone": "UTC",
            }
            if custom_plan:
                settings["plan_cache_mode"] = "force_custom_plan"
            size = max(self._max_size // 2, 1) if custom_plan else self._max_size
            pool = self._pools[custom_plan] = _Connections(self._dsn, size, settings)
        return pool

    async def fetch(self, sql: str, *args: Any, custom_plan: bool = False) -> Sequence[Record]:
        """Rows of one statement. `custom_plan` plans it for these very parameters:
        filtered listings (a search term, a scope of 30 or of a million products)
        get pathological generic plans, measured 300 ms against 15 ms; every other
        statement reuses its cached generic plan (an unfiltered page: 0.7 ms, not 1.4)."""
        pool = self._pools.get(custom_plan) or self._pool(custom_plan)
        scope = current_scope()
        tracer = None
        if scope is not None:
            scope.statements += 1
            tracer = scope.tracer
        try:
            if tracer is None:
                rows = await pool.fetch(sql, args)
            else:
                rows = await _traced_fetch(tracer, pool, sql, args)
        except asyncpg.QueryCanceledError as exc:
            raise ReadTimeoutError(str(exc)) from exc
        except TimeoutError as exc:  # the request's deadline, not the statement timeout
            raise ReadTimeoutError("the request ran out of time") from exc
        except _UNAVAILABLE as exc:
            raise ReadUnavailableError(str(exc)) from exc
        except asyncpg.DataError as exc:
            if not _refused_input(exc):
                raise
            raise ReadInputError(error_description(exc)) from exc  # its message quotes values
        stats = current_statement_stats()
        if stats is not None:
            stats.statements += 1
            stats.rows += len(rows)
            if stats.texts is not None:
                stats.texts.append(sql)
        return rows

    def usage(self) -> dict[str, tuple[int, int, int]]:
        """(in use, idle, max size) of each pool, `generic` and `custom_plan`, for /metrics;
        a pool not opened yet counts zero connections."""
        usage: dict[str, tuple[int, int, int]] = {}
        for custom_plan, label in ((False, "generic"), (True, "custom_plan")):
            size = max(self._max_size // 2, 1) if custom_plan else self._max_size
            pool = self._pools.get(custom_plan)
            in_use, idle = (0, 0) if pool is None else pool.usage()
            usage[label] = (in_use, idle, size)
        return usage

    async def close(self) -> None:
        while self._pools:
            await self._pools.popitem()[1].close()
