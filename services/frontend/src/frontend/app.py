"""Wiring: the chassis app with the shop's pages, pictures, static files and error pages."""

from chassis import Cache, Credentials, ServiceClient, create_app, load_settings
from chassis.limits import FORM
from fastapi import FastAPI
from starlette.middleware import Middleware

from frontend.clients.accounts import AccountsClient
from frontend.clients.cart import CartClient
from frontend.clients.catalog import CatalogClient
from frontend.clients.currency import CurrencyClient
from frontend.clients.orders import OrdersClient
from frontend.clients.recommendations import RecommendationsClient
from frontend.clients.shipping import ShippingClient
from frontend.routes import (
    account,
    cart,
    checkout,
    identity,
    pictures,
    preferences,
    product,
)
from frontend.routes import catalog as shop_window
from frontend.routes import orders as order_pages
from frontend.settings import FrontendSettings
from frontend.web.assets import HashedStaticFiles
from frontend.web.client_address import through_trusted_proxy
from frontend.web.csrf import CookieSigner
from frontend.web.error_pages import install_error_pages, sessions_unavailable
from frontend.web.rendering import PACKAGE_DIR, Pages
from frontend.web.security import SecurityHeadersMiddleware
from frontend.web.sessions import SessionMiddleware


def build_app(settings: FrontendSettings) -> FastAPI:
    credentials = Credentials.from_settings(settings)
    catalog = CatalogClient(
        ServiceClient("catalog", str(settings.catalog_url), credentials=credentials)
    )
    currency = CurrencyClient(
        ServiceClient("currency", str(settings.currency_url), credentials=credentials)
    )
    accounts = AccountsClient(
        ServiceClient("accounts", str(settings.accounts_url), credentials=credentials)
    )
    carts = CartClient(ServiceClient("cart", str(settings.cart_url), credentials=credentials))
    recommendations = RecommendationsClient(
        ServiceClient(
            "recommendations", str(settings.recommendations_url), credentials=credentials
        ),
        timeout_seconds=settings.recommendations_timeout_ms / 1000,
    )
    orders = OrdersClient(
        ServiceClient("orders", str(settings.orders_url), credentials=credentials),
        checkout_seconds=settings.checkout_timeout_ms / 1000,
    )
    shipping = ShippingClient(
        ServiceClient("shipping", str(settings.shipping_url), credentials=credentials)
    )
    sessions = Cache(settings.redis_url, prefix="frontend")
    app = create_app(
        settings,
        credentials=credentials,
        accept_request_id=through_trusted_proxy(settings.proxy_networks),
        body_types=(FORM,),  # its pages post forms; no route takes JSON
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                SessionMiddleware,
                idle_seconds=settings.session_idle_hours * 3600,
                unavailable_page=sessions_unavailable,
                signer=CookieSigner(settings.csrf_secret.get_secret_value().encode()),
                trusted_proxies=settings.proxy_networks,
            ),
        ],
        routers=[
            shop_window.router,
            product.router,
            pictures.router,
            preferences.router,
            identity.router,
            account.router,
            cart.router,
            checkout.router,
            order_pages.router,
        ],
        resources=[
            catalog,
            currency,
            accounts,
            carts,
            recommendations,
            orders,
            shipping,
            sessions,
        ],
        title="Mosaic shop",
        description="The browser-facing shop: server-rendered HTML pages.",
        openapi_url=None,  # HTML for people, not an API: nothing for a client to generate from
    )
    static = HashedStaticFiles(PACKAGE_DIR / "static")
    app.mount("/static", static, name="static")
    app.state.pages = Pages(static, catalog=catalog, currency=currency)
    install_error_pages(app)
    return app


def main_app() -> FastAPI:
    """The app from the environment; a missing or bad variable stops the process here."""
    return build_app(load_settings(FrontendSettings))
