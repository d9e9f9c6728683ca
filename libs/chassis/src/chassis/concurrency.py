"""Calls to other services issued at once: a page or an answer waits for its slowest call,
not for the sum of them.

asyncio.TaskGroup cancels the others when one fails, but raises an ExceptionGroup; a route
expects the failure itself (an `UpstreamTimeout` is a 504 problem, a group would be a 500).
These helpers raise the first failure as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar, overload

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@overload
async def concurrently(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...


@overload
async def concurrently(
    first: Awaitable[A], second: Awaitable[B], third: Awaitable[C], /
) -> tuple[A, B, C]: ...


async def concurrently(*calls: Awaitable[Any]) -> tuple[Any, ...]:
    """Await all at once; if one fails, cancel the others and raise the first failure as is."""
    return tuple(await all_of(calls))


async def all_of(calls: Iterable[Awaitable[A]]) -> list[A]:
    """Like `concurrently`, for any number of calls of one type; results in the calls' order."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except ExceptionGroup as failures:
        raise _first(failures) from None
    return [task.result() for task in tasks]


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


async def _awaited(value: Awaitable[A]) -> A:
    return await value
