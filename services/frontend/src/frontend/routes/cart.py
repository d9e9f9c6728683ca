"""The cart page and its forms: add from a product page, change a quantity, remove a line.

Every form posts with CSRF and redirects back (303), so the cart works without JavaScript.
cart's refusals and outages become flash messages, never an error page. With htmx, the same
posts answer with a fragment instead (the message, the cart's contents, the header count),
so the page updates in place.
"""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.clients.cart import (
    MAX_QUANTITY,
    MIN_QUANTITY,
    UNAVAILABLE,
    Cart,
    CartRefused,
    CartUnavailable,
)
from frontend.clients.catalog import is_product_id
from frontend.clients.owner import Owner
from frontend.dependencies import (
    WITH_MENU,
    CartDep,
    CartPageDep,
    FormDep,
    PagesDep,
    ViewerDep,
)
from frontend.routes.cart_page import Message
from frontend.web.cart_owner import owner_of, remember_count
from frontend.web.forms import local_path
from frontend.web.rendering import wants_partial
from frontend.web.viewer import Viewer

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])


def _quantity(value: str) -> int | None:
    if not value.isdecimal() or len(value) > 2:
        return None
    number = int(value)
    return number if MIN_QUANTITY <= number <= MAX_QUANTITY else None


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


@router.get("/cart")
async def cart_page(page: CartPageDep) -> Response:
    return await page.whole()


Change = Callable[[Owner], Awaitable[Cart | None]]


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
async def change_quantity(product_id: str, form: FormDep, page: CartPageDep) -> Response:
    quantity = _quantity(form.get("quantity", ""))
    message: Message
    if not is_product_id(product_id) or quantity is None:
        message = "error", f"Choose a quantity from {MIN_QUANTITY} to {MAX_QUANTITY}."
    else:
        carts = page.carts
        message = await _changed(
            page.viewer,
            lambda owner: carts.change(owner, product_id, quantity),
            "Quantity updated.",
        )
    if not wants_partial(page.request):
        return _flashed(page.viewer, message, "/cart")
    return await page.fragment(message)


@router.post("/cart/items/{product_id}/remove")
async def remove_line(product_id: str, form: FormDep, page: CartPageDep) -> Response:
    if not is_product_id(product_id):
        return _back("/cart")
    carts = page.carts
    message = await _changed(
        page.viewer, lambda owner: carts.remove(owner, product_id), "Removed from your cart."
    )
    if not wants_partial(page.request):
        return _flashed(page.viewer, message, "/cart")
    return await page.fragment(message)
