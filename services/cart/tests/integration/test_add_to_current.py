"""`POST /v1/carts/current/items`: the frontend's "Add to cart" in one call, the owner's
cart opened if they have none (what `POST /v1/carts` and then its items did in two)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
from chassis.testing import assert_problem

from .conftest import Shopper, quantities


async def _add(
    client: httpx.AsyncClient, shopper: Shopper, product_id: str, quantity: int = 1
) -> httpx.Response:
    body = {"product_id": product_id, "quantity": quantity}
    return await client.post("/v1/carts/current/items", json=body, headers=shopper.headers)


async def test_adding_opens_the_cart_once_and_adds_to_it(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    for shopper in (visitor(), user()):
        first = await _add(client, shopper, "brass-compass", 2)
        again = await _add(client, shopper, "brass-compass", 3)
        other = await _add(client, shopper, "wool-socks")
        assert quantities(first) == {"brass-compass": 2}
        assert quantities(other) == {"brass-compass": 5, "wool-socks": 1}
        assert first.json()["id"] == again.json()["id"] == other.json()["id"]
        current = await client.get("/v1/carts/current", headers=shopper.headers)
        assert current.json() == other.json()


async def test_an_unknown_product_opens_no_cart(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], db: asyncpg.Connection
) -> None:
    shopper = visitor()
    assert_problem(await _add(client, shopper, "no-such-thing"), 422, "unknown-product")
    assert await db.fetchval("SELECT count(*) FROM carts") == 0


async def test_the_bounds_hold(client: httpx.AsyncClient, visitor: Callable[[], Shopper]) -> None:
    shopper = visitor()
    await _add(client, shopper, "brass-compass", 6)
    assert_problem(await _add(client, shopper, "brass-compass", 5), 422, "quantity-out-of-range")
    assert_problem(await _add(client, shopper, "brass-compass", 11), 422, "invalid-request")
    current = await client.get("/v1/carts/current", headers=shopper.headers)
    assert quantities(current) == {"brass-compass": 6}
