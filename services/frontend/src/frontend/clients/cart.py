"""Calls to the cart service: whose cart (a visitor id or the user's token), and its lines.

cart refuses in ways a shopper can act on (422 `unknown-product`, `quantity-out-of-range`,
`too-many-lines`): those come back as `CartRefused` with a message to flash. Down, slow or
off the contract is `CartUnavailable`: the shop flashes it, never shows a 500.
"""

from typing import Any

from chassis import Problem, Response
from chassis.client import ClientResource
from pydantic import StrictInt

from frontend.clients.answers import Answer, parsed
from frontend.clients.catalog import Product
from frontend.clients.owner import Owner

MIN_QUANTITY, MAX_QUANTITY = 1, 10

REFUSALS = {
    "unknown-product": "That product isn't in the shop any more.",
    "quantity-out-of-range": f"A cart holds {MIN_QUANTITY} to {MAX_QUANTITY} of each product.",
    "too-many-lines": "Your cart is full: it holds at most 50 different products.",
    "line-not-found": "That product is no longer in your cart.",
}
UNAVAILABLE = "The cart is unavailable right now. Please try again in a moment."
CURRENT_ITEMS = "/v1/carts/current/items"  # add to the owner's cart, opened if none


class Line(Answer):
    product_id: str
    quantity: StrictInt
    product: Product | None = None  # with `include=products`; None when catalog lost it


class Cart(Answer):
    id: str
    lines: list[Line]
    item_count: StrictInt


class CartRefused(Exception):
    """cart said no for a reason the shopper can fix; `message` says it in the shop's words."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.message = REFUSALS.get(kind, "That change couldn't be made to your cart.")


class CartUnavailable(Exception):
    """cart is down, slow, or answered off the contract."""


class CartClient(ClientResource):
    """What the shop asks of cart; also a chassis resource, like `CatalogClient`.

    `owner` says whose cart: a visitor's id or a signed-in user's token.
    """

    async def current(self, owner: Owner, params: dict[str, str] | None = None) -> Cart | None:
        """The owner's cart, or None when they have none yet (creates nothing)."""
        response = await self._request("GET", "/v1/carts/current", owner, params=params)
        return None if response.status == 404 else self._cart(response)

    async def with_products(self, owner: Owner) -> Cart | None:
        """The owner's cart with catalog's current products on its lines; None if none yet.
        One call: the current cart with `include=products`."""
        return await self.current(owner, {"include": "products"})

    async def add(self, owner: Owner, product_id: str, quantity: int) -> Cart:
        """The units added to the owner's cart, opened if none: one call."""
        body = {"product_id": product_id, "quantity": quantity}
        try:
            return self._cart(await self._request("POST", CURRENT_ITEMS, owner, body))
        except CartRefused as refused:
            if refused.kind != "invalid-request":
                raise
        # A cart from before that route (in a rolling upgrade) reads "current" as a cart id
        # and refuses it: the two calls it knows. (The form's quantity is checked here
        # first, so its own invalid requests do not come this way.)
        cart = self._cart(await self._request("POST", "/v1/carts", owner))
        return self._cart(await self._request("POST", f"/v1/carts/{cart.id}/items", owner, body))

    async def change(self, owner: Owner, product_id: str, quantity: int) -> Cart | None:
        cart = await self.current(owner)
        if cart is None:
            raise CartRefused("line-not-found")
        path = f"/v1/carts/{cart.id}/items/{product_id}"
        return self._cart(await self._request("PUT", path, owner, {"quantity": quantity}))

    async def remove(self, owner: Owner, product_id: str) -> Cart | None:
        cart = await self.current(owner)
        if cart is None:
            return None
        await self._request("DELETE", f"/v1/carts/{cart.id}/items/{product_id}", owner)
        return await self.current(owner)

    async def merge(self, token: str, visitor_id: str) -> Cart:
        owner = Owner(token=token, visitor_id=visitor_id)
        return self._cart(await self._request("POST", "/v1/carts/merge", owner))

    async def _request(
        self,
        method: str,
        path: str,
        owner: Owner,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Response:
        try:
            response = await self.http.request(
                method, path, json=json, headers=owner.headers, params=params
            )
        except Problem as error:
            raise CartUnavailable(type(error).__name__) from None
        if response.ok or (response.status == 404 and path == "/v1/carts/current"):
            return response
        if response.status >= 500 or response.status in {401, 403}:
            raise CartUnavailable(f"cart answered {response.status}")
        raise CartRefused(response.problem_type)

    @staticmethod
    def _cart(response: Response) -> Cart:
        return parsed(Cart, response, CartUnavailable)
