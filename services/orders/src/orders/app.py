"""Wiring: settings, the database, the clients of the five callees and routes into one app."""

from __future__ import annotations

from chassis import Credentials, Database, create_app, load_settings
from fastapi import FastAPI

from orders import api, crash
from orders.checkout import Checkout
from orders.settings import OrdersSettings
from orders.upstream import upstream


def create_orders_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or load_settings(OrdersSettings)
    credentials = Credentials.from_settings(settings)
    callees, clients = upstream(settings, credentials)
    driven, stores = crash.seam(settings.test_crash_after, callees)  # as is outside tests
    checkout = Checkout(
        driven,
        saga_seconds=settings.saga_seconds,
        wait_seconds=settings.checkout_wait_seconds,
        settle_seconds=settings.settle_seconds,
        stores=stores,
    )
    return create_app(
        settings,
        title="Mosaic orders",
        description="Checkout as a saga over cart, catalog, currency, payments and shipping; "
        "order history; events through a transactional outbox.",
        routers=[api.router],
        credentials=credentials,
        resources=[
            Database(settings.database_url, pool_size=settings.database_pool_size),
            *clients,
            checkout,
        ],
    )
