"""GET /v1/assortment: what recommendations keeps, versioned by catalog's generation."""

from __future__ import annotations

import httpx

DRAFT = {
    "name": "Aaa Cork Coaster",  # first in the listings' order, so on the catalog's first page
    "description": "A thick natural cork coaster for hot mugs.",
    "category": "kitchen",
    "price": {"amount": 600, "currency": "USD"},
    "tags": ["cork"],
}


async def test_it_is_the_listings_without_descriptions(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/assortment")
    kitchen = await client.get("/v1/products", params={"category": "kitchen", "page_size": 100})
    front = await client.get("/v1/products", params={"page_size": 100})

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items[:100]] == [p["id"] for p in front.json()["items"]]
    in_kitchen = [item["id"] for item in items if item["category"] == "kitchen"]
    assert in_kitchen == [p["id"] for p in kitchen.json()["items"]]
    listed = {p["id"]: p for p in front.json()["items"]}
    for item in items:
        assert item == {k: v for k, v in listed[item["id"]].items() if k != "description"}


async def test_the_version_held_is_answered_with_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1/assortment")
    etag = first.headers["etag"]

    again = await client.get("/v1/assortment", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_a_write_shows_at_once_under_a_new_version(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1/assortment")
    etag = first.headers["etag"]

    saved = await client.put("/v1/products/test-cork-coaster", json=DRAFT)
    assert saved.status_code == 201
    after = await client.get("/v1/assortment", headers={"If-None-Match": etag})

    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert after.json()["items"][0]["id"] == "test-cork-coaster"
    assert after.json()["items"][0]["price"] == {"amount": 600, "currency": "USD"}
