"""Writes: PUT creates or replaces, PATCH changes some fields; both follow the rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

DRAFT: dict[str, Any] = {
    "name": "Oak Spoon",
    "description": "A carved oak spoon for stirring and serving.",
    "category": "kitchen",
    "price": {"amount": 1200, "currency": "USD"},
    "tags": ["wood", "spoon", "wood"],
}


async def test_put_creates_then_replaces(client: httpx.AsyncClient) -> None:
    created = await client.put("/v1/products/test-oak-spoon", json=DRAFT)
    assert created.status_code == 201
    assert created.headers["location"] == "/v1/products/test-oak-spoon"
    assert created.json() == {
        "id": "test-oak-spoon",
        **DRAFT,
        "tags": ["wood", "spoon"],
        "picture": "/v1/pictures/test-oak-spoon.svg",
    }
    replaced = await client.put(
        "/v1/products/test-oak-spoon", json={**DRAFT, "name": "  Oak Ladle  ", "tags": []}
    )
    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["tags"]) == ("Oak Ladle", [])
    assert (await client.get("/v1/products/test-oak-spoon")).json() == replaced.json()


async def test_a_product_read_can_be_written_back(client: httpx.AsyncClient) -> None:
    await client.put("/v1/products/test-oak-spoon", json=DRAFT)
    product = (await client.get("/v1/products/test-oak-spoon")).json()
    product["price"]["amount"] = 1300
    response = await client.put("/v1/products/test-oak-spoon", json=product)
    assert response.status_code == 200
    assert response.json()["price"]["amount"] == 1300


async def test_patch_changes_only_what_it_names(client: httpx.AsyncClient) -> None:
    await client.put("/v1/products/test-oak-spoon", json=DRAFT)
    response = await client.patch("/v1/products/test-oak-spoon", json={"category": "home"})
    assert response.status_code == 200
    assert response.json() == {
        **(await client.get("/v1/products/test-oak-spoon")).json(),
        "category": "home",
    }
    assert response.json()["name"] == DRAFT["name"]


async def test_patch_of_an_unknown_product_is_a_404(
    client: httpx.AsyncClient, problem: Any
) -> None:
    response = await client.patch("/v1/products/test-nothing", json={"name": "x"})
    problem(response, 404, "product-not-found")


async def test_an_unknown_category_is_refused(client: httpx.AsyncClient, problem: Any) -> None:
    body = {**DRAFT, "category": "garden-gnomes"}
    problem(await client.put("/v1/products/test-gnome", json=body), 422, "unknown-category")
    await client.put("/v1/products/test-oak-spoon", json=DRAFT)
    response = await client.patch("/v1/products/test-oak-spoon", json={"category": "nope"})
    problem(response, 422, "unknown-category")
    assert (await client.get("/v1/products/test-gnome")).status_code == 404
    assert (await client.get("/v1/products/test-oak-spoon")).json()["category"] == "kitchen"


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"id": "another-id"}, "read-only-field"),
        ({"picture": "/elsewhere.svg"}, "read-only-field"),
        ({"price": {"amount": 1200, "currency": "EUR"}}, "invalid-request"),
        ({"price": {"amount": -1, "currency": "USD"}}, "invalid-request"),
        ({"price": {"amount": 12.5, "currency": "USD"}}, "invalid-request"),
        ({"name": ""}, "invalid-request"),
        ({"name": "Tab\tin name"}, "invalid-request"),
        ({"description": "nul \x00 byte"}, "invalid-request"),
        ({"tags": ["Not A Slug"]}, "invalid-request"),
        ({"colour": "red"}, "invalid-request"),
    ],
)
async def test_invalid_products_are_refused(
    client: httpx.AsyncClient, problem: Any, change: dict[str, Any], kind: str
) -> None:
    response = await client.put("/v1/products/test-oak-spoon", json={**DRAFT, **change})
    problem(response, 422, kind)
    assert (await client.get("/v1/products/test-oak-spoon")).status_code == 404


async def test_a_bad_product_id_cannot_be_created(client: httpx.AsyncClient, problem: Any) -> None:
    problem(await client.put("/v1/products/Oak_Spoon", json=DRAFT), 422, "invalid-request")
    problem(await client.put("/v1/products/oak--spoon", json=DRAFT), 422, "invalid-request")
