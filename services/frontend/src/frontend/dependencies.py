"""What routes are handed: the catalog client and the page renderer, as `Annotated` aliases."""

import asyncio
from collections.abc import Awaitable
from typing import Annotated, TypeVar

from chassis import dependency
from fastapi import Depends, Request

from frontend.clients import CatalogClient
from frontend.rendering import Pages

A = TypeVar("A")
B = TypeVar("B")


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


CatalogDep = Annotated[CatalogClient, Depends(dependency(CatalogClient))]
PagesDep = Annotated[Pages, Depends(_pages)]


async def concurrently(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Await both at once; if one fails, cancel the other and raise the first failure as is.

    A page is only as slow as its slowest catalog call, and the error pages see the plain
    exception rather than an ExceptionGroup.
    """
    try:
        async with asyncio.TaskGroup() as group:
            a = group.create_task(_awaited(first))
            b = group.create_task(_awaited(second))
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return a.result(), b.result()


async def _awaited(value: Awaitable[A]) -> A:
    return await value
