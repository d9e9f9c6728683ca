"""Signing in: the anonymous cart's lines move into the user's cart, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import httpx
from chassis.testing import assert_problem

from .conftest import Shopper, add, open_cart, quantities


async def merge(
    client: httpx.AsyncClient, signed_in: Shopper, anonymous: Shopper
) -> httpx.Response:
    headers = {**signed_in.headers, **anonymous.headers}
    return await client.post("/v1/carts/merge", headers=headers)


async def test_lines_move_quantities_sum_capped_and_the_visitor_cart_is_gone(
    client: httpx.AsyncClient,
    visitor: Callable[[], Shopper],
    user: Callable[..., Shopper],
    db: asyncpg.Connection,
) -> None:
    anonymous, signed_in = visitor(), user()
    anonymous_cart = await open_cart(client, anonymous)
    await add(client, anonymous, anonymous_cart, "brass-compass", 3)
    await add(client, anonymous, anonymous_cart, "wool-socks", 9)
    user_cart = await open_cart(client, signed_in)
    await add(client, signed_in, user_cart, "wool-socks", 4)
    await add(client, signed_in, user_cart, "ceramic-pour-over", 1)

    merged = await merge(client, signed_in, anonymous)
    assert merged.json()["id"] == user_cart
    expected = {"brass-compass": 3, "wool-socks": 10, "ceramic-pour-over": 1}
    assert quantities(merged) == expected
    gone = await client.get(f"/v1/carts/{anonymous_cart}", headers=anonymous.headers)
    assert_problem(gone, 404, "cart-not-found")
    assert await db.fetchval("SELECT count(*) FROM carts") == 1

    again = await merge(client, signed_in, anonymous)
    assert quantities(again) == expected
    assert again.json()["id"] == user_cart


async def test_a_first_sign_in_creates_the_users_cart(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    anonymous, signed_in = visitor(), user()
    anonymous_cart = await open_cart(client, anonymous)
    await add(client, anonymous, anonymous_cart, "brass-compass", 2)
    merged = await merge(client, signed_in, anonymous)
    assert merged.json()["id"] != anonymous_cart
    assert quantities(merged) == {"brass-compass": 2}
    assert (await client.post("/v1/carts", headers=signed_in.headers)).json()["id"] == (
        merged.json()["id"]
    )


async def test_without_an_anonymous_cart_the_users_cart_is_unchanged(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    signed_in = user()
    user_cart = await open_cart(client, signed_in)
    await add(client, signed_in, user_cart, "wool-socks", 2)
    merged = await merge(client, signed_in, visitor())
    assert merged.json()["id"] == user_cart
    assert quantities(merged) == {"wool-socks": 2}


async def test_concurrent_merges_move_the_lines_once(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    anonymous, signed_in = visitor(), user()
    anonymous_cart = await open_cart(client, anonymous)
    await add(client, anonymous, anonymous_cart, "brass-compass", 2)
    answers = await asyncio.gather(*(merge(client, signed_in, anonymous) for _ in range(8)))
    assert {r.status_code for r in answers} == {200}
    assert {r.json()["id"] for r in answers} == {answers[0].json()["id"]}
    view = await client.get(f"/v1/carts/{answers[0].json()['id']}", headers=signed_in.headers)
    assert quantities(view) == {"brass-compass": 2}


async def test_merging_needs_a_signed_in_user_and_a_visitor(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    only_visitor = await client.post("/v1/carts/merge", headers=visitor().headers)
    assert_problem(only_visitor, 401, "user-unauthenticated")
    only_user = await client.post("/v1/carts/merge", headers=user().headers)
    assert_problem(only_user, 422, "invalid-request")
    bad_token = {**visitor().headers, "Authorization": "Bearer nope"}
    assert_problem(
        await client.post("/v1/carts/merge", headers=bad_token), 401, "access-token-invalid"
    )
