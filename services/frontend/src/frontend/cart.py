"""The cart page and its forms: add from a product page, change a quantity, remove a line.

Every form posts with CSRF and redirects back (303), so the cart works without JavaScript.
cart's refusals and outages become flash messages, never an error page.
"""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontend.cart_owner import CartDep, owner_of, remember_count
from frontend.carts import MAX_QUANTITY, MIN_QUANTITY, UNAVAILABLE, CartRefused, CartUnavailable
from frontend.clients import Money, Product, is_product_id
from frontend.dependencies import PagesDep, PricesDep
from frontend.forms import FormDep, local_path
from frontend.viewer import ViewerDep

router = APIRouter(default_response_class=HTMLResponse)


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


@router.get("/cart")
async def cart_page(
    request: Request, pages: PagesDep, prices: PricesDep, carts: CartDep, viewer: ViewerDep
) -> Response:
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
    return pages.render(
        request,
        "cart.html",
        title="Your cart",
        lines=lines,
        subtotal=subtotal,
        unavailable=unavailable,
        quantities=range(MIN_QUANTITY, MAX_QUANTITY + 1),
        status_code=503 if unavailable else 200,
    )


@router.post("/cart/items")
async def add_to_cart(form: FormDep, carts: CartDep, viewer: ViewerDep) -> Response:
    product_id, session = form.get("product_id", ""), viewer.session
    target = local_path(
        form.get("next"), f"/product/{product_id}" if is_product_id(product_id) else "/"
    )
    quantity = _quantity(form.get("quantity", "1"))
    if not is_product_id(product_id):
        session.flash("That product isn't in the shop.", "error")
        return _back(target)
    if quantity is None:
        session.flash(f"Choose a quantity from {MIN_QUANTITY} to {MAX_QUANTITY}.", "error")
        return _back(target)
    try:
        remember_count(session, await carts.add(await owner_of(viewer), product_id, quantity))
    except CartRefused as refused:
        session.flash(refused.message, "error")
    except CartUnavailable:
        session.flash(UNAVAILABLE, "error")
    else:
        session.flash("Added to your cart.", "success")
    return _back(target)


@router.post("/cart/items/{product_id}")
async def change_quantity(
    product_id: str, form: FormDep, carts: CartDep, viewer: ViewerDep
) -> Response:
    session, quantity = viewer.session, _quantity(form.get("quantity", ""))
    if not is_product_id(product_id) or quantity is None:
        session.flash(f"Choose a quantity from {MIN_QUANTITY} to {MAX_QUANTITY}.", "error")
        return _back("/cart")
    try:
        remember_count(session, await carts.change(await owner_of(viewer), product_id, quantity))
    except CartRefused as refused:
        session.flash(refused.message, "error")
    except CartUnavailable:
        session.flash(UNAVAILABLE, "error")
    else:
        session.flash("Quantity updated.", "success")
    return _back("/cart")


@router.post("/cart/items/{product_id}/remove")
async def remove_line(
    product_id: str, form: FormDep, carts: CartDep, viewer: ViewerDep
) -> Response:
    session = viewer.session
    if not is_product_id(product_id):
        return _back("/cart")
    try:
        remember_count(session, await carts.remove(await owner_of(viewer), product_id))
    except CartRefused as refused:
        session.flash(refused.message, "error")
    except CartUnavailable:
        session.flash(UNAVAILABLE, "error")
    else:
        session.flash("Removed from your cart.", "success")
    return _back("/cart")
