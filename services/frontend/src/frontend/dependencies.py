"""What routes are handed: callee clients, the page renderer, the shopper's prices."""

from typing import Annotated

from chassis import dependency
from chassis.concurrency import concurrently
from fastapi import Depends, Request

from frontend.clients.catalog import CatalogClient, Product
from frontend.clients.currency import BASE_CURRENCY, ConversionFailed, CurrencyClient
from frontend.clients.recommendations import RecommendationsClient
from frontend.web.forms import session_of
from frontend.web.rendering import Pages


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
