"""BOLA: an order is its owner's. Another shopper's id, or a guessed link, is 404."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable

import httpx

from services.orders.tests.stand_ins import StandIns

from .driving import Shopper, assert_problem, place


async def _order(
    client: httpx.AsyncClient, stand_ins: StandIns, shopper: Shopper
) -> dict[str, str]:
    stand_ins.cart.fill(shopper, {"wool-socks": 1})
    response = await place(client, shopper)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_another_users_order_is_404(
    client: httpx.AsyncClient, stand_ins: StandIns, user: Callable[..., Shopper]
) -> None:
    alice, bob = user(), user()
    order = await _order(client, stand_ins, alice)
    assert (await client.get(f"/v1/orders/{order['id']}", headers=alice.headers)).status_code == 200
    assert_problem(
        await client.get(f"/v1/orders/{order['id']}", headers=bob.headers), 404, "order-not-found"
    )
    missing = await client.get(f"/v1/orders/{uuid.uuid4()}", headers=bob.headers)
    assert_problem(missing, 404, "order-not-found")


async def test_a_visitor_cannot_see_another_visitors_order(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    order = await _order(client, stand_ins, visitor())
    response = await client.get(f"/v1/orders/{order['id']}", headers=visitor().headers)
    assert_problem(response, 404, "order-not-found")


async def test_a_wrong_or_guessed_link_is_404(
    client: httpx.AsyncClient, stand_ins: StandIns, visitor: Callable[[], Shopper]
) -> None:
    order = await _order(client, stand_ins, visitor())
    token = order["status_url_token"]
    assert len(token) == 43
    for guess in (secrets.token_urlsafe(32), token[:-1] + ("A" if token[-1] != "A" else "B"), "x"):
        assert_problem(await client.get(f"/v1/orders/by-token/{guess}"), 404, "order-not-found")


async def test_history_is_the_users_own_newest_first(
    client: httpx.AsyncClient, stand_ins: StandIns, user: Callable[..., Shopper]
) -> None:
    user_id = secrets.token_hex(8)
    alice, bob = user(user_id), user()
    first = await _order(client, stand_ins, alice)
    second = await _order(client, stand_ins, user(user_id))  # another token, same user
    await _order(client, stand_ins, bob)
    history = await client.get("/v1/orders", headers=alice.headers)
    assert [o["id"] for o in history.json()["items"]] == [second["id"], first["id"]]
    assert "status_url_token" not in history.json()["items"][0]


async def test_history_needs_a_signed_in_user(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    assert_problem(
        await client.get("/v1/orders", headers=visitor().headers), 401, "user-unauthenticated"
    )
