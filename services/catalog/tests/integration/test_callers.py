"""Who may call what: the catalog's allowlists, enforced on every route."""

from __future__ import annotations

import httpx
import pytest
from catalog import api
from chassis import route_policies
from chassis.testing import ServiceKeys


def token(keys: ServiceKeys, caller: str) -> dict[str, str]:
    return keys.headers(caller, "catalog")


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products", headers={"x-service-token": ""})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/caller-unauthenticated")


async def test_a_caller_not_on_the_list_is_403(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    response = await client.get("/v1/products", headers=token(keys, "stranger"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_the_shop_pages_may_not_write(
    client: httpx.AsyncClient, keys: ServiceKeys, method: str
) -> None:
    response = await client.request(
        method, "/v1/products/brass-compass", json={"name": "x"}, headers=token(keys, "frontend")
    )
    assert response.status_code == 403


def test_every_route_declares_its_callers() -> None:
    policies = route_policies(api.router)
    assert policies, "the router has routes"
    assert all(p["declared"] for p in policies)
    readers = ["cart", "frontend", "orders", "recommendations"]
    reads = {p["callers"] == readers for p in policies if p["method"] in ("GET", "HEAD")}
    writes = {p["callers"] == ["admin"] for p in policies if p["method"] in ("PUT", "PATCH")}
    assert reads == {True}
    assert writes == {True}
