"""orders on real Postgres, migrated by its own release command, driven in-process over
HTTP as the frontend calls it, with stand-ins for its five callees: one small aiohttp
server on a real socket that, like the real services, refuses a call without a service
token, keeps payments' and shipping's idempotency by key, and can be told to fail.

Every test starts with no orders.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from chassis import Database
from chassis.testing import ServiceKeys, in_process_client, migrated
from chassis.user_tokens import UserTokenSigner
from mosaic.backing import BackingServers
from mosaic.ports import free_port
from orders.app import create_orders_app
from orders.settings import JobSettings, OrdersSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]
GOOD_CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "number": "4000000000000002"}
REFUSED_POSTAL_CODE = "99999"  # the stand-in shipping quotes it but refuses the shipment
PRICES = {"wool-socks": 1200, "brass-compass": 4500}  # USD cents
RATES = {"USD": 1.0, "EUR": 0.9}


@pytest.fixture(scope="session")
def database_url(backing: BackingServers) -> str:
    return migrated(SERVICE_DIR, backing.database_url("orders"))


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ServiceKeys:
    names = ["orders", "frontend", "stranger", "accounts", "admin"]
    return ServiceKeys(tmp_path_factory.mktemp("keys"), names)


def _problem(status: int, kind: str, detail: str = "", **extra: Any) -> web.Response:
    body = {
        "type": f"https://mosaic.dev/problems/{kind}",
        "title": kind,
        "status": status,
        "detail": detail or kind,
        **extra,
    }
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass
class StandIns:
    """cart, catalog, currency, payments and shipping, as far as orders uses them."""

    url: str = ""
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)  # owner header -> cart
    removals: dict[str, list[Any]] = field(default_factory=dict)  # order id -> lines
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> charge
    charge_keys: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)  # key -> charge id
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> shipment
    unauthenticated: int = 0
    payments_down: int = 0  # answer 503 to this many charge calls
    limits: dict[str, int] = field(default_factory=dict)  # most one charge; else 99,999,999
    seen_bodies: list[bytes] = field(default_factory=list)
    # (method, path) -> (status, body) answered instead of the callee's own: a changed answer
    changed: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    # Set: a new charge waits for `charge_gate` (after setting `charge_arrived`) before
    # payments records it: a charge in flight while the test does something else.
    charge_gate: asyncio.Event | None = None
    charge_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self) -> None:
        for store in (self.carts, self.removals, self.charges, self.charge_keys):
            store.clear()
        self.refunds.clear()
        self.shipments.clear()
        self.payments_down = 0
        self.limits.clear()
        self.seen_bodies.clear()
        self.changed.clear()
        self.charge_gate = None
        self.charge_arrived = asyncio.Event()

    def fill_cart(self, shopper: Shopper, lines: dict[str, int]) -> str:
        cart_id = str(uuid.uuid4())
        self.carts[shopper.owner_key] = {
            "id": cart_id,
            "lines": [{"product_id": p, "quantity": q} for p, q in lines.items()],
        }
        return cart_id

    def charge_landed(self, order: dict[str, Any], charge_id: str) -> None:
        """payments took the order's charge, but its answer never reached orders."""
        self.charges[charge_id] = {
            "id": charge_id,
            "status": "succeeded",
            "amount": order["total"],
            "reference": f"order:{order['id']}",
            "failure": None,
        }

    def net(self, order_id: str) -> int:
        return sum(
            c["amount"]["amount"]
            for c in self.charges.values()
            if c["reference"] == f"order:{order_id}"
            and c["status"] == "succeeded"
            and c["id"] not in self.refunds.values()
        )

    def active_shipments(self, order_id: str) -> int:
        return sum(
            1
            for s in self.shipments.values()
            if s["reference"] == f"order:{order_id}" and s["status"] == "created"
        )

    @web.middleware
    async def tokens(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.seen_bodies.append(await request.read())
        if not request.headers.get("x-service-token"):
            self.unauthenticated += 1
            return _problem(401, "caller-unauthenticated")
        if (request.method, request.path) in self.changed:
            status, body = self.changed[(request.method, request.path)]
            return web.json_response(body, status=status)
        response: web.StreamResponse = await handler(request)
        return response

    # cart
    async def current_cart(self, request: web.Request) -> web.Response:
        owner = request.headers.get("authorization") or request.headers.get("x-visitor-id", "")
        cart = self.carts.get(owner)
        if cart is None:
            return _problem(404, "cart-not-found")
        return web.json_response(cart)

    async def remove_ordered(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        self.removals.setdefault(order_id, (await request.json())["lines"])
        return web.json_response({"id": request.match_info["cart_id"], "lines": []})

    # catalog
    async def product(self, request: web.Request) -> web.Response:
        product_id = request.match_info["product_id"]
        if product_id not in PRICES:
            return _problem(404, "product-not-found")
        price = {"amount": PRICES[product_id], "currency": "USD"}
        return web.json_response({"id": product_id, "name": product_id.title(), "price": price})

    # currency
    async def convert(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["to"] not in RATES:
            return _problem(422, "invalid-request")
        items = [
            {
                "original": item,
                "converted": {
                    "amount": round(item["amount"] * RATES[body["to"]]),
                    "currency": body["to"],
                },
            }
            for item in body["items"]
        ]
        return web.json_response({"items": items, "rates_date": "2024-06-28"})

    # payments
    async def limit(self, request: web.Request) -> web.Response:
        currency = request.match_info["currency"]
        if currency not in RATES:  # like payments for a code ISO 4217 does not list
            return _problem(422, "invalid-request")
        most = self.limits.get(currency, 99_999_999)
        return web.json_response(
            {
                "currency": currency,
                "max_amount": {"amount": most, "currency": currency},
                "shown": f"{currency} {most / 100:,.2f}",
                "source": "https://docs.stripe.com/currencies",
            }
        )

    async def charge(self, request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        if key in self.charge_keys:
            status, stored = self.charge_keys[key]
            return web.json_response(stored, status=status)
        if self.payments_down:
            self.payments_down -= 1
            return _problem(503, "unavailable")
        body = await request.json()
        if self.charge_gate is not None:
            self.charge_arrived.set()
            await self.charge_gate.wait()
        charge_id = str(uuid.uuid4())
        declined = body["card"]["number"].replace(" ", "") == DECLINED_CARD["number"]
        charge = {
            "id": charge_id,
            "status": "failed" if declined else "succeeded",
            "amount": body["amount"],
            "reference": body["reference"],
            "failure": {"code": "card_declined", "message": "Your card was declined."}
            if declined
            else None,
        }
        self.charges[charge_id] = charge
        if declined:
            answer: tuple[int, dict[str, Any]] = (
                402,
                {
                    "type": "https://mosaic.dev/problems/card-declined",
                    "title": "Card declined",
                    "status": 402,
                    "detail": "Your card was declined.",
                    "code": "card_declined",
                    "charge_id": charge_id,
                },
            )
        else:
            answer = (201, {**self._charge_view(charge)})
        self.charge_keys[key] = answer
        return web.json_response(answer[1], status=answer[0])

    def _charge_view(self, charge: dict[str, Any]) -> dict[str, Any]:
        refunded = charge["id"] in self.refunds.values()
        taken = charge["status"] == "succeeded" and not refunded
        net = {"amount": charge["amount"]["amount"] if taken else 0, "currency": "EUR"}
        return {**charge, "net": net}

    async def charges_by_reference(self, request: web.Request) -> web.Response:
        reference = request.query["reference"]
        found = [self._charge_view(c) for c in self.charges.values() if c["reference"] == reference]
        return web.json_response({"charges": found})

    async def refund(self, request: web.Request) -> web.Response:
        charge_id = request.match_info["charge_id"]
        self.refunds.setdefault(request.headers["Idempotency-Key"], charge_id)
        return web.json_response({"id": "r1", "charge_id": charge_id}, status=201)

    # shipping
    async def quote(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["destination"]["country"] == "AQ":
            return _problem(
                422,
                "destination-not-served",
                "Mosaic does not deliver to Antarctica.",
                field="destination.country",
            )
        options = [
            {
                "id": "standard",
                "name": "Standard",
                "price": {"amount": 500, "currency": "USD"},
                "days": {"min": 3, "max": 5},
            },
            {
                "id": "express",
                "name": "Express",
                "price": {"amount": 1500, "currency": "USD"},
                "days": {"min": 1, "max": 2},
            },
        ]
        return web.json_response({"zone": "europe", "options": options})

    async def ship(self, request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        body = await request.json()
        if body["address"].get("postal_code") == REFUSED_POSTAL_CODE:
            return _problem(
                422,
                "destination-not-served",
                "We no longer deliver to this postal code.",
                field="address.postal_code",
            )
        if key not in self.shipments:
            self.shipments[key] = {
                "id": str(uuid.uuid4()),
                "tracking_id": "MOS" + secrets.token_hex(6).upper(),
                "status": "created",
                "reference": body["reference"],
            }
        return web.json_response(self.shipments[key], status=201)

    async def shipments_by_reference(self, request: web.Request) -> web.Response:
        reference = request.query["reference"]
        found = [s for s in self.shipments.values() if s["reference"] == reference]
        return web.json_response({"items": found})

    async def cancel_shipment(self, request: web.Request) -> web.Response:
        for shipment in self.shipments.values():
            if shipment["id"] == request.match_info["shipment_id"]:
                shipment["status"] = "cancelled"
                return web.json_response(shipment)
        return _problem(404, "shipment-not-found")


@pytest.fixture(scope="session")
async def stand_ins() -> AsyncIterator[StandIns]:
    s = StandIns()
    app = web.Application(middlewares=[s.tokens])
    app.router.add_get("/v1/carts/current", s.current_cart)
    app.router.add_put("/v1/carts/{cart_id}/orders/{order_id}", s.remove_ordered)
    app.router.add_get("/v1/products/{product_id}", s.product)
    app.router.add_post("/v1/convert", s.convert)
    app.router.add_post("/v1/charges", s.charge)
    app.router.add_get("/v1/limits/{currency}", s.limit)
    app.router.add_get("/v1/charges", s.charges_by_reference)
    app.router.add_post("/v1/charges/{charge_id}/refunds", s.refund)
    app.router.add_post("/v1/quotes", s.quote)
    app.router.add_post("/v1/shipments", s.ship)
    app.router.add_get("/v1/shipments", s.shipments_by_reference)
    app.router.add_post("/v1/shipments/{shipment_id}/cancel", s.cancel_shipment)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    s.url = f"http://127.0.0.1:{port}"
    yield s
    await runner.cleanup()


def settings_env(database_url: str, url: str, keys: ServiceKeys, **extra: Any) -> dict[str, Any]:
    return {
        "MOSAIC_SERVICE": "orders",
        "PORT": 1,
        "OPS_PORT": 2,
        "DATABASE_URL": database_url,
        "CART_URL": url,
        "CATALOG_URL": url,
        "CURRENCY_URL": url,
        "PAYMENTS_URL": url,
        "SHIPPING_URL": url,
        "TRANSPORT_SECURITY": "mesh",
        "SERVICE_TRUST_DIR": str(keys.trust_dir),
        "SERVICE_SIGNING_KEY_FILE": str(keys.key_file("orders")),
        # Generous: on a loaded 2-core machine a call may be slow, and a saga that runs out
        # of time before payment cancels (503) rather than waiting.
        "SAGA_SECONDS": 15,
        "LEASE_SECONDS": 30,
        **extra,
    }


@pytest.fixture(scope="session")
async def client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    async with orders_client(database_url, stand_ins, keys) as http:
        yield http


@pytest.fixture
async def impatient_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys
) -> AsyncIterator[httpx.AsyncClient]:
    """An orders whose sagas give a callee that is down one second only."""
    async with orders_client(
        database_url, stand_ins, keys, SAGA_SECONDS=1, LEASE_SECONDS=10
    ) as http:
        yield http


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """orders' own pool, for the outbox and relay under test."""
    db = Database(database_url, pool_size=2)
    await db.open()
    yield db
    await db.close()


@pytest.fixture(autouse=True)
async def clean(database_url: str, stand_ins: StandIns) -> AsyncIterator[None]:
    stand_ins.reset()
    yield
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("TRUNCATE orders, outbox")
    finally:
        await connection.close()


@dataclass(frozen=True)
class Shopper:
    headers: dict[str, str]

    @property
    def owner_key(self) -> str:
        return self.headers.get("Authorization") or self.headers["x-visitor-id"]


@pytest.fixture(scope="session")
def user_tokens(keys: ServiceKeys) -> UserTokenSigner:
    return keys.user_tokens()


@pytest.fixture
def visitor() -> Callable[[], Shopper]:
    return lambda: Shopper({"x-visitor-id": secrets.token_urlsafe(16)})


@pytest.fixture
def user(user_tokens: UserTokenSigner) -> Callable[..., Shopper]:
    def make(user_id: str | None = None) -> Shopper:
        token, _ = user_tokens.issue(user_id or secrets.token_hex(16), secrets.token_hex(8))
        return Shopper({"Authorization": f"Bearer {token}"})

    return make


def checkout_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "email": "ada@example.com",
        "currency": "EUR",
        "shipping_option": "standard",
        "address": {
            "name": "Ada Lovelace",
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
        },
        "card": GOOD_CARD,
    }
    form.update(changes)
    return form


async def place(
    client: httpx.AsyncClient, shopper: Shopper, key: str | None = None, **changes: Any
) -> httpx.Response:
    return await client.post(
        "/v1/orders",
        json=checkout_form(**changes),
        headers={**shopper.headers, "Idempotency-Key": key or secrets.token_urlsafe(16)},
    )


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert str(body["type"]).endswith(f"/{kind}"), body
    return body


def orders_client(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys, **env: Any
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """orders in process, as the frontend calls it, with some settings changed."""
    settings = OrdersSettings.model_validate(settings_env(database_url, stand_ins.url, keys, **env))
    return in_process_client(create_orders_app(settings), keys, "frontend", timeout=60)


def run_recover(
    database_url: str, stand_ins: StandIns, keys: ServiceKeys, **env: Any
) -> subprocess.CompletedProcess[str]:
    """One pass of `python -m orders.jobs recover` as the runner starts it: its own process,
    the service's environment (with some settings changed), no ports."""
    job_env = {k: str(v) for k, v in settings_env(database_url, stand_ins.url, keys, **env).items()}
    job_env.pop("PORT"), job_env.pop("OPS_PORT")
    return subprocess.run(
        [sys.executable, "-m", "orders.jobs", "recover"],
        cwd=SERVICE_DIR,
        env={**os.environ, **job_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def job_settings(database_url: str, stand_ins: StandIns, keys: ServiceKeys) -> JobSettings:
    env = settings_env(database_url, stand_ins.url, keys)
    env.pop("PORT"), env.pop("OPS_PORT")  # a job has no ports of its own
    return JobSettings.model_validate(env)


async def stuck_at_charging(
    client: httpx.AsyncClient, stand_ins: StandIns, shopper: Shopper, db: asyncpg.Connection
) -> dict[str, Any]:
    """A checkout whose payments call never got through, its lease run out: left at
    charging for the recovery."""
    stand_ins.fill_cart(shopper, {"wool-socks": 1})
    stand_ins.payments_down = 10_000
    response = await place(client, shopper)
    stand_ins.payments_down = 0
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "processing"
    await db.execute("UPDATE orders SET lease_until = now() - interval '1 second'")
    return body


async def held_at_charge(
    client: httpx.AsyncClient, stand_ins: StandIns, shopper: Shopper
) -> asyncio.Task[httpx.Response]:
    """A live checkout whose charge has reached payments and waits there until the test
    sets `stand_ins.charge_gate`; the checkout's answer is the task's result."""
    stand_ins.fill_cart(shopper, {"wool-socks": 1})
    stand_ins.charge_gate = asyncio.Event()
    checkout = asyncio.create_task(place(client, shopper))
    await asyncio.wait_for(stand_ins.charge_arrived.wait(), 60)
    return checkout
