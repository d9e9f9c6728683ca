"""Who may call what: the currency service's allowlists, enforced on every route."""

from __future__ import annotations

import httpx
import pytest
from chassis import route_policies
from chassis.testing import ServiceKeys
from currency import api

ROUTES = [
    ("GET", "/v1/currencies", None),
    ("GET", "/v1/convert?amount=1&from=USD&to=JPY", None),
    ("POST", "/v1/convert", {"to": "JPY", "items": [{"amount": 1, "currency": "USD"}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_no_token_is_401(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body, headers={"x-service-token": ""})

    assert response.status_code == 401
    assert response.json()["type"].endswith("/caller-unauthenticated")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_a_caller_not_on_the_list_is_403(
    client: httpx.AsyncClient, keys: ServiceKeys, method: str, path: str, body: object
) -> None:
    headers = keys.headers("stranger", "currency")

    response = await client.request(method, path, json=body, headers=headers)

    assert response.status_code == 403
    assert response.json()["type"].endswith("/caller-not-allowed")


async def test_a_token_for_another_service_is_401(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    headers = keys.headers("frontend", "catalog")

    response = await client.get("/v1/currencies", headers=headers)

    assert response.status_code == 401


def test_every_route_declares_its_callers() -> None:
    policies = route_policies(api.router)

    assert {(p["method"], p["path"]) for p in policies} == {
        ("GET", "/v1/currencies"),
        ("GET", "/v1/convert"),
        ("POST", "/v1/convert"),
    }
    assert all(p["declared"] and p["callers"] == ["frontend", "orders"] for p in policies)
