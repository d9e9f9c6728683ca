"""A stand-in cart: the owner's current cart, and the lines an order took out of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from chassis.stand_ins import problem

from services.orders.tests.stand_ins.callee import Callee


class Owner(Protocol):
    @property
    def owner_key(self) -> str: ...  # the Authorization or x-visitor-id header's value


@dataclass
class FakeCart(Callee):
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)  # owner header -> cart
    removals: dict[str, list[Any]] = field(default_factory=dict)  # order id -> lines

    def application(self) -> web.Application:
        app = self.guarded()
        app.router.add_get("/v1/carts/current", self._current)
        app.router.add_put("/v1/carts/{cart_id}/orders/{order_id}", self._remove_ordered)
        return app

    def reset(self) -> None:
        super().reset()
        self.carts.clear()
        self.removals.clear()

    def fill(self, owner: Owner, lines: dict[str, int]) -> str:
        """The owner's cart holds these lines (product id -> quantity); its id."""
        cart_id = str(uuid.uuid4())
        self.carts[owner.owner_key] = _view(cart_id, lines)
        return cart_id

    async def _current(self, request: web.Request) -> web.Response:
        owner = request.headers.get("authorization") or request.headers.get("x-visitor-id", "")
        cart = self.carts.get(owner)
        if cart is None:
            return problem(404, "cart-not-found", "This visitor has no cart.")
        return web.json_response(cart)

    async def _remove_ordered(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        self.removals.setdefault(order_id, (await request.json())["lines"])
        return web.json_response(_view(request.match_info["cart_id"], {}))


def _view(cart_id: str, lines: dict[str, int]) -> dict[str, Any]:
    """A cart as cart answers it (`CartView`)."""
    return {
        "id": cart_id,
        "lines": [{"product_id": p, "quantity": q} for p, q in lines.items()],
        "line_count": len(lines),
        "item_count": sum(lines.values()),
    }
