"""Order pages: one order (its owner's), a guest's order by its link, a user's history.

Whose order it is, orders decides from the owner's proof (the user's token, or the visitor
id): another shopper's order id is a 404 page, the same as one that never existed. A guest
reaches their order from any device by the unguessable token in its status link; a wrong
token is a 404 too. These pages are never cached, and the guest link never leaves the shop
in a Referer.
"""

import re
import uuid

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import HTMLResponse, Response

from frontend.clients.orders import Order
from frontend.clients.owner import Owner
from frontend.dependencies import WITH_MENU, OrdersDep, PagesDep, ViewerDep
from frontend.web.cart_owner import owner_of

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")  # orders' tokens: 32 random bytes, base64url
NOT_FOUND = "There is no order at this address. Check the link in your confirmation e-mail."
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _is_order_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _render(request: Request, pages: PagesDep, order: Order, *, guest_link: bool) -> Response:
    return pages.render(
        request,
        "order.html",
        title=f"Order {order.id[:8].upper()}",
        headers=PRIVATE,
        order=order,
        guest_link=str(request.url) if guest_link else None,
    )


@router.get("/orders/status/{token}")
async def order_by_link(
    request: Request, token: str, pages: PagesDep, orders: OrdersDep
) -> Response:
    """A guest's order, by the link they were given at checkout (and by e-mail)."""
    order = await orders.by_token(token) if TOKEN.fullmatch(token) else None
    if order is None:
        raise HTTPException(404, NOT_FOUND)
    return _render(request, pages, order, guest_link=True)


@router.get("/orders/{order_id}")
async def order_page(
    request: Request, order_id: str, pages: PagesDep, orders: OrdersDep, viewer: ViewerDep
) -> Response:
    """The owner's order: the signed-in user's, or this visitor's from this session."""
    order = await orders.order(await owner_of(viewer), order_id) if _is_order_id(order_id) else None
    if order is None:
        raise HTTPException(404, NOT_FOUND)
    return _render(request, pages, order, guest_link=False)


@router.get("/account/orders")
async def order_history(
    request: Request, pages: PagesDep, orders: OrdersDep, viewer: ViewerDep
) -> Response:
    """The signed-in user's orders, newest first (signed out: to the sign-in page)."""
    token = await viewer.access_token()
    found = await orders.history(Owner(token=token))
    return pages.render(
        request, "order_history.html", title="Your orders", headers=PRIVATE, orders=found
    )
