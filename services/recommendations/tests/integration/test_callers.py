"""Who may call what: the recommendations service's allowlist, enforced on its route."""

from __future__ import annotations

import httpx
from chassis import route_policies
from chassis.testing import ServiceKeys
from recommendations import api

PATH = "/v1/recommendations?product_id=mug"


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, headers={"x-service-token": ""})

    assert response.status_code == 401
    assert response.json()["type"].endswith("/caller-unauthenticated")


async def test_a_caller_not_on_the_list_is_403(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.get(PATH, headers=keys.headers("stranger", "recommendations"))

    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")


async def test_a_token_for_another_service_is_401(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.get(PATH, headers=keys.headers("frontend", "catalog"))

    assert response.status_code == 401


def test_every_route_declares_its_callers() -> None:
    policies = route_policies(api.router)

    assert {(p["method"], p["path"]) for p in policies} == {("GET", "/v1/recommendations")}
    assert all(p["declared"] and p["callers"] == ["frontend"] for p in policies)
