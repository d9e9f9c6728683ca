"""Who may call: the frontend on every shopper's route; orders reads the current cart and
takes ordered lines out, and may do nothing else."""

from __future__ import annotations

import uuid

import httpx
from cart import api
from chassis import route_policies
from chassis.testing import ServiceKeys


async def test_no_service_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/carts", headers={"x-service-token": ""})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/caller-unauthenticated")


async def test_a_service_not_on_the_list_is_403(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.post("/v1/carts", headers=keys.headers("stranger", "cart"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")


def test_each_route_names_its_callers() -> None:
    policies = {(p["method"], p["path"]): p for p in route_policies(api.router)}
    assert len(policies) == 10
    assert all(p["declared"] for p in policies.values())
    special = {
        ("GET", "/v1/carts/current"): ["frontend", "orders"],
        ("PUT", "/v1/carts/{cart_id}/orders/{order_id}"): ["orders"],
    }
    for route, policy in policies.items():
        assert sorted(policy["callers"]) == special.get(route, ["frontend"]), route


async def test_the_frontend_may_not_remove_ordered_lines(client: httpx.AsyncClient) -> None:
    cart, order = uuid.uuid4(), uuid.uuid4()
    response = await client.put(f"/v1/carts/{cart}/orders/{order}", json={"lines": []})
    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")
