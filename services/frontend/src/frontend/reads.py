"""What the frontend reads of each callee: every call its clients make, with the model the
answer is validated with (`clients/*.py`). `chassis.consumers` checks each against the
callee's committed openapi.json (tests/architecture/test_consumer_reads.py), and the
stand-ins' recorded calls against this list (tests/conftest.py).

accounts' answers are read as dicts by the routes (`web/viewer.py`, `routes/identity.py`,
`routes/account.py`, `routes/checkout_page.py`): the models below name the keys they read.
What the frontend sends accounts and orders is declared too (`sends`: the models its clients
build the bodies from), so a callee can drop a request field only once the frontend no
longer sends it.
"""

from __future__ import annotations

from chassis.consumers import Call, Reads
from pydantic import AwareDatetime

from frontend.clients.accounts import (
    AddressForm,
    EmailOnly,
    LinkUse,
    RefreshForm,
    SignInForm,
    SignUpForm,
)
from frontend.clients.answers import Answer
from frontend.clients.cart import Cart
from frontend.clients.catalog import Product, ProductPage, _Categories
from frontend.clients.currency import _Conversions, _Currencies
from frontend.clients.order_form import PlaceOrderForm
from frontend.clients.orders import ChargeLimit, Order, PlacedOrder, _History
from frontend.clients.recommendations import _Recommendations
from frontend.clients.shipping import _Quote


class _User(Answer):
    id: str
    given_name: str
    family_name: str | None = None


class _Token(Answer):
    token: str


class _AccessToken(Answer):
    token: str
    expires_at: AwareDatetime


class SignedIn(Answer):
    """`web/viewer.py` keeps these in the session; identity.py greets by `given_name`."""

    user: _User
    session: _Token
    access_token: _AccessToken


class Refreshed(Answer):
    access_token: _AccessToken


class Profile(Answer):
    email: str
    given_name: str
    family_name: str | None = None


class SavedAddress(Answer):
    id: str
    recipient: str | None = None
    country: str
    postal_code: str | None = None


class SavedAddresses(Answer):
    items: list[SavedAddress]


READS = Reads(
    "frontend",
    calls=(
        Call("accounts", "POST", "/v1/users", sends=SignUpForm),
        Call("accounts", "POST", "/v1/users/verification-requests", sends=EmailOnly),
        Call("accounts", "POST", "/v1/verifications", SignedIn, sends=LinkUse),
        Call("accounts", "POST", "/v1/sessions", SignedIn, sends=SignInForm),
        Call("accounts", "POST", "/v1/sessions/refresh", Refreshed, sends=RefreshForm),
        Call("accounts", "DELETE", "/v1/sessions/current"),
        Call("accounts", "GET", "/v1/users/me", Profile),
        Call("accounts", "GET", "/v1/users/me/addresses", SavedAddresses),
        Call("accounts", "POST", "/v1/users/me/addresses", sends=AddressForm),
        Call("accounts", "DELETE", "/v1/users/me/addresses/{address_id}"),
        Call("cart", "GET", "/v1/carts/current", Cart),
        Call("cart", "POST", "/v1/carts", Cart),
        Call("cart", "POST", "/v1/carts/{cart_id}/items", Cart),
        Call("cart", "POST", "/v1/carts/current/items", Cart),
        Call("cart", "PUT", "/v1/carts/{cart_id}/items/{product_id}", Cart),
        Call("cart", "DELETE", "/v1/carts/{cart_id}/items/{product_id}"),
        Call("cart", "POST", "/v1/carts/merge", Cart),
        Call("catalog", "GET", "/v1/categories", _Categories),
        Call("catalog", "GET", "/v1/products", ProductPage),
        Call("catalog", "GET", "/v1/products/{product_id}", Product),
        Call("catalog", "GET", "/v1/search", ProductPage),
        Call("catalog", "GET", "/v1/pictures/{product_id}.svg"),
        Call("currency", "GET", "/v1/currencies", _Currencies),
        Call("currency", "POST", "/v1/convert", _Conversions),
        Call("orders", "GET", "/v1/limits/{currency}", ChargeLimit),
        Call("orders", "POST", "/v1/orders", PlacedOrder, sends=PlaceOrderForm),
        Call("orders", "GET", "/v1/orders/by-key", PlacedOrder),
        Call("orders", "GET", "/v1/orders/{order_id}", Order),
        Call("orders", "GET", "/v1/orders/by-token/{token}", Order),
        Call("orders", "GET", "/v1/orders", _History),
        # A recommendation is the part of catalog's product a card shows: no description, no
        # tags (the shared model's defaults stand).
        Call(
            "recommendations",
            "GET",
            "/v1/recommendations",
            _Recommendations,
            defaulted=("items[].description", "items[].tags"),
        ),
        Call("shipping", "POST", "/v1/quotes", _Quote),
    ),
)
