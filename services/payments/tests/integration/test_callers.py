"""Who may call: orders moves money; admin may read; nobody else gets anything."""

from __future__ import annotations

import uuid

import httpx
import pytest
from chassis import route_policies
from chassis.testing import ServiceKeys, assert_problem
from payments import api

from .conftest import charge_body, charged, new_key


def test_orders_moves_money_and_admin_may_read() -> None:
    policies = {(p["method"], p["path"]): p["callers"] for p in route_policies(api.router)}
    assert policies == {
        ("POST", "/v1/charges"): ["orders"],
        ("POST", "/v1/charges/{charge_id}/refunds"): ["orders"],
        ("GET", "/v1/charges"): ["admin", "orders"],
        ("GET", "/v1/charges/{charge_id}"): ["admin", "orders"],
        ("GET", "/v1/limits/{currency}"): ["orders"],
    }


async def test_no_service_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/charges", json=charge_body(), headers={"x-service-token": "", "Idempotency-Key": "k"}
    )
    assert_problem(response, 401, "caller-unauthenticated")


@pytest.mark.parametrize("caller", ["admin", "cart"])
async def test_only_orders_may_charge_or_refund(
    client: httpx.AsyncClient, keys: ServiceKeys, caller: str
) -> None:
    made = await charged(client)
    headers = {**keys.headers(caller, "payments"), "Idempotency-Key": new_key()}
    charging = await client.post("/v1/charges", json=charge_body(), headers=headers)
    assert_problem(charging, 403, "caller-not-allowed")
    refunding = await client.post(
        f"/v1/charges/{made['id']}/refunds", json={"reason": "x"}, headers=headers
    )
    assert_problem(refunding, 403, "caller-not-allowed")


async def test_admin_may_read_and_a_stranger_may_not(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    made = await charged(client)
    admin = keys.headers("admin", "payments")
    assert (await client.get(f"/v1/charges/{made['id']}", headers=admin)).json() == made
    listed = await client.get("/v1/charges", params={"reference": made["reference"]}, headers=admin)
    assert listed.json() == {"charges": [made]}
    cart = keys.headers("cart", "payments")
    assert_problem(
        await client.get(f"/v1/charges/{made['id']}", headers=cart), 403, "caller-not-allowed"
    )
    assert_problem(
        await client.get(f"/v1/charges/{uuid.uuid4()}", headers=cart), 403, "caller-not-allowed"
    )
