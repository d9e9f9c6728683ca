"""shipping on real Postgres, migrated by its own release command, driven in-process over
HTTP with real service tokens: as orders by default, as another caller when a test says so.

Every test starts with no shipments.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from shipping.app import create_shipping_app
from shipping.settings import ShippingSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


def _tested() -> TestedService:
    callers = ("orders", "frontend", "admin", "stranger")
    return TestedService("shipping", SERVICE_DIR, callers, "shipments, idempotency_keys")


tested_service, keys, database_url, alembic = service_fixtures(_tested())


def settings_for(database_url: str, keys: ServiceKeys) -> ShippingSettings:
    env = in_process_env("shipping", keys, DATABASE_URL=database_url)
    return ShippingSettings.model_validate(env)


@pytest.fixture(scope="session")
async def client(database_url: str, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it as orders."""
    app = create_shipping_app(settings_for(database_url, keys))
    async with in_process_client(app, keys, "orders") as http:
        yield http


@pytest.fixture(autouse=True)
def no_shipments(emptied_tables: None) -> None:
    """Every test starts with no shipments."""


def shipment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": f"order:{uuid.uuid4()}",
        "option": "standard",
        "address": {
            "name": "Ada Lovelace",
            "line1": "Invalidenstraße 117",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "items": [
            {"product_id": "brass-compass", "quantity": 2},
            {"product_id": "wool-socks", "quantity": 1},
        ],
    }
    body.update(changes)
    return body


def new_key() -> str:
    return f"order-{uuid.uuid4()}-shipment"


async def create(
    client: httpx.AsyncClient, body: dict[str, Any] | None = None, key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/shipments",
        json=body if body is not None else shipment_body(),
        headers={"Idempotency-Key": key or new_key()},
    )
