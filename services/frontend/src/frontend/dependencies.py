"""What routes are handed: callee clients, the page renderer, the shopper's prices."""

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar, overload

from chassis import dependency
from fastapi import Depends, Request

from frontend.clients import CatalogClient, Product
from frontend.currency import BASE_CURRENCY, ConversionFailed, CurrencyClient
from frontend.forms import session_of
from frontend.recommendations import RecommendationsClient
from frontend.rendering import Pages

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


# Every dependency here is `async def`, even when it awaits nothing: FastAPI runs a plain
# `def` dependency (or a class) in a worker thread, a thread hop per request that cost more
# CPU than the rest of the dependency (measured with bench/profile_route.py).
async def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def _fresh_menu(request: Request) -> None:
    catalog: CatalogClient = request.app.state.resources.get(CatalogClient)
    await catalog.refresh_menu()


# For routers whose pages ask catalog nothing: the layout's category bar, kept fresh.
WITH_MENU = Depends(_fresh_menu)
CatalogDep = Annotated[CatalogClient, Depends(dependency(CatalogClient))]
CurrencyDep = Annotated[CurrencyClient, Depends(dependency(CurrencyClient))]
RecommendationsDep = Annotated[RecommendationsClient, Depends(dependency(RecommendationsClient))]
PagesDep = Annotated[Pages, Depends(_pages)]


def chosen_currency(request: Request) -> str:
    code = session_of(request).get("currency", BASE_CURRENCY)
    return code if isinstance(code, str) else BASE_CURRENCY


class Prices:
    """A page's prices in the shopper's currency: one batch call, catalog's prices on failure."""

    def __init__(self, request: Request, currency: CurrencyDep) -> None:
        self.request = request
        self.currency = currency

    async def shown(self, products: list[Product]) -> list[Product]:
        wanted = chosen_currency(self.request)
        try:
            shown, _ = await concurrently(
                self.currency.shown(products, wanted), self.currency.refresh_offered()
            )
        except ConversionFailed:
            self.request.state.prices_unconverted = True
            return products
        return shown


async def _prices(request: Request, currency: CurrencyDep) -> Prices:
    return Prices(request, currency)


PricesDep = Annotated[Prices, Depends(_prices)]


@overload
async def concurrently(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...


@overload
async def concurrently(
    first: Awaitable[A], second: Awaitable[B], third: Awaitable[C], /
) -> tuple[A, B, C]: ...


async def concurrently(*calls: Awaitable[Any]) -> tuple[Any, ...]:
    """Await all at once; if one fails, cancel the others and raise the first failure as is.

    A page is only as slow as its slowest call, and the error pages see the plain
    exception rather than an ExceptionGroup.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return tuple(task.result() for task in tasks)


async def _awaited(value: Awaitable[A]) -> A:
    return await value
