"""cart on real Postgres, migrated by its own release command, driven in-process over HTTP
with real service tokens as the frontend calls it, and calling a stand-in catalog: a tiny
aiohttp server on a real socket that, like catalog, refuses a call without a service token,
and whose answers are checked against catalog's contract after each test.

Every test starts with no carts.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cart.app import create_cart_app
from cart.reads import READS
from cart.settings import CartSettings
from chassis.stand_ins import Contract, StandIn, problem
from chassis.testing import ServiceKeys, in_process_client, in_process_env
from chassis.testing.plugin import TestedService, service_fixtures
from chassis.user_tokens import UserTokenSigner
from mosaic.ports import free_port

SERVICE_DIR = Path(__file__).resolve().parents[2]
CATALOG_CONTRACT = SERVICE_DIR.parent / "catalog" / "openapi.json"
PRODUCTS = {"brass-compass", "ceramic-pour-over", "wool-socks"} | {f"p-{n}" for n in range(60)}
BROKEN = "broken-product"  # the stand-in answers 500 for it


def _tested() -> TestedService:
    """Keys: cart's own (it signs calls to catalog), its callers', and accounts' (user tokens
    are signed with it)."""
    names = ("cart", "frontend", "orders", "stranger", "accounts", "impostor")
    return TestedService("cart", SERVICE_DIR, names, "carts CASCADE")


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@dataclass
class StandInCatalog(StandIn):
    """What the stand-in saw: the service token of every call, by product id. Its answers
    are checked against catalog's openapi.json after each test (`checked_catalog`)."""

    calls: list[tuple[str, str | None]] = field(default_factory=list)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/products/{product_id}", self.product)
        return app

    async def product(self, request: web.Request) -> web.Response:
        product_id = request.match_info["product_id"]
        token = request.headers.get("x-service-token")
        self.calls.append((product_id, token))
        if not token:
            return problem(401, "caller-unauthenticated", "no service token")
        if product_id == BROKEN:
            return problem(500, "internal-error", "the stand-in fails on purpose")
        if product_id not in PRODUCTS:
            return problem(404, "product-not-found", f"no product {product_id}")
        price = {"amount": 1200, "currency": "EUR"}
        return web.json_response(
            {
                "id": product_id,
                "name": product_id.title(),
                "description": "",
                "category": "travel",
                "price": price,
                "picture": f"/v1/pictures/{product_id}.svg",
                "tags": [],
            }
        )


@pytest.fixture(scope="session")
async def catalog() -> AsyncIterator[StandInCatalog]:
    stand_in = StandInCatalog()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture(autouse=True)
def checked_catalog(catalog: StandInCatalog) -> Iterator[None]:
    """After each test: the stand-in serves only catalog's routes, answered as catalog's
    openapi.json says, and cart called only what its reads.py declares."""
    catalog.answered.clear()
    yield
    found = Contract("catalog", json.loads(CATALOG_CONTRACT.read_text())).checked(catalog, READS)
    assert not found, "\n".join(found)


def settings_for(database_url: str, catalog_url: str, keys: ServiceKeys) -> CartSettings:
    env = in_process_env("cart", keys, DATABASE_URL=database_url, CATALOG_URL=catalog_url)
    return CartSettings.model_validate(env)


@pytest.fixture(scope="session")
async def client(
    database_url: str, catalog: StandInCatalog, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and an HTTP client calling it as the frontend."""
    app = create_cart_app(settings_for(database_url, catalog.url, keys))
    async with in_process_client(app, keys, "frontend") as http:
        yield http


@pytest.fixture
async def client_without_catalog(
    database_url: str, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """A cart whose CATALOG_URL points at a port nothing listens on."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = create_cart_app(settings_for(database_url, nowhere, keys))
    async with in_process_client(app, keys, "frontend") as http:
        yield http


@pytest.fixture(autouse=True)
def no_carts(emptied_tables: None) -> None:
    """Every test starts with no carts."""


@dataclass(frozen=True)
class Shopper:
    """Whom a request is for, as the frontend would say it: headers to send."""

    headers: dict[str, str]


ShopperFactory = Callable[..., Shopper]


@pytest.fixture(scope="session")
def user_tokens(keys: ServiceKeys) -> UserTokenSigner:
    """Signs user tokens as accounts does, with accounts' key (trusted by cart)."""
    return keys.user_tokens()


@pytest.fixture
def visitor() -> Callable[[], Shopper]:
    """`visitor()`: a new anonymous visitor, with an id as the frontend makes them."""
    return lambda: Shopper({"x-visitor-id": secrets.token_urlsafe(16)})


@pytest.fixture
def user(user_tokens: UserTokenSigner) -> Callable[..., Shopper]:
    """`user()`: a new signed-in user; `user(user_id)` another token for the same user."""

    def make(user_id: str | None = None) -> Shopper:
        token, _ = user_tokens.issue(user_id or secrets.token_hex(16), secrets.token_hex(8))
        return Shopper({"Authorization": f"Bearer {token}"})

    return make


async def open_cart(client: httpx.AsyncClient, shopper: Shopper) -> str:
    response = await client.post("/v1/carts", headers=shopper.headers)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


async def add(
    client: httpx.AsyncClient, shopper: Shopper, cart_id: str, product_id: str, quantity: int = 1
) -> httpx.Response:
    return await client.post(
        f"/v1/carts/{cart_id}/items",
        json={"product_id": product_id, "quantity": quantity},
        headers=shopper.headers,
    )


def quantities(response: httpx.Response) -> dict[str, int]:
    assert response.status_code == 200, response.text
    return {line["product_id"]: line["quantity"] for line in response.json()["lines"]}
