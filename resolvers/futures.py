"""Transforming a loader future without an `async def` (which would send the field
down graphql-core's slower coroutine path)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def then(future: asyncio.Future[T], transform: Callable[[T], U]) -> asyncio.Future[U]:
    """A future of `transform(result)`, resolved as soon as `future` is."""
    out: asyncio.Future[U] = asyncio.get_running_loop().create_future()

    def done(source: asyncio.Future[T]) -> None:
        if out.done():
            return
        if source.cancelled():
            out.cancel()
        elif (exc := source.exception()) is not None:
            out.set_exception(exc)
        else:
            try:
                out.set_result(transform(source.result()))
            except Exception as error:
                out.set_exception(error)

    future.add_done_callback(done)
    return out


def resolved(value: T) -> asyncio.Future[T]:
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future
