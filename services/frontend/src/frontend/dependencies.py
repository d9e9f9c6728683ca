"""Everything a route is handed, as `Annotated` aliases: the callee clients, the page
renderer, the shopper's prices, session, form, viewer and checkout page."""

from typing import Annotated

from chassis import dependency
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


async def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def _fresh_menu(catalog: CatalogDep) -> None:
    await catalog.refresh_menu()


async def _session(request: Request) -> Session:
    return session_of(request)


async def _prices(request: Request, currency: CurrencyDep) -> Prices:
    return Prices(request, currency)


async def _viewer(request: Request, accounts: AccountsDep) -> Viewer:
    return Viewer(session_of(request), accounts)


PagesDep = Annotated[Pages, Depends(_pages)]
# For routers whose pages ask catalog nothing: the layout's category bar, kept fresh.
WITH_MENU = Depends(_fresh_menu)
SessionDep = Annotated[Session, Depends(_session)]
# A post's fields, refused (403 page) without the visitor's CSRF token.
FormDep = Annotated[dict[str, str], Depends(checked_form)]
PricesDep = Annotated[Prices, Depends(_prices)]
ViewerDep = Annotated[Viewer, Depends(_viewer)]


async def _cart_page(
    request: Request,
    pages: PagesDep,
    prices: PricesDep,
    carts: CartDep,
    viewer: ViewerDep,
    orders: OrdersDep,
) -> CartPage:
    return CartPage(request, pages, prices, carts, viewer, orders)


CartPageDep = Annotated[CartPage, Depends(_cart_page)]


async def _checkout_page(
    request: Request,
    pages: PagesDep,
    carts: CartDep,
    viewer: ViewerDep,
    prices: PricesDep,
    shipping: ShippingDep,
    orders: OrdersDep,
) -> CheckoutPage:
    return CheckoutPage(request, pages, carts, viewer, prices, shipping, orders)


CheckoutPageDep = Annotated[CheckoutPage, Depends(_checkout_page)]


async def _signing_in(
    request: Request, accounts: AccountsDep, viewer: ViewerDep, carts: CartDep
) -> SigningIn:
    return SigningIn(request, accounts, viewer, carts)


SigningInDep = Annotated[SigningIn, Depends(_signing_in)]
