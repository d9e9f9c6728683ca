"""The cart page and its forms: add from a product page, change a quantity, remove a line.

Every form posts with CSRF and redirects back (303), so the cart works without JavaScript.
cart's refusals and outages become flash messages, never an error page. With htmx, the same
posts answer with a fragment instead (the message, the cart's contents, the header count),
so the page updates in place.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.clients.cart import (
    MAX_QUANTITY,
    MIN_QUANTITY,
    UNAVAILABLE,
    Cart,
    CartClient,
    CartRefused,
    CartUnavailable,
)
from frontend.clients.catalog import Money, Product, is_product_id
from frontend.clients.orders import OrdersClient
from frontend.clients.owner import Owner
from frontend.dependencies import (
    WITH_MENU,
    CartDep,
    FormDep,
    OrdersDep,
    PagesDep,
    PricesDep,
    ViewerDep,
)
from frontend.web.cart_owner import owner_of, remember_count
from frontend.web.forms import local_path
from frontend.web.prices import Prices
from frontend.web.rendering import Pages, wants_partial
from frontend.web.viewer import Viewer

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])


@dataclass(frozen=True)
class ShownLine:
    product_id: str
    quantity: int
    product: Product | None  # None: catalog no longer has it; the line can only be removed
    total: Money | None


def _quantity(value: str) -> int | None:
    if not value.isdecimal() or len(value) > 2:
        return None
    number = int(value)
    return number if MIN_QUANTITY <= number <= MAX_QUANTITY else None


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


async def _contents(
    carts: CartClient, viewer: Viewer, prices: Prices, orders: OrdersClient
) -> dict[str, Any]:
    """What the cart's contents show: lines with totals in the shopper's currency, and
    whether one card payment could pay them (`over_limit`: what to do, when it could not)."""
    unavailable = False
    lines: list[ShownLine] = []
    try:
        cart = await carts.with_products(await owner_of(viewer))
    except CartUnavailable:
        cart, unavailable = None, True
    if not unavailable:
        remember_count(viewer.session, cart)
    if cart is not None:
        known = [line.product for line in cart.lines if line.product is not None]
        shown = iter(await prices.shown(known))
        for line in cart.lines:
            product = next(shown) if line.product is not None else None
            total = (
                Money(amount=product.price.amount * line.quantity, currency=product.price.currency)
                if product is not None
                else None
            )
            lines.append(ShownLine(line.product_id, line.quantity, product, total))
    totals = [line.total for line in lines if line.total is not None]
    subtotal = (
        Money(amount=sum(t.amount for t in totals), currency=totals[0].currency) if totals else None
    )
    limit = await orders.limit(subtotal.currency) if subtotal is not None else None
    return {
        "lines": lines,
        "subtotal": subtotal,
        "over_limit": limit.refuses(subtotal) if limit is not None else None,
        "unavailable": unavailable,
        "quantities": range(MIN_QUANTITY, MAX_QUANTITY + 1),
    }


@router.get("/cart")
async def cart_page(
    request: Request,
    pages: PagesDep,
    prices: PricesDep,
    carts: CartDep,
    viewer: ViewerDep,
    orders: OrdersDep,
) -> Response:
    contents = await _contents(carts, viewer, prices, orders)
    return pages.render(
        request,
        "cart.html",
        prices=prices,
        title="Your cart",
        status_code=503 if contents["unavailable"] else 200,
        **contents,
    )


Change = Callable[[Owner], Awaitable[Cart | None]]
Message = tuple[str, str]  # (kind, text), as a flash


async def _changed(viewer: Viewer, change: Change, success: str) -> Message:
    """Make the change to the shopper's cart; what to tell them about it."""
    try:
        remember_count(viewer.session, await change(await owner_of(viewer)))
    except CartRefused as refused:
        return "error", refused.message
    except CartUnavailable:
        return "error", UNAVAILABLE
    return "success", success


def _flashed(viewer: Viewer, message: Message, target: str) -> Response:
    """Without JavaScript: the message waits in the session for the page we go back to."""
    viewer.session.flash(message[1], message[0])
    return _back(target)


@router.post("/cart/items")
async def add_to_cart(
    request: Request, form: FormDep, pages: PagesDep, carts: CartDep, viewer: ViewerDep
) -> Response:
    product_id = form.get("product_id", "")
    target = local_path(
        form.get("next"), f"/product/{product_id}" if is_product_id(product_id) else "/"
    )
    quantity = _quantity(form.get("quantity", "1"))
    message: Message
    if not is_product_id(product_id):
        message = "error", "That product isn't in the shop."
    elif quantity is None:
        message = "error", f"Choose a quantity from {MIN_QUANTITY} to {MAX_QUANTITY}."
    else:
        message = await _changed(
            viewer, lambda owner: carts.add(owner, product_id, quantity), "Added to your cart."
        )
    if not wants_partial(request):
        return _flashed(viewer, message, target)
    return pages.render(request, "partials/cart_added.html", title="", message=message)


@router.post("/cart/items/{product_id}")
async def change_quantity(
    request: Request,
    product_id: str,
    form: FormDep,
    pages: PagesDep,
    prices: PricesDep,
    carts: CartDep,
    viewer: ViewerDep,
    orders: OrdersDep,
) -> Response:
    quantity = _quantity(form.get("quantity", ""))
    message: Message
    if not is_product_id(product_id) or quantity is None:
        message = "error", f"Choose a quantity from {MIN_QUANTITY} to {MAX_QUANTITY}."
    else:
        message = await _changed(
            viewer, lambda owner: carts.change(owner, product_id, quantity), "Quantity updated."
        )
    if not wants_partial(request):
        return _flashed(viewer, message, "/cart")
    return await _contents_fragment(request, pages, prices, carts, viewer, orders, message)


@router.post("/cart/items/{product_id}/remove")
async def remove_line(
    request: Request,
    product_id: str,
    form: FormDep,
    pages: PagesDep,
    prices: PricesDep,
    carts: CartDep,
    viewer: ViewerDep,
    orders: OrdersDep,
) -> Response:
    if not is_product_id(product_id):
        return _back("/cart")
    message = await _changed(
        viewer, lambda owner: carts.remove(owner, product_id), "Removed from your cart."
    )
    if not wants_partial(request):
        return _flashed(viewer, message, "/cart")
    return await _contents_fragment(request, pages, prices, carts, viewer, orders, message)


async def _contents_fragment(
    request: Request,
    pages: Pages,
    prices: Prices,
    carts: CartClient,
    viewer: Viewer,
    orders: OrdersClient,
    message: Message,
) -> Response:
    """The cart's contents after a change, with its message and the header's new count."""
    contents = await _contents(carts, viewer, prices, orders)
    return pages.render(
        request,
        "partials/cart_contents.html",
        title="",
        prices=prices,
        message=message,
        **contents,
    )
