"""shipping on real Postgres, migrated by its own release command, driven in-process over
HTTP with real service tokens: as orders by default, as another caller when a test says so.

Every test starts with no shipments.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from chassis.testing import ServiceKeys, in_process_client, migrated
from mosaic.backing import BackingServers
from shipping.app import create_shipping_app
from shipping.settings import ShippingSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def database_url(backing: BackingServers) -> str:
    return migrated(SERVICE_DIR, backing.database_url("shipping"))


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ServiceKeys:
    return ServiceKeys(tmp_path_factory.mktemp("keys"), ["orders", "frontend", "admin", "stranger"])


def settings_for(database_url: str, keys: ServiceKeys) -> ShippingSettings:
    return ShippingSettings.model_validate(
        {
            "MOSAIC_SERVICE": "shipping",
            "PORT": 1,  # served in-process: the ports are never bound
            "OPS_PORT": 2,
            "DATABASE_URL": database_url,
            # In-process there is no TLS to terminate; every call still carries a token.
            "TRANSPORT_SECURITY": "mesh",
            "SERVICE_TRUST_DIR": str(keys.trust_dir),
        }
    )


@pytest.fixture(scope="session")
async def client(database_url: str, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it as orders."""
    app = create_shipping_app(settings_for(database_url, keys))
    async with in_process_client(app, keys, "orders") as http:
        yield http


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection, to look at rows behind the service's back."""
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture(autouse=True)
async def no_shipments(database_url: str) -> AsyncIterator[None]:
    yield
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("TRUNCATE shipments, idempotency_keys")
    finally:
        await connection.close()


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The response is problem+json of this status, with a `type` ending in `/kind`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert str(body["type"]).endswith(f"/{kind}"), body
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


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
