"""Checkout: the form, its delivery options, and "Place order" through orders.

`GET /checkout` renders the form with a fresh Idempotency-Key; `POST /checkout` checks the
form, then asks orders to place the order with that key and the owner's proof (the user's
token, or the visitor id), and answers with where it ended:

- confirmed (or still processing): 303 to the order's page, `/orders/<id>` for a signed-in
  user, the unguessable `/orders/status/<token>` for a guest;
- cancelled, declined or invalid: the form again (402, 409 or 422) with the reason next to
  the field it concerns, the other fields kept, the cart untouched;
- orders' answer lost (a timeout, a 5xx, the connection cut): the order may have been
  placed, and the page says so: if it was, it is finished and e-mailed; "Check again"
  (`POST /checkout/status`, the same key) asks orders for the order placed with that key,
  and goes to its page once there is one, or says that none was placed.

Whatever follows orders' answer (the form redrawn, the cart's count) runs on a budget of
its own, a page's (`REQUEST_BUDGET_MS`): the checkout may have spent the page's budget and
more waiting for orders (the processor-timeout card is refused only once the processor
has given up), and a refusal must still reach the shopper as its reason, not as "the cart
is unavailable".

The card number and CVC are never put back into the form, never kept in the session and
never logged: a page rendered after a post says the number must be typed again.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from chassis import context, get_logger
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.clients.cart import CartUnavailable
from frontend.clients.order_form import CardDetails, DeliveryAddress, PlaceOrderForm
from frontend.clients.orders import OrderMayBePlaced, OrderRefused, OrdersUnavailable, PlacedOrder
from frontend.dependencies import WITH_MENU, CartDep, CheckoutPageDep, FormDep, OrdersDep
from frontend.routes.checkout_form import (
    ADDRESS,
    FORM,
    Checked,
    check,
    error_key,
    read_form,
    was_issued,
)
from frontend.routes.checkout_page import CheckoutPage, saved_as_order_address
from frontend.web.cart_owner import COUNT_KEY, owner_of, remember_count
from frontend.web.prices import chosen_currency
from frontend.web.rendering import wants_partial
from frontend.web.sessions import Session

router = APIRouter(default_response_class=HTMLResponse, dependencies=[WITH_MENU])

_log = get_logger("frontend.checkout")

EXPIRED = (
    "This checkout page had expired, so nothing was ordered. Please check your details "
    "and place your order again."
)
REUSED = (
    "Your details changed after this order was first sent, so nothing new was ordered. "
    "Please check them and place your order again."
)
SAVED_ADDRESS_GONE = "That saved address is no longer in your account: choose another."
REFUSED = "Your order couldn't be placed. Please check your details and try again."
CART_AWAY = (
    "Your order was not placed (the reason is next to the field it concerns). Your cart is "
    "kept, but it can't be shown just now: reload this page in a moment to see it."
)
COUNTED_ORDER_KEY = "cart_count_order"  # the last order whose units the count lost
NOT_PLACED = (
    "No order was placed with this checkout, and nothing was charged. Your cart is kept: "
    "go back to the checkout to place your order."
)


@router.get("/checkout")
async def checkout(page: CheckoutPageDep) -> Response:
    cart = await page.cart()
    if cart is None or not cart.lines:
        page.viewer.session.flash("Your cart is empty: add something before checking out.")
        return RedirectResponse("/cart", status_code=303)
    form, addresses = await page.first_visit()
    return await page.render(form, {}, cart=cart, addresses=addresses)


@router.post("/checkout/shipping-options")
async def shipping_options(request: Request, form: FormDep, page: CheckoutPageDep) -> Response:
    """New delivery options for the address: htmx swaps them in as the address changes;
    without JavaScript the "Update delivery options" button reloads the whole form."""
    shown = read_form(form)
    if wants_partial(request):
        return await page.render(shown, {}, fragment=True)
    return await page.render(shown, {}, card_cleared=bool(form.get("card_number")))


@router.post("/checkout")
async def place_order(
    request: Request, form: FormDep, page: CheckoutPageDep, orders: OrdersDep, carts: CartDep
) -> Response:
    session = page.viewer.session
    key = form.get("idempotency_key", "")
    if not was_issued(session, key):
        return await page.render(read_form(form), {FORM: EXPIRED}, status=409, card_cleared=True)
    checked = check(form)
    addresses = await page.saved_addresses()  # to pick from, and to show again
    address = _address(checked, addresses)
    if checked.errors or checked.card is None:
        return await page.render(
            checked.form, checked.errors, addresses=addresses, status=422, card_cleared=True
        )
    owner = await owner_of(page.viewer)
    body = PlaceOrderForm(
        email=checked.form.email,
        currency=chosen_currency(request),
        shipping_option=checked.form.shipping_option,
        address=DeliveryAddress.model_validate(address),
        card=CardDetails.model_validate(checked.card.body()),
        # Signed in: the confirmation mail greets by it (a session from before v0.4.0 has
        # none, nor has a guest).
        given_name=(page.viewer.user or {}).get("given_name") or None,
    )
    # Whatever orders answers is the shopper's truth, even if the session is lost now.
    session.answer_even_if_unsaved()
    try:
        placed = await orders.place(owner, key, body)
    except OrderRefused as refused:
        _log.info("order not placed", kind=refused.kind, field=refused.field)
        with _after_orders(request):
            return await _refused(page, checked, refused, addresses)
    except OrderMayBePlaced as lost:
        _log.warning("checkout answer lost", reason=str(lost))
        return _may_be_placed(page, key, checked.form.email)
    if placed.status == "confirmed":
        _count_ordered(session, placed)
    else:
        with _after_orders(request), suppress(CartUnavailable):
            # If cart is away, the header count catches up at the next change.
            remember_count(session, await carts.current(owner))
    return RedirectResponse(_order_page(placed, signed_in=owner.signed_in), 303)


def _count_ordered(session: Session, placed: PlacedOrder) -> None:
    """The header count once a confirmed order took its lines out of the cart: the units it
    ordered subtracted here, instead of asking cart again (one call fewer per checkout).
    Once per order: a repeated post of the same checkout gets the same order back."""
    if session.get(COUNTED_ORDER_KEY) == placed.id:
        return
    ordered = sum(line.quantity for line in placed.lines)
    count = session.get(COUNT_KEY, 0)
    session[COUNT_KEY] = max(0, (count if isinstance(count, int) else 0) - ordered)
    session[COUNTED_ORDER_KEY] = placed.id


@contextmanager
def _after_orders(request: Request) -> Iterator[None]:
    """A fresh page budget for what is done once orders has answered (see the module)."""
    budget_ms: int = request.app.state.settings.request_budget_ms
    token = context.deadline.set(time.time() + budget_ms / 1000)
    try:
        yield
    finally:
        context.deadline.reset(token)


@router.post("/checkout/status")
async def checkout_status(form: FormDep, page: CheckoutPageDep, orders: OrdersDep) -> Response:
    """After a lost answer, "Check again": the order placed with this checkout's key."""
    session = page.viewer.session
    key = form.get("idempotency_key", "")
    if not was_issued(session, key):  # not this session's checkout: nothing to look up
        return RedirectResponse("/checkout", status_code=303)
    owner = await owner_of(page.viewer)
    try:
        placed = await orders.by_key(owner, key)
    except OrdersUnavailable as down:
        _log.warning("checkout status unavailable", reason=str(down))
        return _may_be_placed(page, key, form.get("email", ""))
    if placed is None:
        return page.pages.render(
            page.request,
            "checkout_pending.html",
            title="No order was placed",
            headers={"Cache-Control": "no-store"},
            placed=False,
            message=NOT_PLACED,
        )
    return RedirectResponse(_order_page(placed, signed_in=owner.signed_in), 303)


