"""Broken object-level authorisation, tried end to end: one shopper cannot see another's
order by its id, neither at the shop's pages nor at orders' API with their own token, and
nobody finds a guest's order by guessing the token of its link. Every refusal is a 404,
the same as for an order that does not exist, so ids and tokens reveal nothing."""

import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from mosaic.ports import free_port
from mosaic_testing import MODES, Shopper, UpProcess, up_args

pytestmark = pytest.mark.system

PASSWORD = "seven amber kites above the quiet bay"
ORDER_PAGE = re.compile(r"^/orders/([0-9a-f-]{36})$")
GUEST_PAGE = re.compile(r"^/orders/status/([A-Za-z0-9_-]+)$")
NOT_FOUND = "There is no order at this address"


@dataclass
class Shop:
    up: UpProcess
    url: str
    products: list[str]


@dataclass
class Customer:
    shopper: Shopper
    email: str

    def access_token(self, up: UpProcess) -> str:
        """The user's own access token from accounts, as the frontend gets it at sign-in."""
        with up.client("accounts", "frontend") as accounts:
            signed_in = accounts.post(
                "/v1/sessions",
                json={"email": self.email, "password": PASSWORD},
                headers={"x-client-address": "127.0.0.1"},
            )
        assert signed_in.status_code == 201, signed_in.text
        return str(signed_in.json()["access_token"]["token"])


@pytest.fixture(scope="module", params=MODES)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """One shop per mode (separate processes, then all in one) for the whole module."""
    home = tmp_path_factory.mktemp("checkout-bola") / "home"
    with UpProcess(home, free_port(), *up_args(request.param)) as up:
        url = up.wait_ready(timeout=180)
        with Shopper(url) as shopper:
            products = shopper.products()
        yield Shop(up, url, products)


@pytest.fixture
def ada(shop: Shop) -> Iterator[Customer]:
    with Shopper(shop.url) as shopper:
        email = f"ada-{uuid.uuid4().hex[:10]}@example.com"
        shopper.sign_up("Ada Lovelace", email, PASSWORD, mail=shop.up.mail)
        yield Customer(shopper, email)


@pytest.fixture
def bob(shop: Shop) -> Iterator[Customer]:
    with Shopper(shop.url) as shopper:
        email = f"bob-{uuid.uuid4().hex[:10]}@example.com"
        shopper.sign_up("Bob Kahn", email, PASSWORD, mail=shop.up.mail)
        yield Customer(shopper, email)


def order(shop: Shop, shopper: Shopper, email: str) -> str:
    """Buy the first product; the order page's path the shop redirects to."""
    shopper.add_to_cart(shop.products[0])
    placed = shopper.place_order({**shopper.checkout_form(), "email": email})
    assert placed.status_code == 303, placed.text
    return placed.headers["location"]


def is_not_found(response: httpx.Response) -> bool:
    return response.status_code == 404 and NOT_FOUND in response.text


def test_a_user_cannot_see_another_users_order_by_its_id(
    shop: Shop, ada: Customer, bob: Customer
) -> None:
    page = order(shop, ada.shopper, ada.email)
    matched = ORDER_PAGE.match(page)
    assert matched, page
    order_id = matched[1]
    assert "Confirmed" in ada.shopper.open(page).text

    # At the shop: Bob, an anonymous visitor and a made-up id all see the same 404 page.
    assert is_not_found(bob.shopper.http.get(page))
    assert order_id not in " ".join(bob.shopper.open("/account/orders").links)
    with Shopper(shop.url) as stranger:
        assert is_not_found(stranger.http.get(page))
    assert is_not_found(bob.shopper.http.get(f"/orders/{uuid.uuid4()}"))

    # At orders' API, as the frontend, with Bob's own valid token or a visitor's id: 404
    # order-not-found, exactly like an order that does not exist.
    ada_token, bob_token = ada.access_token(shop.up), bob.access_token(shop.up)
    with shop.up.client("orders", "frontend") as orders:

        def get(path: str, **headers: str) -> httpx.Response:
            return orders.get(path, headers=headers)

        own = get(f"/v1/orders/{order_id}", authorization=f"Bearer {ada_token}")
        assert own.status_code == 200, own.text
        assert own.json()["id"] == order_id
        missing = get(f"/v1/orders/{uuid.uuid4()}", authorization=f"Bearer {bob_token}")
        assert missing.status_code == 404
        for headers in (
            {"authorization": f"Bearer {bob_token}"},
            {"x-visitor-id": secrets.token_urlsafe(24)},
        ):
            refused = get(f"/v1/orders/{order_id}", **headers)
            assert refused.status_code == 404, refused.text
            assert refused.json()["type"] == missing.json()["type"]
            assert ada.email not in refused.text  # nothing of the order shows
        history = get("/v1/orders", authorization=f"Bearer {bob_token}")
        assert history.status_code == 200
        assert order_id not in history.text


def test_nobody_finds_a_guests_order_by_guessing_the_token_of_its_link(shop: Shop) -> None:
    with Shopper(shop.url) as guest:
        page = order(shop, guest, f"guest-{uuid.uuid4().hex[:10]}@example.com")
    matched = GUEST_PAGE.match(page)
    assert matched, page
    token = matched[1]
    assert len(token) >= 43, "32 random bytes, base64url"

    with Shopper(shop.url) as stranger:
        assert "Confirmed" in stranger.open(page).text  # the link itself works anywhere
        flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
        guesses = [secrets.token_urlsafe(32) for _ in range(20)]
        guesses += [flipped, token[:-1], token + "A", token.upper(), "0" * len(token)]
        for guess in guesses:
            assert is_not_found(stranger.http.get(f"/orders/status/{guess}")), guess
        with shop.up.client("orders", "frontend") as orders:
            for guess in guesses:
                found = orders.get(f"/v1/orders/by-token/{guess}")
                assert found.status_code == 404, guess
            assert orders.get(f"/v1/orders/by-token/{token}").status_code == 200
