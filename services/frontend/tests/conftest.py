"""The frontend app wired to stand-ins of its seven callees, driven in-process through httpx.

Each stand-in (stand_ins/<callee>.py) is a real aiohttp server on 127.0.0.1 speaking its
callee's /v1 contract with in-memory data: the frontend talks to it over real HTTP with the
chassis client, so timeouts, retries and deadlines are exercised. After each test, every
answer a stand-in gave is checked against the callee's committed openapi.json: a fake that
drifts from its service fails the test that made it answer, naming the route and field; and
every route the frontend called must be one its reads.py declares.
"""

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from chassis.stand_ins import StandIn
from chassis.testing import ServiceKeys
from chassis.testing.plugin import TestedService, service_fixtures
from fastapi import FastAPI
from frontend.app import build_app
from frontend.reads import READS
from frontend.settings import FrontendSettings

from services.frontend.tests.stand_ins import contract
from services.frontend.tests.stand_ins.accounts import FakeAccounts
from services.frontend.tests.stand_ins.cart import FakeCart
from services.frontend.tests.stand_ins.catalog import FakeCatalog
from services.frontend.tests.stand_ins.currency import FakeCurrency
from services.frontend.tests.stand_ins.orders import FakeOrders
from services.frontend.tests.stand_ins.recommendations import FakeRecommendations
from services.frontend.tests.stand_ins.shipping import FakeShipping

S = TypeVar("S", bound=StandIn)


async def serving(callee: str, fake: S) -> AsyncIterator[S]:
    """The stand-in, started; once the test is done, its answers checked against the contract."""
    await fake.start()
    yield fake
    await fake.stop()
    drift = contract(callee).checked(fake, READS)
    assert not drift, "\n".join(drift)


@pytest.fixture
async def catalog() -> AsyncIterator[FakeCatalog]:
    async for fake in serving("catalog", FakeCatalog()):
        yield fake


def _tested() -> TestedService:
    """`keys` (the chassis's testing plugin) holds the frontend's own signing key: its calls
    to the stand-ins carry real tokens. The frontend has no database."""
    return TestedService("frontend", Path(__file__).resolve().parents[1], ("frontend",))


tested_service, keys, database_url, alembic = service_fixtures(_tested())


@pytest.fixture
async def currency() -> AsyncIterator[FakeCurrency]:
    async for fake in serving("currency", FakeCurrency()):
        yield fake


@pytest.fixture
async def accounts() -> AsyncIterator[FakeAccounts]:
    async for fake in serving("accounts", FakeAccounts()):
        yield fake


@pytest.fixture
async def cart(catalog: FakeCatalog, accounts: FakeAccounts) -> AsyncIterator[FakeCart]:
    async for fake in serving("cart", FakeCart(catalog, accounts)):
        yield fake


@pytest.fixture
async def recommendations(catalog: FakeCatalog) -> AsyncIterator[FakeRecommendations]:
    async for fake in serving("recommendations", FakeRecommendations(catalog)):
        yield fake


@pytest.fixture
async def shipping() -> AsyncIterator[FakeShipping]:
    async for fake in serving("shipping", FakeShipping()):
        yield fake


@pytest.fixture
async def orders(cart: FakeCart, accounts: FakeAccounts) -> AsyncIterator[FakeOrders]:
    async for fake in serving("orders", FakeOrders(cart, accounts)):
        yield fake


@pytest.fixture(scope="session")
def redis_url(backing: Any) -> str:
    """A real Valkey, with the ACL user `mosaic up` gives the frontend (`frontend:*` keys)."""
    url: str = backing.redis_url("frontend")
    return url


def frontend_settings(
    catalog_url: str,
    keys: ServiceKeys,
    budget_ms: int = 2000,
    *,
    currency_url: str = "http://127.0.0.1:9",
    accounts_url: str = "http://127.0.0.1:9",
    cart_url: str = "http://127.0.0.1:9",
    recommendations_url: str = "http://127.0.0.1:9",
    orders_url: str = "http://127.0.0.1:9",
    shipping_url: str = "http://127.0.0.1:9",
    redis_url: str = "redis://127.0.0.1:9/0",
    **extra: Any,
) -> FrontendSettings:
    """Settings for a test app; `extra` (by alias) adds or overrides any of them."""
    fields: dict[str, Any] = {
        "MOSAIC_SERVICE": "frontend",
        "PORT": 8080,
        "OPS_PORT": 9080,
        "CATALOG_URL": catalog_url,
        "CURRENCY_URL": currency_url,
        "ACCOUNTS_URL": accounts_url,
        "CART_URL": cart_url,
        "RECOMMENDATIONS_URL": recommendations_url,
        "ORDERS_URL": orders_url,
        "SHIPPING_URL": shipping_url,
        "REDIS_URL": redis_url,
        "REQUEST_BUDGET_MS": budget_ms,
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_SIGNING_KEY_FILE": keys.key_file("frontend"),
        "CSRF_SECRET": "test-only-csrf-secret-of-32-chars-or-more",
    }
    return FrontendSettings(**{**fields, **extra})


@pytest.fixture
def budget_ms() -> int:
    """The request deadline; overridden by tests about slowness."""
    return 2000


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    """More FrontendSettings fields by alias (e.g. TRUSTED_PROXIES); overridden per test."""
    return {}


@pytest.fixture
async def app(
    catalog: FakeCatalog,
    currency: FakeCurrency,
    accounts: FakeAccounts,
    cart: FakeCart,
    recommendations: FakeRecommendations,
    orders: FakeOrders,
    shipping: FakeShipping,
    redis_url: str,
    budget_ms: int,
    keys: ServiceKeys,
    extra_settings: dict[str, Any],
) -> AsyncIterator[FastAPI]:
    settings = frontend_settings(
        catalog.url,
        keys,
        budget_ms,
        currency_url=currency.url,
        accounts_url=accounts.url,
        cart_url=cart.url,
        recommendations_url=recommendations.url,
        orders_url=orders.url,
        shipping_url=shipping.url,
        redis_url=redis_url,
        **extra_settings,
    )
    application = build_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def shop(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: a 500 must reach the test as the page a person would see.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
        yield client


class PageAudit(HTMLParser):
    """What a page test asserts on: structure a person and a screen reader rely on."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_h1 = False
        self.h1: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_h1:
            self.h1.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def heading(self) -> str:
        return " ".join("".join(self.h1).split())

    @property
    def plain_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture
def audit() -> type[PageAudit]:
    return PageAudit
