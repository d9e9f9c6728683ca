"""shipping on real Postgres, migrated by its own release command, driven in-process over
HTTP with real service tokens: as orders by default, as another caller when a test says so.

Every test starts with no shipments.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from chassis.testing import ServiceKeys, run_alembic
from mosaic.backing import BackingServers
from shipping.app import create_shipping_app
from shipping.settings import ShippingSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


def migrate(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Alembic as the release phase does: from the service folder, URL in the env."""
    return run_alembic(SERVICE_DIR, database_url, *args)


Migrate = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def alembic() -> Migrate:
    return migrate


@pytest.fixture(scope="session")
def database_url(backing: BackingServers) -> str:
    url = backing.database_url("shipping")
    result = migrate(url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    return url


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


def as_orders(keys: ServiceKeys) -> Callable[[httpx.Request], Awaitable[None]]:
    async def sign(request: httpx.Request) -> None:
        if "x-service-token" not in request.headers:
            request.headers["x-service-token"] = keys.token("orders", "shipping")

    return sign


@pytest.fixture(scope="session")
async def client(database_url: str, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it as orders."""
    app = create_shipping_app(settings_for(database_url, keys))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://shipping",
            event_hooks={"request": [as_orders(keys)]},
        ) as http,
    ):
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
