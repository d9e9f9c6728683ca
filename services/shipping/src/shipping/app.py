"""Wiring: settings, the zone table, the database and routes into one app."""

from __future__ import annotations

from chassis import Database, create_app, get_logger, load_settings
from chassis.settings import fail
from fastapi import FastAPI

from shipping import api
from shipping.domain import ShippingError, ZoneTable
from shipping.problems import on_shipping_error
from shipping.settings import ShippingSettings
from shipping.zones import ZoneTableError, load_zones


def create_shipping_app(settings: ShippingSettings | None = None) -> FastAPI:
    settings = settings or load_settings(ShippingSettings)
    app = create_app(
        settings,
        title="Mosaic shipping",
        description=(
            "Shipping quotes by destination and items (USD minor units, from the zone table "
            "shipped with the service), and shipments with tracking ids, created once per "
            "Idempotency-Key."
        ),
        routers=[api.router],
        resources=[Database(settings.database_url, pool_size=settings.database_pool_size)],
        on_startup=_announce,
    )
    # Loaded once, before serving: a broken table stops the process before anything starts.
    app.state.zones = _zones()
    app.add_exception_handler(ShippingError, on_shipping_error)
    return app


async def _announce(app: FastAPI) -> None:
    zones: ZoneTable = app.state.zones
    get_logger("shipping").info(
        "zone table loaded", countries=len(zones.countries), unserved=sorted(zones.unserved)
    )


def _zones() -> ZoneTable:
    try:
        return load_zones()
    except ZoneTableError as error:
        fail(f"zone table error: {error}")
