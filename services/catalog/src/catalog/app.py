"""Wiring: settings, backing services and routes into one app."""

from __future__ import annotations

from chassis import Cache, Database, create_app, load_settings
from fastapi import FastAPI

from catalog import api
from catalog.cache import InvalidationFailed
from catalog.domain import CatalogError
from catalog.problems import on_catalog_error
from catalog.settings import CatalogSettings


def create_catalog_app(settings: CatalogSettings | None = None) -> FastAPI:
    settings = settings or load_settings(CatalogSettings)
    app = create_app(
        settings,
        title="Mosaic catalog",
        description="Products and categories of the shop: browse, search, pictures, edits.",
        routers=[api.router],
        resources=[
            Database(settings.database_url, pool_size=settings.database_pool_size),
            Cache(settings.redis_url, prefix="catalog"),
        ],
    )
    app.add_exception_handler(CatalogError, on_catalog_error)
    app.add_exception_handler(InvalidationFailed, on_catalog_error)
    return app
