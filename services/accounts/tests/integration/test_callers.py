"""Who may call: only the frontend, on every route."""

from __future__ import annotations

import httpx
from accounts import api
from chassis import route_policies
from chassis.testing import ServiceKeys


async def test_no_service_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/users/me", headers={"x-service-token": ""})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/caller-unauthenticated")


async def test_a_service_not_on_the_list_is_403_before_anything_else(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    body = {"email": "ada@example.com", "password": "guess"}
    response = await client.post(
        "/v1/sessions",
        json=body,
        headers={**keys.headers("stranger", "accounts"), "x-client-address": "203.0.113.1"},
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")


def test_every_route_allows_the_frontend_only() -> None:
    policies = route_policies(api.router)
    assert len(policies) == 15
    assert all(p["declared"] and p["callers"] == ["frontend"] for p in policies)
