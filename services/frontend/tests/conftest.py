"""A stand-in catalog (a real aiohttp server on 127.0.0.1 speaking catalog's /v1 contract,
with in-memory data) and the frontend app wired to it, driven in-process through httpx.

The stand-in is a fake of our own port, not a mock of a library: the frontend talks to it
over real HTTP with the chassis client, so timeouts, retries and deadlines are exercised.
"""

import asyncio
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar

import httpx
import pytest
from aiohttp import web
from asgi_lifespan import LifespanManager
from chassis.testing import ServiceKeys
from fastapi import FastAPI
from frontend.app import build_app
from frontend.settings import FrontendSettings

PROBLEMS = "https://mosaic.dev/problems/"

CATEGORIES = [
    {"slug": "coffee", "name": "Coffee", "description": "Brewers, grinders and cups."},
    {"slug": "kitchen", "name": "Kitchen", "description": "Tools for everyday cooking."},
    {"slug": "tea", "name": "Tea", "description": "Pots, cups & <b>leaves</b>."},
]


def _product(pid: str, name: str, category: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "description": extra.pop("description", f"A fine {name.lower()}."),
        "category": category,
        "price": {"amount": amount, "currency": extra.pop("currency", "USD")},
        "picture": f"/v1/pictures/{pid}.svg",
        "tags": extra.pop("tags", []),
    }


def _products() -> list[dict[str, Any]]:
    products = [
        _product(
            "ceramic-pour-over",
            "Ceramic Pour-Over",
            "coffee",
            2400,
            description="Hand-thrown stoneware dripper.\n\nFits most mugs.",
            tags=["ceramic", "brewing"],
        ),
        _product("chef-knife", "Chef's Knife", "kitchen", 8900, tags=["steel"]),
        _product("matcha-whisk", "Matcha Whisk", "tea", 1850, tags=["bamboo"]),
        # Untrusted text from catalog must come out escaped, never as markup.
        _product(
            "tricky-mug",
            "Mug <script>alert(1)</script>",
            "kitchen",
            1200,
            description='<img src=x onerror="alert(1)"> A mug.',
        ),
    ]
    # Enough coffee products for two pages of 24.
    products += [
        _product(f"coffee-beans-{n}", f"Coffee Beans No. {n}", "coffee", 1000 + n)
        for n in range(1, 27)
    ]
    return products


def _svg(pid: str) -> bytes:
    return f'<svg xmlns="http://www.w3.org/2000/svg"><title>{pid}</title></svg>'.encode()


