"""Who may call: quotes for the frontend and orders, shipments for orders, reads also for
the operator (`admin`)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from chassis import route_policies
from chassis.testing import ServiceKeys
from shipping import api

from .conftest import create, new_key, shipment_body

QUOTE = {
    "destination": {"country": "US", "postal_code": "94103"},
    "items": [{"product_id": "wool-socks", "quantity": 1}],
}


def test_the_declared_allowlists() -> None:
    assert {(p["method"], p["path"]): p["callers"] for p in route_policies(api.router)} == {
        ("POST", "/v1/quotes"): ["frontend", "orders"],
        ("POST", "/v1/shipments"): ["orders"],
        ("GET", "/v1/shipments"): ["admin", "orders"],
        ("GET", "/v1/shipments/{shipment_id}"): ["admin", "orders"],
        ("POST", "/v1/shipments/{shipment_id}/cancel"): ["orders"],
    }


async def test_no_service_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/quotes", json=QUOTE, headers={"x-service-token": ""})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/caller-unauthenticated")


@pytest.mark.parametrize("caller", ["frontend", "orders"])
async def test_quotes_for_the_frontend_and_orders(
    client: httpx.AsyncClient, keys: ServiceKeys, caller: str
) -> None:
    response = await client.post("/v1/quotes", json=QUOTE, headers=keys.headers(caller, "shipping"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("caller", ["stranger", "admin"])
async def test_quotes_for_no_one_else(
    client: httpx.AsyncClient, keys: ServiceKeys, caller: str
) -> None:
    response = await client.post("/v1/quotes", json=QUOTE, headers=keys.headers(caller, "shipping"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")


async def test_the_operator_may_read_but_not_create_or_cancel(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    shipment = (await create(client)).json()
    admin = keys.headers("admin", "shipping")
    read = await client.get(f"/v1/shipments/{shipment['id']}", headers=admin)
    assert read.json() == shipment
    listed = await client.get(
        "/v1/shipments", params={"reference": shipment["reference"]}, headers=admin
    )
    assert listed.json()["items"] == [shipment]
    created = await client.post(
        "/v1/shipments", json=shipment_body(), headers={"Idempotency-Key": new_key(), **admin}
    )
    cancelled = await client.post(f"/v1/shipments/{shipment['id']}/cancel", headers=admin)
    assert created.status_code == cancelled.status_code == 403


async def test_the_frontend_reads_no_shipments(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.get(
        f"/v1/shipments/{uuid.uuid4()}", headers=keys.headers("frontend", "shipping")
    )
    assert response.status_code == 403
