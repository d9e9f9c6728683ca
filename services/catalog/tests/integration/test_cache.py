"""Cache-aside: a read fills Valkey, the next one is served from it, a write retires it."""

from __future__ import annotations

import asyncpg
import httpx
from redis.asyncio import Redis


async def cached_keys(valkey: Redis) -> set[str]:
    """Listed with the admin's credentials: catalog's own user may not SCAN."""
    return {key.decode() async for key in valkey.scan_iter(match="catalog:*", count=1000)}


async def test_a_second_read_is_served_from_valkey(
    client: httpx.AsyncClient, valkey: Redis, valkey_admin: Redis, db: asyncpg.Connection
) -> None:
    first = (await client.get("/v1/products/brass-compass")).json()
    generation = (await valkey.get("catalog:generation")).decode()
    key = f"catalog:{generation}:product:brass-compass"
    assert key in await cached_keys(valkey_admin)
    assert 0 < await valkey.ttl(key) <= 300

    # Behind the cache's back: the row changes, the cached answer does not.
    await db.execute("UPDATE products SET name = 'Changed' WHERE id = 'brass-compass'")
    try:
        assert (await client.get("/v1/products/brass-compass")).json() == first
    finally:
        await db.execute("UPDATE products SET name = $1 WHERE id = 'brass-compass'", first["name"])


async def test_every_read_kind_is_cached_under_the_catalog_prefix(
    client: httpx.AsyncClient, valkey: Redis, valkey_admin: Redis
) -> None:
    await client.get("/v1/categories")
    await client.get("/v1/products", params={"category": "home", "page_size": 5})
    await client.get("/v1/search", params={"q": "lamp"})
    await client.get("/v1/products/table-lamp")
    generation = (await valkey.get("catalog:generation")).decode()
    names = {key.removeprefix(f"catalog:{generation}:") for key in await cached_keys(valkey_admin)}
    assert {"categories", "products:home:1:5", "product:table-lamp"} <= names
    assert any(name.startswith("search:") for name in names)


async def test_errors_are_not_cached(
    client: httpx.AsyncClient, valkey: Redis, valkey_admin: Redis
) -> None:
    await client.get("/v1/products/not-here")
    await client.get("/v1/products", params={"category": "not-here"})
    assert await cached_keys(valkey_admin) <= {"catalog:generation"}


async def test_a_write_retires_every_cached_read(client: httpx.AsyncClient, valkey: Redis) -> None:
    draft = {
        "name": "Cork Coaster",
        "description": "A thick natural cork coaster for hot mugs.",
        "category": "kitchen",
        "price": {"amount": 600, "currency": "USD"},
        "tags": ["cork", "mug"],
    }
    categories = (await client.get("/v1/categories")).json()
    kitchen = (await client.get("/v1/products", params={"category": "kitchen"})).json()
    everything = (await client.get("/v1/products", params={"page_size": 100})).json()
    coasters = (await client.get("/v1/search", params={"q": "coaster"})).json()
    assert coasters["total"] == 0

    assert (await client.put("/v1/products/test-cork-coaster", json=draft)).status_code == 201

    # Every page that shows the new product shows it at once, on every kind of read.
    after = (await client.get("/v1/products", params={"category": "kitchen"})).json()
    assert after["total"] == kitchen["total"] + 1
    assert "test-cork-coaster" in [p["id"] for p in after["items"]]
    assert (await client.get("/v1/products", params={"page_size": 100})).json()["total"] == (
        everything["total"] + 1
    )
    found = (await client.get("/v1/search", params={"q": "coaster"})).json()
    assert [p["id"] for p in found["items"]] == ["test-cork-coaster"]
    counts = {
        c["slug"]: c["product_count"] for c in (await client.get("/v1/categories")).json()["items"]
    }
    before = {c["slug"]: c["product_count"] for c in categories["items"]}
    assert counts == {**before, "kitchen": before["kitchen"] + 1}


async def test_a_change_shows_on_the_product_and_in_search(client: httpx.AsyncClient) -> None:
    draft = {
        "name": "Linen Napkins",
        "description": "Four stonewashed linen napkins.",
        "category": "home",
        "price": {"amount": 3000, "currency": "USD"},
    }
    await client.put("/v1/products/test-napkins", json=draft)
    assert (await client.get("/v1/products/test-napkins")).json()["price"]["amount"] == 3000
    assert (await client.get("/v1/search", params={"q": "napkins"})).json()["total"] == 1

    changes = {
        "name": "Linen Tea Towels",
        "description": "Four stonewashed linen tea towels.",
        "price": {"amount": 2500, "currency": "USD"},
    }
    assert (await client.patch("/v1/products/test-napkins", json=changes)).status_code == 200

    product = (await client.get("/v1/products/test-napkins")).json()
    assert (product["name"], product["price"]["amount"]) == ("Linen Tea Towels", 2500)
    assert (await client.get("/v1/search", params={"q": "napkins"})).json()["total"] == 0
    assert (await client.get("/v1/search", params={"q": "towels"})).json()["total"] == 1


async def test_a_lost_generation_cannot_revive_old_entries(
    client: httpx.AsyncClient, valkey: Redis, db: asyncpg.Connection
) -> None:
    before = (await client.get("/v1/products/pencil-set")).json()
    await db.execute("UPDATE products SET price_amount = 1 WHERE id = 'pencil-set'")
    try:
        # Valkey restarted without its data, or evicted the generation: a fresh one is made,
        # and the entry filed under the old one is never read again.
        await valkey.delete("catalog:generation")
        assert (await client.get("/v1/products/pencil-set")).json()["price"]["amount"] == 1
    finally:
        await db.execute(
            "UPDATE products SET price_amount = $1 WHERE id = 'pencil-set'",
            before["price"]["amount"],
        )
