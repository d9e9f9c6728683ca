"""The cart's contents put together for one request: the cart page, or after a change the
fragment htmx swaps in (the lines, the totals in the shopper's currency, the header count)."""

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from frontend.clients.cart import MAX_QUANTITY, MIN_QUANTITY, CartClient, CartUnavailable
from frontend.clients.catalog import Money, Product
from frontend.clients.orders import OrdersClient
from frontend.web.cart_owner import owner_of, remember_count
from frontend.web.prices import Prices
from frontend.web.rendering import Pages
from frontend.web.viewer import Viewer

Message = tuple[str, str]  # (kind, text), as a flash


@dataclass(frozen=True)
class ShownLine:
    product_id: str
    quantity: int
    product: Product | None  # None: catalog no longer has it; the line can only be removed
    total: Money | None


@dataclass(frozen=True)
class CartPage:
    """Renders the cart's contents for one request; routes make the changes."""

    request: Request
    pages: Pages
    prices: Prices
    carts: CartClient
    viewer: Viewer
    orders: OrdersClient

    async def whole(self) -> Response:
        contents = await self.contents()
        return self.pages.render(
            self.request,
            "cart.html",
            prices=self.prices,
            title="Your cart",
            status_code=503 if contents["unavailable"] else 200,
            **contents,
        )

    async def fragment(self, message: Message) -> Response:
        """The cart's contents after a change, with its message and the header's new count."""
        contents = await self.contents()
        return self.pages.render(
            self.request,
            "partials/cart_contents.html",
            title="",
            prices=self.prices,
            message=message,
            **contents,
        )

    async def contents(self) -> dict[str, Any]:
        """What the cart's contents show: lines with totals in the shopper's currency, and
        whether one card payment could pay them (`over_limit`: what to do, when it could not)."""
        unavailable = False
        lines: list[ShownLine] = []
        try:
            cart = await self.carts.with_products(await owner_of(self.viewer))
        except CartUnavailable:
            cart, unavailable = None, True
        if not unavailable:
            remember_count(self.viewer.session, cart)
        if cart is not None:
            known = [line.product for line in cart.lines if line.product is not None]
            shown = iter(await self.prices.shown(known))
            for line in cart.lines:
                product = next(shown) if line.product is not None else None
                total = (
                    Money(
                        amount=product.price.amount * line.quantity,
                        currency=product.price.currency,
                    )
                    if product is not None
                    else None
                )
                lines.append(ShownLine(line.product_id, line.quantity, product, total))
        totals = [line.total for line in lines if line.total is not None]
        subtotal = (
            Money(amount=sum(t.amount for t in totals), currency=totals[0].currency)
            if totals
            else None
        )
        limit = await self.orders.limit(subtotal.currency) if subtotal is not None else None
        return {
            "lines": lines,
            "subtotal": subtotal,
            "over_limit": limit.refuses(subtotal) if limit is not None else None,
            "unavailable": unavailable,
            "quantities": range(MIN_QUANTITY, MAX_QUANTITY + 1),
        }
