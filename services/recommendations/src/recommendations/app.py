"""Wiring: settings, the catalog client and the routes into one app."""

from __future__ import annotations

from chassis import Credentials, ServiceClient, create_app, load_settings
from fastapi import FastAPI

from recommendations import api
from recommendations.clients import CatalogClient
from recommendations.handlers import RecommendationError
from recommendations.problems import on_recommendation_error
from recommendations.settings import RecommendationsSettings


def create_recommendations_app(settings: RecommendationsSettings | None = None) -> FastAPI:
    settings = settings or load_settings(RecommendationsSettings)
    credentials = Credentials.from_settings(settings)
    catalog = ServiceClient(
        "catalog",
        str(settings.catalog_url),
        connect_timeout=settings.catalog_timeout_seconds,
        request_timeout=settings.catalog_timeout_seconds,
        credentials=credentials,
    )
    app = create_app(
        settings,
        title="Mosaic recommendations",
        description=(
            '"You may also like" for a product page or a cart, from catalog\'s products: the '
            "same category first, then catalog's front page; never what is already there."
        ),
        routers=[api.router],
        credentials=credentials,
        resources=[CatalogClient(catalog)],
    )
    app.add_exception_handler(RecommendationError, on_recommendation_error)
    return app