def _may_be_placed(page: CheckoutPage, key: str, email: str) -> Response:
    """The truth when orders' answer was lost: the order may have been placed."""
    return page.pages.render(
        page.request,
        "checkout_pending.html",
        title="Your order may have been placed",
        status_code=202,  # accepted, its outcome not yet known: never "unavailable"
        headers={"Cache-Control": "no-store"},
        placed=None,
        email=email,
        idempotency_key=key,
        signed_in=page.viewer.user is not None,
    )


def _address(checked: Checked, addresses: list[dict[str, Any]]) -> Mapping[str, str]:
    """Where to deliver: the fields typed, or the saved address picked (taken from accounts,
    not from the fields); a saved address that is gone is an error next to the choice."""
    if not checked.form.uses_saved_address:
        return checked.form.address
    found = [a for a in addresses if str(a.get("id")) == checked.form.saved_address]
    if not found:
        checked.errors[ADDRESS] = SAVED_ADDRESS_GONE
        return {}
    return saved_as_order_address(found[0])


async def _refused(
    page: CheckoutPage, checked: Checked, refused: OrderRefused, addresses: list[dict[str, Any]]
) -> Response:
    if refused.kind == "idempotency-key-reused":
        errors = {FORM: REUSED}
    else:
        where = error_key(refused.field, saved_address=checked.form.uses_saved_address)
        errors = {where: refused.message or REFUSED}
    status = refused.status if refused.status in {402, 409, 422, 503} else 422
    try:
        cart = await page.cart()
    except CartUnavailable as away:
        # orders' refusal is the shopper's answer, with its reason at its field, even while
        # cart cannot be read for the summary ("the cart is taking a short break" would
        # hide why the order was not placed).
        _log.warning("cart unavailable for the refused checkout's summary", error=str(away))
        errors.setdefault(FORM, CART_AWAY)
        return await page.render(checked.form, errors, addresses=addresses, status=status,
                                 card_cleared=True, without_cart=True)  # fmt: skip
    return await page.render(
        checked.form, errors, cart=cart, addresses=addresses, status=status, card_cleared=True
    )


def _order_page(placed: PlacedOrder, *, signed_in: bool) -> str:
    if signed_in:
        return f"/orders/{placed.id}"
    return f"/orders/status/{placed.status_url_token}"
