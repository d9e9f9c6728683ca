"""Wiring: settings, the database, the catalog client and routes into one app."""

from __future__ import annotations

from chassis import Credentials, Database, ServiceClient, create_app, load_settings
from fastapi import FastAPI

from cart import api
from cart.clients import CatalogProducts
from cart.domain import CartError
from cart.problems import on_cart_error
from cart.settings import CartSettings


def create_cart_app(settings: CartSettings | None = None) -> FastAPI:
    settings = settings or load_settings(CartSettings)
    credentials = Credentials.from_settings(settings)
    catalog = ServiceClient("catalog", str(settings.catalog_url), credentials=credentials)
    app = create_app(
        settings,
        title="Mosaic cart",
        description="A cart per visitor or signed-in user: lines of product ids and quantities.",
        routers=[api.router],
        credentials=credentials,
        resources=[
            Database(settings.database_url, pool_size=settings.database_pool_size),
            CatalogProducts(catalog),
        ],
    )
    app.add_exception_handler(CartError, on_cart_error)
    return app
