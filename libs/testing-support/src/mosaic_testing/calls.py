"""Calling the shop's services as one of them: for system tests that check invariants across
services (a charge at payments, a shipment at shipping) and for tests that place orders as
the frontend does."""

import secrets
import time
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mosaic.pki import TOKEN_HEADER, Pki, client_ssl_context, load_signing_key, sign_token

from mosaic_testing.pages import CHECKOUT_ADDRESS, TEST_CARD


class ServiceToken(httpx.Auth):
    """A fresh service token on every request, signed as `issuer` for `audience` (tokens
    live a minute, and a service may refuse a token it has seen)."""

    def __init__(self, key: Ed25519PrivateKey, issuer: str, audience: str) -> None:
        self.key, self.issuer, self.audience = key, issuer, audience

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[TOKEN_HEADER] = sign_token(
            self.key, issuer=self.issuer, audience=self.audience
        )
        yield request


def service_client(
    home: Path, service: str, port: int, *, caller: str, timeout: float = 30
) -> httpx.Client:
    """An HTTP client of `service` (its API `port`) as `caller` (a service, or "admin", the
    operator): mTLS with the caller's certificate and a service token per request, as
    `mosaic admin call` does. Close it (a `with` block) when done."""
    pki = Pki.of(home)
    files = pki.service(caller)
    return httpx.Client(
        base_url=f"https://127.0.0.1:{port}",
        verify=client_ssl_context(pki.ca_cert, files.cert, files.key),
        auth=ServiceToken(load_signing_key(files.signing_key), caller, service),
        timeout=timeout,
    )


class Guest:
    """An anonymous visitor's cart and checkout, placed as the frontend places them for a
    visitor: cart and orders called as `frontend` with the visitor's id (`x-visitor-id`).
    `cart` and `orders` are clients as the frontend (`UpProcess.client(..., "frontend")`)."""

    def __init__(self, cart: httpx.Client, orders: httpx.Client, visitor: str | None = None):
        self.cart, self.orders = cart, orders
        self.visitor = visitor or secrets.token_urlsafe(24)
        self.headers = {"x-visitor-id": self.visitor}

    def fill_cart(self, items: Mapping[str, int]) -> str:
        """Put `items` (product id -> units) into the visitor's cart; the cart's id."""
        opened = self.cart.post("/v1/carts", headers=self.headers)
        assert opened.status_code in (200, 201), opened.text
        cart_id: str = opened.json()["id"]
        for product, quantity in items.items():
            added = self.cart.post(
                f"/v1/carts/{cart_id}/items",
                headers=self.headers,
                json={"product_id": product, "quantity": quantity},
            )
            assert added.status_code == 200, added.text
        return cart_id

    def cart_lines(self) -> dict[str, int]:
        """What the visitor's cart holds now (product id -> units); {} without a cart."""
        found = self.cart.get("/v1/carts/current", headers=self.headers)
        if found.status_code == 404:
            return {}
        assert found.status_code == 200, found.text
        return {line["product_id"]: line["quantity"] for line in found.json()["lines"]}

    @staticmethod
    def checkout(
        email: str, card: str = TEST_CARD, currency: str = "USD", option: str = "standard"
    ) -> dict[str, Any]:
        """A checkout body for orders: delivery to Berlin, the card expiring in 3 years."""
        address = {name: value for name, value in CHECKOUT_ADDRESS.items() if value}
        expiry = {"exp_month": 12, "exp_year": time.gmtime().tm_year + 3, "cvc": "123"}
        return {
            "email": email,
            "currency": currency,
            "shipping_option": option,
            "address": address,
            "card": {"number": card, **expiry},
        }

    def place(self, body: Mapping[str, Any], key: str | None = None) -> httpx.Response:
        """POST /v1/orders with the Idempotency-Key `key` (a fresh one by default)."""
        headers = {**self.headers, "idempotency-key": key or secrets.token_urlsafe(24)}
        return self.orders.post("/v1/orders", headers=headers, json=dict(body))

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.orders.get(f"/v1/orders/{order_id}", headers=self.headers)
        assert found.status_code == 200, found.text
        order: dict[str, Any] = found.json()
        return order
