"""A cart belongs to its owner only: someone else's cart id is 404, exactly like a missing
one; the user comes only from a verified token."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from chassis.testing import ServiceKeys, assert_problem
from chassis.user_tokens import UserTokenSigner
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from .conftest import Shopper, add, open_cart


def _requests(cart_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/carts/{cart_id}", None),
        ("GET", f"/v1/carts/{cart_id}?include=products", None),
        ("POST", f"/v1/carts/{cart_id}/items", {"product_id": "wool-socks", "quantity": 1}),
        ("PUT", f"/v1/carts/{cart_id}/items/brass-compass", {"quantity": 3}),
        ("DELETE", f"/v1/carts/{cart_id}/items/brass-compass", None),
        ("DELETE", f"/v1/carts/{cart_id}/items", None),
    ]


async def _same_as_missing(client: httpx.AsyncClient, owner: Shopper, intruder: Shopper) -> None:
    cart_id = await open_cart(client, owner)
    await add(client, owner, cart_id, "brass-compass", 2)
    missing = str(uuid.uuid4())
    for (method, path, body), (_, missing_path, _) in zip(
        _requests(cart_id), _requests(missing), strict=True
    ):
        theirs = await client.request(method, path, json=body, headers=intruder.headers)
        nobody = await client.request(method, missing_path, json=body, headers=intruder.headers)
        problem = assert_problem(theirs, 404, "cart-not-found")
        per_request = {"instance": None, "request_id": None}
        assert {**problem, **per_request} == {**nobody.json(), **per_request}
    view = await client.get(f"/v1/carts/{cart_id}", headers=owner.headers)
    assert view.json()["lines"] == [{"product_id": "brass-compass", "quantity": 2, "product": None}]


async def test_another_visitors_cart_is_404(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    await _same_as_missing(client, visitor(), visitor())


async def test_another_users_cart_is_404(
    client: httpx.AsyncClient, user: Callable[..., Shopper]
) -> None:
    await _same_as_missing(client, user(), user())


async def test_a_visitor_cannot_use_a_users_cart_nor_the_reverse(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    await _same_as_missing(client, user(), visitor())
    await _same_as_missing(client, visitor(), user())


async def test_a_user_keeps_one_cart_across_tokens(
    client: httpx.AsyncClient, user: Callable[..., Shopper]
) -> None:
    cart_id = await open_cart(client, user("user-1"))
    assert await open_cart(client, user("user-1")) == cart_id


async def test_the_token_wins_over_a_visitor_id_and_user_ids_sent_are_ignored(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], user: Callable[..., Shopper]
) -> None:
    signed_in = user("user-2")
    cart_id = await open_cart(client, signed_in)
    someone = visitor()
    headers = {**signed_in.headers, **someone.headers, "x-user-id": "user-3"}
    assert await open_cart(client, Shopper(headers)) == cart_id
    # Naming a user without their token gets their cart nowhere.
    forged = Shopper({**someone.headers, "x-user-id": "user-2", "x-user": "user-2"})
    assert await open_cart(client, forged) != cart_id


async def test_no_owner_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/carts"), 401, "owner-unknown")


@pytest.mark.parametrize(
    "visitor_id",
    [
        "short",
        "x" * 21,
        "x" * 65,
        "has spaces in it abcdefghij",
        "dots.are.not.url.safe.x",
        "+/" * 11,
    ],
)
async def test_a_malformed_visitor_id_is_422(client: httpx.AsyncClient, visitor_id: str) -> None:
    response = await client.post("/v1/carts", headers={"x-visitor-id": visitor_id})
    assert_problem(response, 422, "invalid-request")


@pytest.mark.parametrize(
    ("authorization", "kind"),
    [
        ("Bearer not-a-jwt", "access-token-invalid"),
        ("Bearer ", "user-unauthenticated"),
        ("Basic dXNlcjpwYXNz", "user-unauthenticated"),
    ],
)
async def test_a_bad_user_token_is_401_even_with_a_visitor_id(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper], authorization: str, kind: str
) -> None:
    headers = {**visitor().headers, "Authorization": authorization}
    assert_problem(await client.post("/v1/carts", headers=headers), 401, kind)


async def test_a_token_signed_by_anyone_but_accounts_is_401(
    client: httpx.AsyncClient, keys: ServiceKeys
) -> None:
    key = load_pem_private_key(keys.key_file("impostor").read_bytes(), password=None)
    forger = UserTokenSigner(lambda: key, lifetime=600)  # type: ignore[arg-type,return-value]
    token, _ = forger.issue("user-1", "session-1")
    response = await client.post("/v1/carts", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "access-token-invalid")


async def test_an_expired_token_is_401(client: httpx.AsyncClient, keys: ServiceKeys) -> None:
    key = load_pem_private_key(keys.key_file("accounts").read_bytes(), password=None)
    old = UserTokenSigner(lambda: key, lifetime=60, clock=lambda: 1_000_000.0)  # type: ignore[arg-type,return-value]
    token, _ = old.issue("user-1", "session-1")
    response = await client.post("/v1/carts", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "access-token-expired")


async def test_a_malformed_cart_id_is_422(
    client: httpx.AsyncClient, visitor: Callable[[], Shopper]
) -> None:
    response = await client.get("/v1/carts/not-a-uuid", headers=visitor().headers)
    assert_problem(response, 422, "invalid-request")
