"""The checkout page put together: the cart, saved addresses, delivery options and prices.

One page (or, for htmx, the delivery options and the summary alone) from: the cart with
its products; the signed-in user's saved addresses; shipping's quote for the destination;
then one conversion for every price on it (products and options), like other pages. A new
Idempotency-Key is made each time the whole form is rendered. A total over what one card
payment may be in the shopper's currency (orders' limit) is said above the form, and the
payment fields are not offered: nothing could be charged.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from chassis import Problem, get_logger
from chassis.concurrency import concurrently
from starlette.requests import Request
from starlette.responses import Response

from frontend.clients.accounts import AccountsRefused
from frontend.clients.cart import Cart, CartClient
from frontend.clients.catalog import Money
from frontend.clients.orders import OrdersClient
from frontend.clients.shipping import (
    DestinationNotServed,
    Item,
    ShippingClient,
    ShippingOption,
    ShippingUnavailable,
)
from frontend.routes.checkout_form import (
    ADDRESS,
    ADDRESS_FIELDS,
    FORM,
    NEW_ADDRESS,
    CheckoutForm,
    first_error,
    issue_key,
)
from frontend.web.cart_owner import owner_of, remember_count
from frontend.web.prices import Prices
from frontend.web.rendering import Pages
from frontend.web.viewer import NotSignedIn, Viewer

_log = get_logger("frontend.checkout")

NO_DESTINATION = "Enter your country and postal code to see delivery options and prices."
NO_QUOTE = "Delivery options can't be shown right now. Please try again in a moment."


@dataclass(frozen=True)
class SummaryLine:
    name: str
    quantity: int
    total: Money | None  # None: catalog no longer sells it


@dataclass(frozen=True)
class ShownOption:
    id: str
    name: str
    price: Money
    days_min: int
    days_max: int


@dataclass(frozen=True)
class Summary:
    lines: list[SummaryLine]
    subtotal: Money | None
    shipping: Money | None
    total: Money | None


def saved_as_order_address(saved: Mapping[str, Any]) -> dict[str, str]:
    """An address saved in accounts, in the checkout form's (and orders') terms."""
    found = {name: str(saved.get(name) or "") for name in ADDRESS_FIELDS}
    found["name"] = str(saved.get("recipient") or "")
    return found


@dataclass
class CheckoutPage:
    """Renders the checkout for one request; routes hand it the form and its errors."""

    request: Request
    pages: Pages
    carts: CartClient
    viewer: Viewer
    prices: Prices
    shipping: ShippingClient
    orders: OrdersClient

    async def cart(self) -> Cart | None:
        """The shopper's cart with its products (CartUnavailable when cart is down)."""
        cart = await self.carts.with_products(await owner_of(self.viewer))
        remember_count(self.viewer.session, cart)
        return cart

    async def saved_addresses(self) -> list[dict[str, Any]]:
        """The signed-in user's addresses; none for a visitor, or while accounts is away."""
        if self.viewer.user is None:
            return []
        try:
            answer = await self.viewer.call("GET", "/v1/users/me/addresses")
        except (NotSignedIn, AccountsRefused, Problem) as error:
            _log.warning(
                "saved addresses unavailable", error=type(error).__name__, reason=str(error)
            )
            return []
        items = answer.get("items", []) if isinstance(answer, dict) else []
        return [item for item in items if isinstance(item, dict) and item.get("id")]

    async def signed_in_email(self) -> str:
        if self.viewer.user is None:
            return ""
        try:
            profile = await self.viewer.call("GET", "/v1/users/me")
        except (NotSignedIn, AccountsRefused, Problem) as error:
            _log.warning("profile unavailable", error=type(error).__name__)
            return ""
        return str(profile.get("email", "")) if isinstance(profile, dict) else ""

    async def first_visit(self) -> tuple[CheckoutForm, list[dict[str, Any]]]:
        """The form as a first visit shows it: the user's email and first saved address."""
        email, addresses = await concurrently(self.signed_in_email(), self.saved_addresses())
        form = CheckoutForm(email=email)
        if addresses:
            form = CheckoutForm(email=email, saved_address=str(addresses[0]["id"]))
        return form, addresses

    async def render(
        self,
        form: CheckoutForm,
        errors: dict[str, str],
        *,
        cart: Cart | None = None,
        addresses: list[dict[str, Any]] | None = None,
        status: int = 200,
        card_cleared: bool = False,
        fragment: bool = False,
        without_cart: bool = False,
    ) -> Response:
        """The checkout form; `without_cart`: cart is away, so no summary is shown (and no
        shipping options: they are quoted for the cart's items)."""
        if cart is None and not without_cart:
            cart = await self.cart()
        if addresses is None:
            addresses = await self.saved_addresses()
        options, note = await self._options(form, addresses, cart, errors)
        if options and form.shipping_option not in {o.id for o in options}:
            form = replace(form, shipping_option=options[0].id)
        summary, shown = await self._priced(cart, options, form.shipping_option)
        over_limit = None if fragment else await self._over_limit(summary)
        if over_limit is not None:
            errors.setdefault(FORM, over_limit)
        context: dict[str, Any] = {
            "form": form,
            "errors": errors,
            "options": shown,
            "options_note": note,
            "summary": summary,
        }
        headers = {"Cache-Control": "no-store"}  # "Back" must not bring back a used form
        if fragment:
            return self.pages.render(
                self.request, "partials/shipping_options.html", title="", prices=self.prices,
                headers=headers, oob=True, **context,
            )  # fmt: skip
        return self.pages.render(
            self.request,
            "checkout.html",
            title="Checkout",
            prices=self.prices,
            status_code=status,
            headers=headers,
            addresses=addresses,
            new_address=NEW_ADDRESS,
            card_cleared=card_cleared,
            over_limit=over_limit,
            first_error=first_error(errors),
            idempotency_key=issue_key(self.viewer.session),
            **context,
        )

    async def _over_limit(self, summary: Summary) -> str | None:
        """What to do, when the order would be more than one card payment may be."""
        total = summary.total or summary.subtotal
        if total is None:
            return None
        limit = await self.orders.limit(total.currency)
        return limit.refuses(total) if limit is not None else None

    def _destination(
        self, form: CheckoutForm, addresses: list[dict[str, Any]]
    ) -> tuple[str, str] | None:
        address: Mapping[str, Any] = form.address
        if form.uses_saved_address:
            chosen = [a for a in addresses if str(a.get("id")) == form.saved_address]
            if not chosen:
                return None
            address = chosen[0]
        country = str(address.get("country") or "").strip().upper()
        postal_code = str(address.get("postal_code") or "").strip()
        return (country, postal_code) if len(country) == 2 and country.isalpha() else None

    async def _options(
        self,
        form: CheckoutForm,
        addresses: list[dict[str, Any]],
        cart: Cart | None,
        errors: dict[str, str],
    ) -> tuple[list[ShippingOption], str | None]:
        destination = self._destination(form, addresses)
        if destination is None or cart is None or not cart.lines:
            return [], NO_DESTINATION
        items = [Item(line.product_id, line.quantity) for line in cart.lines]
        try:
            return await self.shipping.quote(*destination, items), None
        except DestinationNotServed as refused:
            where = ADDRESS if form.uses_saved_address else refused.field.removeprefix("address.")
            errors.setdefault(where, refused.message)
            return [], refused.message
        except ShippingUnavailable as error:
            _log.warning("shipping quote unavailable", reason=str(error))
            return [], NO_QUOTE

    async def _priced(
        self, cart: Cart | None, options: list[ShippingOption], chosen: str
    ) -> tuple[Summary, list[ShownOption]]:
        """Every price on the page in the shopper's currency, in one conversion."""
        lines = cart.lines if cart is not None else []
        prices = [line.product.price for line in lines if line.product is not None]
        prices += [option.price for option in options]
        converted = await self.prices.converted(prices)
        shown_lines: list[SummaryLine] = []
        for line in lines:
            if line.product is None:
                shown_lines.append(SummaryLine(line.product_id, line.quantity, None))
                continue
            unit = converted.pop(0)
            line_total = Money(amount=unit.amount * line.quantity, currency=unit.currency)
            shown_lines.append(SummaryLine(line.product.name, line.quantity, line_total))
        shown = [
            ShownOption(o.id, o.name, price, o.days.min, o.days.max)
            for o, price in zip(options, converted, strict=True)
        ]
        totals = [line.total for line in shown_lines if line.total is not None]
        subtotal = (
            Money(amount=sum(t.amount for t in totals), currency=totals[0].currency)
            if totals
            else None
        )
        delivery = next((o.price for o in shown if o.id == chosen), None)
        total: Money | None = None
        if subtotal is not None and delivery is not None:
            total = Money(amount=subtotal.amount + delivery.amount, currency=subtotal.currency)
        return Summary(shown_lines, subtotal, delivery, total), shown