@dataclass
class StandIn:
    """A stand-in for another service: its HTTP API on a free loopback port, started and
    stopped by the fixtures. A subclass gives its routes in `application()`."""

    url: str = field(default="", kw_only=True)
    runner: web.AppRunner | None = field(default=None, kw_only=True)
    # Cancel handlers whose client gave up, so a "slow upstream" test ends promptly.
    cancel_abandoned: ClassVar[bool] = False

    def application(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self.runner = web.AppRunner(
            self.application(),
            access_log=None,
            shutdown_timeout=0.5,
            handler_cancellation=self.cancel_abandoned,
        )
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@dataclass
class FakeCatalog(StandIn):
    """Catalog as the frontend sees it; tests turn its knobs to simulate trouble."""

    products: list[dict[str, Any]] = field(default_factory=_products)
    delay: float = 0.0  # seconds before every answer
    fail_with: int | None = None  # answer every call with this status
    calls: list[str] = field(default_factory=list)
    cancel_abandoned = True  # "slow catalog" tests

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._trouble])
        app.router.add_get("/v1/categories", self._categories)
        app.router.add_get("/v1/products", self._list)
        app.router.add_get("/v1/products/{pid}", self._one)
        app.router.add_get("/v1/search", self._search)
        app.router.add_get("/v1/pictures/{name}", self._picture)
        return app

    @web.middleware
    async def _trouble(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append(request.path_qs)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal", "simulated failure")
        response: web.StreamResponse = await handler(request)
        return response

    async def _categories(self, _: web.Request) -> web.Response:
        items = [
            {**c, "product_count": sum(p["category"] == c["slug"] for p in self.products)}
            for c in CATEGORIES
        ]
        return web.json_response({"items": items})

    async def _list(self, request: web.Request) -> web.Response:
        category = request.query.get("category")
        if category is not None and category not in {c["slug"] for c in CATEGORIES}:
            return _problem(404, "category-not-found", f"no category {category}")
        found = [p for p in self.products if category is None or p["category"] == category]
        return _paged(request, found)

    async def _one(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        for product in self.products:
            if product["id"] == pid:
                return web.json_response(product)
        return _problem(404, "product-not-found", f"no product {pid}")

    async def _search(self, request: web.Request) -> web.Response:
        words = request.query.get("q", "").lower().split()
        found = [
            p
            for p in self.products
            if words and all(w in f"{p['name']} {' '.join(p['tags'])}".lower() for w in words)
        ]
        return _paged(request, found)

    async def _picture(self, request: web.Request) -> web.Response:
        pid = request.match_info["name"].removesuffix(".svg")
        if pid not in {p["id"] for p in self.products}:
            return _problem(404, "picture-not-found", "no picture")
        body = _svg(pid)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400, immutable"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="image/svg+xml", headers=headers)


def _paged(request: web.Request, found: list[dict[str, Any]]) -> web.Response:
    page = int(request.query.get("page", "1"))
    size = int(request.query.get("page_size", "24"))
    items = found[(page - 1) * size : page * size]
    return web.json_response({"items": items, "page": page, "page_size": size, "total": len(found)})


def _problem(status: int, kind: str, detail: str, **extra: Any) -> web.Response:
    body = {"type": PROBLEMS + kind, "title": kind, "status": status, "detail": detail, **extra}
    return web.json_response(body, status=status, content_type="application/problem+json")


@pytest.fixture
async def catalog() -> AsyncIterator[FakeCatalog]:
    fake = FakeCatalog()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ServiceKeys:
    """The frontend's own signing key: its calls to the stand-in catalog carry real tokens."""
    return ServiceKeys(tmp_path_factory.mktemp("keys"), ["frontend"])


# Units of each currency per US dollar, in minor units per cent where it matters.
RATES = {"USD": (1, 1), "EUR": (93, 100), "JPY": (161, 1), "GBP": (79, 100)}
EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0, "GBP": 2}


@dataclass
class FakeCurrency(StandIn):
    """Currency's /v1 contract with four made-up rates against the dollar."""

    fail_with: int | None = None
    conversions: list[dict[str, Any]] = field(default_factory=list)
    idempotency_keys: list[str | None] = field(default_factory=list)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/currencies", self._currencies)
        app.router.add_post("/v1/convert", self._convert)
        return app

    async def _currencies(self, _: web.Request) -> web.Response:
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal", "simulated failure")
        items = [
            {"code": c, "name": c, "exponent": e, "per_euro": "1"} for c, e in EXPONENTS.items()
        ]
        rates = {
            "date": "2024-06-28",
            "publisher": "European Central Bank",
            "base": "EUR",
            "title": "Euro foreign exchange reference rates",
            "url": "https://www.ecb.europa.eu/",
        }
        return web.json_response({"items": items, "rates": rates})

    async def _convert(self, request: web.Request) -> web.Response:
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal", "simulated failure")
        body = await request.json()
        self.conversions.append(body)
        self.idempotency_keys.append(request.headers.get("Idempotency-Key"))
        to = body["to"]
        if to not in RATES:
            return _problem(422, "unsupported-currency", f"no {to}")
        numerator, denominator = RATES[to]
        items = []
        for item in body["items"]:
            assert item["currency"] == "USD"
            amount = item["amount"] * numerator * 10 ** EXPONENTS[to] // (denominator * 100)
            items.append({"original": item, "converted": {"amount": amount, "currency": to}})
        return web.json_response({"items": items, "rates_date": "2024-06-28"})


@pytest.fixture
async def currency() -> AsyncIterator[FakeCurrency]:
    fake = FakeCurrency()
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class FakeAccounts(StandIn):
    """accounts' /v1 contract for the frontend: users, sessions, access tokens, addresses.

    `access_seconds` sets how long an access token lives, so tests can make one expire.
    """

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by email
    sessions: dict[str, str] = field(default_factory=dict)  # session token -> email
    access: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # token -> ...
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    client_addresses: list[str | None] = field(default_factory=list)
    refreshes: int = 0
    links: dict[str, str] = field(default_factory=dict)  # email -> its verification token
    link_requests: list[str] = field(default_factory=list)  # emails a new link was asked for
    refuse_sign_in: int | None = None  # e.g. 429: every sign-in is refused with it
    refuse_addresses: int | None = None  # e.g. 409: every new address is refused with it
    access_seconds: float = 600.0

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/users", self._register)
        app.router.add_post("/v1/users/verification-requests", self._request_link)
        app.router.add_post("/v1/verifications", self._verify)
        app.router.add_post("/v1/sessions", self._sign_in)
        app.router.add_post("/v1/sessions/refresh", self._refresh)
        app.router.add_delete("/v1/sessions/current", self._sign_out)
        app.router.add_get("/v1/users/me", self._me)
        app.router.add_get("/v1/users/me/addresses", self._addresses)
        app.router.add_post("/v1/users/me/addresses", self._add_address)
        app.router.add_delete("/v1/users/me/addresses/{aid}", self._delete_address)
        return app

    def _profile(self, email: str) -> dict[str, Any]:
        user = self.users[email]
        return {"id": user["id"], "email": email, "display_name": user["name"],
                "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip

    def _access(self, email: str, session_token: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(16)
        expires = time.time() + self.access_seconds
        self.access[token] = (email, session_token, expires)
        stamp = datetime.fromtimestamp(expires, UTC).isoformat()
        return {"token": token, "token_type": "Bearer", "expires_at": stamp}

    def _viewer(self, request: web.Request) -> str | web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.access:
            return _problem(401, "access-token-invalid", "no such token")
        email, session_token, expires = self.access[token]
        if session_token not in self.sessions:
            return _problem(401, "session-ended", "signed out")
        if expires < time.time():
            return _problem(401, "access-token-expired", "expired")
        return email

    async def _register(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        body = await request.json()
        if len(body["password"]) < 12:
            reasons = ["Use at least 12 characters."]
            return _problem(422, "password-rejected", "Choose a stronger one.", reasons=reasons)
        if body["email"] not in self.users:
            self.users[body["email"]] = {
                "id": secrets.token_hex(8), "name": body["display_name"],
                "password": body["password"], "verified": False,
            }  # fmt: skip
            self.links[body["email"]] = secrets.token_urlsafe(32)  # what accounts would mail
        return web.json_response({"status": "accepted", "email": body["email"]}, status=202)

    async def _request_link(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        email = (await request.json())["email"]
        self.link_requests.append(email)
        user = self.users.get(email)
        if user is not None and not user["verified"]:
            self.links[email] = secrets.token_urlsafe(32)
        return web.json_response({"status": "accepted"}, status=202)

    async def _verify(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        body = await request.json()
        email = next((e for e, t in self.links.items() if t == body["token"]), None)
        if email is None:
            return _problem(410, "verification-link-invalid", "This link does not work.")
        if body["password"] != self.users[email]["password"]:  # the link stays usable
            return _problem(403, "verification-password-mismatch", "Not the sign-up's.")
        del self.links[email]  # works once
        self.users[email]["verified"] = True
        return self._signed_in(email)

    def _signed_in(self, email: str) -> web.Response:
        user = self.users[email]
        token = secrets.token_urlsafe(32)
        self.sessions[token] = email
        session = {"id": secrets.token_hex(8), "user_id": user["id"], "token": token,
                   "expires_at": "2030-01-01T00:00:00Z"}  # fmt: skip
        answer = {"user": self._profile(email), "session": session,
                  "access_token": self._access(email, token)}  # fmt: skip
        return web.json_response(answer, status=201)

    async def _sign_in(self, request: web.Request) -> web.Response:
        self.client_addresses.append(request.headers.get("x-client-address"))
        if self.refuse_sign_in == 429:
            response = _problem(429, "too-many-attempts", "Too many attempts.")
            response.headers["Retry-After"] = "120"
            return response
        body = await request.json()
        user = self.users.get(body["email"])
        if user is None or user["password"] != body["password"]:
            return _problem(401, "invalid-credentials", "no")
        if not user.get("verified", True):
            return _problem(403, "email-unverified", "Confirm your email address first.")
        return self._signed_in(body["email"])

    async def _refresh(self, request: web.Request) -> web.Response:
        self.refreshes += 1
        token = (await request.json())["session_token"]
        if token not in self.sessions:
            return _problem(401, "session-ended", "signed out")
        email = self.sessions[token]
        answer = {"user": self._profile(email), "access_token": self._access(email, token),
                  "session": {"id": "s", "user_id": self.users[email]["id"],
                              "expires_at": "2030-01-01T00:00:00Z"}}  # fmt: skip
        return web.json_response(answer)

    async def _sign_out(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        for token in [t for t, e in self.sessions.items() if e == email]:
            del self.sessions[token]
        return web.Response(status=204)

    async def _me(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        return web.json_response(self._profile(email))

    async def _addresses(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        return web.json_response({"items": self.addresses.get(email, [])})

    async def _add_address(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        if self.refuse_addresses is not None:
            return _problem(self.refuse_addresses, "simulated", "Simulated refusal.")
        body = await request.json()
        if not body.get("city"):
            return _problem(422, "invalid-request", "city missing")
        address = {**body, "id": secrets.token_hex(6)}
        self.addresses.setdefault(email, []).append(address)
        return web.json_response(address, status=201)

    async def _delete_address(self, request: web.Request) -> web.Response:
        email = self._viewer(request)
        if isinstance(email, web.Response):
            return email
        kept = [a for a in self.addresses.get(email, []) if a["id"] != request.match_info["aid"]]
        if len(kept) == len(self.addresses.get(email, [])):
            return _problem(404, "address-not-found", "No such address in this account.")
        self.addresses[email] = kept
        return web.Response(status=204)


@pytest.fixture
async def accounts() -> AsyncIterator[FakeAccounts]:
    fake = FakeAccounts()
    await fake.start()
    yield fake
    await fake.stop()


OWNER = web.RequestKey("owner", str)


@dataclass
class FakeCart(StandIn):
    """cart's /v1 contract for the frontend, in memory: a cart per owner (visitor or user).

    Every call must carry a service token and say whose cart (`Authorization: Bearer` from
    the stand-in accounts wins over `x-visitor-id`); another owner's cart id is a 404.
    """

    catalog: FakeCatalog
    accounts: FakeAccounts
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by owner
    merges: list[tuple[str, str]] = field(default_factory=list)  # (user email, visitor id)
    owners_seen: list[str] = field(default_factory=list)
    fail_with: int | None = None

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._checked])
        app.router.add_get("/v1/carts/current", self._current)
        app.router.add_post("/v1/carts", self._ensure)
        app.router.add_post("/v1/carts/merge", self._merge)
        app.router.add_get("/v1/carts/{cid}", self._view)
        app.router.add_post("/v1/carts/{cid}/items", self._add)
        app.router.add_put("/v1/carts/{cid}/items/{pid}", self._change)
        app.router.add_delete("/v1/carts/{cid}/items/{pid}", self._remove)
        return app

    def lines_of(self, owner: str) -> dict[str, int]:
        return dict(self.carts.get(owner, {}).get("lines", {}))

    @web.middleware
    async def _checked(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal", "simulated failure")
        if not request.headers.get("x-service-token"):
            return _problem(401, "service-token-missing", "no service token")
        owner = self._owner(request)
        if isinstance(owner, web.Response):
            return owner
        self.owners_seen.append(owner)
        request[OWNER] = owner
        response: web.StreamResponse = await handler(request)
        return response

    def _owner(self, request: web.Request) -> str | web.Response:
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            found = self.accounts.access.get(authorization.removeprefix("Bearer "))
            if found is None:
                return _problem(401, "access-token-invalid", "bad token")
            return "user:" + found[0]
        visitor = request.headers.get("x-visitor-id", "")
        if not 22 <= len(visitor) <= 64:
            return _problem(400, "owner-missing", "say whose cart")
        return "visitor:" + visitor

    def _view_of(self, cart: dict[str, Any], *, products: bool = False) -> dict[str, Any]:
        known = {p["id"]: p for p in self.catalog.products}
        lines = [
            {"product_id": pid, "quantity": n, "product": known.get(pid) if products else None}
            for pid, n in cart["lines"].items()
        ]
        return {"id": cart["id"], "lines": lines, "line_count": len(lines),
                "item_count": sum(cart["lines"].values())}  # fmt: skip

    def _cart(self, request: web.Request) -> dict[str, Any] | None:
        cart = self.carts.get(request[OWNER])
        return cart if cart is not None and cart["id"] == request.match_info["cid"] else None

    async def _current(self, request: web.Request) -> web.Response:
        cart = self.carts.get(request[OWNER])
        if cart is None:
            return _problem(404, "cart-not-found", "no cart yet")
        return web.json_response(self._view_of(cart))

    async def _ensure(self, request: web.Request) -> web.Response:
        owner = request[OWNER]
        created = owner not in self.carts
        cart = self.carts.setdefault(owner, {"id": secrets.token_hex(8), "lines": {}})
        return web.json_response(self._view_of(cart), status=201 if created else 200)

    async def _merge(self, request: web.Request) -> web.Response:
        owner, visitor = request[OWNER], request.headers.get("x-visitor-id", "")
        if not owner.startswith("user:") or not visitor:
            return _problem(400, "owner-missing", "merge needs a user and a visitor")
        self.merges.append((owner.removeprefix("user:"), visitor))
        cart = self.carts.setdefault(owner, {"id": secrets.token_hex(8), "lines": {}})
        for pid, n in self.carts.pop("visitor:" + visitor, {"lines": {}})["lines"].items():
            cart["lines"][pid] = min(10, cart["lines"].get(pid, 0) + n)
        return web.json_response(self._view_of(cart))

    async def _view(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return _problem(404, "cart-not-found", "no such cart")
        products = request.query.get("include") == "products"
        return web.json_response(self._view_of(cart, products=products))

    async def _add(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return _problem(404, "cart-not-found", "no such cart")
        body = await request.json()
        pid, quantity = body["product_id"], body.get("quantity", 1)
        if pid not in {p["id"] for p in self.catalog.products}:
            return _problem(422, "unknown-product", f"no product {pid}")
        if cart["lines"].get(pid, 0) + quantity > 10:
            return _problem(422, "quantity-out-of-range", "at most 10")
        if pid not in cart["lines"] and len(cart["lines"]) >= 50:
            return _problem(422, "too-many-lines", "at most 50 lines")
        cart["lines"][pid] = cart["lines"].get(pid, 0) + quantity
        return web.json_response(self._view_of(cart))

    async def _change(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return _problem(404, "cart-not-found", "no such cart")
        pid, quantity = request.match_info["pid"], (await request.json())["quantity"]
        if pid not in cart["lines"]:
            return _problem(404, "line-not-found", "no such line")
        if not 1 <= quantity <= 10:
            return _problem(422, "invalid-request", "1..10")
        cart["lines"][pid] = quantity
        return web.json_response(self._view_of(cart))

    async def _remove(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return _problem(404, "cart-not-found", "no such cart")
        cart["lines"].pop(request.match_info["pid"], None)
        return web.Response(status=204)


@pytest.fixture
async def cart(catalog: FakeCatalog, accounts: FakeAccounts) -> AsyncIterator[FakeCart]:
    fake = FakeCart(catalog, accounts)
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class FakeRecommendations(StandIn):
    """recommendations' /v1 contract: the first products of the same category as the one asked
    about, then others; `delay` and `fail_with` simulate trouble, `calls` records queries."""

    catalog: FakeCatalog
    delay: float = 0.0
    fail_with: int | None = None
    calls: list[dict[str, str]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # event-loop time of each call
    cancel_abandoned = True  # "slow recommendations" tests

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/recommendations", self._recommendations)
        return app

    async def _recommendations(self, request: web.Request) -> web.Response:
        self.calls.append(dict(request.query))
        self.arrivals.append(asyncio.get_running_loop().time())
        if not request.headers.get("x-service-token"):
            return _problem(401, "service-token-missing", "no service token")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal", "simulated failure")
        pid, limit = request.query["product_id"], int(request.query.get("limit", "4"))
        known = {p["id"]: p for p in self.catalog.products}
        if pid not in known:
            return _problem(404, "product-not-found", f"no product {pid}")
        others = [p for p in self.catalog.products if p["id"] != pid]
        others.sort(key=lambda p: p["category"] != known[pid]["category"])
        keys = ("id", "name", "category", "price", "picture")
        items = [{**{k: p[k] for k in keys}, "reason": "same-category"} for p in others[:limit]]
        return web.json_response({"items": items})


@pytest.fixture
async def recommendations(catalog: FakeCatalog) -> AsyncIterator[FakeRecommendations]:
    fake = FakeRecommendations(catalog)
    await fake.start()
    yield fake
    await fake.stop()


# Shipping's zones as the stand-in knows them: country -> postal code pattern.
ZONES = {"DE": r"\d{5}", "FR": r"\d{5}", "US": r"\d{5}", "GB": r"[A-Z0-9 ]{5,8}"}


@dataclass
class FakeShipping(StandIn):
    """shipping's quotes (POST /v1/quotes) in USD: standard and express, by item count.

    "AQ" (and any country outside ZONES) is not served, nor a postal code out of format.
    """

    fail_with: int | None = None
    quotes: list[dict[str, Any]] = field(default_factory=list)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/quotes", self._quote)
        return app

    @staticmethod
    def not_served(destination: dict[str, Any]) -> str | None:
        """The field shipping would name for an unserved destination, else None."""
        pattern = ZONES.get(destination.get("country", ""))
        if pattern is None:
            return "destination.country"
        if not re.fullmatch(pattern, destination.get("postal_code") or ""):
            return "destination.postal_code"
        return None

    @staticmethod
    def options(units: int) -> list[dict[str, Any]]:
        return [
            {"id": "standard", "name": "Standard", "days": {"min": 3, "max": 5},
             "price": {"amount": 499 + 100 * (units - 1), "currency": "USD"}},
            {"id": "express", "name": "Express", "days": {"min": 1, "max": 2},
             "price": {"amount": 1499 + 100 * (units - 1), "currency": "USD"}},
        ]  # fmt: skip

    async def _quote(self, request: web.Request) -> web.Response:
        if not request.headers.get("x-service-token"):
            return _problem(401, "service-token-missing", "no service token")
        if self.fail_with is not None:
            return _problem(self.fail_with, "internal", "simulated failure")
        body = await request.json()
        self.quotes.append(body)
        where = self.not_served(body["destination"])
        if where is not None:
            detail = (
                "We don't deliver to this address."
                if where.endswith("country")
                else ("This postal code doesn't match the country.")
            )
            return _problem(422, "destination-not-served", detail, field=where)
        units = sum(item["quantity"] for item in body["items"])
        return web.json_response({"zone": "europe", "options": self.options(units)})


@pytest.fixture
async def shipping() -> AsyncIterator[FakeShipping]:
    fake = FakeShipping()
    await fake.start()
    yield fake
    await fake.stop()


# Outcomes by test card, as payments answers them (Stripe's test numbers).
DECLINED = {
    "4000000000000002": ("card-declined", "Your card was declined."),
    "4000000000009995": ("insufficient-funds", "Your card has insufficient funds."),
}


@dataclass
class FakeOrders(StandIn):
    """orders' /v1 contract for the frontend: places an order from the stand-in cart.

    Like orders: the owner from the user's token (the stand-in accounts') or x-visitor-id;
    one order per (owner, Idempotency-Key), the same body again replays the first answer,
    another body is 422; declined cards 402 and unserved destinations 422 cancel the order,
    with the field they concern; confirmed orders take their lines out of the cart.
    """

    cart: FakeCart
    accounts: FakeAccounts
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id, with owner/token
    answers: dict[tuple[str, str], tuple[bytes, int, bytes]] = field(default_factory=dict)
    keys_seen: list[str | None] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    owners_seen: list[str] = field(default_factory=list)
    fail_with: int | None = None  # every call answers this status
    processing: bool = False  # checkouts answer 202, still processing
    delay: float = 0.0  # seconds before a checkout answers
    limits: dict[str, int] = field(default_factory=dict)  # most one payment; else 99,999,999
    shop_down: bool = False  # checkouts are cancelled before payment, 503 shop-unavailable

    def limit_message(self, currency: str) -> str:
        most = self.limits.get(currency)
        return f"This order comes to more than {currency} {most}: remove some items."

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._checked])
        app.router.add_get("/v1/limits/{currency}", self._limit)
        app.router.add_post("/v1/orders", self._place)
        app.router.add_get("/v1/orders/by-key", self._by_key)
        app.router.add_get("/v1/orders", self._history)
        app.router.add_get("/v1/orders/by-token/{token}", self._by_token)
        app.router.add_get("/v1/orders/{oid}", self._one)
        return app

    @web.middleware
    async def _checked(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.headers.get("x-service-token"):
            return _problem(401, "service-token-missing", "no service token")
        if self.fail_with is not None:
            return _problem(self.fail_with, "shop-unavailable", "simulated failure")
        response: web.StreamResponse = await handler(request)
        return response

    def _owner(self, request: web.Request) -> str | None:
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            found = self.accounts.access.get(authorization.removeprefix("Bearer "))
            return None if found is None else "user:" + found[0]
        visitor = request.headers.get("x-visitor-id", "")
        return "visitor:" + visitor if 22 <= len(visitor) <= 64 else None

    def view(self, order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if k not in {"owner", "token"}}

    async def _place(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        self.keys_seen.append(key)
        owner = self._owner(request)
        if owner is None:
            return _problem(401, "owner-unknown", "say whose order")
        self.owners_seen.append(owner)
        if not key:
            return _problem(400, "idempotency-key-missing", "no key")
        raw = await request.read()
        body = json.loads(raw)
        self.bodies.append(body)
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
        if self.delay:
            await asyncio.sleep(self.delay)
        stored = self.answers.get((owner, key))
        if stored is not None:
            if stored[0] != fingerprint:
                return _problem(422, "idempotency-key-reused", "another checkout's key")
            return web.Response(body=stored[2], status=stored[1], content_type="application/json")
        status, answer = self._checkout(owner, body)
        encoded = json.dumps(answer).encode()
        self.answers[(owner, key)] = (fingerprint, status, encoded)
        return web.Response(body=encoded, status=status, content_type="application/json")

    async def _limit(self, request: web.Request) -> web.Response:
        currency = request.match_info["currency"]
        most = self.limits.get(currency, 99_999_999)
        return web.json_response(
            {
                "currency": currency,
                "max_amount": {"amount": most, "currency": currency},
                "shown": f"{currency} {most}",
                "message": self.limit_message(currency),
            }
        )

    def _checkout(self, owner: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        lines = self.cart.lines_of(owner)
        if not lines:
            return 409, {"type": PROBLEMS + "cart-empty", "status": 409, "title": "Cannot place",
                         "detail": "Your cart is empty.", "field": "cart"}  # fmt: skip
        currency = body["currency"]
        numerator, denominator = RATES[currency]

        def converted(amount: int) -> dict[str, Any]:
            value = amount * numerator * 10 ** EXPONENTS[currency] // (denominator * 100)
            return {"amount": value, "currency": currency}

        known = {p["id"]: p for p in self.cart.catalog.products}
        order_lines = [
            {"product_id": pid, "name": known[pid]["name"], "quantity": n,
             "unit_price": converted(known[pid]["price"]["amount"]),
             "line_total": converted(known[pid]["price"]["amount"] * n)}
            for pid, n in lines.items()
        ]  # fmt: skip
        subtotal = sum(line["line_total"]["amount"] for line in order_lines)
        option = next(o for o in FakeShipping.options(sum(lines.values())) if o["id"] == "standard")
        for candidate in FakeShipping.options(sum(lines.values())):
            if candidate["id"] == body["shipping_option"]:
                option = candidate
        shipping = {
            "option": option["id"],
            "name": option["name"],
            "price": converted(option["price"]["amount"]),
            "days": option["days"],
        }
        order_id = str(uuid.uuid4())
        order = {
            "id": order_id, "status": "confirmed", "currency": currency, "lines": order_lines,
            "subtotal": {"amount": subtotal, "currency": currency}, "shipping": shipping,
            "total": {"amount": subtotal + shipping["price"]["amount"], "currency": currency},
            "tracking_id": "MOS" + secrets.token_hex(6).upper(), "cancel_reason": None,
            "cancel_field": None, "placed_at": datetime.now(UTC).isoformat(),
            "address": body["address"], "owner": owner, "token": secrets.token_urlsafe(32),
        }  # fmt: skip
        destination = {"country": body["address"]["country"],
                       "postal_code": body["address"].get("postal_code")}  # fmt: skip
        failure: tuple[int, str, str, str] | None = None
        if self.shop_down:
            reason = "We could not place your order just now. Nothing was charged."
            failure = (503, "shop-unavailable", reason, "")
        elif order["total"]["amount"] > self.limits.get(currency, 99_999_999):
            failure = (409, "amount-over-limit", self.limit_message(currency), "cart")
        elif (where := FakeShipping.not_served(destination)) is not None:
            field_name = "address." + where.removeprefix("destination.")
            failure = (422, "destination-not-served", "We don't deliver there.", field_name)
        elif body["card"]["number"].replace(" ", "") in DECLINED:
            kind, reason = DECLINED[body["card"]["number"].replace(" ", "")]
            failure = (402, kind, reason, "card")
        if failure is not None:
            status, kind, reason, where = failure
            order |= {"status": "cancelled", "tracking_id": None, "cancel_reason": reason,
                      "cancel_field": where or None}  # fmt: skip
            self.orders[order_id] = order
            placed = {**self.view(order), "status_url_token": order["token"]}
            return status, {"type": PROBLEMS + kind, "status": status, "title": kind,
                            "detail": reason, "field": where or None, "order_id": order_id,
                            "order": placed}  # fmt: skip
        if self.processing:
            order |= {"status": "processing", "tracking_id": None}
        else:
            self.cart.carts[owner]["lines"] = {}
        self.orders[order_id] = order
        return (202 if self.processing else 201), {
            **self.view(order),
            "status_url_token": order["token"],
        }

    async def _by_key(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        if owner is None:
            return _problem(401, "owner-unknown", "say whose order")
        stored = self.answers.get((owner, request.headers.get("Idempotency-Key", "")))
        if stored is None:
            return _problem(404, "order-not-found", "No such order.")
        answer = json.loads(stored[2])
        return web.json_response(answer.get("order", answer))  # a problem carries its order

    async def _history(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        if owner is None or not owner.startswith("user:"):
            return _problem(401, "access-token-invalid", "users only")
        mine = [self.view(o) for o in self.orders.values() if o["owner"] == owner]
        return web.json_response({"items": mine[::-1]})

    async def _one(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        if owner is None:
            return _problem(401, "owner-unknown", "say whose order")
        order = self.orders.get(request.match_info["oid"])
        if order is None or order["owner"] != owner:
            return _problem(404, "order-not-found", "No such order.")
        return web.json_response(self.view(order))

    async def _by_token(self, request: web.Request) -> web.Response:
        for order in self.orders.values():
            if order["token"] == request.match_info["token"]:
                return web.json_response(self.view(order))
        return _problem(404, "order-not-found", "No such order.")


@pytest.fixture
async def orders(cart: FakeCart, accounts: FakeAccounts) -> AsyncIterator[FakeOrders]:
    fake = FakeOrders(cart, accounts)
    await fake.start()
    yield fake
    await fake.stop()


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
