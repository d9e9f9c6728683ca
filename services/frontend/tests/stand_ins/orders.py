"""A stand-in orders: places orders from the stand-in cart, as orders answers them."""

import asyncio
import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from chassis.stand_ins import PROBLEMS, StandIn, problem

from services.frontend.tests.stand_ins.accounts import FakeAccounts
from services.frontend.tests.stand_ins.cart import FakeCart
from services.frontend.tests.stand_ins.currency import EXPONENTS, RATES
from services.frontend.tests.stand_ins.shipping import FakeShipping

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
    # awaited before a checkout answers: what a test makes happen meanwhile (Valkey lost)
    meanwhile: Callable[[], Awaitable[None]] | None = None

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
            return problem(401, "service-token-missing", "no service token")
        if self.fail_with is not None:
            return problem(self.fail_with, "shop-unavailable", "simulated failure")
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
            return problem(401, "owner-unknown", "say whose order")
        self.owners_seen.append(owner)
        if not key:
            return problem(400, "idempotency-key-missing", "no key")
        raw = await request.read()
        body = json.loads(raw)
        self.bodies.append(body)
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.meanwhile is not None:
            await self.meanwhile()
        stored = self.answers.get((owner, key))
        if stored is not None:
            if stored[0] != fingerprint:
                return problem(422, "idempotency-key-reused", "another checkout's key")
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
            "address": _address_view(body["address"]), "owner": owner,
            "token": secrets.token_urlsafe(32),
        }  # fmt: skip
        destination = {"country": body["address"]["country"],
                       "postal_code": body["address"].get("postal_code")}  # fmt: skip
        failure: tuple[int, str, str, str] | None = None
        if self.shop_down:
            reason = "Checkout is unavailable right now. Nothing was charged; your cart is kept."
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
            return problem(401, "owner-unknown", "say whose order")
        stored = self.answers.get((owner, request.headers.get("Idempotency-Key", "")))
        if stored is None:
            return problem(404, "order-not-found", "No such order.")
        answer = json.loads(stored[2])
        return web.json_response(answer.get("order", answer))  # a problem carries its order

    async def _history(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        if owner is None or not owner.startswith("user:"):
            return problem(401, "access-token-invalid", "users only")
        mine = [self.view(o) for o in self.orders.values() if o["owner"] == owner]
        return web.json_response({"items": mine[::-1]})

    async def _one(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        if owner is None:
            return problem(401, "owner-unknown", "say whose order")
        order = self.orders.get(request.match_info["oid"])
        if order is None or order["owner"] != owner:
            return problem(404, "order-not-found", "No such order.")
        return web.json_response(self.view(order))

    async def _by_token(self, request: web.Request) -> web.Response:
        for order in self.orders.values():
            if order["token"] == request.match_info["token"]:
                return web.json_response(self.view(order))
        return problem(404, "order-not-found", "No such order.")


def _address_view(given: dict[str, Any]) -> dict[str, Any]:
    """The address as orders shows it: every part named, a blank optional one null."""
    parts = ("name", "line1", "line2", "city", "region", "postal_code", "country")
    return {part: given.get(part) or None for part in parts}
