"""A stand-in cart: a cart per owner (visitor or user), in memory."""

import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from chassis.stand_ins import StandIn, problem

from services.frontend.tests.stand_ins.accounts import FakeAccounts
from services.frontend.tests.stand_ins.catalog import FakeCatalog

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
    # An older cart, before `POST /v1/carts/current/items`: it reads "current" as a cart id
    # (a 422, as FastAPI's path check answers).
    older: bool = False

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._checked])
        app.router.add_get("/v1/carts/current", self._current)
        app.router.add_post("/v1/carts", self._ensure)
        app.router.add_post("/v1/carts/merge", self._merge)
        app.router.add_post("/v1/carts/current/items", self._add_to_current)
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
            return problem(self.fail_with, "internal", "simulated failure")
        if not request.headers.get("x-service-token"):
            return problem(401, "service-token-missing", "no service token")
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
                return problem(401, "access-token-invalid", "bad token")
            return "user:" + found[0]
        visitor = request.headers.get("x-visitor-id", "")
        if not 22 <= len(visitor) <= 64:
            return problem(400, "owner-missing", "say whose cart")
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
            return problem(404, "cart-not-found", "no cart yet")
        products = request.query.get("include") == "products"
        return web.json_response(self._view_of(cart, products=products))

    async def _ensure(self, request: web.Request) -> web.Response:
        owner = request[OWNER]
        created = owner not in self.carts
        cart = self.carts.setdefault(owner, {"id": secrets.token_hex(8), "lines": {}})
        return web.json_response(self._view_of(cart), status=201 if created else 200)

    async def _merge(self, request: web.Request) -> web.Response:
        owner, visitor = request[OWNER], request.headers.get("x-visitor-id", "")
        if not owner.startswith("user:") or not visitor:
            return problem(400, "owner-missing", "merge needs a user and a visitor")
        self.merges.append((owner.removeprefix("user:"), visitor))
        cart = self.carts.setdefault(owner, {"id": secrets.token_hex(8), "lines": {}})
        for pid, n in self.carts.pop("visitor:" + visitor, {"lines": {}})["lines"].items():
            cart["lines"][pid] = min(10, cart["lines"].get(pid, 0) + n)
        return web.json_response(self._view_of(cart))

    async def _view(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return problem(404, "cart-not-found", "no such cart")
        products = request.query.get("include") == "products"
        return web.json_response(self._view_of(cart, products=products))

    async def _add_to_current(self, request: web.Request) -> web.Response:
        if self.older:
            return problem(422, "invalid-request", "path.cart_id: Input should be a valid UUID")
        body = await request.json()
        if body["product_id"] not in {p["id"] for p in self.catalog.products}:
            return problem(422, "unknown-product", f"no product {body['product_id']}")
        cart = self.carts.setdefault(request[OWNER], {"id": secrets.token_hex(8), "lines": {}})
        return self._added(cart, body)

    async def _add(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return problem(404, "cart-not-found", "no such cart")
        return self._added(cart, await request.json())

    def _added(self, cart: dict[str, Any], body: dict[str, Any]) -> web.Response:
        pid, quantity = body["product_id"], body.get("quantity", 1)
        if pid not in {p["id"] for p in self.catalog.products}:
            return problem(422, "unknown-product", f"no product {pid}")
        if cart["lines"].get(pid, 0) + quantity > 10:
            return problem(422, "quantity-out-of-range", "at most 10")
        if pid not in cart["lines"] and len(cart["lines"]) >= 50:
            return problem(422, "too-many-lines", "at most 50 lines")
        cart["lines"][pid] = cart["lines"].get(pid, 0) + quantity
        return web.json_response(self._view_of(cart))

    async def _change(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return problem(404, "cart-not-found", "no such cart")
        pid, quantity = request.match_info["pid"], (await request.json())["quantity"]
        if pid not in cart["lines"]:
            return problem(404, "line-not-found", "no such line")
        if not 1 <= quantity <= 10:
            return problem(422, "invalid-request", "1..10")
        cart["lines"][pid] = quantity
        return web.json_response(self._view_of(cart))

    async def _remove(self, request: web.Request) -> web.Response:
        cart = self._cart(request)
        if cart is None:
            return problem(404, "cart-not-found", "no such cart")
        cart["lines"].pop(request.match_info["pid"], None)
        return web.Response(status=204)
