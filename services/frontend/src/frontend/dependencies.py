"""Everything a route is handed, as `Annotated` aliases: the callee clients, the page
renderer, the shopper's prices, session, form, viewer and checkout page."""

from dataclasses import dataclass
from typing import Annotated, TypeVar

from chassis import dependency
from chassis.resources import Resources
from fastapi import Depends, Request

from frontend.clients.accounts import AccountsClient
from frontend.clients.cart import CartClient
from frontend.clients.catalog import CatalogClient
from frontend.clients.currency import CurrencyClient
from frontend.clients.orders import OrdersClient
from frontend.clients.recommendations import RecommendationsClient
from frontend.clients.shipping import ShippingClient
from frontend.routes.cart_page import CartPage
from frontend.routes.checkout_page import CheckoutPage
from frontend.routes.signing_in import SigningIn
from frontend.web.forms import checked_form, session_of
from frontend.web.prices import Prices
from frontend.web.rendering import Pages
from frontend.web.sessions import Session
from frontend.web.viewer import Viewer

# Every dependency here is `async def`, even when it awaits nothing: FastAPI runs a plain
# `def` dependency (or a class) in a worker thread, a thread hop per request that cost more
# CPU than the rest of the dependency (measured with bench/profile_route.py).

AccountsDep = Annotated[AccountsClient, Depends(dependency(AccountsClient))]
CartDep = Annotated[CartClient, Depends(dependency(CartClient))]
CatalogDep = Annotated[CatalogClient, Depends(dependency(CatalogClient))]
CurrencyDep = Annotated[CurrencyClient, Depends(dependency(CurrencyClient))]
OrdersDep = Annotated[OrdersClient, Depends(dependency(OrdersClient))]
RecommendationsDep = Annotated[RecommendationsClient, Depends(dependency(RecommendationsClient))]
ShippingDep = Annotated[ShippingClient, Depends(dependency(ShippingClient))]

R = TypeVar("R")


@dataclass(frozen=True)
class Browsing:
    """What a page of the shop window (home, category, search, product) is handed."""

    catalog: CatalogClient
    recommendations: RecommendationsClient
    pages: Pages
    prices: Prices


def _of(request: Request, kind: type[R]) -> R:
    resources: Resources = request.app.state.resources
    return resources.get(kind)


# The dependencies below ask for the request alone and build what they hand over from the
# app's resources themselves: each nested `Depends` cost FastAPI a resolution of its own per
# page (a product page resolved six, a cart page eleven; bench/profile_route.py).


async def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def _fresh_menu(request: Request) -> None:
    await _of(request, CatalogClient).refresh_menu()


async def _session(request: Request) -> Session:
    return session_of(request)


def _prices_of(request: Request) -> Prices:
    return Prices(request, _of(request, CurrencyClient))


def _viewer_of(request: Request) -> Viewer:
    return Viewer(session_of(request), _of(request, AccountsClient))


async def _prices(request: Request) -> Prices:
    return _prices_of(request)


async def _viewer(request: Request) -> Viewer:
    return _viewer_of(request)


async def _browsing(request: Request) -> Browsing:
    return Browsing(
        _of(request, CatalogClient),
        _of(request, RecommendationsClient),
        request.app.state.pages,
        _prices_of(request),
    )


PagesDep = Annotated[Pages, Depends(_pages)]
# For routers whose pages ask catalog nothing: the layout's category bar, kept fresh.
WITH_MENU = Depends(_fresh_menu)
SessionDep = Annotated[Session, Depends(_session)]
# A post's fields, refused (403 page) without the visitor's CSRF token.
FormDep = Annotated[dict[str, str], Depends(checked_form)]
PricesDep = Annotated[Prices, Depends(_prices)]
ViewerDep = Annotated[Viewer, Depends(_viewer)]
BrowsingDep = Annotated[Browsing, Depends(_browsing)]


async def _cart_page(request: Request) -> CartPage:
    return CartPage(
        request,
        request.app.state.pages,
        _prices_of(request),
        _of(request, CartClient),
        _viewer_of(request),
        _of(request, OrdersClient),
    )


CartPageDep = Annotated[CartPage, Depends(_cart_page)]


async def _checkout_page(request: Request) -> CheckoutPage:
    return CheckoutPage(
        request,
        request.app.state.pages,
        _of(request, CartClient),
        _viewer_of(request),
        _prices_of(request),
        _of(request, ShippingClient),
        _of(request, OrdersClient),
    )


CheckoutPageDep = Annotated[CheckoutPage, Depends(_checkout_page)]


async def _signing_in(request: Request) -> SigningIn:
    return SigningIn(
        request, _of(request, AccountsClient), _viewer_of(request), _of(request, CartClient)
    )


SigningInDep = Annotated[SigningIn, Depends(_signing_in)]
