"""orders at checkout: it reads the owner's current cart, and once the order is confirmed
takes the ordered units out (once per order; units added meanwhile stay)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from chassis.testing import ServiceKeys, assert_problem

from .conftest import Shopper, add, open_cart, quantities


def _as_orders(keys: ServiceKeys, shopper: Shopper | None = None) -> dict[str, str]:
    return {**keys.headers("orders", "cart"), **(shopper.headers if shopper else {})}


async def _remove(
    client: httpx.AsyncClient, keys: ServiceKeys, cart_id: str, order_id: str, lines: Any
) -> httpx.Response:
    return await client.put(
        f"/v1/carts/{cart_id}/orders/{order_id}",
        json={"lines": lines},
        headers=_as_orders(keys),
    )


async def test_orders_reads_the_owners_current_cart(
    client: httpx.AsyncClient, keys: ServiceKeys, user: Callable[..., Shopper]
) -> None:
    shopper = user()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "wool-socks", 2)
    response = await client.get("/v1/carts/current", headers=_as_orders(keys, shopper))
    assert quantities(response) == {"wool-socks": 2}
    assert response.json()["id"] == cart_id


async def test_orders_may_not_change_a_cart_otherwise(
    client: httpx.AsyncClient, keys: ServiceKeys, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    response = await client.delete(f"/v1/carts/{cart_id}/items", headers=_as_orders(keys, shopper))
    assert response.status_code == 403


async def test_ordered_units_leave_and_units_added_since_stay(
    client: httpx.AsyncClient, keys: ServiceKeys, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "wool-socks", 2)
    await add(client, shopper, cart_id, "brass-compass", 1)
    await add(client, shopper, cart_id, "wool-socks", 3)  # added after the checkout read
    await add(client, shopper, cart_id, "ceramic-pour-over", 1)  # a new line, likewise
    ordered = [
        {"product_id": "wool-socks", "quantity": 2},
        {"product_id": "brass-compass", "quantity": 1},
    ]
    response = await _remove(client, keys, cart_id, str(uuid.uuid4()), ordered)
    assert quantities(response) == {"wool-socks": 3, "ceramic-pour-over": 1}


async def test_removing_for_one_order_twice_changes_nothing(
    client: httpx.AsyncClient, keys: ServiceKeys, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "wool-socks", 5)
    order_id = str(uuid.uuid4())
    ordered = [{"product_id": "wool-socks", "quantity": 2}]
    answers = await asyncio.gather(
        *(_remove(client, keys, cart_id, order_id, ordered) for _ in range(5))
    )
    assert all(quantities(a) == {"wool-socks": 3} for a in answers)
    # Another order is another removal.
    again = await _remove(client, keys, cart_id, str(uuid.uuid4()), ordered)
    assert quantities(again) == {"wool-socks": 1}


async def test_a_line_gone_meanwhile_is_no_error(
    client: httpx.AsyncClient, keys: ServiceKeys, visitor: Callable[[], Shopper]
) -> None:
    shopper = visitor()
    cart_id = await open_cart(client, shopper)
    await add(client, shopper, cart_id, "wool-socks", 1)
    ordered = [{"product_id": "brass-compass", "quantity": 4}]
    response = await _remove(client, keys, cart_id, str(uuid.uuid4()), ordered)
    assert quantities(response) == {"wool-socks": 1}


async def test_an_unknown_cart_is_404(client: httpx.AsyncClient, keys: ServiceKeys) -> None:
    response = await _remove(client, keys, str(uuid.uuid4()), str(uuid.uuid4()), [])
    assert_problem(response, 404, "cart-not-found")


async def test_bad_lines_are_422(
    client: httpx.AsyncClient, keys: ServiceKeys, visitor: Callable[[], Shopper]
) -> None:
    cart_id = await open_cart(client, visitor())
    order_id = str(uuid.uuid4())
    for lines in (
        [{"product_id": "wool-socks", "quantity": 1}, {"product_id": "wool-socks", "quantity": 1}],
        [{"product_id": "wool-socks", "quantity": 0}],
        [{"product_id": "Not A Slug", "quantity": 1}],
        "nope",
    ):
        assert_problem(
            await _remove(client, keys, cart_id, order_id, lines), 422, "invalid-request"
        )
    bad_order = await client.put(
        f"/v1/carts/{cart_id}/orders/not-a-uuid", json={"lines": []}, headers=_as_orders(keys)
    )
    assert_problem(bad_order, 422, "invalid-request")
