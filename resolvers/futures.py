"""Transforming a loader future without an `async def` (which would send the field
down graphql-core's slower coroutine path)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def _settle(out: asyncio.Future[U], source: asyncio.Future[T], step: Callable[[T], None]) -> None:
    """Pass `source`'s cancellation or exception on to `out`, else run `step` on its
    result (an exception `step` raises becomes `out`'s)."""
    if out.done():
        return
    if source.cancelled():
        out.cancel()
    elif (exc := source.exception()) is not None:
        out.set_exception(exc)
    else:
        try:
            step(source.result())
        except Exception as error:
            out.set_exception(error)


def then(future: asyncio.Future[T], transform: Callable[[T], U]) -> asyncio.Future[U]:
    """A future of `transform(result)`, resolved as soon as `future` is."""
    out: asyncio.Future[U] = asyncio.get_running_loop().create_future()

    def finish(result: T) -> None:
        out.set_result(transform(result))

    future.add_done_callback(lambda source: _settle(out, source, finish))
    return out


def chain(
    future: asyncio.Future[T], next_step: Callable[[T], asyncio.Future[U]]
) -> asyncio.Future[U]:
    """A future of the future `next_step(result)` returns: a load that needs another
    load's answer. `next_step` runs in a done callback, so the loads it starts for
    every field of a level are queued before their loader dispatches: one batch."""
    out: asyncio.Future[U] = asyncio.get_running_loop().create_future()

    def follow(result: T) -> None:
        following = next_step(result)
        following.add_done_callback(lambda source: _settle(out, source, out.set_result))

    future.add_done_callback(lambda source: _settle(out, source, follow))
    return out


def within(future: asyncio.Future[T], seconds: float) -> asyncio.Future[T]:
    """`future`, or a TimeoutError once `seconds` have passed without its answer."""
    loop = asyncio.get_running_loop()
    out: asyncio.Future[T] = loop.create_future()

    def expire() -> None:
        if not out.done():
            out.set_exception(TimeoutError(f"no answer within {seconds} s"))

    timer = loop.call_later(seconds, expire)

    def settle(source: asyncio.Future[T]) -> None:
        timer.cancel()
        _settle(out, source, out.set_result)

    future.add_done_callback(settle)
    return out


def resolved(value: T) -> asyncio.Future[T]:
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future
